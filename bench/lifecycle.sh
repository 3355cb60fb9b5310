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
#     one worker), hello alone, and libfcgi's hello, ROUNDS rounds of 30
#     cold starts each, the commands one after the other in each round;
#  3. memory: Pss and USS of the supervisor and of idle workers after
#     serving (an instance with 1 worker, one with 2), of the app in one
#     process, and of libfcgi's hello (from /proc/PID/smaps_rollup), each
#     measured alone, ROUNDS times; the medians.
#
#   bench/lifecycle.sh [ROUNDS] [SECONDS] [SECTIONS]
#
# Default 3 rounds of 5 s, SECTIONS "sandbox cold memory" (any of them).
# SFCGI_BUILD=DIR: the release tree measured (default build-release of this
# source); SFCGI_BEFORE=DIR: another release tree (e.g. of the previous
# commit) measured in the same rounds, interleaved (cold start and memory):
# a before/after on equal terms.
set -euo pipefail
ROUNDS=${1:-3}
SECS=${2:-5}
SECTIONS=" ${3:-sandbox cold memory} "
SRC=$(cd "$(dirname "$0")/.." && pwd)
B=${SFCGI_BUILD:-$SRC/build-release}
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

want() { [[ $SECTIONS == *" $1 "* ]]; }
med() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

if want sandbox; then
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
awk -v a="$(med "${on_all[@]}")" -v b="$(med "${off_all[@]}")" \
	'BEGIN { printf "| median | %.0f | %.0f | %+.1f%% |\n", a, b, (a - b) / b * 100 }'

echo
echo "Per system call, steadier than req/s on this VM (bench/syscall_cost, pinned to CPU 1):"
echo
echo '```'
taskset -c 1 "$B/bench/syscall_cost" 9
echo '```'
echo
fi

if want cold; then
echo "## Cold start: connect to END_REQUEST of the first request (systemd-socket-activate)"
echo
cat >"$dir/cold.json" <<EOF
{ "program": "$HELLO", "workers": 1 }
EOF
# SFCGI_BEFORE: that build's chain and hello alone too, in the same rounds.
labels=("sfcgi run chain" "hello alone" "libfcgi hello")
cmds=("$TOOL run --config $dir/cold.json" "$HELLO" "$LIBFCGI --fd 3")
if [ -n "${SFCGI_BEFORE:-}" ]; then
	ninja -C "$SFCGI_BEFORE" >/dev/null
	cat >"$dir/cold-before.json" <<EOF
{ "program": "$SFCGI_BEFORE/examples/hello", "workers": 1 }
EOF
	labels+=("chain, before" "alone, before")
	cmds+=("$SFCGI_BEFORE/src/sfcgi run --config $dir/cold-before.json" "$SFCGI_BEFORE/examples/hello")
