// SPDX-License-Identifier: BSD-3-Clause
/* tls.c + x509.c + app_tls.c + rec_ssl.c: the "ssl" app parser against real captures.
 *
 * The TCP payload of each connection is extracted from the corpus pcaps with libpcap (a small
 * in-order reassembly here; after "STARTTLS" / the 220 reply for STARTTLS captures) and fed to
 * app_tls_ops like the engine does. Records are caught by a sink, rendered as Zeek's TSV
 * values, and compared with:
 *  - Zeek's baseline scripts.base.protocols.smtp.starttls ssl.log and x509.log, field by field;
 *  - nDPI's smtp-starttls/smtps results (SNI, version, cipher, JA3/JA3S/JA4) and Arkime's;
 *  - suricata-verify captures (implicit TLS on 465, STARTTLS followed by junk).
 * Every capture is fed per packet, split in two at every byte position, and byte by byte; the
 * records (including their times) must be identical. Synthetic hellos cover TLS 1.3, HRR,
 * alerts, SSLv2, limits and names. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <cmocka.h>
#include <msgpack.h>
#include <pcap/pcap.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "mailtap/engine.h"
#include "mailtap/files.h"
#include "mailtap/ids.h"
#include "mailtap/pkt.h"
#include "mailtap/rec.h"
#include "mailtap/session.h"
#include "mailtap/sink.h"
#include "mailtap/tls.h"
#include "mailtap/x509.h"
#include "corpus.h"
#include "frames.h"


/* ------------------------------------------------------------ captured records */

#define MAX_KV 64
#define MAX_RECS 128

struct line {
	char stream[16];
	int n;
	char *k[MAX_KV], *v[MAX_KV];
};

struct cap {
	struct sink sink;
	struct line recs[MAX_RECS];
	int n;
	char weirds[16][512];
	int n_weirds;
	char fweirds[16][256]; /* file weirds: "name|fuid|addl" */
	int n_fweirds;
	char violations[4][512]; /* "ANALYZER|reason" */
	int n_violations;
	int confirms;
};

/* s[0..n) with control bytes (NUL included) as \xNN, cut to fit out[cap]. */
static void esc_bytes(const char *s, size_t n, char *out, size_t cap)
{
	size_t len = 0;

	for (size_t i = 0; i < n && len + 5 < cap; i++) {
		uint8_t c = (uint8_t)s[i];

		if (c < 0x20)
			len += (size_t)snprintf(out + len, cap - len, "\\x%02x", c);
		else
			out[len++] = (char)c;
	}
	out[len] = 0;
}

static void render(const msgpack_object *o, char *out, size_t cap)
{
	size_t len = 0;

	out[0] = 0;
	switch (o->type) {
	case MSGPACK_OBJECT_BOOLEAN:
		snprintf(out, cap, "%s", o->via.boolean ? "T" : "F");
		break;
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		snprintf(out, cap, "%llu", (unsigned long long)o->via.u64);
		break;
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64:
		snprintf(out, cap, "%.6f", o->via.f64);
		break;
	case MSGPACK_OBJECT_STR:
		esc_bytes(o->via.str.ptr, o->via.str.size, out, cap);
		break;
	case MSGPACK_OBJECT_ARRAY:
		if (o->via.array.size == 0) {
			snprintf(out, cap, "(empty)");
			break;
		}
		for (uint32_t i = 0; i < o->via.array.size; i++) {
			char el[512];

			render(&o->via.array.ptr[i], el, sizeof(el));
			len += (size_t)snprintf(out + len, cap > len ? cap - len : 0, "%s%s",
						i ? "," : "", el);
		}
		break;
	default:
		snprintf(out, cap, "?");
	}
}

static int cap_write(struct sink *s, const char *tag, size_t tag_len, uint64_t ts_ns,
		     const uint8_t *map, size_t len)
{
	struct cap *c = (struct cap *)s;
	msgpack_unpacked u;
	struct line *l;

	assert_true(c->n < MAX_RECS);
	l = &c->recs[c->n++];
	memset(l, 0, sizeof(*l));
	snprintf(l->stream, sizeof(l->stream), "%.*s", (int)(tag_len - 8), tag + 8);
	msgpack_unpacked_init(&u);
	assert_int_equal(msgpack_unpack_next(&u, (const char *)map, len, NULL),
			 MSGPACK_UNPACK_SUCCESS);
	assert_int_equal(u.data.type, MSGPACK_OBJECT_MAP);
	for (uint32_t i = 0; i < u.data.via.map.size && l->n < MAX_KV; i++) {
		const msgpack_object_kv *kv = &u.data.via.map.ptr[i];
		char val[8192];

		render(&kv->val, val, sizeof(val));
		l->k[l->n] = strndup(kv->key.via.str.ptr, kv->key.via.str.size);
		l->v[l->n] = strdup(val);
		l->n++;
	}
	msgpack_unpacked_destroy(&u);
	return 0;
}

static int cap_flush(struct sink *s)
{
	return 0;
}

static int cap_close(struct sink *s)
{
	return 0;
}

static const struct sink_ops cap_ops = {
    .name = "cap", .write = cap_write, .flush = cap_flush, .close = cap_close};

static void cap_reset(struct cap *c)
{
	for (int i = 0; i < c->n; i++)
		for (int j = 0; j < c->recs[i].n; j++) {
			free(c->recs[i].k[j]);
			free(c->recs[i].v[j]);
		}
	memset(c, 0, sizeof(*c));
	c->sink.ops = &cap_ops;
}

static const char *get(const struct line *l, const char *key)
{
	for (int i = 0; i < l->n; i++)
		if (!strcmp(l->k[i], key))
			return l->v[i];
	return "-";
}

static const struct line *nth(const struct cap *c, const char *stream, int n)
{
	for (int i = 0; i < c->n; i++)
		if (!strcmp(c->recs[i].stream, stream) && n-- == 0)
			return &c->recs[i];
	return NULL;
}

static int count(const struct cap *c, const char *stream)
{
	int k = 0;

	for (int i = 0; i < c->n; i++)
		k += !strcmp(c->recs[i].stream, stream);
	return k;
}

/* The whole output as one string, for the split comparisons. */
static char *dump(const struct cap *c)
{
	size_t cap = 1 << 16, len = 0;
	char *s = malloc(cap);

	assert_non_null(s);
	s[0] = 0;
	for (int i = 0; i < c->n; i++) {
		len += (size_t)snprintf(s + len, cap - len, "%s", c->recs[i].stream);
		for (int j = 0; j < c->recs[i].n; j++)
			len += (size_t)snprintf(s + len, cap - len, " %s=%s", c->recs[i].k[j],
						c->recs[i].v[j]);
		len += (size_t)snprintf(s + len, cap - len, "\n");
	}
	for (int i = 0; i < c->n_weirds; i++)
		len += (size_t)snprintf(s + len, cap - len, "weird %s\n", c->weirds[i]);
	for (int i = 0; i < c->n_fweirds; i++)
		len += (size_t)snprintf(s + len, cap - len, "file_weird %s\n", c->fweirds[i]);
	len += (size_t)snprintf(s + len, cap - len, "confirms %d\n", c->confirms);
	assert_true(len < cap);
	return s;
}

/* ------------------------------------------------------------ session */

struct env {
	struct cap cap;
	struct rec_out *out;
	struct rec *rec;
	struct mt_ids ids;
	struct conn_id id;
	struct mt_session s;
	struct tls_cfg cfg;
	struct x509_cache *dedup;
};

static void s_confirm(struct mt_session *s, const char *service)
{
	struct env *e = (struct env *)((char *)s - offsetof(struct env, s));

	assert_string_equal(service, "ssl");
	e->cap.confirms++;
}

static void s_weird(struct mt_session *s, uint64_t ts, const char *name, const char *addl,
		    size_t addl_len, const char *source)
{
	struct env *e = (struct env *)((char *)s - offsetof(struct env, s));
	char a[400];

	(void)source; /* the TLS parser names none */
	esc_bytes(addl ? addl : "-", addl ? addl_len : 1, a, sizeof(a));
	if (e->cap.n_weirds < 16)
		snprintf(e->cap.weirds[e->cap.n_weirds++], sizeof(e->cap.weirds[0]), "%s|%s", name,
			 a);
}

static void s_file_weird(struct mt_session *s, uint64_t ts, const char *name, const char *fuid,
			 const char *addl)
{
	struct env *e = (struct env *)((char *)s - offsetof(struct env, s));

	(void)ts;
	if (e->cap.n_fweirds < 16)
		snprintf(e->cap.fweirds[e->cap.n_fweirds++], sizeof(e->cap.fweirds[0]), "%s|%s|%s",
			 name, fuid, addl && *addl ? addl : "-");
}

static void s_analyzer_violation(struct mt_session *s, uint64_t ts, const char *analyzer,
				 const char *reason, const char *data, size_t len)
{
	struct env *e = (struct env *)((char *)s - offsetof(struct env, s));

	(void)ts;
	assert_null(data); /* Zeek's SSL analyzer gives no data */
	assert_int_equal(len, 0);
	if (e->cap.n_violations < 4)
		snprintf(e->cap.violations[e->cap.n_violations++], sizeof(e->cap.violations[0]),
			 "%s|%s", analyzer, reason);
}

static int s_handoff(struct mt_session *s, const char *parser)
{
	return -ENOENT;
}

static void env_init(struct env *e)
{
	memset(e, 0, sizeof(*e));
	cap_reset(&e->cap);
	e->out = rec_out__new("mailtap");
	assert_non_null(e->out);
	assert_int_equal(rec_out__add_sink(e->out, &e->cap.sink), 0);
	e->rec = rec__new(e->out);
	assert_non_null(e->rec);
	mt_ids__init(&e->ids, 1, 7);
	tls_cfg__default(&e->cfg);
	e->s.uid = "CtestUID";
	e->s.id = &e->id;
	e->s.rec = e->rec;
	e->s.ids = &e->ids;
	e->s.local_orig = e->s.local_resp = -1;
	e->s.confirm = s_confirm;
	e->s.weird = s_weird;
	e->s.file_weird = s_file_weird;
	e->s.analyzer_violation = s_analyzer_violation;
	e->s.handoff = s_handoff;
}

static void env_fini(struct env *e)
{
	cap_reset(&e->cap);
	rec__free(e->rec);
	rec_out__free(e->out);
	x509_cache__free(e->dedup);
}

/* ------------------------------------------------------------ pcap -> streams */

struct chunk {
	enum mt_dir d;
	uint8_t *p;
	size_t len;
	uint64_t ts;
};

struct seg {
	uint32_t seq;
	uint8_t *p;
	size_t len;
	uint64_t ts;
};

struct conn {
	struct conn_id id;
	bool have_isn[2];
	uint32_t next[2];
	struct seg pend[2][64];
	int n_pend[2];
	struct chunk ch[2048];
	int n;
};

struct capfile {
	struct conn c[8];
	int n;
};

static void add_chunk(struct conn *c, enum mt_dir d, const uint8_t *p, size_t len, uint64_t ts)
{
	struct chunk *k;

	if (!len)
		return;
	assert_true(c->n < 2048);
	k = &c->ch[c->n++];
	k->d = d;
	k->p = malloc(len);
	assert_non_null(k->p);
	memcpy(k->p, p, len);
	k->len = len;
	k->ts = ts;
}

/* In-order delivery: trims retransmitted bytes, holds segments that come early. */
static void deliver(struct conn *c, enum mt_dir d, uint32_t seq, const uint8_t *p, size_t len,
		    uint64_t ts)
{
	int32_t off = (int32_t)(c->next[d] - seq);

	if (off > 0) {
		if ((size_t)off >= len)
			return;
		p += off;
		len -= (size_t)off;
		seq += (uint32_t)off;
	}
	if (seq != c->next[d]) {
		struct seg *s = &c->pend[d][c->n_pend[d]++];

		assert_true(c->n_pend[d] < 64);
		s->seq = seq;
		s->p = malloc(len);
		memcpy(s->p, p, len);
		s->len = len;
		s->ts = ts;
		return;
	}
	add_chunk(c, d, p, len, ts);
	c->next[d] += (uint32_t)len;
	for (bool again = true; again;) {
		again = false;
		for (int i = 0; i < c->n_pend[d]; i++) {
			struct seg s = c->pend[d][i];

			if ((int32_t)(c->next[d] - s.seq) < 0)
				continue;
			c->pend[d][i] = c->pend[d][--c->n_pend[d]];
			deliver(c, d, s.seq, s.p, s.len, ts);
			free(s.p);
			again = true;
			break;
		}
	}
}

static void read_pcap(const char *path, struct capfile *cf)
{
	char err[PCAP_ERRBUF_SIZE];
	pcap_t *pc = pcap_open_offline(path, err);
	struct pcap_pkthdr *h;
	const u_char *pkt;
	int dlt;

	memset(cf, 0, sizeof(*cf));
	assert_non_null(pc);
	dlt = pcap_datalink(pc);
	while (pcap_next_ex(pc, &h, &pkt) == 1) {
		const uint8_t *p = pkt, *end = pkt + h->caplen;
		uint16_t et = 0;
		struct mt_addr src, dst;
		uint8_t proto;

		if (dlt == DLT_EN10MB) {
			if (end - p < 14)
				continue;
			et = (uint16_t)(p[12] << 8 | p[13]);
			p += 14;
			while (et == 0x8100 && end - p >= 4) {
				et = (uint16_t)(p[2] << 8 | p[3]);
				p += 4;
			}
		} else if (dlt == DLT_NULL) {
			uint32_t fam;

			memcpy(&fam, p, 4);
			p += 4;
			et = (fam == 2 || fam == 0x02000000) ? 0x0800 : 0x86dd;
		} else {
			fail_msg("linktype %d", dlt);
		}
		if (et == 0x0800) {
			size_t ihl = (size_t)(p[0] & 0xf) * 4;

			proto = p[9];
			mt_addr__from_v4(&src, p + 12);
			mt_addr__from_v4(&dst, p + 16);
			end = p + (p[2] << 8 | p[3]) < end ? p + (p[2] << 8 | p[3]) : end;
			p += ihl;
		} else if (et == 0x86dd) {
			proto = p[6];
			mt_addr__from_v6(&src, p + 8);
			mt_addr__from_v6(&dst, p + 24);
			end = p + 40 + (p[4] << 8 | p[5]) < end ? p + 40 + (p[4] << 8 | p[5]) : end;
			p += 40;
		} else {
			continue;
		}
		if (proto != 6 || end - p < 20)
			continue;
		uint16_t sp = (uint16_t)(p[0] << 8 | p[1]), dp = (uint16_t)(p[2] << 8 | p[3]);
		uint32_t seq =
		    (uint32_t)p[4] << 24 | (uint32_t)p[5] << 16 | (uint32_t)p[6] << 8 | p[7];
		uint8_t flags = p[13];
		size_t thl = (size_t)(p[12] >> 4) * 4;
		uint64_t ts =
		    (uint64_t)h->ts.tv_sec * 1000000000ull + (uint64_t)h->ts.tv_usec * 1000;
		struct conn *c = NULL;
		enum mt_dir d = MT_ORIG;

		for (int i = 0; i < cf->n; i++) {
			struct conn *x = &cf->c[i];

			if (!mt_addr__cmp(&x->id.orig_h, &src) &&
			    !mt_addr__cmp(&x->id.resp_h, &dst) && x->id.orig_p == sp &&
			    x->id.resp_p == dp) {
				c = x;
				d = MT_ORIG;
			} else if (!mt_addr__cmp(&x->id.orig_h, &dst) &&
				   !mt_addr__cmp(&x->id.resp_h, &src) && x->id.orig_p == dp &&
				   x->id.resp_p == sp) {
				c = x;
				d = MT_RESP;
			}
		}
		if (!c) {
			assert_true(cf->n < 8);
			c = &cf->c[cf->n++];
			/* the SYN sender (or the first sender) is the originator; a SYN-ACK
			 * first means the other side is */
			bool synack = (flags & 0x12) == 0x12;

			c->id.orig_h = synack ? dst : src;
			c->id.resp_h = synack ? src : dst;
			c->id.orig_p = synack ? dp : sp;
			c->id.resp_p = synack ? sp : dp;
			c->id.proto = 6;
			d = synack ? MT_RESP : MT_ORIG;
		}
		if (flags & 0x02) {
			c->have_isn[d] = true;
			c->next[d] = seq + 1;
			continue;
		}
		if (thl > (size_t)(end - p))
			continue;
		if (!c->have_isn[d]) {
			c->have_isn[d] = true;
			c->next[d] = seq;
		}
		deliver(c, d, seq, p + thl, (size_t)(end - p) - thl, ts);
	}
	pcap_close(pc);
}

