// SPDX-License-Identifier: BSD-3-Clause
/* Record builder + file sink: msgpack round trip, and every entry valid for fluent-bit's
 * in_forward (array of 3, string tag, EventTime ext type 0 with 8 bytes, map record). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <cmocka.h>
#include <msgpack.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "mailtap/rec.h"
#include "mailtap/sink.h"
#include "alloc_fault.h"

static const msgpack_object *get(const msgpack_object *m, const char *k)
{
	for (uint32_t i = 0; i < m->via.map.size; i++) {
		const msgpack_object *key = &m->via.map.ptr[i].key;

		if (key->type == MSGPACK_OBJECT_STR && key->via.str.size == strlen(k) &&
		    !memcmp(key->via.str.ptr, k, key->via.str.size))
			return &m->via.map.ptr[i].val;
	}
	return NULL;
}

/* A record builder writing through the file sink to a temporary file. */
struct tmp_out {
	char path[40];
	struct sink *s;
	struct rec_out *o;
	struct rec *r;
};

static void tmp_out_open(struct tmp_out *t, const struct rec_limits *lim)
{
	int fd;

	snprintf(t->path, sizeof(t->path), "/tmp/mailtap-test-rec-XXXXXX");
	fd = mkstemp(t->path);
	assert_true(fd >= 0);
	close(fd);
	t->s = sink_file__open(t->path, false);
	assert_non_null(t->s);
	t->o = rec_out__new("mailtap");
	assert_non_null(t->o);
	rec_out__add_sink(t->o, t->s);
	if (lim)
		rec_out__set_limits(t->o, lim);
	t->r = rec__new(t->o);
	assert_non_null(t->r);
}

/* Closes the builder, output and sink; returns the file's bytes (*len of them; the caller
 * frees them) and removes the file. */
static uint8_t *tmp_out_close(struct tmp_out *t, size_t *len)
{
	FILE *f;
	long n;
	uint8_t *b;

	rec__free(t->r);
	assert_int_equal(sink__close(t->s), 0);
	rec_out__free(t->o);
	f = fopen(t->path, "rb");
	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	b = malloc((size_t)n + 1);
	assert_non_null(b);
	assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	unlink(t->path);
	*len = (size_t)n;
	return b;
}

