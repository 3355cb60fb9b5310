#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Slow peers cannot deny service (issue 15, item 1).

An instance of the hello example (`sfcgi run --config`, 2 workers, the
default max_conns of 1024 each) on a unix socket behind a real nginx (the
Debian binary, a config generated in --workdir, 127.0.0.1 on a free port,
an upstream keepalive pool as contrib/nginx/sfcgi.conf has it). wrk
through nginx measures a baseline run, then the same run while --peers
connections (5,000) each send one byte of a FastCGI request every
--tick seconds (3) straight to the instance's socket; a slot whose
connection was closed connects again at its next tick. That is more
connections than both workers may hold (2 x 1024): without an overall
deadline and without eviction at max_conns, service stops.

Passes when, under the slow peers: throughput is at least --min-ratio
(0.8) of the baseline measured in the same run (the mean of a run before
the slow peers and one after them), wrk's p99 is under
--max-p99-ms (50), every slow connection the instance closed lived at
most params_timeout plus a sweep's slack (measured by the client: from
connect to the close it saw), none is still open past it at the end; a
last phase of --few (300) such peers, fewer than max_conns so that none is
evicted, sees each closed by params_timeout alone; and
the instance's log holds fewer than --max-log-lines (100) lines for the
whole test.

File descriptors: the peers' process raises its own soft RLIMIT_NOFILE to
the hard limit. The instance starts with the soft limit the test had
(often 1024, too few for 1024 connections per worker): sfcgi raises its
own soft limit to the hard one at start.

Exit status 0 pass, 1 fail, 77 skip.
"""
import argparse
import json
import os
import random
import re
import resource
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

PARAMS_TIMEOUT = 10.0  # the default params_timeout (src/settings.c)
SLACK = 2.0            # one sweep (at most 1 s) and the peers' own loop


def log(msg):
    print(msg, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def tail(path, n=30):
    try:
        with open(path, errors='replace') as f:
            return ''.join(f.readlines()[-n:])
    except OSError as e:
        return str(e)


def wait_for(pred, timeout=20.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.05)
    return pred()


def connects(path):
    try:
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(path)
        return True
    except OSError:
        return False


def cpu_seconds(root):
    """CPU time (user + system) so far of process root and its descendants
    (the workers start sessions of their own)."""
    procs = {}
    for d in os.listdir('/proc'):
        if not d.isdigit():
            continue
        try:
            with open(f'/proc/{d}/stat') as f:
                st = f.read()
        except OSError:
            continue
        fields = st[st.rindex(')') + 2:].split()
        procs[int(d)] = (int(fields[1]), int(fields[11]) + int(fields[12]))
    mine, total, grew = {root}, 0, True
    while grew:
        grew = False
        for pid, (ppid, _) in procs.items():
            if ppid in mine and pid not in mine:
                mine.add(pid)
                grew = True
    total = sum(procs[p][1] for p in mine if p in procs)
    return total / os.sysconf('SC_CLK_TCK')


def fcgi_request():
    """The bytes of one whole FastCGI GET request, which a peer trickles."""
    def rec(t, body):
        return struct.pack('>BBHHBB', 1, t, 1, len(body), 0, 0) + body

    params = b''
    for k, v in ((b'REQUEST_METHOD', b'GET'), (b'SCRIPT_NAME', b'/'),
                 (b'QUERY_STRING', b'')):
        params += bytes([len(k), len(v)]) + k + v
    return (rec(1, struct.pack('>HB5x', 1, 1)) + rec(4, params) + rec(4, b'') +
            rec(5, b''))


def run_peers(a):
    """The slow peers (a process of their own): one byte every tick each.
    Writes, to --peers-out, each closed connection's life and the ages of
    those still open at the end."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if hard < a.peers + 100:
        print(f'RLIMIT_NOFILE hard limit {hard} is below {a.peers + 100}', file=sys.stderr)
        sys.exit(2)
    req = fcgi_request()
    ep = select.epoll()
    slots = [None] * a.peers  # [sock, connected_at, bytes_sent]
    lives, refused = [], 0
    t0 = time.monotonic()
    # the slots' ticks spread over one tick, so that 1/tick of them act each second
    due = [t0 + a.tick * i / a.peers for i in range(a.peers)]
    by_fd = {}
    nxt = 0
    stop = False

    def on_term(*_):
        nonlocal stop
        stop = True
    signal.signal(signal.SIGTERM, on_term)

    def closed(i, now):
        s, since, _ = slots[i]
        lives.append(now - since)
        ep.unregister(s.fileno())
        del by_fd[s.fileno()]
        s.close()
        slots[i] = None

    end = t0 + a.peers_for
    while not stop and time.monotonic() < end:
        now = time.monotonic()
        for fd, ev in ep.poll(0.05):
            i = by_fd.get(fd)
            if i is None:
                continue
            s = slots[i][0]
            try:
                data = s.recv(4096)
            except BlockingIOError:
                continue
            except OSError:
                data = b''
            if not data:
                closed(i, time.monotonic())
        # the slots in turn, in the order of their ticks (a round robin)
        now = time.monotonic()
        while not stop and due[nxt] <= now:
            i = nxt
            nxt = (nxt + 1) % a.peers
            due[i] += a.tick
            if slots[i] is None:
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.setblocking(False)
                try:
                    s.connect(a.sock)
                except OSError:
                    s.close()  # backlog full: try again at the next tick
                    refused += 1
                    continue
                slots[i] = [s, now, 0]
                by_fd[s.fileno()] = i
                ep.register(s.fileno(), select.EPOLLIN | select.EPOLLRDHUP)
            s, since, sent = slots[i]
            try:
                s.send(req[sent % len(req):sent % len(req) + 1])
                slots[i][2] += 1
            except OSError:
                closed(i, now)
    now = time.monotonic()
    open_ages = [now - sl[1] for sl in slots if sl is not None]
    with open(a.peers_out, 'w') as f:
        json.dump({'lives': lives, 'open_ages': open_ages, 'refused': refused}, f)


