#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The benchmark tools run on a tiny input (benchmarks are not tests: no figure is checked).
set -u
cd "$(dirname "$0")/../.."
B=${BUILD:-build}
out=$(BENCH_QUICK=1 BUILD=$B bash tools/bench.sh 2>&1)
rc=$?
echo "$out"
[ $rc -eq 0 ] || exit 1
if echo "$out" | grep -q -- "--- .* \(failed\|not built\)"; then
	echo "a benchmark tool failed or is missing"
	exit 1
fi
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["rows"] and d["input"]["packets"] > 0' "$B/bench.json"
