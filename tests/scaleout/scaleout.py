#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Several application hosts behind a balancer (issue 14), built as network
namespaces on this machine:

    scaleout.py nginx|haproxy SFCGI VERAPP VERAPP_V2 SRCDIR WORKDIR

A switch namespace holds a bridge; the balancer host (10.77.0.1), two
application hosts (10.77.0.11, .12) and an outsider (10.77.0.66) each get a
namespace and a veth pair to it. Every address lives inside a namespace the
test made; all of them are deleted at the end, whatever happened.

Each application host runs `sfcgi run` of verapp on 10.77.0.1X:9000 with
"allow_from": ["10.77.0.1"]. The balancer is nginx or HAProxy with
contrib/nginx/scaleout.conf or contrib/haproxy/scaleout.cfg, placeholders
replaced. A load generator in the balancer's namespace sends GETs through
it all along (6 connections kept alive, one of them asking for 300 ms
requests so that some are in flight on a host when it goes away):

  warm-up       both hosts serve release 1;
  reload        each host in turn gets release 2 (the binary replaced on
                disk) and SIGHUP: 0 failed requests, both releases served,
                release 2 on both hosts at the end;
  restart       each host in turn is stopped (SIGTERM, waited for), left
                down 1 s, and started again on release 1: 0 failed requests
                (the balancer retries a refused connection on the other
                host, and takes the stopped one out);
  kill          app2's supervisor and workers get SIGKILL while requests run
                on it, and it is started again 2 s later: 0 failed requests
                (all are GETs, which the balancer sends again elsewhere);
  outsider      10.77.0.66 connects to app1 directly and sends a request: no
                byte comes back, verapp never sees it, app1 logs the refusal.

Then every line of the balancer's error log is classified against the
patterns expected in the phase it was written in, and printed with its
explanation; a line nothing explains fails the test. At most 60 s of load.
Prints "ok - ..." / "not ok - ..."; exits 1 if anything failed, 77 (skip)
without the privileges to make namespaces.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import fcgi_client as fc  # noqa: E402

NET = "10.77.0"
LB, APPS, OUTSIDER = f"{NET}.1", {"app1": f"{NET}.11", "app2": f"{NET}.12"}, f"{NET}.66"
PORT, LB_PORT = 9000, 8080
failed = 0


def check(name, cond, detail=""):
    global failed
    print(("ok - " if cond else "not ok - ") + name + (f" ({detail})" if detail else ""),
          flush=True)
    if not cond:
        failed += 1
    return cond


def note(msg):
    print("# " + msg.replace("\n", "\n# "), flush=True)


def run(*cmd, check_rc=True):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if check_rc and r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: exit {r.returncode}: {r.stderr.strip()}")
    return r


def wait_for(pred, timeout, step=0.05):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(step)
    return pred()


# ---- the network -------------------------------------------------------------

class Net:
    """Namespaces sf<tag>-sw (the bridge), -lb, -app1, -app2, -out."""

    def __init__(self):
        self.tag = f"{os.getpid() % 100000}"
        self.made = []

    def ns(self, host):
        return f"sf{self.tag}-{host}"

    def up(self):
        sw = self.ns("sw")
        run("ip", "netns", "add", sw)
        self.made.append(sw)
        run("ip", "-n", sw, "link", "add", "br0", "type", "bridge")
        run("ip", "-n", sw, "link", "set", "br0", "up")
        run("ip", "-n", sw, "link", "set", "lo", "up")
        for host, addr in [("lb", LB), *APPS.items(), ("out", OUTSIDER)]:
            ns = self.ns(host)
            run("ip", "netns", "add", ns)
            self.made.append(ns)
            # made in the switch's namespace, one end then moved: nothing
            # of it ever shows in the namespace the test runs in
            run("ip", "-n", sw, "link", "add", f"v-{host}", "type", "veth", "peer", "name",
                "eth0", "netns", ns)
            run("ip", "-n", sw, "link", "set", f"v-{host}", "master", "br0", "up")
            run("ip", "-n", ns, "addr", "add", f"{addr}/24", "dev", "eth0")
            run("ip", "-n", ns, "link", "set", "eth0", "up")
            run("ip", "-n", ns, "link", "set", "lo", "up")

    def down(self):
        for ns in reversed(self.made):
            run("ip", "netns", "del", ns, check_rc=False)
        self.made = []

    def popen(self, host, cmd, log, env=None, stdin=subprocess.DEVNULL, stdout=None):
        f = open(log, "ab")
        p = subprocess.Popen(["ip", "netns", "exec", self.ns(host)] + cmd, stdin=stdin,
                             stdout=stdout or f, stderr=f, env=env, start_new_session=True)
        f.close()
        return p


