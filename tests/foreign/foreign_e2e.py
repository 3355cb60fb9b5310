#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Foreign FastCGI programs and CGI scripts under `sfcgi run`, behind a real
web server (issue 5).

Every program is the real one from a Debian package, started as a web
server that spawns FastCGI applications would start it: by `sfcgi run` with
a "kind": "foreign" config, the listening socket on fd 0, sandboxed. The web
server (nginx, Apache 2.4 with mod_proxy_fcgi, lighttpd with mod_fastcgi)
runs with a config generated in --workdir, on 127.0.0.1 and a free port,
never the system service. Scenarios:

  nginx | apache | lighttpd   php-cgi, a Perl FCGI app, a Go net/http/fcgi
                              app, a C libfcgi app and shell/Perl CGI scripts
                              through sfcgi-cgi: GET, POST with a body,
                              SCRIPT_NAME/PATH_INFO under a prefix and at the
                              root, basic auth (REMOTE_USER, AUTH_TYPE);
                              lighttpd: mode "authorizer" against sfcgi's
                              Authorizer role (examples/echo)
  reload-php | reload-perl    nginx + the app, SIGHUP every 0.3 s under
                              GET and POST load: no failed request
  failures                    crash, exit at start, hang on drain,
                              PHP_FCGI_MAX_REQUESTS, sfcgi check of a
                              missing or non-executable program
  hang-detection              request_timeout for foreign programs: a
                              program that hangs at start or in a request
                              is killed and restarted with backoff; a slow
                              but busy one is not; an unreadable /proc
                              turns detection off with one warning
  bridge                      sfcgi-cgi's refusals, timeout, header checks,
                              streaming, and its sandbox: a script's refused
                              call named with its key, a clean 502
  learning                    "on_violation": "log" for bridge scripts, foreign
                              programs and without a supervisor: each call
                              logged once, a summary that pasted into the
                              config runs the program under "kill"
  orphans                     what CGI scripts and a foreign program leave
                              behind ends with their worker: request_timeout,
                              --timeout, reload, stop, crash, supervisor
                              killed (orphan_cases.py)
  reload-rollback | crash-loop | exit-zero
                              what the supervisor says and does when a
                              program cannot serve (foreign_truth.py)

