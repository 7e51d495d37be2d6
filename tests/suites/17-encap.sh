#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Encapsulated mail, offline: a generated capture (tools/gen_smtp_pcap, STARTTLS and 465
# sessions too) and the same capture wrapped in VXLAN, Geneve, GRE, ERSPAN II and III, PPTP's
# GRE (version 1), AYIYA, GTPv1-U, or behind MPLS (IP, or an Ethernet pseudowire with a
# control word) and PPPoE (--encap) give the same smtp, files, ssl, x509 and conn records
# (with --seed, uids included); through a tunnel every conn record names it in
# tunnel_parents and the tunnel stream has Zeek's records for it: DISCOVER, then CLOSE at the
# end for the UDP tunnels, with the mirror source (or client) and sensor (or server) as
# endpoints. Teredo (IPv6 sessions made with scapy) the same, with its broken forms. Also inner IP fragments in VXLAN,
# fragmented outer IP datagrams of every tunnel kind, fragments in a pseudowire (TCP
# reassembled, VXLAN not followed), two and three workers, and
# --max-tunnels 1 with two tunnels (the second gets no tunnel_parents, counted), and
# connections through two tunnels, or outside one at first (tunnel_parents as Zeek's set);
# and two tunnels deep (--encap2: every kind in another, outer fragments, three workers, the
# inner tunnel's datagrams fragmented) and a third level (not followed: its weird, counted).
# The live side (XDP) of the same captures: 50-xdp-live-vs-offline.
set -u
cd "$(dirname "$0")/../.."
B=${BUILD:-build}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fails=$((fails + 1)); }

# check KIND BASE.json ENC.json: the records of ENC equal BASE's but for the tunnel's
cat >"$T/cmp.py" <<'EOF'
import json, sys
def load(p):
    return [json.loads(l) for l in open(p) if l.strip()]
kind, base, enc = sys.argv[1], load(sys.argv[2]), load(sys.argv[3])
# KIND:PORT: VXLAN or Geneve to UDP port PORT (gen_smtp_pcap --encap-port)
kind, port = (kind.split(":") + [None])[:2]
base = [r for r in base if r["_path"] != "stats"]
# tiny fragments made by the test: Zeek's excessively_small_fragment (checked in 16-fragments)
enc = [r for r in enc if r["_path"] != "stats" and r.get("name") != "excessively_small_fragment"]
tun = [r for r in enc if r["_path"] == "tunnel"]
tunneled = kind not in ("mpls", "mpls-pw", "pppoe")
rest, conns = [], 0
for r in enc:
    if r["_path"] == "tunnel":
        continue
    r = dict(r)
    if r["_path"] == "conn":
        conns += 1
        tp = r.pop("tunnel_parents", None)
        want = [tun[0]["uid"]] if tunneled and tun else None
        if tp != want:
            sys.exit("conn %s: tunnel_parents %s, want %s" % (r["uid"], tp, want))
    rest.append(json.dumps(r, sort_keys=True))
a = sorted(json.dumps(r, sort_keys=True) for r in base)
if sorted(rest) != a:
    for x in [x for x in sorted(rest) if x not in set(a)][:3]:
        print("  encapsulated only:", x[:300])
    for x in [x for x in a if x not in set(rest)][:3]:
        print("  plain only:       ", x[:300])
    sys.exit("records differ")
if not tunneled:
    if tun:
        sys.exit("tunnel records for %s" % kind)
else:
    ports = {"vxlan": (49152, 4789), "geneve": (49152, 6081), "ayiya": (40001, 5072),
             "gtp": (2152, 2152), "teredo": (40001, 3544)}.get(kind, (0, 0))
    if port:
        ports = (ports[0], int(port))
    udp = ports != (0, 0)
    acts = [t["action"] for t in tun]
    if acts != (["Tunnel::DISCOVER", "Tunnel::CLOSE"] if udp else ["Tunnel::DISCOVER"]):
        sys.exit("tunnel actions %s" % acts)
    typ = {"vxlan": "Tunnel::VXLAN", "geneve": "Tunnel::GENEVE", "ayiya": "Tunnel::AYIYA",
           "gtp": "Tunnel::GTPv1", "teredo": "Tunnel::TEREDO"}.get(kind, "Tunnel::GRE")
    for t in tun:
        got = (t["tunnel_type"], t["id.orig_h"], t["id.resp_h"], t["id.orig_p"], t["id.resp_p"])
        if got != (typ, "172.16.0.1", "172.16.0.2") + ports or t["uid"] != tun[0]["uid"]:
            sys.exit("tunnel record %s" % t)
print("%d records (%d conn), %d tunnel" % (len(rest), conns, len(tun)))
EOF

gen() { # gen KIND OUT
	"$B/tools/gen_smtp_pcap" -o "$2" -n 40 -c 8 -a 30000 --seed 21 \
		--mix plain=30,attach=30,pipe=10,bdat=10,starttls=10,tls465=10 --encap "$1" >/dev/null 2>&1
}
gen none "$T/none.pcap" || { echo "FAIL gen_smtp_pcap"; exit 1; }
"$B/mailtap" -r "$T/none.pcap" --seed 1 -w - 2>/dev/null | "$B/mailtap-cat" >"$T/none.json"
grep -q '"_path":"ssl"' "$T/none.json" && grep -q '"_path":"files"' "$T/none.json" ||
	{ echo "FAIL the plain capture gives no ssl or files records"; exit 1; }
