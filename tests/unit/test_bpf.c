// SPDX-License-Identifier: BSD-3-Clause
/*
 * BPF unit tests: runs bpf/mailtap.bpf.o on crafted frames with BPF_PROG_TEST_RUN
 * (bpf_prog_test_run_opts) and checks the return code and every counter of
 * mailtap_stats exactly. The XSKMAP is empty, so a matched packet falls back to
 * XDP_PASS and counts as matched + no_xsk + passed.
 * Needs root (CAP_BPF + CAP_NET_ADMIN) and the object: argv[1], else $BUILD/mailtap.bpf.o,
 * else build/mailtap.bpf.o. Without them every test is skipped (and says why).
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <cmocka.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include "mailtap_abi.h"

static const char *obj_path;
static struct bpf_object *obj;
static int prog_fd = -1, ports_fd = -1, stats_fd = -1;
static const char *skip_reason;
static int ncpus;

/* ---- frame builder ---- */

struct frame {
	uint8_t b[1024];
	size_t n;
	size_t l3;  /* offset of the IP header */
	size_t ipv; /* 4 or 6 */
};

static void put(struct frame *f, const void *p, size_t len)
{
	assert_true(f->n + len <= sizeof(f->b));
	memcpy(f->b + f->n, p, len);
	f->n += len;
}

static void put16(struct frame *f, uint16_t v)
{
	uint16_t be = htons(v);

	put(f, &be, 2);
}

static void eth(struct frame *f, uint16_t type)
{
	/* dst 02:00:00:00:00:02, src 02:00:00:00:00:01 */
	static const uint8_t macs[12] = {2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1};

	f->n = 0;
	put(f, macs, sizeof(macs));
	put16(f, type);
}

/* Replaces the EtherType just written by tpid and appends a tag whose inner type is type. */
static void vlan(struct frame *f, uint16_t tpid, uint16_t vid, uint16_t type)
{
	f->n -= 2;
	put16(f, tpid);
	put16(f, vid);
	put16(f, type);
}

/* IPv4 header with optlen bytes of options (multiple of 4) filled with opt_fill. */
static void ipv4(struct frame *f, uint8_t proto, uint16_t frag_off, size_t optlen, uint8_t opt_fill)
{
	uint8_t h[60] = {0};

	assert_true(optlen % 4 == 0 && optlen <= 40);
	h[0] = 0x40 | (uint8_t)((20 + optlen) / 4);
	h[6] = (uint8_t)(frag_off >> 8);
	h[7] = (uint8_t)frag_off;
	h[8] = 64;
	h[9] = proto;
	memcpy(h + 12, (uint8_t[]){10, 0, 0, 1, 10, 0, 0, 2}, 8);
	memset(h + 20, opt_fill, optlen);
	f->l3 = f->n;
	f->ipv = 4;
	put(f, h, 20 + optlen);
}

static void ipv6(struct frame *f, uint8_t nexthdr)
{
	uint8_t h[40] = {0x60};

	h[6] = nexthdr;
	h[7] = 64;
	h[23] = 1; /* 2001:db8::1 -> 2001:db8::2 */
	h[39] = 2;
	h[8] = 0x20, h[9] = 0x01, h[10] = 0x0d, h[11] = 0xb8;
	h[24] = 0x20, h[25] = 0x01, h[26] = 0x0d, h[27] = 0xb8;
	f->l3 = f->n;
	f->ipv = 6;
	put(f, h, 40);
}

/* Generic IPv6 extension header (Hop-by-Hop, Routing, Destination Options) of 8*(len8+1) bytes. */
static void ip6ext(struct frame *f, uint8_t nexthdr, uint8_t len8)
{
	uint8_t h[16] = {nexthdr, len8};

	assert_true(len8 <= 1);
	put(f, h, 8 * (len8 + 1u));
}

static void ip6frag(struct frame *f, uint8_t nexthdr, uint16_t offset8, int more)
{
	uint8_t h[8] = {nexthdr, 0};
	uint16_t fo = (uint16_t)(offset8 << 3) | (more ? 1 : 0);

	h[2] = (uint8_t)(fo >> 8);
	h[3] = (uint8_t)fo;
	h[7] = 0x2a;
	put(f, h, 8);
}

static void tcp(struct frame *f, uint16_t sport, uint16_t dport, uint8_t doff)
{
	uint8_t h[20] = {0};

	h[0] = (uint8_t)(sport >> 8), h[1] = (uint8_t)sport;
	h[2] = (uint8_t)(dport >> 8), h[3] = (uint8_t)dport;
	h[12] = (uint8_t)(doff << 4);
	h[13] = 0x18; /* PSH ACK */
	put(f, h, 20);
	put(f, "EHLO x\r\n", 8); /* payload "EHLO x\r\n" */
}

static void udp(struct frame *f, uint16_t sport, uint16_t dport)
{
	uint8_t h[8] = {
	    (uint8_t)(sport >> 8), (uint8_t)sport, (uint8_t)(dport >> 8), (uint8_t)dport, 0, 8};

	put(f, h, 8);
}

/* Sets the IP length fields from the frame size (before any truncation). */
static void fix_len(struct frame *f)
{
	size_t l = f->n - f->l3;

	if (f->ipv == 4) {
		f->b[f->l3 + 2] = (uint8_t)(l >> 8);
		f->b[f->l3 + 3] = (uint8_t)l;
	} else if (f->ipv == 6) {
		l -= 40;
		f->b[f->l3 + 4] = (uint8_t)(l >> 8);
		f->b[f->l3 + 5] = (uint8_t)l;
	}
}

/* ---- running and counters ---- */

struct stat_expect {
	int stat;
	uint64_t n;
};

#define END_EXPECT                                                                                 \
	{                                                                                          \
		-1, 0                                                                              \
	}

static void zero_stats(void)
{
	void *zero = calloc((size_t)ncpus, sizeof(struct mailtap_stats));
	__u32 k = 0;

	assert_non_null(zero);
	assert_int_equal(bpf_map_update_elem(stats_fd, &k, zero, BPF_ANY), 0);
	free(zero);
}

static void read_stats(uint64_t pk[MAILTAP_STAT__MAX], uint64_t by[MAILTAP_STAT__MAX])
{
	struct mailtap_stats *v = calloc((size_t)ncpus, sizeof(*v));
	__u32 k = 0;
	int c;

	assert_non_null(v);
	assert_int_equal(bpf_map_lookup_elem(stats_fd, &k, v), 0);
	for (k = 0; k < MAILTAP_STAT__MAX; k++) {
		pk[k] = by[k] = 0;
		for (c = 0; c < ncpus; c++) {
			pk[k] += v[c].c[k].packets;
			by[k] += v[c].c[k].bytes;
		}
	}
	free(v);
}

/* Runs the program once on f and checks the return code and all counters: the ones in
 * exp have the given packet count, every other one is 0. Byte counts = packets * len. */
static void run_expect(const char *what, const struct frame *f, int want_ret,
		       const struct stat_expect *exp)
{
	uint8_t out[2048];
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = f->b, .data_size_in = (__u32)f->n,
		    .data_out = out, .data_size_out = sizeof(out), .repeat = 1);
	uint64_t want[MAILTAP_STAT__MAX] = {0}, pk[MAILTAP_STAT__MAX], by[MAILTAP_STAT__MAX];
	int i, err;

	zero_stats();
	err = bpf_prog_test_run_opts(prog_fd, &o);
	if (err)
		fail_msg("%s: test run failed: %s", what, strerror(errno));
	if ((int)o.retval != want_ret)
		fail_msg("%s: retval %u, want %d", what, o.retval, want_ret);
	for (i = 0; exp[i].stat >= 0; i++)
		want[exp[i].stat] = exp[i].n;
	want[MAILTAP_STAT_SEEN] = 1;
	read_stats(pk, by);
	for (i = 0; i < MAILTAP_STAT__MAX; i++) {
		if (pk[i] != want[i])
			fail_msg("%s: counter %s = %llu, want %llu", what, mailtap_stat_names[i],
				 (unsigned long long)pk[i], (unsigned long long)want[i]);
		if (by[i] != want[i] * f->n)
			fail_msg("%s: counter %s bytes = %llu, want %llu", what,
				 mailtap_stat_names[i], (unsigned long long)by[i],
				 (unsigned long long)(want[i] * f->n));
	}
	/* The invariants of include/mailtap_abi.h. */
	assert_int_equal(pk[MAILTAP_STAT_SEEN],
			 pk[MAILTAP_STAT_REDIRECTED] + pk[MAILTAP_STAT_PASSED]);
	assert_int_equal(pk[MAILTAP_STAT_MATCHED],
			 pk[MAILTAP_STAT_REDIRECTED] + pk[MAILTAP_STAT_NO_XSK]);
	assert_int_equal(pk[MAILTAP_STAT_SEEN],
			 pk[MAILTAP_STAT_MATCHED] + pk[MAILTAP_STAT_PARSE_ERR] +
			     pk[MAILTAP_STAT_NON_IP] + pk[MAILTAP_STAT_NON_TCP] +
			     pk[MAILTAP_STAT_OTHER_PORT]);
}

/* Expectation sets. A matched packet with an empty XSKMAP: passed through no_xsk. */
#define M4                                                                                         \
	{MAILTAP_STAT_MATCHED, 1}, {MAILTAP_STAT_NO_XSK, 1}, {MAILTAP_STAT_PASSED, 1},             \
	    {MAILTAP_STAT_META, 1},                                                                \
	{                                                                                          \
		MAILTAP_STAT_IPV4, 1                                                               \
	}
#define M6                                                                                         \
	{MAILTAP_STAT_MATCHED, 1}, {MAILTAP_STAT_NO_XSK, 1}, {MAILTAP_STAT_PASSED, 1},             \
	    {MAILTAP_STAT_META, 1},                                                                \
	{                                                                                          \
		MAILTAP_STAT_IPV6, 1                                                               \
	}
#define PASS_AS(st)                                                                                \
	{st, 1},                                                                                   \
	{                                                                                          \
		MAILTAP_STAT_PASSED, 1                                                             \
	}

static void set_port(uint16_t port, int on)
{
	__u32 k = MAILTAP_PORT_WORD(port);
	__u64 w;

	assert_int_equal(bpf_map_lookup_elem(ports_fd, &k, &w), 0);
	if (on)
		w |= MAILTAP_PORT_BIT(port);
	else
		w &= ~MAILTAP_PORT_BIT(port);
	assert_int_equal(bpf_map_update_elem(ports_fd, &k, &w, BPF_ANY), 0);
}

/* ---- tests ---- */

#define NEED_PROG()                                                                                \
	do {                                                                                       \
		if (skip_reason) {                                                                 \
			print_message("%s\n", skip_reason);                                        \
			skip();                                                                    \
		}                                                                                  \
	} while (0)

static void test_ipv4_tcp(void **state)
{
	struct frame f;

	NEED_PROG();
	eth(&f, 0x0800), ipv4(&f, 6, 0, 0, 0), tcp(&f, 40000, 25, 5), fix_len(&f);
	run_expect("ipv4 tcp ->25", &f, XDP_PASS, (struct stat_expect[]){M4, END_EXPECT});
	eth(&f, 0x0800), ipv4(&f, 6, 0, 0, 0), tcp(&f, 587, 40000, 5), fix_len(&f);
	run_expect("ipv4 tcp 587->", &f, XDP_PASS, (struct stat_expect[]){M4, END_EXPECT});
	eth(&f, 0x0800), ipv4(&f, 6, 0x4000 /* DF */, 0, 0), tcp(&f, 40000, 465, 5), fix_len(&f);
	run_expect("ipv4 tcp DF ->465", &f, XDP_PASS, (struct stat_expect[]){M4, END_EXPECT});
	eth(&f, 0x0800), ipv4(&f, 6, 0, 0, 0), tcp(&f, 40000, 80, 5), fix_len(&f);
	run_expect("ipv4 tcp ->80", &f, XDP_PASS,
		   (struct stat_expect[]){
		       PASS_AS(MAILTAP_STAT_OTHER_PORT), {MAILTAP_STAT_IPV4, 1}, END_EXPECT});
	eth(&f, 0x0800), ipv4(&f, 6, 0, 0, 0), tcp(&f, 2525, 24, 5), fix_len(&f);
	run_expect("ipv4 tcp 2525->24", &f, XDP_PASS,
		   (struct stat_expect[]){
		       PASS_AS(MAILTAP_STAT_OTHER_PORT), {MAILTAP_STAT_IPV4, 1}, END_EXPECT});
}

