#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The docs quote the files the tests run (issue 10: "the docs' configs are
the ones the suite uses, one source").

Every fenced block in a document that follows a line
    <!-- file: contrib/apps/APP/FILE -->
must equal that file byte for byte (but for the final newline), and every
file under contrib/apps/ must be quoted so somewhere. Prints "ok"/"not ok"
lines; exit 0 if all hold, 1 if not (also when no quoted file was found at
all: a check that compares nothing proves nothing).

    docs_match.py SOURCE_ROOT DOC [DOC...]
"""
import os
import re
import sys

MARK = re.compile(r'^<!-- file: (\S+) -->\s*$')
FENCE = re.compile(r'^(```+|~~~+)')


def quoted_blocks(path):
    """(line number, file named, block text or None) for every marker."""
    lines = open(path, encoding='utf-8').read().split('\n')
    out = []
    for i, line in enumerate(lines):
        m = MARK.match(line)
        if not m:
            continue
        j = i + 1
        while j < len(lines) and not lines[j].strip():
            j += 1
        f = FENCE.match(lines[j]) if j < len(lines) else None
        if not f:
            out.append((i + 1, m.group(1), None))
            continue
        end = j + 1
        while end < len(lines) and not lines[end].startswith(f.group(1)):
            end += 1
        out.append((i + 1, m.group(1), '\n'.join(lines[j + 1:end])))
    return out


def main():
    root, docs = sys.argv[1], sys.argv[2:]
    failed, seen = [], set()
    for doc in docs:
        rel = os.path.relpath(doc, root)
        for line, name, block in quoted_blocks(doc):
            where = f'{rel}:{line}'
            seen.add(os.path.normpath(name))
            path = os.path.join(root, name)
            if block is None:
                failed.append(f'{where}: marker for {name} is not followed by a fenced block')
            elif not os.path.isfile(path):
                failed.append(f'{where}: {name} does not exist')
            elif open(path, encoding='utf-8').read().rstrip('\n') != block.rstrip('\n'):
                failed.append(f'{where}: the block differs from {name} '
                              f'(copy the file into the document, or fix the file)')
            else:
                print(f'ok - {where} quotes {name}')
    apps = os.path.join(root, 'contrib', 'apps')
    for d, _, files in os.walk(apps):
        for f in sorted(files):
            name = os.path.normpath(os.path.relpath(os.path.join(d, f), root))
            if name not in seen:
                failed.append(f'{name} is quoted in no document (add a '
                              f'"<!-- file: {name} -->" block where it is explained)')
    if not seen:
        failed.append('no "<!-- file: ... -->" block in ' + ', '.join(docs))
    for f in failed:
        print('not ok - ' + f)
    print(f'# {len(seen)} file(s) quoted, {len(failed)} problem(s)')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
