package main

/*
#include <stdlib.h>
#include <sys/prctl.h>

// slack_from_env is INTERCOMD_TIMER_SLACK_NS if it is a number of
// nanoseconds from 1 to 100 ms, else 0.
static unsigned long slack_from_env(void) {
	const char *s = getenv("INTERCOMD_TIMER_SLACK_NS");
	if (s == NULL || *s < '0' || *s > '9') {
		return 0; // strtoul would skip spaces and take a sign
	}
	char *end;
	unsigned long v = strtoul(s, &end, 10);
	return *end == '\0' && v >= 1 && v <= 100000000 ? v : 0;
}

// set_timer_slack gives the daemon's threads 1 ms of timer slack instead
// of the kernel's 50 µs. Go's sysmon thread polls every 20 µs for a while
// each time the process wakes from idle, and a door wakes from idle for
// every frame, packet and RTCP report: in a call at 640x480@30 sysmon woke
// 885 times a second, the largest share of the kernel's part of the
// daemon's CPU. With 500 µs of slack its short sleeps lasted about half a
// millisecond and it woke 291 times; 1 ms took the daemon's context
// switches at 1280x720 from 780-890 to 690-780 a second and its CPU to
// 0.97x of 500 µs' (two daemons in calls side by side, 4 pairs).
// docs/BENCHMARKS.md, the encoder section, has the CPU against the
// kernel's 50 µs. The price: any timer of the daemon may fire up to 1 ms
// late, which nothing at a door notices (frames are 33 ms apart, audio
// packets 20 ms and paced by the sound card, and Go's netpoller already
// sleeps in whole milliseconds). Slack is per thread and a new thread
// inherits its creator's, so this runs as an ELF constructor, before the
// Go runtime starts its first thread (sysmon among them).
// INTERCOMD_TIMER_SLACK_NS overrides it, for make bench to measure the
// difference.
__attribute__((constructor)) static void set_timer_slack(void) {
	unsigned long ns = slack_from_env();
	prctl(PR_SET_TIMERSLACK, ns != 0 ? ns : 1000000UL, 0, 0, 0);
}

static long get_timer_slack(void) {
	return prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0);
}

*/
import "C"

import (
	"fmt"
	"os"
)

// defaultTimerSlack is the slack, in nanoseconds, set_timer_slack gives.
const defaultTimerSlack = 1000000

// timerSlack is the calling thread's timer slack in nanoseconds.
func timerSlack() int { return int(C.get_timer_slack()) }

// timerSlackEnvError says why INTERCOMD_TIMER_SLACK_NS was ignored, or is
// nil when it was used or is not set.
func timerSlackEnvError() error {
	if os.Getenv("INTERCOMD_TIMER_SLACK_NS") == "" || C.slack_from_env() != 0 {
		return nil
	}
	return fmt.Errorf("INTERCOMD_TIMER_SLACK_NS=%q ignored: want nanoseconds from 1 to 100000000; timer slack is %d ns",
		os.Getenv("INTERCOMD_TIMER_SLACK_NS"), defaultTimerSlack)
}
