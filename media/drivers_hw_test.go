//go:build linux && !nohw

package media

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/pion/mediadevices/pkg/driver"
	"github.com/pion/mediadevices/pkg/io/audio"
	"github.com/pion/mediadevices/pkg/prop"
	"github.com/pion/mediadevices/pkg/wave"
)

// alsaNullMic finds ALSA's null capture device through mediadevices'
// microphone driver: the real driver code path (malgo, miniaudio, ALSA) on
// a machine without a sound card.
func alsaNullMic(t *testing.T) driver.Driver {
	t.Helper()
	ds := driver.GetManager().Query(func(d driver.Driver) bool {
		return driver.FilterAudioRecorder()(d) && alsaID(d.Info().Label) == "null"
	})
	if len(ds) == 0 {
		t.Fatal("ALSA's null capture device is missing: install libasound2 (build/deps.sh test)")
	}
	return ds[0]
}

// TestMicChannelCount: the microphone is opened mono at 48 kHz, and that
// count is what keeps the driver's first Read from panicking.
func TestMicChannelCount(t *testing.T) {
	trap := micProp()
	trap.ChannelCount = 0 // what the driver's own properties say for ALSA devices
	tests := []struct {
		name      string
		p         prop.Media
		wantPanic bool
	}{
		{"intercomd's microphone format", micProp(), false},
		{"trap: no channel count", trap, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := alsaNullMic(t)
			if err := d.Open(); err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			r, err := d.(driver.AudioRecorder).AudioRecord(tt.p)
			if err != nil {
				t.Fatal(err)
			}
			for i := range 3 {
				info, panicked := readChunk(r)
				if panicked != "" {
					t.Logf("Read %d: %s", i, panicked)
					if !tt.wantPanic || !strings.Contains(panicked, "unsupported format") {
						t.Fatalf("Read %d panicked: %s", i, panicked)
					}
					return
				}
				if tt.wantPanic {
					continue
				}
				if info.Channels != 1 || info.SamplingRate != sampleRate || info.Len == 0 {
					t.Fatalf("Read %d = %+v, want mono 48 kHz samples", i, info)
				}
			}
			if tt.wantPanic {
				t.Error("Read without a channel count did not panic: the trap is gone, micProp's comment is stale")
			}
		})
	}
}

type chunkInfo struct{ Channels, SamplingRate, Len int }

func readChunk(r audio.Reader) (info chunkInfo, panicked string) {
	defer func() {
		if p := recover(); p != nil {
			panicked = fmt.Sprint(p)
		}
	}()
	c, _, err := r.Read()
	if err != nil {
		return info, "error, no panic: " + err.Error()
	}
	i := c.ChunkInfo()
	return chunkInfo{i.Channels, i.SamplingRate, i.Len}, ""
}

