// SPDX-License-Identifier: BSD-3-Clause
/* URLs in text (include/mailtap/urlfind.h). The bytes are searched for ':' with memchr; a
 * ':' followed by "//" and preceded by a scheme starts a URL, whose body runs to the first
 * byte a URL cannot hold. Between chunks the finder keeps the last bytes seen (for a scheme
 * or "://" cut by the chunk boundary) and the body of a URL still open. */
#include <string.h>
#include "mailtap/urlfind.h"

/* Bytes that end a URL: controls, space, DEL, and the characters RFC 3986 never allows
 * unencoded (" < > \ ^ ` { | }) with the quote '. */
static const uint8_t stop_tab[256] = {
    [0 ... 32] = 1, [127] = 1, ['"'] = 1, ['\''] = 1, ['<'] = 1, ['>'] = 1,
    ['\\'] = 1,	    ['^'] = 1, ['`'] = 1, ['{'] = 1,  ['|'] = 1, ['}'] = 1,
};

static inline bool stop(uint8_t c)
{
	return stop_tab[c];
}

static bool ieq(const uint8_t *s, const char *lit, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((s[i] | 0x20) != (uint8_t)lit[i])
			return false;
	return true;
}

/* A scheme ends at s[p] (exclusive): http, https or ftp, in any letter case. */
static bool scheme_before(const uint8_t *s, size_t p)
{
	return (p >= 4 && ieq(s + p - 4, "http", 4)) || (p >= 5 && ieq(s + p - 5, "https", 5)) ||
	       (p >= 3 && ieq(s + p - 3, "ftp", 3));
}

/* The open URL's body is complete: trailing punctuation off, reported if it has a host. */
static void url_end(struct urlfind *f, urlfind_fn fn, void *u)
{
	size_t n = f->n;

	while (n && strchr(".,;:!?)", f->tok[n - 1]))
		n--;
	if (!f->too_long && n && f->tok[0] != '/' && f->tok[0] != '?' && f->tok[0] != '#')
		fn(u, f->tok, n);
	f->in_url = false;
	f->too_long = false;
	f->n = 0;
}

/* Appends buf[i..) to the open URL up to a stop byte; returns where it stopped. */
static size_t extend(struct urlfind *f, const uint8_t *buf, size_t len, size_t i, urlfind_fn fn,
		     void *u)
{
	size_t j = i;

	while (j < len && !stop(buf[j]))
		j++;
	if (j > i) {
		if (f->too_long || f->n + (j - i) > URLFIND_MAX)
			f->too_long = true;
		else
			memcpy(f->tok + f->n, buf + i, j - i);
		if (!f->too_long)
			f->n += j - i;
	}
	if (j < len)
		url_end(f, fn, u);
	return j;
}

static void open_url(struct urlfind *f)
{
	f->in_url = true;
	f->too_long = false;
	f->n = 0;
}

/* Keeps the last URLFIND_TAIL bytes seen (the tail of the previous chunks and buf). */
static void keep_tail(struct urlfind *f, const uint8_t *buf, size_t len)
{
	if (len >= URLFIND_TAIL) {
		memcpy(f->tail, buf + len - URLFIND_TAIL, URLFIND_TAIL);
		f->tail_len = URLFIND_TAIL;
		return;
	}
	if (f->tail_len + len > URLFIND_TAIL) {
		size_t drop = f->tail_len + len - URLFIND_TAIL;

		memmove(f->tail, f->tail + drop, f->tail_len - drop);
		f->tail_len -= drop;
	}
	memcpy(f->tail + f->tail_len, buf, len);
	f->tail_len += len;
}

void urlfind__feed(struct urlfind *f, const uint8_t *buf, size_t len, urlfind_fn fn, void *u)
{
	size_t i = 0, from;

	if (!len)
		return;
	if (f->in_url) {
		i = extend(f, buf, len, 0, fn, u);
		if (f->in_url) {
			keep_tail(f, buf, len);
			return;
		}
	}
	/* The junction: a "://" that begins in the kept bytes and ends in buf, or one in the
	 * first bytes of buf whose scheme begins in the kept bytes. The kept bytes and the
	 * first ones of buf side by side; the main pass takes the ':' from buf[5] on. */
	from = 0;
	if (f->tail_len && i == 0) {
		uint8_t jb[URLFIND_TAIL + 8];
		size_t t = f->tail_len, k = len < 8 ? len : 8, jl = t + k;

		memcpy(jb, f->tail, t);
		memcpy(jb + t, buf, k);
		for (size_t p = 0; p < jl && p < t + 5; p++) {
			size_t b;

			if (jb[p] != ':' || p + 2 < t) /* "://" wholly kept: seen before */
				continue;
			if (p + 2 >= jl) /* the rest of "//" not here yet: kept for the next */
				break;
			if (jb[p + 1] != '/' || jb[p + 2] != '/' || !scheme_before(jb, p))
				continue;
			b = p + 3 - t; /* the body's first byte in buf */
			open_url(f);
			i = extend(f, buf, len, b, fn, u);
			if (f->in_url) {
				keep_tail(f, buf, len);
				return;
			}
			break;
		}
		from = i > 5 ? i : 5;
	}
	/* The main pass: ':' by memchr, a "://" wholly in buf. */
	if (from < i)
		from = i;
	while (from < len) {
		const uint8_t *c = memchr(buf + from, ':', len - from);
		size_t p;

		if (!c)
			break;
		p = (size_t)(c - buf);
		if (p + 2 >= len) /* "//" may come with the next chunk: the junction looks */
			break;
		if (buf[p + 1] != '/' || buf[p + 2] != '/' || !scheme_before(buf, p)) {
			from = p + 1;
			continue;
		}
		open_url(f);
		from = extend(f, buf, len, p + 3, fn, u);
		if (f->in_url)
			break;
	}
	keep_tail(f, buf, len);
}

void urlfind__end(struct urlfind *f, urlfind_fn fn, void *u)
{
	if (f->in_url)
		url_end(f, fn, u);
	f->tail_len = 0;
}
