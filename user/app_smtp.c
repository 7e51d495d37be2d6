// SPDX-License-Identifier: BSD-3-Clause
/* The "smtp" application parser: glues one smtp_parser (user/smtp.c) to its connection. Message
 * bodies go through a mime_msg (user/mime.c); every MIME entity with body data becomes a file
 * (user/files.c) whose fuid joins the record; records go out through the session's builder. */
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include "mailtap/bits.h"
#include "mailtap/files.h"
#include "mailtap/intel.h"
#include "mailtap/mime.h"
#include "mailtap/rec.h"
#include "mailtap/session.h"
#include "mailtap/smtp.h"
#include "mailtap/smtp_blocklist.h"
#include "mailtap/urlfind.h"

/* Weird names already written for this connection (Zeek's Weird framework logs a name once
 * per connection). */
#define APP_SMTP_WEIRD_SLOTS 64

struct app_smtp {
	struct mt_session *s;
	const struct smtp_cfg *cfg;
	struct smtp_parser *p;
	struct mime_msg *mime;
	struct mt_file *file;	 /* the current entity's file */
	bool file_refused;	 /* files__open refused it (--max-files): none for this entity */
	struct mt_file *msgfile; /* the whole message (rfc822_msg_file) */
	bool is_orig;		 /* direction of the message */
	uint64_t ts;
	struct intel_urls *urls; /* intel URL items loaded: the entity's URLs (seen/smtp-url-extraction) */
	uint32_t weirds[APP_SMTP_WEIRD_SLOTS];
	uint32_t n_weirds;
	uint64_t weirds_dropped; /* repeats not written */
};

static uint32_t name_hash(const char *s)
{
	uint32_t h = 2166136261u;

	while (*s)
		h = (h ^ (uint8_t)*s++) * 16777619u;
	return h;
}

static void a_weird_src(struct app_smtp *a, uint64_t ts, const char *name, const char *addl,
			const char *source)
{
	uint32_t h = name_hash(name);

	for (uint32_t i = 0; i < a->n_weirds; i++)
		if (a->weirds[i] == h) {
			a->weirds_dropped++;
			return;
		}
	if (a->n_weirds < APP_SMTP_WEIRD_SLOTS)
		a->weirds[a->n_weirds++] = h;
	if (a->s->weird)
		a->s->weird(a->s, ts, name, addl, addl ? strlen(addl) : 0, source);
}

static void a_weird(struct app_smtp *a, uint64_t ts, const char *name, const char *addl)
{
	a_weird_src(a, ts, name, addl, NULL);
}

/* ---- smtp_parser callbacks ---- */

/* policy/protocols/smtp/software.zeek's log_smtp: a message with a user agent from a local
 * originator names the software of its client, the earliest hop of the Received path (for a
 * webmail message whose first Received says "via HTTP", the hop before it). Software::found
 * tracks local hosts only (asset_tracking = LOCAL_HOSTS). */
static void software_of(struct app_smtp *a, const struct smtp_tx *tx)
{
	struct mt_session *s = a->s;
	enum sw_type t = tx->is_webmail ? SW_WEBMAIL_SERVER : SW_MAIL_CLIENT;
	const struct mt_addr *host;

	if (!a->cfg->sw || !s->is_local || !tx->user_agent.s || !tx->n_path || s->local_orig != 1)
		return;
	host = &tx->path[tx->n_path - 1];
	if (tx->is_webmail && tx->first_received.s && tx->n_path >= 2 &&
	    memmem(tx->first_received.s, tx->first_received.n, "via HTTP", 8))
		host = &tx->path[tx->n_path - 2];
	if (s->is_local(s, host) != 1)
		return;
	software__found_write(a->cfg->sw, s->rec, host, t, tx->user_agent.s, tx->user_agent.n,
			      a->ts);
}

static void cb_tx(void *u, const struct smtp_tx *tx)
{
	struct app_smtp *a = u;

	if (!a->s->rec)
		return;
	rec_smtp__tx(a->s->rec, a->s->uid, a->s->id, tx, a->cfg->extra_fields,
		     a->cfg->software.enabled);
	if (a->cfg->software.enabled)
		software_of(a, tx);
}

