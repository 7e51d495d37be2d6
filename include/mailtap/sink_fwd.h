/* SPDX-License-Identifier: BSD-3-Clause */
/* Fluent Forward output (docs/forward.md): records batched per tag into Forward,
 * PackedForward or CompressedPackedForward messages, sent over TCP or a unix stream socket
 * to fluent-bit's in_forward, each message retired only when {"ack": chunk} comes back.
 *
 * Threading: write() only appends to an in-memory batch under a mutex (it never touches the
 * network; with the "block" policy it may wait for queue space). A sender thread owned by
 * the sink encodes and compresses batches, spools them, connects, sends, reads acks,
 * reconnects with exponential backoff and jitter and resends what was not acked. */
#ifndef MAILTAP_SINK_FWD_H
#define MAILTAP_SINK_FWD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sink;

enum fwd_mode {
	FWD_MODE_FORWARD = 0,	 /* [tag, [[time, rec], ...], opts] */
	FWD_MODE_PACKED = 1,	 /* [tag, bin(entries), opts] */
	FWD_MODE_COMPRESSED = 2, /* [tag, bin(gzip(entries)), {..., "compressed": "gzip"}] */
};

enum fwd_policy {
	FWD_DROP_OLDEST = 0, /* evict the oldest queued batch holding memory (the spool cap: the
			      * oldest, spooled or not); its records counted dropped */
	FWD_DROP_NEWEST = 1, /* refuse the record being written (counted dropped) */
	FWD_BLOCK = 2,	     /* write() waits for space, up to block_max_ms (0: no limit) */
};

struct fwd_opts {
	enum fwd_mode mode;	     /* FWD_MODE_PACKED */
	int gzip_level;		     /* 1 (zlib level for FWD_MODE_COMPRESSED) */
	uint32_t batch_records;	     /* 2000 records per message */
	size_t batch_bytes;	     /* 512 KiB of encoded entries per message */
	uint32_t flush_interval_ms;  /* 1000: a batch older than this is sent */
	size_t max_message_bytes;    /* 1000000: whole message cap (in_forward chunk 1024000) */
	size_t queue_max_bytes;	     /* 64 MiB of records held in memory (min 64 KiB) */
	enum fwd_policy policy;	     /* FWD_DROP_OLDEST */
	uint32_t block_max_ms;	     /* 0: FWD_BLOCK waits as long as it takes */
	uint32_t max_inflight;	     /* 8 messages sent and not yet acked */
	uint32_t ack_timeout_ms;     /* 30000: no ack for this long -> reconnect, resend */
	uint32_t connect_timeout_ms; /* 3000: connect + shared_key handshake */
	uint32_t backoff_min_ms;     /* 100: first reconnect delay */
	uint32_t backoff_max_ms;     /* 30000: delay cap (doubles each failure, jitter 50-100%) */
	uint32_t close_timeout_ms;   /* 10000: flush()/close() wait for acks this long */
	uint32_t max_tags;	     /* 32 batches (one per tag) being filled at once */
	const char *spool_dir;	     /* NULL: no on-disk spool */
	uint64_t spool_max_bytes;    /* 1 GiB of spooled messages */
	bool spool_fsync;	     /* true: fsync file and dir before sending */
	const char *shared_key;	     /* NULL: no HELO/PING/PONG handshake */
	const char *self_hostname;   /* NULL: gethostname() */
	const char *username;	     /* NULL: "" (in_forward security.users) */
	const char *password;	     /* NULL: "" */
	/* forward:tls: only; the three files are read by sink_fwd__open */
	const char *tls_ca;   /* PEM CA certificates the server's must chain to; NULL: system */
	const char *tls_name; /* name (or IP) the certificate must carry; NULL: the HOST */
	const char *tls_cert; /* NULL: no client certificate (PEM chain) */
	const char *tls_key;  /* its key (PEM); NULL: in tls_cert */
};

struct fwd_stats {
	uint64_t records_in;	     /* accepted by write() */
	uint64_t records_recovered;  /* found in the spool at open */
	uint64_t records_acked;	     /* in acked messages */
	uint64_t records_dropped;    /* by the full-queue policy (incl. block timeouts) */
	uint64_t records_oversize;   /* larger than one message, or half the queue: refused */
	uint64_t records_spool_lost; /* spool file unreadable/corrupt */
	uint64_t records_pending;    /* held now (in batches not acked) */
	uint64_t records_spooled;    /* written to the spool (durable) so far */
	uint64_t messages_sent;	     /* includes resends */
	uint64_t messages_resent;    /* sent again after a reconnect */
	uint64_t messages_acked;
	uint64_t messages_shed; /* in flight, message freed for queue room: ack awaited, no resend */
	uint64_t acks_unknown; /* ack for a chunk we do not hold (dropped batch) */
	uint64_t bytes_sent;
	uint64_t connects;	   /* successful connections */
	uint64_t connect_failures; /* connect or handshake failed */
	uint64_t disconnects;	   /* connection lost (peer closed, error, protocol) */
	uint64_t ack_timeouts; /* no ack, or a message not written further, for ack_timeout_ms */
	uint64_t handshake_failures;
	uint64_t tls_failures;		   /* TLS handshake failed (certificate, name, protocol) */
	uint64_t compress_fallbacks;	   /* gzip output too large: sent uncompressed */
	uint64_t spool_errors;		   /* spool write failures (batch kept in memory, retried),
					    * spool files not recovered at open */
	uint64_t mem_bytes;		   /* record bytes held in memory now */
	uint64_t mem_bytes_max;		   /* high-water mark of mem_bytes */
	uint64_t spool_bytes;		   /* bytes in the spool now */
	uint64_t batches_queued;	   /* sealed batches not yet acked */
	uint64_t records_unacked_at_close; /* left when close() gave up (still spooled if spool) */
	uint64_t records_lost_at_close;	   /* of those, not on disk: all without a spool, and
					    * with one those whose spool write kept failing */
};

