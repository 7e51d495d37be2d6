// SPDX-License-Identifier: BSD-3-Clause
/* libFuzzer target for the Forward reply reader (acks, HELO, PONG): the input is split into
 * pieces whose sizes come from its first byte, fed piece by piece, and every message is
 * pulled; a second reader gets the same bytes whole and must yield the same messages. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "mailtap/sink_fwd.h"

static int run(const uint8_t *d, size_t n, size_t step, struct fwd_msg *out, int max, int *err)
{
	struct fwd_reader *r = fwd_reader__new(1024);
	int got = 0, rc = 0;

	if (!r)
		return 0;
	for (size_t pos = 0; pos < n && rc >= 0;) {
		size_t k = n - pos < step ? n - pos : step;

		rc = fwd_reader__feed(r, d + pos, k);
		pos += k;
		while (rc >= 0 && (rc = fwd_reader__next(r, &out[got < max ? got : max])) == 1)
			if (got < max)
				got++;
	}
	*err = rc < 0 ? rc : 0;
	fwd_reader__free(r);
	return got;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fwd_msg a[17], b[17];
	int ea, eb, na, nb;
	size_t step;

	if (size < 1)
		return 0;
	step = (size_t)(data[0] % 64) + 1;
	na = run(data + 1, size - 1, step, a, 16, &ea);
	nb = run(data + 1, size - 1, size, b, 16, &eb);
	/* The same messages whatever the split; an oversize error may show up at a different
	 * point (the whole input can exceed the buffered-bytes cap in one feed). */
	if (ea != -EMSGSIZE && eb != -EMSGSIZE) {
		if (na != nb || ea != eb)
			abort();
		for (int i = 0; i < na; i++)
			if (a[i].type != b[i].type || a[i].chunk_len != b[i].chunk_len ||
			    memcmp(a[i].chunk, b[i].chunk, a[i].chunk_len) ||
			    a[i].nonce_len != b[i].nonce_len || a[i].auth_ok != b[i].auth_ok)
				abort();
	}
	return 0;
}
