#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Two things an operator reads, checked against a real instance.

    routine.py SFCGI ECHO WORKDIR

The echo example under `sfcgi run --config`, its socket from
systemd-socket-activate, its NOTIFY_SOCKET a datagram socket bound here:

1. A peer that hangs up is routine: a client that closes mid-response (the
   worker's send fails: EPIPE) and one that closes a kept connection with its
   last response unread (the worker's next recv fails: ECONNRESET) are logged
   at info (<6>), never as a warning (<4>).
2. STATUS= is current within a second: after N requests, a STATUS= saying
   "N requests served" arrives within 1 s of the last answer.
Prints "ok - ..." / "not ok - ..." lines; exits 1 if anything failed.
"""
import json
import os
import re
import socket
import struct
import subprocess
import sys
import time

BEGIN, END, PARAMS, STDIN, STDOUT = 1, 3, 4, 5, 6
failed = 0


def check(name, cond, detail=""):
    global failed
    print(("ok - " if cond else "not ok - ") + name + (f" ({detail})" if detail else ""))
    failed += not cond


def rec(rtype, content=b"", rid=1):
    pad = -len(content) % 8
    return struct.pack(">BBHHBx", 1, rtype, rid, len(content), pad) + content + b"\0" * pad


def nv(name, value):
    def ln(n):
        return struct.pack(">B", n) if n < 128 else struct.pack(">I", n | 0x80000000)
    return ln(len(name)) + ln(len(value)) + name + value


def request(query, keep):
    params = nv(b"QUERY_STRING", query.encode()) + nv(b"REQUEST_METHOD", b"GET")
    return (rec(BEGIN, struct.pack(">HB5x", 1, 1 if keep else 0)) + rec(PARAMS, params)
            + rec(PARAMS) + rec(STDIN))


def read_response(s):
    """Records until END_REQUEST; returns the stdout bytes."""
    buf, out = b"", b""
    while True:
        while len(buf) < 8:
            d = s.recv(65536)
            if not d:
                raise EOFError("closed before END_REQUEST")
            buf += d
        _, t, _, n, pad = struct.unpack(">BBHHBx", buf[:8])
        while len(buf) < 8 + n + pad:
            d = s.recv(65536)
            if not d:
                raise EOFError("closed mid-record")
            buf += d
        if t == STDOUT:
            out += buf[8:8 + n]
        buf = buf[8 + n + pad:]
        if t == END:
            return out


def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(path)
    return s


def main():
    sfcgi, echo, work = (os.path.abspath(a) for a in sys.argv[1:4])
    os.makedirs(work, exist_ok=True)
    sock, notify, log = (os.path.join(work, n) for n in ("app.sock", "notify.sock", "app.log"))
    for p in (sock, notify):
        if os.path.exists(p):
            os.unlink(p)
    conf = os.path.join(work, "echo.json")
    with open(conf, "w") as f:
        json.dump({"program": echo, "workers": 1}, f)
    ns = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    ns.bind(notify)
    ns.settimeout(0.005)
    env = dict(os.environ, NOTIFY_SOCKET=notify)
    with open(log, "wb") as logf:
        proc = subprocess.Popen(["systemd-socket-activate", "-E", "NOTIFY_SOCKET", "-l", sock,
                                 "--fdname=fastcgi", sfcgi, "run", "--config", conf],
                                env=env, stdout=logf, stderr=subprocess.STDOUT)
    statuses = []

    def drain(until):
        while time.monotonic() < until:
            try:
                msg = ns.recv(4096).decode(errors="replace")
            except socket.timeout:
                continue
            for line in msg.split("\n"):
                if line.startswith("STATUS="):
                    statuses.append((time.monotonic(), line[7:]))
    def drain_until(pattern, until):
        while time.monotonic() < until:
            drain(time.monotonic() + 0.01)
            if any(re.search(pattern, txt) for _, txt in statuses):
                return

    try:
        deadline = time.monotonic() + 10
        while not os.path.exists(sock) and time.monotonic() < deadline:
            time.sleep(0.02)
        s = connect(sock)  # the first connection starts the program
        s.sendall(request("", False))
        read_response(s)
        s.close()
        drain(time.monotonic() + 1.5)  # READY=1, first STATUS=

        # 1a: mid-response: a 4 MiB answer, 1 byte read, then close
        s = connect(sock)
        s.sendall(request("size=4194304", False))
        s.recv(1)
        s.close()
        # 1b: a kept connection closed with its last response unread
        s = connect(sock)
        s.sendall(request("", True))
        read_response(s)
        s.sendall(request("", True))
        time.sleep(0.3)  # the answer is in our receive queue, unread
        s.close()
        drain(time.monotonic() + 1.0)

        # 2: N requests, then STATUS= within 1 s; each round starts right
        # after a STATUS= (the worst case: just after the supervisor reported)
        served = None
        for _, text in reversed(statuses):
            m = re.search(r"(\d+) requests served", text)
            if m:
                served = int(m.group(1))
                break
        check("2 a STATUS= with a request count came", served is not None)
        worst, late = 0.0, []
        for rnd in range(5):
            s = connect(sock)
            s.sendall(request("", False))
            read_response(s)
            s.close()
            served = (served or 0) + 1
            statuses.clear()
            drain_until(r"\b%d requests served" % served, time.monotonic() + 3)
            k = 10 + rnd
            for _ in range(k):
                s = connect(sock)
                s.sendall(request("", False))
                read_response(s)
                s.close()
            t_last = time.monotonic()
            served = (served or 0) + k
            statuses.clear()
            drain(t_last + 1.6)
            seen = [t - t_last for t, txt in statuses
                    if re.search(r"\b%d requests served" % served, txt)]
            delay = seen[0] if seen else 9.9
            worst = max(worst, delay)
            if delay > 1.0:
                late.append(f"round {rnd}: {'%.3f s' % delay if seen else 'never'}")
        check("2 STATUS= says N requests served within 1 s of the last answer, 5 rounds",
              not late, f"worst {worst:.3f} s" + (f"; late: {late}" if late else ""))
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    with open(log, errors="replace") as f:
        lines = f.read().splitlines()
    gone = [line for line in lines if "peer went away" in line]
    for line in gone:
        print("# " + line)
    # the worker learns of it by send (EPIPE) or recv (ECONNRESET: unread data)
    check("1 both hang-ups are logged", len(gone) >= 2, f"{len(gone)} lines")
    check("1 every 'peer went away' line is at info (<6>), none a warning",
          bool(gone) and all(line.startswith("<6>") for line in gone))
    if failed:
        print("# log: " + log)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
