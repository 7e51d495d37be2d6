// SPDX-License-Identifier: BSD-3-Clause
/* Record builder and output fan-out. A record is built straight into a msgpack buffer: the map
 * header (map16) and array headers (array32) are written with a zero count and patched when the
 * record or array ends, so fields can be added without counting them first. */
#include <errno.h>
#include <msgpack.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "mailtap/log.h"
#include "mailtap/rec.h"
#include "mailtap/sink.h"
#include "mailtap/zeekstr.h"

#define REC_MAX_SINKS 8
#define REC_MAX_OPTIN 8

struct rec_out {
	char prefix[64];
	size_t prefix_len;
	struct sink *sinks[REC_MAX_SINKS];
	int n_sinks;
	const char *enabled[REC_MAX_OPTIN];
	int n_enabled;
	uint64_t count;
	struct rec_limits lim;
	pthread_mutex_t lock;
};

struct rec {
	struct rec_out *out;
	msgpack_sbuffer sb;
	const char *stream;
	uint64_t ts_ns;
	uint32_t n_fields;
	size_t arr_off; /* offset of the open array's header, or 0 */
	uint32_t arr_n;
	bool open;
	/* Zeek's logging limits, for the record being built */
	struct rec_limits lim;
	uint64_t str_bytes, cont_elems;
	bool str_trunc, cont_trunc;
	bool oom; /* the buffer could not grow: the record is dropped at rec__end */
	bool quiet; /* a truncation weird being written: it raises none of its own */
};

/* Streams that are written only when asked for. */
static const char *const optin_streams[] = {"smtp_events", NULL};

struct rec *rec__new(struct rec_out *out)
{
	struct rec *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->out = out;
	msgpack_sbuffer_init(&r->sb);
	return r;
}

void rec__free(struct rec *r)
{
	if (!r)
		return;
	msgpack_sbuffer_destroy(&r->sb);
	free(r);
}

/* Room for n more bytes in the record's buffer (msgpack_sbuffer's growth rule: the buffer
 * stays an sbuffer). false when out of memory: the record is then dropped at rec__end. */
static bool reserve(struct rec *r, size_t n)
{
	msgpack_sbuffer *sb = &r->sb;
	size_t nsize;
	char *tmp;

	if (sb->alloc - sb->size >= n)
		return true;
	if (r->oom)
		return false;
	nsize = sb->alloc ? sb->alloc * 2 : MSGPACK_SBUFFER_INIT_SIZE;
	while (nsize < sb->size + n)
		nsize *= 2;
	tmp = realloc(sb->data, nsize);
	if (!tmp) {
		r->oom = true;
		return false;
	}
	sb->data = tmp;
	sb->alloc = nsize;
	return true;
}

static void put_raw(struct rec *r, const void *p, size_t n)
{
	if (reserve(r, n)) {
		memcpy(r->sb.data + r->sb.size, p, n);
		r->sb.size += n;
	}
}

/*
 * msgpack values written straight into the buffer: the same bytes as msgpack-c's
 * msgpack_pack_* (smallest form of each integer, str8 from 32 bytes on, doubles as float 64),
 * without a callback per piece.
 */

/* The header of a str of len bytes (the one sink_file/sink_fwd write too). */
static void put_strhdr(struct rec *r, size_t len)
{
	if (reserve(r, 5))
		r->sb.size += sink__str_header((uint8_t *)r->sb.data + r->sb.size, len);
}

static void put_strb(struct rec *r, const void *s, size_t len)
{
	if (!reserve(r, len + 5))
		return;
	put_strhdr(r, len);
	memcpy(r->sb.data + r->sb.size, s, len);
	r->sb.size += len;
}

