#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""ikiwiki (Debian 12's package) behind nginx, its CGI through sfcgi-cgi,
set up and run exactly as docs/migration.md says ("Perl CGI: ikiwiki"):

1. contrib/apps/ikiwiki/setup.sh makes the wiki in /var/lib/ikiwiki (the
   system user "ikiwiki", `ikiwiki --dumpsetup` and `ikiwiki --setup`, the
   CGI wrapper built without the setuid bit);
2. `sfcgi run --config contrib/apps/ikiwiki/ikiwiki.json` under
   systemd-socket-activate, as the user ikiwiki (the drop-in's User=) with
   the unit's UMask=0077, the sandbox's "perl" profile;
3. nginx including contrib/apps/ikiwiki/nginx.conf serves the built pages
   and passes /ikiwiki.cgi to the instance;
4. a browser: view the front page, open the SandBox's edit form (session
   cookie and its sid), save new text, see the rebuilt static page show it;
   create a new page the same way;
5. fails if sfcgi's log shows a worker or a script killed by the sandbox.

The documented files are used as they are but for the socket path and
nginx's port: the test runs in a mount namespace of its own where /var/lib
is an overlay whose writes land in the work directory, and
/usr/bin/sfcgi-cgi is the build's. --learn FILE: by hand, runs the instance
with "on_violation": "log" under strace -f into FILE (what a profile needs).
"""
import argparse
import html
import os
import re
import subprocess
import sys
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import harness  # noqa: E402
from harness import check  # noqa: E402

APP = 'ikiwiki'
DOC_DIR = '/var/lib/ikiwiki'


def edit_form(body):
    """The fields of ikiwiki's edit form (CGI::FormBuilder: no form id), as
    a browser would post them after pressing "Save Page"."""
    m = re.search(r'<form\b[^>]*>(.*?)</form>', body, re.S)
    if not m or 'name="editcontent"' not in m.group(1):
        return None
    out = {}
    for inp in re.finditer(r'<input\b([^>]*)>', m.group(1)):
        a = dict(re.findall(r'(\w+)="([^"]*)"', inp.group(1)))
        if 'name' in a and a.get('type') == 'hidden':
            out[a['name']] = html.unescape(a.get('value', ''))
    for sel in re.finditer(r'<select\b[^>]*name="([^"]+)"[^>]*>(.*?)</select>', m.group(1), re.S):
        opt = re.search(r'<option selected="selected" value="([^"]*)"', sel.group(2))
        out[sel.group(1)] = html.unescape(opt.group(1)) if opt else ''
    t = re.search(r'<textarea\b[^>]*name="editcontent"[^>]*>(.*?)</textarea>', m.group(1), re.S)
    out['editcontent'] = html.unescape(t.group(1))
    out['_submit'] = 'Save Page'
    return out


def save_page(b, query, text, what):
    """Opens the edit form of query, saves text; True if ikiwiki said done."""
    st, h, body = b.get('/ikiwiki.cgi?' + query)
    body = body.decode(errors='replace')
    form = edit_form(body)
    if not check(f'{what}: the edit form, with a session cookie and its sid',
                 st == 200 and form is not None and form.get('sid')
                 and form['sid'] in b.cookies.values(),
                 f'{st} cookies={b.cookies} {body[:600]!r}'):
        return False
    form['editcontent'] = text
    st, h, body = b.post_form('/ikiwiki.cgi', form)
    loc = h.get('location', '')
    return check(f'{what}: saved (ikiwiki redirects to the rebuilt page)',
                 st in (302, 303) and 'updated' in loc, f'{st} {h} {body[:600]!r}') and loc


def run(a, work):
    wiki = DOC_DIR
    sockdir = harness.short_sock_dir(work)
    sock = os.path.join(sockdir, APP + '.sock')
    logpath = os.path.join(work, 'sfcgi.log')
    # the documented paths, this test's files: /var/lib and /usr/bin are
    # overlays (in this process's mount namespace) whose writes land in work
    harness.overlay_dir(work, '/var/lib')
    harness.overlay_program(work, '/usr/bin/sfcgi-cgi', a.cgi)

    # 1. the one-time setup, as the docs give it
    r = subprocess.run(['sh', harness.contrib(APP, 'setup.sh')], cwd='/',
                       capture_output=True, text=True)
    if not check('setup.sh builds the wiki and its CGI wrapper',
                 r.returncode == 0 and os.path.exists(wiki + '/cgi-bin/ikiwiki.cgi'),
                 r.stdout[-2000:] + r.stderr[-2000:]):
        return
    mode = os.stat(wiki + '/cgi-bin/ikiwiki.cgi').st_mode
    check('the CGI wrapper has no setuid bit (cgi_wrappermode)', not mode & 0o6000, oct(mode))

    # 2. the instance, with the documented config
    cpath = harness.contrib(APP, APP + '.json')
    if a.learn:
        cpath = harness.learning_config(cpath, work, APP)
    # the unit's UMask=0077: what ikiwiki writes must still be readable by nginx
    prefix = ['sh', '-c', 'umask 077 && exec "$@"', 'sh']
    prefix += ['strace', '-f', '-qq', '-o', a.learn] if a.learn else []
    inst = harness.Instance(a.sfcgi, cpath, sock, logpath, user='ikiwiki', prefix=prefix)
    ngx = None
    try:
        # 3. nginx with the documented location blocks
        ngx = harness.Nginx(work, [harness.contrib(APP, 'nginx.conf')],
                            [('/run/sfcgi/ikiwiki.sock', sock)])
        flows(ngx.base)
        errs = ngx.errors()
        check('nginx logged no upstream error', not errs, '\n'.join(errs[-10:]))
    finally:
        if ngx:
            ngx.stop()
        inst.stop()
    setuid_wrapper(wiki)
    # 5. nothing killed by the sandbox on the way
    bad = harness.sandbox_trouble(inst.text())
    check('no worker or script killed by the sandbox (sfcgi log)', not bad, '\n'.join(bad[-20:]))


def setuid_wrapper(wiki):
    """What docs/migration.md says of ikiwiki's default, setuid wrapper: run
    by another user (nobody) it works, under no_new_privs (which sfcgi's
    sandbox sets) the bit is ignored and ikiwiki cannot write its wiki."""
    cgi = wiki + '/cgi-bin/ikiwiki.cgi'
    env = {'REQUEST_METHOD': 'GET', 'QUERY_STRING': 'do=edit&page=sandbox',
           'GATEWAY_INTERFACE': 'CGI/1.1', 'HTTP_HOST': 'localhost', 'PATH': '/usr/bin:/bin'}
    os.chmod(cgi, 0o6755)
    try:
        out = {}
        for nnp in ([], ['--no-new-privs']):
            r = subprocess.run(['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups']
                               + nnp + [cgi], env=env, capture_output=True, cwd='/')
            out[bool(nnp)] = r.stdout.decode(errors='replace')
    finally:
        os.chmod(cgi, 0o755)
    check('a setuid wrapper (06755) run by another user opens the edit form',
          'name="editcontent"' in out[False], out[False][-400:])
    check('... but under no_new_privs runs as that user: "Permission denied", no form',
          'name="editcontent"' not in out[True] and 'Permission denied' in out[True],
          out[True][-400:])


def flows(base):
    """The flows through nginx at base (http://HOST:PORT)."""
    b = harness.Browser(base)
    st, h, body = b.get('/')
    check('the front page is the static page ikiwiki built',
          st == 200 and b'Welcome to your new wiki' in body, f'{st} {body[:300]!r}')

    # the SandBox: edit, save, and the static page shows it
    word = 'sfcgi-' + os.urandom(6).hex()
    loc = save_page(b, 'do=edit&page=sandbox',
                    f'Edited through sfcgi-cgi: **{word}**\n\nSee [[index]].\n', 'edit SandBox')
    if loc:
        path = urllib.parse.urlsplit(loc).path
        st, h, body = b.get(path)
        check('the rebuilt SandBox page shows the new text',
              st == 200 and f'<strong>{word}</strong>'.encode() in body,
              f'{path}: {st} {body[:600]!r}')
        # what nginx serves is what ikiwiki wrote: a new request, no cache
        st, h, body = b.get('/sandbox/')
        check('GET /sandbox/ (static) has it too', word.encode() in body, f'{st}')

    # a new page: create, save, served statically, linked from the SandBox
    word2 = 'page-' + os.urandom(6).hex()
    loc = save_page(b, 'do=create&page=sfcgitest&from=sandbox',
                    f'A page made through the CGI: {word2}\n', 'create a page')
    if loc:
        st, h, body = b.get('/sfcgitest/')
        check('the new page is built and served', st == 200 and word2.encode() in body,
              f'{st} {body[:600]!r}')
    # the wrapper's cgilock and ikiwiki's own lock were taken and given back:
    # a second edit in a row still works
    st, h, body = b.get('/ikiwiki.cgi?do=edit&page=sfcgitest')
    check('a further edit form opens (locks released)',
          st == 200 and edit_form(body.decode(errors='replace')) is not None, f'{st}')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--sfcgi', required=True)
    ap.add_argument('--cgi', required=True)
    ap.add_argument('--workdir', required=True)
    ap.add_argument('--learn', help='strace -f output file; the sandbox only logs')
    a = ap.parse_args()
    work = harness.prepare(a.workdir, 'ikiwiki',
                           ('ikiwiki', 'nginx', 'systemd-socket-activate', 'setpriv', 'cc',
                            'unshare'),
                           'creates the system user ikiwiki, mounts, runs nginx and the instance')
    a.sfcgi = harness.reachable_program(a.sfcgi, work)
    a.cgi = harness.reachable_program(a.cgi, work)
    return harness.timed(run, a, work)


if __name__ == '__main__':
    sys.exit(main())
