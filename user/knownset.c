// SPDX-License-Identifier: BSD-3-Clause
/* A set of keys with a creation-time expiry (Zeek's &create_expire): a chained hash table and
 * a list in creation order, whose head expires or is evicted first. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include "mailtap/bits.h"
#include "mailtap/knownset.h"
#include "mailtap/optlock.h"

struct key {
	uint8_t k[KNOWNSET_KEY_MAX];
	uint8_t len;
	uint8_t dead;  /* expired, out of the table, still in the creation list (find()) */
	uint32_t bits; /* knownset__add_bits (dead and bits: in what was padding) */
	uint64_t created;
	struct key *hnext, *newer;
	uint64_t value[]; /* value_size bytes, 8-aligned */
};

struct knownset {
	struct key **buckets;
	size_t mask, n;
	struct key *oldest, *newest;
	uint32_t max_keys;
	size_t dead; /* buried keys in the list: n counts them (the bound holds their memory) */
	uint64_t expire_ns, seed, evicted;
	size_t value_size;
	pthread_mutex_t *mu; /* knownset__share: shared by threads */
};

static inline void lock(const struct knownset *s)
{
	mt_optlock__lock(s->mu);
}

static inline void unlock(const struct knownset *s)
{
	mt_optlock__unlock(s->mu);
}

int knownset__share(struct knownset *s)
{
	return mt_optlock__share(&s->mu);
}

struct knownset *knownset__new(uint32_t max_keys, uint64_t expire_ns, size_t value_size)
{
	struct knownset *s = calloc(1, sizeof(*s));

	if (!s) {
		errno = ENOMEM;
		return NULL;
	}
	s->max_keys = max_keys ? max_keys : 1;
	s->expire_ns = expire_ns;
	s->value_size = value_size;
	s->mask = 255;
	s->buckets = calloc(s->mask + 1, sizeof(*s->buckets));
	if (!s->buckets) {
		free(s);
		errno = ENOMEM;
		return NULL;
	}
	if (getrandom(&s->seed, sizeof(s->seed), GRND_NONBLOCK) != sizeof(s->seed))
		s->seed = (uint64_t)(uintptr_t)s;
	return s;
}

void knownset__free(struct knownset *s)
{
	struct key *k, *next;

	if (!s)
		return;
	for (k = s->oldest; k; k = next) {
		next = k->newer;
		free(k);
	}
	mt_optlock__free(s->mu);
	free(s->buckets);
	free(s);
}

static struct key **slot_of(struct knownset *s, const uint8_t *k, size_t len)
{
	struct key **pp = &s->buckets[(size_t)mt_hash_bytes(s->seed, k, len) & s->mask];

	while (*pp && ((*pp)->len != len || memcmp((*pp)->k, k, len)))
		pp = &(*pp)->hnext;
	return pp;
}

/* Removes the oldest key. */
static void drop_oldest(struct knownset *s)
{
	struct key *k = s->oldest;

	if (k->dead) {
		s->dead--;
	} else {
		struct key **pp = slot_of(s, k->k, k->len);

		*pp = k->hnext;
	}
	s->oldest = k->newer;
	if (!s->oldest)
		s->newest = NULL;
	s->n--;
	free(k);
}

static void grow(struct knownset *s)
{
	size_t ncap = (s->mask + 1) * 2;
	struct key **nb = calloc(ncap, sizeof(*nb));

	if (!nb)
		return;
	free(s->buckets);
	s->buckets = nb;
	s->mask = ncap - 1;
	for (struct key *k = s->oldest; k; k = k->newer) {
		struct key **pp = &nb[(size_t)mt_hash_bytes(s->seed, k->k, k->len) & s->mask];

		if (k->dead)
			continue;
		k->hnext = *pp;
		*pp = k;
	}
}

static bool expired(const struct knownset *s, const struct key *k, uint64_t now)
{
	return now > k->created && now - k->created >= s->expire_ns;
}

