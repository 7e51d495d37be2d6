// SPDX-License-Identifier: BSD-3-Clause
/* Flow table: keying both directions, Zeek's originator choice and flips, conn_state and
 * history for the classic handshakes, sizes, timeouts, eviction; uid format; Community ID
 * against the spec's vectors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <cmocka.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include "mailtap/community_id.h"
#include "mailtap/flow.h"
#include "mailtap/ids.h"

#define S PKT_TCP_SYN
#define A PKT_TCP_ACK
#define F PKT_TCP_FIN
#define R PKT_TCP_RST
#define P PKT_TCP_PSH

static uint16_t srv_port = 25; /* the server's port of pk() */

struct ctx {
	struct flow_table *t;
	struct mt_ids ids;
	int finished;
	char last_state[8];
	char last_hist[FLOW_HIST_MAX + 1];
	uint32_t last_hist_len;
	uint64_t last_orig_bytes, last_resp_bytes;
};

static void on_finish(void *u, struct flow *f, uint64_t now)
{
	struct ctx *c = u;

	(void)now;
	c->finished++;
	snprintf(c->last_state, sizeof(c->last_state), "%s", flow__conn_state(f));
	snprintf(c->last_hist, sizeof(c->last_hist), "%s", flow__history(f));
	c->last_hist_len = f->hist_len;
	c->last_orig_bytes = flow__size(f, true);
	c->last_resp_bytes = flow__size(f, false);
}

static void uid(void *u, char out[MT_UID_LEN])
{
	mt_ids__make(&((struct ctx *)u)->ids, 'C', out);
}

static struct ctx *new_ctx(uint32_t max_flows)
{
	struct ctx *c = calloc(1, sizeof(*c));
	struct flow_limits l;

	srv_port = 25;
	flow_limits__default(&l);
	l.max_flows = max_flows;
	mt_ids__init(&c->ids, 1, 42);
	c->t = flow_table__new(&l, 7, on_finish, NULL, c);
	return c;
}

static void free_ctx(struct ctx *c)
{
	flow_table__free(c->t);
	free(c);
}

static const uint8_t CLI[4] = { 10, 0, 0, 1 }, SRV[4] = { 10, 0, 0, 2 };

/* A packet from the client (to_srv) or the server; t in ms. */
static struct flow *pk(struct ctx *c, int to_srv, uint8_t flags, uint32_t seq, uint32_t ack,
		       uint32_t len, uint64_t t_ms, struct flow_pkt_result *res)
{
	struct pkt p;
	struct flow_pkt_result r;
	static const uint8_t data[1500];

	memset(&p, 0, sizeof(p));
	p.ts_ns = t_ms * 1000000ULL;
	if (to_srv) {
		mt_addr__from_v4(&p.src, CLI);
		mt_addr__from_v4(&p.dst, SRV);
		p.sport = 40000;
		p.dport = srv_port;
	} else {
		mt_addr__from_v4(&p.src, SRV);
		mt_addr__from_v4(&p.dst, CLI);
		p.sport = srv_port;
		p.dport = 40000;
	}
	p.ip_ver = 4;
	p.l4proto = IPPROTO_TCP;
	p.tcp_flags = flags;
	p.seq = seq;
	p.ack = ack;
	p.win = 1000;
	p.wscale = 0xff;
	p.payload = data;
	p.payload_len = p.payload_wire_len = len;
	p.ip_len = 40 + len;
	flow_table__expire(c->t, p.ts_ns);
	return flow_table__packet(c->t, &p, res ? res : &r, uid);
}

