// SPDX-License-Identifier: BSD-3-Clause
/* Fragment reassembly. Each datagram keeps a buffer that grows to its highest fragment end
 * (never past 65535 payload bytes), a list of received ranges (merged), and the header of its
 * first fragment. Datagrams are found by a small hash table and expired in arrival order. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "mailtap/decode.h"
#include "mailtap/frag.h"

#define FRAG_MAX_PAYLOAD 65535
#define FRAG_MAX_RANGES 64 /* disjoint received ranges per datagram: at most 63 */
#define FRAG_HDR_MAX 512

struct range {
	uint32_t start, end;
};

struct dgram {
	struct dgram *hnext, *lnext, *lprev;
	struct frag_key key;
	uint64_t first_ts;
	uint8_t *buf;
	uint32_t cap;
	uint32_t total;	      /* payload length once the last fragment came, else 0 */
	struct range r[FRAG_MAX_RANGES];
	uint32_t n_ranges;
	uint8_t hdr[FRAG_HDR_MAX]; /* IP header (+ unfragmentable part) of the first fragment */
	uint32_t hdr_len;
	uint32_t nh_off;	   /* IPv6: offset of the next-header byte to patch */
	uint32_t first_hdr_len;	   /* header length of the fragment that began it (Zeek's) */
};

struct frag_table {
	struct frag_limits lim;
	struct dgram *buckets[1024];
	struct dgram *old, *young; /* arrival order */
	uint32_t n;
	struct frag_stats st;
	uint8_t *out;
};

void frag_limits__default(struct frag_limits *l)
{
	l->max_datagrams = 4096;
	l->max_bytes = 16u << 20;
	l->timeout_ns = 30ULL * 1000000000ULL;
}

struct frag_table *frag__new(const struct frag_limits *l)
{
	struct frag_table *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->lim = *l;
	t->out = malloc(FRAG_HDR_MAX + FRAG_MAX_PAYLOAD);
	if (!t->out) {
		free(t);
		errno = ENOMEM;
		return NULL;
	}
	return t;
}

uint32_t frag_key__hash(const struct frag_key *k)
{
	uint32_t h = k->id * 2654435761u ^ (uint32_t)k->proto << 8 ^ k->v6;

	for (int i = 0; i < 16; i++)
		h = (h ^ k->src[i] ^ (uint32_t)k->dst[i] << 8) * 16777619u;
	return h ^ h >> 16;
}

bool frag_key__eq(const struct frag_key *a, const struct frag_key *b)
{
	return a->id == b->id && a->v6 == b->v6 && a->proto == b->proto &&
	       !memcmp(a->src, b->src, 16) && !memcmp(a->dst, b->dst, 16);
}

static unsigned bucket(const struct frag_key *k)
{
	return frag_key__hash(k) & 1023;
}

static void drop(struct frag_table *t, struct dgram *d)
{
	struct dgram **pp = &t->buckets[bucket(&d->key)];

	while (*pp && *pp != d)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = d->hnext;
	if (d->lprev)
		d->lprev->lnext = d->lnext;
	else
		t->old = d->lnext;
	if (d->lnext)
		d->lnext->lprev = d->lprev;
	else
		t->young = d->lprev;
	t->st.in_use_bytes -= d->cap + sizeof(*d);
	t->n--;
	free(d->buf);
	free(d);
}

void frag__free(struct frag_table *t)
{
	if (!t)
		return;
	while (t->old)
		drop(t, t->old);
	free(t->out);
	free(t);
}

void frag__expire(struct frag_table *t, uint64_t now)
{
	while (t->old && t->old->first_ts + t->lim.timeout_ns <= now) {
		t->st.timeouts++;
		drop(t, t->old);
	}
}

void frag__stats(const struct frag_table *t, struct frag_stats *st)
{
	*st = t->st;
}

static inline uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