static void free_capfile(struct capfile *cf)
{
	for (int i = 0; i < cf->n; i++) {
		for (int j = 0; j < cf->c[i].n; j++)
			free(cf->c[i].ch[j].p);
		for (int d = 0; d < 2; d++)
			for (int j = 0; j < cf->c[i].n_pend[d]; j++)
				free(cf->c[i].pend[d][j].p);
	}
}

/* Drops the SMTP part of a STARTTLS connection: client bytes up to and including the
 * STARTTLS line, server bytes up to and including the first 220 line after it. */
static void strip_starttls(struct conn *c)
{
	bool cdone = false, sdone = false, cstart = false;
	int w = 0;

	for (int i = 0; i < c->n; i++) {
		struct chunk *k = &c->ch[i];
		size_t skip = 0;

		if (k->d == MT_ORIG && !cdone) {
			char *m = memmem(k->p, k->len, "STARTTLS", 8);

			if (!m)
				m = memmem(k->p, k->len, "starttls", 8);
			skip = k->len;
			if (m) {
				char *nl = memchr(m, '\n', k->len - (size_t)((uint8_t *)m - k->p));

				cstart = cdone = true;
				skip = nl ? (size_t)((uint8_t *)nl - k->p) + 1 : k->len;
			}
		} else if (k->d == MT_RESP && !sdone) {
			skip = k->len;
			if (cstart) {
				uint8_t *q = k->p;

				while (q < k->p + k->len) {
					uint8_t *nl = memchr(q, '\n', (size_t)(k->p + k->len - q));
					bool is220 = k->p + k->len - q >= 3 && !memcmp(q, "220", 3);

					if (!nl)
						break;
					q = nl + 1;
					if (is220) {
						sdone = true;
						skip = (size_t)(q - k->p);
						break;
					}
				}
			}
		}
		if (skip == k->len) {
			free(k->p);
			continue;
		}
		memmove(k->p, k->p + skip, k->len - skip);
		k->len -= skip;
		c->ch[w++] = *k;
	}
	c->n = w;
}

/* ------------------------------------------------------------ driving the parser */

enum mode { M_PACKETS, M_SPLIT, M_BYTES, M_COALESCE };

static void *start(struct env *e, const struct conn *c)
{
	void *p;

	e->id = c->id;
	p = app_tls_ops.new(&e->s, &e->cfg);
	assert_non_null(p);
	return p;
}

/* Connections whose parser said idle once both directions had ended, and the others. */
static int g_idle_ends, g_busy_ends;

/* Feeds one connection; returns the first feed error (0 if none). */
static int run(struct env *e, const struct conn *c, enum mode m, size_t split_at)
{
	void *p = start(e, c);
	int err = 0, before;
	bool idle;
	size_t off = 0;
	uint64_t last_ts = 0;

	for (int i = 0; i < c->n && !err; i++) {
		const struct chunk *k = &c->ch[i];
		ssize_t r;

		last_ts = k->ts;
		if (m == M_COALESCE) {
			size_t len = k->len;
			uint8_t *buf = malloc(len);
			int j = i;

			memcpy(buf, k->p, len);
			while (j + 1 < c->n && c->ch[j + 1].d == k->d) {
				j++;
				buf = realloc(buf, len + c->ch[j].len);
				memcpy(buf + len, c->ch[j].p, c->ch[j].len);
				len += c->ch[j].len;
			}
			r = app_tls_ops.feed(p, k->d, buf, len, c->ch[j].ts);
			free(buf);
			last_ts = c->ch[j].ts;
			i = j;
			if (r < 0)
				err = (int)r;
			else
				assert_int_equal((size_t)r, len);
			continue;
		}
		if (m == M_BYTES) {
			for (size_t b = 0; b < k->len && !err; b++) {
				r = app_tls_ops.feed(p, k->d, k->p + b, 1, k->ts);
				if (r < 0)
					err = (int)r;
				else
					assert_int_equal(r, 1);
			}
			off += k->len;
			continue;
		}
		if (m == M_SPLIT && split_at > off && split_at < off + k->len) {
			size_t a = split_at - off;

			r = app_tls_ops.feed(p, k->d, k->p, a, k->ts);
			if (r < 0) {
				err = (int)r;
				break;
			}
			assert_int_equal((size_t)r, a);
			r = app_tls_ops.feed(p, k->d, k->p + a, k->len - a, k->ts);
			if (r < 0)
				err = (int)r;
			else
				assert_int_equal((size_t)r, k->len - a);
		} else {
			r = app_tls_ops.feed(p, k->d, k->p, k->len, k->ts);
			if (r < 0)
				err = (int)r;
			else
				assert_int_equal((size_t)r, k->len);
		}
		off += k->len;
	}
	app_tls_ops.eof(p, MT_ORIG, last_ts);
	app_tls_ops.eof(p, MT_RESP, last_ts);
	/* the engine ends an idle parser once both directions have: its end must write nothing */
	idle = app_tls_ops.idle(p);
	before = e->cap.n + e->cap.n_weirds + e->cap.n_fweirds;
	app_tls_ops.end(p, last_ts + 1000);
	app_tls_ops.free(p);
	if (idle && e->cap.n + e->cap.n_weirds + e->cap.n_fweirds != before)
		fail_msg("idle TLS parser wrote %d records at its end",
			 e->cap.n + e->cap.n_weirds + e->cap.n_fweirds - before);
	if (idle)
		g_idle_ends++;
	else
		g_busy_ends++;
	return err;
}

static size_t total_bytes(const struct conn *c)
{
	size_t n = 0;

	for (int i = 0; i < c->n; i++)
		n += c->ch[i].len;
	return n;
}

/* Per packet = split anywhere = byte by byte (records including times); coalesced feeds give
 * the same records except for times. Returns the per-packet output (caller frees). */
static char *check_splits(const struct conn *c, int *err_out, struct env *res)
{
	struct env e;
	char *ref, *got;
	size_t total = total_bytes(c);
	int err;

	char streams[MAX_RECS][16];
	int n_ref;

	env_init(&e);
	err = run(&e, c, M_PACKETS, 0);
	ref = dump(&e.cap);
	n_ref = e.cap.n;
	for (int i = 0; i < n_ref; i++)
		memcpy(streams[i], e.cap.recs[i].stream, 16);
	if (res) {
		/* hand the first run's records to the caller */
		*res = e;
		res->s.rec = NULL;
	} else {
		env_fini(&e);
	}
	*err_out = err;

	for (size_t k = 1; k < total; k++) {
		env_init(&e);
		assert_int_equal(run(&e, c, M_SPLIT, k), err);
		got = dump(&e.cap);
		if (strcmp(ref, got))
			fail_msg("split at %zu differs:\n%s\n---\n%s", k, ref, got);
		free(got);
		env_fini(&e);
	}
	env_init(&e);
	assert_int_equal(run(&e, c, M_BYTES, 0), err);
	got = dump(&e.cap);
	assert_string_equal(ref, got);
	free(got);
	env_fini(&e);

	env_init(&e);
	assert_int_equal(run(&e, c, M_COALESCE, 0), err);
	assert_int_equal(e.cap.n, n_ref);
	for (int i = 0; i < n_ref; i++)
		assert_string_equal(e.cap.recs[i].stream, streams[i]);
	env_fini(&e);
	return ref;
}

/* ------------------------------------------------------------ Zeek baseline comparison */

struct tsv {
	char *fields[64];
	int nf;
	char *rows[8][64];
	int nr;
};

static void read_tsv(const char *path, struct tsv *t)
{
	FILE *f = fopen(path, "r");
	char line[16384];

	memset(t, 0, sizeof(*t));
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		char *rest, *tok;
		int n = 0;

		line[strcspn(line, "\n")] = 0;
		if (!strncmp(line, "#fields\t", 8)) {
			rest = line + 8;
			while ((tok = strsep(&rest, "\t")) && t->nf < 64)
				t->fields[t->nf++] = strdup(tok);
			continue;
		}
		if (line[0] == '#' || !line[0])
			continue;
		rest = line;
		while ((tok = strsep(&rest, "\t")) && n < 64)
			t->rows[t->nr][n++] = strdup(tok);
		t->nr++;
	}
	fclose(f);
}

static void free_tsv(struct tsv *t)
{
	for (int i = 0; i < t->nf; i++)
		free(t->fields[i]);
	for (int r = 0; r < t->nr; r++)
		for (int i = 0; i < t->nf; i++)
			free(t->rows[r][i]);
}

/* Every baseline column except the masked ts and Zeek's uid must equal ours. */
static void compare_row(const struct tsv *t, int row, const struct line *l)
{
	for (int i = 0; i < t->nf; i++) {
		const char *f = t->fields[i];

		if (!strcmp(f, "ts") || !strcmp(f, "uid") || !strncmp(f, "id.", 3))
			continue;
		if (strcmp(t->rows[row][i], get(l, f)))
			fail_msg("%s: zeek '%s' mailtap '%s'", f, t->rows[row][i], get(l, f));
	}
}

/* ------------------------------------------------------------ tests: captures */

static bool have(const char *path)
{
	if (access(path, R_OK) == 0)
		return true;
	print_message("skipping: %s not found\n", path);
	return false;
}

static void test_zeek_starttls(void **state)
{
	const char *pcap = CORPUS "zeek/traces/tls/smtp-starttls.pcap";
	const char *base = CORPUS "zeek/baselines/scripts.base.protocols.smtp.starttls/";
	char path[512];
	struct capfile cf;
	struct env e;
	struct tsv ssl, x509;
	int err;
	char *ref;

	if (!have(pcap))
		skip();
	read_pcap(pcap, &cf);
	assert_int_equal(cf.n, 1);
	strip_starttls(&cf.c[0]);
	ref = check_splits(&cf.c[0], &err, &e);
	if (getenv("TLS_TEST_VERBOSE"))
		print_message("%s", ref);
	free(ref);
	assert_int_equal(err, 0);
	assert_int_equal(e.cap.confirms, 1);
	assert_int_equal(e.cap.n_weirds, 0);

	snprintf(path, sizeof(path), "%sssl.log", base);
	read_tsv(path, &ssl);
	snprintf(path, sizeof(path), "%sx509.log", base);
	read_tsv(path, &x509);
	assert_int_equal(count(&e.cap, "ssl"), 1);
	compare_row(&ssl, 0, nth(&e.cap, "ssl", 0));
	assert_int_equal(count(&e.cap, "x509"), x509.nr);
	for (int i = 0; i < x509.nr; i++)
		compare_row(&x509, i, nth(&e.cap, "x509", i));
	/* the order Zeek writes them: certificates (x509 after each file), then ssl */
	assert_string_equal(e.cap.recs[0].stream, "files");
	assert_string_equal(e.cap.recs[1].stream, "x509");
	assert_string_equal(e.cap.recs[e.cap.n - 1].stream, "ssl");
	/* files records per certificate (X509::log_x509_in_files_log = T style) */
	assert_int_equal(count(&e.cap, "files"), 3);
	const struct line *f0 = nth(&e.cap, "files", 0), *f1 = nth(&e.cap, "files", 1);

	assert_string_equal(get(f0, "source"), "SSL");
	assert_string_equal(get(f0, "mime_type"), "application/x-x509-user-cert");
	assert_string_equal(get(f1, "mime_type"), "application/x-x509-ca-cert");
	assert_string_equal(get(f0, "is_orig"), "F");
	assert_string_equal(get(f0, "depth"), "0");
	assert_string_equal(get(f0, "analyzers"), "MD5,SHA1,SHA256,X509");
	/* sha1 of the host certificate, as nDPI/Arkime show it */
	assert_string_equal(get(f0, "sha1"), "45156ae749634094f9ab091ef5a7336df37b28fc");
	assert_string_equal(get(f0, "sha256"), get(nth(&e.cap, "x509", 0), "fingerprint"));
	/* our extra fields: Arkime's values for this very handshake are in arkime/ */
	const struct line *s = nth(&e.cap, "ssl", 0);

	assert_int_equal(strlen(get(s, "ja3")), 32);
	assert_int_equal(strlen(get(s, "ja4")), 36);
	assert_memory_equal(get(s, "ja4s"), "t12", 3);
	free_tsv(&ssl);
	free_tsv(&x509);
	env_fini(&e);
	free_capfile(&cf);
}

