// SPDX-License-Identifier: BSD-3-Clause
/* SMTP analyzer tests: the app parser (user/app_smtp.c -> smtp.c -> mime.c -> files.c) fed
 * through a harness that behaves like the engine (unconsumed tails are presented again), with
 * records captured from a real rec_out and decoded back from msgpack.
 *  - dialogues fed whole, split at every byte position and byte by byte: identical records;
 *  - Zeek script helpers (address, filename, IP extraction);
 *  - golden: Zeek's baselines (smtp.log, weird.log) for the corpus traces, read with libpcap. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <msgpack.h>
#include <openssl/evp.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include "mailtap/files.h"
#include "mailtap/ids.h"
#include "mailtap/mime.h"
#include "mailtap/rec.h"
#include "mailtap/session.h"
#include "mailtap/sink.h"
#include "mailtap/smtp.h"
#include "mailtap/tls.h"
#include "alloc_fault.h"
#include "rand_fill.h"
#include "corpus.h"

/* ---- captured records: "stream|key=value|key=value..." with Zeek ASCII values ---- */

#define MAX_RECS 4096

struct cap {
	char *recs[MAX_RECS];
	int n;
};

static struct cap cap;

static void cap_reset(void)
{
	for (int i = 0; i < cap.n; i++)
		free(cap.recs[i]);
	cap.n = 0;
}

struct sbuf {
	char *s;
	size_t n, cap;
};

static void sb_put(struct sbuf *b, const char *s, size_t n)
{
	if (b->n + n + 1 > b->cap) {
		b->cap = (b->n + n + 1) * 2;
		b->s = realloc(b->s, b->cap);
		assert_non_null(b->s);
	}
	memcpy(b->s + b->n, s, n);
	b->n += n;
	b->s[b->n] = 0;
}

static void sb_cstr(struct sbuf *b, const char *s)
{
	sb_put(b, s, strlen(s));
}

/* Zeek's ASCII log escaping; in_set: ',' too. */
static void sb_esc(struct sbuf *b, const char *s, size_t n, bool in_set)
{
	char t[8];

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\\' && i + 3 < n && s[i + 1] == 'x') {
			sb_put(b, s + i, 1); /* rec.c's \xNN for invalid UTF-8 */
		} else if (c < 0x20 || c >= 0x7f || (in_set && c == ',') || c == '|') {
			snprintf(t, sizeof(t), "\\x%02x", c);
			sb_cstr(b, t);
		} else {
			sb_put(b, s + i, 1);
		}
	}
}

static void sb_obj(struct sbuf *b, const msgpack_object *o, bool in_set)
{
	char t[64];

	switch (o->type) {
	case MSGPACK_OBJECT_STR:
		sb_esc(b, o->via.str.ptr, o->via.str.size, in_set);
		break;
	case MSGPACK_OBJECT_BOOLEAN:
		sb_cstr(b, o->via.boolean ? "T" : "F");
		break;
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		snprintf(t, sizeof(t), "%llu", (unsigned long long)o->via.u64);
		sb_cstr(b, t);
		break;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		snprintf(t, sizeof(t), "%lld", (long long)o->via.i64);
		sb_cstr(b, t);
		break;
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64:
		snprintf(t, sizeof(t), "%.6f", o->via.f64);
		sb_cstr(b, t);
		break;
	case MSGPACK_OBJECT_ARRAY:
		if (!o->via.array.size)
			sb_cstr(b, "(empty)");
		for (uint32_t i = 0; i < o->via.array.size; i++) {
			if (i)
				sb_cstr(b, ",");
			sb_obj(b, &o->via.array.ptr[i], true);
		}
		break;
	default:
		sb_cstr(b, "?");
		break;
	}
}

static void cap_add(char *s)
{
	assert_true(cap.n < MAX_RECS);
	cap.recs[cap.n++] = s;
}

static int cap_write(struct sink *s, const char *tag, size_t tag_len, uint64_t ts,
		     const uint8_t *map, size_t len)
{
	msgpack_unpacked u;
	size_t off = 0;
	struct sbuf b = {0};
	const char *dot = memchr(tag, '.', tag_len);

	(void)s;
	(void)ts;
	alloc_harness_enter();
	if (dot)
		sb_put(&b, dot + 1, tag_len - (size_t)(dot + 1 - tag));
	else
		sb_put(&b, tag, tag_len);
	msgpack_unpacked_init(&u);
	assert_int_equal(msgpack_unpack_next(&u, (const char *)map, len, &off),
			 MSGPACK_UNPACK_SUCCESS);
	assert_int_equal(u.data.type, MSGPACK_OBJECT_MAP);
	for (uint32_t i = 0; i < u.data.via.map.size; i++) {
		const msgpack_object_kv *kv = &u.data.via.map.ptr[i];

		sb_cstr(&b, "|");
		sb_put(&b, kv->key.via.str.ptr, kv->key.via.str.size);
		sb_cstr(&b, "=");
		sb_obj(&b, &kv->val, false);
	}
	msgpack_unpacked_destroy(&u);
	cap_add(b.s);
	alloc_harness_leave();
	return 0;
}

static int cap_flush(struct sink *s)
{
	(void)s;
	return 0;
}

static const struct sink_ops cap_ops = {
    .name = "capture", .write = cap_write, .flush = cap_flush, .close = cap_flush};
static struct sink cap_sink = {&cap_ops};

/* Value of key in a captured record, "-" if absent (into a static buffer). */
static const char *fld(const char *rec, const char *key)
{
	static char v[262144];
	size_t kl = strlen(key);
	const char *p = rec;

	while ((p = strchr(p, '|'))) {
		p++;
		if (!strncmp(p, key, kl) && p[kl] == '=') {
			const char *e = strchr(p + kl + 1, '|');
			size_t n = e ? (size_t)(e - p - kl - 1) : strlen(p + kl + 1);

			if (n >= sizeof(v))
				n = sizeof(v) - 1;
			memcpy(v, p + kl + 1, n);
			v[n] = 0;
			return v;
		}
	}
	return "-";
}

static bool is_stream(const char *rec, const char *stream)
{
	size_t l = strlen(stream);

	return !strncmp(rec, stream, l) && rec[l] == '|';
}

/* ---- a connection driven like the engine drives parsers ---- */

struct tconn {
	struct mt_session s;
	struct conn_id id;
	char uid[MT_UID_LEN];
	void *app;
	bool handed_off;
	int confirmed;
	uint8_t *pend[2];
	size_t plen[2];
	uint64_t tls_bytes;
	void *tls; /* g_tls: the "ssl" parser the hand-off started */
	/* pcap reader state */
	bool has_seq[2];
	uint32_t next_seq[2];
	uint64_t last_ts;
	bool listed;
	struct tconn *next;
};

static struct rec_out *g_out;
static struct rec *g_rec;
static struct mt_ids g_ids;
static struct smtp_cfg g_cfg;
static struct files_cfg g_fcfg;
/* A hand-off starts a real TLS parser on the rest of both streams, as the engine does; its
 * records (ssl, x509, files, analyzer) are captured with the others. */
static bool g_tls;
static struct tls_cfg g_tls_cfg;

static void t_confirm(struct mt_session *s, const char *service)
{
	struct tconn *c = (struct tconn *)s;

	if (c->tls) {
		assert_string_equal(service, "ssl");
		return;
	}
	assert_string_equal(service, "smtp");
	c->confirmed++;
}

static void t_analyzer(struct mt_session *s, uint64_t ts, const char *analyzer,
		       const char *reason, const char *data, size_t len)
{
	struct sbuf b = {0};

	(void)s;
	(void)ts;
	(void)data;
	(void)len;
	alloc_harness_enter();
	sb_cstr(&b, "analyzer|name=");
	sb_cstr(&b, analyzer);
	sb_cstr(&b, "|reason=");
	sb_cstr(&b, reason);
	cap_add(b.s);
	alloc_harness_leave();
}

static void t_weird(struct mt_session *s, uint64_t ts, const char *name, const char *addl,
		    size_t addl_len, const char *source)
{
	struct sbuf b = {0};
	char t[32];

	(void)s;
	alloc_harness_enter();
	snprintf(t, sizeof(t), "weird|ts=%llu", (unsigned long long)ts);
	sb_cstr(&b, t);
	sb_cstr(&b, "|name=");
	sb_cstr(&b, name);
	sb_cstr(&b, "|addl=");
	if (addl)
		sb_esc(&b, addl, addl_len, false);
	else
		sb_cstr(&b, "-");
	if (source) {
		sb_cstr(&b, "|source=");
		sb_cstr(&b, source);
	}
	cap_add(b.s);
	alloc_harness_leave();
}

static int t_handoff(struct mt_session *s, const char *parser)
{
	struct tconn *c = (struct tconn *)s;

	assert_string_equal(parser, "ssl");
	c->handed_off = true;
	return 0;
}

static void env_init(void)
{
	cap_reset();
	if (!g_out) {
		g_out = rec_out__new("mailtap");
		assert_non_null(g_out);
		assert_int_equal(rec_out__add_sink(g_out, &cap_sink), 0);
		rec_out__enable(g_out, "smtp_events");
		g_rec = rec__new(g_out);
		assert_non_null(g_rec);
	}
	mt_ids__init(&g_ids, 1, 42);
	g_cfg.files = &g_fcfg;
}

/* A connection without its parser. */
static struct tconn *tconn_make(const char *oh, uint16_t op, const char *rh, uint16_t rp)
{
	struct tconn *c = calloc(1, sizeof(*c));

	assert_non_null(c);
	assert_int_equal(mt_addr__parse(&c->id.orig_h, oh), 0);
	assert_int_equal(mt_addr__parse(&c->id.resp_h, rh), 0);
	c->id.orig_p = op;
	c->id.resp_p = rp;
	c->id.proto = 6;
	mt_ids__make(&g_ids, 'C', c->uid);
	c->s.uid = c->uid;
	c->s.id = &c->id;
	c->s.rec = g_rec;
	c->s.ids = &g_ids;
	c->s.local_orig = c->s.local_resp = -1;
	c->s.confirm = t_confirm;
	c->s.weird = t_weird;
	c->s.handoff = t_handoff;
	return c;
}

static struct tconn *tconn_new(const char *oh, uint16_t op, const char *rh, uint16_t rp)
{
	struct tconn *c = tconn_make(oh, op, rh, rp);

	c->app = app_smtp_ops.new(&c->s, &g_cfg);
	assert_non_null(c->app);
	return c;
}

static void tls_feed(struct tconn *c, enum mt_dir d, const uint8_t *buf, size_t len, uint64_t ts)
{
	ssize_t r;

	if (!len || !c->tls)
		return;
	r = app_tls_ops.feed(c->tls, d, buf, len, ts);
	if (r == -EPROTO) { /* a violation: the engine stops the parser */
		app_tls_ops.end(c->tls, ts);
		app_tls_ops.free(c->tls);
		c->tls = NULL;
		return;
	}
	assert_int_equal(r, (ssize_t)len);
}

/* The engine's do_handoff: the new parser gets the other side's unconsumed bytes, then the
 * rest of this feed. */
static void tls_start(struct tconn *c, enum mt_dir d, uint64_t ts)
{
	c->s.analyzer_violation = t_analyzer;
	c->tls = app_tls_ops.new(&c->s, &g_tls_cfg);
	assert_non_null(c->tls);
	tls_feed(c, (enum mt_dir)!d, c->pend[!d], c->plen[!d], ts);
	tls_feed(c, d, c->pend[d], c->plen[d], ts);
}

static void tfeed(struct tconn *c, enum mt_dir d, const uint8_t *buf, size_t len, uint64_t ts)
{
	ssize_t r;

	if (c->handed_off) {
		c->tls_bytes += len;
		if (c->tls)
			tls_feed(c, d, buf, len, ts);
		return;
	}
	c->pend[d] = realloc(c->pend[d], c->plen[d] + len + 1);
	assert_non_null(c->pend[d]);
	memcpy(c->pend[d] + c->plen[d], buf, len);
	c->plen[d] += len;
	r = app_smtp_ops.feed(c->app, d, c->pend[d], c->plen[d], ts);
	assert_true(r >= 0 && (size_t)r <= c->plen[d]);
	memmove(c->pend[d], c->pend[d] + r, c->plen[d] - (size_t)r);
	c->plen[d] -= (size_t)r;
	if (c->handed_off) {
		c->tls_bytes += c->plen[d] + c->plen[!d];
		if (g_tls)
			tls_start(c, d, ts);
		c->plen[d] = c->plen[!d] = 0;
	}
	assert_true(c->plen[d] < app_smtp_ops.max_unit);
}

/* Connections whose parser said idle after both ends (and so wrote nothing more), and the
 * others. */
static int g_idle_ends, g_busy_ends;

/* Both directions end, then the connection. The engine ends an idle parser at once, so idle
 * must mean that end() and free() write no record: checked on every connection. */
static void tconn_finish(struct tconn *c, uint64_t ts)
{
	bool idle = false;
	int before;

	if (!c->handed_off) {
		app_smtp_ops.eof(c->app, MT_ORIG, ts);
		app_smtp_ops.eof(c->app, MT_RESP, ts);
		idle = app_smtp_ops.idle(c->app);
	}
	before = cap.n;
	app_smtp_ops.end(c->app, ts);
	app_smtp_ops.free(c->app);
	if (c->tls) {
		app_tls_ops.eof(c->tls, MT_ORIG, ts);
		app_tls_ops.eof(c->tls, MT_RESP, ts);
		app_tls_ops.end(c->tls, ts);
		app_tls_ops.free(c->tls);
	}
	if (idle && cap.n != before)
		fail_msg("idle parser wrote %d records at its end, the first: %s", cap.n - before,
			 cap.recs[before]);
	if (idle)
		g_idle_ends++;
	else if (!c->handed_off)
		g_busy_ends++;
	free(c->pend[0]);
	free(c->pend[1]);
	free(c);
}

/* ---- scripted dialogues ---- */

struct seg {
	enum mt_dir d;
	const char *text;
	size_t len; /* 0: strlen(text); CN/SN give it, for text holding NUL bytes */
};

static size_t seg_len(const struct seg *g)
{
	return g->len ? g->len : strlen(g->text);
}

#define C(s)                                                                                       \
	{                                                                                          \
		MT_ORIG, s, 0                                                                      \
	}
#define S(s)                                                                                       \
	{                                                                                          \
		MT_RESP, s, 0                                                                      \
	}
#define CN(s)                                                                                      \
	{                                                                                          \
		MT_ORIG, s, sizeof(s) - 1                                                          \
	}
#define SN(s)                                                                                      \
	{                                                                                          \
		MT_RESP, s, sizeof(s) - 1                                                          \
	}

/* n bytes of side d never seen (run: a gap, whatever the mode) */
#define GAP(d, n) {d, NULL, n}

/* Runs a dialogue; mode 0 whole, 1 each segment split at k, 2 byte by byte. Returns all
 * records joined by newlines (caller frees). */
static char *run(const struct seg *segs, size_t n, int mode, size_t k)
{
	struct tconn *c;
	struct sbuf b = {0};
	uint64_t ts = 1000000000ull * 1700000000ull;

	env_init();
	c = tconn_new("10.0.0.1", 40000, "10.0.0.2", 25);
	for (size_t i = 0; i < n; i++) {
		const uint8_t *t = (const uint8_t *)segs[i].text;
		size_t l = seg_len(&segs[i]);

		ts += 1000000;
		if (!t) {
			c->plen[segs[i].d] = 0; /* the engine drops a partial unit at a hole */
			app_smtp_ops.gap(c->app, segs[i].d, l, ts);
		} else if (mode == 0 || (mode == 1 && (k == 0 || k >= l))) {
			tfeed(c, segs[i].d, t, l, ts);
		} else if (mode == 1) {
			tfeed(c, segs[i].d, t, k, ts);
			tfeed(c, segs[i].d, t + k, l - k, ts);
		} else {
			for (size_t j = 0; j < l; j++)
				tfeed(c, segs[i].d, t + j, 1, ts);
		}
	}
	tconn_finish(c, ts + 1000000);
	sb_cstr(&b, "");
	for (int i = 0; i < cap.n; i++) {
		sb_cstr(&b, cap.recs[i]);
		sb_cstr(&b, "\n");
	}
	return b.s;
}

/* Whole, every split position, byte by byte: identical. Returns the whole run's records. */
static char *run_all(const struct seg *segs, size_t n)
{
	char *whole = run(segs, n, 0, 0), *o;
	size_t maxl = 0;

	for (size_t i = 0; i < n; i++)
		if (seg_len(&segs[i]) > maxl)
			maxl = seg_len(&segs[i]);
	for (size_t k = 1; k < maxl; k++) {
		o = run(segs, n, 1, k);
		if (strcmp(whole, o))
			fail_msg("split at %zu differs:\n%s\nvs whole:\n%s", k, o, whole);
		free(o);
	}
	o = run(segs, n, 2, 0);
	if (strcmp(whole, o))
		fail_msg("byte by byte differs:\n%s\nvs whole:\n%s", o, whole);
	free(o);
	/* Leave cap holding the whole run. */
	free(run(segs, n, 0, 0));
	return whole;
}

static int count_stream(const char *stream)
{
	int n = 0;

	for (int i = 0; i < cap.n; i++)
		n += is_stream(cap.recs[i], stream);
	return n;
}

static const char *nth(const char *stream, int k)
{
	for (int i = 0; i < cap.n; i++)
		if (is_stream(cap.recs[i], stream) && k-- == 0)
			return cap.recs[i];
	fail_msg("no %s record %d", stream, k);
	return NULL;
}

/* The first weird record named name, NULL if none. */
static const char *find_weird(const char *name)
{
	for (int i = 0; i < cap.n; i++)
		if (is_stream(cap.recs[i], "weird") && !strcmp(fld(cap.recs[i], "name"), name))
			return cap.recs[i];
	return NULL;
}

static bool has_weird(const char *name)
{
	return find_weird(name) != NULL;
}

/* The same, failing when there is none. */
static const char *weird_rec(const char *name)
{
	const char *r = find_weird(name);

	if (!r)
		fail_msg("no weird %s", name);
	return r;
}

#define LONG_TAIL                                                                                  \
	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"                         \
	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

/* A pipelined session: EHLO with multi-line reply, AUTH PLAIN, two messages, the second
 * pipelined, a dot-stuffed line, a folded header, CC split, a Received path of six hops. */
static const struct seg basic[] = {
    S("220-mx.example.com ESMTP\r\n220 ready\r\n"),
    C("EHLO client.example.org\r\n"),
    S("250-mx.example.com Hello\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 CHUNKING\r\n"),
    /* AUTH PLAIN AHVzZXIAcGFzcw== ("\0user\0pass") */
    C("AUTH PLAIN AHVzZXIAcGFzcw==\r\n"),
    S("235 2.7.0 Authentication successful\r\n"),
    C("MAIL FROM:<alice@example.org> SIZE=120 BODY=8BITMIME\r\n"
      "RCPT TO:<bob@example.com> ORCPT=rfc822;bob@example.com\r\n"
      "RCPT TO:<carol@example.com>\r\nDATA\r\n"),
    S("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n"),
    C("Received: from a.example.org (a.example.org [192.0.2.7])\r\n\tby mx; Mon, 1 Jan 2024\r\n"
      "Received: from b.example.org ([192.0.2.8]) by a.example.org\r\n"
      "Received: from c.example.org ([192.0.2.9]) by b.example.org\r\n"
      "Received: from d.example.org ([192.0.2.10]) by c.example.org\r\n"
      "From: Alice <alice@example.org>\r\nTo: \"Bob, B.\" <bob@example.com>, carol@example.com\r\n"
      "Cc: dave@example.com\r\nSubject: Hello\r\n world\r\nMessage-ID: <m1@example.org>\r\n"
      "X-Originating-IP: [198.51.100.9]\r\nUser-Agent: test/1.0\r\n\r\n"
      "Line one\r\n..dot stuffed\r\n.\r\n"),
    S("250 2.0.0 Ok: queued as A1\r\n"),
    C("MAIL FROM:<alice@example.org>\r\nRCPT TO:<erin@example.com>\r\nDATA\r\n"),
    S("250 Ok\r\n250 Ok\r\n354 go\r\n"),
    C("Subject: second\r\n\r\nbody\r\n.\r\nQUIT\r\n"),
    /* longer than the first allocation of last_reply (128 bytes) */
    S("250 Ok: queued as A2 " LONG_TAIL "\r\n221 Bye\r\n"),
};

/* auth_user: the login name of AUTH PLAIN (initial response or answer), LOGIN (the answer to
 * a "Username:" challenge, or its initial response), CRAM-MD5 ("name digest", the digest
 * checked), DIGEST-MD5, SCRAM-*, XOAUTH2, OAUTHBEARER; never the password: a LOGIN answer to "Password:" or to a
 * challenge that names nothing, a reply out of step with its command (the server's reply to
 * EHLO missing: the "Username:" challenge goes to EHLO, the name is taken for an unknown
 * command and the password answers AUTH's 334), a CRAM-MD5 token without a digest. */
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define AUTH_TAIL                                                                                  \
	C("MAIL FROM:<a@example.org>\r\n"), S("250 ok\r\n"), C("RCPT TO:<b@example.org>\r\n"),     \
	    S("250 ok\r\n"), C("DATA\r\n"), S("354 go\r\n"), C("Subject: x\r\n\r\nhi\r\n.\r\n"),   \
	    S("250 queued\r\n"), C("QUIT\r\n"), S("221 bye\r\n")

static const char *auth_user_of(const struct seg *segs, size_t n, const char *secret)
{
	static char user[512];
	char *all = run_all(segs, n);

	assert_int_equal(count_stream("smtp"), 1);
	snprintf(user, sizeof(user), "%s", fld(nth("smtp", 0), "auth_user"));
	if (secret && strstr(all, secret))
		fail_msg("the secret %s is in a record:\n%s", secret, all);
	free(all);
	return user;
}

