#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""End-to-end tests: curl -> a real nginx -> FastCGI -> an sfcgi example app.

Each run starts its own app on a unix socket and its own nginx (the Debian
binary, a config generated into --workdir, 127.0.0.1 on a free port), runs
one scenario with curl, then checks that nginx's error log holds no upstream
errors, that the app is still alive, and that it exits 0 on SIGTERM. Both
processes are stopped whatever happens. Exit status: 0 pass, 1 fail,
77 skip (no nginx or curl), 99 harness error.

  nginx_e2e.py --app build/examples/echo --workdir DIR SCENARIO
"""
import argparse
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

KEEPALIVE = 8            # upstream keepalive pool (idle connections per nginx worker)
SEQUENTIAL = 20          # requests in the keepalive scenario
CONCURRENT = 200         # requests in the concurrency scenario
BODY_SIZE = 10 * 1024 * 1024
RESPONSE_SIZE = 5 * 1024 * 1024


class Failure(Exception):
    pass


def log(msg):
    print(msg, flush=True)


def filler(n):
    """What examples/echo.c sends for ?size=n: a 64 KiB a..z chunk, repeated."""
    chunk = bytes(ord('a') + i % 26 for i in range(65536))
    return chunk * (n // len(chunk)) + chunk[: n % len(chunk)]


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def tail(path, lines=40):
    try:
        with open(path, 'r', errors='replace') as f:
            return ''.join(f.readlines()[-lines:])
    except OSError as e:
        return f'({path}: {e})'


def descendants(pid):
    """pid and all its descendants (a supervisor may fork workers)."""
    children = {}
    for d in os.listdir('/proc'):
        if not d.isdigit():
            continue
        try:
            with open(f'/proc/{d}/stat') as f:
                ppid = int(f.read().rsplit(')', 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(d))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def socket_inodes(pid):
    """Inodes of every socket the process tree rooted at pid holds."""
    inodes = set()
    for p in descendants(pid):
        try:
            fds = os.listdir(f'/proc/{p}/fd')
        except OSError:
            continue
        for fd in fds:
            try:
                link = os.readlink(f'/proc/{p}/fd/{fd}')
            except OSError:
                continue
            m = re.fullmatch(r'socket:\[(\d+)\]', link)
            if m:
                inodes.add(int(m.group(1)))
    return inodes


class Env:
    def __init__(self, args):
        self.args = args
        self.dir = os.path.abspath(args.workdir)
        self.app = None
        self.nginx = None
        self.nginx_workers = []
        self.port = None
        self.sockdir = None
        self.listener_inodes = set()
        self.command = None      # set by a scenario's setup: run this instead of --app
        self.nginx_user = None   # set by a scenario's setup: nginx's "user" directive

    # -- setup ----------------------------------------------------------
    def prepare(self):
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(os.path.join(self.dir, 'tmp'))
        self.sock = os.path.join(self.dir, 'app.sock')
        if len(self.sock.encode()) > 100:  # sun_path holds 108 bytes
            self.sockdir = tempfile.mkdtemp(prefix='sfcgi-e2e-')
            self.sock = os.path.join(self.sockdir, 'app.sock')

    def start_app(self):
        self.app_log = os.path.join(self.dir, 'app.log')
        with open(self.app_log, 'wb') as logf:
            cmd = self.command or [self.args.app, '--listen', self.sock, *self.args.app_arg]
            self.app = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=logf, stderr=logf)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.app.poll() is not None:
                raise Failure(f'app exited with {self.app.returncode} at start:\n'
                              + tail(self.app_log))
            try:
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                    s.connect(self.sock)
                break
            except OSError:
                time.sleep(0.05)
        else:
            raise Failure(f'app did not listen on {self.sock} within 20 s:\n' + tail(self.app_log))
        # Only the listening socket is open now: every later socket is a connection.
        self.listener_inodes = socket_inodes(self.app.pid)

    def nginx_conf(self):
        d = self.dir
        temp = ['client_body', 'fastcgi', 'proxy']
        v = subprocess.run([self.args.nginx, '-V'], capture_output=True, text=True).stderr
        temp += [m for m in ('scgi', 'uwsgi') if f'--http-{m}-temp-path' in v]
        temps = '\n'.join(f'    {m}_temp_path {d}/tmp/{m};' for m in temp)
        # The build tree may sit under a 0700 home directory that nginx's
        # usual unprivileged worker user could not enter.
        user = 'user root root;\n' if os.geteuid() == 0 else ''
        if self.nginx_user:
            user = f'user {self.nginx_user};\n'
        if self.args.scenario == 'contrib':
            site = self.contrib_site()
        else:
            site = f"""    client_max_body_size 64m;
    upstream sfcgi_app {{
        server unix:{self.sock};
        keepalive {KEEPALIVE};
    }}
    server {{
        listen 127.0.0.1:{self.port};
        location / {{
            include /etc/nginx/fastcgi_params;  # sets SCRIPT_NAME too
            fastcgi_pass sfcgi_app;
            fastcgi_keep_conn on;
        }}
    }}
