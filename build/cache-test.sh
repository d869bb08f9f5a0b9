#!/usr/bin/env bash
# Plants broken cache entries of the kinds a crash, a full disk or an older
# script leave behind (build/cache.sh, vmtest.sh's kernel and initramfs) and
# checks that each is caught with its reason, and that a whole one is used.
# Runs in a second; make test runs it.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export VMTEST_CACHE=$tmp/cache
# shellcheck source=vmtest/vmtest.sh
. build/vmtest/vmtest.sh
set +e

failed=0
# expect NAME WANT CMD...: CMD must fail and print WANT (a substring), or
# succeed silently when WANT is "ok".
expect() {
  local name=$1 want=$2 out rc
  shift 2
  out=$("$@" 2>&1)
  rc=$?
  if [ "$want" = ok ]; then
    [ $rc -eq 0 ] && [ -z "$out" ] && return
    echo "cache-test: FAIL: $name: $* = status $rc '$out', want a whole entry" >&2
  else
    [ $rc -ne 0 ] && [[ $out == *"$want"* ]] && return
    echo "cache-test: FAIL: $name: $* = status $rc '$out', want a failure saying '$want'" >&2
  fi
  failed=1
}

# A kernel directory as build_kernel leaves it.
good_kernel() {
  local k=$1
  rm -rf "$k" "$k.sha256"
  mkdir -p "$k/modules"
  printf '\177ELF\002\001\001' >"$k/vmlinux"
  head -c 4096 /dev/urandom >>"$k/vmlinux"
  echo 6.1.999-1 >"$k/version"
  kernel_recipe >"$k/recipe"
  printf 'configfs.ko\nvivid.ko n_devs=1\n' >"$k/modules/load.order"
  echo configfs >"$k/modules/configfs.ko"
  echo vivid >"$k/modules/vivid.ko"
  entry_seal "$k"
}
k=$tmp/cache/kernel/6.1.999-amd64
expect "kernel, cold cache" "is missing" kernel_ok "$k"
good_kernel "$k"
expect "kernel, whole" ok kernel_ok "$k"
rm "$k.sha256"
expect "kernel, never finished" "no checksum list" kernel_ok "$k"
good_kernel "$k"
truncate -s 100 "$k/vmlinux"
expect "kernel, vmlinux cut short" "vmlinux: FAILED" kernel_ok "$k"
good_kernel "$k"
rm "$k/modules/vivid.ko"
expect "kernel, a module gone" "vivid.ko" kernel_ok "$k"
good_kernel "$k"
echo other >"$k/recipe"
entry_seal "$k"
expect "kernel, made for other modules" "other modules" kernel_ok "$k"
good_kernel "$k"
echo 'not a kernel' >"$k/vmlinux"
entry_seal "$k"
expect "kernel, vmlinux not ELF" "no ELF vmlinux" kernel_ok "$k"
good_kernel "$k"
echo 'snd-aloop.ko index=0' >>"$k/modules/load.order"
entry_seal "$k"
expect "kernel, load.order names a missing module" "lacks modules/snd-aloop.ko" kernel_ok "$k"

# The base initramfs as build_base leaves it.
good_base() {
  local b=$1 r=$tmp/root
  rm -rf "$b" "$b.sha256" "$r"
  mkdir -p "$r/lib/modules"
  echo '#!/bin/sh' >"$r/init"
  echo 'vivid.ko' >"$r/lib/modules/load.order"
  head -c 65536 /dev/urandom >"$r/lib/modules/vivid.ko"
  (cd "$r" && find . -print0 | sort -z | cpio --null -o -H newc -R 0:0 --quiet) >"$b"
  entry_seal "$b"
}
b=$tmp/cache/base-0123456789abcdef.cpio
expect "base, cold cache" "is missing" base_ok "$b"
good_base "$b"
expect "base, whole" ok base_ok "$b"
truncate -s 30000 "$b"
expect "base, cut short" "FAILED" base_ok "$b"
entry_seal "$b"
expect "base, cut short before it was sealed" "not a cpio archive" base_ok "$b"
good_base "$b"
rm "$b.sha256"
expect "base, never finished" "no checksum list" base_ok "$b"
rm -rf "$b"
mkdir "$b"
expect "base, a directory where the file belongs" "no checksum list" base_ok "$b"

# The shape of issue 11: a directory under a file's name, even with a list.
f=$tmp/cache/image.tar
mkdir -p "$f/etc"
echo bookworm >"$f/etc/debian_version"
entry_seal "$f"
rm -rf "$f"
echo 'a file now' >"$f"
expect "image, a file where the sealed directory was" "no longer matches" entry_check "$f"

[ $failed = 0 ] || exit 1
echo "cache-test: ok: every broken entry caught, whole ones used"
