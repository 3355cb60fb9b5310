#!/bin/bash
# SPDX-License-Identifier: MIT
#
# The deployment story under a real systemd (one throw-away nspawn container,
# see lib.sh): the shipped units app@.socket / app@.service run
# /etc/sfcgi/wiki.json, reached from a real nginx on the host.
#
#   1  enable --now app@wiki.socket: socket mode/group, service not started
#   2  first request activates it: cold-start time, 2 workers, STATUS=, dynamic user
#   3  nginx (host) -> fastcgi_pass unix:/run/sfcgi/wiki.sock (inside)
#   4  20 x systemctl reload under 32 busy connections through nginx: 0 failed
#   5  a replaced program binary is picked up by reload (same MainPID)
#   6  systemctl restart under load: nothing refused, nothing failed
#   7  kill -9 of a worker under load: replaced, logged, the other one serves
#   8  idle exit after idle_timeout, re-activation on the next connection
#   9  an invalid config is refused at reload (systemctl reload fails); the
#      instance keeps serving
#   9b WatchdogSec=2s: the pings keep it alive, a stopped supervisor is caught
#   10 a systemctl --user instance, reached by www-data through an ACL
#   +  systemd-analyze verify (silent) and security (exposure printed)
#
#   tests/systemd/instance.sh [SFCGI ECHO TESTAPP LIBSFCGI UNITDIR]
#
# Defaults: the build/ tree (build/src/sfcgi, build/examples/echo,
# build/tests/integration/testapp, build/src/libsfcgi.so.*, build/units).
# Prints "ok - ..." / "not ok - ..." lines and "N passed, N failed"; exits 1
# if anything failed, 77 (skip) without root. Needs nginx, curl and setfacl
# (acl) on the host; uses wrk (through nginx) when installed, else
# httpload.py. The numbers (cold start, requests during the reloads, failed,
# retried) are printed as "# ..." lines.
# SFCGI_TEST_DROPIN='Key=value' adds a [Service] drop-in to app@.service, to
# tell a unit problem from a code problem; never set it in the suite.

# shellcheck disable=SC2154,SC2016,SC2015  # variables come from instance-lib.sh
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
# shellcheck source=instance-lib.sh
. "$here/instance-lib.sh"
si_init instance "$@"

# ---------------------------------------------------------------- set up
phase_t=$(sd__now)
sd_prepare instance || exit 1
si_install || exit 1
sd_write_file /etc/sfcgi/wiki.json 0644 <<'EOF'
{"program": "/usr/local/lib/sfcgi/testapp", "workers": 2, "idle_timeout": 4}
EOF
cp "$SD_ROOT/etc/sfcgi/wiki.json" "$tmp/wiki.json.good"
sd_start || exit 1
note "container $SD_NAME booted in ${SD_BOOT_MS} ms (set-up $(($(sd__now) - phase_t)) ms)"

