// SPDX-License-Identifier: BSD-3-Clause
/* URLs in text (include/mailtap/urlfind.h): runs of bytes that may stand in a URL are cut
 * where one may not; each run is searched for its first "scheme://" with something after
 * it. */
#include <string.h>
#include "mailtap/urlfind.h"

/* Bytes that end a URL: controls, space, DEL, and the characters RFC 3986 never allows
 * unencoded (" < > \ ^ ` { | }) with the quote '. */
static bool stop(uint8_t c)
{
	return c <= ' ' || c == 0x7f || c == '"' || c == '\'' || c == '<' || c == '>' ||
	       c == '\\' || c == '^' || c == '`' || c == '{' || c == '|' || c == '}';
}

static bool ieq(const char *s, const char *lit, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((s[i] | 0x20) != lit[i])
			return false;
	return true;
}

static void run_end(struct urlfind *f, urlfind_fn fn, void *u)
{
	const char *t = f->tok;
	size_t n = f->n;

	if (f->too_long || n < 7)
		goto out;
	for (size_t i = 3; i + 3 < n; i++) {
		size_t s = 0, end;

		if (t[i] != ':' || t[i + 1] != '/' || t[i + 2] != '/')
			continue;
		if (i >= 5 && ieq(t + i - 5, "https", 5))
			s = 5;
		else if (i >= 4 && ieq(t + i - 4, "http", 4))
			s = 4;
		else if (ieq(t + i - 3, "ftp", 3))
			s = 3;
		if (!s)
			continue;
		end = n;
		while (end > i + 3 && strchr(".,;:!?)", t[end - 1]))
			end--;
		/* a host: at least one byte before any path, query or fragment */
		if (end > i + 3 && t[i + 3] != '/' && t[i + 3] != '?' && t[i + 3] != '#') {
			fn(u, t + i + 3, end - i - 3);
			break;
		}
	}
out:
	f->n = 0;
	f->too_long = false;
}

void urlfind__feed(struct urlfind *f, const uint8_t *buf, size_t len, urlfind_fn fn, void *u)
{
	size_t i = 0;

	while (i < len) {
		size_t j = i;

		while (j < len && !stop(buf[j]))
			j++;
		if (j > i) {
			size_t k = j - i;

			if (f->n + k > URLFIND_MAX)
				f->too_long = true;
			else
				memcpy(f->tok + f->n, buf + i, k);
			if (!f->too_long)
				f->n += k;
		}
		if (j < len) {
			if (f->n || f->too_long)
				run_end(f, fn, u);
			j++;
		}
		i = j;
	}
}

void urlfind__end(struct urlfind *f, urlfind_fn fn, void *u)
{
	if (f->n || f->too_long)
		run_end(f, fn, u);
}
