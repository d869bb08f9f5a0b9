//go:build !linux

package main

const defaultTimerSlack = 0

func timerSlack() int { return 0 }

func timerSlackEnvError() error { return nil }
