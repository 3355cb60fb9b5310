#!/usr/bin/env bash
# An OOM kill is named (issue 15): the supervisor runs in a cgroup made here
# with a 64 MiB memory limit (cgroup v2 memory.max, or v1's
# memory.limit_in_bytes where the memory controller is v1's), a request
# allocates 200 MiB, and the kernel's OOM killer kills its worker:
#   - the log says "killed by the kernel's OOM killer (<limit> in cgroup ...)",
#     with what to do, and the worker is replaced at once (it had served: no
#     crash backoff)
#   - a plain kill -9 of a worker is still "killed by SIGKILL", not OOM
#   - a worker killed before it serves (its init takes 200 MiB) is a failure
#     like a crash: restarted with growing delays
# The cgroup is removed at the end. Needs root (77: skipped otherwise).
# Usage: oom.sh TESTAPP SFCGI_TOOL
set -u
APP=$1 TOOL=$2
[ "$(id -u)" = 0 ] || { echo "# skipped: needs root to make a cgroup"; exit 77; }
dir=$(mktemp -d /tmp/sfcgi-oom-XXXXXX)
name=sfcgi-oom-test-$$
pass=0 fail=0
sup= cg=

cleanup() {
	[ -n "$sup" ] && kill -TERM "$sup" 2>/dev/null
	wait 2>/dev/null
	if [ -n "$cg" ] && [ -d "$cg" ]; then
		for _ in $(seq 100); do rmdir "$cg" 2>/dev/null && break; sleep 0.05; done
		[ -d "$cg" ] && echo "# could not remove $cg"
	fi
	[ "$fail" = 0 ] && rm -rf "$dir" || echo "# logs kept in $dir"
}
trap cleanup EXIT
ok() { pass=$((pass + 1)); echo "ok - $*"; }
not_ok() { fail=$((fail + 1)); echo "not ok - $*"; }
check() { local name=$1; shift; if "$@"; then ok "$name"; else not_ok "$name"; fi; }
wait_for() { for _ in $(seq 500); do eval "$1" && return 0; sleep 0.02; done; return 1; }
req() { "$TOOL" request -b -t 20 "$dir/app.sock" "/?$1" 2>>"$dir/req.err"; }
workers() { pgrep -P "$sup" | sort; }

# a cgroup with a 64 MiB limit, no swap
if grep -qw memory /sys/fs/cgroup/cgroup.controllers 2>/dev/null; then
	cg=/sys/fs/cgroup/$name
	grep -qw memory /sys/fs/cgroup/cgroup.subtree_control ||
		echo +memory >/sys/fs/cgroup/cgroup.subtree_control
	mkdir "$cg" && echo 64M >"$cg/memory.max" || exit 1
	[ -e "$cg/memory.swap.max" ] && echo 0 >"$cg/memory.swap.max"
	expect="memory.max=64M in cgroup /$name"
elif [ -d /sys/fs/cgroup/memory ]; then
	cg=/sys/fs/cgroup/memory/$name
	mkdir "$cg" && echo 64M >"$cg/memory.limit_in_bytes" || exit 1
	[ -e "$cg/memory.memsw.limit_in_bytes" ] && echo 64M >"$cg/memory.memsw.limit_in_bytes"
	expect="memory.limit_in_bytes=64M in cgroup /$name"
else
	echo "# skipped: no cgroup memory controller"
	exit 77
fi
echo "# cgroup $cg"

cat >"$dir/app.json" <<EOF
{ "program": "$APP", "listen": "$dir/app.sock", "workers": 2 }
EOF
# started by hand inside the cgroup, as a shell would
SFCGI_LOG_LEVEL=debug sh -c 'echo $$ >"$1/cgroup.procs" && exec "$2" run --config "$3"' sh "$cg" "$TOOL" \
	"$dir/app.json" 2>"$dir/sup.log" &
sup=$!
wait_for "[ -S $dir/app.sock ] && grep -q 'worker(s) serving' $dir/sup.log" ||
	{ not_ok "the instance did not start"; cat "$dir/sup.log"; exit 1; }
check "the supervisor is in the cgroup" grep -q "$name" "/proc/$sup/cgroup"
before=$(workers)

# 1 a request that takes 200 MiB
req alloc=200 >"$dir/alloc.out"
echo "# the request: $(head -c 200 "$dir/alloc.out" | tr '\n' ' ')"
check "OOM: the log names the OOM killer and the limit" \
	wait_for "grep -q 'killed by the kernel.s OOM killer ($expect)' $dir/sup.log"
grep 'OOM killer' "$dir/sup.log" | sed 's/^/# /'
check "OOM: the line says what to do" grep -q 'OOM killer.*MemoryMax=' "$dir/sup.log"
check "OOM: a worker that had served is replaced at once, no crash backoff" \
	grep -q 'while serving (OOM kill 1 of this instance); replacing it' "$dir/sup.log"
check "OOM: not counted as a crash" bash -c "! grep -q 'OOM killer.*failure 1 in a row' $dir/sup.log"
check "OOM: two workers serve again" wait_for '[ $(workers | wc -l) = 2 ]'
check "OOM: requests are served" bash -c "$(declare -f req); TOOL=$TOOL dir=$dir; req pid | grep -q pid="

# 2 a plain kill -9 is no OOM kill
victim=$(workers | head -1)
kill -9 "$victim"
check "kill -9: logged as killed by SIGKILL" \
	wait_for "grep -q 'worker $victim killed by SIGKILL' $dir/sup.log"
check "kill -9: not called an OOM kill" bash -c "! grep -q 'worker $victim killed by the kernel' $dir/sup.log"
check "one OOM line in all" test "$(grep -c 'OOM killer (' "$dir/sup.log")" = 1

kill -TERM "$sup"
wait "$sup"
sup=

# 3 killed at every start, before serving: a loop, with backoff
rm -f "$dir/app.sock"
printf '{ "program": "%s", "listen": "%s", "workers": 1,\n  "environment": { "TESTAPP_INIT_ALLOC_MB": "200" } }\n' \
	"$APP" "$dir/app.sock" >"$dir/init.json"
sh -c 'echo $$ >"$1/cgroup.procs" && exec "$2" run --config "$3"' sh "$cg" "$TOOL" \
	"$dir/init.json" 2>"$dir/init.log" &
sup=$!
sleep 2
grep 'OOM killer' "$dir/init.log" | head -3 | cut -c1-150 | sed 's/^/# /'
check "OOM at start: named, and restarted with backoff" \
	grep -q "killed by the kernel.s OOM killer ($expect); restarting it in 0.2 s (failure 3 in a row)" "$dir/init.log"
kill -TERM "$sup"
wait "$sup"
sup=
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
