#!/usr/bin/env bash
# Installs, upgrades, removes and purges an intercomd .deb with dpkg in a
# minimal Debian bookworm chroot (mmdebstrap, cached), so the maintainer
# scripts run for real: the system user and its groups, the config's
# permissions, the service's enablement, what remove keeps and purge deletes,
# and the refusal on an ARMv6 Pi. Needs root (chroot). No systemd runs in the
# chroot, so starting and stopping are left to the postinst's
# [ -d /run/systemd/system ] guard, as in any image build.
#
# Usage: build/dist-install-test.sh dist/intercomd_VERSION_ARCH.deb
set -euo pipefail
cd "$(dirname "$0")/.."

fail() { echo "dist-install-test: FAIL: $*" >&2; exit 1; }
say() { echo "dist-install-test: $*"; }

deb=${1:?usage: $0 PACKAGE.deb}
[ -f "$deb" ] || fail "no package $deb"
[ "$(id -u)" -eq 0 ] || fail "needs root for chroot (run it with sudo)"
command -v mmdebstrap >/dev/null || fail "mmdebstrap missing: build/deps.sh dist installs it"

cache=${XDG_CACHE_HOME:-$HOME/.cache}/intercomd
base=$cache/bookworm-minbase.tar
if [ ! -s "$base" ]; then
  say "making a bookworm chroot (once; cached in $base)"
  mkdir -p "$cache"
  mmdebstrap --quiet --variant=minbase --include=adduser,init-system-helpers --mode=root \
    bookworm "$base.part" || fail "mmdebstrap could not make a bookworm chroot"
  mv "$base.part" "$base"
fi

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
tar -C "$root" -xf "$base"
cp "$deb" "$root/tmp/intercomd.deb"
inroot() { chroot "$root" "$@"; }
# The package is for ARM and this chroot is not: only the scripts are tested.
dpkg_i() { inroot dpkg --force-architecture --force-depends -i /tmp/intercomd.deb; }
status() { inroot dpkg-query -W -f='${Status}' intercomd 2>/dev/null || true; }

# An ARMv6 Pi (uname -m armv6l) is refused before anything is unpacked.
printf '#!/bin/sh\necho armv6l\n' > "$root/usr/local/bin/uname"
chmod 755 "$root/usr/local/bin/uname"
if out=$(dpkg_i 2>&1); then fail "installed on an ARMv6 CPU"; fi
grep -q 'needs an ARMv7 or newer CPU' <<< "$out" || { echo "$out" >&2; fail "ARMv6 refusal without its message"; }
[ ! -e "$root/usr/bin/intercomd" ] || fail "the ARMv6 refusal left /usr/bin/intercomd behind"
rm "$root/usr/local/bin/uname"
say "ARMv6 refused"

# Install.
dpkg_i >/dev/null 2>&1 || { dpkg_i; fail "dpkg -i failed"; }
[ "$(status)" = "install ok installed" ] || fail "status after install: $(status)"
passwd=$(inroot getent passwd intercomd) || fail "no user intercomd"
IFS=: read -r _ _ uid _ _ home shell <<< "$passwd"
[ "$uid" -lt 1000 ] || fail "intercomd is not a system user (uid $uid)"
[ "$home" = /var/lib/intercomd ] || fail "intercomd's home is $home"
[[ $shell == */nologin ]] || fail "intercomd's shell is $shell, want nologin"
groups=" $(inroot id -nG intercomd) "
for g in intercomd video audio gpio; do
  [[ $groups == *" $g "* ]] || fail "intercomd is not in group $g (groups:$groups)"
done
perm=$(inroot stat -c '%U:%G %a' /etc/intercomd/intercomd.yaml)
[ "$perm" = "root:intercomd 640" ] || fail "/etc/intercomd/intercomd.yaml is $perm, want root:intercomd 640"
wants=/etc/systemd/system/multi-user.target.wants/intercomd.service
[ "$(readlink "$root$wants")" = /lib/systemd/system/intercomd.service ] || fail "service not enabled ($wants)"
say "install: system user $uid in groups$(tr -s ' ' <<< "${groups% }" | sed 's/ /, /2g'); config root:intercomd 640; service enabled"

# Upgrade (reinstall: postinst configure with the old version) keeps an
# admin's "systemctl disable", which removes the symlink.
rm "$root$wants"
dpkg_i >/dev/null 2>&1 || { dpkg_i; fail "upgrade failed"; }
[ ! -e "$root$wants" ] || fail "upgrade enabled the service the admin disabled"
[ "$(inroot stat -c '%U:%G %a' /etc/intercomd/intercomd.yaml)" = "root:intercomd 640" ] || fail "upgrade lost the config's permissions"
say "upgrade: ok, the admin's disable kept"

# Remove keeps the config (with the admin's edit) and the state.
echo "# edited on the Pi" >> "$root/etc/intercomd/intercomd.yaml"
mkdir -p "$root/var/lib/intercomd" && echo hash > "$root/var/lib/intercomd/password"
inroot dpkg -r intercomd >/dev/null 2>&1 || { inroot dpkg -r intercomd; fail "dpkg -r failed"; }
[ "$(status)" = "deinstall ok config-files" ] || fail "status after remove: $(status)"
[ ! -e "$root/usr/bin/intercomd" ] || fail "remove left /usr/bin/intercomd"
grep -q "edited on the Pi" "$root/etc/intercomd/intercomd.yaml" || fail "remove lost the edited config"
[ -f "$root/var/lib/intercomd/password" ] || fail "remove lost the state"
say "remove: binary gone, config and state kept"

# Purge deletes both; the user stays (Debian practice).
inroot dpkg -P intercomd >/dev/null 2>&1 || { inroot dpkg -P intercomd; fail "dpkg -P failed"; }
[ -z "$(status)" ] || [ "$(status)" = "unknown ok not-installed" ] || fail "status after purge: $(status)"
[ ! -e "$root/etc/intercomd" ] || fail "purge left /etc/intercomd"
[ ! -e "$root/var/lib/intercomd" ] || fail "purge left /var/lib/intercomd"
[ -z "$(inroot dpkg-statoverride --list /etc/intercomd/intercomd.yaml)" ] || fail "purge left the statoverride"
say "purge: /etc/intercomd, /var/lib/intercomd and the statoverride gone"
