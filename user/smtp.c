// SPDX-License-Identifier: BSD-3-Clause
/* SMTP: Zeek's SMTP analyzer state machine (SMTP.cc, BDAT.cc, ContentLine line framing) and
 * the transaction semantics of Zeek's scripts (smtp/main.zeek, entities.zeek, files.zeek),
 * rewritten as a resumable byte parser. Results leave through struct smtp_cb; no msgpack.
 *
 * Line framing is Zeek's ContentLine: CRLF, a bare LF and a bare CR all end a line; an LF right
 * after a CR that ended a line is skipped. Command and reply lines are processed straight from
 * the caller's buffer; only a line split across feeds is copied (at most max_line bytes).
 * DATA contents are streamed line by line to body_data() with CRLF line ends, dot-unstuffed;
 * BDAT chunk bytes are streamed as sent. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include "mailtap/bits.h"
#include "mailtap/intel.h"
#include "mailtap/scan.h"
#include "mailtap/smtp.h"
#include "mailtap/uri.h"

/* Commands, as Zeek's SMTP_cmd.def (order matters: ParseCmd accepts every word from EHLO on). */
/* clang-format off */
#define SMTP_CMDS(X)                                                                    \
	X(EHLO) X(HELO) X(MAIL) X(RCPT) X(DATA) X(QUIT) X(RSET) X(VRFY) X(EXPN) X(HELP) \
	X(NOOP) X(STARTTLS) X(X_ANONYMOUSTLS) X(CONN_ESTABLISHMENT) X(END_OF_DATA)      \
	X(SEND) X(SOML) X(SAML) X(TURN) X(BDAT) X(ETRN) X(AUTH) X(AUTH_ANSWER) X(LAST)
/* clang-format on */

#define X_ENUM(c) CMD_##c,
#define X_NAME(c) #c,
enum smtp_cmd { SMTP_CMDS(X_ENUM) };
static const char *const cmd_word[] = {SMTP_CMDS(X_NAME)};
static const char unknown_cmd[] = "(UNKNOWN)";

static const char *cmd_name(int code)
{
	return code >= 0 && code <= CMD_LAST ? cmd_word[code] : unknown_cmd;
}

/* Zeek's SMTP_State; the state is updated on every command and reply. */
enum smtp_state {
	ST_CONNECTED,	  /* before the opening message */
	ST_INITIATED,	  /* after opening message 220, EHLO/HELO expected */
	ST_NOT_AVAILABLE, /* after opening message 554, etc. */
	ST_READY,	  /* after EHLO/HELO and reply 250 */
	ST_MAIL_OK,	  /* after MAIL/SEND/SOML/SAML and 250, RCPT expected */
	ST_RCPT_OK,	  /* after one successful RCPT, DATA or more RCPT expected */
	ST_IN_DATA,	  /* after DATA */
	ST_AFTER_DATA,	  /* after . and before reply */
	ST_IN_AUTH,	  /* after AUTH and 334 */
	ST_IN_TLS,	  /* after STARTTLS/X-ANONYMOUSTLS and 220 */
	ST_QUIT,	  /* after QUIT */
	ST_AFTER_GAP,	  /* after a gap is detected */
	ST_GAP_RECOVERY,  /* after the first reply after a gap */
	ST_IN_BDAT,	  /* receiving BDAT chunks */
};

/* How a line ended. */
enum eol { EOL_NONE, EOL_CRLF, EOL_LF, EOL_CR };

/* The weird.log source of Zeek's line framing's weirds (its ContentLine_Analyzer, named
 * "CONTENTLINE": Analyzer::Weird gives the analyzer's name). */
#define CONTENTLINE "CONTENTLINE"

/* Records of finished messages held for the reply to their end at once (a client that
 * pipelines whole messages); one more writes the oldest early (smtp_too_many_held_records). */

/* Zeek's ContentLine_Analyzer maximum line length (16 MiB - 100). */
#define SMTP_ZEEK_MAX_LINE ((16u << 20) - 100u)

struct dir_state {
	char *lbuf; /* partial line carried across feeds (max_line bytes) */
	uint32_t lbuf_len;
	bool skip_lf;	 /* the last line ended with a bare CR: skip one LF */
	bool cr_pending; /* that CR's next byte is not seen yet */
	bool cr_data;	 /* that CR ended a DATA line (smuggling indicators) */
	bool discard;	 /* the rest of an over-long line: dropped up to its end */
	uint64_t off;	 /* stream offset (bytes seen + gaps), Zeek's seq */
};

struct smtp_parser {
	bool line_cut; /* the line being processed was cut at max_line */
	uint64_t seed; /* the address sets' hashes (strset_seed) */
	const struct smtp_cfg *cfg;
	const struct smtp_limits *lim;
	struct smtp_cb cb;
	const struct conn_id *id;
	uint64_t ts;
	int err;
	bool done;     /* TLS or disabled: nothing more is parsed */
	bool disabled; /* Zeek disable_analyzer() */
	/* STARTTLS accepted: the hand-off (cb.starttls) waits while a line of either side ended
	 * with a CR that was the last byte seen of its side, so that its LF, which may come
	 * next, is not taken for TLS (tls_wait: those sides, 1 << mt_dir) */
	enum { TLS_NO, TLS_ACCEPTED, TLS_WAIT, TLS_HANDED } tls;
	uint8_t tls_wait;

	/* Analyzer state (SMTP.cc). */
	int state;
	bool orig_is_sender;
	int last_replied_cmd, first_cmd, pending_reply;
	int *q; /* pending_cmd_q: ring buffer */
	uint32_t q_head, q_n, q_cap;
	bool in_mail; /* Zeek's mail != nullptr */
	bool reply_first_line;
	struct dir_state dir[2];

	/* DATA streaming (sender side). */
	bool d_bol;	     /* at the beginning of a line */
	uint64_t d_line_len; /* bytes of the current DATA line so far */
	bool d_dot;	     /* a leading '.' was seen on this line */
	bool d_line_has;     /* the line has content beyond the dot */
	enum eol d_prev_eol; /* how the previous DATA line ended */
	bool d_eod_cr;	     /* the "." line ended with CR: check for the LF */
	char *ev_line;	     /* smtp_data event: the line so far (events only) */
	uint32_t ev_len;

	/* BDAT (BDAT.cc). */
	bool bdat;
	bool bdat_last;
	uint64_t bdat_remaining;
	bool bdat_line; /* a partial chunk line is pending */
	bool reply_gap; /* the receiver's gap during BDAT: the next reply is Zeek's (UNKNOWN) */
	/* DATA: the DATA command's 354 was seen (a receiver's gap lost no refusal of it) */
	bool data_ok;
	/* the message of a DATA whose reply a receiver's gap may have lost: kept open while the
	 * analyzer waits after the gap, resumed by a 354, ended by the sender's next line */
	bool data_susp;

	/* Script state (SMTP::State). */
	struct smtp_tx *tx; /* c$smtp */
	bool have_state;    /* c$smtp_state */
	struct mt_str helo;
	unsigned messages_transferred;
	bool trans_mail_from_seen, trans_rcpt_to_seen;
	/* Zeek's bdat_last_observed, counted: the BDAT replies still to come up to the reply to
	 * the command of the LAST chunk, which writes the record (0: none awaited) */
	uint32_t bdat_wait;
	uint32_t bdat_queued; /* BDAT commands without a reply: first_cmd and the queue */
	/* The same for DATA: the replies to "." still to come up to the one to this record's
	 * "." (Zeek writes the record at any reply to "."), and the "." commands queued */
	uint32_t eod_wait;
	uint32_t eod_queued;
	/* The record of a message whose next MAIL FROM came before the reply to its end (its
	 * LAST chunk's command, or its "."): written at that reply (wait: the BDAT replies,
	 * or with eod the replies to ".", still to come up to it). Oldest first, n_held of
	 * them: a client may pipeline whole messages (several BDAT LAST messages, or DATA
	 * without waiting for its 354); when lim.max_held wait, the oldest is written early.
	 * Allocated at the first hold, grown to at most lim.max_held. */
	struct smtp_held {
		struct smtp_tx *tx;
		uint32_t wait;
		bool eod;
	} *held;
	uint32_t n_held, held_cap;
	bool replied; /* a reply was seen: one to a message's end can come (not one-sided) */
	unsigned invalid_transactions;
	bool analyzer_id; /* confirmation seen */
	unsigned mime_depth;
	bool has_entity;
	struct mt_str entity_filename;

	/* Beyond Zeek. */
	struct mt_str auth_mech;
	int auth_success;
	struct mt_str auth_user; /* the login name the AUTH exchange gave (never its secret) */
	uint8_t auth_answers;	 /* client answers since the AUTH command */
	bool auth_ir;		 /* the AUTH command carried an initial response */
	bool auth_ask_user;	 /* the last 334 challenge asked for a user name ("Username:") */
	bool auth_pending;	 /* an AUTH command without its final reply yet, and no other
				  * command since: a line that is no command may be a secret */
	struct smtp_strset exts;
	uint64_t msg_bytes;
	uint32_t msg_anom;
	bool msg_bdat;
	bool single_cr_weird; /* line_terminated_with_single_CR written */
	bool nul_weird;	      /* NUL_in_line written */
	size_t cur_feed_len;  /* bytes of the feed being processed (DPD size) */
};

/* ---- small helpers ---- */

static char *dupn(const char *s, size_t n)
{
	char *d = malloc(n + 1);

	if (!d)
		return NULL;
	memcpy(d, s, n);
	d[n] = 0;
	return d;
}

/* The address sets' hash seed: random, one for the process (a parser takes it at start). */
static uint64_t strset_seed;
static pthread_once_t strset_seed_once = PTHREAD_ONCE_INIT;

static void strset_seed_init(void)
{
	if (getrandom(&strset_seed, sizeof(strset_seed), GRND_NONBLOCK) != sizeof(strset_seed))
		strset_seed = (uint64_t)(uintptr_t)&strset_seed ^ 0x9e3779b97f4a7c15ULL;
}

static bool strset_has(const struct smtp_strset *set, const struct smtp_strset_hdr *h,
		       const char *s)
{
	const char *v = NULL;
	uint32_t len = 0;

	while ((v = smtp_strset__next(set, v, &len))) {
		struct smtp_strset_hdr e;

		memcpy(&e, v - sizeof(e), sizeof(e));
		if (e.len == h->len && e.full == h->full && e.hash == h->hash &&
		    !memcmp(v, s, h->len))
			return true;
	}
	return false;
}

/* Adds s unless present; of a string longer than keep (0: no limit; SIZE_MAX: none) only
 * its first keep bytes are kept (its full length and hash tell it apart). 0 or -ENOMEM. */
static int strset_add_keep(struct smtp_strset *set, const char *s, size_t n, size_t keep,
			   uint64_t seed)
{
	struct smtp_strset_hdr h;
	size_t need;

	set->present = true;
	if (n > UINT32_MAX / 2)
		return -ENOMEM;
	h.full = (uint32_t)n;
	h.hash = mt_hash_bytes(seed, s, n);
	if (keep == SIZE_MAX)
		n = 0;
	else if (keep && n > keep)
		n = keep;
	h.len = (uint32_t)n;
	if (strset_has(set, &h, s))
		return 0;
	need = (size_t)set->len + sizeof(h) + n + 1;
	if (need > UINT32_MAX / 2)
		return -ENOMEM;
	if (need > set->cap) {
		size_t cap = set->cap ? set->cap : 64;
		char *nb;

		while (cap < need)
			cap *= 2;
		nb = realloc(set->buf, cap);
		if (!nb)
			return -ENOMEM;
		set->buf = nb;
		set->cap = (uint32_t)cap;
	}
	memcpy(set->buf + set->len, &h, sizeof(h));
	memcpy(set->buf + set->len + sizeof(h), s, n);
	set->buf[set->len + sizeof(h) + n] = 0;
	set->len = (uint32_t)need;
	set->n++;
	return 0;
}

/* Keywords and fuids: kept whole. */
static int strset_add(struct smtp_strset *set, const char *s, size_t n)
{
	return strset_add_keep(set, s, n, 0, 0);
}

/* rcptto, to and cc entries: lim.max_address_bytes and one more byte kept; none beyond
 * lim.max_kept_addresses entries (the log writer writes none of them), unless intelligence
 * looks for email addresses in them. */
static int strset_add_addr(struct smtp_parser *p, struct smtp_strset *set, const char *s,
			   size_t n)
{
	uint32_t m = p->lim->max_address_bytes, k = p->lim->max_kept_addresses;
	size_t keep = m ? (size_t)m + 1 : 0;

	if (k && set->n >= k && !intel__has(p->cfg->intel, INTEL_EMAIL))
		keep = SIZE_MAX; /* no bytes */
	return strset_add_keep(set, s, n, keep, p->seed);
}

static void strset_free(struct smtp_strset *set)
{
	free(set->buf);
	memset(set, 0, sizeof(*set));
}

/* ASCII case-insensitive equality of n bytes (strncasecmp in the C locale, inlined: commands
 * are matched against a list of verbs). */
static inline bool ci_same(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];

		if (x != y && ((x | 0x20) != (y | 0x20) || (x | 0x20) < 'a' || (x | 0x20) > 'z'))
			return false;
	}
	return true;
}

/* Inlined, so that strlen of the literal they are given is a constant. */
static inline __attribute__((always_inline)) bool ci_prefix(const char *s, size_t n,
							    const char *pfx)
{
	size_t l = strlen(pfx);

	return n >= l && ci_same(s, pfx, l);
}

static inline __attribute__((always_inline)) bool ci_eq(const char *s, size_t n, const char *w)
{
	return strlen(w) == n && ci_same(s, w, n);
}

static bool is_blank(int c)
{
	return c == ' ' || c == '\t';
}

/* ---- callbacks ---- */

static void weird(struct smtp_parser *p, const char *name, const char *addl, const char *source)
{
	if (p->cb.weird)
		p->cb.weird(p->cb.u, p->ts, name, addl, source);
}

static void event(struct smtp_parser *p, struct smtp_event *ev)
{
	ev->ts = p->ts;
	p->cb.event(p->cb.u, ev);
}

