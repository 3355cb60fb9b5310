# SPDX-License-Identifier: MIT
"""The scenarios of foreign_e2e.py about what the supervisor says and does
when a foreign program cannot serve (issue 10, item 3), each behind a real
nginx, with the supervisor's sd_notify messages caught on a NOTIFY_SOCKET
the test binds:

  reload-rollback  php-cgi under GET and POST load is reloaded into a config
                   whose program dies at start (PHP_FCGI_CHILDREN=2 without
                   "process"): the reload rolls back, no request fails, the
                   old workers (never drained) serve on, one log line says
                   why, READY=1 with a STATUS= saying the reload failed
  crash-loop       a program that exits 1 at once: requests through nginx
                   get 503 within a second, naming the reason; STATUS= and
                   the log say "failing", never "N worker(s) serving"; once
                   the program is fixed, it serves again
  exit-zero        a program that exits 0 after each request (as gitweb
                   after an error page) is replaced without backoff and
                   logged as what it is
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

from foreign_e2e import HERE, Http, Load, Nginx, logged, parse, skip, tail, wait_for

APP = os.path.join(HERE, 'apps', 'app.fcgi')


class Notify:
    """A NOTIFY_SOCKET of the test's own: every message the supervisor sends."""

    def __init__(self, env):
        self.path = os.path.join(env.sockdir, 'notify.sock')
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.settimeout(0.2)
        self.msgs = []
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()
        env.environ['NOTIFY_SOCKET'] = self.path

    def run(self):
        while not self.done.is_set():
            try:
                self.msgs.append(self.sock.recv(4096).decode(errors='replace'))
            except socket.timeout:
                pass

    def statuses(self):
        return [l[len('STATUS='):] for m in list(self.msgs) for l in m.split('\n')
                if l.startswith('STATUS=')]

    def close(self):
        self.done.set()
        self.thread.join()
        self.sock.close()


def children(pid):
    r = subprocess.run(['pgrep', '-P', str(pid)], capture_output=True, text=True)
    return set(r.stdout.split())


def web(env):
    """nginx in front; the sockets its config names but the test does not run
    exist as plain files (nginx only connects to them on a request)."""
    for n in ('php', 'perl', 'go', 'c', 'cgi'):
        if not os.path.exists(env.sock(n)):
            open(env.sock(n), 'w').close()
    srv = Nginx(env)
    srv.start()
    return srv


def upstream_errors(srv):
    err = tail(srv.dir + '/error.log', 100000)
    return '\n'.join(l for l in err.splitlines() if '[error]' in l)[:600]


def script(env, name, text):
    path = os.path.join(env.dir, name)
    with open(path + '.tmp', 'w') as f:
        f.write(text)
    os.chmod(path + '.tmp', 0o755)
    os.replace(path + '.tmp', path)  # never half-written when a worker execs it
    return path


# ---- reload into a program that dies at start ------------------------------------

