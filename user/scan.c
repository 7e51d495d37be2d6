// SPDX-License-Identifier: BSD-3-Clause
/*
 * Whole-line scans for the two bulk paths (SMTP DATA plain lines, MIME base64 lines counted
 * in skip mode), built twice: with the SSE2 primitives of scan.h (the x86-64 baseline) and,
 * on x86-64, with 32-byte AVX2 ones. The AVX2 build is chosen at start when the CPU has it
 * (__builtin_cpu_supports); both give the same result on every input (tests/unit/test_scan.c
 * runs both).
 */
#include <stddef.h>
#include <string.h>
#include "mailtap/scan.h"

/* The line loops, written once over the two primitives. */
#define MT_SCAN_LINES(attr, plain_name, b64_name, eol, span)                                       \
	attr static size_t plain_name(const uint8_t *s, size_t n, size_t max)                      \
	{                                                                                          \
		size_t off = 0;                                                                    \
                                                                                                   \
		while (off < n && s[off] != '.') {                                                 \
			size_t k = eol(s + off, n - off);                                          \
                                                                                                   \
			if (k + 1 >= n - off || s[off + k] != '\r' || s[off + k + 1] != '\n' ||    \
			    k > max)                                                               \
				break;                                                             \
			off += k + 2;                                                              \
		}                                                                                  \
		return off;                                                                        \
	}                                                                                          \
	attr static size_t b64_name(const uint8_t *s, size_t n, size_t max, size_t *chars,         \
				    size_t *lines)                                                 \
	{                                                                                          \
		size_t off = 0, c = 0, l = 0;                                                      \
                                                                                                   \
		while (off < n) {                                                                  \
			size_t r = n - off, k = span(s + off, r < max + 2 ? r : max + 2);          \
                                                                                                   \
			if (!k || k > max || k + 2 > r || s[off + k] != '\r' ||                    \
			    s[off + k + 1] != '\n')                                                \
				break;                                                             \
			c += k;                                                                    \
			l++;                                                                       \
			off += k + 2;                                                              \
		}                                                                                  \
		*chars = c;                                                                        \
		*lines = l;                                                                        \
		return off;                                                                        \
	}

MT_SCAN_LINES(, plain_lines_base, b64_lines_base, mt_scan_eol_nul, mt_b64_span)

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define MT_AVX2 __attribute__((target("avx2")))
#define HAVE_AVX2_BUILD 1

/* Bit i set when byte i is CR, LF or NUL: the events of plain DATA lines. */
MT_AVX2 static inline unsigned eol_nul_mask32(__m256i v)
{
	__m256i cr = _mm256_cmpeq_epi8(v, _mm256_set1_epi8('\r'));
	__m256i lf = _mm256_cmpeq_epi8(v, _mm256_set1_epi8('\n'));
	__m256i nul = _mm256_cmpeq_epi8(v, _mm256_setzero_si256());

	return (unsigned)_mm256_movemask_epi8(_mm256_or_si256(_mm256_or_si256(cr, lf), nul));
}

/* Bit i set when byte i is in A-Z a-z 0-9 + / (the AVX2 form of mt_b64_misses_, inverted). */
MT_AVX2 static inline unsigned b64_mask32(__m256i v)
{
	__m256i letter = _mm256_add_epi8(_mm256_or_si256(v, _mm256_set1_epi8(0x20)),
					 _mm256_set1_epi8((char)(-128 - 'a')));
	__m256i digit = _mm256_add_epi8(v, _mm256_set1_epi8((char)(-128 - '0')));
	__m256i ok = _mm256_or_si256(_mm256_cmpgt_epi8(_mm256_set1_epi8(-128 + 26), letter),
				     _mm256_cmpgt_epi8(_mm256_set1_epi8(-128 + 10), digit));

	ok = _mm256_or_si256(ok, _mm256_cmpeq_epi8(v, _mm256_set1_epi8('+')));
	ok = _mm256_or_si256(ok, _mm256_cmpeq_epi8(v, _mm256_set1_epi8('/')));
	return (unsigned)_mm256_movemask_epi8(ok);
}

MT_AVX2 static inline size_t eol_nul_avx2(const uint8_t *s, size_t n)
{
	size_t i = 0;

	for (; i + 32 <= n; i += 32) {
		unsigned m =
		    eol_nul_mask32(_mm256_loadu_si256((const __m256i *)(const void *)(s + i)));

		if (m)
			return i + (size_t)__builtin_ctz(m);
	}
	return i + mt_scan_eol_nul(s + i, n - i);
}

