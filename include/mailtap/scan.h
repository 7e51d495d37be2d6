/* SPDX-License-Identifier: BSD-3-Clause */
/* Byte scans the line splitters and decoders share (SMTP DATA, MIME framing, base64): one
 * pass, 16 bytes at a time with SSE2 (the x86-64 baseline), a byte loop elsewhere. They
 * read only s[0..n). */
#ifndef MAILTAP_SCAN_H
#define MAILTAP_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#ifdef __SSE2__
/* Bit i set when byte i of v is CR or LF. */
static inline unsigned mt_eol_hits_(__m128i v)
{
	__m128i cr = _mm_cmpeq_epi8(v, _mm_set1_epi8('\r'));
	__m128i lf = _mm_cmpeq_epi8(v, _mm_set1_epi8('\n'));

	return (unsigned)_mm_movemask_epi8(_mm_or_si128(cr, lf));
}

/* Bit i set when byte i of v is CR, LF or NUL. */
static inline unsigned mt_eol_nul_hits_(__m128i v)
{
	__m128i nul = _mm_cmpeq_epi8(v, _mm_setzero_si128());

	return mt_eol_hits_(v) | (unsigned)_mm_movemask_epi8(nul);
}

/* Bit i set when byte i of v is not in A-Z a-z 0-9 + / (signed compares after a bias put
 * each range at the bottom of the signed byte range). */
static inline unsigned mt_b64_misses_(__m128i v)
{
	__m128i letter =
	    _mm_add_epi8(_mm_or_si128(v, _mm_set1_epi8(0x20)), _mm_set1_epi8((char)(-128 - 'a')));
	__m128i digit = _mm_add_epi8(v, _mm_set1_epi8((char)(-128 - '0')));
	__m128i ok = _mm_or_si128(_mm_cmplt_epi8(letter, _mm_set1_epi8(-128 + 26)),
				  _mm_cmplt_epi8(digit, _mm_set1_epi8(-128 + 10)));

	ok = _mm_or_si128(ok, _mm_cmpeq_epi8(v, _mm_set1_epi8('+')));
	ok = _mm_or_si128(ok, _mm_cmpeq_epi8(v, _mm_set1_epi8('/')));
	return ~(unsigned)_mm_movemask_epi8(ok) & 0xffffu;
}
#endif

static inline bool mt_is_eol_(uint8_t c)
{
	return c == '\r' || c == '\n';
}

static inline bool mt_is_eol_nul_(uint8_t c)
{
	return c == '\r' || c == '\n' || c == 0;
}

