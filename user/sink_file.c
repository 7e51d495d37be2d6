// SPDX-License-Identifier: BSD-3-Clause
/* File sink: Fluent Forward Message-mode entries [tag, EventTime, record] appended to a file
 * (or stdout). Records are buffered and written whole: a record never straddles two write
 * calls' worth of partial output that a reader could mistake for the end.
 *
 * A failed write (disk full, EFBIG, EIO, a reader gone) must not leave half a record with
 * whole ones after it: mailtap-cat, fluent-bit and every other reader stop at the first
 * entry that does not parse. So the buffer (whole records only) is kept until it is written
 * out completely; a regular file is cut back to where the buffer began, a pipe or terminal,
 * which cannot take bytes back, gets the rest of the buffer on the next try. The whole records
 * that went out before such a partial write stopped are written (the buffer keeps the end of
 * each record to tell them), and leave the buffer. Until writes work again, the records that
 * do not fit any more are counted lost, and close() names them. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "mailtap/bits.h"
#include "mailtap/log.h"
#include "mailtap/sink.h"

#define FILE_BUF (256 * 1024)
/* While writes fail, a full buffer is tried again at most this often when records arrive
 * (flush, reopen and close always try): a disk that stays full must not cost a write and a
 * truncate per record. */
#define FILE_RETRY_NS 1000000000ULL
#define FILE_ENDS 1024 /* record ends first kept (about 250 B a record); grows as needed */

struct sink_file {
	struct sink base;
	int fd;
	int own_fd;
	int regular; /* a regular file: a partial write can be cut off again */
	char *path;
	uint8_t *buf;
	size_t len, cap;
	size_t done;	      /* bytes of buf already in the output (a partial write kept) */
	uint64_t buf_records; /* whole records in buf */
	size_t *ends;	      /* ends[i]: where record i of buf ends, for i < buf_records */
	size_t ends_cap;
	off_t off;	      /* file offset where buf[0] goes: the end of the last whole record */
	int err;	      /* first write error: close() returns it when records were lost */
	int failing;	      /* the last write's -errno, 0 if it worked (reported as it changes) */
	uint64_t retry_ns;    /* not before this (CLOCK_MONOTONIC) from file_write */
	uint64_t records, written, bytes, lost; /* as in struct sink_file_stats */
};

size_t sink__str_header(uint8_t out[5], size_t n)
{
	if (n < 32) {
		out[0] = (uint8_t)(0xa0 | n); /* fixstr */
		return 1;
	}
	if (n < 256) {
		out[0] = 0xd9; /* str8 */
		out[1] = (uint8_t)n;
		return 2;
	}
	if (n < 65536) {
		out[0] = 0xda; /* str16 */
		out[1] = (uint8_t)(n >> 8);
		out[2] = (uint8_t)n;
		return 3;
	}
	out[0] = 0xdb; /* str32 */
	out[1] = (uint8_t)(n >> 24);
	out[2] = (uint8_t)(n >> 16);
	out[3] = (uint8_t)(n >> 8);
	out[4] = (uint8_t)n;
	return 5;
}

void sink__event_time(uint8_t out[10], uint64_t ts_ns)
{
	uint32_t sec = (uint32_t)(ts_ns / 1000000000ULL);
	uint32_t nsec = (uint32_t)(ts_ns % 1000000000ULL);

	/* 0xFFFFFFFF/0xFFFFFFFE with 0 ns are fluent-bit's group markers: never emit them. */
	if (sec >= 0xfffffffeU && nsec == 0)
		nsec = 1;
	out[0] = 0xd7; /* fixext8 */
	out[1] = 0x00; /* ext type 0: EventTime */
	out[2] = (uint8_t)(sec >> 24);
	out[3] = (uint8_t)(sec >> 16);
	out[4] = (uint8_t)(sec >> 8);
	out[5] = (uint8_t)sec;
	out[6] = (uint8_t)(nsec >> 24);
	out[7] = (uint8_t)(nsec >> 16);
	out[8] = (uint8_t)(nsec >> 8);
	out[9] = (uint8_t)nsec;
}

