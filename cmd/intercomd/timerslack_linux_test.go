package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestTimerSlack checks that every thread of this process, the Go
// runtime's own (sysmon) among them, sleeps with the daemon's timer slack:
// the test binary is linked with the same constructor as intercomd.
func TestTimerSlack(t *testing.T) {
	if v := os.Getenv("INTERCOMD_TIMER_SLACK_NS"); v != "" {
		t.Fatalf("INTERCOMD_TIMER_SLACK_NS=%q is set: run the test without it", v)
	}
	if got := timerSlack(); got != defaultTimerSlack {
		t.Errorf("timerSlack() = %d ns, want %d", got, defaultTimerSlack)
	}
	// Linux lists timerslack_ns under /proc/PID only, but a thread's id
	// works there too.
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil || len(tasks) < 2 {
		t.Fatalf("threads: %v, %v", tasks, err)
	}
	for _, task := range tasks {
		p := filepath.Join("/proc", task.Name(), "timerslack_ns")
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := strconv.Atoi(strings.TrimSpace(string(b))); err != nil || got != defaultTimerSlack {
			t.Errorf("%s = %q, want %d", p, b, defaultTimerSlack)
		}
	}
	if err := timerSlackEnvError(); err != nil {
		t.Errorf("timerSlackEnvError() = %v with the variable unset, want nil", err)
	}
}

// A value the constructor cannot use is reported, not silently dropped.
func TestTimerSlackEnv(t *testing.T) {
	for _, tc := range []struct {
		value string
		bad   bool
	}{
		{"250000", false},
		{"1", false},
		{"100000000", false},
		{"0", true},
		{"100000001", true},
		{"500us", true},
		{"-5", true},
		{" 5", true},
	} {
		t.Setenv("INTERCOMD_TIMER_SLACK_NS", tc.value)
		if err := timerSlackEnvError(); (err != nil) != tc.bad {
			t.Errorf("INTERCOMD_TIMER_SLACK_NS=%q: timerSlackEnvError() = %v, want an error %v", tc.value, err, tc.bad)
		}
	}
}
