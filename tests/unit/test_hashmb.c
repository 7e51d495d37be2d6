// SPDX-License-Identifier: BSD-3-Clause
/* md5mb: RFC 1321's test vectors; many streams fed in random pieces and random order, some
 * abandoned, each digest equal to OpenSSL's MD5 of the same bytes, with 16-stream (AVX-512F)
 * and 8-stream (AVX2) passes and without; the pool's bounds under many unfinished streams. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <cmocka.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include "mailtap/md5mb.h"

static void hex(const uint8_t d[16], char out[33])
{
	for (int i = 0; i < 16; i++)
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
	struct md5mb_pool pool;
	struct md5mb s;
	uint8_t d[16];
	char h[33];

	(void)st;
	md5mb_pool_init(&pool);
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		md5mb_init(&s, i % 2 ? &pool : NULL);
		for (const char *p = v[i][0]; *p; p++) /* a byte at a time */
			md5mb_update(&s, p, 1);
		assert_true(md5mb_final(&s, d));
		hex(d, h);
		assert_string_equal(h, v[i][1]);
	}
	assert_int_equal(pool.pending, 0);
	assert_int_equal(pool.alloc, 0);
}

#define NS 40

static void interleaved(int lanes, uint32_t seed)
{
	static uint8_t data[NS][60000];
	struct md5mb_pool pool;
	struct md5mb s[NS];
	size_t len[NS], off[NS];
	bool open[NS], abandon[NS];
	uint32_t x = seed;
	int left = NS;

	md5mb_pool_init(&pool);
	md5mb_pool_set_multi(&pool, lanes > 0);
	if (lanes > 0 && !md5mb_pool_set_lanes(&pool, lanes)) {
		print_message("%d lanes not available on this CPU\n", lanes);
		return;
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
		md5mb_init(&s[i], &pool);
	}
	while (left) {
		int i;
		size_t piece;

		x = x * 1103515245 + 12345;
		i = (int)((x >> 8) % NS);
		if (!open[i])
			continue;
		x = x * 1103515245 + 12345;
		piece = (x >> 4) % 9000 + 1;
		if (piece > len[i] - off[i])
			piece = len[i] - off[i];
		md5mb_update(&s[i], data[i] + off[i], piece);
		off[i] += piece;
		if (abandon[i] && off[i] > len[i] / 2) {
			md5mb_abandon(&s[i]);
			open[i] = false;
			left--;
		} else if (off[i] == len[i]) {
			uint8_t got[16], want[16];
			unsigned wl = 0;

			assert_true(md5mb_final(&s[i], got));
			assert_int_equal(EVP_Digest(data[i], len[i], want, &wl, EVP_md5(), NULL), 1);
			if (memcmp(got, want, 16))
				fail_msg("stream %d (%zu bytes, %d lanes): digest differs", i, len[i],
					 lanes);
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
}

static void test_interleaved(void **st)
{
	(void)st;
	for (uint32_t seed = 1; seed <= 6; seed++) {
		interleaved(16, seed);
		interleaved(8, seed);
		interleaved(0, seed);
	}
}

/* 600 unfinished streams of 8000 bytes each: what they keep stays within the pool's caps. */
static void test_bounds(void **st)
{
	enum { N = 600 };
	static struct md5mb s[N];
	static uint8_t b[8000];
	struct md5mb_pool pool;

	(void)st;
	md5mb_pool_init(&pool);
	for (int i = 0; i < N; i++) {
		md5mb_init(&s[i], &pool);
		md5mb_update(&s[i], b, sizeof(b));
		assert_true(pool.pending <= MD5MB_POOL_CAP + MD5MB_STREAM_CAP);
		assert_true(pool.alloc <= MD5MB_POOL_CAP + MD5MB_STREAM_CAP + (size_t)N * MD5MB_MIN_BUF);
	}
	for (int i = 0; i < N; i++)
		md5mb_abandon(&s[i]);
	assert_int_equal(pool.pending, 0);
	assert_int_equal(pool.alloc, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc1321),
		cmocka_unit_test(test_interleaved),
		cmocka_unit_test(test_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
