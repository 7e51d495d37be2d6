// SPDX-License-Identifier: BSD-3-Clause
/* mailtap-cat: prints mailtap's msgpack output (Fluent Forward entries [tag, time, record]) as
 * JSON lines shaped like Zeek's JSON logs, with "_path" added; or, with -c, tab-separated
 * columns like zeek-cut. A corrupt or truncated input is reported with its byte offset and a
 * non-zero exit, after everything before it was printed.
 *
 * Entries are printed straight from their bytes, not through msgpack-c's object tree: that
 * takes 24 bytes per value (an 8 MB entry of small values cost 200 MB), and its unpacker
 * stops at 32 levels of nesting with the same error as for corrupt bytes. */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "mailtap/zeekstr.h"

#define MAX_COLS 64

struct cat_opts {
	const char *stream;
	const char *cols[MAX_COLS];
	int n_cols;
	int with_tag;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: mailtap-cat [-s STREAM] [-t] [FILE|-]\n"
		"       mailtap-cat [-s STREAM] [-r FILE] -c FIELD[,FIELD...] [FIELD...] [-- FILE|-]\n"
		"  -s STREAM   only records of this stream (conn, smtp, files, ssl, x509, weird, ...)\n"
		"  -t          add the Forward tag as \"_tag\"\n"
		"  -c FIELDS   tab-separated columns instead of JSON (like zeek-cut), at most %d: a\n"
		"              comma-separated list, and the arguments after it up to the next\n"
		"              option or \"--\" (-c uid,history and -c uid history are the same)\n"
		"  -r FILE     input file: the same as FILE, which after -c must follow \"--\"\n"
		"  -h          this help\n"
		"Options go in any order. Input: FILE or -r FILE (one of them), else standard input.\n"
		"Exit status: 0; 1 corrupt or truncated input; 2 usage, read or write error.\n",
		MAX_COLS);
}

/* A JSON string as Zeek's JSON writer makes it: json_escape_utf8's value (zeekstr.h, the
 * rule mailtap's records are built with, so their strings come out as they are), then the JSON
 * escapes of '"', '\\' and \b \f \n \r \t. This keeps any input (an older file, another
 * producer) valid JSON and as Zeek would have written it. */
static void json_str(FILE *o, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	bool clean = zeekstr_clean(s, n);

	putc('"', o);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = u[i];

		switch (c) {
		case '"':
			fputs("\\\"", o);
			break;
		case '\\':
			fputs("\\\\", o);
			break;
		case '\b':
			fputs("\\b", o);
			break;
		case '\f':
			fputs("\\f", o);
			break;
		case '\n':
			fputs("\\n", o);
			break;
		case '\r':
			fputs("\\r", o);
			break;
		case '\t':
			fputs("\\t", o);
			break;
		default:
			if (clean || zeekstr_byte_kept(c))
				putc(c, o); /* a clean string has no other control byte */
			else
				fprintf(o, "\\\\x%02x", c);
		}
	}
	putc('"', o);
}

/* A double as Zeek's JSON writer prints it (rapidjson's Writer::Double: Grisu2's digits laid
 * out by its Prettify): the shortest digits that read back as the same double, then, with kk
 * the decimal exponent such that 10^(kk-1) <= |d| < 10^kk,
 *   - an integral value with kk <= 21 written out with ".0" (100000000000000000.0),
 *   - 0 < kk <= 21 with a point inside the digits (12.34),
 *   - -6 < kk <= 0 as 0. and zeros (0.000061),
 *   - others as d.ddde-N or d.ddddeN (1e-7, 1e22): no '+', no zero padding;
 * 0.0 and -0.0 as such; NaN and infinities as null (Zeek's NullDoubleWriter). */
