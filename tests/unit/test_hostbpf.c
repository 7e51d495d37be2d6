// SPDX-License-Identifier: BSD-3-Clause
/*
 * Host-mode BPF programs (bpf/mailtap_host.bpf.c) under BPF_PROG_TEST_RUN: crafted frames
 * through the XDP (ingress) and TC (egress) programs. Checks that every packet passes
 * unchanged (XDP_PASS / TC_ACT_UNSPEC, data_out == data_in), every counter exactly, and
 * the ring buffer records: header (direction, lengths, flags) and the copied bytes.
 * Needs root (CAP_BPF, CAP_PERFMON); otherwise every test is skipped and says why.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "mailtap_host_abi.h"
#include "mailtap_host.skel.h"
#include "frames.h"

#define MAX_RECS 64
#define REC_MAX 4096

struct rec {
	struct mailtap_host_rec h;
	uint8_t data[REC_MAX];
	size_t size; /* whole record as read from the ring */
};

static const char *skip_reason;
static struct rec recs[MAX_RECS];
static int n_recs;

struct env {
	struct mailtap_host_bpf *skel;
	struct ring_buffer *rb;
	int ncpu;
	int tai;
};

static int on_rec(void *ctx, void *data, size_t size)
{
	(void)ctx;
	if (n_recs >= MAX_RECS || size > sizeof(struct mailtap_host_rec) + REC_MAX)
		return 0;
	memcpy(&recs[n_recs], data, size);
	recs[n_recs].size = size;
	n_recs++;
	return 0;
}

static struct env *env_new(uint32_t snaplen, uint32_t ring)
{
	static const uint16_t ports[] = {25, 465, 587};
	struct env *e = calloc(1, sizeof(*e));
	__u64 words[MAILTAP_HOST_PORT_WORDS] = {0};
	__u32 k;
	size_t i;

	assert_non_null(e);
	e->ncpu = libbpf_num_possible_cpus();
	e->skel = mailtap_host_bpf__open();
	assert_non_null(e->skel);
	e->tai = libbpf_probe_bpf_helper(BPF_PROG_TYPE_XDP, BPF_FUNC_ktime_get_tai_ns, NULL) > 0;
	e->skel->rodata->snaplen = snaplen;
	e->skel->rodata->use_tai = e->tai;
	assert_int_equal(bpf_map__set_max_entries(e->skel->maps.mth_scratch, 2 * e->ncpu), 0);
	assert_int_equal(bpf_map__set_max_entries(e->skel->maps.mth_events, ring), 0);
	assert_int_equal(mailtap_host_bpf__load(e->skel), 0);
	for (i = 0; i < sizeof(ports) / sizeof(ports[0]); i++)
		words[ports[i] / 64] |= (__u64)1 << (ports[i] % 64);
	for (k = 0; k < MAILTAP_HOST_PORT_WORDS; k++)
		assert_int_equal(
		    bpf_map_update_elem(bpf_map__fd(e->skel->maps.mth_ports), &k, &words[k], 0), 0);
	e->rb = ring_buffer__new(bpf_map__fd(e->skel->maps.mth_events), on_rec, NULL, NULL);
	assert_non_null(e->rb);
	return e;
}

static void env_free(struct env *e)
{
	ring_buffer__free(e->rb);
	mailtap_host_bpf__destroy(e->skel);
	free(e);
}

static void set_port(struct env *e, uint16_t port, int on)
{
	int fd = bpf_map__fd(e->skel->maps.mth_ports);
	__u32 k = port / 64;
	__u64 w;

	assert_int_equal(bpf_map_lookup_elem(fd, &k, &w), 0);
	if (on)
		w |= (__u64)1 << (port % 64);
	else
		w &= ~((__u64)1 << (port % 64));
	assert_int_equal(bpf_map_update_elem(fd, &k, &w, 0), 0);
}

static void stats_reset(struct env *e)
{
	__u64 *z = calloc((size_t)e->ncpu, sizeof(*z));
	__u32 k;

	for (k = 0; k < MAILTAP_HOST_STAT__MAX; k++)
		assert_int_equal(
		    bpf_map_update_elem(bpf_map__fd(e->skel->maps.mth_stats), &k, z, 0), 0);
	free(z);
}

