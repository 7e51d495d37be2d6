// SPDX-License-Identifier: BSD-3-Clause
/* Workers with several producers (capture threads): every packet pushed by concurrent
 * producers is processed exactly once and in its producer's order (no reassembly gap or
 * out-of-order segment in any connection), through ring wraps and full rings; producers that
 * never push do not hold up the end; frames too large for a ring are counted, not queued.
 * At the end every engine ends its connections at the time of the last mail packet. The
 * workers hold weirds back in one pair of weird.zeek sets, as one engine; their peaks are the
 * largest worker's, not a sum; idle workers sleep; the fragment steering's counters are read
 * while a capture thread steers (a race under ThreadSanitizer, 25-workers.sh, before). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <cmocka.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>
#include "frames.h"
#include "mailtap/engine.h"
#include "mailtap/rec.h"
#include "mailtap/sink.h"
#include "mailtap/workers.h"

#define FLOWS 40    /* connections per producer */
#define SEGS 30	    /* client data segments per connection */
#define SEG_LEN 100 /* bytes per segment */

struct producer {
	struct workers *ws;
	int p;
	pthread_barrier_t *start;
	uint64_t pushed;
};

static void push_frame(struct producer *pr, const struct fr *f, uint64_t ts)
{
	struct pkt_raw raw = { .ts_ns = ts, .data = f->b, .caplen = (uint32_t)f->len,
			       .wirelen = (uint32_t)f->len, .linktype = 1 };

	assert_int_equal(workers__packet_from(pr->ws, pr->p, &raw), 0);
	pr->pushed++;
}

/* Producer p: FLOWS connections 10.p.x.y:port -> 192.0.2.1:25, each a handshake, SEGS
 * in-order data segments acknowledged one by one, and a FIN exchange; a tick now and then. */
static void *producer_main(void *arg)
{
	struct producer *pr = arg;
	static const uint8_t srv[4] = { 192, 0, 2, 1 };
	char pl[SEG_LEN + 1];
	uint64_t ts = 1700000000ULL * 1000000000ULL;
	struct fr f;

	memset(pl, 'a' + pr->p, SEG_LEN);
	pl[SEG_LEN] = '\0';
	pthread_barrier_wait(pr->start);
	for (int c = 0; c < FLOWS; c++) {
		uint8_t cli[4] = { 10, (uint8_t)pr->p, (uint8_t)(c >> 8), (uint8_t)c };
		uint16_t sp = (uint16_t)(40000 + c);
		uint32_t cs = 1000, ss = 5000;

		fr_v4tcp(&f, cli, srv, sp, 25, cs, 0, 0x02, NULL);
		push_frame(pr, &f, ts += 1000);
		fr_v4tcp(&f, srv, cli, 25, sp, ss, cs + 1, 0x12, NULL);
		push_frame(pr, &f, ts += 1000);
		cs++, ss++;
		fr_v4tcp(&f, cli, srv, sp, 25, cs, ss, 0x10, NULL);
		push_frame(pr, &f, ts += 1000);
		for (int s = 0; s < SEGS; s++) {
			fr_v4tcp(&f, cli, srv, sp, 25, cs, ss, 0x18, pl);
			push_frame(pr, &f, ts += 1000);
			cs += SEG_LEN;
			fr_v4tcp(&f, srv, cli, 25, sp, ss, cs, 0x10, NULL);
			push_frame(pr, &f, ts += 1000);
		}
		fr_v4tcp(&f, cli, srv, sp, 25, cs, ss, 0x11, NULL);
		push_frame(pr, &f, ts += 1000);
		fr_v4tcp(&f, srv, cli, 25, sp, ss, cs + 1, 0x11, NULL);
		push_frame(pr, &f, ts += 1000);
		fr_v4tcp(&f, cli, srv, sp, 25, cs + 1, ss + 1, 0x10, NULL);
		push_frame(pr, &f, ts += 1000);
		if (c % 8 == 7)
			workers__tick_from(pr->ws, pr->p, ts);
	}
	return NULL;
}

static struct sink *sink;

static struct workers *new_workers(int n, int producers, size_t ring_bytes, struct rec_out **out)
{
	struct engine_cfg cfg;
	struct sink *s = sink = sink_file__open("/dev/null", false);
	struct workers *ws;