static void test_auth_user(void **state)
{
	const struct seg plain_ir[] = {S("220 mx\r\n"), C("EHLO c\r\n"), S("250 mx\r\n"),
				       C("AUTH PLAIN AGFsaWNlQGV4YW1wbGUub3JnAHMzY3JldCE=\r\n"),
				       S("235 ok\r\n"), AUTH_TAIL};
	const struct seg plain_answer[] = {S("220 mx\r\n"), C("EHLO c\r\n"), S("250 mx\r\n"),
					   C("AUTH PLAIN\r\n"), S("334 \r\n"),
					   C("AGFsaWNlQGV4YW1wbGUub3JnAHMzY3JldCE=\r\n"),
					   S("235 ok\r\n"), AUTH_TAIL};
	const struct seg login[] = {S("220 mx\r\n"), C("EHLO c\r\n"), S("250 mx\r\n"),
				    C("AUTH LOGIN\r\n"), S("334 VXNlcm5hbWU6\r\n"), C("Ym9i\r\n"),
				    S("334 UGFzc3dvcmQ6\r\n"), C("aHVudGVyMg==\r\n"),
				    S("235 ok\r\n"), AUTH_TAIL};
	const struct seg login_ir[] = {S("220 mx\r\n"), C("EHLO c\r\n"), S("250 mx\r\n"),
				       C("AUTH LOGIN Ym9i\r\n"), S("334 UGFzc3dvcmQ6\r\n"),
				       C("aHVudGVyMg==\r\n"), S("235 ok\r\n"), AUTH_TAIL};
	const struct seg login_unnamed[] = {S("220 mx\r\n"), C("EHLO c\r\n"), S("250 mx\r\n"),
					    C("AUTH LOGIN\r\n"), S("334 \r\n"), C("Ym9i\r\n"),
					    S("334 \r\n"), C("aHVudGVyMg==\r\n"), S("235 ok\r\n"),
					    AUTH_TAIL};
	const struct seg login_out_of_step[] = {S("220 mx\r\n"), C("EHLO c\r\n"),
						C("AUTH LOGIN\r\n"), S("334 VXNlcm5hbWU6\r\n"),
						C("Ym9i\r\n"), S("334 UGFzc3dvcmQ6\r\n"),
						C("aHVudGVyMg==\r\n"), S("235 ok\r\n"), AUTH_TAIL};
	const struct seg cram[] = {
	    S("220 mx\r\n"), C("EHLO c\r\n"), S("250 mx\r\n"), C("AUTH CRAM-MD5\r\n"),
	    S("334 PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+\r\n"),
	    C("Y2Fyb2wgMDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=\r\n"), S("235 ok\r\n"),
	    AUTH_TAIL};
	const struct seg cram_bad[] = {S("220 mx\r\n"), C("EHLO c\r\n"), S("250 mx\r\n"),
				       C("AUTH CRAM-MD5\r\n"), S("334 PDE+\r\n"),
				       C("Y2Fyb2wgbm90LWEtZGlnZXN0\r\n"), S("535 no\r\n"),
				       AUTH_TAIL};
	/* "carol 0123abcd": hex, not 32 digits; "carol " and 32 'z': 32, not hex */
	const struct seg cram_short[] = {S("220 mx\r\n"), C("EHLO c\r\n"), S("250 mx\r\n"),
					 C("AUTH CRAM-MD5\r\n"), S("334 PDE+\r\n"),
					 C("Y2Fyb2wgMDEyM2FiY2Q=\r\n"), S("535 no\r\n"), AUTH_TAIL};
	const struct seg cram_nothex[] = {
	    S("220 mx\r\n"), C("EHLO c\r\n"), S("250 mx\r\n"), C("AUTH CRAM-MD5\r\n"),
	    S("334 PDE+\r\n"), C("Y2Fyb2wgenp6enp6enp6enp6enp6enp6enp6enp6enp6enp6eno=\r\n"),
	    S("535 no\r\n"), AUTH_TAIL};
	const struct seg xoauth2[] = {
	    S("220 mx\r\n"), C("EHLO c\r\n"), S("250 mx\r\n"),
	    C("AUTH XOAUTH2 dXNlcj1kYXZlQGV4YW1wbGUuY29tAWF1dGg9QmVhcmVyIHRvawEB\r\n"),
	    S("235 ok\r\n"), AUTH_TAIL};
	const struct seg oauthbearer[] = {
	    S("220 mx\r\n"), C("EHLO c\r\n"), S("250 mx\r\n"),
	    C("AUTH OAUTHBEARER bixhPWVyaW5AZXhhbXBsZS5jb20sAWhvc3Q9eAFhdXRoPUJlYXJlciB0AQE=\r\n"),
	    S("235 ok\r\n"), AUTH_TAIL};
	const struct seg login_long[] = {S("220 mx\r\n"), C("EHLO c\r\n"), S("250 mx\r\n"),
					 C("AUTH LOGIN eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4\r\n"), S("334 UGFzc3dvcmQ6\r\n"),
					 C("aHVudGVyMg==\r\n"), S("235 ok\r\n"), AUTH_TAIL};
	const struct seg ntlm_ir[] = {S("220 mx\r\n"), C("EHLO c\r\n"), S("250 mx\r\n"),
				       C("AUTH NTLM TlRMTVNTUAABAAAAB7IAAAAAAAAAAAAAAAAAAAAAAAA=\r\n"), S("334 TlRMTVNTUAACAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==\r\n"),
				       C("TlRMTVNTUAADAAAAGAAYAFgAAAAYABgAcAAAAAgACABAAAAACgAKAEgAAAAGAAYAUgAAAAAAAAAAAAAAAQAAAEMATwBSAFAAYQBsAGkAYwBlAFcAUwAxAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAABEREREREREREREREREREREREREREREREQ==\r\n"), S("235 ok\r\n"), AUTH_TAIL};
	const struct seg ntlm[] = {S("220 mx\r\n"), C("EHLO c\r\n"), S("250 mx\r\n"),
				    C("AUTH NTLM\r\n"), S("334 \r\n"), C("TlRMTVNTUAABAAAAB7IAAAAAAAAAAAAAAAAAAAAAAAA=\r\n"),
				    S("334 TlRMTVNTUAACAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==\r\n"), C("TlRMTVNTUAADAAAAGAAYAFoAAAAYABgAcgAAAAgACABAAAAADAAMAEgAAAAGAAYAVAAAAAAAAAAAAAAAAQAAAEMATwBSAFAASgD8AHIAZwBlAG4AVwBTADEAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAERERERERERERERERERERERERERERERER\r\n"), S("235 ok\r\n"),
				    AUTH_TAIL};
	const struct seg ntlm_nodomain[] = {S("220 mx\r\n"), C("EHLO c\r\n"), S("250 mx\r\n"),
					     C("AUTH NTLM TlRMTVNTUAABAAAAB7IAAAAAAAAAAAAAAAAAAAAAAAA=\r\n"), S("334 TlRMTVNTUAACAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==\r\n"),
					     C("TlRMTVNTUAADAAAAGAAYAEwAAAAYABgAZAAAAAAAAABAAAAABgAGAEAAAAAGAAYARgAAAAAAAAAAAAAAAQAAAGIAbwBiAFcAUwAxAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAABEREREREREREREREREREREREREREREREQ==\r\n"), S("235 ok\r\n"), AUTH_TAIL};
	const struct seg ntlm_oem[] = {S("220 mx\r\n"), C("EHLO c\r\n"), S("250 mx\r\n"),
					C("AUTH NTLM TlRMTVNTUAABAAAAB7IAAAAAAAAAAAAAAAAAAAAAAAA=\r\n"), S("334 TlRMTVNTUAACAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==\r\n"),
					C("TlRMTVNTUAADAAAAGAAYAEkAAAAYABgAYQAAAAMAAwBAAAAABAAEAEMAAAACAAIARwAAAAAAAAAAAAAAAgAAAE9MRGNhcmxXUwAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAABEREREREREREREREREREREREREREREREQ==\r\n"), S("235 ok\r\n"), AUTH_TAIL};
	/* the first 80 base64 characters of alice's message: its buffers point past the end */
	const struct seg ntlm_cut[] = {S("220 mx\r\n"), C("EHLO c\r\n"), S("250 mx\r\n"),
					C("AUTH NTLM TlRMTVNTUAABAAAAB7IAAAAAAAAAAAAAAAAAAAAAAAA=\r\n"), S("334 TlRMTVNTUAACAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==\r\n"),
					C("TlRMTVNTUAADAAAAGAAYAFgAAAAYABgAcAAAAAgACABAAAAACgAKAEgAAAAGAAYAUgAAAAAAAAAAAAAAAQAAAEMA\r\n"), S("535 no\r\n"), AUTH_TAIL};
	/* DIGEST-MD5: RFC 2831's example response, answered rspauth; a quoted name with escapes
	 * after blanks around '=' and a name in another case */
	const struct seg digest[] = {
	    S("220 mx\r\n"), C("EHLO c\r\n"), S("250 mx\r\n"), C("AUTH DIGEST-MD5\r\n"),
	    S("334 cmVhbG09ImVsd29vZC5pbm5vc29mdC5jb20iLG5vbmNlPSJPQTZNRzl0RVFHbTJoaCI=\r\n"),
	    C("Y2hhcnNldD11dGYtOCx1c2VybmFtZT0iY2hyaXMiLHJlYWxtPSJlbHdvb2QuaW5ub3NvZnQuY29tIixub25jZT0iT0E2TUc5dEVRR20yaGgiLG5jPTAwMDAwMDAxLGNub25jZT0iT0E2TUhYaDZWcVRyUmsiLGRpZ2VzdC11cmk9InNtdHAvZWx3b29kLmlubm9zb2Z0LmNvbSIscmVzcG9uc2U9ZDM4OGRhZDkwZDRiYmQ3NjBhMTUyMzIxZjIxNDNhZjcscW9wPWF1dGg=\r\n"),
	    S("334 cnNwYXV0aD1lYTQwZjYwMzM1YzQyN2I1NTI3Yjg0ZGJhYmNkZmZm\r\n"), C("\r\n"),
	    S("235 ok\r\n"), AUTH_TAIL};
	const struct seg digest_escaped[] = {
	    S("220 mx\r\n"), C("EHLO c\r\n"), S("250 mx\r\n"), C("AUTH DIGEST-MD5\r\n"),
	    S("334 bm9uY2U9Im4i\r\n"), C("cmVhbG09IngiICwgVXNlck5hbWUgPSAiZnJcImVkXFx4Iixub25jZT0ibiI=\r\n"),
	    S("535 no\r\n"), AUTH_TAIL};
	/* SCRAM: the client-first-message, as initial response or answer; =2C and =3D; a bad
	 * escape is no name */
	const struct seg scram_ir[] = {S("220 mx\r\n"), C("EHLO c\r\n"), S("250 mx\r\n"),
				       C("AUTH SCRAM-SHA-256 biwsbj11c2VyLHI9ZnlrbytkMmxiYkZnT05Sdjlxa3hkYXdM\r\n"),
				       S("334 cj1meWtvK2QybGJiRmdPTlJ2OXFreGRhd0wzcmZjTkhZSlkxWlZ2V1ZzN2oscz1RU1hDUitRNnNlazhiZjkyLGk9NDA5Ng==\r\n"),
				       C("Yz1iaXdzLHI9ZnlrbytkMmxiYkZnT05Sdjlxa3hkYXdMM3JmY05IWUpZMVpWdldWczdqLHA9djBYOHYzQnoyVDBDSkdiSlF5RjBUK0hJNFRzPQ==\r\n"),
				       S("334 dj1ybUY5cHFWOFM3c3VBb1pXamE0ZEpSa0ZzS1E9\r\n"), C("\r\n"),
				       S("235 ok\r\n"), AUTH_TAIL};
	const struct seg scram_answer[] = {S("220 mx\r\n"), C("EHLO c\r\n"), S("250 mx\r\n"),
					   C("AUTH SCRAM-SHA-1-PLUS\r\n"), S("334 \r\n"),
					   C("cD10bHMtdW5pcXVlLGE9YWRtaW4sbj11cz0yQ2VyPTNEMSxyPWFiYw==\r\n"),
					   S("535 no\r\n"), AUTH_TAIL};
	const struct seg scram_bad[] = {S("220 mx\r\n"), C("EHLO c\r\n"), S("250 mx\r\n"),
					C("AUTH SCRAM-SHA-1 biwsbj11cz00MSxyPWFiYw==\r\n"),
					S("535 no\r\n"), AUTH_TAIL};
	char x256[257];

	(void)state;
	assert_string_equal(auth_user_of(digest, ARRAY_LEN(digest), "d388dad9"), "chris");
	assert_string_equal(auth_user_of(digest_escaped, ARRAY_LEN(digest_escaped), NULL),
			    "fr\"ed\\x");
	assert_string_equal(auth_user_of(scram_ir, ARRAY_LEN(scram_ir), "fyko"), "user");
	assert_string_equal(auth_user_of(scram_answer, ARRAY_LEN(scram_answer), NULL), "us,er=1");
	assert_string_equal(auth_user_of(scram_bad, ARRAY_LEN(scram_bad), NULL), "-");
	assert_string_equal(auth_user_of(plain_ir, ARRAY_LEN(plain_ir), "s3cret"), "alice@example.org");
	assert_string_equal(auth_user_of(plain_answer, ARRAY_LEN(plain_answer), "s3cret"),
			    "alice@example.org");
	assert_string_equal(auth_user_of(login, ARRAY_LEN(login), "hunter2"), "bob");
	assert_string_equal(auth_user_of(login_ir, ARRAY_LEN(login_ir), "hunter2"), "bob");
	assert_string_equal(auth_user_of(login_unnamed, ARRAY_LEN(login_unnamed), "hunter2"), "-");
	assert_string_equal(auth_user_of(login_out_of_step, ARRAY_LEN(login_out_of_step), "hunter2"),
			    "-");
	assert_string_equal(auth_user_of(cram, ARRAY_LEN(cram), NULL), "carol");
	assert_string_equal(auth_user_of(cram_bad, ARRAY_LEN(cram_bad), "not-a-digest"), "-");
	assert_string_equal(auth_user_of(cram_short, ARRAY_LEN(cram_short), "0123abcd"), "-");
	assert_string_equal(auth_user_of(cram_nothex, ARRAY_LEN(cram_nothex), "zzzz"), "-");
	assert_string_equal(auth_user_of(xoauth2, ARRAY_LEN(xoauth2), "Bearer"), "dave@example.com");
	assert_string_equal(auth_user_of(oauthbearer, ARRAY_LEN(oauthbearer), "Bearer"),
			    "erin@example.com");
	memset(x256, 'x', 256);
	x256[256] = 0;
	assert_string_equal(auth_user_of(login_long, ARRAY_LEN(login_long), "hunter2"), x256);
	/* NTLM: the AUTHENTICATE message's domain and user, UTF-16 or OEM, whichever token */
	assert_string_equal(auth_user_of(ntlm_ir, ARRAY_LEN(ntlm_ir), NULL), "CORP\\alice");
	assert_string_equal(auth_user_of(ntlm, ARRAY_LEN(ntlm), NULL), "CORP\\J\\xc3\\xbcrgen");
	assert_string_equal(auth_user_of(ntlm_nodomain, ARRAY_LEN(ntlm_nodomain), NULL), "bob");
	assert_string_equal(auth_user_of(ntlm_oem, ARRAY_LEN(ntlm_oem), NULL), "OLD\\carl");
	assert_string_equal(auth_user_of(ntlm_cut, ARRAY_LEN(ntlm_cut), NULL), "-");
	/* off: no field */
	g_cfg.auth_user = false;
	assert_string_equal(auth_user_of(plain_ir, ARRAY_LEN(plain_ir), "s3cret"), "-");
	g_cfg.auth_user = true;
}

static void test_basic_dialogue(void **state)
{
	char *all;
	const char *r;

	(void)state;
	g_cfg.events = true;
	all = run_all(basic, sizeof(basic) / sizeof(basic[0]));
	assert_int_equal(count_stream("smtp"), 2);
	r = nth("smtp", 0);
	assert_string_equal(fld(r, "trans_depth"), "1");
	assert_string_equal(fld(r, "helo"), "client.example.org");
	assert_string_equal(fld(r, "mailfrom"), "alice@example.org");
	assert_string_equal(fld(r, "rcptto"), "bob@example.com,carol@example.com");
	assert_string_equal(fld(r, "from"), "Alice <alice@example.org>");
	assert_string_equal(fld(r, "to"), "\"Bob\\x2c B.\" <bob@example.com>,carol@example.com");
	assert_string_equal(fld(r, "cc"), "dave@example.com");
	assert_string_equal(fld(r, "msg_id"), "<m1@example.org>");
	assert_string_equal(fld(r, "x_originating_ip"), "198.51.100.9");
	/* six hops: more than SMTP_PATH_INLINE, so the path moved out of the transaction */
	assert_string_equal(fld(r, "path"),
			    "10.0.0.2,10.0.0.1,192.0.2.7,192.0.2.8,192.0.2.9,192.0.2.10");
	assert_string_equal(fld(r, "last_reply"), "250 2.0.0 Ok: queued as A1");
	assert_string_equal(fld(r, "user_agent"), "test/1.0");
	assert_string_equal(fld(r, "tls"), "F");
	assert_string_equal(fld(r, "auth_mechanism"), "PLAIN");
	assert_string_equal(fld(r, "auth_success"), "T");
	assert_string_equal(fld(r, "size_param"), "120");
	assert_string_equal(fld(r, "body_param"), "8BITMIME");
	assert_string_equal(fld(r, "server_extensions"), "PIPELINING,8BITMIME,CHUNKING");
	assert_string_equal(fld(r, "bdat"), "F");
	assert_string_equal(fld(r, "smuggling_suspect"), "-");
	r = nth("smtp", 1);
	assert_string_equal(fld(r, "trans_depth"), "2");
	assert_string_equal(fld(r, "helo"), "client.example.org");
	assert_string_equal(fld(r, "rcptto"), "erin@example.com");
	assert_string_equal(fld(r, "subject"), "second");
	assert_string_equal(fld(r, "last_reply"), "250 Ok: queued as A2 " LONG_TAIL);
	assert_string_equal(fld(r, "path"), "10.0.0.2,10.0.0.1");
	assert_string_equal(fld(r, "msg_size"), "25");
	/* Events: greeting replies carry ">", the credentials never appear. */
	r = nth("smtp_events", 0);
	assert_string_equal(fld(r, "event"), "smtp_reply");
	assert_string_equal(fld(r, "cmd"), ">");
	assert_string_equal(fld(r, "cont_resp"), "T");
	assert_null(strstr(all, "AHVzZXIAcGFzcw"));
	assert_non_null(strstr(all, "|command=AUTH|arg=PLAIN ***"));
	assert_non_null(strstr(all, "|command=.|arg=."));
	assert_non_null(strstr(all, "|event=smtp_data|is_orig=T|data=.dot stuffed"));
	assert_false(has_weird("smtp_bare_lf_in_data"));
	g_cfg.events = false;
	free(all);
}

/* Whether the parser is idle once both directions have ended: after a finished message or
 * QUIT it is, and the engine may end it then; with a message open, or a transaction the
 * client began, its end still writes records. */
static const struct seg cut_in_data[] = {
    S("220 mx\r\n"),
    C("HELO a\r\n"),
    S("250 ok\r\n"),
    C("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n"),
    S("250 ok\r\n250 ok\r\n354 go\r\n"),
    C("Subject: cut\r\n\r\nhalf a bo"),
};
static const struct seg cut_after_mail[] = {
    S("220 mx\r\n"), C("HELO a\r\n"), S("250 ok\r\n"), C("MAIL FROM:<a@example.org>\r\n"),
    S("250 ok\r\n"),
};
static const struct seg done_no_quit[] = {
    S("220 mx\r\n"),
    C("HELO a\r\n"),
    S("250 ok\r\n"),
    C("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n"),
    S("250 ok\r\n250 ok\r\n354 go\r\n"),
    C("Subject: x\r\n\r\nbody\r\n.\r\n"),
    S("250 queued\r\n"),
};

/* Runs a dialogue once; true when its parser was idle at the end. Checks that a busy one's
 * end wrote an smtp record. */
static bool ends_idle(const struct seg *segs, size_t n)
{
	int idle = g_idle_ends, busy = g_busy_ends, smtp;
	char *o = run(segs, n, 0, 0);

	free(o);
	assert_int_equal(g_idle_ends - idle + g_busy_ends - busy, 1);
	smtp = count_stream("smtp");
	if (g_busy_ends > busy)
		assert_true(smtp > 0);
	return g_idle_ends > idle;
}

/* NUL bytes stay in the fields, as in Zeek's strings: "MAIL FROM:<\0x@y>" must not log an empty
 * mailfrom, nor filename="a.pdf\0.exe" the name a.pdf (a C string would end each field at its
 * first NUL and hide the rest). */
static const struct seg nul_dialogue[] = {
    S("220 mx ready\r\n"),
    CN("EHLO cl\0ient.example\r\n"),
    S("250 mx\r\n"),
    CN("MAIL FROM:<\0evil@evil.example>\r\n"),
    S("250 ok\r\n"),
    CN("RCPT TO:<a\0b@x.example>\r\nRCPT TO:<a\0c@x.example>\r\nRCPT TO:<a\0b@x.example>\r\n"),
    S("250 ok\r\n250 ok\r\n250 ok\r\n"),
    C("DATA\r\n"),
    S("354 go\r\n"),
    CN("Subject: hi\0there\r\nFrom: a\0b@evil.example\r\nTo: c\0d@x.example\r\n"
       "Content-Type: multipart/mixed; boundary=XX\r\n\r\n--XX\r\n\r\nbody\r\n--XX\r\n"
       "Content-Disposition: attachment; filename=\"invoice.pdf\0.exe\"\r\n\r\nAAAA\r\n"
       "--XX--\r\n.\r\n"),
    SN("250 queued\0 as Q1\r\n"),
    C("QUIT\r\n"),
    S("221 bye\r\n"),
};

static void test_nul_bytes_kept(void **state)
{
	const char *r;

	(void)state;
	free(run_all(nul_dialogue, sizeof(nul_dialogue) / sizeof(nul_dialogue[0])));
	assert_int_equal(count_stream("smtp"), 1);
	r = nth("smtp", 0);
	assert_string_equal(fld(r, "helo"), "cl\\x00ient.example");
	assert_string_equal(fld(r, "mailfrom"), "\\x00evil@evil.example");
	/* the third RCPT repeats the first: a set keeps it once */
	assert_string_equal(fld(r, "rcptto"), "a\\x00b@x.example,a\\x00c@x.example");
	assert_string_equal(fld(r, "subject"), "hi\\x00there");
	assert_string_equal(fld(r, "from"), "a\\x00b@evil.example");
	assert_string_equal(fld(r, "to"), "c\\x00d@x.example");
	/* the attachment's name: what a filename rule must see is the ".exe" */
	assert_int_equal(count_stream("files"), 2);
	assert_string_equal(fld(nth("files", 1), "filename"), "invoice.pdf\\x00.exe");
}

/* The files record's filename (and the name intel looks up as Files::IN_NAME) through Zeek's
 * whole unescape_URI: "%uXXXX" (a 00 high byte left out) and "%%" (the first '%' dropped), not
 * only "%XX": "evil%u002eexe" is evil.exe. And a Content-Disposition header longer than the
 * MIME line limit (4096) keeps its filename after the cut. */
static void test_filename_unescape(void **state)
{
	static char data[6000];
	struct seg segs[8];
	int n = 0, len;

	(void)state;
	len = snprintf(
	    data, sizeof(data),
	    "Content-Type: multipart/mixed; boundary=BB\r\n\r\n"
	    "--BB\r\nContent-Disposition: attachment; filename=\"evil%%u002eexe\"\r\n\r\nA\r\n"
	    "--BB\r\nContent-Disposition: attachment; filename=\"a%%%%41.exe\"\r\n\r\nB\r\n"
	    "--BB\r\nContent-Type: application/octet-stream; name=x%%u4142%%2E%%zz%%\r\n"
	    "\r\nC\r\n"
	    "--BB\r\nContent-Disposition: attachment; x=\"");
	memset(data + len, 'A', 4200);
	len += 4200;
	snprintf(data + len, sizeof(data) - (size_t)len,
		 "\"; filename=\"long.exe\"\r\n\r\nD\r\n--BB--\r\n.\r\n");
	segs[n++] = (struct seg)S("220 mx\r\n");
	segs[n++] = (struct seg)C("HELO c\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\n");
	segs[n++] = (struct seg)S("250 hi\r\n250 ok\r\n250 ok\r\n354 go\r\n");
	segs[n++] = (struct seg){MT_ORIG, data, 0};
	segs[n++] = (struct seg)S("250 ok\r\n");
	free(run_all(segs, (size_t)n)); /* whole, every split position, byte by byte */
	assert_int_equal(count_stream("files"), 4);
	assert_string_equal(fld(nth("files", 0), "filename"), "evil.exe");
	assert_string_equal(fld(nth("files", 1), "filename"), "aA.exe");
	assert_string_equal(fld(nth("files", 2), "filename"), "xAB.%zz%");
	assert_string_equal(fld(nth("files", 3), "filename"), "long.exe");
}

