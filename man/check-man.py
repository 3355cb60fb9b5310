#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Checks of the manual pages, run by `meson test --suite doc`.

  lint     every page formats without a single groff (and man) warning, has
           the sections it needs, cross-references only pages that exist,
           and every .so redirect points at a real page;
  symbols  every symbol exported by src/libsfcgi.sym has a page of its own
           name that is installed, names the symbol in NAME and shows the
           same prototype as include/sfcgi.h in SYNOPSIS; no page documents
           a function that is not exported;
  examples every EXAMPLES program that includes <sfcgi.h> compiles with
           -Wall -Wextra -Werror against the real header.

Exit status 0 = pass, 1 = fail, 77 = skipped (a tool is missing).
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

SKIP = 77
failures = []


def fail(page, msg):
    line = f"{os.path.basename(page)}: {msg}"
    if line not in failures:
        failures.append(line)


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def so_target(text):
    """'man3/x.3' for a one-line .so redirect, else None."""
    lines = [l for l in text.splitlines() if l.strip()]
    if len(lines) == 1 and lines[0].startswith(".so "):
        return lines[0][4:].strip()
    return None


def sections(text):
    """{section name: roff source lines} of a page."""
    out, cur = {}, None
    for line in text.splitlines():
        m = re.match(r'\.SH\s+"?([^"]*)"?\s*$', line)
        if m:
            cur = m.group(1).strip()
            out[cur] = []
        elif cur:
            out[cur].append(line)
    return out


def render(groff, path, text):
    """Plain text of a page and groff's complaints."""
    args = [groff, "-man", "-ww", "-Tutf8", "-P-cbou", "-rLL=200n"]
    if text.startswith("'\\\" t"):
        args.insert(1, "-t")
    p = subprocess.run(args + [path], capture_output=True, text=True)
    return p.stdout, p.stderr + ("" if p.returncode == 0 else f"exit status {p.returncode}")


def rendered_section(plain, name):
    m = re.search(rf"^{re.escape(name)}\n(.*?)(?=^\S)", plain, re.S | re.M)
    return m.group(1) if m else ""


# Escapes these pages may use; anything else (\n, \t, \0 ...) is a roff
# interpolation that silently eats what was meant as C or shell text.
ESCAPE_OK = re.compile(r'\\(e|-|\(..|&|f[BIRP]|%|"|\||\^| |c)')


def lint(args):
    pages = {os.path.basename(p): p for p in args.pages}
    groff = args.groff or None
    if not groff:
        print("SKIP: groff not found (Debian: apt-get install groff-base)")
        return SKIP
    for name, path in sorted(pages.items()):
        text = read(path)
        try:
            text.encode("ascii")
        except UnicodeEncodeError:
            fail(path, "not ASCII: use groff escapes such as \\(em")
        if "@VERSION@" in text and args.configured:
            fail(path, "@VERSION@ was not substituted")
        stem, _, sect = name.rpartition(".")
        target = so_target(text)
        if target is not None:
            tdir, _, tname = target.rpartition("/")
            if tdir != f"man{tname.rpartition('.')[2]}":
                fail(path, f".so {target}: expected man<section>/<page>")
            if tname not in pages:
                fail(path, f".so {target}: no such page")
            elif so_target(read(pages[tname])) is not None:
                fail(path, f".so {target}: redirects to another redirect")
            continue
        for n, line in enumerate(text.splitlines(), 1):
            if line != line.rstrip():
                fail(path, f"line {n}: trailing white space")
            if line.startswith("'") and not (n == 1 and line.startswith("'\\\"")):
                fail(path, f"line {n}: a line starting with ' is a control line")
            if not line.startswith('.\\"'):
                for m in re.finditer(r"\\.", line):
                    if not ESCAPE_OK.match(line, m.start()):
                        fail(path, f"line {n}: unexpected escape {line[m.start():m.start() + 3]!r}")
        m = re.search(r"^\.TH\s+(\S+)\s+(\S+)", text, re.M)
        if not m or m.group(1) != stem or m.group(2) != sect:
            fail(path, f".TH must start with '.TH {stem} {sect}'")
        if ".TS" in text and not text.startswith("'\\\" t"):
            fail(path, "uses tbl: the first line must be '\\\" t")
        have = sections(text)
        need = ["NAME", "SYNOPSIS", "DESCRIPTION", "SEE ALSO"]
        if sect == "3" and stem != "sfcgi":
            need += ["RETURN VALUE", "STANDARDS"]
        if sect == "1":
            need += ["EXIT STATUS"]
        for s in need:
            if s not in have:
                fail(path, f"no {s} section")
        for ref, rsect in re.findall(r"^\.BR\s+(sfcgi\w*)\s+\((\d)\)", text, re.M):
            if f"{ref}.{rsect}" not in pages:
                fail(path, f"refers to {ref}({rsect}), which has no page")
        _, err = render(groff, path, text)
        if err.strip():
            fail(path, "groff: " + err.strip().replace("\n", "\n    "))
        if args.man:
            env = dict(os.environ, MANWIDTH="80", LC_ALL="C.UTF-8", MAN_KEEP_FORMATTING="")
            p = subprocess.run([args.man, "--warnings", "-l", "-Tutf8", path],
                               capture_output=True, text=True, env=env)
            if p.returncode != 0 or p.stderr.strip():
                fail(path, f"man --warnings (status {p.returncode}): {p.stderr.strip()}")
    return report(f"{len(pages)} pages")


