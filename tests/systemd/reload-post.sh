#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Reload and restart under POST load through nginx: the deployment of
# instance.sh (app@wiki.socket + app@wiki.service, nginx on the host with an
# upstream keepalive pool and fastcgi_keep_conn on, as contrib/nginx/sfcgi.conf
# sets it up), but the web clients send POST requests.
#
# When a draining worker closes a kept connection (right behind END_REQUEST,
# or idle), nginx may already be sending the next request on it: EPIPE, or
# ECONNRESET because the request was left unread. For a GET nginx retries on
# another connection (instance.sh counts those retries); a POST is not
# idempotent, so nginx does not retry it once sent (fastcgi_next_upstream
# has no non_idempotent by default) and answers 502. "No lost request" on
# reload has to hold for POSTs as well.
#
#   tests/systemd/reload-post.sh [SFCGI ECHO TESTAPP LIBSFCGI UNITDIR]
#
# Same arguments, output and exit status as instance.sh.

# shellcheck disable=SC2154,SC2034,SC2015  # variables shared with instance-lib.sh
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
# shellcheck source=instance-lib.sh
. "$here/instance-lib.sh"
si_init reload-post "$@"

sd_prepare reload-post || exit 1
si_install || exit 1
sd_write_file /etc/sfcgi/wiki.json 0644 <<'EOF'
{"program": "/usr/local/lib/sfcgi/testapp", "workers": 2}
EOF
sd_start || exit 1
sock=/run/sfcgi/wiki.sock
in_c systemctl enable --now "$sock_unit" >/dev/null 2>&1
check "$sock_unit active" active "$sock_unit" active
check "nginx (host) -> $sock" si_nginx_start "$sock"
out=$(curl -s -m 10 -w '\n%{http_code}' --data 'title=Main_Page&text=hello' "$url/wiki?pid")
[ "$(tail -n 1 <<<"$out")" = 200 ] && grep -q '^pid=' <<<"$out" ||
	bail_out "one POST through nginx: $(tr '\n' ' ' <<<"$out")"
ok "one POST through nginx: 200 with pid="
pid0=$(mainpid)

report() {  # report WHAT
	si_nginx_errors
	note "$1: requests ${load_total:-?}, good ${load_good:-?}, failed ${load_bad:-?}," \
		"non-2xx ${load_non2xx:-0}, socket errors ${load_sockerr:-none};" \
		"nginx [error] lines: $ngx_retry on kept connections the app closed, $ngx_other other"
	sed -E 's/^.*\[error\] [0-9#]+: \*[0-9]+ //; s/, client:.*//' "$tmp/nginx/errors" |
		sort | uniq -c | sed 's/^/#   /'
}

nreload=10 conns=32
si_load_start "$conns" "$url/wiki?pid" pid= POST
sleep 1
done_reloads=0
for i in $(seq "$nreload"); do
	reload_wait || { note "reload #$i did not complete"; break; }
	done_reloads=$((done_reloads + 1))
done
sleep 0.5
si_load_stop
report "$nreload reloads under POST load ($loadgen, $conns connections through nginx)"
check "$nreload reloads completed, same MainPID" test "$done_reloads" = "$nreload" -a "$(mainpid)" = "$pid0"
check "reload under POST load: zero failed requests (${load_bad:-?} failed)" \
	test "${load_good:-0}" -gt 0 -a "${load_bad:-1}" = 0 -a -z "$load_non2xx" -a -z "$load_sockerr"
: >"$tmp/nginx/error.log"

si_load_start "$conns" "$url/wiki?pid" pid= POST
sleep 1
check "systemctl restart under POST load" in_c timeout 60 systemctl restart "$unit"
sleep 1
si_load_stop
report "restart under POST load ($loadgen, $conns connections through nginx)"
check "restart under POST load: zero failed requests (${load_bad:-?} failed)" \
	test "${load_good:-0}" -gt 0 -a "${load_bad:-1}" = 0 -a -z "$load_non2xx" -a -z "$load_sockerr"

si_done
