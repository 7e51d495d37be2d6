// SPDX-License-Identifier: BSD-3-Clause
/* Packet decoder: a cursor over the frame, every header length checked against the end before
 * it is read, results as pointers into the frame. */
#include <netinet/in.h>
#include <pcap/dlt.h>
#include <stdio.h>
#include <string.h>
#include "mailtap/decode.h"
#include "mailtap_abi.h"

static const char *const result_names[] = {
#define X(n, s) s,
	DECODE_RESULTS(X)
#undef X
};

const char *decode__result_name(enum decode_result r)
{
	return r < DECODE__MAX ? result_names[r] : "unknown";
}

#define ETH_P_IP_ 0x0800
#define ETH_P_IPV6_ 0x86dd
#define ETH_P_8021Q_ 0x8100
#define ETH_P_8021AD_ 0x88a8
#define ETH_P_QINQ1_ 0x9100
#define ETH_P_ETAG_ 0x893f
#define ETH_P_MPLS_UC_ 0x8847
#define ETH_P_MPLS_MC_ 0x8848
#define ETH_P_PPP_SES_ 0x8864
#define PPP_IPV4_ 0x0021
#define PPP_IPV6_ 0x0057
#define PPTP_GRE_PROTO_ 0x880b
#define ETH_P_TEB_ 0x6558
#define ETH_P_ERSPAN_ 0x88be
#define ETH_P_ERSPAN3_ 0x22eb
#ifndef IPPROTO_GRE
#define IPPROTO_GRE 47
#endif
#define IPPROTO_IPIP_ 4
#define IPPROTO_IPV6_ 41
/* Labels of an MPLS stack followed before giving up (not_ip), as the XDP parser
 * (bpf/mail_parse.h MAIL_MAX_MPLS_LABELS). */
#define MPLS_MAX_LABELS 8

#ifndef DLT_LINUX_SLL2
#define DLT_LINUX_SLL2 276
#endif
#ifndef DLT_IPV4
#define DLT_IPV4 228
#endif
#ifndef DLT_IPV6
#define DLT_IPV6 229
#endif

static inline uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static inline uint32_t rd32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

/* A weird for the packet (struct pkt_weird), with the addresses the decoder has reached; addl
 * pfx (a literal: "" or Zeek's "version=", "proto=") and a number, or none with addl -1. Past
 * PKT_WEIRDS_MAX, dropped. */
static void weird_fmt(struct pkt *o, const char *name, const char *source, bool flow,
		      const char *pfx, int addl)
{
	struct pkt_weird *w;

	if (o->n_weirds >= PKT_WEIRDS_MAX)
		return;
	w = &o->weird[o->n_weirds++];
	w->name = name;
	w->source = source;
	w->flow = flow;
	/* a tunnel analyzer's weird (it names its source) in a packet already inside a tunnel:
	 * Zeek's session::Manager::Weird adds "_in_tunnel" (the packet's encapsulation is not
	 * empty); the routing header's weirds (no source) are the IP analyzer's, without */
	w->in_tunnel = source && flow && (o->tun.type || o->tun_outer.type);
	w->src = o->src;
	w->dst = o->dst;
	w->addl[0] = '\0';
	if (addl >= 0)
		snprintf(w->addl, sizeof(w->addl), "%s%d", pfx, addl);
}

static void weird_src(struct pkt *o, const char *name, const char *source, bool flow, int addl)
{
	weird_fmt(o, name, source, flow, "", addl);
}

/* A weird of Zeek's IP analyzer before there is an IP header (a net weird, source IP), named
 * with "_in_tunnel" inside a tunnel as session::Manager::Weird does. n: a string literal. */
#define NET_WEIRD(o, n)                                                                            \
	weird_src(o, (o)->tun.type || (o)->tun_outer.type ? n "_in_tunnel" : n, "IP", false, -1)

/* A tunnel inside the second level of tunnel (PKT_TUN_MAX_DEPTH, both of o's levels taken): as
 * the first check of Zeek's tunnel analyzers (VXLAN, Geneve, IPTunnel for GRE and IP in IP,
 * Teredo, GTPv1: `packet->encap->Depth() >= BifConst::Tunnel::max_depth`), the weird
 * exceeded_tunnel_max_depth of the packet inside the second tunnel, which
 * session::Manager::Weird makes the flow weird exceeded_tunnel_max_depth_in_tunnel with that
 * packet's addresses (o's now), source the analyzer; the packet is dropped. */
static enum decode_result too_deep(struct pkt *o, const char *source)
{
	weird_src(o, "exceeded_tunnel_max_depth", source, true, -1);
	return DECODE_TUNNEL_DEPTH;
}

_Static_assert(PKT_TUN_MAX_DEPTH == 2, "struct pkt holds two levels: tun_outer, tun");

/* Whether o is inside both levels of tunnel already (decode_tunnel moves the first to
 * tun_outer as it enters the second, whose type it sets once found). */
static inline bool at_max_depth(const struct pkt *o)
{
	return o->tun_outer.type && o->tun.type;
}

static enum decode_result decode_tcp(const uint8_t *p, const uint8_t *end, uint32_t l4_wire_len,
				     struct pkt *o)
{
	uint32_t hl, avail;