static void print_double(FILE *o, double d)
{
	char buf[40], dig[24];
	int len = 0, kk, k;
	const char *x;

	if (!isfinite(d)) {
		fputs("null", o); /* JSON has no NaN or infinity */
		return;
	}
	if (d == 0) {
		fputs(signbit(d) ? "-0.0" : "0.0", o);
		return;
	}
	if (d < 0) {
		putc('-', o);
		d = -d;
	}
	for (int p = 1; p <= 17; p++) {
		snprintf(buf, sizeof(buf), "%.*e", p - 1, d);
		if (strtod(buf, NULL) == d)
			break;
	}
	x = strchr(buf, 'e');
	for (const char *c = buf; c < x && len < (int)sizeof(dig); c++) /* 17 at most */
		if (*c >= '0' && *c <= '9')
			dig[len++] = *c;
	while (len > 1 && dig[len - 1] == '0')
		len--;
	kk = atoi(x + 1) + 1;
	k = kk - len;
	if (0 <= k && kk <= 21) {
		fwrite(dig, 1, (size_t)len, o);
		for (int i = 0; i < k; i++)
			putc('0', o);
		fputs(".0", o);
	} else if (0 < kk && kk <= 21) {
		fwrite(dig, 1, (size_t)kk, o);
		putc('.', o);
		fwrite(dig + kk, 1, (size_t)(len - kk), o);
	} else if (-6 < kk && kk <= 0) {
		fputs("0.", o);
		for (int i = 0; i < -kk; i++)
			putc('0', o);
		fwrite(dig, 1, (size_t)len, o);
	} else {
		putc(dig[0], o);
		if (len > 1) {
			putc('.', o);
			fwrite(dig + 1, 1, (size_t)(len - 1), o);
		}
		fprintf(o, "e%d", kk - 1);
	}
}

#define MAX_ENTRY (64u << 20) /* largest entry accepted */
#define MAX_DEPTH 64	      /* containers nested in one entry, its own array included */

/* mp_extent's results besides 1 (complete) and 0 (more bytes needed) */
#define MP_CORRUPT (-1)
#define MP_TOO_DEEP (-2)
#define MP_TOO_BIG (-3)

/* The extent of the msgpack object at p without allocating (msgpack-c preallocates containers
 * by their declared length, so a hostile header could claim gigabytes). Returns 1 and *used
 * when complete, 0 when more bytes are needed, MP_CORRUPT when invalid, MP_TOO_BIG when a length
 * or count in it, or the entry itself, is over MAX_ENTRY (nothing allocated), MP_TOO_DEEP with
 * *used at the container that nests deeper than MAX_DEPTH. Everything below reads only
 * entries it accepted: every length and count in them is within their bytes. */
static int mp_extent(const uint8_t *p, size_t len, size_t *used)
{
	uint64_t left[MAX_DEPTH + 1];
	int depth = 0;
	size_t off = 0;

	left[0] = 1;
	while (depth >= 0) {
		uint8_t c;
		uint64_t n = 0, body = 0, kids = 0;
		size_t hl = 1;

		if (left[depth] == 0) {
			depth--;
			continue;
		}
		left[depth]--;
		if (off >= len)
			return 0;
		c = p[off];
		if (c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3) {
			/* fixint, nil, bool */
		} else if (c >= 0x80 && c <= 0x8f) {
			kids = 2ULL * (c & 0x0f);
		} else if (c >= 0x90 && c <= 0x9f) {
			kids = c & 0x0f;
		} else if (c >= 0xa0 && c <= 0xbf) {
			body = c & 0x1f;
		} else {
			static const uint8_t fixed[] = {
				[0xca] = 4, [0xcb] = 8, [0xcc] = 1, [0xcd] = 2, [0xce] = 4, [0xcf] = 8,
				[0xd0] = 1, [0xd1] = 2, [0xd2] = 4, [0xd3] = 8, [0xd4] = 2, [0xd5] = 3,
				[0xd6] = 5, [0xd7] = 9, [0xd8] = 17,
			};
			int lenbytes = 0;

			if (c == 0xc1)
				return MP_CORRUPT;
			if (c >= 0xca && c <= 0xd8) {
				body = fixed[c];
			} else {
				switch (c) {
				case 0xc4: case 0xd9: lenbytes = 1; break;
				case 0xc5: case 0xda: case 0xdc: case 0xde: lenbytes = 2; break;
				case 0xc6: case 0xdb: case 0xdd: case 0xdf: lenbytes = 4; break;
				case 0xc7: lenbytes = 1; break; /* ext 8 */
				case 0xc8: lenbytes = 2; break; /* ext 16 */
				case 0xc9: lenbytes = 4; break; /* ext 32 */
				default: return MP_CORRUPT;
				}
				if (off + 1 + (size_t)lenbytes > len)
					return 0;
				for (int i = 0; i < lenbytes; i++)
					n = n << 8 | p[off + 1 + (size_t)i];
				hl += (size_t)lenbytes;
				if (c == 0xdc || c == 0xdd)
					kids = n;
				else if (c == 0xde || c == 0xdf)
					kids = 2 * n;
				else if (c >= 0xc7 && c <= 0xc9)
					body = n + 1; /* type byte */
				else
					body = n;
			}
		}
		if (body > MAX_ENTRY || kids > MAX_ENTRY)
			return MP_TOO_BIG;
		if (kids && depth == MAX_DEPTH) {
			*used = off;
			return MP_TOO_DEEP;
		}
		off += hl + (size_t)body;
		if (off > MAX_ENTRY)
			return MP_TOO_BIG;
		if (kids)
			left[++depth] = kids;
	}
	if (off > len)
		return 0;
	*used = off;
	return 1;
}

