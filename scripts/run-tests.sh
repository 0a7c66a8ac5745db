#!/usr/bin/env bash
# Runs `swift test ARGS` with a bound on its time (GIGALEDGER_TEST_SECONDS, default 1800): a test
# that hangs fails the run with its name instead of holding CI until CI's own limit stops it
# without one. When the run fails or is stopped, the tests that started and never finished are
# listed last, where a reader of the tail of the log sees them.
set -uo pipefail
SWIFT="${SWIFT:-swift}"
limit="${GIGALEDGER_TEST_SECONDS:-1800}"
log="$(mktemp /tmp/gigaledger-test-log.XXXXXX)"
trap 'rm -f "$log"' EXIT

# How many tests run at once. Most tests wait for processes of the binary; on Linux each waiting
# test holds a thread of the pool that Swift's tasks and dispatch queues share, and with hundreds
# of tests at once that pool can run out of threads for the work they wait on (a child's exit).
export SWT_EXPERIMENTAL_MAXIMUM_PARALLELIZATION_WIDTH="${SWT_EXPERIMENTAL_MAXIMUM_PARALLELIZATION_WIDTH:-8}"

# --kill-after: a run that ignores SIGTERM is killed 30 s later. The whole process group goes,
# servers the tests started included. (The test process's output is buffered: the last lines
# before a stop may be missing, so a test that had just finished may be listed as unfinished.)
timeout --kill-after=30 "$limit" "$SWIFT" test "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
if [ "$status" -ne 0 ]; then
    if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
        echo "run-tests: swift test stopped after ${limit} s (GIGALEDGER_TEST_SECONDS)"
    fi
    # Swift Testing says "◇ Test NAME started." and "✔/✘ Test NAME passed/failed after ...".
    python3 - "$log" <<'EOF'
import re, sys
started, ended = [], set()
for line in open(sys.argv[1], encoding="utf-8", errors="replace"):
    m = re.search(r"Test (.+?) started\.$", line.rstrip())
    if m:
        started.append(m.group(1))
        continue
    m = re.search(r"Test (.+?) (?:passed|failed|skipped)\b", line)
    if m:
        ended.add(m.group(1))
unfinished = [name for name in dict.fromkeys(started) if name not in ended]
if unfinished:
    print(f"run-tests: {len(unfinished)} tests started and never finished:")
    for name in unfinished:
        print(f"  {name}")
EOF
fi
exit "$status"