	assert_non_null(s);
	*out = rec_out__new("mailtap");
	assert_non_null(*out);
	assert_int_equal(rec_out__add_sink(*out, s), 0);
	engine_cfg__default(&cfg);
	cfg.seeded = true;
	cfg.seed = 1;
	ws = workers__new(n, producers, &cfg, NULL, *out, ring_bytes);
	assert_non_null(ws);
	assert_int_equal(workers__producers(ws), producers);
	return ws;
}

/* Runs `active` producer threads of `producers` at once into n workers. */
static void run_producers(int n, int producers, int active, size_t ring_bytes)
{
	struct producer pr[8];
	pthread_t thr[8];
	pthread_barrier_t start;
	struct engine_stats es;
	struct workers_stats st;
	struct rec_out *out;
	struct workers *ws = new_workers(n, producers, ring_bytes, &out);
	uint64_t pushed = 0;

	pthread_barrier_init(&start, NULL, (unsigned)active);
	for (int p = 0; p < active; p++) {
		pr[p] = (struct producer){ .ws = ws, .p = p, .start = &start };
		assert_int_equal(pthread_create(&thr[p], NULL, producer_main, &pr[p]), 0);
	}
	for (int p = 0; p < active; p++) {
		pthread_join(thr[p], NULL);
		pushed += pr[p].pushed;
	}
	workers__finish(ws);
	workers__engine_stats(ws, &es);
	workers__stats(ws, &st);
	assert_int_equal(pushed, (uint64_t)active * FLOWS * (3 + 2 * SEGS + 3));
	assert_int_equal(st.enqueued, pushed);
	assert_int_equal(st.oversize, 0);
	assert_int_equal(es.decode.packets, pushed);
	assert_int_equal(es.flow.created, (uint64_t)active * FLOWS);
	assert_int_equal(es.records_conn, (uint64_t)active * FLOWS);
	/* each producer's order kept: every segment in order, nothing missing or repeated */
	assert_int_equal(es.reasm.ooo_segments, 0);
	assert_int_equal(es.reasm.gaps, 0);
	assert_int_equal(es.reasm.overlaps, 0);
	assert_int_equal(es.reasm.delivered_bytes, (uint64_t)active * FLOWS * SEGS * SEG_LEN);
	workers__free(ws);
	rec_out__free(out);
	sink__close(sink);
	pthread_barrier_destroy(&start);
}

static void test_one_producer(void **state)
{
	(void)state;
	run_producers(2, 1, 1, 0);
}

/* 3 capture threads into 2 workers, 64 KiB rings: many wraps, full rings. */
static void test_concurrent_producers(void **state)
{
	(void)state;
	run_producers(2, 3, 3, 64 << 10);
}

/* 4 producers declared, 1 pushes: the workers still end (FINISH comes on every ring). */
static void test_idle_producers(void **state)
{
	(void)state;
	run_producers(3, 4, 1, 0);
}

static void test_oversize(void **state)
{
	struct rec_out *out;
	struct workers *ws = new_workers(1, 2, 4096, &out);
	struct workers_stats st;
	static uint8_t big[3000];
	struct pkt_raw raw = { .ts_ns = 1, .data = big, .caplen = sizeof(big),
			       .wirelen = sizeof(big), .linktype = 1 };

	(void)state;
	assert_int_equal(workers__packet_from(ws, 1, &raw), 0);
	raw.caplen = raw.wirelen = 1000;
	assert_int_equal(workers__packet_from(ws, 1, &raw), 0);
	workers__finish(ws);
	workers__stats(ws, &st);
	assert_int_equal(st.oversize, 1);
	assert_int_equal(st.enqueued, 1);
	workers__free(ws);
	rec_out__free(out);
	sink__close(sink);
}

/* FLOWS connections like producer_main's, the last 5 left open (no FIN), then packets of
 * other connections on port 80, into 3 workers: every engine ends its connections at the
 * last mail packet (as one engine would), not at its own last one. */
