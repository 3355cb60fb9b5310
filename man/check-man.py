#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Checks of the manual pages, run by `meson test --suite doc`.

  lint     every page formats without a single groff (and man) warning, nor
           a mandoc -Tlint warning when mandoc is installed (it drops macros
           inside tbl T{ T} blocks, which groff renders), has the sections it
           needs, cross-references only pages that exist, and every .so
           redirect points at a real page;
  symbols  every symbol exported by src/libsfcgi.sym has a page of its own
           name that is installed, names the symbol in NAME and shows the
           same prototype as include/sfcgi.h in SYNOPSIS; no page documents
           a function that is not exported;
  examples every EXAMPLES program that includes <sfcgi.h> compiles with
           -Wall -Wextra -Werror against the real header;
  policy   the system-call lists of sfcgi.json(5) are those of src/policy.c
           (`policy --fix` regenerates them);
  keys     sfcgi.json(5) documents every key src/config.c reads and no
           other, the limits tables match src/settings.c, and sfcgi(3) and
           sfcgi(1) describe every long option of the library and of the
           sfcgi subcommands.

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
        if args.mandoc:
            p = subprocess.run([args.mandoc, "-Tlint", "-Wwarning", path],
                               capture_output=True, text=True)
            if p.stdout.strip() or p.stderr.strip():
                fail(path, "mandoc -Tlint: " + (p.stdout + p.stderr).strip())
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


# ---- sync: the pages against the tables in the source ----------------------
#
# policy  the system-call lists of sfcgi.json(5) (blocks between
#         '.\" policy-begin NAME' and '.\" policy-end') are exactly what
#         src/policy.c and the group table of src/sandbox.c say; --fix
#         rewrites the blocks;
# keys    every key of src/config.c (and of "sandbox"), every choice of the
#         "sandbox" strings, every rlimit and every limit of src/settings.c
#         (with its default) is documented, and nothing else is; every long
#         option of the library and of the sfcgi subcommands has its entry.

def c_strip_comments(text):
    """C source without comments; strings and characters are kept."""
    return re.sub(r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'|/\*.*?\*/|//[^\n]*',
                  lambda m: m.group(0) if m.group(0)[0] in "\"'" else " ", text, flags=re.S)


def c_split(s):
    """Top-level comma-separated items of s (strings and brackets respected)."""
    items, depth, cur, i = [], 0, "", 0
    while i < len(s):
        ch = s[i]
        if ch == '"':
            m = re.compile(r'"(?:\\.|[^"\\])*"').match(s, i)
            cur += m.group(0)
            i = m.end()
            continue
        if ch in "({[":
            depth += 1
        elif ch in ")}]":
            depth -= 1
        if ch == "," and depth == 0:
            items.append(cur.strip())
            cur = ""
        else:
            cur += ch
        i += 1
    if cur.strip():
        items.append(cur.strip())
    return items


def c_string(s):
    m = re.fullmatch(r'\s*"((?:\\.|[^"\\])*)"\s*', s)
    if not m:
        raise ValueError(f"expected a string literal, got {s!r}")
    return m.group(1)


def c_array(text, name):
    """The initialiser items of `... name[...] = { ... };` in text."""
    m = re.search(rf"\b{re.escape(name)}\s*\[[^\]]*\]\s*=\s*\{{(.*?)\}}\s*;", text, re.S)
    if not m:
        raise ValueError(f"no array {name}")
    return c_split(m.group(1))


# How the page describes an argument restriction of src/policy.h.
ARG_TEXT = {
    "ARG_ANY": "",
    "ARG_OPEN_RDONLY": " (read\\-only)",
    "ARG_SOCKET_INET": " (AF_UNIX, AF_INET, AF_INET6)",
    "ARG_IOCTL_TCGETS": " (TCGETS only)",
    "ARG_IOCTL_CLOEXEC": " (FIOCLEX, FIONCLEX)",
    "ARG_IOCTL_FICLONE": " (FICLONE)",
    "ARG_OPEN_RDWR": " (O_RDWR, no O_CREAT or O_TRUNC)",
}


