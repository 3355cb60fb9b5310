#!/usr/bin/env python3
"""Keep N FastCGI connections busy for D seconds; count what failed.

Each connection sends requests back to back with FCGI_KEEP_CONN, like a
web server's upstream keepalive pool. A kept connection that the app closed
between two requests (it is draining: END_REQUEST then close) is retried on
a fresh connection before any byte of the answer arrived, as nginx does for
cached upstream connections; such retries are counted apart. Anything else
(a cut or wrong answer, a refused connection) is a failure.
Usage: load.py SOCKET CONNECTIONS SECONDS [QUERY]
Prints "ok=N failed=N retried=N" and exits 1 if anything failed."""
import socket
import struct
import sys
import threading
import time


def rec(t, rid, content):
    pad = (8 - len(content) % 8) % 8
    return struct.pack(">BBHHBB", 1, t, rid, len(content), pad, 0) + content + b"\0" * pad


def pair(n, v):
    return bytes([len(n), len(v)]) + n + v


def request(query):
    params = b"".join(pair(k, v) for k, v in [(b"REQUEST_METHOD", b"GET"), (b"QUERY_STRING", query)])
    return (rec(1, 1, struct.pack(">HB5x", 1, 1)) + rec(4, 1, params) + rec(4, 1, b"")
            + rec(5, 1, b""))


class Closed(Exception):
    pass


def exchange(s, req):
    """Returns stdout of one request; Closed if the peer closed before any byte."""
    s.sendall(req)
    buf, out, got_any = b"", b"", False
    while True:
        while len(buf) < 8 or len(buf) < 8 + struct.unpack(">H", buf[4:6])[0] + buf[6]:
            d = s.recv(65536)
            if not d:
                if got_any:
                    raise RuntimeError("connection closed mid-response")
                raise Closed()
            got_any = True
            buf += d
        _, t, _, cl, pl, _ = struct.unpack(">BBHHBB", buf[:8])
        body, buf = buf[8:8 + cl], buf[8 + cl + pl:]
        if t == 6:
            out += body
        elif t == 3:
            if body[4] != 0:
                raise RuntimeError("protocolStatus %d" % body[4])
            return out


def main():
    path, nconn, secs = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    query = sys.argv[4].encode() if len(sys.argv) > 4 else b"pid"
    req = request(query)
    stats = {"ok": 0, "failed": 0, "retried": 0}
    errors = []
    lock = threading.Lock()
    end = time.monotonic() + secs

    def worker():
        s, fresh = None, True
        while time.monotonic() < end:
            try:
                if s is None:
                    s = socket.socket(socket.AF_UNIX)
                    s.settimeout(30)
                    s.connect(path)
                    fresh = True
                try:
                    out = exchange(s, req)
                except (Closed, BrokenPipeError, ConnectionResetError) as e:
                    s.close()
                    s = None
                    if fresh:
                        raise RuntimeError("fresh connection closed: %r" % e)
                    with lock:
                        stats["retried"] += 1
                    continue
                fresh = False
                if b"\r\n\r\n" not in out:
                    raise RuntimeError("bad answer %r" % out[:80])
                with lock:
                    stats["ok"] += 1
            except Exception as e:  # noqa: BLE001 - every failure counts
                with lock:
                    stats["failed"] += 1
                    if len(errors) < 5:
                        errors.append(repr(e))
                if s:
                    s.close()
                s = None
                time.sleep(0.01)

    threads = [threading.Thread(target=worker) for _ in range(nconn)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print("ok=%(ok)d failed=%(failed)d retried=%(retried)d" % stats)
    for e in errors:
        print("  error:", e)
    sys.exit(1 if stats["failed"] or not stats["ok"] else 0)


if __name__ == "__main__":
    main()
