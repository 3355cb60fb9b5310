#!/bin/sh
# DokuWiki under sfcgi: add a wiki user who may edit pages and upload media
# (Debian's package makes only the "admin" account, whose password debconf
# asked for). Run once per user, as root; the password is read from stdin:
#
#   sh setup.sh LOGIN EMAIL [FULL-NAME] < password-file
#
# It uses DokuWiki's own user manager (bin/plugin.php usermanager), as
# www-data, the owner of Debian's /var/lib/dokuwiki. The group "user" may
# edit and upload under Debian's default ACL (/etc/dokuwiki/acl.auth.php).
set -eu
login=${1:?usage: setup.sh LOGIN EMAIL [FULL-NAME] < password-file}
email=${2:?usage: setup.sh LOGIN EMAIL [FULL-NAME] < password-file}
name=${3:-$login}
IFS= read -r password || [ -n "$password" ] || { echo "setup.sh: no password on stdin" >&2; exit 1; }
cd /usr/share/dokuwiki
if COLUMNS=200 runuser -u www-data -- php bin/plugin.php usermanager list 2>/dev/null |
		grep -q "^$login "; then
	echo "setup.sh: DokuWiki user $login exists already; change it in the wiki's user manager"
	exit 0
fi
runuser -u www-data -- php bin/plugin.php usermanager add "$login" "$email" "$name" user "$password"