/* One msgpack value, as msgpack-c would unpack it (a signed integer that is not negative is
 * MP_UINT, a float32 a double, any ext MP_EXT). */
enum mp_type {
	MP_NIL, MP_BOOL, MP_UINT, MP_INT, MP_FLOAT, MP_STR, MP_BIN, MP_ARRAY, MP_MAP, MP_EXT,
};

struct mp_val {
	enum mp_type type;
	bool b;
	uint64_t u;	    /* MP_UINT; the elements of MP_ARRAY, the pairs of MP_MAP */
	int64_t i;	    /* MP_INT */
	double f;	    /* MP_FLOAT */
	const uint8_t *ptr; /* the data of MP_STR, MP_BIN, MP_EXT */
	size_t len;
	int ext_type; /* MP_EXT */
};

static uint64_t be(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

/* Reads the value at p (inside an entry mp_extent accepted) into *v. Returns its size, but
 * for an array or map only its header's: the elements follow. */
static size_t mp_read(const uint8_t *p, struct mp_val *v)
{
	static const uint8_t w[4] = { 1, 2, 4, 8 };
	uint8_t c = p[0];
	int k;

	memset(v, 0, sizeof(*v));
	if (c <= 0x7f || c >= 0xe0) {
		v->type = c <= 0x7f ? MP_UINT : MP_INT;
		v->u = c;
		v->i = (int8_t)c;
		return 1;
	}
	if (c <= 0x9f) { /* fixmap, fixarray */
		v->type = c <= 0x8f ? MP_MAP : MP_ARRAY;
		v->u = c & 0x0f;
		return 1;
	}
	if (c <= 0xbf) { /* fixstr */
		v->type = MP_STR;
		v->ptr = p + 1;
		v->len = c & 0x1f;
		return 1 + v->len;
	}
	switch (c) {
	case 0xc0:
		v->type = MP_NIL;
		return 1;
	case 0xc2:
	case 0xc3:
		v->type = MP_BOOL;
		v->b = c == 0xc3;
		return 1;
	case 0xc4: case 0xc5: case 0xc6: /* bin 8/16/32 */
	case 0xd9: case 0xda: case 0xdb: /* str 8/16/32 */
		k = c >= 0xd9 ? w[c - 0xd9] : w[c - 0xc4];
		v->type = c >= 0xd9 ? MP_STR : MP_BIN;
		v->len = be(p + 1, k);
		v->ptr = p + 1 + k;
		return 1 + (size_t)k + v->len;
	case 0xc7: case 0xc8: case 0xc9: /* ext 8/16/32 */
		k = w[c - 0xc7];
		v->type = MP_EXT;
		v->len = be(p + 1, k);
		v->ext_type = (int8_t)p[1 + k];
		v->ptr = p + 2 + k;
		return 2 + (size_t)k + v->len;
	case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8: /* fixext 1..16 */
		v->type = MP_EXT;
		v->len = (size_t)1 << (c - 0xd4);
		v->ext_type = (int8_t)p[1];
		v->ptr = p + 2;
		return 2 + v->len;
	case 0xca: {
		uint32_t b = (uint32_t)be(p + 1, 4);
		float x;

		memcpy(&x, &b, sizeof(x));
		v->type = MP_FLOAT;
		v->f = x;
		return 5;
	}
	case 0xcb: {
		uint64_t b = be(p + 1, 8);

		memcpy(&v->f, &b, sizeof(v->f));
		v->type = MP_FLOAT;
		return 9;
	}
	case 0xcc: case 0xcd: case 0xce: case 0xcf:
		k = w[c - 0xcc];
		v->type = MP_UINT;
		v->u = be(p + 1, k);
		return 1 + (size_t)k;
	case 0xd0: case 0xd1: case 0xd2: case 0xd3:
		k = w[c - 0xd0];
		v->u = be(p + 1, k);
		if (k < 8 && v->u >> (8 * k - 1)) /* sign-extend */
			v->u |= ~0ULL << (8 * k);
		v->i = (int64_t)v->u;
		v->type = v->i < 0 ? MP_INT : MP_UINT;
		return 1 + (size_t)k;
	case 0xdc: case 0xdd: case 0xde: case 0xdf:
		k = c & 1 ? 4 : 2;
		v->type = c >= 0xde ? MP_MAP : MP_ARRAY;
		v->u = be(p + 1, k);
		return 1 + (size_t)k;
	}
	return 1; /* 0xc1: mp_extent refused it */
}

/* The size of the whole value at p, elements included. */
static size_t mp_skip(const uint8_t *p)
{
	struct mp_val v;
	size_t n = mp_read(p, &v);
	uint64_t kids = v.type == MP_ARRAY ? v.u : v.type == MP_MAP ? 2 * v.u : 0;

	for (uint64_t i = 0; i < kids; i++)
		n += mp_skip(p + n);
	return n;
}

/* Writes the value at p as JSON; returns its size. */
static size_t json_value(FILE *o, const uint8_t *p)
{
	struct mp_val v;
	size_t n = mp_read(p, &v);

	switch (v.type) {
	case MP_NIL:
		fputs("null", o);
		break;
	case MP_BOOL:
		fputs(v.b ? "true" : "false", o);
		break;
	case MP_UINT:
		fprintf(o, "%llu", (unsigned long long)v.u);
		break;
	case MP_INT:
		fprintf(o, "%lld", (long long)v.i);
		break;
	case MP_FLOAT:
		print_double(o, v.f);
		break;
	case MP_STR:
	case MP_BIN:
		json_str(o, (const char *)v.ptr, v.len);
		break;
	case MP_ARRAY:
		putc('[', o);
		for (uint64_t i = 0; i < v.u; i++) {
			if (i)
				putc(',', o);
			n += json_value(o, p + n);
		}
		putc(']', o);
		break;
	case MP_MAP:
		putc('{', o);
		for (uint64_t i = 0; i < v.u; i++) {
			if (i)
				putc(',', o);
			n += json_value(o, p + n);
			putc(':', o);
			n += json_value(o, p + n);
		}
		putc('}', o);
		break;
	default:
		fputs("null", o); /* ext */
	}
	return n;
}

/* A string as Zeek's TSV writer (Ascii formatter, Describe) has it: "(empty)" for an empty
 * one; a value of "-" or "(empty)" with its first byte as \xNN (\x2d, \x28empty)), so that it
 * is not read as unset or empty; control bytes, DEL and bytes outside valid UTF-8 as \xNN; in
 * a set or vector the ',' separator too (\x2c). */
static void tsv_str(FILE *o, const char *s, size_t n, bool in_set)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;

	if (n == 0) {
		fputs("(empty)", o);
		return;
	}
	if ((n == 1 && u[0] == '-') || (n == 7 && !memcmp(s, "(empty)", 7))) {
		fprintf(o, "\\x%02x", u[0]);
		i = 1;
	}
	while (i < n) {
		size_t k = zeekstr_utf8_len(u + i, n - i);

		if (k == 0 || (k == 1 && (u[i] < 0x20 || u[i] == 0x7f || (in_set && u[i] == ',')))) {
			fprintf(o, "\\x%02x", u[i]);
			i++;
		} else {
			fwrite(u + i, 1, k, o);
			i += k;
		}
	}
}