static void cb_weird(void *u, uint64_t ts, const char *name, const char *addl, const char *source)
{
	a_weird_src(u, ts, name, addl, source);
}

/* analyzer_violation_info (analyzer.log), and Zeek's DPD: an analyzer disabled by a
 * violation loses its service in conn.log. */
static void cb_violation(void *u, uint64_t ts, const char *reason, const char *data, size_t len,
			 bool disabled)
{
	struct app_smtp *a = u;

	if (a->s->analyzer_violation)
		a->s->analyzer_violation(a->s, ts, "SMTP", reason, data, len);
	if (disabled && a->s->violation)
		a->s->violation(a->s, "smtp");
}

/* Beyond Zeek's seen scripts: the login name of a cleartext AUTH as a USER_NAME, where
 * SMTP::IN_AUTH (docs/intel.md). */
static void cb_auth_user(void *u, uint64_t ts, const char *name, size_t len)
{
	struct app_smtp *a = u;
	struct intel_seen w = {
	    .ts_ns = ts, .where = INTEL_SMTP_IN_AUTH, .uid = a->s->uid, .id = a->s->id};

	intel__seen(a->cfg->intel, a->s->rec, &w, INTEL_USER_NAME, name, len);
}

/* policy/protocols/smtp/blocklists.zeek's smtp_reply handler (--smtp-blocklists) */
static void cb_reply(void *u, uint64_t ts, unsigned code, const char *msg, size_t len)
{
	struct app_smtp *a = u;

	if (a->s->rec)
		smtp_blocklist__reply(a->s->rec, ts, a->s->uid, a->s->id, code, msg, len);
}

static void cb_confirm(void *u, uint64_t ts)
{
	struct app_smtp *a = u;

	(void)ts;
	if (a->s->confirm)
		a->s->confirm(a->s, "smtp");
}

static void cb_starttls(void *u, uint64_t ts)
{
	struct app_smtp *a = u;

	(void)ts;
	if (a->s->handoff)
		a->s->handoff(a->s, "ssl");
}

static void cb_event(void *u, const struct smtp_event *ev)
{
	struct app_smtp *a = u;

	if (a->s->rec)
		rec_smtp__event(a->s->rec, a->s->uid, a->s->id, ev);
}

/* ---- intelligence (policy/frameworks/intel/seen/smtp.zeek) ---- */

#define INTEL_FROM_MAX 64 /* addresses of a From header looked up (a set: each once) */

struct from_set {
	struct app_smtp *a;
	struct intel_seen *w;
	uint32_t n;
	uint64_t h[INTEL_FROM_MAX];
};

static void intel_from_cb(void *u, const char *addr, size_t n)
{
	struct from_set *fs = u;
	uint64_t h = mt_hash_bytes(0, addr, n);

	for (uint32_t i = 0; i < fs->n; i++)
		if (fs->h[i] == h)
			return;
	if (fs->n == INTEL_FROM_MAX)
		return;
	fs->h[fs->n++] = h;
	intel__seen(fs->a->cfg->intel, fs->a->s->rec, fs->w, INTEL_EMAIL, addr, n);
}

/* extract_first_email_addr() of s, looked up as an EMAIL. */
static void intel_first_email(struct app_smtp *a, struct intel_seen *w, const char *s,
			      size_t n)
{
	char buf[1024];
	size_t k = smtp__first_email_addr(s, n, buf, sizeof(buf));

	intel__seen(a->cfg->intel, a->s->rec, w, INTEL_EMAIL, buf, k);
}

/* mime_end_entity: the transaction's addresses, hosts and user agent as Zeek's seen/smtp.zeek
 * looks them up at the end of every MIME entity. Cc and Reply-To are looked up by their
 * first address, as To is (Zeek looks up the header text, which matches no EMAIL item
 * unless it is a bare address: docs/intel.md). */