static void test_roundtrip(void **st)
{
	struct tmp_out t;
	struct rec *r;
	struct conn_id id;
	uint8_t *buf;
	size_t n, off = 0;
	msgpack_unpacked u;
	int records = 0;

	(void)st;
	tmp_out_open(&t, NULL);
	r = t.r;
	memset(&id, 0, sizeof(id));
	mt_addr__parse(&id.orig_h, "10.0.0.1");
	mt_addr__parse(&id.resp_h, "2001:db8::2");
	id.orig_p = 1234;
	id.resp_p = 25;
	for (int i = 0; i < 3; i++) {
		rec__begin(r, "smtp", 1254722767492060000ULL + (uint64_t)i);
		rec__conn(r, "CabcDEF123", &id);
		rec__u64(r, "trans_depth", 1);
		/* valid UTF-8, then a bad byte: all of it escaped, as Zeek's json_escape_utf8 */
		rec__cstr(r, "subject", "caf\xc3\xa9 \xff!");
		{ /* a bad byte in the first, second and fourth 8-byte word of an ASCII string */
			char esc[42];

			memset(esc, 'a', 41);
			esc[41] = 0;
			esc[2 + 13 * i] = (char)0xff;
			rec__cstr(r, "escaped", esc);
		}
		rec__arr_begin(r, "rcptto");
		rec__arr_cstr(r, "a@b");
		rec__arr_cstr(r, "c@d");
		rec__arr_end(r);
		rec__bool(r, "tls", false);
		rec__interval(r, "duration", 1500000000LL);
		rec__interval(r, "back", -2250000000LL); /* time went back: negative, as Zeek's */
		assert_int_equal(rec__end(r), 0);
	}
	/* an opt-in stream is dropped unless enabled */
	rec__begin(r, "smtp_events", 1);
	rec__end(r);
	assert_int_equal(rec_out__count(t.o), 3);
	buf = tmp_out_close(&t, &n);
	msgpack_unpacked_init(&u);
	while (msgpack_unpack_next(&u, (const char *)buf, n, &off) == MSGPACK_UNPACK_SUCCESS) {
		const msgpack_object *e = &u.data, *m, *v;

		assert_int_equal(e->type, MSGPACK_OBJECT_ARRAY);
		assert_int_equal(e->via.array.size, 3);
		assert_int_equal(e->via.array.ptr[0].type, MSGPACK_OBJECT_STR);
		assert_memory_equal(e->via.array.ptr[0].via.str.ptr, "mailtap.smtp", 12);
		assert_int_equal(e->via.array.ptr[1].type, MSGPACK_OBJECT_EXT);
		assert_int_equal(e->via.array.ptr[1].via.ext.type, 0);
		assert_int_equal(e->via.array.ptr[1].via.ext.size, 8);
		{
			const uint8_t *t = (const uint8_t *)e->via.array.ptr[1].via.ext.ptr;
			uint32_t sec = (uint32_t)t[0] << 24 | t[1] << 16 | t[2] << 8 | t[3];
			uint32_t ns = (uint32_t)t[4] << 24 | t[5] << 16 | t[6] << 8 | t[7];

			assert_int_equal(sec, 1254722767);
			assert_int_equal(ns, 492060000 + records);
		}
		m = &e->via.array.ptr[2];
		assert_int_equal(m->type, MSGPACK_OBJECT_MAP);
		assert_string_equal(m->via.map.ptr[0].key.via.str.size == 2 ? "ts" : "?", "ts");
		v = get(m, "ts");
		assert_true(v && v->type == MSGPACK_OBJECT_FLOAT64);
		assert_true(v->via.f64 > 1254722767.49205 && v->via.f64 < 1254722767.49207);
		v = get(m, "id.resp_h");
		assert_int_equal(v->via.str.size, strlen("2001:db8::2"));
		assert_memory_equal(v->via.str.ptr, "2001:db8::2", v->via.str.size);
		v = get(m, "id.orig_p");
		assert_int_equal(v->type, MSGPACK_OBJECT_POSITIVE_INTEGER);
		assert_int_equal(v->via.u64, 1234);
		v = get(m, "subject");
		assert_int_equal(v->via.str.size, strlen("caf\\xc3\\xa9 \\xff!"));
		assert_memory_equal(v->via.str.ptr, "caf\\xc3\\xa9 \\xff!", v->via.str.size);
		{
			char want[48];
			int pos = 2 + 13 * records;

			memset(want, 'a', sizeof(want));
			memcpy(want + pos, "\\xff", 4);
			v = get(m, "escaped");
			assert_true(v && v->type == MSGPACK_OBJECT_STR);
			assert_int_equal(v->via.str.size, 44);
			assert_memory_equal(v->via.str.ptr, want, 44);
		}
		v = get(m, "rcptto");
		assert_int_equal(v->type, MSGPACK_OBJECT_ARRAY);
		assert_int_equal(v->via.array.size, 2);
		v = get(m, "tls");
		assert_int_equal(v->type, MSGPACK_OBJECT_BOOLEAN);
		v = get(m, "duration");
		assert_true(v->via.f64 == 1.5);
		v = get(m, "back");
		assert_true(v && v->type == MSGPACK_OBJECT_FLOAT64 && v->via.f64 == -2.25);
		assert_int_equal(m->via.map.size, 13);
		records++;
	}
	assert_int_equal(records, 3);
	assert_int_equal(off, n);
	msgpack_unpacked_destroy(&u);
	free(buf);
}

static void test_reserved_event_time(void **st)
{
	uint8_t t[10];

	(void)st;
	sink__event_time(t, 0xffffffffULL * 1000000000ULL);
	assert_int_equal(t[0], 0xd7);
	assert_int_equal(t[1], 0);
	assert_int_equal(t[9], 1); /* never the reserved 0xFFFFFFFF.0 marker */
}

/* sink__str_header agrees with msgpack-c's str headers at every size boundary. */
static void test_str_header(void **st)
{
	static const size_t sizes[] = {0, 31, 32, 255, 256, 65535, 65536, 100000};
	uint8_t h[5];
	size_t i, hl;

	(void)st;
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		msgpack_sbuffer sb;
		msgpack_packer pk;

		msgpack_sbuffer_init(&sb);
		msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
		msgpack_pack_str(&pk, sizes[i]);
		hl = sink__str_header(h, sizes[i]);
		assert_int_equal(hl, sb.size);
		assert_memory_equal(h, sb.data, hl);
		msgpack_sbuffer_destroy(&sb);
	}
}

