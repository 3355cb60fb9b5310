#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""params_timeout and body_min_rate hold whatever a peer trickles (issue 15,
item 1), straight over the instance's unix socket, with the echo example
(one worker, --set params_timeout=1.5 body_timeout=1 body_min_rate=200
read_ahead=4096), each case in a thread of its own:

  params-trickle  BEGIN_REQUEST and params one byte every 0.2 s: closed at
                  params_timeout (1.5 s after connect), not at read_timeout
  silent          connects, sends nothing: closed at params_timeout
  body-trickle    params at once, then a body of one byte every 0.2 s
                  (5 B/s): closed once body_timeout plus bytes/min_rate
                  has passed (about 1 s), before the handler ever runs
  body-running    params and 4,100 body bytes at once (past read_ahead: the
                  handler runs and reads), then one byte every 0.2 s:
                  closed by body_min_rate while the handler waits, once
                  1 s + 4,100 / 200 s (and a little for the trickle) are
                  over, not before: the rate is an average
  body-steady     a 3,000-byte body at 1,000 B/s, 100 bytes at a time:
                  never below the rate, answered 200 with the whole body
  kept-idle       a whole request, answered, the connection kept and idle
                  for 3 s: not closed (conn_idle_timeout, not
                  params_timeout), a second request answered

Exit status 0 pass, 1 fail.
"""
import argparse
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time


def rec(t, body, rid=1):
    return struct.pack('>BBHHBB', 1, t, rid, len(body), 0, 0) + body


def params(pairs):
    out = b''
    for k, v in pairs:
        out += bytes([len(k), len(v)]) + k + v
    return out


def head(keep, length):
    p = params([(b'REQUEST_METHOD', b'POST' if length else b'GET'), (b'SCRIPT_NAME', b'/'),
                (b'CONTENT_LENGTH', str(length).encode())])
    return rec(1, struct.pack('>HB5x', 1, 1 if keep else 0)) + rec(4, p) + rec(4, b'')


def read_until_end(s, timeout):
    """The response's STDOUT, or None if the connection closed first; the
    time it closed (or answered)."""
    s.settimeout(timeout)
    buf, out = b'', b''
    while True:
        try:
            d = s.recv(65536)
        except socket.timeout:
            return None, 'timeout'
        except OSError:
            d = b''
        if not d:
            return None, 'closed'
        buf += d
        while len(buf) >= 8:
            _, t, _, n, pad = struct.unpack('>BBHHB', buf[:7])
            if len(buf) < 8 + n + pad:
                break
            if t == 6:
                out += buf[8:8 + n]
            buf = buf[8 + n + pad:]
            if t == 3:
                return out, 'answered'


def closed_within(s, timeout):
    """Seconds until the peer closed s (reading and discarding), or None."""
    t0 = time.monotonic()
    s.settimeout(0.05)
    while time.monotonic() - t0 < timeout:
        try:
            d = s.recv(4096)
            if not d:
                return time.monotonic() - t0
        except socket.timeout:
            continue
        except OSError:
            return time.monotonic() - t0
    return None


def trickle(s, data, every, until_closed_for):
    """Sends data a byte at a time; the seconds from the start until the
    connection was closed under it, or None."""
    t0 = time.monotonic()
    s.settimeout(every)
    for b in data:
        try:
            s.send(bytes([b]))
        except OSError:
            return time.monotonic() - t0
        try:
            if s.recv(4096) == b'':
                return time.monotonic() - t0
        except socket.timeout:
            pass
        except OSError:
            return time.monotonic() - t0
        if time.monotonic() - t0 > until_closed_for:
            return None
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--app', required=True)
    ap.add_argument('--workdir', required=True)
    a = ap.parse_args()
    d = os.path.abspath(a.workdir)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    sockdir = tempfile.mkdtemp(prefix='sfcgi-dl-')
    sock = os.path.join(sockdir, 'app.sock')
    log_path = os.path.join(d, 'app.log')
    with open(log_path, 'w') as out:
        app = subprocess.Popen([a.app, '--listen', sock, '--set', 'params_timeout=1.5',
                                '--set', 'body_timeout=1', '--set', 'body_min_rate=200',
                                '--set', 'read_ahead=4096'], stdout=out,
                               stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    for _ in range(100):
        if os.path.exists(sock):
            break
        time.sleep(0.05)
    results = {}

    def conn():
        s = socket.socket(socket.AF_UNIX)
        s.connect(sock)
        return s

    def params_trickle():
        s = conn()
        t = trickle(s, head(False, 0), 0.2, 6)
        results['params-trickle'] = (t is not None and 1.3 <= t <= 2.8, f'closed after {t}')

    def silent():
        s = conn()
        t = closed_within(s, 6)
        results['silent'] = (t is not None and 1.3 <= t <= 2.8, f'closed after {t}')

    def body_trickle():
        s = conn()
        s.sendall(head(False, 100))
        t = trickle(s, rec(5, b'x' * 100), 0.2, 6)
        # 1 s of grace + (bytes so far) / 200 B/s, found by a sweep (<= 0.25 s)
        results['body-trickle'] = (t is not None and 0.9 <= t <= 2.5, f'closed after {t}')

    def body_running_short():
        s = conn()
        s.sendall(head(False, 4500) + rec(5, b'y' * 4100))
        t = trickle(s, rec(5, b'z' * 400), 0.2, 40)
        # 1 s + 4100 / 200 = 21.5 s, then the trickle adds 5 B/s: about 22 s
        results['body-running'] = (t is not None and 18 <= t <= 26,
                                         f'closed after {t}')

    def body_steady():
        s = conn()
        body = bytes(range(256)) * 12
        body = body[:3000]
        s.sendall(head(False, len(body)))
        for i in range(0, len(body), 100):
            s.sendall(rec(5, body[i:i + 100]))
            time.sleep(0.1)
        s.sendall(rec(5, b''))
        out, how = read_until_end(s, 10)
        results['body-steady'] = (out is not None and body in out, how)

    def kept_idle():
        s = conn()
        s.sendall(head(True, 0) + rec(5, b''))
        out1, how1 = read_until_end(s, 5)
        time.sleep(3)
        s.sendall(head(True, 0) + rec(5, b''))
        out2, how2 = read_until_end(s, 5)
        results['kept-idle'] = (out1 is not None and out2 is not None, f'{how1}, {how2}')

    # at once; then the handler that waits for its body alone (one worker
    # runs one handler at a time: the others would wait behind it)
    threads = [threading.Thread(target=f) for f in (params_trickle, silent, body_trickle,
                                                     body_steady, kept_idle)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    body_running_short()
    app.terminate()
    app.wait(10)
    shutil.rmtree(sockdir, ignore_errors=True)
    fail = False
    for k, (ok, why) in sorted(results.items()):
        print(f'{"ok" if ok else "FAIL"}: {k}: {why}', flush=True)
        fail |= not ok
    with open(log_path, errors='replace') as f:
        print('the instance logged:\n' + f.read(), flush=True)
    return 1 if fail else 0


if __name__ == '__main__':
    sys.exit(main())
