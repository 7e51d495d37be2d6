/* SPDX-License-Identifier: BSD-3-Clause */
/* SMTP analysis with Zeek's semantics (src/analyzer/protocol/smtp + scripts/base/protocols/smtp).
 *
 * Three layers, each in its own file:
 *  - user/smtp.c      the resumable command/reply state machine (pipelining queue, multi-line
 *                     replies, DATA dot-unstuffing, BDAT chunks, AUTH, STARTTLS, gaps) and the
 *                     script-level transaction semantics (struct smtp_tx: when a record is
 *                     written, trans_depth, helo, rcptto, headers, path, ...). No msgpack, no I/O:
 *                     results leave through struct smtp_cb.
 *  - user/rec_smtp.c  encodes struct smtp_tx / struct smtp_event with the record builder.
 *  - user/app_smtp.c  app_smtp_ops (session.h): one parser per connection, message bodies through
 *                     the MIME parser, one file per MIME entity, records through s->rec.
 *
 * Byte feeding follows session.h: feed() returns the bytes consumed; an unfinished command or
 * reply line is left unconsumed and presented again with the next bytes (at most max_line bytes:
 * a longer line is cut there, weird "contentline_size_exceeded", and its rest dropped up to its
 * end, whatever the segmentation). DATA and BDAT contents are streamed, never buffered,
 * whatever their line lengths. */
#ifndef MAILTAP_SMTP_H
#define MAILTAP_SMTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>
#include "mailtap/files.h"
#include "mailtap/mime.h"
#include "mailtap/session.h"
#include "mailtap/software.h"
#include "mailtap/types.h"

/* Bytes kept of an AUTH login name (auth_user). */
#define SMTP_AUTH_USER_MAX 256

/* Every limit, with its default. Zeek's option names in brackets. */
struct smtp_limits {
	uint32_t max_line;   /* command/reply line bytes (4096; at most SMTP_MAX_UNIT) */
	uint32_t max_rcptto; /* rcptto set size, 0 = no limit (1000) [SMTP::max_rcptto_addresses] */
	uint32_t max_to;     /* to set size (1000) [SMTP::max_to_addresses] */
	uint32_t max_cc;     /* cc set size (1000) [SMTP::max_cc_addresses] */
	uint32_t max_path;   /* path length (1000) [SMTP::max_path_length] */
	uint32_t max_address_bytes; /* bytes kept of one rcptto, to or cc entry, and one more
				     * (4096, Log::default_max_field_string_bytes; 0 = all) */
	uint32_t max_kept_addresses; /* rcptto, to or cc entries kept with their bytes; the
				      * rest only counted and told apart (length and hash:
				      * written as ""), unless intel has email items (100,
				      * Log::default_max_field_container_elements; 0 = all) */
	uint32_t max_invalid_tx;   /* invalid transactions before the analyzer is disabled, 0 =
				    * never (25) [SMTP::max_invalid_mail_transactions] */
	uint32_t max_pending_cmds; /* pipelined commands awaiting a reply (1000, Zeek's constant) */
	uint32_t max_held;	   /* finished records awaiting their replies (8, mailtap's own) */
	uint32_t max_header_value; /* bytes kept of a header value in the record (65536) */
	uint32_t max_fuids;	   /* fuids per record (1000) */
	uint32_t max_extensions;   /* EHLO keywords kept for server_extensions (64) */
	uint32_t events_data_max;  /* bytes of a DATA line in an smtp_data event (1024) */
};

struct smtp_cfg {
	struct smtp_limits lim;
	bool mail_transaction_validation; /* [SMTP::mail_transaction_validation] (true) */
	bool extra_fields;		  /* write the non-Zeek fields of docs/smtp.md (true) */
	bool events;			  /* produce the smtp_events stream (false) */
	bool events_show_auth;		  /* smtp_events: show AUTH arguments/answers (false:
					   * replaced by "***", and an unknown command while an
					   * AUTH has no final reply by its length: credentials
					   * never leave) */
	bool rfc822_msg_file;		  /* the whole message as a message/rfc822 file, parent
					   * of its entities' files (false)
					   * [SMTP::enable_rfc822_msg_file_analysis] */
	bool dpd_violations;		  /* a protocol violation (a reply without a valid code)
					   * within the first dpd_ignore_after bytes disables the
					   * analyzer, as Zeek's base/frameworks/analyzer/dpd.zeek
					   * (true) */
	uint32_t dpd_ignore_after;	  /* [DPD::ignore_violations_after] (10240; 0: always) */
	bool auth_user;			  /* extra field auth_user: the AUTH login name (true) */
	bool blocklists;		  /* notices for replies that name a spam block list, as
					   * Zeek's policy/protocols/smtp/blocklists.zeek (false:
					   * Zeek does not load it by default) */
	struct mime_limits mime;	  /* the MIME parser's limits */
	const struct files_cfg *files;	  /* NULL: no file analysis (fuids stay empty) */
	const struct files_cfg *rfc822_files; /* for the whole-message files; NULL: files */
	/* Zeek's policy/protocols/smtp/software.zeek (loaded by local.zeek): is_webmail and
	 * the software stream (software.enabled, true). sw: the worker's table, made by
	 * parsers__register; NULL: no software records. */
	struct software_cfg software;
	struct software *sw;
	/* Zeek's policy/frameworks/intel/seen smtp.zeek (and the files' names and hashes, through
	 * files_cfg.intel): the store, loaded by main; NULL: no intelligence. */
	const struct intel *intel;
};

