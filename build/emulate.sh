# Sourced by the packaging scripts: runs an ARM binary under qemu-user.
#
# qemu-user 7.2 (Debian bookworm's) now and then spins forever while a Go
# program with cgo starts its threads: seen on this project's build machines
# under heavy load, for `intercomd -h` and for a cgo hello world alike, while
# the same command passed ten times in a row once the load fell. That is the
# emulator, not our binary, so a run that is still going after EMULATE_TIMEOUT
# seconds is killed (SIGKILL: the spinning qemu ignores SIGTERM) and tried
# again, at most EMULATE_TRIES times, with one line saying so. Any other
# failure is returned at once.

EMULATE_TIMEOUT=${EMULATE_TIMEOUT:-180}
EMULATE_TRIES=${EMULATE_TRIES:-3}

# emulate CMD...: CMD's exit status and output, retried only on a hang.
emulate() {
  local try rc
  for ((try = 1; try <= EMULATE_TRIES; try++)); do
    rc=0
    timeout -s KILL "$EMULATE_TIMEOUT" "$@" || rc=$?
    [ "$rc" -eq 137 ] || return "$rc"
    echo "emulate: $1 ${*: -1} still running after ${EMULATE_TIMEOUT} s (a qemu-user hang), killed; try $try of $EMULATE_TRIES" >&2
  done
  return 137
}