static void test_ndpi_starttls(void **state)
{
	const char *pcap = CORPUS "ndpi/pcap/smtp-starttls.pcap";
	struct capfile cf;
	struct env e;
	int err;
	char *ref;

	if (!have(pcap))
		skip();
	read_pcap(pcap, &cf);
	assert_int_equal(cf.n, 2);
	for (int i = 0; i < 2; i++) {
		const struct conn *c = &cf.c[i];
		bool v6 = !mt_addr__is_v4(&c->id.orig_h);
		const struct line *s, *x;

		strip_starttls(&cf.c[i]);
		ref = check_splits(c, &err, &e);
		free(ref);
		assert_int_equal(err, 0);
		s = nth(&e.cap, "ssl", 0);
		assert_non_null(s);
		x = nth(&e.cap, "x509", 0);
		assert_non_null(x);
		assert_string_equal(get(s, "established"), "T");
		if (!v6) {
			/* nDPI flow 1: [TLSv1][JA3C: fab507fe...][JA3S: 6b96cf9c...]
			 * [Cipher: TLS_RSA_WITH_RC4_128_SHA]; the ClientHello has no SNI (nDPI's
			 * "mx.google.com" comes from the SMTP banner, and so does the 'd' in its
			 * JA4; Arkime's JA4 for the same hello is t10i290100_...) */
			assert_string_equal(get(s, "version"), "TLSv10");
			assert_string_equal(get(s, "cipher"), "TLS_RSA_WITH_RC4_128_SHA");
			assert_string_equal(get(s, "server_name"), "-");
			assert_string_equal(get(s, "ja3"), "fab507fe132c544e8a0eb7c394affeae");
			assert_string_equal(get(s, "ja3s"), "6b96cf9c27b0223177b0e9f135fe4899");
			assert_string_equal(get(s, "ja4"), "t10i290100_cdba58456bdf_e78b541c01a9");
			assert_string_equal(
			    get(x, "certificate.subject"),
			    "CN=mx.google.com,O=Google Inc,L=Mountain View,ST=California,C=US");
			assert_string_equal(get(x, "certificate.issuer"),
					    "CN=Google Internet Authority G2,O=Google Inc,C=US");
			assert_string_equal(get(s, "sni_matches_cert"), "-");
		} else {
			/* nDPI flow 2: [Hostname/SNI: dovecot.weberlab.de][TLSv1.2]
			 * [JA3C: 7b38238e...][JA4: t12d150900_073e58a039a6_b44afb9f0e6a]
			 * [JA3S: ccc51475...][Cipher: TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256]
			 * [Subject: CN=jw-vm08-int-dns] */
			assert_string_equal(get(s, "version"), "TLSv12");
			assert_string_equal(get(s, "cipher"),
					    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");
			assert_string_equal(get(s, "server_name"), "dovecot.weberlab.de");
			assert_string_equal(get(s, "ja3"), "7b38238e17474b8f6d113523bb5a8dd9");
			assert_string_equal(get(s, "ja3s"), "ccc514751b175866924439bdbb5bba34");
			assert_string_equal(get(s, "ja4"), "t12d150900_073e58a039a6_b44afb9f0e6a");
			assert_string_equal(get(x, "certificate.subject"), "CN=jw-vm08-int-dns");
			assert_string_equal(get(x, "certificate.issuer"), "CN=jw-vm08-int-dns");
			assert_string_equal(get(s, "sni_matches_cert"), "F");
			assert_string_equal(get(nth(&e.cap, "files", 0), "sha1"),
					    "ad1b576cacbe465465f61d6d852a3816077d3117");
		}
		env_fini(&e);
	}
	free_capfile(&cf);
}

/* Implicit TLS on 465 to a server that answers in plain SMTP: the ClientHello confirms ssl,
 * the server's "220" is a protocol violation; the ssl record keeps what was seen. */
static void implicit_tls_plain_server(const char *pcap, const char *ja3, const char *ja4)
{
	struct capfile cf;
	struct env e;
	int err;
	char *ref;
	const struct line *s;

	read_pcap(pcap, &cf);
	assert_int_equal(cf.n, 1);
	assert_int_equal(cf.c[0].id.resp_p, 465);
	assert_int_equal(tls__probe(cf.c[0].ch[0].p, cf.c[0].ch[0].len), 1);
	ref = check_splits(&cf.c[0], &err, &e);
	free(ref);
	assert_int_equal(err, -EPROTO);
	assert_int_equal(e.cap.confirms, 1);
	assert_int_equal(count(&e.cap, "ssl"), 1);
	s = nth(&e.cap, "ssl", 0);
	assert_string_equal(get(s, "ssl_history"), "C");
	assert_string_equal(get(s, "established"), "F");
	assert_string_equal(get(s, "version"), "-");
	assert_string_equal(get(s, "server_name"), "-");
	assert_string_equal(get(s, "cert_chain_fps"), "-");
	if (ja3)
		assert_string_equal(get(s, "ja3"), ja3);
	if (ja4)
		assert_string_equal(get(s, "ja4"), ja4);
	assert_int_equal(e.cap.n_weirds, 0);
	assert_int_equal(e.cap.n_violations, 1);
	assert_string_equal(e.cap.violations[0], "SSL|Invalid version late in TLS "
						 "connection. Packet reported version: 12848");
	env_fini(&e);
	free_capfile(&cf);
}

static void test_ndpi_smtps(void **state)
{
	const char *pcap = CORPUS "ndpi/pcap/smtps.pcapng";

	if (!have(pcap))
		skip();
	/* nDPI: [TLSv1.2][JA3C: f17ca639ecdcaa65b4521c49e3515ef9]
	 * [JA4: t12d860600_e18388e7f3a3_4446390ac224] with "Missing SNI": the standard JA4 for a
	 * hello without SNI has 'i' (nDPI takes the 'd' from the server's SMTP banner name). */
	implicit_tls_plain_server(pcap, "f17ca639ecdcaa65b4521c49e3515ef9",
				  "t12i860600_e18388e7f3a3_4446390ac224");
}

static void test_suricata_protodetect(void **state)
{
	const char *pcap = CORPUS "suricata-verify/smtp-tls-protodetect/input.pcap";

	if (!have(pcap))
		skip();
	implicit_tls_plain_server(pcap, NULL, NULL);
}

/* STARTTLS answered by "220 2tart" lines instead of TLS: an analyzer violation (no weird),
 * no ssl record, not confirmed, feed fails with -EPROTO. */
static void test_protocol_change_failed(void **state)
{
	const char *pcap = CORPUS "suricata-verify/protocol-change-failed-event/input.pcap";
	struct capfile cf;
	struct env e;
	int err;
	char *ref;

	if (!have(pcap))
		skip();
	read_pcap(pcap, &cf);
	assert_int_equal(cf.n, 1);
	strip_starttls(&cf.c[0]);
	assert_int_equal(tls__probe(cf.c[0].ch[0].p, cf.c[0].ch[0].len), 0);
	ref = check_splits(&cf.c[0], &err, &e);
	free(ref);
	assert_int_equal(err, -EPROTO);
	assert_int_equal(e.cap.confirms, 0);
	assert_int_equal(e.cap.n, 0);
	assert_int_equal(e.cap.n_weirds, 0);
	assert_int_equal(e.cap.n_violations, 1);
	/* "220 2tart": head1/head2 = '2','0' -> 0x3230 */
	assert_string_equal(e.cap.violations[0],
			    "SSL|Invalid version in TLS connection. Version: 12848");
	env_fini(&e);
	free_capfile(&cf);
}

/* suricata-verify smtp-errors, the 465 connection: server banner first, the client sends a
 * ClientHello anyway. As an ssl parser from the first byte, the banner is a violation before any
 * TLS was seen: no record, no confirmation. */
static void test_smtp_errors_465(void **state)
{
	const char *pcap = CORPUS "suricata-verify/smtp-errors/smtperr.pcap";
	struct capfile cf;
	struct env e;
	int err, idx = -1;
	char *ref;

	if (!have(pcap))
		skip();
	read_pcap(pcap, &cf);
	for (int i = 0; i < cf.n; i++)
		if (cf.c[i].id.resp_p == 465)
			idx = i;
	assert_int_not_equal(idx, -1);
	assert_int_equal(cf.c[idx].ch[0].d, MT_RESP);
	assert_int_equal(tls__probe(cf.c[idx].ch[0].p, cf.c[idx].ch[0].len), 0);
	ref = check_splits(&cf.c[idx], &err, &e);
	free(ref);
	assert_int_equal(err, -EPROTO);
	assert_int_equal(e.cap.confirms, 0);
	assert_int_equal(count(&e.cap, "ssl"), 0);
	env_fini(&e);
	free_capfile(&cf);
}

static void test_arkime_starttls(void **state)
{
	const char *pcap = CORPUS "arkime/smtp-starttls.pcap";
	struct capfile cf;
	struct env e;
	int err;
	char *ref;
	const struct line *s;

	if (!have(pcap))
		skip();
	read_pcap(pcap, &cf);
	assert_int_equal(cf.n, 1);
	strip_starttls(&cf.c[0]);
	ref = check_splits(&cf.c[0], &err, &e);
	free(ref);
	assert_int_equal(err, 0);
	s = nth(&e.cap, "ssl", 0);
	assert_non_null(s);
	/* Arkime: cipher TLS_RSA_WITH_RC4_128_SHA, version TLSv1, ja3 fab507fe..., ja3s
	 * 6b96cf9c..., ja4 t10i290100_cdba58456bdf_e78b541c01a9, three certificates with serials
	 * 023a69, 325d8297987d50b0, 12bbe6 */
	assert_string_equal(get(s, "cipher"), "TLS_RSA_WITH_RC4_128_SHA");
	assert_string_equal(get(s, "version"), "TLSv10");
	assert_string_equal(get(s, "ja3"), "fab507fe132c544e8a0eb7c394affeae");
	assert_string_equal(get(s, "ja3s"), "6b96cf9c27b0223177b0e9f135fe4899");
	assert_string_equal(get(s, "ja4"), "t10i290100_cdba58456bdf_e78b541c01a9");
	assert_int_equal(count(&e.cap, "x509"), 3);
	assert_string_equal(get(nth(&e.cap, "x509", 0), "certificate.serial"), "325D8297987D50B0");
	assert_string_equal(get(nth(&e.cap, "x509", 1), "certificate.serial"), "023A69");
	assert_string_equal(get(nth(&e.cap, "x509", 2), "certificate.serial"), "12BBE6");
	assert_string_equal(get(nth(&e.cap, "x509", 2), "certificate.subject"),
			    "CN=GeoTrust Global CA,O=GeoTrust Inc.,C=US");
	env_fini(&e);
	free_capfile(&cf);
}

static void test_suricata_startssl(void **state)
{
	const char *pcap = CORPUS "suricata-verify/smtp-startssl/input.pcap";
	struct capfile cf;
	struct env e;
	int err;
	char *ref;
	const struct line *s;

	if (!have(pcap))
		skip();
	read_pcap(pcap, &cf);
	assert_int_equal(cf.n, 1);
	strip_starttls(&cf.c[0]);
	ref = check_splits(&cf.c[0], &err, &e);
	if (getenv("TLS_TEST_VERBOSE"))
		print_message("%s", ref);
	free(ref);
	assert_int_equal(err, 0);
	assert_int_equal(e.cap.confirms, 1);
	s = nth(&e.cap, "ssl", 0);
	assert_non_null(s);
	env_fini(&e);
	free_capfile(&cf);
}

/* The x509 dedup cache: the second connection with the same chain logs no x509 records. */
static void test_x509_dedup(void **state)
{
	const char *pcap = CORPUS "zeek/traces/tls/smtp-starttls.pcap";
	struct capfile cf;
	struct env e;

	if (!have(pcap))
		skip();
	read_pcap(pcap, &cf);
	strip_starttls(&cf.c[0]);
	env_init(&e);
	e.dedup = x509_cache__new(1000, 86400ull * 1000000000ull);
	e.cfg.x509_dedup = e.dedup;
	assert_int_equal(run(&e, &cf.c[0], M_PACKETS, 0), 0);
	assert_int_equal(count(&e.cap, "x509"), 3);
	assert_int_equal(run(&e, &cf.c[0], M_PACKETS, 0), 0);
	assert_int_equal(count(&e.cap, "x509"), 3);
	assert_int_equal(count(&e.cap, "ssl"), 2);
	/* the fingerprints are still in the second ssl record */
	assert_string_equal(get(nth(&e.cap, "ssl", 1), "cert_chain_fps"),
			    get(nth(&e.cap, "ssl", 0), "cert_chain_fps"));
	/* a day later they are logged again */
	for (int i = 0; i < cf.c[0].n; i++)
		cf.c[0].ch[i].ts += 86401ull * 1000000000ull;
	assert_int_equal(run(&e, &cf.c[0], M_PACKETS, 0), 0);
	assert_int_equal(count(&e.cap, "x509"), 6);
	/* no files records when disabled */
	e.cfg.log_x509_in_files = false;
	cap_reset(&e.cap);
	assert_int_equal(run(&e, &cf.c[0], M_PACKETS, 0), 0);
	assert_int_equal(count(&e.cap, "files"), 0);
	env_fini(&e);
	free_capfile(&cf);
}

/* The sni_matches_cert memo of the x509 cache. */
static void test_x509_sni_memo(void **state)
{
	static const char fp1[65] =
	    "1d573fd49bd52c3a56891f0a8ce0b89bff8ab63092a0d6c66d2396ddb2af0443";
	static const char fp2[65] =
	    "0000000000000000000000000000000000000000000000000000000000000001";
	struct x509_cache *c = x509_cache__new(1000, 86400ull * 1000000000ull);
	char longsni[80];

	(void)state;
	assert_non_null(c);
	assert_int_equal(x509_cache__sni_get(c, fp1, "mx.example.net"), -1);
	x509_cache__sni_put(c, fp1, "mx.example.net", true);
	x509_cache__sni_put(c, fp1, "mx1.example.net", false);
	assert_int_equal(x509_cache__sni_get(c, fp1, "mx.example.net"), 1);
	assert_int_equal(x509_cache__sni_get(c, fp1, "mx1.example.net"), 0);
	assert_int_equal(x509_cache__sni_get(c, fp2, "mx.example.net"), -1); /* other cert */
	assert_int_equal(x509_cache__sni_get(c, fp1, "mx.example.ne"), -1);  /* other name */
	assert_int_equal(x509_cache__sni_get(c, fp1, ""), -1);
	memset(longsni, 'a', sizeof(longsni) - 1);
	longsni[sizeof(longsni) - 1] = 0;
	x509_cache__sni_put(c, fp1, longsni, true); /* too long to remember */
	assert_int_equal(x509_cache__sni_get(c, fp1, longsni), -1);
	/* a slot taken by another pair answers "unknown", never the other pair's answer */
	for (int i = 0; i < 2000; i++) {
		char sni[32];

		snprintf(sni, sizeof(sni), "h%d.example.net", i);
		x509_cache__sni_put(c, fp2, sni, i & 1);
	}
	for (int i = 0; i < 2000; i++) {
		char sni[32];
		int m;

		snprintf(sni, sizeof(sni), "h%d.example.net", i);
		m = x509_cache__sni_get(c, fp2, sni);
		assert_true(m == -1 || m == (i & 1));
	}
	x509_cache__free(c);
	assert_int_equal(x509_cache__sni_get(NULL, fp1, "mx.example.net"), -1);
}

/* ------------------------------------------------------------ synthetic handshakes */

/* A tiny builder for records. */
struct bld {
	uint8_t b[4096];
	size_t n;
};

static void put(struct bld *b, const void *p, size_t n)
{
	assert_true(b->n + n <= sizeof(b->b));
	memcpy(b->b + b->n, p, n);
	b->n += n;
}

static void u8(struct bld *b, unsigned v)
{
	uint8_t x = (uint8_t)v;

	put(b, &x, 1);
}

static void u16(struct bld *b, unsigned v)
{
	u8(b, v >> 8);
	u8(b, v);
}

static void u24(struct bld *b, unsigned v)
{
	u8(b, v >> 16);
	u16(b, v & 0xffff);
}

/* Wraps body as a handshake message of type t inside a record of content type 22. */
static void hs_record(struct bld *out, unsigned t, const struct bld *body)
{
	u8(out, 22);
	u16(out, 0x0301);
	u16(out, (unsigned)body->n + 4);
	u8(out, t);
	u24(out, (unsigned)body->n);
	put(out, body->b, body->n);
}

static void record(struct bld *out, unsigned ct, const void *p, size_t n)
{
	u8(out, ct);
	u16(out, 0x0303);
	u16(out, (unsigned)n);
	put(out, p, n);
}

/* TLS 1.3 ClientHello: GREASE cipher, SNI "mail.example.org", ALPN "smtp", supported_versions
 * {GREASE, 1.3, 1.2}, key_share x25519, sig algs, PSK modes. */
static void tls13_client_hello_n(struct bld *ch, const char *sni, size_t sl)
{
	struct bld e = {.n = 0}, x = {.n = 0};

	u16(ch, 0x0303);
	for (int i = 0; i < 32; i++)
		u8(ch, i);
	u8(ch, 32); /* legacy session id */
	for (int i = 0; i < 32; i++)
		u8(ch, 0xa0 + i);
	u16(ch, 8);
	u16(ch, 0x3a3a); /* GREASE */
	u16(ch, 0x1301);
	u16(ch, 0x1302);
	u16(ch, 0xc02f);
	u8(ch, 1);
	u8(ch, 0);
	/* server_name */
	u16(&x, 0x0000);
	u16(&x, (unsigned)sl + 5);
	u16(&x, (unsigned)sl + 3);
	u8(&x, 0);
	u16(&x, (unsigned)sl);
	put(&x, sni, sl);
	/* GREASE extension */
	u16(&x, 0x0a0a);
	u16(&x, 0);
	/* supported_groups x25519, secp256r1 */
	u16(&x, 10);
	u16(&x, 6);
	u16(&x, 4);
	u16(&x, 29);
	u16(&x, 23);
	/* ALPN "smtp" */
	u16(&x, 16);
	u16(&x, 7);
	u16(&x, 5);
	u8(&x, 4);
	put(&x, "smtp", 4);
	/* signature_algorithms */
	u16(&x, 13);
	u16(&x, 6);
	u16(&x, 4);
	u16(&x, 0x0403);
	u16(&x, 0x0804);
	/* supported_versions */
	u16(&x, 43);
	u16(&x, 7);
	u8(&x, 6);
	u16(&x, 0x7a7a);
	u16(&x, 0x0304);
	u16(&x, 0x0303);
	/* key_share x25519 with a 32-byte key */
	u16(&x, 51);
	u16(&x, 38);
	u16(&x, 36);
	u16(&x, 29);
	u16(&x, 32);
	for (int i = 0; i < 32; i++)
		u8(&x, i);
	u16(ch, (unsigned)x.n);
	put(ch, x.b, x.n);
	(void)e;
}

static void tls13_client_hello(struct bld *ch, const char *sni)
{
	tls13_client_hello_n(ch, sni, strlen(sni));
}


/* alpn (alen bytes): the ALPN extension with that one protocol; NULL: none. */
static void tls13_server_hello_alpn(struct bld *sh, bool hrr, unsigned group, const char *alpn,
				    size_t alen)
{
	static const uint8_t hrr_rand[32] = {
	    0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C,
	    0x02, 0x1E, 0x65, 0xB8, 0x91, 0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB,
	    0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C,
	};
	struct bld x = {.n = 0};

	u16(sh, 0x0303);
	if (hrr)
		put(sh, hrr_rand, 32);
	else
		for (int i = 0; i < 32; i++)
			u8(sh, 0x55);
	u8(sh, 32);
	for (int i = 0; i < 32; i++)
		u8(sh, 0xa0 + i);
	u16(sh, 0x1301);
	u8(sh, 0);
	u16(&x, 43);
	u16(&x, 2);
	u16(&x, 0x0304);
	u16(&x, 51);
	if (hrr) {
		u16(&x, 2);
		u16(&x, group);
	} else {
		u16(&x, 36);
		u16(&x, group);
		u16(&x, 32);
		for (int i = 0; i < 32; i++)
			u8(&x, i);
	}
	if (alpn) {
		u16(&x, 16);
		u16(&x, (unsigned)alen + 3);
		u16(&x, (unsigned)alen + 1);
		u8(&x, (unsigned)alen);
		put(&x, alpn, alen);
	}
	u16(sh, (unsigned)x.n);
	put(sh, x.b, x.n);
}

static void tls13_server_hello(struct bld *sh, bool hrr, unsigned group)
{
	tls13_server_hello_alpn(sh, hrr, group, NULL, 0);
}

static void feed_all(void *p, enum mt_dir d, const struct bld *b, uint64_t ts)
{
	assert_int_equal(app_tls_ops.feed(p, d, b->b, b->n, ts), (ssize_t)b->n);
}

/* One handshake message of type t in its own record, fed in direction d; m is emptied. */
static void send_hs(void *p, enum mt_dir d, unsigned t, struct bld *m, uint64_t ts)
{
	struct bld b = {.n = 0};

	hs_record(&b, t, m);
	feed_all(p, d, &b, ts);
	m->n = 0;
}

/* One connection: a ClientHello with sni (sl bytes) and a Certificate message holding der. */
static void cert_conn(struct env *e, const char *sni, size_t sl, const uint8_t *der, size_t n)
{
	struct bld m = {.n = 0};
	void *p = app_tls_ops.new(&e->s, &e->cfg);

	tls13_client_hello_n(&m, sni, sl);
	send_hs(p, MT_ORIG, 1, &m, 1000);
	u24(&m, (unsigned)(n + 3));
	u24(&m, (unsigned)n);
	put(&m, der, n);
	send_hs(p, MT_RESP, 11, &m, 2000);
	app_tls_ops.end(p, 3000);
	app_tls_ops.free(p);
}


/* ClientHello, ServerHello(1.3), CCS both ways, encrypted records: version TLSv13 from
 * supported_versions, curve from key_share, established at the first ciphertext record once both
 * sides are encrypted, session id equal but no resumption for 1.3. */
static void test_tls13(void **state)
{
	struct env e;
	struct bld ch = {.n = 0}, sh = {.n = 0}, c = {.n = 0}, s = {.n = 0};
	static const uint8_t ccs = 1, junk[40] = {0};
	void *p;
	const struct line *l;

	env_init(&e);
	tls13_client_hello(&ch, "mail.example.org");
	tls13_server_hello(&sh, false, 29);
	hs_record(&c, 1, &ch);
	hs_record(&s, 2, &sh);
	record(&s, 20, &ccs, 1);	    /* server CCS (middlebox compat) */
	record(&s, 23, junk, sizeof(junk)); /* EncryptedExtensions... */
	p = app_tls_ops.new(&e.s, &e.cfg);
	feed_all(p, MT_ORIG, &c, 1000);
	feed_all(p, MT_RESP, &s, 2000);
	c.n = 0;
	record(&c, 20, &ccs, 1);
	record(&c, 23, junk, sizeof(junk));
	feed_all(p, MT_ORIG, &c, 3000);
	assert_int_equal(count(&e.cap, "ssl"), 1); /* logged at established */
	feed_all(p, MT_ORIG, &c, 4000);		   /* ignored afterwards */
	assert_true(app_tls_ops.idle(p));	   /* nothing left for the end */
	app_tls_ops.end(p, 5000);
	app_tls_ops.free(p);
	assert_int_equal(count(&e.cap, "ssl"), 1);
	l = nth(&e.cap, "ssl", 0);
	assert_string_equal(get(l, "ts"), "0.000001");
	assert_string_equal(get(l, "version"), "TLSv13");
	assert_string_equal(get(l, "cipher"), "TLS_AES_128_GCM_SHA256");
	assert_string_equal(get(l, "curve"), "x25519");
	assert_string_equal(get(l, "server_name"), "mail.example.org");
	assert_string_equal(get(l, "resumed"), "F");
	assert_string_equal(get(l, "established"), "T");
	assert_string_equal(get(l, "ssl_history"), "CsiI");
	assert_string_equal(get(l, "cert_chain_fps"), "-");
	/* JA4: t13d (SNI) 03 ciphers (GREASE dropped), 07 extensions (GREASE dropped), ALPN "sp" */
	assert_memory_equal(get(l, "ja4"), "t13d0306sp_", 11);
	assert_memory_equal(get(l, "ja4s"), "t130200_1301_", 13);
	assert_int_equal(e.cap.confirms, 1);
	env_fini(&e);
}

/* HelloRetryRequest: 'j' in the history, the second ClientHello, curve from the final key
 * share; no CCS: application data after a TLS 1.3 ServerHello switches to ciphertext. */
/* A handshake cut after the ClientHello: its record is still to be written, so the parser is
 * not idle, and its end writes it (established F). */
/* A server_name holding a NUL byte is logged whole, as Zeek does (\x00): a C string would log
 * "mail.example.org" for "mail.example.org\0.evil.example". The same for the server's ALPN. */
static void test_sni_nul(void **state)
{
	static const char sni[] = "mail.example.org\0.evil.example";
	struct env e;
	struct bld ch = {.n = 0}, sh = {.n = 0}, c = {.n = 0}, s = {.n = 0};
	void *p;

	(void)state;
	env_init(&e);
	tls13_client_hello_n(&ch, sni, sizeof(sni) - 1);
	tls13_server_hello_alpn(&sh, false, 29, "sm\0tp", 5);
	hs_record(&c, 1, &ch);
	hs_record(&s, 2, &sh);
	p = app_tls_ops.new(&e.s, &e.cfg);
	feed_all(p, MT_ORIG, &c, 1000);
	feed_all(p, MT_RESP, &s, 2000);
	app_tls_ops.end(p, 5000);
	app_tls_ops.free(p);
	assert_int_equal(count(&e.cap, "ssl"), 1);
	assert_string_equal(get(nth(&e.cap, "ssl", 0), "server_name"),
			    "mail.example.org\\x00.evil.example");
	assert_string_equal(get(nth(&e.cap, "ssl", 0), "next_protocol"), "sm\\x00tp");
	env_fini(&e);
}

static void test_idle_at_close(void **state)
{
	struct env e;
	struct bld m = {.n = 0};
	void *p;

	(void)state;
	env_init(&e);
	p = app_tls_ops.new(&e.s, &e.cfg);
	assert_true(app_tls_ops.idle(p)); /* nothing seen, nothing to write */
	tls13_client_hello(&m, "a.example");
	send_hs(p, MT_ORIG, 1, &m, 1000);
	app_tls_ops.eof(p, MT_ORIG, 2000);
	app_tls_ops.eof(p, MT_RESP, 2000);
	assert_false(app_tls_ops.idle(p));
	assert_int_equal(count(&e.cap, "ssl"), 0);
	app_tls_ops.end(p, 3000);
	app_tls_ops.free(p);
	assert_int_equal(count(&e.cap, "ssl"), 1);
	assert_string_equal(get(nth(&e.cap, "ssl", 0), "established"), "F");
	env_fini(&e);
}

static void test_hrr(void **state)
{
	struct env e;
	struct bld b = {.n = 0}, m = {.n = 0};
	static const uint8_t junk[30] = {0};
	void *p;
	const struct line *l;

	env_init(&e);
	p = app_tls_ops.new(&e.s, &e.cfg);
	tls13_client_hello(&m, "a.example");
	send_hs(p, MT_ORIG, 1, &m, 1000);
	tls13_server_hello(&m, true, 24);
	send_hs(p, MT_RESP, 2, &m, 2000);
	tls13_client_hello(&m, "b.example");
	send_hs(p, MT_ORIG, 1, &m, 3000);
	tls13_server_hello(&m, false, 24);
	hs_record(&b, 2, &m);
	record(&b, 23, junk, sizeof(junk));
	feed_all(p, MT_RESP, &b, 4000);
	b.n = 0;
	record(&b, 23, junk, sizeof(junk));
	feed_all(p, MT_ORIG, &b, 5000);
	app_tls_ops.end(p, 6000);
	app_tls_ops.free(p);
	l = nth(&e.cap, "ssl", 0);
	assert_non_null(l);
	assert_string_equal(get(l, "ssl_history"), "CjCs");
	assert_string_equal(get(l, "curve"), "secp384r1");
	assert_string_equal(get(l, "server_name"), "b.example");
	assert_string_equal(get(l, "established"), "T");
	assert_string_equal(get(l, "version"), "TLSv13");
	env_fini(&e);
}

/* The server's side of a resumption check: a ServerHello (version, random of 2s, the given
 * session id, cipher 0x2f or c02f as given) and a CCS, then the end; the ssl record's
 * `resumed`. Frees p. */
static const char *server_resumes(struct env *e, void *p, uint16_t version, const uint8_t *sid,
				  size_t sl, uint16_t cipher)
{
	struct bld b = {.n = 0}, m = {.n = 0};
	static const uint8_t ccs = 1;

	u16(&m, version);
	for (int i = 0; i < 32; i++)
		u8(&m, 2);
	u8(&m, (uint8_t)sl);
	put(&m, sid, sl);
	u16(&m, cipher);
	u8(&m, 0);
	hs_record(&b, 2, &m);
	record(&b, 20, &ccs, 1);
	feed_all(p, MT_RESP, &b, 2000);
	app_tls_ops.end(p, 6000);
	app_tls_ops.free(p);
	return get(nth(&e->cap, "ssl", 0), "resumed");
}

/* main.zeek's resumption by session id compares the ids whole: a hello may carry up to 255
 * bytes (the RFCs allow 32). A server's 40-byte id that differs from the client's in its
 * last byte is no resumption (it was when only the first 32 bytes were kept); the same 40
 * bytes are. */
static void test_session_id_whole(void **state)
{
	for (int same = 0; same < 2; same++) {
		struct env e;
		struct bld m = {.n = 0};
		uint8_t sid[40];
		void *p;

		for (int i = 0; i < 40; i++)
			sid[i] = (uint8_t)(0x40 + i);
		env_init(&e);
		p = app_tls_ops.new(&e.s, &e.cfg);
		u16(&m, 0x0303); /* ClientHello TLS 1.2, a 40-byte session id */
		for (int i = 0; i < 32; i++)
			u8(&m, 1);
		u8(&m, 40);
		put(&m, sid, 40);
		u16(&m, 2);
		u16(&m, 0xc02f);
		u8(&m, 1);
		u8(&m, 0);
		send_hs(p, MT_ORIG, 1, &m, 1000);
		sid[39] += !same; /* the server's: the id again, or its last byte changed */
		assert_string_equal(server_resumes(&e, p, 0x0303, sid, 40, 0xc02f),
				    same ? "T" : "F");
		assert_string_equal(get(nth(&e.cap, "ssl", 0), "version"), "TLSv12");
		env_fini(&e);
	}
}

/* TLS 1.2 with a session ticket and empty session id, server answers CCS without a
 * ClientKeyExchange: resumed. Alerts set last_alert ('l'). Unknown names. */
static void test_resumed_alert(void **state)
{
	struct env e;
	struct bld b = {.n = 0}, m = {.n = 0};
	static const uint8_t ccs = 1, alert[4] = {1, 0, 2, 40}, junk[30] = {0};
	void *p;
	const struct line *l;

	env_init(&e);
	p = app_tls_ops.new(&e.s, &e.cfg);
	/* ClientHello TLS 1.2: no session id, 1 cipher (0x1234: unknown), ticket extension */
	u16(&m, 0x0303);
	for (int i = 0; i < 32; i++)
		u8(&m, 1);
	u8(&m, 0);
	u16(&m, 2);
	u16(&m, 0x1234);
	u8(&m, 1);
	u8(&m, 0);
	u16(&m, 8);
	u16(&m, 35);
	u16(&m, 4);
	put(&m, "TKT!", 4);
	send_hs(p, MT_ORIG, 1, &m, 1000);
	u16(&m, 0x0303);
	for (int i = 0; i < 32; i++)
		u8(&m, 2);
	u8(&m, 0);
	u16(&m, 0x1234);
	u8(&m, 0);
	hs_record(&b, 2, &m);
	record(&b, 20, &ccs, 1);
	feed_all(p, MT_RESP, &b, 2000);
	b.n = 0;
	record(&b, 20, &ccs, 1);
	record(&b, 21, alert, sizeof(alert)); /* ciphertext now: not an alert */
	feed_all(p, MT_ORIG, &b, 3000);
	app_tls_ops.end(p, 6000);
	app_tls_ops.free(p);
	l = nth(&e.cap, "ssl", 0);
	assert_string_equal(get(l, "ssl_history"), "CsiI");
	assert_string_equal(get(l, "resumed"), "T");
	assert_string_equal(get(l, "cipher"), "unknown-4660");
	assert_string_equal(get(l, "version"), "TLSv12");
	assert_string_equal(get(l, "last_alert"), "-");
	assert_string_equal(get(l, "established"), "T");
	env_fini(&e);

	/* plaintext alerts: close_notify then handshake_failure in one record */
	env_init(&e);
	p = app_tls_ops.new(&e.s, &e.cfg);
	b.n = 0;
	record(&b, 21, alert, sizeof(alert));
	feed_all(p, MT_RESP, &b, 1000);
	app_tls_ops.end(p, 2000);
	app_tls_ops.free(p);
	l = nth(&e.cap, "ssl", 0);
	assert_string_equal(get(l, "ssl_history"), "ll");
	assert_string_equal(get(l, "last_alert"), "handshake_failure");
	assert_int_equal(e.cap.confirms, 0);
	(void)junk;
	env_fini(&e);
}

/* A Certificate message split over three records and bigger than the limit: skipped with a
 * weird, its type still in the history, the parser continues. */
static void test_limits(void **state)
{
	struct env e;
	struct bld b = {.n = 0};
	uint8_t big[3000];
	void *p;

	memset(big, 0x41, sizeof(big));
	env_init(&e);
	e.cfg.lim.max_handshake_msg = 1000;
	p = app_tls_ops.new(&e.s, &e.cfg);
	/* handshake header: certificate, length 3000; then the body over 3 records */
	u8(&b, 22);
	u16(&b, 0x0303);
	u16(&b, 4 + 1000);
	u8(&b, 11);
	u24(&b, 3000);
	put(&b, big, 1000);
	record(&b, 22, big, 1000);
	record(&b, 22, big, 1000);
	feed_all(p, MT_RESP, &b, 1000);
	app_tls_ops.end(p, 2000);
	app_tls_ops.free(p);
	assert_string_equal(get(nth(&e.cap, "ssl", 0), "ssl_history"), "x");
	assert_string_equal(e.cap.weirds[0], "SSL_handshake_message_too_large|-");
	assert_string_equal(get(nth(&e.cap, "ssl", 0), "cert_chain_fps"), "-");
	env_fini(&e);

	/* history length limit */
	env_init(&e);
	e.cfg.max_ssl_history = 3;
	p = app_tls_ops.new(&e.s, &e.cfg);
	b.n = 0;
	for (int i = 0; i < 5; i++)
		record(&b, 24, "hb", 2);
	feed_all(p, MT_ORIG, &b, 1000);
	app_tls_ops.end(p, 2000);
	app_tls_ops.free(p);
	assert_string_equal(get(nth(&e.cap, "ssl", 0), "ssl_history"), "BBB");
	assert_string_equal(e.cap.weirds[0], "SSL_max_ssl_history_length_reached|3");
	env_fini(&e);
}

/* SSLv2 CLIENT-HELLO (record version 0): 'C' by the script rule, confirmed, no JA3. */
static void test_sslv2(void **state)
{
	struct env e;
	/* 2-byte header 0x80 0x1c, CLIENT-HELLO (1), version 3.1, 6 cipher bytes, no session id,
	 * 16-byte challenge */
	static const uint8_t v2[] = {0x80, 0x1f, 0x01, 0x03, 0x01, 0x00, 0x06, 0x00, 0x00,
				     0x00, 0x10, 0x01, 0x00, 0x80, 0x00, 0x00, 0x2f, 1,
				     2,	   3,	 4,    5,    6,	   7,	 8,    9,    10,
				     11,   12,	 13,   14,   15,   16};
	void *p;
	const struct line *l;

	assert_int_equal(tls__probe(v2, sizeof(v2)), 1);
	assert_int_equal(tls__probe(v2, 3), -EAGAIN);
	env_init(&e);
	p = app_tls_ops.new(&e.s, &e.cfg);
	assert_int_equal(app_tls_ops.feed(p, MT_ORIG, v2, sizeof(v2), 1000), (ssize_t)sizeof(v2));
	app_tls_ops.end(p, 2000);
	app_tls_ops.free(p);
	l = nth(&e.cap, "ssl", 0);
	assert_string_equal(get(l, "ssl_history"), "C");
	assert_string_equal(get(l, "ja3"), "-");
	assert_int_equal(e.cap.confirms, 1);
	env_fini(&e);
}

/* An SSLv2 CLIENT-HELLO's session id has a 16-bit length: one of 300 bytes never matches a
 * ServerHello's (at most 255), even one that repeats its first 255 bytes (the length was
 * kept in 8 bits: 300 became 255 and it matched); one of 255 bytes echoed is a resumption. */
static void test_sslv2_session_id_whole(void **state)
{
	(void)state;
	for (int k = 0; k < 2; k++) {
		size_t sl = k ? 255 : 300, body = 1 + 2 + 2 + 2 + 2 + 3 + sl + 16;
		uint8_t v2[2 + 1 + 2 + 2 + 2 + 2 + 3 + 300 + 16];
		struct env e;
		size_t n = 0;
		void *p;

		v2[n++] = (uint8_t)(0x80 | body >> 8);
		v2[n++] = (uint8_t)body;
		v2[n++] = 1; /* CLIENT-HELLO, version 3.1, one cipher spec */
		v2[n++] = 3;
		v2[n++] = 1;
		v2[n++] = 0;
		v2[n++] = 3;
		v2[n++] = (uint8_t)(sl >> 8);
		v2[n++] = (uint8_t)sl;
		v2[n++] = 0;
		v2[n++] = 16;
		v2[n++] = 0;
		v2[n++] = 0;
		v2[n++] = 0x2f;
		for (size_t i = 0; i < sl; i++)
			v2[n++] = (uint8_t)(i * 7 + 1);
		for (int i = 0; i < 16; i++)
			v2[n++] = (uint8_t)i;
		env_init(&e);
		p = app_tls_ops.new(&e.s, &e.cfg);
		assert_int_equal(app_tls_ops.feed(p, MT_ORIG, v2, n, 1000), (ssize_t)n);
		/* the server's id: the client's first 255 bytes */
		assert_string_equal(server_resumes(&e, p, 0x0301, v2 + 14, 255, 0x002f),
				    k ? "T" : "F");
		env_fini(&e);
	}
}

/* SSLv2 ERROR record: Zeek's V2Error reports error_code = head3 << 8 | head4 as an alert
 * description, named by SSL::alert_descriptions with its default "unknown-N" (code 1,
 * NO-CIPHER-ERROR: "unknown-1"); 'L' in the history as any client alert. */
static void sslv2_error(uint8_t h3, uint8_t h4, const char *want)
{
	/* CLIENT-HELLO 3.1 (as test_sslv2), SERVER-HELLO 2.0 without certificate, one cipher,
	 * 16-byte connection id */
	static const uint8_t ch[] = {0x80, 0x1f, 0x01, 0x03, 0x01, 0x00, 0x06, 0x00, 0x00,
				     0x00, 0x10, 0x01, 0x00, 0x80, 0x00, 0x00, 0x2f, 1,
				     2,	   3,	 4,    5,    6,	   7,	 8,    9,    10,
				     11,   12,	 13,   14,   15,   16};
	uint8_t sh[2 + 30] = {0x80, 0x1e, 0x04, 0x00, 0x01, 0x00, 0x02, 0x00, 0x00,
			      0x00, 0x03, 0x00, 0x10, 0x01, 0x00, 0x80};
	const uint8_t err[] = {0x80, 0x03, 0x00, h3, h4};
	struct env e;
	void *p;
	const struct line *l;

	memset(sh + 16, 0x44, 16);
	env_init(&e);
	p = app_tls_ops.new(&e.s, &e.cfg);
	assert_int_equal(app_tls_ops.feed(p, MT_ORIG, ch, sizeof(ch), 1000), (ssize_t)sizeof(ch));
	assert_int_equal(app_tls_ops.feed(p, MT_RESP, sh, sizeof(sh), 2000), (ssize_t)sizeof(sh));
	assert_int_equal(app_tls_ops.feed(p, MT_ORIG, err, sizeof(err), 3000), (ssize_t)sizeof(err));
	app_tls_ops.end(p, 4000);
	app_tls_ops.free(p);
	l = nth(&e.cap, "ssl", 0);
	assert_non_null(l);
	assert_string_equal(get(l, "version"), "SSLv2");
	assert_string_equal(get(l, "ssl_history"), "CsL");
	assert_string_equal(get(l, "last_alert"), want);
	assert_int_equal(e.cap.n_weirds, 0);
	assert_int_equal(e.cap.n_violations, 0);
	env_fini(&e);
}

static void test_sslv2_error(void **state)
{
	char buf[24];

	(void)state;
	sslv2_error(0x00, 0x01, "unknown-1");
	sslv2_error(0x00, 0x04, "unknown-4");
	sslv2_error(0x00, 0x00, "close_notify"); /* code 0 is in the table */
	sslv2_error(0x00, 0x28, "handshake_failure");
	sslv2_error(0x01, 0x00, "unknown-256"); /* 16 bits, not the low byte */
	assert_string_equal(tls__alert_name(0x0101, buf, sizeof(buf)), "unknown-257");
}

/* A TLS 1.2 ClientHello whose server_name lists two host names a[0..an) and b[0..bn); returns
 * the one weird it gives (SSL_many_server_names), rendered, and the ssl record's server_name. */
static void two_names(const char *a, size_t an, const char *b, size_t bn, char *weird, size_t wcap,
		      char *server_name, size_t scap)
{
	struct env e;
	struct bld m = {.n = 0};
	void *p;

	env_init(&e);
	p = app_tls_ops.new(&e.s, &e.cfg);
	u16(&m, 0x0303);
	for (int i = 0; i < 32; i++)
		u8(&m, 1);
	u8(&m, 0);
	u16(&m, 2);
	u16(&m, 0xc02f);
	u8(&m, 1);
	u8(&m, 0);
	/* extensions: server_name = [host_name a, host_name b] */
	u16(&m, (uint16_t)(4 + 2 + 3 + an + 3 + bn));
	u16(&m, 0);
	u16(&m, (uint16_t)(2 + 3 + an + 3 + bn));
	u16(&m, (uint16_t)(3 + an + 3 + bn));
	u8(&m, 0);
	u16(&m, (uint16_t)an);
	put(&m, a, an);
	u8(&m, 0);
	u16(&m, (uint16_t)bn);
	put(&m, b, bn);
	send_hs(p, MT_ORIG, 1, &m, 1000);
	app_tls_ops.end(p, 2000);
	app_tls_ops.free(p);
	assert_int_equal(e.cap.n_weirds, 1);
	snprintf(weird, wcap, "%s", e.cap.weirds[0]);
	snprintf(server_name, scap, "%s", get(nth(&e.cap, "ssl", 0), "server_name"));
	env_fini(&e);
}

/* Two host names in server_name: the first is server_name, weird SSL_many_server_names with
 * Zeek's cat() of the list, NUL bytes kept (cut at 256 bytes, with its closing bracket). */
static void test_many_names(void **state)
{
	char w[512], sn[256], longa[300], want[512];

	(void)state;
	two_names("a.ex", 4, "bb.ex", 5, w, sizeof(w), sn, sizeof(sn));
	assert_string_equal(sn, "a.ex");
	assert_string_equal(w, "SSL_many_server_names|[a.ex, bb.ex]");
	two_names("a\0.ex", 5, "bb.ex", 5, w, sizeof(w), sn, sizeof(sn));
	assert_string_equal(sn, "a\\x00.ex");
	assert_string_equal(w, "SSL_many_server_names|[a\\x00.ex, bb.ex]");
	/* 200 + 100 bytes of names: 254 bytes of the list after "[", then "]" */
	memset(longa, 'a', 200);
	memset(longa + 200, 'b', 100);
	two_names(longa, 200, longa + 200, 100, w, sizeof(w), sn, sizeof(sn));
	snprintf(want, sizeof(want), "SSL_many_server_names|[%.200s, %.52s]", longa, longa + 200);
	assert_string_equal(w, want);
}

/* A ClientHello from the responder flips the roles ('^', upper case for the responder). */
static void test_flipped(void **state)
{
	struct env e;
	struct bld m = {.n = 0};
	void *p;

	env_init(&e);
	p = app_tls_ops.new(&e.s, &e.cfg);
	tls13_client_hello(&m, "x.example");
	send_hs(p, MT_RESP, 1, &m, 1000);
	tls13_server_hello(&m, false, 29);
	send_hs(p, MT_ORIG, 2, &m, 2000);
	/* and a second ClientHello from the originator flips back: weird */
	tls13_client_hello(&m, "x.example");
	send_hs(p, MT_ORIG, 1, &m, 3000);
	app_tls_ops.end(p, 4000);
	app_tls_ops.free(p);
	assert_string_equal(get(nth(&e.cap, "ssl", 0), "ssl_history"), "^Cs^C");
	assert_int_equal(e.cap.n_weirds, 1);
	assert_string_equal(e.cap.weirds[0], "SSL_unclear_connection_direction|-");
	env_fini(&e);
}

/* A self-signed EC certificate (openssl req -x509 -newkey ec prime256v1):
 *   Subject/Issuer: C = DE, O = "Ex, Inc.", CN = *.example.org
 *   Serial 28:e2:1e:cb:93:ed:ba:86:66:8f:6e:45:5f:06:64:85:99:7e:90:0b, ecdsa-with-SHA256,
 *   Nov 22 17:28:45 2026 GMT .. Dec 22 17:28:45 2026 GMT,
 *   SAN DNS:*.example.org, IP 192.0.2.1, IP 2001:db8::1, email:a@b.c, URI:https://x
 *   Basic Constraints: critical, CA:TRUE, pathlen:2 */
static const uint8_t ec_cert_der[] = {
    0x30, 0x82, 0x02, 0x0e, 0x30, 0x82, 0x01, 0xb4, 0xa0, 0x03, 0x02, 0x01, 0x02, 0x02, 0x14, 0x28,
    0xe2, 0x1e, 0xcb, 0x93, 0xed, 0xba, 0x86, 0x66, 0x8f, 0x6e, 0x45, 0x5f, 0x06, 0x64, 0x85, 0x99,
    0x7e, 0x90, 0x0b, 0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02, 0x30,
    0x38, 0x31, 0x0b, 0x30, 0x09, 0x06, 0x03, 0x55, 0x04, 0x06, 0x13, 0x02, 0x44, 0x45, 0x31, 0x11,
    0x30, 0x0f, 0x06, 0x03, 0x55, 0x04, 0x0a, 0x0c, 0x08, 0x45, 0x78, 0x2c, 0x20, 0x49, 0x6e, 0x63,
    0x2e, 0x31, 0x16, 0x30, 0x14, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x0d, 0x2a, 0x2e, 0x65, 0x78,
    0x61, 0x6d, 0x70, 0x6c, 0x65, 0x2e, 0x6f, 0x72, 0x67, 0x30, 0x1e, 0x17, 0x0d, 0x32, 0x36, 0x31,
    0x31, 0x32, 0x32, 0x31, 0x37, 0x32, 0x38, 0x34, 0x35, 0x5a, 0x17, 0x0d, 0x32, 0x36, 0x31, 0x32,
    0x32, 0x32, 0x31, 0x37, 0x32, 0x38, 0x34, 0x35, 0x5a, 0x30, 0x38, 0x31, 0x0b, 0x30, 0x09, 0x06,
    0x03, 0x55, 0x04, 0x06, 0x13, 0x02, 0x44, 0x45, 0x31, 0x11, 0x30, 0x0f, 0x06, 0x03, 0x55, 0x04,
    0x0a, 0x0c, 0x08, 0x45, 0x78, 0x2c, 0x20, 0x49, 0x6e, 0x63, 0x2e, 0x31, 0x16, 0x30, 0x14, 0x06,
    0x03, 0x55, 0x04, 0x03, 0x0c, 0x0d, 0x2a, 0x2e, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x2e,
    0x6f, 0x72, 0x67, 0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01,
    0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00, 0x04, 0xe6, 0xb3,
    0x5f, 0xda, 0x2a, 0xc0, 0xe5, 0xe8, 0xe8, 0xed, 0x87, 0x89, 0x55, 0xc2, 0x57, 0xfa, 0x5a, 0x8e,
    0xbb, 0x84, 0x50, 0x8a, 0x66, 0xca, 0xb7, 0xc6, 0xdc, 0xf1, 0x02, 0x3b, 0x7a, 0x79, 0xf9, 0xbb,
    0xcb, 0x4b, 0xc8, 0xf4, 0x49, 0x4a, 0x46, 0x9f, 0xd8, 0x80, 0x20, 0x0a, 0x8e, 0xc1, 0xef, 0x82,
    0x96, 0x53, 0xd5, 0xd8, 0x51, 0x5a, 0x91, 0xda, 0xf2, 0x26, 0x9d, 0xf7, 0xef, 0x1d, 0xa3, 0x81,
    0x9b, 0x30, 0x81, 0x98, 0x30, 0x1d, 0x06, 0x03, 0x55, 0x1d, 0x0e, 0x04, 0x16, 0x04, 0x14, 0x9c,
    0x6e, 0x19, 0xaf, 0xd4, 0x06, 0x35, 0x00, 0x7f, 0x76, 0xf2, 0x7a, 0xc2, 0x83, 0x73, 0xea, 0xf9,
    0xf2, 0xc7, 0x41, 0x30, 0x1f, 0x06, 0x03, 0x55, 0x1d, 0x23, 0x04, 0x18, 0x30, 0x16, 0x80, 0x14,
    0x9c, 0x6e, 0x19, 0xaf, 0xd4, 0x06, 0x35, 0x00, 0x7f, 0x76, 0xf2, 0x7a, 0xc2, 0x83, 0x73, 0xea,
    0xf9, 0xf2, 0xc7, 0x41, 0x30, 0x42, 0x06, 0x03, 0x55, 0x1d, 0x11, 0x04, 0x3b, 0x30, 0x39, 0x82,
    0x0d, 0x2a, 0x2e, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x2e, 0x6f, 0x72, 0x67, 0x87, 0x04,
    0xc0, 0x00, 0x02, 0x01, 0x87, 0x10, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x81, 0x05, 0x61, 0x40, 0x62, 0x2e, 0x63, 0x86, 0x09, 0x68,
    0x74, 0x74, 0x70, 0x73, 0x3a, 0x2f, 0x2f, 0x78, 0x30, 0x12, 0x06, 0x03, 0x55, 0x1d, 0x13, 0x01,
    0x01, 0xff, 0x04, 0x08, 0x30, 0x06, 0x01, 0x01, 0xff, 0x02, 0x01, 0x02, 0x30, 0x0a, 0x06, 0x08,
    0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02, 0x03, 0x48, 0x00, 0x30, 0x45, 0x02, 0x20, 0x79,
    0x3d, 0x2d, 0x69, 0x60, 0x38, 0x54, 0xbc, 0xde, 0x89, 0xb9, 0xd1, 0x02, 0x54, 0x64, 0xb3, 0x7d,
    0x6a, 0x2d, 0xed, 0x94, 0x93, 0xc1, 0x6c, 0x68, 0xd8, 0x89, 0xf9, 0xee, 0xe6, 0xcb, 0xd9, 0x02,
    0x21, 0x00, 0xfa, 0xfe, 0x05, 0x48, 0xa1, 0x13, 0x4c, 0xc1, 0x82, 0xc2, 0xb9, 0x2a, 0xe9, 0x64,
    0x4b, 0x88, 0xd4, 0x90, 0x99, 0xf5, 0x10, 0xa6, 0xb4, 0x31, 0x54, 0x1f, 0x38, 0x70, 0x39, 0x89,
    0x0a, 0x40};

/* Certificate message (TLS 1.2) with the EC certificate twice: x509 fields for an EC key, the
 * RFC 2253 escaping of the subject, SAN of every kind, path_len, SNI against a wildcard. */
static void test_ec_cert(void **state)
{
	struct env e;
	struct bld m = {.n = 0};
	void *p;
	const struct line *x, *s;
	size_t n = sizeof(ec_cert_der);

	env_init(&e);
	p = app_tls_ops.new(&e.s, &e.cfg);
	/* ClientHello with SNI mail.example.org */
	tls13_client_hello(&m, "mail.example.org");
	send_hs(p, MT_ORIG, 1, &m, 1000);
	u24(&m, (unsigned)(2 * (n + 3)));
	u24(&m, (unsigned)n);
	put(&m, ec_cert_der, n);
	u24(&m, (unsigned)n);
	put(&m, ec_cert_der, n);
	send_hs(p, MT_RESP, 11, &m, 2000);
	app_tls_ops.end(p, 3000);
	app_tls_ops.free(p);
	assert_int_equal(count(&e.cap, "x509"), 2);
	x = nth(&e.cap, "x509", 0);
	assert_string_equal(get(x, "ts"), "0.000002");
	assert_string_equal(get(x, "certificate.version"), "3");
	assert_string_equal(get(x, "certificate.serial"),
			    "28E21ECB93EDBA86668F6E455F066485997E900B");
	assert_string_equal(get(x, "certificate.subject"), "CN=*.example.org,O=Ex\\, Inc.,C=DE");
	assert_string_equal(get(x, "certificate.issuer"), "CN=*.example.org,O=Ex\\, Inc.,C=DE");
	assert_string_equal(get(x, "certificate.not_valid_before"), "1795368525.000000");
	assert_string_equal(get(x, "certificate.not_valid_after"), "1797960525.000000");
	assert_string_equal(get(x, "certificate.key_alg"), "id-ecPublicKey");
	assert_string_equal(get(x, "certificate.sig_alg"), "ecdsa-with-SHA256");
	assert_string_equal(get(x, "certificate.key_type"), "ecdsa");
	assert_string_equal(get(x, "certificate.key_length"), "256");
	assert_string_equal(get(x, "certificate.exponent"), "-");
	assert_string_equal(get(x, "certificate.curve"), "prime256v1");
	assert_string_equal(get(x, "san.dns"), "*.example.org");
	assert_string_equal(get(x, "san.uri"), "https://x");
	assert_string_equal(get(x, "san.email"), "a@b.c");
	assert_string_equal(get(x, "san.ip"), "192.0.2.1,2001:db8::1");
	assert_string_equal(get(x, "basic_constraints.ca"), "T");
	assert_string_equal(get(x, "basic_constraints.path_len"), "2");
	assert_string_equal(get(x, "host_cert"), "T");
	assert_string_equal(get(x, "client_cert"), "F");
	assert_string_equal(get(nth(&e.cap, "x509", 1), "host_cert"), "F");
	s = nth(&e.cap, "ssl", 0);
	assert_string_equal(get(s, "sni_matches_cert"), "T");
	assert_string_equal(get(s, "ssl_history"), "Cx");
	assert_string_equal(get(s, "established"), "F");
	assert_string_equal(get(s, "cert_chain_fps"),
			    "e745e6c64aaf23035687e4eb0e3503c05c34ccd9a15a622dee6376c6b56271c6,"
			    "e745e6c64aaf23035687e4eb0e3503c05c34ccd9a15a622dee6376c6b56271c6");
	assert_string_equal(get(s, "client_cert_chain_fps"), "(empty)");
	env_fini(&e);
}

/* n Certificate messages of k copies of der (len bytes) from direction d, at ts, ts+1, ... */
static void cert_msgs(void *p, enum mt_dir d, int n, int k, const uint8_t *der, size_t len,
		      uint64_t ts)
{
	struct bld m = {.n = 0};

	for (int j = 0; j < n; j++) {
		u24(&m, (unsigned)(k * (len + 3)));
		for (int i = 0; i < k; i++) {
			u24(&m, (unsigned)len);
			put(&m, der, len);
		}
		send_hs(p, d, 11, &m, ts + (uint64_t)j);
	}
}

static int weird_count(const struct cap *c, const char *w)
{
	int k = 0;

	for (int i = 0; i < c->n_weirds; i++)
		k += !strcmp(c->weirds[i], w);
	return k;
}

/* tls_limits.max_handshake_total: handshake buffers of all parsers together. Eight
 * connections each send 40000 bytes of a ClientHello claiming 100000 (three records): before
 * the limit each kept a 64 KiB buffer (1000 such connections: 264 MB); with a 128 KiB total
 * two fit, the others' analysis ends at their first growth beyond 16 KiB (-EPROTO, the
 * violation), counted; every buffer is given back when the parsers go, and an emptied one
 * over 16 KiB at the end of its record. */
static void test_handshake_total(void **state)
{
	enum { N = 8, SENT = 40000, CLAIM = 100000 };
	static uint8_t stream[SENT + 3 * 5];
	size_t sn = 0, done = 0;
	struct tls_limits lim;
	struct tls_buffer_stats b0, b1, b2;
	int failed = 0;

	(void)state;
	while (done < SENT) { /* records of at most 16384 bytes of one message */
		size_t k = SENT - done < 16384 ? SENT - done : 16384;

		stream[sn++] = 22;
		stream[sn++] = 3;
		stream[sn++] = 1;
		stream[sn++] = (uint8_t)(k >> 8);
		stream[sn++] = (uint8_t)k;
		memset(stream + sn, 0, k);
		if (!done) {
			stream[sn] = 1; /* client_hello, CLAIM bytes */
			stream[sn + 1] = (uint8_t)(CLAIM >> 16);
			stream[sn + 2] = (uint8_t)(CLAIM >> 8);
			stream[sn + 3] = (uint8_t)CLAIM;
		}
		sn += k;
		done += k;
	}
	for (int limited = 1; limited >= 0; limited--) {
		struct tls_parser *p[N];

		tls_limits__default(&lim);
		assert_int_equal(lim.max_handshake_total, 64u << 20);
		lim.max_handshake_total = limited ? 128u << 10 : 0;
		tls__buffer_stats(&b0);
		failed = 0;
		for (int i = 0; i < N; i++) {
			p[i] = tls_parser__new(NULL, &lim);
			assert_non_null(p[i]);
			failed += tls_parser__feed(p[i], MT_ORIG, stream, sn, 1) < 0;
		}
		tls__buffer_stats(&b1);
		if (limited) {
			/* 64 KiB buffers: two fit in 128 KiB; the others stop at 16 KiB */
			assert_int_equal(failed, N - 2);
			assert_int_equal(b1.full - b0.full, N - 2);
			/* the stopped ones keep 16 KiB until they go (app_tls frees them at once) */
			assert_true(b1.bytes - b0.bytes <= (128u << 10) + (N - 2) * (16u << 10));
		} else {
			assert_int_equal(failed, 0);
			assert_int_equal(b1.full, b0.full);
			assert_int_equal(b1.bytes - b0.bytes, N * (64u << 10));
		}
		for (int i = 0; i < N; i++)
			tls_parser__free(p[i]);
		tls__buffer_stats(&b2);
		assert_int_equal(b2.bytes, b0.bytes);
	}

	/* a whole 30000-byte message: its 32 KiB buffer goes back at the end of its record */
	{
		static uint8_t rec[5 + 4 + 30000];
		struct tls_parser *q;

		tls_limits__default(&lim);
		memset(rec, 0, sizeof(rec));
		rec[0] = 22, rec[1] = 3, rec[2] = 1;
		rec[3] = (uint8_t)((4 + 30000) >> 8), rec[4] = (uint8_t)(4 + 30000);
		rec[5] = 99; /* an unknown handshake type: parsed no further */
		rec[6] = 0, rec[7] = (uint8_t)(30000 >> 8), rec[8] = (uint8_t)(30000 & 0xff);
		tls__buffer_stats(&b0);
		q = tls_parser__new(NULL, &lim);
		assert_non_null(q);
		tls_parser__feed(q, MT_ORIG, rec, sizeof(rec), 1);
		tls__buffer_stats(&b1);
		assert_int_equal(b1.bytes, b0.bytes);
		tls_parser__free(q);
	}
}

/* A server sending Certificate messages without end (Zeek: a file each): at most
 * max_certs_per_dir certificates a side are handled (files and x509 records, fingerprints),
 * the rest counted, with one weird per side. By default (64) three messages of 30 certificates
 * give 64 files records; a client certificate has its own count. */
static void test_cert_limit(void **state)
{
	static const uint8_t junk[] = {0x30, 0x03, 0x02, 0x01, 0x01};
	struct app_tls_stats s0, s1;
	struct bld m = {.n = 0};
	const struct line *s;
	struct env e;
	void *p;

	(void)state;
	env_init(&e);
	app_tls__stats(&s0);
	p = app_tls_ops.new(&e.s, &e.cfg);
	tls13_client_hello(&m, "mail.example.org");
	send_hs(p, MT_ORIG, 1, &m, 1000);
	cert_msgs(p, MT_RESP, 3, 30, junk, sizeof(junk), 2000);
	cert_msgs(p, MT_ORIG, 1, 1, junk, sizeof(junk), 3000);
	app_tls_ops.end(p, 4000);
	app_tls_ops.free(p);
	app_tls__stats(&s1);
	assert_int_equal(count(&e.cap, "files"), 65);
	assert_int_equal(s1.certs_skipped - s0.certs_skipped, 26);
	assert_int_equal(weird_count(&e.cap, "SSL_too_many_certificates_in_connection|64"), 1);
	env_fini(&e);

	/* a limit of 2: two messages of two parsed certificates each, from both sides */
	env_init(&e);
	e.cfg.max_certs_per_dir = 2;
	app_tls__stats(&s0);
	p = app_tls_ops.new(&e.s, &e.cfg);
	tls13_client_hello(&m, "mail.example.org");
	send_hs(p, MT_ORIG, 1, &m, 1000);
	cert_msgs(p, MT_RESP, 2, 2, ec_cert_der, sizeof(ec_cert_der), 2000);
	cert_msgs(p, MT_ORIG, 2, 2, ec_cert_der, sizeof(ec_cert_der), 3000);
	app_tls_ops.end(p, 4000);
	app_tls_ops.free(p);
	app_tls__stats(&s1);
	assert_int_equal(count(&e.cap, "files"), 4);
	assert_int_equal(count(&e.cap, "x509"), 4);
	assert_int_equal(s1.certs_skipped - s0.certs_skipped, 4);
	assert_int_equal(weird_count(&e.cap, "SSL_too_many_certificates_in_connection|2"), 2);
	s = nth(&e.cap, "ssl", 0);
	assert_string_equal(get(s, "cert_chain_fps"),
			    "e745e6c64aaf23035687e4eb0e3503c05c34ccd9a15a622dee6376c6b56271c6,"
			    "e745e6c64aaf23035687e4eb0e3503c05c34ccd9a15a622dee6376c6b56271c6");
	assert_string_equal(get(s, "client_cert_chain_fps"),
			    "e745e6c64aaf23035687e4eb0e3503c05c34ccd9a15a622dee6376c6b56271c6,"
			    "e745e6c64aaf23035687e4eb0e3503c05c34ccd9a15a622dee6376c6b56271c6");
	env_fini(&e);
}

/* A ServerHello whose legacy version is 0x0304, without supported_versions: Zeek's
 * ServerHelloChoice reads it as a TLS 1.3 ServerHello (no session id, no compression), not a
 * malformed message: TLSv13, the cipher, the key_share's curve, established by application
 * data both ways, no violation. */
static void test_server_hello_0304(void **state)
{
	struct bld m = {.n = 0}, b = {.n = 0};
	static const uint8_t data[20];
	const struct line *s;
	struct env e;
	void *p;

	(void)state;
	env_init(&e);
	p = app_tls_ops.new(&e.s, &e.cfg);
	tls13_client_hello(&m, "mail.example.org");
	send_hs(p, MT_ORIG, 1, &m, 1000);
	u16(&m, 0x0304);
	for (int i = 0; i < 32; i++)
		u8(&m, 0x22);
	u16(&m, 0x1301);
	u16(&m, 40); /* extensions: key_share x25519 with a 32-byte key */
	u16(&m, 51);
	u16(&m, 36);
	u16(&m, 29);
	u16(&m, 32);
	for (int i = 0; i < 32; i++)
		u8(&m, 2);
	send_hs(p, MT_RESP, 2, &m, 2000);
	record(&b, 23, data, sizeof(data));
	feed_all(p, MT_RESP, &b, 3000);
	feed_all(p, MT_ORIG, &b, 4000);
	app_tls_ops.end(p, 5000);
	app_tls_ops.free(p);
	assert_int_equal(e.cap.n_violations, 0);
	s = nth(&e.cap, "ssl", 0);
	assert_non_null(s);
	assert_string_equal(get(s, "version"), "TLSv13");
	assert_string_equal(get(s, "cipher"), "TLS_AES_128_GCM_SHA256");
	assert_string_equal(get(s, "curve"), "x25519");
	assert_string_equal(get(s, "ssl_history"), "Cs");
	assert_string_equal(get(s, "established"), "T");
	env_fini(&e);
}

/* server_name list {type 1 "xx", host_name "mx.example.net"}: Zeek's ServerName takes the
 * rest of the list as the unknown entry's data, so the host name after it is not seen: weird
 * ssl_ext_unknown_server_name_type "1", no server_name. */
static void test_sni_unknown_type(void **state)
{
	struct bld m = {.n = 0}, x = {.n = 0};
	struct env e;
	void *p;

	(void)state;
	u16(&x, 0); /* server_name */
	u16(&x, 2 + 3 + 2 + 3 + 14);
	u16(&x, 3 + 2 + 3 + 14);
	u8(&x, 1);
	u16(&x, 2);
	put(&x, "xx", 2);
	u8(&x, 0);
	u16(&x, 14);
	put(&x, "mx.example.net", 14);
	u16(&m, 0x0303);
	for (int i = 0; i < 32; i++)
		u8(&m, i);
	u8(&m, 0);    /* session id */
	u16(&m, 2);   /* ciphers */
	u16(&m, 0xc02f);
	u8(&m, 1);    /* compression */
	u8(&m, 0);
	u16(&m, (unsigned)x.n);
	put(&m, x.b, x.n);
	env_init(&e);
	p = app_tls_ops.new(&e.s, &e.cfg);
	send_hs(p, MT_ORIG, 1, &m, 1000);
	app_tls_ops.end(p, 2000);
	app_tls_ops.free(p);
	assert_int_equal(e.cap.n_weirds, 1);
	assert_string_equal(e.cap.weirds[0], "ssl_ext_unknown_server_name_type|1");
	assert_string_equal(get(nth(&e.cap, "ssl", 0), "server_name"), "-");
	env_fini(&e);
}

/* Alert records as Zeek's Alerts: a record of 3 bytes gives its first alert, then binpac's
 * out_of_bound for the cut one (a violation with SSL.cc's text); 23 bytes: the first 10
 * alerts (SSL::max_alerts_per_record), weird SSL_excessive_alerts_in_record "11", no
 * violation; under TLS 1.3 one alert a record, so 3 bytes are cut to 2 (weird "1"). */
static void test_alert_lengths(void **state)
{
	static const uint8_t a3[3] = {1, 0, 2};
	static const uint8_t a23[23] = {1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 2, 40};
	struct bld b = {.n = 0}, m = {.n = 0};
	struct env e;
	void *p;

	(void)state;
	env_init(&e);
	p = app_tls_ops.new(&e.s, &e.cfg);
	record(&b, 21, a3, sizeof(a3));
	assert_int_equal(app_tls_ops.feed(p, MT_RESP, b.b, b.n, 1000), -EPROTO);
	app_tls_ops.end(p, 2000);
	app_tls_ops.free(p);
	assert_int_equal(e.cap.n_violations, 1);
	assert_string_equal(e.cap.violations[0],
			    "SSL|Binpac exception: binpac exception: out_of_bound: Alert: 2 > 1");
	assert_string_equal(get(nth(&e.cap, "ssl", 0), "last_alert"), "close_notify");
	env_fini(&e);

	/* an empty alert record first (nothing buffered yet: fuzz_tls found the pointer
	 * arithmetic on the empty buffer; the sanitizer build of this test catches it) */
	env_init(&e);
	p = app_tls_ops.new(&e.s, &e.cfg);
	b.n = 0;
	record(&b, 21, a3, 0);
	feed_all(p, MT_RESP, &b, 1000);
	app_tls_ops.end(p, 2000);
	app_tls_ops.free(p);
	assert_int_equal(e.cap.n_violations, 0);
	env_fini(&e);

	env_init(&e);
	p = app_tls_ops.new(&e.s, &e.cfg);
	b.n = 0;
	record(&b, 21, a23, sizeof(a23));
	feed_all(p, MT_RESP, &b, 1000);
	app_tls_ops.end(p, 2000);
	app_tls_ops.free(p);
	assert_int_equal(e.cap.n_violations, 0);
	assert_int_equal(weird_count(&e.cap, "SSL_excessive_alerts_in_record|11"), 1);
	assert_string_equal(get(nth(&e.cap, "ssl", 0), "ssl_history"), "llllllllll");
	assert_string_equal(get(nth(&e.cap, "ssl", 0), "last_alert"), "close_notify");
	env_fini(&e);

	env_init(&e);
	p = app_tls_ops.new(&e.s, &e.cfg);
	tls13_client_hello(&m, "mail.example.org");
	send_hs(p, MT_ORIG, 1, &m, 1000);
	tls13_server_hello(&m, false, 29);
	send_hs(p, MT_RESP, 2, &m, 2000);
	b.n = 0;
	record(&b, 21, a3, sizeof(a3));
	feed_all(p, MT_RESP, &b, 3000);
	app_tls_ops.end(p, 4000);
	app_tls_ops.free(p);
	assert_int_equal(e.cap.n_violations, 0);
	assert_int_equal(weird_count(&e.cap, "SSL_excessive_alerts_in_record|1"), 1);
	assert_string_equal(get(nth(&e.cap, "ssl", 0), "ssl_history"), "Csl");
	env_fini(&e);
}

/* The curve of a TLS 1.2 ServerKeyExchange is read for the suites of Zeek's ECDHE and
 * ECDH-anon cases only: ECDHE-RSA-AES128-GCM gives x25519; a CECPQ1 suite, the draft ChaCha20
 * one and ECDHE-PSK-AES128-GCM (names that start the same, not in Zeek's list) give none. */
static void test_ske_curve_suites(void **state)
{
	static const struct {
		unsigned cipher;
		const char *curve;
	} c[] = {{0xC02F, "x25519"}, {0x16B7, "-"}, {0xCC13, "-"}, {0xD001, "-"}};

	(void)state;
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct bld m = {.n = 0};
		struct env e;
		void *p;

		env_init(&e);
		p = app_tls_ops.new(&e.s, &e.cfg);
		tls13_client_hello(&m, "mail.example.org");
		send_hs(p, MT_ORIG, 1, &m, 1000);
		u16(&m, 0x0303);
		for (int k = 0; k < 32; k++)
			u8(&m, 0x33);
		u8(&m, 0);
		u16(&m, c[i].cipher);
		u8(&m, 0);
		send_hs(p, MT_RESP, 2, &m, 2000);
		u8(&m, 3); /* named_curve x25519, a 32-byte point, a signature */
		u16(&m, 29);
		u8(&m, 32);
		for (int k = 0; k < 32; k++)
			u8(&m, 9);
		u16(&m, 0x0401);
		u16(&m, 4);
		u16(&m, 0);
		u16(&m, 0);
		send_hs(p, MT_RESP, 12, &m, 3000);
		app_tls_ops.end(p, 4000);
		app_tls_ops.free(p);
		assert_int_equal(e.cap.n_violations, 0);
		assert_string_equal(get(nth(&e.cap, "ssl", 0), "curve"), c[i].curve);
		env_fini(&e);
	}
}

