#!/bin/bash
# SPDX-License-Identifier: MIT
#
# The Debian packages, built, checked and used as an admin would, under a
# real systemd (a lib.sh container) with the host's nginx in front:
#
#   1  dpkg-buildpackage -us -uc -b of a clean export of the tree (into the
#      build dir: the source is never written), and of a second version
#      (dch-bumped in a scratch copy of the export)
#   2  lintian on the first .changes: no error, no warning
#   3  apt install ./*.deb in the container: the templates are installed,
#      nothing is enabled or started
#   4  the wiki from /usr/share/doc/sfcgi/examples/wiki.json, enabled, through
#      nginx: a page saved and read back
#   5  apt install of the second version under load (wrk through nginx):
#      0 failed requests; the instance was reloaded (same MainPID, no
#      restart) and its workers run the new files (/proc/PID/exe and the
#      mapped libsfcgi are the installed ones, not "(deleted)")
#   6  apt purge: no unit running, no file the package owned, no socket, no
#      state; the admin's /etc/sfcgi/wiki.json is left and named
#
# The container is the lib.sh overlay (lower layer: the host's /), not a
# debootstrapped Debian: what is not clean about it is that every package of
# the host is installed in it, so `apt install ./*.deb` proves the packages
# install, run, upgrade and purge, not that their Depends are complete on a
# minimal system (dpkg-shlibdeps computes those; step 3 checks the container
# has no sfcgi file before the install). A debootstrap of minbase + systemd
# took 279 s here, more than the rest of this test.
#
#   tests/package/package.sh SRCDIR WORKDIR [SFCGI ECHO TESTAPP LIBSFCGI UNITDIR]
#
# (the last five: the build tree's, for instance-lib.sh's checks.) Prints
# "ok - ..." / "not ok - ..." lines and "N passed, N failed"; exits 1 if
# anything failed, 77 (skip) without root or in a sanitizer build tree.

# shellcheck disable=SC2154,SC2016,SC2015,SC2034  # variables come from, and go to, instance-lib.sh
# shellcheck source-path=SCRIPTDIR/../systemd
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/../systemd" && pwd)
top=$(cd "$here/../.." && pwd)
src=${1:?usage: package.sh SRCDIR WORKDIR [...]}
work=${2:?usage: package.sh SRCDIR WORKDIR [...]}
if [ "${SFCGI_TEST_SANITIZED:-0}" = 1 ]; then
	echo "SKIP: the packages are built without sanitizers; run this in the plain build tree"
	exit 77
fi
# shellcheck source=instance-lib.sh
. "$here/instance-lib.sh"
# meson test sets these for the build tree; the packages bring their own.
unset LD_LIBRARY_PATH MALLOC_PERTURB_
si_init package "${@:3}"
for c in dpkg-buildpackage dch lintian apt wrk; do
	command -v "$c" >/dev/null || {
		echo "FAIL: $c missing on the host (bash scripts/install-deps.sh)" >&2
		exit 1
	}
done
unit=app@wiki.service sock_unit=app@wiki.socket
# check_or NAME CMD... || WHAT-TO-SHOW: check, false when it failed
check_or() { local f0=$fail; check "$@"; [ "$fail" = "$f0" ]; }
needle=pkgtest-$$-$RANDOM