static int count_weird(const char *name)
{
	int n = 0;

	for (int i = 0; i < cap.n; i++)
		n += is_stream(cap.recs[i], "weird") && !strcmp(fld(cap.recs[i], "name"), name);
	return n;
}

#define B64_LINE "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0\r\n"

/* A NUL in a plain DATA line (the bulk pass must stop there), nowhere else. */
static const struct seg nul_in_text[] = {
    S("220 mx\r\n"),
    C("HELO c\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\n"),
    S("250 hi\r\n250 ok\r\n250 ok\r\n354 go\r\n"),
    CN("Subject: x\r\n\r\nline one, long enough for a block or two of the scan\r\nline two\r\n"
       "line\0three\r\nline four\r\n.\r\n"),
    S("250 ok\r\n"),
    C("QUIT\r\n"),
    S("221 bye\r\n"),
};

/* A NUL in the fifth line of a base64 attachment (the bulk base64 pass must stop there). */
static const struct seg nul_in_b64[] = {
    S("220 mx\r\n"),
    C("HELO c\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\n"),
    S("250 hi\r\n250 ok\r\n250 ok\r\n354 go\r\n"),
    CN("Content-Type: application/octet-stream\r\n"
       "Content-Transfer-Encoding: base64\r\n\r\n" B64_LINE B64_LINE B64_LINE B64_LINE
       "QUJD\0REVG\r\n" B64_LINE B64_LINE ".\r\n"),
    S("250 ok\r\n"),
    C("QUIT\r\n"),
    S("221 bye\r\n"),
};

/* NUL bytes only inside a BDAT chunk: Zeek delivers chunks plain, past its NUL check. */
static const struct seg nul_in_chunk[] = {
    S("220 mx\r\n"),
    C("EHLO c\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\n"),
    S("250 hi\r\n250 ok\r\n250 ok\r\n"),
    CN("BDAT 23 LAST\r\nSubject: a\0b\r\n\r\nbo\0dy\r\n"),
    S("250 ok\r\n"),
    C("QUIT\r\n"),
    S("221 bye\r\n"),
};

/* Only the server's greeting holds a NUL. */
static const struct seg nul_in_greeting[] = {
    SN("220 mx\0 ready\r\n"), C("HELO c\r\n"), S("250 hi\r\n"), C("QUIT\r\n"), S("221 bye\r\n"),
};

/* ContentLine's NUL_in_line: one weird per connection for a NUL anywhere in the lines of
 * either direction (commands, replies, DATA text, base64 bodies), none for NULs in BDAT
 * chunks or for no NUL at all. With and without the parser's events (without them DATA
 * takes the bulk passes, which must stop at the NUL); every split of every segment. */
static void test_nul_in_line(void **state)
{
	static const struct {
		const struct seg *segs;
		size_t n;
		int weirds;
	} cases[] = {
	    {nul_dialogue, sizeof(nul_dialogue) / sizeof(nul_dialogue[0]), 1},
	    {nul_in_text, sizeof(nul_in_text) / sizeof(nul_in_text[0]), 1},
	    {nul_in_b64, sizeof(nul_in_b64) / sizeof(nul_in_b64[0]), 1},
	    {nul_in_chunk, sizeof(nul_in_chunk) / sizeof(nul_in_chunk[0]), 0},
	    {nul_in_greeting, sizeof(nul_in_greeting) / sizeof(nul_in_greeting[0]), 1},
	    {basic, sizeof(basic) / sizeof(basic[0]), 0},
	};

	(void)state;
	for (int ev = 0; ev < 2; ev++) {
		g_cfg.events = ev;
		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			free(run_all(cases[i].segs, cases[i].n));
			if (count_weird("NUL_in_line") != cases[i].weirds)
				fail_msg("case %zu, events %d: %d NUL_in_line weirds, want %d", i,
					 ev, count_weird("NUL_in_line"), cases[i].weirds);
		}
	}
	g_cfg.events = false;
	/* the bytes stay: the text line reaches the message whole */
	free(run_all(nul_in_text, sizeof(nul_in_text) / sizeof(nul_in_text[0])));
	/* ContentLine's weird: Zeek's Analyzer::Weird names its analyzer, CONTENTLINE */
	assert_string_equal(fld(weird_rec("NUL_in_line"), "source"), "CONTENTLINE");
	assert_string_equal(fld(nth("smtp", 0), "msg_size"), "101");
}

static void test_idle_at_close(void **state)
{
	(void)state;
	g_cfg.events = false;
	assert_true(ends_idle(basic, sizeof(basic) / sizeof(basic[0])));
	assert_true(ends_idle(done_no_quit, sizeof(done_no_quit) / sizeof(done_no_quit[0])));
	assert_false(ends_idle(cut_in_data, sizeof(cut_in_data) / sizeof(cut_in_data[0])));
	assert_false(ends_idle(cut_after_mail, sizeof(cut_after_mail) / sizeof(cut_after_mail[0])));
}

/* Smuggling: a bare LF inside DATA and "\n.\r\n" as the end of data (a strict server reads on
 * and takes the MAIL FROM as message text; Zeek and mailtap end the message there). */
static const struct seg smuggle[] = {
    S("220 mx\r\n"),
    C("HELO c\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\n"),
    S("250 hi\r\n250 ok\r\n250 ok\r\n354 go\r\n"),
    C("Subject: x\r\n\r\nfirst\nsecond\r\n\n.\r\nMAIL FROM:<evil@x.y>\r\n"),
    S("250 ok\r\n"),
    C("QUIT\r\n"),
    S("221 bye\r\n"),
};

static void test_smuggling(void **state)
{
	char *all;
	const char *r;

	(void)state;
	all = run_all(smuggle, sizeof(smuggle) / sizeof(smuggle[0]));
	assert_true(has_weird("smtp_bare_lf_in_data"));
	assert_true(has_weird("smtp_nonstandard_end_of_data"));
	assert_non_null(strstr(weird_rec("smtp_bare_lf_in_data"), "|source=SMTP"));
	/* Zeek's reading: the message ends at the first "\r\n.\r\n"; the smuggled MAIL FROM
	 * starts a new transaction whose "DATA" never comes. */
	r = nth("smtp", 0);
	assert_string_equal(fld(r, "smuggling_suspect"), "T");
	assert_string_equal(fld(r, "data_anomalies"), "bare_lf,nonstandard_end_of_data");
	assert_string_equal(fld(weird_rec("smtp_nonstandard_end_of_data"), "addl"), "\\n.\\r\\n");
	r = nth("smtp", 1);
	assert_string_equal(fld(r, "mailfrom"), "evil@x.y");
	free(all);
}

/* Bare CRs: inside a DATA line, and "\r.\r" ending the data. */
static const struct seg smuggle_cr[] = {
    S("220 mx\r\n"),
    C("HELO c\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\n"),
    S("250 hi\r\n250 ok\r\n250 ok\r\n354 go\r\n"),
    C("Subject: y\r\n\r\nab\rcd\r\n\r.\rRSET\r\n"),
    S("250 ok\r\n250 reset\r\n"),
};

static void test_smuggling_cr(void **state)
{
	char *all;
	const char *r;

	(void)state;
	all = run_all(smuggle_cr, sizeof(smuggle_cr) / sizeof(smuggle_cr[0]));
	assert_string_equal(fld(weird_rec("line_terminated_with_single_CR"), "source"),
			    "CONTENTLINE");
	assert_true(has_weird("smtp_bare_cr_in_data"));
	assert_true(has_weird("smtp_nonstandard_end_of_data"));
	r = nth("smtp", 0);
	assert_string_equal(fld(r, "subject"), "y");
	assert_string_equal(fld(r, "last_reply"), "250 ok");
	assert_string_equal(fld(r, "data_anomalies"), "bare_cr,nonstandard_end_of_data");
	/* "ab\r" "cd\r\n" "\r" are three lines: 12 + 2 + 4 + 4 + 2 bytes */
	assert_string_equal(fld(r, "msg_size"), "24");
	/* the bytes as sent (was "\r.\r\n": a CR ending the dot line was written as CRLF) */
	assert_string_equal(fld(weird_rec("smtp_nonstandard_end_of_data"), "addl"), "\\r.\\r");
	free(all);
}

/* smtp_nonstandard_end_of_data's addl when the "." line ends with a CR: CRLF before the dot,
 * a CR alone after it, the reply before the next client byte (the weird then comes after the
 * record, which has no flag: docs/smtp.md, nor has the next one); a CR before the dot and CRLF after it (split
 * between CR and LF by run_all: the same). */
static const struct seg eod_crlf_dot_cr[] = {
    S("220 mx\r\n"),
    C("HELO c\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\n"),
    S("250 hi\r\n250 ok\r\n250 ok\r\n354 go\r\n"),
    C("Subject: y\r\n\r\nline\r\n.\r"),
    S("250 ok\r\n"),
    C("MAIL FROM:<x@b.c>\r\n"),
    S("250 ok\r\n"),
};

static const struct seg eod_cr_dot_crlf[] = {
    S("220 mx\r\n"),
    C("HELO c\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\n"),
    S("250 hi\r\n250 ok\r\n250 ok\r\n354 go\r\n"),
    C("Subject: y\r\n\r\nline\r.\r\nRSET\r\n"),
    S("250 ok\r\n250 reset\r\n"),
};

static void test_eod_addl(void **state)
{
	char *all;

	(void)state;
	all = run_all(eod_crlf_dot_cr, sizeof(eod_crlf_dot_cr) / sizeof(eod_crlf_dot_cr[0]));
	assert_string_equal(fld(weird_rec("smtp_nonstandard_end_of_data"), "addl"), "\\r\\n.\\r");
	assert_string_equal(fld(nth("smtp", 0), "data_anomalies"), "-");
	/* nor does the next transaction's */
	assert_string_equal(fld(nth("smtp", 1), "mailfrom"), "x@b.c");
	assert_string_equal(fld(nth("smtp", 1), "data_anomalies"), "-");
	free(all);
	all = run_all(eod_cr_dot_crlf, sizeof(eod_cr_dot_crlf) / sizeof(eod_cr_dot_crlf[0]));
	assert_string_equal(fld(weird_rec("smtp_nonstandard_end_of_data"), "addl"), "\\r.\\r\\n");
	assert_string_equal(fld(nth("smtp", 0), "data_anomalies"), "bare_cr,nonstandard_end_of_data");
	free(all);
}

/* BDAT chunks split mid-line, then BDAT 0 LAST; a second message with an invalid BDAT. */
static const struct seg bdat[] = {
    S("220 mx\r\n"),
    C("EHLO c\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nBDAT 20\r\nSubject: chunk\r\nFrom"),
    S("250 hi\r\n250 ok\r\n250 ok\r\n"),
    C("BDAT 17\r\n: x@y.z\r\n\r\nbody\r\n"),
    S("250 20 octets\r\n250 17 octets\r\n"),
    C("BDAT 0 LAST\r\n"),
    S("250 Message accepted\r\n"),
    C("MAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nBDAT 12x\r\nQUIT\r\n"),
    S("250 ok\r\n250 ok\r\n501 bad\r\n221 bye\r\n"),
};

static void test_bdat(void **state)
{
	char *all;
	const char *r;

	(void)state;
	all = run_all(bdat, sizeof(bdat) / sizeof(bdat[0]));
	assert_int_equal(count_stream("smtp"), 2);
	r = nth("smtp", 0);
	assert_string_equal(fld(r, "subject"), "chunk");
	assert_string_equal(fld(r, "from"), "x@y.z");
	assert_string_equal(fld(r, "last_reply"), "250 Message accepted");
	assert_string_equal(fld(r, "bdat"), "T");
	assert_string_equal(fld(r, "msg_size"), "37");
	r = nth("smtp", 1);
	assert_string_equal(fld(r, "trans_depth"), "2");
	assert_string_equal(fld(r, "last_reply"), "221 bye");
	assert_true(has_weird("smtp_invalid_bdat_command"));
	free(all);
}

/* STARTTLS: the parser stops right after the 220 and hands both streams to "ssl". */
static void test_starttls(void **state)
{
	struct tconn *c;
	/* "\x16\x03\x01" is the start of a TLS ClientHello record */
	static const char
	    s1[] = "220 mx\r\n",
	    c1[] = "EHLO c\r\nSTARTTLS\r\n",
	    s2[] = "250-mx\r\n250 STARTTLS\r\n220 2.0.0 Ready to start TLS\r\n\x16\x03\x01";
	const char *r;

	(void)state;
	env_init();
	c = tconn_new("10.0.0.1", 40001, "10.0.0.2", 25);
	tfeed(c, MT_RESP, (const uint8_t *)s1, strlen(s1), 1);
	tfeed(c, MT_ORIG, (const uint8_t *)c1, strlen(c1), 2);
	tfeed(c, MT_RESP, (const uint8_t *)s2, strlen(s2), 3);
	assert_true(c->handed_off);
	assert_int_equal(c->tls_bytes, 3);
	assert_int_equal(c->confirmed, 1);
	tconn_finish(c, 4);
	assert_int_equal(count_stream("smtp"), 1);
	r = nth("smtp", 0);
	assert_string_equal(fld(r, "tls"), "T");
	assert_string_equal(fld(r, "last_reply"), "220 2.0.0 Ready to start TLS");
	assert_string_equal(fld(r, "helo"), "c");
}

/* Feeds segs ('C' or 'S' and the bytes) one feed each; returns how many bytes went to TLS. */
static uint64_t starttls_feeds(const char *const *segs, size_t n)
{
	struct tconn *c;
	uint64_t tls;

	env_init();
	c = tconn_new("10.0.0.1", 40001, "10.0.0.2", 25);
	for (size_t i = 0; i < n; i++)
		tfeed(c, segs[i][0] == 'C' ? MT_ORIG : MT_RESP, (const uint8_t *)segs[i] + 1,
		      strlen(segs[i] + 1), i + 1);
	assert_true(c->handed_off);
	tls = c->tls_bytes;
	tconn_finish(c, n + 1);
	assert_int_equal(count_stream("smtp"), 1);
	assert_string_equal(fld(nth("smtp", 0), "tls"), "T");
	assert_string_equal(fld(nth("smtp", 0), "last_reply"), "220 go");
	assert_false(has_weird("line_terminated_with_single_CR"));
	return tls;
}

/* STARTTLS when a line's CR ends a feed: its LF, in the side's next feed, is the line's, not
 * TLS's (Zeek hands it to its SSL analyzer): the server's 220, the client's STARTTLS, both.
 * The other side's bytes first, or no LF, make the hand-off at once. "\x16\x03\x01" starts a
 * TLS record. */
static void test_starttls_lf_later(void **state)
{
	static const char *const reply[] = {
	    "S220 mx\r\n", "CEHLO c\r\nSTARTTLS\r\n", "S250 mx\r\n220 go\r", "S\n", "C\x16\x03\x01"};
	static const char *const reply_tls[] = {
	    "S220 mx\r\n", "CEHLO c\r\nSTARTTLS\r\n", "S250 mx\r\n220 go\r", "S\n\x16\x03\x01"};
	static const char *const cmd[] = {
	    "S220 mx\r\n", "CEHLO c\r\nSTARTTLS\r", "S250 mx\r\n220 go\r\n", "C\n\x16\x03\x01"};
	static const char *const both[] = {"S220 mx\r\n", "CEHLO c\r\nSTARTTLS\r",
					   "S250 mx\r\n220 go\r", "S\n", "C\n\x16\x03\x01"};
	static const char *const both_c[] = {"S220 mx\r\n", "CEHLO c\r\nSTARTTLS\r",
					     "S250 mx\r\n220 go\r", "C\n\x16\x03\x01", "S\n"};
	static const char *const other_first[] = {
	    "S220 mx\r\n", "CEHLO c\r\nSTARTTLS\r\n", "S250 mx\r\n220 go\r", "C\x16\x03\x01", "S\n"};
	static const char *const no_lf[] = {
	    "S220 mx\r\n", "CEHLO c\r\nSTARTTLS\r\n", "S250 mx\r\n220 go\r", "S\x16\x03"};

	(void)state;
	assert_int_equal(starttls_feeds(reply, 5), 3);
	assert_int_equal(starttls_feeds(reply_tls, 4), 3);
	assert_int_equal(starttls_feeds(cmd, 4), 3);
	assert_int_equal(starttls_feeds(both, 5), 3);
	assert_int_equal(starttls_feeds(both_c, 5), 3);
	/* the client's TLS bytes before the server's LF: that LF is TLS's, as in Zeek */
	assert_int_equal(starttls_feeds(other_first, 5), 4);
	assert_int_equal(starttls_feeds(no_lf, 4), 2);
}

/* suricata-verify smtp-rset-starttls: no greeting, bare LF line ends, a mixed-case STARTTLS
 * pipelined after RSET. Zeek's reading: the first 250 answers the (missing) greeting, so the
 * 220 answers RSET, not STARTTLS: no TLS, no client activity, no record. */
static const struct seg rset_starttls[] = {
    C("EHLO\n"), S("250\n"), C("rset\nstaRttLs\n"), S("250\n"), S("220\n"),
};

static void test_rset_starttls(void **state)
{
	char *all;

	(void)state;
	g_cfg.events = true;
	all = run_all(rset_starttls, sizeof(rset_starttls) / sizeof(rset_starttls[0]));
	g_cfg.events = false;
	assert_int_equal(count_stream("smtp"), 0);
	assert_non_null(strstr(all, "|command=STARTTLS|arg="));
	assert_non_null(strstr(all, "|code=220|cmd=RSET|msg=|cont_resp=F"));
	assert_null(strstr(all, "smtp_starttls"));
	free(all);
}

/* DPD: a reply without a valid code early in the connection disables the analyzer (Zeek's
 * dpd.zeek); later than dpd_ignore_after bytes it is only an smtp_unexpected event. */
static const struct seg violation_early[] = {
    S("220 mx\r\nHTTP/1.1 400 Bad Request\r\n"),
    C("HELO c\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\n"),
    S("250 a\r\n250 b\r\n250 c\r\n"),
};

static void test_violation(void **state)
{
	char *all;

	(void)state;
	all = run_all(violation_early, sizeof(violation_early) / sizeof(violation_early[0]));
	assert_int_equal(count_stream("smtp"), 0);
	free(all);
	g_cfg.dpd_ignore_after = 16;
	all = run_all(violation_early, sizeof(violation_early) / sizeof(violation_early[0]));
	g_cfg.dpd_ignore_after = 10240;
	assert_int_equal(count_stream("smtp"), 1);
	assert_string_equal(fld(nth("smtp", 0), "rcptto"), "d@e.f");
	free(all);
}

/* A gap inside DATA ends the message; the analyzer recovers at the next reply. */
static void test_gap(void **state)
{
	struct tconn *c;
	static const char s1[] = "220 mx\r\n", c1[] = "HELO c\r\nMAIL FROM:<a@b.c>\r\n"
						      "RCPT TO:<d@e.f>\r\nDATA\r\n";
	static const char s2[] = "250 a\r\n250 b\r\n250 c\r\n354 d\r\n",
			  c2[] = "Subject: before gap\r\n\r\nxx", c3[] = "yy\r\n.\r\n",
			  s3[] = "250 queued\r\n", c4[] = "MAIL FROM:<z@b.c>\r\n",
			  s4[] = "250 ok\r\n";
	const char *r;

	(void)state;
	env_init();
	c = tconn_new("10.0.0.1", 40002, "10.0.0.2", 25);
	tfeed(c, MT_RESP, (const uint8_t *)s1, strlen(s1), 1);
	tfeed(c, MT_ORIG, (const uint8_t *)c1, strlen(c1), 2);
	tfeed(c, MT_RESP, (const uint8_t *)s2, strlen(s2), 3);
	tfeed(c, MT_ORIG, (const uint8_t *)c2, strlen(c2), 4);
	app_smtp_ops.gap(c->app, MT_ORIG, 100, 5);
	tfeed(c, MT_ORIG, (const uint8_t *)c3, strlen(c3), 6);
	tfeed(c, MT_RESP, (const uint8_t *)s3, strlen(s3), 7);
	tfeed(c, MT_ORIG, (const uint8_t *)c4, strlen(c4), 8);
	tfeed(c, MT_RESP, (const uint8_t *)s4, strlen(s4), 9);
	tconn_finish(c, 10);
	/* The message record is written at the new MAIL FROM (no "." reply matched). */
	assert_int_equal(count_stream("smtp"), 2);
	r = nth("smtp", 0);
	assert_string_equal(fld(r, "subject"), "before gap");
	assert_string_equal(fld(r, "trans_depth"), "1");
	r = nth("smtp", 1);
	assert_string_equal(fld(r, "mailfrom"), "z@b.c");
}

/* A gap inside a BDAT chunk: the chunk's size says where it ends, so the bytes after the gap
 * are the rest of the message, not commands. Zeek ends the message at the gap and, once a
 * reply came, reads the chunk's tail as commands: the body's MAIL FROM and RCPT TO lines
 * made a second transaction. The sender's gap (side 0) is missing bytes of the message's
 * file; the receiver's (side 1) lost replies only: the message is whole. */
static void bdat_gap_run(enum mt_dir side)
{
	struct tconn *c;
	static const char s1[] = "220 mx\r\n", c1[] = "EHLO c\r\nMAIL FROM:<a@b.c>\r\n"
						      "RCPT TO:<d@e.f>\r\nBDAT 174 LAST\r\n"
						      "Subject: g\r\n\r\nline1\r\n",
			  s2[] = "250-mx\r\n250 CHUNKING\r\n250 a\r\n250 b\r\n",
			  c2[] = "line2\r\nMAIL FROM:<forged@x.y>\r\nRCPT TO:<forged@x.y>\r\n",
			  s3[] = "250 queued\r\n", c3[] = "QUIT\r\n", s4[] = "221 bye\r\n";
	const char *r, *f;

	env_init();
	c = tconn_new("10.0.0.1", 40003, "10.0.0.2", 25);
	tfeed(c, MT_RESP, (const uint8_t *)s1, strlen(s1), 1);
	tfeed(c, MT_ORIG, (const uint8_t *)c1, strlen(c1), 2);
	if (side == MT_ORIG) /* 174 = 21 + 100 missing + 53 */
		app_smtp_ops.gap(c->app, MT_ORIG, 100, 3);
	else
		app_smtp_ops.gap(c->app, MT_RESP, 30, 3);
	tfeed(c, MT_RESP, (const uint8_t *)s2, strlen(s2), 4);
	if (side == MT_RESP) {
		static const char pad[] = "0123456789012345678901234567890123456789"
					  "0123456789012345678901234567890123456789"
					  "01234567890123456789\r\n"; /* 100 */
		tfeed(c, MT_ORIG, (const uint8_t *)pad, strlen(pad), 5);
	}
	tfeed(c, MT_ORIG, (const uint8_t *)c2, strlen(c2), 6);
	tfeed(c, MT_RESP, (const uint8_t *)s3, strlen(s3), 7);
	tfeed(c, MT_ORIG, (const uint8_t *)c3, strlen(c3), 8);
	tfeed(c, MT_RESP, (const uint8_t *)s4, strlen(s4), 9);
	tconn_finish(c, 10);
	assert_int_equal(count_stream("smtp"), 1);
	r = nth("smtp", 0);
	assert_string_equal(fld(r, "mailfrom"), "a@b.c");
	assert_string_equal(fld(r, "rcptto"), "d@e.f");
	assert_string_equal(fld(r, "subject"), "g");
	assert_int_equal(count_stream("files"), 1);
	f = nth("files", 0);
	assert_string_equal(fld(r, "fuids"), fld(f, "fuid"));
	assert_string_equal(fld(f, "missing_bytes"), side == MT_ORIG ? "100" : "0");
	/* "line1\r\n" (7), the gap or the 100 bytes of the receiver's case, 53 bytes */
	assert_string_equal(fld(f, "seen_bytes"), side == MT_ORIG ? "60" : "160");
	assert_false(has_weird("smtp_bdat_remaining_at_end_data"));
}

