#!/usr/bin/env bash
# Cross-compiles intercomd with cgo for the Raspberry Pi and packages each build
# as a .deb with dpkg-deb: dist/intercomd_VERSION_arm64.deb (64-bit Raspberry Pi
# OS) and dist/intercomd_VERSION_armhf.deb (32-bit, ARMv7: Pi Zero 2 W, 3, 4, 5).
#
# Usage: build/dist.sh [arm64|armhf|amd64 ...]   (default: arm64 armhf; amd64 is
#        for dist-systemd-test.sh, which installs it under a real systemd here)
#        build/dist.sh --version   prints the Debian version it would use.
#        build/dist.sh --static-libs ARCH   fetches the static libraries only.
# VERSION=1.2.3 build/dist.sh   packages that version instead of the one git gives.
set -euo pipefail
. "$(dirname "$0")/emulate.sh"
umask 022
cd "$(dirname "$0")/.."

die() { echo "dist: $*" >&2; exit 1; }

# debian_version turns git's description of HEAD into a Debian version that
# grows with every commit, so apt upgrades from one build to the next:
#   tag v1.2.3            -> 1.2.3
#   3 commits past v1.2.3 -> 1.2.3+3.gabc1234
#   no tag, commit 42     -> 0.0.0+42.gabc1234
#   uncommitted changes   -> ... .dirty
# A tag's own hyphens (v1.3.0-rc1) become tildes so 1.3.0~rc1 sorts before 1.3.0.
debian_version() {
  local v
  if [ -n "${VERSION:-}" ]; then
    v=${VERSION#v}
  elif ! git rev-parse --git-dir >/dev/null 2>&1; then
    v=0.0.0~dev
  else
    local desc dirty=""
    git diff-index --quiet HEAD -- 2>/dev/null || dirty=.dirty
    if desc=$(git describe --tags --long --match 'v[0-9]*' 2>/dev/null); then
      desc=${desc#v}                      # 1.2.3-rc1-4-gabc1234
      local count=${desc%-g*}; count=${count##*-}
      local tag=${desc%-*-g*}
      v=${tag//-/\~}
      [ "$count" = 0 ] || v="$v+$count.g${desc##*-g}"
    else
      v="0.0.0+$(git rev-list --count HEAD).g$(git rev-parse --short=7 HEAD)"
    fi
    v="$v$dirty"
  fi
  [[ $v =~ ^[0-9][A-Za-z0-9.+~]*$ ]] || die "version \"$v\" is not a valid Debian version (digits first, then letters, digits and . + ~)"
  echo "$v"
}

# go_build cross-compiles ./cmd/intercomd for one Debian architecture. -s -w
# strips the symbol table and DWARF (the Pi gets a smaller binary; panics still
# carry function names and lines from the Go runtime's own tables).
go_build() {
  local arch=$1 out=$2 goarch goarm="" triplet mode
  # PIE (address space randomisation) where the linked C code allows it:
  # mediadevices' prebuilt libopus for arm64 is not position independent, so
  # an arm64 PIE link fails; armv7's links.
  case $arch in
    arm64) goarch=arm64 triplet=aarch64-linux-gnu mode=exe ;;
    armhf) goarch=arm goarm=7 triplet=arm-linux-gnueabihf mode=pie ;;
    amd64) goarch=amd64 triplet=x86_64-linux-gnu mode=exe ;;
    *) die "unknown architecture $arch (arm64 or armhf)" ;;
  esac
  echo "dist: building intercomd $version for $arch ($triplet)" >&2
  # PKG_CONFIG_LIBDIR points at the downloaded static libraries and the cross
  # sysroot, so no host library can leak into an ARM link (opus is linked
  # statically from mediadevices, ALSA is opened at run time).
  # The static libraries' directory goes in CGO_LDFLAGS, not only in their
  # .pc files: go's build cache keys a cgo package on CGO_LDFLAGS but not on
  # pkg-config's output, so a package cached from another build would link
  # a library from another place.
  local deps
  deps=$(fetch_static_libs "$arch" "$triplet")
  CGO_ENABLED=1 GOOS=linux GOARCH=$goarch GOARM=$goarm \
    CC=$triplet-gcc CXX=$triplet-g++ CGO_LDFLAGS="-O2 -g -L$deps/root/usr/lib/$triplet" \
    PKG_CONFIG_LIBDIR=$deps/pkgconfig:/usr/lib/$triplet/pkgconfig \
    go build -trimpath -buildmode=$mode -ldflags "-s -w -X main.version=$version -extldflags=-Wl,-z,relro,-z,now" \
      -o "$out" ./cmd/intercomd
  "$triplet-strip" --strip-unneeded --remove-section=.comment "$out"
  TRIPLET=$triplet
  case $arch in
    arm64) RUN=(qemu-aarch64-static -L "/usr/$triplet") ;;
    armhf) RUN=(qemu-arm-static -L "/usr/$triplet") ;;
    amd64) RUN=() ;;
  esac
}

