# SPDX-License-Identifier: MIT
"""The sandbox's refusals in programs a worker runs (issue 10, item 6): a CGI
script of sfcgi-cgi that makes a forbidden call is named, with the key that
allows it, and its request gets a clean 502; learning mode
("on_violation": "log") logs every refused call once in sfcgi's own log with
a summary that, pasted into the config, runs the same program under "kill"
without a refusal (the round trip is done here, for a bridge script and for
a foreign program). Real scripts (perl, dash), requests with `sfcgi request`."""
import json
import os
import re
import time

from foreign_cases import request, script, stop
from foreign_e2e import wait_for

BRIDGE = ['process', 'interpreter', 'file-read']  # what sfcgi-cgi(1) documents


def bridge_refusals(env, check, cgi, sf):
    """Scripts run under the worker's filter: a refused call ends the script
    (not the worker), named with its key, never a group allowed already."""
    write = script(env, 'write.sh',
                   f'#!/bin/sh\necho x > {env.dir}/written\n'
                   'printf "Content-Type: text/plain\\n\\nreached\\n"\n')
    nested = script(env, 'nested.sh',
                    "#!/bin/sh\nperl -MSocket -e 'socket(my $s, PF_INET, SOCK_STREAM, 0)'\n"
                    'printf "Content-Type: text/plain\\n\\nperl status $?\\n"\n')
    netlink = script(env, 'netlink.pl',
                     '#!/usr/bin/perl\nuse Socket;\nsocket(my $s, 16, SOCK_RAW, 0);\n'
                     'print "Content-Type: text/plain\\n\\nreached\\n";\n')
    for p in (write, nested, netlink):  # script() writes into env.dir
        os.rename(p, os.path.join(cgi, os.path.basename(p)))
    write, nested, netlink = (os.path.join(cgi, os.path.basename(p))
                              for p in (write, nested, netlink))
    sock = os.path.join(cgi, 'refused.pl')  # opens a TCP socket
    p = env.start('cgi3', env.a.cgi, kind='native', workers=1, sandbox={'allow': BRIDGE},
                  args=['--root', cgi])
    rc, out, err = request(env, 'cgi3', '/x', [sf('refused.pl')])
    text = env.logtext('cgi3')
    check('bridge refusal: a script\'s socket() is named with "network" and the script',
          bool(re.search(re.escape(f'script {sock} (process ') + r'\d+\) of worker \d+ killed '
                         r'by the sandbox: forbidden system call socket \(41\); to allow it: '
                         r'"sandbox": \{"allow": \["network"\]\}', text)), text[-800:])
    check('bridge refusal: the request gets a clean 502',
          rc == 5 and out.startswith(b'Status: 502') and b'killed by the sandbox' in out and
          b'socket opened' not in out, f'{rc} {out[:200]!r}')
    check('bridge refusal: the web server\'s stderr names the script',
          f'sfcgi-cgi: {sock}: killed by the sandbox' in err, err)
    check('bridge refusal: sfcgi-cgi\'s own line names the script and no group to add',
          f'sfcgi-cgi: {sock}: killed by the sandbox (SIGSYS)' in text and
          not any(f'"allow": ["{g}"' in text for g in BRIDGE), text[-800:])
    rc, out, _ = request(env, 'cgi3', '/x', [sf('write.sh')])
    text = env.logtext('cgi3')
    check('bridge refusal: open for writing with "file-read" allowed: "file-write", and that '
          'openat is allowed with other arguments',
          bool(re.search(re.escape(f'script {write} (process ') + r'\d+\) of worker \d+ killed '
                         r'by the sandbox: forbidden system call openat \(257\); to allow it: '
                         r'"sandbox": \{"allow": \["file-write"\]\}( \(the "\w+" profile allows '
                         r'it\))? \(allowed already with certain arguments only', text)) and
          rc == 5 and b'Status: 502' in out and not os.path.exists(env.dir + '/written'),
          text[-800:])
    rc, out, _ = request(env, 'cgi3', '/x', [sf('nested.sh')])
    text = env.logtext('cgi3')
    check('bridge refusal: a program the script runs is named, with its script; the script '
          'goes on',
          bool(re.search(r'process \d+ \(perl -MSocket -e socket\(my \$s, PF_INET, SOCK_STREAM, '
                         r'0\)\) of script ' + re.escape(nested) + r', worker \d+ killed by the '
                         r'sandbox: forbidden system call socket \(41\)', text)) and
          rc == 0 and b'perl status 159' in out, f'{out!r}\n{text[-800:]}')
    rc, out, _ = request(env, 'cgi3', '/x', [sf('env.pl')])
    text = env.logtext('cgi3')
    check('bridge refusal: the worker itself was never killed, and serves on',
          rc == 0 and b'app=cgi-perl' in out and text.count(' started (slot ') == 1 and
          'restarting it' not in text, text[-600:])
    stop(p)
    env.start('cgi4', env.a.cgi, kind='native', workers=1,
              sandbox={'allow': BRIDGE + ['network']}, args=['--root', cgi])
    rc, out, _ = request(env, 'cgi4', '/x', [sf('netlink.pl')])
    text = env.logtext('cgi4')
    check('bridge refusal: socket(AF_NETLINK) with "network" allowed: "syscalls", not '
          '"network"',
          f'script {netlink} (process ' in text and
          'forbidden system call socket (41); to allow it: "sandbox": {"syscalls": '
          '["socket"]} (allowed already with certain arguments only' in text and
          '"allow": ["network"]' not in text and rc == 5, text[-800:])


