#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Smoke test under a real systemd: socket activation of the hello example
# through hello@.socket / hello@.service (Type=notify), with a FastCGI request
# sent from the host through the container's unix socket.
#
#   tests/systemd/smoke.sh [HELLO [LIBSFCGI]]
#
# HELLO defaults to build/examples/hello; LIBSFCGI (a libsfcgi.so.* file, or
# the directory holding them) to build/src. Needs root; exits 77 (skip) if not.

set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
hello=${1:-${SFCGI_HELLO:-$top/build/examples/hello}}
lib=${2:-${SFCGI_LIBDIR:-$top/build/src}}
# The distribution's python starts in ~20 ms; a pyenv shim first on PATH takes ~150.
python=${PYTHON:-$( [ -x /usr/bin/python3 ] && echo /usr/bin/python3 || echo python3)}

if [ "$(id -u)" != 0 ]; then
	echo "SKIP: needs root (mounts, cgroups, systemd-nspawn)"
	exit 77
fi
[ -x "$hello" ] || { echo "FAIL: $hello not built" >&2; exit 1; }
if [ -d "$lib" ]; then
	libs=()
	for f in "$lib"/libsfcgi.so.*; do
		[ -f "$f" ] && [ ! -L "$f" ] && libs+=("$f")
	done
else
	libs=("$lib")
fi
if [ ${#libs[@]} = 0 ] || [ ! -f "${libs[0]}" ]; then
	echo "FAIL: no libsfcgi.so.* in $lib" >&2
	exit 1
fi

# shellcheck source=lib.sh
. "$here/lib.sh"

phase_t=
phase() { phase_t=$(sd__now); printf '== %s\n' "$*"; }
done_phase() { printf '   %-34s %6d ms\n' "$1" $(($(sd__now) - phase_t)); }

unit=hello@demo.service
fail() {
	echo "FAIL: $*" >&2
	if [ -n "${SD_LEADER:-}" ]; then
		sd_run systemctl --no-pager status hello@demo.socket "$unit" >&2 || true
		sd_journal "$unit" || true
	fi
	exit 1
}

phase "prepare overlay, install hello + libsfcgi"
sd_prepare smoke
sd_install_bin "$hello" /usr/local/bin/hello
sd_install_lib "${libs[@]}"
done_phase "prepare + install"

phase "boot systemd"
sd_start
done_phase "boot (to is-system-running)"

phase "install units, start hello@demo.socket"
sd_write_file /etc/systemd/system/hello@.socket <<'EOF'
[Unit]
Description=sfcgi hello example socket (%i)

[Socket]
ListenStream=/run/sfcgi/%i.sock
FileDescriptorName=fastcgi
SocketMode=0666

[Install]
WantedBy=sockets.target
EOF
sd_write_file /etc/systemd/system/hello@.service <<'EOF'
[Unit]
Description=sfcgi hello example (%i)
Requires=hello@%i.socket
After=hello@%i.socket

[Service]
Type=notify
ExecStart=/usr/local/bin/hello --fdname fastcgi
EOF
sd_run systemctl daemon-reload
sd_run systemctl start hello@demo.socket || fail "systemctl start hello@demo.socket"
done_phase "daemon-reload + start socket"

state=$(sd_run systemctl is-active hello@demo.socket || true)
[ "$state" = active ] || fail "hello@demo.socket is $state, expected active"
state=$(sd_run systemctl is-active "$unit" || true)
[ "$state" = inactive ] || fail "$unit is $state before any connection, expected inactive"
sock=$(sd_path /run/sfcgi/demo.sock)
[ -S "$sock" ] || fail "$sock is not a socket"

phase "first request (socket activation)"
out=$("$python" "$here/fcgi_client.py" --timing "$sock" REQUEST_URI=/smoke) || fail "FastCGI request failed: $out"
done_phase "first request via activation"
printf '%s\n' "$out" | sed 's/^/   | /'
case $out in
*"Hello from sfcgi"*) ;;
*) fail "response lacks 'Hello from sfcgi'" ;;
esac
state=$(sd_run systemctl is-active "$unit" || true)
[ "$state" = active ] || fail "$unit is $state after the request, expected active (READY=1 not honoured?)"
mainpid=$(sd_run systemctl show -P MainPID "$unit")
[ "$mainpid" -gt 0 ] || fail "$unit has no MainPID"

phase "second request (already running)"
out=$("$python" "$here/fcgi_client.py" --timing "$sock") || fail "second FastCGI request failed: $out"
[[ $out == *"Hello from sfcgi"* ]] || fail "second response lacks 'Hello from sfcgi'"
done_phase "second request"
[ "$(sd_run systemctl show -P MainPID "$unit")" = "$mainpid" ] || fail "$unit changed MainPID between requests"

phase "stop"
sd_run systemctl stop hello@demo.socket "$unit" || fail "systemctl stop"
state=$(sd_run systemctl is-active "$unit" || true)
[ "$state" = inactive ] || fail "$unit is $state after stop, expected inactive"
result=$(sd_run systemctl show -P Result "$unit")
[ "$result" = success ] || fail "$unit Result=$result after stop, expected success"
done_phase "stop service + socket"

phase "teardown"
name=$SD_NAME tmp=$SD_TMP
sd_teardown
done_phase "teardown"
if grep -F "$name" /proc/mounts || [ -e "$tmp" ] ||
	[ -n "$(find /sys/fs/cgroup -maxdepth 4 -name "*$name" 2>/dev/null)" ]; then
	echo "FAIL: $name left mounts, cgroups or $tmp behind" >&2
	exit 1
fi
echo "PASS: boot ${SD_BOOT_MS} ms, teardown ${SD_TEARDOWN_MS} ms"
