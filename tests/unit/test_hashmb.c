// SPDX-License-Identifier: BSD-3-Clause
/* hashmb: RFC 1321's and FIPS 180's test vectors; many streams (MD5, SHA-1 or both) fed in
 * random pieces and random order, some abandoned, each digest equal to OpenSSL's of the same
 * bytes, with 32- and 16-stream (AVX-512F) and 16- and 8-stream (AVX2) MD5 passes and without,
 * SHA-1 three at a time (SHA-NI) and one by one; the pool's bounds under many unfinished
 * streams. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <cmocka.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include "mailtap/hashmb.h"
#include "alloc_fault.h"
#include "rand_fill.h"

static void hex(const uint8_t *d, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static void test_rfc1321(void **st)
{
	static const char *const v[][2] = {
	    {"", "d41d8cd98f00b204e9800998ecf8427e"},
	    {"a", "0cc175b9c0f1b6a831c399e269772661"},
	    {"abc", "900150983cd24fb0d6963f7d28e17f72"},
	    {"message digest", "f96b697d7cb7938d525a2f31aaf161d0"},
	    {"abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b"},
	    {"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
	     "d174ab98d277d9f5a5611c2c9f419d9f"},
	    {"12345678901234567890123456789012345678901234567890123456789012345678901234567890",
	     "57edf4a22be3c955ac49da2e2107b67a"},
	};
	struct hashmb_pool pool;
	struct hashmb s;
	uint8_t d[16];
	char h[33];

	(void)st;
	hashmb_pool_init(&pool);
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		hashmb_init(&s, i % 2 ? &pool : NULL, HASHMB_MD5);
		for (const char *p = v[i][0]; *p; p++) /* a byte at a time */
			hashmb_update(&s, p, 1);
		assert_true(hashmb_final(&s, d, NULL));
		hex(d, 16, h);
		assert_string_equal(h, v[i][1]);
	}
	assert_int_equal(pool.pending, 0);
	assert_int_equal(pool.alloc, 0);
}

/* FIPS 180-2 appendix A (and the million a's), with the pool and without, whole and in
 * pieces of 7 bytes. */
