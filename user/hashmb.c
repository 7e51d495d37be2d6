// SPDX-License-Identifier: BSD-3-Clause
/*
 * MD5 and SHA-1 of many streams at once (include/mailtap/hashmb.h). MD5 is a chain of 64
 * dependent steps per 64-byte block, so one stream cannot go faster than the chain's latency
 * (OpenSSL's assembly: about 4.3 cycles a byte here). 16 streams (AVX-512F) or 8 (AVX2) go
 * through the same steps side by side in the 32-bit lanes of one register: about the same
 * latency for 16 or 8 blocks at a time; two registers' steps alternated hide each other's
 * latency (AVX-512F, 32 streams: 10 GB/s here, 16: 7 GB/s; AVX2 on Zen 3, 16 streams:
 * 4.1 GB/s, 8: 3.0 GB/s). SHA-1 goes the same way in AVX-512 lanes
 * (32 streams: 8 GB/s, 16: 7 GB/s). With the SHA extensions one SHA-1 stream is
 * latency-bound (one SHA1RNDS4 waits for the one before): three interleaved fill the unit,
 * 4.3 GB/s, which is what a pass with fewer than HASHMB_SHA_WIDE_MIN SHA-1 streams uses.
 * Streams keep their unhashed bytes (up to a cap) until enough others have bytes waiting
 * too; whatever cannot wait goes through the one-stream code.
 */
#define OPENSSL_SUPPRESS_DEPRECATED /* MD5_Update, SHA1_Update: see md5_blocks */
#include <openssl/md5.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>
#include "mailtap/hashmb.h"

static const uint32_t K[64] = {
    0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
    0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
    0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
    0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
    0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
    0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
    0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
    0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391,
};

/* ---- one stream ---- */

/* OpenSSL's MD5 block function (assembly on x86-64), reached through the MD5_CTX of its
 * deprecated low-level API: its state words are public, and MD5_Update on whole blocks with
 * nothing buffered (num 0) runs the block function over them and nothing else. */
static void md5_blocks(uint32_t h[4], const uint8_t *p, size_t nblocks)
{
	MD5_CTX c;

	if (!nblocks)
		return;
	memset(&c, 0, sizeof(c));
	c.A = h[0];
	c.B = h[1];
	c.C = h[2];
	c.D = h[3];
	MD5_Update(&c, p, nblocks * 64);
	h[0] = c.A;
	h[1] = c.B;
	h[2] = c.C;
	h[3] = c.D;
}

/* OpenSSL's SHA-1 block function (SHA-NI, AVX2 or SSSE3 code as the CPU has), the same way. */
static void sha1_blocks(uint32_t h[5], const uint8_t *p, size_t nblocks)
{
	SHA_CTX c;

	if (!nblocks)
		return;
	memset(&c, 0, sizeof(c));
	c.h0 = h[0];
	c.h1 = h[1];
	c.h2 = h[2];
	c.h3 = h[3];
	c.h4 = h[4];
	SHA1_Update(&c, p, nblocks * 64);
	h[0] = c.h0;
	h[1] = c.h1;
	h[2] = c.h2;
	h[3] = c.h3;
	h[4] = c.h4;
}

/* The algorithms of stream state (h: MD5, h1: SHA-1) over nblocks blocks at p. */
static void one_blocks(unsigned algs, uint32_t h[4], uint32_t h1[5], const uint8_t *p,
		       size_t nblocks)
{
	if (algs & HASHMB_MD5)
		md5_blocks(h, p, nblocks);
	if (algs & HASHMB_SHA1)
		sha1_blocks(h1, p, nblocks);
}

/* ---- sixteen streams ---- */

#if defined(__x86_64__) && defined(__GNUC__)
#include <cpuid.h>
#include <immintrin.h>
#define MB_AVX512 __attribute__((target("avx512f")))
#define HAVE_MB 1
#define LANES 32 /* the most streams of a pass */

/* One MD5 step on 16 lanes: F as one ternary-logic op, the rotate as one op. a + w + k does
 * not wait for b, the step before's result; the empty asm keeps the compiler from folding it
 * back into the chain, which then runs F, add, rotate, add: four ops where it ran five (MD5
 * on 16 lanes is bound by that chain's latency, not by the number of ops). */
#define VSTEP(imm, a, b, c, d, w, k, s)                                                            \
	do {                                                                                       \
		__m512i t_ =                                                                       \
		    _mm512_add_epi32((a), _mm512_add_epi32((w), _mm512_set1_epi32((int)(k))));     \
		__asm__("" : "+v"(t_));                                                            \
		(a) = _mm512_add_epi32(                                                            \
		    (b), _mm512_rol_epi32(_mm512_add_epi32(t_, _mm512_ternarylogic_epi32(          \
								   (b), (c), (d), (imm))),         \
					  (s)));                                                   \
	} while (0)
#define F1 0xca /* b ? c : d */
#define F2 0xe4 /* d ? b : c */
#define F3 0x96 /* b ^ c ^ d */
#define F4 0x39 /* c ^ (b | ~d) */

/* r[i]: the 16 words of lane i's block; out: r[j] holds word j of every lane. Pairs of
 * words, then of pairs, within 128-bit quarters; then the quarters across registers. 64
 * shuffles where 32 gathers cost several times as much. */
