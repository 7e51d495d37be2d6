// SPDX-License-Identifier: BSD-3-Clause
/* The tunnel table (tunnels.h): one uid per tunnel whichever direction its packets take,
 * Tunnel::DISCOVER once, EXPIRE after expire_ns without a new connection (and DISCOVER again
 * when one comes), CLOSE at the end for VXLAN and Geneve but not for GRE, references that keep
 * an expired tunnel's uid, the table's limit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <msgpack.h>
#include "mailtap/rec.h"
#include "mailtap/sink.h"
#include "mailtap/tunnels.h"
#include "alloc_fault.h"

#define S 1000000000ULL

struct cap {
	struct sink sink;
	char recs[64][512];
	int n;
};

/* Each record as "stream|key=value|..." (strings and numbers). */
static int cap_write(struct sink *s, const char *tag, size_t tag_len, uint64_t ts_ns,
		     const uint8_t *map, size_t len)
{
	struct cap *c = (struct cap *)s;
	msgpack_unpacked u;
	size_t o;

	(void)ts_ns;
	assert_true(c->n < 64);
	o = (size_t)snprintf(c->recs[c->n], sizeof(c->recs[0]), "%.*s", (int)(tag_len - 8),
			     tag + 8);
	msgpack_unpacked_init(&u);
	assert_int_equal(msgpack_unpack_next(&u, (const char *)map, len, NULL),
			 MSGPACK_UNPACK_SUCCESS);
	for (uint32_t i = 0; i < u.data.via.map.size; i++) {
		const msgpack_object_kv *kv = &u.data.via.map.ptr[i];
		char *d = c->recs[c->n] + o;
		size_t room = sizeof(c->recs[0]) - o;
		int k = (int)kv->key.via.str.size;

		if (kv->val.type == MSGPACK_OBJECT_STR)
			o += (size_t)snprintf(d, room, "|%.*s=%.*s", k, kv->key.via.str.ptr,
					      (int)kv->val.via.str.size, kv->val.via.str.ptr);
		else if (kv->val.type == MSGPACK_OBJECT_POSITIVE_INTEGER)
			o += (size_t)snprintf(d, room, "|%.*s=%llu", k, kv->key.via.str.ptr,
					      (unsigned long long)kv->val.via.u64);
		else
			o += (size_t)snprintf(d, room, "|%.*s=%.1f", k, kv->key.via.str.ptr,
					      kv->val.via.f64);
	}
	msgpack_unpacked_destroy(&u);
	c->n++;
	return 0;
}

static int cap_nop(struct sink *s)
{
	(void)s;
	return 0;
}

static const struct sink_ops cap_ops = {
    .name = "cap", .write = cap_write, .flush = cap_nop, .close = cap_nop};

static struct cap cap;
static struct rec_out *out;

static struct tunnels *new_table(uint32_t max)
{
	struct tunnels_limits l;
	struct tunnels *t;

	memset(&cap, 0, sizeof(cap));
	cap.sink.ops = &cap_ops;
	out = rec_out__new("mailtap");
	assert_non_null(out);
	assert_int_equal(rec_out__add_sink(out, &cap.sink), 0);
	tunnels_limits__default(&l);
	l.max = max;
	l.expire_ns = 100 * S;
	t = tunnels__new(&l, out, true, 1);
	assert_non_null(t);
	return t;
}

static void done(struct tunnels *t)
{
	tunnels__free(t);
	rec_out__free(out);
}

/* A packet through tunnel type between 10.9.0.a:pa and 10.9.0.b:pb. */
static struct pkt tp(uint8_t type, uint8_t a, uint16_t pa, uint8_t b, uint16_t pb)
{
	struct pkt p;

	memset(&p, 0, sizeof(p));
	p.tun.type = type;
	mt_addr__from_v4(&p.tun.src, (const uint8_t[4]){10, 9, 0, a});
	mt_addr__from_v4(&p.tun.dst, (const uint8_t[4]){10, 9, 0, b});
	p.tun.sport = pa;
	p.tun.dport = pb;
	return p;
}

