// SPDX-License-Identifier: BSD-3-Clause
/* Fluent Forward sink: one encoder, three connectors (TCP, TLS over TCP, unix SOCK_STREAM).
 *
 * write() (the packet path) appends [EventTime, map] entries to a per-tag batch under a
 * mutex and seals the batch when it is full; it never touches the network. A sender thread
 * owned by the sink seals batches older than the flush interval, encodes each sealed batch
 * into one Forward message (chunk id, size, optional gzip), writes it to the spool when one
 * is configured (file + fsync, rename, fsync dir), then sends it and keeps it until
 * {"ack": chunk} comes back. A lost connection puts every unacked message back in the queue
 * (same bytes, same chunk id) and reconnects with exponential backoff and jitter.
 *
 * Queue states, in order: open (being filled, per tag) -> RAW (sealed) -> READY (encoded,
 * maybe spooled) -> INFLIGHT (sent, waiting for its ack) -> freed (acked or dropped). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <inttypes.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <msgpack.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <zlib.h>

#include "mailtap/bits.h"
#include "mailtap/ids.h"
#include "mailtap/log.h"
#include "mailtap/sink.h"
#include "mailtap/sink_fwd.h"

#define FWD_TAG_MAX 1024     /* longest tag accepted by write() */
#define FWD_MSG_OVERHEAD 160 /* array, tag header, entries header, options map */
#define FWD_RAW_INIT (64 * 1024)
#define FWD_REPLY_MAX 4096 /* largest reply (ack, HELO, PONG) we accept */
#define FWD_PING_MAX 1023  /* in_forward reads the PING into 1023 bytes (check_ping) */
#define FWD_POLL_MAX_MS 1000
#define FWD_BLOCK_SLICE_MS 100 /* a blocked write() checks for sink_fwd__interrupt() */
/* Spool files are read back up to this size whatever max_message_bytes is now: a restart
 * with a smaller --forward-max-message must not take the messages of the earlier run for
 * corrupt. in_forward's buffer_max_size (6144000) is above the CLI's largest (6000000). */
#define FWD_SPOOL_FILE_MAX 6144000
#define FWD_SPOOL_RETRY_MS 1000 /* a batch whose spool write failed is written again */
#define FWD_DRAIN_MAX 65536	/* bytes read from a lost connection for its last acks */
/* While flush() or close() waits for acks, a reconnect waits at most this long (whatever the
 * backoff has grown to), so that a receiver back during the wait still gets the records. */
#define FWD_DRAIN_RETRY_MS 1000
/* Connections lost in a row, without an ack, after the same oldest message was sent (whole
 * or in part): then the receiver is taken to refuse that message, and we say so once. */
#define FWD_REFUSED_WARN 3

enum bstate { B_OPEN, B_RAW, B_READY, B_INFLIGHT };

struct batch {
	struct batch *prev, *next; /* queue links (not for B_OPEN) */
	enum bstate st;
	int busy;   /* the sender works on it unlocked: nobody else frees it */
	int resend; /* was in flight when a connection was lost */
	int shed;   /* in flight, its message freed for room (shed()): only its ack is awaited */
	uint32_t refused; /* connections lost without an ack with this the oldest message sent */
	char *tag;
	size_t tag_len;
	uint8_t *raw; /* entries (B_OPEN, B_RAW) */
	size_t raw_len, raw_cap;
	uint32_t records;
	uint8_t *msg; /* encoded message; NULL when only in the spool */
	size_t msg_len;
	uint64_t seq; /* spool file name */
	size_t mem;   /* bytes of this batch counted in mem_bytes */
	size_t disk;  /* bytes of this batch counted in spool_bytes */
	char chunk[FWD_CHUNK_MAX + 1];
	uint64_t t_first; /* monotonic ns of the first record (B_OPEN) */
	uint64_t t_sent;  /* monotonic ns when fully written (B_INFLIGHT) */
};

struct fwd {
	struct sink base;
	struct fwd_opts o;
	char *spec;
	int is_unix;
	int is_tls;	   /* forward:tls: (TCP) */
	char *path;	   /* unix */
	char *host, *port; /* tcp */
	SSL_CTX *tls;	   /* is_tls: CA, client certificate, TLS 1.2 or later */
	char *tls_name;	   /* the name the server's certificate must carry (NULL: host) */
	char *spool_dir;
	char *shared_key, *self_hostname, *username, *password;
	size_t entries_cap;    /* largest entries payload of one message */
	size_t batch_max;      /* largest batch (framing included) one record may need */
	size_t spool_read_max; /* largest spool file read back */
	int spool_lock_fd;

	pthread_mutex_t mu;
	pthread_cond_t space;	/* queue space freed */
	pthread_cond_t drained; /* a batch retired */
	pthread_t thr;
	int thr_started;
	int efd; /* wakes the sender */
	int wake_pending;
	int stop;
	int interrupted; /* sink_fwd__interrupt(): no more blocking writes */
	int flush_all;	 /* seal every open batch now */
	int draining;	 /* flush()/close() callers waiting for acks (FWD_DRAIN_RETRY_MS) */

	struct batch **open; /* max_tags */
	uint32_t n_open;
	struct batch *head, *tail; /* sealed batches in order */
	uint32_t n_inflight;
	uint64_t next_seq;

	/* sender-thread state */
	int fd;
	SSL *ssl;		/* with is_tls, on fd */
	int tls_read_wants_out; /* SSL_read asked for POLLOUT (renegotiation) */
	int tls_read_more;	/* the read loop stopped with the reader nearly full: read on */
	int conn_acked;		/* an ack came on this connection */
	int tls_write_wants_in; /* SSL_write asked for POLLIN: retried when input comes */
	struct batch *cur;
	size_t cur_off;
	uint64_t cur_moved;	 /* monotonic ns when cur was taken or last written further */
	uint64_t spool_retry_at; /* monotonic ns of the next spool retry; 0: none waits */
	struct fwd_reader *rd;
	uint64_t next_connect;
	uint32_t backoff_ms;
	uint64_t rng;
	z_stream z;
	int z_ok;

	struct fwd_stats st;
};

static const struct sink_ops fwd_ops;

/* ---- small helpers ---- */

static uint64_t mono_ns(void)
{
	return mt_clock_ns(CLOCK_MONOTONIC);
}