"""
        return f"""# Generated by tests/e2e/nginx_e2e.py; not the system nginx config.
{user}daemon off;
master_process on;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log info;
events {{ worker_connections 1024; }}
http {{
    access_log {d}/access.log;
{temps}
{site}}}
"""

    def contrib_site(self):
        """contrib/nginx/sfcgi.conf, pointed at this test's socket and port."""
        with open(self.args.contrib) as f:
            text = f.read()
        # Relative includes resolve against the generated config's directory.
        shutil.copy('/etc/nginx/fastcgi_params', os.path.join(self.dir, 'fastcgi_params'))
        for old, new in (('unix:/run/sfcgi/wiki.sock', f'unix:{self.sock}'),
                         ('listen 80;', f'listen 127.0.0.1:{self.port};')):
            if old not in text:
                raise Failure(f'{self.args.contrib} no longer holds "{old}": update the test')
            text = text.replace(old, new)
        return text

    def start_nginx(self):
        for attempt in range(5):
            self.port = free_port()
            conf = os.path.join(self.dir, 'nginx.conf')
            with open(conf, 'w') as f:
                f.write(self.nginx_conf())
            self.error_log = os.path.join(self.dir, 'error.log')
            with open(os.path.join(self.dir, 'nginx.out'), 'wb') as out:
                self.nginx = subprocess.Popen(
                    [self.args.nginx, '-p', self.dir, '-c', conf, '-e', self.error_log],
                    stdin=subprocess.DEVNULL, stdout=out, stderr=out)
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                if self.nginx.poll() is not None:
                    break
                try:
                    socket.create_connection(('127.0.0.1', self.port), timeout=1).close()
                    self.nginx_workers = [p for p in descendants(self.nginx.pid)
                                          if p != self.nginx.pid]
                    return
                except OSError:
                    time.sleep(0.05)
            if self.nginx.poll() is None:
                raise Failure('nginx did not listen within 20 s:\n' + tail(self.error_log))
            if 'Address already in use' not in tail(self.error_log):
                raise Failure(f'nginx exited with {self.nginx.returncode}:\n'
                              + tail(self.error_log) + tail(os.path.join(self.dir, 'nginx.out')))
            log(f'port {self.port} was taken meanwhile; trying another')
        raise Failure('nginx could not bind a free port')

    # -- helpers --------------------------------------------------------
    def url(self, path):
        return f'http://127.0.0.1:{self.port}{path}'

    def curl(self, path, *extra, out=None):
        """One request; returns (status, headers text, body bytes)."""
        out = out or os.path.join(self.dir, 'curl.body')
        hdr = os.path.join(self.dir, 'curl.headers')
        r = subprocess.run(['curl', '-sS', '--max-time', '60', '-o', out, '-D', hdr,
                            '-w', '%{http_code}', *extra, self.url(path)],
                           capture_output=True, text=True, stdin=subprocess.DEVNULL)
        if r.returncode != 0:
            raise Failure(f'curl {path}: exit {r.returncode}: {r.stderr.strip()}')
        with open(out, 'rb') as f:
            body = f.read()
        with open(hdr, 'r', errors='replace') as f:
            headers = f.read()
        return int(r.stdout.strip() or 0), headers, body

    def conn_inodes(self):
        return socket_inodes(self.app.pid) - self.listener_inodes

    # -- teardown -------------------------------------------------------
    def stop(self):
        """Stops nginx and the app; returns the app's exit status (or None)."""
        status = None
        if self.nginx and self.nginx.poll() is None:
            self.nginx.terminate()
            try:
                self.nginx.wait(10)
            except subprocess.TimeoutExpired:
                self.nginx.kill()
                self.nginx.wait()
        for pid in self.nginx_workers:  # normally gone with their master
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self.app and self.app.poll() is None:
            self.app.terminate()
            try:
                status = self.app.wait(20)
            except subprocess.TimeoutExpired:
                self.app.kill()
                self.app.wait()
                status = 'hung'
        elif self.app:
            status = f'already dead ({self.app.returncode})'
        return status

    def cleanup(self):
        if self.sockdir:
            shutil.rmtree(self.sockdir, ignore_errors=True)


