package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/intercomd/intercomd/hub"
)

// startHub runs a hub with default settings behind a bare WebSocket server
// on addr, as web/ would (no TLS, no auth): the hub alone is measured.
func startHub(ctx context.Context, addr string, log *slog.Logger) (url string, shutdown func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, err
	}
	h := hub.New(hub.Config{}, log)
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.Run(ctx)
	}()
	up := websocket.Upgrader{WriteBufferPool: &sync.Pool{}}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, err := up.Upgrade(w, r, nil)
			if err != nil {
				return
			}
			h.ServeConn(r.Context(), c)
		}),
		ReadHeaderTimeout: 10 * time.Second,
	}
	go srv.Serve(ln)
	return "ws://" + ln.Addr().String() + "/", func() {
		cancel()
		<-done
		srv.Close()
	}, nil
}

// serve runs a hub alone until ctx ends, so that its CPU can be read apart
// from the load client's.
func serve(ctx context.Context, addr string) error {
	url, shutdown, err := startHub(ctx, addr, slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		return err
	}
	fmt.Printf("hubload: hub on %s, pid %d; interrupt to stop\n", url, os.Getpid())
	<-ctx.Done()
	shutdown()
	if errors.Is(ctx.Err(), context.Canceled) {
		return nil
	}
	return ctx.Err()
}
