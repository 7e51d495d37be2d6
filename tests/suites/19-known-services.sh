#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# known_services (Zeek's policy/protocols/conn/known-services.zeek, loaded by local.zeek): a
# local responder that did the handshake or spoke logs each confirmed service (SMTP, SSL) of
# its port once a day (the (host, port) entry of Known::services expires as a whole, a day
# after it was made); a connection without a protocol logs the service "" five minutes of
# network time after it was removed. For every capture of the corpus with every address
# local: the (host, port, service) triplets computed from the conn records of the same run,
# none twice within its entry's day. A scapy capture: the "" record of a handshake-only connection is
# stamped with its removal and written only once five minutes have passed (after the next
# connection's conn record, before the one after); the STARTTLS and 465 sessions of a
# generated capture: SMTP and SSL for 587, SSL for 465; --workers 3 the same triplets;
# --known-services-expire 1 on the capture twice 100 s apart: each twice; the counter;
# --no-known-services: none. --known-tracking (Zeek's Known::host_tracking, service_tracking,
# cert_tracking) on zeek's smtp-starttls.pcap, a local client and a remote server: local
# gives the client's known_hosts only, remote the server's known_hosts, known_services (SMTP,
# SSL) and known_certs, all both. The same server's SMTP at T0, SSL at T0 + 20 h, then both
# at T0 + 25 h: both logged again (the entry made at T0 expired with SSL in it).
set -u
cd "$(dirname "$0")/../.."
. tests/suite-lib.sh

cat >"$T/ks.py" <<'EOF2'
import json, sys
from collections import defaultdict
recs = [json.loads(l) for l in open(sys.argv[1])]
expire = float(sys.argv[2])
want = set()
for c in recs:
    if c["_path"] != "conn" or c.get("local_resp") is not True:
        continue
    hist = c.get("history", "")
    resp = [ch for ch in hist if ch.islower()]
    svcs = [s.upper() for s in c.get("service", "").split(",") if s]
    # has_active_service: SYN-ACK seen, or the responder sent something (PARTIAL,
    # ESTABLISHED or CLOSED; after a reset only if it had spoken before a confirmation)
    spoke = "h" in hist or any(ch in "daf" for ch in resp)
    if svcs:
        if spoke:
            for s in svcs:
                want.add((c["id.resp_h"], c["id.resp_p"], s))
    elif "h" in hist or (spoke and "r" not in resp):
        want.add((c["id.resp_h"], c["id.resp_p"], ""))
seen = defaultdict(list)
# Known::services: table[addr, port] of set[string] &create_expire: the (host, port) entry is
# made with its first service, and a service is logged again only once the entry expired
entry = {}
for r in sorted((r for r in recs if r["_path"] == "known_services"), key=lambda r: r["ts"]):
    if r["port_proto"] != "tcp" or not r["service"]:
        sys.exit("bad record %s" % r)
    hp = (r["host"], r["port_num"])
    if hp not in entry or r["ts"] - entry[hp][0] >= expire:
        entry[hp] = (r["ts"], set())
    for s in r["service"]:
        if s in entry[hp][1]:
            sys.exit("%s %s logged twice within %s s of its entry" % (hp, s, expire))
        entry[hp][1].add(s)
        seen[hp + (s,)].append(r["ts"])
if set(seen) != want:
    sys.exit("known_services extra %s, missing %s"
             % (sorted(set(seen) - want)[:4], sorted(want - set(seen))[:4]))
print(sum(len(v) for v in seen.values()))
EOF2
n=0 tot=0
while IFS= read -r p; do
	"$B/mailtap" -r "$p" -w - --local-nets 0.0.0.0/0,::/0 2>/dev/null | "$B/mailtap-cat" - >"$T/a.json"
	grep -q '"_path":"conn"' "$T/a.json" || continue
	n=$((n + 1))
	if c=$(python3 "$T/ks.py" "$T/a.json" 86400 2>&1); then
		tot=$((tot + c))
	else
		bad "$(basename "$p"): $c"
	fi
done < <(find ../shared/corpus -name '*.pcap' -o -name '*.pcapng' | sort)
[ $fails = 0 ] && [ $tot -gt 0 ] && ok "$n captures: $tot known_services records, the triplets computed from the conn records"

