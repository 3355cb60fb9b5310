#!/bin/bash
# SPDX-License-Identifier: MIT
#
# The example wiki deployed as its README says, under a real systemd (one
# throw-away nspawn container, see lib.sh) and the shipped units, with the
# host's nginx in front:
#
#   /usr/local/libexec/sfcgi/wiki          build/examples/wiki
#   /usr/local/share/sfcgi/wiki/       examples/wiki/templates/*.html
#   /etc/sfcgi/wiki.json               examples/wiki/wiki.json, as shipped
#   app@wiki.socket, app@wiki.service  units/ (DynamicUser=, StateDirectory=)
#
#   1  enable --now app@wiki.socket; nginx (host) -> /run/sfcgi/wiki.sock
#   2  a missing page is a 404; a page is created (POST) and read back, escaped
#   3  the page is a file in the StateDirectory (/var/lib/private/sfcgi/wiki),
#      owned by the dynamic user, and nothing else is there
#   4  the workers are locked down: Seccomp 2, NoNewPrivs 1, no capabilities
#   5  the production wiki has no ?escape= hook; no sandbox violation logged
#   6  wiki-test (the wiki plus a test-only ?escape=PATH hook) under the same
#      config: writes inside the StateDirectory work, writes to /tmp and
#      /var/tmp fail with EACCES; with "landlock": "off" the same write to
#      /tmp works, so it is Landlock that refuses, not the unit's sandbox
#   7  the journal shows no sandbox violation
#
#   tests/systemd/wiki.sh [SFCGI ECHO TESTAPP LIBSFCGI UNITDIR WIKI WIKI_TEST TEMPLATES WIKI_JSON]
#
# Defaults: the build/ tree and examples/wiki. Prints "ok - ..." / "not ok -
# ..." lines and "N passed, N failed"; exits 1 if anything failed, 77 (skip)
# without root. Needs nginx and curl on the host.

# shellcheck disable=SC2154,SC2016,SC2015  # variables come from instance-lib.sh
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
# shellcheck source=instance-lib.sh
. "$here/instance-lib.sh"
si_init wiki "${@:1:5}"
wiki_bin=${6:-$top/build/examples/wiki}
wiki_test_bin=${7:-$top/build/examples/wiki-test}
templates=${8:-$top/examples/wiki/templates}
wiki_json=${9:-$top/examples/wiki/wiki.json}
for f in "$wiki_bin" "$wiki_test_bin"; do
	[ -x "$f" ] || { echo "FAIL: $f not built" >&2; exit 1; }
done

# ---------------------------------------------------------------- set up
sd_prepare wiki || exit 1
si_install || exit 1
sd_install_file "$wiki_bin" /usr/local/libexec/sfcgi/wiki 0755 || exit 1
sd_install_file "$wiki_test_bin" /usr/local/libexec/sfcgi/wiki-test 0755 || exit 1
for f in "$templates"/*.html; do
	sd_install_file "$f" "/usr/local/share/sfcgi/wiki/${f##*/}" 0644 || exit 1
done
sd_install_file "$wiki_json" /etc/sfcgi/wiki.json 0644 || exit 1
# systemd-nspawn (252) puts its own seccomp allow-list on the whole container,
# and it lacks landlock_*: every service inside would get EPERM from them,
# unlike on a real host. SYSTEMD_SECCOMP=0 turns off nspawn's filter only;
# the container's systemd still applies the unit's SystemCallFilter=.
SYSTEMD_SECCOMP=0 sd_start || exit 1
note "container $SD_NAME booted in ${SD_BOOT_MS} ms"
data=/var/lib/private/sfcgi/wiki   # StateDirectory=sfcgi/%i with DynamicUser=yes

# violations: sandbox kills the supervisor logged for the wiki so far
violations() { jcount 'killed by the sandbox|forbidden system call'; }
# status_of PID FIELD: a field of /proc/PID/status inside the container
status_of() { in_c awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"; }
# get PATH: HTTP status, then the body, through nginx
get() { curl -s -m 10 -w '\n%{http_code}' "$url$1"; }

# ---------------------------------------------------------------- 1
sock=/run/sfcgi/wiki.sock
in_c systemctl enable --now "$sock_unit" >"$tmp/enable.out" 2>&1
check "1 enable --now $sock_unit" test $? = 0
check "1 nginx (host) -> $sock" si_nginx_start "$sock"

# ---------------------------------------------------------------- 2
out=$(get /FrontPage)
check "2 a missing page: 404 offering to create it (activates $unit)" \
	test "$(tail -n 1 <<<"$out")" = 404 -a -n "$(grep -F '<a href="FrontPage?edit">' <<<"$out")"
# READY=1 comes once every worker is ready; the first one may answer before.
if ! wait_for 5 "active $unit active"; then
	[ "$(jcount 'Landlock is required')" = 0 ] ||
		note "landlock_create_ruleset() failed in the service: is landlock_* allowed by" \
			"the unit's SystemCallFilter= (systemd 252's @system-service lacks it)?"
	bail_out "2 $unit is not active: $(in_c systemctl is-active "$unit")"
fi
text="Hello <script>alert('x')</script> & [[FrontPage]]"$'\n\n'"Caf"$'\xc3\xa9'" from systemd"
code=$(curl -s -m 10 -o "$tmp/save.out" -D "$tmp/save.hdr" -w '%{http_code}' \
	--data-urlencode "text=$text" "$url/Sandbox")
check "2 POST /Sandbox: 303 to Sandbox ($code)" \
	test "$code" = 303 -a -n "$(grep -i '^location: Sandbox' "$tmp/save.hdr")"
out=$(get /Sandbox)
check "2 GET /Sandbox: 200, <script> escaped, link, paragraphs" \
	test "$(tail -n 1 <<<"$out")" = 200 \
	-a -n "$(grep -F "<p>Hello &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; <a href=\"FrontPage\" class=new>FrontPage</a></p>" <<<"$out")" \
	-a -n "$(grep -F "<p>Caf"$'\xc3\xa9'" from systemd</p>" <<<"$out")" \
	-a -z "$(grep -F '<script>' <<<"$out")"
