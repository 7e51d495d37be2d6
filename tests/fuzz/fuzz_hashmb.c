// SPDX-License-Identifier: BSD-3-Clause
/* libFuzzer target for hashmb.c, differential: the input schedules up to 40 streams of one
 * pool (which algorithms each computes, pieces of which sizes arrive in which order, which
 * streams end early or are abandoned) and the pool's kernels (32, 16 or 8 lanes, the AVX2
 * ones or not, SHA-1 in vector lanes or not, SHA-NI or not). Every digest must equal OpenSSL's over the same bytes,
 * and the pool must be empty at the end. The bytes themselves are pseudo-random (an LCG of the
 * stream and offset): the schedule is what reaches the pass logic. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include "mailtap/hashmb.h"

#define NS 40
#define MAXLEN 40000

struct stream {
	struct hashmb h;
	uint8_t data[MAXLEN];
	size_t len;
	bool open;
};

static struct stream st[NS];

static void fill(struct stream *s, int k, size_t n)
{
	uint32_t x = (uint32_t)k * 2654435761u + (uint32_t)s->len * 40503u + 1;

	for (size_t i = 0; i < n; i++) {
		x = x * 1103515245 + 12345;
		s->data[s->len + i] = (uint8_t)(x >> 16);
	}
	s->len += n;
}

static void check(struct stream *s)
{
	uint8_t m5[16], s1[20], w[20];
	unsigned wl = 0;
	unsigned algs = s->h.algs;

	if (!hashmb_final(&s->h, m5, s1))
		abort(); /* only allocation failures give no digest */
	if (algs & HASHMB_MD5) {
		EVP_Digest(s->data, s->len, w, &wl, EVP_md5(), NULL);
		if (memcmp(m5, w, 16))
			abort();
	}
	if (algs & HASHMB_SHA1) {
		EVP_Digest(s->data, s->len, w, &wl, EVP_sha1(), NULL);
		if (memcmp(s1, w, 20))
			abort();
	}
	s->open = false;
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t size)
{
	static const int lanes[4] = {32, 16, 8, 32};
	struct hashmb_pool pool;
	size_t off = 2;
	int n;

	if (size < 2)
		return 0;
	hashmb_pool_init(&pool);
	hashmb_pool_set_multi(&pool, !(d[0] & 0x80));
	hashmb_pool_set_avx2(&pool, d[0] & 0x10);      /* false when the CPU cannot: its own */
	hashmb_pool_set_lanes(&pool, lanes[d[0] & 3]); /* the same */
	hashmb_pool_set_sha_wide(&pool, !(d[0] & 4));
	hashmb_pool_set_sha_ni(&pool, !(d[0] & 8));
	n = 1 + d[1] % NS;
	for (int k = 0; k < n; k++) {
		unsigned algs = (unsigned)(k % 3) + 1; /* MD5, SHA-1, both */

		hashmb_init(&st[k].h, &pool, algs);
		st[k].len = 0;
		st[k].open = true;
	}
	/* each step: 3 bytes, a stream and a piece size; a top bit ends (or abandons) it */
	while (off + 3 <= size) {
		int k = d[off] % n;
		size_t piece = ((size_t)d[off + 1] << 8 | d[off + 2]) % 9000;
		struct stream *s = &st[k];

		off += 3;
		if (!s->open)
			continue;
		if (piece > MAXLEN - s->len)
			piece = MAXLEN - s->len;
		fill(s, k, piece);
		hashmb_update(&s->h, s->data + s->len - piece, piece);
		if (d[off - 3] & 0x80) {
			if (d[off - 2] & 0x80) {
				hashmb_abandon(&s->h);
				s->open = false;
			} else {
				check(s);
			}
		}
	}
	for (int k = 0; k < n; k++)
		if (st[k].open)
			check(&st[k]);
	if (pool.pending || pool.alloc || pool.nready)
		abort();
	return 0;
}