static void test_bdat_gap_in_chunk(void **state)
{
	(void)state;
	bdat_gap_run(MT_ORIG);
	bdat_gap_run(MT_RESP);
}

/* A gap in the middle of a DATA body line (the reviewer's gap.pcap): Zeek's ContentLine keeps
 * the partial line and SMTP ends the message at the gap, so neither the entity's file nor the
 * message file (SMTP::enable_rfc822_msg_file_analysis) gets its bytes: 7 bytes seen
 * ("line1\r\n"), too few for a mime type, and 100 missing. */
static void test_gap_partial_line(void **state)
{
	struct tconn *c;
	static const char s1[] = "220 mx\r\n", c1[] = "HELO c\r\nMAIL FROM:<a@b.c>\r\n"
						      "RCPT TO:<d@e.f>\r\nDATA\r\n";
	static const char s2[] = "250 a\r\n250 b\r\n250 c\r\n354 d\r\n",
			  c2[] = "Subject: gap\r\n\r\nline1\r\nPARTIAL-LINE-BEFORE-GAP",
			  c3[] = "rest\r\nmore\r\n.\r\n", s3[] = "250 queued\r\n";
	const char *r;

	(void)state;
	g_cfg.rfc822_msg_file = true;
	env_init();
	c = tconn_new("10.0.0.1", 40002, "10.0.0.2", 25);
	tfeed(c, MT_RESP, (const uint8_t *)s1, strlen(s1), 1);
	tfeed(c, MT_ORIG, (const uint8_t *)c1, strlen(c1), 2);
	tfeed(c, MT_RESP, (const uint8_t *)s2, strlen(s2), 3);
	tfeed(c, MT_ORIG, (const uint8_t *)c2, strlen(c2), 4);
	app_smtp_ops.gap(c->app, MT_ORIG, 100, 5);
	tfeed(c, MT_ORIG, (const uint8_t *)c3, strlen(c3), 6);
	tfeed(c, MT_RESP, (const uint8_t *)s3, strlen(s3), 7);
	tconn_finish(c, 8);
	g_cfg.rfc822_msg_file = false;
	assert_int_equal(count_stream("files"), 2);
	for (int k = 0; k < 2; k++) {
		r = nth("files", k);
		if (!strcmp(fld(r, "mime_type"), "message/rfc822")) {
			/* the message file: the header block and line1, no partial line */
			assert_string_equal(fld(r, "seen_bytes"), "23");
		} else {
			assert_string_equal(fld(r, "depth"), "1");
			assert_string_equal(fld(r, "seen_bytes"), "7");
			assert_string_equal(fld(r, "mime_type"), "-");
		}
		assert_string_equal(fld(r, "missing_bytes"), "100");
	}
}

/* mailtap's own weird missing_SMTP_entity (docs/smtp.md): a MIME header of a message whose
 * record was replaced mid-message. Here a MAIL FROM pipelined between two BDAT chunks starts
 * the next record (the first had client activity); the second chunk's header then has no
 * entity in the new record. Zeek's entities.zeek reads c$smtp$entity unchecked there and
 * reports a script error instead. */
static const struct seg entity_replaced[] = {
    S("220 mx\r\n"),
    C("EHLO c\r\n"),
    S("250-mx\r\n250 CHUNKING\r\n"),
    C("MAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nBDAT 12\r\nSubject: a\r\n"
      "MAIL FROM:<x@b.c>\r\nBDAT 30 LAST\r\nX-Late: after the new MAIL\r\n\r\n"),
    S("250 a\r\n250 b\r\n250 c\r\n250 d\r\n250 e\r\n"),
};

static void test_missing_entity_weird(void **state)
{
	const char *w;

	(void)state;
	free(run_all(entity_replaced, sizeof(entity_replaced) / sizeof(entity_replaced[0])));
	w = find_weird("missing_SMTP_entity");
	assert_non_null(w);
	assert_string_equal(fld(w, "source"), "SMTP");
}

/* A BDAT command ended by a CR alone, its chunk right after it: Zeek's ContentLine hands the
 * chunk over by plain delivery, which clears its last character: no
 * line_terminated_with_single_CR (a CR-ended BDAT 0 LAST has no chunk: the next command gives
 * it, as in Zeek). */
static const struct seg bdat_cr[] = {
    S("220 mx\r\n"),
    C("EHLO c\r\n"),
    S("250-mx\r\n250 CHUNKING\r\n"),
    C("MAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nBDAT 14 LAST\rSubject: x\r\n\r\n"),
    S("250 a\r\n250 b\r\n250 c\r\n"),
};

static const struct seg bdat0_cr[] = {
    S("220 mx\r\n"),
    C("EHLO c\r\n"),
    S("250-mx\r\n250 CHUNKING\r\n"),
    C("MAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nBDAT 0 LAST\rQUIT\r\n"),
    S("250 a\r\n250 b\r\n250 c\r\n221 d\r\n"),
};

static void test_bdat_cr_chunk(void **state)
{
	(void)state;
	free(run_all(bdat_cr, sizeof(bdat_cr) / sizeof(bdat_cr[0])));
	assert_false(has_weird("line_terminated_with_single_CR"));
	assert_string_equal(fld(nth("smtp", 0), "msg_size"), "14");
	assert_string_equal(fld(nth("smtp", 0), "subject"), "x");
	free(run_all(bdat0_cr, sizeof(bdat0_cr) / sizeof(bdat0_cr[0])));
	assert_true(has_weird("line_terminated_with_single_CR"));
}

/* "BDAT 0 LAST" ends the message at once (Zeek: at the sender's next line, after the reply
 * to BDAT wrote the record): the body "hello", a last line without CRLF, is the message's
 * own: its file ends before the record is written, no smtp_bdat_undelivered_at_done. */
static const struct seg bdat0_partial[] = {
    S("220 mx\r\n"),
    C("EHLO c\r\n"),
    S("250-mx\r\n250 CHUNKING\r\n"),
    C("MAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nBDAT 19\r\nSubject: z\r\n\r\nhello"),
    S("250 a\r\n250 b\r\n250 20 octets\r\n"),
    C("BDAT 0 LAST\r\n"),
    S("250 queued\r\n"),
    C("QUIT\r\n"),
    S("221 bye\r\n"),
};

static void test_bdat0_last_ends_message(void **state)
{
	const char *r, *f;

	(void)state;
	free(run_all(bdat0_partial, sizeof(bdat0_partial) / sizeof(bdat0_partial[0])));
	assert_int_equal(count_stream("smtp"), 1);
	assert_int_equal(count_stream("files"), 1);
	r = nth("smtp", 0);
	f = nth("files", 0);
	assert_string_equal(fld(r, "last_reply"), "250 queued");
	assert_string_equal(fld(r, "subject"), "z");
	assert_string_equal(fld(r, "fuids"), fld(f, "fuid"));
	assert_string_equal(fld(f, "seen_bytes"), "5");
	assert_false(has_weird("smtp_bdat_undelivered_at_done"));
	/* the entity ended at LAST, before the reply wrote the record */
	for (int i = 0; i < cap.n; i++) {
		if (is_stream(cap.recs[i], "smtp"))
			fail_msg("the smtp record came before the files record");
		if (is_stream(cap.recs[i], "files"))
			break;
	}
}

/* The record waits for the reply to the LAST chunk's command. Pipelined: the reply to the
 * first chunk comes while the last one is on its way (Zeek wrote the record then, with
 * "250 29 octets" as last_reply and without the attachment of the last chunk, whose fuid
 * went to a record never written; the message was refused). */
static const struct seg bdat_pipelined_reply[] = {
    S("220 mx\r\n"),
    C("EHLO c\r\n"),
    S("250-mx\r\n250-PIPELINING\r\n250 CHUNKING\r\n"),
    C("MAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nBDAT 29\r\n"
      "Subject: p\r\nContent-Type: mul"
      "BDAT 132 LAST\r\n"
      "tipart/mixed; boundary=B\r\n\r\n--B\r\n\r\ntext\r\n"),
    S("250 a\r\n250 b\r\n250 29 octets\r\n"),
    C("--B\r\nContent-Disposition: attachment; filename=x.bin\r\n\r\n"
      "0123456789abcdef0123456789\r\n--B--\r\n"),
    S("554 refused\r\n"),
    C("QUIT\r\n"),
    S("221 bye\r\n"),
};

/* "BDAT 5 last" is a last chunk to the analyzer and to RFC 3030 (keywords are case-
 * insensitive), not to Zeek's script, which looks for " LAST": no record at its reply, the
 * next message's trans_depth 1 again. */
static const struct seg bdat_lower_last[] = {
    S("220 mx\r\n"),
    C("EHLO c\r\n"),
    S("250-mx\r\n250 CHUNKING\r\n"),
    C("MAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nBDAT 14 last\r\nSubject: 1\r\n\r\n"),
    S("250 a\r\n250 b\r\n250 first\r\n"),
    C("MAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nBDAT 14 LAST\r\nSubject: 2\r\n\r\n"),
    S("250 a\r\n250 b\r\n250 second\r\n"),
    C("QUIT\r\n"),
    S("221 bye\r\n"),
};

/* An invalid "BDAT x LAST" (501) transfers nothing: the transaction goes on. Zeek's script,
 * reading " LAST" in the request, ended it: its record was written at the 501 and the real
 * message went to a record without client activity, never written (and the message's BDAT
 * was "data missing rcpt to"). */
static const struct seg bdat_invalid_last[] = {
    S("220 mx\r\n"),
    C("EHLO c\r\n"),
    S("250-mx\r\n250 CHUNKING\r\n"),
    C("MAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nBDAT x LAST\r\n"),
    S("250 a\r\n250 b\r\n501 bad\r\n"),
    C("BDAT 14 LAST\r\nSubject: 3\r\n\r\n"),
    S("250 queued\r\n"),
    C("QUIT\r\n"),
    S("221 bye\r\n"),
};

/* The next MAIL FROM pipelined right after the LAST chunk, before its reply (suricata-verify's
 * smtp-bdat-pipelined-next-mail): Zeek wrote the first record at that MAIL FROM (last_reply
 * the RCPT's "250 b"), the LAST chunk's reply then closed the second envelope's record, and
 * the second message went to a record never written. The first record waits for its reply. */
static const struct seg bdat_next_mail[] = {
    S("220 mx\r\n"),
    C("EHLO c\r\n"),
    S("250-mx\r\n250-PIPELINING\r\n250 CHUNKING\r\n"),
    C("MAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nBDAT 14 LAST\r\nSubject: 1\r\n\r\n"
      "MAIL FROM:<x@y.z>\r\nRCPT TO:<d@e.f>\r\n"),
    S("250 a\r\n250 b\r\n250 queued 1\r\n250 c\r\n250 d\r\n"),
    C("DATA\r\n"),
    S("354 go\r\n"),
    C("Subject: 2\r\n\r\nbody\r\n.\r\n"),
    S("250 queued 2\r\n"),
    C("QUIT\r\n"),
    S("221 bye\r\n"),
};

/* Two BDAT transactions pipelined before any reply: each record takes the reply to its own
 * LAST chunk (the replies awaited are counted as the commands are queued). */
static const struct seg bdat_two_pipelined[] = {
    S("220 mx\r\n"),
    C("EHLO c\r\n"),
    S("250-mx\r\n250-PIPELINING\r\n250 CHUNKING\r\n"),
    C("MAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nBDAT 3\r\nSubBDAT 11 LAST\r\nject: 1\r\n\r\n"
      "MAIL FROM:<x@y.z>\r\nRCPT TO:<d@e.f>\r\nBDAT 0\r\nBDAT 14 LAST\r\nSubject: 2\r\n\r\n"),
    S("250 a\r\n250 b\r\n250 3 octets\r\n250 queued 1\r\n"
      "250 c\r\n250 d\r\n250 0 octets\r\n250 queued 2\r\n"),
    C("QUIT\r\n"),
    S("221 bye\r\n"),
};

static void test_bdat_last_reply(void **state)
{
	const char *r;

	(void)state;
	free(run_all(bdat_pipelined_reply,
		     sizeof(bdat_pipelined_reply) / sizeof(bdat_pipelined_reply[0])));
	assert_int_equal(count_stream("smtp"), 1);
	assert_int_equal(count_stream("files"), 2);
	r = nth("smtp", 0);
	assert_string_equal(fld(r, "last_reply"), "554 refused");
	assert_string_equal(fld(r, "subject"), "p");
	assert_non_null(strstr(fld(r, "fuids"), fld(nth("files", 1), "fuid")));
	assert_string_equal(fld(nth("files", 1), "filename"), "x.bin");

	free(run_all(bdat_lower_last, sizeof(bdat_lower_last) / sizeof(bdat_lower_last[0])));
	assert_int_equal(count_stream("smtp"), 2);
	assert_string_equal(fld(nth("smtp", 0), "last_reply"), "250 first");
	assert_string_equal(fld(nth("smtp", 0), "subject"), "1");
	assert_string_equal(fld(nth("smtp", 1), "trans_depth"), "2");
	assert_string_equal(fld(nth("smtp", 1), "last_reply"), "250 second");

	free(run_all(bdat_invalid_last, sizeof(bdat_invalid_last) / sizeof(bdat_invalid_last[0])));
	assert_int_equal(count_stream("smtp"), 1);
	r = nth("smtp", 0);
	assert_string_equal(fld(r, "mailfrom"), "a@b.c");
	assert_string_equal(fld(r, "subject"), "3");
	assert_string_equal(fld(r, "last_reply"), "250 queued");
	assert_true(has_weird("smtp_invalid_bdat_command"));
	assert_false(has_weird("smtp_mail_transaction_invalid"));

	free(run_all(bdat_next_mail, sizeof(bdat_next_mail) / sizeof(bdat_next_mail[0])));
	assert_int_equal(count_stream("smtp"), 2);
	r = nth("smtp", 0);
	assert_string_equal(fld(r, "mailfrom"), "a@b.c");
	assert_string_equal(fld(r, "subject"), "1");
	assert_string_equal(fld(r, "last_reply"), "250 queued 1");
	r = nth("smtp", 1);
	assert_string_equal(fld(r, "mailfrom"), "x@y.z");
	assert_string_equal(fld(r, "subject"), "2");
	assert_string_equal(fld(r, "last_reply"), "250 queued 2");
	assert_string_equal(fld(r, "trans_depth"), "2");

	free(run_all(bdat_two_pipelined,
		     sizeof(bdat_two_pipelined) / sizeof(bdat_two_pipelined[0])));
	assert_int_equal(count_stream("smtp"), 2);
	r = nth("smtp", 0);
	assert_string_equal(fld(r, "subject"), "1");
	assert_string_equal(fld(r, "last_reply"), "250 queued 1");
	r = nth("smtp", 1);
	assert_string_equal(fld(r, "mailfrom"), "x@y.z");
	assert_string_equal(fld(r, "subject"), "2");
	assert_string_equal(fld(r, "last_reply"), "250 queued 2");
	assert_string_equal(fld(r, "trans_depth"), "2");
}

/* RSET, MAIL FROM, RCPT TO and DATA pipelined after "." (RFC 2920's group, suricata-verify's
 * smtp-pipelined-post-data-rset-sequence): the reply to "." comes while the second message
 * is open. Zeek's analyzer sets its state to READY at that reply: the message's lines were
 * read as commands (its body's MAIL FROM and RCPT TO a forged transaction, no entity). */
static const struct seg data_after_eod_reply[] = {
    S("220 mx\r\n"),
    C("EHLO c\r\n"),
    S("250-mx\r\n250 PIPELINING\r\n"),
    C("MAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\n"),
    S("250 a\r\n250 b\r\n354 go\r\n"),
    C("Subject: 1\r\n\r\none\r\n.\r\nRSET\r\nMAIL FROM:<x@y.z>\r\nRCPT TO:<u@v.w>\r\nDATA\r\n"),
    S("250 queued 1\r\n250 reset\r\n250 c\r\n250 d\r\n354 go\r\n"),
    C("Subject: 2\r\n\r\nMAIL FROM:<forged@evil.example>\r\nRCPT TO:<forged@evil.example>\r\n"
      ".\r\n"),
    S("250 queued 2\r\n"),
    C("QUIT\r\n"),
    S("221 bye\r\n"),
};

static void test_data_after_eod_reply(void **state)
{
	(void)state;
	free(run_all(data_after_eod_reply,
		     sizeof(data_after_eod_reply) / sizeof(data_after_eod_reply[0])));
	/* one file per message, the second's body whole */
	assert_int_equal(count_stream("files"), 2);
	assert_string_equal(fld(nth("files", 1), "seen_bytes"), "64");
	for (int i = 0; i < count_stream("smtp"); i++)
		assert_string_not_equal(fld(nth("smtp", i), "mailfrom"), "forged@evil.example");
}

/* The DATA twin of bdat_next_mail: the next MAIL FROM pipelined after "." (RFC 2920 allows
 * it), before the reply to "." (suricata-verify's ruletype-firewall-139). Zeek wrote the
 * first record at that MAIL FROM (last_reply the 354), the "." reply closed the second
 * envelope's record (without RCPT TO or message), and the second message went to a third
 * record without MAIL FROM. Each message has an attachment: its fuid is its record's. */
#define PD_MSG(n)                                                                                  \
	"Subject: " n "\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\n\r\ntext\r\n"   \
	"--B\r\nContent-Disposition: attachment; filename=" n ".bin\r\n\r\nbin " n "\r\n--B--\r\n"
static const struct seg data_next_mail[] = {
    S("220 mx\r\n"),
    C("EHLO c\r\n"),
    S("250-mx\r\n250 PIPELINING\r\n"),
    C("MAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\n"),
    S("250 a\r\n250 b\r\n354 go\r\n"),
    C(PD_MSG("1") ".\r\nMAIL FROM:<x@y.z>\r\n"),
    S("250 queued 1\r\n250 c\r\n"),
    C("RCPT TO:<u@v.w>\r\nDATA\r\n"),
    S("250 d\r\n354 go\r\n"),
    C(PD_MSG("2") ".\r\n"),
    S("250 queued 2\r\n"),
    C("QUIT\r\n"),
    S("221 bye\r\n"),
};

/* RSET, MAIL FROM, RCPT TO and DATA pipelined after "." (suricata-verify's
 * smtp-pipelined-post-data-rset-sequence; test_data_after_eod_reply), with a multi-line
 * reply to each ".": the record is written at the reply's last line, which is its
 * last_reply (Zeek wrote the record at every line of a reply to "."). */
static const struct seg data_rset_seq[] = {
    S("220 mx\r\n"),
    C("EHLO c\r\n"),
    S("250-mx\r\n250 PIPELINING\r\n"),
    C("MAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\n"),
    S("250 a\r\n250 b\r\n354 go\r\n"),
    C(PD_MSG("1") ".\r\nRSET\r\nMAIL FROM:<x@y.z>\r\nRCPT TO:<u@v.w>\r\nDATA\r\n"),
    S("250-queued 1\r\n250 as X\r\n250 reset\r\n250 c\r\n250 d\r\n354 go\r\n"),
    C("Subject: 2\r\n\r\nMAIL FROM:<forged@evil.example>\r\nRCPT TO:<forged@evil.example>\r\n"
      ".\r\n"),
    S("250-queued 2\r\n250 as Y\r\n"),
    C("QUIT\r\n"),
    S("221 bye\r\n"),
};

/* The reply to "." never comes: the held record is written at the end, before the next. */
static const struct seg data_next_noreply[] = {
    S("220 mx\r\n"),
    C("EHLO c\r\n"),
    S("250-mx\r\n250 PIPELINING\r\n"),
    C("MAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\n"),
    S("250 a\r\n250 b\r\n354 go\r\n"),
    C("Subject: 1\r\n\r\n.\r\nMAIL FROM:<x@y.z>\r\nRCPT TO:<u@v.w>\r\n"),
};

/* No reply at all (a one-sided capture, Zeek's smtp-one-side-only): none can be awaited,
 * the record is written at the MAIL FROM and trans_depth stays 1, as in Zeek; BDAT too. */
static const struct seg data_one_sided[] = {
    C("EHLO c\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\nSubject: 1\r\n\r\n.\r\n"
      "MAIL FROM:<x@y.z>\r\nRCPT TO:<u@v.w>\r\nDATA\r\nSubject: 2\r\n\r\n.\r\nQUIT\r\n"),
};
static const struct seg bdat_one_sided[] = {
    C("EHLO c\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nBDAT 14 LAST\r\nSubject: 1\r\n\r\n"
      "MAIL FROM:<x@y.z>\r\nRCPT TO:<u@v.w>\r\nBDAT 14 LAST\r\nSubject: 2\r\n\r\nQUIT\r\n"),
};

/* A receiver's gap takes the reply to ".": the held record is written then (its last reply
 * the 354), and the second message, its DATA answered after the gap, has its own record. */
static const struct seg data_next_srvgap[] = {
    S("220 mx\r\n"),
    C("EHLO c\r\n"),
    S("250-mx\r\n250 PIPELINING\r\n"),
    C("MAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\n"),
    S("250 a\r\n250 b\r\n354 go\r\n"),
    C("Subject: 1\r\n\r\n.\r\nMAIL FROM:<x@y.z>\r\nRCPT TO:<u@v.w>\r\n"),
    GAP(MT_RESP, 14),
    S("250 c\r\n250 d\r\n"),
    C("DATA\r\n"),
    S("354 go\r\n"),
    C("Subject: 2\r\n\r\n.\r\n"),
    S("250 queued 2\r\n"),
    C("QUIT\r\n"),
    S("221 bye\r\n"),
};

/* Receivers' gaps while the sender is in DATA (the analyzer is in DATA from the DATA
 * command on). Zeek ends the message at any gap and counts the receiver's lost bytes as the
 * message's missing bytes. Here: after the 354, the message goes on whole (the body's
 * MAIL FROM/RCPT TO lines stay message text); */
