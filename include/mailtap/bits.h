/* SPDX-License-Identifier: BSD-3-Clause */
/* Small pure helpers several modules share: 64-bit mixing (flow and worker hashing, id and
 * jitter generators), hex digits (MIME and SMTP decoders), hex strings (digests), a
 * bounded string copy (what snprintf(dst, size, "%s", src) does, without the format) and a
 * clock in nanoseconds. */
#ifndef MAILTAP_BITS_H
#define MAILTAP_BITS_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

/* Copies src into dst[size] (size > 0), cut to size - 1 bytes, always NUL-terminated;
 * returns the bytes copied. */
static inline size_t mt_strcpy_cut(char *dst, size_t size, const char *src)
{
	size_t n = strnlen(src, size - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
	return n;
}

/* a + b, at most UINT64_MAX: a timer's next time from a packet's (pcapng stamps are 64 bits,
 * and libpcap passes any value on) must not wrap round to a time that is always due. */
static inline uint64_t mt_add_sat64(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* Clock c (CLOCK_REALTIME, CLOCK_MONOTONIC...) in nanoseconds. */
static inline uint64_t mt_clock_ns(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* MurmurHash3's 64-bit finalizer: every input bit affects every output bit. */
static inline uint64_t mt_mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

/* A seeded 64-bit hash of n bytes (hash tables keyed by strings or addresses; not for
 * anything an attacker must not be able to collide without knowing the seed). */
static inline uint64_t mt_hash_bytes(uint64_t seed, const void *p, size_t n)
{
	const uint8_t *b = (const uint8_t *)p;
	uint64_t h = seed ^ (n * 0x9e3779b97f4a7c15ULL), w;

	for (; n >= 8; b += 8, n -= 8) {
		memcpy(&w, b, 8);
		h = mt_mix64(h ^ w);
	}
	if (n) {
		w = 0;
		memcpy(&w, b, n);
		h = mt_mix64(h ^ w ^ 0xff);
	}
	return mt_mix64(h);
}

/* SplitMix64: advances *x and returns the next value of its sequence. */
static inline uint64_t mt_splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* The value of hex digit C (either case), or -1. */
static inline int mt_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Lowercase hex of in[0..n) into out[0..2n], NUL-terminated (digests, fingerprints, ids):
 * a table, not snprintf("%02x") per byte. */
static inline void mt_hex(const uint8_t *in, size_t n, char *out)
{
	static const char hx[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hx[in[i] >> 4];
		out[2 * i + 1] = hx[in[i] & 15];
	}
	out[2 * n] = 0;
}

/*
 * dst += src, field by field, for counter structs made only of uint64_t (engine_stats,
 * fwd_stats): SIZE is sizeof the struct. Callers assert the size is a multiple of 8.
 */
static inline void mt_add_u64s(void *dst, const void *src, size_t size)
{
	uint64_t *d = dst;
	const uint64_t *s = src;

	for (size_t k = 0; k < size / sizeof(uint64_t); k++)
		d[k] += s[k];
}

#endif
