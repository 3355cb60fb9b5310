#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# What the supervisor and the sandbox cost, on a release build:
#  1. sandbox: req/s of examples/hello (one worker under its supervisor)
#     with the default sandbox and with "sandbox": false, interleaved,
#     server pinned to CPU 0 and bench/loadgen to CPU 1;
#  2. cold start: first connection to first response through socket
#     activation (bench/coldstart.py), for sfcgi run + hello (supervisor and
#     one worker), hello alone, and libfcgi's hello;
#  3. memory: Pss of the supervisor and of an idle worker after serving,
#     against libfcgi's hello (from /proc/PID/smaps_rollup).
#
#   bench/lifecycle.sh [ROUNDS] [SECONDS]     (default 3 rounds of 5 s)
set -euo pipefail
ROUNDS=${1:-3}
SECS=${2:-5}
SRC=$(cd "$(dirname "$0")/.." && pwd)
B=$SRC/build-release
dir=$(mktemp -d /tmp/sfcgi-life-XXXXXX)
trap 'pkill -f "$dir/" 2>/dev/null; rm -rf "$dir"' EXIT

[ -f "$B/build.ninja" ] || meson setup "$B" "$SRC" --buildtype=release >/dev/null
ninja -C "$B" >/dev/null
HELLO=$B/examples/hello TOOL=$B/src/sfcgi LOADGEN=$B/bench/loadgen LIBFCGI=$B/bench/libfcgi_hello

config() { # NAME SANDBOX-JSON
	cat >"$dir/$1.json" <<EOF
{ "program": "$HELLO", "workers": 1, "listen": "$dir/$1.sock", "sandbox": $2 }
EOF
}
config on '{ "user": "nobody" }'
config off false

serve() { # NAME: starts the instance pinned to CPU 0, prints the supervisor pid
	rm -f "$dir/$1.sock"
	taskset -c 0 "$TOOL" run --config "$dir/$1.json" >/dev/null 2>>"$dir/$1.log" &
	local pid=$!
	for _ in $(seq 200); do [ -S "$dir/$1.sock" ] && break; sleep 0.01; done
	sleep 0.2
	echo "$pid"
}

echo "## Sandbox cost: hello, one worker, 8 kept connections, ${SECS} s x $ROUNDS rounds"
echo
echo "| round | sandbox on (req/s) | sandbox off (req/s) | difference |"
echo "|---|---|---|---|"
on_all=() off_all=()
for r in $(seq "$ROUNDS"); do
	declare -A rps
	for mode in on off; do
		pid=$(serve "$mode")
		out=$(taskset -c 1 "$LOADGEN" -c "$dir/$mode.sock" -n 8 -d "$SECS" -w 1 --kv)
		rps[$mode]=$(sed -n 's/.*rps=\([0-9.]*\).*/\1/p' <<<"$out")
		kill -TERM "$pid"
		wait "$pid" 2>/dev/null || true
	done
	on_all+=("${rps[on]}")
	off_all+=("${rps[off]}")
	awk -v r="$r" -v a="${rps[on]}" -v b="${rps[off]}" \
		'BEGIN { printf "| %d | %.0f | %.0f | %+.1f%% |\n", r, a, b, (a - b) / b * 100 }'
done
med() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
awk -v a="$(med "${on_all[@]}")" -v b="$(med "${off_all[@]}")" \
	'BEGIN { printf "| median | %.0f | %.0f | %+.1f%% |\n", a, b, (a - b) / b * 100 }'

echo
echo "## Cold start: connect to END_REQUEST of the first request (systemd-socket-activate)"
echo
cat >"$dir/cold.json" <<EOF
{ "program": "$HELLO", "workers": 1 }
EOF
echo '```'
printf 'sfcgi run + hello (supervisor, 1 worker, sandbox): '
python3 "$SRC/bench/coldstart.py" 30 -- "$TOOL" run --config "$dir/cold.json"
printf 'hello alone (one process, sandbox):                '
python3 "$SRC/bench/coldstart.py" 30 -- "$HELLO"
printf 'libfcgi hello (via sh: fd 3 moved to fd 0):        '
python3 "$SRC/bench/coldstart.py" 30 -- /bin/sh -c "exec $LIBFCGI 0<&3 3<&-"
echo '```'

echo
echo "## Memory: Pss after 1000 requests, idle (kB, /proc/PID/smaps_rollup)"
echo
pid=$(serve on)
"$LOADGEN" -c "$dir/on.sock" -n 1 -d 1 -w 0 --kv >/dev/null
sleep 0.3
worker=$(pgrep -P "$pid" | head -1)
rm -f "$dir/lf.sock"
"$LIBFCGI" --listen "$dir/lf.sock" >/dev/null 2>&1 &
lf=$!
sleep 0.3
"$LOADGEN" -c "$dir/lf.sock" -n 1 -d 1 -w 0 --kv >/dev/null
sleep 0.3
pss() { sed -n "s/^$2: *\([0-9]*\) kB/\1/p" "/proc/$1/smaps_rollup"; }
echo "| process | Pss | Pss_Anon | Pss_File | Pss_Shmem |"
echo "|---|---|---|---|---|"
for p in "supervisor:$pid" "idle worker:$worker" "libfcgi hello:$lf"; do
	n=${p%%:*} q=${p##*:}
	echo "| $n | $(pss "$q" Pss) | $(pss "$q" Pss_Anon) | $(pss "$q" Pss_File) | $(pss "$q" Pss_Shmem) |"
done
kill "$pid" "$lf"
wait 2>/dev/null || true