// TestAutoDevices: "auto" takes a real device when there is one and never
// ALSA's null device; without one the test stand-ins say so in the log.
func TestAutoDevices(t *testing.T) {
	var logs bytes.Buffer
	m, err := New(Config{Loopback: true}, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	src := m.Sources()
	for _, d := range realMicrophones() {
		if nullAudio(alsaID(d.Info().Label), d.Info().Name) {
			t.Errorf("realMicrophones lists ALSA's null device %q", d.Info().Name)
		}
	}
	tests := []struct {
		key, stand, log string
		real            bool
	}{
		{"camera", descTestPattern, "no camera found: using test pattern", len(realCameras()) > 0},
		{"mic", descTestTone, "no microphone found: using test tone", len(realMicrophones()) > 0},
	}
	for _, tt := range tests {
		switch {
		case tt.real && src[tt.key] == tt.stand:
			t.Errorf("Sources()[%q] = %q, want the real device", tt.key, src[tt.key])
		case !tt.real && src[tt.key] != tt.stand:
			t.Errorf("Sources()[%q] = %q, want %q", tt.key, src[tt.key], tt.stand)
		case !tt.real && !strings.Contains(logs.String(), tt.log):
			t.Errorf("log lacks %q:\n%s", tt.log, logs.String())
		}
	}
	if src["speaker"] == "" || strings.Contains(src["speaker"], "Discard all samples") {
		t.Errorf("Sources()[speaker] = %q, want a real speaker or the counting sink", src["speaker"])
	}
	if m.Err() != nil {
		t.Errorf("Err() = %v, want nil", m.Err())
	}
}

// TestNamedDeviceMissing: a configured device that does not exist is an
// error that names it.
func TestNamedDeviceMissing(t *testing.T) {
	for _, cfg := range []Config{
		{Camera: "/dev/video-intercomd-test", Mic: "none", Speaker: "none"},
		{Camera: "none", Mic: "no such microphone", Speaker: "none"},
	} {
		m, err := New(cfg, testLogger(t))
		if err == nil {
			m.Close()
			t.Errorf("New(%+v) = nil error, want one", cfg)
			continue
		}
		if !strings.Contains(err.Error(), "not found") {
			t.Errorf("New(%+v) = %v, want a not found error", cfg, err)
		}
	}
}

// TestALSASpeaker plays through malgo into ALSA's null device: the
// playback callback takes the samples and counts them.
func TestALSASpeaker(t *testing.T) {
	s, desc, err := openSpeaker("null", testLogger(t))
	if err != nil {
		t.Fatalf("open ALSA null playback device (libasound2 installed?): %v", err)
	}
	defer s.close()
	if _, ok := s.(*alsaSpeaker); !ok {
		t.Fatalf("openSpeaker(null) = %T (%s), want the ALSA speaker", s, desc)
	}
	v := s.voice()
	defer v.close()
	tone := make([]int16, sampleRate/50)
	phase := 0
	within(t, 10*time.Second, "the speaker to play a second of tone", func() bool {
		for range 5 {
			for i := range tone {
				tone[i] = int16(8000 * math.Sin(2*math.Pi*440*float64(phase)/sampleRate))
				phase++
			}
			v.write(tone)
		}
		st := s.stats()
		return st.Samples >= sampleRate && st.NonSilent > sampleRate/2
	})
}

// TestALSAMicCopies: each period the capture callback gets is copied before
// the callback returns (miniaudio writes the next period into the same
// buffer), and a reader micQueue periods behind loses the oldest, not the
// newest, without blocking the capture thread.
func TestALSAMicCopies(t *testing.T) {
	var logs bytes.Buffer
	m := &alsaMic{chunks: make(chan []int16, micQueue), done: make(chan struct{}), log: slog.New(slog.NewTextHandler(&logs, nil))}
	buf := make([]byte, 2*sampleRate/50)
	period := func(k int) {
		for i := 0; i < len(buf); i += 2 {
			buf[i], buf[i+1] = byte(k), byte(i/2)
		}
		m.captured(nil, buf, uint32(len(buf)/2))
	}
	const extra = 3
	for k := range micQueue + extra {
		period(k) // the same buffer each time, as miniaudio's
	}
	if got := m.lost.Load(); got != extra {
		t.Errorf("lost %d periods, want %d", got, extra)
	}
	defer func() {
		if !strings.Contains(logs.String(), "periods lost") || !strings.Contains(logs.String(), "periods=3") {
			t.Errorf("log = %q, want a warning that 3 periods were lost", logs.String())
		}
	}()
	for k := extra; k < micQueue+extra; k++ {
		a, _, err := m.Read()
		if err != nil {
			t.Fatal(err)
		}
		pcm := a.(*wave.Int16Interleaved)
		if pcm.Size.Len != len(buf)/2 || pcm.Size.Channels != 1 || pcm.Size.SamplingRate != sampleRate {
			t.Fatalf("period %d: %+v, want %d mono samples at %d Hz", k, pcm.Size, len(buf)/2, sampleRate)
		}
		for i, s := range pcm.Data {
			if want := int16(uint16(byte(k)) | uint16(byte(i))<<8); s != want {
				t.Fatalf("period %d sample %d = %#x, want %#x: the period was not copied before the buffer was reused", k, i, s, want)
			}
		}
	}
}

// TestALSAMic captures from ALSA's null device through alsaMic: mono
// 48 kHz periods, and io.EOF once closed.
func TestALSAMic(t *testing.T) {
	m, err := openALSAMic(alsaNullMic(t).Info().Label, testLogger(t))
	if err != nil {
		t.Fatalf("open ALSA null capture device: %v", err)
	}
	defer m.Close()
	for i := range 3 {
		a, _, err := m.Read()
		if err != nil {
			t.Fatalf("Read %d: %v", i, err)
		}
		if c := a.ChunkInfo(); c.Channels != 1 || c.SamplingRate != sampleRate || c.Len == 0 {
			t.Fatalf("Read %d = %+v, want mono 48 kHz samples", i, c)
		}
	}
	if err := m.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	for {
		_, _, err := m.Read() // periods queued before Close may come first
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("Read after Close: %v, want io.EOF", err)
		}
	}
	if _, err := openALSAMic("not hex", testLogger(t)); err == nil {
		t.Error("openALSAMic of a label that is no device id: nil error, want one")
	}
}