MT_AVX2 static inline size_t span_avx2(const uint8_t *s, size_t n)
{
	size_t i = 0;

	for (; i + 32 <= n; i += 32) {
		unsigned m = b64_mask32(_mm256_loadu_si256((const __m256i *)(const void *)(s + i)));

		if (m != 0xffffffffu)
			return i + (size_t)__builtin_ctz(~m);
	}
	return i + mt_b64_span(s + i, n - i);
}

MT_SCAN_LINES(MT_AVX2, plain_lines_tail, b64_lines_tail, eol_nul_avx2, span_avx2)

/*
 * The AVX2 line loops go over 32-byte blocks, not lines: a block gives a bit mask of its
 * "events" (CR, LF or NUL for plain text; anything outside the base64 alphabet for
 * base64), and only the events are looked at, one per line end. Each must be a CR followed
 * by an LF that ends a line of the allowed length; the LF's bit is then dropped. The first
 * other event ends the run. Lines longer than max end it too. The last partial block goes
 * through the line-by-line loop above. Same results as the base build on every input
 * (test_scan).
 */
/* The block walk of both AVX2 line loops; `b64` (a constant where it is inlined) picks the
 * events (bytes outside the alphabet, else CR, LF and NUL), rejects empty lines and counts; plain
 * text instead stops before a line that begins with '.'. */
MT_AVX2 static inline __attribute__((always_inline)) size_t
block_lines(const uint8_t *s, size_t n, size_t max, bool b64, size_t *chars, size_t *lines)
{
	size_t ls = 0, i = 0, c = 0, l = 0, tc = 0, tl = 0; /* ls: start of the current line */
	unsigned carry = 0; /* bit 0 of the next block is the LF of a CRLF across blocks */

	if (!b64 && n && s[0] == '.')
		goto out;
	for (; i + 32 <= n; i += 32) {
		__m256i v = _mm256_loadu_si256((const __m256i *)(const void *)(s + i));
		unsigned ev = b64 ? ~b64_mask32(v) : eol_nul_mask32(v);

		ev &= ~carry;
		carry = 0;
		while (ev) {
			unsigned b = (unsigned)__builtin_ctz(ev);
			size_t q = i + b;

			/* b64: q - ls - 1 >= max is an empty line (wraps) or one longer than max */
			if (s[q] != '\r' || q + 1 >= n || s[q + 1] != '\n' ||
			    (b64 ? q - ls - 1 >= max : q - ls > max))
				goto out;
			c += q - ls;
			l++;
			ls = q + 2;
			if (!b64 && ls < n && s[ls] == '.')
				goto out;
			ev &= ev - 1;	  /* the CR */
			ev &= ~(2u << b); /* the LF (none when b = 31: it is in the next block) */
			carry = b == 31;
		}
		if ((ptrdiff_t)(i + 32 - ls) > (ptrdiff_t)max)
			goto out; /* no line end within max */
	}
	/* the rest, if it holds a line end: most calls end in a partial line, which the
	 * line-by-line loop would check to its end before finding no CRLF */
	if (ls < n && memchr(s + ls, '\n', n - ls)) {
		if (b64)
			ls += b64_lines_tail(s + ls, n - ls, max, &tc, &tl);
		else
			ls += plain_lines_tail(s + ls, n - ls, max);
	}
out:
	*chars = c + tc;
	*lines = l + tl;
	return ls;
}

MT_AVX2 static size_t plain_lines_avx2(const uint8_t *s, size_t n, size_t max)
{
	size_t c, l;

	return block_lines(s, n, max, false, &c, &l);
}

MT_AVX2 static size_t b64_lines_avx2(const uint8_t *s, size_t n, size_t max, size_t *chars,
				     size_t *lines)
{
	return block_lines(s, n, max, true, chars, lines);
}

/*
 * Base64 decoding, 32 characters into 24 bytes per step (the nibble-table method of W. Muła
 * and A. Klomp): the high and low nibble of each character index two 16-entry tables whose
 * AND is non-zero exactly for bytes outside A-Z a-z 0-9 + /; a third table, indexed by the
 * high nibble (and '/'), gives the offset that turns each character into its 6-bit value;
 * two multiply-adds pack four 6-bit values into 3 bytes per 32-bit lane; a shuffle and a
 * permute make the 24 bytes contiguous.
 */
