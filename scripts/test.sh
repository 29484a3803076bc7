#!/usr/bin/env bash
# Run the suite on SQLite, then on a throwaway PostgreSQL. `scripts/test.sh sqlite|postgres` runs one.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
which=${1:-all}
# Two processes per pass (pytest-xdist), a file's tests kept together: the suite waits on subprocesses and
# sockets as much as it computes, and CI has a 20-minute budget.
WORKERS=${ISAO_TEST_WORKERS:-2}

# Suites started from several checkouts on one machine take turns (ISAO_TEST_LOCK, '' to opt out): run
# side by side on two cores they only slow each other down until the suite's time-bounded tests fail.
LOCK=${ISAO_TEST_LOCK-/tmp/isao-test-suite.lock}

run_pytest() {
    local rc=0
    if [ -n "$LOCK" ] && command -v flock >/dev/null; then
        exec 9>>"$LOCK"
        flock -n 9 || { echo "Another ISAO suite is running on this machine: waiting for it ($LOCK)" >&2; flock 9; }
    fi
    "$VENV/bin/pytest" -q -n "$WORKERS" --dist loadfile "${@}" 9>&- || rc=$?
    if [ "$rc" -eq 5 ]; then
        echo "pytest collected no tests: that is a failure here" >&2
        exit 1
    fi
    [ -z "$LOCK" ] || flock -u 9 2>/dev/null || true
    return "$rc"
}

if [ "$which" = all ] || [ "$which" = sqlite ]; then
    echo "=== Test suite on SQLite"
    ISAO_TEST_DATABASE_URL= run_pytest
fi

if [ "$which" = all ] || [ "$which" = postgres ]; then
    echo "=== Test suite on PostgreSQL"
    # shellcheck source=scripts/pg.sh
    source scripts/pg.sh
    pg_start
    trap pg_stop EXIT
    ISAO_TEST_DATABASE_URL="$PG_URL" run_pytest
fi
