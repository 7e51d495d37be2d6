/* SPDX-License-Identifier: BSD-3-Clause */
/* Content-based mime type detection, equivalent to Zeek's file-magic signatures
 * (scripts/base/frameworks/files/magic/{general,executable,java,office,programming,python,image,
 * archive,libmagic}.sig as the default scripts load them; not audio, video, font). Zeek matches
 * every signature against the first bytes of a file (its bof_buffer, 4096 bytes by default),
 * anchored at the first byte, with '.' matching any byte, and reports the match of highest
 * strength, the smallest mime string on a tie; so does this. No libmagic: libmagic's answers
 * differ from Zeek's (e.g. it says text/x-c or application/octet-stream where Zeek says
 * text/plain). See docs/files.md, "Mime types". */
#ifndef MAILTAP_MIMESNIFF_H
#define MAILTAP_MIMESNIFF_H

#include <stddef.h>
#include <stdint.h>

/* Zeek's default_file_bof_buffer_size. */
#define MIMESNIFF_BOF_DEFAULT 4096

/* The mime type of the strongest signature matching buf (the first len bytes of a file), or
 * NULL when none matches (Zeek leaves mime_type unset). The string is static. If strength is
 * not NULL it receives the winning signature's strength. */
const char *mimesniff__detect(const uint8_t *buf, size_t len, int *strength);

#endif
