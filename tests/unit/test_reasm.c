// SPDX-License-Identifier: BSD-3-Clause
/* Unit tests for user/reasm.c: property tests (random cuts, orders, duplicates, overlapping
 * and conflicting retransmissions, ISNs near 2^32), Zeek's rules (midstream, SYN with data,
 * gaps on ack, partial connections, FIN clamp, 't'/'T'), limits and memcap, and a replay of
 * Zeek corpus pcaps (gap lengths and retransmission events). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <pcap/pcap.h>

#include "mailtap/pkt.h"
#include "mailtap/reasm.h"
#include "corpus.h"

#define MAXW 64

struct sink {
	uint8_t *out[2];
	size_t cap;
	uint64_t pos[2]; /* stream position written so far (data + gaps) */
	uint64_t data_bytes[2];
	uint64_t gap_bytes[2][3];
	int ngaps[2];
	uint64_t gaps[2][16]; /* first gaps' lengths */
	int rexmit[2];
	int eof[2];
	int nweird;
	char weird[MAXW][48];
	char events[64]; /* 't'/'T'/'g'/'G' in order, Zeek history style (orig upper case) */
	int nev;
};

static void s_data(void *u, enum mt_dir d, const uint8_t *b, size_t n, uint64_t ts)
{
	struct sink *s = u;

	(void)ts;
	if (s->out[d] && s->pos[d] + n <= s->cap)
		memcpy(s->out[d] + s->pos[d], b, n);
	s->pos[d] += n;
	s->data_bytes[d] += n;
}

static void s_gap(void *u, enum mt_dir d, uint64_t n, enum reasm_gap_why why, uint64_t ts)
{
	struct sink *s = u;

	(void)ts;
	if (s->out[d] && s->pos[d] + n <= s->cap)
		memset(s->out[d] + s->pos[d], '#', n);
	s->pos[d] += n;
	s->gap_bytes[d][why] += n;
	if (s->ngaps[d] < 16)
		s->gaps[d][s->ngaps[d]] = n;
	s->ngaps[d]++;
	if (why == REASM_GAP_ACKED && s->nev < 63)
		s->events[s->nev++] = d == MT_ORIG ? 'G' : 'g';
}

static void s_rexmit(void *u, enum mt_dir d, uint64_t ts)
{
	struct sink *s = u;

	(void)ts;
	s->rexmit[d]++;
	if (s->nev < 63)
		s->events[s->nev++] = d == MT_ORIG ? 'T' : 't';
}

static void s_weird(void *u, enum mt_dir d, const char *name, const char *addl, uint64_t ts)
{
	struct sink *s = u;

	(void)d, (void)addl, (void)ts;
	if (s->nweird < MAXW)
		snprintf(s->weird[s->nweird], sizeof(s->weird[0]), "%s", name);
	s->nweird++;
}

static void s_eof(void *u, enum mt_dir d, uint64_t ts)
{
	struct sink *s = u;

	(void)ts;
	s->eof[d]++;
}

static struct reasm_cb mkcb(struct sink *s)
{
	return (struct reasm_cb){.u = s,
				 .data = s_data,
				 .gap = s_gap,
				 .rexmit = s_rexmit,
				 .weird = s_weird,
				 .eof = s_eof};
}

static int count_weird(const struct sink *s, const char *name)
{
	int n = 0;

	for (int i = 0; i < s->nweird && i < MAXW; i++)
		n += !strcmp(s->weird[i], name);
	return n;
}

/* xorshift64*: deterministic, seeded per test case. */
static uint64_t rnd_state;
static uint64_t rnd(void)
{
	rnd_state ^= rnd_state >> 12;
	rnd_state ^= rnd_state << 25;
	rnd_state ^= rnd_state >> 27;
	return rnd_state * 0x2545F4914F6CDD1DULL;
}
static uint32_t rnd_n(uint32_t n)
{
	return (uint32_t)(rnd() % n);
}

/* One segment as sent: stream offset (0-based), length, bytes (copy). */
struct tseg {
	uint32_t off, len;
	uint8_t *bytes;
};

/* Sends one segment of direction ORIG through the raw interface. */
static void send_seg(struct reasm_dir *r, struct reasm_pool *p, const struct reasm_cb *cb,
		     uint32_t isn, const struct tseg *t)
{
	uint32_t seq = isn + 1 + t->off;

	reasm__packet(r, cb, seq, PKT_TCP_ACK | PKT_TCP_PSH, t->len, 0);
	assert_int_equal(reasm__data(r, p, cb, seq, PKT_TCP_ACK, t->bytes, t->len, t->len, 0), 0);
}

/* Property: random stream, random cuts, random order, duplicates, overlapping retransmissions
 * (same bytes, or conflicting ones when `conflicts`). Output = first data seen per byte. */