# -- scenarios ------------------------------------------------------------
def need(cond, msg):
    if not cond:
        raise Failure(msg)


def params_of(body):
    """Parses echo's 'param NAME=VALUE' lines."""
    head = body.split(b'\nbody:\n', 1)[0].decode(errors='replace')
    return dict(l[6:].split('=', 1) for l in head.splitlines() if l.startswith('param ') and '=' in l)


def scenario_params(env):
    status, headers, body = env.curl('/app/page?name=value&x=%41b', '-H', 'X-Sfcgi-Test: yes')
    need(status == 200, f'GET: status {status}, body {body[:300]!r}')
    need(re.search(r'(?im)^content-type: text/plain', headers),
         f'GET: no Content-Type: text/plain in headers:\n{headers}')
    need(body.startswith(b'role=1\n'), f'GET: body does not start with role=1: {body[:200]!r}')
    p = params_of(body)
    want = {'QUERY_STRING': 'name=value&x=%41b', 'REQUEST_METHOD': 'GET',
            'SCRIPT_NAME': '/app/page', 'REQUEST_URI': '/app/page?name=value&x=%41b',
            'SERVER_PORT': str(env.port), 'HTTP_X_SFCGI_TEST': 'yes',
            'SERVER_PROTOCOL': 'HTTP/1.1'}
    for k, v in want.items():
        need(p.get(k) == v, f'GET: param {k}={p.get(k)!r}, expected {v!r}\nparams: {p}')
    need(body.endswith(b'\nbody:\n'), f'GET: expected an empty body section: {body[-100:]!r}')
    status, _, body = env.curl('/?status=404')
    need(status == 404, f'GET ?status=404: status {status}')
    log(f'ok: GET with query string: {len(p)} params arrived, status hook works')


def scenario_post(env):
    src = os.path.join(env.dir, 'post.bin')
    size = env.args.body_size
    data = os.urandom(size)
    with open(src, 'wb') as f:
        f.write(data)
    t = time.monotonic()
    status, _, body = env.curl('/upload', '--data-binary', f'@{src}',
                               '-H', 'Content-Type: application/octet-stream')
    need(status == 200, f'POST: status {status}')
    head, sep, echoed = body.partition(b'\nbody:\n')
    need(sep, 'POST: no body: marker in the response')
    p = params_of(body)
    need(p.get('REQUEST_METHOD') == 'POST', f'POST: REQUEST_METHOD={p.get("REQUEST_METHOD")!r}')
    need(p.get('CONTENT_LENGTH') == str(size),
         f'POST: CONTENT_LENGTH={p.get("CONTENT_LENGTH")!r}, expected {size}')
    want, got = hashlib.sha256(data).hexdigest(), hashlib.sha256(echoed).hexdigest()
    need(len(echoed) == size and got == want,
         f'POST: echoed {len(echoed)} bytes sha256 {got}, sent {size} sha256 {want}')
    log(f'ok: POST {size} bytes echoed byte-exact (sha256 {want[:16]}...) '
        f'in {time.monotonic() - t:.2f} s')


def scenario_large(env):
    t = time.monotonic()
    status, headers, body = env.curl(f'/big?size={RESPONSE_SIZE}')
    need(status == 200, f'large: status {status}')
    need(re.search(r'(?im)^content-type: application/octet-stream', headers),
         f'large: wrong Content-Type:\n{headers}')
    need(len(body) == RESPONSE_SIZE, f'large: got {len(body)} bytes, expected {RESPONSE_SIZE}')
    want = filler(RESPONSE_SIZE)
    if body != want:
        at = next(i for i in range(len(body)) if body[i] != want[i])
        raise Failure(f'large: content differs from the filler at byte {at}')
    status, _, body = env.curl('/?size=0')
    need(status == 200 and body == b'', f'?size=0: status {status}, {len(body)} bytes')
    log(f'ok: {RESPONSE_SIZE}-byte response, byte count and content right, '
        f'in {time.monotonic() - t:.2f} s')


