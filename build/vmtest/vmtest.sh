#!/usr/bin/env bash
# make vmtest: runs intercomd's real device drivers on Linux's virtual devices
# (vivid camera, snd-aloop sound card, gpio-sim lines) inside a QEMU VM (TCG,
# never KVM, even where there is one) booted from Debian's own kernel. See
# docs/TESTING.md.
#
# Usage: build/vmtest/vmtest.sh [SCENARIO...]     (default: door echo)
#   smoke   the devices alone, through the libraries intercomd uses
#   door    smoke, then intercomd with the Pi's config and its real drivers,
#           the resident client in the VM, Chromium on the host calling the
#           door through forwarded ports, and smoke again once it stopped
#   echo    the same VM with only the client's audio-only echo call, on one
#           vCPU whose clock follows its instructions (QEMU -icount): the
#           door keeps real time, so its echo canceller is judged, whatever
#           the host's load or speed
# Environment:
#   VMTEST_CACHE    cache directory (default ${XDG_CACHE_HOME:-~/.cache}/intercomd-vmtest)
#   VMTEST_KERNEL   kernel ABI, e.g. 6.1.0-56-amd64 (default: Debian's current one)
#   VMTEST_TIMEOUT  seconds one VM may run (default 300)
#   VMTEST_KEEP=1   keep the work directory (console log, initramfs) for a look
#   VMTEST_BROWSER=0  skip the host Chromium step of the door scenario
#   VMTEST_CLIENT=0   skip the client in the VM (to iterate on the host step)
#   VMTEST_LOG_LEVEL  intercomd's -log-level in the VM (default info)
#   VMTEST_APPEND   more kernel command line; vmtest.skip=vivid,snd-aloop leaves
#                   those modules out, to see how a missing device is reported
# Exit status: the guest test's status; 1 when the VM never reported one.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
cache=${VMTEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/intercomd-vmtest}
timeout=${VMTEST_TIMEOUT:-300}
t0=$SECONDS

say() { echo "vmtest: [$((SECONDS - t0))s] $*" >&2; }
die() { echo "vmtest: FAIL: $*" >&2; exit 1; }
# shellcheck source=../cache.sh
. "$repo/build/cache.sh"

# The modules the guest needs, in this order; modprobe -D adds what each
# depends on. virtio_pci carries the network card for the port forwards.
modules=(configfs vivid vicodec snd-aloop gpio-sim gpio-mockup virtio_pci virtio_net)
# Parameters: vivid as one webcam-like capture device (input 0 is its
# webcam), vicodec with multiplanar queues (as the Pi's bcm2835-codec has),
# snd-aloop as card 0 named Loopback. gpio-mockup is shipped but
# left unloaded: gpio-sim is configurable through configfs.
declare -A modparams=(
  [vivid]="n_devs=1 node_types=0x1 num_inputs=1 input_types=0x0"
  [vicodec]="multiplanar=1"
  [snd-aloop]="index=0 id=Loopback pcm_substreams=2"
)
noload=(gpio-mockup)
# vicodec's sources in linux-source's drivers/media/test-drivers/vicodec.
vicodec_files=(vicodec-core.c codec-fwht.c codec-fwht.h codec-v4l2-fwht.c codec-v4l2-fwht.h)
# Where in linux-image's lib/modules/*/kernel those modules and their
# dependencies live; only these are unpacked.
image_dirs=('drivers/media/*' 'drivers/virtio/*' 'drivers/net/virtio_net.ko' 'drivers/net/net_failover.ko'
  'net/core/*' 'fs/configfs/*' 'sound/*' 'drivers/gpio/*')

# kernel_recipe names what a cached kernel directory was made for: the
# modules, their parameters and the directories unpacked. A change to any of
# them makes the kernel again.
kernel_recipe() { declare -p modules modparams noload image_dirs vicodec_files | sha256sum | cut -c1-16; }

