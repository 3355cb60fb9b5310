#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""DokuWiki (Debian's package, php-cgi 8.2 with opcache) under sfcgi, the
way docs/migration.md deploys it, behind a real nginx.

Runbook:
  1. contrib/apps/dokuwiki/setup.sh adds two wiki users (DokuWiki's own user
     manager; the password on stdin);
  2. `sfcgi run --config contrib/apps/dokuwiki/dokuwiki.json` under
     systemd-socket-activate, as www-data (the drop-in's User=);
  3. nginx includes contrib/apps/dokuwiki/nginx.conf;
  4. the flows: view, log in, edit and save with the CSRF token (sectok),
     the draft/lock refresh a browser's editor sends, the page lock a second
     user meets, an edit conflict, media uploads (the media manager's form,
     multipart; the JavaScript uploader's raw body; an overwrite, which
     copies the old version to the attic with PHP's copy()) checked
     byte-exact on disk and as served back, the fulltext index (taskrunner)
     and search, log out;
  5. fails if sfcgi's log reports a worker killed by the sandbox or crashed.

It writes to the system's wiki (/var/lib/dokuwiki), under the namespace
"sfcgitest", which it removes before and after. Root only (77 otherwise).
--strace FILE runs the instance under strace -f (by hand: what the program
calls, to derive the "php" profile).
"""
import argparse
import hashlib
import http.client
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import time
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
from harness import check  # noqa: E402

DATA = '/var/lib/dokuwiki/data'
NS = 'sfcgitest'
USERS = [('sfcgi-editor', 'sfcgi-editor@localhost', 'sfcgi editor one'),
         ('sfcgi-editor2', 'sfcgi-editor2@localhost', 'sfcgi editor two')]


def password(login):
    # the test's own throw-away accounts on a test machine
    return 'pw-' + hashlib.sha256(login.encode()).hexdigest()[:16]


def png(w, h_, seed):
    """A valid PNG of w x h random-looking pixels (incompressible, so the
    upload is as large as it looks)."""
    raw = b''.join(b'\0' + hashlib.shake_256(seed + struct.pack('>I', y)).digest(w * 3)
                   for y in range(h_))

    def chunk(t, d):
        return struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d))
    return (b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h_, 8, 2, 0, 0, 0))
            + chunk(b'IDAT', zlib.compress(raw, 0)) + chunk(b'IEND', b''))


def clean(data=DATA):
    for d in ('pages', 'meta', 'attic', 'media', 'media_attic', 'media_meta'):
        shutil.rmtree(os.path.join(data, d, NS), ignore_errors=True)
    for page in (f'{NS}:page',):
        if os.path.exists(lockfile(page, data)):
            os.unlink(lockfile(page, data))


def lockfile(page, data=DATA):
    return os.path.join(data, 'locks', hashlib.md5(page.encode()).hexdigest() + '.lock')


def text(body):
    return body.decode('utf-8', 'replace')


def said(body):
    """What a DokuWiki page says, for a failure's detail: headings, messages."""
    t = text(body)
    return ' | '.join(re.findall(r'<h1 class="section[^>]*>([^<]*)', t) + re.findall(
        r'<div class="(?:error|info|success|notify)">(.*?)</div>', t, re.S))[:400]


def login(b, user):
    st, _, body = b.get('/dokuwiki/doku.php?id=start&do=login')
    f = h.form_fields(text(body), 'dw__login')
    check(f'{user}: the login form', st == 200 and f is not None, f'{st}')
    f.update(u=user, p=password(user))
    st, _, body = b.post_form('/dokuwiki/doku.php?id=start', f)
    st, _, body = b.get('/dokuwiki/doku.php?id=start')
    return check(f'{user}: logged in ("Logged in as")', 'Logged in as' in text(body)
                 and user in text(body), f'{st} {b.cookies}')


def edit_form(b, page):
    st, _, body = b.get(f'/dokuwiki/doku.php?id={page}&do=edit')
    return st, text(body), h.form_fields(text(body), 'dw__editform')


def save(b, page, form, wikitext):
    f = dict(form, wikitext=wikitext, summary='sfcgi test')
    f['do[save]'] = '1'
    return b.post_form(f'/dokuwiki/doku.php?id={page}&do=edit', f)


def flows(base, tag, data=DATA):
    """The flows through nginx at base (http://HOST:PORT); data: where the
    wiki's data directory is seen from here (DATA, or a container's)."""
    a, b2 = h.Browser(base), h.Browser(base)
    page = f'{NS}:page'
    pagefile = os.path.join(data, 'pages', NS, 'page.txt')

    st, hd, body = a.get('/dokuwiki/')
    check('view: the start page', st == 200 and '<title>start [' in text(body), f'{st}')
    st, hd, body = a.get('/dokuwiki/lib/exe/css.php?t=dokuwiki')
    check('view: the style sheet (css.php, its cache)', st == 200 and b'{' in body, f'{st}')
    st, hd, body = a.get('/dokuwiki/lib/exe/js.php?t=dokuwiki')
    check('view: the scripts (js.php)', st == 200 and b'function' in body, f'{st}')
    st, _, _ = a.get('/dokuwiki/conf/local.php')
    check('nginx: the paths DokuWiki\'s .htaccess denies are denied', st in (403, 404), f'{st}')

    if not login(a, USERS[0][0]) or not login(b2, USERS[1][0]):
        return

    # edit and save with the CSRF token; the lock while editing
    st, html, form = edit_form(a, page)
    check('edit: the edit form with its sectok', form is not None and len(form.get('sectok', ''))
          == 32, f'{st} {html[:300]!r}')
    if form is None:
        return
    check('edit: the page is locked while its editor edits it (data/locks)',
          os.path.exists(lockfile(page, data)))
    st, _, lbody = b2.get(f'/dokuwiki/doku.php?id={page}&do=edit')
    check('lock: a second user opening the editor is told it is locked',
          'id="page_locked"' in text(lbody) and 'name="do[save]"' not in text(lbody),
          said(lbody))
    # the editor's lock timer: an AJAX call that refreshes the lock and saves a draft
    st, _, body = a.post_form('/dokuwiki/lib/exe/ajax.php', {
        'call': 'lock', 'id': page, 'prefix': '', 'wikitext': f'draft {tag}', 'suffix': '',
        'date': form['date']})
    check('edit: the lock refresh with a draft (ajax.php call=lock)',
          st == 200 and b'1' in body, f'{st} {body[:200]!r}')
    wikitext = f'====== sfcgi test ======\n\nThe word {tag} is for the search.\n'
    st, hd, body = save(a, page, form, wikitext)
    check('edit: saving redirects (303) to the page', st in (302, 303), f'{st} {body[:200]!r}')
    st, _, body = a.get(f'/dokuwiki/doku.php?id={page}')
    check('edit: the saved page shows the text', st == 200 and tag in text(body), f'{st}')
    try:
        disk = open(pagefile).read()
    except OSError as e:
        disk = str(e)
    check('edit: the page file on disk is the text', disk.strip() == wikitext.strip(), disk[:200])
    check('edit: the lock is gone after saving', not os.path.exists(lockfile(page, data)))
    st, _, body = b2.get(f'/dokuwiki/doku.php?id={page}&do=edit')
    check('lock: the second user may edit now', 'name="do[save]"' in text(body))
    b2.post_form(f'/dokuwiki/doku.php?id={page}&do=edit', dict(
        h.form_fields(text(body), 'dw__editform'), **{'do[cancel]': '1'}))

    # an edit conflict: two editors of the same version, the second saves last
    # (DokuWiki compares the page file's mtime, in seconds)
    time.sleep(1.1)
    _, _, f1 = edit_form(a, page)
    _, _, f2 = edit_form(a, page)
    st, _, _ = save(a, page, f1, wikitext + '\nFirst edit.\n')
    st, _, body = save(a, page, f2, wikitext + '\nSecond edit.\n')
    check('conflict: saving over a newer version shows "A newer version exists" and the diff',
          'A newer version exists' in text(body) and 'diff' in text(body), said(body))
    check('conflict: the newer version stays on disk', 'First edit.' in open(pagefile).read())
    st, _, body = a.get(f'/dokuwiki/doku.php?id={page}&do=diff')
    check('revisions: the diff of the last change', st == 200 and 'First edit.' in text(body))

    # media: the media manager's upload form (multipart), then an overwrite
    st, _, body = a.get(f'/dokuwiki/doku.php?do=media&ns={NS}&tab_files=upload')
    m = re.search(r'<form id="dw__upload"[^>]*action="([^"]*)"', text(body))
    form = h.form_fields(text(body), 'dw__upload')
    check('media: the media manager\'s upload form', m is not None and form is not None)
    if not m or form is None:
        return
    action = h.unescape(m.group(1))
    for n, (name, img, ow) in enumerate([('one.png', png(200, 150, b'one'), False),
                                         ('one.png', png(220, 160, b'two'), True)]):
        f = dict(form, mediaid=name)
        if ow:
            f['ow'] = '1'
        st, _, body = a.post_multipart(action, f, {'upload': (name, img, 'image/png')})
        what = 'overwrite (the old one goes to the attic with copy())' if ow else 'new file'
        check(f'media: upload form, {what}: "Upload successful"', 'Upload successful' in text(body),
              f'{st} ' + ' '.join(re.findall(r'class="(?:error|msg)[^"]*"[^>]*>([^<]*)',
                                             text(body)))[:300])
        path = os.path.join(data, 'media', NS, name)
        on_disk = open(path, 'rb').read() if os.path.exists(path) else b''
        check(f'media: upload form, {what}: the file on disk is byte-exact ({len(img)} bytes)',
              on_disk == img, f'{len(on_disk)} bytes on disk')
        st, hd, served = a.get(f'/dokuwiki/lib/exe/fetch.php?media={NS}:{name}')
        check(f'media: upload form, {what}: fetch.php serves it byte-exact', st == 200 and
              served == img and hd.get('content-type') == 'image/png',
              f'{st} {len(served)} {hd.get("content-type")}')
    attic = os.path.join(data, 'media_attic', NS)
    old = png(200, 150, b'one')
    olds = [open(os.path.join(attic, n), 'rb').read() for n in os.listdir(attic)] \
        if os.path.isdir(attic) else []
    check('media: the overwritten version is in the attic, byte-exact (PHP copy())',
          old in olds, f'{[len(x) for x in olds]}')
    # the JavaScript uploader: the raw body, ?qqfile=NAME (copy() of its temporary file)
    img = png(180, 120, b'xhr')
    st, _, body = a.request(f'/dokuwiki/lib/exe/ajax.php?call=mediaupload&ns={NS}'
                            f'&qqfile=two.png&sectok={form["sectok"]}', body=img,
                            headers={'Content-Type': 'application/octet-stream',
                                     'X-Requested-With': 'XMLHttpRequest'})
    try:
        res = json.loads(body)
    except ValueError:
        res = {}
    check('media: the JavaScript uploader (ajax.php call=mediaupload, raw body) succeeds',
          st == 200 and res.get('success') is True, f'{st} {body[:300]!r}')
    path = os.path.join(data, 'media', NS, 'two.png')
    on_disk = open(path, 'rb').read() if os.path.exists(path) else b''
    check(f'media: the uploader\'s file on disk is byte-exact ({len(img)} bytes)', on_disk == img,
          f'{len(on_disk)} bytes on disk')
    st, _, served = a.get(f'/dokuwiki/lib/exe/fetch.php?media={NS}:two.png')
    check('media: fetch.php serves it byte-exact', st == 200 and served == img)
    # the image in the page, its URL with DokuWiki's token
    _, _, form = edit_form(a, page)
    save(a, page, form, wikitext + f'\n{{{{{NS}:two.png?60|}}}}\n')
    st, _, body = a.get(f'/dokuwiki/doku.php?id={page}')
    m = re.search(r'<img src="([^"]*fetch\.php[^"]*two\.png[^"]*)"', text(body))
    check('media: the page shows the image resized', m is not None, text(body)[-400:])
    if m:
        st, _, body = a.get(h.unescape(m.group(1)))
        check('media: the page\'s image URL (fetch.php with its token) serves a PNG',
              st == 200 and body[:8] == b'\x89PNG\r\n\x1a\n', f'{st} {body[:24]!r}')

    # search: the fulltext index the page's web bug (taskrunner) builds
    st, _, body = a.get(f'/dokuwiki/lib/exe/taskrunner.php?id={page}')
    check('search: the indexer (taskrunner.php) answers', st == 200, f'{st}')
    idx = os.path.join(data, 'index', f'w{len(tag)}.idx')
    h.wait_for(lambda: tag in open(idx).read() if os.path.exists(idx) else False, 10)
    st, _, body = a.get(f'/dokuwiki/doku.php?id=start&do=search&q={tag}')
    check('search: the fulltext search finds the page by its word', st == 200 and
          'search_fulltextresult' in text(body) and f'id={page}' in text(body)
          .replace('&amp;', '&').replace('%3A', ':'), text(body)[:200])
    st, _, body = a.post_form('/dokuwiki/lib/exe/ajax.php', {'call': 'qsearch', 'q': NS})
    check('search: the quick search (ajax.php call=qsearch) lists the page', st == 200 and
          page.encode() in body, f'{st} {body[:200]!r}')

    st, _, body = a.get('/dokuwiki/doku.php?id=start&do=logout&sectok=' + f1['sectok'])
    st, _, body = a.get('/dokuwiki/doku.php?id=start')
    check('log out', 'Logged in as' not in text(body))


def dropin_user():
    """The User= of the documented unit drop-in, which the instance runs as."""
    with open(h.contrib('dokuwiki', 'app@dokuwiki.service.d/www-data.conf')) as f:
        return re.search(r'^User=(\S+)$', f.read(), re.M).group(1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--sfcgi', required=True)
    ap.add_argument('--workdir', required=True)
    ap.add_argument('--strace', help='by hand: strace -f the instance into this file')
    a = ap.parse_args()
    if os.geteuid() != 0:
        h.skip('needs root (www-data, the system\'s DokuWiki)')
    for prog in ('php-cgi', 'nginx', 'systemd-socket-activate', 'setpriv'):
        if not shutil.which(prog):
            h.skip(f'{prog} is not installed (scripts/install-deps.sh)')
    if not os.path.exists('/usr/share/dokuwiki/doku.php'):
        h.skip('dokuwiki is not installed (scripts/install-deps.sh)')
    wd = os.path.abspath(a.workdir)
    shutil.rmtree(wd, ignore_errors=True)
    os.makedirs(wd)
    os.chmod(wd, 0o755)
    wd = h.reachable_workdir(wd, 'dokuwiki')  # www-data runs sfcgi and nginx's workers
    a.sfcgi = h.reachable_sfcgi(a.sfcgi, wd)
    tag = 'sfcgiword' + os.urandom(4).hex()
    clean()
    for user, mail, name in USERS:
        r = subprocess.run(['sh', h.contrib('dokuwiki', 'setup.sh'), user, mail, name],
                           input=password(user) + '\n', capture_output=True, text=True)
        check(f'setup.sh {user}', r.returncode == 0, r.stdout + r.stderr)
    sock = os.path.join(h.short_sock_dir(wd), 'dokuwiki.sock')
    prefix = ['strace', '-f', '-qq', '-o', a.strace] if a.strace else []
    inst = ng = None
    try:
        inst = h.Instance(a.sfcgi, h.contrib('dokuwiki', 'dokuwiki.json'), sock,
                          os.path.join(wd, 'sfcgi.log'), user=dropin_user(), prefix=prefix)
        ng = h.Nginx(wd, [h.contrib('dokuwiki', 'nginx.conf')],
                     [('/run/sfcgi/dokuwiki.sock', sock)])
        flows(ng.base, tag)
        check('nginx: no upstream error', not ng.errors(), '\n'.join(ng.errors())[:800])
    except (RuntimeError, OSError, http.client.HTTPException) as e:
        check('the flows ran to their end', False, f'{type(e).__name__}: {e}')
    finally:
        if ng:
            ng.stop()
        if inst:
            inst.stop()
            bad = h.sandbox_trouble(inst.text())
            check('no worker killed by the sandbox or crashed during the flows', not bad,
                  '\n'.join(bad))
        clean()
    return h.finish()


if __name__ == '__main__':
    sys.exit(main())