static void run_property(uint64_t seed, bool conflicts)
{
	struct reasm_limits lim = REASM_LIMITS_DEFAULT;
	struct reasm_pool *p;
	struct reasm_dir r;
	struct sink s = {0};
	struct reasm_cb cb = mkcb(&s);
	uint32_t n, isn, i, nseg = 0, cap;
	uint8_t *orig, *expect, *seen;
	struct tseg *segs;
	int expect_weird = 0;

	rnd_state = seed * 0x9E3779B97F4A7C15ULL + 1;
	n = 1 + rnd_n(20000);
	switch (seed % 4) {
	case 0:
		isn = 0xffffffffu - rnd_n(3000); /* wraps inside the stream */
		break;
	case 1:
		isn = 0xffffffffu; /* first byte at seq 0 */
		break;
	default:
		isn = (uint32_t)rnd();
	}
	lim.max_above_hole_no_ack = 0; /* no ACKs in this test */
	lim.max_initial_window = 0;    /* retain everything: every conflict is comparable */
	p = reasm_pool__new(&lim);
	assert_non_null(p);
	orig = malloc(n);
	expect = malloc(n);
	seen = calloc(1, n);
	s.out[MT_ORIG] = calloc(1, n);
	s.cap = n;
	for (i = 0; i < n; i++)
		orig[i] = (uint8_t)rnd();

	cap = 4 * n + 64;
	segs = calloc(cap, sizeof(*segs));
	for (uint32_t off = 0; off < n;) {
		uint32_t l = 1 + rnd_n(1460);

		if (off + l > n)
			l = n - off;
		segs[nseg++] = (struct tseg){off, l, NULL};
		off += l;
	}
	/* duplicates and overlapping retransmissions */
	for (uint32_t k = 0, extra = rnd_n(nseg + 1); k < extra && nseg < cap; k++) {
		if (rnd_n(2)) {
			segs[nseg] = segs[rnd_n(nseg)];
		} else {
			uint32_t a = rnd_n(n), l = 1 + rnd_n(3000);

			if (a + l > n)
				l = n - a;
			segs[nseg] = (struct tseg){a, l, NULL};
		}
		nseg++;
	}
	for (i = 0; i < nseg; i++) {
		segs[i].bytes = malloc(segs[i].len);
		memcpy(segs[i].bytes, orig + segs[i].off, segs[i].len);
	}
	/* conflicting retransmissions: some copies carry different bytes */
	if (conflicts) {
		for (uint32_t k = 0; k < nseg / 4 + 1; k++) {
			struct tseg *t = &segs[rnd_n(nseg)];

			for (uint32_t j = 0; j < t->len; j++)
				t->bytes[j] ^= 0x5a;
		}
	}
	/* shuffle (Fisher-Yates) */
	for (i = nseg; i > 1; i--) {
		uint32_t j = rnd_n(i);
		struct tseg t = segs[i - 1];

		segs[i - 1] = segs[j];
		segs[j] = t;
	}
	/* expected: the first data seen for every byte; expected weirds per segment */
	for (i = 0; i < nseg; i++) {
		uint32_t ov = 0;
		bool diff = false;

		for (uint32_t j = 0; j < segs[i].len; j++) {
			uint32_t x = segs[i].off + j;

			if (seen[x]) {
				ov++;
				if (expect[x] != segs[i].bytes[j])
					diff = true;
			} else {
				seen[x] = 1;
				expect[x] = segs[i].bytes[j];
			}
		}
		if (diff && ov > 1)
			expect_weird++;
	}

	reasm__init(&r, MT_ORIG);
	reasm__packet(&r, &cb, isn, PKT_TCP_SYN, 0, 0);
	for (i = 0; i < nseg; i++)
		send_seg(&r, p, &cb, isn, &segs[i]);
	/* everything arrived: nothing may stay buffered */
	assert_int_equal(reasm__pending(&r), 0);
	assert_int_equal(s.pos[MT_ORIG], n);
	assert_int_equal(s.ngaps[MT_ORIG], 0);
	assert_memory_equal(s.out[MT_ORIG], expect, n);
	if (!conflicts)
		assert_memory_equal(s.out[MT_ORIG], orig, n);
	assert_int_equal(count_weird(&s, "rexmit_inconsistency"), expect_weird);
	assert_int_equal(s.nweird, expect_weird);
	reasm__close(&r, p, &cb, 0);
	{
		struct reasm_stats st;

		reasm_pool__stats(p, &st);
		assert_int_equal(st.bytes_in_use, 0);
		assert_int_equal(st.segs_in_use, 0);
		assert_int_equal(st.delivered_bytes, n);
	}
	for (i = 0; i < nseg; i++)
		free(segs[i].bytes);
	free(segs);
	free(orig);
	free(expect);
	free(seen);
	free(s.out[MT_ORIG]);
	reasm_pool__free(p);
}

static void test_property_same_bytes(void **state)
{
	(void)state;
	for (uint64_t seed = 1; seed <= 300; seed++)
		run_property(seed, false);
}

static void test_property_conflicts(void **state)
{
	(void)state;
	for (uint64_t seed = 1000; seed <= 1300; seed++)
		run_property(seed, true);
}

/* A short SMTP exchange split at every byte position into two segments, sent in both orders,
 * then byte by byte in reverse order: the stream always comes out whole. */
static void test_every_split(void **state)
{
	/* "MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\n" */
	static const char msg[] = "MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\n";
	const uint32_t n = sizeof(msg) - 1, isn = 0xfffffff8u;
	struct reasm_pool *p = reasm_pool__new(NULL);

	(void)state;
	for (uint32_t k = 0; k <= n + 1; k++) {
		for (int order = 0; order < 3; order++) {
			struct reasm_dir r;
			struct sink s = {0};
			struct reasm_cb cb = mkcb(&s);
			uint8_t out[128];
			struct tseg a = {0, k < n ? k : n, (uint8_t *)msg};
			struct tseg b = {a.len, n - a.len, (uint8_t *)msg + a.len};

			s.out[MT_ORIG] = out;
			s.cap = sizeof(out);
			reasm__init(&r, MT_ORIG);
			reasm__packet(&r, &cb, isn, PKT_TCP_SYN, 0, 0);
			if (order == 0) {
				send_seg(&r, p, &cb, isn, &a);
				send_seg(&r, p, &cb, isn, &b);
			} else if (order == 1) {
				send_seg(&r, p, &cb, isn, &b);
				send_seg(&r, p, &cb, isn, &a);
			} else {
				for (uint32_t i = n; i-- > 0;) {
					struct tseg c = {i, 1, (uint8_t *)msg + i};

					send_seg(&r, p, &cb, isn, &c);
				}
			}
			assert_int_equal(s.pos[MT_ORIG], n);
			assert_memory_equal(out, msg, n);
			assert_int_equal(s.ngaps[MT_ORIG], 0);
			assert_int_equal(s.nweird, 0);
			reasm__close(&r, p, &cb, 0);
		}
	}
	reasm_pool__free(p);
}

/* Helpers for the scenario tests: a direction with a SYN at isn. */
struct fx {
	struct reasm_pool *p;
	struct reasm_dir r[2];
	struct sink s;
	struct reasm_cb cb;
	uint8_t buf[2][65536];
};

