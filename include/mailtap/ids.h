/* SPDX-License-Identifier: BSD-3-Clause */
/* Zeek-style unique ids: a letter ('C' connections, 'F' files) and base62 of 96 random bits.
 * Seeded (--seed N) generators give the same sequence on every run, for tests. */
#ifndef MAILTAP_IDS_H
#define MAILTAP_IDS_H

#include <stdint.h>
#include "mailtap/types.h"

struct mt_ids {
	uint64_t s[4]; /* xoshiro256** state */
};

/* seeded: deterministic sequence from seed; otherwise seeded from getrandom(). */
void mt_ids__init(struct mt_ids *g, int seeded, uint64_t seed);
uint64_t mt_ids__next(struct mt_ids *g);
/* Writes prefix + base62(96 random bits) + NUL into out[MT_UID_LEN]. Returns the length. */
int mt_ids__make(struct mt_ids *g, char prefix, char out[MT_UID_LEN]);
/* 16 bytes as base64 (24 chars, "==" padded, + NUL): Forward chunk ids. */
void mt_ids__b64_16(const uint8_t in[16], char out[25]);

#endif