static const struct seg data_srvgap_mid[] = {
    S("220 mx\r\n"),
    C("EHLO c\r\n"),
    S("250-mx\r\n250 PIPELINING\r\n"),
    C("MAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\n"),
    S("250 a\r\n250 b\r\n354 go\r\n"),
    C("Subject: m\r\n\r\nline1\r\n"),
    GAP(MT_RESP, 20),
    C("MAIL FROM:<forged@x.y>\r\nRCPT TO:<forged@x.y>\r\nline3\r\n.\r\n"),
    S("250 queued\r\n"),
    C("QUIT\r\n"),
    S("221 bye\r\n"),
};

/* the DATA pipelined after "." with its envelope, the gap over the replies before its 354:
 * the 354 resumes the message (Zeek begins another one: a file of the receiver's 14 missing
 * bytes, the message's headers lost, as the empty entity came first); */
static const struct seg data_srvgap_pipelined[] = {
    S("220 mx\r\n"),
    C("EHLO c\r\n"),
    S("250-mx\r\n250 PIPELINING\r\n"),
    C("MAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\n"),
    S("250 a\r\n250 b\r\n354 go\r\n"),
    C("Subject: 1\r\n\r\nbody1\r\n.\r\nMAIL FROM:<x@y.z>\r\nRCPT TO:<u@v.w>\r\nDATA\r\n"),
    GAP(MT_RESP, 14),
    S("250 c\r\n250 d\r\n354 go\r\n"),
    C("Subject: 2\r\n\r\nbody2\r\n.\r\n"),
    S("250 queued 2\r\n"),
    C("QUIT\r\n"),
    S("221 bye\r\n"),
};

/* the 354 lost in the gap: the sender's next line ends the message as at Zeek's gap, lines
 * are ignored up to the next reply (the message is lost, as in Zeek, but nothing of it
 * makes a transaction); */
static const struct seg data_srvgap_354_lost[] = {
    S("220 mx\r\n"),
    C("EHLO c\r\n"),
    S("250-mx\r\n250 PIPELINING\r\n"),
    C("MAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\n"),
    GAP(MT_RESP, 22),
    C("Subject: 3\r\n\r\nMAIL FROM:<forged@x.y>\r\nRCPT TO:<forged@x.y>\r\n.\r\n"),
    S("250 queued\r\n"),
    C("QUIT\r\n"),
    S("221 bye\r\n"),
};

/* the DATA refused in the gap: the sender's RSET and next envelope are not message text
 * (the RSET ends the message; the envelope is ignored up to the next reply, as in Zeek), the
 * next message is whole, without a file of the receiver's missing bytes. */
static const struct seg data_srvgap_refused[] = {
    S("220 mx\r\n"),
    C("EHLO c\r\n"),
    S("250-mx\r\n250 PIPELINING\r\n"),
    C("MAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\n"),
    GAP(MT_RESP, 40),
    C("RSET\r\n"),
    S("250 reset\r\n"),
    C("MAIL FROM:<x@y.z>\r\nRCPT TO:<u@v.w>\r\nDATA\r\n"),
    S("250 c\r\n250 d\r\n354 go\r\n"),
    C("Subject: 4\r\n\r\nbody4\r\n.\r\n"),
    S("250 queued 4\r\n"),
    C("QUIT\r\n"),
    S("221 bye\r\n"),
};

/* The receiver's side lost after the 354 up to the end (acknowledged, never seen): the
 * message is whole, the record written at the end; */
static const struct seg data_srvgap_tail[] = {
    S("220 mx\r\n"),
    C("EHLO c\r\n"),
    S("250-mx\r\n250 PIPELINING\r\n"),
    C("MAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\n"),
    S("250 a\r\n250 b\r\n354 go\r\n"),
    C("Subject: t\r\n\r\nline1\r\n"),
    GAP(MT_RESP, 20),
    C("line2\r\n.\r\nQUIT\r\n"),
    GAP(MT_RESP, 20),
};

/* a gap after ".", before its reply: the message had ended, Zeek's way (nothing changes). */
static const struct seg data_srvgap_after_eod[] = {
    S("220 mx\r\n"),
    C("EHLO c\r\n"),
    S("250-mx\r\n250 PIPELINING\r\n"),
    C("MAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\n"),
    S("250 a\r\n250 b\r\n354 go\r\n"),
    C("Subject: e\r\n\r\nline1\r\n.\r\n"),
    GAP(MT_RESP, 12),
    C("QUIT\r\n"),
    S("221 bye\r\n"),
};

static void test_data_srvgap(void **state)
{
	const char *r, *f;

	(void)state;
	free(run_all(data_srvgap_mid, sizeof(data_srvgap_mid) / sizeof(data_srvgap_mid[0])));
	assert_int_equal(count_stream("smtp"), 1);
	r = nth("smtp", 0);
	assert_string_equal(fld(r, "mailfrom"), "a@b.c");
	assert_string_equal(fld(r, "subject"), "m");
	assert_string_equal(fld(r, "last_reply"), "250 queued");
	assert_int_equal(count_stream("files"), 1);
	f = nth("files", 0);
	assert_string_equal(fld(r, "fuids"), fld(f, "fuid"));
	assert_string_equal(fld(f, "missing_bytes"), "0");
	/* line1, the two envelope lines and line3, CRLF each */
	assert_string_equal(fld(f, "seen_bytes"), "60");
	assert_false(has_weird("smtp_unmatched_end_of_data"));

	free(run_all(data_srvgap_pipelined,
		     sizeof(data_srvgap_pipelined) / sizeof(data_srvgap_pipelined[0])));
	assert_int_equal(count_stream("smtp"), 2);
	r = nth("smtp", 1);
	assert_string_equal(fld(r, "mailfrom"), "x@y.z");
	assert_string_equal(fld(r, "subject"), "2");
	assert_string_equal(fld(r, "last_reply"), "250 queued 2");
	assert_int_equal(count_stream("files"), 2);
	f = nth("files", 1);
	assert_string_equal(fld(r, "fuids"), fld(f, "fuid"));
	assert_string_equal(fld(f, "missing_bytes"), "0");
	assert_string_equal(fld(f, "seen_bytes"), "7");
	assert_false(has_weird("smtp_nested_mail_transaction"));

	free(run_all(data_srvgap_354_lost,
		     sizeof(data_srvgap_354_lost) / sizeof(data_srvgap_354_lost[0])));
	assert_int_equal(count_stream("smtp"), 1);
	r = nth("smtp", 0);
	assert_string_equal(fld(r, "mailfrom"), "a@b.c");
	assert_string_equal(fld(r, "rcptto"), "d@e.f");
	assert_int_equal(count_stream("files"), 0);

	free(run_all(data_srvgap_refused,
		     sizeof(data_srvgap_refused) / sizeof(data_srvgap_refused[0])));
	assert_int_equal(count_stream("files"), 1);
	f = nth("files", 0);
	assert_string_equal(fld(f, "missing_bytes"), "0");
	assert_string_equal(fld(f, "seen_bytes"), "7");
	for (int k = 0; k < count_stream("smtp"); k++)
		assert_null(strstr(fld(nth("smtp", k), "mailfrom"), "forged"));
	r = nth("smtp", count_stream("smtp") - 1);
	assert_string_equal(fld(r, "last_reply"), "250 queued 4");
	assert_non_null(strstr(fld(r, "fuids"), fld(f, "fuid")));

	free(run_all(data_srvgap_tail, sizeof(data_srvgap_tail) / sizeof(data_srvgap_tail[0])));
	assert_int_equal(count_stream("smtp"), 1);
	r = nth("smtp", 0);
	assert_string_equal(fld(r, "subject"), "t");
	assert_string_equal(fld(r, "last_reply"), "354 go");
	assert_int_equal(count_stream("files"), 1);
	f = nth("files", 0);
	assert_string_equal(fld(f, "missing_bytes"), "0");
	assert_string_equal(fld(f, "seen_bytes"), "14");

	free(run_all(data_srvgap_after_eod,
		     sizeof(data_srvgap_after_eod) / sizeof(data_srvgap_after_eod[0])));
	assert_int_equal(count_stream("smtp"), 1);
	assert_string_equal(fld(nth("smtp", 0), "subject"), "e");
	assert_int_equal(count_stream("files"), 1);
	f = nth("files", 0);
	assert_string_equal(fld(f, "missing_bytes"), "0");
	assert_string_equal(fld(f, "seen_bytes"), "7");
}

/* Whole messages pipelined before any reply (several BDAT LAST messages; DATA without
 * waiting for its 354, beyond RFC 2920): each record waits for the reply to its own end
 * (up to lim.max_held, 8 by default, of them held; one held record only wrote the first
 * at the third MAIL FROM with the EHLO's reply as last_reply). */
static const struct seg held_bdat3[] = {
    S("220 mx\r\n"),
    C("EHLO c\r\n"),
    S("250-mx\r\n250-PIPELINING\r\n250 CHUNKING\r\n"),
    C("MAIL FROM:<a1@b.c>\r\nRCPT TO:<d@e.f>\r\nBDAT 14 LAST\r\nSubject: 1\r\n\r\n"
      "MAIL FROM:<a2@b.c>\r\nRCPT TO:<d@e.f>\r\nBDAT 14 LAST\r\nSubject: 2\r\n\r\n"
      "MAIL FROM:<a3@b.c>\r\nRCPT TO:<d@e.f>\r\nBDAT 14 LAST\r\nSubject: 3\r\n\r\n"),
    S("250 a1\r\n250 r1\r\n250 m1\r\n250 a2\r\n250 r2\r\n554 m2\r\n250 a3\r\n250 r3\r\n250 m3\r\n"),
    C("QUIT\r\n"),
    S("221 bye\r\n"),
};

static const struct seg held_data3[] = {
    S("220 mx\r\n"),
    C("EHLO c\r\n"),
    S("250-mx\r\n250 PIPELINING\r\n"),
    C("MAIL FROM:<a1@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\nSubject: 1\r\n\r\nx\r\n.\r\n"
      "MAIL FROM:<a2@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\nSubject: 2\r\n\r\nx\r\n.\r\n"
      "MAIL FROM:<a3@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\nSubject: 3\r\n\r\nx\r\n.\r\n"),
    S("250 a1\r\n250 r1\r\n354 g1\r\n250 m1\r\n250 a2\r\n250 r2\r\n354 g2\r\n554 m2\r\n"
      "250 a3\r\n250 r3\r\n354 g3\r\n250-m3\r\n250 m3 end\r\n"),
    C("QUIT\r\n"),
    S("221 bye\r\n"),
};

static void test_held_records(void **state)
{
	static char cli[2048], srv[2048];
	struct seg over[] = {S("220 mx\r\n"), C("EHLO c\r\n"),
			     S("250-mx\r\n250-PIPELINING\r\n250 CHUNKING\r\n"), C(cli), S(srv),
			     C("QUIT\r\n"), S("221 bye\r\n")};
	const char *last3[] = {"250 m1", "554 m2", "250 m3"};
	const char *last3d[] = {"250 m1", "554 m2", "250 m3 end"};
	char want[32];
	size_t cn = 0, sn = 0;
	const char *r;

	(void)state;
	free(run_all(held_bdat3, sizeof(held_bdat3) / sizeof(held_bdat3[0])));
	assert_int_equal(count_stream("smtp"), 3);
	for (int k = 0; k < 3; k++) {
		r = nth("smtp", k);
		snprintf(want, sizeof(want), "a%d@b.c", k + 1);
		assert_string_equal(fld(r, "mailfrom"), want);
		snprintf(want, sizeof(want), "%d", k + 1);
		assert_string_equal(fld(r, "subject"), want);
		assert_string_equal(fld(r, "trans_depth"), want);
		assert_string_equal(fld(r, "last_reply"), last3[k]);
	}
	assert_false(has_weird("smtp_too_many_held_records"));

	/* lim.max_held 1: the second hold writes the first record early (its last_reply the
	 * one before its MAIL FROM), with the weird; 0: each at the next MAIL FROM, as Zeek */
	for (uint32_t mh = 0; mh <= 1; mh++) {
		g_cfg.lim.max_held = mh;
		free(run_all(held_bdat3, sizeof(held_bdat3) / sizeof(held_bdat3[0])));
		g_cfg.lim.max_held = 8;
		assert_int_equal(count_stream("smtp"), 3);
		assert_string_equal(fld(nth("smtp", 0), "last_reply"), "250 CHUNKING");
		if (mh == 1)
			assert_string_equal(fld(nth("smtp", 1), "last_reply"), "554 m2");
		assert_string_equal(fld(nth("smtp", 2), "last_reply"), "250 m3");
		for (int k = 0; k < 3; k++) {
			snprintf(want, sizeof(want), "%d", k + 1);
			assert_string_equal(fld(nth("smtp", k), "subject"), want);
			assert_string_equal(fld(nth("smtp", k), "trans_depth"), want);
		}
		assert_int_equal(has_weird("smtp_too_many_held_records"), mh == 1);
	}

	free(run_all(held_data3, sizeof(held_data3) / sizeof(held_data3[0])));
	assert_int_equal(count_stream("smtp"), 3);
	for (int k = 0; k < 3; k++) {
		r = nth("smtp", k);
		snprintf(want, sizeof(want), "%d", k + 1);
		assert_string_equal(fld(r, "subject"), want);
		assert_string_equal(fld(r, "trans_depth"), want);
		assert_string_equal(fld(r, "last_reply"), last3d[k]);
	}

	/* ten: the ninth hold writes the oldest early (the weird counts it); the others get
	 * their own replies */
	for (int k = 1; k <= 10; k++) {
		cn += (size_t)snprintf(cli + cn, sizeof(cli) - cn,
				       "MAIL FROM:<a%d@b.c>\r\nRCPT TO:<d@e.f>\r\nBDAT 15 LAST\r\n"
				       "Subject: %02d\r\n\r\n",
				       k, k);
		sn += (size_t)snprintf(srv + sn, sizeof(srv) - sn, "250 a%d\r\n250 r%d\r\n250 m%d\r\n",
				       k, k, k);
	}
	free(run_all(over, sizeof(over) / sizeof(over[0])));
	assert_int_equal(count_stream("smtp"), 10);
	assert_string_equal(fld(find_weird("smtp_too_many_held_records"), "source"), "SMTP");
	r = nth("smtp", 0);
	assert_string_equal(fld(r, "mailfrom"), "a1@b.c");
	assert_string_equal(fld(r, "last_reply"), "250 CHUNKING");
	for (int k = 1; k < 10; k++) {
		r = nth("smtp", k);
		snprintf(want, sizeof(want), "a%d@b.c", k + 1);
		assert_string_equal(fld(r, "mailfrom"), want);
		snprintf(want, sizeof(want), "250 m%d", k + 1);
		assert_string_equal(fld(r, "last_reply"), want);
	}
}

/* A message without MAIL FROM or RCPT TO is not logged (no client activity); pipelined
 * before its reply, Zeek merged it with the next envelope: its subject in a record of the
 * next MAIL FROM closed by its reply, the next message in a record without MAIL FROM. */
static const struct seg data_next_no_activity[] = {
    S("220 mx\r\n"),
    C("EHLO c\r\n"),
    S("250-mx\r\n250 PIPELINING\r\n"),
    C("DATA\r\n"),
    S("354 go\r\n"),
    C("Subject: 0\r\n\r\n.\r\nMAIL FROM:<x@y.z>\r\nRCPT TO:<u@v.w>\r\nDATA\r\n"),
    S("250 queued 0\r\n250 c\r\n250 d\r\n354 go\r\n"),
    C("Subject: 2\r\n\r\n.\r\n"),
    S("250 queued 2\r\n"),
};

/* The pending queue overflows (max_pending_cmds 3) while a record is held: it is written
 * then (the reply to its "." is gone with the queue), the second at its own reply. */
static const struct seg data_next_overflow[] = {
    S("220 mx\r\n"),
    C("EHLO c\r\n"),
    S("250-mx\r\n250 PIPELINING\r\n"),
    C("MAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\n"),
    S("250 a\r\n250 b\r\n354 go\r\n"),
    C("Subject: 1\r\n\r\n.\r\nMAIL FROM:<x@y.z>\r\nNOOP\r\nNOOP\r\nNOOP\r\nRCPT TO:<u@v.w>\r\n"),
    S("250 c\r\n250 d\r\n"),
    C("DATA\r\n"),
    S("354 go\r\n"),
    C("Subject: 2\r\n\r\n.\r\n"),
    S("250 queued 2\r\n"),
};

static void test_data_next_mail(void **state)
{
	const char *r;

	(void)state;
	free(run_all(data_next_mail, sizeof(data_next_mail) / sizeof(data_next_mail[0])));
	assert_int_equal(count_stream("smtp"), 2);
	assert_int_equal(count_stream("files"), 4);
	r = nth("smtp", 0);
	assert_string_equal(fld(r, "mailfrom"), "a@b.c");
	assert_string_equal(fld(r, "subject"), "1");
	assert_string_equal(fld(r, "last_reply"), "250 queued 1");
	assert_string_equal(fld(r, "trans_depth"), "1");
	assert_non_null(strstr(fld(r, "fuids"), fld(nth("files", 1), "fuid")));
	r = nth("smtp", 1);
	assert_string_equal(fld(r, "mailfrom"), "x@y.z");
	assert_string_equal(fld(r, "rcptto"), "u@v.w");
	assert_string_equal(fld(r, "subject"), "2");
	assert_string_equal(fld(r, "last_reply"), "250 queued 2");
	assert_string_equal(fld(r, "trans_depth"), "2");
	assert_non_null(strstr(fld(r, "fuids"), fld(nth("files", 3), "fuid")));
	assert_string_equal(fld(nth("files", 3), "filename"), "2.bin");

	free(run_all(data_rset_seq, sizeof(data_rset_seq) / sizeof(data_rset_seq[0])));
	assert_int_equal(count_stream("smtp"), 2);
	r = nth("smtp", 0);
	assert_string_equal(fld(r, "subject"), "1");
	assert_string_equal(fld(r, "last_reply"), "250 as X");
	r = nth("smtp", 1);
	assert_string_equal(fld(r, "mailfrom"), "x@y.z");
	assert_string_equal(fld(r, "rcptto"), "u@v.w");
	assert_string_equal(fld(r, "subject"), "2");
	assert_string_equal(fld(r, "last_reply"), "250 as Y");
	assert_string_equal(fld(r, "trans_depth"), "2");

	free(run_all(data_next_noreply, sizeof(data_next_noreply) / sizeof(data_next_noreply[0])));
	assert_int_equal(count_stream("smtp"), 2);
	r = nth("smtp", 0);
	assert_string_equal(fld(r, "subject"), "1");
	assert_string_equal(fld(r, "last_reply"), "354 go");
	r = nth("smtp", 1);
	assert_string_equal(fld(r, "mailfrom"), "x@y.z");
	assert_string_equal(fld(r, "trans_depth"), "2");

	free(run_all(data_one_sided, sizeof(data_one_sided) / sizeof(data_one_sided[0])));
	assert_int_equal(count_stream("smtp"), 2);
	assert_string_equal(fld(nth("smtp", 0), "subject"), "1");
	assert_string_equal(fld(nth("smtp", 1), "subject"), "2");
	assert_string_equal(fld(nth("smtp", 1), "trans_depth"), "1");
	free(run_all(bdat_one_sided, sizeof(bdat_one_sided) / sizeof(bdat_one_sided[0])));
	assert_int_equal(count_stream("smtp"), 2);
	assert_string_equal(fld(nth("smtp", 0), "subject"), "1");
	assert_string_equal(fld(nth("smtp", 1), "subject"), "2");
	assert_string_equal(fld(nth("smtp", 1), "trans_depth"), "1");

	free(run_all(data_next_srvgap, sizeof(data_next_srvgap) / sizeof(data_next_srvgap[0])));
	assert_int_equal(count_stream("smtp"), 2);
	r = nth("smtp", 0);
	assert_string_equal(fld(r, "subject"), "1");
	assert_string_equal(fld(r, "last_reply"), "354 go");
	r = nth("smtp", 1);
	assert_string_equal(fld(r, "mailfrom"), "x@y.z");
	assert_string_equal(fld(r, "subject"), "2");
	assert_string_equal(fld(r, "last_reply"), "250 queued 2");
	assert_string_equal(fld(r, "trans_depth"), "2");

	free(run_all(data_next_no_activity,
		     sizeof(data_next_no_activity) / sizeof(data_next_no_activity[0])));
	assert_int_equal(count_stream("smtp"), 1);
	r = nth("smtp", 0);
	assert_string_equal(fld(r, "mailfrom"), "x@y.z");
	assert_string_equal(fld(r, "subject"), "2");
	assert_string_equal(fld(r, "last_reply"), "250 queued 2");
	assert_string_equal(fld(r, "trans_depth"), "2");

	g_cfg.lim.max_pending_cmds = 3;
	free(run_all(data_next_overflow, sizeof(data_next_overflow) / sizeof(data_next_overflow[0])));
	g_cfg.lim.max_pending_cmds = 1000;
	assert_true(has_weird("smtp_excessive_pending_cmds"));
	assert_int_equal(count_stream("smtp"), 2);
	assert_string_equal(fld(nth("smtp", 0), "subject"), "1");
	assert_string_equal(fld(nth("smtp", 0), "last_reply"), "354 go");
	r = nth("smtp", 1);
	assert_string_equal(fld(r, "mailfrom"), "x@y.z");
	assert_string_equal(fld(r, "subject"), "2");
	assert_string_equal(fld(r, "last_reply"), "250 queued 2");
}

/* BDAT line framing weirds come from Zeek's SMTP_BDAT_Analyzer: source "SMTP_BDAT";
 * smtp_bdat_line_too_long's addl is the size of its buffer then: the partial line carried
 * over and the delivery's chunk bytes (BDAT.cc). Chunk lines (max_line 10): the first chunk
 * ends with "ab\r", the second starts with "c" (a CR alone: cr_only), "c\n" (lf_only), then a
 * 15-byte line (too_long, 0 + 30 bytes). Fed whole: the CR-only weird and the addl depend on
 * the segmentation, in Zeek too. */
static const struct seg bdat_lines[] = {
    S("220 mx\r\n"),
    C("EHLO c\r\n"),
    S("250-mx\r\n250 CHUNKING\r\n"),
    C("MAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nBDAT 17\r\nSubject: x\r\n\r\nab\r"),
    C("BDAT 30 LAST\r\nc\n123456789012345\r\nxyzxyzxyz\r\n"),
    S("250 a\r\n250 b\r\n250 c\r\n250 d\r\n"),
};

/* The too-long line starts in the first chunk: 8 bytes carried, 6 delivered. */
static const struct seg bdat_carried[] = {
    S("220 mx\r\n"),
    C("EHLO c\r\n"),
    S("250-mx\r\n250 CHUNKING\r\n"),
    C("MAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nBDAT 8\r\n12345678"),
    C("BDAT 6 LAST\r\n90abc\n"),
    S("250 a\r\n250 b\r\n250 c\r\n250 d\r\n"),
};

/* A line of max_line bytes whose CR ends the feed (the LF starts the next chunk): BDAT.cc
 * finds no CRLF in that delivery and cuts the line there (smtp_bdat_line_too_long, addl its
 * 25-byte buffer); the CR then meets its LF as an empty line. */
