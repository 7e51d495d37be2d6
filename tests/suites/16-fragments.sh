#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# IP fragment reassembly: captures whose TCP packets were cut into 64-byte fragments (IPv4,
# delivered in reverse order; IPv6), or into 16- and 24-byte ones, give exactly the records
# of the original capture; a duplicated fragment gives fragment_overlap weirds, and tiny
# ones excessively_small_fragment, as Zeek's flow weirds (addresses, ports 0, once per source
# address as weird.zeek's ACTION_LOG_PER_ORIG, the rest held back and
# counted) and the same records otherwise; VLAN tags are kept; IPv6 extension headers after
# the fragment header are parsed once whole; with two workers, fragments (duplicated, or
# behind extension headers) reach their connection's worker; a memory cap too small for any
# datagram drops them, counted.
set -u
cd "$(dirname "$0")/../.."
B=${BUILD:-build}
Z=../shared/corpus/zeek/traces
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fails=$((fails + 1)); }
canon() { # records without random ids, stats and fragment weirds
	"$B/mailtap-cat" "$1" | python3 -c '
import sys, json
ids = ("uid", "fuid", "fuids", "parent_fuid")
def keep(r):
    return r["_path"] != "stats" and not (r["_path"] == "weird" and (
        r["name"].startswith("fragment_") or r["name"] == "excessively_small_fragment"))
rows = [json.loads(l) for l in sys.stdin]
for r in sorted(json.dumps({k: v for k, v in r.items() if k not in ids}, sort_keys=True)
                for r in rows if keep(r)):
    print(r)'
}
check() { # name original fragmented-args...
	local name=$1 orig=$2
	shift 2
	/usr/bin/python3 tests/fragment_pcap.py "$orig" "$T/$name.pcap" "$@" >/dev/null || { bad "$name: scapy"; return; }
	"$B/mailtap" -r "$orig" --seed 1 -w "$T/o.mp"
	# shellcheck disable=SC2086 # $W: extra options, word-split
	"$B/mailtap" -r "$T/$name.pcap" --seed 1 --stats-interval 1 ${W:-} -w "$T/f.mp"
	canon "$T/o.mp" >"$T/o.txt"
	canon "$T/f.mp" >"$T/f.txt"
	grep -q '"_path": "smtp"' "$T/o.txt" || { bad "$name: reference has no smtp record"; return; }
	if cmp -s "$T/o.txt" "$T/f.txt"; then ok "$name: same records as the original"; else
		bad "$name: records differ"
		diff "$T/o.txt" "$T/f.txt" | head -4 | cut -c1-250
	fi
	n=$("$B/mailtap-cat" -s stats "$T/f.mp" | python3 -c 'import sys,json; print(json.loads(sys.stdin.readlines()[-1])["frag_reassembled"])')
	[ "$n" -gt 0 ] && ok "$name: $n datagrams reassembled" || bad "$name: nothing reassembled"
}
# fragment weirds are Zeek's flow weirds: the addresses, ports 0, no uid; fragment_overlap and
# excessively_small_fragment are ACTION_LOG_PER_ORIG in weird.zeek: once per source address
# (a day), the rest held back
per_orig() { # name: the weirds of that name in $T/f.mp
	"$B/mailtap-cat" "$T/f.mp" >"$T/f.json"
	if r=$(python3 - "$T/f.json" "$1" <<'EOF2'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
name = sys.argv[2]
ws = [r for r in recs if r["_path"] == "weird" and r["name"] == name]
held = [r for r in recs if r["_path"] == "stats"][-1]["weirds_held_back"]
origs = [r["id.orig_h"] for r in ws]
if not ws or held == 0 or len(set(origs)) != len(origs) or any(
        "uid" in r or r["id.orig_p"] != 0 or r["id.resp_p"] != 0 or "id.resp_h" not in r for r in ws):
    sys.exit("%d weirds (%d sources), %d held back: %s" % (len(ws), len(set(origs)), held, ws[:2]))
print("%d %s weirds, one per source address, with the addresses and ports 0; %d held back" % (len(ws), name, held))
EOF2
	); then ok "$r"; else bad "$1 weirds: $r"; fi
}
check ipv4-reverse "$Z/smtp.pcap" --reverse
# tiny fragments: up to 94 for a datagram, in order and reversed (the 60-byte frames of
# pure ACKs carry Ethernet padding that must not become data)
check ipv4-16 "$Z/smtp.pcap" --size 16
per_orig excessively_small_fragment # 36 bytes of IP before the last fragment
check ipv4-24-reverse "$Z/smtp.pcap" --size 24 --reverse
check ipv6 "$Z/smtp-attachment-msg.pcap"
check ipv4-overlap "$Z/smtp.pcap" --overlap
per_orig fragment_overlap
# the reassembled datagram keeps the frame's VLAN tag (conn's vlan, from the first packet:
# a fragmented SYN), as Zeek's Packet does
/usr/bin/python3 tests/fragment_pcap.py "$Z/smtp.pcap" "$T/vlan.pcap" --size 65535 --vlan 100 >/dev/null
check ipv4-vlan "$T/vlan.pcap" --vlan 100 --reverse --size 32 # the SYN too
grep -q '"vlan": 100' "$T/o.txt" && ok "ipv4-vlan: reference has the vlan" || bad "ipv4-vlan: no vlan in the reference"
# IPv6 with a Destination Options header after the fragment header, before TCP: reassembled,
# its chain parsed; and with two workers, steered by the ports behind it
/usr/bin/python3 tests/fragment_pcap.py "$Z/smtp-attachment-msg.pcap" "$T/dstopt.pcap" --size 65535 --dstopt >/dev/null
check ipv6-dstopt "$T/dstopt.pcap"
W="--workers 2" check ipv6-dstopt-workers "$T/dstopt.pcap" --reverse
# a first fragment again after the last: with two workers, the datagram is not forgotten (its
# steering) before its middle fragments come
W="--workers 2" check ipv4-dup-workers "$Z/smtp.pcap" --dup-after-last
# datagrams that never complete, at most one kept at a time: each new one evicts the last
/usr/bin/python3 tests/fragment_pcap.py "$Z/smtp.pcap" "$T/incomplete.pcap" --drop-last >/dev/null
"$B/mailtap" -r "$T/incomplete.pcap" --frag-max-datagrams 1 --stats-interval 1 -w "$T/c.mp"
d=$("$B/mailtap-cat" -s stats "$T/c.mp" | python3 -c 'import sys,json; r=json.loads(sys.stdin.readlines()[-1]); print(r["frag_dropped"] + r["frag_timeouts"] + r["frag_evicted"])')
[ "$d" -gt 0 ] && ok "limits hit and counted ($d)" || bad "limits not counted"
echo "fragments: $fails failure(s)"
[ $fails -eq 0 ]