/* Fields mailtap writes that are Zeek doubles, not times or intervals (which the record
 * does not tell apart: all are msgpack float64). */
static bool zeek_double_field(const char *name)
{
	return !strcmp(name, "percent_lost");
}

/* A Zeek double in TSV (ODesc::Add(d, true): 6 decimals without trailing zeros, ".0" on an
 * integral value); times and intervals keep their 6 decimals (Formatter::Render). */
static void tsv_double(FILE *o, double d, bool is_double)
{
	char buf[400];
	size_t l;

	snprintf(buf, sizeof(buf), "%.6f", d);
	if (!is_double || !isfinite(d)) {
		fputs(buf, o);
		return;
	}
	l = strlen(buf);
	while (l && buf[l - 1] == '0')
		l--;
	if (l && buf[l - 1] == '.')
		l--;
	buf[l] = '\0';
	/* %.6f of a tiny negative is "-0": Zeek writes no sign for it */
	fputs(strcmp(buf, "-0") ? buf : "0", o);
	if (!strchr(buf, '.')) { /* ".0" when within 1e-9 of an integer, as Zeek's */
		double a = d < 0 ? -d : d;
		double r = a < 9007199254740992.0 ? (double)(uint64_t)(a + 0.5) : a;

		if (a - r < 1e-9 && r - a < 1e-9)
			fputs(".0", o);
	}
}

