/* SPDX-License-Identifier: BSD-3-Clause */
/* L2-L4 decoding: Ethernet (802.1Q/802.1ad, QinQ, 802.1BR E-tag, then an MPLS label stack or
 * a PPPoE session), Linux cooked SLL/SLL2, raw IP, BSD loopback/NULL -> IPv4 (options) / IPv6
 * (extension headers) -> TCP (options); up to two levels of tunnel (PKT_TUN_MAX_DEPTH, Zeek's
 * Tunnel::max_depth: any kind below inside any other, a third level dropped with Zeek's weird
 * exceeded_tunnel_max_depth_in_tunnel) between IP and the TCP packet:
 * VXLAN (UDP 4789) and Geneve (UDP 6081), or the ports struct decode_cfg names, GRE (Ethernet,
 * ERSPAN I/II/III, IP; version 1: PPTP's PPP with IPv4 or IPv6), IP in IP (protocols 4, 41),
 * Teredo (UDP 3544), AYIYA (UDP 5072), GTPv1-U G-PDUs (UDP 2152, 2123), the inner frame read as
 * above without MPLS/PPPoE (as the XDP parser, bpf/mail_parse.h). Bounds are checked before
 * every read; the result points into the frame. */
#ifndef MAILTAP_DECODE_H
#define MAILTAP_DECODE_H

#include <stdbool.h>
#include <stdint.h>
#include "mailtap/pkt.h"
#include "mailtap_abi.h"

/* Why a packet was not decoded, or was decoded with a remark. One counter each. IP_LEN: an IP
 * total length (IPv6: payload length + 40) past the packet's length on the wire (its wirelen,
 * not its caplen), which Zeek's IP analyzer drops with the weird truncated_IP_len.
 * TUNNEL_DEPTH: a tunnel inside the second level of tunnel (PKT_TUN_MAX_DEPTH), not followed. */
#define DECODE_RESULTS(X)                                                                          \
	X(OK, "ok")                                                                                \
	X(LINKTYPE, "unsupported_linktype")                                                        \
	X(TRUNC_L2, "truncated_link_header")                                                       \
	X(NOT_IP, "not_ip")                                                                        \
	X(TRUNC_IP, "truncated_ip_header")                                                         \
	X(BAD_IP, "bad_ip_header")                                                                 \
	X(IP_LEN, "ip_length_exceeds_capture")                                                     \
	X(FRAGMENT, "ip_fragment")                                                                 \
	X(BAD_IP6_EXT, "bad_ipv6_extension_header")                                                \
	X(NOT_TCP, "not_tcp")                                                                      \
	X(TRUNC_TUNNEL, "truncated_tunnel_header")                                                 \
	X(TRUNC_TCP, "truncated_tcp_header")                                                       \
	X(BAD_TCP, "bad_tcp_header")                                                               \
	X(TUNNEL_DEPTH, "exceeded_tunnel_max_depth")

enum decode_result {
#define X(n, s) DECODE_##n,
	DECODE_RESULTS(X)
#undef X
		DECODE__MAX
};

struct decode_stats {
	uint64_t packets;
	uint64_t result[DECODE__MAX];
	uint64_t bytes;
};

/* What decoding follows: the UDP ports of VXLAN and Geneve (mailtap_abi.h; --vxlan-ports,
 * --geneve-ports), as the XDP program's mailtap_tunnel_ports. */
struct decode_cfg {
	struct mailtap_tunnel_ports tun_ports;
};
/* Zeek's defaults: VXLAN on 4789, Geneve on 6081. */
void decode_cfg__default(struct decode_cfg *c);

const char *decode__result_name(enum decode_result r);
/* Decodes p into out with c's tunnel ports. Returns DECODE_OK (0) or the reason the packet is
 * not a usable TCP packet. Counts into st (may be NULL). */
enum decode_result decode__packet(const struct decode_cfg *c, const struct pkt_raw *p,
				  struct pkt *out, struct decode_stats *st);
/* decode__packet of a frame that came inside tunnels (a datagram reassembled from fragments
 * that did: engine.c): tun (NULL or type 0: none) and, with it, tun_outer (NULL or type 0:
 * none) are o's encapsulation before the frame's own, a tunnel in it one level more (a
 * third: DECODE_TUNNEL_DEPTH), its IP weirds with "_in_tunnel". Counts nothing. */
enum decode_result decode__packet_in(const struct decode_cfg *c, const struct pkt_raw *raw,
				     const struct pkt_tunnel *tun,
				     const struct pkt_tunnel *tun_outer, struct pkt *o);
/* An IPv6 packet's extension header chain, as decode__packet follows it (hop-by-hop, routing,
 * destination options, AH, atomic fragments; at most MAILTAP_MAX_IPV6_EXT): frag.c and the
 * decoder read the same one. */
struct ipv6_chain {
	uint32_t off;		  /* the header after the chain: upper layer, or a fragment header */
	uint32_t nh_off;	  /* the next-header byte that names it */
	uint8_t nh;		  /* its type; after a fragment header, the type that follows it */
	const uint8_t *final_dst; /* a type 0 routing header's final destination (16 bytes), or NULL */
};
/* Walks the chain of the IPv6 packet p (caplen bytes captured, ip_len its length: 40 + payload
 * length; caplen <= ip_len): DECODE_OK at an upper-layer header, DECODE_FRAGMENT at a fragment
 * header that is no atomic fragment, else DECODE_TRUNC_IP or DECODE_BAD_IP6_EXT. With o, its
 * routing weirds (Zeek's routing0_hdr, odd_routing0_len, unknown_routing_type,
 * multiple_routing_headers) go to o and o->dst becomes the final destination. */
enum decode_result decode__ipv6_chain(const uint8_t *p, uint32_t caplen, uint32_t ip_len,
				      struct ipv6_chain *c, struct pkt *o);
/* Is linktype (a DLT_ value) one decode__packet reads (Ethernet, Linux cooked v1 and v2, raw
 * IP, BSD loopback)? Frames of any other give DECODE_LINKTYPE. */
bool decode__linktype_ok(int linktype);

#endif
