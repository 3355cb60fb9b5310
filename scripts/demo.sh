#!/usr/bin/env bash
# sfcgi demo: builds the project, runs the example wiki under the sfcgi
# supervisor (2 sandboxed workers) on a unix socket behind a real nginx (its
# own config, pid file, logs and temp paths; the system nginx is not
# touched), prints a URL and curl commands, and serves until Ctrl-C.
#
#   bash scripts/demo.sh                 serve until Ctrl-C
#   bash scripts/demo.sh --check         save and read a page through nginx, exit 0/1
#   bash scripts/demo.sh --app echo      examples/echo (or hello) instead, one process
#   bash scripts/demo.sh --port 9000     instead of 8080 (or the next free port)
#   bash scripts/demo.sh --no-build      skip install-deps and the build
#
# Files go to /run/sfcgi-demo (root) or build/demo (other users), or to
# $SFCGI_DEMO_DIR; the wiki's pages to wiki-data/ there.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD

CHECK=0 APP=wiki PORT='' BUILD=1
while (($#)); do
	case $1 in
	--check) CHECK=1 ;;
	--app) APP=${2:?--app needs wiki, echo or hello}; shift ;;
	--app=*) APP=${1#*=} ;;
	--port) PORT=${2:?--port needs a number}; shift ;;
	--port=*) PORT=${1#*=} ;;
	--no-build) BUILD=0 ;;
	-h | --help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "demo: unknown argument $1 (see --help)" >&2; exit 2 ;;
	esac
	shift
done
case $APP in wiki | echo | hello) ;; *) echo "demo: --app must be wiki, echo or hello" >&2; exit 2 ;; esac

say() { printf 'demo: %s\n' "$*"; }
die() { printf 'demo: error: %s\n' "$*" >&2; exit 1; }

if ((BUILD)); then
	bash scripts/install-deps.sh
	[[ -f build/build.ninja ]] || meson setup build
	ninja -C build
fi
APP_BIN=$ROOT/build/examples/$APP
SFCGI=$ROOT/build/src/sfcgi
[[ -x $APP_BIN ]] || die "$APP_BIN is not built (run without --no-build)"
[[ $APP != wiki || -x $SFCGI ]] || die "$SFCGI is not built (run without --no-build)"
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
[[ -x $NGINX ]] || die "no nginx: bash scripts/install-deps.sh"

if [[ -n ${SFCGI_DEMO_DIR:-} ]]; then
	DIR=$SFCGI_DEMO_DIR
elif ((EUID == 0)); then
	DIR=/run/sfcgi-demo
else
	DIR=$ROOT/build/demo