/* Zeek's Unexpected(): an smtp_unexpected event. */
static void unexpected(struct smtp_parser *p, bool is_sender, const char *msg, const char *detail,
		       size_t dlen)
{
	struct smtp_event ev = {.type = SMTP_EV_UNEXPECTED};

	if (!p->cb.event)
		return;
	ev.is_orig = p->orig_is_sender ? is_sender : !is_sender;
	ev.msg = msg;
	ev.msg_len = strlen(msg);
	ev.arg = detail;
	ev.arg_len = dlen;
	event(p, &ev);
}

static void unexpected_cmd(struct smtp_parser *p, int cmd, int reply)
{
	char buf[128];
	int n;

	if (!p->cb.event)
		return;
	n = snprintf(buf, sizeof(buf), "%s reply = %d state = %d", cmd_name(cmd), reply, p->state);
	unexpected(p, true, "unexpected command", buf, (size_t)n);
}

static void unexpected_reply(struct smtp_parser *p, int cmd, int reply)
{
	char buf[128];
	int n;

	if (!p->cb.event)
		return;
	n = snprintf(buf, sizeof(buf), "%d state = %d, last command = %s", reply, p->state,
		     cmd_name(cmd));
	unexpected(p, true, "unexpected reply", buf, (size_t)n);
}

/* ---- records (main.zeek) ---- */

static void tx_free(struct smtp_tx *tx)
{
	if (!tx)
		return;
	mt_str__free(&tx->helo);
	mt_str__free(&tx->mailfrom);
	strset_free(&tx->rcptto);
	strset_free(&tx->to);
	strset_free(&tx->cc);
	mt_str__free(&tx->date);
	mt_str__free(&tx->from);
	mt_str__free(&tx->reply_to);
	mt_str__free(&tx->msg_id);
	mt_str__free(&tx->in_reply_to);
	mt_str__free(&tx->subject);
	mt_str__free(&tx->first_received);
	mt_str__free(&tx->second_received);
	mt_str__free(&tx->last_reply);
	if (tx->path != tx->path_inline)
		free(tx->path);
	mt_str__free(&tx->user_agent);
	strset_free(&tx->fuids);
	mt_str__free(&tx->auth_mechanism);
	mt_str__free(&tx->auth_user);
	mt_str__free(&tx->body_param);
	free(tx);
}

static int path_add(struct smtp_tx *tx, const struct mt_addr *a)
{
	if (tx->n_path == tx->cap_path) {
		uint32_t cap = tx->cap_path * 2;
		bool inl = tx->path == tx->path_inline;
		struct mt_addr *np = realloc(inl ? NULL : tx->path, cap * sizeof(*np));

		if (!np)
			return -ENOMEM;
		if (inl)
			memcpy(np, tx->path_inline, sizeof(tx->path_inline));
		tx->path = np;
		tx->cap_path = cap;
	}
	tx->path[tx->n_path++] = *a;
	return 0;
}

/* new_smtp_log() */
static struct smtp_tx *new_tx(struct smtp_parser *p)
{
	struct smtp_tx *tx = calloc(1, sizeof(*tx));

	if (!tx) {
		p->err = -ENOMEM;
		return NULL;
	}
	tx->ts = p->ts;
	tx->trans_depth = p->messages_transferred + 1;
	if (p->helo.s)
		mt_str__set(&tx->helo, p->helo.s, p->helo.n);
	tx->path = tx->path_inline;
	tx->cap_path = SMTP_PATH_INLINE;
	path_add(tx, &p->id->resp_h);
	path_add(tx, &p->id->orig_h);
	tx->process_received_from = true;
	tx->process_smtp_headers = true;
	tx->auth_success = -1;
	/* c$smtp$entity belongs to the record: a new record has none */
	p->has_entity = false;
	mt_str__free(&p->entity_filename);
	return tx;
}

/* set_smtp_session() */
static void set_session(struct smtp_parser *p)
{
	p->have_state = true;
	if (!p->tx)
		p->tx = new_tx(p);
}

static void write_tx(struct smtp_parser *p, struct smtp_tx *tx)
{
	if (p->auth_mech.s)
		mt_str__set(&tx->auth_mechanism, p->auth_mech.s, p->auth_mech.n);
	if (p->auth_user.s && p->cfg->auth_user)
		mt_str__set(&tx->auth_user, p->auth_user.s, p->auth_user.n);
	tx->auth_success = p->auth_mech.s ? p->auth_success : -1;
	tx->server_extensions = &p->exts;
	if (p->cb.tx)
		p->cb.tx(p->cb.u, tx);
}

/* The oldest held record: written now (its reply came, or cannot come any more); one
 * without client activity is not (smtp_message's rule). */
static void held_write_first(struct smtp_parser *p)
{
	struct smtp_tx *h;

	if (!p->n_held)
		return;
	h = p->held[0].tx;
	p->n_held--;
	memmove(&p->held[0], &p->held[1], p->n_held * sizeof(p->held[0]));
	if (h->has_client_activity)
		write_tx(p, h);
	tx_free(h);
}

/* Every held record, oldest first. */
static void held_write(struct smtp_parser *p)
{
	while (p->n_held)
		held_write_first(p);
}

static void smtp_message(struct smtp_parser *p);

/* A MAIL FROM came while the reply to the end of the record's message (its "." or the
 * command of its LAST chunk) is still to come: the record waits for that reply, the next
 * one starts now, and the message counts as transferred. */
static void hold_tx(struct smtp_parser *p)
{
	uint32_t k;

	if (p->lim->max_held && p->n_held >= p->lim->max_held) {
		weird(p, "smtp_too_many_held_records", NULL, "SMTP");
		held_write_first(p);
	}
	if (p->n_held == p->held_cap) {
		uint32_t cap = p->held_cap ? p->held_cap * 2 : 2;
		struct smtp_held *nh;

		if (cap > p->lim->max_held)
			cap = p->lim->max_held;
		nh = cap > p->held_cap ? realloc(p->held, cap * sizeof(*nh)) : NULL;
		if (!nh) { /* max_held 0 (when Zeek writes it), or no memory: written now */
			p->eod_wait = p->bdat_wait = 0;
			p->messages_transferred++;
			smtp_message(p);
			return;
		}
		p->held = nh;
		p->held_cap = cap;
	}
	k = p->n_held++;
	p->held[k].tx = p->tx;
	p->held[k].eod = p->eod_wait > 0;
	p->held[k].wait = p->held[k].eod ? p->eod_wait : p->bdat_wait;
	p->eod_wait = p->bdat_wait = 0;
	p->messages_transferred++;
	p->tx = new_tx(p);
}

/* smtp_message(): write the record if the client did something, start a new one. */
static void smtp_message(struct smtp_parser *p)
{
	held_write(p);
	if (p->tx && p->tx->has_client_activity) {
		write_tx(p, p->tx);
		tx_free(p->tx);
		p->tx = new_tx(p);
	}
}

/* Zeek's mail_transaction_invalid(). */
static void end_data(struct smtp_parser *p);

static void tx_invalid(struct smtp_parser *p, const char *addl)
{
	char buf[64];

	weird(p, "smtp_mail_transaction_invalid", addl, "SMTP");
	p->invalid_transactions++;
	if (p->lim->max_invalid_tx > 0 && p->invalid_transactions > p->lim->max_invalid_tx &&
	    p->analyzer_id) {
		snprintf(buf, sizeof(buf), "%u > %u", p->invalid_transactions,
			 p->lim->max_invalid_tx);
		weird(p, "smtp_excessive_invalid_mail_transactions", buf, "SMTP");
		/* disable_analyzer(): Done() ends an open message. */
		p->disabled = p->done = true;
		p->analyzer_id = false;
		if (p->in_mail)
			end_data(p);
	}
}

/* ---- Zeek script helpers (base/utils/email.zeek, addrs.zeek, files.zeek) ---- */

static bool in_set(int c, const char *set)
{
	return c && strchr(set, c) != NULL;
}

/* The e-mail regex's character classes, as tables (NUL is in none). */
static const bool c_lead[256] = {['<'] = 1, [','] = 1, [':'] = 1, [' '] = 1, ['\t'] = 1};
static const bool c_local_end[256] = {
    ['<'] = 1, [','] = 1, [':'] = 1, [' '] = 1, ['\t'] = 1, ['@'] = 1};
static const bool c_domain_end[256] = {['>'] = 1, [','] = 1, [';'] = 1, [' '] = 1, ['\t'] = 1};
static const bool c_cleaned[256] = {
    ['<'] = 1, ['>'] = 1, [','] = 1, [':'] = 1, [';'] = 1, [' '] = 1, ['\t'] = 1};
#define IN_CLASS(tbl, c) ((tbl)[(unsigned char)(c)])

/* One match of /(^|[<,:[:blank:]])[^<,:[:blank:]@]+"@"[^>,;[:blank:]]+([>,;[:blank:]]|$)/
 * at t (find_all() tries every offset, where ^ matches too). Returns its length, or 0 and in
 * *next the first offset after t that may match: the offsets inside a local part that ended
 * without '@', or with an empty domain, end the same way (linear, not quadratic, in a long
 * run without '@'). */
static size_t email_match(const char *s, size_t len, size_t t, size_t *next)
{
	size_t i = t, j, at;

	*next = t + 1;
	if (IN_CLASS(c_lead, s[i]))
		i++;
	j = i;
	while (j < len && !IN_CLASS(c_local_end, s[j]))
		j++;
	if (j == i)
		return 0;
	if (j >= len || s[j] != '@') {
		*next = j;
		return 0;
	}
	at = j;
	i = ++j;
	while (j < len && !IN_CLASS(c_domain_end, s[j]))
		j++;
	if (j == i) {
		*next = at;
		return 0;
	}
	if (j < len)
		j++; /* the terminator */
	return j - t;
}

/* Calls fn for each address of extract_email_addrs_vec() (cleaned of [<>,:;[:blank:]]), whole
 * as Zeek's (s is bounded by its caller: a command line by max_line). The cleaned characters are
 * mostly the match's lead and terminator: an address without others inside is passed from s. */
static void each_email(const char *s, size_t len, void (*fn)(void *u, const char *a, size_t n),
		       void *u)
{
	char sbuf[1024];
	size_t t = 0, next;

	while (t < len) {
		size_t m = email_match(s, len, t, &next), a, e, i, k = 0, cap = sizeof(sbuf);
		char *buf = sbuf;

		if (!m) {
			t = next;
			continue;
		}
		a = t;
		e = t + m;
		t = e;
		while (a < e && IN_CLASS(c_cleaned, s[a]))
			a++;
		while (e > a && IN_CLASS(c_cleaned, s[e - 1]))
			e--;
		for (i = a; i < e && !IN_CLASS(c_cleaned, s[i]); i++)
			;
		if (i == e) {
			fn(u, s + a, e - a);
			continue;
		}
		if (e - a > cap) {
			char *b = malloc(e - a);

			if (b) { /* else no memory: the address as far as sbuf holds, not none */
				buf = b;
				cap = e - a;
			}
		}
		for (i = a; i < e && k < cap; i++)
			if (!IN_CLASS(c_cleaned, s[i]))
				buf[k++] = s[i];
		fn(u, buf, k);
		if (buf != sbuf)
			free(buf);
	}
}

struct first_ctx {
	char *out;
	size_t outlen, n;
	bool got;
};

static void first_cb(void *u, const char *a, size_t n)
{
	struct first_ctx *c = u;

	if (c->got)
		return;
	c->got = true;
	if (n >= c->outlen)
		n = c->outlen - 1;
	memcpy(c->out, a, n);
	c->out[n] = 0;
	c->n = n;
}

void smtp__each_email_addr(const char *s, size_t len,
			   void (*fn)(void *u, const char *a, size_t n), void *u)
{
	each_email(s, len, fn, u);
}

size_t smtp__first_email_addr(const char *s, size_t len, char *out, size_t outlen)
{
	struct first_ctx c = {.out = out, .outlen = outlen};

	if (!outlen)
		return 0;
	out[0] = 0;
	each_email(s, len, first_cb, &c);
	return c.n;
}

/* The IP address regex of addrs.zeek, as a POSIX ERE (leftmost-longest, like Zeek's). */
static regex_t ip_re;
static int ip_re_ok;
static pthread_once_t ip_re_once = PTHREAD_ONCE_INIT;

static void append(char *buf, size_t cap, size_t *o, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void append(char *buf, size_t cap, size_t *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*o >= cap)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + *o, cap - *o, fmt, ap);
	va_end(ap);
	if (n > 0)
		*o += (size_t)n;
}

static void ip_re_init(void)
{
	static char pat[8192];
	char v4[512];
	const char *D = "([0-9]{1}|[0-9]{2}|0[0-9]{2}|1[0-9]{2}|2[0-4][0-9]|25[0-5])";
	const char *H = "[0-9A-Fa-f]{1,4}";
	size_t o = 0, ov = 0;
	int n;

	append(v4, sizeof(v4), &ov, "%s\\.%s\\.%s\\.%s", D, D, D, D);
	/* ipv4_addr_regex | ipv6_8hex_regex | ipv6_compressed_hex_regex | ipv6_hex4dec_regex |
	 * ipv6_compressed_hex4dec_regex */
	append(pat, sizeof(pat), &o, "%s|(%s:){7}%s", v4, H, H);
	append(pat, sizeof(pat), &o, "|::(%s(:%s){0,6})?", H, H);
	for (n = 1; n <= 6; n++)
		append(pat, sizeof(pat), &o, "|%s(:%s){%d}::(%s(:%s){0,%d})?", H, H, n - 1, H, H,
		       6 - n);
	append(pat, sizeof(pat), &o, "|%s(:%s){6}::", H, H);
	append(pat, sizeof(pat), &o, "|(%s:){6}%s", H, v4);
	append(pat, sizeof(pat), &o, "|::(%s(:%s){0,4})?%s", H, H, v4);
	for (n = 1; n <= 4; n++)
		append(pat, sizeof(pat), &o, "|%s(:%s){%d}::(%s(:%s){0,%d})?%s", H, H, n - 1, H, H,
		       4 - n, v4);
	append(pat, sizeof(pat), &o, "|%s(:%s){4}::%s", H, H, v4);
	ip_re_ok = o < sizeof(pat) && regcomp(&ip_re, pat, REG_EXTENDED) == 0;
}

