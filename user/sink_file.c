// SPDX-License-Identifier: BSD-3-Clause
/* File sink: Fluent Forward Message-mode entries [tag, EventTime, record] appended to a file
 * (or stdout). Records are buffered and written whole: a record never straddles two write
 * calls' worth of partial output that a reader could mistake for the end. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "mailtap/log.h"
#include "mailtap/sink.h"

#define FILE_BUF (256 * 1024)

struct sink_file {
	struct sink base;
	int fd;
	int own_fd;
	char *path;
	uint8_t *buf;
	size_t len;
	int err; /* sticky write error, reported once */
	uint64_t records, bytes, lost;
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

static int file_flush(struct sink *s)
{
	struct sink_file *f = (struct sink_file *)s;
	int err;

	if (!f->len)
		return f->err;
	err = sink__write_all(f->fd, f->buf, f->len);
	f->len = 0;
	if (err && !f->err) {
		f->err = err;
		pr_warn("writing records to %s: %s\n", f->path, strerror(-err));
	}
	return err ? err : f->err;
}

static int file_write(struct sink *s, const char *tag, size_t tag_len, uint64_t ts_ns,
		      const uint8_t *map, size_t len)
{
	struct sink_file *f = (struct sink_file *)s;
	uint8_t head[1 + 3 + 10];
	size_t hl = 0, need;
	int err;

	if (tag_len > 0xffff)
		return -EINVAL;
	head[hl++] = 0x93; /* fixarray of 3 */
	hl += sink__str_header(head + hl, tag_len);
	need = hl + tag_len + 10 + len;
	if (f->len + need > FILE_BUF) {
		err = file_flush(s);
		if (err) {
			f->lost++;
			return err;
		}
	}
	if (need > FILE_BUF) {
		/* Larger than the buffer: assemble it on the heap, write it in one go. */
		uint8_t *tmp = malloc(need);

		if (!tmp) {
			f->lost++;
			return -ENOMEM;
		}
		memcpy(tmp, head, hl);
		memcpy(tmp + hl, tag, tag_len);
		sink__event_time(tmp + hl + tag_len, ts_ns);
		memcpy(tmp + hl + tag_len + 10, map, len);
		err = sink__write_all(f->fd, tmp, need);
		free(tmp);
		if (err) {
			f->lost++;
			return err;
		}
	} else {
		uint8_t *p = f->buf + f->len;

		memcpy(p, head, hl);
		memcpy(p + hl, tag, tag_len);
		sink__event_time(p + hl + tag_len, ts_ns);
		memcpy(p + hl + tag_len + 10, map, len);
		f->len += need;
	}
	f->records++;
	f->bytes += need;
	return 0;
}

static int file_close(struct sink *s)
{
	struct sink_file *f = (struct sink_file *)s;
	int err = file_flush(s);

	if (f->own_fd && close(f->fd) < 0 && !err)
		err = -errno;
	free(f->path);
	free(f->buf);
	free(f);
	return err;
}

/* After logrotate moved the file away: write what is buffered to the old file, then
 * continue in a new file at the same path (appending, should it exist already). */
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
	close(f->fd);
	f->fd = fd;
	f->err = 0;
	return err;
}

static const struct sink_ops file_ops = {
	.name = "file",
	.write = file_write,
	.flush = file_flush,
	.close = file_close,
	.reopen = file_reopen,
};

struct sink *sink_file__open(const char *path)
{
	struct sink_file *f = calloc(1, sizeof(*f));
	int err;

	if (!f)
		return NULL;
	f->base.ops = &file_ops;
	f->buf = malloc(FILE_BUF);
	f->path = strdup(path);
	if (!f->buf || !f->path) {
		err = -ENOMEM;
		goto fail;
	}
	if (!strcmp(path, "-")) {
		f->fd = STDOUT_FILENO;
	} else {
		f->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (f->fd < 0) {
			err = -errno;
			pr_warn("cannot open output %s: %s\n", path, strerror(-err));
			goto fail;
		}
		f->own_fd = 1;
	}
	return &f->base;
fail:
	free(f->buf);
	free(f->path);
	free(f);
	errno = -err;
	return NULL;
}
