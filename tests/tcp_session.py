# SPDX-License-Identifier: BSD-3-Clause
"""TCP sessions for the suites' scapy captures: a handshake, data each way with sequence
and acknowledgement numbers kept, a close; every packet 1 ms after the one before.

    pk = []
    s = TcpSession(pk, "10.0.0.1", 40000, "10.0.0.2", 25, t0=1000.0)
    s.handshake(); s.srv(b"220 mx\\r\\n"); s.cli(b"EHLO a\\r\\n"); s.close()
    wrpcap(path, pk)
"""
from scapy.all import Ether, IP, TCP


class TcpSession:
    def __init__(self, packets, client, cport, server, sport, t0):
        self.pk, self.c, self.cp, self.s, self.sp = packets, client, cport, server, sport
        self.t = t0
        self.seq = {client: 100, server: 500}

    def seg(self, src, data=b"", flags="PA"):
        to_srv = src == self.c
        dst = self.s if to_srv else self.c
        sport, dport = (self.cp, self.sp) if to_srv else (self.sp, self.cp)
        ack = 0 if flags == "S" else self.seq[dst]
        p = Ether() / IP(src=src, dst=dst) / TCP(sport=sport, dport=dport, flags=flags,
                                               seq=self.seq[src], ack=ack) / data
        self.t += 0.001
        p.time = self.t
        self.pk.append(p)
        self.seq[src] += len(data) + (1 if "S" in flags or "F" in flags else 0)

    def handshake(self):
        self.seg(self.c, flags="S")
        self.seg(self.s, flags="SA")
        self.seg(self.c, flags="A")

    def cli(self, data):
        self.seg(self.c, data)

    def srv(self, data):
        self.seg(self.s, data)

    def close(self):
        self.seg(self.c, flags="FA")
        self.seg(self.s, flags="FA")
        self.seg(self.c, flags="A")