static void intel_entity_end(struct app_smtp *a)
{
	const struct intel *in = a->cfg->intel;
	const struct smtp_tx *tx = smtp_parser__tx(a->p);
	struct intel_seen w = {.ts_ns = a->ts, .uid = a->s->uid, .id = a->s->id};
	struct rec *r = a->s->rec;
	const char *e;
	uint32_t n;

	if (!tx || !r)
		return;
	if (intel__has_addr(in)) {
		w.where = INTEL_SMTP_IN_RECEIVED_HEADER;
		for (uint32_t i = 0; i < tx->n_path; i++)
			intel__seen_addr(in, r, &w, &tx->path[i]);
		w.where = INTEL_SMTP_IN_X_ORIGINATING_IP_HEADER;
		if (tx->has_x_originating_ip)
			intel__seen_addr(in, r, &w, &tx->x_originating_ip);
	}
	if (intel__has(in, INTEL_SOFTWARE) && tx->user_agent.s) {
		w.where = INTEL_SMTP_IN_HEADER;
		intel__seen(in, r, &w, INTEL_SOFTWARE, tx->user_agent.s, tx->user_agent.n);
	}
	if (!intel__has(in, INTEL_EMAIL))
		return;
	if (tx->mailfrom.s) {
		w.where = INTEL_SMTP_IN_MAIL_FROM;
		intel__seen(in, r, &w, INTEL_EMAIL, tx->mailfrom.s, tx->mailfrom.n);
	}
	w.where = INTEL_SMTP_IN_RCPT_TO;
	for (e = NULL; (e = smtp_strset__next(&tx->rcptto, e, &n));)
		intel__seen(in, r, &w, INTEL_EMAIL, e, n);
	if (tx->from.s) {
		struct from_set fs = {.a = a, .w = &w};

		w.where = INTEL_SMTP_IN_FROM;
		smtp__each_email_addr(tx->from.s, tx->from.n, intel_from_cb, &fs);
	}
	w.where = INTEL_SMTP_IN_TO;
	for (e = NULL; (e = smtp_strset__next(&tx->to, e, &n));)
		intel_first_email(a, &w, e, n);
	w.where = INTEL_SMTP_IN_CC;
	for (e = NULL; (e = smtp_strset__next(&tx->cc, e, &n));)
		intel_first_email(a, &w, e, n);
	if (tx->reply_to.s) {
		w.where = INTEL_SMTP_IN_REPLY_TO;
		intel_first_email(a, &w, tx->reply_to.s, tx->reply_to.n);
	}
}

/* SMTP::describe(c$smtp), the file_desc of an SMTP file's intel records. */
static size_t smtp_describe(const struct smtp_tx *tx, char *buf, size_t cap)
{
	const char *one_to;
	uint32_t n = 0;
	int k;

	if (!tx || !tx->mailfrom.s || !tx->rcptto.present ||
	    !(one_to = smtp_strset__next(&tx->rcptto, NULL, &n)))
		return 0;
	k = snprintf(buf, cap, "%.*s -> %.*s", (int)tx->mailfrom.n, tx->mailfrom.s, (int)n,
		     one_to);
	if (k >= 0 && (size_t)k < cap && tx->rcptto.n > 1)
		k += snprintf(buf + k, cap - (size_t)k, " (plus %u others)", tx->rcptto.n - 1);
	if (k >= 0 && (size_t)k < cap && tx->subject.s && tx->subject.n > 20)
		k += snprintf(buf + k, cap - (size_t)k, ": %.21s...", tx->subject.s);
	if (k < 0)
		return 0;
	return (size_t)k < cap ? (size_t)k : cap - 1;
}

/* seen/smtp-url-extraction.zeek: the URLs of every SMTP file's bytes, each looked up once
 * per entity (Zeek: once per 1 KiB chunk, missing those a chunk boundary cuts). */
#define INTEL_URLS_SEEN 256

struct intel_urls {
	uint32_t n_seen;
	uint64_t seen[INTEL_URLS_SEEN];
	struct urlfind f;
};