MB_AVX512 static inline void transpose16(__m512i r[16])
{
	__m512i t[16], u[16];

	for (int i = 0; i < 16; i += 2) {
		t[i] = _mm512_unpacklo_epi32(r[i], r[i + 1]);
		t[i + 1] = _mm512_unpackhi_epi32(r[i], r[i + 1]);
	}
	/* u[4g + k], quarter q: word 4q + k of lanes 4g .. 4g + 3 */
	for (int g = 0; g < 16; g += 4) {
		u[g] = _mm512_unpacklo_epi64(t[g], t[g + 2]);
		u[g + 1] = _mm512_unpackhi_epi64(t[g], t[g + 2]);
		u[g + 2] = _mm512_unpacklo_epi64(t[g + 1], t[g + 3]);
		u[g + 3] = _mm512_unpackhi_epi64(t[g + 1], t[g + 3]);
	}
	/* word 4q + k: quarter q of u[k], u[4 + k], u[8 + k], u[12 + k] */
	for (int k = 0; k < 4; k++) {
		__m512i v0 = _mm512_shuffle_i32x4(u[k], u[4 + k], 0x44);
		__m512i v1 = _mm512_shuffle_i32x4(u[k], u[4 + k], 0xee);
		__m512i v2 = _mm512_shuffle_i32x4(u[8 + k], u[12 + k], 0x44);
		__m512i v3 = _mm512_shuffle_i32x4(u[8 + k], u[12 + k], 0xee);

		r[k] = _mm512_shuffle_i32x4(v0, v2, 0x88);
		r[4 + k] = _mm512_shuffle_i32x4(v0, v2, 0xdd);
		r[8 + k] = _mm512_shuffle_i32x4(v1, v3, 0x88);
		r[12 + k] = _mm512_shuffle_i32x4(v1, v3, 0xdd);
	}
}

/* The 64 steps of one block, STEP(f, a, b, c, d, word index, k, s) each. */
#define MD5_STEPS(STEP)                                                                            \
	do {                                                                                       \
		for (int i = 0; i < 16; i += 4) {                                                  \
			STEP(F1, a, b, c, d, i, K[i], 7);                                          \
			STEP(F1, d, a, b, c, i + 1, K[i + 1], 12);                                 \
			STEP(F1, c, d, a, b, i + 2, K[i + 2], 17);                                 \
			STEP(F1, b, c, d, a, i + 3, K[i + 3], 22);                                 \
		}                                                                                  \
		for (int i = 16; i < 32; i += 4) {                                                 \
			STEP(F2, a, b, c, d, (5 * i + 1) & 15, K[i], 5);                           \
			STEP(F2, d, a, b, c, (5 * i + 6) & 15, K[i + 1], 9);                       \
			STEP(F2, c, d, a, b, (5 * i + 11) & 15, K[i + 2], 14);                     \
			STEP(F2, b, c, d, a, (5 * i + 16) & 15, K[i + 3], 20);                     \
		}                                                                                  \
		for (int i = 32; i < 48; i += 4) {                                                 \
			STEP(F3, a, b, c, d, (3 * i + 5) & 15, K[i], 4);                           \
			STEP(F3, d, a, b, c, (3 * i + 8) & 15, K[i + 1], 11);                      \
			STEP(F3, c, d, a, b, (3 * i + 11) & 15, K[i + 2], 16);                     \
			STEP(F3, b, c, d, a, (3 * i + 14) & 15, K[i + 3], 23);                     \
		}                                                                                  \
		for (int i = 48; i < 64; i += 4) {                                                 \
			STEP(F4, a, b, c, d, (7 * i) & 15, K[i], 6);                               \
			STEP(F4, d, a, b, c, (7 * i + 7) & 15, K[i + 1], 10);                      \
			STEP(F4, c, d, a, b, (7 * i + 14) & 15, K[i + 2], 15);                     \
			STEP(F4, b, c, d, a, (7 * i + 21) & 15, K[i + 3], 21);                     \
		}                                                                                  \
	} while (0)

/* Block blk of the 16 streams p[0..16) as 16 registers, word j of every lane in w[j]: each
 * lane's block loaded, then transposed. */
MB_AVX512 static inline void load_words16(__m512i w[16], const uint8_t *const *p, size_t blk)
{
	for (int l = 0; l < 16; l++)
		w[l] = _mm512_loadu_si512((const void *)(p[l] + 64 * blk));
	transpose16(w);
}

/* Word j of the MD5 states of h[0..16) as a register (and back). */
MB_AVX512 static inline __m512i state_get16(uint32_t *const *h, int j)
{
	uint32_t v[16];

	for (int l = 0; l < 16; l++)
		v[l] = h[l][j];
	return _mm512_loadu_si512(v);
}

MB_AVX512 static inline void state_put16(uint32_t *const *h, int j, __m512i x)
{
	uint32_t v[16];

	_mm512_storeu_si512(v, x);
	for (int l = 0; l < 16; l++)
		h[l][j] = v[l];
}

#define STEP16(f, a, b, c, d, wi, k, s) VSTEP(f, a, b, c, d, w[wi], k, s)

/* nblocks blocks of each of 16 streams: state h[lane], data p[lane]. */
MB_AVX512 static void md5_x16(uint32_t *h[16], const uint8_t *p[16], size_t nblocks)
{
	__m512i a = state_get16(h, 0), b = state_get16(h, 1), c = state_get16(h, 2),
		d = state_get16(h, 3);

	for (size_t blk = 0; blk < nblocks; blk++) {
		__m512i w[16], a0 = a, b0 = b, c0 = c, d0 = d;

		load_words16(w, p, blk);
		MD5_STEPS(STEP16);
		a = _mm512_add_epi32(a, a0);
		b = _mm512_add_epi32(b, b0);
		c = _mm512_add_epi32(c, c0);
		d = _mm512_add_epi32(d, d0);
	}
	state_put16(h, 0, a);
	state_put16(h, 1, b);
	state_put16(h, 2, c);
	state_put16(h, 3, d);
}

#define STEP32(f, a, b, c, d, wi, k, s)                                                            \
	do {                                                                                       \
		VSTEP(f, a[0], b[0], c[0], d[0], w[0][wi], k, s);                                  \
		VSTEP(f, a[1], b[1], c[1], d[1], w[1][wi], k, s);                                  \
	} while (0)