/* A zero-length first certificate: Zeek makes no file of it, so cert_chain[0] is the next one,
 * checked against the SNI (sni_matches_cert) although it is not the message's first (its
 * host_cert and mime type still follow the place: F, ca-cert). */
static void test_zero_length_first_cert(void **state)
{
	struct bld m = {.n = 0};
	const struct line *s;
	size_t n = sizeof(ec_cert_der);
	struct env e;
	void *p;

	(void)state;
	env_init(&e);
	p = app_tls_ops.new(&e.s, &e.cfg);
	tls13_client_hello(&m, "mail.example.org");
	send_hs(p, MT_ORIG, 1, &m, 1000);
	u24(&m, (unsigned)(3 + n + 3));
	u24(&m, 0);
	u24(&m, (unsigned)n);
	put(&m, ec_cert_der, n);
	send_hs(p, MT_RESP, 11, &m, 2000);
	app_tls_ops.end(p, 3000);
	app_tls_ops.free(p);
	assert_int_equal(weird_count(&e.cap, "zero_length_certificate|-"), 1);
	assert_int_equal(count(&e.cap, "files"), 1);
	assert_string_equal(get(nth(&e.cap, "files", 0), "mime_type"), "application/x-x509-ca-cert");
	assert_string_equal(get(nth(&e.cap, "x509", 0), "host_cert"), "F");
	s = nth(&e.cap, "ssl", 0);
	assert_string_equal(get(s, "cert_chain_fps"),
			    "e745e6c64aaf23035687e4eb0e3503c05c34ccd9a15a622dee6376c6b56271c6");
	assert_string_equal(get(s, "sni_matches_cert"), "T");
	env_fini(&e);
}

