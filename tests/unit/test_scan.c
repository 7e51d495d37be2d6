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
static size_t ref_eol_nul(const uint8_t *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] == '\r' || s[i] == '\n' || s[i] == 0)
			return i;
	return n;
}

static size_t ref_plain_lines(const uint8_t *s, size_t n, size_t max)
{
	size_t off = 0;

	while (off < n && s[off] != '.') {
		size_t k = ref_eol_nul(s + off, n - off);

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

/* Random runs of lines (base64, text, dots, bare CR/LF, NUL bytes, over-long lines, cut
 * ends) through both implementations: each equals the reference. */
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
				if (defect == 5 && len)
					buf[n + (x >> 3) % len] = 0;
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

static int ref_b64_val(uint8_t c)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const char *p = c ? strchr(a, c) : NULL;

	return p ? (int)(p - a) : -1;
}

/* mt_b64_decode_blocks: in the AVX2 build, whole blocks up to the first one holding a byte
 * outside the alphabet (each of the 256 values tried at several places) or up to the room of
 * the output, each decoded as a byte-by-byte decoder does; 0 in the base build. */
static void test_b64_decode_blocks(void **st)
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	int saved = mt_scan__impl();
	uint8_t in[300], out[300], want[300];
	uint32_t x = 11;

	(void)st;
	assert_true(mt_scan__force(MT_SCAN_BASE));
	memset(in, 'A', sizeof(in));
	assert_int_equal(mt_b64_decode_blocks(in, sizeof(in), out, sizeof(out)), 0);
	if (!mt_scan__force(MT_SCAN_AVX2)) {
		print_message("AVX2 not available: base implementation only\n");
		assert_true(mt_scan__force(saved));
		return;
	}
	/* every byte value at every place of a block */
	for (int c = 0; c < 256; c++)
		for (size_t p = 0; p < 32; p++) {
			for (size_t i = 0; i < 64; i++)
				in[i] = (uint8_t)b64[(i * 7 + (size_t)c) % 64];
			in[p] = (uint8_t)c;
			assert_int_equal(mt_b64_decode_blocks(in, 64, out, sizeof(out)),
					 ref_b64_val((uint8_t)c) >= 0 ? 64 : 0);
		}
	for (int round = 0; round < 4000; round++) {
		size_t n = 0, room, bad = SIZE_MAX, got, blocks, off = (size_t)round % 7;

		x = x * 1103515245 + 12345;
		n = (x >> 8) % 260;
		for (size_t i = 0; i < n; i++) {
			x = x * 1103515245 + 12345;
			in[off + i] = (uint8_t)b64[(x >> 12) % 64];
		}
		if (n && round % 3) {
			x = x * 1103515245 + 12345;
			bad = (x >> 7) % n;
			in[off + bad] = (uint8_t)(round % 3 == 1 ? (x >> 20) % 256 : '=');
		}
		room = round % 5 ? sizeof(out) : (size_t)round % 120;
		memset(out, 0xee, sizeof(out));
		got = mt_b64_decode_blocks(in + off, n, out, room);
		blocks = n / 32;
		for (size_t b = 0; b < n / 32; b++) {
			bool clean = true;

			for (size_t i = b * 32; i < b * 32 + 32; i++)
				clean = clean && ref_b64_val(in[off + i]) >= 0;
			if (!clean) {
				blocks = b;
				break;
			}
		}
		while (blocks && room < 32 + (blocks - 1) * 24)
			blocks--;
		if (got != blocks * 32)
			fail_msg("round %d: %zu consumed, want %zu (n %zu, room %zu, bad %zu)", round,
				 got, blocks * 32, n, room, bad);
		for (size_t i = 0; i < got; i += 4) {
			uint32_t v = (uint32_t)ref_b64_val(in[off + i]) << 18 |
				     (uint32_t)ref_b64_val(in[off + i + 1]) << 12 |
				     (uint32_t)ref_b64_val(in[off + i + 2]) << 6 |
				     (uint32_t)ref_b64_val(in[off + i + 3]);

			want[i / 4 * 3] = (uint8_t)(v >> 16);
			want[i / 4 * 3 + 1] = (uint8_t)(v >> 8);
			want[i / 4 * 3 + 2] = (uint8_t)v;
		}
		assert_memory_equal(out, want, got / 4 * 3);
	}
	assert_true(mt_scan__force(saved));
}

/* mt_drop_crlf: every implementation (base, AVX2 with VBMI2 where the CPU has it, AVX2 only)
 * equals a byte loop, for random lengths and offsets with CR and LF anywhere (runs of them,
 * at 32- and 64-byte edges, none, all); nothing written at or beyond out[n] (the AVX2 code
 * may write out[kept..n)). */
static void test_drop_crlf(void **st)
{
	static const int impls[] = {MT_SCAN_BASE, MT_SCAN_AVX2, MT_SCAN_AVX2_ONLY};
	int saved = mt_scan__impl();
	uint8_t in[700], out[720], want[700];
	uint32_t x = 5;

	(void)st;
	for (int k = 0; k < 3; k++) {
		if (!mt_scan__force(impls[k])) {
			print_message("implementation %d not available\n", impls[k]);
			continue;
		}
		for (int round = 0; round < 6000; round++) {
			size_t n, w = 0, got, off = (size_t)round % 9;
			unsigned density = (unsigned)round % 6; /* 0: none ... 5: all */

			x = x * 1103515245 + 12345;
			n = (x >> 8) % (sizeof(in) - 9);
			for (size_t i = 0; i < n; i++) {
				uint8_t c;

				x = x * 1103515245 + 12345;
				c = (uint8_t)(x >> 16);
				if (density == 5 || (density && (x >> 4) % 16 < density * 2))
					c = (x >> 9) & 1 ? '\r' : '\n';
				else if (c == '\r' || c == '\n')
					c = 'x';
				in[off + i] = c;
				if (c != '\r' && c != '\n')
					want[w++] = c;
			}
			memset(out, 0xa5, sizeof(out));
			got = mt_drop_crlf(in + off, n, out);
			if (got != w)
				fail_msg("impl %d round %d: %zu kept, want %zu", impls[k], round,
					 got, w);
			assert_memory_equal(out, want, w);
			for (size_t i = n; i < sizeof(out); i++)
				if (out[i] != 0xa5)
					fail_msg("impl %d round %d: byte %zu written past the end",
						 impls[k], round, i);
		}
	}
	assert_true(mt_scan__force(saved));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_eol),	       cmocka_unit_test(test_b64_plain),
	    cmocka_unit_test(test_line_scans), cmocka_unit_test(test_b64_decode_blocks),
	    cmocka_unit_test(test_drop_crlf),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
