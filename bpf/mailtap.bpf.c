// SPDX-License-Identifier: (GPL-2.0-only OR BSD-3-Clause)
/*
 * mailtap's XDP port filter. Parses Ethernet, up to two VLAN tags (802.1Q/802.1ad),
 * IPv4 (with options) or IPv6 (with extension headers) and TCP, with a bounds-checked
 * cursor. A TCP packet whose source or destination port is in the port set
 * (mailtap_ports) goes to the AF_XDP socket of its receive queue:
 * bpf_redirect_map(&xsks_map, rx_queue_index, XDP_PASS), which falls back to XDP_PASS
 * when no socket is bound to that queue. Everything else gets XDP_PASS. Never XDP_DROP:
 * on a mirror port the kernel stack is the one to discard what we do not want.
 *
 * Fragments: a non-first fragment carries no ports, and a first fragment may be too
 * short to hold them. Rule: every fragment of a TCP datagram (IPv4: protocol TCP and
 * MF set or offset != 0; IPv6: a Fragment header, not atomic, whose next header is TCP
 * or an extension header that can precede TCP (Routing, Destination Options, AH)) is
 * steered to userspace whatever its ports, so userspace can reassemble the datagram and
 * filter by port afterwards. TCP fragments are rare; the cost is small.
 *
 * Timestamp: each steered packet gets a struct mailtap_meta (bpf_ktime_get_ns,
 * CLOCK_MONOTONIC) in the XDP metadata area in front of the frame; AF_XDP copies it
 * into the UMEM in copy and zero-copy mode. If the driver has no metadata support
 * (bpf_xdp_adjust_meta fails) meta_err counts it and userspace stamps at receive.
 *
 * Counters: per-CPU, enum mailtap_stat (include/mailtap_abi.h) with its invariants.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "mailtap_abi.h"

#ifndef ETH_P_8021AD
#define ETH_P_8021AD 0x88A8
#endif
#define IP_MF 0x2000
#define IP_OFFSET 0x1fff
#define IP6_OFFSET 0xfff8
#define IP6_MF 0x0001

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, MAILTAP_MAX_QUEUES);
	__type(key, __u32);
	__type(value, __u32);
} xsks_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAILTAP_PORT_WORDS);
	__type(key, __u32);
	__type(value, __u64);
} mailtap_ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MAILTAP_STAT__MAX);
	__type(key, __u32);
	__type(value, struct mailtap_stat_val);
} mailtap_stats SEC(".maps");

struct vlan_hdr {
	__be16 tci;
	__be16 encap_proto;
};

/* IPv6 Fragment header (RFC 8200 4.5); the UAPI headers do not export it. */
struct ip6_frag_hdr {
	__u8 nexthdr;
	__u8 reserved;
	__be16 frag_off; /* offset << 3 | M flag */
	__be32 identification;
};

struct cursor {
	void *pos;
	void *end;
};

/* What the parse found; each value is one mailtap_stat class counter. */
enum verdict {
	V_MATCH = MAILTAP_STAT_MATCHED,
	V_PARSE_ERR = MAILTAP_STAT_PARSE_ERR,
	V_NON_IP = MAILTAP_STAT_NON_IP,
	V_NON_TCP = MAILTAP_STAT_NON_TCP,
	V_OTHER_PORT = MAILTAP_STAT_OTHER_PORT,
};

static __always_inline void count(__u32 stat, __u64 bytes)
{
	struct mailtap_stat_val *v = bpf_map_lookup_elem(&mailtap_stats, &stat);

	if (v) {
		v->packets++;
		v->bytes += bytes;
	}
}

static __always_inline int port_in_set(__u16 port)
{
	__u32 key = MAILTAP_PORT_WORD(port);
	__u64 *w = bpf_map_lookup_elem(&mailtap_ports, &key);

	return w && (*w & MAILTAP_PORT_BIT(port));
}

/* Returns the EtherType after the Ethernet header and up to two VLAN tags, or -1. */
static __always_inline int parse_eth(struct cursor *c, int *vlans)
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
		if (proto != bpf_htons(ETH_P_8021Q) && proto != bpf_htons(ETH_P_8021AD))
			break;
		vh = c->pos;
		if ((void *)(vh + 1) > c->end)
			return -1;
		c->pos = vh + 1;
		proto = vh->encap_proto;
		(*vlans)++;
	}
	return bpf_ntohs(proto);
}

static __always_inline enum verdict parse_tcp(struct cursor *c)
{
	struct tcphdr *th = c->pos;

	if ((void *)(th + 1) > c->end)
		return V_PARSE_ERR;
	if (th->doff < 5)
		return V_PARSE_ERR;
	if (port_in_set(bpf_ntohs(th->dest)) || port_in_set(bpf_ntohs(th->source)))
		return V_MATCH;
	return V_OTHER_PORT;
}

