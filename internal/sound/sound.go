// Package sound plays and records test tones on ALSA devices through malgo,
// the library intercomd's microphone and speaker use, and measures them. The
// VM tests use it on the snd-aloop card: what is played to hw:Loopback,1 is
// captured from hw:Loopback,0 and the other way round.
package sound

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"sync"

	"github.com/gen2brain/malgo"
)

// Rate is the sample rate of every stream here (mono, signed 16 bit).
const Rate = 48000

// Context is one ALSA context; close it when done.
type Context struct {
	ctx *malgo.AllocatedContext
}

// Open starts an ALSA-only malgo context.
func Open() (*Context, error) {
	ctx, err := malgo.InitContext([]malgo.Backend{malgo.BackendAlsa}, malgo.ContextConfig{}, nil)
	if err != nil {
		return nil, fmt.Errorf("alsa: init context: %w", err)
	}
	return &Context{ctx: ctx}, nil
}

// Devices lists the ALSA PCMs of kind (malgo.Capture or malgo.Playback)
// as miniaudio enumerates them: "id (name)", the ids intercomd's -mic and
// -speaker match.
func (c *Context) Devices(kind malgo.DeviceType) ([]string, error) {
	infos, err := c.ctx.Devices(kind)
	if err != nil {
		return nil, fmt.Errorf("alsa: list devices: %w", err)
	}
	var out []string
	for _, i := range infos {
		id := i.ID[:]
		if n := bytes.IndexByte(id, 0); n >= 0 {
			id = id[:n]
		}
		out = append(out, fmt.Sprintf("%s (%s)", id, i.Name()))
	}
	return out, nil
}

// Close frees the context.
func (c *Context) Close() { c.ctx.Free() }

// Stream is a running playback or capture; Stop ends it.
type Stream struct {
	dev *malgo.Device

	mu     sync.Mutex
	rec    []int16 // captured samples, guarded by mu
	played []int16 // a relay's played samples, guarded by mu
	echo   float64 // a relay's gain on what it captured, guarded by mu
	mute   bool    // a relay's tone is off, guarded by mu
}

// Stop stops and frees the stream.
func (s *Stream) Stop() {
	s.dev.Stop()
	s.dev.Uninit()
}

// Play plays a sine of freq Hz and amplitude amp (of 32767) to the ALSA PCM
// device (e.g. "hw:Loopback,1") until Stop.
func (c *Context) Play(device string, freq, amp float64) (*Stream, error) {
	gen := Sine{Freq: freq, Amp: amp}
	return c.start(&Stream{}, malgo.Playback, device, func(out, _ []byte, _ uint32) {
		for i := 0; i+1 < len(out); i += 2 {
			binary.LittleEndian.PutUint16(out[i:], uint16(gen.Next()))
		}
	})
}

// Record captures from the ALSA PCM device until Stop; Samples reads what
// arrived so far.
func (c *Context) Record(device string) (*Stream, error) {
	s := &Stream{}
	return c.start(s, malgo.Capture, device, func(_, in []byte, _ uint32) {
		s.mu.Lock()
		defer s.mu.Unlock()
		for i := 0; i+1 < len(in); i += 2 {
			s.rec = append(s.rec, int16(binary.LittleEndian.Uint16(in[i:])))
		}
	})
}

// Relay plays a sine of freq Hz and amplitude amp to the ALSA PCM device,
// as Play does, records from the same device, as Record does, and, once
// SetEcho was given a gain, adds what it captures times that gain to what
// it plays. On the loopback card's far end (hw:Loopback,1) that is an echo
// path: what the door's speaker plays comes back into the door's
// microphone, as in a door station's box, after the buffers of both ends.
// Samples reads what was captured (the door's speaker), Played what was
// played (the door's microphone).
func (c *Context) Relay(device string, freq, amp float64) (*Stream, error) {
	gen := Sine{Freq: freq, Amp: amp}
	s := &Stream{}
	return c.start(s, malgo.Duplex, device, func(out, in []byte, _ uint32) {
		s.mu.Lock()
		defer s.mu.Unlock()
		for i := 0; i+1 < len(out); i += 2 {
			v := float64(gen.Next())
			if s.mute {
				v = 0
			}
			if i+1 < len(in) {
				e := int16(binary.LittleEndian.Uint16(in[i:]))
				s.rec = append(s.rec, e)
				v += s.echo * float64(e)
			}
			p := int16(max(-32768, min(32767, v)))
			s.played = append(s.played, p)
			binary.LittleEndian.PutUint16(out[i:], uint16(p))
		}
	})
}

