/* SPDX-License-Identifier: BSD-3-Clause */
/* File analysis (Zeek's files framework): one mt_file per file seen in a connection (a MIME
 * entity, a whole RFC822 message, an X.509 certificate). Bytes go in; on close a `files`
 * record (Zeek Files::Info) is written with hashes, sniffed mime type, byte accounting and,
 * optionally, the file extracted to disk. */
#ifndef MAILTAP_FILES_H
#define MAILTAP_FILES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "mailtap/types.h"

struct mt_session;

struct files_cfg {
	bool md5, sha1, sha256;		/* hashes to compute; SMTP default md5+sha1 (Zeek) */
	const char *extract_dir;	/* NULL: no extraction */
	uint64_t extract_max_file;	/* bytes per extracted file (Zeek default 100 MiB) */
	uint64_t extract_max_total;	/* bytes extracted in all (0 = no limit) */
	const char *extract_types;	/* comma-separated mime types to extract; NULL = all */
	uint32_t max_in_flight;		/* files open at once per engine */
};

void files_cfg__default(struct files_cfg *c);

struct mt_file;

/* Starts a file. source: "SMTP" or "SSL"; depth: Zeek's depth field; is_orig: sender side.
 * Returns NULL when max_in_flight is reached (counted, weird written by the caller). */
struct mt_file *files__open(struct mt_session *s, const struct files_cfg *cfg, uint64_t ts_ns,
			    const char *source, bool is_orig, unsigned depth);
const char *files__fuid(const struct mt_file *f);
void files__set_filename(struct mt_file *f, const char *name, size_t len);
/* A mime type known from the protocol (certificates); otherwise sniffed from content. */
void files__set_mime_type(struct mt_file *f, const char *mime);
void files__set_total_bytes(struct mt_file *f, uint64_t total);
void files__set_parent(struct mt_file *f, const char *parent_fuid);
/* An extra analyzer name for the `analyzers` set (e.g. "X509"). */
void files__add_analyzer(struct mt_file *f, const char *name);
void files__data(struct mt_file *f, const uint8_t *buf, size_t len, uint64_t ts_ns);
/* `len` bytes of the file were lost: missing_bytes, hashes no longer reported. */
void files__gap(struct mt_file *f, uint64_t len, uint64_t ts_ns);
/* Writes the files record and frees f. */
void files__close(struct mt_file *f, uint64_t ts_ns);

#endif
