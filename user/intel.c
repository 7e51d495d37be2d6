// SPDX-License-Identifier: BSD-3-Clause
/* The intelligence store: Zeek's Intel::data_store (host_data, subnet_data, string_data) as
 * one open-addressing hash table over items whose keys are bytes:
 *   - a string item: its lowercased indicator (Zeek: "All intelligence is case insensitive");
 *   - an ADDR item: the 16 bytes of the address;
 *   - a SUBNET item: the 16 bytes of the masked network and its prefix length (0..128, IPv4
 *     as v4-mapped: /8 is 104);
 *   - a source name (meta.source), interned once, which items point to.
 * An item keeps its sources (Zeek's MetaDataTable, by source) as a list of links. An address
 * is looked up as itself and under each subnet prefix length the store holds (at most 129).
 * The intel record is written here too (Intel::Info with files.zeek's fields). */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "mailtap/bits.h"
#include "mailtap/intel.h"
#include "mailtap/notice.h"
#include "mailtap/rec.h"

#define KIND_SOURCE INTEL_NTYPES /* an interned source name */
#define WARN_LINES 10		 /* bad lines reported per file */
#define SEED 0x6d61696c74617069ULL

static const char *const type_names[INTEL_NTYPES] = {
    "Intel::ADDR",	  "Intel::SUBNET",    "Intel::URL",	  "Intel::SOFTWARE",
    "Intel::EMAIL",	  "Intel::DOMAIN",    "Intel::USER_NAME", "Intel::CERT_HASH",
    "Intel::PUBKEY_HASH", "Intel::FILE_HASH", "Intel::FILE_NAME",
};

static const char *const where_names[INTEL_NWHERE] = {
    "Conn::IN_ORIG",	   "Conn::IN_RESP",
    "Files::IN_HASH",	   "Files::IN_NAME",
    "SMTP::IN_MAIL_FROM",  "SMTP::IN_RCPT_TO",
    "SMTP::IN_FROM",	   "SMTP::IN_TO",
    "SMTP::IN_CC",	   "SMTP::IN_RECEIVED_HEADER",
    "SMTP::IN_REPLY_TO",   "SMTP::IN_X_ORIGINATING_IP_HEADER",
    "SMTP::IN_MESSAGE",	   "SMTP::IN_HEADER",
    "SSL::IN_SERVER_NAME", "X509::IN_CERT",
    "SMTP::IN_AUTH",
};

const char *intel_type__name(enum intel_type t)
{
	return (unsigned)t < INTEL_NTYPES ? type_names[t] : "-";
}

const char *intel_where__name(enum intel_where w)
{
	return (unsigned)w < INTEL_NWHERE ? where_names[w] : "-";
}

int intel_where__parse(const char *s, size_t n)
{
	if (n == 18 && !memcmp(s, "Intel::IN_ANYWHERE", 18))
		return INTEL_NWHERE;
	for (int w = 0; w < INTEL_NWHERE; w++)
		if (strlen(where_names[w]) == n && !memcmp(where_names[w], s, n))
			return w;
	return -1;
}

int intel_type__parse(const char *s, size_t n)
{
	/* the enum's full name only: Zeek's input manager knows no "EMAIL", and skips the line
	 * (Manager::ValueToVal: not a valid enum) */
	for (int t = 0; t < INTEL_NTYPES; t++)
		if (strlen(type_names[t]) == n && !memcmp(type_names[t], s, n))
			return t;
	return -1;
}

void intel_limits__default(struct intel_limits *l)
{
	l->max_items = 4000000;
	l->max_indicator = 4096;
	l->max_line = 65536;
}

struct item {
	uint64_t h;
	uint32_t key_off, key_len;
	uint32_t src_head; /* first link + 1 (0: none) */
	uint8_t kind;	   /* enum intel_type or KIND_SOURCE */
};

struct link {
	uint32_t src;	       /* item index of the source name */
	uint32_t next;	       /* link + 1 */
	/* the source's meta, as bits: meta.do_notice at meta.if_in, a bit per enum
	 * intel_where; LINK_WHITELIST, meta.whitelist */
	uint32_t meta;
};
#define LINK_WHITELIST (1u << 31)
_Static_assert(INTEL_NWHERE < 31, "a notice bit per place, and the whitelist bit");

struct intel_db {
	struct intel_limits lim;
	struct item *items; /* [0] unused: slot value 0 is empty */
	uint32_t n_items, cap_items;
	uint32_t *slots;
	uint32_t mask;
	char *keys;
	size_t keys_len, keys_cap;
	struct link *links;
	uint32_t n_links, cap_links;
	uint64_t n_indicators;
	uint32_t types;	       /* bit per type with items */
	uint8_t prefixes[129]; /* subnet prefix lengths present */
};

/* Zeek's to_lower: ASCII only. */
static inline uint8_t ascii_lower(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? (uint8_t)(c + 32) : c;
}

static _Atomic uint64_t st_items, st_skipped, st_dropped, st_lookups, st_matches, st_whitelisted,
    st_reloads, st_reload_errors;

static void db_free(struct intel_db *in);

static struct intel_db *db_new(const struct intel_limits *l)
{
	struct intel_db *in = calloc(1, sizeof(*in));