def policy_blocks(policy_c, sandbox_c):
    """[(block name, [(syscall, argument restriction)])] in page order."""
    text = c_strip_comments(read(policy_c))
    macros = {}
    for m in re.finditer(r"^#define\s+(\w+)\(([^)]*)\)\s*\{(.*)\}\s*$", text, re.M):
        macros[m.group(1)] = ([p.strip() for p in m.group(2).split(",")], c_split(m.group(3)))
    entries = []
    for item in c_array(text, "policy_table"):
        m = re.fullmatch(r"(\w+)\s*\((.*)\)", item, re.S)
        if m and m.group(1) in macros:
            params, body = macros[m.group(1)]
            sub = dict(zip(params, c_split(m.group(2))))
            fields = [sub.get(f, f) for f in body]
        elif item.startswith("{") and item.endswith("}"):
            fields = c_split(item[1:-1])
        else:
            raise ValueError(f"policy_table: cannot read {item[:60]!r}")
        entries.append((c_string(fields[0]), fields[1], fields[2], fields[3]))
    groups = re.findall(r'\{\s*"([\w-]+)"\s*,\s*(GROUP_\w+)\s*\}',
                        c_strip_comments(read(sandbox_c)))
    if not groups:
        raise ValueError(f"{sandbox_c}: no group table")
    blocks = [("strict", [(n, a) for n, lvl, g, a in entries if lvl == "LEVEL_STRICT"]),
              ("default", [(n, a) for n, lvl, g, a in entries if lvl == "LEVEL_DEFAULT"])]
    for gname, gid in groups:
        blocks.append((gname, [(n, a) for n, lvl, g, a in entries
                               if lvl == "LEVEL_GROUP" and g == gid]))
    known = {"LEVEL_STRICT", "LEVEL_DEFAULT", "LEVEL_GROUP"}
    for n, lvl, g, a in entries:
        if lvl not in known:
            raise ValueError(f"policy_table: {n}: unknown level {lvl}")
        if lvl == "LEVEL_GROUP" and g not in dict((b, a) for a, b in groups):
            raise ValueError(f"policy_table: {n}: group {g} is not in {sandbox_c}")
    deny = [c_string(s) for s in c_array(text, "policy_supervisor_deny") if s != "NULL"]
    blocks.append(("supervisor", [(n, "ARG_ANY") for n in deny]))
    return blocks


def policy_roff(items):
    """The roff lines of one block: bold names, comma-separated, wrapped."""
    words = []
    for name, arg in items:
        if arg not in ARG_TEXT:
            raise ValueError(f"{name}: no text for {arg}; add it to ARG_TEXT in check-man.py")
        words.append(f"\\fB{name}\\fR{ARG_TEXT[arg]}")
    if not words:
        return ["(none)"]
    words = [w + "," for w in words[:-1]] + [words[-1] + "."]
    lines, cur = [], ""
    for w in words:
        if cur and len(cur) + 1 + len(w) > 78:
            lines.append(cur)
            cur = w
        else:
            cur = f"{cur} {w}" if cur else w
    lines.append(cur)
    return lines


BLOCK_RE = re.compile(r'^\.\\" policy-begin (\S+)[^\n]*\n(.*?)^\.\\" policy-end[^\n]*$', re.S | re.M)


def policy(args):
    try:
        blocks = policy_blocks(args.policy, args.sandbox)
    except (ValueError, OSError) as e:
        fail(args.policy, str(e))
        return report("policy")
    text = read(args.page)
    have = {m.group(1): m for m in BLOCK_RE.finditer(text)}
    want = {name: policy_roff(items) for name, items in blocks}
    if args.fix:
        def repl(m):
            if m.group(1) not in want:
                return m.group(0)
            head, _, _ = m.group(0).partition("\n")
            return head + "\n" + "\n".join(want[m.group(1)]) + '\n.\\" policy-end'
        new = BLOCK_RE.sub(repl, text)
        if new != text:
            with open(args.page, "w", encoding="utf-8") as f:
                f.write(new)
            print(f"rewrote the system-call lists of {args.page}")
        text, have = new, {m.group(1): m for m in BLOCK_RE.finditer(new)}
    how = f"python3 man/check-man.py policy --fix --policy src/policy.c --sandbox src/sandbox.c man/{os.path.basename(args.page)}"
    for name, lines in want.items():
        if name not in have:
            fail(args.page, f"no block '.\\\" policy-begin {name}' for the {name} system calls")
        elif have[name].group(2).rstrip("\n").split("\n") != lines:
            fail(args.page, f"the {name} system calls differ from {os.path.basename(args.policy)}; "
                            f"regenerate them: {how}")
    for name in have:
        if name not in want:
            fail(args.page, f"block {name}: src/policy.c has no such level or group")
    n = sum(len(items) for _, items in blocks)
    return report(f"{len(blocks)} system-call lists, {n} entries")


def profile_calls(profile_c):
    """{profile name: [single call, ...]} from src/profile.c's tables."""
    text = c_strip_comments(read(profile_c))
    arrays = {m.group(1): re.findall(r'\{\s*"([a-z0-9_]+)"', m.group(2))
              for m in re.finditer(r'runtime_syscall (\w+)\[\] = \{(.*?)\n\};', text, re.S)}
    table = re.search(r'runtime_profiles\[\] = \{(.*?)\n\};', text, re.S)
    if not table:
        raise ValueError("no runtime_profiles table")
    return {m.group(1): arrays.get(m.group(2), [])
            for m in re.finditer(r'\{\s*"([a-z]+)",[^{}]*?(\w+_calls)\s*\}', table.group(1))}


