#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# mailtap-cat's command line and output, and what mailtap -w leaves when writes fail:
#  - Options in any order; -c takes a comma-separated list and the arguments after it up to
#    the next option or "--"; the input is one FILE or -r FILE (both: an error), a FILE
#    after -c only after "--"; more than 64 fields named as such; the documented forms
#    (-c uid history from standard input, -s STREAM FILE) unchanged.
#  - A failed write of the output (/dev/full) is an error (exit 2), not exit 0.
#  - An 8 MB entry of small values is printed with a few MB of memory (msgpack-c's object
#    tree took 200 MB); nesting past 64 levels is named with its byte offset, 40 levels print;
#    an entry with a string over 64 MiB is named as larger than the limit.
#  - mailtap -w under a file size limit (write() fails with EFBIG part of the way, as on a full
#    disk): exit 3, the records not written counted on stderr, and the file holds whole
#    records only, every one readable.
#  - Doubles as Zeek's JSON writer (rapidjson's Writer::Double, Prettify) prints them: fixed
#    notation for 1e-6 <= |d| < 1e21 (0.000061, 100000000000000000.0), exponents without '+'
#    or padding (1e-7, 1e22), ".0" on integral values, null for NaN and infinities.
#  - -c in Zeek's TSV forms: (empty), \x2d for "-", \x28empty) for "(empty)", Zeek doubles
#    (percent_lost) without trailing zeros, a repeated key's last value.
set -u
cd "$(dirname "$0")/../.."
. tests/suite-lib.sh
case $B in /*) ;; *) B=$PWD/$B ;; esac # the checks run in $T
M=$B/mailtap
C=$B/mailtap-cat
Z=$PWD/../shared/corpus/zeek/traces
[ -d "$Z" ] || { echo "../shared/corpus is missing"; exit 1; }
PY=/usr/bin/python3 # Debian's, with python3-msgpack
expect_rc() { # expected-rc description command... (stdin from /dev/null unless redirected)
	local want=$1 what=$2
	shift 2
	"$@" >"$T/out" 2>"$T/err"
	local rc=$?
	if [ "$rc" -eq "$want" ]; then ok "$what (exit $rc)"; else bad "$what: exit $rc, wanted $want: $(head -c 300 "$T/err")"; fi
}
has() { grep -qF -- "$1" "$T/$2" && ok "  $3" || bad "$3: $(head -c 300 "$T/$2")"; }

"$M" -r "$Z/smtp.pcap" --seed 7 -w "$T/a.mp" || bad "mailtap -r smtp.pcap"
cd "$T" || exit 1 # "-c uid a.mp": a field named like a file in the working directory
$C -s conn -c uid history <a.mp >want.tsv
[ "$(wc -l <want.tsv)" -eq 2 ] && grep -qP '^C\w+\tShAdDaTFf$' want.tsv && ok "-c uid history from stdin (documented form)" ||
	bad "-c uid history: $(cat want.tsv)"

# The same columns, however the options are ordered and the input given.
for args in "-c uid -s conn a.mp:-c uid" "-r a.mp -c uid history -s conn:" "a.mp -s conn -c uid,history:" \
	"-c uid,history -s conn -- a.mp:" "-s conn -c uid history -- a.mp:" "-c uid -s conn -c history -- a.mp:" \
	"-s conn -c uid history -:stdin" "-s conn -c uid,history a.mp:stdin"; do
	a=${args%%:*} k=${args#*:}
	# shellcheck disable=SC2086
	if [ "$k" = stdin ]; then $C $a <a.mp >got 2>err; else $C $a </dev/null >got 2>err; fi
	rc=$?
	if [ "$k" = "-c uid" ]; then cut -f1 want.tsv >w; else cp want.tsv w; fi
	if [ "$a" = "-s conn -c uid,history a.mp" ]; then # a.mp is a field
		sed 's/$/\t-/' want.tsv >w
		grep -q "'a.mp' is a field name here" err || bad "no note for $a"
	fi
	[ $rc -eq 0 ] && cmp -s got w && ok "mailtap-cat $a" || bad "mailtap-cat $a: exit $rc, $(head -c 200 got) $(head -c 200 err)"
done
$C a.mp -s conn </dev/null | head -1 | grep -q '^{"_path":"conn","ts":' && ok "an option after FILE" || bad "-s after FILE"
$C -s smtp -c uid mailfrom rcptto subject <a.mp | grep -qP '^C\w+\tgurpartap@patriots.in\traj_deol2002in@yahoo.co.in\tSMTP$' &&
	ok "the man page's example" || bad "-s smtp -c uid mailfrom rcptto subject"

# "-c uid a.mp": a.mp is a field (the list runs to an option or "--"): standard input is read,
# and a note says a.mp is a file
expect_rc 0 "-c uid a.mp reads standard input" $C -c uid a.mp
[ ! -s out ] && ok "  nothing from a.mp" || bad "-c uid a.mp printed $(head -c 100 out)"
has "'a.mp' is a field name here" err "  the note names a.mp"
if command -v script >/dev/null; then # standard input a terminal: refused, not waited on
	timeout 10 script -qec "$C -c uid a.mp" /dev/null >tty.out 2>&1
	rc=$?
	[ $rc -eq 2 ] && grep -q "standard input is a terminal" tty.out && ok "terminal input refused" ||
		bad "terminal input: exit $rc, $(head -c 200 tty.out)"
fi

expect_rc 2 "-r FILE and FILE" $C -r /dev/null a.mp
has "two inputs, '/dev/null' and 'a.mp'" err "both inputs named"
expect_rc 2 "two FILEs" $C a.mp a.mp
# shellcheck disable=SC2046
expect_rc 2 "70 fields" $C -c $(seq 70)
has "more than 64 fields" err "the 64-field limit named"
expect_rc 2 "65 fields, comma-separated" $C -c "$(seq 65 | paste -sd,)"
# shellcheck disable=SC2046
expect_rc 0 "64 fields" $C -c $(seq 64) -- a.mp
nrec=$($C a.mp | wc -l)
[ "$(wc -l <out)" -eq "$nrec" ] && ok "  one line per record ($nrec)" || bad "64 fields: $(wc -l <out) lines for $nrec records"
expect_rc 2 "-c before an option" $C -c -s conn a.mp
has "-c needs field names before '-s'" err "  said so"
expect_rc 2 "-c at the end" $C a.mp -c
expect_rc 2 "empty field name" $C -c uid,,history -- a.mp
expect_rc 2 "unknown option" $C -x a.mp
$C -h | grep -q -- '-c FIELD\[,FIELD...\] \[FIELD...\] \[-- FILE|-\]' && ok "usage shows the -c form" || bad "usage: $($C -h)"

# Write errors
if [ -w /dev/full ]; then
	expect_rc 2 "JSON to /dev/full" sh -c "'$C' a.mp >/dev/full"
	has "writing the output: No space left on device" err "  said so"
	expect_rc 2 "columns to /dev/full" sh -c "'$C' -c uid -- a.mp >/dev/full"
fi

# Large and deep entries
"$PY" - <<'PY'
import msgpack, struct
et = msgpack.ExtType(0, struct.pack('>II', 1700000000, 5))
with open('big.mp', 'wb') as f: # 8 MB: 8M nil values in one set
    f.write(msgpack.packb(['mailtap.conn', et, {'uid': 'Cbig', 'x': [None] * (8 << 20)}]))
def deep(n):
    v = 1
    for _ in range(n):
        v = [v]
    return v
for n in (40, 62, 63):  # containers: the entry, the record, n arrays
    with open('deep%d.mp' % n, 'wb') as f:
        f.write(msgpack.packb(['mailtap.conn', et, {'uid': 'C1'}]))
        f.write(msgpack.packb(['mailtap.conn', et, {'d': deep(n)}]))
PY
if [ -x /usr/bin/time ]; then
	/usr/bin/time -f %M -o big.time $C big.mp >big.json 2>big.err
	rc=$? kb=$(tail -n 1 big.time)
	n=$(grep -o null big.json | wc -l)
	# ~10 MB (ASan: ~40 MB); msgpack-c's tree alone is 24 bytes per value
	[ $rc -eq 0 ] && [ "$n" -eq $((8 << 20)) ] && [ "$kb" -lt 81920 ] &&
		ok "8 MB entry: printed whole, peak RSS $kb kB" || bad "8 MB entry: exit $rc, $n values, $kb kB, $(head -c 200 big.err)"
fi
$C -c uid x -- big.mp | grep -qP '^Cbig\tnull,null,' && ok "8 MB entry in columns" || bad "8 MB entry in columns"
expect_rc 0 "40 levels" $C deep40.mp
grep -q '"d":\[\[\[\[\[\[\[\[\[\[\[\[\[\[\[\[\[\[\[\[\[\[\[\[\[\[\[\[\[\[\[\[\[\[\[\[\[\[\[\[1\]' out && ok "  printed" || bad "40 levels: $(head -c 300 out)"
expect_rc 0 "64 levels" $C deep62.mp
expect_rc 1 "65 levels" $C deep63.mp
has "nesting deeper than 64 levels at byte offset 121 (in the entry at byte offset 32)" err "  named with its offset"
[ "$(wc -l <out)" -eq 1 ] && ok "  the entry before it printed" || bad "65 levels: $(cat out)"

# One string over the 64 MiB limit: "larger than", not "corrupt msgpack"; nothing allocated
$PY -c 'import msgpack,struct,sys;e=lambda r:msgpack.packb(["mailtap.t",msgpack.ExtType(0,struct.pack(">II",1,0)),r]);sys.stdout.buffer.write(e({"x":1})+e({"s":"A"*70000000}))' >big.mp
expect_rc 1 "a string over 64 MiB" $C big.mp
has "entry at byte offset 25 is larger than 67108864 bytes" err "  named as larger than the limit"
[ "$(wc -l <out)" -eq 1 ] && ok "  the entry before it printed" || bad "over 64 MiB: $(cat out)"
rm -f big.mp

# mailtap -w when write() fails part of the way (RLIMIT_FSIZE; SIGXFSZ ignored: EFBIG):
# the file is cut back to its last whole record, the rest counted
"$B/tools/gen_smtp_pcap" -o g.pcap -n 200 --seed 3 >/dev/null 2>&1 || bad "gen_smtp_pcap"
$M -r g.pcap --seed 1 -w full.mp || bad "mailtap -w full.mp"
total=$($C full.mp | wc -l)
(
	ulimit -f 280 # KiB: the first 256 KiB buffer fits, the second (~40 KiB) does not
	trap '' XFSZ
	exec "$M" -r g.pcap --seed 1 -w lim.mp
) 2>lim.err
rc=$?
lost=$(sed -n 's/.*lim.mp: \([0-9]*\) of \([0-9]*\) records not written.*/\1 \2/p' lim.err)
$C lim.mp >lim.json 2>cat.err
crc=$?
got=$(wc -l <lim.json)
[ $rc -eq 3 ] && ok "mailtap -w over the size limit: exit 3" || bad "size limit: exit $rc: $(cat lim.err)"
[ "$crc" -eq 0 ] && [ "$got" -gt 0 ] && [ "$(stat -c %s lim.mp)" -le $((280 * 1024)) ] &&
	ok "  the file reads whole: $got records" || bad "size limit: mailtap-cat exit $crc, $got records: $(cat cat.err)"
