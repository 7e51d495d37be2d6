#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Command-line contract and bad input: clear messages, non-zero exits, records kept.
set -u
cd "$(dirname "$0")/../.."
B=${BUILD:-build}
M=$B/mailtap
C=$B/mailtap-cat
Z=../shared/corpus
[ -d "$Z" ] || { echo "../shared/corpus is missing"; exit 1; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fails=$((fails + 1)); }
expect_rc() { # expected-rc description command...
	local want=$1 what=$2
	shift 2
	"$@" >"$T/out" 2>"$T/err"
	local rc=$?
	if [ "$rc" -eq "$want" ]; then ok "$what (exit $rc)"; else bad "$what: exit $rc, wanted $want: $(head -c 300 "$T/err")"; fi
}

expect_rc 1 "no input" $M -w "$T/x"
expect_rc 1 "unknown option" $M --frobnicate -r $Z/zeek/traces/smtp.pcap
grep -q "unrecognized option" "$T/err" && ok "unknown option named" || bad "unknown option message"
expect_rc 1 "bad --ports" $M -r $Z/zeek/traces/smtp.pcap --ports 25,0
expect_rc 1 "bad --local-nets" $M -r $Z/zeek/traces/smtp.pcap --local-nets 10.0.0.0/33
expect_rc 1 "unknown output" $M -r $Z/zeek/traces/smtp.pcap -o kafka:x
expect_rc 2 "missing file" $M -r "$T/nope.pcap" -w "$T/x"
grep -q "nope.pcap" "$T/err" && ok "missing file named" || bad "missing file message"
echo "not a pcap" >"$T/junk"
expect_rc 2 "not a capture" $M -r "$T/junk" -w "$T/x"
expect_rc 2 "bad filter" $M -r $Z/zeek/traces/smtp.pcap -f "tcp port" -w "$T/x"
expect_rc 1 "unwritable output" $M -r $Z/zeek/traces/smtp.pcap -w /nonexistent/dir/x
expect_rc 1 "--capture-threads with -r" $M -r $Z/zeek/traces/smtp.pcap --capture-threads 2
grep -q "capture-threads needs -i" "$T/err" && ok "--capture-threads with -r: message" || bad "--capture-threads message: $(cat "$T/err")"
expect_rc 1 "--capture-threads above --queues" $M -i lo --queues 2 --capture-threads 3
expect_rc 1 "--capture-threads 0" $M -i lo --capture-threads 0
expect_rc 1 "--capture-threads in host mode" $M -i lo --capture host --capture-threads 2

# Truncated capture: the error names the offset; the records before it are written.
head -c 9000 $Z/zeek/traces/smtp.pcap >"$T/trunc.pcap"
expect_rc 2 "truncated capture" $M -r "$T/trunc.pcap" -w "$T/trunc.mp"
grep -q "byte offset" "$T/err" && ok "truncation offset reported" || bad "no offset in: $(cat "$T/err")"
n=$($C -s conn "$T/trunc.mp" | wc -l)
[ "$n" -ge 1 ] && ok "records kept after truncation ($n conn)" || bad "no records kept after truncation"
# The corpus' deliberately corrupt capture.
expect_rc 2 "corrupt capture" $M -r "$Z/suricata-verify/smtp-to-comma/10.7.29.101_49898-178.63.41.150_25.pcap" -w "$T/c.mp"
grep -q "after packet 18" "$T/err" && ok "corrupt capture: packet count" || bad "corrupt capture message: $(cat "$T/err")"
$C "$T/c.mp" >/dev/null && ok "records of corrupt capture readable" || bad "records of corrupt capture"

# stdin, gzip, pcapng, -w - all give the same records as the plain file.
$M -r $Z/zeek/traces/smtp.pcap --seed 7 -w "$T/a.mp"
[ "$($C -s conn "$T/a.mp" | wc -l)" -eq 2 ] && ok "reference run: 2 conn records" || bad "reference run"
$M -r - --seed 7 -w - <$Z/zeek/traces/smtp.pcap >"$T/b.mp"
cmp -s "$T/a.mp" "$T/b.mp" && ok "stdin == file" || bad "stdin differs from file"
gzip -c $Z/zeek/traces/smtp.pcap >"$T/s.pcap.gz"
$M -r "$T/s.pcap.gz" --seed 7 -w "$T/c.mp"
cmp -s "$T/a.mp" "$T/c.mp" && ok "gzip file == file" || bad "gzip file differs"
$M -r - --seed 7 -w "$T/d.mp" <"$T/s.pcap.gz"
cmp -s "$T/a.mp" "$T/d.mp" && ok "gzip stdin == file" || bad "gzip stdin differs"
if command -v editcap >/dev/null; then
	editcap -F pcapng $Z/zeek/traces/smtp.pcap "$T/s.pcapng"
	$M -r "$T/s.pcapng" --seed 7 -w "$T/e.mp"
	cmp -s "$T/a.mp" "$T/e.mp" && ok "pcapng == pcap" || bad "pcapng differs"