/* A self-signed EC certificate whose notAfter is the ASN.1 time of type type with text s, as
 * DER into der (returns its length). OpenSSL writes the time as it is given. */
static size_t time_cert(int type, const char *s, uint8_t *der, size_t cap)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	ASN1_STRING *t = ASN1_STRING_type_new(type);
	unsigned char *p = der;
	int n;

	assert_non_null(key);
	assert_non_null(x);
	assert_non_null(t);
	assert_true(ASN1_STRING_set(t, s, (int)strlen(s)));
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	ASN1_TIME_set(X509_getm_notBefore(x), 1577836800);
	assert_true(X509_set1_notAfter(x, t));
	X509_set_pubkey(x, key);
	assert_true(X509_sign(x, key, EVP_sha256()) > 0);
	n = i2d_X509(x, NULL);
	assert_true(n > 0 && (size_t)n <= cap);
	i2d_X509(x, &p);
	ASN1_STRING_free(t);
	X509_free(x);
	EVP_PKEY_free(key);
	return (size_t)n;
}

static char time_weirds[256];

static void time_weird(void *u, const char *name, const char *addl)
{
	size_t l = strlen(time_weirds);

	(void)u;
	(void)addl;
	snprintf(time_weirds + l, sizeof(time_weirds) - l, "%s%s", l ? "," : "", name);
}

