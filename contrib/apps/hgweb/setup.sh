#!/bin/sh
# hgweb (Mercurial's web interface) under sfcgi-cgi: the one-time steps, as
# root. Mercurial ships hgweb.cgi as an example "to edit as necessary": its
# one setting is the configuration file it serves. Repositories live in
# /srv/hg (hg init /srv/hg/NAME, readable by all: the instance runs as a
# dynamic user that owns nothing).
set -eu
install -d -m 755 /usr/local/lib/hgweb /srv/hg
sed 's|^config = .*|config = b"/etc/mercurial/hgweb.config"|' \
	/usr/share/doc/mercurial-common/examples/hgweb.cgi >/usr/local/lib/hgweb/hgweb.cgi
chmod 755 /usr/local/lib/hgweb/hgweb.cgi
if [ ! -e /etc/mercurial/hgweb.config ]; then
	cat >/etc/mercurial/hgweb.config <<'CONF'
[paths]
/ = /srv/hg/*

[web]
# no "hg push" over HTTP: pushing needs an authenticated, writable setup
allow-push =
allow-archive = gz
CONF
fi
