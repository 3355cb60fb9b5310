# SPDX-License-Identifier: MIT
"""The scenarios of foreign_e2e.py that need no web server: how sfcgi run
treats foreign programs that fail, and the CGI bridge's own behaviour.
Requests go straight to the FastCGI socket with `sfcgi request`."""
import hashlib
import os
import pwd
import re
import shutil
import signal
import subprocess
import threading
import time

from foreign_e2e import HERE, logged, tail, wait_for


def request(env, name, uri, params=(), data=None, timeout=20):
    """(exit status, stdout bytes, stderr text) of `sfcgi request`."""
    argv = [env.a.sfcgi, 'request', '-t', str(timeout)]
    for p in params:
        argv += ['-p', p]
    if data is not None:
        argv += ['-d', '-']
    r = subprocess.run(argv + [env.sock(name), uri], input=data, capture_output=True,
                       timeout=timeout + 10)
    return r.returncode, r.stdout, r.stderr.decode(errors='replace')


def script(env, name, text):
    path = os.path.join(env.dir, name)
    with open(path, 'w') as f:
        f.write(text)
    os.chmod(path, 0o755)
    return path


def stop(p):
    p.send_signal(signal.SIGTERM)
    try:
        return p.wait(20)
    except subprocess.TimeoutExpired:
        p.kill()
        return p.wait()


# ---- failures ------------------------------------------------------------------

def exits_at_start(env, check):
    """Exit 0 is a program's own choice, never a failure: replaced without
    backoff, but a program that exits at once starts at most 10 times a
    second. (Exit 1 at start: foreign_truth.py, crash-loop.)"""
    prog = script(env, 'exit0.sh', '#!/bin/sh\nexit 0\n')
    t0 = time.monotonic()
    p = env.start('exit0', prog, workers=1)
    time.sleep(3)
    stop(p)  # the lines held back are summed up at exit
    took = time.monotonic() - t0
    text = env.logtext('exit0')
    what = re.escape('exited with status 0 after 0.0 s; replacing it in 0.1 s (it ran less '
                     'than 0.1 s)')
    n = logged(text, what)
    shown = len([ln for ln in text.splitlines() if re.search(what, ln) and 'more like' not in ln])
    check(f'exit 0 at start: replaced without backoff, at most 10 starts a second ({n} in '
          f'{took:.1f} s, expected 5..13.4 a second)', 5 <= n / took <= 13.4, text[-600:])
    check(f'exit 0 at start: said 10 times, the rest counted ({shown} lines)', shown == 10,
          text[-600:])
    check('exit 0 at start: never a failure',
          'failure' not in text and 'unexpectedly' not in text and 'failing' not in text,
          text[-600:])
    if os.geteuid() == 0:  # no "user" in the config: said once, not at every restart
        n = text.count('running as root')
        check(f'exit at start: "running as root" logged once ({n})', n == 1)
    prog = script(env, 'badinterp.sh', '#!/nonexistent/interpreter\n')
    p = env.start('badinterp', prog, workers=1)
    ok = wait_for(lambda: env.logtext('badinterp').count('restarting it in') >= 2, 5)
    text = env.logtext('badinterp')
    check('exec failure: "executing PROGRAM: No such file or directory", status 127, backoff',
          ok and 'executing ' + prog + ': No such file or directory' in text and
          'exited with status 127' in text, text[-600:])
    stop(p)


def crash(env, check):
    p = env.start('perl', os.path.join(HERE, 'apps', 'app.fcgi'), drain_signal='SIGUSR1')
    rc, out, _ = request(env, 'perl', '/?crash=1')
    # Perl's FCGI ends the request (empty) from its DESTROY at exit
    check('crash: the request gets no answer from the app', b'app=perl' not in out,
          f'{rc} {out[:200]!r}')
    ok = wait_for(lambda: 'exited with status 3 unexpectedly' in env.logtext('perl'), 5)
    check('crash: logged with the exit status', ok, tail(os.path.join(env.dir, 'perl.log')))
    rc, out, _ = request(env, 'perl', '/?x=1')
    check('crash: the next request is served', rc == 0 and b'app=perl' in out, repr(out[:200]))
    pids = subprocess.run(['pgrep', '-P', str(p.pid)], capture_output=True,
                          text=True).stdout.split()
    os.kill(int(pids[0]), signal.SIGSEGV)
    ok = wait_for(lambda: f'worker {pids[0]} killed by SIGSEGV' in env.logtext('perl'), 5)
    check('crash: a worker killed by SIGSEGV is named and replaced', ok and wait_for(
        lambda: len(subprocess.run(['pgrep', '-P', str(p.pid)], capture_output=True,
                                   text=True).stdout.split()) == 2, 5))
    stop(p)