/* A RST from the client of connection `port`, at t_ms, with sequence number seq. */
static void rst(struct ctx *c, uint16_t port, uint32_t seq, uint64_t t_ms)
{
	struct pkt p;
	struct flow_pkt_result r;

	memset(&p, 0, sizeof(p));
	p.ts_ns = t_ms * 1000000ULL;
	mt_addr__from_v4(&p.src, CLI);
	mt_addr__from_v4(&p.dst, SRV);
	p.sport = port;
	p.dport = 25;
	p.ip_ver = 4;
	p.l4proto = IPPROTO_TCP;
	p.tcp_flags = R;
	p.seq = seq;
	p.wscale = 0xff;
	p.ip_len = 40;
	assert_non_null(flow_table__packet(c->t, &p, &r, uid));
}

/* Zeek appends history letters without a limit: past the FLOW_HIST_INLINE letters in the flow
 * the history moves to the heap (freed with the flow), up to FLOW_HIST_MAX letters; a letter
 * past that, or past FLOW_HIST_HEAP_MAX bytes of heap copies in the table, is dropped and the
 * flow counted once in history_truncated. struct flow stays within its budget. */
static void test_history_bounds(void **st)
{
	struct ctx *c = new_ctx(10000);
	struct flow_stats fs;
	struct flow *f;
	uint16_t port;
	size_t len;

	(void)st;
	assert_true(sizeof(struct flow) <= 480);
	f = pk(c, 1, S, 100, 0, 0, 0, NULL);
	pk(c, 0, S | A, 500, 101, 0, 1, NULL);
	pk(c, 1, A, 101, 501, 0, 2, NULL);
	for (uint32_t i = 0; i < 40; i++)
		rst(c, 40000, 101 + i * 10, 3);
	assert_int_equal(f->hist_len, 43);
	assert_string_equal(flow__history(f), "ShARRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRR");
	flow_table__stats(c->t, &fs);
	assert_int_equal(fs.history_heap_bytes, 64);
	for (uint32_t i = 40; i < FLOW_HIST_MAX + 100; i++)
		rst(c, 40000, 101 + i * 10, 3);
	len = strlen(flow__history(f));
	assert_int_equal(len, FLOW_HIST_MAX);
	assert_int_equal(f->hist_len, FLOW_HIST_MAX);
	assert_memory_equal(flow__history(f), "ShARRR", 6);
	flow_table__stats(c->t, &fs);
	assert_int_equal(fs.history_truncated, 1);
	assert_int_equal(fs.history_heap_bytes, FLOW_HIST_MAX + 1);
	flow_table__flush(c->t, 4);
	assert_int_equal(c->last_hist_len, FLOW_HIST_MAX);
	flow_table__stats(c->t, &fs);
	assert_int_equal(fs.history_heap_bytes, 0);
	/* the table's bound: connections of 2048 letters (4 KiB copies) until it is reached */
	for (port = 1; port < 5000; port++)
		for (uint32_t i = 0; i < 2048; i++)
			rst(c, port, 1000 + i, 5);
	flow_table__stats(c->t, &fs);
	assert_true(fs.history_heap_bytes <= FLOW_HIST_HEAP_MAX);
	assert_true(fs.history_heap_bytes > FLOW_HIST_HEAP_MAX - 4096);
	assert_int_equal(fs.history_truncated, 1 + 4999 - FLOW_HIST_HEAP_MAX / 4096);
	flow_table__flush(c->t, 6);
	flow_table__stats(c->t, &fs);
	assert_int_equal(fs.history_heap_bytes, 0);
	free_ctx(c);
}