static struct fx *fx_new(const struct reasm_limits *lim)
{
	struct fx *f = calloc(1, sizeof(*f));

	f->p = reasm_pool__new(lim);
	reasm__init(&f->r[0], MT_ORIG);
	reasm__init(&f->r[1], MT_RESP);
	f->s.out[0] = f->buf[0];
	f->s.out[1] = f->buf[1];
	f->s.cap = sizeof(f->buf[0]);
	f->cb = mkcb(&f->s);
	return f;
}

static void fx_free(struct fx *f)
{
	struct reasm_stats st;

	reasm__close(&f->r[0], f->p, &f->cb, 0);
	reasm__close(&f->r[1], f->p, &f->cb, 0);
	reasm_pool__stats(f->p, &st);
	assert_int_equal(st.bytes_in_use, 0);
	reasm_pool__free(f->p);
	free(f);
}

/* ORIG sends payload at seq (raw interface, ACK set, ack irrelevant). */
static void osend(struct fx *f, uint32_t seq, const char *txt)
{
	uint32_t n = (uint32_t)strlen(txt);

	reasm__packet(&f->r[0], &f->cb, seq, PKT_TCP_ACK, n, 0);
	reasm__data(&f->r[0], f->p, &f->cb, seq, PKT_TCP_ACK, (const uint8_t *)txt, n, n, 0);
}

/* RESP acks ORIG's stream up to seq ack. */
static void rack(struct fx *f, uint32_t ack)
{
	reasm__ack(&f->r[0], f->p, &f->cb, ack, PKT_TCP_ACK, 0);
}

static void test_midstream(void **state)
{
	struct fx *f = fx_new(NULL);

	(void)state;
	/* no SYN: the first data seen starts the stream */
	osend(f, 5000, "MAIL FROM:<a@b>\r\n");
	assert_int_equal(f->s.pos[0], 17);
	assert_memory_equal(f->buf[0], "MAIL FROM:<a@b>\r\n", 17);
	/* before the start: dropped; Zeek's weird TCP_seq_underflow_or_misorder is the flow
	 * table's (user/flow.c), the reassembler raises no TCP state weird */
	osend(f, 4990, "0123456789");
	assert_int_equal(f->s.nweird, 0);
	assert_int_equal(f->s.pos[0], 17);
	osend(f, 5017, "RCPT TO:<c@d>\r\n");
	assert_int_equal(f->s.pos[0], 32);
	/* partial connection: an ack of 1 or 2 past the start is not a gap (Zeek) */
	rack(f, 5000 + 32);
	assert_int_equal(f->s.ngaps[0], 0);
	fx_free(f);
}

static void test_midstream_first_ack_two(void **state)
{
	struct fx *f = fx_new(NULL);

	(void)state;
	/* A keep-alive-ish first packet: pure ACK with seq 100; the peer acks 101. */
	reasm__packet(&f->r[0], &f->cb, 100, PKT_TCP_ACK, 0, 0);
	rack(f, 101); /* rel 2: partial, ignored */
	assert_int_equal(f->s.ngaps[0], 0);
	rack(f, 110); /* rel 11: gap of 10 from rel 1 */
	assert_int_equal(f->s.ngaps[0], 1);
	assert_int_equal(f->s.gaps[0][0], 10);
	fx_free(f);
}

static void test_syn_with_data(void **state)
{
	struct fx *f = fx_new(NULL);
	const uint8_t hello[] = "hello"; /* "hello" */

	(void)state;
	reasm__packet(&f->r[0], &f->cb, 0xfffffffeu, PKT_TCP_SYN, 5, 0);
	reasm__data(&f->r[0], f->p, &f->cb, 0xfffffffeu, PKT_TCP_SYN, hello, 5, 5, 0);
	assert_int_equal(f->s.pos[0], 5);
	assert_memory_equal(f->buf[0], "hello", 5);
	/* Zeek quirk: a first SYN carrying data does not advance last_seq -> 'T' */
	assert_int_equal(f->s.rexmit[0], 1);
	/* next data wraps the sequence space: seq 0xfffffffe + 1 + 5 = 4 */
	osend(f, 4, " world");
	assert_int_equal(f->s.pos[0], 11);
	assert_memory_equal(f->buf[0], "hello world", 11);
	assert_int_equal(f->s.rexmit[0], 1);
	fx_free(f);
}

static void test_wraparound_ooo(void **state)
{
	struct fx *f = fx_new(NULL);
	uint32_t isn = 0xfffffff0u;

	(void)state;
	reasm__packet(&f->r[0], &f->cb, isn, PKT_TCP_SYN, 0, 0);
	/* "0123456789abcdefghij" as 4 segments crossing 2^32, sent 3,1,4,2 */
	osend(f, isn + 1 + 10, "abcde");
	osend(f, isn + 1, "01234");
	osend(f, isn + 1 + 15, "fghij");
	assert_int_equal(f->s.pos[0], 5);
	osend(f, isn + 1 + 5, "56789");
	assert_int_equal(f->s.pos[0], 20);
	assert_memory_equal(f->buf[0], "0123456789abcdefghij", 20);
	/* ack past it all in the wrapped space: nothing missing */
	rack(f, isn + 21);
	assert_int_equal(f->s.ngaps[0], 0);
	assert_int_equal(reasm__size(&f->r[0]), 20);
	fx_free(f);
}