static void stats_read(struct env *e, uint64_t *out)
{
	__u64 *v = calloc((size_t)e->ncpu, sizeof(*v));
	__u32 k;
	int c;

	for (k = 0; k < MAILTAP_HOST_STAT__MAX; k++) {
		assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(e->skel->maps.mth_stats), &k, v),
				 0);
		out[k] = 0;
		for (c = 0; c < e->ncpu; c++)
			out[k] += v[c];
	}
	free(v);
}

enum hook { XDP, TC };

/*
 * Runs one frame through a hook; asserts the pass verdict, unchanged bytes, the counters
 * (exp: pairs stat, value; -1 ends; seen and ingress/egress are implied) and returns the
 * number of ring records it produced (in recs[0..]).
 */
static int run(struct env *e, enum hook h, const uint8_t *frame, size_t len, const int *exp)
{
	uint8_t out[4096];
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = (__u32)len,
		    .data_out = out, .data_size_out = sizeof(out), .repeat = 1);
	uint64_t got[MAILTAP_HOST_STAT__MAX], want[MAILTAP_HOST_STAT__MAX] = {0};
	int fd = bpf_program__fd(h == XDP ? e->skel->progs.mailtap_host_xdp
					  : e->skel->progs.mailtap_host_tc);
	int i;

	stats_reset(e);
	n_recs = 0;
	if (bpf_prog_test_run_opts(fd, &o))
		fail_msg("%s test run of a %zu-byte frame: %s", h == XDP ? "XDP" : "TC", len,
			 strerror(errno));
	if (h == XDP)
		assert_int_equal(o.retval, XDP_PASS);
	else
		assert_int_equal((int)o.retval, TC_ACT_UNSPEC);
	assert_int_equal(o.data_size_out, len);
	assert_memory_equal(out, frame, len);
	want[MAILTAP_HOST_STAT_SEEN] = 1;
	want[h == XDP ? MAILTAP_HOST_STAT_INGRESS : MAILTAP_HOST_STAT_EGRESS] = 1;
	for (i = 0; exp[i] >= 0; i += 2)
		want[exp[i]] = (uint64_t)exp[i + 1];
	stats_read(e, got);
	for (i = 0; i < MAILTAP_HOST_STAT__MAX; i++) {
		if (got[i] != want[i])
			fail_msg("counter %s = %llu, want %llu", mailtap_host_stat_names[i],
				 (unsigned long long)got[i], (unsigned long long)want[i]);
	}
	ring_buffer__consume(e->rb);
	return n_recs;
}

static void check_rec(const struct env *e, const struct rec *r, enum hook h, const uint8_t *frame,
		      size_t wire, size_t cap, uint8_t extra_flags)
{
	assert_int_equal(r->size, sizeof(r->h) + cap);
	assert_int_equal(r->h.dir, h == XDP ? MAILTAP_HOST_DIR_INGRESS : MAILTAP_HOST_DIR_EGRESS);
	assert_int_equal(r->h.wire_len, wire);
	assert_int_equal(r->h.cap_len, cap);
	assert_int_equal(r->h.flags, (e->tai ? MAILTAP_HOST_F_TAI : 0) | extra_flags);
	assert_true(r->h.ts_ns > 0);
	assert_memory_equal(r->data, frame, cap);
}

static const uint8_t A4[4] = {192, 0, 2, 10}, B4[4] = {198, 51, 100, 25};
static const uint8_t A6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
static const uint8_t B6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 2};

#define SKIP_IF_NEEDED()                                                                           \
	do {                                                                                       \
		if (skip_reason) {                                                                 \
			print_message("%s\n", skip_reason);                                        \
			skip();                                                                    \
		}                                                                                  \
	} while (0)

static void test_smtp_both_hooks(void **state)
{
	static const int copied[] = {MAILTAP_HOST_STAT_MATCHED, 1, MAILTAP_HOST_STAT_COPIED, 1, -1};
	struct env *e;
	struct fr f;

	(void)state;
	SKIP_IF_NEEDED();
	e = env_new(MAILTAP_HOST_SNAP_MAX, MAILTAP_HOST_RB_DEFAULT);
	/* client -> server: "EHLO client.example\r\n" */
	fr_v4tcp(&f, A4, B4, 40001, 25, 1000, 2000, 0x18, "EHLO client.example\r\n");
	assert_int_equal(run(e, XDP, f.b, f.len, copied), 1);
	check_rec(e, &recs[0], XDP, f.b, f.len, f.len, 0);
	/* server -> client: "250 mx.example\r\n" */
	fr_v4tcp(&f, B4, A4, 25, 40001, 2000, 1021, 0x18, "250 mx.example\r\n");
	assert_int_equal(run(e, TC, f.b, f.len, copied), 1);
	check_rec(e, &recs[0], TC, f.b, f.len, f.len, 0);
	env_free(e);
}

