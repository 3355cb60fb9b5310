#!/usr/bin/env bash
# The supervisor, driven through `sfcgi run --config`: prefork, crash
# restart with backoff, max_requests recycling, request_timeout, graceful
# SIGTERM, reload under load with zero failed requests, a bad config refused
# at start and at reload, idle exit under systemd-socket-activate.
# Usage: supervisor.sh TESTAPP SFCGI_TOOL
set -u
APP=$1 TOOL=$2
here=$(cd "$(dirname "$0")" && pwd)
dir=$(mktemp -d /tmp/sfcgi-sup-XXXXXX)
pass=0 fail=0
sup=

cleanup() {
	[ -n "$sup" ] && kill -TERM "$sup" 2>/dev/null
	pkill -KILL -f "$dir/" 2>/dev/null
	wait 2>/dev/null
	[ "$fail" = 0 ] && rm -rf "$dir" || echo "# logs kept in $dir"
}
trap cleanup EXIT
ok() { pass=$((pass + 1)); echo "ok - $*"; }
not_ok() { fail=$((fail + 1)); echo "not ok - $*"; }
check() { local name=$1; shift; if "$@"; then ok "$name"; else not_ok "$name"; fi; }
wait_for() { for _ in $(seq 300); do eval "$1" && return 0; sleep 0.02; done; return 1; }
workers_of() { pgrep -P "$1" | wc -l; }
req() { "$TOOL" request -b -t 10 "$dir/app.sock" "/?$1" 2>>"$dir/req.err"; }

# start NAME JSON-EXTRA: config $dir/NAME.json, log $dir/NAME.log, sets $sup
start() {
	local name=$1 extra=$2
	rm -f "$dir/app.sock"
	cat >"$dir/$name.json" <<EOF
{
  "program": "$APP",
  "listen": "$dir/app.sock",
  $extra
}
EOF
	SFCGI_LOG_LEVEL=debug "$TOOL" run --config "$dir/$name.json" 2>"$dir/$name.log" &
	sup=$!
	wait_for "[ -S $dir/app.sock ]" || { not_ok "$name: instance did not start"; cat "$dir/$name.log"; return 1; }
}
stop() {
	kill -TERM "$sup" 2>/dev/null
	wait "$sup" 2>/dev/null
	local rc=$?
	sup=
	return $rc
}

# 1. prefork and crash restart
start crash '"workers": 3, "limits": { "max_stdin_bytes": 200000 }' || exit 1
check "3 workers forked" wait_for '[ $(workers_of $sup) = 3 ]'
check "READY after all workers serve" wait_for "grep -q '3 worker(s) serving' $dir/crash.log"
req crash >/dev/null
check "a crash is logged with its signal" wait_for "grep -q 'killed by SIGABRT' $dir/crash.log"
check "the crashed worker is replaced" wait_for '[ $(workers_of $sup) = 3 ]'
check "requests still served after the crash" bash -c "$(declare -f req); TOOL=$TOOL dir=$dir; req pid | grep -q pid="
# sfcgi_read_all(): SIZE_MAX means no limit of its own; one byte over max is -EFBIG
head -c 100000 /dev/zero >"$dir/body"
readall() { "$TOOL" request -b -t 10 -d "$dir/body" "$dir/app.sock" "/?readall=$1" 2>>"$dir/req.err" | head -1; }
check "sfcgi_read_all, max SIZE_MAX: the whole body" test "$(readall max)" = readall=100000
check "sfcgi_read_all, max = body length: the whole body" test "$(readall 100000)" = readall=100000
check "sfcgi_read_all, max one byte short: EFBIG" test "$(readall 99999)" = readall=EFBIG
head -c 300000 /dev/zero >"$dir/big"
# (no CONTENT_LENGTH: one over the limit is answered 413 before the handler runs)
check "sfcgi_read of 0 bytes after EFBIG: 0, as documented" test "$("$TOOL" request -b -t 10 \
	-p CONTENT_LENGTH= -d "$dir/big" "$dir/app.sock" "/?read0" 2>>"$dir/req.err" | head -1)" \
	= "read=EFBIG read0=0"
# sfcgi request: the exit status follows a Status: line, and one that is no
# HTTP status is an error, as a web server's 502
rawstatus() { "$TOOL" request -t 10 "$dir/app.sock" "/?rawstatus=$1" >/dev/null 2>>"$dir/req.err"; echo $?; }
check "sfcgi request: Status 302 exits 0" test "$(rawstatus 302)" = 0
check "sfcgi request: Status 404 exits 4" test "$(rawstatus 404)" = 4
check "sfcgi request: Status 503 exits 5" test "$(rawstatus "503 Busy")" = 5
check "sfcgi request: Status 42 exits 5" test "$(rawstatus 42)" = 5
check "sfcgi request: Status abc exits 5" test "$(rawstatus abc)" = 5
check "sfcgi request: Status 2000 exits 5" test "$(rawstatus 2000)" = 5
check "sfcgi request: Status 200x exits 5" test "$(rawstatus 200x)" = 5
check "sfcgi request: an invalid Status is named" grep -q "Status: line is not an HTTP status" "$dir/req.err"
victim=$(pgrep -P "$sup" | head -1)
kill -9 "$victim"
check "kill -9 of a worker: logged" wait_for "grep -q 'worker $victim killed by SIGKILL' $dir/crash.log"
check "kill -9 of a worker: replaced" wait_for '[ $(workers_of $sup) = 3 ] && ! kill -0 $victim 2>/dev/null'
check "SIGTERM: clean exit" stop