static void test_end_time(void **state)
{
	static const uint8_t srv[4] = { 192, 0, 2, 1 };
	uint64_t ts = 1700000000ULL * 1000000000ULL, last_mail;
	struct producer pr = { .p = 0 };
	struct engine_stats es;
	struct rec_out *out;
	char pl[SEG_LEN + 1];
	struct fr f;

	(void)state;
	pr.ws = new_workers(3, 1, 0, &out);
	memset(pl, 'x', SEG_LEN);
	pl[SEG_LEN] = '\0';
	for (int c = 0; c < FLOWS; c++) {
		uint8_t cli[4] = { 10, 1, (uint8_t)(c >> 8), (uint8_t)c };
		uint16_t sp = (uint16_t)(40000 + c);
		uint32_t cs = 1001, ss = 5001;

		fr_v4tcp(&f, cli, srv, sp, 25, 1000, 0, 0x02, NULL);
		push_frame(&pr, &f, ts += 1000);
		fr_v4tcp(&f, srv, cli, 25, sp, 5000, cs, 0x12, NULL);
		push_frame(&pr, &f, ts += 1000);
		for (int k = 0; k < SEGS; k++) {
			fr_v4tcp(&f, cli, srv, sp, 25, cs, ss, 0x18, pl);
			push_frame(&pr, &f, ts += 1000);
			cs += SEG_LEN;
		}
		if (c < FLOWS - 5) {
			fr_v4tcp(&f, cli, srv, sp, 25, cs, ss, 0x11, NULL);
			push_frame(&pr, &f, ts += 1000);
			fr_v4tcp(&f, srv, cli, 25, sp, ss, cs + 1, 0x11, NULL);
			push_frame(&pr, &f, ts += 1000);
		}
	}
	last_mail = ts;
	for (int c = 0; c < 3; c++) { /* not mail: it moves no engine's clock */
		uint8_t cli[4] = { 10, 2, 0, (uint8_t)c };

		fr_v4tcp(&f, cli, srv, 5000, 80, 1, 0, 0x02, NULL);
		push_frame(&pr, &f, ts += 1000000);
	}
	workers__finish(pr.ws);
	workers__engine_stats(pr.ws, &es);
	assert_int_equal(es.flow.created, FLOWS);
	assert_int_equal(es.records_conn, FLOWS);
	for (int i = 0; i < 3; i++) {
		struct engine_stats e;

		engine__stats(workers__engine(pr.ws, i), &e);
		assert_true(e.flow.created > 0); /* each worker had connections */
		assert_int_equal(engine__now(workers__engine(pr.ws, i)), last_mail);
	}
	workers__finish(pr.ws); /* again: nothing left to do, no hang */
	workers__free(pr.ws);
	rec_out__free(out);
	sink__close(sink);
}

static const uint8_t fa[4] = { 10, 0, 0, 1 }, fb[4] = { 10, 0, 0, 2 }; /* fr_v4frag's */

/* A TCP segment fa:sp -> fb:25 (seq, ACK flag) carrying SEG_LEN bytes, cut into IP fragments
 * [0, 64) and [64, end) (overlap: a third one, [32, 80), repeats bytes of both): pushed as
 * raw IP frames. None is excessively_small_fragment (under 64 bytes of IP, not the last). */
static void push_frags(struct producer *pr, uint16_t id, uint16_t sp, uint32_t seq, bool overlap,
		       uint64_t ts)
{
	struct fr t = { .len = 0 };
	uint8_t pl[SEG_LEN];
	uint8_t b[256];
	struct pkt_raw raw = { .data = b, .linktype = 12 /* DLT_RAW */ };
	uint32_t cut[][2] = { { 0, 64 }, { 32, 48 }, { 64, 20 + SEG_LEN - 64 } };

	memset(pl, 'f', sizeof(pl));
	fr_tcp(&t, sp, 25, seq, 5001, 0x10, 65535, -1, pl, sizeof(pl));
	for (int k = 0; k < 3; k++) {
		if (k == 1 && !overlap)
			continue;
		raw.caplen = raw.wirelen = (uint32_t)fr_v4frag(b, id, 6, t.b, cut[k][0], cut[k][1],
							       k < 2);
		raw.ts_ns = ts + (uint64_t)k;
		assert_int_equal(workers__packet_from(pr->ws, pr->p, &raw), 0);
	}
}

