#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# --workers N gives the same records as one worker (as sets: the order across workers and
# the random ids differ), on every SMTP capture of the corpus and on a generated capture
# with 500 interleaved sessions, on captures with fragmented segments (overlapping ones too),
# and from a pipe. The weirds the shared weird.zeek sets hold back, once as with one worker
# (scapy captures); the peaks of the stats record, the largest worker's. A truncated file:
# the same records as one worker up to the cut, one message, exit 2. Then under
# ThreadSanitizer (make SANITIZE=thread, in $TSAN_BUILD, default build-tsan): test_workers
# (concurrent producers, the fragment counters read while a capture thread steers),
# test_intel (the intel store replaced while two threads look up in it) and --workers 3 on
# the generated capture and the weird captures, which must report no race and give the same
# records.
set -u
cd "$(dirname "$0")/../.."
B=${BUILD:-build}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
# x509, known_certs and software records: the workers share the tables that log them once
# (as a Zeek cluster does), so there are as many as with one worker, but which connection
# shows a certificate or client first depends on the workers' order: compared without ts (and
# known_certs without the port of the sighting), as many as one worker's. Notices: one
# suppression table, the same question: compared by what identifies them (note, msg, sub,
# server and port). Weirds held back by weird.zeek's sets (shared too): by what holds them
# back, the name and (per originator) the source or (flow weirds) the address pair.
canon() { # msgpack file -> sorted JSON records without the random ids
	"$B/mailtap-cat" "$1" | python3 -c '
import sys, json
ids = ("uid", "fuid", "fuids", "parent_fuid")
per_orig = ("SYN_with_data", "connection_originator_SYN_ack", "SYN_after_partial",
            "fragment_overlap", "fragment_inconsistency", "fragment_size_inconsistency",
            "excessively_small_fragment")
rows, certs = [], set()
for l in sys.stdin:
    w = json.loads(l)
    r = {k: v for k, v in w.items() if k not in ids}
    if r.get("_path") == "capture_loss" or r.get("note", "").startswith("CaptureLoss::"):
        continue  # the counters of the workers as of the moment of the measurement
    if r.get("_path") == "weird" and (r["name"] in per_orig or "uid" not in w):
        key = ["name"] + (["id.orig_h"] if r["name"] in per_orig else ["id.orig_h", "id.resp_h"])
        rows.append(json.dumps({k: r[k] for k in key if k in r}, sort_keys=True))
    elif r.get("_path") in ("x509", "known_certs", "software", "known_hosts", "known_services"):
        r.pop("ts", None)
        r.pop("port_num", None)
        rows.append(json.dumps(r, sort_keys=True))
    elif r.get("_path") == "notice":
        certs.add(json.dumps([r.get(k) for k in ("note", "msg", "sub", "dst", "p")]))
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

# IP fragments: only a datagram's first fragment carries the ports that choose the worker.
# Every data segment cut into 200-byte fragments (the SYNs are not), in order and reversed
# (the later fragments come first: held until the first, fragsteer.h), and reversed with
# overlapping fragments (fragment_overlap: once per source address, one per worker before
# the workers shared the weird sets), into 3 workers: the records of one worker.
"$B/tools/gen_smtp_pcap" -o "$T/g50.pcap" -n 50 -c 10 -a 3000 --seed 3 2>/dev/null
for order in "" --reverse "--reverse --overlap"; do
	/usr/bin/python3 tests/fragment_pcap.py "$T/g50.pcap" "$T/frag.pcap" --size 200 $order >/dev/null ||
		{ echo "FAIL fragment_pcap.py"; exit 1; }
	"$B/mailtap" -r "$T/frag.pcap" --seed 1 -w "$T/1.mp" 2>/dev/null
	canon "$T/1.mp" >"$T/1.txt"
	[ "$(grep -c '"_path": "smtp"' "$T/1.txt")" -ge 45 ] || { echo "FAIL fragmented capture: too few smtp records"; exit 1; }
	"$B/mailtap" -r "$T/frag.pcap" --seed 1 --workers 3 -w "$T/3.mp" --stats-interval 3600 2>/dev/null
	canon "$T/3.mp" | grep -v '"_path": "stats"' >"$T/3.txt"
	if ! cmp -s "$T/1.txt" "$T/3.txt"; then
		echo "FAIL fragments ${order:-in order}: records differ with 3 workers"
		diff "$T/1.txt" "$T/3.txt" | head -4 | cut -c1-300
		exit 1
	fi
	held=$("$B/mailtap-cat" -s stats "$T/3.mp" | python3 -c 'import sys, json; r = json.loads(sys.stdin.readlines()[-1]); print(r["workers_frags_steered"], r["workers_frags_held"], r["workers_frags_unported"], r["decode_ip_fragment"], r["workers_enqueued"], r["pkts_proc_total"])')
	ov=$(grep -c '"name": "fragment_overlap"' "$T/3.txt")
	echo "fragments ${order:-in order}: same records with 3 workers ($ov fragment_overlap; steered, held, unported, decode_ip_fragment, enqueued, pkts_proc_total: $held)"
	set -- $held
	[ "$1" -gt 500 ] && [ "$3" = 0 ] && [ "$1" = "$4" ] && [ "$5" = "$6" ] || { echo "FAIL fragment counters"; exit 1; }
	if [ -n "$order" ]; then [ "$2" -gt 0 ]; else [ "$2" = 0 ]; fi || { echo "FAIL fragments held: $2"; exit 1; }
	case $order in
	*overlap*) [ "$ov" -gt 0 ] || { echo "FAIL no fragment_overlap"; exit 1; } ;;
	esac
