/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The bounded packet parser both XDP programs share (mailtap.bpf.c: mirror mode,
 * mailtap_host.bpf.c: host mode): Ethernet, up to two VLAN tags (802.1Q/802.1ad/0x9100), an
 * MPLS label stack (up to MAIL_MAX_MPLS_LABELS labels, IPv4 or IPv6 after the bottom one) or
 * a PPPoE session header (PPP IPv4 or IPv6), IPv4 with options, IPv6 with up to
 * MAIL_MAX_IPV6_EXT extension headers, TCP. Every header is checked
 * against the end before it is read. Fragments of TCP-capable datagrams are steered whatever
 * their ports (non-first fragments have none): userspace reassembles them.
 *
 * The including program defines, before including this file:
 *   MAIL_V_MATCH, MAIL_V_PARSE_ERR, MAIL_V_NON_IP, MAIL_V_NON_TCP, MAIL_V_OTHER_PORT
 *     the verdicts, as the program's own counter indices (counted without a mapping);
 *   MAIL_MAX_IPV6_EXT   extension headers followed at most;
 *   static __always_inline int mail_port_in_set(__u16 port)   its port set.
 */
#ifndef MAILTAP_BPF_MAIL_PARSE_H
#define MAILTAP_BPF_MAIL_PARSE_H

#ifndef ETH_P_8021AD
#define ETH_P_8021AD 0x88A8
#endif
#define MAIL_ETH_P_QINQ1 0x9100
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
/* Labels of an MPLS stack followed before giving up (non_ip); user/decode.c has the same. */
#define MAIL_MAX_MPLS_LABELS 8
#define IP_MF 0x2000
#define IP_OFFSET 0x1fff
#define IP6_OFFSET 0xfff8
#define IP6_MF 0x0001

struct vlan_hdr {
	__be16 tci;
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
#define MAIL_R_FRAG 0x100 /* a fragment of a TCP-capable datagram */
#define MAIL_R_VLAN 0x200 /* one or two VLAN tags */
#define MAIL_R_IPV4 0x400 /* EtherType IPv4 */
#define MAIL_R_IPV6 0x800 /* EtherType IPv6 */
#define MAIL_R_MPLS 0x1000  /* an MPLS label stack */
#define MAIL_R_PPPOE 0x2000 /* a PPPoE session header */
_Static_assert(MAIL_V_MATCH < 0x100 && MAIL_V_PARSE_ERR < 0x100 && MAIL_V_NON_IP < 0x100 &&
		   MAIL_V_NON_TCP < 0x100 && MAIL_V_OTHER_PORT < 0x100,
	       "verdicts fit in MAIL_R_VERDICT");

struct cursor {
	void *pos;
	void *end;
};

/* After an MPLS label stack: ETH_P_IP or ETH_P_IPV6 by the IP version of what follows the
 * bottom label, 0 for anything else or a deeper stack, -1 if cut off. */
static __always_inline int mail_parse_mpls(struct cursor *c)
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

/* Returns the EtherType after the Ethernet header and up to two VLAN tags, or -1; *flags gets
 * MAIL_R_VLAN if there was a tag. */
static __always_inline int mail_parse_eth(struct cursor *c, __u32 *flags)
{
	struct ethhdr *eth = c->pos;
	struct vlan_hdr *vh;
	__u16 proto;
	int i;

	if ((void *)(eth + 1) > c->end)
		return -1;
	c->pos = eth + 1;
	proto = eth->h_proto;
#pragma unroll
	for (i = 0; i < 2; i++) {
		if (proto != bpf_htons(ETH_P_8021Q) && proto != bpf_htons(ETH_P_8021AD) &&
		    proto != bpf_htons(MAIL_ETH_P_QINQ1))
			break;
		vh = c->pos;
		if ((void *)(vh + 1) > c->end)
			return -1;
		c->pos = vh + 1;
		proto = vh->encap_proto;
		*flags = MAIL_R_VLAN;
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

static __always_inline __u32 mail_parse_ipv4(struct cursor *c)
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
	if (iph->protocol != IPPROTO_TCP)
		return MAIL_V_NON_TCP;
	if (iph->frag_off & bpf_htons(IP_MF | IP_OFFSET))
		return MAIL_V_MATCH | MAIL_R_FRAG;
	return mail_parse_tcp(c);
}

/* Next headers after which a fragment may carry TCP. */
static __always_inline int mail_ipv6_tcp_capable(__u8 nh)
{
	return nh == IPPROTO_TCP || nh == IPPROTO_ROUTING || nh == IPPROTO_DSTOPTS ||
	       nh == IPPROTO_AH;
}

static __always_inline __u32 mail_parse_ipv6(struct cursor *c)
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
	for (i = 0; i < MAIL_MAX_IPV6_EXT; i++) {
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
				if (!mail_ipv6_tcp_capable(nh))
					return MAIL_V_NON_TCP;
				return MAIL_V_MATCH | MAIL_R_FRAG;
			}
			break;
		default:
			return MAIL_V_NON_TCP;
		}
	}
	return MAIL_V_PARSE_ERR; /* more than MAIL_MAX_IPV6_EXT extension headers */
}

/* The verdict for a frame (MAIL_R_VERDICT) with the MAIL_R_* flags: one value, so the
 * compiler keeps one register live across the port lookups instead of spilling three. */
static __always_inline __u32 mail_classify(struct cursor *c)
{
	__u32 fl = 0;
	int proto = mail_parse_eth(c, &fl);

	if (proto < 0)
		return MAIL_V_PARSE_ERR | fl;
	/* IP right after the link header, the common case, costs no test more */
	if (proto != ETH_P_IP && proto != ETH_P_IPV6) {
		if (proto == ETH_P_MPLS_UC || proto == ETH_P_MPLS_MC) {
			fl |= MAIL_R_MPLS;
			proto = mail_parse_mpls(c);
		} else if (proto == ETH_P_PPP_SES) {
			fl |= MAIL_R_PPPOE;
			proto = mail_parse_pppoe(c);
		} else {
			return MAIL_V_NON_IP | fl;
		}
		if (proto < 0)
			return MAIL_V_PARSE_ERR | fl;
	}
	if (proto == ETH_P_IP)
		return mail_parse_ipv4(c) | MAIL_R_IPV4 | fl;
	if (proto == ETH_P_IPV6)
		return mail_parse_ipv6(c) | MAIL_R_IPV6 | fl;
	return MAIL_V_NON_IP | fl;
}

#endif
