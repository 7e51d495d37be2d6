// SPDX-License-Identifier: BSD-3-Clause
/* Per-direction TCP stream reassembly. Behaviour follows Zeek's TCPSessionAdapter,
 * TCP_Reassembler and Reassembler (see docs/reassembly.md); the code is our own.
 *
 * Invariants of a direction:
 *  - bytes below `next` were delivered or skipped;
 *  - buffered (out-of-order) segments are sorted, never overlap, all start above `next`;
 *  - the retention ring holds the delivered bytes [next - ring_len, next). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mailtap/pkt.h"
#include "mailtap/reasm.h"

#define REASM_F_STARTED 0x01	 /* base from an own packet (Zeek: endpoint not INACTIVE) */
#define REASM_F_PROVISIONAL 0x02 /* base guessed from the peer's ACK (Zeek init_peer) */
#define REASM_F_PARTIAL 0x04	 /* started without a SYN */
#define REASM_F_RST 0x08	 /* this side sent a RST */
/* REASM_F_SKIP 0x10 (reasm.h): gave up, above_hole_data_without_any_acks */
#define REASM_F_EOF 0x20	 /* eof() called */

/* First retention ring size: a few full-size segments, grown by doubling. */
#define REASM_RING_MIN 4096

/* Zeek's TOO_LARGE_SEQ_DELTA. */
#define REASM_TOO_LARGE_DELTA 1048576

struct reasm_seg {
	struct reasm_seg *next;
	uint64_t seq; /* relative */
	uint32_t len;
	uint8_t data[];
};

struct reasm_buf {
	struct reasm_seg *head;
	uint64_t hi; /* highest end of the buffered segments */
	uint32_t nsegs;
	uint32_t ooo_bytes;
	uint8_t *ring; /* retention ring */
	uint32_t ring_cap;
	uint32_t ring_start;
	uint32_t ring_len;
};

/* Freed direction buffers and retention rings (4 KiB .. 128 KiB, powers of two) are kept
 * for reuse: a bulk transfer acks every few segments, and each ack that empties the ring
 * frees it, so the next segment would malloc it again; with many connections interleaved
 * (3,000 open in the benchmark capture) a few blocks per size were not enough and glibc's
 * large-block path (malloc_consolidate) took 3% of the time. A size keeps at most
 * REASM_CACHE_BYTES of blocks, and never fewer than REASM_CACHE_MIN_DEPTH: 128 rings of
 * 4 KiB down to 8 of 128 KiB, 3.5 MiB per pool at worst, and 128 direction buffers; cached
 * blocks do not count as bytes_in_use. */
#define REASM_CACHE_CLASSES 6
#define REASM_CACHE_BYTES (512u * 1024)
#define REASM_CACHE_MIN_DEPTH 8
#define REASM_CACHE_DEPTH 128 /* the deepest: REASM_CACHE_BYTES / REASM_RING_MIN */
struct reasm_cache {
	void *blk[REASM_CACHE_DEPTH];
	unsigned n, depth;
};
_Static_assert(REASM_CACHE_BYTES / REASM_RING_MIN <= REASM_CACHE_DEPTH &&
		       REASM_CACHE_MIN_DEPTH <= REASM_CACHE_DEPTH,
	       "every size's depth fits blk[]");

struct reasm_pool {
	struct reasm_limits lim;
	struct reasm_stats st;
	struct reasm_cache bufs, rings[REASM_CACHE_CLASSES];
};

_Static_assert(sizeof(struct reasm_dir) <= 56, "reasm_dir must stay small");

/* ---- pool ---- */

struct reasm_pool *reasm_pool__new(const struct reasm_limits *l)
{
	struct reasm_pool *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->lim = l ? *l : REASM_LIMITS_DEFAULT;
	p->bufs.depth = REASM_CACHE_DEPTH;
	for (int i = 0; i < REASM_CACHE_CLASSES; i++) {
		unsigned d = REASM_CACHE_BYTES / (REASM_RING_MIN << i);

		p->rings[i].depth = d < REASM_CACHE_MIN_DEPTH ? REASM_CACHE_MIN_DEPTH : d;
	}
	return p;
}

static void cache_drain(struct reasm_cache *c)
{
	while (c->n)
		free(c->blk[--c->n]);
}