fi
# Pipes: process substitution (plain and gzip), and a pipe that stays open: its packets are
# analysed as they arrive and SIGTERM ends the run with every record written.
[ "$($M -r <(cat $Z/zeek/traces/smtp.pcap) --seed 7 | $C -s conn | wc -l)" -eq 2 ] && ok "process substitution" || bad "process substitution"
[ "$($M -r <(gzip -c $Z/zeek/traces/smtp.pcap) --seed 7 | $C -s conn | wc -l)" -eq 2 ] && ok "gzip through a pipe" || bad "gzip through a pipe"
if [ -x "${B}/tools/gen_hostile" ]; then
	(${B}/tools/gen_hostile -s synflood -n 500 -o - 2>/dev/null; sleep 20) | $M -r - -w "$T/slow.mp" 2>/dev/null &
	sleep 2
	pkill -TERM -f "$M -r - -w $T/slow.mp"
	for _ in $(seq 50); do pgrep -f "$M -r - -w $T/slow.mp" >/dev/null || break; sleep 0.1; done
	pgrep -f "$M -r - -w $T/slow.mp" >/dev/null && bad "SIGTERM did not end a run waiting on a pipe" ||
		{ [ "$($C -s conn "$T/slow.mp" | wc -l)" -eq 500 ] && ok "open pipe: analysed as it came, SIGTERM ends it" || bad "open pipe: $($C -s conn "$T/slow.mp" | wc -l) conn records"; }
fi
# Deterministic with a seed, different without.
$M -r $Z/zeek/traces/smtp.pcap --seed 7 -w "$T/f.mp"
cmp -s "$T/a.mp" "$T/f.mp" && ok "--seed deterministic" || bad "--seed not deterministic"
# Filter: port 25 only keeps the two mail connections.
n=$($M -r $Z/zeek/traces/smtp.pcap -f "tcp port 25" | $C -s conn | wc -l)
[ "$n" -eq 2 ] && ok "filter" || bad "filter gave $n conn records"
# --ports: nothing on 9999 (but the capture_loss measurement of an interval without ACKs and
# its CaptureLoss::Too_Little_Traffic notice: the capture spans years)
n=$($M -r $Z/zeek/traces/smtp.pcap --ports 9999 | $C | grep -vc '"_path":"capture_loss"\|"note":"CaptureLoss::Too_Little_Traffic"')
cl=$($M -r $Z/zeek/traces/smtp.pcap --ports 9999 | $C -s capture_loss | grep -c '"acks":0,')
[ "$n" -eq 0 ] && [ "$cl" -eq 1 ] && ok "--ports" || bad "--ports 9999 gave $n records ($cl capture_loss)"

# mailtap-cat: JSON shape, columns, corrupt and truncated input with offsets.
$C -s conn "$T/a.mp" | head -1 | grep -q '^{"_path":"conn","ts":' && ok "cat JSON shape" || bad "cat JSON shape"
$C -s conn -c uid history <"$T/a.mp" | head -1 | grep -qP '^C\w+\tShAdDaTFf$' && ok "cat -c columns" || bad "cat -c: $($C -s conn -c uid history <"$T/a.mp" | head -1)"
sz=$(stat -c %s "$T/a.mp")
head -c $((sz - 3)) "$T/a.mp" >"$T/t.mp"
expect_rc 1 "cat truncated" $C "$T/t.mp"
grep -q "truncated input: incomplete entry at byte offset" "$T/err" && ok "cat truncation offset" || bad "cat truncation: $(cat "$T/err")"
[ "$(wc -l <"$T/out")" -ge 1 ] && ok "cat prints what came before" || bad "cat printed nothing"
printf '\x93\xa4abcd\xc1' >"$T/bad.mp"
expect_rc 1 "cat corrupt" $C "$T/bad.mp"
grep -q "byte offset 0" "$T/err" && ok "cat corrupt offset" || bad "cat corrupt: $(cat "$T/err")"
printf '\x81\xa1a\x01' >"$T/map.mp"
expect_rc 1 "cat non-entry" $C "$T/map.mp"
# entries another producer could write: JSON out whatever the bytes (Zeek's JSON writer's
# escaping: control bytes and bytes outside valid UTF-8 as the text \xNN), doubles in their
# shortest round-trip form with a ".0" kept on integral ones, a map key that is not a string
# refused with a clear error
/usr/bin/python3 - "$T" <<'PY'
import msgpack, struct, sys
t = sys.argv[1]
et = msgpack.ExtType(0, struct.pack(">II", 1, 0))
# the str keeps the raw bytes: packed as bytes in a str container
pk = msgpack.Packer(use_bin_type=True)
body = pk.pack(["mailtap.smtp", et, {"s": b"a\x00b\x01\x7f\t\xc3\xa9\xff\xc3("}])
body = body.replace(b"\xc4\x0e", b"\xae", 1)  # bin8 of 14 bytes -> fixstr 14
body += pk.pack(["mailtap.smtp", et, {"b": b"\xfe\x00", "d1": 1e-7, "d2": 1000.0,
                                        "d3": 1700000000.123456789, "d4": 0.004}])