static void test_ipv4_options(void **state)
{
	struct frame f;

	NEED_PROG();
	/* 12 bytes of options (NOPs) before TCP ->25. */
	eth(&f, 0x0800), ipv4(&f, 6, 0, 12, 0x01), tcp(&f, 40000, 25, 5), fix_len(&f);
	run_expect("ipv4 options tcp ->25", &f, XDP_PASS, (struct stat_expect[]){M4, END_EXPECT});
	/* Options whose bytes read as ports 25/25 if the IHL were ignored; real ports 80/81. */
	eth(&f, 0x0800), ipv4(&f, 6, 0, 40, 0x00), tcp(&f, 80, 81, 5), fix_len(&f);
	f.b[f.l3 + 20 + 1] = 25, f.b[f.l3 + 20 + 3] = 25;
	run_expect("ipv4 options tcp 80->81", &f, XDP_PASS,
		   (struct stat_expect[]){
		       PASS_AS(MAILTAP_STAT_OTHER_PORT), {MAILTAP_STAT_IPV4, 1}, END_EXPECT});
}

static void test_vlan(void **state)
{
	struct frame f;

	NEED_PROG();
	eth(&f, 0x0800), vlan(&f, 0x8100, 10, 0x0800), ipv4(&f, 6, 0, 0, 0), tcp(&f, 40000, 25, 5),
	    fix_len(&f);
	run_expect("802.1Q ipv4 ->25", &f, XDP_PASS,
		   (struct stat_expect[]){M4, {MAILTAP_STAT_VLAN, 1}, END_EXPECT});
	/* QinQ: 802.1ad outer, 802.1Q inner, IPv6 */
	eth(&f, 0x86dd), vlan(&f, 0x88a8, 100, 0x86dd), vlan(&f, 0x8100, 10, 0x86dd), ipv6(&f, 6),
	    tcp(&f, 587, 40000, 5), fix_len(&f);
	run_expect("QinQ ipv6 587->", &f, XDP_PASS,
		   (struct stat_expect[]){M6, {MAILTAP_STAT_VLAN, 1}, END_EXPECT});
	eth(&f, 0x0800), vlan(&f, 0x8100, 10, 0x0800), ipv4(&f, 6, 0, 0, 0), tcp(&f, 40000, 443, 5),
	    fix_len(&f);
	run_expect("802.1Q ipv4 ->443", &f, XDP_PASS,
		   (struct stat_expect[]){PASS_AS(MAILTAP_STAT_OTHER_PORT),
					  {MAILTAP_STAT_IPV4, 1},
					  {MAILTAP_STAT_VLAN, 1},
					  END_EXPECT});
	/* Three tags: user/decode.c reads up to 8, and so does the program (test_l2_tags). */
	eth(&f, 0x0800), vlan(&f, 0x88a8, 1, 0x0800), vlan(&f, 0x8100, 2, 0x0800),
	    vlan(&f, 0x8100, 3, 0x0800), ipv4(&f, 6, 0, 0, 0), tcp(&f, 40000, 25, 5), fix_len(&f);
	run_expect("three tags", &f, XDP_PASS,
		   (struct stat_expect[]){M4, {MAILTAP_STAT_VLAN, 1}, END_EXPECT});
	/* A tag announced but cut off: only the 14-byte Ethernet header. */
	eth(&f, 0x8100);
	run_expect("truncated tag", &f, XDP_PASS,
		   (struct stat_expect[]){PASS_AS(MAILTAP_STAT_PARSE_ERR), END_EXPECT});
}

/* An inner Ethernet header (a pseudowire's frame), appended. */
static void ieth(struct frame *f, uint16_t type)
{
	static const uint8_t macs[12] = {2, 0, 0, 0, 0, 4, 2, 0, 0, 0, 0, 3};

	put(f, macs, sizeof(macs));
	put16(f, type);
}

/* Replaces the EtherType just written by type (what mpls() or pppoe() appends). */
static void ethertype(struct frame *f, uint16_t type)
{
	f->n -= 2;
	put16(f, type);
}

/* n MPLS labels; the last one has the bottom-of-stack bit when bos. */
static void mpls(struct frame *f, int n, int bos)
{
	for (int i = 0; i < n; i++) {
		uint32_t l = htonl((uint32_t)(16 + i) << 12 | (uint32_t)(bos && i == n - 1) << 8 | 64);

		put(f, &l, 4);
	}
}

/* A PPPoE session header (session 0x1234) and PPP protocol ppp. */
static void pppoe(struct frame *f, uint16_t ppp)
{
	put(f, (uint8_t[]){0x11, 0x00, 0x12, 0x34}, 4);
	put16(f, 0); /* length: not checked */
	put16(f, ppp);
}

#define MPLS_AS(st)                                                                                \
	PASS_AS(st), {                                                                             \
		MAILTAP_STAT_MPLS, 1                                                               \
	}

/* MPLS label stacks (one to eight labels, over a VLAN tag too) and PPPoE sessions in front of
 * IPv4 or IPv6: mail is matched by its inner ports; deeper stacks, non-IP payloads, PPP
 * control traffic and cut headers are passed. The same frames as test_decode's. */
static void test_mpls_pppoe(void **state)
{
	struct frame f;

	NEED_PROG();
	eth(&f, 0x0800), ethertype(&f, 0x8847), mpls(&f, 1, 1), ipv4(&f, 6, 0, 0, 0),
	    tcp(&f, 40000, 25, 5), fix_len(&f);
	run_expect("mpls ipv4 ->25", &f, XDP_PASS,
		   (struct stat_expect[]){M4, {MAILTAP_STAT_MPLS, 1}, END_EXPECT});
	eth(&f, 0x0800), vlan(&f, 0x8100, 10, 0x8848), mpls(&f, 3, 1), ipv6(&f, 6),
	    tcp(&f, 587, 40000, 5), fix_len(&f);
	run_expect("vlan mpls(3) ipv6 587->", &f, XDP_PASS,
		   (struct stat_expect[]){
		       M6, {MAILTAP_STAT_MPLS, 1}, {MAILTAP_STAT_VLAN, 1}, END_EXPECT});
	eth(&f, 0x0800), ethertype(&f, 0x8847), mpls(&f, 8, 1), ipv4(&f, 6, 0, 0, 0),
	    tcp(&f, 40000, 465, 5), fix_len(&f);
	run_expect("mpls(8) ipv4 ->465", &f, XDP_PASS,
		   (struct stat_expect[]){M4, {MAILTAP_STAT_MPLS, 1}, END_EXPECT});
	eth(&f, 0x0800), ethertype(&f, 0x8847), mpls(&f, 1, 1), ipv4(&f, 6, 0, 0, 0),
	    tcp(&f, 40000, 80, 5), fix_len(&f);
	run_expect("mpls ipv4 ->80", &f, XDP_PASS,
		   (struct stat_expect[]){
		       MPLS_AS(MAILTAP_STAT_OTHER_PORT), {MAILTAP_STAT_IPV4, 1}, END_EXPECT});
	eth(&f, 0x0800), ethertype(&f, 0x8847), mpls(&f, 9, 1), ipv4(&f, 6, 0, 0, 0),
	    tcp(&f, 40000, 25, 5), fix_len(&f);
	run_expect("mpls(9) ipv4 ->25", &f, XDP_PASS,
		   (struct stat_expect[]){MPLS_AS(MAILTAP_STAT_NON_IP), END_EXPECT});
	/* a pseudowire control word (first nibble 0), then an Ethernet frame: here one whose
	 * EtherType is MPLS again, which is not followed */
	eth(&f, 0x0800), ethertype(&f, 0x8847), mpls(&f, 2, 1), put(&f, (uint8_t[4]){0}, 4),
	    put(&f, f.b, 14);
	run_expect("mpls control word, mpls", &f, XDP_PASS,
		   (struct stat_expect[]){MPLS_AS(MAILTAP_STAT_NON_IP), END_EXPECT});
	/* Ethernet pseudowires: the customer's frame is matched by its ports, its VLAN tag and
	 * IP version counted; a tunnel in it is not followed; a cut inner header is an error */
	eth(&f, 0x0800), ethertype(&f, 0x8847), mpls(&f, 2, 1),
	    put(&f, (uint8_t[4]){0, 0, 0, 7}, 4), ieth(&f, 0x0800), ipv4(&f, 6, 0, 0, 0),
	    tcp(&f, 40000, 25, 5), fix_len(&f);
	run_expect("mpls pw ipv4 ->25", &f, XDP_PASS,
		   (struct stat_expect[]){M4, {MAILTAP_STAT_MPLS, 1}, END_EXPECT});
	eth(&f, 0x0800), ethertype(&f, 0x8847), mpls(&f, 1, 1), put(&f, (uint8_t[4]){0}, 4),
	    ieth(&f, 0x0800), vlan(&f, 0x8100, 12, 0x86dd), ipv6(&f, 6), tcp(&f, 587, 40000, 5),
	    fix_len(&f);
	run_expect("mpls pw vlan ipv6 587->", &f, XDP_PASS,
		   (struct stat_expect[]){M6, {MAILTAP_STAT_MPLS, 1}, {MAILTAP_STAT_VLAN, 1},
					  END_EXPECT});
	eth(&f, 0x0800), ethertype(&f, 0x8847), mpls(&f, 1, 1), put(&f, (uint8_t[4]){0}, 4),
	    ieth(&f, 0x0800), ipv4(&f, 6, 0, 0, 0), tcp(&f, 40000, 80, 5), fix_len(&f);
	run_expect("mpls pw ipv4 ->80", &f, XDP_PASS,
		   (struct stat_expect[]){MPLS_AS(MAILTAP_STAT_OTHER_PORT), {MAILTAP_STAT_IPV4, 1},
					  END_EXPECT});
	eth(&f, 0x0800), ethertype(&f, 0x8847), mpls(&f, 1, 1), put(&f, (uint8_t[4]){0}, 4),
	    ieth(&f, 0x0800), ipv4(&f, 17, 0, 0, 0), udp(&f, 49152, 4789), fix_len(&f);
	run_expect("mpls pw ipv4 udp ->4789", &f, XDP_PASS,
		   (struct stat_expect[]){MPLS_AS(MAILTAP_STAT_NON_TCP), {MAILTAP_STAT_IPV4, 1},
					  END_EXPECT});
	eth(&f, 0x0800), ethertype(&f, 0x8847), mpls(&f, 1, 1), put(&f, (uint8_t[4]){0}, 4),
	    put(&f, f.b, 10);
	run_expect("mpls pw cut in the inner header", &f, XDP_PASS,
		   (struct stat_expect[]){MPLS_AS(MAILTAP_STAT_PARSE_ERR), END_EXPECT});
	eth(&f, 0x0800), ethertype(&f, 0x8847), mpls(&f, 2, 0);
	run_expect("mpls cut before the bottom", &f, XDP_PASS,
		   (struct stat_expect[]){MPLS_AS(MAILTAP_STAT_PARSE_ERR), END_EXPECT});
	eth(&f, 0x0800), ethertype(&f, 0x8864), pppoe(&f, 0x0021), ipv4(&f, 6, 0, 0, 0),
	    tcp(&f, 40000, 25, 5), fix_len(&f);
	run_expect("pppoe ipv4 ->25", &f, XDP_PASS,
		   (struct stat_expect[]){M4, {MAILTAP_STAT_PPPOE, 1}, END_EXPECT});
	eth(&f, 0x0800), vlan(&f, 0x88a8, 7, 0x8864), pppoe(&f, 0x0057), ipv6(&f, 6),
	    tcp(&f, 25, 40000, 5), fix_len(&f);
	run_expect("vlan pppoe ipv6 25->", &f, XDP_PASS,
		   (struct stat_expect[]){
		       M6, {MAILTAP_STAT_PPPOE, 1}, {MAILTAP_STAT_VLAN, 1}, END_EXPECT});
	eth(&f, 0x0800), ethertype(&f, 0x8864), pppoe(&f, 0xc021), put(&f, "LCPLCPLCP", 9);
	run_expect("pppoe lcp", &f, XDP_PASS,
		   (struct stat_expect[]){
		       PASS_AS(MAILTAP_STAT_NON_IP), {MAILTAP_STAT_PPPOE, 1}, END_EXPECT});
	eth(&f, 0x0800), ethertype(&f, 0x8864), pppoe(&f, 0x0021);
	f.n -= 1;
	run_expect("pppoe cut", &f, XDP_PASS,
		   (struct stat_expect[]){
		       PASS_AS(MAILTAP_STAT_PARSE_ERR), {MAILTAP_STAT_PPPOE, 1}, END_EXPECT});
	/* the 0x9100 tag (pre-standard QinQ) is a VLAN tag, as user/decode.c reads it */
	eth(&f, 0x0800), vlan(&f, 0x9100, 20, 0x0800), ipv4(&f, 6, 0, 0, 0), tcp(&f, 40000, 25, 5),
	    fix_len(&f);
	run_expect("0x9100 ipv4 ->25", &f, XDP_PASS,
		   (struct stat_expect[]){M4, {MAILTAP_STAT_VLAN, 1}, END_EXPECT});
}

