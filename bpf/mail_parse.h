/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The bounded packet parser both XDP programs share (mailtap.bpf.c: mirror mode,
 * mailtap_host.bpf.c: host mode): Ethernet, up to MAIL_MAX_L2_TAGS VLAN tags
 * (802.1Q/802.1ad/0x9100) and 802.1BR E-tags, an MPLS label stack (up to
 * MAIL_MAX_MPLS_LABELS labels, IPv4 or IPv6 after the bottom one) or a PPPoE session header
 * (PPP IPv4 or IPv6), IPv4 with options, IPv6 with up to MAIL_MAX_IPV6_EXT extension
 * headers, TCP; and up to MAIL_MAX_TUNNEL_DEPTH (2) levels of tunnel in between (mirror mode;
 * the second by a second call of mail_classify_tunnel):
 * VXLAN or Geneve (UDP, to the ports of MAIL_TUNNEL_PORTS) carrying Ethernet, GRE carrying Ethernet
 * (transparent bridging, ERSPAN types I, II and III) or IP, GRE version 1 (PPTP) carrying
 * PPP's IPv4 or IPv6, IP in IP (protocols 4 and 41: IPv4 or IPv6 in IPv4 or IPv6), Teredo (UDP
 * 3544), AYIYA (UDP 5072) and GTPv1-U (UDP 2152, 2123) carrying IP, those three to or from
 * their port, whose inner packet
 * (mail_classify_tunnel) decides the verdict. Every header is checked against the end before
 * it is read. Fragments of TCP-capable datagrams are steered whatever their ports (non-first
 * fragments have none): userspace reassembles them. In mirror mode so are fragments of outer
 * UDP, GRE and IP-in-IP datagrams: a tunnel packet may be fragmented on its way (ERSPAN from a
 * switch without a larger MTU), and only the whole datagram shows the inner packet.
 *
 * The including program defines, before including this file:
 *   MAIL_V_MATCH, MAIL_V_PARSE_ERR, MAIL_V_NON_IP, MAIL_V_NON_TCP, MAIL_V_OTHER_PORT
 *     the verdicts, as the program's own counter indices (counted without a mapping);
 *   MAIL_MAX_IPV6_EXT   extension headers followed at most (user/decode.c follows as many);
 *   static __always_inline int mail_port_in_set(__u16 port)   its port set;
 *   MAIL_TUNNEL_PORTS   (with tunnels) an lvalue of struct mailtap_tunnel_ports: the UDP ports
 *     of VXLAN and Geneve, read for every outer UDP datagram. Without it (host mode: no
 *     tunnels) no datagram is VXLAN or Geneve.
 */
#ifndef MAILTAP_BPF_MAIL_PARSE_H
#define MAILTAP_BPF_MAIL_PARSE_H

#ifndef ETH_P_8021AD
#define ETH_P_8021AD 0x88A8
#endif
#define MAIL_ETH_P_QINQ1 0x9100
#define MAIL_ETH_P_ETAG 0x893F /* 802.1BR E-tag */
#ifndef ETH_P_MPLS_UC
#define ETH_P_MPLS_UC 0x8847
#endif
#ifndef ETH_P_MPLS_MC
#define ETH_P_MPLS_MC 0x8848
#endif
#ifndef ETH_P_PPP_SES
#define ETH_P_PPP_SES 0x8864
#endif
#define MAIL_PPP_IPV4 0x0021
#define MAIL_PPP_IPV6 0x0057
#define MAIL_TUN_VXLAN 1 /* mail_udp_port_tunnel's answers */
#define MAIL_TUN_GENEVE 2
/* Teredo, AYIYA, GTPv1 (GTP-U, GTP-C): UDP tunnels found by either port, as Zeek registers
 * them (mailtap_abi.h MAILTAP_*_PORT, which user/decode.c reads) */
#define MAIL_TEREDO_PORT 3544
#define MAIL_AYIYA_PORT 5072
#define MAIL_GTPV1_U_PORT 2152
#define MAIL_GTPV1_C_PORT 2123 /* the lowest, AYIYA's the highest: mail_udp_ip_tunnel_port */
/* GTPv1 extension headers followed before giving up (non_tcp); user/decode.c has the same
 * (MAILTAP_MAX_GTP_EXT) */
