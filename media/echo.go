package media

import (
	"fmt"
	"sync"

	"github.com/pion/mediadevices/pkg/io/audio"
	"github.com/pion/mediadevices/pkg/wave"

	"github.com/intercomd/intercomd/media/aec"
)

// echoRef carries the exact samples the speaker handed to the sound card
// over to the microphone's echo canceller. The speaker's callback appends
// what it plays; the microphone takes as many as it captured, in order, so
// the nth sample the microphone takes is always paired with the same
// speaker sample, however late the encoder reads the microphone (its
// capture queues up to micQueue periods): the echo's delay behind its
// reference stays put, which is what a canceller needs. Only where a
// pairing starts is the reference taken from the newest samples, lead
// before them: the reference must never lag the echo (the canceller
// follows echoes that come after their reference, up to 300 ms, and finds
// that delay itself). When the microphone wants samples the speaker has
// not played yet, the pairing steps back by what was missing plus a
// longer lead, once, instead of missing again at every jitter.
type echoRef struct {
	mu   sync.Mutex
	buf  []int16 // guarded by mu: the speaker's newest samples
	next int     // guarded by mu: index in buf of the next sample to take; -1: not paired
	lead int     // guarded by mu: samples left ahead of next where a pairing starts
}

const (
	// refLead is the first lead: the speaker's callback runs every few
	// ms, the microphone's every 20 ms, so this much is normal jitter
	// between the two.
	refLead = sampleRate / 50 // 20 ms
	// maxLead is the longest lead after repeated misses.
	maxLead = 3 * refLead
	// maxRef is the most the reference holds ahead of the microphone:
	// more, and nobody is taking (between calls) or the microphone's
	// clock runs slower than the speaker's (two cards); the pairing then
	// starts again.
	maxRef = sampleRate * (micQueue + 5) / 50
)

func newEchoRef() *echoRef { return &echoRef{next: -1, lead: refLead} }

// played records samples as the speaker plays them.
func (r *echoRef) played(pcm []int16) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.buf = append(r.buf, pcm...)
	if r.next >= 0 && len(r.buf)-r.next > maxRef {
		r.next = -1
	}
	// Keep what the pairing may still take or step back to.
	keep := maxRef + maxLead
	if r.next >= 0 {
		keep = max(keep, len(r.buf)-r.next+maxLead)
	}
	if drop := len(r.buf) - keep; drop > 0 {
		r.buf = append(r.buf[:0], r.buf[drop:]...)
		if r.next >= 0 {
			r.next = max(0, r.next-drop)
		}
	}
}

// restart makes the next take start a new pairing (a new call's
// microphone reader).
func (r *echoRef) restart() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.next, r.lead = -1, refLead
}

// take fills out with what the speaker played over the time the
// microphone captured len(out) samples; silence for what it has not
// played yet.
func (r *echoRef) take(out []int16) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.next < 0 {
		r.next = max(0, len(r.buf)-len(out)-r.lead)
	}
	n := copy(out, r.buf[min(r.next, len(r.buf)):])
	clear(out[n:])
	r.next += len(out)
	if missing := r.next - len(r.buf); missing > 0 {
		r.lead = min(2*r.lead, maxLead)
		r.next = max(0, len(r.buf)-r.lead)
	}
}

// cleaner is the microphone as the Opus encoder reads it: cleaned of the
// speaker's echo (and of noise) frame by frame. Chunks that do not end on
// a frame keep their remainder for the next read.
type cleaner struct {
	src  audio.Reader
	proc *aec.Processor
	ref  *echoRef // nil: the speaker plays nothing the microphone hears

	pending []int16 // captured, not yet a whole frame
	refBuf  []int16
}

func newCleaner(src audio.Reader, proc *aec.Processor, ref *echoRef) *cleaner {
	if ref != nil {
		ref.restart()
	}
	return &cleaner{src: src, proc: proc, ref: ref, refBuf: make([]int16, proc.FrameSize())}
}

// Read returns the next whole frames of the cleaned microphone.
func (c *cleaner) Read() (wave.Audio, func(), error) {
	n := c.proc.FrameSize()
	for {
		chunk, release, err := c.src.Read()
		if err != nil {
			return nil, func() {}, err
		}
		in, ok := chunk.(*wave.Int16Interleaved)
		if !ok || in.Size.Channels != audioChannel || in.Size.SamplingRate != sampleRate {
			// Not what micProp asks for: pass it on as it is.
			return chunk, release, nil
		}
		c.pending = append(c.pending, in.Data[:in.Size.Len]...)
		release()
		whole := len(c.pending) / n * n
		if whole == 0 {
			continue
		}
		out := wave.NewInt16Interleaved(wave.ChunkInfo{Len: whole, Channels: audioChannel, SamplingRate: sampleRate})
		copy(out.Data, c.pending[:whole])
		c.pending = append(c.pending[:0], c.pending[whole:]...)
		for i := 0; i < whole; i += n {
			if c.ref != nil {
				c.ref.take(c.refBuf)
			}
			if err := c.proc.Process(out.Data[i:i+n], c.refBuf); err != nil {
				return nil, func() {}, fmt.Errorf("echo canceller: %w", err)
			}
		}
		return out, func() {}, nil
	}
}