void reasm_pool__free(struct reasm_pool *p)
{
	if (!p)
		return;
	cache_drain(&p->bufs);
	for (int i = 0; i < REASM_CACHE_CLASSES; i++)
		cache_drain(&p->rings[i]);
	free(p);
}

void reasm_pool__stats(const struct reasm_pool *p, struct reasm_stats *out)
{
	if (p && out)
		*out = p->st;
}

const struct reasm_limits *reasm_pool__limits(const struct reasm_pool *p)
{
	return &p->lim;
}

/* Charges n bytes against max_total_bytes; false (counted) when that would pass it. */
static bool pool_charge(struct reasm_pool *p, size_t n)
{
	if (p->lim.max_total_bytes && p->st.bytes_in_use + n > p->lim.max_total_bytes) {
		p->st.limit_memcap++;
		return false;
	}
	p->st.bytes_in_use += n;
	if (p->st.bytes_in_use > p->st.bytes_peak)
		p->st.bytes_peak = p->st.bytes_in_use;
	return true;
}

static void *pool_alloc(struct reasm_pool *p, size_t n)
{
	void *m;

	if (!pool_charge(p, n))
		return NULL;
	m = malloc(n);
	if (!m) {
		p->st.bytes_in_use -= n;
		p->st.alloc_fail++;
		return NULL;
	}
	return m;
}

static void pool_free(struct reasm_pool *p, void *m, size_t n)
{
	if (!m)
		return;
	free(m);
	p->st.bytes_in_use -= n;
}

/* The cache for a block of n bytes: direction buffers, and rings of a cached size. */
static struct reasm_cache *cache_for(struct reasm_pool *p, size_t n)
{
	size_t sz = REASM_RING_MIN;

	if (n == sizeof(struct reasm_buf))
		return &p->bufs;
	for (int i = 0; i < REASM_CACHE_CLASSES; i++, sz *= 2)
		if (n == sz)
			return &p->rings[i];
	return NULL;
}

static void *pool_get(struct reasm_pool *p, size_t n)
{
	struct reasm_cache *c = cache_for(p, n);

	if (!c || !c->n)
		return pool_alloc(p, n);
	if (!pool_charge(p, n))
		return NULL;
	p->st.cache_bytes -= n;
	return c->blk[--c->n];
}

static void pool_put(struct reasm_pool *p, void *m, size_t n)
{
	struct reasm_cache *c = cache_for(p, n);

	if (!m)
		return;
	if (!c || c->n == c->depth) {
		pool_free(p, m, n);
		return;
	}
	c->blk[c->n++] = m;
	p->st.bytes_in_use -= n;
	p->st.cache_bytes += n;
}

/* ---- helpers ---- */

static int64_t rel_of(const struct reasm_dir *r, uint32_t seq, uint64_t ref)
{
	int32_t d = (int32_t)(seq - (uint32_t)(r->isn + ref));

	return (int64_t)ref + d;
}

static void weird(const struct reasm_dir *r, const struct reasm_cb *cb, const char *name,
		  const char *addl, uint64_t ts)
{
	if (cb && cb->weird)
		cb->weird(cb->u, (enum mt_dir)r->dir, name, addl, ts);
}

static struct reasm_buf *get_buf(struct reasm_dir *r, struct reasm_pool *p)
{
	if (!r->buf) {
		r->buf = pool_get(p, sizeof(*r->buf));
		if (r->buf)
			memset(r->buf, 0, sizeof(*r->buf));
	}
	return r->buf;
}

static void ring_clear(struct reasm_dir *r, struct reasm_pool *p)
{
	struct reasm_buf *b = r->buf;

	if (!b)
		return;
	pool_put(p, b->ring, b->ring_cap);
	b->ring = NULL;
	b->ring_cap = b->ring_start = b->ring_len = 0;
}

/* Frees the buffer when it holds nothing: idle directions own no heap. */
static void maybe_release(struct reasm_dir *r, struct reasm_pool *p)
{
	struct reasm_buf *b = r->buf;

	if (!b || b->head)
		return;
	if (b->ring_len)
		return;
	ring_clear(r, p);
	pool_put(p, b, sizeof(*b));
	r->buf = NULL;
}

