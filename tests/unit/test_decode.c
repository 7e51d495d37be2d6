// SPDX-License-Identifier: BSD-3-Clause
/* Decoder on crafted frames of every supported encapsulation, truncations at every length. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>
#include <pcap/dlt.h>
#include "mailtap/decode.h"
#include "mailtap/types.h"
#include "mailtap_abi.h"
#include "frames.h"

static const uint8_t A4[4] = {10, 0, 0, 1}, B4[4] = {10, 0, 0, 2};
static const uint8_t A6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
static const uint8_t B6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 2};
static const char PL[] = "EHLO x\r\n"; /* SMTP command as payload */

/* The tunnel ports decoded with: Zeek's defaults, but where a test says otherwise (and puts
 * them back). */
static struct decode_cfg dcfg = { .tun_ports = MAILTAP_TUNNEL_PORTS_DEFAULT };

static enum decode_result run(const struct fr *f, int linktype, struct pkt *p)
{
	struct pkt_raw raw = {.ts_ns = 5,
			      .data = f->b,
			      .caplen = (uint32_t)f->len,
			      .wirelen = (uint32_t)f->len,
			      .linktype = linktype};

	return decode__packet(&dcfg, &raw, p, NULL);
}

/* The first n bytes of f as a capture keeps them: its snap length cut the rest, the wire
 * carried all of f. */
static enum decode_result run_snap(const struct fr *f, size_t n, int linktype, struct pkt *p)
{
	struct pkt_raw raw = {.ts_ns = 5,
			      .data = f->b,
			      .caplen = (uint32_t)n,
			      .wirelen = (uint32_t)f->len,
			      .linktype = linktype};

	return decode__packet(&dcfg, &raw, p, NULL);
}

static void check_tcp(const struct pkt *p, int v6)
{
	char buf[64];

	assert_int_equal(p->ip_ver, v6 ? 6 : 4);
	assert_int_equal(p->sport, 40000);
	assert_int_equal(p->dport, 25);
	assert_int_equal(p->seq, 1000);
	assert_int_equal(p->ack, 2000);
	assert_int_equal(p->tcp_flags, PKT_TCP_ACK | PKT_TCP_PSH);
	assert_int_equal(p->payload_len, sizeof(PL) - 1);
	assert_int_equal(p->payload_wire_len, sizeof(PL) - 1);
	assert_memory_equal(p->payload, PL, sizeof(PL) - 1);
	mt_addr__fmt(&p->src, buf, sizeof(buf));
	assert_string_equal(buf, v6 ? "2001:db8::1" : "10.0.0.1");
	mt_addr__fmt(&p->dst, buf, sizeof(buf));
	assert_string_equal(buf, v6 ? "2001:db8::2" : "10.0.0.2");
}

static void build_v4(struct fr *f, uint16_t t1, uint16_t t2, size_t opt)
{
	f->len = 0;
	fr_eth(f, t1, 100, t2, 200, 0x0800);
	fr_ipv4(f, A4, B4, 6, fr_tcp_len(7, sizeof(PL) - 1), opt, 0x4000);
	fr_tcp(f, 40000, 25, 1000, 2000, PKT_TCP_ACK | PKT_TCP_PSH, 512, 7, PL, sizeof(PL) - 1);
}

static void test_ipv4_plain_vlan_qinq(void **st)
{
	struct fr f;
	struct pkt p;

	(void)st;
	build_v4(&f, 0, 0, 0);
	assert_int_equal(run(&f, DLT_EN10MB, &p), DECODE_OK);
	check_tcp(&p, 0);
	assert_int_equal(p.wscale, 7);
	assert_int_equal(p.ip_len, 20 + 24 + sizeof(PL) - 1);
	build_v4(&f, 0x8100, 0, 0);
	assert_int_equal(run(&f, DLT_EN10MB, &p), DECODE_OK);
	check_tcp(&p, 0);
	assert_int_equal(p.vlan[0], 100);
	build_v4(&f, 0x88a8, 0x8100, 0);
	assert_int_equal(run(&f, DLT_EN10MB, &p), DECODE_OK);
	check_tcp(&p, 0);
	assert_int_equal(p.vlan[0], 100);
	assert_int_equal(p.vlan[1], 200);
	build_v4(&f, 0, 0, 12); /* IPv4 options */
	assert_int_equal(run(&f, DLT_EN10MB, &p), DECODE_OK);
	check_tcp(&p, 0);
}

static void test_ipv6_ext(void **st)
{
	struct fr f;
	struct pkt p;

	(void)st;
	for (int hbh = 0; hbh < 2; hbh++) {
		f.len = 0;
		fr_eth(&f, 0x8100, 5, 0, 0, 0x86dd);
		fr_ipv6(&f, A6, B6, 6, fr_tcp_len(-1, sizeof(PL) - 1), hbh);
		fr_tcp(&f, 40000, 25, 1000, 2000, PKT_TCP_ACK | PKT_TCP_PSH, 512, -1, PL,
		       sizeof(PL) - 1);
		assert_int_equal(run(&f, DLT_EN10MB, &p), DECODE_OK);
		check_tcp(&p, 1);
		assert_int_equal(p.wscale, 0xff);
	}
}

/* The limits the XDP parser (bpf/mail_parse.h) has too, so that live and offline runs keep
 * the same packets (test_bpf and test_hostbpf check the other side): up to
 * MAILTAP_MAX_IPV6_EXT IPv6 extension headers, 8 VLAN tags and E-tags in all; a fragment
 * whose next header is Hop-by-Hop is a fragment to reassemble. */
static void test_limits_as_xdp(void **st)
{
	struct fr f;
	struct pkt p;

	(void)st;
	assert_int_equal(MAILTAP_MAX_IPV6_EXT, 16);
	for (int n = 15; n <= 17; n++) {
		size_t ext = 0;

		for (int i = 0; i < n; i++)
			ext += i % 2 ? 16 : 8;
		f.len = 0;
		fr_eth(&f, 0, 0, 0, 0, 0x86dd);
		fr_ipv6(&f, A6, B6, 0, ext + fr_tcp_len(-1, sizeof(PL) - 1), 0);
		for (int i = 0; i < n; i++) {
			fr_u8(&f, i == n - 1 ? 6 : 60);
			fr_u8(&f, (uint8_t)(i % 2));
			for (int k = 2; k < (i % 2 ? 16 : 8); k++)
				fr_u8(&f, 0);
		}
		fr_tcp(&f, 40000, 25, 1000, 2000, PKT_TCP_ACK | PKT_TCP_PSH, 512, -1, PL,
		       sizeof(PL) - 1);
		if (n <= MAILTAP_MAX_IPV6_EXT) {
			assert_int_equal(run(&f, DLT_EN10MB, &p), DECODE_OK);
			check_tcp(&p, 1);
		} else {
			assert_int_equal(run(&f, DLT_EN10MB, &p), DECODE_BAD_IP6_EXT);
		}
	}
	for (int n = 7; n <= 9; n++) {
		f.len = 0;
		fr_eth(&f, 0, 0, 0, 0, 0x8100);
		f.len -= 2;
		for (int i = 0; i < n; i++) {
			if (i == 3) { /* an E-tag among them */
				fr_u16(&f, 0x893f);
				fr_u32(&f, 0x00120000);
				fr_u16(&f, 0);
			} else {
				fr_u16(&f, 0x8100);
				fr_u16(&f, (uint16_t)(100 + i));
			}
		}
		fr_u16(&f, 0x0800);
		fr_ipv4(&f, A4, B4, 6, fr_tcp_len(-1, sizeof(PL) - 1), 0, 0x4000);
		fr_tcp(&f, 40000, 25, 1000, 2000, PKT_TCP_ACK | PKT_TCP_PSH, 512, -1, PL,
		       sizeof(PL) - 1);
		if (n <= 8) {
			assert_int_equal(run(&f, DLT_EN10MB, &p), DECODE_OK);
			check_tcp(&p, 0);
			assert_int_equal(p.vlan[0], 100);
		} else {
			assert_int_equal(run(&f, DLT_EN10MB, &p), DECODE_NOT_IP);
		}
	}
	f.len = 0;
	fr_eth(&f, 0, 0, 0, 0, 0x86dd);
	fr_ipv6(&f, A6, B6, 44, 8 + 8 + fr_tcp_len(-1, 8), 0);
	fr_u8(&f, 0), fr_u8(&f, 0), fr_u16(&f, 1 /* M */), fr_u32(&f, 0x2a);
	fr_u8(&f, 6), fr_u8(&f, 0), fr_u16(&f, 0), fr_u32(&f, 0);
	fr_tcp(&f, 40000, 80, 1, 1, PKT_TCP_ACK | PKT_TCP_PSH, 512, -1, "12345678", 8);
	assert_int_equal(run(&f, DLT_EN10MB, &p), DECODE_FRAGMENT);
	assert_int_equal(p.l4proto, 0);
}

static void test_other_linktypes(void **st)
{
	struct fr f, ip;
	struct pkt p;

	(void)st;
	ip.len = 0;
	fr_ipv4(&ip, A4, B4, 6, fr_tcp_len(-1, sizeof(PL) - 1), 0, 0);
	fr_tcp(&ip, 40000, 25, 1000, 2000, PKT_TCP_ACK | PKT_TCP_PSH, 512, -1, PL, sizeof(PL) - 1);
	/* raw IP */
	assert_int_equal(run(&ip, DLT_RAW, &p), DECODE_OK);
	check_tcp(&p, 0);
	/* BSD NULL, host order AF_INET = 2 */
	f.len = 0;
	fr_u8(&f, 2), fr_u8(&f, 0), fr_u8(&f, 0), fr_u8(&f, 0);
	fr_bytes(&f, ip.b, ip.len);
	assert_int_equal(run(&f, DLT_NULL, &p), DECODE_OK);
	check_tcp(&p, 0);
	/* Linux SLL: 14 bytes then protocol */
	f.len = 0;
	for (int i = 0; i < 14; i++)
		fr_u8(&f, 0);
	fr_u16(&f, 0x0800);
	fr_bytes(&f, ip.b, ip.len);
	assert_int_equal(run(&f, DLT_LINUX_SLL, &p), DECODE_OK);
	check_tcp(&p, 0);
	/* Linux SLL2: protocol first, 20 bytes */
	f.len = 0;
	fr_u16(&f, 0x0800);
	for (int i = 0; i < 18; i++)
		fr_u8(&f, 0);
	fr_bytes(&f, ip.b, ip.len);
	assert_int_equal(run(&f, 276, &p), DECODE_OK);
	check_tcp(&p, 0);
	/* 802.1BR E-tag */
	f.len = 0;
	fr_eth(&f, 0, 0, 0, 0, 0x893f);
	for (int i = 0; i < 6; i++)
		fr_u8(&f, 0);
	fr_u16(&f, 0x0800);
	fr_bytes(&f, ip.b, ip.len);
	assert_int_equal(run(&f, DLT_EN10MB, &p), DECODE_OK);
	check_tcp(&p, 0);
	/* unsupported link type is reported, not guessed */
	assert_int_equal(run(&ip, 147 /* USER0 */, &p), DECODE_LINKTYPE);
}

static void test_non_tcp_and_fragments(void **st)
{
	struct fr f;
	struct pkt p;

	(void)st;
	f.len = 0;
	fr_eth(&f, 0, 0, 0, 0, 0x0806); /* ARP */
	for (int i = 0; i < 28; i++)
		fr_u8(&f, 0);
	assert_int_equal(run(&f, DLT_EN10MB, &p), DECODE_NOT_IP);
	f.len = 0;
	fr_eth(&f, 0, 0, 0, 0, 0x0800);
	fr_ipv4(&f, A4, B4, 17, 8, 0, 0);
	fr_u32(&f, 0), fr_u32(&f, 0);
	assert_int_equal(run(&f, DLT_EN10MB, &p), DECODE_NOT_TCP);
	f.len = 0;
	fr_eth(&f, 0, 0, 0, 0, 0x0800);
	fr_ipv4(&f, A4, B4, 6, 28, 0, 0x2000); /* MF */
	for (int i = 0; i < 28; i++)
		fr_u8(&f, 0);
	assert_int_equal(run(&f, DLT_EN10MB, &p), DECODE_FRAGMENT);
}