static const struct seg bdat_cr_at_max[] = {
    S("220 mx\r\n"),
    C("EHLO c\r\n"),
    S("250-mx\r\n250 CHUNKING\r\n"),
    C("MAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nBDAT 25\r\nSubject: x\r\n\r\n0123456789\r"),
    C("BDAT 7 LAST\r\n\nnext\r\n"),
    S("250 a\r\n250 b\r\n250 c\r\n250 d\r\n"),
};

static void test_bdat_line_weirds(void **state)
{
	const char *w;

	(void)state;
	g_cfg.mime.max_line = 10;
	free(run(bdat_lines, sizeof(bdat_lines) / sizeof(bdat_lines[0]), 0, 0));
	w = weird_rec("smtp_bdat_line_cr_only");
	assert_string_equal(fld(w, "source"), "SMTP_BDAT");
	assert_string_equal(fld(w, "addl"), "-");
	w = weird_rec("smtp_bdat_line_lf_only");
	assert_string_equal(fld(w, "source"), "SMTP_BDAT");
	w = weird_rec("smtp_bdat_line_too_long");
	assert_string_equal(fld(w, "source"), "SMTP_BDAT");
	assert_string_equal(fld(w, "addl"), "30");
	free(run(bdat_carried, sizeof(bdat_carried) / sizeof(bdat_carried[0]), 0, 0));
	w = weird_rec("smtp_bdat_line_too_long");
	assert_string_equal(fld(w, "addl"), "14");
	assert_string_equal(fld(w, "source"), "SMTP_BDAT");
	assert_string_equal(fld(weird_rec("smtp_bdat_line_lf_only"), "source"), "SMTP_BDAT");
	free(run(bdat_cr_at_max, sizeof(bdat_cr_at_max) / sizeof(bdat_cr_at_max[0]), 0, 0));
	w = weird_rec("smtp_bdat_line_too_long");
	assert_string_equal(fld(w, "addl"), "25");
	assert_false(has_weird("smtp_bdat_line_cr_only"));
	assert_false(has_weird("smtp_bdat_line_lf_only"));
}

static int mime_line_reset(void **state)
{
	(void)state;
	g_cfg.mime.max_line = 0;
	return 0;
}

/* AUTH LOGIN without the 334 challenges: a one-sided capture, and answers pipelined before
 * the replies. The base64 name and password ("user", "S3cret-Passw0rd") are unknown commands
 * to Zeek, whose smtp_unexpected gives them verbatim; the events give their length only,
 * until the final reply or another command ends the exchange. */
static const struct seg auth_one_side[] = {
    C("EHLO c\r\nAUTH LOGIN\r\ndXNlcg==\r\nUzNjcmV0LVBhc3N3MHJk\r\n"
      "MAIL FROM:<a@b.c>\r\nXYZZY now\r\n"),
};

static const struct seg auth_pipelined[] = {
    S("220 mx\r\n"),
    C("EHLO c\r\n"),
    S("250-mx\r\n250 AUTH LOGIN PLAIN\r\n"),
    C("AUTH LOGIN\r\ndXNlcg==\r\nUzNjcmV0LVBhc3N3MHJk\r\n"),
    S("334 VXNlcm5hbWU6\r\n334 UGFzc3dvcmQ6\r\n235 ok\r\n"),
};

/* The initial response on a line of its own, refused: the reply to AUTH ends the exchange. */
static const struct seg auth_refused[] = {
    S("220 mx\r\n"),
    C("EHLO c\r\n"),
    S("250-mx\r\n250 AUTH LOGIN PLAIN\r\n"),
    C("AUTH PLAIN\r\nAHVzZXIAUzNjcmV0LVBhc3N3MHJk\r\n"),
    S("535 no\r\n"),
    C("XYZZY now\r\n"),
};

static void test_auth_unknown_redacted(void **state)
{
	char *all;

	(void)state;
	g_cfg.events = true;
	all = run_all(auth_one_side, sizeof(auth_one_side) / sizeof(auth_one_side[0]));
	assert_null(strstr(all, "UzNjcmV0"));
	assert_null(strstr(all, "dXNlcg"));
	assert_non_null(strstr(all, "|msg=unknown command|detail=<redacted: 8 bytes>"));
	assert_non_null(strstr(all, "|msg=unknown command|detail=<redacted: 20 bytes>"));
	/* MAIL ends it */
	assert_non_null(strstr(all, "|msg=unknown command|detail=XYZZY"));
	free(all);
	all = run_all(auth_pipelined, sizeof(auth_pipelined) / sizeof(auth_pipelined[0]));
	assert_null(strstr(all, "UzNjcmV0"));
	assert_null(strstr(all, "dXNlcg"));
	assert_non_null(strstr(all, "|detail=<redacted: 8 bytes>"));
	assert_non_null(strstr(all, "|detail=<redacted: 20 bytes>"));
	free(all);
	all = run_all(auth_refused, sizeof(auth_refused) / sizeof(auth_refused[0]));
	assert_null(strstr(all, "AHVzZXIA"));
	assert_non_null(strstr(all, "|msg=unknown command|detail=<redacted: 28 bytes>"));
	assert_non_null(strstr(all, "|msg=unknown command|detail=XYZZY"));
	free(all);
	/* events_show_auth: Zeek's events, the words as sent */
	g_cfg.events_show_auth = true;
	all = run_all(auth_one_side, sizeof(auth_one_side) / sizeof(auth_one_side[0]));
	assert_non_null(strstr(all, "|msg=unknown command|detail=UzNjcmV0LVBhc3N3MHJk"));
	free(all);
}

static int events_off(void **state)
{
	(void)state;
	g_cfg.events = false;
	g_cfg.events_show_auth = false;
	return 0;
}

/* Limits: rcptto set size and the invalid-transaction cap. */
static void test_limits(void **state)
{
	struct tconn *c;
	char line[64];

	(void)state;
	env_init();
	g_cfg.lim.max_rcptto = 3;
	g_cfg.lim.max_invalid_tx = 2;
	c = tconn_new("10.0.0.1", 40003, "10.0.0.2", 25);
	tfeed(c, MT_ORIG, (const uint8_t *)"HELO c\r\nMAIL FROM:<a@b.c>\r\n", 27, 1);
	for (int i = 0; i < 5; i++) {
		snprintf(line, sizeof(line), "RCPT TO:<r%d@x.y>\r\n", i);
		tfeed(c, MT_ORIG, (const uint8_t *)line, strlen(line), 2);
	}
	/* BDAT without RCPT: "data missing rcpt to", three times > 2 */
	for (int i = 0; i < 3; i++)
		tfeed(c, MT_ORIG, (const uint8_t *)"MAIL FROM:<a@b.c>\r\nBDAT 0\r\n", 27, 3);
	tconn_finish(c, 4);
	g_cfg.lim.max_rcptto = 1000;
	g_cfg.lim.max_invalid_tx = 25;
	assert_true(has_weird("smtp_too_many_rcptto_addresses"));
	assert_true(has_weird("smtp_excessive_invalid_mail_transactions"));
	assert_string_equal(fld(nth("smtp", 0), "rcptto"), "r0@x.y,r1@x.y,r2@x.y");
}

/* Long rcptto, to and cc addresses keep lim.max_address_bytes and one more byte (the log
 * writer cuts them there, with its weird, as it cut them whole), and beyond
 * lim.max_kept_addresses entries none (the log writer writes none of them): 1000 distinct
 * to addresses of 60000 bytes held 60 MB in one transaction (120 MB with cc), now 10 x 101
 * bytes and 990 headers. Addresses that differ only beyond the kept bytes stay apart; a
 * repeated one is one. */
static void feed_str(struct smtp_parser *p, enum mt_dir d, const char *s, uint64_t ts)
{
	assert_int_equal(smtp_parser__feed(p, d, (const uint8_t *)s, strlen(s), ts),
			 (ssize_t)strlen(s));
}

static void test_address_bytes(void **state)
{
	struct smtp_cfg cfg;
	struct conn_id id;
	enum { N = 1000, ALEN = 60000, KEEP = 100, KEPT = 10 };
	char *v = malloc(ALEN + 1), rcpt[2048];

	(void)state;
	assert_non_null(v);
	memset(&id, 0, sizeof(id));
	for (int keep = 0; keep <= 1; keep++) {
		struct smtp_parser *p;
		const struct smtp_tx *tx;
		const char *e = NULL;
		uint32_t len = 0, k = 0;

		smtp_cfg__default(&cfg);
		cfg.lim.max_address_bytes = keep ? KEEP : 0;
		cfg.lim.max_kept_addresses = keep ? KEPT : 0;
		p = smtp_parser__new(&cfg, NULL, &id);
		assert_non_null(p);
		feed_str(p, MT_RESP, "220 mx\r\n", 1);
		feed_str(p, MT_ORIG, "EHLO c\r\n", 2);
		feed_str(p, MT_RESP, "250 mx\r\n", 3);
		feed_str(p, MT_ORIG, "MAIL FROM:<a@b.c>\r\n", 4);
		feed_str(p, MT_RESP, "250 ok\r\n", 5);
		for (int i = 0; i < 3; i++) { /* two alike in their first 1000 bytes, one again */
			memset(rcpt, 'r', sizeof(rcpt));
			memcpy(rcpt, "RCPT TO:<", 9);
			snprintf(rcpt + 1500, sizeof(rcpt) - 1500, "%d@x.y>\r\n", i == 2 ? 0 : i);
			feed_str(p, MT_ORIG, rcpt, 6);
			feed_str(p, MT_RESP, "250 ok\r\n", 7);
		}
		feed_str(p, MT_ORIG, "DATA\r\n", 8);
		feed_str(p, MT_RESP, "354 go\r\n", 9);
		memset(v, 'x', ALEN);
		v[ALEN] = 0;
		for (int i = 0; i <= N; i++) { /* the last one again: not added */
			char tail[16];
			int t = snprintf(tail, sizeof(tail), "%d", i == N ? 0 : i);

			memcpy(v + ALEN - t, tail, (size_t)t); /* apart only at their ends */
			smtp_parser__header(p, "To", 2, v, ALEN, 10);
			smtp_parser__header(p, "Cc", 2, v, ALEN, 10);
		}
		tx = smtp_parser__tx(p);
		assert_non_null(tx);
		assert_int_equal(tx->rcptto.n, 2);
		assert_int_equal(tx->to.n, N);
		assert_int_equal(tx->cc.n, N);
		while ((e = smtp_strset__next(&tx->to, e, &len))) {
			assert_int_equal(len, !keep ? ALEN : k < KEPT ? KEEP + 1 : 0);
			assert_int_equal(e[len], 0);
			k++;
		}
		assert_int_equal(k, N);
		if (keep) /* bounded by the limit, not by what was sent */
			assert_true(tx->to.len + tx->cc.len <=
				    2 * (KEPT * (KEEP + 1) + N * (sizeof(struct smtp_strset_hdr) + 1)));
		smtp_parser__end(p, 11);
		smtp_parser__free(p);
	}
	free(v);
}

/* Over-long command lines are cut at max_line (never buffered beyond it). */
static void test_long_line(void **state)
{
	struct tconn *c;
	uint8_t *big = malloc(10000);

	(void)state;
	assert_non_null(big);
	memset(big, 'A', 10000);
	env_init();
	c = tconn_new("10.0.0.1", 40004, "10.0.0.2", 25);
	for (int i = 0; i < 10000; i += 1000)
		tfeed(c, MT_ORIG, big + i, 1000, 1);
	tfeed(c, MT_ORIG, (const uint8_t *)"\r\nHELO x\r\n", 10, 2);
	tconn_finish(c, 3);
	free(big);
	assert_string_equal(fld(weird_rec("contentline_size_exceeded"), "source"), "CONTENTLINE");
}

/* A message with a 3000-byte base64 attachment and a dot-stuffed line: whole, split at every
 * offset and byte by byte give the same records (run_all), so the bulk paths (SMTP's plain-
 * line scan handing whole lines to MIME's base64 runs, body_lines) agree with the per-byte
 * ones; the attachment's digest and size, and msg_size, are the bytes sent. */
/* A multipart message (DATA, dot-stuffed, ending with ".\r\n") whose second part is raw[]
 * in base64 lines of 76 characters; *msg_end: its size before the final dot line. */
static void bulk_message(struct sbuf *data, const uint8_t *raw, size_t n, size_t *msg_end)
{
	char line[80];

	sb_cstr(data, "Subject: bulk\r\nMIME-Version: 1.0\r\n"
		      "Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
		      "--b1\r\nContent-Type: text/plain\r\n\r\nhello\r\n"
		      "..dot-stuffed\r\n--b1\r\n"
		      "Content-Type: application/octet-stream\r\n"
		      "Content-Disposition: attachment; filename=\"a.bin\"\r\n"
		      "Content-Transfer-Encoding: base64\r\n\r\n");
	for (size_t i = 0; i < n; i += 57) { /* 57 bytes: a 76-character line */
		int k =
		    EVP_EncodeBlock((unsigned char *)line, raw + i, (int)(n - i < 57 ? n - i : 57));

		assert_true(k > 0 && (size_t)k + 2 < sizeof(line));
		sb_put(data, line, (size_t)k);
		sb_cstr(data, "\r\n");
	}
	sb_cstr(data, "--b1--\r\n");
	*msg_end = data->n;
	sb_cstr(data, ".\r\n");
}

static void test_bulk_body(void **state)
{
	uint8_t raw[3000], d[16];
	char want_md5[33], want_size[24], *all;
	struct sbuf data = {0};
	size_t msg_end;
	unsigned dl;
	int found = 0;

	(void)state;
	rand_fill(raw, sizeof(raw), 9);
	bulk_message(&data, raw, sizeof(raw), &msg_end);
	{
		const struct seg segs[] = {
		    S("220 mx\r\n"),
		    C("EHLO c\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\n"),
		    S("250 hi\r\n250 ok\r\n250 ok\r\n354 go\r\n"),
		    {MT_ORIG, data.s, 0},
		    S("250 ok\r\n"),
		    C("QUIT\r\n"),
		    S("221 bye\r\n"),
		};

		all = run_all(segs, sizeof(segs) / sizeof(segs[0]));
	}
	EVP_Digest(raw, sizeof(raw), d, &dl, EVP_md5(), NULL);
	for (int i = 0; i < 16; i++)
		snprintf(want_md5 + 2 * i, 3, "%02x", d[i]);
	for (int k = 0; k < count_stream("files"); k++)
		if (!strcmp(fld(nth("files", k), "seen_bytes"), "3000")) {
			assert_string_equal(fld(nth("files", k), "md5"), want_md5);
			found++;
		}
	assert_int_equal(found, 1);
	snprintf(want_size, sizeof(want_size), "%zu", msg_end - 1); /* one stuffed dot */
	assert_string_equal(fld(nth("smtp", 0), "msg_size"), want_size);
	free(all);
	free(data.s);
}

/* Every allocation of a session failing in turn (alloc_fault.h): the N-th and every one after
 * it fail, for N from 0 until the session needs fewer. The parser may give up (feed returns
 * an error: the engine stops feeding it and ends it, as here) or write fewer records, but it
 * must not crash, every record it writes must be whole, and ending and freeing it must give
 * back everything it took (alloc_live back where it was). */
#ifdef HAVE_ALLOC_FAULTS
static int oom_failed_feeds;

/* One session with allocation `ok` failing; false once the session took fewer allocations
 * (nothing failed). */
static bool oom_run(const struct seg *segs, size_t n, int ok)
{
	struct tconn *c;
	uint64_t ts = 1000000000ull * 1700000000ull;
	long live0;
	bool dead = false, failed;

	alloc_harness_enter();
	cap_reset();
	live0 = alloc_live;
	c = tconn_make("10.0.0.1", 40000, "10.0.0.2", 25);
	alloc_harness_leave();
	alloc_failures = 0;
	alloc_ok = ok;
	c->app = app_smtp_ops.new(&c->s, &g_cfg);
	for (size_t i = 0; c->app && !dead && i < n; i++) {
		size_t l = seg_len(&segs[i]);
		enum mt_dir d = segs[i].d;
		ssize_t r;

		ts += 1000000;
		if (!segs[i].text) { /* a gap of len bytes */
			app_smtp_ops.gap(c->app, d, segs[i].len, ts);
			continue;
		}
		alloc_harness_enter(); /* the engine's kept tail is the harness's */
		c->pend[d] = realloc(c->pend[d], c->plen[d] + l + 1);
		assert_non_null(c->pend[d]);
		memcpy(c->pend[d] + c->plen[d], segs[i].text, l);
		c->plen[d] += l;
		alloc_harness_leave();
		r = app_smtp_ops.feed(c->app, d, c->pend[d], c->plen[d], ts);
		if (r < 0) {
			dead = true; /* the engine's parser_failed: no more feeding */
			oom_failed_feeds++;
			break;
		}
		assert_true((size_t)r <= c->plen[d]);
		memmove(c->pend[d], c->pend[d] + r, c->plen[d] - (size_t)r);
		c->plen[d] -= (size_t)r;
	}
	if (c->app) {
		if (!dead) {
			app_smtp_ops.eof(c->app, MT_ORIG, ts);
			app_smtp_ops.eof(c->app, MT_RESP, ts);
		}
		app_smtp_ops.end(c->app, ts);
		app_smtp_ops.free(c->app);
	}
	failed = alloc_failures > 0;
	alloc_ok = -1;
	alloc_harness_enter();
	free(c->pend[0]);
	free(c->pend[1]);
	free(c);
	cap_reset();
	alloc_harness_leave();
	if (alloc_live != live0)
		fail_msg("allocation %d failing: %ld blocks not given back", ok,
			 alloc_live - live0);
	return failed;
}
#endif

static void test_no_memory(void **state)
{
#ifdef HAVE_ALLOC_FAULTS
	uint8_t raw[5000];
	struct sbuf data = {0};
	size_t msg_end;
	int ok = 0;

	(void)state;
	g_cfg.events = true;
	rand_fill(raw, sizeof(raw), 21);
	bulk_message(&data, raw, sizeof(raw), &msg_end);
	{
		const struct seg segs[] = {
		    S("220 mx\r\n"),
		    C("EHLO c.example\r\n"),
		    S("250-mx\r\n250-PIPELINING\r\n250-AUTH PLAIN LOGIN\r\n250 CHUNKING\r\n"),
		    C("AUTH PLAIN AHVzZXIAcGFzcw==\r\n"),
		    S("235 ok\r\n"),
		    C("MAIL FROM:<a@b.example>\r\nRCPT TO:<d@e.example>\r\nDATA\r\n"),
		    S("250 ok\r\n250 ok\r\n354 go\r\n"),
		    C("Received: from a.example (a.example [192.0.2.7])\r\n\tby mx; Mon, 1 Jan "
		      "2024\r\n"
		      "From: A <a@b.example>\r\nTo: d@e.example\r\nMessage-ID: <m1@b.example>\r\n"),
		    {MT_ORIG, data.s, 0},
		    S("250 ok\r\n"),
		    /* a second message, still open at the end */
		    C("MAIL FROM:<a@b.example>\r\nRCPT TO:<d@e.example>\r\nDATA\r\n"),
		    S("250 ok\r\n250 ok\r\n354 go\r\n"),
		    C("Subject: cut\r\nContent-Type: text/plain\r\n\r\nhalf a bo"),
		};
		size_t n = sizeof(segs) / sizeof(segs[0]);

		/* once without failures: buffers kept across sessions (the record builder's)
		 * exist before the sweep measures */
		assert_false(oom_run(segs, n, -1));
		while (oom_run(segs, n, ok))
			ok++;
	}
	/* every allocation of the session failed once (about 90), and some made the
	 * parser give up */
	print_message("%d allocations, %d runs ended by a failed feed\n", ok, oom_failed_feeds);
	assert_true(ok > 50);
	assert_true(oom_failed_feeds > 0);
	{
		/* BDAT: a gap inside a chunk, a record held for its LAST chunk's reply while
		 * the next MAIL FROM starts another, a receiver's gap, one open at the end */
		const struct seg segs[] = {
		    S("220 mx\r\n"),
		    C("EHLO c\r\n"),
		    S("250-mx\r\n250-PIPELINING\r\n250 CHUNKING\r\n"),
		    C("MAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nBDAT 40 LAST\r\nSubject: 1\r\n"),
		    {MT_ORIG, NULL, 10}, /* a gap */
		    C("\r\nbody\r\nxxxxxxxxxxMAIL FROM:<x@y.z>\r\nRCPT TO:<d@e.f>\r\n"),
		    S("250 a\r\n250 b\r\n"),
		    {MT_RESP, NULL, 5}, /* a gap: the held record is written */
		    C("BDAT 30 LAST\r\nSubject: 2\r\n\r\nhalf"),
		};
		size_t n = sizeof(segs) / sizeof(segs[0]);

		ok = 0;
		assert_false(oom_run(segs, n, -1));
		while (oom_run(segs, n, ok))
			ok++;
		print_message("BDAT: %d allocations\n", ok);
	}
	{
		/* DATA: a record held for its "." reply while the next MAIL FROM, RCPT TO
		 * and DATA are pipelined, written at that reply; another held, written at a
		 * receiver's gap; one held and one open at the end */
		const struct seg segs[] = {
		    S("220 mx\r\n"),
		    C("EHLO c\r\n"),
		    S("250-mx\r\n250 PIPELINING\r\n"),
		    C("MAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\n"),
		    S("250 a\r\n250 b\r\n354 go\r\n"),
		    C("Subject: 1\r\n\r\none\r\n.\r\nRSET\r\nMAIL FROM:<x@y.z>\r\n"
		      "RCPT TO:<u@v.w>\r\nDATA\r\n"),
		    S("250 queued 1\r\n250 r\r\n250 c\r\n250 d\r\n354 go\r\n"),
		    C("Subject: 2\r\n\r\ntwo\r\n.\r\nMAIL FROM:<a@b.c>\r\n"),
		    {MT_RESP, NULL, 5}, /* a gap: the held record is written */
		    C("RCPT TO:<d@e.f>\r\nDATA\r\n"),
		    S("250 e\r\n354 go\r\n"),
		    C("Subject: 3\r\n\r\nthree\r\n.\r\nMAIL FROM:<x@y.z>\r\nRCPT TO:<u@v.w>\r\n"
		      "DATA\r\nSubject: 4\r\n\r\nhalf"),
		};
		size_t n = sizeof(segs) / sizeof(segs[0]);

		ok = 0;
		assert_false(oom_run(segs, n, -1));
		while (oom_run(segs, n, ok))
			ok++;
		print_message("DATA pipelined: %d allocations\n", ok);
	}
	g_cfg.events = false;
	free(data.s);
#else
	(void)state;
	print_message("allocation faults not available under a sanitizer\n");
#endif
}

/* ---- Zeek script helpers ---- */

static void ips_cb(void *u, const char *ip)
{
	struct sbuf *b = u;

	if (b->n)
		sb_cstr(b, ",");
	sb_cstr(b, ip);
}

static void check_ips(const char *s, bool wrap, const char *want)
{
	struct sbuf b = {0};

	sb_cstr(&b, "");
	b.n = 0;
	smtp__extract_ips(s, strlen(s), wrap, ips_cb, &b);
	assert_string_equal(b.s, want);
	free(b.s);
}