static void free_segs(struct reasm_dir *r, struct reasm_pool *p)
{
	struct reasm_buf *b = r->buf;
	struct reasm_seg *s, *n;

	if (!b)
		return;
	for (s = b->head; s; s = n) {
		n = s->next;
		p->st.segs_in_use--;
		pool_free(p, s, sizeof(*s) + s->len);
	}
	b->head = NULL;
	b->nsegs = b->ooo_bytes = 0;
	b->hi = 0;
}

/* Drops retained bytes below `upto`. */
static void ring_trim(struct reasm_dir *r, uint64_t upto)
{
	struct reasm_buf *b = r->buf;
	uint64_t first, drop;

	if (!b || !b->ring_len)
		return;
	first = r->next - b->ring_len;
	if (upto <= first)
		return;
	drop = upto - first;
	if (drop >= b->ring_len) {
		b->ring_len = 0;
		b->ring_start = 0;
		return;
	}
	b->ring_start = (uint32_t)((b->ring_start + drop) % b->ring_cap);
	b->ring_len -= (uint32_t)drop;
}

/* Should delivered data be retained? Not when retention is off, and not when nothing was
 * ever acked after more than the initial window was sent (Zeek: peer's ACKs not seen). */
static bool retain_wanted(const struct reasm_dir *r, const struct reasm_pool *p)
{
	if (!p->lim.max_retain_bytes)
		return false;
	if (r->ack <= 1 && p->lim.max_initial_window && r->last > 1 &&
	    r->last - 1 > p->lim.max_initial_window)
		return false;
	return true;
}

/* Appends just-delivered bytes (ending at r->next) to the retention ring. */
static void ring_push(struct reasm_dir *r, struct reasm_pool *p, const uint8_t *d, uint32_t n)
{
	struct reasm_buf *b;
	uint32_t want, cap, pos, first;

	if (!n)
		return;
	if (!retain_wanted(r, p)) {
		if (r->buf)
			ring_clear(r, p);
		return;
	}
	b = get_buf(r, p);
	if (!b)
		return;
	want = b->ring_len + n;
	if (want > p->lim.max_retain_bytes)
		want = p->lim.max_retain_bytes;
	if (want > b->ring_cap) {
		uint8_t *nr;

		cap = b->ring_cap ? b->ring_cap : REASM_RING_MIN;
		while (cap < want)
			cap *= 2;
		if (cap > p->lim.max_retain_bytes)
			cap = p->lim.max_retain_bytes;
		nr = pool_get(p, cap);
		if (!nr) {
			ring_clear(r, p);
			return;
		}
		if (b->ring_len) {
			uint32_t head = b->ring_cap - b->ring_start;

			if (head >= b->ring_len) {
				memcpy(nr, b->ring + b->ring_start, b->ring_len);
			} else {
				memcpy(nr, b->ring + b->ring_start, head);
				memcpy(nr + head, b->ring, b->ring_len - head);
			}
		}
		pool_put(p, b->ring, b->ring_cap);
		b->ring = nr;
		b->ring_cap = cap;
		b->ring_start = 0;
	}
	cap = b->ring_cap;
	if (n >= cap) {
		memcpy(b->ring, d + (n - cap), cap);
		b->ring_start = 0;
		b->ring_len = cap;
		return;
	}
	if (b->ring_len + n > cap) {
		uint32_t drop = b->ring_len + n - cap;

		b->ring_start = (b->ring_start + drop) % cap;
		b->ring_len -= drop;
	}
	pos = (b->ring_start + b->ring_len) % cap;
	first = cap - pos < n ? cap - pos : n;
	memcpy(b->ring + pos, d, first);
	if (first < n)
		memcpy(b->ring, d + first, n - first);
	b->ring_len += n;
}

/* Compares new bytes for [s, s+n) (all below next) with what was retained. Returns the
 * number of retained bytes compared; *diff set when they differ. */
static uint32_t ring_cmp(const struct reasm_dir *r, uint64_t s, const uint8_t *d, uint32_t n,
			 bool *diff)
{
	const struct reasm_buf *b = r->buf;
	uint64_t first, x;
	uint32_t i, cmp = 0;

	if (!b || !b->ring_len)
		return 0;
	first = r->next - b->ring_len;
	for (i = 0; i < n; i++) {
		x = s + i;
		if (x < first)
			continue;
		cmp++;
		if (b->ring[(b->ring_start + (x - first)) % b->ring_cap] != d[i])
			*diff = true;
	}
	return cmp;
}

