package history

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/intercomd/intercomd/device"
)

// BenchmarkList10k: one page of the history screen out of 10,000 entries.
func BenchmarkList10k(b *testing.B) {
	s, path := fill(b, 10_000)
	b.ResetTimer()
	for b.Loop() {
		if p, err := s.List(0, DefaultPage); err != nil || len(p) != DefaultPage {
			b.Fatalf("List = %d, %v", len(p), err)
		}
	}
	if fi, err := os.Stat(path); err == nil {
		b.ReportMetric(float64(fi.Size())/10, "dbbytes/1000events")
	}
}

// fill writes n rings with pictures the size of the test pattern's.
func fill(b *testing.B, n int) (*Store, string) {
	path := b.TempDir() + "/h.db"
	s, err := Open(Config{Path: path, FlushEvery: time.Hour}, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	full, thumb := make([]byte, 30_000), make([]byte, 4_000)
	at := time.Now().Add(-time.Duration(n) * time.Minute)
	for i := range n {
		s.Put(Entry{At: at.Add(time.Duration(i) * time.Minute), Kind: KindRing, Outcome: OutcomeAnswered, Peer: "anna",
			Via: "button", Dur: time.Minute, Full: full, Thumb: thumb})
		if i%500 == 499 {
			s.flush()
		}
	}
	s.flush()
	return s, path
}

// BenchmarkRingWrites counts the write transactions of one answered ring
// with a call, with the default batching.
func BenchmarkRingWrites(b *testing.B) {
	s, _ := fill(b, 0)
	r := NewRecorder(s, &camera{}, nil)
	ctx := context.Background()
	b.ResetTimer()
	for i := range b.N {
		call := uint64(i + 1)
		r.Handle(ctx, device.Event{Kind: device.EventRing, Call: call, Via: "button"})
		r.Handle(ctx, device.Event{Kind: device.EventRingAnswered, Call: call, Peer: "anna"})
		s.flush() // the batch ends during the call
		r.Handle(ctx, device.Event{Kind: device.EventCallStarted, Call: call, Peer: "anna"})
		r.Handle(ctx, device.Event{Kind: device.EventCallEnded, Call: call, Peer: "anna", Dur: time.Minute})
		s.flush()
	}
	b.ReportMetric(float64(s.Stats().Transactions)/float64(b.N), "transactions/ring")
}
