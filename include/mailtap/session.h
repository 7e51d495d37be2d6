/* SPDX-License-Identifier: BSD-3-Clause */
/* The application-parser interface: what every parser (SMTP, TLS, ...) sees of its connection,
 * and the five calls every parser implements (push bytes in, callbacks and records out).
 *
 * Data flow: reassembly -> app (engine) -> parser. In-order stream bytes arrive through feed();
 * holes that can no longer be filled through gap(); the end of one direction through eof();
 * the end of the connection through end(), after which the parser writes what it still holds. */
#ifndef MAILTAP_SESSION_H
#define MAILTAP_SESSION_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "mailtap/types.h"

struct rec;
struct mt_ids;

/* A connection as the application layer sees it. Owned by the engine; valid from the
 * parser's new() to its free(). */
struct hashmb_pool;

struct mt_session {
	const char *uid;	   /* Zeek uid "C..." */
	const struct conn_id *id;  /* originator/responder as decided by the flow table */
	struct rec *rec;	   /* the worker's record builder: rec__begin .. rec__end */
	struct mt_ids *ids;	   /* fuid generator (mt_ids__make(ids, 'F', buf)) */
	struct hashmb_pool *hashes; /* the worker's MD5/SHA-1 streams (NULL: one at a time) */
	uint64_t start_ts;	   /* ts of the connection's first packet (ns) */
	int local_orig, local_resp; /* 1, 0, or -1 when --local-nets is not set */
	void *engine;		   /* private to the engine */

	/* Site::is_local_addr(a): 1, 0, or -1 as local_orig. */
	int (*is_local)(struct mt_session *s, const struct mt_addr *a);

	/* The parser recognised its protocol: adds `service` to conn's service list (once,
	 * in confirmation order: "smtp" then "ssl" gives "smtp,ssl"). */
	void (*confirm)(struct mt_session *s, const char *service);
	/* A weird.log record for this connection (name as Zeek's). addl: addl_len bytes, which
	 * may hold NUL bytes (NULL or empty: no addl); source: Zeek's weird.log `source`, the
	 * analyzer's name ("SMTP", "SMTP_BDAT", "CONTENTLINE"), or NULL. */
	void (*weird)(struct mt_session *s, uint64_t ts_ns, const char *name, const char *addl,
		      size_t addl_len, const char *source);
	/* A weird.log record about a file of this connection (Zeek's Reporter::Weird(file, ...)
	 * and weird.zeek's file_weird): no uid or id, addl the file's fuid, or "<fuid>: <addl>"
	 * when addl (NUL-terminated) is not NULL or empty. Written as weird.zeek's do_weird
	 * writes such a weird (no identifier): once per name every ten minutes. May be NULL. */
	void (*file_weird)(struct mt_session *s, uint64_t ts_ns, const char *name,
			   const char *fuid, const char *addl);
	/* Hands both directions of the stream, from the byte after the current feed's return
	 * value on, to the parser named `parser` (STARTTLS -> "ssl"). The current parser gets
	 * end() and free() once its feed() returns. 0 or -ENOENT. */
	int (*handoff)(struct mt_session *s, const char *parser);
	/* The parser gave up on a protocol violation (Zeek's DPD disables the analyzer): the
	 * service is removed from conn's service list, as Zeek does by default. */
	void (*violation)(struct mt_session *s, const char *service);
	/* Zeek's analyzer_violation_info, logged by Analyzer::Logging (analyzer.log): the
	 * parser's analyzer (Zeek's name: "SMTP", "SSL") met data that breaks its protocol,
	 * for reason (Zeek's text); data, len: the bytes at fault where Zeek gives them (NULL,
	 * 0: none). Whether the analyzer goes on is the parser's business (violation() above
	 * when it stops). May be NULL. */
	void (*analyzer_violation)(struct mt_session *s, uint64_t ts_ns, const char *analyzer,
				   const char *reason, const char *data, size_t len);
};

struct app_parser_ops {
	const char *name; /* "smtp", "ssl" */
	/* Largest unit the parser may ask to see whole (a line, a TLS record). A feed() that
	 * returns less than len keeps the tail; the engine presents it again, prefixed, with
	 * the next bytes, but never more than max_unit bytes: at that size feed() must consume
	 * at least one byte. */
	size_t max_unit;
	/* cfg: the parser's own configuration struct (declared in its header), owned by main. */
	void *(*new)(struct mt_session *s, const void *cfg);
	/* Bytes consumed (0..len) or -errno (sticky: the engine stops feeding the parser,
	 * counts it and writes a weird). */
	ssize_t (*feed)(void *p, enum mt_dir d, const uint8_t *buf, size_t len, uint64_t ts_ns);
	/* `len` bytes of this direction will never arrive (Zeek's Undelivered). */
	void (*gap)(void *p, enum mt_dir d, uint64_t len, uint64_t ts_ns);
	/* No more bytes in this direction (FIN, RST or connection end). */
	void (*eof)(void *p, enum mt_dir d, uint64_t ts_ns);
	/* Connection end (or handoff): write every record still pending. */
	void (*end)(void *p, uint64_t ts_ns);
	void (*free)(void *p);
	/* Optional: true when end() would write nothing and change nothing (no open message,
	 * file or record). Once both directions have ended and the parser is idle, the engine
	 * ends and frees it at once rather than when the connection is removed (tcp_close_delay
	 * later): the records are the same, and a busy sensor does not keep the parser state
	 * of every connection closed in the last 5 s. */
	bool (*idle)(const void *p);
};

#endif