static void test_helpers(void **state)
{
	char out[256];

	(void)state;
	assert_int_equal(smtp__first_email_addr("FROM:<a@b.c> SIZE=12", 20, out, sizeof(out)), 5);
	assert_string_equal(out, "a@b.c");
	assert_int_equal(smtp__first_email_addr("FROM:<>", 7, out, sizeof(out)), 0);
	smtp__first_email_addr("From: x y <u@v.w>", 17, out, sizeof(out));
	assert_string_equal(out, "u@v.w");

	smtp__filename_from_header("attachment; filename=\"NEWS.txt\"", 32, out, sizeof(out));
	assert_string_equal(out, "NEWS.txt");
	smtp__filename_from_header("application/pdf; name=a%20b.pdf", 31, out, sizeof(out));
	assert_string_equal(out, "a b.pdf");
	smtp__filename_from_header("attachment; filename*=UTF-8''r%C3%A9sum%C3%A9.txt", 50, out,
				   sizeof(out));
	assert_string_equal(out, "r\xc3\xa9sum\xc3\xa9.txt");
	/* Zeek's unescape_URI: %uXXXX (a 00 high byte left out), "%%" drops the first '%' (the
	 * second starts an escape), a '%' or "%X" at the end and other '%'s stay */
	smtp__filename_from_header("attachment; filename=\"evil%u002eexe\"", 36, out, sizeof(out));
	assert_string_equal(out, "evil.exe");
	smtp__filename_from_header("attachment; filename=\"a%%41%u4142.exe\"", 38, out,
				   sizeof(out));
	assert_string_equal(out, "aAAB.exe");
	smtp__filename_from_header("name=%zz%u41%4", 14, out, sizeof(out));
	assert_string_equal(out, "%zz%u41%4");
	smtp__filename_from_header("name=ab%", 8, out, sizeof(out));
	assert_string_equal(out, "ab%");
	/* cut to the buffer: the first bytes of the whole result */
	assert_int_equal(smtp__filename_from_header("name=%41%u4243%44", 17, out, 4), 3);
	assert_string_equal(out, "ABC");

	assert_int_equal(smtp__probe(MT_RESP, (const uint8_t *)"220 mx ESMTP\r\n", 14), 1);
	assert_int_equal(smtp__probe(MT_RESP, (const uint8_t *)" 220-mx\r\n", 9), 1);
	assert_int_equal(smtp__probe(MT_RESP, (const uint8_t *)"22", 2), -EAGAIN);
	assert_int_equal(smtp__probe(MT_RESP, (const uint8_t *)"HTTP/1.1 200", 12), 0);
	assert_int_equal(smtp__probe(MT_ORIG, (const uint8_t *)"ehlo x\r\n", 8), 1);
	assert_int_equal(smtp__probe(MT_ORIG, (const uint8_t *)"NOOP\r\nHELO x", 12), 1);
	assert_int_equal(smtp__probe(MT_ORIG, (const uint8_t *)"EH", 2), -EAGAIN);
	assert_int_equal(smtp__probe(MT_ORIG, (const uint8_t *)"GET / HTTP/1.1\r\n", 16), 0);
	assert_int_equal(smtp__probe(MT_ORIG, (const uint8_t *)"GET / HTTP/1.1\r\nHE", 18), 0);
	check_ips("from x ([10.1.2.3]) by y (1.2.3.4)", true, "10.1.2.3,1.2.3.4");
	check_ips("from x (10.1.2.3x) by y", true, "");
	check_ips("by host [IPv6:2607:f8b0:4864:20::42f] with", true, "");
	check_ips("by host [2607:f8b0:4864:20::42f] with", true, "2607:f8b0:4864:20::42f");
	check_ips("10.0.0.1", true, "10.0.0.1");
	/* Zeek's regex finds "00.1.1.1" (leading zeros are valid) and "192.168.1.25" */
	check_ips("ip 300.1.1.1 and 192.168.1.256", false, "0.1.1.1,192.168.1.25");
	check_ips("from [::ffff:10.1.2.3] (fe80::1) by a.b [1::2:3:4:5:6:7]", true,
		  "::ffff:10.1.2.3,fe80::1,1::2:3:4:5:6:7");
}

/* ---- golden: Zeek baselines for corpus traces ---- */

static struct tconn *conns;

static struct tconn *conn_for(const struct mt_addr *src, uint16_t sp, const struct mt_addr *dst,
			      uint16_t dp, bool syn_only, enum mt_dir *d)
{
	struct tconn *c;
	char a[64], b[64];

	for (c = conns; c; c = c->next) {
		if (!mt_addr__cmp(&c->id.orig_h, src) && c->id.orig_p == sp &&
		    !mt_addr__cmp(&c->id.resp_h, dst) && c->id.resp_p == dp) {
			*d = MT_ORIG;
			return c;
		}
		if (!mt_addr__cmp(&c->id.orig_h, dst) && c->id.orig_p == dp &&
		    !mt_addr__cmp(&c->id.resp_h, src) && c->id.resp_p == sp) {
			*d = MT_RESP;
			return c;
		}
	}
	mt_addr__fmt(src, a, sizeof(a));
	mt_addr__fmt(dst, b, sizeof(b));
	if (syn_only || dp == 25 || dp == 587) {
		c = tconn_new(a, sp, b, dp);
		*d = MT_ORIG;
	} else {
		c = tconn_new(b, dp, a, sp);
		*d = MT_RESP;
	}
	c->next = conns;
	conns = c;
	return c;
}

/* Reads a pcap and drives one app parser per TCP connection, in packet order. */
/* 0: each packet's payload at once, 1: in two halves, 2: byte by byte, 3: at once but the
 * first one holding replay_mark, split after its replay_at first bytes */
static int replay_mode;
static const char *replay_mark;
static size_t replay_at;

static int replay(const char *path)
{
	char err[PCAP_ERRBUF_SIZE];
	pcap_t *pc = pcap_open_offline(path, err);
	struct pcap_pkthdr *h;
	const u_char *pkt;
	uint64_t ts = 0;
	struct tconn *order[64];
	int n_order = 0;

	if (!pc)
		return -1;
	conns = NULL;
	while (pcap_next_ex(pc, &h, &pkt) == 1) {
		const u_char *p = pkt, *end = pkt + h->caplen;
		uint16_t et;
		struct mt_addr src, dst;
		const u_char *tcp;
		size_t iplen;
		uint32_t seq;
		uint8_t fl, off;
		enum mt_dir d;
		struct tconn *c;
		const u_char *pl;
		size_t plen;

		ts = (uint64_t)h->ts.tv_sec * 1000000000ull + (uint64_t)h->ts.tv_usec * 1000ull;
		if (end - p < 14)
			continue;
		et = (uint16_t)(p[12] << 8 | p[13]);
		p += 14;
		while (et == 0x8100 && end - p >= 4) {
			et = (uint16_t)(p[2] << 8 | p[3]);
			p += 4;
		}
		if (et == 0x0800 && end - p >= 20 && p[9] == 6) {
			mt_addr__from_v4(&src, p + 12);
			mt_addr__from_v4(&dst, p + 16);
			iplen = (size_t)(p[2] << 8 | p[3]);
			tcp = p + (p[0] & 15) * 4;
			end = p + iplen < end ? p + iplen : end;
		} else if (et == 0x86dd && end - p >= 40 && p[6] == 6) {
			mt_addr__from_v6(&src, p + 8);
			mt_addr__from_v6(&dst, p + 24);
			iplen = 40 + (size_t)(p[4] << 8 | p[5]);
			tcp = p + 40;
			end = p + iplen < end ? p + iplen : end;
		} else {
			continue;
		}
		if (end - tcp < 20)
			continue;
		{ /* the mail ports only, as the engine's port set */
			uint16_t sp = (uint16_t)(tcp[0] << 8 | tcp[1]),
				 dp = (uint16_t)(tcp[2] << 8 | tcp[3]);

			if (sp != 25 && dp != 25 && sp != 587 && dp != 587)
				continue;
		}
		seq = (uint32_t)tcp[4] << 24 | (uint32_t)tcp[5] << 16 | (uint32_t)tcp[6] << 8 |
		      tcp[7];
		off = (uint8_t)((tcp[12] >> 4) * 4);
		fl = tcp[13];
		c = conn_for(&src, (uint16_t)(tcp[0] << 8 | tcp[1]), &dst,
			     (uint16_t)(tcp[2] << 8 | tcp[3]), (fl & 0x12) == 0x02, &d);
		if (n_order < 64 && !c->listed) {
			c->listed = true;
			order[n_order++] = c;
		}
		c->last_ts = ts;
		pl = tcp + off;
		plen = pl < end ? (size_t)(end - pl) : 0;
		/* An ACK beyond the other side's data: that data will never come (Zeek reports
		 * the gap then, before this packet's payload). */
		if ((fl & 0x10) && c->has_seq[!d]) {
			uint32_t ack = (uint32_t)tcp[8] << 24 | (uint32_t)tcp[9] << 16 |
				       (uint32_t)tcp[10] << 8 | tcp[11];
			int32_t delta = (int32_t)(ack - c->next_seq[!d]);

			if (delta > 0 && delta < (1 << 24)) {
				if (!c->handed_off)
					app_smtp_ops.gap(c->app, (enum mt_dir) !d, (uint64_t)delta,
							 ts);
				c->next_seq[!d] = ack;
			}
		}
		if (fl & 0x02) { /* SYN */
			c->has_seq[d] = true;
			c->next_seq[d] = seq + 1;
			continue;
		}
		if (!plen) {
			if ((fl & 0x01) && c->has_seq[d] && c->next_seq[d] == seq)
				c->next_seq[d]++;
			continue;
		}
		if (!c->has_seq[d]) {
			c->has_seq[d] = true;
			c->next_seq[d] = seq;
		}
		{
			int32_t delta = (int32_t)(seq - c->next_seq[d]);

			if (delta < 0) { /* retransmission (or overlap) */
				if ((size_t)-delta >= plen)
					continue;
				pl += -delta;
				plen -= (size_t)-delta;
			} else if (delta > 0) {
				if (!c->handed_off)
					app_smtp_ops.gap(c->app, d, (uint64_t)delta, ts);
			}
			c->next_seq[d] = seq + (uint32_t)(delta < 0 ? 0 : delta) + (uint32_t)plen;
			if (delta < 0)
				c->next_seq[d] = seq + (uint32_t)-delta + (uint32_t)plen;
		}
		if (replay_mode == 3 && replay_mark && replay_at < plen &&
		    memmem(pl, plen, replay_mark, strlen(replay_mark))) {
			replay_mark = NULL;
			tfeed(c, d, pl, replay_at, ts);
			tfeed(c, d, pl + replay_at, plen - replay_at, ts);
		} else if (replay_mode == 0 || replay_mode == 3) {
			tfeed(c, d, pl, plen, ts);
		} else if (replay_mode == 1) {
			tfeed(c, d, pl, plen / 2, ts);
			tfeed(c, d, pl + plen / 2, plen - plen / 2, ts);
		} else {
			for (size_t j = 0; j < plen; j++)
				tfeed(c, d, pl + j, 1, ts);
		}
		if (fl & 0x01) /* FIN takes a sequence number */
			c->next_seq[d]++;
	}
	pcap_close(pc);
	for (int i = 0; i < n_order; i++)
		tconn_finish(order[i], order[i]->last_ts);
	conns = NULL;
	return 0;
}

/* Baseline rows: fields split on tabs. */
struct brow {
	char *f[40];
	int n;
};

static int read_baseline(const char *path, char names[][32], int *n_names, struct brow *rows,
			 int max)
{
	FILE *f = fopen(path, "r");
	char line[65536];
	int n = 0;

	if (!f)
		return -1;
	*n_names = 0;
	while (fgets(line, sizeof(line), f)) {
		char *s = line, *t;

		line[strcspn(line, "\n")] = 0;
		if (!strncmp(line, "#fields\t", 8)) {
			s = line + 8;
			while ((t = strsep(&s, "\t")) && *n_names < 40)
				snprintf(names[(*n_names)++], 32, "%s", t);
			continue;
		}
		if (line[0] == '#' || !line[0] || n >= max)
			continue;
		if (!*n_names) { /* a .cut file: its first line names the columns */
			while ((t = strsep(&s, "\t")) && *n_names < 40)
				snprintf(names[(*n_names)++], 32, "%s", t);
			continue;
		}
		rows[n].n = 0;
		while ((t = strsep(&s, "\t")) && rows[n].n < 40)
			rows[n].f[rows[n].n++] = strdup(t);
		n++;
	}
	fclose(f);
	return n;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Set fields compare as sets. */
static bool same_set(const char *a, const char *b)
{
	char *x = strdup(a), *y = strdup(b), *px[2048], *py[2048], *s, *t;
	int nx = 0, ny = 0;
	bool ok;

	for (s = x; (t = strsep(&s, ",")) && nx < 2048;)
		px[nx++] = t;
	for (s = y; (t = strsep(&s, ",")) && ny < 2048;)
		py[ny++] = t;
	qsort(px, (size_t)nx, sizeof(char *), cmp_str);
	qsort(py, (size_t)ny, sizeof(char *), cmp_str);
	ok = nx == ny;
	for (int i = 0; ok && i < nx; i++)
		ok = !strcmp(px[i], py[i]);
	free(x);
	free(y);
	return ok;
}

static int golden_mismatch;

/* Compares smtp records with the baseline, connection by connection (orig port), in order. */
static void golden_smtp(const char *name, const char *trace)
{
	char path[512], names[40][32];
	struct brow rows[64];
	int n_names = 0, n, used[MAX_RECS] = {0};

	snprintf(path, sizeof(path), "%s/zeek/traces/%s", corpus_dir(), trace);
	env_init();
	if (replay(path)) {
		print_message("skip %s: %s not found\n", name, path);
		return;
	}
	snprintf(path, sizeof(path), "%s/zeek/baselines/scripts.base.protocols.smtp.%s/smtp.log",
		 corpus_dir(), name);
	n = read_baseline(path, names, &n_names, rows, 64);
	assert_true(n >= 0);
	assert_int_equal(n, count_stream("smtp"));
	for (int i = 0; i < n; i++) {
		const char *mine = NULL;
		int port_col = -1;

		for (int k = 0; k < n_names; k++)
			if (!strcmp(names[k], "id.orig_p"))
				port_col = k;
		for (int j = 0; j < cap.n; j++)
			if (!used[j] && is_stream(cap.recs[j], "smtp") &&
			    !strcmp(fld(cap.recs[j], "id.orig_p"), rows[i].f[port_col])) {
				used[j] = 1;
				mine = cap.recs[j];
				break;
			}
		assert_non_null(mine);
		for (int k = 0; k < n_names && k < rows[i].n; k++) {
			const char *want = rows[i].f[k], *got;

			if (!strcmp(names[k], "ts") || !strcmp(names[k], "uid"))
				continue;
			got = fld(mine, names[k]);
			if (!strcmp(names[k], "fuids")) {
				/* fuids are random: compare their number */
				int a = strcmp(want, "(empty)") ? 1 : 0,
				    b = strcmp(got, "(empty)") ? 1 : 0;

				for (const char *q = want; *q; q++)
					a += *q == ',';
				for (const char *q = got; *q; q++)
					b += *q == ',';
				if (a != b) {
					print_message("%s row %d fuids: want %d got %d\n", name, i,
						      a, b);
					golden_mismatch++;
				}
				continue;
			}
			if (!strcmp(names[k], "rcptto") || !strcmp(names[k], "to") ||
				    !strcmp(names[k], "cc")
				? !same_set(want, got)
				: strcmp(want, got) != 0) {
				print_message("%s row %d %s:\n  want '%s'\n  got  '%s'\n", name, i,
					      names[k], want, got);
				golden_mismatch++;
			}
		}
		for (int k = 0; k < rows[i].n; k++)
			free(rows[i].f[k]);
	}
}

/* Weirds: the set of (name, addl) equals the baseline's (weirds are once per connection). */
static void golden_weird(const char *name)
{
	char path[512], names[40][32], b[1024];
	struct brow rows[64];
	int n_names = 0, n, nc = 0, name_col = -1, addl_col = -1;
	char *want[64], *got[256];
	int n_got = 0;

	snprintf(path, sizeof(path), "%s/zeek/baselines/scripts.base.protocols.smtp.%s/weird.log",
		 corpus_dir(), name);
	n = read_baseline(path, names, &n_names, rows, 64);
	if (n < 0)
		n = 0;
	for (int k = 0; k < n_names; k++) {
		if (!strcmp(names[k], "name"))
			name_col = k;
		if (!strcmp(names[k], "addl"))
			addl_col = k;
	}
	for (int i = 0; i < n; i++) {
		snprintf(b, sizeof(b), "%s|%s", rows[i].f[name_col], rows[i].f[addl_col]);
		want[nc++] = strdup(b);
		for (int k = 0; k < rows[i].n; k++)
			free(rows[i].f[k]);
	}
	for (int j = 0; j < cap.n && n_got < 256; j++)
		if (is_stream(cap.recs[j], "weird")) {
			char nm[256];

			snprintf(nm, sizeof(nm), "%s", fld(cap.recs[j], "name"));
			snprintf(b, sizeof(b), "%s|%s", nm, fld(cap.recs[j], "addl"));
			got[n_got++] = strdup(b);
		}
	qsort(want, (size_t)nc, sizeof(char *), cmp_str);
	qsort(got, (size_t)n_got, sizeof(char *), cmp_str);
	if (nc != n_got) {
		print_message("%s weirds: want %d got %d\n", name, nc, n_got);
		for (int j = 0; j < n_got; j++)
			print_message("  got %s\n", got[j]);
		golden_mismatch++;
	} else {
		for (int i = 0; i < nc; i++)
			if (strcmp(want[i], got[i])) {
				print_message("%s weird: want %s got %s\n", name, want[i], got[i]);
				golden_mismatch++;
			}
	}
	for (int i = 0; i < nc; i++)
		free(want[i]);
	for (int i = 0; i < n_got; i++)
		free(got[i]);
}

static void golden(const char *name, const char *trace, bool weirds)
{
	int before = golden_mismatch;

	golden_smtp(name, trace);
	if (weirds)
		golden_weird(name);
	if (golden_mismatch != before)
		fail_msg("%s: %d mismatches", name, golden_mismatch - before);
}

/* Zeek's STARTTLS capture through a real TLS parser, the packet holding the 220 reply split
 * at every offset: the same records (ssl, x509, files) as the capture as it is. Split between
 * the reply's CR and LF, the LF went to TLS: no handshake, no certificates. */
static void test_starttls_split_reply(void **state)
{
	char path[512];
	char *ref = NULL;
	int splits = 0;

	(void)state;
	snprintf(path, sizeof(path), "%s/zeek/traces/tls/smtp-starttls.pcap", corpus_dir());
	if (access(path, R_OK)) {
		print_message("skip: %s not found\n", path);
		skip();
	}
	g_tls = true;
	tls_cfg__default(&g_tls_cfg);
	for (size_t k = 0;; k++) {
		struct sbuf b = {0};

		env_init();
		replay_mode = k ? 3 : 0;
		replay_mark = "Ready to start TLS";
		replay_at = k;
		assert_int_equal(replay(path), 0);
		if (k && replay_mark) /* k past the packet's end: no split */
			break;
		sb_cstr(&b, "");
		for (int i = 0; i < cap.n; i++) {
			sb_cstr(&b, cap.recs[i]);
			sb_cstr(&b, "\n");
		}
		if (!k) {
			ref = b.s;
			assert_int_equal(count_stream("x509"), 3);
			assert_int_equal(count_stream("files"), 3);
			assert_int_equal(count_stream("ssl"), 1);
			assert_string_equal(fld(nth("ssl", 0), "established"), "T");
			assert_int_equal(count_stream("analyzer"), 0);
			continue;
		}
		splits++;
		if (strcmp(ref, b.s))
			fail_msg("220 reply split at %zu:\n%s\nvs whole:\n%s", k, b.s, ref);
		free(b.s);
	}
	free(ref);
	assert_int_equal(splits, 29); /* "220 2.0.0 Ready to start TLS\r\n" */
}

static int starttls_split_done(void **state)
{
	(void)state;
	replay_mode = 0;
	replay_mark = NULL;
	g_tls = false;
	return 0;
}

static void test_golden_basic(void **s)
{
	(void)s;
	golden("basic", "smtp.pcap", true);
}
static void test_golden_bdat(void **s)
{
	(void)s;
	golden("bdat", "smtp/rfc3030-bdat-example1.pcap", true);
}
static void test_golden_bdat_0_last(void **s)
{
	(void)s;
	golden("bdat-0-last", "smtp/rfc3030-bdat-0-last.pcap", true);
}
static void test_golden_bdat_pipeline(void **s)
{
	(void)s;
	golden("bdat-pipeline-8bitmime", "smtp/smtp-bdat-pipeline-8bitmime.pcap", true);
}
static void test_golden_bdat_cmd_invalid(void **s)
{
	(void)s;
	golden("bdat-cmd-invalid", "smtp/smtp-bdat-cmd-invalid.pcapng", true);
}
static void test_golden_bdat_overflow(void **s)
{
	(void)s;
	golden("bdat-chunk-size-overflow", "smtp/smtp-bdat-cmd-chunk-size-overflow.pcap", true);
}
static void test_golden_tx_invalid(void **s)
{
	(void)s;
	golden("mail-transactions-invalid", "smtp-mail-transactions-invalid.pcap", true);
}
static void test_golden_one_side(void **s)
{
	(void)s;
	golden("one-side", "smtp-one-side-only.pcap", true);
}
static void test_golden_starttls(void **s)
{
	(void)s;
	golden("starttls", "tls/smtp-starttls.pcap", true);
}

/* The smtp_request/smtp_reply events for smtp.pcap equal Zeek's dump-events output. */
static void test_golden_events(void **st)
{
	static char want[512][2048], got[512][2048];
	char path[512], line[8192];
	char ts[32] = "", ev[64] = "", args[960] = "";
	int nw = 0, ng = 0;
	FILE *f;

	(void)st;
	snprintf(path, sizeof(path),
		 "%s/zeek/baselines/scripts.policy.misc.dump-events/smtp-events.log", corpus_dir());
	f = fopen(path, "r");
	if (!f) {
		print_message("skip: %s not found\n", path);
		return;
	}
	while (fgets(line, sizeof(line), f) && nw < 512) {
		char *eq;

		line[strcspn(line, "\n")] = 0;
		if (line[0] >= '0' && line[0] <= '9') {
			if (ev[0] && nw < 512)
				snprintf(want[nw++], sizeof(want[0]), "%s %s%s", ts, ev, args);
			sscanf(line, "%31s %63s", ts, ev);
			args[0] = 0;
		} else if (strstr(line, "] ") && !strstr(line, "[0] c:") &&
			   (eq = strstr(line, "= "))) {
			size_t l = strlen(args);

			snprintf(args + l, sizeof(args) - l, "|%s", eq + 2);
		}
	}
	if (ev[0] && nw < 512)
		snprintf(want[nw++], sizeof(want[0]), "%s %s%s", ts, ev, args);
	fclose(f);

	g_cfg.events = true;
	g_cfg.events_show_auth = true;
	env_init();
	snprintf(path, sizeof(path), "%s/zeek/traces/smtp.pcap", corpus_dir());
	assert_int_equal(replay(path), 0);
	g_cfg.events = false;
	g_cfg.events_show_auth = false;
	for (int i = 0; i < cap.n && ng < 512; i++) {
		const char *r = cap.recs[i];
		char e[64];
		double t;

		if (!is_stream(r, "smtp_events"))
			continue;
		snprintf(e, sizeof(e), "%s", fld(r, "event"));
		if (strcmp(e, "smtp_request") && strcmp(e, "smtp_reply"))
			continue;
		t = atof(fld(r, "ts"));
		if (!strcmp(e, "smtp_request")) {
			char a[256], b[1024];

			snprintf(a, sizeof(a), "%s", fld(r, "command"));
			snprintf(b, sizeof(b), "%s", fld(r, "arg"));
			snprintf(got[ng++], sizeof(got[0]), "%.6f smtp_request|%s|%s|%s", t,
				 fld(r, "is_orig"), a, b);
		} else {
			char a[64], b[64], c[1024], d[8];

			snprintf(d, sizeof(d), "%s", fld(r, "cont_resp"));

			snprintf(a, sizeof(a), "%s", fld(r, "code"));
			snprintf(b, sizeof(b), "%s", fld(r, "cmd"));
			snprintf(c, sizeof(c), "%s", fld(r, "msg"));
			snprintf(got[ng++], sizeof(got[0]), "%.6f smtp_reply|%s|%s|%s|%s|%s", t,
				 fld(r, "is_orig"), a, b, c, d);
		}
	}
	for (int i = 0; i < nw && i < ng; i++)
		if (strcmp(want[i], got[i]))
			fail_msg("event %d:\n  want %s\n  got  %s", i, want[i], got[i]);
	for (int i = nw; i < ng; i++)
		print_message("extra: %s\n", got[i]);
	assert_int_equal(ng, nw);
}

/* The other Zeek SMTP baselines with an smtp.log. */
static void test_golden_more(void **st)
{
	static const struct {
		const char *name, *trace;
		uint32_t max_invalid;
	} more[] = {
	    {"bdat-negative-chunk-size", "smtp/smtp-bdat-cmd-negative-chunk-size.pcap", 25},
	    {"bdat-chunk-size-overflow2", "smtp/smtp-bdat-cmd-chunk-size-overflow2.pcap", 25},
	    {"bdat-multipart", "smtp/rfc3030-bdat-multipart.pcap", 25},
	    {"bdat-multipart-chunked", "smtp/rfc3030-bdat-multipart-chunked.pcap", 25},
	    {"attachment", "smtp.pcap", 25},
	    {"attachment-msg", "smtp-attachment-msg.pcap", 25},
	    {"bdat-gap", "smtp/smtp-bdat-gap.pcap", 25},
	    {"mail-transactions-invalid-disable-analyzer", "smtp-mail-transactions-invalid.pcap",
	     2},
	};
	int bad = 0;

	(void)st;
	for (size_t i = 0; i < sizeof(more) / sizeof(more[0]); i++) {
		int before = golden_mismatch;

		g_cfg.lim.max_invalid_tx = more[i].max_invalid;
		golden_smtp(more[i].name, more[i].trace);
		golden_weird(more[i].name);
		g_cfg.lim.max_invalid_tx = 25;
		if (golden_mismatch != before) {
			print_message("MISMATCH %s\n", more[i].name);
			bad++;
		}
	}
	assert_int_equal(bad, 0);
}

static int count_items(const char *v)
{
	int n = strcmp(v, "(empty)") && strcmp(v, "-") ? 1 : 0;

	for (; *v; v++)
		n += *v == ',';
	return n;
}

/* address-limits: limits lowered to 500, 600 addresses of each kind (gzipped trace). */
static void test_golden_address_limits(void **st)
{
	char path[512], tmp[] = "/tmp/test_smtp_XXXXXX", buf[65536];
	gzFile gz;
	FILE *f;
	int fd, n;
	const char *r;

	(void)st;
	snprintf(path, sizeof(path), "%s/zeek/traces/smtp/smtp-many-addresses.pcap.gz",
		 corpus_dir());
	gz = gzopen(path, "rb");
	if (!gz) {
		print_message("skip: %s not found\n", path);
		return;
	}
	fd = mkstemp(tmp);
	assert_true(fd >= 0);
	f = fdopen(fd, "wb");
	assert_non_null(f);
	while ((n = gzread(gz, buf, sizeof(buf))) > 0)
		assert_int_equal(fwrite(buf, 1, (size_t)n, f), (size_t)n);
	gzclose(gz);
	fclose(f);
	g_cfg.lim.max_rcptto = g_cfg.lim.max_to = g_cfg.lim.max_cc = g_cfg.lim.max_path = 500;
	env_init();
	assert_int_equal(replay(tmp), 0);
	unlink(tmp);
	g_cfg.lim.max_rcptto = g_cfg.lim.max_to = g_cfg.lim.max_cc = g_cfg.lim.max_path = 1000;
	assert_int_equal(count_stream("smtp"), 1);
	r = nth("smtp", 0);
	/* 500 each (Zeek's script-level counts), or 100 where the record builder applies
	 * Zeek's log writer limit Log::default_max_field_container_elements. */
	for (int k = 0; k < 4; k++) {
		static const char *const f[] = {"rcptto", "to", "cc", "path"};
		int n = count_items(fld(r, f[k]));

		if (n != 500 && n != 100)
			fail_msg("%s has %d elements", f[k], n);
	}
	assert_true(has_weird("smtp_too_many_rcptto_addresses"));
	assert_true(has_weird("smtp_too_many_to_addresses"));
	assert_true(has_weird("smtp_too_many_cc_addresses"));
	assert_true(has_weird("smtp_max_path_length_exceeded"));
	{ /* and nothing else from SMTP (the record builder may add log_*_truncated) */
		int n = 0;

		for (int i = 0; i < cap.n; i++)
			n += is_stream(cap.recs[i], "weird") &&
			     !strncmp(fld(cap.recs[i], "name"), "smtp_", 5);
		assert_int_equal(n, 4);
	}
}

/* files records against a files log or cut, row by row in order; fuids through a mapping. */
static void golden_files(const char *name, const char *file)
{
	char path[512], names[40][32], map[64][2][32];
	struct brow rows[64];
	const char *mine[64];
	int n_names, n, nm = 0, n_map = 0;

	snprintf(path, sizeof(path), "%s/zeek/baselines/scripts.base.protocols.smtp.%s/%s",
		 corpus_dir(), name, file);
	n = read_baseline(path, names, &n_names, rows, 64);
	assert_true(n > 0);
	for (int j = 0; j < cap.n && nm < 64; j++)
		if (is_stream(cap.recs[j], "files"))
			mine[nm++] = cap.recs[j];
	if (n != nm) {
		print_message("%s files: want %d got %d\n", name, n, nm);
		golden_mismatch++;
		n = n < nm ? n : nm;
	}
	for (int i = 0; i < n; i++)
		for (int k = 0; k < n_names && k < rows[i].n; k++)
			if (!strcmp(names[k], "fuid") && n_map < 64) {
				snprintf(map[n_map][0], 32, "%s", rows[i].f[k]);
				snprintf(map[n_map++][1], 32, "%s", fld(mine[i], "fuid"));
			}
	for (int i = 0; i < n; i++) {
		for (int k = 0; k < n_names && k < rows[i].n; k++) {
			const char *want = rows[i].f[k];
			char got[1024];

			if (!names[k][0] || !strcmp(names[k], "uid") || !strcmp(names[k], "fuid") ||
			    !strcmp(names[k], "ts") || !strcmp(names[k], "duration"))
				continue;
			/* hashes: the Zeek tests attach them to some files only */
			if ((!strcmp(names[k], "sha1") || !strcmp(names[k], "md5")) &&
			    !strcmp(want, "-"))
				continue;
			snprintf(got, sizeof(got), "%s", fld(mine[i], names[k]));
			if (!strcmp(names[k], "parent_fuid"))
				for (int m = 0; m < n_map; m++)
					if (!strcmp(map[m][0], want))
						want = map[m][1];
			if (!strcmp(names[k], "analyzers") || !strcmp(names[k], "local_orig"))
				continue;
			if (strcmp(want, got)) {
				print_message("%s files row %d %s: want '%s' got '%s'\n", name, i,
					      names[k], want, got);
				golden_mismatch++;
			}
		}
	}
	for (int i = 0; i < n; i++)
		for (int k = 0; k < rows[i].n; k++)
			free(rows[i].f[k]);
}

/* files records: entities (depth, filename, mime type, sizes) and, with
 * SMTP::enable_rfc822_msg_file_analysis, the message files and their children. */
static void test_golden_files(void **st)
{
	static const struct {
		const char *name, *trace, *file;
		bool rfc822;
	} t[] = {
	    {"attachment", "smtp.pcap", "files.log", false},
	    {"bdat-pipeline-8bitmime", "smtp/smtp-bdat-pipeline-8bitmime.pcap", "files.log.cut",
	     false},
	    {"rfc822-msg-file-analysis", "smtp-attachment-msg.pcap", "files.cut", true},
	    {"rfc822-msg-file-analysis-binary", "smtp/rfc3030-bdat-nonascii.pcap", "files.cut",
	     true},
	    /* Not compared: rfc822-msg-file-analysis-gap. After the gap Zeek logs no file for
	     * the DATA message's entity (only its message/rfc822 file); mailtap logs both. */
	    {"rfc822-msg-file-analysis-multi-mail", "smtp/smtp-bdat-pipeline-8bitmime.pcap",
	     "files.cut", true},
	    {"rfc822-msg-file-analysis-multi-session", "smtp.pcap", "files.cut", true},
	};
	int bad = 0;

	(void)st;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char path[512];
		int before = golden_mismatch;

		snprintf(path, sizeof(path), "%s/zeek/traces/%s", corpus_dir(), t[i].trace);
		g_cfg.rfc822_msg_file = t[i].rfc822;
		env_init();
		if (replay(path)) {
			print_message("skip %s\n", t[i].name);
			continue;
		}
		g_cfg.rfc822_msg_file = false;
		golden_files(t[i].name, t[i].file);
		if (golden_mismatch != before) {
			print_message("MISMATCH %s\n", t[i].name);
			bad++;
		}
	}
	assert_int_equal(bad, 0);
}