static void url_cb(void *u, const char *url, size_t n)
{
	struct app_smtp *a = u;
	struct intel_urls *iu = a->urls;
	uint64_t h = mt_hash_bytes(0, url, n);
	struct intel_seen w = {.ts_ns = a->ts,
			       .where = INTEL_SMTP_IN_MESSAGE,
			       .uid = a->s->uid,
			       .id = a->s->id};

	for (uint32_t i = 0; i < iu->n_seen; i++)
		if (iu->seen[i] == h)
			return;
	if (iu->n_seen < INTEL_URLS_SEEN)
		iu->seen[iu->n_seen++] = h;
	if (a->s->rec)
		intel__seen(a->cfg->intel, a->s->rec, &w, INTEL_URL, url, n);
}

static void urls_end(struct app_smtp *a)
{
	if (!a->urls)
		return;
	urlfind__end(&a->urls->f, url_cb, a);
	urlfind__init(&a->urls->f);
	a->urls->n_seen = 0;
}

/* ---- MIME callbacks ---- */

static void m_begin(void *u, unsigned depth)
{
	struct app_smtp *a = u;

	(void)depth;
	a->file_refused = false;
	urls_end(a);
	smtp_parser__entity_begin(a->p);
}

static void m_begin_msg(void *u, unsigned depth)
{
	struct app_smtp *a = u;

	smtp_parser__entity_begin(a->p);
	if (depth || a->msgfile)
		return;
	a->msgfile = files__open(a->s, a->cfg->rfc822_files ? a->cfg->rfc822_files : a->cfg->files,
				 a->ts, "SMTP", a->is_orig, smtp_parser__mime_depth(a->p));
	if (!a->msgfile)
		return;
	files__set_mime_type(a->msgfile, "message/rfc822");
	smtp_parser__add_fuid(a->p, files__fuid(a->msgfile));
}

static void m_header(void *u, unsigned depth, const char *name, size_t nlen, const char *value,
		     size_t vlen)
{
	struct app_smtp *a = u;

	(void)depth;
	smtp_parser__header(a->p, name, nlen, value, vlen, a->ts);
}

static void m_headers_done(void *u, const struct mime_entity_info *e)
{
	(void)u;
	(void)e;
}

/* Zeek's MIME_Mail: an entity's file starts with its first data (or a gap in it). */
static bool entity_file(struct app_smtp *a)
{
	const char *fn;
	size_t fn_len;

	if (a->file)
		return true;
	if (!a->cfg->files || a->file_refused)
		return false;
	a->file = files__open(a->s, a->cfg->files, a->ts, "SMTP", a->is_orig,
			      smtp_parser__mime_depth(a->p));
	if (!a->file) {
		/* no file for this entity at all: a later chunk must not start one that
		 * holds only the entity's tail */
		a->file_refused = true;
		return false;
	}
	if (intel__has(a->cfg->files->intel, INTEL_FILE_NAME) ||
	    intel__has(a->cfg->files->intel, INTEL_FILE_HASH)) {
		char desc[512];

		files__set_desc(a->file, desc,
				smtp_describe(smtp_parser__tx(a->p), desc, sizeof(desc)));
	}
	fn = smtp_parser__entity_filename(a->p, &fn_len);
	if (fn)
		files__set_filename(a->file, fn, fn_len);
	smtp_parser__add_fuid(a->p, files__fuid(a->file));
	if (a->msgfile)
		files__set_parent(a->file, files__fuid(a->msgfile));
	return true;
}

static void m_data(void *u, const uint8_t *buf, size_t len)
{
	struct app_smtp *a = u;

	if (a->urls)
		urlfind__feed(&a->urls->f, buf, len, url_cb, a);
	if (len && entity_file(a))
		files__data(a->file, buf, len, a->ts);
}

/* Decoded bytes matter to the entity's file only until it is sniffed, unless it is hashed
 * or extracted; a file not opened yet needs its first bytes (files__open at first data). */
static bool m_data_wanted(void *u)
{
	struct app_smtp *a = u;

	if (a->urls)
		return true; /* URLs are looked for in every byte */
	if (!a->cfg->files || a->file_refused)
		return false;
	return !a->file || files__wants_bytes(a->file);
}

