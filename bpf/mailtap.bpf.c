// SPDX-License-Identifier: (GPL-2.0-only OR BSD-3-Clause)
/*
 * mailtap's XDP port filter. Parses Ethernet, up to 8 VLAN tags (802.1Q/802.1ad/0x9100) and
 * 802.1BR E-tags, MPLS or PPPoE, IPv4 (with options) or IPv6 (with up to MAILTAP_MAX_IPV6_EXT
 * extension headers), up to two levels of tunnel (VXLAN and Geneve on the ports of
 * mailtap_tunnel_ports), and TCP, with a bounds-checked cursor
 * (bpf/mail_parse.h). A TCP packet whose source or destination port is in the port set
 * (mailtap_ports) goes to the AF_XDP socket of its receive queue:
 * bpf_redirect_map(&xsks_map, rx_queue_index, XDP_PASS), which falls back to XDP_PASS
 * when no socket is bound to that queue. Everything else gets XDP_PASS. Never XDP_DROP:
 * on a mirror port the kernel stack is the one to discard what we do not want.
 *
 * Fragments: a non-first fragment carries no ports, and a first fragment may be too
 * short to hold them. Rule: every fragment of a TCP datagram (IPv4: protocol TCP and
 * MF set or offset != 0; IPv6: a Fragment header, not atomic, whose next header is TCP
 * or an extension header that can precede TCP (Hop-by-Hop, Routing, Destination Options,
 * AH)) is steered to userspace whatever its ports, so userspace can reassemble the datagram
 * and filter by port afterwards. TCP fragments are rare; the cost is small. Fragments of UDP
 * and GRE datagrams (outside a tunnel) are steered too: they may be a fragmented tunnel
 * packet, whose inner ports only the reassembled datagram shows.
 *
 * Timestamp: each steered packet gets a struct mailtap_meta (bpf_ktime_get_ns,
 * CLOCK_MONOTONIC) in the XDP metadata area in front of the frame; AF_XDP copies it
 * into the UMEM in copy and zero-copy mode. If the driver has no metadata support
 * (bpf_xdp_adjust_meta fails) meta_err counts it and userspace stamps at receive.
 *
 * Counters: one per-CPU struct mailtap_stats (include/mailtap_abi.h), looked up once per
 * packet, indexed by enum mailtap_stat, with its invariants.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "mailtap_abi.h"

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
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mailtap_stats);
} mailtap_stats SEC(".maps");

/* The UDP ports of VXLAN and Geneve (mailtap_abi.h): alone in their section, which libbpf
 * makes a one-entry ARRAY map of its own, initialised with Zeek's defaults. mailtap sets it
 * between open and load; an operator who loads the object with bpftool writes it through its
 * pin (docs/capture.md). A global, not a map looked up: its address is a constant, and only
 * outer UDP datagrams read it (the defaults: four loads; TCP not one instruction more). */
struct mailtap_tunnel_ports
    mailtap_tunnel_ports SEC(MAILTAP_TUNNEL_PORTS_SEC) = MAILTAP_TUNNEL_PORTS_DEFAULT;
#define MAIL_TUNNEL_PORTS mailtap_tunnel_ports

/* The verdicts of mail_parse.h are mailtap_stat class counters. */
#define MAIL_V_MATCH MAILTAP_STAT_MATCHED
#define MAIL_V_PARSE_ERR MAILTAP_STAT_PARSE_ERR
#define MAIL_V_NON_IP MAILTAP_STAT_NON_IP
#define MAIL_V_NON_TCP MAILTAP_STAT_NON_TCP
#define MAIL_V_OTHER_PORT MAILTAP_STAT_OTHER_PORT
#define MAIL_MAX_IPV6_EXT MAILTAP_MAX_IPV6_EXT

/* One map lookup per packet: all counters of this CPU sit in one value. */
static __always_inline void count(struct mailtap_stats *s, __u32 stat, __u64 bytes)
{
	if (stat < MAILTAP_STAT__MAX) {
		s->c[stat].packets++;
		s->c[stat].bytes += bytes;
	}
}

static __always_inline int mail_port_in_set(__u16 port)
{
	__u32 key = MAILTAP_PORT_WORD(port);
	__u64 *w = bpf_map_lookup_elem(&mailtap_ports, &key);

	return w && (*w & MAILTAP_PORT_BIT(port));
}

#include "mail_parse.h"

_Static_assert(MAIL_MAX_GTP_EXT == MAILTAP_MAX_GTP_EXT && MAIL_TEREDO_PORT == MAILTAP_TEREDO_PORT &&
		   MAIL_AYIYA_PORT == MAILTAP_AYIYA_PORT &&
		   MAIL_GTPV1_U_PORT == MAILTAP_GTPV1_U_PORT &&
		   MAIL_GTPV1_C_PORT == MAILTAP_GTPV1_C_PORT,
	       "the parser follows the UDP tunnels as user/decode.c");

/* Largest offset of a tunnel header in a frame: far beyond any real stack of headers. */
#define MAIL_MAX_TUNNEL_OFF 1024

_Static_assert(MAIL_MAX_TUNNEL_DEPTH == 2 && MAIL_MAX_TUNNEL_DEPTH == MAILTAP_MAX_TUNNEL_DEPTH,
	       "one global function a level of tunnel: mailtap_classify_tunnel, _tunnel2");