Prints "ok - ..." / "not ok - ..." lines and numbers as "# ..." lines; exit
0 if all passed, 1 if not, 77 (skip) when a needed program is missing.
"""
import argparse
import base64
import hashlib
import http.client
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

HERE = os.path.dirname(os.path.abspath(__file__))
PASSED, FAILED = [], []


def log(msg):
    print(msg, flush=True)


def check(name, cond, detail=''):
    (PASSED if cond else FAILED).append(name)
    log(('ok - ' if cond else 'not ok - ') + name + ('' if cond or not detail else f'\n#   {detail}'))
    return cond


def skip(why):
    log(f'# SKIP {why}')
    sys.exit(77)


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def wait_for(pred, timeout=10.0, step=0.02):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(step)
    return pred()


def logged(text, pattern):
    """How often a line matching pattern (a regular expression) was logged:
    the lines written plus those a summary counted. sfcgi writes 10 lines of
    a kind a minute and sums up the rest at the minute's end or at exit:
    '... and 7,011 more like "<the first line>" in the last 60 s'."""
    n = 0
    for line in text.splitlines():
        m = re.search(r'\.\.\. and ([0-9,]+) more like "(.*)" in the last [0-9]+ s$', line)
        if m:
            n += int(m.group(1).replace(',', '')) if re.search(pattern, m.group(2)) else 0
        elif re.search(pattern, line):
            n += 1
    return n


def tail(path, n=30):
    try:
        with open(path, errors='replace') as f:
            return ''.join(f.readlines()[-n:])
    except OSError as e:
        return str(e)


def parse(body):
    """The apps answer "key=value" lines."""
    out = {}
    for line in body.decode(errors='replace').splitlines():
        k, sep, v = line.partition('=')
        if sep:
            out[k] = v
    return out


class Http:
    """One HTTP request through the web server: (status, headers, body)."""

    def __init__(self, port):
        self.port = port

    def __call__(self, path, body=None, headers=None, method=None, timeout=30):
        c = http.client.HTTPConnection('127.0.0.1', self.port, timeout=timeout)
        try:
            c.request(method or ('POST' if body is not None else 'GET'), path, body=body,
                      headers=headers or {})
            r = c.getresponse()
            return r.status, dict(r.getheaders()), r.read()
        finally:
            c.close()


class Env:
    """The work directory, the sfcgi instances and the web server."""

    def __init__(self, args):
        self.a = args
        self.dir = os.path.abspath(args.workdir)
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir)
        os.chmod(self.dir, 0o755)
        # unix socket paths hold 108 bytes: long build paths get a short directory
        self.sockdir = self.dir if len(self.dir) < 70 else tempfile.mkdtemp(prefix='sfcgi-fx-')
        os.chmod(self.sockdir, 0o755)
        self.procs = []
        self.instances = {}
        self.environ = {}  # more environment for sfcgi run (NOTIFY_SOCKET)
        self.docroot = os.path.join(self.dir, 'docroot')
        os.makedirs(os.path.join(self.docroot, 'php'))
        shutil.copy(os.path.join(HERE, 'apps', 'index.php'), os.path.join(self.docroot, 'php'))
        shutil.copytree(os.path.join(HERE, 'cgi-bin'), os.path.join(self.docroot, 'cgi-bin'))
        os.makedirs(os.path.join(self.docroot, 'secure', 'deny'))
        for d in ('secure', 'secure/deny'):  # lighttpd's authorizer checks the file exists
            open(os.path.join(self.docroot, d, 'app.fcgi'), 'w').close()
        with open(os.path.join(self.dir, 'htpasswd'), 'w') as f:
            f.write('alice:{SHA}' + base64.b64encode(hashlib.sha1(b'secret').digest()).decode()
                    + '\n')
        for root, dirs, files in os.walk(self.dir):  # Apache's workers run as www-data
            for n in dirs:
                os.chmod(os.path.join(root, n), 0o755)

    def sock(self, name):
        return os.path.join(self.sockdir, name + '.sock')

    # -- sfcgi instances ------------------------------------------------------
    def config(self, name, program, **extra):
        import json
        # group www-data, as a deployment gives its web server: Apache's workers run as it
        c = {'kind': 'foreign', 'program': program, 'workers': 2,
             'listen': {'path': self.sock(name), 'group': 'www-data'}}
        c.update(extra)
        path = os.path.join(self.dir, name + '.json')
        with open(path, 'w') as f:
            json.dump(c, f, indent=2)
        return path

    def start(self, name, program, prefix=(), **extra):
        """sfcgi run on a config of extra; prefix: a command that runs it (setpriv ...)."""
        path = self.config(name, program, **extra)
        logf = open(os.path.join(self.dir, name + '.log'), 'w')
        env = dict(os.environ, SFCGI_LOG_LEVEL='debug', **self.environ)
        p = subprocess.Popen(list(prefix) + [self.a.sfcgi, 'run', '--config', path], stdout=logf,
                             stderr=subprocess.STDOUT, env=env, start_new_session=True)
        self.procs.append(p)
        self.instances[name] = p
        if not wait_for(lambda: os.path.exists(self.sock(name)) or p.poll() is not None):
            raise RuntimeError(f'{name}: no socket:\n' + tail(logf.name))
        if p.poll() is not None:
            raise RuntimeError(f'{name}: sfcgi run exited {p.returncode}:\n' + tail(logf.name))
        return p

    def logtext(self, name):
        return tail(os.path.join(self.dir, name + '.log'), 100000)

    def start_all(self):
        php = os.path.join(self.docroot, 'php', 'index.php')
        assert os.path.exists(php)
        self.start('php', shutil.which('php-cgi'),
                   environment={'PHP_FCGI_CHILDREN': '0', 'PHP_FCGI_MAX_REQUESTS': '10000'},
                   sandbox={'profile': 'php'})  # as docs/migration.md's configs
        self.start('perl', os.path.join(HERE, 'apps', 'app.fcgi'), drain_signal='SIGUSR1')
        self.start('go', self.a.go_app)
        self.start('c', self.a.c_app, drain_signal='SIGUSR1')
        self.start('cgi', self.a.cgi, kind='native',
                   args=['--root', os.path.join(self.docroot, 'cgi-bin'), '--timeout', '10'],
                   sandbox={'allow': ['process', 'interpreter', 'file-read']})
        self.start('authz', self.a.echo, kind='native', workers=1)

    # -- clean-up -------------------------------------------------------------
    def stop(self):
        for p in self.procs:
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        end = time.monotonic() + 5  # what a clean stop takes is tested elsewhere
        for p in self.procs:
            try:
                p.wait(timeout=max(0.1, end - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
        if self.sockdir != self.dir:
            shutil.rmtree(self.sockdir, ignore_errors=True)


# ---- web servers ---------------------------------------------------------------

class Server:
    """A web server with a generated config on 127.0.0.1:.port: the apps
    under prefixes, and the Perl app at the root of host wiki.example.org
    (Apache and lighttpd: the site files of contrib/)."""
    name = ''

    def __init__(self, env):
        self.env = env
        self.dir = os.path.join(env.dir, self.name)
        os.makedirs(self.dir, exist_ok=True)
        os.chmod(self.dir, 0o755)
        self.proc = None

    def start(self):
        for _ in range(3):  # a free port may be taken in between: retry
            self.port = free_port()
            conf = os.path.join(self.dir, self.name + '.conf')
            with open(conf, 'w') as f:
                f.write(self.conf())
            self.proc = subprocess.Popen(self.argv(conf), stdout=open(self.dir + '/out', 'w'),
                                         stderr=subprocess.STDOUT, start_new_session=True)
            if wait_for(lambda: self.listening() or self.proc.poll() is not None, 20):
                if self.proc.poll() is None:
                    return
            self.stop()
        raise RuntimeError(f'{self.name} did not start:\n' + tail(self.dir + '/out')
                           + tail(self.dir + '/error.log'))

    def listening(self):
        try:
            socket.create_connection(('127.0.0.1', self.port), 0.2).close()
        except OSError:
            return False
        return True

    def contrib(self, rel, extra=()):
        """A file of contrib/ with its deployment paths made the test's."""
        e = self.env
        with open(os.path.join(HERE, '..', '..', 'contrib', rel)) as f:
            text = f.read()
        for a, b in [('/run/sfcgi/wiki.sock', e.sock('perl'))] + list(extra) + [
                ('/run/sfcgi/', e.sockdir + '/'), ('/srv/www', e.docroot)]:
            text = text.replace(a, b)
        path = os.path.join(self.dir, os.path.basename(rel))
        with open(path, 'w') as f:
            f.write(text)
        return path

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


