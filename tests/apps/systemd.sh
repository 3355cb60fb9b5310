#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Every application of contrib/apps/ deployed under the shipped units, the
# way docs/migration.md says a user does it, in a real systemd (a throw-away
# nspawn container, tests/systemd/lib.sh): the build installed (sfcgi and
# sfcgi-foreign under meson's default prefix, /usr/local, which the
# configured app@.service names; sfcgi-cgi at /usr/bin/sfcgi-cgi, which the
# JSON files name), then tests/apps/systemd_apps.py copies each app's JSON
# to /etc/sfcgi/, its drop-ins to /etc/systemd/system/app@<app>.service.d/,
# runs its setup.sh inside, `systemctl enable --now app@<app>.socket`, and
# drives the flows of tests/apps/*.py through the host's nginx including the
# documented nginx.conf. Exit 77 without root.
#
#   tests/apps/systemd.sh SFCGI SFCGI_FOREIGN SFCGI_CGI LIBSFCGI UNITDIR WORKDIR
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
if [ $# != 6 ]; then
	echo "usage: $0 SFCGI SFCGI_FOREIGN SFCGI_CGI LIBSFCGI UNITDIR WORKDIR" >&2
	exit 2
fi
sfcgi=$1 foreign=$2 cgi=$3 lib=$4 unitdir=$5 work=$6
if [ "$(id -u)" != 0 ]; then
	echo "SKIP: needs root (mounts, cgroups, systemd-nspawn)"
	exit 77
fi
for c in nginx nsenter php-cgi hg git ikiwiki; do
	if ! command -v "$c" >/dev/null; then
		echo "SKIP: $c is not installed (scripts/install-deps.sh)"
		exit 77
	fi
done
for f in "$sfcgi" "$foreign" "$cgi" "$lib" "$unitdir/app@.service" "$top/units/app@.socket"; do
	[ -e "$f" ] || { echo "FAIL: $f missing (build first)" >&2; exit 1; }
done
python=${PYTHON:-python3}

# shellcheck source=../systemd/lib.sh disable=SC1091
. "$top/tests/systemd/lib.sh"
SD_QUIET=${SD_QUIET:-1}
# php-cgi opens the document root at the path nginx on the host checked; the
# unit's PrivateTmp= hides /tmp and /var/tmp, and nspawn mounts its own /tmp:
# a build there works in /srv instead, removed at the end
case $(readlink -m "$work")/ in
/tmp/* | /var/tmp/*)
	echo "# $work is hidden from the services (PrivateTmp=): working in /srv/sfcgi-apps-test"
	work=/srv/sfcgi-apps-test own_work=1 ;;
esac
rm -rf "$work"
mkdir -p "$work"
chmod 755 "$work"
# php's document root: the same path on the host (nginx's `-f` test) and
# inside (SCRIPT_FILENAME), made before the overlay is mounted over /
"$python" "$here/systemd_apps.py" --prepare --workdir "$work" || exit 1
if ! sd_host_path_visible "$work"; then
	echo "FAIL: $work is under a mount, not seen inside: build elsewhere" >&2
	exit 1
fi

sd_prepare sfcgi-apps || exit 1
sd_install_bin "$sfcgi" /usr/local/bin/sfcgi || exit 1
sd_install_file "$foreign" /usr/local/libexec/sfcgi/sfcgi-foreign 0755 || exit 1
sd_install_lib "$(readlink -f "$lib")" >/dev/null || exit 1
sd_install_file "$cgi" /usr/bin/sfcgi-cgi 0755 || exit 1
sd_install_file "$top/units/app@.socket" /etc/systemd/system/app@.socket 0644 || exit 1
sd_install_file "$top/units/app-status@.socket" /etc/systemd/system/app-status@.socket 0644 ||
	exit 1
sd_install_file "$unitdir/app@.service" /etc/systemd/system/app@.service 0644 || exit 1
exec_start=$(grep '^ExecStart=' "$SD_ROOT/etc/systemd/system/app@.service")
if [ "$exec_start" != 'ExecStart=/usr/local/bin/sfcgi run %i' ]; then
	echo "# app@.service: $exec_start (not /usr/local/bin/sfcgi): rewritten for this test"
	sed -i -E 's#^Exec(Start|Reload)=[^ ]*/sfcgi #Exec\1=/usr/local/bin/sfcgi #' \
		"$SD_ROOT/etc/systemd/system/app@.service"
fi
sd_start || exit 1
echo "# container $SD_NAME booted in ${SD_BOOT_MS:-?} ms"

"$python" "$here/systemd_apps.py" --leader "$SD_LEADER" --root "$SD_ROOT" \
	--workdir "$work"
rc=$?
if [ "$rc" != 0 ]; then
	sd_run journalctl -b --no-pager -o short-monotonic -u 'app@*' >"$work/journal.txt" 2>&1
	echo "# the instances' journal: $work/journal.txt"
fi
[ -z "${own_work:-}" ] || [ "$rc" != 0 ] || rm -rf "$work"
exit "$rc"
