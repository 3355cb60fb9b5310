#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The allow-list in sfcgi itself (issue 14), on real sockets, against
verapp (a request whose query has "trace" is written to its stderr, so the
test sees every request that reached the application):

    allow.py VERAPP WORKDIR TESTAPP

tcp: 127.0.0.1:PORT with "allow_from": ["127.0.0.2", "fd00::/64"]. A
    client bound to 127.0.0.2 is served; 30 clients from 127.0.0.1 and 5 from
    127.0.0.3, each sending a whole request, get no byte back, and verapp
    never sees their requests; one log line per refused address, and at stop
    the count of the rest ("refused 29 more connection(s) from 127.0.0.1");
    the scoreboard's refused_allow counts all 35.
dual: a dual-stack socket on [::]:PORT passed on fd 0 (IPv4 arrives as
    ::ffff:127.0.0.2): the IPv4 entry matches
    the mapped peer; 127.0.0.1 is refused.
env: no allow_from, FCGI_WEB_SERVER_ADDRS=127.0.0.2: the same as tcp.
unix: a socket file of mode 0666 with "allow_peers": ["root"]: root is
    served; a client running as nobody gets no byte and verapp sees nothing.
unavailable: testapp whose init fails, so that the supervisor answers 503
    itself: 127.0.0.2 gets the 503, 127.0.0.1 gets no byte.
