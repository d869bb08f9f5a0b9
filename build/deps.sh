#!/usr/bin/env bash
# Installs the Debian packages intercomd's build and tests need, when missing.
# Usage: build/deps.sh [run|test|dist|vm|bench|all]   (default: test; all = what CI needs)
set -euo pipefail

# libvpx-dev: VP8 (for browsers without H.264) is part of every build.
# libspeexdsp-dev: the door's echo canceller (media/aec), linked statically.
# libopenh264-dev: the door's H.264 encoder (media/openh264), linked statically.
want=(gcc g++ pkg-config libasound2-dev libvpx-dev libspeexdsp-dev libopenh264-dev)
foreign=()
case "${1:-test}" in
  run) ;;
  # nftables and iproute2: the peer-loss test drops packets in a network
  # namespace of its own. cpio: build/cache-test.sh. mosquitto: the MQTT
  # tests' broker. libnss3-tools (certutil): Chromium trusts intercomd's CA
  # through an NSS database. firefox-esr and Node (puppeteer-core, axe-core:
  # build/jstest) for the browser tests; a Node that is there already
  # (another packaging) is kept.
  test) want+=(chromium nftables iproute2 cpio mosquitto libnss3-tools firefox-esr)
        command -v node >/dev/null || want+=(nodejs)
        command -v npm >/dev/null || want+=(npm) ;;
  # build/dist.sh downloads (never installs) -dev packages of the Pi's
  # architectures for their static libraries: apt needs those lists.
  dist) foreign=(arm64 armhf)
        want+=(gcc-aarch64-linux-gnu g++-aarch64-linux-gnu gcc-arm-linux-gnueabihf g++-arm-linux-gnueabihf
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
newarch=()
for a in "${foreign[@]}"; do
  dpkg --print-foreign-architectures | grep -qx "$a" || newarch+=("$a")
done
[ ${#missing[@]} -eq 0 ] && [ ${#newarch[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
for a in "${newarch[@]}"; do
  echo "adding architecture $a to apt (package lists only; nothing of it is installed)" >&2
  $sudo dpkg --add-architecture "$a"
done
# A mirror in the middle of a sync fails one index now and then (more often
# with three architectures); the install below still fails if it needs it.
$sudo apt-get -o DPkg::Lock::Timeout=300 update -qq ||
  echo "deps: apt-get update reported errors; installing with the indexes it has" >&2
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing Debian packages: ${missing[*]}" >&2
$sudo env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "${missing[@]}" >&2