static void test_full_session_sf(void **st)
{
	struct ctx *c = new_ctx(10);
	struct flow_pkt_result r;
	struct flow *f;

	(void)st;
	f = pk(c, 1, S, 100, 0, 0, 0, &r);
	assert_true(r.is_orig);
	pk(c, 0, S | A, 500, 101, 0, 1, &r);
	assert_false(r.is_orig);
	pk(c, 1, A, 101, 501, 0, 2, NULL);
	pk(c, 0, A | P, 501, 101, 20, 3, NULL);   /* banner */
	pk(c, 1, A | P, 101, 521, 10, 4, &r);	   /* EHLO */
	assert_true(r.deliver);
	assert_int_equal(r.rel_data_seq, 1);
	pk(c, 0, A | P, 521, 111, 30, 5, NULL);
	pk(c, 1, A | P, 101, 551, 10, 6, NULL);	   /* retransmission */
	pk(c, 1, F | A, 111, 551, 0, 7, NULL);
	pk(c, 0, F | A, 551, 112, 0, 8, NULL);
	pk(c, 1, A, 112, 552, 0, 9, NULL);
	assert_string_equal(flow__conn_state(f), "SF");
	assert_string_equal(flow__history(f), "ShAdDTFf"); /* no pure ACK from the server: no a */
	assert_int_equal(flow__size(f, true), 10);
	assert_int_equal(flow__size(f, false), 50);
	assert_int_equal(f->ep[MT_ORIG].pkts, 6);
	assert_int_equal(f->ep[MT_RESP].pkts, 4);
	assert_int_equal(f->ep[MT_ORIG].ip_bytes, 6 * 40 + 20);
	/* uid shape: C + base62 */
	assert_int_equal(f->uid[0], 'C');
	assert_true(strlen(f->uid) >= 12 && strlen(f->uid) <= 18);
	for (const char *p = f->uid + 1; *p; p++)
		assert_non_null(strchr("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", *p));
	/* closed on both sides: removed tcp_close_delay (5 s) later, by packet time */
	flow_table__expire(c->t, 8 * 1000000ULL + 4 * 1000000000ULL);
	assert_int_equal(c->finished, 0);
	flow_table__expire(c->t, 9 * 1000000ULL + 5 * 1000000000ULL);
	assert_int_equal(c->finished, 1);
	assert_string_equal(c->last_state, "SF");
	free_ctx(c);
}

static void test_states(void **st)
{
	struct ctx *c;

	(void)st;
	/* S0: lone SYN, expires after tcp_attempt_delay */
	c = new_ctx(10);
	pk(c, 1, S, 100, 0, 0, 0, NULL);
	flow_table__flush(c->t, 1);
	assert_string_equal(c->last_state, "S0");
	assert_string_equal(c->last_hist, "S");
	free_ctx(c);
	/* REJ */
	c = new_ctx(10);
	pk(c, 1, S, 100, 0, 0, 0, NULL);
	pk(c, 0, R | A, 0, 101, 0, 1, NULL);
	flow_table__flush(c->t, 2);
	assert_string_equal(c->last_state, "REJ");
	assert_string_equal(c->last_hist, "Sr");
	free_ctx(c);
	/* RSTO after establishment */
	c = new_ctx(10);
	pk(c, 1, S, 100, 0, 0, 0, NULL);
	pk(c, 0, S | A, 500, 101, 0, 1, NULL);
	pk(c, 1, A, 101, 501, 0, 2, NULL);
	pk(c, 1, R, 101, 0, 0, 3, NULL);
	flow_table__flush(c->t, 4);
	assert_string_equal(c->last_state, "RSTO");
	assert_string_equal(c->last_hist, "ShAR");
	free_ctx(c);
	/* RSTR */
	c = new_ctx(10);
	pk(c, 1, S, 100, 0, 0, 0, NULL);
	pk(c, 0, S | A, 500, 101, 0, 1, NULL);
	pk(c, 1, A, 101, 501, 0, 2, NULL);
	pk(c, 0, R | A, 501, 101, 0, 3, NULL);
	flow_table__flush(c->t, 4);
	assert_string_equal(c->last_state, "RSTR");
	free_ctx(c);
	/* RSTOS0: SYN then RST from the originator */
	c = new_ctx(10);
	pk(c, 1, S, 100, 0, 0, 0, NULL);
	pk(c, 1, R, 101, 0, 0, 1, NULL);
	flow_table__flush(c->t, 2);
	assert_string_equal(c->last_state, "RSTOS0");
	free_ctx(c);
	/* S1: established, not closed */
	c = new_ctx(10);
	pk(c, 1, S, 100, 0, 0, 0, NULL);
	pk(c, 0, S | A, 500, 101, 0, 1, NULL);
	pk(c, 1, A, 101, 501, 0, 2, NULL);
	flow_table__flush(c->t, 3);
	assert_string_equal(c->last_state, "S1");
	free_ctx(c);
	/* SH: SYN then FIN, no answer */
	c = new_ctx(10);
	pk(c, 1, S, 100, 0, 0, 0, NULL);
	pk(c, 1, F, 101, 0, 0, 1, NULL);
	flow_table__flush(c->t, 2);
	assert_string_equal(c->last_state, "SH");
	assert_string_equal(c->last_hist, "SF");
	free_ctx(c);
}