Prints "ok - ..." / "not ok - ..."; exits 1 if anything failed.
"""
import glob
import json
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fcgi_client as fc  # noqa: E402

failed = 0


def check(name, cond, detail=""):
    global failed
    print(("ok - " if cond else "not ok - ") + name + (f" ({detail})" if detail else ""),
          flush=True)
    if not cond:
        failed += 1


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_for(pred, timeout):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.05)
    return pred()


class Instance:
    def __init__(self, app, work, name, listen, config, env=None, ready="worker(s) serving"):
        self.log = os.path.join(work, name + ".log")
        cfg = os.path.join(work, name + ".json")
        config = dict(config)
        extra = config.pop("_env", None) or {}
        with open(cfg, "w") as f:
            json.dump(dict(config, workers=1), f)
        env = dict(os.environ, **(env or {}))
        for k in ("JOURNAL_STREAM", "SFCGI_LOG_LEVEL", "FCGI_WEB_SERVER_ADDRS"):
            env.pop(k, None)
        env.update(extra)
        stdin, args = subprocess.DEVNULL, ["--listen", listen]
        if listen.startswith("dual:"):
            # a dual-stack socket on fd 0, as systemd's ListenStream=[::]:PORT makes
            # one (sfcgi's own [::] sockets are IPv6 only)
            stdin = socket.socket(socket.AF_INET6)
            stdin.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
            stdin.bind(("::", int(listen[5:])))
            stdin.listen(64)
            args = []
        with open(self.log, "wb") as f:
            self.proc = subprocess.Popen([app, "--config", cfg] + args,
                                         stdin=stdin, stdout=f, stderr=f, env=env)
        if args == []:
            stdin.close()
        self.up = wait_for(lambda: ready in self.text()
                           or self.proc.poll() is not None, 10) and self.proc.poll() is None

    def text(self):
        with open(self.log, errors="replace") as f:
            return f.read()

    def refused_allow(self):
        """The scoreboard's refused_allow, read from the supervisor's memfd."""
        for fd in glob.glob(f"/proc/{self.proc.pid}/fd/*"):
            try:
                if "sfcgi-scoreboard" not in os.readlink(fd):
                    continue
                with open(fd, "rb") as f:
                    head = f.read(64)
                return struct.unpack_from("<Q", head, 24)[0]
            except OSError:
                continue
        return None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def no_bytes(got):
    return got == b""


def tcp_case(app, work, name, listen, addr, config, env=None):
    inst = Instance(app, work, name, listen, dict(config, _env=env) if env else config)
    try:
        check(f"{name}: the instance is up", inst.up, inst.text()[-600:])
        if not inst.up:
            return
        try:
            body = fc.get(addr, "trace-allowed", source="127.0.0.2")
        except OSError as e:
            body = repr(e).encode()
        check(f"{name}: 127.0.0.2 (allowed) is served", b"version=" in body, body[:200])
        got = [fc.refused(addr, f"trace-refused-{i}", source="127.0.0.1") for i in range(30)]
        got += [fc.refused(addr, f"trace-refused-3-{i}", source="127.0.0.3") for i in range(5)]
        check(f"{name}: 35 whole requests from 127.0.0.1 and 127.0.0.3 get no byte back",
              all(no_bytes(g) for g in got), [g for g in got if g != b""][:2])
        try:
            body = fc.get(addr, "trace-allowed-again", source="127.0.0.2")
        except OSError as e:
            body = repr(e).encode()
        check(f"{name}: 127.0.0.2 is still served", b"version=" in body, body[:200])
        count = inst.refused_allow()
        check(f"{name}: the scoreboard's refused_allow counts 35", count == 35, count)
    finally:
        inst.stop()
    text = inst.text()
    saw = re.findall(r"verapp saw (\S+)", text)
    check(f"{name}: the application saw only the allowed requests",
          saw == ["/?trace-allowed", "/?trace-allowed-again"], saw)
    what = "FCGI_WEB_SERVER_ADDRS" if env else "allow_from"
    first = [ln for ln in text.splitlines() if "refused a connection from" in ln]
    want = [f"refused a connection from {a}: not in {what} (add it there if it is a web "
            "server of yours); more from it are counted, one line a minute"
            for a in ("127.0.0.1", "127.0.0.3")]
    check(f"{name}: one line per refused address",
          len(first) == 2 and all(ln.endswith(w) for ln, w in zip(first, want)), first)
    sums = sorted(re.findall(r"refused (\d+) more connection\(s\) from (\S+) in the last", text))
    check(f"{name}: at stop, the count of the rest of each",
          sums == [("29", "127.0.0.1"), ("4", "127.0.0.3")], sums)


def unix_case(app, work):
    os.chmod(work, 0o755)
    path = os.path.join(work, "allow.sock")
    inst = Instance(app, work, "unix", path, {"allow_peers": ["root"],
                                              "listen": {"path": path, "mode": "0666"}})
    try:
        check("unix: the instance is up", inst.up, inst.text()[-600:])
        if not inst.up:
            return
        try:
            body = fc.get(path, "trace-root")
        except OSError as e:
            body = repr(e).encode()
        check("unix: root (allowed) is served", b"version=" in body, body[:200])
        code = ("import sys; sys.path.insert(0, %r); import fcgi_client as fc; "
                "print(repr(fc.refused(%r, 'trace-nobody')))"
                % (os.path.dirname(os.path.abspath(__file__)), path))
        r = subprocess.run(["/usr/bin/python3", "-c", code], user="nobody", group="nogroup",
                           capture_output=True, text=True, timeout=20)
        check("unix: nobody (left out) gets no byte back", r.stdout.strip() == "b''",
              (r.stdout + r.stderr).strip()[-300:])
    finally:
        inst.stop()
    text = inst.text()
    saw = re.findall(r"verapp saw (\S+)", text)
    check("unix: the application saw root's request only", saw == ["/?trace-root"], saw)
    lines = [ln for ln in text.splitlines() if "refused a connection from uid" in ln]
    check("unix: one line names the peer's uid", len(lines) == 1 and
          re.search(r"from uid 65534 \(gid 65534, pid \d+\): not in allow_peers", lines[0]),
          lines)


def unavailable_case(testapp, work):
    """Every worker failing: the supervisor answers 503 itself, to allowed peers only."""
    port = free_port()
    inst = Instance(testapp, work, "unavailable", f"127.0.0.1:{port}",
                    {"allow_from": ["127.0.0.2"]}, env={"TESTAPP_INIT_FAIL": "1"},
                    ready="failing: ")
    try:
        check("unavailable: every worker fails at start", inst.up, inst.text()[-600:])
        if not inst.up:
            return
        try:
            body = fc.get(("127.0.0.1", port), "x", source="127.0.0.2")
        except OSError as e:
            body = repr(e).encode()
        check("unavailable: 127.0.0.2 (allowed) gets the supervisor's 503",
              b"Status: 503" in body, body[:200])
        got = fc.refused(("127.0.0.1", port), "x", source="127.0.0.1")
        check("unavailable: 127.0.0.1 (left out) gets no byte, not even the 503", got == b"",
              got[:200] if got else got)
        count = inst.refused_allow()
        check("unavailable: the scoreboard counts it", count == 1, count)
    finally:
        inst.stop()
    check("unavailable: the supervisor logs the refusal",
          "refused a connection from 127.0.0.1: not in allow_from" in inst.text(),
          inst.text()[-400:])


def main():
    app, work = sys.argv[1], sys.argv[2]
    os.makedirs(work, exist_ok=True)
    port = free_port()
    tcp_case(app, work, "tcp", f"127.0.0.1:{port}", ("127.0.0.1", port),
             {"allow_from": ["127.0.0.2", "fd00::/64"]})
    port = free_port()
    tcp_case(app, work, "dual", f"dual:{port}", ("127.0.0.1", port),
             {"allow_from": ["127.0.0.2"]})
    port = free_port()
    tcp_case(app, work, "env", f"127.0.0.1:{port}", ("127.0.0.1", port), {},
             env={"FCGI_WEB_SERVER_ADDRS": "127.0.0.2"})
    unix_case(app, work)
    unavailable_case(sys.argv[3], work)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
