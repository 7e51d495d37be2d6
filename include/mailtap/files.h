/* SPDX-License-Identifier: BSD-3-Clause */
/* File analysis (Zeek's files framework): one mt_file per file seen in a connection (a MIME
 * entity, a whole RFC822 message, an X.509 certificate). Bytes go in; on close a `files`
 * record (Zeek Files::Info) is written with hashes, sniffed mime type, byte accounting and,
 * optionally, the file extracted to disk.
 *
 * Zeek semantics the callers must keep (docs/files.md):
 *  - Zeek creates a file on its first data (or gap): open an mt_file at the first data() /
 *    gap() of an entity, with that data's ts, not at the entity's start. Entities without a
 *    body byte (multipart containers, empty parts) have no files record and no fuid.
 *  - `depth` for SMTP is Zeek's smtp_state$mime_depth: the number of MIME entities begun so
 *    far in the connection (all messages, multiparts included), not the nesting level.
 *  - is_orig: SMTP entities T; server certificates F. */
#ifndef MAILTAP_FILES_H
#define MAILTAP_FILES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "mailtap/pe.h"
#include "mailtap/types.h"

struct mt_session;

struct files_cfg {
	bool md5, sha1, sha256;	    /* hashes to compute; SMTP default md5+sha1 (Zeek) */
	const char *extract_dir;    /* NULL: no extraction */
	uint64_t extract_max_file;  /* bytes per extracted file (Zeek default 100 MiB) */
	uint64_t extract_max_total; /* bytes extracted in all (0 = no limit) */
	const char *extract_types;  /* comma-separated mime types to extract; NULL = all */
	uint32_t max_in_flight;	    /* files open at once per engine */
	/* Added: */
	uint32_t bof_size;	     /* bytes sniffed for mime_type (Zeek: 4096; max 4096) */
	uint32_t max_filename;	     /* longest filename kept (longer ones are cut, counted) */
	const char *extract_sources; /* comma-separated sources to extract ("SMTP"); NULL = all */
	/* Zeek's policy/frameworks/intel/seen file-names.zeek and file-hashes.zeek: a file's
	 * name (Files::IN_NAME, when set) and each of its hashes (Files::IN_HASH, at close)
	 * are looked up here. NULL: no intelligence. */
	const struct intel *intel;
	/* Zeek's base/files/pe: application/x-dosexec files get the PE analyzer ("PE" in
	 * analyzers) and a `pe` record (pe.h). pe_max_sections: section names kept per file. */
	bool pe;
	uint32_t pe_max_sections;
};

void files_cfg__default(struct files_cfg *c);

struct mt_file;

/* Starts a file. source: "SMTP" or "SSL"; depth: Zeek's depth field; is_orig: sender side.
 * Returns NULL when max_in_flight is reached (counted, weird written by the caller). */
struct mt_file *files__open(struct mt_session *s, const struct files_cfg *cfg, uint64_t ts_ns,
			    const char *source, bool is_orig, unsigned depth);
const char *files__fuid(const struct mt_file *f);
/* Sets the filename; with intel FILE_NAME items, looks it up (Files::IN_NAME). */
void files__set_filename(struct mt_file *f, const char *name, size_t len);
/* Files::describe(f): the intel record's file_desc (set it before the filename). */
void files__set_desc(struct mt_file *f, const char *desc, size_t len);
/* A mime type known from the protocol (certificates); otherwise sniffed from content. */
void files__set_mime_type(struct mt_file *f, const char *mime);
void files__set_total_bytes(struct mt_file *f, uint64_t total);
void files__set_parent(struct mt_file *f, const char *parent_fuid);
/* An extra analyzer name for the `analyzers` set (e.g. "X509"). */
void files__add_analyzer(struct mt_file *f, const char *name);
void files__data(struct mt_file *f, const uint8_t *buf, size_t len, uint64_t ts_ns);
/* Whether the content of further bytes still matters: mime type not sniffed yet, a hash
 * running, or extraction on. When false, files__skip() may replace files__data(). */
bool files__wants_bytes(const struct mt_file *f);
/* `len` bytes of the file were seen, content not needed (!files__wants_bytes(f)): counts
 * them as files__data() would. */
void files__skip(struct mt_file *f, uint64_t len, uint64_t ts_ns);
/* `len` bytes of the file were lost: missing_bytes, hashes no longer reported. */
void files__gap(struct mt_file *f, uint64_t len, uint64_t ts_ns);
/* Writes the files record and frees f. */
void files__close(struct mt_file *f, uint64_t ts_ns);

/* Added: */

/* The sniffed (or set) mime type so far, NULL if none yet (sniffing happens when bof_size
 * bytes were seen, at a gap, or at close). */
const char *files__mime_type(const struct mt_file *f);
/* Closes f without writing a record (the connection's record builder is gone). */
void files__abort(struct mt_file *f);

/* The record a closed file produces (Zeek Files::Info), as rec_files__write() encodes it.
 * Pointers are valid during the call only. Unset &optional fields: NULL / has_* false / -1. */
struct files_info {
	uint64_t ts_ns;
	const char *fuid;
	const char *uid;	  /* NULL: not from a connection */
	const struct conn_id *id; /* NULL with uid */
	const char *source;
	unsigned depth;
	const char *const *analyzers;
	unsigned n_analyzers;
	const char *mime_type;
	const char *filename;
	size_t filename_len;
	int64_t duration_ns; /* last data - first (Zeek's last_active - ts: < 0 if time went back) */
	int local_orig; /* 1, 0, -1 unset */
	bool is_orig;
	uint64_t seen_bytes;
	bool has_total_bytes;
	uint64_t total_bytes;
	uint64_t missing_bytes;
	uint64_t overflow_bytes;
	bool timedout;
	const char *parent_fuid;
	const char *md5, *sha1, *sha256; /* lowercase hex */
	const char *extracted;
	int extracted_cutoff; /* 1, 0, -1 unset */
	bool has_extracted_size;
	uint64_t extracted_size;
};

/* Process-wide counters (all engines). */
struct files_stats {
	uint64_t opened;	      /* files__open() that returned a file */
	uint64_t refused;	      /* files__open() refused: max_in_flight */
	uint64_t in_flight;	      /* open now */
	uint64_t records;	      /* files records written */
	uint64_t gaps;		      /* files with missing bytes (hashes dropped) */
	uint64_t filenames_cut;	      /* filenames longer than max_filename */
	uint64_t extracted_files;     /* files written to extract_dir */
	uint64_t extracted_bytes;     /* bytes written (holes excluded) */
	uint64_t extract_cutoffs;     /* files cut at extract_max_file */
	uint64_t extract_total_limit; /* files cut or skipped at extract_max_total */
	uint64_t extract_errors;      /* open/write/rename failures (disk full, EACCES, ...) */
	struct pe_stats pe;	      /* the PE analyzer's (pe.h) */
	uint64_t mime_header_total_hits; /* messages whose MIME header was cut at
					  * mime_limits.max_header_total */
	uint64_t mime_open_messages;	 /* messages being parsed now */
	uint64_t mime_messages_refused;	 /* messages not parsed: mime_limits.max_open_messages */
};
void files__stats(struct files_stats *out);

#endif