/* Zeek's is_valid_ip(): IPv6 through inet_pton, IPv4 parsed leniently (leading zeros are
 * fine, "%d.%d.%d.%d" each 0..255); ip is rewritten in canonical form. */
static bool valid_ip(char *ip, size_t cap)
{
	uint8_t b[16];
	int a[4], n = 0;

	if (strchr(ip, ':'))
		return inet_pton(AF_INET6, ip, b) == 1;
	if (sscanf(ip, "%d.%d.%d.%d%n", &a[0], &a[1], &a[2], &a[3], &n) != 4 || ip[n])
		return false;
	for (int i = 0; i < 4; i++)
		if (a[i] < 0 || a[i] > 255)
			return false;
	snprintf(ip, cap, "%d.%d.%d.%d", a[0], a[1], a[2], a[3]);
	return true;
}

void smtp__extract_ips(const char *s, size_t len, bool check_wrapping,
		       void (*fn)(void *u, const char *ip), void *u)
{
	char *str, ip[64];
	regmatch_t m[1];
	size_t pos = 0, prev_end = 0;
	struct {
		size_t so, eo;
	} cur = {0, 0};
	bool have = false;

	pthread_once(&ip_re_once, ip_re_init);
	if (!ip_re_ok || !(str = dupn(s, len)))
		return;
	/* split_string_all(): parts alternate text, match, text, ...; for each match look at
	 * the last character of the text before it and the first of the text after it. */
	for (;;) {
		bool found = pos <= len &&
			     regexec(&ip_re, str + pos, 1, m, pos ? REG_NOTBOL : 0) == 0 &&
			     m[0].rm_eo > m[0].rm_so;
		size_t next_so = found ? pos + (size_t)m[0].rm_so : len;

		if (have) {
			size_t n = cur.eo - cur.so;
			/* p1 = str[prev_end, cur.so), p3 = str[cur.eo, next_so) */
			bool p1e = cur.so == prev_end, p3e = next_so == cur.eo;
			char a = p1e ? 0 : str[cur.so - 1], z = p3e ? 0 : str[cur.eo];

			if (n < sizeof(ip)) {
				memcpy(ip, str + cur.so, n);
				ip[n] = 0;
				if (valid_ip(ip, sizeof(ip)) &&
				    (!check_wrapping || (p1e && p3e) || (a == '[' && z == ']') ||
				     (a == '(' && z == ')') || (a == '{' && z == '}') ||
				     (a == ' ' && z == ' ')))
					fn(u, ip);
			}
			prev_end = cur.eo;
		}
		if (!found)
			break;
		cur.so = next_so;
		cur.eo = pos + (size_t)m[0].rm_eo;
		have = true;
		pos = cur.eo;
	}
	free(str);
}

/* [a-zA-Z0-9\!#$%&+-^_`{}~] of files.zeek (note the range '+'..'^'). */
static bool cd_class(int c)
{
	return isalnum(c) || in_set(c, "!#$%&_`{}~") || (c >= '+' && c <= '^');
}

size_t smtp__filename_from_header(const char *s, size_t len, char *out, size_t outlen)
{
	size_t start = len, i, j, n, k;
	bool found = false;

	if (!outlen)
		return 0;
	/* sub(/^.*name[[:blank:]]*\*?=[[:blank:]]*\/, ""): the longest match ends after the last
	 * occurrence. */
	for (i = 0; i + 4 <= len; i++) {
		if (strncasecmp(s + i, "name", 4))
			continue;
		j = i + 4;
		while (j < len && is_blank(s[j]))
			j++;
		if (j < len && s[j] == '*')
			j++;
		if (j >= len || s[j] != '=')
			continue;
		j++;
		while (j < len && is_blank(s[j]))
			j++;
		if (!found || j > start)
			start = j;
		found = true;
	}
	if (!found)
		start = 0;
	s += start;
	len -= start;
	/* Quotes: the text between the first and the second quote. */
	if (len && s[0] == '"') {
		const char *q = memchr(s + 1, '"', len - 1);

		n = q ? (size_t)(q - s - 1) : len - 1;
		s += 1;
		len = n;
	}
	/* RFC 2231 charset'lang' prefix: sub(/^.+'.*'/, "") removes through the last quote. */
	for (i = 0; i < len && cd_class((unsigned char)s[i]); i++)
		;
	if (i > 0 && i < len && s[i] == '\'') {
		for (j = i + 1; j < len && cd_class((unsigned char)s[j]); j++)
			;
		if (j < len && s[j] == '\'') {
			size_t last = j;

			for (k = j; k < len; k++)
				if (s[k] == '\'')
					last = k;
			s += last + 1;
			len -= last + 1;
		}
	}
	/* unescape_URI() (uri.h), cut to outlen - 1 bytes */
	n = mt_unescape_uri((const uint8_t *)s, len, (uint8_t *)out, outlen - 1);
	out[n] = 0;
	return n;
}

/* ---- script event handlers ---- */

struct addr_ctx {
	struct smtp_parser *p;
	struct smtp_strset *set;
	uint32_t max;
	const char *weird;
	bool stop;
};

static void rcpt_cb(void *u, const char *a, size_t n)
{
	struct addr_ctx *c = u;
	char sbuf[1024] = "", *buf = sbuf; /* "": for the compiler, which cannot tell k > 0 */
	size_t k = 0, cap = sizeof(sbuf);

	if (c->stop)
		return;
	if (c->max && c->set->n >= c->max) {
		weird(c->p, c->weird, NULL, NULL);
		c->stop = true;
		return;
	}
	/* gsub(/ORCPT=rfc822;?/, ""), on the whole address (Zeek logs it whole) */
	if (!memmem(a, n, "ORCPT=rfc822", 12)) {
		strset_add_addr(c->p, c->set, a, n);
		return;
	}
	if (n > cap) {
		char *b = malloc(n);

		if (b) { /* else no memory: the address as far as sbuf holds, not none */
			buf = b;
			cap = n;
		}
	}
	for (size_t i = 0; i < n && k < cap;) {
		if (n - i >= 12 && !memcmp(a + i, "ORCPT=rfc822", 12)) {
			i += 12;
			if (i < n && a[i] == ';')
				i++;
			continue;
		}
		buf[k++] = a[i++];
	}
	strset_add_addr(c->p, c->set, buf, k);
	if (buf != sbuf)
		free(buf);
}

struct mailfrom_ctx {
	struct smtp_tx *tx;
	bool got;
};

/* The first address of MAIL FROM (extract_first_email_addr()); an empty one sets nothing. */
static void mailfrom_cb(void *u, const char *a, size_t n)
{
	struct mailfrom_ctx *c = u;

	if (c->got)
		return;
	c->got = true;
	if (n)
		mt_str__set(&c->tx->mailfrom, a, n);
}

/* Extra fields: MAIL FROM parameters. */
static void mail_params(struct smtp_tx *tx, const char *a, size_t n)
{
	size_t i = 0;

	while (i < n) {
		size_t s, e;

		while (i < n && is_blank(a[i]))
			i++;
		s = i;
		while (i < n && !is_blank(a[i]))
			i++;
		e = i;
		if (ci_prefix(a + s, e - s, "SIZE=")) {
			uint64_t v = 0;
			size_t k;

			for (k = s + 5;
			     k < e && isdigit((unsigned char)a[k]) && v < UINT64_MAX / 10; k++)
				v = v * 10 + (uint64_t)(a[k] - '0');
			tx->has_size_param = true;
			tx->size_param = v;
		} else if (ci_prefix(a + s, e - s, "BODY=")) {
			mt_str__set(&tx->body_param, a + s + 5, e - s - 5);
		} else if (ci_eq(a + s, e - s, "SMTPUTF8")) {
			tx->smtputf8 = true;
		}
	}
}

/* event smtp_request (main.zeek). cmd is upper case. */
static void script_request(struct smtp_parser *p, const char *cmd, size_t clen, const char *arg,
			   size_t alen)
{
	struct smtp_tx *tx;

	set_session(p);
	tx = p->tx;
	if (!tx)
		return;
	if (ci_eq(cmd, clen, "HELO") || ci_eq(cmd, clen, "EHLO")) {
		mt_str__set(&p->helo, arg, alen);
		mt_str__set(&tx->helo, arg, alen);
	} else if (ci_eq(cmd, clen, "RCPT") && ci_prefix(arg, alen, "TO:")) {
		struct addr_ctx c = {p, &tx->rcptto, p->lim->max_rcptto,
				     "smtp_too_many_rcptto_addresses", false};

		tx->rcptto.present = true;
		each_email(arg, alen, rcpt_cb, &c);
		tx->has_client_activity = true;
		p->trans_rcpt_to_seen = true;
		if (p->cfg->mail_transaction_validation && !p->trans_mail_from_seen)
			tx_invalid(p, "rcpt to missing mail from");
	} else if (ci_eq(cmd, clen, "MAIL") && ci_prefix(arg, alen, "FROM:")) {
		struct mailfrom_ctx mc = {0};

		/* Zeek writes the record here; one whose message is complete, the reply to its
		 * "." or LAST chunk still to come (pipelining), waits for that reply, which is
		 * its last_reply and not the new envelope's end ("Where mailtap does better").
		 * Without any reply seen (a one-sided capture) none will come: Zeek's way. */
		if ((p->eod_wait || p->bdat_wait) && p->replied && p->tx) {
			hold_tx(p);
		} else {
			p->eod_wait = p->bdat_wait = 0;
			smtp_message(p);
		}
		tx = p->tx;
		if (!tx)
			return;
		/* extract_first_email_addr(), whole: the line limit bounds it */
		mc.tx = tx;
		each_email(arg, alen, mailfrom_cb, &mc);
		mail_params(tx, arg, alen);
		tx->has_client_activity = true;
		p->trans_mail_from_seen = true;
		p->trans_rcpt_to_seen = false;
	} else if (ci_eq(cmd, clen, "DATA") || ci_eq(cmd, clen, "BDAT")) {
		if (p->cfg->mail_transaction_validation && !p->trans_rcpt_to_seen)
			tx_invalid(p, "data missing rcpt to");
		/* BDAT's LAST: bdat_last() once the analyzer took the command */
	} else if (clen == 1 && cmd[0] == '.') {
		p->trans_mail_from_seen = false;
		p->trans_rcpt_to_seen = false;
	}
}

/* "%d " for a reply code 0..999 without stdio (once per reply). Returns the length. */
static int fmt_code(char *out, int code)
{
	int n = 0;

	if (code >= 100)
		out[n++] = (char)('0' + code / 100);
	if (code >= 10)
		out[n++] = (char)('0' + code / 10 % 10);
	out[n++] = (char)('0' + code % 10);
	out[n++] = ' ';
	return n;
}

/* event smtp_reply (main.zeek, priorities 5 and -5). */
static void script_reply(struct smtp_parser *p, int code, const char *cmd, const char *msg,
			 size_t mlen, bool cont)
{
	char *lr;
	bool end = false, bdat_reply, eod_reply;
	struct smtp_tx *t;

	set_session(p);
	if (!p->tx)
		return;
	/* replies up to the one to a held record's LAST chunk answer its commands */
	t = p->n_held ? p->held[0].tx : p->tx;
	/* the reply's allocation is reused: most sessions have one transaction and ten replies */
	lr = t->last_reply.s;
	if (mlen + 16 > t->last_reply_cap) {
		size_t cap = mlen + 16 < 128 ? 128 : mlen + 16;

		lr = malloc(cap);
		if (lr) {
			mt_str__free(&t->last_reply);
			t->last_reply.s = lr;
			t->last_reply_cap = (uint32_t)cap;
		}
	}
	if (lr) {
		int n =
		    code >= 0 && code <= 999 ? fmt_code(lr, code) : snprintf(lr, 16, "%d ", code);

		memcpy(lr + n, msg, mlen);
		lr[n + mlen] = 0;
		t->last_reply.n = (uint32_t)((size_t)n + mlen);
	}
	/* a reply counts once, at its last line */
	bdat_reply = !cont && !strcmp(cmd, "BDAT");
	eod_reply = !cont && !strcmp(cmd, ".");
	/* the waits count the replies up to each record's own: every held record counts */
	for (uint32_t k = 0; k < p->n_held; k++)
		if ((p->held[k].eod ? eod_reply : bdat_reply) && p->held[k].wait)
			p->held[k].wait--;
	while (p->n_held && !p->held[0].wait)
		held_write_first(p);
	/* main.zeek writes the record at the first BDAT reply once a "BDAT ... LAST" request
	 * was seen, which with pipelined chunks is the reply to an earlier chunk: its text
	 * became last_reply (a 250 for a message then refused) and what the last chunk still
	 * held went to a record never written. Here it is the reply to the LAST chunk's own
	 * command ("Where mailtap does better than Zeek"). Likewise for DATA: Zeek writes the
	 * record at every line of any reply to ".", with pipelining the reply to the previous
	 * message's "." (whose record was written at the MAIL FROM); here the reply to the
	 * record's own ".", once, at its last line. */
	if (bdat_reply && p->bdat_wait)
		end = --p->bdat_wait == 0;
	if (eod_reply && p->eod_wait)
		end = --p->eod_wait == 0;
	if (end) {
		p->messages_transferred++;
		p->bdat_wait = p->eod_wait = 0;
		smtp_message(p);
		tx_free(p->tx);
		p->tx = new_tx(p);
	}
}

static void script_starttls(struct smtp_parser *p)
{
	if (p->tx) {
		p->tx->tls = true;
		p->tx->has_client_activity = true;
	}
}

/* ---- the analyzer (SMTP.cc) ---- */