#define MAIL_MAX_GTP_EXT 4
#define MAIL_ETH_P_TEB 0x6558	  /* transparent Ethernet bridging */
#define MAIL_ETH_P_ERSPAN 0x88BE  /* ERSPAN type I (no sequence number) or II */
#define MAIL_ETH_P_ERSPAN3 0x22EB /* ERSPAN type III */
#define MAIL_GRE_CSUM 0x8000
#define MAIL_GRE_KEY 0x2000
#define MAIL_GRE_SEQ 0x1000
#define MAIL_GRE_ROUTING 0x4000
#define MAIL_GRE_VERSION 0x0007
#define MAIL_GRE_RESERVED 0x0078
#define MAIL_GRE_ACK 0x0080 /* an acknowledgment number (Zeek counts it in any version) */
#define MAIL_GRE_PPTP 0x880B /* GRE version 1's protocol: PPP (RFC 2637) */
/* Internal results of the outer parse (never returned by mail_classify): an IP-in-IP
 * packet's inner IPv6 or IPv4 header, a UDP or GRE payload that may be a tunnel, or an MPLS
 * pseudowire's Ethernet frame, at the cursor; MAIL_V_INNER_FIRST the lowest of them. */
#define MAIL_V_INNER_FIRST 0xfa
#define MAIL_V_INNER_IP6 0xfa
#define MAIL_V_INNER_IP4 0xfb
#define MAIL_V_INNER_PW 0xfc
#define MAIL_V_INNER_GRE 0xfd
#define MAIL_V_INNER_UDP 0xfe
/* Labels of an MPLS stack followed before giving up (non_ip); user/decode.c has the same. */
#define MAIL_MAX_MPLS_LABELS 8
/* VLAN tags and E-tags in a row followed before giving up (non_ip); user/decode.c has the
 * same. */
#define MAIL_MAX_L2_TAGS 8
#define IP_MF 0x2000
#define IP_OFFSET 0x1fff
#define IP6_OFFSET 0xfff8
#define IP6_MF 0x0001

struct vlan_hdr {
	__be16 tci;
	__be16 encap_proto;
};

/* 802.1BR E-tag after its TPID: 6 bytes of tag, then the next EtherType. */
struct etag_hdr {
	__u8 tag[6];
	__be16 encap_proto;
};

/* PPPoE session stage header (RFC 2516) and the PPP protocol field after it. */
struct pppoe_ses_hdr {
	__u8 ver_type; /* 0x11 */
	__u8 code;     /* 0x00: session data */
	__be16 session;
	__be16 length;
	__be16 ppp_proto;
};

/* IPv6 Fragment header (RFC 8200 4.5); the UAPI headers do not export it. */
struct ip6_frag_hdr {
	__u8 nexthdr;
	__u8 reserved;
	__be16 frag_off; /* offset << 3 | M flag */
	__be32 identification;
};

/* mail_classify's result: the verdict in the low byte, then what was seen on the way. */
#define MAIL_R_VERDICT(r) ((r) & 0xff)
#define MAIL_R_FRAG 0x100 /* a fragment of a TCP-capable (or, outer, UDP or GRE) datagram */
#define MAIL_R_VLAN 0x200 /* VLAN tags (not an E-tag alone) */
#define MAIL_R_IPV4 0x400 /* IPv4 after the link headers (outside a tunnel) */
#define MAIL_R_IPV6 0x800 /* IPv6 after the link headers (outside a tunnel) */
#define MAIL_R_MPLS 0x1000 /* an MPLS label stack */
#define MAIL_R_PPPOE 0x2000 /* a PPPoE session header */
#define MAIL_R_TUNNEL 0x4000 /* a tunnel around the packet that decided */
_Static_assert(MAIL_V_MATCH < MAIL_V_INNER_FIRST && MAIL_V_PARSE_ERR < MAIL_V_INNER_FIRST &&
		   MAIL_V_NON_IP < MAIL_V_INNER_FIRST && MAIL_V_NON_TCP < MAIL_V_INNER_FIRST &&
		   MAIL_V_OTHER_PORT < MAIL_V_INNER_FIRST,
	       "verdicts fit in MAIL_R_VERDICT, below the internal MAIL_V_INNER_*");

struct cursor {
	void *pos;
	void *end;
	void *base; /* the frame's first byte (data), for mail_cursor_forget */
};

/* Largest offset of a header mail_cursor_forget lets through: with the largest header read
 * after it (an IPv6 extension header: 2048 bytes) still below the 64 KiB the verifier tracks
 * packet ranges in. Beyond it, a frame is a parse error. */