	if (!in)
		return NULL;
	if (l)
		in->lim = *l;
	else
		intel_limits__default(&in->lim);
	in->mask = 1023;
	in->slots = calloc(in->mask + 1, sizeof(*in->slots));
	in->cap_items = 256;
	in->items = malloc(in->cap_items * sizeof(*in->items));
	if (!in->slots || !in->items) {
		db_free(in);
		errno = ENOMEM;
		return NULL;
	}
	in->n_items = 1;
	return in;
}

static void db_free(struct intel_db *in)
{
	if (!in)
		return;
	atomic_fetch_sub_explicit(&st_items, in->n_indicators, memory_order_relaxed);
	free(in->slots);
	free(in->items);
	free(in->keys);
	free(in->links);
	free(in);
}

static uint32_t lookup(const struct intel_db *in, uint8_t kind, const void *key, size_t n,
		       uint64_t h)
{
	for (uint32_t i = (uint32_t)h & in->mask;; i = (i + 1) & in->mask) {
		uint32_t s = in->slots[i];
		const struct item *it;

		if (!s)
			return 0;
		it = &in->items[s];
		if (it->h == h && it->kind == kind && it->key_len == n &&
		    !memcmp(in->keys + it->key_off, key, n))
			return s;
	}
}

static uint64_t key_hash(uint8_t kind, const void *key, size_t n)
{
	return mt_hash_bytes(SEED + kind, key, n);
}

static int grow_slots(struct intel_db *in)
{
	uint32_t nmask = in->mask * 2 + 1;
	uint32_t *ns = calloc((size_t)nmask + 1, sizeof(*ns));

	if (!ns)
		return -ENOMEM;
	for (uint32_t s = 1; s < in->n_items; s++) {
		uint32_t i = (uint32_t)in->items[s].h & nmask;

		while (ns[i])
			i = (i + 1) & nmask;
		ns[i] = s;
	}
	free(in->slots);
	in->slots = ns;
	in->mask = nmask;
	return 0;
}

/* The item of (kind, key), added when absent. Index, or 0 on allocation failure. */
static uint32_t intern(struct intel_db *in, uint8_t kind, const void *key, size_t n, bool *added)
{
	uint64_t h = key_hash(kind, key, n);
	uint32_t s = lookup(in, kind, key, n, h), i;
	struct item *it;

	*added = false;
	if (s)
		return s;
	if ((uint64_t)(in->n_items + 1) * 4 > (uint64_t)(in->mask + 1) * 3 && grow_slots(in))
		return 0;
	if (in->n_items == in->cap_items) {
		struct item *ni = realloc(in->items, (size_t)in->cap_items * 2 * sizeof(*ni));

		if (!ni)
			return 0;
		in->items = ni;
		in->cap_items *= 2;
	}
	if (in->keys_len + n > in->keys_cap) {
		size_t cap = in->keys_cap ? in->keys_cap : 4096;
		char *nk;

		while (cap < in->keys_len + n)
			cap *= 2;
		if (cap > UINT32_MAX || !(nk = realloc(in->keys, cap)))
			return 0;
		in->keys = nk;
		in->keys_cap = cap;
	}
	memcpy(in->keys + in->keys_len, key, n);
	s = in->n_items++;
	it = &in->items[s];
	it->h = h;
	it->key_off = (uint32_t)in->keys_len;
	it->key_len = (uint32_t)n;
	it->src_head = 0;
	it->kind = kind;
	in->keys_len += n;
	for (i = (uint32_t)h & in->mask; in->slots[i]; i = (i + 1) & in->mask)
		;
	in->slots[i] = s;
	*added = true;
	return s;
}

static void mask_addr(struct mt_addr *a, unsigned plen)
{
	for (unsigned i = 0; i < 16; i++) {
		unsigned bits = plen > i * 8 ? plen - i * 8 : 0;

		if (bits < 8)
			a->b[i] &= (uint8_t)(0xff00 >> bits);
	}
}

/* "10.0.0.0/8" -> network and prefix length in v6 terms. */
static int parse_subnet(const char *s, size_t n, uint8_t key[17])
{
	char buf[64];
	const char *slash;
	struct mt_addr a;
	unsigned plen = 0;
	size_t i;
	bool v6;

	if (n >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, n);
	buf[n] = 0;
	slash = strchr(buf, '/');
	if (!slash || !slash[1] || strlen(slash + 1) > 3)
		return -EINVAL;
	for (i = 1; slash[i]; i++) {
		if (slash[i] < '0' || slash[i] > '9')
			return -EINVAL;
		plen = plen * 10 + (unsigned)(slash[i] - '0');
	}
	buf[slash - buf] = 0;
	if (mt_addr__parse(&a, buf))
		return -EINVAL;
	/* the prefix counts in the notation's bits: an IPv4 one in the v4-mapped range's last
	 * 32 (/8 is 104), an IPv6 one as written, ::ffff:0:0/96 too (Zeek's subnets) */
	v6 = strchr(buf, ':') != NULL;
	if (plen > (v6 ? 128u : 32u))
		return -EINVAL;
	if (!v6)
		plen += 96;
	mask_addr(&a, plen);
	memcpy(key, a.b, 16);
	key[16] = (uint8_t)plen;
	return 0;
}

