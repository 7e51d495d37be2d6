#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# capture_loss (Zeek's capture_loss.log, policy/misc/capture-loss.zeek, loaded by local.zeek):
# ACKs seen while both endpoints were established, and those that acknowledged data never
# seen (gap events), per measurement interval of network time.
#  - A generated capture, and a copy with K client data segments removed from K
#    connections, mid-stream: no loss in the first; in the second exactly K gap events (the
#    first ACK above each hole), K connections with missed_bytes, and the records, whose
#    acks and gaps add up to the stats counters; percent_lost = 100 * gaps / acks.
#  - Two late SYNs 100 s apart after the traffic, measurements every 50 s: one at each, the
#    second with no ACK (CaptureLoss::Too_Little_Traffic); a threshold of 0 gives CaptureLoss::Too_Much_Loss
#    with Zeek's message; --no-capture-loss: none.
#  - --workers 3: the same capture_loss records and notices as one worker (the workers catch up
#    with the file before each measurement).
#  - Only ACKs that acknowledge beyond every earlier one of their direction count (Zeek's
#    TCP_Reassembler::AckReceived returns at `seq <= trim_seq` before ++tot_ack_events): a
#    scapy session with one server segment missing, whose client ACKs above the hole twice,
#    then with data: 3 ACK events (the ACK above the hole, one gap; the two after new data),
#    not the 9 packets with ACK while both sides were established.
#  - A measurement due at a packet counts that packet (Zeek runs take_measurement after
#    processing the packet whose time made it due); the records at the end are at the
#    latest packet time (Zeek's network time never goes back), ts_delta never negative.
set -u
cd "$(dirname "$0")/../.."
. tests/suite-lib.sh
K=7
"$B/tools/gen_smtp_pcap" -o "$T/g.pcap" -n 60 -c 4 -a 20000 --mix plain=1,attach=2 --seed 9 \
	>/dev/null 2>&1
/usr/bin/python3 - "$T/g.pcap" "$T/loss.pcap" "$T/late.pcap" "$K" <<'EOF2' || { echo "FAIL drop script"; exit 1; }
import logging, sys
logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
from scapy.all import IP, TCP, Ether, PcapReader, PcapWriter, raw
inp, out, late, k = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
pkts = list(PcapReader(inp))
data = {}
for i, p in enumerate(pkts):
    if TCP in p and p[TCP].dport in (25, 465, 587) and len(p[TCP].payload) > 0:
        data.setdefault((p[IP].src, p[TCP].sport), []).append(i)
