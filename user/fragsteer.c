// SPDX-License-Identifier: BSD-3-Clause
/* Fragment steering (fragsteer.h). Datagrams are kept in a hash table and in arrival order
 * (to forget them after the timeout, or the oldest when the table is full); those with held
 * frames are also in a list of their own, oldest first, which is flushed from its head when
 * the held bytes would pass the limit. A datagram flushed by its addresses keeps that choice,
 * so its fragments still meet in one worker. A datagram is forgotten as soon as all its bytes
 * have come, so that its identification can serve the next one. */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include "mailtap/decode.h"
#include "mailtap/fragsteer.h"

#define FRAGSTEER_MAX_BUCKETS 65536
/* Bytes of a first fragment read for a tunnel's inner headers (outer IP, UDP or GRE, the
 * tunnel header with Geneve's options, the inner link, IP and TCP headers). */
#define FRAGSTEER_PEEK 768
/* Disjoint payload ranges of a datagram tracked to know when all its bytes have come. */
#define FRAGSTEER_RANGES 16
/* As frag.c, which drops larger fragments. */
#define FRAGSTEER_MAX_PAYLOAD 65535

struct held {
	struct held *next;
	struct pkt_raw raw;
	uint8_t data[];
};

struct group {
	struct group *hnext;	      /* bucket chain */
	struct group *older, *younger; /* arrival order */
	struct group *hold_prev, *hold_next; /* groups with held frames, oldest first */
	struct frag_key key;
	uint64_t first_ts;
	int dest; /* the worker, or -1 while the first fragment has not come */
	struct held *head, *tail;
	uint64_t bytes; /* held */
	uint32_t total; /* the datagram's payload length, once its last fragment came */
	uint8_t n_ranges; /* payload ranges seen, merged (a duplicate is not counted twice) */
	bool lost;	  /* more disjoint ranges than kept: forgotten only by timeout or room */
	struct { uint32_t s, e; } r[FRAGSTEER_RANGES];
};

/* struct fragsteer_stats as the steering thread keeps them: other threads read them while it
 * runs (the periodic stats record with capture threads), so each is a relaxed atomic, written
 * by the steering thread only (a plain load and store: no locked instruction). */
struct counters {
	_Atomic uint64_t fragments, held, unported, evicted, held_bytes, peak_held_bytes;
};