# ---------------------------------------------------------------- 1 build
# export DIR: the tree's files (git's tracked and untracked-but-not-ignored
# ones, so uncommitted work is tested; without git, all but build*/), copied.
export_tree() {
	mkdir -p "$1"
	if git -C "$src" rev-parse --git-dir >/dev/null 2>&1; then
		git -C "$src" ls-files -z --cached --others --exclude-standard |
			(cd "$src" && xargs -0 -r sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh) |
			tar -C "$src" --null -T - -cf - | tar -C "$1" -xf -
	else
		tar -C "$src" --exclude='./build*' --exclude=./.git -cf - . | tar -C "$1" -xf -
	fi
}
# build DIR [DEB_BUILD_OPTIONS]: dpkg-buildpackage in DIR/sfcgi, log in DIR/build.log
build() {
	local t0 rc
	t0=$(sd__now)
	(cd "$1/sfcgi" && DEB_BUILD_OPTIONS="parallel=2 ${2:-}" \
		dpkg-buildpackage -us -uc -b) >"$1/build.log" 2>&1
	rc=$?
	note "dpkg-buildpackage in $1: exit $rc, $(( ($(sd__now) - t0) / 1000 )) s"
	[ $rc = 0 ] || tail -n 30 "$1/build.log" | sed 's/^/#   /'
	return $rc
}
rm -rf "$work"
mkdir -p "$work"
export_tree "$work/export" || bail_out "1 could not export the tree into $work"
before=$(git -C "$src" status --porcelain 2>/dev/null | md5sum)
mkdir -p "$work/v1" "$work/v2"
cp -a "$work/export" "$work/v1/sfcgi" && cp -a "$work/export" "$work/v2/sfcgi" ||
	bail_out "1 could not copy the export"
v1=$(cd "$work/v1/sfcgi" && dpkg-parsechangelog -S Version)
v2=$v1+pkgtest1
(cd "$work/v2/sfcgi" && DEBEMAIL="$(dpkg-parsechangelog -S Maintainer)" \
	dch -v "$v2" -D unstable --force-distribution "tests/package: the version upgraded to.") \
	>"$work/v2/dch.log" 2>&1
check "1 dch -v $v2 in a scratch copy" grep -q "^sfcgi ($v2)" "$work/v2/sfcgi/debian/changelog"
# The first build runs the build-time tests (unit and doc suites); the second
# is the same code and skips them.
check "1 dpkg-buildpackage -us -uc -b ($v1)" build "$work/v1"
check "1 dpkg-buildpackage -us -uc -b ($v2, nocheck)" build "$work/v2" nocheck
check "1 the source tree is untouched" \
	test "$(git -C "$src" status --porcelain 2>/dev/null | md5sum)" = "$before"
debs() { ls "$work/$1"/{libsfcgi0,libsfcgi-dev,sfcgi}_*.deb 2>/dev/null; }
[ "$(debs v1 | wc -l)" = 3 ] && [ "$(debs v2 | wc -l)" = 3 ] ||
	bail_out "1 the three packages were not built (see $work/v*/build.log)"

# ---------------------------------------------------------------- 2 lintian
t0=$(sd__now)
lintian --fail-on error,warning "$work/v1/sfcgi_${v1}_amd64.changes" >"$work/lintian.log" 2>&1
rc=$?
sed 's/^/#   /' "$work/lintian.log"
check "2 lintian: no error, no warning ($(( ($(sd__now) - t0) / 1000 )) s)" test $rc = 0

# ---------------------------------------------------------------- 3 install
sd_prepare package || exit 1
for f in /usr/bin/sfcgi /usr/libexec/sfcgi /lib/systemd/system/app@.service /etc/sfcgi \
	/var/lib/dpkg/info/sfcgi.list; do
	[ ! -e "$SD_ROOT$f" ] || bail_out "3 $f exists before the install: not a clean start"
done
# The host's policy-rc.d (a container image's "exit 101") would forbid every
# service action of the maintainer scripts; a booted Debian has none.
if [ -e "$SD_ROOT/usr/sbin/policy-rc.d" ]; then
	rm -f "$SD_ROOT/usr/sbin/policy-rc.d"
	note "removed the host's /usr/sbin/policy-rc.d from the container"
fi
for v in v1 v2; do
	for f in $(debs $v); do
		sd_install_file "$f" "/root/pkg/$v/${f##*/}" 0644 || exit 1
	done
