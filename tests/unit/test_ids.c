// SPDX-License-Identifier: BSD-3-Clause
/* Ids: Zeek-style uids (letter + base62, deterministic under a seed) and the base64 of
 * Forward chunk ids (RFC 4648 vectors). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <cmocka.h>
#include <string.h>
#include "mailtap/bits.h"
#include "mailtap/ids.h"

static void test_b64_16(void **st)
{
	static const uint8_t zero[16], ones[16] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
						   0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	char out[25];

	(void)st;
	mt_ids__b64_16((const uint8_t *)"0123456789abcdef", out);
	assert_string_equal(out, "MDEyMzQ1Njc4OWFiY2RlZg==");
	mt_ids__b64_16(zero, out);
	assert_string_equal(out, "AAAAAAAAAAAAAAAAAAAAAA==");
	mt_ids__b64_16(ones, out);
	assert_string_equal(out, "/////////////////////w==");
}

static void test_hex(void **st)
{
	static const uint8_t in[] = {0x00, 0x01, 0x7f, 0x80, 0xab, 0xff};
	char out[2 * sizeof(in) + 1];

	(void)st;
	memset(out, 'x', sizeof(out));
	mt_hex(in, sizeof(in), out);
	assert_string_equal(out, "00017f80abff");
	mt_hex(in, 0, out);
	assert_string_equal(out, "");
}

static void test_uid_seeded(void **st)
{
	struct mt_ids a, b;
	char x[MT_UID_LEN], y[MT_UID_LEN];
	int n, i;

	(void)st;
	mt_ids__init(&a, 1, 7);
	mt_ids__init(&b, 1, 7);
	for (i = 0; i < 100; i++) {
		n = mt_ids__make(&a, 'C', x);
		assert_int_equal(mt_ids__make(&b, 'C', y), n);
		assert_string_equal(x, y);
		assert_int_equal((int)strlen(x), n);
		assert_true(n >= 2 && n < MT_UID_LEN);
		assert_int_equal(x[0], 'C');
		assert_int_equal(strspn(x + 1, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
					       "abcdefghijklmnopqrstuvwxyz"),
				 (size_t)(n - 1));
	}
	mt_ids__init(&b, 1, 8);
	mt_ids__make(&a, 'F', x);
	mt_ids__make(&b, 'F', y);
	assert_string_not_equal(x, y);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_b64_16),
	    cmocka_unit_test(test_hex),
	    cmocka_unit_test(test_uid_seeded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