MT_AVX2 static size_t b64_decode_avx2(const uint8_t *s, size_t n, uint8_t *out, size_t room)
{
	const __m256i lut_lo = _mm256_setr_epi8(
	    0x15, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x13, 0x1a, 0x1b, 0x1b, 0x1b,
	    0x1a, 0x15, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x13, 0x1a, 0x1b, 0x1b,
	    0x1b, 0x1a);
	const __m256i lut_hi = _mm256_setr_epi8(
	    0x10, 0x10, 0x01, 0x02, 0x04, 0x08, 0x04, 0x08, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10,
	    0x10, 0x10, 0x10, 0x01, 0x02, 0x04, 0x08, 0x04, 0x08, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10,
	    0x10, 0x10);
	const __m256i lut_roll = _mm256_setr_epi8(0, 16, 19, 4, -65, -65, -71, -71, 0, 0, 0, 0, 0,
						  0, 0, 0, 0, 16, 19, 4, -65, -65, -71, -71, 0,
						  0, 0, 0, 0, 0, 0, 0);
	const __m256i nib = _mm256_set1_epi8(0x0f), slash = _mm256_set1_epi8('/');
	const __m256i pack1 = _mm256_set1_epi32(0x01400140), pack2 = _mm256_set1_epi32(0x00011000);
	const __m256i shuf = _mm256_setr_epi8(2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1,
					      2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1,
					      -1);
	const __m256i perm = _mm256_setr_epi32(0, 1, 2, 4, 5, 6, 7, 7);
	size_t i = 0;

	for (; i + 32 <= n && room >= 32; i += 32, out += 24, room -= 24) {
		__m256i v = _mm256_loadu_si256((const __m256i *)(const void *)(s + i));
		__m256i hi = _mm256_and_si256(_mm256_srli_epi32(v, 4), nib);
		__m256i lo = _mm256_shuffle_epi8(lut_lo, _mm256_and_si256(v, nib));
		__m256i roll;

		if (!_mm256_testz_si256(lo, _mm256_shuffle_epi8(lut_hi, hi)))
			break; /* a byte outside the alphabet: the caller's loop reports it */
		roll = _mm256_shuffle_epi8(lut_roll,
					   _mm256_add_epi8(_mm256_cmpeq_epi8(v, slash), hi));
		v = _mm256_add_epi8(v, roll);
		v = _mm256_madd_epi16(_mm256_maddubs_epi16(v, pack1), pack2);
		v = _mm256_permutevar8x32_epi32(_mm256_shuffle_epi8(v, shuf), perm);
		_mm256_storeu_si256((__m256i *)(void *)out, v);
	}
	return i;
}
#endif

static size_t b64_decode_none(const uint8_t *s, size_t n, uint8_t *out, size_t room)
{
	(void)s, (void)n, (void)out, (void)room;
	return 0;
}

static size_t drop_crlf_base(const uint8_t *p, size_t n, uint8_t *out)
{
	size_t i = 0, o = 0;

	while (i < n) {
		size_t k = mt_scan_eol(p + i, n - i);

		memcpy(out + o, p + i, k);
		o += k;
		i += k;
		while (i < n && (p[i] == '\r' || p[i] == '\n'))
			i++;
	}
	return o;
}

#ifdef HAVE_AVX2_BUILD
/* Without VBMI2 (AVX2 CPUs): 32 bytes a step, the steps' loads at fixed offsets (no step waits
 * for the one before to find its CR or LF). A block whose CR/LF bytes form one run (none, or
 * a line's CRLF: always so in a run of base64 lines of 31 characters or more) leaves as two
 * stores: the block where the output ends, then from its first CR/LF on, the bytes after the
 * run (the second store's bytes beyond the block are overwritten by the next step's). Other
 * blocks go a byte at a time. Loads and stores stay below n: a step starts only with 64 bytes
 * left, and the output never passes the input. */
