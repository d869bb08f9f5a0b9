# Sourced by the build scripts that keep something in a cache (vmtest.sh's
# kernel and initramfs, dist-systemd-test.sh's container image). An entry is
# usable only when whole: the script that made it writes PATH.sha256 (the
# checksum of every file of PATH, a file or a directory) as its very last
# step, so an entry cut short by a crash, a full disk or Ctrl-C has no list,
# and one changed or truncated since then no longer matches it.
# build/cache-test.sh plants broken entries and checks each is caught.

# entry_seal PATH records the checksums of PATH in PATH.sha256.
entry_seal() {
  local p=$1
  if [ -d "$p" ]; then
    (cd "$p" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum) >"$p.sha256.part"
  else
    (cd "$(dirname "$p")" && sha256sum "$(basename "$p")") >"$p.sha256.part"
  fi
  mv "$p.sha256.part" "$p.sha256"
}

# entry_check PATH prints why PATH is not a whole cache entry and fails, or
# prints nothing and succeeds.
entry_check() {
  local p=$1 dir bad
  if [ ! -e "$p" ]; then echo "is missing"; return 1; fi
  if [ ! -s "$p.sha256" ]; then echo "has no checksum list (cut short, or made by an older script)"; return 1; fi
  dir=$p
  [ -d "$p" ] || dir=$(dirname "$p")
  if ! bad=$(cd "$dir" && sha256sum --quiet --strict -c - <"$p.sha256" 2>&1); then
    bad=$(grep -m1 -v '^sha256sum: WARNING' <<<"$bad" || true)
    echo "no longer matches its checksums (${bad:-unreadable})"
    return 1
  fi
}