/* The same on 32 streams: two registers of 16 lanes whose steps alternate, so that each
 * one's chain runs while the other's waits. */
MB_AVX512 static void md5_x32(uint32_t *h[32], const uint8_t *p[32], size_t nblocks)
{
	__m512i a[2], b[2], c[2], d[2];

	for (int g = 0; g < 2; g++) {
		a[g] = state_get16(h + 16 * g, 0);
		b[g] = state_get16(h + 16 * g, 1);
		c[g] = state_get16(h + 16 * g, 2);
		d[g] = state_get16(h + 16 * g, 3);
	}
	for (size_t blk = 0; blk < nblocks; blk++) {
		__m512i w[2][16], a0[2], b0[2], c0[2], d0[2];

		for (int g = 0; g < 2; g++) {
			load_words16(w[g], p + 16 * g, blk);
			a0[g] = a[g];
			b0[g] = b[g];
			c0[g] = c[g];
			d0[g] = d[g];
		}
		MD5_STEPS(STEP32);
		for (int g = 0; g < 2; g++) {
			a[g] = _mm512_add_epi32(a[g], a0[g]);
			b[g] = _mm512_add_epi32(b[g], b0[g]);
			c[g] = _mm512_add_epi32(c[g], c0[g]);
			d[g] = _mm512_add_epi32(d[g], d0[g]);
		}
	}
	for (int g = 0; g < 2; g++) {
		state_put16(h + 16 * g, 0, a[g]);
		state_put16(h + 16 * g, 1, b[g]);
		state_put16(h + 16 * g, 2, c[g]);
		state_put16(h + 16 * g, 3, d[g]);
	}
}

/* The same on 8 lanes with AVX2 (CPUs without AVX-512): F in three ops, the rotate in three;
 * the words come from two 8x8 transposes of the lanes' blocks. */
#define MB_AVX2 __attribute__((target("avx2")))
#define VROL8(x, s) _mm256_or_si256(_mm256_slli_epi32((x), (s)), _mm256_srli_epi32((x), 32 - (s)))
#define VSTEP8(f, a, b, c, d, w, k, s)                                                             \
	do {                                                                                       \
		__m256i t_ =                                                                       \
		    _mm256_add_epi32((a), _mm256_add_epi32((w), _mm256_set1_epi32((int)(k))));     \
		__asm__("" : "+x"(t_));                                                            \
		(a) = _mm256_add_epi32((b), VROL8(_mm256_add_epi32(t_, (f)), (s)));                \
	} while (0)
#define G1(b, c, d) _mm256_xor_si256((d), _mm256_and_si256((b), _mm256_xor_si256((c), (d))))
#define G2(b, c, d) _mm256_xor_si256((c), _mm256_and_si256((d), _mm256_xor_si256((b), (c))))
#define G3(b, c, d) _mm256_xor_si256(_mm256_xor_si256((b), (c)), (d))
#define G4(b, c, d) _mm256_xor_si256((c), _mm256_or_si256((b), _mm256_xor_si256((d), ones)))
/* MD5_STEPS names F by its ternary-logic constant: the same function in AVX2 ops (f is a
 * constant, so only one branch is compiled). */
#define G8(f, b, c, d)                                                                             \
	((f) == F1 ? G1(b, c, d) : (f) == F2 ? G2(b, c, d) : (f) == F3 ? G3(b, c, d) : G4(b, c, d))

/* r[i]: 8 words of lane i; out: r[j] holds word j of every lane. */
MB_AVX2 static inline void transpose8(__m256i r[8])
{
	__m256i t[8], u[8];

	for (int i = 0; i < 8; i += 2) {
		t[i] = _mm256_unpacklo_epi32(r[i], r[i + 1]);
		t[i + 1] = _mm256_unpackhi_epi32(r[i], r[i + 1]);
	}
	for (int i = 0; i < 8; i += 4) {
		u[i] = _mm256_unpacklo_epi64(t[i], t[i + 2]);
		u[i + 1] = _mm256_unpackhi_epi64(t[i], t[i + 2]);
		u[i + 2] = _mm256_unpacklo_epi64(t[i + 1], t[i + 3]);
		u[i + 3] = _mm256_unpackhi_epi64(t[i + 1], t[i + 3]);
	}
	for (int i = 0; i < 4; i++) {
		r[i] = _mm256_permute2x128_si256(u[i], u[i + 4], 0x20);
		r[i + 4] = _mm256_permute2x128_si256(u[i], u[i + 4], 0x31);
	}
}

/* Block blk of the 8 streams p[0..8) as 16 registers, word j of every lane in w[j]. */
MB_AVX2 static inline void load_words8(__m256i w[16], const uint8_t *const *p, size_t blk)
{
	__m256i lo[8], hi[8];

	for (int l = 0; l < 8; l++) {
		const uint8_t *q = p[l] + 64 * blk;

		lo[l] = _mm256_loadu_si256((const __m256i *)(const void *)q);
		hi[l] = _mm256_loadu_si256((const __m256i *)(const void *)(q + 32));
	}
	transpose8(lo);
	transpose8(hi);
	for (int j = 0; j < 8; j++) {
		w[j] = lo[j];
		w[j + 8] = hi[j];
	}
}

/* Word j of the MD5 states of h[0..8) as a register (and back). */
MB_AVX2 static inline __m256i state_get8(uint32_t *const *h, int j)
{
	uint32_t v[8];

	for (int l = 0; l < 8; l++)
		v[l] = h[l][j];
	return _mm256_loadu_si256((const __m256i *)(const void *)v);
}

MB_AVX2 static inline void state_put8(uint32_t *const *h, int j, __m256i x)
{
	uint32_t v[8];

	_mm256_storeu_si256((__m256i *)(void *)v, x);
	for (int l = 0; l < 8; l++)
		h[l][j] = v[l];
}

