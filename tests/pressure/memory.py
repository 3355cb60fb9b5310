#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Bodies larger than memory (issue 15): the echo example, whose handler
writes while it reads, behind a real nginx, with its whole process tree in a
memory cgroup of --limit-mib (64 MiB).

nginx stops sending a body once it has a response header, so sfcgi holds
echo's output until the body is in, and the body itself past
request_memory goes to a spill file (spill.c). Checks: a --big-mib (1 GiB)
body echoed byte-exact, then --parallel (8) uploads of --each-mb (100 MB) at
once, all byte-exact; no OOM kill in the cgroup; every worker's peak RSS
(VmHWM) within the budget sfcgi.json(5) documents ("Memory per request")
above what the worker held before the first upload. Bodies come from a
seeded generator and are compared by sha256 as they stream: the test never
holds a body in memory.

The workers run under "seccomp": "strict" and Landlock (read_only: /usr,
"landlock": "required"), with no "file-write": the spill must work by
construction. The spill directory is $TMPDIR's default choice, set to a
directory under --workdir on disk.

The cgroup is v2 where the memory controller is there (memory.max,
memory.events, memory.peak), else v1 (memory.limit_in_bytes,
memory.oom_control, memory.max_usage_in_bytes); it is created under the
controller's root and removed at the end. --report FILE writes what was
measured as JSON (bench/spill.sh). Exit: 0 pass, 1 fail, 77 skip (not
root, no memory controller, no nginx), 99 harness error.
"""
import argparse
import hashlib
import http.client
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

CHUNK = 1 << 16
MIB = 1 << 20


class Failure(Exception):
    pass


class Skip(Exception):
    pass


def log(msg):
    print(msg, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def tail(path, lines=30):
    try:
        with open(path, errors='replace') as f:
            return ''.join(f.readlines()[-lines:])
    except OSError as e:
        return f'({path}: {e})'


# -- the cgroup -------------------------------------------------------------

def mounts():
    with open('/proc/self/mounts') as f:
        for line in f:
            dev, path, fstype, opts = line.split()[:4]
            yield path, fstype, opts.split(',')


class Cgroup:
    """A memory cgroup of our own, v2 if the controller is there, else v1."""

    def __init__(self, limit):
        self.path = None
        name = f'sfcgi-memtest-{os.getpid()}'
        for path, fstype, _ in mounts():
            if fstype != 'cgroup2':
                continue
            try:
                with open(os.path.join(path, 'cgroup.controllers')) as f:
                    if 'memory' not in f.read().split():
                        continue
            except OSError:
                continue
            self.v2, root = True, path
            break
        else:
            for path, fstype, opts in mounts():
                if fstype == 'cgroup' and 'memory' in opts:
                    self.v2, root = False, path
                    break
            else:
                raise Skip('no memory cgroup controller (v2 or v1) is mounted')
        if self.v2:
            # The root may give controllers to children whatever it holds.
            with open(os.path.join(root, 'cgroup.subtree_control'), 'w') as f:
                f.write('+memory')
        self.path = os.path.join(root, name)
        os.mkdir(self.path)
        if self.v2:
            self.write('memory.max', str(limit))
            if os.path.exists(os.path.join(self.path, 'memory.swap.max')):
                self.write('memory.swap.max', '0')
        else:
            self.write('memory.limit_in_bytes', str(limit))
            if os.path.exists(os.path.join(self.path, 'memory.memsw.limit_in_bytes')):
                self.write('memory.memsw.limit_in_bytes', str(limit))
        log(f'cgroup {"v2" if self.v2 else "v1"} {self.path}: limit {limit // MIB} MiB')

    def write(self, name, value):
        with open(os.path.join(self.path, name), 'w') as f:
            f.write(value)

    def read(self, name):
        with open(os.path.join(self.path, name)) as f:
            return f.read()

    def enter(self):
        """For preexec_fn: the child joins before it execs (and forks workers)."""
        with open(os.path.join(self.path, 'cgroup.procs'), 'w') as f:
            f.write(str(os.getpid()))

    def pids(self):
        return [int(p) for p in self.read('cgroup.procs').split()]

    def oom_kills(self):
        text = self.read('memory.events' if self.v2 else 'memory.oom_control')
        for line in text.splitlines():
            k, _, v = line.partition(' ')
            if k == 'oom_kill':
                return int(v)
        raise Failure(f'no oom_kill counter in {self.path}')

    def peak(self):
        name = 'memory.peak' if self.v2 else 'memory.max_usage_in_bytes'
        try:
            return int(self.read(name))
        except OSError:
            return None

    def remove(self):
        if not self.path:
            return
        for _ in range(100):
            try:
                os.rmdir(self.path)
                return
            except FileNotFoundError:
                return
            except OSError:
                for p in self.pids():
                    try:
                        os.kill(p, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                time.sleep(0.1)
        log(f'warning: could not remove {self.path}')


# -- bodies -----------------------------------------------------------------

def body_chunks(seed, size):
    """size bytes from a seeded generator, CHUNK at a time."""
    rnd = random.Random(seed)
    left = size
    while left:
        n = min(CHUNK, left)
        yield rnd.randbytes(n)
        left -= n


def body_sha(seed, size):
    h = hashlib.sha256()
    for c in body_chunks(seed, size):
        h.update(c)
    return h.hexdigest()


class Counted:
    """An iterable body that hashes what it sends."""

    def __init__(self, seed, size):
        self.seed, self.size, self.sha = seed, size, hashlib.sha256()

    def __iter__(self):
        for c in body_chunks(self.seed, self.size):
            self.sha.update(c)
            yield c


def upload(port, seed, size, timeout):
    """POSTs size bytes to echo; returns (status, echoed bytes, their sha, sent sha, seconds)."""
    t = time.monotonic()
    conn = http.client.HTTPConnection('127.0.0.1', port, timeout=timeout)
    body = Counted(seed, size)
    conn.request('POST', '/upload', body=body,
                 headers={'Content-Length': str(size),
                          'Content-Type': 'application/octet-stream'})
    resp = conn.getresponse()
    got, n, pending, seen = hashlib.sha256(), 0, b'', False
    while True:
        b = resp.read(1 << 20)
        if not b:
            break
        if not seen:  # echo writes its params first, then "body:\n", then the body
            pending += b
            head, sep, rest = pending.partition(b'\nbody:\n')
            if not sep:
                pending = pending[-8:] if len(pending) > (1 << 20) else pending
                continue
            seen, b = True, rest
        got.update(b)
        n += len(b)
    conn.close()
    return resp.status, n, got.hexdigest(), body.sha.hexdigest(), time.monotonic() - t


# -- memory of the workers --------------------------------------------------

def status_kib(pid, key):
    try:
        with open(f'/proc/{pid}/status') as f:
            for line in f:
                if line.startswith(key + ':'):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def spill_sizes(pid, spill):
    """Sizes of the worker's open (unnamed) files in the spill directory."""
    out = []
    try:
        fds = os.listdir(f'/proc/{pid}/fd')
    except OSError:
        return out
    for fd in fds:
        try:
            if os.readlink(f'/proc/{pid}/fd/{fd}').startswith(spill + '/'):
                out.append(os.stat(f'/proc/{pid}/fd/{fd}').st_size)
        except OSError:
            pass
    return out


