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
