/* SPDX-License-Identifier: BSD-3-Clause */
/* Streaming MIME parser (RFC 5322/2045/2046/2047/2231), Zeek MIME_Entity semantics: fed the
 * bytes of one mail message (after SMTP dot-unstuffing, or BDAT chunk contents) in arbitrary
 * chunks, it reports entities, their unfolded headers and their decoded bodies through
 * callbacks. No I/O, no records.
 *
 * Zeek's byte accounting is kept exactly (docs/files.md): the message is cut into lines; a
 * line's CRLF belongs to the entity's data except the last CRLF before a multipart boundary;
 * quoted-printable adds CRLF after every line that does not end in a soft break; base64
 * ignores line ends. The top-level entity (depth 0) is begun by mime_msg__new(). */
#ifndef MAILTAP_MIME_H
#define MAILTAP_MIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mime_limits {
	uint32_t max_depth;	   /* nesting of multiparts / message/rfc822 (default 100) */
	uint32_t max_header_bytes; /* bytes of one header, its continuation lines included
				    * (Zeek: 65536, per header too) */
	uint32_t max_line;	   /* line bytes held: DATA passes a longer line on in pieces
				    * that stay one line (as Zeek's whole line); BDAT cuts it into
				    * lines (BDAT.cc) */
	uint32_t max_entities;	   /* entities per message */
	/* Header buffers of all messages together, one process-wide total (default 64 MiB; 0: no
	 * limit). A buffer grows to 8 KiB (or max_line + 2) whatever the total; beyond, a header
	 * that would take the total past it is cut as at max_header_bytes (weird
	 * exceeded_mime_max_header_bytes), counted in mime__header_total_hits(). A buffer over
	 * that size is given back when its header ends. */
	uint64_t max_header_total;
	/* Messages being parsed at once, process-wide (default 100000; 0: no limit): each holds
	 * the parser's state (about 13 KB in DATA with its output buffer touched, docs/robustness.md
	 * §2), so that the open messages of --max-flows connections are bounded too.
	 * mime_msg__new refuses one more (NULL, errno ENOSPC), counted in mime__open_stats(). */
	uint32_t max_open_messages;
	/* Added: */
	uint32_t max_filename; /* longest filename kept (default 1024) */
	int decode_filenames;  /* 0 (default): `filename` as Zeek derives it from the raw
				* header (files.log equality); 1: RFC 2231/2047 decoded */
};
void mime_limits__default(struct mime_limits *l);
/* Process-wide: header buffer bytes now, and messages with a header cut at max_header_total
 * (counted once a message, as the weird). */
void mime__header_total_stats(uint64_t *bytes, uint64_t *hits);
/* Process-wide: messages open now, and messages mime_msg__new refused at max_open_messages. */
void mime__open_stats(uint64_t *open, uint64_t *refused);

/* What the headers of an entity said, valid during the headers_done() callback only. */
struct mime_entity_info {
	unsigned depth;		    /* 0: the message itself; 1: its parts, ... */
	const char *type, *subtype; /* lowercased, "text"/"plain" when absent */
	const char *filename;	    /* files.log filename (see below), or NULL */
	size_t filename_len;
	const char *encoding; /* lowercased Content-Transfer-Encoding or NULL */
	int is_multipart;     /* children follow; the entity has no body data of its own */
	int is_message;	      /* message/rfc822: an embedded mail follows */
	/* Added: `filename` above is, by default (decode_filenames 0), exactly the value Zeek's
	 * SMTP scripts log (extract_filename_from_content_disposition on the last
	 * Content-Disposition filename= / Content-Type name= header: no RFC 2047, raw %XX
	 * unescaping). These are always the RFC 2231/2047 decoded name (or NULL): */
	const char *filename_decoded;
	size_t filename_decoded_len;
};

