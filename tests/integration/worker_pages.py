#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A forked worker keeps sharing its supervisor's heap (issue 12, part 3).

examples/hello with 2 workers under the default sandbox. For each worker,
once it is ready: how many of its present [heap] pages are its own rather
than still the supervisor's (pagemap: present and "exclusively mapped").
Before heap.c filed glibc's free chunks ahead of the fork, a worker's first
malloc wrote into every one of them and none stayed shared (14 pages of its
own on examples/hello); with heap.c, 4 of 8; since the seccomp programs
are built in (filter_embedded.h), the supervisor's heap is nearly empty
when it forks and a worker has 1 page of its own. At most MAX_OWN. Also: a worker unmaps the supervisor's state (struct
sup, an anonymous mapping of about 190 KiB): a large anonymous mapping of
the supervisor's is not in the worker (before, that state was in
libsfcgi's bss, which both map whole).

  worker_pages.py HELLO WORKDIR
"""
import os
import shutil
import signal
import struct
import subprocess
import sys
import time

PAGE = os.sysconf('SC_PAGE_SIZE')
MAX_OWN = 6  # heap pages a worker may have of its own once ready


def heap(pid):
    with open(f'/proc/{pid}/maps') as f:
        for line in f:
            if line.rstrip().endswith('[heap]'):
                a, b = (int(x, 16) for x in line.split()[0].split('-'))
                return a, b
    return None


def pages(pid, a, b):
    """(present, shared) pages of [a, b) in pid."""
    present = shared = 0
    with open(f'/proc/{pid}/pagemap', 'rb') as pm:
        for va in range(a, b, PAGE):
            pm.seek(va // PAGE * 8)
            e = struct.unpack('Q', pm.read(8))[0]
            if e >> 63 & 1:
                present += 1
                shared += not (e >> 56 & 1)
    return present, shared


def anon_private(pid):
    out = set()
    with open(f'/proc/{pid}/maps') as f:
        for line in f:
            fields = line.split()
            if len(fields) == 5 and fields[1].endswith('p'):
                out.add(fields[0])
    return out


def main():
    hello, work = sys.argv[1], sys.argv[2]
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    sock = os.path.join(work, 'hello.sock')
    log = open(os.path.join(work, 'log'), 'w')
    sup = subprocess.Popen([hello, '--workers', '2', '--listen', sock], stdout=log,
                           stderr=subprocess.STDOUT)
    failed = 0
    try:
        workers = []
        for _ in range(500):
            workers = [int(p) for p in subprocess.run(
                ['pgrep', '-P', str(sup.pid)], capture_output=True, text=True).stdout.split()]
            if len(workers) == 2 and os.path.exists(sock):
                break
            time.sleep(0.01)
        time.sleep(0.5)  # both workers through their start
        if len(workers) != 2:
            print(f'not ok - expected 2 workers under {sup.pid}, found {workers}')
            return 1
        sup_anon = anon_private(sup.pid)
        for w in workers:
            h = heap(w)
            present, shared = pages(w, *h) if h else (0, 0)
            own = present - shared
            if h and own <= MAX_OWN:
                print(f'ok - worker {w}: {own} of its {present} heap pages its own, '
                      f'{shared} shared with the supervisor')
            else:
                print(f'not ok - worker {w}: {own} of its {present} heap pages its own '
                      f'(want at most {MAX_OWN}: see src/heap.c)')
                failed += 1
            gone = {r for r in sup_anon - anon_private(w)
                    if int(r.split('-')[1], 16) - int(r.split('-')[0], 16) >= 128 << 10}
            if gone:
                print(f'ok - worker {w}: the supervisor\'s large state ({sorted(gone)}) is '
                      'not mapped in the worker')
            else:
                print(f'not ok - worker {w}: maps every large anonymous mapping of its '
                      'supervisor (struct sup should be unmapped: supervisor_run)')
                failed += 1
    finally:
        sup.send_signal(signal.SIGTERM)
        try:
            sup.wait(10)
        except subprocess.TimeoutExpired:
            sup.kill()
            sup.wait()
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
