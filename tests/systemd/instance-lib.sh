# SPDX-License-Identifier: MIT
# shellcheck shell=bash
#
# Helpers for tests that deploy an sfcgi instance with the shipped units
# (units/app@.socket, the configured app@.service) in a lib.sh container and
# drive it from the host, through the container's socket or a real nginx.
# Used by instance.sh and reload-post.sh.
#
#   here=...; top=...
#   . "$here/instance-lib.sh"
#   si_init NAME "$@"           # arguments: [SFCGI ECHO TESTAPP LIBSFCGI UNITDIR]
#   si_install                  # binaries, library, apps, units, man pages
#   sd_write_file /etc/sfcgi/wiki.json <<EOF ... EOF
#   sd_start
#   si_nginx_start /run/sfcgi/wiki.sock     # -> $url, $nginx_pid
#   si_load_start 32 "$url/wiki?pid" pid= [POST]; ...; si_load_stop
#   si_done                     # "N passed, N failed", exit status
#
# TAP-like output: ok NAME / not_ok NAME / check NAME CMD... / note TEXT.
# Background helpers (bg) get a parent-death signal, so nothing of ours
# outlives the test shell on the host, even after a SIGKILL; lib.sh's guardian
# takes care of the container.
# shellcheck disable=SC2034  # results for the sourcing test (load_*, ngx_*...)
# shellcheck disable=SC2154  # here, top: set by the sourcing test

si__usage_args() {
	tool=${1:-$top/build/src/sfcgi}
	echo_app=${2:-$top/build/examples/echo}
	testapp=${3:-$top/build/tests/integration/testapp}
	lib=${4:-$top/build/src}
	unitdir=${5:-$top/build/units}
}