/* Every value type at the edges of its encodings: rec writes the bytes msgpack-c's packer
 * writes (after the record's map16 header). */
static void test_values_like_msgpack_c(void **st)
{
	static const uint64_t u[] = {0, 1, 127, 128, 255, 256, 65535, 65536, 4294967295ULL,
				     4294967296ULL, UINT64_MAX};
	static const int64_t i64[] = {0, 5, -1, -32, -33, -128, -129, -32768, -32769, INT32_MIN,
				      (int64_t)INT32_MIN - 1, INT64_MIN, INT64_MAX, 200, 70000};
	static const size_t sl[] = {0, 1, 31, 32, 255, 256, 65535, 65536};
	static const double d[] = {0.0, -1.5, 1254722767.49206, 1e300};
	static char str[65536];
	struct tmp_out t;
	struct rec *r;
	msgpack_sbuffer want;
	msgpack_packer pk;
	char key[32];
	uint32_t n = 0;
	size_t len;
	uint8_t *got;
	size_t i;

	(void)st;
	memset(str, 'x', sizeof(str));
	tmp_out_open(&t, &(struct rec_limits){0}); /* no string limit */
	r = t.r;
	msgpack_sbuffer_init(&want);
	msgpack_packer_init(&pk, &want, msgpack_sbuffer_write);
	rec__begin(r, "t", 1000000000ULL);
	msgpack_pack_str(&pk, 2);
	msgpack_pack_str_body(&pk, "ts", 2);
	msgpack_pack_double(&pk, 1.0);
	n++;
#define KEY(fmt, v)                                                                                \
	do {                                                                                       \
		snprintf(key, sizeof(key), fmt, v);                                                \
		msgpack_pack_str(&pk, strlen(key));                                                \
		msgpack_pack_str_body(&pk, key, strlen(key));                                      \
		n++;                                                                               \
	} while (0)
	for (i = 0; i < sizeof(u) / sizeof(u[0]); i++) {
		KEY("u%zu", i);
		rec__u64(r, key, u[i]);
		msgpack_pack_uint64(&pk, u[i]);
	}
	for (i = 0; i < sizeof(i64) / sizeof(i64[0]); i++) {
		KEY("i%zu", i);
		rec__i64(r, key, i64[i]);
		msgpack_pack_int64(&pk, i64[i]);
	}
	for (i = 0; i < sizeof(sl) / sizeof(sl[0]); i++) {
		KEY("s%zu", i);
		rec__str(r, key, str, sl[i]);
		msgpack_pack_str(&pk, sl[i]);
		msgpack_pack_str_body(&pk, str, sl[i]);
	}
	for (i = 0; i < sizeof(d) / sizeof(d[0]); i++) {
		KEY("d%zu", i);
		rec__double(r, key, d[i]);
		msgpack_pack_double(&pk, d[i]);
	}
	KEY("%s", "t");
	rec__bool(r, key, true);
	msgpack_pack_true(&pk);
	KEY("%s", "f");
	rec__bool(r, key, false);
	msgpack_pack_false(&pk);
#undef KEY
	/* keys around the fixstr limit (32) and str8's (256): the same header as msgpack-c's */
	for (i = 0; i < 4; i++) {
		static const size_t kl[] = {31, 32, 255, 256};
		char lk[257];

		memset(lk, 'k', kl[i]);
		lk[kl[i]] = 0;
		rec__u64(r, lk, kl[i]);
		msgpack_pack_str(&pk, kl[i]);
		msgpack_pack_str_body(&pk, lk, kl[i]);
		msgpack_pack_uint64(&pk, kl[i]);
		n++;
	}
	assert_int_equal(rec__end(r), 0);
	got = tmp_out_close(&t, &len);
	/* the file entry ends with the record: map16 header, then the pairs */
	assert_true(len > want.size + 3);
	assert_int_equal(n, 1 + 11 + 15 + 8 + 4 + 2 + 4);
	{
		const uint8_t *rec = got + len - want.size - 3;
		uint8_t hdr[3] = {0xde, (uint8_t)(n >> 8), (uint8_t)n};

		assert_memory_equal(rec, hdr, 3);
		assert_memory_equal(rec + 3, want.data, want.size);
	}
	free(got);
	msgpack_sbuffer_destroy(&want);
}