# kernel_ok prints why the kernel directory $1 cannot be used and fails, or
# succeeds silently: it must be whole (build/cache.sh), made for this recipe,
# with an ELF vmlinux and every module load.order names.
kernel_ok() {
  local k=$1 why ko
  why=$(entry_check "$k") || { echo "$why"; return 1; }
  [ "$(cat "$k/recipe" 2>/dev/null)" = "$(kernel_recipe)" ] ||
    { echo "was made for other modules or parameters than vmtest.sh's"; return 1; }
  [ "$(head -c 4 "$k/vmlinux" 2>/dev/null | od -An -c | tr -d ' ')" = '177ELF' ] ||
    { echo "has no ELF vmlinux"; return 1; }
  [ -s "$k/version" ] || { echo "has no version"; return 1; }
  [ -s "$k/modules/load.order" ] || { echo "has no modules/load.order"; return 1; }
  while read -r ko _; do
    [ -f "$k/modules/$ko" ] || { echo "lacks modules/$ko, which load.order names"; return 1; }
  done <"$k/modules/load.order"
}

# base_ok prints why the base initramfs $1 cannot be used and fails, or
# succeeds silently: whole, and a cpio archive with /init and the modules.
base_ok() {
  local b=$1 why list
  why=$(entry_check "$b") || { echo "$why"; return 1; }
  list=$(cpio -it --quiet <"$b" 2>/dev/null) || { echo "is not a cpio archive"; return 1; }
  grep -qx -e ./init -e init <<<"$list" || { echo "has no /init"; return 1; }
  grep -qx -e ./lib/modules/load.order -e lib/modules/load.order <<<"$list" ||
    { echo "has no lib/modules/load.order"; return 1; }
}

# kernel_abi prints Debian's current 6.1 kernel ABI (6.1.0-NN-amd64).
kernel_abi() {
  if [ -n "${VMTEST_KERNEL:-}" ]; then echo "$VMTEST_KERNEL"; return; fi
  local abi
  abi=$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/.*Depends: linux-image-\(6\.1\.[0-9]*-[0-9]*-amd64\)$/\1/p' | head -1)
  if [ -z "$abi" ]; then
    apt-get update -qq >&2 || true
    abi=$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/.*Depends: linux-image-\(6\.1\.[0-9]*-[0-9]*-amd64\)$/\1/p' | head -1)
  fi
  if [ -z "$abi" ]; then
    # Offline: the newest kernel already cached.
    abi=$(ls -1 "$cache/kernel" 2>/dev/null | sort -V | tail -1)
  fi
  [ -n "$abi" ] || die "cannot find Debian's linux-image-amd64 (apt-get update failed?)"
  echo "$abi"
}