static char *all_records(void)
{
	struct sbuf b = {0};

	sb_cstr(&b, "");
	for (int i = 0; i < cap.n; i++) {
		sb_cstr(&b, cap.recs[i]);
		sb_cstr(&b, "\n");
	}
	return b.s;
}

/* Every corpus trace: payloads fed whole, in halves and byte by byte give the same records. */
static void test_replay_splits(void **st)
{
	static const char *const traces[] = {
	    "smtp.pcap",
	    "smtp-attachment-msg.pcap",
	    "smtp-mail-transactions-invalid.pcap",
	    "smtp-one-side-only.pcap",
	    "smtp/rfc3030-bdat-example1.pcap",
	    "smtp/rfc3030-bdat-0-last.pcap",
	    "smtp/rfc3030-bdat-multipart-chunked.pcap",
	    "smtp/smtp-bdat-pipeline-8bitmime.pcap",
	    "smtp/smtp-bdat-cmd-invalid.pcapng",
	    "smtp/smtp-bdat-gap.pcap",
	    "tls/smtp-starttls.pcap",
	};

	(void)st;
	g_cfg.rfc822_msg_file = true;
	/* with events (every DATA byte goes through the per-byte path) and without (whole lines
	 * through the bulk paths: SMTP's plain-line scan, MIME's base64 runs) */
	for (size_t i = 0; i < 2 * sizeof(traces) / sizeof(traces[0]); i++) {
		char path[512], *ref = NULL;

		g_cfg.events = i % 2 == 0;
		snprintf(path, sizeof(path), "%s/zeek/traces/%s", corpus_dir(), traces[i / 2]);
		for (int mode = 0; mode < 3; mode++) {
			char *o;

			env_init();
			replay_mode = mode;
			if (replay(path))
				break;
			o = all_records();
			if (!ref) {
				ref = o;
				continue;
			}
			if (strcmp(ref, o)) {
				FILE *f1 = fopen("/tmp/smtp_split_ref.txt", "w"),
				     *f2 = fopen("/tmp/smtp_split_got.txt", "w");

				if (f1 && f2) {
					fputs(ref, f1);
					fputs(o, f2);
				}
				if (f1)
					fclose(f1);
				if (f2)
					fclose(f2);
				fail_msg("%s (events %d): mode %d differs (/tmp/smtp_split_*.txt)",
					 traces[i / 2], g_cfg.events, mode);
			}
			free(o);
		}
		free(ref);
	}
	replay_mode = 0;
	g_cfg.events = false;
	g_cfg.rfc822_msg_file = false;
}

/* A 5000-byte banner and a 5000-byte reply line without a reply code (suricata-verify
 * smtp-bug-6053, smtp-bug-5989): lines longer than max_line are cut, their tail discarded,
 * and a cut line never counts as a protocol violation; the session is still analysed. */
static void test_overlong_lines(void **state)
{
	static char banner[5100], junk[5100];
	struct seg segs[8];
	const char *r;
	int n = 0;

	(void)state;
	memcpy(banner, "220 ", 4);
	memset(banner + 4, 'x', 4996);
	memcpy(banner + 5000, "\r\n", 3);
	memset(junk, 'A', 5000);
	memcpy(junk + 5000, "\r\n", 3);
	segs[n++] = (struct seg){MT_RESP, banner, 0};
	segs[n++] = (struct seg){MT_RESP, junk, 0};
	segs[n++] = (struct seg){MT_ORIG, "EHLO Simone\r\n", 0};
	segs[n++] = (struct seg){MT_RESP, "250 ok\r\n", 0};
	segs[n++] = (struct seg){MT_ORIG, "MAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\n", 0};
	segs[n++] = (struct seg){MT_RESP, "250 ok\r\n250 ok\r\n354 go\r\n", 0};
	segs[n++] = (struct seg){MT_ORIG, "Subject: long\r\n\r\nbody\r\n.\r\n", 0};
	segs[n++] = (struct seg){MT_RESP, "250 queued\r\n", 0};
	free(run_all(segs, (size_t)n)); /* whole, every split position, byte by byte */
	assert_int_equal(count_stream("smtp"), 1);
	r = nth("smtp", 0);
	assert_string_equal(fld(r, "helo"), "Simone");
	assert_string_equal(fld(r, "mailfrom"), "a@b.c");
	assert_string_equal(fld(r, "subject"), "long");
	assert_string_equal(fld(r, "last_reply"), "250 queued");
	assert_true(count_stream("weird") >= 1); /* contentline_size_exceeded */
}

/* A DATA command line longer than max_line whose tail comes after its first max_line bytes
 * (split between feeds, byte by byte): the tail is dropped up to the line end, as when the line
 * is seen at once, never read as message text, and the command after the message (the second
 * MAIL FROM) is parsed. */
static void test_cut_data_line(void **state)
{
	static char data[5100];
	struct seg segs[16];
	const char *r;
	int n = 0;

	(void)state;
	memcpy(data, "DATA", 4);
	memset(data + 4, ' ', 5000);
	memcpy(data + 5004, "\r\n", 3);
	segs[n++] = (struct seg)S("220 mx ESMTP\r\n");
	segs[n++] = (struct seg)C("EHLO c.example\r\n");
	segs[n++] = (struct seg)S("250-mx\r\n250 CHUNKING\r\n");
	segs[n++] = (struct seg)C("MAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\n");
	segs[n++] = (struct seg)S("250 ok\r\n250 ok\r\n");
	segs[n++] = (struct seg){MT_ORIG, data, 0};
	segs[n++] = (struct seg)S("354 go\r\n");
	segs[n++] = (struct seg)C("Subject: one\r\n\r\nbody\r\n.\r\n");
	segs[n++] = (struct seg)S("250 ok\r\n");
	segs[n++] = (struct seg)C("MAIL FROM:<x@y.z>\r\nRCPT TO:<q@r.s>\r\nDATA\r\n");
	segs[n++] = (struct seg)S("250 ok\r\n250 ok\r\n354 go\r\n");
	segs[n++] = (struct seg)C("Subject: two\r\n\r\nb2\r\n.\r\n");
	segs[n++] = (struct seg)S("250 ok\r\n");
	free(run_all(segs, (size_t)n)); /* whole, every split position, byte by byte */
	assert_int_equal(count_stream("smtp"), 2);
	r = nth("smtp", 0);
	assert_string_equal(fld(r, "subject"), "one");
	assert_string_equal(fld(r, "msg_size"), "22");
	r = nth("smtp", 1);
	assert_string_equal(fld(r, "mailfrom"), "x@y.z");
	assert_string_equal(fld(r, "rcptto"), "q@r.s");
	assert_string_equal(fld(r, "subject"), "two");
	assert_true(has_weird("contentline_size_exceeded"));
	assert_false(has_weird("smtp_mail_transaction_invalid"));
}

/* A command and a reply line of exactly max_line bytes are whole however they are split, their
 * line end alone in the next feed included; one byte more and they are cut, however split. */
static void test_line_max_exact(void **state)
{
	static char cmd[4200], reply[4200];
	size_t ml = g_cfg.lim.max_line;

	(void)state;
	assert_true(ml + 3 <= sizeof(cmd));
	for (size_t extra = 0; extra < 2; extra++) {
		struct seg segs[] = {
		    S("220 mx\r\n"),
		    C("EHLO c\r\n"),
		    S("250 ok\r\n"),
		    {MT_ORIG, cmd, 0},
		    {MT_RESP, reply, 0},
		    C("MAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\n"),
		    S("250 ok\r\n250 ok\r\n354 go\r\n"),
		    C("Subject: s\r\n\r\nx\r\n.\r\n"),
		    S("250 ok\r\n"),
		};

		memcpy(cmd, "NOOP ", 5);
		memset(cmd + 5, 'n', ml + extra - 5);
		memcpy(cmd + ml + extra, "\r\n", 3);
		memcpy(reply, "250 ", 4);
		memset(reply + 4, 'r', ml + extra - 4);
		memcpy(reply + ml + extra, "\r\n", 3);
		free(run_all(segs, sizeof(segs) / sizeof(segs[0])));
		assert_int_equal(has_weird("contentline_size_exceeded"), extra == 1);
		assert_int_equal(count_stream("smtp"), 1);
		assert_string_equal(fld(nth("smtp", 0), "mailfrom"), "a@b.c");
	}
}

/* MAIL FROM and RCPT TO addresses are logged whole up to the line limit, as Zeek logs them
 * (rec.c's field limit applies at output): a 2000-byte mailfrom, a 2000-byte rcptto and a
 * 1500-byte ORCPT one, whose ';' is cleaned and "ORCPT=rfc822" removed. */
static void test_long_address(void **state)
{
	static char mail[2100], rcpt[3600], want_from[2100], want_rcpt[3600];
	const char *r;
	size_t o = 0;

	(void)state;
	memset(want_from, 'a', 2000);
	memcpy(want_from + 2000, "@b.c", 5);
	snprintf(mail, sizeof(mail), "MAIL FROM:<%.2004s>\r\n", want_from);
	memset(want_rcpt, 'r', 2000);
	memcpy(want_rcpt + 2000, "@e.f,", 5);
	memset(want_rcpt + 2005, 's', 1500);
	memcpy(want_rcpt + 3505, "@g.h", 5);
	o += (size_t)snprintf(rcpt, sizeof(rcpt), "RCPT TO:<%.2004s> ORCPT=rfc822;", want_rcpt);
	snprintf(rcpt + o, sizeof(rcpt) - o, "%.1504s\r\n", want_rcpt + 2005);
	{
		struct seg segs[] = {
		    S("220 mx\r\n"),
		    C("EHLO c\r\n"),
		    S("250 ok\r\n"),
		    {MT_ORIG, mail, 0},
		    {MT_ORIG, rcpt, 0},
		    C("DATA\r\n"),
		    S("250 ok\r\n250 ok\r\n354 go\r\n"),
		    C("Subject: s\r\n\r\nx\r\n.\r\n"),
		    S("250 ok\r\n"),
		};

		free(run_all(segs, sizeof(segs) / sizeof(segs[0])));
	}
	assert_int_equal(count_stream("smtp"), 1);
	r = nth("smtp", 0);
	assert_string_equal(fld(r, "mailfrom"), want_from);
	assert_string_equal(fld(r, "rcptto"), want_rcpt);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_helpers),
	    cmocka_unit_test(test_basic_dialogue),
	    cmocka_unit_test(test_auth_user),
	    cmocka_unit_test(test_nul_bytes_kept),
	    cmocka_unit_test(test_nul_in_line),
	    cmocka_unit_test(test_idle_at_close),
	    cmocka_unit_test(test_smuggling),
	    cmocka_unit_test(test_smuggling_cr),
	    cmocka_unit_test(test_eod_addl),
	    cmocka_unit_test(test_bdat),
	    cmocka_unit_test(test_starttls),
	    cmocka_unit_test(test_starttls_lf_later),
	    cmocka_unit_test_teardown(test_starttls_split_reply, starttls_split_done),
	    cmocka_unit_test(test_violation),
	    cmocka_unit_test(test_rset_starttls),
	    cmocka_unit_test(test_gap),
	    cmocka_unit_test(test_gap_partial_line),
	    cmocka_unit_test(test_bdat_gap_in_chunk),
	    cmocka_unit_test(test_missing_entity_weird),
	    cmocka_unit_test(test_bdat_cr_chunk),
	    cmocka_unit_test(test_bdat0_last_ends_message),
	    cmocka_unit_test(test_bdat_last_reply),
	    cmocka_unit_test(test_data_next_mail),
	    cmocka_unit_test(test_data_srvgap),
	    cmocka_unit_test(test_held_records),
	    cmocka_unit_test(test_data_after_eod_reply),
	    cmocka_unit_test_teardown(test_bdat_line_weirds, mime_line_reset),
	    cmocka_unit_test_teardown(test_auth_unknown_redacted, events_off),
	    cmocka_unit_test(test_limits),
	    cmocka_unit_test(test_address_bytes),
	    cmocka_unit_test(test_long_line),
	    cmocka_unit_test(test_filename_unescape),
	    cmocka_unit_test(test_bulk_body),
	    cmocka_unit_test(test_no_memory),
	    cmocka_unit_test(test_golden_basic),
	    cmocka_unit_test(test_golden_bdat),
	    cmocka_unit_test(test_golden_bdat_0_last),
	    cmocka_unit_test(test_golden_bdat_pipeline),
	    cmocka_unit_test(test_golden_bdat_cmd_invalid),
	    cmocka_unit_test(test_golden_bdat_overflow),
	    cmocka_unit_test(test_golden_tx_invalid),
	    cmocka_unit_test(test_golden_one_side),
	    cmocka_unit_test(test_golden_starttls),
	    cmocka_unit_test(test_golden_events),
	    cmocka_unit_test(test_golden_more),
	    cmocka_unit_test(test_golden_address_limits),
	    cmocka_unit_test(test_golden_files),
	    cmocka_unit_test(test_replay_splits),
	    cmocka_unit_test(test_overlong_lines),
	    cmocka_unit_test(test_cut_data_line),
	    cmocka_unit_test(test_line_max_exact),
	    cmocka_unit_test(test_long_address),
	};
	int r;

	smtp_cfg__default(&g_cfg);
	files_cfg__default(&g_fcfg);
	r = cmocka_run_group_tests(tests, NULL, NULL);

	cap_reset();
	rec__free(g_rec);
	rec_out__free(g_out);
	return r;
}