/* Midstream: data from the server port first flips the roles ('^'), state OTH. */
static void test_midstream_flip(void **st)
{
	struct ctx *c = new_ctx(10);
	struct flow_pkt_result r;
	struct flow *f;

	(void)st;
	f = pk(c, 0, A | P, 5000, 700, 30, 0, &r);
	assert_false(r.is_orig);
	assert_int_equal(f->id.resp_p, 25);
	assert_int_equal(f->id.orig_p, 40000);
	pk(c, 1, A | P, 700, 5030, 10, 1, &r);
	assert_true(r.is_orig);
	assert_string_equal(flow__history(f), "^dD");
	assert_string_equal(flow__conn_state(f), "OTH");
	assert_int_equal(flow__size(f, false), 30);
	/* 2525 is a server port too (not in Zeek's likely_server_ports: docs/design.md), 10025
	 * is not */
	for (int k = 0; k < 2; k++) {
		free_ctx(c);
		c = new_ctx(10);
		srv_port = k ? 10025 : 2525;
		f = pk(c, 0, A | P, 5000, 700, 30, 0, &r);
		assert_int_equal(r.is_orig, k);
		assert_int_equal(f->id.orig_p, k ? 10025 : 40000);
		assert_string_equal(flow__history(f), k ? "D" : "^d");
	}
	/* lone SYN-ACK from the server: flipped too */
	free_ctx(c);
	c = new_ctx(10);
	f = pk(c, 0, S | A, 500, 101, 0, 0, &r);
	assert_false(r.is_orig);
	assert_string_equal(flow__history(f), "^h");
	free_ctx(c);
}

/* connection_established's handlers (known-hosts.zeek, intel's conn-established.zeek) log
 * only when both endpoints are ESTABLISHED once the packet is processed: a SYN-ACK that also
 * carries FIN or RST leaves the responder CLOSED or RESET (UpdateInactiveState handles the
 * flags after the SYN), so it establishes nothing; a plain SYN-ACK does. */
static void test_established_after_whole_packet(void **st)
{
	static const uint8_t extra[] = {F, R};
	struct flow_pkt_result r;
	struct ctx *c;

	(void)st;
	for (unsigned i = 0; i < sizeof(extra); i++) {
		c = new_ctx(10);
		pk(c, 1, S, 100, 0, 0, 0, &r);
		assert_false(r.established);
		pk(c, 0, S | A | extra[i], 500, 101, 0, 1, &r);
		assert_false(r.established);
		free_ctx(c);
	}
	c = new_ctx(10);
	pk(c, 1, S, 100, 0, 0, 0, &r);
	pk(c, 0, S | A, 500, 101, 0, 1, &r);
	assert_true(r.established);
	pk(c, 1, A, 101, 501, 0, 2, &r);
	assert_false(r.established); /* once */
	free_ctx(c);
}

/* The SYN-ACK before its SYN on a port that is no mail server's: the SYN with the sequence
 * number the SYN-ACK acked flips the roles in place (Zeek's UpdateInactiveState): the
 * addresses, the endpoints and each direction's reassembly state and EOF follow, is_orig is
 * the sender's new role, the history Hs^ (H and s written before the flip). */
