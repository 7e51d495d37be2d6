// SPDX-License-Identifier: BSD-3-Clause
/* libFuzzer target for mime.c (and mimesniff.c on the decoded bodies): the first byte picks
 * the framing, small limits and a split position; the rest is the message, fed in two pieces
 * and byte by byte. Both runs must give the same entities, data and weirds. A third run has
 * the consumer stop wanting each entity's bytes after the first 256 (skip mode): same
 * entities, weirds and mime types, and data + skipped bytes equal to the data of the first. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include "mailtap/mime.h"
#include "mailtap/mimesniff.h"

struct acc {
	EVP_MD_CTX *md, *mdd; /* structure (entities, headers, weirds, mime types); data bytes */
	uint64_t begins, ends, headers, weirds, data, raw, skipped, ent_data;
	uint8_t bof[256];
	size_t bof_len;
};

static void f_begin(void *u, unsigned depth)
{
	struct acc *a = u;

	a->begins++;
	a->ent_data = 0;
	EVP_DigestUpdate(a->md, "B", 1);
	EVP_DigestUpdate(a->md, &depth, sizeof(depth));
	a->bof_len = 0;
}

static void f_header(void *u, unsigned depth, const char *n, size_t nl, const char *v, size_t vl)
{
	struct acc *a = u;

	a->headers++;
	EVP_DigestUpdate(a->md, "H", 1);
	EVP_DigestUpdate(a->md, n, nl);
	EVP_DigestUpdate(a->md, ":", 1);
	EVP_DigestUpdate(a->md, v, vl);
}

static void f_hdone(void *u, const struct mime_entity_info *e)
{
	struct acc *a = u;

	EVP_DigestUpdate(a->md, "D", 1);
	EVP_DigestUpdate(a->md, e->type, strlen(e->type));
	EVP_DigestUpdate(a->md, e->subtype, strlen(e->subtype));
	if (e->filename)
		EVP_DigestUpdate(a->md, e->filename, e->filename_len);
	if (e->filename_decoded)
		EVP_DigestUpdate(a->md, e->filename_decoded, e->filename_decoded_len);
}

static void f_data(void *u, const uint8_t *b, size_t n)
{
	struct acc *a = u;
	size_t k = sizeof(a->bof) - a->bof_len;

	a->data += n;
	a->ent_data += n;
	EVP_DigestUpdate(a->mdd, b, n); /* chunking may differ; bytes may not */
	if (k > n)
		k = n;
	memcpy(a->bof + a->bof_len, b, k);
	a->bof_len += k;
}

static void f_end(void *u)
{
	struct acc *a = u;
	const char *m = mimesniff__detect(a->bof, a->bof_len, NULL);

	a->ends++;
	EVP_DigestUpdate(a->md, "E", 1);
	if (m)
		EVP_DigestUpdate(a->md, m, strlen(m));
}

static void f_weird(void *u, const char *name, const char *addl)
{
	struct acc *a = u;

	a->weirds++;
	EVP_DigestUpdate(a->md, name, strlen(name));
	if (addl)
		EVP_DigestUpdate(a->md, addl, strlen(addl));
}

static bool f_data_wanted(void *u)
{
	struct acc *a = u;

	return a->ent_data < sizeof(a->bof);
}

static void f_skip(void *u, uint64_t n)
{
	struct acc *a = u;

	if (!n || a->ent_data < sizeof(a->bof))
		abort(); /* skip only after the consumer said no */
	a->skipped += n;
}

static void f_raw(void *u, const uint8_t *b, size_t n)
{
	struct acc *a = u;

	a->raw += n;
}

static void run(const uint8_t *d, size_t len, size_t step, size_t split, int bdat,
		const struct mime_limits *lim, unsigned char out[EVP_MAX_MD_SIZE], struct acc *a,
		bool skip)
{
	struct mime_cb cb = {.u = a,
			     .begin = f_begin,
			     .header = f_header,
			     .headers_done = f_hdone,
			     .data = f_data,
			     .end = f_end,
			     .weird = f_weird,
			     .raw = f_raw};
	struct mime_msg *m;
	unsigned ol;
	size_t i;

	memset(a, 0, sizeof(*a));
	if (skip) {
		cb.data_wanted = f_data_wanted;
		cb.skip = f_skip;
	}
	a->md = EVP_MD_CTX_new();
	a->mdd = EVP_MD_CTX_new();
	EVP_DigestInit_ex(a->md, EVP_sha256(), NULL);
	EVP_DigestInit_ex(a->mdd, EVP_sha256(), NULL);
	m = mime_msg__new(&cb, lim);
	if (!m)
		abort();
	mime_msg__set_framing(m, bdat ? MIME_FRAMING_BDAT : MIME_FRAMING_DATA);
	if (step) {
		for (i = 0; i < len; i += step)
			mime_msg__feed(m, d + i, len - i < step ? len - i : step);
	} else {
		mime_msg__feed(m, d, split);
		mime_msg__feed(m, d + split, len - split);
	}
	mime_msg__end(m);
	mime_msg__free(m);
	EVP_DigestFinal_ex(a->md, out, &ol);
	EVP_DigestFinal_ex(a->mdd, out + 32, &ol);
	EVP_MD_CTX_free(a->md);
	EVP_MD_CTX_free(a->mdd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char h1[2 * EVP_MAX_MD_SIZE], h2[2 * EVP_MAX_MD_SIZE], h3[2 * EVP_MAX_MD_SIZE];
	struct mime_limits lim;
	struct acc a1, a2, a3;
	int bdat;
	size_t split;

	if (size < 2)
		return 0;
	mime_limits__default(&lim);
	bdat = data[0] & 1;
	lim.max_depth = 1 + (data[0] >> 1 & 7);
	lim.max_header_bytes = 64u << (data[0] >> 4 & 3);
	lim.max_line = 16u << (data[0] >> 6);
	lim.max_entities = 50;
	lim.max_filename = 64;
	split = data[1] % size;
	data += 2;
	size -= 2;
	if (split > size)
		split = size;
	run(data, size, 0, split, bdat, &lim, h1, &a1, false);
	/* BDAT's CR-at-chunk-end rule depends on chunking: compare only DATA framing */
	if (!bdat) {
		run(data, size, 1, 0, bdat, &lim, h2, &a2, false);
		if (memcmp(h1, h2, 64) || a1.data != a2.data || a1.begins != a2.begins ||
		    a1.raw != a2.raw)
			abort();
	}
	run(data, size, 0, split, bdat, &lim, h3, &a3, true);
	if (memcmp(h1, h3, 32) || a3.data + a3.skipped != a1.data || a1.weirds != a3.weirds ||
	    a1.raw != a3.raw)
		abort();
	if (a1.begins != a1.ends)
		abort();
	return 0;
}
