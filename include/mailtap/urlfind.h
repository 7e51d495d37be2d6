/* SPDX-License-Identifier: BSD-3-Clause */
/* URLs in text, for intel's SMTP::IN_MESSAGE (Zeek's policy/frameworks/intel/seen/
 * smtp-url-extraction.zeek, find_all_urls_without_scheme on a message's decoded bytes).
 * Incremental: fed the bytes of one MIME entity in chunks of any size, it finds the same
 * URLs as in one piece.
 *
 * A URL is "http://", "https://" or "ftp://" (any letter case) followed by at least one byte
 * that may stand in a URL (not a control, blank, DEL, ", ', <, >, \, ^, `, {, | or }), up to
 * the first byte that may not; a trailing . , ; : ! ? or ) is not part of it, nor is a "://"
 * inside it the start of another. It is reported
 * without its scheme, as Zeek's indicator format has it. Zeek's regex differs (docs/intel.md):
 * it stops only at a blank (so a URL at a line end runs into the next line, one in HTML into
 * the markup) and cuts host names at their first '-'. */
#ifndef MAILTAP_URLFIND_H
#define MAILTAP_URLFIND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest URL (without its scheme) reported; a longer one gives none. */
#define URLFIND_MAX 2048
/* Bytes kept from the previous chunks: a scheme ("https") and "://" cut by a boundary. */
#define URLFIND_TAIL 8

struct urlfind {
	bool in_url;   /* a URL's body is open (tok) */
	bool too_long; /* ... and passed URLFIND_MAX */
	size_t n;      /* bytes of the body in tok */
	size_t tail_len;
	uint8_t tail[URLFIND_TAIL];
	char tok[URLFIND_MAX];
};

typedef void (*urlfind_fn)(void *u, const char *url, size_t len);

static inline void urlfind__init(struct urlfind *f)
{
	f->in_url = f->too_long = false;
	f->n = f->tail_len = 0;
}
void urlfind__feed(struct urlfind *f, const uint8_t *buf, size_t len, urlfind_fn fn, void *u);
/* The end of the text: a URL that ends with it is reported. */
void urlfind__end(struct urlfind *f, urlfind_fn fn, void *u);

#endif
