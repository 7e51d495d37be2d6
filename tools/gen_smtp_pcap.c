// SPDX-License-Identifier: BSD-3-Clause
/* gen_smtp_pcap: writes a pcap of N synthetic SMTP sessions for benchmarks and tests.
 * Each session is a full TCP connection (handshake, data with ACKs, FIN exchange) carrying a
 * real SMTP dialogue; sessions run C at a time, their packets interleaved.
 *   gen_smtp_pcap -o FILE [-n SESSIONS] [-c CONCURRENT] [-a ATTACH_BYTES] [-m SMALL_BYTES]
 *                 [--mix plain=55,attach=20,pipe=10,bdat=10,starttls=3,tls465=2] [--seed N]
 *                 [--mss N]
 *                 [--encap
 * vxlan|geneve|gre|erspan2|erspan3|mpls|mpls-pw|pppoe|pptp|ayiya|gtp|teredo]
 *                 [--encap-port N] [--encap2 KIND] [--encap2-port N] [--user-agents]
 * Message kinds: plain (a small text mail), attach (multipart with a base64 attachment of
 * ATTACH_BYTES random bytes), pipe (PIPELINING: envelope and DATA in one write), bdat
 * (CHUNKING: the message in BDAT chunks), starttls (port 587: EHLO, STARTTLS, then a TLS 1.2
 * handshake with a real certificate and the mail as encrypted records), tls465 (port 465:
 * TLS from the first byte). The TLS records are well-formed (ClientHello with SNI, ServerHello,
 * Certificate, ServerKeyExchange, ChangeCipherSpec, Finished, application data, alert); what
 * they "encrypt" is random bytes of the size the mail would have. --encap wraps every frame
 * in a tunnel (VXLAN, Geneve with an option, GRE with a key, ERSPAN type II or III) from one
 * mirror source, or puts an MPLS stack or a PPPoE header in front of IP, or puts its IP packet
 * in PPTP's GRE (version 1, PPP), AYIYA (client port 40001 to 5072 and back) or GTP-U (2152
 * both ends, a sequence number, one extension header) between 172.16.0.1 and .2, or moves
 * it to IPv6 in Teredo (client port 40001 to 3544 and back). --encap-port N: VXLAN or Geneve
 * to UDP port N instead of 4789 or 6081 (8472: Linux's own VXLAN port). --encap2 KIND puts a
 * second tunnel inside the first (two tunnels deep, as a cloud traffic mirror of Kubernetes
 * nodes whose pod network is VXLAN or Geneve): every frame is first wrapped in KIND between the
 * nodes 192.168.100.1 and .2 (the same roles and ports as --encap's), then in --encap's tunnel
 * between 172.16.0.1 and .2; --encap2-port N is its VXLAN or Geneve port (e.g. 8472). Both
 * kinds must be tunnels (not mpls, mpls-pw, pppoe; not teredo inside, which moves the mail to
 * IPv6). --user-agents gives
 * each message a User-Agent or X-Mailer header, from five clients in turn (one a webmail,
 * whose attachment messages were received "via HTTP"; one whose version changes), as mail
 * clients write them. */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <pcap/pcap.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "synth_frame.h"

enum kind { K_PLAIN, K_ATTACH, K_PIPE, K_BDAT, K_STARTTLS, K_TLS465, K__N };
static const char *const kind_names[K__N] = { "plain", "attach",   "pipe",
					      "bdat",  "starttls", "tls465" };

