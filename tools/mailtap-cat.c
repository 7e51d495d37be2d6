// SPDX-License-Identifier: BSD-3-Clause
/* mailtap-cat: prints mailtap's msgpack output (Fluent Forward entries [tag, time, record]) as
 * JSON lines shaped like Zeek's JSON logs, with "_path" added; or, with -c, tab-separated
 * columns like zeek-cut. A corrupt or truncated input is reported with its byte offset and a
 * non-zero exit, after everything before it was printed. */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_COLS 64

struct cat_opts {
	const char *stream;
	const char *cols[MAX_COLS];
	int n_cols;
	int with_tag;
};

static void usage(FILE *f)
{
	fprintf(f, "usage: mailtap-cat [-s STREAM] [-t] [-c FIELD...] [FILE|-]\n"
		   "  -s STREAM   only records of this stream (conn, smtp, files, ssl, x509, weird, ...)\n"
		   "  -t          add the Forward tag as \"_tag\"\n"
		   "  -c FIELD... tab-separated columns instead of JSON (like zeek-cut); the rest of\n"
		   "              the arguments are field names, read from stdin unless -r FILE\n"
		   "  -r FILE     input file with -c\n");
}

/* Bytes of a valid UTF-8 sequence at s (n bytes left), 0 when s[0] does not start one. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t k;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		k = 2;
	else if (c >= 0xe0 && c <= 0xef)
		k = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		k = 4;
	else
		return 0;
	if (k > n)
		return 0;
	for (size_t i = 1; i < k; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] >= 0xa0) ||
	    (c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] >= 0x90))
		return 0; /* overlong, surrogate, above U+10FFFF */
	return k;
}

/* A JSON string as Zeek's JSON writer makes it (json_escape_utf8): valid UTF-8 as it is,
 * \b \f \n \r \t and the JSON escapes of '"' and '\\'; every other control byte and every
 * byte that is not part of valid UTF-8 as the text \xNN. mailtap's records already carry such
 * bytes as that text; this keeps any input (an older file, another producer) valid JSON. */
static void json_str(FILE *o, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;

	putc('"', o);
	for (size_t i = 0; i < n;) {
		unsigned char c = u[i];
		size_t k = utf8_len(u + i, n - i);

		if (k > 1) {
			fwrite(u + i, 1, k, o);
			i += k;
			continue;
		}
		i++;
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
			if (c < 0x20 || k == 0)
				fprintf(o, "\\\\x%02x", c);
			else
				putc(c, o);
		}
	}
	putc('"', o);
}

/* The shortest form that reads back as the same double, as Zeek's JSON writer (rapidjson)
 * prints them; integral values keep a ".0", so that a time stays a JSON float. */
static void print_double(FILE *o, double d)
{
	char buf[64];

	if (!isfinite(d)) {
		fputs("null", o); /* JSON has no NaN or infinity */
		return;
	}
	for (int p = 1; p <= 17; p++) {
		snprintf(buf, sizeof(buf), "%.*g", p, d);
		if (strtod(buf, NULL) == d) {
			const char *x = strpbrk(buf, "eE");
			int e = x ? atoi(x + 1) : -1;

			/* %g chose an exponent for a number JSON readers expect written out
			 * (1e+03 for 1000): the same digits in fixed notation */
			if (e >= 0 && e < 17)
				snprintf(buf, sizeof(buf), "%.*f", p - 1 - e > 0 ? p - 1 - e : 0, d);
			break;
		}
	}
	fputs(buf, o);
	if (!strpbrk(buf, ".eE"))
		fputs(".0", o);
}

static void json_value(FILE *o, const msgpack_object *v)
{
	switch (v->type) {
	case MSGPACK_OBJECT_NIL:
		fputs("null", o);
		break;
	case MSGPACK_OBJECT_BOOLEAN:
		fputs(v->via.boolean ? "true" : "false", o);
		break;
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		fprintf(o, "%llu", (unsigned long long)v->via.u64);
		break;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		fprintf(o, "%lld", (long long)v->via.i64);
		break;
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64:
		print_double(o, v->via.f64);
		break;
	case MSGPACK_OBJECT_STR:
		json_str(o, v->via.str.ptr, v->via.str.size);
		break;
	case MSGPACK_OBJECT_BIN:
		json_str(o, v->via.bin.ptr, v->via.bin.size);
		break;
	case MSGPACK_OBJECT_ARRAY:
		putc('[', o);
		for (uint32_t i = 0; i < v->via.array.size; i++) {
			if (i)
				putc(',', o);
			json_value(o, &v->via.array.ptr[i]);
		}
		putc(']', o);
		break;
	case MSGPACK_OBJECT_MAP:
		putc('{', o);
		for (uint32_t i = 0; i < v->via.map.size; i++) {
			if (i)
				putc(',', o);
			json_value(o, &v->via.map.ptr[i].key);
			putc(':', o);
			json_value(o, &v->via.map.ptr[i].val);
		}
		putc('}', o);
		break;
	default:
		fputs("null", o);
	}
}

