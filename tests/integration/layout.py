#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""What an idle worker maps of libsfcgi (issue 12): src/layout.ld's segments.

The kernel maps a library's cached pages up to 64 KiB around each page
fault, clamped to the mapping: a process maps whole segments of what it
touches. src/layout.ld gives the code a worker runs (the request path and
the WORKER_TEXT functions of src/layout.h) and its constants segments of
their own, the supervisor's code another, what only some configurations
run (a filter compiled at run time) others, and the unwind tables one
that nothing reads. Checked here on examples/hello under the default sandbox:

  - libsfcgi.so has those sections, each in a LOAD segment of its own;
    without a sanitizer (whose runtime unwinds stacks), no process maps
    the unwind tables;
  - in an optimized build without a sanitizer (the release tree, as
    shipped and benchmarked): the worker's code fits one 64 KiB window; an
    idle worker, after 200 requests, maps nothing of the supervisor's code,
    the rest of the code, the other constants, nor any code of ld.so (-z
    now: nothing was left to bind after the fork); a one-process app
    (workers 0) maps nothing of the supervisor's code nor of the code and
    constants only some configurations use (".text.rare", ".rodata.rare"). At -O0 the small
    helpers WORKER_TEXT functions call are not inlined, and a sanitizer
    adds constructors to every object: there those are reported, not
    checked.

A function a worker runs that is in neither the request path's files nor
WORKER_TEXT shows here as a worker mapping the segment of ".text" or
".text.supervisor".

  layout.py LIBSFCGI_SO HELLO WORKDIR OPTIMIZATION SANITIZE
"""
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fcgi_client  # noqa: E402

WINDOW = 64 << 10
failed = 0


def ok(cond, msg):
    global failed
    print(('ok - ' if cond else 'not ok - ') + msg)
    failed += not cond


def readelf(lib, opt):
    return subprocess.run(['readelf', '-W', opt, lib], check=True, capture_output=True,
                          text=True).stdout.splitlines()


def segments(lib):
    """LOAD segments: [(offset, vaddr, memsz, flags)]."""
    out = []
    for line in readelf(lib, '-l'):
        f = line.split()
        if f and f[0] == 'LOAD':
            out.append((int(f[1], 16), int(f[2], 16), int(f[5], 16), ' '.join(f[6:-1])))
    return out


def sections(lib):
    """{name: (vaddr, size)} of the allocated sections."""
    out = {}
    for line in readelf(lib, '-S'):
        if '] ' not in line:
            continue
        f = line.split(']', 1)[1].split()
        if len(f) >= 5 and f[0].startswith('.'):
            out[f[0]] = (int(f[2], 16), int(f[4], 16))
    return out


def segment_of(segs, vaddr):
    for i, (_, va, size, _) in enumerate(segs):
        if va <= vaddr < va + size:
            return i
    return None


def rss_by_segment(pid, lib, segs):
    """{segment index: Rss KiB} of pid's mappings of lib, by file offset."""
    real = os.path.realpath(lib)
    out, cur = {}, None
    with open(f'/proc/{pid}/smaps') as f:
        for line in f:
            fields = line.split()
            if '-' in fields[0] and len(fields) >= 5 and ':' not in fields[0]:
                cur = None
                if len(fields) == 6 and os.path.realpath(fields[5]) == real:
                    off = int(fields[2], 16)
                    for i, (o, _, size, _) in enumerate(segs):
                        if o - (o % 4096) <= off < o + size:
                            cur = i
                            break
            elif cur is not None and fields[0] == 'Rss:':
                out[cur] = out.get(cur, 0) + int(fields[1])
    return out


def ldso_code_rss(pid):
    rss, cur = 0, False
    with open(f'/proc/{pid}/smaps') as f:
        for line in f:
            fields = line.split()
            if '-' in fields[0] and ':' not in fields[0]:
                cur = len(fields) == 6 and 'ld-linux' in fields[5] and 'x' in fields[1]
            elif cur and fields[0] == 'Rss:':
                rss += int(fields[1])
    return rss