static void test_synack_first_flip(void **st)
{
	struct ctx *c = new_ctx(10);
	struct flow_pkt_result r;
	struct flow *f;

	(void)st;
	srv_port = 40001; /* back to 25 with the next new_ctx */
	f = pk(c, 0, S | A, 500, 101, 0, 0, &r);
	assert_true(r.is_orig);
	assert_false(r.flipped);
	assert_int_equal(f->id.orig_p, 40001);
	reasm__init(&f->rd[MT_ORIG], MT_ORIG); /* as the engine does, the server's stream marked */
	reasm__init(&f->rd[MT_RESP], MT_RESP);
	f->rd[MT_ORIG].isn = 500;
	f->rd_init = 1;
	f->bits |= FLOW_B_EOF << MT_ORIG;
	pk(c, 1, S, 100, 0, 0, 1, &r);
	assert_true(r.is_orig);
	assert_true(r.flipped);
	assert_true(r.established);
	assert_int_equal(f->id.orig_p, 40000);
	assert_int_equal(f->id.resp_p, 40001);
	assert_int_equal(f->ep[MT_ORIG].start_seq, 100);
	assert_int_equal(f->ep[MT_RESP].start_seq, 500);
	assert_int_equal(f->ep[MT_ORIG].pkts, 1);
	assert_int_equal(f->ep[MT_ORIG].state, TCP_ESTABLISHED);
	assert_int_equal(f->ep[MT_RESP].state, TCP_ESTABLISHED);
	assert_int_equal(f->rd[MT_RESP].isn, 500);
	assert_int_equal(f->rd[MT_RESP].dir, MT_RESP);
	assert_int_equal(f->rd[MT_ORIG].dir, MT_ORIG);
	assert_int_equal(f->bits & (FLOW_B_EOF << MT_ORIG | FLOW_B_EOF << MT_RESP),
			 FLOW_B_EOF << MT_RESP);
	pk(c, 1, A, 101, 501, 0, 2, &r);
	assert_true(r.is_orig);
	pk(c, 0, A | P, 501, 101, 10, 3, &r);
	assert_false(r.is_orig);
	assert_string_equal(flow__history(f), "Hs^Ad");
	assert_string_equal(flow__conn_state(f), "S1");
	assert_int_equal(flow__size(f, false), 10);
	free_ctx(c);
}

static void test_reuse_and_eviction(void **st)
{
	struct ctx *c = new_ctx(2);
	struct flow *f1, *f2;
	struct flow_stats fs;

	(void)st;
	f1 = pk(c, 1, S, 100, 0, 0, 0, NULL);
	f2 = pk(c, 1, S, 100, 0, 0, 1, NULL); /* retransmitted SYN: same connection */
	assert_ptr_equal(f1, f2);
	assert_string_equal(flow__history(f1), "S");
	pk(c, 1, S, 90000, 0, 0, 2, NULL);    /* new ISN: connection reuse */
	assert_int_equal(c->finished, 1);
	flow_table__stats(c->t, &fs);
	assert_int_equal(fs.reused, 1);
	/* eviction at max_flows = 2 */
	{
		struct pkt p;
		struct flow_pkt_result r;

		for (int i = 0; i < 3; i++) {
			memset(&p, 0, sizeof(p));
			mt_addr__from_v4(&p.src, CLI);
			mt_addr__from_v4(&p.dst, SRV);
			p.sport = (uint16_t)(50000 + i);
			p.dport = 25;
			p.tcp_flags = S;
			p.ts_ns = 10;
			p.wscale = 0xff;
			flow_table__packet(c->t, &p, &r, uid);
		}
	}
	flow_table__stats(c->t, &fs);
	assert_int_equal(fs.active, 2);
	assert_int_equal(fs.evicted, 2);
	free_ctx(c);
}