/* Fills o with the defaults documented above. */
void fwd_opts__default(struct fwd_opts *o);
/* "drop-oldest" | "drop-newest" | "block" -> 0 or -EINVAL. */
int fwd_opts__parse_policy(const char *s, enum fwd_policy *p);
/* "forward" | "packed" | "gzip" (or "compressed") -> 0 or -EINVAL. */
int fwd_opts__parse_mode(const char *s, enum fwd_mode *m);

/* spec: "forward:unix:PATH", "forward:tcp:HOST:PORT" or "forward:tls:HOST:PORT" (HOST may
 * be "[v6]"); the
 * "forward:" prefix is optional. Strings in o are copied. Does not wait for the receiver:
 * connecting is the sender thread's job. With a spool, batches left by an earlier run are
 * queued first. NULL with errno set (EINVAL bad spec/options, ENOLCK spool in use, ...). */
struct sink *sink_fwd__open(const char *spec, const struct fwd_opts *o);
/* Async-signal-safe: call it from the SIGTERM/SIGINT handler. From then on the block
 * policy no longer waits (a write() blocked on a full queue returns -ENOBUFS within 100 ms,
 * the record counted dropped), so the capture loop can reach close(). close() still waits
 * up to close_timeout_ms for acks. A no-op on other sinks. */
void sink_fwd__interrupt(struct sink *s);
/* Counters of a sink made by sink_fwd__open (consistent snapshot). */
void sink_fwd__stats(struct sink *s, struct fwd_stats *st);
/* sink__close() that also hands back the final counters (final may be NULL). */
int sink_fwd__close(struct sink *s, struct fwd_stats *final);
/* Prints the counters on one line into buf. Returns snprintf's result. */
int fwd_stats__format(const struct fwd_stats *st, char *buf, size_t len);

/* Encodes one message from pre-encoded entries ([EventTime, map] each) into a malloc'd
 * buffer: [tag, entries per mode, {"chunk": chunk, "size": n[, "compressed": "gzip"]}].
 * Returns the length or -errno; *used_mode tells the mode actually used (gzip output that
 * does not fit max_bytes falls back to packed). Exposed for tests. */
long fwd__encode(enum fwd_mode mode, int gzip_level, const char *tag, size_t tag_len,
		 const uint8_t *entries, size_t len, uint32_t n, const char *chunk,
		 size_t max_bytes, uint8_t **out, enum fwd_mode *used_mode);

/* What a Forward server sends back: acks, and the handshake's HELO and PONG. */
enum fwd_msg_type { FWD_MSG_ACK = 1, FWD_MSG_HELO = 2, FWD_MSG_PONG = 3 };

#define FWD_CHUNK_MAX 64
#define FWD_FIELD_MAX 256

struct fwd_msg {
	enum fwd_msg_type type;
	/* ACK */
	char chunk[FWD_CHUNK_MAX + 1];
	size_t chunk_len;
	/* HELO: nonce and user-auth salt (str or bin, raw bytes) */
	uint8_t nonce[FWD_FIELD_MAX];
	size_t nonce_len;
	uint8_t auth[FWD_FIELD_MAX];
	size_t auth_len;
	/* PONG */
	bool auth_ok;
	char reason[FWD_FIELD_MAX + 1];
	char host[FWD_FIELD_MAX + 1];
	size_t host_len;
	char digest[FWD_FIELD_MAX + 1];
	size_t digest_len;
};

/* The reply reader: incremental, bounded (max_bytes per message), sticky errors. */
struct fwd_reader;
struct fwd_reader *fwd_reader__new(size_t max_bytes);
void fwd_reader__free(struct fwd_reader *r);
void fwd_reader__reset(struct fwd_reader *r);
/* Appends bytes. 0 or -errno (-EPROTO after a bad message, -ENOMEM). */
int fwd_reader__feed(struct fwd_reader *r, const uint8_t *buf, size_t len);
/* 1: *m filled; 0: needs more bytes; -EPROTO: not a Forward reply (sticky),
 * -EMSGSIZE: message larger than max_bytes (sticky). */
int fwd_reader__next(struct fwd_reader *r, struct fwd_msg *m);

#endif