# si_init NAME [ARGS...]: check the prerequisites (exit 77 without root, 1
# when something is missing), source lib.sh, make $tmp, set the traps.
si_init() {
	local f c missing=
	si_name=$1
	shift
	si__usage_args "$@"
	python=${PYTHON:-$( [ -x /usr/bin/python3 ] && echo /usr/bin/python3 || echo python3)}
	load_py=$top/tests/integration/load.py
	client_py=$here/fcgi_client.py
	if [ "$(id -u)" != 0 ]; then
		echo "SKIP: needs root (mounts, cgroups, systemd-nspawn)"
		exit 77
	fi
	for f in "$tool" "$echo_app" "$testapp"; do
		[ -x "$f" ] || { echo "FAIL: $f not built" >&2; exit 1; }
	done
	for f in "$unitdir/app@.service" "$unitdir/user-app@.service" "$top/units/app@.socket" \
		"$top/units/user/app@.socket" "$top/units/app-status@.socket" \
		"$top/units/user/app-status@.socket" "$load_py" "$client_py"; do
		[ -f "$f" ] || { echo "FAIL: $f missing" >&2; exit 1; }
	done
	libs=()
	if [ -d "$lib" ]; then
		for f in "$lib"/libsfcgi.so.*; do
			[ -f "$f" ] && [ ! -L "$f" ] && libs+=("$f")
		done
	else
		libs=("$lib")
	fi
	if [ ${#libs[@]} = 0 ] || [ ! -f "${libs[0]}" ]; then
		echo "FAIL: no libsfcgi.so.* in $lib" >&2
		exit 1
	fi
	for c in nginx curl setfacl setpriv; do
		command -v "$c" >/dev/null || missing+=" $c"
	done
	if [ -n "$missing" ]; then
		echo "FAIL: missing on the host:$missing (apt-get install nginx-light curl acl util-linux)" >&2
		exit 1
	fi
	# shellcheck source=lib.sh
	. "$here/lib.sh"
	pass=0 fail=0 bg_pids=() nginx_pid='' url=''
	unit=app@wiki.service sock_unit=app@wiki.socket
	T0=$(sd__now)
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/sfcgi-$si_name.XXXXXX")
	SD_QUIET=${SD_QUIET:-1}
	trap si__cleanup EXIT
	trap 'exit 129' HUP
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

ok() { pass=$((pass + 1)); echo "ok - $*"; }
not_ok() { fail=$((fail + 1)); echo "not ok - $*"; }
note() { echo "# $*"; }
# check NAME CMD...: one line, ok if CMD succeeds
check() { local name=$1; shift; if "$@"; then ok "$name"; else not_ok "$name"; fi; }
# wait_for SECONDS 'SHELL CONDITION'
wait_for() {
	local end=$(($(sd__now) + $1 * 1000))
	while :; do
		eval "$2" && return 0
		[ "$(sd__now)" -lt "$end" ] || return 1
		sleep 0.05
	done
}

# bg SIGNAL CMD...: run CMD in the background; it gets SIGNAL when this shell
# dies, and does not hold lib.sh's lock (the guardian would wait for it).
# Call it from the test's main shell: $! is its PID.
bg() {
	local sig=$1
	shift
	setpriv --pdeathsig "$sig" -- "$@" {SD_LOCKFD}>&- &
	bg_pids+=($!)
}

si__cleanup() {
	local p
	for p in "${bg_pids[@]}"; do
		kill -TERM "$p" 2>/dev/null
	done
	for p in "${bg_pids[@]}"; do
		wait "$p" 2>/dev/null
	done
	sd_teardown
	if [ "$fail" = 0 ]; then
		rm -rf "$tmp"
	else
		echo "# logs kept in $tmp"
	fi
}

# bail_out WHY: the instance does not work at all; stop here.
bail_out() {
	not_ok "$1"
	diag "$1"
	echo "Bail out! $1"
	si_done
	exit 1
}

si_done() {
	echo "$pass passed, $fail failed ($(( ($(sd__now) - T0) / 1000 )) s)"
	[ "$fail" = 0 ]
}

in_c() { sd_run "$@"; }                            # a command inside
active() { [ "$(in_c systemctl is-active "$1" 2>/dev/null)" = "$2" ]; }
mainpid() { in_c systemctl show -P MainPID "$unit"; }
workers_of() { in_c pgrep -P "$1" | wc -l; }
# conns_of PID: the FastCGI connections PID holds (see si_install)
conns_of() { in_c /usr/local/libexec/sfcgi-test-conns "$1"; }
# jlines PATTERN [UNIT]: the unit's journal lines (this boot) matching PATTERN
jlines() { in_c journalctl -b --no-pager -o cat -u "${2:-$unit}" | grep -E -- "$1"; }
jcount() { jlines "$@" | wc -l; }
diag() {
	{
		echo "--- diagnostics: $* ---"
		in_c systemctl --no-pager status "$sock_unit" "$unit" 2>&1 | tail -n 30
		in_c journalctl -b --no-pager -o short-monotonic -u "$unit" | tail -n 30
	} >&2
}
# req SOCKET-INSIDE QUERY: a FastCGI request from the host; prints the body
req() {
	"$tool" request -b -t 10 "$(sd_path "$1")" "/?$2" 2>>"$tmp/req.err"
}
reloads_done() { jcount 'reload complete: generation'; }
# reload_wait: systemctl reload, then wait for the supervisor's "reload complete"
reload_wait() {
	local before rc
	before=$(reloads_done)
	in_c timeout 30 systemctl reload "$unit"
	rc=$?
	wait_for 10 "[ \$(reloads_done) -gt $before ]" || return 1
	return $rc
}

# si_install: before sd_start. /usr/local/bin/sfcgi (and sfcgi-foreign), the library, the apps as
# /usr/local/lib/sfcgi/{echo,testapp}, the system and user units, man pages.
si_install() {
	local u exec_start f s
	sd_install_bin "$tool" /usr/local/bin/sfcgi || return 1
	# Foreign programs' supervisor, where sfcgi run looks for it (libexecdir
	# under meson's default prefix).
	sd_install_file "${tool%/*}/sfcgi-foreign" /usr/local/libexec/sfcgi/sfcgi-foreign 0755 ||
		return 1
	sd_install_lib "${libs[@]}" >/dev/null || return 1
	sd_install_file "$echo_app" /usr/local/lib/sfcgi/echo 0755 || return 1
	sd_install_file "$testapp" /usr/local/lib/sfcgi/testapp 0755 || return 1
	sd_install_file "$top/units/app@.socket" /etc/systemd/system/app@.socket 0644 || return 1
	sd_install_file "$top/units/app-status@.socket" /etc/systemd/system/app-status@.socket 0644 ||
		return 1
	sd_install_file "$unitdir/app@.service" /etc/systemd/system/app@.service 0644 || return 1
	sd_install_file "$top/units/user/app@.socket" /etc/systemd/user/app@.socket 0644 || return 1
	sd_install_file "$top/units/user/app-status@.socket" /etc/systemd/user/app-status@.socket \
		0644 || return 1
	sd_install_file "$unitdir/user-app@.service" /etc/systemd/user/app@.service 0644 || return 1
	# The configured units must start the installed tool (meson prefix /usr/local).
	for u in /etc/systemd/system/app@.service /etc/systemd/user/app@.service; do
		exec_start=$(grep '^ExecStart=' "$SD_ROOT$u")
		case $exec_start in
		ExecStart=/usr/local/bin/sfcgi\ *) ;;
		*)
			note "$u: $exec_start (not /usr/local/bin/sfcgi): rewritten for this test"
			sed -i -E 's#^Exec(Start|Reload)=[^ ]*/sfcgi #Exec\1=/usr/local/bin/sfcgi #' "$SD_ROOT$u" ;;
		esac
	done
	# Man pages, as an install puts them (systemd-analyze verify checks Documentation=).
	for f in "$top"/build/man/*.[0-9] "$top"/man/*.[0-9]; do
		[ -f "$f" ] || continue
		s=${f##*.}
		[ -e "$SD_ROOT/usr/local/share/man/man$s/${f##*/}" ] ||
			sd_install_file "$f" "/usr/local/share/man/man$s/${f##*/}" 0644
	done
	# For diagnosis only: extra [Service] settings for app@.service, e.g.
	# SFCGI_TEST_DROPIN='SystemCallFilter=capset' (newline-separated lines).
	if [ -n "${SFCGI_TEST_DROPIN:-}" ]; then
		note "SFCGI_TEST_DROPIN: app@.service.d/test.conf: $SFCGI_TEST_DROPIN"
		printf '[Service]\n%s\n' "$SFCGI_TEST_DROPIN" |
			sd_write_file /etc/systemd/system/app@.service.d/test.conf 0644
	fi
	# Accepted connections belong to the client's network namespace (the
	# host's), so ss inside does not list them: count a worker's sockets
	# other than stdio and the listening ones.
	sd_write_file /usr/local/libexec/sfcgi-test-conns 0755 <<'EOF'
#!/bin/sh
l=$(awk '$8 ~ "^/run/" { print $7 }' /proc/net/unix)
n=0
for f in /proc/"$1"/fd/*; do
	case ${f##*/} in 0|1|2) continue ;; esac
	t=$(readlink "$f") || continue
	case $t in
	socket:*) i=${t#socket:[}; i=${i%]}; printf '%s\n' "$l" | grep -qx "$i" || n=$((n + 1)) ;;
	esac
done
echo "$n"
EOF
}