/* A type byte followed by the n low bytes of v, big-endian. */
static void put_typed(struct rec *r, uint8_t type, uint64_t v, int n)
{
	uint8_t *o;

	if (!reserve(r, 9))
		return;
	o = (uint8_t *)r->sb.data + r->sb.size;
	o[0] = type;
	for (int i = 0; i < n; i++)
		o[1 + i] = (uint8_t)(v >> (8 * (n - 1 - i)));
	r->sb.size += 1 + (size_t)n;
}

static void put_u64(struct rec *r, uint64_t v)
{
	if (v < 128) {
		uint8_t b = (uint8_t)v;

		put_raw(r, &b, 1);
	} else if (v < 256) {
		put_typed(r, 0xcc, v, 1);
	} else if (v < 65536) {
		put_typed(r, 0xcd, v, 2);
	} else if (v <= UINT32_MAX) {
		put_typed(r, 0xce, v, 4);
	} else {
		put_typed(r, 0xcf, v, 8);
	}
}

static void put_i64(struct rec *r, int64_t v)
{
	if (v >= 0) {
		put_u64(r, (uint64_t)v);
	} else if (v >= -32) {
		uint8_t b = (uint8_t)v; /* negative fixint */

		put_raw(r, &b, 1);
	} else if (v >= INT8_MIN) {
		put_typed(r, 0xd0, (uint64_t)v, 1);
	} else if (v >= INT16_MIN) {
		put_typed(r, 0xd1, (uint64_t)v, 2);
	} else if (v >= INT32_MIN) {
		put_typed(r, 0xd2, (uint64_t)v, 4);
	} else {
		put_typed(r, 0xd3, (uint64_t)v, 8);
	}
}

static void put_double(struct rec *r, double d)
{
	uint64_t v;

	memcpy(&v, &d, sizeof(v));
	put_typed(r, 0xcb, v, 8);
}

/* Writes s as a msgpack str holding the value Zeek's JSON writer (json_escape_utf8) has:
 * the string as it is when it is clean, else every byte outside printable ASCII and
 * \b \f \n \r \t as the 4-character text \xNN (zeekstr.h). */
static void put_str(struct rec *r, const char *s, size_t len)
{
	size_t n;

	if (zeekstr_clean(s, len)) {
		put_strb(r, s, len);
		return;
	}
	n = zeekstr_escape(NULL, s, len);
	if (!reserve(r, n + 5))
		return;
	put_strhdr(r, n);
	r->sb.size += zeekstr_escape(r->sb.data + r->sb.size, s, len);
}

/* Applies the string limits of Zeek's logging framework to a field value. */
static void put_str_limited(struct rec *r, const char *s, size_t len)
{
	const struct rec_limits *l = &r->lim;

	if (l->max_field_string_bytes && len > l->max_field_string_bytes) {
		len = l->max_field_string_bytes;
		r->str_trunc = true;
	}
	if (l->max_total_string_bytes) {
		uint64_t left = r->str_bytes < l->max_total_string_bytes
				    ? l->max_total_string_bytes - r->str_bytes
				    : 0;

		if (len > left) {
			len = (size_t)left;
			r->str_trunc = true;
		}
	}
	r->str_bytes += len;
	put_str(r, s, len);
}

/* True when one more container element may be written (Zeek's container limits). */
static bool elem_ok(struct rec *r)
{
	const struct rec_limits *l = &r->lim;

	if ((l->max_field_container_elements && r->arr_n >= l->max_field_container_elements) ||
	    (l->max_total_container_elements && r->cont_elems >= l->max_total_container_elements)) {
		r->cont_trunc = true;
		return false;
	}
	r->cont_elems++;
	return true;
}

static void put_key(struct rec *r, const char *key, size_t klen)
{
	/* most keys are shorter than 32 bytes: a fixstr, its header one byte (two stats keys
	 * are 32 bytes long: str8, as sink__str_header writes it) */
	if (klen < 32 && reserve(r, klen + 1)) {
		uint8_t *o = (uint8_t *)r->sb.data + r->sb.size;

		o[0] = (uint8_t)(0xa0 | klen);
		memcpy(o + 1, key, klen);
		r->sb.size += klen + 1;
	} else {
		put_strb(r, key, klen);
	}
	r->n_fields++;
}