#define STEP8(f, a, b, c, d, wi, k, s) VSTEP8(G8(f, b, c, d), a, b, c, d, w[wi], k, s)

MB_AVX2 static void md5_x8(uint32_t *h[LANES], const uint8_t *p[LANES], size_t nblocks)
{
	const __m256i ones = _mm256_set1_epi32(-1);
	__m256i a = state_get8(h, 0), b = state_get8(h, 1), c = state_get8(h, 2),
		d = state_get8(h, 3);

	for (size_t blk = 0; blk < nblocks; blk++) {
		__m256i w[16], a0 = a, b0 = b, c0 = c, d0 = d;

		load_words8(w, p, blk);
		MD5_STEPS(STEP8);
		a = _mm256_add_epi32(a, a0);
		b = _mm256_add_epi32(b, b0);
		c = _mm256_add_epi32(c, c0);
		d = _mm256_add_epi32(d, d0);
	}
	state_put8(h, 0, a);
	state_put8(h, 1, b);
	state_put8(h, 2, c);
	state_put8(h, 3, d);
}

#define STEP8X2(f, a, b, c, d, wi, k, s)                                                           \
	do {                                                                                       \
		VSTEP8(G8(f, b[0], c[0], d[0]), a[0], b[0], c[0], d[0], w[0][wi], k, s);           \
		VSTEP8(G8(f, b[1], c[1], d[1]), a[1], b[1], c[1], d[1], w[1][wi], k, s);           \
	} while (0)

/* 16 streams with AVX2: two registers of 8 lanes whose steps alternate, as md5_x32 does with
 * AVX-512. One register's chain leaves most of the vector units idle (a step is about ten
 * ops, its chain about six), so the second register's steps run in its shadow. */
MB_AVX2 static void md5_x8x2(uint32_t *h[LANES], const uint8_t *p[LANES], size_t nblocks)
{
	const __m256i ones = _mm256_set1_epi32(-1);
	__m256i a[2], b[2], c[2], d[2];

	for (int g = 0; g < 2; g++) {
		a[g] = state_get8(h + 8 * g, 0);
		b[g] = state_get8(h + 8 * g, 1);
		c[g] = state_get8(h + 8 * g, 2);
		d[g] = state_get8(h + 8 * g, 3);
	}
	for (size_t blk = 0; blk < nblocks; blk++) {
		__m256i w[2][16], a0[2], b0[2], c0[2], d0[2];

		for (int g = 0; g < 2; g++) {
			load_words8(w[g], p + 8 * g, blk);
			a0[g] = a[g];
			b0[g] = b[g];
			c0[g] = c[g];
			d0[g] = d[g];
		}
		MD5_STEPS(STEP8X2);
		for (int g = 0; g < 2; g++) {
			a[g] = _mm256_add_epi32(a[g], a0[g]);
			b[g] = _mm256_add_epi32(b[g], b0[g]);
			c[g] = _mm256_add_epi32(c[g], c0[g]);
			d[g] = _mm256_add_epi32(d[g], d0[g]);
		}
	}
	for (int g = 0; g < 2; g++) {
		state_put8(h + 8 * g, 0, a[g]);
		state_put8(h + 8 * g, 1, b[g]);
		state_put8(h + 8 * g, 2, c[g]);
		state_put8(h + 8 * g, 3, d[g]);
	}
}

/* SHA-1 of 16 streams in the lanes of AVX-512 registers (BW for the byte swap). One round
 * with the names rotating (the next round is R(e, a, b, c, d)):
 *   e += rol(a, 5) + f(b, c, d) + k + w;  b = rol(b, 30)
 * Of these, only rol(a, 5) waits for the round before: e + k + w + f is summed first (the
 * empty asm keeps the compiler from folding it back), so the chain is two ops a round. */
#define MB_AVX512BW __attribute__((target("avx512f,avx512bw")))
#define SHA_K1 0x5a827999
#define SHA_K2 0x6ed9eba1
#define SHA_K3 0x8f1bbcdc
#define SHA_K4 0xca62c1d6
#define SCH 0x96  /* b ^ c ^ d (rounds 20-39 and 60-79) */
#define SMAJ 0xe8 /* majority (rounds 40-59); rounds 0-19 take F1 (b ? c : d) */

/* Schedule word t (16 <= t < 80) in w[t & 15], from the 16 before it. */
#define SW(w, t)                                                                                   \
	((w)[(t)&15] = _mm512_rol_epi32(                                                           \
	     _mm512_xor_si512(_mm512_ternarylogic_epi32((w)[((t)-3) & 15], (w)[((t)-8) & 15],      \
							(w)[((t)-14) & 15], 0x96),                 \
			      (w)[(t)&15]),                                                        \
	     1))
#define SR(f, k, wt, a, b, c, d, e)                                                                \
	do {                                                                                       \
		__m512i u_ = _mm512_add_epi32(                                                     \
		    _mm512_add_epi32((e), _mm512_add_epi32((wt), _mm512_set1_epi32((int)(k)))),    \
		    _mm512_ternarylogic_epi32((b), (c), (d), (f)));                                \
		__asm__("" : "+v"(u_));                                                            \
		(e) = _mm512_add_epi32(u_, _mm512_rol_epi32((a), 5));                              \
		(b) = _mm512_rol_epi32((b), 30);                                                   \
	} while (0)

/* Rounds t .. t + 4, the names rotating back to where they were. */
#define SHA1_FIVE(ROUND, f, k, t)                                                                  \
	do {                                                                                       \
		ROUND(f, k, t, a, b, c, d, e);                                                     \
		ROUND(f, k, (t) + 1, e, a, b, c, d);                                               \
		ROUND(f, k, (t) + 2, d, e, a, b, c);                                               \
		ROUND(f, k, (t) + 3, c, d, e, a, b);                                               \
		ROUND(f, k, (t) + 4, b, c, d, e, a);                                               \
	} while (0)