	if (end - p < 20)
		return DECODE_TRUNC_TCP;
	hl = (uint32_t)(p[12] >> 4) * 4;
	if (hl < 20 || hl > l4_wire_len)
		return DECODE_BAD_TCP;
	if ((uint32_t)(end - p) < hl)
		return DECODE_TRUNC_TCP;
	o->sport = rd16(p);
	o->dport = rd16(p + 2);
	o->seq = rd32(p + 4);
	o->ack = rd32(p + 8);
	o->tcp_flags = p[13];
	o->win = rd16(p + 14);
	o->tcp_hdr_len = (uint8_t)hl;
	o->wscale = 0xff;
	/* Options: only the window scale matters to us (Zeek's zero-window rule). */
	for (uint32_t i = 20; i < hl;) {
		uint8_t kind = p[i];

		if (kind == 0)
			break;
		if (kind == 1) {
			i++;
			continue;
		}
		if (i + 1 >= hl || p[i + 1] < 2 || i + p[i + 1] > hl)
			break;
		if (kind == 3 && p[i + 1] >= 3)
			o->wscale = p[i + 2];
		i += p[i + 1];
	}
	avail = (uint32_t)(end - p) - hl;
	o->payload = p + hl;
	o->payload_wire_len = l4_wire_len - hl;
	o->payload_len = avail < o->payload_wire_len ? avail : o->payload_wire_len;
	return DECODE_OK;
}

static enum decode_result decode_tunnel(const uint8_t *p, const uint8_t *end, uint32_t cut,
					struct pkt *o);
static enum decode_result decode_frame(const struct decode_cfg *c, const struct pkt_raw *raw,
				       const struct pkt_tunnel *tun,
				       const struct pkt_tunnel *tun_outer, struct pkt *o,
				       struct decode_stats *st);
static enum decode_result decode_ethertype(uint16_t type, const uint8_t *p, const uint8_t *end,
					   uint32_t cut, struct pkt *o, bool inner);

/* Every IP header is checked against the packet's length on the wire, as Zeek's IP analyzer
 * does (IP.cc: a total length past it is weird truncated_IP_len, the packet dropped): cut is
 * how many bytes of the frame the snap length left out (wirelen - caplen), so that `end - p
 * + cut` is what the wire carried from p on (a VXLAN or Geneve inner packet: up to the end of
 * the outer one, as Zeek's build_inner_packet makes its wire length; a GRE inner packet's is
 * what was captured of it, as Zeek's GRE analyzer passes it on, so that one cut by the snap
 * length is truncated_IP_len_in_tunnel). A short snap length alone is fine. */
static enum decode_result decode_ipv4(const uint8_t *p, const uint8_t *end, uint32_t cut,
				      struct pkt *o)
{
	uint32_t hl, tot;
	uint16_t frag;

	/* Zeek's IP analyzer's checks, in its order, each with its weird (IP.cc) */
	if (end - p < 20) {
		NET_WEIRD(o, "truncated_IP");
		return DECODE_TRUNC_IP;
	}
	if ((p[0] >> 4) != 4) {
		if ((p[0] >> 4) != 6) /* IPv6 in an IPv4 frame: dropped, as the XDP parser does */
			NET_WEIRD(o, "unknown_ip_version");
		return DECODE_BAD_IP;
	}
	o->l3 = p;
	o->l3_len = (uint32_t)(end - p);
	hl = (uint32_t)(p[0] & 0x0f) * 4;
	tot = rd16(p + 2);
	if (!tot) {
		/* TCP segmentation offload, BIG TCP (a host's egress): Zeek, which mailtap follows
		 * with checksums ignored (-C), takes the captured length as the total length */
		NET_WEIRD(o, "ip_hdr_len_zero");
		tot = (uint32_t)(end - p);
	}
	if ((uint64_t)(end - p) + cut < tot) {
		NET_WEIRD(o, "truncated_IP_len");
		return DECODE_IP_LEN;
	}
	if (hl > tot) {
		NET_WEIRD(o, "invalid_IP_header_size");
		return DECODE_BAD_IP;
	}
	if ((uint32_t)(end - p) < hl) {
		NET_WEIRD(o, "internally_truncated_header");
		return DECODE_TRUNC_IP;
	}
	if (hl < 20) {
		NET_WEIRD(o, "IPv4_min_header_size");
		return DECODE_BAD_IP;
	}
	o->ip_ver = 4;
	o->l4proto = p[9];
	o->ip_len = tot;
	mt_addr__from_v4(&o->src, p + 12);
	mt_addr__from_v4(&o->dst, p + 16);
	frag = rd16(p + 6);
	if ((frag & 0x3fff) != 0) /* MF set or offset != 0 */
		return DECODE_FRAGMENT;
	/* Ethernet padding may make the frame longer than tot; a snap length shorter. */
	if ((uint32_t)(end - p) > tot)
		end = p + tot;
	if (o->l4proto != IPPROTO_TCP)
		return decode_tunnel(p + hl, end, cut, o);
	return decode_tcp(p + hl, end, tot - hl, o);
}

/* A routing header h of len bytes (captured), as Zeek's IPv6_Hdr_Chain::ProcessRoutingHeader:
 * type 0 with segments left names the final destination in its last 16 bytes (the packet's
 * destination from then on: DstAddr()); its weirds are flow weirds. */
