// SPDX-License-Identifier: BSD-3-Clause
/* Tunnel tracking (tunnels.h): a fixed array of slots, a chained hash on the tunnel's
 * endpoints (either direction), and the active tunnels in a list ordered by their last new
 * connection, which expiry takes from the front. A reference is a slot number + 1; a slot
 * stays while a connection names it, even once expired.
 *
 * The workers call with their own network times, one behind another now and then: a
 * tunnel's time only goes forward (the latest connection's, whichever worker saw it first),
 * and the list stays in time order (active_place), so no tunnel expires for the older time of
 * a worker that lags behind. */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "mailtap/ids.h"
#include "mailtap/rec.h"
#include "mailtap/tunnels.h"

struct tun {
	uint32_t next;		 /* hash chain: slot + 1, 0 at the end; the free list too */
	uint32_t prev_a, next_a; /* active list: slot + 1 */
	uint32_t refs;		 /* connections naming it */
	uint32_t hash;
	uint8_t type;	   /* PKT_TUN_*; 0: a free slot */
	bool active;	   /* DISCOVER written, not expired or closed */
	uint64_t last_ts;  /* its last new connection */
	struct conn_id id; /* as first seen (UDP: tunnel port on resp's side); GRE: ports 0 */
	char uid[MT_UID_LEN];
};

struct tunnels {
	pthread_mutex_t mu;
	struct tunnels_limits lim;
	struct tun *slot;
	uint32_t *bucket; /* slot + 1 */
	uint32_t mask;
	uint32_t free_head; /* slot + 1 */
	uint32_t a_head, a_tail;
	struct mt_ids ids;
	uint64_t hash_key;
	struct rec *rec;
	struct tunnels_stats st;
};

void tunnels_limits__default(struct tunnels_limits *l)
{
	l->max = 4096;
	l->expire_ns = 3600ULL * 1000000000ULL;
}

struct tunnels *tunnels__new(const struct tunnels_limits *l, struct rec_out *out, bool seeded,
			     uint64_t seed)
{
	struct tunnels *t = calloc(1, sizeof(*t));
	uint32_t nb = 16;

	if (!t)
		return NULL;
	t->lim = *l;
	if (!t->lim.max)
		t->lim.max = 1;
	if (t->lim.max > TUNNELS_NO_ROOM - 1) /* a reference fits a flow's 16 bits */
		t->lim.max = TUNNELS_NO_ROOM - 1;
	while (nb < t->lim.max && nb < (1u << 30))
		nb <<= 1;
	t->mask = nb - 1;
	t->slot = calloc(t->lim.max, sizeof(*t->slot));
	t->bucket = calloc(nb, sizeof(*t->bucket));
	t->rec = rec__new(out);
	if (!t->slot || !t->bucket || !t->rec || pthread_mutex_init(&t->mu, NULL)) {
		free(t->slot);
		free(t->bucket);
		rec__free(t->rec);
		free(t);
		errno = ENOMEM;
		return NULL;
	}
	for (uint32_t i = t->lim.max; i > 0; i--) {
		t->slot[i - 1].next = t->free_head;
		t->free_head = i;
	}
	/* tunnel uids: a stream of their own, apart from the engines' conn uids */
	mt_ids__init(&t->ids, seeded, seed ^ 0x7475006e6e656c73ULL);
	t->hash_key = mt_ids__next(&t->ids);
	return t;
}

void tunnels__free(struct tunnels *t)
{
	if (!t)
		return;
	pthread_mutex_destroy(&t->mu);
	rec__free(t->rec);
	free(t->slot);
	free(t->bucket);
	free(t);
}

static const char *type_name(uint8_t type)
{
	switch (type) {
	case PKT_TUN_VXLAN:
		return "Tunnel::VXLAN";
	case PKT_TUN_GENEVE:
		return "Tunnel::GENEVE";
	case PKT_TUN_IP:
		return "Tunnel::IP";
	case PKT_TUN_TEREDO:
		return "Tunnel::TEREDO";
	case PKT_TUN_AYIYA:
		return "Tunnel::AYIYA";
	case PKT_TUN_GTPV1:
		return "Tunnel::GTPv1";
	default:
		return "Tunnel::GRE";
	}
}

/* The type a tunnel is found by: Zeek's IPTunnel analyzer keys GRE and IP-in-IP tunnels by
 * their address pair alone (ip_tunnels), so the two share a tunnel, of the type first seen. */
static uint8_t key_type(uint8_t type)
{
	return type == PKT_TUN_IP ? PKT_TUN_GRE : type;
}

