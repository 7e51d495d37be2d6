// SPDX-License-Identifier: BSD-3-Clause
/* libFuzzer target for software.c: Zeek's version parser on any bytes (after the first, which
 * picks a host and a time). The same string parses the same way twice; names and addl within
 * bounds; a parse cut at 64 bytes equals the parse of the first 64. Through the per-host
 * table, a client seen again on the same host at once is not logged again. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "mailtap/software.h"

static struct sw_parser *big, *small;
static struct software *sw;

static void check_inside(const struct sw_desc *d, const uint8_t *in, size_t n)
{
	const char *s = (const char *)in;

	/* a piece of the input, or of scratch space (not the input): at least a length bound */
	if (d->name >= s && d->name < s + n && d->name + d->name_len > s + n)
		abort();
	if ((d->v.has & SW_ADDL) && d->v.addl >= s && d->v.addl < s + n &&
	    d->v.addl + d->v.addl_len > s + n)
		abort();
	if (d->name_len > 65536 || ((d->v.has & SW_ADDL) && d->v.addl_len > 65536))
		abort();
}

static void copy(struct sw_desc *out, const struct sw_desc *d, char *buf, size_t cap)
{
	size_t n = d->name_len < cap / 2 ? d->name_len : cap / 2;
	size_t a = (d->v.has & SW_ADDL) ? d->v.addl_len : 0;

	a = a < cap / 2 ? a : cap / 2;
	*out = *d;
	memcpy(buf, d->name, n);
	memcpy(buf + cap / 2, d->v.has & SW_ADDL ? d->v.addl : "", a);
	out->name = buf;
	out->name_len = n;
	out->v.addl = buf + cap / 2;
	out->v.addl_len = a;
}

static int same(const struct sw_desc *a, const struct sw_desc *b)
{
	return a->name_len == b->name_len && !memcmp(a->name, b->name, a->name_len) &&
	       sw_version__cmp(&a->v, &b->v) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char buf1[8192];
	struct sw_desc d1, d2, c1;
	struct mt_addr host = {{0}};
	size_t cut, n;
	const uint8_t *s;

	if (!big) {
		struct software_cfg c;

		big = sw_parser__new(4096);
		small = sw_parser__new(64);
		software_cfg__default(&c);
		c.max_hosts = 4;
		sw = software__new(&c);
		if (!big || !small || !sw)
			abort();
	}
	if (size < 1)
		return 0;
	cut = data[0];
	s = data + 1;
	n = size - 1;
	if (n > 4096)
		n = 4096;

	sw_parser__parse(big, (const char *)s, n, &d1);
	check_inside(&d1, s, n);
	copy(&c1, &d1, buf1, sizeof(buf1));
	sw_parser__parse(big, (const char *)s, n, &d2);
	if (!same(&c1, &d2))
		abort();

	/* 64 bytes at most through `small` equals the first 64 through `big` */
	if (sw_parser__parse(small, (const char *)s, n, &d1) != (n > 64 ? -E2BIG : 0))
		abort();
	copy(&c1, &d1, buf1, sizeof(buf1));
	sw_parser__parse(big, (const char *)s, n > 64 ? 64 : n, &d2);
	if (!same(&c1, &d2))
		abort();

	(void)software__webmail_ua((const char *)s, n);
	host.b[15] = (uint8_t)(cut & 7);
	software__found(sw, &host, SW_MAIL_CLIENT, (const char *)s, n, cut, &d1);
	if (software__found(sw, &host, SW_MAIL_CLIENT, (const char *)s, n, cut, &d1))
		abort();
	return 0;
}