static void test_not_copied(void **state)
{
	static const int other[] = {MAILTAP_HOST_STAT_OTHER_PORT, 1, -1};
	static const int non_tcp[] = {MAILTAP_HOST_STAT_NON_TCP, 1, -1};
	static const int non_ip[] = {MAILTAP_HOST_STAT_NON_IP, 1, -1};
	static const int perr[] = {MAILTAP_HOST_STAT_PARSE_ERR, 1, -1};
	struct env *e;
	struct fr f;
	int h;

	(void)state;
	SKIP_IF_NEEDED();
	e = env_new(MAILTAP_HOST_SNAP_MAX, MAILTAP_HOST_RB_DEFAULT);
	for (h = XDP; h <= TC; h++) {
		/* HTTP: "GET / HTTP/1.0\r\n" */
		fr_v4tcp(&f, A4, B4, 40002, 80, 1, 0, 0x18, "GET / HTTP/1.0\r\n");
		assert_int_equal(run(e, h, f.b, f.len, other), 0);
		/* UDP to port 25 (not TCP) */
		f.len = 0;
		fr_eth(&f, 0, 0, 0, 0, 0x0800);
		fr_ipv4(&f, A4, B4, 17, 12, 0, 0);
		fr_u16(&f, 40003);
		fr_u16(&f, 25);
		fr_u16(&f, 12);
		fr_u16(&f, 0);
		fr_u32(&f, 0);
		assert_int_equal(run(e, h, f.b, f.len, non_tcp), 0);
		/* ARP */
		f.len = 0;
		fr_eth(&f, 0, 0, 0, 0, 0x0806);
		for (int i = 0; i < 28; i++)
			fr_u8(&f, 0);
		assert_int_equal(run(e, h, f.b, f.len, non_ip), 0);
		/* IPv4 header cut after 10 bytes (TC's test run refuses an skb without a
		 * whole IP header, so XDP only) */
		fr_v4tcp(&f, A4, B4, 40001, 25, 1, 0, 0x02, NULL);
		if (h == XDP)
			assert_int_equal(run(e, h, f.b, 14 + 10, perr), 0);
		/* TCP header cut after 12 bytes */
		assert_int_equal(run(e, h, f.b, 14 + 20 + 12, perr), 0);
	}
	env_free(e);
}

static void test_vlan_v6_frag(void **state)
{
	static const int vlan[] = {MAILTAP_HOST_STAT_MATCHED,
				   1,
				   MAILTAP_HOST_STAT_COPIED,
				   1,
				   MAILTAP_HOST_STAT_VLAN,
				   1,
				   -1};
	static const int copied[] = {MAILTAP_HOST_STAT_MATCHED, 1, MAILTAP_HOST_STAT_COPIED, 1, -1};
	static const int frag[] = {MAILTAP_HOST_STAT_MATCHED,
				   1,
				   MAILTAP_HOST_STAT_COPIED,
				   1,
				   MAILTAP_HOST_STAT_FRAG,
				   1,
				   -1};
	/* "MAIL FROM:<a@b>\r\n" */
	static const char pl[] = "MAIL FROM:<a@b>\r\n";
	struct env *e;
	struct fr f;
	int h;

	(void)state;
	SKIP_IF_NEEDED();
	e = env_new(MAILTAP_HOST_SNAP_MAX, MAILTAP_HOST_RB_DEFAULT);
	for (h = XDP; h <= TC; h++) {
		/* QinQ (802.1ad + 802.1Q), server port 25 as source */
		f.len = 0;
		fr_eth(&f, 0x88a8, 100, 0x8100, 200, 0x0800);
		fr_ipv4(&f, B4, A4, 6, fr_tcp_len(-1, sizeof(pl) - 1), 0, 0x4000);
		fr_tcp(&f, 25, 40001, 1, 1, 0x18, 1000, -1, pl, sizeof(pl) - 1);
		assert_int_equal(run(e, h, f.b, f.len, vlan), 1);
		check_rec(e, &recs[0], h, f.b, f.len, f.len, 0);
		/* IPv6 + hop-by-hop, port 587 */
		f.len = 0;
		fr_eth(&f, 0, 0, 0, 0, 0x86dd);
		fr_ipv6(&f, A6, B6, 6, fr_tcp_len(-1, sizeof(pl) - 1), 1);
		fr_tcp(&f, 40001, 587, 1, 1, 0x18, 1000, -1, pl, sizeof(pl) - 1);
		assert_int_equal(run(e, h, f.b, f.len, copied), 1);
		check_rec(e, &recs[0], h, f.b, f.len, f.len, 0);
		/* IPv4 first fragment (MF) of TCP port 80: copied anyway */
		f.len = 0;
		fr_eth(&f, 0, 0, 0, 0, 0x0800);
		fr_ipv4(&f, A4, B4, 6, fr_tcp_len(-1, 8), 0, 0x2000);
		fr_tcp(&f, 40001, 80, 1, 1, 0x18, 1000, -1, "12345678", 8);
		assert_int_equal(run(e, h, f.b, f.len, frag), 1);
		check_rec(e, &recs[0], h, f.b, f.len, f.len, MAILTAP_HOST_F_FRAG);
	}
	env_free(e);
}

