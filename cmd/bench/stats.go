package main

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// summary is the spread of repeated measurements.
type summary struct {
	N                     int
	Min, Median, P90, Max float64
}

// summarize sorts a copy of xs; the percentiles are nearest-rank.
func summarize(xs []float64) summary {
	if len(xs) == 0 {
		return summary{Min: math.NaN(), Median: math.NaN(), P90: math.NaN(), Max: math.NaN()}
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	rank := func(p float64) float64 {
		i := int(math.Ceil(p*float64(len(s)))) - 1
		return s[min(max(i, 0), len(s)-1)]
	}
	return summary{N: len(s), Min: s[0], Median: rank(0.5), P90: rank(0.9), Max: s[len(s)-1]}
}

func msOf(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// f formats a figure with the given decimals, or "n/a".
func f(x float64, decimals int) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return "n/a"
	}
	return fmt.Sprintf("%.*f", decimals, x)
}

// mb formats bytes in MB (10^6: what RSS goals are stated in).
func mb(b int64) string { return fmt.Sprintf("%.1f MB", float64(b)/1e6) }

// ratio formats a/b as "1.23x".
func ratio(a, b float64) string {
	if b == 0 || math.IsNaN(a) || math.IsNaN(b) {
		return "n/a"
	}
	return fmt.Sprintf("%.2fx", a/b)
}

// plural says "1 round", "2 rounds".
func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