/* Every truncation of a valid frame decodes without reading past caplen (ASan checks) and
 * is reported as truncated, never as OK with a wrong payload. */
static void test_truncation_everywhere(void **st)
{
	struct fr f;
	struct pkt p;

	(void)st;
	build_v4(&f, 0x8100, 0x8100, 8);
	for (size_t n = 0; n < f.len; n++) {
		uint8_t *copy = malloc(n ? n : 1);
		struct pkt_raw raw = {.data = copy,
				      .caplen = (uint32_t)n,
				      .wirelen = (uint32_t)f.len,
				      .linktype = DLT_EN10MB};
		enum decode_result r;

		memcpy(copy, f.b, n);
		r = decode__packet(&dcfg, &raw, &p, NULL);
		if (r == DECODE_OK) {
			/* only the payload may be cut */
			assert_true(p.payload_len < p.payload_wire_len);
			assert_true(p.payload + p.payload_len <= copy + n);
		} else {
			assert_true(r == DECODE_TRUNC_L2 || r == DECODE_TRUNC_IP ||
				    r == DECODE_TRUNC_TCP);
		}
		free(copy);
	}
}

static void test_bad_headers(void **st)
{
	struct fr f;
	struct pkt p;
	struct decode_stats ds = {0};
	struct pkt_raw raw;

	(void)st;
	build_v4(&f, 0, 0, 0);
	f.b[14] = 0x43; /* IHL 3 */
	assert_int_equal(run(&f, DLT_EN10MB, &p), DECODE_BAD_IP);
	build_v4(&f, 0, 0, 0);
	f.b[14 + 20 + 12] = 0x20; /* TCP data offset 2 */
	assert_int_equal(run(&f, DLT_EN10MB, &p), DECODE_BAD_TCP);
	build_v4(&f, 0, 0, 0);
	f.b[14 + 20 + 12] = 0xf0; /* data offset 60 > segment */
	assert_int_equal(run(&f, DLT_EN10MB, &p), DECODE_BAD_TCP);
	raw = (struct pkt_raw){.data = f.b, .caplen = 10, .wirelen = 10, .linktype = DLT_EN10MB};
	decode__packet(&dcfg, &raw, &p, &ds);
	assert_int_equal(ds.packets, 1);
	assert_int_equal(ds.result[DECODE_TRUNC_L2], 1);
	assert_string_equal(decode__result_name(DECODE_TRUNC_L2), "truncated_link_header");
}

/* An MPLS stack of `labels` labels (bottom-of-stack on the last one only when bos), or a
 * PPPoE session header with PPP protocol ppp (labels < 0), over an optional VLAN tag, then
 * IPv4 (v6 = 0) or IPv6 and the TCP segment. */
static void build_encap(struct fr *f, uint16_t vlan, int labels, bool bos, uint16_t ppp, int v6)
{
	f->len = 0;
	fr_eth(f, vlan ? 0x8100 : 0, vlan, 0, 0, labels >= 0 ? 0x8847 : 0x8864);
	if (labels >= 0) {
		for (int i = 0; i < labels; i++)
			fr_u32(f, (uint32_t)(1000 + i) << 12 | (bos && i == labels - 1) << 8 | 64);
	} else {
		fr_u8(f, 0x11);
		fr_u8(f, 0);
		fr_u16(f, 0x1234);
		fr_u16(f, (uint16_t)(2 + (v6 ? 40 : 20) + fr_tcp_len(-1, sizeof(PL) - 1)));
		fr_u16(f, ppp);
	}
	if (v6)
		fr_ipv6(f, A6, B6, 6, fr_tcp_len(-1, sizeof(PL) - 1), 0);
	else
		fr_ipv4(f, A4, B4, 6, fr_tcp_len(-1, sizeof(PL) - 1), 0, 0x4000);
	fr_tcp(f, 40000, 25, 1000, 2000, PKT_TCP_ACK | PKT_TCP_PSH, 512, -1, PL, sizeof(PL) - 1);
}

/* MPLS (one to eight labels, IPv4 or IPv6 after the bottom one, over a VLAN tag too) and
 * PPPoE sessions (PPP IPv4 and IPv6) decode to the inner TCP segment; a stack deeper than
 * eight labels, a non-IP payload, PPP control traffic or a PPPoE discovery code do not;
 * every cut of the headers is a truncation. */
static void test_mpls_pppoe(void **st)
{
	struct fr f;
	struct pkt p;

	(void)st;
	for (int v6 = 0; v6 < 2; v6++) {
		for (int n = 1; n <= 8; n++) {
			build_encap(&f, n == 2 ? 7 : 0, n, true, 0, v6);
			assert_int_equal(run(&f, DLT_EN10MB, &p), DECODE_OK);
			check_tcp(&p, v6);
			assert_int_equal(p.vlan[0], n == 2 ? 7 : 0);
		}
		build_encap(&f, 0, -1, false, v6 ? 0x0057 : 0x0021, v6);
		assert_int_equal(run(&f, DLT_EN10MB, &p), DECODE_OK);
		check_tcp(&p, v6);
	}
	build_encap(&f, 0, 9, true, 0, 0); /* the bottom label is the ninth */
	assert_int_equal(run(&f, DLT_EN10MB, &p), DECODE_NOT_IP);
	build_encap(&f, 0, 3, true, 0, 0);
	f.b[14 + 12] = 0x50; /* after the stack: neither IP nor a control word */
	assert_int_equal(run(&f, DLT_EN10MB, &p), DECODE_NOT_IP);
	build_encap(&f, 0, -1, false, 0xc021, 0); /* LCP */
	assert_int_equal(run(&f, DLT_EN10MB, &p), DECODE_NOT_IP);
	build_encap(&f, 0, -1, false, 0x0021, 0);
	f.b[15] = 0x09; /* PADI, a discovery code */
	assert_int_equal(run(&f, DLT_EN10MB, &p), DECODE_NOT_IP);
	build_encap(&f, 0, -1, false, 0x0021, 0);
	f.b[14] = 0x21; /* version 2 */
	assert_int_equal(run(&f, DLT_EN10MB, &p), DECODE_NOT_IP);
	/* a label stack whose bottom never comes before the capture ends */
	build_encap(&f, 0, 2, false, 0, 0);
	f.len = 14 + 8;
	assert_int_equal(run(&f, DLT_EN10MB, &p), DECODE_TRUNC_L2);
	for (int k = 0; k < 2; k++) {
		build_encap(&f, 0, k ? -1 : 3, !k, 0x0021, 0);
		for (size_t n = 14; n < 14 + (k ? 8 : 12); n++) {
			struct fr g = f;

			g.len = n;
			assert_int_equal(run(&g, DLT_EN10MB, &p), DECODE_TRUNC_L2);
		}
		f.len = 14 + (k ? 8 : 12); /* the headers whole, nothing after them */
		assert_int_equal(run(&f, DLT_EN10MB, &p), DECODE_TRUNC_IP);
	}
}

static const uint8_t OA4[4] = {172, 16, 0, 1}, OB4[4] = {172, 16, 0, 2};
static const uint8_t OA6[16] = {0xfd, [15] = 1}, OB6[16] = {0xfd, [15] = 2};

enum tun_kind { T_VXLAN, T_GENEVE, T_GRE_TEB, T_GRE_IP, T_ERSPAN1, T_ERSPAN2, T_ERSPAN3 };

/* The inner frame: Ethernet (a VLAN tag when vlan) + IPv4 (or IPv6) + TCP to port 25. */
static void inner(struct fr *f, uint16_t vlan, int v6, int eth)
{
	if (eth)
		fr_eth(f, vlan ? 0x8100 : 0, vlan, 0, 0, v6 ? 0x86dd : 0x0800);
	if (v6)
		fr_ipv6(f, A6, B6, 6, fr_tcp_len(-1, sizeof(PL) - 1), 0);
	else
		fr_ipv4(f, A4, B4, 6, fr_tcp_len(-1, sizeof(PL) - 1), 0, 0x4000);
	fr_tcp(f, 40000, 25, 1000, 2000, PKT_TCP_ACK | PKT_TCP_PSH, 512, -1, PL, sizeof(PL) - 1);
}

/* Outer Ethernet (tag 9) + IPv4 172.16.0.1 -> .2 + the tunnel header of kind, then inner().
 * Returns the offset of the inner frame. */
static size_t build_tun(struct fr *f, enum tun_kind k, int v6, uint16_t ivlan)
{
	/* UDP + VXLAN; UDP + Geneve + an option; GRE + checksum + key; GRE; GRE (ERSPAN I);
	 * GRE + sequence + ERSPAN II; GRE + sequence + ERSPAN III + its subheader */
	static const size_t hdr_len[] = {16, 24, 12, 4, 4, 16, 28};
	size_t at;
	struct fr in = {.len = 0};
	size_t t;

	inner(&in, ivlan, v6, k != T_GRE_IP);
	t = hdr_len[k];
	f->len = 0;
	fr_eth(f, 0x8100, 9, 0, 0, 0x0800);
	fr_ipv4(f, OA4, OB4, k <= T_GENEVE ? 17 : 47, t + in.len, 0, 0x4000);
	switch (k) {
	case T_VXLAN:
	case T_GENEVE:
		fr_u16(f, 49152);
		fr_u16(f, k == T_VXLAN ? 4789 : 6081);
		fr_u16(f, (uint16_t)(t + in.len));
		fr_u16(f, 0);
		if (k == T_VXLAN) {
			fr_u32(f, 0x08000000);
			fr_u32(f, 4242u << 8);
		} else {
			fr_u8(f, 2); /* two words of options */
			fr_u8(f, 0);
			fr_u16(f, 0x6558);
			fr_u32(f, 4242u << 8);
			fr_u32(f, 0x01010101);
			fr_u32(f, 0xdeadbeef);
		}
		break;
	case T_GRE_TEB: /* checksum and key */
		fr_u16(f, 0xa000);
		fr_u16(f, 0x6558);
		fr_u32(f, 0);
		fr_u32(f, 7);
		break;
	case T_GRE_IP:
		fr_u16(f, 0);
		fr_u16(f, v6 ? 0x86dd : 0x0800);
		break;
	case T_ERSPAN1:
		fr_u16(f, 0);
		fr_u16(f, 0x88be);
		break;
	case T_ERSPAN2:
		fr_u16(f, 0x1000);
		fr_u16(f, 0x88be);
		fr_u32(f, 1);
		fr_u32(f, 0x10000064);
		fr_u32(f, 0);
		break;
	case T_ERSPAN3: /* with the platform-specific subheader (O) */
		fr_u16(f, 0x1000);
		fr_u16(f, 0x22eb);
		fr_u32(f, 1);
		fr_u32(f, 0x20000064);
		fr_u32(f, 0);
		fr_u32(f, 1);
		fr_u32(f, 0);
		fr_u32(f, 0);
		break;
	}
	at = f->len;
	fr_bytes(f, in.b, in.len);
	return at;
}

/* VXLAN, Geneve (with options), GRE (checksum and key; Ethernet or IP) and ERSPAN I, II, III
 * (with its subheader) around IPv4 or IPv6 mail: the inner TCP packet, the inner frame's VLAN
 * tag (the outer one is the tunnel's), the tunnel's endpoints; no tunnel inside a tunnel, no
 * MPLS inside one, other UDP and GRE not followed, every cut of the tunnel header reported. */