static uint32_t meta_bits(const struct intel_meta *m)
{
	uint32_t wl = m && m->whitelist ? LINK_WHITELIST : 0;

	if (!m || !m->do_notice)
		return wl;
	if (m->if_in < 0 || m->if_in >= INTEL_NWHERE)
		return wl | ((1u << INTEL_NWHERE) - 1); /* Intel::IN_ANYWHERE */
	return wl | 1u << m->if_in;
}

static int add_source(struct intel_db *in, uint32_t item, uint32_t src, const struct intel_meta *m)
{
	for (uint32_t l = in->items[item].src_head; l; l = in->links[l - 1].next)
		if (in->links[l - 1].src == src) {
			/* meta_tbl[meta$source] = meta: one per source, the last wins */
			in->links[l - 1].meta = meta_bits(m);
			return 0;
		}
	if (in->n_links == in->cap_links) {
		uint32_t cap = in->cap_links ? in->cap_links * 2 : 256;
		struct link *nl = realloc(in->links, (size_t)cap * sizeof(*nl));

		if (!nl)
			return -ENOMEM;
		in->links = nl;
		in->cap_links = cap;
	}
	in->links[in->n_links] = (struct link){
	    .src = src, .next = in->items[item].src_head, .meta = meta_bits(m)};
	in->items[item].src_head = ++in->n_links;
	return 0;
}

static int db_insert(struct intel_db *in, enum intel_type t, const char *ind, size_t n,
		     const char *source, size_t source_len, const struct intel_meta *m)
{
	uint8_t key[17], *lower = NULL;
	const void *k;
	size_t kn;
	uint32_t item, src;
	bool added, src_added;
	int err = 0;

	if ((unsigned)t >= INTEL_NTYPES || !n || !source_len)
		return -EINVAL;
	if (n > in->lim.max_indicator || source_len > in->lim.max_indicator)
		return -E2BIG;
	if (t == INTEL_ADDR) {
		char buf[64];
		struct mt_addr a;

		if (n >= sizeof(buf))
			return -EINVAL;
		memcpy(buf, ind, n);
		buf[n] = 0;
		if (mt_addr__parse(&a, buf))
			return -EINVAL;
		memcpy(key, a.b, 16);
		k = key;
		kn = 16;
	} else if (t == INTEL_SUBNET) {
		if (parse_subnet(ind, n, key))
			return -EINVAL;
		k = key;
		kn = 17;
	} else {
		lower = malloc(n);
		if (!lower)
			return -ENOMEM;
		for (size_t i = 0; i < n; i++)
			lower[i] = (uint8_t)ascii_lower((uint8_t)ind[i]);
		k = lower;
		kn = n;
	}
	item = lookup(in, (uint8_t)t, k, kn, key_hash((uint8_t)t, k, kn));
	if (!item && in->n_indicators >= in->lim.max_items) {
		free(lower);
		atomic_fetch_add_explicit(&st_dropped, 1, memory_order_relaxed);
		return -ENOSPC;
	}
	src = intern(in, KIND_SOURCE, source, source_len, &src_added);
	if (src)
		item = intern(in, (uint8_t)t, k, kn, &added);
	free(lower);
	if (!src || !item)
		return -ENOMEM;
	if (added) {
		in->n_indicators++;
		in->types |= 1u << t;
		if (t == INTEL_SUBNET)
			in->prefixes[key[16]] = 1;
		atomic_fetch_add_explicit(&st_items, 1, memory_order_relaxed);
	}
	err = add_source(in, item, src, m);
	return err;
}

static void hit_add(const struct intel_db *in, struct intel_hit *h, uint32_t item)
{
	const struct item *it = &in->items[item];

	h->types |= 1u << it->kind;
	for (uint32_t l = it->src_head; l; l = in->links[l - 1].next) {
		const struct item *s = &in->items[in->links[l - 1].src];

		uint32_t nw = in->links[l - 1].meta;
		const char *name = in->keys + s->key_off;

		h->notice_where |= nw & ~LINK_WHITELIST;
		h->whitelisted |= !!(nw & LINK_WHITELIST);
		uint32_t j;

		for (j = 0; j < h->n_sources; j++)
			if (h->sources[j] == name)
				break;
		if (j == h->n_sources && h->n_sources < INTEL_HIT_MAX_SOURCES) {
			h->sources[h->n_sources] = name;
			h->source_len[h->n_sources++] = s->key_len;
		}
	}
}

static bool db_find(const struct intel_db *in, enum intel_type t, const char *s, size_t n,
		    struct intel_hit *h)
{
	uint8_t buf[512], *lower = buf;
	uint32_t item;

	memset(h, 0, sizeof(*h) - sizeof(h->sources) - sizeof(h->source_len));
	if (!(in->types & (1u << t)) || n > in->lim.max_indicator)
		return false;
	atomic_fetch_add_explicit(&st_lookups, 1, memory_order_relaxed);
	if (n > sizeof(buf) && !(lower = malloc(n)))
		return false;
	for (size_t i = 0; i < n; i++)
		lower[i] = (uint8_t)ascii_lower((uint8_t)s[i]);
	item = lookup(in, (uint8_t)t, lower, n, key_hash((uint8_t)t, lower, n));
	if (lower != buf)
		free(lower);
	if (item)
		hit_add(in, h, item);
	return item != 0;
}

