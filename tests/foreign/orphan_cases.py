# SPDX-License-Identifier: MIT
"""Scenario 'orphans' of foreign_e2e.py (issue 10, item 4): what a worker
starts ends with the worker. CGI scripts through sfcgi-cgi and a foreign
program (the Perl FCGI app, ?leave=TAG) leave `sleep 600.TAGn` processes
behind: a background job, a double fork, one that calls setsid() under a
parent that stays (and the hanging script itself, `600.TAG0`). Then each
way a worker ends: request_timeout, the bridge's --timeout, a reload past
drain_timeout, a stop (SIGTERM to the supervisor), a worker killed with
SIGKILL, and the supervisor itself killed with SIGKILL (the bridge). None
of the markers may be left afterwards (searched in /proc, bounded wait)."""
import os
import signal
import subprocess
import time

from foreign_cases import bg_request, end, request, script, stop
from foreign_e2e import HERE, wait_for

GONE_WITHIN = 5.0  # seconds for the markers to go, once the worker ends

LEAVE_SH = r'''#!/bin/sh
# Leaves processes behind (tests/foreign/orphan_cases.py): a background job,
# a double fork, and one that calls setsid() under a parent that stays.
# ?tag=T&hang=1: then stays too, holding its stdout (600.T0).
t=${QUERY_STRING#tag=}; t=${t%%&*}
sleep 600.${t}1 >&- 2>&- &
( sleep 600.${t}2 >&- 2>&- & )
sh -c "setsid sleep 600.${t}3 & exec sleep 600.${t}4" >&- 2>&- &
printf 'Content-Type: text/plain\r\n\r\nleft 600.%s1..4\n' "$t"
case $QUERY_STRING in *hang=1*) exec sleep 600.${t}0 ;; esac
'''

_n = [0]


def new_tag():
    _n[0] += 1
    return f'{os.getpid() % 100000:05d}{_n[0]:02d}'


def markers(tag):
    """The marker processes of tag alive now: {'600.TAGn': pid} (zombies are not)."""
    want = {f'600.{tag}{k}' for k in range(5)}
    found = {}
    for d in os.listdir('/proc'):
        if not d.isdigit():
            continue
        try:
            with open(f'/proc/{d}/cmdline', 'rb') as f:
                argv = f.read().split(b'\0')
        except OSError:
            continue
        if len(argv) >= 2 and argv[0].endswith(b'sleep') and argv[1].decode() in want:
            found[argv[1].decode()] = int(d)
    return found


def left(check, what, tag, n):
    """Setup: the n markers of tag are running (1..4, and 0 if n == 5)."""
    ok = wait_for(lambda: len(markers(tag)) == n, 10)
    return check(f'{what}: {n} processes left behind are running', ok, repr(markers(tag)))


def gone(check, what, tags, within=GONE_WITHIN):
    t0 = time.monotonic()
    ok = wait_for(lambda: not any(markers(t) for t in tags), within)
    rest = {k: v for t in tags for k, v in markers(t).items()}
    check(f'{what}: none of the processes left behind remains '
          f'({time.monotonic() - t0:.1f} s)', ok, f'still running: {rest!r}')
    for pid in rest.values():  # not for the next case to meet
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def workers(p):
    """The supervisor's workers: its children but what it adopted (sleep, sh)."""
    out = subprocess.run(['pgrep', '-P', str(p.pid)], capture_output=True, text=True).stdout
    return [int(x) for x in out.split() if comm(int(x)) not in ('sleep', 'sh', '')]


def comm(pid):
    try:
        with open(f'/proc/{pid}/comm') as f:
            return f.read().strip()
    except OSError:
        return ''


# ---- the CGI bridge ----------------------------------------------------------------

def start_bridge(env, name, timeout, **extra):
    cgi = os.path.join(env.dir, 'orphans-cgi')
    if not os.path.isdir(cgi):
        os.makedirs(cgi)
        script(env, os.path.join('orphans-cgi', 'leave.sh'), LEAVE_SH)
    extra.setdefault('drain_timeout', 1)
    p = env.start(name, env.a.cgi, kind='native', workers=1,
                  sandbox={'allow': ['process', 'interpreter', 'file-read']},
                  args=['--root', cgi, '--timeout', str(timeout)], **extra)
    return p, f'SCRIPT_FILENAME={cgi}/leave.sh'


def cgi_leave(env, check, name, sf, what):
    """A script that answers and leaves three processes to the worker."""
    tag = new_tag()
    rc, out, _ = request(env, name, f'/x?tag={tag}', [sf])
    check(f'{what}: a script that leaves processes behind answers', rc == 0 and
          b'left' in out, f'{rc} {out[:200]!r} ' + env.logtext(name)[-400:])
    left(check, what + ' (finished script)', tag, 4)
    return tag


