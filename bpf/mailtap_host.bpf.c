// SPDX-License-Identifier: (GPL-2.0-only OR BSD-3-Clause)
/*
 * mailtap host mode: for the mail server's own host (or its pod), where the AF_XDP
 * redirect of the mirror program would take the server's packets away. Two programs
 * share one parser and one ring buffer:
 *   mailtap_host_xdp  XDP on the interface's ingress
 *   mailtap_host_tc   TC clsact egress on the same interface
 * A TCP packet with its source or destination port in the port set (mth_ports, the same
 * 65536-bit layout as mailtap_ports), or any TCP fragment, is COPIED, up to snaplen
 * bytes, into the ring buffer mth_events as struct mailtap_host_rec + frame bytes.
 * Every packet then continues unchanged, always: XDP_PASS, and on egress TC_ACT_UNSPEC,
 * which lets the next tc filter run and, when there is none, sends the packet as usual
 * (TC_ACT_OK would end the filter chain and skip other tools' filters).
 *
 * Parsing: bpf/mail_parse.h, as the mirror program (without tunnels): Ethernet, up to 8 VLAN
 * tags and E-tags, MPLS or PPPoE, IPv4 (options) / IPv6 (up to MAILTAP_HOST_MAX_IPV6_EXT
 * extension headers), TCP; bounds-checked cursor.
 * TC: when the first TC_PULL_LEN bytes are not all in the skb's linear part,
 * bpf_skb_pull_data makes them so (the bytes do not change); headers past the linear part
 * are a parse error.
 * Copy: the record is built in a per-CPU, per-hook slot of mth_scratch (a ring buffer
 * reservation must have a constant size; bpf_ringbuf_output takes a bounded length), so
 * a record takes only header + cap_len bytes of the ring.
 * Timestamps: CLOCK_TAI (bpf_ktime_get_tai_ns) when the loader says the kernel has it
 * (use_tai), else CLOCK_BOOTTIME; userspace converts to CLOCK_REALTIME.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/pkt_cls.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "mailtap_host_abi.h"

/* Bytes TC makes linear before parsing (all headers we read fit). */
#define TC_PULL_LEN 256

/* Set by userspace between open and load. */
const volatile __u32 snaplen = MAILTAP_HOST_SNAP_MAX;
const volatile __u8 use_tai = 0;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, MAILTAP_HOST_RB_DEFAULT);
} mth_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAILTAP_HOST_PORT_WORDS);
	__type(key, __u32);
	__type(value, __u64);
} mth_ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MAILTAP_HOST_STAT__MAX);
	__type(key, __u32);
	__type(value, __u64);
} mth_stats SEC(".maps");

struct scratch {
	struct mailtap_host_rec h;
	__u8 data[MAILTAP_HOST_SNAP_MAX];
};

/* Slot 2 * cpu + dir; userspace sets max_entries to 2 * possible CPUs. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct scratch);
} mth_scratch SEC(".maps");

/* The verdicts of mail_parse.h are mailtap_host_stat class counters. */
#define MAIL_V_MATCH MAILTAP_HOST_STAT_MATCHED
#define MAIL_V_PARSE_ERR MAILTAP_HOST_STAT_PARSE_ERR
#define MAIL_V_NON_IP MAILTAP_HOST_STAT_NON_IP
#define MAIL_V_NON_TCP MAILTAP_HOST_STAT_NON_TCP
#define MAIL_V_OTHER_PORT MAILTAP_HOST_STAT_OTHER_PORT
#define MAIL_MAX_IPV6_EXT MAILTAP_HOST_MAX_IPV6_EXT

static __always_inline void count(__u32 stat)
{
	__u64 *v = bpf_map_lookup_elem(&mth_stats, &stat);

	if (v)
		(*v)++;
}

static __always_inline int mail_port_in_set(__u16 port)
{
	__u32 key = port / 64;
	__u64 *w = bpf_map_lookup_elem(&mth_ports, &key);

	return w && (*w & ((__u64)1 << (port % 64)));
}

#include "mail_parse.h"

/* Counts and returns mail_classify's result: MAIL_R_VERDICT is the class counter (MATCHED,
 * PARSE_ERR, NON_IP, NON_TCP, OTHER_PORT). */
static __always_inline __u32 classify(void *data, void *data_end)
{
	struct cursor c = {.pos = data, .end = data_end, .base = data};
	__u32 r = mail_classify(&c, 0); /* a host's own traffic: no tunnels */

	if (r & MAIL_R_VLAN)
		count(MAILTAP_HOST_STAT_VLAN);
	count(MAIL_R_VERDICT(r));
	return r;
}