done

# Network time never goes back, and a worker's is its reader's: a SYN stamped 4 s later than
# the 6 SMTP sessions that follow it (a merged capture; less than every TCP timeout, so no
# timer fires in between). One engine stamps the smtp, files and weird records of the
# sessions with the SYN's time (Zeek's network_time()); so do 3 workers, whose sessions
# mostly went to another worker than the SYN (with each worker's own latest packet time as
# its network time they had their own times).
PYTHONPATH=tests /usr/bin/python3 - "$T" <<'EOF2' || { echo "FAIL scapy capture (network time)"; exit 1; }
import sys
from scapy.all import Ether, IP, TCP, wrpcap
from tcp_session import TcpSession
d, t0 = sys.argv[1], 1700000000.0
syn = Ether() / IP(src="10.9.9.9", dst="10.0.0.2") / TCP(sport=41000, dport=25, flags="S", seq=1)
syn.time = t0 + 4
pk = [syn]
for i in range(6):
    s = TcpSession(pk, "10.0.0.1", 40000 + i, "10.0.0.2", 25, t0=t0 + i / 10)
    s.handshake(); s.srv(b"220 mx\r\n"); s.cli(b"EHLO a\r\n"); s.srv(b"250 ok\r\n")
    s.cli(b"MAIL FROM:<a@b>\r\n"); s.srv(b"250 ok\r\n"); s.cli(b"RCPT TO:<c@d>\r\n")
    s.srv(b"250 ok\r\n"); s.cli(b"DATA\r\n"); s.srv(b"354 go\r\n")
    s.cli(b"Subject: x\r\n\r\nhello\n world\r\n.\r\n"); s.srv(b"250 ok\r\n"); s.close()
wrpcap(d + "/back.pcap", pk)
EOF2
for w in 1 3; do
	"$B/mailtap" -r "$T/back.pcap" --seed 1 --workers $w -w "$T/b$w.mp" 2>/dev/null
	canon "$T/b$w.mp" >"$T/b$w.txt"
	got=$(grep -E '"_path": "(smtp|files|weird)"' "$T/b$w.txt" | grep -cE '"ts": 1700000004.0[,}]')
	all=$(grep -cE '"_path": "(smtp|files|weird)"' "$T/b$w.txt")
	[ "$all" = 18 ] && [ "$got" = 18 ] ||
		{ echo "FAIL network time, $w workers: $got of $all smtp, files and weird records at the SYN's time"; exit 1; }
