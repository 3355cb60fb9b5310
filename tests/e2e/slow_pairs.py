#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Pairs of slow requests never wait behind a busy worker while another is
idle (issue 10, item 5).

An instance with 2 workers (`sfcgi run --config`) behind a real nginx (the
Debian binary, a config generated in --workdir, 127.0.0.1 on a free port):

  cgi      sfcgi-cgi running a shell script that sleeps --handler-ms
  native   tests/integration/testapp's ?sleep=MS handler

Then --pairs times: two HTTP requests fired at the same moment (two
threads behind a barrier), both waited for. Each handler answers when it
ran ("slept=START-END", wall-clock microseconds). A pair was serialised
when its two handlers did not overlap in time: one request waited for the
other's worker while the second worker was idle (the pair then takes two
handler times instead of one; its duration is shown too, but it is not the
criterion: a loaded machine stretches both requests alike). The test fails
if any pair was serialised or any request failed. --keepalive puts an nginx
upstream keepalive pool (fastcgi_keep_conn on) in front, as
contrib/nginx/sfcgi.conf does; --shuffle N sends N requests at once before
each pair, so that nginx keeps N connections, more than the workers, and
the two it reuses next (the last ones freed) are often on one worker. Exit status 0 pass, 1 fail, 77 skip.
"""
import argparse
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time


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
        time.sleep(0.02)
    return pred()


def connects(path):
    try:
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(path)
        return True
    except OSError:
        return False


class Setup:
    def __init__(self, a):
        self.a = a
        self.dir = os.path.abspath(a.workdir)
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(os.path.join(self.dir, 'tmp'))
        os.chmod(self.dir, 0o755)
        self.sockdir = self.dir if len(self.dir) < 80 else tempfile.mkdtemp(prefix='sfcgi-pairs-')
        self.sock = os.path.join(self.sockdir, 'app.sock')
        self.app = self.nginx = None

    def start_app(self):
        a = self.a
        cfg = {'listen': self.sock, 'workers': 2}
        if a.mode == 'cgi':
            cgi = os.path.join(self.dir, 'cgi-bin')
            os.makedirs(cgi)
            with open(os.path.join(cgi, 'slow.sh'), 'w') as f:
                f.write('#!/bin/sh\nt0=$(date +%%s%%6N)\nsleep %.3f\n'
                        'printf \'Content-Type: text/plain\\r\\n\\r\\nslept=%%s-%%s\\n\' '
                        '"$t0" "$(date +%%s%%6N)"\n' % (a.handler_ms / 1000))
            os.chmod(os.path.join(cgi, 'slow.sh'), 0o755)
            cfg.update(program=a.app, args=['--root', cgi],
                       sandbox={'allow': ['process', 'interpreter', 'file-read']})
            self.path = '/cgi-bin/slow.sh'
        else:
            cfg.update(program=a.app)
            self.path = f'/slow?sleep={a.handler_ms}'
        conf = os.path.join(self.dir, 'app.json')
        with open(conf, 'w') as f:
            json.dump(cfg, f, indent=2)
        self.app_log = os.path.join(self.dir, 'app.log')
        with open(self.app_log, 'w') as out:
            self.app = subprocess.Popen([a.sfcgi, 'run', '--config', conf], stdout=out,
                                        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                        env=dict(os.environ, SFCGI_LOG_LEVEL='debug'),
                                        preexec_fn=lambda: os.umask(0), start_new_session=True)
        if not wait_for(lambda: connects(self.sock) or self.app.poll() is not None):
            raise RuntimeError('the instance does not listen:\n' + tail(self.app_log))
        if self.app.poll() is not None:
            raise RuntimeError(f'sfcgi run exited {self.app.returncode}:\n' + tail(self.app_log))
        # both workers serving (a pair sent while one still starts proves nothing)
        if not wait_for(lambda: '2 worker(s) serving' in tail(self.app_log, 1000)):
            raise RuntimeError('the workers did not start:\n' + tail(self.app_log))

    def nginx_conf(self, port):
        d = self.dir
        temps = '\n'.join(f'    {m}_temp_path {d}/tmp/{m};'
                          for m in ('client_body', 'fastcgi', 'proxy', 'scgi', 'uwsgi'))
        if self.a.keepalive:
            up = f'    upstream app {{ server unix:{self.sock}; keepalive 8; }}\n'
            pas = 'fastcgi_pass app;\n            fastcgi_keep_conn on;'
        else:
            up, pas = '', f'fastcgi_pass unix:{self.sock};'
        return f"""# Generated by tests/e2e/slow_pairs.py
