//go:build linux && !nohw

package media

// #include <stdlib.h>
import "C"

import (
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/gen2brain/malgo"
	"github.com/pion/mediadevices/pkg/driver"
	"github.com/pion/mediadevices/pkg/wave"
)

// alsaMic captures a microphone through miniaudio (malgo) itself, not
// through mediadevices' microphone driver (which still lists the devices):
// that driver hands its reader a slice of miniaudio's own buffer, which
// miniaudio fills with the next period while the reader may not have
// copied it yet, so a reader a little late gets periods torn, repeated
// and lost (pion/mediadevices#500; measured in the VM test: the echo's
// delay jumped by 20 ms back and forth, and no canceller follows that).
// Here the callback copies each period and never blocks: a queue holds
// micQueue periods, and a reader that far behind loses the oldest.
type alsaMic struct {
	ctx    *malgo.AllocatedContext
	dev    *malgo.Device
	chunks chan []int16
	done   chan struct{}
	once   sync.Once
	// lost counts periods dropped because the reader fell micQueue behind.
	lost     atomic.Int64
	reported int64 // lost as last logged, by the reader
	log      *slog.Logger
}

// openRealMic opens a microphone mediadevices' driver listed.
func openRealMic(d driver.Driver, desc string, log *slog.Logger) (*microphone, error) {
	m, err := openALSAMic(d.Info().Label, log.With("mic", desc))
	if err != nil {
		return nil, fmt.Errorf("start microphone %s: %w", desc, err)
	}
	return &microphone{reader: m, desc: desc, close: m.Close}, nil
}

// openALSAMic opens the capture device whose miniaudio id is label (hex,
// as mediadevices' driver labels it): mono, 48 kHz, 16 bit, a period per
// Opus frame.
func openALSAMic(label string, log *slog.Logger) (*alsaMic, error) {
	raw, err := hex.DecodeString(label)
	if err != nil || len(raw) > len(malgo.DeviceID{}) {
		return nil, fmt.Errorf("microphone id %q is not a miniaudio device id", label)
	}
	ctx, err := malgo.InitContext(nil, malgo.ContextConfig{}, nil)
	if err != nil {
		return nil, fmt.Errorf("sound system: %w", err)
	}
	m := &alsaMic{ctx: ctx, chunks: make(chan []int16, micQueue), done: make(chan struct{}), log: log}
	id := make([]byte, len(malgo.DeviceID{}))
	copy(id, raw)
	p := C.CBytes(id)
	defer C.free(p)
	cfg := malgo.DefaultDeviceConfig(malgo.Capture)
	cfg.Capture.Format = malgo.FormatS16
	cfg.Capture.Channels = audioChannel
	cfg.Capture.DeviceID = p
	cfg.SampleRate = sampleRate
	cfg.PeriodSizeInMilliseconds = uint32(opusFrame.Milliseconds())
	cfg.PerformanceProfile = malgo.LowLatency
	m.dev, err = malgo.InitDevice(ctx.Context, cfg, malgo.DeviceCallbacks{Data: m.captured})
	if err == nil {
		err = m.dev.Start()
	}
	if err != nil {
		m.Close()
		return nil, err
	}
	return m, nil
}

// captured is miniaudio's callback: in is miniaudio's buffer, valid only
// until the callback returns.
func (m *alsaMic) captured(_, in []byte, _ uint32) {
	pcm := make([]int16, len(in)/2)
	copy(pcm, unsafe.Slice((*int16)(unsafe.Pointer(unsafe.SliceData(in))), len(pcm)))
	m.queue(pcm)
}

// queue hands pcm to the reader without blocking the capture thread,
// dropping the oldest period when the reader is micQueue behind.
func (m *alsaMic) queue(pcm []int16) {
	for {
		select {
		case m.chunks <- pcm:
			return
		default:
		}
		select {
		case <-m.chunks:
			m.lost.Add(1)
		default:
		}
	}
}

// Read returns the next period of the microphone, io.EOF once closed.
func (m *alsaMic) Read() (wave.Audio, func(), error) {
	select {
	case pcm := <-m.chunks:
		if lost := m.lost.Load(); lost != m.reported {
			m.log.Warn("microphone: the encoder fell behind, periods lost", "periods", lost-m.reported, "ms", (lost-m.reported)*opusFrame.Milliseconds())
			m.reported = lost
		}
		a := wave.NewInt16Interleaved(wave.ChunkInfo{Len: len(pcm) / audioChannel, Channels: audioChannel, SamplingRate: sampleRate})
		a.Data = pcm
		return a, func() {}, nil
	case <-m.done:
		return nil, func() {}, io.EOF
	}
}

// Close stops the device; a blocked Read returns io.EOF.
func (m *alsaMic) Close() error {
	var err error
	m.once.Do(func() {
		if m.dev != nil {
			m.dev.Uninit()
		}
		err = m.ctx.Uninit()
		m.ctx.Free()
		close(m.done)
	})
	return err
}
