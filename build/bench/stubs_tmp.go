package main

import (
	"context"
	"errors"
)

func hubNotes([]goal) string { return "" }
func chromiumPath() (string, error) { return "chromium", nil }
func benchSetup(ctx context.Context, e *env) (*result, error)   { return nil, errors.New("todo") }
func benchGlass(ctx context.Context, e *env) (*result, error)   { return nil, errors.New("todo") }
func benchARM(ctx context.Context, e *env) (*result, error)     { return nil, errors.New("todo") }
func memoryNotes(idle, inCall procStatus, g []goal) string { return "" }
func encoderNotes(g []goal) string { return "" }