static void test_gap_on_ack(void **state)
{
	struct fx *f = fx_new(NULL);

	(void)state;
	reasm__packet(&f->r[0], &f->cb, 1000, PKT_TCP_SYN, 0, 0);
	osend(f, 1001, "AAAAAAAAAA"); /* [1,11) */
	osend(f, 1021, "CCCCCCCCCC"); /* [21,31): hole [11,21) */
	osend(f, 1041, "EEEEE");      /* [41,46): hole [31,41) */
	assert_int_equal(f->s.pos[0], 10);
	assert_int_equal(reasm__pending(&f->r[0]), 15);
	rack(f, 1011); /* nothing missing yet */
	assert_int_equal(f->s.ngaps[0], 0);
	rack(f, 1025); /* acked past the first hole: gap 10, deliver C.., stop at next hole */
	assert_int_equal(f->s.ngaps[0], 1);
	assert_int_equal(f->s.gaps[0][0], 10);
	assert_int_equal(f->s.pos[0], 30);
	rack(f, 1060); /* past both: gap 10, deliver E, gap 14 to the ack */
	assert_int_equal(f->s.ngaps[0], 3);
	assert_int_equal(f->s.gaps[0][1], 10);
	assert_int_equal(f->s.gaps[0][2], 14);
	assert_int_equal(f->s.gap_bytes[0][REASM_GAP_ACKED], 34);
	assert_int_equal(reasm__missed(&f->r[0]), 34);
	assert_memory_equal(f->buf[0], "AAAAAAAAAA##########CCCCCCCCCC##########EEEEE", 45);
	/* data below the ack is old: ignored */
	osend(f, 1011, "BBBBBBBBBB");
	assert_int_equal(f->s.pos[0], 59);
	fx_free(f);
}

static void test_gap_at_close(void **state)
{
	struct fx *f = fx_new(NULL);

	(void)state;
	reasm__packet(&f->r[0], &f->cb, 7, PKT_TCP_SYN, 0, 0);
	osend(f, 8, "abc");
	osend(f, 15, "xyz"); /* hole [4,8) */
	reasm__close(&f->r[0], f->p, &f->cb, 0);
	assert_int_equal(f->s.ngaps[0], 1);
	assert_int_equal(f->s.gap_bytes[0][REASM_GAP_CLOSE], 4);
	assert_int_equal(reasm__missed(&f->r[0]), 0); /* Zeek reports no gap at the end */
	assert_memory_equal(f->buf[0], "abc####xyz", 10);
	assert_int_equal(f->s.eof[0], 1);
	fx_free(f);
}

static void test_close_no_flush(void **state)
{
	struct reasm_limits lim = REASM_LIMITS_DEFAULT;
	struct fx *f;

	(void)state;
	lim.flush_at_close = 0;
	f = fx_new(&lim);
	reasm__packet(&f->r[0], &f->cb, 7, PKT_TCP_SYN, 0, 0);
	osend(f, 8, "abc");
	osend(f, 15, "xyz");
	reasm__close(&f->r[0], f->p, &f->cb, 0);
	assert_int_equal(f->s.ngaps[0], 0);
	assert_int_equal(f->s.pos[0], 3);
	fx_free(f);
}

static void test_fin_clamp_and_eof(void **state)
{
	struct fx *f = fx_new(NULL);

	(void)state;
	reasm__packet(&f->r[0], &f->cb, 0, PKT_TCP_SYN, 0, 0);
	osend(f, 1, "QUIT\r\n"); /* [1,7) */
	/* FIN after a hole: [7,10) missing, FIN at 10 */
	reasm__packet(&f->r[0], &f->cb, 10, PKT_TCP_ACK | PKT_TCP_FIN, 0, 0);
	assert_int_equal(f->s.eof[0], 0);
	/* the peer acks the FIN (11): clamped to 10, gap of 3, then eof */
	rack(f, 11);
	assert_int_equal(f->s.ngaps[0], 1);
	assert_int_equal(f->s.gaps[0][0], 3);
	assert_int_equal(f->s.eof[0], 1);
	/* Zeek's Size(): last 11 - SYN - FIN */
	assert_int_equal(reasm__size(&f->r[0]), 9);
	fx_free(f);
}

/* The ACK events of Zeek's capture loss (TCP_Reassembler::AckReceived: nothing counted at
 * `seq <= trim_seq`, trim_seq from 1, an ACK of the FIN clamped to the byte before it): only
 * an ACK beyond every earlier one is fresh; a gap comes with a fresh ACK. */
static void test_ack_fresh(void **state)
{
	struct fx *f = fx_new(NULL);
	bool fresh = true;

#define ACK(a) reasm__ack_fresh(&f->r[0], f->p, &f->cb, (a), PKT_TCP_ACK, 0, &fresh)
	(void)state;
	reasm__packet(&f->r[0], &f->cb, 1000, PKT_TCP_SYN, 0, 0);
	assert_int_equal(ACK(1001), 0); /* the SYN-ACK: 1, trim_seq's start */
	assert_false(fresh);
	osend(f, 1001, "AAAAAAAAAA"); /* [1,11) */
	osend(f, 1021, "CCCCCCCCCC"); /* [21,31): hole [11,21) */
	assert_int_equal(ACK(1011), 0);
	assert_true(fresh);
	assert_int_equal(ACK(1011), 0); /* the same again */
	assert_false(fresh);
	assert_int_equal(ACK(1005), 0); /* an old one */
	assert_false(fresh);
	assert_int_equal(ACK(1031), 10); /* past the hole: fresh, and a gap */
	assert_true(fresh);
	assert_int_equal(ACK(1031), 0);
	assert_false(fresh);
	/* a FIN at 31: its ACK (32) stands for 31, no news; with data unseen before it, news */
	reasm__packet(&f->r[0], &f->cb, 1031, PKT_TCP_ACK | PKT_TCP_FIN, 0, 0);
	assert_int_equal(ACK(1032), 0);
	assert_false(fresh);
	assert_int_equal(f->s.eof[0], 1);
	fx_free(f);
	f = fx_new(NULL);
	reasm__packet(&f->r[0], &f->cb, 1000, PKT_TCP_SYN, 0, 0);
	osend(f, 1001, "AAAAAAAAAA");
	reasm__packet(&f->r[0], &f->cb, 1015, PKT_TCP_ACK | PKT_TCP_FIN, 0, 0);
	assert_int_equal(ACK(1016), 4);
	assert_true(fresh);
	assert_int_equal(ACK(1017), 0); /* beyond the FIN: still the byte before it */
	assert_false(fresh);
	/* reasm__ack is the same without the answer */
	assert_int_equal(reasm__ack(&f->r[0], f->p, &f->cb, 1016, PKT_TCP_ACK, 0), 0);
	fx_free(f);
	/* the acked side silent so far: no stream to acknowledge yet (Zeek's init_peer) */
	f = fx_new(NULL);
	assert_int_equal(ACK(5000), 0);
	assert_false(fresh);
#undef ACK
	fx_free(f);
}

