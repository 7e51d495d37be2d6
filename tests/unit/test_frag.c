// SPDX-License-Identifier: BSD-3-Clause
/* Fragment reassembly: every order of the fragments of a datagram gives the datagram back;
 * overlaps keep the first bytes; limits and timeouts drop and count. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>
#include "mailtap/frag.h"
#include "frames.h"

/* An IPv4 TCP fragment of datagram `id` with payload bytes [off, off+len) of `pl`. */
static size_t v4frag(uint8_t *b, uint16_t id, const uint8_t *pl, uint32_t off, uint32_t len,
		     int more)
{
	return fr_v4frag(b, id, 6, pl, off, len, more);
}

static void test_all_orders(void **st)
{
	uint8_t pl[96], b[200];
	int orders[6][3] = { { 0, 1, 2 }, { 0, 2, 1 }, { 1, 0, 2 }, { 1, 2, 0 }, { 2, 0, 1 }, { 2, 1, 0 } };
	struct frag_limits l;

	(void)st;
	for (int i = 0; i < 96; i++)
		pl[i] = (uint8_t)(i * 7);
	frag_limits__default(&l);
	for (int o = 0; o < 6; o++) {
		struct frag_table *t = frag__new(&l);
		const uint8_t *out = NULL;
		size_t out_len = 0;
		const char *w;
		int r = 0;

		for (int k = 0; k < 3; k++) {
			int f = orders[o][k];
			size_t n = v4frag(b, 7, pl, (uint32_t)f * 32, 32, f < 2);

			r = frag__add(t, b, n, 1000 + (uint64_t)k, &out, &out_len, &w);
			assert_int_equal(r, k == 2 ? 1 : 0);
			assert_null(w);
		}
		assert_int_equal(out_len, 20 + 96);
		assert_memory_equal(out + 20, pl, 96);
		assert_int_equal(out[2] << 8 | out[3], 116); /* total length rewritten */
		assert_int_equal(out[6] & 0x3f, 0);	       /* no longer a fragment */
		frag__free(t);
	}
}

static void test_overlap_first_wins(void **st)
{
	uint8_t pl[64], evil[64], b[200];
	struct frag_limits l;
	struct frag_table *t;
	struct frag_stats s;
	const uint8_t *out;
	size_t out_len;
	const char *w;

	(void)st;
	memset(pl, 'a', sizeof(pl));
	memset(evil, 'X', sizeof(evil));
	frag_limits__default(&l);
	t = frag__new(&l);
	assert_int_equal(frag__add(t, b, v4frag(b, 9, pl, 0, 32, 1), 1, &out, &out_len, &w), 0);
	/* the same range again with other bytes: first kept, inconsistency reported */
	assert_int_equal(frag__add(t, b, v4frag(b, 9, evil, 0, 32, 1), 2, &out, &out_len, &w), 0);
	assert_string_equal(w, "fragment_inconsistency");
	assert_int_equal(frag__add(t, b, v4frag(b, 9, pl, 32, 32, 0), 3, &out, &out_len, &w), 1);
	assert_memory_equal(out + 20, pl, 64);
	frag__stats(t, &s);
	assert_int_equal(s.inconsistent, 1);
	assert_int_equal(s.reassembled, 1);
	frag__free(t);
}

static void test_limits_and_timeout(void **st)
{
	uint8_t pl[64], b[200];
	struct frag_limits l;
	struct frag_table *t;
	struct frag_stats s;
	const uint8_t *out;
	size_t out_len;
	const char *w;

	(void)st;
	memset(pl, 'z', sizeof(pl));
	frag_limits__default(&l);
	l.max_datagrams = 10;
	l.timeout_ns = 1000;
	t = frag__new(&l);
	for (uint16_t id = 0; id < 100; id++) /* first fragments only: never complete */
		frag__add(t, b, v4frag(b, id, pl, 0, 32, 1), 10, &out, &out_len, &w);
	frag__stats(t, &s);
	assert_int_equal(s.evicted, 90); /* the oldest made room each time */
	assert_int_equal(s.timeouts, 0);
	assert_true(s.in_use_bytes <= 10 * (2048 + 2048));
	frag__expire(t, 2000);
	frag__stats(t, &s);
	assert_int_equal(s.timeouts, 10);
	assert_int_equal(s.in_use_bytes, 0);
	/* a fragment past 65535 bytes of payload */
	v4frag(b, 1, pl, 0, 16, 0);
	b[6] = (uint8_t)((65528 / 8) >> 8); /* offset 65528 + 16 bytes > 65535 */
	b[7] = (uint8_t)(65528 / 8);
	assert_int_equal(frag__add(t, b, 36, 3000, &out, &out_len, &w), -EMSGSIZE);
	/* garbage */
	assert_int_equal(frag__add(t, pl, 10, 3000, &out, &out_len, &w), -EINVAL);
	frag__free(t);
}

/* At most FRAG_MAX_RANGES - 1 (63) disjoint ranges per datagram: a fragment that merges
 * with a held range never counts against the limit (filling the gaps of 63 ranges completes
 * the datagram, as in Zeek, which has no such limit); a 64th disjoint range drops the
 * datagram, counted in `dropped`, and nothing is ever delivered with holes. */
static void test_range_limit(void **st)
{
	uint8_t pl[1016], b[64];
	struct frag_limits l;
	struct frag_table *t;
	struct frag_stats s;
	const uint8_t *out = NULL;
	size_t out_len = 0;
	const char *w;
	int r = 0;

	(void)st;
	for (int i = 0; i < (int)sizeof(pl); i++)
		pl[i] = (uint8_t)(i * 13 + 1);
	frag_limits__default(&l);
	t = frag__new(&l);
	for (uint32_t k = 0; k < 63; k++) /* 63 disjoint 8-byte ranges: 0, 16, ..., 992 */
		assert_int_equal(frag__add(t, b, v4frag(b, 5, pl, k * 16, 8, 1), 1, &out,
					   &out_len, &w), 0);
	for (uint32_t k = 0; k < 62; k++) /* the gaps: each merges, none is dropped */
		assert_int_equal(frag__add(t, b, v4frag(b, 5, pl, k * 16 + 8, 8, 1), 2, &out,
					   &out_len, &w), 0);
	r = frag__add(t, b, v4frag(b, 5, pl, 1000, 16, 0), 3, &out, &out_len, &w);
	assert_int_equal(r, 1);
	assert_int_equal(out_len, 20 + sizeof(pl));
	assert_memory_equal(out + 20, pl, sizeof(pl));
	frag__stats(t, &s);
	assert_int_equal(s.dropped, 0);

	/* 64 disjoint ranges: the datagram is dropped and counted */
	for (uint32_t k = 0; k < 64; k++)
		r = frag__add(t, b, v4frag(b, 6, pl, k * 16, 8, 1), 4, &out, &out_len, &w);
	assert_int_equal(r, -ENOSPC);
	frag__stats(t, &s);
	assert_int_equal(s.dropped, 1);
	/* what follows cannot complete it with what was dropped */
	for (uint32_t k = 0; k < 62; k++)
		assert_int_equal(frag__add(t, b, v4frag(b, 6, pl, k * 16 + 8, 8, 1), 5, &out,
					   &out_len, &w), 0);
	assert_int_equal(frag__add(t, b, v4frag(b, 6, pl, 1000, 16, 0), 6, &out, &out_len, &w),
			 0);
	frag__free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_all_orders),
		cmocka_unit_test(test_overlap_first_wins),
		cmocka_unit_test(test_limits_and_timeout),
		cmocka_unit_test(test_range_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
