// SPDX-License-Identifier: BSD-3-Clause
/*
 * MD5 of many streams at once (include/mailtap/md5mb.h). MD5 is a chain of 64 dependent steps
 * per 64-byte block, so one stream cannot go faster than the chain's latency (OpenSSL's
 * assembly: about 4.3 cycles a byte here). 16 streams (AVX-512F) or 8 (AVX2) go through the
 * same steps side by side in the 32-bit lanes of one register: about the same latency for
 * 16 or 8 blocks at a time. Streams keep their unhashed bytes (up to a cap) until enough
 * others have bytes waiting too; whatever cannot wait goes through the one-stream code.
 */
#define OPENSSL_SUPPRESS_DEPRECATED /* MD5_Update: see md5_blocks */
#include <openssl/md5.h>
#include <stdlib.h>
#include <string.h>
#include "mailtap/md5mb.h"

static const uint32_t K[64] = {
	0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613,
	0xfd469501, 0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193,
	0xa679438e, 0x49b40821, 0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d,
	0x02441453, 0xd8a1e681, 0xe7d3fbc8, 0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed,
	0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a, 0xfffa3942, 0x8771f681, 0x6d9d6122,
	0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70, 0x289b7ec6, 0xeaa127fa,
	0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665, 0xf4292244,
	0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
	0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb,
	0xeb86d391,
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

/* ---- sixteen streams ---- */

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define MB_AVX512 __attribute__((target("avx512f")))
#define HAVE_MB 1
#define LANES 16

/* One MD5 step on 16 lanes: F as one ternary-logic op, the rotate as one op. */
#define VSTEP(imm, a, b, c, d, w, k, s)                                                           \
	(a) = _mm512_add_epi32(                                                                    \
	    (b), _mm512_rol_epi32(                                                                 \
		     _mm512_add_epi32(_mm512_add_epi32((a), _mm512_ternarylogic_epi32((b), (c),    \
										      (d), (imm))), \
				      _mm512_add_epi32((w), _mm512_set1_epi32((int)(k)))),         \
		     (s)))
#define F1 0xca /* b ? c : d */
#define F2 0xe4 /* d ? b : c */
#define F3 0x96 /* b ^ c ^ d */
#define F4 0x39 /* c ^ (b | ~d) */

/* nblocks blocks of each of 16 streams: state h[lane], data p[lane]. Word j of block k of
 * every lane is gathered from the 16 addresses p[lane] + 64k + 4j. */
MB_AVX512 static void md5_x16(uint32_t *h[LANES], const uint8_t *p[LANES], size_t nblocks)
{
	uint32_t st[4][LANES];
	__m512i a, b, c, d, lo_addr, hi_addr;

	for (int l = 0; l < LANES; l++)
		for (int j = 0; j < 4; j++)
			st[j][l] = h[l][j];
	a = _mm512_loadu_si512(st[0]);
	b = _mm512_loadu_si512(st[1]);
	c = _mm512_loadu_si512(st[2]);
	d = _mm512_loadu_si512(st[3]);
	lo_addr = _mm512_loadu_si512((const void *)p);
	hi_addr = _mm512_loadu_si512((const void *)(p + 8));
	for (size_t blk = 0; blk < nblocks; blk++) {
		__m512i w[16], a0 = a, b0 = b, c0 = c, d0 = d;

		for (int j = 0; j < 16; j++) {
			__m256i lo = _mm512_i64gather_epi32(lo_addr, (const void *)(uintptr_t)(4 * j), 1);
			__m256i hi = _mm512_i64gather_epi32(hi_addr, (const void *)(uintptr_t)(4 * j), 1);

			w[j] = _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
		}
		lo_addr = _mm512_add_epi64(lo_addr, _mm512_set1_epi64(64));
		hi_addr = _mm512_add_epi64(hi_addr, _mm512_set1_epi64(64));
		for (int i = 0; i < 16; i += 4) {
			VSTEP(F1, a, b, c, d, w[i], K[i], 7);
			VSTEP(F1, d, a, b, c, w[i + 1], K[i + 1], 12);
			VSTEP(F1, c, d, a, b, w[i + 2], K[i + 2], 17);
			VSTEP(F1, b, c, d, a, w[i + 3], K[i + 3], 22);
		}
		for (int i = 16; i < 32; i += 4) {
			VSTEP(F2, a, b, c, d, w[(5 * i + 1) & 15], K[i], 5);
			VSTEP(F2, d, a, b, c, w[(5 * i + 6) & 15], K[i + 1], 9);
			VSTEP(F2, c, d, a, b, w[(5 * i + 11) & 15], K[i + 2], 14);
			VSTEP(F2, b, c, d, a, w[(5 * i + 16) & 15], K[i + 3], 20);
		}
		for (int i = 32; i < 48; i += 4) {
			VSTEP(F3, a, b, c, d, w[(3 * i + 5) & 15], K[i], 4);
			VSTEP(F3, d, a, b, c, w[(3 * i + 8) & 15], K[i + 1], 11);
			VSTEP(F3, c, d, a, b, w[(3 * i + 11) & 15], K[i + 2], 16);
			VSTEP(F3, b, c, d, a, w[(3 * i + 14) & 15], K[i + 3], 23);
		}
		for (int i = 48; i < 64; i += 4) {
			VSTEP(F4, a, b, c, d, w[(7 * i) & 15], K[i], 6);
			VSTEP(F4, d, a, b, c, w[(7 * i + 7) & 15], K[i + 1], 10);
			VSTEP(F4, c, d, a, b, w[(7 * i + 14) & 15], K[i + 2], 15);
			VSTEP(F4, b, c, d, a, w[(7 * i + 21) & 15], K[i + 3], 21);
		}
		a = _mm512_add_epi32(a, a0);
		b = _mm512_add_epi32(b, b0);
		c = _mm512_add_epi32(c, c0);
		d = _mm512_add_epi32(d, d0);
	}
	_mm512_storeu_si512(st[0], a);
	_mm512_storeu_si512(st[1], b);
	_mm512_storeu_si512(st[2], c);
	_mm512_storeu_si512(st[3], d);
	for (int l = 0; l < LANES; l++)
		for (int j = 0; j < 4; j++)
			h[l][j] = st[j][l];
}

/* The same on 8 lanes with AVX2 (CPUs without AVX-512): F in three ops, the rotate in three;
 * the words come from two 8x8 transposes of the lanes' blocks. */
#define MB_AVX2 __attribute__((target("avx2")))
#define VROL8(x, s) _mm256_or_si256(_mm256_slli_epi32((x), (s)), _mm256_srli_epi32((x), 32 - (s)))
#define VSTEP8(f, a, b, c, d, w, k, s)                                                            \
	(a) = _mm256_add_epi32(                                                                    \
	    (b), VROL8(_mm256_add_epi32(_mm256_add_epi32((a), (f)),                                \
					_mm256_add_epi32((w), _mm256_set1_epi32((int)(k)))),       \
		       (s)))
#define G1(b, c, d) _mm256_xor_si256((d), _mm256_and_si256((b), _mm256_xor_si256((c), (d))))
#define G2(b, c, d) _mm256_xor_si256((c), _mm256_and_si256((d), _mm256_xor_si256((b), (c))))
#define G3(b, c, d) _mm256_xor_si256(_mm256_xor_si256((b), (c)), (d))
#define G4(b, c, d) _mm256_xor_si256((c), _mm256_or_si256((b), _mm256_xor_si256((d), ones)))

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

MB_AVX2 static void md5_x8(uint32_t *h[LANES], const uint8_t *p[LANES], size_t nblocks)
{
	const __m256i ones = _mm256_set1_epi32(-1);
	uint32_t st[4][8];
	__m256i a, b, c, d;

	for (int l = 0; l < 8; l++)
		for (int j = 0; j < 4; j++)
			st[j][l] = h[l][j];
	a = _mm256_loadu_si256((const __m256i *)(const void *)st[0]);
	b = _mm256_loadu_si256((const __m256i *)(const void *)st[1]);
	c = _mm256_loadu_si256((const __m256i *)(const void *)st[2]);
	d = _mm256_loadu_si256((const __m256i *)(const void *)st[3]);
	for (size_t blk = 0; blk < nblocks; blk++) {
		__m256i w[16], lo[8], hi[8], a0 = a, b0 = b, c0 = c, d0 = d;

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
		for (int i = 0; i < 16; i += 4) {
			VSTEP8(G1(b, c, d), a, b, c, d, w[i], K[i], 7);
			VSTEP8(G1(a, b, c), d, a, b, c, w[i + 1], K[i + 1], 12);
			VSTEP8(G1(d, a, b), c, d, a, b, w[i + 2], K[i + 2], 17);
			VSTEP8(G1(c, d, a), b, c, d, a, w[i + 3], K[i + 3], 22);
		}
		for (int i = 16; i < 32; i += 4) {
			VSTEP8(G2(b, c, d), a, b, c, d, w[(5 * i + 1) & 15], K[i], 5);
			VSTEP8(G2(a, b, c), d, a, b, c, w[(5 * i + 6) & 15], K[i + 1], 9);
			VSTEP8(G2(d, a, b), c, d, a, b, w[(5 * i + 11) & 15], K[i + 2], 14);
			VSTEP8(G2(c, d, a), b, c, d, a, w[(5 * i + 16) & 15], K[i + 3], 20);
		}
		for (int i = 32; i < 48; i += 4) {
			VSTEP8(G3(b, c, d), a, b, c, d, w[(3 * i + 5) & 15], K[i], 4);
			VSTEP8(G3(a, b, c), d, a, b, c, w[(3 * i + 8) & 15], K[i + 1], 11);
			VSTEP8(G3(d, a, b), c, d, a, b, w[(3 * i + 11) & 15], K[i + 2], 16);
			VSTEP8(G3(c, d, a), b, c, d, a, w[(3 * i + 14) & 15], K[i + 3], 23);
		}
		for (int i = 48; i < 64; i += 4) {
			VSTEP8(G4(b, c, d), a, b, c, d, w[(7 * i) & 15], K[i], 6);
			VSTEP8(G4(a, b, c), d, a, b, c, w[(7 * i + 7) & 15], K[i + 1], 10);
			VSTEP8(G4(d, a, b), c, d, a, b, w[(7 * i + 14) & 15], K[i + 2], 15);
			VSTEP8(G4(c, d, a), b, c, d, a, w[(7 * i + 21) & 15], K[i + 3], 21);
		}
		a = _mm256_add_epi32(a, a0);
		b = _mm256_add_epi32(b, b0);
		c = _mm256_add_epi32(c, c0);
		d = _mm256_add_epi32(d, d0);
	}
	_mm256_storeu_si256((__m256i *)(void *)st[0], a);
	_mm256_storeu_si256((__m256i *)(void *)st[1], b);
	_mm256_storeu_si256((__m256i *)(void *)st[2], c);
	_mm256_storeu_si256((__m256i *)(void *)st[3], d);
	for (int l = 0; l < 8; l++)
		for (int j = 0; j < 4; j++)
			h[l][j] = st[j][l];
}
#endif

/* ---- streams and the pool ---- */

static int cpu_lanes; /* 16 (AVX-512F), 8 (AVX2) or 0 */

__attribute__((constructor)) static void md5mb_cpu(void)
{
#ifdef HAVE_MB
	__builtin_cpu_init();
	cpu_lanes = __builtin_cpu_supports("avx512f") ? 16 : __builtin_cpu_supports("avx2") ? 8 : 0;
#endif
}

void md5mb_pool_init(struct md5mb_pool *p)
{
	memset(p, 0, sizeof(*p));
	p->lanes = cpu_lanes;
	p->solo = !cpu_lanes;
}

bool md5mb_pool_set_lanes(struct md5mb_pool *p, int lanes)
{
	if (lanes != 8 && lanes != 16)
		return false;
	if (lanes > cpu_lanes)
		return false;
	p->lanes = lanes;
	p->solo = false;
	return true;
}

void md5mb_pool_set_multi(struct md5mb_pool *p, bool on)
{
	p->solo = !on || !p->lanes;
}

void md5mb_init(struct md5mb *s, struct md5mb_pool *pool)
{
	memset(s, 0, sizeof(*s));
	s->pool = pool;
	s->ready = -1;
	s->h[0] = 0x67452301;
	s->h[1] = 0xefcdab89;
	s->h[2] = 0x98badcfe;
	s->h[3] = 0x10325476;
}

static void ready_add(struct md5mb *s)
{
	struct md5mb_pool *p = s->pool;

	if (s->ready >= 0 || p->nready == MD5MB_MAX_READY)
		return;
	s->ready = p->nready;
	p->ready[p->nready++] = s;
}

static void ready_del(struct md5mb *s)
{
	struct md5mb_pool *p = s->pool;
	int i = s->ready;

	if (i < 0)
		return;
	p->ready[i] = p->ready[--p->nready];
	p->ready[i]->ready = i;
	s->ready = -1;
}

/* Drops the first `bytes` (hashed) of the stream's buffer. */
static void consume(struct md5mb *s, size_t bytes)
{
	memmove(s->buf, s->buf + bytes, s->n - bytes);
	s->n -= (uint32_t)bytes;
	if (s->pool)
		s->pool->pending -= bytes;
	if (s->n < MD5MB_READY_MIN)
		ready_del(s);
}

/* The stream's whole blocks, on its own. */
static void solo(struct md5mb *s)
{
	size_t nb = s->n / 64;

	if (!nb)
		return;
	md5_blocks(s->h, s->buf, nb);
	if (s->pool)
		s->pool->st.solo_blocks += nb;
	consume(s, nb * 64);
}

#ifdef HAVE_MB
/* The ready streams (up to 16) side by side, as many blocks as each of them has; idle lanes
 * hash zeros into a state nobody reads. */
static void run_lanes(struct md5mb_pool *p)
{
	static const uint8_t zeros[MD5MB_STREAM_CAP];
	struct md5mb *l[LANES];
	uint32_t idle[LANES][4], *h[LANES];
	const uint8_t *d[LANES];
	size_t nb = SIZE_MAX;
	int k = p->nready < p->lanes ? p->nready : p->lanes;

	for (int i = 0; i < p->lanes; i++) {
		l[i] = i < k ? p->ready[i] : NULL;
		h[i] = l[i] ? l[i]->h : idle[i];
		d[i] = l[i] ? l[i]->buf : zeros;
		if (l[i] && l[i]->n / 64 < nb)
			nb = l[i]->n / 64;
	}
	if (p->lanes == 16)
		md5_x16(h, d, nb);
	else
		md5_x8(h, d, nb);
	p->st.lane_runs++;
	p->st.lane_blocks += (uint64_t)k * nb;
	for (int i = 0; i < k; i++)
		consume(l[i], nb * 64);
}
#endif

/* Room for `want` more bytes (at most MD5MB_STREAM_CAP in all): buffers start small and
 * double, so that a small file costs a small buffer. */
static bool grow(struct md5mb *s, size_t want)
{
	size_t need = s->n + want, cap = s->cap ? s->cap : MD5MB_MIN_BUF;
	uint8_t *nb;

	if (need <= s->cap)
		return true;
	while (cap < need)
		cap *= 2;
	if (cap > MD5MB_STREAM_CAP)
		cap = MD5MB_STREAM_CAP;
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
static void shrink(struct md5mb *s)
{
	uint8_t *nb;

	if (s->cap <= MD5MB_MIN_BUF || s->n > MD5MB_MIN_BUF)
		return;
	nb = realloc(s->buf, MD5MB_MIN_BUF);
	if (!nb)
		return;
	s->pool->alloc -= s->cap - MD5MB_MIN_BUF;
	s->buf = nb;
	s->cap = MD5MB_MIN_BUF;
}

void md5mb_update(struct md5mb *s, const void *data, size_t n)
{
	const uint8_t *q = data;
	struct md5mb_pool *p = s->pool;

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

		md5_blocks(s->h, q, nb);
		if (p)
			p->st.solo_blocks += nb;
		q += nb * 64;
		n -= nb * 64;
	}
	while (n) {
		size_t take = MD5MB_STREAM_CAP - s->n;

		if (take > n)
			take = n;
		if (!grow(s, take)) {
			s->failed = true; /* md5mb_final says so: no digest rather than a wrong one */
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
		if (s->n >= MD5MB_READY_MIN)
			ready_add(s);
#ifdef HAVE_MB
		while (p->nready >= p->lanes)
			run_lanes(p);
		/* full (or the pool is): with enough company now, else on its own */
		if ((s->n == MD5MB_STREAM_CAP || p->pending > MD5MB_POOL_CAP) &&
		    p->nready >= MD5MB_LANES_MIN && s->ready >= 0)
			run_lanes(p);
#endif
		if (s->n == MD5MB_STREAM_CAP || p->pending > MD5MB_POOL_CAP ||
		    p->alloc > MD5MB_POOL_CAP) {
			solo(s);
			if (p->alloc > MD5MB_POOL_CAP)
				shrink(s); /* the pool's buffers are bounded too */
		}
	}
}

static void release(struct md5mb *s)
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

bool md5mb_final(struct md5mb *s, uint8_t out[16])
{
	uint8_t last[128];
	size_t rest, padded;
	uint64_t bits = s->len * 8;

	if (s->failed) {
		release(s);
		return false;
	}
	if (s->buf)
		solo(s);
	rest = s->n; /* < 64 */
	memset(last, 0, sizeof(last));
	if (rest)
		memcpy(last, s->buf, rest);
	last[rest] = 0x80;
	padded = rest < 56 ? 64 : 128;
	for (int i = 0; i < 8; i++)
		last[padded - 8 + i] = (uint8_t)(bits >> (8 * i));
	md5_blocks(s->h, last, padded / 64);
	for (int i = 0; i < 4; i++)
		memcpy(out + 4 * i, &s->h[i], 4);
	release(s);
	return true;
}

void md5mb_abandon(struct md5mb *s)
{
	release(s);
}
