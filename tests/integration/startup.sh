#!/usr/bin/env bash
# What an instance says at start when its configuration cannot work, each
# through the real entry point (sfcgi run, or the native program with its
# own --config FILE): no socket at all, "program" left out, "limits" on a
# foreign program, and root without "sandbox": {"user"} facing a directory
# another user owns.
# Usage: startup.sh ECHO SFCGI_TOOL
set -u
ECHO=$1 TOOL=$2
dir=$(mktemp -d /tmp/sfcgi-startup-XXXXXX)
chmod 0755 "$dir"
pids=()
pass=0 fail=0

cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	[ "$fail" = 0 ] && rm -rf "$dir" || echo "# logs kept in $dir"
}
trap cleanup EXIT

ok() { pass=$((pass + 1)); echo "ok - $*"; }
not_ok() { fail=$((fail + 1)); echo "not ok - $*"; }
check() { # check NAME CMD...: passes when CMD succeeds
	local name=$1
	shift
	if "$@"; then ok "$name"; else not_ok "$name"; fi
}
wait_for() { # wait_for PATH: a socket file appears (5 s)
	for _ in $(seq 500); do [ -S "$1" ] && return 0; sleep 0.01; done
	return 1
}
wait_log() { # wait_log FILE TEXT (10 s)
	for _ in $(seq 1000); do grep -qF -- "$2" "$1" && return 0; sleep 0.01; done
	return 1
}
serves() { "$TOOL" request -t 5 "$1" / 2>/dev/null | grep -q '^role=1'; }
exits() { # exits STATUS LOG CMD...: CMD exits with STATUS within 10 s, stderr in LOG
	local want=$1 log=$2
	shift 2
	timeout 10 "$@" </dev/null >/dev/null 2>"$log"
	[ $? -eq "$want" ]
}
echo_prog=$(readlink -f "$ECHO")

# 1. No socket: the message points at what works for the way it was started.
mkdir -p "$dir/xdg/sfcgi"
printf '{"program": "%s", "workers": 1}\n' "$echo_prog" >"$dir/xdg/sfcgi/wiki.json"
exits 1 "$dir/nosock-run.log" env XDG_CONFIG_HOME="$dir/xdg" "$TOOL" run --user wiki
check "no socket, sfcgi run: names the socket unit" \
	grep -qF 'systemctl start app@wiki.socket' "$dir/nosock-run.log"
check "no socket, sfcgi run: names \"listen\" in the config file" \
	grep -qF "\"listen\": {\"path\": \"/run/sfcgi/wiki.sock\", \"group\": \"www-data\"} in $dir/xdg/sfcgi/wiki.json" \
	"$dir/nosock-run.log"
check "no socket, sfcgi run: does not suggest --listen, which sfcgi run refuses" \
	bash -c "! grep -q -- '--listen' '$dir/nosock-run.log'"
exits 1 "$dir/nosock-bare.log" "$ECHO"
check "no socket, program started by hand: suggests --listen" \
	grep -qF -- '--listen PATH|HOST:PORT' "$dir/nosock-bare.log"

# 2. A native program's own config may leave "program" out; sfcgi run's may not.
printf '{"workers": 1, "listen": {"path": "%s/own.sock"}}\n' "$dir" >"$dir/own.json"
"$ECHO" --config "$dir/own.json" 2>"$dir/own.log" &
pids+=($!)
own=$!
wait_for "$dir/own.sock"
check "own config without \"program\": the program serves" serves "$dir/own.sock"
wait_log "$dir/own.log" "worker(s) serving" # SIGHUP before that would end it
kill -HUP "$own"
check "own config without \"program\": a reload completes" \
	wait_log "$dir/own.log" "reload complete"
check "own config without \"program\": serves after the reload" serves "$dir/own.sock"
exits 78 "$dir/own-run.log" "$TOOL" run --config "$dir/own.json"
check "sfcgi run of a config without \"program\": refused, saying why" \
	grep -qF 'missing required key "program" (what sfcgi run executes' "$dir/own-run.log"

# 3. "limits" for a foreign program: refused where they would be ignored.
printf '{"kind": "foreign", "program": "/bin/cat", "listen": "%s/f.sock",\n "limits": {"max_stdin_bytes": 1000}}\n' \
	"$dir" >"$dir/foreign.json"
exits 78 "$dir/foreign.log" "$TOOL" run --config "$dir/foreign.json"
check "foreign \"limits\": sfcgi run refuses them" \
	grep -qF "\"limits\": sfcgi does not see a foreign program's requests" "$dir/foreign.log"
check "foreign \"limits\": and says what to use instead" \
	grep -qF 'client_max_body_size' "$dir/foreign.log"
check "foreign \"limits\": nothing was started" test ! -e "$dir/f.sock"

# 4. Root without "user": a directory the workers could not enter is named
#    with its owner, the "user" to set; with that user the instance serves.
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
	mkdir -p "$dir/data" "$dir/rootdata"
	chown nobody "$dir/data"
	chmod 0700 "$dir/data"
	cfg() { # cfg FILE DATA_DIR [USER]
		printf '{"workers": 1, "listen": "%s/root.sock",\n "sandbox": {"read_write": ["%s"]%s}}\n' \
			"$dir" "$2" "${3:+, \"user\": \"$3\"}" >"$1"
	}
	cfg "$dir/root.json" "$dir/data"
	exits 1 "$dir/root.log" "$ECHO" --config "$dir/root.json"
	check "root, no \"user\", a 0700 directory of nobody: refused, naming \"user\": \"nobody\"" \
		grep -qF "workers cannot write to $dir/data: $dir/data is owned by nobody, mode 0700; set \"sandbox\": {\"user\": \"nobody\"}" \
		"$dir/root.log"
	cfg "$dir/root-user.json" "$dir/data" nobody
	"$ECHO" --config "$dir/root-user.json" 2>"$dir/root-user.log" &
	pids+=($!)
	wait_for "$dir/root.sock"
	check "root with \"user\": \"nobody\": serves" serves "$dir/root.sock"
	kill "${pids[-1]}"
	wait "${pids[-1]}" 2>/dev/null

	# A reload into such a config is refused; the running generation serves on.
	cfg "$dir/reload.json" "$dir/rootdata"
	"$ECHO" --config "$dir/reload.json" 2>"$dir/reload.log" &
	pids+=($!)
	wait_for "$dir/root.sock"
	wait_log "$dir/reload.log" "worker(s) serving"
	cfg "$dir/reload.json" "$dir/data"
	kill -HUP "${pids[-1]}"
	check "reload into a directory the workers could not enter: refused" \
		wait_log "$dir/reload.log" "reload refused (see above); still serving"
	check "reload refused: the previous generation still serves" serves "$dir/root.sock"
else
	echo "ok - # SKIP root-only checks (not root, or no user nobody)"
fi

echo "1..$((pass + fail))"
[ "$fail" = 0 ]