/* The server certificate of the TLS sessions: self-signed, EC P-256, CN=mx.example.net. */
static const uint8_t bench_cert_der[] = {
  0x30, 0x82, 0x01, 0xee, 0x30, 0x82, 0x01, 0x93, 0xa0, 0x03, 0x02, 0x01,
  0x02, 0x02, 0x14, 0x1c, 0x19, 0x43, 0xef, 0x43, 0x20, 0x42, 0xd0, 0x28,
  0x25, 0x8e, 0x2a, 0xa6, 0x0a, 0xea, 0x8f, 0xed, 0xb0, 0xe0, 0x12, 0x30,
  0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02, 0x30,
  0x35, 0x31, 0x17, 0x30, 0x15, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x0e,
  0x6d, 0x78, 0x2e, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x2e, 0x6e,
  0x65, 0x74, 0x31, 0x1a, 0x30, 0x18, 0x06, 0x03, 0x55, 0x04, 0x0a, 0x0c,
  0x11, 0x6d, 0x61, 0x69, 0x6c, 0x74, 0x61, 0x70, 0x20, 0x62, 0x65, 0x6e,
  0x63, 0x68, 0x6d, 0x61, 0x72, 0x6b, 0x30, 0x1e, 0x17, 0x0d, 0x32, 0x36,
  0x31, 0x31, 0x32, 0x32, 0x32, 0x30, 0x31, 0x30, 0x34, 0x39, 0x5a, 0x17,
  0x0d, 0x33, 0x36, 0x31, 0x31, 0x31, 0x39, 0x32, 0x30, 0x31, 0x30, 0x34,
  0x39, 0x5a, 0x30, 0x35, 0x31, 0x17, 0x30, 0x15, 0x06, 0x03, 0x55, 0x04,
  0x03, 0x0c, 0x0e, 0x6d, 0x78, 0x2e, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c,
  0x65, 0x2e, 0x6e, 0x65, 0x74, 0x31, 0x1a, 0x30, 0x18, 0x06, 0x03, 0x55,
  0x04, 0x0a, 0x0c, 0x11, 0x6d, 0x61, 0x69, 0x6c, 0x74, 0x61, 0x70, 0x20,
  0x62, 0x65, 0x6e, 0x63, 0x68, 0x6d, 0x61, 0x72, 0x6b, 0x30, 0x59, 0x30,
  0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08,
  0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00, 0x04,
  0xaf, 0x67, 0x26, 0x31, 0x56, 0xf7, 0x5d, 0x7a, 0x4e, 0x54, 0x72, 0x32,
  0xaa, 0x59, 0xa1, 0x30, 0x3b, 0x2f, 0xa9, 0xd0, 0x4d, 0xbb, 0x4d, 0x78,
  0xb9, 0xe4, 0xca, 0xf1, 0x66, 0x82, 0xb2, 0x5e, 0x98, 0x78, 0xa8, 0xc5,
  0x59, 0xfa, 0x88, 0xe7, 0xb3, 0xba, 0x51, 0x62, 0xd0, 0x32, 0xf4, 0x7e,
  0xd5, 0xd2, 0xd4, 0x10, 0xfe, 0x94, 0xcf, 0xb6, 0x37, 0x7a, 0x72, 0x84,
  0x2d, 0xec, 0x4a, 0x0a, 0xa3, 0x81, 0x80, 0x30, 0x7e, 0x30, 0x1d, 0x06,
  0x03, 0x55, 0x1d, 0x0e, 0x04, 0x16, 0x04, 0x14, 0x32, 0xf8, 0x7a, 0xb8,
  0x8b, 0xac, 0x6c, 0x76, 0x04, 0xdd, 0x33, 0x69, 0x83, 0x94, 0x02, 0x64,
  0xa0, 0xe0, 0x95, 0x00, 0x30, 0x1f, 0x06, 0x03, 0x55, 0x1d, 0x23, 0x04,
  0x18, 0x30, 0x16, 0x80, 0x14, 0x32, 0xf8, 0x7a, 0xb8, 0x8b, 0xac, 0x6c,
  0x76, 0x04, 0xdd, 0x33, 0x69, 0x83, 0x94, 0x02, 0x64, 0xa0, 0xe0, 0x95,
  0x00, 0x30, 0x0f, 0x06, 0x03, 0x55, 0x1d, 0x13, 0x01, 0x01, 0xff, 0x04,
  0x05, 0x30, 0x03, 0x01, 0x01, 0xff, 0x30, 0x2b, 0x06, 0x03, 0x55, 0x1d,
  0x11, 0x04, 0x24, 0x30, 0x22, 0x82, 0x0e, 0x6d, 0x78, 0x2e, 0x65, 0x78,
  0x61, 0x6d, 0x70, 0x6c, 0x65, 0x2e, 0x6e, 0x65, 0x74, 0x82, 0x10, 0x6d,
  0x61, 0x69, 0x6c, 0x2e, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x2e,
  0x6e, 0x65, 0x74, 0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d,
  0x04, 0x03, 0x02, 0x03, 0x49, 0x00, 0x30, 0x46, 0x02, 0x21, 0x00, 0x80,
  0x1b, 0x6c, 0xd2, 0xb0, 0xc7, 0x8a, 0xff, 0x2a, 0x07, 0xb5, 0xe3, 0x91,
  0x5d, 0x7d, 0x83, 0x9f, 0x55, 0x70, 0x05, 0x30, 0x65, 0xbe, 0xa6, 0x4c,
  0xf2, 0x97, 0xc8, 0xbc, 0x6c, 0x1a, 0x31, 0x02, 0x21, 0x00, 0xab, 0x8d,
  0xcc, 0x70, 0x3e, 0xb9, 0x9a, 0x54, 0xb7, 0xca, 0xb7, 0x72, 0x2a, 0xd4,
  0xec, 0xfb, 0x2e, 0x49, 0x99, 0x6e, 0x74, 0xd3, 0x11, 0x2e, 0xd7, 0x18,
  0xe0, 0x50, 0x6d, 0x59, 0x34, 0x0e
};

struct msg {
	int from_client;
	char *data;
	size_t len;
};

struct sess {
	uint32_t cli_ip, srv_ip;
	uint16_t cport, sport;
	uint32_t cseq, sseq; /* next sequence numbers */
	struct msg *msgs;
	int n_msgs, cur;
	size_t off;
	int phase; /* 0 SYN, 1 SYN-ACK, 2 ACK, 3 data, 4 FIN c, 5 FIN s, 6 last ACK, 7 done */
	int need_ack; /* ACK from the receiver of the last data segment */
};

static uint64_t rng_state = 0x1234567;
static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static pcap_dumper_t *dumper;
static uint64_t now_us = 1700000000ULL * 1000000ULL;
static uint32_t mss = 1448;
static bool user_agents;

/* The client header of message idx (--user-agents), else "". */
static const char *user_agent(int idx)
{
	static char buf[160];

	if (!user_agents)
		return "";
	switch (idx % 5) {
	case 0:
		snprintf(buf, sizeof(buf),
			 "User-Agent: Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:115.0) "
			 "Gecko/20100101 Thunderbird/115.%d.0\r\n",
			 (idx / 5) % 3);
		return buf;
	case 1:
		return "X-Mailer: Microsoft Outlook 16.0\r\n";
	case 2:
		return "X-Mailer: Apple Mail (2.3654.120.0.1.13)\r\n";
	case 3:
		return "User-Agent: SquirrelMail/1.4.22\r\n";
	default:
		return "User-Agent: Roundcube Webmail/1.6.5\r\n";
	}
}
static uint64_t n_packets, n_bytes;

/* --encap: every frame wrapped as a mirror port or provider link delivers it. The tunnels
 * run from a mirror source 172.16.0.1 to the sensor 172.16.0.2, both directions of every
 * session through the same one (as a switch's ERSPAN session or a cloud traffic mirror). */
enum encap {
	E_NONE,
	E_VXLAN,
	E_GENEVE,
	E_GRE,
	E_ERSPAN2,
	E_ERSPAN3,
	E_MPLS,
	E_PPPOE,
	E_MPLS_PW,
	E_PPTP,
	E_AYIYA,
	E_GTP,
	E_TEREDO,
	E__N
};
static const char *const encap_names[E__N] = { "none",	  "vxlan", "geneve", "gre",  "erspan2",
					       "erspan3", "mpls",  "pppoe",  "mpls-pw", "pptp",
					       "ayiya",	  "gtp",   "teredo" };