/* The 80 rounds of one block, ROUND(f, k, t, a, b, c, d, e) each: rounds 0-15 read word t,
 * later ones compute it first. */
#define SHA1_ROUNDS(ROUND)                                                                         \
	do {                                                                                       \
		for (int t = 0; t < 20; t += 5)                                                    \
			SHA1_FIVE(ROUND, F1, SHA_K1, t);                                           \
		for (int t = 20; t < 40; t += 5)                                                   \
			SHA1_FIVE(ROUND, SCH, SHA_K2, t);                                          \
		for (int t = 40; t < 60; t += 5)                                                   \
			SHA1_FIVE(ROUND, SMAJ, SHA_K3, t);                                         \
		for (int t = 60; t < 80; t += 5)                                                   \
			SHA1_FIVE(ROUND, SCH, SHA_K4, t);                                          \
	} while (0)

#define SROUND16(f, k, t, a, b, c, d, e) SR(f, k, (t) < 16 ? w[(t)&15] : SW(w, t), a, b, c, d, e)
#define SROUND32(f, k, t, a, b, c, d, e)                                                           \
	do {                                                                                       \
		SR(f, k, (t) < 16 ? w[0][(t)&15] : SW(w[0], t), a[0], b[0], c[0], d[0], e[0]);     \
		SR(f, k, (t) < 16 ? w[1][(t)&15] : SW(w[1], t), a[1], b[1], c[1], d[1], e[1]);     \
	} while (0)

/* Block blk of 16 streams as big-endian words, word j of every lane in w[j]. */
MB_AVX512BW static inline void load_words16_be(__m512i w[16], const uint8_t *const *p, size_t blk)
{
	const __m512i bswap = _mm512_broadcast_i32x4(
	    _mm_set_epi8(12, 13, 14, 15, 8, 9, 10, 11, 4, 5, 6, 7, 0, 1, 2, 3));

	load_words16(w, p, blk);
	for (int j = 0; j < 16; j++)
		w[j] = _mm512_shuffle_epi8(w[j], bswap);
}

/* nblocks blocks of each of 16 streams: SHA-1 state h[lane], data p[lane]. */
MB_AVX512BW static void sha1_x16(uint32_t *h[16], const uint8_t *p[16], size_t nblocks)
{
	__m512i a = state_get16(h, 0), b = state_get16(h, 1), c = state_get16(h, 2),
		d = state_get16(h, 3), e = state_get16(h, 4);

	for (size_t blk = 0; blk < nblocks; blk++) {
		__m512i w[16], a0 = a, b0 = b, c0 = c, d0 = d, e0 = e;

		load_words16_be(w, p, blk);
		SHA1_ROUNDS(SROUND16);
		a = _mm512_add_epi32(a, a0);
		b = _mm512_add_epi32(b, b0);
		c = _mm512_add_epi32(c, c0);
		d = _mm512_add_epi32(d, d0);
		e = _mm512_add_epi32(e, e0);
	}
	state_put16(h, 0, a);
	state_put16(h, 1, b);
	state_put16(h, 2, c);
	state_put16(h, 3, d);
	state_put16(h, 4, e);
}

/* The same on 32 streams, two registers whose rounds alternate. */
MB_AVX512BW static void sha1_x32(uint32_t *h[32], const uint8_t *p[32], size_t nblocks)
{
	__m512i a[2], b[2], c[2], d[2], e[2];

	for (int g = 0; g < 2; g++) {
		a[g] = state_get16(h + 16 * g, 0);
		b[g] = state_get16(h + 16 * g, 1);
		c[g] = state_get16(h + 16 * g, 2);
		d[g] = state_get16(h + 16 * g, 3);
		e[g] = state_get16(h + 16 * g, 4);
	}
	for (size_t blk = 0; blk < nblocks; blk++) {
		__m512i w[2][16], a0[2], b0[2], c0[2], d0[2], e0[2];

		for (int g = 0; g < 2; g++) {
			load_words16_be(w[g], p + 16 * g, blk);
			a0[g] = a[g];
			b0[g] = b[g];
			c0[g] = c[g];
			d0[g] = d[g];
			e0[g] = e[g];
		}
		SHA1_ROUNDS(SROUND32);
		for (int g = 0; g < 2; g++) {
			a[g] = _mm512_add_epi32(a[g], a0[g]);
			b[g] = _mm512_add_epi32(b[g], b0[g]);
			c[g] = _mm512_add_epi32(c[g], c0[g]);
			d[g] = _mm512_add_epi32(d[g], d0[g]);
			e[g] = _mm512_add_epi32(e[g], e0[g]);
		}
	}
	for (int g = 0; g < 2; g++) {
		state_put16(h + 16 * g, 0, a[g]);
		state_put16(h + 16 * g, 1, b[g]);
		state_put16(h + 16 * g, 2, c[g]);
		state_put16(h + 16 * g, 3, d[g]);
		state_put16(h + 16 * g, 4, e[g]);
	}
}

/* SHA-1 of n (2 or 3) streams interleaved with the SHA extensions: each step is written once
 * for all n, so the CPU overlaps their latencies. Group g of four rounds takes schedule words
 * W[4g..4g+3]: from g = 4 on, W[g] = msg2(msg1(W[g-4], W[g-3]) ^ W[g-2], W[g-1]). */
#define MB_SHA __attribute__((target("sha,sse4.1")))
#define SHA_MAXN 3