/* An Ethernet pseudowire (RFC 4448): outer Ethernet (a tag when ovlan), two labels, a control
 * word (RFC 4385), then the frame `in`. */
static void build_pw(struct fr *f, uint16_t ovlan, const struct fr *in)
{
	f->len = 0;
	fr_eth(f, ovlan ? 0x8100 : 0, ovlan, 0, 0, 0x8847);
	fr_u32(f, 1000u << 12 | 64);
	fr_u32(f, 1001u << 12 | 1u << 8 | 64);
	fr_u32(f, 7); /* control word: first nibble 0, sequence 7 */
	memcpy(f->b + f->len, in->b, in->len);
	f->len += in->len;
}

/* The customer's frame of an Ethernet pseudowire (IPv4 or IPv6, its own VLAN tag or none)
 * decodes to its TCP segment, with its tag and not the provider's, and no tunnel; inside it
 * no MPLS, PPPoE or tunnel is followed (as the XDP parser); every cut of the control word
 * and of the inner Ethernet header is a truncation. The same frames as test_bpf's. */
static void test_mpls_pw(void **st)
{
	struct fr f, in;
	struct pkt p;

	(void)st;
	for (int v6 = 0; v6 < 2; v6++) {
		for (int tag = 0; tag < 2; tag++) {
			in.len = 0;
			inner(&in, tag ? 12 : 0, v6, 1);
			build_pw(&f, 5, &in);
			assert_int_equal(run(&f, DLT_EN10MB, &p), DECODE_OK);
			check_tcp(&p, v6);
			assert_int_equal(p.vlan[0], tag ? 12 : 0);
			assert_int_equal(p.tun.type, 0);
			assert_int_equal(p.pw, 1);
		}
	}
	/* VXLAN in the pseudowire's frame: not followed */
	build_tun(&in, T_VXLAN, 0, 0);
	build_pw(&f, 0, &in);
	assert_int_equal(run(&f, DLT_EN10MB, &p), DECODE_NOT_TCP);
	/* MPLS and PPPoE in it: not followed */
	for (int k = 0; k < 2; k++) {
		in.len = 0;
		build_encap(&in, 0, k ? -1 : 1, true, 0x0021, 0);
		build_pw(&f, 0, &in);
		assert_int_equal(run(&f, DLT_EN10MB, &p), DECODE_NOT_IP);
	}
	/* cuts: in the control word and the inner Ethernet header; then nothing after it */
	in.len = 0;
	inner(&in, 0, 0, 1);
	build_pw(&f, 0, &in);
	for (size_t n = 14 + 8 + 1; n < 14 + 8 + 4 + 14; n++) {
		struct fr g = f;

		g.len = n;
		assert_int_equal(run(&g, DLT_EN10MB, &p), DECODE_TRUNC_L2);
	}
	f.len = 14 + 8 + 4 + 14;
	assert_int_equal(run(&f, DLT_EN10MB, &p), DECODE_TRUNC_IP);
}

static void want_tun_weird(const struct pkt *p, const char *name, const char *source,
			   const char *addl);
static void want_weird(const struct pkt *p, const char *name, int flow);

static void test_tunnels(void **st)
{
	static const uint8_t types[] = {PKT_TUN_VXLAN, PKT_TUN_GENEVE, PKT_TUN_GRE, PKT_TUN_GRE,
					PKT_TUN_GRE, PKT_TUN_GRE, PKT_TUN_GRE};
	static const uint16_t dports[] = {4789, 6081, 0, 0, 0, 0, 0};
	struct fr f, g;
	struct pkt p;
	char buf[64];

	(void)st;
	for (int k = T_VXLAN; k <= T_ERSPAN3; k++) {
		for (int v6 = 0; v6 < 2; v6++) {
			size_t at = build_tun(&f, (enum tun_kind)k, v6, k == T_VXLAN ? 33 : 0);

			if (run(&f, DLT_EN10MB, &p) != DECODE_OK)
				fail_msg("kind %d v6 %d: %s", k, v6,
					 decode__result_name(run(&f, DLT_EN10MB, &p)));
			check_tcp(&p, v6);
			assert_int_equal(p.tun.type, types[k]);
			assert_int_equal(p.vlan[0], k == T_VXLAN ? 33 : 0);
			mt_addr__fmt(&p.tun.src, buf, sizeof(buf));
			assert_string_equal(buf, "172.16.0.1");
			mt_addr__fmt(&p.tun.dst, buf, sizeof(buf));
			assert_string_equal(buf, "172.16.0.2");
			assert_int_equal(p.tun.sport, k <= T_GENEVE ? 49152 : 0);
			assert_int_equal(p.tun.dport, dports[k]);
			/* every cut of the tunnel header (after the outer IP and UDP headers) by
			 * the snap length; the same frame cut on the wire has an outer IP length
			 * past it (Zeek's truncated_IP_len) */
			for (size_t n = 14 + 4 + 20 + (k <= T_GENEVE ? 8 : 0); n < at; n++) {
				assert_int_equal(run_snap(&f, n, DLT_EN10MB, &p),
						 DECODE_TRUNC_TUNNEL);
				/* GRE's header cut: Zeek's truncated_GRE; VXLAN's, Geneve's:
				 * their analyzers' violations, no weird */
				if (k <= T_GENEVE)
					want_weird(&p, "", 0);
				else
					want_tun_weird(&p, "truncated_GRE", "GRE", "");
				g = f;
				g.len = n;
				assert_int_equal(run(&g, DLT_EN10MB, &p), DECODE_IP_LEN);
				assert_int_equal(p.tun.type, 0);
			}
		}
	}
	/* another UDP port: not followed */
	build_tun(&f, T_VXLAN, 0, 0);
	f.b[14 + 4 + 20 + 3] = 53;
	assert_int_equal(run(&f, DLT_EN10MB, &p), DECODE_NOT_TCP);
	assert_int_equal(p.tun.type, 0);
	/* GRE version 1 (PPTP) and routing present: not followed */
	build_tun(&f, T_GRE_IP, 0, 0);
	f.b[14 + 4 + 20 + 1] = 1;
	assert_int_equal(run(&f, DLT_EN10MB, &p), DECODE_NOT_TCP);
	build_tun(&f, T_GRE_IP, 0, 0);
	f.b[14 + 4 + 20] = 0x40;
	assert_int_equal(run(&f, DLT_EN10MB, &p), DECODE_NOT_TCP);
	/* a GRE payload that is neither Ethernet nor IP */
	build_tun(&f, T_GRE_IP, 0, 0);
	f.b[14 + 4 + 20 + 2] = 0x88, f.b[14 + 4 + 20 + 3] = 0x0b; /* PPP */
	assert_int_equal(run(&f, DLT_EN10MB, &p), DECODE_NOT_TCP);
	/* Geneve version 1 */
	build_tun(&f, T_GENEVE, 0, 0);
	f.b[14 + 4 + 20 + 8] |= 0x40;
	assert_int_equal(run(&f, DLT_EN10MB, &p), DECODE_NOT_TCP);
	/* Geneve carrying IPv6 itself (protocol 0x86dd, no inner Ethernet) */
	{
		struct fr in = {.len = 0};

		inner(&in, 0, 1, 0);
		f.len = 0;
		fr_eth(&f, 0, 0, 0, 0, 0x0800);
		fr_ipv4(&f, OA4, OB4, 17, 8 + 8 + in.len, 0, 0);
		fr_u16(&f, 40000);
		fr_u16(&f, 6081);
		fr_u16(&f, (uint16_t)(16 + in.len));
		fr_u16(&f, 0);
		fr_u32(&f, 0x000086dd); /* no options */
		fr_u32(&f, 7u << 8);
		fr_bytes(&f, in.b, in.len);
		assert_int_equal(run(&f, DLT_EN10MB, &p), DECODE_OK);
		check_tcp(&p, 1);
		assert_int_equal(p.tun.type, PKT_TUN_GENEVE);
		assert_int_equal(p.tun.sport, 40000);
	}
	/* a tunnel inside the tunnel: VXLAN in GRE over IP, followed (test_nested_tunnels) */
	{
		struct fr in;

		build_tun(&in, T_VXLAN, 0, 0);
		f.len = 0;
		fr_eth(&f, 0, 0, 0, 0, 0x0800);
		fr_ipv4(&f, OB4, OA4, 47, 4 + in.len - 18, 0, 0);
		fr_u16(&f, 0);
		fr_u16(&f, 0x0800);
		fr_bytes(&f, in.b + 18, in.len - 18); /* the VXLAN packet's IP header on */
		assert_int_equal(run(&f, DLT_EN10MB, &p), DECODE_OK);
		check_tcp(&p, 0);
		assert_int_equal(p.tun_outer.type, PKT_TUN_GRE);
		assert_int_equal(p.tun.type, PKT_TUN_VXLAN);
	}
	/* MPLS inside a tunnel: not followed, as the XDP parser */
	build_tun(&f, T_GRE_TEB, 0, 0);
	f.b[14 + 4 + 20 + 12 + 12] = 0x88, f.b[14 + 4 + 20 + 12 + 13] = 0x47;
	assert_int_equal(run(&f, DLT_EN10MB, &p), DECODE_NOT_IP);
}

/* An IP total length (IPv6: payload length + 40) past the packet's length on the wire is
 * Zeek's truncated_IP_len: the packet is not decoded, wherever the IP header is (plain,
 * VLAN, raw IP, a tunnel's inner packet), and before a fragment is recognised. A snap length
 * shorter than the packet is no such thing: the payload is only cut. Ethernet padding (wire
 * longer than the IP length) is fine. */
static void test_ip_len_past_wire(void **st)
{
	struct fr f;
	struct pkt p;
	size_t ip_at;

	(void)st;
	for (int v6 = 0; v6 < 2; v6++) {
		f.len = 0;
		fr_eth(&f, 0, 0, 0, 0, v6 ? 0x86dd : 0x0800);
		ip_at = f.len;
		if (v6)
			fr_ipv6(&f, A6, B6, 6, fr_tcp_len(7, sizeof(PL) - 1), 0);
		else
			fr_ipv4(&f, A4, B4, 6, fr_tcp_len(7, sizeof(PL) - 1), 0, 0x4000);
		fr_tcp(&f, 40000, 25, 1000, 2000, PKT_TCP_ACK | PKT_TCP_PSH, 512, 7, PL,
		       sizeof(PL) - 1);
		assert_int_equal(run(&f, DLT_EN10MB, &p), DECODE_OK);
		/* the last payload byte not on the wire */
		assert_int_equal(run_snap(&f, f.len - 1, DLT_EN10MB, &p), DECODE_OK);
		assert_int_equal(p.payload_len + 1, p.payload_wire_len);
		{
			struct fr g = f;

			g.len--;
			assert_int_equal(run(&g, DLT_EN10MB, &p), DECODE_IP_LEN);
			/* the length field one more than the frame */
			g = f;
			if (v6)
				g.b[ip_at + 5]++;
			else
				g.b[ip_at + 3]++;
			assert_int_equal(run(&g, DLT_EN10MB, &p), DECODE_IP_LEN);
			/* ... and a snap length: the wire is what counts */
			{
				struct pkt_raw raw = {.data = g.b, .caplen = (uint32_t)g.len - 4,
						      .wirelen = (uint32_t)g.len + 1,
						      .linktype = DLT_EN10MB};

				assert_int_equal(decode__packet(&dcfg, &raw, &p, NULL), DECODE_OK);
				raw.wirelen = (uint32_t)g.len;
				assert_int_equal(decode__packet(&dcfg, &raw, &p, NULL), DECODE_IP_LEN);
			}
			/* padding after the IP packet */
			g = f;
			memset(g.b + g.len, 0, 6);
			g.len += 6;
			assert_int_equal(run(&g, DLT_EN10MB, &p), DECODE_OK);
			/* raw IP */
			g.len = 0;
			fr_bytes(&g, f.b + ip_at, f.len - ip_at - 1);
			assert_int_equal(run(&g, DLT_RAW, &p), DECODE_IP_LEN);
		}
	}
	/* a fragment whose length passes the wire: dropped before fragment handling */
	f.len = 0;
	fr_eth(&f, 0, 0, 0, 0, 0x0800);
	fr_ipv4(&f, A4, B4, 6, 100, 0, 0x2000 /* MF */);
	memset(f.b + f.len, 'x', 60);
	f.len += 60;
	assert_int_equal(run(&f, DLT_EN10MB, &p), DECODE_IP_LEN);
	memset(f.b + f.len, 'x', 40);
	f.len += 40;
	assert_int_equal(run(&f, DLT_EN10MB, &p), DECODE_FRAGMENT);
	/* a tunnel's inner packet whose length passes the outer packet's end: in the tunnel */
	{
		struct fr in = {.len = 0};

		inner(&in, 0, 0, 0);
		in.b[2 + 1] += 4; /* the inner IPv4 total length, 4 more than it carries */
		f.len = 0;
		fr_eth(&f, 0, 0, 0, 0, 0x0800);
		fr_ipv4(&f, OA4, OB4, 47, 4 + in.len, 0, 0);
		fr_u16(&f, 0);
		fr_u16(&f, 0x0800);
		fr_bytes(&f, in.b, in.len);
		assert_int_equal(run(&f, DLT_EN10MB, &p), DECODE_IP_LEN);
		assert_int_equal(p.tun.type, PKT_TUN_GRE);
		in.b[2 + 1] -= 4;
		memcpy(f.b + f.len - in.len, in.b, in.len);
		assert_int_equal(run(&f, DLT_EN10MB, &p), DECODE_OK);
		assert_int_equal(p.tun.type, PKT_TUN_GRE);
	}
}