/* Replaces the EtherType just written by the 802.1BR E-tag's and appends the tag (6 bytes)
 * whose next EtherType is type. */
static void etag(struct frame *f, uint16_t type)
{
	f->n -= 2;
	put16(f, 0x893f);
	put(f, (uint8_t[6]){0, 0x12, 0, 0, 0, 0}, 6);
	put16(f, type);
}

/* Stacks of VLAN tags and E-tags: user/decode.c follows 8 in all, in any order, and so must
 * the program, or a capture offline gives records a live run (non_ip) does not. */
static void test_l2_tags(void **state)
{
	static const uint16_t tpids[] = {0x88a8, 0x8100, 0x9100, 0x8100, 0x8100, 0x88a8, 0x8100};
	struct frame f;

	NEED_PROG();
	/* an E-tag alone is no VLAN tag */
	eth(&f, 0x0800), etag(&f, 0x0800), ipv4(&f, 6, 0, 0, 0), tcp(&f, 40000, 25, 5),
	    fix_len(&f);
	run_expect("etag ipv4 ->25", &f, XDP_PASS, (struct stat_expect[]){M4, END_EXPECT});
	eth(&f, 0x0800), etag(&f, 0x8100), vlan(&f, 0x8100, 5, 0x86dd), ipv6(&f, 6),
	    tcp(&f, 587, 40000, 5), fix_len(&f);
	run_expect("etag vlan ipv6 587->", &f, XDP_PASS,
		   (struct stat_expect[]){M6, {MAILTAP_STAT_VLAN, 1}, END_EXPECT});
	/* 8: seven VLAN tags and an E-tag in the middle; then behind them an MPLS stack */
	eth(&f, 0x0800);
	for (int i = 0; i < 7; i++) {
		vlan(&f, tpids[i], (uint16_t)(10 + i), 0x0800);
		if (i == 3)
			etag(&f, 0x0800);
	}
	ipv4(&f, 6, 0, 0, 0), tcp(&f, 40000, 25, 5), fix_len(&f);
	run_expect("8 tags ipv4 ->25", &f, XDP_PASS,
		   (struct stat_expect[]){M4, {MAILTAP_STAT_VLAN, 1}, END_EXPECT});
	eth(&f, 0x0800);
	for (int i = 0; i < 8; i++)
		vlan(&f, 0x8100, (uint16_t)(10 + i), 0x8847);
	mpls(&f, 2, 1), ipv4(&f, 6, 0, 0, 0), tcp(&f, 40000, 465, 5), fix_len(&f);
	run_expect("8 tags mpls ipv4 ->465", &f, XDP_PASS,
		   (struct stat_expect[]){
		       M4, {MAILTAP_STAT_VLAN, 1}, {MAILTAP_STAT_MPLS, 1}, END_EXPECT});
	/* 9: one more than user/decode.c follows (not_ip there) */
	eth(&f, 0x0800);
	for (int i = 0; i < 8; i++)
		vlan(&f, 0x8100, (uint16_t)(10 + i), 0x0800);
	etag(&f, 0x0800), ipv4(&f, 6, 0, 0, 0), tcp(&f, 40000, 25, 5), fix_len(&f);
	run_expect("9 tags", &f, XDP_PASS,
		   (struct stat_expect[]){
		       PASS_AS(MAILTAP_STAT_NON_IP), {MAILTAP_STAT_VLAN, 1}, END_EXPECT});
	/* an E-tag cut off */
	eth(&f, 0x0800), etag(&f, 0x0800);
	f.n -= 1;
	run_expect("etag cut", &f, XDP_PASS,
		   (struct stat_expect[]){PASS_AS(MAILTAP_STAT_PARSE_ERR), END_EXPECT});
}

/* An Ethernet header appended (inside a tunnel), EtherType type. */
static void eth_in(struct frame *f, uint16_t type)
{
	static const uint8_t macs[12] = {2, 0, 0, 0, 0, 4, 2, 0, 0, 0, 0, 3};

	put(f, macs, sizeof(macs));
	put16(f, type);
}

/* The tunnel headers of test_decode's test_tunnels, after an outer IPv4 header. */
static void vxlan(struct frame *f, uint16_t dport)
{
	udp(f, 49152, dport);
	put(f, (uint8_t[8]){0x08, 0, 0, 0, 0, 0x10, 0x92, 0}, 8);
}

static void geneve_to(struct frame *f, uint16_t dport)
{
	udp(f, 49152, dport);
	put(f, (uint8_t[16]){2, 0, 0x65, 0x58, 0, 0x10, 0x92, 0, 1, 1, 1, 1, 0xde, 0xad, 0xbe, 0xef},
	    16);
}

static void geneve(struct frame *f)
{
	geneve_to(f, 6081);
}

static void gre(struct frame *f, uint16_t flags, uint16_t proto)
{
	put16(f, flags);
	put16(f, proto);
	if (flags & 0x8000)
		put(f, (uint8_t[4]){0}, 4);
	if (flags & 0x2000)
		put(f, (uint8_t[4]){0, 0, 0, 7}, 4);
	if (flags & 0x1000)
		put(f, (uint8_t[4]){0, 0, 0, 1}, 4);
	if (proto == 0x88be && (flags & 0x1000))
		put(f, (uint8_t[8]){0x10, 0, 0, 0x64}, 8);
	if (proto == 0x22eb)
		put(f, (uint8_t[20]){0x20, 0, 0, 0x64, [11] = 1}, 20); /* O: 8 more bytes */
}

#define T4                                                                                         \
	M4, {                                                                                      \
		MAILTAP_STAT_TUNNEL, 1                                                             \
	}
#define TUN_AS(st)                                                                                 \
	PASS_AS(st), {MAILTAP_STAT_IPV4, 1}, {                                                     \
		MAILTAP_STAT_TUNNEL, 1                                                             \
	}

/* VXLAN, Geneve, GRE (Ethernet with checksum and key, IP), ERSPAN I, II, III: the mail inside
 * is matched by its own ports (outer IPv4 counted, the tunnel too); a non-mail or non-TCP
 * inner packet, a tunnel inside the tunnel, another UDP port or GRE version, and cut tunnel
 * headers are passed. The same frames as test_decode's test_tunnels. */