def profiles(args):
    """Every profile of profile.c has its tag under "profile" in the page, and
    its paragraph names each of its single calls."""
    try:
        want = profile_calls(args.profiles)
    except (ValueError, OSError) as e:
        fail(args.profiles, str(e))
        return report("profiles")
    lines = read(args.page).split("\n")
    try:
        start = next(i for i, l in enumerate(lines) if l.startswith(".BR profile "))
        end = next(i for i in range(start, len(lines)) if lines[i] == ".RE")
    except StopIteration:
        fail(args.page, "no \".BR profile\" entry with its .RS/.RE list of profiles")
        return report("profiles")
    paras, cur = {}, None
    for i in range(start, end):
        if lines[i] == ".TP" and i + 1 < end and lines[i + 1].startswith(".B "):
            cur = lines[i + 1].split()[1]
            paras[cur] = []
        elif cur:
            paras[cur] += [unroff(lines[i])]
    for name, calls in want.items():
        if name not in paras:
            fail(args.page, f"profile {name} of {os.path.basename(args.profiles)} has no entry")
            continue
        words = set(re.findall(r"[a-z0-9_]+", " ".join(paras[name])))
        for c in calls:
            if c not in words:
                fail(args.page, f"profile {name}: its single call {c} is not named")
    for name in paras:
        if name not in want:
            fail(args.page, f"profile {name}: src/profile.c has no such profile")
    return report(f"{len(want)} profiles, {sum(map(len, want.values()))} single calls")


def roff_args(line):
    """The arguments of a roff request line such as .BR a " b" c."""
    out, i, rest = [], 0, line.split(None, 1)[1] if " " in line else ""
    while i < len(rest):
        if rest[i] == " ":
            i += 1
        elif rest[i] == '"':
            j, cur = i + 1, ""
            while j < len(rest):
                if rest[j] == '"' and rest[j + 1:j + 2] == '"':
                    cur += '"'
                    j += 2
                elif rest[j] == '"':
                    break
                else:
                    cur += rest[j]
                    j += 1
            out.append(cur)
            i = j + 1
        else:
            j = rest.find(" ", i)
            j = len(rest) if j < 0 else j
            out.append(rest[i:j])
            i = j
    return out


def tags(lines):
    """Names in the bold parts of the top-level .TP tags of a section, up to its first .SS."""
    out, depth, after_tp = [], 0, False
    for line in lines:
        if line.startswith(".SS"):
            break
        if line.startswith(".RS"):
            depth += 1
        elif line.startswith(".RE"):
            depth -= 1
        elif line.startswith(".TP"):
            after_tp = depth == 0
            continue
        elif after_tp and line.startswith((".B ", ".BR ", ".BI ")):
            # the names before the first "(...)": .BR user ", " group " (strings)"
            a = roff_args(line)
            for i, w in enumerate(a):
                if line.startswith(".B ") or i % 2 == 0:
                    out += [w] if re.fullmatch(r"[a-z_]+", w) else []
                elif "(" in w:
                    break
        after_tp = False
    return out


def option_tags(lines):
    """Long options named in the .TP tags of a section: {name}."""
    out, after_tp = set(), False
    for line in lines:
        if line.startswith(".TP"):
            after_tp = True
            continue
        if after_tp:
            out |= set(re.findall(r"\\-\\-([a-z][a-z\\-]*)", line))
            out = {o.replace("\\-", "-") for o in out}
        after_tp = False
    return out


def long_options(c_file):
    text = c_strip_comments(read(c_file))
    return [c_string(m) for m in re.findall(r'\{\s*("[\w-]+")\s*,\s*(?:no|required|optional)_argument',
                                              text)]


def table_rows(lines):
    """(first, second) columns of the tab-separated rows of .TS tables."""
    rows, inside = [], False
    for line in lines:
        if line.startswith(".TS"):
            inside = True
        elif line.startswith(".TE"):
            inside = False
        elif inside and "\t" in line and not line.startswith("T}"):
            cols = line.split("\t")
            rows.append((cols[0], cols[1]))
    return rows


def settings_rows(settings_c):
    """[(key, default as the pages write it)] from settings_table."""
    text = c_strip_comments(read(settings_c))
    units = {"KIB": 1024, "MIB": 1024 ** 2, "GIB": 1024 ** 3}
    rows = []
    for item in c_array(text, "settings_table"):
        f = c_split(item.strip()[1:-1])
        expr = re.sub(r"(\d+)u?ll?u?", r"\1", f[5])
        if not re.fullmatch(r"[\d\sA-Z*+]+", expr):
            raise ValueError(f"settings_table: cannot evaluate default {f[5]!r}")
        val = eval(re.sub(r"[A-Z]+", lambda m: str(units[m.group(0)]), expr))
        rows.append((c_string(f[0]), f"{val / 1000:g}" if f[1] == "SETTING_MS" else str(val)))
    return rows