static __always_inline enum verdict parse_ipv4(struct cursor *c, int *frag)
{
	struct iphdr *iph = c->pos;
	__u32 hlen;

	if ((void *)(iph + 1) > c->end)
		return V_PARSE_ERR;
	if (iph->version != 4 || iph->ihl < 5)
		return V_PARSE_ERR;
	hlen = iph->ihl * 4;
	if (c->pos + hlen > c->end)
		return V_PARSE_ERR;
	c->pos += hlen;
	if (iph->protocol != IPPROTO_TCP)
		return V_NON_TCP;
	if (iph->frag_off & bpf_htons(IP_MF | IP_OFFSET)) {
		*frag = 1;
		return V_MATCH;
	}
	return parse_tcp(c);
}

static __always_inline int ipv6_tcp_capable(__u8 nh)
{
	return nh == IPPROTO_TCP || nh == IPPROTO_ROUTING || nh == IPPROTO_DSTOPTS ||
	       nh == IPPROTO_AH;
}

static __always_inline enum verdict parse_ipv6(struct cursor *c, int *frag)
{
	struct ipv6hdr *ip6 = c->pos;
	struct ipv6_opt_hdr *oh;
	struct ip6_frag_hdr *fh;
	__u32 len;
	__u8 nh;
	int i;

	if ((void *)(ip6 + 1) > c->end)
		return V_PARSE_ERR;
	if (ip6->version != 6)
		return V_PARSE_ERR;
	c->pos = ip6 + 1;
	nh = ip6->nexthdr;
	for (i = 0; i < MAILTAP_MAX_IPV6_EXT; i++) {
		switch (nh) {
		case IPPROTO_TCP:
			return parse_tcp(c);
		case IPPROTO_HOPOPTS:
		case IPPROTO_ROUTING:
		case IPPROTO_DSTOPTS:
		case IPPROTO_AH:
			oh = c->pos;
			if ((void *)(oh + 1) > c->end)
				return V_PARSE_ERR;
			if (nh == IPPROTO_AH)
				len = ((__u32)oh->hdrlen + 2) * 4;
			else
				len = ((__u32)oh->hdrlen + 1) * 8;
			if (c->pos + len > c->end)
				return V_PARSE_ERR;
			c->pos += len;
			nh = oh->nexthdr;
			break;
		case IPPROTO_FRAGMENT:
			fh = c->pos;
			if ((void *)(fh + 1) > c->end)
				return V_PARSE_ERR;
			c->pos = fh + 1;
			nh = fh->nexthdr;
			/* An atomic fragment (offset 0, no M flag) is a whole packet. */
			if (fh->frag_off & bpf_htons(IP6_OFFSET | IP6_MF)) {
				if (!ipv6_tcp_capable(nh))
					return V_NON_TCP;
				*frag = 1;
				return V_MATCH;
			}
			break;
		default:
			return V_NON_TCP;
		}
	}
	return V_PARSE_ERR; /* more than MAILTAP_MAX_IPV6_EXT extension headers */
}

static __always_inline enum verdict classify(struct cursor *c, int *frag, int *vlans, int *ipver)
{
	int proto = parse_eth(c, vlans);

	if (proto < 0)
		return V_PARSE_ERR;
	if (proto == ETH_P_IP) {
		*ipver = 4;
		return parse_ipv4(c, frag);
	}
	if (proto == ETH_P_IPV6) {
		*ipver = 6;
		return parse_ipv6(c, frag);
	}
	return V_NON_IP;
}

SEC("xdp")
int mailtap_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct cursor c = {.pos = data, .end = data_end};
	__u64 bytes = data_end - data;
	int frag = 0, vlans = 0, ipver = 0;
	struct mailtap_meta *meta;
	enum verdict v;
	long ret;

	count(MAILTAP_STAT_SEEN, bytes);
	v = classify(&c, &frag, &vlans, &ipver);
	count(v, bytes);
	if (vlans)
		count(MAILTAP_STAT_VLAN, bytes);
	if (ipver == 4)
		count(MAILTAP_STAT_IPV4, bytes);
	else if (ipver == 6)
		count(MAILTAP_STAT_IPV6, bytes);
	if (v != V_MATCH) {
		count(MAILTAP_STAT_PASSED, bytes);
		return XDP_PASS;
	}
	if (frag)
		count(MAILTAP_STAT_FRAG, bytes);

	if (bpf_xdp_adjust_meta(ctx, -(int)sizeof(*meta)) == 0) {
		meta = (void *)(long)ctx->data_meta;
		data = (void *)(long)ctx->data;
		if ((void *)(meta + 1) <= data) {
			meta->ts_ns = bpf_ktime_get_ns();
			meta->flags = frag ? MAILTAP_META_F_FRAG : 0;
			meta->magic = MAILTAP_META_MAGIC;
			count(MAILTAP_STAT_META, bytes);
		} else {
			count(MAILTAP_STAT_META_ERR, bytes);
		}
	} else {
		count(MAILTAP_STAT_META_ERR, bytes);
	}

	ret = bpf_redirect_map(&xsks_map, ctx->rx_queue_index, XDP_PASS);
	if (ret == XDP_REDIRECT) {
		count(MAILTAP_STAT_REDIRECTED, bytes);
	} else {
		count(MAILTAP_STAT_NO_XSK, bytes);
		count(MAILTAP_STAT_PASSED, bytes);
	}
	return ret;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