# ---- the application hosts -----------------------------------------------------

def descendants(pid):
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        try:
            for t in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{t}/children") as f:
                    kids = [int(k) for k in f.read().split()]
                out += kids
                todo += kids
        except OSError:
            pass
    return out


class App:
    def __init__(self, net, name, sfcgi, work, workers=2):
        self.net, self.name, self.sfcgi = net, name, sfcgi
        self.dir = os.path.join(work, name)
        os.makedirs(self.dir, exist_ok=True)
        self.program = os.path.join(self.dir, "verapp")
        self.log = os.path.join(self.dir, "sfcgi.log")
        self.config = os.path.join(self.dir, "app.json")
        self.proc = None
        with open(self.config, "w") as f:
            json.dump({"program": self.program, "listen": f"{APPS[name]}:{PORT}",
                       "allow_from": [LB], "workers": workers, "drain_timeout": 10,
                       "environment": {"VERAPP_HOST": name}}, f, indent=2)

    def install(self, binary):
        """A release as a deploy tool puts it: a new file renamed over the old."""
        tmp = self.program + ".new"
        shutil.copy(binary, tmp)
        os.rename(tmp, self.program)

    def text(self):
        with open(self.log, errors="replace") as f:
            return f.read()

    def start(self):
        mark = len(self.text()) if os.path.exists(self.log) else 0
        env = {k: v for k, v in os.environ.items()
               if k not in ("JOURNAL_STREAM", "SFCGI_LOG_LEVEL", "FCGI_WEB_SERVER_ADDRS",
                            "LISTEN_FDS", "LISTEN_PID", "NOTIFY_SOCKET")}
        self.proc = self.net.popen(self.name, [self.sfcgi, "run", "--config", self.config],
                                   self.log, env=env)
        ok = wait_for(lambda: "worker(s) serving" in self.text()[mark:]
                      or self.proc.poll() is not None, 15)
        return ok and self.proc.poll() is None

    def reload(self, generation):
        self.proc.send_signal(signal.SIGHUP)
        return wait_for(lambda: f"reload complete: generation {generation} " in self.text(), 20)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()
        self.proc = None

    def kill(self):
        """SIGKILL to the supervisor and every worker at once."""
        if not self.proc:
            return 0
        pids = [self.proc.pid] + descendants(self.proc.pid)
        for p in pids:
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait()
        wait_for(lambda: not any(os.path.exists(f"/proc/{p}") for p in pids[1:]), 5)
        self.proc = None
        return len(pids)


# ---- the balancers ---------------------------------------------------------------

def contrib_text(src, rel, subst):
    with open(os.path.join(src, rel)) as f:
        text = f.read()
    for k, v in subst.items():
        if k not in text:
            raise RuntimeError(f"{rel} no longer holds {k}: update tests/scaleout")
        text = text.replace(k, v)
    return text


