#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Builds a release tree and measures examples/hello (sfcgi, one worker)
# against bench/floor (canned answers: the ceiling any FastCGI server on
# this machine can reach) and bench/libfcgi_hello (the classic library).
#
# Each server runs alone, pinned to CPU 0; bench/loadgen runs on CPU 1
# (both on CPU 0 for the "same CPU" scenario). Runs are interleaved: for
# each round, for each scenario, for each server, a fresh server process
# takes one run. The table shows the median of the rounds for each metric.
# Then the proportional set size (Pss) of an idle worker, after it served
# some requests, from /proc/PID/smaps_rollup.
#
# The machine may be shared: each run waits until CPUs 0 and 1 are idle,
# and a run during which other processes took more than 3% of a CPU there
# is taken again (at most twice), as long as the time budget (-T, default
# 570 s for the whole script) leaves room for the runs still to do. Every
# try is kept; a cell's medians use its undisturbed tries if it has any
# (the "clean" column says how many), the same rule for every server.
#
#   bench/run.sh [-d SECONDS] [-w WARMUP] [-r ROUNDS] [-T BUDGET] [-B BUILDDIR] [-a]
#                [-S] [-b BASEBUILD] [-s "1 2 ..."]   (only these scenarios, numbered from 1)
#
# sfcgi is examples/hello with one worker under its supervisor (--workers 1);
# -a also runs it as a single process (--workers 0), which memory always covers.
# -S adds sfcgi-status: the same with its status socket (--status-listen),
# scraped every second (sfcgi request .../metrics, on the loadgen's CPU)
# while the load runs. -b adds sfcgi-base: examples/hello of another build
# tree (say, of the commit before a change), interleaved with the others.
#
# Defaults: 5 s measured after 1 s warmup, 3 rounds, build-release: about
# 5 minutes on an idle machine, at most about 10. Prints markdown on
# stdout; progress goes to stderr.
set -euo pipefail

DURATION=5
WARMUP=1
ROUNDS=3
BUDGET=570     # seconds the whole script may take, waits and retries included
QUIET=5        # % of one CPU: our CPUs count as idle below this
DISTURBED=3    # % of one CPU taken by others during a run: take it again
RETRIES=0
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$SRC/build-release

ALL=
ONLY=
STATUS=
BASE=
while getopts "d:w:r:B:T:s:b:Sah" opt; do
	case $opt in
	S) STATUS=1 ;;
	b) BASE=$OPTARG ;;
	s) ONLY=$OPTARG ;;
	a) ALL=1 ;;
	T) BUDGET=$OPTARG ;;
	d) DURATION=$OPTARG ;;
	w) WARMUP=$OPTARG ;;
	r) ROUNDS=$OPTARG ;;
	B) BUILD=$OPTARG ;;
	*) sed -n '2,30p' "$0" >&2; exit 2 ;;
	esac
done

log() { echo "run.sh: $*" >&2; }

# Build ----------------------------------------------------------------------
if [ ! -f "$BUILD/build.ninja" ]; then
	meson setup "$BUILD" "$SRC" --buildtype=release >&2
fi
targets=(examples/hello bench/loadgen bench/floor src/sfcgi)
if grep -q 'bench/libfcgi_hello:' "$BUILD/build.ninja"; then
	targets+=(bench/libfcgi_hello)
fi
ninja -C "$BUILD" "${targets[@]}" >&2

LOADGEN=$BUILD/bench/loadgen
# sfcgi: hello as deployed, one worker under its supervisor (--workers 1);
# sfcgi-1proc: the same in a single process (--workers 0), memory only
# unless -a adds it to the runs.
declare -A BIN=([floor]=$BUILD/bench/floor [sfcgi]="$BUILD/examples/hello --workers 1"
	[sfcgi-1proc]="$BUILD/examples/hello --workers 0")
