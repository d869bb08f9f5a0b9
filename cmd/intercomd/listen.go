package main

import (
	"errors"
	"fmt"
	"net"
	"syscall"
)

// listeners are intercomd's TCP sockets, opened before anything else starts
// (devices, the door on the hub), so a taken port is the first and only
// thing that fails.
type listeners struct {
	web, redirect net.Listener // redirect is nil without http_redirect
}

// listen opens cfg.Listen and cfg.HTTPRedirect. An address in use is named,
// with the way to choose another.
func listen(cfg config) (*listeners, error) {
	var l listeners
	var err error
	if l.web, err = net.Listen("tcp", cfg.Listen); err != nil {
		return nil, listenError(cfg.Listen, "-listen (listen: in the config file; make run LISTEN=localhost:8081)", err)
	}
	if cfg.HTTPRedirect != "" {
		if l.redirect, err = net.Listen("tcp", cfg.HTTPRedirect); err != nil {
			l.web.Close()
			return nil, listenError(cfg.HTTPRedirect, "http_redirect: in the config file", err)
		}
	}
	return &l, nil
}

// close closes the sockets; after the web server took them it is harmless.
func (l *listeners) close() {
	l.web.Close()
	if l.redirect != nil {
		l.redirect.Close()
	}
}

func listenError(addr, how string, err error) error {
	if errors.Is(err, syscall.EADDRINUSE) {
		return fmt.Errorf("listen %s: %w (by another intercomd, or another program): stop it, or choose another address with %s", addr, syscall.EADDRINUSE, how)
	}
	return fmt.Errorf("listen %s: %w", addr, err)
}
