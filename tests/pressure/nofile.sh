#!/usr/bin/env bash
# The open files limit (issue 15), each start under prlimit(1):
#   1  soft 1024, hard H (the shell's hard limit): the supervisor raises its
#      soft limit to H and its workers have H (/proc/PID/limits); a foreign
#      program is given back the 1024 it would have had, and so is a CGI
#      script that sfcgi-cgi runs
#   2  512:512, below what max_conns=1024 needs: one line says what it needs
#      and how to get it (LimitNOFILE=, ulimit -n); the instance serves
#   3  60:60 (main exited: "arranging the listening sockets: Invalid
#      argument"): it starts and serves, with that line
#   4  6:6: no room even for the listening socket: exits, naming the limit
# Usage: nofile.sh TESTAPP SFCGI_TOOL SFCGI_CGI
set -u
APP=$1 TOOL=$2 CGI=$3
dir=$(mktemp -d /tmp/sfcgi-nofile-XXXXXX)
pass=0 fail=0
sup=

cleanup() {
	[ -n "$sup" ] && kill -TERM "$sup" 2>/dev/null
	wait 2>/dev/null
	[ "$fail" = 0 ] && rm -rf "$dir" || echo "# logs kept in $dir"
}
trap cleanup EXIT
ok() { pass=$((pass + 1)); echo "ok - $*"; }
not_ok() { fail=$((fail + 1)); echo "not ok - $*"; }
check() { local name=$1; shift; if "$@"; then ok "$name"; else not_ok "$name"; fi; }
wait_for() { for _ in $(seq 300); do eval "$1" && return 0; sleep 0.02; done; return 1; }
req() { "$TOOL" request -b -t 10 "$dir/app.sock" "/?$1" 2>>"$dir/req.err"; }
serves() { req pid | grep -q '^pid='; }
# soft and hard "Max open files" of a process
limits() { awk '/^Max open files/ { print $4 ":" $5 }' "/proc/$1/limits"; }
# start NAME LIMIT JSON: under prlimit --nofile=LIMIT; sets $sup
start() {
	rm -f "$dir/app.sock"
	echo "$3" >"$dir/$1.json"
	prlimit --nofile="$2" "$TOOL" run --config "$dir/$1.json" 2>"$dir/$1.log" &
	sup=$!
	wait_for "[ -S $dir/app.sock ] && grep -q 'worker(s) serving' $dir/$1.log"
}
stop() { kill -TERM "$sup" 2>/dev/null; wait "$sup" 2>/dev/null; sup=; }
native="{ \"program\": \"$APP\", \"listen\": \"$dir/app.sock\", \"workers\": 2 }"

# 1
hard=$(ulimit -Hn)
if [ "$hard" = unlimited ] || [ "$hard" -le 2048 ]; then
	echo "# skipped 1: the hard limit ($hard) leaves nothing to raise to"
else
	start raise "1024:$hard" "$native"
	w=$(pgrep -P "$sup" | head -1)
	check "raise: the supervisor's soft limit is the hard one ($(limits "$sup"))" \
		test "$(limits "$sup")" = "$hard:$hard"
	check "raise: a worker has it too ($(limits "$w"))" test "$(limits "$w")" = "$hard:$hard"
	check "raise: no line about the limit" bash -c "! grep -q 'open files limit' $dir/raise.log"
	check "raise: serves" serves
	stop
	start foreign "1024:$hard" \
		"{ \"kind\": \"foreign\", \"program\": \"/bin/sleep\", \"args\": [\"60\"], \"listen\": \"$dir/app.sock\", \"workers\": 1 }"
	w=$(pgrep -P "$sup" | head -1)
	check "foreign: the supervisor raised its own ($(limits "$sup"))" \
		test "$(limits "$sup")" = "$hard:$hard"
	check "foreign: the program has the limit it started with ($(limits "$w"))" \
		test "$(limits "$w")" = "1024:$hard"
	stop
	mkdir -p "$dir/cgi-bin"
	printf '#!/bin/sh\necho "Content-Type: text/plain"\necho\necho "nofile=$(ulimit -n):$(ulimit -Hn)"\n' \
		>"$dir/cgi-bin/n.sh"
	chmod +x "$dir/cgi-bin/n.sh"
	start cgi "1024:$hard" \
		"{ \"program\": \"$CGI\", \"args\": [\"--root\", \"$dir/cgi-bin\"], \"listen\": \"$dir/app.sock\", \"workers\": 1, \"sandbox\": false }"
	w=$(pgrep -P "$sup" | head -1)
	got=$("$TOOL" request -b -t 10 -p SCRIPT_FILENAME="$dir/cgi-bin/n.sh" "$dir/app.sock" /n.sh 2>>"$dir/req.err")
	check "cgi: the worker has the raised limit ($(limits "$w"))" test "$(limits "$w")" = "$hard:$hard"
	check "cgi: a script has the limit the instance started with ($got)" \
		test "$got" = "nofile=1024:$hard"
	stop
fi

# 2
start low 512:512 "$native"
grep 'open files limit' "$dir/low.log" | sed 's/^/# /'
check "512: one line says the limit and what max_conns needs" \
	grep -q 'open files limit (RLIMIT_NOFILE) 512 (the hard limit) is below the 1089 this instance can need (a worker: max_conns=1024' "$dir/low.log"
check "512: it says how to raise it" grep -q 'LimitNOFILE=1089 in a drop-in.*ulimit -n 1089' "$dir/low.log"
check "512: one such line" test "$(grep -c 'open files limit' "$dir/low.log")" = 1
check "512: serves" serves
stop

# 3
start sixty 60:60 "$native"
check "60: serves (main exited: arranging the listening sockets)" serves
check "60: the line about the limit" grep -q 'open files limit (RLIMIT_NOFILE) 60 ' "$dir/sixty.log"
stop

# 4
rm -f "$dir/app.sock"
echo "$native" >"$dir/tiny.json"
prlimit --nofile=6:6 "$TOOL" run --config "$dir/tiny.json" 2>"$dir/tiny.log"
rc=$?
grep 'arranging' "$dir/tiny.log" | sed 's/^/# /'
check "6: exits with an error ($rc)" test "$rc" != 0
check "6: the message names the limit" \
	grep -q 'the open files limit (RLIMIT_NOFILE), 6, is too low even to place 1 socket(s)' "$dir/tiny.log"

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