static void tun_write(struct tunnels *t, const struct tun *u, uint64_t ts, const char *action)
{
	rec__begin(t->rec, "tunnel", ts);
	rec__conn(t->rec, u->uid, &u->id);
	rec__cstr(t->rec, "tunnel_type", type_name(u->type));
	rec__cstr(t->rec, "action", action);
	rec__end(t->rec);
}

/* The same for both directions: the two endpoints in a fixed order. */
static uint32_t key_hash(const struct tunnels *t, uint8_t type, const struct mt_addr *a,
			 uint16_t pa, const struct mt_addr *b, uint16_t pb)
{
	uint64_t x = t->hash_key ^ type, y = 0;
	int c = memcmp(a, b, sizeof(*a));

	if (c > 0 || (c == 0 && pa > pb)) {
		const struct mt_addr *s = a;
		uint16_t sp = pa;

		a = b, pa = pb, b = s, pb = sp;
	}
	for (int i = 0; i < 16; i += 8) {
		uint64_t wa, wb;

		memcpy(&wa, a->b + i, 8);
		memcpy(&wb, b->b + i, 8);
		x = (x ^ wa) * 0x9e3779b97f4a7c15ULL;
		y = (y ^ wb) * 0xc2b2ae3d27d4eb4fULL;
	}
	x ^= y ^ ((uint64_t)pa << 16 | pb);
	x ^= x >> 31;
	x *= 0xbf58476d1ce4e5b9ULL;
	return (uint32_t)(x ^ x >> 29);
}

static bool same(const struct tun *u, uint8_t type, const struct mt_addr *a, uint16_t pa,
		 const struct mt_addr *b, uint16_t pb)
{
	if (key_type(u->type) != key_type(type))
		return false;
	if (u->id.orig_p == pa && u->id.resp_p == pb && !memcmp(&u->id.orig_h, a, sizeof(*a)) &&
	    !memcmp(&u->id.resp_h, b, sizeof(*b)))
		return true;
	return u->id.orig_p == pb && u->id.resp_p == pa && !memcmp(&u->id.orig_h, b, sizeof(*b)) &&
	       !memcmp(&u->id.resp_h, a, sizeof(*a));
}

static void active_unlink(struct tunnels *t, uint32_t ref)
{
	struct tun *u = &t->slot[ref - 1];

	if (u->prev_a)
		t->slot[u->prev_a - 1].next_a = u->next_a;
	else
		t->a_head = u->next_a;
	if (u->next_a)
		t->slot[u->next_a - 1].prev_a = u->prev_a;
	else
		t->a_tail = u->prev_a;
	u->prev_a = u->next_a = 0;
}

/* Puts tunnel ref (not in the list) after the last one whose time is not later than its own:
 * at the tail, unless a worker behind the others named it (then a few steps back). */
static void active_place(struct tunnels *t, uint32_t ref)
{
	struct tun *u = &t->slot[ref - 1];
	uint32_t after = t->a_tail;

	while (after && t->slot[after - 1].last_ts > u->last_ts)
		after = t->slot[after - 1].prev_a;
	u->prev_a = after;
	u->next_a = after ? t->slot[after - 1].next_a : t->a_head;
	if (u->next_a)
		t->slot[u->next_a - 1].prev_a = ref;
	else
		t->a_tail = ref;
	if (after)
		t->slot[after - 1].next_a = ref;
	else
		t->a_head = ref;
}

static void slot_free(struct tunnels *t, uint32_t ref)
{
	struct tun *u = &t->slot[ref - 1];
	uint32_t *pp = &t->bucket[u->hash & t->mask];

	while (*pp != ref)
		pp = &t->slot[*pp - 1].next;
	*pp = u->next;
	memset(u, 0, sizeof(*u));
	u->next = t->free_head;
	t->free_head = ref;
	t->st.active--;
}

/* Ends a tunnel's active life with action (EXPIRE, CLOSE); the slot goes once no connection
 * names it. */
static void deactivate(struct tunnels *t, uint32_t ref, uint64_t ts, const char *action)
{
	struct tun *u = &t->slot[ref - 1];

	tun_write(t, u, ts, action);
	u->active = false;
	active_unlink(t, ref);
	if (!u->refs)
		slot_free(t, ref);
}

static void expire(struct tunnels *t, uint64_t now)
{
	while (t->a_head) {
		struct tun *u = &t->slot[t->a_head - 1];

		if (now < u->last_ts || now - u->last_ts <= t->lim.expire_ns)
			break;
		t->st.expired++;
		deactivate(t, t->a_head, u->last_ts + t->lim.expire_ns, "Tunnel::EXPIRE");
	}
}

/* Tunnel tn at ts, under the lock: found or made (0: no room), DISCOVER when new or expired,
 * its time moved forward. */