def cgi_hang(env, name, sf):
    """A script that leaves three processes and hangs: its request runs on."""
    tag = new_tag()
    return tag, subprocess.Popen([env.a.sfcgi, 'request', '-t', '60', '-p', sf, env.sock(name),
                                  f'/x?tag={tag}&hang=1'], stdout=subprocess.PIPE,
                                 stderr=subprocess.DEVNULL), sf


def bridge_request_timeout(env, check):
    what = 'bridge, request_timeout'
    p, sf = start_bridge(env, 'orph-rt', 0, request_timeout=2)
    done = cgi_leave(env, check, 'orph-rt', sf, what)
    tag, client, _ = cgi_hang(env, 'orph-rt', sf)
    left(check, what + ' (hanging script)', tag, 5)
    ok = wait_for(lambda: 'replacing the worker' in env.logtext('orph-rt'), 10)
    rc, out = end(client)
    check(f'{what}: the worker is replaced', ok, f'{rc} {out[:200]!r}')
    gone(check, what, [tag, done])
    stop(p)


def bridge_timeout(env, check):
    what = "bridge, its --timeout"
    p, sf = start_bridge(env, 'orph-to', 1)
    done = cgi_leave(env, check, 'orph-to', sf, what)
    tag, client, _ = cgi_hang(env, 'orph-to', sf)
    left(check, what + ' (hanging script)', tag, 5)
    end(client)
    check(f'{what}: the script is killed', 'killed after --timeout 1 s' in
          env.logtext('orph-to'), env.logtext('orph-to')[-400:])
    gone(check, what + ' (the timed-out script\'s)', [tag], 2)
    check(f'{what}: what a finished script left lives on with its worker',
          len(markers(done)) == 4, repr(markers(done)))
    rc = stop(p)
    gone(check, what + ', then stop (the finished script\'s)', [done])


def bridge_reload(env, check):
    what = 'bridge, reload past drain_timeout'
    p, sf = start_bridge(env, 'orph-rl', 0)
    done = cgi_leave(env, check, 'orph-rl', sf, what)
    tag, client, _ = cgi_hang(env, 'orph-rl', sf)
    left(check, what + ' (hanging script)', tag, 5)
    p.send_signal(signal.SIGHUP)
    ok = wait_for(lambda: 'reload complete' in env.logtext('orph-rl'), 15)
    check(f'{what}: the old worker is killed, the reload completes', ok and
          'SIGKILL' in env.logtext('orph-rl'), env.logtext('orph-rl')[-400:])
    end(client)
    gone(check, what, [tag, done])
    stop(p)


def bridge_stop(env, check):
    what = 'bridge, stop (SIGTERM)'
    p, sf = start_bridge(env, 'orph-st', 0)
    done = cgi_leave(env, check, 'orph-st', sf, what)
    tag, client, _ = cgi_hang(env, 'orph-st', sf)
    left(check, what + ' (hanging script)', tag, 5)
    rc = stop(p)
    check(f'{what}: the supervisor exits 0 after drain_timeout', rc == 0, str(rc))
    end(client)
    gone(check, what, [tag, done], 0.5)  # waited for by the supervisor already


def bridge_crash(env, check):
    what = 'bridge, worker killed (SIGKILL)'
    p, sf = start_bridge(env, 'orph-cr', 0)
    done = cgi_leave(env, check, 'orph-cr', sf, what)
    tag, client, _ = cgi_hang(env, 'orph-cr', sf)
    left(check, what + ' (hanging script)', tag, 5)
    w = workers(p)
    for pid in w:
        os.kill(pid, signal.SIGKILL)
    end(client)
    gone(check, what, [tag, done])
    again = new_tag()
    rc, out, _ = request(env, 'orph-cr', f'/x?tag={again}', [sf])
    check(f'{what}: its replacement serves', rc == 0 and b'left' in out, f'{rc} {out[:200]!r}')
    stop(p)
    gone(check, what + ', then stop (what the replacement\'s script left)', [again], 0.5)


def bridge_supervisor_killed(env, check):
    """The supervisor killed: the worker drains (PR_SET_PDEATHSIG), the
    hanging script ends at the bridge's --timeout, and the worker ends
    what it started on its way out."""
    what = 'bridge, supervisor killed (SIGKILL)'
    p, sf = start_bridge(env, 'orph-sk', 2)
    done = cgi_leave(env, check, 'orph-sk', sf, what)
    tag, client, _ = cgi_hang(env, 'orph-sk', sf)
    left(check, what + ' (hanging script)', tag, 5)
    w = workers(p)
    p.send_signal(signal.SIGKILL)
    p.wait()
    end(client)
    gone(check, what, [tag, done])
    check(f'{what}: the worker has exited',
          wait_for(lambda: not any(os.path.exists(f'/proc/{pid}') for pid in w), 5), repr(w))


# ---- a foreign program -------------------------------------------------------------