VIOLATION = (r'worker (\d+) \(program {}\) killed by the sandbox: forbidden system call '
             r'{} \(\d+\); to allow it: "sandbox": \{{{}\}}')


def forbidden(env, check):
    """A refused call in a foreign program (its SIGSYS handler is gone with
    the exec): named with the key that allows it, one line per worker,
    then the worker is replaced with backoff."""
    for name, code, call, key in [
            ('inet', 'use Socket; socket(my $s, PF_INET, SOCK_STREAM, 0);', 'socket',
             '"allow": ["network"]'),
            ('getpriority', 'syscall(140, 0, 0);', 'getpriority',
             '"syscalls": ["getpriority"]')]:
        prog = script(env, name + '.pl', f'#!/usr/bin/perl\n{code}\nsleep 60;\n')
        p = env.start(name, prog, workers=1)
        ok = wait_for(lambda: env.logtext(name).count('restarting it in') >= 3, 10)
        text = env.logtext(name)
        named = re.findall(VIOLATION.format(re.escape(prog), call, re.escape(key)), text)
        check(f'forbidden call ({call}): the log names it and the key that allows it',
              ok and len(named) >= 3, text[-800:])
        check(f'forbidden call ({call}): one such line per worker',
              len(named) == len(set(named)) and
              text.count('killed by the sandbox:') == len(named), text[-800:])
        check(f'forbidden call ({call}): replaced with backoff, the reason in that line too',
              all(f'worker {pid} killed by the sandbox (forbidden system call {call}); '
                  f'restarting it in' in text for pid in named) and
              'restarting it in 0.2 s (failure 3 in a row)' in text, text[-800:])
        check(f'forbidden call ({call}): no generic SIGSYS hint', 'SIGSYS' not in text,
              text[-800:])
        stop(p)
    # ptrace: refused to the supervisor with EPERM, which the kernel ranks
    # above a notification; the worker's filter kills it instead
    prog = script(env, 'ptrace.pl', '#!/usr/bin/perl\nsyscall(101, 0, 0, 0, 0);\nsleep 60;\n')
    p = env.start('ptrace', prog, workers=1)
    ok = wait_for(lambda: env.logtext('ptrace').count('restarting it in') >= 2, 10)
    text = env.logtext('ptrace')
    check('forbidden call (ptrace, on the supervisor\'s deny-list): killed, not EPERM',
          ok and 'killed by the sandbox (SIGSYS): a system call that sfcgi refuses to its '
          'own supervisor too' in text, text[-800:])
    stop(p)


def hangs(env, check):
    """A program that ignores the drain signal: SIGKILL after drain_timeout."""
    prog = script(env, 'hang.pl', '#!/usr/bin/perl\n$SIG{TERM} = $SIG{USR1} = "IGNORE";\n'
                  'sleep 1 while 1;\n')
    p = env.start('hang', prog, workers=1, drain_timeout=1)
    time.sleep(0.3)
    t0 = time.monotonic()
    p.send_signal(signal.SIGHUP)
    ok = wait_for(lambda: 'reload complete' in env.logtext('hang'), 10)
    text = env.logtext('hang')
    check(f'hang on reload: killed after drain_timeout, reload completes '
          f'({time.monotonic() - t0:.1f} s)',
          ok and 'still busy after drain_timeout (1 s): SIGKILL' in text, text[-600:])
    t0 = time.monotonic()
    rc = stop(p)
    text = env.logtext('hang')
    check(f'hang on stop: killed after drain_timeout, exit {rc} '
          f'({time.monotonic() - t0:.1f} s)',
          rc == 0 and 'drain_timeout (1 s) reached: killing the remaining workers' in text,
          text[-400:])


# ---- hang detection (request_timeout for foreign programs) ----------------------

HUNG = r'worker (\d+) \(program {}\): no progress for (\d+) s while connections wait ' \
       r'\(request_timeout=2 s\): hung; SIGKILL'


def bg_request(env, name, uri, timeout=30):
    """`sfcgi request` left running: a connection that waits, or a request that hangs."""
    return subprocess.Popen([env.a.sfcgi, 'request', '-t', str(timeout), env.sock(name), uri],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)