for k in vxlan geneve gre erspan2 erspan3 mpls mpls-pw pppoe pptp ayiya gtp; do
	gen "$k" "$T/$k.pcap" || { bad "$k: gen_smtp_pcap"; continue; }
	"$B/mailtap" -r "$T/$k.pcap" --seed 1 -w - 2>/dev/null | "$B/mailtap-cat" >"$T/$k.json"
	if r=$(python3 "$T/cmp.py" "$k" "$T/none.json" "$T/$k.json" 2>&1); then
		ok "$k: $r"
	else
		bad "$k: $r"
	fi
done

# inner IP fragments: a small capture's TCP packets, SYNs included, cut into 16-byte fragments
# (tests/fragment_pcap.py), each put in VXLAN with scapy: a connection whose first packet is a
# reassembled datagram still has its tunnel, and the records are the plain capture's with
# tunnel_parents
"$B/tools/gen_smtp_pcap" -o "$T/small.pcap" -n 6 -c 3 -a 2000 -m 300 --seed 4 \
	--mix plain=50,attach=50 >/dev/null 2>&1
"$B/mailtap" -r "$T/small.pcap" --seed 1 -w - 2>/dev/null | "$B/mailtap-cat" >"$T/small.json"
/usr/bin/python3 tests/fragment_pcap.py "$T/small.pcap" "$T/frag.pcap" --size 16 >/dev/null 2>&1 &&
	/usr/bin/python3 tests/vxlan_wrap.py "$T/frag.pcap" "$T/vxfrag.pcap" 172.16.0.1 172.16.0.2 ||
		bad "vxlan around fragments: scapy"