void rec_limits__default(struct rec_limits *l)
{
	l->max_field_string_bytes = 4096;
	l->max_total_string_bytes = 256000;
	l->max_field_container_elements = 100;
	l->max_total_container_elements = 500;
}

void rec_out__set_limits(struct rec_out *o, const struct rec_limits *l)
{
	o->lim = *l;
}

void rec__begin(struct rec *r, const char *stream, uint64_t ts_ns)
{
	static const uint8_t map16[3] = {0xde, 0, 0};

	msgpack_sbuffer_clear(&r->sb);
	r->lim = r->out->lim;
	if (!strcmp(stream, "x509")) { /* X509::default_max_field_container_elements */
		if (r->lim.max_field_container_elements)
			r->lim.max_field_container_elements = 500;
		if (r->lim.max_total_container_elements)
			r->lim.max_total_container_elements = 1500;
	}
	r->str_bytes = r->cont_elems = 0;
	r->str_trunc = r->cont_trunc = false;
	r->oom = false;
	r->stream = stream;
	r->ts_ns = ts_ns;
	r->n_fields = 0;
	r->arr_off = 0;
	r->open = true;
	put_raw(r, map16, sizeof(map16));
	rec__time(r, "ts", ts_ns);
}

void rec__conn(struct rec *r, const char *uid, const struct conn_id *id)
{
	if (uid)
		rec__cstr(r, "uid", uid);
	rec__addr(r, "id.orig_h", &id->orig_h);
	rec__port(r, "id.orig_p", id->orig_p);
	rec__addr(r, "id.resp_h", &id->resp_h);
	rec__port(r, "id.resp_p", id->resp_p);
}

void rec__str_k(struct rec *r, const char *key, size_t klen, const char *s, size_t len)
{
	put_key(r, key, klen);
	put_str_limited(r, s, len);
}

void rec__cstr_k(struct rec *r, const char *key, size_t klen, const char *s)
{
	if (s)
		rec__str_k(r, key, klen, s, strlen(s));
}

void rec__mstr_k(struct rec *r, const char *key, size_t klen, const struct mt_str *s)
{
	if (s->s)
		rec__str_k(r, key, klen, s->s, s->n);
}

void rec__u64_k(struct rec *r, const char *key, size_t klen, uint64_t v)
{
	put_key(r, key, klen);
	put_u64(r, v);
}

void rec__i64_k(struct rec *r, const char *key, size_t klen, int64_t v)
{
	put_key(r, key, klen);
	put_i64(r, v);
}

void rec__bool_k(struct rec *r, const char *key, size_t klen, bool v)
{
	uint8_t b = v ? 0xc3 : 0xc2;

	put_key(r, key, klen);
	put_raw(r, &b, 1);
}

void rec__double_k(struct rec *r, const char *key, size_t klen, double v)
{
	put_key(r, key, klen);
	put_double(r, v);
}

/* Nanoseconds as float seconds, whole seconds and the fraction apart (exact to the ns). */
static double ns_seconds(uint64_t ns)
{
	return (double)(ns / 1000000000ULL) + (double)(ns % 1000000000ULL) / 1e9;
}

void rec__time_k(struct rec *r, const char *key, size_t klen, uint64_t ts_ns)
{
	rec__double_k(r, key, klen, ns_seconds(ts_ns));
}

void rec__interval_k(struct rec *r, const char *key, size_t klen, int64_t d_ns)
{
	rec__double_k(r, key, klen,
		      d_ns < 0 ? -ns_seconds((uint64_t)0 - (uint64_t)d_ns) : ns_seconds((uint64_t)d_ns));
}