def start(hello, work, name, workers):
    sock = os.path.join(work, name + '.sock')
    log = open(os.path.join(work, name + '.log'), 'w')
    p = subprocess.Popen([hello, '--workers', str(workers), '--listen', sock], stdout=log,
                         stderr=subprocess.STDOUT)
    for _ in range(500):
        if os.path.exists(sock):
            break
        time.sleep(0.01)
    return p, sock


def serve(sock, n):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sock)
    for _ in range(n):
        s.sendall(fcgi_client.rec(fcgi_client.BEGIN, b'\0\1\1\0\0\0\0\0')
                  + fcgi_client.request()[16:])
        fcgi_client.read_response(s)
    s.close()


def stop(p):
    p.send_signal(signal.SIGTERM)
    try:
        p.wait(10)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


def main():
    lib, hello, work, optimization, sanitize = sys.argv[1:6]
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    segs, secs = segments(lib), sections(lib)
    want = ['.text.worker', '.rodata.worker', '.text.supervisor', '.text.rare', '.text',
            '.rodata.rare', '.rodata', '.eh_frame']
    missing = [s for s in want if s not in secs]
    ok(not missing, f'libsfcgi has the sections of src/layout.ld (missing: {missing})')
    if missing:
        return 1
    seg = {s: segment_of(segs, secs[s][0]) for s in want}
    ok(len(set(seg.values())) == len(want) and None not in seg.values(),
       f'each in a LOAD segment of its own ({seg})')
    wseg = segs[seg['.text.worker']]
    strict = optimization in ('2', '3', 's') and sanitize == 'none'

    def check(cond, msg, when=strict):
        if when:
            ok(cond, msg)
        else:
            print(f'# {msg} (-O{optimization}, sanitize {sanitize}: reported, not checked)')

    def unwind(cond, msg):  # a sanitizer's runtime reads them, to report where
        check(cond, msg, sanitize == 'none')

    check(wseg[2] <= WINDOW, f'the worker\'s code segment is {wseg[2]} bytes: '
          f'at most one {WINDOW >> 10} KiB window')

    worker_only = {'.text.worker', '.rodata.worker'}
    sup, sock = start(hello, work, 'one-worker', 1)
    try:
        workers = []
        for _ in range(500):
            workers = subprocess.run(['pgrep', '-P', str(sup.pid)], capture_output=True,
                                     text=True).stdout.split()
            if workers:
                break
            time.sleep(0.01)
        serve(sock, 200)
        time.sleep(1.2)  # idle: past the worker's idle trim
        ok(len(workers) == 1, f'one worker under {sup.pid}: {workers}')
        if workers:
            w = int(workers[0])
            rss = rss_by_segment(w, lib, segs)
            ok(rss.get(seg['.text.worker'], 0) > 0,
               f'worker {w} maps its code segment ({rss.get(seg[".text.worker"], 0)} KiB)')
            for s in want:
                if s == '.eh_frame':
                    unwind(rss.get(seg[s], 0) == 0,
                           f'idle worker maps {rss.get(seg[s], 0)} KiB of the unwind tables')
                elif s not in worker_only:
                    check(rss.get(seg[s], 0) == 0,
                          f'idle worker maps {rss.get(seg[s], 0)} KiB of the segment of {s}')
            check(ldso_code_rss(w) == 0,
                  f'idle worker maps {ldso_code_rss(w)} KiB of ld.so\'s code (bound at start)')
        rss = rss_by_segment(sup.pid, lib, segs)
        unwind(rss.get(seg['.eh_frame'], 0) == 0,
               f'supervisor maps {rss.get(seg[".eh_frame"], 0)} KiB of the unwind tables')
    finally:
        stop(sup)

    one, sock = start(hello, work, 'one-process', 0)
    try:
        serve(sock, 200)
        time.sleep(0.2)
        rss = rss_by_segment(one.pid, lib, segs)
        unwind(rss.get(seg['.eh_frame'], 0) == 0,
               f'one-process app maps {rss.get(seg[".eh_frame"], 0)} KiB of the unwind tables')
        for s in ('.text.supervisor', '.text.rare', '.rodata.rare'):
            check(rss.get(seg[s], 0) == 0,
                  f'one-process app maps {rss.get(seg[s], 0)} KiB of the segment of {s}')
    finally:
        stop(one)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