__attribute__((target("avx2,bmi,popcnt"))) static size_t drop_crlf_avx2(const uint8_t *p, size_t n,
									uint8_t *out)
{
	const __m256i cr = _mm256_set1_epi8('\r'), lf = _mm256_set1_epi8('\n');
	size_t i = 0, o = 0;

	for (; i + 64 <= n; i += 32) {
		__m256i v = _mm256_loadu_si256((const __m256i *)(const void *)(p + i));
		uint32_t m = (uint32_t)_mm256_movemask_epi8(
		    _mm256_or_si256(_mm256_cmpeq_epi8(v, cr), _mm256_cmpeq_epi8(v, lf)));
		unsigned j = m ? (unsigned)__builtin_ctz(m) : 32,
			 len = (unsigned)__builtin_popcount(m);
		uint64_t run = (uint64_t)m >> j;

		if (run & (run + 1)) { /* more than one run */
			for (unsigned k = 0; k < 32; k++) {
				out[o] = p[i + k];
				o += p[i + k] != '\r' && p[i + k] != '\n';
			}
			continue;
		}
		_mm256_storeu_si256((__m256i *)(void *)(out + o), v);
		_mm256_storeu_si256(
		    (__m256i *)(void *)(out + o + j),
		    _mm256_loadu_si256((const __m256i *)(const void *)(p + i + j + len)));
		o += 32 - len;
	}
	return o + drop_crlf_base(p + i, n - i, out + o);
}

/* 64 bytes a step: the bytes other than CR and LF gathered to the front of a register
 * (VPCOMPRESSB) and stored; the next step's store goes where they end. */
__attribute__((target("avx512f,avx512bw,avx512vbmi2"))) static size_t
drop_crlf_vbmi2(const uint8_t *p, size_t n, uint8_t *out)
{
	const __m512i cr = _mm512_set1_epi8('\r'), lf = _mm512_set1_epi8('\n');
	size_t i = 0, o = 0;

	for (; i + 64 <= n; i += 64) {
		__m512i v = _mm512_loadu_si512((const void *)(p + i));
		__mmask64 keep = _mm512_cmpneq_epi8_mask(v, cr) & _mm512_cmpneq_epi8_mask(v, lf);
		unsigned k = (unsigned)__builtin_popcountll(keep);

		/* the masked store writes exactly the kept bytes: out needs no slack */
		_mm512_mask_storeu_epi8(out + o, k == 64 ? ~0ull : (1ull << k) - 1,
					_mm512_maskz_compress_epi8(keep, v));
		o += k;
	}
	return o + drop_crlf_base(p + i, n - i, out + o);
}
#endif

static size_t (*join_fn)(const uint8_t *, size_t, uint8_t *) = drop_crlf_base;

static size_t (*plain_fn)(const uint8_t *, size_t, size_t) = plain_lines_base;
static size_t (*b64_fn)(const uint8_t *, size_t, size_t, size_t *, size_t *) = b64_lines_base;
static size_t (*dec_fn)(const uint8_t *, size_t, uint8_t *, size_t) = b64_decode_none;
static int impl = MT_SCAN_BASE;

static bool avx2_usable(void)
{
#ifdef HAVE_AVX2_BUILD
	__builtin_cpu_init();
	return __builtin_cpu_supports("avx2");
#else
	return false;
#endif
}

bool mt_scan__force(int which)
{
	if (which == MT_SCAN_AVX2 || which == MT_SCAN_AVX2_ONLY) {
#ifdef HAVE_AVX2_BUILD
		if (!avx2_usable())
			return false;
		plain_fn = plain_lines_avx2;
		b64_fn = b64_lines_avx2;
		dec_fn = b64_decode_avx2;
		join_fn = which == MT_SCAN_AVX2 && __builtin_cpu_supports("avx512vbmi2") &&
				  __builtin_cpu_supports("avx512bw")
			      ? drop_crlf_vbmi2
			      : drop_crlf_avx2;
		impl = which;
		return true;
#else
		return false;
#endif
	}
	plain_fn = plain_lines_base;
	b64_fn = b64_lines_base;
	dec_fn = b64_decode_none;
	join_fn = drop_crlf_base;
	impl = MT_SCAN_BASE;
	return true;
}

int mt_scan__impl(void)
{
	return impl;
}

__attribute__((constructor)) static void scan_init(void)
{
	mt_scan__force(MT_SCAN_AVX2);
}

size_t mt_scan_plain_lines(const void *s, size_t n, size_t max)
{
	return plain_fn(s, n, max);
}

size_t mt_scan_b64_lines(const void *s, size_t n, size_t max, size_t *chars, size_t *lines)
{
	return b64_fn(s, n, max, chars, lines);
}

size_t mt_drop_crlf(const void *s, size_t n, uint8_t *out)
{
	return join_fn(s, n, out);
}

size_t mt_b64_decode_blocks(const void *s, size_t n, uint8_t *out, size_t out_room)
{
	return dec_fn(s, n, out, out_room);
}
