#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Command-line contract and bad input: clear messages, non-zero exits, records kept.
set -u
cd "$(dirname "$0")/../.."
B=${BUILD:-build}
M=$B/mailtap
C=$B/mailtap-cat
Z=$(realpath -m ../shared/corpus)
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
expect_rc 1 "bad filter: a usage error" $M -r $Z/zeek/traces/smtp.pcap -f "tcp port" -w "$T/x"
grep -q "bad filter expression 'tcp port'" "$T/err" && ok "bad filter named" || bad "bad filter: $(cat "$T/err")"
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
# --ports: nothing on 9999 (but the capture_loss measurements of intervals without ACKs and
# their CaptureLoss::Too_Little_Traffic notices: the capture spans years, and one is pending
# at the end)
n=$($M -r $Z/zeek/traces/smtp.pcap --ports 9999 | $C | grep -vc '"_path":"capture_loss"\|"note":"CaptureLoss::Too_Little_Traffic"')
cl=$($M -r $Z/zeek/traces/smtp.pcap --ports 9999 | $C -s capture_loss | grep -c '"acks":0,')
[ "$n" -eq 0 ] && [ "$cl" -eq 2 ] && ok "--ports" || bad "--ports 9999 gave $n records ($cl capture_loss)"

# expect_err RC WHAT TEXT command...: the exit status and a message that says TEXT.
expect_err() {
	local want=$1 what=$2 text=$3
	shift 3
	expect_rc "$want" "$what" "$@"
	grep -qF -- "$text" "$T/err" && ok "$what: says '$text'" || bad "$what: message '$(head -c 300 "$T/err")', wanted '$text'"
}
S=$Z/zeek/traces/smtp.pcap
AM=$(realpath "$M")

# An output that is the input is refused before anything is truncated (-w opens with
# O_TRUNC); so is the same output twice. The input is opened first: a bad -f or a missing
# capture leaves an existing -w file as it was.
cp "$S" "$T/v.pcap"
expect_err 1 "-w = -r" "is the capture -r" $M -r "$T/v.pcap" -w "$T/v.pcap"
cmp -s "$S" "$T/v.pcap" && ok "-w = -r: the capture is intact" || bad "-w = -r emptied the capture ($(stat -c %s "$T/v.pcap") bytes)"
expect_err 1 "-w - = -r - (one file)" "is the capture -r" sh -c "$AM -r - -w - <'$T/v.pcap' 1<>'$T/v.pcap'"
cmp -s "$S" "$T/v.pcap" && ok "-r - and -w - on one file: intact" || bad "-r -/-w - emptied the capture"
ln -sf v.pcap "$T/link.pcap"
expect_err 1 "-w through a symlink to -r" "is the capture -r" $M -r "$T/link.pcap" -w "$T/v.pcap"
echo keep >"$T/keep.mp"
expect_rc 1 "bad filter: -w file untouched" $M -r "$S" -f "tcp port" -w "$T/keep.mp"
[ "$(cat "$T/keep.mp")" = keep ] && ok "bad filter: -w file kept" || bad "bad filter truncated the -w file"
expect_rc 2 "missing capture: -w file untouched" $M -r "$T/nope.pcap" -w "$T/keep.mp"
[ "$(cat "$T/keep.mp")" = keep ] && ok "missing capture: -w file kept" || bad "missing capture truncated the -w file"
expect_err 1 "-w - twice" "given twice" $M -r "$S" -w - -w -
expect_err 1 "-w FILE twice" "given twice" $M -r "$S" -w "$T/d1.mp" -w "$T/d1.mp"
expect_err 1 "-w FILE and ./FILE (new)" "are the same file" sh -c "cd '$T' && $AM -r '$S' -w d2.mp -w ./d2.mp"
[ ! -e "$T/d2.mp" ] && ok "-w FILE and ./FILE: nothing written" || bad "-w FILE and ./FILE: a file was made"
: >"$T/d3.mp"
ln -sf d3.mp "$T/d3link.mp"
expect_err 1 "-w FILE and a symlink to it" "are the same file" $M -r "$S" -w "$T/d3.mp" -w "$T/d3link.mp"
expect_err 1 "-w /dev/stdout and -w - (one pipe)" "are the same file" bash -o pipefail -c "$AM -r '$S' -w /dev/stdout -w - | cat >/dev/null"
expect_rc 0 "-w two files" $M -r "$S" --seed 7 -w "$T/two1.mp" -w "$T/two2.mp"
cmp -s "$T/two1.mp" "$T/two2.mp" && ok "-w two files: the same records" || bad "-w two files differ"
expect_err 1 "-o twice" "given twice" $M -r "$S" -o forward:unix:"$T/s.sock" -o forward:unix:"$T/s.sock"
# -w is a file whatever its name: forward:... there is not an output spec
(cd "$T" && $AM -r "$S" --seed 7 -w forward:tcp:127.0.0.1:1) 2>"$T/err"
cmp -s "$T/forward:tcp:127.0.0.1:1" "$T/two1.mp" && ok "-w forward:tcp:...: a file of that name" || bad "-w forward:...: $(cat "$T/err")"

