package media

import (
	"fmt"
	"testing"
	"time"

	"github.com/pion/mediadevices/pkg/wave"

	"github.com/intercomd/intercomd/media/aec"
	"github.com/intercomd/intercomd/media/aec/aectest"
)

// door is the hardware edge of the echo path: a sound card whose playback
// callback pulls the mixer every 10 ms and whose microphone, captured every
// 20 ms, hears the room's echo of what was played. With lateEvery set, the
// reader falls late chunks behind every lateEvery reads and catches up (an
// encoder stalled while the capture goes on).
type door struct {
	t         *testing.T
	mix       *mixer
	resident  voice
	talk      []int16   // the resident's voice, sent in 20 ms packets
	visitor   []float64 // what the microphone hears of the visitor
	room      *aectest.Room
	played    []int16   // everything the speaker played
	echo      []float64 // what the microphone heard of the speaker
	lateEvery int
	late      int
	reads     int
	captured  []wave.Audio // captured, not yet read
}

// Read is the microphone: the next 20 ms of the room, captured after the
// speaker has played the same 20 ms.
func (d *door) Read() (wave.Audio, func(), error) {
	if len(d.captured) == 0 {
		d.reads++
		n := 1
		if d.lateEvery > 0 && d.reads%d.lateEvery == 0 {
			n += d.late
		}
		for range n {
			d.captured = append(d.captured, d.capture())
		}
	}
	c := d.captured[0]
	d.captured = d.captured[1:]
	return c, func() {}, nil
}

func (d *door) capture() wave.Audio {
	n := sampleRate / 50
	start := len(d.played)
	if start+n <= len(d.talk) {
		d.resident.write(d.talk[start : start+n])
	}
	buf := make([]int16, n/2)
	for range 2 {
		d.mix.fill(buf)
		d.played = append(d.played, buf...)
	}
	chunk := wave.NewInt16Interleaved(wave.ChunkInfo{Len: n, Channels: audioChannel, SamplingRate: sampleRate})
	for i := range n {
		e := d.room.EchoAt(d.played, start+i)
		d.echo = append(d.echo, e)
		v := 0.0
		if start+i < len(d.visitor) {
			v = d.visitor[start+i]
		}
		chunk.Data[i] = int16(min(max(e+v, -32768), 32767))
	}
	return chunk
}

// TestEchoPath: the samples the mixer hands the sound card reach the
// canceller as its reference, and the resident's voice echoed by the room
// 60 ms later leaves the microphone at least 25 dB weaker after two
// seconds; also when the microphone's reader falls 200 ms behind every
// half second and catches up (each sample it reads must still meet the
// speaker's sample of its time; cutting the reference to the newest
// samples at each read left 7.7 dB).
func TestEchoPath(t *testing.T) {
	for _, late := range []int{0, 10} {
		t.Run(fmt.Sprintf("late=%d", late), func(t *testing.T) {
			mix := newMixer()
			secs := 4 * sampleRate
			d := &door{t: t, mix: mix, resident: mix.voice(), talk: aectest.Voice(1, 190, sampleRate, secs),
				visitor: make([]float64, secs), room: aectest.NewRoom(3, sampleRate, 60*time.Millisecond, 0.7),
				lateEvery: 25, late: late}
			p, err := aec.New(aec.Config{Mode: aec.On, Denoise: true})
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			c := newCleaner(d, p, mix.echoRef())
			var out []int16
			for len(out) < secs {
				a, release, err := c.Read()
				if err != nil {
					t.Fatal(err)
				}
				out = append(out, a.(*wave.Int16Interleaved).Data...)
				release()
			}
			conv := 2 * sampleRate
			erle := aectest.DB(aectest.Energy(d.echo[conv:secs]), aectest.Energy(out[conv:secs]))
			t.Logf("ERLE from 2 s on: %.1f dB; per 0.5 s: %.1f", erle, aectest.ERLE(d.echo, out, sampleRate/2))
			if erle < 25 {
				t.Errorf("ERLE through the mixer and the cleaner = %.1f dB, want >= 25", erle)
			}
			if loud := mix.stats().NonSilent; loud < int64(secs/4) {
				t.Errorf("the speaker played %d loud samples, want the resident's voice", loud)
			}
		})
	}
}

// TestEchoRefPairs: once paired, the nth sample taken is the nth played,
// however far ahead the speaker is; when the microphone takes samples the
// speaker has not played yet (silence), the pairing steps back once, with
// a longer lead; a new pairing starts at the newest samples.
func TestEchoRefPairs(t *testing.T) {
	r := newEchoRef()
	seq := func(from, n int) []int16 {
		s := make([]int16, n)
		for i := range s {
			s[i] = int16(from + i)
		}
		return s
	}
	out := make([]int16, 960)
	r.played(seq(1, 5000))
	r.take(out) // a new pairing: the newest 960+refLead samples
	if want := int16(5000 - 960 - refLead + 1); out[0] != want {
		t.Fatalf("first take starts at %d, want %d", out[0], want)
	}
	r.played(seq(5001, 9000)) // the speaker far ahead: nothing is cut
	r.take(out)
	if want := int16(5000 - refLead + 1); out[0] != want {
		t.Fatalf("second take starts at %d, want %d: the sample after the first take's", out[0], want)
	}
	for range 9000/960 + 1 {
		r.take(out)
	}
	if out[959] != 0 {
		t.Fatalf("a take beyond what was played ends with %d, want silence", out[959])
	}
	r.played(seq(14001, 2000))
	r.take(out)
	if want := int16(14000 - 2*refLead + 1); out[0] != want {
		t.Errorf("after a miss the take starts at %d, want %d (a lead of %d before the last played)", out[0], want, 2*refLead)
	}
	r.played(seq(16001, 5000))
	r.restart()
	r.take(out)
	if want := int16(21000 - 960 - refLead + 1); out[0] != want {
		t.Errorf("after restart the take starts at %d, want %d (the newest samples)", out[0], want)
	}
}

// TestEchoOffWithoutSpeaker: the counting sink plays nothing aloud and the
// test tone is no microphone: nothing is cancelled, and /healthz says so.
func TestEchoOffWithoutSpeaker(t *testing.T) {
	m, err := New(Config{Camera: none, Mic: "test", Speaker: "test", Voice: aec.Config{Mode: aec.On, Denoise: true}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if got := m.Sources()["echo"]; got != "off" || m.voice != nil {
		t.Errorf("Sources()[echo] = %q (processor %v), want off and none", got, m.voice)
	}
}
