/* SPDX-License-Identifier: BSD-3-Clause */
/* Packets as the sources deliver them (struct pkt_raw) and as decode leaves them (struct pkt). */
#ifndef MAILTAP_PKT_H
#define MAILTAP_PKT_H

#include <stdint.h>
#include "mailtap/types.h"
#include "mailtap_abi.h"

struct decode_cfg; /* mailtap/decode.h */

/* A frame from a source (pcap file, AF_XDP). data is valid only during the handler call. */
struct pkt_raw {
	uint64_t ts_ns;	 /* capture time, ns since the epoch */
	const uint8_t *data;
	uint32_t caplen; /* bytes in data */
	uint32_t wirelen; /* bytes on the wire */
	int linktype;	 /* DLT_* (libpcap link type) */
};

/* Returns 0 to go on, or -errno to stop the source. */
typedef int (*pkt_handler)(void *u, const struct pkt_raw *p);

#define PKT_TCP_FIN 0x01
#define PKT_TCP_SYN 0x02
#define PKT_TCP_RST 0x04
#define PKT_TCP_PSH 0x08
#define PKT_TCP_ACK 0x10
#define PKT_TCP_URG 0x20
#define PKT_TCP_ECE 0x40
#define PKT_TCP_CWR 0x80

#define PKT_TUN_VXLAN 1
#define PKT_TUN_GENEVE 2
#define PKT_TUN_GRE 3
#define PKT_TUN_IP 4 /* IP in IP: IPv4 or IPv6 in IPv4 or IPv6 (protocols 4 and 41) */
#define PKT_TUN_TEREDO 5 /* IPv6 in UDP port 3544 */
#define PKT_TUN_AYIYA 6	 /* IPv4 or IPv6 in UDP port 5072 */
#define PKT_TUN_GTPV1 7	 /* GTPv1-U G-PDU: IPv4 or IPv6 in UDP port 2152 (or GTP-C's 2123) */

/* Tunnel levels followed, as Zeek's Tunnel::max_depth (2): a tunnel inside a tunnel is
 * followed, a third one is not (decode.h: DECODE_TUNNEL_DEPTH). */
#define PKT_TUN_MAX_DEPTH MAILTAP_MAX_TUNNEL_DEPTH

/* A tunnel around an IP packet (one level), as Zeek's EncapsulatingConn: the outer
 * addresses, and the UDP ports of the UDP tunnels (0 for GRE and IP in IP). A UDP tunnel is
 * oriented as Zeek's UDP connection is, its tunnel port the responder's: dst/dport is the side
 * with the tunnel port (the packet's source for a reply from a Teredo, AYIYA or GTP port). */
struct pkt_tunnel {
	uint8_t type; /* PKT_TUN_*, 0: none */
	uint16_t sport, dport;
	struct mt_addr src, dst;
};

/* A weird Zeek's packet analysis raises for what the decoder met, whether the packet was
 * decoded or dropped: a flow weird names the packet's addresses (src, dst: Reporter::Weird
 * with an IP header), a net weird none (the name with "_in_tunnel" inside a tunnel). */
#define PKT_WEIRDS_MAX 4
struct pkt_weird {
	const char *name;   /* a static string */
	const char *source; /* the Zeek analyzer that raises it (a weird's source), or NULL */
	uint8_t flow;
	struct mt_addr src, dst; /* a flow weird's addresses (an outer packet's in a tunnel) */
	uint8_t in_tunnel; /* the name takes "_in_tunnel" (session::Manager::Weird: raised by a
			    * tunnel analyzer of a packet already inside a tunnel) */
	char addl[16];	  /* "" or a number (unknown_routing_type's routing type), or
			   * "version=N", "proto=N" (GRE's unknown_gre_version, egre_protocol_type) */
};

/* A decoded TCP/IP packet. Pointers point into the frame (no copy). */
struct pkt {
	uint64_t ts_ns;
	struct mt_addr src, dst;
	uint16_t sport, dport;	/* host order */
	uint8_t ip_ver;		/* 4 or 6 */
	uint8_t l4proto;	/* IPPROTO_* */
	uint16_t vlan[2];	/* outer, inner VLAN id of the frame around the IP packet; 0 = none */
	uint32_t ip_len;	/* IP total length (v4) / 40 + payload length (v6), as Zeek's ip_bytes */
	/* TCP */
	uint32_t seq, ack;
	uint16_t win;
	uint8_t tcp_flags;	/* PKT_TCP_* */
	uint8_t tcp_hdr_len;
	uint8_t wscale;		/* window scale option, 0xff if absent */
	uint8_t pw;		/* the frame came in an MPLS pseudowire (no tunnel is followed) */
	const uint8_t *payload;
	uint32_t payload_len;	/* payload bytes present in the frame */
	uint32_t payload_wire_len; /* payload length per the IP header (>= payload_len if truncated) */
	const uint8_t *l3;	/* the IP header (set for every IP packet, fragments included) */
	uint32_t l3_len;	/* captured bytes from l3 on */
	/* The encapsulation, a stack of up to PKT_TUN_MAX_DEPTH levels, outer first: tun_outer,
	 * tun with two levels; tun alone with one (tun_outer.type 0). tun is always the innermost
	 * (conn's tunnel_parents names it). The types are always set; the rest only with them. */
	struct pkt_tunnel tun;
	struct pkt_tunnel tun_outer;
	uint8_t n_weirds;	/* always set: the weirds below */
	struct pkt_weird weird[PKT_WEIRDS_MAX];
	/* always set: what decode__packet decoded with (the tunnel ports its inner steps read) */
	const struct decode_cfg *dcfg;
};

#endif