static enum encap encap, encap2; /* --encap: the (outer) tunnel; --encap2: one inside it */
static uint16_t encap_port; /* --encap-port: VXLAN's or Geneve's UDP port; 0: 4789 or 6081 */
static uint16_t encap2_port; /* --encap2-port: the same for --encap2 */
/* the endpoints of the tunnel being wrapped: the mirror source and sensor (--encap), the two
 * nodes (--encap2) */
#define MIRROR_A 0xac100001u
#define MIRROR_B 0xac100002u
#define NODE_A 0xc0a86401u
#define NODE_B 0xc0a86402u
static uint32_t tun_a = MIRROR_A, tun_b = MIRROR_B;
static uint32_t gre_seq, pw_seq;

/* An outer Ethernet + IPv4 header for proto carrying payload bytes, at g; returns its length. */
static size_t outer4(uint8_t *g, uint8_t proto, size_t payload)
{
	uint8_t *ip = g + 14;

	memset(g, 0, 34);
	g[0] = 2, g[5] = 0x22, g[6] = 2, g[11] = 0x11;
	g[12] = 0x08;
	ip[0] = 0x45;
	synth_put16(ip + 2, (uint32_t)(20 + payload));
	ip[6] = 0x40; /* DF */
	ip[8] = 64, ip[9] = proto;
	synth_put32(ip + 12, tun_a);
	synth_put32(ip + 16, tun_b);
	synth_put16(ip + 10, synth_csum(ip, 20));
	return 34;
}

/* An outer Ethernet + IPv4 header + UDP header for a tunnel a client at 172.16.0.1 (port
 * 40001, or port itself when both ends use it) runs to a server 172.16.0.2 on port: a packet
 * from the client goes to the port, one to it comes from the port; returns its length. */
static size_t outer_udp(uint8_t *g, int from_client, uint16_t port, int both_port, size_t payload)
{
	size_t h = outer4(g, 17, 8 + payload);
	uint16_t cport = both_port ? port : 40001;

	if (!from_client) { /* 172.16.0.2 -> 172.16.0.1 */
		synth_put32(g + 14 + 12, tun_b);
		synth_put32(g + 14 + 16, tun_a);
	}
	synth_put16(g + h, from_client ? cport : port);
	synth_put16(g + h + 2, from_client ? port : cport);
	synth_put16(g + h + 4, (uint32_t)(8 + payload));
	synth_put16(g + h + 6, 0);
	return h + 8;
}

/* Wraps frame f[0..n) (Ethernet + IPv4) into g in encap e (encap_port port: VXLAN's or
 * Geneve's, 0 for the default) between tun_a and tun_b; returns the new length. */