#define MAIL_MAX_HDR_OFF 0xefff

/*
 * Puts the cursor where it is, as the frame's start plus an offset the verifier does not know
 * (0..MAIL_MAX_HDR_OFF); -1 past that. The paths that reach a header at different constant
 * offsets (0 to 8 tags, an MPLS stack, a PPPoE header, extension headers in any order) then
 * look alike to the verifier, which verifies what follows once instead of once per offset:
 * without it, the IPv6 extension header walk behind every link-layer variant is more than its
 * million instructions. Three ALU instructions and a test at run time.
 */
static __always_inline int mail_cursor_forget(struct cursor *c)
{
	__u64 off = c->pos - c->base;

	if (off > MAIL_MAX_HDR_OFF)
		return -1;
	c->pos = c->base + off;
	return 0;
}

/* After an MPLS label stack: ETH_P_IP or ETH_P_IPV6 by the IP version of what follows the
 * bottom label; with pw, 1 for a pseudowire control word (first nibble 0, RFC 4385: an
 * Ethernet frame follows it, the cursor on that frame); 0 for anything else or a deeper
 * stack, -1 if cut off. */
static __always_inline int mail_parse_mpls(struct cursor *c, int pw)
{
	__u8 *l, *ip;
	int i;

#pragma unroll
	for (i = 0; i < MAIL_MAX_MPLS_LABELS; i++) {
		l = c->pos;
		if ((void *)(l + 4) > c->end)
			return -1;
		c->pos = l + 4;
		if (!(l[2] & 1)) /* not the bottom of the stack */
			continue;
		ip = c->pos;
		if ((void *)(ip + 1) > c->end)
			return -1;
		if (*ip >> 4 == 4)
			return ETH_P_IP;
		if (*ip >> 4 == 6)
			return ETH_P_IPV6;
		if (*ip >> 4 == 0 && pw) {
			c->pos = ip + 4;
			return 1;
		}
		return 0;
	}
	return 0;
}

/* After a PPPoE session header: ETH_P_IP or ETH_P_IPV6 by its PPP protocol, 0 for anything
 * else (LCP, a discovery-stage code), -1 if cut off. */
static __always_inline int mail_parse_pppoe(struct cursor *c)
{
	struct pppoe_ses_hdr *h = c->pos;

	if ((void *)(h + 1) > c->end)
		return -1;
	c->pos = h + 1;
	if (h->ver_type != 0x11 || h->code != 0)
		return 0;
	if (h->ppp_proto == bpf_htons(MAIL_PPP_IPV4))
		return ETH_P_IP;
	if (h->ppp_proto == bpf_htons(MAIL_PPP_IPV6))
		return ETH_P_IPV6;
	return 0;
}

/* Returns the EtherType after the Ethernet header and up to MAIL_MAX_L2_TAGS VLAN tags and
 * 802.1BR E-tags (in any order, as user/decode.c reads them), or -1; *flags gets MAIL_R_VLAN
 * if there was a VLAN tag. A frame with more tags ends on a tag's EtherType: non_ip. */
static __always_inline int mail_parse_eth(struct cursor *c, __u32 *flags)
{
	struct ethhdr *eth = c->pos;
	struct etag_hdr *eh;
	struct vlan_hdr *vh;
	__u16 proto;
	int i;

	if ((void *)(eth + 1) > c->end)
		return -1;
	c->pos = eth + 1;
	proto = eth->h_proto;
#pragma unroll
	for (i = 0; i < MAIL_MAX_L2_TAGS; i++) {
		if (proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD) ||
		    proto == bpf_htons(MAIL_ETH_P_QINQ1)) {
			vh = c->pos;
			if ((void *)(vh + 1) > c->end)
				return -1;
			c->pos = vh + 1;
			proto = vh->encap_proto;
			*flags = MAIL_R_VLAN;
		} else if (proto == bpf_htons(MAIL_ETH_P_ETAG)) {
			eh = c->pos;
			if ((void *)(eh + 1) > c->end)
				return -1;
			c->pos = eh + 1;
			proto = eh->encap_proto;
		} else {
			break;
		}
	}
	return bpf_ntohs(proto);
}

static __always_inline __u32 mail_parse_tcp(struct cursor *c)
{
	struct tcphdr *th = c->pos;

	if ((void *)(th + 1) > c->end)
		return MAIL_V_PARSE_ERR;
	if (th->doff < 5)
		return MAIL_V_PARSE_ERR;
	if (mail_port_in_set(bpf_ntohs(th->dest)) || mail_port_in_set(bpf_ntohs(th->source)))
		return MAIL_V_MATCH;
	return MAIL_V_OTHER_PORT;
}