fi
mkdir -p "$DIR"
chmod 0755 "$DIR"
DIR=$(cd "$DIR" && pwd)
SOCK=$DIR/$APP.sock
(( ${#SOCK} < 108 )) || die "socket path too long: $SOCK (set SFCGI_DEMO_DIR)"

# A demo still running from this directory? Do not fight over it.
if [[ -s $DIR/nginx.pid ]] && kill -0 "$(cat "$DIR/nginx.pid")" 2>/dev/null; then
	die "a demo nginx is already running from $DIR (pid $(cat "$DIR/nginx.pid")); stop it first"
fi
rm -f "$DIR"/*.sock "$DIR/nginx.pid"

port_busy() { [[ -n $(ss -Hltn "sport = :$1" 2>/dev/null) ]]; }
if [[ -z $PORT ]]; then
	PORT=8080
	if port_busy $PORT; then
		for ((p = 8081; p < 8200; p++)); do
			port_busy $p || { PORT=$p; break; }
		done
		port_busy $PORT && die "ports 8080-8199 are all busy; use --port"
		say "port 8080 is busy: using $PORT"
	fi
elif port_busy "$PORT"; then
	die "port $PORT is busy"
fi

APP_PID='' NGINX_PID=''
# shellcheck disable=SC2317 # called through trap
cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	if [[ -n $NGINX_PID ]] && kill -0 "$NGINX_PID" 2>/dev/null; then
		kill -TERM "$NGINX_PID" 2>/dev/null || true
		wait "$NGINX_PID" 2>/dev/null || true
	fi
	if [[ -n $APP_PID ]] && kill -0 "$APP_PID" 2>/dev/null; then
		kill -TERM "$APP_PID" 2>/dev/null || true
		wait "$APP_PID" 2>/dev/null || true
	fi
	rm -f "$SOCK"
	((CHECK)) || say "stopped nginx and $APP"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 0' INT
trap 'exit 0' TERM

# 1. The app, on a unix socket nginx's workers may use (as units/app@.socket:
#    mode 0660, group www-data).
: >"$DIR/app.log"
if [[ $APP == wiki ]]; then
	# The wiki runs as an instance would under systemd: `sfcgi run` with an
	# instance config (sfcgi.json(5)), a supervisor and 2 workers, each
	# reading its templates and opening its data directory, then locking
	# itself down: file-read and file-write system calls only, and Landlock
	# lets it write to wiki-data/ and read templates/, nothing else.
	DATA=$DIR/wiki-data TEMPLATES=$DIR/templates
	mkdir -p "$DATA" "$TEMPLATES"
	cp "$ROOT"/examples/wiki/templates/*.html "$TEMPLATES/"
	chmod -R a+rX "$TEMPLATES"
	USER_KEY=
	if ((EUID == 0)); then
		# Workers switch to nobody; the templates are copied here so that
		# they can reach them (a checkout under /root could not).
		USER_KEY='"user": "nobody",'
		chown nobody "$DATA"
	fi
	chmod 0700 "$DATA"
	if [[ ! -e $DATA/FrontPage ]]; then
		cat >"$DATA/FrontPage" <<'EOF'
Welcome to the sfcgi wiki demo.

Every page is a file in wiki-data/, saved atomically by one of two worker
processes that can open files there and nowhere else: no sockets, no
programs, no writes outside. Edit this page, or create [[SandBox]].
EOF
		((EUID != 0)) || chown nobody "$DATA/FrontPage"
	fi
	cat >"$DIR/wiki.json" <<EOF
{
  "program": "$APP_BIN",
  "args": ["--data", "$DATA", "--templates", "$TEMPLATES"],
  "listen": "$SOCK",
  "workers": 2,
  "limits": { "max_stdin_bytes": 262144 },
  "sandbox": {
    $USER_KEY
    "allow": ["file-read", "file-write"],
    "read_only": ["$TEMPLATES"],
    "read_write": ["$DATA"],
    "seccomp": "default",
    "on_violation": "kill"
  }
}
EOF
	"$SFCGI" check "$DIR/wiki.json" >/dev/null 2>"$DIR/check.err" ||
		die "$DIR/wiki.json: $(cat "$DIR/check.err")"
	# umask 007: the socket comes out srwxrwx---, for group www-data below.
	(umask 007 && exec "$SFCGI" run --config "$DIR/wiki.json") </dev/null >>"$DIR/app.log" 2>&1 &
else
	"$APP_BIN" --listen "$SOCK" --listen-mode 0660 </dev/null >>"$DIR/app.log" 2>&1 &
fi
APP_PID=$!
for ((i = 0; i < 100; i++)); do
	[[ -S $SOCK ]] && break
	kill -0 "$APP_PID" 2>/dev/null || die "$APP exited at start: $(tail -n 5 "$DIR/app.log")"
	sleep 0.1
done
[[ -S $SOCK ]] || die "$APP did not create $SOCK: $(tail -n 5 "$DIR/app.log")"

USER_LINE=
if ((EUID == 0)); then
	if getent passwd www-data >/dev/null && getent group www-data >/dev/null; then
		chgrp www-data "$SOCK"
		USER_LINE='user www-data www-data;'
	else
		chmod 0666 "$SOCK"
	fi
fi

# 2. nginx with a config of its own. Temp paths exist for every module this
#    nginx was built with, so it never writes under /var/lib/nginx.
TEMP_LINES=
for m in client_body fastcgi proxy scgi uwsgi; do
	if [[ $m == client_body ]] || "$NGINX" -V 2>&1 | grep -q -- "--http-$m-temp-path"; then
		TEMP_LINES+="    ${m}_temp_path $DIR/tmp/$m;"$'\n'
	fi
done
cat >"$DIR/nginx.conf" <<EOF
# Generated by scripts/demo.sh; the system nginx config is not used.
$USER_LINE
daemon off;
worker_processes 2;
pid $DIR/nginx.pid;
error_log $DIR/error.log warn;
events { worker_connections 512; }
http {
    access_log $DIR/access.log;
$TEMP_LINES    client_max_body_size 64m;

    upstream sfcgi_demo {
        server unix:$SOCK;
        keepalive 8;            # idle FastCGI connections kept per nginx worker
    }
    server {
        listen 127.0.0.1:$PORT;
        location / {
            include /etc/nginx/fastcgi_params;
            # fastcgi_params sets SCRIPT_NAME already (Debian and upstream alike)
            fastcgi_pass sfcgi_demo;
            fastcgi_keep_conn on;   # needed for the keepalive pool above
        }
    }
}
EOF
mkdir -p "$DIR/tmp"
"$NGINX" -t -q -p "$DIR" -c "$DIR/nginx.conf" -e "$DIR/error.log" ||
	die "nginx rejected $DIR/nginx.conf"
"$NGINX" -p "$DIR" -c "$DIR/nginx.conf" -e "$DIR/error.log" </dev/null >>"$DIR/nginx.out" 2>&1 &
NGINX_PID=$!

BASE="http://127.0.0.1:$PORT"
if [[ $APP == wiki ]]; then URL=$BASE/FrontPage; else URL="$BASE/demo?hello=world"; fi
for ((i = 0; i < 100; i++)); do
	curl -s -o /dev/null "$URL" && break
	kill -0 "$NGINX_PID" 2>/dev/null || die "nginx exited at start: $(tail -n 5 "$DIR/error.log")"
	sleep 0.1
done
curl -s -o /dev/null "$URL" || die "nginx does not answer on $URL: $(tail -n 5 "$DIR/error.log")"

if ((CHECK)) && [[ $APP == wiki ]]; then
	page=DemoCheck$$ text='Saved by demo.sh --check: <b>escaped</b> & [[FrontPage]]'
	say "POST $BASE/$page (text=$text)"
	code=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 10 \
		--data-urlencode "text=$text" "$BASE/$page") || die "curl failed"
	say "GET $BASE/$page"
	out=$(curl -sS -i --max-time 10 "$BASE/$page") || die "curl failed"
	printf '%s\n' "$out"
	rm -f "$DATA/$page"
	want='Saved by demo.sh --check: &lt;b&gt;escaped&lt;/b&gt; &amp; <a href="FrontPage">FrontPage</a>'
	if [[ $code == 303 && $out == "HTTP/1.1 200"* && $out == *"$want"* ]] &&
		! grep -q 'killed by the sandbox' "$DIR/app.log"; then
		say "check passed: the wiki saved and served a page through nginx on port $PORT"
		exit 0
	fi
	say "check FAILED: expected 303 for the save (got $code), then HTTP 200 with: $want"
	say "app log: $(tail -n 5 "$DIR/app.log")"
	exit 1
fi

if ((CHECK)); then
	say "GET $URL"
	out=$(curl -sS -i --max-time 10 "$URL") || die "curl failed"
	printf '%s\n' "$out"
	if [[ $APP == echo ]]; then want='param QUERY_STRING=hello=world'; else want='Hello from sfcgi!'; fi
	if [[ $out == "HTTP/1.1 200"* && $out == *"$want"* ]]; then
		say "check passed: $APP answered through nginx on port $PORT"
		exit 0
	fi
	say "check FAILED: expected HTTP 200 and \"$want\""
	exit 1
fi

if [[ $APP == wiki ]]; then
	cat <<EOF

  sfcgi demo is running: the wiki under the sfcgi supervisor (2 sandboxed
  workers, config $DIR/wiki.json) on unix:$SOCK behind nginx.

    URL:   $URL   (open it in a browser, edit, follow links)
    try:   curl --data-urlencode 'text=Hello <world> from [[FrontPage]]' $BASE/Hello
           curl $BASE/Hello
           curl -i $BASE/no.such.page        (400: page names are [A-Za-z0-9_-])

  Pages: $DATA
  Files (config, logs): $DIR
  Press Ctrl-C to stop.

EOF
else
	cat <<EOF

  sfcgi demo is running: $APP on unix:$SOCK behind nginx.

    URL:   $URL
    try:   curl -i '$URL'
           curl --data-binary 'some body' '$BASE/post'

  Files (config, logs): $DIR
  Press Ctrl-C to stop.

EOF
fi
set +e
wait -n "$NGINX_PID" "$APP_PID"
rc=$?
set -e
kill -0 "$NGINX_PID" 2>/dev/null || say "nginx exited ($rc): $(tail -n 5 "$DIR/error.log")"
kill -0 "$APP_PID" 2>/dev/null || say "$APP exited ($rc): $(tail -n 5 "$DIR/app.log")"
exit 1