static void request_event(struct smtp_parser *p, const char *cmd, size_t clen, const char *arg,
			  size_t alen)
{
	char up[32];
	size_t n = clen < sizeof(up) ? clen : sizeof(up) - 1;

	/* AnalyzerConfirmation() */
	if (!p->analyzer_id && !p->disabled) {
		p->analyzer_id = true;
		set_session(p);
		if (p->cb.confirm)
			p->cb.confirm(p->cb.u, p->ts);
	}
	for (size_t i = 0; i < n; i++)
		up[i] = (char)toupper((unsigned char)cmd[i]);
	up[n] = 0;
	if (p->cb.event) {
		struct smtp_event ev = {.type = SMTP_EV_REQUEST};
		char red[64];

		ev.is_orig = p->orig_is_sender;
		ev.cmd = up;
		ev.cmd_len = n;
		ev.arg = arg;
		ev.arg_len = alen;
		if (!p->cfg->events_show_auth) {
			if (!strcmp(up, "**")) {
				ev.arg = "***";
				ev.arg_len = 3;
			} else if (!strcmp(up, "AUTH")) {
				size_t w = 0;

				while (w < alen && !is_blank(arg[w]) && w < 40)
					w++;
				if (w < alen) {
					ev.arg_len = (size_t)snprintf(red, sizeof(red), "%.*s ***",
								      (int)w, arg);
					ev.arg = red;
				}
			}
		}
		event(p, &ev);
	}
	script_request(p, up, n, arg, alen);
}

static void begin_data(struct smtp_parser *p, bool orig, int new_state)
{
	p->d_line_len = 0;
	p->state = new_state;
	if (p->in_mail) {
		weird(p, "smtp_nested_mail_transaction", NULL, "SMTP");
		if (p->cb.body_end)
			p->cb.body_end(p->cb.u, p->ts);
	}
	p->in_mail = true;
	p->d_bol = true;
	p->d_dot = false;
	p->d_prev_eol = EOL_CRLF;
	p->d_eod_cr = false;
	p->msg_bytes = 0;
	p->msg_anom = 0;
	p->msg_bdat = new_state == ST_IN_BDAT;
	p->bdat_line = false;
	p->data_ok = false;
	p->data_susp = false;
	if (p->tx) {
		p->tx->has_msg_size = true;
		p->tx->msg_size = 0;
		p->tx->bdat = p->msg_bdat;
	}
	if (p->cb.body_begin)
		p->cb.body_begin(p->cb.u, p->ts, orig, p->msg_bdat);
}

/* Ends a message suspended at a receiver's gap (data_susp), as Zeek ended it at the gap. */
static void data_unsuspend(struct smtp_parser *p)
{
	if (!p->data_susp)
		return;
	p->data_susp = false;
	if (p->in_mail)
		end_data(p);
}

static void end_data(struct smtp_parser *p)
{
	if (p->bdat) {
		if (p->bdat_remaining > 0)
			weird(p, "smtp_bdat_remaining_at_end_data", NULL, "SMTP");
		if (p->bdat_line)
			weird(p, "smtp_bdat_undelivered_at_done", NULL, "SMTP_BDAT");
		p->bdat = false;
		p->bdat_remaining = 0;
	}
	if (!p->in_mail) {
		weird(p, "smtp_unmatched_end_of_data", NULL, "SMTP");
		return;
	}
	if (p->cb.body_end)
		p->cb.body_end(p->cb.u, p->ts);
	p->in_mail = false;
}

/* The 220 to STARTTLS: the records now; the hand-off once the feed that holds it knows
 * whether an LF may still follow a line end (tls_hold). */
static void start_tls(struct smtp_parser *p)
{
	p->state = ST_IN_TLS;
	p->done = true;
	p->tls = TLS_ACCEPTED;
	if (p->cb.event) {
		struct smtp_event ev = {.type = SMTP_EV_STARTTLS, .is_orig = false};

		event(p, &ev);
	}
	script_starttls(p);
}

static void tls_handoff(struct smtp_parser *p)
{
	p->tls = TLS_HANDED;
	p->tls_wait = 0;
	if (p->cb.starttls)
		p->cb.starttls(p->cb.u, p->ts);
}

/* After the feed of side d that accepted STARTTLS, up to its byte at_end: a side whose last
 * line ended with a CR and whose next byte is not seen yet (the reply's CR ending the feed, or
 * the client's STARTTLS line's CR ending its last feed) may send that line's LF next. Zeek
 * hands that LF to its SSL analyzer (its line analyzers are gone once the 220 is seen), which
 * fails on it; here the hand-off waits for that side's next byte. */
static void tls_hold(struct smtp_parser *p, enum mt_dir d, bool at_end)
{
	p->tls_wait = 0;
	if (p->dir[d].cr_pending && at_end)
		p->tls_wait |= 1u << d;
	if (p->dir[!d].cr_pending)
		p->tls_wait |= 1u << !d;
	for (int i = 0; i < 2; i++)
		p->dir[i].cr_pending = p->dir[i].skip_lf = p->dir[i].cr_data = false;
	if (p->tls_wait)
		p->tls = TLS_WAIT;
	else
		tls_handoff(p);
}

/* A feed while the hand-off waits: an LF that a waiting side sends next is consumed; once no
 * side waits, or the other side sends first (no LF can be part of SMTP any more), the hand-off
 * is made and the bytes left go to TLS. */
static size_t tls_wait_feed(struct smtp_parser *p, enum mt_dir d, const uint8_t *buf, size_t len)
{
	size_t off = 0;

	if (!len)
		return 0;
	if (p->tls_wait & (1u << d)) {
		p->tls_wait &= (uint8_t)~(1u << d);
		if (buf[0] == '\n')
			off = 1;
		p->dir[d].off += off;
		if (p->tls_wait)
			return off;
	}
	tls_handoff(p);
	return off;
}

static void update_state(struct smtp_parser *p, int cmd, int reply, bool orig)
{
	int st = p->state;

	if (st == ST_QUIT && reply == 0)
		unexpected_cmd(p, cmd, reply);

	switch (cmd) {
	case CMD_CONN_ESTABLISHMENT:
		switch (reply) {
		case 0:
			if (st != ST_CONNECTED)
				unexpected_cmd(p, cmd, reply);
			p->state = ST_INITIATED;
			break;
		case 220:
			break;
		case 421:
		case 554:
			p->state = ST_NOT_AVAILABLE;
			break;
		default:
			unexpected_reply(p, cmd, reply);
			break;
		}
		break;
	case CMD_EHLO:
	case CMD_HELO:
		switch (reply) {
		case 0:
			if (st != ST_INITIATED)
				unexpected_cmd(p, cmd, reply);
			p->state = ST_READY;
			break;
		case 250:
			break;
		case 421:
		case 500:
		case 501:
		case 504:
		case 550:
			p->state = ST_INITIATED;
			break;
		default:
			unexpected_reply(p, cmd, reply);
			break;
		}
		break;
	case CMD_MAIL:
	case CMD_SEND:
	case CMD_SOML:
	case CMD_SAML:
		switch (reply) {
		case 0:
			if (st != ST_READY)
				unexpected_cmd(p, cmd, reply);
			p->state = ST_MAIL_OK;
			break;
		case 250:
			break;
		case 421:
		case 451:
		case 452:
		case 500:
		case 501:
		case 503:
		case 550:
		case 552:
		case 553:
			if (p->state != ST_IN_DATA)
				p->state = ST_READY;
			break;
		default:
			unexpected_reply(p, cmd, reply);
			break;
		}
		break;
	case CMD_RCPT:
		switch (reply) {
		case 0:
			if (st != ST_MAIL_OK && st != ST_RCPT_OK)
				unexpected_cmd(p, cmd, reply);
			p->state = ST_RCPT_OK;
			break;
		case 250:
		case 251:
		case 421:
		case 450:
		case 451:
		case 452:
		case 500:
		case 501:
		case 503:
		case 550:
		case 551:
		case 552:
		case 553:
		case 554:
			break;
		default:
			unexpected_reply(p, cmd, reply);
			break;
		}
		break;
	case CMD_DATA:
		switch (reply) {
		case 0:
			if (p->state != ST_RCPT_OK)
				unexpected_cmd(p, cmd, reply);
			begin_data(p, orig, ST_IN_DATA);
			break;
		case 354:
			p->data_ok = p->state == ST_IN_DATA;
			break;
		case 421:
			if (p->state == ST_IN_DATA)
				end_data(p);
			p->state = ST_QUIT;
			break;
		case 500:
		case 501:
		case 503:
		case 451:
		case 554:
			if (p->state == ST_IN_DATA)
				end_data(p);
			p->state = ST_READY;
			break;
		default:
			unexpected_reply(p, cmd, reply);
			if (p->state == ST_IN_DATA)
				end_data(p);
			p->state = ST_READY;
			break;
		}
		break;
	case CMD_BDAT:
		switch (reply) {
		case 0:
			if (p->state != ST_RCPT_OK)
				unexpected_cmd(p, cmd, reply);
			p->state = ST_IN_BDAT;
			break;
		case 250:
		case 421:
		case 500:
		case 501:
		case 503:
		case 451:
		case 554:
			break;
		default:
			unexpected_reply(p, cmd, reply);
			break;
		}
		break;
	case CMD_END_OF_DATA:
		switch (reply) {
		case 0:
			if (st != ST_IN_DATA && st != ST_IN_BDAT)
				unexpected_cmd(p, cmd, reply);
			end_data(p);
			p->state = ST_AFTER_DATA;
			break;
		case 250:
		case 421:
		case 451:
		case 452:
		case 552:
		case 554:
			break;
		default:
			unexpected_reply(p, cmd, reply);
			break;
		}
		/* Zeek sets READY at any reply to ".": a DATA (or BDAT) pipelined after the "."
		 * has begun the next message by then, whose lines Zeek then takes for commands
		 * (the message is lost, and its body's MAIL FROM/RCPT TO lines make a forged
		 * transaction). That message goes on here ("Where mailtap does better"). */
		if (reply > 0 && p->state != ST_IN_DATA && p->state != ST_IN_BDAT)
			p->state = ST_READY;
		break;
	case CMD_RSET:
		switch (reply) {
		case 0:
			p->state = ST_READY;
			break;
		case 250:
			break;
		default:
			unexpected_reply(p, cmd, reply);
			break;
		}
		break;
	case CMD_QUIT:
		switch (reply) {
		case 0:
			p->state = ST_QUIT;
			break;
		case 221:
			break;
		default:
			unexpected_reply(p, cmd, reply);
			break;
		}
		break;
	case CMD_AUTH:
		if (st != ST_READY)
			unexpected_cmd(p, cmd, reply);
		if (reply == 0)
			break;
		p->state = reply == 334 ? ST_IN_AUTH : ST_INITIATED;
		break;
	case CMD_AUTH_ANSWER:
		if (st != ST_IN_AUTH)
			unexpected_cmd(p, cmd, reply);
		if (reply == 0)
			break;
		p->state = reply == 334 ? ST_IN_AUTH : ST_INITIATED;
		break;
	case CMD_TURN:
		if (st != ST_READY)
			unexpected_cmd(p, cmd, reply);
		if (reply == 250) {
			p->orig_is_sender = !p->orig_is_sender;
			p->state = ST_CONNECTED;
		}
		break;
	case CMD_STARTTLS:
	case CMD_X_ANONYMOUSTLS:
		if (st != ST_READY)
			unexpected_cmd(p, cmd, reply);
		if (reply == 220)
			start_tls(p);
		break;
	default:
		if (st == ST_GAP_RECOVERY && reply == 354) {
			/* the DATA whose reply the gap may have lost was accepted: its message,
			 * kept open since, goes on (Zeek begins another one) */
			if (p->data_susp && p->in_mail &&
			    !p->dir[p->orig_is_sender ? MT_ORIG : MT_RESP].lbuf_len) {
				p->data_susp = false;
				p->state = ST_IN_DATA;
			} else {
				data_unsuspend(p);
				begin_data(p, orig, ST_IN_DATA);
			}
			p->data_ok = true;
		}
		break;
	}

	/* Extra fields: AUTH outcome. */
	if ((cmd == CMD_AUTH || cmd == CMD_AUTH_ANSWER) && reply > 0 && reply != 334) {
		p->auth_success = reply >= 200 && reply < 300;
		p->auth_pending = false;
	}
}

/* Queues a command for the replies to come. Returns whether it was (not: no room). */
static bool new_cmd(struct smtp_parser *p, int code)
{
	if (p->first_cmd < 0) {
		p->first_cmd = code;
		p->bdat_queued += code == CMD_BDAT;
		p->eod_queued += code == CMD_END_OF_DATA;
		return true;
	}
	if (p->q_n == p->lim->max_pending_cmds) {
		weird(p, "smtp_excessive_pending_cmds", NULL, "SMTP");
		p->q_n = 0;
		p->q_head = 0;
		p->bdat_queued = p->first_cmd == CMD_BDAT;
		p->eod_queued = p->first_cmd == CMD_END_OF_DATA;
		/* the LAST chunk's command or the "." may be gone with the queue */
		if (p->bdat_wait > p->bdat_queued)
			p->bdat_wait = p->bdat_queued;
		if (p->eod_wait > p->eod_queued)
			p->eod_wait = p->eod_queued;
		held_write(p);
	}
	if (p->q_n == p->q_cap) {
		uint32_t cap = p->q_cap ? p->q_cap * 2 : 16;
		int *nq;

		if (cap > p->lim->max_pending_cmds)
			cap = p->lim->max_pending_cmds;
		if (cap <= p->q_cap) /* max_pending_cmds == 0: keep none */
			return false;
		nq = malloc(cap * sizeof(*nq));
		if (!nq) {
			p->err = -ENOMEM;
			return false;
		}
		for (uint32_t i = 0; i < p->q_n; i++)
			nq[i] = p->q[(p->q_head + i) % p->q_cap];
		free(p->q);
		p->q = nq;
		p->q_cap = cap;
		p->q_head = 0;
	}
	p->q[(p->q_head + p->q_n) % p->q_cap] = code;
	p->q_n++;
	p->bdat_queued += code == CMD_BDAT;
	p->eod_queued += code == CMD_END_OF_DATA;
	return true;
}

static void new_reply(struct smtp_parser *p, int code, bool orig)
{
	int cmd;

	if ((p->state == ST_AFTER_GAP || p->reply_gap) && code > 0) {
		if (p->state == ST_AFTER_GAP)
			p->state = ST_GAP_RECOVERY;
		p->reply_gap = false;
		request_event(p, unknown_cmd, strlen(unknown_cmd), "", 0);
	}
	p->replied = true;
	cmd = p->first_cmd;
	if (cmd == CMD_BDAT && p->bdat_queued)
		p->bdat_queued--;
	if (cmd == CMD_END_OF_DATA && p->eod_queued)
		p->eod_queued--;
	p->last_replied_cmd = p->first_cmd;
	p->first_cmd = -1;
	if (p->q_n > 0) {
		p->first_cmd = p->q[p->q_head];
		p->q_head = (p->q_head + 1) % p->q_cap;
		p->q_n--;
	}
	update_state(p, cmd, code, orig);
}