struct mime_cb {
	void *u;
	/* A new entity starts (the message itself first). */
	void (*begin)(void *u, unsigned depth);
	/* One header of the current entity, unfolded, name as sent, value with leading white
	 * space removed (Zeek's mime_one_header). */
	void (*header)(void *u, unsigned depth, const char *name, size_t nlen, const char *value,
		       size_t vlen);
	/* The header block of the current entity ended. */
	void (*headers_done)(void *u, const struct mime_entity_info *e);
	/* Decoded body bytes of the current entity (base64/quoted-printable undone). */
	void (*data)(void *u, const uint8_t *buf, size_t len);
	/* `len` bytes of the current entity's body were lost to a gap. */
	void (*gap)(void *u, uint64_t len);
	/* The current entity ended. */
	void (*end)(void *u);
	/* An anomaly, with Zeek's weird name where Zeek has one (exceeded_mime_max_depth,
	 * exceeded_mime_max_header_bytes, base64_illegal_encoding, ...). */
	void (*weird)(void *u, const char *name, const char *addl);
	/* Added (may be NULL): */
	/* The whole message as Zeek's SMTP::enable_rfc822_msg_file_analysis file sees it: every
	 * line with CRLF (DATA), or the chunk bytes as sent (BDAT). Feed it to a files__open(..
	 * "SMTP" ..) file with mime type "message/rfc822". */
	void (*raw)(void *u, const uint8_t *buf, size_t len);
	/* Zeek's mime_event (not weird.log): category "illegal format" / "illegal encoding". */
	void (*event)(void *u, const char *category, const char *detail);
	/* Both or neither. After each data() call: false when the consumer needs no more of the
	 * current entity's bytes (no hash, no extraction, mime type already sniffed). The rest
	 * of the entity is then decoded only as far as counting and anomalies need (weirds,
	 * events and stats as before) and arrives as skip(len) instead of data(). */
	bool (*data_wanted)(void *u);
	void (*skip)(void *u, uint64_t len);
};

struct mime_msg;

struct mime_msg *mime_msg__new(const struct mime_cb *cb, const struct mime_limits *lim);
/* Message bytes in arbitrary chunks. Consumes everything (keeps at most max_line bytes of
 * a partial line). 0 or -errno (sticky). */
int mime_msg__feed(struct mime_msg *m, const uint8_t *buf, size_t len);
/* Whole lines at the start of buf (DATA framing): takes a prefix of them in one pass when
 * the message is in a base64 body and they are base64 alphabet lines ending with CRLF, as
 * feed() would; returns the bytes taken (0: none; feed() the rest). For a caller that
 * checks lines itself (SMTP DATA), so that the bytes are scanned once. */
size_t mime_msg__feed_lines(struct mime_msg *m, const uint8_t *buf, size_t len);
/* `len` message bytes were lost. DATA framing: the partial line before the gap is dropped
 * (Zeek's SMTP never hands it to MIME); BDAT framing: it is delivered, as Zeek's BDAT
 * analyzer does. The message may go on after the gap (SMTP: a gap within a BDAT chunk):
 * feed() continues it, the open entity's file with the missing bytes. */
void mime_msg__gap(struct mime_msg *m, uint64_t len);
/* End of the message: ends every open entity. */
void mime_msg__end(struct mime_msg *m);
void mime_msg__free(struct mime_msg *m);

/* Added: */

/* How feed() cuts lines. DATA (default): CRLF, LF or CR ends a line (Zeek's ContentLine
 * analyzer). BDAT: Zeek's BDAT.cc rules, each feed() one of its deliveries: CRLF ends a line,
 * a bare LF ends a line and stays in it (weird smtp_bdat_line_lf_only), lines longer than
 * max_line are cut (weird smtp_bdat_line_too_long, addl Zeek's buffer size then: the partial
 * line held and the feed's bytes), a CR alone at the end of a feed is flushed unless the next
 * feed starts with LF (smtp_bdat_line_cr_only). Set before the first feed(). */
enum mime_framing { MIME_FRAMING_DATA = 0, MIME_FRAMING_BDAT = 1 };
void mime_msg__set_framing(struct mime_msg *m, enum mime_framing f);
/* Bytes of a partial line held (BDAT: Zeek's smtp_bdat_undelivered_at_done if > 0 when the
 * message ends abnormally). */
size_t mime_msg__pending(const struct mime_msg *m);

struct mime_stats {
	uint64_t entities;		/* begun, the message itself included */
	uint64_t lines;			/* lines (units) delivered */
	uint64_t lines_split;		/* lines cut at max_line */
	uint64_t header_bytes_exceeded; /* continuation lines dropped (max_header_bytes) */
	uint64_t depth_exceeded;	/* children not begun (max_depth) */
	uint64_t entities_exceeded;	/* children not begun (max_entities) */
	uint64_t b64_bad_chars;		/* characters ignored by base64 decoding */
	uint64_t b64_incomplete;	/* entities ending inside a base64 group */
	uint64_t qp_errors;		/* illegal quoted-printable sequences */
	uint64_t format_errors;		/* Zeek "illegal format" events */
	uint64_t bytes_in, bytes_out;	/* message bytes fed, decoded bytes delivered */
	uint64_t bytes_skipped;		/* of bytes_out: counted only (cb.skip), not written */
	uint64_t gap_bytes;
};
void mime_msg__stats(const struct mime_msg *m, struct mime_stats *st);

#endif
