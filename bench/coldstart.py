#!/usr/bin/env python3
"""Cold start: first connection to first response, through socket activation.

systemd-socket-activate listens, and on the first connection executes the
command, as systemd does for a .socket unit; the time is from connect() to
FCGI_END_REQUEST of the first request. Repeated RUNS times; median and p90.
Usage: coldstart.py RUNS [--user USER] -- COMMAND [ARG]...   (the socket is
passed as fd 3, LISTEN_FDS=1, FileDescriptorName=fastcgi)

--user: systemd-socket-activate and so the command run as USER (setpriv,
before the socket exists, so outside the time measured), as a service with
User= does; without it, as root.
"""
import grp
import os
import pwd
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time


def rec(t, rid, content):
    pad = (8 - len(content) % 8) % 8
    return struct.pack(">BBHHBB", 1, t, rid, len(content), pad, 0) + content + b"\0" * pad


def request():
    params = b"".join(bytes([len(k), len(v)]) + k + v for k, v in
                      [(b"REQUEST_METHOD", b"GET"), (b"QUERY_STRING", b""), (b"SCRIPT_NAME", b"/")])
    return (rec(1, 1, struct.pack(">HB5x", 1, 0)) + rec(4, 1, params) + rec(4, 1, b"")
            + rec(5, 1, b""))


def first_response(path):
    s = socket.socket(socket.AF_UNIX)
    t0 = time.perf_counter()
    s.connect(path)
    s.sendall(request())
    buf = b""
    while True:
        d = s.recv(65536)
        if not d:
            raise RuntimeError("closed before END_REQUEST")
        buf += d
        while len(buf) >= 8:
            _, t, _, cl, pl, _ = struct.unpack(">BBHHBB", buf[:8])
            if len(buf) < 8 + cl + pl:
                break
            if t == 3:
                return time.perf_counter() - t0
            buf = buf[8 + cl + pl:]


def main():
    runs = int(sys.argv[1])
    opts = sys.argv[2:sys.argv.index("--")]
    cmd = sys.argv[sys.argv.index("--") + 1:]
    user = opts[opts.index("--user") + 1] if "--user" in opts else None
    times = []
    for _ in range(runs):
        d = tempfile.mkdtemp(prefix="sfcgi-cold-")
        path = os.path.join(d, "s.sock")
        pre = []
        if user:
            shutil.chown(d, user)
            pre = ["setpriv", "--reuid=" + user, "--regid=" + grp.getgrgid(
                pwd.getpwnam(user).pw_gid).gr_name, "--clear-groups"]
        p = subprocess.Popen(pre + ["systemd-socket-activate", "-l", path, "--fdname=fastcgi"]
                             + cmd, stderr=subprocess.DEVNULL, start_new_session=True)
        while not os.path.exists(path):
            time.sleep(0.005)
        time.sleep(0.05)  # listening, nothing started yet
        try:
            times.append(first_response(path) * 1000)
        finally:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
            os.unlink(path)
            os.rmdir(d)
    times.sort()
    print("runs=%d median=%.2f ms p90=%.2f ms min=%.2f ms" % (
        len(times), times[len(times) // 2], times[int(len(times) * 0.9)], times[0]))


if __name__ == "__main__":
    main()