/* The one weird of p, by name ("" for none). */
static void want_weird(const struct pkt *p, const char *name, int flow)
{
	if (!*name) {
		if (p->n_weirds)
			fail_msg("weird %s, want none", p->weird[0].name);
		return;
	}
	if (p->n_weirds != 1)
		fail_msg("%u weirds, want %s", p->n_weirds, name);
	assert_string_equal(p->weird[0].name, name);
	assert_int_equal(p->weird[0].flow, flow);
}

/* Zeek's IP analyzer's header checks (IP.cc), each a net weird with the packet dropped; a
 * total length of 0 (TSO, BIG TCP) the captured length, as Zeek with checksums ignored. */
static void test_ip_header_weirds(void **st)
{
	struct fr f, g;
	struct pkt p;
	size_t ip_at = 14;

	(void)st;
	build_v4(&f, 0, 0, 0);
	assert_int_equal(run(&f, DLT_EN10MB, &p), DECODE_OK);
	want_weird(&p, "", 0);
	g = f;
	g.b[ip_at + 2] = g.b[ip_at + 3] = 0;
	assert_int_equal(run(&g, DLT_EN10MB, &p), DECODE_OK);
	want_weird(&p, "ip_hdr_len_zero", 0);
	assert_string_equal(p.weird[0].source, "IP");
	check_tcp(&p, 0);
	assert_int_equal(p.ip_len, f.len - ip_at);
	/* ... with Ethernet padding: the captured length, padding and all (Zeek's cap_len) */
	memset(g.b + g.len, 0, 4);
	g.len += 4;
	assert_int_equal(run(&g, DLT_EN10MB, &p), DECODE_OK);
	assert_int_equal(p.ip_len, g.len - ip_at);
	g = f;
	g.b[ip_at] = 0x44; /* IHL 4 */
	assert_int_equal(run(&g, DLT_EN10MB, &p), DECODE_BAD_IP);
	want_weird(&p, "IPv4_min_header_size", 0);
	g = f;
	g.b[ip_at] = 0x4f; /* 60 bytes of header, the total length 48 */
	g.b[ip_at + 2] = 0, g.b[ip_at + 3] = 48;
	assert_int_equal(run(&g, DLT_EN10MB, &p), DECODE_BAD_IP);
	want_weird(&p, "invalid_IP_header_size", 0);
	g.b[ip_at + 3] = 0; /* 60 bytes of header, the total 0: the captured length is less */
	g.len = ip_at + 56;
	assert_int_equal(run(&g, DLT_EN10MB, &p), DECODE_BAD_IP);
	assert_int_equal(p.n_weirds, 2);
	assert_string_equal(p.weird[0].name, "ip_hdr_len_zero");
	assert_string_equal(p.weird[1].name, "invalid_IP_header_size");
	g = f;
	g.b[ip_at] = 0x4f; /* 60 bytes of header, 100 of packet on the wire, 56 captured */
	g.b[ip_at + 3] = 100;
	g.len = ip_at + 100;
	assert_int_equal(run_snap(&g, ip_at + 56, DLT_EN10MB, &p), DECODE_TRUNC_IP);
	want_weird(&p, "internally_truncated_header", 0);
	assert_int_equal(run_snap(&f, ip_at + 19, DLT_EN10MB, &p), DECODE_TRUNC_IP);
	want_weird(&p, "truncated_IP", 0);
	g = f;
	g.b[ip_at] = 0x55; /* version 5 */
	assert_int_equal(run(&g, DLT_EN10MB, &p), DECODE_BAD_IP);
	want_weird(&p, "unknown_ip_version", 0);
	g.len--;
	g.b[ip_at] = 0x45;
	assert_int_equal(run(&g, DLT_EN10MB, &p), DECODE_IP_LEN);
	want_weird(&p, "truncated_IP_len", 0);
	/* IPv6 */
	f.len = 0;
	fr_eth(&f, 0, 0, 0, 0, 0x86dd);
	fr_ipv6(&f, A6, B6, 6, fr_tcp_len(7, sizeof(PL) - 1), 0);
	fr_tcp(&f, 40000, 25, 1000, 2000, PKT_TCP_ACK | PKT_TCP_PSH, 512, 7, PL, sizeof(PL) - 1);
	assert_int_equal(run_snap(&f, ip_at + 39, DLT_EN10MB, &p), DECODE_TRUNC_IP);
	want_weird(&p, "truncated_IP", 0);
	/* inside a tunnel: the name with _in_tunnel */
	{
		size_t at = build_tun(&f, T_GRE_IP, 0, 0);

		f.b[at] = 0x44;
		assert_int_equal(run(&f, DLT_EN10MB, &p), DECODE_BAD_IP);
		want_weird(&p, "IPv4_min_header_size_in_tunnel", 0);
	}
}

/* IP in IP (protocols 4 and 41) in IPv4 and IPv6: the inner TCP packet, tunnel Tunnel::IP
 * between the outer addresses with ports 0, no VLAN tag (Zeek's raw inner packet); the
 * IPTunnel analyzer's checks (an inner packet of the other IP version, shorter or longer than
 * the outer payload) are flow weirds of the outer packet, the packet dropped; no tunnel in
 * it is followed, nor is it in another tunnel. */
static void build_ipip(struct fr *f, int ov6, int iv6, struct fr *in)
{
	in->len = 0;
	inner(in, 0, iv6, 0);
	f->len = 0;
	fr_eth(f, 0x8100, 9, 0, 0, ov6 ? 0x86dd : 0x0800);
	if (ov6)
		fr_ipv6(f, OA6, OB6, iv6 ? 41 : 4, in->len, 0);
	else
		fr_ipv4(f, OA4, OB4, iv6 ? 41 : 4, in->len, 0, 0x4000);
	fr_bytes(f, in->b, in->len);
}

static void test_ip_in_ip(void **st)
{
	struct fr f, in;
	struct pkt p;
	char buf[64];

	(void)st;
	for (int ov6 = 0; ov6 < 2; ov6++) {
		for (int iv6 = 0; iv6 < 2; iv6++) {
			build_ipip(&f, ov6, iv6, &in);
			assert_int_equal(run(&f, DLT_EN10MB, &p), DECODE_OK);
			check_tcp(&p, iv6);
			assert_int_equal(p.tun.type, PKT_TUN_IP);
			assert_int_equal(p.tun.sport, 0);
			assert_int_equal(p.tun.dport, 0);
			assert_int_equal(p.vlan[0], 0);
			assert_int_equal(p.n_weirds, 0);
			mt_addr__fmt(&p.tun.src, buf, sizeof(buf));
			assert_string_equal(buf, ov6 ? "fd00::1" : "172.16.0.1");
			/* the inner packet one byte longer than the outer payload */
			f.b[f.len - in.len + (iv6 ? 5 : 3)]++;
			assert_int_equal(run(&f, DLT_EN10MB, &p), DECODE_TRUNC_TUNNEL);
			want_weird(&p, "truncated_inner_IP", 1);
			assert_string_equal(p.weird[0].source, "IPTunnel");
			mt_addr__fmt(&p.weird[0].src, buf, sizeof(buf));
			assert_string_equal(buf, ov6 ? "fd00::1" : "172.16.0.1");
			/* ... one byte shorter */
			f.b[f.len - in.len + (iv6 ? 5 : 3)] -= 2;
			assert_int_equal(run(&f, DLT_EN10MB, &p), DECODE_NOT_TCP);
			want_weird(&p, "inner_IP_payload_length_mismatch", 1);
			f.b[f.len - in.len + (iv6 ? 5 : 3)]++;
			/* cut by the snap length: Zeek's inner packet is what was captured */
			assert_int_equal(run_snap(&f, f.len - 1, DLT_EN10MB, &p), DECODE_TRUNC_TUNNEL);
			want_weird(&p, "truncated_inner_IP", 1);
			/* the other IP version than the protocol says */
			f.b[f.len - in.len] ^= 0x20; /* 4 <-> 6 */
			assert_int_equal(run(&f, DLT_EN10MB, &p), DECODE_NOT_TCP);
			want_weird(&p, "invalid_inner_IP_version", 1);
		}
	}
	/* IP in IP in GRE: two levels of tunnel (test_nested_tunnels) */
	{
		struct fr g;

		build_ipip(&g, 0, 0, &in);
		f.len = 0;
		fr_eth(&f, 0, 0, 0, 0, 0x0800);
		fr_ipv4(&f, A4, B4, 47, 4 + g.len - 18, 0, 0);
		fr_u16(&f, 0);
		fr_u16(&f, 0x0800);
		fr_bytes(&f, g.b + 18, g.len - 18);
		assert_int_equal(run(&f, DLT_EN10MB, &p), DECODE_OK);
		assert_int_equal(p.tun_outer.type, PKT_TUN_GRE);
		assert_int_equal(p.tun.type, PKT_TUN_IP);
	}
}

/* Zeek 7's VLAN analyzer: vlan the first tag with a VID, inner_vlan every later tag (a third
 * overwrites the second), a priority tag (VID 0) first is no vlan. */
static void test_vlan_tags_as_zeek(void **st)
{
	static const uint16_t vids[][3] = {{10, 20, 30}, {0, 20, 0xffff}, {10, 0, 0xffff},
					   {0, 0, 5}};
	static const uint16_t want[][2] = {{10, 30}, {20, 0}, {10, 0}, {5, 0}};
	struct fr f;
	struct pkt p;

	(void)st;
	for (size_t i = 0; i < sizeof(vids) / sizeof(vids[0]); i++) {
		f.len = 0;
		fr_eth(&f, 0x88a8, vids[i][0], 0x8100, vids[i][1],
		       vids[i][2] == 0xffff ? 0x0800 : 0x8100);
		if (vids[i][2] != 0xffff) {
			fr_u16(&f, vids[i][2]);
			fr_u16(&f, 0x0800);
		}
		fr_ipv4(&f, A4, B4, 6, fr_tcp_len(7, sizeof(PL) - 1), 0, 0x4000);
		fr_tcp(&f, 40000, 25, 1000, 2000, PKT_TCP_ACK | PKT_TCP_PSH, 512, 7, PL,
		       sizeof(PL) - 1);
		assert_int_equal(run(&f, DLT_EN10MB, &p), DECODE_OK);
		assert_int_equal(p.vlan[0], want[i][0]);
		assert_int_equal(p.vlan[1], want[i][1]);
	}
}