# extract_vmlinux unpacks the kernel ELF from bzImage $1 into $2, as the
# kernel's scripts/extract-vmlinux does for the xz compression Debian uses.
extract_vmlinux() {
  local off
  for off in $(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$1" | cut -d: -f1); do
    tail -c +$((off + 1)) "$1" | xz -dc >"$2" 2>/dev/null || true
    [ "$(head -c 4 "$2" | od -An -c | tr -d ' ')" = '177ELF' ] && return 0
  done
  die "kernel: no xz-compressed ELF kernel found in $1"
}

# build_kernel fetches the kernel image, headers, kbuild and source of ABI
# $1, builds gpio-sim, gpio-mockup, irq_sim, and vicodec with v4l2-mem2mem
# (a memory-to-memory codec; Debian builds neither) against it, and leaves in
# $kdir: vmlinux (uncompressed, booted through QEMU's PVH entry, which skips
# the bzImage decompressor that costs 3 to 10 s under TCG), modules/*.ko and
# modules/load.order.
build_kernel() {
  local abi=$1 kdir=$2 ver tmp
  ver=$(apt-cache policy "linux-image-$abi" | awk '/Candidate:/ {print $2}')
  [ -n "$ver" ] && [ "$ver" != "(none)" ] || die "kernel: no Debian package linux-image-$abi"
  say "kernel: fetching linux-image-$abi $ver, headers, kbuild and source (cold cache)"
  tmp=$(mktemp -d "$cache/tmp.XXXXXX")
  chmod 755 "$tmp"
  (cd "$tmp" && apt-get download -q=2 "linux-image-$abi=$ver" "linux-headers-$abi=$ver" \
    "linux-headers-${abi%-amd64}-common=$ver" "linux-kbuild-6.1=$ver" "linux-source-6.1=$ver" 2>&1 |
    grep -v 'unsandboxed' >&2) || true
  local deb
  mkdir -p "$tmp/root"
  for deb in "$tmp"/*.deb; do
    case $deb in
      */linux-image-*)
        # Only the kernel and the module directories the closure can
        # reach: writing all 4,000 modules costs more than the rest.
        dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$tmp/root" --wildcards './boot/vmlinuz-*' './boot/System.map-*' \
          './lib/modules/*/modules.*' "${image_dirs[@]/#/./lib/modules/*/kernel/}"
        ;;
      *) dpkg -x "$deb" "$tmp/root" ;;
    esac
  done
  [ -f "$tmp/root/boot/vmlinuz-$abi" ] || die "kernel: download of linux-image-$abi=$ver failed"
  [ -f "$tmp/root/usr/src/linux-source-6.1.tar.xz" ] || die "kernel: download of linux-source-6.1=$ver failed"

  say "kernel: unpacking vmlinux, and the module sources from linux-source-6.1"
  extract_vmlinux "$tmp/root/boot/vmlinuz-$abi" "$tmp/vmlinux"
  # --occurrence stops reading the 1.3 GB archive once every file was found.
  local src=linux-source-6.1
  tar -xJf "$tmp/root/usr/src/$src.tar.xz" -C "$tmp" --occurrence=1 \
    "$src/drivers/gpio/gpio-sim.c" "$src/drivers/gpio/gpio-mockup.c" "$src/drivers/gpio/gpiolib.h" \
    "$src/kernel/irq/irq_sim.c" "$src/drivers/media/v4l2-core/v4l2-mem2mem.c" \
    "${vicodec_files[@]/#/$src/drivers/media/test-drivers/vicodec/}"

  say "kernel: building irq_sim, gpio-sim, gpio-mockup, v4l2-mem2mem and vicodec out of tree"
  local m=$tmp/mods
  mkdir -p "$m"
  cp "$tmp/$src/kernel/irq/irq_sim.c" "$tmp/$src/drivers/gpio/gpio-sim.c" \
    "$tmp/$src/drivers/gpio/gpio-mockup.c" "$tmp/$src/drivers/gpio/gpiolib.h" \
    "$tmp/$src/drivers/media/v4l2-core/v4l2-mem2mem.c" "${vicodec_files[@]/#/$tmp/$src/drivers/media/test-drivers/vicodec/}" "$m/"
  # irq_to_desc is not exported to modules; generic_handle_irq does the same
  # for a simple irq. A module also needs its licence.
  grep -q 'handle_simple_irq(irq_to_desc(irqnum));' "$m/irq_sim.c" ||
    die "kernel: irq_sim.c of $ver no longer has the line to patch"
  sed -i 's/handle_simple_irq(irq_to_desc(irqnum));/generic_handle_irq(irqnum);/' "$m/irq_sim.c"
  echo 'MODULE_LICENSE("GPL");' >>"$m/irq_sim.c"
  printf '%s\n' 'obj-m := irq_sim.o gpio-sim.o gpio-mockup.o v4l2-mem2mem.o vicodec.o' \
    'vicodec-objs := vicodec-core.o codec-fwht.o codec-v4l2-fwht.o' >"$m/Kbuild"
  local hdr=$tmp/root/usr/src/linux-headers-$abi
  sed -i "s#^include /usr/src/#include $tmp/root/usr/src/#" "$hdr/Makefile"
  make -s -C "$hdr" M="$m" modules >"$tmp/make.log" 2>&1 || {
    cat "$tmp/make.log" >&2
    die "kernel: building gpio-sim/irq_sim/vicodec failed (gcc-12 and make installed? build/deps.sh vm)"
  }
  mkdir -p "$tmp/root/lib/modules/$abi/extra"
  cp "$m"/*.ko "$tmp/root/lib/modules/$abi/extra/"
  depmod -b "$tmp/root" -e -F "$tmp/root/boot/System.map-$abi" "$abi" 2>"$tmp/depmod.log"

  # The closure, dependencies first, as "file.ko params" lines for /init.
  mkdir -p "$tmp/out/modules"
  local mod line path name
  for mod in "${modules[@]}"; do
    modprobe -d "$tmp/root" -S "$abi" -D "$mod" || die "kernel: modprobe -D $mod: not in linux-image-$abi"
  done | awk '$1 == "insmod" && !seen[$2]++ {print $2}' >"$tmp/closure"
  if grep 'unknown symbol' "$tmp/depmod.log" | grep -qF -f <(sed 's#.*/##' "$tmp/closure"); then
    grep 'unknown symbol' "$tmp/depmod.log" | grep -F -f <(sed 's#.*/##' "$tmp/closure") | head >&2
    die "kernel: a module needs one from outside image_dirs in vmtest.sh: add its directory there"
  fi
  while read -r path; do
    cp "$path" "$tmp/out/modules/"
    name=$(basename "$path" .ko)
    case " ${noload[*]} " in *" $name "*) continue ;; esac
    echo "$name.ko ${modparams[$name]:-}"
  done <"$tmp/closure" >"$tmp/out/modules/load.order"
  mv "$tmp/vmlinux" "$tmp/out/vmlinux"
  echo "$ver" >"$tmp/out/version"
  kernel_recipe >"$tmp/out/recipe"
  # One kernel is kept: the older ones are gone from Debian's archive anyway.
  rm -rf "$(dirname "$kdir")"
  mkdir -p "$(dirname "$kdir")"
  mv "$tmp/out" "$kdir"
  entry_seal "$kdir"
  rm -rf "$tmp"
  local why
  why=$(kernel_ok "$kdir") || die "kernel: the kernel just made in $kdir $why"
}