static void test_tunnels(void **state)
{
	struct frame f;

	NEED_PROG();
	eth(&f, 0x0800), ipv4(&f, 17, 0x4000, 0, 0), vxlan(&f, 4789), eth_in(&f, 0x0800),
	    ipv4(&f, 6, 0, 0, 0), tcp(&f, 40000, 25, 5), fix_len(&f);
	run_expect("vxlan ipv4 ->25", &f, XDP_PASS, (struct stat_expect[]){T4, END_EXPECT});
	eth(&f, 0x0800), ipv4(&f, 17, 0x4000, 0, 0), vxlan(&f, 4789), eth_in(&f, 0x8100),
	    put16(&f, 33), put16(&f, 0x86dd), ipv6(&f, 6), tcp(&f, 587, 40000, 5), fix_len(&f);
	run_expect("vxlan vlan ipv6 587->", &f, XDP_PASS, (struct stat_expect[]){T4, END_EXPECT});
	eth(&f, 0x0800), ipv4(&f, 17, 0, 0, 0), geneve(&f), eth_in(&f, 0x0800), ipv4(&f, 6, 0, 0, 0),
	    tcp(&f, 40000, 465, 5), fix_len(&f);
	run_expect("geneve ipv4 ->465", &f, XDP_PASS, (struct stat_expect[]){T4, END_EXPECT});
	/* Geneve carrying IPv6 itself (protocol 0x86dd, no options, no inner Ethernet) */
	eth(&f, 0x0800), ipv4(&f, 17, 0, 0, 0), udp(&f, 40000, 6081),
	    put(&f, (uint8_t[8]){0, 0, 0x86, 0xdd, 0, 0, 7, 0}, 8), ipv6(&f, 6),
	    tcp(&f, 40000, 587, 5), fix_len(&f);
	run_expect("geneve ipv6 (no ethernet) ->587", &f, XDP_PASS,
		   (struct stat_expect[]){T4, END_EXPECT});
	eth(&f, 0x0800), ipv4(&f, 47, 0, 0, 0), gre(&f, 0xa000, 0x6558), eth_in(&f, 0x0800),
	    ipv4(&f, 6, 0, 0, 0), tcp(&f, 40000, 25, 5), fix_len(&f);
	run_expect("gre(csum, key) teb ipv4 ->25", &f, XDP_PASS,
		   (struct stat_expect[]){T4, END_EXPECT});
	eth(&f, 0x0800), ipv4(&f, 47, 0, 0, 0), gre(&f, 0, 0x86dd), ipv6(&f, 6),
	    tcp(&f, 40000, 25, 5), fix_len(&f);
	run_expect("gre ipv6 ->25", &f, XDP_PASS, (struct stat_expect[]){T4, END_EXPECT});
	eth(&f, 0x0800), ipv4(&f, 47, 0, 0, 0), gre(&f, 0, 0x88be), eth_in(&f, 0x0800),
	    ipv4(&f, 6, 0, 0, 0), tcp(&f, 40000, 25, 5), fix_len(&f);
	run_expect("erspan I ipv4 ->25", &f, XDP_PASS, (struct stat_expect[]){T4, END_EXPECT});
	eth(&f, 0x0800), ipv4(&f, 47, 0, 0, 0), gre(&f, 0x1000, 0x88be), eth_in(&f, 0x0800),
	    ipv4(&f, 6, 0, 0, 0), tcp(&f, 40000, 25, 5), fix_len(&f);
	run_expect("erspan II ipv4 ->25", &f, XDP_PASS, (struct stat_expect[]){T4, END_EXPECT});
	eth(&f, 0x0800), ipv4(&f, 47, 0, 0, 0), gre(&f, 0x1000, 0x22eb), eth_in(&f, 0x0800),
	    ipv4(&f, 6, 0, 0, 0), tcp(&f, 40000, 25, 5), fix_len(&f);
	run_expect("erspan III ipv4 ->25", &f, XDP_PASS, (struct stat_expect[]){T4, END_EXPECT});
	/* an inner IPv4 fragment of TCP: steered, as outside a tunnel */
	eth(&f, 0x0800), ipv4(&f, 17, 0, 0, 0), vxlan(&f, 4789), eth_in(&f, 0x0800),
	    ipv4(&f, 6, 0x2000 /* MF */, 0, 0), tcp(&f, 40000, 80, 5), fix_len(&f);
	run_expect("vxlan ipv4 fragment", &f, XDP_PASS,
		   (struct stat_expect[]){T4, {MAILTAP_STAT_FRAG, 1}, END_EXPECT});
	/* inner non-mail TCP, inner UDP */
	eth(&f, 0x0800), ipv4(&f, 17, 0, 0, 0), vxlan(&f, 4789), eth_in(&f, 0x0800),
	    ipv4(&f, 6, 0, 0, 0), tcp(&f, 40000, 443, 5), fix_len(&f);
	run_expect("vxlan ipv4 ->443", &f, XDP_PASS,
		   (struct stat_expect[]){TUN_AS(MAILTAP_STAT_OTHER_PORT), END_EXPECT});
	eth(&f, 0x0800), ipv4(&f, 47, 0, 0, 0), gre(&f, 0, 0x0800), ipv4(&f, 17, 0, 0, 0),
	    udp(&f, 5000, 53), fix_len(&f);
	run_expect("gre ipv4 udp", &f, XDP_PASS,
		   (struct stat_expect[]){TUN_AS(MAILTAP_STAT_NON_TCP), END_EXPECT});
	/* VXLAN inside GRE: two levels (test_nested_tunnels) */
	eth(&f, 0x0800), ipv4(&f, 47, 0, 0, 0), gre(&f, 0, 0x0800), ipv4(&f, 17, 0, 0, 0),
	    vxlan(&f, 4789), eth_in(&f, 0x0800), ipv4(&f, 6, 0, 0, 0), tcp(&f, 40000, 25, 5),
	    fix_len(&f);
	run_expect("vxlan in gre", &f, XDP_PASS, (struct stat_expect[]){T4, END_EXPECT});
	/* MPLS inside a tunnel: not followed */
	eth(&f, 0x0800), ipv4(&f, 47, 0, 0, 0), gre(&f, 0, 0x6558), eth_in(&f, 0x8847),
	    put(&f, (uint8_t[4]){0, 0x10, 0x01, 64}, 4), ipv4(&f, 6, 0, 0, 0),
	    tcp(&f, 40000, 25, 5), fix_len(&f);
	run_expect("mpls in gre", &f, XDP_PASS,
		   (struct stat_expect[]){TUN_AS(MAILTAP_STAT_NON_IP), END_EXPECT});
	/* not tunnels: another UDP port, GRE version 1, GRE carrying PPP */
	eth(&f, 0x0800), ipv4(&f, 17, 0, 0, 0), vxlan(&f, 4790), eth_in(&f, 0x0800),
	    ipv4(&f, 6, 0, 0, 0), tcp(&f, 40000, 25, 5), fix_len(&f);
	run_expect("udp 4790", &f, XDP_PASS,
		   (struct stat_expect[]){PASS_AS(MAILTAP_STAT_NON_TCP), {MAILTAP_STAT_IPV4, 1},
					  END_EXPECT});
	eth(&f, 0x0800), ipv4(&f, 47, 0, 0, 0), gre(&f, 1, 0x880b), put(&f, "PPPPPPPP", 8);
	run_expect("gre version 1", &f, XDP_PASS,
		   (struct stat_expect[]){PASS_AS(MAILTAP_STAT_NON_TCP), {MAILTAP_STAT_IPV4, 1},
					  END_EXPECT});
	eth(&f, 0x0800), ipv4(&f, 47, 0, 0, 0), gre(&f, 0, 0x880b), put(&f, "PPPPPPPP", 8);
	run_expect("gre ppp", &f, XDP_PASS,
		   (struct stat_expect[]){PASS_AS(MAILTAP_STAT_NON_TCP), {MAILTAP_STAT_IPV4, 1},
					  END_EXPECT});
	/* IP in IP: IPv4 or IPv6 in IPv4 or IPv6 (protocols 4, 41), its fragments steered */
	eth(&f, 0x0800), ipv4(&f, 4, 0, 0, 0), ipv4(&f, 6, 0, 0, 0), tcp(&f, 40000, 25, 5),
	    fix_len(&f);
	run_expect("ipip ipv4 ->25", &f, XDP_PASS, (struct stat_expect[]){T4, END_EXPECT});
	eth(&f, 0x0800), ipv4(&f, 41, 0, 0, 0), ipv6(&f, 6), tcp(&f, 40000, 587, 5), fix_len(&f);
	run_expect("6in4 ->587", &f, XDP_PASS, (struct stat_expect[]){T4, END_EXPECT});
	eth(&f, 0x86dd), ipv6(&f, 4), ipv4(&f, 6, 0, 0, 0), tcp(&f, 40000, 25, 5), fix_len(&f);
	run_expect("4in6 ->25", &f, XDP_PASS,
		   (struct stat_expect[]){M6, {MAILTAP_STAT_TUNNEL, 1}, END_EXPECT});
	eth(&f, 0x86dd), ipv6(&f, 41), ipv6(&f, 6), tcp(&f, 465, 40000, 5), fix_len(&f);
	run_expect("6in6 465->", &f, XDP_PASS,
		   (struct stat_expect[]){M6, {MAILTAP_STAT_TUNNEL, 1}, END_EXPECT});
	eth(&f, 0x0800), ipv4(&f, 4, 0, 0, 0), ipv4(&f, 6, 0, 0, 0), tcp(&f, 40000, 443, 5),
	    fix_len(&f);
	run_expect("ipip ipv4 ->443", &f, XDP_PASS,
		   (struct stat_expect[]){TUN_AS(MAILTAP_STAT_OTHER_PORT), END_EXPECT});
	eth(&f, 0x0800), ipv4(&f, 4, 0x2000 /* MF */, 0, 0), ipv4(&f, 6, 0, 0, 0),
	    tcp(&f, 40000, 80, 5), fix_len(&f);
	run_expect("ipip outer fragment", &f, XDP_PASS,
		   (struct stat_expect[]){M4, {MAILTAP_STAT_FRAG, 1}, END_EXPECT});
	/* GRE in IP in IP: two levels (test_nested_tunnels) */
	eth(&f, 0x0800), ipv4(&f, 4, 0, 0, 0), ipv4(&f, 47, 0, 0, 0), gre(&f, 0, 0x0800),
	    ipv4(&f, 6, 0, 0, 0), tcp(&f, 40000, 25, 5), fix_len(&f);
	run_expect("gre in ipip", &f, XDP_PASS, (struct stat_expect[]){T4, END_EXPECT});
	/* cut: the inner IPv4 header short */
	eth(&f, 0x0800), ipv4(&f, 4, 0, 0, 0), put(&f, (uint8_t[10]){0x45}, 10);
	run_expect("ipip cut", &f, XDP_PASS,
		   (struct stat_expect[]){TUN_AS(MAILTAP_STAT_PARSE_ERR), END_EXPECT});
	/* VXLAN without its I flag, GRE with a reserved flag: not tunnels, as Zeek; GRE with
	 * the acknowledgment bit: 4 bytes more of header */
	eth(&f, 0x0800), ipv4(&f, 17, 0, 0, 0), vxlan(&f, 4789), eth_in(&f, 0x0800),
	    ipv4(&f, 6, 0, 0, 0), tcp(&f, 40000, 25, 5), fix_len(&f);
	f.b[14 + 20 + 8] = 0;
	run_expect("vxlan no I flag", &f, XDP_PASS,
		   (struct stat_expect[]){PASS_AS(MAILTAP_STAT_NON_TCP), {MAILTAP_STAT_IPV4, 1},
					  END_EXPECT});
	eth(&f, 0x0800), ipv4(&f, 47, 0, 0, 0), gre(&f, 0x0008, 0x0800), ipv4(&f, 6, 0, 0, 0),
	    tcp(&f, 40000, 25, 5), fix_len(&f);
	run_expect("gre reserved flag", &f, XDP_PASS,
		   (struct stat_expect[]){PASS_AS(MAILTAP_STAT_NON_TCP), {MAILTAP_STAT_IPV4, 1},
					  END_EXPECT});
	eth(&f, 0x0800), ipv4(&f, 47, 0, 0, 0), gre(&f, 0x0080, 0x0800), put(&f, "ACK#", 4),
	    ipv4(&f, 6, 0, 0, 0), tcp(&f, 40000, 25, 5), fix_len(&f);
	run_expect("gre ack ->25", &f, XDP_PASS, (struct stat_expect[]){T4, END_EXPECT});
	/* cut: a VXLAN header of 4 bytes, a GRE header with its key missing */
	eth(&f, 0x0800), ipv4(&f, 17, 0, 0, 0), vxlan(&f, 4789);
	f.n -= 4;
	run_expect("vxlan cut", &f, XDP_PASS,
		   (struct stat_expect[]){PASS_AS(MAILTAP_STAT_PARSE_ERR), {MAILTAP_STAT_IPV4, 1},
					  END_EXPECT});
	eth(&f, 0x0800), ipv4(&f, 47, 0, 0, 0), gre(&f, 0x2000, 0x6558);
	f.n -= 2;
	run_expect("gre cut", &f, XDP_PASS,
		   (struct stat_expect[]){PASS_AS(MAILTAP_STAT_PARSE_ERR), {MAILTAP_STAT_IPV4, 1},
					  END_EXPECT});
}

/* GTPv1 header: flags, message type 255, length (unused), TEID; with E one extension header
 * per ext (2 words, next type 0x85 but for the last), with S 4 bytes more. */
static void gtp(struct frame *f, uint8_t flags, int ext)
{
	put(f, (uint8_t[8]){flags, 0xff, 0, 0, 0, 0, 0x12, 0x34}, 8);
	if (flags & 7)
		put(f, (uint8_t[4]){0, 7, 0, ext ? 0x85 : 0}, 4);
	for (int e = 0; e < ext; e++)
		put(f, (uint8_t[8]){2, 0x12, 0x34, 0, 0, 0, 0, e + 1 < ext ? 0x85 : 0}, 8);
}

/* Teredo (UDP 3544: plain, origin indication, authentication + origin), AYIYA (UDP 5072),
 * GTPv1 (UDP 2152 and 2123, extension headers), to the port or from it, and GRE version 1
 * (PPTP's PPP, key, sequence, acknowledgment): mail inside matched by its own ports, the
 * tunnel counted; the forms user/decode.c does not follow passed as non_tcp; cut headers
 * passed as parse_err. The same tunnels as test_decode's test_gre_v1_pptp and
 * test_udp_ip_tunnels. */