/* 12 connections fa -> fb:25, a second apart, each with data on its SYN (SYN_with_data: once
 * per originator a day, did_log) and a segment in overlapping fragments (fragment_overlap:
 * once per source address a day, did_log): into n workers, the engines' summed counters. */
static void weirds_of(int n, struct engine_stats *es)
{
	uint64_t ts = 1700000000ULL * 1000000000ULL;
	struct producer pr = { .p = 0 };
	struct rec_out *out;
	struct fr f;
	int busy = 0;

	pr.ws = new_workers(n, 1, 0, &out);
	for (int c = 0; c < 12; c++) {
		uint16_t sp = (uint16_t)(40000 + c);

		fr_v4tcp(&f, fa, fb, sp, 25, 1000, 0, 0x02, "hello");
		push_frame(&pr, &f, ts += 1000000000ULL);
		fr_v4tcp(&f, fb, fa, 25, sp, 5000, 1006, 0x12, NULL);
		push_frame(&pr, &f, ts += 1000);
		push_frags(&pr, (uint16_t)c, sp, 1006, true, ts += 1000);
	}
	workers__finish(pr.ws);
	workers__engine_stats(pr.ws, es);
	for (int i = 0; i < n; i++) {
		struct engine_stats e;

		engine__stats(workers__engine(pr.ws, i), &e);
		busy += e.flow.created > 0;
	}
	assert_int_equal(busy, n); /* every worker had some of them */
	workers__free(pr.ws);
	rec_out__free(out);
	sink__close(sink);
}

/* The weirds one engine holds back are held back with 3 workers: once each, not once per
 * worker (each worker had kept its own sets). */
static void test_shared_weirds(void **state)
{
	struct engine_stats one, three;

	(void)state;
	weirds_of(1, &one);
	weirds_of(3, &three);
	assert_int_equal(one.records_weird, 2); /* SYN_with_data, fragment_overlap */
	assert_true(one.weirds_held_back >= 22); /* the 11 repeats of each, and ignored names */
	assert_int_equal(three.records_weird, one.records_weird);
	assert_int_equal(three.weirds_held_back, one.weirds_held_back);
	assert_int_equal(three.frag.overlaps, one.frag.overlaps);
}

/* 8 connections fa -> fb:25, 400 s apart (each gone before the next: reset, and past the
 * inactivity timeout), with a segment past a gap (held by the reassembly) in two IP fragments
 * (held until both came). One engine has one connection at a time; so has each of 2 workers:
 * the peaks of the two, not their sum. */
static void test_peaks(void **state)
{
	uint64_t ts = 1700000000ULL * 1000000000ULL;
	struct producer pr = { .p = 0 };
	uint64_t flows = 0, reasm = 0, frag = 0;
	struct engine_stats es;
	struct rec_out *out;
	struct fr f;
	int busy = 0;

	(void)state;
	pr.ws = new_workers(2, 1, 0, &out);
	for (int c = 0; c < 8; c++) {
		uint16_t sp = (uint16_t)(40000 + c);

		fr_v4tcp(&f, fa, fb, sp, 25, 1000, 0, 0x02, NULL);
		push_frame(&pr, &f, ts += 400000000000ULL);
		fr_v4tcp(&f, fb, fa, 25, sp, 5000, 1001, 0x12, NULL);
		push_frame(&pr, &f, ts += 1000);
		fr_v4tcp(&f, fa, fb, sp, 25, 1001, 5001, 0x10, NULL);
		push_frame(&pr, &f, ts += 1000);
		push_frags(&pr, (uint16_t)c, sp, 1001 + 500, false, ts += 1000);
		fr_v4tcp(&f, fa, fb, sp, 25, 1001, 5001, 0x04, NULL);
		push_frame(&pr, &f, ts += 1000);
	}
	workers__finish(pr.ws);
	workers__engine_stats(pr.ws, &es);
	for (int i = 0; i < 2; i++) {
		struct engine_stats e;

		engine__stats(workers__engine(pr.ws, i), &e);
		busy += e.flow.created > 0 && e.reasm.bytes_peak > 0 && e.frag.peak_bytes > 0;
		flows = e.flow.peak > flows ? e.flow.peak : flows;
		reasm = e.reasm.bytes_peak > reasm ? e.reasm.bytes_peak : reasm;
		frag = e.frag.peak_bytes > frag ? e.frag.peak_bytes : frag;
	}
	assert_int_equal(busy, 2); /* both had a peak of their own: a sum would show */
	assert_int_equal(es.flow.created, 8);
	assert_int_equal(es.flow.peak, 1);
	assert_int_equal(flows, 1);
	assert_int_equal(es.reasm.bytes_peak, reasm);
	assert_int_equal(es.frag.peak_bytes, frag);
	workers__free(pr.ws);
	rec_out__free(out);
	sink__close(sink);
}

