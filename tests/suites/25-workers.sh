#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# --workers N gives the same records as one worker (as sets: the order across workers and
# the random ids differ), on every SMTP capture of the corpus and on a generated capture
# with 500 interleaved sessions. Then the handoff under ThreadSanitizer (make
# SANITIZE=thread): test_workers (concurrent producers) and --workers 3 on the generated
# capture, which must report no race and give the same records.
set -u
cd "$(dirname "$0")/../.."
B=${BUILD:-build}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
# x509 records: each worker deduplicates certificates on its own (as Zeek workers with
# X509::known_log_certs_use_broker=F), so a certificate seen by several workers is logged once
# by each, at its own first sighting: compared as a set of certificates, without ts.
canon() { # msgpack file -> sorted JSON records without the random ids
	"$B/mailtap-cat" "$1" | python3 -c '
import sys, json
ids = ("uid", "fuid", "fuids", "parent_fuid")
rows, certs = [], set()
for l in sys.stdin:
    r = {k: v for k, v in json.loads(l).items() if k not in ids}
    if r.get("_path") == "x509":
        r.pop("ts", None)
        certs.add(json.dumps(r, sort_keys=True))
    else:
        rows.append(json.dumps(r, sort_keys=True))
print("\n".join(sorted(rows) + sorted(certs)))'
}
"$B/tools/gen_smtp_pcap" -o "$T/gen.pcap" -n 500 -c 40 -a 20000 --seed 5 2>/dev/null
fails=0 n=0
for f in "$T/gen.pcap" $(find ../shared/corpus -name '*.pcap' -size -2M | grep -iE 'smtp|mime|bdat|mail' | sort | head -60); do
	n=$((n + 1))
	"$B/mailtap" -r "$f" --seed 1 -w "$T/1.mp" 2>/dev/null
	"$B/mailtap" -r "$f" --seed 1 --workers 3 -w "$T/3.mp" 2>/dev/null
	canon "$T/1.mp" >"$T/1.txt"
	canon "$T/3.mp" >"$T/3.txt"
	if ! cmp -s "$T/1.txt" "$T/3.txt"; then
		echo "FAIL $f: records differ with 3 workers"
		diff "$T/1.txt" "$T/3.txt" | head -4 | cut -c1-300
		fails=$((fails + 1))
	fi
done
echo "workers: $n captures compared, $fails differ"
[ $fails -eq 0 ] && [ $n -gt 10 ] || exit 1

TS=build-tsan
make --no-print-directory -j2 SANITIZE=thread $TS/mailtap $TS/tests/test_workers >/dev/null || exit 1
export TSAN_OPTIONS="halt_on_error=1 exitcode=66"
$TS/tests/test_workers >"$T/tw.log" 2>&1 || { cat "$T/tw.log"; echo "FAIL test_workers under TSan"; exit 1; }
"$B/mailtap" -r "$T/gen.pcap" --seed 1 -w "$T/1.mp" 2>/dev/null
$TS/mailtap -r "$T/gen.pcap" --seed 1 --workers 3 -w "$T/3.mp" 2>"$T/tsan.log" ||
	{ head -40 "$T/tsan.log"; echo "FAIL mailtap --workers 3 under TSan"; exit 1; }
canon "$T/1.mp" >"$T/1.txt"
canon "$T/3.mp" >"$T/3.txt"
cmp -s "$T/1.txt" "$T/3.txt" || { echo "FAIL records differ under TSan"; exit 1; }
# the tunnel table the workers share (one mutex): mail in VXLAN, three workers
"$B/tools/gen_smtp_pcap" -o "$T/vx.pcap" -n 200 -c 20 -a 5000 --seed 9 --encap vxlan 2>/dev/null
$TS/mailtap -r "$T/vx.pcap" --seed 1 --workers 3 -w "$T/vx.mp" 2>"$T/tsan2.log" ||
	{ head -40 "$T/tsan2.log"; echo "FAIL mailtap --workers 3 on VXLAN under TSan"; exit 1; }
tun=$("$B/mailtap-cat" -s tunnel "$T/vx.mp" | grep -c DISCOVER)
named=$("$B/mailtap-cat" -s conn "$T/vx.mp" | grep -c tunnel_parents)
[ "$tun" = 1 ] && [ "$named" = 200 ] ||
	{ echo "FAIL VXLAN under TSan: $tun DISCOVER records, $named of 200 conns name the tunnel"; exit 1; }
echo "TSan: test_workers and --workers 3 ($(wc -l <"$T/3.txt") records) and VXLAN with the shared tunnel table ($named conns) without a race report"