/* Many flows: hashing both directions to the same flow, table growth. */
static void test_many_flows(void **st)
{
	struct ctx *c = new_ctx(100000);
	struct flow_stats fs;

	(void)st;
	for (uint32_t i = 0; i < 50000; i++) {
		struct pkt p;
		struct flow_pkt_result r;
		uint8_t a[4] = { 10, (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i };
		struct flow *f1, *f2;

		memset(&p, 0, sizeof(p));
		mt_addr__from_v4(&p.src, a);
		mt_addr__from_v4(&p.dst, SRV);
		p.sport = 1024 + (uint16_t)(i % 5000);
		p.dport = 25;
		p.tcp_flags = S;
		p.seq = i;
		p.wscale = 0xff;
		f1 = flow_table__packet(c->t, &p, &r, uid);
		mt_addr__from_v4(&p.src, SRV);
		mt_addr__from_v4(&p.dst, a);
		p.dport = p.sport;
		p.sport = 25;
		p.tcp_flags = S | A;
		p.ack = i + 1;
		f2 = flow_table__packet(c->t, &p, &r, uid);
		assert_ptr_equal(f1, f2);
		assert_false(r.is_orig);
	}
	flow_table__stats(c->t, &fs);
	assert_int_equal(fs.active, 50000);
	assert_true(fs.buckets >= 50000);
	free_ctx(c);
}

static void test_community_id_vectors(void **st)
{
	struct conn_id id;
	char out[COMMUNITY_ID_LEN];

	(void)st;
	memset(&id, 0, sizeof(id));
	mt_addr__parse(&id.orig_h, "2001:470:e5bf:dead:4957:2174:e82c:4887");
	mt_addr__parse(&id.resp_h, "2607:f8b0:400c:c03::1a");
	id.orig_p = 63943;
	id.resp_p = 25;
	id.proto = 6;
	community_id__v1(&id, 0, out);
	assert_string_equal(out, "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=");
	community_id__v1(&id, 1, out);
	assert_string_equal(out, "1:eJYTW6AOzFLlSUoESovMjnu7rMw=");
	mt_addr__parse(&id.orig_h, "128.232.110.120");
	mt_addr__parse(&id.resp_h, "66.35.250.204");
	id.orig_p = 34855;
	id.resp_p = 80;
	community_id__v1(&id, 0, out);
	assert_string_equal(out, "1:LQU9qZlK+B5F3KDmev6m5PMibrg=");
	/* symmetric */
	{
		struct conn_id rev = id;

		rev.orig_h = id.resp_h;
		rev.resp_h = id.orig_h;
		rev.orig_p = id.resp_p;
		rev.resp_p = id.orig_p;
		community_id__v1(&rev, 0, out);
		assert_string_equal(out, "1:LQU9qZlK+B5F3KDmev6m5PMibrg=");
	}
}

static void test_uid_seeded(void **st)
{
	struct mt_ids a, b;
	char x[MT_UID_LEN], y[MT_UID_LEN];

	(void)st;
	mt_ids__init(&a, 1, 99);
	mt_ids__init(&b, 1, 99);
	for (int i = 0; i < 100; i++) {
		mt_ids__make(&a, 'F', x);
		mt_ids__make(&b, 'F', y);
		assert_string_equal(x, y);
		assert_int_equal(x[0], 'F');
	}
	mt_ids__init(&b, 1, 100);
	mt_ids__make(&b, 'F', y);
	assert_string_not_equal(x, y);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_session_sf),
		cmocka_unit_test(test_states),
		cmocka_unit_test(test_midstream_flip),
		cmocka_unit_test(test_synack_first_flip),
		cmocka_unit_test(test_established_after_whole_packet),
		cmocka_unit_test(test_reuse_and_eviction),
		cmocka_unit_test(test_many_flows),
		cmocka_unit_test(test_community_id_vectors),
		cmocka_unit_test(test_uid_seeded),
		cmocka_unit_test(test_history_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
