//go:build !linux

package main

import (
	"errors"
	"time"
)

func procCPU(int) time.Duration { return -1 }

func pidListening(string) (int, error) { return 0, errors.New("only on Linux") }

func fileLimit() int { return 0 }