/* Idle workers sleep until a producer wakes them, or 10 ms at most: in 300 ms two workers
 * sleep some 60 times (with the 20 us sleeps before, some 6,000). Counted, not timed: a slow
 * machine makes fewer sleeps, never more. Then a producer's packets and the end still reach
 * them. */
static void test_idle(void **state)
{
	struct producer pr = { .p = 0 };
	struct workers_stats st;
	struct engine_stats es;
	struct rec_out *out;
	struct fr f;

	(void)state;
	pr.ws = new_workers(2, 1, 0, &out);
	usleep(300000);
	workers__stats(pr.ws, &st);
	assert_true(st.naps >= 2);
	assert_true(st.naps <= 100);
	for (int c = 0; c < 8; c++) {
		fr_v4tcp(&f, fa, fb, (uint16_t)(40000 + c), 25, 1000, 0, 0x02, NULL);
		push_frame(&pr, &f, 1000 + (uint64_t)c);
	}
	workers__sync_stats(pr.ws); /* the sleeping workers woke for them */
	workers__engine_stats(pr.ws, &es);
	assert_int_equal(es.flow.created, 8);
	workers__finish(pr.ws);
	workers__free(pr.ws);
	rec_out__free(out);
	sink__close(sink);
}

/* Capture threads: producer 1 steers fragments on its thread while the main thread reads
 * the counters (a stats record: workers__stats), as --capture-threads 2 --workers 2 does
 * once a second. Under ThreadSanitizer (25-workers.sh) that read raced the steering. */
static atomic_int steering;

static void *steer_main(void *arg)
{
	struct workers *ws = arg;
	uint8_t pl[64] = { 0 }, b[256];
	uint64_t ts = 1700000000ULL * 1000000000ULL;

	for (int i = 0; i < 20000; i++) {
		/* a later fragment: held until its first fragment (never) or the limits */
		size_t n = fr_v4frag(b, (uint16_t)i, 6, pl, 8, 16, 1);
		struct pkt_raw raw = { .ts_ns = ts += 1000, .data = b, .caplen = (uint32_t)n,
				       .wirelen = (uint32_t)n, .linktype = 12 };

		workers__packet_from(ws, 1, &raw);
	}
	atomic_store(&steering, 0);
	return NULL;
}

static void test_frag_stats_while_steering(void **state)
{
	struct rec_out *out;
	struct workers *ws = new_workers(2, 2, 0, &out);
	struct workers_stats st;
	pthread_t t;

	(void)state;
	atomic_store(&steering, 1);
	assert_int_equal(pthread_create(&t, NULL, steer_main, ws), 0);
	do /* each counter as of some moment: nothing to check but the race */
		workers__stats(ws, &st);
	while (atomic_load(&steering));
	pthread_join(t, NULL);
	workers__finish(ws);
	workers__stats(ws, &st);
	assert_int_equal(st.frags_steered, 20000);
	assert_int_equal(st.frags_held, 20000);
	workers__free(ws);
	rec_out__free(out);
	sink__close(sink);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_producer),
		cmocka_unit_test(test_concurrent_producers),
		cmocka_unit_test(test_idle_producers),
		cmocka_unit_test(test_oversize),
		cmocka_unit_test(test_end_time),
		cmocka_unit_test(test_shared_weirds),
		cmocka_unit_test(test_peaks),
		cmocka_unit_test(test_idle),
		cmocka_unit_test(test_frag_stats_while_steering),
	};

	alarm(120); /* a lost slot shows as a worker waiting for ever: fail instead of hanging */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