[ -n "$lost" ] && [ "${lost#* }" -eq "$total" ] && [ $((got + ${lost% *})) -eq "$total" ] &&
	ok "  $got written + ${lost% *} counted lost = $total" || bad "size limit: lost '$lost', $got written, $total in all: $(cat lim.err)"
cmp -s lim.mp <(head -c "$(stat -c %s lim.mp)" full.mp) && ok "  the same bytes as a complete run's start" ||
	bad "size limit: lim.mp is not a prefix of full.mp"

# -c as Zeek's TSV writer (Ascii formatter): "(empty)" for an empty string or set element, "-"
# and "(empty)" values escaped (\x2d, \x28empty)), ',' in a set element and DEL as \xNN, a Zeek
# double (percent_lost) without trailing zeros and with ".0" when integral, times with 6
# decimals; a repeated key: the last value, as JSON readers take it
$PY - >tsv.mp <<'PYEOF' || bad "writing tsv.mp"
import msgpack, struct, sys
et = msgpack.ExtType(0, struct.pack(">II", 1, 0))
w = lambda r: sys.stdout.buffer.write(msgpack.packb(["mailtap.t", et, r]))
w({"e": "", "dash": "-", "emp": "(empty)", "s": "a\x7fb", "arr": ["a", "", "b,c", "-"], "none": [],
   "percent_lost": 0.5, "ts": 1254722770.5})
