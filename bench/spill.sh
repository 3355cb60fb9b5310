#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Peak memory of the echo example's workers (its handler writes while it
# reads, so sfcgi holds its bodies) behind nginx, with the app's process
# tree in a memory cgroup of -m MiB (64): one 1 GiB body, then 8 bodies of
# 100 MB at once, all echoed byte-exact. The measuring is
# tests/pressure/memory.py's (needs root: it makes the cgroup); this prints
# its numbers as markdown, per worker: VmHWM before the bodies, after the
# 1 GiB one, at the end, and the budget of sfcgi.json(5), "Memory per
# request"; the cgroup's oom_kill counter and its peak usage (page cache
# included, so near the limit by design).
#
#   bench/spill.sh [-B BUILDDIR] [-m LIMIT_MIB]
#
# Builds a release tree (build-release) unless -B names one. About 15 s here.
set -euo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$SRC/build-release
LIMIT=64
while getopts B:m: o; do
	case $o in
	B) BUILD=$OPTARG ;;
	m) LIMIT=$OPTARG ;;
	*) sed -n 3,17p "$0" >&2; exit 2 ;;
	esac
done
[ -f "$BUILD/build.ninja" ] || meson setup "$BUILD" "$SRC" --buildtype=release >&2
ninja -C "$BUILD" examples/echo >&2
WORK=$BUILD/bench-spill
REPORT=$WORK.json
rm -f "$REPORT"
start=$(date +%s)
python3 "$SRC/tests/pressure/memory.py" --app "$BUILD/examples/echo" --workdir "$WORK" \
	--limit-mib "$LIMIT" --report "$REPORT" >&2 || true
[ -s "$REPORT" ] || { echo "spill.sh: memory.py left no report" >&2; exit 1; }
python3 - "$REPORT" "$(git -C "$SRC" rev-parse --short HEAD)" "$(( $(date +%s) - start ))" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print(f"commit {sys.argv[2]}, memory limit {r['limit_mib']} MiB, {sys.argv[3]} s; "
      f"test status {r['status']} (0 = pass)\n")
big, par = r.get('big', {}), r.get('parallel', {})
print(f"- 1 GiB body: HTTP {big.get('status')}, byte-exact: {big.get('exact')}, "
      f"{big.get('seconds')} s")
if par:
    print(f"- {par['count']} x {par['bytes_each'] // 10**6} MB at once: {par['exact']} "
          f"byte-exact, {par['seconds']} s")
if 'spill_peak_bytes' in r:
    print(f"- the largest spill file: {r['spill_peak_bytes'] / 2**20:.0f} MiB (empty at the end)")
print(f"- oom_kill in the cgroup: {r.get('oom_kill')}; cgroup peak "
      f"{(r.get('cgroup_peak_bytes') or 0) / 2**20:.1f} MiB (page cache included)")
if 'budget_running_kib' in r:
    allowed = r['budget_running_kib'] + (par.get('count', 1) - 1) * r['budget_other_kib']
    print(f"- documented budget: {r['budget_running_kib']} KiB for the running request + "
          f"{r['budget_other_kib']} KiB per other connection = {allowed} KiB with "
          f"{par.get('count', 1)} at once\n")
    print("| worker | VmHWM before | after 1 GiB | at the end | growth | within budget |")
    print("|---|---|---|---|---|---|")
    base, mid = r['worker_base_hwm_kib'], r.get('after_big_hwm_kib', {})
    for pid, hwm in sorted(r['worker_hwm_kib'].items()):
        b = base.get(pid, 0)
        print(f"| {pid} | {b} KiB | {mid.get(pid, '–')} KiB | {hwm} KiB | {hwm - b} KiB | "
              f"{'yes' if hwm - b <= allowed else 'NO'} |")
PY
