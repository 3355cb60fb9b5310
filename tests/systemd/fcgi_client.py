#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Minimal FastCGI responder client (stdlib only), for tests.

    fcgi_client.py SOCKET [NAME=VALUE...] [--stdin FILE] [--timeout S]

Connects to the unix socket SOCKET, sends BEGIN_REQUEST (responder,
keep_conn=0), the PARAMS (defaults + NAME=VALUE), an empty PARAMS, the body
(empty unless --stdin) and an empty STDIN, then reads records until
END_REQUEST. Prints FCGI_STDOUT to stdout and FCGI_STDERR to stderr. Exits 0
on protocolStatus REQUEST_COMPLETE with appStatus 0, non-zero otherwise
(2: connection or protocol error, 3: bad status).
"""
import argparse
import socket
import struct
import sys
import time

VERSION = 1
BEGIN_REQUEST, ABORT_REQUEST, END_REQUEST, PARAMS, STDIN, STDOUT, STDERR = 1, 2, 3, 4, 5, 6, 7
UNKNOWN_TYPE = 11
RESPONDER = 1
REQUEST_ID = 1


def record(rtype, content=b"", req_id=REQUEST_ID):
    out = b""
    # Split into records of at most 65535 bytes; always emit at least one.
    while True:
        chunk, content = content[:65535], content[65535:]
        pad = -len(chunk) % 8
        out += struct.pack(">BBHHBx", VERSION, rtype, req_id, len(chunk), pad) + chunk + b"\0" * pad
        if not content:
            return out


def nv_len(n):
    return struct.pack(">B", n) if n < 128 else struct.pack(">I", n | 0x80000000)


def encode_params(params):
    return b"".join(nv_len(len(k)) + nv_len(len(v)) + k + v for k, v in params)


def read_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise EOFError(f"connection closed after {len(buf)} of {n} bytes")
        buf += chunk
    return buf


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("socket")
    ap.add_argument("params", nargs="*", metavar="NAME=VALUE")
    ap.add_argument("--stdin", metavar="FILE", help="request body")
    ap.add_argument("--timeout", type=float, default=10.0)
    ap.add_argument("--timing", action="store_true",
                    help="print connect-to-END_REQUEST time on stderr")
    a = ap.parse_args()

    body = b""
    if a.stdin:
        with open(a.stdin, "rb") as f:
            body = f.read()
    params = {
        "GATEWAY_INTERFACE": "CGI/1.1",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REQUEST_METHOD": "POST" if body else "GET",
        "REQUEST_URI": "/",
        "SCRIPT_NAME": "/",
        "QUERY_STRING": "",
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "80",
        "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_LENGTH": str(len(body)),
    }
    for p in a.params:
        k, sep, v = p.partition("=")
        if not sep:
            ap.error(f"expected NAME=VALUE, got {p!r}")
        params[k] = v
    pairs = [(k.encode(), v.encode()) for k, v in params.items()]

    req = record(BEGIN_REQUEST, struct.pack(">HB5x", RESPONDER, 0))
    req += record(PARAMS, encode_params(pairs)) + record(PARAMS)
    if body:
        req += record(STDIN, body)
    req += record(STDIN)

    out, err = bytearray(), bytearray()
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(a.timeout)
            t0 = time.monotonic()
            s.connect(a.socket)
            s.sendall(req)
            while True:
                ver, rtype, rid, clen, plen = struct.unpack(">BBHHBx", read_exact(s, 8))
                content = read_exact(s, clen)
                read_exact(s, plen)
                if ver != VERSION:
                    raise ValueError(f"record version {ver}")
                if rid != REQUEST_ID and rtype != UNKNOWN_TYPE:
                    raise ValueError(f"record type {rtype} for request {rid}")
                if rtype == STDOUT:
                    out += content
                elif rtype == STDERR:
                    err += content
                elif rtype == END_REQUEST:
                    app_status, proto_status = struct.unpack(">IB3x", content)
                    elapsed = time.monotonic() - t0
                    break
                elif rtype == UNKNOWN_TYPE:
                    raise ValueError(f"server did not know record type {content[0]}")
                else:
                    raise ValueError(f"unexpected record type {rtype}")
    except (OSError, EOFError, ValueError, struct.error) as e:
        sys.stdout.buffer.write(out)
        sys.stderr.buffer.write(err)
        print(f"fcgi_client: {a.socket}: {e}", file=sys.stderr)
        sys.stderr.flush()
        return 2

    sys.stdout.buffer.write(out)
    sys.stdout.flush()
    sys.stderr.buffer.write(err)
    if a.timing:
        print(f"fcgi_client: connect to END_REQUEST {elapsed * 1000:.1f} ms", file=sys.stderr)
    if proto_status != 0 or app_status != 0:
        print(f"fcgi_client: protocolStatus {proto_status}, appStatus {app_status}", file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