MB_SHA static inline __attribute__((always_inline)) void
sha1_ni(const int n, uint32_t *h[SHA_MAXN], const uint8_t *p[SHA_MAXN], size_t nblocks)
{
	const __m128i bswap = _mm_set_epi64x(0x0001020304050607LL, 0x08090a0b0c0d0e0fLL);
	__m128i abcd[SHA_MAXN], e0[SHA_MAXN];

	for (int k = 0; k < n; k++) {
		abcd[k] =
		    _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)(const void *)h[k]), 0x1b);
		e0[k] = _mm_set_epi32((int)h[k][4], 0, 0, 0);
	}
	for (size_t b = 0; b < nblocks; b++) {
		__m128i w[SHA_MAXN][4], abcd0[SHA_MAXN], e00[SHA_MAXN], prev[SHA_MAXN], e[SHA_MAXN];

		for (int k = 0; k < n; k++) {
			const uint8_t *q = p[k] + 64 * b;

			abcd0[k] = abcd[k];
			e00[k] = e0[k];
			for (int j = 0; j < 4; j++)
				w[k][j] = _mm_shuffle_epi8(
				    _mm_loadu_si128((const __m128i *)(const void *)(q + 16 * j)),
				    bswap);
		}
#pragma GCC unroll 20
		for (int g = 0; g < 20; g++) {
#pragma GCC unroll 3
			for (int k = 0; k < n; k++) {
				if (g >= 4) {
					__m128i t =
					    _mm_sha1msg1_epu32(w[k][g & 3], w[k][(g + 1) & 3]);

					t = _mm_xor_si128(t, w[k][(g + 2) & 3]);
					w[k][g & 3] = _mm_sha1msg2_epu32(t, w[k][(g + 3) & 3]);
				}
				e[k] = g == 0 ? _mm_add_epi32(e0[k], w[k][0])
					      : _mm_sha1nexte_epu32(prev[k], w[k][g & 3]);
				prev[k] = abcd[k];
				if (g < 5)
					abcd[k] = _mm_sha1rnds4_epu32(abcd[k], e[k], 0);
				else if (g < 10)
					abcd[k] = _mm_sha1rnds4_epu32(abcd[k], e[k], 1);
				else if (g < 15)
					abcd[k] = _mm_sha1rnds4_epu32(abcd[k], e[k], 2);
				else
					abcd[k] = _mm_sha1rnds4_epu32(abcd[k], e[k], 3);
			}
		}
		for (int k = 0; k < n; k++) {
			e0[k] = _mm_sha1nexte_epu32(prev[k], e00[k]);
			abcd[k] = _mm_add_epi32(abcd[k], abcd0[k]);
		}
	}
	for (int k = 0; k < n; k++) {
		_mm_storeu_si128((__m128i *)(void *)h[k], _mm_shuffle_epi32(abcd[k], 0x1b));
		h[k][4] = (uint32_t)_mm_extract_epi32(e0[k], 3);
	}
}

MB_SHA static void sha1_ni_x3(uint32_t *h[SHA_MAXN], const uint8_t *p[SHA_MAXN], size_t nblocks)
{
	sha1_ni(3, h, p, nblocks);
}

MB_SHA static void sha1_ni_x2(uint32_t *h[SHA_MAXN], const uint8_t *p[SHA_MAXN], size_t nblocks)
{
	sha1_ni(2, h, p, nblocks);
}
#endif

/* ---- streams and the pool ---- */

static int cpu_lanes; /* 32 (AVX-512F: two registers of 16), 16 (AVX2: two of 8) or 0 */
static bool cpu_512;  /* AVX-512F */
static bool cpu_sha;  /* SHA extensions (and SSE4.1) */
static bool cpu_bw;   /* AVX-512BW (SHA-1 in lanes) */

__attribute__((constructor)) static void hashmb_cpu(void)
{
#ifdef HAVE_MB
	__builtin_cpu_init();
	cpu_512 = __builtin_cpu_supports("avx512f");
	cpu_lanes = cpu_512 ? 32 : __builtin_cpu_supports("avx2") ? 16 : 0;
	cpu_bw = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
	{
		/* SHA extensions: CPUID.(EAX=7,ECX=0):EBX bit 29 (clang's __builtin_cpu_supports
		 * has no "sha") */
		unsigned a, b, c, d;

		cpu_sha = __builtin_cpu_supports("sse4.1") &&
			  __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b >> 29 & 1);
	}
#endif
}

void hashmb_pool_init(struct hashmb_pool *p)
{
	memset(p, 0, sizeof(*p));
	p->lanes = cpu_lanes;
	p->avx2 = !cpu_512;
	p->solo = !cpu_lanes;
	p->sha_ni = cpu_sha;
	p->sha_wide = cpu_bw;
}

bool hashmb_pool_set_sha_wide(struct hashmb_pool *p, bool on)
{
	if (on && !cpu_bw)
		return false;
	p->sha_wide = on;
	return true;
}

bool hashmb_pool_set_sha_ni(struct hashmb_pool *p, bool on)
{
	if (on && !cpu_sha)
		return false;
	p->sha_ni = on;
	return true;
}

bool hashmb_pool_set_lanes(struct hashmb_pool *p, int lanes)
{
	if (lanes != 8 && lanes != 16 && lanes != 32)
		return false;
	if (lanes > cpu_lanes || (lanes > 16 && p->avx2))
		return false;
	p->lanes = lanes;
	p->solo = false;
	return true;
}

bool hashmb_pool_set_avx2(struct hashmb_pool *p, bool on)
{
	if (!cpu_lanes || (!on && !cpu_512))
		return false;
	p->avx2 = on;
	if (on && p->lanes > 16)
		p->lanes = 16;
	return true;
}

void hashmb_pool_set_multi(struct hashmb_pool *p, bool on)
{
	p->solo = !on || !p->lanes;
}