static void deliver(struct reasm_dir *r, struct reasm_pool *p, const struct reasm_cb *cb,
		    const uint8_t *d, uint32_t n, uint64_t ts)
{
	if (!n)
		return;
	r->next += n;
	p->st.delivered_bytes += n;
	if (cb && cb->data)
		cb->data(cb->u, (enum mt_dir)r->dir, d, n, ts);
	ring_push(r, p, d, n);
}

static void gap(struct reasm_dir *r, struct reasm_pool *p, const struct reasm_cb *cb, uint64_t n,
		enum reasm_gap_why why, uint64_t ts)
{
	if (!n)
		return;
	r->next += n;
	if (why != REASM_GAP_CLOSE)
		r->missed += n;
	p->st.gaps++;
	p->st.gap_bytes += n;
	/* The retained bytes must stay contiguous with next. */
	if (r->buf && r->buf->ring_len)
		ring_clear(r, p);
	if (cb && cb->gap)
		cb->gap(cb->u, (enum mt_dir)r->dir, n, why, ts);
}

/* Delivers buffered segments that are contiguous with next (only the first if `one`). */
static void deliver_segs(struct reasm_dir *r, struct reasm_pool *p, const struct reasm_cb *cb,
			 bool one, uint64_t ts)
{
	struct reasm_buf *b = r->buf;
	struct reasm_seg *s;

	while (b && (s = b->head) && s->seq <= r->next) {
		uint64_t end = s->seq + s->len;

		b->head = s->next;
		b->nsegs--;
		b->ooo_bytes -= s->len;
		p->st.segs_in_use--;
		if (end > r->next)
			deliver(r, p, cb, s->data + (r->next - s->seq), (uint32_t)(end - r->next),
				ts);
		pool_free(p, s, sizeof(*s) + s->len);
		b = r->buf;
		if (one)
			break;
	}
	if (b && !b->head)
		b->hi = 0;
}

static void deliver_run(struct reasm_dir *r, struct reasm_pool *p, const struct reasm_cb *cb,
			uint64_t ts)
{
	deliver_segs(r, p, cb, false, ts);
}

/* Everything below upto can no longer arrive: skip holes as gaps, deliver what was buffered
 * (Zeek's Undelivered). */
static void undelivered(struct reasm_dir *r, struct reasm_pool *p, const struct reasm_cb *cb,
			uint64_t upto, enum reasm_gap_why why, uint64_t ts)
{
	while (r->next < upto) {
		struct reasm_seg *s = r->buf ? r->buf->head : NULL;

		if (s && s->seq < upto) {
			gap(r, p, cb, s->seq - r->next, why, ts);
			deliver_run(r, p, cb, ts);
		} else {
			gap(r, p, cb, upto - r->next, why, ts);
		}
	}
}

static void check_eof(struct reasm_dir *r, const struct reasm_cb *cb, uint64_t ts)
{
	bool done = false;

	if (r->flags & REASM_F_EOF)
		return;
	if (r->fin && r->next + 1 >= r->fin)
		done = true;
	else if ((r->flags & REASM_F_RST) && !(r->buf && r->buf->head))
		done = true;
	if (!done)
		return;
	r->flags |= REASM_F_EOF;
	if (cb && cb->eof)
		cb->eof(cb->u, (enum mt_dir)r->dir, ts);
}

/* ---- public ---- */

void reasm__init(struct reasm_dir *r, enum mt_dir d)
{
	memset(r, 0, sizeof(*r));
	r->next = 1;
	r->dir = (uint8_t)d;
}

static void start(struct reasm_dir *r, uint32_t seq, uint8_t fl, uint32_t seg_len)
{
	uint32_t ack_raw = r->isn + (uint32_t)r->ack;
	bool prov = r->flags & REASM_F_PROVISIONAL;

	if (fl & PKT_TCP_SYN) {
		r->isn = seq;
		r->last = seg_len;
		r->flags &= ~REASM_F_PARTIAL;
	} else {
		/* Zeek: as though a SYN had been seen, and the first packet is no duplicate. */
		r->isn = seq - 1;
		r->last = 1;
		r->flags |= REASM_F_PARTIAL;
	}
	r->ack = 0;
	if (prov) {
		/* Zeek keeps the raw ack; re-express it against the new base. */
		int32_t d = (int32_t)(ack_raw - r->isn);

		r->ack = d > 0 ? (uint64_t)d : 0;
	}
	r->flags = (uint8_t)((r->flags & ~REASM_F_PROVISIONAL) | REASM_F_STARTED);
}