class Nginx(Server):
    name = 'nginx'

    def argv(self, conf):
        return ['nginx', '-p', self.dir, '-c', conf, '-e', self.dir + '/error.log']

    def conf(self):
        e, d = self.env, self.dir
        temps = '\n'.join(f'    {m}_temp_path {d}/{m};' for m in ('client_body', 'fastcgi',
                                                                  'proxy', 'scgi', 'uwsgi'))
        ka = ''
        if e.a.keepalive:  # by hand only: how a kept upstream connection fares at reload
            ka = ''.join(f'    upstream {n} {{ server unix:{e.sock(n)}; keepalive 8; }}\n'
                         for n in ('php', 'perl'))
            ka += '    fastcgi_keep_conn on;\n'
        sock = (lambda n: n) if e.a.keepalive else (lambda n: 'unix:' + e.sock(n))
        return f"""# Generated by tests/foreign/foreign_e2e.py
user root root;
daemon off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log info;
events {{ worker_connections 1024; }}
http {{
    access_log {d}/access.log;
{temps}
    client_max_body_size 16m;
    # nginx has no $auth_type: Basic whenever a user authenticated
    map $remote_user $sfcgi_auth_type {{ "" ""; default Basic; }}
{ka}    server {{
        listen 127.0.0.1:{self.port};
        root {e.docroot};
        location ~ ^/php/.+\\.php(/|$) {{
            fastcgi_split_path_info ^(/php/.+?\\.php)(/.*)$;
            include /etc/nginx/fastcgi_params;
            fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;
            fastcgi_param PATH_INFO $fastcgi_path_info;
            fastcgi_pass {sock('php')};
        }}
        location /cgi-bin/ {{
            fastcgi_split_path_info ^(/cgi-bin/[^/]+)(/.*)$;
            include /etc/nginx/fastcgi_params;
            fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;
            fastcgi_param PATH_INFO $fastcgi_path_info;
            fastcgi_param HTTP_PROXY "";
            fastcgi_pass unix:{e.sock('cgi')};
        }}
        location ~ ^/(go|c)(/|$) {{
            fastcgi_split_path_info ^(/[^/]+)(/.*)?$;
            include /etc/nginx/fastcgi_params;
            fastcgi_param SCRIPT_NAME $fastcgi_script_name;
            fastcgi_param PATH_INFO $fastcgi_path_info;
            fastcgi_pass unix:{e.sockdir}/$1.sock;
        }}
        location /wiki {{
            fastcgi_split_path_info ^(/[^/]+)(/.*)?$;
            include /etc/nginx/fastcgi_params;
            fastcgi_param SCRIPT_NAME $fastcgi_script_name;
            fastcgi_param PATH_INFO $fastcgi_path_info;
            fastcgi_pass {sock('perl')};
        }}
        location /private/ {{
            auth_basic "sfcgi test";
            auth_basic_user_file {e.dir}/htpasswd;
            fastcgi_split_path_info ^(/private)(/.*)$;
            include /etc/nginx/fastcgi_params;
            fastcgi_param SCRIPT_NAME $fastcgi_script_name;
            fastcgi_param PATH_INFO $fastcgi_path_info;
            fastcgi_param AUTH_TYPE $sfcgi_auth_type;
            fastcgi_pass unix:{e.sock('perl')};
        }}
    }}
    server {{
        listen 127.0.0.1:{self.port};
        server_name wiki.example.org;
        location / {{
            include /etc/nginx/fastcgi_params;
            fastcgi_param SCRIPT_NAME "";
            fastcgi_param PATH_INFO $uri;
            fastcgi_pass unix:{e.sock('perl')};
        }}
    }}
}}
"""