/* An Ethernet header, then n tags (a VLAN tag, or an 802.1BR E-tag every etag_every-th when
 * etag_every), the last one announcing type. */
static void eth_tags(struct fr *f, int n, int etag_every, uint16_t type)
{
	static const uint8_t macs[12] = {2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2};

	f->len = 0;
	fr_bytes(f, macs, 12);
	for (int i = 0; i < n; i++) {
		if (etag_every && i % etag_every == etag_every - 1) {
			fr_u16(f, 0x893f);
			fr_u32(f, 0x00120000);
			fr_u16(f, 0);
		} else {
			fr_u16(f, i ? 0x8100 : 0x88a8);
			fr_u16(f, (uint16_t)(100 + i));
		}
	}
	fr_u16(f, type);
}

/* IPv6 with n extension headers (Destination Options, Hop-by-Hop first, every third one 16
 * bytes long) and TCP to port 25 carrying pl. */
static void v6_ext_tcp(struct fr *f, int n, const char *pl)
{
	size_t plen = strlen(pl), ext = 0;
	uint16_t plen_field;

	for (int i = 0; i < n; i++)
		ext += i % 3 == 2 ? 16 : 8;
	plen_field = (uint16_t)(ext + fr_tcp_len(-1, plen));
	fr_u32(f, 0x60000000);
	fr_u16(f, plen_field);
	fr_u8(f, n ? 0 : 6);
	fr_u8(f, 64);
	fr_bytes(f, A6, 16);
	fr_bytes(f, B6, 16);
	for (int i = 0; i < n; i++) {
		int big = i % 3 == 2;

		fr_u8(f, i == n - 1 ? 6 : 60);
		fr_u8(f, (uint8_t)big);
		for (int k = 2; k < (big ? 16 : 8); k++)
			fr_u8(f, 0);
	}
	fr_tcp(f, 40001, 25, 1, 1, 0x18, 1000, -1, pl, plen);
}

/* Both hooks follow what user/decode.c follows, so that host mode keeps the packets an
 * offline run of the same capture gives records for: 8 VLAN tags and E-tags in all, IPv6
 * with up to MAILTAP_HOST_MAX_IPV6_EXT extension headers, fragments whose next header is
 * Hop-by-Hop; one more tag or header is not copied. */