/* A port of the tunnels found by either port of their datagrams (Teredo, AYIYA, GTPv1): one
 * range test first (2123..5072), which most other UDP fails. */
static __always_inline int mail_udp_ip_tunnel_port(__be16 port)
{
	__u16 p = bpf_ntohs(port);

	if ((__u16)(p - MAIL_GTPV1_C_PORT) > MAIL_AYIYA_PORT - MAIL_GTPV1_C_PORT)
		return 0;
	return p == MAIL_TEREDO_PORT || p == MAIL_AYIYA_PORT || p == MAIL_GTPV1_U_PORT ||
	       p == MAIL_GTPV1_C_PORT;
}

#ifdef MAIL_TUNNEL_PORTS
/* MAIL_TUN_VXLAN or MAIL_TUN_GENEVE when the UDP destination port (host order) is in that
 * list of MAIL_TUNNEL_PORTS, else 0. A list ends at its first 0 (a port is never 0 there): the
 * defaults, one port each, cost two loads and three tests more per list than a constant. */
static __always_inline int mail_udp_port_tunnel(__u16 port)
{
	const int n = sizeof(MAIL_TUNNEL_PORTS.vxlan) / sizeof(MAIL_TUNNEL_PORTS.vxlan[0]);
	__u16 v;
	int i;

#pragma unroll
	for (i = 0; i < n; i++) {
		v = MAIL_TUNNEL_PORTS.vxlan[i];
		if (!v)
			break;
		if (v == port)
			return MAIL_TUN_VXLAN;
	}
#pragma unroll
	for (i = 0; i < n; i++) {
		v = MAIL_TUNNEL_PORTS.geneve[i];
		if (!v)
			break;
		if (v == port)
			return MAIL_TUN_GENEVE;
	}
	return 0;
}
#else
/* A program without tunnels (host mode) follows no VXLAN or Geneve. */
static __always_inline int mail_udp_port_tunnel(__u16 port)
{
	(void)port;
	return 0;
}
#endif

/* A UDP header at the cursor whose destination port is a tunnel's (VXLAN, Geneve: the
 * configured ports; Teredo, AYIYA, GTPv1), or its source port one of the last three (a
 * reply): other UDP stays on the fast path, without the call to the tunnel parser. */
static __always_inline int mail_udp_tunnel(struct cursor *c)
{
	struct udphdr *uh = c->pos;

	if ((void *)(uh + 1) > c->end)
		return 0;
	return mail_udp_ip_tunnel_port(uh->dest) || mail_udp_ip_tunnel_port(uh->source) ||
	       mail_udp_port_tunnel(bpf_ntohs(uh->dest));
}

/* outer: a UDP datagram to a tunnel port, a GRE payload or an IP-in-IP packet's inner one (not
 * a fragment) is returned as MAIL_V_INNER_UDP/GRE/IP4/IP6 with the cursor on it, for the
 * tunnel parser. */
static __always_inline __u32 mail_parse_ipv4(struct cursor *c, int outer)
{
	struct iphdr *iph = c->pos;
	__u32 hlen;

	if ((void *)(iph + 1) > c->end)
		return MAIL_V_PARSE_ERR;
	if (iph->version != 4 || iph->ihl < 5)
		return MAIL_V_PARSE_ERR;
	hlen = iph->ihl * 4;
	if (c->pos + hlen > c->end)
		return MAIL_V_PARSE_ERR;
	c->pos += hlen;
	/* TCP tested first: without the hint, the tunnel ports' tests on the UDP branch moved
	 * the compiler's layout so that TCP ran 4 register moves more (llvm-objdump) */
	if (__builtin_expect(iph->protocol != IPPROTO_TCP, 0)) {
		if (outer && (iph->protocol == IPPROTO_UDP || iph->protocol == IPPROTO_GRE ||
			      iph->protocol == IPPROTO_IPIP || iph->protocol == IPPROTO_IPV6)) {
			if (iph->frag_off & bpf_htons(IP_MF | IP_OFFSET))
				return MAIL_V_MATCH | MAIL_R_FRAG; /* perhaps a tunnel's */
			if (iph->protocol == IPPROTO_GRE)
				return MAIL_V_INNER_GRE;
			if (iph->protocol == IPPROTO_IPIP)
				return MAIL_V_INNER_IP4;
			if (iph->protocol == IPPROTO_IPV6)
				return MAIL_V_INNER_IP6;
			if (mail_udp_tunnel(c))
				return MAIL_V_INNER_UDP;
		}
		return MAIL_V_NON_TCP;
	}
	if (iph->frag_off & bpf_htons(IP_MF | IP_OFFSET))
		return MAIL_V_MATCH | MAIL_R_FRAG;
	return mail_parse_tcp(c);
}