static inline bool mt_not_b64_(uint8_t c)
{
	uint8_t l = (uint8_t)(c | 0x20);

	return !((l >= 'a' && l <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/');
}

/* Offset of the first byte of s[0..n) that hit1 holds for, n if none; hits16 is the same
 * test on 16 bytes at once, as a bit mask. Always inlined, so both tests are too. */
#ifdef __SSE2__
typedef unsigned (*mt_hits16_fn)(__m128i);

static inline __attribute__((always_inline)) size_t
mt_find_first_(const uint8_t *s, size_t n, mt_hits16_fn hits16, bool (*hit1)(uint8_t))
{
	size_t i = 0;

	for (; i + 16 <= n; i += 16) {
		unsigned m = hits16(_mm_loadu_si128((const __m128i *)(const void *)(s + i)));

		if (m)
			return i + (size_t)__builtin_ctz(m);
	}
	if (i < n && n >= 16) { /* the tail: one overlapping load, bytes already seen masked */
		unsigned m = hits16(_mm_loadu_si128((const __m128i *)(const void *)(s + n - 16)));

		m &= ~0u << (16 - (n - i));
		return m ? n - 16 + (size_t)__builtin_ctz(m) : n;
	}
	for (; i < n; i++)
		if (hit1(s[i]))
			return i;
	return n;
}
#define MT_FIND_FIRST_(s, n, hits16, hit1) mt_find_first_(s, n, hits16, hit1)
#else
static inline size_t mt_find_first_(const uint8_t *s, size_t n, bool (*hit1)(uint8_t))
{
	for (size_t i = 0; i < n; i++)
		if (hit1(s[i]))
			return i;
	return n;
}
#define MT_FIND_FIRST_(s, n, hits16, hit1) mt_find_first_(s, n, hit1)
#endif

/* Offset of the first CR or LF in s[0..n), n if none: the line end of Zeek's ContentLine
 * analyzer (CR_as_EOL | LF_as_EOL) in one pass instead of a memchr per character. */
static inline size_t mt_scan_eol(const void *buf, size_t n)
{
	return MT_FIND_FIRST_((const uint8_t *)buf, n, mt_eol_hits_, mt_is_eol_);
}

/* Offset of the first CR, LF or NUL byte in s[0..n), n if none: where a DATA line stops
 * being plain (the NUL for Zeek's NUL_in_line). */
static inline size_t mt_scan_eol_nul(const void *buf, size_t n)
{
	return MT_FIND_FIRST_((const uint8_t *)buf, n, mt_eol_nul_hits_, mt_is_eol_nul_);
}

/* Length of the longest prefix of s[0..n) made of base64 alphabet characters (no '=', no
 * white space). */
static inline size_t mt_b64_span(const void *buf, size_t n)
{
	return MT_FIND_FIRST_((const uint8_t *)buf, n, mt_b64_misses_, mt_not_b64_);
}

/* True when every byte of s[0..n) is a base64 alphabet character. */
static inline bool mt_b64_plain(const void *buf, size_t n)
{
	return mt_b64_span(buf, n) == n;
}

/* Whole-line scans (user/scan.c), AVX2 when the CPU has it. s is at the start of a line. */

/* Length of the longest prefix of s[0..n) made of whole lines that end with CRLF, hold no
 * other CR or LF and no NUL, do not begin with '.' and have at most max bytes before the
 * CRLF: the SMTP DATA lines that need nothing but passing on. */
size_t mt_scan_plain_lines(const void *s, size_t n, size_t max);
/* Length of the longest prefix of s[0..n) made of whole lines of 1..max base64 alphabet bytes
 * ending with CRLF; *chars: the alphabet bytes in them, *lines: how many lines. */
size_t mt_scan_b64_lines(const void *s, size_t n, size_t max, size_t *chars, size_t *lines);

/* Copies s[0..n) without its CR and LF bytes to out (room for n bytes); returns the bytes
 * copied. out[ret..n) may be written too (the AVX2 code stores 32 bytes a step), nothing
 * beyond. Joins the lines of a run mt_scan_b64_lines found, for decoding across line ends. */
size_t mt_drop_crlf(const void *s, size_t n, uint8_t *out);

/* Base64 decoding of whole 32-character blocks of the alphabet (no '=', no other byte):
 * decodes blocks from s (at most n characters) into out, 24 bytes per block, and stops at the
 * first block holding anything else, or when out has fewer than 32 bytes of room (out_room).
 * Returns the characters consumed (a multiple of 32); 0 in the base build, where the
 * caller's scalar loop does everything. Bytes of out beyond 24 * blocks may be written. */
size_t mt_b64_decode_blocks(const void *s, size_t n, uint8_t *out, size_t out_room);

/* MT_SCAN_AVX2 uses AVX-512 (VBMI2) where the CPU has it; MT_SCAN_AVX2_ONLY does not (so
 * that the AVX2 code is tested on such CPUs too). */
enum { MT_SCAN_BASE = 1, MT_SCAN_AVX2 = 2, MT_SCAN_AVX2_ONLY = 3 };
/* The implementation in use; force one (tests). false: not available on this CPU or build. */
int mt_scan__impl(void);
bool mt_scan__force(int which);

#endif