# build_base makes the initramfs every run shares: busybox, the modules,
# ALSA's configuration and /init. Rebuilt only when one of them changes.
build_base() {
  local kdir=$1 out=$2 tmp
  tmp=$(mktemp -d "$cache/tmp.XXXXXX")
  local r=$tmp/root
  mkdir -p "$r"/{bin,sbin,usr/bin,usr/sbin,lib/modules,proc,sys,dev,tmp,run,root,etc,usr/share}
  cp /bin/busybox "$r/bin/busybox"
  local app
  for app in $("$r/bin/busybox" --list-full); do
    [ -e "$r/$app" ] || ln -s /bin/busybox "$r/$app"
  done
  cp "$kdir"/modules/* "$r/lib/modules/"
  cp -a /usr/share/alsa "$r/usr/share/alsa"
  printf 'root:x:0:0:root:/root:/bin/sh\n' >"$r/etc/passwd"
  printf 'root:x:0:\naudio:x:29:\nvideo:x:44:\n' >"$r/etc/group"
  printf '127.0.0.1 localhost\n::1 localhost\n' >"$r/etc/hosts"
  cp "$here/init" "$r/init"
  chmod 755 "$r/init"
  (cd "$r" && find . -print0 | sort -z | cpio --null -o -H newc -R 0:0 --quiet) >"$tmp/base.cpio"
  mv "$tmp/base.cpio" "$out"
  entry_seal "$out"
  rm -rf "$tmp"
  local why
  why=$(base_ok "$out") || die "initramfs: the base just made in $out $why"
}

# add_binary copies the binary $1 to $2 inside the run tree $3 with the
# shared libraries it needs (glibc, and whatever ldd lists).
add_binary() {
  local bin=$1 dest=$2 r=$3 lib
  mkdir -p "$r/$(dirname "$dest")"
  cp "$bin" "$r/$dest"
  add_libs "$bin" "$r"
}

# add_libs copies the shared libraries of $1 into the run tree $2.
add_libs() {
  local lib
  for lib in $(ldd "$1" 2>/dev/null | grep -o '/[^ ]*'); do
    [ -e "$2/$lib" ] && continue
    mkdir -p "$2/$(dirname "$lib")"
    cp -L "$lib" "$2/$lib"
  done
}

# build_run makes the per-run cpio for scenario $1 in work dir $2.
build_run() {
  local scenario=$1 w=$2 r=$2/run
  mkdir -p "$r/test/bin"
  case $scenario in
    smoke)
      CGO_ENABLED=1 go build -o "$w/smoke" "$repo/cmd/vmsmoke" || die "build: cmd/vmsmoke does not compile"
      add_binary "$w/smoke" test/bin/smoke "$r"
      ;;
    door | echo)
      CGO_ENABLED=1 go build -o "$w/smoke" "$repo/cmd/vmsmoke" || die "build: cmd/vmsmoke does not compile"
      CGO_ENABLED=1 go build -o "$w/client" "$repo/cmd/vmclient" || die "build: cmd/vmclient does not compile"
      CGO_ENABLED=1 go build -ldflags "-X main.version=vmtest" -o "$w/intercomd" "$repo/cmd/intercomd" ||
        die "build: cmd/intercomd does not compile"
      add_binary "$w/smoke" test/bin/smoke "$r"
      add_binary "$w/client" test/bin/client "$r"
      add_binary "$w/intercomd" test/bin/intercomd "$r"
      # The config a Pi gets from the package.
      cp "$repo/build/debian/intercomd.yaml" "$r/test/intercomd.yaml" ||
        die "build: build/debian/intercomd.yaml (the Pi's config) is missing"
      if [ "$scenario" = door ] && [ "${VMTEST_BROWSER:-1}" = 1 ]; then
        go test -c -tags vmtest -o "$w/browser.test" "$repo/build/vmtest/browser" ||
          die "build: build/vmtest/browser does not compile"
      fi
      ;;
    *) die "unknown scenario $scenario (smoke, door, echo)" ;;
  esac
  # malgo opens libasound with dlopen, so ldd cannot see it.
  add_libs /usr/lib/x86_64-linux-gnu/libasound.so.2 "$r"
  mkdir -p "$r/usr/lib/x86_64-linux-gnu"
  cp -L /usr/lib/x86_64-linux-gnu/libasound.so.2 "$r/usr/lib/x86_64-linux-gnu/"
  # The echo scenario is the door's with other calls.
  cp "$here/guest-${scenario/echo/door}.sh" "$r/test/run"
  chmod 755 "$r/test/run"
  (cd "$r" && find . -print0 | sort -z | cpio --null -o -H newc -R 0:0 --quiet) >"$w/run.cpio"
}

# free_port prints a port that nothing on this machine's 127.0.0.1 uses
# (TCP or UDP), picked at random so parallel runs do not collide.
free_port() {
  local p used
  used=$(ss -Htaun 2>/dev/null | awk '{print $5}' | sed 's/.*://' | sort -u)
  for _ in $(seq 50); do
    p=$((20000 + RANDOM % 40000))
    grep -qx "$p" <<<"$used" || { echo $p; return; }
  done
  echo $p
}

# host_step runs Chromium on the host against the door in the VM (ports
# $hport and $mport forwarded to it), then lets the guest go on through the
# forwarded control port $cport. Its result lines go to $1.
host_step() {
  local out=$1 log=$2
  say "door: Chromium on the host calls the door in the VM (https://127.0.0.1:$hport, media UDP $mport)"
  if "$work/door/browser.test" -test.run TestChromiumCallsDoorInVM -test.v -test.count=1 \
    -url "https://127.0.0.1:$hport" -password vmtest-door-password >"$out.raw" 2>&1; then
    grep -o 'VMTEST PASS browser: .*' "$out.raw" >"$out" || echo "VMTEST PASS browser: Chromium decoded the door's video" >"$out"
  else
    local why
    why=$(grep -E 'browser_test.go:[0-9]+: |panic:' "$out.raw" | grep -v 'VMTEST PASS' | sed 's/^ *//' | head -5 | paste -sd';' -)
    echo "VMTEST FAIL browser: Chromium on the host calling the door in the VM: ${why:-see the host: lines above}" >"$out"
  fi
  sed 's/^/host: /' "$out.raw" >&2
  # Let the guest go on; the forward accepts before the guest listens, so
  # repeat until the guest says it heard.
  local end=$((SECONDS + 60)) verdict=PASS
  grep -q '^VMTEST FAIL' "$out" && verdict=FAIL
  until grep -q '^VMTEST HOST-DONE' "$log"; do
    [ $SECONDS -lt $end ] || { echo "VMTEST FAIL vmtest: the guest never heard that the host step ended" >>"$out"; return; }
    (exec 3<>"/dev/tcp/127.0.0.1/$cport" && echo "$verdict" >&3) 2>/dev/null || true
    sleep 0.5
  done
}

