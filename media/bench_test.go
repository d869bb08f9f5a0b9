package media

import (
	"encoding/json"
	"flag"
	"syscall"
	"testing"
	"time"
)

var callTime = flag.Duration("media.calltime", 60*time.Second, "length of the call BenchmarkCallCost measures")

func rusage(b *testing.B) syscall.Rusage {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return ru
}

func cpuSeconds(ru syscall.Rusage) float64 {
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// BenchmarkCallCost measures the door's CPU seconds per second (getrusage
// of this process) during one call at 640x480@30 with the test pattern and
// test tone, received by a real Chromium in its own process, and the
// process's peak RSS. Run:
//
//	go test -run '^$' -bench CallCost -benchtime 1x ./media/ [-media.calltime 60s]
func BenchmarkCallCost(b *testing.B) {
	for range b.N {
		m := newTestMedia(b, Config{})
		ctx := browser(b)
		ev := &events{}
		c, err := m.NewCall("chromium", ev.handle)
		if err != nil {
			b.Fatal(err)
		}
		offer := eval[string](b, ctx, "makeOffer()")
		answer, err := c.Answer(ctx, json.RawMessage(offer))
		if err != nil {
			b.Fatal(err)
		}
		eval[bool](b, ctx, "takeAnswer("+jsString(string(answer))+")")
		exchange(b, ctx, c, ev, "video", func(s inboundStats) bool { return s.Video.FramesDecoded > 30 })
		before, start := rusage(b), time.Now()
		time.Sleep(*callTime)
		after, wall := rusage(b), time.Since(start)
		st := exchange(b, ctx, c, ev, "video", func(inboundStats) bool { return true })
		cpu := (cpuSeconds(after) - cpuSeconds(before)) / wall.Seconds()
		b.ReportMetric(cpu, "cpu-s/s")
		b.ReportMetric(float64(after.Maxrss)/1024, "peak-RSS-MB")
		b.ReportMetric(float64(st.Video.FramesDecoded), "frames-decoded")
		b.Logf("%v call: %.3f CPU s/s, peak RSS %.1f MB, page decoded %d frames (%s)",
			wall.Round(time.Second), cpu, float64(after.Maxrss)/1024, st.Video.FramesDecoded, st.Codecs[st.Video.CodecID])
		c.Close()
	}
}