SERVERS=(floor sfcgi)
if [ -x "$BUILD/bench/libfcgi_hello" ]; then
	BIN[libfcgi]=$BUILD/bench/libfcgi_hello
	SERVERS+=(libfcgi)
else
	log "libfcgi_hello not built (no libfcgi-dev): comparing with the floor only"
fi
MEM_SERVERS=("${SERVERS[@]}" sfcgi-1proc)
[ -n "$ALL" ] && SERVERS+=(sfcgi-1proc)
[ -n "$STATUS" ] && SERVERS+=(sfcgi-status)
if [ -n "$BASE" ]; then
	BIN[sfcgi-base]="$BASE/examples/hello --workers 1"
	SERVERS+=(sfcgi-base)
fi

NCPU=$(nproc)
SRV_CPU=0
CLI_CPU=1
if [ "$NCPU" -lt 2 ]; then
	log "only one CPU: the load generator shares CPU 0 in every scenario"
	CLI_CPU=0
fi

# Scenarios: name | loadgen CPU | loadgen options.
SCEN_NAME=("8 kept conns" "64 kept conns" "1 kept conn, same CPU" "new conn per request (8)"
	"4 KiB POST, 8 kept conns")
SCEN_CPU=("$CLI_CPU" "$CLI_CPU" "$SRV_CPU" "$CLI_CPU" "$CLI_CPU")
SCEN_ARGS=("-n 8 --keep-conn" "-n 64 --keep-conn" "-n 1 --keep-conn" "-n 8 --no-keep-conn"
	"-n 8 --keep-conn --body 4096")
# Targets for sfcgi: % of the floor, and a bound on any request's wait (ms, 0 = none).
SCEN_TARGET=(60 60 85 60 60)
SCEN_MAXWAIT=(100 100 0 0 0)
SCENS=("${!SCEN_NAME[@]}")
if [ -n "$ONLY" ]; then
	SCENS=()
	for n in $ONLY; do
		SCENS+=($((n - 1)))
	done
fi

TMP=$(mktemp -d /tmp/sfcgi-bench.XXXXXX)
SOCK=$TMP/fcgi.sock
BIN[sfcgi-status]="$BUILD/examples/hello --workers 1 --status-listen $TMP/status.sock"
SCRAPER=
RESULTS=$TMP/results
: >"$RESULTS"
PID=
cleanup() {
	if [ -n "$SCRAPER" ]; then
		kill "$SCRAPER" 2>/dev/null || true
	fi
	if [ -n "$PID" ]; then
		kill "$PID" 2>/dev/null || true
		wait "$PID" 2>/dev/null || true
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT
TCK=$(getconf CLK_TCK)

start_server() { # name
	rm -f "$SOCK"
	# shellcheck disable=SC2086
	taskset -c "$SRV_CPU" ${BIN[$1]} --listen "$SOCK" 2>>"$TMP/$1.log" &
	PID=$!
	for _ in $(seq 200); do
		[ -S "$SOCK" ] && break
		sleep 0.01
	done
	if [ ! -S "$SOCK" ]; then
		log "$1 did not start; its log:"
		cat "$TMP/$1.log" >&2
		exit 1
	fi
	sleep 0.1 # bind() to listen(), fork of a worker: let them be ready
	WPID=$PID # the process that serves: a supervisor's (only) child
	if [ -r "/proc/$PID/task/$PID/children" ]; then
		local kid
		kid=$(awk '{ print $1 }' "/proc/$PID/task/$PID/children")
		if [ -n "$kid" ]; then
			WPID=$kid
		fi
	fi
}

stop_server() {
	kill -TERM "$PID" 2>/dev/null || true
	wait "$PID" 2>/dev/null || true
	PID=
}

cpu_ticks() { # utime + stime of the server (and of its supervisor, if any)
	cat "/proc/$PID/stat" "/proc/$WPID/stat" 2>/dev/null | awk -v same="$((PID == WPID))" '
		{ t += $14 + $15 } END { print same ? t / 2 : t }'
}

# Busy ticks (all but idle and iowait) of the CPUs the benchmark uses.
busy_ticks() {
	awk -v a="cpu$SRV_CPU" -v b="cpu$CLI_CPU" '$1 == a || ($1 == b && a != b) {
		t += $2 + $3 + $4 + $7 + $8 + $9 } END { print t }' /proc/stat
}

