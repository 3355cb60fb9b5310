#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""hgweb (Debian's mercurial 6.3, Python 3.11), Mercurial's own CGI script,
through the CGI bridge sfcgi-cgi, the way docs/migration.md deploys it,
behind a real nginx.

Runbook, in a mount namespace of its own where /usr/local/lib, /etc/mercurial,
/srv and /usr/bin are overlays whose writes land in the work directory:
  1. contrib/apps/hgweb/setup.sh (hgweb.cgi from Mercurial's examples with
     its config path set, /etc/mercurial/hgweb.config, /srv/hg); a
     repository /srv/hg/demo with three changesets, one a binary file;
  2. `sfcgi run --config contrib/apps/hgweb/hgweb.json` under
     systemd-socket-activate, as a system user of its own (what the unit's
     DynamicUser= gives it); /usr/bin/sfcgi-cgi is the build tree's;
  3. nginx includes contrib/apps/hgweb/nginx.conf;
  4. the flows: the repository index, a repository's summary and log, a
     changeset with its diff, a raw file byte-exact, a .tar.gz archive,
     `hg clone http://...` and `hg pull` of a new changeset, `hg verify`;
     and, beside hgweb under the same --root, a Python CGI script that runs
     a program with subprocess (close_range in the child: "process");
  5. fails if sfcgi's log reports a worker or script killed by the sandbox
     or crashed.
