#!/usr/bin/env bash
# Installs the dependencies, builds three trees and runs every meson test in
# the first two:
#   build/          the normal build
#   build-asan/     -Db_sanitize=address,undefined (leaks, overflows, UB abort)
#   build-release/  --buildtype=release, the unit, fuzz-replay and layout
#                   suites only: -O2 -Werror warnings (maybe-uninitialized)
#                   that a debug build never shows, the optimised codec and
#                   parser, and what an idle worker maps of the optimised
#                   library (tests/integration/layout.py)
# The last line printed is "N passed, N failed" (", N skipped" when some
# were), totalled over all trees from meson's testlog.json; the exit status
# is non-zero when anything failed or no test ran.
#
#   bash scripts/test.sh                 everything
#   bash scripts/test.sh --suite e2e     extra arguments go to `meson test`
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1

bash scripts/install-deps.sh || { echo "test: installing dependencies failed"; echo "0 passed, 1 failed"; exit 1; }

# name | meson setup options | meson test options
TREES=(
	"build||"
	"build-asan|-Db_sanitize=address,undefined -Db_lundef=false|--timeout-multiplier=4"
	"build-release|--buildtype=release|--suite unit --suite fuzz --suite layout"
)

results=()
for t in "${TREES[@]}"; do
	IFS='|' read -r dir setup_opts test_opts <<<"$t"
	echo "=== $dir: configure and build"
	# shellcheck disable=SC2086 # options are words on purpose
	if [[ -f $dir/build.ninja ]]; then
		[[ -z $setup_opts ]] || meson configure "$dir" $setup_opts
	else
		meson setup "$dir" $setup_opts
	fi || { results+=("$dir:setup"); continue; }
	start=$SECONDS
	ninja -C "$dir" || { results+=("$dir:build"); continue; }
	echo "=== $dir: built in $((SECONDS - start)) s; meson test"
	rm -f "$dir/meson-logs/testlog.json"
	start=$SECONDS
	# shellcheck disable=SC2086
	meson test -C "$dir" --print-errorlogs $test_opts "$@" </dev/null
	echo "=== $dir: meson test exited $? after $((SECONDS - start)) s"
	results+=("$dir:ran")
done

# Count from testlog.json: one JSON object per test and line.
python3 - "${results[@]}" <<'EOF'
import json, sys

passed = failed = skipped = 0
for entry in sys.argv[1:]:
    tree, state = entry.split(':', 1)
    if state != 'ran':
        print(f'{tree}: {state} failed; counted as 1 failed test')
        failed += 1
        continue
    log = f'{tree}/meson-logs/testlog.json'
    try:
        with open(log) as f:
            tests = [json.loads(line) for line in f if line.strip()]
    except OSError as e:
        print(f'{tree}: no {log} ({e.strerror}): the test run broke; counted as 1 failed test')
        failed += 1
        continue
    p = f = s = xf = 0
    bad = []
    for t in tests:
        r = t.get('result', '')
        if r in ('OK', 'EXPECTEDFAIL'):
            p += 1
            xf += r == 'EXPECTEDFAIL'
        elif r == 'SKIP':
            s += 1
        else:  # FAIL, TIMEOUT, UNEXPECTEDPASS, ERROR
            f += 1
            bad.append(f"{t.get('name')} ({r})")
    note = f' ({xf} expected failure(s), known bugs)' if xf else ''
    print(f'{tree}: {p} passed{note}, {f} failed, {s} skipped')
    for b in bad:
        print(f'  FAILED: {b}')
    passed, failed, skipped = passed + p, failed + f, skipped + s

line = f'{passed} passed, {failed} failed'
if skipped:
    line += f', {skipped} skipped'
print(line)
sys.exit(1 if failed or passed == 0 else 0)
EOF
