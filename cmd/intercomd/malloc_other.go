//go:build !linux

package main

import "errors"

func mallocArenas() (int, error) { return 0, errors.New("no glibc malloc here") }

func touchMalloc() {}