static void test_rexmit_rule(void **state)
{
	struct fx *f = fx_new(NULL);

	(void)state;
	reasm__packet(&f->r[0], &f->cb, 0, PKT_TCP_SYN, 0, 0);
	osend(f, 1, "0123456789");
	assert_int_equal(f->s.rexmit[0], 0);
	osend(f, 1, "0123456789"); /* same bytes again */
	assert_int_equal(f->s.rexmit[0], 1);
	assert_int_equal(f->s.nweird, 0);
	/* a pure ACK with a higher seq, then data below it: Zeek calls it a retransmission */
	reasm__packet(&f->r[0], &f->cb, 21, PKT_TCP_ACK, 0, 0);
	osend(f, 11, "abcdefghij");
	assert_int_equal(f->s.rexmit[0], 2);
	assert_int_equal(f->s.pos[0], 20);
	/* conflicting retransmission of delivered (retained) bytes: first wins, weird */
	osend(f, 1, "01234XXXXX");
	assert_int_equal(count_weird(&f->s, "rexmit_inconsistency"), 1);
	assert_memory_equal(f->buf[0], "0123456789abcdefghij", 20);
	/* once acked, old bytes are not compared any more (Zeek's DataSent) */
	rack(f, 21);
	osend(f, 1, "ZZZZZZZZZZ");
	assert_int_equal(count_weird(&f->s, "rexmit_inconsistency"), 1);
	fx_free(f);
}

static void test_ooo_conflict_first_wins(void **state)
{
	struct fx *f = fx_new(NULL);

	(void)state;
	reasm__packet(&f->r[0], &f->cb, 0, PKT_TCP_SYN, 0, 0);
	osend(f, 6, "WORLD");	 /* buffered [6,11) */
	osend(f, 4, "xxEVILyy"); /* [4,12): overlaps WORLD with different bytes */
	assert_int_equal(count_weird(&f->s, "rexmit_inconsistency"), 1);
	osend(f, 1, "HEL"); /* fills [1,4) */
	assert_int_equal(f->s.pos[0], 11);
	assert_memory_equal(f->buf[0], "HELxxWORLDy", 11);
	fx_free(f);
}

static void test_above_hole_without_acks(void **state)
{
	struct fx *f = fx_new(NULL);
	static uint8_t big[1400];

	(void)state;
	memset(big, 'x', sizeof(big));
	reasm__packet(&f->r[0], &f->cb, 0, PKT_TCP_SYN, 0, 0);
	osend(f, 1, "first");
	/* nothing ever acked; 16384+ bytes above the hole at 6 -> Zeek gives up */
	for (uint32_t off = 100; off < 100 + 14 * 1400; off += 1400) {
		reasm__packet(&f->r[0], &f->cb, off, PKT_TCP_ACK, 1400, 0);
		reasm__data(&f->r[0], f->p, &f->cb, off, PKT_TCP_ACK, big, 1400, 1400, 0);
	}
	assert_int_equal(count_weird(&f->s, "above_hole_data_without_any_acks"), 1);
	assert_int_equal(reasm__pending(&f->r[0]), 0);
	/* the hole being filled later delivers nothing more (Zeek's skip_deliveries) */
	osend(f, 6, "abc");
	assert_int_equal(f->s.pos[0], 5);
	fx_free(f);
}

static void test_ooo_cap(void **state)
{
	struct reasm_limits lim = REASM_LIMITS_DEFAULT;
	struct reasm_stats st;
	struct fx *f;
	static uint8_t seg[1000];

	(void)state;
	lim.max_ooo_bytes = 64 * 1024;
	lim.max_above_hole_no_ack = 0;
	f = fx_new(&lim);
	f->s.out[0] = NULL; /* we only count */
	reasm__packet(&f->r[0], &f->cb, 0, PKT_TCP_SYN, 0, 0);
	/* only out-of-order data: every segment leaves a 1-byte hole before it */
	for (uint32_t i = 0; i < 2000; i++) {
		uint32_t seq = 2 + i * 1001;

		memset(seg, 'a' + i % 26, sizeof(seg));
		reasm__packet(&f->r[0], &f->cb, seq, PKT_TCP_ACK, 1000, 0);
		reasm__data(&f->r[0], f->p, &f->cb, seq, PKT_TCP_ACK, seg, 1000, 1000, 0);
		assert_true(reasm__pending(&f->r[0]) <= lim.max_ooo_bytes);
		reasm_pool__stats(f->p, &st);
		assert_true(st.bytes_in_use <= lim.max_ooo_bytes + 65 * 64 + 4096);
	}
	reasm_pool__stats(f->p, &st);
	assert_true(st.limit_ooo > 0);
	assert_true(st.bytes_peak <= lim.max_ooo_bytes + 65 * 64 + 4096);
	/* the limit turned holes into gaps: every byte is accounted for */
	assert_true(f->s.gap_bytes[0][REASM_GAP_LIMIT] > 0);
	assert_int_equal(f->s.pos[0] + reasm__pending(&f->r[0]),
			 f->s.data_bytes[0] + f->s.gap_bytes[0][REASM_GAP_LIMIT] +
			     reasm__pending(&f->r[0]));
	fx_free(f);
}

