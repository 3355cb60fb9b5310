# SPDX-License-Identifier: MIT
"""Pieces the real-application tests share (tests/apps/*.py): an sfcgi
instance started the documented way under systemd-socket-activate, a real
nginx that includes a documented location file, a cookie-keeping HTTP
client, and the scan of sfcgi's log for workers the sandbox killed."""
import grp
import http.client
import http.cookies
import os
import pwd
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, 'tests', 'foreign'))
from foreign_e2e import (FAILED, PASSED, check, free_port, log, skip, tail,  # noqa: E402,F401
                         wait_for)


def finish():
    """The summary line; the exit status (1 if any check failed)."""
    log(f'{len(PASSED)} passed, {len(FAILED)} failed')
    return 1 if FAILED else 0


def contrib(app, name):
    """The path of a documented file, contrib/apps/<app>/<name>."""
    return os.path.join(ROOT, 'contrib', 'apps', app, name)


def short_sock_dir(workdir):
    """A directory for unix sockets (108-byte paths) that user can enter."""
    d = workdir if len(workdir) < 70 else '/tmp/sfcgi-apps-' + os.path.basename(workdir)
    os.makedirs(d, exist_ok=True)
    os.chmod(d, 0o755)
    return d


def as_user(user):
    """The setpriv prefix that runs a command as user (the unit's User=)."""
    if not user:
        return []
    pw = pwd.getpwnam(user)
    return ['setpriv', f'--reuid={pw.pw_uid}', f'--regid={pw.pw_gid}', '--init-groups']


class Instance:
    """sfcgi run --config CONFIG under systemd-socket-activate -l SOCK, as
    user (None: as we are), its log in LOG. prefix: a command to wrap the
    whole (strace, for learning what a program calls)."""

    def __init__(self, sfcgi, config, sock, logpath, user=None, prefix=(), env=None,
                 serves=True):
        self.sock, self.logpath = sock, logpath
        if os.path.exists(sock):
            os.unlink(sock)
        e = {'PATH': '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
             'SFCGI_LOG_LEVEL': 'debug'}
        e.update(env or {})
        self.logf = open(logpath, 'a')
        # root creates the socket (as systemd does), the service runs as user
        argv = (list(prefix) + ['systemd-socket-activate', '-l', sock, '--fdname=fastcgi']
                + as_user(user) + [sfcgi, 'run', '--config', config])
        self.proc = subprocess.Popen(argv, stdout=self.logf, stderr=subprocess.STDOUT,
                                     start_new_session=True, env=e)
        try:
            self.started(sock, logpath, serves)
        except RuntimeError:
            self.stop()  # the caller holds no Instance to stop
            raise

    def started(self, sock, logpath, serves):
        if not wait_for(lambda: os.path.exists(sock) or self.proc.poll() is not None, 20):
            raise RuntimeError(f'no socket {sock}:\n' + tail(logpath))
        # what app@.socket's SocketGroup=www-data and SocketMode=0660 give nginx
        os.chown(sock, -1, grp.getgrnam('www-data').gr_gid)
        os.chmod(sock, 0o660)
        # the first connection starts sfcgi (the file exists from bind(), a
        # connect is refused until listen(): retry); wait until it says it
        # serves (serves=False: a config expected never to serve)
        if not wait_for(self.poke, 10):
            raise RuntimeError(f'{sock}: no connection accepted:\n' + tail(logpath))
        if serves and not wait_for(lambda: 'serving' in self.text() or self.proc.poll() is not None,
                                   30):
            raise RuntimeError('sfcgi did not start serving:\n' + tail(logpath))

    def poke(self):
        """True once a connection to the socket went through."""
        with socket.socket(socket.AF_UNIX) as s:
            try:
                s.connect(self.sock)
                return True
            except OSError:
                return False

    def text(self):
        return tail(self.logpath, 1000000)

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.logf.close()


# What in sfcgi's log means a worker did not survive a flow.
TROUBLE = re.compile(r'killed by the sandbox|forbidden system call|killed by SIG|core dumped|'
                     r'exited with status [1-9]|could not be executed')