/* not_valid_after as Zeek's GetTimeFromAsn1 reads it (X509Common.cc), weirds included: an
 * offset in a UTCTime gives 0 (x509_utc_format); a GeneralizedTime offset adds hh*60+mm
 * seconds; a month 13 is the next January; the length and character checks. */
static void test_x509_times(void **state)
{
	static const struct {
		int type;
		const char *s;
		double want;
		const char *weird;
	} c[] = {
	    {V_ASN1_UTCTIME, "300101000000Z", 1893456000, ""},
	    {V_ASN1_UTCTIME, "3001010000Z", 1893456000, ""},
	    {V_ASN1_UTCTIME, "500101000000Z", -631152000, ""},
	    {V_ASN1_UTCTIME, "3001010000+0100", 0, "x509_utc_format"},
	    {V_ASN1_UTCTIME, "301301000000Z", 1924992000, ""},
	    {V_ASN1_UTCTIME, "300101000000.25Z", 1893456000, ""},
	    {V_ASN1_UTCTIME, "3001010000", 0, "x509_utc_length"},
	    {V_ASN1_GENERALIZEDTIME, "20500101000000Z", 2524608000, ""},
	    {V_ASN1_GENERALIZEDTIME, "20500101000000.5Z", 2524608000, ""},
	    {V_ASN1_GENERALIZEDTIME, "205001010000Z", 2524608000, ""},
	    {V_ASN1_GENERALIZEDTIME, "20500101000000+0130", 2524608090, ""},
	    {V_ASN1_GENERALIZEDTIME, "20500101000000-0130", 2524607910, ""},
	    {V_ASN1_GENERALIZEDTIME, "19700101000000+0100", 0, ""},
	    {V_ASN1_GENERALIZEDTIME, "18500101000000Z", 56171404800, ""},
	    {V_ASN1_GENERALIZEDTIME, "20500101000000", 2524608000, ""},
	    {V_ASN1_GENERALIZEDTIME, "2050010100001", 0, "x509_time_add_char"},
	    {V_ASN1_GENERALIZEDTIME, "20500101000000+01", 0, "x509_time_offset_underflow"},
	    {V_ASN1_GENERALIZEDTIME, "20500101000000X0100", 0, "x509_time_offset_type"},
	    {V_ASN1_GENERALIZEDTIME, "2050010100", 0, "x509_gen_time_length"},
	};
	uint8_t der[1024];

	(void)state;
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct x509_info xi;
		size_t n = time_cert(c[i].type, c[i].s, der, sizeof(der));

		time_weirds[0] = 0;
		assert_int_equal(x509__parse(der, n, 16, &xi, time_weird, NULL), 0);
		if (xi.not_valid_after != c[i].want || strcmp(time_weirds, c[i].weird))
			fail_msg("%s: %.0f [%s], want %.0f [%s]", c[i].s, xi.not_valid_after,
				 time_weirds, c[i].want, c[i].weird);
		assert_true(xi.not_valid_before == 1577836800);
		x509_info__free(&xi);
	}
}