def scenario_keepalive(env):
    seen, empty = set(), 0
    for i in range(SEQUENTIAL):
        status, _, body = env.curl(f'/ka?i={i}')
        need(status == 200 and params_of(body).get('QUERY_STRING') == f'i={i}',
             f'keepalive: request {i}: status {status}, {body[:200]!r}')
        now = env.conn_inodes()
        if not now:
            empty += 1
        seen |= now
    log(f'keepalive: {SEQUENTIAL} sequential requests used {len(seen)} app connection(s); '
        f'{empty} time(s) no connection stayed open')
    need(empty == 0, f'keepalive: after {empty} of {SEQUENTIAL} responses the app held no '
         'connection: connections are not kept between requests')
    need(len(seen) <= KEEPALIVE and len(seen) < SEQUENTIAL,
         f'keepalive: {len(seen)} distinct app connections for {SEQUENTIAL} requests '
         f'(pool of {KEEPALIVE}): connections are not reused')
    log(f'ok: keepalive: {SEQUENTIAL} requests over {len(seen)} reused connection(s)')


def scenario_concurrent(env):
    outdir = os.path.join(env.dir, 'parallel')
    os.makedirs(outdir)
    cfg = os.path.join(env.dir, 'parallel.curlrc')
    expect = {}
    with open(cfg, 'w') as f:
        for i in range(CONCURRENT):
            # Half echo their parameters, half send filler of varying size.
            path = f'/par/{i}?id={i}' if i % 2 == 0 else f'/par/{i}?id={i}&size={i * 997}'
            expect[i] = path
            f.write(f'url = "{env.url(path)}"\noutput = "{outdir}/{i}"\n')
    t = time.monotonic()
    # curl 7.88 shows the --parallel progress meter despite -s.
    r = subprocess.run(['curl', '-sS', '--no-progress-meter', '--max-time', '120', '--parallel', '--parallel-immediate',
                        '--parallel-max', str(CONCURRENT), '-K', cfg,
                        '-w', '%{http_code} %{num_connects} %{url_effective}\\n'],
                       capture_output=True, text=True, stdin=subprocess.DEVNULL)
    took = time.monotonic() - t
    codes, connects = {}, 0
    for line in r.stdout.splitlines():
        code, nc, url = (line.split(' ', 2) + ['', ''])[:3]
        connects += int(nc) if nc.isdigit() else 0
        m = re.search(r'[?&]id=(\d+)', url)
        if m:
            codes[int(m.group(1))] = code
    bad = []
    for i, path in expect.items():
        if codes.get(i) != '200':
            bad.append(f'{path}: status {codes.get(i)}')
            continue
        try:
            with open(f'{outdir}/{i}', 'rb') as f:
                body = f.read()
        except OSError as e:
            bad.append(f'{path}: {e}')
            continue
        if i % 2 == 0:
            if params_of(body).get('QUERY_STRING') != f'id={i}':
                bad.append(f'{path}: wrong echo {body[:120]!r}')
        elif body != filler(i * 997):
            bad.append(f'{path}: {len(body)} bytes, expected {i * 997} of filler')
    need(r.returncode == 0 and not bad,
         f'concurrent: curl exit {r.returncode} {r.stderr.strip()[:500]}; '
         f'{len(bad)} of {CONCURRENT} wrong:\n  ' + '\n  '.join(bad[:20]))
    log(f'ok: {CONCURRENT} concurrent requests over {connects} client connections '
        f'all correct in {took:.2f} s')


def scenario_contrib(env):
    status, _, body = env.curl('/wiki/page?x=1')
    need(status == 200 and params_of(body).get('QUERY_STRING') == 'x=1',
         f'contrib: status {status}, {body[:200]!r}')
    seen = set()
    for i in range(5):
        env.curl(f'/?i={i}')
        seen |= env.conn_inodes()
    need(1 <= len(seen) < 5, f'contrib: 5 requests used {len(seen)} kept app connections')
    log(f'ok: contrib/nginx/sfcgi.conf serves requests and keeps connections ({len(seen)})')


def scenario_hello(env):
    status, headers, body = env.curl('/')
    need(status == 200 and body == b'Hello from sfcgi!\n', f'hello: status {status}, {body!r}')
    need(re.search(r'(?im)^content-type: text/plain', headers), f'hello: headers:\n{headers}')
    log('ok: hello answers through nginx')


SCENARIOS = {
    'params': scenario_params,
    'post': scenario_post,
    'response': scenario_large,
    'keepalive': scenario_keepalive,
    'concurrent': scenario_concurrent,
    'hello': scenario_hello,
    'contrib': scenario_contrib,
}