# boot runs the VM for scenario $1 with initramfs $2 and writes the console
# to $3 (and the host step's results to $3.host).
boot() {
  local scenario=$1 initrd=$2 log=$3
  local hostfwd="" append="" hoststep=0
  # Two vCPUs, each on a host thread (multi-threaded TCG), their clock the
  # host's: the door, its client and Chromium on the host talk in real
  # time, at whatever speed the host gives the VM.
  local cpus=(-smp 2)
  : >"$log"
  : >"$log.host"
  if [ "$scenario" = door ]; then
    hport=$(free_port)
    mport=$(free_port)
    cport=$(free_port)
    [ "${VMTEST_BROWSER:-1}" = 1 ] && hoststep=1
    # The media port is forwarded for UDP and TCP: with restrict=on, slirp
    # delivers UDP from the host but drops the guest's replies (measured),
    # so Chromium's media reaches the door by ICE-TCP on the same port.
    hostfwd=",hostfwd=tcp:127.0.0.1:$hport-:443,hostfwd=udp:127.0.0.1:$mport-:$mport,hostfwd=tcp:127.0.0.1:$mport-:$mport"
    hostfwd+=",hostfwd=tcp:127.0.0.1:$cport-:7000"
    append="vmtest.mediaport=$mport vmtest.hoststep=$hoststep vmtest.client=${VMTEST_CLIENT:-1} vmtest.calls=door vmtest.loglevel=${VMTEST_LOG_LEVEL:-info}"
  elif [ "$scenario" = echo ]; then
    # The echo call needs the door to keep real time, which TCG on a
    # 2-core host did not (0.39 s of audio per second on an idle host,
    # 0.03 at a load of 17). With -icount the guest's clock advances 1 ns per
    # instruction (shift=0: a 1 GHz CPU, doing one instruction per cycle)
    # and jumps over idle time (sleep=off): the door, its sound card's
    # timers and the client all run on that clock, so the door keeps
    # real time if its work fits that CPU, and the host's load only
    # stretches the wall time. icount runs one vCPU thread (a second
    # vCPU hung at boot); nothing outside the VM takes part. icount exists
    # only under TCG, which is why every scenario runs TCG even on a host
    # with KVM: a faster host shortens the wall time, the guest's run is
    # the same.
    cpus=(-smp 1 -icount shift=0,sleep=off)
    append="vmtest.hoststep=0 vmtest.client=1 vmtest.calls=echo vmtest.loglevel=${VMTEST_LOG_LEVEL:-info}"
  fi
  qemu-system-x86_64 -nodefaults -no-user-config -machine pc,accel=tcg -cpu max "${cpus[@]}" -m 1536 \
    -display none -no-reboot -serial "file:$log" \
    -kernel "$vmlinux" -initrd "$initrd" \
    -append "console=ttyS0 quiet loglevel=3 panic=-1 vmtest.scenario=$scenario $append ${VMTEST_APPEND:-}" \
    -nic "user,model=virtio-net-pci,restrict=on$hostfwd" 2>"$log.qemu" &
  qpid=$!
  tail -n +1 -f --pid=$qpid "$log" | sed -u 's/^/guest: /' >&2 &
  local tailpid=$!
  local end=$((SECONDS + timeout)) stepped=0
  while kill -0 $qpid 2>/dev/null; do
    if [ $SECONDS -ge $end ]; then
      say "VM still running after ${timeout}s: stopping it"
      kill $qpid 2>/dev/null || true
      break
    fi
    if [ $hoststep = 1 ] && [ $stepped = 0 ] && grep -q '^VMTEST HOST-STEP' "$log"; then
      stepped=1
      host_step "$log.host" "$log"
    fi
    sleep 0.2
  done
  wait $qpid 2>/dev/null || true
  wait $tailpid 2>/dev/null || true
  if [ -s "$log.qemu" ]; then sed 's/^/qemu: /' "$log.qemu" >&2; fi
  if [ $hoststep = 1 ] && [ $stepped = 0 ] && ! grep -q '^VMTEST FAIL browser' "$log"; then
    echo "VMTEST FAIL browser: not run: the guest never reached the host step" >>"$log.host"
  fi
}