int frag__parse(const uint8_t *p, size_t len, struct frag_info *f)
{
	memset(f, 0, sizeof(*f));
	if (len < 20)
		return -EINVAL;
	if ((p[0] >> 4) == 4) {
		uint32_t hl = (uint32_t)(p[0] & 15) * 4, tot = rd16(p + 2), fo = rd16(p + 6);

		if (hl < 20 || tot < hl || len < hl)
			return -EINVAL;
		f->ip_len = tot;
		f->cut = len < tot;
		f->df = fo & 0x4000;
		if (tot < len)
			len = tot;
		f->key.proto = p[9];
		memcpy(f->key.src, p + 12, 4);
		memcpy(f->key.dst, p + 16, 4);
		f->key.id = rd16(p + 4);
		f->off = (fo & 0x1fff) * 8u;
		f->more = fo & 0x2000;
		f->hdr_len = hl;
		f->pl = p + hl;
		f->pl_len = (uint32_t)len - hl;
		return 0;
	}
	if ((p[0] >> 4) == 6) {
		uint32_t plen = rd16(p + 4), off;
		struct ipv6_chain c;
		uint16_t fo;

		if (len < 40)
			return -EINVAL;
		f->ip_len = plen + 40;
		f->cut = len < plen + 40;
		if (plen + 40 < len)
			len = plen + 40;
		f->key.v6 = 1;
		/* the chain decode.c follows, to the fragment header (Zeek's IPv6_Hdr_Chain): the
		 * key's destination is a type 0 routing header's final one, as Zeek's DstAddr() */
		if (decode__ipv6_chain(p, (uint32_t)len, plen + 40, &c, NULL) != DECODE_FRAGMENT)
			return -EINVAL;
		off = c.off;
		memcpy(f->key.src, p + 8, 16);
		memcpy(f->key.dst, c.final_dst ? c.final_dst : p + 24, 16);
		fo = rd16(p + off + 2);
		f->key.proto = p[off];
		f->key.id = (uint32_t)p[off + 4] << 24 | (uint32_t)p[off + 5] << 16 |
			    (uint32_t)p[off + 6] << 8 | p[off + 7];
		f->off = fo & 0xfff8;
		f->more = fo & 1;
		f->hdr_len = off;
		f->nh_off = c.nh_off;
		f->pl = p + off + 8;
		f->pl_len = (uint32_t)len - off - 8;
		return off <= FRAG_HDR_MAX ? 0 : -EINVAL;
	}
	return -EINVAL;
}

static struct dgram *find(struct frag_table *t, const struct frag_info *f)
{
	struct dgram *d = t->buckets[bucket(&f->key)];

	for (; d; d = d->hnext)
		if (frag_key__eq(&d->key, &f->key))
			return d;
	return NULL;
}

static void weird(struct frag_weirds *w, const char *name)
{
	for (unsigned i = 0; i < w->n; i++)
		if (w->name[i] == name)
			return;
	if (w->n < FRAG_WEIRDS_MAX)
		w->name[w->n++] = name;
}

/* The datagram's size once its bytes from offset 0 are whole (frag__whole_size), else 0. */
static uint32_t whole_size(struct dgram *d, struct frag_weirds *w)
{
	uint32_t r0_end = 0;
	bool bad;

	for (uint32_t i = 0; i < d->n_ranges; i++)
		if (d->r[i].start == 0)
			r0_end = d->r[i].end;
	if (!frag__whole_size(&d->total, r0_end, d->n_ranges > 1, &bad))
		return 0;
	if (bad)
		weird(w, "fragment_size_inconsistency");
	return d->total;
}

/* Whether [s,e) overlaps or adjoins a received range, so that adding it makes no new one. */
static bool touches(const struct dgram *d, uint32_t s, uint32_t e)
{
	for (uint32_t i = 0; i < d->n_ranges; i++)
		if (d->r[i].start <= e && s <= d->r[i].end)
			return true;
	return false;
}