class Nginx:
    name = "nginx"

    def __init__(self, net, src, work, one_host=False):
        self.net, self.dir = net, os.path.join(work, "nginx")
        os.makedirs(os.path.join(self.dir, "tmp"), exist_ok=True)
        self.errlog = os.path.join(self.dir, "error.log")
        shutil.copy("/etc/nginx/fastcgi_params", os.path.join(self.dir, "fastcgi_params"))
        site = contrib_text(src, "contrib/nginx/scaleout.conf", {
            "@APP1@": f"{APPS['app1']}:{PORT}", "@APP2@": f"{APPS['app2']}:{PORT}",
            "@LISTEN@": f"{LB}:{LB_PORT}"})
        if one_host:  # bench/scaleout.py: the same file with app2's line left out
            site = "\n".join(ln for ln in site.splitlines() if APPS["app2"] not in ln) + "\n"
        d = self.dir
        temps = "".join(f"    {m}_temp_path {d}/tmp/{m};\n"
                        for m in ("client_body", "fastcgi", "proxy", "scgi", "uwsgi"))
        self.conf = os.path.join(d, "nginx.conf")
        with open(self.conf, "w") as f:
            f.write(f"""# Generated by tests/scaleout/scaleout.py around contrib/nginx/scaleout.conf.
user root root;
daemon off;
worker_processes 2;
pid {d}/nginx.pid;
error_log {self.errlog} warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
{temps}{site}}}
""")
        self.proc = None

    def start(self):
        r = run("ip", "netns", "exec", self.net.ns("lb"), "nginx", "-t", "-p", self.dir, "-c",
                self.conf, check_rc=False)  # it binds: in the balancer's namespace
        if r.returncode:
            raise RuntimeError("nginx -t: " + r.stderr)
        self.proc = self.net.popen("lb", ["nginx", "-p", self.dir, "-c", self.conf],
                                   os.path.join(self.dir, "stderr.log"))

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def lines(self):
        try:
            with open(self.errlog, errors="replace") as f:
                return f.read().splitlines()
        except FileNotFoundError:
            return []


class Haproxy(Nginx):
    name = "haproxy"

    def __init__(self, net, src, work):
        self.net, self.dir = net, os.path.join(work, "haproxy")
        os.makedirs(self.dir, exist_ok=True)
        self.errlog = os.path.join(self.dir, "haproxy.log")
        self.conf = os.path.join(self.dir, "haproxy.cfg")
        with open(self.conf, "w") as f:
            f.write(contrib_text(src, "contrib/haproxy/scaleout.cfg", {
                "@APP1@": f"{APPS['app1']}:{PORT}", "@APP2@": f"{APPS['app2']}:{PORT}",
                "@LISTEN@": f"{LB}:{LB_PORT}", "@LOG@": "stdout"}))
        self.proc = None

    def start(self):
        r = run("haproxy", "-c", "-f", self.conf, check_rc=False)
        if r.returncode:
            raise RuntimeError("haproxy -c: " + r.stdout + r.stderr)
        # -db: in the foreground, its log ("log stdout") into errlog
        self.proc = self.net.popen("lb", ["haproxy", "-db", "-f", self.conf], self.errlog)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGUSR1)  # soft stop
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# ---- load ------------------------------------------------------------------------

def loadgen(url_host, port):
    """In the balancer's namespace: GETs until stdin closes, then a tally as JSON."""
    import http.client

    stop = threading.Event()
    lock = threading.Lock()
    tally = {"ok": 0, "failed": [], "versions": {}, "hosts": {}, "slow": 0}
    t0 = time.monotonic()

    def worker(slow):
        conn = None
        n = 0
        while not stop.is_set():
            n += 1
            path = f"/?sleep=300&n={n}" if slow else f"/?n={n}"
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(url_host, port, timeout=15)
                conn.request("GET", path)
                r = conn.getresponse()
                body = r.read().decode(errors="replace")
                m = re.match(r"version=(\S+) host=(\S+)", body)
                with lock:
                    if r.status == 200 and m:
                        tally["ok"] += 1
                        tally["slow"] += slow
                        tally["versions"][m.group(1)] = tally["versions"].get(m.group(1), 0) + 1
                        tally["hosts"][m.group(2)] = tally["hosts"].get(m.group(2), 0) + 1
                    else:
                        tally["failed"].append([round(time.monotonic() - t0, 3), path,
                                                f"{r.status} {body[:120]!r}"])
                if r.getheader("connection", "").lower() == "close":
                    conn.close()
                    conn = None
            except Exception as e:  # noqa: BLE001 - every failure is counted
                with lock:
                    tally["failed"].append([round(time.monotonic() - t0, 3), path, repr(e)])
                if conn:
                    conn.close()
                conn = None

    threads = [threading.Thread(target=worker, args=(i == 0,), daemon=True) for i in range(6)]
    for t in threads:
        t.start()
    sys.stdin.read()
    stop.set()
    for t in threads:
        t.join(20)
    tally["seconds"] = round(time.monotonic() - t0, 1)
    print(json.dumps(tally), flush=True)


