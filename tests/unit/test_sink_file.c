// SPDX-License-Identifier: BSD-3-Clause
/* File sink under failing writes: whatever fails, the output holds whole records only (a
 * reader stops at the first entry that does not parse, so half a record would hide every
 * record after it), the records held are written once writes work again, and those that
 * could not be kept are counted and make close() fail.
 * Writes are made to fail for real: RLIMIT_FSIZE (with SIGXFSZ ignored, write() past the
 * limit writes up to it and then fails with EFBIG, as a full disk does with ENOSPC), a
 * non-blocking pipe that is full (a partial write, then EAGAIN) and one without a reader.
 * The counters must be exact throughout: records == written + lost + held, where written are
 * the whole records in the output (also those before a partial write that stays). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <msgpack.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include "mailtap/sink.h"

#define PAD 1000 /* record size about 1 KiB: the 256 KiB buffer holds about 250 */

/* Writes record n ({"n": n, "pad": PAD bytes}, or pad bytes) to s. */
static int put(struct sink *s, uint64_t n, size_t pad)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	char *p = malloc(pad);
	int err;

	assert_non_null(p);
	memset(p, 'a' + (int)(n % 26), pad);
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 2);
	msgpack_pack_str_with_body(&pk, "n", 1);
	msgpack_pack_uint64(&pk, n);
	msgpack_pack_str_with_body(&pk, "pad", 3);
	msgpack_pack_str_with_body(&pk, p, pad);
	err = sink__write(s, "mailtap.test", 12, 1700000000000000000ULL + n, (uint8_t *)sb.data,
			  sb.size);
	msgpack_sbuffer_destroy(&sb);
	free(p);
	return err;
}

/* Reads bytes b[0..len) as entries: every one must be a whole [tag, EventTime, {"n", "pad"}]
 * with n rising; the bytes must end with the last one. Returns the number of entries; *last
 * gets the last n (when there is one). */
static uint64_t check_whole(const uint8_t *b, size_t len, uint64_t *last)
{
	msgpack_unpacked u;
	size_t off = 0;
	uint64_t n = 0, prev = 0;

	msgpack_unpacked_init(&u);
	while (off < len) {
		const msgpack_object *e, *m;

		if (msgpack_unpack_next(&u, (const char *)b, len, &off) != MSGPACK_UNPACK_SUCCESS)
			fail_msg("not a whole entry at byte offset %zu of %zu", off, len);
		e = &u.data;
		assert_int_equal(e->type, MSGPACK_OBJECT_ARRAY);
		assert_int_equal(e->via.array.size, 3);
		assert_int_equal(e->via.array.ptr[0].type, MSGPACK_OBJECT_STR);
		assert_int_equal(e->via.array.ptr[1].type, MSGPACK_OBJECT_EXT);
		m = &e->via.array.ptr[2];
		assert_int_equal(m->type, MSGPACK_OBJECT_MAP);
		assert_int_equal(m->via.map.size, 2);
		assert_int_equal(m->via.map.ptr[0].val.type, MSGPACK_OBJECT_POSITIVE_INTEGER);
		if (n)
			assert_true(m->via.map.ptr[0].val.via.u64 > prev);
		prev = m->via.map.ptr[0].val.via.u64;
		n++;
	}
	msgpack_unpacked_destroy(&u);
	if (last)
		*last = prev;
	return n;
}

/* The bytes a reader got from a stream that may end in part of an entry: the whole entries
 * (checked as check_whole does) and then, unless the bytes end with one, the start of one. */
static uint64_t whole_prefix(const uint8_t *b, size_t len, size_t *rest)
{
	msgpack_unpacked u;
	size_t off = 0, end = 0;
	uint64_t n;
	msgpack_unpack_return r;

	msgpack_unpacked_init(&u);
	while ((r = msgpack_unpack_next(&u, (const char *)b, len, &off)) == MSGPACK_UNPACK_SUCCESS)
		end = off;
	msgpack_unpacked_destroy(&u);
	assert_true(end == len || r == MSGPACK_UNPACK_CONTINUE);
	n = check_whole(b, end, NULL);
	*rest = len - end;
	return n;
}