/* basicConstraints CA with pathLenConstraint -1 (DER INTEGER ff), and with 2^32 + 1: Zeek
 * assigns (int32_t)ASN1_INTEGER_get() to the count path_len, so -1 is logged as
 * 18446744073709551615 and 2^32 + 1 as 1. */
static void test_bc_path_len_cast(void **state)
{
	static const struct {
		long v;
		const char *want;
	} c[] = {{-1, "18446744073709551615"}, {4294967297L, "1"}, {3, "3"}};

	(void)state;
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		EVP_PKEY *key = EVP_EC_gen("P-256");
		BASIC_CONSTRAINTS *bc = BASIC_CONSTRAINTS_new();
		X509 *x = X509_new();
		uint8_t der[1024], *p = der;
		struct env e;
		int n;

		assert_non_null(key);
		assert_non_null(bc);
		bc->ca = 0xff;
		bc->pathlen = ASN1_INTEGER_new();
		assert_true(ASN1_INTEGER_set(bc->pathlen, c[i].v));
		X509_set_version(x, 2);
		ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
		ASN1_TIME_set(X509_getm_notBefore(x), 1577836800);
		ASN1_TIME_set(X509_getm_notAfter(x), 1893456000);
		X509_set_pubkey(x, key);
		assert_true(X509_add1_ext_i2d(x, NID_basic_constraints, bc, 1, X509V3_ADD_DEFAULT));
		assert_true(X509_sign(x, key, EVP_sha256()) > 0);
		n = i2d_X509(x, NULL);
		assert_true(n > 0 && (size_t)n <= sizeof(der));
		i2d_X509(x, &p);
		BASIC_CONSTRAINTS_free(bc);
		X509_free(x);
		EVP_PKEY_free(key);
		env_init(&e);
		cert_conn(&e, "mail.example.org", 16, der, (size_t)n);
		assert_string_equal(get(nth(&e.cap, "x509", 0), "basic_constraints.ca"), "T");
		assert_string_equal(get(nth(&e.cap, "x509", 0), "basic_constraints.path_len"),
				    c[i].want);
		env_fini(&e);
	}
}

/* An RSA certificate whose key algorithm says md5WithRSAEncryption (RDP servers'): key_alg
 * that name and no key fields, as Zeek on OpenSSL 1.1 and 3. Its ParseCertificate swaps in
 * rsaEncryption before X509_extract_key, which gave the key on OpenSSL 1.0 only: OpenSSL 1.1
 * on does not decode the key again (Zeek's own rdp-x509 test masks these fields,
 * testing/scripts/diff-remove-x509-key-info). The plain certificate: rsa, 1024, 65537. */
static void test_x509_md5rsa_key(void **state)
{
	static const uint8_t rsa_oid[] = {0x06, 0x09, 0x2a, 0x86, 0x48, 0x86,
					  0xf7, 0x0d, 0x01, 0x01, 0x01};
	EVP_PKEY *key = EVP_RSA_gen(1024);
	X509 *x = X509_new();
	uint8_t der[2048], *p = der;
	struct x509_info xi;
	size_t at = 0;
	int n;

	(void)state;
	assert_non_null(key);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	ASN1_TIME_set(X509_getm_notBefore(x), 1577836800);
	ASN1_TIME_set(X509_getm_notAfter(x), 1893456000);
	X509_set_pubkey(x, key);
	assert_true(X509_sign(x, key, EVP_sha256()) > 0);
	n = i2d_X509(x, NULL);
	assert_true(n > 0 && (size_t)n <= sizeof(der));
	i2d_X509(x, &p);
	X509_free(x);
	EVP_PKEY_free(key);
	assert_int_equal(x509__parse(der, (size_t)n, 16, &xi, NULL, NULL), 0);
	assert_string_equal(xi.key_alg, "rsaEncryption");
	assert_string_equal(xi.key_type, "rsa");
	assert_int_equal(xi.key_length, 1024);
	assert_string_equal(xi.exponent, "65537");
	x509_info__free(&xi);
	/* the key's OID (the signature's is sha256WithRSAEncryption, ...01 0b) made ...01 04 */
	for (size_t i = 0; i + sizeof(rsa_oid) <= (size_t)n && !at; i++)
		if (!memcmp(der + i, rsa_oid, sizeof(rsa_oid)))
			at = i + sizeof(rsa_oid) - 1;
	assert_true(at > 0);
	der[at] = 0x04;
	assert_int_equal(x509__parse(der, (size_t)n, 16, &xi, NULL, NULL), 0);
	assert_string_equal(xi.key_alg, "md5WithRSAEncryption");
	assert_null(xi.key_type);
	assert_int_equal(xi.key_length, 0);
	assert_null(xi.exponent);
	x509_info__free(&xi);
}

/* The EC certificate with its SAN DNS name turned into "*.example\0org" (the signature is not
 * checked): san.dns keeps the NUL byte, as Zeek logs it, and the name matches no SNI. */
static void test_san_nul(void **state)
{
	static const uint8_t want[] = {0x82, 0x0d, '*', '.', 'e', 'x', 'a', 'm', 'p', 'l', 'e', '.'};
	uint8_t der[sizeof(ec_cert_der)];
	struct env e;
	size_t n = sizeof(der), at = 0;

	(void)state;
	memcpy(der, ec_cert_der, n);
	for (size_t i = 0; i + sizeof(want) <= n && !at; i++)
		if (!memcmp(der + i, want, sizeof(want)))
			at = i + sizeof(want) - 1;
	assert_true(at > 0);
	der[at] = 0;
	env_init(&e);
	cert_conn(&e, "mail.example.org", 16, der, n);
	assert_int_equal(count(&e.cap, "x509"), 1);
	assert_string_equal(get(nth(&e.cap, "x509", 0), "san.dns"), "*.example\\x00org");
	assert_string_equal(get(nth(&e.cap, "ssl", 0), "sni_matches_cert"), "F");
	env_fini(&e);
}

/* ec_cert_der with its IPv6 SAN entry (87 10 + 16 bytes) turned into two iPAddress entries of
 * 3 and 11 bytes (the signature is not checked). */
static void san_ip_cert(uint8_t der[sizeof(ec_cert_der)])
{
	static const uint8_t v6[] = {0x87, 0x10, 0x20, 0x01, 0x0d, 0xb8};
	size_t at = 0;

	memcpy(der, ec_cert_der, sizeof(ec_cert_der));
	for (size_t i = 0; i + sizeof(v6) <= sizeof(ec_cert_der) && !at; i++)
		if (!memcmp(der + i, v6, sizeof(v6)))
			at = i;
	assert_true(at > 0);
	der[at + 1] = 0x03;
	der[at + 5] = 0x87;
	der[at + 6] = 0x0b;
}

/* The X509 analyzer's weirds are file weirds of the certificate (Zeek's Reporter::Weird(GetFile(),
 * ...)): no connection weird, the certificate's fuid (the one of its files record), the SAN IP
 * length as the extra value; x509_cert_parse_error too. Without files records the certificate
 * still has a fuid. */