def reload_rollback(env, check):
    php = shutil.which('php-cgi')
    if not php:
        skip('php-cgi is not installed')
    notify = Notify(env)
    good = {'PHP_FCGI_CHILDREN': '0', 'PHP_FCGI_MAX_REQUESTS': '1000000'}
    # PHP_FCGI_CHILDREN=2: php-cgi forks its own children, which the sandbox
    # refuses without "process"; `sfcgi check` accepts the config all the same
    bad = dict(good, PHP_FCGI_CHILDREN='2')
    extra = {'sandbox': {'allow': ['file-write']}, 'drain_timeout': 10}
    p = env.start('php', php, environment=good, **extra)
    srv = web(env)
    try:
        ok = wait_for(lambda: '2 worker(s) serving' in env.logtext('php'), 10)
        check('rollback: php-cgi serves first', ok, env.logtext('php')[-600:])
        old = children(p.pid)
        path = env.config('php', php, environment=bad, **extra)
        r = subprocess.run([env.a.sfcgi, 'check', path], capture_output=True, text=True)
        check('rollback: the new config passes sfcgi check', r.returncode == 0, r.stderr)
        with Load(srv.port, '/php/index.php') as load:
            time.sleep(1)
            before = load.ok
            t0 = time.monotonic()
            p.send_signal(signal.SIGHUP)
            rolled = wait_for(lambda: 'reload rolled back' in env.logtext('php'), 20)
            took = time.monotonic() - t0
            time.sleep(2)  # the load goes on against the rolled-back instance
            after_ok = load.ok
        served = set()
        get = Http(srv.port)
        for i in range(6):
            try:
                st, _, b = get('/php/index.php?x=%d' % i, timeout=5)
                served.add(parse(b).get('pid') if st == 200 else f'status {st}')
            except OSError as e:  # the instance is down: a hang, a reset
                served.add(repr(e))
        now = children(p.pid)
    finally:
        srv.stop()
        notify.close()
    text = env.logtext('php')
    log(f'# rollback: {load.ok} requests, {load.failed} failed; rolled back after '
        f'{took:.1f} s; {after_ok - before} requests served from the SIGHUP on')
    for e in load.errors[:5]:
        log(f'#   {e}')
    lines = [l for l in text.splitlines() if 'reload rolled back' in l]
    check(f'rollback: the reload rolled back ({took:.1f} s after SIGHUP), one log line saying '
          f'why', rolled and len(lines) == 1 and 'forbidden system call' in lines[0] and
          'never drained' in lines[0], '\n'.join(lines) or text[-800:])
    check('rollback: no "reload complete", the old generation was never told to drain',
          'reload complete' not in text and 'draining' not in text, text[-800:])
    check(f'rollback: zero failed requests under GET+POST load ({load.ok} ok)',
          load.failed == 0 and load.ok > 50, f'{load.failed} failed: {load.errors[:3]}')
    check('rollback: the old workers serve on (same processes before and after)',
          old and now == old and served <= old, f'before {old}, after {now}, served {served}')
    states = notify.statuses()
    msgs = '\n'.join(notify.msgs)
    check('rollback: READY=1 and STATUS= say the reload failed and what serves',
          re.search(r'READY=1\nSTATUS=reload failed: .*forbidden system call.*; generation \d+ '
                    r'serving with the previous configuration', msgs) is not None,
          repr(notify.msgs[-6:]))
    check('rollback: later STATUS= lines still say the last reload failed',
          states and 'last reload failed' in states[-1], repr(states[-3:]))
    check('rollback: same supervisor afterwards', p.poll() is None)
    check('rollback: no upstream error in the nginx log', not upstream_errors(srv),
          upstream_errors(srv))


# ---- crash loop: 503 at once, "failing" --------------------------------------------

def crash_loop(env, check):
    notify = Notify(env)
    prog = script(env, 'fails.sh', '#!/bin/sh\nexit 1\n')
    p = env.start('perl', prog)  # nginx serves it under /wiki
    srv = web(env)
    get = Http(srv.port)
    try:
        ok = wait_for(lambda: 'failing:' in env.logtext('perl'), 10)
        results = []
        for i in range(6):
            t0 = time.monotonic()
            body = os.urandom(300 * 1024) if i % 2 else None  # POSTs: the body is read, dropped
            try:  # nginx would wait 60 s; 5 s is long enough to fail
                st, _, b = get('/wiki/x?x=%d' % i, body=body, timeout=5)
            except OSError as e:  # counted below
                st, b = repr(e), b''
            results.append((st, time.monotonic() - t0, b))
            time.sleep(0.3)
        worst = max(t for _, t, _ in results)
        log(f'# crash loop: {len(results)} requests through nginx, slowest answer {worst:.3f} s')
        check(f'crash loop: every request (GET, POST of 300 KiB) gets 503 through nginx within '
              f'a second '
              f'(slowest {worst:.3f} s)', ok and all(st == 503 for st, _, _ in results) and
              worst < 1.0, repr([(st, round(t, 3)) for st, t, _ in results]) + '\n' +
              env.logtext('perl')[-400:])
        check('crash loop: the 503 names the reason',
              all(b'exited with status 1' in b for _, _, b in results), repr(results[0][2]))
        wait_for(lambda: any('failing' in s for s in notify.statuses()), 3)
        states = notify.statuses()
        text = env.logtext('perl')
        check('crash loop: STATUS= says "failing: <reason>"',
              any(s.startswith('failing: exited with status 1') for s in states), repr(states))
        check('crash loop: no STATUS= and no log line says "N worker(s) serving"',
              not any(re.match(r'(reloading; )?\d+ worker\(s\)', s) for s in states) and
              'worker(s) serving' not in text, repr(states) + text[-400:])
        check('crash loop: the log says "failing: <reason>" once, with what to do',
              text.count('failing: exited with status 1 unexpectedly') == 1 and
              'answered 503' in text, text[-600:])
        # fixed: the next start serves, and the supervisor stops answering
        script(env, 'fails.sh', f'#!/bin/sh\nexec {APP}\n')
        ok = wait_for(lambda: 'serving again' in env.logtext('perl'), 30)
        st, _, b = get('/wiki/x?x=9', timeout=10)
        check('crash loop: once the program is fixed, the app answers again (not 503)',
              ok and st == 200 and parse(b).get('app') == 'perl', f'{st} {b[:200]!r}')
        wait_for(lambda: not notify.statuses()[-1].startswith('failing'), 3)
        check('crash loop: STATUS= no longer says failing',
              not notify.statuses()[-1].startswith('failing'), repr(notify.statuses()[-3:]))
    finally:
        srv.stop()
        notify.close()
    check('crash loop: same supervisor afterwards', p.poll() is None)
    check('crash loop: no upstream error in the nginx log (the 503s are whole FastCGI answers)',
          not upstream_errors(srv), upstream_errors(srv))