static void test_udp_ip_tunnels(void **state)
{
	static const uint8_t origin[8] = {0, 0, 0xf2, 0x3c, 0xc0, 0, 2, 1};
	static const uint8_t auth[4 + 2 + 3 + 9] = {0, 1, 2, 3, 'i', 'd', 'a', 'u', 't'};
	uint8_t ayiya[8 + 16 + 20] = {0x41, 0x52, 0x11, 41};
	struct frame f;

	NEED_PROG();
	for (int rev = 0; rev < 2; rev++) {
		uint16_t a = rev ? 3544 : 40001, b = rev ? 40001 : 3544;

		eth(&f, 0x0800), ipv4(&f, 17, 0, 0, 0), udp(&f, a, b), ipv6(&f, 6),
		    tcp(&f, 40000, 25, 5), fix_len(&f);
		run_expect("teredo ->25", &f, XDP_PASS, (struct stat_expect[]){T4, END_EXPECT});
		eth(&f, 0x0800), ipv4(&f, 17, 0, 0, 0), udp(&f, a, b), put(&f, origin, 8),
		    ipv6(&f, 6), tcp(&f, 25, 40000, 5), fix_len(&f);
		run_expect("teredo origin 25->", &f, XDP_PASS, (struct stat_expect[]){T4, END_EXPECT});
		eth(&f, 0x86dd), ipv6(&f, 17), udp(&f, a, b), put(&f, auth, sizeof(auth)),
		    put(&f, origin, 8), ipv6(&f, 6), tcp(&f, 40000, 587, 5), fix_len(&f);
		run_expect("teredo auth origin ->587", &f, XDP_PASS,
			   (struct stat_expect[]){M6, {MAILTAP_STAT_TUNNEL, 1}, END_EXPECT});
		a = rev ? 5072 : 40002, b = rev ? 40002 : 5072;
		ayiya[3] = 41;
		eth(&f, 0x0800), ipv4(&f, 17, 0, 0, 0), udp(&f, a, b), put(&f, ayiya, sizeof(ayiya)),
		    ipv6(&f, 6), tcp(&f, 40000, 25, 5), fix_len(&f);
		run_expect("ayiya ipv6 ->25", &f, XDP_PASS, (struct stat_expect[]){T4, END_EXPECT});
		ayiya[3] = 4;
		eth(&f, 0x0800), ipv4(&f, 17, 0, 0, 0), udp(&f, a, b), put(&f, ayiya, sizeof(ayiya)),
		    ipv4(&f, 6, 0, 0, 0), tcp(&f, 465, 40000, 5), fix_len(&f);
		run_expect("ayiya ipv4 465->", &f, XDP_PASS, (struct stat_expect[]){T4, END_EXPECT});
		a = rev ? 2152 : 40003, b = rev ? 40003 : 2123;
		eth(&f, 0x0800), ipv4(&f, 17, 0, 0, 0), udp(&f, a, b), gtp(&f, 0x30, 0),
		    ipv4(&f, 6, 0, 0, 0), tcp(&f, 40000, 25, 5), fix_len(&f);
		run_expect("gtp ipv4 ->25", &f, XDP_PASS, (struct stat_expect[]){T4, END_EXPECT});
		eth(&f, 0x0800), ipv4(&f, 17, 0, 0, 0), udp(&f, a, b), gtp(&f, 0x32, 0), ipv6(&f, 6),
		    tcp(&f, 40000, 25, 5), fix_len(&f);
		run_expect("gtp seq ipv6 ->25", &f, XDP_PASS, (struct stat_expect[]){T4, END_EXPECT});
	}
	for (int ext = 1; ext <= 5; ext++) {
		eth(&f, 0x0800), ipv4(&f, 17, 0, 0, 0), udp(&f, 2152, 2152), gtp(&f, 0x34, ext),
		    ipv4(&f, 6, 0, 0, 0), tcp(&f, 40000, 25, 5), fix_len(&f);
		if (ext <= 4) /* MAILTAP_MAX_GTP_EXT */
			run_expect("gtp ext ->25", &f, XDP_PASS,
				   (struct stat_expect[]){T4, END_EXPECT});
		else
			run_expect("gtp 5 ext", &f, XDP_PASS,
				   (struct stat_expect[]){PASS_AS(MAILTAP_STAT_NON_TCP),
							  {MAILTAP_STAT_IPV4, 1}, END_EXPECT});
	}
	/* GRE version 1: key; key, sequence, acknowledgment; PPP IPv4 and IPv6 */
	eth(&f, 0x0800), ipv4(&f, 47, 0, 0, 0), put(&f, (uint8_t[8]){0x20, 0x01, 0x88, 0x0b}, 8),
	    put(&f, (uint8_t[4]){0xff, 0x03, 0, 0x21}, 4), ipv4(&f, 6, 0, 0, 0),
	    tcp(&f, 40000, 25, 5), fix_len(&f);
	run_expect("pptp ipv4 ->25", &f, XDP_PASS, (struct stat_expect[]){T4, END_EXPECT});
	eth(&f, 0x86dd), ipv6(&f, 47), put(&f, (uint8_t[16]){0x30, 0x81, 0x88, 0x0b}, 16),
	    put(&f, (uint8_t[4]){0xff, 0x03, 0, 0x57}, 4), ipv6(&f, 6), tcp(&f, 25, 40000, 5),
	    fix_len(&f);
	run_expect("pptp seq ack ipv6 25->", &f, XDP_PASS,
		   (struct stat_expect[]){M6, {MAILTAP_STAT_TUNNEL, 1}, END_EXPECT});
	/* other mail-less content: inner TCP to another port; inner UDP */
	eth(&f, 0x0800), ipv4(&f, 17, 0, 0, 0), udp(&f, 40003, 2152), gtp(&f, 0x30, 0),
	    ipv4(&f, 6, 0, 0, 0), tcp(&f, 40000, 443, 5), fix_len(&f);
	run_expect("gtp ->443", &f, XDP_PASS,
		   (struct stat_expect[]){TUN_AS(MAILTAP_STAT_OTHER_PORT), END_EXPECT});
	eth(&f, 0x0800), ipv4(&f, 17, 0, 0, 0), udp(&f, 40001, 3544), ipv6(&f, 17),
	    udp(&f, 5000, 53), fix_len(&f);
	run_expect("teredo udp", &f, XDP_PASS,
		   (struct stat_expect[]){TUN_AS(MAILTAP_STAT_NON_TCP), END_EXPECT});
	/* not followed: Teredo carrying IPv4, GTP message type 1 (echo), GTP version 2, AYIYA
	 * opcode 2, AYIYA next header 17, PPTP's PPP LCP, GRE version 1 with another protocol;
	 * UDP between two other ports */
	eth(&f, 0x0800), ipv4(&f, 17, 0, 0, 0), udp(&f, 40001, 3544), ipv4(&f, 6, 0, 0, 0),
	    tcp(&f, 40000, 25, 5), fix_len(&f);
	run_expect("teredo ipv4", &f, XDP_PASS,
		   (struct stat_expect[]){PASS_AS(MAILTAP_STAT_NON_TCP), {MAILTAP_STAT_IPV4, 1},
					  END_EXPECT});
	for (int k = 0; k < 7; k++) {
		eth(&f, 0x0800);
		ipv4(&f, k >= 5 ? 47 : 17, 0, 0, 0);
		switch (k) {
		case 0:
		case 1:
			udp(&f, 40003, 2152), gtp(&f, k ? 0x50 : 0x30, 0);
			if (!k)
				f.b[f.n - 7] = 1;
			break;
		case 2:
		case 3:
			ayiya[3] = 4;
			udp(&f, 40002, 5072), put(&f, ayiya, sizeof(ayiya));
			f.b[f.n - sizeof(ayiya) + (k == 2 ? 2 : 3)] = k == 2 ? 0x12 : 17;
			break;
		case 4:
			udp(&f, 40002, 5073), put(&f, ayiya, sizeof(ayiya));
			break;
		case 5:
			put(&f, (uint8_t[12]){0x20, 0x01, 0x88, 0x0b, 0, 0, 0, 0, 0xff, 0x03, 0xc0, 0x21},
			    12);
			break;
		default:
			put(&f, (uint8_t[12]){0x20, 0x01, 0x08, 0x00, 0, 0, 0, 0, 0xff, 0x03, 0x00, 0x21},
			    12);
			break;
		}
		ipv4(&f, 6, 0, 0, 0), tcp(&f, 40000, 25, 5), fix_len(&f);
		run_expect("not followed", &f, XDP_PASS,
			   (struct stat_expect[]){PASS_AS(MAILTAP_STAT_NON_TCP),
						  {MAILTAP_STAT_IPV4, 1}, END_EXPECT});
	}
	/* cut: Teredo's authentication header, AYIYA's signature, a GTP extension header */
	eth(&f, 0x0800), ipv4(&f, 17, 0, 0, 0), udp(&f, 40001, 3544), put(&f, auth, 10);
	run_expect("teredo cut", &f, XDP_PASS,
		   (struct stat_expect[]){PASS_AS(MAILTAP_STAT_PARSE_ERR), {MAILTAP_STAT_IPV4, 1},
					  END_EXPECT});
	eth(&f, 0x0800), ipv4(&f, 17, 0, 0, 0), udp(&f, 40002, 5072), put(&f, ayiya, 30);
	run_expect("ayiya cut", &f, XDP_PASS,
		   (struct stat_expect[]){PASS_AS(MAILTAP_STAT_PARSE_ERR), {MAILTAP_STAT_IPV4, 1},
					  END_EXPECT});
	eth(&f, 0x0800), ipv4(&f, 17, 0, 0, 0), udp(&f, 40003, 2152), gtp(&f, 0x34, 2);
	f.n -= 3;
	run_expect("gtp cut", &f, XDP_PASS,
		   (struct stat_expect[]){PASS_AS(MAILTAP_STAT_PARSE_ERR), {MAILTAP_STAT_IPV4, 1},
					  END_EXPECT});
}

static void test_ipv4_fragments(void **state)
{
	struct frame f;

	NEED_PROG();
	/* First fragment (MF, offset 0) of TCP on a non-mail port: steered anyway. */
	eth(&f, 0x0800), ipv4(&f, 6, 0x2000, 0, 0), tcp(&f, 40000, 80, 5), fix_len(&f);
	run_expect("ipv4 first frag", &f, XDP_PASS,
		   (struct stat_expect[]){M4, {MAILTAP_STAT_FRAG, 1}, END_EXPECT});
	/* Non-first fragment (offset 185*8, no MF): no TCP header at all. */
	eth(&f, 0x0800), ipv4(&f, 6, 185, 0, 0), put(&f, "payload.", 8), fix_len(&f);
	run_expect("ipv4 last frag", &f, XDP_PASS,
		   (struct stat_expect[]){M4, {MAILTAP_STAT_FRAG, 1}, END_EXPECT});
	/* Middle fragment with options. */
	eth(&f, 0x0800), ipv4(&f, 6, 0x2000 | 7, 8, 0x01), put(&f, "payload.", 8), fix_len(&f);
	run_expect("ipv4 middle frag with options", &f, XDP_PASS,
		   (struct stat_expect[]){M4, {MAILTAP_STAT_FRAG, 1}, END_EXPECT});
	/* UDP and GRE fragments, first and later: perhaps a tunnel packet's, steered */
	eth(&f, 0x0800), ipv4(&f, 17, 0x2000, 0, 0), udp(&f, 53, 25), fix_len(&f);
	run_expect("ipv4 udp first frag", &f, XDP_PASS,
		   (struct stat_expect[]){M4, {MAILTAP_STAT_FRAG, 1}, END_EXPECT});
	eth(&f, 0x0800), ipv4(&f, 17, 185, 0, 0), put(&f, "payload.", 8), fix_len(&f);
	run_expect("ipv4 udp last frag", &f, XDP_PASS,
		   (struct stat_expect[]){M4, {MAILTAP_STAT_FRAG, 1}, END_EXPECT});
	eth(&f, 0x0800), ipv4(&f, 47, 0x2000 | 3, 0, 0), put(&f, "payload.", 8), fix_len(&f);
	run_expect("ipv4 gre middle frag", &f, XDP_PASS,
		   (struct stat_expect[]){M4, {MAILTAP_STAT_FRAG, 1}, END_EXPECT});
	/* ICMP fragment: not ours */
	eth(&f, 0x0800), ipv4(&f, 1, 0x2000, 0, 0), put(&f, "payload.", 8), fix_len(&f);
	run_expect("ipv4 icmp frag", &f, XDP_PASS,
		   (struct stat_expect[]){
		       PASS_AS(MAILTAP_STAT_NON_TCP), {MAILTAP_STAT_IPV4, 1}, END_EXPECT});
	/* a UDP fragment inside a tunnel: maybe a second tunnel's (two levels), steered as
	 * userspace reassembles it; inside two tunnels not (test_nested_tunnels) */
	eth(&f, 0x0800), ipv4(&f, 47, 0, 0, 0), gre(&f, 0, 0x0800), ipv4(&f, 17, 0x2000, 0, 0),
	    udp(&f, 5000, 4789), fix_len(&f);
	run_expect("gre ipv4 udp frag", &f, XDP_PASS,
		   (struct stat_expect[]){T4, {MAILTAP_STAT_FRAG, 1}, END_EXPECT});
}

