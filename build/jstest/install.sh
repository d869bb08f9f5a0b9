#!/usr/bin/env bash
# Installs the browser tests' Node packages (package-lock.json) into
# build/jstest/node_modules when missing or older than the lock file.
# puppeteer-core downloads no browser: the tests use Debian's firefox-esr
# and chromium (build/deps.sh test).
set -euo pipefail
cd "$(dirname "$0")"
command -v npm >/dev/null || { echo "jstest: npm missing (build/deps.sh test installs it)" >&2; exit 1; }
if [ -f node_modules/.package-lock.json ] && [ node_modules/.package-lock.json -nt package-lock.json ]; then
  exit 0
fi
npm ci --ignore-scripts --no-audit --no-fund >&2
