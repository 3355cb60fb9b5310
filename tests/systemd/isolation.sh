#!/bin/bash
# SPDX-License-Identifier: MIT
#
# One user per instance (units/app@.service: DynamicUser=yes, User=sfcgi-%i),
# under a real systemd (one throw-away nspawn container, see lib.sh): three
# instances of testapp, a and b as shipped, c with the named-user drop-in
# (DynamicUser=no, User=alice: the suexec replacement).
#
#   1  a, b and c run as three different users, none root; c as alice
#   2  each has its own state, cache and log directories, owned by its user,
#      mode 0700
#   3  from inside a's service context (an ExecStartPost= drop-in: a's user
#      and a's whole sandbox), kill -0 on b's supervisor and worker and on c's
#      supervisor fails with EPERM, PTRACE_ATTACH fails with EPERM, reading
#      /proc/PID/mem fails, and b's and c's state files cannot be read; the
#      same probe on a's own supervisor and state file succeeds
#   4  with a's user alone (systemd-run: no filter, no ProtectProc=), kill,
#      ptrace and /proc/PID/mem are still refused: the separate uid does it
#   5  the control: the same bare probe as b's user (systemd-run with
#      User=sfcgi-b shares b's dynamic uid) may signal b; so a shared uid is
#      seen (the defect this test guards against: every instance was "app")
#   6  c (named user) serves through its socket
#   7  sfcgi check explains an instance name that makes no valid user name
#      (my.wiki, 26 letters), which systemd refuses with "Invalid argument"
#
#   tests/systemd/isolation.sh [SFCGI ECHO TESTAPP LIBSFCGI UNITDIR PROBE]
#
# Prints "ok - ..." / "not ok - ..." lines and "N passed, N failed"; exits 1
# if anything failed, 77 (skip) without root.
# SFCGI_TEST_DROPIN='User=' (the unit before one user per instance) makes it fail.

# shellcheck disable=SC2154,SC2016,SC2015  # variables come from instance-lib.sh
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
# shellcheck source=instance-lib.sh
. "$here/instance-lib.sh"
si_init isolation "${@:1:5}"
probe_bin=${6:-$top/build/tests/systemd/isolation-probe}
[ -x "$probe_bin" ] || { echo "FAIL: $probe_bin not built" >&2; exit 1; }

sd_prepare isolation || exit 1
si_install || exit 1
probe=/usr/local/libexec/sfcgi-isolation-probe
sd_install_file "$probe_bin" "$probe" 0755 || exit 1
# a's ExecStartPost=: a file of its own in its StateDirectory, then the probe
# on a's own supervisor and file and on whatever the test names.
sd_write_file /usr/local/libexec/sfcgi-isolation-run 0755 <<EOF
#!/bin/sh
echo mine >"\$STATE_DIRECTORY/mine"
exec $probe "pid:a-supervisor:\$MAINPID" "file:a-state:\$STATE_DIRECTORY/mine" "\$@"
EOF
for i in a b c; do
	sd_write_file "/etc/sfcgi/$i.json" 0644 <<<'{"program": "/usr/local/lib/sfcgi/testapp", "workers": 2}'
done
sd_write_file /etc/systemd/system/app@c.service.d/named-user.conf 0644 <<'EOF'
[Service]
DynamicUser=no
User=alice
EOF
sd_start || exit 1
note "container $SD_NAME booted in ${SD_BOOT_MS} ms"
in_c useradd --system --no-create-home --shell /usr/sbin/nologin alice ||
	bail_out "useradd alice"

pid_of() { in_c systemctl show -P MainPID "app@$1.service"; }
uid_of() { in_c awk '$1 == "Uid:" { print $2 }' "/proc/$1/status"; }
serves() { req "/run/sfcgi/$1.sock" pid | grep -q '^pid='; }
activate() {
	in_c systemctl start "app@$1.socket" || return 1
	serves "$1" && wait_for 5 "active app@$1.service active"
}

# ---------------------------------------------------------------- 1
for i in b c; do
	check "1 app@$i activated by a request" activate "$i"
done
b_pid=$(pid_of b) c_pid=$(pid_of c)
b_worker=$(in_c pgrep -o -P "$b_pid")
for f in b c; do
	in_c sh -c "echo secret-$f >/var/lib/sfcgi/$f/secret &&
		chown --reference=/var/lib/sfcgi/$f/ /var/lib/sfcgi/$f/secret &&
		chmod 600 /var/lib/sfcgi/$f/secret" || bail_out "writing $f's state file"
done
sd_write_file /etc/systemd/system/app@a.service.d/probe.conf 0644 <<EOF
[Service]
ExecStartPost=/usr/local/libexec/sfcgi-isolation-run pid:b-supervisor:$b_pid pid:b-worker:$b_worker pid:c-supervisor:$c_pid file:b-state:/var/lib/sfcgi/b/secret file:c-state:/var/lib/sfcgi/c/secret
EOF
in_c systemctl daemon-reload
check "1 app@a activated by a request" activate a
a_pid=$(pid_of a)
a_uid=$(uid_of "$a_pid") b_uid=$(uid_of "$b_pid") c_uid=$(uid_of "$c_pid")
alice=$(in_c id -u alice)
note "uids: a $a_uid, b $b_uid, c $c_uid (alice $alice)"
check "1 a, b, c run as three users, none root" test -n "$a_uid" -a -n "$b_uid" -a -n "$c_uid" \
	-a "$a_uid" != "$b_uid" -a "$a_uid" != "$c_uid" -a "$b_uid" != "$c_uid" \
	-a "$a_uid" != 0 -a "$b_uid" != 0 -a "$c_uid" != 0