static void test_ipv6(void **state)
{
	struct frame f;

	NEED_PROG();
	eth(&f, 0x86dd), ipv6(&f, 6), tcp(&f, 40000, 25, 5), fix_len(&f);
	run_expect("ipv6 tcp ->25", &f, XDP_PASS, (struct stat_expect[]){M6, END_EXPECT});
	/* Hop-by-Hop (16 bytes) + Destination Options (8 bytes) + TCP ->465 */
	eth(&f, 0x86dd), ipv6(&f, 0), ip6ext(&f, 60, 1), ip6ext(&f, 6, 0), tcp(&f, 40000, 465, 5),
	    fix_len(&f);
	run_expect("ipv6 hbh+dst tcp ->465", &f, XDP_PASS, (struct stat_expect[]){M6, END_EXPECT});
	/* Routing header + TCP ->80 */
	eth(&f, 0x86dd), ipv6(&f, 43), ip6ext(&f, 6, 0), tcp(&f, 40000, 80, 5), fix_len(&f);
	run_expect("ipv6 rt tcp ->80", &f, XDP_PASS,
		   (struct stat_expect[]){
		       PASS_AS(MAILTAP_STAT_OTHER_PORT), {MAILTAP_STAT_IPV6, 1}, END_EXPECT});
	/* Non-first fragment of TCP */
	eth(&f, 0x86dd), ipv6(&f, 44), ip6frag(&f, 6, 100, 0), put(&f, "payload.", 8), fix_len(&f);
	run_expect("ipv6 tcp frag", &f, XDP_PASS,
		   (struct stat_expect[]){M6, {MAILTAP_STAT_FRAG, 1}, END_EXPECT});
	/* First fragment whose fragmentable part starts with Destination Options */
	eth(&f, 0x86dd), ipv6(&f, 44), ip6frag(&f, 60, 0, 1), ip6ext(&f, 6, 0),
	    tcp(&f, 40000, 80, 5), fix_len(&f);
	run_expect("ipv6 dst-in-frag", &f, XDP_PASS,
		   (struct stat_expect[]){M6, {MAILTAP_STAT_FRAG, 1}, END_EXPECT});
	/* Atomic fragment (offset 0, no M): a whole packet, parsed to TCP ->587 */
	eth(&f, 0x86dd), ipv6(&f, 44), ip6frag(&f, 6, 0, 0), tcp(&f, 40000, 587, 5), fix_len(&f);
	run_expect("ipv6 atomic frag ->587", &f, XDP_PASS, (struct stat_expect[]){M6, END_EXPECT});
	/* Atomic fragment ->80 */
	eth(&f, 0x86dd), ipv6(&f, 44), ip6frag(&f, 6, 0, 0), tcp(&f, 40000, 80, 5), fix_len(&f);
	run_expect("ipv6 atomic frag ->80", &f, XDP_PASS,
		   (struct stat_expect[]){
		       PASS_AS(MAILTAP_STAT_OTHER_PORT), {MAILTAP_STAT_IPV6, 1}, END_EXPECT});
	/* UDP and GRE fragments: perhaps a tunnel packet's, steered; ICMPv6: not ours */
	eth(&f, 0x86dd), ipv6(&f, 44), ip6frag(&f, 17, 10, 1), put(&f, "payload.", 8), fix_len(&f);
	run_expect("ipv6 udp frag", &f, XDP_PASS,
		   (struct stat_expect[]){M6, {MAILTAP_STAT_FRAG, 1}, END_EXPECT});
	eth(&f, 0x86dd), ipv6(&f, 44), ip6frag(&f, 47, 0, 1), put(&f, "payload.", 8), fix_len(&f);
	run_expect("ipv6 gre frag", &f, XDP_PASS,
		   (struct stat_expect[]){M6, {MAILTAP_STAT_FRAG, 1}, END_EXPECT});
	eth(&f, 0x86dd), ipv6(&f, 44), ip6frag(&f, 58, 10, 1), put(&f, "payload.", 8), fix_len(&f);
	run_expect("ipv6 icmpv6 frag", &f, XDP_PASS,
		   (struct stat_expect[]){
		       PASS_AS(MAILTAP_STAT_NON_TCP), {MAILTAP_STAT_IPV6, 1}, END_EXPECT});
	/* Fragments whose next header is Hop-by-Hop (userspace reassembles them too:
	 * frag__v6_ext), first and later */
	eth(&f, 0x86dd), ipv6(&f, 44), ip6frag(&f, 0, 0, 1), ip6ext(&f, 6, 0),
	    tcp(&f, 40000, 80, 5), fix_len(&f);
	run_expect("ipv6 hbh-in-frag", &f, XDP_PASS,
		   (struct stat_expect[]){M6, {MAILTAP_STAT_FRAG, 1}, END_EXPECT});
	eth(&f, 0x86dd), ipv6(&f, 44), ip6frag(&f, 0, 100, 0), put(&f, "payload.", 8), fix_len(&f);
	run_expect("ipv6 hbh-in-frag last", &f, XDP_PASS,
		   (struct stat_expect[]){M6, {MAILTAP_STAT_FRAG, 1}, END_EXPECT});
	/* ... and Routing, AH */
	eth(&f, 0x86dd), ipv6(&f, 44), ip6frag(&f, 43, 0, 1), ip6ext(&f, 6, 0),
	    tcp(&f, 40000, 80, 5), fix_len(&f);
	run_expect("ipv6 rt-in-frag", &f, XDP_PASS,
		   (struct stat_expect[]){M6, {MAILTAP_STAT_FRAG, 1}, END_EXPECT});
	eth(&f, 0x86dd), ipv6(&f, 44), ip6frag(&f, 51, 10, 1), put(&f, "payload.", 8), fix_len(&f);
	run_expect("ipv6 ah-in-frag", &f, XDP_PASS,
		   (struct stat_expect[]){M6, {MAILTAP_STAT_FRAG, 1}, END_EXPECT});
	/* No next header */
	eth(&f, 0x86dd), ipv6(&f, 59), fix_len(&f);
	run_expect("ipv6 no next", &f, XDP_PASS,
		   (struct stat_expect[]){
		       PASS_AS(MAILTAP_STAT_NON_TCP), {MAILTAP_STAT_IPV6, 1}, END_EXPECT});
}

/* n extension headers (Destination Options, Hop-by-Hop first, one Fragment header, atomic,
 * when frag; 8 or 16 bytes each by big) and TCP ->25 behind them, after the link headers the
 * caller wrote (EtherType 0x86dd last). */
static void ipv6_n_ext(struct frame *f, int n, int frag, int big)
{
	ipv6(f, n ? 0 : 6);
	for (int i = 0; i < n; i++) {
		uint8_t next = i == n - 1 ? 6 : frag && i == n / 2 - 1 ? 44 : 60;

		if (frag && i == n / 2)
			ip6frag(f, next, 0, 0);
		else
			ip6ext(f, next, (uint8_t)(big && i % 2));
	}
	tcp(f, 40000, 25, 5), fix_len(f);
}

/* Up to MAILTAP_MAX_IPV6_EXT extension headers are followed, as user/decode.c does, whatever
 * their kinds and sizes and whatever is in front of the IPv6 header; one more is parse_err
 * (bad_ipv6_extension_header offline). Before, the loop spent one of its 6 rounds on TCP: 6
 * headers were a parse error live and a connection offline. */
static void test_ipv6_ext_limit(void **state)
{
	static const struct {
		int n, frag, big;
	} ok[] = {{5, 0, 0}, {6, 0, 0}, {6, 1, 1}, {15, 0, 1}, {16, 0, 0}, {16, 0, 1}, {16, 1, 1}};
	char what[64];
	struct frame f;

	NEED_PROG();
	assert_int_equal(MAILTAP_MAX_IPV6_EXT, 16);
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		snprintf(what, sizeof(what), "ipv6 %d ext%s%s ->25", ok[i].n,
			 ok[i].frag ? " (a fragment header)" : "", ok[i].big ? " (16 bytes)" : "");
		eth(&f, 0x86dd), ipv6_n_ext(&f, ok[i].n, ok[i].frag, ok[i].big);
		run_expect(what, &f, XDP_PASS, (struct stat_expect[]){M6, END_EXPECT});
	}
	/* behind 8 tags and an MPLS stack, and inside a tunnel */
	eth(&f, 0x0800);
	for (int i = 0; i < 8; i++)
		vlan(&f, 0x8100, (uint16_t)(10 + i), i == 7 ? 0x8847 : 0x0800);
	mpls(&f, 3, 1), ipv6_n_ext(&f, 16, 1, 1);
	run_expect("8 tags mpls ipv6 16 ext ->25", &f, XDP_PASS,
		   (struct stat_expect[]){
		       M6, {MAILTAP_STAT_VLAN, 1}, {MAILTAP_STAT_MPLS, 1}, END_EXPECT});
	eth(&f, 0x0800), ipv4(&f, 17, 0, 0, 0), vxlan(&f, 4789), eth_in(&f, 0x86dd);
	ipv6_n_ext(&f, 16, 0, 1);
	f.l3 = 14, f.ipv = 4, fix_len(&f);
	run_expect("vxlan ipv6 16 ext ->25", &f, XDP_PASS,
		   (struct stat_expect[]){T4, END_EXPECT});
	/* one more */
	eth(&f, 0x86dd), ipv6_n_ext(&f, 17, 0, 0);
	run_expect("ipv6 17 ext", &f, XDP_PASS,
		   (struct stat_expect[]){
		       PASS_AS(MAILTAP_STAT_PARSE_ERR), {MAILTAP_STAT_IPV6, 1}, END_EXPECT});
	eth(&f, 0x0800), ipv4(&f, 17, 0, 0, 0), vxlan(&f, 4789), eth_in(&f, 0x86dd);
	ipv6_n_ext(&f, 17, 1, 0);
	f.l3 = 14, f.ipv = 4, fix_len(&f);
	run_expect("vxlan ipv6 17 ext", &f, XDP_PASS,
		   (struct stat_expect[]){TUN_AS(MAILTAP_STAT_PARSE_ERR), END_EXPECT});
}

static void test_not_ours(void **state)
{
	struct frame f;
	/* ARP request who-has 10.0.0.2 tell 10.0.0.1 */
	static const uint8_t arp[28] = {0,  1, 8, 0, 6, 4, 0, 1, 2, 0, 0,  0, 0, 1,
					10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 10, 0, 0, 2};

	NEED_PROG();
	eth(&f, 0x0806), put(&f, arp, sizeof(arp));
	run_expect("arp", &f, XDP_PASS,
		   (struct stat_expect[]){PASS_AS(MAILTAP_STAT_NON_IP), END_EXPECT});
	eth(&f, 0x0800), ipv4(&f, 17, 0, 0, 0), udp(&f, 40000, 25), fix_len(&f);
	run_expect("ipv4 udp ->25", &f, XDP_PASS,
		   (struct stat_expect[]){
		       PASS_AS(MAILTAP_STAT_NON_TCP), {MAILTAP_STAT_IPV4, 1}, END_EXPECT});
	eth(&f, 0x86dd), ipv6(&f, 17), udp(&f, 25, 25), fix_len(&f);
	run_expect("ipv6 udp 25->25", &f, XDP_PASS,
		   (struct stat_expect[]){
		       PASS_AS(MAILTAP_STAT_NON_TCP), {MAILTAP_STAT_IPV6, 1}, END_EXPECT});
	eth(&f, 0x86dd), ipv6(&f, 58), put(&f, "\x80\0\0\0\0\0\0\0", 8), fix_len(&f);
	run_expect("icmpv6 echo", &f, XDP_PASS,
		   (struct stat_expect[]){
		       PASS_AS(MAILTAP_STAT_NON_TCP), {MAILTAP_STAT_IPV6, 1}, END_EXPECT});
}

static void test_truncated(void **state)
{
	struct frame f;

	NEED_PROG();
	/* IPv4 header cut at 10 bytes */
	eth(&f, 0x0800), ipv4(&f, 6, 0, 0, 0), tcp(&f, 40000, 25, 5), fix_len(&f);
	f.n = 14 + 10;
	run_expect("ipv4 cut", &f, XDP_PASS,
		   (struct stat_expect[]){
		       PASS_AS(MAILTAP_STAT_PARSE_ERR), {MAILTAP_STAT_IPV4, 1}, END_EXPECT});
	/* IHL says 60 bytes, frame ends after 40 */
	eth(&f, 0x0800), ipv4(&f, 6, 0, 40, 1), fix_len(&f);
	f.n = 14 + 40;
	run_expect("ipv4 options cut", &f, XDP_PASS,
		   (struct stat_expect[]){
		       PASS_AS(MAILTAP_STAT_PARSE_ERR), {MAILTAP_STAT_IPV4, 1}, END_EXPECT});
	/* IHL below 5 */
	eth(&f, 0x0800), ipv4(&f, 6, 0, 0, 0), tcp(&f, 40000, 25, 5), fix_len(&f);
	f.b[14] = 0x44;
	run_expect("ipv4 ihl 4", &f, XDP_PASS,
		   (struct stat_expect[]){
		       PASS_AS(MAILTAP_STAT_PARSE_ERR), {MAILTAP_STAT_IPV4, 1}, END_EXPECT});
	/* Version 6 inside an IPv4 EtherType */
	eth(&f, 0x0800), ipv4(&f, 6, 0, 0, 0), tcp(&f, 40000, 25, 5), fix_len(&f);
	f.b[14] = 0x65;
	run_expect("ipv4 version 6", &f, XDP_PASS,
		   (struct stat_expect[]){
		       PASS_AS(MAILTAP_STAT_PARSE_ERR), {MAILTAP_STAT_IPV4, 1}, END_EXPECT});
	/* TCP header cut at 12 bytes */
	eth(&f, 0x0800), ipv4(&f, 6, 0, 0, 0), tcp(&f, 40000, 25, 5), fix_len(&f);
	f.n = 14 + 20 + 12;
	run_expect("tcp cut", &f, XDP_PASS,
		   (struct stat_expect[]){
		       PASS_AS(MAILTAP_STAT_PARSE_ERR), {MAILTAP_STAT_IPV4, 1}, END_EXPECT});
	/* TCP data offset 4 */
	eth(&f, 0x0800), ipv4(&f, 6, 0, 0, 0), tcp(&f, 40000, 25, 4), fix_len(&f);
	run_expect("tcp doff 4", &f, XDP_PASS,
		   (struct stat_expect[]){
		       PASS_AS(MAILTAP_STAT_PARSE_ERR), {MAILTAP_STAT_IPV4, 1}, END_EXPECT});
	/* IPv6 header cut */
	eth(&f, 0x86dd), ipv6(&f, 6), fix_len(&f);
	f.n = 14 + 39;
	run_expect("ipv6 cut", &f, XDP_PASS,
		   (struct stat_expect[]){
		       PASS_AS(MAILTAP_STAT_PARSE_ERR), {MAILTAP_STAT_IPV6, 1}, END_EXPECT});
	/* Extension header whose length runs past the end */
	eth(&f, 0x86dd), ipv6(&f, 0), ip6ext(&f, 6, 1), fix_len(&f);
	f.n -= 4;
	run_expect("ipv6 ext cut", &f, XDP_PASS,
		   (struct stat_expect[]){
		       PASS_AS(MAILTAP_STAT_PARSE_ERR), {MAILTAP_STAT_IPV6, 1}, END_EXPECT});
	/* Fragment header cut */
	eth(&f, 0x86dd), ipv6(&f, 44), ip6frag(&f, 6, 1, 0), fix_len(&f);
	f.n -= 1;
	run_expect("ipv6 frag hdr cut", &f, XDP_PASS,
		   (struct stat_expect[]){
		       PASS_AS(MAILTAP_STAT_PARSE_ERR), {MAILTAP_STAT_IPV6, 1}, END_EXPECT});
	/* IPv6 TCP cut */
	eth(&f, 0x86dd), ipv6(&f, 6), tcp(&f, 40000, 25, 5), fix_len(&f);
	f.n = 14 + 40 + 19;
	run_expect("ipv6 tcp cut", &f, XDP_PASS,
		   (struct stat_expect[]){
		       PASS_AS(MAILTAP_STAT_PARSE_ERR), {MAILTAP_STAT_IPV6, 1}, END_EXPECT});
}