void hashmb_init(struct hashmb *s, struct hashmb_pool *pool, unsigned algs)
{
	memset(s, 0, sizeof(*s));
	s->pool = pool;
	s->ready = -1;
	s->algs = algs & (HASHMB_MD5 | HASHMB_SHA1);
	s->h[0] = s->h1[0] = 0x67452301;
	s->h[1] = s->h1[1] = 0xefcdab89;
	s->h[2] = s->h1[2] = 0x98badcfe;
	s->h[3] = s->h1[3] = 0x10325476;
	s->h1[4] = 0xc3d2e1f0;
}

static void ready_add(struct hashmb *s)
{
	struct hashmb_pool *p = s->pool;

	if (s->ready >= 0 || p->nready == HASHMB_MAX_READY)
		return;
	s->ready = p->nready;
	p->ready[p->nready++] = s;
}

/* s first in the ready list (so that the next pass takes it), whatever it has waiting;
 * false when the list is full without it. */
static bool ready_first(struct hashmb *s)
{
	struct hashmb_pool *p = s->pool;
	struct hashmb *o;

	ready_add(s);
	if (s->ready < 0)
		return false;
	o = p->ready[0];
	p->ready[0] = s;
	p->ready[s->ready] = o;
	o->ready = s->ready;
	s->ready = 0;
	return true;
}

static void ready_del(struct hashmb *s)
{
	struct hashmb_pool *p = s->pool;
	int i = s->ready;

	if (i < 0)
		return;
	p->ready[i] = p->ready[--p->nready];
	p->ready[i]->ready = i;
	s->ready = -1;
}

/* Drops the first `bytes` (hashed) of the stream's buffer. */
static void consume(struct hashmb *s, size_t bytes)
{
	memmove(s->buf, s->buf + bytes, s->n - bytes);
	s->n -= (uint32_t)bytes;
	if (s->pool)
		s->pool->pending -= bytes;
	if (s->n < HASHMB_READY_MIN)
		ready_del(s);
}

/* The stream's whole blocks, on its own. */
static void solo(struct hashmb *s)
{
	size_t nb = s->n / 64;

	if (!nb)
		return;
	one_blocks(s->algs, s->h, s->h1, s->buf, nb);
	if (s->pool)
		s->pool->st.solo_blocks += nb;
	consume(s, nb * 64);
}

#ifdef HAVE_MB
/* What idle lanes hash. */
static const uint8_t zeros[HASHMB_STREAM_CAP];

/* SHA-1 of the streams l[0..k) over nb blocks each: in the lanes of AVX-512 registers when
 * there are enough of them, else three at a time with SHA-NI. */
static void sha1_streams(struct hashmb_pool *p, struct hashmb **l, int k, size_t nb)
{
	int i = 0;

	if (p->sha_wide && k >= (p->sha_ni ? HASHMB_SHA_WIDE_MIN : 2)) {
		uint32_t idle[LANES][5], *h[LANES];
		const uint8_t *d[LANES];
		int w = k > 16 ? 32 : 16;

		for (int j = 0; j < w; j++) {
			h[j] = j < k ? l[j]->h1 : idle[j];
			d[j] = j < k ? l[j]->buf : zeros;
		}
		if (w == 32)
			sha1_x32(h, d, nb);
		else
			sha1_x16(h, d, nb);
		p->st.sha_lane_runs++;
		return;
	}
	while (p->sha_ni && k - i >= 2) {
		int m = k - i >= 3 ? 3 : 2;
		uint32_t *h[SHA_MAXN];
		const uint8_t *d[SHA_MAXN];

		for (int j = 0; j < m; j++) {
			h[j] = l[i + j]->h1;
			d[j] = l[i + j]->buf;
		}
		if (m == 3)
			sha1_ni_x3(h, d, nb);
		else
			sha1_ni_x2(h, d, nb);
		i += m;
	}
	for (; i < k; i++)
		sha1_blocks(l[i]->h1, l[i]->buf, nb);
}

/* The ready streams (up to the pool's lanes) side by side, as many blocks as each of them
 * has: MD5 in the lanes of one register, or of two when more than 16 (AVX2: 8) are ready
 * (idle lanes hash zeros into a state nobody reads); SHA-1 the same way, or three streams at
 * a time through SHA-NI when fewer than HASHMB_SHA_WIDE_MIN need it (sha1_streams). */
static void run_lanes(struct hashmb_pool *p)
{
	struct hashmb *l[LANES], *s1[LANES];
	uint32_t idle[LANES][4], *h[LANES];
	const uint8_t *d[LANES];
	size_t nb = SIZE_MAX;
	int k = p->nready < p->lanes ? p->nready : p->lanes, n1 = 0;
	bool md5 = false;

	for (int i = 0; i < p->lanes; i++) {
		l[i] = i < k ? p->ready[i] : NULL;
		h[i] = l[i] && (l[i]->algs & HASHMB_MD5) ? l[i]->h : idle[i];
		d[i] = l[i] ? l[i]->buf : zeros;
		if (l[i] && l[i]->n / 64 < nb)
			nb = l[i]->n / 64;
		if (l[i] && (l[i]->algs & HASHMB_MD5))
			md5 = true;
		if (l[i] && (l[i]->algs & HASHMB_SHA1))
			s1[n1++] = l[i];
	}
	if (md5 && k > 16) {
		md5_x32(h, d, nb);
		p->st.wide_runs++;
	} else if (md5 && !p->avx2 && p->lanes >= 16) {
		md5_x16(h, d, nb);
	} else if (md5 && k > 8) {
		md5_x8x2(h, d, nb);
		p->st.wide_runs++;
	} else if (md5) {
		md5_x8(h, d, nb);
	}
	sha1_streams(p, s1, n1, nb);
	p->st.lane_runs++;
	p->st.lane_blocks += (uint64_t)k * nb;
	for (int i = 0; i < k; i++)
		consume(l[i], nb * 64);
}
#endif

/* Room for `want` more bytes (at most HASHMB_STREAM_CAP in all): buffers start small and
 * double, so that a small file costs a small buffer. */