/* zeek-cut style: T/F, "-" unset, "(empty)" empty set or string, sets joined with ','; name is
 * the column's field; returns the value's size. */
static size_t tsv_value(FILE *o, const uint8_t *p, const char *name, bool in_set)
{
	struct mp_val v;
	size_t n = mp_read(p, &v);

	switch (v.type) {
	case MP_BOOL:
		putc(v.b ? 'T' : 'F', o);
		break;
	case MP_FLOAT:
		tsv_double(o, v.f, zeek_double_field(name));
		break;
	case MP_STR:
		tsv_str(o, (const char *)v.ptr, v.len, in_set);
		break;
	case MP_ARRAY:
		if (!v.u)
			fputs("(empty)", o);
		for (uint64_t i = 0; i < v.u; i++) {
			if (i)
				putc(',', o);
			n += tsv_value(o, p + n, name, true);
		}
		break;
	default:
		return json_value(o, p);
	}
	return n;
}

/* Whether every map key in the value at p is a string (JSON has no other keys); *size gets
 * the value's size. */
static bool keys_are_strings(const uint8_t *p, size_t *size)
{
	struct mp_val v;
	size_t n = mp_read(p, &v), k;

	if (v.type == MP_ARRAY || v.type == MP_MAP) {
		for (uint64_t i = 0; i < v.u; i++) {
			if (v.type == MP_MAP) {
				struct mp_val key;

				mp_read(p + n, &key);
				if (key.type != MP_STR)
					return false;
				n += mp_skip(p + n);
			}
			if (!keys_are_strings(p + n, &k))
				return false;
			n += k;
		}
	}
	*size = n;
	return true;
}

/* Checks the entry at p; returns its record map (*tag at its tag), or NULL with *why set. */
static const uint8_t *check_entry(const uint8_t *p, const char **why, const uint8_t **tag,
				  const char **stream, size_t *stream_len)
{
	struct mp_val e, t, tm, rec;
	const uint8_t *r;
	const char *dot, *ts;
	size_t n, k;

	n = mp_read(p, &e);
	if (e.type != MP_ARRAY || e.u != 3) {
		*why = "entry is not an array of 3 [tag, time, record]";
		return NULL;
	}
	*tag = p + n;
	mp_read(*tag, &t);
	if (t.type != MP_STR) {
		*why = "tag is not a string";
		return NULL;
	}
	n += mp_skip(p + n);
	mp_read(p + n, &tm);
	if (!(tm.type == MP_EXT && tm.ext_type == 0 && tm.len == 8) && tm.type != MP_UINT) {
		*why = "time is not an EventTime (ext 0, 8 bytes) or integer";
		return NULL;
	}
	n += mp_skip(p + n);
	r = p + n;
	mp_read(r, &rec);
	if (rec.type != MP_MAP) {
		*why = "record is not a map";
		return NULL;
	}
	if (!keys_are_strings(r, &k)) {
		*why = "a map key in the record is not a string";
		return NULL;
	}
	if (t.len == 0) {
		*why = "tag is empty";
		return NULL;
	}
	ts = (const char *)t.ptr;
	dot = memrchr(ts, '.', t.len);
	*stream = dot ? dot + 1 : ts;
	*stream_len = t.len - (size_t)(*stream - ts);
	return r;
}