# three handshake-only connections (SYN, SYN-ACK, ACK, FIN both ways) at 0, 400 and 800 s
/usr/bin/python3 - "$T/h.pcap" <<'EOF2'
import sys
from scapy.all import Ether, IP, TCP, wrpcap
pk = []
for i, (t, srv) in enumerate(((0, "10.0.0.1"), (400, "10.0.0.2"), (800, "10.0.0.3"))):
    c, sp = "10.0.0.100", 40000 + i
    def add(dt, src, dst, s, d, fl, seq, ack):
        p = Ether() / IP(src=src, dst=dst) / TCP(sport=s, dport=d, flags=fl, seq=seq, ack=ack)
        p.time = 1000 + t + dt
        pk.append(p)
    add(0.0, c, srv, sp, 25, "S", 100, 0)
    add(0.1, srv, c, 25, sp, "SA", 500, 101)
    add(0.2, c, srv, sp, 25, "A", 101, 501)
    add(0.3, c, srv, sp, 25, "FA", 101, 501)
    add(0.4, srv, c, 25, sp, "FA", 501, 102)
    add(0.5, c, srv, sp, 25, "A", 102, 502)
wrpcap(sys.argv[1], pk)
EOF2
"$B/mailtap" -r "$T/h.pcap" -w - | "$B/mailtap-cat" - | grep '"conn"\|"known_services"' >"$T/h.json"
python3 - "$T/h.json" <<'EOF2' && ok "no protocol: the service \"\" of each server, stamped with the connection's removal (the next packet, 400 s on), written five minutes later (between the next two conn records), the last at the end" || bad "the delayed known_services records: $(tr '\n' ' ' <"$T/h.json")"
import json, sys
seq = []
for l in open(sys.argv[1]):
    r = json.loads(l)
    seq.append((r["_path"], r.get("id.resp_h") or r["host"], r["ts"], r.get("service")))
want = [("conn", "10.0.0.1", 1000.0, None), ("conn", "10.0.0.2", 1400.0, None),
        ("known_services", "10.0.0.1", 1400.0, [""]), ("conn", "10.0.0.3", 1800.0, None),
        ("known_services", "10.0.0.2", 1800.0, [""]), ("known_services", "10.0.0.3", 1800.5, [""])]
sys.exit(0 if seq == want else "got %s" % seq)
EOF2

"$B/tools/gen_smtp_pcap" -o "$T/g1.pcap" -n 100 -c 4 --seed 3 --mix plain=50,starttls=25,tls465=25 >/dev/null 2>&1
editcap -t 100 "$T/g1.pcap" "$T/g2.pcap" && mergecap -a -w "$T/g.pcap" "$T/g1.pcap" "$T/g2.pcap"
svc=$("$B/mailtap" -r "$T/g1.pcap" -w - | "$B/mailtap-cat" -s known_services - | sed 's/"ts":[0-9.]*,//' | sort | tr '\n' ' ')
want='{"_path":"known_services","host":"192.168.0.1","port_num":25,"port_proto":"tcp","service":["SMTP"]} {"_path":"known_services","host":"192.168.0.1","port_num":465,"port_proto":"tcp","service":["SSL"]} {"_path":"known_services","host":"192.168.0.1","port_num":587,"port_proto":"tcp","service":["SMTP"]} {"_path":"known_services","host":"192.168.0.1","port_num":587,"port_proto":"tcp","service":["SSL"]} '
[ "$svc" = "$want" ] && ok "generated: SMTP on 25, SMTP then SSL on 587 (STARTTLS), SSL on 465" || bad "generated: $svc"
a=$("$B/mailtap" -r "$T/g.pcap" -w - | "$B/mailtap-cat" -s known_services - | wc -l)
b=$("$B/mailtap" -r "$T/g.pcap" -w - --known-services-expire 1 | "$B/mailtap-cat" -s known_services - | wc -l)
"$B/mailtap" -r "$T/g.pcap" -w - --known-services-expire 1 | "$B/mailtap-cat" - >"$T/e.json"
w=$("$B/mailtap" -r "$T/g.pcap" -w - --workers 3 | "$B/mailtap-cat" -s known_services - | sed 's/"ts":[0-9.]*,//' | sort | md5sum)
o=$("$B/mailtap" -r "$T/g.pcap" -w - | "$B/mailtap-cat" -s known_services - | sed 's/"ts":[0-9.]*,//' | sort | md5sum)
c=$("$B/mailtap" -r "$T/g.pcap" -w - --no-known-services | "$B/mailtap-cat" -s known_services - | wc -l)
st=$("$B/mailtap" -r "$T/g.pcap" -w - --stats-interval 3600 | "$B/mailtap-cat" -s stats - | tail -n 1 | grep -o '"records_known_services":[0-9]*' | cut -d: -f2)
if [ "$a" = 4 ] && [ "$b" = 8 ] && python3 "$T/ks.py" "$T/e.json" 1 >/dev/null && [ "$w" = "$o" ] && [ "$c" = 0 ] && [ "$st" = "$a" ]; then
	ok "twice 100 s apart: $a records, $b with --known-services-expire 1; --workers 3 the same (one shared set); --no-known-services none; records_known_services $st"
