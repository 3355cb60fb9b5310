#!/usr/bin/env bash
# Names resolved once, by `sfcgi run` (src/ids.c, issue 12): a one-process
# app ("workers": 0) with "sandbox": {"user": "nobody"}, started by `sfcgi
# run --config` under strace, serves as nobody, maps no libnss_*, and after
# the exec of the program opens neither /etc/nsswitch.conf, /etc/passwd nor
# /etc/group: NSS ran in `sfcgi run`, which did open /etc/passwd, and the
# program took the ids from $SFCGI_IDS. The controls prove the trace would
# show it otherwise: the same program started without `sfcgi run` (no hint)
# or with a malformed hint (one log line) opens /etc/passwd itself.
# Runs as root (the user switch; CI does).
# Usage: ids.sh HELLO SFCGI_TOOL
set -u
HELLO=$1 TOOL=$2
if [ "$(id -u)" != 0 ] || ! command -v strace >/dev/null; then
	echo "# SKIP: needs root and strace (scripts/install-deps.sh)"
	exit 77
fi
dir=$(mktemp -d /tmp/sfcgi-ids-XXXXXX)
chmod 755 "$dir"
pass=0 fail=0
st=

cleanup() {
	[ -n "$st" ] && pkill -TERM -P "$st" 2>/dev/null
	wait 2>/dev/null
	[ "$fail" = 0 ] && rm -rf "$dir" || echo "# logs kept in $dir"
}
trap cleanup EXIT
ok() { pass=$((pass + 1)); echo "ok - $*"; }
not_ok() { fail=$((fail + 1)); echo "not ok - $*"; }
check() { local name=$1; shift; if "$@"; then ok "$name"; else not_ok "$name"; fi; }
wait_for() { for _ in $(seq 500); do eval "$1" && return 0; sleep 0.02; done; return 1; }

cat >"$dir/app.json" <<EOF
{ "program": "$HELLO", "listen": "$dir/app.sock", "workers": 0, "sandbox": { "user": "nobody" } }
EOF

# trace NAME CMD...: CMD under strace (openat and execve, children too) in
# the background; its pid (strace's child: the command, which sfcgi run's
# exec keeps) in $app, the trace in $dir/NAME.trace, stderr in $dir/NAME.log
trace() {
	local name=$1
	shift
	rm -f "$dir/app.sock"
	strace -f -e trace=openat,execve -o "$dir/$name.trace" "$@" 2>"$dir/$name.log" &
	st=$!
	wait_for "[ -S $dir/app.sock ]" || { not_ok "$name: no socket"; cat "$dir/$name.log"; return 1; }
	app=$(pgrep -P "$st" | head -n1)
}
untrace() {
	kill -TERM "$app" 2>/dev/null
	wait "$st" 2>/dev/null
	st=
}
# opened NAME WHEN: the /etc files NSS reads that the traced program opened
# before or after its exec of $HELLO
opened() {
	awk -v when="$2" -v prog="execve(\"$HELLO\"" '
		index($0, prog) && / = 0$/ { after = 1; next }
		/openat\(.*"\/etc\/(nsswitch\.conf|passwd|group)"/ {
			if ((when == "after") == (after == 1)) print
		}' "$dir/$1.trace"
}

# 1. through sfcgi run: the names come with the exec
trace run "$TOOL" run --config "$dir/app.json" || exit 1
check "answers a request" bash -c "'$TOOL' request -t 5 '$dir/app.sock' / | grep -q Hello"
uids=$(awk '/^Uid:/ { print $2, $3, $4, $5 }' "/proc/$app/status")
check "the app process ($app) runs as nobody (Uid $uids)" test "$uids" = "65534 65534 65534 65534"
check "its maps hold no libnss_*" bash -c "! grep -q libnss_ /proc/$app/maps"
untrace
check "the trace saw the exec of the program" grep -q "execve(\"$HELLO\".* = 0$" "$dir/run.trace"
check "sfcgi run opened /etc/passwd before the exec" test -n "$(opened run before)"
after=$(opened run after)
check "no /etc/nsswitch.conf, /etc/passwd or /etc/group after the exec${after:+: $after}" \
	test -z "$after"

# 2. controls: the program alone asks NSS, and the trace shows it
trace alone env SFCGI_CONFIG="$dir/app.json" "$HELLO" || exit 1
untrace
check "control: the program started without sfcgi run opens /etc/passwd" \
	test -n "$(opened alone after)"
trace malformed env SFCGI_CONFIG="$dir/app.json" SFCGI_IDS="u:nobody:1:1," "$HELLO" || exit 1
uids=$(awk '/^Uid:/ { print $2 }' "/proc/$app/status")
untrace
check "control: a malformed \$SFCGI_IDS gives no id of its own (Uid $uids)" test "$uids" = 65534
check "control: a malformed \$SFCGI_IDS is ignored, /etc/passwd opened" \
	test -n "$(opened malformed after)"
check "control: and said once in the log" \
	test "$(grep -c 'SFCGI_IDS ignored.*a .,. ends it' "$dir/malformed.log")" = 1

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
