package main

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// relayRun is the state of one relay test that the clients' readers see.
type relayRun struct {
	running  atomic.Bool
	answered sync.WaitGroup // callers whose call was accepted
	msgs     atomic.Int64   // relayed messages received while running
}

// relayResult is what one relay test measured.
type relayResult struct {
	users    int
	pairs    int
	elapsed  time.Duration
	msgs     int64
	p50, p99 time.Duration
	cpu      time.Duration // the hub's CPU over the run; negative: unknown
}

// relay puts pairs of r's clients in calls (Invite, Accepted) and has each
// pair pass an ICE Candidate back and forth, one in flight per pair, for d.
func relay(ctx context.Context, r *registration, pairs int, d time.Duration, pid int) (relayResult, error) {
	pairs = min(pairs, r.n/2)
	if pairs == 0 {
		return relayResult{}, fmt.Errorf("need at least 2 clients")
	}
	run := &relayRun{}
	r.relay.Store(run)
	run.answered.Add(pairs)
	for i := range pairs {
		a, b := r.clients[2*i], r.clients[2*i+1]
		a.peer, b.peer, a.caller = b.name, a.name, true
	}
	for i := range pairs {
		a := r.clients[2*i]
		if err := a.write([]byte(`{"type":"Invite","text":"Start","to":"` + a.peer + `"}`)); err != nil {
			return relayResult{}, err
		}
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := r.wait(ctx, &run.answered); err != nil {
		return relayResult{}, fmt.Errorf("setting up calls: %w", err)
	}

	cpu0 := procCPU(pid)
	start := time.Now()
	run.running.Store(true)
	for i := range pairs {
		a := r.clients[2*i]
		if err := a.write(a.candidate()); err != nil {
			return relayResult{}, err
		}
	}
	select {
	case <-time.After(d):
	case err := <-r.errs:
		return relayResult{}, err
	case <-ctx.Done():
		return relayResult{}, ctx.Err()
	}
	run.running.Store(false)
	elapsed := time.Since(start)
	cpu1 := procCPU(pid)
	msgs := run.msgs.Load()
	time.Sleep(100 * time.Millisecond) // let the last messages in flight land

	var lat []time.Duration
	for _, c := range r.clients[:2*pairs] {
		lat = append(lat, c.lat...)
	}
	slices.Sort(lat)
	res := relayResult{pairs: pairs, elapsed: elapsed, msgs: msgs, cpu: -1}
	if len(lat) > 0 {
		res.p50 = lat[len(lat)/2]
		res.p99 = lat[len(lat)*99/100]
	}
	if cpu0 >= 0 && cpu1 >= 0 {
		res.cpu = cpu1 - cpu0
	}
	return res, nil
}

// candidate is an ICE Candidate for the peer, stamped with the time.
func (c *client) candidate() []byte {
	b := make([]byte, 0, 256)
	b = append(b, `{"type":"ICE Candidate","text":{"candidate":"candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host","sdpMid":"0","sdpMLineIndex":0,"t":`...)
	b = strconv.AppendInt(b, int64(time.Since(base)), 10)
	b = append(b, `},"to":"`...)
	b = append(b, c.peer...)
	return append(b, `"}`...)
}

// relayed takes one candidate: its latency, and the next one back while the
// test runs.
func (c *client) relayed(m []byte) {
	run := c.r.relay.Load()
	if run == nil || !run.running.Load() {
		return
	}
	i := bytes.Index(m, []byte(`"t":`))
	if i < 0 {
		c.r.fail(fmt.Errorf("candidate without a time: %s", m))
		return
	}
	j := i + 4
	for j < len(m) && m[j] >= '0' && m[j] <= '9' {
		j++
	}
	sent, err := strconv.ParseInt(string(m[i+4:j]), 10, 64)
	if err != nil {
		c.r.fail(err)
		return
	}
	c.lat = append(c.lat, time.Since(base)-time.Duration(sent))
	run.msgs.Add(1)
	if err := c.write(c.candidate()); err != nil {
		c.r.fail(err)
	}
}

// invite plays the call set-up: a callee accepts every Incoming, a caller
// counts its Accepted.
func (c *client) invite(m []byte) error {
	run := c.r.relay.Load()
	switch {
	case run == nil:
		return fmt.Errorf("unexpected %s", m)
	case bytes.Contains(m, []byte(`"text":"Incoming"`)):
		return c.write([]byte(`{"type":"Invite","text":"Accepted","to":"` + c.peer + `"}`))
	case bytes.Contains(m, []byte(`"status":"Accepted"`)):
		run.answered.Done()
	case bytes.Contains(m, []byte(`"status":"Attempting"`)), bytes.Contains(m, []byte(`"status":"Ringing"`)):
	default:
		return fmt.Errorf("call set-up failed: %s", m)
	}
	return nil
}