static void abs_deadline(struct timespec *ts, uint32_t ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

static size_t put_be(uint8_t *p, uint64_t v, int n)
{
	for (int i = n - 1; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
	return (size_t)n;
}

static size_t put_bin_hdr(uint8_t *p, size_t n)
{
	if (n < 256) {
		p[0] = 0xc4;
		p[1] = (uint8_t)n;
		return 2;
	}
	if (n < 65536) {
		p[0] = 0xc5;
		return 1 + put_be(p + 1, n, 2);
	}
	p[0] = 0xc6;
	return 1 + put_be(p + 1, n, 4);
}

static size_t put_arr_hdr(uint8_t *p, size_t n)
{
	if (n < 16) {
		p[0] = (uint8_t)(0x90 | n);
		return 1;
	}
	if (n < 65536) {
		p[0] = 0xdc;
		return 1 + put_be(p + 1, n, 2);
	}
	p[0] = 0xdd;
	return 1 + put_be(p + 1, n, 4);
}

static size_t put_uint(uint8_t *p, uint64_t v)
{
	if (v < 128) {
		p[0] = (uint8_t)v;
		return 1;
	}
	if (v < 65536) {
		p[0] = 0xcd;
		return 1 + put_be(p + 1, v, 2);
	}
	p[0] = 0xce;
	return 1 + put_be(p + 1, v, 4);
}

static size_t put_str(uint8_t *p, const char *s, size_t n)
{
	size_t h = sink__str_header(p, n);

	memcpy(p + h, s, n);
	return h + n;
}

static void make_chunk_id(uint64_t *rng, char out[25])
{
	uint8_t raw[16];

	if (getrandom(raw, sizeof(raw), GRND_NONBLOCK) != sizeof(raw)) {
		uint64_t a = mt_splitmix64(rng), b = mt_splitmix64(rng);

		memcpy(raw, &a, 8);
		memcpy(raw + 8, &b, 8);
	}
	mt_ids__b64_16(raw, out);
}

/* ---- options ---- */

void fwd_opts__default(struct fwd_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->mode = FWD_MODE_PACKED;
	o->gzip_level = 1;
	o->batch_records = 2000;
	o->batch_bytes = 512 * 1024;
	o->flush_interval_ms = 1000;
	o->max_message_bytes = 1000000;
	o->queue_max_bytes = 64 * 1024 * 1024;
	o->policy = FWD_DROP_OLDEST;
	o->block_max_ms = 0;
	o->max_inflight = 8;
	o->ack_timeout_ms = 30000;
	o->connect_timeout_ms = 3000;
	o->backoff_min_ms = 100;
	o->backoff_max_ms = 30000;
	o->close_timeout_ms = 10000;
	o->max_tags = 32;
	o->spool_dir = NULL;
	o->spool_max_bytes = 1024ULL * 1024 * 1024;
	o->spool_fsync = true;
}

int fwd_opts__parse_policy(const char *s, enum fwd_policy *p)
{
	if (!strcmp(s, "drop-oldest"))
		*p = FWD_DROP_OLDEST;
	else if (!strcmp(s, "drop-newest"))
		*p = FWD_DROP_NEWEST;
	else if (!strcmp(s, "block"))
		*p = FWD_BLOCK;
	else
		return -EINVAL;
	return 0;
}

int fwd_opts__parse_mode(const char *s, enum fwd_mode *m)
{
	if (!strcmp(s, "forward"))
		*m = FWD_MODE_FORWARD;
	else if (!strcmp(s, "packed"))
		*m = FWD_MODE_PACKED;
	else if (!strcmp(s, "gzip") || !strcmp(s, "compressed"))
		*m = FWD_MODE_COMPRESSED;
	else
		return -EINVAL;
	return 0;
}

int fwd_stats__format(const struct fwd_stats *st, char *buf, size_t len)
{
	return snprintf(
	    buf, len,
	    "in=%" PRIu64 " recovered=%" PRIu64 " acked=%" PRIu64 " dropped=%" PRIu64
	    " oversize=%" PRIu64 " spool_lost=%" PRIu64 " pending=%" PRIu64 " spooled=%" PRIu64
	    " unacked_at_close=%" PRIu64 " msgs_sent=%" PRIu64 " msgs_resent=%" PRIu64
	    " msgs_acked=%" PRIu64 " msgs_shed=%" PRIu64 " acks_unknown=%" PRIu64
	    " bytes_sent=%" PRIu64
	    " connects=%" PRIu64 " connect_failures=%" PRIu64 " disconnects=%" PRIu64
	    " ack_timeouts=%" PRIu64 " handshake_failures=%" PRIu64 " tls_failures=%" PRIu64
	    " compress_fallbacks=%" PRIu64 " spool_errors=%" PRIu64 " mem_bytes=%" PRIu64
	    " mem_bytes_max=%" PRIu64 " spool_bytes=%" PRIu64 " batches_queued=%" PRIu64
	    " lost_at_close=%" PRIu64,
	    st->records_in, st->records_recovered, st->records_acked, st->records_dropped,
	    st->records_oversize, st->records_spool_lost, st->records_pending, st->records_spooled,
	    st->records_unacked_at_close, st->messages_sent, st->messages_resent,
	    st->messages_acked, st->messages_shed, st->acks_unknown, st->bytes_sent, st->connects,
	    st->connect_failures, st->disconnects, st->ack_timeouts, st->handshake_failures,
	    st->tls_failures, st->compress_fallbacks, st->spool_errors, st->mem_bytes,
	    st->mem_bytes_max, st->spool_bytes, st->batches_queued, st->records_lost_at_close);
}

/* ---- encoder ---- */

static long gzip_into(z_stream *z, int level, const uint8_t *in, size_t len, uint8_t *out,
		      size_t cap)
{
	z_stream local;
	int rc;
	long n;

	if (!z) {
		memset(&local, 0, sizeof(local));
		if (deflateInit2(&local, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
			return -ENOMEM;
		z = &local;
	} else if (deflateReset(z) != Z_OK) {
		return -EINVAL;
	}
	z->next_in = (Bytef *)in;
	z->avail_in = (uInt)len;
	z->next_out = out;
	z->avail_out = (uInt)cap;
	rc = deflate(z, Z_FINISH);
	n = rc == Z_STREAM_END ? (long)(cap - z->avail_out) : -ENOSPC;
	if (z == &local)
		deflateEnd(&local);
	return n;
}

static long encode(z_stream *z, enum fwd_mode mode, int level, const char *tag, size_t tag_len,
		   const uint8_t *entries, size_t len, uint32_t n, const char *chunk,
		   size_t max_bytes, uint8_t **out, enum fwd_mode *used)
{
	size_t chunk_len = strlen(chunk);
	size_t cap, pos = 0;
	uint8_t *m;

	if (tag_len > FWD_TAG_MAX || chunk_len > FWD_CHUNK_MAX || n == 0)
		return -EINVAL;
	cap = FWD_MSG_OVERHEAD + tag_len + len + (mode == FWD_MODE_COMPRESSED ? len / 100 + 64 : 0);
	m = malloc(cap);
	if (!m)
		return -ENOMEM;
	m[pos++] = 0x93;
	pos += put_str(m + pos, tag, tag_len);
	if (mode == FWD_MODE_COMPRESSED) {
		/* gzip straight after a bin32 header, then shrink the header if it can be. */
		size_t hdr = pos;
		long zl = gzip_into(z, level, entries, len, m + hdr + 5, cap - hdr - 5 - 64);

		if (zl >= 0 && (size_t)zl < len) {
			uint8_t h[5];
			size_t hl = put_bin_hdr(h, (size_t)zl);

			memmove(m + hdr + hl, m + hdr + 5, (size_t)zl);
			memcpy(m + hdr, h, hl);
			pos = hdr + hl + (size_t)zl;
		} else {
			mode = FWD_MODE_PACKED;
		}
	}
	if (mode == FWD_MODE_PACKED) {
		pos += put_bin_hdr(m + pos, len);
		memcpy(m + pos, entries, len);
		pos += len;
	} else if (mode == FWD_MODE_FORWARD) {
		pos += put_arr_hdr(m + pos, n);
		memcpy(m + pos, entries, len);
		pos += len;
	}
	m[pos++] = mode == FWD_MODE_COMPRESSED ? 0x83 : 0x82;
	pos += put_str(m + pos, "chunk", 5);
	pos += put_str(m + pos, chunk, chunk_len);
	pos += put_str(m + pos, "size", 4);
	pos += put_uint(m + pos, n);
	if (mode == FWD_MODE_COMPRESSED) {
		pos += put_str(m + pos, "compressed", 10);
		pos += put_str(m + pos, "gzip", 4);
	}
	if (pos > max_bytes) {
		free(m);
		return -EMSGSIZE;
	}
	*out = m;
	if (used)
		*used = mode;
	return (long)pos;
}

long fwd__encode(enum fwd_mode mode, int gzip_level, const char *tag, size_t tag_len,
		 const uint8_t *entries, size_t len, uint32_t n, const char *chunk,
		 size_t max_bytes, uint8_t **out, enum fwd_mode *used_mode)
{
	long r = encode(NULL, mode, gzip_level, tag, tag_len, entries, len, n, chunk, max_bytes,
			out, used_mode);

	if (r == -EMSGSIZE && mode == FWD_MODE_COMPRESSED)
		r = encode(NULL, FWD_MODE_PACKED, gzip_level, tag, tag_len, entries, len, n, chunk,
			   max_bytes, out, used_mode);
	return r;
}

/* ---- reply reader ---- */

/* The reader does not trust the peer: msgpack-c's streaming unpacker allocates containers
 * by their announced size (a 5-byte map32 header can ask for gigabytes), so complete
 * messages are first delimited by mp_len() below, which allocates nothing and costs one
 * pass over the bytes, and only a complete message of at most max bytes (whose containers
 * therefore hold at most max elements) is handed to msgpack_unpack_next(). */
#define FWD_MP_DEPTH 8

struct fwd_reader {
	uint8_t *buf;
	size_t off, used, cap;
	size_t max;
	msgpack_unpacked res;
	int err;
};

/* Length of the msgpack object at p[0..len): >0 complete, 0 incomplete, -1 invalid or
 * nested deeper than FWD_MP_DEPTH. */
static long mp_len(const uint8_t *p, size_t len)
{
	uint64_t left[FWD_MP_DEPTH + 1];
	size_t off = 0;
	int sp = 0;

	left[0] = 1;
	while (sp >= 0) {
		uint64_t skip = 0, kids = 0, n = 0;
		int lenb = 0, ext = 0, cont = 0;
		uint8_t b;

		if (left[sp] == 0) {
			sp--;
			continue;
		}
		left[sp]--;
		if (off >= len)
			return 0;
		b = p[off++];
		if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3) {
			/* fixint, nil, bool */
		} else if ((b & 0xf0) == 0x80) {
			kids = 2ULL * (b & 0x0f);
		} else if ((b & 0xf0) == 0x90) {
			kids = b & 0x0f;
		} else if ((b & 0xe0) == 0xa0) {
			skip = b & 0x1f;
		} else {
			switch (b) {
			case 0xc4:
			case 0xd9:
				lenb = 1;
				break; /* bin8, str8 */
			case 0xc5:
			case 0xda:
				lenb = 2;
				break; /* bin16, str16 */
			case 0xc6:
			case 0xdb:
				lenb = 4;
				break; /* bin32, str32 */
			case 0xc7:
				lenb = 1;
				ext = 1;
				break; /* ext8 */
			case 0xc8:
				lenb = 2;
				ext = 1;
				break; /* ext16 */
			case 0xc9:
				lenb = 4;
				ext = 1;
				break; /* ext32 */
			case 0xca:
			case 0xce:
			case 0xd2:
				skip = 4;
				break;
			case 0xcb:
			case 0xcf:
			case 0xd3:
				skip = 8;
				break;
			case 0xcc:
			case 0xd0:
				skip = 1;
				break;
			case 0xcd:
			case 0xd1:
				skip = 2;
				break;
			case 0xd4:
				skip = 2;
				break; /* fixext1 */
			case 0xd5:
				skip = 3;
				break;
			case 0xd6:
				skip = 5;
				break;
			case 0xd7:
				skip = 9;
				break;
			case 0xd8:
				skip = 17;
				break;
			case 0xdc:
				lenb = 2;
				cont = 1;
				break; /* array16 */
			case 0xdd:
				lenb = 4;
				cont = 1;
				break; /* array32 */
			case 0xde:
				lenb = 2;
				cont = 2;
				break; /* map16 */
			case 0xdf:
				lenb = 4;
				cont = 2;
				break; /* map32 */
			default:
				return -1; /* 0xc1 */
			}
		}
		if (lenb) {
			if ((size_t)lenb > len - off)
				return 0;
			for (int i = 0; i < lenb; i++)
				n = (n << 8) | p[off++];
			if (cont)
				kids = n * (uint64_t)cont;
			else
				skip = n + (uint64_t)ext;
		}
		if (skip > len - off)
			return 0;
		off += skip;
		if (kids) {
			if (sp == FWD_MP_DEPTH)
				return -1;
			left[++sp] = kids;
		}
	}
	return (long)off;
}

struct fwd_reader *fwd_reader__new(size_t max_bytes)
{
	struct fwd_reader *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->max = max_bytes ? max_bytes : FWD_REPLY_MAX;
	r->cap = 2 * r->max + 4096;
	r->buf = malloc(r->cap);
	if (!r->buf) {
		free(r);
		errno = ENOMEM;
		return NULL;
	}
	msgpack_unpacked_init(&r->res);
	return r;
}

void fwd_reader__free(struct fwd_reader *r)
{
	if (!r)
		return;
	msgpack_unpacked_destroy(&r->res);
	free(r->buf);
	free(r);
}

void fwd_reader__reset(struct fwd_reader *r)
{
	r->off = r->used = 0;
	r->err = 0;
}

int fwd_reader__feed(struct fwd_reader *r, const uint8_t *buf, size_t len)
{
	if (r->err)
		return r->err;
	if (r->off) {
		memmove(r->buf, r->buf + r->off, r->used - r->off);
		r->used -= r->off;
		r->off = 0;
	}
	if (len > r->cap - r->used) {
		r->err = -EMSGSIZE;
		return r->err;
	}
	memcpy(r->buf + r->used, buf, len);
	r->used += len;
	return 0;
}

/* Bytes the reader takes before its next feed fails. */
static size_t reader_room(const struct fwd_reader *r)
{
	return r->err ? 0 : r->cap - (r->used - r->off);
}

static int obj_is(const msgpack_object *o, const char *s)
{
	size_t n = strlen(s);

	return o->type == MSGPACK_OBJECT_STR && o->via.str.size == n &&
	       !memcmp(o->via.str.ptr, s, n);
}

/* str or bin contents into out[cap] (raw). -EPROTO if neither or too long. */
static int obj_bytes(const msgpack_object *o, void *out, size_t cap, size_t *len, int nul)
{
	const char *p;
	size_t n;

	if (o->type == MSGPACK_OBJECT_STR) {
		p = o->via.str.ptr;
		n = o->via.str.size;
	} else if (o->type == MSGPACK_OBJECT_BIN) {
		p = o->via.bin.ptr;
		n = o->via.bin.size;
	} else {
		return -EPROTO;
	}
	if (n + (nul ? 1 : 0) > cap)
		return -EPROTO;
	if (n)
		memcpy(out, p, n);
	if (nul)
		((char *)out)[n] = '\0';
	if (len)
		*len = n;
	return 0;
}

static int interpret(const msgpack_object *o, struct fwd_msg *m)
{
	memset(m, 0, sizeof(*m));
	if (o->type == MSGPACK_OBJECT_MAP) {
		const msgpack_object_kv *kv = o->via.map.ptr;

		/* in_forward: {"ack": <chunk as sent>}; we only send str chunks */
		if (o->via.map.size != 1 || !obj_is(&kv[0].key, "ack") ||
		    kv[0].val.type != MSGPACK_OBJECT_STR)
			return -EPROTO;
		m->type = FWD_MSG_ACK;
		return obj_bytes(&kv[0].val, m->chunk, sizeof(m->chunk), &m->chunk_len, 1);
	}
	if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size < 2)
		return -EPROTO;
	const msgpack_object *a = o->via.array.ptr;

	if (obj_is(&a[0], "HELO")) {
		/* ["HELO", {"nonce": str|bin, "auth": str|bin, "keepalive": bool}] */
		if (a[1].type != MSGPACK_OBJECT_MAP)
			return -EPROTO;
		m->type = FWD_MSG_HELO;
		for (uint32_t i = 0; i < a[1].via.map.size; i++) {
			const msgpack_object_kv *kv = &a[1].via.map.ptr[i];

			if (obj_is(&kv->key, "nonce")) {
				if (obj_bytes(&kv->val, m->nonce, sizeof(m->nonce), &m->nonce_len,
					      0))
					return -EPROTO;
			} else if (obj_is(&kv->key, "auth")) {
				if (obj_bytes(&kv->val, m->auth, sizeof(m->auth), &m->auth_len, 0))
					return -EPROTO;
			}
		}
		return m->nonce_len ? 0 : -EPROTO;
	}
	if (obj_is(&a[0], "PONG")) {
		/* ["PONG", ok, reason, hostname, digest] */
		if (o->via.array.size != 5 || a[1].type != MSGPACK_OBJECT_BOOLEAN)
			return -EPROTO;
		m->type = FWD_MSG_PONG;
		m->auth_ok = a[1].via.boolean;
		if (obj_bytes(&a[2], m->reason, sizeof(m->reason), NULL, 1) ||
		    obj_bytes(&a[3], m->host, sizeof(m->host), &m->host_len, 1) ||
		    obj_bytes(&a[4], m->digest, sizeof(m->digest), &m->digest_len, 1))
			return -EPROTO;
		return 0;
	}
	return -EPROTO;
}

int fwd_reader__next(struct fwd_reader *r, struct fwd_msg *m)
{
	size_t avail, off = 0;
	long l;
	int rc;

	if (r->err)
		return r->err;
	avail = r->used - r->off;
	if (!avail)
		return 0;
	l = mp_len(r->buf + r->off, avail);
	if (l < 0) {
		r->err = -EPROTO;
		return r->err;
	}
	if (l == 0 || (size_t)l > r->max) {
		if (l == 0 && avail <= r->max)
			return 0;
		r->err = -EMSGSIZE;
		return r->err;
	}
	if (msgpack_unpack_next(&r->res, (const char *)r->buf + r->off, (size_t)l, &off) !=
		MSGPACK_UNPACK_SUCCESS ||
	    off != (size_t)l) {
		r->err = -EPROTO;
		return r->err;
	}
	r->off += (size_t)l;
	rc = interpret(&r->res.data, m);
	if (rc) {
		r->err = rc;
		return rc;
	}
	return 1;
}

/* ---- queue (mutex held) ---- */

static void q_append(struct fwd *s, struct batch *b)
{
	b->next = NULL;
	b->prev = s->tail;
	if (s->tail)
		s->tail->next = b;
	else
		s->head = b;
	s->tail = b;
	s->st.batches_queued++;
}

static void q_unlink(struct fwd *s, struct batch *b)
{
	if (b->prev)
		b->prev->next = b->next;
	else
		s->head = b->next;
	if (b->next)
		b->next->prev = b->prev;
	else
		s->tail = b->prev;
	b->prev = b->next = NULL;
	s->st.batches_queued--;
}

static void spool_path(const struct fwd *s, uint64_t seq, char *buf, size_t len, int tmp)
{
	snprintf(buf, len, "%s/%s%016" PRIx64 "%s", s->spool_dir, tmp ? ".tmp-" : "", seq,
		 tmp ? "" : ".fwd");
}

static void mem_add(struct fwd *s, struct batch *b, size_t n)
{
	b->mem += n;
	s->st.mem_bytes += n;
	if (s->st.mem_bytes > s->st.mem_bytes_max)
		s->st.mem_bytes_max = s->st.mem_bytes;
}

static void mem_sub(struct fwd *s, struct batch *b, size_t n)
{
	b->mem -= n;
	s->st.mem_bytes -= n;
}

/* Removes a batch's spool file, if it has one, and its bytes from spool_bytes. */
static void spool_forget(struct fwd *s, struct batch *b)
{
	char path[PATH_MAX];

	if (!b->disk)
		return;
	spool_path(s, b->seq, path, sizeof(path), 0);
	if (unlink(path) < 0 && errno != ENOENT)
		pr_warn("forward: cannot remove spool file %s: %s\n", path, strerror(errno));
	s->st.spool_bytes -= b->disk;
	b->disk = 0;
}

/* Removes a queued batch (acked or dropped), unlinks its spool file, frees it. */
static void retire(struct fwd *s, struct batch *b)
{
	if (b->st == B_INFLIGHT)
		s->n_inflight--;
	q_unlink(s, b);
	s->st.records_pending -= b->records;
	mem_sub(s, b, b->mem);
	spool_forget(s, b);
	free(b->tag);
	free(b->raw);
	free(b->msg);
	free(b);
	pthread_cond_broadcast(&s->space);
	pthread_cond_broadcast(&s->drained);
}

static void wake(struct fwd *s)
{
	uint64_t one = 1;

	if (s->wake_pending)
		return;
	s->wake_pending = 1;
	if (write(s->efd, &one, sizeof(one)) < 0) {
		/* eventfd counter saturated: the sender is awake anyway */
	}
}

static void seal(struct fwd *s, uint32_t i)
{
	struct batch *b = s->open[i];

	s->open[i] = s->open[--s->n_open];
	s->open[s->n_open] = NULL;
	b->st = B_RAW;
	q_append(s, b);
	wake(s);
}

#define OVER_MEM 1   /* queue_max_bytes: records held in memory */
#define OVER_SPOOL 2 /* spool_max_bytes: memory plus spool */

/* The caps `need` more bytes would break: 0, or OVER_MEM and/or OVER_SPOOL. */
static int over_limit(const struct fwd *s, size_t need)
{
	int over = 0;

	if (s->st.mem_bytes + need > s->o.queue_max_bytes)
		over |= OVER_MEM;
	if (s->spool_dir && s->st.spool_bytes + s->st.mem_bytes + need > s->o.spool_max_bytes)
		over |= OVER_SPOOL;
	return over;
}

/* The batch drop-oldest drops for the caps in `over`: the oldest queued one the sender does
 * not work on (busy), and for the memory cap alone the oldest of those holding memory. A
 * batch only in the spool (mem 0) frees no memory: dropping it would lose durable records
 * for nothing. NULL when there is none. */
static struct batch *drop_victim(const struct fwd *s, int over)
{
	struct batch *b;

	for (b = s->head;
	     b && (b->busy || b->shed || (!(over & OVER_SPOOL) && !b->mem)); b = b->next)
		;
	return b;
}

/* Makes room with a batch in flight: it was sent and its ack may still come, so its records
 * are not dropped. Its message (memory and spool file) goes; what stays is the chunk id and
 * the count, for the ack. Acked, its records count as acked; if the connection is lost
 * first it cannot be sent again, and disconnect() counts them dropped then. */
static void shed(struct fwd *s, struct batch *b)
{
	mem_sub(s, b, b->mem);
	free(b->msg);
	b->msg = NULL;
	spool_forget(s, b);
	b->shed = 1;
	s->st.messages_shed++;
}

/* Whether `need` more bytes would fit once every batch drop_victim() may give is dropped:
 * not the batches being filled (they are not queued) nor those the sender works on (busy).
 * For the memory cap that is the memory of the others (spooled ones hold none); for the
 * spool cap, while it is exceeded any of them goes, their memory and spool bytes alike. */
static int fits_after_drops(const struct fwd *s, size_t need)
{
	uint64_t mem = s->st.mem_bytes, disk = s->st.spool_bytes;

	for (const struct batch *b = s->head; b; b = b->next) {
		if (!b->busy) {
			mem -= b->mem;
			disk -= b->disk;
		}
	}
	if (mem + need > s->o.queue_max_bytes)
		return 0;
	if (s->spool_dir && disk + mem + need > s->o.spool_max_bytes)
		return 0;
	return 1;
}

/* Applies the full-queue policy until `need` more bytes fit. 0 or -ENOBUFS (record dropped). */
static int make_room(struct fwd *s, size_t need)
{
	struct timespec dl;
	int have_dl = 0, checked = 0, over;

	while ((over = over_limit(s, need))) {
		struct batch *b;

		switch (s->o.policy) {
		case FWD_DROP_OLDEST:
			/* Dropping batches for a record that is refused anyway would lose them
			 * for nothing: first check that dropping is enough. The mutex is held
			 * throughout, so nothing becomes droppable meanwhile. */
			if (!checked && !fits_after_drops(s, need))
				goto drop_newest;
			checked = 1;
			b = drop_victim(s, over);
			if (!b)
				goto drop_newest;
			if (b->st == B_INFLIGHT) {
				shed(s, b);
				break;
			}
			s->st.records_dropped += b->records;
			retire(s, b);
			break;
		case FWD_BLOCK: {
			/* waits in slices, so that sink_fwd__interrupt() (from a signal
			 * handler) ends the wait within FWD_BLOCK_SLICE_MS */
			struct timespec slice;

			if (s->stop || __atomic_load_n(&s->interrupted, __ATOMIC_RELAXED))
				goto drop_newest;
			if (s->o.block_max_ms && !have_dl) {
				abs_deadline(&dl, s->o.block_max_ms);
				have_dl = 1;
			}
			abs_deadline(&slice, FWD_BLOCK_SLICE_MS);
			if (have_dl && (slice.tv_sec > dl.tv_sec ||
					(slice.tv_sec == dl.tv_sec && slice.tv_nsec > dl.tv_nsec)))
				slice = dl;
			if (pthread_cond_timedwait(&s->space, &s->mu, &slice) == ETIMEDOUT &&
			    have_dl && slice.tv_sec == dl.tv_sec && slice.tv_nsec == dl.tv_nsec &&
			    over_limit(s, need))
				goto drop_newest;
			break;
		}
		default:
			goto drop_newest;
		}
	}
	return 0;
drop_newest:
	s->st.records_dropped++;
	return -ENOBUFS;
}

static struct batch *find_open(struct fwd *s, const char *tag, size_t tag_len)
{
	for (uint32_t i = 0; i < s->n_open; i++) {
		struct batch *b = s->open[i];

		if (b->tag_len == tag_len && !memcmp(b->tag, tag, tag_len))
			return b;
	}
	return NULL;
}

static int open_index(const struct fwd *s, const struct batch *b)
{
	for (uint32_t i = 0; i < s->n_open; i++)
		if (s->open[i] == b)
			return (int)i;
	return -1;
}

/* A new batch for tag. Its framing (array, tag, options) is counted in mem_bytes from the
 * start, so that the encoded message never takes more memory than was reserved. */
static struct batch *new_open(struct fwd *s, const char *tag, size_t tag_len)
{
	struct batch *b;

	if (s->n_open == s->o.max_tags) {
		/* as many tags as slots: send the oldest batch now */
		uint32_t oldest = 0;

		for (uint32_t i = 1; i < s->n_open; i++)
			if (s->open[i]->t_first < s->open[oldest]->t_first)
				oldest = i;
		seal(s, oldest);
	}
	b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	b->tag = malloc(tag_len);
	if (!b->tag) {
		free(b);
		return NULL;
	}
	memcpy(b->tag, tag, tag_len);
	b->tag_len = tag_len;
	b->st = B_OPEN;
	b->t_first = mono_ns();
	s->open[s->n_open++] = b;
	mem_add(s, b, FWD_MSG_OVERHEAD + tag_len);
	return b;
}

static int fwd_write(struct sink *sk, const char *tag, size_t tag_len, uint64_t ts_ns,
		     const uint8_t *map, size_t len)
{
	struct fwd *s = (struct fwd *)sk;
	size_t need = 1 + 10 + len, cap;
	struct batch *b;
	int err, fresh;

	if (tag_len > FWD_TAG_MAX || tag_len == 0 || len == 0)
		return -EINVAL;
	cap = s->entries_cap - tag_len;
	pthread_mutex_lock(&s->mu);
	/* Larger than a message, or than half the queue (see batch_max): refused alone, before
	 * the policy could drop or wait for anything on its account. */
	if (need > cap || need + FWD_MSG_OVERHEAD + tag_len > s->batch_max) {
		s->st.records_oversize++;
		err = -EMSGSIZE;
		goto out;
	}
	/* Room for the entry, and for a new batch's framing when one is needed. With the
	 * block policy make_room() may sleep and the open batch may be sealed meanwhile:
	 * look again until the reservation matches. */
	for (;;) {
		b = find_open(s, tag, tag_len);
		fresh = !b || b->raw_len + need > cap;
		err = make_room(s, need + (fresh ? FWD_MSG_OVERHEAD + tag_len : 0));
		if (err)
			goto out;
		b = find_open(s, tag, tag_len);
		if (fresh == (!b || b->raw_len + need > cap))
			break;
	}
	if (fresh) {
		if (b)
			seal(s, (uint32_t)open_index(s, b));
		b = new_open(s, tag, tag_len);
		if (!b) {
			s->st.records_dropped++;
			err = -ENOMEM;
			goto out;
		}
	}
	if (b->raw_len + need > b->raw_cap) {
		size_t ncap = b->raw_cap ? b->raw_cap * 2 : FWD_RAW_INIT;
		uint8_t *n;

		while (ncap < b->raw_len + need)
			ncap *= 2;
		if (ncap > cap)
			ncap = cap;
		n = realloc(b->raw, ncap);
		if (!n) {
			s->st.records_dropped++;
			err = -ENOMEM;
			goto out;
		}
		b->raw = n;
		b->raw_cap = ncap;
	}
	b->raw[b->raw_len] = 0x92; /* [EventTime, record] */
	sink__event_time(b->raw + b->raw_len + 1, ts_ns);
	memcpy(b->raw + b->raw_len + 11, map, len);
	b->raw_len += need;
	b->records++;
	mem_add(s, b, need);
	s->st.records_in++;
	s->st.records_pending++;
	if (b->records >= s->o.batch_records || b->raw_len >= s->o.batch_bytes)
		seal(s, (uint32_t)open_index(s, b));
out:
	pthread_mutex_unlock(&s->mu);
	return err;
}

/* ---- spool ---- */

/* Crash-safe: the complete message is in DIR/<seq>.fwd (fsync'd, renamed, dir fsync'd). */
static int spool_write(struct fwd *s, uint64_t seq, const uint8_t *msg, size_t len)
{
	char tmp[PATH_MAX], dst[PATH_MAX];
	int fd, err;

	spool_path(s, seq, tmp, sizeof(tmp), 1);
	spool_path(s, seq, dst, sizeof(dst), 0);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	err = sink__write_all(fd, msg, len);
	if (!err && s->o.spool_fsync && fsync(fd) < 0)
		err = -errno;
	if (close(fd) < 0 && !err)
		err = -errno;
	if (!err && rename(tmp, dst) < 0)
		err = -errno;
	if (err) {
		unlink(tmp);
		return err;
	}
	if (s->o.spool_fsync) {
		int dfd = open(s->spool_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (dfd >= 0) {
			if (fsync(dfd) < 0)
				err = -errno;
			close(dfd);
		}
	}
	return err;
}

/* The whole file: 0, -ENODATA (empty, or not a regular file), -EFBIG (over max) or -errno. */
static int read_file(const char *path, uint8_t **out, size_t *len, size_t max)
{
	struct stat sb;
	uint8_t *buf;
	size_t got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC), err = 0;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &sb) < 0)
		err = -errno;
	else if (sb.st_size <= 0)
		err = -ENODATA;
	else if ((uint64_t)sb.st_size > max)
		err = -EFBIG;
	if (err) {
		close(fd);
		return err;
	}
	buf = malloc((size_t)sb.st_size);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	while (got < (size_t)sb.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)sb.st_size - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			err = r < 0 ? -errno : -EIO;
			break;
		}
		got += (size_t)r;
	}
	close(fd);
	if (err) {
		free(buf);
		return err;
	}
	*out = buf;
	*len = got;
	return 0;
}