static void test_x509_file_weirds(void **state)
{
	static const uint8_t junk[] = {0x30, 0x03, 0x02, 0x01, 0x01};
	uint8_t der[sizeof(ec_cert_der)];
	char want[256];
	const char *fuid;
	struct env e;

	(void)state;
	san_ip_cert(der);
	env_init(&e);
	cert_conn(&e, "mail.example.org", 16, der, sizeof(der));
	assert_int_equal(count(&e.cap, "x509"), 1);
	assert_string_equal(get(nth(&e.cap, "x509", 0), "san.ip"), "192.0.2.1");
	assert_int_equal(e.cap.n_weirds, 0); /* no connection weird */
	assert_int_equal(e.cap.n_fweirds, 2);
	fuid = get(nth(&e.cap, "files", 0), "fuid");
	assert_true(fuid[0] == 'F');
	snprintf(want, sizeof(want), "x509_san_ip_length|%s|3", fuid);
	assert_string_equal(e.cap.fweirds[0], want);
	snprintf(want, sizeof(want), "x509_san_ip_length|%s|11", fuid);
	assert_string_equal(e.cap.fweirds[1], want);
	env_fini(&e);

	env_init(&e);
	cert_conn(&e, "mail.example.org", 16, junk, sizeof(junk));
	assert_int_equal(count(&e.cap, "x509"), 0);
	assert_int_equal(count(&e.cap, "files"), 1);
	assert_int_equal(e.cap.n_weirds, 0);
	assert_int_equal(e.cap.n_fweirds, 1);
	snprintf(want, sizeof(want), "x509_cert_parse_error|%s|-",
		 get(nth(&e.cap, "files", 0), "fuid"));
	assert_string_equal(e.cap.fweirds[0], want);
	env_fini(&e);

	/* basicConstraints whose value is a SET, not a SEQUENCE */
	{
		static const uint8_t bc[] = {0x04, 0x08, 0x30, 0x06, 0x01, 0x01, 0xff};
		uint8_t d2[sizeof(ec_cert_der)];
		size_t at = 0;

		memcpy(d2, ec_cert_der, sizeof(d2));
		for (size_t i = 0; i + sizeof(bc) <= sizeof(d2) && !at; i++)
			if (!memcmp(d2 + i, bc, sizeof(bc)))
				at = i + 2;
		assert_true(at > 0);
		d2[at] = 0x31;
		env_init(&e);
		cert_conn(&e, "mail.example.org", 16, d2, sizeof(d2));
		assert_int_equal(count(&e.cap, "x509"), 1);
		assert_string_equal(get(nth(&e.cap, "x509", 0), "basic_constraints.ca"), "-");
		assert_int_equal(e.cap.n_weirds, 0);
		assert_int_equal(e.cap.n_fweirds, 1);
		snprintf(want, sizeof(want), "x509_invalid_basic_constraint|%s|-",
			 get(nth(&e.cap, "files", 0), "fuid"));
		assert_string_equal(e.cap.fweirds[0], want);
		env_fini(&e);
	}

	env_init(&e);
	e.cfg.log_x509_in_files = false;
	cert_conn(&e, "mail.example.org", 16, der, sizeof(der));
	assert_int_equal(count(&e.cap, "files"), 0);
	assert_int_equal(e.cap.n_weirds, 0);
	assert_int_equal(e.cap.n_fweirds, 2);
	assert_true(e.cap.fweirds[0][strlen("x509_san_ip_length|")] == 'F');
	/* one fuid for the certificate */
	assert_memory_equal(e.cap.fweirds[0], e.cap.fweirds[1], strlen(e.cap.fweirds[0]) - 1);
	env_fini(&e);
}

/* One TLS packet of the engine test's connection (client 10.0.0.1:cport, server
 * 10.0.0.2:465). */
static void eng_pkt(struct engine *eng, uint64_t ts, bool client, uint16_t cport, uint32_t seq,
		    uint32_t ack, uint8_t flags, const void *pl, size_t plen)
{
	static const uint8_t c[4] = {10, 0, 0, 1}, s[4] = {10, 0, 0, 2};
	static struct fr f;
	struct pkt_raw raw;

	f.len = 0;
	fr_eth(&f, 0, 0, 0, 0, 0x0800);
	fr_ipv4(&f, client ? c : s, client ? s : c, 6, fr_tcp_len(-1, plen), 0, 0x4000);
	fr_tcp(&f, client ? cport : 465, client ? 465 : cport, seq, ack, flags, 65535, -1, pl, plen);
	raw = (struct pkt_raw){.ts_ns = ts, .data = f.b, .caplen = (uint32_t)f.len,
			       .wirelen = (uint32_t)f.len, .linktype = DLT_EN10MB};
	engine__packet(eng, &raw);
}

/* A connection on 465 at ts whose server certificate gives two x509_san_ip_length. */
static void eng_cert_conn(struct engine *eng, uint64_t ts, uint16_t cport, const uint8_t *der,
			  size_t n)
{
	struct bld m = {.n = 0}, c = {.n = 0}, s = {.n = 0};
	uint32_t cs = 1000, ss = 5000;

	tls13_client_hello(&m, "mail.example.org");
	hs_record(&c, 1, &m);
	m.n = 0;
	u24(&m, (unsigned)(n + 3));
	u24(&m, (unsigned)n);
	put(&m, der, n);
	hs_record(&s, 11, &m);
	eng_pkt(eng, ts, true, cport, cs, 0, PKT_TCP_SYN, NULL, 0);
	eng_pkt(eng, ts + 1000, false, cport, ss, cs + 1, PKT_TCP_SYN | PKT_TCP_ACK, NULL, 0);
	eng_pkt(eng, ts + 2000, true, cport, cs + 1, ss + 1, PKT_TCP_ACK, NULL, 0);
	eng_pkt(eng, ts + 3000, true, cport, cs + 1, ss + 1, PKT_TCP_ACK | PKT_TCP_PSH, c.b, c.n);
	eng_pkt(eng, ts + 4000, false, cport, ss + 1, cs + 1 + (uint32_t)c.n,
		PKT_TCP_ACK | PKT_TCP_PSH, s.b, s.n);
}

/* Through the engine: file weirds have no uid or id, addl "<fuid>: <length>"; weird.zeek's
 * file_weird sets no identifier, so each name is then held back for ten minutes
 * (weird_ignore[name, ""]) whatever the file or connection. */
static void test_engine_file_weirds(void **state)
{
	uint8_t der[sizeof(ec_cert_der)];
	struct engine_cfg cfg;
	struct engine_stats st;
	struct engine *eng;
	struct env e;
	const uint64_t t0 = 1700000000ull * 1000000000ull, min = 60ull * 1000000000ull;
	int n = 0;

	(void)state;
	san_ip_cert(der);
	env_init(&e);
	engine_cfg__default(&cfg);
	cfg.seeded = true;
	cfg.seed = 1;
	eng = engine__new(&cfg, e.out);
	assert_non_null(eng);
	assert_int_equal(engine__add_parser(eng, &app_tls_ops, &e.cfg), 0);
	eng_cert_conn(eng, t0, 40000, der, sizeof(der));	      /* written: length 3 */
	eng_cert_conn(eng, t0 + min, 40001, der, sizeof(der));      /* held back */
	eng_cert_conn(eng, t0 + 11 * min, 40002, der, sizeof(der)); /* ten minutes later */
	engine__stats(eng, &st);
	engine__finish(eng);
	for (int i = 0; i < e.cap.n; i++) {
		const struct line *l = &e.cap.recs[i];
		const char *fuid = NULL;
		char want[64];

		if (strcmp(l->stream, "weird") || strcmp(get(l, "name"), "x509_san_ip_length"))
			continue;
		assert_string_equal(get(l, "uid"), "-");
		assert_string_equal(get(l, "id.orig_h"), "-");
		assert_string_equal(get(l, "source"), "-");
		/* the fuid of the files record just before (same connection) */
		for (int j = i - 1; j >= 0 && !fuid; j--)
			if (!strcmp(e.cap.recs[j].stream, "files"))
				fuid = get(&e.cap.recs[j], "fuid");
		assert_non_null(fuid);
		snprintf(want, sizeof(want), "%s: 3", fuid);
		assert_string_equal(get(l, "addl"), want);
		assert_string_equal(get(l, "ts"), n ? "1700000660.000004" : "1700000000.000004");
		n++;
	}
	assert_int_equal(n, 2);
	assert_int_equal(st.weirds_held_back, 4);
	engine__free(eng);
	env_fini(&e);
}

/* A record that breaks the protocol after ssl_established, in the same chunk as the record
 * that established the connection or in a later one: the analyzer is gone either way
 * (SSL::disable_analyzer_after_detection), no violation, the bytes consumed. */
static void test_late_bad_record(void **state)
{
	static const uint8_t ccs = 1, bad[] = {0x17, 0x99, 0x99, 0x00, 0x05, 'h', 'e', 'l', 'l', 'o'};
	struct conn *c = calloc(1, sizeof(*c));
	struct bld m = {.n = 0}, b = {.n = 0};
	uint8_t fin[40];
	struct env e;
	char *ref;
	int err;

	(void)state;
	assert_non_null(c);
	tls13_client_hello(&m, "mx.example.org");
	hs_record(&b, 1, &m);
	add_chunk(c, MT_ORIG, b.b, b.n, 1000);
	/* ServerHello TLS 1.2 (no supported_versions), ServerHelloDone */
	m.n = b.n = 0;
	u16(&m, 0x0303);
	for (int i = 0; i < 32; i++)
		u8(&m, 0x22);
	u8(&m, 0);
	u16(&m, 0xc02f);
	u8(&m, 0);
	hs_record(&b, 2, &m);
	m.n = 0;
	hs_record(&b, 14, &m);
	add_chunk(c, MT_RESP, b.b, b.n, 2000);
	/* ClientKeyExchange, CCS, encrypted Finished */
	m.n = b.n = 0;
	for (int i = 0; i < 10; i++)
		u8(&m, 0);
	hs_record(&b, 16, &m);
	record(&b, 20, &ccs, 1);
	memset(fin, 0xaa, sizeof(fin));
	record(&b, 22, fin, sizeof(fin));
	add_chunk(c, MT_ORIG, b.b, b.n, 3000);
	/* CCS, encrypted Finished (established), then a record with a bad version */
	b.n = 0;
	record(&b, 20, &ccs, 1);
	memset(fin, 0xbb, sizeof(fin));
	record(&b, 22, fin, sizeof(fin));
	put(&b, bad, sizeof(bad));
	add_chunk(c, MT_RESP, b.b, b.n, 4000);
	/* every cut (and coalescing) gives the same result and error code as per packet */
	ref = check_splits(c, &err, &e);
	assert_int_equal(err, 0);
	assert_int_equal(count(&e.cap, "ssl"), 1);
	assert_string_equal(get(nth(&e.cap, "ssl", 0), "established"), "T");
	assert_string_equal(get(nth(&e.cap, "ssl", 0), "ssl_history"), "CsnGIi");
	assert_int_equal(e.cap.n_violations, 0);
	free(ref);
	env_fini(&e);

	/* with the analyzer kept after establishment, the bad record is a violation */
	env_init(&e);
	e.cfg.disable_after_established = false;
	assert_int_equal(run(&e, c, M_PACKETS, 0), -EPROTO);
	assert_int_equal(e.cap.n_violations, 1);
	assert_int_equal(count(&e.cap, "ssl"), 1);
	env_fini(&e);
	for (int i = 0; i < c->n; i++)
		free(c->ch[i].p);
	free(c);
}

static void test_names_probe(void **state)
{
	char buf[24];
	/* "\x16\x03\x01\x00\xa5\x01" = handshake record, TLS 1.0 layer, ClientHello */
	static const uint8_t ch[] = {0x16, 0x03, 0x01, 0x00, 0xa5, 0x01};
	/* "220 mx ESMTP" */
	static const uint8_t smtp[] = "220 mx ESMTP";

	assert_string_equal(tls__cipher_name(0xc02f, buf, sizeof(buf)),
			    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");
	assert_string_equal(tls__cipher_name(0x0a0a, buf, sizeof(buf)), "grease_0x0A0A");
	assert_string_equal(tls__cipher_name(0x010080, buf, sizeof(buf)),
			    "SSLv20_CK_RC4_128_WITH_MD5");
	assert_string_equal(tls__cipher_name(0x9999, buf, sizeof(buf)), "unknown-39321");
	assert_string_equal(tls__version_name(0x0303, buf, sizeof(buf)), "TLSv12");
	assert_string_equal(tls__version_name(0x7f1c, buf, sizeof(buf)), "TLSv13-draft28");
	assert_string_equal(tls__version_name(0x0305, buf, sizeof(buf)), "unknown-773");
	assert_string_equal(tls__curve_name(23, buf, sizeof(buf)), "secp256r1");
	assert_string_equal(tls__curve_name(4588, buf, sizeof(buf)), "X25519MLKEM768");
	assert_string_equal(tls__curve_name(0xfafa, buf, sizeof(buf)), "grease_0xFAFA");
	assert_string_equal(tls__curve_name(0x7777, buf, sizeof(buf)), "unknown-30583");
	assert_string_equal(tls__alert_name(112, buf, sizeof(buf)), "unrecognized_name");
	assert_string_equal(tls__alert_name(200, buf, sizeof(buf)), "unknown-200");
	for (size_t i = 0; i < sizeof(ch); i++)
		assert_int_equal(tls__probe(ch, i), -EAGAIN);
	assert_int_equal(tls__probe(ch, sizeof(ch)), 1);
	assert_int_equal(tls__probe(smtp, sizeof(smtp) - 1), 0);
	assert_int_equal(tls__probe(smtp, 1), 0);
	/* Zeek's wildcard rules */
	assert_true(x509__check_hostname("mx.example.org", 14, "*.example.org", 13));
	assert_false(x509__check_hostname("example.org", 11, "*.org", 5));
	assert_false(x509__check_hostname("a.b.example.org", 15, "*.example.org", 13));
	assert_true(x509__check_hostname("mail1.example.org", 17, "mail*.example.org", 17));
	assert_false(x509__check_hostname("MX.example.org", 14, "mx.example.org", 14));
}

/* The cache remembers sni_matches_cert per (certificate, SNI as a C string): an SNI holding a
 * NUL must not be answered under its first part. */
static void test_sni_nul_cache(void **state)
{
	static const char bad[] = "mail.example.org\0.evil.example";
	struct env e;

	(void)state;
	env_init(&e);
	e.dedup = x509_cache__new(1000, 86400ull * 1000000000ull);
	e.cfg.x509_dedup = e.dedup;
	cert_conn(&e, "mail.example.org", 16, ec_cert_der, sizeof(ec_cert_der));
	cert_conn(&e, bad, sizeof(bad) - 1, ec_cert_der, sizeof(ec_cert_der));
	cert_conn(&e, "mail.example.org", 16, ec_cert_der, sizeof(ec_cert_der));
	assert_int_equal(count(&e.cap, "ssl"), 3);
	assert_int_equal(count(&e.cap, "x509"), 1); /* deduplicated: the cache was used */
	assert_string_equal(get(nth(&e.cap, "ssl", 0), "sni_matches_cert"), "T");
	assert_string_equal(get(nth(&e.cap, "ssl", 1), "sni_matches_cert"), "F");
	assert_string_equal(get(nth(&e.cap, "ssl", 2), "sni_matches_cert"), "T");
	env_fini(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_names_probe),
	    cmocka_unit_test(test_tls13),
	    cmocka_unit_test(test_sni_nul),
	    cmocka_unit_test(test_hrr),
	    cmocka_unit_test(test_idle_at_close),
	    cmocka_unit_test(test_resumed_alert),
	    cmocka_unit_test(test_session_id_whole),
	    cmocka_unit_test(test_sslv2_session_id_whole),
	    cmocka_unit_test(test_limits),
	    cmocka_unit_test(test_sslv2),
	    cmocka_unit_test(test_sslv2_error),
	    cmocka_unit_test(test_x509_file_weirds),
	    cmocka_unit_test(test_engine_file_weirds),
	    cmocka_unit_test(test_late_bad_record),
	    cmocka_unit_test(test_ec_cert),
	    cmocka_unit_test(test_san_nul),
	    cmocka_unit_test(test_flipped),
	    cmocka_unit_test(test_many_names),
	    cmocka_unit_test(test_zeek_starttls),
	    cmocka_unit_test(test_ndpi_starttls),
	    cmocka_unit_test(test_ndpi_smtps),
	    cmocka_unit_test(test_suricata_protodetect),
	    cmocka_unit_test(test_protocol_change_failed),
	    cmocka_unit_test(test_smtp_errors_465),
	    cmocka_unit_test(test_arkime_starttls),
	    cmocka_unit_test(test_suricata_startssl),
	    cmocka_unit_test(test_x509_dedup),
	    cmocka_unit_test(test_x509_sni_memo),
	    cmocka_unit_test(test_sni_nul_cache),
	    cmocka_unit_test(test_cert_limit),
	    cmocka_unit_test(test_x509_times),
	    cmocka_unit_test(test_x509_md5rsa_key),
	    cmocka_unit_test(test_zero_length_first_cert),
	    cmocka_unit_test(test_server_hello_0304),
	    cmocka_unit_test(test_sni_unknown_type),
	    cmocka_unit_test(test_alert_lengths),
	    cmocka_unit_test(test_bc_path_len_cast),
	    cmocka_unit_test(test_ske_curve_suites),
	    cmocka_unit_test(test_handshake_total),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