# -- the wiki (examples/wiki.c) ---------------------------------------------
def setup_wiki(env):
    """The wiki as an instance: `sfcgi run --config` with the shipped
    examples/wiki/wiki.json, its paths moved into the work directory (data,
    templates; outside/ is a directory the sandbox must keep it out of). No
    "user" is added, as in the shipped file: run as root, the workers show
    that Landlock holds even for uid 0 without capabilities."""
    a = env.args
    need(a.sfcgi and a.wiki_config and a.wiki_templates,
         'the wiki scenarios need --sfcgi, --wiki-config and --wiki-templates')
    with open(a.wiki_config) as f:
        cfg = json.load(f)
    sb = cfg.get('sandbox')
    need(isinstance(sb, dict) and len(sb.get('read_only', [])) == 1 and
         len(sb.get('read_write', [])) == 1 and 'user' not in sb,
         f'{a.wiki_config}: expected a sandbox with one read_only and one read_write path: {sb}')
    env.wiki_data = os.path.join(env.dir, 'data')
    env.wiki_outside = os.path.join(env.dir, 'outside')
    tmpl = os.path.join(env.dir, 'templates')
    os.makedirs(env.wiki_data)
    os.makedirs(env.wiki_outside)
    shutil.copytree(a.wiki_templates, tmpl)
    sb['read_only'], sb['read_write'] = [tmpl], [env.wiki_data]
    cfg.update(program=os.path.abspath(a.app), listen=env.sock,
               args=['--data', env.wiki_data, '--templates', tmpl])
    conf = os.path.join(env.dir, 'wiki.json')
    with open(conf, 'w') as f:
        json.dump(cfg, f, indent=2)
    env.command = [a.sfcgi, 'run', '--config', conf]
    env.wiki_workers = cfg.get('workers', 1)


def wiki_sandbox_holds(env):
    """Every worker is locked down (seen from outside), none was killed."""
    workers = [p for p in descendants(env.app.pid) if p != env.app.pid]
    need(len(workers) == env.wiki_workers,
         f'wiki: {len(workers)} workers, expected {env.wiki_workers}')
    for w in workers:
        with open(f'/proc/{w}/status') as f:
            st = dict(l.split(':', 1) for l in f.read().splitlines() if ':' in l)
        got = {k: st.get(k, '').strip() for k in ('Seccomp', 'NoNewPrivs', 'CapEff')}
        need(got == {'Seccomp': '2', 'NoNewPrivs': '1', 'CapEff': '0000000000000000'},
             f'wiki: worker {w} is not locked down: {got}')
    need('killed by the sandbox' not in tail(env.app_log, 1000),
         'wiki: a worker was killed by the sandbox:\n' + tail(env.app_log))
    log(f'ok: {len(workers)} workers: Seccomp 2, NoNewPrivs 1, no capabilities; no violation')