open(t + "/odd.mp", "wb").write(body)
open(t + "/key.mp", "wb").write(pk.pack(["mailtap.smtp", et, {1: 2}]))
PY
$C "$T/odd.mp" >"$T/odd.json" 2>"$T/err"
if python3 -c '
import json, sys
r = [json.loads(l) for l in open(sys.argv[1])]
want_s = "a\\x00b\\x01\x7f\t\u00e9\\xff\\xc3("
raw = open(sys.argv[1]).read().split("\n")[1]
assert r[0]["s"] == want_s, r[0]["s"]
assert r[1]["b"] == "\\xfe\\x00", r[1]["b"]
assert r[1]["d1"] == 1e-7 and r[1]["d3"] == 1700000000.123456789 and r[1]["d4"] == 0.004
assert "\"d2\":1000.0," in raw and "\"d4\":0.004}" in raw, raw
' "$T/odd.json"; then
	ok "cat: control and non-UTF-8 bytes as \\xNN, doubles in their shortest form"
else
	bad "cat odd strings and doubles: $(cat "$T/odd.json")"
fi
expect_rc 1 "cat non-string key" $C "$T/key.mp"
grep -q "a map key in the record is not a string" "$T/err" && ok "cat non-string key error" ||
	bad "cat non-string key: $(cat "$T/err")"

# malloc settings at start (docs/operations.md): three mallopt calls, none when the operator's
# GLIBC_TUNABLES sets malloc tunables. A preloaded mallopt counts them.
cat >"$T/mo.c" <<'MO'
#include <stdio.h>
#include <stdlib.h>
static int calls;
int mallopt(int param, int value)
{
	(void)param, (void)value;
	return ++calls > 0;
}
__attribute__((destructor)) static void report(void)
{
	const char *f = getenv("MALLOPT_COUNT");
	FILE *o = f ? fopen(f, "w") : NULL;

	if (o) {
		fprintf(o, "%d\n", calls);
		fclose(o);
	}
}
MO
if cc -shared -fPIC -o "$T/mo.so" "$T/mo.c" 2>"$T/err"; then
	# (a sanitizer build wants its runtime first unless told otherwise)
	export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0
	MALLOPT_COUNT=$T/n1 LD_PRELOAD=$T/mo.so $M -r $Z/zeek/traces/smtp.pcap -w /dev/null
	MALLOPT_COUNT=$T/n2 LD_PRELOAD=$T/mo.so GLIBC_TUNABLES=glibc.malloc.trim_threshold=1048576 \
		$M -r $Z/zeek/traces/smtp.pcap -w /dev/null
	[ "$(cat "$T/n1" 2>/dev/null)" = 3 ] && ok "malloc settings at start" ||
		bad "mallopt calls: $(cat "$T/n1" 2>/dev/null), wanted 3"
	[ "$(cat "$T/n2" 2>/dev/null)" = 0 ] && ok "GLIBC_TUNABLES malloc: mailtap's settings off" ||
		bad "mallopt calls with GLIBC_TUNABLES: $(cat "$T/n2" 2>/dev/null), wanted 0"
else
	bad "cannot build the mallopt counter: $(head -c 300 "$T/err")"
fi

echo "cli: $fails failure(s)"
[ $fails -eq 0 ]