/* "tunnel|ts=T|uid=U|id...|tunnel_type=TYPE|action=A" for tunnel p. */
static void want(char *w, size_t n, double ts, const char *uid, const struct pkt *p,
		 const char *type, const char *action)
{
	char a[64], b[64];

	mt_addr__fmt(&p->tun.src, a, sizeof(a));
	mt_addr__fmt(&p->tun.dst, b, sizeof(b));
	snprintf(w, n,
		 "tunnel|ts=%.1f|uid=%s|id.orig_h=%s|id.orig_p=%u|id.resp_h=%s|id.resp_p=%u|"
		 "tunnel_type=%s|action=%s",
		 ts, uid, a, p->tun.sport, b, p->tun.dport, type, action);
}

/* One tunnel whichever way its packets go (VXLAN's endpoints reversed), another for GRE
 * between the same hosts; DISCOVER once each; at the end CLOSE for the VXLAN tunnel only. */
static void test_discover_close(void **st)
{
	struct tunnels *t = new_table(8);
	struct pkt v = tp(PKT_TUN_VXLAN, 1, 49152, 2, 4789);
	struct pkt vr = tp(PKT_TUN_VXLAN, 2, 4789, 1, 49152);
	struct pkt g = tp(PKT_TUN_GRE, 1, 0, 2, 0);
	char u1[MT_UID_LEN], u2[MT_UID_LEN], w[512];
	uint16_t r1, r2, r3;
	struct tunnels_stats s;

	(void)st;
	r1 = tunnels__get(t, &v, 1 * S);
	r2 = tunnels__get(t, &vr, 2 * S);
	r3 = tunnels__get(t, &g, 3 * S);
	assert_true(r1 && r3);
	assert_int_equal(r1, r2);
	assert_int_not_equal(r1, r3);
	tunnels__uid(t, r1, u1);
	tunnels__uid(t, r3, u2);
	assert_string_not_equal(u1, u2);
	assert_int_equal(cap.n, 2);
	want(w, sizeof(w), 1.0, u1, &v, "Tunnel::VXLAN", "Tunnel::DISCOVER");
	assert_string_equal(cap.recs[0], w);
	want(w, sizeof(w), 3.0, u2, &g, "Tunnel::GRE", "Tunnel::DISCOVER");
	assert_string_equal(cap.recs[1], w);
	tunnels__put(t, r1);
	tunnels__put(t, r2);
	tunnels__put(t, r3);
	tunnels__finish(t, 50 * S);
	assert_int_equal(cap.n, 3);
	want(w, sizeof(w), 50.0, u1, &v, "Tunnel::VXLAN", "Tunnel::CLOSE");
	assert_string_equal(cap.recs[2], w);
	tunnels__stats(t, &s);
	assert_int_equal(s.discovered, 2);
	assert_int_equal(s.closed, 1);
	assert_int_equal(s.expired, 0);
	done(t);
}

/* EXPIRE once no new connection came for expire_ns (at the time it ran out); a connection
 * still holding the expired tunnel keeps its uid; a new connection through it DISCOVERs it
 * again with that uid; once nothing holds it, the next one gets a new uid. */
static void test_expire(void **st)
{
	struct tunnels *t = new_table(8);
	struct pkt v = tp(PKT_TUN_GENEVE, 1, 40000, 2, 6081);
	struct pkt o = tp(PKT_TUN_GRE, 5, 0, 6, 0);
	char u1[MT_UID_LEN], u2[MT_UID_LEN], u3[MT_UID_LEN], w[512];
	uint16_t r1, r2, r3;

	(void)st;
	r1 = tunnels__get(t, &v, 10 * S);
	tunnels__uid(t, r1, u1);
	tunnels__tick(t, 110 * S); /* exactly expire_ns: not yet */
	assert_int_equal(cap.n, 1);
	tunnels__tick(t, 111 * S);
	assert_int_equal(cap.n, 2);
	want(w, sizeof(w), 110.0, u1, &v, "Tunnel::GENEVE", "Tunnel::EXPIRE");
	assert_string_equal(cap.recs[1], w);
	tunnels__uid(t, r1, u2); /* still named by its connection */
	assert_string_equal(u1, u2);
	r2 = tunnels__get(t, &v, 120 * S);
	assert_int_equal(r1, r2);
	want(w, sizeof(w), 120.0, u1, &v, "Tunnel::GENEVE", "Tunnel::DISCOVER");
	assert_string_equal(cap.recs[2], w);
	/* a GRE tunnel used at 130 s; at 225 s the Geneve one (last used at 120 s) expires
	 * through another tunnel's new connection, not the GRE one */
	r3 = tunnels__get(t, &o, 130 * S);
	tunnels__put(t, r3);
	tunnels__put(t, r1);
	tunnels__put(t, r2);
	tunnels__get(t, &o, 225 * S);
	assert_int_equal(cap.n, 5);
	want(w, sizeof(w), 220.0, u1, &v, "Tunnel::GENEVE", "Tunnel::EXPIRE");
	assert_string_equal(cap.recs[4], w);
	/* nothing holds it now: the next connection through it is a new tunnel */
	r1 = tunnels__get(t, &v, 230 * S);
	tunnels__uid(t, r1, u3);
	assert_string_not_equal(u1, u3);
	want(w, sizeof(w), 230.0, u3, &v, "Tunnel::GENEVE", "Tunnel::DISCOVER");
	assert_string_equal(cap.recs[5], w);
	/* the end: GRE expired tunnels are not closed, Geneve is */
	tunnels__finish(t, 240 * S);
	assert_int_equal(cap.n, 7);
	assert_non_null(strstr(cap.recs[6], "action=Tunnel::CLOSE"));
	assert_non_null(strstr(cap.recs[6], u3));
	done(t);
}