static void ipv6_routing(const uint8_t *h, uint32_t len, struct ipv6_chain *c, struct pkt *o)
{
	if (c->final_dst) { /* RFC 8200: at most one */
		if (o)
			weird_src(o, "multiple_routing_headers", NULL, true, -1);
		return;
	}
	if (h[2] != 0) { /* type 2 is Mobile IPv6's, which Zeek leaves out by default */
		if (o)
			weird_src(o, "unknown_routing_type", NULL, true, h[2]);
		return;
	}
	if (h[3] > 0 && h[1] >= 2) {
		if (h[1] % 2 == 0) {
			c->final_dst = h + len - 16;
			if (o)
				mt_addr__from_v6(&o->dst, c->final_dst);
		} else if (o) {
			weird_src(o, "odd_routing0_len", NULL, true, -1);
		}
	}
	if (o) /* deprecated (RFC 5095): always */
		weird_src(o, "routing0_hdr", NULL, true, -1);
}

enum decode_result decode__ipv6_chain(const uint8_t *p, uint32_t caplen, uint32_t ip_len,
				      struct ipv6_chain *c, struct pkt *o)
{
	uint32_t off = 40, nh_off = 6, len;
	uint8_t nh = p[6];

	c->final_dst = NULL;
	/* MAILTAP_MAX_IPV6_EXT extension headers, as the XDP parser (bpf/mail_parse.h), and one
	 * round more for the header after them: a packet with more is dropped live and offline */
	for (int n = 0; n <= MAILTAP_MAX_IPV6_EXT; n++) {
		switch (nh) {
		case 0:	 /* hop-by-hop */
		case 43: /* routing */
		case 60: /* destination options */
		case 51: /* AH */
			if (caplen < off + 8)
				return DECODE_TRUNC_IP;
			len = nh == 51 ? ((uint32_t)p[off + 1] + 2) * 4 : 8 + (uint32_t)p[off + 1] * 8;
			if (nh == 43 && off + len <= caplen)
				ipv6_routing(p + off, len, c, o);
			break;
		case 44: /* fragment */
			if (caplen < off + 8)
				return DECODE_TRUNC_IP;
			if ((rd16(p + off + 2) & 0xfff9) != 0) {
				c->off = off;
				c->nh_off = nh_off;
				c->nh = p[off];
				return DECODE_FRAGMENT;
			}
			len = 8; /* atomic fragment: offset 0, no MF */
			break;
		default:
			c->off = off;
			c->nh_off = nh_off;
			c->nh = nh;
			return DECODE_OK;
		}
		nh_off = off;
		nh = p[off];
		off += len;
		if (off > ip_len)
			return DECODE_BAD_IP6_EXT;
	}
	return DECODE_BAD_IP6_EXT;
}

static enum decode_result decode_ipv6(const uint8_t *p, const uint8_t *end, uint32_t cut,
				      struct pkt *o)
{
	struct ipv6_chain c;
	enum decode_result r;
	uint32_t plen, off;
	uint8_t nh;

	if (end - p < 40) {
		NET_WEIRD(o, "truncated_IP");
		return DECODE_TRUNC_IP;
	}
	if ((p[0] >> 4) != 6) {
		if ((p[0] >> 4) != 4) /* IPv4 in an IPv6 frame: dropped, as the XDP parser does */
			NET_WEIRD(o, "unknown_ip_version");
		return DECODE_BAD_IP;
	}
	o->l3 = p;
	o->l3_len = (uint32_t)(end - p);
	plen = rd16(p + 4);
	if ((uint64_t)(end - p) + cut < plen + 40) {
		NET_WEIRD(o, "truncated_IP_len");
		return DECODE_IP_LEN;
	}
	nh = p[6];
	o->ip_ver = 6;
	o->ip_len = plen + 40;
	mt_addr__from_v6(&o->src, p + 8);
	mt_addr__from_v6(&o->dst, p + 24);
	if ((uint32_t)(end - p) > plen + 40)
		end = p + plen + 40;
	r = decode__ipv6_chain(p, (uint32_t)(end - p), plen + 40, &c, o);
	o->l4proto = c.nh;
	if (r != DECODE_OK)
		return r;
	off = c.off;
	nh = c.nh;
	if ((long)off > end - p)
		return nh == IPPROTO_TCP ? DECODE_TRUNC_IP : DECODE_NOT_TCP;
	if (nh != IPPROTO_TCP)
		return decode_tunnel(p + off, end, cut, o);
	return decode_tcp(p + off, end, plen + 40 - off, o);
}

static enum decode_result decode_ip(const uint8_t *p, const uint8_t *end, uint32_t cut,
				    struct pkt *o)
{
	if (end - p < 1)
		return DECODE_TRUNC_IP;
	switch (p[0] >> 4) {
	case 4:
		return decode_ipv4(p, end, cut, o);
	case 6:
		return decode_ipv6(p, end, cut, o);
	default:
		return DECODE_NOT_IP;
	}
}

/* The inner IP packet of a tunnel whose header names its IP version (v6), as Zeek's
 * IP::ParsePacket checks it: it must be of that version and fill the outer payload exactly
 * (caplen, what was captured of it up to the outer IP length). IP in IP and PPTP's GRE (the
 * IPTunnel analyzer) give flow weirds of the outer packet (source IPTunnel) for what fails;
 * GTPv1 and Teredo an analyzer violation, no weird (weirds false). The packet is dropped
 * then; else it is decoded as the tunnel type's inner packet, whose wire length is its
 * captured one (cut 0). */