# Numbers: decimal digits only (strtoull's base 0 took octal, hex, blanks and signs).
[ "$($M -r "$S" --ports 025 | $C -s conn | wc -l)" -eq 2 ] && ok "--ports 025 is port 25 (not octal 21)" || bad "--ports 025"
expect_err 1 "--seed ' -1'" "invalid value ' -1' for --seed" $M -r "$S" --seed " -1"
expect_err 1 "--seed 0x10" "invalid value '0x10' for --seed" $M -r "$S" --seed 0x10
expect_err 1 "--max-flows +5" "for --max-flows" $M -r "$S" --max-flows +5
expect_err 1 "--seed 2^64" "for --seed" $M -r "$S" --seed 18446744073709551616
expect_err 1 "--ports ''" "invalid --ports ''" $M -r "$S" --ports ""
expect_err 1 "--ports 25," "an empty item" $M -r "$S" --ports 25,
for n in "10.0.0.0/" "10.0.0.0/ 16" "10.0.0.0/+8" "10.0.0.0/0x8"; do
	expect_err 1 "--local-nets '$n'" "invalid --local-nets" $M -r "$S" --local-nets "$n"
done
[ "$($M -r "$S" --no-private-local --local-nets 10.0.0.0/8 | $C -s conn -c local_orig | tr -d '\n')" = TF ] &&
	ok "--local-nets 10.0.0.0/8: 10.10.1.4 local, 192.168.133.100 not" || bad "--local-nets 10.0.0.0/8"

# Caps where 0 meant no limit are 1 at least; divided among workers, each gets 1 at least.
expect_err 1 "--reasm-max-total-bytes 0" "1..18446744073709551615" $M -r "$S" --reasm-max-total-bytes 0
expect_rc 1 "--reasm-max-ooo-bytes 0" $M -r "$S" --reasm-max-ooo-bytes 0
expect_rc 1 "--reasm-max-segments 0" $M -r "$S" --reasm-max-segments 0
expect_err 1 "--smtp-max-rcptto 0" "for --smtp-max-rcptto" $M -r "$S" --smtp-max-rcptto 0
memcap() { $M -r "$S" --reasm-max-total-bytes 3 --stats-interval 1 "$@" | $C -s stats | tail -n 1 | grep -o '"reasm_memcap_hits":[0-9]*' | cut -d: -f2; }
m1=$(memcap) m4=$(memcap --workers 4)
[ "${m1:-0}" -gt 0 ] && [ "$m1" = "$m4" ] && ok "--reasm-max-total-bytes 3 with --workers 4: 1 byte each, $m4 memcap hits as with one worker" ||
	bad "--reasm-max-total-bytes 3: memcap hits $m1 with one worker, $m4 with 4"

# --stats-interval with -r: stats records by network time, as Zeek's stats.zeek schedules
# them: the first at the first packet (counting it, as Zeek's check_stats runs after the
# packet it is due at), then one when the capture's
# time has moved on by the interval, the last at the end, at the last packet's time. The
# per-interval counts add up to the totals, and worker threads give the same records.
stats_ts() { $M -r "$S" --stats-interval 1 "$@" | $C -s stats -c ts,pkts_proc,pkts_proc_total,tcp_conns,flows_created; }
s1=$(stats_ts) s2=$(stats_ts --workers 2)
if r=$(python3 - "$S" "$s1" <<'EOF2'
import struct, sys
b = open(sys.argv[1], "rb").read()
e = "<" if b[:4] == b"\xd4\xc3\xb2\xa1" else ">"
ts, o = [], 24
while o + 16 <= len(b):
    sec, usec, incl = struct.unpack_from(e + "III", b, o)
    ts.append(sec + usec / 1e6)
    o += 16 + incl
rows = [l.split("\t") for l in sys.argv[2].splitlines()]
t = [float(r[0]) for r in rows]
assert abs(t[0] - ts[0]) < 1e-6 and int(rows[0][1]) == 1, ("first", rows[0], ts[0])
assert abs(t[-1] - ts[-1]) < 1e-6, ("last", rows[-1], ts[-1])
assert sum(int(r[1]) for r in rows) == int(rows[-1][2]) == len(ts), "pkts_proc"
assert sum(int(r[3]) for r in rows) == int(rows[-1][4]), "tcp_conns"
for a, x in zip(t, t[1:-1]):
    assert x - a >= 1, ("interval", a, x)
print(len(rows))
EOF2
); then
	[ "$s1" = "$s2" ] && ok "--stats-interval 1 -r: $r stats records by network time, counts adding up, the same with --workers 2" ||
		bad "--stats-interval 1 -r: the records differ with --workers 2"