def sandbox_trouble(text):
    """The lines of an sfcgi log that report a worker killed by the sandbox
    or crashed (a clean exit after the program's own request limit is not)."""
    return [l for l in text.splitlines() if TROUBLE.search(l)]


class Nginx:
    """A real nginx on 127.0.0.1:port whose one server block includes the
    documented location files, each with its socket path made the test's
    (subs: [(documented, test's)]). Its workers run as user (root when the
    sockets are reached through another mount namespace's /proc/PID/root)."""

    def __init__(self, workdir, includes, subs, server_extra='', user='www-data'):
        self.dir = os.path.join(workdir, 'nginx')
        os.makedirs(self.dir, exist_ok=True)
        # relative includes (fastcgi_params, snippets/...) resolve as in /etc/nginx
        for n in ('fastcgi_params', 'fastcgi.conf', 'mime.types', 'snippets'):
            if os.path.exists('/etc/nginx/' + n) and not os.path.lexists(self.dir + '/' + n):
                os.symlink('/etc/nginx/' + n, self.dir + '/' + n)
        incs = []
        for i, path in enumerate(includes):
            with open(path) as f:
                text = f.read()
            for a, b in subs:
                text = text.replace(a, b)
            dst = os.path.join(self.dir, f'{i}-{os.path.basename(path)}')
            with open(dst, 'w') as f:
                f.write(text)
            incs.append(f'        include {dst};')
        temps = '\n'.join(f'    {m}_temp_path {self.dir}/{m};' for m in
                          ('client_body', 'fastcgi', 'proxy', 'scgi', 'uwsgi'))
        for _ in range(3):
            self.port = free_port()
            conf = os.path.join(self.dir, 'nginx.conf')
            with open(conf, 'w') as f:
                f.write(f"""# generated by tests/apps/harness.py
user {user} {user};
worker_processes 1;
pid {self.dir}/nginx.pid;
error_log {self.dir}/error.log info;
events {{ worker_connections 256; }}
http {{
    include mime.types;
    access_log {self.dir}/access.log;
{temps}
    server {{
        listen 127.0.0.1:{self.port};
        server_name localhost;
{server_extra}
{chr(10).join(incs)}
    }}
}}
""")
            self.proc = subprocess.Popen(['nginx', '-p', self.dir, '-c', conf, '-e',
                                          self.dir + '/error.log', '-g', 'daemon off;'],
                                         stdout=open(self.dir + '/out', 'w'),
                                         stderr=subprocess.STDOUT, start_new_session=True)
            if wait_for(lambda: self.listening() or self.proc.poll() is not None, 20) \
                    and self.proc.poll() is None:
                return
            self.stop()
        raise RuntimeError('nginx did not start:\n' + tail(self.dir + '/out')
                           + tail(self.dir + '/error.log'))

    def listening(self):
        try:
            socket.create_connection(('127.0.0.1', self.port), 0.2).close()
        except OSError:
            return False
        return True

    @property
    def base(self):
        """The URL the flows are given."""
        return f'http://127.0.0.1:{self.port}'

    def errors(self):
        """Upstream errors and worse (not a deny rule's "forbidden")."""
        return [l for l in tail(self.dir + '/error.log', 100000).splitlines()
                if ('[error]' in l and 'upstream' in l) or re.search(r'\[(crit|alert|emerg)\]', l)]

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


def host_port(base):
    """(host, port) of a base URL such as http://127.0.0.1:8080 (or of a
    bare port number: 127.0.0.1 then), where the flows send requests."""
    if isinstance(base, int):
        return '127.0.0.1', base
    u = urllib.parse.urlsplit(base)
    return u.hostname, u.port or 80