// start opens the ALSA PCM device as a mono S16 stream at Rate, for kind
// malgo.Playback, malgo.Capture or malgo.Duplex (both sides on device),
// with data as its callback, and starts it as s: the one place a device is
// set up, so a failed start never leaves one open.
func (c *Context) start(s *Stream, kind malgo.DeviceType, device string, data malgo.DataProc) (*Stream, error) {
	cfg := malgo.DefaultDeviceConfig(kind)
	cfg.SampleRate = Rate
	mono := func(sc *malgo.SubConfig) {
		sc.Format, sc.Channels, sc.DeviceID = malgo.FormatS16, 1, alsaID(device).Pointer()
	}
	if kind != malgo.Capture { // playback or duplex
		mono(&cfg.Playback)
	}
	if kind != malgo.Playback { // capture or duplex
		mono(&cfg.Capture)
	}
	what := map[malgo.DeviceType]string{malgo.Playback: "playback", malgo.Capture: "capture", malgo.Duplex: "duplex"}[kind]
	dev, err := malgo.InitDevice(c.ctx.Context, cfg, malgo.DeviceCallbacks{Data: data})
	if err != nil {
		return nil, fmt.Errorf("alsa: open %s %s: %w", what, device, err)
	}
	if err := dev.Start(); err != nil {
		dev.Uninit()
		return nil, fmt.Errorf("alsa: start %s %s: %w", what, device, err)
	}
	s.dev = dev
	return s, nil
}

// SetEcho sets how loud a relay plays back what it captures (0: not at all).
func (s *Stream) SetEcho(gain float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.echo = gain
}

// SetTone turns a relay's tone on or off.
func (s *Stream) SetTone(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mute = !on
}

// Played returns a copy of a relay's played samples from index from on.
func (s *Stream) Played(from int) []int16 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int16(nil), s.played[min(from, len(s.played)):]...)
}

// PlayedLen is the number of samples a relay played so far.
func (s *Stream) PlayedLen() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.played)
}

// Len is the number of samples recorded so far.
func (s *Stream) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.rec)
}

// Samples returns a copy of the recorded samples from index from on.
func (s *Stream) Samples(from int) []int16 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if from > len(s.rec) {
		from = len(s.rec)
	}
	return append([]int16(nil), s.rec[from:]...)
}

// alsaID makes a miniaudio device ID from an ALSA PCM name; miniaudio opens
// such an ID with snd_pcm_open as it is.
func alsaID(name string) *malgo.DeviceID {
	var id malgo.DeviceID
	copy(id[:len(id)-1], name)
	return &id
}

// Sine generates a sine wave at Rate, one sample per Next.
type Sine struct {
	Freq, Amp float64
	n         int
}

// Next returns the next sample.
func (g *Sine) Next() int16 {
	v := g.Amp * math.Sin(2*math.Pi*g.Freq*float64(g.n)/Rate)
	g.n++
	return int16(v)
}

// RMS is the root mean square of s.
func RMS(s []int16) float64 {
	if len(s) == 0 {
		return 0
	}
	var sum float64
	for _, v := range s {
		sum += float64(v) * float64(v)
	}
	return math.Sqrt(sum / float64(len(s)))
}

// Level returns the amplitude of the freq Hz component of s (Goertzel).
func Level(s []int16, freq float64) float64 {
	if len(s) == 0 {
		return 0
	}
	w := 2 * math.Pi * freq / Rate
	c := 2 * math.Cos(w)
	var s1, s2 float64
	for _, v := range s {
		s0 := float64(v) + c*s1 - s2
		s2, s1 = s1, s0
	}
	power := s1*s1 + s2*s2 - c*s1*s2
	return 2 * math.Sqrt(math.Max(power, 0)) / float64(len(s))
}

