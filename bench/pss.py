#!/usr/bin/env python3
"""Proportional memory (Pss) of processes, in KiB, from /proc/PID/smaps.

  pss.py PID...            one line per process: total Pss, anon, file, USS
  pss.py --by-object PID   where one process's Pss is: per mapped object

Pss divides each page by the number of processes mapping it, so the file
part (shared libraries) depends on what else runs on the machine; the anon
part (heap, stack, written data) is the process's own or shared with its
parent after fork. USS (Private_Clean + Private_Dirty) is what the process
alone holds: what ending it would give back.
"""
import re
import sys


def parse(pid):
    objs = {}
    cur = None
    with open(f'/proc/{pid}/smaps') as f:
        for line in f:
            m = re.match(r'^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$', line)
            if m:
                cur = m.group(1).rsplit('/', 1)[-1] or '[anon]'
                objs.setdefault(cur, {'Pss': 0})
                continue
            key, _, rest = line.partition(':')
            if key == 'Pss' and cur:
                objs[cur][key] += int(rest.split()[0])
    return objs


def main():
    args = sys.argv[1:]
    if args and args[0] == '--by-object':
        objs = parse(args[1])
        for name, v in sorted(objs.items(), key=lambda kv: -kv[1]['Pss']):
            if v['Pss']:
                print(f"{v['Pss']:6d} {name}")
        return
    for pid in args:
        tot = {}
        with open(f'/proc/{pid}/smaps_rollup') as f:
            for line in f:
                key, _, rest = line.partition(':')
                if key in ('Pss', 'Pss_Anon', 'Pss_File', 'Private_Clean', 'Private_Dirty'):
                    tot[key] = int(rest.split()[0])
        uss = tot['Private_Clean'] + tot['Private_Dirty']
        print(f"{pid} {tot['Pss']} {tot['Pss_Anon']} {tot['Pss_File']} {uss}")


if __name__ == '__main__':
    main()