/* A string in a TSV column: control bytes (a tab would split the line) and bytes that are not
 * valid UTF-8 as the text \xNN, as in Zeek's TSV logs. */
static void tsv_str(FILE *o, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;

	for (size_t i = 0; i < n;) {
		size_t k = utf8_len(u + i, n - i);

		if (k == 0 || (k == 1 && u[i] < 0x20)) {
			fprintf(o, "\\x%02x", u[i]);
			i++;
		} else {
			fwrite(u + i, 1, k, o);
			i += k;
		}
	}
}

/* zeek-cut style: T/F, "-" unset, "(empty)" empty set, sets joined with ','. */
static void tsv_value(FILE *o, const msgpack_object *v)
{
	switch (v->type) {
	case MSGPACK_OBJECT_BOOLEAN:
		putc(v->via.boolean ? 'T' : 'F', o);
		break;
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64:
		fprintf(o, "%.6f", v->via.f64);
		break;
	case MSGPACK_OBJECT_STR:
		tsv_str(o, v->via.str.ptr, v->via.str.size);
		break;
	case MSGPACK_OBJECT_ARRAY:
		if (!v->via.array.size)
			fputs("(empty)", o);
		for (uint32_t i = 0; i < v->via.array.size; i++) {
			if (i)
				putc(',', o);
			tsv_value(o, &v->via.array.ptr[i]);
		}
		break;
	default:
		json_value(o, v);
	}
}

static const msgpack_object *map_get(const msgpack_object *m, const char *key)
{
	size_t kl = strlen(key);

	for (uint32_t i = 0; i < m->via.map.size; i++) {
		const msgpack_object *k = &m->via.map.ptr[i].key;

		if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == kl &&
		    !memcmp(k->via.str.ptr, key, kl))
			return &m->via.map.ptr[i].val;
	}
	return NULL;
}

/* Whether every map key in o (to MAX_DEPTH) is a string: JSON has no other keys. */
static bool keys_are_strings(const msgpack_object *o, int depth)
{
	if (depth > 64)
		return false;
	if (o->type == MSGPACK_OBJECT_ARRAY) {
		for (uint32_t i = 0; i < o->via.array.size; i++)
			if (!keys_are_strings(&o->via.array.ptr[i], depth + 1))
				return false;
	} else if (o->type == MSGPACK_OBJECT_MAP) {
		for (uint32_t i = 0; i < o->via.map.size; i++)
			if (o->via.map.ptr[i].key.type != MSGPACK_OBJECT_STR ||
			    !keys_are_strings(&o->via.map.ptr[i].val, depth + 1))
				return false;
	}
	return true;
}

/* Checks one entry; returns the record map, or NULL with *why set. */
static const msgpack_object *check_entry(const msgpack_object *e, const char **why,
					 const char **stream, size_t *stream_len)
{
	const msgpack_object *tag, *t, *rec;
	const char *dot;

	if (e->type != MSGPACK_OBJECT_ARRAY || e->via.array.size != 3) {
		*why = "entry is not an array of 3 [tag, time, record]";
		return NULL;
	}
	tag = &e->via.array.ptr[0];
	t = &e->via.array.ptr[1];
	rec = &e->via.array.ptr[2];
	if (tag->type != MSGPACK_OBJECT_STR) {
		*why = "tag is not a string";
		return NULL;
	}
	if (!(t->type == MSGPACK_OBJECT_EXT && t->via.ext.type == 0 && t->via.ext.size == 8) &&
	    t->type != MSGPACK_OBJECT_POSITIVE_INTEGER) {
		*why = "time is not an EventTime (ext 0, 8 bytes) or integer";
		return NULL;
	}
	if (rec->type != MSGPACK_OBJECT_MAP) {
		*why = "record is not a map";
		return NULL;
	}
	if (!keys_are_strings(rec, 0)) {
		*why = "a map key in the record is not a string";
		return NULL;
	}
	if (tag->via.str.size == 0) {
		*why = "tag is empty";
		return NULL;
	}
	dot = memrchr(tag->via.str.ptr, '.', tag->via.str.size);
	*stream = dot ? dot + 1 : tag->via.str.ptr;
	*stream_len = tag->via.str.size - (size_t)(*stream - tag->via.str.ptr);
	return rec;
}