static size_t wrap(uint8_t *g, const uint8_t *f, size_t n, int from_client, enum encap e,
		   uint16_t port)
{
	size_t h, t;

	switch (e) {
	case E_PPTP: { /* GRE version 1: key (payload length, call id), sequence, an
			* acknowledgment every third packet; PPP with address and control */
		int ack = gre_seq % 3 == 0;

		t = 12 + (ack ? 4 : 0) + 4;
		h = outer4(g, 47, t + n - 14);
		synth_put16(g + h, ack ? 0x3081 : 0x3001);
		synth_put16(g + h + 2, 0x880b);
		synth_put16(g + h + 4, (uint32_t)(4 + n - 14));
		synth_put16(g + h + 6, 77);
		synth_put32(g + h + 8, gre_seq);
		if (ack)
			synth_put32(g + h + 12, gre_seq ? gre_seq - 1 : 0);
		gre_seq++;
		g[h + t - 4] = 0xff, g[h + t - 3] = 0x03;
		synth_put16(g + h + t - 2, 0x0021);
		memcpy(g + h + t, f + 14, n - 14);
		return h + t + n - 14;
	}
	case E_AYIYA: /* identity 16 bytes, signature 20 bytes, forward, next header 4 */
		t = 8 + 16 + 20;
		h = outer_udp(g, from_client, 5072, 0, t + n - 14);
		memset(g + h, 0, t);
		g[h] = 0x41, g[h + 1] = 0x52, g[h + 2] = 0x11, g[h + 3] = 4;
		memcpy(g + h + t, f + 14, n - 14);
		return h + t + n - 14;
	case E_TEREDO: { /* the session moved to IPv6 (2001:0:ac10:1::<its IPv4 address's last
			  * two bytes>), from the client to 3544 and back, the relay's packets with
			  * an origin indication */
		const uint8_t *ip = f + 14;
		size_t l4 = n - 14 - 20;
		uint8_t *v6;

		t = from_client ? 0 : 8;
		h = outer_udp(g, from_client, 3544, 0, t + 40 + l4);
		memset(g + h, 0, t);
		if (t)
			g[h + 2] = 0xf2, g[h + 3] = 0x3c, g[h + 4] = 0x3f, g[h + 6] = 2, g[h + 7] = 1;
		v6 = g + h + t;
		memset(v6, 0, 40);
		v6[0] = 0x60;
		synth_put16(v6 + 4, (uint32_t)l4);
		v6[6] = ip[9], v6[7] = 64; /* TCP, or the tunnel inside */
		for (int a = 0; a < 2; a++) {
			uint8_t *x = v6 + 8 + a * 16;

			x[0] = 0x20, x[1] = 0x01, x[4] = 0xac, x[5] = 0x10, x[7] = 1;
			x[12] = ip[12 + a * 4 + 0], x[13] = ip[12 + a * 4 + 1];
			x[14] = ip[12 + a * 4 + 2], x[15] = ip[12 + a * 4 + 3];
		}
		memcpy(v6 + 40, ip + 20, l4);
		return h + t + 40 + l4;
	}
	case E_GTP: /* GTP-U between two 2152s: G-PDU, a sequence number and one extension header
		     * (a PDU session container) */
		t = 12 + 8;
		h = outer_udp(g, from_client, 2152, 1, t + n - 14);
		memset(g + h, 0, t);
		g[h] = 0x36, g[h + 1] = 0xff;
		synth_put16(g + h + 2, (uint32_t)(t - 8 + n - 14));
		synth_put32(g + h + 4, from_client ? 0x1001 : 0x2002);
		synth_put16(g + h + 8, gre_seq++ & 0xffff);
		g[h + 11] = 0x85;
		g[h + 12] = 2, g[h + 13] = from_client ? 0x10 : 0x00, g[h + 14] = 9;
		memcpy(g + h + t, f + 14, n - 14);
		return h + t + n - 14;
	case E_VXLAN:
	case E_GENEVE:
		t = 8 + (e == E_GENEVE ? 16 : 8); /* UDP + Geneve with one 8-byte option */
		h = outer4(g, 17, t + n);
		synth_put16(g + h, 49152);
		synth_put16(g + h + 2, port ? port : e == E_VXLAN ? 4789 : 6081);
		synth_put16(g + h + 4, (uint32_t)(t + n));
		synth_put16(g + h + 6, 0);
		memset(g + h + 8, 0, t - 8);
		if (e == E_VXLAN) {
			g[h + 8] = 0x08; /* I: the VNI is valid */
			synth_put32(g + h + 12, 4242u << 8);
		} else {
			g[h + 8] = 2; /* version 0, two words of options */
			synth_put16(g + h + 10, 0x6558);
			synth_put32(g + h + 12, 4242u << 8);
			synth_put16(g + h + 16, 0x0101); /* option class */
			g[h + 18] = 0x01;		 /* type */
			g[h + 19] = 1;			 /* one word of data */
		}
		memcpy(g + h + t, f, n);
		return h + t + n;
	case E_GRE:
	case E_ERSPAN2:
	case E_ERSPAN3:
		t = e == E_GRE ? 8 : e == E_ERSPAN2 ? 16 : 20;
		h = outer4(g, 47, t + n);
		memset(g + h, 0, t);
		if (e == E_GRE) { /* a key, transparent Ethernet bridging */
			synth_put16(g + h, 0x2000);
			synth_put16(g + h + 2, 0x6558);
			synth_put32(g + h + 4, 7);
		} else { /* a sequence number, then the ERSPAN header */
			synth_put16(g + h, 0x1000);
			synth_put16(g + h + 2, e == E_ERSPAN2 ? 0x88be : 0x22eb);
			synth_put32(g + h + 4, gre_seq++);
			g[h + 8] = e == E_ERSPAN2 ? 0x10 : 0x20;  /* version 1 / 2 */
			g[h + 9] = 100;				  /* session */
		}
		memcpy(g + h + t, f, n);
		return h + t + n;
	case E_MPLS: /* two labels between the Ethernet header and IP */
		memcpy(g, f, 12);
		synth_put16(g + 12, 0x8847);
		synth_put32(g + 14, 100u << 12 | 64);
		synth_put32(g + 18, 200u << 12 | 1u << 8 | 64);
		memcpy(g + 22, f + 14, n - 14);
		return n + 8;
	case E_MPLS_PW: /* a provider's Ethernet, one label, a control word, the whole frame */
		memset(g, 0, 12);
		g[0] = 2, g[5] = 0x44, g[6] = 2, g[11] = 0x33;
		synth_put16(g + 12, 0x8847);
		synth_put32(g + 14, 300u << 12 | 1u << 8 | 64);
		synth_put32(g + 18, ++pw_seq & 0xffff); /* first nibble 0, sequence number */
		memcpy(g + 22, f, n);
		return n + 22;
	case E_PPPOE:
		memcpy(g, f, 12);
		synth_put16(g + 12, 0x8864);
		g[14] = 0x11, g[15] = 0;
		synth_put16(g + 16, 0x0042);
		synth_put16(g + 18, (uint32_t)(n - 14 + 2));
		synth_put16(g + 20, 0x0021);
		memcpy(g + 22, f + 14, n - 14);
		return n + 8;
	default:
		memcpy(g, f, n);
		return n;
	}
}

static void emit(const struct sess *s, int from_client, uint8_t flags, uint32_t seq, uint32_t ack,
		 const char *data, size_t len)
{
	static uint8_t f[65536], g[65536 + 128], g2[65536 + 128];
	struct pcap_pkthdr h;
	struct synth_tcp t = synth_tcp_dir(from_client, s->cli_ip, s->cport, s->srv_ip, s->sport);
	size_t iplen = 20 + 20 + len;

	t.seq = seq;
	t.ack = ack;
	t.flags = flags;

	synth_tcp4(f, &t, 20 + len);
	if (len) /* data may be NULL then: memcpy's arguments must be valid even for 0 bytes */
		memcpy(f + SYNTH_HDR_LEN, data, len);
	now_us += 7;
	h.ts.tv_sec = (time_t)(now_us / 1000000ULL);
	h.ts.tv_usec = (suseconds_t)(now_us % 1000000ULL);
	h.caplen = h.len = (bpf_u_int32)(14 + iplen);
	if (encap2) {
		size_t n2;

		tun_a = NODE_A, tun_b = NODE_B;
		n2 = wrap(g2, f, 14 + iplen, from_client, encap2, encap2_port);
		tun_a = MIRROR_A, tun_b = MIRROR_B;
		h.caplen = h.len = (bpf_u_int32)wrap(g, g2, n2, from_client, encap, encap_port);
		pcap_dump((u_char *)dumper, &h, g);
	} else if (encap) {
		h.caplen = h.len =
		    (bpf_u_int32)wrap(g, f, 14 + iplen, from_client, encap, encap_port);
		pcap_dump((u_char *)dumper, &h, g);
	} else {
		pcap_dump((u_char *)dumper, &h, f);
	}
	n_packets++;
	n_bytes += h.caplen;
}

