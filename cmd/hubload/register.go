package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/intercomd/intercomd/wire"
)

// base is the clock of relayed timestamps; every client is in this process.
var base = time.Now()

// bufs lends read buffers, so 10,000 clients do not each keep one the size
// of the biggest list.
var bufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// registration is one run: n clients that registered and stay connected for
// the relay test.
type registration struct {
	n        int
	prefix   string // of this run's names, so other users (the door) are not counted
	pattern  []byte // `{"name":"` + prefix
	quoted   []byte // `"` + prefix
	start    time.Time
	clients  []*client
	registry sync.WaitGroup // Done when a client's Register is answered OK
	final    sync.WaitGroup // Done when a client's list first holds all n
	errs     chan error
	closing  atomic.Bool
	readers  sync.WaitGroup

	listMsgs, listBytes atomic.Int64
	lastRegistered      atomic.Int64 // ns since start
	lastFinal           atomic.Int64

	allRegistered, allFinal time.Duration
	verified                string
	relay                   atomic.Pointer[relayRun]
}

// client is one load client. Its reader goroutine owns every field but ws
// writes, which wmu serializes.
type client struct {
	r      *registration
	ws     *websocket.Conn
	name   string
	wmu    sync.Mutex
	count  int             // this run's users in the client's list
	final  bool            // count reached n
	names  map[string]bool // the whole list, kept by verifying clients only
	peer   string          // relay: the other party
	caller bool
	lat    []time.Duration // relay: one-way latencies received
}

// register connects n clients, each registering and waiting for its list to
// hold all n, and measures how long that takes.
func register(ctx context.Context, url string, n int, o options) (*registration, error) {
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	prefix := fmt.Sprintf("L%04x-", rand.IntN(1<<16))
	r := &registration{n: n, prefix: prefix, pattern: []byte(`{"name":"` + prefix), quoted: []byte(`"` + prefix),
		errs: make(chan error, 16), clients: make([]*client, n)}
	// A few clients, spread over the run, decode every list in full and are
	// checked name by name at the end.
	verify := map[int]bool{0: true, n - 1: true, n / 2: true, n / 3: true, n / 7: true, 2 * n / 3: true}
	r.registry.Add(n)
	r.final.Add(n)
	dialer := websocket.Dialer{HandshakeTimeout: 30 * time.Second, ReadBufferSize: 4096, WriteBufferSize: 1024,
		WriteBufferPool: &sync.Pool{}}
	sem := make(chan struct{}, o.concurrency)
	r.start = time.Now()
	for i := range n {
		c := &client{r: r, name: fmt.Sprintf("%s%05d", prefix, i)}
		if verify[i] {
			c.names = map[string]bool{}
		}
		r.clients[i] = c
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			r.close()
			return nil, fmt.Errorf("dialing client %d: %w", i, ctx.Err())
		}
		r.readers.Add(1)
		go func() {
			defer r.readers.Done()
			err := c.connect(ctx, dialer, url, !o.full)
			<-sem
			if err != nil {
				r.fail(fmt.Errorf("client %d: %w", i, err))
				return
			}
			c.read()
		}()
	}
	if err := r.wait(ctx, &r.registry); err != nil {
		r.close()
		return nil, fmt.Errorf("registering: %w", err)
	}
	r.allRegistered = time.Duration(r.lastRegistered.Load())
	if err := r.wait(ctx, &r.final); err != nil {
		r.close()
		return nil, fmt.Errorf("waiting for final lists: %w", err)
	}
	r.allFinal = time.Duration(r.lastFinal.Load())
	r.verified = r.verify()
	return r, nil
}

func (c *client) connect(ctx context.Context, d websocket.Dialer, url string, delta bool) error {
	ws, _, err := d.DialContext(ctx, url, nil)
	if err != nil {
		return err
	}
	c.wmu.Lock()
	c.ws = ws
	c.wmu.Unlock()
	// gorilla's own pong has a 1 s deadline, which a starved load client on a
	// busy machine misses; a late pong is still a pong.
	ws.SetPingHandler(func(data string) error {
		c.wmu.Lock()
		defer c.wmu.Unlock()
		err := ws.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(30*time.Second))
		if errors.Is(err, websocket.ErrCloseSent) {
			return nil
		}
		return err
	})
	if _, m, err := ws.ReadMessage(); err != nil || !bytes.Contains(m, []byte(`"Socket Event"`)) {
		return fmt.Errorf("first message %q, %v: want Socket Event", m, err)
	}
	reg := wire.Message{Type: wire.TypeRegister, Text: json.RawMessage(`"` + c.name + `"`)}
	if delta {
		reg.Param2 = json.RawMessage(`"delta"`)
	}
	b, _ := json.Marshal(reg)
	return c.write(b)
}

