// SPDX-License-Identifier: BSD-3-Clause
/* libFuzzer target for intel.c and urlfind.c. The input, cut at its first NUL byte, is an
 * intel file (loaded from memory, small limits so that they are reached); the rest is text
 * whose URLs are found in one piece and in chunks of sizes taken from the text itself: both
 * must give the same URLs, each within the text and short enough. The store never holds
 * more than its limit; the URLs, the text as each kind of indicator and its first 16 bytes
 * as an address are looked up. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mailtap/intel.h"
#include "mailtap/urlfind.h"

struct urls {
	size_t n, bytes;
	uint64_t sum;
	const struct intel *in;
};

static void url_cb(void *u, const char *s, size_t n)
{
	struct urls *c = u;
	struct intel_hit h;

	if (!n || n > URLFIND_MAX)
		abort();
	c->n++;
	c->bytes += n;
	for (size_t i = 0; i < n; i++)
		c->sum = c->sum * 31 + (uint8_t)s[i];
	intel__find(c->in, INTEL_URL, s, n, &h);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, 0, size);
	size_t flen = nul ? (size_t)(nul - data) : size;
	const uint8_t *text = nul ? nul + 1 : data + size;
	size_t tlen = size - flen - (nul ? 1 : 0);
	struct intel_limits lim = {.max_items = 64, .max_indicator = 128, .max_line = 256};
	struct intel *in = intel__new(&lim);
	struct urlfind *f = malloc(sizeof(*f));
	struct urls a = {0}, b = {0};
	struct intel_hit h;
	char err[256];
	FILE *fp;

	if (!in || !f) {
		intel__free(in);
		free(f);
		return 0;
	}
	fp = fmemopen((void *)data, flen ? flen : 1, "r");
	if (fp) {
		if (flen)
			intel__load_fp(in, fp, "fuzz", NULL, err, sizeof(err));
		fclose(fp);
	}
	if (intel__items(in) > lim.max_items)
		abort();
	a.in = b.in = in;
	urlfind__init(f);
	urlfind__feed(f, text, tlen, url_cb, &a);
	urlfind__end(f, url_cb, &a);
	urlfind__init(f);
	for (size_t i = 0, k = 0; i < tlen; k++) {
		size_t step = 1 + (tlen ? text[k % tlen] % 97 : 0);

		if (step > tlen - i)
			step = tlen - i;
		urlfind__feed(f, text + i, step, url_cb, &b);
		i += step;
	}
	urlfind__end(f, url_cb, &b);
	if (a.n != b.n || a.bytes != b.bytes || a.sum != b.sum || a.bytes > tlen)
		abort();
	/* the text as every kind of indicator, and as an address */
	for (int t = 0; t < INTEL_NTYPES; t++)
		if (t != INTEL_ADDR && t != INTEL_SUBNET)
			intel__find(in, (enum intel_type)t, (const char *)text, tlen, &h);
	if (tlen >= 16) {
		struct mt_addr x;

		memcpy(x.b, text, 16);
		intel__find_addr(in, &x, &h);
	}
	intel__free(in);
	free(f);
	return 0;
}