# si_nginx_start SOCKET-INSIDE: the host's nginx on 127.0.0.1:<free port>,
# fastcgi_pass to the socket through /proc/LEADER/root, with an upstream
# keepalive pool; sets $url and $nginx_pid; false if it does not come up.
si_nginx_start() {
	local port m d=$tmp/nginx
	port=$("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	mkdir -p "$d"
	{
		echo "# Generated by tests/systemd/instance-lib.sh"
		echo "user root root;"
		echo "daemon off;"
		echo "master_process on;"
		echo "worker_processes 2;"
		echo "pid $d/nginx.pid;"
		echo "error_log $d/error.log warn;"
		echo "events { worker_connections 1024; }"
		echo "http {"
		echo "    access_log off;"
		for m in client_body fastcgi proxy scgi uwsgi; do
			echo "    ${m}_temp_path $d/$m;"
		done
		echo "    upstream wiki {"
		echo "        server unix:$(sd_path "$1");"
		echo "        keepalive 32;"
		echo "    }"
		echo "    server {"
		echo "        listen 127.0.0.1:$port;"
		echo "        location / {"
		echo "            include /etc/nginx/fastcgi_params;"
		echo "            fastcgi_pass wiki;"
		echo "            fastcgi_keep_conn on;"
		echo "        }"
		echo "    }"
		echo "}"
	} >"$d/nginx.conf"
	bg TERM nginx -c "$d/nginx.conf" -e "$d/error.log"
	nginx_pid=$!
	url="http://127.0.0.1:$port"
	# curl exits 7 while nothing listens
	wait_for 10 "curl -s -o /dev/null $url/ 2>/dev/null || [ \$? != 7 ]"
}

si_nginx_stop() {
	[ -n "$nginx_pid" ] || return 0
	kill -TERM "$nginx_pid" 2>/dev/null
	wait "$nginx_pid" 2>/dev/null
	nginx_pid=
}

# si_nginx_errors: sets ngx_retry (nginx retried a request because a kept
# upstream connection had been closed by the app: EPIPE writing the request,
# ECONNRESET before any byte of the answer; logged as [error] although the
# client saw nothing) and ngx_other (any other [error] line: a real failure).
si_nginx_errors() {
	local re='writev\(\) failed \(32: Broken pipe\) while sending request to upstream'
	re+='|recv\(\) failed \(104: Connection reset by peer\) while reading response header from upstream'
	grep '\[error\]' "$tmp/nginx/error.log" >"$tmp/nginx/errors" 2>/dev/null
	ngx_retry=$(grep -cE "$re" "$tmp/nginx/errors")
	ngx_other=$(grep -cvE "$re" "$tmp/nginx/errors")
	grep -vE "$re" "$tmp/nginx/errors" >"$tmp/nginx/errors.other"
}

# si_load_start CONNS URL NEEDLE [METHOD]: keep CONNS HTTP connections busy
# (wrk if installed, else httpload.py) until si_load_stop; every response
# must be a 200 whose body contains NEEDLE. METHOD POST sends a small body.
si_load_start() {
	local conns=$1 u=$2 needle=$3 method=${4:-GET}
	si_load_out=$tmp/load.$(sd__now).out
	if command -v wrk >/dev/null; then
		loadgen=wrk
		cat >"$tmp/check.lua" <<EOF
-- Every response must be a 200 carrying "$needle".
wrk.method = "$method"
if wrk.method == "POST" then
	wrk.body = "title=Main_Page&text=hello"
	wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
end
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) good = 0; bad = 0 end
function response(status, headers, body)
	if status == 200 and body and body:find("$needle", 1, true) then
		good = good + 1
	else
		bad = bad + 1
	end
end
function done(summary, latency, requests)
	local g, b = 0, 0
	for _, t in ipairs(threads) do g = g + t:get("good"); b = b + t:get("bad") end
	io.write(string.format("checked: good=%d bad=%d\n", g, b))
end
EOF
		bg KILL wrk -t 4 -c "$conns" -d 300s --timeout 10s -s "$tmp/check.lua" "$u" \
			>"$si_load_out" 2>&1
	else
		loadgen=httpload.py
		bg KILL "$python" "$here/httpload.py" "${u#http://}" "$conns" 300 "$needle" "$method" \
			>"$si_load_out" 2>&1
	fi
	si_load_pid=$!
}