static bool db_find_addr(const struct intel_db *in, const struct mt_addr *a, struct intel_hit *h)
{
	uint32_t item;

	memset(h, 0, sizeof(*h) - sizeof(h->sources) - sizeof(h->source_len));
	if (!(in->types & ((1u << INTEL_ADDR) | (1u << INTEL_SUBNET))))
		return false;
	atomic_fetch_add_explicit(&st_lookups, 1, memory_order_relaxed);
	if (in->types & (1u << INTEL_ADDR)) {
		item = lookup(in, INTEL_ADDR, a->b, 16, key_hash(INTEL_ADDR, a->b, 16));
		if (item)
			hit_add(in, h, item);
	}
	if (in->types & (1u << INTEL_SUBNET)) {
		/* every prefix: an IPv4 address is ::ffff:a.b.c.d, which ::/0 holds too */
		for (unsigned p = 0; p <= 128; p++) {
			uint8_t key[17];
			struct mt_addr m = *a;

			if (!in->prefixes[p])
				continue;
			mask_addr(&m, p);
			memcpy(key, m.b, 16);
			key[16] = (uint8_t)p;
			item = lookup(in, INTEL_SUBNET, key, 17, key_hash(INTEL_SUBNET, key, 17));
			if (item)
				hit_add(in, h, item);
		}
	}
	return h->types != 0;
}

/* ---- the intel record ---- */

/* do_notice.zeek: Intel::Notice, its identifier the indicator and the connection's two
 * addresses, the lower first (without a connection none: never suppressed). */
static void intel_notice(struct rec *r, const struct intel_seen *w, const char *ind, size_t n)
{
	static const char pre[] = "Intel hit on ", at[] = " at ";
	const char *where = intel_where__name(w->where);
	size_t wl = strlen(where), ml = sizeof(pre) - 1 + n + sizeof(at) - 1 + wl;
	struct notice_info nt = {.ts_ns = w->ts_ns,
				 .note = "Intel::Notice",
				 .sub = n ? ind : "", /* $sub=s$indicator, whole */
				 .sub_len = n,
				 .uid = w->uid,
				 .id = w->uid ? w->id : NULL};
	/* the message and the identifier whole, as Zeek's fmt and cat make them (the record
	 * cuts only at the logging limit): an indicator may be as long as --intel-max-indicator */
	char *buf = malloc(ml + n + 2 * 64), *msg = buf, *id;
	size_t k;

	if (!buf)
		return; /* no memory: no notice */
	memcpy(msg, pre, sizeof(pre) - 1);
	memcpy(msg + sizeof(pre) - 1, ind, n);
	memcpy(msg + sizeof(pre) - 1 + n, at, sizeof(at) - 1);
	memcpy(msg + ml - wl, where, wl);
	nt.msg = msg;
	nt.msg_len = ml;
	if (nt.id) {
		const struct mt_addr *lo = &nt.id->orig_h, *hi = &nt.id->resp_h;

		if (memcmp(lo->b, hi->b, 16) >= 0) {
			lo = &nt.id->resp_h;
			hi = &nt.id->orig_h;
		}
		/* cat(s$indicator, lower address, higher address) */
		id = buf + ml;
		memcpy(id, ind, n);
		k = n + mt_addr__fmt(lo, id + n, 64);
		k += mt_addr__fmt(hi, id + k, 64);
		nt.identifier = id;
		nt.identifier_len = k;
	}
	notice__raise(r, &nt);
	free(buf);
}

static void write_record(struct rec *r, const struct intel_seen *w, const char *ind, size_t n,
			 enum intel_type t, const struct intel_hit *h)
{
	uint32_t order[INTEL_HIT_MAX_SOURCES];

	rec__begin(r, "intel", w->ts_ns);
	if (w->uid)
		rec__conn(r, w->uid, w->id);
	rec__str(r, "seen.indicator", ind, n);
	rec__cstr(r, "seen.indicator_type", intel_type__name(t));
	rec__cstr(r, "seen.where", intel_where__name(w->where));
	rec__cstr(r, "seen.node", rec__node());
	rec__arr_begin(r, "matched");
	for (int k = 0; k < INTEL_NTYPES; k++)
		if (h->types & (1u << k))
			rec__arr_cstr(r, intel_type__name(k));
	rec__arr_end(r);
	/* a set[string]: sorted, so that runs compare */
	for (uint32_t i = 0; i < h->n_sources; i++) {
		uint32_t j = i;

		while (j > 0) {
			uint32_t a = order[j - 1];
			size_t la = h->source_len[a], lb = h->source_len[i];
			int c = memcmp(h->sources[a], h->sources[i], la < lb ? la : lb);

			if (c < 0 || (c == 0 && la <= lb))
				break;
			order[j] = a;
			j--;
		}
		order[j] = i;
	}
	rec__arr_begin(r, "sources");
	for (uint32_t i = 0; i < h->n_sources; i++)
		rec__arr_str(r, h->sources[order[i]], h->source_len[order[i]]);
	rec__arr_end(r);
	rec__cstr(r, "fuid", w->fuid);
	rec__cstr(r, "file_mime_type", w->file_mime_type);
	rec__cstr(r, "file_desc", w->file_desc);
	rec__end(r);
	atomic_fetch_add_explicit(&st_matches, 1, memory_order_relaxed);
}