/* Fills c with the defaults above (mime limits from mime_limits__default). */
void smtp_cfg__default(struct smtp_cfg *c);

/* Largest line app_smtp_ops asks the engine to keep (its max_unit). */
#define SMTP_MAX_UNIT 65536

/* An insertion-ordered set of strings (Zeek set[string] / vector[string]), in one buffer:
 * each string is its header (struct smtp_strset_hdr, host order), its bytes and a NUL. A
 * string longer than the set's keep limit (lim.max_address_bytes) keeps its first
 * limit + 1 bytes (so that the log writer cuts it, with its weird, as it cut the whole
 * string), and is told apart from others by its full length and a hash of all its bytes.
 * Beyond lim.max_kept_addresses entries an address keeps no bytes at all (an empty string
 * whose full length and hash still tell it apart). Walk it with smtp_strset__next. */
struct smtp_strset_hdr {
	uint32_t len;  /* bytes kept */
	uint32_t full; /* bytes of the whole string */
	uint64_t hash; /* of the whole string (the parser's seed) */
};
struct smtp_strset {
	char *buf;
	uint32_t len, cap; /* bytes of buf used / allocated */
	uint32_t n;	   /* strings */
	bool present;	   /* the field exists (Zeek: initialised, may be empty) */
};

/* The string after prev (NULL: the first) and its length in *len, which must still hold
 * prev's; NULL after the last. for (s = NULL; (s = smtp_strset__next(set, s, &len));) */
static inline const char *smtp_strset__next(const struct smtp_strset *set, const char *prev,
					    uint32_t *len)
{
	size_t off = prev ? (size_t)(prev - set->buf) + *len + 1 : 0;

	if (off >= set->len)
		return NULL;
	memcpy(len, set->buf + off, sizeof(*len));
	return set->buf + off + sizeof(struct smtp_strset_hdr);
}

/* Path hops kept in the transaction itself (client, server and two Received hops). */
#define SMTP_PATH_INLINE 4

/* One smtp record (Zeek SMTP::Info). */
struct smtp_tx {
	uint64_t ts;
	unsigned trans_depth;
	struct mt_str helo, mailfrom;
	struct smtp_strset rcptto, to, cc;
	struct mt_str date, from, reply_to, msg_id, in_reply_to, subject;
	bool has_x_originating_ip;
	struct mt_addr x_originating_ip;
	struct mt_str first_received, second_received, last_reply;
	struct mt_addr *path; /* path_inline until it holds more */
	uint32_t n_path, cap_path;
	struct mt_str user_agent;
	bool tls;
	struct smtp_strset fuids;
	bool is_webmail; /* policy/protocols/smtp/software.zeek */

	/* Beyond Zeek (docs/smtp.md). */
	struct mt_str auth_mechanism; /* last AUTH mechanism of the session */
	struct mt_str auth_user;      /* its login name (PLAIN, LOGIN, CRAM-MD5, XOAUTH2,
				       * OAUTHBEARER, NTLM's DOMAIN\user), never the secret */
	int auth_success;     /* -1 unknown / no AUTH, 0 failed, 1 succeeded */
	bool has_size_param;
	uint64_t size_param; /* MAIL FROM SIZE= */
	struct mt_str body_param; /* MAIL FROM BODY= */
	bool smtputf8;	     /* MAIL FROM SMTPUTF8 */
	bool bdat;	     /* message sent with BDAT */
	bool has_msg_size;
	uint64_t msg_size;  /* message bytes after dot-unstuffing (DATA) or chunk bytes (BDAT) */
	uint32_t anomalies; /* SMTP_ANOM_* seen in the message (smuggling indicators) */
	struct smtp_strset *server_extensions; /* session's EHLO keywords (not owned) */