check "1 c runs as alice (named-user drop-in)" test "$c_uid" = "$alice"
check "1 b's worker runs as b's user too" test "$(uid_of "$b_worker")" = "$b_uid"

# ---------------------------------------------------------------- 2
for i in a b; do
	for d in /var/lib /var/cache /var/log; do
		s=$(in_c stat -L -c '%u %a' "$d/sfcgi/$i")
		uid=a_uid
		[ "$i" = b ] && uid=b_uid
		check "2 $d/sfcgi/$i: owner ${!uid}, mode 700 ($s)" test "$s" = "${!uid} 700"
	done
done
s=$(in_c stat -L -c '%u %a' /var/lib/sfcgi/c)
check "2 /var/lib/sfcgi/c (named user): owner alice, mode 700 ($s)" test "$s" = "$alice 700"

# ---------------------------------------------------------------- 3
jlines '^probe ' app@a.service >"$tmp/probe.a"
sed 's/^/#   a: /' "$tmp/probe.a"
expect() { # FILE LINE-REGEX NAME
	check "$3" grep -qE "^probe $2\$" "$1"
}
expect "$tmp/probe.a" 'kill a-supervisor ok' "3 control: a signals its own supervisor"
expect "$tmp/probe.a" 'read a-state ok' "3 control: a reads its own state file"
for t in b-supervisor b-worker c-supervisor; do
	expect "$tmp/probe.a" "kill $t EPERM" "3 a: kill -0 $t: EPERM"
	expect "$tmp/probe.a" "ptrace $t EPERM" "3 a: PTRACE_ATTACH $t: EPERM"
	expect "$tmp/probe.a" "mem $t E[A-Z]+" "3 a: /proc/$t/mem refused"
done
for t in b-state c-state; do
	expect "$tmp/probe.a" "read $t E[A-Z]+" "3 a: $t cannot be read"
done

# ---------------------------------------------------------------- 4, 5
bare() { # USER: the probe as that dynamic user only
	in_c systemd-run --quiet --wait --pipe -p DynamicUser=yes -p "User=$1" "$probe" \
		"pid:b-supervisor:$b_pid" "pid:b-worker:$b_worker" "pid:c-supervisor:$c_pid" \
		"file:b-state:/var/lib/private/sfcgi/b/secret" 2>&1
}
bare sfcgi-a >"$tmp/probe.bare-a"
sed 's/^/#   bare a: /' "$tmp/probe.bare-a"
for t in b-supervisor b-worker c-supervisor; do
	expect "$tmp/probe.bare-a" "kill $t EPERM" "4 a's uid alone: kill -0 $t: EPERM"
	expect "$tmp/probe.bare-a" "ptrace $t EPERM" "4 a's uid alone: PTRACE_ATTACH $t: EPERM"
	expect "$tmp/probe.bare-a" "mem $t (EACCES|EPERM)" "4 a's uid alone: /proc/$t/mem refused"
done
expect "$tmp/probe.bare-a" "read b-state EACCES" "4 a's uid alone: b's state file: EACCES"
bare sfcgi-b >"$tmp/probe.bare-b"
sed 's/^/#   bare b: /' "$tmp/probe.bare-b"
expect "$tmp/probe.bare-b" "kill b-supervisor ok" "5 control: b's own uid may signal b (so sharing is seen)"

# ---------------------------------------------------------------- 6
check "6 c (User=alice) serves" serves c

# ---------------------------------------------------------------- 7
# An instance name that makes no valid user name: systemd only says "Invalid
# argument"; sfcgi check says why and what to do.
for n in my.wiki abcdefghijklmnopqrstuvwxyz; do
	sd_write_file "/etc/sfcgi/$n.json" 0644 <<<'{"program": "/usr/local/lib/sfcgi/testapp", "workers": 1}'
	in_c sfcgi check "$n" >/dev/null 2>"$tmp/check.$n"
	rc=$?
	sed 's/^/#   /' "$tmp/check.$n"
	check "7 sfcgi check $n: exit 0, names the user-name rule" test "$rc" = 0 -a \
		-n "$(grep -F "runs it as the dynamic user sfcgi-$n, which systemd refuses" "$tmp/check.$n")"
	in_c systemctl start "app@$n.service" 2>/dev/null
	check "7 app@$n.service does not start (what sfcgi check said)" \
		test "$(in_c systemctl is-active "app@$n.service")" != active
done
in_c sfcgi check a >/dev/null 2>"$tmp/check.a"
check "7 sfcgi check a: nothing said about the user name" test ! -s "$tmp/check.a"

[ "$fail" = 0 ] || { diag isolation; in_c journalctl -b --no-pager -o cat -u app@a.service | tail -n 20 | sed 's/^/#   /'; }
si_done
