#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Writes tests/data/demo-smtp.pcap: a small, deterministic capture for `make demo` and the
live-capture tests. Contents (Ethernet, IPv4):
  1. SMTP 192.0.2.10:40001 -> 198.51.100.25:25: handshake, banner, EHLO, MAIL, RCPT, DATA
     (a multipart message with a text part and a small attachment), QUIT, FIN/ACK close.
  2. Non-mail noise the XDP filter must pass: an HTTP exchange on port 80, a DNS query
     over UDP/53 and an ARP request.
Usage: /usr/bin/python3 tests/data/gen-demo-smtp.py [OUT]   (needs python3-scapy)
"""
import sys

from scapy.all import ARP, DNS, DNSQR, IP, TCP, UDP, Ether, Raw, wrpcap

OUT = sys.argv[1] if len(sys.argv) > 1 else "tests/data/demo-smtp.pcap"
T0 = 1700000000.0
CLI_MAC, SRV_MAC = "02:00:00:00:00:0a", "02:00:00:00:00:19"
pkts = []
t = [T0]


def emit(p, dt=0.001):
    t[0] += dt
    p.time = t[0]
    pkts.append(p)


class Conn:
    """A TCP connection with correct sequence numbers, data sent in order."""

    def __init__(self, c, cp, s, sp, isn_c=1000, isn_s=5000):
        self.c, self.cp, self.s, self.sp = c, cp, s, sp
        self.seq = {"c": isn_c, "s": isn_s}

    def _pkt(self, who, flags, data=b""):
        if who == "c":
            e = Ether(src=CLI_MAC, dst=SRV_MAC) / IP(src=self.c, dst=self.s, ttl=64)
            tcp = TCP(sport=self.cp, dport=self.sp)
            other = "s"
        else:
            e = Ether(src=SRV_MAC, dst=CLI_MAC) / IP(src=self.s, dst=self.c, ttl=64)
            tcp = TCP(sport=self.sp, dport=self.cp)
            other = "c"
        tcp.flags = flags
        tcp.seq = self.seq[who]
        tcp.ack = self.seq[other] if "A" in flags else 0
        tcp.window = 64240
        p = e / tcp
        if data:
            p = p / Raw(load=data)
        self.seq[who] += len(data) + (1 if ("S" in flags or "F" in flags) else 0)
        return p

    def handshake(self):
        emit(self._pkt("c", "S"))
        emit(self._pkt("s", "SA"))
        emit(self._pkt("c", "A"))

    def send(self, who, data):
        emit(self._pkt(who, "PA", data))
        emit(self._pkt("s" if who == "c" else "c", "A"))

    def close(self):
        emit(self._pkt("c", "FA"))
        emit(self._pkt("s", "FA"))
        emit(self._pkt("c", "A"))


MESSAGE = (
    b"From: Alice <alice@example.org>\r\n"
    b"To: Bob <bob@example.net>\r\n"
    b"Subject: mailtap demo\r\n"
    b"Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"
    b"Message-ID: <demo-1@example.org>\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="b1"\r\n'
    b"\r\n"
    b"--b1\r\n"
    b"Content-Type: text/plain; charset=us-ascii\r\n"
    b"\r\n"
    b"Hello Bob, this message crossed an XDP filter.\r\n"
    b"--b1\r\n"
    b'Content-Type: text/plain; name="notes.txt"\r\n'
    b'Content-Disposition: attachment; filename="notes.txt"\r\n'
    b"Content-Transfer-Encoding: base64\r\n"
    b"\r\n"
    b"bWFpbHRhcCBkZW1vIGF0dGFjaG1lbnQK\r\n"
    b"--b1--\r\n"
)

smtp = Conn("192.0.2.10", 40001, "198.51.100.25", 25)
smtp.handshake()
smtp.send("s", b"220 mx.example.net ESMTP demo\r\n")
smtp.send("c", b"EHLO client.example.org\r\n")
smtp.send("s", b"250-mx.example.net\r\n250-PIPELINING\r\n250 8BITMIME\r\n")
smtp.send("c", b"MAIL FROM:<alice@example.org>\r\n")
smtp.send("s", b"250 2.1.0 Ok\r\n")
smtp.send("c", b"RCPT TO:<bob@example.net>\r\n")
smtp.send("s", b"250 2.1.5 Ok\r\n")
smtp.send("c", b"DATA\r\n")
smtp.send("s", b"354 End data with <CR><LF>.<CR><LF>\r\n")
smtp.send("c", MESSAGE + b".\r\n")
smtp.send("s", b"250 2.0.0 Ok: queued as DEMO1\r\n")
smtp.send("c", b"QUIT\r\n")
smtp.send("s", b"221 2.0.0 Bye\r\n")
smtp.close()

http = Conn("192.0.2.10", 40002, "203.0.113.80", 80, 7000, 9000)
http.handshake()
http.send("c", b"GET / HTTP/1.1\r\nHost: www.example.com\r\n\r\n")
http.send("s", b"HTTP/1.1 204 No Content\r\n\r\n")
http.close()

emit(Ether(src=CLI_MAC, dst="ff:ff:ff:ff:ff:ff") / ARP(psrc="192.0.2.10", pdst="192.0.2.1"))
emit(Ether(src=CLI_MAC, dst=SRV_MAC) / IP(src="192.0.2.10", dst="192.0.2.53") /
     UDP(sport=40003, dport=53) / DNS(rd=1, qd=DNSQR(qname="example.net", qtype="MX")))

wrpcap(OUT, pkts)
print(f"{OUT}: {len(pkts)} frames")