class Apache(Server):
    name = 'apache'
    MODS = ['mpm_event', 'authz_core', 'authz_user', 'authn_core', 'authn_file', 'auth_basic',
            'proxy', 'proxy_fcgi']

    def argv(self, conf):
        return ['apache2', '-f', conf, '-DFOREGROUND']

    def conf(self):
        e, d = self.env, self.dir
        mods = '\n'.join(f'LoadModule {m}_module /usr/lib/apache2/modules/mod_{m}.so'
                         for m in self.MODS)
        site = self.contrib('apache/sfcgi.conf', [
            ('*:80', f'127.0.0.1:{self.port}'),
            ('/etc/apache2/sfcgi.htpasswd', e.dir + '/htpasswd')])
        # go and c: the site's /wiki/ block for other sockets, server-wide
        # (merged into every virtual host)
        more = ''.join(f"""<Location "/{n}/">
  ProxyPass "unix:{e.sock(n)}|fcgi://{n}/"
  ProxyFCGISetEnvIf "reqenv('SCRIPT_NAME') =~ m#^/{n}(/.*)#" PATH_INFO "$1"
  ProxyFCGISetEnvIf "true" SCRIPT_NAME "/{n}"
</Location>
""" for n in ('go', 'c'))
        return f"""# Generated by tests/foreign/foreign_e2e.py
ServerName localhost
ServerRoot {d}
Listen 127.0.0.1:{self.port}
PidFile {d}/apache.pid
ErrorLog {d}/error.log
LogLevel warn
User www-data
Group www-data
{mods}
{more}Include {site}
"""