class Browser:
    """HTTP/1.1 to base (a URL http://HOST:PORT, or a port on 127.0.0.1)
    that keeps cookies, as a browser would."""

    def __init__(self, base):
        self.host, self.port = host_port(base)
        self.cookies = {}

    def request(self, path, body=None, headers=None, method=None, timeout=60):
        h = dict(headers or {})
        if self.cookies:
            h['Cookie'] = '; '.join(f'{k}={v}' for k, v in self.cookies.items())
        c = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            c.request(method or ('POST' if body is not None else 'GET'), path, body=body,
                      headers=h)
            r = c.getresponse()
            data = r.read()
            for k, v in r.getheaders():
                if k.lower() == 'set-cookie':
                    jar = http.cookies.SimpleCookie()
                    jar.load(v)
                    for name, m in jar.items():
                        if m.value == 'deleted' or m['max-age'] == '0':
                            self.cookies.pop(name, None)
                        else:
                            self.cookies[name] = m.value
            return r.status, {k.lower(): v for k, v in r.getheaders()}, data
        finally:
            c.close()

    def get(self, path, **kw):
        return self.request(path, **kw)

    def post_form(self, path, fields, **kw):
        body = urllib.parse.urlencode(fields).encode()
        return self.request(path, body=body, headers={
            'Content-Type': 'application/x-www-form-urlencoded'}, **kw)

    def post_multipart(self, path, fields, files, **kw):
        """fields: {name: value}; files: {name: (filename, bytes, type)}."""
        boundary = '----sfcgi' + os.urandom(8).hex()
        parts = []
        for k, v in fields.items():
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n'
                         .encode() + str(v).encode() + b'\r\n')
        for k, (fn, data, ctype) in files.items():
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"; '
                         f'filename="{fn}"\r\nContent-Type: {ctype}\r\n\r\n'.encode()
                         + data + b'\r\n')
        body = b''.join(parts) + f'--{boundary}--\r\n'.encode()
        return self.request(path, body=body, headers={
            'Content-Type': f'multipart/form-data; boundary={boundary}'}, **kw)


def form_fields(html, form_id):
    """The named input/textarea values of the form with id form_id (or
    whose id contains it), as a dict; None if there is no such form."""
    m = re.search(r'<form\b[^>]*\bid="[^"]*' + re.escape(form_id) + r'[^"]*"[^>]*>(.*?)</form>',
                  html, re.S)
    if not m:
        return None
    out = {}
    for inp in re.finditer(r'<input\b([^>]*)>', m.group(1)):
        a = dict(re.findall(r'(\w[\w-]*)="([^"]*)"', inp.group(1)))
        if 'name' in a and a.get('type') not in ('submit', 'button', 'checkbox', 'file'):
            out[a['name']] = unescape(a.get('value', ''))
    for ta in re.finditer(r'<textarea\b([^>]*)>(.*?)</textarea>', m.group(1), re.S):
        a = dict(re.findall(r'(\w[\w-]*)="([^"]*)"', ta.group(1)))
        if 'name' in a:
            out[a['name']] = unescape(ta.group(2))
    return out


def unescape(s):
    import html
    return html.unescape(s)


NS_MARK = 'SFCGI_APPS_PRIVATE_MOUNTS'


def in_private_mounts():
    """Re-executes this script in a mount namespace of its own, once, so
    that bind mounts over system paths are seen by it and its children only
    and vanish with it. Returns in the namespace."""
    if os.environ.get(NS_MARK) == str(os.getpid()):
        return
    if os.environ.get(NS_MARK) == 'exec':
        os.environ[NS_MARK] = str(os.getpid())
        return
    os.environ[NS_MARK] = 'exec'
    os.execvp('unshare', ['unshare', '--mount', '--propagation', 'private', sys.executable]
              + sys.argv)


def overlay_dir(workdir, d):
    """What is written to directory d lands in workdir (in this namespace,
    see in_private_mounts): an overlay over d. Returns the upper layer."""
    name = d.strip('/').replace('/', '_')
    up, wk = os.path.join(workdir, 'up-' + name), os.path.join(workdir, 'work-' + name)
    os.makedirs(up, exist_ok=True)
    os.makedirs(wk, exist_ok=True)
    os.makedirs(d, exist_ok=True)
    subprocess.run(['mount', '-t', 'overlay', 'overlay', '-o',
                    f'lowerdir={d},upperdir={up},workdir={wk}', d], check=True)
    return up


def bind(src, dst):
    """dst (an existing file or directory) shows src, in this namespace (see
    in_private_mounts): for a single file such as /etc/cgitrc."""
    subprocess.run(['mount', '--bind', src, dst], check=True)