/* Frees the expired keys from the oldest in creation order, and stops at the first one that
 * is not: with time going back (a packet out of order, a worker behind another) nothing
 * expires. The walk is only the memory's: a key made later than now (a packet stamped in the
 * future, a worker ahead) stops it, and the keys behind it, which Zeek expires each on its
 * own, are expired when they are looked up (find()); their memory waits for that key's
 * time, or for the bound, which forgets it first. O(1) amortised. */
static void expire(struct knownset *s, uint64_t now)
{
	while (s->oldest && (s->oldest->dead || expired(s, s->oldest, now)))
		drop_oldest(s);
}

/* The key's slot (*slot NULL: not there), after the walk; a key there whose time ran out
 * (behind one from the future) is taken out of the table as though the walk had freed it,
 * and stays in the list until it comes first (dead). */
static struct key **find(struct knownset *s, const void *key, size_t len, uint64_t now)
{
	struct key **pp, *k;

	expire(s, now);
	pp = slot_of(s, key, len);
	k = *pp;
	if (k && expired(s, k, now)) {
		*pp = k->hnext;
		k->dead = 1;
		s->dead++;
	}
	return pp;
}

bool knownset__contains(struct knownset *s, const void *key, size_t len, uint64_t now)
{
	bool in;

	if (len > KNOWNSET_KEY_MAX)
		len = KNOWNSET_KEY_MAX;
	lock(s);
	in = *find(s, key, len, now) != NULL;
	unlock(s);
	return in;
}

static struct key *get(struct knownset *s, const void *key, size_t len, uint64_t now, bool *is_new);

void *knownset__get(struct knownset *s, const void *key, size_t len, uint64_t now, bool *is_new)
{
	struct key *k;

	lock(s);
	k = get(s, key, len, now, is_new);
	unlock(s);
	return k ? k->value : NULL;
}

static struct key *get(struct knownset *s, const void *key, size_t len, uint64_t now, bool *is_new)
{
	struct key **pp, *k;

	if (len > KNOWNSET_KEY_MAX)
		len = KNOWNSET_KEY_MAX;
	pp = find(s, key, len, now);
	*is_new = !*pp;
	if (*pp)
		return *pp;
	if (s->n >= s->max_keys) {
		s->evicted += !s->oldest->dead;
		drop_oldest(s);
		pp = slot_of(s, key, len);
	}
	k = calloc(1, sizeof(*k) + s->value_size);
	if (!k)
		return NULL;
	memcpy(k->k, key, len);
	k->len = (uint8_t)len;
	k->created = now;
	k->hnext = *pp;
	*pp = k;
	if (s->newest)
		s->newest->newer = k;
	else
		s->oldest = k;
	s->newest = k;
	if (++s->n > s->mask + 1)
		grow(s);
	return k;
}

bool knownset__add(struct knownset *s, const void *key, size_t len, uint64_t now)
{
	bool is_new;

	/* out of memory: new (the record is written) */
	return !knownset__get(s, key, len, now, &is_new) || is_new;
}

uint32_t knownset__add_bits(struct knownset *s, const void *key, size_t len, uint64_t now,
			    uint32_t bits)
{
	struct key *k;
	uint32_t fresh;
	bool is_new;

	lock(s);
	k = get(s, key, len, now, &is_new);
	if (!k) {
		unlock(s);
		return bits; /* out of memory: all new (the record is written) */
	}
	fresh = bits & ~k->bits;
	k->bits |= bits;
	unlock(s);
	return fresh;
}

size_t knownset__count(const struct knownset *s)
{
	size_t n;

	if (!s)
		return 0;
	lock(s);
	n = s->n - s->dead;
	unlock(s);
	return n;
}

uint64_t knownset__evicted(const struct knownset *s)
{
	uint64_t n;

	if (!s)
		return 0;
	lock(s);
	n = s->evicted;
	unlock(s);
	return n;
}