static void add(struct sess *s, int from_client, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void add(struct sess *s, int from_client, const char *fmt, ...)
{
	va_list ap;
	char *p = NULL;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&p, fmt, ap);
	va_end(ap);
	if (n < 0)
		exit(1);
	s->msgs = realloc(s->msgs, sizeof(*s->msgs) * (size_t)(s->n_msgs + 1));
	s->msgs[s->n_msgs++] = (struct msg){ from_client, p, (size_t)n };
}

/* ---- binary messages (TLS records) ---- */

struct buf {
	uint8_t *p;
	size_t n, cap;
};

static void put(struct buf *b, const void *d, size_t n)
{
	if (b->n + n > b->cap) {
		b->cap = (b->n + n) * 2 + 256;
		b->p = realloc(b->p, b->cap);
		if (!b->p)
			exit(1);
	}
	memcpy(b->p + b->n, d, n);
	b->n += n;
}

static void put8(struct buf *b, unsigned v)
{
	uint8_t x = (uint8_t)v;

	put(b, &x, 1);
}

static void put16(struct buf *b, unsigned v)
{
	put8(b, v >> 8), put8(b, v);
}

static void put24(struct buf *b, size_t v)
{
	put8(b, (unsigned)(v >> 16)), put8(b, (unsigned)(v >> 8)), put8(b, (unsigned)v);
}

static void put_rand(struct buf *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		put8(b, (unsigned)(rnd() >> 24));
}

/* Patches the 16- or 24-bit length of what follows position at (len bytes wide). */
static void patch_len(struct buf *b, size_t at, int width)
{
	size_t v = b->n - at - (size_t)width;

	for (int i = 0; i < width; i++)
		b->p[at + (size_t)i] = (uint8_t)(v >> (8 * (width - 1 - i)));
}

/* One TLS record of `type` around the bytes the callback appends. */
static size_t rec_open(struct buf *b, unsigned type, unsigned version)
{
	size_t at;

	put8(b, type);
	put16(b, version);
	at = b->n;
	put16(b, 0);
	return at;
}

static void add_bin(struct sess *s, int from_client, struct buf *b)
{
	s->msgs = realloc(s->msgs, sizeof(*s->msgs) * (size_t)(s->n_msgs + 1));
	s->msgs[s->n_msgs++] = (struct msg){ from_client, (char *)b->p, b->n };
	memset(b, 0, sizeof(*b));
}

/* Encrypted application data: records of at most 16 KiB carrying `n` bytes (+ GCM's 8-byte
 * nonce and 16-byte tag). */
static void add_appdata(struct sess *s, int from_client, size_t n)
{
	struct buf b = { 0 };

	do {
		size_t k = n > 16384 ? 16384 : n, at = rec_open(&b, 23, 0x0303);

		put_rand(&b, k + 24);
		patch_len(&b, at, 2);
		n -= k;
	} while (n);
	add_bin(s, from_client, &b);
}

/* ChangeCipherSpec, then the encrypted Finished (40 bytes with AES-GCM). */
static void put_ccs_finished(struct buf *b)
{
	size_t rec = rec_open(b, 20, 0x0303);

	put8(b, 1);
	patch_len(b, rec, 2);
	rec = rec_open(b, 22, 0x0303);
	put_rand(b, 40);
	patch_len(b, rec, 2);
}

/* Opens a hello handshake message (type 1 or 2): version TLS 1.2 and a random; returns where
 * its 24-bit length goes. */
static size_t hello_open(struct buf *b, unsigned type)
{
	size_t hs;

	put8(b, type);
	hs = b->n;
	put24(b, 0);
	put16(b, 0x0303);
	put_rand(b, 32);
	return hs;
}

/* A TLS 1.2 handshake (ECDHE-ECDSA-AES128-GCM-SHA256), then `mail` bytes each way as
 * application data in `turns` exchanges, then the client's close_notify. */