def overlay_program(workdir, path, target):
    """path (e.g. /usr/bin/sfcgi-cgi, as the documented config names it)
    runs target (the build tree's), in this namespace."""
    overlay_dir(workdir, os.path.dirname(path))
    if os.path.lexists(path):
        os.unlink(path)
    os.symlink(os.path.abspath(target), path)


def system_user(name):
    """A system user (what DynamicUser= gives an instance): (uid, gid)."""
    try:
        pw = pwd.getpwnam(name)
    except KeyError:
        subprocess.run(['useradd', '--system', '--user-group', '--no-create-home', '--home-dir',
                        '/nonexistent', '--shell', '/usr/sbin/nologin', name], check=True)
        pw = pwd.getpwnam(name)
    return pw.pw_uid, pw.pw_gid


def prepare(workdir, name, programs, why_root):
    """What every app test does first: skip (77) without root or without a
    program it runs, enter a private mount namespace (in_private_mounts),
    and make a fresh work directory that the app's user and nginx's
    www-data reach. Returns that directory."""
    import shutil
    if os.geteuid() != 0:
        skip('needs root: ' + why_root)
    for prog in programs:
        if not shutil.which(prog):
            skip(f'{prog} is not installed (scripts/install-deps.sh)')
    in_private_mounts()
    work = os.path.abspath(workdir)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    os.chmod(work, 0o755)
    work = reachable_workdir(work, name)
    log(f'# work directory {work}')
    return work


def learning_config(cpath, work, name):
    """A copy of the documented config cpath in work with "on_violation":
    "log" (a test's --learn run, to see what a program calls)."""
    import json
    with open(cpath) as f:
        conf = json.load(f)
    conf['sandbox']['on_violation'] = 'log'
    path = os.path.join(work, name + '-learn.json')
    with open(path, 'w') as f:
        json.dump(conf, f, indent=2)
    return path


def timed(run, *args):
    """run(*args), a RuntimeError of the harness counted as a failed check;
    the time taken, then finish()."""
    t0 = time.monotonic()
    try:
        run(*args)
    except RuntimeError as e:
        check('harness', False, str(e))
    log(f'# {time.monotonic() - t0:.1f} s')
    return finish()


def reachable_workdir(path, name):
    """path, if every directory above it lets other users through (the
    application's user and nginx's www-data must reach files in it); else a
    fresh /tmp/sfcgi-apps-<name> (a clone under /root, mode 0700)."""
    d = os.path.dirname(os.path.abspath(path))
    while True:
        if not os.stat(d).st_mode & 0o001:
            alt = '/tmp/sfcgi-apps-' + name
            subprocess.run(['rm', '-rf', alt], check=True)
            os.makedirs(alt)
            os.chmod(alt, 0o755)
            return alt
        if d == '/':
            return os.path.abspath(path)
        d = os.path.dirname(d)


def reachable_program(path, workdir):
    """path, if other users can reach it; else a copy in workdir/bin, with
    the libsfcgi.so.0 beside it that its $ORIGIN run path finds."""
    d = os.path.dirname(os.path.abspath(path))
    while d != '/' and os.stat(d).st_mode & 0o001:
        d = os.path.dirname(d)
    if d == '/':
        return path
    import shutil
    bindir = os.path.join(workdir, 'bin')
    os.makedirs(bindir, exist_ok=True)
    os.chmod(bindir, 0o755)
    lib = os.path.join(os.path.dirname(os.path.abspath(path)), 'libsfcgi.so.0')
    if os.path.exists(lib):
        shutil.copy(lib, bindir)  # follows the symlink: the real library
    return shutil.copy(path, bindir)


def reachable_sfcgi(path, workdir):
    """reachable_program for the sfcgi tool, with the sfcgi-foreign beside
    it that `sfcgi run` executes for a foreign program."""
    foreign = os.path.join(os.path.dirname(os.path.abspath(path)), 'sfcgi-foreign')
    if os.path.exists(foreign):
        reachable_program(foreign, workdir)
    return reachable_program(path, workdir)