def keys(args):
    cfg = c_strip_comments(read(args.config))
    try:
        top = [c_string(c_split(i[1:-1])[0]) for i in c_array(cfg, "fields")]
        sbk = [c_string(s) for s in c_array(cfg, "sandbox_keys")]
        rlim = [c_string(s) for s in c_array(c_strip_comments(read(args.sandbox)),
                                             "sandbox_rlimit_names")]
        fn = cfg[cfg.index("static int sandbox_key"):]
        choices = {}
        for key, arr in re.findall(r'choice\(\s*p\s*,\s*v\s*,\s*"sandbox\.(\w+)"\s*,\s*(\w+)', fn):
            choices[key] = [c_string(s) for s in c_array(fn, arr) if s != "NULL"]
        limits = settings_rows(args.settings)
    except (ValueError, OSError) as e:
        fail(args.config, str(e))
        return report("keys")
    page = sections(read(args.json_page))
    name = args.json_page
    got = tags(page.get("KEYS", []))
    for k in top:
        if k not in got:
            fail(name, f"KEYS: no entry for \"{k}\" ({os.path.basename(args.config)} reads it)")
    for k in got:
        if k not in top:
            fail(name, f"KEYS: \"{k}\" is not a key of {os.path.basename(args.config)}")
    sb = page.get("SANDBOX", [])
    got = tags(sb)
    for k in sbk:
        if k not in got:
            fail(name, f"SANDBOX: no entry for \"{k}\"")
    for k in got:
        if k not in sbk:
            fail(name, f"SANDBOX: \"{k}\" is not a key of \"sandbox\"")
    sbtext = "\n".join(sb)
    for key, vals in choices.items():
        for v in vals:
            if f"\\(dq{v}\\(dq" not in sbtext:
                fail(name, f"SANDBOX: the {key} choice \"{v}\" is not described")
    for r in rlim:
        if not re.search(rf"^\.BR? {r}\b", sbtext, re.M):
            fail(name, f"SANDBOX: rlimit \"{r}\" is not described")
    for page_path in (args.json_page, args.lib_page):
        rows = [(k.replace("\\-", "-"), d) for k, d in table_rows(read(page_path).splitlines())
                if k not in ("KEY",)]
        if rows != limits:
            fail(page_path, "the limits table differs from settings_table (key, default): "
                            f"want {limits}, have {rows}")
    lib = sections(read(args.lib_page)).get("OPTIONS", [])
    want = set(long_options(args.server))
    have = option_tags(lib)
    for o in sorted(want - have):
        fail(args.lib_page, f"OPTIONS: no entry for --{o} ({os.path.basename(args.server)})")
    for o in sorted(have - want):
        fail(args.lib_page, f"OPTIONS: --{o} is not an option of {os.path.basename(args.server)}")
    tool = read(args.tool_page)
    for cfile in args.command:
        cmd = os.path.basename(cfile)[:-2]
        m = re.search(rf'^\.SS "?sfcgi {cmd}"?\n(.*?)(?=^\.S[HS] )',
                      tool.split("\n.SH OPTIONS\n", 1)[-1], re.S | re.M)
        if not m:
            fail(args.tool_page, f"OPTIONS: no subsection \"sfcgi {cmd}\"")
            continue
        want, have = set(long_options(cfile)), option_tags(m.group(1).splitlines())
        for o in sorted(want - have):
            fail(args.tool_page, f"OPTIONS, sfcgi {cmd}: no entry for --{o}")
        for o in sorted(have - want):
            fail(args.tool_page, f"OPTIONS, sfcgi {cmd}: --{o} is not an option of {cmd}")
    return report(f"{len(top)} keys, {len(sbk)} sandbox keys, {len(limits)} limits")


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
    p.add_argument("--mandoc", default="")
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
    p = sub.add_parser("policy")
    p.add_argument("--policy", required=True)
    p.add_argument("--sandbox", required=True)
    p.add_argument("--fix", action="store_true")
    p.add_argument("page")
    p = sub.add_parser("profiles")
    p.add_argument("--profiles", required=True)
    p.add_argument("page")
    p = sub.add_parser("keys")
    p.add_argument("--config", required=True)
    p.add_argument("--sandbox", required=True)
    p.add_argument("--settings", required=True)
    p.add_argument("--server", required=True)
    p.add_argument("--command", action="append", default=[])
    p.add_argument("--json-page", required=True)
    p.add_argument("--lib-page", required=True)
    p.add_argument("--tool-page", required=True)
    args = ap.parse_args()
    return {"lint": lint, "symbols": symbols, "examples": examples, "policy": policy,
            "profiles": profiles, "keys": keys}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