else
	bad "twice 100 s apart: $a, $b with expire 1, workers alike: $([ "$w" = "$o" ] && echo yes || echo no), --no-known-services $c, counter '$st'"
fi
st=../shared/corpus/zeek/traces/tls/smtp-starttls.pcap
kt() { "$B/mailtap" -r "$st" -w - --known-tracking "$1" | "$B/mailtap-cat" - |
	grep '"_path":"known_' | sed 's/"ts":[0-9.]*,//; s/"subject".*$//' | sort | tr '\n' ' '; }
l=$(kt local) r=$(kt remote) a=$(kt all)
wl='{"_path":"known_hosts","host":"192.168.4.149"} '
wr='{"_path":"known_certs","host":"74.125.142.26","port_num":25, {"_path":"known_hosts","host":"74.125.142.26"} {"_path":"known_services","host":"74.125.142.26","port_num":25,"port_proto":"tcp","service":["SMTP"]} {"_path":"known_services","host":"74.125.142.26","port_num":25,"port_proto":"tcp","service":["SSL"]} '
wa=$(echo "$wl$wr" | tr ' ' '\n' | grep . | sort | tr '\n' ' ')
if [ "$l" = "$wl" ] && [ "$r" = "$wr" ] && [ "$(echo "$a" | tr ' ' '\n' | grep . | sort | tr '\n' ' ')" = "$wa" ] &&
	! "$B/mailtap" -r "$st" -w /dev/null --known-tracking none 2>/dev/null; then
	ok "--known-tracking: local the client, remote the server (hosts, services, certificate), all both; a bad value refused"
else
	bad "--known-tracking: local '$l', remote '$r', all '$a'"
fi

# Known::services' (host, port) entry expires as a whole: SMTP (the capture cut before
# STARTTLS) at T0, the whole STARTTLS session at T0 + 20 h (SSL joins the entry), and again
# at T0 + 25 h: the entry made at T0 has expired, so SMTP and SSL are both logged again
editcap -r "$st" "$T/k1.pcap" 1-9 >/dev/null && editcap -t 72000 "$st" "$T/k2.pcap" &&
	editcap -t 90000 "$st" "$T/k3.pcap" && mergecap -a -w "$T/k.pcap" "$T/k1.pcap" "$T/k2.pcap" "$T/k3.pcap"
e=$("$B/mailtap" -r "$T/k.pcap" -w - --known-tracking all | "$B/mailtap-cat" -s known_services - |
	grep -o '"ts":[0-9]*\|"service":\[[^]]*\]' | paste -sd' ')
we='"ts":1400168396 "service":["SMTP"] "ts":1400240397 "service":["SSL"] "ts":1400258396 "service":["SMTP"] "ts":1400258397 "service":["SSL"]'
if [ "$e" = "$we" ]; then
	ok "a (host, port) entry expires whole: SMTP at T0, SSL at T0 + 20 h, both again at T0 + 25 h"
else
	bad "entry expiry: '$e', want '$we'"
fi
[ $fails -eq 0 ]
