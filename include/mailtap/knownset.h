/* SPDX-License-Identifier: BSD-3-Clause */
/* A set of keys that each stay for a fixed time after they were added, as Zeek's
 * `set[...] &create_expire=...` (Known::certs and its kin): add() says whether the key is new,
 * so that a record is written once per key and interval. Bounded: at most max_keys, the oldest
 * forgotten first. One per worker (no locking). */
#ifndef MAILTAP_KNOWNSET_H
#define MAILTAP_KNOWNSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KNOWNSET_KEY_MAX 40

struct knownset;
/* NULL with errno set. */
struct knownset *knownset__new(uint32_t max_keys, uint64_t expire_ns);
void knownset__free(struct knownset *s);
/* Adds key (len <= KNOWNSET_KEY_MAX) at now_ns: true when it was not in the set (new, or its
 * time ran out); false when it is there. Out of memory: true (the record is written). */
bool knownset__add(struct knownset *s, const void *key, size_t len, uint64_t now_ns);
/* Is key in the set at now_ns (without adding it)? */
bool knownset__contains(struct knownset *s, const void *key, size_t len, uint64_t now_ns);
/* Keys forgotten before their time (max_keys). */
uint64_t knownset__evicted(const struct knownset *s);

#endif