# Seconds of the budget not needed by the runs still planned.
slack() {
	awk -v b="$BUDGET" -v t="$SECONDS" -v n="$LEFT" -v d="$DURATION" -v w="$WARMUP" \
		'BEGIN { printf "%d", b - t - n * (d + w + 1) - 10 }'
}

# Other engineers' builds and tests may share this machine: before each
# run, wait (while the budget allows) until our CPUs are idle.
wait_quiet() {
	local b0 b1
	while [ "$(slack)" -gt 0 ]; do
		b0=$(busy_ticks)
		sleep 0.5
		b1=$(busy_ticks)
		# Busy ticks in 0.5 s, as % of one CPU.
		[ $(((b1 - b0) * 200 / TCK)) -le "$QUIET" ] && return 0
		log "CPUs $SRV_CPU,$CLI_CPU busy ($(((b1 - b0) * 200 / TCK))% of a CPU): waiting"
		sleep 2
	done
}

# One measurement of scenario $1 against server $2: sets OUT to a line of
# key=value pairs, OTHER to the CPU % taken by everything else meanwhile.
measure() {
	local s=$1 srv=$2 t0 t1 c0 c1 b0 b1 out lg srvcpu
	start_server "$srv"
	if [ "$srv" = sfcgi-status ]; then
		# a Prometheus at scrape_interval 1s, on the loadgen's CPU
		(while :; do
			if taskset -c "$CLI_CPU" "$BUILD/src/sfcgi" request -b "$TMP/status.sock" \
				/metrics >/dev/null 2>&1; then echo ok; else echo failed; fi
			sleep 1
		done >>"$TMP/scrapes") &
		SCRAPER=$!
	fi
	c0=$(cpu_ticks)
	b0=$(busy_ticks)
	t0=$(date +%s%N)
	# shellcheck disable=SC2086
	out=$( { TIMEFORMAT='%U %S %R'; time taskset -c "${SCEN_CPU[$s]}" "$LOADGEN" \
		--connect "$SOCK" --duration "$DURATION" --warmup "$WARMUP" --kv \
		${SCEN_ARGS[$s]} 2>/dev/null || true; } 2>&1)
	t1=$(date +%s%N)
	c1=$(cpu_ticks)
	b1=$(busy_ticks)
	if [ -n "$SCRAPER" ]; then
		kill "$SCRAPER" 2>/dev/null || true
		wait "$SCRAPER" 2>/dev/null || true
		SCRAPER=
	fi
	stop_server
	lg=$(echo "$out" | tail -n 1 | awk '{ printf "%.0f", ($1 + $2) * 100 / $3 }')
	srvcpu=$(awk -v c="$((c1 - c0))" -v t="$((t1 - t0))" -v k="$TCK" \
		'BEGIN { printf "%.0f", c / k * 100 / (t / 1e9) }')
	# CPU time (% of one CPU) used on our CPUs by anything but the two processes.
	OTHER=$(awk -v b="$((b1 - b0))" -v t="$((t1 - t0))" -v k="$TCK" -v s="$srvcpu" \
		-v l="$lg" 'BEGIN { o = b / k * 100 / (t / 1e9) - s - l; printf "%.0f", (o < 0 ? 0 : o) }')
	out=$(echo "$out" | grep '^rps=' || echo "rps=0 errors=-1")
	# Server CPU time per answered request (warmup included in both: same rate).
	OUT="$out srv_cpu=$srvcpu lg_cpu=$lg other_cpu=$OTHER srv_us_per_req=$(awk \
		-v c="$srvcpu" -v r="$(echo "$out" | sed 's/^rps=\([0-9]*\).*/\1/')" \
		'BEGIN { printf "%.2f", (r > 0 ? c / 100 * 1e6 / r : 0) }')"
}

