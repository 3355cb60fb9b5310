#!/bin/sh
# One-time setup for cgit behind sfcgi, run as root: a repository to browse
# and clone in /var/lib/git (Debian's git package makes the directory), and
# cgit's configuration. Readable by everyone, so the instance's dynamic user
# reads it; writable by root only, so the web never changes it.
set -eu
here=$(dirname "$0")
repo=/var/lib/git/demo.git
if [ ! -d "$repo" ]; then
	git init --quiet --bare --initial-branch=main "$repo"
	echo "demo repository" >"$repo/description"
	# dumb HTTP clones read info/refs and objects/info/packs: refresh them on every push
	cp "$repo/hooks/post-update.sample" "$repo/hooks/post-update"
	work=$(mktemp -d)
	git -C "$work" init --quiet --initial-branch=main
	echo "A repository served by cgit through sfcgi." >"$work/README"
	git -C "$work" add README
	git -C "$work" -c user.name=setup -c user.email=root@localhost commit --quiet -m "first commit"
	git -C "$work" push --quiet "$repo" main
	rm -rf "$work"
fi
cp "$here/cgitrc" /etc/cgitrc