static void test_segment_cap(void **state)
{
	struct reasm_limits lim = REASM_LIMITS_DEFAULT;
	struct reasm_stats st;
	struct fx *f;

	(void)state;
	lim.max_segments = 8;
	lim.max_above_hole_no_ack = 0;
	f = fx_new(&lim);
	reasm__packet(&f->r[0], &f->cb, 0, PKT_TCP_SYN, 0, 0);
	for (uint32_t i = 0; i < 100; i++)
		osend(f, 3 + 2 * i, "z"); /* 1-byte segments with 1-byte holes */
	reasm_pool__stats(f->p, &st);
	assert_true(st.segs_in_use <= 8);
	assert_true(st.limit_segs > 0);
	fx_free(f);
}

static void test_memcap_many_flows(void **state)
{
	struct reasm_limits lim = REASM_LIMITS_DEFAULT;
	enum { NF = 1000 };
	struct reasm_pool *p;
	struct reasm_dir *r = calloc(NF, sizeof(*r));
	struct sink s = {0};
	struct reasm_cb cb = mkcb(&s);
	struct reasm_stats st;
	static uint8_t seg[4000];

	(void)state;
	lim.max_total_bytes = 1 << 20;
	p = reasm_pool__new(&lim);
	for (int i = 0; i < NF; i++) {
		reasm__init(&r[i], MT_ORIG);
		reasm__packet(&r[i], &cb, 100, PKT_TCP_SYN, 0, 0);
		/* one out-of-order segment per flow, hole at [1,11) */
		reasm__packet(&r[i], &cb, 111, PKT_TCP_ACK, sizeof(seg), 0);
		reasm__data(&r[i], p, &cb, 111, PKT_TCP_ACK, seg, sizeof(seg), sizeof(seg), 0);
		reasm_pool__stats(p, &st);
		assert_true(st.bytes_in_use <= lim.max_total_bytes);
	}
	reasm_pool__stats(p, &st);
	assert_true(st.limit_memcap > 0);
	assert_true(st.bytes_peak <= lim.max_total_bytes);
	/* flows over the cap got a LIMIT gap and their data delivered at once */
	assert_int_equal(s.gap_bytes[0][REASM_GAP_LIMIT] / 10 + st.segs_in_use, NF);
	for (int i = 0; i < NF; i++)
		reasm__close(&r[i], p, &cb, 0);
	reasm_pool__stats(p, &st);
	assert_int_equal(st.bytes_in_use, 0);
	assert_int_equal(s.data_bytes[0], (uint64_t)NF * sizeof(seg));
	reasm_pool__free(p);
	free(r);
}

static void test_idle_size(void **state)
{
	(void)state;
	assert_true(sizeof(struct reasm_dir) <= 56);
}

/* An idle connection owns no heap: delivered data is released once acked, the buffer once
 * empty. Per connection that leaves 2 x sizeof(struct reasm_dir) = 112 bytes. */
static void test_idle_memory(void **state)
{
	struct fx *f = fx_new(NULL);
	struct reasm_stats st;

	(void)state;
	reasm__packet(&f->r[0], &f->cb, 0, PKT_TCP_SYN, 0, 0);
	osend(f, 1, "EHLO x\r\n");
	reasm_pool__stats(f->p, &st);
	assert_true(st.bytes_in_use > 0); /* retained until acked */
	rack(f, 9);
	reasm_pool__stats(f->p, &st);
	assert_int_equal(st.bytes_in_use, 0);
	osend(f, 20, "later"); /* out of order: buffered */
	reasm_pool__stats(f->p, &st);
	assert_int_equal(st.bytes_in_use, 48 + 24 + 5); /* buffer + segment header + data */
	rack(f, 25);					/* hole acked: gap, delivered, released */
	reasm_pool__stats(f->p, &st);
	assert_int_equal(st.bytes_in_use, 0);
	assert_int_equal(f->s.gaps[0][0], 11);
	assert_int_equal(2 * sizeof(struct reasm_dir), 112);
	fx_free(f);
}

/* Freed buffers and rings are kept for reuse (a bounded cache per pool): a connection that
 * sends and gets acked over and over takes them back without counting them twice, and the
 * memcap still applies to them (here it holds exactly one buffer and one ring). */
static void test_buffer_reuse(void **state)
{
	struct reasm_limits lim = REASM_LIMITS_DEFAULT;
	struct reasm_stats st;
	struct fx *f;
	uint32_t seq = 1;

	(void)state;
	lim.max_total_bytes = 48 + 4096;
	f = fx_new(&lim);
	reasm__packet(&f->r[0], &f->cb, 0, PKT_TCP_SYN, 0, 0);
	for (int i = 0; i < 200; i++, seq += 5) {
		osend(f, seq, "abc\r\n");
		reasm_pool__stats(f->p, &st);
		assert_int_equal(st.bytes_in_use, 48 + 4096); /* buffer + smallest ring */
		rack(f, seq + 5);
		reasm_pool__stats(f->p, &st);
		assert_int_equal(st.bytes_in_use, 0);
		f->s.pos[0] = 0; /* the delivery log, not the pool */
	}
	reasm_pool__stats(f->p, &st);
	assert_int_equal(st.limit_memcap, 0);
	assert_int_equal(st.bytes_peak, 48 + 4096);
	/* a second direction at the same time does not fit: refused, counted, cache or not */
	osend(f, seq, "abc\r\n");
	reasm__packet(&f->r[1], &f->cb, 0, PKT_TCP_ACK, 3, 0);
	reasm__data(&f->r[1], f->p, &f->cb, 0, PKT_TCP_ACK, (const uint8_t *)"xyz", 3, 3, 0);
	reasm_pool__stats(f->p, &st);
	assert_true(st.limit_memcap > 0);
	assert_true(st.bytes_in_use <= lim.max_total_bytes);
	fx_free(f);
}

/* The reuse cache is bounded: 200 connections each take a buffer and a 4 KiB ring at once and
 * give them back; the pool keeps 128 of each (512 KiB of rings of that size) and frees the
 * rest, and what it keeps is counted apart from bytes_in_use. */