/* Adds [s,e) to the ranges, copying only bytes not seen before. Returns overlap status:
 * 0 none, 1 overlap with equal bytes, 2 overlap with different bytes. */
static int add_range(struct dgram *d, uint32_t s, uint32_t e, const uint8_t *data)
{
	int ov = 0;
	uint32_t i;

	/* compare and skip what is already there */
	for (i = 0; i < d->n_ranges; i++) {
		uint32_t a = d->r[i].start > s ? d->r[i].start : s;
		uint32_t b = d->r[i].end < e ? d->r[i].end : e;

		if (a < b) {
			if (!ov)
				ov = 1;
			if (memcmp(d->buf + a, data + (a - s), b - a))
				ov = 2;
		}
	}
	/* copy the holes of [s,e) */
	for (uint32_t pos = s; pos < e;) {
		uint32_t next = e;
		bool covered = false;

		for (i = 0; i < d->n_ranges; i++) {
			if (d->r[i].start <= pos && pos < d->r[i].end) {
				pos = d->r[i].end;
				covered = true;
				break;
			}
			if (d->r[i].start > pos && d->r[i].start < next)
				next = d->r[i].start;
		}
		if (covered)
			continue;
		memcpy(d->buf + pos, data + (pos - s), next - pos);
		pos = next;
	}
	/* merge */
	d->r[d->n_ranges].start = s;
	d->r[d->n_ranges].end = e;
	d->n_ranges++;
	for (bool merged = true; merged;) {
		merged = false;
		for (i = 0; i < d->n_ranges && !merged; i++)
			for (uint32_t j = i + 1; j < d->n_ranges; j++)
				if (d->r[j].start <= d->r[i].end && d->r[i].start <= d->r[j].end) {
					if (d->r[j].start < d->r[i].start)
						d->r[i].start = d->r[j].start;
					if (d->r[j].end > d->r[i].end)
						d->r[i].end = d->r[j].end;
					d->r[j] = d->r[--d->n_ranges];
					merged = true;
					break;
				}
	}
	return ov;
}

void frag__mark_whole(uint8_t *l3, const struct frag_info *f, uint32_t len)
{
	if (!f->key.v6) {
		l3[2] = (uint8_t)(len >> 8);
		l3[3] = (uint8_t)len;
		l3[6] = l3[7] = 0; /* no fragmentation any more */
		l3[10] = l3[11] = 0;
	} else {
		uint32_t plen = len - 40;

		l3[f->nh_off] = f->key.proto; /* the fragment header is gone */
		l3[4] = (uint8_t)(plen >> 8);
		l3[5] = (uint8_t)plen;
	}
}

