#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Git web front ends from Debian 12, unmodified, deployed as
docs/migration.md ("Git web front ends") says, behind a real nginx:

  cgit            cgit.cgi through sfcgi-cgi (contrib/apps/cgit)
  gitweb          gitweb.cgi as a CGI script through sfcgi-cgi, at
                  /cgi-bin/gitweb.cgi: the documented /cgi-bin/ snippet
                  (contrib/apps/gitweb)
  gitweb-fastcgi  gitweb.cgi --fastcgi (CGI::Fast), a foreign program
                  (contrib/apps/gitweb-fastcgi)

The runbook, for each: in a mount namespace of the test's own, where
what is written to /var/lib/git and /etc/cgitrc lands in the work directory
(an overlay, a bind mount) and /usr/bin/sfcgi-cgi is the build's, run the
documented setup.sh, start the documented JSON with `sfcgi run` under
systemd-socket-activate as a system user (the unit's DynamicUser=), start
nginx with the documented snippet (its socket path the only change), push a
second commit as a user would, then drive the pages — project list,
summary, log, tree, blob, commit diff, tar.gz snapshot (untarred and
compared with the repository), and for cgit a `git clone` over dumb HTTP —
asserting on content. Fails if sfcgi's log says a worker or a script was
killed. Exit 0 all passed, 1 not, 77 when not root. --learn FILE: by hand,
"on_violation": "log" and strace -f.
"""
import argparse
import http.client
import io
import os
import re
import shutil
import subprocess
import sys
import tarfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import harness  # noqa: E402
from harness import check, log  # noqa: E402

USER = 'sfcgi-test-git'
REPO = '/var/lib/git/demo.git'  # what setup.sh makes


def get(base, path, timeout=15):
    """GET path from nginx at base (http://HOST:PORT): (status, headers,
    body); status 0 when nothing came (the body says why)."""
    host, port = harness.host_port(base)
    c = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        c.request('GET', path, headers={'Host': f'{host}:{port}'})
        r = c.getresponse()
        return r.status, dict((k.lower(), v) for k, v in r.getheaders()), r.read()
    except (OSError, http.client.HTTPException) as e:
        return 0, {}, f'GET {path}: {e!r}'.encode()
    finally:
        c.close()


def git(*args, cwd=None):
    return subprocess.run(['git'] + list(args), cwd=cwd, check=True, capture_output=True,
                          text=True, env=dict(os.environ, GIT_TERMINAL_PROMPT='0',
                                              HOME=os.environ.get('HOME', '/root'))).stdout


class Repo:
    """What the pages must show: the repository after a user pushed a
    second commit to what setup.sh created."""

    def __init__(self, workdir, path=REPO):
        """path: where REPO is seen from here."""
        self.work = os.path.join(workdir, 'clone-push')
        git('clone', '--quiet', path, self.work)
        with open(os.path.join(self.work, 'README'), 'a') as f:
            f.write('A line the second commit adds.\n')
        os.makedirs(os.path.join(self.work, 'src'), exist_ok=True)
        with open(os.path.join(self.work, 'src', 'hello.c'), 'w') as f:
            f.write('int main(void) { return 0; }\n')
        git('add', '-A', cwd=self.work)
        git('-c', 'user.name=Alice', '-c', 'user.email=alice@example.org', 'commit',
            '--quiet', '-m', 'Second commit: hello.c and a README line', cwd=self.work)
        git('tag', '-a', '-m', 'Release 1.0', 'v1.0', cwd=self.work)
        git('push', '--quiet', 'origin', 'HEAD:main', 'v1.0', cwd=self.work)
        self.head = git('--git-dir', path, 'rev-parse', 'refs/heads/main').strip()
        self.first = git('--git-dir', path, 'rev-parse', 'refs/heads/main~1').strip()
        self.files = {}
        for name in git('--git-dir', path, 'ls-tree', '-r', '--name-only', 'main').split():
            self.files[name] = subprocess.run(['git', '--git-dir', path, 'show',
                                               'main:' + name], check=True,
                                              capture_output=True).stdout


def check_tarball(label, body, repo, prefix):
    """A snapshot: gzip'd tar whose files are the repository's, byte for byte."""
    try:
        t = tarfile.open(fileobj=io.BytesIO(body), mode='r:gz')
        got = {m.name[len(prefix):]: t.extractfile(m).read() for m in t.getmembers()
               if m.isfile() and m.name.startswith(prefix)}
    except (tarfile.TarError, OSError, EOFError) as e:
        return check(f'{label}: snapshot is a tar.gz', False, f'{e}; {len(body)} bytes')
    return check(f'{label}: snapshot untars to the repository\'s files, byte for byte',
                  got == repo.files, f'{sorted(got)} vs {sorted(repo.files)}')


def flows_cgit(base, repo, workdir):
    st, h, b = get(base, '/cgit/')
    t = b.decode(errors='replace')
    check('cgit: repository list names demo and its description',
          st == 200 and "href='/cgit/demo/'" in t and 'demo repository' in t, f'{st} {t[:400]}')
    st, h, b = get(base, '/cgit-css/cgit.css')
    check('cgit: style sheet from /usr/share/cgit', st == 200 and b'div#cgit' in b, str(st))
    st, h, b = get(base, '/cgit/demo/')
    t = b.decode(errors='replace')
    # Debian's fastcgi_params sends HTTP_HOST as nginx's $host: no base
    check('cgit: summary shows branch main, the last commit and the clone URL',
          st == 200 and 'main' in t and 'Second commit: hello.c' in t and
          "<a rel='vcs-git' href='http://127.0.0.1/cgit/demo'" in t, f'{st} {t[-1500:]}')
    st, h, b = get(base, '/cgit/demo/log/')
    t = b.decode(errors='replace')
    check('cgit: log lists both commits', st == 200 and 'Second commit: hello.c' in t and
          'first commit' in t, f'{st} {t[:600]}')
    st, h, b = get(base, '/cgit/demo/tree/')
    t = b.decode(errors='replace')
    check('cgit: tree lists README and src', st == 200 and "tree/README'" in t and
          "tree/src'" in t, f'{st} {t[:600]}')
    st, h, b = get(base, '/cgit/demo/tree/README')
    t = b.decode(errors='replace')
    check('cgit: blob view shows README\'s lines', st == 200 and
          'A line the second commit adds.' in t, f'{st} {t[:600]}')
    st, h, b = get(base, '/cgit/demo/plain/src/hello.c')
    check('cgit: plain blob is the file, byte for byte', st == 200 and
          b == repo.files['src/hello.c'], f'{st} {b[:200]!r}')
    st, h, b = get(base, f'/cgit/demo/commit/?id={repo.head}')
    t = b.decode(errors='replace')
    check('cgit: commit view shows the diff (the added line and file)', st == 200 and
          'A line the second commit adds.' in t and 'src/hello.c' in t and
          repo.first in t, f'{st} {t[:600]}')
    more_cgit(base, repo)
    st, h, b = get(base, '/cgit/demo/snapshot/demo-main.tar.gz')
    check('cgit: snapshot answers 200 application/x-gzip', st == 200 and
          h.get('content-type', '').startswith('application/x-gzip'), f'{st} {h}')
    check_tarball('cgit', b, repo, 'demo-main/')
    dest = os.path.join(workdir, 'clone-http')
    r = subprocess.run(['git', 'clone', '--quiet', f'{base}/cgit/demo', dest],
                       capture_output=True, text=True, timeout=120,
                       env=dict(os.environ, GIT_TERMINAL_PROMPT='0'))
    head = git('-C', dest, 'rev-parse', 'HEAD').strip() if r.returncode == 0 else ''
    check('cgit: git clone over dumb HTTP has the right HEAD commit',
          r.returncode == 0 and head == repo.head, f'{r.returncode} {r.stderr[-600:]} {head}')
    if r.returncode == 0:
        with open(os.path.join(dest, 'src', 'hello.c'), 'rb') as f:
            check('cgit: the clone\'s work tree is the repository\'s',
                  f.read() == repo.files['src/hello.c'])


def more_cgit(base, repo):
    """Pages beyond the brief's list, so the profile is shown to cover them too."""
    pages = [('refs', '/cgit/demo/refs/', ['v1.0', 'main']),
             ('log search', '/cgit/demo/log/?qt=grep&q=hello.c', ['Second commit: hello.c']),
             ('log search, a plain word', '/cgit/demo/log/?qt=grep&q=Second',
              ['Second commit: hello.c']),
             ('patch', f'/cgit/demo/patch/?id={repo.head}',
              ['+A line the second commit adds.', 'Subject: Second commit']),
             ('atom feed', '/cgit/demo/atom/?h=main', ['<feed', 'Second commit: hello.c']),
             ('diff', f'/cgit/demo/diff/?id={repo.head}&id2={repo.first}', ['src/hello.c'])]
    for name, path, want in pages:
        st, h, b = get(base, path)
        t = b.decode(errors='replace')
        check(f'cgit: {name} page', st == 200 and all(w in t for w in want),
              f'{st} {t[:400]}')


def more_gitweb(label, base, repo, q):
    pages = [('tags', q('p=demo.git;a=tags'), ['v1.0']),
             # the results highlight what matched: no results (git died) has none
             ('search', q('p=demo.git;a=search;h=main;st=commit;s=hello.c'),
              ['Second commit: hello.c', '<span class="match">hello.c</span>']),
             ('history', q('p=demo.git;a=history;f=README;hb=main'),
              ['Second commit: hello.c', 'first commit']),
             ('patch', q(f'p=demo.git;a=patch;h={repo.head}'),
              ['+A line the second commit adds.', 'Subject: [PATCH] Second commit']),
             ('atom feed', q('p=demo.git;a=atom'), ['<feed', 'Second commit: hello.c']),
             ('blobdiff', q(f'p=demo.git;a=blobdiff;f=README;hb={repo.head};hpb={repo.first}'),
              ['A line the second commit adds.'])]
    for name, path, want in pages:
        st, h, b = get(base, path)
        t = b.decode(errors='replace').replace('&nbsp;', ' ')
        check(f'{label}: {name} page', st == 200 and all(w in t for w in want),
              f'{st} {t[:400]}')


def flows_gitweb(label, base, repo, script, static):
    q = lambda s: f'{script}?{s}'  # noqa: E731
    st, h, b = get(base, script)
    t = b.decode(errors='replace')
    check(f'{label}: project list names demo.git and its description',
          st == 200 and 'p=demo.git;a=summary' in t and 'demo repository' in t,
          f'{st} {t[:600]}')
    st, h, b = get(base, static)
    with open('/usr/share/gitweb/static/gitweb.css', 'rb') as f:
        check(f'{label}: static gitweb.css from /usr/share/gitweb', st == 200 and b == f.read(),
              str(st))
    st, h, b = get(base, q('p=demo.git;a=summary'))
    t = b.decode(errors='replace')
    check(f'{label}: summary shows the description and the last commit',
          st == 200 and 'demo repository' in t and 'Second commit: hello.c' in t,
          f'{st} {t[:600]}')
    st, h, b = get(base, q('p=demo.git;a=log'))
    t = b.decode(errors='replace')
    check(f'{label}: log shows both commits', st == 200 and
          'Second commit: hello.c' in t and 'first commit' in t, f'{st} {t[:600]}')
    st, h, b = get(base, q('p=demo.git;a=tree;hb=main'))
    t = b.decode(errors='replace')
    check(f'{label}: tree lists README and src', st == 200 and 'f=README' in t and
          'f=src' in t, f'{st} {t[:600]}')
    st, h, b = get(base, q('p=demo.git;a=blob;f=README;hb=main'))
    t = b.decode(errors='replace').replace('&nbsp;', ' ')  # gitweb's spaces in code
    check(f'{label}: blob shows README\'s lines', st == 200 and
          'A line the second commit adds.' in t, f'{st} {t[:600]}')
    st, h, b = get(base, q('p=demo.git;a=blob_plain;f=src/hello.c;hb=main'))
    check(f'{label}: blob_plain is the file, byte for byte',
          st == 200 and b == repo.files['src/hello.c'], f'{st} {b[:200]!r}')
    st, h, b = get(base, q(f'p=demo.git;a=commitdiff;h={repo.head}'))
    t = b.decode(errors='replace').replace('&nbsp;', ' ')
    check(f'{label}: commitdiff shows the added line and file', st == 200 and
          'A line the second commit adds.' in t and 'src/hello.c' in t, f'{st} {t[:600]}')
    more_gitweb(label, base, repo, q)
    st, h, b = get(base, q('p=demo.git;a=snapshot;h=main;sf=tgz'))
    check(f'{label}: snapshot answers 200 application/x-gzip', st == 200 and
          h.get('content-type', '').startswith('application/x-gzip'), f'{st} {h}')
    check_tarball(label, b, repo, f'demo-main-{repo.head[:7]}/')


def flows_gitweb_cgi_bin(base, repo):
    """gitweb at /cgi-bin/gitweb.cgi (contrib/apps/gitweb), nginx at base."""
    flows_gitweb('gitweb', base, repo, '/cgi-bin/gitweb.cgi', '/cgi-bin/static/gitweb.css')
    # the /cgi-bin/ block's PATH_INFO: gitweb takes the project from it
    st, h, b = get(base, '/cgi-bin/gitweb.cgi/demo.git')
    t = b.decode(errors='replace')
    check('gitweb: /cgi-bin/gitweb.cgi/demo.git (PATH_INFO) is demo\'s summary',
          st == 200 and 'Second commit: hello.c' in t and
          'href="/cgi-bin/gitweb.cgi' in t, f'{st} {t[:600]}')


def flows_gitweb_fastcgi(base, repo):
    """gitweb --fastcgi at /gitweb/ (contrib/apps/gitweb-fastcgi), nginx at base."""
    flows_gitweb('gitweb-fastcgi', base, repo, '/gitweb/', '/gitweb/static/gitweb.css')


def cgi_bin_blocks():
    """The `location /cgi-bin/ { ... }` block of gitweb's nginx.conf, and
    those docs/migration.md and sfcgi-cgi(1) give for fcgiwrap users, with
    the socket name made the same: (tested, [documented...])."""
    def block(text):
        m = re.search(r'^location /cgi-bin/ \{\n.*?^\}\n', text, re.S | re.M)
        return m.group(0).replace('/gitweb.sock;', '/cgi.sock;') if m else None
    with open(harness.contrib('gitweb', 'nginx.conf')) as f:
        tested = block(f.read())
    with open(os.path.join(harness.ROOT, 'docs', 'migration.md')) as f:
        doc = block(f.read())
    with open(os.path.join(harness.ROOT, 'man', 'sfcgi-cgi.1')) as f:
        man = block(f.read().replace('\\-', '-'))
    return tested, [doc, man]


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument('--sfcgi', required=True)
    ap.add_argument('--cgi', required=True, help='the build tree\'s sfcgi-cgi')
    ap.add_argument('--workdir', required=True)
    ap.add_argument('--learn', help='strace -f output file; the sandbox only logs')
    ap.add_argument('app', choices=['cgit', 'gitweb', 'gitweb-fastcgi'])
    a = ap.parse_args()
    work = harness.prepare(
        a.workdir, a.app, ('git', 'nginx', 'systemd-socket-activate', 'setpriv', 'useradd',
                           'unshare', {'cgit': '/usr/lib/cgit/cgit.cgi'}.get(
                               a.app, '/usr/share/gitweb/gitweb.cgi')),
        'creates a system user, mounts, runs nginx and the instance')
    a.sfcgi = harness.reachable_program(a.sfcgi, work)
    a.cgi = harness.reachable_program(a.cgi, work)
    return harness.timed(run, a, work)


def run(a, work):
    """The runbook: the documented paths are this test's files (this mount
    namespace only), setup.sh, the instance, nginx, a push, the pages."""
    app = a.app
    harness.overlay_dir(work, '/var/lib/git')  # setup.sh's repository lands in work
    cgitrc = os.path.join(work, 'cgitrc')
    shutil.copy('/etc/cgitrc', cgitrc)
    harness.bind(cgitrc, '/etc/cgitrc')  # cgit's setup.sh writes it
    harness.overlay_program(work, '/usr/bin/sfcgi-cgi', a.cgi)
    setup = harness.contrib('gitweb' if app == 'gitweb-fastcgi' else app, 'setup.sh')
    r = subprocess.run(['sh', setup], capture_output=True, text=True)
    if not check(f'{app}: setup.sh runs', r.returncode == 0, r.stdout + r.stderr):
        return
    repo = Repo(work)
    sockdir = harness.short_sock_dir(work)
    sock = os.path.join(sockdir, app + '.sock')
    logpath = os.path.join(work, 'sfcgi.log')
    cpath, prefix = harness.contrib(app, app + '.json'), []
    if a.learn:
        cpath = harness.learning_config(cpath, work, app)
        prefix = ['strace', '-f', '-qq', '-o', a.learn]
    harness.system_user(USER)
    inst = harness.Instance(a.sfcgi, cpath, sock, logpath, user=USER, prefix=prefix)
    web = None
    try:
        web = harness.Nginx(work, [harness.contrib(app, 'nginx.conf')],
                            [(f'/run/sfcgi/{app}.sock', sock)])
        if app == 'cgit':
            flows_cgit(web.base, repo, work)
        elif app == 'gitweb':
            tested, docs = cgi_bin_blocks()
            check('gitweb: its /cgi-bin/ block is the one docs/migration.md and sfcgi-cgi(1) '
                  'give', tested is not None and docs == [tested, tested],
                  f'{tested!r} vs {docs!r}')
            flows_gitweb_cgi_bin(web.base, repo)
        else:
            flows_gitweb_fastcgi(web.base, repo)
            exits = [ln for ln in inst.text().splitlines() if 'exited' in ln]
            check('gitweb-fastcgi: persistent: no worker exited during the flows',
                  not exits, '\n'.join(exits))
            gitweb_error_page(web.base, inst)
        errs = web.errors()
        check(f'{app}: nginx logged no upstream error', not errs, '\n'.join(errs[-10:]))
    finally:
        if web:
            web.stop()
        inst.stop()
    bad = harness.sandbox_trouble(inst.text())
    check(f'{app}: no worker or script killed by the sandbox (sfcgi log)', not bad,
          '\n'.join(bad[-20:]))


def gitweb_error_page(base, inst):
    """gitweb --fastcgi leaves its request loop after an error page (its
    die_error jumps to DONE_GITWEB) and exits 0: the next request must
    still be served, by a replacement. What the supervisor logs about the
    exit is printed (how it is worded is another part of issue 10)."""
    before = inst.text()
    st, h, b = get(base, '/gitweb/?p=nonexistent.git;a=summary')
    check('gitweb-fastcgi: an unknown project is a 404 page', st == 404 and
          b'No such project' in b, f'{st} {b[:300]!r}')
    harness.wait_for(lambda: 'exited' in inst.text()[len(before):], 5)
    for line in inst.text()[len(before):].splitlines():
        log('# after the error page, sfcgi logged: ' + line)
    st, h, b = get(base, '/gitweb/?p=demo.git;a=summary')
    check('gitweb-fastcgi: the next request is served', st == 200 and b'demo repository' in b,
          f'{st} {b[:300]!r}')


if __name__ == '__main__':
    sys.exit(main())