void reasm__packet(struct reasm_dir *r, const struct reasm_cb *cb, uint32_t seq, uint8_t tcp_flags,
		   uint32_t len, uint64_t ts_ns)
{
	uint32_t seg_len = len;
	int64_t rel;
	int32_t delta;

	if (!r)
		return;
	if (tcp_flags & PKT_TCP_SYN)
		seg_len++;
	if (tcp_flags & PKT_TCP_FIN)
		seg_len++;
	if (tcp_flags & PKT_TCP_RST)
		seg_len -= len;

	/* The TCP state weirds of these rules (SYN_seq_jump, TCP_seq_underflow_or_misorder) are
	 * the flow table's, raised by Zeek's endpoint states (user/flow.c): not raised here. */
	if (!(r->flags & REASM_F_STARTED)) {
		start(r, seq, tcp_flags, seg_len);
	} else if ((tcp_flags & PKT_TCP_SYN) && seq != r->isn) {
		/* Zeek re-bases on the new SYN; we can only while nothing was delivered. */
		if (r->next == 1 && !r->buf && !r->missed)
			start(r, seq, tcp_flags, seg_len);
	}

	rel = rel_of(r, seq, r->last);
	if ((tcp_flags & PKT_TCP_FIN) && rel + seg_len > 0)
		r->fin = (uint64_t)(rel + seg_len);

	/* Zeek's update_last_seq. */
	delta = (int32_t)(seq + seg_len - (uint32_t)(r->isn + r->last));
	if ((tcp_flags & (PKT_TCP_SYN | PKT_TCP_RST)) &&
	    (delta > REASM_TOO_LARGE_DELTA || delta < -REASM_TOO_LARGE_DELTA))
		;
	else if ((tcp_flags & PKT_TCP_FIN) && r->last == 1)
		r->last = (uint64_t)((int64_t)r->last + delta);
	else if (r->flags & REASM_F_RST)
		;
	else if (delta > 0)
		r->last += (uint64_t)delta;
	else if (len > 0 && cb && cb->rexmit)
		cb->rexmit(cb->u, (enum mt_dir)r->dir, ts_ns);

	if (tcp_flags & PKT_TCP_RST)
		r->flags |= REASM_F_RST;
	check_eof(r, cb, ts_ns);
}

/* Zeek's AckReceived: an ACK at or past the FIN stands for the byte before it (the FIN's
 * octet is no data). */
static uint64_t fin_clamp(const struct reasm_dir *r, uint64_t rel)
{
	return r->fin && rel >= r->fin ? r->fin - 1 : rel;
}

/* Everything below rel (clamped to the FIN) was acknowledged: Zeek's AckReceived/TrimToSeq. */
static void ack_rel(struct reasm_dir *r, struct reasm_pool *p, const struct reasm_cb *cb,
		    uint64_t rel, uint64_t ts_ns)
{
	uint64_t upto = fin_clamp(r, rel);

	if (upto > r->next) {
		if ((r->flags & REASM_F_PARTIAL) && upto <= 2) {
			/* Zeek: the faked SYN octet (or a keep-alive's) of a partial connection. */
		} else if (r->flags & REASM_F_SKIP) {
			r->next = upto;
		} else {
			undelivered(r, p, cb, upto, REASM_GAP_ACKED, ts_ns);
		}
	}
	/* After the gaps: what they let through is acked too. */
	ring_trim(r, upto);
	maybe_release(r, p);
	check_eof(r, cb, ts_ns);
}

uint64_t reasm__ack(struct reasm_dir *r, struct reasm_pool *p, const struct reasm_cb *cb,
		    uint32_t ack, uint8_t tcp_flags, uint64_t ts_ns)
{
	return reasm__ack_fresh(r, p, cb, ack, tcp_flags, ts_ns, NULL);
}

