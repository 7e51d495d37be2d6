/* SPDX-License-Identifier: BSD-3-Clause */
/* Zeek's unescape_URI (src/analyzer/protocol/http/HTTP.cc) without its weirds: "%XX" is the
 * byte 0xXX; "%uXXXX" the two bytes 0xXX 0xXX, the first left out when it is 00; "%%" drops
 * the first '%' (the second starts an escape of its own: "%%41" is "A"); any other '%' and
 * a '%' or "%X" at the end stay as they are. One implementation for every user: the
 * filename of Zeek's extract_filename_from_content_disposition (mime.c, and smtp.c, whose
 * filename the files record and the Files::IN_NAME intel lookup take). */
#ifndef MAILTAP_URI_H
#define MAILTAP_URI_H

#include <stddef.h>
#include <stdint.h>

/* Unescapes in[0, n) into out; returns the bytes written, at most cap (the first cap bytes
 * of the whole result). The result is never longer than the input. */
size_t mt_unescape_uri(const uint8_t *in, size_t n, uint8_t *out, size_t cap);

#endif
