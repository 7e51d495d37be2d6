#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# known_hosts (Zeek's policy/protocols/conn/known-hosts.zeek, loaded by local.zeek): the local
# addresses (conn's local_orig/local_resp) of connections that completed their handshake
# (history with S and h), each logged when the first such connection is established and
# again a day (--known-hosts-expire) after it was logged. For every capture of the corpus
# (some span years) and a generated one: the expected records computed from the conn records
# of the same run, equal; --workers 3 the same hosts; --known-hosts-expire 1 on the
# generated capture twice 100 s apart: each host twice; --no-known-hosts: none. A SYN-ACK
# that also carries FIN or RST establishes nothing (both endpoints must be ESTABLISHED after
# the packet, as the script checks).
set -u
cd "$(dirname "$0")/../.."
. tests/suite-lib.sh

cat >"$T/kh.py" <<'EOF2'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
expire = float(sys.argv[2])
conns = sorted((r for r in recs if r["_path"] == "conn"
                and "S" in r.get("history", "") and "h" in r.get("history", "")),
               key=lambda r: r["ts"])
last, want = {}, []
for c in conns:
    for h, loc in ((c["id.orig_h"], c.get("local_orig")), (c["id.resp_h"], c.get("local_resp"))):
        if loc is True and (h not in last or c["ts"] - last[h] >= expire):
            last[h] = c["ts"]
            want.append(h)
got = [r["host"] for r in recs if r["_path"] == "known_hosts"]
if sorted(got) != sorted(want):
    sys.exit("known_hosts %s, want %s" % (sorted(got)[:5], sorted(want)[:5]))
print(len(got))
EOF2
"$B/tools/gen_smtp_pcap" -o "$T/g1.pcap" -n 60 -c 4 --seed 3 >/dev/null 2>&1
n=0 tot=0
while IFS= read -r p; do
	"$B/mailtap" -r "$p" -w - 2>/dev/null | "$B/mailtap-cat" - >"$T/a.json"
	grep -q '"_path":"conn"' "$T/a.json" || continue
	n=$((n + 1))
	if c=$(python3 "$T/kh.py" "$T/a.json" 86400 2>&1); then
		tot=$((tot + c))
	else
		bad "$(basename "$p"): $c"
	fi
done < <(find ../shared/corpus -name '*.pcap' | sort; echo "$T/g1.pcap")
[ $fails = 0 ] && [ $tot -gt 0 ] && ok "$n captures: $tot known_hosts records, each as computed from the conn records"

editcap -t 100 "$T/g1.pcap" "$T/g2.pcap" && mergecap -a -w "$T/g.pcap" "$T/g1.pcap" "$T/g2.pcap"
a=$("$B/mailtap" -r "$T/g.pcap" -w - | "$B/mailtap-cat" -s known_hosts - | wc -l)
b=$("$B/mailtap" -r "$T/g.pcap" -w - --known-hosts-expire 1 | "$B/mailtap-cat" -s known_hosts - | wc -l)
"$B/mailtap" -r "$T/g.pcap" -w - --known-hosts-expire 1 | "$B/mailtap-cat" - >"$T/e.json"
w=$("$B/mailtap" -r "$T/g.pcap" -w - --workers 3 | "$B/mailtap-cat" -s known_hosts - | grep -o '"host":"[^"]*"' | sort | md5sum)
o=$("$B/mailtap" -r "$T/g.pcap" -w - | "$B/mailtap-cat" -s known_hosts - | grep -o '"host":"[^"]*"' | sort | md5sum)
c=$("$B/mailtap" -r "$T/g.pcap" -w - --no-known-hosts | "$B/mailtap-cat" -s known_hosts - | wc -l)
st=$("$B/mailtap" -r "$T/g.pcap" -w - --stats-interval 3600 | "$B/mailtap-cat" -s stats - | tail -n 1 | grep -o '"records_known_hosts":[0-9]*' | cut -d: -f2)
if [ "$b" = $((2 * a)) ] && python3 "$T/kh.py" "$T/e.json" 1 >/dev/null && [ "$w" = "$o" ] && [ "$c" = 0 ] && [ "$st" = "$a" ]; then
	ok "generated twice 100 s apart: $a hosts, $b with --known-hosts-expire 1; --workers 3 the same hosts (one shared set); --no-known-hosts none; records_known_hosts $st"
else
	bad "generated: $a, $b with expire 1, workers alike: $([ "$w" = "$o" ] && echo yes || echo no), --no-known-hosts $c, counter '$st'"
fi
# connection_established's handler checks both endpoints after the whole packet: a local
# server whose SYN-ACK also carries FIN (10.0.0.2) or RST (10.0.0.3) is not logged, one with a
# plain SYN-ACK (10.0.0.4) is; the clients are remote.
/usr/bin/python3 - "$T/fin.pcap" <<'EOF2'
import sys
from scapy.all import Ether, IP, TCP, wrpcap
pk, t = [], 1000.0
for srv, fl in (("10.0.0.2", "SAF"), ("10.0.0.3", "SAR"), ("10.0.0.4", "SA")):
    for p in (Ether() / IP(src="8.8.8.8", dst=srv) / TCP(sport=40000, dport=25, flags="S", seq=100),
              Ether() / IP(src=srv, dst="8.8.8.8") / TCP(sport=25, dport=40000, flags=fl, seq=500, ack=101),
              Ether() / IP(src="8.8.8.8", dst=srv) / TCP(sport=40000, dport=25, flags="A", seq=101, ack=501)):
        t += 0.001
        p.time = t
        pk.append(p)
wrpcap(sys.argv[1], pk)
EOF2
h=$("$B/mailtap" -r "$T/fin.pcap" -w - | "$B/mailtap-cat" -s known_hosts -c host - | tr '\n' ' ')
[ "$h" = "10.0.0.4 " ] && ok "a SYN-ACK with FIN or RST establishes nothing: only the plain SYN-ACK's server logged" ||
	bad "SYN-ACK with FIN/RST: known_hosts '$h', want only 10.0.0.4"
[ $fails -eq 0 ]