fi
# As under a unit with User=: systemd-socket-activate and the program run as
# nobody (a root instance without "user" also drops the capability bounding
# set, about 50 us, and is warned about). Client and server pinned to CPU 1,
# as bench/run.sh pins; SCHED_FIFO where allowed, so that other load on this
# 2-core machine does not preempt one side or the other.
chmod 755 "$dir"
chmod 644 "$dir"/cold*.json
pin=(taskset -c 1)
chrt -f 50 true 2>/dev/null && pin+=(chrt -f 50)
echo "Median of 30 cold starts per cell (ms). Chain: sfcgi run --config, a supervisor, one"
echo "worker, the default sandbox; alone: examples/hello in one process, sandboxed; libfcgi:"
echo "bench/libfcgi_hello adopting fd 3 itself. All run as nobody, client and server on CPU 1"
echo "(${pin[*]}). $ROUNDS rounds, the commands one after the other."
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
		m=$("${pin[@]}" python3 "$SRC/bench/coldstart.py" 30 --user nobody -- ${cmds[$i]} |
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
fi

want memory || exit 0
echo "## Memory: after 1 s of requests on one kept connection, then 1.5 s idle (KiB, medians of $ROUNDS)"
echo
echo "Each process group measured alone, so shared library pages are divided only"
echo "with what else runs on the machine (bench/pss.py); USS: pages no other process maps."
# SFCGI_BEFORE=DIR: another release tree's hello measured in the same rounds,
# interleaved, for a before/after on equal terms (Pss_File moves with the
# rest of the machine's load; USS much less).
builds=("now:$B")
if [ -n "${SFCGI_BEFORE:-}" ]; then
	ninja -C "$SFCGI_BEFORE" >/dev/null
	builds=("before:$SFCGI_BEFORE" "now:$B")
	echo "Before: $SFCGI_BEFORE; now: $B."
fi
echo
for b in "${builds[@]}"; do
	tag=${b%%:*} bdir=${b#*:}
	for n in 0 1 2; do
		cat >"$dir/$tag$n.json" <<EOF
{ "program": "$bdir/examples/hello", "workers": $n, "listen": "$dir/$tag$n.sock", "sandbox": { "user": "nobody" } }
EOF
	done
done
settle() { # SOCKET: load, then idle long enough for the worker's idle trim
	"$LOADGEN" -c "$1" -n 1 -d 1 -w 0 --kv >/dev/null
	sleep 1.5
}
sample() { # KEY PID...: appends "Pss Pss_Anon Pss_File USS", summed over PIDs, to $dir/m.KEY
	local key=$1
	shift
	python3 "$SRC/bench/pss.py" "$@" |
		awk '{ p += $2; a += $3; f += $4; u += $5 } END { print p, a, f, u }' >>"$dir/m.$key"
}
start() { # NAME TOOL: an instance from $dir/NAME.json, pinned to CPU 0; prints its pid once it listens
	rm -f "$dir/$1.sock"
	taskset -c 0 "$2" run --config "$dir/$1.json" >/dev/null 2>>"$dir/$1.log" &
	local pid=$!
	for _ in $(seq 200); do [ -S "$dir/$1.sock" ] && break; sleep 0.01; done
	echo "$pid"
}
stop() { kill "$1"; wait "$1" 2>/dev/null || true; }
for r in $(seq "$ROUNDS"); do
	for b in "${builds[@]}"; do
		tag=${b%%:*} bdir=${b#*:}
		for n in 1 2; do
			pid=$(start "$tag$n" "$bdir/src/sfcgi")
			sleep 0.2
			settle "$dir/$tag$n.sock"
			mapfile -t workers < <(pgrep -P "$pid")
			if [ "${#workers[@]}" != "$n" ]; then
				echo "expected $n workers under $pid, found ${#workers[@]}" >&2
				exit 1
			fi
			sample "$tag.sup$n" "$pid"
			sample "$tag.worker$n" "${workers[0]}"
			sample "$tag.all$n" "$pid" "${workers[@]}"
			if [ "$r" = 1 ] && [ "$n" = 1 ]; then
				python3 "$SRC/bench/pss.py" --by-object "${workers[0]}" >"$dir/$tag.objects"
			fi
			stop "$pid"
		done
		one=$(start "${tag}0" "$bdir/src/sfcgi")
		settle "$dir/${tag}0.sock"
		sample "$tag.one" "$one"
		stop "$one"
	done
	rm -f "$dir/lf.sock"
	taskset -c 0 "$LIBFCGI" --listen "$dir/lf.sock" >/dev/null 2>&1 &
	lf=$!
	for _ in $(seq 200); do [ -S "$dir/lf.sock" ] && break; sleep 0.01; done
	settle "$dir/lf.sock"
	sample lf "$lf"
	stop "$lf"
done
col() { # KEY FIELD: the median over the rounds (fields: Pss Pss_Anon Pss_File USS)
	med $(awk -v f="$2" '{ print $f }' "$dir/m.$1")
}
echo "| process | Pss | Pss_Anon | Pss_File | USS |"
echo "|---|---|---|---|---|"
for b in "${builds[@]}"; do
	tag=${b%%:*}
	label=
	[ "${#builds[@]}" = 1 ] || label="$tag: "
	for row in "sup1 supervisor (instance of 1 worker)" "worker1 idle worker (instance of 1)" \
		"sup2 supervisor (instance of 2 workers)" "worker2 an idle worker (instance of 2)" \
		"all2 whole instance: supervisor + 2 idle workers" \
		"one the same app in one process (workers: 0)"; do
		k=$tag.${row%% *}
		echo "| $label${row#* } | $(col "$k" 1) | $(col "$k" 2) | $(col "$k" 3) | $(col "$k" 4) |"
	done
done
echo "| libfcgi hello | $(col lf 1) | $(col lf 2) | $(col lf 3) | $(col lf 4) |"
echo
for b in "${builds[@]}"; do
	tag=${b%%:*}
	label=
	[ "${#builds[@]}" = 1 ] || label="$tag: "
	awk -v t="$label" -v l="$(col lf 1)" -v w="$(col "$tag.worker1" 1)" \
		-v o="$(col "$tag.one" 1)" -v a="$(col "$tag.all2" 1)" 'BEGIN {
		printf "- %sidle worker / libfcgi hello: %.2fx (target: at most 1.00x)\n", t, w / l
		printf "- %sone process / libfcgi hello: %.2fx (target: at most 1.50x)\n", t, o / l
		printf "- %ssupervisor + 2 idle workers / libfcgi hello: %.2fx (target: at most 3.00x)\n", t, a / l
	}'
done
for b in "${builds[@]}"; do
	tag=${b%%:*}
	echo
	echo "Where the idle worker's Pss is, $tag (KiB, per mapped object; instance of 1, round 1):"
	echo
	echo '```'
	head -12 "$dir/$tag.objects"
	echo '```'
done