/* Reads what a non-blocking fd has, appending to *b. */
static void drain(int fd, uint8_t **b, size_t *len, size_t *cap)
{
	ssize_t r;

	do {
		if (*cap - *len < 65536) {
			*cap = *cap * 2 + 65536;
			*b = realloc(*b, *cap);
			assert_non_null(*b);
		}
		r = read(fd, *b + *len, *cap - *len);
		if (r > 0)
			*len += (size_t)r;
	} while (r > 0);
}

/* sink__close(s) with stderr going to a file: its result, what it said in msg. */
static int close_said(struct sink *s, char *msg, size_t n)
{
	FILE *t = tmpfile();
	int err, saved = dup(STDERR_FILENO);
	size_t got;

	assert_non_null(t);
	assert_true(saved >= 0);
	fflush(stderr);
	assert_true(dup2(fileno(t), STDERR_FILENO) >= 0);
	err = sink__close(s);
	fflush(stderr);
	assert_true(dup2(saved, STDERR_FILENO) >= 0);
	close(saved);
	rewind(t);
	got = fread(msg, 1, n - 1, t);
	msg[got] = 0;
	fclose(t);
	fputs(msg, stderr);
	return err;
}

/* The numbers in close()'s "N of M records not written"; 0 of 0 when it said nothing. */
static void said_lost(const char *msg, unsigned long long *lost, unsigned long long *records)
{
	const char *p = strstr(msg, " records not written");

	*lost = *records = 0;
	if (!p)
		return;
	while (p > msg && p[-1] != ':')
		p--;
	assert_int_equal(sscanf(p, " %llu of %llu", lost, records), 2);
}

static uint8_t *slurp(const char *path, size_t *len)
{
	struct stat st;
	uint8_t *b;
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	b = malloc((size_t)st.st_size + 1);
	assert_non_null(b);
	assert_int_equal(read(fd, b, (size_t)st.st_size), st.st_size);
	close(fd);
	*len = (size_t)st.st_size;
	return b;
}

static uint64_t check_file(const char *path, uint64_t *last)
{
	size_t len;
	uint8_t *b = slurp(path, &len);
	uint64_t n = check_whole(b, len, last);

	free(b);
	return n;
}

static off_t file_size(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return st.st_size;
}

static void stats(struct sink *s, struct sink_file_stats *st)
{
	assert_int_equal(sink_file__stats(s, st), 0);
	assert_int_equal(st->records, st->written + st->lost + st->held);
}

static struct rlimit saved_fsize;

static void fsize_limit(rlim_t n)
{
	struct rlimit r = saved_fsize;

	r.rlim_cur = n;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &r), 0);
}

static void fsize_restore(void)
{
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &saved_fsize), 0);
}

static int setup(void **state)
{
	signal(SIGXFSZ, SIG_IGN); /* write() past RLIMIT_FSIZE fails with EFBIG, no signal */
	signal(SIGPIPE, SIG_IGN); /* as mailtap does: a pipe without reader gives EPIPE */
	return getrlimit(RLIMIT_FSIZE, &saved_fsize);
}

/* After each test, also one that failed half way */
static int teardown(void **state)
{
	return setrlimit(RLIMIT_FSIZE, &saved_fsize);
}