# si_load_stop: stop it, print its output as comments; sets load_total,
# load_good, load_bad, load_non2xx, load_sockerr (the last two: wrk only).
si_load_stop() {
	kill -INT "$si_load_pid" 2>/dev/null
	wait "$si_load_pid"
	sed 's/^/#   /' "$si_load_out"
	load_non2xx='' load_sockerr=''
	if [ "$loadgen" = wrk ]; then
		load_total=$(sed -n 's/^ *\([0-9]*\) requests in .*/\1/p' "$si_load_out")
		load_non2xx=$(sed -n 's/^ *Non-2xx or 3xx responses: *\([0-9]*\).*/\1/p' "$si_load_out")
		load_sockerr=$(sed -n 's/^ *Socket errors: \(.*\)/\1/p' "$si_load_out")
		load_good=$(sed -n 's/^checked: good=\([0-9]*\) .*/\1/p' "$si_load_out")
		load_bad=$(sed -n 's/^checked: .*bad=\([0-9]*\).*/\1/p' "$si_load_out")
	else
		load_good=$(sed -n 's/^ok=\([0-9]*\) .*/\1/p' "$si_load_out")
		load_bad=$(sed -n 's/^ok=.* failed=\([0-9]*\).*/\1/p' "$si_load_out")
		load_total=$((${load_good:-0} + ${load_bad:-0}))
	fi
}