int sink__write_all(int fd, const void *buf, size_t n)
{
	const uint8_t *p = buf;

	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Retries need no precision: the coarse clock. */
static uint64_t mono_ns(void)
{
	return mt_clock_ns(CLOCK_MONOTONIC_COARSE);
}

/* Where the next write lands, for a regular file (f->regular): with O_APPEND the end of the
 * file (such a descriptor's offset moves there only with a write), else the offset. */
static void file_locate(struct sink_file *f)
{
	struct stat st;
	int fl = fcntl(f->fd, F_GETFL);
	off_t o;

	f->regular = 0;
	if (fl < 0 || fstat(f->fd, &st) < 0 || !S_ISREG(st.st_mode))
		return;
	o = (fl & O_APPEND) ? st.st_size : lseek(f->fd, 0, SEEK_CUR);
	if (o < 0)
		return;
	f->off = o;
	f->regular = 1;
}

/* After a write failed part of the way: cuts a regular file back to the end of its last whole
 * record. Not when the file is not the length our writes made it (someone else truncated or
 * wrote it: the cut would leave a hole of zeros or remove their bytes); then, as for a pipe,
 * the rest of the buffer must follow what went out. */
static bool file_cut(struct sink_file *f)
{
	struct stat st;

	if (!f->regular || fstat(f->fd, &st) < 0 || st.st_size != f->off + (off_t)f->done)
		return false;
	return ftruncate(f->fd, f->off) == 0 && lseek(f->fd, f->off, SEEK_SET) == f->off;
}

/* The first k records (n bytes) leave the buffer; the rest move to its start. */
static void file_shift(struct sink_file *f, uint64_t k)
{
	size_t n = f->ends[k - 1];

	memmove(f->buf, f->buf + n, f->len - n);
	f->len -= n;
	f->done = f->done > n ? f->done - n : 0;
	f->buf_records -= k;
	for (uint64_t i = 0; i < f->buf_records; i++)
		f->ends[i] = f->ends[i + k] - n;
}

/* After a write stopped part of the way and the f->done bytes out stay (not cut back): the
 * whole records among them are in the output, written; they leave the buffer, which then
 * starts with the record that went out in part, if done ends inside one (done > 0 then). */
static void file_settle(struct sink_file *f)
{
	uint64_t k = 0;

	while (k < f->buf_records && f->ends[k] <= f->done)
		k++;
	if (!k)
		return;
	f->written += k;
	f->bytes += f->ends[k - 1];
	f->off += f->ends[k - 1]; /* off + done: still where the output ends */
	file_shift(f, k);
}

/* Writes what of the buffer is not out yet. 0, or -errno with the buffer kept for the next
 * try (whole, or with f->done bytes out if they could not be taken back). */
static int file_push(struct sink_file *f)
{
	int err = 0;

	while (f->done < f->len) {
		ssize_t w = write(f->fd, f->buf + f->done, f->len - f->done);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			err = w < 0 ? -errno : -EIO; /* 0 would loop for ever */
			break;
		}
		f->done += (size_t)w;
	}
	if (!err) {
		if (f->failing)
			pr_warn("writing records to %s again (%llu records lost so far)\n", f->path,
				(unsigned long long)f->lost);
		f->failing = 0;
		f->written += f->buf_records;
		f->bytes += f->len;
		f->len = f->done = 0;
		f->buf_records = 0;
		if (f->regular) { /* O_APPEND: the end; an outside truncation shows here too */
			off_t o = lseek(f->fd, 0, SEEK_CUR);

			if (o < 0)
				f->regular = 0;
			else
				f->off = o;
		}
		if (f->cap > FILE_BUF) { /* it held one large record */
			uint8_t *nb = realloc(f->buf, FILE_BUF);

			if (nb) {
				f->buf = nb;
				f->cap = FILE_BUF;
			}
		}
		return 0;
	}
	if (f->done && file_cut(f))
		f->done = 0;
	file_settle(f);
	if (!f->err)
		f->err = err;
	if (!f->failing)
		pr_warn("writing records to %s: %s (records are held and written when it works "
			"again, those that do not fit counted lost)\n", f->path, strerror(-err));
	f->failing = err;
	f->retry_ns = mono_ns() + FILE_RETRY_NS;
	return err;
}

static int file_flush(struct sink *s)
{
	struct sink_file *f = (struct sink_file *)s;

	return f->len ? file_push(f) : 0;
}

/* Once a second live: what the buffer holds goes out (unless a failed write waits for its
 * retry time). */
static int file_tick(struct sink *s)
{
	struct sink_file *f = (struct sink_file *)s;

	if (!f->len || (f->failing && mono_ns() < f->retry_ns))
		return 0;
	return file_push(f);
}

static int file_write(struct sink *s, const char *tag, size_t tag_len, uint64_t ts_ns,
		      const uint8_t *map, size_t len)
{
	struct sink_file *f = (struct sink_file *)s;
	uint8_t head[1 + 3 + 10], *p;
	size_t hl = 0, need;
	int err;

	if (tag_len > 0xffff)
		return -EINVAL;
	f->records++;
	head[hl++] = 0x93; /* fixarray of 3 */
	hl += sink__str_header(head + hl, tag_len);
	need = hl + tag_len + 10 + len;
	if (f->len && f->len + need > FILE_BUF) {
		err = f->failing && mono_ns() < f->retry_ns ? f->failing : file_push(f);
		if (err) {
			f->lost++;
			return err;
		}
	}
	if (f->buf_records == f->ends_cap) {
		size_t *ne = realloc(f->ends, 2 * f->ends_cap * sizeof(*ne));

		if (!ne) {
			f->lost++;
			if (!f->err)
				f->err = -ENOMEM;
			return -ENOMEM;
		}
		f->ends = ne;
		f->ends_cap *= 2;
	}
	if (f->len + need > f->cap) {
		/* Larger than the buffer (which is empty now): the buffer grows to hold it alone,
		 * and goes back to its size once it is written. */
		uint8_t *nb = realloc(f->buf, need);

		if (!nb) {
			f->lost++;
			if (!f->err)
				f->err = -ENOMEM;
			return -ENOMEM;
		}
		f->buf = nb;
		f->cap = need;
	}
	p = f->buf + f->len;
	memcpy(p, head, hl);
	memcpy(p + hl, tag, tag_len);
	sink__event_time(p + hl + tag_len, ts_ns);
	memcpy(p + hl + tag_len + 10, map, len);
	f->len += need;
	f->ends[f->buf_records++] = f->len;
	/* A large record goes out at once, as before; if that fails it is held like any other. */
	if (f->len > FILE_BUF && !(f->failing && mono_ns() < f->retry_ns))
		file_push(f);
	return 0;
}