/* Next headers after which a fragment may carry TCP: TCP, or an extension header that may
 * precede it; userspace reassembles all of these (frag__v6_ext in include/mailtap/frag.h:
 * Hop-by-Hop, Routing, Destination Options, AH). */
static __always_inline int mail_ipv6_tcp_capable(__u8 nh)
{
	return nh == IPPROTO_TCP || nh == IPPROTO_HOPOPTS || nh == IPPROTO_ROUTING ||
	       nh == IPPROTO_DSTOPTS || nh == IPPROTO_AH;
}

static __always_inline __u32 mail_parse_ipv6(struct cursor *c, int outer)
{
	struct ipv6hdr *ip6 = c->pos;
	struct ipv6_opt_hdr *oh;
	struct ip6_frag_hdr *fh;
	__u32 len;
	__u8 nh;
	int i;

	if ((void *)(ip6 + 1) > c->end)
		return MAIL_V_PARSE_ERR;
	if (ip6->version != 6)
		return MAIL_V_PARSE_ERR;
	c->pos = ip6 + 1;
	nh = ip6->nexthdr;
	/* MAIL_MAX_IPV6_EXT extension headers, and one round more for the header after them */
	for (i = 0; i <= MAIL_MAX_IPV6_EXT; i++) {
		if (mail_cursor_forget(c))
			return MAIL_V_PARSE_ERR;
		switch (nh) {
		case IPPROTO_TCP:
			return mail_parse_tcp(c);
		case IPPROTO_HOPOPTS:
		case IPPROTO_ROUTING:
		case IPPROTO_DSTOPTS:
		case IPPROTO_AH:
			oh = c->pos;
			if ((void *)(oh + 1) > c->end)
				return MAIL_V_PARSE_ERR;
			if (nh == IPPROTO_AH)
				len = ((__u32)oh->hdrlen + 2) * 4;
			else
				len = ((__u32)oh->hdrlen + 1) * 8;
			if (c->pos + len > c->end)
				return MAIL_V_PARSE_ERR;
			c->pos += len;
			nh = oh->nexthdr;
			break;
		case IPPROTO_FRAGMENT:
			fh = c->pos;
			if ((void *)(fh + 1) > c->end)
				return MAIL_V_PARSE_ERR;
			c->pos = fh + 1;
			nh = fh->nexthdr;
			/* An atomic fragment (offset 0, no M flag) is a whole packet. */
			if (fh->frag_off & bpf_htons(IP6_OFFSET | IP6_MF)) {
				if (mail_ipv6_tcp_capable(nh) ||
				    (outer && (nh == IPPROTO_UDP || nh == IPPROTO_GRE ||
					       nh == IPPROTO_IPIP || nh == IPPROTO_IPV6)))
					return MAIL_V_MATCH | MAIL_R_FRAG;
				return MAIL_V_NON_TCP;
			}
			break;
		case IPPROTO_UDP:
			return outer && mail_udp_tunnel(c) ? MAIL_V_INNER_UDP : MAIL_V_NON_TCP;
		case IPPROTO_GRE:
			return outer ? MAIL_V_INNER_GRE : MAIL_V_NON_TCP;
		case IPPROTO_IPIP:
			return outer ? MAIL_V_INNER_IP4 : MAIL_V_NON_TCP;
		case IPPROTO_IPV6:
			return outer ? MAIL_V_INNER_IP6 : MAIL_V_NON_TCP;
		default:
			return MAIL_V_NON_TCP;
		}
	}
	return MAIL_V_PARSE_ERR; /* more than MAIL_MAX_IPV6_EXT extension headers, as userspace */
}

/* ETH_P_IP or ETH_P_IPV6 by the version nibble of the IP header at the cursor, 0 for another
 * version, -1 if cut off. */