static void add_tls(struct sess *s, int idx, int turns, size_t mail)
{
	static const uint16_t suites[] = { 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9,
					   0xcca8, 0x009e, 0x009c, 0x002f, 0x0035 };
	static const uint16_t sigalgs[] = { 0x0403, 0x0804, 0x0401, 0x0503,
					    0x0805, 0x0501, 0x0806, 0x0601 };
	struct buf b = { 0 };
	size_t rec, hs, ext, at;
	char sni[64];
	/* the certificate names mx. and mail.example.net: sni_matches_cert true for some */
	int n = idx % 3 ? snprintf(sni, sizeof(sni), "mx%d.example.net", idx % 7)
			: snprintf(sni, sizeof(sni), "%s.example.net", idx % 2 ? "mx" : "mail");

	/* ClientHello */
	rec = rec_open(&b, 22, 0x0301);
	hs = hello_open(&b, 1);
	put8(&b, 0);
	put16(&b, sizeof(suites));
	for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++)
		put16(&b, suites[i]);
	put8(&b, 1), put8(&b, 0);
	ext = b.n;
	put16(&b, 0);
	put16(&b, 0x0000); /* server_name */
	put16(&b, (unsigned)n + 5), put16(&b, (unsigned)n + 3), put8(&b, 0), put16(&b, (unsigned)n);
	put(&b, sni, (size_t)n);
	put16(&b, 0x000a), put16(&b, 8), put16(&b, 6); /* supported_groups */
	put16(&b, 0x001d), put16(&b, 0x0017), put16(&b, 0x0018);
	put16(&b, 0x000b), put16(&b, 2), put8(&b, 1), put8(&b, 0); /* ec_point_formats */
	put16(&b, 0x000d), put16(&b, sizeof(sigalgs) + 2), put16(&b, sizeof(sigalgs));
	for (size_t i = 0; i < sizeof(sigalgs) / sizeof(sigalgs[0]); i++)
		put16(&b, sigalgs[i]);
	put16(&b, 0x0023), put16(&b, 0);		    /* session_ticket */
	put16(&b, 0x0017), put16(&b, 0);		    /* extended_master_secret */
	put16(&b, 0xff01), put16(&b, 1), put8(&b, 0); /* renegotiation_info */
	patch_len(&b, ext, 2);
	patch_len(&b, hs, 3);
	patch_len(&b, rec, 2);
	add_bin(s, 1, &b);

	/* ServerHello, Certificate, ServerKeyExchange, ServerHelloDone */
	rec = rec_open(&b, 22, 0x0303);
	hs = hello_open(&b, 2);
	put8(&b, 32);
	put_rand(&b, 32);
	put16(&b, 0xc02b);
	put8(&b, 0);
	ext = b.n;
	put16(&b, 0);
	put16(&b, 0xff01), put16(&b, 1), put8(&b, 0);
	put16(&b, 0x000b), put16(&b, 2), put8(&b, 1), put8(&b, 0);
	put16(&b, 0x0017), put16(&b, 0);
	patch_len(&b, ext, 2);
	patch_len(&b, hs, 3);
	put8(&b, 11);
	put24(&b, sizeof(bench_cert_der) + 6);
	put24(&b, sizeof(bench_cert_der) + 3);
	put24(&b, sizeof(bench_cert_der));
	put(&b, bench_cert_der, sizeof(bench_cert_der));
	put8(&b, 12);
	hs = b.n;
	put24(&b, 0);
	put8(&b, 3), put16(&b, 0x0017); /* named_curve secp256r1 */
	put8(&b, 65), put8(&b, 4);
	put_rand(&b, 64);
	put16(&b, 0x0403);
	at = b.n;
	put16(&b, 0);
	put_rand(&b, 71);
	patch_len(&b, at, 2);
	patch_len(&b, hs, 3);
	put8(&b, 14), put24(&b, 0);
	patch_len(&b, rec, 2);
	add_bin(s, 0, &b);

	/* ClientKeyExchange, ChangeCipherSpec, Finished (encrypted) */
	rec = rec_open(&b, 22, 0x0303);
	put8(&b, 16);
	put24(&b, 66);
	put8(&b, 65), put8(&b, 4);
	put_rand(&b, 64);
	patch_len(&b, rec, 2);
	put_ccs_finished(&b);
	add_bin(s, 1, &b);

	/* ChangeCipherSpec, Finished */
	put_ccs_finished(&b);
	add_bin(s, 0, &b);

	/* the SMTP dialogue, encrypted: server banner/replies, client commands and the mail */
	for (int t = 0; t < turns; t++) {
		add_appdata(s, 0, 40 + rnd() % 80);
		add_appdata(s, 1, t == turns - 1 ? mail : 20 + rnd() % 40);
	}
	add_appdata(s, 0, 40);
	rec = rec_open(&b, 21, 0x0303); /* close_notify, encrypted */
	put_rand(&b, 26);
	patch_len(&b, rec, 2);
	add_bin(s, 1, &b);
}

static char *base64_block(size_t raw)
{
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t enc = (raw + 2) / 3 * 4, lines = enc / 76 + 1;
	char *out = malloc(enc + lines * 2 + 1), *o = out;
	size_t col = 0;

	for (size_t i = 0; i < raw; i += 3) {
		uint32_t v = (uint32_t)rnd() & 0xffffff;
		int n = raw - i >= 3 ? 4 : (int)(raw - i) + 1;

		for (int k = 0; k < 4; k++) {
			*o++ = k < n ? b64[(v >> (18 - 6 * k)) & 63] : '=';
			if (++col == 76) {
				*o++ = '\r', *o++ = '\n';
				col = 0;
			}
		}
	}
	if (col)
		*o++ = '\r', *o++ = '\n';
	*o = '\0';
	return out;
}