class Lighttpd(Server):
    name = 'lighttpd'

    def argv(self, conf):
        return ['lighttpd', '-D', '-f', conf]

    def conf(self):
        e, d = self.env, self.dir
        site = self.contrib('lighttpd/sfcgi.conf', [
            ('/etc/lighttpd/sfcgi.htpasswd', e.dir + '/htpasswd')])
        return f"""# Generated by tests/foreign/foreign_e2e.py
server.document-root = "{e.docroot}"
server.bind = "127.0.0.1"
server.port = {self.port}
server.errorlog = "{d}/error.log"
server.pid-file = "{d}/lighttpd.pid"
server.upload-dirs = ( "{d}" )
include "{site}"
# go and c, as the site's "/wiki" entry for other sockets
$HTTP["url"] =~ "^/(go|c)(/|$)" {{
  fastcgi.server = ( "/go" => (( "socket" => "{e.sock('go')}", "check-local" => "disable" )),
                     "/c"  => (( "socket" => "{e.sock('c')}", "check-local" => "disable" )) )
}}
"""


SERVERS = {'nginx': Nginx, 'apache': Apache, 'lighttpd': Lighttpd}


# ---- scenarios -----------------------------------------------------------------

def app_checks(env, srv):
    get = Http(srv.port)
    body = os.urandom(100 * 1024)
    sha = hashlib.sha256(body).hexdigest()
    urls = {'php': '/php/index.php', 'perl': '/wiki', 'go': '/go', 'c': '/c',
            'cgi-sh': '/cgi-bin/env.sh', 'cgi-perl': '/cgi-bin/env.pl'}
    for app, base in urls.items():
        st, _, b = get(base + '/info/x?x=42')
        kv = parse(b)
        check(f'{srv.name}: {app}: GET answers 200 from the app', st == 200 and
              kv.get('app') == app.replace('cgi-sh', 'cgi-sh'), f'{st} {b[:300]!r}')
        check(f'{srv.name}: {app}: query string x=42', kv.get('x') == '42', repr(kv))
        if app == 'go':
            check(f'{srv.name}: go: routes on the whole path {base}/info/x',
                  kv.get('path') == base + '/info/x', repr(kv))
        else:
            check(f'{srv.name}: {app}: SCRIPT_NAME={base} PATH_INFO=/info/x under the prefix',
                  kv.get('script_name') == base and kv.get('path_info') == '/info/x', repr(kv))
        st, _, b = get(base + '/post', body=body,
                       headers={'Content-Type': 'application/octet-stream'})
        kv = parse(b)
        check(f'{srv.name}: {app}: POST of 100 KiB arrives whole', st == 200 and
              kv.get('method') == 'POST' and kv.get('body_sha256', sha) == sha and
              kv.get('body_len', str(len(body))) == str(len(body)), f'{st} {kv!r}')
    st, _, b = get('/php/index.php?x=1', body=b'name=bob&other=1',
                   headers={'Content-Type': 'application/x-www-form-urlencoded'})
    kv = parse(b)
    check(f'{srv.name}: php: a form POST reaches $_POST, PHP_FCGI_CHILDREN=0',
          kv.get('post_name') == 'bob' and kv.get('children') == '0', repr(kv))
    st, _, b = get('/info/y?x=7', headers={'Host': 'wiki.example.org'})
    kv = parse(b)
    check(f'{srv.name}: perl mounted at the root: SCRIPT_NAME="" PATH_INFO=/info/y',
          st == 200 and kv.get('script_name') == '' and kv.get('path_info') == '/info/y',
          f'{st} {kv!r}')
    st, _, b = get('/private/who')
    check(f'{srv.name}: basic auth: 401 without credentials', st == 401, str(st))
    cred = 'Basic ' + base64.b64encode(b'alice:secret').decode()
    st, _, b = get('/private/who?x=1', headers={'Authorization': cred})
    kv = parse(b)
    check(f'{srv.name}: basic auth: REMOTE_USER=alice AUTH_TYPE=Basic reach the app',
          st == 200 and kv.get('remote_user') == 'alice' and kv.get('auth_type') == 'Basic',
          f'{st} {kv!r}')
    st, _, b = get('/private/who', headers={'Authorization': 'Basic ' +
                                         base64.b64encode(b'alice:wrong').decode()})
    check(f'{srv.name}: basic auth: a wrong password is refused', st == 401, str(st))