	/* Script state (not logged). */
	bool process_received_from, has_client_activity, process_smtp_headers;
	unsigned entity_count;

	/* Storage: last_reply's allocation (reused by the next reply), the first path hops. */
	uint32_t last_reply_cap;
	struct mt_addr path_inline[SMTP_PATH_INLINE];
};

#define SMTP_ANOM_BARE_LF 0x01 /* bare LF inside DATA */
#define SMTP_ANOM_BARE_CR 0x02 /* bare CR inside DATA */
#define SMTP_ANOM_BAD_EOD 0x04 /* end of DATA other than CRLF . CRLF */

/* The opt-in event stream (Zeek's SMTP analyzer events). Pointers valid during the call. */
enum smtp_ev_type {
	SMTP_EV_REQUEST,    /* command, arg */
	SMTP_EV_REPLY,	    /* code, cmd, msg, cont_resp */
	SMTP_EV_DATA,	    /* arg = the DATA line (cut at events_data_max) */
	SMTP_EV_STARTTLS,   /* - */
	SMTP_EV_UNEXPECTED, /* msg, detail */
};

struct smtp_event {
	enum smtp_ev_type type;
	uint64_t ts;
	bool is_orig;
	const char *cmd;
	size_t cmd_len;
	const char *arg; /* request arg / data line / unexpected detail */
	size_t arg_len;
	unsigned code;
	const char *msg; /* reply text / unexpected msg */
	size_t msg_len;
	bool cont_resp;
};

/* Callbacks to the owner (app_smtp.c, or a test). Any may be NULL. */
struct smtp_cb {
	void *u;
	/* A record is complete: write it. tx is freed after the call. */
	void (*tx)(void *u, const struct smtp_tx *tx);
	/* source: "SMTP" (analyzer), "SMTP_BDAT" (BDAT helper), "CONTENTLINE" (line framing:
	 * NUL_in_line, line_terminated_with_single_CR, contentline_size_exceeded) or NULL ("-",
	 * script weirds). */
	void (*weird)(void *u, uint64_t ts, const char *name, const char *addl, const char *source);
	/* Zeek's AnalyzerViolation (data: the line at fault, len bytes); disabled: the analyzer
	 * stops (DPD), the owner should take "smtp" out of the connection's services if it was
	 * confirmed (analyzer_failed). */
	void (*violation)(void *u, uint64_t ts, const char *reason, const char *data, size_t len,
			  bool disabled);
	/* Zeek's AnalyzerConfirmation (first command seen). */
	void (*confirm)(void *u, uint64_t ts);
	/* 220 reply to STARTTLS: the rest of both streams is TLS. Called from the feed that ends
	 * the reply line, which returns right after it; but when that line, or the client's
	 * last line, ended with a CR that was the last byte seen of its side, the call waits for
	 * that side's next feed (which consumes a leading LF, the line end's rest) or the other
	 * side's (the bytes go to TLS, the feed returns 0). The parser consumes nothing more. */
	void (*starttls)(void *u, uint64_t ts);
	/* Opt-in event stream; NULL = off (and no cost). */
	void (*event)(void *u, const struct smtp_event *ev);
	/* The AUTH exchange gave a login name (auth_user): for intelligence (USER_NAME). */
	void (*auth_user)(void *u, uint64_t ts, const char *name, size_t len);
	/* Zeek's smtp_reply for the policy scripts: each reply line (msg: the text after the
	 * code and its separator) while the analyzer runs; NULL = off. */
	void (*reply)(void *u, uint64_t ts, unsigned code, const char *msg, size_t len);
	/* The message body (after dot-unstuffing, CRLF line ends; BDAT (bdat true): the chunk
	 * bytes as sent, for a line framing of Zeek's BDAT rules). */
	void (*body_begin)(void *u, uint64_t ts, bool is_orig, bool bdat);
	void (*body_data)(void *u, const uint8_t *buf, size_t len, uint64_t ts);
	/* Optional (DATA only): whole lines at the start of buf, each ending with CRLF, with no
	 * other CR or LF and none beginning with '.', which body_data would get unchanged: the
	 * consumer may take a prefix of them in one pass of its own (a base64 body) and returns
	 * the bytes it took; the rest (0: all) comes through body_data. Scans such lines once. */
	size_t (*body_lines)(void *u, const uint8_t *buf, size_t len, uint64_t ts);
	/* len message bytes lost; body_data may follow (a gap within a BDAT chunk), else
	 * body_end */
	void (*body_gap)(void *u, uint64_t len, uint64_t ts);
	void (*body_end)(void *u, uint64_t ts);
};

struct smtp_parser;

