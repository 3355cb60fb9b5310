#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# An instance on TCP under a real systemd (issue 14): the shipped
# app@.socket and app@.service with contrib/systemd/tcp.conf as the socket's
# drop-in, addresses replaced for the container's loopback:
#   ListenStream=127.0.0.1:9000, IPAddressAllow=127.0.0.2 127.0.0.4
# and /etc/sfcgi/wiki.json with "allow_from": ["127.0.0.2", "127.0.0.3"], so
# that each layer is seen on its own:
#   127.0.0.2 (both allow it)            served: the socket is passed in and
#                                        accepted despite the service's
#                                        PrivateNetwork=yes, IPAddressDeny=any,
#                                        RestrictAddressFamilies=AF_UNIX
#   127.0.0.3 (sfcgi yes, systemd no)    no connection at all (BPF drops SYN),
#                                        where the manager can filter
#   127.0.0.4 (systemd yes, sfcgi no)    accepted, closed without a byte, the
#                                        refusal in the journal, testapp never
#                                        sees it
#   systemd-analyze security app@wiki.service: at most 1.0, as without the
#   drop-in (printed both).
# Usage: tcp.sh [SFCGI ECHO TESTAPP LIBSFCGI UNITDIR]
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
. "$here/instance-lib.sh"
si_init tcp "$@"

sd_prepare tcp || exit 1
si_install || exit 1
sd_install_file "$top/tests/integration/fcgi_client.py" /usr/local/lib/sfcgi-test/fcgi_client.py \
	0644 || exit 1
sed -e 's/^ListenStream=10\.0\.0\.10:9000$/ListenStream=127.0.0.1:9000/' \
	-e 's/^IPAddressAllow=10\.0\.0\.5 10\.0\.0\.6$/IPAddressAllow=127.0.0.2 127.0.0.4/' \
	"$top/contrib/systemd/tcp.conf" >"$tmp/tcp.conf"
if ! grep -qx 'ListenStream=127.0.0.1:9000' "$tmp/tcp.conf" ||
	! grep -qx 'IPAddressAllow=127.0.0.2 127.0.0.4' "$tmp/tcp.conf"; then
	echo "FAIL: contrib/systemd/tcp.conf no longer has the lines this test replaces" >&2
	exit 1
fi
sd_write_file /etc/sfcgi/wiki.json 0644 <<'EOF'
{"program": "/usr/local/lib/sfcgi/testapp", "workers": 1, "allow_from": ["127.0.0.2", "127.0.0.3"]}
EOF
sd_start || exit 1
note "container $SD_NAME booted in ${SD_BOOT_MS} ms"

exposure() { in_c systemd-analyze security "$unit" 2>/dev/null |
	sed -n 's/.*Overall exposure level for .*: \([0-9.]*\) .*/\1/p'; }
before=$(exposure)
sd_write_file /etc/systemd/system/app@wiki.socket.d/tcp.conf 0644 <"$tmp/tcp.conf"
in_c systemctl daemon-reload
after=$(exposure)
note "systemd-analyze security $unit: $before without the drop-in, $after with it"
check "security: exposure with the TCP drop-in ($after) is at most 1.0" \
	awk -v e="$after" 'BEGIN { exit !(e != "" && e + 0 <= 1.0) }'
out=$(in_c systemd-analyze verify app@wiki.socket app@wiki.service 2>&1 |
	grep -v "Command 'man .*' failed")
check "systemd-analyze verify with the drop-in is silent" test -z "$out"
[ -z "$out" ] || note "$out"

in_c systemctl start "$sock_unit"
check "app@wiki.socket listens on 127.0.0.1:9000" active "$sock_unit" active
note "$(in_c ss -Hltn 'sport = :9000')"

# client SOURCE QUERY [refused]: from inside the container, bound to SOURCE;
# with "refused", the bytes that came back before the close (b'' = none)
client() {
	in_c /usr/bin/python3 -c "
import socket, sys
sys.path.insert(0, '/usr/local/lib/sfcgi-test')
import fcgi_client as fc
try:
    if '${3:-}' == 'refused':
        print('closed after ' + repr(fc.refused(('127.0.0.1', 9000), '$2', source='$1', timeout=3)))
        sys.exit(0)
    body = fc.get(('127.0.0.1', 9000), '$2', source='$1', timeout=3)
    print('served ' + body.decode(errors='replace').split('\r\n\r\n')[-1].strip())
except (socket.timeout, TimeoutError):
    print('timeout')
except EOFError as e:
    print('closed ' + str(e))
except OSError as e:
    print('error ' + repr(e))
"
}

r=$(client 127.0.0.2 pid)
check "127.0.0.2 (allowed by both) is served through the passed TCP socket ($r)" \
	grep -q '^served pid=' <<<"$r"
check "$unit started by the connection" wait_for 5 'active "$unit" active'
pid=$(mainpid)
note "MainPID $pid"
check "the service kept its hardening: PrivateNetwork=yes" \
	test "$(in_c systemctl show -P PrivateNetwork "$unit")" = yes
check "... RestrictAddressFamilies=AF_UNIX" \
	test "$(in_c systemctl show -P RestrictAddressFamilies "$unit")" = AF_UNIX
check "... IPAddressDeny=any" grep -q . <<<"$(in_c systemctl show -P IPAddressDeny "$unit")"

r=$(client 127.0.0.4 env=trace4 refused)
check "127.0.0.4 (allowed by systemd, not by allow_from) gets no byte ($r)" \
	test "$r" = "closed after b''"
check "the journal names the refusal of 127.0.0.4" \
	wait_for 5 'jcount "refused a connection from 127\.0\.0\.4: not in allow_from" >/dev/null'

r=$(client 127.0.0.3 pid)
# systemd filters by IP address only on the unified cgroup hierarchy (its
# bpf-firewall.c says so at debug level): on a hybrid one, as in this
# container on a host whose PID 1 is not systemd, IPAddressAllow= is
# accepted and does nothing.
cgfs=$(in_c stat -fc %T /sys/fs/cgroup/)
if [ "$cgfs" != cgroup2fs ]; then
	note "/sys/fs/cgroup is $cgfs here, not cgroup2fs: no BPF firewalling ($r)"
	ok "127.0.0.3 (allowed by allow_from, not by IPAddressAllow=) # SKIP the manager here has no BPF firewalling (hybrid cgroups)"
else
	check "127.0.0.3 (allowed by allow_from, not by IPAddressAllow=): no connection ($r)" \
		test "$r" = timeout
fi
r=$(client 127.0.0.2 pid)
check "127.0.0.2 is still served ($r)" grep -q '^served pid=' <<<"$r"
check "the service's PID is the same (no restart)" test "$(mainpid)" = "$pid"

in_c journalctl -b --no-pager -o cat -u "$unit" -u "$sock_unit" | tail -n 12 | sed 's/^/# /'
si_done