void rec__addr_k(struct rec *r, const char *key, size_t klen, const struct mt_addr *a)
{
	char buf[MT_ADDR_STRLEN];
	size_t n = mt_addr__fmt(a, buf, sizeof(buf));

	put_key(r, key, klen);
	put_str(r, buf, n);
}

void rec__port_k(struct rec *r, const char *key, size_t klen, uint16_t port)
{
	rec__u64_k(r, key, klen, port);
}

void rec__arr_begin_k(struct rec *r, const char *key, size_t klen)
{
	static const uint8_t arr32[5] = {0xdd, 0, 0, 0, 0};

	put_key(r, key, klen);
	r->arr_off = r->sb.size;
	r->arr_n = 0;
	put_raw(r, arr32, sizeof(arr32));
}

void rec__arr_str(struct rec *r, const char *s, size_t len)
{
	if (!elem_ok(r))
		return;
	put_str_limited(r, s, len);
	r->arr_n++;
}

void rec__arr_cstr(struct rec *r, const char *s)
{
	rec__arr_str(r, s, strlen(s));
}

void rec__arr_addr(struct rec *r, const struct mt_addr *a)
{
	char buf[MT_ADDR_STRLEN];
	size_t n = mt_addr__fmt(a, buf, sizeof(buf));

	if (!elem_ok(r))
		return;
	put_str(r, buf, n); /* addresses are not strings to Zeek's limits */
	r->arr_n++;
}

void rec__arr_u64(struct rec *r, uint64_t v)
{
	if (!elem_ok(r))
		return;
	put_u64(r, v);
	r->arr_n++;
}

void rec__arr_end(struct rec *r)
{
	uint8_t *h = (uint8_t *)r->sb.data + r->arr_off;

	if (r->oom)
		return; /* the header may not have been written: the record is dropped */
	h[1] = (uint8_t)(r->arr_n >> 24);
	h[2] = (uint8_t)(r->arr_n >> 16);
	h[3] = (uint8_t)(r->arr_n >> 8);
	h[4] = (uint8_t)r->arr_n;
	r->arr_off = 0;
}

/* Zeek's log stream id of a stream, for the truncation weirds' addl. */
static void log_id(const char *stream, char *buf, size_t len)
{
	static const char *const known[][2] = {
	    {"conn", "Conn::LOG"}, {"smtp", "SMTP::LOG"}, {"files", "Files::LOG"},
	    {"ssl", "SSL::LOG"},   {"x509", "X509::LOG"}, {"weird", "Weird::LOG"},
	};
	size_t i;

	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (!strcmp(known[i][0], stream)) {
			snprintf(buf, len, "%s", known[i][1]);
			return;
		}
	snprintf(buf, len, "%s::LOG", stream);
}

static const char *node_name = "mailtap";

void rec__set_node(const char *name)
{
	node_name = name && *name ? name : "mailtap";
}

const char *rec__node(void)
{
	return node_name;
}

static void truncation_weird(struct rec *r, const char *stream, uint64_t ts, const char *name)
{
	char addl[64];

	log_id(stream, addl, sizeof(addl));
	/* under the same limits, so with tiny ones its own strings are cut too (as in Zeek's
	 * field-length-limiting test), but that raises no weird about the weird: no loop */
	r->quiet = true;
	rec__begin(r, "weird", ts);
	rec__cstr(r, "name", name);
	rec__cstr(r, "addl", addl);
	rec__bool(r, "notice", false);
	rec__cstr(r, "peer", node_name);
	rec__end(r);
	r->quiet = false;
}

