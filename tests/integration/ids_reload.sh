#!/usr/bin/env bash
# A reload resolves the names again (src/ids.c, issue 12): `sfcgi run` hands
# the program the ids of "sandbox": {"user": ...} at start, and a reload
# re-executes `sfcgi run`, which asks NSS afresh. A temporary user (and its
# group) is made, an instance started as it, then the user is made again
# under the same name with other ids; after SIGHUP the new worker runs with
# the new ones. The user and group are removed at exit, pass or fail.
# Runs as root (useradd, the user switch).
# Usage: ids_reload.sh TESTAPP SFCGI_TOOL
set -u
APP=$1 TOOL=$2
if [ "$(id -u)" != 0 ] || ! command -v useradd >/dev/null; then
	echo "# SKIP: needs root and useradd"
	exit 77
fi
dir=$(mktemp -d /tmp/sfcgi-idsr-XXXXXX)
chmod 755 "$dir"
name=sfcgi-idsr-$$
pass=0 fail=0
sup=

drop_user() {
	userdel -f "$name" >>"$dir/users.log" 2>&1
	groupdel "$name" >>"$dir/users.log" 2>&1
}
cleanup() {
	[ -n "$sup" ] && kill -TERM "$sup" 2>/dev/null
	wait 2>/dev/null
	drop_user
	getent passwd "$name" >/dev/null && echo "# user $name left behind"
	[ "$fail" = 0 ] && rm -rf "$dir" || echo "# logs kept in $dir"
}
trap cleanup EXIT
ok() { pass=$((pass + 1)); echo "ok - $*"; }
not_ok() { fail=$((fail + 1)); echo "not ok - $*"; }
check() { local name=$1; shift; if "$@"; then ok "$name"; else not_ok "$name"; fi; }
wait_for() { for _ in $(seq 500); do eval "$1" && return 0; sleep 0.02; done; return 1; }
req() { "$TOOL" request -b -t 10 "$dir/app.sock" "/?pid" 2>>"$dir/req.err"; }

# An id free as both a uid and a gid, from $1 up.
free_id() {
	local i=$1
	while getent passwd "$i" >/dev/null || getent group "$i" >/dev/null; do i=$((i + 1)); done
	echo "$i"
}
make_user() { # ID: user $name and group $name, both with that id
	groupadd -g "$1" "$name" >>"$dir/users.log" 2>&1 &&
		useradd -M -N -g "$name" -s /usr/sbin/nologin -u "$1" "$name" >>"$dir/users.log" 2>&1
}
# "uid gid" of each child of the supervisor, one line each
workers() {
	for p in $(pgrep -P "$sup"); do
		awk '/^Uid:/ { u = $2 } /^Gid:/ { g = $2 } END { print u, g }' "/proc/$p/status"
	done
}

id1=$(free_id 59100)
make_user "$id1" || { not_ok "useradd $name ($id1): $(cat "$dir/users.log")"; exit 1; }
id2=$(free_id $((id1 + 1)))
cat >"$dir/app.json" <<EOF
{ "program": "$APP", "listen": "$dir/app.sock", "workers": 1, "sandbox": { "user": "$name" } }
EOF
SFCGI_LOG_LEVEL=debug "$TOOL" run --config "$dir/app.json" 2>"$dir/app.log" &
sup=$!
wait_for "[ -S $dir/app.sock ]" || { not_ok "instance did not start"; cat "$dir/app.log"; exit 1; }
check "serves as $name" bash -c "$(declare -f req); TOOL=$TOOL dir=$dir; req | grep -q pid="
wait_for '[ "$(workers)" = "$id1 $id1" ]'
check "the worker runs as $id1:$id1 (uid gid: $(workers))" test "$(workers)" = "$id1 $id1"

# The same name, other ids. (usermod -u refuses while a process runs as the
# user: the worker does.)
drop_user
make_user "$id2" || { not_ok "useradd $name ($id2): $(cat "$dir/users.log")"; exit 1; }
check "$name is now $id2 (id: $(id "$name"))" test "$(id -u "$name"):$(id -g "$name")" = "$id2:$id2"
kill -HUP "$sup"
check "reload complete" wait_for "grep -q 'reload complete' $dir/app.log"
wait_for '[ "$(workers)" = "$id2 $id2" ]'
check "the new worker runs as $id2:$id2 (uid gid: $(workers | tr '\n' ' '))" \
	test "$(workers)" = "$id2 $id2"
check "serves after the reload" bash -c "$(declare -f req); TOOL=$TOOL dir=$dir; req | grep -q pid="
check "the same supervisor" kill -0 "$sup"

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