# Runs scenario $1 against server $2, appends a line to $RESULTS per try; a
# run disturbed by other processes is taken again (same rule for every
# server), and the report uses the undisturbed tries where there are any.
run_one() {
	local s=$1 srv=$2 round=$3 try
	for try in 1 2 3; do
		wait_quiet
		measure "$s" "$srv"
		log "round $round, ${SCEN_NAME[$s]}, $srv: $OUT"
		echo "$s $srv $round $OUT" >>"$RESULTS"
		[ "$OTHER" -le "$DISTURBED" ] && break
		[ "$(slack)" -gt "$(awk -v d="$DURATION" -v w="$WARMUP" 'BEGIN { printf "%d", d + w + 1 }')" ] ||
			break
		log "disturbed (other processes took $OTHER% of a CPU): again"
		RETRIES=$((RETRIES + 1))
	done
	LEFT=$((LEFT - 1))
}

LEFT=$((ROUNDS * ${#SCENS[@]} * ${#SERVERS[@]}))
log "$NCPU CPUs, $ROUNDS rounds x ${#SCENS[@]} scenarios x ${#SERVERS[@]} servers," \
	"${DURATION}s + ${WARMUP}s warmup each"
for round in $(seq "$ROUNDS"); do
	for s in "${SCENS[@]}"; do
		for srv in "${SERVERS[@]}"; do
			run_one "$s" "$srv" "$round"
		done
	done
done

# Median over the rounds of one metric for (scenario, server).
# Values of one metric for (scenario, server): from the undisturbed runs
# (others took <= DISTURBED% of a CPU) if there is any, else from all.
values() { # scenario server key
	awk -v s="$1" -v srv="$2" -v key="$3" -v d="$DISTURBED" '$1 == s && $2 == srv {
		v = ""; o = 0
		for (i = 4; i <= NF; i++) {
			split($i, kv, "=")
			if (kv[1] == key) v = kv[2]
			if (kv[1] == "other_cpu") o = kv[2]
		}
		all[++n] = v; if (o <= d) clean[++c] = v }
		END { if (c) for (i = 1; i <= c; i++) print clean[i]; else for (i = 1; i <= n; i++) print all[i] }' \
		"$RESULTS"
}

median() { # scenario server key
	values "$@" | sort -n | awk '{ a[NR] = $1 } END {
		if (NR == 0) print "-"; else if (NR % 2) print a[(NR + 1) / 2];
		else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

range() { # scenario server key: "min–max"
	values "$@" | sort -n | awk 'NR == 1 { lo = $1 } { hi = $1 } END { print lo "–" hi }'
}

clean_runs() { # scenario server: "clean/all"
	awk -v s="$1" -v srv="$2" -v d="$DISTURBED" '$1 == s && $2 == srv {
		n++; for (i = 4; i <= NF; i++) { split($i, kv, "="); if (kv[1] == "other_cpu" && kv[2] <= d) c++ } }
		END { print c + 0 "/" n + 0 }' "$RESULTS"
}

# Memory ----------------------------------------------------------------------
# Pss of the idle serving process after 1 s of 4 KiB POSTs on 8 kept
# connections (libfcgi serves one of them: still "some requests"). For
# sfcgi under a supervisor, the worker's Pss, and the supervisor's apart.
pss_of() { # pid: "Pss Rss top-mappings"
	local top
	top=$(awk '/^[0-9a-f]+-[0-9a-f]+ / { n = $6 == "" ? "[anon]" : $6; sub(".*/", "", n) }
		/^Pss:/ { p[n] += $2 } END { for (n in p) if (p[n] > 0) print p[n], n }' \
		"/proc/$1/smaps" | sort -rn | head -n 8 | awk '{ printf "%s%s %s", sep, $2, $1; sep = ", " }')
	# USS (Private_Clean + Private_Dirty) does not depend on what other
	# processes map: Pss of shared libraries does.
	echo "$(awk '/^Pss:/ { print $2 }' "/proc/$1/smaps_rollup")" \
		"$(awk '/^Private_(Clean|Dirty):/ { t += $2 } END { print t }' "/proc/$1/smaps_rollup")" \
		"$(awk '/^Rss:/ { print $2 }' "/proc/$1/smaps_rollup")" "$top"
}
declare -A PSS USS RSS TOP
MEM_ROWS=()
for srv in "${MEM_SERVERS[@]}"; do
	start_server "$srv"
	taskset -c "$CLI_CPU" "$LOADGEN" --connect "$SOCK" -n 8 --body 4096 --duration 1 \
		--warmup 0 --kv >/dev/null 2>&1 || true
	# Idle: an sfcgi worker gives freed buffers back at its next sweep (<= 1 s).
	sleep 1.5
	read -r PSS[$srv] USS[$srv] RSS[$srv] TOP[$srv] <<<"$(pss_of "$WPID")"
	MEM_ROWS+=("$srv")
	log "$srv idle: Pss ${PSS[$srv]} KiB, USS ${USS[$srv]} KiB, Rss ${RSS[$srv]} KiB"
	if [ "$WPID" != "$PID" ]; then
		read -r PSS[$srv-supervisor] USS[$srv-supervisor] RSS[$srv-supervisor] \
			TOP[$srv-supervisor] <<<"$(pss_of "$PID")"
		MEM_ROWS+=("$srv-supervisor")
	fi
	stop_server
done

# Report ------------------------------------------------------------------------
echo "### Throughput and latency (median of $ROUNDS rounds, ${DURATION} s each after ${WARMUP} s warmup)"
echo
echo "Medians (and min–max) are over the undisturbed runs of each cell when it has any"
echo "(\"clean\": runs during which other processes took <= $DISTURBED% of a CPU / all runs)."
echo
echo "Server pinned to CPU $SRV_CPU, loadgen to CPU $CLI_CPU unless noted; unix socket."
echo "sfcgi = examples/hello --workers 1 (one worker under its supervisor)."
[ -n "$STATUS" ] && echo "sfcgi-status = the same with --status-listen, /metrics scraped every" \
	"second during each run ($(grep -c '^ok' "$TMP/scrapes" 2>/dev/null || echo 0) scrapes" \
	"answered, $(grep -c '^failed' "$TMP/scrapes" 2>/dev/null || echo 0) failed)."
[ -n "$BASE" ] && echo "sfcgi-base = examples/hello --workers 1 of $BASE."
echo "\"max wait\": longest any one request waited, unanswered ones included."
echo "CPU columns: % of one CPU over the run; \"other\" is everything else on the machine"
echo "(other processes, interrupts): more than a few % means the numbers are disturbed."
echo "$RETRIES disturbed run(s) were taken again. \"µs CPU/req\": server CPU time per answer."
echo
echo "| scenario | server | req/s | req/s min–max | % of floor | p50 µs | p99 µs | p99.9 µs | max µs | max wait ms | errors | server CPU % | server µs CPU/req | loadgen CPU % | other CPU % | clean |"
echo "|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
declare -A RPS WAIT ERR
for s in "${SCENS[@]}"; do
	floor_rps=$(median "$s" floor rps)
	for srv in "${SERVERS[@]}"; do
		rps=$(median "$s" "$srv" rps)
		pct=$(awk -v a="$rps" -v b="$floor_rps" 'BEGIN { if (b > 0) printf "%.0f%%", a * 100 / b; else print "-" }')
		wait_ms=$(awk -v v="$(median "$s" "$srv" max_wait_us)" 'BEGIN { printf "%.1f", v / 1000 }')
		RPS[$s,$srv]=$rps
		WAIT[$s,$srv]=$wait_ms
		ERR[$s,$srv]=$(median "$s" "$srv" errors)
		echo "| ${SCEN_NAME[$s]} | $srv | $rps | $(range "$s" "$srv" rps) | $pct |" \
			"$(median "$s" "$srv" p50_us) |" \
			"$(median "$s" "$srv" p99_us) | $(median "$s" "$srv" p999_us) |" \
			"$(median "$s" "$srv" max_us) | $wait_ms | ${ERR[$s,$srv]} |" \
			"$(median "$s" "$srv" srv_cpu) | $(median "$s" "$srv" srv_us_per_req) |" \
			"$(median "$s" "$srv" lg_cpu) |" \
			"$(median "$s" "$srv" other_cpu) | $(clean_runs "$s" "$srv") |"
	done
done
echo
echo "### Idle worker memory (1.5 s after serving 1 s of 4 KiB POSTs)"
echo
echo "Pss counts a page shared by N processes as 1/N; USS counts private pages only."
echo "Under a supervisor the worker shares its libraries' pages with it (forked, not exec'd)."
echo
echo "| process | Pss KiB | USS KiB | Rss KiB | largest Pss contributions, KiB |"
echo "|---|---:|---:|---:|---|"
for srv in "${MEM_ROWS[@]}"; do
	name=$srv
	[ "$srv" = sfcgi ] && name="sfcgi worker"
	echo "| $name | ${PSS[$srv]} | ${USS[$srv]} | ${RSS[$srv]} | ${TOP[$srv]} |"
done
echo
echo "### Targets (sfcgi hello, one worker)"
echo
echo "| target | measured | met | runs |"
echo "|---|---|---|---|"
for s in "${SCENS[@]}"; do
	pct=$(awk -v a="${RPS[$s,sfcgi]}" -v b="$(median "$s" floor rps)" \
		'BEGIN { printf "%.0f", (b > 0 ? a * 100 / b : 0) }')
	ok=yes
	[ "$pct" -ge "${SCEN_TARGET[$s]}" ] || ok=no
	[ "${ERR[$s,sfcgi]}" = 0 ] || ok=no
	what="${SCEN_NAME[$s]}: >= ${SCEN_TARGET[$s]}% of floor"
	got="$pct%, ${ERR[$s,sfcgi]} errors"
	if [ "${SCEN_MAXWAIT[$s]}" -gt 0 ]; then
		what="$what, no wait > ${SCEN_MAXWAIT[$s]} ms"
		got="$got, max wait ${WAIT[$s,sfcgi]} ms"
		awk -v w="${WAIT[$s,sfcgi]}" -v m="${SCEN_MAXWAIT[$s]}" 'BEGIN { exit !(w <= m) }' || ok=no
	fi
	quality=clean
	for srv in floor sfcgi; do
		o=$(median "$s" "$srv" other_cpu)
		if awk -v o="$o" -v d="$DISTURBED" 'BEGIN { exit !(o > d) }'; then
			quality="disturbed: others took $o% of a CPU during $srv's median run"
		fi
	done
	echo "| $what | $got | $ok | $quality |"
done
if [ -n "${PSS[libfcgi]:-}" ]; then
	ok=no
	[ "${PSS[sfcgi]}" -le "${PSS[libfcgi]}" ] && ok=yes
	echo "| idle worker Pss <= libfcgi hello's | ${PSS[sfcgi]} KiB vs ${PSS[libfcgi]} KiB" \
		"(USS ${USS[sfcgi]} vs ${USS[libfcgi]}) | $ok | one sample |"
	ok=no
	[ "${PSS[sfcgi-1proc]}" -le "${PSS[libfcgi]}" ] && ok=yes
	echo "| same, sfcgi as a single process | ${PSS[sfcgi-1proc]} KiB vs ${PSS[libfcgi]} KiB" \
		"(USS ${USS[sfcgi-1proc]} vs ${USS[libfcgi]}) | $ok | one sample |"
fi