/* The records held: lost when the output closes (the first may be out in part). */
static void file_drop(struct sink_file *f)
{
	f->lost += f->buf_records;
	f->buf_records = 0;
	f->len = f->done = 0;
}

/* The record out in part (the first held, f->done > 0: file_settle) when the output changes:
 * lost; the records after it stay held, for the new output. */
static void file_drop_partial(struct sink_file *f)
{
	f->lost++;
	file_shift(f, 1); /* done < ends[0]: it ends inside that record */
}

static int file_close(struct sink *s)
{
	struct sink_file *f = (struct sink_file *)s;
	int err = file_flush(s);

	if (err && f->done)
		pr_warn("%s ends in part of a record (%s cannot be cut back): readers stop there; "
			"it and the %llu records after it are lost\n",
			f->path, f->regular ? "it changed under us and" : "a pipe or device",
			(unsigned long long)f->buf_records - 1);
	if (err)
		file_drop(f);
	if (f->own_fd && close(f->fd) < 0 && !err)
		err = -errno;
	if (f->lost) {
		pr_warn("%s: %llu of %llu records not written (first error: %s)\n", f->path,
			(unsigned long long)f->lost, (unsigned long long)f->records,
			strerror(-f->err));
		if (!err)
			err = f->err;
	}
	free(f->path);
	free(f->buf);
	free(f->ends);
	free(f);
	return err;
}

/* After logrotate moved the file away: write what is buffered to the old file, then
 * continue in a new file at the same path (appending, should it exist already). What the old
 * file did not take goes to the new one; a record the old one took in part (and could not
 * take back) is lost, the records after it go to the new one. */
static int file_reopen(struct sink *s)
{
	struct sink_file *f = (struct sink_file *)s;
	int err = file_flush(s), fd;

	if (!f->own_fd)
		return err;
	fd = open(f->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0) {
		err = -errno;
		pr_warn("cannot reopen output %s: %s (still writing to the old file)\n", f->path,
			strerror(-err));
		return err;
	}
	if (f->done) {
		pr_warn("the old %s ends in part of a record: that record is lost, the %llu held "
			"after it go to the new file\n",
			f->path, (unsigned long long)f->buf_records - 1);
		file_drop_partial(f);
	}
	close(f->fd);
	f->fd = fd;
	file_locate(f);
	f->retry_ns = 0; /* a new file: try it with the next record */
	return err;
}

static const struct sink_ops file_ops = {
	.name = "file",
	.write = file_write,
	.flush = file_flush,
	.close = file_close,
	.reopen = file_reopen,
	.tick = file_tick,
};

struct sink *sink_file__open(const char *path, bool append)
{
	struct sink_file *f = calloc(1, sizeof(*f));
	int err;

	if (!f)
		return NULL;
	f->base.ops = &file_ops;
	f->buf = malloc(FILE_BUF);
	f->cap = FILE_BUF;
	f->ends = malloc(FILE_ENDS * sizeof(*f->ends));
	f->ends_cap = FILE_ENDS;
	f->path = strdup(path);
	if (!f->buf || !f->ends || !f->path) {
		err = -ENOMEM;
		goto fail;
	}
	if (!strcmp(path, "-")) {
		f->fd = STDOUT_FILENO;
	} else {
		f->fd = open(path, O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC) | O_CLOEXEC,
			     0644);
		if (f->fd < 0) {
			err = -errno;
			pr_warn("cannot open output %s: %s\n", path, strerror(-err));
			goto fail;
		}
		f->own_fd = 1;
	}
	file_locate(f);
	return &f->base;
fail:
	free(f->buf);
	free(f->ends);
	free(f->path);
	free(f);
	errno = -err;
	return NULL;
}

int sink_file__stats(struct sink *s, struct sink_file_stats *st)
{
	const struct sink_file *f = (const struct sink_file *)s;

	if (s->ops != &file_ops)
		return -EINVAL;
	st->records = f->records;
	st->written = f->written;
	st->bytes = f->bytes;
	st->lost = f->lost;
	st->held = f->buf_records;
	return 0;
}