/* Intel::match: the record (Intel::LOG) unless whitelist.zeek's extend_match hook breaks for
 * a whitelisted item, and do_notice.zeek's notice, an event handler of its own that a
 * whitelisted item does not stop. */
static void write_hit(struct rec *r, const struct intel_seen *w, const char *ind, size_t n,
		      enum intel_type t, const struct intel_hit *h)
{
	if (h->whitelisted)
		atomic_fetch_add_explicit(&st_whitelisted, 1, memory_order_relaxed);
	else
		write_record(r, w, ind, n, t, h);
	if (h->notice_where & (1u << w->where))
		intel_notice(r, w, ind, n);
}

/* ---- the handle: the store in use, replaced whole by intel__replace ---- */

struct intel {
	pthread_rwlock_t lock; /* read: a lookup and its record; write: intel__replace */
	struct intel_db *db;
	_Atomic uint32_t types; /* the store's, read without the lock (intel__has) */
	_Atomic uint64_t gen;	/* intel__replace count */
};

static void rdlock(const struct intel *in)
{
	pthread_rwlock_rdlock((pthread_rwlock_t *)&in->lock);
}

static void unlock(const struct intel *in)
{
	pthread_rwlock_unlock((pthread_rwlock_t *)&in->lock);
}

struct intel *intel__new(const struct intel_limits *l)
{
	struct intel *in = calloc(1, sizeof(*in));
	pthread_rwlockattr_t at;

	if (!in || !(in->db = db_new(l))) {
		free(in);
		errno = ENOMEM;
		return NULL;
	}
	/* a replacement waits for the lookups under way, not for every later one */
	pthread_rwlockattr_init(&at);
	pthread_rwlockattr_setkind_np(&at, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&in->lock, &at);
	pthread_rwlockattr_destroy(&at);
	return in;
}

void intel__free(struct intel *in)
{
	if (!in)
		return;
	db_free(in->db);
	pthread_rwlock_destroy(&in->lock);
	free(in);
}

bool intel__has(const struct intel *in, enum intel_type t)
{
	return in && (atomic_load_explicit(&in->types, memory_order_relaxed) & (1u << t));
}

bool intel__has_addr(const struct intel *in)
{
	return in && (atomic_load_explicit(&in->types, memory_order_relaxed) &
		      ((1u << INTEL_ADDR) | (1u << INTEL_SUBNET)));
}

uint64_t intel__items(const struct intel *in)
{
	uint64_t n;

	if (!in)
		return 0;
	rdlock(in);
	n = in->db->n_indicators;
	unlock(in);
	return n;
}

uint64_t intel__generation(const struct intel *in)
{
	return in ? atomic_load_explicit(&in->gen, memory_order_acquire) : 0;
}

int intel__insert(struct intel *in, enum intel_type t, const char *ind, size_t n,
		  const char *source, size_t source_len)
{
	return intel__insert_meta(in, t, ind, n, source, source_len, NULL);
}

int intel__insert_meta(struct intel *in, enum intel_type t, const char *ind, size_t n,
		       const char *source, size_t source_len, const struct intel_meta *m)
{
	int err = db_insert(in->db, t, ind, n, source, source_len, m);

	atomic_store_explicit(&in->types, in->db->types, memory_order_relaxed);
	return err;
}

bool intel__find(const struct intel *in, enum intel_type t, const char *s, size_t n,
		 struct intel_hit *h)
{
	bool found;

	if (!intel__has(in, t)) {
		memset(h, 0, sizeof(*h) - sizeof(h->sources) - sizeof(h->source_len));
		return false;
	}
	rdlock(in);
	found = db_find(in->db, t, s, n, h);
	unlock(in);
	return found;
}

bool intel__find_addr(const struct intel *in, const struct mt_addr *a, struct intel_hit *h)
{
	bool found;

	if (!intel__has_addr(in)) {
		memset(h, 0, sizeof(*h) - sizeof(h->sources) - sizeof(h->source_len));
		return false;
	}
	rdlock(in);
	found = db_find_addr(in->db, a, h);
	unlock(in);
	return found;
}

bool intel__seen(const struct intel *in, struct rec *r, const struct intel_seen *w,
		 enum intel_type t, const char *s, size_t n)
{
	struct intel_hit h;
	bool found;

	if (!intel__has(in, t))
		return false;
	rdlock(in); /* the hit's sources are the store's until the record is written */
	found = db_find(in->db, t, s, n, &h);
	if (found && r)
		write_hit(r, w, s, n, t, &h);
	unlock(in);
	return found;
}