/* A tunnel's inner packet cut by the snap length: VXLAN's wire length is the outer one's
 * (analysed, its payload short), GRE's what was captured (Zeek's GRE analyzer): dropped with
 * truncated_IP_len_in_tunnel. */
static void test_snap_in_tunnel(void **st)
{
	struct fr f;
	struct pkt p;

	(void)st;
	build_tun(&f, T_VXLAN, 0, 0);
	assert_int_equal(run_snap(&f, f.len - 1, DLT_EN10MB, &p), DECODE_OK);
	assert_int_equal(p.payload_len + 1, p.payload_wire_len);
	build_tun(&f, T_GRE_IP, 0, 0);
	assert_int_equal(run_snap(&f, f.len - 1, DLT_EN10MB, &p), DECODE_IP_LEN);
	want_weird(&p, "truncated_IP_len_in_tunnel", 0);
	build_tun(&f, T_GRE_TEB, 1, 0);
	assert_int_equal(run_snap(&f, f.len - 1, DLT_EN10MB, &p), DECODE_IP_LEN);
	want_weird(&p, "truncated_IP_len_in_tunnel", 0);
}

/* IPv6 with one routing header of type, len8 (8-byte units after the first 8), segleft, its
 * last 16 bytes the address last (type 0: the final destination), then TCP. */
static void build_v6_routing(struct fr *f, uint8_t type, uint8_t len8, uint8_t segleft,
			     uint8_t last)
{
	size_t rh = 8 + (size_t)len8 * 8;

	f->len = 0;
	fr_eth(f, 0, 0, 0, 0, 0x86dd);
	fr_ipv6(f, A6, B6, 43, rh + fr_tcp_len(7, sizeof(PL) - 1), 0);
	fr_u8(f, 6);
	fr_u8(f, len8);
	fr_u8(f, type);
	fr_u8(f, segleft);
	memset(f->b + f->len, 0, rh - 4);
	f->b[f->len + rh - 4 - 16] = 0x20;
	f->b[f->len + rh - 4 - 1] = last;
	f->len += rh - 4;
	fr_tcp(f, 40000, 25, 1000, 2000, PKT_TCP_ACK | PKT_TCP_PSH, 512, 7, PL, sizeof(PL) - 1);
}

/* Zeek's ProcessRoutingHeader: a type 0 routing header with segments left makes its last
 * address the destination (routing0_hdr, always); an odd length is odd_routing0_len, another
 * type unknown_routing_type with the type; flow weirds with the packet's addresses. */
static void test_ipv6_routing(void **st)
{
	struct fr f;
	struct pkt p;
	char buf[64];

	(void)st;
	build_v6_routing(&f, 0, 2, 1, 0x99);
	assert_int_equal(run(&f, DLT_EN10MB, &p), DECODE_OK);
	mt_addr__fmt(&p.dst, buf, sizeof(buf));
	assert_string_equal(buf, "2000::99");
	want_weird(&p, "routing0_hdr", 1);
	mt_addr__fmt(&p.weird[0].dst, buf, sizeof(buf));
	assert_string_equal(buf, "2000::99");
	build_v6_routing(&f, 0, 2, 0, 0x99); /* no segments left: the header's destination */
	assert_int_equal(run(&f, DLT_EN10MB, &p), DECODE_OK);
	check_tcp(&p, 1);
	want_weird(&p, "routing0_hdr", 1);
	build_v6_routing(&f, 0, 3, 1, 0x99);
	assert_int_equal(run(&f, DLT_EN10MB, &p), DECODE_OK);
	check_tcp(&p, 1);
	assert_int_equal(p.n_weirds, 2);
	assert_string_equal(p.weird[0].name, "odd_routing0_len");
	assert_string_equal(p.weird[1].name, "routing0_hdr");
	build_v6_routing(&f, 4, 2, 1, 0x99); /* SRv6 */
	assert_int_equal(run(&f, DLT_EN10MB, &p), DECODE_OK);
	check_tcp(&p, 1);
	want_weird(&p, "unknown_routing_type", 1);
	assert_string_equal(p.weird[0].addl, "4");
}

/* VXLAN without its I flag is no VXLAN to Zeek (an analyzer violation); GRE's checks are
 * flow weirds of the outer packet (unknown_gre_version, unknown_gre_flags, gre_routing), the
 * packet dropped; version 1 (PPTP) is not followed; the acknowledgment bit is 4 bytes more. */
static void test_tunnel_flags_as_zeek(void **st)
{
	static const struct {
		uint16_t flags;
		const char *weird;
	} gre[] = {{0x0002, "unknown_gre_version"}, {0x0008, "unknown_gre_flags"},
		   {0x4000, "gre_routing"}, {0x0001, "egre_protocol_type"}};
	struct fr f;
	struct pkt p;
	size_t at;

	(void)st;
	at = build_tun(&f, T_VXLAN, 0, 0);
	f.b[at - 8] = 0;
	assert_int_equal(run(&f, DLT_EN10MB, &p), DECODE_NOT_TCP);
	want_weird(&p, "", 0);
	for (size_t i = 0; i < sizeof(gre) / sizeof(gre[0]); i++) {
		at = build_tun(&f, T_GRE_IP, 0, 0);
		f.b[at - 4] = (uint8_t)(gre[i].flags >> 8);
		f.b[at - 3] = (uint8_t)gre[i].flags;
		assert_int_equal(run(&f, DLT_EN10MB, &p), DECODE_NOT_TCP);
		want_weird(&p, gre[i].weird, 1);
		if (*gre[i].weird)
			assert_string_equal(p.weird[0].source, "GRE");
	}
	{
		struct fr g;

		at = build_tun(&f, T_GRE_IP, 0, 0);
		g = f;
		g.b[at - 3] = 0x80;
		memcpy(g.b + at + 4, f.b + at, f.len - at);
		memcpy(g.b + at, "ACK#", 4);
		g.len += 4;
		g.b[14 + 4 + 3] += 4; /* the outer IPv4 total length */
		assert_int_equal(run(&g, DLT_EN10MB, &p), DECODE_OK);
		check_tcp(&p, 0);
	}
}

/* A frame of outer Ethernet + IPv4 172.16.0.1 -> .2 (IPv6 fd00::1 -> ::2 with ov6) carrying
 * proto (17: a UDP header sport -> dport first), then hdr (hlen bytes), then payload (plen
 * bytes). Returns the offset of the payload. */
static size_t build_outer(struct fr *f, int ov6, uint8_t proto, uint16_t sport, uint16_t dport,
			  const uint8_t *hdr, size_t hlen, const uint8_t *pl, size_t plen)
{
	size_t l4 = (proto == 17 ? 8 : 0) + hlen + plen, at;

	f->len = 0;
	fr_eth(f, 0, 0, 0, 0, ov6 ? 0x86dd : 0x0800);
	if (ov6)
		fr_ipv6(f, OA6, OB6, proto, l4, 0);
	else
		fr_ipv4(f, OA4, OB4, proto, l4, 0, 0x4000);
	if (proto == 17) {
		fr_u16(f, sport);
		fr_u16(f, dport);
		fr_u16(f, (uint16_t)l4);
		fr_u16(f, 0);
	}
	if (hlen) /* hdr, pl may be NULL with no bytes: not for memcpy */
		fr_bytes(f, hdr, hlen);
	at = f->len;
	if (plen)
		fr_bytes(f, pl, plen);
	return at;
}

/* The weird of a dropped packet: its name, flow weird of the outer addresses, its source. */
static void want_tun_weird(const struct pkt *p, const char *name, const char *source,
			   const char *addl)
{
	char buf[64];

	want_weird(p, name, 1);
	assert_string_equal(p->weird[0].source, source);
	assert_string_equal(p->weird[0].addl, addl);
	mt_addr__fmt(&p->weird[0].src, buf, sizeof(buf));
	assert_string_equal(buf, "172.16.0.1");
}

/* Every cut of the frame by the snap length from from to before to decodes to something else
 * than OK (the checks hold at every length), with nothing read past it (ASan, valgrind). */
static void cuts_not_ok(const struct fr *f, size_t from, size_t to)
{
	struct pkt p;

	for (size_t n = from; n < to; n++)
		assert_int_not_equal(run_snap(f, n, DLT_EN10MB, &p), DECODE_OK);
}

/* GRE version 1 (PPTP) around PPP, as Zeek's GRE analyzer: key, sequence, acknowledgment
 * words; PPP IPv4 (0x0021) and IPv6 (0x0057) followed, the inner packet checked by IPTunnel
 * (exact length, version); Tunnel::GRE between the outer addresses with ports 0; every other
 * form a flow weird of the outer packet (source GRE), the packet dropped. */
static void test_gre_v1_pptp(void **st)
{
	static const uint16_t flag_sets[] = {0x2001, 0x3001, 0x3081, 0x2081};
	struct fr f, in, g;
	struct pkt p;
	uint8_t h[24];
	size_t hl, at;
	char buf[64];

	(void)st;
	for (size_t k = 0; k < sizeof(flag_sets) / sizeof(flag_sets[0]); k++) {
		for (int v6 = 0; v6 < 2; v6++) {
			uint16_t fl = flag_sets[k];

			in.len = 0;
			inner(&in, 0, v6, 0);
			hl = 0;
			h[hl++] = (uint8_t)(fl >> 8), h[hl++] = (uint8_t)fl;
			h[hl++] = 0x88, h[hl++] = 0x0b;
			h[hl++] = (uint8_t)((in.len + 4) >> 8), h[hl++] = (uint8_t)(in.len + 4);
			h[hl++] = 0, h[hl++] = 9; /* call id */
			if (fl & 0x1000)
				memcpy(h + hl, "\0\0\0\1", 4), hl += 4;
			if (fl & 0x0080)
				memcpy(h + hl, "\0\0\0\2", 4), hl += 4;
			memcpy(h + hl, v6 ? "\xff\x03\x00\x57" : "\xff\x03\x00\x21", 4), hl += 4;
			at = build_outer(&f, 0, 47, 0, 0, h, hl, in.b, in.len);
			assert_int_equal(run(&f, DLT_EN10MB, &p), DECODE_OK);
			check_tcp(&p, v6);
			want_weird(&p, "", 0);
			assert_int_equal(p.tun.type, PKT_TUN_GRE);
			assert_int_equal(p.tun.sport, 0);
			assert_int_equal(p.tun.dport, 0);
			mt_addr__fmt(&p.tun.src, buf, sizeof(buf));
			assert_string_equal(buf, "172.16.0.1");
			cuts_not_ok(&f, 14, f.len);
			/* the PPP protocol of the other IP version */
			g = f;
			g.b[at - 1] = v6 ? 0x21 : 0x57;
			assert_int_equal(run(&g, DLT_EN10MB, &p), DECODE_NOT_TCP);
			want_tun_weird(&p, "invalid_inner_IP_version", "IPTunnel", "");
			/* the inner packet longer, shorter than the GRE payload */
			g = f;
			g.b[at + (v6 ? 5 : 3)]++;
			assert_int_equal(run(&g, DLT_EN10MB, &p), DECODE_TRUNC_TUNNEL);
			want_tun_weird(&p, "truncated_inner_IP", "IPTunnel", "");
			g.b[at + (v6 ? 5 : 3)] -= 2;
			assert_int_equal(run(&g, DLT_EN10MB, &p), DECODE_NOT_TCP);
			want_tun_weird(&p, "inner_IP_payload_length_mismatch", "IPTunnel", "");
			/* LCP (0xc021): not IP */
			g = f;
			g.b[at - 2] = 0xc0;
			assert_int_equal(run(&g, DLT_EN10MB, &p), DECODE_NOT_TCP);
			want_tun_weird(&p, "non_ip_packet_in_encap", "GRE", "");
			/* an acknowledgment alone, without PPP: Zeek's truncated_GRE */
			g = f;
			g.len = at - 4;
			g.b[14 + 3] = (uint8_t)(g.len - 14);
			assert_int_equal(run(&g, DLT_EN10MB, &p), DECODE_TRUNC_TUNNEL);
			want_tun_weird(&p, "truncated_GRE", "GRE", "");
		}
	}
	at = build_outer(&f, 0, 47, 0, 0, (const uint8_t *)"\x20\x01\x08\x00\0\0\0\0\xff\x03\0\x21",
			 12, in.b, in.len);
	assert_int_equal(run(&f, DLT_EN10MB, &p), DECODE_NOT_TCP);
	want_tun_weird(&p, "egre_protocol_type", "GRE", "proto=2048");
	f.b[at - 10] = 0x88, f.b[at - 9] = 0x0b; /* 0x880b */
	f.b[at - 12] = 0x60;			 /* routing */
	assert_int_equal(run(&f, DLT_EN10MB, &p), DECODE_NOT_TCP);
	want_tun_weird(&p, "gre_routing", "GRE", "");
	f.b[at - 12] = 0x20, f.b[at - 11] = 0x09; /* version 1, a reserved flag */
	assert_int_equal(run(&f, DLT_EN10MB, &p), DECODE_NOT_TCP);
	want_tun_weird(&p, "unknown_gre_flags", "GRE", "");
	f.b[at - 11] = 0x03; /* version 3 */
	assert_int_equal(run(&f, DLT_EN10MB, &p), DECODE_NOT_TCP);
	want_tun_weird(&p, "unknown_gre_version", "GRE", "version=3");
}