class Watch(threading.Thread):
    """Samples every worker of the cgroup: its peak VmHWM, and the largest
    its spill file grew."""

    def __init__(self, cg, supervisor, spill):
        super().__init__(daemon=True)
        self.cg, self.supervisor, self.spill = cg, supervisor, spill
        self.hwm, self.spilled, self.stop = {}, 0, threading.Event()

    def sample(self):
        for p in self.cg.pids():
            if p == self.supervisor:
                continue
            v = status_kib(p, 'VmHWM')
            if v is not None:
                self.hwm[p] = max(self.hwm.get(p, 0), v)
            self.spilled = max([self.spilled] + spill_sizes(p, self.spill))

    def run(self):
        while not self.stop.is_set():
            try:
                self.sample()
            except OSError:
                pass
            self.stop.wait(0.2)


# -- the test ---------------------------------------------------------------

ASAN_QUARANTINE_MIB = 4
ECHO_WRITE = 65536  # examples/echo.c writes at most this much at once
SPILL_FSIZE = 4 * MIB  # spill-fails: what the spill file may grow to


def workers_of(pid):
    with open(f'/proc/{pid}/task/{pid}/children') as f:
        return sorted(int(p) for p in f.read().split())


def failing(args, port, app, app_log, spill):
    """A body that cannot spill is answered 500 with a log line that says
    why and what to do; the worker goes on, and serves the next bodies."""
    before = workers_of(app.pid)
    size = 20 * MIB
    conn = http.client.HTTPConnection('127.0.0.1', port, timeout=60)
    conn.request('POST', '/upload', body=Counted(7, size),
                 headers={'Content-Length': str(size)})
    resp = conn.getresponse()
    text = resp.read()
    conn.close()
    log(f'{size // MIB} MiB body that cannot spill: status {resp.status}, {text[:60]!r}')
    if resp.status != 500 or b'the request body could not be stored' not in text:
        raise Failure(f'expected the 500 of a lost body, got {resp.status} {text[:200]!r}:\n'
                      + tail(app_log))
    want = ('File too large' if args.scenario == 'spill-fails'
            else 'no spill file (see the warning at the worker\'s start)')
    time.sleep(0.2)
    with open(app_log, errors='replace') as f:
        logtext = f.read()
    line = next((l for l in logtext.splitlines() if 'could not be written to the spill' in l), '')
    log(f'log: {line}')
    hint = '"fsize" rlimit' if args.scenario == 'spill-fails' else '"spill_dir"'
    if want not in line or hint not in line:
        raise Failure(f'no log line naming "{want}" and {hint}:\n' + tail(app_log))
    if args.scenario == 'no-spill-dir' and 'cannot open a spill file in' not in logtext:
        raise Failure('no warning at the start about the spill directory:\n' + tail(app_log))
    # What still fits (in memory, or in the file under its limit) comes back exact.
    fits = 3 * MIB if args.scenario == 'spill-fails' else 512 * 1024
    for i in range(3):
        st, n, got, sent, _ = upload(port, 20 + i, fits, 60)
        if st != 200 or n != fits or got != sent:
            raise Failure(f'after it: a {fits}-byte body: status {st}, {n} bytes back:\n'
                          + tail(app_log))
    after = workers_of(app.pid)
    if after != before:
        raise Failure(f'the workers changed: {before} -> {after}:\n' + tail(app_log))
    if os.listdir(spill):
        raise Failure(f'files left in the spill directory: {os.listdir(spill)}')
    log(f'the workers {after} went on; three {fits}-byte bodies echoed byte-exact after it')