# verify LABEL CMD...: CMD (a systemd-analyze verify) prints nothing. It
# also runs man(1) on each Documentation=man: page: a page missing from the
# tree is a SKIP, a page in the tree that was not found a failure.
verify() {
	local label=$1 out rest page name sec
	shift
	out=$("$@" 2>&1)
	rest=$(grep -v "Command 'man .*' failed with code 16" <<<"$out")
	check "verify: $label is silent" test -z "$rest"
	[ -z "$rest" ] || printf '%s\n' "$rest" | sed 's/^/#   /'
	grep -o "Command 'man [^']*' failed" <<<"$out" | sed "s/Command 'man \([^']*\)' failed/\1/" |
		sort -u >"$tmp/man-missing"
	while read -r page; do
		name=${page%(*} sec=${page#*(} sec=${sec%)}
		if [ -e "$top/man/$name.$sec" ] || [ -e "$top/build/man/$name.$sec" ]; then
			not_ok "verify: $label: Documentation=man:$page is installed"
		else
			ok "verify: $label: Documentation=man:$page is installed # SKIP man/$name.$sec not in the tree yet"
		fi
	done <"$tmp/man-missing"
}
verify "systemd-analyze verify app@wiki.socket app@wiki.service" \
	in_c systemd-analyze verify app@wiki.socket app@wiki.service

# ---------------------------------------------------------------- 1
sock=/run/sfcgi/wiki.sock
in_c systemctl enable --now "$sock_unit" >"$tmp/enable.out" 2>&1
check "1 enable --now $sock_unit succeeds" test $? = 0
check "1 $sock_unit is active" active "$sock_unit" active
st=$(in_c stat -c '%A %U %G' "$sock" 2>&1)
check "1 $sock exists: $st (expected srw-rw---- root www-data)" test "$st" = "srw-rw---- root www-data"
check "1 $unit is inactive before any connection" active "$unit" inactive

# ---------------------------------------------------------------- 2
out=$("$python" "$client_py" --timing "$(sd_path "$sock")" QUERY_STRING=pid REQUEST_URI=/?pid 2>"$tmp/cold.err")
rc=$?
cold=$(sed -n 's/.*connect to END_REQUEST \([0-9.]*\) ms.*/\1/p' "$tmp/cold.err")
note "cold start (connect to END_REQUEST, socket activation): ${cold:-?} ms"
state=$(in_c systemctl is-active "$unit")
check "2 the first request is answered (pid=)" test "$rc" = 0 -a -n "$(grep pid= <<<"$out")"
# READY=1 comes once every worker is ready; the first one may answer before.
note "$unit was '$state' when the first answer arrived"
check "2 $unit is active after it" wait_for 5 "active $unit active"
[ "$rc" = 0 ] && active "$unit" active ||
	bail_out "2 the instance does not serve: rc $rc, $unit $(in_c systemctl is-active "$unit")"
pid0=$(mainpid)
check "2 MainPID is set ($pid0)" test "${pid0:-0}" -gt 0
check "2 2 workers are children of MainPID" wait_for 5 "[ \$(workers_of $pid0) = 2 ]"
status_re='Status: "2 worker\(s\), [0-9]+ busy, [1-9][0-9]* requests served"'
check "2 systemctl status shows STATUS= with workers and requests served" \
	wait_for 5 "in_c systemctl --no-pager status $unit | grep -Eq '$status_re'"
note "$(in_c systemctl --no-pager status "$unit" | grep -E 'Status:' | sed 's/^ *//')"
w=$(in_c pgrep -P "$pid0" | head -n 1)
wuid=$(in_c awk '/^Uid:/ { print $2 }' "/proc/$w/status")
suid=$(in_c awk '/^Uid:/ { print $2 }' "/proc/$pid0/status")
note "supervisor uid $suid, worker $w uid $wuid, user $(in_c systemctl show -P User "$unit") (DynamicUser=$(in_c systemctl show -P DynamicUser "$unit"))"
check "2 the workers run as a dynamic user (uid $wuid, not 0)" test -n "$wuid" -a "${wuid:-0}" != 0

# ---------------------------------------------------------------- 3
check "3 nginx (host) listens on 127.0.0.1, fastcgi_pass unix:$(sd_path "$sock")" \
	si_nginx_start "$sock"
out=$(curl -s -m 10 -w '\n%{http_code}' "$url/wiki?pid")
check "3 curl -> nginx -> $sock: 200 with the app's answer ($(tr '\n' ' ' <<<"$out"))" \
	test "$(tail -n 1 <<<"$out")" = 200 -a -n "$(grep '^pid=' <<<"$out")"

# ---------------------------------------------------------------- 4
nreload=20 conns=32
si_load_start "$conns" "$url/wiki?pid" pid=
sleep 1
t4=$(sd__now)
ok_reloads=0
for i in $(seq "$nreload"); do
	before=$(reloads_done)
	in_c timeout 30 systemctl reload "$unit" || { note "systemctl reload #$i failed"; break; }
	wait_for 10 "[ \$(reloads_done) -gt $before ]" || { note "reload #$i: no 'reload complete'"; break; }
	ok_reloads=$((ok_reloads + 1))
done
reload_ms=$(($(sd__now) - t4))
sleep 0.5
si_load_stop
si_nginx_errors
note "reload under load ($loadgen, $conns connections through nginx): $ok_reloads reloads in $reload_ms ms;" \
	"requests ${load_total:-?}, good ${load_good:-?}, failed ${load_bad:-?}, non-2xx ${load_non2xx:-0}," \
	"socket errors ${load_sockerr:-none}; nginx retried $ngx_retry request(s) on kept connections" \
	"the draining app had closed; other nginx errors: $ngx_other"
check "4 $nreload x systemctl reload completed under load" test "$ok_reloads" = "$nreload"
check "4 zero failed requests during the reloads (${load_good:-?} good, ${load_bad:-?} bad)" \
	test "${load_good:-0}" -gt 0 -a "${load_bad:-1}" = 0 -a -z "$load_non2xx" -a -z "$load_sockerr"
check "4 nginx logged no upstream errors other than retries ($ngx_other)" test "$ngx_other" = 0
head -n 5 "$tmp/nginx/errors.other" | sed 's/^/#   /'
check "4 STATUS= no longer says 'reloading'" \
	wait_for 5 "! in_c systemctl show -P StatusText $unit | grep -q reloading"
check "4 MainPID unchanged ($pid0 -> $(mainpid))" test "$(mainpid)" = "$pid0"
check "4 2 workers at the end" wait_for 5 "[ \$(workers_of $pid0) = 2 ]"
[ "$fail" = 0 ] || diag "after reloads"

# ---------------------------------------------------------------- 5
replace() {  # replace SRC: atomically put SRC in place of the program
	in_c sh -c "cp '$1' /usr/local/lib/sfcgi/.testapp.new &&
		mv -f /usr/local/lib/sfcgi/.testapp.new /usr/local/lib/sfcgi/testapp"
}
in_c cp /usr/local/lib/sfcgi/testapp /usr/local/lib/sfcgi/testapp.orig
replace /usr/local/lib/sfcgi/echo
check "5 reload after replacing the program with echo" reload_wait
out=$(curl -s -m 10 "$url/wiki?pid")
check "5 the answer is now echo's (role=1)" grep -q '^role=1' <<<"$out"
check "5 MainPID unchanged ($pid0 -> $(mainpid))" test "$(mainpid)" = "$pid0"
replace /usr/local/lib/sfcgi/testapp.orig
reload_wait
check "5 back to testapp after another replace + reload" grep -q '^pid=' <<<"$(curl -s -m 10 "$url/wiki?pid")"

# nginx's kept upstream connections would keep the instance from idling (8).
si_nginx_stop

# ---------------------------------------------------------------- 6
sock_host=$(sd_path "$sock")
bg KILL "$python" "$load_py" "$sock_host" "$conns" 5 pid >"$tmp/restart.out" 2>&1
lg=$!
sleep 1.5
t6=$(sd__now)
in_c timeout 60 systemctl restart "$unit"
rrc=$?
restart_ms=$(($(sd__now) - t6))
# While the load still runs: the new instance took the kept connections out
# of the store, or systemd's copies would keep them open after it closes them.
nstore_zero() { nstore=$(in_c systemctl show -P NFileDescriptorStore "$unit"); [ "$nstore" = 0 ]; }
wait_for 2 nstore_zero
wait "$lg"
sed 's/^/#   /' "$tmp/restart.out"
r_ok=$(sed -n 's/^ok=\([0-9]*\) .*/\1/p' "$tmp/restart.out")
r_failed=$(sed -n 's/^ok=.* failed=\([0-9]*\) .*/\1/p' "$tmp/restart.out")
r_retried=$(sed -n 's/^ok=.* retried=\([0-9]*\).*/\1/p' "$tmp/restart.out")
r_refused=$(grep -c 'ConnectionRefused' "$tmp/restart.out")
pid1=$(mainpid)
note "restart under load (load.py, $conns connections): restart took $restart_ms ms; ok ${r_ok:-?}," \
	"failed ${r_failed:-?}, retried ${r_retried:-?} (kept connections closed by the draining app)," \
	"refused $r_refused; MainPID $pid0 -> $pid1"
check "6 systemctl restart succeeded, new MainPID" test "$rrc" = 0 -a "${pid1:-0}" -gt 0 -a "$pid1" != "$pid0"
check "6 the kept connections were taken out of systemd's fd store (NFileDescriptorStore=$nstore)" \
	test "$nstore" = 0
check "6 zero refused connections" test "$r_refused" = 0
check "6 zero failed requests (${r_ok:-?} ok, ${r_retried:-?} retried)" test -n "$r_ok" -a "${r_failed:-1}" = 0
[ "${r_failed:-1}" = 0 ] && [ "${pid1:-0}" -gt 0 ] || diag "after restart"

# ---------------------------------------------------------------- 7
check "7 2 workers before the kill" wait_for 5 "[ \$(workers_of $pid1) = 2 ]"
bg KILL "$python" "$load_py" "$sock_host" "$conns" 4 pid >"$tmp/kill.out" 2>&1
lg=$!
sleep 1.5
# The victim: the worker holding the most connections.
victim='' vconns=-1 spread=''
for w in $(in_c pgrep -P "$pid1"); do
	n=$(conns_of "$w")
	spread+=" $w:$n"
	[ "$n" -gt "$vconns" ] && victim=$w vconns=$n
done
note "connections per worker (pid:count):$spread"
in_c kill -9 "$victim"
wait "$lg"
t_last=$(sd__now)
sed 's/^/#   /' "$tmp/kill.out"
k_ok=$(sed -n 's/^ok=\([0-9]*\) .*/\1/p' "$tmp/kill.out")
k_failed=$(sed -n 's/^ok=.* failed=\([0-9]*\) .*/\1/p' "$tmp/kill.out")
k_retried=$(sed -n 's/^ok=.* retried=\([0-9]*\).*/\1/p' "$tmp/kill.out")
note "kill -9 of worker $victim (holding $vconns connections) under load: ok ${k_ok:-?}," \
	"failed ${k_failed:-?}, retried ${k_retried:-?}"
check "7 the other worker kept serving (${k_ok:-0} ok)" test "${k_ok:-0}" -gt 100
check "7 at most the killed worker's connections failed (${k_failed:-?} <= $vconns)" \
	test -n "$k_failed" -a "${k_failed:-999}" -le "$vconns"
check "7 the journal says 'worker $victim killed by SIGKILL'" \
	wait_for 5 "[ \$(jcount 'worker $victim killed by SIGKILL') = 1 ]"
note "$(jlines "worker $victim killed by SIGKILL")"
check "7 a replacement: 2 workers again, $victim gone" \
	wait_for 5 "[ \$(workers_of $pid1) = 2 ] && ! in_c pgrep -P $pid1 | grep -qx $victim"
check "7 MainPID unchanged" test "$(mainpid)" = "$pid1"

# ---------------------------------------------------------------- 8
idle_max=7000
check "8 idle: $unit goes inactive after idle_timeout (4 s)" wait_for 15 "active $unit inactive"
idle_ms=$(($(sd__now) - t_last))
note "inactive $idle_ms ms after the last connection closed; result $(in_c systemctl show -P Result "$unit")"
check "8 the journal says 'idle for 4 s'" wait_for 3 "[ \$(jcount 'idle for 4 s \\(idle_timeout\\)') -ge 1 ]"
note "$(jlines 'idle for 4 s' | tail -n 1)"
# The supervisor looks every 250 ms: up to that much early.
check "8 not before idle_timeout, not much later (${idle_ms} ms)" test "$idle_ms" -ge 3700 -a "$idle_ms" -le "$idle_max"
check "8 $sock_unit stays active" active "$sock_unit" active
out=$("$python" "$client_py" --timing "$sock_host" QUERY_STRING=pid 2>"$tmp/warm.err")
rc=$?
note "re-activation: $(grep -o 'connect to END_REQUEST.*' "$tmp/warm.err")"
check "8 the next request starts it again and is answered" test "$rc" = 0 -a -n "$(grep pid= <<<"$out")"
pid2=$(mainpid)
check "8 $unit active again (MainPID $pid2)" wait_for 5 "active $unit active && [ ${pid2:-0} -gt 0 ]"

# ---------------------------------------------------------------- 9
# A light load keeps it from idling meanwhile, and proves it keeps answering.
bg KILL "$python" "$load_py" "$sock_host" 2 4 pid >"$tmp/bad.out" 2>&1
lg=$!
sleep 0.5
sd_write_file /etc/sfcgi/wiki.json <<'EOF'
{
  "program": "/usr/local/lib/sfcgi/testapp",
  "workers": 2,
  "idle_timeout": 4,
}
EOF
in_c timeout 30 systemctl reload "$unit" 2>/dev/null
rc=$?
check "9 systemctl reload with an invalid config fails (exit $rc; sfcgi reload)" test "$rc" != 0
check "9 the supervisor's log names /etc/sfcgi/wiki.json:LINE:COL: once" \
	wait_for 5 "[ \$(jcount 'reload refused: /etc/sfcgi/wiki.json:[0-9]+:[0-9]+:') = 1 ]"
check "9 so does sfcgi reload's (ExecReload=)" \
	wait_for 5 "[ \$(jcount 'sfcgi reload wiki: reload failed: refused: /etc/sfcgi/wiki.json:[0-9]+:[0-9]+:') = 1 ]"
note "$(jlines '/etc/sfcgi/wiki.json:[0-9]+:[0-9]+:')"
check "9 still active, same MainPID ($pid2)" test "$(in_c systemctl is-active "$unit")" = active -a "$(mainpid)" = "$pid2"
check "9 still answering" grep -q pid= <<<"$(req "$sock" pid)"
wait "$lg"
note "load during the refused reload: $(head -n 1 "$tmp/bad.out")"
check "9 no request failed meanwhile" grep -q '^ok=[1-9][0-9]* failed=0 ' "$tmp/bad.out"
sd_install_file "$tmp/wiki.json.good" /etc/sfcgi/wiki.json 0644
if active "$unit" active; then
	check "9 restored: the reload is accepted again" reload_wait
fi
check "9 restored: answers" grep -q pid= <<<"$(req "$sock" pid)"

# ---------------------------------------------------------------- 9b
# The watchdog, spoken by activation.c (no libsystemd in the instance):
# with WatchdogSec=2s in a runtime drop-in, the supervisor's WATCHDOG=1
# keeps the instance alive well past the period (systemd stamps every ping
# in WatchdogTimestampMonotonic), and a stopped supervisor is caught.
wd_dir=/run/systemd/system/$unit.d
sd_write_file "$wd_dir/watchdog.conf" 0644 <<'EOF'
[Service]
WatchdogSec=2s
EOF
in_c systemctl daemon-reload
in_c timeout 30 systemctl restart "$unit"
pid3=$(mainpid)
ts1=$(in_c systemctl show -P WatchdogTimestampMonotonic "$unit")
# a light load: idle_timeout (4 s) would end the instance meanwhile
bg KILL "$python" "$load_py" "$sock_host" 2 8 pid >"$tmp/wd.out" 2>&1
lg=$!
sleep 6.5
ts2=$(in_c systemctl show -P WatchdogTimestampMonotonic "$unit")
check "9b WatchdogSec=2s: active 6.5 s later, same MainPID (${pid3:-?})" \
	test "$(in_c systemctl is-active "$unit")" = active -a "$(mainpid)" = "${pid3:-x}"
check "9b systemd received the pings (WatchdogTimestampMonotonic ${ts1:-?} -> ${ts2:-?})" \
	test "${ts2:-0}" -gt "${ts1:-0}" -a "${ts1:-0}" -gt 0
wait "$lg"
check "9b no request failed meanwhile ($(head -n 1 "$tmp/wd.out"))" grep -q '^ok=[1-9][0-9]* failed=0 ' "$tmp/wd.out"
in_c kill -STOP "${pid3:-0}"
check "9b a stopped supervisor misses the watchdog (journal: Watchdog timeout)" \
	wait_for 10 "[ \$(jcount 'Watchdog timeout') -ge 1 ]"
in_c kill -CONT "${pid3:-0}"
in_c rm -rf "$wd_dir"
in_c systemctl daemon-reload
wait_for 60 "[ \"\$(mainpid)\" != \"${pid3:-0}\" ]" >/dev/null
in_c timeout 30 systemctl restart "$unit"
check "9b without the drop-in: active again and answering" grep -q pid= <<<"$(req "$sock" pid)"

# ---------------------------------------------------------------- 10
user=sfcgiuser uid=1500
rt=/run/user/$uid
uenv=(env "XDG_RUNTIME_DIR=$rt" "DBUS_SESSION_BUS_ADDRESS=unix:path=$rt/bus")
as_user() { in_c runuser -u "$user" -- "${uenv[@]}" "$@"; }
in_c useradd -m -u "$uid" -s /bin/sh "$user"
sd_write_file "/home/$user/.config/sfcgi/wiki.json" 0644 <<'EOF'
{"program": "/usr/local/lib/sfcgi/testapp", "workers": 2}
EOF
in_c chown -R "$user:" "/home/$user/.config"
in_c loginctl enable-linger "$user"
check "10 the user manager of $user is up" wait_for 20 "[ -S $(sd_path "$rt/bus") ]"
as_user timeout 30 systemctl --user is-system-running --wait >/dev/null 2>&1
as_user timeout 30 systemctl --user enable --now app@wiki.socket >"$tmp/user-enable.out" 2>&1
check "10 systemctl --user enable --now app@wiki.socket" test $? = 0
verify "10 systemd-analyze --user verify app@wiki.socket app@wiki.service" \
	as_user systemd-analyze --user verify app@wiki.socket app@wiki.service
usock=$rt/sfcgi/wiki.sock
check "10 $usock exists" test -S "$(sd_path "$usock")"
out=$(req "$usock" pid)
check "10 a request through $usock is answered ($out)" grep -q pid= <<<"$out"
upid=$(as_user systemctl --user show -P MainPID app@wiki.service)
uw=$(in_c pgrep -P "${upid:-1}" | head -n 1)
uwuid=$(in_c awk '/^Uid:/ { print $2 }' "/proc/${uw:-0}/status" 2>/dev/null)
check "10 the user's workers run as uid $uid (${uwuid:-?})" test "${uwuid:-}" = "$uid"
as_www() { in_c runuser -u www-data -- /usr/local/bin/sfcgi request -b -t 5 "$usock" "/?pid"; }
out=$(as_www 2>&1)
rc=$?
note "www-data before the ACL: rc $rc: $out"
check "10 www-data cannot reach the socket before the ACL" test "$rc" != 0 -a -z "$(grep pid= <<<"$out")"
in_c setfacl -m u:www-data:x "$rt"
note "$(in_c getfacl -p "$rt" 2>/dev/null | grep -v '^#' | tr '\n' ' ')"
out=$(as_www 2>&1)
rc=$?
check "10 www-data reaches it after setfacl -m u:www-data:x $rt ($out)" test "$rc" = 0 -a -n "$(grep pid= <<<"$out")"

# ---------------------------------------------------------------- security
in_c systemd-analyze security --no-pager "$unit" >"$tmp/security.out" 2>&1
note "systemd-analyze security $unit: $(grep -o 'Overall exposure level.*' "$tmp/security.out")"

si_done