/* Teredo (UDP 3544), AYIYA (UDP 5072), GTPv1 (UDP 2152, 2123), as Zeek's analyzers: to the
 * port or from it (a reply: the tunnel then oriented with the port on the responder's side);
 * the inner IPv6 (Teredo) or IPv4/IPv6 packet decoded, its tunnel with the outer UDP ports;
 * the broken forms dropped, with the weirds Zeek raises for them. */
static void test_udp_ip_tunnels(void **st)
{
	struct fr f, g, in4, in6;
	struct pkt p;
	char buf[64];
	size_t at;

	(void)st;
	in4.len = in6.len = 0;
	inner(&in4, 0, 0, 0);
	inner(&in6, 0, 1, 0);
	/* Teredo: plain, origin indication, authentication + origin; both outer IP versions;
	 * to 3544 and from it */
	{
		static const uint8_t origin[8] = {0, 0, 0xf2, 0x3c, 0xc0, 0, 2, 1};
		static const uint8_t auth_origin[4 + 2 + 3 + 9 + 8] = {
		    0, 1, 2, 3, 'i', 'd', 'a', 'u', 't', [9] = 1, [17] = 0, [18] = 0, [19] = 0};
		const struct {
			const uint8_t *h;
			size_t n;
		} hs[] = {{NULL, 0}, {origin, 8}, {auth_origin, sizeof(auth_origin)}};

		for (size_t k = 0; k < 3; k++) {
			for (int ov6 = 0; ov6 < 2; ov6++) {
				for (int rev = 0; rev < 2; rev++) {
					at = build_outer(&f, ov6, 17, rev ? 3544 : 40001,
							 rev ? 40001 : 3544, hs[k].h, hs[k].n, in6.b,
							 in6.len);
					assert_int_equal(run(&f, DLT_EN10MB, &p), DECODE_OK);
					check_tcp(&p, 1);
					want_weird(&p, "", 0);
					assert_int_equal(p.tun.type, PKT_TUN_TEREDO);
					assert_int_equal(p.tun.sport, 40001);
					assert_int_equal(p.tun.dport, 3544);
					mt_addr__fmt(&p.tun.src, buf, sizeof(buf));
					assert_string_equal(buf, rev ? (ov6 ? "fd00::2" : "172.16.0.2")
								     : (ov6 ? "fd00::1" : "172.16.0.1"));
					cuts_not_ok(&f, 14, f.len);
					(void)at;
				}
			}
		}
		/* IPv4 in Teredo, two origin indications, origin before authentication */
		build_outer(&f, 0, 17, 40001, 3544, NULL, 0, in4.b, in4.len);
		assert_int_equal(run(&f, DLT_EN10MB, &p), DECODE_NOT_TCP);
		want_weird(&p, "", 0);
		g.len = 0;
		fr_bytes(&g, origin, 8);
		fr_bytes(&g, origin, 8);
		build_outer(&f, 0, 17, 40001, 3544, g.b, g.len, in6.b, in6.len);
		assert_int_equal(run(&f, DLT_EN10MB, &p), DECODE_NOT_TCP);
		g.len = 0;
		fr_bytes(&g, origin, 8);
		fr_bytes(&g, auth_origin, 18);
		build_outer(&f, 0, 17, 40001, 3544, g.b, g.len, in6.b, in6.len);
		assert_int_equal(run(&f, DLT_EN10MB, &p), DECODE_NOT_TCP);
		/* the inner packet longer than the UDP payload, then shorter */
		at = build_outer(&f, 0, 17, 40001, 3544, NULL, 0, in6.b, in6.len);
		f.b[at + 5]++;
		assert_int_equal(run(&f, DLT_EN10MB, &p), DECODE_TRUNC_TUNNEL);
		f.b[at + 5] -= 2;
		assert_int_equal(run(&f, DLT_EN10MB, &p), DECODE_NOT_TCP);
		want_weird(&p, "", 0);
		/* a bubble (no next header, no payload): nothing in it; with bytes after it,
		 * Zeek's Teredo_bubble_with_payload */
		g.len = 0;
		fr_ipv6(&g, A6, B6, 59, 0, 0);
		build_outer(&f, 0, 17, 40001, 3544, origin, 8, g.b, g.len);
		assert_int_equal(run(&f, DLT_EN10MB, &p), DECODE_NOT_TCP);
		want_weird(&p, "", 0);
		fr_bytes(&g, "xx", 2);
		build_outer(&f, 0, 17, 40001, 3544, origin, 8, g.b, g.len);
		assert_int_equal(run(&f, DLT_EN10MB, &p), DECODE_NOT_TCP);
		want_tun_weird(&p, "Teredo_bubble_with_payload", "TEREDO", "");
	}
	/* AYIYA: identity 16 bytes (nibble 4), signature 20 bytes (nibble 5), forward (opcode 1),
	 * next header 41 or 4; the inner packet read by its own version */
	for (int v6 = 0; v6 < 2; v6++) {
		for (int rev = 0; rev < 2; rev++) {
			uint8_t h[8 + 16 + 20] = {0x41, 0x52, 0x11, 0, 0, 0, 0, 1};

			h[3] = v6 ? 41 : 4;
			at = build_outer(&f, 0, 17, rev ? 5072 : 40002, rev ? 40002 : 5072, h,
					 sizeof(h), v6 ? in6.b : in4.b, v6 ? in6.len : in4.len);
			assert_int_equal(run(&f, DLT_EN10MB, &p), DECODE_OK);
			check_tcp(&p, v6);
			want_weird(&p, "", 0);
			assert_int_equal(p.tun.type, PKT_TUN_AYIYA);
			assert_int_equal(p.tun.sport, 40002);
			assert_int_equal(p.tun.dport, 5072);
			/* the inner packet's wire length is the outer's: a cut payload is
			 * decoded */
			cuts_not_ok(&f, 14, at + (v6 ? 40 : 20) + 20);
			/* another opcode; another next header; nothing after the header */
			g = f;
			g.b[at - sizeof(h) + 2] = 0x12;
			assert_int_equal(run(&g, DLT_EN10MB, &p), DECODE_NOT_TCP);
			want_weird(&p, "", 0);
			g = f;
			g.b[at - sizeof(h) + 3] = 17;
			assert_int_equal(run(&g, DLT_EN10MB, &p), DECODE_NOT_TCP);
			build_outer(&g, 0, 17, 40002, 5072, h, sizeof(h), NULL, 0);
			assert_int_equal(run(&g, DLT_EN10MB, &p), DECODE_NOT_TCP);
			want_tun_weird(&p, "ayiya_empty_packet", "AYIYA", "");
			/* the inner IP header's own checks, named _in_tunnel */
			g = f;
			g.b[at] = v6 ? 0x50 : 0x44;
			assert_int_equal(run(&g, DLT_EN10MB, &p), DECODE_BAD_IP);
			want_weird(&p,
				   v6 ? "unknown_ip_version_in_tunnel"
				      : "IPv4_min_header_size_in_tunnel",
				   0);
		}
	}
	{
		/* identity nibble 8: 2^8 as a uint8_t is 0, no identity (Zeek's arithmetic) */
		uint8_t h[8] = {0x80, 0x02, 0x01, 4};

		build_outer(&f, 0, 17, 40002, 5072, h, sizeof(h), in4.b, in4.len);
		assert_int_equal(run(&f, DLT_EN10MB, &p), DECODE_OK);
	}
	/* GTPv1: plain; sequence number; extension headers (one, three, one too many, a zero
	 * length); ports 2152 and 2123, both directions */
	for (int v6 = 0; v6 < 2; v6++) {
		static const struct {
			uint8_t flags;
			int ext; /* extension headers */
			enum decode_result want;
		} cs[] = {{0x30, 0, DECODE_OK},		 {0x32, 0, DECODE_OK},
			  {0x34, 1, DECODE_OK},		 {0x34, 3, DECODE_OK},
			  {0x34, MAILTAP_MAX_GTP_EXT, DECODE_OK},
			  {0x34, MAILTAP_MAX_GTP_EXT + 1, DECODE_NOT_TCP},
			  {0x34, -1, DECODE_NOT_TCP},	 {0x50, 0, DECODE_NOT_TCP} /* version 2 */,
			  {0x20, 0, DECODE_NOT_TCP} /* GTP' */};

		for (size_t k = 0; k < sizeof(cs) / sizeof(cs[0]); k++) {
			const struct fr *in = v6 ? &in6 : &in4;
			uint16_t port = k % 2 ? 2123 : 2152;

			size_t hl;

			g.len = 0;
			fr_u8(&g, cs[k].flags);
			fr_u8(&g, 0xff);
			fr_u16(&g, 0); /* length: not used */
			fr_u32(&g, 0x1234);
			if (cs[k].flags & 7) {
				fr_u16(&g, 7);
				fr_u8(&g, 0);
				fr_u8(&g, cs[k].ext ? 0x85 : 0);
			}
			if (cs[k].ext < 0)
				fr_u32(&g, 0);
			for (int e = 0; e < cs[k].ext; e++) {
				fr_u8(&g, 2);
				fr_u16(&g, 0x1234);
				fr_u32(&g, 0x00000000);
				fr_u8(&g, e + 1 < cs[k].ext ? 0x85 : 0);
			}
			hl = g.len;
			at = build_outer(&f, 1, 17, k % 3 ? port : 40003, k % 3 ? 40003 : port,
					 g.b, g.len, in->b, in->len);
			if (run(&f, DLT_EN10MB, &p) != cs[k].want)
				fail_msg("gtp case %zu v6 %d: %s", k, v6,
					 decode__result_name(run(&f, DLT_EN10MB, &p)));
			want_weird(&p, "", 0);
			if (cs[k].want != DECODE_OK)
				continue;
			check_tcp(&p, v6);
			assert_int_equal(p.tun.type, PKT_TUN_GTPV1);
			assert_int_equal(p.tun.sport, 40003);
			assert_int_equal(p.tun.dport, port);
			cuts_not_ok(&f, 14, f.len);
			/* another message type (an echo request); the inner packet one byte
			 * short or long */
			g = f;
			g.b[at - hl + 1] = 1;
			assert_int_equal(run(&g, DLT_EN10MB, &p), DECODE_NOT_TCP);
			want_weird(&p, "", 0);
			g = f;
			g.b[at + (v6 ? 5 : 3)]++;
			assert_int_equal(run(&g, DLT_EN10MB, &p), DECODE_TRUNC_TUNNEL);
			want_weird(&p, "", 0);
			g.b[at + (v6 ? 5 : 3)] -= 2;
			assert_int_equal(run(&g, DLT_EN10MB, &p), DECODE_NOT_TCP);
			want_weird(&p, "", 0);
		}
	}
	/* two levels of tunnel: Teredo in GTP (test_nested_tunnels) */
	{
		struct fr t;

		build_outer(&t, 0, 17, 40001, 3544, NULL, 0, in6.b, in6.len);
		build_outer(&f, 0, 17, 40003, 2152, (const uint8_t *)"\x30\xff\0\0\0\0\0\1", 8,
			    t.b + 14, t.len - 14);
		assert_int_equal(run(&f, DLT_EN10MB, &p), DECODE_OK);
		assert_int_equal(p.tun_outer.type, PKT_TUN_GTPV1);
		assert_int_equal(p.tun.type, PKT_TUN_TEREDO);
	}
	/* neither port a tunnel's, or VXLAN's port as the source: not followed */
	build_outer(&f, 0, 17, 40001, 3545, NULL, 0, in6.b, in6.len);
	assert_int_equal(run(&f, DLT_EN10MB, &p), DECODE_NOT_TCP);
	assert_int_equal(p.tun.type, 0);
}