/* A full table: the next tunnel gets no reference (counted); a slot freed by expiry and
 * release takes it. */
static void test_full(void **st)
{
	struct tunnels *t = new_table(2);
	struct pkt a = tp(PKT_TUN_VXLAN, 1, 1, 2, 4789), b = tp(PKT_TUN_VXLAN, 3, 1, 4, 4789);
	struct pkt c = tp(PKT_TUN_VXLAN, 5, 1, 6, 4789);
	struct tunnels_stats s;
	uint16_t ra, rb;

	(void)st;
	ra = tunnels__get(t, &a, 1 * S);
	rb = tunnels__get(t, &b, 2 * S);
	assert_true(ra && rb);
	assert_int_equal(tunnels__get(t, &c, 3 * S), 0);
	tunnels__stats(t, &s);
	assert_int_equal(s.full, 1);
	assert_int_equal(s.active, 2);
	tunnels__put(t, ra);
	assert_int_equal(tunnels__get(t, &c, 50 * S), 0);      /* a is still active */
	assert_int_not_equal(tunnels__get(t, &c, 102 * S), 0); /* a expired and was free */
	tunnels__stats(t, &s);
	assert_int_equal(s.full, 2);
	assert_int_equal(s.expired, 1); /* a; b, last used at 2 s, is idle exactly 100 s */
	assert_int_equal(s.active, 2);	/* b and c */
	done(t);
}

/* Allocations failing in turn while the table is made (alloc_fault.h): tunnels__new returns
 * NULL with ENOMEM and leaks nothing, until enough succeed; the table then works. */
static void test_no_memory(void **st)
{
	struct tunnels_limits l;
	struct pkt v = tp(PKT_TUN_VXLAN, 1, 49152, 2, 4789);
	int failed = 0;

	(void)st;
#ifndef HAVE_ALLOC_FAULTS
	skip();
#else
	tunnels_limits__default(&l);
	alloc_harness++;
	memset(&cap, 0, sizeof(cap));
	cap.sink.ops = &cap_ops;
	out = rec_out__new("mailtap");
	assert_int_equal(rec_out__add_sink(out, &cap.sink), 0);
	alloc_harness--;
	for (int k = 0;; k++) {
		long live = alloc_live;
		struct tunnels *t;

		alloc_ok = k;
		errno = 0;
		t = tunnels__new(&l, out, true, 1);
		alloc_ok = -1;
		if (!t) {
			assert_int_equal(errno, ENOMEM);
			assert_int_equal(alloc_live, live);
			failed++;
			continue;
		}
		assert_int_not_equal(tunnels__get(t, &v, S), 0);
		tunnels__free(t);
		assert_int_equal(alloc_live, live);
		break;
	}
	assert_true(failed >= 3); /* the table, the buckets, the record builder */
	assert_int_equal(cap.n, 1);
	rec_out__free(out);
#endif
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_discover_close),
	    cmocka_unit_test(test_expire),
	    cmocka_unit_test(test_full),
	    cmocka_unit_test(test_no_memory),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