static void print_entry(const uint8_t *tag, const uint8_t *rec, const char *stream, size_t sl,
			const struct cat_opts *co)
{
	struct mp_val m, key;
	size_t n;

	if (co->stream && (strlen(co->stream) != sl || memcmp(co->stream, stream, sl)))
		return;
	n = mp_read(rec, &m);
	if (co->n_cols) {
		/* one pass over the record: the last value of each column's key, as JSON readers
		 * take it when a key is repeated */
		const uint8_t *val[MAX_COLS] = { 0 };
		size_t cl[MAX_COLS];

		for (int i = 0; i < co->n_cols; i++)
			cl[i] = strlen(co->cols[i]);
		for (uint64_t j = 0; j < m.u; j++) {
			size_t kn = mp_read(rec + n, &key); /* a string: check_entry saw to it */

			for (int i = 0; i < co->n_cols; i++)
				if (key.len == cl[i] && !memcmp(key.ptr, co->cols[i], cl[i]))
					val[i] = rec + n + kn;
			n += kn;
			n += mp_skip(rec + n);
		}
		for (int i = 0; i < co->n_cols; i++) {
			if (i)
				putchar('\t');
			if (val[i])
				tsv_value(stdout, val[i], co->cols[i], false);
			else
				putchar('-');
		}
		putchar('\n');
		return;
	}
	fputs("{\"_path\":", stdout);
	json_str(stdout, stream, sl);
	if (co->with_tag) {
		fputs(",\"_tag\":", stdout);
		json_value(stdout, tag);
	}
	for (uint64_t j = 0; j < m.u; j++) {
		putchar(',');
		n += json_value(stdout, rec + n);
		putchar(':');
		n += json_value(stdout, rec + n);
	}
	fputs("}\n", stdout);
}

/* After a write to stdout failed: the message, exit status 2. */
static int out_error(void)
{
	int e = errno;

	if (fflush(stdout) == EOF) /* the errno of a write, not of whatever ran since */
		e = errno;
	fprintf(stderr, "mailtap-cat: writing the output: %s\n", strerror(e ? e : EIO));
	return 2;
}

static void too_big(const char *name, size_t at)
{
	fprintf(stderr, "mailtap-cat: %s: entry at byte offset %zu is larger than %u bytes\n", name,
		at, MAX_ENTRY);
}

static int cat(FILE *in, const char *name, const struct cat_opts *co)
{
	size_t cap = 1 << 16, len = 0, pos = 0, consumed = 0;
	uint8_t *buf = malloc(cap);
	int rc = 0, eof = 0;
	bool out_failed = false;

	if (!buf) {
		fprintf(stderr, "mailtap-cat: out of memory\n");
		return 2;
	}
	while (!rc) {
		size_t used = 0;
		int r = mp_extent(buf + pos, len - pos, &used);

		if (r == MP_CORRUPT) {
			fprintf(stderr, "mailtap-cat: %s: corrupt msgpack at byte offset %zu\n", name,
				consumed);
			rc = 1;
			break;
		}
		if (r == MP_TOO_BIG) {
			too_big(name, consumed);
			rc = 1;
			break;
		}
		if (r == MP_TOO_DEEP) {
			fprintf(stderr,
				"mailtap-cat: %s: nesting deeper than %d levels at byte offset %zu "
				"(in the entry at byte offset %zu)\n", name, MAX_DEPTH, consumed + used,
				consumed);
			rc = 1;
			break;
		}
		if (r == 1) {
			const char *why = NULL, *stream = NULL;
			const uint8_t *rec, *tag = NULL;
			size_t sl = 0;

			rec = check_entry(buf + pos, &why, &tag, &stream, &sl);
			if (!rec) {
				fprintf(stderr, "mailtap-cat: %s: invalid entry at byte offset %zu: %s\n",
					name, consumed, why);
				rc = 1;
				break;
			}
			print_entry(tag, rec, stream, sl, co);
			if (ferror(stdout)) { /* a full disk, a closed pipe: no use going on */
				rc = out_error();
				out_failed = true;
				break;
			}
			pos += used;
			consumed += used;
			continue;
		}
		/* need more bytes */
		if (eof) {
			if (len > pos) {
				fprintf(stderr,
					"mailtap-cat: %s: truncated input: incomplete entry at byte "
					"offset %zu\n", name, consumed);
				rc = 1;
			}
			break;
		}
		if (pos) {
			memmove(buf, buf + pos, len - pos);
			len -= pos;
			pos = 0;
		}
		if (len == cap) {
			uint8_t *nb;

			if (cap >= MAX_ENTRY) {
				too_big(name, consumed);
				rc = 1;
				break;
			}
			nb = realloc(buf, cap * 2);
			if (!nb) {
				fprintf(stderr, "mailtap-cat: %s: out of memory for the entry at byte "
						"offset %zu\n", name, consumed);
				rc = 2;
				break;
			}
			buf = nb;
			cap *= 2;
		}
		{
			size_t n = fread(buf + len, 1, cap - len, in);

			if (n == 0) {
				if (ferror(in)) {
					fprintf(stderr, "mailtap-cat: %s: read error: %s\n", name,
						strerror(errno));
					rc = 2;
					break;
				}
				eof = 1;
			}
			len += n;
		}
	}
	free(buf);
	if (!out_failed && (fflush(stdout) == EOF || ferror(stdout)))
		rc = out_error(); /* what was printed is not all there: that comes first */
	return rc;
}