def scenario_wiki(env):
    data = env.wiki_data
    html = r'(?im)^content-type: text/html; charset=utf-8'
    status, headers, body = env.curl('/FrontPage')
    need(status == 404 and re.search(html, headers) and b'<a href="FrontPage?edit">' in body,
         f'missing page: status {status}, headers:\n{headers}\n{body[:400]!r}')
    status, _, body = env.curl('/Sandbox?edit')
    need(status == 200 and b'<form method="post" action="Sandbox">' in body and
         b'<textarea name="text"' in body, f'edit form: status {status}, {body[:400]!r}')
    log('ok: a missing page is a 404 offering to create it; ?edit shows the form')

    text = ("Hello <script>alert('x')</script> & \"quotes\"\n[[FrontPage]] [[Sandbox]] "
            "[[bad name]]\n\nCaf\u00e9 \u2713 1+1=2 100%")
    status, headers, _ = env.curl('/Sandbox', '--data-urlencode', f'text={text}')
    need(status == 303 and re.search(r'(?im)^location: Sandbox\r?$', headers),
         f'save: status {status}, headers:\n{headers}')
    with open(os.path.join(data, 'Sandbox'), 'rb') as f:
        stored = f.read()
    need(stored == text.encode(), f'save: stored {stored!r}, sent {text.encode()!r}')
    status, headers, body = env.curl('/Sandbox')
    need(status == 200 and re.search(html, headers), f'read: status {status}\n{headers}')
    for want in (b'Hello &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;quotes&quot;',
                 b'<a href="FrontPage" class=new>FrontPage</a>', b'<a href="Sandbox">Sandbox</a>',
                 b'[[bad name]]', 'Caf\u00e9 \u2713 1+1=2 100%'.encode(), b'<h1>Sandbox</h1>'):
        need(want in body, f'read: {want!r} not in the page:\n{body.decode(errors="replace")}')
    need(b'<script>' not in body and body.count(b'<p>') == 2,
         f'read: unescaped script or wrong paragraphs:\n{body.decode(errors="replace")}')
    status, _, body = env.curl('/Sandbox?edit')
    need(status == 200 and b'\nHello &lt;script&gt;alert(&#39;x&#39;)' in body,
         f'edit form: the source is not there, escaped: {body[:600]!r}')
    log('ok: a page is created, stored byte-exact (UTF-8), shown with <script>, &, quotes escaped')

    status, _, _ = env.curl('/Sandbox', '-d', 'text=second+version%2B%0D%0Aline')
    with open(os.path.join(data, 'Sandbox'), 'rb') as f:
        stored = f.read()
    need(status == 303 and stored == b'second version+\nline', f'edit: {status}, {stored!r}')
    status, _, body = env.curl('/Sandbox')
    need(status == 200 and b'<p>second version+\nline</p>' in body and b'script' not in body,
         f'edit: the new version is not shown: {body[:600]!r}')
    log('ok: an edit replaces the page (+ and %XX decoded, CRLF stored as LF)')

    for path in ('/bad.name', '/a%20b', '/' + 'x' * 65, '/x%2Fy', '/%2e%2e%2fetc%2fpasswd',
                 '/.save-1-1'):
        status, _, body = env.curl(path)
        need(status in (400, 404) and b'root:' not in body, f'GET {path}: status {status}, {body[:200]!r}')
    status, _, body = env.curl('/bad.name', '-d', 'text=x')
    need(status == 400, f'POST /bad.name: status {status}')
    status, _, _ = env.curl('/Sandbox', '-H', 'Content-Type: text/plain', '--data-binary', 'text=x')
    need(status == 415, f'POST text/plain: status {status}, expected 415')
    status, _, _ = env.curl('/Sandbox', '-X', 'PUT', '--data-binary', 'text=x')
    need(status == 405, f'PUT: status {status}, expected 405')
    big = os.path.join(env.dir, 'big.form')
    with open(big, 'wb') as f:
        f.write(b'text=' + b'a' * (300 * 1024))
    status, _, _ = env.curl('/Big', '--data-binary', f'@{big}')
    need(status == 413, f'POST of 300 KiB: status {status}, expected 413')
    log('ok: bad names are 400 (or 404 from nginx); 415, 405 and 413 where due')

    for target in (os.path.join(data, 'probe'), os.path.join(env.wiki_outside, 'probe')):
        status, _, body = env.curl('/Probe?escape=' + target)
        need(status == 404 and not os.path.exists(target),
             f'the production wiki acted on ?escape= (status {status}): {body[:200]!r}')
    need(sorted(os.listdir(data)) == ['Sandbox'],
         f'data directory holds {sorted(os.listdir(data))}, expected only Sandbox')
    need(os.listdir(env.wiki_outside) == [], 'something was written outside the data directory')
    log('ok: the data directory holds the page and nothing else (no temp files); '
        'the production wiki has no ?escape= hook')
    wiki_sandbox_holds(env)


def scenario_wiki_escape(env):
    """wiki-test (the same wiki plus a test-only ?escape=PATH hook that
    creates PATH) under the shipped sandbox: Landlock refuses."""
    inside = os.path.join(env.wiki_data, 'probe')
    status, _, body = env.curl('/x?escape=' + inside)
    need(status == 200 and body == b'escape=OK\n' and os.path.exists(inside),
         f'the hook cannot write inside the data directory: {status} {body!r}')
    outside = [os.path.join(env.wiki_outside, 'escaped'), os.path.join(env.dir, 'escaped'),
               f'/tmp/sfcgi-wiki-escape-{os.getpid()}']
    for target in outside:
        status, _, body = env.curl('/x?escape=' + target)
        exists = os.path.exists(target)
        if exists:
            os.unlink(target)
        need(status == 200 and body == b'escape=EACCES\n' and not exists,
             f'escape to {target}: {status} {body!r}, created: {exists}')
    log(f'ok: writes inside the data directory work; {len(outside)} outside are refused '
        '(EACCES from Landlock, the worker running as uid ' + str(os.geteuid()) + ')')
    status, _, _ = env.curl('/Sandbox', '--data-urlencode', 'text=still <fine>')
    need(status == 303, f'save after the escapes: status {status}')
    status, _, body = env.curl('/Sandbox')
    need(status == 200 and b'still &lt;fine&gt;' in body, f'read after the escapes: {status}')
    wiki_sandbox_holds(env)