static void test_cache_bound(void **state)
{
	struct reasm_dir *d = calloc(200, sizeof(*d));
	struct reasm_stats st;
	struct fx *f = fx_new(NULL);

	(void)state;
	for (int i = 0; i < 200; i++) {
		reasm__init(&d[i], MT_ORIG);
		reasm__packet(&d[i], &f->cb, 0, PKT_TCP_SYN, 0, 0);
		reasm__packet(&d[i], &f->cb, 1, PKT_TCP_ACK, 5, 0);
		reasm__data(&d[i], f->p, &f->cb, 1, PKT_TCP_ACK, (const uint8_t *)"abc\r\n", 5, 5,
			    0);
	}
	reasm_pool__stats(f->p, &st);
	assert_int_equal(st.bytes_in_use, 200 * (48 + 4096));
	assert_int_equal(st.cache_bytes, 0);
	for (int i = 0; i < 200; i++)
		reasm__ack(&d[i], f->p, &f->cb, 6, PKT_TCP_ACK, 0);
	reasm_pool__stats(f->p, &st);
	assert_int_equal(st.bytes_in_use, 0);
	assert_int_equal(st.cache_bytes, 128 * (48 + 4096));
	/* taken back: out of the cache, into bytes_in_use */
	reasm__packet(&d[0], &f->cb, 6, PKT_TCP_ACK, 5, 0);
	reasm__data(&d[0], f->p, &f->cb, 6, PKT_TCP_ACK, (const uint8_t *)"def\r\n", 5, 5, 0);
	reasm_pool__stats(f->p, &st);
	assert_int_equal(st.bytes_in_use, 48 + 4096);
	assert_int_equal(st.cache_bytes, 127 * (48 + 4096));
	for (int i = 0; i < 200; i++)
		reasm__close(&d[i], f->p, &f->cb, 0);
	free(d);
	fx_free(f);
}

static void test_rst(void **state)
{
	struct fx *f = fx_new(NULL);
	const uint8_t junk[] = "junk"; /* "junk" */

	(void)state;
	reasm__packet(&f->r[0], &f->cb, 0, PKT_TCP_SYN, 0, 0);
	osend(f, 1, "data");
	osend(f, 9, "more"); /* buffered above a hole */
	/* RST carrying payload: the payload is not stream data (Zeek) */
	reasm__packet(&f->r[0], &f->cb, 5, PKT_TCP_RST | PKT_TCP_ACK, 4, 0);
	reasm__data(&f->r[0], f->p, &f->cb, 5, PKT_TCP_RST | PKT_TCP_ACK, junk, 4, 4, 0);
	assert_int_equal(f->s.pos[0], 4);
	assert_int_equal(f->s.eof[0], 0); /* data still pending above the hole */
	/* Zeek: a RST's payload counts in update_last_seq's len: below last_seq -> 'T' */
	assert_int_equal(f->s.rexmit[0], 1);
	/* after a RST, sequence numbers are not trusted: no more retransmission letters */
	osend(f, 1, "data");
	assert_int_equal(f->s.rexmit[0], 1);
	reasm__close(&f->r[0], f->p, &f->cb, 0);
	assert_int_equal(f->s.eof[0], 1);
	assert_memory_equal(f->buf[0], "data####more", 12);
	/* relative interface: RST with nothing pending is an immediate eof */
	reasm__rel_data(&f->r[1], f->p, &f->cb, 1, (const uint8_t *)"x", 1, 0);
	reasm__rel_rst(&f->r[1], &f->cb, 0);
	assert_int_equal(f->s.eof[1], 1);
	assert_int_equal(reasm__rel_data(&f->r[1], f->p, &f->cb, UINT64_MAX, junk, 4, 0), -EINVAL);
	fx_free(f);
}

static void test_rel_interface(void **state)
{
	struct fx *f = fx_new(NULL);

	(void)state;
	/* as the flow table would call it: relative offsets */
	reasm__rel_data(&f->r[1], f->p, &f->cb, 1, (const uint8_t *)"220 ok\r\n", 8, 0);
	reasm__rel_data(&f->r[1], f->p, &f->cb, 20, (const uint8_t *)"250 x\r\n", 7, 0);
	reasm__rel_ack(&f->r[1], f->p, &f->cb, 2, REASM_ACK_PARTIAL, 0);
	assert_int_equal(f->s.ngaps[1], 0);
	reasm__rel_ack(&f->r[1], f->p, &f->cb, 27, 0, 0);
	assert_int_equal(f->s.ngaps[1], 1);
	assert_int_equal(f->s.gaps[1][0], 11);
	assert_memory_equal(f->buf[1], "220 ok\r\n###########250 x\r\n", 26);
	reasm__rel_fin(&f->r[1], &f->cb, 28, 0);
	assert_int_equal(f->s.eof[1], 1);
	fx_free(f);
}

/* ---- pcap replay: minimal Ethernet/IPv4/TCP, through the raw interface in Zeek's order ---- */

struct replay {
	struct fx *f;
	uint8_t orig_ip[4];
	uint16_t orig_port;
	bool have_orig;
};

