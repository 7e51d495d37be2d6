#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Every capture of the corpus (all five sources) through an ASan+UBSan+LeakSanitizer build:
# no crash, no sanitizer report, no leak, and output that mailtap-cat accepts. Each capture
# runs a second time with --hashes none, where MIME counts instead of decoding once a file has
# its mime type (skip mode): every record must be the same but for the hash fields. And a third
# time with intel items of every kind that the records hold or that match everywhere (every
# address, a URL, so that every body is searched; docs/intel.md): the other records must be
# the same as without.
set -u
cd "$(dirname "$0")/../.."
make --no-print-directory -j2 SANITIZE=1 build-san/mailtap build-san/mailtap-cat >/dev/null || exit 1
M=build-san/mailtap
C=build-san/mailtap-cat
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=99
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:exitcode=98
printf '#fields\tindicator\tindicator_type\tmeta.source\n0.0.0.0/0\tIntel::SUBNET\ta\n::/0\tIntel::SUBNET\ta\nwww.w3.org/TR/REC-html40\tIntel::URL\tu\nexample.com\tIntel::DOMAIN\td\nbob@example.com\tIntel::EMAIL\te\nNEWS.TXT\tIntel::FILE_NAME\tn\nd41d8cd98f00b204e9800998ecf8427e\tIntel::FILE_HASH\th\n0000000000000000000000000000000000000000\tIntel::CERT_HASH\tc\nMicrosoft Outlook 16.0\tIntel::SOFTWARE\ts\n' >"$T/intel.dat"
n=0 fails=0 skipcmp=0 intel=0
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
	if ! $C "$T/out.mp" >"$T/out.json" 2>"$T/cerr"; then
		echo "FAIL $f: mailtap-cat rejects the output: $(cat "$T/cerr")"
		fails=$((fails + 1))
		continue
	fi
	$M -r "$f" --seed 1 --hashes none -w "$T/nohash.mp" 2>"$T/err"
	if [ $? -gt 2 ] || grep -qE "ERROR: AddressSanitizer|runtime error|LeakSanitizer" "$T/err"; then
		echo "FAIL $f --hashes none"
		head -20 "$T/err"
		fails=$((fails + 1))
		continue
	fi
	$C "$T/nohash.mp" >"$T/nohash.json" 2>/dev/null
	if ! python3 - "$T/out.json" "$T/nohash.json" <<'PY'; then
import json, sys
def recs(p):
    out = []
    for line in open(p):
        r = json.loads(line)
        for k in ("md5", "sha1", "sha256"):
            r.pop(k, None)
        if "analyzers" in r:
            r["analyzers"] = [x for x in r["analyzers"] if x not in ("MD5", "SHA1", "SHA256")]
        out.append(r)
    return out
a, b = recs(sys.argv[1]), recs(sys.argv[2])
if a != b:
    for x, y in zip(a, b):
        if x != y:
            print("  default:     ", json.dumps(x)[:400])
            print("  --hashes none:", json.dumps(y)[:400])
            break
    print("  %d records vs %d" % (len(a), len(b)))
    sys.exit(1)
PY
		echo "FAIL $f: --hashes none changes more than the hash fields"
		fails=$((fails + 1))
		continue
	fi
	skipcmp=$((skipcmp + 1))
	$M -r "$f" --seed 1 --intel-file "$T/intel.dat" -w "$T/intel.mp" 2>"$T/err"
	if [ $? -gt 2 ] || grep -qE "ERROR: AddressSanitizer|runtime error|LeakSanitizer" "$T/err"; then
		echo "FAIL $f --intel-file"
		head -20 "$T/err"
		fails=$((fails + 1))
		continue
	fi
	if [ "$($C "$T/intel.mp" | grep -v '"_path":"intel"' | md5sum)" != "$(md5sum <"$T/out.json")" ]; then
		echo "FAIL $f: intel changes other records"
		fails=$((fails + 1))
		continue
	fi
	intel=$((intel + $($C -s intel "$T/intel.mp" | wc -l)))
done < <(find ../shared/corpus -type f \( -name '*.pcap' -o -name '*.pcapng' -o -name '*.pcap.gz' \) | sort)
echo "corpus: $n captures, $fails failure(s); $skipcmp equal with --hashes none; $intel intel records, the others unchanged"
[ $n -gt 100 ] && [ $fails -eq 0 ] && [ $skipcmp -eq $n ] && [ $intel -gt 0 ]