def authorizer_checks(env, srv):
    get = Http(srv.port)
    st, _, b = get('/secure/app.fcgi?x=3')
    kv = parse(b)
    check('lighttpd: authorizer (sfcgi, Authorizer role) allows, the responder runs and sees '
          'Variable-AUTH_CHECKED', st == 200 and kv.get('app') == 'perl' and
          kv.get('auth_checked') == 'yes', f'{st} {b[:300]!r}')
    st, _, b = get('/secure/deny/app.fcgi')
    check('lighttpd: authorizer denies (403) when it says so', st == 403, f'{st} {b[:200]!r}')


def refusal_checks(env, srv):
    """A script the sandbox refuses a call: 502 through the web server, whose
    error log names the script (FCGI_STDERR), and sfcgi's names the call."""
    script = os.path.join(env.docroot, 'cgi-bin', 'refused.pl')
    st, _, b = Http(srv.port)('/cgi-bin/refused.pl')
    check(f'{srv.name}: a CGI script refused socket() is answered 502', st == 502 and
          b'killed by the sandbox' in b, f'{st} {b[:200]!r}')
    ok = wait_for(lambda: f'{script}: killed by the sandbox' in
                  tail(srv.dir + '/error.log', 100000), 5)
    check(f'{srv.name}: the web server\'s error log names the script', ok,
          tail(srv.dir + '/error.log', 5))
    check(f'{srv.name}: sfcgi\'s log names the call and "network"',
          f'script {script} (process ' in env.logtext('cgi') and
          'killed by the sandbox: forbidden system call socket (41); to allow it: "sandbox": '
          '{"allow": ["network"]}' in env.logtext('cgi'), env.logtext('cgi')[-600:])


def web_scenario(env, cls):
    for prog in ('php-cgi',) + ((cls.name if cls.name != 'apache' else 'apache2'),):
        if not shutil.which(prog):
            skip(f'{prog} is not installed')
    env.start_all()
    srv = cls(env)
    srv.start()
    try:
        app_checks(env, srv)
        refusal_checks(env, srv)
        if cls is Lighttpd:
            authorizer_checks(env, srv)
    finally:
        srv.stop()
    log('# ' + srv.name + ' error log: ' + tail(srv.dir + '/error.log', 5).replace('\n', '\n#   '))
    for name, p in env.instances.items():
        check(f'{srv.name}: instance {name} still running', p.poll() is None)


# -- reload under load --------------------------------------------------------------

class Load:
    """Threads sending GETs and POSTs through the web server until stopped."""

    def __init__(self, port, path, threads=8):
        self.port, self.path, self.n = port, path, threads
        self.ok = self.failed = 0
        self.errors = []
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.run, args=(i,)) for i in range(threads)]

    def run(self, i):
        body = b'x' * 1024
        k = 0
        while not self.stop.is_set():
            k += 1
            post = (i + k) % 2 == 0
            try:
                c = http.client.HTTPConnection('127.0.0.1', self.port, timeout=30)
                c.request('POST' if post else 'GET', self.path + '?sleep=20&x=%d' % k,
                          body=body if post else None)
                r = c.getresponse()
                data = r.read()
                c.close()
                good = r.status == 200 and b'app=' in data and \
                    (not post or b'body_len=1024' in data or b'body_sha256=' in data)
                err = None if good else f'{r.status} {data[:120]!r}'
            except Exception as e:  # a reset, a timeout: counted
                err = repr(e)
            with self.lock:
                if err:
                    self.failed += 1
                    self.errors.append(err)
                else:
                    self.ok += 1

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *a):
        self.stop.set()
        for t in self.threads:
            t.join()


