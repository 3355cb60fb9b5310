#!/bin/sh
# SPDX-License-Identifier: MIT
# `sfcgi check` on the files here, as a user runs it:
#   good*.json          exit 0, the effective configuration on stdout;
#   bad-NAME.json       exit 1, exactly the line of bad-NAME.err on stderr (a
#                       line ending in "..." is a prefix: key lists may grow);
# plus instance names (--user, XDG_CONFIG_HOME), round trip and usage errors.
# Usage: check.sh SFCGI_BINARY FIXTURE_DIR
set -u
case $1 in
/*) sfcgi=$1 ;;
*) sfcgi=$PWD/$1 ;;
esac
cd "$2" || exit 1
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
checks=0
failures=0

fail() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}

# expect STATUS COMMAND...: runs COMMAND, output in $tmp/out and $tmp/err.
expect() {
	want=$1
	shift
	checks=$((checks + 1))
	"$@" >"$tmp/out" 2>"$tmp/err"
	got=$?
	[ "$got" -eq "$want" ] || fail "$*: exit status $got, expected $want: $(cat "$tmp/err")"
}

expect 0 "$sfcgi" check good.json
for want in '"kind": "native"' '"program": "/bin/true"' '"args": []' '"environment": {}' \
	'"workers": ' '"max_requests": 0' '"idle_timeout": 0' '"request_timeout": 300' \
	'"drain_timeout": 30' '"max_conns": 1024' '"max_stdin_bytes": 1073741824' \
	'"read_timeout": 30' '"conn_idle_timeout": 300'; do
	grep -qF -- "$want" "$tmp/out" || fail "good.json: output lacks $want"
done
[ -s "$tmp/err" ] && fail "good.json: wrote to stderr: $(cat "$tmp/err")"

# What check prints is valid input and prints the same again.
expect 0 "$sfcgi" check good-full.json
cp "$tmp/out" "$tmp/printed.json"
expect 0 "$sfcgi" check "$tmp/printed.json"
cmp -s "$tmp/out" "$tmp/printed.json" || fail "good-full.json: printing is not a fixed point"
grep -qF '"read_timeout": 0.25' "$tmp/out" || fail "good-full.json: read_timeout not 0.25"

for f in bad-*.json; do
	expect 1 "$sfcgi" check "$f"
	[ -s "$tmp/out" ] && fail "$f: wrote to stdout"
	want=$(cat "${f%.json}.err")
	case $want in
	*...) [ "$(wc -l <"$tmp/err")" -eq 1 ] && head -c "$((${#want} - 3))" "$tmp/err" |
		cmp -s - "${f%.json}.err" -n "$((${#want} - 3))" ;;
	*) cmp -s "${f%.json}.err" "$tmp/err" ;;
	esac || fail "$f: stderr is '$(cat "$tmp/err")', expected '$want'"
done

# A program that exists but may not be executed.
printf '#!/bin/sh\n' >"$tmp/app"
chmod 0644 "$tmp/app"
printf '{"program": "%s"}\n' "$tmp/app" >"$tmp/noexec.json"
expect 1 "$sfcgi" check "$tmp/noexec.json"
echo "$tmp/noexec.json:1:13: \"program\": \"$tmp/app\" is not executable" >"$tmp/want"
cmp -s "$tmp/want" "$tmp/err" || fail "noexec: stderr is '$(cat "$tmp/err")'"

# "program": a FILE may be a native program's own --config FILE, which may
# leave it out (a note says sfcgi run would not); an instance may not, nor a
# foreign program.
printf '{\n  "workers": 2\n}\n' >"$tmp/own.json"
expect 0 "$sfcgi" check "$tmp/own.json"
grep -qF "$tmp/own.json: no \"program\": valid for a native program started as PROGRAM --config" \
	"$tmp/err" || fail "own.json: no note on stderr: $(cat "$tmp/err")"
grep -qF '"workers": 2' "$tmp/out" || fail "own.json: not printed"
mkdir -p "$tmp/inst/sfcgi"
cp "$tmp/own.json" "$tmp/inst/sfcgi/own.json"
expect 1 env XDG_CONFIG_HOME="$tmp/inst" "$sfcgi" check --user own
grep -qF "own.json:1:1: missing required key \"program\" (what sfcgi run executes; only a" \
	"$tmp/err" || fail "own instance: $(cat "$tmp/err")"
printf '{"kind": "foreign"}\n' >"$tmp/foreign.json"
expect 1 "$sfcgi" check "$tmp/foreign.json"
grep -qF "foreign.json:1:1: missing required key \"program\" (the FastCGI program" "$tmp/err" ||
	fail "foreign without program: $(cat "$tmp/err")"

# Instance names: per user under $XDG_CONFIG_HOME, else ~/.config.
mkdir -p "$tmp/xdg/sfcgi" "$tmp/home/.config/sfcgi"
cp good.json "$tmp/xdg/sfcgi/wiki.json"
cp bad-type.json "$tmp/home/.config/sfcgi/wiki.json"
expect 0 env XDG_CONFIG_HOME="$tmp/xdg" HOME="$tmp/home" "$sfcgi" check --user wiki
expect 1 env -u XDG_CONFIG_HOME HOME="$tmp/home" "$sfcgi" check --user wiki
grep -qF "$tmp/home/.config/sfcgi/wiki.json:3:14: " "$tmp/err" || fail "--user: $(cat "$tmp/err")"
expect 1 env -u XDG_CONFIG_HOME -u HOME "$sfcgi" check --user wiki
expect 1 env XDG_CONFIG_HOME="$tmp/xdg" "$sfcgi" check -u nosuch
grep -qxF "$tmp/xdg/sfcgi/nosuch.json: No such file or directory" "$tmp/err" ||
	fail "missing instance: $(cat "$tmp/err")"
expect 1 "$sfcgi" check ./nosuch.json
grep -qxF "./nosuch.json: No such file or directory" "$tmp/err" || fail "$(cat "$tmp/err")"

# Usage errors exit 2, --help 0.
expect 2 "$sfcgi" check
expect 2 "$sfcgi" check good.json good.json
expect 2 "$sfcgi" check --bogus good.json
expect 2 "$sfcgi" check .hidden
expect 2 "$sfcgi" check 'a b'
expect 0 "$sfcgi" check --help
grep -q '^Usage: sfcgi check' "$tmp/out" || fail "--help: no usage on stdout"

echo "$checks runs, $failures failures"
[ "$failures" -eq 0 ]
