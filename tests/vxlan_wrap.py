#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""vxlan_wrap.py IN OUT [SRC DST]: every frame of IN put whole in VXLAN (UDP 49152 -> 4789,
VNI 4242, outer IPv4 SRC -> DST, default 10.99.0.1 -> 10.99.0.2, DF set), times kept. For
the encapsulation suites (17-encap, 50-xdp-live-vs-offline): a mirror's VXLAN around frames
that may themselves be tunnels or fragments."""
import logging
import sys

logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
from scapy.all import IP, UDP, Ether, PcapReader, PcapWriter  # noqa: E402
from scapy.layers.vxlan import VXLAN  # noqa: E402

if len(sys.argv) not in (3, 5):
    sys.exit(__doc__)
src, dst = (sys.argv[3], sys.argv[4]) if len(sys.argv) == 5 else ("10.99.0.1", "10.99.0.2")
w = PcapWriter(sys.argv[2], sync=True)
for p in PcapReader(sys.argv[1]):
    q = (Ether(src="02:00:00:00:00:11", dst="02:00:00:00:00:22") /
         IP(src=src, dst=dst, flags="DF") /
         UDP(sport=49152, dport=4789) / VXLAN(vni=4242) / p)
    q.time = p.time
    w.write(q)
