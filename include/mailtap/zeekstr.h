/* SPDX-License-Identifier: BSD-3-Clause */
/* Strings as Zeek's JSON writer has them (util.cc json_escape_utf8), in one place for the
 * records (rec.c, at record-building time) and for mailtap-cat (input from other producers).
 *
 * Zeek's rule is all or nothing per string. A string is "clean" when each of its characters is
 * printable ASCII (0x20-0x7e), one of \b \f \n \r \t, or a well-formed UTF-8 sequence that is
 * not DEL, a C0 or C1 control (U+0080-009F), in the Private Use Area (U+E000-F8FF) or a
 * special (U+FFF0-FFFF). A clean string is kept as it is. In any other string every byte
 * outside printable ASCII and \b \f \n \r \t becomes the 4-character text \xNN (lowercase hex),
 * valid UTF-8 included. */
#ifndef MAILTAP_ZEEKSTR_H
#define MAILTAP_ZEEKSTR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A byte Zeek's escaped form keeps as it is: printable ASCII and \b \f \n \r \t. */
static inline bool zeekstr_byte_kept(uint8_t c)
{
	return (c >= 0x20 && c < 0x7f) || c == '\b' || c == '\f' || c == '\n' || c == '\r' ||
	       c == '\t';
}

/* Bytes of the well-formed UTF-8 sequence at p (n bytes left: at least 1), 0 when p[0] does
 * not start one (a stray continuation byte, an overlong form, a surrogate, above U+10FFFF,
 * cut by the end). */
size_t zeekstr_utf8_len(const uint8_t *p, size_t n);

/* Whether Zeek keeps the n bytes at s as they are (the string is clean). */
bool zeekstr_clean(const void *s, size_t n);

/* Writes the escaped form of the n bytes at s to out (when out is not NULL) and returns its
 * length: every byte zeekstr_byte_kept() refuses as \xNN. */
size_t zeekstr_escape(char *out, const void *s, size_t n);

#endif
