#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The two php-cgi layouts of docs/migration.md, and what they mean for a
cache in APCu (MediaWiki keeps sessions there by default).

  contrib/apps/php/php.json           "workers": 4, PHP_FCGI_CHILDREN=0:
                                      each php-cgi has its own APCu, so a
                                      counter kept there is split, one per
                                      process;
  contrib/apps/php/php-children.json  "workers": 1, PHP_FCGI_CHILDREN=4:
                                      php-cgi's own children share the APCu
                                      (and opcache) of their parent: one
                                      counter; php-cgi forks them, which the
                                      profile "php" alone does not allow
                                      ("allow": ["process"]), proved too.

Each runs under systemd-socket-activate as www-data behind a real nginx
that includes contrib/apps/php/nginx.conf, serving a four-line script that
counts in APCu; pairs of concurrent requests make several processes serve.
Fails if sfcgi's log reports a worker killed by the sandbox or crashed.
Root only (77 otherwise); needs php-cgi and php-apcu.
"""
import argparse
import http.client
import json
import os
import shutil
import subprocess
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
from harness import check, log  # noqa: E402

COUNTER = """<?php
apcu_add('sfcgi_counter', 0);
usleep(isset($_GET['slow']) ? 200000 : 0);
header('Content-Type: application/json');
echo json_encode(['count' => apcu_inc('sfcgi_counter'), 'pid' => getmypid()]);
"""
PAIRS = 12


def hits(base):
    """PAIRS pairs of concurrent requests to nginx at base (http://HOST:PORT):
    [(count, pid)]."""
    out, lock = [], threading.Lock()
    host, port = h.host_port(base)

    def one():
        c = http.client.HTTPConnection(host, port, timeout=30)
        try:
            c.request('GET', '/counter.php?slow=1')
            r = c.getresponse()
            body = r.read()
            d = json.loads(body) if r.status == 200 else {'count': None, 'pid': body[:100]}
        except (OSError, ValueError, http.client.HTTPException) as e:
            d = {'count': None, 'pid': str(e)}
        with lock:
            out.append((d['count'], d['pid']))
    for _ in range(PAIRS):
        ts = [threading.Thread(target=one) for _ in range(2)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
    return out


def flows_workers(base):
    """php.json ("workers": 4, PHP_FCGI_CHILDREN=0) behind nginx at base:
    an APCu per process."""
    res = hits(base)
    total = 2 * PAIRS
    pids = {p for _, p in res}
    # an error's count is None (its pid the error's text): last, never compared
    by_pid = {p: sorted((c for c, q in res if q == p), key=lambda c: (c is None, c or 0))
              for p in pids}
    log(f'# "workers": 4, PHP_FCGI_CHILDREN=0: {len(pids)} php-cgi, counts per pid {by_pid}')
    check('workers: every request answered', len(res) == total and
          all(isinstance(c, int) for c, _ in res), f'{res[:4]}')
    check('workers: several php-cgi processes served', len(pids) >= 2, f'{by_pid}')
    check('workers: the APCu counter is split: each process counts its own 1, 2, 3 ...',
          all(v == list(range(1, len(v) + 1)) for v in by_pid.values()) and len(pids) >= 2,
          f'{by_pid}')


def flows_children(base):
    """php-children.json ("workers": 1, PHP_FCGI_CHILDREN=4) behind nginx at
    base: php-cgi's children share its APCu."""
    res = hits(base)
    total = 2 * PAIRS
    pids = {p for _, p in res}
    counts = sorted(c for c, _ in res if isinstance(c, int))
    log(f'# "workers": 1, PHP_FCGI_CHILDREN=4: {len(pids)} php-cgi children, counts {counts}')
    check('children: every request answered', len(res) == total and len(counts) == total,
          f'{res[:4]}')
    check('children: several php-cgi children served', len(pids) >= 2, f'{pids}')
    check('children: one APCu counter for all: 1 to %d, each once' % total,
          counts == list(range(1, total + 1)), f'{counts}')


def layout(a, wd, name, config, flows):
    """Serves the counter with config, runs flows(base); the sfcgi log."""
    d = os.path.join(wd, name)
    os.makedirs(d)
    os.chmod(d, 0o755)
    root = os.path.join(d, 'www')
    os.makedirs(root)
    with open(os.path.join(root, 'counter.php'), 'w') as f:
        f.write(COUNTER)
    for p in (d, root, os.path.join(root, 'counter.php')):
        os.chmod(p, 0o755)
    sock = os.path.join(h.short_sock_dir(d), 'php.sock')
    inst = ng = None
    text = ''
    try:
        inst = h.Instance(a.sfcgi, config, sock, os.path.join(d, 'sfcgi.log'), user='www-data')
        ng = h.Nginx(d, [h.contrib('php', 'nginx.conf')], [('/run/sfcgi/php.sock', sock)],
                     server_extra=f'        root {root};')
        flows(ng.base)
    except RuntimeError as e:
        check(f'{name}: started', False, str(e))
    finally:
        if ng:
            ng.stop()
        if inst:
            inst.stop()
            text = inst.text()
    return text


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--sfcgi', required=True)
    ap.add_argument('--workdir', required=True)
    a = ap.parse_args()
    if os.geteuid() != 0:
        h.skip('needs root (www-data)')
    for prog in ('php-cgi', 'nginx', 'systemd-socket-activate', 'setpriv'):
        if not shutil.which(prog):
            h.skip(f'{prog} is not installed (scripts/install-deps.sh)')
    r = subprocess.run(['php-cgi', '-m'], capture_output=True, text=True)
    if 'apcu' not in r.stdout.split():
        h.skip('php-apcu is not installed (scripts/install-deps.sh)')
    wd = os.path.abspath(a.workdir)
    shutil.rmtree(wd, ignore_errors=True)
    os.makedirs(wd)
    os.chmod(wd, 0o755)
    wd = h.reachable_workdir(wd, 'php-layouts')  # www-data runs sfcgi, php-cgi, nginx
    a.sfcgi = h.reachable_sfcgi(a.sfcgi, wd)

    # N workers, PHP_FCGI_CHILDREN=0: an APCu per process
    text = layout(a, wd, 'workers', h.contrib('php', 'php.json'), flows_workers)
    bad = h.sandbox_trouble(text)
    check('workers: no worker killed by the sandbox or crashed', not bad, '\n'.join(bad))

    # 1 worker, PHP_FCGI_CHILDREN=4: php-cgi's children share its APCu
    text = layout(a, wd, 'children', h.contrib('php', 'php-children.json'), flows_children)
    bad = h.sandbox_trouble(text)
    check('children: no worker killed by the sandbox or crashed', not bad, '\n'.join(bad))

    # the same without "process": php-cgi cannot fork its children
    cfg = json.load(open(h.contrib('php', 'php-children.json')))
    cfg['sandbox']['allow'].remove('process')
    path = os.path.join(wd, 'children-no-process.json')
    with open(path, 'w') as f:
        json.dump(cfg, f)
    d = os.path.join(wd, 'noproc')
    os.makedirs(d)
    os.chmod(d, 0o755)
    sock = os.path.join(h.short_sock_dir(d), 'php.sock')
    inst = None
    try:
        inst = h.Instance(a.sfcgi, path, sock, os.path.join(d, 'sfcgi.log'), user='www-data',
                          serves=False)
        h.wait_for(lambda: 'forbidden system call' in inst.text(), 10)
    except RuntimeError as e:
        log(f'# {e}')
    finally:
        if inst:
            inst.stop()
    text = open(os.path.join(d, 'sfcgi.log')).read()
    killed = [l for l in text.splitlines() if 'forbidden system call' in l]
    check('children without "process": php-cgi is killed forking, and the log says '
          'to allow "process"', any('"process"' in l for l in killed), text[-600:])
    return h.finish()


if __name__ == '__main__':
    sys.exit(main())