static bool grow(struct hashmb *s, size_t want)
{
	size_t need = s->n + want, cap = s->cap ? s->cap : HASHMB_MIN_BUF;
	uint8_t *nb;

	if (need <= s->cap)
		return true;
	while (cap < need)
		cap *= 2;
	if (cap > HASHMB_STREAM_CAP)
		cap = HASHMB_STREAM_CAP;
	nb = realloc(s->buf, cap);
	if (!nb)
		return false;
	if (s->pool)
		s->pool->alloc += cap - s->cap;
	s->buf = nb;
	s->cap = (uint32_t)cap;
	return true;
}

/* Back to the smallest buffer (after a flush left less than a block). */
static void shrink(struct hashmb *s)
{
	uint8_t *nb;

	if (s->cap <= HASHMB_MIN_BUF || s->n > HASHMB_MIN_BUF)
		return;
	nb = realloc(s->buf, HASHMB_MIN_BUF);
	if (!nb)
		return;
	s->pool->alloc -= s->cap - HASHMB_MIN_BUF;
	s->buf = nb;
	s->cap = HASHMB_MIN_BUF;
}

void hashmb_update(struct hashmb *s, const void *data, size_t n)
{
	const uint8_t *q = data;
	struct hashmb_pool *p = s->pool;

	if (s->failed || !n)
		return;
	s->len += n;
	if ((!p || p->solo) && s->n && s->n < 64 && s->n + n >= 64) {
		/* one stream at a time: complete the waiting block first */
		size_t take = 64 - s->n;

		if (!grow(s, take)) {
			s->failed = true;
			return;
		}
		memcpy(s->buf + s->n, q, take);
		s->n = 64;
		if (p)
			p->pending += take;
		solo(s);
		q += take;
		n -= take;
	}
	if ((!p || p->solo) && s->n == 0 && n >= 64) {
		/* one stream at a time: whole blocks straight from the caller's bytes */
		size_t nb = n / 64;

		one_blocks(s->algs, s->h, s->h1, q, nb);
		if (p)
			p->st.solo_blocks += nb;
		q += nb * 64;
		n -= nb * 64;
	}
	while (n) {
		size_t take = HASHMB_STREAM_CAP - s->n;

		if (take > n)
			take = n;
		if (!grow(s, take)) {
			s->failed =
			    true; /* hashmb_final says so: no digest rather than a wrong one */
			return;
		}
		memcpy(s->buf + s->n, q, take);
		s->n += (uint32_t)take;
		q += take;
		n -= take;
		if (p)
			p->pending += take;
		if (!p || p->solo) {
			solo(s);
			continue;
		}
		if (s->n >= HASHMB_READY_MIN)
			ready_add(s);
#ifdef HAVE_MB
		while (p->nready >= p->lanes)
			run_lanes(p);
		/* full (or the pool is): with enough company now, else on its own */
		if ((s->n == HASHMB_STREAM_CAP || p->pending > HASHMB_POOL_CAP) &&
		    p->nready >= HASHMB_LANES_MIN && s->ready >= 0)
			run_lanes(p);
#endif
		if (s->n == HASHMB_STREAM_CAP || p->pending > HASHMB_POOL_CAP ||
		    p->alloc > HASHMB_POOL_CAP) {
			solo(s);
			if (p->alloc > HASHMB_POOL_CAP)
				shrink(s); /* the pool's buffers are bounded too */
		}
	}
}

static void release(struct hashmb *s)
{
	if (s->pool) {
		ready_del(s);
		s->pool->pending -= s->n;
		s->pool->alloc -= s->cap;
	}
	s->cap = 0;
	free(s->buf);
	s->buf = NULL;
	s->n = 0;
}

bool hashmb_final(struct hashmb *s, uint8_t md5[16], uint8_t sha1[20])
{
	uint8_t last[128];
	size_t rest, padded;
	uint64_t bits = s->len * 8;

	if (s->failed) {
		release(s);
		return false;
	}
#ifdef HAVE_MB
	/* The last blocks, when there are enough of them and enough waiting company, in a pass
	 * (the others' blocks move on with them) rather than through OpenSSL one stream at a
	 * time. A worker that sees half the files has more of these left (passes of 32 are
	 * rarer): two workers 6% faster on the benchmark capture, one unchanged. */
	while (s->pool && !s->pool->solo && s->n >= 64 * HASHMB_FINAL_BLOCKS &&
	       s->pool->nready + (s->ready < 0) >= HASHMB_FINAL_COMPANY && ready_first(s)) {
		s->pool->st.final_runs++;
		run_lanes(s->pool);
	}
#endif
	if (s->buf)
		solo(s);
	rest = s->n; /* < 64 */
	memset(last, 0, sizeof(last));
	if (rest)
		memcpy(last, s->buf, rest);
	last[rest] = 0x80;
	padded = rest < 56 ? 64 : 128;
	if (s->algs & HASHMB_MD5) { /* the length in bits, little-endian */
		for (int i = 0; i < 8; i++)
			last[padded - 8 + i] = (uint8_t)(bits >> (8 * i));
		md5_blocks(s->h, last, padded / 64);
		if (md5)
			for (int i = 0; i < 4; i++)
				memcpy(md5 + 4 * i, &s->h[i], 4);
	}
	if (s->algs & HASHMB_SHA1) { /* big-endian; digest words big-endian */
		for (int i = 0; i < 8; i++)
			last[padded - 1 - i] = (uint8_t)(bits >> (8 * i));
		sha1_blocks(s->h1, last, padded / 64);
		if (sha1)
			for (int i = 0; i < 20; i++)
				sha1[i] = (uint8_t)(s->h1[i / 4] >> (24 - 8 * (i % 4)));
	}
	release(s);
	return true;
}

void hashmb_abandon(struct hashmb *s)
{
	release(s);
}