class Load:
    def __init__(self, net, work, phase):
        self.out = os.path.join(work, f"load-{phase}.json")
        self.f = open(self.out, "wb")
        self.proc = net.popen("lb", [sys.executable, os.path.abspath(__file__), "loadgen", LB,
                                     str(LB_PORT)], os.path.join(work, "loadgen.err"),
                              stdin=subprocess.PIPE, stdout=self.f)

    def finish(self):
        self.proc.stdin.close()
        self.proc.wait(60)
        self.f.close()
        with open(self.out) as f:
            text = f.read()
        try:
            return json.loads(text)
        except ValueError:
            return {"ok": 0, "failed": [[0, "-", "no tally: " + text[-300:]]], "versions": {},
                    "hosts": {}, "slow": 0, "seconds": 0}


def summary(t):
    return (f"{t['ok']} ok in {t['seconds']} s ({t['slow']} slow), {len(t['failed'])} failed, "
            f"versions {t['versions']}, hosts {t['hosts']}")


# ---- the error logs, explained -------------------------------------------------------

# (pattern, the phases it may appear in, why it is there)
DOWN = ("restart", "kill")
NGINX_EXPECTED = [
    (r"\[error\] .*connect\(\) failed \(111: Connection refused\) while connecting to upstream",
     DOWN, "a host was down (stopped or killed): nginx sent the request to the other host "
     "(fastcgi_next_upstream error)"),
    (r"\[warn\] .*upstream server temporarily disabled while (connecting to|reading response "
     r"header from|sending request to) upstream",
     DOWN, "after that failure nginx took the host out for fail_timeout (max_fails=1)"),
    (r"\[error\] .*recv\(\) failed \(104: Connection reset by peer\) while reading response "
     r"header from upstream", DOWN,
     "a request the host never read: written on a kept connection the stopping host closed "
     "as idle in the same instant, or waiting in the backlog of a listening socket that "
     "closed (no systemd socket holds it here), or in flight on the killed host; reset, and "
     "sent again to the other host (a GET: nginx does not resend a POST)"),
    (r"\[error\] .*upstream prematurely closed connection while reading response header from "
     r"upstream", DOWN,
     "the same with a FIN instead of a reset: the host closed the connection before any "
     "answer; sent again to the other host"),
    (r"\[error\] .*(writev|send)\(\) failed \((32: Broken pipe|104: Connection reset by peer)\) "
     r"while sending request to upstream", DOWN,
     "a kept connection to a host going away was gone when nginx wrote a request on it: sent "
     "again to the other host"),
]
HA_STDERR = r"^(\[WARNING\]\s+\(\d+\) : )?"
HAPROXY_EXPECTED = [
    (r"^Proxy \S+ started\.$", ("start",), "HAProxy's own start"),
    (r"^\[WARNING\] .*: (config : )?(Server|Proxy) ", ("start",), "HAProxy's start-up notes"),
    # each state change twice: the log line, and (-db) the same on stderr
    (HA_STDERR + r"Server app/app[12] is DOWN, reason: Layer[47] (connection problem|timeout|"
     r"wrong status)", DOWN,
     "a health check found the host down (stopped or killed): taken out of the rotation"),
    (HA_STDERR + r"Server app/app[12] is UP, reason: Layer7 check passed", DOWN,
     "the host serves again (its health checks pass): back in the rotation"),
    (r"^\S+:\d+ \[[^]]+\] web app/app[12] \S+ 200 .* [-+]+ \d+/\d+/\d+/\d+/[1-9]\d* \d+/\d+ ",
     DOWN, "a request that needed a retry (its connection refused or reset by a host going "
     "away) and was then served (status 200)"),
]


def explain(lines_by_phase, expected, label):
    bad = 0
    note(f"{label}'s log, line by line:")
    for phase, lines in lines_by_phase:
        for ln in lines:
            why = next((w for pat, phases, w in expected
                        if phase in phases and re.search(pat, ln)), None)
            if why is None:
                bad += 1
            note(f"[{phase}] {ln}\n    -> {why or 'UNEXPLAINED'}")
    if not any(lines for _, lines in lines_by_phase):
        note("(empty)")
    check(f"{label}: every line of the balancer's log is explained", bad == 0,
          f"{bad} unexplained")