static void tmp_path(char *path, size_t n)
{
	int fd;

	snprintf(path, n, "/tmp/mailtap-test-sinkfile-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
}

/* A regular file whose writes fail part of the way: first on the first write, then after
 * whole records went out. The file is cut back to its last whole record each time, the
 * records held are written when writes work again, the lost ones make close() fail. */
static void test_regular_file(void **state)
{
	char path[64];
	struct sink *s;
	struct sink_file_stats st;
	uint64_t n = 0, last, in_file;
	off_t good;

	tmp_path(path, sizeof(path));
	s = sink_file__open(path, false);
	assert_non_null(s);

	/* 100 KB may be written: the first 256 KiB buffer goes out only in part */
	fsize_limit(100000);
	while (n < 600) {
		int err = put(s, ++n, PAD);

		if (err) {
			assert_int_equal(err, -EFBIG);
			break;
		}
	}
	assert_true(n < 600);
	assert_int_equal(file_size(path), 0); /* the 100000 bytes written were cut off */
	/* records arriving now do not fit: refused and counted (no write is tried each time) */
	for (int i = 0; i < 10; i++)
		assert_int_equal(put(s, ++n, PAD), -EFBIG);
	stats(s, &st);
	assert_int_equal(st.written, 0);
	assert_int_equal(st.lost, 11);
	assert_true(st.held > 200);
	assert_int_equal(sink__flush(s), -EFBIG); /* an explicit flush tries again */
	assert_int_equal(file_size(path), 0);

	/* room again: the records held go out whole, and new ones after them */
	fsize_restore();
	assert_int_equal(sink__flush(s), 0);
	stats(s, &st);
	assert_int_equal(st.held, 0);
	assert_int_equal(check_file(path, &last), st.written);
	assert_int_equal(last, n - 11); /* the held ones: those before the refused */
	for (int i = 0; i < 100; i++)
		assert_int_equal(put(s, ++n, PAD), 0);
	assert_int_equal(sink__flush(s), 0);
	good = file_size(path);
	assert_int_equal(check_file(path, &last), st.written + 100);
	assert_int_equal(last, n);

	/* a failure with whole records in the file already: cut back to them, not to zero */
	fsize_limit((rlim_t)good + 5000);
	for (int i = 0; i < 50; i++)
		assert_int_equal(put(s, ++n, PAD), 0);
	assert_int_equal(sink__flush(s), -EFBIG);
	assert_int_equal(file_size(path), good);
	/* one record larger than the buffer: held the same way (the buffer grows for it) */
	assert_int_equal(put(s, ++n, 300000), -EFBIG); /* the buffer is full: refused */
	stats(s, &st);
	assert_int_equal(st.held, 50);
	fsize_restore();
	assert_int_equal(sink__flush(s), 0);
	fsize_limit((rlim_t)file_size(path) + 1000);
	assert_int_equal(put(s, ++n, 300000), 0); /* held: it cannot be written now */
	assert_int_equal(sink__flush(s), -EFBIG);
	stats(s, &st);
	assert_int_equal(st.held, 1);
	assert_int_equal(check_file(path, NULL), st.written);
	fsize_restore();
	assert_int_equal(sink__flush(s), 0);
	assert_int_equal(put(s, ++n, PAD), 0);

	/* close writes what is held; the lost records make it fail */
	stats(s, &st);
	assert_int_equal(st.lost, 12);
	assert_int_equal(sink__close(s), -EFBIG);
	in_file = check_file(path, &last);
	assert_int_equal(in_file, st.records - 12);
	assert_int_equal(last, n);
	unlink(path);
}

/* Close while writes still fail: the held records are lost and counted; the file has whole
 * records only. A sink that lost nothing closes with 0. */
static void test_close_failing(void **state)
{
	char path[64];
	struct sink *s;
	struct sink_file_stats st;

	tmp_path(path, sizeof(path));
	s = sink_file__open(path, false);
	assert_non_null(s);
	for (int i = 0; i < 300; i++)
		assert_int_equal(put(s, i + 1, PAD), 0); /* one buffer went out */
	stats(s, &st);
	assert_true(st.written > 0 && st.held > 0);
	fsize_limit((rlim_t)file_size(path) + 3000);
	assert_int_equal(sink__close(s), -EFBIG);
	fsize_restore();
	assert_int_equal(check_file(path, NULL), st.written);
	unlink(path);

	tmp_path(path, sizeof(path));
	s = sink_file__open(path, false);
	assert_non_null(s);
	for (int i = 0; i < 300; i++)
		assert_int_equal(put(s, i + 1, PAD), 0);
	assert_int_equal(sink__close(s), 0);
	assert_int_equal(check_file(path, NULL), 300);
	unlink(path);
}

/* Reopen (SIGHUP, log rotation) while the old file cannot take more: the records held go to
 * the new file, and both files are whole. */
static void test_reopen(void **state)
{
	char path[64], old[80];
	struct sink *s;
	struct sink_file_stats st;
	uint64_t n = 0, a, b, last_a, last_b;

	tmp_path(path, sizeof(path));
	snprintf(old, sizeof(old), "%s.1", path);
	s = sink_file__open(path, false);
	assert_non_null(s);
	for (int i = 0; i < 300; i++)
		assert_int_equal(put(s, ++n, PAD), 0);
	/* the limit stays: the old file is near it, the new one far below */
	fsize_limit((rlim_t)file_size(path) + 2000);
	assert_int_equal(sink__flush(s), -EFBIG);
	assert_int_equal(rename(path, old), 0);
	assert_int_equal(sink__reopen(s), -EFBIG); /* the old file still took nothing */
	assert_int_equal(put(s, ++n, PAD), 0);
	assert_int_equal(sink__flush(s), 0);
	fsize_restore();
	stats(s, &st);
	assert_int_equal(st.lost, 0);
	assert_int_equal(sink__close(s), 0);
	a = check_file(old, &last_a);
	b = check_file(path, &last_b);
	assert_int_equal(a + b, n);
	assert_int_equal(last_a, a); /* 1..a in the old file, the rest in the new one */
	assert_int_equal(last_b, n);
	unlink(old);
	unlink(path);
}

/* The live loop's tick: records that fill no buffer reach the file at the next tick (before,
 * a quiet sensor's records waited in memory until 256 KiB gathered or mailtap ended, and a
 * kill lost them); a tick with nothing held writes nothing. */
static void test_tick(void **state)
{
	char path[64];
	struct sink *s;
	struct sink_file_stats st;
	uint64_t n = 0, last;

	tmp_path(path, sizeof(path));
	s = sink_file__open(path, false);
	assert_non_null(s);
	for (int i = 0; i < 3; i++)
		assert_int_equal(put(s, ++n, 100), 0);
	assert_int_equal(file_size(path), 0); /* buffered */
	assert_int_equal(sink__tick(s), 0);
	assert_int_equal(check_file(path, &last), 3);
	assert_int_equal(last, 3);
	assert_int_equal(put(s, ++n, 100), 0);
	assert_int_equal(sink__tick(s), 0);
	assert_int_equal(sink__tick(s), 0);
	assert_int_equal(check_file(path, &last), 4);
	stats(s, &st);
	assert_int_equal(st.written, 4);
	assert_int_equal(st.held, 0);
	assert_int_equal(sink__close(s), 0);
	unlink(path);
}

/* append (live): a second run's records follow the first's (a restart keeps them); without
 * it the file starts empty (a capture read offline). */
static void test_append(void **state)
{
	char path[64];
	struct sink *s;
	uint64_t last;

	tmp_path(path, sizeof(path));
	s = sink_file__open(path, true);
	assert_non_null(s);
	for (uint64_t n = 1; n <= 3; n++)
		assert_int_equal(put(s, n, 100), 0);
	assert_int_equal(sink__close(s), 0);
	s = sink_file__open(path, true);
	assert_non_null(s);
	for (uint64_t n = 4; n <= 5; n++)
		assert_int_equal(put(s, n, 100), 0);
	assert_int_equal(sink__close(s), 0);
	assert_int_equal(check_file(path, &last), 5);
	assert_int_equal(last, 5);
	s = sink_file__open(path, false);
	assert_non_null(s);
	assert_int_equal(put(s, 6, 100), 0);
	assert_int_equal(sink__close(s), 0);
	assert_int_equal(check_file(path, &last), 1);
	assert_int_equal(last, 6);
	unlink(path);
}

/* Standard output ("-") becomes the write end of a non-blocking pipe (of pipe_size bytes,
 * 0: the default); returns the sink on it. *out keeps the old standard output for
 * stdout_back(). */
static struct sink *stdout_to_pipe(int pfd[2], int *out, int pipe_size)
{
	struct sink *s;

	*out = dup(STDOUT_FILENO);
	assert_true(*out >= 0);
	assert_int_equal(pipe(pfd), 0);
	if (pipe_size)
		assert_true(fcntl(pfd[1], F_SETPIPE_SZ, pipe_size) >= 0);
	assert_int_equal(fcntl(pfd[1], F_SETFL, O_NONBLOCK), 0);
	assert_int_equal(fcntl(pfd[0], F_SETFL, O_NONBLOCK), 0);
	fflush(stdout);
	assert_true(dup2(pfd[1], STDOUT_FILENO) >= 0); /* "-" writes to stdout */
	s = sink_file__open("-", false);
	assert_non_null(s);
	return s;
}

static void stdout_back(int pfd[2], int out)
{
	assert_true(dup2(out, STDOUT_FILENO) >= 0);
	close(out);
	close(pfd[1]);
}

/* A pipe cannot be cut back: after a partial write (a full non-blocking pipe) the rest of
 * the buffer follows what went out, so the stream stays whole. Without a reader (EPIPE)
 * everything held is lost at close, counted. */
static void test_pipe(void **state)
{
	int pfd[2], out;
	struct sink *s = stdout_to_pipe(pfd, &out, 0);
	struct sink_file_stats st;
	uint8_t *got = NULL;
	size_t got_len = 0, cap = 0;
	uint64_t n = 0, last;
	int err = 0;

	while (!err && n < 1000)
		err = put(s, ++n, PAD); /* the pipe holds 64 KiB: the first write is partial */
	if (!err)
		err = sink__flush(s);
	assert_int_equal(err, -EAGAIN);
	/* the reader catches up, the sink tries again, until everything is out */
	for (int tries = 0; tries < 1000; tries++) {
		ssize_t r;

		do {
			if (cap - got_len < 65536) {
				cap = cap * 2 + 65536;
				got = realloc(got, cap);
				assert_non_null(got);
			}
			r = read(pfd[0], got + got_len, cap - got_len);
			if (r > 0)
				got_len += (size_t)r;
		} while (r > 0);
		if (sink__flush(s) == 0) {
			stats(s, &st);
			if (!st.held)
				break;
		}
	}
	while (1) {
		ssize_t r = read(pfd[0], got + got_len, cap - got_len);

		if (r <= 0)
			break;
		got_len += (size_t)r;
	}
	stats(s, &st);
	assert_int_equal(st.held, 0);
	assert_int_equal(check_whole(got, got_len, &last), st.written);
	assert_true(st.written > 60); /* more than the pipe held at once */

	/* no reader any more: EPIPE, held records lost at close */
	close(pfd[0]);
	for (int i = 0; i < 10; i++)
		assert_int_equal(put(s, ++n, PAD), 0);
	assert_int_equal(sink__flush(s), -EPIPE);
	assert_int_equal(sink__close(s), -EPIPE);
	stdout_back(pfd, out);
	free(got);
}

/* A pipe whose reader stops after what the first, partial write put in it (64 KiB): the whole
 * records in those bytes are written, the one cut in two and the rest lost. Before, the
 * records written before a partial write were counted as held, and lost at close with the
 * rest: "200 of 200 records not written" when the reader had 63. */
static void test_pipe_reader_gone(void **state)
{
	int pfd[2], out;
	struct sink *s = stdout_to_pipe(pfd, &out, 65536);
	struct sink_file_stats st;
	uint8_t *got = NULL;
	size_t got_len = 0, cap = 0, rest;
	uint64_t n = 0, whole;

	for (int i = 0; i < 200; i++) /* about 205 KB: one buffer */
		assert_int_equal(put(s, ++n, PAD), 0);
	assert_int_equal(sink__flush(s), -EAGAIN); /* 64 KiB went */
	drain(pfd[0], &got, &got_len, &cap);
	assert_int_equal(got_len, 65536);
	whole = whole_prefix(got, got_len, &rest);
	assert_true(whole > 0 && rest > 0); /* the stream ends in part of a record */
	stats(s, &st);
	assert_int_equal(st.written, whole);
	assert_int_equal(st.held, 200 - whole);
	assert_int_equal(st.lost, 0);
	assert_int_equal(st.bytes, 65536 - rest);

	close(pfd[0]); /* the reader is gone: nothing more goes out */
	assert_int_equal(sink__flush(s), -EPIPE);
	stats(s, &st);
	assert_int_equal(st.written, whole);
	assert_int_equal(sink__close(s), -EPIPE);
	stdout_back(pfd, out);
	free(got);
}

/* The same, with close() saying how many it lost: the record cut in two and those after it. */
static void test_pipe_reader_gone_said(void **state)
{
	int pfd[2], out;
	struct sink *s = stdout_to_pipe(pfd, &out, 65536);
	uint8_t *got = NULL;
	size_t got_len = 0, cap = 0, rest;
	uint64_t n = 0, whole;
	unsigned long long lost, records;
	char msg[1024];

	for (int i = 0; i < 200; i++)
		assert_int_equal(put(s, ++n, PAD), 0);
	assert_int_equal(sink__flush(s), -EAGAIN);
	drain(pfd[0], &got, &got_len, &cap);
	whole = whole_prefix(got, got_len, &rest);
	close(pfd[0]);
	assert_int_equal(close_said(s, msg, sizeof(msg)), -EPIPE);
	stdout_back(pfd, out);
	free(got);
	assert_non_null(strstr(msg, "ends in part of a record"));
	said_lost(msg, &lost, &records);
	assert_int_equal(records, 200);
	assert_int_equal(lost, 200 - whole);
}

/* Reopen (SIGHUP) after a partial write to an output that cannot be cut back (a FIFO at the
 * path; its reader gone): the whole records before the cut are written, the record cut in
 * two is lost, and the records after it go to the new file. Records of 1024 bytes from n 128
 * (two-byte n) end exactly at 64 KiB: then nothing is cut in two and nothing lost. Before,
 * every record held was lost at the reopen. */
static void reopen_fifo(size_t pad, uint64_t n0, int at_boundary)
{
	char path[64], old[80];
	struct sink *s;
	struct sink_file_stats st;
	uint8_t *got = NULL;
	size_t got_len = 0, cap = 0, rest;
	uint64_t n = n0 - 1, whole, in_new, last;
	int rfd, wfd;

	tmp_path(path, sizeof(path));
	snprintf(old, sizeof(old), "%s.1", path);
	unlink(path);
	assert_int_equal(mkfifo(path, 0600), 0);
	rfd = open(path, O_RDONLY | O_NONBLOCK);
	assert_true(rfd >= 0);
	assert_true(fcntl(rfd, F_SETPIPE_SZ, 65536) >= 0);
	wfd = dup(rfd); /* the sink's descriptor will be the lowest free one: this */
	close(wfd);
	s = sink_file__open(path, false);
	assert_non_null(s);
	assert_int_equal(fcntl(wfd, F_SETFL, fcntl(wfd, F_GETFL) | O_NONBLOCK), 0);
	for (int i = 0; i < 100; i++)
		assert_int_equal(put(s, ++n, pad), 0);
	assert_int_equal(sink__flush(s), -EAGAIN);
	drain(rfd, &got, &got_len, &cap);
	assert_int_equal(got_len, 65536);
	whole = whole_prefix(got, got_len, &rest);
	assert_int_equal(rest == 0, at_boundary);
	stats(s, &st);
	assert_int_equal(st.written, whole);
	close(rfd);
	assert_int_equal(sink__flush(s), -EPIPE);

	assert_int_equal(rename(path, old), 0);
	assert_int_equal(sink__reopen(s), -EPIPE); /* the old output took nothing more */
	stats(s, &st);
	assert_int_equal(st.written, whole);
	assert_int_equal(st.lost, at_boundary ? 0 : 1);
	assert_int_equal(st.held, 100 - whole - st.lost);
	assert_int_equal(sink__flush(s), 0);
	in_new = check_file(path, &last);
	assert_int_equal(in_new, 100 - whole - st.lost); /* n rising, the last n: the rest */
	assert_int_equal(last, n);
	stats(s, &st);
	assert_int_equal(st.written, whole + in_new);
	assert_int_equal(st.held, 0);
	assert_int_equal(sink__close(s), at_boundary ? 0 : -EAGAIN); /* the first error */
	free(got);
	unlink(old);
	unlink(path);
}

static void test_reopen_partial(void **state)
{
	reopen_fifo(PAD, 1, 0);
}

static void test_reopen_at_boundary(void **state)
{
	reopen_fifo(988, 128, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_regular_file, teardown),
	    cmocka_unit_test_teardown(test_close_failing, teardown),
	    cmocka_unit_test_teardown(test_reopen, teardown),
	    cmocka_unit_test_teardown(test_tick, teardown),
	    cmocka_unit_test_teardown(test_append, teardown),
	    cmocka_unit_test_teardown(test_pipe, teardown),
	    cmocka_unit_test_teardown(test_pipe_reader_gone, teardown),
	    cmocka_unit_test_teardown(test_pipe_reader_gone_said, teardown),
	    cmocka_unit_test_teardown(test_reopen_partial, teardown),
	    cmocka_unit_test_teardown(test_reopen_at_boundary, teardown),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