static enum decode_result decode_inner_exact(const uint8_t *p, const uint8_t *end, int v6,
					     uint8_t type, bool weirds, struct pkt *o)
{
	uint32_t caplen = (uint32_t)(end - p), tot;

	if (v6 && caplen < 40) {
		if (weirds)
			weird_src(o, "truncated_inner_IP", "IPTunnel", true, -1);
		return DECODE_TRUNC_TUNNEL;
	}
	if (caplen < 20 || p[0] >> 4 != (v6 ? 6 : 4)) {
		if (weirds)
			weird_src(o, "invalid_inner_IP_version", "IPTunnel", true, -1);
		return DECODE_NOT_TCP;
	}
	tot = v6 ? rd16(p + 4) + 40u : rd16(p + 2);
	if (caplen != tot) {
		if (weirds)
			weird_src(o,
				  caplen < tot ? "truncated_inner_IP"
					       : "inner_IP_payload_length_mismatch",
				  "IPTunnel", true, -1);
		return caplen < tot ? DECODE_TRUNC_TUNNEL : DECODE_NOT_TCP;
	}
	o->tun.type = type;
	if (type == PKT_TUN_IP || type == PKT_TUN_GRE) {
		o->tun.src = o->src;
		o->tun.dst = o->dst;
		o->tun.sport = o->tun.dport = 0;
	}
	o->vlan[0] = o->vlan[1] = 0; /* Zeek's inner Packet: raw IP, no tags */
	return v6 ? decode_ipv6(p, end, 0, o) : decode_ipv4(p, end, 0, o);
}

/* IP in IP (RFC 2003, 4213: protocol 4 or 41 in IPv4 or IPv6), as Zeek's IPTunnel analyzer. */
static enum decode_result decode_ipip(const uint8_t *p, const uint8_t *end, struct pkt *o)
{
	if (at_max_depth(o))
		return too_deep(o, "IPTunnel");
	return decode_inner_exact(p, end, o->l4proto == IPPROTO_IPV6_, PKT_TUN_IP, true, o);
}

/* The length of a GRE header with flags (Zeek's gre_header_len: checksum, key, sequence and
 * acknowledgment words; the deprecated routing field is not counted). */
static uint32_t gre_len(uint16_t flags)
{
	return 4 + (flags & 0x8000 ? 4 : 0) + (flags & 0x2000 ? 4 : 0) + (flags & 0x1000 ? 4 : 0) +
	       (flags & 0x0080 ? 4 : 0);
}

/* GRE version 1 (RFC 2637, PPTP's enhanced GRE: protocol 0x880b, key, optional sequence and
 * acknowledgment numbers) around PPP, as Zeek's GRE analyzer: the PPP header after the GRE
 * header is 4 bytes (address, control, protocol: the protocol read at its bytes 2-3, no field
 * compression), protocol 0x0021 IPv4 or 0x0057 IPv6, the inner packet then checked by the
 * IPTunnel analyzer (decode_inner_exact). Each check a flow weird of the outer packet, in
 * Zeek's order, the packet dropped. The tunnel is Tunnel::GRE, keyed by the address pair as
 * GRE version 0 and IP in IP. */
static enum decode_result decode_pptp(const uint8_t *p, const uint8_t *end, struct pkt *o)
{
	uint16_t flags = rd16(p), proto = rd16(p + 2), ppp;
	uint32_t len = gre_len(flags);

	if (proto != PPTP_GRE_PROTO_) {
		weird_fmt(o, "egre_protocol_type", "GRE", true, "proto=", proto);
		return DECODE_NOT_TCP;
	}
	if (flags & 0x4000) {
		weird_src(o, "gre_routing", "GRE", true, -1);
		return DECODE_NOT_TCP;
	}
	if (flags & 0x0078) {
		weird_src(o, "unknown_gre_flags", "GRE", true, -1);
		return DECODE_NOT_TCP;
	}
	if (end - p < (long)len + 4) { /* an acknowledgment alone (no payload) too */
		weird_src(o, "truncated_GRE", "GRE", true, -1);
		return DECODE_TRUNC_TUNNEL;
	}
	ppp = rd16(p + len + 2);
	if (ppp != PPP_IPV4_ && ppp != PPP_IPV6_) { /* LCP, CCP, compressed data ... */
		weird_src(o, "non_ip_packet_in_encap", "GRE", true, -1);
		return DECODE_NOT_TCP;
	}
	if (at_max_depth(o)) /* the GRE analyzer's checks above, then the IPTunnel analyzer's */
		return too_deep(o, "IPTunnel");
	return decode_inner_exact(p + len + 4, end, ppp == PPP_IPV6_, PKT_TUN_GRE, true, o);
}

/* Teredo (RFC 4380) after the UDP header, as Zeek's Teredo analyzer: an authentication header
 * (tag 1: client id and authentication value of the lengths it gives, a nonce, a confirmation
 * byte) before an origin indication (tag 0, 8 bytes), each at most once, then IPv6 (its version
 * nibble), which IP::ParsePacket then checks: shorter than the payload is a violation, longer
 * too unless it is a bubble (no next header, payload length 0: Zeek's weird
 * Teredo_bubble_with_payload, which it forces). The rest (a bad order, a cut header) is an
 * analyzer violation with no weird: Zeek reports truncated_Teredo* only on a connection whose
 * Teredo it has confirmed in both directions, state mailtap does not keep. */
static enum decode_result decode_teredo(const uint8_t *p, const uint8_t *end, struct pkt *o)
{
	bool origin = false, auth = false;
	uint32_t tot;