/* The scratch slot of this CPU for one hook. */
static __always_inline struct scratch *slot(__u32 dir)
{
	__u32 key = bpf_get_smp_processor_id() * 2 + dir;

	return bpf_map_lookup_elem(&mth_scratch, &key);
}

/*
 * Bytes to copy: min(wire, snaplen, MAILTAP_HOST_SNAP_MAX), at least 1. The barrier hides
 * the range from clang, so the mask stays and the verifier sees 1..MAILTAP_HOST_SNAP_MAX
 * in the register passed to the helper (MAILTAP_HOST_SNAP_MAX is a power of 2).
 */
static __always_inline __u64 cap_of(__u32 wire)
{
	__u64 cap = wire;

	if (cap > snaplen)
		cap = snaplen;
	if (cap > MAILTAP_HOST_SNAP_MAX)
		cap = MAILTAP_HOST_SNAP_MAX;
	if (cap < 1)
		cap = 1;
	asm volatile("" : "+r"(cap));
	return ((cap - 1) & (MAILTAP_HOST_SNAP_MAX - 1)) + 1;
}

static __always_inline void fill_hdr(struct scratch *s, __u32 ifindex, __u32 wire, __u64 cap,
				     __u8 dir, int frag)
{
	s->h.ts_ns = use_tai ? bpf_ktime_get_tai_ns() : bpf_ktime_get_boot_ns();
	s->h.ifindex = ifindex;
	s->h.wire_len = wire;
	s->h.cap_len = cap;
	s->h.dir = dir;
	s->h.flags = (use_tai ? MAILTAP_HOST_F_TAI : 0) | (frag ? MAILTAP_HOST_F_FRAG : 0);
	s->h.pad = 0;
}

static __always_inline void submit(struct scratch *s, __u64 cap, __u32 wire)
{
	if (bpf_ringbuf_output(&mth_events, s, sizeof(s->h) + cap, 0)) {
		count(MAILTAP_HOST_STAT_RB_FULL);
		return;
	}
	count(MAILTAP_HOST_STAT_COPIED);
	if (cap < wire)
		count(MAILTAP_HOST_STAT_TRUNCATED);
}

SEC("xdp")
int mailtap_host_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct scratch *s;
	__u32 wire;
	__u64 cap;
	__u32 r, frag;

	count(MAILTAP_HOST_STAT_SEEN);
	count(MAILTAP_HOST_STAT_INGRESS);
	r = classify(data, data_end);
	if (MAIL_R_VERDICT(r) != MAILTAP_HOST_STAT_MATCHED)
		return XDP_PASS;
	frag = r & MAIL_R_FRAG;
	if (frag)
		count(MAILTAP_HOST_STAT_FRAG);
	wire = bpf_xdp_get_buff_len(ctx);
	cap = cap_of(wire);
	s = slot(MAILTAP_HOST_DIR_INGRESS);
	if (!s || bpf_xdp_load_bytes(ctx, 0, s->data, cap)) {
		count(MAILTAP_HOST_STAT_LOAD_ERR);
		return XDP_PASS;
	}
	fill_hdr(s, ctx->ingress_ifindex, wire, cap, MAILTAP_HOST_DIR_INGRESS, frag);
	submit(s, cap, wire);
	return XDP_PASS;
}

SEC("tc")
int mailtap_host_tc(struct __sk_buff *skb)
{
	struct scratch *s;
	__u32 wire = skb->len, want;
	__u64 cap;
	__u32 r, frag;

	count(MAILTAP_HOST_STAT_SEEN);
	count(MAILTAP_HOST_STAT_EGRESS);
	want = wire < TC_PULL_LEN ? wire : TC_PULL_LEN;
	if (skb->data_end - skb->data < want)
		bpf_skb_pull_data(skb, want);
	r = classify((void *)(long)skb->data, (void *)(long)skb->data_end);
	if (MAIL_R_VERDICT(r) != MAILTAP_HOST_STAT_MATCHED)
		return TC_ACT_UNSPEC;
	frag = r & MAIL_R_FRAG;
	if (frag)
		count(MAILTAP_HOST_STAT_FRAG);
	cap = cap_of(wire);
	s = slot(MAILTAP_HOST_DIR_EGRESS);
	if (!s || bpf_skb_load_bytes(skb, 0, s->data, cap)) {
		count(MAILTAP_HOST_STAT_LOAD_ERR);
		return TC_ACT_UNSPEC;
	}
	fill_hdr(s, skb->ifindex, wire, cap, MAILTAP_HOST_DIR_EGRESS, frag);
	submit(s, cap, wire);
	return TC_ACT_UNSPEC;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
