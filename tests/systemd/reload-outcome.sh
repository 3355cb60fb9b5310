#!/bin/bash
# SPDX-License-Identifier: MIT
#
# `systemctl reload` tells the truth, under a real systemd (one throw-away
# nspawn container, see lib.sh) and the shipped units: ExecReload= runs
# `sfcgi reload`, which waits for the supervisor's outcome.
#
#   1  a good reload: systemctl reload exits 0, a new generation serves
#   2  a config that does not parse: systemctl reload fails; systemctl status
#      names the file:line:col; same MainPID, the instance still serves
#   3  a config that loads but whose program fails at start
#      (TESTAPP_INIT_FAIL): systemctl reload fails; status says "rolled
#      back"; the old generation still serves
#   4  the good config again: systemctl reload exits 0; STATUS= no longer
#      says the reload failed
#   5  systemctl reload during a reload that a SIGHUP started, the old
#      generation still draining a request: exits 0 and the config written
#      last serves (systemd 252 holds the job until READY=1, which comes only
#      once no reload is left to run);
#      the workers' open files limit is the hard one (raised under the unit's
#      SystemCallFilter=); a worker's kill -9 is "killed by SIGKILL", the
#      cgroup's OOM count being readable under the unit's sandbox
#
#   tests/systemd/reload-outcome.sh [SFCGI ECHO TESTAPP LIBSFCGI UNITDIR]
#
# Prints "ok - ..." / "not ok - ..." lines and "N passed, N failed"; exits 1
# if anything failed, 77 (skip) without root.
# SFCGI_TEST_DROPIN='Key=value' adds a [Service] drop-in to app@.service (e.g.
# the former ExecReload=/bin/kill -HUP $MAINPID, to see this test fail).

# shellcheck disable=SC2154,SC2016,SC2015,SC2034  # variables come from instance-lib.sh, top goes to it
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
# shellcheck source=instance-lib.sh
. "$here/instance-lib.sh"
si_init reload-outcome "$@"

sd_prepare reload-outcome || exit 1
si_install || exit 1
good='{"program": "/usr/local/lib/sfcgi/testapp", "workers": 2}'
sd_write_file /etc/sfcgi/wiki.json 0644 <<<"$good"
sd_start || exit 1
note "container $SD_NAME booted in ${SD_BOOT_MS} ms"
sock=/run/sfcgi/wiki.sock
in_c systemctl enable --now "$sock_unit" >/dev/null 2>&1 || bail_out "enable --now $sock_unit"
req "$sock" pid | grep -q '^pid=' || bail_out "the first request is not answered"
wait_for 5 "active $unit active" || bail_out "$unit is not active"
pid0=$(mainpid)

# reload: systemctl reload; sets rc and out (its stdout and stderr)
reload() {
	out=$(in_c timeout 90 systemctl reload "$unit" 2>&1)
	rc=$?
	[ -z "$out" ] || printf '%s\n' "$out" | sed 's/^/#   systemctl: /'
}
status() { in_c systemctl --no-pager -n 20 status "$unit" 2>&1; }
serves() { req "$sock" pid | grep -q '^pid='; }

# ---------------------------------------------------------------- 1
reload
check "1 a good reload: systemctl reload exits 0 ($rc)" test "$rc" = 0
check "1 the journal has sfcgi reload's line" \
	wait_for 5 "[ \$(jcount 'sfcgi reload wiki: generation 2 serves') = 1 ]"
check "1 same MainPID, still serving" test "$(mainpid)" = "$pid0" -a -n "$(serves && echo y)"