/* Adds the field names of one -c argument, a comma-separated list. 0, or 2 (the exit status)
 * after a message. The names point into argv. */
static int add_cols(struct cat_opts *co, char *list)
{
	for (char *p = list;;) {
		char *comma = strchr(p, ',');

		if (comma)
			*comma = '\0';
		if (!*p) {
			fprintf(stderr, "mailtap-cat: -c: an empty field name (a comma at an end or "
					"two in a row)\n");
			return 2;
		}
		if (co->n_cols == MAX_COLS) {
			fprintf(stderr, "mailtap-cat: -c: more than %d fields\n", MAX_COLS);
			return 2;
		}
		co->cols[co->n_cols++] = p;
		if (!comma)
			return 0;
		p = comma + 1;
	}
}

/* The input, given once: as FILE or as -r FILE. 0, or 2 after a message. */
static int set_input(const char **file, const char *arg)
{
	if (*file) {
		fprintf(stderr, "mailtap-cat: two inputs, '%s' and '%s': give one FILE or -r FILE"
				" (after -c, a FILE goes after \"--\")\n", *file, arg);
		return 2;
	}
	*file = arg;
	return 0;
}

int main(int argc, char **argv)
{
	struct cat_opts co = { 0 };
	const char *file = NULL;
	bool in_cols = false; /* the arguments after -c are its fields, to an option or "--" */
	FILE *in;
	int c, rc;

	/* The leading '-': getopt hands back each argument that is not an option in its place
	 * (as 1) instead of moving it to the end, so -c's fields end where the next option or
	 * "--" starts, and options may follow them. */
	while ((c = getopt(argc, argv, "-s:tc:r:h")) != -1) {
		if (c != 1)
			in_cols = false;
		switch (c) {
		case 1:
			if (in_cols && strcmp(optarg, "-")) {
				if (add_cols(&co, optarg))
					return 2;
			} else if (set_input(&file, optarg)) {
				return 2;
			}
			break;
		case 's':
			co.stream = optarg;
			break;
		case 't':
			co.with_tag = 1;
			break;
		case 'c':
			if (optarg[0] == '-') { /* getopt took the next option as the list */
				fprintf(stderr, "mailtap-cat: -c needs field names before '%s'\n",
					optarg);
				return 2;
			}
			if (add_cols(&co, optarg))
				return 2;
			in_cols = true;
			break;
		case 'r':
			if (set_input(&file, optarg))
				return 2;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	for (; optind < argc; optind++) /* after "--" */
		if (set_input(&file, argv[optind]))
			return 2;
	if (!file || !strcmp(file, "-")) {
		if (isatty(STDIN_FILENO)) {
			fprintf(stderr, "mailtap-cat: standard input is a terminal: give a FILE or "
					"-r FILE (after -c, a FILE goes after \"--\"), or pipe records "
					"in\n");
			return 2;
		}
		/* "-c uid a.mp" reads standard input, with a column "a.mp": say so */
		for (int i = 0; i < co.n_cols; i++) {
			struct stat st;

			if (!stat(co.cols[i], &st) && S_ISREG(st.st_mode))
				fprintf(stderr, "mailtap-cat: note: '%s' is a field name here, the "
						"input standard input; to read the file, put it after "
						"\"--\" or give -r FILE\n", co.cols[i]);
		}
		in = stdin;
		file = "-";
	} else {
		in = fopen(file, "rb");
		if (!in) {
			fprintf(stderr, "mailtap-cat: cannot open %s: %s\n", file, strerror(errno));
			return 2;
		}
	}
	rc = cat(in, file, &co);
	if (in != stdin)
		fclose(in);
	if (fclose(stdout) == EOF && rc != 2) {
		fprintf(stderr, "mailtap-cat: writing the output: %s\n", strerror(errno));
		rc = 2;
	}
	return rc;
}