def end(client):
    """What a background request got, once it is over (killed if it is not)."""
    try:
        out, _ = client.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        client.kill()
        out, _ = client.communicate()
    return client.returncode, out


def hang_at_start(env, check):
    """A program that never accepts: killed once a connection has waited
    request_timeout, restarted with a growing delay, never a busy loop."""
    prog = script(env, 'sleeper.pl', '#!/usr/bin/perl\nsleep 1 while 1;\n')
    p = env.start('sleeper', prog, workers=1, request_timeout=2)
    t0 = time.monotonic()
    client = bg_request(env, 'sleeper', '/')
    ok = wait_for(lambda: env.logtext('sleeper').count('hung, killed by SIGKILL') >= 3, 20)
    took = time.monotonic() - t0
    text = env.logtext('sleeper')
    m = re.search(HUNG.format(re.escape(prog)), text)
    check('hang at start: the log line names the worker, the program, the hang and '
          'request_timeout', m and 2 <= int(m.group(2)) <= 3, text[-600:])
    delays = [float(d) for d in
              re.findall(r'hung, killed by SIGKILL; restarting it in ([0-9.]+) s', text)]
    check(f'hang at start: killed and restarted with growing delays {delays} s',
          ok and len(delays) >= 3 and all(a < b for a, b in zip(delays, delays[1:])),
          text[-800:])
    # each replacement gets request_timeout of its own: 3 kills take 6 s or more
    check(f'hang at start: 3 kills in {took:.1f} s, at most one per request_timeout '
          f'(not a busy loop)', ok and took >= 5.5, text[-400:])
    rc, out = end(client)
    check('hang at start: the waiting request gets no answer', b'Status' not in out, repr(out))
    stop(p)


def hang_apps(env):
    """(name, program, extra config): a read/write program (Perl FCGI, libfcgi)
    and a recv/send one (invisible in /proc/PID/io)."""
    # python3 under the default sandbox (ioctl FIOCLEX, HOME=/ against the
    # nscd probe): killed by it, these cases would fail
    return [('perl', os.path.join(HERE, 'apps', 'app.fcgi'), {'drain_signal': 'SIGUSR1'}),
            ('python', os.path.join(HERE, 'apps', 'recvsend.py'), {})]


def hang_while_serving(env, check):
    """A request that never ends holds the only worker: once the next
    connection has waited request_timeout the worker is killed, and its
    replacement answers that connection."""
    for app, prog, extra in hang_apps(env):
        name = app + '-hang'
        p = env.start(name, prog, workers=1, request_timeout=2, **extra)
        rc, out, _ = request(env, name, '/?x=1')
        m = re.search(rb'pid=(\d+)', out)
        if not check(f'hang while serving ({app}): it serves first', rc == 0 and m,
                     f'{rc} {out[:200]!r} ' + env.logtext(name)[-400:]):
            stop(p)
            continue
        old = m.group(1).decode()
        hung = bg_request(env, name, '/?hang=1')
        time.sleep(0.5)  # accepted: the worker is stuck in it now
        t0 = time.monotonic()
        rc, out, _ = request(env, name, '/?x=2')
        took = time.monotonic() - t0
        m = re.search(rb'pid=(\d+)', out)
        check(f'hang while serving ({app}): the next request is answered by a fresh worker '
              f'after {took:.1f} s (request_timeout=2 s)',
              rc == 0 and m and m.group(1).decode() != old and 1.5 <= took <= 6,
              f'{rc} {out[:200]!r}')
        text = env.logtext(name)
        m = re.search(HUNG.format(re.escape(prog)), text)
        check(f'hang while serving ({app}): the log says why the worker was killed',
              m and m.group(1) == old and
              f'worker {old} hung, killed by SIGKILL; restarting it in 0.0 s '
              '(failure 1 in a row)' in text, text[-800:])
        rc, out = end(hung)
        check(f'hang while serving ({app}): the hung request ends, unanswered',
              b'Status' not in out, repr(out[:200]))
        stop(p)


