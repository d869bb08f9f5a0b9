// Command intercomd turns a Raspberry Pi with a camera, a microphone, a
// speaker and a few buttons into a video door intercom: it serves the browser
// client, runs the signalling hub and registers the Pi itself as the callable
// user "door".
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// version is set by the build (-ldflags -X main.version=...).
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr, nil); err != nil {
		fmt.Fprintln(os.Stderr, "intercomd:", err)
		os.Exit(1)
	}
}