/* Sets the outer UDP destination port (and, with sport, the source port) of a build_tun
 * VXLAN or Geneve frame. */
static void set_udp_ports(struct fr *f, int sport, uint16_t dport)
{
	uint8_t *u = f->b + 14 + 4 + 20;

	if (sport >= 0) {
		u[0] = (uint8_t)(sport >> 8);
		u[1] = (uint8_t)sport;
	}
	u[2] = (uint8_t)(dport >> 8);
	u[3] = (uint8_t)dport;
}

/* VXLAN and Geneve on the configured ports (--vxlan-ports, --geneve-ports) and those only:
 * VXLAN on 8472 (Linux's own port: flannel, Cilium) is no tunnel with Zeek's defaults, one
 * with 4789,8472 (tunnel's dport 8472, 4789 still followed); with the lists swapped (VXLAN
 * none, Geneve 4789) a VXLAN frame to 4789 is read as Geneve (version 0, protocol 0: not
 * followed) and no VXLAN is followed; an empty list follows nothing; the last slot of a full
 * list counts; a configured port as the source only: not followed, as 4789. */
static void test_tunnel_ports(void **st)
{
	static const struct decode_cfg def = { .tun_ports = MAILTAP_TUNNEL_PORTS_DEFAULT };
	struct fr f;
	struct pkt p;

	(void)st;
	build_tun(&f, T_VXLAN, 0, 0);
	set_udp_ports(&f, -1, 8472);
	assert_int_equal(run(&f, DLT_EN10MB, &p), DECODE_NOT_TCP);
	assert_int_equal(p.tun.type, 0);
	dcfg.tun_ports = (struct mailtap_tunnel_ports){ .vxlan = { 4789, 8472 }, .geneve = { 6081 } };
	assert_int_equal(run(&f, DLT_EN10MB, &p), DECODE_OK);
	check_tcp(&p, 0);
	assert_int_equal(p.tun.type, PKT_TUN_VXLAN);
	assert_int_equal(p.tun.sport, 49152);
	assert_int_equal(p.tun.dport, 8472);
	set_udp_ports(&f, -1, 4789);
	assert_int_equal(run(&f, DLT_EN10MB, &p), DECODE_OK);
	assert_int_equal(p.tun.dport, 4789);
	/* the source port alone: not followed */
	set_udp_ports(&f, 8472, 40000);
	assert_int_equal(run(&f, DLT_EN10MB, &p), DECODE_NOT_TCP);
	assert_int_equal(p.tun.type, 0);
	/* the fourth slot */
	dcfg.tun_ports = (struct mailtap_tunnel_ports){ .vxlan = { 1, 2, 3, 8472 } };
	set_udp_ports(&f, 49152, 8472);
	assert_int_equal(run(&f, DLT_EN10MB, &p), DECODE_OK);
	assert_int_equal(p.tun.type, PKT_TUN_VXLAN);
	/* Geneve on 4789, no VXLAN: the VXLAN header read as Geneve's (protocol 0: not IP) */
	dcfg.tun_ports = (struct mailtap_tunnel_ports){ .geneve = { 4789 } };
	set_udp_ports(&f, -1, 4789);
	assert_int_equal(run(&f, DLT_EN10MB, &p), DECODE_NOT_TCP);
	build_tun(&f, T_GENEVE, 1, 0);
	set_udp_ports(&f, -1, 4789);
	assert_int_equal(run(&f, DLT_EN10MB, &p), DECODE_OK);
	check_tcp(&p, 1);
	assert_int_equal(p.tun.type, PKT_TUN_GENEVE);
	assert_int_equal(p.tun.dport, 4789);
	/* both lists empty: neither followed, on any port */
	dcfg.tun_ports = (struct mailtap_tunnel_ports){ 0 };
	for (int k = T_VXLAN; k <= T_GENEVE; k++) {
		build_tun(&f, (enum tun_kind)k, 0, 0);
		assert_int_equal(run(&f, DLT_EN10MB, &p), DECODE_NOT_TCP);
		assert_int_equal(p.tun.type, 0);
	}
	dcfg = def;
}

/* mt_addr__fmt formats IPv4 itself: the same text as inet_ntop for every byte value in every
 * position, and inet_ntop's answer when the buffer is short. */
/* ---- tunnels inside tunnels (Zeek's Tunnel::max_depth = 2) ---- */

enum nest_kind {
	N_VXLAN,
	N_GENEVE,
	N_GRE_TEB,
	N_GRE_IP,
	N_ERSPAN2,
	N_ERSPAN3,
	N_IPIP,
	N_PPTP,
	N_AYIYA,
	N_GTP,
	N_TEREDO,
	N__N
};
static const char *const nest_names[N__N] = {"vxlan",	"geneve",  "gre-teb", "gre-ip",
					     "erspan2", "erspan3", "ipip",    "pptp",
					     "ayiya",	"gtp",	   "teredo"};
static const uint8_t nest_types[N__N] = {PKT_TUN_VXLAN, PKT_TUN_GENEVE, PKT_TUN_GRE,   PKT_TUN_GRE,
					 PKT_TUN_GRE,	PKT_TUN_GRE,	PKT_TUN_IP,    PKT_TUN_GRE,
					 PKT_TUN_AYIYA, PKT_TUN_GTPV1,	PKT_TUN_TEREDO};
/* the tunnel's UDP ports (source, destination), 0 for GRE and IP in IP */
static const uint16_t nest_ports[N__N][2] = {{49152, 4789}, {49152, 6081}, {0, 0},	 {0, 0},
					     {0, 0},	    {0, 0},	   {0, 0},	 {0, 0},
					     {40001, 5072}, {2152, 2152},  {40001, 3544}};

/* Wraps the Ethernet frame in (IPv4 or IPv6 after its 14 bytes) in a tunnel of kind k between
 * a and b (IPv4) into out: Ethernet + IPv4 + the tunnel's headers + the frame (VXLAN, Geneve,
 * GRE with Ethernet, ERSPAN) or its IP packet (the others; Teredo: an IPv6 one). */
static void nest_wrap(struct fr *out, enum nest_kind k, const struct fr *in, const uint8_t a[4],
		      const uint8_t b[4])
{
	int v6 = in->b[14] >> 4 == 6;
	const uint8_t *ip = in->b + 14;
	size_t iplen = in->len - 14, hl;
	uint8_t h[64]; /* the longest: AYIYA, 44 bytes */
	bool eth =
	    k == N_VXLAN || k == N_GENEVE || k == N_GRE_TEB || k == N_ERSPAN2 || k == N_ERSPAN3;
	size_t body = eth ? in->len : iplen;
	uint8_t proto = 17;
	struct fr hf = {.len = 0};

	switch (k) {
	case N_VXLAN:
		fr_u32(&hf, 0x08000000);
		fr_u32(&hf, 4242u << 8);
		break;
	case N_GENEVE:
		fr_u32(&hf, 0x02006558);
		fr_u32(&hf, 4242u << 8);
		fr_u32(&hf, 0x01010101);
		fr_u32(&hf, 0xdeadbeef);
		break;
	case N_GRE_TEB:
		proto = 47;
		fr_u32(&hf, 0x20006558);
		fr_u32(&hf, 7);
		break;
	case N_GRE_IP:
		proto = 47;
		fr_u32(&hf, v6 ? 0x86dd : 0x0800);
		break;
	case N_ERSPAN2:
		proto = 47;
		fr_u32(&hf, 0x100088be);
		fr_u32(&hf, 1);
		fr_u32(&hf, 0x10000064);
		fr_u32(&hf, 0);
		break;
	case N_ERSPAN3:
		proto = 47;
		fr_u32(&hf, 0x100022eb);
		fr_u32(&hf, 1);
		fr_u32(&hf, 0x20000064);
		fr_u32(&hf, 0);
		fr_u32(&hf, 0);
		break;
	case N_IPIP:
		proto = v6 ? 41 : 4;
		break;
	case N_PPTP: /* key (payload length, call id), PPP */
		proto = 47;
		fr_u16(&hf, 0x2001);
		fr_u16(&hf, 0x880b);
		fr_u16(&hf, (uint16_t)(4 + iplen));
		fr_u16(&hf, 77);
		fr_u32(&hf, v6 ? 0xff030057 : 0xff030021);
		break;
	case N_AYIYA: /* identity 16 bytes, signature 20 bytes, forward */
		fr_u8(&hf, 0x41);
		fr_u8(&hf, 0x52);
		fr_u8(&hf, 0x11);
		fr_u8(&hf, v6 ? 41 : 4);
		for (int i = 0; i < 4 + 16 + 20; i++)
			fr_u8(&hf, 0);
		break;
	case N_GTP: /* G-PDU, no optional fields */
		fr_u8(&hf, 0x30);
		fr_u8(&hf, 0xff);
		fr_u16(&hf, (uint16_t)iplen);
		fr_u32(&hf, 0x1001);
		break;
	default: /* Teredo: nothing before the IPv6 packet */
		break;
	}
	hl = hf.len;
	assert_true(hl <= sizeof(h));
	memcpy(h, hf.b, hl);
	build_outer(out, 0, proto, nest_ports[k][0], nest_ports[k][1], h, hl, eth ? in->b : ip,
		    body);
	/* build_outer's addresses are OA4, OB4: these are a, b */
	memcpy(out->b + 14 + 12, a, 4);
	memcpy(out->b + 14 + 16, b, 4);
}

static const uint8_t NA4[4] = {192, 168, 100, 1}, NB4[4] = {192, 168, 100, 2};

static void want_tunnel(const struct pkt_tunnel *t, uint8_t type, const char *src, const char *dst,
			uint16_t sport, uint16_t dport)
{
	char buf[64];

	assert_int_equal(t->type, type);
	mt_addr__fmt(&t->src, buf, sizeof(buf));
	assert_string_equal(buf, src);
	mt_addr__fmt(&t->dst, buf, sizeof(buf));
	assert_string_equal(buf, dst);
	assert_int_equal(t->sport, sport);
	assert_int_equal(t->dport, dport);
}