/* AnalyzerViolation() and DPD's reaction (dpd.zeek: disable within ignore_violations_after
 * bytes of the connection). */
static void violation(struct smtp_parser *p, const char *reason, const char *data, size_t len)
{
	uint64_t size = p->dir[0].off + p->dir[1].off + p->cur_feed_len;
	bool dis = p->cfg->dpd_violations &&
		   (!p->cfg->dpd_ignore_after || size <= p->cfg->dpd_ignore_after);

	if (dis) {
		p->disabled = p->done = true;
		p->analyzer_id = false;
		if (p->in_mail)
			end_data(p);
	}
	if (p->cb.violation)
		p->cb.violation(p->cb.u, p->ts, reason, data, len, dis);
}

/* util::get_word(), util::skip_whitespace() */
static size_t word_len(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n && s[i] && !isspace((unsigned char)s[i]))
		i++;
	return i;
}

static const char *skip_ws(const char *s, const char *end)
{
	while (s < end && is_blank(*s))
		s++;
	return s;
}

static int parse_cmd(const char *cmd, size_t n)
{
	if (ci_eq(cmd, n, "X-ANONYMOUSTLS"))
		return CMD_X_ANONYMOUSTLS;
	for (int c = CMD_EHLO; c < CMD_LAST; c++)
		if (ci_eq(cmd, n, cmd_word[c]))
			return c;
	return -1;
}

/* BDAT.cc parse_bdat_arg() + ProcessBdatArg(). Returns whether the command is valid. */
static bool process_bdat_arg(struct smtp_parser *p, const char *arg, size_t n, bool orig)
{
	char buf[32], *end;
	unsigned long long v;
	bool last = false;

	if (n == 0 || n > 25) {
		weird(p, "smtp_invalid_bdat_command", "BDAT argument bad length", "SMTP");
		return false;
	}
	if (!isdigit((unsigned char)arg[0])) {
		weird(p, "smtp_invalid_bdat_command", "BDAT not followed by a valid chunk-size",
		      "SMTP");
		return false;
	}
	memcpy(buf, arg, n);
	buf[n] = 0;
	errno = 0;
	v = strtoull(buf, &end, 10);
	if (*end != ' ' && *end != 0) {
		weird(p, "smtp_invalid_bdat_command", "BDAT chunk-size not valid", "SMTP");
		return false;
	}
	if (v == ULLONG_MAX && errno == ERANGE) {
		weird(p, "smtp_invalid_bdat_command", "BDAT chunk-size too large", "SMTP");
		return false;
	}
	if (end != buf + n) {
		last = !strncasecmp(end, " LAST", 5);
		if (!last || end + 5 != buf + n) {
			weird(p, "smtp_invalid_bdat_command", "BDAT chunk-size followed by junk",
			      "SMTP");
			return false;
		}
	}
	if (v > (unsigned long long)INT64_MAX) {
		char addl[32];

		snprintf(addl, sizeof(addl), "%llu", v);
		weird(p, "smtp_huge_bdat_chunk", addl, "SMTP");
		return false;
	}
	if (!p->bdat) {
		begin_data(p, orig, ST_IN_BDAT);
		p->bdat = true;
	}
	p->bdat_last = last;
	p->bdat_remaining = v;
	return true;
}

/* Base64 of one AUTH token (RFC 4648, '=' padding; decoding stops at the first byte out of
 * the alphabet). Returns the bytes written to out (at most room). */
static size_t auth_b64(const char *s, size_t n, uint8_t *out, size_t room)
{
	uint32_t acc = 0;
	int bits = 0;
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		int v = c >= 'A' && c <= 'Z'   ? c - 'A'
			: c >= 'a' && c <= 'z' ? c - 'a' + 26
			: c >= '0' && c <= '9' ? c - '0' + 52
			: c == '+'	       ? 62
			: c == '/'	       ? 63
					       : -1;

		if (v < 0)
			break;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (k == room)
				break;
			out[k++] = (uint8_t)(acc >> bits);
		}
	}
	return k;
}