static __always_inline int mail_ip_version(struct cursor *c)
{
	__u8 *h = c->pos;

	if ((void *)(h + 1) > c->end)
		return -1;
	if (*h >> 4 == 4)
		return ETH_P_IP;
	return *h >> 4 == 6 ? ETH_P_IPV6 : 0;
}

/* Teredo after the UDP header (as user/decode.c): an authentication header (tag 1, its
 * lengths) before an origin indication (tag 0, 8 bytes), then IPv6. The inner packet's length
 * checks are userspace's. */
static __always_inline int mail_parse_teredo(struct cursor *c)
{
	__u8 *h = c->pos;
	__u32 len;

	if ((void *)(h + 4) > c->end)
		return -1;
	if (h[0] == 0 && h[1] == 1) {
		len = 13 + (__u32)h[2] + h[3];
		if (c->pos + len > c->end)
			return -1;
		c->pos += len;
		h = c->pos;
		if ((void *)(h + 2) > c->end)
			return -1;
	}
	if (h[0] == 0 && h[1] == 0) {
		if ((void *)(h + 8) > c->end)
			return -1;
		c->pos = h + 8;
	}
	return mail_ip_version(c) == ETH_P_IPV6 ? ETH_P_IPV6 : 0;
}

/* AYIYA after the UDP header: 8 bytes, identity and signature of the lengths their nibbles
 * give, opcode 1 (forward) with next header 4 or 41; the IP version its own. */
static __always_inline int mail_parse_ayiya(struct cursor *c)
{
	__u8 *h = c->pos;
	__u32 len;

	if ((void *)(h + 8) > c->end)
		return -1;
	if ((h[2] & 0x0f) != 1 || (h[3] != IPPROTO_IPIP && h[3] != IPPROTO_IPV6))
		return 0;
	len = 8 + (__u32)(__u8)(1u << (h[0] >> 4)) + (__u32)(h[1] >> 4) * 4;
	if (c->pos + len > c->end)
		return -1;
	c->pos += len;
	return mail_ip_version(c);
}

/* GTPv1 after the UDP header: version 1, protocol type GTP, message type 255 (G-PDU); 4 more
 * bytes with any of the E, S, PN flags, then with E up to MAIL_MAX_GTP_EXT extension
 * headers (a length in 4-byte units, the next type last: 0 ends them); the IP version its
 * own. More extension headers, or one of length 0: not followed (as userspace). */
static __always_inline int mail_parse_gtpv1(struct cursor *c)
{
	__u8 *h = c->pos, *nt;
	__u32 len;
	int i;

	if ((void *)(h + 12) > c->end)
		return -1; /* no room for an inner packet either */
	if (h[0] >> 5 != 1 || !(h[0] & 0x10) || h[1] != 0xff)
		return 0;
	c->pos = h + (h[0] & 0x07 ? 12 : 8);
	if (!(h[0] & 0x04))
		return mail_ip_version(c);
#pragma unroll
	for (i = 0; i < MAIL_MAX_GTP_EXT; i++) {
		h = c->pos;
		if ((void *)(h + 1) > c->end)
			return -1;
		len = (__u32)h[0] * 4;
		if (!len)
			return 0;
		if (c->pos + len > c->end)
			return -1;
		c->pos += len;
		nt = (__u8 *)c->pos - 1;
		if ((void *)nt < c->base || (void *)(nt + 1) > c->end)
			return -1;
		if (*nt == 0)
			return mail_ip_version(c);
	}
	return 0;
}

/* The tunnel header at the cursor (after the outer IP header: inner is MAIL_V_INNER_UDP or
 * MAIL_V_INNER_GRE). Returns 1 when an Ethernet frame follows, ETH_P_IP or
 * ETH_P_IPV6 when an IP packet follows (GRE, Geneve, Teredo, AYIYA, GTPv1), 0 when this is no
 * tunnel of ours (another UDP port, a GRE version or payload we do not read), -1 when cut
 * off. */
