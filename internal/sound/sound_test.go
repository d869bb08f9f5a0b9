package sound

import "testing"

func TestJudge(t *testing.T) {
	tone := func(freq, amp float64, n int) []int16 {
		g := Sine{Freq: freq, Amp: amp}
		s := make([]int16, n)
		for i := range s {
			s[i] = g.Next()
		}
		return s
	}
	mix := func(a, b []int16) []int16 {
		out := make([]int16, len(a))
		for i := range a {
			out[i] = a[i] + b[i]
		}
		return out
	}
	tests := []struct {
		name string
		s    []int16
		freq float64
		want bool
	}{
		{"the tone", tone(1000, 8000, Rate/2), 1000, true},
		{"another tone", tone(600, 8000, Rate/2), 1000, false},
		{"silence", make([]int16, Rate/2), 1000, false},
		{"faint tone", tone(1000, 100, Rate/2), 1000, false},
		{"both tones", mix(tone(1000, 8000, Rate/2), tone(600, 8000, Rate/2)), 1000, false},
		{"empty", nil, 1000, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, desc := Judge(tt.s, tt.freq, 600); got != tt.want {
				t.Errorf("Judge(%s, %v Hz) = %v (%s), want %v", tt.name, tt.freq, got, desc, tt.want)
			}
		})
	}
}

func TestPeak(t *testing.T) {
	for _, freq := range []float64{440, 1000, 1090} {
		g := Sine{Freq: freq, Amp: 8000}
		s := make([]int16, Rate/2)
		for i := range s {
			s[i] = g.Next()
		}
		if got, _ := Peak(s); got < freq-10 || got > freq+10 {
			t.Errorf("Peak(%v Hz sine) = %v Hz", freq, got)
		}
	}
}

func TestJudgeWindows(t *testing.T) {
	tone := func(freq float64, n int) []int16 {
		g := Sine{Freq: freq, Amp: 8000}
		s := make([]int16, n)
		for i := range s {
			s[i] = g.Next()
		}
		return s
	}
	// choppy: the tone with every third 20 ms piece dropped and the
	// pieces joined at random phase, as a stream with underruns sounds.
	choppy := func(freq float64) []int16 {
		src := tone(freq, 3*Rate)
		var out []int16
		for i := 0; i+960 <= len(src); i += 960 {
			if (i/960)%3 == 2 {
				continue
			}
			out = append(out, src[i+(i/960)%7*13:i+960]...)
		}
		return out[:Rate]
	}
	gaps := func(freq float64) []int16 { // half silence
		s := tone(freq, Rate)
		for i := range s {
			if (i/4800)%2 == 1 {
				s[i] = 0
			}
		}
		return s
	}
	noise := make([]int16, Rate)
	x := uint32(1)
	for i := range noise {
		x = x*1664525 + 1013904223
		noise[i] = int16(x >> 19)
	}
	tests := []struct {
		name string
		s    []int16
		want bool
	}{
		{"clean tone", tone(600, Rate), true},
		{"choppy tone", choppy(600), true},
		{"tone half the time", gaps(600), true},
		{"tone a tenth of a second", append(tone(600, Rate/10), make([]int16, Rate)...), false},
		{"tone a third of a second among silence", append(tone(600, Rate/3), make([]int16, Rate)...), true},
		{"silence", make([]int16, Rate), false},
		{"the other tone", tone(1000, Rate), false},
		{"noise", noise, false},
		{"empty", nil, false},
	}
	for _, tt := range tests {
		if got, desc := JudgeWindows(tt.s, 600, 1000); got != tt.want {
			t.Errorf("JudgeWindows(%s) = %v (%s), want %v", tt.name, got, desc, tt.want)
		}
	}
}

func TestTonePowers(t *testing.T) {
	a, b := Sine{Freq: 600, Amp: 8000}, Sine{Freq: 1000, Amp: 800}
	s := make([]int16, Rate)
	for i := range s {
		s[i] = a.Next() + b.Next()
		if i >= Rate/2 && i < Rate*3/4 { // a gap: not counted
			s[i] = 0
		}
	}
	p, n := TonePowers(s, 600, 1000, 400)
	if n != 75 {
		t.Errorf("TonePowers counted %d windows, want the 75 not silent", n)
	}
	for i, want := range []float64{8000 * 8000 / 2, 800 * 800 / 2, 0} {
		if d := p[i] - want; d > 0.02*want+1000 || d < -0.02*want-1000 {
			t.Errorf("tone %d: power %.0f, want %.0f", i, p[i], want)
		}
	}
	if _, n := TonePowers(make([]int16, Rate), 600); n != 0 {
		t.Errorf("silence: %d windows counted, want 0", n)
	}
}
