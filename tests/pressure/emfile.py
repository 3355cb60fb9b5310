#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The log under pressure (issue 15), against the hello example under its
supervisor (--workers 1) on a TCP port of 127.0.0.1.

    emfile.py episodes HELLO WORKDIR
    emfile.py flood HELLO WORKDIR

episodes: the instance runs under `prlimit --nofile=100:100`. Twice, 150
    connections are opened and held for 1.5 s (the worker runs out of
    descriptors after about 90), then closed. Each episode is exactly one
    line when accepting pauses (naming the nofile limit and the connections
    open) and one when it resumes (its length, the attempts that failed), both
    from the worker ("worker PID: "); a request sent meanwhile is answered once
    descriptors are free, and so is a new one.
flood: FCGI_WEB_SERVER_ADDRS leaves 127.0.0.1 out, so each connection is
    refused (issue 14: logged once per address a minute, gate.c). 300
    connections: one line, then one count at the end of the minute with no
    further line to bring it ("refused 299 more connection(s) from 127.0.0.1
    in the last 60 s"); 5 more connections are counted, not written (the
    flood goes on), and counted when the instance stops.
Prints "ok - ..." / "not ok - ..." lines; exits 1 if anything failed.
"""
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import time

BEGIN, END, PARAMS, STDIN, STDOUT = 1, 3, 4, 5, 6
NOFILE = 100
failed = 0


def check(name, cond, detail=""):
    global failed
    print(("ok - " if cond else "not ok - ") + name + (f" ({detail})" if detail else ""),
          flush=True)
    failed += not cond


def rec(rtype, content=b"", rid=1):
    pad = -len(content) % 8
    return struct.pack(">BBHHBx", 1, rtype, rid, len(content), pad) + content + b"\0" * pad


def request():
    params = b"".join(struct.pack(">BB", len(n), len(v)) + n + v for n, v in
                      ((b"REQUEST_METHOD", b"GET"), (b"SCRIPT_NAME", b"/"), (b"QUERY_STRING", b"")))
    return rec(BEGIN, struct.pack(">HB5x", 1, 0)) + rec(PARAMS, params) + rec(PARAMS) + rec(STDIN)


def read_response(s):
    """Records until END_REQUEST; the stdout bytes."""
    buf, out = b"", b""
    while True:
        while len(buf) < 8 or len(buf) < 8 + struct.unpack(">BBHHBx", buf[:8])[3] + buf[6]:
            d = s.recv(65536)
            if not d:
                raise EOFError("closed before END_REQUEST")
            buf += d
        _, t, _, n, pad = struct.unpack(">BBHHBx", buf[:8])
        if t == STDOUT:
            out += buf[8:8 + n]
        buf = buf[8 + n + pad:]
        if t == END:
            return out


def wait_for(pred, timeout):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.05)
    return pred()


class Instance:
    def __init__(self, hello, work, prefix=(), env=None):
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self.log = os.path.join(work, "app.log")
        env = dict(os.environ, **(env or {}))
        env.pop("JOURNAL_STREAM", None)  # the <N> prefixes, as journald gets them
        env.pop("SFCGI_LOG_LEVEL", None)
        with open(self.log, "wb") as f:
            self.proc = subprocess.Popen(list(prefix) + [hello, "--listen",
                                         f"127.0.0.1:{self.port}", "--workers", "1"],
                                         stdin=subprocess.DEVNULL, stdout=f, stderr=f, env=env)
        wait_for(lambda: "worker(s) serving" in self.text() or self.proc.poll() is not None, 10)
        self.worker = None
        try:
            with open(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children") as f:
                kids = f.read().split()
            self.worker = int(kids[0]) if len(kids) == 1 else None
        except (OSError, ValueError):
            pass

    def text(self):
        with open(self.log, errors="replace") as f:
            return f.read()

    def lines(self):
        return self.text().splitlines()

    def connect(self, timeout=10):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        return s

    def get(self):
        s = self.connect()
        try:
            s.sendall(request())
            return read_response(s)
        finally:
            s.close()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def episodes(hello, work):
    app = Instance(hello, work, prefix=["prlimit", f"--nofile={NOFILE}:{NOFILE}"])
    try:
        up = app.worker is not None and b"Hello" in app.get()
        check("the instance serves under nofile 100", up, "" if up else app.text()[-600:])
        wk = f"worker {app.worker}: "
        pause_re = re.compile(r"^<3>" + re.escape(wk) + r"accept: Too many open files \(nofile "
                              r"soft limit %d, (\d+) connections open\): not accepting until a "
                              r"descriptor is free" % NOFILE)
        resume_re = re.compile(r"^<5>" + re.escape(wk) + r"accept: accepting again after "
                               r"(\d+\.\d) s without a free descriptor \((\d+) attempt\(s\) "
                               r"failed meanwhile\)$")

        def count(rx):
            return sum(1 for ln in app.lines() if rx.search(ln))

        for ep in (1, 2):
            held = [app.connect() for _ in range(150)]
            # a request behind them, in the backlog while no descriptor is free
            late = app.connect(timeout=15)
            late.sendall(request())
            time.sleep(1.5)
            pauses = [pause_re.search(ln) for ln in app.lines() if pause_re.search(ln)]
            check(f"episode {ep}: one line as accepting pauses, naming the limit and the "
                  f"connections open", len(pauses) == ep and count(resume_re) == ep - 1 and
                  20 <= int(pauses[-1].group(1)) < NOFILE,
                  app.text()[-900:] if len(pauses) != ep else pauses[-1].group(0))
            for s in held:
                s.close()
            try:
                answered = b"Hello" in read_response(late)
            except OSError as e:
                answered = repr(e)
            late.close()
            check(f"episode {ep}: the request sent meanwhile is answered once descriptors are "
                  f"free", answered is True, answered)
            ok = wait_for(lambda: count(resume_re) == ep, 5)
            time.sleep(0.5)  # and no other line of it comes
            resumes = [resume_re.search(ln) for ln in app.lines() if resume_re.search(ln)]
            check(f"episode {ep}: one line as it resumes, with its length and the attempts that "
                  f"failed", ok and len(resumes) == ep and count(pause_re) == ep and
                  float(resumes[-1].group(1)) >= 1.0 and int(resumes[-1].group(2)) >= 5,
                  resumes[-1].group(0) if resumes else app.text()[-900:])
            try:
                fresh = b"Hello" in app.get()
            except OSError as e:
                fresh = repr(e)
            check(f"episode {ep}: a new request is answered", fresh is True, fresh)
        others = [ln for ln in app.lines() if "accept" in ln and not pause_re.search(ln)
                  and not resume_re.search(ln)]
        check("no other line about accept (no flapping, no summary of it)", not others,
              "; ".join(others[:3]))
    finally:
        app.stop()
    print("# " + "\n# ".join(app.lines()))


def flood(hello, work):
    app = Instance(hello, work, env={"FCGI_WEB_SERVER_ADDRS": "192.0.2.1"})
    what = ("refused a connection from 127.0.0.1: not in FCGI_WEB_SERVER_ADDRS (add it there "
            "if it is a web server of yours); more from it are counted, one line a minute")

    def refuse(n):
        for _ in range(n):
            s = app.connect()
            try:
                s.recv(1)  # b"": refused and closed, so counted
            except OSError:
                pass
            s.close()

    try:
        check("the instance is up", app.worker is not None,
              "" if app.worker else app.text()[-600:])
        wk = f"<4>worker {app.worker}: "
        t0 = time.monotonic()
        refuse(300)
        took = time.monotonic() - t0
        time.sleep(0.5)
        written = [ln for ln in app.lines() if "refused a connection" in ln]
        check(f"300 refused connections in {took:.1f} s: one line (once per address a "
              f"minute), naming the worker", written == [wk + what],
              "; ".join(written[:2]) + f" ... {len(written)} lines")
        summary_re = re.compile(r"^" + re.escape(wk) + r"refused ([0-9,]+) more connection\(s\) "
                                r"from 127\.0\.0\.1 in the last (\d+) s \(not allowed: see the "
                                r"first line about it\)$")
        ok = wait_for(lambda: any(summary_re.search(ln) for ln in app.lines()), 75)
        waited = time.monotonic() - t0
        sums = [summary_re.search(ln) for ln in app.lines() if summary_re.search(ln)]
        check(f"the minute over, with no further line: one count ({waited:.0f} s after the "
              f"first line)", ok and len(sums) == 1 and sums[0].group(1) == "299" and
              sums[0].group(2) in ("60", "61") and waited < 63,
              sums[0].group(0) if sums else app.text()[-600:])
        refuse(5)
        time.sleep(0.5)
        written = [ln for ln in app.lines() if "refused a connection" in ln]
        check("the flood goes on: 5 more are counted, not written", len(written) == 1,
              f"{len(written)} lines")
        sup = [ln for ln in app.lines() if "worker(s) serving" in ln]
        check("the supervisor's lines stay as they were", sup == ["<6>1 worker(s) serving"],
              repr(sup))
    finally:
        app.stop()
    sums = [summary_re.search(ln) for ln in app.lines() if summary_re.search(ln)]
    check("at exit, what was held is counted", len(sums) == 2 and sums[1].group(1) == "5",
          "; ".join(m.group(0) for m in sums))
    print("# " + "\n# ".join(app.lines()[-8:]))


def main():
    scenario, hello, work = sys.argv[1], os.path.abspath(sys.argv[2]), os.path.abspath(sys.argv[3])
    work = os.path.join(work, scenario)
    os.makedirs(work, exist_ok=True)
    {"episodes": episodes, "flood": flood}[scenario](hello, work)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