static void test_fips180(void **st)
{
	static const char *const v[][2] = {
	    {"", "da39a3ee5e6b4b0d3255bfef95601890afd80709"},
	    {"abc", "a9993e364706816aba3e25717850c26c9cd0d89d"},
	    {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
	     "84983e441c3bd26ebaae4aa1f95129e5e54670f1"},
	};
	static char million[1000000];
	struct hashmb_pool pool;
	struct hashmb s;
	uint8_t d[20];
	char h[41];

	(void)st;
	hashmb_pool_init(&pool);
	for (size_t i = 0; i < 2 * sizeof(v) / sizeof(v[0]); i++) {
		const char *m = v[i / 2][0];
		size_t n = strlen(m);

		hashmb_init(&s, i % 2 ? &pool : NULL, HASHMB_SHA1);
		for (size_t o = 0; o < n; o += 7)
			hashmb_update(&s, m + o, n - o < 7 ? n - o : 7);
		assert_true(hashmb_final(&s, NULL, d));
		hex(d, 20, h);
		assert_string_equal(h, v[i / 2][1]);
	}
	memset(million, 'a', sizeof(million));
	hashmb_init(&s, &pool, HASHMB_SHA1 | HASHMB_MD5);
	hashmb_update(&s, million, sizeof(million));
	assert_true(hashmb_final(&s, NULL, d));
	hex(d, 20, h);
	assert_string_equal(h, "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
	assert_int_equal(pool.pending, 0);
	assert_int_equal(pool.alloc, 0);
}

#define NS 40

/* The pool's passes with MD5 in two registers, and those whose SHA-1 went in vector lanes. */
struct runs {
	uint64_t wide, sha_lanes, finals;
};

static struct runs interleaved(int lanes, bool avx2, bool sha_ni, bool sha_wide, uint32_t seed)
{
	static uint8_t data[NS][60000];
	struct hashmb_pool pool;
	struct hashmb s[NS];
	size_t len[NS], off[NS];
	bool open[NS], abandon[NS];
	uint32_t x = seed;
	int left = NS;
	struct runs none = {0, 0, 0};

	hashmb_pool_init(&pool);
	hashmb_pool_set_multi(&pool, lanes > 0);
	if (lanes > 0 && !hashmb_pool_set_avx2(&pool, avx2)) {
		print_message("no %s on this CPU\n", avx2 ? "AVX2" : "AVX-512F");
		return none;
	}
	if (lanes > 0 && !hashmb_pool_set_lanes(&pool, lanes)) {
		print_message("%d lanes (%s) not available on this CPU\n", lanes,
			      avx2 ? "AVX2" : "AVX-512F");
		return none;
	}
	if (!hashmb_pool_set_sha_ni(&pool, sha_ni)) {
		print_message("no SHA extensions on this CPU\n");
		return none;
	}
	if (!hashmb_pool_set_sha_wide(&pool, sha_wide)) {
		print_message("no AVX-512BW on this CPU\n");
		return none;
	}
	for (int i = 0; i < NS; i++) {
		x = x * 1103515245 + 12345;
		len[i] = (x >> 8) % sizeof(data[i]);
		if (i % 7 == 0)
			len[i] = (x >> 8) % 130; /* small ones around the block size */
		for (size_t k = 0; k < len[i]; k++)
			data[i][k] = (uint8_t)(k * 31 + (size_t)i * 7 + seed);
		off[i] = 0;
		open[i] = true;
		abandon[i] = i % 11 == 5;
		/* both, MD5 only, SHA-1 only: one pool, passes of mixed streams */
		hashmb_init(&s[i], &pool,
			    i % 3 == 0	 ? HASHMB_MD5 | HASHMB_SHA1
			    : i % 3 == 1 ? HASHMB_MD5
					 : HASHMB_SHA1);
	}
	while (left) {
		int i;
		size_t piece;

		x = x * 1103515245 + 12345;
		i = (int)((x >> 8) % NS);
		if (!open[i])
			continue;
		x = x * 1103515245 + 12345;
		/* with 16 or 32 lanes, small pieces: many streams ready at once before one fills */
		piece = (x >> 4) % (lanes >= 16 ? 1500 : 9000) + 1;
		if (piece > len[i] - off[i])
			piece = len[i] - off[i];
		hashmb_update(&s[i], data[i] + off[i], piece);
		off[i] += piece;
		if (abandon[i] && off[i] > len[i] / 2) {
			hashmb_abandon(&s[i]);
			open[i] = false;
			left--;
		} else if (off[i] == len[i]) {
			uint8_t got[16], want[16], got1[20], want1[20];
			unsigned wl = 0, algs = s[i].algs;

			assert_true(hashmb_final(&s[i], got, got1));
			assert_int_equal(EVP_Digest(data[i], len[i], want, &wl, EVP_md5(), NULL),
					 1);
			assert_int_equal(EVP_Digest(data[i], len[i], want1, &wl, EVP_sha1(), NULL),
					 1);
			if ((algs & HASHMB_MD5) && memcmp(got, want, 16))
				fail_msg("stream %d (%zu bytes, %d lanes, AVX2 %d): MD5 differs", i,
					 len[i], lanes, avx2);
			if ((algs & HASHMB_SHA1) && memcmp(got1, want1, 20))
				fail_msg(
				    "stream %d (%zu bytes, %d lanes, SHA-NI %d): SHA-1 differs", i,
				    len[i], lanes, sha_ni);
			open[i] = false;
			left--;
		}
	}
	assert_int_equal(pool.pending, 0);
	assert_int_equal(pool.alloc, 0);
	assert_int_equal(pool.nready, 0);
	if (!lanes)
		assert_int_equal(pool.st.lane_runs, 0);
	else
		assert_true(pool.st.lane_blocks > 0);
	if (lanes <= 8 || (lanes == 16 && !avx2)) /* MD5 in one register */
		assert_int_equal(pool.st.wide_runs, 0);
	if (!sha_wide)
		assert_int_equal(pool.st.sha_lane_runs, 0);
	return (struct runs){pool.st.wide_runs, pool.st.sha_lane_runs, pool.st.final_runs};
}

static void test_interleaved(void **st)
{
	struct hashmb_pool cpu;
	uint64_t wide = 0, wide2 = 0, sha_lanes = 0, finals = 0;

	(void)st;
	for (uint32_t seed = 1; seed <= 6; seed++) {
		struct runs r;

		/* every way a pass can hash: MD5 in 32, 16 or 8 lanes (AVX-512F), 16 or 8
		 * (AVX2); SHA-1 in vector lanes, three at a time with SHA-NI or one by one */
		for (int v = 0; v < 2; v++) {
			for (int lanes = v ? 16 : 32; lanes >= 8; lanes /= 2) {
				for (int k = 0; k < 4; k++) {
					r = interleaved(lanes, v, k < 2, k % 2 == 0, seed);
					*(v ? &wide2 : &wide) += r.wide;
					sha_lanes += r.sha_lanes;
					finals += r.finals;
				}
			}
		}
		interleaved(0, false, false, false, seed);
	}
	hashmb_pool_init(&cpu);
	if (cpu.lanes == 32) /* two registers' passes ran, and were checked */
		assert_true(wide > 0);
	else
		print_message("no 32-lane passes on this CPU\n");
	if (cpu.lanes) /* two AVX2 registers too (16 lanes) */
		assert_true(wide2 > 0);
	if (cpu.lanes) /* streams that ended took their last blocks into passes */
		assert_true(finals > 0);
	if (cpu.sha_wide) /* and SHA-1 in lanes */
		assert_true(sha_lanes > 0);
	else
		print_message("no SHA-1 in vector lanes on this CPU\n");
}

/* A pool with 32 lanes, SHA-1 in lanes and SHA-NI; false (and a message) when the CPU lacks
 * one of them. */
static bool wide_pool(struct hashmb_pool *pool)
{
	hashmb_pool_init(pool);
	if (!hashmb_pool_set_lanes(pool, 32) || !hashmb_pool_set_sha_wide(pool, true) ||
	    !hashmb_pool_set_sha_ni(pool, true)) {
		print_message("no 32 lanes, AVX-512BW or SHA-NI on this CPU\n");
		return false;
	}
	return true;
}

/* Ends streams s[0..n) (stream i was given len[i] bytes of data + i) and checks their SHA-1. */
static void final_sha1(struct hashmb *s, int n, const uint8_t *data, const size_t *len)
{
	for (int i = 0; i < n; i++) {
		uint8_t got[20], want[20];
		unsigned wl = 0;

		assert_true(hashmb_final(&s[i], NULL, got));
		assert_int_equal(EVP_Digest(data + i, len[i], want, &wl, EVP_sha1(), NULL), 1);
		assert_memory_equal(got, want, 20);
	}
}

/* HASHMB_SHA_WIDE_MIN: a pass with 9 SHA-1 streams hashes them through SHA-NI, with 10 in
 * vector lanes. The pass comes when one stream reaches its cap with the others waiting. */
static void test_sha_wide_min(void **st)
{
	static uint8_t data[HASHMB_STREAM_CAP + 64];
	struct hashmb_pool pool;
	struct hashmb s[HASHMB_SHA_WIDE_MIN];
	size_t len[HASHMB_SHA_WIDE_MIN];

	(void)st;
	rand_fill(data, sizeof(data), 5);
	for (int n = HASHMB_SHA_WIDE_MIN - 1; n <= HASHMB_SHA_WIDE_MIN; n++) {
		if (!wide_pool(&pool))
			return;
		for (int i = 0; i < n; i++) {
			hashmb_init(&s[i], &pool, HASHMB_SHA1);
			len[i] = HASHMB_READY_MIN;
			hashmb_update(&s[i], data + i, len[i]);
		}
		assert_int_equal(pool.st.lane_runs, 0);
		hashmb_update(&s[0], data + HASHMB_READY_MIN, HASHMB_STREAM_CAP - HASHMB_READY_MIN);
		len[0] = HASHMB_STREAM_CAP;
		assert_int_equal(pool.st.lane_runs, 1);
		assert_int_equal(pool.st.sha_lane_runs, n >= HASHMB_SHA_WIDE_MIN);
		final_sha1(s, n, data, len);
	}
}

/* HASHMB_FINAL_BLOCKS and HASHMB_FINAL_COMPANY: a stream that ends with 8 blocks waiting and
 * 11 others ready joins a pass; with 7 blocks, or 10 others, it goes alone. */
static void test_final_pass(void **st)
{
	static const struct {
		size_t blocks;
		int others;
		bool pass;
	} c[] = {
	    {HASHMB_FINAL_BLOCKS, HASHMB_FINAL_COMPANY - 1, true},
	    {HASHMB_FINAL_BLOCKS - 1, HASHMB_FINAL_COMPANY - 1, false},
	    {HASHMB_FINAL_BLOCKS, HASHMB_FINAL_COMPANY - 2, false},
	};
	static uint8_t data[HASHMB_READY_MIN + 64];
	struct hashmb_pool pool;
	struct hashmb s[HASHMB_FINAL_COMPANY];
	size_t len[HASHMB_FINAL_COMPANY];

	(void)st;
	rand_fill(data, sizeof(data), 6);
	for (size_t k = 0; k < sizeof(c) / sizeof(c[0]); k++) {
		int n = c[k].others + 1;

		if (!wide_pool(&pool))
			return;
		for (int i = 0; i < n; i++) {
			hashmb_init(&s[i], &pool, HASHMB_SHA1);
			/* stream 0 ends with its blocks and 5 bytes; the others wait, ready */
			len[i] = i ? HASHMB_READY_MIN : c[k].blocks * 64 + 5;
			hashmb_update(&s[i], data + i, len[i]);
		}
		assert_int_equal(pool.nready, c[k].others);
		final_sha1(s, 1, data, len);
		assert_int_equal(pool.st.final_runs, c[k].pass);
		assert_int_equal(pool.st.solo_blocks, c[k].pass ? 0 : c[k].blocks);
		final_sha1(s + 1, n - 1, data + 1, len + 1);
	}
}

/* 600 unfinished streams of 8000 bytes each: what they keep stays within the pool's caps. */
static void test_bounds(void **st)
{
	enum { N = 600 };
	static struct hashmb s[N];
	static uint8_t b[8000];
	struct hashmb_pool pool;

	(void)st;
	hashmb_pool_init(&pool);
	for (int i = 0; i < N; i++) {
		hashmb_init(&s[i], &pool, HASHMB_MD5 | HASHMB_SHA1);
		hashmb_update(&s[i], b, sizeof(b));
		assert_true(pool.pending <= HASHMB_POOL_CAP + HASHMB_STREAM_CAP);
		assert_true(pool.alloc <=
			    HASHMB_POOL_CAP + HASHMB_STREAM_CAP + (size_t)N * HASHMB_MIN_BUF);
	}
	for (int i = 0; i < N; i++)
		hashmb_abandon(&s[i]);
	assert_int_equal(pool.pending, 0);
	assert_int_equal(pool.alloc, 0);
}

/* A stream whose buffer cannot be allocated, at once or when it grows, has no digest (not a
 * wrong one) and leaves the pool's counts as if it had never been; a stream beside it keeps
 * its right digests. */
static void test_no_memory(void **st)
{
#ifdef HAVE_ALLOC_FAULTS
	static uint8_t b[3000];
	struct hashmb_pool pool;
	struct hashmb s1, s2, ok;
	uint8_t m5[16], s5[20], w5[16], w1[20];
	unsigned wl;

	(void)st;
	for (size_t i = 0; i < sizeof(b); i++)
		b[i] = (uint8_t)(i * 13);
	hashmb_pool_init(&pool);
	hashmb_init(&ok, &pool, HASHMB_MD5 | HASHMB_SHA1);
	hashmb_update(&ok, b, 1000);
	/* no buffer at all */
	hashmb_init(&s1, &pool, HASHMB_MD5 | HASHMB_SHA1);
	alloc_ok = 0;
	hashmb_update(&s1, b, 300);
	alloc_ok = -1;
	assert_false(hashmb_final(&s1, m5, s5));
	/* the first buffer, then none when it must grow */
	hashmb_init(&s2, &pool, HASHMB_SHA1);
	alloc_ok = 1;
	hashmb_update(&s2, b, 100);
	hashmb_update(&s2, b + 100, 2000);
	alloc_ok = -1;
	hashmb_update(&s2, b + 2100, 100); /* nothing more once it failed */
	assert_false(hashmb_final(&s2, NULL, s5));
	hashmb_update(&ok, b + 1000, 2000);
	assert_true(hashmb_final(&ok, m5, s5));
	assert_int_equal(EVP_Digest(b, sizeof(b), w5, &wl, EVP_md5(), NULL), 1);
	assert_int_equal(EVP_Digest(b, sizeof(b), w1, &wl, EVP_sha1(), NULL), 1);
	assert_memory_equal(m5, w5, 16);
	assert_memory_equal(s5, w1, 20);
	assert_int_equal(pool.pending, 0);
	assert_int_equal(pool.alloc, 0);
	assert_int_equal(pool.nready, 0);
#else
	(void)st;
	print_message("allocation faults not available under a sanitizer\n");
#endif
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rfc1321),	cmocka_unit_test(test_fips180),
	    cmocka_unit_test(test_interleaved), cmocka_unit_test(test_sha_wide_min),
	    cmocka_unit_test(test_final_pass),	cmocka_unit_test(test_bounds),
	    cmocka_unit_test(test_no_memory),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