static void build(struct sess *s, enum kind k, int idx, size_t attach, size_t small)
{
	char body[2048];
	char *att = NULL;
	size_t blen;

	snprintf(body, sizeof(body), "%.*s", (int)(small < sizeof(body) - 1 ? small : sizeof(body) - 1),
		 "Hello,\r\nthis is a generated message for the mailtap benchmark. It has a few lines "
		 "of text so that the DATA phase carries some bytes.\r\nRegards,\r\nthe generator\r\n"
		 "..a line starting with a dot, stuffed\r\nmore text more text more text more text "
		 "more text more text more text more text more text more text more text\r\n");
	blen = strlen(body);
	s->sport = k == K_TLS465 ? 465 : k == K_STARTTLS ? 587 : 25;
	if (k == K_TLS465) {
		add_tls(s, idx, 6, blen + 300);
		return;
	}
	add(s, 0, "220 mx%d.example.net ESMTP ready\r\n", idx % 7);
	add(s, 1, "EHLO client%d.example.org\r\n", idx);
	add(s, 0, "250-mx.example.net\r\n250-PIPELINING\r\n250-CHUNKING\r\n250-8BITMIME\r\n"
		  "%s250 SIZE 52428800\r\n", k == K_STARTTLS ? "250-STARTTLS\r\n" : "");
	if (k == K_STARTTLS) {
		add(s, 1, "STARTTLS\r\n");
		add(s, 0, "220 2.0.0 Ready to start TLS\r\n");
		add_tls(s, idx, 6, blen + 300);
		return;
	}
	if (k == K_ATTACH)
		att = base64_block(attach);
	if (k == K_PIPE) {
		add(s, 1, "MAIL FROM:<sender%d@example.org>\r\nRCPT TO:<rcpt%d@example.net>\r\n"
			  "RCPT TO:<other%d@example.net>\r\nDATA\r\n", idx, idx, idx);
		add(s, 0, "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n354 End data with "
			  "<CR><LF>.<CR><LF>\r\n");
	} else {
		add(s, 1, "MAIL FROM:<sender%d@example.org> SIZE=%zu\r\n", idx, blen + 400);
		add(s, 0, "250 2.1.0 Ok\r\n");
		add(s, 1, "RCPT TO:<rcpt%d@example.net>\r\n", idx);
		add(s, 0, "250 2.1.5 Ok\r\n");
	}
	if (k == K_BDAT) {
		char msg[4096];
		int n = snprintf(msg, sizeof(msg),
				 "%sFrom: Sender <sender%d@example.org>\r\nTo: <rcpt%d@example.net>\r\n"
				 "Subject: bdat message %d\r\nMessage-ID: <%d@gen>\r\n\r\n%s",
				 user_agent(idx), idx, idx, idx, idx, body);
		int half = n / 2;

		add(s, 1, "BDAT %d\r\n%.*s", half, half, msg);
		add(s, 0, "250 2.0.0 %d octets received\r\n", half);
		add(s, 1, "BDAT %d LAST\r\n%s", n - half, msg + half);
		add(s, 0, "250 2.0.0 Ok: queued as B%d\r\n", idx);
	} else {
		if (k != K_PIPE) {
			add(s, 1, "DATA\r\n");
			add(s, 0, "354 End data with <CR><LF>.<CR><LF>\r\n");
		}
		if (k == K_ATTACH)
			add(s, 1,
			    "Received: from client%d.example.org (client [10.1.2.3]) by mx.example.net%s\r\n"
			    "%sFrom: Sender <sender%d@example.org>\r\nTo: Rcpt <rcpt%d@example.net>\r\n"
			    "Subject: attachment %d\r\nDate: Tue, 14 Nov 2023 22:13:20 +0000\r\n"
			    "Message-ID: <%d@gen>\r\nMIME-Version: 1.0\r\n"
			    "Content-Type: multipart/mixed; boundary=\"BOUNDARY\"\r\n\r\n"
			    "--BOUNDARY\r\nContent-Type: text/plain\r\n\r\n%s\r\n--BOUNDARY\r\n"
			    "Content-Type: application/octet-stream; name=\"file%d.bin\"\r\n"
			    "Content-Disposition: attachment; filename=\"file%d.bin\"\r\n"
			    "Content-Transfer-Encoding: base64\r\n\r\n%s--BOUNDARY--\r\n.\r\n",
			    idx, user_agents && idx % 5 == 3 ? " via HTTP" : "", user_agent(idx), idx, idx,
			    idx, idx, body, idx, idx, att);
		else
			add(s, 1,
			    "%sFrom: Sender <sender%d@example.org>\r\nTo: Rcpt <rcpt%d@example.net>\r\n"
			    "Subject: plain %d\r\nDate: Tue, 14 Nov 2023 22:13:20 +0000\r\n"
			    "Message-ID: <%d@gen>\r\n\r\n%s.\r\n",
			    user_agent(idx), idx, idx, idx, idx, body);
		add(s, 0, "250 2.0.0 Ok: queued as Q%d\r\n", idx);
	}
	add(s, 1, "QUIT\r\n");
	add(s, 0, "221 2.0.0 Bye\r\n");
	free(att);
}

/* Emits the session's next packet; returns 0 when the session is done. */
static int step(struct sess *s)
{
	struct msg *m;
	size_t n;

	switch (s->phase) {
	case 0:
		emit(s, 1, 0x02, s->cseq - 1, 0, NULL, 0);
		s->phase = 1;
		return 1;
	case 1:
		emit(s, 0, 0x12, s->sseq - 1, s->cseq, NULL, 0);
		s->phase = 2;
		return 1;
	case 2:
		emit(s, 1, 0x10, s->cseq, s->sseq, NULL, 0);
		s->phase = 3;
		return 1;
	case 3:
		if (s->need_ack) {
			/* the receiver acknowledges every second segment and at message ends */
			int fc = s->need_ack == 1;

			emit(s, fc, 0x10, fc ? s->cseq : s->sseq, fc ? s->sseq : s->cseq, NULL, 0);
			s->need_ack = 0;
			return 1;
		}
		if (s->cur >= s->n_msgs) {
			s->phase = 4;
			return step(s);
		}
		m = &s->msgs[s->cur];
		n = m->len - s->off;
		if (n > mss)
			n = mss;
		if (m->from_client) {
			emit(s, 1, 0x18, s->cseq, s->sseq, m->data + s->off, n);
			s->cseq += (uint32_t)n;
		} else {
			emit(s, 0, 0x18, s->sseq, s->cseq, m->data + s->off, n);
			s->sseq += (uint32_t)n;
		}
		s->off += n;
		if (s->off == m->len) {
			s->cur++;
			s->off = 0;
			/* an ACK from the other side unless it answers right away */
			if (s->cur < s->n_msgs && s->msgs[s->cur].from_client == m->from_client)
				s->need_ack = m->from_client ? 2 : 1;
		} else if ((s->off / mss) % 2 == 0) {
			s->need_ack = m->from_client ? 2 : 1;
		}
		return 1;
	case 4:
		emit(s, 1, 0x11, s->cseq, s->sseq, NULL, 0);
		s->phase = 5;
		return 1;
	case 5:
		emit(s, 0, 0x11, s->sseq, s->cseq + 1, NULL, 0);
		s->phase = 6;
		return 1;
	case 6:
		emit(s, 1, 0x10, s->cseq + 1, s->sseq + 1, NULL, 0);
		s->phase = 7;
		return 1;
	default:
		return 0;
	}
}

