// SPDX-License-Identifier: BSD-3-Clause
/* scan.h: the SSE2 line-end and base64-alphabet scans against byte-by-byte references, at
 * every length up to 80 and every offset of the buffer (unaligned loads, overlapping tails). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <cmocka.h>
#include <stdint.h>
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

/* References for the whole-line scans, byte by byte. */
static size_t ref_plain_lines(const uint8_t *s, size_t n, size_t max)
{
	size_t off = 0;

	while (off < n && s[off] != '.') {
		size_t k = ref_eol(s + off, n - off);

		if (k > max || off + k + 2 > n || s[off + k] != '\r' || s[off + k + 1] != '\n')
			break;
		off += k + 2;
	}
	return off;
}

static size_t ref_b64_lines(const uint8_t *s, size_t n, size_t max, size_t *chars, size_t *lines)
{
	size_t off = 0, k;

	*chars = *lines = 0;
	for (;;) {
		for (k = 0; off + k < n && ref_plain(s + off + k, 1); k++)
			;
		if (!k || k > max || off + k + 2 > n || s[off + k] != '\r' ||
		    s[off + k + 1] != '\n')
			return off;
		*chars += k;
		++*lines;
		off += k + 2;
	}
}

/* Random runs of lines (base64, text, dots, bare CR/LF, over-long lines, cut ends) through
 * both implementations: each equals the reference. */
static void test_line_scans(void **st)
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	int impls[] = {MT_SCAN_BASE, MT_SCAN_AVX2}, saved = mt_scan__impl(), tried = 0;
	uint8_t buf[2048];
	uint32_t x = 7;
	size_t round, n, i, max;

	(void)st;
	for (size_t k = 0; k < 2; k++) {
		if (!mt_scan__force(impls[k])) {
			print_message("AVX2 not available: base implementation only\n");
			continue;
		}
		tried++;
		for (round = 0; round < 20000; round++) {
			n = 0;
			while (n < sizeof(buf) - 200) {
				size_t len;
				unsigned defect;

				x = x * 1103515245 + 12345;
				len = (x >> 8) % 90;
				defect = (x >> 20) % (round % 3 ? 40 : 800); /* long clean runs too */
				for (i = 0; i < len; i++) {
					x = x * 1103515245 + 12345;
					buf[n + i] = (uint8_t)b64[(x >> 12) % 64];
				}
				if (defect == 0 && len)
					buf[n + (x >> 3) % len] = '.';
				if (defect == 1 && len)
					buf[n] = '.';
				if (defect == 2 && len)
					buf[n + (x >> 3) % len] = (uint8_t)(x >> 24);
				n += len;
				buf[n++] = defect == 3 ? '\n' : '\r';
				if (defect != 4)
					buf[n++] = '\n';
			}
			x = x * 1103515245 + 12345;
			n -= (x >> 10) % 3; /* sometimes a cut line end */
			max = (round % 4) ? 4096 : 60 + round % 30;
			for (size_t off = 0; off < 40; off += 13) {
				size_t c1, l1, c2, l2, r1, r2;

				assert_int_equal(mt_scan_plain_lines(buf + off, n - off, max),
						 ref_plain_lines(buf + off, n - off, max));
				r1 = mt_scan_b64_lines(buf + off, n - off, max, &c1, &l1);
				r2 = ref_b64_lines(buf + off, n - off, max, &c2, &l2);
				assert_int_equal(r1, r2);
				if (r1) {
					assert_int_equal(c1, c2);
					assert_int_equal(l1, l2);
				}
			}
		}
	}
	assert_true(tried >= 1);
	assert_true(mt_scan__force(saved));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_eol),
	    cmocka_unit_test(test_b64_plain),
	    cmocka_unit_test(test_line_scans),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
