// SPDX-License-Identifier: BSD-3-Clause
/* Address helpers: IPv4 kept as IPv4-mapped IPv6 so both families share one key type. Record
 * strings with their length. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "mailtap/types.h"

static const uint8_t v4_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

void mt_addr__from_v4(struct mt_addr *a, const uint8_t v4[4])
{
	memcpy(a->b, v4_prefix, 12);
	memcpy(a->b + 12, v4, 4);
}

void mt_addr__from_v6(struct mt_addr *a, const uint8_t v6[16])
{
	memcpy(a->b, v6, 16);
}

bool mt_addr__is_v4(const struct mt_addr *a)
{
	return memcmp(a->b, v4_prefix, 12) == 0;
}

/* Dotted quad without stdio (glibc's inet_ntop formats IPv4 with sprintf: ~1700
 * instructions, 8 times per SMTP session). buf has room for 16 bytes. */
static size_t fmt_v4(const uint8_t *b, char *buf)
{
	char *p = buf;

	for (int i = 0; i < 4; i++) {
		unsigned v = b[i];

		if (v >= 100)
			*p++ = (char)('0' + v / 100);
		if (v >= 10)
			*p++ = (char)('0' + v / 10 % 10);
		*p++ = (char)('0' + v % 10);
		if (i < 3)
			*p++ = '.';
	}
	*p = '\0';
	return (size_t)(p - buf);
}

size_t mt_addr__fmt(const struct mt_addr *a, char *buf, size_t len)
{
	const char *r;

	if (mt_addr__is_v4(a) && len >= 16)
		return fmt_v4(a->b + 12, buf);
	if (mt_addr__is_v4(a))
		r = inet_ntop(AF_INET, a->b + 12, buf, len);
	else
		r = inet_ntop(AF_INET6, a->b, buf, len);
	if (!r) {
		if (len)
			buf[0] = '\0';
		return 0;
	}
	return strlen(buf);
}

int mt_addr__parse(struct mt_addr *a, const char *s)
{
	uint8_t v[16];

	if (inet_pton(AF_INET, s, v) == 1) {
		mt_addr__from_v4(a, v);
		return 0;
	}
	if (inet_pton(AF_INET6, s, v) == 1) {
		mt_addr__from_v6(a, v);
		return 0;
	}
	return -EINVAL;
}

int mt_addr__cmp(const struct mt_addr *x, const struct mt_addr *y)
{
	return memcmp(x->b, y->b, 16);
}

int mt_str__set(struct mt_str *d, const void *s, size_t n)
{
	char *c = n <= UINT32_MAX ? malloc(n + 1) : NULL;

	if (c) { /* copied before d's old bytes go: s may point into them */
		if (n)
			memcpy(c, s, n);
		c[n] = 0;
	}
	free(d->s);
	d->s = c;
	d->n = c ? (uint32_t)n : 0;
	return c ? 0 : -ENOMEM;
}

void mt_str__free(struct mt_str *d)
{
	free(d->s);
	d->s = NULL;
	d->n = 0;
}
