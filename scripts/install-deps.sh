#!/usr/bin/env bash
# Installs every Debian 12 package sfcgi needs to build, test and run its
# demo. Idempotent: when everything is installed already it touches nothing
# (no apt-get at all). Non-interactive: works with CI=true and no stdin.
#
#   bash scripts/install-deps.sh          # as root (or via sudo when available)
set -euo pipefail

PACKAGES=(
	# build
	build-essential meson ninja-build pkg-config
	libsystemd-dev libseccomp-dev libjsmn-dev
	# tests: Check unit tests, sanitizer runtime, libfcgi interop, e2e via nginx
	check clang libclang-rt-14-dev libfcgi-dev
	nginx-light curl python3 iproute2 procps
	# systemd-socket-activate, systemd-nspawn; spawn-fcgi (fd 0 activation)
	systemd-container spawn-fcgi
	# tests/integration/ids.sh: which files the app process opens after its exec
	strace
	# tests/pressure/evict.py: HAProxy 2.6 fcgi-app in front of an instance;
	# tests/scaleout: HAProxy and nginx-light balancing hosts made with
	# iproute2's ip netns (above)
	haproxy
	# real-systemd tests: load through nginx, per-user socket ACL; wrk also for
	# tests/pressure/slowpeer.py
	wrk acl
	# man page lint
	groff-base man-db
	# foreign programs and web servers (tests/foreign): php-cgi, Perl FCGI,
	# Go net/http/fcgi, Apache with mod_proxy_fcgi, lighttpd with mod_fastcgi
	php-cgi libfcgi-perl golang-go apache2 lighttpd
	# real applications (tests/apps): ikiwiki and what its CGI loads (sessions,
	# forms: Recommends, left out by --no-install-recommends); haserl, the
	# shell CGI runtime of the shell-cgi test
	ikiwiki libcgi-session-perl libcgi-formbuilder-perl libcgi-pm-perl haserl
	# tests/apps/git.py: cgit and gitweb through sfcgi-cgi, gitweb --fastcgi
	# (CGI::Fast); git for the test's repository and its clone over HTTP
	cgit gitweb libcgi-fast-perl git
	# tests/e2e/caddy_e2e.py: Caddy 2.6 and contrib/caddy/Caddyfile (chunked uploads)
	caddy
	# real applications (tests/apps): DokuWiki on php-cgi (apps-dokuwiki),
	# Mercurial's hgweb.cgi through sfcgi-cgi (apps-hgweb), APCu for the two
	# php-cgi layouts (apps-php-layouts); apps-systemd deploys all of these
	# under the shipped units in systemd-container's nspawn (listed above)
	dokuwiki mercurial php-apcu
	# the Debian packages (debian/, tests/package): dpkg-buildpackage with
	# debhelper, dch (devscripts), lintian; fakeroot is what dpkg-buildpackage
	# falls back to if a package's Rules-Requires-Root is ever not "no"
	debhelper devscripts lintian fakeroot
	# tests/status: promtool, and a real Prometheus server the test starts on
	# 127.0.0.1 itself (the service Debian starts is disabled below)
	prometheus
)

missing=()
for p in "${PACKAGES[@]}"; do
	status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
	[[ $status == ii* ]] || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
	echo "install-deps: all ${#PACKAGES[@]} packages already installed"
	exit 0
fi
echo "install-deps: installing: ${missing[*]}"

SUDO=()
if ((EUID != 0)); then
	if command -v sudo >/dev/null 2>&1; then
		SUDO=(sudo -n)
	else
		echo "install-deps: not root and no sudo; install as root: apt-get install ${missing[*]}" >&2
		exit 1
	fi
fi

export DEBIAN_FRONTEND=noninteractive
APT_OPTS=(-y -q -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)

# Refresh the package lists only when they are missing or older than a day.
lists=/var/lib/apt/lists
if [[ -z $(find "$lists" -maxdepth 1 -name '*_Packages*' -mtime -1 -print -quit 2>/dev/null) ]]; then
	echo "install-deps: package lists missing or older than a day: apt-get update"
	"${SUDO[@]}" apt-get update -q </dev/null
fi

if ! "${SUDO[@]}" apt-get install "${APT_OPTS[@]}" --no-install-recommends "${missing[@]}" </dev/null; then
	# Lists may be stale even if recent (a package moved): refresh once and retry.
	"${SUDO[@]}" apt-get update -q </dev/null
	"${SUDO[@]}" apt-get install "${APT_OPTS[@]}" --no-install-recommends "${missing[@]}" </dev/null
fi
# prometheus (and, by its Recommends elsewhere, the node exporter) comes as
# services Debian starts: the tests start their own server on a free port.
if [[ " ${missing[*]} " == *" prometheus "* ]] && command -v systemctl >/dev/null 2>&1; then
	"${SUDO[@]}" systemctl disable --now prometheus prometheus-node-exporter 2>/dev/null || true
fi
echo "install-deps: done"
