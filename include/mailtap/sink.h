/* SPDX-License-Identifier: BSD-3-Clause */
/* Sinks: where finished records go. A sink sees bytes only: the tag ("mailtap.smtp"), the
 * record's EventTime and the msgpack map of the record. */
#ifndef MAILTAP_SINK_H
#define MAILTAP_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sink;

struct sink_ops {
	const char *name;
	/* Takes one whole record. 0 or -errno. Must not keep pointers to tag or map. */
	int (*write)(struct sink *s, const char *tag, size_t tag_len, uint64_t ts_ns,
		     const uint8_t *map, size_t len);
	/* Pushes out what is buffered (file: write(2); forward: send and wait for acks up to
	 * the sink's own timeout). 0 or -errno. */
	int (*flush)(struct sink *s);
	/* Flushes and frees. Returns the flush result. */
	int (*close)(struct sink *s);
	/* Optional: reopen the output (SIGHUP, after log rotation). NULL = nothing to do. */
	int (*reopen)(struct sink *s);
	/* Optional: about once a second while capturing live: push out what has waited (the
	 * file sink writes its buffer, so that a quiet sensor's records reach the file within
	 * a second and a kill loses no more), never waiting for a peer. NULL = nothing to do
	 * (the Forward sink sends on its own interval). */
	int (*tick)(struct sink *s);
};

struct sink {
	const struct sink_ops *ops;
};

static inline int sink__write(struct sink *s, const char *tag, size_t tag_len, uint64_t ts_ns,
			      const uint8_t *map, size_t len)
{
	return s->ops->write(s, tag, tag_len, ts_ns, map, len);
}
static inline int sink__flush(struct sink *s)
{
	return s->ops->flush(s);
}
static inline int sink__close(struct sink *s)
{
	return s->ops->close(s);
}
static inline int sink__reopen(struct sink *s)
{
	return s->ops->reopen ? s->ops->reopen(s) : 0;
}
static inline int sink__tick(struct sink *s)
{
	return s->ops->tick ? s->ops->tick(s) : 0;
}

/* Fluent Forward Message-mode entries [tag, EventTime, map] into a file, or stdout for "-".
 * append: records go after what the file holds (a live sensor restarted by its service
 * manager keeps the records of the run before); else the file starts empty. NULL with errno
 * set on failure.
 * Writes are buffered (256 KiB; written at the latest at the next tick, once a second live),
 * and the output only ever gets whole records: when a write
 * fails, a regular file is cut back to the end of the last whole record and the buffer is
 * kept and tried again (with the next flush, reopen or close, or a full buffer, at most once a
 * second); a pipe or device, which cannot be cut, gets the rest of the buffer then (the whole
 * records that went out before the write stopped are written, the record it cut in two is
 * held until the rest of it follows). Records that arrive while the buffer is full and cannot
 * be written are refused and counted lost, as are those still held when the sink closes with
 * writes failing; a reopen with part of a record out loses that record, and the records held
 * after it go to the new file. close() reports the lost ones on stderr and returns the first
 * error when there are any. */
struct sink *sink_file__open(const char *path, bool append);

/* A file sink's counters, exact at all times: records == written + lost + held. */
struct sink_file_stats {
	uint64_t records; /* given to write() */
	uint64_t written; /* in the output, whole (the output took them: a pipe's reader that
			   * exits drops what it had not read yet, which no writer sees) */
	uint64_t bytes;	  /* the written records' bytes */
	uint64_t lost;	  /* refused while writes failed, out of memory, dropped held at close,
			   * or out in part and never completed */
	uint64_t held;	  /* in the buffer, not (whole) in the output yet; the first may be out
			   * in part on a pipe or device */
};
/* 0, or -EINVAL when s is not a file sink. */
int sink_file__stats(struct sink *s, struct sink_file_stats *st);

/* Writes EventTime (ext type 0: be32 seconds, be32 nanoseconds) to out[10] as fixext8. */
void sink__event_time(uint8_t out[10], uint64_t ts_ns);
/* Writes the msgpack header of a string of N bytes (n < 2^32); returns its length, 1..5. */
size_t sink__str_header(uint8_t out[5], size_t n);
/* write(2) until all N bytes are written (retries EINTR and short writes); negative errno. */
int sink__write_all(int fd, const void *buf, size_t n);

#endif
