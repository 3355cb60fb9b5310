#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The status socket (issue 13) with real components: an instance of the
test app (2 workers) with its "status" socket, and, per scenario:

  promtool    `promtool check metrics` accepts /metrics (text 0.0.4) taken
              again and again while a load runs; the OpenMetrics variant
              ends with "# EOF" and its counters add up.
  prometheus  a real Prometheus (127.0.0.1, free port, its own data dir,
              scrape_interval 1s, contrib/prometheus/prometheus.yml)
              scrapes the instance through a real nginx that includes
              contrib/nginx/sfcgi-metrics.conf; after N requests through
              nginx, its query API answers sfcgi_requests_total == N.
  json        /status: a handler held busy shows busy with its URI and the
              slow-request lines are logged; a worker killed with SIGKILL
              shows as a restart of cause crash; a reload bumps the
              generation; /ping answers pong, another path 404.
  flood       the status socket flooded (malformed records, slow peers
              holding connections, 1000 connections) while a load runs on
              the FastCGI socket: every request answered, /status answers
              after the flood, a killed worker is still replaced.

Usage: status_e2e.py --app TESTAPP --nginx NGINX --workdir DIR SCENARIO"""
import argparse
import json
import os
import re
import resource
import shutil
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, 'tests', 'apps'))
from harness import Nginx, check, finish, free_port, log, skip, tail, wait_for  # noqa: E402


# ---- a FastCGI client ------------------------------------------------------------------

def rec(t, rid, content=b''):
    pad = -len(content) % 8
    return struct.pack('>BBHHBB', 1, t, rid, len(content), pad, 0) + content + b'\0' * pad


def pair(n, v):
    def ln(x):
        return bytes([x]) if x < 128 else struct.pack('>I', x | 0x80000000)
    return ln(len(n)) + ln(len(v)) + n + v


def request_bytes(params, rid=1, role=1, keep=0):
    p = b''.join(pair(k.encode(), v.encode()) for k, v in params.items())
    return (rec(1, rid, struct.pack('>HB5x', role, keep)) + rec(4, rid, p) + rec(4, rid)
            + rec(5, rid))


def fcgi(path, params, timeout=10):
    """One request; (headers dict, body bytes, app_status, protocol_status)."""
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(timeout)
    s.connect(path)
    s.sendall(request_bytes(params))
    buf, out = b'', b''
    while True:
        while len(buf) < 8 or len(buf) < 8 + struct.unpack('>H', buf[4:6])[0] + buf[6]:
            d = s.recv(65536)
            if not d:
                raise RuntimeError('closed before END_REQUEST')
            buf += d
        _, t, _, cl, pl, _ = struct.unpack('>BBHHBB', buf[:8])
        body, buf = buf[8:8 + cl], buf[8 + cl + pl:]
        if t == 6:
            out += body
        elif t == 3:
            s.close()
            app, proto = struct.unpack('>IB', body[:5])
            head, _, rest = out.partition(b'\r\n\r\n')
            hdrs = {}
            for line in head.decode().split('\r\n'):
                k, _, v = line.partition(':')
                hdrs[k.strip().lower()] = v.strip()
            return hdrs, rest, app, proto


def get(sock, uri, accept=None):
    p = {'REQUEST_METHOD': 'GET', 'REQUEST_URI': uri, 'SCRIPT_NAME': uri.split('?')[0]}
    if accept:
        p['HTTP_ACCEPT'] = accept
    return fcgi(sock, p)


def status(env):
    h, body, _, _ = get(env.status_sock, '/status')
    return json.loads(body)


def app_request(env, query, timeout=30):
    h, body, app, proto = fcgi(env.app_sock, {'REQUEST_METHOD': 'GET', 'QUERY_STRING': query,
                                              'REQUEST_URI': '/t?' + query,
                                              'SCRIPT_NAME': '/t'}, timeout)
    return body


# ---- the instance ------------------------------------------------------------------------

class Env:
    def __init__(self, a):
        self.a = a
        self.work = a.workdir
        shutil.rmtree(self.work, ignore_errors=True)
        os.makedirs(self.work)
        # unix socket paths are short: 108 bytes
        self.sockdir = self.work if len(self.work) < 60 else f'/tmp/sfcgi-status-{os.getpid()}'
        os.makedirs(self.sockdir, exist_ok=True)
        self.app_sock = os.path.join(self.sockdir, 'app.sock')
        self.status_sock = os.path.join(self.sockdir, 'wiki.status.sock')
        self.config = os.path.join(self.work, 'wiki.json')
        self.log = os.path.join(self.work, 'app.log')
        self.proc = None

    def start(self, extra=None):
        cfg = {'workers': 2, 'listen': self.app_sock, 'status': self.status_sock,
               'slow_request': 1, 'request_timeout': 60}
        cfg.update(extra or {})
        with open(self.config, 'w') as f:
            json.dump(cfg, f)
        self.proc = subprocess.Popen([self.a.app, '--config', self.config],
                                     stdout=open(self.log, 'w'), stderr=subprocess.STDOUT,
                                     start_new_session=True)
        if not wait_for(lambda: os.path.exists(self.status_sock) and self.serving(), 20):
            raise RuntimeError('the instance did not start:\n' + tail(self.log))

    def serving(self):
        try:
            return status(self)['state'] == 'serving'
        except (OSError, RuntimeError, ValueError):
            return False

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()

    def text(self):
        with open(self.log, errors='replace') as f:
            return f.read()


class Load:
    """n threads making requests on the FastCGI socket until stopped."""

    def __init__(self, env, n=4, query=''):
        self.env, self.ok, self.failed, self.errors = env, 0, 0, []
        self.stop_at = False
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.run, args=(query,)) for _ in range(n)]
        for t in self.threads:
            t.start()

    def run(self, query):
        while not self.stop_at:
            try:
                h, body, app, proto = fcgi(self.env.app_sock, {'REQUEST_METHOD': 'GET',
                                                               'QUERY_STRING': query,
                                                               'REQUEST_URI': '/load'}, 30)
                good = proto == 0 and h.get('status', '200').startswith('200')
            except (OSError, RuntimeError) as e:
                good = False
                with self.lock:
                    self.errors.append(str(e))
            with self.lock:
                if good:
                    self.ok += 1
                else:
                    self.failed += 1

    def finish(self):
        self.stop_at = True
        for t in self.threads:
            t.join()
        return self.ok, self.failed


def sample(metrics, name, labels=None):
    """The value of one sample of a text exposition."""
    for line in metrics.splitlines():
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$', line)
        if m and m.group(1) == name and (labels is None or m.group(2) == labels):
            return float(m.group(3))
    return None


# ---- scenarios ---------------------------------------------------------------------------

def scenario_promtool(env):
    promtool = shutil.which('promtool')
    if not promtool:
        skip('promtool is not installed (Debian package prometheus; scripts/install-deps.sh)')
    env.start()
    load = Load(env, 4)
    checked, bad = 0, []
    end = time.monotonic() + 4
    while time.monotonic() < end:
        h, body, _, _ = get(env.status_sock, '/metrics', 'text/plain;version=0.0.4')
        if checked == 0:
            check('0.0.4 content type', h.get('content-type') ==
                  'text/plain; version=0.0.4; charset=utf-8', h.get('content-type'))
        p = subprocess.run([promtool, 'check', 'metrics'], input=body, capture_output=True)
        # it parses and lints (help texts, counter names): both must pass
        if p.returncode != 0:
            bad.append((p.stdout + p.stderr).decode()[:500])
        checked += 1
    ok, failed = load.finish()
    log(f'# {checked} /metrics checked by promtool under a load of {ok} requests')
    check('promtool check metrics accepts /metrics under load', checked > 3 and not bad,
          bad[:1])
    check('the load was served', ok > 0 and failed == 0, f'ok={ok} failed={failed}')
    h, body, _, _ = get(env.status_sock, '/metrics')
    text = body.decode()
    check('OpenMetrics by default', h.get('content-type') ==
          'application/openmetrics-text; version=1.0.0; charset=utf-8', h.get('content-type'))
    check('OpenMetrics ends with # EOF', text.endswith('# EOF\n'))
    check('a counter family without _total, its samples with',
          '# TYPE sfcgi_requests counter' in text and 'sfcgi_requests_total{' in text)
    got = sample(text, 'sfcgi_requests_total', '{outcome="completed"}')
    check('sfcgi_requests_total counts the load', got == ok, f'{got} != {ok}')
    count = sample(text, 'sfcgi_request_duration_seconds_count')
    check('the histogram counts every finished request', count == ok, f'{count} != {ok}')


PROM_QUERY_TIMEOUT = 60


def prom_query(port, q):
    url = f'http://127.0.0.1:{port}/api/v1/query?' + urllib.parse.urlencode({'query': q})
    with urllib.request.urlopen(url, timeout=5) as r:
        d = json.load(r)
    res = d['data']['result']
    return res


def scenario_prometheus(env):
    prom = shutil.which('prometheus')
    if not prom:
        skip('prometheus is not installed (scripts/install-deps.sh)')
    env.start()
    # the app behind nginx at /app, the documented /metrics location
    app_conf = os.path.join(env.work, 'app-location.conf')
    with open(app_conf, 'w') as f:
        f.write(f'location /app {{ include fastcgi_params; fastcgi_pass unix:{env.app_sock}; }}\n')
    nginx = Nginx(env.work, [os.path.join(ROOT, 'contrib/nginx/sfcgi-metrics.conf'), app_conf],
                  [('/run/sfcgi/wiki.status.sock', env.status_sock)], user='root')
    try:
        with urllib.request.urlopen(f'{nginx.base}/sfcgi/wiki/metrics', timeout=5) as r:
            check('nginx publishes /metrics to 127.0.0.1', r.status == 200 and
                  b'sfcgi_requests_total' in r.read())
        with open(os.path.join(ROOT, 'contrib/prometheus/prometheus.yml')) as f:
            yml = f.read()
        yml = yml.replace('scrape_interval: 15s', 'scrape_interval: 1s')
        yml = yml.replace("'127.0.0.1:80'", f"'127.0.0.1:{nginx.port}'")
        check('the contrib scrape config was adapted', f'127.0.0.1:{nginx.port}' in yml and
              'scrape_interval: 1s' in yml)
        pdir = os.path.join(env.work, 'prometheus')
        os.makedirs(pdir + '/data', exist_ok=True)
        with open(pdir + '/prometheus.yml', 'w') as f:
            f.write(yml)
        port = free_port()
        pl = open(pdir + '/log', 'w')
        pp = subprocess.Popen([prom, '--config.file', pdir + '/prometheus.yml',
                               '--storage.tsdb.path', pdir + '/data',
                               '--web.listen-address', f'127.0.0.1:{port}'],
                              stdout=pl, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            def up():
                try:
                    r = prom_query(port, 'up{job="sfcgi"}')
                    return r and r[0]['value'][1] == '1'
                except OSError:
                    return False
            if not check('Prometheus scrapes the instance (up == 1)', wait_for(up, 60, 0.5),
                         tail(pdir + '/log')):
                return
            n = 137
            codes = []
            for i in range(n):
                with urllib.request.urlopen(f'{nginx.base}/app?pid', timeout=10) as r:
                    codes.append(r.status)
            check(f'{n} requests through nginx answered 200', codes == [200] * n)
            done = time.time()

            # the sample of a scrape that began after the last request finished
            def counted():
                # timestamp() of a raw series is its sample's (of a sum: now)
                r = prom_query(port, 'timestamp(sfcgi_generation{job="sfcgi"})')
                if not r or float(r[0]['value'][1]) < done + 0.001:
                    return None
                return prom_query(port, 'sum(sfcgi_requests_total{job="sfcgi"})')
            got = []
            wait_for(lambda: got.append(counted()) or got[-1], PROM_QUERY_TIMEOUT, 0.5)
            val = float(got[-1][0]['value'][1]) if got and got[-1] else None
            check('Prometheus: sfcgi_requests_total == the requests made', val == n,
                  f'{val} != {n}')
            r = prom_query(port, 'sfcgi_requests_total{job="sfcgi",outcome="completed"}')
            check('Prometheus: all of them completed',
                  r and float(r[0]['value'][1]) == n, r)
            r = prom_query(port, 'sfcgi_generation{job="sfcgi"}')
            check('Prometheus: sfcgi_generation is 1', r and r[0]['value'][1] == '1', r)
        finally:
            os.killpg(pp.pid, signal.SIGTERM)
            pp.wait(20)
    finally:
        nginx.stop()


def worker_by_pid(st, pid):
    return next((w for w in st['workers'] if w['pid'] == pid), None)


def scenario_json(env):
    env.start()
    st = status(env)
    check('/status names the instance (its config file)', st['instance'] == 'wiki', st['instance'])
    check('/status: 2 workers, both idle', [w['state'] for w in st['workers']] ==
          ['idle', 'idle'] and st['workers_by_state']['idle'] == 2, st['workers'])
    check('/status: generation 1, serving', st['generation'] == 1 and st['state'] == 'serving')
    check('/status: the listen queue from sock_diag', st['listen']['how'] == 'sock_diag' and
          st['listen']['backlog'] and st['listen']['backlog'] > 0, st['listen'])
    # a request held busy (slow_request is 1 s)
    got = {}
    t = threading.Thread(target=lambda: got.setdefault('body', app_request(env, 'sleep=2500')))
    t.start()

    def busy():
        return [w for w in status(env)['workers'] if w['state'] == 'busy']
    wait_for(lambda: busy(), 5, 0.05)
    time.sleep(0.3)
    b = busy()
    check('the held request shows as busy with its URI', len(b) == 1 and b[0]['current'] and
          b[0]['current']['uri'] == '/t?sleep=2500' and b[0]['current']['method'] == 'GET' and
          b[0]['current']['elapsed_ms'] >= 200, b)
    check('/status: workers_by_state says 1 busy', status(env)['workers_by_state']['busy'] == 1)
    t.join()
    check('the held request was answered', b'slept=' in got.get('body', b''))
    wait_for(lambda: 'slow request finished' in env.text(), 5)
    text = env.text()
    m = re.search(r'slow request in wiki: worker (\d+) has run GET /t\?sleep=2500 for '
                  r'([0-9.]+) s', text)
    check('the slow request was logged once, with instance, pid, method, URI, elapsed',
          m and text.count('slow request in wiki') == 1 and b and int(m.group(1)) == b[0]['pid'],
          tail(env.log))
    m2 = re.search(r'slow request finished: GET /t\?sleep=2500 took ([0-9.]+) s', text)
    check('... and at its end with the total', m2 and 2.4 < float(m2.group(1)) < 10,
          tail(env.log))
    st = status(env)
    check('/status: requests.slow is 1', st['requests']['slow'] == 1, st['requests'])
    # a worker killed: a restart of cause crash
    victim = st['workers'][0]['pid']
    os.kill(victim, signal.SIGKILL)

    def replaced():
        s = status(env)
        return len(s['workers']) == 2 and victim not in [w['pid'] for w in s['workers']] and \
            all(w['state'] == 'idle' for w in s['workers'])
    check('the killed worker was replaced', wait_for(replaced, 10, 0.1))
    st = status(env)
    check('/status: restarts.crash is 1', st['restarts']['crash'] == 1 and
          sum(st['restarts'].values()) == 1, st['restarts'])
    check('/status: the replacement\'s slot counts a restart',
          sorted(w['restarts'] for w in st['workers']) == [0, 1], st['workers'])
    before = st['requests']['total']
    check('/status: counters survive the worker (no going backwards)', before >= 1, before)
    # a reload bumps the generation; the counters are kept
    os.kill(env.proc.pid, signal.SIGHUP)

    def reloaded():
        s = status(env)
        return s['generation'] == 2 and s['state'] == 'serving' and \
            all(w['generation'] == 2 for w in s['workers']) and len(s['workers']) == 2
    check('a reload bumps the generation to 2 (the status socket survives the re-exec)',
          wait_for(lambda: _quiet(reloaded), 20, 0.1), tail(env.log))
    st = status(env)
    check('/status: reloads.ok is 1, the same supervisor pid', st['reloads']['ok'] == 1 and
          st['pid'] == env.proc.pid, st['reloads'])
    check('/status: request totals kept across the reload', st['requests']['total'] >= before,
          f"{st['requests']['total']} < {before}")
    h, body, _, _ = get(env.status_sock, '/sfcgi/wiki/ping')
    check('/ping answers pong', body == b'pong\n' and h.get('status', '').startswith('200'))
    h, body, _, _ = get(env.status_sock, '/nothing')
    check('another path: 404', h.get('status', '').startswith('404'), h)
    mode = os.stat(env.status_sock).st_mode & 0o777
    check('the status socket file is 0600', mode == 0o600, oct(mode))
    # only the responder role
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(5)
    s.connect(env.status_sock)
    s.sendall(request_bytes({'REQUEST_URI': '/status'}, role=2))
    d = s.recv(100)
    check('an authorizer request is answered FCGI_UNKNOWN_ROLE',
          len(d) >= 16 and d[1] == 3 and d[12] == 3, d)
    s.close()


def _quiet(f):
    try:
        return f()
    except (OSError, RuntimeError, ValueError):
        return False


def status_pids(env):
    """The workers' pids from /proc (not the status socket: it may be flooded)."""
    out = subprocess.run(['ps', '-o', 'pid=', '--ppid', str(env.proc.pid)],
                         capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def scenario_flood(env):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 8192), hard))
    env.start()
    load = Load(env, 4)
    socks, stop = [], threading.Event()
    refused = [0]

    def slow_peers():
        # 50 peers each dribbling a BEGIN_REQUEST a byte at a time
        peers = []
        for _ in range(50):
            s = socket.socket(socket.AF_UNIX)
            try:
                s.connect(env.status_sock)
                peers.append(s)
            except OSError:
                refused[0] += 1
        data = request_bytes({'REQUEST_URI': '/status'})
        i = 0
        while not stop.is_set() and i < len(data):
            for s in peers:
                try:
                    s.send(data[i:i + 1])
                except OSError:
                    pass
            i += 1
            time.sleep(0.2)
        for s in peers:
            s.close()
    sp = threading.Thread(target=slow_peers)
    sp.start()
    t0 = time.monotonic()
    garbage = [b'\x02' + os.urandom(200), os.urandom(4096), rec(1, 1, b'\x00\x01'),
               rec(4, 7, b'\xff' * 100), rec(11, 1) * 50, b'\x01\x01\x00\x01\xff\xff\x00\x00',
               request_bytes({'REQUEST_URI': '/status'})[:20]]
    for i in range(1000):
        s = socket.socket(socket.AF_UNIX)
        s.setblocking(False)
        try:
            s.connect(env.status_sock)
            s.send(garbage[i % len(garbage)])
        except (BlockingIOError, OSError):
            refused[0] += 1
        socks.append(s)
    log(f'# 1000 connections opened in {time.monotonic() - t0:.2f} s '
        f'({refused[0]} refused or cut at once)')
    # while they are held: the supervisor answers a proper request soon
    t1 = time.monotonic()
    # (the held connections are closed 2 s after they opened: STATUS_TIMEOUT_MS)
    answered = wait_for(lambda: _quiet(lambda: status(env)['state'] == 'serving'), 5, 0.1)
    check('/status answers within 5 s during the flood (the held connections time out)',
          answered, tail(env.log))
    log(f'# /status answered {time.monotonic() - t1:.2f} s into the flood')
    time.sleep(1)
    ok, failed = load.finish()
    check('the FastCGI socket served the load undisturbed', ok > 0 and failed == 0,
          f'ok={ok} failed={failed} {load.errors[:3]}')
    # the load over (a killed worker's request would fail), still flooded
    victim = status_pids(env)[0]
    os.kill(victim, signal.SIGKILL)
    check('a worker killed during the flood is replaced', wait_for(lambda: _quiet(
        lambda: len(status_pids(env)) == 2 and victim not in status_pids(env)), 10, 0.1))
    for s in socks:
        s.close()
    stop.set()
    sp.join()
    st = None
    t2 = time.monotonic()
    st = _quiet(lambda: status(env))
    check('/status answers after the flood', st and st['state'] == 'serving',
          f'{time.monotonic() - t2:.2f} s')
    check('its counters saw the load', st and st['requests']['completed'] == ok,
          st and st['requests'])
    victim = st['workers'][0]['pid']
    os.kill(victim, signal.SIGKILL)
    check('a killed worker is still replaced after it', wait_for(lambda: _quiet(
        lambda: len(status(env)['workers']) == 2 and victim not in
        [w['pid'] for w in status(env)['workers']]), 10, 0.1))
    check('the supervisor is alive', env.proc.poll() is None)