# static_dev_packages are Debian -dev packages whose static libraries (.a) are
# linked into the Pi builds: libvpx-dev for VP8 (the fallback codec for
# browsers without H.264), libspeexdsp-dev for the echo canceller
# (media/aec), libopenh264-dev for H.264 (media/openh264). Linked statically, the package needs no soname
# of theirs in Depends, which differ between Raspberry Pi OS releases
# (libvpx7 in bookworm, libvpx9 in trixie). Add a package here and its .pc
# files are found by the cgo build and its copyright goes into the .deb.
static_dev_packages=(libvpx-dev libspeexdsp-dev libopenh264-dev)

# fetch_static_libs downloads static_dev_packages for arch into
# dist/deps/ARCH (once each) and prints that directory: root/ holds the
# unpacked packages without their shared libraries (so -lfoo finds foo.a),
# pkgconfig/ their .pc files rewritten to root/ with Libs.private in Libs,
# copyright/PACKAGE each license. They are downloaded, never installed: a
# foreign -dev package installed pulls the foreign libc6 onto the host, whose
# ld.so then mixes with the cross toolchain's under qemu-user and every cgo
# binary hangs at start.
fetch_static_libs() {
  local arch=$1 triplet=$2 dir=$PWD/dist/deps/$1 pkg deb pc
  mkdir -p "$dir/debs" "$dir/root" "$dir/copyright" "$dir/pkgconfig"
  for pkg in "${static_dev_packages[@]}"; do
    if [ ! -f "$dir/copyright/$pkg" ]; then
      (cd "$dir/debs" && rm -f "${pkg}"_*.deb && apt-get download -q "$pkg:$arch" >&2) ||
        die "cannot download $pkg:$arch (build/deps.sh dist adds the architecture to apt's lists)"
      deb=$(echo "$dir/debs/${pkg}"_*_"$arch".deb)
      dpkg-deb -x "$deb" "$dir/root"
      cp "$dir/root/usr/share/doc/$pkg/copyright" "$dir/copyright/$pkg"
    fi
    dpkg-deb -c "$dir"/debs/"${pkg}"_*_"$arch".deb | awk '/\.a$/ { a = 1 } END { exit !a }' || die "$pkg:$arch has no static library"
  done
  find "$dir/root" -name '*.so' -o -name '*.so.[0-9]*' | xargs -r rm -f
  for pc in "$dir/root/usr/lib/$triplet/pkgconfig"/*.pc "$dir/root/usr/share/pkgconfig"/*.pc; do
    [ -f "$pc" ] || continue
    awk -v root="$dir/root" '
      /^prefix=/ { sub(/=/, "=" root) }
      /^[a-z_]+=\/usr/ && !/^prefix=/ { sub(/=/, "=" root) }
      /^Libs\.private:/ { priv = substr($0, 15); next }
      { line[++n] = $0 }
      END { for (i = 1; i <= n; i++) { if (line[i] ~ /^Libs:/) line[i] = line[i] " " priv; print line[i] } }' \
      "$pc" > "$dir/pkgconfig/$(basename "$pc")"
  done
  echo "$dir"
}

# shlib_depends maps the shared libraries the binary links (ELF NEEDED) to
# Debian packages, each with the lowest version that has every symbol version
# the binary uses, as dpkg-shlibdeps would with the target's symbols files:
# glibc's GLIBC_2.34 means libc6 (>= 2.34); libstdc++'s and libgcc's symbol
# versions are looked up in Debian's symbols files (the host's libstdc++6 one
# serves every arch: its tags are arch-independent; libgcc's differ on ARM, so
# the cross package's file).
shlib_depends() {
  local bin=$1 triplet=$2 arch=$3
  local -A need=()
  local lib pkg
  while read -r lib; do
    case $lib in
      libc.so.6|libm.so.6|libdl.so.2|libpthread.so.0|librt.so.1|libresolv.so.2|ld-linux-*) pkg=libc6 ;;
      libstdc++.so.6) pkg=libstdc++6 ;;
      libgcc_s.so.1) pkg=libgcc-s1 ;;
      libatomic.so.1) pkg=libatomic1 ;;
      *) die "intercomd links $lib, which dist.sh does not know: map it to its Debian package in shlib_depends" ;;
    esac
    need[$pkg]=0
  done < <("$triplet-readelf" -dW "$bin" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')

  # Version needs: "File: libc.so.6" then its "Name: GLIBC_2.34" lines.
  local file tag min host libgcc_symbols
  host=$(dpkg --print-architecture)
  libgcc_symbols=libgcc-s1-$arch-cross
  [ "$arch" != "$host" ] || libgcc_symbols=libgcc-s1:$host
  while read -r file tag; do
    case $file in
      libc.so.6|libm.so.6|libdl.so.2|libpthread.so.0|librt.so.1|libresolv.so.2|ld-linux-*)
        pkg=libc6; min=${tag#GLIBC_} ;;
      libstdc++.so.6) pkg=libstdc++6; min=$(symbols_version "libstdc++6:$host" "$tag") ;;
      libgcc_s.so.1) pkg=libgcc-s1; min=$(symbols_version "$libgcc_symbols" "$tag") ;;
      libatomic.so.1) pkg=libatomic1; min=$(symbols_version "libatomic1:$host" "$tag") ;;
      *) die "symbol version $tag of unknown library $file" ;;
    esac
    [ -n "$min" ] || die "no Debian version known for $tag of $file"
    if [ "${need[$pkg]}" = 0 ] || dpkg --compare-versions "$min" gt "${need[$pkg]}"; then
      need[$pkg]=$min
    fi
  done < <("$triplet-readelf" -VW "$bin" | awk '
    /^Version needs section/ { on = 1; next }
    /^Version (symbols|definition) section/ { on = 0 }
    on { for (i = 1; i < NF; i++) { if ($i == "File:") file = $(i+1); if ($i == "Name:") print file, $(i+1) } }')

  local out=()
  for pkg in libc6 libstdc++6 libgcc-s1 libatomic1; do
    [ -n "${need[$pkg]:-}" ] || continue
    if [ "${need[$pkg]}" = 0 ]; then out+=("$pkg"); else out+=("$pkg (>= ${need[$pkg]})"); fi
  done
  local IFS=,
  echo "${out[*]}" | sed 's/,/, /g'
}

# symbols_version prints the package version that introduced a symbol version
# tag, from the host's dpkg symbols file ("GLIBCXX_3.4.9@GLIBCXX_3.4.9 4.2.1").
symbols_version() {
  local f=/var/lib/dpkg/info/$1.symbols
  [ -r "$f" ] || die "$f missing (install ${1%%:*})"
  awk -v t="$2" '$1 == t "@" t { print $2; exit }' "$f"
}

# write_copyright lists intercomd's own terms and then the license of every Go
# module and C library linked into the binary (BSD and MIT require their notices
# with binary copies). Full Apache-2.0 texts point at Debian's common copy.
write_copyright() {
  local bin=$1 dst=$2 arch=$3 modcache goroot
  modcache=$(go env GOMODCACHE)
  goroot=$(go env GOROOT)
  {
    cat build/debian/copyright.head
    license_section "Go standard library and runtime" "$goroot/LICENSE"
    local mod ver dir
    while read -r mod ver; do
      dir=$modcache/$(go_mod_escape "$mod")@$ver
      [ -d "$dir" ] || die "module $mod@$ver not in the module cache ($dir)"
      local found=0 f
      for f in "$dir"/LICENSE* "$dir"/COPYING* "$dir"/NOTICE*; do
        [ -f "$f" ] || continue
        license_section "$mod $ver ($(basename "$f"))" "$f"
        found=1
      done
      [ $found = 1 ] || die "module $mod@$ver has no LICENSE file: check its terms by hand"
      if [ "$mod" = github.com/eclipse/paho.golang ]; then
        # Dual-licensed EPL-2.0 or EDL-1.0 (BSD-3-Clause); its LICENSE holds
        # the EPL, intercomd takes it under the EDL, whose text is here.
        license_section "$mod $ver (edl-v10, the license intercomd uses it under)" "$dir/edl-v10"
      fi
      if [ "$mod" = github.com/pion/mediadevices ]; then
        license_section "Opus (statically linked through $mod)" "$dir/pkg/codec/opus/LICENSE"
      fi
    done < <(go version -m "$bin" | awk '$1 == "dep" { print $2, $3 }')
    local pkg
    for pkg in "${static_dev_packages[@]}"; do
      license_section "Debian's $pkg (its static library is linked in)" "$PWD/dist/deps/$arch/copyright/$pkg"
    done
  } > "$dst"
}

# go_mod_escape spells a module path as the module cache does (capitals as !x).
go_mod_escape() { sed 's/\([A-Z]\)/!\L\1/g' <<< "$1"; }

license_section() {
  local name=$1 file=$2
  printf '\n--------------------------------------------------------------------\n%s\n\n' "$name"
  if grep -q 'TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION' "$file"; then
    awk '/^[[:space:]]*Apache License[[:space:]]*$/ { exit } { print }' "$file"
    printf 'Licensed under the Apache License, Version 2.0. On Debian systems the full\ntext is in /usr/share/common-licenses/Apache-2.0.\n'
  else
    cat "$file"
  fi
}

# write_manpage fills build/debian/intercomd.8.in with the binary's own flag
# list (-h, run under qemu-user), so the page never lags the flags.
write_manpage() {
  local arch=$1 bin=$2 opts=dist/build/$1/options.roff
  emulate "${RUN[@]}" "$bin" -h 2>&1 | awk '
    function roff(s) { gsub(/\\/, "\\e", s); gsub(/-/, "\\-", s); return s }
    /^  -/ { sub(/^  -/, ""); n = split($0, w, " "); printf ".TP\n.B \\-%s", roff(w[1]); if (n > 1) printf " \\fI%s\\fR", roff(w[2]); printf "\n"; next }
    /^    \t/ { sub(/^    \t/, ""); print roff($0) }' > "$opts"
  grep -q '^\.B \\-version' "$opts" || die "intercomd -h (${RUN[*]}) printed no flag list"
  sed -e "s/@VERSION@/$version/" -e "s/@DATE@/$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%d)/" \
    -e "/@OPTIONS@/{r $opts" -e "d}" build/debian/intercomd.8.in
}

# package lays out one architecture's tree and builds the .deb.
package() {
  local arch=$1 work=dist/build/$1
  rm -rf "$work"
  mkdir -p "$work"
  local bin=$work/intercomd
  go_build "$arch" "$bin"
  local root=$work/root doc=$work/root/usr/share/doc/intercomd
  install -D -m 0755 "$bin" "$root/usr/bin/intercomd"
  install -D -m 0644 systemd/intercomd.service "$root/lib/systemd/system/intercomd.service"
  install -D -m 0644 build/debian/intercomd.yaml "$root/etc/intercomd/intercomd.yaml"
  install -d -m 0755 "$doc"
  local d
  for d in docs/INSTALL.md docs/WIRING.md docs/HOME-ASSISTANT.md; do
    if [ -f "$d" ]; then install -m 0644 "$d" "$doc/"; fi
  done
  write_copyright "$bin" "$doc/copyright" "$arch"
  sed -e "s/@VERSION@/$version/" -e "s/@DATE@/$(date -u -R -d "@$SOURCE_DATE_EPOCH")/" \
    build/debian/changelog.in | gzip -9n > "$doc/changelog.gz"
  install -d -m 0755 "$root/usr/share/man/man8"
  write_manpage "$arch" "$bin" | gzip -9n > "$root/usr/share/man/man8/intercomd.8.gz"
  local overrides=build/debian/lintian-overrides.$arch
  if [ -s "$overrides" ]; then
    install -D -m 0644 "$overrides" "$root/usr/share/lintian/overrides/intercomd"
  fi

  install -d -m 0755 "$root/DEBIAN"
  local s
  for s in preinst postinst prerm postrm; do
    install -m 0755 "build/debian/$s" "$root/DEBIAN/$s"
  done
  echo /etc/intercomd/intercomd.yaml > "$root/DEBIAN/conffiles"
  local depends
  depends=$(shlib_depends "$bin" "$TRIPLET" "$arch")
  depends="adduser, $depends"
  # malgo (miniaudio) dlopens libasound.so.2 at run time, so no ELF NEEDED
  # names it; without it the microphone and speaker cannot open.
  if grep -q 'libasound\.so\.2' "$bin"; then
    depends="$depends, libasound2 (>= 1.0.16) | libasound2t64"
  fi
  local size
  size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
  sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@SIZE@/$size/" -e "s/@DEPENDS@/$depends/" \
    build/debian/control.in > "$root/DEBIAN/control"
  (cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z | xargs -0 md5sum) > "$root/DEBIAN/md5sums"
  chmod 0644 "$root/DEBIAN/md5sums" "$root/DEBIAN/conffiles" "$root/DEBIAN/control"

  local deb=dist/intercomd_${version}_$arch.deb
  dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
  echo "dist: $deb ($(du -h "$deb" | cut -f1); binary $(du -h "$bin" | cut -f1))" >&2
}

version=$(debian_version)
if [ "${1:-}" = --version ]; then
  echo "$version"
  exit 0
fi
build/deps.sh dist
# --static-libs ARCH: fetch static_dev_packages for ARCH and print their
# directory (cmd/bench links its encoder as the packages do).
if [ "${1:-}" = --static-libs ]; then
  case ${2:-} in
    arm64) fetch_static_libs arm64 aarch64-linux-gnu ;;
    armhf) fetch_static_libs armhf arm-linux-gnueabihf ;;
    amd64) fetch_static_libs amd64 x86_64-linux-gnu ;;
    *) die "--static-libs arm64|armhf|amd64" ;;
  esac
  exit 0
fi
# Reproducible builds: every timestamp is the last commit's.
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}
export SOURCE_DATE_EPOCH

archs=("$@")
[ ${#archs[@]} -gt 0 ] || archs=(arm64 armhf)
mkdir -p dist
for arch in "${archs[@]}"; do
  rm -f dist/intercomd_*_"$arch".deb
  package "$arch"
done