SETUP = {'wiki': setup_wiki, 'wiki-escape': setup_wiki}
SCENARIOS.update({'wiki': scenario_wiki, 'wiki-escape': scenario_wiki_escape})


# -- "listen": the socket an instance makes itself ---------------------------
# The config of sfcgi.json(5)'s "listen" example: the web server's group may
# connect. nginx runs as the Debian package runs it: master root, workers
# www-data, which a root:root 0755 socket would turn away (502).
LISTEN_CONFIG = {'workers': 2,
                 'listen': {'path': '/run/sfcgi/echo.sock', 'mode': '0660', 'group': 'www-data'}}


def setup_listen(env):
    a = env.args
    need(a.sfcgi, 'the listen scenario needs --sfcgi')
    if os.geteuid() != 0:
        log('SKIP: the listen scenario runs nginx as www-data and chgrps a socket: needs root')
        raise SystemExit(77)
    # A directory www-data can enter wherever the build tree is (a home may be 0700).
    env.cleanup()
    env.sockdir = tempfile.mkdtemp(prefix='sfcgi-listen-')
    os.chmod(env.sockdir, 0o755)
    env.sock = os.path.join(env.sockdir, 'echo.sock')
    cfg = json.loads(json.dumps(LISTEN_CONFIG))
    cfg['program'] = os.path.abspath(a.app)
    cfg['listen']['path'] = env.sock
    conf = os.path.join(env.dir, 'echo.json')
    with open(conf, 'w') as f:
        json.dump(cfg, f, indent=2)
    r = subprocess.run([a.sfcgi, 'check', conf], capture_output=True, text=True)
    need(r.returncode == 0 and '"mode": "0660", "group": "www-data"' in r.stdout,
         f'sfcgi check {conf}: {r.returncode}\n{r.stdout}{r.stderr}')
    env.command = [a.sfcgi, 'run', '--config', conf]
    env.nginx_user = 'www-data'


def socket_file(env):
    import grp
    st = os.lstat(env.sock)
    return oct(st.st_mode & 0o7777), grp.getgrgid(st.st_gid).gr_name, st.st_ino


def get_ok(env, what):
    status, _, body = env.curl('/listen?x=1')
    need(status == 200 and body.startswith(b'role=1\n'),
         f'{what}: status {status} through nginx running as www-data: {body[:200]!r}')


def wait_log(env, text, seconds=20):
    deadline = time.monotonic() + seconds
    while text not in tail(env.app_log, 200):
        need(time.monotonic() < deadline, f'no "{text}" in the app log:\n' + tail(env.app_log))
        time.sleep(0.05)


def scenario_listen(env):
    mode, group, ino = socket_file(env)
    need((mode, group) == ('0o660', 'www-data'), f'socket is {mode} group {group}')
    workers = [p for p in descendants(env.nginx.pid) if p != env.nginx.pid]
    with open(f'/proc/{workers[0]}/status') as f:
        uid = re.search(r'(?m)^Uid:\s+(\d+)', f.read()).group(1)
    need(uid == str(__import__('pwd').getpwnam('www-data').pw_uid),
         f'the nginx worker runs as uid {uid}, not www-data')
    get_ok(env, 'first start')
    log('ok: the socket is 0660 root:www-data; nginx\'s www-data worker gets 200')

    os.kill(env.app.pid, signal.SIGHUP)
    wait_log(env, 'reload complete')
    need(socket_file(env) == (mode, group, ino), f'after a reload the socket is {socket_file(env)}')
    get_ok(env, 'after a reload')
    log('ok: a reload keeps the socket file (same inode, mode, group)')

    # A crash (SIGKILL to the whole tree) leaves the file behind: the next
    # start must replace it, as nobody listens on it any more.
    # The supervisor stopped first, it forks no replacement while its workers die.
    os.kill(env.app.pid, signal.SIGSTOP)
    tree = descendants(env.app.pid)
    for pid in reversed(tree):
        os.kill(pid, signal.SIGKILL)
    env.app.wait()
    for _ in range(500):  # they write to app.log until they are gone
        if not any(os.path.exists(f'/proc/{p}') for p in tree):
            break
        time.sleep(0.01)
    need(os.path.exists(env.sock), 'SIGKILL removed the socket file?')
    env.start_app()
    need('removed a stale socket' in tail(env.app_log), 'no stale-socket line:\n' + tail(env.app_log))
    need(socket_file(env)[:2] == (mode, group), f'after the restart: {socket_file(env)}')
    get_ok(env, 'after a crash and a restart')
    log('ok: after SIGKILL the stale socket file is replaced at the next start')
    # Reloaded once more, so that the stop below is that of a re-executed
    # supervisor, which must still know the file is its own to remove.
    os.kill(env.app.pid, signal.SIGHUP)
    wait_log(env, 'reload complete')
    get_ok(env, 'after the second reload')


