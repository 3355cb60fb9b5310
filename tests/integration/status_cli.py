#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""`sfcgi status` against a real instance, its status socket as a unit gives it.

    status_cli.py SFCGI TESTAPP WORKDIR

testapp under `sfcgi run --config`, started by the real systemd-socket-activate
with two sockets named as units/app@.socket and units/app-status@.socket name
them (LISTEN_FDNAMES=fastcgi:status):

1. sfcgi status SOCKET: exit 0; the header says serving, the supervisor's pid
   and the requests made; one row per worker, their pids the supervisor's
   children; a request held busy shows as busy with its method and URI; in 80
   columns no line is longer, a long URI is cut with "...".
2. --json prints JSON that parses: the supervisor's pid, 2 workers, the total.
3. --watch redraws (ANSI clear) every second with the rate between two
   samples; when the instance goes away it says so and keeps trying; SIGINT
   ends it with exit 0.
4. Errors, exit 1: no socket at the path ("no status socket at"); the
   FastCGI socket given for the status one ("not an sfcgi status socket").
Prints "ok - ..." / "not ok - ..." lines; exits 1 if anything failed.
"""
import json
import os
import re
import signal
import subprocess
import sys
import time

failed = 0


def check(name, cond, detail=""):
    global failed
    print(("ok - " if cond else "not ok - ") + name + (f" ({detail})" if detail else ""))
    failed += not cond


def run(*args, env=None, timeout=15):
    return subprocess.run(list(args), capture_output=True, text=True, timeout=timeout,
                          env=dict(os.environ, **(env or {})))


def children(pid):
    out = run("ps", "-o", "pid=", "--ppid", str(pid)).stdout
    return sorted(int(p) for p in out.split())


def worker_rows(text):
    """The rows after the PID header line: lists of columns."""
    rows, table = [], False
    for line in text.splitlines():
        if re.match(r"^ *PID +GEN ", line):
            table = True
        elif table and line.strip():
            rows.append(line.split())
    return rows


def wait_for(cond, seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.05)
    return cond()


def main():
    sfcgi, testapp, work = (os.path.abspath(a) for a in sys.argv[1:4])
    os.makedirs(work, exist_ok=True)
    sock, ssock, log = (os.path.join(work, n) for n in ("app.sock", "status.sock", "app.log"))
    for p in (sock, ssock):
        if os.path.exists(p):
            os.unlink(p)
    conf = os.path.join(work, "wiki.json")
    with open(conf, "w") as f:
        json.dump({"program": testapp, "workers": 2}, f)
    with open(log, "wb") as logf:
        proc = subprocess.Popen(["systemd-socket-activate", "-l", sock, "-l", ssock,
                                 "--fdname=fastcgi:status", sfcgi, "run", "--config", conf],
                                stdout=logf, stderr=subprocess.STDOUT)
    slow = None
    try:
        wait_for(lambda: os.path.exists(ssock), 10)
        made = 5
        for _ in range(made):
            r = run(sfcgi, "request", "-b", sock, "/?pid")
        check("the instance serves", r.returncode == 0 and "pid=" in r.stdout, r.stderr)
        wait_for(lambda: len(children(proc.pid)) == 2, 10)
        kids = children(proc.pid)

        # 1: a busy worker with a long URI, in 80 columns
        uri = "/?sleep=3000&pad=" + "x" * 200
        slow = subprocess.Popen([sfcgi, "request", "-b", sock, uri], stdout=subprocess.DEVNULL)
        r = None

        def busy():
            nonlocal r
            r = run(sfcgi, "status", ssock, env={"COLUMNS": "80"})
            return any(row[2:3] == ["busy"] for row in worker_rows(r.stdout))
        wait_for(busy, 3)
        print("# " + r.stdout.replace("\n", "\n# "))
        check("1 sfcgi status SOCKET exits 0", r.returncode == 0, r.stderr.strip())
        head = r.stdout.splitlines()[0] if r.stdout else ""
        check("1 the header: NAME: serving, the supervisor's pid",
              re.match(r"^\S+: serving, pid %d, generation \d+, up " % proc.pid, head), head)
        m = re.search(r"^requests: +(\d+) total", r.stdout, re.M)
        check("1 the requests made are counted", m and int(m.group(1)) >= made,
              m.group(0) if m else "no requests line")
        rows = worker_rows(r.stdout)
        check("1 one row per worker, the supervisor's children",
              sorted(int(row[0]) for row in rows) == kids, f"{rows} vs {kids}")
        busy_rows = [row for row in rows if row[2] == "busy"]
        shown = busy_rows[0][-1] if len(busy_rows) == 1 else ""
        check("1 the held request shows busy, GET and its URI (cut: the start of it)",
              busy_rows and busy_rows[0][-2] == "GET" and len(shown) > 10 and
              uri.startswith(shown[:-3] if shown.endswith("...") else shown), busy_rows)
        long_lines = [ln for ln in r.stdout.splitlines() if len(ln) > 80]
        check("1 no line longer than 80 columns; the URI cut with ...",
              not long_lines and shown.endswith("..."), long_lines)

        # 2
        r = run(sfcgi, "status", "--json", ssock)
        try:
            d = json.loads(r.stdout)
        except ValueError as e:
            d = {"error": str(e)}
        check("2 --json parses: pid, 2 workers, the total",
              r.returncode == 0 and d.get("pid") == proc.pid and len(d.get("workers", [])) == 2
              and d.get("requests", {}).get("total", 0) >= made, r.stdout[:200])
        check("2 the header's name is the JSON's instance",
              head.split(":")[0] == (d.get("instance") or "(unnamed)"), d.get("instance"))
        slow.wait(10)

        # 3: --watch while requests come, then the instance goes away
        watch = subprocess.Popen([sfcgi, "status", "--watch", ssock], stdin=subprocess.DEVNULL,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        t = time.monotonic()
        while time.monotonic() - t < 2.6:
            run(sfcgi, "request", "-b", sock, "/?pid")
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        proc.wait(15)
        proc = None
        time.sleep(1.5)
        watch.send_signal(signal.SIGINT)
        out, err = watch.communicate(timeout=5)
        out = out.decode(errors="replace")
        frames = out.split("\033[H\033[2J")[1:]
        print(f"# --watch: {len(frames)} frames; the last one:")
        print("# " + (frames[-1] if frames else "").replace("\n", "\n# "))
        check("3 --watch exits 0 on SIGINT", watch.returncode == 0, err.decode()[-200:])
        check("3 it redrew at least 3 frames in 4 s", len(frames) >= 3, len(frames))
        rates = [float(m.group(1)) for f in frames
                 for m in [re.search(r"^rate: +([0-9.]+)/s over the last", f, re.M)] if m]
        check("3 the rate between two samples is shown, and not 0 under requests",
              rates and max(rates) > 0, rates)
        check("3 the instance gone: it says so and keeps trying",
              frames and "not reachable: trying again every second" in frames[-1], frames[-1:])

        # 4
        r = run(sfcgi, "status", os.path.join(work, "none", "x.status.sock"))
        check("4 no socket: exit 1, no status socket at PATH",
              r.returncode == 1 and "no status socket at " in r.stderr, r.stderr.strip())
        with open(log, "ab") as logf:
            proc = subprocess.Popen(["systemd-socket-activate", "-l", sock, "-l", ssock,
                                     "--fdname=fastcgi:status", sfcgi, "run", "--config", conf],
                                    stdout=logf, stderr=subprocess.STDOUT)
        wait_for(lambda: run(sfcgi, "request", "-b", sock, "/?pid").returncode == 0, 10)
        r = run(sfcgi, "status", sock)
        check("4 the FastCGI socket given: exit 1, not an sfcgi status socket",
              r.returncode == 1 and "not an sfcgi status socket" in r.stderr, r.stderr.strip())
    finally:
        for p in (slow, proc):
            if p and p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(15)
                except subprocess.TimeoutExpired:
                    p.kill()
    if failed:
        print("# instance log:\n# " + open(log, errors="replace").read().replace("\n", "\n# "))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