	for (;;) {
		uint16_t tag;

		if (end - p < 2)
			return DECODE_TRUNC_TUNNEL;
		tag = rd16(p);
		if (tag == 0) {
			if (origin)
				return DECODE_NOT_TCP;
			if (end - p < 8)
				return DECODE_TRUNC_TUNNEL;
			origin = true;
			p += 8;
		} else if (tag == 1) {
			uint32_t n;

			if (origin || auth)
				return DECODE_NOT_TCP;
			if (end - p < 4)
				return DECODE_TRUNC_TUNNEL;
			n = 13u + p[2] + p[3];
			if ((uint32_t)(end - p) < n)
				return DECODE_TRUNC_TUNNEL;
			auth = true;
			p += n;
		} else if (tag >> 12 == 6) {
			break;
		} else {
			return DECODE_NOT_TCP;
		}
	}
	if (end - p < 40)
		return DECODE_TRUNC_TUNNEL;
	tot = rd16(p + 4) + 40u;
	if ((uint32_t)(end - p) > tot && p[6] == 59 /* no next header */ && tot == 40) {
		weird_src(o, "Teredo_bubble_with_payload", "TEREDO", true, -1);
		o->tun.type = PKT_TUN_TEREDO;
		return DECODE_NOT_TCP; /* a bubble: nothing in it */
	}
	return decode_inner_exact(p, end, 1, PKT_TUN_TEREDO, false, o);
}

/* AYIYA (Anything In Anything) after the UDP header, as Zeek's AYIYA analyzer: 8 bytes, an
 * identity of 2^(its length nibble) bytes (as a uint8_t: none from 2^8 on), a signature of 4
 * bytes per unit of its nibble; only opcode 1 (forward) carries a packet; next header 4 or 41
 * (Zeek's only registrations) hands the rest to the IP analyzer, which reads it by its own
 * version nibble, with the outer packet's wire length (build_inner_packet): the inner packet's
 * IP weirds are the usual ones, with "_in_tunnel". A cut header is an analyzer violation (no
 * weird), a forward with nothing after it the flow weird ayiya_empty_packet. */
static enum decode_result decode_ayiya(const uint8_t *p, const uint8_t *end, uint32_t cut,
				       struct pkt *o)
{
	uint32_t len;
	uint8_t nh;

	if (end - p < 8)
		return DECODE_TRUNC_TUNNEL;
	len = 8u + (uint8_t)(1u << (p[0] >> 4)) + (uint32_t)(p[1] >> 4) * 4;
	if ((uint32_t)(end - p) < len)
		return DECODE_TRUNC_TUNNEL;
	if ((p[2] & 0x0f) != 1)
		return DECODE_NOT_TCP;
	nh = p[3];
	p += len;
	if (p == end) {
		weird_src(o, "ayiya_empty_packet", "AYIYA", true, -1);
		return DECODE_NOT_TCP;
	}
	if (nh != IPPROTO_IPIP_ && nh != IPPROTO_IPV6_)
		return DECODE_NOT_TCP;
	o->tun.type = PKT_TUN_AYIYA;
	o->vlan[0] = o->vlan[1] = 0;
	if (end - p < 20) {
		NET_WEIRD(o, "truncated_IP");
		return DECODE_TRUNC_IP;
	}
	switch (p[0] >> 4) {
	case 4:
		return decode_ipv4(p, end, cut, o);
	case 6:
		return decode_ipv6(p, end, cut, o);
	default:
		NET_WEIRD(o, "unknown_ip_version");
		return DECODE_BAD_IP;
	}
}

/* GTPv1 (3GPP TS 29.281) after the UDP header, as Zeek's GTPv1 analyzer
 * (gtpv1-protocol.pac): 8 bytes, 4 more when any of the E, S, PN flags is set, then with E
 * the extension headers (a length byte in 4-byte units, 0 being no header, the next type
 * last: 0 ends the chain), at most MAILTAP_MAX_GTP_EXT of them here (as the XDP parser; Zeek
 * follows any number). Only version 1 with the protocol type flag and message type 255
 * (G-PDU) carries a packet: IPv4 or IPv6 by its version nibble, at least 20 bytes, checked by
 * IP::ParsePacket (decode_inner_exact). The header's length field is not used, as in Zeek.
 * Everything that fails is an analyzer violation, no weird. */
static enum decode_result decode_gtpv1(const uint8_t *p, const uint8_t *end, struct pkt *o)
{
	uint32_t len = 8;
	uint8_t flags;

	if (end - p < 8)
		return DECODE_TRUNC_TUNNEL;
	flags = p[0];
	if (flags & 0x07)
		len = 12;
	if ((uint32_t)(end - p) < len)
		return DECODE_TRUNC_TUNNEL;
	if (flags & 0x04) {
		for (int n = 0;; n++) {
			uint32_t elen;

			if (n == MAILTAP_MAX_GTP_EXT)
				return DECODE_NOT_TCP;
			if ((uint32_t)(end - p) < len + 1)
				return DECODE_TRUNC_TUNNEL;
			elen = (uint32_t)p[len] * 4;
			if (!elen)
				return DECODE_NOT_TCP; /* binpac: a negative content length */
			if ((uint32_t)(end - p) < len + elen)
				return DECODE_TRUNC_TUNNEL;
			len += elen;
			if (p[len - 1] == 0)
				break;
		}
	}
	if (flags >> 5 != 1 || !(flags & 0x10) || p[1] != 0xff)
		return DECODE_NOT_TCP;
	p += len;
	if (end - p < 20)
		return DECODE_TRUNC_TUNNEL;
	if (p[0] >> 4 != 4 && p[0] >> 4 != 6)
		return DECODE_NOT_TCP;
	return decode_inner_exact(p, end, p[0] >> 4 == 6, PKT_TUN_GTPV1, false, o);
}