def scenario_activate(env):
    """The sockets from systemd-socket-activate, named as a socket unit names
    them (FileDescriptorName=fastcgi and status): the status one is the
    supervisor's, never a FastCGI socket of the app, and survives a reload."""
    with open(env.config, 'w') as f:
        json.dump({'workers': 2}, f)
    env.proc = subprocess.Popen(['systemd-socket-activate', '-l', env.app_sock, '-l',
                                 env.status_sock, '--fdname=fastcgi:status', '-E',
                                 'SFCGI_INSTANCE=wiki', env.a.app, '--config', env.config],
                                stdout=open(env.log, 'w'), stderr=subprocess.STDOUT,
                                start_new_session=True)
    wait_for(lambda: os.path.exists(env.status_sock) and os.path.exists(env.app_sock), 10)
    # socket activation: the first connection starts the instance
    body = app_request(env, 'pid')
    check('the FastCGI socket serves the app', body.startswith(b'pid='), body)
    st = _quiet(lambda: status(env))
    check('the socket named status answers /status', st and st['instance'] == 'wiki' and
          len(st['workers']) == 2, tail(env.log))
    # were it also a listening socket of the workers, some of these would be
    # the app's answers (its "pid=" page), not the supervisor's JSON
    answers = [_quiet(lambda: 'workers' in status(env)) for _ in range(40)]
    check('... every time: it is no FastCGI socket of the app', all(answers), answers)
    sup = st['pid']
    os.kill(sup, signal.SIGHUP)
    check('after a reload the status socket answers generation 2', wait_for(lambda: _quiet(
        lambda: status(env)['generation'] == 2 and status(env)['state'] == 'serving'), 20, 0.1),
        tail(env.log))
    check('... and the app still serves', app_request(env, 'pid').startswith(b'pid='))
    os.kill(sup, signal.SIGTERM)
    env.proc.wait(20)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--app', required=True)
    ap.add_argument('--nginx', default='nginx')
    ap.add_argument('--workdir', required=True)
    ap.add_argument('scenario', choices=['promtool', 'prometheus', 'json', 'flood', 'activate'])
    a = ap.parse_args()
    if os.geteuid() != 0 and a.scenario == 'prometheus':
        skip('needs root (nginx)')
    env = Env(a)
    try:
        globals()['scenario_' + a.scenario](env)
    except Exception as e:  # a crash of the test is a failure, with the log
        check(f'{a.scenario} ran without an exception', False, f'{e!r}\n{tail(env.log)}')
    finally:
        env.stop()
    if os.path.exists(env.log):
        bad = [l for l in env.text().splitlines() if re.search(
            r'AddressSanitizer|LeakSanitizer|runtime error:', l)]
        check('no sanitizer report in the instance\'s log', not bad, bad[:3])
    return finish()


if __name__ == '__main__':
    sys.exit(main())
