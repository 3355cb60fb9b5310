#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# What the supervisor and the sandbox cost, on a release build:
#  1. sandbox: req/s of examples/hello (one worker under its supervisor)
#     with the default sandbox and with "sandbox": false, interleaved,
#     server pinned to CPU 0 and bench/loadgen to CPU 1; and the ns the
#     worker filter adds to a system call (bench/syscall_cost);
#  2. cold start: first connection to first response through socket
#     activation (bench/coldstart.py), for sfcgi run + hello (supervisor and
#     one worker), hello alone, and libfcgi's hello, ROUNDS rounds side by
#     side (with BEFORE=OTHER/build-release, that build's two as well);
#  3. memory: Pss of the supervisor and of an idle worker after serving,
#     against libfcgi's hello (from /proc/PID/smaps_rollup).
#
#   [BEFORE=DIR] bench/lifecycle.sh [ROUNDS] [SECONDS]   (default 3 rounds of 5 s)
set -euo pipefail
ROUNDS=${1:-3}
SECS=${2:-5}
SRC=$(cd "$(dirname "$0")/.." && pwd)
B=$SRC/build-release
dir=$(mktemp -d /tmp/sfcgi-life-XXXXXX)
trap 'pkill -f "$dir/" 2>/dev/null || true; rm -rf "$dir"' EXIT

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
echo "Per system call, steadier than req/s on this VM (bench/syscall_cost, pinned to CPU 1):"
echo
echo '```'
taskset -c 1 "$B/bench/syscall_cost" 9
echo '```'

echo
echo "## Cold start: connect to END_REQUEST of the first request (systemd-socket-activate)"
echo
cat >"$dir/cold.json" <<EOF
{ "program": "$HELLO", "workers": 1 }
EOF
# BEFORE=ANOTHER/build-release: that build's chain and hello alone too, in
# the same rounds, for a before/after measured side by side.
labels=("sfcgi run chain" "hello alone" "libfcgi hello")
cmds=("$TOOL run --config $dir/cold.json" "$HELLO" "$LIBFCGI --fd 3")
if [ -n "${BEFORE:-}" ]; then
	cat >"$dir/cold-before.json" <<EOF
{ "program": "$BEFORE/examples/hello", "workers": 1 }
EOF
	labels+=("chain, before" "alone, before")
	cmds+=("$BEFORE/src/sfcgi run --config $dir/cold-before.json" "$BEFORE/examples/hello")
fi
echo "Median of 30 cold starts per cell (ms). Chain: sfcgi run --config, a supervisor, one"
echo "worker, the default sandbox; alone: examples/hello in one process, sandboxed; libfcgi:"
echo "bench/libfcgi_hello adopting fd 3 itself. $ROUNDS rounds, the commands one after the other."
echo
printf '| round |'
printf ' %s |' "${labels[@]}"
echo
printf '|---|'
printf -- '---|%.0s' "${labels[@]}"
echo
declare -A cold
for r in $(seq "$ROUNDS"); do
	printf '| %d |' "$r"
	for i in "${!cmds[@]}"; do
		# shellcheck disable=SC2086 # the command and its arguments
		m=$(python3 "$SRC/bench/coldstart.py" 30 -- ${cmds[$i]} |
			sed -n 's/.*median=\([0-9.]*\).*/\1/p')
		cold[$i]="${cold[$i]:-} $m"
		printf ' %s |' "$m"
	done
	echo
done
declare -A coldmed
printf '| median |'
for i in "${!cmds[@]}"; do
	# shellcheck disable=SC2086 # a list of numbers
	coldmed[$i]=$(med ${cold[$i]})
	printf ' %s |' "${coldmed[$i]}"
done
echo
echo
for i in "${!cmds[@]}"; do
	[ "$i" = 2 ] && continue
	awk -v l="${labels[$i]}" -v a="${coldmed[$i]}" -v b="${coldmed[2]}" \
		'BEGIN { printf "- %s / libfcgi hello: %.2fx\n", l, a / b }'
done

echo
echo "## Memory: Pss after 1 s of requests on one kept connection, then 1.5 s idle (KiB)"
echo
echo "Each process (or process pair) measured alone, so shared library pages are"
echo "divided only with what else runs on the machine (bench/pss.py)."
echo
cat >"$dir/single.json" <<EOF
{ "program": "$HELLO", "workers": 0, "listen": "$dir/single.sock", "sandbox": { "user": "nobody" } }
EOF
settle() { # SOCKET: load, then idle long enough for the worker's idle trim
	"$LOADGEN" -c "$1" -n 1 -d 1 -w 0 --kv >/dev/null
	sleep 1.5
}
row() { # LABEL PID
	read -r _ p a f < <(python3 "$SRC/bench/pss.py" "$2")
	echo "| $1 | $p | $a | $f |"
	echo "$p" >"$dir/pss.$2"
}
echo "| process | Pss | Pss_Anon | Pss_File |"
echo "|---|---|---|---|"
pid=$(serve on)
settle "$dir/on.sock"
worker=$(pgrep -P "$pid" | head -1)
row "supervisor" "$pid"
row "idle worker" "$worker"
python3 "$SRC/bench/pss.py" --by-object "$worker" >"$dir/worker.objects"
kill "$pid"
wait "$pid" 2>/dev/null || true
rm -f "$dir/single.sock"
"$TOOL" run --config "$dir/single.json" >/dev/null 2>>"$dir/single.log" &
one=$!
for _ in $(seq 200); do [ -S "$dir/single.sock" ] && break; sleep 0.01; done
settle "$dir/single.sock"
row "the same app in one process (workers: 0)" "$one"
kill "$one"
wait "$one" 2>/dev/null || true
rm -f "$dir/lf.sock"
"$LIBFCGI" --listen "$dir/lf.sock" >/dev/null 2>&1 &
lf=$!
sleep 0.3
settle "$dir/lf.sock"
row "libfcgi hello" "$lf"
kill "$lf"
wait "$lf" 2>/dev/null || true
s=$(cat "$dir/pss.$pid") w=$(cat "$dir/pss.$worker") o=$(cat "$dir/pss.$one") l=$(cat "$dir/pss.$lf")
echo
echo "- supervisor + idle worker: $((s + w)) KiB; beyond the app's own (one process): $((s + w - o)) KiB"
echo "- idle worker minus libfcgi hello: $((w - l)) KiB"
echo
echo "Where the idle worker's Pss is (KiB, per mapped object):"
echo
echo '```'
head -12 "$dir/worker.objects"
echo '```'
