#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The whole test suite: every unit test binary (build/tests/test_*), then every tests/suites/*.sh
# in name order. A suite exits 0 (pass), 249 (skipped: it says why) or anything else (fail).
# Output of each is in tests/out/<name>.log; failures are shown. Ends with "N passed, N failed".
# Each runs at most MAILTAP_TEST_TIMEOUT seconds (default 1200): a hang fails (exit 124).
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
export BUILD
OUT=tests/out
mkdir -p "$OUT"
pass=0 fail=0 skip=0
failed=()
only=${1:-}
LIMIT=${MAILTAP_TEST_TIMEOUT:-1200}

run_one() {
	local name=$1
	shift
	local log="$OUT/$name.log" rc start end
	start=$(date +%s)
	timeout -k 30 "$LIMIT" "$@" >"$log" 2>&1 </dev/null
	rc=$?
	[ $rc -eq 124 ] && echo "timed out after ${LIMIT}s" >>"$log"
	end=$(date +%s)
	case $rc in
	0)
		pass=$((pass + 1))
		printf 'PASS  %-40s %3ss\n' "$name" $((end - start))
		;;
	249)
		skip=$((skip + 1))
		printf 'SKIP  %-40s %s\n' "$name" "$(tail -n 1 "$log")"
		;;
	*)
		fail=$((fail + 1))
		failed+=("$name")
		printf 'FAIL  %-40s (exit %d, log %s)\n' "$name" "$rc" "$log"
		tail -n 40 "$log" | sed 's/^/      | /'
		;;
	esac
}

for t in "$BUILD"/tests/test_*; do
	[ -x "$t" ] || continue
	n=$(basename "$t")
	[ -n "$only" ] && [[ $n != *$only* ]] && continue
	run_one "$n" "$t"
done
for s in tests/suites/*.sh; do
	[ -f "$s" ] || continue
	n=$(basename "$s" .sh)
	[ -n "$only" ] && [[ $n != *$only* ]] && continue
	run_one "$n" bash "$s"
done

echo
[ ${#failed[@]} -gt 0 ] && echo "failed: ${failed[*]}"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
