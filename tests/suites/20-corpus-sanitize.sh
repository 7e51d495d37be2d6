#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Every capture of the corpus (all five sources) through an ASan+UBSan+LeakSanitizer build:
# no crash, no sanitizer report, no leak, and output that mailtap-cat accepts.
set -u
cd "$(dirname "$0")/../.."
make --no-print-directory -j2 SANITIZE=1 build-san/mailtap build-san/mailtap-cat >/dev/null || exit 1
M=build-san/mailtap
C=build-san/mailtap-cat
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=99
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:exitcode=98
n=0 fails=0
while IFS= read -r f; do
	n=$((n + 1))
	$M -r "$f" --seed 1 -w "$T/out.mp" 2>"$T/err"
	rc=$?
	if [ $rc -gt 2 ] || grep -qE "ERROR: AddressSanitizer|runtime error|LeakSanitizer" "$T/err"; then
		echo "FAIL $f (exit $rc)"
		head -20 "$T/err"
		fails=$((fails + 1))
		continue
	fi
	if ! $C "$T/out.mp" >/dev/null 2>"$T/cerr"; then
		echo "FAIL $f: mailtap-cat rejects the output: $(cat "$T/cerr")"
		fails=$((fails + 1))
	fi
done < <(find ../shared/corpus -type f \( -name '*.pcap' -o -name '*.pcapng' -o -name '*.pcap.gz' \) | sort)
echo "corpus: $n captures, $fails failure(s)"
[ $n -gt 100 ] && [ $fails -eq 0 ]
