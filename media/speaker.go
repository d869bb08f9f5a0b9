package media

import (
	"sync"
	"sync/atomic"
)

// sink is where the residents' voices go: the speaker, or a counting sink.
type sink interface {
	// voice opens one stream (one call's remote audio); the sink mixes the
	// open streams.
	voice() voice
	stats() SpeakerStats
	close() error
}

// voice takes one call's decoded audio, 48 kHz mono.
type voice interface {
	write(pcm []int16)
	close()
}

// silence is the loudest a sample may be and still count as silent:
// about -40 dBFS, above the comfort noise a muted browser sends.
const silence = 328

// counter counts samples played and the non-silent ones among them.
type counter struct {
	samples, nonSilent atomic.Int64
}

func (c *counter) count(pcm []int16) {
	loud := 0
	for _, s := range pcm {
		if s > silence || s < -silence {
			loud++
		}
	}
	c.samples.Add(int64(len(pcm)))
	c.nonSilent.Add(int64(loud))
}

func (c *counter) stats() SpeakerStats {
	return SpeakerStats{Samples: c.samples.Load(), NonSilent: c.nonSilent.Load()}
}

// countingSink stands in for a speaker on machines without a sound card:
// it plays nothing and counts everything, so tests and /healthz can tell
// that a resident's voice reached the door.
type countingSink struct{ counter }

func (s *countingSink) voice() voice        { return countingVoice{&s.counter} }
func (s *countingSink) close() error        { return nil }
func (s *countingSink) stats() SpeakerStats { return s.counter.stats() }

type countingVoice struct{ c *counter }

func (v countingVoice) write(pcm []int16) { v.c.count(pcm) }
func (v countingVoice) close()            {}

// mixer feeds a playback device from any number of voices. Each voice
// queues its samples; the device's callback takes them as it plays. A voice
// starts after a short pre-buffer (so network jitter does not crackle) and
// drops its oldest samples beyond maxQueue (so a clock drift or a burst
// never turns into growing delay).
type mixer struct {
	counter
	mu     sync.Mutex
	voices map[*mixVoice]struct{} // guarded by mu
	// echo gets every sample the device plays: the echo canceller's
	// reference.
	echo *echoRef
}

const (
	preBuffer = sampleRate / 25 // 40 ms
	maxQueue  = sampleRate / 5  // 200 ms
)

type mixVoice struct {
	m       *mixer
	queue   []int16 // guarded by m.mu
	playing bool    // guarded by m.mu
}

func newMixer() *mixer { return &mixer{voices: map[*mixVoice]struct{}{}, echo: newEchoRef()} }

// echoRef is what the microphone's echo canceller cancels. A sink that
// plays nothing aloud (the counting sink) has none.
func (m *mixer) echoRef() *echoRef { return m.echo }

func (m *mixer) voice() voice {
	v := &mixVoice{m: m}
	m.mu.Lock()
	m.voices[v] = struct{}{}
	m.mu.Unlock()
	return v
}

func (v *mixVoice) write(pcm []int16) {
	v.m.mu.Lock()
	defer v.m.mu.Unlock()
	v.queue = append(v.queue, pcm...)
	if over := len(v.queue) - maxQueue; over > 0 {
		v.queue = append(v.queue[:0], v.queue[over:]...)
	}
	if len(v.queue) >= preBuffer {
		v.playing = true
	}
}

func (v *mixVoice) close() {
	v.m.mu.Lock()
	delete(v.m.voices, v)
	v.m.mu.Unlock()
}

// fill writes the next len(out) samples of the mix into out and counts the
// voices' samples that went into it.
func (m *mixer) fill(out []int16) {
	clear(out)
	m.mu.Lock()
	defer m.mu.Unlock()
	for v := range m.voices {
		if !v.playing {
			continue
		}
		n := min(len(out), len(v.queue))
		for i, s := range v.queue[:n] {
			out[i] = clip(int32(out[i]) + int32(s))
		}
		m.count(v.queue[:n])
		v.queue = append(v.queue[:0], v.queue[n:]...)
		if len(v.queue) == 0 {
			v.playing = false // ran dry: pre-buffer again
		}
	}
	m.echo.played(out)
}

func clip(s int32) int16 {
	return int16(min(max(s, -32768), 32767))
}