def overload(env, check):
    """More concurrent requests than workers, each 0.5 s, for longer than
    request_timeout: connections always wait, but the worker moves."""
    for app, prog, extra in hang_apps(env):
        name = app + '-busy'
        p = env.start(name, prog, workers=1, request_timeout=2, **extra)
        results, lock = [], threading.Lock()
        stop_at = time.monotonic() + 6

        def client():
            while time.monotonic() < stop_at:
                rc, out, _ = request(env, name, '/?sleep=500')
                m = re.search(rb'pid=(\d+)', out)
                with lock:
                    results.append((rc, m.group(1) if m else None))

        threads = [threading.Thread(target=client) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        text = env.logtext(name)
        failed = sum(rc != 0 for rc, _ in results)
        pids = {pid for _, pid in results}
        check(f'overload is not a hang ({app}): {len(results)} requests of 0.5 s from 4 '
              f'clients in 6 s through 1 worker (request_timeout=2 s): {failed} failed, '
              f'{len(pids)} worker(s)',
              len(results) >= 10 and failed == 0 and len(pids) == 1 and 'hung' not in text,
              text[-600:])
        stop(p)


def unreadable(env, check):
    """Workers the supervisor may not inspect (another user, no CAP_SYS_PTRACE):
    one warning that says so, then no detection; nothing is killed."""
    import shutil
    if os.geteuid() != 0 or not shutil.which('setpriv'):
        print('# skipped: unreadable /proc needs root and setpriv', flush=True)
        return
    prog = script(env, 'sleeper2.pl', '#!/usr/bin/perl\nsleep 1 while 1;\n')
    p = env.start('noproc', prog, workers=1, request_timeout=1, sandbox={'user': 'nobody'},
                  prefix=['setpriv', '--bounding-set=-sys_ptrace', '--'])
    client = bg_request(env, 'noproc', '/')
    ok = wait_for(lambda: 'hang detection' in env.logtext('noproc'), 5)
    time.sleep(3)
    text = env.logtext('noproc')
    check('/proc/PID/io unreadable: one warning naming it and the reason, detection off',
          ok and text.count('hang detection') == 1 and
          re.search(r'/proc/\d+/io: Permission denied: hang detection \(request_timeout\) is '
                    r'off for this instance', text) is not None, text[-600:])
    check('/proc/PID/io unreadable: nothing killed', 'SIGKILL' not in text, text[-400:])
    end(client)
    stop(p)


def max_requests(env, check):
    """PHP_FCGI_MAX_REQUESTS: php-cgi exits 0 after N requests; sfcgi restarts it."""
    import shutil
    php = shutil.which('php-cgi')
    if not php:
        check('php-cgi installed', False)
        return
    page = os.path.join(env.docroot, 'php', 'index.php')
    p = env.start('php', php, workers=1, sandbox={'profile': 'php'},
                  environment={'PHP_FCGI_CHILDREN': '0', 'PHP_FCGI_MAX_REQUESTS': '5'})
    t0 = time.monotonic()
    pids, failed = set(), 0
    for i in range(20):
        rc, out, _ = request(env, 'php', '/?x=%d' % i, [f'SCRIPT_FILENAME={page}'])
        m = re.search(rb'pid=(\d+)', out)
        if rc or not m:
            failed += 1
        else:
            pids.add(m.group(1))
    took = time.monotonic() - t0
    text = env.logtext('php')
    env_log = re.findall(r'restarting it in ([0-9.]+) s', text)
    print(f'# PHP_FCGI_MAX_REQUESTS=5: 20 requests in {took:.1f} s by {len(pids)} php-cgi '
          f'processes; restart delays: {" ".join(env_log)} s', flush=True)
    check('PHP_FCGI_MAX_REQUESTS=5: 20 requests, none failed, 4 php-cgi processes',
          failed == 0 and len(pids) == 4, f'{failed} failed, {len(pids)} pids')
    stop(p)


def config_errors(env, check):
    noexec = os.path.join(env.dir, 'noexec.fcgi')
    open(noexec, 'w').close()
    os.chmod(noexec, 0o644)
    cases = [('missing', '/nonexistent/app.fcgi', 'does not exist'),
             ('noexec', noexec, 'is not executable'),
             ('directory', env.dir, 'is not a regular file')]
    for name, prog, why in cases:
        path = env.config(name, prog)
        r = subprocess.run([env.a.sfcgi, 'check', path], capture_output=True, text=True)
        check(f'sfcgi check: a {name} program is a config error, file:line:col',
              r.returncode == 1 and re.search(rf'^{re.escape(path)}:\d+:\d+: "program": .* {why}',
                                             r.stderr), r.stderr)
        # detect_leaks=0: under ASan, run.c's leaked config path (reported)
        # would turn exit 78 into LeakSanitizer's 1
        r = subprocess.run([env.a.sfcgi, 'run', '--config', path], capture_output=True,
                           text=True, timeout=10,
                           env=dict(os.environ, ASAN_OPTIONS='detect_leaks=0'))
        check(f'sfcgi run: a {name} program exits 78 (EX_CONFIG)', r.returncode == 78,
              f'{r.returncode} {r.stderr}')
    path = env.config('badsig', '/bin/true', drain_signal='USR1')
    r = subprocess.run([env.a.sfcgi, 'check', path], capture_output=True, text=True)
    check('sfcgi check: "drain_signal": "USR1" is refused, the valid names listed',
          r.returncode == 1 and '"drain_signal": expected one of "SIGTERM", "SIGUSR1"' in r.stderr,
          r.stderr)
    path = env.config('goodsig', '/bin/true', drain_signal='SIGUSR1',
                      sandbox={'allow': ['interpreter']})
    r = subprocess.run([env.a.sfcgi, 'check', path], capture_output=True, text=True)
    check('sfcgi check: prints "drain_signal" and the "interpreter" group',
          r.returncode == 0 and '"drain_signal": "SIGUSR1"' in r.stdout and
          '"interpreter"' in r.stdout, r.stdout + r.stderr)


def strict(env, check):
    p = env.start('strict', os.path.join(HERE, 'apps', 'app.fcgi'), workers=1,
                  sandbox={'seccomp': 'strict'})
    ok = wait_for(lambda: 'restarting it in 0.1 s' in env.logtext('strict'), 5)
    text = env.logtext('strict')
    check('"seccomp": "strict": warned at start, the program is killed by the sandbox, which '
          'names the call and "seccomp": "default", backoff',
          ok and '"seccomp": "strict" leaves out what the dynamic loader needs' in text and
          re.search(VIOLATION.format(re.escape(os.path.join(HERE, 'apps', 'app.fcgi')),
                                     r'\w+', '"seccomp": "default"'), text), text[-600:])
    stop(p)


# ---- the CGI bridge ----------------------------------------------------------

def bridge(env, check):
    cgi = os.path.join(env.docroot, 'cgi-bin')
    os.symlink('/bin/sh', os.path.join(cgi, 'out.sh'))
    os.symlink('env.pl', os.path.join(cgi, 'inside.pl'))
    open(os.path.join(cgi, 'noexec.pl'), 'w').close()
    os.makedirs(os.path.join(cgi, 'dir'))
    sandbox = {'allow': ['process', 'interpreter', 'file-read']}
    env.start('cgi', env.a.cgi, kind='native', workers=1, sandbox=sandbox,
              args=['--root', cgi, '--timeout', '2', '--env', 'SITE=test'])
    sf = lambda n: f'SCRIPT_FILENAME={cgi}/{n}'
    refusals = [('a missing script', [sf('nope.pl')], 4, b'404'),
                ('a ".." path', [sf('../../etc/passwd')], 4, b'403'),
                ('a symlink out of --root', [sf('out.sh')], 4, b'403'),
                ('a non-executable file', [sf('noexec.pl')], 4, b'403'),
                ('a directory', [sf('dir')], 4, b'403'),
                ('no SCRIPT_FILENAME', [], 5, b'500')]
    for what, params, want_rc, code in refusals:
        rc, out, _ = request(env, 'cgi', '/', params)
        check(f'bridge: {what} is refused with {code.decode()}',
              rc == want_rc and b'Status: ' + code in out, f'{rc} {out[:200]!r}')
    text = env.logtext('cgi')
    check('bridge: each refusal is a log line saying why',
          'nope.pl: 404: no such script' in text and '403: a ".." component' in text and
          'out.sh: 403: outside the --root directories' in text and
          ('its real path is /usr/bin/dash' in text or 'its real path is /bin/dash' in text),
          text[-800:])
    rc, out, _ = request(env, 'cgi', '/x', [sf('inside.pl')])
    check('bridge: a symlink inside --root runs', rc == 0 and b'app=cgi-perl' in out)
    rc, out, err = request(env, 'cgi', '/x?status=418&stderr=boo',
                           [sf('env.pl'), 'HTTP_PROXY=http://evil:1/'])
    check('bridge: Status with its reason is passed on',
          rc == 4 and out.startswith(b'Status: 418 Custom Reason\r\n'), repr(out[:100]))
    check('bridge: the script\'s stderr goes to FCGI_STDERR and the log',
          'env.pl says: boo' in err and 'env.pl: env.pl says: boo' in env.logtext('cgi'), err)
    rc, out, _ = request(env, 'cgi', '/x', [sf('env.sh'), 'HTTP_PROXY=http://evil:1/'])
    check('bridge: HTTP_PROXY never reaches a script (httpoxy)', b'http_proxy=unset' in out,
          repr(out))
    rc, out, _ = request(env, 'cgi', '/x?location=/elsewhere', [sf('env.pl')])
    check('bridge: Location is passed on', b'Location: /elsewhere\r\n' in out, repr(out[:200]))
    rc, out, _ = request(env, 'cgi', '/x?bad=1', [sf('env.pl')])
    check('bridge: a malformed header block is a 502 and a log line',
          rc == 5 and b'Status: 502' in out and 'malformed CGI header block' in
          env.logtext('cgi'), repr(out[:200]))
    t0 = time.monotonic()
    rc, out, _ = request(env, 'cgi', '/x?sleep=30000', [sf('env.pl')])
    took = time.monotonic() - t0
    check(f'bridge: a script past --timeout 2 is killed and answered 504 ({took:.1f} s)',
          rc == 5 and b'Status: 504' in out and took < 4 and
          'killed after --timeout 2 s' in env.logtext('cgi'), repr(out[:200]))
    rc, out, _ = request(env, 'cgi', '/x?hang=1', [sf('env.pl')])
    check('bridge: a script hanging after its answer: the answer arrives whole',
          rc == 0 and b'app=cgi-perl' in out, repr(out[:200]))
    body = os.urandom(3 * 1024 * 1024 + 7)
    rc, out, _ = request(env, 'cgi', '/x', [sf('env.sh'), f'CONTENT_LENGTH={len(body)}'],
                         data=body)
    check('bridge: a 3 MiB body streams to the script\'s stdin',
          b'body_sha256=' + hashlib.sha256(body).hexdigest().encode() in out, repr(out[-300:]))
    r = subprocess.run([env.a.sfcgi, 'request', '-b', env.sock('cgi'), '/x?big=5000000',
                        '-p', sf('env.pl')], capture_output=True)
    check('bridge: a 5 MB response streams back', r.returncode == 0 and
          r.stdout == b'x' * 5000000, f'{r.returncode} {len(r.stdout)}')
    rc, out, _ = request(env, 'cgi', '/x', [sf('env.pl/a/b'), 'SCRIPT_NAME=/cgi-bin/env.pl/a/b'])
    check('bridge: PATH_INFO found by walking back, SCRIPT_NAME cut to the script',
          b'path_info=/a/b\n' in out and b'script_name=/cgi-bin/env.pl\n' in out, repr(out))
    rc, out, _ = request(env, 'cgi', '/x', [sf('wait.sh')])
    check('bridge: a shell script waits for its background job (wait builtin)',
          rc == 0 and out.endswith(b'job done\nscript done\n'), repr(out[-200:]))
    suid = os.path.join(cgi, 'suid.sh')
    shutil.copy(os.path.join(cgi, 'env.sh'), suid)
    nobody = pwd.getpwnam('nobody')
    os.chown(suid, nobody.pw_uid, nobody.pw_gid)
    os.chmod(suid, 0o4755)
    for _ in range(2):
        rc, out, _ = request(env, 'cgi', '/x', [sf('suid.sh')])
    warned = [l for l in env.logtext('cgi').splitlines() if 'suid.sh: set-user-ID' in l]
    check('bridge: a set-user-ID script runs, and the log says once that no_new_privs '
          'ignores the bit and what to do instead',
          rc == 0 and len(warned) == 1 and 'User= drop-in' in warned[0], f'{rc} {warned}')
    sandbox_cases.without_interpreter(env, check, cgi, sf)
    sandbox_cases.bridge_refusals(env, check, cgi, sf)


# the bridge's sandbox and learning mode: sandbox_cases.py (it imports this file)
import sandbox_cases  # noqa: E402


CASES = {'failures': [exits_at_start, crash, forbidden, hangs, max_requests, config_errors,
                      strict],
         'hang-detection': [hang_at_start, hang_while_serving, overload, unreadable],
         'bridge': [bridge],
         'learning': [sandbox_cases.learning_bridge, sandbox_cases.learning_foreign,
                      sandbox_cases.learning_fallback]}


def run(scenario, env, check, log):
    if scenario not in CASES:
        import orphan_cases
        CASES.update(orphan_cases.CASES)
    for case in CASES[scenario]:
        try:
            case(env, check)
        except Exception as e:  # one case failing must not hide the others
            import traceback
            check(f'{case.__name__}: ran to its end', False, traceback.format_exc()[-800:])