def without_interpreter(env, check, cgi, sf):
    """Without "interpreter" the forked child dies before its exec."""
    env.start('cgi2', env.a.cgi, kind='native', workers=1,
              sandbox={'allow': ['process', 'file-read']}, args=['--root', cgi])
    rc, out, _ = request(env, 'cgi2', '/x', [sf('env.pl')])
    ok = wait_for(lambda: 'sfcgi-cgi: ' + cgi + '/env.pl: killed by the sandbox (SIGSYS)' in
                  env.logtext('cgi2'), 5)
    text = env.logtext('cgi2')
    check('bridge sandbox: without "interpreter" a script is killed, 502, the call and '
          '"interpreter" named',
          rc == 5 and b'Status: 502' in out and ok and
          re.search(r'started by worker \d+ killed by the sandbox: forbidden system call '
                    r'set_robust_list \(\d+\); to allow it: "sandbox": \{"allow": \["threads"\]\} '
                    r'or \{"allow": \["interpreter"\]\}', text), text[-800:])


# ---- learning mode -------------------------------------------------------------

SUMMARY = re.compile(r'learning: to run without these refusals \(([^;)]*); ([^)]*)\): '
                     r'"sandbox": (\{.*?\}); these lists replace')


def paste(env, name, text, **extra):
    """The last summary of text, merged into name's config under "kill"."""
    found = SUMMARY.findall(text)
    with open(os.path.join(env.dir, name + '.json')) as f:
        c = json.load(f)
    if found:
        c['sandbox'].update(json.loads(found[-1][2]))
    c['sandbox']['on_violation'] = 'kill'
    c.pop('listen')
    c.pop('program')
    c.update(extra)
    return c, found


