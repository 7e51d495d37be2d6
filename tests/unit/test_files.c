// SPDX-License-Identifier: BSD-3-Clause
/* files.c + rec_files.c + mimesniff.c: Zeek Files::Info values for known contents (the
 * entities of Zeek's smtp.pcap, whose md5/sha1/sha256 Zeek's file-analysis baseline gives),
 * every split position, gaps, extraction (names, limits, type filter, unwritable directory,
 * symlinks), the in-flight limit, and mime sniffing against Zeek's signatures. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include <msgpack.h>
#include "mailtap/files.h"
#include "mailtap/ids.h"
#include "mailtap/mimesniff.h"
#include "mailtap/rec.h"
#include "mailtap/session.h"
#include "mailtap/sink.h"
#include "corpus.h"

#define BASE CORPUS "zeek/baselines/scripts.base.frameworks.file-analysis.smtp/"

/* ---- a sink that keeps the last record ---- */
struct cap_sink {
	struct sink sink;
	uint8_t buf[1 << 16];
	size_t len;
	int n;
};

static int cap_write(struct sink *s, const char *tag, size_t tag_len, uint64_t ts_ns,
		     const uint8_t *map, size_t len)
{
	struct cap_sink *c = (struct cap_sink *)s;

	assert_true(len <= sizeof(c->buf));
	assert_int_equal(tag_len, strlen("mailtap.files"));
	assert_memory_equal(tag, "mailtap.files", tag_len);
	memcpy(c->buf, map, len);
	c->len = len;
	c->n++;
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

struct env {
	struct cap_sink cap;
	struct rec_out *out;
	struct rec *rec;
	struct mt_ids ids;
	struct conn_id cid;
	struct mt_session s;
	msgpack_unpacked up;
	bool unpacked;
};

static struct env *env_new(void)
{
	struct env *e = calloc(1, sizeof(*e));
	static const uint8_t o[4] = {10, 10, 1, 4}, r[4] = {74, 53, 140, 153};

	e->cap.sink.ops = &cap_ops;
	e->out = rec_out__new("mailtap");
	rec_out__add_sink(e->out, &e->cap.sink);
	e->rec = rec__new(e->out);
	mt_ids__init(&e->ids, 1, 42);
	mt_addr__from_v4(&e->cid.orig_h, o);
	mt_addr__from_v4(&e->cid.resp_h, r);
	e->cid.orig_p = 1470;
	e->cid.resp_p = 25;
	e->cid.proto = 6;
	e->s.uid = "CHhAvVGS1DHFjwGM9";
	e->s.id = &e->cid;
	e->s.rec = e->rec;
	e->s.ids = &e->ids;
	e->s.local_orig = 1;
	e->s.local_resp = 0;
	return e;
}

static void env_free(struct env *e)
{
	if (e->unpacked)
		msgpack_unpacked_destroy(&e->up);
	rec__free(e->rec);
	rec_out__free(e->out);
	free(e);
}

/* The last record's field `key`, or NULL. */
static const msgpack_object *field(struct env *e, const char *key)
{
	const msgpack_object_map *m;
	uint32_t i;

	if (!e->unpacked) {
		msgpack_unpacked_init(&e->up);
		assert_int_equal(
		    msgpack_unpack_next(&e->up, (const char *)e->cap.buf, e->cap.len, NULL),
		    MSGPACK_UNPACK_SUCCESS);
		e->unpacked = true;
	}
	assert_int_equal(e->up.data.type, MSGPACK_OBJECT_MAP);
	m = &e->up.data.via.map;
	for (i = 0; i < m->size; i++)
		if (m->ptr[i].key.via.str.size == strlen(key) &&
		    memcmp(m->ptr[i].key.via.str.ptr, key, strlen(key)) == 0)
			return &m->ptr[i].val;
	return NULL;
}

static void reset_rec(struct env *e)
{
	if (e->unpacked)
		msgpack_unpacked_destroy(&e->up);
	e->unpacked = false;
}

static void assert_str(struct env *e, const char *key, const char *want)
{
	const msgpack_object *o = field(e, key);

	if (!want) {
		assert_null(o);
		return;
	}
	assert_non_null(o);
	assert_int_equal(o->type, MSGPACK_OBJECT_STR);
	if (o->via.str.size != strlen(want) || memcmp(o->via.str.ptr, want, strlen(want)))
		fail_msg("%s: got '%.*s' want '%s'", key, (int)o->via.str.size, o->via.str.ptr,
			 want);
}

static void assert_u64(struct env *e, const char *key, uint64_t want)
{
	const msgpack_object *o = field(e, key);

	assert_non_null(o);
	assert_int_equal(o->type, MSGPACK_OBJECT_POSITIVE_INTEGER);
	assert_int_equal(o->via.u64, want);
}

static void assert_bool(struct env *e, const char *key, int want)
{
	const msgpack_object *o = field(e, key);

	if (want < 0) {
		assert_null(o);
		return;
	}
	assert_non_null(o);
	assert_int_equal(o->type, MSGPACK_OBJECT_BOOLEAN);
	assert_int_equal(o->via.boolean, want);
}

/* Reads a btest baseline file without its first (### BTest ...) line. */
static uint8_t *read_baseline(const char *name, size_t *len)
{
	char path[512];
	FILE *fp;
	uint8_t *buf;
	long n;
	char *nl;

	snprintf(path, sizeof(path), BASE "%s", name);
	fp = fopen(path, "rb");
	if (!fp)
		return NULL;
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	fseek(fp, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
	fclose(fp);
	buf[n] = 0;
	nl = memchr(buf, '\n', (size_t)n);
	assert_non_null(nl);
	*len = (size_t)n - (size_t)(nl + 1 - (char *)buf);
	memmove(buf, nl + 1, *len);
	return buf;
}

struct known {
	const char *file;
	size_t len;
	const char *mime, *md5, *sha1, *sha256;
};

/* From the baseline's out: seen bytes, MIME_TYPE, MD5, SHA1, SHA256. */
static const struct known knowns[] = {
    {"thefile0", 77, "text/plain", "58aff3af22807bc5f4b6357c0038256c",
     "c39dc8cd0f8d8b1f7fc8b362c41e69fdf20f668a",
     "8d057f3af311c20675eea767a9df5fa31ff3597c6d5d50fd0cdc34766c40204d"},
    {"thefile1", 1868, "text/html", "afd68ae5c63caf6050dc5440bd72c5dd",
     "a4825db9a78b6c631f3c97d363be47faf65e8386",
     "8d9e5bb6072fbbf5b4a5fabe89ede8c8c54915efe33704fe71420d50438f5f81"},
    {"thefile2", 10809, "text/plain", "30a60389acc290515651391154ba1b33",
     "5d3e96afdef531571b685aa2a3729e6fe635e413",
     "6ea20e4b4f218a715ddfd0c27a92def1020a47a1c2cc6971a6710746efabf868"},
};

static void check_known(struct env *e, const struct known *k)
{
	assert_str(e, "source", "SMTP");
	assert_str(e, "mime_type", k->mime);
	assert_str(e, "md5", k->md5);
	assert_str(e, "sha1", k->sha1);
	assert_str(e, "sha256", k->sha256);
	assert_u64(e, "seen_bytes", k->len);
	assert_u64(e, "missing_bytes", 0);
	assert_u64(e, "overflow_bytes", 0);
	assert_bool(e, "timedout", 0);
	assert_bool(e, "is_orig", 1);
	assert_bool(e, "local_orig", 1);
	assert_str(e, "uid", "CHhAvVGS1DHFjwGM9");
	assert_str(e, "id.orig_h", "10.10.1.4");
	assert_u64(e, "id.resp_p", 25);
	assert_null(field(e, "extracted"));
	assert_null(field(e, "total_bytes"));
	assert_null(field(e, "parent_fuid"));
}

static struct files_cfg all_hashes(void)
{
	struct files_cfg c;

	files_cfg__default(&c);
	c.sha256 = true;
	return c;
}

/* Whole, split at every position (two chunks), and byte by byte. */
static void test_known_contents(void **state)
{
	struct files_cfg cfg = all_hashes();
	size_t i, k, len = 0, split;
	struct env *e = env_new();

	for (k = 0; k < sizeof(knowns) / sizeof(knowns[0]); k++) {
		uint8_t *buf = read_baseline(knowns[k].file, &len);

		if (!buf)
			skip();
		assert_int_equal(len, knowns[k].len);
		for (split = 0; split <= len; split += (len > 2000 ? 97 : 1)) {
			struct mt_file *f =
			    files__open(&e->s, &cfg, 1000000000ull, "SMTP", true, 3);

			assert_non_null(f);
			files__data(f, buf, split, 1000000000ull);
			files__data(f, buf + split, len - split, 1000061000ull);
			files__close(f, 1000061000ull);
			reset_rec(e);
			check_known(e, &knowns[k]);
			assert_u64(e, "depth", 3);
		}
		{
			struct mt_file *f = files__open(&e->s, &cfg, 5, "SMTP", true, 1);

			for (i = 0; i < len; i++)
				files__data(f, buf + i, 1, 5 + i);
			files__close(f, 5 + len);
			reset_rec(e);
			check_known(e, &knowns[k]);
		}
		free(buf);
	}
	env_free(e);
}

static void test_record_shape(void **state)
{
	struct files_cfg cfg;
	struct env *e = env_new();
	const msgpack_object *o;
	struct mt_file *f;
	static const char *const order[] = {
	    "ts",	   "fuid",	  "uid",	   "id.orig_h",	     "id.orig_p",
	    "id.resp_h",   "id.resp_p",	  "source",	   "depth",	     "analyzers",
	    "mime_type",   "filename",	  "duration",	   "local_orig",     "is_orig",
	    "seen_bytes",  "total_bytes", "missing_bytes", "overflow_bytes", "timedout",
	    "parent_fuid", "md5",	  "sha1"};
	uint32_t i;

	files_cfg__default(&cfg);
	f = files__open(&e->s, &cfg, 1254722767875996000ull, "SMTP", true, 5);
	assert_non_null(f);
	assert_int_equal(files__fuid(f)[0], 'F');
	assert_true(strlen(files__fuid(f)) >= 10);
	files__set_filename(f, "NEWS.txt", 8);
	files__set_total_bytes(f, 11);
	files__set_parent(f, "Fparent123");
	files__add_analyzer(f, "X509");
	files__add_analyzer(f, "MD5"); /* already there: a set */
	/* "Version 4.9" */
	files__data(f, (const uint8_t *)"Version 4.9", 11, 1254722769041508000ull);
	files__close(f, 1254722769041508000ull);
	assert_int_equal(e->cap.n, 1);
	assert_str(e, "filename", "NEWS.txt");
	assert_u64(e, "total_bytes", 11);
	assert_str(e, "parent_fuid", "Fparent123");
	assert_str(e, "mime_type", "text/plain");
	o = field(e, "analyzers");
	assert_non_null(o);
	assert_int_equal(o->type, MSGPACK_OBJECT_ARRAY);
	assert_int_equal(o->via.array.size, 3);
	assert_memory_equal(o->via.array.ptr[0].via.str.ptr, "MD5", 3);
	assert_memory_equal(o->via.array.ptr[1].via.str.ptr, "SHA1", 4);
	assert_memory_equal(o->via.array.ptr[2].via.str.ptr, "X509", 4);
	o = field(e, "duration");
	assert_non_null(o);
	assert_true(o->via.f64 > 1.165511 && o->via.f64 < 1.165513);
	o = field(e, "ts");
	assert_true(o->via.f64 > 1254722767.875995 && o->via.f64 < 1254722767.875997);
	assert_null(field(e, "sha256"));
	/* Zeek's column order */
	o = &e->up.data;
	assert_int_equal(o->via.map.size, sizeof(order) / sizeof(order[0]));
	for (i = 0; i < o->via.map.size; i++)
		assert_memory_equal(o->via.map.ptr[i].key.via.str.ptr, order[i], strlen(order[i]));
	env_free(e);
}

/* Zeek: a gap drops the hash analyzers; the mime type comes from the bytes before it. */
static void test_gap(void **state)
{
	struct files_cfg cfg = all_hashes();
	struct env *e = env_new();
	struct mt_file *f;
	struct files_stats st0, st1;

	files__stats(&st0);
	/* data, gap, data */
	f = files__open(&e->s, &cfg, 1, "SMTP", true, 2);
	files__data(f, (const uint8_t *)"AAAAAAAAAAAAAAAAAAAA", 20, 2);
	files__gap(f, 1000, 3);
	files__data(f, (const uint8_t *)"BBBB", 4, 4);
	files__close(f, 5);
	assert_u64(e, "seen_bytes", 24);
	assert_u64(e, "missing_bytes", 1000);
	assert_str(e, "mime_type", "text/plain");
	assert_null(field(e, "md5"));
	assert_null(field(e, "sha1"));
	assert_null(field(e, "sha256"));
	{
		const msgpack_object *o = field(e, "analyzers");

		assert_int_equal(o->via.array.size, 3);
	}
	/* a gap first: nothing seen, no mime type (bdat-gap files.log.cut: "-") */
	reset_rec(e);
	f = files__open(&e->s, &cfg, 1, "SMTP", true, 1);
	files__gap(f, 1000, 3);
	files__close(f, 5);
	assert_u64(e, "seen_bytes", 0);
	assert_u64(e, "missing_bytes", 1000);
	assert_null(field(e, "mime_type"));
	assert_null(field(e, "sha1"));
	/* short content: no signature (the 2-byte "\r\n" of rfc822-msg-file-analysis) */
	reset_rec(e);
	f = files__open(&e->s, &cfg, 1, "SMTP", true, 4);
	files__data(f, (const uint8_t *)"\r\n", 2, 2);
	files__close(f, 5);
	assert_null(field(e, "mime_type"));
	assert_str(e, "sha1", "ba8ab5a0280b953aa97435ff8946cbcbb2755a27");
	files__stats(&st1);
	assert_int_equal(st1.gaps - st0.gaps, 2);
	env_free(e);
}

static void test_mime_set_by_protocol(void **state)
{
	struct files_cfg cfg;
	struct env *e = env_new();
	struct mt_file *f;

	files_cfg__default(&cfg);
	f = files__open(&e->s, &cfg, 1, "SSL", false, 0);
	files__set_mime_type(f, "application/x-x509-user-cert");
	/* DER starts 0x30 0x82; would be nothing or text otherwise */
	files__data(f, (const uint8_t *)"0123456789abcdef", 16, 2);
	files__close(f, 3);
	assert_str(e, "mime_type", "application/x-x509-user-cert");
	assert_str(e, "source", "SSL");
	assert_bool(e, "is_orig", 0);
	assert_bool(e, "local_orig", 0); /* responder side: local_resp */
	env_free(e);
	/* local_orig unset without --local-nets */
	e = env_new();
	e->s.local_orig = -1;
	e->s.local_resp = -1;
	f = files__open(&e->s, &cfg, 1, "SMTP", true, 1);
	files__data(f, (const uint8_t *)"x", 1, 2);
	files__close(f, 3);
	assert_bool(e, "local_orig", -1);
	env_free(e);
}

static char tmpdir[64];

static int setup_dir(void **state)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/mt-files-XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	return 0;
}

static int teardown_dir(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static uint8_t *slurp(const char *path, size_t *len)
{
	struct stat st;
	uint8_t *b;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return NULL;
	fstat(fd, &st);
	b = malloc((size_t)st.st_size + 1);
	*len = (size_t)read(fd, b, (size_t)st.st_size);
	close(fd);
	return b;
}

static void test_extract(void **state)
{
	struct files_cfg cfg;
	struct env *e = env_new();
	struct mt_file *f;
	char path[256], name[96];
	uint8_t *b;
	size_t len;
	const msgpack_object *o;
	struct stat st;

	files_cfg__default(&cfg);
	cfg.extract_dir = tmpdir;
	f = files__open(&e->s, &cfg, 1254722767875996000ull, "SMTP", true, 5);
	snprintf(name, sizeof(name), "extract-1254722767.875996-SMTP-%s", files__fuid(f));
	files__data(f, (const uint8_t *)"hello ", 6, 1254722767875996000ull);
	files__data(f, (const uint8_t *)"world\r\n", 7, 1254722767875997000ull);
	files__close(f, 1254722767875999000ull);
	assert_str(e, "extracted", name);
	assert_bool(e, "extracted_cutoff", 0);
	assert_null(field(e, "extracted_size"));
	o = field(e, "analyzers");
	assert_int_equal(o->via.array.size, 3);
	assert_memory_equal(o->via.array.ptr[2].via.str.ptr, "EXTRACT", 7);
	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	b = slurp(path, &len);
	assert_non_null(b);
	assert_int_equal(len, 13);
	assert_memory_equal(b, "hello world\r\n", 13);
	free(b);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);

	/* per-file limit: Zeek's extracted_cutoff T, extracted_size = limit */
	reset_rec(e);
	cfg.extract_max_file = 4;
	f = files__open(&e->s, &cfg, 2000000000ull, "SMTP", true, 6);
	snprintf(name, sizeof(name), "extract-2.000000-SMTP-%s", files__fuid(f));
	files__data(f, (const uint8_t *)"abc", 3, 2000000000ull);
	files__data(f, (const uint8_t *)"defgh", 5, 2000000000ull);
	files__close(f, 2000000000ull);
	assert_str(e, "extracted", name);
	assert_bool(e, "extracted_cutoff", 1);
	assert_u64(e, "extracted_size", 4);
	assert_u64(e, "seen_bytes", 8);
	assert_str(e, "md5", "e8dc4081b13434b45189a720b77b6818"); /* md5("abcdefgh") */
	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	b = slurp(path, &len);
	assert_int_equal(len, 4);
	assert_memory_equal(b, "abcd", 4);
	free(b);

	/* a hole is sparse, counted in the limit */
	reset_rec(e);
	cfg.extract_max_file = 0;
	f = files__open(&e->s, &cfg, 3000000000ull, "SMTP", true, 7);
	snprintf(name, sizeof(name), "extract-3.000000-SMTP-%s", files__fuid(f));
	files__data(f, (const uint8_t *)"ab", 2, 3000000000ull);
	files__gap(f, 3, 3000000000ull);
	files__data(f, (const uint8_t *)"cd", 2, 3000000000ull);
	files__gap(f, 2, 3000000000ull);
	files__close(f, 3000000000ull);
	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	b = slurp(path, &len);
	assert_int_equal(len, 9);
	assert_memory_equal(b, "ab\0\0\0cd\0\0", 9);
	free(b);
	assert_bool(e, "extracted_cutoff", 0);
	env_free(e);
}

static void test_extract_filter(void **state)
{
	struct files_cfg cfg;
	struct env *e = env_new();
	struct mt_file *f;
	uint8_t big[5000];
	char path[256];
	uint8_t *b;
	size_t len, i;

	files_cfg__default(&cfg);
	cfg.extract_dir = tmpdir;
	cfg.extract_types = "application/pdf, image/png";
	/* text: not extracted */
	f = files__open(&e->s, &cfg, 1, "SMTP", true, 1);
	files__data(f, (const uint8_t *)"just some text here", 19, 2);
	files__close(f, 3);
	assert_null(field(e, "extracted"));
	assert_str(e, "mime_type", "text/plain");
	/* a PDF larger than the bof buffer, in odd chunks: decided at 4096 bytes */
	memset(big, 'x', sizeof(big));
	memcpy(big, "%PDF-1.4\n", 9);
	reset_rec(e);
	f = files__open(&e->s, &cfg, 1000000, "SMTP", true, 2);
	for (i = 0; i < sizeof(big); i += 333)
		files__data(f, big + i, sizeof(big) - i < 333 ? sizeof(big) - i : 333,
			    5000000000ull + i);
	files__close(f, 9000000000ull);
	assert_str(e, "mime_type", "application/pdf");
	{
		const msgpack_object *o = field(e, "extracted");

		assert_non_null(o);
		/* named when the type was known: the chunk that filled the bof (at 4329) */
		assert_true(o->via.str.size > 27);
		assert_memory_equal(o->via.str.ptr, "extract-5.000003-SMTP-F", 23);
		snprintf(path, sizeof(path), "%s/%.*s", tmpdir, (int)o->via.str.size,
			 o->via.str.ptr);
	}
	b = slurp(path, &len);
	assert_non_null(b);
	assert_int_equal(len, sizeof(big));
	assert_memory_equal(b, big, sizeof(big));
	free(b);
	/* a short PNG: decided at close */
	reset_rec(e);
	f = files__open(&e->s, &cfg, 1, "SMTP", true, 3);
	files__data(f, (const uint8_t *)"\x89PNG\r\n\x1a\n", 8, 2);
	files__close(f, 3);
	assert_str(e, "mime_type", "image/png");
	assert_non_null(field(e, "extracted"));
	env_free(e);
}

static void test_extract_errors(void **state)
{
	struct files_cfg cfg;
	struct env *e = env_new();
	struct mt_file *f;
	struct files_stats st0, st1;
	char path[256], target[256], name[96];
	uint8_t *b;
	size_t len;

	files__stats(&st0);
	files_cfg__default(&cfg);
	/* missing directory: reported once, counted, the record still written */
	cfg.extract_dir = "/nonexistent/mailtap-extract";
	f = files__open(&e->s, &cfg, 1, "SMTP", true, 1);
	files__data(f, (const uint8_t *)"abc", 3, 2);
	files__close(f, 3);
	assert_null(field(e, "extracted"));
	assert_str(e, "md5", "900150983cd24fb0d6963f7d28e17f72");
	reset_rec(e);
	f = files__open(&e->s, &cfg, 1, "SMTP", true, 1);
	files__close(f, 3);
	files__stats(&st1);
	assert_int_equal(st1.extract_errors - st0.extract_errors, 2);
	reset_rec(e);

	/* a symlink at the final name is not followed nor replaced */
	cfg.extract_dir = tmpdir;
	f = files__open(&e->s, &cfg, 7000000000ull, "SMTP", true, 1);
	snprintf(name, sizeof(name), "extract-7.000000-SMTP-%s", files__fuid(f));
	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	snprintf(target, sizeof(target), "%s/victim", tmpdir);
	assert_int_equal(symlink(target, path), 0);
	files__data(f, (const uint8_t *)"evil", 4, 7000000000ull);
	files__close(f, 7000000000ull);
	assert_null(field(e, "extracted"));
	assert_int_equal(access(target, F_OK), -1); /* nothing created through the link */
	b = slurp(path, &len);
	assert_null(b);
	files__stats(&st1);
	assert_int_equal(st1.extract_errors - st0.extract_errors, 3);
	env_free(e);
}

/* Files in tmpdir whose name begins with "extract-". */
static int extracted_files(void)
{
	char cmd[160];
	FILE *p;
	int n = -1;

	snprintf(cmd, sizeof(cmd), "ls %s | grep -c '^extract-'", tmpdir);
	p = popen(cmd, "r");
	assert_non_null(p);
	assert_int_equal(fscanf(p, "%d", &n), 1);
	pclose(p);
	return n;
}

/* extract_max_total (process-wide): a file that finds it used up gets no file at all (it
 * made an empty one, named in the record); a write that fails gives back the part of the
 * total it had reserved and not written (it was lost for the rest of the run). */
static void test_extract_total(void **state)
{
	struct files_cfg cfg;
	struct env *e = env_new();
	struct mt_file *f;
	struct files_stats st0, st1;
	struct rlimit old, lim;
	uint8_t big[1000];
	int before = extracted_files();

	files__stats(&st0);
	files_cfg__default(&cfg);
	cfg.extract_dir = tmpdir;
	cfg.extract_max_total = 10;
	f = files__open(&e->s, &cfg, 11000000000ull, "SMTP", true, 1);
	files__data(f, (const uint8_t *)"abcdefgh", 8, 11000000000ull);
	files__close(f, 11000000000ull);
	assert_bool(e, "extracted_cutoff", 0);
	reset_rec(e);
	f = files__open(&e->s, &cfg, 12000000000ull, "SMTP", true, 2);
	files__data(f, (const uint8_t *)"ijklm", 5, 12000000000ull);
	files__close(f, 12000000000ull);
	assert_bool(e, "extracted_cutoff", 1);
	assert_u64(e, "extracted_size", 2);
	reset_rec(e);
	f = files__open(&e->s, &cfg, 13000000000ull, "SMTP", true, 3);
	files__data(f, (const uint8_t *)"nop", 3, 13000000000ull);
	files__close(f, 13000000000ull);
	assert_null(field(e, "extracted"));
	assert_null(field(e, "extracted_cutoff"));
	assert_int_equal(extracted_files(), before + 2);
	files__stats(&st1);
	assert_int_equal(st1.extract_total_limit - st0.extract_total_limit, 2);

	/* 990 bytes of the total free; a 1000-byte file under a 100-byte file size limit
	 * fails at its 101st byte: the 900 reserved and not written are free again */
	cfg.extract_max_total = 1000;
	memset(big, 'z', sizeof(big));
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = 100;
	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	reset_rec(e);
	f = files__open(&e->s, &cfg, 14000000000ull, "SMTP", true, 4);
	files__data(f, big, 990, 14000000000ull);
	files__close(f, 14000000000ull);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	assert_null(field(e, "extracted"));
	reset_rec(e);
	f = files__open(&e->s, &cfg, 15000000000ull, "SMTP", true, 5);
	files__data(f, big, 990, 15000000000ull);
	files__close(f, 15000000000ull);
	assert_bool(e, "extracted_cutoff", 0); /* all 990 fit */
	assert_non_null(field(e, "extracted"));
	env_free(e);
}

static int open_fds(void)
{
	char cmd[64];
	FILE *p;
	int n = -1;

	snprintf(cmd, sizeof(cmd), "ls /proc/%d/fd | wc -l", (int)getpid());
	p = popen(cmd, "r");
	assert_non_null(p);
	assert_int_equal(fscanf(p, "%d", &n), 1);
	pclose(p);
	return n;
}

/* Extracting files share one descriptor of the directory: 50 files at once hold 50 file
 * descriptors and at most one more (each held a descriptor of the directory too, so that
 * a few hundred files at once ran out of descriptors). When the directory is renamed away
 * and made anew, the next file goes into the new one; the file begun before finishes in
 * the old one. */
static void test_extract_descriptors(void **state)
{
	enum { N = 50 };
	struct files_cfg cfg;
	struct env *e = env_new();
	struct mt_file *f[N], *old_f, *new_f;
	char old_dir[96], path[192];
	int before = extracted_files(), fds0, fds1, i;

	files_cfg__default(&cfg);
	cfg.extract_dir = tmpdir;
	fds0 = open_fds();
	for (i = 0; i < N; i++) {
		f[i] = files__open(&e->s, &cfg, 21000000000ull, "SMTP", true, 1);
		assert_non_null(f[i]);
		files__data(f[i], (const uint8_t *)"x", 1, 21000000000ull);
	}
	fds1 = open_fds();
	assert_true(fds1 - fds0 >= N);
	assert_true(fds1 - fds0 <= N + 1);
	for (i = 0; i < N; i++)
		files__close(f[i], 21000000000ull);
	assert_int_equal(extracted_files(), before + N);
	assert_true(open_fds() <= fds0 + 1);

	/* the directory renamed away and made anew */
	old_f = files__open(&e->s, &cfg, 22000000000ull, "SMTP", true, 1);
	files__data(old_f, (const uint8_t *)"old", 3, 22000000000ull);
	snprintf(old_dir, sizeof(old_dir), "%s.old", tmpdir);
	assert_int_equal(rename(tmpdir, old_dir), 0);
	assert_int_equal(mkdir(tmpdir, 0700), 0);
	reset_rec(e);
	new_f = files__open(&e->s, &cfg, 23000000000ull, "SMTP", true, 1);
	files__data(new_f, (const uint8_t *)"new", 3, 23000000000ull);
	files__close(new_f, 23000000000ull);
	assert_non_null(field(e, "extracted"));
	assert_int_equal(extracted_files(), 1);
	reset_rec(e);
	files__close(old_f, 22000000000ull);
	assert_non_null(field(e, "extracted"));
	snprintf(path, sizeof(path), "rm -rf %s", old_dir);
	assert_int_equal(system(path), 0);
	assert_true(open_fds() <= fds0 + 1);
	env_free(e);
}

static void test_in_flight_limit(void **state)
{
	struct files_cfg cfg;
	struct env *e = env_new();
	struct mt_file *a, *b, *c;
	struct files_stats st0, st1;

	files__stats(&st0);
	files_cfg__default(&cfg);
	cfg.max_in_flight = (uint32_t)st0.in_flight + 2;
	a = files__open(&e->s, &cfg, 1, "SMTP", true, 1);
	b = files__open(&e->s, &cfg, 1, "SMTP", true, 2);
	c = files__open(&e->s, &cfg, 1, "SMTP", true, 3);
	assert_non_null(a);
	assert_non_null(b);
	assert_null(c);
	assert_int_equal(errno, EMFILE);
	files__stats(&st1);
	assert_int_equal(st1.refused - st0.refused, 1);
	assert_int_equal(st1.in_flight - st0.in_flight, 2);
	files__abort(a);
	files__close(b, 2);
	assert_int_equal(e->cap.n, 1); /* abort writes nothing */
	files__stats(&st1);
	assert_int_equal(st1.in_flight, st0.in_flight);
	env_free(e);
}

struct sniff_case {
	const char *data;
	size_t len;
	const char *mime;
};

#define S(s, m)                                                                                    \
	{                                                                                          \
		(s), sizeof(s) - 1, (m)                                                            \
	}

static void test_mimesniff(void **state)
{
	static const struct sniff_case cases[] = {
	    S("Hello\r\n\r\n \r\n", "text/plain"),
	    S("\r\n> On 25 Jul 2015", "text/plain"),
	    S("short", NULL),
	    S("\r\n", NULL),
	    S("<html xmlns:v=\"urn:schemas-microsoft-com:vml\">", "text/html"),
	    S("  <!-- c -->\r\n<!DOCTYPE  html PUBLIC", "text/html"),
	    S("<head><title>x</title>", "text/html"),
	    S("%PDF-1.4\n%\xe2\xe3\xcf\xd3", "application/pdf"),
	    S("\x89PNG\r\n\x1a\n\0\0\0\rIHDR", "image/png"),
	    S("\xff\xd8\xff\xe0\0\x10JFIF", "image/jpeg"),
	    S("GIF89a\x01\0\x01\0", "image/gif"),
	    S("PK\x03\x04\x0a\0\0\0\0\0", "application/zip"),
	    S("MZ\x90\0\x03\0\0\0\x04\0", "application/x-dosexec"),
	    S("Received: from x by y", "text/plain"),
	    S("From: <attachment@example.com>\r\n\r\n", "message/rfc822"),
	    S("Return-Path: <a@b>", "message/rfc822"),
	    S("{\"a\": 1}", "text/json"),
	    S("<?xml version=\"1.0\"?><a/>", "application/xml"),
	    S("#!/bin/sh\necho hi\n", "text/x-shellscript"),
	    S("-----BEGIN CERTIFICATE-----\nMIIB", "application/x-pem"),
	    S("\x1f\x8b\x08\0\0\0\0\0", "application/x-gzip"),
	    S("\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\0\0", "application/msword"),
	    S("BM\x36\0\0\0\0\0\0\0\x36\0\0\0\x28\0", "image/x-ms-bmp"),
	    S("Subject: x\r\n\r\ndiff --git a/f b/f\r\n--- a/f\r\n+++ b/f\r\n@@ -1 +1 @@",
	      "text/x-diff"),
	    S("[section]\r\nkey=value\r\n", "text/ini"),
	    S("\xef\xbb\xbfHello there, world", "text/plain"),
	    /* reachability through BOMs, white space, comments and an XML declaration */
	    S("<!-- a --> <!-- b -->\r\n\t<?xml version=\"1.0\"?>\n <!-- c --><html>", "text/html"),
	    S("\xef\xbb\xbf \r\n<?xml version=\"1.0\"?><a/>", "application/xml"),
	    S("<!-- a long comment with <html> inside --> <body>", "text/html"),
	    S("x <html> after a character the prefix cannot reach", "text/plain"),
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *m =
		    mimesniff__detect((const uint8_t *)cases[i].data, cases[i].len, NULL);

		if (!cases[i].mime ? m != NULL : !m || strcmp(m, cases[i].mime))
			fail_msg("case %zu: got %s want %s", i, m ? m : "(none)",
				 cases[i].mime ? cases[i].mime : "(none)");
	}
}

/* archive.sig's signatures (Zeek's archive.sig with file-deb, file-ace-archive and
 * file-bzip2): each one with Zeek's strength, and what it beats (text/plain -20, x-dosexec 51,
 * file-x-archive's !<arch> 70). */
static void test_mimesniff_archive(void **state)
{
	static const struct {
		struct sniff_case c;
		int strength;
	} cases[] = {
	    /* file-zoo: \xdc\xa7\xc4\xfd at 20, after printable text */
	    {S("ZOO 2.10 Archive.\x1a\0\0\xdc\xa7\xc4\xfd\0\0", "application/x-zoo"), 70},
	    /* file-lzh, each method family */
	    {S(" \x1e-lh5-\0\0\0\0", "application/x-lzh"), 80},
	    {S("\x20\x1e-lh -\0\0", "application/x-lzh"), 80},
	    {S("\x20\x1e-lzs-\0\0", "application/x-lzh"), 80},
	    {S("\x20\x1e-pm2-\0\0", "application/x-lzh"), 80},
	    {S("\x20\x1e-pc1-\0\0", "application/x-lzh"), 80},
	    {S("\x20\x1e-lhz-\0\0", NULL), 0},
	    /* file-magic-auto434: PKWARE/PKLITE self-extractors beat x-dosexec (51) */
	    {S("MZ\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"
	       "PKLITE Copr.",
	       "application/zip"),
	     340},
	    {S("MZ\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"
	       "Copyright 1989-1990 PKWARE Inc.",
	       "application/zip"),
	     340},
	    {S("MZ\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"
	       "PKLITE Copr",
	       "application/x-dosexec"),
	     51},
	    /* file-magic-auto436: LHa self-extractor */
	    {S("MZ\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"
	       "\0\0LHa's SFX",
	       "application/x-lha"),
	     120},
	    {S("MZ\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"
	       "\0\0LHA's SFX",
	       "application/x-lha"),
	     120},
	    /* file-arc */
	    {S("\x1a\x08\x02\x1a\0\0", "application/x-arc"), 70},
	    {S("\x1a\x08\x48\x1a\0\0", "application/x-arc"), 70},
	    {S("\x80\x08\x02\x1a\0\0", NULL), 0},
	    /* file-dmg's fifth form */
	    {S("\x78\x01\xed\xd3\0\0", "application/x-dmg"), 100},
	    {S("\x78\xda\xed\xd9\0\0", "application/x-dmg"), 100},
	    {S("\x78\xda\xed\xda\0\0", NULL), 0},
	    /* file-bzip2 beats text/plain; file-ace-archive; file-deb beats !<arch> */
	    {S("BZh91AY&SY0123456789", "application/x-bzip2"), 60},
	    {S("\0\0\0\0\0\0\0**ACE**\0\0", "application/x-ace"), 100},
	    {S("!<arch>\ndebian-binary   ", "application/x-debian-package"), 171},
	    {S("!<arch>\nlibfoo.o/       ", "application/x-archive"), 70},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int st = 0;
		const char *m = mimesniff__detect((const uint8_t *)cases[i].c.data, cases[i].c.len,
						  &st);

		if (!cases[i].c.mime ? m != NULL
				     : !m || strcmp(m, cases[i].c.mime) || st != cases[i].strength)
			fail_msg("case %zu: got %s (%d) want %s (%d)", i, m ? m : "(none)", st,
				 cases[i].c.mime ? cases[i].c.mime : "(none)", cases[i].strength);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_known_contents),
	    cmocka_unit_test(test_record_shape),
	    cmocka_unit_test(test_gap),
	    cmocka_unit_test(test_mime_set_by_protocol),
	    cmocka_unit_test(test_extract),
	    cmocka_unit_test(test_extract_filter),
	    cmocka_unit_test(test_extract_errors),
	    cmocka_unit_test(test_extract_total),
	    cmocka_unit_test(test_extract_descriptors),
	    cmocka_unit_test(test_in_flight_limit),
	    cmocka_unit_test(test_mimesniff),
	    cmocka_unit_test(test_mimesniff_archive),
	};

	return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
