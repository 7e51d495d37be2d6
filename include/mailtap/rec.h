/* SPDX-License-Identifier: BSD-3-Clause */
/* Record builder: one record = one msgpack map with Zeek's field names, built field by field
 * and handed whole to the outputs (struct rec_out -> sinks). Callers never see msgpack.
 *
 * Conventions (docs/records.md): "ts" and other time fields are float seconds since the
 * epoch; intervals float seconds; addresses strings; ports unsigned ints; Zeek sets and
 * vectors msgpack arrays; Zeek's unset &optional fields are simply not written. Strings are
 * written as msgpack str holding Zeek's JSON value (json_escape_utf8, zeekstr.h): a string
 * with a control byte or bytes that are not valid UTF-8 has all its bytes outside printable
 * ASCII written as the text \xNN, as Zeek's JSON logs do. */
#ifndef MAILTAP_REC_H
#define MAILTAP_REC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "mailtap/types.h"

struct rec;
struct rec_out;

/* The sensor's name in records (Zeek's peer_description: weird's `peer`, intel's
 * `seen.node`, stats' `peer`); "mailtap" unless set. Set once, before records are made. */
void rec__set_node(const char *name);
const char *rec__node(void);

struct rec *rec__new(struct rec_out *out);
void rec__free(struct rec *r);

/* Starts a record of `stream` ("conn", "smtp", ...) whose Zeek ts is ts_ns; writes "ts".
 * The record's EventTime in the Forward entry is ts_ns too. */
void rec__begin(struct rec *r, const char *stream, uint64_t ts_ns);
/* "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p". */
void rec__conn(struct rec *r, const char *uid, const struct conn_id *id);
/* The field writers take the key's length (rec__X_k); rec__X passes strlen(key), which the
 * compiler works out for a literal key: no strlen per field. */
void rec__str_k(struct rec *r, const char *key, size_t klen, const char *s, size_t len);
void rec__cstr_k(struct rec *r, const char *key, size_t klen, const char *s);
void rec__mstr_k(struct rec *r, const char *key, size_t klen, const struct mt_str *s);
void rec__u64_k(struct rec *r, const char *key, size_t klen, uint64_t v);
void rec__i64_k(struct rec *r, const char *key, size_t klen, int64_t v);
void rec__bool_k(struct rec *r, const char *key, size_t klen, bool v);
void rec__double_k(struct rec *r, const char *key, size_t klen, double v);
void rec__time_k(struct rec *r, const char *key, size_t klen, uint64_t ts_ns);
/* Zeek's interval: seconds, negative when time went back (a later event with an earlier
 * packet time) */
void rec__interval_k(struct rec *r, const char *key, size_t klen, int64_t d_ns);
void rec__addr_k(struct rec *r, const char *key, size_t klen, const struct mt_addr *a);
void rec__port_k(struct rec *r, const char *key, size_t klen, uint16_t port);
void rec__arr_begin_k(struct rec *r, const char *key, size_t klen);

static inline void rec__str(struct rec *r, const char *key, const char *s, size_t len)
{
	rec__str_k(r, key, strlen(key), s, len);
}
/* nothing if s == NULL */
static inline void rec__cstr(struct rec *r, const char *key, const char *s)
{
	rec__cstr_k(r, key, strlen(key), s);
}
/* nothing if unset */
static inline void rec__mstr(struct rec *r, const char *key, const struct mt_str *s)
{
	rec__mstr_k(r, key, strlen(key), s);
}
static inline void rec__u64(struct rec *r, const char *key, uint64_t v)
{
	rec__u64_k(r, key, strlen(key), v);
}
static inline void rec__i64(struct rec *r, const char *key, int64_t v)
{
	rec__i64_k(r, key, strlen(key), v);
}
static inline void rec__bool(struct rec *r, const char *key, bool v)
{
	rec__bool_k(r, key, strlen(key), v);
}
static inline void rec__double(struct rec *r, const char *key, double v)
{
	rec__double_k(r, key, strlen(key), v);
}
/* float seconds */
static inline void rec__time(struct rec *r, const char *key, uint64_t ts_ns)
{
	rec__time_k(r, key, strlen(key), ts_ns);
}
/* float seconds */
static inline void rec__interval(struct rec *r, const char *key, int64_t d_ns)
{
	rec__interval_k(r, key, strlen(key), d_ns);
}
static inline void rec__addr(struct rec *r, const char *key, const struct mt_addr *a)
{
	rec__addr_k(r, key, strlen(key), a);
}
static inline void rec__port(struct rec *r, const char *key, uint16_t port)
{
	rec__port_k(r, key, strlen(key), port);
}
/* Arrays (Zeek set/vector): begin, elements, end. Nesting is not supported. */
static inline void rec__arr_begin(struct rec *r, const char *key)
{
	rec__arr_begin_k(r, key, strlen(key));
}
void rec__arr_str(struct rec *r, const char *s, size_t len);
void rec__arr_cstr(struct rec *r, const char *s);
void rec__arr_addr(struct rec *r, const struct mt_addr *a);
void rec__arr_u64(struct rec *r, uint64_t v);
void rec__arr_end(struct rec *r);
/* Finishes the record and hands it to every sink. Returns 0 or the first sink's -errno
 * (the record is still counted as produced; sinks keep their own loss counters). */
int rec__end(struct rec *r);
/* Abandons the record being built. */
void rec__cancel(struct rec *r);

/* The outputs: a fan-out to every configured sink, with the tag prefix ("mailtap"). */
struct sink;
struct rec_out *rec_out__new(const char *tag_prefix);
void rec_out__free(struct rec_out *o); /* does not close the sinks */
int rec_out__add_sink(struct rec_out *o, struct sink *s);
/* Opt-in streams (e.g. "smtp_events") are dropped unless enabled. */
void rec_out__enable(struct rec_out *o, const char *stream);
bool rec_out__wants(const struct rec_out *o, const char *stream);
/* Low level: hand a finished msgpack map to every sink. */
int rec_out__emit(struct rec_out *o, const char *stream, uint64_t ts_ns, const uint8_t *map,
		  size_t len);
/* Zeek's logging limits (Log::default_max_*): a longer string field is cut, a larger
 * container truncated, and the record is followed by a weird record
 * log_string_field_truncated / log_container_field_truncated with addl "<Stream>::LOG".
 * 0 = no limit. Zeek's defaults: 4096, 256000, 100, 500 (x509: 500/1500 containers). */
struct rec_limits {
	uint32_t max_field_string_bytes;
	uint32_t max_total_string_bytes;
	uint32_t max_field_container_elements;
	uint32_t max_total_container_elements;
};
void rec_limits__default(struct rec_limits *l);
void rec_out__set_limits(struct rec_out *o, const struct rec_limits *l);
/* Reopens every sink (SIGHUP), between two records. */
void rec_out__reopen(struct rec_out *o);
/* Once a second live: every sink pushes out what has waited (sink_ops.tick), between two
 * records. */
void rec_out__tick(struct rec_out *o);
/* Records handed to the sinks so far, in all streams. */
uint64_t rec_out__count(const struct rec_out *o);

#endif