# 2. a worker that fails at start backs off instead of spinning
TESTAPP_FAIL_JSON='"workers": 1, "environment": { "TESTAPP_INIT_FAIL": "1" }'
start initfail "$TESTAPP_FAIL_JSON" || exit 1
sleep 3
n=$(grep -c 'restarting it in' "$dir/initfail.log")
check "init failure: restarts back off ($n in 3 s, expected 3..9)" test "$n" -ge 3 -a "$n" -le 9
check "init failure: the log says why" grep -q "the application's init failed" "$dir/initfail.log"
check "init failure: increasing delay" grep -q 'restarting it in 0.4 s' "$dir/initfail.log"
stop

# 3. max_requests recycles workers without losing a request
start recycle '"workers": 1, "max_requests": 5' || exit 1
: >"$dir/pids"
for i in $(seq 12); do req pid >>"$dir/pids" || echo FAILED >>"$dir/pids"; done
check "max_requests: no request failed" bash -c "! grep -q FAILED $dir/pids && [ \$(grep -c pid= $dir/pids) = 12 ]"
check "max_requests: 3 workers served 12 requests" test "$(sort -u "$dir/pids" | wc -l)" = 3
check "max_requests: recycling logged" grep -q 'recycled after 5 requests (max_requests)' "$dir/recycle.log"
stop

# 4. request_timeout: the stuck worker answers 504 and is replaced
start timeout '"workers": 1, "request_timeout": 1' || exit 1
before=$(req pid)
t0=$(date +%s%N)
out=$("$TOOL" request -t 10 "$dir/app.sock" "/?sleep=8000" 2>&1)
t1=$(date +%s%N)
check "request_timeout: a clean 504" grep -q "Status: 504" <<<"$out"
check "request_timeout: within 3 s ($(((t1 - t0) / 1000000)) ms)" test $(((t1 - t0) / 1000000)) -lt 3000
check "request_timeout: logged" grep -q 'request_timeout=1 s' "$dir/timeout.log"
after=$(req pid)
check "request_timeout: a fresh worker serves ($before -> $after)" test -n "$after" -a "$before" != "$after"
stop

# 5. SIGTERM lets the request in flight finish
start drain '"workers": 2' || exit 1
"$TOOL" request -b -t 10 "$dir/app.sock" "/?sleep=1000" >"$dir/drain.out" 2>&1 &
client=$!
sleep 0.3
kill -TERM "$sup"
wait "$client"
check "SIGTERM: the request in flight completes" grep -q pid= "$dir/drain.out"
wait "$sup"
check "SIGTERM: supervisor exits 0 after draining" test $? = 0
sup=

# 6. reload under load: 20 reloads, 32 busy connections, nothing lost
start reload '"workers": 2' || exit 1
python3 "$here/load.py" "$dir/app.sock" 32 6 >"$dir/load.out" 2>&1 &
loader=$!
sleep 0.5
for i in $(seq 20); do
	kill -HUP "$sup"
	wait_for "[ \$(grep -c 'reload complete' $dir/reload.log) -ge $i ]" || break
	sleep 0.05
done
wait "$loader"
lrc=$?
echo "# load during reloads: $(head -1 "$dir/load.out")"
check "20 reloads completed" test "$(grep -c 'reload complete' "$dir/reload.log")" = 20
check "reload under load: zero failed requests" test "$lrc" = 0
check "reload under load: no kept connection closed (handed over instead)" grep -q "retried=0" "$dir/load.out"
check "reload keeps the supervisor PID" kill -0 "$sup"
check "reload: 2 workers afterwards" wait_for '[ $(workers_of $sup) = 2 ]'

# 7. a bad config is refused at reload; the instance keeps serving
cp "$dir/reload.json" "$dir/reload.good"
printf '{\n  "program": "%s",\n  "workers": "two"\n}\n' "$APP" >"$dir/reload.json"
kill -HUP "$sup"
check "bad reload: file:line:col error logged" wait_for "grep -q 'reload refused: $dir/reload.json:3:14: \"workers\": expected a number' $dir/reload.log"
check "bad reload: still serving" bash -c "$(declare -f req); TOOL=$TOOL dir=$dir; req pid | grep -q pid="
check "bad reload: same supervisor" kill -0 "$sup"
stop

# 8. a bad config at start: one line, exit 78 (EX_CONFIG)
printf '{\n  "program": "%s",\n  "wrokers": 2\n}\n' "$APP" >"$dir/bad.json"
"$TOOL" run --config "$dir/bad.json" 2>"$dir/bad.log"
check "bad config at start: exit 78" test $? = 78
check "bad config at start: names file:line:col and key" grep -q "$dir/bad.json:3:3: .*wrokers" "$dir/bad.log"
"$TOOL" run --user --config "$dir/bad.json" 2>"$dir/user-config.log"
check "run --user --config: usage error, exit 2" test $? = 2
check "run --user --config: says why" grep -q -- "--user looks an INSTANCE up" "$dir/user-config.log"

# 9. idle exit when socket-activated (systemd-socket-activate gives LISTEN_FDS)
cat >"$dir/idle.json" <<EOF
{ "program": "$APP", "workers": 1, "idle_timeout": 1 }
EOF
rm -f "$dir/app.sock"
SFCGI_LOG_LEVEL=debug systemd-socket-activate -l "$dir/app.sock" --fdname=fastcgi \
	"$TOOL" run --config "$dir/idle.json" 2>"$dir/idle.log" &
sa=$!
wait_for "[ -S $dir/app.sock ]"
check "idle: first request served" bash -c "$(declare -f req); TOOL=$TOOL dir=$dir; req pid | grep -q pid="
check "idle: exits after idle_timeout" wait_for "! kill -0 $sa 2>/dev/null"
check "idle: says why" grep -q 'idle for 1 s (idle_timeout)' "$dir/idle.log"

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
