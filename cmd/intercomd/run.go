package main

import (
	"context"
	"flag"
	"fmt"
	"io"
)

// run is the whole daemon: it parses args, starts every part and returns when
// ctx ends. ready, if not nil, is called with the listening address once the
// server accepts connections (tests use it).
func run(ctx context.Context, args []string, stdout, stderr io.Writer, ready func(addr string)) error {
	fs := flag.NewFlagSet("intercomd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	showVersion := fs.Bool("version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *showVersion {
		fmt.Fprintln(stdout, "intercomd", version)
		return nil
	}
	<-ctx.Done()
	return nil
}