def reload_scenario(env, app):
    if app == 'php':
        if not shutil.which('php-cgi'):
            skip('php-cgi is not installed')
        p = env.start('php', shutil.which('php-cgi'),
                      environment={'PHP_FCGI_CHILDREN': '0'}, sandbox={'profile': 'php'},
                      drain_timeout=10)
        path = '/php/index.php'
    else:
        p = env.start('perl', os.path.join(HERE, 'apps', 'app.fcgi'), drain_signal='SIGUSR1',
                      drain_timeout=10)
        path = '/wiki'
    for n in ('go', 'c', 'cgi'):  # the config names their sockets; nothing listens there
        open(env.sock(n), 'w').close()
    srv = Nginx(env)
    srv.start()
    reloads = 10
    t0 = time.monotonic()
    try:
        with Load(srv.port, path) as load:
            time.sleep(0.5)
            for i in range(reloads):
                p.send_signal(signal.SIGHUP)
                wait_for(lambda: env.logtext(app).count('reload complete') > i, 15)
                time.sleep(0.3)
            time.sleep(0.3)
    finally:
        srv.stop()
    done = env.logtext(app).count('reload complete')
    log(f'# {app}: {load.ok} requests ({load.ok / (time.monotonic() - t0):.0f}/s) during '
        f'{done} reloads, {load.failed} failed')
    for e in load.errors[:5]:
        log(f'#   {e}')
    check(f'reload {app}: {reloads} reloads completed', done == reloads, f'{done}')
    check(f'reload {app}: zero failed requests under GET+POST load ({load.ok} ok)',
          load.failed == 0 and load.ok > 100, f'{load.failed} failed')
    check(f'reload {app}: same supervisor afterwards', p.poll() is None)
    err = tail(srv.dir + '/error.log', 100000)
    check(f'reload {app}: no upstream error in the nginx log',
          'upstream' not in err or ' [error] ' not in err,
          '\n'.join(l for l in err.splitlines() if '[error]' in l)[:600])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--sfcgi', required=True)
    ap.add_argument('--cgi', required=True)
    ap.add_argument('--echo', required=True)
    ap.add_argument('--c-app', required=True)
    ap.add_argument('--go-src', default=os.path.join(HERE, 'apps', 'fcgiapp.go'))
    ap.add_argument('--go-cache', required=True)
    ap.add_argument('--workdir', required=True)
    ap.add_argument('--keepalive', action='store_true',
                    help='nginx keeps upstream connections (reload-*: by hand, to measure)')
    ap.add_argument('scenario')
    a = ap.parse_args()
    env = Env(a)
    try:
        if a.scenario in SERVERS:
            a.go_app = build_go(a, env)
            web_scenario(env, SERVERS[a.scenario])
        elif a.scenario in ('reload-rollback', 'crash-loop', 'exit-zero'):
            import foreign_truth
            foreign_truth.run(a.scenario, env, check)
        elif a.scenario.startswith('reload-'):
            reload_scenario(env, a.scenario[len('reload-'):])
        else:
            import foreign_cases
            foreign_cases.run(a.scenario, env, check, log)
    except RuntimeError as e:
        check('harness', False, str(e))
    finally:
        env.stop()
    log(f'{len(PASSED)} passed, {len(FAILED)} failed')
    return 1 if FAILED else 0


def build_go(a, env):
    """The Go app, built at test time with the standard library only (no
    network), once per build tree: the first test builds, others wait."""
    import fcntl
    go = shutil.which('go')
    if not go:
        skip('go (golang-go) is not installed')
    os.makedirs(a.go_cache, exist_ok=True)
    out = os.path.join(a.go_cache, 'fcgiapp')
    genv = dict(os.environ, GOCACHE=a.go_cache, GOPATH=os.path.join(a.go_cache, 'gopath'),
                GOPROXY='off', GOFLAGS='-mod=mod', CGO_ENABLED='0', GO111MODULE='off',
                HOME=a.go_cache)
    with open(os.path.join(a.go_cache, 'lock'), 'w') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if os.path.exists(out) and os.path.getmtime(out) >= os.path.getmtime(a.go_src):
            return out
        t0 = time.monotonic()
        r = subprocess.run([go, 'build', '-o', out + '.tmp', a.go_src], env=genv,
                           capture_output=True, text=True)
        if r.returncode:
            raise RuntimeError('go build: ' + r.stderr)
        os.rename(out + '.tmp', out)
        log(f'# go build: {time.monotonic() - t0:.1f} s')
    return out


if __name__ == '__main__':
    sys.exit(main())
