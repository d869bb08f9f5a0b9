# The soak test (cmd/intercomd TestSoak): SOAK_CALLS calls with the door,
# each with a fault (a resident who vanishes, ICE that never connects, an
# offer never sent, a socket closed half way, hang-ups that cross), the
# door idle again after each, and no growth of goroutines, open files or
# RSS beyond the test's bounds at the end. `make test` (CI) runs the same
# test with two calls of each fault; this is the long run, not in CI:
# about 1.5 s a call on 2 cores. SOAK_SEED replays an order of faults.
.PHONY: soak
SOAK_CALLS ?= 600
SOAK_SEED  ?=

soak:
	build/deps.sh test
	INTERCOMD_SOAK_CALLS=$(SOAK_CALLS) INTERCOMD_SOAK_SEED=$(SOAK_SEED) \
	  $(GO) test -count=1 -timeout 4h -run '^TestSoak$$' -v ./cmd/intercomd/
