// SPDX-License-Identifier: BSD-3-Clause
/* The tunnel table (tunnels.h): one uid per tunnel whichever direction its packets take,
 * Tunnel::DISCOVER once, EXPIRE after expire_ns without a new connection (and DISCOVER again
 * when one comes), CLOSE at the end for VXLAN and Geneve but not for GRE, references that keep
 * an expired tunnel's uid, the table's limit. And the set of tunnels each connection came
 * through (tunparents.h): Zeek's tunnel_parents over a connection's life, its limits. */
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
#include "mailtap/tunparents.h"
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
#ifdef HAVE_ALLOC_FAULTS
	alloc_harness++; /* the test's own reading of the record: never made to fail */
#endif
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
#ifdef HAVE_ALLOC_FAULTS
	alloc_harness--;
#endif
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

/* Teredo, AYIYA and GTPv1 (UDP tunnels, Tunnel::TEREDO, Tunnel::AYIYA, Tunnel::GTPv1): the
 * id with the UDP ports and proto udp, one tunnel either way, a tunnel apart from a VXLAN one
 * between the same endpoints, closed at the end; PPTP's GRE (version 1) is Tunnel::GRE, the
 * address pair's one tunnel, never closed. */
static void test_udp_ip_tunnel_types(void **st)
{
	static const struct {
		uint8_t type;
		uint16_t port;
		const char *name;
	} ts[] = {{PKT_TUN_TEREDO, 3544, "Tunnel::TEREDO"},
		  {PKT_TUN_AYIYA, 5072, "Tunnel::AYIYA"},
		  {PKT_TUN_GTPV1, 2152, "Tunnel::GTPv1"}};
	struct tunnels *t = new_table(8);
	char u[3][MT_UID_LEN], w[512];
	struct pkt v = tp(PKT_TUN_VXLAN, 1, 40000, 2, 4789);
	uint16_t r[3], rv;

	(void)st;
	for (int i = 0; i < 3; i++) {
		struct pkt a = tp(ts[i].type, 1, 40000, 2, ts[i].port);
		struct pkt b = tp(ts[i].type, 2, ts[i].port, 1, 40000);

		r[i] = tunnels__get(t, &a, (uint64_t)(i + 1) * S);
		assert_true(r[i]);
		assert_int_equal(tunnels__get(t, &b, 10 * S), r[i]);
		assert_true(tunnels__same(t, r[i], &b));
		tunnels__uid(t, r[i], u[i]);
		want(w, sizeof(w), (double)(i + 1), u[i], &a, ts[i].name, "Tunnel::DISCOVER");
		assert_string_equal(cap.recs[i], w);
	}
	rv = tunnels__get(t, &v, 11 * S);
	for (int i = 0; i < 3; i++)
		assert_int_not_equal(rv, r[i]);
	assert_int_equal(cap.n, 4);
	tunnels__finish(t, 50 * S);
	assert_int_equal(cap.n, 8); /* all four closed */
	for (int i = 0; i < 3; i++) {
		struct pkt a = tp(ts[i].type, 1, 40000, 2, ts[i].port);
		int found = 0;

		want(w, sizeof(w), 50.0, u[i], &a, ts[i].name, "Tunnel::CLOSE");
		for (int k = 4; k < 8; k++)
			found += !strcmp(cap.recs[k], w);
		assert_int_equal(found, 1);
	}
	done(t);
}

/* IP in IP (Tunnel::IP): ports 0, never closed; between the addresses of a GRE tunnel it is
 * that tunnel (Zeek's IPTunnel analyzer keys both by the address pair: the type first seen). */