static uint32_t le32(const uint8_t *b)
{
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

/* One NTLM security buffer (len, maxlen, offset) at b + at, within the k-byte message, as
 * UTF-8 (UTF-16LE when unicode, else one byte a character) appended to out. */
static size_t ntlm_field(const uint8_t *b, size_t k, size_t at, bool unicode, char *out,
			 size_t o, size_t room)
{
	size_t len = (size_t)b[at] | (size_t)b[at + 1] << 8, off = le32(b + at + 4);

	if (off > k || len > k - off)
		return o;
	for (size_t i = 0; i < len && o + 4 < room; i += unicode ? 2 : 1) {
		unsigned c = unicode ? (i + 1 < len ? b[off + i] | (unsigned)b[off + i + 1] << 8 : 0)
				     : b[off + i];

		if (c >= 0xd800 && c < 0xe000)
			c = '?'; /* surrogates: not a name's business */
		if (c < 0x80) {
			out[o++] = (char)c;
		} else if (c < 0x800) {
			out[o++] = (char)(0xc0 | c >> 6);
			out[o++] = (char)(0x80 | (c & 0x3f));
		} else {
			out[o++] = (char)(0xe0 | c >> 12);
			out[o++] = (char)(0x80 | (c >> 6 & 0x3f));
			out[o++] = (char)(0x80 | (c & 0x3f));
		}
	}
	return o;
}

/* NTLM's AUTHENTICATE message (type 3): "DOMAIN\user" (or "user"), from its domain and user
 * security buffers. The message carries no password, only responses to the challenge. */
static size_t ntlm_user(const uint8_t *b, size_t k, char *out, size_t room)
{
	bool unicode;
	size_t o, end;

	if (k < 64 || memcmp(b, "NTLMSSP", 8) || le32(b + 8) != 3)
		return 0;
	unicode = le32(b + 60) & 1; /* NTLMSSP_NEGOTIATE_UNICODE */
	o = ntlm_field(b, k, 28, unicode, out, 0, room);
	if (o)
		out[o++] = '\\';
	end = ntlm_field(b, k, 36, unicode, out, o, room);
	return end == o ? 0 : end; /* no user name: none */
}

/* DIGEST-MD5's digest-response (RFC 2831): the value of its username directive, a quoted
 * string (backslash escapes) or a token, among comma-separated name=value directives with
 * optional blanks. The unquoted name goes to out (room bytes); its length, 0 if none. */
static size_t digest_user(const uint8_t *b, size_t k, char *out, size_t room)
{
	size_t i = 0;

	while (i < k) {
		size_t name, name_len, n = 0;
		bool user;

		while (i < k && (b[i] == ' ' || b[i] == '\t' || b[i] == ','))
			i++;
		name = i;
		while (i < k && b[i] != '=' && b[i] != ',' && b[i] != ' ' && b[i] != '\t')
			i++;
		name_len = i - name;
		while (i < k && (b[i] == ' ' || b[i] == '\t'))
			i++;
		if (i >= k || b[i] != '=') {
			while (i < k && b[i] != ',') /* not a directive: skip it */
				i++;
			continue;
		}
		i++;
		while (i < k && (b[i] == ' ' || b[i] == '\t'))
			i++;
		user = name_len == 8 && !strncasecmp((const char *)b + name, "username", 8);
		if (i < k && b[i] == '"') {
			for (i++; i < k && b[i] != '"'; i++) {
				if (b[i] == '\\' && i + 1 < k)
					i++;
				if (user && n < room)
					out[n++] = (char)b[i];
			}
			if (i >= k)
				return 0; /* no closing quote */
			i++;
		} else {
			for (; i < k && b[i] != ',' && b[i] != ' ' && b[i] != '\t'; i++)
				if (user && n < room)
					out[n++] = (char)b[i];
		}
		if (user)
			return n;
	}
	return 0;
}

/* SCRAM's client-first-message (RFC 5802): gs2 header ("n,," "y,," "p=cb,," with an optional
 * "a=authzid" between the commas), then "n=saslname,r=nonce", saslname with "=2C" for ','
 * and "=3D" for '='. The name goes to out; its length, 0 if malformed. */
static size_t scram_user(const uint8_t *b, size_t k, char *out, size_t room)
{
	const uint8_t *end = b + k, *p = memchr(b, ',', k);
	size_t n = 0;

	if (!p || !(p = memchr(p + 1, ',', (size_t)(end - p - 1))))
		return 0;
	p++;
	if (end - p > 2 && p[0] == 'm' && p[1] == '=') /* reserved-mext: skipped */
		if (!(p = memchr(p, ',', (size_t)(end - p))) || ++p >= end)
			return 0;
	if (end - p < 3 || p[0] != 'n' || p[1] != '=')
		return 0;
	for (p += 2; p < end && *p != ','; p++) {
		char c = (char)*p;

		if (c == '=') {
			if (end - p < 3)
				return 0;
			if (p[1] == '2' && (p[2] == 'C' || p[2] == 'c'))
				c = ',';
			else if (p[1] == '3' && (p[2] == 'D' || p[2] == 'd'))
				c = '=';
			else
				return 0; /* not a saslname */
			p += 2;
		}
		if (n < room)
			out[n++] = c;
	}
	return p < end ? n : 0; /* ",r=nonce" must follow */
}

/* The login name in one AUTH token (the command's initial response, or the answer to the
 * server's 334), by mechanism: PLAIN ("authzid NUL authcid NUL password": authcid), LOGIN
 * (its first token is the name, the second the password), CRAM-MD5 ("name digest"),
 * XOAUTH2 ("user=NAME ^A auth=..."), OAUTHBEARER ("n,a=NAME,..."), DIGEST-MD5 (the
 * digest-response's username), SCRAM-* (the client-first-message's n=), NTLM (the type 3
 * message, whichever token it is). The decoded bytes, which may hold a password, are
 * wiped. */
static void auth_token(struct smtp_parser *p, const char *tok, size_t n, unsigned index)
{
	uint8_t buf[3072];
	char name[SMTP_AUTH_USER_MAX * 3];
	const char *mech = p->auth_mech.s ? p->auth_mech.s : "";
	const uint8_t *u = NULL, *e;
	size_t k, un = 0;
	bool ntlm = !strcmp(mech, "NTLM");

	if (!p->cfg->auth_user || (index != 0 && !ntlm) || !n)
		return;
	k = auth_b64(tok, n, buf, sizeof(buf));
	if (ntlm) {
		un = ntlm_user(buf, k, name, sizeof(name));
		u = un ? (const uint8_t *)name : NULL;
	} else if (!strcmp(mech, "PLAIN")) {
		const uint8_t *z1 = memchr(buf, 0, k), *z2;

		if (z1 && (z2 = memchr(z1 + 1, 0, k - (size_t)(z1 + 1 - buf)))) {
			u = z1 + 1;
			un = (size_t)(z2 - u);
		}
	} else if (!strcmp(mech, "LOGIN")) {
		/* the name only where it cannot be the password: the command's initial response,
		 * or the answer to a challenge that asked for a user name (a reply out of step
		 * with its command would otherwise hand over the password) */
		if (p->state != ST_IN_AUTH || p->auth_ask_user) {
			u = buf;
			un = k;
		}
	} else if (!strcmp(mech, "CRAM-MD5")) {
		/* "name SP 32 hex digits" (RFC 2195) */
		e = memchr(buf, ' ', k);
		if (e && k - (size_t)(e + 1 - buf) == 32) {
			u = buf;
			un = (size_t)(e - buf);
			for (const uint8_t *h = e + 1; h < buf + k; h++)
				if (!isxdigit(*h))
					u = NULL;
		}
	} else if (!strcmp(mech, "XOAUTH2")) {
		if (k > 5 && !memcmp(buf, "user=", 5)) {
			u = buf + 5;
			e = memchr(u, 0x01, k - 5);
			un = e ? (size_t)(e - u) : k - 5;
		}
	} else if (!strcmp(mech, "DIGEST-MD5")) {
		un = digest_user(buf, k, name, sizeof(name));
		u = un ? (const uint8_t *)name : NULL;
	} else if (!strncmp(mech, "SCRAM-", 6)) {
		un = scram_user(buf, k, name, sizeof(name));
		u = un ? (const uint8_t *)name : NULL;
	} else if (!strcmp(mech, "OAUTHBEARER")) {
		const uint8_t *a = k > 3 ? memmem(buf, k, ",a=", 3) : NULL;

		if (a) {
			u = a + 3;
			e = memchr(u, ',', k - (size_t)(u - buf));
			un = e ? (size_t)(e - u) : k - (size_t)(u - buf);
		}
	}
	if (u && un) {
		if (un > SMTP_AUTH_USER_MAX)
			un = SMTP_AUTH_USER_MAX;
		mt_str__set(&p->auth_user, (const char *)u, un);
		if (p->auth_user.s && p->cb.auth_user)
			p->cb.auth_user(p->cb.u, p->ts, p->auth_user.s, p->auth_user.n);
	}
	explicit_bzero(buf, sizeof(buf));
}

/* Zeek's Unexpected(true, "unknown command", word): the line's first word, but while an AUTH
 * exchange may be under way (auth_pending: the 334 that makes client lines AUTH answers may be
 * missing, in a one-sided capture, or still to come, when the answers are pipelined) the word
 * may be a credential: only its length is given, unless events_show_auth. */
static void unknown_command(struct smtp_parser *p, const char *cmd, size_t n)
{
	char red[48];
	int k;

	if (!p->cb.event)
		return;
	if (!p->auth_pending || p->cfg->events_show_auth) {
		unexpected(p, true, "unknown command", cmd, n);
		return;
	}
	k = snprintf(red, sizeof(red), "<redacted: %zu bytes>", n);
	unexpected(p, true, "unknown command", red, (size_t)k);
}

/* A BDAT command the analyzer took, with LAST (main.zeek's request handler, on the command
 * the analyzer parsed: Zeek's script looks for the text " LAST", case-sensitive, before the
 * analyzer reads it, so "BDAT 5 last" did not end the transaction and an invalid
 * "BDAT x LAST", which transfers nothing, did). The record waits for the reply to this
 * command: the BDAT commands not yet answered, this one included, are counted. */
static void bdat_last(struct smtp_parser *p)
{
	p->trans_mail_from_seen = false;
	p->trans_rcpt_to_seen = false;
	p->bdat_wait = p->bdat_queued ? p->bdat_queued : 1;
	p->eod_wait = 0;
}

/* A sender line outside DATA (ProcessLine, is_sender). */
static void sender_line(struct smtp_parser *p, const char *line, size_t length, bool orig)
{
	const char *eol = line + length, *cmd = "";
	size_t cmd_len = 0;
	int code = -1;

	if (p->state == ST_AFTER_GAP) {
		/* Don't know whether it is a command or a data line. */
	} else if (p->state == ST_IN_AUTH) {
		cmd = "**";
		cmd_len = 2;
		code = CMD_AUTH_ANSWER;
		new_cmd(p, code);
		/* LOGIN after an initial response: the answer is the password */
		if (p->auth_answers < 255)
			auth_token(p, line, word_len(line, length), p->auth_answers++ + p->auth_ir);
	} else {
		cmd = line;
		cmd_len = word_len(line, length);
		line = skip_ws(line + cmd_len, eol);
		code = parse_cmd(cmd, cmd_len);
		if (code == -1) {
			unknown_command(p, cmd, cmd_len);
		} else {
			new_cmd(p, code);
			p->auth_pending = code == CMD_AUTH;
		}
	}
	if (code < 0)
		return;
	if (cmd_len > 0 || eol - line > 0)
		request_event(p, cmd, cmd_len, line, (size_t)(eol - line));
	if (p->done)
		return;
	/* Extra fields: AUTH mechanism. */
	if (code == CMD_AUTH) {
		size_t w = word_len(line, (size_t)(eol - line));
		mt_str__set(&p->auth_mech, line, w);
		mt_str__free(&p->auth_user);
		p->auth_answers = 0;
		p->auth_ir = false;
		if (p->auth_mech.s) {
			const char *ir = skip_ws(line + w, eol);

			for (size_t i = 0; i < w; i++)
				p->auth_mech.s[i] = (char)toupper((unsigned char)p->auth_mech.s[i]);
			p->auth_success = -1;
			/* an initial response ("=" is an empty one) */
			if (ir < eol) {
				p->auth_ir = true;
				auth_token(p, ir, word_len(ir, (size_t)(eol - ir)), 0);
			}
		}
	}
	if (code == CMD_BDAT) {
		if (!process_bdat_arg(p, line, (size_t)(eol - line), orig))
			return;
		if (p->bdat_last && !p->disabled)
			bdat_last(p);
	} else if (p->bdat) {
		weird(p, "smtp_missing_bdat_last_chunk", NULL, "SMTP");
		end_data(p);
	}
	update_state(p, code, 0, orig);
	/* "BDAT 0 LAST": the message is complete now. Zeek ends it only at the sender's next
	 * line (SMTP.cc DeliverStream's "All BDAT chunks seen?" runs on a delivery, and
	 * ContentLine delivers no empty chunk), after the reply to BDAT wrote the record: the
	 * entity ended late, a last line without CRLF flushed then as
	 * smtp_bdat_undelivered_at_done, its file's fuid missing from the record. Here the
	 * partial line is the message's last line, flushed as "BDAT n LAST" flushes it. */
	if (code == CMD_BDAT && p->bdat && p->bdat_last && p->bdat_remaining == 0) {
		p->bdat_line = false;
		update_state(p, CMD_END_OF_DATA, 0, orig);
	}
}

static void receiver_line(struct smtp_parser *p, const char *line, size_t length, bool orig)
{
	const char *eol = line + length, *msg;
	int code = -1;
	bool cont;

	if (length >= 3 && isdigit((unsigned char)line[0]) && isdigit((unsigned char)line[1]) &&
	    isdigit((unsigned char)line[2]))
		code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
	if (code == 334 && p->cfg->auth_user) {
		/* an AUTH challenge: does it ask for the user name? (LOGIN's "VXNlcm5hbWU6") */
		uint8_t chal[16];
		const char *c = skip_ws(line + 3, eol);
		size_t k = auth_b64(c, word_len(c, (size_t)(eol - c)), chal, sizeof(chal));

		p->auth_ask_user = k >= 4 && !strncasecmp((const char *)chal, "user", 4);
	}
	if (code < 100 || code > 599) {
		unexpected(p, false, "reply code out of range", line, length);
		/* a line cut at max_line cannot be judged: Zeek would have seen all of it */
		if (!p->line_cut)
			violation(p, "reply code -1 out of range", line, length);
		return;
	}
	if (p->pending_reply && code != p->pending_reply) {
		unexpected(p, false, "reply code does not match the continuing reply", line,
			   length);
		p->pending_reply = 0;
	}
	if (!p->pending_reply) {
		p->reply_first_line = true;
		new_reply(p, code, orig);
	} else {
		p->reply_first_line = false;
	}
	if (length > 3 && line[3] == '-') {
		p->pending_reply = code;
		msg = skip_ws(line + 4, eol);
	} else {
		msg = skip_ws(line + 3, eol);
		p->pending_reply = 0;
	}
	cont = p->pending_reply > 0;
	{
		const char *cmd;

		switch (p->last_replied_cmd) {
		case CMD_CONN_ESTABLISHMENT:
			cmd = ">";
			break;
		case CMD_END_OF_DATA:
			cmd = ".";
			break;
		default:
			cmd = cmd_name(p->last_replied_cmd);
			break;
		}
		if (p->cb.event) {
			struct smtp_event ev = {.type = SMTP_EV_REPLY};

			ev.is_orig = orig;
			ev.code = (unsigned)code;
			ev.cmd = cmd;
			ev.cmd_len = strlen(cmd);
			ev.msg = msg;
			ev.msg_len = (size_t)(eol - msg);
			ev.cont_resp = cont;
			event(p, &ev);
		}
		if (!p->disabled)
			script_reply(p, code, cmd, msg, (size_t)(eol - msg), cont);
		if (!p->disabled && p->cb.reply)
			p->cb.reply(p->cb.u, p->ts, (unsigned)code, msg, (size_t)(eol - msg));
	}
	/* Extra fields: EHLO keywords (not the greeting line). */
	if (p->last_replied_cmd == CMD_EHLO && code == 250 && !p->reply_first_line &&
	    p->exts.n < p->lim->max_extensions) {
		size_t w = word_len(msg, (size_t)(eol - msg));
		char kw[64];

		if (w > 0 && w < sizeof(kw)) {
			for (size_t i = 0; i < w; i++)
				kw[i] = (char)toupper((unsigned char)msg[i]);
			strset_add(&p->exts, kw, w);
		}
	}
}

/* DeliverStream() for one line of either side. */
static void process_line(struct smtp_parser *p, enum mt_dir d, const char *line, size_t len)
{
	bool orig = d == MT_ORIG;
	bool is_sender = p->orig_is_sender ? orig : !orig;

	if (p->done)
		return;
	/* the sender went on before any 354: the suspended message ends as at Zeek's gap */
	if (is_sender)
		data_unsuspend(p);
	if (is_sender)
		sender_line(p, line, len, orig);
	else
		receiver_line(p, line, len, orig);
}

/* ---- DATA streaming ---- */

static void body_count(struct smtp_parser *p, size_t n)
{
	p->msg_bytes += n;
	if (p->tx)
		p->tx->msg_size = p->msg_bytes;
}

static void body(struct smtp_parser *p, const char *buf, size_t n)
{
	body_count(p, n);
	if (p->cb.body_data && n)
		p->cb.body_data(p->cb.u, (const uint8_t *)buf, n, p->ts);
}

static void anom_flag(struct smtp_parser *p, uint32_t bit)
{
	p->msg_anom |= bit;
	if (p->tx)
		p->tx->anomalies |= bit;
}

static void anomaly(struct smtp_parser *p, uint32_t bit, const char *name, const char *addl)
{
	anom_flag(p, bit);
	weird(p, name, addl, "SMTP");
}

/* smtp_nonstandard_end_of_data, addl the bytes around the dot as they came: the line end
 * before it (d_prev_eol), the dot, its own line end (end). flag: the message's record is
 * still open (its data_anomalies). */
static void eod_weird(struct smtp_parser *p, const char *end, bool flag)
{
	char addl[16];

	snprintf(addl, sizeof(addl), "%s.%s",
		 p->d_prev_eol == EOL_LF   ? "\\n"
		 : p->d_prev_eol == EOL_CR ? "\\r"
					   : "\\r\\n",
		 end);
	if (flag)
		anom_flag(p, SMTP_ANOM_BAD_EOD);
	weird(p, "smtp_nonstandard_end_of_data", addl, "SMTP");
}

static void ev_line_add(struct smtp_parser *p, const char *s, size_t n)
{
	uint32_t room;

	if (!p->cb.event || !p->ev_line)
		return;
	room = p->lim->events_data_max - p->ev_len;
	if (n > room)
		n = room;
	memcpy(p->ev_line + p->ev_len, s, n);
	p->ev_len += (uint32_t)n;
}

/* The end of a DATA line that is not the end of data (its CRLF already delivered if crlf). */
static void data_eol(struct smtp_parser *p, enum eol e, bool orig, bool crlf_sent)
{
	p->d_line_len = 0;
	if (!crlf_sent)
		body(p, "\r\n", 2);
	if (e == EOL_LF)
		anomaly(p, SMTP_ANOM_BARE_LF, "smtp_bare_lf_in_data", NULL);
	if (p->cb.event) {
		struct smtp_event ev = {.type = SMTP_EV_DATA};

		ev.is_orig = orig;
		ev.arg = p->ev_line ? p->ev_line : "";
		ev.arg_len = p->ev_len;
		event(p, &ev);
	}
	p->ev_len = 0;
	p->d_prev_eol = e;
	p->d_bol = true;
	p->d_dot = false;
	p->d_line_has = false;
}

/* The "." line. Its weird comes after the message's end and the request event, where a CR
 * ending the line whose next byte is not seen yet (EOL_CR) puts it, a byte later (cr_resolve:
 * CRLF or a CR alone): the same records whatever the segmentation. The flag is set now when
 * the end is known to be nonstandard (the record may be written before that byte). */
static void data_eod(struct smtp_parser *p, enum eol e, bool orig)
{
	bool bad = p->d_prev_eol != EOL_CRLF || e == EOL_LF;

	if (bad)
		anom_flag(p, SMTP_ANOM_BAD_EOD);
	p->d_eod_cr = e == EOL_CR;
	p->ev_len = 0;
	/* ProcessLine: "." in DATA is the END_OF_DATA command; state first, then the event.
	 * The record is written at this command's reply: the replies to "." up to it are
	 * counted (none if it could not be queued: the next MAIL FROM or the end writes it). */
	p->eod_wait = new_cmd(p, CMD_END_OF_DATA) ? p->eod_queued : 0;
	p->bdat_wait = 0;
	update_state(p, CMD_END_OF_DATA, 0, orig);
	request_event(p, ".", 1, ".", 1);
	if (bad && e != EOL_CR)
		eod_weird(p, e == EOL_LF ? "\\n" : "\\r\\n", false);
}

/* Offset of the first CR or LF in s[0..n), n if none. A NUL byte before it gives
 * ContentLine's NUL_in_line, once per connection (the same one pass while none was seen).
 * Every line of either direction is scanned here; BDAT chunk bytes, which Zeek delivers past
 * its line splitter, are not. Zeek also drops the first NUL of each direction from its line;
 * mailtap keeps every byte (docs/smtp.md). */
static inline __attribute__((always_inline)) size_t line_end(struct smtp_parser *p, const char *s,
							     size_t n)
{
	size_t k;

	if (p->nul_weird)
		return mt_scan_eol(s, n);
	k = mt_scan_eol_nul(s, n);
	if (k < n && !s[k]) {
		p->nul_weird = true;
		weird(p, "NUL_in_line", NULL, CONTENTLINE);
		k += 1 + mt_scan_eol(s + k + 1, n - k - 1);
	}
	return k;
}

/* A bare CR ended the last line; c is the next byte (-1: end of stream). ContentLine's
 * line_terminated_with_single_CR (once per connection) unless another line end follows; in
 * DATA, the smuggling indicators. */
static void cr_resolve(struct smtp_parser *p, struct dir_state *ds, int c)
{
	bool eod = p->d_eod_cr;

	ds->cr_pending = false;
	if (c >= 0 && c != '\n' && c != '\r' && !p->single_cr_weird) {
		p->single_cr_weird = true;
		weird(p, "line_terminated_with_single_CR", NULL, CONTENTLINE);
	}
	if (!ds->cr_data)
		return;
	ds->cr_data = false;
	p->d_eod_cr = false;
	if (eod) {
		/* the "." line's own end: CRLF, or a CR alone; the message's record is open
		 * until the reply to the "." (then the flag would go to the next one) */
		if (c != '\n' || p->d_prev_eol != EOL_CRLF)
			eod_weird(p, c == '\n' ? "\\r\\n" : "\\r", p->state == ST_AFTER_DATA);
		return;
	}
	if (c == '\n') {
		if (p->d_prev_eol == EOL_CR)
			p->d_prev_eol = EOL_CRLF;
		return;
	}
	anomaly(p, SMTP_ANOM_BARE_CR, "smtp_bare_cr_in_data", NULL);
}

/* Streams DATA bytes from buf[off..len). Returns the new offset; stops when DATA ends.
 * Lines that need no change (no leading dot, CRLF ends) leave as one span of the input. */
static size_t data_stream(struct smtp_parser *p, struct dir_state *ds, const char *buf, size_t off,
			  size_t len, bool orig)
{
	size_t span = off; /* start of input bytes not yet passed on unchanged */

#define FLUSH()                                                                                    \
	do {                                                                                       \
		if (off > span)                                                                    \
			body(p, buf + span, off - span);                                           \
	} while (0)

	while (off < len && p->state == ST_IN_DATA && !p->done) {
		char c = buf[off];

		if (ds->cr_pending)
			cr_resolve(p, ds, (unsigned char)c);
		if (ds->skip_lf) {
			ds->skip_lf = false;
			if (c == '\n') {
				off++;
				span = off;
				continue;
			}
		}
		if (!p->in_mail)
			begin_data(p, orig, ST_IN_DATA);
		if (p->d_bol && !p->d_dot && c != '.' && !p->cb.event) {
			/* Plain lines (CRLF ends, no leading dot, no NUL) leave unchanged with
			 * nothing to do per line but what data_eol does for the last one: one tight
			 * pass, the consumer's own when it has one (a base64 body), else ours. */
			size_t n = len - off, k = 0;

			if (p->cb.body_lines) {
				FLUSH();
				span = off;
				k = p->cb.body_lines(p->cb.u, (const uint8_t *)buf + off, n, p->ts);
				if (k) {
					body_count(p, k);
					span = off + k;
				}
			}
			if (!k)
				k = mt_scan_plain_lines(buf + off, n, SMTP_ZEEK_MAX_LINE);
			if (k) {
				off += k;
				p->d_line_len = 0;
				p->ev_len = 0;
				p->d_prev_eol = EOL_CRLF;
				p->d_line_has = false;
				continue;
			}
		}
		if (p->d_bol && !p->d_dot) {
			if (c == '.') {
				FLUSH();
				p->d_dot = true;
				off++;
				span = off;
				continue;
			}
		}
		if (p->d_bol && p->d_dot && (c == '\r' || c == '\n')) {
			enum eol e = c == '\n' ? EOL_LF : EOL_CR;

			off++;
			if (c == '\r') {
				if (off < len && buf[off] == '\n') {
					e = EOL_CRLF;
					off++;
				} else {
					ds->skip_lf = true;
					ds->cr_pending = true;
					ds->cr_data = true;
				}
			}
			span = off;
			p->d_bol = false;
			p->d_dot = false;
			data_eod(p, e, orig);
			continue;
		}
		p->d_bol = false;
		/* The line's content up to its end. */
		{
			const char *s = buf + off;
			size_t n = len - off, k = line_end(p, s, n);
			const char *e = k < n ? s + k : NULL;
			ev_line_add(p, s, k);
			off += k;
			/* Zeek's ContentLine analyzer cuts lines at 16 MiB - 100 with this weird;
			 * DATA is streamed here, so only the weird is kept (once per line) */
			if (p->d_line_len <= SMTP_ZEEK_MAX_LINE &&
			    p->d_line_len + k > SMTP_ZEEK_MAX_LINE)
				weird(p, "contentline_size_exceeded", NULL, CONTENTLINE);
			p->d_line_len += k;
			if (!e)
				break;
			if (*e == '\r' && k + 1 < n &&
			    e[1] == '\n') { /* CRLF: the line leaves unchanged */
				off += 2;
				if (p->cb.event) { /* the event after the line's bytes, always */
					FLUSH();
					span = off;
				}
				data_eol(p, EOL_CRLF, orig, true);
				continue;
			}
			FLUSH();
			off++;
			span = off;
			if (*e == '\n') {
				data_eol(p, EOL_LF, orig, false);
			} else if (off < len && buf[off] == '\n') {
				off++;
				span = off;
				data_eol(p, EOL_CRLF, orig, false);
			} else {
				ds->skip_lf = true;
				ds->cr_pending = true;
				ds->cr_data = true;
				data_eol(p, EOL_CR, orig, false);
			}
		}
	}
	FLUSH();
#undef FLUSH
	return off;
}

/* ---- BDAT chunk bytes: passed on as sent (the MIME parser's BDAT framing applies Zeek's
 * SMTP_BDAT_Analyzer line rules and weirds); only whether a partial line is pending is kept,
 * for smtp_bdat_undelivered_at_done. ---- */

static void bdat_bytes(struct smtp_parser *p, const char *s, size_t n)
{
	if (n)
		p->bdat_line = s[n - 1] != '\n';
	body(p, s, n);
}

/* ---- line framing ---- */

/* Finds the end of a line in s[0..n): returns its length and sets *eol_len (1 or 2) and
 * *bare_cr (the line ends with a CR not followed by LF here), or returns n with *eol_len = 0. */
static size_t find_eol(struct smtp_parser *p, const char *s, size_t n, size_t *eol_len,
		       bool *bare_cr)
{
	size_t i = line_end(p, s, n); /* the first CR or LF */

	*bare_cr = false;
	if (i == n) {
		*eol_len = 0;
		return n;
	}
	if (s[i] == '\r' && !(i + 1 < n && s[i + 1] == '\n')) {
		*eol_len = 1;
		*bare_cr = true;
	} else {
		*eol_len = s[i] == '\r' ? 2 : 1;
	}
	return i;
}

static bool in_chunk(const struct smtp_parser *p, bool is_sender)
{
	return is_sender && p->bdat && p->bdat_remaining > 0;
}

ssize_t smtp_parser__feed(struct smtp_parser *p, enum mt_dir d, const uint8_t *ubuf, size_t len,
			  uint64_t ts)
{
	struct dir_state *ds = &p->dir[d];
	const char *buf = (const char *)ubuf;
	bool orig = d == MT_ORIG;
	size_t off = 0;

	if (p->err)
		return p->err;
	p->ts = ts;
	if (p->disabled)
		return (ssize_t)len;
	if (p->tls == TLS_WAIT)
		return (ssize_t)tls_wait_feed(p, d, ubuf, len);
	p->cur_feed_len = len;
	while (off < len && !p->done) {
		bool is_sender = p->orig_is_sender ? orig : !orig;
		size_t n, eol_len;
		bool cr_end;

		/* ContentLine's plain delivery (BDAT chunk bytes) clears its last character: a
		 * command line ended by a CR and followed by chunk bytes gives no single-CR weird */
		if (ds->cr_pending && in_chunk(p, is_sender))
			ds->cr_pending = ds->cr_data = false;
		if (ds->cr_pending)
			cr_resolve(p, ds, (unsigned char)buf[off]);
		/* ContentLine skips the LF of a CR-ended line even before plain delivery. */
		if (ds->skip_lf && !(is_sender && p->state == ST_IN_DATA)) {
			ds->skip_lf = false;
			if (buf[off] == '\n') {
				off++;
				continue;
			}
		}
		if (ds->discard) {
			/* The tail of a line cut at max_line is not a line of its own (Suricata's
			 * discard_till_lf); parsing it would look like a protocol violation. It is
			 * dropped before DATA or BDAT bytes are looked for: the tail of a cut DATA
			 * command is not message text, as when the line is seen at once. */
			n = find_eol(p, buf + off, len - off, &eol_len, &cr_end);
			off += n + eol_len;
			if (eol_len) {
				ds->discard = false;
				ds->skip_lf = ds->cr_pending = cr_end;
			}
			continue;
		}
		if (in_chunk(p, is_sender)) {
			uint64_t k = len - off;

			if (k > p->bdat_remaining)
				k = p->bdat_remaining;
			bdat_bytes(p, buf + off, (size_t)k);
			p->bdat_remaining -= k;
			off += (size_t)k;
			if (p->bdat_last && p->bdat_remaining == 0) {
				/* the last chunk flushes its partial line */
				p->bdat_line = false;
				update_state(p, CMD_END_OF_DATA, 0, orig);
			}
			continue;
		}
		if (is_sender && p->state == ST_IN_DATA && ds->lbuf_len == 0) {
			off = data_stream(p, ds, buf, off, len, orig);
			continue;
		}
		n = find_eol(p, buf + off, len - off, &eol_len, &cr_end);
		if (!eol_len) {
			/* No line end: carry the bytes over, up to max_line. The line is cut only
			 * when a byte past max_line is not its end: a line of max_line bytes whose
			 * end comes with the next feed is whole, as when seen at once. */
			size_t room = p->lim->max_line - ds->lbuf_len;
			size_t k = n < room ? n : room;

			if (!ds->lbuf) {
				ds->lbuf = malloc(p->lim->max_line);
				if (!ds->lbuf)
					return p->err = -ENOMEM;
			}
			memcpy(ds->lbuf + ds->lbuf_len, buf + off, k);
			ds->lbuf_len += (uint32_t)k;
			off += k;
			if (n > room) { /* the rest, from off, is dropped as discard */
				weird(p, "contentline_size_exceeded", NULL, CONTENTLINE);
				ds->lbuf_len = 0;
				ds->discard = true;
				p->line_cut = true;
				process_line(p, d, ds->lbuf, p->lim->max_line);
				p->line_cut = false;
			}
			continue;
		}
		if (ds->lbuf_len) {
			size_t room = p->lim->max_line - ds->lbuf_len;
			size_t k = n < room ? n : room;

			memcpy(ds->lbuf + ds->lbuf_len, buf + off, k);
			k += ds->lbuf_len;
			ds->lbuf_len = 0;
			off += n + eol_len;
			ds->skip_lf = ds->cr_pending = cr_end;
			p->line_cut = n > room;
			if (p->line_cut)
				weird(p, "contentline_size_exceeded", NULL, CONTENTLINE);
			process_line(p, d, ds->lbuf, k);
			p->line_cut = false;
		} else {
			const char *line = buf + off;

			off += n + eol_len;
			ds->skip_lf = ds->cr_pending = cr_end;
			/* cut at max_line as a line carried over would be: the same records
			 * whatever the segmentation */
			p->line_cut = n > p->lim->max_line;
			if (p->line_cut) {
				weird(p, "contentline_size_exceeded", NULL, CONTENTLINE);
				n = p->lim->max_line;
			}
			process_line(p, d, line, n);
			p->line_cut = false;
		}
		if (p->err)
			return p->err;
	}
	ds->off += off;
	if (p->tls == TLS_ACCEPTED)
		tls_hold(p, d, off == len);
	if (p->err)
		return p->err;
	if (p->disabled)
		return (ssize_t)len;
	return (ssize_t)off;
}

/* After a gap: the reply queue is dropped (what it lost cannot be known); the record is
 * written at the next MAIL FROM or at the end. */
static void reply_reset(struct smtp_parser *p)
{
	p->q_n = 0;
	p->q_head = 0;
	p->first_cmd = p->last_replied_cmd = -1;
	p->bdat_queued = p->eod_queued = 0;
	p->bdat_wait = p->eod_wait = 0;
	held_write(p);
}

/* A gap while BDAT frames the sender's stream. Zeek ends the message at any gap and reads
 * what follows as lines: the rest of a chunk becomes command lines once a reply came, so a
 * message body's "MAIL FROM:<...>" or "RCPT TO:<...>" lines make a transaction of their own.
 * But the chunk's end is known: a sender's gap that lies within the chunk lost no command,
 * and a receiver's gap lost replies only. Then the message goes on (the sender's gap is
 * missing bytes of its entity), and replies are matched again as after Zeek's gaps: the
 * queue is dropped, the next reply issues (UNKNOWN). Returns whether the gap was taken so;
 * otherwise (a sender's gap past the chunk's end, or between chunks) it is Zeek's. */
static bool bdat_gap(struct smtp_parser *p, enum mt_dir d, uint64_t len)
{
	bool sender = p->orig_is_sender ? d == MT_ORIG : d == MT_RESP;

	if (sender) {
		if (len > p->bdat_remaining)
			return false;
		p->dir[d].skip_lf = false;
		if (p->in_mail && p->cb.body_gap)
			p->cb.body_gap(p->cb.u, len, p->ts);
		p->bdat_line = false; /* the MIME framing delivers its partial line at a gap */
		p->bdat_remaining -= len;
		if (p->bdat_last && p->bdat_remaining == 0)
			update_state(p, CMD_END_OF_DATA, 0, d == MT_ORIG);
		return true;
	}
	reply_reset(p);
	p->reply_gap = true;
	return true;
}

/* A receiver's gap while the sender is in DATA. Zeek ends the message at any gap, counts the
 * receiver's lost bytes as missing bytes of the sender's message, and reads what follows as
 * lines (ignored until a reply, then commands). But the analyzer is in DATA from the DATA
 * command on, and the sender's stream is whole: what the gap lost is replies. Once the
 * DATA's 354 was seen, no lost reply can change what the sender sends: the message goes on,
 * and replies are matched again as after Zeek's gaps (the next one issues (UNKNOWN)). If the
 * DATA's reply was not seen yet, the gap may hold a refusal (554, 503, ...) after which the
 * sender's lines are commands: the analyzer waits as after Zeek's gap, but the message stays
 * open, without the receiver's bytes: a 354 before the sender's next line resumes it (Zeek
 * begins another message there), the sender's next line, a gap or the end ends it as Zeek
 * did at the gap. Returns whether the gap was taken so. */
static bool data_gap(struct smtp_parser *p, enum mt_dir d)
{
	bool sender = p->orig_is_sender ? d == MT_ORIG : d == MT_RESP;

	if (sender || p->state != ST_IN_DATA || !p->in_mail)
		return false;
	reply_reset(p);
	if (p->data_ok) {
		p->reply_gap = true;
	} else {
		p->data_susp = true;
		p->state = ST_AFTER_GAP;
	}
	return true;
}

void smtp_parser__gap(struct smtp_parser *p, enum mt_dir d, uint64_t len, uint64_t ts)
{
	char buf[64];
	int n;

	/* a gap instead of the LF a side's line end may have: that side waits no more */
	if (p->tls == TLS_WAIT)
		p->tls_wait &= (uint8_t)~(1u << d);
	if (p->err || p->done || !len)
		return;
	p->ts = ts;
	n = snprintf(buf, sizeof(buf), "seq = %llu, len = %llu", (unsigned long long)p->dir[d].off,
		     (unsigned long long)len);
	p->dir[d].off += len;
	p->dir[d].cr_pending = false;
	p->dir[d].cr_data = false;
	unexpected(p, d == MT_ORIG, "content gap", buf, (size_t)n);
	if (p->bdat && bdat_gap(p, d, len))
		return;
	/* a message suspended at an earlier gap ends (as Zeek ended it then) */
	data_unsuspend(p);
	if (data_gap(p, d))
		return;
	/* Zeek's baselines (bdat-gap) show a gap inside BDAT ends the message too. */
	if (p->state == ST_IN_DATA || p->state == ST_IN_BDAT) {
		if (p->in_mail && p->cb.body_gap)
			p->cb.body_gap(p->cb.u, len, ts);
		end_data(p);
	}
	reply_reset(p);
	p->state = ST_AFTER_GAP;
}

void smtp_parser__eof(struct smtp_parser *p, enum mt_dir d, uint64_t ts)
{
	struct dir_state *ds = &p->dir[d];

	if (p->err || p->done)
		return;
	p->ts = ts;
	if (ds->cr_pending)
		cr_resolve(p, ds, -1);
	/* ContentLine's EndpointEOF: a partial line is delivered as a line. */
	if (ds->lbuf_len) {
		uint32_t k = ds->lbuf_len;

		ds->lbuf_len = 0;
		process_line(p, d, ds->lbuf, k);
	} else if (p->state == ST_IN_DATA && !p->d_bol && p->in_mail &&
		   (p->orig_is_sender ? d == MT_ORIG : d == MT_RESP)) {
		body(p, "\r\n", 2);
		p->d_bol = true;
	}
}

void smtp_parser__end(struct smtp_parser *p, uint64_t ts)
{
	p->ts = ts;
	/* Done(): an open message ends; then finalize_smtp writes the pending record. */
	if (p->in_mail)
		end_data(p);
	held_write(p);
	if (p->tx)
		smtp_message(p);
}

bool smtp_parser__idle(const struct smtp_parser *p)
{
	/* what smtp_parser__end would do: end an open message, write a held record or one
	 * with client activity */
	return !p->in_mail && !p->n_held && (!p->tx || !p->tx->has_client_activity);
}

bool smtp_parser__done(const struct smtp_parser *p)
{
	return p->done;
}

/* ---- MIME results (main.zeek mime_one_header / mime_begin_entity, entities.zeek) ---- */

void smtp_parser__entity_begin(struct smtp_parser *p)
{
	/* entities.zeek (priority 10) */
	if (p->tx) {
		p->has_entity = true;
		mt_str__free(&p->entity_filename);
	}
	if (p->have_state)
		p->mime_depth++;
	/* main.zeek (priority 5) */
	if (p->tx && ++p->tx->entity_count > 1)
		p->tx->process_smtp_headers = false;
}

void smtp_parser__entity_end(struct smtp_parser *p)
{
	if (p->tx && p->has_entity) {
		p->has_entity = false;
		mt_str__free(&p->entity_filename);
	}
}

const struct smtp_tx *smtp_parser__tx(const struct smtp_parser *p)
{
	return p->tx;
}

unsigned smtp_parser__mime_depth(const struct smtp_parser *p)
{
	return p->mime_depth;
}

const char *smtp_parser__entity_filename(const struct smtp_parser *p, size_t *len)
{
	*len = p->has_entity ? p->entity_filename.n : 0;
	return p->has_entity ? p->entity_filename.s : NULL;
}

void smtp_parser__add_fuid(struct smtp_parser *p, const char *fuid)
{
	/* files.zeek: file_over_new_connection */
	if (p->tx && !p->tx->tls && p->tx->fuids.n < p->lim->max_fuids)
		strset_add(&p->tx->fuids, fuid, strlen(fuid));
}

static void set_hdr(struct smtp_parser *p, struct mt_str *dst, const char *v, size_t n)
{
	if (p->lim->max_header_value && n > p->lim->max_header_value) {
		n = p->lim->max_header_value;
		weird(p, "smtp_header_value_truncated", NULL, "SMTP");
	}
	mt_str__set(dst, v, n);
}

struct mime_addr_ctx {
	struct smtp_parser *p;
	struct smtp_strset *set;
	uint32_t max;
	const char *weird;
	bool stop;
};

/* split_mime_email_addresses(): find_all(/(\"[^"]*\")?[^,]+/), each stripped. */
static void split_addrs(struct smtp_parser *p, struct smtp_strset *set, uint32_t max,
			const char *wname, const char *s, size_t len)
{
	size_t t = 0;

	set->present = true;
	while (t < len) {
		size_t a = 0, b = 0, m, i, e;

		while (t + b < len && s[t + b] != ',')
			b++;
		if (s[t] == '"') {
			const char *q = memchr(s + t + 1, '"', len - t - 1);

			if (q) {
				size_t qe = (size_t)(q - s) + 1, r = 0;

				while (qe + r < len && s[qe + r] != ',')
					r++;
				if (r)
					a = qe + r - t;
			}
		}
		m = a > b ? a : b;
		if (!m) {
			t++;
			continue;
		}
		i = t;
		e = t + m;
		while (i < e && isspace((unsigned char)s[i]))
			i++;
		while (e > i && isspace((unsigned char)s[e - 1]))
			e--;
		if (max && set->n >= max) {
			weird(p, wname, NULL, NULL);
			return;
		}
		strset_add_addr(p, set, s + i, e - i);
		t += m;
	}
}

struct ip_first {
	char ip[64];
	int n;
};

/* find_address_in_smtp_header(): the second address if there are several, else the first. */
static void ip_cb(void *u, const char *ip)
{
	struct ip_first *c = u;

	if (c->n < 2)
		snprintf(c->ip, sizeof(c->ip), "%s", ip);
	c->n++;
}

static void ip_first_cb(void *u, const char *ip)
{
	struct ip_first *c = u;

	if (c->n++ == 0)
		snprintf(c->ip, sizeof(c->ip), "%s", ip);
}

bool smtp__first_ip(const char *s, size_t len, struct mt_addr *out)
{
	struct ip_first c = {.n = 0};

	smtp__extract_ips(s, len, false, ip_first_cb, &c);
	return c.n && mt_addr__parse(out, c.ip) == 0;
}

static inline __attribute__((always_inline)) bool hname(const char *name, size_t n, const char *w)
{
	return ci_eq(name, n, w);
}

void smtp_parser__header(struct smtp_parser *p, const char *name, size_t nlen, const char *v,
			 size_t vlen, uint64_t ts)
{
	struct smtp_tx *tx = p->tx;

	p->ts = ts;
	if (!tx)
		return;
	/* main.zeek priority 5 */
	if (tx->process_smtp_headers) {
		if (hname(name, nlen, "MESSAGE-ID")) {
			set_hdr(p, &tx->msg_id, v, vlen);
		} else if (hname(name, nlen, "RECEIVED")) {
			if (tx->first_received.s) {
				mt_str__free(&tx->second_received);
				tx->second_received = tx->first_received;
				tx->first_received = (struct mt_str){NULL, 0};
			}
			set_hdr(p, &tx->first_received, v, vlen);
		} else if (hname(name, nlen, "IN-REPLY-TO")) {
			set_hdr(p, &tx->in_reply_to, v, vlen);
		} else if (hname(name, nlen, "SUBJECT")) {
			set_hdr(p, &tx->subject, v, vlen);
		} else if (hname(name, nlen, "FROM")) {
			set_hdr(p, &tx->from, v, vlen);
		} else if (hname(name, nlen, "REPLY-TO")) {
			set_hdr(p, &tx->reply_to, v, vlen);
		} else if (hname(name, nlen, "DATE")) {
			set_hdr(p, &tx->date, v, vlen);
		} else if (hname(name, nlen, "TO")) {
			split_addrs(p, &tx->to, p->lim->max_to, "smtp_too_many_to_addresses", v,
				    vlen);
		} else if (hname(name, nlen, "CC")) {
			split_addrs(p, &tx->cc, p->lim->max_cc, "smtp_too_many_cc_addresses", v,
				    vlen);
		} else if (hname(name, nlen, "X-ORIGINATING-IP")) {
			if (smtp__first_ip(v, vlen, &tx->x_originating_ip))
				tx->has_x_originating_ip = true;
		} else if (hname(name, nlen, "X-MAILER") || hname(name, nlen, "USER-AGENT") ||
			   hname(name, nlen, "X-USER-AGENT")) {
			set_hdr(p, &tx->user_agent, v, vlen);
		}
	}
	/* policy/protocols/smtp/software.zeek (priority 4): the user agent kept so far, when
	 * this header is a USER-AGENT, names a webmail interface. */
	if (p->cfg->software.enabled && tx->user_agent.s && hname(name, nlen, "USER-AGENT") &&
	    software__webmail_ua(tx->user_agent.s, tx->user_agent.n))
		tx->is_webmail = true;
	/* main.zeek priority 3: the Received path (mail_path_capture = ALL_HOSTS). */
	if (hname(name, nlen, "RECEIVED") && tx->process_received_from &&
	    tx->process_smtp_headers) {
		struct ip_first c = {.n = 0};
		struct mt_addr a;

		smtp__extract_ips(v, vlen, true, ip_cb, &c);
		if (c.n && mt_addr__parse(&a, c.ip) == 0 &&
		    (tx->n_path == 0 || mt_addr__cmp(&tx->path[tx->n_path - 1], &a))) {
			if (p->lim->max_path && tx->n_path >= p->lim->max_path)
				weird(p, "smtp_max_path_length_exceeded", NULL, NULL);
			else
				path_add(tx, &a);
		}
	}
	/* entities.zeek */
	if (!p->has_entity) {
		weird(p, "missing_SMTP_entity", NULL, "SMTP");
		return;
	}
	{
		bool cd = hname(name, nlen, "CONTENT-DISPOSITION");
		bool ct = hname(name, nlen, "CONTENT-TYPE");
		bool hit = false;

		for (size_t i = 0; (cd || ct) && i + 4 <= vlen && !hit; i++) {
			size_t j;

			if (cd) {
				if (i + 8 > vlen || strncasecmp(v + i, "filename", 8))
					continue;
				j = i + 8;
			} else {
				if (strncasecmp(v + i, "name", 4))
					continue;
				j = i + 4;
			}
			while (j < vlen && is_blank(v[j]))
				j++;
			if (cd && j < vlen && v[j] == '*')
				j++;
			hit = j < vlen && v[j] == '=';
		}
		if (hit) {
			char fn[1024];
			size_t n = smtp__filename_from_header(v, vlen, fn, sizeof(fn));

			mt_str__set(&p->entity_filename, fn, n);
		}
	}
}

/* ---- recognition (Zeek's dpd_smtp_client / dpd_smtp_server) ---- */

int smtp__probe(enum mt_dir d, const uint8_t *buf, size_t len)
{
	size_t i = 0;

	if (d == MT_RESP) {
		while (i < len && isspace(buf[i]))
			i++;
		if (len - i < 4)
			return -EAGAIN;
		return !memcmp(buf + i, "220", 3) && (isspace(buf[i + 3]) || buf[i + 3] == '-');
	}
	/* (|.*[\n\r])[[:space:]]*(HELO|EHLO), case-insensitive */
	for (size_t start = 0; start <= len; start++) {
		if (start > 0 && buf[start - 1] != '\n' && buf[start - 1] != '\r')
			continue;
		i = start;
		while (i < len && isspace(buf[i]))
			i++;
		if (len - i < 4) {
			/* only the first line may still turn into a greeting */
			if (start == 0 && (!strncasecmp((const char *)buf + i, "HELO", len - i) ||
					   !strncasecmp((const char *)buf + i, "EHLO", len - i)))
				return -EAGAIN;
			continue;
		}
		if (!strncasecmp((const char *)buf + i, "HELO", 4) ||
		    !strncasecmp((const char *)buf + i, "EHLO", 4))
			return 1;
	}
	return 0;
}

/* ---- life cycle ---- */

void smtp_cfg__default(struct smtp_cfg *c)
{
	memset(c, 0, sizeof(*c));
	c->lim.max_line = 4096;
	c->lim.max_rcptto = 1000;
	c->lim.max_to = 1000;
	c->lim.max_cc = 1000;
	c->lim.max_path = 1000;
	c->lim.max_invalid_tx = 25;
	c->lim.max_pending_cmds = 1000;
	c->lim.max_held = 8;
	c->lim.max_header_value = 65536;
	c->lim.max_address_bytes = 4096;
	c->lim.max_kept_addresses = 100;
	c->lim.max_fuids = 1000;
	c->lim.max_extensions = 64;
	c->lim.events_data_max = 1024;
	c->mail_transaction_validation = true;
	c->dpd_violations = true;
	c->dpd_ignore_after = 10240;
	c->extra_fields = true;
	c->events_show_auth = false;
	c->auth_user = true;
	mime_limits__default(&c->mime);
	c->files = NULL;
	software_cfg__default(&c->software);
	c->sw = NULL;
}

struct smtp_parser *smtp_parser__new(const struct smtp_cfg *cfg, const struct smtp_cb *cb,
				     const struct conn_id *id)
{
	struct smtp_parser *p;

	if (!cfg || !id || cfg->lim.max_line < 16 || cfg->lim.max_line > SMTP_MAX_UNIT) {
		errno = EINVAL;
		return NULL;
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->cfg = cfg;
	p->lim = &cfg->lim;
	pthread_once(&strset_seed_once, strset_seed_init);
	p->seed = strset_seed;
	if (cb)
		p->cb = *cb;
	p->id = id;
	if (p->cb.event && p->lim->events_data_max) {
		p->ev_line = malloc(p->lim->events_data_max);
		if (!p->ev_line) {
			free(p);
			return NULL;
		}
	}
	p->auth_success = -1;
	p->state = ST_CONNECTED;
	p->last_replied_cmd = -1;
	p->first_cmd = CMD_CONN_ESTABLISHMENT;
	p->orig_is_sender = true;
	update_state(p, p->first_cmd, 0, true);
	return p;
}

void smtp_parser__free(struct smtp_parser *p)
{
	if (!p)
		return;
	tx_free(p->tx);
	for (uint32_t k = 0; k < p->n_held; k++)
		tx_free(p->held[k].tx);
	free(p->held);
	free(p->q);
	free(p->dir[0].lbuf);
	free(p->dir[1].lbuf);
	free(p->ev_line);
	mt_str__free(&p->helo);
	mt_str__free(&p->entity_filename);
	mt_str__free(&p->auth_mech);
	mt_str__free(&p->auth_user);
	strset_free(&p->exts);
	free(p);
}