/* cfg must outlive the parser. NULL with errno set on failure. */
struct smtp_parser *smtp_parser__new(const struct smtp_cfg *cfg, const struct smtp_cb *cb,
				     const struct conn_id *id);
/* Bytes consumed (0..len) or -errno (sticky). */
ssize_t smtp_parser__feed(struct smtp_parser *p, enum mt_dir d, const uint8_t *buf, size_t len,
			  uint64_t ts);
void smtp_parser__gap(struct smtp_parser *p, enum mt_dir d, uint64_t len, uint64_t ts);
void smtp_parser__eof(struct smtp_parser *p, enum mt_dir d, uint64_t ts);
/* Connection end: ends an open message, writes the pending records (Zeek's finalize_smtp;
 * a message's record still waiting for the reply to its "." or LAST chunk first). */
void smtp_parser__end(struct smtp_parser *p, uint64_t ts);
void smtp_parser__free(struct smtp_parser *p);
/* True when smtp_parser__end would do nothing: no open message, no record to write (nor
 * one waiting for a reply). */
bool smtp_parser__idle(const struct smtp_parser *p);
/* True once STARTTLS was accepted (feed() returns the offset right after the 220 reply and
 * consumes nothing more but an LF that ends a line: see smtp_cb.starttls) or the analyzer
 * was disabled (feed() swallows everything). */
bool smtp_parser__done(const struct smtp_parser *p);

/* MIME results routed back by the owner (the message's headers make the record's fields). */
void smtp_parser__entity_begin(struct smtp_parser *p);
void smtp_parser__entity_end(struct smtp_parser *p);
void smtp_parser__header(struct smtp_parser *p, const char *name, size_t nlen, const char *value,
			 size_t vlen, uint64_t ts);
/* The open transaction (Zeek's c$smtp), NULL between transactions. Valid until the next
 * call into the parser. */
const struct smtp_tx *smtp_parser__tx(const struct smtp_parser *p);
/* Session-wide entity counter (Zeek smtp_state$mime_depth): the files' depth. */
unsigned smtp_parser__mime_depth(const struct smtp_parser *p);
/* The current entity's filename from Content-Disposition/Content-Type (Zeek entities.zeek),
 * with its length in *len (NUL bytes kept), or NULL. */
const char *smtp_parser__entity_filename(const struct smtp_parser *p, size_t *len);
/* A file of the current message: its fuid joins the record's fuids (unless tls). */
void smtp_parser__add_fuid(struct smtp_parser *p, const char *fuid);

/* Content recognition on other ports, as Zeek's SMTP DPD signatures: the responder's first
 * bytes match /^[[:space:]]*220[[:space:]-]/ (d = MT_RESP) and the originator sends a line
 * starting with HELO or EHLO (d = MT_ORIG). Returns 1 (match), 0 (no match) or -EAGAIN
 * (too few bytes to tell). */
int smtp__probe(enum mt_dir d, const uint8_t *buf, size_t len);

/* Zeek script helpers, exported for tests. */
/* extract_first_email_addr(); writes at most outlen-1 bytes. Returns length or 0 if none. */
size_t smtp__first_email_addr(const char *s, size_t len, char *out, size_t outlen);
/* extract_email_addrs_vec(): calls fn for each address, cleaned, in order. */
void smtp__each_email_addr(const char *s, size_t len,
			   void (*fn)(void *u, const char *a, size_t n), void *u);
/* extract_filename_from_content_disposition(); result NUL-terminated. Returns length. */
size_t smtp__filename_from_header(const char *s, size_t len, char *out, size_t outlen);
/* extract_ip_addresses(s, check_wrapping): calls fn for each address text in order. */
void smtp__extract_ips(const char *s, size_t len, bool check_wrapping,
		       void (*fn)(void *u, const char *ip), void *u);
/* extract_ip_addresses(s)[0] as addr: the first address of the text, into out. */
bool smtp__first_ip(const char *s, size_t len, struct mt_addr *out);

/* Record encoding (user/rec_smtp.c). */
struct rec;
/* One "smtp" record. extra: also the fields beyond Zeek; webmail: Zeek's is_webmail
 * (policy/protocols/smtp/software.zeek). */
void rec_smtp__tx(struct rec *r, const char *uid, const struct conn_id *id,
		  const struct smtp_tx *tx, bool extra, bool webmail);
/* One "smtp_events" record. */
void rec_smtp__event(struct rec *r, const char *uid, const struct conn_id *id,
		     const struct smtp_event *ev);

/* The application parser (user/app_smtp.c); its cfg is a struct smtp_cfg. */
extern const struct app_parser_ops app_smtp_ops;

#endif