drop = set()
for conn, idx in data.items():
    if len(idx) >= 12 and len(drop) < k:
        drop.add(idx[len(idx) // 2])
assert len(drop) == k, len(drop)
w = PcapWriter(out, sync=True)
for i, p in enumerate(pkts):
    if i not in drop:
        w.write(p)
w.close()
# two SYNs of a new connection, 100 s and 200 s after the last packet
t = float(pkts[-1].time)
w = PcapWriter(late, sync=True)
for d in (100, 200):
    s = Ether() / IP(src="10.9.9.9", dst="192.168.0.1") / TCP(sport=40000 + d, dport=25, flags="S", seq=1)
    s.time = t + d
    w.write(s)
w.close()
EOF2
mergecap -a -w "$T/loss2.pcap" "$T/loss.pcap" "$T/late.pcap"
mergecap -a -w "$T/g2.pcap" "$T/g.pcap" "$T/late.pcap"

cat >"$T/check.py" <<'EOF2'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
want_gaps = int(sys.argv[2])
cl = [r for r in recs if r["_path"] == "capture_loss"]
st = [r for r in recs if r["_path"] == "stats"][-1]
conn_missed = sum(1 for r in recs if r["_path"] == "conn" and r.get("missed_bytes", 0) > 0)
notes = [r for r in recs if r["_path"] == "notice"]
if len(cl) != 3:
    sys.exit("%d capture_loss records, want 3 (at the late SYNs, and the one pending at the end)" % len(cl))
a, b, c = cl
if a["acks"] != st["tcp_ack_events"] or a["gaps"] != st["tcp_gap_events"]:
    sys.exit("first record %s, counters %s/%s" % (a, st["tcp_ack_events"], st["tcp_gap_events"]))
if a["gaps"] != want_gaps or conn_missed != want_gaps:
    sys.exit("gaps %d, connections with missed_bytes %d, want %d" % (a["gaps"], conn_missed, want_gaps))
if abs(a["percent_lost"] - 100.0 * a["gaps"] / a["acks"]) > 1e-9 or a["acks"] < 100:
    sys.exit("percent_lost %s for %d/%d" % (a["percent_lost"], a["gaps"], a["acks"]))
if b["acks"] != 0 or b["gaps"] != 0 or abs(b["ts_delta"] - 100.0) > 1e-6 or b["peer"] != "mailtap":
    sys.exit("second record %s" % b)
# Zeek's measurement pending at the end runs as it terminates, at the last packet's time
if c["acks"] != 0 or c["gaps"] != 0 or c["ts_delta"] != 0 or c["ts"] != b["ts"]:
    sys.exit("record at the end %s" % c)
tl = [n for n in notes if n["note"] == "CaptureLoss::Too_Little_Traffic"]
if len(tl) != 2 or any(n["msg"] != "Only observed 0 TCP ACKs and was expecting at least 1." or n["ts"] != b["ts"] for n in tl):
    sys.exit("Too_Little_Traffic notices %s" % tl)
tm = [n for n in notes if n["note"] == "CaptureLoss::Too_Much_Loss"]
if sys.argv[3] == "0":
    m = "The capture loss script detected an estimated loss rate above %.3f%%" % a["percent_lost"]
    if len(tm) != 3 or tm[0]["msg"] != m:
        sys.exit("Too_Much_Loss notices %s, want %r" % (tm, m))
elif tm:
    sys.exit("Too_Much_Loss below the threshold: %s" % tm)
print(a["acks"], a["gaps"], "%.3f" % a["percent_lost"])
EOF2
CL="--capture-loss-interval 50 --stats-interval 86400"
"$B/mailtap" -r "$T/g2.pcap" -w - $CL | "$B/mailtap-cat" - >"$T/g.json"
"$B/mailtap" -r "$T/loss2.pcap" -w - $CL | "$B/mailtap-cat" - >"$T/l.json"
"$B/mailtap" -r "$T/loss2.pcap" -w - $CL --capture-loss-too-much 0 |
	"$B/mailtap-cat" - >"$T/l0.json"
if r0=$(python3 "$T/check.py" "$T/g.json" 0 10) && r1=$(python3 "$T/check.py" "$T/l.json" $K 10) &&
	r2=$(python3 "$T/check.py" "$T/l0.json" $K 0); then
	ok "no loss: acks/gaps/percent $r0; $K segments removed: $r1 ($K connections with missed_bytes); a measurement at each late SYN, the second without ACKs (Too_Little_Traffic), and the one pending at the end; threshold 0: Too_Much_Loss"
else
	bad "capture_loss: ${r0:-} ${r1:-} ${r2:-}"
fi
n=$("$B/mailtap" -r "$T/loss2.pcap" -w - --no-capture-loss | "$B/mailtap-cat" - | grep -c '"capture_loss"\|CaptureLoss')
# a measurement every second of network time over the generated traffic: the acks add up
"$B/tools/gen_smtp_pcap" -o "$T/s1.pcap" -n 60 -c 4 --seed 9 >/dev/null 2>&1
editcap -t 5 "$T/s1.pcap" "$T/s2.pcap" >/dev/null && mergecap -a -w "$T/s.pcap" "$T/s1.pcap" "$T/s2.pcap" "$T/late.pcap"
"$B/mailtap" -r "$T/s.pcap" -w - --capture-loss-initial 1 --capture-loss-interval 1 --stats-interval 86400 |
	"$B/mailtap-cat" - >"$T/s.json"
sum=$(python3 -c '
import json, sys
r = [json.loads(l) for l in open(sys.argv[1])]
cl = [x for x in r if x["_path"] == "capture_loss"]
st = [x for x in r if x["_path"] == "stats"][-1]
ok = sum(x["acks"] for x in cl) == st["tcp_ack_events"] and all(x["ts_delta"] >= 1 for x in cl[1:-1])
print(len(cl) if ok and len(cl) >= 3 else 0)' "$T/s.json")
if [ "$n" = 0 ] && [ "$sum" -ge 3 ]; then
	ok "--capture-loss-interval 1: $sum measurements whose acks add up to tcp_ack_events; --no-capture-loss: none"
else
	bad "--no-capture-loss: $n records; interval 1: '$sum'"
fi
one=$("$B/mailtap" -r "$T/s.pcap" -w - --capture-loss-initial 1 --capture-loss-interval 1 |
	"$B/mailtap-cat" - | grep '"capture_loss"\|CaptureLoss::' | md5sum)
three=$("$B/mailtap" -r "$T/s.pcap" -w - --capture-loss-initial 1 --capture-loss-interval 1 --workers 3 |
	"$B/mailtap-cat" - | grep '"capture_loss"\|CaptureLoss::' | md5sum)
lone=$("$B/mailtap" -r "$T/loss2.pcap" -w - $CL | "$B/mailtap-cat" - | grep '"capture_loss"\|CaptureLoss::' | md5sum)
lthree=$("$B/mailtap" -r "$T/loss2.pcap" -w - $CL --workers 3 | "$B/mailtap-cat" - | grep '"capture_loss"\|CaptureLoss::' | md5sum)
if [ "$one" = "$three" ] && [ "$lone" = "$lthree" ]; then
	ok "--workers 3: the same capture_loss records and notices as one worker"
else
	bad "--workers 3: capture_loss records differ from one worker's"
fi
/usr/bin/python3 - "$T/ack.pcap" <<'EOF2' || bad "ack script"
import sys
from scapy.all import IP, TCP, UDP, Ether, wrpcap
C, S, cp = "10.0.0.1", "10.0.0.2", 40000
pk, t = [], [1000.0]
def add(src, fl, seq, ack, data=b""):
    a, b, sp, dp = (C, S, cp, 25) if src == "c" else (S, C, 25, cp)
    p = Ether() / IP(src=a, dst=b) / TCP(sport=sp, dport=dp, flags=fl, seq=seq, ack=ack) / data
    p.time = t[0]
    t[0] += 0.01
    pk.append(p)
cs, ss = 1001, 5001
add("c", "S", 1000, 0); add("s", "SA", 5000, cs); add("c", "A", cs, ss)
b1, b2, b3 = b"220-mx line one\r\n", b"220-mx line two\r\n", b"220 mx ready\r\n"
add("s", "PA", ss, cs, b1)                     # ack 1: the SYN's, no event
add("s", "PA", ss + len(b1) + len(b2), cs, b3)  # b2 never seen
end = ss + len(b1) + len(b2) + len(b3)
add("c", "A", cs, end)                          # above the hole: an event, a gap
add("c", "A", cs, end)                          # the same again: none
add("c", "PA", cs, end, b"EHLO x\r\n")        # still the same: none
add("s", "PA", end, cs + 8, b"250 ok\r\n")    # acks EHLO: an event
add("c", "A", cs + 8, end + 8)                  # acks 250: an event
u = Ether() / IP(src="10.0.0.9", dst="10.0.0.8") / UDP(sport=1, dport=2) / b"x"
u.time = 1061.0                                 # the first measurement, a minute on
pk.append(u)
wrpcap(sys.argv[1], pk)
EOF2
ack=$("$B/mailtap" -r "$T/ack.pcap" -w - | "$B/mailtap-cat" -s capture_loss - |
	grep -o '"ts_delta":[0-9.]*,"peer":"mailtap","gaps":[0-9]*,"acks":[0-9]*' | tr '\n' ' ')
if [ "$ack" = '"ts_delta":61.0,"peer":"mailtap","gaps":1,"acks":3 "ts_delta":0.0,"peer":"mailtap","gaps":0,"acks":0 ' ]; then
	ok "only fresh ACKs count: a hole acked twice, then new data both ways: 3 ACK events, 1 gap (and none in the measurement pending at the end)"
else
	bad "fresh ACKs: '$ack', want gaps 1, acks 3"
fi
# Zeek's dispatch_packet expires the due timers, processes the packet, then runs the queued
# events: the measurement due at a packet counts that packet. The only ACK event of this
# capture is the packet that makes the first measurement due (61 s after the first): it is
# in that record (acks 1, no Too_Little_Traffic); the first stats record, at the first
# packet, counts that packet and its connection (pkts_proc 1, tcp_conns 1).
/usr/bin/python3 - "$T/due.pcap" <<'EOF2' || bad "due script"
import sys
from scapy.all import IP, TCP, Ether, wrpcap
C, S = "10.0.0.1", "10.0.0.2"
pk = []
def add(t, src, fl, seq, ack, data=b""):
    a, b, sp, dp = (C, S, 40000, 25) if src == "c" else (S, C, 25, 40000)
    p = Ether() / IP(src=a, dst=b) / TCP(sport=sp, dport=dp, flags=fl, seq=seq, ack=ack) / data
    p.time = t
    pk.append(p)
add(1000.0, "c", "S", 1000, 0); add(1000.01, "s", "SA", 5000, 1001); add(1000.02, "c", "A", 1001, 5001)
add(1059.0, "c", "PA", 1001, 5001, b"EHLO x\r\n")
add(1061.0, "s", "A", 5001, 1009)               # acks EHLO: the ACK event, at the due time
wrpcap(sys.argv[1], pk)
EOF2
"$B/mailtap" -r "$T/due.pcap" -w - --stats-interval 30 | "$B/mailtap-cat" - >"$T/due.json"
due=$(python3 -c '
import json, sys
r = [json.loads(l) for l in open(sys.argv[1])]
cl = [(x["ts"], x["acks"]) for x in r if x["_path"] == "capture_loss"]
tl = [x["ts"] for x in r if x["_path"] == "notice" and x["note"] == "CaptureLoss::Too_Little_Traffic"]
st = [(x["pkts_proc"], x["tcp_conns"]) for x in r if x["_path"] == "stats"]
print(cl, tl, st[0])' "$T/due.json")
if [ "$due" = "[(1061.0, 1), (1061.0, 0)] [1061.0] (1, 1)" ]; then
	ok "a measurement counts the packet it is due at: acks 1 at 1061 (the pending one at the end: 0, Too_Little_Traffic); the first stats record counts the first packet"
else
	bad "due at a packet: '$due', want [(1061.0, 1), (1061.0, 0)] [1061.0] (1, 1)"
fi
# Zeek's network time never goes back (dispatch_packet: the later of the packet's time and
# the timers'): a last packet older than one before it leaves the measurement and the stats
# record at the end at the latest time, ts_delta 0, not at the last packet's time.
/usr/bin/python3 - "$T/back.pcap" <<'EOF2' || bad "back script"
import sys
from scapy.all import IP, TCP, Ether, wrpcap
pk = []
for t, sp in ((1000.0, 40001), (1100.0, 40002), (1050.0, 40003)):
    p = Ether() / IP(src="10.0.0.1", dst="10.0.0.2") / TCP(sport=sp, dport=25, flags="S", seq=1)
    p.time = t
    pk.append(p)
wrpcap(sys.argv[1], pk)
EOF2
back=$("$B/mailtap" -r "$T/back.pcap" -w - --stats-interval 86400 | "$B/mailtap-cat" - | python3 -c '
import json, sys
r = [json.loads(l) for l in sys.stdin]
print([(x["ts"], x["ts_delta"]) for x in r if x["_path"] == "capture_loss"], [x["ts"] for x in r if x["_path"] == "stats"])')
if [ "$back" = "[(1100.0, 100.0), (1100.0, 0.0)] [1100.0]" ]; then
	ok "time going back at the end: the last measurement and stats record at the latest time (ts_delta 0)"
else
	bad "time going back at the end: '$back', want [(1100.0, 100.0), (1100.0, 0.0)] [1100.0]"
fi
[ $fails -eq 0 ]