static void sess_free(struct sess *s)
{
	for (int i = 0; i < s->n_msgs; i++)
		free(s->msgs[i].data);
	free(s->msgs);
	memset(s, 0, sizeof(*s));
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {{"mix", required_argument, NULL, 'x'},
					   {"seed", required_argument, NULL, 's'},
					   {"mss", required_argument, NULL, 'M'},
					   {"encap", required_argument, NULL, 'e'},
					   {"encap-port", required_argument, NULL, 'P'},
					   {"encap2", required_argument, NULL, 'E'},
					   {"encap2-port", required_argument, NULL, 'Q'},
					   {"user-agents", no_argument, NULL, 'u'},
					   {NULL, 0, NULL, 0}};
	const char *out = NULL;
	long sessions = 1000, conc = 50;
	size_t attach = 200000, small = 600;
	int mix[K__N] = { 55, 20, 10, 10, 3, 2 }, total = 0, c;
	struct sess *act;
	pcap_t *p;
	long started = 0, live = 0;

	while ((c = getopt_long(argc, argv, "o:n:c:a:m:", lo, NULL)) != -1) {
		switch (c) {
		case 'o':
			out = optarg;
			break;
		case 'n':
			sessions = atol(optarg);
			break;
		case 'c':
			conc = atol(optarg);
			break;
		case 'a':
			attach = (size_t)atol(optarg);
			break;
		case 'm':
			small = (size_t)atol(optarg);
			break;
		case 's':
			rng_state = strtoull(optarg, NULL, 0) | 1;
			break;
		case 'M':
			mss = (uint32_t)atol(optarg);
			break;
		case 'u':
			user_agents = true;
			break;
		case 'P':
		case 'Q': {
			char *end;
			unsigned long v = strtoul(optarg, &end, 10);

			if (*end || !*optarg || v < 1 || v > 65535) {
				fprintf(stderr, "gen_smtp_pcap: --encap%s-port: a port 1..65535\n",
					c == 'Q' ? "2" : "");
				return 2;
			}
			*(c == 'Q' ? &encap2_port : &encap_port) = (uint16_t)v;
			break;
		}
		case 'e':
		case 'E': {
			int k;

			for (k = 0; k < E__N && strcmp(optarg, encap_names[k]); k++)
				;
			if (k == E__N) {
				fprintf(stderr,
					"gen_smtp_pcap: --encap%s: none, vxlan, geneve, gre, "
					"erspan2, erspan3, mpls, mpls-pw, pppoe, pptp, "
					"ayiya, gtp or teredo\n",
					c == 'E' ? "2" : "");
				return 2;
			}
			*(c == 'E' ? &encap2 : &encap) = (enum encap)k;
			break;
		}
		case 'x': {
			char *d = strdup(optarg), *tok, *save = NULL;

			memset(mix, 0, sizeof(mix));
			for (tok = strtok_r(d, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
				char *eq = strchr(tok, '=');
				int k;

				for (k = 0; k < K__N && eq; k++)
					if (!strncmp(tok, kind_names[k], (size_t)(eq - tok)))
						break;
				if (!eq || k == K__N) {
					fprintf(stderr, "gen_smtp_pcap: bad --mix item '%s'\n", tok);
					return 2;
				}
				mix[k] = atoi(eq + 1);
			}
			free(d);
			break;
		}
		default:
			fprintf(stderr,
				"usage: gen_smtp_pcap -o FILE [-n N] [-c C] [-a BYTES] [-m BYTES] "
				"[--mix plain=55,attach=20,pipe=10,bdat=10,starttls=3,tls465=2] "
				"[--seed N] [--mss N] "
				"[--encap "
				"vxlan|geneve|gre|erspan2|erspan3|mpls|mpls-pw|pppoe|pptp|ayiya|"
				"gtp|teredo] "
				"[--encap-port N] [--encap2 KIND] [--encap2-port N] "
				"[--user-agents]\n");
			return 2;
		}
	}
	for (int k = 0; k < K__N; k++)
		total += mix[k];
	if (encap_port && encap != E_VXLAN && encap != E_GENEVE) {
		fprintf(stderr, "gen_smtp_pcap: --encap-port is for --encap vxlan or geneve\n");
		return 2;
	}
	if (encap2_port && encap2 != E_VXLAN && encap2 != E_GENEVE) {
		fprintf(stderr, "gen_smtp_pcap: --encap2-port is for --encap2 vxlan or geneve\n");
		return 2;
	}
	if (encap2 &&
	    (encap == E_NONE || encap == E_MPLS || encap == E_MPLS_PW || encap == E_PPPOE ||
	     encap2 == E_MPLS || encap2 == E_MPLS_PW || encap2 == E_PPPOE || encap2 == E_TEREDO)) {
		fprintf(stderr, "gen_smtp_pcap: --encap2 needs a tunnel in a tunnel: --encap and "
				"--encap2 vxlan, geneve, gre, erspan2, erspan3, pptp, ayiya, gtp "
				"(--encap teredo too)\n");
		return 2;
	}
	if (!out || sessions < 1 || conc < 1 || total <= 0 || mss < 64 || mss > 9000) {
		fprintf(stderr, "gen_smtp_pcap: need -o FILE and sane -n/-c/--mix/--mss\n");
		return 2;
	}
	p = pcap_open_dead(DLT_EN10MB, 65535);
	dumper = pcap_dump_open(p, out);
	if (!dumper) {
		fprintf(stderr, "gen_smtp_pcap: %s: %s\n", out, pcap_geterr(p));
		return 1;
	}
	act = calloc((size_t)conc, sizeof(*act));
	for (;;) {
		for (long i = 0; i < conc; i++) {
			struct sess *s = &act[i];

			if (!s->msgs && started < sessions) {
				int r = (int)(rnd() % (uint64_t)total), k = 0;

				while (r >= mix[k])
					r -= mix[k++];
				s->cli_ip = 0x0a000000u | (uint32_t)(started % 0xfffff + 1);
				s->srv_ip = 0xc0a80001u;
				s->cport = (uint16_t)(1024 + started % 60000);
				s->cseq = (uint32_t)rnd() | 1;
				s->sseq = (uint32_t)rnd() | 1;
				build(s, (enum kind)k, (int)started, attach, small);
				started++;
				live++;
			}
			if (s->msgs && !step(s)) {
				sess_free(s);
				live--;
			}
		}
		if (!live && started >= sessions)
			break;
	}
	pcap_dump_close(dumper);
	pcap_close(p);
	free(act);
	fprintf(stderr, "gen_smtp_pcap: %ld sessions, %llu packets, %llu bytes -> %s\n", sessions,
		(unsigned long long)n_packets, (unsigned long long)n_bytes, out);
	return 0;
}
