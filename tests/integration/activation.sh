#!/usr/bin/env bash
# Where the listening socket comes from, each with the real component:
# systemd-socket-activate (LISTEN_FDS/LISTEN_FDNAMES), --listen on unix,
# IPv4 and IPv6, spawn-fcgi (a listening socket on fd 0), plus sd_notify
# READY/STOPPING, FCGI_WEB_SERVER_ADDRS, graceful SIGTERM and option errors.
# Usage: activation.sh HELLO ECHO SFCGI_TOOL
set -u
HELLO=$1 ECHO=$2 TOOL=$3
dir=$(mktemp -d /tmp/sfcgi-act-XXXXXX)
pids=()
pass=0 fail=0

cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	[ "$fail" = 0 ] && rm -rf "$dir" || echo "# logs kept in $dir"
}
trap cleanup EXIT

ok() { pass=$((pass + 1)); echo "ok - $*"; }
not_ok() { fail=$((fail + 1)); echo "not ok - $*"; }
check() { # check NAME CMD...: passes when CMD succeeds
	local name=$1
	shift
	if "$@"; then ok "$name"; else not_ok "$name"; fi
}
wait_for() { # wait_for PATH: a socket file appears (3 s)
	for _ in $(seq 300); do [ -S "$1" ] && return 0; sleep 0.01; done
	return 1
}
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
says_hello() { # says_hello ADDRESS
	"$TOOL" request -t 5 "$1" / 2>>"$dir/tool.err" | grep -q "Hello from sfcgi"
}

# 1. systemd-socket-activate: LISTEN_FDS with FileDescriptorName=
systemd-socket-activate -l "$dir/sa.sock" --fdname=fastcgi \
	"$HELLO" --fdname fastcgi 2>"$dir/sa.log" &
pids+=($!)
wait_for "$dir/sa.sock"
check "systemd-socket-activate: served through LISTEN_FDS" says_hello "$dir/sa.sock"
check "systemd-socket-activate: second request on the same instance" says_hello "$dir/sa.sock"

# 2. Two named sockets: only the one named --fdname is served
systemd-socket-activate -l "$dir/a.sock" -l "$dir/b.sock" --fdname=fastcgi:other \
	"$HELLO" --fdname fastcgi 2>"$dir/two.log" &
pids+=($!)
wait_for "$dir/b.sock"
check "two sockets: the named one serves" says_hello "$dir/a.sock"
check "two sockets: the other one is closed and logged" \
	grep -q "fd 4 (other): not named fastcgi, closed" "$dir/two.log"

# 3. No socket of that name: a clear error, the app exits
systemd-socket-activate -l "$dir/n.sock" --fdname=web "$HELLO" --fdname fastcgi \
	2>"$dir/n.log" &
pids+=($!)
wait_for "$dir/n.sock"
"$TOOL" request -t 2 "$dir/n.sock" / >/dev/null 2>&1
sleep 0.2
check "wrong fdname: error names FileDescriptorName=" \
	grep -q 'none of the 1 socket(s) passed by systemd is named "fastcgi"' "$dir/n.log"

# 4. --listen on a unix path, IPv4 and IPv6
"$HELLO" --listen "$dir/l.sock" 2>"$dir/l.log" &
pids+=($!)
wait_for "$dir/l.sock"
check "--listen unix path" says_hello "$dir/l.sock"
port=$(free_port)
"$HELLO" --listen "127.0.0.1:$port" 2>"$dir/v4.log" &
pids+=($!)
sleep 0.3
check "--listen 127.0.0.1:PORT" says_hello "127.0.0.1:$port"
if [ -e /proc/net/if_inet6 ]; then
	port6=$(free_port)
	"$HELLO" --listen "[::1]:$port6" 2>"$dir/v6.log" &
	pids+=($!)
	sleep 0.3
	check "--listen [::1]:PORT" says_hello "[::1]:$port6"
else
	echo "ok - --listen [::1]:PORT # SKIP no IPv6 on this machine"
fi

# 5. A second instance on a live socket is refused; a stale socket file is reused
"$HELLO" --listen "$dir/l.sock" 2>"$dir/dup.log"
check "--listen on a live socket: refused with a reason" \
	grep -q "another process is listening there" "$dir/dup.log"