/* A spooled message must be exactly one [tag, entries, {"chunk": str, "size": n, ...}]. */
static int parse_spooled(const uint8_t *m, size_t len, char chunk[FWD_CHUNK_MAX + 1], uint32_t *n)
{
	msgpack_unpacked u;
	size_t off = 0;
	int err = -EINVAL;

	msgpack_unpacked_init(&u);
	/* mp_len first: a corrupt header must not make msgpack-c allocate its announced size */
	if (mp_len(m, len) != (long)len ||
	    msgpack_unpack_next(&u, (const char *)m, len, &off) != MSGPACK_UNPACK_SUCCESS ||
	    off != len)
		goto out;
	const msgpack_object *o = &u.data;

	if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != 3 ||
	    o->via.array.ptr[0].type != MSGPACK_OBJECT_STR ||
	    o->via.array.ptr[2].type != MSGPACK_OBJECT_MAP)
		goto out;
	const msgpack_object_map *opt = &o->via.array.ptr[2].via.map;

	chunk[0] = '\0';
	*n = 0;
	for (uint32_t i = 0; i < opt->size; i++) {
		const msgpack_object_kv *kv = &opt->ptr[i];

		if (obj_is(&kv->key, "chunk") && kv->val.type == MSGPACK_OBJECT_STR &&
		    kv->val.via.str.size && kv->val.via.str.size <= FWD_CHUNK_MAX) {
			memcpy(chunk, kv->val.via.str.ptr, kv->val.via.str.size);
			chunk[kv->val.via.str.size] = '\0';
		} else if (obj_is(&kv->key, "size") &&
			   kv->val.type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
			   kv->val.via.u64 <= UINT32_MAX) {
			*n = (uint32_t)kv->val.via.u64;
		}
	}
	if (chunk[0] && *n)
		err = 0;