uint64_t reasm__ack_fresh(struct reasm_dir *r, struct reasm_pool *p, const struct reasm_cb *cb,
			  uint32_t ack, uint8_t tcp_flags, uint64_t ts_ns, bool *fresh)
{
	uint64_t missed, before;
	int64_t rel;

	if (fresh)
		*fresh = false;
	if (!r || !p || !(tcp_flags & PKT_TCP_ACK))
		return 0;
	if (!(r->flags & REASM_F_STARTED)) {
		/* Zeek's init_peer, redone on every ACK while the peer stays silent. */
		r->isn = ack - 1;
		r->last = 0;
		r->ack = 0;
		r->flags |= REASM_F_PROVISIONAL | REASM_F_PARTIAL;
		return 0;
	}
	/* Zeek's trim_seq starts at 1 (Reassembler(1, ...)): an ACK of the SYN alone is no news. */
	before = r->ack > 1 ? r->ack : 1;
	rel = rel_of(r, ack, r->ack);
	if (rel < 0) {
		rel = 0; /* TCP_ack_underflow_or_misorder: the flow table's weird */
	} else if (!(tcp_flags & PKT_TCP_RST)) {
		/* An ack of 0 far ahead is more likely broken than a wrap landing on 0. */
		if (!(ack == 0 && rel - (int64_t)r->ack > REASM_TOO_LARGE_DELTA) &&
		    (uint64_t)rel > r->ack)
			r->ack = (uint64_t)rel;
	}
	/* AckReceived returns at `seq <= trim_seq` (after the FIN clamp) before it counts: the
	 * highest ack before this one, clamped alike, stands for trim_seq (a RST's ack, which
	 * Zeek trims with too, comes from an endpoint no longer established: never counted). */
	if (fresh)
		*fresh = fin_clamp(r, (uint64_t)rel) > fin_clamp(r, before);
	missed = r->missed;
	ack_rel(r, p, cb, (uint64_t)rel, ts_ns);
	return r->missed - missed;
}

/* Delivers new in-order bytes [next, e) from the packet; buffered segments inside that range
 * keep their bytes (first data wins). *conflict is set when the bytes differ. */
static void deliver_in_order(struct reasm_dir *r, struct reasm_pool *p, const struct reasm_cb *cb,
			     uint64_t s, const uint8_t *d, uint64_t e, bool *conflict,
			     uint32_t *ovl, uint64_t ts)
{
	while (r->next < e) {
		struct reasm_seg *g = r->buf ? r->buf->head : NULL;
		uint64_t cur = r->next;

		if (!g || g->seq >= e) {
			deliver(r, p, cb, d + (cur - s), (uint32_t)(e - cur), ts);
			break;
		}
		if (g->seq > cur)
			deliver(r, p, cb, d + (cur - s), (uint32_t)(g->seq - cur), ts);
		{
			uint64_t oe = g->seq + g->len < e ? g->seq + g->len : e;

			*ovl += (uint32_t)(oe - g->seq);
			if (memcmp(g->data, d + (g->seq - s), oe - g->seq))
				*conflict = true;
		}
		deliver_segs(r, p, cb, true, ts);
	}
	deliver_run(r, p, cb, ts);
}

/* Queues [s, e) (s > next) keeping buffered bytes where they exist. Returns 0, or -ENOSPC
 * when a limit or the memory would be exceeded (nothing partial is left inconsistent). */