for v in (12.0, 0.000061, 100.0 / 3, 0.0):
    w({"percent_lost": v, "ts": v})
sys.stdout.buffer.write(b"\x93\xa9mailtap.t\xd7\x00" + struct.pack(">II", 1, 0) + b"\x82\xa1k\x01\xa1k\x02")
PYEOF
printf '%s\n' '(empty)	\x2d	\x28empty)	a\x7fb	a,(empty),b\x2cc,\x2d	(empty)	0.5	1254722770.500000	-' \
	'-	-	-	-	-	-	12.0	12.000000	-' '-	-	-	-	-	-	0.000061	0.000061	-' \
	'-	-	-	-	-	-	33.333333	33.333333	-' '-	-	-	-	-	-	0.0	0.000000	-' \
	'-	-	-	-	-	-	-	-	2' >tsv.want
$C -c e dash emp s arr none percent_lost ts k -- tsv.mp >tsv.got
cmp -s tsv.got tsv.want && ok "-c in Zeek's TSV forms" || bad "-c TSV forms: $(diff tsv.want tsv.got | cat -A | head -20 | tr '\n' ' ')"

# Doubles as rapidjson's Writer::Double writes them (Zeek's JSON): value, then the text wanted
$PY - >dbl.mp <<'PYEOF' || bad "writing dbl.mp"
import math, msgpack, struct, sys
vals = [0.0, -0.0, 6.1e-05, -6.1e-05, 1e-06, 1.234e-06, 9.9e-07, 1e-07, 0.1, 1.5, 100.0, 1e15, 1e16,
        1e17, 1.234e20, math.nextafter(1e21, 0), 1e21, 1e22, 123456789012345678.0, 1254722770.692743,
        1700000000.1234567, 2.5e-300, 5e-324, 1.7976931348623157e308, -1.5e300,
        float("nan"), float("inf"), float("-inf")]
for v in vals:
    sys.stdout.buffer.write(msgpack.packb(["mailtap.t", msgpack.ExtType(0, struct.pack(">II", 1, 0)), {"d": v}]))
PYEOF
cat >dbl.want <<'EOF2'
0.0
-0.0
0.000061
-0.000061
0.000001
0.000001234
9.9e-7
1e-7
0.1
1.5
100.0
1000000000000000.0
10000000000000000.0
100000000000000000.0
123400000000000000000.0
999999999999999900000.0
1e21
1e22
123456789012345680.0
1254722770.692743
1700000000.1234567
2.5e-300
5e-324
1.7976931348623157e308
-1.5e300
null
null
null
EOF2
$C dbl.mp | sed 's/^{"_path":"t","d":\(.*\)}$/\1/' >dbl.got
if cmp -s dbl.got dbl.want; then ok "doubles as rapidjson's Writer::Double ($(wc -l <dbl.want) values)"; else
	bad "doubles: $(diff dbl.want dbl.got | head -20 | tr '\n' ' ')"; fi

echo "cat: $fails failure(s)"
[ $fails -eq 0 ]