# ---------------------------------------------------------------- 2
in_c sh -c 'printf "{\"program\": \"/usr/local/lib/sfcgi/testapp\",\n  \"workers\": 2,,\n}\n" >/etc/sfcgi/wiki.json'
t=$(sd__now)
reload
note "refused reload answered in $(($(sd__now) - t)) ms"
check "2 a config that does not parse: systemctl reload fails ($rc)" test "$rc" != 0
st=$(status)
printf '%s\n' "$st" | grep -E 'Status:|sfcgi reload' | sed 's/^/#   status: /'
check "2 systemctl status names file:line:col and says refused" \
	grep -qE 'reload failed: refused: /etc/sfcgi/wiki.json:2:[0-9]+: ' <<<"$st"
check "2 STATUS= says the last reload was refused" grep -q 'Status: .*last reload refused' <<<"$st"
check "2 same MainPID, active, still serving" \
	test "$(mainpid)" = "$pid0" -a -n "$(active "$unit" active && serves && echo y)"

# ---------------------------------------------------------------- 3
sd_write_file /etc/sfcgi/wiki.json 0644 <<'EOF2'
{"program": "/usr/local/lib/sfcgi/testapp", "workers": 2,
 "environment": {"TESTAPP_INIT_FAIL": "1"}}
EOF2
t=$(sd__now)
reload
note "rolled-back reload answered in $(($(sd__now) - t)) ms"
check "3 a program that fails at start: systemctl reload fails ($rc)" test "$rc" != 0
st=$(status)
printf '%s\n' "$st" | grep -E 'Status:|sfcgi reload' | sed 's/^/#   status: /'
check "3 systemctl status says rolled back, and why" \
	grep -qE 'reload failed: rolled back: its new workers failed [0-9]+ times before serving' <<<"$st"
check "3 STATUS= says the reload failed" grep -q 'Status: .*reload failed' <<<"$st"
check "3 same MainPID, active, the old generation still serves" \
	test "$(mainpid)" = "$pid0" -a -n "$(active "$unit" active && serves && echo y)"

# ---------------------------------------------------------------- 4
sd_write_file /etc/sfcgi/wiki.json 0644 <<<"$good"
reload
check "4 the good config again: systemctl reload exits 0 ($rc)" test "$rc" = 0
check "4 STATUS= no longer says failed" \
	wait_for 3 "! in_c systemctl show -P StatusText $unit | grep -q failed"
note "StatusText: $(in_c systemctl show -P StatusText "$unit")"
check "4 same MainPID, still serving" test "$(mainpid)" = "$pid0" -a -n "$(serves && echo y)"

# ---------------------------------------------------------------- 5
marked() { printf '{"program": "/usr/local/lib/sfcgi/testapp", "workers": 2, "environment": {"MARK": "%s"}}\n' "$1"; }
req "$sock" sleep=3000 >/dev/null &
slow=$!
sleep 0.3
marked b | sd_write_file /etc/sfcgi/wiki.json 0644
in_c kill -HUP "$(mainpid)"
sleep 0.2
marked c | sd_write_file /etc/sfcgi/wiki.json 0644
t=$(sd__now)
reload
note "systemctl reload during a SIGHUP's reload answered in $(($(sd__now) - t)) ms"
check "5 systemctl reload during a reload (the old generation draining): exit 0 ($rc)" \
	test "$rc" = 0
check "5 the config written last serves" wait_for 5 "req $sock env=MARK | grep -qx env=c"
wait "$slow"
w=$(in_c pgrep -P "$(mainpid)" | head -1)
lim=$(in_c awk '/^Max open files/ { print $4 ":" $5 }' "/proc/$w/limits")
check "5 a worker's open files limit is raised to the hard one ($lim)" \
	test -n "$lim" -a "${lim%%:*}" = "${lim##*:}" -a "${lim%%:*}" != 1024

in_c kill -9 "$w"
wait_for 5 "[ \$(jcount 'worker $w killed by') = 1 ]"
note "$(jlines "worker $w killed by")"
check "5 a worker's kill -9 is told from an OOM kill (the cgroup's count is readable in the unit)" \
	test "$(jcount "worker $w killed by SIGKILL; restarting")" = 1

[ "$fail" = 0 ] || diag "reload-outcome"
si_done