static __always_inline int mail_parse_tunnel(struct cursor *c, __u32 inner)
{
	__u8 *h = c->pos;
	__u16 flags, proto;
	__u32 len;

	if (inner == MAIL_V_INNER_UDP) {
		struct udphdr *uh = c->pos;
		__be16 port;
		int kind;

		if ((void *)(uh + 1) > c->end)
			return -1;
		c->pos = uh + 1;
		kind = mail_udp_port_tunnel(bpf_ntohs(uh->dest));
		if (!kind) {
			/* the responder's port: the destination's if it is a tunnel's */
			port = mail_udp_ip_tunnel_port(uh->dest) ? uh->dest : uh->source;
			if (port == bpf_htons(MAIL_TEREDO_PORT))
				return mail_parse_teredo(c);
			if (port == bpf_htons(MAIL_AYIYA_PORT))
				return mail_parse_ayiya(c);
			if (port == bpf_htons(MAIL_GTPV1_U_PORT) ||
			    port == bpf_htons(MAIL_GTPV1_C_PORT))
				return mail_parse_gtpv1(c);
			return 0;
		}
		h = c->pos;
		if ((void *)(h + 8) > c->end)
			return -1;
		if (kind == MAIL_TUN_VXLAN) {
			if (!(h[0] & 0x08)) /* no I flag: not VXLAN to Zeek */
				return 0;
			c->pos = h + 8; /* flags (I), reserved, VNI, reserved */
			return 1;
		}
		if (h[0] >> 6 != 0) /* Geneve version 0 only */
			return 0;
		len = 8 + (__u32)(h[0] & 0x3f) * 4; /* options in 4-byte words */
		proto = (__u16)(h[2] << 8 | h[3]);
		if (c->pos + len > c->end)
			return -1;
		c->pos += len;
		if (proto == MAIL_ETH_P_TEB)
			return 1;
		return proto == ETH_P_IP || proto == ETH_P_IPV6 ? proto : 0;
	}
	if ((void *)(h + 4) > c->end)
		return -1;
	flags = (__u16)(h[0] << 8 | h[1]);
	proto = (__u16)(h[2] << 8 | h[3]);
	if (flags & (MAIL_GRE_ROUTING | MAIL_GRE_RESERVED) || (flags & MAIL_GRE_VERSION) > 1)
		return 0; /* source routing, reserved flags, versions above 1 (as Zeek) */
	len = 4 + (flags & MAIL_GRE_CSUM ? 4 : 0) + (flags & MAIL_GRE_KEY ? 4 : 0) +
	      (flags & MAIL_GRE_SEQ ? 4 : 0) + (flags & MAIL_GRE_ACK ? 4 : 0);
	if (flags & MAIL_GRE_VERSION) {
		/* version 1, PPTP: PPP (address, control, protocol), IPv4 or IPv6 */
		if (proto != MAIL_GRE_PPTP)
			return 0;
		if (c->pos + len > c->end)
			return -1;
		c->pos += len;
		h = c->pos;
		if ((void *)(h + 4) > c->end)
			return -1;
		c->pos = h + 4;
		if (h[2] == 0 && h[3] == (MAIL_PPP_IPV4 & 0xff))
			return ETH_P_IP;
		return h[2] == 0 && h[3] == MAIL_PPP_IPV6 ? ETH_P_IPV6 : 0;
	}
	if (proto == MAIL_ETH_P_ERSPAN && (flags & MAIL_GRE_SEQ))
		len += 8; /* type II header; type I has none */
	if (c->pos + len > c->end)
		return -1;
	c->pos += len;
	if (proto == MAIL_ETH_P_ERSPAN3) {
		h = c->pos;
		if ((void *)(h + 12) > c->end)
			return -1;
		len = 12 + (h[11] & 1 ? 8 : 0); /* O: a platform-specific subheader follows */
		if (c->pos + len > c->end)
			return -1;
		c->pos += len;
		return 1;
	}
	if (proto == MAIL_ETH_P_TEB || proto == MAIL_ETH_P_ERSPAN)
		return 1;
	return proto == ETH_P_IP || proto == ETH_P_IPV6 ? proto : 0;
}

/* After the VLAN tags, an MPLS stack or a PPPoE header: the EtherType of what follows
 * (ETH_P_IP, ETH_P_IPV6), 1 for an Ethernet pseudowire (with pw), or 0 for anything else, -1
 * if cut off; *fl gets MAIL_R_MPLS or MAIL_R_PPPOE. */
static __always_inline int mail_parse_shim(struct cursor *c, int proto, __u32 *fl, int pw)
{
	if (proto == ETH_P_MPLS_UC || proto == ETH_P_MPLS_MC) {
		*fl |= MAIL_R_MPLS;
		return mail_parse_mpls(c, pw);
	}
	if (proto == ETH_P_PPP_SES) {
		*fl |= MAIL_R_PPPOE;
		return mail_parse_pppoe(c);
	}
	return 0;
}

