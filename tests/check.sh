#!/bin/sh
# tests/check.sh - the whole test suite from a clean clone (the README's
# second command, and what .ci/run runs): install the Debian packages that
# are missing, build, run every test.  The runner's summary
# "N passed, N failed, N skipped" is the last line, and the exit status is
# the suite's.
set -e
cd "$(dirname "$0")/.."
make --no-print-directory deps
make --no-print-directory -j2 all
DS_BIN="$PWD/bin" DS_BUILD="$PWD/build" exec sh tests/run.sh
