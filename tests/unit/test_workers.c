// SPDX-License-Identifier: BSD-3-Clause
/* Workers with several producers (capture threads): every packet pushed by concurrent
 * producers is processed exactly once and in its producer's order (no reassembly gap or
 * out-of-order segment in any connection), through ring wraps and full rings; producers that
 * never push do not hold up the end; frames too large for a ring are counted, not queued.
 * At the end every engine ends its connections at the time of the last mail packet. */
#include <setjmp.h>
#include <stdarg.h>
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
	struct sink *s = sink = sink_file__open("/dev/null");
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_producer),
		cmocka_unit_test(test_concurrent_producers),
		cmocka_unit_test(test_idle_producers),
		cmocka_unit_test(test_oversize),
		cmocka_unit_test(test_end_time),
	};

	alarm(120); /* a lost slot shows as a worker waiting for ever: fail instead of hanging */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
