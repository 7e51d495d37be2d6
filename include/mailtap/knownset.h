/* SPDX-License-Identifier: BSD-3-Clause */
/* A set of keys that each stay for a fixed time after they were added, as Zeek's
 * `set[...] &create_expire=...` (Known::certs, Software::tracked): add() says whether the key
 * is new, so that a record is written once per key and interval; a key may carry a value of
 * a fixed size (get()) or a set of flags (add_bits()). Bounded: at most max_keys, the oldest
 * forgotten first. Each key expires on its own, at its creation time + expire_ns: time going
 * back expires nothing, and a key stamped in the future (a bogus packet time, a worker ahead
 * of another) holds back no other's expiry. One per worker (no locking) unless shared
 * (knownset__share). */
#ifndef MAILTAP_KNOWNSET_H
#define MAILTAP_KNOWNSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KNOWNSET_KEY_MAX 40

struct knownset;
/* value_size: bytes of zeroed value each key carries (0: none). NULL with errno set. */
struct knownset *knownset__new(uint32_t max_keys, uint64_t expire_ns, size_t value_size);
/* From now on every call takes the set's lock: one set for several threads. 0 or -ENOMEM. A
 * value knownset__get returned is then only safe while nothing else uses the set. */
int knownset__share(struct knownset *s);
void knownset__free(struct knownset *s);
/* Adds key (len <= KNOWNSET_KEY_MAX) at now_ns: true when it was not in the set (new, or its
 * time ran out); false when it is there. Out of memory: true (the record is written). */
bool knownset__add(struct knownset *s, const void *key, size_t len, uint64_t now_ns);
/* A key that carries a set of up to 32 flags, which expire with it as a whole (Zeek's
 * `table[...] of set[...] &create_expire=...`, as Known::services): adds key at now_ns if it
 * is not there (new, or its time ran out: no flags then) and sets `bits`. Returns the bits that
 * were not set before (0: all were). Out of memory: all of bits (the record is written). */
uint32_t knownset__add_bits(struct knownset *s, const void *key, size_t len, uint64_t now_ns,
			    uint32_t bits);
/* Is key in the set at now_ns (without adding it)? */
bool knownset__contains(struct knownset *s, const void *key, size_t len, uint64_t now_ns);
/* The value of key, added (zeroed) at now_ns if it was not there; *is_new says which. NULL:
 * out of memory. Valid until the next call. */
void *knownset__get(struct knownset *s, const void *key, size_t len, uint64_t now_ns, bool *is_new);
/* Keys in the set now. */
size_t knownset__count(const struct knownset *s);
/* Keys forgotten before their time (max_keys). */
uint64_t knownset__evicted(const struct knownset *s);

#endif