/* A record whose buffer cannot grow is dropped whole (-ENOMEM): nothing reaches the sink, no
 * half map; the next record is written as usual. */
/* mt_str__set: bytes and length kept, NUL bytes included and a NUL after them; replacing a
 * string with a part of itself; the empty string is set, not unset; out of memory leaves it
 * unset. */
static void test_mt_str(void **st)
{
	struct mt_str m = {NULL, 0};

	(void)st;
	assert_int_equal(mt_str__set(&m, "ab\0cd", 5), 0);
	assert_int_equal(m.n, 5);
	assert_memory_equal(m.s, "ab\0cd\0", 6);
	assert_int_equal(mt_str__set(&m, m.s + 3, 2), 0); /* from its own bytes */
	assert_int_equal(m.n, 2);
	assert_string_equal(m.s, "cd");
	assert_int_equal(mt_str__set(&m, "", 0), 0);
	assert_non_null(m.s);
	assert_int_equal(m.n, 0);
#ifdef HAVE_ALLOC_FAULTS
	alloc_ok = 0;
	assert_int_equal(mt_str__set(&m, "x", 1), -ENOMEM);
	alloc_ok = -1;
	assert_null(m.s);
	assert_int_equal(m.n, 0);
#endif
	mt_str__free(&m);
	assert_null(m.s);
}

static void test_no_memory(void **st)
{
#ifdef HAVE_ALLOC_FAULTS
	static char big[5000];
	struct tmp_out t;
	struct rec *r;
	msgpack_unpacked u;
	size_t n, off = 0;
	uint8_t *buf;
	int records = 0;

	(void)st;
	tmp_out_open(&t, NULL);
	r = t.r;
	memset(big, 'x', sizeof(big) - 1);
	rec__begin(r, "weird", 1000000000ULL);
	rec__cstr(r, "name", "before");
	assert_int_equal(rec__end(r), 0);
	rec__begin(r, "weird", 2000000000ULL);
	alloc_ok = 0;
	/* five fields of 4096 bytes (the per-field cap): more than the 8 KiB buffer holds, so it
	 * must grow, and cannot */
	rec__cstr(r, "name", big);
	rec__cstr(r, "addl", big);
	rec__cstr(r, "peer", big);
	rec__cstr(r, "source", big);
	rec__cstr(r, "uid", big);
	alloc_ok = -1;
	assert_int_equal(rec__end(r), -ENOMEM);
	rec__begin(r, "weird", 3000000000ULL);
	rec__cstr(r, "name", "after");
	assert_int_equal(rec__end(r), 0);
	buf = tmp_out_close(&t, &n);
	assert_true(n > 0 && n < 1000); /* the big record is not there */
	msgpack_unpacked_init(&u);
	while (msgpack_unpack_next(&u, (const char *)buf, n, &off) == MSGPACK_UNPACK_SUCCESS) {
		const msgpack_object *m = &u.data.via.array.ptr[2], *v = get(m, "name");

		assert_non_null(v);
		assert_memory_equal(v->via.str.ptr, records ? "after" : "before", v->via.str.size);
		records++;
	}
	msgpack_unpacked_destroy(&u);
	assert_int_equal(records, 2);
	assert_int_equal(off, n);
	free(buf);
#else
	(void)st;
	print_message("allocation faults not available under a sanitizer\n");
#endif
}

/* A sink that keeps every record's msgpack map. */
struct keep_sink {
	struct sink base;
	uint8_t *map[8];
	size_t len[8];
	char tag[8][32];
	int n;
};

static int keep_write(struct sink *sk, const char *tag, size_t tl, uint64_t ts, const uint8_t *m,
		      size_t len)
{
	struct keep_sink *k = (struct keep_sink *)sk;

	(void)ts;
	assert_true(k->n < 8); /* a runaway of records fails here */
	k->map[k->n] = malloc(len);
	assert_non_null(k->map[k->n]);
	memcpy(k->map[k->n], m, len);
	k->len[k->n] = len;
	snprintf(k->tag[k->n], sizeof(k->tag[0]), "%.*s", (int)tl, tag);
	k->n++;
	return 0;
}

