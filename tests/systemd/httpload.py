#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Keep N HTTP/1.1 keep-alive connections busy; check every response.

    httpload.py HOST:PORT/PATH CONNECTIONS SECONDS NEEDLE [METHOD]

Each thread sends METHOD (GET; POST sends a small form body) PATH back to back
on one kept connection (reconnecting after an error) until SECONDS have passed
or SIGINT/SIGTERM arrives. A
response is good if its status is 200 and its body contains NEEDLE; anything
else (another status, a missing NEEDLE, a connection error) is a failure.
Prints "ok=N failed=N" and up to 5 errors; exits 1 if anything failed.
(The fallback of instance.sh when wrk is not installed.)
"""
import http.client
import signal
import sys
import threading
import time


def main():
    target, nconn, secs, needle = sys.argv[1:5]
    method = sys.argv[5] if len(sys.argv) > 5 else "GET"
    hostport, slash, path = target.partition("/")
    path = slash + path if slash else "/"
    host, port = hostport.rsplit(":", 1)
    body = b"title=Main_Page&text=hello" if method == "POST" else None
    headers = {"Content-Type": "application/x-www-form-urlencoded"} if body else {}
    nconn, secs, needle = int(nconn), float(secs), needle.encode()
    stop = threading.Event()
    stats = {"ok": 0, "failed": 0}
    errors = []
    lock = threading.Lock()

    def worker():
        conn = None
        while not stop.is_set():
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(host, int(port), timeout=10)
                conn.request(method, path, body=body, headers=headers)
                r = conn.getresponse()
                data = r.read()
                if r.status != 200 or needle not in data:
                    raise RuntimeError("status %d, body %r" % (r.status, data[:80]))
                with lock:
                    stats["ok"] += 1
            except Exception as e:  # noqa: BLE001 - every failure counts
                with lock:
                    stats["failed"] += 1
                    if len(errors) < 5:
                        errors.append(repr(e))
                if conn:
                    conn.close()
                conn = None
                time.sleep(0.01)
        if conn:
            conn.close()

    for s in (signal.SIGINT, signal.SIGTERM):
        signal.signal(s, lambda *_: stop.set())
    threads = [threading.Thread(target=worker) for _ in range(nconn)]
    for t in threads:
        t.start()
    stop.wait(secs)
    stop.set()
    for t in threads:
        t.join()
    print("ok=%(ok)d failed=%(failed)d" % stats)
    for e in errors:
        print("  error:", e)
    sys.exit(1 if stats["failed"] or not stats["ok"] else 0)


if __name__ == "__main__":
    main()