# frag_stat FILE.json: the last stats record's frag_reassembled
frag_stat() { python3 -c '
import json, sys
print([json.loads(l) for l in open(sys.argv[1]) if "\"stats\"" in l][-1]["frag_reassembled"])' "$1"; }
if [ -s "$T/vxfrag.pcap" ]; then
	"$B/mailtap" -r "$T/vxfrag.pcap" --seed 1 --stats-interval 3600 -w - 2>/dev/null |
		"$B/mailtap-cat" >"$T/vxfrag.json"
	nfrag=$(frag_stat "$T/vxfrag.json")
	if [ "${nfrag:-0}" -gt 0 ] && r=$(python3 "$T/cmp.py" vxlan "$T/small.json" "$T/vxfrag.json" 2>&1); then
		ok "vxlan around inner fragments, SYNs too ($nfrag datagrams reassembled): $r"
	else
		bad "vxlan around inner fragments (reassembled ${nfrag:-?}): $r"
	fi
fi

# Ethernet pseudowire around fragments (fragment_pcap.py cuts the IP right after Ethernet;
# the frames are wrapped after): TCP fragments are reassembled, the records are the plain
# capture's; UDP fragments (of VXLAN datagrams) are not, as no tunnel is followed inside a
# pseudowire (nor by the XDP program)
pw_wrap() { /usr/bin/python3 - "$1" "$2" <<'EOF2'
import struct, sys
d = open(sys.argv[1], "rb").read()
out, o = [d[:24]], 24
while o + 16 <= len(d):
    ts, us, cap, wire = struct.unpack_from("<IIII", d, o)
    f = d[o + 16:o + 16 + cap]
    pw = (bytes([2, 0, 0, 0, 0, 0x44, 2, 0, 0, 0, 0, 0x33, 0x88, 0x47]) +
          struct.pack(">II", 300 << 12 | 1 << 8 | 64, 7))
    out.append(struct.pack("<IIII", ts, us, cap + len(pw), wire + len(pw)) + pw + f)
    o += 16 + cap
open(sys.argv[2], "wb").write(b"".join(out))
EOF2
}
if [ -s "$T/frag.pcap" ] && pw_wrap "$T/frag.pcap" "$T/pwfrag.pcap"; then
	"$B/mailtap" -r "$T/pwfrag.pcap" --seed 1 --stats-interval 3600 -w - 2>/dev/null |
		"$B/mailtap-cat" >"$T/pwfrag.json"
	nfrag=$(frag_stat "$T/pwfrag.json")
	if [ "${nfrag:-0}" -gt 0 ] && r=$(python3 "$T/cmp.py" mpls-pw "$T/small.json" "$T/pwfrag.json" 2>&1); then
		ok "pseudowire around TCP fragments ($nfrag datagrams reassembled): $r"
	else
		bad "pseudowire around TCP fragments (reassembled ${nfrag:-?}): $r"
	fi
fi
if [ -s "$T/vxlan.pcap" ] &&
	/usr/bin/python3 tests/fragment_pcap.py "$T/vxlan.pcap" "$T/vxf.pcap" --size 256 --any >/dev/null 2>&1 &&
	pw_wrap "$T/vxf.pcap" "$T/pwvxf.pcap"; then
	"$B/mailtap" -r "$T/pwvxf.pcap" --seed 1 --stats-interval 3600 -w - 2>/dev/null |
		"$B/mailtap-cat" >"$T/pwvxf.json"
	nfrag=$(frag_stat "$T/pwvxf.json")
	if [ "$nfrag" = 0 ] && ! grep -q '"_path":"\(smtp\|conn\|tunnel\)"' "$T/pwvxf.json"; then
		ok "pseudowire around VXLAN fragments: not reassembled, no records (no tunnel inside a pseudowire)"
	else
		bad "pseudowire around VXLAN fragments: $nfrag reassembled, $(grep -c '"_path":"\(smtp\|conn\)"' "$T/pwvxf.json") records"
	fi
fi

# outer IP fragments: every tunnel packet's outer IP datagram cut into 256-byte fragments,
# the last first (a switch sending ERSPAN over a path with a 1500-byte MTU fragments it):
# reassembled before the tunnel is read, the records are the unfragmented capture's
for k in vxlan geneve gre erspan2 erspan3 pptp ayiya gtp; do
	[ -s "$T/$k.pcap" ] || continue
	if ! /usr/bin/python3 tests/fragment_pcap.py "$T/$k.pcap" "$T/of-$k.pcap" --size 256 --reverse --any >/dev/null 2>&1; then
		bad "$k, outer fragments: fragment_pcap.py"
		continue
	fi
	"$B/mailtap" -r "$T/of-$k.pcap" --seed 1 --stats-interval 3600 -w - 2>/dev/null | "$B/mailtap-cat" >"$T/of-$k.json"
	nfrag=$(frag_stat "$T/of-$k.json")
	if [ "${nfrag:-0}" -gt 100 ] && r=$(python3 "$T/cmp.py" "$k" "$T/none.json" "$T/of-$k.json" 2>&1); then
		ok "$k, outer fragments reversed ($nfrag datagrams reassembled): $r"
	else
		bad "$k, outer fragments (reassembled ${nfrag:-?}): $r"
	fi
done

# VXLAN on 8472 (Linux's own port: flannel's and Cilium's overlays, Zeek's redef
# Tunnel::vxlan_ports += { 8472/udp }): not followed with Zeek's default ports (no records
# but stats, no tunnel); with --vxlan-ports 4789,8472 the plain capture's records with the
# tunnel (to 8472) in tunnel_parents, its outer datagrams cut into fragments too (the last
# first); --vxlan-ports 8472 alone takes VXLAN on 4789 no more. Geneve on 4789 with VXLAN off
# (--vxlan-ports none --geneve-ports 4789) the same; with --geneve-ports 4789 alone, 4789 is
# in both lists (VXLAN's default): refused with exit status 1, naming the port.
gen_port() { # gen_port KIND PORT OUT
	"$B/tools/gen_smtp_pcap" -o "$3" -n 40 -c 8 -a 30000 --seed 21 --encap-port "$2" \
		--mix plain=30,attach=30,pipe=10,bdat=10,starttls=10,tls465=10 --encap "$1" >/dev/null 2>&1
}
run_json() { # run_json PCAP OUT.json [mailtap options]
	local in=$1 out=$2
	shift 2
	"$B/mailtap" -r "$in" --seed 1 --stats-interval 3600 "$@" -w - 2>"$out.err" | "$B/mailtap-cat" >"$out"
	return "${PIPESTATUS[0]}"
}
if gen_port vxlan 8472 "$T/vx8472.pcap"; then
	run_json "$T/vx8472.pcap" "$T/vx8472-def.json"
	if ! grep -q '"_path":"\(conn\|smtp\|tunnel\)"' "$T/vx8472-def.json" &&
		grep -q '"_path":"stats"' "$T/vx8472-def.json"; then
		ok "vxlan to 8472, default ports: not followed (no records)"
	else
		bad "vxlan to 8472, default ports: $(grep -c '"_path":"conn"' "$T/vx8472-def.json") conn records"
	fi
	run_json "$T/vx8472.pcap" "$T/vx8472.json" --vxlan-ports 4789,8472
	if r=$(python3 "$T/cmp.py" vxlan:8472 "$T/none.json" "$T/vx8472.json" 2>&1); then
		ok "vxlan to 8472, --vxlan-ports 4789,8472: $r"
	else
		bad "vxlan to 8472, --vxlan-ports 4789,8472: $r"
	fi
	if /usr/bin/python3 tests/fragment_pcap.py "$T/vx8472.pcap" "$T/of-vx8472.pcap" --size 256 --reverse --any >/dev/null 2>&1; then
		run_json "$T/of-vx8472.pcap" "$T/of-vx8472.json" --vxlan-ports 4789,8472
		nfrag=$(frag_stat "$T/of-vx8472.json")
		if [ "${nfrag:-0}" -gt 100 ] && r=$(python3 "$T/cmp.py" vxlan:8472 "$T/none.json" "$T/of-vx8472.json" 2>&1); then
			ok "vxlan to 8472, outer fragments reversed ($nfrag reassembled): $r"
		else
			bad "vxlan to 8472, outer fragments (reassembled ${nfrag:-?}): $r"
		fi
	else
		bad "vxlan to 8472, outer fragments: fragment_pcap.py"
	fi
	run_json "$T/vxlan.pcap" "$T/vx4789-only8472.json" --vxlan-ports 8472
	if ! grep -q '"_path":"\(conn\|smtp\|tunnel\)"' "$T/vx4789-only8472.json"; then
		ok "vxlan to 4789, --vxlan-ports 8472: not followed"
	else
		bad "vxlan to 4789, --vxlan-ports 8472: followed"
	fi
else
	bad "vxlan to 8472: gen_smtp_pcap --encap-port"
fi
if gen_port geneve 4789 "$T/gn4789.pcap"; then
	run_json "$T/gn4789.pcap" "$T/gn4789.json" --vxlan-ports none --geneve-ports 4789
	if r=$(python3 "$T/cmp.py" geneve:4789 "$T/none.json" "$T/gn4789.json" 2>&1); then
		ok "geneve to 4789, --vxlan-ports none --geneve-ports 4789: $r"
	else
		bad "geneve to 4789, --vxlan-ports none --geneve-ports 4789: $r"
	fi
	run_json "$T/gn4789.pcap" "$T/gn4789-both.json" --geneve-ports 4789
	rc=$?
	if [ "$rc" = 1 ] && grep -q "port 4789 is in both --vxlan-ports and --geneve-ports" "$T/gn4789-both.json.err"; then
		ok "--geneve-ports 4789 beside VXLAN's default: refused (exit 1)"
	else
		bad "--geneve-ports 4789 beside VXLAN's default: exit $rc, $(cat "$T/gn4789-both.json.err")"
	fi
else
	bad "geneve to 4789: gen_smtp_pcap --encap-port"
fi

# Teredo (IPv6 only): the small capture's sessions moved to IPv6 with scapy, plain and in
# Teredo between a client 172.16.0.1:40001 and a relay 172.16.0.2:3544 (the relay's packets
# from 3544, with an origin indication; the client's with an authentication header now and
# then): the same records but for tunnel_parents, one tunnel, DISCOVER and CLOSE. The broken
# forms next to them (a bubble with bytes after it, an IPv4 packet inside, an inner length
# past the payload, a cut authentication header) give no records but Zeek's one weird,
# Teredo_bubble_with_payload.
/usr/bin/python3 - "$T/small.pcap" "$T/v6.pcap" "$T/teredo.pcap" <<'EOF2' || bad "teredo: scapy"
import logging, struct, sys
logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
from scapy.all import IP, IPv6, UDP, TCP, Ether, Raw, PcapReader, PcapWriter
v6, ter = PcapWriter(sys.argv[2], sync=True), PcapWriter(sys.argv[3], sync=True)
auth = bytes([0, 1, 2, 3]) + b"id" + b"aut" + bytes(9)
origin = bytes([0, 0, 0xf2, 0x3c, 0xc0 ^ 0xff, 0, 2, 1])
def six(a):
    return "2001:0:ac10:1::" + "%x:%x" % tuple(int(x) for x in a.split(".")[2:])
def outer(to_relay, payload, t):
    src, dst = ("172.16.0.1", "172.16.0.2") if to_relay else ("172.16.0.2", "172.16.0.1")
    q = (Ether(src="02:00:00:00:00:11", dst="02:00:00:00:00:22") /
         IP(src=src, dst=dst, flags="DF") /
         UDP(sport=40001 if to_relay else 3544, dport=3544 if to_relay else 40001) /
         Raw(payload))
    q.time = t
    return q
n = 0
for p in PcapReader(sys.argv[1]):
    ip = p[IP]
    i6 = IPv6(src=six(ip.src), dst=six(ip.dst), hlim=64) / ip[TCP]
    del i6[TCP].chksum
    q = Ether(src=p.src, dst=p.dst) / i6
    q.time = p.time
    v6.write(q)
    to_relay = ip[TCP].dport in (25, 465, 587)
    hdr = (auth if n % 4 == 0 else b"") + (origin if n % 2 else b"") if to_relay else origin
    ter.write(outer(to_relay, hdr + bytes(i6), p.time))
    if n == 3:  # the broken forms, between two packets of a session
        bubble = bytes(IPv6(src=six("10.0.0.9"), dst=six("10.0.0.8"), nh=59, plen=0))
        ter.write(outer(True, bubble, p.time))
        ter.write(outer(True, bubble + b"xx", p.time))
        ter.write(outer(True, bytes(IP(src="10.0.0.9", dst="10.0.0.8") / TCP(dport=25)), p.time))
        bad = bytearray(bytes(i6))
        bad[5] += 1
        ter.write(outer(True, bytes(bad), p.time))
        ter.write(outer(True, auth[:10], p.time))
    n += 1
EOF2
if [ -s "$T/teredo.pcap" ]; then
	"$B/mailtap" -r "$T/v6.pcap" --seed 1 -w - 2>/dev/null | "$B/mailtap-cat" >"$T/v6.json"
	"$B/mailtap" -r "$T/teredo.pcap" --seed 1 -w - 2>/dev/null | "$B/mailtap-cat" >"$T/teredo.json"
	grep -v '"_path":"weird"' "$T/teredo.json" >"$T/teredo-nw.json"
	weirds=$(grep '"_path":"weird"' "$T/teredo.json" | python3 -c '
import json, sys
print(" ".join("%s:%s:%s" % (r["name"], r["id.orig_h"], r.get("source")) for r in map(json.loads, sys.stdin)))')
	if [ "$(grep -c '"_path":"smtp"' "$T/v6.json")" -gt 0 ] &&
		r=$(python3 "$T/cmp.py" teredo "$T/v6.json" "$T/teredo-nw.json" 2>&1) &&
		[ "$weirds" = "Teredo_bubble_with_payload:172.16.0.1:TEREDO" ]; then
		ok "teredo, both directions, origin and authentication headers: $r; broken forms: $weirds"
	else
		bad "teredo: $r; weirds: $weirds"
	fi
fi

# two workers: the same records as one worker's (compared as 25-workers does: without the
# per-worker uids; x509, known_certs and software without ts, notices by what identifies them; the DISCOVER's ts without, as the worker
# that registers the tunnel first may hold a later connection than the other), and one tunnel
# shared by both workers' connections
strip() { python3 -c '
import json, sys
ids = ("uid", "fuid", "fuids", "parent_fuid", "tunnel_parents")
rows, certs = [], set()
for l in open(sys.argv[1]):
    r = {k: v for k, v in json.loads(l).items() if k not in ids}
    if r["_path"] in ("stats", "capture_loss") or r.get("note", "").startswith("CaptureLoss::"):
        continue
    if r["_path"] in ("x509", "known_certs", "software", "known_hosts", "known_services"):  # shared: ts apart
        r.pop("ts", None)
        r.pop("port_num", None)
        rows.append(json.dumps(r, sort_keys=True))
    elif r["_path"] == "tunnel" and r["action"] == "Tunnel::DISCOVER":
        r.pop("ts", None)
        r.pop("port_num", None)
        certs.add(json.dumps(r, sort_keys=True))
    elif r["_path"] == "notice":  # the first connection to raise it depends on the workers
        certs.add(json.dumps([r.get(k) for k in ("note", "msg", "sub", "dst", "p")]))
    else:
        rows.append(json.dumps(r, sort_keys=True))
print("\n".join(sorted(rows) + sorted(certs)))' "$1"; }
"$B/mailtap" -r "$T/vxlan.pcap" --seed 1 --workers 2 -w - 2>/dev/null | "$B/mailtap-cat" >"$T/w2.json"
n1=$(grep -c '"_path":"tunnel"' "$T/w2.json")
nt=$(python3 -c '
import json, sys
s = {tuple(json.loads(l).get("tunnel_parents", [])) for l in open(sys.argv[1]) if "\"conn\"" in l}
print(len(s))' "$T/w2.json")
if [ "$(strip "$T/w2.json" | md5sum)" = "$(strip "$T/vxlan.json" | md5sum)" ] && [ "$n1" = 2 ] && [ "$nt" = 1 ]; then
	ok "vxlan, two workers: same records, one tunnel named by every conn"
else
	bad "vxlan, two workers: tunnel records $n1, distinct tunnel_parents $nt"
fi

# three workers on the reversed outer fragments: each fragment reaches the worker of the
# connection inside (held until the first fragment shows it)
if [ -s "$T/of-vxlan.pcap" ]; then
	"$B/mailtap" -r "$T/of-vxlan.pcap" --seed 1 --workers 3 --stats-interval 3600 -w - 2>/dev/null |
		"$B/mailtap-cat" >"$T/of-w3.json"
	held=$(python3 -c '
import json, sys
r = [json.loads(l) for l in open(sys.argv[1]) if "\"stats\"" in l][-1]
print(r["workers_frags_held"], r["workers_frags_unported"])' "$T/of-w3.json")
	if [ "$(strip "$T/of-w3.json" | md5sum)" = "$(strip "$T/vxlan.json" | md5sum)" ] &&
		[ "${held%% *}" -gt 0 ] && [ "${held##* }" = 0 ]; then
		ok "vxlan outer fragments, three workers: same records (fragments held, by address: $held)"
	else
		bad "vxlan outer fragments, three workers (held, by address: $held)"
	fi
fi
# the same to VXLAN's port 8472 (--vxlan-ports 4789,8472): the workers' steering and its
# fragment holding read the configured ports too
if [ -s "$T/of-vx8472.pcap" ]; then
	run_json "$T/of-vx8472.pcap" "$T/of-vx8472-w3.json" --vxlan-ports 4789,8472 --workers 3
	held=$(python3 -c '
import json, sys
r = [json.loads(l) for l in open(sys.argv[1]) if "\"stats\"" in l][-1]
print(r["workers_frags_held"], r["workers_frags_unported"])' "$T/of-vx8472-w3.json")
	if [ "$(strip "$T/of-vx8472-w3.json" | md5sum)" = "$(strip "$T/vx8472.json" | md5sum)" ] &&
		[ "${held%% *}" -gt 0 ] && [ "${held##* }" = 0 ]; then
		ok "vxlan to 8472 outer fragments, three workers: same records (held, by address: $held)"
	else
		bad "vxlan to 8472 outer fragments, three workers (held, by address: $held)"
	fi
fi

# --max-tunnels 1 and two tunnels: the first keeps its records, the second's connections
# have no tunnel_parents, and --stats says how many found no room
python3 - "$T/vxlan.pcap" "$T/gre.pcap" "$T/two.pcap" <<'EOF'
import struct, sys
def frames(p):
    d = open(p, "rb").read()
    o, out = 24, []
    while o + 16 <= len(d):
        sec, us, incl, orig = struct.unpack("<IIII", d[o:o + 16])
        out.append((sec, us, d[o:o + 16 + incl]))
        o += 16 + incl
    return d[:24], out
h, a = frames(sys.argv[1])
_, b = frames(sys.argv[2])
# the GRE copy's sessions start after the VXLAN ones (its clients moved to other ports)
b = [(s + 10, u, f[:16] + f[16:]) for s, u, f in b]
with open(sys.argv[3], "wb") as o:
    o.write(h)
    for s, u, f in a:
        o.write(f)
    for s, u, f in b:
        o.write(struct.pack("<II", s, u) + f[8:])
EOF
# (in --stats and in the stats record's tunnels_full)
"$B/mailtap" -r "$T/two.pcap" --seed 1 --max-tunnels 1 --stats --stats-interval 3600 -w - \
	2>"$T/two.err" | "$B/mailtap-cat" >"$T/two.json"
with=$(grep '"_path":"conn"' "$T/two.json" | grep -c tunnel_parents)
without=$(grep '"_path":"conn"' "$T/two.json" | grep -vc tunnel_parents)
room=$(sed -n 's/.*no room \([0-9]*\).*/\1/p' "$T/two.err")
full=$(python3 -c '
import json, sys
print([json.loads(l) for l in open(sys.argv[1]) if "\"stats\"" in l][-1]["tunnels_full"])' "$T/two.json")
if [ "$with" -gt 0 ] && [ "$without" -gt 0 ] && [ "${room:-0}" -gt 0 ] && [ "$full" = "$room" ] &&
	[ "$(grep -c '"_path":"tunnel"' "$T/two.json")" = 2 ]; then
	ok "--max-tunnels 1: $with conns through the tracked tunnel, $without without, $room counted (tunnels_full $full)"
else
	bad "--max-tunnels 1: with $with, without $without, no room '${room:-}', tunnels_full '$full'"
	cat "$T/two.err"
fi

# a connection through two tunnels (two mirror sessions, one at each end: the client's packets
# come in VXLAN from 172.16.0.1, the server's from 172.16.0.3) names both in tunnel_parents,
# as Zeek's set over the connection's life; both tunnels DISCOVER at their first packet and
# CLOSE at the end. A connection whose first packets (SYN, SYN-ACK) came outside any tunnel
# names the tunnel its later ones came through. The other records are the plain capture's,
# with one worker and with two.
/usr/bin/python3 - "$T/none.pcap" "$T/m2.pcap" "$T/late.pcap" <<'EOF2' || bad "two mirror sessions: scapy"
import logging, sys
logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
from scapy.all import IP, UDP, TCP, Ether, PcapReader, PcapWriter
from scapy.layers.vxlan import VXLAN
def vx(p, src, vni):
    q = (Ether(src="02:00:00:00:00:11", dst="02:00:00:00:00:22") /
         IP(src=src, dst="172.16.0.2", flags="DF") / UDP(sport=49152, dport=4789) /
         VXLAN(vni=vni) / p)
    q.time = p.time
    return q
m2, late = PcapWriter(sys.argv[2], sync=True), PcapWriter(sys.argv[3], sync=True)
for p in PcapReader(sys.argv[1]):
    to_srv = p[TCP].dport in (25, 465, 587)
    m2.write(vx(p, "172.16.0.1" if to_srv else "172.16.0.3", 4242 if to_srv else 4243))
    late.write(p if p[TCP].flags & 0x02 else vx(p, "172.16.0.1", 4242))
EOF2
# the tunnel records and every conn's tunnel_parents (the other records: strip, below)
cat >"$T/two_tun.py" <<'EOF2'
import json, sys
mode, got = sys.argv[1], [json.loads(l) for l in open(sys.argv[2])]
tun = [r for r in got if r["_path"] == "tunnel"]
disc = {t["id.orig_h"]: t["uid"] for t in tun if t["action"] == "Tunnel::DISCOVER"}
want_src = ["172.16.0.1", "172.16.0.3"] if mode == "m2" else ["172.16.0.1"]
if sorted(disc) != want_src or sorted(t["action"] for t in tun) != \
        ["Tunnel::CLOSE"] * len(want_src) + ["Tunnel::DISCOVER"] * len(want_src):
    sys.exit("tunnel records %s" % [(t["id.orig_h"], t["action"]) for t in tun])
want = sorted(disc[s] for s in want_src)
conns = [r for r in got if r["_path"] == "conn"]
for r in conns:
    if sorted(r.get("tunnel_parents", [])) != want:
        sys.exit("conn %s:%s: tunnel_parents %s, want %s" % (r["id.orig_h"], r["id.orig_p"],
                                                           r.get("tunnel_parents"), want))
print("%d conns name %d tunnels" % (len(conns), len(want)))
EOF2
for m in m2 late; do
	[ -s "$T/$m.pcap" ] || continue
	for w in 1 2; do
		"$B/mailtap" -r "$T/$m.pcap" --seed 1 --workers $w --stats-interval 3600 -w - 2>/dev/null |
			"$B/mailtap-cat" >"$T/$m-w$w.json"
		st=$(python3 -c '
import json, sys
r = [json.loads(l) for l in open(sys.argv[1]) if "\"stats\"" in l][-1]
print(r["tunnel_changes"], r["tunnel_multi_conns"], r["tunnel_multi_conns_active"], r["tunnel_parents_full"])' "$T/$m-w$w.json")
		want_multi=$([ $m = m2 ] && echo 40 || echo 0)
		if r=$(python3 "$T/two_tun.py" $m "$T/$m-w$w.json" 2>&1) &&
			[ "$(strip "$T/$m-w$w.json" | grep -v '"_path": "tunnel"' | md5sum)" = \
				"$(strip "$T/none.json" | md5sum)" ] &&
			[ "$(echo "$st" | cut -d' ' -f2-)" = "$want_multi 0 0" ]; then
			ok "$m, $w worker(s): $r (changes, connections, active, full: $st)"
		else
			bad "$m, $w worker(s): $r (changes, connections, active, full: $st)"
		fi
	done
done

# two tunnels deep (Zeek's Tunnel::max_depth 2): a mirror's tunnel (--encap) around the nodes'
# (--encap2: 192.168.100.1 and .2), every kind in another: the plain capture's records, each
# conn naming the inner tunnel alone in tunnel_parents; tunnel records for both levels
# (DISCOVER, CLOSE for the UDP ones), each with its own endpoints and uid, the outer first.
# VXLAN on 8472 in VXLAN (a traffic mirror of flannel or Cilium nodes) also with its outer
# datagrams cut into fragments (the last first), with three workers, and with the inner
# tunnel's datagrams cut into fragments (reassembled inside the outer tunnel). A third level:
# not followed, Zeek's flow weird exceeded_tunnel_max_depth_in_tunnel, counted.
cat >"$T/cmp2.py" <<'EOF'
import json, sys
def load(p):
    return [json.loads(l) for l in open(p) if l.strip()]
outer, inner, base, enc = sys.argv[1], sys.argv[2], load(sys.argv[3]), load(sys.argv[4])
def spec(kind, a, b):
    kind, port = (kind.split(":") + [None])[:2]
    ports = {"vxlan": (49152, 4789), "geneve": (49152, 6081), "ayiya": (40001, 5072),
             "gtp": (2152, 2152), "teredo": (40001, 3544)}.get(kind, (0, 0))
    if port:
        ports = (ports[0], int(port))
    typ = {"vxlan": "Tunnel::VXLAN", "geneve": "Tunnel::GENEVE", "ayiya": "Tunnel::AYIYA",
           "gtp": "Tunnel::GTPv1", "teredo": "Tunnel::TEREDO"}.get(kind, "Tunnel::GRE")
    return (typ, a, b) + ports
want_o = spec(outer, "172.16.0.1", "172.16.0.2")
want_i = spec(inner, "192.168.100.1", "192.168.100.2")
if outer.startswith("teredo"):  # the nodes' packets moved to IPv6 by the outer Teredo
    want_i = (want_i[0], "2001:0:ac10:1::c0a8:6401", "2001:0:ac10:1::c0a8:6402") + want_i[3:]
base = [r for r in base if r["_path"] != "stats"]
enc = [r for r in enc if r["_path"] != "stats" and r.get("name") != "excessively_small_fragment"]
tun = [r for r in enc if r["_path"] == "tunnel"]
def key(t):
    return (t["tunnel_type"], t["id.orig_h"], t["id.resp_h"], t["id.orig_p"], t["id.resp_p"])
to = [t for t in tun if key(t) == want_o]
ti = [t for t in tun if key(t) == want_i]
if len(to) + len(ti) != len(tun) or not to or not ti:
    sys.exit("tunnel records %s, want %s and %s" % ([key(t) for t in tun], want_o, want_i))
for lv, ts, w in (("outer", to, want_o), ("inner", ti, want_i)):
    acts = [t["action"] for t in ts]
    udp = w[3:] != (0, 0)
    if acts != (["Tunnel::DISCOVER", "Tunnel::CLOSE"] if udp else ["Tunnel::DISCOVER"]):
        sys.exit("%s tunnel actions %s" % (lv, acts))
    if len({t["uid"] for t in ts}) != 1:
        sys.exit("%s tunnel uids %s" % (lv, [t["uid"] for t in ts]))
if tun[0] is not to[0]:
    sys.exit("the inner tunnel discovered before the outer")
if to[0]["uid"] == ti[0]["uid"]:
    sys.exit("one uid for both levels")
rest, conns = [], 0
for r in enc:
    if r["_path"] == "tunnel":
        continue
    r = dict(r)
    if r["_path"] == "conn":
        conns += 1
        tp = r.pop("tunnel_parents", None)
        if tp != [ti[0]["uid"]]:
            sys.exit("conn %s: tunnel_parents %s, want the inner tunnel's %s" % (r["uid"], tp, ti[0]["uid"]))
    rest.append(json.dumps(r, sort_keys=True))
a = sorted(json.dumps(r, sort_keys=True) for r in base)
if sorted(rest) != a:
    for x in [x for x in sorted(rest) if x not in set(a)][:3]:
        print("  encapsulated only:", x[:300])
    for x in [x for x in a if x not in set(rest)][:3]:
        print("  plain only:       ", x[:300])
    sys.exit("records differ")
print("%d records (%d conn), %d tunnel" % (len(rest), conns, len(tun)))
EOF
# vx_wrap IN OUT: every frame of IN put in VXLAN to 4789 from 10.99.0.1 to 10.99.0.2 (scapy)
vx_wrap() { /usr/bin/python3 tests/vxlan_wrap.py "$1" "$2"; }
gen2() { # gen2 OUTER INNER OUT: OUTER, INNER as KIND[:PORT]
	local o=${1%%:*} i=${2%%:*} op=() ip=()
	[ "$o" != "$1" ] && op=(--encap-port "${1#*:}")
	[ "$i" != "$2" ] && ip=(--encap2-port "${2#*:}")
	"$B/tools/gen_smtp_pcap" -o "$3" -n 40 -c 8 -a 30000 --seed 21 \
		--mix plain=30,attach=30,pipe=10,bdat=10,starttls=10,tls465=10 \
		--encap "$o" "${op[@]}" --encap2 "$i" "${ip[@]}" >/dev/null 2>&1
}
for pair in vxlan,vxlan:8472 vxlan,geneve erspan3,vxlan:8472 erspan2,geneve gre,vxlan:8472 \
	geneve,vxlan:8472 vxlan,gre vxlan,erspan2 gre,gre vxlan,pptp geneve,ayiya gtp,gtp \
	vxlan,gtp gtp,vxlan:8472 ayiya,vxlan:8472 teredo,vxlan:8472 pptp,geneve; do
	o=${pair%,*} i=${pair#*,}
	f="$T/two-${o%%:*}-${i%%:*}"
	if ! gen2 "$o" "$i" "$f.pcap"; then
		bad "$i in $o: gen_smtp_pcap --encap2"
		continue
	fi
	run_json "$f.pcap" "$f.json" --vxlan-ports 4789,8472
	if r=$(python3 "$T/cmp2.py" "$o" "$i" "$T/none.json" "$f.json" 2>&1); then
		ok "$i in $o: $r"
	else
		bad "$i in $o: $r"
	fi
done
vv="$T/two-vxlan-vxlan"
if [ -s "$vv.pcap" ]; then
	run_json "$vv.pcap" "$vv-w1.json" --vxlan-ports 4789,8472
	run_json "$vv.pcap" "$vv-w3.json" --vxlan-ports 4789,8472 --workers 3
	if [ "$(strip "$vv-w3.json" | md5sum)" = "$(strip "$vv-w1.json" | md5sum)" ]; then
		ok "vxlan:8472 in vxlan, three workers: same records"
	else
		bad "vxlan:8472 in vxlan, three workers: records differ"
	fi
	if /usr/bin/python3 tests/fragment_pcap.py "$vv.pcap" "$vv-of.pcap" --size 256 --reverse --any >/dev/null 2>&1; then
		run_json "$vv-of.pcap" "$vv-of.json" --vxlan-ports 4789,8472
		nfrag=$(frag_stat "$vv-of.json")
		if [ "${nfrag:-0}" -gt 100 ] && r=$(python3 "$T/cmp2.py" vxlan vxlan:8472 "$T/none.json" "$vv-of.json" 2>&1); then
			ok "vxlan:8472 in vxlan, outer fragments reversed ($nfrag reassembled): $r"
		else
			bad "vxlan:8472 in vxlan, outer fragments (reassembled ${nfrag:-?}): $r"
		fi
		run_json "$vv-of.pcap" "$vv-of-w3.json" --vxlan-ports 4789,8472 --workers 3
		nt=$(python3 -c '
import json, sys
s = {tuple(json.loads(l).get("tunnel_parents", [])) for l in open(sys.argv[1]) if "\"conn\"" in l}
print(len(s), sum(1 for l in open(sys.argv[1]) if "\"tunnel\"" in l))' "$vv-of-w3.json")
		if [ "$(strip "$vv-of-w3.json" | md5sum)" = "$(strip "$vv-w1.json" | md5sum)" ] && [ "$nt" = "1 4" ]; then
			ok "vxlan:8472 in vxlan, outer fragments, three workers: same records (distinct tunnel_parents, tunnel records: $nt)"
		else
			bad "vxlan:8472 in vxlan, outer fragments, three workers (distinct tunnel_parents, tunnel records: $nt)"
		fi
	else
		bad "vxlan:8472 in vxlan, outer fragments: fragment_pcap.py"
	fi
fi
# the inner tunnel's datagrams cut into fragments: the one-level capture to 8472 (its tunnel
# between 172.16.0.1 and .2 the inner one here) fragmented, each frame then put in VXLAN
if [ -s "$T/vx8472.pcap" ] &&
	/usr/bin/python3 tests/fragment_pcap.py "$T/vx8472.pcap" "$T/if.pcap" --size 256 --reverse --any >/dev/null 2>&1 &&
	vx_wrap "$T/if.pcap" "$T/vx-if.pcap"; then
	run_json "$T/vx-if.pcap" "$T/vx-if.json" --vxlan-ports 4789,8472
	nfrag=$(frag_stat "$T/vx-if.json")
	if r=$(python3 - "$T/none.json" "$T/vx-if.json" 2>&1 <<'EOF'
import json, sys
base = sorted(json.dumps(r, sort_keys=True) for r in map(json.loads, open(sys.argv[1])) if r["_path"] != "stats")
enc = [json.loads(l) for l in open(sys.argv[2])]
tun = [r for r in enc if r["_path"] == "tunnel"]
ends = sorted({(t["id.orig_h"], t["id.resp_p"]) for t in tun})
if ends != [("10.99.0.1", 4789), ("172.16.0.1", 8472)]:
    sys.exit("tunnels %s" % ends)
inner = [t["uid"] for t in tun if t["id.resp_p"] == 8472][0]
rest = []
for r in enc:
    if r["_path"] in ("stats", "tunnel") or r.get("name") == "excessively_small_fragment":
        continue
    if r["_path"] == "conn" and r.pop("tunnel_parents", None) != [inner]:
        sys.exit("conn %s: tunnel_parents" % r["uid"])
    rest.append(json.dumps(r, sort_keys=True))
if sorted(rest) != base:
    sys.exit("records differ")
print("%d records, %d tunnel" % (len(rest), len(tun)))
EOF
	) && [ "${nfrag:-0}" -gt 100 ]; then
		ok "vxlan:8472 fragments inside vxlan ($nfrag reassembled): $r"
	else
		bad "vxlan:8472 fragments inside vxlan (reassembled ${nfrag:-?}): $r"
	fi
else
	bad "vxlan:8472 fragments inside vxlan: fragment_pcap.py or scapy"
fi
# a third level: VXLAN to 4789 around the two-level capture: no mail records, the weird (a
# flow weird of the packet inside the second tunnel: the nodes', source VXLAN), every packet counted in
# decode_exceeded_tunnel_max_depth
if [ -s "$vv.pcap" ] && vx_wrap "$vv.pcap" "$T/three.pcap"; then
	run_json "$T/three.pcap" "$T/three.json" --vxlan-ports 4789,8472
	if r=$(python3 - "$T/three.json" "$(tcpdump -r "$vv.pcap" 2>/dev/null | wc -l)" 2>&1 <<'EOF'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
n = int(sys.argv[2])
bad = [r["_path"] for r in recs if r["_path"] in ("conn", "smtp", "tunnel", "files", "ssl")]
if bad:
    sys.exit("records %s" % sorted(set(bad)))
w = [r for r in recs if r["_path"] == "weird"]
got = sorted({(r["name"], r["id.orig_h"], r["id.resp_h"], r.get("source")) for r in w})
want = [("exceeded_tunnel_max_depth_in_tunnel", "192.168.100.1", "192.168.100.2", "VXLAN")]
if got != want:
    sys.exit("weirds %s, want %s" % (got, want))
st = [r for r in recs if r["_path"] == "stats"][-1]
if st["decode_exceeded_tunnel_max_depth"] != n:
    sys.exit("decode_exceeded_tunnel_max_depth %s, want %d" % (st["decode_exceeded_tunnel_max_depth"], n))
print("%d weird records, %d packets counted" % (len(w), n))
EOF
	); then
		ok "a third level (vxlan:8472 in vxlan in vxlan): $r"
	else
		bad "a third level: $r"
	fi
else
	bad "a third level: scapy"
fi

[ $fails -eq 0 ] || { echo "17-encap: $fails failed"; exit 1; }
echo "17-encap: all passed"