static uint64_t cnt_get(const _Atomic uint64_t *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

static void cnt_set(_Atomic uint64_t *c, uint64_t v)
{
	atomic_store_explicit(c, v, memory_order_relaxed);
}

static void cnt_add(_Atomic uint64_t *c, uint64_t n)
{
	cnt_set(c, cnt_get(c) + n);
}

struct fragsteer {
	struct frag_limits lim;
	struct decode_cfg dcfg;
	fragsteer_pick_fn pick;
	fragsteer_send_fn send;
	void *ctx;
	struct group **buckets;
	uint32_t mask, n;
	struct group *oldest, *youngest;
	struct group *hold_first, *hold_last;
	struct counters st;
};

struct fragsteer *fragsteer__new(const struct frag_limits *l, const struct decode_cfg *dc,
				 fragsteer_pick_fn pick, fragsteer_send_fn send, void *ctx)
{
	struct fragsteer *fs = calloc(1, sizeof(*fs));
	uint32_t nb = 64;

	if (!fs)
		return NULL;
	while (nb < l->max_datagrams && nb < FRAGSTEER_MAX_BUCKETS)
		nb <<= 1;
	fs->buckets = calloc(nb, sizeof(*fs->buckets));
	if (!fs->buckets) {
		free(fs);
		errno = ENOMEM;
		return NULL;
	}
	fs->mask = nb - 1;
	fs->lim = *l;
	fs->dcfg = *dc;
	fs->pick = pick;
	fs->send = send;
	fs->ctx = ctx;
	return fs;
}

static uint32_t bucket(const struct fragsteer *fs, const struct frag_key *k)
{
	return frag_key__hash(k) & fs->mask;
}

/* The worker of the datagram's addresses and these ports (0, 0: the addresses alone). */
static int pick_key(struct fragsteer *fs, const struct frag_key *k, uint16_t sport,
		    uint16_t dport)
{
	struct mt_addr s, d;

	if (k->v6) {
		mt_addr__from_v6(&s, k->src);
		mt_addr__from_v6(&d, k->dst);
	} else {
		mt_addr__from_v4(&s, k->src);
		mt_addr__from_v4(&d, k->dst);
	}
	return fs->pick(fs->ctx, &s, sport, &d, dport);
}

/* The worker the addresses alone choose. */
static int by_addrs(struct fragsteer *fs, const struct frag_key *k)
{
	return pick_key(fs, k, 0, 0);
}

/* A UDP, GRE or IP-in-IP datagram's first fragment: the worker of the connection inside, when it is a
 * tunnel packet. Its start is decoded from a copy whose IP header says it is whole (IPv6:
 * without the fragment header), so the decoder reads the tunnel as in an unfragmented packet,
 * its payload cut short. -1 when no TCP connection shows. */
static int inner_dest(struct fragsteer *fs, const uint8_t *l3, const struct frag_info *f)
{
	uint8_t b[FRAGSTEER_PEEK];
	uint32_t pl = f->pl_len, n;
	struct pkt_raw raw;
	struct pkt p;

	if (f->hdr_len > sizeof(b))
		return -1;
	if (pl > sizeof(b) - f->hdr_len)
		pl = (uint32_t)sizeof(b) - f->hdr_len;
	memcpy(b, l3, f->hdr_len);
	memcpy(b + f->hdr_len, f->pl, pl);
	n = f->hdr_len + pl;
	frag__mark_whole(b, f, n);
	/* the copy is cut short as by a snap length: the wire length is unknown (UINT32_MAX
	 * keeps the decoder's IP-length-past-the-wire check off for the packet inside) */
	raw = (struct pkt_raw){ .data = b, .caplen = n, .wirelen = UINT32_MAX, .linktype = 12 };
	if (decode__packet(&fs->dcfg, &raw, &p, NULL) != DECODE_OK || !p.tun.type)
		return -1;
	return fs->pick(fs->ctx, &p.src, p.sport, &p.dst, p.dport);
}

static void hold_unlink(struct fragsteer *fs, struct group *g)
{
	if (g->hold_prev)
		g->hold_prev->hold_next = g->hold_next;
	else
		fs->hold_first = g->hold_next;
	if (g->hold_next)
		g->hold_next->hold_prev = g->hold_prev;
	else
		fs->hold_last = g->hold_prev;
	g->hold_prev = g->hold_next = NULL;
}

/* Sends the group's held frames to dest, in arrival order, and frees them. */
static void release(struct fragsteer *fs, struct group *g, int dest)
{
	struct held *h = g->head, *next;

	if (!h)
		return;
	for (; h; h = next) {
		next = h->next;
		fs->send(fs->ctx, dest, &h->raw);
		free(h);
	}
	cnt_set(&fs->st.held_bytes, cnt_get(&fs->st.held_bytes) - g->bytes);
	g->bytes = 0;
	g->head = g->tail = NULL;
	hold_unlink(fs, g);
}

/* The group's held frames go where its addresses send them, and so will the rest of it. */
static void flush_by_addrs(struct fragsteer *fs, struct group *g)
{
	if (g->dest < 0) {
		g->dest = by_addrs(fs, &g->key);
		for (struct held *h = g->head; h; h = h->next)
			cnt_add(&fs->st.unported, 1);
	}
	release(fs, g, g->dest);
}

static void forget(struct fragsteer *fs, struct group *g)
{
	struct group **pp = &fs->buckets[bucket(fs, &g->key)];

	flush_by_addrs(fs, g);
	while (*pp != g)
		pp = &(*pp)->hnext;
	*pp = g->hnext;
	if (g->older)
		g->older->younger = g->younger;
	else
		fs->oldest = g->younger;
	if (g->younger)
		g->younger->older = g->older;
	else
		fs->youngest = g->older;
	fs->n--;
	free(g);
}

static struct group *find(struct fragsteer *fs, const struct frag_info *f)
{
	for (struct group *g = fs->buckets[bucket(fs, &f->key)]; g; g = g->hnext)
		if (frag_key__eq(&g->key, &f->key))
			return g;
	return NULL;
}

static struct group *add(struct fragsteer *fs, const struct frag_info *f, uint64_t ts)
{
	struct group *g;
	uint32_t b;

	if (fs->n >= fs->lim.max_datagrams && fs->oldest) {
		cnt_add(&fs->st.evicted, 1);
		forget(fs, fs->oldest);
	}
	if (!(g = calloc(1, sizeof(*g))))
		return NULL;
	g->key = f->key;
	g->first_ts = ts;
	g->dest = -1;
	b = bucket(fs, &f->key);
	g->hnext = fs->buckets[b];
	fs->buckets[b] = g;
	g->older = fs->youngest;
	if (fs->youngest)
		fs->youngest->younger = g;
	else
		fs->oldest = g;
	fs->youngest = g;
	fs->n++;
	return g;
}

/* Keeps a copy of the frame in the group; false when it cannot (no memory, too large). */
static bool hold(struct fragsteer *fs, struct group *g, const struct pkt_raw *raw)
{
	uint64_t need = sizeof(struct held) + raw->caplen;
	struct held *h;

	if (need > fs->lim.max_bytes)
		return false;
	/* make room: the datagrams holding frames longest go by their addresses */
	while (cnt_get(&fs->st.held_bytes) + need > fs->lim.max_bytes && fs->hold_first) {
		cnt_add(&fs->st.evicted, 1);
		flush_by_addrs(fs, fs->hold_first);
	}
	if (g->dest >= 0)
		return false; /* its own datagram went to make room: the frame follows it now */
	if (!(h = malloc(need)))
		return false;
	h->next = NULL;
	h->raw = *raw;
	h->raw.data = h->data;
	memcpy(h->data, raw->data, raw->caplen);
	if (g->tail) {
		g->tail->next = h;
	} else {
		g->head = h;
		g->hold_prev = fs->hold_last;
		if (fs->hold_last)
			fs->hold_last->hold_next = g;
		else
			fs->hold_first = g;
		fs->hold_last = g;
	}
	g->tail = h;
	g->bytes += need;
	cnt_add(&fs->st.held_bytes, need);
	if (cnt_get(&fs->st.held_bytes) > cnt_get(&fs->st.peak_held_bytes))
		cnt_set(&fs->st.peak_held_bytes, cnt_get(&fs->st.held_bytes));
	cnt_add(&fs->st.held, 1);
	return true;
}

/* An IPv6 first fragment: the protocol after the extension headers that follow its fragment
 * header (at most 8, as frag__parse before it), *l4 its offset in the payload; -1 when the
 * chain is cut off or too long. */
static int v6_chain(const struct frag_info *f, uint32_t *l4)
{
	uint32_t off = 0;
	uint8_t nh = f->key.proto;

	for (int i = 0; frag__v6_ext(nh); i++) {
		uint32_t len;

		if (i == 8 || off + 2 > f->pl_len)
			return -1;
		/* AH: length in 4-byte units, minus 2; the others: 8-byte units, minus 1 */
		len = nh == 51 ? ((uint32_t)f->pl[off + 1] + 2) * 4
			       : ((uint32_t)f->pl[off + 1] + 1) * 8;
		nh = f->pl[off];
		off += len;
	}
	*l4 = off;
	return nh;
}

/* Counts the fragment into its datagram; true when all its bytes have come. The datagram is
 * then forgotten: its identification may come again with a new datagram (a tunnel's outer
 * pair sends thousands a second, and the 16-bit IPv4 identification wraps). */
static bool done(struct group *g, const struct frag_info *f)
{
	uint32_t s = f->off, e = f->off + f->pl_len, i, j, r0_end = 0;
	bool bad;

	if (e > FRAGSTEER_MAX_PAYLOAD || f->cut)
		return false; /* the engine drops it */
	(void)frag__size_rule(&g->total, e, f->more); /* the size as frag.c keeps it */
	if (s < e && !g->lost) {
		/* merge [s,e) with the ranges it touches, keeping them disjoint */
		for (i = j = 0; i < g->n_ranges; i++) {
			if (g->r[i].s <= e && s <= g->r[i].e) {
				if (g->r[i].s < s)
					s = g->r[i].s;
				if (g->r[i].e > e)
					e = g->r[i].e;
			} else {
				g->r[j++] = g->r[i];
			}
		}
		g->n_ranges = (uint8_t)j;
		if (j < FRAGSTEER_RANGES) {
			g->r[j].s = s;
			g->r[j].e = e;
			g->n_ranges++;
		} else {
			g->lost = true;
		}
	}
	/* whole as frag.c sees it */
	if (g->lost)
		return false;
	for (i = 0; i < g->n_ranges; i++)
		if (g->r[i].s == 0)
			r0_end = g->r[i].e;
	return frag__whole_size(&g->total, r0_end, g->n_ranges > 1, &bad) != 0;
}

void fragsteer__packet(struct fragsteer *fs, const struct pkt_raw *raw, const uint8_t *l3,
		       size_t l3_len)
{
	struct frag_info f;
	struct group *g;

	cnt_add(&fs->st.fragments, 1);
	while (fs->oldest && fs->oldest->first_ts + fs->lim.timeout_ns <= raw->ts_ns)
		forget(fs, fs->oldest);
	if (frag__parse(l3, l3_len, &f) < 0) {
		/* no key: the engine drops it (and says so); any worker will do */
		cnt_add(&fs->st.unported, 1);
		fs->send(fs->ctx, 0, raw);
		return;
	}
	if (f.key.proto != 6 /* TCP */ && f.key.proto != 17 /* UDP */ &&
	    f.key.proto != 47 /* GRE */ && f.key.proto != 4 && f.key.proto != 41 /* IP in IP */ &&
	    !(f.key.v6 && frag__v6_ext(f.key.proto))) {
		cnt_add(&fs->st.unported, 1);
		fs->send(fs->ctx, by_addrs(fs, &f.key), raw);
		return;
	}
	g = find(fs, &f);
	if (g && g->dest >= 0) {
		fs->send(fs->ctx, g->dest, raw);
		if (done(g, &f))
			forget(fs, g);
		return;
	}
	if (f.off == 0) {
		uint32_t l4 = 0;
		int dest = -1;
		int proto = f.key.v6 ? v6_chain(&f, &l4) : f.key.proto;

		if (proto == 17 || proto == 47 || proto == 4 || proto == 41) {
			dest = inner_dest(fs, l3, &f);
		} else if (proto == 6 && f.pl_len >= l4 + 4) {
			dest = pick_key(fs, &f.key, (uint16_t)(f.pl[l4] << 8 | f.pl[l4 + 1]),
					(uint16_t)(f.pl[l4 + 2] << 8 | f.pl[l4 + 3]));
		}
		if (dest < 0) {
			dest = by_addrs(fs, &f.key);
			cnt_add(&fs->st.unported, 1);
		}
		if (!g)
			g = add(fs, &f, raw->ts_ns);
		if (g) {
			g->dest = dest;
			release(fs, g, dest);
		}
		fs->send(fs->ctx, dest, raw);
		if (g && done(g, &f))
			forget(fs, g);
		return;
	}
	if (!g)
		g = add(fs, &f, raw->ts_ns);
	if (g && hold(fs, g, raw)) {
		(void)done(g, &f); /* not without its first fragment */
		return;
	}
	/* cannot hold it: this datagram goes by its addresses from now on */
	cnt_add(&fs->st.unported, 1);
	if (g) {
		flush_by_addrs(fs, g);
		fs->send(fs->ctx, g->dest, raw);
		if (done(g, &f))
			forget(fs, g);
	} else {
		fs->send(fs->ctx, by_addrs(fs, &f.key), raw);
	}
}

void fragsteer__flush(struct fragsteer *fs)
{
	while (fs->oldest)
		forget(fs, fs->oldest);
}

void fragsteer__stats(const struct fragsteer *fs, struct fragsteer_stats *st)
{
	st->fragments = cnt_get(&fs->st.fragments);
	st->held = cnt_get(&fs->st.held);
	st->unported = cnt_get(&fs->st.unported);
	st->evicted = cnt_get(&fs->st.evicted);
	st->held_bytes = cnt_get(&fs->st.held_bytes);
	st->peak_held_bytes = cnt_get(&fs->st.peak_held_bytes);
}

void fragsteer__free(struct fragsteer *fs)
{
	if (!fs)
		return;
	while (fs->oldest) { /* without sending: what is held is dropped */
		struct group *g = fs->oldest;

		fs->oldest = g->younger;
		for (struct held *h = g->head, *next; h; h = next) {
			next = h->next;
			free(h);
		}
		free(g);
	}
	free(fs->buckets);
	free(fs);
}