Root only (77 otherwise). --strace FILE: by hand, strace -f the instance.
"""
import argparse
import gzip
import http.client
import io
import os
import shutil
import subprocess
import sys
import tarfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
from harness import check  # noqa: E402

REPO = '/srv/hg/demo'
BLOB = bytes(range(256)) * 64 + b'\0\r\n\xff end'


def hg(*args, cwd=None):
    r = subprocess.run(['hg', '--config', 'ui.username=sfcgi test <test@localhost>'] + list(args),
                       cwd=cwd, capture_output=True, env=dict(os.environ, HGPLAIN='1'))
    if r.returncode:
        raise RuntimeError(f'hg {" ".join(args)}: {r.stderr.decode(errors="replace")}')
    return r.stdout.decode()


def make_repo(repo=REPO):
    """The repository demo, made as its owner would: repo is where /srv/hg/demo
    is seen from here."""
    hg('init', repo)
    with open(repo + '/hello.txt', 'w') as f:
        f.write('hello from hgweb\n')
    hg('add', 'hello.txt', cwd=repo)
    hg('commit', '-m', 'first: hello.txt', cwd=repo)
    with open(repo + '/hello.txt', 'a') as f:
        f.write('a second line, for the diff\n')
    with open(repo + '/blob.bin', 'wb') as f:
        f.write(BLOB)
    hg('add', 'blob.bin', cwd=repo)
    hg('commit', '-m', 'second: a line and a binary file', cwd=repo)
    return hg('log', '-r', 'tip', '-T', '{node}', cwd=repo)


def flows(base, wd, repo=REPO):
    """The flows through nginx at base (http://HOST:PORT); wd: for the clone;
    repo: where /srv/hg/demo is seen from here (a new changeset is committed)."""
    b = h.Browser(base)
    base = base + '/hg'
    st, _, body = b.get('/hg/')
    check('index: lists the repository', st == 200 and b'demo' in body, f'{st} {body[:200]!r}')
    st, _, body = b.get('/hg/demo/')
    check('summary/log: the changesets\' messages', st == 200 and b'first: hello.txt' in body
          and b'second: a line' in body, f'{st} {body[:300]!r}')
    node = hg('log', '-r', 'tip', '-T', '{node}', cwd=repo)
    st, _, body = b.get(f'/hg/demo/rev/{node}')
    check('changeset: its page with the diff', st == 200 and b'a second line, for the diff'
          in body and node[:12].encode() in body, f'{st} {body[:300]!r}')
    st, hd, body = b.get('/hg/demo/raw-file/tip/blob.bin')
    check(f'raw file: byte-exact ({len(BLOB)} bytes)', st == 200 and body == BLOB,
          f'{st} {len(body)} bytes')
    st, hd, body = b.get('/hg/demo/raw-file/tip/hello.txt')
    check('raw file: the text', st == 200 and body == b'hello from hgweb\na second line, '
          b'for the diff\n', f'{st} {body!r}')
    st, hd, body = b.get('/hg/demo/archive/tip.tar.gz')
    names = []
    try:
        names = tarfile.open(fileobj=io.BytesIO(gzip.decompress(body))).getnames()
    except (OSError, tarfile.TarError, EOFError) as e:
        names = [str(e)]
    check('archive: a .tar.gz with the files', st == 200 and any(n.endswith('/blob.bin')
                                                                 for n in names), f'{st} {names}')
    st, _, body = b.get('/hg/demo/file/tip/nonexistent')
    check('a missing file: hgweb\'s own 404 page', st == 404, f'{st}')

    clone = os.path.join(wd, 'clone')
    try:
        out = hg('clone', f'{base}/demo', clone)
        ok = open(os.path.join(clone, 'blob.bin'), 'rb').read() == BLOB
    except (RuntimeError, OSError) as e:
        out, ok = str(e), False
    check('hg clone http://.../hg/demo: the files, byte-exact', ok, out[-400:])
    with open(repo + '/hello.txt', 'a') as f:
        f.write('third\n')
    hg('commit', '-m', 'third: pulled', cwd=repo)
    try:
        out = hg('pull', '-u', cwd=clone)
        ok = 'third' in open(os.path.join(clone, 'hello.txt')).read()
        ok = ok and hg('log', '-r', 'tip', '-T', '{desc}', cwd=clone) == 'third: pulled'
    except (RuntimeError, OSError) as e:
        out, ok = str(e), False
    check('hg pull: the new changeset', ok, out[-400:])
    try:
        out, ok = hg('verify', cwd=clone), True
    except RuntimeError as e:
        out, ok = str(e), False
    check('hg verify of the clone', ok, out[-400:])


SPAWN = """#!/usr/bin/python3
import subprocess
r = subprocess.run(["/bin/echo", "child ran"], capture_output=True)
print("Content-Type: text/plain\\n")
print("out=%s rc=%d" % (r.stdout.decode().strip(), r.returncode))
"""


def spawn_check(a, sock):
    """A Python CGI that runs a child with subprocess, over FastCGI itself
    (nginx routes /hg/ to hgweb.cgi only)."""
    path = '/usr/local/lib/hgweb/spawn.cgi'
    with open(path, 'w') as f:
        f.write(SPAWN)
    os.chmod(path, 0o755)
    r = subprocess.run([os.path.abspath(a.sfcgi), 'request', '-b', '-t', '20', sock, '/spawn.cgi',
                        '-p', 'SCRIPT_FILENAME=' + path], capture_output=True, text=True)
    check('a Python CGI\'s subprocess: the child runs (close_range before exec, "process")',
          'out=child ran rc=0' in r.stdout, r.stdout + r.stderr)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--sfcgi', required=True)
    ap.add_argument('--cgi', required=True)
    ap.add_argument('--workdir', required=True)
    ap.add_argument('--strace', help='by hand: strace -f the instance into this file')
    a = ap.parse_args()
    if os.geteuid() != 0:
        h.skip('needs root (a mount namespace, a system user)')
    for prog in ('hg', 'nginx', 'systemd-socket-activate', 'setpriv', 'unshare'):
        if not shutil.which(prog):
            h.skip(f'{prog} is not installed (scripts/install-deps.sh)')
    h.in_private_mounts()
    wd = os.path.abspath(a.workdir)
    shutil.rmtree(wd, ignore_errors=True)
    os.makedirs(wd)
    os.chmod(wd, 0o755)
    wd = h.reachable_workdir(wd, 'hgweb')  # the instance's user and www-data reach it
    a.sfcgi = h.reachable_sfcgi(a.sfcgi, wd)
    a.cgi = h.reachable_program(a.cgi, wd)
    for d in ('/usr/local/lib', '/etc/mercurial', '/srv'):
        h.overlay_dir(wd, d)
    h.overlay_program(wd, '/usr/bin/sfcgi-cgi', a.cgi)
    r = subprocess.run(['sh', h.contrib('hgweb', 'setup.sh')], capture_output=True, text=True)
    check('setup.sh', r.returncode == 0, r.stdout + r.stderr)
    user = 'sfcgi-test-hgweb'
    h.system_user(user)
    sock = os.path.join(h.short_sock_dir(wd), 'hgweb.sock')
    prefix = ['strace', '-f', '-qq', '-o', a.strace] if a.strace else []
    inst = ng = None
    try:
        make_repo()
        inst = h.Instance(os.path.abspath(a.sfcgi), h.contrib('hgweb', 'hgweb.json'), sock,
                          os.path.join(wd, 'sfcgi.log'), user=user, prefix=prefix)
        ng = h.Nginx(wd, [h.contrib('hgweb', 'nginx.conf')], [('/run/sfcgi/hgweb.sock', sock)])
        flows(ng.base, wd)
        spawn_check(a, sock)
        check('nginx: no upstream error', not ng.errors(), '\n'.join(ng.errors())[:800])
    except (RuntimeError, OSError, http.client.HTTPException) as e:
        check('the flows ran to their end', False, f'{type(e).__name__}: {e}')
    finally:
        if ng:
            ng.stop()
        if inst:
            inst.stop()
            bad = h.sandbox_trouble(inst.text())
            check('no worker or script killed by the sandbox or crashed during the flows',
                  not bad, '\n'.join(bad))
    return h.finish()


if __name__ == '__main__':
    sys.exit(main())