bool intel__seen_addr(const struct intel *in, struct rec *r, const struct intel_seen *w,
		      const struct mt_addr *a)
{
	struct intel_hit h;
	char buf[64];
	size_t n;
	bool found;

	if (!intel__has_addr(in))
		return false;
	rdlock(in);
	found = db_find_addr(in->db, a, &h);
	if (found && r) {
		n = mt_addr__fmt(a, buf, sizeof(buf));
		write_hit(r, w, buf, n, INTEL_ADDR, &h);
	}
	unlock(in);
	return found;
}

void intel__replace(struct intel *in, struct intel *fresh)
{
	struct intel_db *old;

	pthread_rwlock_wrlock(&in->lock);
	old = in->db;
	in->db = fresh->db;
	atomic_store_explicit(&in->types, in->db->types, memory_order_relaxed);
	atomic_fetch_add_explicit(&in->gen, 1, memory_order_release);
	pthread_rwlock_unlock(&in->lock);
	fresh->db = old;
	atomic_store_explicit(&fresh->types, old->types, memory_order_relaxed);
}

void intel__stats(struct intel_stats *o)
{
	o->items = atomic_load_explicit(&st_items, memory_order_relaxed);
	o->lines_skipped = atomic_load_explicit(&st_skipped, memory_order_relaxed);
	o->items_dropped = atomic_load_explicit(&st_dropped, memory_order_relaxed);
	o->lookups = atomic_load_explicit(&st_lookups, memory_order_relaxed);
	o->matches = atomic_load_explicit(&st_matches, memory_order_relaxed);
	o->whitelisted = atomic_load_explicit(&st_whitelisted, memory_order_relaxed);
	o->reloads = atomic_load_explicit(&st_reloads, memory_order_relaxed);
	o->reload_errors = atomic_load_explicit(&st_reload_errors, memory_order_relaxed);
}

/* ---- Zeek intel files (the input framework's ASCII reader) ---- */

/* Zeek's ASCII reader unescapes \xNN in string fields. In place; returns the new length. */
static size_t unescape(char *s, size_t n)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		if (s[i] == '\\' && i + 3 < n && s[i + 1] == 'x' && mt_hexval(s[i + 2]) >= 0 &&
		    mt_hexval(s[i + 3]) >= 0) {
			s[o++] = (char)(mt_hexval(s[i + 2]) * 16 + mt_hexval(s[i + 3]));
			i += 3;
		} else {
			s[o++] = s[i];
		}
	}
	return o;
}

struct loader {
	struct intel *in;
	const char *path;
	FILE *warn;
	unsigned long line;
	unsigned warned;
	char sep;
	int col_ind, col_type, col_src, col_notice, col_ifin, col_wl, ncols;
};

static void bad_line(struct loader *L, const char *why)
{
	atomic_fetch_add_explicit(&st_skipped, 1, memory_order_relaxed);
	if (L->warn && L->warned++ < WARN_LINES)
		fprintf(L->warn, "mailtap: intel %s:%lu: %s, line skipped\n", L->path, L->line,
			why);
}

/* Splits s[0..n) at sep into at most max fields. */
static int split(char *s, size_t n, char sep, char **f, size_t *fl, int max)
{
	int k = 0;
	size_t start = 0;

	for (size_t i = 0; i <= n && k < max; i++)
		if (i == n || s[i] == sep) {
			f[k] = s + start;
			fl[k++] = i - start;
			start = i + 1;
		}
	return k;
}

#define MAX_COLS 64

static int header(struct loader *L, char *s, size_t n, char *err, size_t errlen)
{
	char *f[MAX_COLS];
	size_t fl[MAX_COLS];
	int k;

	if (n > 10 && !memcmp(s, "#separator", 10)) {
		const char *v = s + 10;
		size_t vn = n - 10;

		while (vn && (*v == ' ' || *v == '\t'))
			v++, vn--;
		if (vn == 4 && v[0] == '\\' && v[1] == 'x' && mt_hexval(v[2]) >= 0 &&
		    mt_hexval(v[3]) >= 0)
			L->sep = (char)(mt_hexval(v[2]) * 16 + mt_hexval(v[3]));
		else if (vn == 1)
			L->sep = v[0];
		return 0;
	}
	if (n < 7 || memcmp(s, "#fields", 7) || (n > 7 && s[7] != L->sep))
		return 0; /* a comment, #types, #set_separator, ... */
	k = split(s, n, L->sep, f, fl, MAX_COLS);
	L->col_ind = L->col_type = L->col_src = L->col_notice = L->col_ifin = L->col_wl = -1;
	for (int i = 1; i < k; i++) {
		if (fl[i] == 9 && !memcmp(f[i], "indicator", 9))
			L->col_ind = i - 1;
		else if (fl[i] == 14 && !memcmp(f[i], "indicator_type", 14))
			L->col_type = i - 1;
		else if (fl[i] == 11 && !memcmp(f[i], "meta.source", 11))
			L->col_src = i - 1;
		else if (fl[i] == 14 && !memcmp(f[i], "meta.do_notice", 14))
			L->col_notice = i - 1;
		else if (fl[i] == 10 && !memcmp(f[i], "meta.if_in", 10))
			L->col_ifin = i - 1;
		else if (fl[i] == 14 && !memcmp(f[i], "meta.whitelist", 14))
			L->col_wl = i - 1;
	}
	L->ncols = k - 1;
	if (L->col_ind < 0 || L->col_type < 0 || L->col_src < 0) {
		snprintf(err, errlen,
			 "intel %s:%lu: the #fields line lacks indicator, indicator_type or "
			 "meta.source",
			 L->path, L->line);
		return -EINVAL;
	}
	return 0;
}