static void test_port_set_runtime(void **state)
{
	struct frame f;

	NEED_PROG();
	set_port(25, 0);
	eth(&f, 0x0800), ipv4(&f, 6, 0, 0, 0), tcp(&f, 40000, 25, 5), fix_len(&f);
	run_expect("port 25 removed", &f, XDP_PASS,
		   (struct stat_expect[]){
		       PASS_AS(MAILTAP_STAT_OTHER_PORT), {MAILTAP_STAT_IPV4, 1}, END_EXPECT});
	set_port(2525, 1);
	eth(&f, 0x0800), ipv4(&f, 6, 0, 0, 0), tcp(&f, 40000, 2525, 5), fix_len(&f);
	run_expect("port 2525 added", &f, XDP_PASS, (struct stat_expect[]){M4, END_EXPECT});
	set_port(65535, 1);
	eth(&f, 0x0800), ipv4(&f, 6, 0, 0, 0), tcp(&f, 65535, 1, 5), fix_len(&f);
	run_expect("port 65535 added", &f, XDP_PASS, (struct stat_expect[]){M4, END_EXPECT});
	set_port(2525, 0);
	set_port(65535, 0);
	set_port(25, 1);
	eth(&f, 0x0800), ipv4(&f, 6, 0, 0, 0), tcp(&f, 40000, 25, 5), fix_len(&f);
	run_expect("port 25 back", &f, XDP_PASS, (struct stat_expect[]){M4, END_EXPECT});
}

/* Metadata: the program writes struct mailtap_meta in front of a matched frame, and
 * BPF_PROG_TEST_RUN returns it in data_out ahead of the frame. Non-matched: no metadata. */
static void test_meta(void **state)
{
	struct frame f;
	struct mailtap_meta meta;
	uint8_t out[256];
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_out = out, .data_size_out = sizeof(out),
		    .repeat = 1);
	struct timespec ts;
	uint64_t t0, t1;

	NEED_PROG();
	eth(&f, 0x0800), ipv4(&f, 6, 0, 0, 0), tcp(&f, 40000, 25, 5), fix_len(&f);
	o.data_in = f.b;
	o.data_size_in = (__u32)f.n;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	t0 = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	assert_int_equal(bpf_prog_test_run_opts(prog_fd, &o), 0);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	t1 = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	assert_int_equal(o.retval, XDP_PASS);
	assert_int_equal(o.data_size_out, sizeof(meta) + f.n);
	memcpy(&meta, out, sizeof(meta));
	assert_int_equal(meta.magic, MAILTAP_META_MAGIC);
	assert_int_equal(meta.flags, 0);
	assert_in_range(meta.ts_ns, t0, t1);
	assert_memory_equal(out + sizeof(meta), f.b, f.n);

	/* A fragment is flagged. */
	eth(&f, 0x0800), ipv4(&f, 6, 100, 0, 0), put(&f, "payload.", 8), fix_len(&f);
	o.data_in = f.b;
	o.data_size_in = (__u32)f.n;
	o.data_size_out = sizeof(out);
	assert_int_equal(bpf_prog_test_run_opts(prog_fd, &o), 0);
	assert_int_equal(o.data_size_out, sizeof(meta) + f.n);
	memcpy(&meta, out, sizeof(meta));
	assert_int_equal(meta.magic, MAILTAP_META_MAGIC);
	assert_int_equal(meta.flags, MAILTAP_META_F_FRAG);

	/* Not matched: the frame comes back untouched, without metadata. */
	eth(&f, 0x0800), ipv4(&f, 6, 0, 0, 0), tcp(&f, 40000, 80, 5), fix_len(&f);
	o.data_in = f.b;
	o.data_size_in = (__u32)f.n;
	o.data_size_out = sizeof(out);
	assert_int_equal(bpf_prog_test_run_opts(prog_fd, &o), 0);
	assert_int_equal(o.data_size_out, f.n);
	assert_memory_equal(out, f.b, f.n);
}

/* Writes the program's VXLAN and Geneve ports (its .data.tunports, as mailtap's loader and an
 * operator's bpftool do). */
static void set_tunnel_ports(const struct mailtap_tunnel_ports *t)
{
	int fd = bpf_object__find_map_fd_by_name(obj, MAILTAP_TUNNEL_PORTS_SEC);
	__u32 k = 0;

	assert_true(fd >= 0);
	assert_int_equal(bpf_map_update_elem(fd, &k, t, BPF_ANY), 0);
}

/* VXLAN to an inner mail packet (mail: 1) or an inner TCP ->443, to dport. */
static void vxlan_frame(struct frame *f, uint16_t dport, int mail)
{
	eth(f, 0x0800), ipv4(f, 17, 0, 0, 0), vxlan(f, dport), eth_in(f, 0x0800),
	    ipv4(f, 6, 0, 0, 0), tcp(f, 40000, mail ? 25 : 443, 5), fix_len(f);
}

/* The VXLAN and Geneve ports are the program's .data.tunports, Zeek's defaults as loaded:
 * VXLAN on 8472 (Linux's own port) is plain UDP there; with 4789,8472 it is a tunnel on both
 * (mail inside matched, other TCP other_port); the fourth slot counts; with the lists swapped
 * (Geneve on 4789, no VXLAN) a VXLAN header to 4789 is read as Geneve's (no IP: non_tcp, no
 * tunnel) and Geneve to 4789 is followed, to 6081 not; empty lists follow nothing, and UDP to
 * port 0 matches no empty slot. */
static void test_tunnel_ports(void **state)
{
	static const struct mailtap_tunnel_ports def = MAILTAP_TUNNEL_PORTS_DEFAULT;
	struct mailtap_tunnel_ports t;
	const struct stat_expect plain_udp[] = {PASS_AS(MAILTAP_STAT_NON_TCP),
						{MAILTAP_STAT_IPV4, 1}, END_EXPECT};
	struct frame f;
	__u32 k = 0;

	NEED_PROG();
	(void)state;
	assert_int_equal(bpf_map_lookup_elem(
			     bpf_object__find_map_fd_by_name(obj, MAILTAP_TUNNEL_PORTS_SEC), &k, &t),
			 0);
	assert_memory_equal(&t, &def, sizeof(t)); /* as the object was loaded */
	vxlan_frame(&f, 8472, 1);
	run_expect("vxlan 8472, defaults", &f, XDP_PASS, plain_udp);

	set_tunnel_ports(&(struct mailtap_tunnel_ports){.vxlan = {4789, 8472}, .geneve = {6081}});
	run_expect("vxlan 8472 ->25", &f, XDP_PASS, (struct stat_expect[]){T4, END_EXPECT});
	vxlan_frame(&f, 8472, 0);
	run_expect("vxlan 8472 ->443", &f, XDP_PASS,
		   (struct stat_expect[]){TUN_AS(MAILTAP_STAT_OTHER_PORT), END_EXPECT});
	vxlan_frame(&f, 4789, 1);
	run_expect("vxlan 4789 ->25 beside 8472", &f, XDP_PASS,
		   (struct stat_expect[]){T4, END_EXPECT});
	eth(&f, 0x0800), ipv4(&f, 17, 0, 0, 0), geneve(&f), eth_in(&f, 0x0800),
	    ipv4(&f, 6, 0, 0, 0), tcp(&f, 40000, 25, 5), fix_len(&f);
	run_expect("geneve 6081 beside", &f, XDP_PASS, (struct stat_expect[]){T4, END_EXPECT});

	set_tunnel_ports(&(struct mailtap_tunnel_ports){.vxlan = {1, 2, 3, 8472}});
	vxlan_frame(&f, 8472, 1);
	run_expect("vxlan fourth slot", &f, XDP_PASS, (struct stat_expect[]){T4, END_EXPECT});
	eth(&f, 0x0800), ipv4(&f, 17, 0, 0, 0), geneve(&f), eth_in(&f, 0x0800),
	    ipv4(&f, 6, 0, 0, 0), tcp(&f, 40000, 25, 5), fix_len(&f);
	run_expect("geneve none", &f, XDP_PASS, plain_udp);

	set_tunnel_ports(&(struct mailtap_tunnel_ports){.geneve = {4789}});
	vxlan_frame(&f, 4789, 1);
	run_expect("vxlan header to geneve's 4789", &f, XDP_PASS, plain_udp);
	eth(&f, 0x0800), ipv4(&f, 17, 0, 0, 0), geneve_to(&f, 4789), eth_in(&f, 0x0800),
	    ipv4(&f, 6, 0, 0, 0), tcp(&f, 40000, 25, 5), fix_len(&f);
	run_expect("geneve 4789 ->25", &f, XDP_PASS, (struct stat_expect[]){T4, END_EXPECT});

	set_tunnel_ports(&(struct mailtap_tunnel_ports){0});
	run_expect("geneve 4789, none", &f, XDP_PASS, plain_udp);
	vxlan_frame(&f, 4789, 1);
	run_expect("vxlan 4789, none", &f, XDP_PASS, plain_udp);
	eth(&f, 0x0800), ipv4(&f, 17, 0, 0, 0), vxlan(&f, 0), eth_in(&f, 0x0800),
	    ipv4(&f, 6, 0, 0, 0), tcp(&f, 40000, 25, 5), fix_len(&f);
	run_expect("udp to port 0, none", &f, XDP_PASS, plain_udp);

	set_tunnel_ports(&def);
	vxlan_frame(&f, 4789, 1);
	run_expect("vxlan 4789, defaults again", &f, XDP_PASS,
		   (struct stat_expect[]){T4, END_EXPECT});
}

static int setup(void **state)
{
	const char *b = getenv("BUILD");
	static char path[4096];
	struct bpf_program *p;
	__u32 k;
	__u64 w = 0;
	uint16_t defports[] = MAILTAP_DEFAULT_PORTS;
	int err;

	if (!obj_path) {
		snprintf(path, sizeof(path), "%s/mailtap.bpf.o", b && *b ? b : "build");
		obj_path = path;
	}
	if (geteuid() != 0) {
		skip_reason = "test_bpf: needs root (CAP_BPF, CAP_NET_ADMIN)";
		return 0;
	}
	if (access(obj_path, R_OK) != 0) {
		skip_reason = "test_bpf: BPF object not found (argv[1], $BUILD/mailtap.bpf.o)";
		return 0;
	}
	ncpus = libbpf_num_possible_cpus();
	assert_true(ncpus > 0);
	obj = bpf_object__open_file(obj_path, NULL);
	if (!obj) {
		fprintf(stderr, "open %s: %s\n", obj_path, strerror(errno));
		return -1;
	}
	err = bpf_object__load(obj);
	if (err) {
		fprintf(stderr, "load %s: %s\n", obj_path, strerror(-err));
		return -1;
	}
	p = bpf_object__find_program_by_name(obj, MAILTAP_PROG_NAME);
	if (!p)
		return -1;
	prog_fd = bpf_program__fd(p);
	ports_fd = bpf_object__find_map_fd_by_name(obj, MAILTAP_MAP_PORTS);
	stats_fd = bpf_object__find_map_fd_by_name(obj, MAILTAP_MAP_STATS);
	if (prog_fd < 0 || ports_fd < 0 || stats_fd < 0)
		return -1;
	for (k = 0; k < MAILTAP_PORT_WORDS; k++)
		bpf_map_update_elem(ports_fd, &k, &w, BPF_ANY);
	for (size_t i = 0; i < sizeof(defports) / sizeof(defports[0]); i++) {
		k = MAILTAP_PORT_WORD(defports[i]);
		bpf_map_lookup_elem(ports_fd, &k, &w);
		w |= MAILTAP_PORT_BIT(defports[i]);
		bpf_map_update_elem(ports_fd, &k, &w, BPF_ANY);
	}
	return 0;
}