static void m_skip(void *u, uint64_t len)
{
	struct app_smtp *a = u;

	if (len && entity_file(a))
		files__skip(a->file, len, a->ts);
}

static void m_gap(void *u, uint64_t len)
{
	struct app_smtp *a = u;

	if (len && entity_file(a))
		files__gap(a->file, len, a->ts);
}

static void m_end(void *u)
{
	struct app_smtp *a = u;

	urls_end(a);
	if (a->file) {
		files__close(a->file, a->ts);
		a->file = NULL;
	}
	a->file_refused = false;
	smtp_parser__entity_end(a->p);
	if (a->cfg->intel)
		intel_entity_end(a);
}

/* The message as sent (Zeek's Rfc822MsgDataIn). */
static void m_raw(void *u, const uint8_t *buf, size_t len)
{
	struct app_smtp *a = u;

	if (a->msgfile && len)
		files__data(a->msgfile, buf, len, a->ts);
}

/* MIME anomalies are reported by Zeek's SMTP analyzer: weird.log source "SMTP"; the BDAT line
 * framing's (smtp_bdat_line_lf_only, _cr_only, _too_long) by its SMTP_BDAT_Analyzer:
 * "SMTP_BDAT". */
static void m_weird(void *u, const char *name, const char *addl)
{
	struct app_smtp *a = u;

	a_weird_src(a, a->ts, name, addl,
		    strncmp(name, "smtp_bdat_", 10) ? "SMTP" : "SMTP_BDAT");
}

static const struct mime_cb mime_cbs = {
    .begin = m_begin,
    .header = m_header,
    .headers_done = m_headers_done,
    .data = m_data,
    .gap = m_gap,
    .end = m_end,
    .weird = m_weird,
    .raw = m_raw,
    .data_wanted = m_data_wanted,
    .skip = m_skip,
};

/* ---- message bodies ---- */

static void cb_body_begin(void *u, uint64_t ts, bool is_orig, bool bdat)
{
	struct app_smtp *a = u;
	struct mime_cb cb = mime_cbs;

	a->ts = ts;
	a->is_orig = is_orig;
	if (a->mime)
		return;
	cb.u = a;
	/* SMTP::enable_rfc822_msg_file_analysis: the message file starts with the message
	 * (after its top-level entity began: depth counts it). */
	if (a->cfg->rfc822_msg_file && a->cfg->files && !a->msgfile)
		cb.begin = m_begin_msg;
	a->mime = mime_msg__new(&cb, &a->cfg->mime);
	if (!a->mime && errno == ENOSPC) {
		/* --mime-max-open-messages: the message is not parsed (no header fields, no files);
		 * its envelope, size and reply are still written */
		char addl[16];

		snprintf(addl, sizeof(addl), "%u", a->cfg->mime.max_open_messages);
		a_weird(a, ts, "exceeded_mime_max_open_messages", addl);
		return;
	}
	if (a->mime && bdat)
		mime_msg__set_framing(a->mime, MIME_FRAMING_BDAT);
}

static void cb_body_data(void *u, const uint8_t *buf, size_t len, uint64_t ts)
{
	struct app_smtp *a = u;

	a->ts = ts;
	if (a->mime && mime_msg__feed(a->mime, buf, len) < 0) {
		/* The MIME parser gave up on this message: end it, keep the SMTP side going. */
		a_weird(a, ts, "mime_parser_failed", NULL);
		mime_msg__end(a->mime);
		mime_msg__free(a->mime);
		a->mime = NULL;
	}
}

static size_t cb_body_lines(void *u, const uint8_t *buf, size_t len, uint64_t ts)
{
	struct app_smtp *a = u;

	if (!a->mime)
		return 0;
	a->ts = ts;
	return mime_msg__feed_lines(a->mime, buf, len);
}

static void cb_body_gap(void *u, uint64_t len, uint64_t ts)
{
	struct app_smtp *a = u;

	a->ts = ts;
	if (a->mime)
		mime_msg__gap(a->mime, len);
	if (a->msgfile)
		files__gap(a->msgfile, len, ts);
}