out:
	msgpack_unpacked_destroy(&u);
	return err;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* At open: queues what an earlier run left in the spool, oldest first. */
static int spool_recover(struct fwd *s)
{
	DIR *d = opendir(s->spool_dir);
	struct dirent *de;
	uint64_t *seqs = NULL;
	size_t n = 0, cap = 0, n_big = 0;
	int err = 0;

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		char path[PATH_MAX];
		uint64_t seq;
		char tail[8];

		if (!strncmp(de->d_name, ".tmp-", 5)) {
			/* a write interrupted before its rename: never sent, never complete */
			snprintf(path, sizeof(path), "%s/%s", s->spool_dir, de->d_name);
			unlink(path);
			continue;
		}
		if (strlen(de->d_name) != 20 ||
		    sscanf(de->d_name, "%16" SCNx64 "%7s", &seq, tail) != 2 || strcmp(tail, ".fwd"))
			continue;
		if (n == cap) {
			uint64_t *t = realloc(seqs, (cap ? cap * 2 : 64) * sizeof(*seqs));

			if (!t) {
				err = -ENOMEM;
				goto out;
			}
			seqs = t;
			cap = cap ? cap * 2 : 64;
		}
		seqs[n++] = seq;
	}
	if (n)
		qsort(seqs, n, sizeof(*seqs), cmp_u64);
	for (size_t i = 0; i < n; i++) {
		char path[PATH_MAX];
		uint8_t *m = NULL;
		size_t len = 0;
		struct batch *b;
		uint32_t recs;
		char chunk[FWD_CHUNK_MAX + 1];
		int rc;

		spool_path(s, seqs[i], path, sizeof(path), 0);
		if (seqs[i] >= s->next_seq)
			s->next_seq = seqs[i] + 1;
		/* Read with the fixed limit, not max_message_bytes: a message spooled by a run
		 * with a larger --forward-max-message is valid, and is sent as it is. */
		rc = read_file(path, &m, &len, s->spool_read_max);
		if (!rc && parse_spooled(m, len, chunk, &recs))
			rc = -EBADMSG;
		free(m);
		if (rc == -EBADMSG || rc == -ENODATA) {
			pr_warn("forward: spool file %s is not a Forward message, removed\n", path);
			s->st.spool_errors++;
			unlink(path);
			continue;
		}
		if (rc) {
			/* too large to be one of ours, or unreadable now: not ours to delete */
			pr_warn("forward: spool file %s cannot be used: %s (left in place)\n", path,
				strerror(-rc));
			s->st.spool_errors++;
			continue;
		}
		if (len > s->o.max_message_bytes)
			n_big++;
		b = calloc(1, sizeof(*b));
		if (!b) {
			err = -ENOMEM;
			goto out;
		}
		b->st = B_READY;
		b->seq = seqs[i];
		b->records = recs;
		b->disk = len;
		b->msg_len = len;
		memcpy(b->chunk, chunk, sizeof(chunk));
		q_append(s, b);
		s->st.spool_bytes += len;
		s->st.records_recovered += recs;
		s->st.records_pending += recs;
	}
	if (n)
		pr_info("forward: %" PRIu64 " records in %" PRIu64 " spooled messages to resend\n",
			s->st.records_recovered, s->st.batches_queued);
	if (n_big)
		pr_info("forward: %zu of them larger than the message limit (%zu bytes), sent as "
			"they are\n",
			n_big, s->o.max_message_bytes);
out:
	free(seqs);
	closedir(d);
	return err;
}

/* ---- sender thread ---- */

/* RAW -> READY: chunk id, encode, spool. Runs unlocked on a busy batch. */
static void prepare(struct fwd *s, struct batch *b, int *spooled, long *mlen)
{
	enum fwd_mode used;
	uint8_t *m = NULL;
	long r;

	make_chunk_id(&s->rng, b->chunk);
	r = encode(s->z_ok ? &s->z : NULL, s->o.mode, s->o.gzip_level, b->tag, b->tag_len, b->raw,
		   b->raw_len, b->records, b->chunk, s->o.max_message_bytes, &m, &used);
	if (r == -EMSGSIZE && s->o.mode == FWD_MODE_COMPRESSED)
		r = encode(NULL, FWD_MODE_PACKED, 0, b->tag, b->tag_len, b->raw, b->raw_len,
			   b->records, b->chunk, s->o.max_message_bytes, &m, &used);
	*mlen = r;
	*spooled = 0;
	if (r < 0)
		return;
	if (s->o.mode == FWD_MODE_COMPRESSED && used != FWD_MODE_COMPRESSED)
		__atomic_add_fetch(&s->st.compress_fallbacks, 1, __ATOMIC_RELAXED);
	b->msg = m;
	b->msg_len = (size_t)r;
	if (s->spool_dir) {
		int err = spool_write(s, b->seq, m, (size_t)r);

		if (err) {
			pr_warn("forward: spool write failed: %s (kept in memory)\n",
				strerror(-err));
		} else {
			*spooled = 1;
		}
	}
}

static void finish_prepare(struct fwd *s, struct batch *b, int spooled, long r)
{
	if (r < 0) {
		/* cannot happen with sane limits (entries_cap keeps us below max) */
		pr_warn("forward: cannot encode a batch of %u records: %s\n", b->records,
			strerror((int)-r));
		s->st.records_oversize += b->records;
		b->busy = 0;
		retire(s, b);
		return;
	}
	mem_sub(s, b, b->mem);
	free(b->raw);
	b->raw = NULL;
	b->raw_len = b->raw_cap = 0;
	if (s->spool_dir && !spooled) {
		s->st.spool_errors++;
		if (!s->spool_retry_at)
			s->spool_retry_at = mono_ns() + FWD_SPOOL_RETRY_MS * 1000000ULL;
	}
	if (spooled) {
		b->disk = b->msg_len;
		s->st.spool_bytes += b->disk;
		s->st.records_spooled += b->records;
		free(b->msg); /* reloaded from the spool when sent */
		b->msg = NULL;
	} else {
		mem_add(s, b, b->msg_len);
	}
	b->st = B_READY;
	b->busy = 0;
	pthread_cond_broadcast(&s->space);
}

/* Writes again a batch that a failed spool write left only in memory (a crash would lose
 * it, and so would close()). Under a new sequence number: whatever stood in the way of the
 * first name (a stale .tmp- entry) is not met again; the order of recovery is by number,
 * so this one then comes after those spooled meanwhile, as after any resend. 0 or -errno.
 * Mutex held when `unlock` (the sender thread), which it drops for the write. */
static int spool_retry(struct fwd *s, struct batch *b, bool unlock)
{
	uint64_t seq = s->next_seq++;
	int err;

	b->busy = 1; /* neither sent nor dropped meanwhile */
	if (unlock)
		pthread_mutex_unlock(&s->mu);
	err = spool_write(s, seq, b->msg, b->msg_len);
	if (unlock)
		pthread_mutex_lock(&s->mu);
	b->busy = 0;
	if (err)
		return err;
	b->seq = seq;
	b->disk = b->msg_len;
	s->st.spool_bytes += b->disk;
	s->st.records_spooled += b->records;
	mem_sub(s, b, b->mem);
	free(b->msg); /* reloaded from the spool when sent */
	b->msg = NULL;
	pthread_cond_broadcast(&s->space);
	return 0;
}