def after_listen(env):
    need(not os.path.exists(env.sock), f'{env.sock} is still there after the instance stopped')
    log('ok: the socket file is removed when the instance stops')


SETUP['listen'] = setup_listen
SCENARIOS['listen'] = scenario_listen
AFTER = {'listen': after_listen}

# Lines nginx writes at [warn] that are no upstream trouble.
BENIGN = ('buffered to a temporary file',)


def check_error_log(env):
    bad = []
    with open(env.error_log, errors='replace') as f:
        for line in f:
            m = re.search(r'\[(\w+)\]', line)
            level = m.group(1) if m else ''
            if level in ('error', 'crit', 'alert', 'emerg') or \
               ('upstream' in line and level == 'warn' and not any(b in line for b in BENIGN)):
                bad.append(line.rstrip())
    need(not bad, f'nginx error log ({env.error_log}) has {len(bad)} upstream error(s):\n  '
         + '\n  '.join(bad[:20]))
    log('ok: nginx error log has no upstream errors')


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--app', required=True, help='the sfcgi app to run (examples/echo or hello)')
    ap.add_argument('--app-arg', action='append', default=[],
                    help='extra app argument, e.g. --app-arg=--set=read_ahead=16m; may repeat')
    ap.add_argument('--body-size', type=int, default=BODY_SIZE, help='post scenario body bytes')
    ap.add_argument('--contrib', default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                      '../../contrib/nginx/sfcgi.conf'))
    ap.add_argument('--workdir', required=True, help='created afresh: config, logs, socket')
    ap.add_argument('--nginx', default=shutil.which('nginx') or '/usr/sbin/nginx')
    ap.add_argument('--sfcgi', help='the sfcgi tool (wiki scenarios: sfcgi run --config)')
    ap.add_argument('--wiki-config', help='examples/wiki/wiki.json (wiki scenarios)')
    ap.add_argument('--wiki-templates', help='examples/wiki/templates (wiki scenarios)')
    ap.add_argument('scenario', choices=sorted(SCENARIOS))
    args = ap.parse_args()

    if not os.access(args.nginx, os.X_OK) or not shutil.which('curl'):
        log(f'SKIP: needs nginx ({args.nginx}) and curl: bash scripts/install-deps.sh')
        return 77
    # meson's timeout sends SIGTERM: unwind through the finally below.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(f'{args.scenario}: killed by SIGTERM'))

    env = Env(args)
    failed = None
    try:
        env.prepare()
        if args.scenario in SETUP:
            SETUP[args.scenario](env)
        env.start_app()
        env.start_nginx()
        log(f'{args.scenario}: {os.path.basename(args.app)} on unix:{env.sock}, '
            f'nginx on 127.0.0.1:{env.port}, files in {env.dir}')
        SCENARIOS[args.scenario](env)
        check_error_log(env)
        need(env.app.poll() is None,
             f'the app died during the test (status {env.app.returncode}):\n' + tail(env.app_log))
    except Failure as e:
        failed = str(e)
    finally:
        status = env.stop()
    if not failed and status != 0:
        failed = f'the app did not exit 0 on SIGTERM: {status}\n' + tail(env.app_log)
    if not failed and args.scenario in AFTER:
        try:
            AFTER[args.scenario](env)
        except Failure as e:
            failed = str(e)
    env.cleanup()
    if failed:
        log(f'FAIL: {args.scenario}: {failed}')
        log(f'--- app log ({env.dir}/app.log, last lines):\n' + tail(os.path.join(env.dir, 'app.log')))
        log(f'--- nginx error log ({env.dir}/error.log, last lines):\n'
            + tail(os.path.join(env.dir, 'error.log')))
        return 1
    log(f'PASS: {args.scenario}')
    return 0


if __name__ == '__main__':
    try:
        sys.exit(main())
    except Failure as e:
        print(f'FAIL: {e}', flush=True)
        sys.exit(1)