static int keep_flush(struct sink *sk)
{
	(void)sk;
	return 0;
}

static const struct sink_ops keep_ops = {
    .name = "keep", .write = keep_write, .flush = keep_flush, .close = keep_flush};

/* Field `k` of record i, a string, into buf. */
static const char *keep_str(struct keep_sink *ks, int i, const char *k, char *buf, size_t cap)
{
	msgpack_unpacked u;
	size_t off = 0;
	const msgpack_object *v;

	msgpack_unpacked_init(&u);
	assert_int_equal(msgpack_unpack_next(&u, (const char *)ks->map[i], ks->len[i], &off),
			 MSGPACK_UNPACK_SUCCESS);
	v = get(&u.data, k);
	assert_non_null(v);
	assert_int_equal(v->type, MSGPACK_OBJECT_STR);
	assert_true(v->via.str.size < cap);
	memcpy(buf, v->via.str.ptr, v->via.str.size);
	buf[v->via.str.size] = '\0';
	msgpack_unpacked_destroy(&u);
	return buf;
}

static void keep_free(struct keep_sink *ks)
{
	for (int i = 0; i < ks->n; i++)
		free(ks->map[i]);
}

/* Strings as Zeek's JSON writer (util.cc json_escape_utf8) has them, all or nothing: a string
 * of printable ASCII, \b \f \n \r \t and well-formed UTF-8 other than C1 controls, the Private
 * Use Area and U+FFF0-FFFF is kept as it is; in any other string every byte outside printable
 * ASCII and \b \f \n \r \t is the text \xNN, valid UTF-8 included (Zeek's ascii-json-utf8
 * baseline with its "rocket" lines, and its util.cc unit tests). On the byte loop and on the
 * eight-bytes-a-step path. */
static void test_strings(void **st)
{
	static const struct {
		const char *in;
		size_t len;
		const char *want;
	} cases[] = {
	    {"a\x00" "b", 3, "a\\x00b"},
	    {"\b\f\n\r\t\x00\x15", 7, "\b\f\n\r\t\\x00\\x15"},
	    {"\x7f~", 2, "\\x7f~"},
	    {"caf\xc3\xa9 \x01" "ctl", 10, "caf\\xc3\\xa9 \\x01ctl"},
	    {"caf\xc3\xa9 \xf0\x9f\x9a\x80", 10, "caf\xc3\xa9 \xf0\x9f\x9a\x80"},
	    {"\xc3(", 2, "\\xc3("},
	    {"\xf0(\x8c(", 4, "\\xf0(\\x8c("},
	    {"\xc3\xb1\xc0\x81", 4, "\\xc3\\xb1\\xc0\\x81"},
	    {"a rocket \xf0\x9f\x9a\x80!\x00 NUL\x00", 20,
	     "a rocket \\xf0\\x9f\\x9a\\x80!\\x00 NUL\\x00"},
	    {"half-a-rocket rocket \xf0\x9f and a rocket\xf0\x9f\x9a\x80!", 41,
	     "half-a-rocket rocket \\xf0\\x9f and a rocket\\xf0\\x9f\\x9a\\x80!"},
	    {"\xc3\xb1\x7f", 3, "\\xc3\\xb1\\x7f"},
	    {"\xc2\x80x", 3, "\\xc2\\x80x"},		/* U+0080, C1 */
	    {"\xc2\x9f", 2, "\\xc2\\x9f"},		/* U+009F, C1 */
	    {"\xc2\xa0", 2, "\xc2\xa0"},		/* U+00A0 */
	    {"\xee\x80\x80", 3, "\\xee\\x80\\x80"},	/* U+E000, Private Use Area */
	    {"\xee\x8b\xa0", 3, "\\xee\\x8b\\xa0"},
	    {"\xef\xa3\xbf", 3, "\\xef\\xa3\\xbf"},	/* U+F8FF */
	    {"\xef\xa4\x80", 3, "\xef\xa4\x80"},	/* U+F900 */
	    {"\xed\x9f\xbf", 3, "\xed\x9f\xbf"},	/* U+D7FF */
	    {"\xef\xbf\xaf", 3, "\xef\xbf\xaf"},	/* U+FFEF */
	    {"\xef\xbf\xb0", 3, "\\xef\\xbf\\xb0"},	/* U+FFF0, specials */
	    {"\xef\xbf\xbf", 3, "\\xef\\xbf\\xbf"},	/* U+FFFF */
	    {"\xf4\x8f\xbf\xbf", 4, "\xf4\x8f\xbf\xbf"}, /* U+10FFFF */
	    {"abcdefghijklmnop\x1b" "qrstuvwx", 25, "abcdefghijklmnop\\x1bqrstuvwx"},
	    {"abcdefg\x7f" "ijklmnop", 16, "abcdefg\\x7fijklmnop"},
	    {"abcdefghijklmnop\xc3\xa9qrstuvwx\x01", 27,
	     "abcdefghijklmnop\\xc3\\xa9qrstuvwx\\x01"},
	    {"abcdefghijklmnop\xc3\xa9qrstuvwx", 26, "abcdefghijklmnop\xc3\xa9qrstuvwx"},
	    {"abcdefghijklmnopqrstuvwx", 24, "abcdefghijklmnopqrstuvwx"},
	};
	struct keep_sink ks = {.base = {.ops = &keep_ops}};
	struct rec_out *o = rec_out__new("mailtap");
	struct rec *r = rec__new(o);
	char buf[128];

	(void)st;
	rec_out__add_sink(o, &ks.base);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		rec__begin(r, "smtp", 1);
		rec__str(r, "s", cases[i].in, cases[i].len);
		assert_int_equal(rec__end(r), 0);
		assert_string_equal(keep_str(&ks, ks.n - 1, "s", buf, sizeof(buf)), cases[i].want);
		keep_free(&ks);
		ks.n = 0;
	}
	rec__free(r);
	rec_out__free(o);
}