# ---- the scenario ----------------------------------------------------------------------

def scenario(kind, sfcgi, v1, v2, src, work):
    net = Net()
    apps, lb, loads = {}, None, []
    try:
        net.up()
        for name in APPS:
            apps[name] = App(net, name, sfcgi, work)
            apps[name].install(v1)
            check(f"{kind}: {name} serves release 1 on {APPS[name]}:{PORT}",
                  apps[name].start(), apps[name].text()[-500:])
        lb = (Nginx if kind == "nginx" else Haproxy)(net, src, work)
        lb.start()
        marks = [("start", 0)]

        def phase(name):
            marks.append((name, len(lb.lines())))

        ok = wait_for(lambda: fc_through(net, work) is not None, 10, 0.2)
        check(f"{kind}: the balancer serves", ok)
        time.sleep(1.5)  # HAProxy: both hosts past "rise"

        phase("warmup")
        load = Load(net, work, f"{kind}-warmup")
        time.sleep(2)
        t = load.finish()
        note("warm-up: " + summary(t))
        check(f"{kind} warm-up: both hosts serve, nothing failed",
              not t["failed"] and set(t["hosts"]) == set(APPS), t["failed"][:3])

        phase("reload")
        load = Load(net, work, f"{kind}-reload")
        time.sleep(1)
        for name, app in apps.items():
            app.install(v2)
            check(f"{kind} reload: {name} reloaded to release 2", app.reload(2),
                  app.text()[-400:])
            time.sleep(1.5)
        t = load.finish()
        note("rolling reload: " + summary(t))
        check(f"{kind} rolling reload: 0 failed requests", not t["failed"], t["failed"][:5])
        check(f"{kind} rolling reload: releases 1 and 2 both served",
              set(t["versions"]) == {"1", "2"}, t["versions"])
        got = [fc_through(net, work) for _ in range(8)]
        check(f"{kind} rolling reload: release 2 on both hosts after it",
              all(g and g[0] == "2" for g in got) and {g[1] for g in got if g} == set(APPS),
              got)

        phase("restart")
        load = Load(net, work, f"{kind}-restart")
        time.sleep(1)
        for name, app in apps.items():
            app.stop()
            app.install(v1)
            time.sleep(1)
            check(f"{kind} restart: {name} started again (release 1)", app.start(),
                  app.text()[-400:])
            # back in the balancer's rotation before the next host goes: nginx
            # tries it again after fail_timeout (2 s), HAProxy after "rise"
            # checks (1 s); stopping the other one sooner leaves none
            time.sleep(3)
        t = load.finish()
        note("rolling restart: " + summary(t))
        check(f"{kind} rolling restart: 0 failed requests", not t["failed"], t["failed"][:5])
        check(f"{kind} rolling restart: releases 2 and 1 both served",
              set(t["versions"]) == {"1", "2"}, t["versions"])

        phase("kill")
        load = Load(net, work, f"{kind}-kill")
        time.sleep(1.5)
        n = apps["app2"].kill()
        note(f"SIGKILL to app2's supervisor and {n - 1} worker(s)")
        time.sleep(2)
        check(f"{kind} kill: app2 started again", apps["app2"].start(),
              apps["app2"].text()[-400:])
        time.sleep(2)
        t = load.finish()
        note("SIGKILL: " + summary(t))
        check(f"{kind} SIGKILL of app2: 0 failed requests (all GETs, sent again elsewhere)",
              not t["failed"], t["failed"][:5])
        check(f"{kind} SIGKILL of app2: both hosts served again after it",
              set(t["hosts"]) == set(APPS), t["hosts"])

        phase("outsider")
        outsider(net, kind, apps["app1"], work)
        marks.append(("end", len(lb.lines())))
        lines = lb.lines()
        lines_by_phase = [(marks[i][0], lines[marks[i][1]:marks[i + 1][1]])
                          for i in range(len(marks) - 1)]
        explain(lines_by_phase, NGINX_EXPECTED if kind == "nginx" else HAPROXY_EXPECTED,
                kind)
        # the host really went away under load: 0 failures is the retries' work
        killed = dict(lines_by_phase).get("kill", [])
        check(f"{kind} SIGKILL of app2: the balancer saw it (its log has {len(killed)} "
              f"line(s) about it)", any("app2" in ln or APPS["app2"] in ln for ln in killed))
        check(f"{kind} rolling reload: not a line in the balancer's log",
              not dict(lines_by_phase).get("reload"), dict(lines_by_phase).get("reload"))
    finally:
        if lb:
            lb.stop()
        for app in apps.values():
            app.stop()
        net.down()
    for name, app in apps.items():
        saw = re.findall(r"verapp saw (\S+)", app.text())
        check(f"{kind}: {name}'s application never saw the outsider's request", not saw, saw)