user root root;
daemon off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log info;
events {{ worker_connections 1024; }}
http {{
    access_log off;
{temps}
{up}    server {{
        listen 127.0.0.1:{port};
        root {d};
        location / {{
            include /etc/nginx/fastcgi_params;
            fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;
            fastcgi_read_timeout 60s;
            {pas}
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
        status = None
        if self.app and self.app.poll() is None:
            os.killpg(self.app.pid, signal.SIGTERM)
            try:
                status = self.app.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.app.pid, signal.SIGKILL)
                self.app.wait()
                status = 'hung'
        if self.sockdir != self.dir:
            shutil.rmtree(self.sockdir, ignore_errors=True)
        return status

    def get(self, timeout=30):
        """(status, body, seconds) of one GET through nginx, or (error, b'', seconds)."""
        t0 = time.monotonic()
        try:
            c = http.client.HTTPConnection('127.0.0.1', self.port, timeout=timeout)
            c.request('GET', self.path)
            r = c.getresponse()
            body = r.read()
            c.close()
            return r.status, body, time.monotonic() - t0
        except Exception as e:  # counted as a failed request
            return repr(e), b'', time.monotonic() - t0


def burst(s, n=2):
    """n GETs released together; [(status, body, seconds)] * n."""
    res = [None] * n
    go = threading.Barrier(n)

    def one(i):
        go.wait()
        res[i] = s.get()
    ts = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--mode', choices=('cgi', 'native'), required=True)
    ap.add_argument('--sfcgi', required=True, help='the sfcgi tool (sfcgi run --config)')
    ap.add_argument('--app', required=True, help='sfcgi-cgi (cgi) or testapp (native)')
    ap.add_argument('--nginx', default=shutil.which('nginx') or '/usr/sbin/nginx')
    ap.add_argument('--workdir', required=True)
    ap.add_argument('--pairs', type=int, default=30)
    ap.add_argument('--handler-ms', type=int, default=2000)
    ap.add_argument('--keepalive', action='store_true')
    ap.add_argument('--shuffle', type=int, default=0,
                    help='before each pair, this many requests at once (not checked for overlap)')
    a = ap.parse_args()
    a.app, a.sfcgi = os.path.abspath(a.app), os.path.abspath(a.sfcgi)
    if not os.access(a.nginx, os.X_OK):
        log(f'SKIP: no nginx at {a.nginx}: bash scripts/install-deps.sh')
        return 77
    signal.signal(signal.SIGTERM, lambda *_: sys.exit('killed by SIGTERM (timeout)'))
    s = Setup(a)
    handler = a.handler_ms / 1000
    serial, failed, worst = [], [], 0.0
    try:
        s.start_app()
        s.start_nginx()
        log(f'# {a.mode}{" keepalive" if a.keepalive else ""}: 2 workers, handler '
            f'{handler:g} s, {a.pairs} pairs through nginx on port {s.port}')
        for i in range(a.pairs):
            for st, body, _ in burst(s, a.shuffle) if a.shuffle else ():
                if st != 200:
                    failed.append(f'shuffle {i}: {st} {body[:100]!r}')
            t0 = time.monotonic()
            res = burst(s)
            took = time.monotonic() - t0
            worst = max(worst, took)
            ran = []
            for st, body, _ in res:
                m = re.search(rb'slept=(\d+)-(\d+)', body)
                if st != 200 or not m:
                    failed.append(f'pair {i}: {st} {body[:100]!r}')
                else:
                    ran.append((int(m.group(1)) / 1e6, int(m.group(2)) / 1e6))
            if len(ran) == 2 and (ran[0][1] <= ran[1][0] or ran[1][1] <= ran[0][0]):
                gap = max(ran[0][0], ran[1][0]) - min(ran[0][0], ran[1][0])
                serial.append(f'pair {i}: the second handler started {gap:.2f} s after the '
                              f'first, after it ended; the pair took {took:.2f} s')
    except RuntimeError as e:
        failed.append(f'harness: {e}')
    finally:
        status = s.stop()
    log(f'# {len(serial)} of {a.pairs} pairs serialised (their handlers did not overlap), '
        f'slowest pair {worst:.2f} s, {len(failed)} failed request(s)')
    for line in (serial + failed)[:10]:
        log(f'#   {line}')
    ok = not serial and not failed and status == 0
    if status != 0:
        log(f'# the instance did not exit 0 on SIGTERM: {status}\n' + tail(s.app_log))
    if failed:
        log('# instance log:\n' + tail(s.app_log))
    log(('PASS' if ok else 'FAIL') + f': {a.mode}: no pair of slow requests serialised')
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
