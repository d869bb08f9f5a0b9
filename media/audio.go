package media

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/mediadevices/pkg/codec"
	"github.com/pion/mediadevices/pkg/io/audio"
	"github.com/pion/mediadevices/pkg/wave"
	pionmedia "github.com/pion/webrtc/v4/pkg/media"
)

// audioPipe reads the microphone all the time (an ALSA capture device that is
// not read overruns, and a call would start with stale sound) and encodes it
// to Opus, once, while at least one call is bound to its track.
type audioPipe struct {
	src audio.Reader
	// clean, when set, is put between the microphone and the encoder (the
	// echo canceller): it runs only while a call is bound, the drain reads
	// the microphone as it is.
	clean func(audio.Reader) audio.Reader
	log   *slog.Logger
	onErr func(error)
	track *sharedTrack

	bound atomic.Int64
	quit  chan struct{}
	done  chan struct{}

	chunks  atomic.Int64 // chunks read from the microphone
	packets atomic.Int64 // Opus packets sent
	closing sync.Once
}

// opusFrame is the Opus packet duration mediadevices' encoder produces.
const opusFrame = 20 * time.Millisecond

// micQueue is how many periods (opusFrame each) of the microphone wait
// for a slow reader.
const micQueue = 25

func newAudioPipe(src audio.Reader, clean func(audio.Reader) audio.Reader, log *slog.Logger, onErr func(error)) (*audioPipe, error) {
	p := &audioPipe{src: src, clean: clean, log: log, onErr: onErr, quit: make(chan struct{}), done: make(chan struct{})}
	t, err := newSharedTrack(opusCapability, audioTrackID,
		func() { p.bound.Add(1) }, func() { p.bound.Add(-1) })
	if err != nil {
		return nil, fmt.Errorf("audio track: %w", err)
	}
	p.track = t
	go p.run()
	return p, nil
}

func (p *audioPipe) run() {
	defer close(p.done)
	// The encoder pulls from the microphone through this reader, so the
	// pipe counts every chunk whoever reads it.
	counted := audio.ReaderFunc(func() (wave.Audio, func(), error) {
		c, release, err := p.src.Read()
		if err == nil {
			p.chunks.Add(1)
		}
		return c, release, err
	})
	var enc codec.ReadCloser
	defer func() {
		if enc != nil {
			enc.Close()
		}
	}()
	health := readHealth{what: "microphone", log: p.log, onErr: p.onErr}
	for {
		select {
		case <-p.quit:
			return
		default:
		}
		var err error
		if p.bound.Load() == 0 {
			_, _, err = counted.Read() // drain: keep the device flowing
		} else {
			if enc == nil {
				var in audio.Reader = counted
				if p.clean != nil {
					in = p.clean(counted)
				}
				if enc, err = buildOpus(in); err != nil {
					p.log.Error("opus encoder failed", "err", err)
					p.onErr(fmt.Errorf("opus encoder: %w", err))
					return
				}
			}
			var data []byte
			var release func()
			data, release, err = enc.Read()
			if err == nil {
				if len(data) > 0 {
					p.packets.Add(1)
					if werr := p.track.WriteSample(pionmedia.Sample{Data: data, Duration: opusFrame}); werr != nil {
						p.log.Debug("audio write", "err", werr)
					}
				}
				release()
			}
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				return
			}
			health.failed(err)
			select {
			case <-p.quit:
				return
			case <-time.After(time.Second):
			}
			continue
		}
		health.ok()
	}
}

func (p *audioPipe) close() {
	p.closing.Do(func() {
		close(p.quit)
		<-p.done
	})
}