static bool in_list(const uint16_t *list, uint16_t port)
{
	for (size_t i = 0; i < MAILTAP_MAX_TUNNEL_PORTS && list[i]; i++)
		if (list[i] == port)
			return true;
	return false;
}

/* The name of the Zeek analyzer of a UDP tunnel type (a weird's source). */
static const char *udp_tunnel_source(uint8_t type)
{
	switch (type) {
	case PKT_TUN_VXLAN:
		return "VXLAN";
	case PKT_TUN_GENEVE:
		return "Geneve";
	case PKT_TUN_TEREDO:
		return "TEREDO";
	case PKT_TUN_AYIYA:
		return "AYIYA";
	default:
		return "GTPV1";
	}
}

/* The tunnel a UDP port names (VXLAN's and Geneve's: c's), or 0. */
static uint8_t udp_tunnel_type(const struct decode_cfg *c, uint16_t port)
{
	switch (port) {
	case MAILTAP_TEREDO_PORT:
		return PKT_TUN_TEREDO;
	case MAILTAP_AYIYA_PORT:
		return PKT_TUN_AYIYA;
	case MAILTAP_GTPV1_U_PORT:
	case MAILTAP_GTPV1_C_PORT:
		return PKT_TUN_GTPV1;
	default:
		break;
	}
	if (in_list(c->tun_ports.vxlan, port))
		return PKT_TUN_VXLAN;
	if (in_list(c->tun_ports.geneve, port))
		return PKT_TUN_GENEVE;
	return 0;
}

/* The packet inside a tunnel: VXLAN, Geneve, Teredo, AYIYA or GTPv1 in a UDP datagram to (or,
 * but for VXLAN and Geneve, from) their port, GRE (RFC 2784, 2890; ERSPAN types I, II, III;
 * version 1: PPTP), IP in IP. p is the outer IP packet's payload (UDP, GRE, IPv4 or IPv6:
 * o->l4proto), o holds the outer addresses. Anything else is not_tcp. Inside a tunnel (o->tun
 * set), the tunnel found is the second level: o->tun moves to o->tun_outer and the new one is
 * o->tun (any kind in any other, as Zeek). Inside two (o->tun_outer set), a tunnel found is
 * not followed (too_deep). Not in an MPLS pseudowire, as the XDP parser. */
static enum decode_result decode_tunnel(const uint8_t *p, const uint8_t *end, uint32_t cut,
				       struct pkt *o)
{
	uint16_t flags, proto = 0;
	uint32_t len;
	uint8_t type;

	if (o->pw)
		return DECODE_NOT_TCP;
	if (o->tun.type && !o->tun_outer.type) { /* the second level: a stack of two */
		o->tun_outer = o->tun;
		o->tun.type = 0;
	}
	if (o->l4proto == IPPROTO_IPIP_ || o->l4proto == IPPROTO_IPV6_)
		return decode_ipip(p, end, o);
	if (o->l4proto != IPPROTO_UDP && o->l4proto != IPPROTO_GRE)
		return DECODE_NOT_TCP;
	if (o->l4proto == IPPROTO_UDP) {
		uint16_t sport, dport;

		if (end - p < 8)
			return DECODE_NOT_TCP;
		sport = rd16(p);
		dport = rd16(p + 2);
		o->tun.src = o->src;
		o->tun.dst = o->dst;
		o->tun.sport = sport;
		o->tun.dport = dport;
		/* Zeek hands a UDP connection's packets to the analyzer of its responder's port,
		 * the tunnel port (likely_server_ports) of the first packet's destination or
		 * source: both directions of a tunnel go to it. VXLAN and Geneve: the destination
		 * port only, as mail leaves them */
		type = udp_tunnel_type(o->dcfg, dport);
		if (!type) {
			type = udp_tunnel_type(o->dcfg, sport);
			if (type == PKT_TUN_VXLAN || type == PKT_TUN_GENEVE)
				type = 0;
			o->tun.src = o->dst;
			o->tun.dst = o->src;
			o->tun.sport = dport;
			o->tun.dport = sport;
		}
		if (!type)
			return DECODE_NOT_TCP;
		if (at_max_depth(o))
			return too_deep(o, udp_tunnel_source(type));
		p += 8;
		switch (type) {
		case PKT_TUN_TEREDO:
			return decode_teredo(p, end, o);
		case PKT_TUN_AYIYA:
			return decode_ayiya(p, end, cut, o);
		case PKT_TUN_GTPV1:
			return decode_gtpv1(p, end, o);
		default:
			break;
		}
		if (end - p < 8)
			return DECODE_TRUNC_TUNNEL;
		if (type == PKT_TUN_VXLAN) {
			if (!(p[0] & 0x08)) /* no I flag: Zeek's analyzer violation, not analysed */
				return DECODE_NOT_TCP;
			proto = ETH_P_TEB_;
			len = 8;
		} else {
			if (p[0] >> 6 != 0) /* Geneve version 0 only */
				return DECODE_NOT_TCP;
			proto = rd16(p + 2);
			len = 8 + (uint32_t)(p[0] & 0x3f) * 4;
		}
	} else {
		if (end - p < 4) {
			weird_src(o, "truncated_GRE", "GRE", true, -1);
			return DECODE_TRUNC_TUNNEL;
		}
		flags = rd16(p);
		proto = rd16(p + 2);
		/* Zeek's GRE analyzer's checks, flow weirds of the outer packet (dropped), in its
		 * order: the version, then (version 0) routing and reserved flags */
		if ((flags & 7) > 1) {
			weird_fmt(o, "unknown_gre_version", "GRE", true, "version=", flags & 7);
			return DECODE_NOT_TCP;
		}
		if (flags & 7)
			return decode_pptp(p, end, o);
		if (flags & 0x4000) {
			weird_src(o, "gre_routing", "GRE", true, -1);
			return DECODE_NOT_TCP;
		}
		if (flags & 0x0078) {
			weird_src(o, "unknown_gre_flags", "GRE", true, -1);
			return DECODE_NOT_TCP;
		}
		type = PKT_TUN_GRE;
		len = gre_len(flags);
		if (proto == ETH_P_ERSPAN_ && (flags & 0x1000))
			len += 8; /* type II header; type I has none */
		if (proto == ETH_P_ERSPAN3_) {
			if (end - p < (long)len + 12) {
				weird_src(o, "truncated_GRE", "GRE", true, -1);
				return DECODE_TRUNC_TUNNEL;
			}
			len += 12 + (p[len + 11] & 1 ? 8 : 0); /* O: a platform subheader */
			proto = ETH_P_TEB_;
		}
		if (proto == ETH_P_ERSPAN_)
			proto = ETH_P_TEB_;
	}
	if (end - p < (long)len) {
		if (type == PKT_TUN_GRE) /* Zeek's GRE analyzer: its header cut */
			weird_src(o, "truncated_GRE", "GRE", true, -1);
		return DECODE_TRUNC_TUNNEL;
	}
	if (proto != ETH_P_TEB_ && proto != ETH_P_IP_ && proto != ETH_P_IPV6_)
		return DECODE_NOT_TCP;
	if (type == PKT_TUN_GRE && at_max_depth(o)) /* GRE's checks, then IPTunnel's */
		return too_deep(o, "IPTunnel");
	p += len;
	/* the inner packet, as Zeek's inner Packet: its own link header and VLAN tags */
	o->tun.type = type;
	if (type == PKT_TUN_GRE) {
		o->tun.src = o->src;
		o->tun.dst = o->dst;
		o->tun.sport = o->tun.dport = 0;
		cut = 0; /* IPTunnelAnalyzer: the inner packet's wire length is its caplen */
	}
	o->vlan[0] = o->vlan[1] = 0;
	if (proto == ETH_P_TEB_) {
		if (end - p < 14)
			return DECODE_TRUNC_L2;
		return decode_ethertype(rd16(p + 12), p + 14, end, cut, o, true);
	}
	return proto == ETH_P_IP_ ? decode_ipv4(p, end, cut, o) : decode_ipv6(p, end, cut, o);
}