static int teardown(void **state)
{
	bpf_object__close(obj);
	return 0;
}

/* ---- tunnels inside tunnels (Zeek's Tunnel::max_depth 2) ---- */

enum nest_kind {
	N_VXLAN,
	N_VXLAN8472,
	N_GENEVE,
	N_GRE_TEB,
	N_GRE_IP,
	N_ERSPAN2,
	N_ERSPAN3,
	N_IPIP,
	N_PPTP,
	N_AYIYA,
	N_GTP,
	N__N
};
static const char *const nest_names[N__N] = {"vxlan",  "vxlan:8472", "geneve",	"gre-teb",
					     "gre-ip", "erspan2",    "erspan3", "ipip",
					     "pptp",   "ayiya",	     "gtp"};

/* An IPv4 header and the headers of tunnel k around an IPv4 packet (Ethernet first for the
 * kinds that carry a frame), appended. */
static void nest_hdr(struct frame *f, enum nest_kind k)
{
	static const uint8_t ayiya[8 + 16 + 20] = {0x41, 0x52, 0x11, 4};

	switch (k) {
	case N_VXLAN:
	case N_VXLAN8472:
		ipv4(f, 17, 0, 0, 0), vxlan(f, k == N_VXLAN ? 4789 : 8472), eth_in(f, 0x0800);
		break;
	case N_GENEVE:
		ipv4(f, 17, 0, 0, 0), geneve(f), eth_in(f, 0x0800);
		break;
	case N_GRE_TEB:
		ipv4(f, 47, 0, 0, 0), gre(f, 0x2000, 0x6558), eth_in(f, 0x0800);
		break;
	case N_GRE_IP:
		ipv4(f, 47, 0, 0, 0), gre(f, 0, 0x0800);
		break;
	case N_ERSPAN2:
		ipv4(f, 47, 0, 0, 0), gre(f, 0x1000, 0x88be), eth_in(f, 0x0800);
		break;
	case N_ERSPAN3:
		ipv4(f, 47, 0, 0, 0), gre(f, 0x1000, 0x22eb), eth_in(f, 0x0800);
		break;
	case N_IPIP:
		ipv4(f, 4, 0, 0, 0);
		break;
	case N_PPTP: /* key, PPP IPv4 */
		ipv4(f, 47, 0, 0, 0), put16(f, 0x2001), put16(f, 0x880b),
		    put(f, (uint8_t[8]){0, 0, 0, 77, 0xff, 0x03, 0, 0x21}, 8);
		break;
	case N_AYIYA:
		ipv4(f, 17, 0, 0, 0), udp(f, 40002, 5072), put(f, ayiya, sizeof(ayiya));
		break;
	default:
		ipv4(f, 17, 0, 0, 0), udp(f, 2152, 2152), gtp(f, 0x30, 0);
		break;
	}
}

/* Every kind of tunnel inside every other (VXLAN on 8472 with it in mailtap_tunnel_ports, as
 * --vxlan-ports 4789,8472), and Teredo inside one: the mail two tunnels deep matched by its
 * own ports, counted once as ipv4 (the outer packet's) and once as tunnel; non-mail inside
 * passed as other_port; a third level passed as non_tcp (user/decode.c drops it:
 * exceeded_tunnel_max_depth); a fragment of a UDP datagram inside the first tunnel (maybe a
 * second tunnel's) steered, as userspace reassembles it, but not inside the second one, nor
 * in a pseudowire's frame; cut headers in the second tunnel passed as parse_err. */
static void test_nested_tunnels(void **state)
{
	static const struct mailtap_tunnel_ports def = MAILTAP_TUNNEL_PORTS_DEFAULT;
	struct mailtap_tunnel_ports tp = MAILTAP_TUNNEL_PORTS_DEFAULT;
	struct frame f;
	char what[64];

	NEED_PROG();
	tp.vxlan[1] = 8472;
	set_tunnel_ports(&tp);
	for (int o = 0; o < N__N; o++) {
		for (int i = 0; i < N__N; i++) {
			snprintf(what, sizeof(what), "%s in %s ->25", nest_names[i], nest_names[o]);
			eth(&f, 0x0800), nest_hdr(&f, (enum nest_kind)o),
			    nest_hdr(&f, (enum nest_kind)i), ipv4(&f, 6, 0, 0, 0),
			    tcp(&f, 40000, 25, 5), fix_len(&f);
			run_expect(what, &f, XDP_PASS, (struct stat_expect[]){T4, END_EXPECT});
			snprintf(what, sizeof(what), "%s in %s ->443", nest_names[i],
				 nest_names[o]);
			eth(&f, 0x0800), nest_hdr(&f, (enum nest_kind)o),
			    nest_hdr(&f, (enum nest_kind)i), ipv4(&f, 6, 0, 0, 0),
			    tcp(&f, 40000, 443, 5), fix_len(&f);
			run_expect(
			    what, &f, XDP_PASS,
			    (struct stat_expect[]){TUN_AS(MAILTAP_STAT_OTHER_PORT), END_EXPECT});
			/* a third level, of kind i, inside two of kind o */
			snprintf(what, sizeof(what), "%s in %s in %s", nest_names[i], nest_names[o],
				 nest_names[o]);
			eth(&f, 0x0800), nest_hdr(&f, (enum nest_kind)o),
			    nest_hdr(&f, (enum nest_kind)o), nest_hdr(&f, (enum nest_kind)i),
			    ipv4(&f, 6, 0, 0, 0), tcp(&f, 40000, 25, 5), fix_len(&f);
			run_expect(
			    what, &f, XDP_PASS,
			    (struct stat_expect[]){TUN_AS(MAILTAP_STAT_NON_TCP), END_EXPECT});
		}
		/* Teredo inside: IPv6 mail */
		snprintf(what, sizeof(what), "teredo in %s ->25", nest_names[o]);
		eth(&f, 0x0800), nest_hdr(&f, (enum nest_kind)o), ipv4(&f, 17, 0, 0, 0),
		    udp(&f, 40001, 3544), ipv6(&f, 6), tcp(&f, 40000, 25, 5), fix_len(&f);
		run_expect(what, &f, XDP_PASS, (struct stat_expect[]){T4, END_EXPECT});
		/* a fragment inside the first tunnel of a UDP datagram: steered */
		snprintf(what, sizeof(what), "udp fragment in %s", nest_names[o]);
		eth(&f, 0x0800), nest_hdr(&f, (enum nest_kind)o), ipv4(&f, 17, 0x2000, 0, 0),
		    udp(&f, 49152, 8472), fix_len(&f);
		run_expect(what, &f, XDP_PASS,
			   (struct stat_expect[]){T4, {MAILTAP_STAT_FRAG, 1}, END_EXPECT});
	}
	/* IPv6 middle packets: VXLAN in 6in4, GRE in IPv6 in VXLAN */
	eth(&f, 0x0800), ipv4(&f, 41, 0, 0, 0), ipv6(&f, 17), vxlan(&f, 4789), eth_in(&f, 0x0800),
	    ipv4(&f, 6, 0, 0, 0), tcp(&f, 40000, 25, 5), fix_len(&f);
	run_expect("vxlan in 6in4", &f, XDP_PASS, (struct stat_expect[]){T4, END_EXPECT});
	eth(&f, 0x0800), nest_hdr(&f, N_VXLAN);
	f.n -= 2, put16(&f, 0x86dd), ipv6(&f, 47), gre(&f, 0, 0x0800), ipv4(&f, 6, 0, 0, 0),
	    tcp(&f, 40000, 25, 5), fix_len(&f);
	run_expect("gre in ipv6 in vxlan", &f, XDP_PASS, (struct stat_expect[]){T4, END_EXPECT});
	/* a fragment inside the second tunnel of a UDP datagram: not steered (no third level) */
	eth(&f, 0x0800), nest_hdr(&f, N_VXLAN), nest_hdr(&f, N_GRE_IP), ipv4(&f, 17, 0x2000, 0, 0),
	    udp(&f, 49152, 4789), fix_len(&f);
	run_expect("udp fragment in gre in vxlan", &f, XDP_PASS,
		   (struct stat_expect[]){TUN_AS(MAILTAP_STAT_NON_TCP), END_EXPECT});
	/* but a TCP fragment there: steered */
	eth(&f, 0x0800), nest_hdr(&f, N_VXLAN), nest_hdr(&f, N_GRE_IP), ipv4(&f, 6, 0x2000, 0, 0),
	    tcp(&f, 40000, 80, 5), fix_len(&f);
	run_expect("tcp fragment in gre in vxlan", &f, XDP_PASS,
		   (struct stat_expect[]){T4, {MAILTAP_STAT_FRAG, 1}, END_EXPECT});
	/* a pseudowire's frame: VXLAN in it not followed, a UDP fragment in it not steered */
	eth(&f, 0x8847), put(&f, (uint8_t[4]){0, 0x10, 0x01, 64}, 4), put(&f, (uint8_t[4]){0}, 4),
	    eth_in(&f, 0x0800), ipv4(&f, 17, 0x2000, 0, 0), udp(&f, 49152, 4789), fix_len(&f);
	run_expect("udp fragment in a pseudowire", &f, XDP_PASS,
		   (struct stat_expect[]){PASS_AS(MAILTAP_STAT_NON_TCP),
					  {MAILTAP_STAT_IPV4, 1},
					  {MAILTAP_STAT_MPLS, 1},
					  END_EXPECT});
	/* cuts in the second tunnel's headers: parse_err */
	eth(&f, 0x0800), nest_hdr(&f, N_VXLAN), ipv4(&f, 17, 0, 0, 0), vxlan(&f, 8472);
	f.n -= 4;
	run_expect("vxlan:8472 cut in vxlan", &f, XDP_PASS,
		   (struct stat_expect[]){TUN_AS(MAILTAP_STAT_PARSE_ERR), END_EXPECT});
	eth(&f, 0x0800), nest_hdr(&f, N_GENEVE), ipv4(&f, 47, 0, 0, 0), gre(&f, 0x2000, 0x6558);
	f.n -= 2;
	run_expect("gre cut in geneve", &f, XDP_PASS,
		   (struct stat_expect[]){TUN_AS(MAILTAP_STAT_PARSE_ERR), END_EXPECT});
	/* VXLAN on 8472 inside, 8472 not configured: the inner UDP passed as non_tcp */
	set_tunnel_ports(&def);
	eth(&f, 0x0800), nest_hdr(&f, N_VXLAN), nest_hdr(&f, N_VXLAN8472), ipv4(&f, 6, 0, 0, 0),
	    tcp(&f, 40000, 25, 5), fix_len(&f);
	run_expect("vxlan:8472 in vxlan, 8472 not a VXLAN port", &f, XDP_PASS,
		   (struct stat_expect[]){TUN_AS(MAILTAP_STAT_NON_TCP), END_EXPECT});
	(void)state;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ipv4_tcp),	   cmocka_unit_test(test_ipv4_options),
	    cmocka_unit_test(test_vlan),	   cmocka_unit_test(test_ipv4_fragments),
	    cmocka_unit_test(test_ipv6),	   cmocka_unit_test(test_not_ours),
	    cmocka_unit_test(test_truncated),	   cmocka_unit_test(test_port_set_runtime),
	    cmocka_unit_test(test_meta),	   cmocka_unit_test(test_mpls_pppoe),
	    cmocka_unit_test(test_tunnels),	   cmocka_unit_test(test_l2_tags),
	    cmocka_unit_test(test_udp_ip_tunnels), cmocka_unit_test(test_tunnel_ports),
	    cmocka_unit_test(test_nested_tunnels), cmocka_unit_test(test_ipv6_ext_limit),
	};

	if (argc > 1)
		obj_path = argv[1];
	return cmocka_run_group_tests(tests, setup, teardown);
}
