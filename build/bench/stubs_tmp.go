package main

import (
	"context"
	"errors"
)

func hubNotes([]goal) string                                  { return "" }

func benchARM(ctx context.Context, e *env) (*result, error)   { return nil, errors.New("todo") }
func memoryNotes(idle, inCall procStatus, g []goal) string    { return "" }
func encoderNotes(g []goal) string                            { return "" }
func setupNotes(g []goal) string { return "" }
func glassNotes(g []goal) string { return "" }