/* An MPLS label stack (RFC 3032), then IPv4 or IPv6 by the version after the bottom label
 * (Zeek's MPLS analyzer), or, where that nibble is 0, a pseudowire control word (RFC 4385)
 * and an Ethernet frame (RFC 4448, as Suricata reads it). The frame is the packet from then
 * on, as a tunnel's inner one: its own VLAN tags, no further MPLS, PPPoE or tunnel. A deeper
 * stack is not followed. The XDP parser does the same (bpf/mail_parse.h). */
static enum decode_result decode_mpls(const uint8_t *p, const uint8_t *end, uint32_t cut,
				      struct pkt *o)
{
	for (int i = 0; i < MPLS_MAX_LABELS; i++) {
		if (end - p < 4)
			return DECODE_TRUNC_L2;
		p += 4;
		if (!(p[-2] & 1)) /* not the bottom of the stack */
			continue;
		if (p < end && p[0] >> 4 == 0) {
			if (end - p < 4 + 14)
				return DECODE_TRUNC_L2;
			o->vlan[0] = o->vlan[1] = 0;
			o->pw = 1;
			return decode_ethertype(rd16(p + 4 + 12), p + 4 + 14, end, cut, o, true);
		}
		return decode_ip(p, end, cut, o);
	}
	return DECODE_NOT_IP;
}

/* A PPPoE session header (RFC 2516) and PPP's protocol field: IPv4 or IPv6. */
static enum decode_result decode_pppoe(const uint8_t *p, const uint8_t *end, uint32_t cut,
				       struct pkt *o)
{
	if (end - p < 8)
		return DECODE_TRUNC_L2;
	if (p[0] != 0x11 || p[1] != 0)
		return DECODE_NOT_IP;
	switch (rd16(p + 6)) {
	case PPP_IPV4_:
		return decode_ipv4(p + 8, end, cut, o);
	case PPP_IPV6_:
		return decode_ipv6(p + 8, end, cut, o);
	default:
		return DECODE_NOT_IP;
	}
}

/* inner: a tunnel's or a pseudowire's frame, where no MPLS or PPPoE is followed (as the XDP
 * parser). */