def learning_bridge(env, check):
    cgi = os.path.join(env.docroot, 'cgi-bin')
    two = script(env, 'two.pl', '#!/usr/bin/perl\nuse Socket;\n'
                 'socket(my $s, PF_INET, SOCK_STREAM, 0) or die "socket: $!";\n'
                 'my $p = getpriority(0, 0);\n'
                 'print "Content-Type: text/plain\\n\\ntwo ok, priority $p\\n";\n')
    os.rename(two, os.path.join(cgi, 'two.pl'))
    two = os.path.join(cgi, 'two.pl')
    sf = [f'SCRIPT_FILENAME={two}']
    p = env.start('learn', env.a.cgi, kind='native', workers=2,
                  sandbox={'allow': BRIDGE, 'on_violation': 'log'}, args=['--root', cgi])
    outs = [request(env, 'learn', '/x', sf) for _ in range(3)]
    check('learning bridge: the script runs whole while learning',
          all(rc == 0 and b'two ok' in out for rc, out, _ in outs), repr(outs[0]))
    text = env.logtext('learn')
    sock = re.findall(r'learning: would refuse socket \(41\) in script ' + re.escape(two) +
                      r' \(process \d+\) of worker \d+: add "sandbox": \{"allow": \["network"\]\}',
                      text)
    prio = re.findall(r'learning: would refuse getpriority \(140\) in script ' + re.escape(two) +
                      r' \(process \d+\) of worker \d+: add "sandbox": \{"syscalls": '
                      r'\["getpriority"\]\}', text)
    check('learning bridge: both calls logged, once each, with the key',
          len(sock) == 1 and len(prio) == 1 and text.count('>learning: would refuse') == 2,
          text[-1000:])
    ok = wait_for(lambda: SUMMARY.search(env.logtext('learn')), 15)
    text = env.logtext('learn')
    c, found = paste(env, 'learn', text)
    check('learning bridge: a summary 10 s after the last new call, before any stop',
          ok and found and found[0][0] == 'socket, getpriority' and
          found[0][1] == 'none new for 10 s', text[-600:])
    check('learning bridge: the summary keeps what the config allows and adds the rest',
          found and json.loads(found[-1][2]) == {
              'allow': ['file-read', 'network', 'process', 'interpreter'],
              'syscalls': ['getpriority']}, found)
    stop(p)
    check('learning bridge: no second summary at stop when nothing new came',
          len(SUMMARY.findall(env.logtext('learn'))) == 1, env.logtext('learn')[-600:])
    with open(os.path.join(env.dir, 'learn-kill.json'), 'w') as f:
        json.dump(c, f)
    p = env.start('learn-kill', env.a.cgi, **c)
    rc, out, _ = request(env, 'learn-kill', '/x', sf)
    text = env.logtext('learn-kill')
    check('learning bridge: the summary pasted, the script runs under "kill" with no refusal',
          rc == 0 and b'two ok' in out and 'killed by the sandbox' not in text,
          f'{rc} {out!r}\n{text[-600:]}')
    stop(p)
    p = env.start('learn-before', env.a.cgi, kind='native', workers=1,
                  sandbox={'allow': BRIDGE}, args=['--root', cgi])
    rc, out, _ = request(env, 'learn-before', '/x', sf)
    check('learning bridge: (the same script under the config before: refused)',
          rc == 5 and 'killed by the sandbox' in env.logtext('learn-before'), repr(out))
    stop(p)


def learning_foreign(env, check):
    prog = script(env, 'learn.pl', '#!/usr/bin/perl\nuse Socket;\n'
                  'socket(my $s, PF_INET, SOCK_STREAM, 0) or die "socket: $!";\n'
                  'getpriority(0, 0);\nsleep 60;\n')
    p = env.start('learnf', prog, workers=2, sandbox={'on_violation': 'log'})
    ok = wait_for(lambda: SUMMARY.search(env.logtext('learnf')), 15)
    text = env.logtext('learnf')
    lines = re.findall(r'learning: would refuse (\w+) \((\d+)\) in worker \d+ \(program ' +
                       re.escape(prog) + r'\): add "sandbox": \{(.*)\}\n', text)
    check('learning foreign: two workers, each call logged once with its key',
          sorted(lines) == [('getpriority', '140', '"syscalls": ["getpriority"]'),
                            ('socket', '41', '"allow": ["network"]')], text[-800:])
    check('learning foreign: the workers live on', 'restarting it' not in text, text[-600:])
    stop(p)
    c, found = paste(env, 'learnf', env.logtext('learnf'))
    check('learning foreign: a summary', bool(found), env.logtext('learnf')[-600:])
    p = env.start('learnf-kill', prog, **{k: v for k, v in c.items() if k != 'kind'})
    time.sleep(2)
    text = env.logtext('learnf-kill')
    check('learning foreign: the summary pasted, the program runs under "kill" with no '
          'refusal', p.poll() is None and 'killed by the sandbox' not in text and
          'restarting it' not in text, text[-600:])
    stop(p)


def learning_fallback(env, check):
    """Learning mode without a supervisor (workers: 0): the kernel's log
    only, said once, with what to do."""
    p = env.start('learn0', env.a.echo, kind='native', workers=0,
                  sandbox={'on_violation': 'log'})
    ok = wait_for(lambda: 'learning mode' in env.logtext('learn0'), 5)
    check('learning without a supervisor: says the kernel logs, and how to log here',
          ok and 'logged by the kernel only' in env.logtext('learn0') and
          '"workers" of 1 or more' in env.logtext('learn0'), env.logtext('learn0')[-600:])
    stop(p)
