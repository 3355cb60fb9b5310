#!/bin/sh
# One-time setup for gitweb behind sfcgi, run as root: a repository in
# /var/lib/git, which Debian's git package makes and /etc/gitweb.conf names
# ($projectroot), so gitweb's own configuration stays as installed.
# Readable by everyone (the instance's dynamic user), writable by root only.
set -eu
repo=/var/lib/git/demo.git
if [ ! -d "$repo" ]; then
	git init --quiet --bare --initial-branch=main "$repo"
	echo "demo repository" >"$repo/description"
	work=$(mktemp -d)
	git -C "$work" init --quiet --initial-branch=main
	echo "A repository served by gitweb through sfcgi." >"$work/README"
	git -C "$work" add README
	git -C "$work" -c user.name=setup -c user.email=root@localhost commit --quiet -m "first commit"
	git -C "$work" push --quiet "$repo" main
	rm -rf "$work"
fi