static int insert_ooo(struct reasm_dir *r, struct reasm_pool *p, uint64_t s, const uint8_t *d,
		      uint64_t e, bool *conflict, uint32_t *ovl)
{
	struct reasm_buf *b;
	struct reasm_seg **pp, *g;
	uint64_t cur = s, newb = 0;
	uint32_t pieces = 0;

	/* Pass 1: measure the new pieces, compare overlapped bytes. */
	g = r->buf ? r->buf->head : NULL;
	for (; g && cur < e; g = g->next) {
		uint64_t ge = g->seq + g->len;

		if (ge <= cur)
			continue;
		if (g->seq >= e)
			break;
		if (g->seq > cur) {
			newb += g->seq - cur;
			pieces++;
			cur = g->seq;
		}
		{
			uint64_t oe = ge < e ? ge : e;

			*ovl += (uint32_t)(oe - cur);
			if (memcmp(g->data + (cur - g->seq), d + (cur - s), oe - cur))
				*conflict = true;
			cur = oe;
		}
	}
	if (cur < e) {
		newb += e - cur;
		pieces++;
	}
	if (!pieces)
		return 0;
	b = r->buf;
	if (b && p->lim.max_segments && b->nsegs + pieces > p->lim.max_segments) {
		p->st.limit_segs++;
		return -ENOSPC;
	}
	if (p->lim.max_segments && pieces > p->lim.max_segments) {
		p->st.limit_segs++;
		return -ENOSPC;
	}
	if (p->lim.max_ooo_bytes && (b ? b->ooo_bytes : 0) + newb > p->lim.max_ooo_bytes) {
		p->st.limit_ooo++;
		return -ENOSPC;
	}
	b = get_buf(r, p);
	if (!b)
		return -ENOSPC;

	/* Pass 2: insert the pieces. */
	cur = s;
	pp = &b->head;
	while (cur < e) {
		uint64_t pe;
		struct reasm_seg *n;

		while (*pp && (*pp)->seq + (*pp)->len <= cur)
			pp = &(*pp)->next;
		if (*pp && (*pp)->seq <= cur) {
			cur = (*pp)->seq + (*pp)->len;
			pp = &(*pp)->next;
			continue;
		}
		pe = (*pp && (*pp)->seq < e) ? (*pp)->seq : e;
		n = pool_alloc(p, sizeof(*n) + (size_t)(pe - cur));
		if (!n)
			return -ENOSPC;
		n->seq = cur;
		n->len = (uint32_t)(pe - cur);
		memcpy(n->data, d + (cur - s), n->len);
		n->next = *pp;
		*pp = n;
		pp = &n->next;
		b->nsegs++;
		b->ooo_bytes += n->len;
		p->st.segs_in_use++;
		p->st.ooo_segments++;
		if (pe > b->hi)
			b->hi = pe;
		cur = pe;
	}
	return 0;
}

/* The payload [s, s + len) in relative offsets: Zeek's DataSent + NewBlock. */
static int data_rel(struct reasm_dir *r, struct reasm_pool *p, const struct reasm_cb *cb,
		    uint64_t s, const uint8_t *data, uint32_t len, uint64_t ts_ns)
{
	uint64_t e = s + len;
	bool conflict = false;
	uint32_t ovl = 0;

	if (!len || (r->flags & REASM_F_SKIP))
		return 0;
	/* Zeek's DataSent: bytes the peer already acked are old. Byte 0 is the SYN's. */
	{
		uint64_t lo = r->ack > 1 ? r->ack : 1;

		if (e <= lo)
			return 0;
		if (s < lo) {
			data += lo - s;
			s = lo;
		}
	}
	if (s < r->next) {
		uint64_t oe = e < r->next ? e : r->next;

		ovl += (uint32_t)ring_cmp(r, s, data, (uint32_t)(oe - s), &conflict);
		if (!ovl)
			ovl = (uint32_t)(oe - s); /* seen before, not retained */
		if (e <= r->next)
			goto out;
		data += r->next - s;
		s = r->next;
	}
	if (s == r->next) {
		deliver_in_order(r, p, cb, s, data, e, &conflict, &ovl, ts_ns);
	} else if (insert_ooo(r, p, s, data, e, &conflict, &ovl)) {
		/* A limit: the holes below this segment become gaps, then it is in order. */
		undelivered(r, p, cb, s, REASM_GAP_LIMIT, ts_ns);
		if (r->next < e) {
			uint64_t c = r->next > s ? r->next : s;

			deliver_in_order(r, p, cb, c, data + (c - s), e, &conflict, &ovl, ts_ns);
		}
	}
	/* Zeek: data piling up above a hole while nothing was ever acked: give up. */
	if (r->buf && r->buf->head && r->ack <= 1 && p->lim.max_above_hole_no_ack &&
	    r->buf->hi - r->next > p->lim.max_above_hole_no_ack) {
		weird(r, cb, "above_hole_data_without_any_acks", NULL, ts_ns);
		free_segs(r, p);
		ring_clear(r, p);
		r->flags |= REASM_F_SKIP;
		p->st.gave_up++;
	}
out:
	if (ovl) {
		p->st.overlaps++;
		p->st.overlap_bytes += ovl;
	}
	if (conflict) {
		p->st.conflicts++;
		/* Zeek skips 1-byte differences while nothing was acked (keep-alives). */
		if (ovl > 1 || r->ack > 1)
			weird(r, cb, "rexmit_inconsistency", NULL, ts_ns);
	}
	maybe_release(r, p);
	check_eof(r, cb, ts_ns);
	return 0;
}