# report reads the console log $2 of scenario $1 and returns the guest's
# status, naming each device that failed.
report() {
  local scenario=$1 log=$2 status
  status=$(tr -d '\r' <"$log" | sed -n 's/^VMTEST-EXIT \([0-9]*\)$/\1/p' | tail -1)
  if [ -z "$status" ]; then
    echo "vmtest: $scenario: FAIL: the VM ended without reporting a status (kernel panic, crash or timeout); console tail:" >&2
    tail -n 30 "$log" | sed 's/^/  /' >&2
    echo "vmtest: $scenario: what had failed by then, by device:" >&2
    cat "$log" "$log.host" 2>/dev/null | tr -d '\r' | sed -n 's/^VMTEST FAIL /  /p' >&2
    return 1
  fi
  local fails
  fails=$(cat "$log" "$log.host" 2>/dev/null | tr -d '\r' | sed -n 's/^VMTEST FAIL //p')
  if [ "$status" -ne 0 ] || [ -n "$fails" ]; then
    echo "vmtest: $scenario: FAIL (status $status); what failed, by device:" >&2
    [ -n "$fails" ] && echo "$fails" | sed 's/^/  /' >&2
    [ "$status" -ne 0 ] || status=1
    return "$status"
  fi
  cat "$log.host" 2>/dev/null | sed 's/^/host: /' >&2
  echo "vmtest: $scenario: PASS: $(cat "$log" "$log.host" 2>/dev/null | tr -d '\r' | grep -c '^VMTEST PASS') checks" >&2
  return 0
}

