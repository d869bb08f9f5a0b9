#!/usr/bin/env bash
# Installs an intercomd .deb in a Debian bookworm container booted with systemd
# (systemd-nspawn; systemd 252, the one of Raspberry Pi OS bookworm), so the
# maintainer scripts and intercomd.service run for real: apt resolves Depends;
# the system user, its groups and the config's permissions; the service enabled,
# started and READY (Type=notify) inside its whole sandbox, serving HTTPS on 443
# and redirecting 80, as intercomd with only CAP_NET_BIND_SERVICE; watchdog
# pings; the self-check as the intercomd user; restart on upgrade; an admin's
# disable kept; stop on remove with config and state kept; purge deletes them;
# an ARMv6 CPU refused.
#
# The container is this machine's architecture, so it takes the amd64 build
# (build/dist.sh amd64); its maintainer scripts and unit are the ARM packages'
# own files, which dist-test.sh checks are byte-identical.
#
# Usage: build/dist-systemd-test.sh dist/intercomd_VERSION_amd64.deb   (as root)
set -euo pipefail
cd "$(dirname "$0")/.."

fail() { echo "dist-systemd-test: FAIL: $*" >&2; exit 1; }
say() { echo "dist-systemd-test: $*"; }

deb=${1:?usage: $0 PACKAGE_amd64.deb}
[ -f "$deb" ] || fail "no package $deb"
[ "$(id -u)" -eq 0 ] || fail "needs root for systemd-nspawn (run it with sudo)"
for tool in mmdebstrap systemd-nspawn; do
  command -v "$tool" >/dev/null || fail "$tool missing: build/deps.sh dist installs it"
done

cache=${XDG_CACHE_HOME:-$HOME/.cache}/intercomd
base=$cache/bookworm-systemd.tar
# shellcheck source=cache.sh
. build/cache.sh
# image_ok prints why the image $1 cannot be used and fails, or succeeds
# silently: whole (build/cache.sh), and a tar with systemd and apt in it.
image_ok() {
  local why list
  why=$(entry_check "$1") || { echo "$why"; return 1; }
  list=$(tar -tf "$1" 2>/dev/null) || { echo "is not a tar archive"; return 1; }
  grep -qx -e './usr/lib/systemd/systemd' -e 'usr/lib/systemd/systemd' <<<"$list" || { echo "has no systemd"; return 1; }
  grep -qx -e './usr/bin/apt-get' -e 'usr/bin/apt-get' <<<"$list" || { echo "has no apt-get"; return 1; }
}
if ! why=$(image_ok "$base"); then
  if [ -e "$base" ]; then
    say "the cached image $base $why: making it again"
    rm -rf "$base" "$base.sha256"
  else
    say "making a bookworm image with systemd (once; cached in $base)"
  fi
  mkdir -p "$cache"
  # mmdebstrap picks its output format from the file name: the partial file
  # must end in .tar, or it writes a directory.
  # Each run its own partial file, so two runs at once do not mix theirs.
  part=$cache/bookworm-systemd.$$.part.tar
  find "$cache" -maxdepth 1 -name 'bookworm-systemd.*.part.tar' -mmin +60 -exec rm -rf {} + 2>/dev/null || true
  mmdebstrap --quiet --variant=minbase --mode=root \
    --include=systemd,systemd-sysv,dbus,adduser,init-system-helpers,libasound2,curl,ca-certificates \
    bookworm "$part" || { rm -rf "$part"; fail "mmdebstrap could not make the image"; }
  [ -f "$part" ] || { rm -rf "$part"; fail "mmdebstrap wrote no tar file at $part"; }
  mv "$part" "$base"
  entry_seal "$base"
  why=$(image_ok "$base") || fail "the image just made in $base $why"
fi

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
tar -C "$root" -xf "$base"
mkdir -p "$root/pkg" "$root/result"
cp "$deb" "$root/pkg/intercomd.deb"

# The test runs inside, as a unit started at boot, and powers the container off.
cat > "$root/etc/systemd/system/intercomd-pkg-test.service" <<'EOF'
[Unit]
Description=intercomd package test
After=multi-user.target

[Service]
Type=oneshot
ExecStart=/usr/local/bin/intercomd-pkg-test
TimeoutStartSec=infinity

[Install]
WantedBy=multi-user.target
EOF
ln -s /etc/systemd/system/intercomd-pkg-test.service "$root/etc/systemd/system/multi-user.target.wants/"

cat > "$root/usr/local/bin/intercomd-pkg-test" <<'EOF'
#!/bin/sh
set -u
exec >/result/log 2>&1
export DEBIAN_FRONTEND=noninteractive
ok() { echo "ok: $*"; }
fail() {
	echo "FAIL: $*"
	systemctl --no-pager status intercomd
	journalctl --no-pager -u intercomd | tail -n 40
	echo FAIL >/result/status
	systemctl --no-block poweroff
	exit 1
}
# until CMD...: polls CMD for up to 30 s.
until_ok() {
	i=0
	while ! "$@" >/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -lt 300 ] || return 1
		sleep 0.1
	done
}
prop() { systemctl show -p "$1" --value intercomd; }
install_pkg() { apt-get install -y -q --no-install-recommends --reinstall /pkg/intercomd.deb; }

# (dpkg, not apt: apt runs dpkg with its own PATH, without /usr/local/bin.)
printf '#!/bin/sh\necho armv6l\n' >/usr/local/bin/uname && chmod 755 /usr/local/bin/uname
out=$(dpkg -i /pkg/intercomd.deb 2>&1) && fail "installed on an ARMv6 CPU"
[ ! -e /usr/bin/intercomd ] || fail "the ARMv6 refusal left /usr/bin/intercomd behind"
echo "$out" | grep -q 'needs an ARMv7 or newer CPU' || fail "ARMv6 refused without the message: $out"
rm /usr/local/bin/uname
ok "ARMv6 refused"