check "2 a bad page name is a 400" test "$(get /bad.name | tail -n 1)" = 400

# ---------------------------------------------------------------- 3
check "3 the page is $data/Sandbox, byte-exact" \
	test "$(in_c cat "$data/Sandbox")" = "$text"
owner=$(in_c stat -c '%U %u' "$data/Sandbox")
note "$data/Sandbox: owner $owner, $(in_c stat -c '%A' "$data/Sandbox")"
check "3 owned by the dynamic user (${owner:-?}), not root" test -n "$owner" -a "${owner##* }" != 0
check "3 the data directory holds the page and nothing else" \
	test "$(in_c ls -A "$data" | tr '\n' ' ')" = "Sandbox "

# ---------------------------------------------------------------- 4
pid0=$(mainpid)
check "4 2 workers are children of MainPID $pid0" wait_for 5 "[ \$(workers_of $pid0) = 2 ]"
for w in $(in_c pgrep -P "$pid0"); do
	s="Seccomp $(status_of "$w" Seccomp) NoNewPrivs $(status_of "$w" NoNewPrivs)"
	s+=" CapEff $(status_of "$w" CapEff) Uid $(status_of "$w" Uid)"
	check "4 worker $w is locked down ($s)" \
		test "${s% Uid *}" = "Seccomp 2 NoNewPrivs 1 CapEff 0000000000000000" -a "${s##* }" != 0
done

# ---------------------------------------------------------------- 5
out=$(get "/Probe?escape=$data/probe")
check "5 the production wiki ignores ?escape= (404 page, nothing written)" \
	test "$(tail -n 1 <<<"$out")" = 404 -a -z "$(in_c ls -A "$data" | grep probe)"
check "5 no sandbox violation in the journal after normal use" test "$(violations)" = 0

# ---------------------------------------------------------------- 6
in_c sed -i 's|"/usr/local/libexec/sfcgi/wiki"|"/usr/local/libexec/sfcgi/wiki-test"|' /etc/sfcgi/wiki.json
in_c grep -q wiki-test /etc/sfcgi/wiki.json || bail_out "6 could not point wiki.json at wiki-test"
in_c timeout 60 systemctl restart "$unit"
check "6 restarted with wiki-test, same config otherwise" active "$unit" active
out=$(get "/x?escape=/var/lib/sfcgi/wiki/probe")
check "6 escape=/var/lib/sfcgi/wiki/probe (the StateDirectory): OK ($(head -n 1 <<<"$out"))" \
	test "$(head -n 1 <<<"$out")" = escape=OK
# systemd's sandbox leaves /tmp and /var/tmp (PrivateTmp=) writable, and
# their modes (1777) let the dynamic user create files: only Landlock says no.
for target in /tmp/escaped /var/tmp/escaped; do
	out=$(get "/x?escape=$target")
	check "6 escape=$target: EACCES ($(head -n 1 <<<"$out"))" \
		test "$(head -n 1 <<<"$out")" = escape=EACCES
done
left=$(in_c find /tmp /var/tmp /var/lib/private -name escaped 2>/dev/null)
check "6 nothing named 'escaped' was created anywhere (${left:-none})" test -z "$left"
out=$(get /Sandbox)
check "6 wiki-test still serves the page" test "$(tail -n 1 <<<"$out")" = 200
# The control: the same unit and config with Landlock off.
in_c sed -i 's|"landlock": "required"|"landlock": "off"|' /etc/sfcgi/wiki.json
in_c timeout 60 systemctl restart "$unit"
out=$(get "/x?escape=/tmp/escaped")
check "6 with \"landlock\": \"off\", escape=/tmp/escaped works ($(head -n 1 <<<"$out")): only Landlock refused it" \
	test "$(head -n 1 <<<"$out")" = escape=OK

# ---------------------------------------------------------------- 7
check "7 still no sandbox violation in the journal" test "$(violations)" = 0
[ "$(violations)" = 0 ] || jlines 'killed by the sandbox|forbidden system call' | sed 's/^/#   /'
[ "$fail" = 0 ] || diag "wiki"
si_nginx_stop
si_done