def exported(symfile):
    text = read(symfile)
    m = re.search(r"global:(.*?)local:", text, re.S)
    return re.findall(r"^\s*(\w+)\s*;", m.group(1) if m else "", re.M)


def squash(s):
    return re.sub(r"\s+", "", s)


def prototypes(header):
    """{function: prototype without white space} from the public header."""
    text = re.sub(r"/\*.*?\*/", "", read(header), flags=re.S)
    out = {}
    for m in re.finditer(r"SFCGI_API\s+([^;]*?\b(sfcgi_\w+)\s*\([^;]*?\))\s*(?:SFCGI_PRINTF\([^)]*\))?\s*;",
                         text, re.S):
        out[m.group(2)] = squash(m.group(1)) + ";"
    return out


def symbols(args):
    pages = {os.path.basename(p): p for p in args.pages}
    syms = exported(args.sym)
    protos = prototypes(args.header)
    if not syms:
        fail(args.sym, "no global symbols found")
    for sym in syms:
        name = f"{sym}.3"
        src = os.path.join(args.srcdir, name)
        if not os.path.exists(src):
            fail(name, f"missing: {sym} is exported but has no man/{name}")
            continue
        if name not in pages:
            fail(name, "is not installed (add it to man/meson.build)")
            continue
        path, text = pages[name], read(pages[name])
        target = so_target(text)
        if target is not None:
            tname = os.path.basename(target)
            if tname not in pages:
                fail(name, f".so {target}: no such page")
                continue
            path, text = pages[tname], read(pages[tname])
        name_sec = " ".join(sections(text).get("NAME", []))
        if not re.search(rf"\b{sym}\b", name_sec.split("\\-")[0]):
            fail(path, f"NAME does not list {sym}")
        if sym not in protos:
            fail(args.header, f"no SFCGI_API prototype for {sym}")
        elif args.groff:
            plain, _ = render(args.groff, path, text)
            if protos[sym] not in squash(rendered_section(plain, "SYNOPSIS")):
                fail(path, f"SYNOPSIS does not show the prototype of sfcgi.h: {protos[sym]}")
    for sym in protos:
        if sym not in syms:
            fail(args.header, f"{sym} is declared SFCGI_API but not in {os.path.basename(args.sym)}")
    for name in os.listdir(args.srcdir):
        if re.fullmatch(r"sfcgi_\w+\.3", name) and name[:-2] not in syms:
            fail(name, "documents a function that libsfcgi does not export")
        if re.fullmatch(r"[\w.-]+\.[1-8]", name) and name not in pages:
            fail(name, "is not installed (add it to man/meson.build)")
    return report(f"{len(syms)} symbols")


def unroff(line):
    line = line.replace("\\e", "\x00")
    for a, b in (("\\-", "-"), ("\\(aq", "'"), ("\\(dq", '"'), ("\\(ga", "`"),
                 ("\\(ti", "~"), ("\\(ha", "^"), ("\\&", ""), ("\\%", "")):
        line = line.replace(a, b)
    line = re.sub(r"\\f[BIRP]", "", line)
    return line.replace("\x00", "\\")


def examples(args):
    compiled = 0
    with tempfile.TemporaryDirectory() as tmp:
        for path in args.pages:
            text = read(path)
            ex = sections(text).get("EXAMPLES", [])
            blocks, cur = [], None
            for line in ex:
                if line.startswith(".EX"):
                    cur = []
                elif line.startswith(".EE"):
                    blocks.append(cur)
                    cur = None
                elif cur is not None:
                    cur.append(unroff(line))
            for i, block in enumerate(blocks):
                src = "\n".join(block) + "\n"
                if "#include <sfcgi.h>" not in src:
                    continue
                out = os.path.join(tmp, f"{os.path.basename(path)}.{i}.c")
                with open(out, "w") as f:
                    f.write(src)
                p = subprocess.run(args.cc + ["-std=gnu11", "-Wall", "-Wextra", "-Werror",
                                              "-fsyntax-only", "-I", args.include, out],
                                   capture_output=True, text=True)
                compiled += 1
                if p.returncode != 0:
                    fail(path, f"example {i + 1} does not compile:\n{p.stderr}")
    if compiled == 0:
        fail("examples", "found no example program")
    return report(f"{compiled} example programs")


def report(what):
    if failures:
        for f in failures:
            print("FAIL:", f)
        return 1
    print(f"ok: {what}")
    return 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("lint")
    p.add_argument("--groff", default="")
    p.add_argument("--man", default="")
    p.add_argument("--configured", action="store_true")
    p.add_argument("pages", nargs="+")
    p = sub.add_parser("symbols")
    p.add_argument("--sym", required=True)
    p.add_argument("--header", required=True)
    p.add_argument("--srcdir", required=True)
    p.add_argument("--groff", default="")
    p.add_argument("pages", nargs="+")
    p = sub.add_parser("examples")
    p.add_argument("--cc", action="append", required=True)
    p.add_argument("--include", required=True)
    p.add_argument("pages", nargs="+")
    args = ap.parse_args()
    return {"lint": lint, "symbols": symbols, "examples": examples}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