static void test_tags_v6_ext(void **state)
{
	static const int copied[] = {MAILTAP_HOST_STAT_MATCHED, 1, MAILTAP_HOST_STAT_COPIED, 1, -1};
	static const int vlan[] = {MAILTAP_HOST_STAT_MATCHED,
				   1,
				   MAILTAP_HOST_STAT_COPIED,
				   1,
				   MAILTAP_HOST_STAT_VLAN,
				   1,
				   -1};
	static const int frag[] = {MAILTAP_HOST_STAT_MATCHED,
				   1,
				   MAILTAP_HOST_STAT_COPIED,
				   1,
				   MAILTAP_HOST_STAT_FRAG,
				   1,
				   -1};
	static const int non_ip[] = {MAILTAP_HOST_STAT_NON_IP, 1, MAILTAP_HOST_STAT_VLAN, 1, -1};
	static const int perr[] = {MAILTAP_HOST_STAT_PARSE_ERR, 1, -1};
	static const char pl[] = "RCPT TO:<b@c>\r\n";
	struct env *e;
	struct fr f;
	int h;

	(void)state;
	SKIP_IF_NEEDED();
	assert_int_equal(MAILTAP_HOST_MAX_IPV6_EXT, 16);
	e = env_new(MAILTAP_HOST_SNAP_MAX, MAILTAP_HOST_RB_DEFAULT);
	for (h = XDP; h <= TC; h++) {
		/* an E-tag alone: no VLAN tag */
		eth_tags(&f, 1, 1, 0x0800);
		fr_ipv4(&f, A4, B4, 6, fr_tcp_len(-1, sizeof(pl) - 1), 0, 0x4000);
		fr_tcp(&f, 40001, 25, 1, 1, 0x18, 1000, -1, pl, sizeof(pl) - 1);
		assert_int_equal(run(e, h, f.b, f.len, copied), 1);
		check_rec(e, &recs[0], h, f.b, f.len, f.len, 0);
		/* 8 tags, every third an E-tag */
		eth_tags(&f, 8, 3, 0x0800);
		fr_ipv4(&f, A4, B4, 6, fr_tcp_len(-1, sizeof(pl) - 1), 0, 0x4000);
		fr_tcp(&f, 40001, 25, 1, 1, 0x18, 1000, -1, pl, sizeof(pl) - 1);
		assert_int_equal(run(e, h, f.b, f.len, vlan), 1);
		check_rec(e, &recs[0], h, f.b, f.len, f.len, 0);
		/* 9 tags: not_ip in user/decode.c too */
		eth_tags(&f, 9, 0, 0x0800);
		fr_ipv4(&f, A4, B4, 6, fr_tcp_len(-1, sizeof(pl) - 1), 0, 0x4000);
		fr_tcp(&f, 40001, 25, 1, 1, 0x18, 1000, -1, pl, sizeof(pl) - 1);
		assert_int_equal(run(e, h, f.b, f.len, non_ip), 0);
		/* 6 and 16 extension headers, behind a tag; 17 */
		eth_tags(&f, 1, 0, 0x86dd);
		v6_ext_tcp(&f, 6, pl);
		assert_int_equal(run(e, h, f.b, f.len, vlan), 1);
		check_rec(e, &recs[0], h, f.b, f.len, f.len, 0);
		eth_tags(&f, 1, 0, 0x86dd);
		v6_ext_tcp(&f, 16, pl);
		assert_int_equal(run(e, h, f.b, f.len, vlan), 1);
		check_rec(e, &recs[0], h, f.b, f.len, f.len, 0);
		eth_tags(&f, 0, 0, 0x86dd);
		v6_ext_tcp(&f, 17, pl);
		assert_int_equal(run(e, h, f.b, f.len, perr), 0);
		/* the first fragment of a datagram whose fragmentable part starts with Hop-by-Hop:
		 * copied whatever its ports, userspace reassembles it */
		f.len = 0;
		fr_eth(&f, 0, 0, 0, 0, 0x86dd);
		fr_ipv6(&f, A6, B6, 44, 8 + 8 + fr_tcp_len(-1, 8), 0);
		fr_u8(&f, 0), fr_u8(&f, 0), fr_u16(&f, 1 /* M */), fr_u32(&f, 0x2a);
		fr_u8(&f, 6), fr_u8(&f, 0), fr_u16(&f, 0), fr_u32(&f, 0);
		fr_tcp(&f, 40001, 80, 1, 1, 0x18, 1000, -1, "12345678", 8);
		assert_int_equal(run(e, h, f.b, f.len, frag), 1);
		check_rec(e, &recs[0], h, f.b, f.len, f.len, MAILTAP_HOST_F_FRAG);
	}
	env_free(e);
}

static void test_port_set_runtime(void **state)
{
	static const int copied[] = {MAILTAP_HOST_STAT_MATCHED, 1, MAILTAP_HOST_STAT_COPIED, 1, -1};
	static const int other[] = {MAILTAP_HOST_STAT_OTHER_PORT, 1, -1};
	struct env *e;
	struct fr f;

	(void)state;
	SKIP_IF_NEEDED();
	e = env_new(MAILTAP_HOST_SNAP_MAX, MAILTAP_HOST_RB_DEFAULT);
	set_port(e, 25, 0);
	set_port(e, 2525, 1);
	fr_v4tcp(&f, A4, B4, 40001, 25, 1, 0, 0x02, NULL);
	assert_int_equal(run(e, XDP, f.b, f.len, other), 0);
	fr_v4tcp(&f, A4, B4, 40001, 2525, 1, 0, 0x02, NULL);
	assert_int_equal(run(e, TC, f.b, f.len, copied), 1);
	env_free(e);
}

