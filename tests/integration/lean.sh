#!/usr/bin/env bash
# No libsystemd in an app (issue 12). activation.c speaks socket activation
# and sd_notify itself, so that neither libsystemd nor the compression and
# crypto libraries it maps (liblzma, libzstd, liblz4, libgcrypt,
# libgpg-error, libcap: the chain CVE-2024-3094 used to reach sshd) enter a
# sandboxed worker. This test keeps it so:
#   - ldd of libsfcgi.so, the examples and the sfcgi tools names libc,
#     libsfcgi and nothing else (sanitizer runtimes aside): libseccomp is
#     loaded only when a filter is compiled at run time (src/seccomp_dl.h);
#   - libsfcgi.so exports only sfcgi_* (and, in a sanitizer build, the
#     LeakSanitizer switch sandbox.c needs);
#   - a running instance (a supervisor and a worker of examples/hello,
#     started with LISTEN_FDS by the real systemd-socket-activate) maps
#     none of those libraries, in either process, nor libseccomp (the
#     default sandbox's programs are built in).
# Usage: lean.sh LIBSFCGI_SO SFCGI_TOOL SFCGI_FOREIGN SFCGI_CGI HELLO [EXAMPLE...]
set -u
LIB=$1 TOOL=$2 FOREIGN=$3 CGI=$4 HELLO=$5
shift 5
pass=0 fail=0
dir=$(mktemp -d /tmp/sfcgi-lean-XXXXXX)
act=

cleanup() {
	[ -n "$act" ] && kill "$act" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT

ok() { pass=$((pass + 1)); echo "ok - $*"; }
not_ok() { fail=$((fail + 1)); echo "not ok - $*"; }

# What ldd lists beyond what a lean runtime needs. A sanitizer build also
# links the sanitizer runtimes and what they need (libm, libgcc_s,
# libstdc++), and only such a build may.
lean='linux-vdso|ld-linux-x86-64|libc\.so|libsfcgi\.so'
sanitizer='libasan\.so|libubsan\.so|libm\.so|libgcc_s\.so|libstdc\+\+\.so'
for bin in "$LIB" "$TOOL" "$FOREIGN" "$CGI" "$HELLO" "$@"; do
	libs=$(ldd "$bin" | awk '{print $1}' | sed 's,.*/,,')
	allowed="^($lean)"
	grep -q '^libasan\.so' <<<"$libs" && allowed="^($lean|$sanitizer)"
	extra=$(grep -Ev "$allowed" <<<"$libs")
	if [ -z "$extra" ]; then
		ok "ldd $(basename "$bin"): libc only"
	else
		not_ok "ldd $(basename "$bin") lists $(echo $extra)"
	fi
done

exports=$(nm -D --defined-only "$LIB" | awk '$2 ~ /^[TDBRVWiu]$/ {print $3}' | sed 's/@.*//' |
	grep -Ev '^(sfcgi_.*|__lsan_is_turned_off)$')
if [ -z "$exports" ]; then
	ok "libsfcgi.so exports only sfcgi_*"
else
	not_ok "libsfcgi.so exports $(echo $exports)"
fi

bad='lib(systemd|lzma|zstd|lz4|gcrypt|gpg-error|cap)\.so'
sock=$dir/hello.sock
systemd-socket-activate -l "$sock" "$HELLO" --workers 1 >"$dir/log" 2>&1 &
act=$!
for _ in $(seq 500); do [ -S "$sock" ] && break; sleep 0.01; done
if "$TOOL" request -t 5 "$sock" / >"$dir/resp" 2>&1 && grep -q . "$dir/resp"; then
	ok "the instance answers through systemd-socket-activate"
else
	not_ok "no answer from the instance: $(cat "$dir/resp" "$dir/log")"
fi
sup=$act # systemd-socket-activate execs the program
worker=$(pgrep -P "$sup" | head -n1)
for p in "$sup" "$worker"; do
	if [ -z "$p" ] || [ ! -r "/proc/$p/maps" ]; then
		not_ok "no process to inspect (supervisor $sup, worker ${worker:-none})"
		continue
	fi
	role=$([ "$p" = "$sup" ] && echo supervisor || echo worker)
	mapped=$(grep -Eo "/[^ ]*$bad[^ ]*" "/proc/$p/maps" | sort -u)
	if [ -z "$mapped" ]; then
		ok "$role $p maps no libsystemd, liblzma, libzstd, liblz4, libgcrypt or libcap"
	else
		not_ok "$role $p maps $(echo $mapped)"
	fi
	if ! grep -q 'libsfcgi\.so' "/proc/$p/maps"; then
		not_ok "$role $p: libsfcgi not mapped: is this the right process?"
	elif grep -q 'libseccomp' "/proc/$p/maps"; then
		not_ok "$role $p maps libseccomp: the default sandbox's program should be built in"
	else
		ok "$role $p maps libsfcgi, and no libseccomp (its filter is built in)"
	fi
done

echo "# $pass passed, $fail failed"
[ "$fail" = 0 ] && [ "$pass" -gt 0 ]