/* The packet inside the second tunnel, whose header starts at off: the same parse, no third
 * tunnel followed (MAIL_V_NON_TCP, as user/decode.c drops it: DECODE_TUNNEL_DEPTH). A second
 * global function (BPF has no recursion), verified once on its own. */
__attribute__((noinline)) int mailtap_classify_tunnel2(struct xdp_md *ctx, __u32 off, __u32 kind)
{
	void *data = (void *)(long)ctx->data;
	struct cursor c = {.pos = data, .end = (void *)(long)ctx->data_end, .base = data};

	if (off > MAIL_MAX_TUNNEL_OFF)
		return MAIL_V_PARSE_ERR;
	c.pos = data + off;
	return (int)mail_classify_tunnel(&c, kind, 0);
}

/* The packet inside a tunnel whose header starts at off: a function of its own (a global
 * BPF function, verified once with off unknown), not inlined into the outer parse, whose
 * MPLS and IPv6 paths times the inner ones are more than the verifier takes. A tunnel inside
 * it (Zeek's Tunnel::max_depth 2) is parsed by mailtap_classify_tunnel2, called from here so
 * that the outer program is the one-level program: the packets outside a tunnel run the same
 * instructions. */
__attribute__((noinline)) int mailtap_classify_tunnel(struct xdp_md *ctx, __u32 off, __u32 kind)
{
	void *data = (void *)(long)ctx->data;
	struct cursor c = {.pos = data, .end = (void *)(long)ctx->data_end, .base = data};
	__u32 r;

	if (off > MAIL_MAX_TUNNEL_OFF)
		return MAIL_V_PARSE_ERR;
	c.pos = data + off;
	r = mail_classify_tunnel(&c, kind, 1);
	if (MAIL_R_VERDICT(r) >= MAIL_V_INNER_FIRST) /* a tunnel in the tunnel */
		r = (r & ~0xffu) |
		    (__u32)mailtap_classify_tunnel2(ctx, (__u32)(c.pos - data), MAIL_R_VERDICT(r));
	return (int)r;
}

SEC("xdp")
int mailtap_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct cursor c = {.pos = data, .end = data_end, .base = data};
	__u64 bytes = data_end - data;
	struct mailtap_meta *meta;
	struct mailtap_stats *s;
	__u32 r, v, zero = 0;
	long ret;

	/* classified first: with s and the flags not yet live, nothing is spilled around the
	 * port lookups (non-mail TCP 39 -> 34 ns/packet, 1.36x -> 1.22x an empty program) */
	r = mail_classify(&c, 1);
	v = MAIL_R_VERDICT(r);
	if (v >= MAIL_V_INNER_FIRST) { /* UDP or GRE: maybe a tunnel; IP in IP; a pseudowire */
		r = (r & ~0xffu) | (__u32)mailtap_classify_tunnel(ctx, (__u32)(c.pos - data), v);
		v = MAIL_R_VERDICT(r);
	}
	s = bpf_map_lookup_elem(&mailtap_stats, &zero);
	if (!s)
		return XDP_PASS; /* cannot happen: a one-entry array always has key 0 */
	count(s, MAILTAP_STAT_SEEN, bytes);
	count(s, v, bytes);
	if (r & MAIL_R_VLAN)
		count(s, MAILTAP_STAT_VLAN, bytes);
	if (r & (MAIL_R_MPLS | MAIL_R_PPPOE | MAIL_R_TUNNEL)) { /* one test on the common path */
		if (r & MAIL_R_MPLS)
			count(s, MAILTAP_STAT_MPLS, bytes);
		else if (r & MAIL_R_PPPOE)
			count(s, MAILTAP_STAT_PPPOE, bytes);
		if (r & MAIL_R_TUNNEL)
			count(s, MAILTAP_STAT_TUNNEL, bytes);
	}
	if (r & MAIL_R_IPV4)
		count(s, MAILTAP_STAT_IPV4, bytes);
	else if (r & MAIL_R_IPV6)
		count(s, MAILTAP_STAT_IPV6, bytes);
	if (v != MAIL_V_MATCH) {
		count(s, MAILTAP_STAT_PASSED, bytes);
		return XDP_PASS;
	}
	if (r & MAIL_R_FRAG)
		count(s, MAILTAP_STAT_FRAG, bytes);

	if (bpf_xdp_adjust_meta(ctx, -(int)sizeof(*meta)) == 0) {
		meta = (void *)(long)ctx->data_meta;
		data = (void *)(long)ctx->data;
		if ((void *)(meta + 1) <= data) {
			meta->ts_ns = bpf_ktime_get_ns();
			meta->flags = r & MAIL_R_FRAG ? MAILTAP_META_F_FRAG : 0;
			meta->magic = MAILTAP_META_MAGIC;
			count(s, MAILTAP_STAT_META, bytes);
		} else {
			count(s, MAILTAP_STAT_META_ERR, bytes);
		}
	} else {
		count(s, MAILTAP_STAT_META_ERR, bytes);
	}

	ret = bpf_redirect_map(&xsks_map, ctx->rx_queue_index, XDP_PASS);
	if (ret == XDP_REDIRECT) {
		count(s, MAILTAP_STAT_REDIRECTED, bytes);
	} else {
		count(s, MAILTAP_STAT_NO_XSK, bytes);
		count(s, MAILTAP_STAT_PASSED, bytes);
	}
	return ret;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