def nginx_conf(d, port, sock):
    temps = '\n'.join(f'    {m}_temp_path {d}/tmp/{m};' for m in
                      ('client_body', 'fastcgi', 'proxy', 'scgi', 'uwsgi'))
    user = 'user root root;\n' if os.geteuid() == 0 else ''
    # fastcgi_max_temp_file_size 0: the response passes through as the client
    # reads it, not into a second gigabyte on disk. The body is buffered to
    # client_body_temp first, as nginx does by default.
    return f"""{user}daemon off;
master_process on;
worker_processes 2;
pid {d}/nginx.pid;
error_log {d}/error.log info;
events {{ worker_connections 1024; }}
http {{
    access_log {d}/access.log;
{temps}
    client_max_body_size 0;
    server {{
        listen 127.0.0.1:{port};
        location / {{
            include /etc/nginx/fastcgi_params;
            fastcgi_pass unix:{sock};
            fastcgi_max_temp_file_size 0;
            fastcgi_read_timeout 300s;
            fastcgi_send_timeout 300s;
        }}
    }}
}}
"""


def budget_kib(limits):
    """sfcgi.json(5), "Memory per request": what a worker may hold for the
    request it runs, and for each other connection it holds."""
    record = 65535 + 255 + 8
    out = limits['write_buffer'] + ECHO_WRITE + 16 * (ECHO_WRITE // 65535 + 2)
    running = (limits['max_params_bytes'] + 16 * limits['max_params']
               + 2 * limits['request_memory'] + out + 2 * record)
    other = limits['read_ahead'] + 3 * record
    return running // 1024, other // 1024


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--app', required=True, help='build/examples/echo')
    ap.add_argument('--nginx', default='/usr/sbin/nginx')
    ap.add_argument('--workdir', required=True)
    ap.add_argument('--limit-mib', type=int, default=64)
    ap.add_argument('--big-mib', type=int, default=1024)
    ap.add_argument('--parallel', type=int, default=8)
    ap.add_argument('--each-mb', type=int, default=100)
    ap.add_argument('--workers', type=int, default=2)
    ap.add_argument('--seccomp', default='strict', choices=('strict', 'default'),
                    help='the workers\' seccomp profile')
    ap.add_argument('--report', help='write the measurements here as JSON')
    ap.add_argument('--scenario', default='limit', choices=('limit', 'spill-fails', 'no-spill-dir'),
                    help='limit: the bodies under the memory limit; spill-fails: the spill file '
                         'cannot grow (an "fsize" rlimit); no-spill-dir: $TMPDIR does not exist')
    args = ap.parse_args()

    if os.geteuid() != 0 and args.scenario == 'limit':
        log('SKIP: creating a cgroup needs root')
        return 77
    if not os.access(args.nginx, os.X_OK):
        log(f'SKIP: no nginx at {args.nginx}')
        return 77
    ldd = subprocess.run(['ldd', args.app], capture_output=True, text=True).stdout
    asan = 'libasan' in ldd
    d = os.path.abspath(args.workdir)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(os.path.join(d, 'tmp'))
    spill = os.path.join(d, 'spill')
    os.makedirs(spill)
    sock = os.path.join(d, 'app.sock')
    sockdir = None
    if len(sock) > 100:
        sockdir = tempfile.mkdtemp(prefix='sfcgi-mem-')
        sock = os.path.join(sockdir, 'app.sock')
    limits = {'request_memory': MIB, 'write_buffer': 256 * 1024, 'read_ahead': 64 * 1024,
              'max_params_bytes': 64 * 1024, 'max_params': 512, 'max_stdin_bytes': 2 << 30,
              'read_timeout': 60, 'write_timeout': 60}
    conf = os.path.join(d, 'echo.json')
    with open(conf, 'w') as f:
        # request_memory is left at its default (1 MiB), so that the same
        # config runs a build from before it existed (to see this test fail).
        sandbox = {'seccomp': args.seccomp, 'read_only': ['/usr'], 'landlock': 'required'}
        if args.scenario == 'spill-fails':
            sandbox['rlimits'] = {'fsize': SPILL_FSIZE}
        json.dump({'workers': args.workers,
                   'limits': {k: v for k, v in limits.items() if k != 'request_memory'},
                   'sandbox': sandbox}, f)
    cg = app = nginx = watch = None
    app_log = os.path.join(d, 'app.log')
    report = {'limit_mib': args.limit_mib}
    status = 1
    try:
        if args.scenario == 'limit':
            cg = Cgroup(args.limit_mib * MIB)
        env = dict(os.environ, TMPDIR=spill if args.scenario != 'no-spill-dir'
                   else os.path.join(d, 'no-such-dir'))
        if asan:
            # The sanitizer keeps freed memory (256 MiB by default) and adds
            # shadow memory: bounded here, and allowed for below.
            env['ASAN_OPTIONS'] = (env.get('ASAN_OPTIONS', '') +
                                   f':quarantine_size_mb={ASAN_QUARANTINE_MIB}'
                                   ':thread_local_quarantine_size_kb=64').lstrip(':')
        env.pop('CACHE_DIRECTORY', None)
        with open(app_log, 'wb') as lf:
            app = subprocess.Popen([args.app, '--config', conf, '--listen', sock],
                                   stdin=subprocess.DEVNULL, stdout=lf, stderr=lf, env=env,
                                   preexec_fn=cg.enter if cg else None)
        deadline = time.monotonic() + 20
        while not os.path.exists(sock) or (cg and len(cg.pids()) < args.workers + 1):
            if app.poll() is not None or time.monotonic() > deadline:
                raise Failure('echo did not start:\n' + tail(app_log))
            time.sleep(0.05)
        port = free_port()
        with open(os.path.join(d, 'nginx.conf'), 'w') as f:
            f.write(nginx_conf(d, port, sock))
        nginx = subprocess.Popen([args.nginx, '-p', d, '-c', os.path.join(d, 'nginx.conf'),
                                  '-e', os.path.join(d, 'error.log')],
                                 stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(('127.0.0.1', port), timeout=1).close()
                break
            except OSError:
                if nginx.poll() is not None or time.monotonic() > deadline:
                    raise Failure('nginx did not start:\n' + tail(os.path.join(d, 'error.log')))
                time.sleep(0.05)

        if args.scenario != 'limit':
            failing(args, port, app, app_log, spill)
            log('ok')
            return 0

        # What a worker holds before any large body: a small one through each.
        for i in range(2 * args.workers):
            st, n, got, sent, _ = upload(port, 1000 + i, 4096, 30)
            if st != 200 or got != sent:
                raise Failure(f'a 4 KiB upload: status {st}, {n} bytes back')
        workers = [p for p in cg.pids() if p != app.pid]
        base = {p: status_kib(p, 'VmHWM') for p in workers}
        log(f'workers {workers}: VmHWM before the uploads {base} KiB')
        running, other = budget_kib(limits)
        log(f'documented budget: {running} KiB for the running request, '
            f'{other} KiB for each other connection')
        files = {p: spill_sizes(p, spill) for p in workers}
        if any(len(f) != 1 for f in files.values()):
            raise Failure(f'each worker should hold one spill file in {spill}: {files}')
        watch = Watch(cg, app.pid, spill)
        watch.start()

        big = args.big_mib * MIB
        st, n, got, sent, secs = upload(port, 1, big, 600)
        log(f'{args.big_mib} MiB: status {st}, {n} bytes back in {secs:.1f} s')
        report['big'] = {'bytes': big, 'status': st, 'seconds': round(secs, 1),
                         'exact': st == 200 and n == big and got == sent}
        if not report['big']['exact']:
            raise Failure(f'{args.big_mib} MiB body: status {st}, {n} of {big} bytes back, '
                          f'sha256 {got[:16]} vs sent {sent[:16]}:\n' + tail(app_log))
        watch.sample()
        report['after_big_hwm_kib'] = dict(watch.hwm)

        each = args.each_mb * 1000 * 1000
        results = [None] * args.parallel

        def one(i):
            try:
                results[i] = upload(port, 100 + i, each, 600)
            except Exception as e:  # reported below
                results[i] = (0, 0, repr(e), '', 0)

        t = time.monotonic()
        threads = [threading.Thread(target=one, args=(i,)) for i in range(args.parallel)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        secs = time.monotonic() - t
        ok = [r[0] == 200 and r[1] == each and r[2] == r[3] for r in results]
        log(f'{args.parallel} x {args.each_mb} MB at once: {sum(ok)} byte-exact in {secs:.1f} s'
            f' (statuses {[r[0] for r in results]})')
        report['parallel'] = {'count': args.parallel, 'bytes_each': each,
                              'exact': sum(ok), 'seconds': round(secs, 1)}
        if not all(ok):
            raise Failure(f'{ok.count(False)} of the parallel uploads failed: '
                          f'{[(r[0], r[1]) for r in results]}:\n' + tail(app_log))
        watch.stop.set()
        watch.join()
        watch.sample()

        kills = cg.oom_kills()
        peak = cg.peak()
        report.update({'oom_kill': kills, 'cgroup_peak_bytes': peak,
                       'worker_hwm_kib': watch.hwm, 'worker_base_hwm_kib': base,
                       'budget_running_kib': running, 'budget_other_kib': other})
        log(f'oom_kill {kills}; cgroup peak {peak} bytes (page cache included); '
            f'worker VmHWM {watch.hwm} KiB')
        if kills:
            raise Failure(f'{kills} OOM kill(s) in the cgroup:\n' + tail(app_log))
        if set(cg.pids()) - {app.pid} != set(workers):
            raise Failure(f'the workers changed: {workers} -> {cg.pids()}:\n' + tail(app_log))
        allowed = running + (args.parallel - 1) * other
        if asan:
            allowed += allowed // 8 + ASAN_QUARANTINE_MIB * 1024 + allowed  # shadow, quarantine, redzones
            log(f'AddressSanitizer build: {allowed} KiB allowed (the budget, its shadow, '
                f'{ASAN_QUARANTINE_MIB} MiB of quarantine, redzones as large as the budget)')
        for p, hwm in watch.hwm.items():
            grew = hwm - base.get(p, 0)
            log(f'worker {p}: VmHWM {hwm} KiB, {grew} KiB over its start '
                f'(allowed {allowed} KiB)')
            if grew > allowed:
                raise Failure(f'worker {p} grew by {grew} KiB, more than the documented '
                              f'{allowed} KiB')
        ends = {p: spill_sizes(p, spill) for p in workers}
        log(f'spill files: the largest grew to {watch.spilled} bytes; at the end {ends}')
        report['spill_peak_bytes'] = watch.spilled
        if watch.spilled < (args.big_mib // 2) * MIB:
            raise Failure(f'the spill files grew to {watch.spilled} bytes only: the bodies '
                          f'were not held where expected')
        if any(any(f) for f in ends.values()):
            raise Failure(f'spill files not truncated after their requests: {ends}')
        leftover = os.listdir(spill)
        if leftover:
            raise Failure(f'files left in the spill directory: {leftover}')
        log('ok')
        status = 0
    except Skip as e:
        log(f'SKIP: {e}')
        status = 77
    except Failure as e:
        log(f'FAIL: {e}')
        if cg and cg.path:
            try:
                report['oom_kill'] = cg.oom_kills()
                log(f'oom_kill in the cgroup: {report["oom_kill"]}')
            except (OSError, Failure):
                pass
        status = 1
    finally:
        if watch:
            watch.stop.set()
        for p in (nginx, app):
            if p and p.poll() is None:
                p.terminate()
                try:
                    p.wait(15)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        if cg:
            cg.remove()
        if sockdir:
            shutil.rmtree(sockdir, ignore_errors=True)
        # nginx's temp files of the large bodies: gigabytes on disk.
        shutil.rmtree(os.path.join(d, 'tmp'), ignore_errors=True)
        if args.report:
            report['status'] = status
            with open(args.report, 'w') as f:
                json.dump(report, f, indent=1, default=str)
    return status


if __name__ == '__main__':
    try:
        sys.exit(main())
    except Exception as e:  # a bug here, not in sfcgi
        import traceback
        traceback.print_exc()
        print(f'harness error: {e}', flush=True)
        sys.exit(99)