static void sha512_hex(const void *const *parts, const size_t *lens, int n, char out[129])
{
	unsigned char md[64];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	memset(md, 0, sizeof(md));
	if (ctx && EVP_DigestInit_ex(ctx, EVP_sha512(), NULL)) {
		for (int i = 0; i < n; i++)
			EVP_DigestUpdate(ctx, parts[i], lens[i]);
		EVP_DigestFinal_ex(ctx, md, &mdlen);
	}
	EVP_MD_CTX_free(ctx);
	mt_hex(md, 64, out);
}

/* Waits for fd events or the deadline; -ETIMEDOUT, -ECANCELED (stop) or revents. */
static int wait_fd(struct fwd *s, int fd, short ev, uint64_t deadline)
{
	for (;;) {
		struct pollfd p[2] = {{.fd = fd, .events = ev}, {.fd = s->efd, .events = POLLIN}};
		uint64_t now = mono_ns();
		int r;

		if (__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE))
			return -ECANCELED;
		if (now >= deadline)
			return -ETIMEDOUT;
		r = poll(p, 2, (int)((deadline - now) / 1000000 + 1));
		if (r < 0 && errno != EINTR)
			return -errno;
		if (r > 0 && p[1].revents) {
			uint64_t v;

			if (read(s->efd, &v, sizeof(v)) < 0) {
				/* nothing to drain */
			}
			pthread_mutex_lock(&s->mu);
			s->wake_pending = 0;
			pthread_mutex_unlock(&s->mu);
		}
		if (r > 0 && p[0].revents)
			return p[0].revents;
	}
}

/* An OpenSSL call's failure: -EAGAIN with *want (POLLIN or POLLOUT) to wait for, or -errno. */
static int tls_err(SSL *ssl, int r, short *want)
{
	switch (SSL_get_error(ssl, r)) {
	case SSL_ERROR_WANT_READ:
		*want = POLLIN;
		return -EAGAIN;
	case SSL_ERROR_WANT_WRITE:
		*want = POLLOUT;
		return -EAGAIN;
	case SSL_ERROR_ZERO_RETURN:
		return -ECONNRESET;
	case SSL_ERROR_SYSCALL:
		return errno && errno != EAGAIN ? -errno : -ECONNRESET;
	default:
		return -EPROTO;
	}
}

/* One send on the connection (TLS when ssl): bytes written, -EAGAIN (wait for *want) or
 * -errno. Partial writes as with send(): SSL_MODE_ENABLE_PARTIAL_WRITE. */
static ssize_t io_send(SSL *ssl, int fd, const uint8_t *p, size_t n, short *want)
{
	int r;

	if (!ssl) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);

		*want = POLLOUT;
		return w >= 0 ? w : errno == EINTR ? -EAGAIN : -errno;
	}
	ERR_clear_error();
	r = SSL_write(ssl, p, n > INT_MAX ? INT_MAX : (int)n);
	return r > 0 ? r : tls_err(ssl, r, want);
}

/* One receive: bytes read, 0 when the peer closed, -EAGAIN (wait for *want) or -errno. */
static ssize_t io_recv(SSL *ssl, int fd, uint8_t *buf, size_t n, short *want)
{
	int r;

	if (!ssl) {
		ssize_t got = recv(fd, buf, n, MSG_DONTWAIT);

		*want = POLLIN;
		return got >= 0 ? got : errno == EINTR ? -EAGAIN : -errno;
	}
	ERR_clear_error();
	r = SSL_read(ssl, buf, n > INT_MAX ? INT_MAX : (int)n);
	if (r > 0)
		return r;
	if (SSL_get_error(ssl, r) == SSL_ERROR_ZERO_RETURN)
		return 0;
	return tls_err(ssl, r, want);
}