int reasm__data(struct reasm_dir *r, struct reasm_pool *p, const struct reasm_cb *cb, uint32_t seq,
		uint8_t tcp_flags, const uint8_t *data, uint32_t caplen, uint32_t len,
		uint64_t ts_ns)
{
	int64_t rel;

	if (!r || !p || (!data && caplen))
		return -EINVAL;
	if (!len || (tcp_flags & PKT_TCP_RST))
		return 0;
	if (!(r->flags & REASM_F_STARTED))
		reasm__packet(r, NULL, seq, tcp_flags, len, ts_ns);
	if (caplen < len)
		return 0; /* truncated_tcp_payload: the flow table's weird */
	rel = rel_of(r, seq, r->last);
	if (tcp_flags & PKT_TCP_SYN)
		rel++;
	if (rel < 0) {
		p->st.seq_underflow++;
		return 0;
	}
	return data_rel(r, p, cb, (uint64_t)rel, data, len, ts_ns);
}

int reasm__rel_data(struct reasm_dir *r, struct reasm_pool *p, const struct reasm_cb *cb,
		    uint64_t rel_seq, const uint8_t *data, uint32_t len, uint64_t ts_ns)
{
	if (!r || !p || (!data && len) || rel_seq > UINT64_MAX - len)
		return -EINVAL;
	r->flags |= REASM_F_STARTED;
	if (rel_seq + len > r->last)
		r->last = rel_seq + len;
	return data_rel(r, p, cb, rel_seq, data, len, ts_ns);
}

void reasm__rel_ack(struct reasm_dir *r, struct reasm_pool *p, const struct reasm_cb *cb,
		    uint64_t rel_ack, unsigned int flags, uint64_t ts_ns)
{
	if (!r || !p)
		return;
	if (!(flags & REASM_ACK_RST) && rel_ack > r->ack)
		r->ack = rel_ack;
	if (flags & REASM_ACK_PARTIAL)
		r->flags |= REASM_F_PARTIAL;
	else
		r->flags &= ~REASM_F_PARTIAL;
	ack_rel(r, p, cb, rel_ack, ts_ns);
}

void reasm__rel_fin(struct reasm_dir *r, const struct reasm_cb *cb, uint64_t rel_fin,
		    uint64_t ts_ns)
{
	if (!r)
		return;
	r->fin = rel_fin;
	if (rel_fin > r->last)
		r->last = rel_fin;
	check_eof(r, cb, ts_ns);
}

void reasm__rel_rst(struct reasm_dir *r, const struct reasm_cb *cb, uint64_t ts_ns)
{
	if (!r)
		return;
	r->flags |= REASM_F_RST;
	check_eof(r, cb, ts_ns);
}

void reasm__close(struct reasm_dir *r, struct reasm_pool *p, const struct reasm_cb *cb,
		  uint64_t ts_ns)
{
	if (!r || !p)
		return;
	if (r->buf && r->buf->head && !(r->flags & REASM_F_SKIP) && p->lim.flush_at_close)
		undelivered(r, p, cb, r->buf->hi, REASM_GAP_CLOSE, ts_ns);
	free_segs(r, p);
	ring_clear(r, p);
	if (r->buf) {
		pool_put(p, r->buf, sizeof(*r->buf));
		r->buf = NULL;
	}
	if (!(r->flags & REASM_F_EOF)) {
		r->flags |= REASM_F_EOF;
		if (cb && cb->eof)
			cb->eof(cb->u, (enum mt_dir)r->dir, ts_ns);
	}
}

uint64_t reasm__missed(const struct reasm_dir *r)
{
	return r->missed;
}


bool reasm__has_blocks(const struct reasm_dir *r)
{
	return r->buf && (r->buf->head || r->buf->ring_len);
}

uint64_t reasm__pending(const struct reasm_dir *r)
{
	return r->buf ? r->buf->ooo_bytes : 0;
}

uint64_t reasm__size(const struct reasm_dir *r)
{
	uint64_t size = r->last > r->ack ? r->last : r->ack;

	if (size)
		size--;
	if (r->fin && size)
		size--;
	return size;
}
