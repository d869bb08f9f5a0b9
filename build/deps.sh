#!/usr/bin/env bash
# Installs the Debian packages intercomd's build and tests need, when missing.
# Usage: build/deps.sh [run|test|dist|vm|bench|all]   (default: test; all = what CI needs)
set -euo pipefail

want=(gcc g++ pkg-config libasound2-dev)
case "${1:-test}" in
  run) ;;
  # nftables and iproute2: the peer-loss test drops packets in a network
  # namespace of its own. cpio: build/cache-test.sh. mosquitto: the MQTT
  # tests' broker. libnss3-tools (certutil): Chromium trusts intercomd's CA
  # through an NSS database.
  test) want+=(chromium libvpx-dev nftables iproute2 cpio mosquitto libnss3-tools) ;;
  dist) want+=(gcc-aarch64-linux-gnu g++-aarch64-linux-gnu gcc-arm-linux-gnueabihf g++-arm-linux-gnueabihf
               libc6-dev-arm64-cross libc6-dev-armhf-cross qemu-user-static dpkg-dev lintian systemd python3 mmdebstrap systemd-container) ;;
  vm) want+=(qemu-system-x86 busybox-static cpio xz-utils zstd kmod make libelf1 ca-certificates) ;;
  # make bench: Chromium for call set-up and glass-to-glass, ffmpeg (libx264)
  # as the encoder reference, perf for where the door's CPU goes, and the
  # cross toolchains and qemu-user for the emulated ARM figures.
  bench) want+=(chromium ffmpeg gcc-aarch64-linux-gnu g++-aarch64-linux-gnu gcc-arm-linux-gnueabihf
                g++-arm-linux-gnueabihf libc6-dev-arm64-cross libc6-dev-armhf-cross qemu-user-static linux-perf) ;;
  all) for l in test dist vm; do "$0" "$l"; done; exit 0 ;;
  *) echo "usage: $0 [run|test|dist|vm|bench|all]" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing Debian packages: ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get -o DPkg::Lock::Timeout=300 update -qq
$sudo env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "${missing[@]}" >&2