static void test_ip_tunnel(void **st)
{
	struct tunnels *t = new_table(8);
	struct pkt i = tp(PKT_TUN_IP, 1, 0, 2, 0);
	struct pkt g = tp(PKT_TUN_GRE, 2, 0, 1, 0);
	struct pkt o = tp(PKT_TUN_IP, 3, 0, 4, 0);
	char u1[MT_UID_LEN], u2[MT_UID_LEN], w[512];
	uint16_t r1, r2, r3;

	(void)st;
	r1 = tunnels__get(t, &i, 1 * S);
	r2 = tunnels__get(t, &g, 2 * S);
	r3 = tunnels__get(t, &o, 3 * S);
	assert_true(r1 && r3);
	assert_int_equal(r1, r2);
	assert_int_not_equal(r1, r3);
	assert_true(tunnels__same(t, r1, &g));
	tunnels__uid(t, r1, u1);
	tunnels__uid(t, r3, u2);
	assert_int_equal(cap.n, 2);
	want(w, sizeof(w), 1.0, u1, &i, "Tunnel::IP", "Tunnel::DISCOVER");
	assert_string_equal(cap.recs[0], w);
	want(w, sizeof(w), 3.0, u2, &o, "Tunnel::IP", "Tunnel::DISCOVER");
	assert_string_equal(cap.recs[1], w);
	tunnels__put(t, r1);
	tunnels__put(t, r2);
	tunnels__put(t, r3);
	tunnels__finish(t, 50 * S);
	assert_int_equal(cap.n, 2);
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

/* Workers, each with its own network time, share the table: one behind the others names
 * tunnels at older times than they were last named. A tunnel's time never goes back (it went
 * back to the older time, and the tunnel expired 10 s after it where one engine closes it at
 * the end), and the list stays in time order (a tunnel moved to its end with an older time
 * than the one before it hid the expiry of those behind it). expire_ns is 100 s. */
static void test_times_out_of_order(void **st)
{
	struct tunnels *t = new_table(8);
	struct pkt a = tp(PKT_TUN_VXLAN, 1, 1, 2, 4789), b = tp(PKT_TUN_VXLAN, 3, 1, 4, 4789);
	char ua[MT_UID_LEN], w[512];
	uint16_t r;

	(void)st;
	r = tunnels__get(t, &a, 105 * S); /* DISCOVER */
	tunnels__uid(t, r, ua);
	tunnels__get(t, &a, 100 * S); /* a worker behind: still 105 s */
	tunnels__get(t, &a, 203 * S); /* idle 98 s since 105 s, not 103 s since 100 s */
	assert_int_equal(cap.n, 1);
	want(w, sizeof(w), 105.0, ua, &a, "Tunnel::VXLAN", "Tunnel::DISCOVER");
	assert_string_equal(cap.recs[0], w);
	/* a at 203 s, b at 260 s, a again at 250 s (behind b, ahead of a's 203 s): a goes before
	 * b, and expires 100 s after 250 s although b has not */
	tunnels__get(t, &b, 260 * S);
	tunnels__get(t, &a, 250 * S);
	tunnels__tick(t, 351 * S);
	assert_int_equal(cap.n, 3);
	want(w, sizeof(w), 350.0, ua, &a, "Tunnel::VXLAN", "Tunnel::EXPIRE");
	assert_string_equal(cap.recs[2], w);
	/* named again by a worker behind (at 255 s, before b's 260 s): DISCOVER, in front of b,
	 * so it expires first (b's 100 s have not run out at 358 s) */
	tunnels__get(t, &a, 255 * S);
	assert_int_equal(cap.n, 4);
	want(w, sizeof(w), 255.0, ua, &a, "Tunnel::VXLAN", "Tunnel::DISCOVER");
	assert_string_equal(cap.recs[3], w);
	tunnels__tick(t, 358 * S);
	assert_int_equal(cap.n, 5);
	want(w, sizeof(w), 355.0, ua, &a, "Tunnel::VXLAN", "Tunnel::EXPIRE");
	assert_string_equal(cap.recs[4], w);
	tunnels__tick(t, 340 * S); /* a worker behind again: nothing */
	assert_int_equal(cap.n, 5);
	tunnels__tick(t, 361 * S);
	assert_int_equal(cap.n, 6);
	assert_non_null(strstr(cap.recs[5], "ts=360.0|"));
	assert_non_null(strstr(cap.recs[5], "id.orig_h=10.9.0.3|"));
	assert_non_null(strstr(cap.recs[5], "action=Tunnel::EXPIRE"));
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
	(void)l, (void)v, (void)failed;
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

/* p through tunnel q, for connection f of set s at second sec */
static void tpkt(struct tun_parents *s, struct flow *f, const struct pkt *q, uint64_t sec)
{
	tun_parents__packet(s, f, q, sec * S);
}

/* f's tunnel_parents as "uid,uid,..." */
static void parents(struct tun_parents *s, const struct flow *f, char *buf, size_t n)
{
	char u[TUN_PARENTS_MAX][MT_UID_LEN];
	int k = tun_parents__uids(s, f, u);

	buf[0] = 0;
	for (int i = 0; i < k; i++)
		snprintf(buf + strlen(buf), n - strlen(buf), "%s%s", i ? "," : "", u[i]);
}

/* One tunnel: the flow's reference is the whole set, no entry. Two mirror sessions (the
 * client's packets through one tunnel, the server's through another, turn about): both
 * tunnels, DISCOVERed at their first packet, in the order first seen; a packet outside any
 * tunnel adds nothing. A connection that began outside a tunnel gets the tunnel it moved to.
 * Every reference given back at the end: both tunnels CLOSE, nothing left active. */
static void test_parents_change(void **st)
{
	struct tunnels *t = new_table(8);
	struct tun_parents *s = tun_parents__new(t);
	struct pkt a = tp(PKT_TUN_VXLAN, 1, 49152, 2, 4789), ar = tp(PKT_TUN_VXLAN, 2, 4789, 1, 49152);
	struct pkt b = tp(PKT_TUN_VXLAN, 3, 49152, 2, 4789), none = tp(0, 0, 0, 0, 0);
	struct flow f1, f2, f3;
	struct tun_parents_stats ps;
	struct tunnels_stats ts;
	char ua[MT_UID_LEN], ub[MT_UID_LEN], got[256], w[256];

	(void)st;
	assert_non_null(s);
	memset(&f1, 0, sizeof(f1));
	memset(&f2, 0, sizeof(f2));
	memset(&f3, 0, sizeof(f3));
	tpkt(s, &f1, &a, 1);
	tpkt(s, &f1, &ar, 1); /* the same tunnel the other way */
	assert_int_not_equal(f1.tunnel, 0);
	tunnels__uid(t, f1.tunnel, ua);
	parents(s, &f1, got, sizeof(got));
	assert_string_equal(got, ua);
	tun_parents__stats(s, &ps);
	assert_int_equal(ps.changes, 0);
	assert_int_equal(ps.multi, 0);

	tpkt(s, &f2, &a, 2);
	tpkt(s, &f2, &b, 2);
	tunnels__uid(t, f2.tunnel, ub);
	assert_string_not_equal(ua, ub);
	for (int i = 0; i < 10; i++) {
		tpkt(s, &f2, i % 2 ? &b : &a, 3);
		tpkt(s, &f2, &none, 3);
	}
	parents(s, &f2, got, sizeof(got));
	snprintf(w, sizeof(w), "%s,%s", ua, ub);
	assert_string_equal(got, w);
	assert_int_equal(cap.n, 2); /* DISCOVER a, DISCOVER b */
	assert_non_null(strstr(cap.recs[1], ub));
	assert_non_null(strstr(cap.recs[1], "action=Tunnel::DISCOVER"));
	tun_parents__stats(s, &ps);
	assert_int_equal(ps.changes, 11); /* a -> b, then each of the ten but the first */
	assert_int_equal(ps.multi, 1);
	assert_int_equal(ps.multi_active, 1);

	tpkt(s, &f3, &none, 4); /* no tunnel at first: nothing */
	assert_int_equal(f3.tunnel, 0);
	assert_int_equal(tun_parents__uids(s, &f3, (char[TUN_PARENTS_MAX][MT_UID_LEN]){ { 0 } }), 0);
	tpkt(s, &f3, &b, 5);
	parents(s, &f3, got, sizeof(got));
	assert_string_equal(got, ub);

	tun_parents__end(s, &f1);
	tun_parents__end(s, &f2);
	tun_parents__end(s, &f3);
	assert_int_equal(f2.tunnel, 0);
	tun_parents__stats(s, &ps);
	assert_int_equal(ps.multi_active, 0);
	tunnels__finish(t, 10 * S);
	tunnels__stats(t, &ts);
	assert_int_equal(ts.closed, 2);
	assert_int_equal(ts.active, 0); /* no reference left behind */
	tun_parents__free(s);
	done(t);
}

/* The limits: a connection through more than TUN_PARENTS_MAX tunnels keeps the first ones
 * (the rest counted in full); a tunnel table without room; 3000 connections with two
 * tunnels each grow the set's hash and all leave it at their end. */
static void test_parents_limits(void **st)
{
	struct tunnels *t = new_table(TUN_PARENTS_MAX + 4);
	struct tun_parents *s = tun_parents__new(t);
	static struct flow fl[3000];
	char u[TUN_PARENTS_MAX][MT_UID_LEN];
	struct tun_parents_stats ps;
	struct tunnels_stats ts;
	struct flow f;
	struct pkt q;

	(void)st;
	memset(&f, 0, sizeof(f));
	for (int i = 0; i < TUN_PARENTS_MAX + 2; i++) {
		q = tp(PKT_TUN_GRE, (uint8_t)(10 + i), 0, 2, 0);
		tpkt(s, &f, &q, 1);
	}
	assert_int_equal(tun_parents__uids(s, &f, u), TUN_PARENTS_MAX);
	tun_parents__stats(s, &ps);
	assert_int_equal(ps.full, 2);
	tunnels__stats(t, &ts);
	assert_int_equal(ts.discovered, TUN_PARENTS_MAX);
	tun_parents__end(s, &f);
	tunnels__finish(t, 2 * S);
	tun_parents__free(s);
	done(t);

	/* room for one tunnel: a connection's second tunnel is refused once (the tunnel table
	 * counts it once, whatever number of packets come through it), and one whose first
	 * tunnel found no room gets none, nor asks again */
	t = new_table(1);
	s = tun_parents__new(t);
	memset(&f, 0, sizeof(f));
	memset(&fl[0], 0, sizeof(fl[0]));
	q = tp(PKT_TUN_VXLAN, 1, 1, 2, 4789);
	tpkt(s, &f, &q, 1);
	q = tp(PKT_TUN_VXLAN, 3, 1, 2, 4789);
	for (int i = 0; i < 5; i++) {
		tpkt(s, &f, &q, 1);
		tpkt(s, &fl[0], &q, 1);
	}
	assert_int_equal(fl[0].tunnel, TUNNELS_NO_ROOM);
	assert_int_equal(tun_parents__uids(s, &f, u), 1);
	assert_int_equal(tun_parents__uids(s, &fl[0], u), 0);
	tun_parents__stats(s, &ps);
	assert_int_equal(ps.multi_active, 1);
	assert_int_equal(ps.full, 5);
	tunnels__stats(t, &ts);
	assert_int_equal(ts.full, 2); /* f's second tunnel, fl[0]'s first */
	tun_parents__end(s, &f);
	tun_parents__end(s, &fl[0]);
	assert_int_equal(fl[0].tunnel, 0);
	tun_parents__free(s);
	tunnels__finish(t, 2 * S);
	tunnels__stats(t, &ts);
	assert_int_equal(ts.active, 0);
	done(t);

	t = new_table(2);
	s = tun_parents__new(t);
	memset(fl, 0, sizeof(fl));
	for (int i = 0; i < 3000; i++) {
		q = tp(PKT_TUN_VXLAN, 1, 1, 2, 4789);
		tpkt(s, &fl[i], &q, 1);
		q = tp(PKT_TUN_VXLAN, 3, 1, 2, 4789);
		tpkt(s, &fl[i], &q, 1);
	}
	tun_parents__stats(s, &ps);
	assert_int_equal(ps.multi_active, 3000);
	for (int i = 0; i < 3000; i++) {
		char got[256];

		parents(s, &fl[i], got, sizeof(got));
		assert_non_null(strchr(got, ','));
		if (i % 2)
			tun_parents__end(s, &fl[i]);
	}
	tun_parents__stats(s, &ps);
	assert_int_equal(ps.multi_active, 1500);
	tun_parents__free(s); /* the rest given back here */
	tunnels__finish(t, 2 * S);
	tunnels__stats(t, &ts);
	assert_int_equal(ts.active, 0);
	done(t);
}

/* Allocations failing in turn while a second tunnel is added (the set's hash, its entry, the
 * tunnel's record): the tunnel is counted in full and the connection keeps its first, or it
 * gets both; nothing leaks. */
static void test_parents_no_memory(void **st)
{
	(void)st;
#ifndef HAVE_ALLOC_FAULTS
	skip();
#else
	for (int k = 0;; k++) {
		struct tunnels *t;
		struct tun_parents *s;
		struct pkt a = tp(PKT_TUN_VXLAN, 1, 1, 2, 4789), b = tp(PKT_TUN_VXLAN, 3, 1, 2, 4789);
		char u[TUN_PARENTS_MAX][MT_UID_LEN];
		struct tun_parents_stats ps;
		struct flow f;
		long live;
		int n;

		live = alloc_live;
		alloc_harness++;
		t = new_table(4);
		alloc_harness--;
		s = tun_parents__new(t);
		assert_non_null(s);
		memset(&f, 0, sizeof(f));
		tpkt(s, &f, &a, 1);
		alloc_ok = k;
		tpkt(s, &f, &b, 1);
		alloc_ok = -1;
		n = tun_parents__uids(s, &f, u);
		tun_parents__stats(s, &ps);
		tun_parents__end(s, &f);
		tun_parents__free(s);
		alloc_harness++;
		done(t);
		alloc_harness--;
		assert_int_equal(alloc_live, live);
		if (n == 1) { /* the hash or the entry: counted, the first tunnel kept */
			assert_int_equal(ps.full, 1);
			assert_int_equal(ps.multi, 0);
			continue;
		}
		assert_int_equal(n, 2);
		assert_true(k >= 2); /* the hash and the entry */
		break;
	}
#endif
}

/* A connection two tunnels deep (Zeek's Tunnel::max_depth 2: VXLAN from a mirror around GRE
 * between two nodes): both tunnels DISCOVERed, the outer first (register_all(c$tunnel) walks
 * the stack outer first), each with its own endpoints and uid; the connection's reference and
 * its tunnel_parents are the inner tunnel's only (c$tunnel[|c$tunnel|-1]$uid); a second
 * connection through the same two tunnels writes nothing; a third through another inner
 * tunnel in the same outer one: that inner one alone. At the end CLOSE for the UDP one (the
 * outer VXLAN), not for GRE. */
static void test_two_levels(void **st)
{
	struct tunnels *t = new_table(8);
	struct tun_parents *s = tun_parents__new(t);
	struct pkt v = tp(PKT_TUN_VXLAN, 1, 49152, 2, 4789), g = tp(PKT_TUN_GRE, 11, 0, 12, 0);
	struct pkt g2 = tp(PKT_TUN_GRE, 13, 0, 12, 0), p, p2;
	char uv[MT_UID_LEN], ug[MT_UID_LEN], ug2[MT_UID_LEN], w[512];
	char uids[TUN_PARENTS_MAX][MT_UID_LEN];
	struct flow f1, f2, f3;
	struct tunnels_stats ts;

	(void)st;
	assert_non_null(s);
	p = g;
	p.tun_outer = v.tun;
	p2 = g2;
	p2.tun_outer = v.tun;
	memset(&f1, 0, sizeof(f1));
	memset(&f2, 0, sizeof(f2));
	memset(&f3, 0, sizeof(f3));
	tun_parents__packet(s, &f1, &p, 1 * S);
	assert_int_equal(cap.n, 2);
	assert_int_equal(tun_parents__uids(s, &f1, uids), 1);
	tunnels__uid(t, f1.tunnel, ug);
	assert_string_equal(uids[0], ug);
	/* the outer one's uid: from its record */
	{
		const char *u = strstr(cap.recs[0], "uid=") + 4;

		memcpy(uv, u, MT_UID_LEN);
		uv[strcspn(uv, "|")] = '\0';
	}
	assert_string_not_equal(uv, ug);
	want(w, sizeof(w), 1.0, uv, &v, "Tunnel::VXLAN", "Tunnel::DISCOVER");
	assert_string_equal(cap.recs[0], w);
	want(w, sizeof(w), 1.0, ug, &g, "Tunnel::GRE", "Tunnel::DISCOVER");
	assert_string_equal(cap.recs[1], w);
	tun_parents__packet(s, &f2, &p, 2 * S);
	assert_int_equal(cap.n, 2);
	assert_int_equal(f2.tunnel, f1.tunnel);
	tun_parents__packet(s, &f3, &p2, 3 * S);
	assert_int_equal(cap.n, 3);
	tunnels__uid(t, f3.tunnel, ug2);
	want(w, sizeof(w), 3.0, ug2, &g2, "Tunnel::GRE", "Tunnel::DISCOVER");
	assert_string_equal(cap.recs[2], w);
	tunnels__stats(t, &ts);
	assert_int_equal(ts.discovered, 3);
	assert_int_equal(ts.active, 3);
	tun_parents__end(s, &f1);
	tun_parents__end(s, &f2);
	tun_parents__end(s, &f3);
	tunnels__finish(t, 50 * S);
	assert_int_equal(cap.n, 4);
	want(w, sizeof(w), 50.0, uv, &v, "Tunnel::VXLAN", "Tunnel::CLOSE");
	assert_string_equal(cap.recs[3], w);
	tun_parents__free(s);
	done(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_discover_close),
	    cmocka_unit_test(test_ip_tunnel),
	    cmocka_unit_test(test_udp_ip_tunnel_types),
	    cmocka_unit_test(test_expire),
	    cmocka_unit_test(test_full),
	    cmocka_unit_test(test_times_out_of_order),
	    cmocka_unit_test(test_no_memory),
	    cmocka_unit_test(test_parents_change),
	    cmocka_unit_test(test_parents_limits),
	    cmocka_unit_test(test_parents_no_memory),
	    cmocka_unit_test(test_two_levels),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
