package media

import (
	"testing"
	"time"

	"github.com/pion/mediadevices/pkg/wave"

	"github.com/intercomd/intercomd/media/aec"
	"github.com/intercomd/intercomd/media/aec/aectest"
)

// door is the hardware edge of the echo path: a sound card whose playback
// callback pulls the mixer every 10 ms and whose microphone, read every
// 20 ms, hears the room's echo of what was played.
type door struct {
	t        *testing.T
	mix      *mixer
	resident voice
	talk     []int16   // the resident's voice, sent in 20 ms packets
	visitor  []float64 // what the microphone hears of the visitor
	room     *aectest.Room
	played   []int16   // everything the speaker played
	echo     []float64 // what the microphone heard of the speaker
}

// Read is the microphone: 20 ms of the room, after the speaker has played
// the same 20 ms.
func (d *door) Read() (wave.Audio, func(), error) {
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
	return chunk, func() {}, nil
}

// TestEchoPath: the samples the mixer hands the sound card reach the
// canceller as its reference, and the resident's voice echoed by the room
// 60 ms later leaves the microphone at least 25 dB weaker after two
// seconds.
func TestEchoPath(t *testing.T) {
	mix := newMixer()
	secs := 4 * sampleRate
	d := &door{t: t, mix: mix, resident: mix.voice(), talk: aectest.Voice(1, 190, sampleRate, secs),
		visitor: make([]float64, secs), room: aectest.NewRoom(3, sampleRate, 60*time.Millisecond, 0.7)}
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