done
# nspawn's own seccomp filter lacks landlock_* (see tests/systemd/wiki.sh).
SYSTEMD_SECCOMP=0 sd_start || exit 1
note "container $SD_NAME booted in ${SD_BOOT_MS} ms"
apt_in() { in_c env DEBIAN_FRONTEND=noninteractive sh -c "cd /root/pkg/$1 && apt install -y ./*.deb"; }
apt_in v1 >"$tmp/apt-v1.log" 2>&1
check_or "3 apt install ./*.deb ($v1)" test $? = 0 || sed 's/^/#   /' "$tmp/apt-v1.log"
check "3 system and user templates installed" in_c test -f /lib/systemd/system/app@.socket \
	-a -f /lib/systemd/system/app@.service -a -f /usr/lib/systemd/user/app@.service \
	-a -f /usr/lib/systemd/user/app@.socket -a -f /lib/systemd/system/app-status@.socket \
	-a -f /usr/lib/systemd/user/app-status@.socket
check "3 nothing enabled or started" \
	test -z "$(in_c sh -c 'find /etc/systemd/system -name "app@*";
		systemctl list-units --no-legend --plain "app@*"')"
check "3 the templates are known to systemd, disabled" \
	test "$(in_c systemctl is-enabled app@.socket 2>&1)" = disabled

# ---------------------------------------------------------------- 4 wiki
in_c mkdir -p /etc/sfcgi
in_c cp /usr/share/doc/sfcgi/examples/wiki.json /etc/sfcgi/wiki.json
in_c systemctl enable --now "$sock_unit" >"$tmp/enable.out" 2>&1
check "4 enable --now $sock_unit (/usr/share/doc/sfcgi/examples/wiki.json)" test $? = 0
check "4 nginx (host) -> /run/sfcgi/wiki.sock" si_nginx_start /run/sfcgi/wiki.sock
code=$(curl -s -m 10 -o /dev/null -w '%{http_code}' --data-urlencode "text=$needle" "$url/Upgrade")
check "4 POST /Upgrade saves a page ($code)" test "$code" = 303
out=$(curl -s -m 10 "$url/Upgrade")
check "4 GET /Upgrade serves it" grep -q "$needle" <<<"$out"
# (READY=1 comes once the workers serve, after the first request may have)
wait_for 10 'active "$unit" active' || bail_out "4 $unit is not active"

# ---------------------------------------------------------------- 5 upgrade
# worker_state: "PID EXE" per worker; exe and mapped libsfcgi of each
workers() { in_c pgrep -P "$(mainpid)" | tr '\n' ' '; }
# stale PID: the files PID runs that were replaced on disk since it started
stale() {
	in_c sh -c "readlink /proc/$1/exe; grep -E 'libsfcgi|/usr/libexec/sfcgi' /proc/$1/maps" |
		grep -F '(deleted)'
}
main0=$(mainpid) workers0=$(workers)
sbin0=$(in_c stat -L -c %i "/proc/$main0/exe")
note "before: MainPID $main0, workers $workers0"
reloads0=$(reloads_done)
si_load_start 16 "$url/Upgrade" "$needle"
sleep 1
t0=$(sd__now)
apt_in v2 >"$tmp/apt-v2.log" 2>&1
rc=$?
t_apt=$(( $(sd__now) - t0 ))
sleep 1
si_load_stop
t_load=$(( $(sd__now) - t0 + 1000 ))
sed -n '/^sfcgi: /s/^/#   /p' "$tmp/apt-v2.log"
check_or "5 apt install ./*.deb ($v2) under load (${t_apt} ms)" test $rc = 0 ||
	sed 's/^/#   /' "$tmp/apt-v2.log"
check "5 postinst reloaded $unit" grep -q "^sfcgi: reloaded $unit" "$tmp/apt-v2.log"
check "5 dpkg says $v2" test "$(in_c dpkg-query -W -f '${Version}' sfcgi)" = "$v2"
si_nginx_errors
echo "# upgrade under load: ${load_total:-?} requests, ${load_bad:-?} failed" \
	"(${load_non2xx:-0} non-2xx, socket errors: ${load_sockerr:-none}), nginx errors $ngx_other," \
	"over $((t_load / 1000)).$((t_load % 1000 / 100)) s (apt: ${t_apt} ms)"
