#!/bin/bash
# bench-x264.sh: openh264 (cmd/bench/encode, media/codec.go's settings) beside
# libx264 (build/x264enc.c, the encoder bench's ffmpeg settings) encoding the
# same test pattern frames, encoder alone, natively and EMULATED under
# qemu-aarch64 (CPU time per frame; qemu-user here has no plugins, so no
# instruction counts). x264 runs at the bitrate openh264 reached. libx264 for
# arm64 is downloaded and unpacked (apt-get download), never installed.
# Each figure is the median of the rounds (this machine is shared and noisy).
# Usage: build/bench-x264.sh [rounds]   (after make bench's builds: bin/bench-encode)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && apt-get download -q libx264-164 libx264-dev libx264-164:arm64 libx264-dev:arm64 >/dev/null 2>&1) ||
  { echo "bench-x264: cannot download libx264 (build/deps.sh dist adds arm64 to apt's lists)" >&2; exit 1; }
for d in "$work"/*.deb; do
  case $d in *_arm64.deb) dpkg-deb -x "$d" "$work/arm64" ;; *) dpkg-deb -x "$d" "$work/native" ;; esac
done
host=$(gcc -dumpmachine)
gcc -O2 -o "$work/x264-native" build/x264enc.c -I"$work/native/usr/include" "$work/native/usr/lib/$host/libx264.a" -lm -lpthread
aarch64-linux-gnu-gcc -O2 -static -o "$work/x264-arm64" build/x264enc.c -I"$work/arm64/usr/include" "$work/arm64/usr/lib/aarch64-linux-gnu/libx264.a" -lm -lpthread
libs=$(build/dist.sh --static-libs arm64)
CGO_ENABLED=1 GOOS=linux GOARCH=arm64 CC=aarch64-linux-gnu-gcc CXX=aarch64-linux-gnu-g++ \
  PKG_CONFIG_LIBDIR="$libs/pkgconfig:/usr/lib/aarch64-linux-gnu/pkgconfig" CGO_LDFLAGS="-O2 -g -L$libs/root/usr/lib/aarch64-linux-gnu" \
  go build -o "$work/encode-arm64" ./cmd/bench/encode
qemu=(qemu-aarch64-static -L /usr/aarch64-linux-gnu)
median() { sort -g | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
echo "| size | build | openh264 CPU ms/frame | libx264 CPU ms/frame | ratio (per round) | bytes/frame openh264 / x264 |"
echo "|---|---|---|---|---|---|"
for sz in 640x480 1280x720; do
  w=${sz%x*} h=${sz#*x} n=300
  [ "$sz" = 1280x720 ] && n=150
  bin/bench-encode -size "$sz" -frames 90 -raw "$work/$sz.yuv" 2>/dev/null
  for build in native arm64; do
    run=(); enc=bin/bench-encode
    [ $build = arm64 ] && run=("${qemu[@]}") && enc=$work/encode-arm64
    ocpus=() xcpus=() ratios=()
    for r in $(seq "$rounds"); do
      o=$("${run[@]}" "$enc" -size "$sz" -frames $n 2>/dev/null)
      ocpu=$(jq -r .cpu_ms <<<"$o") obytes=$(jq -r .bytes_per_frame <<<"$o")
      x=$("${run[@]}" "$work/x264-$build" "$work/$sz.yuv" "$w" "$h" $((obytes * 30 * 8 / 1000)) $n)
      xcpu=$(jq -r .cpu_ms_per_frame <<<"$x") xbytes=$(jq -r .bytes_per_frame <<<"$x")
      ocpus+=("$ocpu") xcpus+=("$xcpu") ratios+=("$(printf %.2f "$(echo "$ocpu / $xcpu" | bc -l)")")
    done
    label=$build; [ $build = arm64 ] && label="arm64, EMULATED (qemu-aarch64)"
    printf '| %s | %s | %.2f | %.2f | %.2fx (%s) | %s / %s |\n' "$sz" "$label" \
      "$(printf '%s\n' "${ocpus[@]}" | median)" "$(printf '%s\n' "${xcpus[@]}" | median)" \
      "$(printf '%s\n' "${ratios[@]}" | median)" "${ratios[*]}" "$obytes" "$xbytes"
  done
done