else
	bad "--stats-interval 1 -r: $r"
fi
# pcapng stamps near 2^64 ns: the next stats and capture_loss times stop at the largest
# value instead of wrapping round to a time every later packet would reach
python3 - "$T/far.pcapng" <<'EOF2'
import struct, sys
def blk(t, body):
    body += b"\0" * (-len(body) % 4)
    return struct.pack("<II", t, len(body) + 12) + body + struct.pack("<I", len(body) + 12)
out = blk(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
out += blk(1, struct.pack("<HHI", 1, 0, 65535))
frame = bytes(12) + b"\x08\x06" + bytes(28)  # ARP-sized, not IP
for i in range(50):
    ts = 18446744073000000 + i * 120 * 1000000  # microseconds, 2 minutes apart
    out += blk(6, struct.pack("<IIIII", 0, ts >> 32, ts & 0xffffffff, len(frame), len(frame)) + frame)
open(sys.argv[1], "wb").write(out)
EOF2
nfar=$($M -r "$T/far.pcapng" --stats-interval 60 --capture-loss-interval 60 | $C | grep -c '"_path":"\(stats\|capture_loss\)"')
[ "$nfar" -le 4 ] && ok "stamps near 2^64 ns: $nfar stats and capture_loss records for 50 packets" ||
	bad "stamps near 2^64 ns: $nfar stats and capture_loss records for 50 packets (timers wrapped)"

# Options a run would not use are refused, naming the option. (timeout: were one taken, the
# live capture on lo would run until stopped.)
# -f with -i is taken (50-xdp-live-vs-offline and 51-xdp-capture-threads apply it live); a bad expression is
# refused before the interface is touched, as with -r, and an existing -w file stays as it was
echo keep >"$T/keep.mp"
expect_err 1 "bad -f with -i" "bad filter expression 'tcp port' (-f)" timeout 20 $M -i lo -f "tcp port" -w "$T/keep.mp"
[ "$(cat "$T/keep.mp")" = keep ] && ok "bad -f with -i: the -w file is untouched" || bad "bad -f with -i: the -w file changed"
expect_err 1 "--capture with -r" "--capture needs live capture (-i IFACE)" $M -r "$S" --capture host
expect_err 1 "--xdp-mode with -r" "--xdp-mode needs live capture" $M -r "$S" --xdp-mode native
expect_err 1 "--queues with -r" "--queues needs live capture" $M -r "$S" --queues 4
expect_err 1 "--pinned with -r" "--pinned needs live capture" $M -r "$S" --pinned /x
expect_err 1 "--queues in host mode" "--queues is for mirror mode" timeout 20 $M -i lo --capture host --queues 2
expect_err 1 "--rx-nap in host mode" "--rx-nap is for mirror mode" timeout 20 $M -i lo --capture host --rx-nap 50
expect_err 1 "--rx-nap out of range" "invalid value '10001' for --rx-nap" timeout 20 $M -i lo --rx-nap 10001
expect_err 1 "--snaplen in mirror mode" "--snaplen is for --capture host" timeout 20 $M -i lo --snaplen 128
expect_err 1 "--spool without -o" "--spool is for Forward outputs" $M -r "$S" --spool "$T/sp"
expect_err 1 "--forward-tls-ca without -o" "--forward-tls-ca is for" $M -r "$S" --forward-tls-ca /etc/ssl/certs/ca-certificates.crt
expect_err 1 "--forward-tls-ca with forward:unix:" "--forward-tls-ca is for forward:tls:" $M -r "$S" -o forward:unix:"$T/s.sock" --forward-tls-ca /etc/ssl/certs/ca-certificates.crt
expect_err 1 "-r twice" "-r given twice" $M -r "$S" -r "$S"
expect_err 1 "-i twice" "-i given twice" timeout 20 $M -i lo -i lo
expect_err 1 "--spool with two Forward outputs" "serves one Forward output" $M -r "$S" --spool "$T/sp" -o forward:unix:"$T/a.sock" -o forward:unix:"$T/b.sock"
[ ! -e "$T/sp" ] && ok "--spool with two outputs: refused before the spool is made" || bad "--spool with two outputs made the spool"

# Messages name the option and say why.
expect_rc 0 "--hashes longer than 63 bytes" $M -r "$S" --hashes md5,sha1,sha256,md5,sha1,sha256,md5,sha1,sha256,md5,sha1,sha256,none -w /dev/null
expect_err 1 "--smtp-max-to x" "invalid value 'x' for --smtp-max-to" $M -r "$S" --smtp-max-to x
expect_err 1 "--log-max-total-string-bytes x" "for --log-max-total-string-bytes" $M -r "$S" --log-max-total-string-bytes x
expect_err 1 "--rfc822-msg-hashes bogus" "unknown hash 'bogus' in --rfc822-msg-hashes" $M -r "$S" --rfc822-msg-hashes md5,bogus
expect_err 1 "--ssl-ca-file DIR" "--ssl-ca-file $T: Is a directory" $M -r "$S" --ssl-ca-file "$T"
echo "no certificate" >"$T/nocert.pem"
expect_err 1 "--ssl-ca-file without certificates" "no PEM certificate in it" $M -r "$S" --ssl-ca-file "$T/nocert.pem"
expect_err 1 "-i with a 16-byte name" "is longer than 15 bytes" timeout 20 $M -i abcdefghijklmnop -w /dev/null
mkdir -p "$T/intel.d"
expect_rc 1 "--intel-file DIR" $M -r "$S" --intel-file "$T/intel.d"
grep -q "$T/intel.d.*[Ii]s a directory" "$T/err" && ok "--intel-file DIR: says it is a directory" || bad "--intel-file DIR: $(cat "$T/err")"

# --extract-dir is checked at start, as the user mailtap runs as.
expect_err 1 "--extract-dir missing" "--extract-dir $T/nodir: No such file or directory" $M -r "$S" --extract-dir "$T/nodir" -w /dev/null
expect_err 1 "--extract-dir a file" "Not a directory" $M -r "$S" --extract-dir "$S" -w /dev/null
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
	mkdir -p "$T/xroot" && chmod 755 "$T/xroot" "$T"
	expect_err 1 "--extract-dir not writable by --user" "cannot create files there as user nobody" $M -r "$S" --user nobody --extract-dir "$T/xroot" -w /dev/null
	chmod 1777 "$T/xroot"
	expect_rc 0 "--extract-dir writable by --user" $M -r "$S" --user nobody --extract-dir "$T/xroot" -w /dev/null
fi

# Descriptors: each file being extracted holds one. 200 sessions whose 400 attachments are
# all open at once need more than a soft limit of 64: mailtap raises the soft limit to the
# hard one at start, so every file is extracted; with the hard limit at 64 too it cannot, and
# the files past the limit are not extracted (one message; files_extract_errors): this is
# what the check tells apart.
if $B/tools/gen_smtp_pcap -o "$T/conc.pcap" -n 200 -c 200 -a 3000 --mix attach=100 --seed 3 >/dev/null 2>&1; then
	for lim in 4096 64; do
		rm -rf "$T/xn"; mkdir "$T/xn"
		(ulimit -Sn 64 && ulimit -Hn $lim && exec $M -r "$T/conc.pcap" --extract-dir "$T/xn" -w "$T/xn.mp") 2>"$T/err.$lim"
		echo "$? $(ls "$T/xn" | wc -l) $($C -s files "$T/xn.mp" | grep -c '"extracted":')" >"$T/xn.$lim"
	done
	[ "$(cat "$T/xn.4096")" = "0 400 400" ] && [ ! -s "$T/err.4096" ] &&
		ok "soft descriptor limit 64 raised to the hard one: 400 files extracted" ||
		bad "descriptor limit raise: exit, files, records with extracted: $(cat "$T/xn.4096") $(head -c 300 "$T/err.4096")"
	read -r rc nx nr <"$T/xn.64"
	[ "$rc" = 0 ] && [ "$nx" -lt 400 ] && [ "$nx" = "$nr" ] && grep -q "Too many open files (reported once" "$T/err.64" &&
		ok "hard descriptor limit 64: $nx files extracted, the rest reported once" ||
		bad "hard descriptor limit 64: exit, files, records with extracted: $(cat "$T/xn.64") $(head -c 300 "$T/err.64")"
else
	bad "gen_smtp_pcap for the descriptor check failed"
fi

# A -w file over the file size limit: EFBIG reported, exit 3 (SIGXFSZ would kill mailtap).
(ulimit -f 2; exec $M -r "$S" -w "$T/fs.mp") 2>"$T/err"
rc=$?
[ $rc -eq 3 ] && grep -q "File too large" "$T/err" && ok "-w over ulimit -f: exit 3, EFBIG reported" || bad "-w over ulimit -f: exit $rc: $(cat "$T/err")"

# Input errors: every record counts in the packet number (-f's refused ones too), the byte
# offset is where libpcap is in the stream (pcapng too, uncompressed for gzip).
head -c 9000 "$S" >"$T/tr.pcap"
$M -r "$T/tr.pcap" -w /dev/null 2>"$T/e1"
$M -r "$T/tr.pcap" -f "tcp port 9999" -w /dev/null 2>"$T/e2"
grep -q "after packet 26 (byte offset 8964)" "$T/e1" && ok "truncated pcap: packet 26, offset 8964" || bad "truncated pcap: $(cat "$T/e1")"
cmp -s "$T/e1" "$T/e2" && ok "-f leaves the packet number as it is" || bad "with -f: $(cat "$T/e2")"
gzip -c "$T/tr.pcap" >"$T/tr.pcap.gz"
$M -r "$T/tr.pcap.gz" -w /dev/null 2>"$T/e3"
grep -q "after packet 26 (byte offset 8964 in the uncompressed data)" "$T/e3" && ok "truncated gzip: uncompressed offset" || bad "truncated gzip: $(cat "$T/e3")"
# a link type decode does not read (147, USER0): exit 2 at once, named
python3 -c 'import struct, sys; sys.stdout.buffer.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 147) + struct.pack("<IIII", 1, 0, 4, 4) + b"abcd")' >"$T/lt147.pcap"
$M -r "$T/lt147.pcap" -w "$T/lt.mp" 2>"$T/e5"
rc=$?
[ $rc -eq 2 ] && grep -q "link type 147 (.*) is not one mailtap decodes" "$T/e5" && ok "link type 147: exit 2, named" ||
	bad "link type 147: exit $rc, $(cat "$T/e5")"
# a gzip capture cut off where a record ends (its trailer missing): truncated too, exit 2
gzip -c "$S" | head -c -8 >"$T/cut.pcap.gz"
$M -r "$T/cut.pcap.gz" -w /dev/null 2>"$T/e4"
rc=$?
[ $rc -eq 2 ] && grep -q "the gzip stream ends before its end" "$T/e4" && ok "gzip without its end: exit 2, said" ||
	bad "gzip without its end: exit $rc, $(cat "$T/e4")"
if command -v editcap >/dev/null; then
	editcap -F pcapng "$S" "$T/ng.pcapng"
	# the end of the 5th packet block; cut 20 bytes into the next block
	end=$(python3 -c '
import struct, sys
d = open(sys.argv[1], "rb").read()
off, n = 0, 0
while off < len(d):
    t, l = struct.unpack_from("<II", d, off)
    off += l
    n += t in (2, 3, 6)
    if n == 5:
        break
print(off)' "$T/ng.pcapng")
	head -c $((end + 20)) "$T/ng.pcapng" >"$T/ng5.pcapng"
	$M -r "$T/ng5.pcapng" -f "tcp port 9999" -w /dev/null 2>"$T/e4"
	grep -q "after packet 5 (byte offset $end)" "$T/e4" && ok "truncated pcapng (with -f): packet 5, offset $end" || bad "truncated pcapng, wanted offset $end: $(cat "$T/e4")"
fi

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
want_s = "a\\x00b\\x01\\x7f\t\\xc3\\xa9\\xff\\xc3("  # all escaped, as json_escape_utf8
raw = open(sys.argv[1]).read().split("\n")[1]
assert r[0]["s"] == want_s, r[0]["s"]
assert r[1]["b"] == "\\xfe\\x00", r[1]["b"]
assert r[1]["d1"] == 1e-7 and r[1]["d3"] == 1700000000.123456789 and r[1]["d4"] == 0.004
assert "\"d1\":1e-7," in raw and "\"d2\":1000.0," in raw and "\"d4\":0.004}" in raw, raw
' "$T/odd.json"; then
	ok "cat: a string with control or non-UTF-8 bytes all \\xNN, doubles in their shortest form"
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