done
cmp -s "$T/b1.txt" "$T/b3.txt" || { echo "FAIL network time: records differ with 3 workers"; diff "$T/b1.txt" "$T/b3.txt" | head -4 | cut -c1-300; exit 1; }
echo "network time: smtp, files and weird records of sessions older than a packet before them at its time, with 1 and 3 workers"

# The weird.zeek sets are one pair for all workers: each weird below is written once with 1, 2
# or 3 workers, as with one (they were written once per worker). One originator's 12
# connections with data on the SYN (SYN_with_data: did_log, once per originator a day); 8 TLS
# connections, 10 s apart, whose certificates do not parse (x509_cert_parse_error: a file
# weird, weird_ignore[name, ""], once per name every ten minutes). And the stats record's
# peaks, the largest worker's (summed, they said 2 or 3 times one engine's): 8 connections
# 400 s apart, each with a greeting and gone before the next (flows_peak 1; reasm_bytes_peak
# one connection's).
PYTHONPATH=tests /usr/bin/python3 - "$T" <<'EOF2' || { echo "FAIL scapy captures"; exit 1; }
import struct, sys
from scapy.all import Ether, IP, TCP, Raw, wrpcap
from tcp_session import TcpSession
d, pk, t = sys.argv[1], [], 1700000000.0
for i in range(12):
    s = Ether() / IP(src="10.1.1.1", dst="10.2.2.2") / TCP(sport=40000 + i, dport=25, flags="S",
                                                          seq=1000) / Raw(b"hello")
    sa = Ether() / IP(src="10.2.2.2", dst="10.1.1.1") / TCP(sport=25, dport=40000 + i,
                                                           flags="SA", seq=5000, ack=1001)
    s.time, sa.time = t, t + 0.01
    pk += [s, sa]
    t += 0.02
wrpcap(d + "/synd.pcap", pk)
def rec(ct, body): return struct.pack("!BHH", ct, 0x0303, len(body)) + body
def hs(ht, body): return bytes([ht]) + len(body).to_bytes(3, "big") + body
ch = hs(1, b"\x03\x03" + bytes(32) + b"\x00" + b"\x00\x02\x00\x2f" + b"\x01\x00" + b"\x00\x00")
sh = hs(2, b"\x03\x03" + bytes(range(32)) + b"\x00" + b"\x00\x2f" + b"\x00" + b"\x00\x00")
pk = []
for i in range(8):
    cert = b"\x30\x82\x01\x00" + bytes((i * 7 + k) & 0xff for k in range(256))  # no DER
    certs = len(cert).to_bytes(3, "big") + cert
    x = TcpSession(pk, "8.8.4.4", 40000 + 1000 * i, "192.168.1.1", 465, t0=t + 10 * i)
    x.handshake()
    x.cli(rec(22, ch))
    x.srv(rec(22, sh + hs(11, len(certs).to_bytes(3, "big") + certs) + hs(14, b"")))
    x.close()
wrpcap(d + "/x509w.pcap", pk)
pk = []
for i in range(8):
    x = TcpSession(pk, "8.8.4.4", 41000 + i, "192.168.1.1", 25, t0=t + 400 * i)
    x.handshake()
    x.srv(b"220 mx ESMTP\r\n")
    x.seg("8.8.4.4", flags="R")
