#!/usr/bin/env bash
# Static checks of the unit templates with systemd's own tools:
# `systemd-analyze verify` must be silent, and `systemd-analyze security`
# must rate app@.service at or below the exposure the project promises.
# Usage: check-units.sh BUILD_UNITS_DIR SOURCE_UNITS_DIR SFCGI_BINARY
set -u
built=$1 src=$2 tool=$3
max_exposure=1.0
dir=$(mktemp -d /tmp/sfcgi-units-XXXXXX)
trap 'rm -rf "$dir"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok - $*"; }
not_ok() { fail=$((fail + 1)); echo "not ok - $*"; }

# ExecStart= must name an executable: point it at the built tool.
mkdir -p "$dir/system" "$dir/user"
sed -E "s#^Exec(Start|Reload)=[^ ]*/sfcgi #Exec\1=$tool #" "$built/app@.service" >"$dir/system/app@.service"
cp "$src/app@.socket" "$src/app-status@.socket" "$dir/system/"
sed -E "s#^Exec(Start|Reload)=[^ ]*/sfcgi #Exec\1=$tool #" "$built/user-app@.service" >"$dir/user/app@.service"
cp "$src/user/app@.socket" "$src/user/app-status@.socket" "$dir/user/"

for kind in system user; do
	flag=
	[ "$kind" = user ] && flag=--user
	mkdir -p "$dir/run"
	out=$(cd "$dir/$kind" && XDG_RUNTIME_DIR="$dir/run" systemd-analyze verify $flag --man=no \
		app@wiki.socket app-status@wiki.socket app@wiki.service 2>&1)
	rc=$?
	if [ $rc = 0 ] && [ -z "$out" ]; then
		ok "$kind units: systemd-analyze verify is silent"
	else
		not_ok "$kind units: systemd-analyze verify (exit $rc): $out"
	fi
done

out=$(systemd-analyze security --offline=true "$dir/system/app@.service" 2>&1)
level=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' <<<"$out")
echo "# app@.service exposure: ${level:-?}"
if [ -n "$level" ] && awk -v l="$level" -v m="$max_exposure" 'BEGIN { exit !(l <= m) }'; then
	ok "app@.service exposure $level <= $max_exposure"
else
	not_ok "app@.service exposure ${level:-unknown} > $max_exposure"
	echo "$out" | grep '✗' | head -20
fi
grep -q '^ExecReload=[^ ]*/sfcgi reload --pid \$MAINPID %i$' "$dir/system/app@.service" &&
	ok "reload waits for the outcome (sfcgi reload)" || not_ok "ExecReload"
grep -q '^RuntimeDirectory=sfcgi/%i$' "$dir/system/app@.service" &&
	ok "RuntimeDirectory= for the reload outcome" || not_ok "RuntimeDirectory"
grep -q '^User=sfcgi-%i$' "$dir/system/app@.service" &&
	ok "a dynamic user per instance (User=sfcgi-%i)" || not_ok "User=sfcgi-%i"
grep -q '^FileDescriptorName=fastcgi' "$dir/system/app@.socket" &&
	ok "socket named fastcgi" || not_ok "FileDescriptorName"

# The status socket (issue 13): its own unit, root's only, handed to the
# service as "status", started and enabled with app@.socket.
for kind in system user; do
	f=$dir/$kind/app-status@.socket
	grep -q '^FileDescriptorName=status$' "$f" && grep -q '^SocketMode=0600$' "$f" &&
		grep -q '^Service=app@%i.service$' "$f" &&
		ok "$kind: app-status@.socket named status, mode 0600, for app@%i.service" ||
		not_ok "$kind: app-status@.socket (FileDescriptorName=status, SocketMode=0600, Service=)"
	grep -q '^Wants=app-status@%i.socket$' "$dir/$kind/app@.socket" &&
		grep -q '^Also=app-status@%i.socket$' "$dir/$kind/app@.socket" &&
		ok "$kind: app@.socket pulls in and enables app-status@.socket" ||
		not_ok "$kind: app@.socket lacks Wants=/Also=app-status@%i.socket"
done
grep -q '^ListenStream=/run/sfcgi/%i.status.sock$' "$dir/system/app-status@.socket" &&
	grep -q '^SocketUser=root$' "$dir/system/app-status@.socket" &&
	ok "system: /run/sfcgi/%i.status.sock, owner root" || not_ok "system: status socket path/owner"

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
