#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Every unit test again, built with ASan + UBSan + LeakSanitizer (make SANITIZE=1 tests): no
# sanitizer report, no leak, every test passing. The out-of-memory sweeps (alloc_fault.h)
# skip there, as the sanitizer's allocator must see every call; the plain build runs them.
set -u
cd "$(dirname "$0")/../.."
make --no-print-directory -j2 SANITIZE=1 tests >/dev/null || { echo "FAIL: make SANITIZE=1 tests"; exit 1; }
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=99
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:exitcode=98
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
n=0 fails=0
for t in build-san/tests/test_*; do
	[ -x "$t" ] || continue
	n=$((n + 1))
	timeout 900 "$t" >"$T/out" 2>&1
	rc=$?
	if [ $rc -ne 0 ] || grep -qE "ERROR: AddressSanitizer|runtime error|LeakSanitizer" "$T/out"; then
		echo "FAIL $(basename "$t") (exit $rc)"
		grep -E -A12 "ERROR: AddressSanitizer|runtime error|LeakSanitizer|FAILED|\[  ERROR" "$T/out" | head -30
		fails=$((fails + 1))
	else
		echo "ok   $(basename "$t")"
	fi
done
[ "$n" -gt 0 ] || { echo "FAIL: no unit test built in build-san/tests"; exit 1; }
echo "$n unit tests under ASan+UBSan, $fails failed"
[ "$fails" -eq 0 ]