static void test_snaplen_and_large(void **state)
{
	static const int trunc[] = {MAILTAP_HOST_STAT_MATCHED,
				    1,
				    MAILTAP_HOST_STAT_COPIED,
				    1,
				    MAILTAP_HOST_STAT_TRUNCATED,
				    1,
				    -1};
	static const int copied[] = {MAILTAP_HOST_STAT_MATCHED, 1, MAILTAP_HOST_STAT_COPIED, 1, -1};
	static char big[3001];
	struct env *e;
	struct fr f;

	(void)state;
	SKIP_IF_NEEDED();
	memset(big, 'x', sizeof(big) - 1); /* a 3000-byte data segment: "xxx..." */
	e = env_new(64, MAILTAP_HOST_RB_DEFAULT);
	fr_v4tcp(&f, A4, B4, 40001, 25, 1, 0, 0x18, "DATA\r\nSubject: a long enough line\r\n.\r\n");
	assert_true(f.len > 64);
	assert_int_equal(run(e, XDP, f.b, f.len, trunc), 1);
	check_rec(e, &recs[0], XDP, f.b, f.len, 64, 0);
	assert_int_equal(run(e, TC, f.b, f.len, trunc), 1);
	check_rec(e, &recs[0], TC, f.b, f.len, 64, 0);
	env_free(e);
	/* Larger than an Ethernet MTU (an egress GSO packet): copied whole. */
	e = env_new(MAILTAP_HOST_SNAP_MAX, MAILTAP_HOST_RB_DEFAULT);
	fr_v4tcp(&f, B4, A4, 25, 40001, 1, 0, 0x18, big);
	assert_true(f.len > 3000);
	assert_int_equal(run(e, TC, f.b, f.len, copied), 1);
	check_rec(e, &recs[0], TC, f.b, f.len, f.len, 0);
	env_free(e);
}

static void test_ring_full(void **state)
{
	struct env *e;
	struct fr f;
	uint64_t st[MAILTAP_HOST_STAT__MAX];
	int fd, i, n = 200;
	LIBBPF_OPTS(bpf_test_run_opts, o, .repeat = 1);

	(void)state;
	SKIP_IF_NEEDED();
	e = env_new(MAILTAP_HOST_SNAP_MAX, (uint32_t)sysconf(_SC_PAGESIZE));
	/* "QUIT\r\n" frames until the one-page ring is full */
	fr_v4tcp(&f, A4, B4, 40001, 25, 1, 0, 0x18, "QUIT\r\n");
	o.data_in = f.b;
	o.data_size_in = (__u32)f.len;
	fd = bpf_program__fd(e->skel->progs.mailtap_host_xdp);
	stats_reset(e);
	for (i = 0; i < n; i++) {
		assert_int_equal(bpf_prog_test_run_opts(fd, &o), 0);
		assert_int_equal(o.retval, XDP_PASS); /* a full ring never drops the packet */
	}
	stats_read(e, st);
	assert_int_equal(st[MAILTAP_HOST_STAT_MATCHED], n);
	assert_true(st[MAILTAP_HOST_STAT_RB_FULL] > 0);
	assert_int_equal(st[MAILTAP_HOST_STAT_COPIED] + st[MAILTAP_HOST_STAT_RB_FULL], n);
	n_recs = 0;
	ring_buffer__consume(e->rb);
	assert_int_equal(n_recs, st[MAILTAP_HOST_STAT_COPIED]);
	env_free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_smtp_both_hooks),   cmocka_unit_test(test_not_copied),
	    cmocka_unit_test(test_vlan_v6_frag),      cmocka_unit_test(test_port_set_runtime),
	    cmocka_unit_test(test_snaplen_and_large), cmocka_unit_test(test_ring_full),
	    cmocka_unit_test(test_tags_v6_ext),
	};

	if (geteuid() != 0)
		skip_reason = "test_hostbpf: needs root (CAP_BPF, CAP_PERFMON)";
	return cmocka_run_group_tests(tests, NULL, NULL);
}
