#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Writes a copy of a capture with every IPv4/IPv6 TCP packet larger than SIZE fragmented into
SIZE-byte fragments (in reverse order when --reverse), for the fragment reassembly test.
With --any, every IP packet larger than SIZE whatever it carries (the outer IP header of a
tunnel packet: VXLAN, Geneve, GRE, ERSPAN).
Usage: fragment_pcap.py IN OUT [--size 64] [--reverse] [--overlap] [--any]"""
import argparse
import logging

logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
from scapy.all import IP, IPv6, IPv6ExtHdrFragment, TCP, Ether, PcapReader, PcapWriter, fragment, fragment6, raw  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("inp")
    ap.add_argument("out")
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--reverse", action="store_true")
    ap.add_argument("--overlap", action="store_true", help="also send a duplicate first fragment")
    ap.add_argument("--any", action="store_true", help="not only packets scapy sees TCP in")
    ap.add_argument("--drop-last", action="store_true", help="never send a datagram's last fragment")
    a = ap.parse_args()
    w = PcapWriter(a.out, sync=True)
    n = nf = 0
    for p in PcapReader(a.inp):
        n += 1
        frags = None
        tcp = TCP in p or a.any
        if IP in p and tcp and len(p[IP]) > a.size + 20:
            frags = fragment(p[IP], fragsize=a.size)
        elif IPv6 in p and tcp and len(p[IPv6]) > a.size + 48:
            q = p[IPv6].copy()
            q.remove_payload()
            del q.nh, q.plen  # recomputed: the fragment header comes next
            q = q / IPv6ExtHdrFragment(nh=6) / p[IPv6].payload
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
        for f in frags:
            f = Ether(raw(p[Ether])[:12] + raw(p[Ether])[12:14]) / f if Ether in p else f
            f.time = p.time
            w.write(f)
            nf += 1
    w.close()
    print("%d packets, %d fragments written" % (n, nf))


if __name__ == "__main__":
    main()
