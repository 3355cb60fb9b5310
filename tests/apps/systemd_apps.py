#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The applications of contrib/apps/ under the shipped units in a real
systemd (tests/apps/systemd.sh boots it and installs the build), each
deployed as docs/migration.md tells a user to:

  1. its JSON as /etc/sfcgi/<app>.json, its drop-ins (if any) in
     /etc/systemd/system/app@<app>.service.d/, `systemctl daemon-reload`;
  2. its setup.sh, run inside as root (the directory copied as a user
     downloads it: cgit's setup.sh copies the cgitrc beside it);
  3. `systemctl enable --now app@<app>.socket`;
  4. the host's nginx, its server block including the documented nginx.conf
     with the socket path made /proc/LEADER/root/run/sfcgi/<app>.sock (and
     ikiwiki's static root the container's); its workers run as root, who
     alone may go through /proc/LEADER/root;
  5. the flows of tests/apps/*.py, the same functions the direct tests call.
Then `systemctl reload app@dokuwiki.service` three times while two clients
browse: every request answered. Fails if the journal of app@* says a worker
or a script was killed by the sandbox (but shell-cgi's tcp.bash, which the
flow expects killed), a unit failed, or an instance is not active.

  systemd_apps.py --prepare --workdir DIR   before the container is made
  systemd_apps.py --leader PID --root ROOT --workdir DIR
"""
import argparse
import http.client
import os
import re
import shutil
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import harness as h  # noqa: E402
from harness import check, log  # noqa: E402
import dokuwiki  # noqa: E402
import git as gitapps  # noqa: E402
import hgweb  # noqa: E402
import ikiwiki  # noqa: E402
import php_layouts  # noqa: E402
import shell_cgi  # noqa: E402

# instance name -> (contrib/apps directory, its JSON)
DEPLOY = {
    'dokuwiki': ('dokuwiki', 'dokuwiki.json'),
    'hgweb': ('hgweb', 'hgweb.json'),
    'cgit': ('cgit', 'cgit.json'),
    'gitweb': ('gitweb', 'gitweb.json'),
    'gitweb-fastcgi': ('gitweb-fastcgi', 'gitweb-fastcgi.json'),
    'ikiwiki': ('ikiwiki', 'ikiwiki.json'),
    'shell-cgi': ('shell-cgi', 'shell-cgi.json'),
    'php': ('php', 'php.json'),
    # the other php-cgi layout of docs/migration.md, beside the first
    'php-children': ('php', 'php-children.json'),
}
SHELL_SCRIPTS = [os.path.join(HERE, '..', 'foreign', 'cgi-bin', 'env.sh')] + [
    os.path.join(HERE, 'cgi-bin', n) for n in ('form.bash', 'form.haserl', 'tcp.bash')]
# What a php-cgi worker says of PCRE's JIT under MemoryDenyWriteExecute=yes
JIT_PHP = """<?php
header('Content-Type: text/plain');
$r = preg_match('/(a+|b)+c/', str_repeat('a', 20) . 'c');
$e = error_get_last();
echo "match=$r jit=" . ini_get('pcre.jit') . "\\n";
echo 'error=' . ($e ? $e['message'] : 'none') . "\\n";
"""


class Container:
    """leader: the container's PID 1; root: its root file system, mounted on
    the host (the overlay tests/systemd/lib.sh makes: what is written there
    is seen inside). Not /proc/LEADER/root for files: a program that
    resolves the path (hg, git) would follow that link to the host's /."""

    def __init__(self, leader, root):
        self.leader = leader
        self.root = root

    def run(self, *cmd, input=None, timeout=120):
        """cmd inside (nsenter into every namespace): CompletedProcess."""
        return subprocess.run(['nsenter', '-t', str(self.leader), '-a'] + list(cmd),
                              input=input, capture_output=True, text=True, timeout=timeout)

    def path(self, p):
        """p inside, on the host: files of the root file system."""
        return self.root + p

    def sock(self, p):
        """p inside, on the host: what is on the container's own /run too."""
        return f'/proc/{self.leader}/root{p}'

    def put(self, src, dest, mode=0o644):
        d = self.path(dest)
        os.makedirs(os.path.dirname(d), exist_ok=True)
        shutil.copyfile(src, d)
        os.chmod(d, mode)

    def journal(self, unit='app@*'):
        return self.run('journalctl', '-b', '--no-pager', '-o', 'cat', '-u', unit).stdout


def prepare(work):
    """php's document root, the same path on the host and inside."""
    www = os.path.join(work, 'www')
    os.makedirs(www, exist_ok=True)
    os.chmod(www, 0o755)
    for name, text in (('counter.php', php_layouts.COUNTER), ('jit.php', JIT_PHP)):
        with open(os.path.join(www, name), 'w') as f:
            f.write(text)
        os.chmod(os.path.join(www, name), 0o644)


def deploy(c, name):
    """Step 1: the documented files where the docs put them."""
    app, js = DEPLOY[name]
    src = os.path.join(h.ROOT, 'contrib', 'apps', app)
    c.put(os.path.join(src, js), f'/etc/sfcgi/{name}.json')
    dropins = os.path.join(src, f'app@{app}.service.d')
    if os.path.isdir(dropins):
        for f in sorted(os.listdir(dropins)):
            c.put(os.path.join(dropins, f), f'/etc/systemd/system/app@{name}.service.d/{f}')
    dst = c.path(f'/root/sfcgi-apps/{app}')
    if not os.path.isdir(dst):
        shutil.copytree(src, dst)


def setup(c, app, *args, input=None):
    r = c.run('sh', f'/root/sfcgi-apps/{app}/setup.sh', *args, input=input)
    return check(f'{app}: setup.sh {" ".join(args)}'.rstrip(), r.returncode == 0,
                 (r.stdout + r.stderr)[-1500:])


def socket_ok(c, name):
    st = os.stat(c.sock(f'/run/sfcgi/{name}.sock'))
    grp = c.run('getent', 'group', 'www-data').stdout.split(':')
    return check(f'{name}: /run/sfcgi/{name}.sock, group www-data, mode 0660',
                 oct(st.st_mode & 0o777) == '0o660' and len(grp) > 2 and
                 str(st.st_gid) == grp[2], f'{oct(st.st_mode)} gid {st.st_gid}')


def nginx(c, work, name, extra_subs=(), server_extra=''):
    app = DEPLOY[name][0]
    subs = [(f'unix:/run/sfcgi/{app}.sock;', f'unix:{c.sock(f"/run/sfcgi/{name}.sock")};')]
    return h.Nginx(os.path.join(work, name), [h.contrib(app, 'nginx.conf')],
                   subs + list(extra_subs), server_extra=server_extra, user='root')


def requests_served(ng):
    try:
        with open(os.path.join(ng.dir, 'access.log')) as f:
            return sum(1 for _ in f)
    except OSError:
        return 0


def service_user(c, name):
    """The user the instance runs as (a dynamic one unless a drop-in says)."""
    c.run('systemctl', 'start', f'app@{name}.service')
    pid = c.run('systemctl', 'show', '-P', 'MainPID', f'app@{name}.service').stdout.strip()
    return c.run('ps', '-o', 'user=', '-p', pid).stdout.strip()


def reload_under_load(c, ng, name):
    """systemctl reload three times while two clients browse DokuWiki."""
    unit = f'app@{name}.service'
    main = c.run('systemctl', 'show', '-P', 'MainPID', unit).stdout.strip()
    stop, res, lock = threading.Event(), [], threading.Lock()

    def client():
        b = h.Browser(ng.base)
        while not stop.is_set():
            try:
                st, _, body = b.get('/dokuwiki/doku.php?id=start', timeout=30)
                good = st == 200 and b'<title>start [' in body
            except (OSError, http.client.HTTPException) as e:
                good, st = False, repr(e)
            with lock:
                res.append(good or st)
    ts = [threading.Thread(target=client) for _ in range(2)]
    for t in ts:
        t.start()
    done = 0
    try:
        for _ in range(3):
            time.sleep(0.5)
            before = c.journal(unit).count('reload complete: generation')
            r = c.run('systemctl', 'reload', unit, timeout=60)
            if r.returncode or not h.wait_for(lambda: c.journal(unit).count(
                    'reload complete: generation') > before, 20):
                log(f'# reload: {r.stderr.strip()}')
                break
            done += 1
        time.sleep(0.5)
    finally:
        stop.set()
        for t in ts:
            t.join()
    bad = [x for x in res if x is not True]
    log(f'# {name}: {len(res)} requests during {done} reloads, {len(bad)} failed')
    check(f'{name}: 3 x systemctl reload completed, the same MainPID', done == 3 and
          c.run('systemctl', 'show', '-P', 'MainPID', unit).stdout.strip() == main)
    check(f'{name}: every request during the reloads answered ({len(res)})',
          res and not bad, f'{bad[:5]}')


def dynamic_users(c, names):
    """The instances without a User= drop-in: each its own dynamic user."""
    users = {}
    for n in names:
        pid = c.run('systemctl', 'show', '-P', 'MainPID', f'app@{n}.service').stdout.strip()
        users[n] = c.run('ps', '-o', 'uid=,user=', '-p', pid).stdout.split()
    log(f'# dynamic users: {users}')
    uids = [u[0] for u in users.values() if u]
    check('each DynamicUser= instance runs as a user of its own (no uid shared, none root)',
          len(uids) == len(names) and len(set(uids)) == len(uids) and '0' not in uids,
          f'{users}')


# What in the journal of app@* means a worker or script did not survive
JOURNAL_TROUBLE = re.compile(r'SIGSYS|code=killed|code=dumped|Failed with result|'
                             r'status=31/SYS|AddressSanitizer|LeakSanitizer|runtime error:')


def run(c, work):
    t0 = time.monotonic()
    times, reqs = {}, {}
    for name in DEPLOY:
        deploy(c, name)
    r = c.run('systemctl', 'daemon-reload')
    check('systemctl daemon-reload with the documented drop-ins', r.returncode == 0, r.stderr)
    # the shell scripts a user puts in /usr/lib/cgi-bin
    for s in SHELL_SCRIPTS:
        c.put(s, '/usr/lib/cgi-bin/' + os.path.basename(s), 0o755)

    # 2. setup.sh of each, as the docs give it
    ts = time.monotonic()
    for user, mail, full in dokuwiki.USERS:
        setup(c, 'dokuwiki', user, mail, full, input=dokuwiki.password(user) + '\n')
    times['dokuwiki'] = time.monotonic() - ts
    for app in ('hgweb', 'cgit', 'gitweb', 'ikiwiki'):
        ts = time.monotonic()
        setup(c, app)
        times[app] = time.monotonic() - ts
    ts = time.monotonic()
    hgweb.make_repo(c.path(hgweb.REPO))  # its owner's repository (the test's, root's)
    times['hgweb'] += time.monotonic() - ts

    # 3. the sockets
    names = list(DEPLOY)
    r = c.run('systemctl', 'enable', '--now', *[f'app@{n}.socket' for n in names])
    check('systemctl enable --now app@<app>.socket, every app', r.returncode == 0, r.stderr)
    for n in names:
        socket_ok(c, n)

    # 4, 5. nginx and the flows
    repo = None
    for name in names:
        ts = time.monotonic()
        wd = os.path.join(work, name)
        os.makedirs(wd, exist_ok=True)
        extra, server = [], ''
        if name == 'ikiwiki':
            extra = [('/var/lib/ikiwiki/public_html', c.path('/var/lib/ikiwiki/public_html'))]
        if name.startswith('php'):
            server = f'        root {work}/www;'
        ng = nginx(c, work, name, extra, server)
        try:
            log(f'# {name}: flows through {ng.base}')
            if name == 'dokuwiki':
                dokuwiki.flows(ng.base, 'sfcgiword' + os.urandom(4).hex(),
                               data=c.path(dokuwiki.DATA))
                reload_under_load(c, ng, name)
            elif name == 'hgweb':
                hgweb.flows(ng.base, wd, repo=c.path(hgweb.REPO))
            elif name in ('cgit', 'gitweb', 'gitweb-fastcgi'):
                if repo is None:  # a user's push, once: all three show the same repository
                    repo = gitapps.Repo(os.path.join(work, 'git'), c.path(gitapps.REPO))
                {'cgit': lambda: gitapps.flows_cgit(ng.base, repo, wd),
                 'gitweb': lambda: gitapps.flows_gitweb_cgi_bin(ng.base, repo),
                 'gitweb-fastcgi': lambda: gitapps.flows_gitweb_fastcgi(ng.base, repo)}[name]()
            elif name == 'ikiwiki':
                ikiwiki.flows(ng.base)
            elif name == 'shell-cgi':
                shell_cgi.flows(ng.base, service_user(c, name))
            elif name == 'php':
                php_layouts.flows_workers(ng.base)
                jit(c, ng)
            elif name == 'php-children':
                php_layouts.flows_children(ng.base)
            errs = [e for e in ng.errors() if '/tcp.bash:' not in e]  # its refusal
            check(f'{name}: nginx logged no upstream error', not errs, '\n'.join(errs[-5:]))
        except (RuntimeError, OSError, subprocess.SubprocessError) as e:
            check(f'{name}: the flows ran to their end', False, f'{type(e).__name__}: {e}')
        finally:
            ng.stop()
        times[name] = times.get(name, 0) + time.monotonic() - ts
        reqs[name] = requests_served(ng)
        # READY=1 comes once the workers have shown they serve (a foreign
        # worker: alive a second), which may be after a short flow's end
        def state():
            return c.run('systemctl', 'is-active', f'app@{name}.service').stdout.strip()
        h.wait_for(lambda: state() != 'activating', 10)
        check(f'{name}: app@{name}.service is active after its flows', state() == 'active',
              state() + '\n' + c.journal(f'app@{name}.service')[-1500:])

    dynamic_users(c, [n for n in names if n not in ('dokuwiki', 'ikiwiki')])

    # the journal: nothing killed, no unit failed
    text = c.journal()
    bad = [ln for ln in h.sandbox_trouble(text) + [ln for ln in text.splitlines()
                                                     if JOURNAL_TROUBLE.search(ln)]
           if 'tcp.bash' not in ln]
    check('journal of app@*: no worker or script killed by the sandbox, none crashed',
          not bad, '\n'.join(bad[-20:]))
    # sfcgi's filter would end it and name socket(); the unit's
    # RestrictAddressFamilies=AF_UNIX refuses first, with an error
    check('journal of app@*: shell-cgi\'s tcp.bash got no TCP socket: the unit\'s '
          'RestrictAddressFamilies= refused it (EAFNOSUPPORT)',
          any('tcp.bash' in ln and 'Address family not supported' in ln
              for ln in text.splitlines()), '\n'.join(ln for ln in text.splitlines()
                                                    if 'tcp.bash' in ln))
    r = c.run('systemctl', 'list-units', '--state=failed', '--no-legend', '--plain', 'app@*')
    check('no app@ unit failed', r.stdout.strip() == '', r.stdout)
    for ln in text.splitlines():
        if re.search(r'JIT|userdb|nscd', ln):
            log('# journal: ' + ln)
    for name in names:
        log(f'# {name}: {times.get(name, 0):.1f} s (setup and flows), {reqs.get(name, 0)} '
            'requests through nginx')
    log(f'# all: {time.monotonic() - t0:.1f} s')


def jit(c, ng):
    """PCRE's JIT in a php-cgi worker under MemoryDenyWriteExecute=yes."""
    st, _, body = h.Browser(ng.base).get('/jit.php')
    t = body.decode(errors='replace')
    log('# php under MemoryDenyWriteExecute=yes: ' + t.replace('\n', ' '))
    check('php: preg_match works under MemoryDenyWriteExecute=yes', st == 200 and
          'match=1' in t, f'{st} {t[:300]}')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--workdir', required=True)
    ap.add_argument('--leader', type=int)
    ap.add_argument('--root', help='the container\'s root file system, on the host')
    ap.add_argument('--prepare', action='store_true')
    a = ap.parse_args()
    work = os.path.abspath(a.workdir)
    if a.prepare:
        prepare(work)
        return 0
    if not os.path.ismount(a.root or ''):
        log(f'{a.root}: not a mount point (the container\'s root)')
        return 1
    c = Container(a.leader, a.root)
    try:
        run(c, work)
    except (RuntimeError, OSError, subprocess.SubprocessError) as e:
        check('the test ran to its end', False, f'{type(e).__name__}: {e}')
    return h.finish()


if __name__ == '__main__':
    sys.exit(main())