/* Limits smaller than the truncation weird's own strings: the weird is cut too, as in Zeek's
 * field-length-limiting test, and raises no weird of its own (it used to recurse until the
 * stack ran out). */
static void test_tiny_limits(void **st)
{
	struct keep_sink ks = {.base = {.ops = &keep_ops}};
	struct rec_out *o = rec_out__new("mailtap");
	struct rec *r = rec__new(o);
	struct rec_limits l;
	char buf[64];

	(void)st;
	rec_out__add_sink(o, &ks.base);
	rec_limits__default(&l);
	l.max_field_string_bytes = 5;
	l.max_field_container_elements = 1;
	rec_out__set_limits(o, &l);
	rec__begin(r, "smtp", 1);
	rec__cstr(r, "subject", "a long subject");
	rec__arr_begin(r, "rcptto");
	rec__arr_cstr(r, "a");
	rec__arr_cstr(r, "b");
	rec__arr_end(r);
	assert_int_equal(rec__end(r), 0);
	assert_int_equal(ks.n, 3); /* the record and its two weirds, no more */
	assert_string_equal(keep_str(&ks, 0, "subject", buf, sizeof(buf)), "a lon");
	assert_string_equal(ks.tag[1], "mailtap.weird");
	assert_string_equal(keep_str(&ks, 1, "name", buf, sizeof(buf)), "log_s");
	assert_string_equal(keep_str(&ks, 1, "addl", buf, sizeof(buf)), "SMTP:");
	assert_string_equal(keep_str(&ks, 2, "name", buf, sizeof(buf)), "log_c");
	keep_free(&ks);
	ks.n = 0;
	l.max_field_string_bytes = 4096;
	l.max_total_string_bytes = 3;
	rec_out__set_limits(o, &l);
	rec__begin(r, "smtp", 1);
	rec__cstr(r, "subject", "a long subject");
	assert_int_equal(rec__end(r), 0);
	assert_int_equal(ks.n, 2);
	assert_string_equal(keep_str(&ks, 1, "name", buf, sizeof(buf)), "log");
	keep_free(&ks);
	rec__free(r);
	rec_out__free(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_roundtrip),  cmocka_unit_test(test_reserved_event_time),
	    cmocka_unit_test(test_str_header), cmocka_unit_test(test_values_like_msgpack_c),
	    cmocka_unit_test(test_no_memory),  cmocka_unit_test(test_mt_str),
	    cmocka_unit_test(test_strings),    cmocka_unit_test(test_tiny_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