int rec__end(struct rec *r)
{
	uint8_t *h = (uint8_t *)r->sb.data;
	const char *stream = r->stream;
	bool st = r->str_trunc, ct = r->cont_trunc;
	uint64_t ts = r->ts_ns;
	int err;

	if (!r->open)
		return -EINVAL;
	r->open = false;
	if (r->oom) { /* a piece could not be written: no half record goes out */
		msgpack_sbuffer_clear(&r->sb);
		pr_warn("record of stream %s dropped: out of memory\n", stream);
		return -ENOMEM;
	}
	h[1] = (uint8_t)(r->n_fields >> 8);
	h[2] = (uint8_t)r->n_fields;
	err = rec_out__emit(r->out, r->stream, r->ts_ns, (const uint8_t *)r->sb.data, r->sb.size);
	msgpack_sbuffer_clear(&r->sb);
	if (st && !r->quiet)
		truncation_weird(r, stream, ts, "log_string_field_truncated");
	if (ct && !r->quiet)
		truncation_weird(r, stream, ts, "log_container_field_truncated");
	return err;
}

void rec__cancel(struct rec *r)
{
	r->open = false;
	msgpack_sbuffer_clear(&r->sb);
}

struct rec_out *rec_out__new(const char *tag_prefix)
{
	struct rec_out *o = calloc(1, sizeof(*o));

	if (!o)
		return NULL;
	snprintf(o->prefix, sizeof(o->prefix), "%s", tag_prefix ? tag_prefix : "mailtap");
	rec_limits__default(&o->lim);
	o->prefix_len = strlen(o->prefix);
	pthread_mutex_init(&o->lock, NULL);
	return o;
}

void rec_out__free(struct rec_out *o)
{
	if (!o)
		return;
	pthread_mutex_destroy(&o->lock);
	free(o);
}

int rec_out__add_sink(struct rec_out *o, struct sink *s)
{
	if (o->n_sinks >= REC_MAX_SINKS)
		return -ENOSPC;
	o->sinks[o->n_sinks++] = s;
	return 0;
}

void rec_out__enable(struct rec_out *o, const char *stream)
{
	for (int i = 0; optin_streams[i]; i++)
		if (!strcmp(optin_streams[i], stream) && o->n_enabled < REC_MAX_OPTIN)
			o->enabled[o->n_enabled++] = optin_streams[i];
}

bool rec_out__wants(const struct rec_out *o, const char *stream)
{
	int optin = 0;

	for (int i = 0; optin_streams[i]; i++)
		if (!strcmp(optin_streams[i], stream))
			optin = 1;
	if (!optin)
		return true;
	for (int i = 0; i < o->n_enabled; i++)
		if (!strcmp(o->enabled[i], stream))
			return true;
	return false;
}

int rec_out__emit(struct rec_out *o, const char *stream, uint64_t ts_ns, const uint8_t *map,
		  size_t len)
{
	char tag[128];
	size_t sl = strlen(stream), n = o->prefix_len + 1 + sl;
	int err = 0;

	if (!rec_out__wants(o, stream))
		return 0;
	if (n >= sizeof(tag))
		return -ENAMETOOLONG;
	memcpy(tag, o->prefix, o->prefix_len); /* "<prefix>.<stream>" without stdio */
	tag[o->prefix_len] = '.';
	memcpy(tag + o->prefix_len + 1, stream, sl + 1);
	pthread_mutex_lock(&o->lock);
	o->count++;
	for (int i = 0; i < o->n_sinks; i++) {
		int e = sink__write(o->sinks[i], tag, n, ts_ns, map, len);

		if (e && !err)
			err = e;
	}
	pthread_mutex_unlock(&o->lock);
	return err;
}

void rec_out__reopen(struct rec_out *o)
{
	pthread_mutex_lock(&o->lock);
	for (int i = 0; i < o->n_sinks; i++)
		sink__reopen(o->sinks[i]);
	pthread_mutex_unlock(&o->lock);
}

void rec_out__tick(struct rec_out *o)
{
	pthread_mutex_lock(&o->lock);
	for (int i = 0; i < o->n_sinks; i++)
		sink__tick(o->sinks[i]);
	pthread_mutex_unlock(&o->lock);
}

uint64_t rec_out__count(const struct rec_out *o)
{
	return o->count;
}