def start_perl(env, name, **extra):
    extra.setdefault('drain_timeout', 1)
    return env.start(name, os.path.join(HERE, 'apps', 'app.fcgi'), workers=1,
                     drain_signal='SIGUSR1', sandbox={'allow': ['process']}, **extra)


def perl_leave(env, check, name, what):
    tag = new_tag()
    rc, out, _ = request(env, name, f'/?leave={tag}')
    check(f'{what}: the program answers', rc == 0 and b'app=perl' in out,
          f'{rc} {out[:200]!r} ' + env.logtext(name)[-400:])
    left(check, what, tag, 4)
    return tag


def foreign_request_timeout(env, check):
    """request_timeout of a foreign program: its hang detection kills it."""
    what = 'foreign, request_timeout (hung)'
    p = start_perl(env, 'orph-frt', request_timeout=2)
    tag = perl_leave(env, check, 'orph-frt', what)
    hung = bg_request(env, 'orph-frt', '/?hang=1')
    time.sleep(0.5)
    rc, out, _ = request(env, 'orph-frt', '/?x=2')
    check(f'{what}: the hung worker is replaced', rc == 0 and b'app=perl' in out and
          'hung; SIGKILL' in env.logtext('orph-frt'), f'{rc} {out[:200]!r}')
    end(hung)
    gone(check, what, [tag])
    stop(p)


def foreign_reload(env, check):
    what = 'foreign, reload past drain_timeout'
    p = start_perl(env, 'orph-frl')
    tag = perl_leave(env, check, 'orph-frl', what)
    hung = bg_request(env, 'orph-frl', '/?hang=1')
    time.sleep(0.5)
    p.send_signal(signal.SIGHUP)
    ok = wait_for(lambda: 'reload complete' in env.logtext('orph-frl'), 15)
    check(f'{what}: the reload completes', ok, env.logtext('orph-frl')[-400:])
    end(hung)
    gone(check, what, [tag])
    stop(p)


def foreign_stop(env, check):
    what = 'foreign, stop (SIGTERM)'
    p = start_perl(env, 'orph-fst')
    tag = perl_leave(env, check, 'orph-fst', what)
    rc = stop(p)
    check(f'{what}: the supervisor exits 0', rc == 0, str(rc))
    gone(check, what, [tag], 0.5)


def foreign_crash(env, check):
    what = 'foreign, worker killed (SIGKILL)'
    p = start_perl(env, 'orph-fcr')
    tag = perl_leave(env, check, 'orph-fcr', what)
    for pid in workers(p):
        os.kill(pid, signal.SIGKILL)
    gone(check, what, [tag])
    rc, out, _ = request(env, 'orph-fcr', '/?x=1')
    check(f'{what}: its replacement serves', rc == 0 and b'app=perl' in out, repr(out[:200]))
    stop(p)


def foreign_php_children(env, check):
    """php-cgi with PHP_FCGI_CHILDREN=2 is a worker with children of its own:
    killed with SIGKILL, it cannot end them; they must not stay under PID 1."""
    import shutil
    what = 'foreign, php-cgi master killed (SIGKILL), PHP_FCGI_CHILDREN=2'
    php = shutil.which('php-cgi')
    if not php:
        check(f'{what}: php-cgi is installed', False)
        return
    page = os.path.join(env.docroot, 'php', 'index.php')
    p = env.start('orph-php', php, workers=1, drain_timeout=1,
                  environment={'PHP_FCGI_CHILDREN': '2'},
                  sandbox={'allow': ['process', 'file-write']})
    rc, out, _ = request(env, 'orph-php', '/?x=1', [f'SCRIPT_FILENAME={page}'])
    check(f'{what}: it serves', rc == 0 and b'children=2' in out, f'{rc} {out[:200]!r}')
    w = workers(p)
    kids = [int(x) for m in w for x in subprocess.run(
        ['pgrep', '-P', str(m)], capture_output=True, text=True).stdout.split()]
    check(f'{what}: one master, 2 children', len(w) == 1 and len(kids) == 2, f'{w} {kids}')
    for pid in w:
        os.kill(pid, signal.SIGKILL)
    ok = wait_for(lambda: not any(comm(k) == 'php-cgi' for k in kids), GONE_WITHIN)
    check(f'{what}: its children are gone', ok, repr([k for k in kids if comm(k)]))
    for k in kids:
        if comm(k) == 'php-cgi':
            os.kill(k, signal.SIGKILL)
    rc, out, _ = request(env, 'orph-php', '/?x=2', [f'SCRIPT_FILENAME={page}'])
    check(f'{what}: its replacement serves', rc == 0 and b'children=2' in out, repr(out[:200]))
    stop(p)


CASES = {'orphans': [bridge_request_timeout, bridge_timeout, bridge_reload, bridge_stop,
                     bridge_crash, bridge_supervisor_killed, foreign_request_timeout,
                     foreign_reload, foreign_stop, foreign_crash, foreign_php_children]}