/* Every kind of tunnel inside every other (Teredo: around an IPv6 packet, so inside it only a
 * kind that carries IPv6 mail; as the outer one around an IPv6 middle packet is not built
 * here: the outer of these is IPv4): the mail's TCP packet, the stack outer first (tun_outer
 * with the mirror's addresses, tun with the nodes'), no weird; every cut of the frame is not
 * OK. A third level, of every kind inside two VXLANs: exceeded_tunnel_max_depth_in_tunnel, a
 * flow weird of the packet inside the second tunnel (the nodes' addresses), with the source
 * of the third tunnel's analyzer, the packet dropped (DECODE_TUNNEL_DEPTH). */
static void test_nested_tunnels(void **st)
{
	static const char *const sources[N__N] = {"VXLAN",    "Geneve",	  "IPTunnel", "IPTunnel",
						  "IPTunnel", "IPTunnel", "IPTunnel", "IPTunnel",
						  "AYIYA",    "GTPV1",	  "TEREDO"};
	struct fr mail, mid, f, f3;
	struct pkt p;
	char buf[64];

	(void)st;
	for (int o = 0; o < N__N; o++) {
		if (o == N_TEREDO) /* around IPv4 (the nodes' packet): not Teredo */
			continue;
		for (int i = 0; i < N__N; i++) {
			int v6 = i == N_TEREDO;

			mail.len = 0;
			fr_eth(&mail, 0, 0, 0, 0, v6 ? 0x86dd : 0x0800);
			inner(&mail, 0, v6, 0);
			nest_wrap(&mid, (enum nest_kind)i, &mail, NA4, NB4);
			nest_wrap(&f, (enum nest_kind)o, &mid, OA4, OB4);
			if (run(&f, DLT_EN10MB, &p) != DECODE_OK)
				fail_msg("%s in %s: %s", nest_names[i], nest_names[o],
					 decode__result_name(run(&f, DLT_EN10MB, &p)));
			check_tcp(&p, v6);
			want_weird(&p, "", 0);
			want_tunnel(&p.tun_outer, nest_types[o], "172.16.0.1", "172.16.0.2",
				    nest_ports[o][0], nest_ports[o][1]);
			want_tunnel(&p.tun, nest_types[i], "192.168.100.1", "192.168.100.2",
				    nest_ports[i][0], nest_ports[i][1]);
			/* every cut before the mail's payload (a cut in it: a snap length) */
			cuts_not_ok(&f, 14, f.len - (sizeof(PL) - 1));
		}
	}
	/* Teredo outside: an IPv6 packet of the nodes carrying VXLAN (over UDP) */
	{
		struct fr v6mid = {.len = 0};

		mail.len = 0;
		fr_eth(&mail, 0, 0, 0, 0, 0x0800);
		inner(&mail, 0, 0, 0);
		fr_eth(&v6mid, 0, 0, 0, 0, 0x86dd);
		fr_ipv6(&v6mid, A6, B6, 17, 8 + 8 + mail.len, 0);
		fr_u16(&v6mid, 49152);
		fr_u16(&v6mid, 4789);
		fr_u16(&v6mid, (uint16_t)(16 + mail.len));
		fr_u16(&v6mid, 0);
		fr_u32(&v6mid, 0x08000000);
		fr_u32(&v6mid, 4242u << 8);
		fr_bytes(&v6mid, mail.b, mail.len);
		nest_wrap(&f, N_TEREDO, &v6mid, OA4, OB4);
		assert_int_equal(run(&f, DLT_EN10MB, &p), DECODE_OK);
		check_tcp(&p, 0);
		want_tunnel(&p.tun_outer, PKT_TUN_TEREDO, "172.16.0.1", "172.16.0.2", 40001, 3544);
		want_tunnel(&p.tun, PKT_TUN_VXLAN, "2001:db8::1", "2001:db8::2", 49152, 4789);
	}
	/* a third level: every kind inside VXLAN inside VXLAN */
	for (int k = 0; k < N__N; k++) {
		static const uint8_t CA4[4] = {10, 9, 0, 1}, CB4[4] = {10, 9, 0, 2};
		int v6 = k == N_TEREDO;
		struct fr l3;

		mail.len = 0;
		fr_eth(&mail, 0, 0, 0, 0, v6 ? 0x86dd : 0x0800);
		inner(&mail, 0, v6, 0);
		nest_wrap(&l3, (enum nest_kind)k, &mail, CA4, CB4);
		nest_wrap(&mid, N_VXLAN, &l3, NA4, NB4);
		nest_wrap(&f3, N_VXLAN, &mid, OA4, OB4);
		assert_int_equal(run(&f3, DLT_EN10MB, &p), DECODE_TUNNEL_DEPTH);
		want_weird(&p, "exceeded_tunnel_max_depth", 1);
		assert_int_equal(p.weird[0].in_tunnel, 1);
		assert_string_equal(p.weird[0].source, sources[k]);
		mt_addr__fmt(&p.weird[0].src, buf, sizeof(buf));
		assert_string_equal(buf, "10.9.0.1");
		mt_addr__fmt(&p.weird[0].dst, buf, sizeof(buf));
		assert_string_equal(buf, "10.9.0.2");
		assert_int_equal(p.tun_outer.type, PKT_TUN_VXLAN);
		assert_int_equal(p.tun.type, PKT_TUN_VXLAN);
		/* counted */
		{
			struct decode_stats ds = {0};
			struct pkt_raw raw = {.data = f3.b,
					      .caplen = (uint32_t)f3.len,
					      .wirelen = (uint32_t)f3.len,
					      .linktype = DLT_EN10MB};

			decode__packet(&dcfg, &raw, &p, &ds);
			assert_int_equal(ds.result[DECODE_TUNNEL_DEPTH], 1);
		}
	}
	/* a weird of the second tunnel's analyzer: "_in_tunnel" (GRE version 2 inside VXLAN);
	 * the first tunnel's: none (test_gre_v1_pptp) */
	mail.len = 0;
	fr_eth(&mail, 0, 0, 0, 0, 0x0800);
	inner(&mail, 0, 0, 0);
	nest_wrap(&mid, N_GRE_IP, &mail, NA4, NB4);
	mid.b[14 + 20 + 1] = 2; /* GRE version 2 */
	nest_wrap(&f, N_VXLAN, &mid, OA4, OB4);
	assert_int_equal(run(&f, DLT_EN10MB, &p), DECODE_NOT_TCP);
	want_weird(&p, "unknown_gre_version", 1);
	assert_int_equal(p.weird[0].in_tunnel, 1);
	mt_addr__fmt(&p.weird[0].src, buf, sizeof(buf));
	assert_string_equal(buf, "192.168.100.1");
	nest_wrap(&f, N_GRE_IP, &mail, NA4, NB4);
	f.b[14 + 20 + 1] = 2;
	assert_int_equal(run(&f, DLT_EN10MB, &p), DECODE_NOT_TCP);
	assert_int_equal(p.weird[0].in_tunnel, 0);
	/* an IP weird of the packet inside two tunnels: a net weird with "_in_tunnel" */
	nest_wrap(&mid, N_VXLAN, &mail, NA4, NB4);
	mid.b[14 + 20 + 8 + 8 + 14] = 0x44; /* the mail's IPv4 header: 16 bytes */
	nest_wrap(&f, N_VXLAN, &mid, OA4, OB4);
	assert_int_equal(run(&f, DLT_EN10MB, &p), DECODE_BAD_IP);
	want_weird(&p, "IPv4_min_header_size_in_tunnel", 0);
	/* decode__packet_in: a datagram inside the tunnels it came in (reassembled) */
	{
		struct pkt_tunnel t1 = {.type = PKT_TUN_VXLAN, .sport = 1, .dport = 4789};
		struct pkt_raw raw;

		nest_wrap(&f, N_VXLAN, &mail, NA4, NB4);
		raw = (struct pkt_raw){.data = f.b + 14,
				       .caplen = (uint32_t)f.len - 14,
				       .wirelen = (uint32_t)f.len - 14,
				       .linktype = DLT_RAW};
		assert_int_equal(decode__packet_in(&dcfg, &raw, &t1, NULL, &p), DECODE_OK);
		check_tcp(&p, 0);
		assert_int_equal(p.tun_outer.type, PKT_TUN_VXLAN);
		assert_int_equal(p.tun_outer.dport, 4789);
		want_tunnel(&p.tun, PKT_TUN_VXLAN, "192.168.100.1", "192.168.100.2", 49152, 4789);
		/* inside two already: the VXLAN in it is a third */
		assert_int_equal(decode__packet_in(&dcfg, &raw, &t1, &t1, &p), DECODE_TUNNEL_DEPTH);
		want_weird(&p, "exceeded_tunnel_max_depth", 1);
		/* none: as decode__packet */
		assert_int_equal(decode__packet_in(&dcfg, &raw, NULL, NULL, &p), DECODE_OK);
		assert_int_equal(p.tun_outer.type, 0);
		assert_int_equal(p.tun.type, PKT_TUN_VXLAN);
	}
}

static void test_addr_fmt_v4(void **state)
{
	char a[64], b[64];
	uint8_t v[4];
	struct mt_addr m;
	size_t n;

	(void)state;
	for (unsigned x = 0; x < 256; x++)
		for (int pos = 0; pos < 4; pos++) {
			memset(v, (int)(x * 7 % 256), sizeof(v));
			v[pos] = (uint8_t)x;
			mt_addr__from_v4(&m, v);
			n = mt_addr__fmt(&m, a, sizeof(a));
			assert_int_equal(n, strlen(a));
			assert_non_null(inet_ntop(AF_INET, v, b, sizeof(b)));
			assert_string_equal(a, b);
		}
	v[0] = 255, v[1] = 255, v[2] = 255, v[3] = 255;
	mt_addr__from_v4(&m, v);
	assert_int_equal(mt_addr__fmt(&m, a, 16), 15);
	assert_string_equal(a, "255.255.255.255");
	assert_int_equal(mt_addr__fmt(&m, a, 8), 0); /* too short: empty, as before */
	assert_string_equal(a, "");
}

/* The link types decode reads, asked of decode__packet itself (main refuses a capture of any
 * other at once): all it has a case for, and not USER0 (147), 802.11 (105) or a bogus one. */
static void test_linktype_ok(void **st)
{
	static const int ok[] = { DLT_EN10MB, DLT_LINUX_SLL, DLT_LINUX_SLL2, 101, 12, 14,
				  DLT_IPV4, DLT_IPV6, DLT_NULL, DLT_LOOP };
	static const int bad[] = { 147, 105, 0x3ffffff, -1 };

	(void)st;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		assert_true(decode__linktype_ok(ok[i]));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(decode__linktype_ok(bad[i]));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ipv4_plain_vlan_qinq),
	    cmocka_unit_test(test_ipv6_ext),
	    cmocka_unit_test(test_limits_as_xdp),
	    cmocka_unit_test(test_other_linktypes),
	    cmocka_unit_test(test_addr_fmt_v4),
	    cmocka_unit_test(test_non_tcp_and_fragments),
	    cmocka_unit_test(test_truncation_everywhere),
	    cmocka_unit_test(test_bad_headers),
	    cmocka_unit_test(test_mpls_pppoe),
	    cmocka_unit_test(test_mpls_pw),
	    cmocka_unit_test(test_tunnels),
	    cmocka_unit_test(test_tunnel_ports),
	    cmocka_unit_test(test_ip_len_past_wire),
	    cmocka_unit_test(test_ip_header_weirds),
	    cmocka_unit_test(test_ip_in_ip),
	    cmocka_unit_test(test_vlan_tags_as_zeek),
	    cmocka_unit_test(test_snap_in_tunnel),
	    cmocka_unit_test(test_ipv6_routing),
	    cmocka_unit_test(test_tunnel_flags_as_zeek),
	    cmocka_unit_test(test_gre_v1_pptp),
	    cmocka_unit_test(test_udp_ip_tunnels),
	    cmocka_unit_test(test_nested_tunnels),
	    cmocka_unit_test(test_linktype_ok),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
