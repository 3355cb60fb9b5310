#!/bin/sh
# SPDX-License-Identifier: MIT
# One-time setup of the ikiwiki instance of docs/migration.md, run as root:
# a system user "ikiwiki" owns the wiki and runs the instance
# (app@ikiwiki.service.d/ikiwiki.conf), no revision control, anonymous
# editing. IKIWIKI_DIR is where the wiki lives (ikiwiki.json and nginx.conf
# name /var/lib/ikiwiki), IKIWIKI_URL the address nginx serves it at.
set -eu
dir=${IKIWIKI_DIR:-/var/lib/ikiwiki}
url=${IKIWIKI_URL:-http://localhost}

id ikiwiki >/dev/null 2>&1 ||
	adduser --system --group --home /nonexistent --no-create-home ikiwiki
install -d -o ikiwiki -g ikiwiki -m 0755 "$dir" "$dir/src" "$dir/public_html" "$dir/cgi-bin"
as_ikiwiki() { runuser -u ikiwiki -- env HOME="$dir" "$@"; }
[ -e "$dir/src/index.mdwn" ] ||
	printf 'Welcome to your new wiki.\n\nAll wikis are supposed to have a [[SandBox]].\n' |
	as_ikiwiki tee "$dir/src/index.mdwn" >/dev/null
# The CGI wrapper without the setuid bit (ikiwiki's default is 06755): under
# no_new_privs a setuid bit does nothing, the instance runs as ikiwiki instead.
# umask public: pages rebuilt under the unit's UMask=0077 stay readable by nginx.
[ -e "$dir/ikiwiki.setup" ] ||
	as_ikiwiki ikiwiki "$dir/src" "$dir/public_html" --url="$url" --cgiurl="$url/ikiwiki.cgi" \
		--set cgi_wrapper="$dir/cgi-bin/ikiwiki.cgi" --set cgi_wrappermode=0755 \
		--set umask=public --plugin anonok --set anonok_pagespec='*' \
		--dumpsetup "$dir/ikiwiki.setup"
as_ikiwiki ikiwiki --setup "$dir/ikiwiki.setup"