check "5 upgrade under load: requests served (${load_total:-0})" test "${load_total:-0}" -gt 0
check "5 upgrade under load: 0 failed" test "${load_bad:-1}" = 0 -a -z "$load_sockerr" \
	-a "${load_non2xx:-0}" = 0 -a "$ngx_other" = 0
check_or "5 the instance reloaded (reload complete logged)" \
	wait_for 10 "[ \$(reloads_done) -gt $reloads0 ]" || sd_journal "$unit"
main1=$(mainpid) workers1=$(workers)
note "after: MainPID $main1, workers $workers1"
check "5 same MainPID, no restart (reload, not stop/start)" \
	test "$main1" = "$main0" -a "$(in_c systemctl show -P NRestarts "$unit")" = 0
# (the supervisor of a native program is the program, here the wiki)
check "5 the supervisor re-executed itself from the new files" \
	test -z "$(stale "$main1")" -a "$(in_c stat -L -c %i "/proc/$main1/exe")" != "$sbin0"
n_new=0 n_stale=0
for p in $workers1; do
	case " $workers0 " in *" $p "*) n_stale=$((n_stale + 1)); continue ;; esac
	if [ -n "$(stale "$p")" ]; then n_stale=$((n_stale + 1)); else n_new=$((n_new + 1)); fi
done
check "5 the workers run the new wiki and libsfcgi ($n_new new, $n_stale stale)" \
	test "$n_new" -gt 0 -a "$n_stale" = 0
out=$(curl -s -m 10 "$url/Upgrade")
check "5 the page is still there" grep -q "$needle" <<<"$out"

# ---------------------------------------------------------------- 6 purge
in_c dpkg -L sfcgi libsfcgi0 libsfcgi-dev >"$tmp/owned" 2>/dev/null
in_c env DEBIAN_FRONTEND=noninteractive apt purge -y sfcgi libsfcgi0 libsfcgi-dev \
	>"$tmp/purge.log" 2>&1
check_or "6 apt purge" test $? = 0 || sed 's/^/#   /' "$tmp/purge.log"
sed -n '/^sfcgi: /s/^/#   /p' "$tmp/purge.log"
si_nginx_stop
check "6 no app@ unit active" \
	test -z "$(in_c systemctl list-units --no-legend --plain --state=active 'app@*')"
check "6 no sfcgi process" test -z "$(in_c pgrep -f 'sfcgi|libexec/sfcgi')"
check "6 no socket, no /run/sfcgi" in_c test ! -e /run/sfcgi/wiki.sock -a ! -e /run/sfcgi
left=$(in_c sh -c 'while read -r f; do
	if [ ! -d "$f" ] && { [ -e "$f" ] || [ -L "$f" ]; }; then echo "$f"; fi; done; for d in /usr/libexec/sfcgi /usr/share/sfcgi /usr/share/doc/sfcgi \
	/usr/share/doc/libsfcgi0 /usr/share/doc/libsfcgi-dev; do [ -e "$d" ] && echo "$d"; done; true' \
	<"$tmp/owned")
check_or "6 no file the packages owned ($(wc -l <"$tmp/owned") listed)" test -z "$left" ||
	note "left: $left"
check "6 no state, cache or logs: /var/{lib,cache,log}/{,private/}sfcgi" \
	test -z "$(in_c sh -c 'ls -d /var/lib/sfcgi /var/lib/private/sfcgi /var/cache/sfcgi \
		/var/cache/private/sfcgi /var/log/sfcgi /var/log/private/sfcgi 2>/dev/null')"
check "6 no enablement link left" \
	test -z "$(in_c find /etc/systemd/system -name 'app@*' -o -name 'app-status@*')"
check "6 the admin's /etc/sfcgi/wiki.json is left, and the purge says so" \
	in_c test -f /etc/sfcgi/wiki.json -a -n "$(grep -F 'left /etc/sfcgi alone' "$tmp/purge.log")"
check "6 no unit file left for systemd" \
	test -z "$(in_c systemctl list-unit-files --no-legend 'app@*' 'app-status@*')"

si_done
