// SPDX-License-Identifier: BSD-3-Clause
/* Zeek's unescape_URI (include/mailtap/uri.h). */
#include "mailtap/bits.h"
#include "mailtap/uri.h"

size_t mt_unescape_uri(const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
	const uint8_t *p = in, *end = in + n;
	uint8_t b[2];
	size_t o = 0, k, i;

	while (p < end && o < cap) {
		k = 0; /* bytes of this step, in b */
		if (*p == '%') {
			++p;
			if (p == end) {
				b[k++] = '%';
			} else if (p + 1 == end) {
				b[k++] = '%';
				b[k++] = *p;
			} else if (*p == '%') {
				--p; /* ignore the first '%' */
			} else if (mt_hexval(p[0]) >= 0 && mt_hexval(p[1]) >= 0) {
				b[k++] = (uint8_t)((mt_hexval(p[0]) << 4) + mt_hexval(p[1]));
				++p;
			} else if (end - p >= 5 && p[0] == 'u' && mt_hexval(p[1]) >= 0 &&
				   mt_hexval(p[2]) >= 0 && mt_hexval(p[3]) >= 0 &&
				   mt_hexval(p[4]) >= 0) {
				if (!(p[1] == '0' && p[2] == '0'))
					b[k++] =
					    (uint8_t)((mt_hexval(p[1]) << 4) + mt_hexval(p[2]));
				b[k++] = (uint8_t)((mt_hexval(p[3]) << 4) + mt_hexval(p[4]));
				p += 4;
			} else {
				b[k++] = '%';
				b[k++] = *p;
			}
		} else {
			b[k++] = *p;
		}
		for (i = 0; i < k && o < cap; i++)
			out[o++] = b[i];
		++p;
	}
	return o;
}
