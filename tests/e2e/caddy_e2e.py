#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""End-to-end: curl -> Caddy 2.6 (Debian's) -> FastCGI -> examples/echo.

Caddy runs contrib/caddy/Caddyfile, pointed at this test's socket and a free
127.0.0.1 port (admin off, no automatic HTTPS), in front of the echo example
on a unix socket. An upload of unknown length (curl's chunked
Transfer-Encoding) reaches the app as CONTENT_LENGTH=-1 and must come back
byte-exact, as must a plain upload with a Content-Length. Exit status: 0
pass, 1 fail, 77 skip (no caddy or curl).

  caddy_e2e.py --app build/examples/echo --workdir DIR [--size BYTES]
"""
import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nginx_e2e import Failure, free_port, log, need, tail  # noqa: E402

CONTRIB = os.path.join(os.path.dirname(os.path.abspath(__file__)), '../../contrib/caddy/Caddyfile')


def wait_connect(family, addr, proc, what, logfile):
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise Failure(f'{what} exited with {proc.returncode}:\n' + tail(logfile))
        try:
            with socket.socket(family, socket.SOCK_STREAM) as s:
                s.connect(addr)
            return
        except OSError:
            time.sleep(0.05)
    raise Failure(f'{what} did not listen on {addr} within 20 s:\n' + tail(logfile))


def caddyfile(contrib, sock, port):
    """The contrib file with this test's socket and port, nothing else changed."""
    with open(contrib) as f:
        text = f.read()
    for old, new in (('unix//run/sfcgi/wiki.sock', f'unix/{sock}'),
                     ('http://:80', f'http://127.0.0.1:{port}')):
        if old not in text:
            raise Failure(f'{contrib} no longer holds "{old}": update the test')
        text = text.replace(old, new)
    return text


def upload(port, path, body_file, chunked, out):
    hdr = ['-H', 'Transfer-Encoding: chunked'] if chunked else []
    r = subprocess.run(['curl', '-sS', '--max-time', '120', '-o', out, '-w', '%{http_code}',
                        '-H', 'Content-Type: application/octet-stream', *hdr,
                        '--data-binary', f'@{body_file}', f'http://127.0.0.1:{port}{path}'],
                       capture_output=True, text=True, stdin=subprocess.DEVNULL)
    need(r.returncode == 0, f'curl: exit {r.returncode}: {r.stderr.strip()}')
    with open(out, 'rb') as f:
        return int(r.stdout.strip() or 0), f.read()


def check_echo(what, status, reply, sent, want_length):
    need(status == 200, f'{what}: status {status} (502: sfcgi refused the request), '
         f'{reply[:300]!r}')
    head, sep, body = reply.partition(b'\nbody:\n')
    need(sep, f'{what}: no body marker in the reply: {reply[:300]!r}')
    params = dict(l[6:].split('=', 1) for l in head.decode(errors='replace').splitlines()
                  if l.startswith('param ') and '=' in l)
    need(params.get('CONTENT_LENGTH') == want_length,
         f'{what}: CONTENT_LENGTH={params.get("CONTENT_LENGTH")!r}, expected {want_length!r}')
    need(len(body) == len(sent) and body == sent,
         f'{what}: {len(body)} bytes came back for {len(sent)} sent, or they differ')


def run(a, d):
    sockdir = tempfile.mkdtemp(prefix='sfcgi-caddy-')  # sun_path holds 108 bytes
    sock = os.path.join(sockdir, 'echo.sock')
    app = caddy = None
    try:
        app_log = os.path.join(d, 'app.log')
        with open(app_log, 'wb') as lf:
            app = subprocess.Popen([a.app, '--listen', sock], stdin=subprocess.DEVNULL,
                                   stdout=lf, stderr=lf)
        wait_connect(socket.AF_UNIX, sock, app, 'echo', app_log)
        caddy_log = os.path.join(d, 'caddy.log')
        for attempt in range(5):
            port = free_port()
            conf = os.path.join(d, 'Caddyfile')
            with open(conf, 'w') as f:
                f.write(caddyfile(a.contrib, sock, port))
            env = dict(os.environ, HOME=d, XDG_CONFIG_HOME=os.path.join(d, 'config'),
                       XDG_DATA_HOME=os.path.join(d, 'data'))
            with open(caddy_log, 'wb') as lf:
                caddy = subprocess.Popen([a.caddy, 'run', '--config', conf, '--adapter',
                                          'caddyfile'], cwd=d, env=env,
                                         stdin=subprocess.DEVNULL, stdout=lf, stderr=lf)
            try:
                wait_connect(socket.AF_INET, ('127.0.0.1', port), caddy, 'caddy', caddy_log)
                break
            except Failure:
                if caddy.poll() is None or 'address already in use' not in tail(caddy_log):
                    raise
                log(f'port {port} was taken meanwhile; trying another')
        log(f'caddy {a.caddy} on 127.0.0.1:{port}, echo on unix:{sock}, files in {d}')

        body = os.path.join(d, 'upload.bin')
        sent = os.urandom(a.size)
        with open(body, 'wb') as f:
            f.write(sent)
        out = os.path.join(d, 'reply.bin')
        status, reply = upload(port, '/upload', body, True, out)
        check_echo('chunked upload', status, reply, sent, '-1')
        log(f'ok: a chunked upload of {a.size} random bytes (CONTENT_LENGTH=-1) came back '
            'byte-exact')
        status, reply = upload(port, '/upload', body, False, out)
        check_echo('plain upload', status, reply, sent, str(a.size))
        log(f'ok: a plain upload of {a.size} bytes (CONTENT_LENGTH={a.size}) came back byte-exact')
        need(app.poll() is None, f'echo died:\n' + tail(app_log))
        need(' 413' not in tail(app_log, 500) and 'answered 4' not in tail(app_log, 500),
             'the app refused a request:\n' + tail(app_log))
    finally:
        for p in (caddy, app):
            if p and p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(20)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        shutil.rmtree(sockdir, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--app', required=True, help='examples/echo')
    ap.add_argument('--workdir', required=True, help='created afresh: Caddyfile, logs')
    ap.add_argument('--caddy', default=shutil.which('caddy') or '/usr/bin/caddy')
    ap.add_argument('--contrib', default=CONTRIB)
    ap.add_argument('--size', type=int, default=6 * 1024 * 1024 + 12345)
    a = ap.parse_args()
    if not os.access(a.caddy, os.X_OK) or not shutil.which('curl'):
        log(f'SKIP: needs caddy ({a.caddy}) and curl: bash scripts/install-deps.sh')
        return 77
    signal.signal(signal.SIGTERM, lambda *_: sys.exit('killed by SIGTERM'))
    d = os.path.abspath(a.workdir)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    try:
        run(a, d)
    except Failure as e:
        log(f'FAIL: {e}')
        log('--- app log:\n' + tail(os.path.join(d, 'app.log')))
        log('--- caddy log:\n' + tail(os.path.join(d, 'caddy.log')))
        return 1
    log('PASS: caddy')
    return 0


if __name__ == '__main__':
    sys.exit(main())
