#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Writes a copy of a capture with every IPv4/IPv6 TCP packet larger than SIZE fragmented into
SIZE-byte fragments (in reverse order when --reverse), for the fragment reassembly test.
With --any, every IP packet larger than SIZE whatever it carries (the outer IP header of a
tunnel packet: VXLAN, Geneve, GRE, ERSPAN).
With --vlan ID, every frame (fragmented or not) gets a VLAN tag; with --dstopt, every IPv6 TCP
packet a Destination Options header before TCP, after the fragment header when fragmented;
with --dup-after-last, a datagram's first fragment comes again right after its last one.
Usage: fragment_pcap.py IN OUT [--size 64] [--reverse] [--overlap] [--any] [--vlan ID]
                        [--dstopt] [--dup-after-last]"""
import argparse
import logging

logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
from scapy.all import IP, IPv6, IPv6ExtHdrDestOpt, IPv6ExtHdrFragment, TCP, Dot1Q, Ether, PcapReader, PcapWriter, fragment, fragment6, raw  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("inp")
    ap.add_argument("out")
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--reverse", action="store_true")
    ap.add_argument("--overlap", action="store_true", help="also send a duplicate first fragment")
    ap.add_argument("--any", action="store_true", help="not only packets scapy sees TCP in")
    ap.add_argument("--drop-last", action="store_true", help="never send a datagram's last fragment")
    ap.add_argument("--vlan", type=int, help="tag every frame with this VLAN id")
    ap.add_argument("--dstopt", action="store_true", help="IPv6: a Destination Options header before TCP")
    ap.add_argument("--dup-after-last", action="store_true", help="the first fragment again after the last")
    a = ap.parse_args()

    def link(p, f):  # the frame around f: p's Ethernet header, a VLAN tag with --vlan
        if Ether not in p:
            return f
        e = raw(p[Ether])[:12]
        if a.vlan is None:
            return Ether(e + raw(p[Ether])[12:14]) / f
        return Ether(e + b"\x81\x00") / Dot1Q(vlan=a.vlan) / f
    w = PcapWriter(a.out, sync=True)
    n = nf = 0
    for p in PcapReader(a.inp):
        n += 1
        t = p.time
        frags = None
        tcp = TCP in p or a.any
        if a.dstopt and IPv6 in p and TCP in p:
            q = p[IPv6].copy()
            q.remove_payload()
            del q.nh, q.plen
            p = link(p, q / IPv6ExtHdrDestOpt() / p[TCP])
            p = p.__class__(raw(p))  # rebuilt: lengths and next headers computed
        elif a.vlan is not None and (IP in p or IPv6 in p):
            p = link(p, (p[IP] if IP in p else p[IPv6]).copy())
        p.time = t
        # the datagram as its IP length says, without the Ethernet padding of short frames
        # (scapy keeps it in p[IP]: fragmenting it would add bytes to the TCP segment)
        ip = IP(raw(p[IP])[:p[IP].len]) if IP in p else None
        ip6 = IPv6(raw(p[IPv6])[:p[IPv6].plen + 40]) if IPv6 in p else None
        if ip is not None and tcp and len(ip) > a.size + 20:
            ip.flags = int(ip.flags) & ~2  # a router fragments only without DF (else: Zeek's fragment_with_DF)
            del ip.chksum
            frags = fragment(ip, fragsize=a.size)
        elif ip6 is not None and tcp and len(ip6) > a.size + 48:
            q = ip6.copy()
            q.remove_payload()
            del q.nh, q.plen  # recomputed: the fragment header comes next
            q = q / IPv6ExtHdrFragment(nh=ip6.nh) / ip6.payload
            frags = fragment6(q, a.size + 48)
        if not frags:
            w.write(p)
            continue
        if a.drop_last:
            frags = list(frags)[:-1]
        if a.reverse:
            frags = list(reversed(frags))
        if a.overlap:
            frags = [frags[0]] + list(frags)
        if a.dup_after_last and len(frags) > 2:
            frags = [frags[0], frags[-1], frags[0]] + list(frags[1:-1])
        for f in frags:
            f = link(p, f)
            f.time = p.time
            w.write(f)
            nf += 1
    w.close()
    print("%d packets, %d fragments written" % (n, nf))


if __name__ == "__main__":
    main()