static bool unset(const char *s, size_t n)
{
	return n == 0 || (n == 1 && s[0] == '-') || (n == 7 && !memcmp(s, "(empty)", 7));
}

/* A bool field as Zeek's ASCII formatter reads it (threading/formatters/Ascii.cc ParseValue,
 * TYPE_BOOL): "-" exactly is unset (-2); else without the blanks around it "T" or "1" is
 * true, "F" or "0" false, anything else (an empty field too) -1: the line is skipped. */
static int parse_bool(const char *s, size_t n)
{
	if (n == 1 && s[0] == '-')
		return -2;
	while (n && isspace((unsigned char)*s))
		s++, n--;
	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	if (n != 1)
		return -1;
	return s[0] == 'T' || s[0] == '1' ? 1 : s[0] == 'F' || s[0] == '0' ? 0 : -1;
}

/* A bool meta column (col < 0: not in the file; unset: false) into *out. False: the line is
 * skipped (bad, named by msg). */
static bool meta_bool(struct loader *L, char *const *f, const size_t *fl, int k, int col,
		      const char *msg, bool *out)
{
	int b;

	if (col < 0 || col >= k)
		return true;
	b = parse_bool(f[col], fl[col]);
	if (b == -1) {
		bad_line(L, msg);
		return false;
	}
	*out = b == 1;
	return true;
}

static int data_line(struct loader *L, char *s, size_t n)
{
	char *f[MAX_COLS];
	size_t fl[MAX_COLS];
	int k = split(s, n, L->sep, f, fl, MAX_COLS), t, err;
	struct intel_meta meta = {.do_notice = false, .whitelist = false, .if_in = INTEL_NWHERE};
	int need = L->col_ind;

	if (L->col_type > need)
		need = L->col_type;
	if (L->col_src > need)
		need = L->col_src;
	if (k <= need) {
		bad_line(L, "not enough fields");
		return 0;
	}
	if (unset(f[L->col_ind], fl[L->col_ind])) {
		bad_line(L, "no indicator");
		return 0;
	}
	if (unset(f[L->col_src], fl[L->col_src])) {
		bad_line(L, "no meta.source");
		return 0;
	}
	t = intel_type__parse(f[L->col_type], fl[L->col_type]);
	if (t < 0) {
		bool bare = false;

		for (int i = 0; i < INTEL_NTYPES && !bare; i++)
			bare = strlen(type_names[i] + 7) == fl[L->col_type] &&
			       !memcmp(type_names[i] + 7, f[L->col_type], fl[L->col_type]);
		bad_line(L, bare ? "indicator_type without its module (Intel::ADDR, Intel::EMAIL, "
				   "...: Zeek knows no other enum names)"
				 : "unknown indicator_type");
		return 0;
	}
	if (!meta_bool(L, f, fl, k, L->col_notice, "meta.do_notice is not T, F, 1 or 0",
		       &meta.do_notice) ||
	    !meta_bool(L, f, fl, k, L->col_wl, "meta.whitelist is not T, F, 1 or 0",
		       &meta.whitelist))
		return 0;
	if (L->col_ifin >= 0 && L->col_ifin < k && !unset(f[L->col_ifin], fl[L->col_ifin])) {
		meta.if_in = intel_where__parse(f[L->col_ifin], fl[L->col_ifin]);
		if (meta.if_in < 0) {
			bad_line(L, "unknown meta.if_in");
			return 0;
		}
	}
	fl[L->col_ind] = unescape(f[L->col_ind], fl[L->col_ind]);
	fl[L->col_src] = unescape(f[L->col_src], fl[L->col_src]);
	err = intel__insert_meta(L->in, (enum intel_type)t, f[L->col_ind], fl[L->col_ind],
				 f[L->col_src], fl[L->col_src], &meta);
	switch (err) {
	case 0:
		return 1;
	case -EINVAL:
		bad_line(L, t == INTEL_ADDR	? "bad address"
			    : t == INTEL_SUBNET ? "bad subnet"
						: "bad indicator");
		return 0;
	case -E2BIG:
		bad_line(L, "indicator longer than --intel-max-indicator");
		return 0;
	case -ENOSPC:
		bad_line(L, "--intel-max-items reached");
		return 0;
	default:
		return err;
	}
}