int frag__add(struct frag_table *t, const uint8_t *l3, size_t l3_len, uint64_t ts,
	      const uint8_t **out, size_t *out_len, struct frag_weirds *w)
{
	struct frag_info f;
	struct dgram *d;
	uint32_t end;
	int ov;

	w->n = 0;
	t->st.fragments++;
	frag__expire(t, ts);
	/* Zeek's IP analyzer: a fragment not captured whole is not reassembled; one that does
	 * not parse otherwise (an unfragmentable part over FRAG_HDR_MAX) is dropped, counted */
	if (frag__parse(l3, l3_len, &f) < 0 || f.cut) {
		t->st.dropped++;
		if (f.cut)
			weird(w, "incompletely_captured_fragment");
		return -EINVAL;
	}
	end = f.off + f.pl_len;
	if (end > FRAG_MAX_PAYLOAD) { /* past any IP datagram: Zeek's weird, then dropped */
		t->st.dropped++;
		weird(w, "excessively_large_fragment");
		return -EMSGSIZE;
	}
	d = find(t, &f);
	if (!d) {
		if (t->n >= t->lim.max_datagrams && t->old) {
			t->st.evicted++;
			drop(t, t->old); /* the oldest makes room */
		}
		d = calloc(1, sizeof(*d));
		if (!d) {
			t->st.dropped++;
			return -ENOSPC;
		}
		d->key = f.key;
		d->first_ts = ts;
		d->first_hdr_len = f.hdr_len;
		d->hnext = t->buckets[bucket(&f.key)];
		t->buckets[bucket(&f.key)] = d;
		d->lprev = t->young;
		if (t->young)
			t->young->lnext = d;
		else
			t->old = d;
		t->young = d;
		t->n++;
		t->st.in_use_bytes += sizeof(*d);
	}
	if (end > d->cap) {
		uint32_t ncap = end < 2048 ? 2048 : end;
		uint8_t *nb;

		/* over the byte cap: the oldest other datagrams make room, as at the datagram
		 * cap (incomplete garbage must not block reassembly until it times out) */
		while (t->st.in_use_bytes + (ncap - d->cap) > t->lim.max_bytes && t->old &&
		       t->old != d) {
			t->st.evicted++;
			drop(t, t->old);
		}
		if (t->st.in_use_bytes + (ncap - d->cap) > t->lim.max_bytes) {
			t->st.dropped++;
			drop(t, d);
			return -ENOSPC;
		}
		nb = realloc(d->buf, ncap);
		if (!nb) {
			t->st.dropped++;
			drop(t, d);
			return -ENOSPC;
		}
		t->st.in_use_bytes += ncap - d->cap;
		if (t->st.in_use_bytes > t->st.peak_bytes)
			t->st.peak_bytes = t->st.in_use_bytes;
		d->buf = nb;
		d->cap = ncap;
	}
	/* a bounded number of disjoint ranges (Zeek has no such limit): a fragment that would
	 * make one more is not taken, the datagram is dropped and counted; one that merges with
	 * a held range (the usual case: fragments in any order fill the gaps) always is */
	if (d->n_ranges >= FRAG_MAX_RANGES - 1 && f.pl_len && !touches(d, f.off, end)) {
		t->st.dropped++;
		drop(t, d);
		return -ENOSPC;
	}
	/* FragReassembler::AddFragment's checks, in its order (the protocol is in the key) */
	if (f.hdr_len != d->first_hdr_len)
		weird(w, "fragment_protocol_inconsistency");
	if (f.df)
		weird(w, "fragment_with_DF"); /* Linux path MTU discovery for UDP, for one */
	if (!f.more && d->total && end != d->total)
		weird(w, "fragment_size_inconsistency");
	else if (f.more && f.ip_len < 64)
		weird(w, "excessively_small_fragment");
	if (end > 64000)
		weird(w, "excessively_large_fragment");
	if (frag__size_rule(&d->total, end, f.more))
		weird(w, "fragment_size_inconsistency");
	if (f.off == 0 && !d->hdr_len) { /* the first copy of the header wins */
		memcpy(d->hdr, l3, f.hdr_len);
		d->hdr_len = f.hdr_len;
		d->nh_off = f.nh_off;
	}
	ov = f.pl_len ? add_range(d, f.off, end, f.pl) : 0;
	if (ov) {
		t->st.overlaps++;
		if (ov == 2)
			t->st.inconsistent++;
		weird(w, ov == 2 ? "fragment_inconsistency" : "fragment_overlap");
	}
	if (!d->hdr_len || !whole_size(d, w))
		return 0;
	/* build the datagram: header of the first fragment + its payload up to the size */
	memcpy(t->out, d->hdr, d->hdr_len);
	memcpy(t->out + d->hdr_len, d->buf, d->total);
	frag__mark_whole(t->out, &(struct frag_info){ .key = d->key, .hdr_len = d->hdr_len,
						  .nh_off = d->nh_off },
			 d->hdr_len + d->total);
	*out = t->out;
	*out_len = d->hdr_len + d->total;
	t->st.reassembled++;
	drop(t, d);
	return 1;
}