# cleanup stops a VM still running and removes the work directory.
cleanup() {
  [ -z "${qpid:-}" ] || kill "$qpid" 2>/dev/null || true
  [ "${VMTEST_KEEP:-}" = 1 ] || [ -z "${work:-}" ] || rm -rf "$work"
}

main() {
  local scenarios=("$@")
  [ ${#scenarios[@]} -gt 0 ] || scenarios=(door echo)
  "$repo/build/deps.sh" vm
  # The door scenario's host step needs Chromium.
  case " ${scenarios[*]} " in *" door "*) [ "${VMTEST_BROWSER:-1}" = 1 ] && "$repo/build/deps.sh" test ;; esac
  mkdir -p "$cache"
  # Leftovers of runs that died while filling the cache.
  find "$cache" -maxdepth 1 -name 'tmp.*' -mmin +60 -exec rm -rf {} + 2>/dev/null || true
  local abi kdir
  abi=$(kernel_abi)
  kdir=$cache/kernel/$abi
  local why
  if ! why=$(kernel_ok "$kdir"); then
    [ ! -e "$kdir" ] || say "kernel: the cached $kdir $why: making it again"
    build_kernel "$abi" "$kdir"
  fi
  vmlinux=$kdir/vmlinux
  local key base
  key=$( (cat "$here/init" "$kdir/modules/load.order" /bin/busybox; echo "$abi") | sha256sum | cut -c1-16)
  base=$cache/base-$key.cpio
  if ! why=$(base_ok "$base"); then
    if [ -e "$base" ]; then
      say "initramfs: the cached $base $why: making it again"
    else
      say "initramfs: building the base (busybox, modules, ALSA config, /init)"
    fi
    rm -f "$cache"/base-*
    build_base "$kdir" "$base"
  fi
  work=$(mktemp -d "${TMPDIR:-/tmp}/intercomd-vmtest.XXXXXX")
  trap cleanup EXIT
  local s rc=0 one
  for s in "${scenarios[@]}"; do
    say "$s: building the test binaries"
    mkdir -p "$work/$s"
    build_run "$s" "$work/$s"
    cat "$base" "$work/$s/run.cpio" >"$work/$s/initrd.cpio"
    say "$s: booting Linux $abi (QEMU TCG)"
    boot "$s" "$work/$s/initrd.cpio" "$work/$s/console.log"
    one=0
    report "$s" "$work/$s/console.log" || one=$?
    [ $one -eq 0 ] || rc=$one
  done
  [ "${VMTEST_KEEP:-}" = 1 ] && say "work directory kept: $work"
  local passed failed
  passed=$(cat "$work"/*/console.log "$work"/*/console.log.host 2>/dev/null | tr -d '\r' | grep -c '^VMTEST PASS' || true)
  failed=$(cat "$work"/*/console.log "$work"/*/console.log.host 2>/dev/null | tr -d '\r' | grep -c '^VMTEST FAIL' || true)
  [ $rc -eq 0 ] || [ "$failed" -gt 0 ] || failed=1
  say "done in $((SECONDS - t0)) s (status $rc)"
  # A check the VM was too slow to judge says so (VMTEST SKIP); it fails
  # nothing on a developer's machine, but CI (CI=true) takes no skip.
  local skipped
  skipped=$(cat "$work"/*/console.log 2>/dev/null | tr -d '\r' | grep '^VMTEST SKIP' || true)
  [ -z "$skipped" ] || echo "$skipped" | sed 's/^VMTEST SKIP /vmtest: not judged: /'
  echo "vmtest: $passed passed, $failed failed, $(grep -c . <<<"$skipped" || true) not judged"
  if [ -n "$skipped" ] && [ "${CI:-}" = true ] && [ $rc -eq 0 ]; then
    echo "vmtest: CI=true: a check not judged fails the run"
    rc=1
  fi
  return $rc
}

# Sourced (build/cache-test.sh), it only defines the functions.
[ "${BASH_SOURCE[0]}" != "$0" ] || main "$@"
