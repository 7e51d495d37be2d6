// SPDX-License-Identifier: BSD-3-Clause
/* Unique ids as Zeek makes them: a prefix letter and base62 of 96 random bits. */
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>
#include "mailtap/bits.h"
#include "mailtap/ids.h"

void mt_ids__init(struct mt_ids *g, int seeded, uint64_t seed)
{
	uint64_t x = seed;

	if (!seeded) {
		if (getrandom(&x, sizeof(x), 0) != sizeof(x)) {
			struct timespec ts;

			clock_gettime(CLOCK_REALTIME, &ts);
			x = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^ (uint64_t)getpid();
		}
	}
	for (int i = 0; i < 4; i++)
		g->s[i] = mt_splitmix64(&x);
}

static inline uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t mt_ids__next(struct mt_ids *g)
{
	uint64_t *s = g->s;
	uint64_t r = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return r;
}

static const char b62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

int mt_ids__make(struct mt_ids *g, char prefix, char out[MT_UID_LEN])
{
	/* 96 bits as a 64-bit high word and 32-bit low word, divided by 62 repeatedly. */
	uint64_t hi = mt_ids__next(g), lo = mt_ids__next(g) & 0xffffffffULL;
	char tmp[24];
	int n = 0, len;

	do {
		/* (hi * 2^32 + lo) / 62 with 64-bit limbs */
		uint64_t qh = hi / 62, rh = hi % 62;
		uint64_t cur = (rh << 32) | lo;
		uint64_t ql = cur / 62;

		tmp[n++] = b62[cur % 62];
		/* cur < 62 * 2^32, so ql < 2^32: the quotient is qh * 2^32 + ql */
		hi = qh;
		lo = ql;
	} while (hi || lo);
	out[0] = prefix;
	len = 1;
	while (n > 0 && len < MT_UID_LEN - 1)
		out[len++] = tmp[--n];
	out[len] = '\0';
	return len;
}

void mt_ids__b64_16(const uint8_t in[16], char out[25])
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	uint8_t raw[18] = {0};

	memcpy(raw, in, 16);
	/* 16 bytes -> 24 chars with "==" padding */
	for (int i = 0, o = 0; i < 18; i += 3, o += 4) {
		uint32_t v = ((uint32_t)raw[i] << 16) | ((uint32_t)raw[i + 1] << 8) | raw[i + 2];

		out[o] = b64[(v >> 18) & 63];
		out[o + 1] = b64[(v >> 12) & 63];
		out[o + 2] = b64[(v >> 6) & 63];
		out[o + 3] = b64[v & 63];
	}
	out[22] = '=';
	out[23] = '=';
	out[24] = '\0';
}