func (c *client) write(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.ws.WriteMessage(websocket.TextMessage, b)
}

// read handles everything the hub sends until the connection closes.
func (c *client) read() {
	r := c.r
	for {
		_, rd, err := c.ws.NextReader()
		if err != nil {
			if !r.closing.Load() {
				r.fail(fmt.Errorf("%s: %w", c.name, err))
			}
			return
		}
		buf := bufs.Get().(*bytes.Buffer)
		buf.Reset()
		if _, err := buf.ReadFrom(rd); err != nil {
			if !r.closing.Load() {
				r.fail(fmt.Errorf("%s: %w", c.name, err))
			}
			return
		}
		if err := c.handle(buf.Bytes()); err != nil {
			r.fail(fmt.Errorf("%s: %w", c.name, err))
		}
		if buf.Cap() < 1<<20 {
			bufs.Put(buf)
		}
	}
}

// handle acts on one message. The hub's encoder always writes type first,
// so a prefix test finds it without decoding.
func (c *client) handle(m []byte) error {
	r := c.r
	switch {
	case bytes.HasPrefix(m, []byte(`{"type":"ICE Candidate"`)):
		c.relayed(m)
	case bytes.HasPrefix(m, []byte(`{"type":"Get Users"`)):
		r.listMsgs.Add(1)
		r.listBytes.Add(int64(len(m)))
		c.count = bytes.Count(m, r.pattern)
		if c.names != nil {
			var msg wire.Message
			if err := json.Unmarshal(m, &msg); err != nil {
				return err
			}
			clear(c.names)
			for _, u := range msg.Users {
				c.names[u.Name] = true
			}
		}
	case bytes.HasPrefix(m, []byte(`{"type":"Users Delta"`)):
		r.listMsgs.Add(1)
		r.listBytes.Add(int64(len(m)))
		i := bytes.Index(m, []byte(`"left":[`))
		if i < 0 {
			return fmt.Errorf("delta without left: %.200s", m)
		}
		left := m[i:]
		if j := bytes.Index(left, []byte(`],"changed":[`)); j >= 0 {
			left = left[:j] // presence changes: the same users, still listed
		}
		c.count += bytes.Count(m[:i], r.pattern) - bytes.Count(left, r.quoted)
		if c.names != nil {
			var msg wire.Message
			if err := json.Unmarshal(m, &msg); err != nil {
				return err
			}
			for _, n := range msg.Left {
				delete(c.names, n)
			}
			for _, u := range msg.Joined {
				c.names[u.Name] = true
			}
		}
	case bytes.HasPrefix(m, []byte(`{"type":"Register"`)):
		if !bytes.Contains(m, []byte(`"status":"OK"`)) {
			return fmt.Errorf("register refused: %s", m)
		}
		setMax(&r.lastRegistered, time.Since(r.start))
		r.registry.Done()
	case bytes.HasPrefix(m, []byte(`{"type":"Invite"`)):
		return c.invite(m)
	case bytes.HasPrefix(m, []byte(`{"type":"Error"`)), bytes.HasPrefix(m, []byte(`{"type":"Hangup"`)):
		return fmt.Errorf("hub sent %s", m)
	}
	if !c.final && c.count == r.n {
		c.final = true
		setMax(&r.lastFinal, time.Since(r.start))
		r.final.Done()
	}
	return nil
}

func setMax(a *atomic.Int64, d time.Duration) {
	for {
		old := a.Load()
		if int64(d) <= old || a.CompareAndSwap(old, int64(d)) {
			return
		}
	}
}

func (r *registration) fail(err error) {
	select {
	case r.errs <- err:
	default:
	}
}

// wait waits for wg, a client's error or the deadline.
func (r *registration) wait(ctx context.Context, wg *sync.WaitGroup) error {
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case err := <-r.errs:
		return err
	case <-ctx.Done():
		return errTimeout
	}
}

// verify checks the fully decoded lists of the sample clients against the
// names of the run.
func (r *registration) verify() string {
	ok, total := 0, 0
	for _, c := range r.clients {
		if c.names == nil {
			continue
		}
		total++
		got := 0
		for name := range c.names {
			if len(name) > len(r.prefix) && name[:len(r.prefix)] == r.prefix {
				got++
			}
		}
		if got != r.n {
			continue
		}
		all := true
		for _, o := range r.clients {
			if !c.names[o.name] {
				all = false
				break
			}
		}
		if all {
			ok++
		}
	}
	return fmt.Sprintf("%d/%d", ok, total)
}

// close disconnects every client and waits for their readers.
func (r *registration) close() {
	r.closing.Store(true)
	for _, c := range r.clients {
		if c == nil {
			continue
		}
		c.wmu.Lock()
		if c.ws != nil {
			c.ws.Close()
		}
		c.wmu.Unlock()
	}
	r.readers.Wait()
}