static enum decode_result decode_ethertype(uint16_t type, const uint8_t *p, const uint8_t *end,
					   uint32_t cut, struct pkt *o, bool inner)
{
	int tags = 0;

	for (;;) {
		switch (type) {
		case ETH_P_IP_:
			return decode_ipv4(p, end, cut, o);
		case ETH_P_IPV6_:
			return decode_ipv6(p, end, cut, o);
		case ETH_P_8021Q_:
		case ETH_P_8021AD_:
		case ETH_P_QINQ1_:
			if (end - p < 4)
				return DECODE_TRUNC_L2;
			/* Zeek 7's VLAN analyzer: vlan is the first tag with a VID other than 0 (a
			 * priority tag before it is not one), inner_vlan every tag after it, a third
			 * one overwriting the second (no weird before Zeek 8) */
			if (!o->vlan[0])
				o->vlan[0] = rd16(p) & 0x0fff;
			else
				o->vlan[1] = rd16(p) & 0x0fff;
			/* 8 tags and E-tags in all, as the XDP parser (MAIL_MAX_L2_TAGS) */
			if (++tags > 8)
				return DECODE_NOT_IP;
			type = rd16(p + 2);
			p += 4;
			break;
		case ETH_P_ETAG_:
			/* 802.1BR: 6 bytes of tag after the TPID, then the next type */
			if (end - p < 8)
				return DECODE_TRUNC_L2;
			type = rd16(p + 6);
			p += 8;
			if (++tags > 8)
				return DECODE_NOT_IP;
			break;
		case ETH_P_MPLS_UC_:
		case ETH_P_MPLS_MC_:
			/* not inside a tunnel: the XDP parser does not follow them there */
			return inner ? DECODE_NOT_IP : decode_mpls(p, end, cut, o);
		case ETH_P_PPP_SES_:
			return inner ? DECODE_NOT_IP : decode_pppoe(p, end, cut, o);
		default:
			return DECODE_NOT_IP;
		}
	}
}

/* Asked of decode__packet itself, with an empty frame: a link type it reads says the frame is
 * too short, any other DECODE_LINKTYPE. One list of link types, in decode__packet. */
bool decode__linktype_ok(int linktype)
{
	static const uint8_t none[1];
	struct pkt_raw raw = { .data = none, .caplen = 0, .wirelen = 0, .linktype = linktype };
	struct decode_cfg c;
	struct pkt p;

	decode_cfg__default(&c);
	return decode__packet(&c, &raw, &p, NULL) != DECODE_LINKTYPE;
}

void decode_cfg__default(struct decode_cfg *c)
{
	*c = (struct decode_cfg){ .tun_ports = MAILTAP_TUNNEL_PORTS_DEFAULT };
}

enum decode_result decode__packet(const struct decode_cfg *c, const struct pkt_raw *raw,
				  struct pkt *o, struct decode_stats *st)
{
	return decode_frame(c, raw, NULL, NULL, o, st);
}

enum decode_result decode__packet_in(const struct decode_cfg *c, const struct pkt_raw *raw,
				     const struct pkt_tunnel *tun,
				     const struct pkt_tunnel *tun_outer, struct pkt *o)
{
	return decode_frame(c, raw, tun, tun_outer, o, NULL);
}
/* decode__packet, the frame inside tunnels tun_outer, tun (or none: NULL) */
static enum decode_result decode_frame(const struct decode_cfg *c, const struct pkt_raw *raw,
				       const struct pkt_tunnel *tun,
				       const struct pkt_tunnel *tun_outer, struct pkt *o,
				       struct decode_stats *st)
{
	const uint8_t *p = raw->data, *end = raw->data + raw->caplen;
	/* bytes of the frame the snap length left out */
	uint32_t cut = raw->wirelen > raw->caplen ? raw->wirelen - raw->caplen : 0;
	enum decode_result r;
	uint32_t fam;

	memset(o, 0, offsetof(struct pkt, payload));
	o->tun.type = 0;
	o->tun_outer.type = 0;
	if (tun && tun->type) {
		o->tun = *tun;
		if (tun_outer)
			o->tun_outer = *tun_outer;
	}
	o->n_weirds = 0;
	o->ts_ns = raw->ts_ns;
	o->payload = NULL;
	o->payload_len = o->payload_wire_len = 0;
	o->l3 = NULL;
	o->l3_len = 0;
	o->dcfg = c;

	switch (raw->linktype) {
	case DLT_EN10MB:
		if (end - p < 14) {
			r = DECODE_TRUNC_L2;
			break;
		}
		r = decode_ethertype(rd16(p + 12), p + 14, end, cut, o, false);
		break;
	case DLT_LINUX_SLL:
		if (end - p < 16) {
			r = DECODE_TRUNC_L2;
			break;
		}
		r = decode_ethertype(rd16(p + 14), p + 16, end, cut, o, false);
		break;
	case DLT_LINUX_SLL2:
		if (end - p < 20) {
			r = DECODE_TRUNC_L2;
			break;
		}
		r = decode_ethertype(rd16(p), p + 20, end, cut, o, false);
		break;
	case 101: /* LINKTYPE_RAW */
	case 12:  /* DLT_RAW on Linux/most BSDs */
	case 14:  /* DLT_RAW on OpenBSD */
	case DLT_IPV4:
	case DLT_IPV6:
		r = decode_ip(p, end, cut, o);
		break;
	case DLT_NULL:
	case DLT_LOOP:
		if (end - p < 4) {
			r = DECODE_TRUNC_L2;
			break;
		}
		/* family in host order of the capturing machine (NULL) or network order (LOOP):
		 * accept either byte order; AF_INET is 2, AF_INET6 24/28/30 on the BSDs, 10 on Linux */
		memcpy(&fam, p, 4);
		if (fam > 0xffff)
			fam = __builtin_bswap32(fam);
		if (fam == 2)
			r = decode_ipv4(p + 4, end, cut, o);
		else if (fam == 24 || fam == 28 || fam == 30 || fam == 10)
			r = decode_ipv6(p + 4, end, cut, o);
		else
			r = decode_ip(p + 4, end, cut, o);
		break;
	default:
		r = DECODE_LINKTYPE;
		break;
	}
	if (st) {
		st->packets++;
		st->bytes += raw->wirelen;
		st->result[r]++;
	}
	return r;
}