static int replay_pcap(const char *path, struct fx *f)
{
	char err[PCAP_ERRBUF_SIZE];
	pcap_t *pc = pcap_open_offline(path, err);
	struct pcap_pkthdr *h;
	const u_char *pkt;
	struct replay rp = {.f = f};
	int n = 0;

	if (!pc)
		return -1;
	while (pcap_next_ex(pc, &h, &pkt) == 1) {
		const uint8_t *ip, *tcp, *pl;
		uint32_t caplen = h->caplen, iphl, tcphl, iplen, seq, ack, plen, pcap_len;
		uint16_t sport;
		uint8_t fl;
		enum mt_dir d;
		uint64_t ts = (uint64_t)h->ts.tv_sec * 1000000000ull + h->ts.tv_usec * 1000ull;

		if (caplen < 14 + 20 || pkt[12] != 0x08 || pkt[13] != 0x00)
			continue;
		ip = pkt + 14;
		iphl = (ip[0] & 0x0f) * 4u;
		iplen = (uint32_t)ip[2] << 8 | ip[3];
		if (ip[9] != 6 || caplen < 14 + iphl + 20)
			continue;
		tcp = ip + iphl;
		tcphl = (tcp[12] >> 4) * 4u;
		sport = (uint16_t)(tcp[0] << 8 | tcp[1]);
		seq = (uint32_t)tcp[4] << 24 | (uint32_t)tcp[5] << 16 | (uint32_t)tcp[6] << 8 |
		      tcp[7];
		ack = (uint32_t)tcp[8] << 24 | (uint32_t)tcp[9] << 16 | (uint32_t)tcp[10] << 8 |
		      tcp[11];
		fl = tcp[13];
		pl = tcp + tcphl;
		plen = iplen - iphl - tcphl;
		pcap_len = caplen - 14 - iphl - tcphl;
		if (pcap_len > plen)
			pcap_len = plen;
		if (!rp.have_orig) {
			memcpy(rp.orig_ip, ip + 12, 4);
			rp.orig_port = sport;
			rp.have_orig = true;
		}
		d = (!memcmp(ip + 12, rp.orig_ip, 4) && sport == rp.orig_port) ? MT_ORIG : MT_RESP;
		reasm__packet(&f->r[d], &f->cb, seq, fl, plen, ts);
		reasm__ack(&f->r[!d], f->p, &f->cb, ack, fl, ts);
		if (plen)
			reasm__data(&f->r[d], f->p, &f->cb, seq, fl, pl, pcap_len, plen, ts);
		n++;
	}
	pcap_close(pc);
	return n;
}


static bool open_trace(struct fx *f, const char *rel)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/zeek/traces/%s", corpus_dir(), rel);
	return replay_pcap(path, f) > 0;
}

static void test_pcap_bdat_gap(void **state)
{
	struct fx *f = fx_new(NULL);

	(void)state;
	if (!open_trace(f, "smtp/smtp-bdat-gap.pcap")) {
		fx_free(f);
		skip();
	}
	/* Zeek: conn.log missed_bytes 1000 (scripts.base.protocols.smtp.bdat-gap) */
	assert_int_equal(f->s.ngaps[MT_ORIG], 1);
	assert_int_equal(f->s.gaps[MT_ORIG][0], 1000);
	assert_int_equal(reasm__missed(&f->r[MT_ORIG]), 1000);
	assert_int_equal(f->s.ngaps[MT_RESP], 0);
	assert_int_equal(f->s.rexmit[MT_ORIG] + f->s.rexmit[MT_RESP], 0);
	assert_int_equal(f->s.data_bytes[MT_ORIG], 293);
	assert_int_equal(f->s.data_bytes[MT_RESP], 180);
	assert_string_equal(f->s.events, "G");
	assert_int_equal(f->s.eof[MT_ORIG], 1);
	assert_int_equal(f->s.eof[MT_RESP], 1);
	fx_free(f);
}

static void test_pcap_http_connect(void **state)
{
	struct fx *f = fx_new(NULL);

	(void)state;
	if (!open_trace(f, "http/connect-with-smtp.pcap")) {
		fx_free(f);
		skip();
	}
	/* Zeek history ShADadtTfF: one 't' (frame 9, a duplicate) before one 'T' (frame 11,
	 * data below the seq of the pure ACK in frame 10); no gaps (missed_bytes 0). */
	assert_string_equal(f->s.events, "tT");
	assert_int_equal(f->s.ngaps[MT_ORIG] + f->s.ngaps[MT_RESP], 0);
	assert_int_equal(f->s.data_bytes[MT_ORIG], 1685);
	assert_int_equal(f->s.data_bytes[MT_RESP], 223);
	assert_int_equal(f->s.nweird, 0);
	fx_free(f);
}

static void test_pcap_one_side(void **state)
{
	struct fx *f = fx_new(NULL);

	(void)state;
	if (!open_trace(f, "smtp-one-side-only.pcap")) {
		fx_free(f);
		skip();
	}
	/* Only the client is captured: all of its bytes arrive in order, nothing is
	 * buffered or missing, the silent server side reports nothing. */
	assert_int_equal(f->s.data_bytes[MT_ORIG], 18530);
	assert_int_equal(f->s.ngaps[MT_ORIG] + f->s.ngaps[MT_RESP], 0);
	assert_int_equal(f->s.data_bytes[MT_RESP], 0);
	assert_int_equal(f->s.nweird, 0);
	assert_int_equal(f->s.eof[MT_ORIG], 1);
	assert_memory_equal(f->buf[MT_ORIG], "ehlo", 4); /* "ehlo enzo.icir.org" */
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_idle_size),
	    cmocka_unit_test(test_property_same_bytes),
	    cmocka_unit_test(test_property_conflicts),
	    cmocka_unit_test(test_every_split),
	    cmocka_unit_test(test_midstream),
	    cmocka_unit_test(test_midstream_first_ack_two),
	    cmocka_unit_test(test_syn_with_data),
	    cmocka_unit_test(test_wraparound_ooo),
	    cmocka_unit_test(test_gap_on_ack),
	    cmocka_unit_test(test_gap_at_close),
	    cmocka_unit_test(test_close_no_flush),
	    cmocka_unit_test(test_fin_clamp_and_eof),
	    cmocka_unit_test(test_ack_fresh),
	    cmocka_unit_test(test_rexmit_rule),
	    cmocka_unit_test(test_ooo_conflict_first_wins),
	    cmocka_unit_test(test_above_hole_without_acks),
	    cmocka_unit_test(test_ooo_cap),
	    cmocka_unit_test(test_segment_cap),
	    cmocka_unit_test(test_memcap_many_flows),
	    cmocka_unit_test(test_idle_memory),
	    cmocka_unit_test(test_buffer_reuse), cmocka_unit_test(test_cache_bound),
	    cmocka_unit_test(test_rst),
	    cmocka_unit_test(test_rel_interface),
	    cmocka_unit_test(test_pcap_bdat_gap),
	    cmocka_unit_test(test_pcap_http_connect),
	    cmocka_unit_test(test_pcap_one_side),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