static void cb_body_end(void *u, uint64_t ts)
{
	struct app_smtp *a = u;

	a->ts = ts;
	if (a->mime) {
		mime_msg__end(a->mime);
		mime_msg__free(a->mime);
		a->mime = NULL;
	}
	if (a->file) { /* an entity the MIME parser did not end */
		files__close(a->file, ts);
		a->file = NULL;
	}
	if (a->msgfile) {
		files__close(a->msgfile, ts);
		a->msgfile = NULL;
	}
}

/* ---- app_parser_ops ---- */

static void *app_new(struct mt_session *s, const void *cfgp)
{
	static struct smtp_cfg defaults;
	static bool have_defaults;
	const struct smtp_cfg *cfg = cfgp;
	struct smtp_cb cb = {
	    .tx = cb_tx,
	    .weird = cb_weird,
	    .violation = cb_violation,
	    .confirm = cb_confirm,
	    .starttls = cb_starttls,
	    .body_begin = cb_body_begin,
	    .body_data = cb_body_data,
	    .body_lines = cb_body_lines,
	    .body_gap = cb_body_gap,
	    .body_end = cb_body_end,
	};
	struct app_smtp *a;

	if (!cfg) {
		if (!have_defaults) {
			smtp_cfg__default(&defaults);
			have_defaults = true;
		}
		cfg = &defaults;
	}
	a = calloc(1, sizeof(*a));
	if (!a)
		return NULL;
	a->s = s;
	a->cfg = cfg;
	if (intel__has(cfg->intel, INTEL_URL)) {
		a->urls = calloc(1, sizeof(*a->urls));
		if (!a->urls) {
			free(a);
			errno = ENOMEM;
			return NULL;
		}
	}
	cb.u = a;
	if (cfg->events)
		cb.event = cb_event;
	if (cfg->blocklists)
		cb.reply = cb_reply;
	if (cfg->intel)
		cb.auth_user = cb_auth_user;
	a->p = smtp_parser__new(cfg, &cb, s->id);
	if (!a->p) {
		int err = errno;

		free(a->urls);
		free(a);
		errno = err;
		return NULL;
	}
	return a;
}

static ssize_t app_feed(void *pa, enum mt_dir d, const uint8_t *buf, size_t len, uint64_t ts)
{
	struct app_smtp *a = pa;

	a->ts = ts;
	return smtp_parser__feed(a->p, d, buf, len, ts);
}

static void app_gap(void *pa, enum mt_dir d, uint64_t len, uint64_t ts)
{
	struct app_smtp *a = pa;

	a->ts = ts;
	smtp_parser__gap(a->p, d, len, ts);
}

static void app_eof(void *pa, enum mt_dir d, uint64_t ts)
{
	struct app_smtp *a = pa;

	a->ts = ts;
	smtp_parser__eof(a->p, d, ts);
}

static void app_end(void *pa, uint64_t ts)
{
	struct app_smtp *a = pa;

	a->ts = ts;
	smtp_parser__end(a->p, ts);
}

static void app_free(void *pa)
{
	struct app_smtp *a = pa;

	if (!a)
		return;
	if (a->mime)
		mime_msg__free(a->mime);
	if (a->file)
		files__close(a->file, a->ts);
	if (a->msgfile)
		files__close(a->msgfile, a->ts);
	smtp_parser__free(a->p);
	free(a->urls);
	free(a);
}

/* Nothing pending: app_end and app_free would write no record. */
static bool app_idle(const void *pa)
{
	const struct app_smtp *a = pa;

	return !a->mime && !a->file && !a->msgfile && smtp_parser__idle(a->p);
}

const struct app_parser_ops app_smtp_ops = {
    .name = "smtp",
    .max_unit = SMTP_MAX_UNIT,
    .new = app_new,
    .feed = app_feed,
    .gap = app_gap,
    .eof = app_eof,
    .end = app_end,
    .idle = app_idle,
    .free = app_free,
};