// Peak returns the strongest frequency of s between 50 Hz and 5 kHz (in
// 10 Hz steps) and its amplitude: what was heard instead of a tone.
func Peak(s []int16) (freq, level float64) {
	if len(s) > Rate/2 {
		s = s[:Rate/2]
	}
	for f := 50.0; f <= 5000; f += 10 {
		if l := Level(s, f); l > level {
			freq, level = f, l
		}
	}
	return freq, level
}

// Judge says whether s holds a clear tone of freq Hz: loud enough, and at
// least ten times stronger than at the frequencies in others (tones that
// must not be what is heard). It returns a description either way.
func Judge(s []int16, freq float64, others ...float64) (bool, string) {
	rms, lvl := RMS(s), Level(s, freq)
	desc := fmt.Sprintf("RMS %.0f, %.0f Hz at %.0f", rms, freq, lvl)
	ok := rms >= 300 && lvl >= 0.5*rms
	for _, o := range others {
		ol := Level(s, o)
		desc += fmt.Sprintf(", %.0f Hz at %.0f", o, ol)
		if lvl < 10*ol {
			ok = false
		}
	}
	if rms < 300 {
		desc = "near silence: " + desc
	} else if !ok {
		pf, pl := Peak(s)
		desc += fmt.Sprintf("; strongest %.0f Hz at %.0f", pf, pl)
	}
	return ok, desc
}

// Window is the length of the pieces JudgeWindows looks at: 10 ms, whole
// cycles of 600 Hz and 1 kHz, so a tone leaks nothing into other bins.
const Window = Rate / 100

// JudgeWindows says whether s mostly carries a tone of freq Hz, 10 ms at a
// time: a window counts when it is not silent and most of its power is
// at freq and little at other. Unlike Judge it tolerates the gaps and
// phase jumps of a stream that a slow machine plays with underruns; it
// still fails silence, noise and the wrong tone. It passes when at least
// half of the windows that are not silent carry the tone, and at least
// minToneWindows do: how much a slow machine plays is timing, what it
// plays is behaviour.
func JudgeWindows(s []int16, freq, other float64) (bool, string) {
	var tone, silent, n int
	for i := 0; i+Window <= len(s); i += Window {
		w := s[i : i+Window]
		n++
		rms := RMS(w)
		if rms < 300 {
			silent++
			continue
		}
		share := func(f float64) float64 { l := Level(w, f); return l * l / 2 / (rms * rms) }
		if share(freq) >= 0.5 && share(other) < 0.1 {
			tone++
		}
	}
	if n == 0 {
		return false, "no samples"
	}
	pct := func(k int) int { return 100 * k / n }
	desc := fmt.Sprintf("%.0f Hz in %d%% of %d windows of 10 ms, silent %d%%, other sound %d%%; overall RMS %.0f",
		freq, pct(tone), n, pct(silent), pct(n-tone-silent), RMS(s))
	return tone >= minToneWindows && 2*tone >= n-silent, desc
}

// minToneWindows is the least tone JudgeWindows accepts: a quarter second.
const minToneWindows = 25

// TonePowers returns the mean power of each tone in freqs over the windows
// of s (10 ms each, as JudgeWindows) that are not silent, and how many
// windows that was. A window's power at a tone is its own, whatever its
// phase: gaps and phase jumps of a slow stream cost nothing but the
// windows they silence.
func TonePowers(s []int16, freqs ...float64) ([]float64, int) {
	p := make([]float64, len(freqs))
	n := 0
	for i := 0; i+Window <= len(s); i += Window {
		w := s[i : i+Window]
		if RMS(w) < 300 {
			continue
		}
		n++
		for j, f := range freqs {
			l := Level(w, f)
			p[j] += l * l / 2
		}
	}
	for j := range p {
		p[j] /= float64(max(n, 1))
	}
	return p, n
}