install_pkg || fail "apt-get install ./intercomd.deb"
[ "$(systemctl is-enabled intercomd)" = enabled ] || fail "not enabled after install"
[ "$(systemctl is-active intercomd)" = active ] || fail "not active after install (Type=notify: READY)"
journalctl --no-pager -u intercomd | grep -q 'told systemd we are ready' || fail "no READY in the log"
ok "installed: enabled, started, READY"

id -nG intercomd | tr ' ' '\n' | grep -qx gpio || fail "intercomd not in group gpio: $(id -nG intercomd)"
[ "$(stat -c '%U:%G %a' /etc/intercomd/intercomd.yaml)" = "root:intercomd 640" ] || fail "config permissions"
pid=$(prop MainPID)
status=/proc/$pid/status
[ "$(awk '/^Uid:/ { print $2 }' "$status")" = "$(id -u intercomd)" ] || fail "main process not running as intercomd"
[ "$(awk '/^CapEff:/ { print $2 }' "$status")" = 0000000000000400 ] || fail "capabilities $(grep Cap "$status")"
[ "$(awk '/^NoNewPrivs:/ { print $2 }' "$status")" = 1 ] || fail "NoNewPrivs not set"
[ "$(awk '/^Seccomp:/ { print $2 }' "$status")" = 2 ] || fail "no seccomp filter"
ok "runs as intercomd ($(id -nG intercomd)), CapEff only CAP_NET_BIND_SERVICE, NoNewPrivs, seccomp"

until_ok curl -sfk https://localhost/healthz || fail "no HTTPS on 443"
curl -sfk https://localhost/healthz | grep -q '"device"' || fail "healthz: $(curl -sk https://localhost/healthz)"
code=$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' http://localhost/)
case $code in 30[1278]\ https://*) ;; *) fail "http://localhost/ answered '$code', want a redirect to https" ;; esac
ok "HTTPS on 443 answers /healthz; port 80 redirects ($code)"

out=$(runuser -u intercomd -- intercomd -selfcheck -config /etc/intercomd/intercomd.yaml \
	-camera test -mic test -speaker test -gpio none 2>&1) || fail "self-check as intercomd: $out"
ok "self-check as the intercomd user: $(echo "$out" | tail -n 1)"

mkdir -p /etc/systemd/system/intercomd.service.d
printf '[Service]\nWatchdogSec=3\n' >/etc/systemd/system/intercomd.service.d/watchdog.conf
systemctl daemon-reload && systemctl restart intercomd || fail "restart with WatchdogSec=3"
pinged_since() { [ "$(prop WatchdogTimestampMonotonic)" != "$1" ]; }
w1=$(prop WatchdogTimestampMonotonic)
until_ok pinged_since "$w1" || fail "no watchdog ping within 30 s"
w2=$(prop WatchdogTimestampMonotonic)
until_ok pinged_since "$w2" || fail "watchdog pings stopped"
[ "$(prop NRestarts)" = 0 ] && [ "$(systemctl is-active intercomd)" = active ] || fail "watchdog killed it"
rm -r /etc/systemd/system/intercomd.service.d && systemctl daemon-reload
ok "watchdog pings arrive (WatchdogSec=3 drop-in)"

inv=$(prop InvocationID)
install_pkg || fail "upgrade"
[ "$(prop InvocationID)" != "$inv" ] && [ "$(systemctl is-active intercomd)" = active ] || fail "upgrade did not restart"
ok "upgrade restarted the service"

systemctl disable -q intercomd
install_pkg || fail "upgrade after disable"
[ "$(systemctl is-enabled intercomd)" = disabled ] || fail "upgrade enabled the service the admin disabled"
ok "upgrade keeps the admin's disable"

echo "# edited on the Pi" >>/etc/intercomd/intercomd.yaml
dpkg -r intercomd || fail "dpkg -r"
[ "$(systemctl is-active intercomd)" != active ] || fail "still running after remove"
grep -q "edited on the Pi" /etc/intercomd/intercomd.yaml || fail "remove lost the edited config"
[ -n "$(ls -A /var/lib/intercomd)" ] || fail "remove lost the state (certificate)"
ok "remove: stopped; config and state ($(ls /var/lib/intercomd | tr '\n' ' ')) kept"

dpkg -P intercomd || fail "dpkg -P"
[ ! -e /etc/intercomd ] && [ ! -e /var/lib/intercomd ] || fail "purge left /etc/intercomd or /var/lib/intercomd"
ok "purge: /etc/intercomd and /var/lib/intercomd gone"

echo PASS >/result/status
systemctl --no-block poweroff
EOF
chmod 755 "$root/usr/local/bin/intercomd-pkg-test"

# A private network: ports 443 and 80 inside are the container's own.
timeout 600 systemd-nspawn --quiet --directory="$root" --private-network --register=no --keep-unit \
  --boot >"$root/result/console" 2>&1 || true
status=$(cat "$root/result/status" 2>/dev/null || echo "none")
sed 's/^/dist-systemd-test: /' "$root/result/log" 2>/dev/null || true
if [ "$status" != PASS ]; then
  tail -n 30 "$root/result/console" >&2
  fail "the package test in the container ended with status $status (its log and console above)"
fi
say "all checks passed under systemd $(awk '/^Package: systemd$/ { f = 1 } f && /^Version:/ { print $2; exit }' \
  "$root/var/lib/dpkg/status")"