static int send_blocking(struct fwd *s, int fd, SSL *ssl, const uint8_t *p, size_t n,
			 uint64_t deadline)
{
	while (n) {
		short want = POLLOUT;
		ssize_t w = io_send(ssl, fd, p, n, &want);

		if (w == -EAGAIN) {
			int r = wait_fd(s, fd, want, deadline);

			if (r < 0)
				return r;
			continue;
		}
		if (w < 0)
			return (int)w;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int recv_msg(struct fwd *s, int fd, SSL *ssl, struct fwd_msg *m, uint64_t deadline)
{
	uint8_t buf[1024];

	for (;;) {
		int r = fwd_reader__next(s->rd, m);
		short want = POLLIN;
		ssize_t n;

		if (r)
			return r < 0 ? r : 0;
		n = io_recv(ssl, fd, buf, sizeof(buf), &want);
		if (n == 0)
			return -ECONNRESET;
		if (n == -EAGAIN) {
			r = wait_fd(s, fd, want, deadline);
			if (r < 0)
				return r;
			continue;
		}
		if (n < 0)
			return (int)n;
		r = fwd_reader__feed(s->rd, buf, (size_t)n);
		if (r)
			return r;
	}
}

/* Bytes of our PING: [PING, hostname, salt(32), digest(128), user, user digest(128 or 0)]. */
static size_t ping_len(const struct fwd *s)
{
	uint8_t h[5];
	size_t hl = strlen(s->self_hostname), ul = s->username ? strlen(s->username) : 0;

	return 1 + 5 + sink__str_header(h, hl) + hl + 2 + 32 + 2 + 128 +
	       sink__str_header(h, ul) + ul + (s->username ? 2 + 128 : 1);
}

/* Secure forward: HELO from the server, our PING, its PONG (digests checked both ways). */
static int handshake(struct fwd *s, int fd, SSL *ssl, uint64_t deadline)
{
	struct fwd_msg helo, pong;
	char salt[33], digest[129], pdigest[129] = "", check[129];
	uint8_t rnd[16], *ping;
	const char *user = s->username ? s->username : "";
	const char *pw = s->password ? s->password : "";
	size_t hl = strlen(s->self_hostname), kl = strlen(s->shared_key), ul = strlen(user),
	       pos = 0;
	int err;

	err = recv_msg(s, fd, ssl, &helo, deadline);
	if (err)
		return err;
	if (helo.type != FWD_MSG_HELO)
		return -EPROTO;
	if (getrandom(rnd, sizeof(rnd), GRND_NONBLOCK) != sizeof(rnd)) {
		uint64_t a = mt_splitmix64(&s->rng), b = mt_splitmix64(&s->rng);

		memcpy(rnd, &a, 8);
		memcpy(rnd + 8, &b, 8);
	}
	mt_hex(rnd, 16, salt);
	{
		const void *p[4] = {salt, s->self_hostname, helo.nonce, s->shared_key};
		size_t l[4] = {32, hl, helo.nonce_len, kl};

		sha512_hex(p, l, 4, digest);
	}
	if (s->username) {
		const void *p[3] = {helo.auth, user, pw};
		size_t l[3] = {helo.auth_len, ul, strlen(pw)};

		sha512_hex(p, l, 3, pdigest);
	}
	ping = malloc(ping_len(s));
	if (!ping)
		return -ENOMEM;
	ping[pos++] = 0x96;
	pos += put_str(ping + pos, "PING", 4);
	pos += put_str(ping + pos, s->self_hostname, hl);
	pos += put_str(ping + pos, salt, 32);
	pos += put_str(ping + pos, digest, 128);
	pos += put_str(ping + pos, user, ul);
	pos += put_str(ping + pos, pdigest, strlen(pdigest));
	err = send_blocking(s, fd, ssl, ping, pos, deadline);
	free(ping);
	if (err)
		return err;
	err = recv_msg(s, fd, ssl, &pong, deadline);
	if (err)
		return err;
	if (pong.type != FWD_MSG_PONG)
		return -EPROTO;
	if (!pong.auth_ok) {
		pr_warn("forward: %s refused the handshake: %s\n", s->spec, pong.reason);
		return -EACCES;
	}
	{
		const void *p[4] = {salt, pong.host, helo.nonce, s->shared_key};
		size_t l[4] = {32, pong.host_len, helo.nonce_len, kl};

		sha512_hex(p, l, 4, check);
	}
	if (pong.digest_len != 128 || memcmp(check, pong.digest, 128)) {
		pr_warn("forward: %s answered with a wrong shared_key digest\n", s->spec);
		return -EACCES;
	}
	return 0;
}

static int connect_fd(struct fwd *s, int fd, const struct sockaddr *sa, socklen_t len,
		      uint64_t deadline)
{
	int r, soerr = 0;
	socklen_t sl = sizeof(soerr);

	if (connect(fd, sa, len) == 0)
		return 0;
	if (errno != EINPROGRESS)
		return -errno;
	r = wait_fd(s, fd, POLLOUT, deadline);
	if (r < 0)
		return r;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
		return -errno;
	return soerr ? -soerr : 0;
}

/* The TLS handshake on a connected fd: the server's certificate must chain to the CA
 * (--forward-tls-ca, else the system's) and name tls_name or the host (DNS name, or IP
 * address when it is one). *out: the session. */
static int tls_start(struct fwd *s, int fd, SSL **out, uint64_t deadline)
{
	const char *name = s->tls_name ? s->tls_name : s->host;
	unsigned char ip[16];
	SSL *ssl = SSL_new(s->tls);
	int ok;

	if (!ssl)
		return -ENOMEM;
	if (inet_pton(AF_INET, name, ip) == 1 || inet_pton(AF_INET6, name, ip) == 1)
		ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name);
	else
		ok = SSL_set1_host(ssl, name) && SSL_set_tlsext_host_name(ssl, name);
	if (!ok || !SSL_set_fd(ssl, fd)) {
		SSL_free(ssl);
		return -ENOMEM;
	}
	for (;;) {
		short want = POLLIN;
		int r, e;

		ERR_clear_error();
		r = SSL_connect(ssl);
		if (r == 1) {
			*out = ssl;
			return 0;
		}
		e = tls_err(ssl, r, &want);
		if (e == -EAGAIN) {
			e = wait_fd(s, fd, want, deadline);
			if (e >= 0)
				continue;
		} else if (!__atomic_load_n(&s->st.tls_failures, __ATOMIC_RELAXED) ||
			   log__level() >= LOG_DEBUG) {
			long v = SSL_get_verify_result(ssl);
			unsigned long le = ERR_peek_error();
			char why[256] = "";

			if (le)
				ERR_error_string_n(le, why, sizeof(why));
			pr_warn("forward: TLS handshake with %s failed: %s\n", s->spec,
				v != X509_V_OK ? X509_verify_cert_error_string(v)
				: *why	       ? why
					       : strerror(-e));
		}
		SSL_free(ssl);
		return e == -ECANCELED || e == -ETIMEDOUT ? e : -EPROTO;
	}
}

/* Connect (+ TLS, + handshake). Returns a non-blocking fd (and *sslp with TLS) or -errno.
 * Runs unlocked. */
static int do_connect(struct fwd *s, SSL **sslp)
{
	uint64_t deadline = mono_ns() + (uint64_t)s->o.connect_timeout_ms * 1000000ULL;
	int fd = -1, err;
	SSL *ssl = NULL;

	if (s->is_unix) {
		struct sockaddr_un sun = {.sun_family = AF_UNIX};

		memcpy(sun.sun_path, s->path, strlen(s->path) + 1);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -errno;
		err = connect_fd(s, fd, (struct sockaddr *)&sun, sizeof(sun), deadline);
	} else {
		struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_ADDRCONFIG};
		struct addrinfo *ai = NULL, *a;

		err = getaddrinfo(s->host, s->port, &hints, &ai);
		if (err)
			return err == EAI_SYSTEM ? -errno : -EHOSTUNREACH;
		err = -ECONNREFUSED;
		for (a = ai; a; a = a->ai_next) {
			int one = 1;

			fd = socket(a->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
			if (fd < 0) {
				err = -errno;
				continue;
			}
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
			err = connect_fd(s, fd, a->ai_addr, a->ai_addrlen, deadline);
			if (!err)
				break;
			close(fd);
			fd = -1;
		}
		freeaddrinfo(ai);
	}
	if (!err && s->tls) {
		err = tls_start(s, fd, &ssl, deadline);
		if (err && err != -ECANCELED)
			__atomic_add_fetch(&s->st.tls_failures, 1, __ATOMIC_RELAXED);
	}
	if (!err && s->shared_key) {
		fwd_reader__reset(s->rd);
		err = handshake(s, fd, ssl, deadline);
		if (err && err != -ECANCELED)
			__atomic_add_fetch(&s->st.handshake_failures, 1, __ATOMIC_RELAXED);
	}
	if (err) {
		SSL_free(ssl);
		if (fd >= 0)
			close(fd);
		return err;
	}
	*sslp = ssl;
	return fd;
}

/* Closes the connection. A TLS session that ends in order (the sink closing) first sends
 * close_notify if the socket takes it now; after an error OpenSSL must not be asked to. */
static void conn_close(struct fwd *s, bool orderly)
{
	if (s->ssl) {
		ERR_clear_error();
		if (orderly)
			(void)SSL_shutdown(s->ssl);
		SSL_free(s->ssl);
		s->ssl = NULL;
	}
	s->tls_read_wants_out = 0;
	s->tls_read_more = 0;
	s->tls_write_wants_in = 0;
	close(s->fd);
	s->fd = -1;
}

/* A connection lost without any ack after the oldest unacked message was sent: in_forward
 * hangs up on a message larger than its Buffer_Max_Size (or a packed payload over it), and
 * will do so at every resend: the queue stalls behind it. Say so once per message. */
static void note_refused(struct fwd *s)
{
	struct batch *b;

	for (b = s->head; b; b = b->next)
		if ((b->st == B_INFLIGHT && !b->shed) || (b == s->cur && s->cur_off))
			break;
	if (!b || ++b->refused != FWD_REFUSED_WARN)
		return;
	pr_warn("forward: %s closed %d connections in a row, without an ack, after message %s "
		"(%zu bytes, %u records): in_forward does that to a message larger than its "
		"Buffer_Max_Size (keep --forward-max-message, %zu, below it), or while its "
		"input is paused; resending it\n",
		s->spec, FWD_REFUSED_WARN, b->chunk, b->msg_len, b->records,
		s->o.max_message_bytes);
}

/* Connection lost: everything in flight goes back to READY, in queue order. by_peer: the
 * receiver hung up (closed, or reset the connection: not our timeouts, not a bad reply).
 * Mutex held. */
static void disconnect(struct fwd *s, const char *why, int err, bool by_peer)
{
	uint64_t d;

	if (s->fd >= 0) {
		conn_close(s, false);
		s->st.disconnects++;
		pr_info("forward: %s: connection lost (%s%s%s), resending unacked messages\n",
			s->spec, why, err ? ": " : "", err ? strerror(-err) : "");
		if (by_peer && !s->conn_acked)
			note_refused(s);
	}
	if (s->cur) {
		s->cur->busy = 0;
		if (s->cur->disk) {
			free(s->cur->msg);
			s->cur->msg = NULL;
		}
		s->cur = NULL;
	}
	for (struct batch *b = s->head, *n; b; b = n) {
		n = b->next;
		if (b->st == B_INFLIGHT && b->shed) {
			/* its message is gone: it cannot be sent again */
			s->st.records_dropped += b->records;
			retire(s, b);
		} else if (b->st == B_INFLIGHT) {
			b->st = B_READY;
			b->resend = 1;
		}
	}
	s->n_inflight = 0;
	d = s->backoff_ms / 2 + mt_splitmix64(&s->rng) % (s->backoff_ms / 2 + 1);
	if (s->draining && d > FWD_DRAIN_RETRY_MS)
		d = FWD_DRAIN_RETRY_MS; /* flush()/close() waits: not past its timeout */
	s->next_connect = mono_ns() + d * 1000000ULL;
	s->backoff_ms =
	    s->backoff_ms * 2 > s->o.backoff_max_ms ? s->o.backoff_max_ms : s->backoff_ms * 2;
}

static void handle_ack(struct fwd *s, const struct fwd_msg *m)
{
	for (struct batch *b = s->head; b; b = b->next) {
		/* the whole chunk: a peer's "<chunk>\0..." is not ours */
		if (b->st == B_INFLIGHT && strlen(b->chunk) == m->chunk_len &&
		    !memcmp(b->chunk, m->chunk, m->chunk_len)) {
			s->st.records_acked += b->records;
			s->st.messages_acked++;
			s->backoff_ms = s->o.backoff_min_ms; /* this connection works */
			s->conn_acked = 1;
			retire(s, b);
			return;
		}
	}
	s->st.acks_unknown++;
}

/* Applies the replies read so far: each ack retires its batch. With `drain` (the connection
 * is being given up) a plain socket is first read to its end, EOF, EAGAIN or error, without
 * waiting: acks that arrived before the loss must count, else disconnect() would queue
 * their batches again and the receiver would get them twice. A TLS session is not read
 * after a failure (OpenSSL forbids further I/O); its read loop went up to the failure and
 * what it read is in the reader. 0, or -EPROTO/-EMSGSIZE for a reply that is not an ack
 * (the acks before it are applied), -ENOKEY for a HELO without a shared key configured.
 * Mutex held. */
static int take_acks(struct fwd *s, bool drain)
{
	size_t budget = FWD_DRAIN_MAX; /* a peer that keeps sending cannot hold us here */
	uint8_t buf[1024];
	struct fwd_msg m;
	int r;

	for (;;) {
		ssize_t n;

		while ((r = fwd_reader__next(s->rd, &m)) > 0) {
			if (m.type == FWD_MSG_HELO && !s->shared_key)
				return -ENOKEY; /* the receiver wants the handshake */
			if (m.type != FWD_MSG_ACK)
				return -EPROTO;
			handle_ack(s, &m);
		}
		if (r < 0 || !drain || s->ssl || s->fd < 0 || !budget)
			return r;
		n = recv(s->fd, buf, sizeof(buf) < budget ? sizeof(buf) : budget, MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return 0;
		budget -= (size_t)n;
		r = fwd_reader__feed(s->rd, buf, (size_t)n);
		if (r)
			return r;
	}
}

static void seal_due(struct fwd *s, uint64_t now)
{
	uint64_t iv = (uint64_t)s->o.flush_interval_ms * 1000000ULL;

	for (uint32_t i = 0; i < s->n_open;) {
		if (s->flush_all || now - s->open[i]->t_first >= iv)
			seal(s, i);
		else
			i++;
	}
	s->flush_all = 0;
}

static int has_ready(const struct fwd *s)
{
	for (struct batch *b = s->head; b; b = b->next)
		if (b->st == B_READY && !b->busy)
			return 1;
	return 0;
}

static void *sender_main(void *arg)
{
	struct fwd *s = arg;
	uint8_t rbuf[4096];
	sigset_t pipe;

	/* OpenSSL writes to the socket without MSG_NOSIGNAL: a peer gone makes EPIPE, not a
	 * SIGPIPE that would kill a program that did not ignore it */
	sigemptyset(&pipe);
	sigaddset(&pipe, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe, NULL);
	pthread_mutex_lock(&s->mu);
	for (;;) {
		uint64_t now = mono_ns(), tmo_ns = (uint64_t)FWD_POLL_MAX_MS * 1000000ULL;
		struct pollfd p[2];
		struct batch *b;
		int np = 1;

		s->wake_pending = 0;
		seal_due(s, now);
		if (s->stop)
			break;

		/* 1. encode (and spool) one sealed batch a pass, oldest first, then go on to
		 * the other steps: under sustained load there is always one more to encode, and
		 * connecting, sending, reading acks and the timeouts must not wait for the
		 * backlog to end (step 4 does not sleep while one is left) */
		for (b = s->head; b && b->st != B_RAW; b = b->next)
			;
		if (b && !b->busy) {
			int spooled;
			long r;

			b->busy = 1;
			b->seq = s->next_seq++;
			pthread_mutex_unlock(&s->mu);
			prepare(s, b, &spooled, &r);
			pthread_mutex_lock(&s->mu);
			finish_prepare(s, b, spooled, r);
			if (s->stop)
				continue;
			now = mono_ns();
		}

		/* 1b. spool again, one a pass, what a failed spool write left in memory (only
		 * a READY batch: one being sent or in flight waits, it may come back) */
		if (s->spool_retry_at && now >= s->spool_retry_at) {
			struct batch *todo = NULL;
			int left = 0;

			for (b = s->head; b && !todo; b = b->next) {
				if (b->disk || !b->msg)
					continue; /* spooled, or not encoded yet */
				left = 1;
				if (b->st == B_READY && !b->busy)
					todo = b;
			}
			if (!left) {
				s->spool_retry_at = 0; /* acked or dropped meanwhile */
			} else if (!todo || spool_retry(s, todo, true)) {
				if (todo)
					pr_debug("forward: spool write retry failed\n");
				s->spool_retry_at = mono_ns() + FWD_SPOOL_RETRY_MS * 1000000ULL;
			}
			if (todo) {
				/* the next one in the next pass, after the other steps */
				if (s->stop)
					continue;
				now = mono_ns();
			}
		}

		/* 2. connect when there is something to send */
		if (s->fd < 0 && has_ready(s) && now >= s->next_connect) {
			SSL *ssl = NULL;
			int fd;

			pthread_mutex_unlock(&s->mu);
			fd = do_connect(s, &ssl);
			pthread_mutex_lock(&s->mu);
			if (fd == -ECANCELED)
				continue;
			if (fd < 0) {
				s->st.connect_failures++;
				if (s->st.connect_failures == 1 || log__level() >= LOG_DEBUG)
					pr_warn("forward: cannot connect to %s: %s (retrying)\n",
						s->spec, strerror(-fd));
				s->fd = -1;
				disconnect(s, "connect", fd, false);
				continue;
			}
			s->fd = fd;
			s->ssl = ssl;
			s->conn_acked = 0;
			s->st.connects++;
			fwd_reader__reset(s->rd);
			continue;
		}

		/* 3. next message to write */
		if (s->fd >= 0 && !s->cur && s->n_inflight < s->o.max_inflight) {
			for (b = s->head; b && (b->st != B_READY || b->busy); b = b->next)
				;
			if (b) {
				b->busy = 1;
				s->cur = b;
				s->cur_off = 0;
				s->cur_moved = now;
				if (!b->msg) {
					char path[PATH_MAX];
					uint8_t *m = NULL;
					size_t len = 0;
					int err;

					spool_path(s, b->seq, path, sizeof(path), 0);
					pthread_mutex_unlock(&s->mu);
					err = read_file(path, &m, &len, s->spool_read_max);
					pthread_mutex_lock(&s->mu);
					if (err) {
						pr_warn("forward: spool file %s lost: %s%s\n", path,
							strerror(-err),
							err == -ENOENT ? "" : " (left in place)");
						s->cur = NULL;
						b->busy = 0;
						s->st.records_spool_lost += b->records;
						if (err != -ENOENT) {
							/* unreadable now, perhaps not at the
							 * next start: not deleted */
							s->st.spool_bytes -= b->disk;
							b->disk = 0;
						}
						retire(s, b);
						continue;
					}
					b->msg = m;
					b->msg_len = len;
					s->cur_moved = mono_ns();
				}
			}
		}

		/* 4. sleep until I/O, a wake-up or the next deadline; not at all while a
		 * sealed batch waits to be encoded (step 1, next pass) */
		for (b = s->head; b && (b->st != B_RAW || b->busy); b = b->next)
			;
		if (b)
			tmo_ns = 0;
		for (uint32_t i = 0; i < s->n_open; i++) {
			uint64_t due =
			    s->open[i]->t_first + (uint64_t)s->o.flush_interval_ms * 1000000ULL;

			tmo_ns = due <= now ? 0 : (due - now < tmo_ns ? due - now : tmo_ns);
		}
		if (s->fd < 0 && has_ready(s))
			tmo_ns =
			    s->next_connect <= now
				? 0
				: (s->next_connect - now < tmo_ns ? s->next_connect - now : tmo_ns);
		if (s->fd >= 0 && s->n_inflight) {
			for (b = s->head; b && b->st != B_INFLIGHT; b = b->next)
				;
			if (b) {
				uint64_t due =
				    b->t_sent + (uint64_t)s->o.ack_timeout_ms * 1000000ULL;

				if (due <= now) {
					s->st.ack_timeouts++;
					take_acks(s, true);
					disconnect(s, "ack timeout", 0, false);
					continue;
				}
				if (due - now < tmo_ns)
					tmo_ns = due - now;
			}
		}
		if (s->fd >= 0 && s->cur) {
			/* A receiver that stopped reading never acks: with the first message
			 * stuck half written nothing is in flight, so the ack timeout above
			 * would never see it. The same limit applies to the write. */
			uint64_t due = s->cur_moved + (uint64_t)s->o.ack_timeout_ms * 1000000ULL;

			if (due <= now) {
				s->st.ack_timeouts++;
				take_acks(s, true);
				disconnect(s, "write timeout", 0, false);
				continue;
			}
			if (due - now < tmo_ns)
				tmo_ns = due - now;
		}
		if (s->tls_read_more)
			tmo_ns = 0;
		if (s->spool_retry_at && s->spool_retry_at <= now)
			tmo_ns = 0;
		else if (s->spool_retry_at && s->spool_retry_at - now < tmo_ns)
			tmo_ns = s->spool_retry_at - now;
		p[0] = (struct pollfd){.fd = s->efd, .events = POLLIN};
		if (s->fd >= 0) {
			p[1] = (struct pollfd){.fd = s->fd, .events = POLLIN};
			if ((s->cur && !s->tls_write_wants_in) || s->tls_read_wants_out)
				p[1].events |= POLLOUT;
			np = 2;
		}
		int fd = s->fd, read_on_out = s->tls_read_wants_out,
		    write_on_in = s->tls_write_wants_in, read_more = s->tls_read_more;
		SSL *ssl = s->ssl;
		struct batch *cur = s->cur;
		size_t off = s->cur_off;

		pthread_mutex_unlock(&s->mu);
		int pr = poll(p, (nfds_t)np, (int)((tmo_ns + 999999) / 1000000));

		if (pr > 0 && p[0].revents) {
			uint64_t v;

			if (read(s->efd, &v, sizeof(v)) < 0) {
				/* spurious */
			}
		}
		int err = 0;
		const char *why = NULL;
		bool by_peer = false; /* the receiver closed or reset the connection */
		ssize_t sent = 0;

		short want = 0;

		/* Replies before the write: a peer that acked and hung up fails the write, and
		 * a TLS session cannot be read after a failure. */
		if (np == 2 && (read_more || (pr > 0 && ((p[1].revents & (POLLIN | POLLHUP | POLLERR)) ||
						   (read_on_out && (p[1].revents & POLLOUT)))))) {
			/* until there is nothing more: TLS may hold decrypted bytes that poll()
			 * does not see. But not past the reader's room: the replies are applied
			 * only below, and a burst of acks (max_inflight of them) can be larger
			 * than the reader; then the next pass reads on without waiting. */
			read_more = 0;
			for (;;) {
				ssize_t n;

				if (ssl && reader_room(s->rd) < sizeof(rbuf)) {
					read_more = 1;
					break;
				}
				n = io_recv(ssl, fd, rbuf, sizeof(rbuf), &want);

				read_on_out = n == -EAGAIN && want == POLLOUT;
				if (n == -EAGAIN)
					break;
				if (n == 0) {
					why = "closed by receiver";
					by_peer = true;
				} else if (n < 0) {
					err = (int)n;
					why = "recv";
					by_peer = true;
				} else {
					err = fwd_reader__feed(s->rd, rbuf, (size_t)n);
					if (err)
						why = "bad reply";
				}
				if (why || !ssl)
					break;
			}
			/* acks are applied under the lock below, even when the connection
			 * is lost: what was read before the loss counts */
		}
		if (!why && pr > 0 && np == 2 && cur &&
		    (p[1].revents & (write_on_in ? POLLIN | POLLHUP | POLLERR : POLLOUT))) {
			sent = io_send(ssl, fd, cur->msg + off, cur->msg_len - off, &want);
			write_on_in = sent == -EAGAIN && want == POLLIN;
			if (sent == -EAGAIN) {
				sent = 0;
			} else if (sent < 0) {
				err = (int)sent;
				sent = 0;
				why = "send";
				by_peer = true;
			}
		}
		pthread_mutex_lock(&s->mu);
		if (s->fd == fd) {
			s->tls_read_wants_out = read_on_out;
			s->tls_write_wants_in = write_on_in;
			s->tls_read_more = read_more;
		}
		if (sent > 0) {
			s->cur_off += (size_t)sent;
			s->cur_moved = mono_ns();
			s->st.bytes_sent += (uint64_t)sent;
			if (s->cur_off == cur->msg_len) {
				cur->st = B_INFLIGHT;
				cur->t_sent = mono_ns();
				cur->busy = 0;
				s->n_inflight++;
				s->st.messages_sent++;
				if (cur->resend)
					s->st.messages_resent++;
				if (cur->disk) {
					free(cur->msg);
					cur->msg = NULL;
				}
				s->cur = NULL;
			}
		}
		if (s->fd >= 0) {
			/* on a loss, the acks read and, on a plain socket, still readable
			 * retire their batches before disconnect() requeues the rest */
			int r = take_acks(s, why != NULL);

			if (r == -ENOKEY) {
				/* in_forward with shared_key, empty_shared_key or security.users
				 * opens with HELO and takes our records for a bad PING: it hangs
				 * up, for ever. Say why, once, and count it as what it is. */
				s->st.handshake_failures++;
				if (s->st.handshake_failures == 1 || log__level() >= LOG_DEBUG)
					pr_warn("forward: %s asks for the shared-key handshake (HELO): "
						"give --forward-shared-key (\"\" for in_forward's "
						"empty_shared_key)\n",
						s->spec);
				err = r;
				why = "handshake required";
				by_peer = false;
			} else if (r < 0 && !why) {
				err = r;
				why = "bad reply";
			}
		}
		if (why)
			disconnect(s, why, err, by_peer);
	}
	if (s->fd >= 0)
		conn_close(s, true);
	if (s->cur) {
		s->cur->busy = 0;
		s->cur = NULL;
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

/* ---- sink ops ---- */

static int wait_drained(struct fwd *s, uint32_t ms)
{
	struct timespec dl;

	abs_deadline(&dl, ms);
	pthread_mutex_lock(&s->mu);
	s->flush_all = 1;
	/* The sender may be waiting out a reconnect delay of up to backoff_max_ms, longer than
	 * this wait: it tries once now, and while we wait, again at least every
	 * FWD_DRAIN_RETRY_MS (disconnect()). */
	s->draining++;
	s->next_connect = 0;
	wake(s);
	while ((s->head || s->n_open) && !s->stop) {
		if (pthread_cond_timedwait(&s->drained, &s->mu, &dl) == ETIMEDOUT)
			break;
		if (s->n_open) {
			s->flush_all = 1;
			wake(s);
		}
	}
	int err = (s->head || s->n_open) ? -ETIMEDOUT : 0;

	s->draining--;
	pthread_mutex_unlock(&s->mu);
	return err;
}

static int fwd_flush(struct sink *sk)
{
	struct fwd *s = (struct fwd *)sk;

	return wait_drained(s, s->o.close_timeout_ms);
}

static void free_all(struct fwd *s)
{
	struct batch *b, *n;

	for (uint32_t i = 0; i < s->n_open; i++) {
		free(s->open[i]->tag);
		free(s->open[i]->raw);
		free(s->open[i]);
	}
	for (b = s->head; b; b = n) {
		n = b->next;
		free(b->tag);
		free(b->raw);
		free(b->msg);
		free(b);
	}
	s->head = s->tail = NULL;
	free(s->open);
	if (s->z_ok)
		deflateEnd(&s->z);
	fwd_reader__free(s->rd);
	if (s->efd >= 0)
		close(s->efd);
	if (s->spool_lock_fd >= 0)
		close(s->spool_lock_fd);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->space);
	pthread_cond_destroy(&s->drained);
	SSL_CTX_free(s->tls);
	free(s->tls_name);
	free(s->spec);
	free(s->path);
	free(s->host);
	free(s->port);
	free(s->spool_dir);
	free(s->shared_key);
	free(s->self_hostname);
	free(s->username);
	free(s->password);
	free(s);
}

int sink_fwd__close(struct sink *sk, struct fwd_stats *final)
{
	struct fwd *s = (struct fwd *)sk;
	int err = wait_drained(s, s->o.close_timeout_ms);
	uint64_t lost = 0;
	char line[1024];

	pthread_mutex_lock(&s->mu);
	s->stop = 1;
	wake(s);
	pthread_cond_broadcast(&s->space);
	pthread_mutex_unlock(&s->mu);
	if (s->thr_started)
		pthread_join(s->thr, NULL);
	/* The sender is gone: seal and spool what is left, so a restart sends it. */
	while (s->n_open)
		seal(s, 0);
	if (s->spool_dir) {
		for (struct batch *b = s->head; b; b = b->next) {
			if (b->st == B_RAW) {
				int spooled;
				long r;

				b->seq = s->next_seq++;
				prepare(s, b, &spooled, &r);
				finish_prepare(s, b, spooled, r);
			}
		}
		/* a batch whose spool write failed (now or earlier, READY or in flight) is
		 * only in memory: one more try, else it is lost with the process */
		for (struct batch *b = s->head; b; b = b->next) {
			int e = !b->disk && b->msg ? spool_retry(s, b, false) : 0;

			if (e)
				pr_warn("forward: spool write failed again at exit: %s\n",
					strerror(-e));
		}
	}
	for (struct batch *b = s->head; b; b = b->next)
		if (!b->disk)
			lost += b->records;
	s->st.records_unacked_at_close = s->st.records_pending;
	s->st.records_lost_at_close = lost;
	if (final)
		*final = s->st;
	fwd_stats__format(&s->st, line, sizeof(line));
	pr_info("forward %s: %s\n", s->spec, line);
	if (s->st.records_pending && !s->spool_dir)
		pr_warn("forward: %s: %" PRIu64 " records not acked at exit (lost)\n", s->spec,
			s->st.records_pending);
	else if (s->st.records_pending && !lost)
		pr_warn("forward: %s: %" PRIu64 " records not acked at exit (kept in the spool)\n",
			s->spec, s->st.records_pending);
	else if (s->st.records_pending)
		pr_warn("forward: %s: %" PRIu64 " records not acked at exit (%" PRIu64
			" kept in the spool, %" PRIu64 " lost: the spool write failed)\n",
			s->spec, s->st.records_pending, s->st.records_pending - lost, lost);
	free_all(s);
	return err;
}

static int fwd_close(struct sink *sk)
{
	return sink_fwd__close(sk, NULL);
}

static const struct sink_ops fwd_ops = {
    .name = "forward",
    .write = fwd_write,
    .flush = fwd_flush,
    .close = fwd_close,
};

void sink_fwd__interrupt(struct sink *sk)
{
	struct fwd *s = (struct fwd *)sk;
	uint64_t one = 1;

	if (sk->ops != &fwd_ops)
		return;
	__atomic_store_n(&s->interrupted, 1, __ATOMIC_RELAXED); /* lock-free: signal-safe */
	if (write(s->efd, &one, sizeof(one)) < 0) {
		/* the flag alone ends the wait within FWD_BLOCK_SLICE_MS */
	}
}

void sink_fwd__stats(struct sink *sk, struct fwd_stats *st)
{
	struct fwd *s = (struct fwd *)sk;

	if (sk->ops != &fwd_ops) {
		memset(st, 0, sizeof(*st));
		return;
	}
	pthread_mutex_lock(&s->mu);
	*st = s->st;
	pthread_mutex_unlock(&s->mu);
}

static char *dup_opt(const char *s, int *err)
{
	char *d;

	if (!s)
		return NULL;
	d = strdup(s);
	if (!d)
		*err = -ENOMEM;
	return d;
}

/* The client context of forward:tls: TLS 1.2 or later, the server verified against
 * --forward-tls-ca (a PEM file of CA certificates) or the system's CAs, a client certificate
 * when --forward-tls-cert is given (its key from --forward-tls-key, else the same file). The
 * files are read here, once: the sink keeps none of their names. */
static int tls_setup(struct fwd *s, const struct fwd_opts *o)
{
	const char *what = NULL;
	unsigned long e;
	char why[256] = "";

	s->tls = SSL_CTX_new(TLS_client_method());
	if (!s->tls)
		return -ENOMEM;
	SSL_CTX_set_min_proto_version(s->tls, TLS1_2_VERSION);
	SSL_CTX_set_verify(s->tls, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_mode(s->tls,
			 SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	ERR_clear_error();
	if (o->tls_ca ? !SSL_CTX_load_verify_locations(s->tls, o->tls_ca, NULL)
		      : !SSL_CTX_set_default_verify_paths(s->tls))
		what = o->tls_ca ? o->tls_ca : "the system's CA certificates";
	else if (o->tls_cert && !SSL_CTX_use_certificate_chain_file(s->tls, o->tls_cert))
		what = o->tls_cert;
	else if (o->tls_cert &&
		 (!SSL_CTX_use_PrivateKey_file(s->tls, o->tls_key ? o->tls_key : o->tls_cert,
					       SSL_FILETYPE_PEM) ||
		  !SSL_CTX_check_private_key(s->tls)))
		what = o->tls_key ? o->tls_key : o->tls_cert;
	else if (o->tls_key && !o->tls_cert)
		what = "--forward-tls-key without --forward-tls-cert";
	if (!what)
		return 0;
	e = ERR_peek_error();
	if (e)
		ERR_error_string_n(e, why, sizeof(why));
	pr_warn("forward: TLS setup for %s: cannot use %s%s%s\n", s->spec, what, *why ? ": " : "",
		why);
	return -EINVAL;
}

static int parse_spec(struct fwd *s, const char *spec)
{
	const char *p = spec;

	if (!strncmp(p, "forward:", 8))
		p += 8;
	if (!strncmp(p, "unix:", 5)) {
		p += 5;
		if (!strncmp(p, "//", 2)) /* unix:///path */
			p += 2;
		if (!*p || strlen(p) >= sizeof(((struct sockaddr_un *)0)->sun_path))
			return -EINVAL;
		s->is_unix = 1;
		s->path = strdup(p);
		return s->path ? 0 : -ENOMEM;
	}
	if (!strncmp(p, "tcp:", 4) || !strncmp(p, "tls:", 4)) {
		const char *colon;
		size_t hl;

		s->is_tls = p[1] == 'l';
		p += 4;
		if (!strncmp(p, "//", 2))
			p += 2;
		colon = strrchr(p, ':');
		if (!colon || !colon[1] || colon == p)
			return -EINVAL;
		hl = (size_t)(colon - p);
		if (p[0] == '[') {
			if (hl < 3 || p[hl - 1] != ']')
				return -EINVAL;
			s->host = strndup(p + 1, hl - 2);
		} else {
			if (memchr(p, ':', hl))
				return -EINVAL; /* IPv6 needs brackets */
			s->host = strndup(p, hl);
		}
		for (const char *q = colon + 1; *q; q++)
			if (*q < '0' || *q > '9')
				return -EINVAL;
		if (atoi(colon + 1) <= 0 || atoi(colon + 1) > 65535)
			return -EINVAL;
		s->port = strdup(colon + 1);
		return s->host && s->port ? 0 : -ENOMEM;
	}
	return -EINVAL;
}

struct sink *sink_fwd__open(const char *spec, const struct fwd_opts *o)
{
	struct fwd *s = calloc(1, sizeof(*s));
	pthread_condattr_t ca;
	char host[256];
	int err = 0;

	if (!s) {
		errno = ENOMEM;
		return NULL;
	}
	s->base.ops = &fwd_ops;
	s->efd = -1;
	s->fd = -1;
	s->spool_lock_fd = -1;
	pthread_mutex_init(&s->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->space, &ca);
	pthread_cond_init(&s->drained, &ca);
	pthread_condattr_destroy(&ca);
	if (o)
		s->o = *o;
	else
		fwd_opts__default(&s->o);
	s->spec = strdup(spec);
	if (!s->spec) {
		err = -ENOMEM;
		goto fail;
	}
	err = parse_spec(s, spec);
	if (err) {
		pr_warn(
		    "forward: bad output '%s' (want forward:unix:PATH, forward:tcp:HOST:PORT or "
		    "forward:tls:HOST:PORT)\n",
		    spec);
		goto fail;
	}
	if (s->o.mode > FWD_MODE_COMPRESSED || s->o.policy > FWD_BLOCK || !s->o.batch_records ||
	    !s->o.batch_bytes || !s->o.max_tags || !s->o.max_inflight ||
	    s->o.max_message_bytes < FWD_MSG_OVERHEAD + FWD_TAG_MAX + 1024 ||
	    s->o.max_message_bytes > 0xffffffffULL || s->o.gzip_level < 0 || s->o.gzip_level > 9 ||
	    !s->o.backoff_min_ms || s->o.backoff_max_ms < s->o.backoff_min_ms ||
	    s->o.queue_max_bytes < 65536) {
		pr_warn("forward: invalid options for %s\n", spec);
		err = -EINVAL;
		goto fail;
	}
	/* A user is authenticated in the shared-key handshake only (in_forward refuses
	 * security.users without shared_key or empty_shared_key), on every transport; a
	 * password needs its user. */
	if ((s->o.username || s->o.password) && (!s->o.shared_key || !s->o.username)) {
		pr_warn("forward: %s for %s needs %s\n",
			s->o.username ? "a user" : "a password", spec,
			s->o.username ? "a shared key (\"\" for in_forward's empty_shared_key)"
				      : "a user");
		err = -EINVAL;
		goto fail;
	}
	if (!s->is_tls && (s->o.tls_ca || s->o.tls_name || s->o.tls_cert || s->o.tls_key)) {
		pr_warn("forward: the TLS options need a forward:tls:HOST:PORT output, not %s\n",
			spec);
		err = -EINVAL;
		goto fail;
	}
	if (s->o.shared_key && s->is_unix)
		pr_info("forward: shared_key on a unix socket (in_forward does it there too)\n");
	if (s->o.mode == FWD_MODE_FORWARD)
		pr_info("forward: Forward mode: fluent-bit's in_forward acks these messages even "
			"when its paused input drops their records; packed and gzip are not acked "
			"then, and are resent\n");
	/* a batch must always fit one message, whatever the tag */
	s->entries_cap = s->o.max_message_bytes - FWD_MSG_OVERHEAD;
	if (s->o.batch_bytes > s->entries_cap - FWD_TAG_MAX)
		s->o.batch_bytes = s->entries_cap - FWD_TAG_MAX;
	/* a small queue still holds two batches: one filling, one in flight */
	if (s->o.batch_bytes > s->o.queue_max_bytes / 2)
		s->o.batch_bytes = s->o.queue_max_bytes / 2;
	/* A record whose batch of its own (framing included) needs more than half the queue,
	 * or half the spool cap, is refused as oversize. The queue could take it only by
	 * emptying most of itself: drop-oldest would throw away the batches in flight, block
	 * would wait until the queue is nearly empty (for ever while other tags keep writing),
	 * and past the whole queue it would drop everything and still refuse it, or block for
	 * ever. Half is the batch cap above: one batch filling, one in flight. */
	{
		uint64_t lim = s->o.queue_max_bytes;

		if (s->o.spool_dir && s->o.spool_max_bytes < lim)
			lim = s->o.spool_max_bytes;
		s->batch_max = (size_t)(lim / 2);
	}
	s->spool_read_max = FWD_SPOOL_FILE_MAX;
	if (s->o.max_message_bytes > s->spool_read_max)
		s->spool_read_max = s->o.max_message_bytes;
	if (gethostname(host, sizeof(host)) < 0)
		snprintf(host, sizeof(host), "mailtap");
	host[sizeof(host) - 1] = '\0';
	s->spool_dir = dup_opt(s->o.spool_dir, &err);
	s->shared_key = dup_opt(s->o.shared_key, &err);
	s->self_hostname = dup_opt(s->o.self_hostname ? s->o.self_hostname : host, &err);
	s->username = dup_opt(s->o.username, &err);
	s->password = dup_opt(s->o.password, &err);
	if (err)
		goto fail;
	if (s->shared_key && ping_len(s) > FWD_PING_MAX) {
		pr_warn("forward: the handshake's PING for %s would take %zu bytes, in_forward "
			"reads at most %d: shorten the user name or the self hostname\n",
			spec, ping_len(s), FWD_PING_MAX);
		err = -EINVAL;
		goto fail;
	}
	s->tls_name = dup_opt(s->o.tls_name, &err);
	if (err)
		goto fail;
	if (s->is_tls) {
		err = tls_setup(s, &s->o);
		if (err)
			goto fail;
	}
	/* read by tls_setup; the caller's strings are not kept */
	s->o.tls_ca = s->o.tls_cert = s->o.tls_key = NULL;
	s->o.tls_name = s->tls_name;
	s->o.spool_dir = s->spool_dir;
	s->o.shared_key = s->shared_key;
	s->o.self_hostname = s->self_hostname;
	s->o.username = s->username;
	s->o.password = s->password;
	s->open = calloc(s->o.max_tags, sizeof(*s->open));
	s->rd = fwd_reader__new(FWD_REPLY_MAX);
	s->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (!s->open || !s->rd || s->efd < 0) {
		err = s->efd < 0 ? -errno : -ENOMEM;
		goto fail;
	}
	if (deflateInit2(&s->z, s->o.gzip_level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) ==
	    Z_OK)
		s->z_ok = 1;
	if (getrandom(&s->rng, sizeof(s->rng), GRND_NONBLOCK) != sizeof(s->rng))
		s->rng = mono_ns() ^ (uint64_t)getpid();
	s->backoff_ms = s->o.backoff_min_ms;
	if (s->spool_dir) {
		char lk[PATH_MAX];

		if (mkdir(s->spool_dir, 0700) < 0 && errno != EEXIST) {
			err = -errno;
			pr_warn("forward: cannot create spool %s: %s\n", s->spool_dir,
				strerror(-err));
			goto fail;
		}
		snprintf(lk, sizeof(lk), "%s/.lock", s->spool_dir);
		s->spool_lock_fd = open(lk, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (s->spool_lock_fd < 0) {
			err = -errno;
			pr_warn("forward: cannot open %s: %s\n", lk, strerror(-err));
			goto fail;
		}
		if (flock(s->spool_lock_fd, LOCK_EX | LOCK_NB) < 0) {
			err = -ENOLCK;
			pr_warn("forward: spool %s is in use by another process\n", s->spool_dir);
			goto fail;
		}
		err = spool_recover(s);
		if (err)
			goto fail;
	}
	err = -pthread_create(&s->thr, NULL, sender_main, s);
	if (err)
		goto fail;
	s->thr_started = 1;
	return &s->base;
fail:
	free_all(s);
	errno = -err;
	return NULL;
}
