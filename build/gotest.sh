#!/usr/bin/env bash
# Runs go test with the given arguments and, when it fails, ends with a
# digest: each failed test with its own failure lines, and for a test binary
# that hit -timeout, the tests it was running. A CI log is often read from
# its tail, where a timeout's goroutine dump would otherwise bury the name.
set -uo pipefail
log=$(mktemp "${TMPDIR:-/tmp}/gotest.XXXXXX")
trap 'rm -f "$log"' EXIT
"${GO:-go}" test "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
if [ "$rc" -ne 0 ]; then
  echo
  echo "== go test failed (exit $rc): digest"
  awk '
    /^panic: test timed out/ { print; timeout = 1; next }
    timeout && /^[ \t]*running tests:/ { print; running = 1; next }
    running && /^\t+Test/ { print; next }
    running { running = 0; timeout = 0 }
    /^[ \t]*--- FAIL/ { print; next }
    /^FAIL[ \t]/ { print; next }
    /^[ \t]+[A-Za-z0-9_]+_test\.go:[0-9]+: / && !/ level=/ && !/^[ \t]+[A-Za-z0-9_]+_test\.go:[0-9]+: time=/ { if (++n <= 60) print }
  ' "$log"
fi
exit "$rc"
