#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Shell CGI scripts behind nginx through sfcgi-cgi, under the sandbox's
"shell" profile, as docs/migration.md gives them ("Shell CGI scripts"):
contrib/apps/shell-cgi/shell-cgi.json and nginx.conf, the instance run
under systemd-socket-activate as a system user this test creates (the
shipped unit runs it as a dynamic user: never root).

The scripts: tests/foreign/cgi-bin/env.sh (#!/bin/sh, dash), a bash form
handler (tests/apps/cgi-bin/form.bash: bash starts without HOME, looks the
user up, opens /dev/tty) and haserl's own example form from haserl(1)
(tests/apps/cgi-bin/form.haserl; haserl is Debian's shell CGI runtime: it
runs the <% %> blocks in /bin/sh). Fails if sfcgi's log shows a worker or a
script killed by the sandbox, but for tcp.bash, whose TCP connection the
profile must refuse. The documented files are used as they are but for the
socket path and nginx's port: the test runs in a mount namespace of its
own where /usr/lib/cgi-bin is an overlay holding the scripts and
/usr/bin/sfcgi-cgi is the build's. --learn FILE: by hand, "on_violation":
"log" and strace -f.
"""
import argparse
import hashlib
import os
import shutil
import sys
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import harness  # noqa: E402
from harness import check  # noqa: E402
from foreign_e2e import parse  # noqa: E402

APP = 'shell-cgi'
USER = 'sfcgi-apptest'  # a system user of this test's own


def run(a, work):
    # the documented paths, this test's files: /usr/lib/cgi-bin and /usr/bin
    # are overlays (in this process's mount namespace) whose writes land in work
    cgi_bin = '/usr/lib/cgi-bin'
    harness.overlay_dir(work, cgi_bin)
    harness.overlay_program(work, '/usr/bin/sfcgi-cgi', a.cgi)
    shutil.copy(os.path.join(HERE, '..', 'foreign', 'cgi-bin', 'env.sh'), cgi_bin)
    for n in ('form.bash', 'form.haserl', 'tcp.bash'):
        shutil.copy(os.path.join(HERE, 'cgi-bin', n), cgi_bin)
    sockdir = harness.short_sock_dir(work)
    sock = os.path.join(sockdir, APP + '.sock')
    logpath = os.path.join(work, 'sfcgi.log')

    cpath = harness.contrib(APP, APP + '.json')
    prefix = []
    if a.learn:
        cpath = harness.learning_config(cpath, work, APP)
        prefix = ['strace', '-f', '-qq', '-o', a.learn]
    harness.system_user(USER)
    inst = harness.Instance(a.sfcgi, cpath, sock, logpath, user=USER, prefix=prefix)
    ngx = None
    try:
        ngx = harness.Nginx(work, [harness.contrib(APP, 'nginx.conf')],
                            [('/run/sfcgi/shell-cgi.sock', sock)])
        flows(ngx.base, USER)
        # but tcp.bash's, whose end sfcgi-cgi reports on FCGI_STDERR
        errs = [e for e in ngx.errors() if '/tcp.bash: killed by the sandbox' not in e]
        check('nginx logged no upstream error', not errs, '\n'.join(errs[-10:]))
    finally:
        if ngx:
            ngx.stop()
        inst.stop()
    # tcp.bash is meant to be killed (the flow checks it); nothing else may be
    lines = harness.sandbox_trouble(inst.text())
    check('the TCP script was killed by the sandbox (socket: unix only)',
          any('tcp.bash' in l and 'sandbox' in l for l in lines), '\n'.join(lines[-5:]))
    bad = [l for l in lines if 'tcp.bash' not in l]
    check('no worker or script killed by the sandbox (sfcgi log)', not bad, '\n'.join(bad[-20:]))


def flows(base, user):
    """The flows through nginx at base (http://HOST:PORT); user: who the
    scripts run as."""
    b = harness.Browser(base)
    # dash: GET with PATH_INFO, POST with a body piped through head and sha256sum
    st, h, body = b.get('/cgi-bin/env.sh/some/path?x=42')
    p = parse(body)
    check('sh: GET, SCRIPT_NAME and PATH_INFO from the documented location',
          st == 200 and p.get('app') == 'cgi-sh' and p.get('x') == '42'
          and p.get('script_name') == '/cgi-bin/env.sh' and p.get('path_info') == '/some/path',
          f'{st} {body[:400]!r}')
    data = os.urandom(100000)
    st, h, body = b.request('/cgi-bin/env.sh', body=data,
                            headers={'Content-Type': 'application/octet-stream'})
    p = parse(body)
    check('sh: POST body arrives whole', st == 200 and p.get('method') == 'POST'
          and p.get('body_sha256') == hashlib.sha256(data).hexdigest(), f'{st} {body[:400]!r}')

    # bash: a form post, commands, a lookup of the user, a redirection
    st, h, body = b.post_form('/cgi-bin/form.bash', {'name': 'sfcgi shell'})
    p = parse(body)
    check('bash: the form post is decoded and answered',
          st == 200 and p.get('hello') == 'SFCGI SHELL' and p.get('words') == '2'
          and p.get('redirect') == 'ok' and p.get('readable') == 'yes'
          and p.get('shell', '').startswith('bash 5'), f'{st} {body[:400]!r}')
    check(f'bash: the script runs as the instance\'s user ({user}), not root',
          p.get('user') == user, repr(p.get('user')))

    # haserl, haserl(1)'s own "Self Referencing CGI with a form"
    st, h, body = b.get('/cgi-bin/form.haserl?' + urllib.parse.urlencode(
        {'textfield': 'hello <b>world</b>'}))
    check('haserl: the form comes back sanitised and upper-cased',
          st == 200 and b'Value="HELLO BWORLDB"' in body
          and b'action="/cgi-bin/form.haserl"' in body, f'{st} {body[:600]!r}')

    # the profile's socket() is for unix sockets (nscd) only: TCP ends the script
    st, h, body = b.get('/cgi-bin/tcp.bash')
    check('bash: a TCP connection is refused (502, nothing sent)',
          st == 502 and b'connected' not in body, f'{st} {body[:300]!r}')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--sfcgi', required=True)
    ap.add_argument('--cgi', required=True)
    ap.add_argument('--workdir', required=True)
    ap.add_argument('--learn', help='strace -f output file; the sandbox only logs')
    a = ap.parse_args()
    work = harness.prepare(a.workdir, 'shell-cgi',
                           ('haserl', 'bash', 'nginx', 'systemd-socket-activate', 'setpriv',
                            'useradd', 'unshare'),
                           'creates a system user, mounts, runs nginx and the instance')
    a.sfcgi = harness.reachable_program(a.sfcgi, work)
    a.cgi = harness.reachable_program(a.cgi, work)
    return harness.timed(run, a, work)


if __name__ == '__main__':
    sys.exit(main())
