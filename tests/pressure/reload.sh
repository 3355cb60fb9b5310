#!/usr/bin/env bash
# Reloads in quick succession (issue 15): a SIGHUP during a reload is
# remembered and one more reload follows, reading the configuration as it is
# then, so the configuration written last always applies.
#   1  four trials: config v(2i), SIGHUP, then after 0..1 s config v(2i+1),
#      SIGHUP, while the old generation still drains a request: the last
#      config serves (a request answers its mark)
#   2  `sfcgi reload` asked while a reload is under way (its new generation
#      slow to start) returns the outcome of a reload that read its config
#   3  a SIGHUP during a reload that is rolled back (its workers fail at
#      init): the reload after the rollback applies the config written last
# Usage: reload.sh TESTAPP SFCGI_TOOL
set -u
APP=$1 TOOL=$2
dir=$(mktemp -d /tmp/sfcgi-reload-XXXXXX)
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
wait_for() { for _ in $(seq 500); do eval "$1" && return 0; sleep 0.02; done; return 1; }
req() { "$TOOL" request -b -t 10 "$dir/app.sock" "/?$1" 2>>"$dir/req.err"; }
mark() { req env=MARK | sed -n 's/^env=//p'; }
# config MARK [INIT_SLEEP_MS [INIT_FAIL]]
config() {
	local fail=
	[ -n "${3:-}" ] && fail=', "TESTAPP_INIT_FAIL": "1"'
	cat >"$dir/app.json.tmp" <<EOF
{
  "program": "$APP",
  "listen": "$dir/app.sock",
  "workers": 1,
  "environment": { "MARK": "$1", "TESTAPP_INIT_SLEEP_MS": "${2:-0}"$fail }
}
EOF
	mv "$dir/app.json.tmp" "$dir/app.json"
}

mkdir -p "$dir/rt"
config v0
RUNTIME_DIRECTORY=$dir/rt SFCGI_LOG_LEVEL=debug "$TOOL" run --config "$dir/app.json" \
	2>"$dir/sup.log" &
sup=$!
wait_for "[ -S $dir/app.sock ] && [ \"\$(mark)\" = v0 ]" || { not_ok "the instance did not start"; cat "$dir/sup.log"; exit 1; }

# 1
for trial in 1 2 3 4; do
	delay=$(echo "0 0.05 0.3 1" | cut -d' ' -f$trial)
	# the old generation drains this one for 1.5 s: the first reload lasts that long
	req sleep=1500 >/dev/null &
	client=$!
	sleep 0.2
	config "v$((2 * trial))"
	kill -HUP "$sup"
	sleep "$delay"
	config "v$((2 * trial + 1))"
	kill -HUP "$sup"
	last="v$((2 * trial + 1))"
	wait_for "[ \"\$(mark)\" = $last ]"
	check "trial $trial: SIGHUPs $delay s apart: the last config ($last) serves (got $(mark))" \
		test "$(mark)" = "$last"
	wait "$client"
	# the next trial starts with no reload under way
	wait_for "grep -q 'reload complete' $dir/sup.log && ! tail -1 $dir/sup.log | grep -q 'reloading again'"
	sleep 0.5
done
check "a SIGHUP during a reload is said to bring one more" \
	grep -q 'SIGHUP during a reload: one more reload follows' "$dir/sup.log"
check "the supervisor still runs" kill -0 "$sup"

# 2
gen0=$(sed -n 's/^[a-z]*: generation \([0-9]*\).*/\1/p' "$dir/rt/reload")
config a 1500
RUNTIME_DIRECTORY=$dir/rt "$TOOL" reload --pid "$sup" t >"$dir/a.out" 2>&1 &
first=$!
sleep 0.4 # the first reload's new generation is starting (1.5 s)
config b 1500
RUNTIME_DIRECTORY=$dir/rt "$TOOL" reload --pid "$sup" t >"$dir/b.out" 2>&1
brc=$?
wait "$first"
arc=$?
echo "# first: $(cat "$dir/a.out")"
echo "# second: $(cat "$dir/b.out")"
check "sfcgi reload during a reload: exit 0 ($brc)" test "$brc" = 0
check "sfcgi reload during a reload: the outcome of the reload after it (generation $((gen0 + 2)))" \
	grep -q "generation $((gen0 + 2)) serves" "$dir/b.out"
check "the first sfcgi reload: exit 0 ($arc)" test "$arc" = 0
check "config b serves" wait_for "[ \"\$(mark)\" = b ]"

# 3
wait_for "tail -1 $dir/sup.log | grep -q 'reload complete'"
config bad 300 fail # three failures take over a second
kill -HUP "$sup"
sleep 0.1
config c
kill -HUP "$sup"
check "rolled back, then the config written last (c) serves" wait_for "[ \"\$(mark)\" = c ]"
check "the reload was rolled back" grep -q 'reload rolled back' "$dir/sup.log"
check "then reloaded again" bash -c "sed -n '/reload rolled back/,\$p' $dir/sup.log | grep -q 'reloading again'"

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