# ---- exit 0 after each request ---------------------------------------------------

def exit_zero(env, check):
    p = env.start('perl', APP, drain_signal='SIGUSR1')
    srv = web(env)
    get = Http(srv.port)
    try:
        wait_for(lambda: '2 worker(s) serving' in env.logtext('perl'), 10)
        results, t0 = [], time.monotonic()
        for i in range(20):
            t1 = time.monotonic()
            try:
                st, _, b = get('/wiki/x?exit0=1&x=%d' % i, timeout=15)
            except OSError as e:
                st, b = repr(e), b''
            results.append((st, parse(b).get('pid'), time.monotonic() - t1))
        took = time.monotonic() - t0
        # all reaped (a zombie keeps its /proc entry), so all logged: 10 lines a
        # minute say so, a summary at exit counts the rest
        wait_for(lambda: not any(os.path.exists(f'/proc/{pid}') for _, pid, _ in results
                                 if pid), 5)
    finally:
        srv.stop()
    text = env.logtext('perl')
    pids = {pid for _, pid, _ in results}
    worst = max(t for _, _, t in results)
    log(f'# exit 0 after each request: 20 requests in {took:.1f} s, slowest {worst:.2f} s, '
        f'{len(pids)} processes')
    check(f'exit 0: 20 requests answered by 20 processes, none slower than 1 s ({worst:.2f} s)',
          all(st == 200 for st, _, _ in results) and len(pids) == 20 and worst < 1.0,
          repr([(st, pid, round(t, 2)) for st, pid, t in results]))
    check('exit 0: no backoff, no failure, no "request limit", not "failing"',
          'restarting it in' not in text and 'failure' not in text and
          'request limit' not in text and 'failing' not in text, text[-600:])
    check('exit 0: same supervisor afterwards', p.poll() is None)
    p.send_signal(signal.SIGTERM)  # the lines held back are summed up at exit
    p.wait(20)
    text = env.logtext('perl')
    n = logged(text, r'worker \d+ exited with status 0 after \d+\.\d s; replacing it')
    check(f'exit 0: logged as what it is, "exited with status 0 after N s; replacing it" ({n}, '
          f'summaries included)', n >= 20, text[-600:])


def log(msg):
    print(msg, flush=True)


CASES = {'reload-rollback': reload_rollback, 'crash-loop': crash_loop, 'exit-zero': exit_zero}


def run(scenario, env, check):
    if not shutil.which('nginx'):
        skip('nginx is not installed')
    try:
        CASES[scenario](env, check)
    except Exception:  # a check that cannot run fails, with where
        import traceback
        check(f'{scenario}: ran to its end', False, traceback.format_exc()[-800:])


if __name__ == '__main__':
    sys.exit('run through foreign_e2e.py')
