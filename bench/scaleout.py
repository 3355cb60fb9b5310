#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Throughput and latency through nginx to one application host and to two
(issue 14), with tests/scaleout's network namespaces and
contrib/nginx/scaleout.conf, on ONE machine: the hosts share its cores, so
two hosts cannot be faster than one; what this shows is the cost of the
balanced path (the veth hops, nginx's choice of upstream), not a speed-up.

    python3 bench/scaleout.py [BUILD] [SECONDS] [ROUNDS]

BUILD (default build-release, else build): where sfcgi and verapp are.
Each round runs wrk (2 threads, 32 connections, --latency) from the balancer's
namespace for SECONDS (default 10) against each layout, alternating:
  one   nginx -> app1 (workers: 2)
  two   nginx -> app1, app2 (workers: 1 each): the same number of workers
Prints each run and the median of the rounds (requests/s, p50, p99).
Root needed (ip netns).
"""
import os
import re
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(TOP, "tests", "scaleout"))
import scaleout as so  # noqa: E402


def ms(text):
    v, unit = float(text[:-2] if text.endswith("ms") or text.endswith("us") else text[:-1]), \
        text[-2:] if text[-2:] in ("ms", "us") else text[-1:]
    return v * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk(net, seconds):
    r = subprocess.run(["ip", "netns", "exec", net.ns("lb"), "wrk", "-t2", "-c32",
                        f"-d{seconds}s", "--latency", f"http://{so.LB}:{so.LB_PORT}/"],
                       capture_output=True, text=True)
    out = r.stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))
    p99 = ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))
    errs = re.search(r"Non-2xx or 3xx responses: (\d+)|Socket errors: .*", out)
    return rps, p50, p99, (errs.group(0) if errs else "no errors")


def layout(net, name, sfcgi, verapp, work):
    apps = []
    hosts = ["app1"] if name == "one" else ["app1", "app2"]
    for h in hosts:
        a = so.App(net, h, sfcgi, work, workers=2 if name == "one" else 1)
        a.install(verapp)
        if not a.start():
            raise RuntimeError(a.text()[-400:])
        apps.append(a)
    lb = so.Nginx(net, TOP, work, one_host=name == "one")
    lb.start()
    so.wait_for(lambda: so.fc_through(net, work) is not None, 10, 0.2)
    return apps, lb


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else (
        "build-release" if os.path.isdir(os.path.join(TOP, "build-release")) else "build")
    seconds = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    b = os.path.join(TOP, build)
    sfcgi, verapp = os.path.join(b, "src", "sfcgi"), os.path.join(b, "tests", "integration",
                                                                 "verapp")
    # the hosts run a copy of verapp (as a deploy would): it finds the
    # library of this build by LD_LIBRARY_PATH, as meson test gives it
    os.environ["LD_LIBRARY_PATH"] = os.path.join(b, "src")
    work = os.path.join(b, "bench-scaleout")
    os.makedirs(work, exist_ok=True)
    print(f"# {build}, wrk -t2 -c32 -d{seconds}s --latency, {rounds} round(s), "
          f"nproc {os.cpu_count()}")
    results = {"one": [], "two": []}
    for rnd in range(rounds):
        for name in ("one", "two"):
            net = so.Net()
            apps, lb = [], None
            try:
                net.up()
                apps, lb = layout(net, name, sfcgi, verapp, os.path.join(work, name))
                wrk(net, 2)  # warm-up
                rps, p50, p99, errs = wrk(net, seconds)
                results[name].append((rps, p50, p99))
                print(f"round {rnd + 1} {name}: {rps:.0f} req/s, p50 {p50:.2f} ms, "
                      f"p99 {p99:.2f} ms ({errs})", flush=True)
            finally:
                if lb:
                    lb.stop()
                for a in apps:
                    a.stop()
                net.down()
            time.sleep(1)
    print("| layout | req/s | p50 ms | p99 ms |\n|---|---:|---:|---:|")
    for name, label in (("one", "nginx -> 1 host, 2 workers"),
                        ("two", "nginx -> 2 hosts, 1 worker each")):
        rs = results[name]
        print(f"| {label} | {statistics.median(r[0] for r in rs):.0f} | "
              f"{statistics.median(r[1] for r in rs):.2f} | "
              f"{statistics.median(r[2] for r in rs):.2f} |")


if __name__ == "__main__":
    main()
