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
// what it plays; the microphone takes as much as it captured. Only the
// newest samples are kept: the reference must never lag the echo (the
// canceller follows echoes that come after their reference, up to 300 ms,
// and finds that delay itself).
type echoRef struct {
	mu  sync.Mutex
	buf []int16 // guarded by mu: played, not yet taken
}

// refLead is how many samples beyond one capture chunk the reference may
// hold: the speaker's callback runs every few ms, the microphone's every
// 20 ms, so this much is normal jitter between the two.
const refLead = sampleRate / 50 // 20 ms

// played records samples as the speaker plays them.
func (r *echoRef) played(pcm []int16) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.buf = append(r.buf, pcm...)
	if over := len(r.buf) - maxQueue; over > 0 { // nobody is taking
		r.buf = append(r.buf[:0], r.buf[over:]...)
	}
}

// take fills out with what the speaker played over the time the
// microphone captured len(out) samples; silence where it played nothing.
func (r *echoRef) take(out []int16) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if over := len(r.buf) - len(out) - refLead; over > 0 {
		r.buf = append(r.buf[:0], r.buf[over:]...)
	}
	n := copy(out, r.buf)
	clear(out[n:])
	r.buf = append(r.buf[:0], r.buf[n:]...)
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
