// SPDX-License-Identifier: BSD-3-Clause
/* scan.h: the SSE2 line-end and base64-alphabet scans against byte-by-byte references, at
 * every length up to 80 and every offset of the buffer (unaligned loads, overlapping tails). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <cmocka.h>
#include <string.h>
#include "mailtap/scan.h"

static size_t ref_eol(const uint8_t *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] == '\r' || s[i] == '\n')
			return i;
	return n;
}

static bool ref_plain(const uint8_t *s, size_t n)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

	for (size_t i = 0; i < n; i++)
		if (!s[i] || !strchr(a, s[i]))
			return false;
	return true;
}

static void test_eol(void **st)
{
	uint8_t buf[128];
	size_t off, n, p;

	(void)st;
	for (off = 0; off < 16; off++)
		for (n = 0; n <= 80; n++) {
			memset(buf, 'x', sizeof(buf));
			assert_int_equal(mt_scan_eol(buf + off, n), n);
			for (p = 0; p < n; p++) {
				memset(buf, 'x', sizeof(buf));
				buf[off + p] = p & 1 ? '\r' : '\n';
				if (p + 3 < n)
					buf[off + p + 3] = '\n'; /* a later one never wins */
				assert_int_equal(mt_scan_eol(buf + off, n), ref_eol(buf + off, n));
				assert_int_equal(mt_scan_eol(buf + off, n), p);
			}
			/* an end byte just past n is not seen */
			memset(buf, 'x', sizeof(buf));
			buf[off + n] = '\n';
			assert_int_equal(mt_scan_eol(buf + off, n), n);
		}
}

static void test_b64_plain(void **st)
{
	uint8_t buf[128];
	size_t off, n, p;
	int c;

	(void)st;
	for (off = 0; off < 16; off++)
		for (n = 0; n <= 80; n++) {
			for (p = 0; p < sizeof(buf); p++)
				buf[p] = (uint8_t) "QUJDREVGR0hJSktMz+/9"[p % 20];
			assert_true(mt_b64_plain(buf + off, n));
			for (p = 0; p < n; p += 1 + n / 7) {
				uint8_t keep = buf[off + p];

				for (c = 0; c < 256; c++) {
					buf[off + p] = (uint8_t)c;
					if (mt_b64_plain(buf + off, n) != ref_plain(buf + off, n))
						fail_msg("byte %d at %zu of %zu (offset %zu)", c, p,
							 n, off);
					assert_int_equal(mt_b64_span(buf + off, n),
							 ref_plain(buf + off, n) ? n : p);
				}
				buf[off + p] = keep;
			}
		}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_eol),
	    cmocka_unit_test(test_b64_plain),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
