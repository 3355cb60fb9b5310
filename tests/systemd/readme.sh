#!/bin/bash
# SPDX-License-Identifier: MIT
#
# README's "Deploy an instance (systemd)", line by line, under a real systemd
# (one throw-away nspawn container, see lib.sh): the command lines of its
# block run inside, in the source tree, as written; at its nginx line the
# host's nginx is pointed at the socket and the wiki is used through it.
#
#   1  every command line succeeds (meson install, ldconfig, daemon-reload,
#      install of the example wiki.json, sfcgi check, enable --now, reload)
#   2  the JSON the README shows is the installed example, byte for byte
#      in meaning (same JSON value)
#   3  sfcgi check wiki, before the first start, says /var/lib/sfcgi/wiki will
#      be created by the unit's StateDirectory= instead of refusing it
#   4  through nginx: a missing page is a 404, a page is saved and read back;
#      the service runs the installed program (libexecdir/sfcgi/wiki)
#   5  the page survives the README's reload (exit 0)
#
#   tests/systemd/readme.sh [SFCGI ECHO TESTAPP LIBSFCGI UNITDIR BUILDDIR]
#
# Prints "ok - ..." / "not ok - ..." lines and "N passed, N failed"; exits 1
# if anything failed, 77 (skip) without root.

# shellcheck disable=SC2154,SC2016,SC2015  # variables come from instance-lib.sh
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
# shellcheck source=instance-lib.sh
. "$here/instance-lib.sh"
si_init readme "${@:1:5}"
builddir=${6:-$top/build}

# The section's indented blocks: the JSON one and the command one.
awk '/^Deploy an instance \(systemd\)$/ { on = 1; next }
	on && /^---/ && prev != "" && prev !~ /^Deploy/ { exit }
	on { print } { prev = $0 }' "$top/README" >"$tmp/section"
awk '/^    / { blk = blk substr($0, 5) "\n"; next }
	blk != "" { n++; printf "%s", blk > (dir "/block" n); blk = "" }' dir="$tmp" "$tmp/section"
json_block='' cmd_block=''
for b in "$tmp"/block*; do
	head -n 1 "$b" | grep -q '^{' && json_block=$b
	grep -q '^meson install' "$b" && cmd_block=$b
done
[ -n "$json_block" ] && [ -n "$cmd_block" ] ||
	{ echo "FAIL: README: no JSON or command block in \"Deploy an instance\"" >&2; exit 1; }
case $builddir in
"$top/build") ;;
*) echo "# build directory $builddir: '-C build' becomes '-C $builddir'" ;;
esac

sd_prepare readme || exit 1
# The README's commands run in the source tree: where the container does not
# see it at the same path (a clone under /tmp, nspawn's own tmpfs), bind it.
sd_host_path_visible "$top" || SD_NSPAWN_ARGS+=(--bind="$top")
sd_host_path_visible "$builddir" || case $builddir/ in "$top"/*) ;; *) SD_NSPAWN_ARGS+=(--bind="$builddir") ;; esac
# The wiki's "landlock": "required": nspawn's own filter lacks landlock_*
# (see wiki.sh); the unit's SystemCallFilter= still applies.
SYSTEMD_SECCOMP=0 sd_start || exit 1
note "container $SD_NAME booted in ${SD_BOOT_MS} ms"
get() { curl -s -m 10 -w '\n%{http_code}' "$url$1"; }

step=0
while IFS= read -r line; do
	cmd=$(sed -E 's/(^|[[:space:]]+)#.*$//' <<<"$line")
	if [ -z "$cmd" ]; then
		# ---------------------------------------------------------------- 4
		grep -q 'nginx' <<<"$line" || continue
		check "4 nginx (host) -> /run/sfcgi/wiki.sock" si_nginx_start /run/sfcgi/wiki.sock
		out=$(get /FrontPage)
		check "4 a missing page: 404 (activates $unit)" test "$(tail -n 1 <<<"$out")" = 404
		code=$(curl -s -m 10 -o /dev/null -w '%{http_code}' \
			--data-urlencode 'text=Hello, [[World]]!' "$url/FrontPage")
		check "4 POST /FrontPage: 303 ($code)" test "$code" = 303
		out=$(get /FrontPage)
		check "4 GET /FrontPage: 200 with the text" \
			test "$(tail -n 1 <<<"$out")" = 200 -a -n "$(grep -F 'Hello,' <<<"$out")"
		exe=$(in_c readlink "/proc/$(mainpid)/exe")
		check "4 the service runs the installed wiki ($exe)" \
			test "$exe" = /usr/local/libexec/sfcgi/wiki
		continue
	fi
	step=$((step + 1))
	run=${cmd//-C build/-C $builddir}
	in_c sh -c "cd '$top' && $run" >"$tmp/step$step.out" 2>&1
	rc=$?
	check "1 \$ $cmd (exit $rc)" test "$rc" = 0
	[ "$rc" = 0 ] || sed 's/^/#   /' "$tmp/step$step.out" | tail -n 20
	case $cmd in
	"sfcgi check wiki")
		# ---------------------------------------------------------------- 3
		grep -v '^[ {}]' "$tmp/step$step.out" | sed 's/^/#   /'
		check "3 sfcgi check: /var/lib/sfcgi/wiki will be created by StateDirectory=" \
			grep -qF "/var/lib/sfcgi/wiki does not exist yet: it will be created by the unit's StateDirectory= at start" \
			"$tmp/step$step.out"
		# ---------------------------------------------------------------- 2
		check "2 the README's JSON is the installed /etc/sfcgi/wiki.json" \
			"$python" -c 'import json, sys; sys.exit(json.load(open(sys.argv[1])) != json.load(open(sys.argv[2])))' \
			"$json_block" "$(sd_path /etc/sfcgi/wiki.json)"
		;;
	"systemctl reload app@wiki.service")
		# ---------------------------------------------------------------- 5
		out=$(get /FrontPage)
		check "5 after the reload the page is still served" \
			test "$(tail -n 1 <<<"$out")" = 200 -a -n "$(grep -F 'Hello,' <<<"$out")"
		;;
	esac
done <"$cmd_block"
check "1 the README's block has the 7 commands this test knows ($step)" test "$step" = 7

[ "$fail" = 0 ] || diag readme
si_nginx_stop
si_done