long intel__load_file(struct intel *in, const char *path, bool streams, FILE *warn, char *err,
		      size_t errlen)
{
	/* O_NONBLOCK: a FIFO without a writer would block the open, and a rereading's loader
	 * with it, which shutdown joins (intel_reread__free); so rereading reads only a
	 * regular file (a FIFO, a device or a directory is refused before any read). At start
	 * (streams) a FIFO or character device is opened as such and waited for. */
	struct stat sb;
	int fd = streams && stat(path, &sb) == 0 && (S_ISFIFO(sb.st_mode) || S_ISCHR(sb.st_mode))
			 ? open(path, O_RDONLY | O_CLOEXEC)
			 : open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	FILE *fp;
	long n;

	if (fd < 0) {
		int e = errno;

		snprintf(err, errlen, "intel: cannot open %s: %s", path, strerror(e));
		return -e;
	}
	if (fstat(fd, &sb) < 0) {
		int e = errno;

		close(fd);
		snprintf(err, errlen, "intel: cannot stat %s: %s", path, strerror(e));
		return -e;
	}
	if (!S_ISREG(sb.st_mode) && !(streams && (S_ISFIFO(sb.st_mode) || S_ISCHR(sb.st_mode)))) {
		close(fd);
		snprintf(err, errlen, "intel: %s is a %s, not a regular file: not read", path,
			 S_ISFIFO(sb.st_mode)	? "FIFO"
			 : S_ISDIR(sb.st_mode)	? "directory"
			 : S_ISSOCK(sb.st_mode) ? "socket"
						: "device");
		return -EINVAL;
	}
	/* a regular file never blocks (a stream at start was opened blocking): the flag is
	 * dropped for the stdio reads */
	(void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	fp = fdopen(fd, "r");
	if (!fp) {
		int e = errno;

		close(fd);
		snprintf(err, errlen, "intel: cannot read %s: %s", path, strerror(e));
		return -e;
	}
	n = intel__load_fp(in, fp, path, warn, err, errlen);
	fclose(fp);
	return n;
}

long intel__load_fp(struct intel *in, FILE *fp, const char *path, FILE *warn, char *err,
		    size_t errlen)
{
	struct loader L = {.in = in, .path = path, .warn = warn, .sep = '\t', .col_ind = -1};
	size_t cap = (size_t)in->db->lim.max_line + 2, n;
	char *buf;
	long added = 0;
	int rc = 0, ch;

	buf = malloc(cap);
	if (!buf) {
		snprintf(err, errlen, "intel: out of memory reading %s", path);
		return -ENOMEM;
	}
	for (;;) {
		bool too_long = false;

		n = 0;
		while ((ch = getc(fp)) != EOF && ch != '\n') {
			if (n < cap - 1)
				buf[n++] = (char)ch;
			else
				too_long = true;
		}
		if (ch == EOF && n == 0 && !too_long)
			break;
		L.line++;
		if (n && buf[n - 1] == '\r')
			n--;
		buf[n] = 0;
		if (L.line == 1 && n >= 3 && !memcmp(buf, "\xef\xbb\xbf", 3)) {
			/* Zeek's reader skips no byte order mark: it would take the line for
			 * the field names (it does not start with '#'), one column off, and
			 * no line after would give an item */
			snprintf(err, errlen,
				 "intel %s:1: the file starts with a UTF-8 byte order mark (an "
				 "editor's); Zeek's reader does not skip one: save it without",
				 path);
			rc = -EINVAL;
			break;
		}
		if (too_long) {
			bad_line(&L, "line longer than --intel-max-line");
		} else if (n && buf[0] == '#') {
			rc = header(&L, buf, n, err, errlen);
			if (rc)
				break;
		} else if (n) {
			if (L.col_ind < 0) {
				snprintf(err, errlen, "intel %s:%lu: data before the #fields line",
					 path, L.line);
				rc = -EINVAL;
				break;
			}
			rc = data_line(&L, buf, n);
			if (rc < 0) {
				snprintf(err, errlen, "intel %s:%lu: %s", path, L.line,
					 strerror(-rc));
				break;
			}
			added += rc;
			rc = 0;
		}
		if (ch == EOF)
			break;
	}
	if (!rc && ferror(fp)) {
		rc = -EIO;
		snprintf(err, errlen, "intel: error reading %s: %s", path, strerror(errno));
	}
	if (!rc && L.col_ind < 0) {
		rc = -EINVAL;
		snprintf(err, errlen, "intel %s: no #fields line", path);
	}
	if (warn && L.warned > WARN_LINES)
		fprintf(warn, "mailtap: intel %s: %u more lines skipped\n", path,
			L.warned - WARN_LINES);
	free(buf);
	return rc ? rc : added;
}

long intel__reload(struct intel *in, const char *const *paths, int n, FILE *warn, char *err,
		   size_t errlen)
{
	/* the limits never change, and only one thread replaces the store */
	struct intel *fresh = intel__new(&in->db->lim);
	long total = 0;

	if (!fresh) {
		snprintf(err, errlen, "intel: out of memory for a new store");
		atomic_fetch_add_explicit(&st_reload_errors, 1, memory_order_relaxed);
		return -ENOMEM;
	}
	for (int i = 0; i < n; i++) {
		long k = intel__load_file(fresh, paths[i], false, warn, err, errlen);

		if (k < 0) {
			intel__free(fresh);
			atomic_fetch_add_explicit(&st_reload_errors, 1, memory_order_relaxed);
			return k;
		}
		total += k;
	}
	intel__replace(in, fresh);
	atomic_fetch_add_explicit(&st_reloads, 1, memory_order_relaxed);
	intel__free(fresh); /* the store it replaced */
	return total;
}