python3 -c "import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])" "$dir/stale.sock"
"$HELLO" --listen "$dir/stale.sock" 2>"$dir/stale.log" &
pids+=($!)
sleep 0.3
check "--listen on a stale socket file: taken over" says_hello "$dir/stale.sock"

# 6. spawn-fcgi: the listening socket on fd 0 (FCGI_LISTENSOCK_FILENO)
spawn-fcgi -n -s "$dir/sp.sock" -- "$HELLO" 2>"$dir/sp.log" &
pids+=($!)
wait_for "$dir/sp.sock"
check "spawn-fcgi: served from fd 0" says_hello "$dir/sp.sock"

# 7. No socket at all: exit 1 and say how to give one
"$HELLO" </dev/null 2>"$dir/none.log"
rc=$?
check "no socket: exit status 1" test "$rc" = 1
check "no socket: the error says what to do" grep -q "no listening socket: start me from" "$dir/none.log"

# 8. Option errors
"$HELLO" --set max_conns=0 --listen "$dir/x.sock" 2>"$dir/opt.log"
check "--set out of range: exit 1" test $? = 1
check "--set out of range: names the key and range" grep -q "max_conns=0: out of range (allowed 1..65536)" "$dir/opt.log"
"$HELLO" --set nope=1 2>"$dir/opt2.log"
check "--set unknown key: rejected" grep -q "nope=1: unknown key" "$dir/opt2.log"
"$HELLO" --set read_timeout=0 2>"$dir/opt3.log"
check "--set seconds out of range: the range in seconds" grep -q "read_timeout=0: out of range (allowed 0.001..86400 seconds)" "$dir/opt3.log"
"$HELLO" --help | grep -q "read_timeout" && ok "--help lists the limits" || not_ok "--help lists the limits"

# 9. FCGI_WEB_SERVER_ADDRS on a TCP listener
port=$(free_port)
FCGI_WEB_SERVER_ADDRS=192.0.2.1 "$HELLO" --listen "127.0.0.1:$port" 2>"$dir/wsa.log" &
pids+=($!)
sleep 0.3
if says_hello "127.0.0.1:$port"; then not_ok "FCGI_WEB_SERVER_ADDRS: foreign address refused"; else ok "FCGI_WEB_SERVER_ADDRS: foreign address refused"; fi
check "FCGI_WEB_SERVER_ADDRS: refusal logged" grep -q "refused a connection from 127.0.0.1" "$dir/wsa.log"
port=$(free_port)
FCGI_WEB_SERVER_ADDRS=192.0.2.1,127.0.0.1 "$HELLO" --listen "127.0.0.1:$port" 2>"$dir/wsa2.log" &
pids+=($!)
sleep 0.3
check "FCGI_WEB_SERVER_ADDRS: listed address served" says_hello "127.0.0.1:$port"

# 10. sd_notify READY=1 and STOPPING=1, and SIGTERM drains an in-flight request
python3 - "$dir/notify.sock" "$dir/notify.txt" <<'EOF' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(20)
with open(sys.argv[2], "w") as f:
    try:
        while True:
            f.write(s.recv(4096).decode() + "\n"); f.flush()
    except socket.timeout:
        pass
EOF
pids+=($!)
wait_for "$dir/notify.sock"
NOTIFY_SOCKET="$dir/notify.sock" "$ECHO" --listen "$dir/e.sock" 2>"$dir/e.log" &
epid=$!
pids+=($epid)
wait_for "$dir/e.sock"
sleep 0.2
check "sd_notify: READY=1 after start" grep -q "READY=1" "$dir/notify.txt"
# 20 MB response read slowly: SIGTERM arrives mid-response
( "$TOOL" request -b -t 20 "$dir/e.sock" "/?size=20000000" | (sleep 0.5; wc -c) >"$dir/drain.txt" ) &
drainer=$!
sleep 0.2
kill -TERM "$epid"
wait "$drainer"
check "SIGTERM: the in-flight 20 MB response completes" test "$(cat "$dir/drain.txt")" = 20000000
for _ in $(seq 100); do kill -0 "$epid" 2>/dev/null || break; sleep 0.05; done
if kill -0 "$epid" 2>/dev/null; then not_ok "SIGTERM: the app exits after draining"; else ok "SIGTERM: the app exits after draining"; fi
check "sd_notify: STOPPING=1 on SIGTERM" grep -q "STOPPING=1" "$dir/notify.txt"

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
