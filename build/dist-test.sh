#!/usr/bin/env bash
# Checks the packages build/dist.sh made (make dist-test builds them first):
# the version scheme; per architecture the control fields, contents, conffiles
# and maintainer scripts; the binary under qemu-user (-version, -selfcheck on
# the packaged config, READY and watchdog pings through a NOTIFY_SOCKET, clean
# SIGTERM); lintian without errors; systemd-analyze verify on the unit; then
# install, upgrade, remove and purge with the service running under a real
# systemd in a container (dist-systemd-test.sh).
# Any problem stops it with a message and a non-zero status.
set -euo pipefail
. "$(dirname "$0")/emulate.sh"
cd "$(dirname "$0")/.."
build/deps.sh dist

fail() { echo "dist-test: FAIL: $*" >&2; exit 1; }
say() { echo "dist-test: $*"; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# --- The version scheme: each build sorts after the one before -------------
check_versions() {
  local repo=$tmp/vrepo prev="" v
  mkdir -p "$repo/build"
  cp build/dist.sh build/emulate.sh "$repo/build/"
  git -C "$repo" init -q
  git -C "$repo" add build/dist.sh build/emulate.sh
  commit() { git -C "$repo" -c user.name=t -c user.email=t@t commit -q --allow-empty -m "$1"; }
  ver() { (cd "$repo" && build/dist.sh --version); }
  local -a seen=()
  commit one; seen+=("$(ver)")
  commit two; seen+=("$(ver)")
  git -C "$repo" tag v1.2.0-rc1; seen+=("$(ver)")
  commit three; git -C "$repo" tag v1.2.0; seen+=("$(ver)")
  commit four; seen+=("$(ver)")
  echo change > "$repo/file"; git -C "$repo" add file; seen+=("$(ver)")
  [[ ${seen[0]} =~ ^0\.0\.0\+[0-9]+\.g[0-9a-f]{7}$ ]] || fail "untagged version ${seen[0]}, want 0.0.0+N.gSHA"
  [ "${seen[3]}" = 1.2.0 ] || fail "version at tag v1.2.0 is ${seen[3]}, want 1.2.0"
  [ "${seen[2]}" = "1.2.0~rc1" ] || fail "version at tag v1.2.0-rc1 is ${seen[2]}, want 1.2.0~rc1"
  [[ ${seen[4]} =~ ^1\.2\.0\+1\.g[0-9a-f]{7}$ ]] || fail "version one commit past v1.2.0 is ${seen[4]}"
  [[ ${seen[5]} =~ \.dirty$ ]] || fail "version with uncommitted changes is ${seen[5]}, want a .dirty suffix"
  for v in "${seen[@]}"; do
    if [ -n "$prev" ] && [ "$prev" != "$v" ]; then
      dpkg --compare-versions "$prev" lt "$v" || fail "version $v does not sort after $prev: apt would not upgrade"
    fi
    prev=$v
  done
  [ "$(VERSION=v2.0.0 build/dist.sh --version)" = 2.0.0 ] || fail "VERSION=v2.0.0 is not used as 2.0.0"
  if VERSION=not-a-version build/dist.sh --version >/dev/null 2>&1; then
    fail "VERSION=not-a-version was accepted"
  fi
  say "version scheme ok: ${seen[*]}"
}
check_versions

# --- One package -----------------------------------------------------------
check_deb() {
  local arch=$1 triplet qemu machine
  case $arch in
    arm64) triplet=aarch64-linux-gnu qemu=qemu-aarch64-static machine=AArch64 ;;
    armhf) triplet=arm-linux-gnueabihf qemu=qemu-arm-static machine=ARM ;;
  esac
  local debs=(dist/intercomd_*_"$arch".deb)
  [ -f "${debs[0]}" ] || fail "no dist/intercomd_*_$arch.deb: run make dist"
  [ ${#debs[@]} -eq 1 ] || fail "more than one $arch package in dist/: ${debs[*]}"
  local deb=${debs[0]}
  local version=${deb#dist/intercomd_}; version=${version%_"$arch".deb}
  field() { dpkg-deb -f "$deb" "$1"; }

  # Control fields.
  [ "$(field Package)" = intercomd ] || fail "$deb: Package is $(field Package)"
  [ "$(field Version)" = "$version" ] || fail "$deb: Version $(field Version) differs from the file name's $version"
  [ "$(field Architecture)" = "$arch" ] || fail "$deb: Architecture $(field Architecture), want $arch"
  local f
  for f in Maintainer Description Section Priority Installed-Size; do
    [ -n "$(field "$f")" ] || fail "$deb: no $f field"
  done

  # Contents: exactly these files, with these modes and owners.
  local want_files="-rw-r--r-- root/root ./etc/intercomd/intercomd.yaml
-rw-r--r-- root/root ./lib/systemd/system/intercomd.service
-rwxr-xr-x root/root ./usr/bin/intercomd
-rw-r--r-- root/root ./usr/share/doc/intercomd/changelog.gz
-rw-r--r-- root/root ./usr/share/doc/intercomd/copyright
-rw-r--r-- root/root ./usr/share/man/man8/intercomd.8.gz" doc
  for doc in INSTALL.md WIRING.md HOME-ASSISTANT.md; do
    if [ -f "docs/$doc" ]; then want_files+=$'\n'"-rw-r--r-- root/root ./usr/share/doc/intercomd/$doc"; fi
  done
  if [ "$arch" = arm64 ]; then want_files+=$'\n'"-rw-r--r-- root/root ./usr/share/lintian/overrides/intercomd"; fi
  local got_files
  got_files=$(dpkg-deb -c "$deb" | awk '$1 !~ /^d/ { print $1, $2, $6 }' | sort)
  if [ "$got_files" != "$(sort <<< "$want_files")" ]; then
    diff <(sort <<< "$want_files") <(echo "$got_files") >&2 || true
    fail "$deb: contents differ from the list above (- wanted, + found)"
  fi

  local root=$tmp/$arch
  mkdir -p "$root"
  dpkg-deb -R "$deb" "$root"
  [ "$(cat "$root/DEBIAN/conffiles")" = /etc/intercomd/intercomd.yaml ] ||
    fail "$deb: conffiles is '$(cat "$root/DEBIAN/conffiles")', want /etc/intercomd/intercomd.yaml"
  local s
  for s in preinst postinst prerm postrm; do
    [ -x "$root/DEBIAN/$s" ] || fail "$deb: no executable $s"
    sh -n "$root/DEBIAN/$s" || fail "$deb: $s has a syntax error"
  done
  grep -q 'adduser --system' "$root/DEBIAN/postinst" || fail "$deb: postinst makes no system user"
  grep -q 'rm -rf "${DPKG_ROOT:-}/etc/intercomd" "${DPKG_ROOT:-}/var/lib/intercomd"' "$root/DEBIAN/postrm" ||
    fail "$deb: postrm purge does not remove the config and the state"
  (cd "$root" && md5sum --quiet -c DEBIAN/md5sums) || fail "$deb: md5sums do not match the files"
  grep -q "^Debian's libvpx-dev (its static library is linked in)" "$root/usr/share/doc/intercomd/copyright" ||
    fail "$deb: copyright lacks libvpx's license (linked statically)"

  # The binary: this architecture, stripped, and Depends that cover its needs.
  local bin=$root/usr/bin/intercomd
  "$triplet-readelf" -h "$bin" | grep -q "Machine: *$machine" || fail "$bin is not an $machine binary"
  if [ "$arch" = armhf ]; then
    "$triplet-readelf" -A "$bin" | grep -q 'Tag_ABI_VFP_args: VFP registers' || fail "$bin is not hard-float"
    "$triplet-readelf" -A "$bin" | grep -q "Tag_CPU_arch: v7" || fail "$bin is not built for ARMv7"
  fi
  if "$triplet-readelf" -SW "$bin" | grep -qE '\.symtab|\.debug_'; then fail "$bin is not stripped"; fi
  local depends lib
  depends=$(field Depends)
  [[ $depends =~ (^|, )libc6\ \(\>=\ 2\.[0-9]+\) ]] || fail "$deb: Depends '$depends' has no versioned libc6"
  for lib in $("$triplet-readelf" -dW "$bin" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
    case $lib in
      libstdc++.so.6) [[ $depends =~ libstdc\+\+6 ]] || fail "$deb links $lib but Depends lacks libstdc++6" ;;
      libgcc_s.so.1) [[ $depends =~ libgcc-s1 ]] || fail "$deb links $lib but Depends lacks libgcc-s1" ;;
    esac
  done
  if grep -q 'libasound\.so\.2' "$bin"; then
    [[ $depends =~ libasound2 ]] || fail "$deb: the binary dlopens libasound.so.2 but Depends lacks libasound2"
  fi
  [[ $depends =~ (^|, )adduser ]] || fail "$deb: postinst uses adduser but Depends lacks it"
  # Debian's bookworm (Raspberry Pi OS) has glibc 2.36: a higher need cannot install.
  local glibc=${depends#*libc6 (>= }; glibc=${glibc%%)*}
  dpkg --compare-versions "$glibc" le 2.36 || fail "$deb needs glibc $glibc; Raspberry Pi OS bookworm has 2.36"

  # Under qemu-user: the version, the self-check on the packaged config.
  local run=("$qemu" -L "/usr/$triplet" "$bin")
  local out
  out=$(emulate "${run[@]}" -version) || fail "$arch: intercomd -version failed under $qemu"
  [ "$out" = "intercomd $version" ] || fail "$arch: -version printed '$out', want 'intercomd $version'"
  say "$arch: $out runs under $qemu"
  if ! out=$(emulate "${run[@]}" -selfcheck -config "$root/etc/intercomd/intercomd.yaml" \
      -camera test -mic test -speaker test -gpio none -state-dir "$tmp/state-$arch" 2>"$tmp/selfcheck-$arch.err"); then
    echo "$out"; cat "$tmp/selfcheck-$arch.err" >&2
    fail "$arch: intercomd -selfcheck on the packaged config failed under $qemu"
  fi
  echo "$out" | sed "s/^/dist-test: $arch (emulated) selfcheck: /"
  grep -q '^self-check: all [0-9]* items ok$' <<< "$out" || fail "$arch: self-check did not end 'all ok'"
  grep -q '^codec H264 *ok' <<< "$out" || fail "$arch: self-check did not encode H.264"
  grep -q '^codec Opus *ok' <<< "$out" || fail "$arch: self-check did not encode Opus"
  grep -q '^codec VP8 *ok' <<< "$out" || fail "$arch: self-check did not encode VP8 (libvpx, build/dist.sh)"

  # As systemd runs it (Type=notify): READY, a watchdog ping, SIGTERM.
  out=$(EMULATE_TIMEOUT=360 emulate python3 build/sdnotify.py 300 -- "${run[@]}" -listen 127.0.0.1:0 -no-auth \
      -state-dir "$tmp/state-$arch" -camera test -mic test -speaker test -gpio none) ||
    fail "$arch: the systemd notify contract failed under $qemu (above)"
  say "$arch (emulated): $(tr '\n' ' ' <<< "$out")"

  # Lintian: errors fail, warnings are listed.
  local lint
  lint=$(lintian --fail-on error --pedantic "$deb" 2>&1 | grep -v 'running with root privileges') ||
    { echo "$lint" >&2; fail "$deb: lintian reports errors"; }
  say "$arch: lintian: ${lint:-clean}"

  say "$arch: $deb $(du -k "$deb" | cut -f1) KiB, binary $(du -k "$bin" | cut -f1) KiB, Depends: $depends"
}

# --- The unit ----------------------------------------------------------------
check_unit() {
  # verify resolves ExecStart= and the default dependencies in --root, so the
  # root holds the packaged binary and the host's own units.
  local root=$tmp/verify
  mkdir -p "$root/lib/systemd/system" "$root/usr/bin"
  cp -a /lib/systemd/system/. "$root/lib/systemd/system/"
  cp "$tmp/arm64/lib/systemd/system/intercomd.service" "$root/lib/systemd/system/"
  cp "$tmp/arm64/usr/bin/intercomd" "$root/usr/bin/"
  local out
  out=$(systemd-analyze verify --man=no --generators=no --root="$root" \
      "$root/lib/systemd/system/intercomd.service" 2>&1) || { echo "$out" >&2; fail "systemd-analyze verify failed"; }
  [ -z "$out" ] || { echo "$out" >&2; fail "systemd-analyze verify is not clean"; }
  local key
  for key in Type=notify WatchdogSec= Restart=on-failure User=intercomd StateDirectory=intercomd \
      NoNewPrivileges=yes ProtectSystem=strict ProtectHome=yes PrivateTmp=yes DevicePolicy=closed \
      AmbientCapabilities=CAP_NET_BIND_SERVICE; do
    grep -q "^$key" "$root/lib/systemd/system/intercomd.service" || fail "intercomd.service lacks $key"
  done
  say "unit: systemd-analyze verify clean"
}

for arch in arm64 armhf; do
  check_deb "$arch"
done
check_unit
# Install, upgrade, remove and purge under a real systemd: that needs a
# package for this machine, so an amd64 build whose scripts, conffile and
# unit must be the very files the ARM packages carry.
build/dist.sh amd64
amd64=$tmp/amd64
mkdir -p "$amd64"
dpkg-deb -R dist/intercomd_*_amd64.deb "$amd64"
for arch in arm64 armhf; do
  for f in DEBIAN/preinst DEBIAN/postinst DEBIAN/prerm DEBIAN/postrm DEBIAN/conffiles \
      etc/intercomd/intercomd.yaml lib/systemd/system/intercomd.service; do
    cmp -s "$tmp/$arch/$f" "$amd64/$f" || fail "$f of the $arch package differs from the amd64 one under test"
  done
done
sudo=""
[ "$(id -u)" -eq 0 ] || sudo=sudo
$sudo build/dist-systemd-test.sh dist/intercomd_*_amd64.deb || fail "the package under systemd (above)"
say "all checks passed"