def fc_through(net, work):
    """One GET through the balancer: (version, host) or None."""
    code = ("import http.client,re,sys\n"
            f"c=http.client.HTTPConnection('{LB}',{LB_PORT},timeout=5)\n"
            "c.request('GET','/?probe')\nr=c.getresponse()\nb=r.read().decode()\n"
            "m=re.match(r'version=(\\S+) host=(\\S+)',b)\n"
            "print(m.group(1)+' '+m.group(2) if r.status==200 and m else 'bad '+str(r.status))\n")
    r = subprocess.run(["ip", "netns", "exec", net.ns("lb"), sys.executable, "-c", code],
                       capture_output=True, text=True, timeout=20)
    words = r.stdout.split()
    return (words[0], words[1]) if len(words) == 2 and words[0] != "bad" else None


def outsider(net, kind, app, work):
    mark = len(app.text())
    code = (f"import sys; sys.path.insert(0, {os.path.join(HERE, '..', 'integration')!r}); "
            "import fcgi_client as fc; "
            f"print(repr(fc.refused(({APPS['app1']!r}, {PORT}), 'trace-outsider')))")
    r = subprocess.run(["ip", "netns", "exec", net.ns("out"), sys.executable, "-c", code],
                       capture_output=True, text=True, timeout=30)
    check(f"{kind} outsider: {OUTSIDER} connecting to app1 directly gets no byte back",
          r.stdout.strip() == "b''", (r.stdout + r.stderr).strip()[-300:])
    ok = wait_for(lambda: f"refused a connection from {OUTSIDER}: not in allow_from"
                  in app.text()[mark:], 5)
    check(f"{kind} outsider: app1 logs the refusal", ok, app.text()[mark:][-300:])


def sweep():
    """Namespaces (and what runs in them) a run killed with SIGKILL left behind."""
    for line in run("ip", "netns", "list", check_rc=False).stdout.splitlines():
        m = re.match(r"^(sf(\d+)-(sw|lb|app1|app2|out))\b", line)
        if not m or os.path.exists(f"/proc/{m.group(2)}"):
            continue
        for pid in run("ip", "netns", "pids", m.group(1), check_rc=False).stdout.split():
            try:
                os.kill(int(pid), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass
        run("ip", "netns", "del", m.group(1), check_rc=False)
        note(f"removed {m.group(1)}, left by a run that died")


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "loadgen":
        loadgen(sys.argv[2], int(sys.argv[3]))
        return 0
    kind, sfcgi, v1, v2, src, work = sys.argv[1:7]
    if os.geteuid() != 0 or not shutil.which("ip") or subprocess.run(
            ["ip", "netns", "add", "sfprobe%d" % os.getpid()], capture_output=True).returncode:
        print("1..0 # SKIP needs root and network namespaces (ip netns)")
        return 77
    run("ip", "netns", "del", "sfprobe%d" % os.getpid())
    sweep()
    if not shutil.which(kind):
        print(f"not ok - {kind} is not installed (scripts/install-deps.sh)")
        return 1
    work = os.path.join(os.path.abspath(work), kind)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    # meson's timeout sends SIGTERM: clean up (namespaces, processes) then too
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    try:
        scenario(kind, os.path.abspath(sfcgi), os.path.abspath(v1), os.path.abspath(v2),
                 os.path.abspath(src), work)
    except RuntimeError as e:
        check(f"{kind}: set-up", False, str(e))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