/* The verdict for a frame (MAIL_R_VERDICT) with the MAIL_R_* flags: one value, so the
 * compiler keeps one register live across the port lookups instead of spilling three. With
 * tunnels (a constant), a UDP or GRE payload that may be a tunnel comes back as
 * MAIL_V_INNER_UDP or MAIL_V_INNER_GRE with the cursor on it, for mail_classify_tunnel. */
static __always_inline __u32 mail_classify(struct cursor *c, int tunnels)
{
	__u32 fl = 0;
	int proto = mail_parse_eth(c, &fl);

	if (proto < 0)
		return MAIL_V_PARSE_ERR | fl;
	/* IP right after the link header, the common case, costs no test more */
	if (proto != ETH_P_IP && proto != ETH_P_IPV6) {
		proto = mail_parse_shim(c, proto, &fl, tunnels);
		if (proto <= 0)
			return (proto < 0 ? MAIL_V_PARSE_ERR : MAIL_V_NON_IP) | fl;
		if (proto == 1) /* an Ethernet pseudowire: mail_classify_tunnel, kind PW */
			return MAIL_V_INNER_PW | fl;
	}
	if (proto == ETH_P_IP)
		return mail_parse_ipv4(c, tunnels) | MAIL_R_IPV4 | fl;
	return mail_parse_ipv6(c, tunnels) | MAIL_R_IPV6 | fl;
}

/* The verdict of the packet inside a tunnel whose header is at the cursor (kind:
 * MAIL_V_INNER_UDP, MAIL_V_INNER_GRE from mail_classify; MAIL_V_INNER_IP4 or MAIL_V_INNER_IP6:
 * the inner IP header itself): VXLAN, Geneve or GRE around Ethernet (VLAN tags, no further
 * shim) or IP, IP in IP, parsed as above; with MAIL_R_TUNNEL when there was one. Something
 * else in UDP or GRE is MAIL_V_NON_TCP. With deeper (a constant: the first level of tunnel,
 * MAIL_MAX_TUNNEL_DEPTH 2) a tunnel inside the tunnel (UDP to a tunnel port, GRE, IP in IP) or
 * a fragment of a datagram that may be one come back as for the outer packet
 * (MAIL_V_INNER_*, MAIL_V_MATCH | MAIL_R_FRAG), the cursor on the inner tunnel's header, for a
 * second call without deeper, which follows no tunnel. Kind MAIL_V_INNER_PW: the Ethernet
 * frame of an MPLS pseudowire at the cursor, parsed the same way, but it is no tunnel: its
 * VLAN flag and IP version count as an outer packet's, and no tunnel is followed in it. The
 * including program calls it from functions of its own (verified once each, apart from the
 * outer parse: the two together are more paths than the verifier takes). */
#define MAIL_MAX_TUNNEL_DEPTH 2
static __always_inline __u32 mail_classify_tunnel(struct cursor *c, __u32 kind, int deeper)
{
	__u32 ifl = 0, fl;
	int pw = kind == MAIL_V_INNER_PW, proto = 1;

	if (kind == MAIL_V_INNER_IP4 || kind == MAIL_V_INNER_IP6) {
		proto = kind == MAIL_V_INNER_IP4 ? ETH_P_IP : ETH_P_IPV6;
	} else if (!pw) {
		proto = mail_parse_tunnel(c, kind);
		if (proto < 0)
			return MAIL_V_PARSE_ERR;
		if (proto == 0)
			return MAIL_V_NON_TCP;
	}
	if (proto == 1)
		proto = mail_parse_eth(c, &ifl);
	fl = pw ? ifl : MAIL_R_TUNNEL; /* a pseudowire's frame: its VLAN tags count */
	if (proto < 0)
		return MAIL_V_PARSE_ERR | fl;
	/* a tunnel's packet with deeper: its own tunnels (a constant, for the verifier) */
	if (deeper && !pw) {
		if (proto == ETH_P_IP)
			return mail_parse_ipv4(c, 1) | fl;
		if (proto == ETH_P_IPV6)
			return mail_parse_ipv6(c, 1) | fl;
		return MAIL_V_NON_IP | fl;
	}
	if (proto == ETH_P_IP)
		return mail_parse_ipv4(c, 0) | fl | (pw ? MAIL_R_IPV4 : 0);
	if (proto == ETH_P_IPV6)
		return mail_parse_ipv6(c, 0) | fl | (pw ? MAIL_R_IPV6 : 0);
	return MAIL_V_NON_IP | fl;
}

#endif