#define MAX_ENTRY (64u << 20) /* largest entry accepted */
#define MAX_DEPTH 64

/* The extent of the msgpack object at p without allocating (msgpack-c preallocates containers
 * by their declared length, so a hostile header could claim gigabytes). Returns 1 and *used
 * when complete, 0 when more bytes are needed, -1 when invalid. */
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
				return -1;
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
				default: return -1;
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
			return -1;
		off += hl + (size_t)body;
		if (off > MAX_ENTRY)
			return -1;
		if (kids) {
			if (depth == MAX_DEPTH)
				return -1;
			left[++depth] = kids;
		}
	}
	if (off > len)
		return 0;
	*used = off;
	return 1;
}

static void print_entry(const msgpack_object *e, const msgpack_object *rec, const char *stream,
			size_t sl, const struct cat_opts *co)
{
	if (co->stream && (strlen(co->stream) != sl || memcmp(co->stream, stream, sl)))
		return;
	if (co->n_cols) {
		for (int i = 0; i < co->n_cols; i++) {
			const msgpack_object *v = map_get(rec, co->cols[i]);

			if (i)
				putchar('\t');
			if (v)
				tsv_value(stdout, v);
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
		json_value(stdout, &e->via.array.ptr[0]);
	}
	for (uint32_t i = 0; i < rec->via.map.size; i++) {
		putchar(',');
		json_value(stdout, &rec->via.map.ptr[i].key);
		putchar(':');
		json_value(stdout, &rec->via.map.ptr[i].val);
	}
	fputs("}\n", stdout);
}

static int cat(FILE *in, const char *name, const struct cat_opts *co)
{
	size_t cap = 1 << 16, len = 0, pos = 0, consumed = 0;
	uint8_t *buf = malloc(cap);
	msgpack_unpacked res;
	int rc = 0, eof = 0;

	if (!buf)
		return 2;
	msgpack_unpacked_init(&res);
	while (!rc) {
		size_t used = 0, off = 0;
		int r = mp_extent(buf + pos, len - pos, &used);

		if (r < 0) {
			fprintf(stderr, "mailtap-cat: %s: corrupt msgpack at byte offset %zu\n", name,
				consumed);
			rc = 1;
			break;
		}
		if (r == 1) {
			const char *why = NULL, *stream = NULL;
			size_t sl = 0;
			const msgpack_object *rec;

			if (msgpack_unpack_next(&res, (const char *)buf + pos, used, &off) !=
			    MSGPACK_UNPACK_SUCCESS) {
				fprintf(stderr, "mailtap-cat: %s: corrupt msgpack at byte offset %zu\n",
					name, consumed);
				rc = 1;
				break;
			}
			rec = check_entry(&res.data, &why, &stream, &sl);
			if (!rec) {
				fprintf(stderr, "mailtap-cat: %s: invalid entry at byte offset %zu: %s\n",
					name, consumed, why);
				rc = 1;
				break;
			}
			print_entry(&res.data, rec, stream, sl, co);
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
				fprintf(stderr, "mailtap-cat: %s: entry at byte offset %zu is larger "
						"than %u bytes\n", name, consumed, MAX_ENTRY);
				rc = 1;
				break;
			}
			nb = realloc(buf, cap * 2);
			if (!nb) {
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
	msgpack_unpacked_destroy(&res);
	free(buf);
	fflush(stdout);
	return rc;
}

int main(int argc, char **argv)
{
	struct cat_opts co = { 0 };
	const char *file = NULL;
	FILE *in;
	int c, rc;

	while ((c = getopt(argc, argv, "+s:tcr:h")) != -1) {
		switch (c) {
		case 's':
			co.stream = optarg;
			break;
		case 't':
			co.with_tag = 1;
			break;
		case 'c':
			co.n_cols = -1;
			break;
		case 'r':
			file = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (co.n_cols == -1) {
		co.n_cols = 0;
		for (; optind < argc && co.n_cols < MAX_COLS; optind++)
			co.cols[co.n_cols++] = argv[optind];
		if (!co.n_cols) {
			fprintf(stderr, "mailtap-cat: -c needs field names\n");
			return 2;
		}
	} else if (optind < argc) {
		file = argv[optind++];
	}
	if (optind < argc) {
		fprintf(stderr, "mailtap-cat: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if (!file || !strcmp(file, "-")) {
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
	return rc;
}
