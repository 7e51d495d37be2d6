// SPDX-License-Identifier: BSD-3-Clause
/* Zeek's json_escape_utf8 rule (zeekstr.h). */
#include <string.h>
#include "mailtap/zeekstr.h"

size_t zeekstr_utf8_len(const uint8_t *p, size_t n)
{
	uint8_t c = p[0];
	size_t k;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		k = 2;
	else if (c >= 0xe0 && c <= 0xef)
		k = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		k = 4;
	else
		return 0;
	if (k > n)
		return 0;
	for (size_t i = 1; i < k; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	if ((c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] >= 0xa0) ||
	    (c == 0xf0 && p[1] < 0x90) || (c == 0xf4 && p[1] >= 0x90))
		return 0; /* overlong, surrogate, above U+10FFFF */
	return k;
}

/* Bytes of the character at p (n bytes left) when Zeek takes it as it is, 0 when it makes the
 * string escaped: a control, DEL, a byte outside well-formed UTF-8, C1 controls, the Private
 * Use Area, U+FFF0-FFFF. */
static size_t clean_char(const uint8_t *p, size_t n)
{
	size_t k;

	if (p[0] < 0x80)
		return zeekstr_byte_kept(p[0]) ? 1 : 0;
	k = zeekstr_utf8_len(p, n);
	if (k == 2 && p[0] == 0xc2 && p[1] <= 0x9f)
		return 0; /* U+0080-009F, the C1 controls */
	if (k == 3 && p[0] == 0xee)
		return 0; /* U+E000-EFFF, Private Use Area */
	if (k == 3 && p[0] == 0xef && (p[1] <= 0xa3 || (p[1] == 0xbf && p[2] >= 0xb0)))
		return 0; /* U+F000-F8FF Private Use Area; U+FFF0-FFFF specials */
	return k;
}

bool zeekstr_clean(const void *s, size_t n)
{
	const uint8_t *p = s;
	size_t i = 0;

	while (i < n) {
		/* eight bytes a step while none has its high bit set, is below 0x20 or is DEL
		 * (false alarms only from a byte that has its high bit set anyway) */
		while (i + 8 <= n) {
			uint64_t w;

			memcpy(&w, p + i, 8);
			if ((w | ((w - 0x2020202020202020ull) & ~w) | (w + 0x0101010101010101ull)) &
			    0x8080808080808080ull)
				break;
			i += 8;
		}
		if (i >= n)
			break;
		size_t k = clean_char(p + i, n - i);

		if (k == 0)
			return false;
		i += k;
	}
	return true;
}

size_t zeekstr_escape(char *out, const void *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const uint8_t *p = s;
	size_t m = 0;

	for (size_t i = 0; i < n; i++) {
		uint8_t c = p[i];

		if (zeekstr_byte_kept(c)) {
			if (out)
				out[m] = (char)c;
			m++;
		} else {
			if (out) {
				out[m] = '\\';
				out[m + 1] = 'x';
				out[m + 2] = hex[c >> 4];
				out[m + 3] = hex[c & 15];
			}
			m += 4;
		}
	}
	return m;
}