wrpcap(d + "/peak.pcap", pk)
EOF2
peaks() { # flows_peak, reasm_bytes_peak of the stats record
	"$B/mailtap-cat" -s stats "$1" | python3 -c 'import sys, json; r = json.loads(sys.stdin.readlines()[-1]); print(r["flows_peak"], r["reasm_bytes_peak"])'
}
for f in synd:SYN_with_data x509w:x509_cert_parse_error peak:; do
	name=${f#*:} f=${f%%:*}
	"$B/mailtap" -r "$T/$f.pcap" --seed 1 --stats-interval 3600 -w "$T/1.mp" 2>/dev/null
	canon "$T/1.mp" | grep -v '"_path": "stats"' >"$T/1.txt"
	p1=$([ $f != peak ] || peaks "$T/1.mp")
	# thrice each: which worker comes to a shared set first (and whether two come at once) is
	# the threads' timing
	for w in 2 3 2 3 2 3; do
		"$B/mailtap" -r "$T/$f.pcap" --seed 1 --workers $w --stats-interval 3600 \
			-w "$T/3.mp" 2>/dev/null
		canon "$T/3.mp" | grep -v '"_path": "stats"' >"$T/3.txt"
		if ! cmp -s "$T/1.txt" "$T/3.txt"; then
			echo "FAIL $f.pcap: records differ with $w workers"
			diff "$T/1.txt" "$T/3.txt" | head -4 | cut -c1-300
			exit 1
		fi
		p3=$([ $f != peak ] || peaks "$T/3.mp")
		[ "$p3" = "$p1" ] || { echo "FAIL $f.pcap: peaks $p3 with $w workers, $p1 with one"; exit 1; }
	done
	if [ -n "$name" ] && [ "$(grep -c "\"name\": \"$name\"" "$T/1.txt")" != 1 ]; then
		echo "FAIL $f.pcap: not one $name weird"; exit 1
	fi
	[ $f != peak ] || [ "${p1%% *}" = 1 ] || { echo "FAIL peak.pcap: flows_peak $p1"; exit 1; }
	echo "$f.pcap: the same records with 1, 2 and 3 workers${name:+, one $name}${p1:+ (peaks $p1)}"
done

# from a pipe (a cookie stream, read as it comes)
"$B/mailtap" -r "$T/gen.pcap" --seed 1 -w "$T/1.mp" 2>/dev/null
"$B/mailtap" -r - --seed 1 --workers 2 -w "$T/2.mp" --stats-interval 3600 <"$T/gen.pcap" 2>/dev/null
cmp -s <(canon "$T/1.mp") <(canon "$T/2.mp" | grep -v '"_path": "stats"') ||
	{ echo "FAIL -r - with 2 workers: records differ"; exit 1; }
echo "-r - with 2 workers: same records"

# a file cut in the middle of a packet: each worker stops at the cut, as one worker does
# (its records up to there, exit 2), and the message comes once
sz=$(stat -c %s "$T/gen.pcap")
head -c $((sz * 2 / 3)) "$T/gen.pcap" >"$T/cut.pcap"
"$B/mailtap" -r "$T/cut.pcap" --seed 1 -w "$T/1.mp" 2>"$T/1.err"
rc1=$?
# (the connections still open end at the time of the capture's last packet in every worker,
# not at that of the worker's own last packet: the files' durations say it)
for w in 2 3; do
	"$B/mailtap" -r "$T/cut.pcap" --seed 1 --workers $w -w "$T/3.mp" 2>"$T/3.err"
	rc3=$?
	if [ $rc1 = 2 ] && [ $rc3 = 2 ] && [ "$(grep -c truncated "$T/3.err")" = 1 ] &&
		cmp -s <(canon "$T/1.mp") <(canon "$T/3.mp") && cmp -s "$T/1.err" "$T/3.err"; then
		echo "truncated capture, $w workers: same records and message as one worker, exit 2"
	else
		echo "FAIL truncated capture, $w workers: exit $rc1 / $rc3, messages:"; cat "$T/1.err" "$T/3.err"; exit 1
	fi
done

TS=${TSAN_BUILD:-build-tsan}
make --no-print-directory -j2 SANITIZE=thread BUILD="$TS" "$TS/mailtap" "$TS/tests/test_workers" \
	"$TS/tests/test_intel" >/dev/null || exit 1
export TSAN_OPTIONS="halt_on_error=1 exitcode=66"
$TS/tests/test_workers >"$T/tw.log" 2>&1 || { cat "$T/tw.log"; echo "FAIL test_workers under TSan"; exit 1; }
# the intel store replaced while two threads look up in it (test_reload_concurrent)
$TS/tests/test_intel >"$T/ti.log" 2>&1 || { cat "$T/ti.log"; echo "FAIL test_intel under TSan"; exit 1; }
"$B/mailtap" -r "$T/gen.pcap" --seed 1 -w "$T/1.mp" 2>/dev/null
canon "$T/1.mp" >"$T/1.txt"
"$B/mailtap" -r "$T/frag.pcap" --seed 1 -w "$T/f1.mp" 2>/dev/null
$TS/mailtap -r "$T/gen.pcap" --seed 1 --workers 3 -w "$T/3.mp" 2>"$T/tsan.log" ||
	{ head -40 "$T/tsan.log"; echo "FAIL mailtap --workers 3 under TSan"; exit 1; }
canon "$T/3.mp" >"$T/3.txt"
cmp -s "$T/1.txt" "$T/3.txt" || { echo "FAIL records differ under TSan"; exit 1; }
# the weird sets the workers share (each call under the set's lock)
for f in synd x509w; do
	"$B/mailtap" -r "$T/$f.pcap" --seed 1 -w "$T/w1.mp" 2>/dev/null
	$TS/mailtap -r "$T/$f.pcap" --seed 1 --workers 3 -w "$T/w3.mp" 2>"$T/tsanw.log" ||
		{ head -40 "$T/tsanw.log"; echo "FAIL mailtap --workers 3 on $f.pcap under TSan"; exit 1; }
	cmp -s <(canon "$T/w1.mp") <(canon "$T/w3.mp") ||
		{ echo "FAIL $f.pcap: records differ under TSan"; exit 1; }
done
# fragments held by the reading thread, handed over later: the reversed capture from above
# (with overlaps)
$TS/mailtap -r "$T/frag.pcap" --seed 1 --workers 3 -w "$T/f3.mp" 2>"$T/tsan3.log" ||
	{ head -40 "$T/tsan3.log"; echo "FAIL mailtap --workers 3 on fragments under TSan"; exit 1; }
cmp -s <(canon "$T/f1.mp") <(canon "$T/f3.mp") || { echo "FAIL fragment records differ under TSan"; exit 1; }
# the tunnel table the workers share (one mutex): mail in VXLAN, three workers
"$B/tools/gen_smtp_pcap" -o "$T/vx.pcap" -n 200 -c 20 -a 5000 --seed 9 --encap vxlan 2>/dev/null
$TS/mailtap -r "$T/vx.pcap" --seed 1 --workers 3 -w "$T/vx.mp" 2>"$T/tsan2.log" ||
	{ head -40 "$T/tsan2.log"; echo "FAIL mailtap --workers 3 on VXLAN under TSan"; exit 1; }
tun=$("$B/mailtap-cat" -s tunnel "$T/vx.mp" | grep -c DISCOVER)
named=$("$B/mailtap-cat" -s conn "$T/vx.mp" | grep -c tunnel_parents)
[ "$tun" = 1 ] && [ "$named" = 200 ] ||
	{ echo "FAIL VXLAN under TSan: $tun DISCOVER records, $named of 200 conns name the tunnel"; exit 1; }
echo "TSan: test_workers, test_intel (the store replaced under lookups) and --workers 3 ($(wc -l <"$T/3.txt") records), the shared weird sets, reversed fragments, and VXLAN with the shared tunnel table ($named conns) without a race report"
