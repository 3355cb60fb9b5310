# SPDX-License-Identifier: MIT
"""A FastCGI client in a few lines, for tests that talk to an instance
directly (allow.py, tests/scaleout): one request, its stdout, or proof that
the peer closed without a byte."""
import socket
import struct

BEGIN, END, PARAMS, STDIN, STDOUT = 1, 3, 4, 5, 6


def rec(rtype, content=b"", rid=1):
    pad = -len(content) % 8
    return struct.pack(">BBHHBx", 1, rtype, rid, len(content), pad) + content + b"\0" * pad


def request(uri="/", query=""):
    pairs = ((b"REQUEST_METHOD", b"GET"), (b"SCRIPT_NAME", uri.encode()),
             (b"REQUEST_URI", (uri + ("?" + query if query else "")).encode()),
             (b"QUERY_STRING", query.encode()))
    params = b"".join(struct.pack(">BB", len(n), len(v)) + n + v for n, v in pairs)
    return rec(BEGIN, struct.pack(">HB5x", 1, 0)) + rec(PARAMS, params) + rec(PARAMS) + rec(STDIN)


def read_response(s):
    """Records until END_REQUEST; the stdout bytes. EOFError if closed first."""
    buf, out = b"", b""
    while True:
        while len(buf) < 8 or len(buf) < 8 + struct.unpack(">BBHHBx", buf[:8])[3] + buf[6]:
            d = s.recv(65536)
            if not d:
                raise EOFError(f"closed before END_REQUEST ({len(buf) + len(out)} bytes read)")
            buf += d
        _, t, _, n, pad = struct.unpack(">BBHHBx", buf[:8])
        if t == STDOUT:
            out += buf[8:8 + n]
        buf = buf[8 + n + pad:]
        if t == END:
            return out


def connect(addr, source=None, timeout=5):
    """addr: (host, port) or a unix socket path."""
    if isinstance(addr, str):
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(timeout)
        s.connect(addr)
        return s
    fam = socket.AF_INET6 if ":" in addr[0] else socket.AF_INET
    s = socket.socket(fam)
    s.settimeout(timeout)
    if source:
        s.bind((source, 0))
    s.connect(addr)
    return s


def get(addr, query="", source=None, timeout=5):
    """The response's stdout."""
    s = connect(addr, source, timeout)
    try:
        s.sendall(request("/", query))
        return read_response(s)
    finally:
        s.close()


def refused(addr, query="", source=None, timeout=5):
    """Connects, sends a whole request, and returns the bytes that came back
    before the peer closed (b"" when refused as it should be), or None if
    the connection stayed open (nothing refused it)."""
    s = connect(addr, source, timeout)
    got = b""
    try:
        try:
            s.sendall(request("/", query))
        except (BrokenPipeError, ConnectionResetError):
            return got
        while True:
            try:
                d = s.recv(65536)
            except ConnectionResetError:
                return got
            except socket.timeout:
                return None
            if not d:
                return got
            got += d
    finally:
        s.close()