static uint32_t find_locked(struct tunnels *t, const struct pkt_tunnel *tn, uint64_t ts)
{
	uint32_t h, ref;
	struct tun *u;

	h = key_hash(t, key_type(tn->type), &tn->src, tn->sport, &tn->dst, tn->dport);
	for (ref = t->bucket[h & t->mask]; ref; ref = t->slot[ref - 1].next)
		if (t->slot[ref - 1].hash == h &&
		    same(&t->slot[ref - 1], tn->type, &tn->src, tn->sport, &tn->dst, tn->dport))
			break;
	if (!ref) {
		if (!t->free_head) {
			t->st.full++;
			return 0;
		}
		ref = t->free_head;
		u = &t->slot[ref - 1];
		t->free_head = u->next;
		memset(u, 0, sizeof(*u));
		u->type = tn->type;
		u->hash = h;
		u->id.orig_h = tn->src;
		u->id.resp_h = tn->dst;
		u->id.orig_p = tn->sport;
		u->id.resp_p = tn->dport;
		u->id.proto = tn->type == PKT_TUN_GRE  ? IPPROTO_GRE
			      : tn->type == PKT_TUN_IP ? 0 /* Zeek's TRANSPORT_UNKNOWN */
						       : IPPROTO_UDP;
		mt_ids__make(&t->ids, 'C', u->uid);
		u->next = t->bucket[h & t->mask];
		t->bucket[h & t->mask] = ref;
		t->st.active++;
	}
	u = &t->slot[ref - 1];
	if (!u->active) {
		/* new, or expired and seen again: Zeek's Tunnel::register logs it anew */
		u->active = true;
		t->st.discovered++;
		tun_write(t, u, ts, "Tunnel::DISCOVER");
		u->last_ts = ts;
		active_place(t, ref);
	} else if (ts > u->last_ts) {
		/* only forward: a worker behind the others must not make it look idle longer */
		active_unlink(t, ref);
		u->last_ts = ts;
		active_place(t, ref);
	}
	return ref;
}

uint16_t tunnels__get(struct tunnels *t, const struct pkt *p, uint64_t ts)
{
	uint32_t ref;

	if (!p->tun.type)
		return 0;
	pthread_mutex_lock(&t->mu);
	expire(t, ts);
	/* Zeek's register_all(c$tunnel): every level, the outer first; the connection names
	 * the innermost only (conn's tunnel_parents), the outer one is held by nothing: it
	 * stays while active (deactivate frees it) */
	if (p->tun_outer.type)
		(void)find_locked(t, &p->tun_outer, ts);
	ref = find_locked(t, &p->tun, ts);
	if (ref)
		t->slot[ref - 1].refs++;
	pthread_mutex_unlock(&t->mu);
	return (uint16_t)ref;
}

bool tunnels__same(const struct tunnels *t, uint32_t ref, const struct pkt *p)
{
	return same(&t->slot[ref - 1], p->tun.type, &p->tun.src, p->tun.sport, &p->tun.dst,
		    p->tun.dport);
}

void tunnels__uid(struct tunnels *t, uint32_t ref, char uid[MT_UID_LEN])
{
	pthread_mutex_lock(&t->mu);
	memcpy(uid, t->slot[ref - 1].uid, MT_UID_LEN);
	pthread_mutex_unlock(&t->mu);
}

void tunnels__put(struct tunnels *t, uint32_t ref)
{
	struct tun *u;

	pthread_mutex_lock(&t->mu);
	u = &t->slot[ref - 1];
	if (u->refs && !--u->refs && !u->active)
		slot_free(t, ref);
	pthread_mutex_unlock(&t->mu);
}

void tunnels__tick(struct tunnels *t, uint64_t now)
{
	pthread_mutex_lock(&t->mu);
	expire(t, now);
	pthread_mutex_unlock(&t->mu);
}

void tunnels__finish(struct tunnels *t, uint64_t now)
{
	uint32_t ref, next;

	pthread_mutex_lock(&t->mu);
	expire(t, now);
	for (ref = t->a_head; ref; ref = next) {
		next = t->slot[ref - 1].next_a;
		if (key_type(t->slot[ref - 1].type) == PKT_TUN_GRE)
			continue; /* GRE and IP in IP: not a connection of Zeek's, never closed */
		t->st.closed++;
		deactivate(t, ref, now, "Tunnel::CLOSE");
	}
	pthread_mutex_unlock(&t->mu);
}

void tunnels__stats(struct tunnels *t, struct tunnels_stats *st)
{
	pthread_mutex_lock(&t->mu);
	*st = t->st;
	pthread_mutex_unlock(&t->mu);
}