class Setup:
    def __init__(self, a):
        self.a = a
        self.dir = os.path.abspath(a.workdir)
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(os.path.join(self.dir, 'tmp'))
        os.chmod(self.dir, 0o755)
        self.sockdir = self.dir if len(self.dir) < 80 else tempfile.mkdtemp(prefix='sfcgi-slow-')
        self.sock = os.path.join(self.sockdir, 'app.sock')
        self.app = self.nginx = None

    def start_app(self):
        a = self.a
        conf = os.path.join(self.dir, 'app.json')
        with open(conf, 'w') as f:
            json.dump({'program': os.path.abspath(a.app), 'listen': self.sock, 'workers': 2}, f, indent=2)
        self.app_log = os.path.join(self.dir, 'app.log')
        with open(self.app_log, 'w') as out:
            # the soft RLIMIT_NOFILE as the test was started: sfcgi raises it
            self.app = subprocess.Popen([a.sfcgi, 'run', '--config', conf], stdout=out,
                                        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                        preexec_fn=lambda: os.umask(0), start_new_session=True)
        if not wait_for(lambda: connects(self.sock) or self.app.poll() is not None):
            raise RuntimeError('the instance does not listen:\n' + tail(self.app_log))
        if self.app.poll() is not None:
            raise RuntimeError(f'sfcgi run exited {self.app.returncode}:\n' + tail(self.app_log))
        time.sleep(1)  # both workers up

    def nginx_conf(self, port):
        d = self.dir
        temps = '\n'.join(f'    {m}_temp_path {d}/tmp/{m};'
                          for m in ('client_body', 'fastcgi', 'proxy', 'scgi', 'uwsgi'))
        return f"""# Generated by tests/pressure/slowpeer.py
user root root;
daemon off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
{temps}
    upstream app {{ server unix:{self.sock}; keepalive 8; }}
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        root {d};
        location / {{
            include /etc/nginx/fastcgi_params;
            fastcgi_pass app;
            fastcgi_keep_conn on;
        }}
    }}
}}
"""

    def start_nginx(self):
        for _ in range(5):
            self.port = free_port()
            conf = os.path.join(self.dir, 'nginx.conf')
            with open(conf, 'w') as f:
                f.write(self.nginx_conf(self.port))
            self.nginx = subprocess.Popen([self.a.nginx, '-p', self.dir, '-c', conf, '-e',
                                           os.path.join(self.dir, 'error.log')],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
                                          stdin=subprocess.DEVNULL, start_new_session=True)
            ok = wait_for(lambda: self.nginx.poll() is not None or self.listening())
            if ok and self.nginx.poll() is None:
                return
            self.stop_nginx()
        raise RuntimeError('nginx did not start:\n' + tail(os.path.join(self.dir, 'error.log')))

    def listening(self):
        try:
            socket.create_connection(('127.0.0.1', self.port), 0.2).close()
            return True
        except OSError:
            return False

    def stop_nginx(self):
        if self.nginx and self.nginx.poll() is None:
            os.killpg(self.nginx.pid, signal.SIGTERM)
            try:
                self.nginx.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.nginx.pid, signal.SIGKILL)
                self.nginx.wait()

    def stop(self):
        self.stop_nginx()
        if self.app and self.app.poll() is None:
            os.killpg(self.app.pid, signal.SIGTERM)
            try:
                self.app.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.app.pid, signal.SIGKILL)
                self.app.wait()
        if self.sockdir != self.dir:
            shutil.rmtree(self.sockdir, ignore_errors=True)

    def wrk(self, name):
        a = self.a
        cmd = [a.wrk, f'-t{a.threads}', f'-c{a.conns}', f'-d{a.duration}s', '--latency',
               f'http://127.0.0.1:{self.port}/']
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=a.duration + 30)
        out = p.stdout
        with open(os.path.join(self.dir, f'wrk-{name}.txt'), 'w') as f:
            f.write(out + p.stderr)
        rps = re.search(r'Requests/sec:\s*([\d.]+)', out)
        p99 = re.search(r'^\s*99%\s+([\d.]+)(us|ms|s)\s*$', out, re.M)
        non2xx = re.search(r'Non-2xx or 3xx responses:\s*(\d+)', out)
        errs = re.search(r'Socket errors:.*', out)
        if not rps or not p99:
            raise RuntimeError(f'wrk output not understood:\n{out}{p.stderr}')
        scale = {'us': 0.001, 'ms': 1.0, 's': 1000.0}[p99.group(2)]
        r = {'rps': float(rps.group(1)), 'p99_ms': float(p99.group(1)) * scale,
             'non2xx': int(non2xx.group(1)) if non2xx else 0,
             'errors': errs.group(0) if errs else ''}
        log(f'{name}: {r["rps"]:.0f} requests/s, p99 {r["p99_ms"]:.2f} ms, '
            f'non-2xx {r["non2xx"]} {r["errors"]}')
        return r


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--app')
    ap.add_argument('--sfcgi')
    ap.add_argument('--nginx', default='/usr/sbin/nginx')
    ap.add_argument('--wrk', default='wrk')
    ap.add_argument('--workdir')
    ap.add_argument('--peers', type=int, default=5000)
    ap.add_argument('--tick', type=float, default=3.0)
    ap.add_argument('--few', type=int, default=300,
                    help='slow peers of the deadline-only phase (below max_conns)')
    ap.add_argument('--duration', type=int, default=12, help='seconds of each wrk run')
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--conns', type=int, default=32)
    ap.add_argument('--min-ratio', type=float, default=0.8)
    ap.add_argument('--max-p99-ms', type=float, default=50.0)
    ap.add_argument('--max-log-lines', type=int, default=100)
    # internal: the peers' own process
    ap.add_argument('--peers-only', action='store_true', help=argparse.SUPPRESS)
    ap.add_argument('--sock', help=argparse.SUPPRESS)
    ap.add_argument('--peers-for', type=float, help=argparse.SUPPRESS)
    ap.add_argument('--peers-out', help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.peers_only:
        run_peers(a)
        return 0
    for prog in (a.nginx, shutil.which(a.wrk) or a.wrk):
        if not os.access(prog, os.X_OK):
            log(f'SKIP: {prog} is not installed (scripts/install-deps.sh)')
            return 77
    st = Setup(a)
    peers = None
    failures = []
    try:
        st.start_app()
        st.start_nginx()
        c0 = cpu_seconds(st.app.pid)
        base = st.wrk('baseline')
        c1 = cpu_seconds(st.app.pid)
        # the peers: a ramp of one tick, then PARAMS_TIMEOUT + SLACK so that the
        # deadline has closed the first ones, then wrk, then the end
        settle = a.tick + PARAMS_TIMEOUT + SLACK
        peers_out = os.path.join(st.dir, 'peers.json')
        peers = subprocess.Popen([sys.executable, os.path.abspath(__file__), '--peers-only',
                                  '--sock', st.sock, '--peers', str(a.peers), '--tick',
                                  str(a.tick), '--peers-for', str(settle + a.duration + 2),
                                  '--peers-out', peers_out], start_new_session=True)
        time.sleep(settle)
        if peers.poll() is not None:
            raise RuntimeError(f'the slow peers exited {peers.returncode}')
        c2, p2 = cpu_seconds(st.app.pid), cpu_seconds(peers.pid)
        slow = st.wrk('slow-peers')
        c3, p3 = cpu_seconds(st.app.pid), cpu_seconds(peers.pid)
        log(f'CPU seconds during the wrk runs: the instance {c1 - c0:.1f} (baseline), '
            f'{c3 - c2:.1f} (slow peers); the slow peers\' own process {p3 - p2:.1f}')
        peers.wait(a.duration + 60)
        with open(peers_out) as f:
            res = json.load(f)
        lives, open_ages = res['lives'], res['open_ages']
        limit = PARAMS_TIMEOUT + SLACK
        # the baseline again, the peers gone: the machine is shared, and the
        # mean of a run before and one after bears its drift less than one
        after = st.wrk('baseline-after')
        # Fewer peers than max_conns: nothing needs their place, so what
        # closes them is the deadline alone, however they trickle.
        few_out = os.path.join(st.dir, 'few.json')
        few = subprocess.run([sys.executable, os.path.abspath(__file__), '--peers-only',
                              '--sock', st.sock, '--peers', str(a.few), '--tick', str(a.tick),
                              '--peers-for', str(a.tick + limit + 1), '--peers-out', few_out],
                             timeout=a.tick + limit + 60)
        with open(few_out) as f:
            fres = json.load(f)
        fl = fres['lives']
        log(f'{a.few} slow peers below max_conns: {len(fl)} connections closed, lived '
            f'{min(fl, default=0):.1f}..{max(fl, default=0):.1f} s, '
            f'{len(fres["open_ages"])} open at the end (oldest '
            f'{max(fres["open_ages"], default=0):.1f} s)')
        if few.returncode or len(fl) < a.few or any(
                x < PARAMS_TIMEOUT - 0.1 or x > limit for x in fl) or any(
                x > limit for x in fres['open_ages']):
            failures.append(f'below max_conns, each slow connection should have closed '
                            f'after {PARAMS_TIMEOUT:g}..{limit:g} s (params_timeout)')
        log(f'slow peers: {len(lives)} connections closed by the instance (lived '
            f'{min(lives, default=0):.1f}..{max(lives, default=0):.1f} s; '
            f'{sum(x < PARAMS_TIMEOUT - 0.5 for x in lives)} before params_timeout: made room '
            f'at max_conns), {len(open_ages)} open at the end (oldest '
            f'{max(open_ages, default=0):.1f} s), {res["refused"]} connects refused (backlog full)')
        mean = (base['rps'] + after['rps']) / 2
        ratio = slow['rps'] / mean if mean else 0
        log(f'throughput under slow peers: {ratio:.2f} of the baseline (the mean of the '
            f'runs before and after)')
        if base['non2xx'] or slow['non2xx'] or after['non2xx']:
            failures.append('non-2xx responses through nginx')
        if ratio < a.min_ratio:
            failures.append(f'throughput {ratio:.2f} of the baseline, below {a.min_ratio}')
        if slow['p99_ms'] >= a.max_p99_ms:
            failures.append(f'p99 {slow["p99_ms"]:.2f} ms under slow peers, not under '
                            f'{a.max_p99_ms} ms')
        if not lives:
            failures.append('no slow connection was closed')
        late = [x for x in lives + open_ages if x > limit]
        if late:
            failures.append(f'{len(late)} slow connection(s) lived past params_timeout '
                            f'+ {SLACK} s (longest {max(late):.1f} s)')
    except RuntimeError as e:
        failures.append(str(e))
    finally:
        if peers and peers.poll() is None:
            peers.terminate()
            peers.wait()
        st.stop()
    with open(st.app_log, errors='replace') as f:
        lines = f.readlines()
    log(f'the instance logged {len(lines)} lines; the first ones:\n' + ''.join(lines[:15]))
    if len(lines) >= a.max_log_lines:
        failures.append(f'{len(lines)} log lines, not fewer than {a.max_log_lines}')
    for f in failures:
        log(f'FAIL: {f}')
    if failures:
        log('nginx error.log:\n' + tail(os.path.join(st.dir, 'error.log'), 10))
        return 1
    log('PASS')
    return 0


if __name__ == '__main__':
    sys.exit(main())
