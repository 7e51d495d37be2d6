// SPDX-License-Identifier: BSD-3-Clause
/* Forward sink: the reply reader (whole, split at every byte, byte by byte), the message
 * encoder (exact bytes, every mode, gzip round trip), spec parsing, the full-queue policies,
 * the spool across a close/reopen, and delivery to an in-process acking receiver that drops
 * the first connection without acking. Regressions: acks read before a lost connection,
 * a first message stuck half written, records too large for the queue, drop-oldest that
 * cannot make room, spool files from a larger max_message_bytes, failed spool writes. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <fcntl.h>
#include <time.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>
#include <msgpack.h>
#include <zlib.h>

#include "mailtap/bits.h"
#include "mailtap/sink.h"
#include "mailtap/sink_fwd.h"

/* ---- reply reader ---- */

/* {"ack":"Zm9v"} {"ack":"YmFy"} ["HELO",{"nonce":"\x00\xff..16","auth":"","keepalive":true}]
 * ["PONG",true,"","srv","ab"] */
static const uint8_t replies[] = {
    0x81, 0xa3, 'a',  'c',  'k',  0xa4, 'Z',  'm',  '9',  'v',	0x81, 0xa3, 'a',  'c',
    'k',  0xa4, 'Y',  'm',  'F',  'y',	0x92, 0xa4, 'H',  'E',	'L',  'O',  0x83, 0xa5,
    'n',  'o',	'n',  'c',  'e',  0xb0, 0x00, 0xff, 0x01, 0xfe, 0x02, 0xfd, 0x03, 0xfc,
    0x04, 0xfb, 0x05, 0xfa, 0x06, 0xf9, 0x07, 0xf8, 0xa4, 'a',	'u',  't',  'h',  0xa0,
    0xa9, 'k',	'e',  'e',  'p',  'a',	'l',  'i',  'v',  'e',	0xc3, 0x95, 0xa4, 'P',
    'O',  'N',	'G',  0xc3, 0xa0, 0xa3, 's',  'r',  'v',  0xa2, 'a',  'b',
};

struct got {
	int n;
	struct fwd_msg m[8];
	int err;
};

static void feed_split(const uint8_t *buf, size_t len, const size_t *cuts, size_t ncuts,
		       struct got *g)
{
	struct fwd_reader *r = fwd_reader__new(4096);
	size_t pos = 0;

	assert_non_null(r);
	memset(g, 0, sizeof(*g));
	for (size_t i = 0; i <= ncuts; i++) {
		size_t end = i < ncuts ? cuts[i] : len;
		int rc;

		assert_int_equal(fwd_reader__feed(r, buf + pos, end - pos), 0);
		pos = end;
		while ((rc = fwd_reader__next(r, &g->m[g->n])) == 1)
			g->n++;
		if (rc < 0) {
			g->err = rc;
			break;
		}
	}
	fwd_reader__free(r);
}

static void check_replies(const struct got *g)
{
	assert_int_equal(g->err, 0);
	assert_int_equal(g->n, 4);
	assert_int_equal(g->m[0].type, FWD_MSG_ACK);
	assert_string_equal(g->m[0].chunk, "Zm9v");
	assert_int_equal(g->m[0].chunk_len, 4);
	assert_int_equal(g->m[1].type, FWD_MSG_ACK);
	assert_string_equal(g->m[1].chunk, "YmFy");
	assert_int_equal(g->m[2].type, FWD_MSG_HELO);
	assert_int_equal(g->m[2].nonce_len, 16);
	assert_int_equal(g->m[2].nonce[0], 0x00);
	assert_int_equal(g->m[2].nonce[1], 0xff);
	assert_int_equal(g->m[2].nonce[15], 0xf8);
	assert_int_equal(g->m[2].auth_len, 0);
	assert_int_equal(g->m[3].type, FWD_MSG_PONG);
	assert_true(g->m[3].auth_ok);
	assert_string_equal(g->m[3].host, "srv");
	assert_string_equal(g->m[3].digest, "ab");
}

static void test_reader_whole_split_bytewise(void **state)
{
	struct got g;
	size_t cuts[sizeof(replies)];

	(void)state;
	feed_split(replies, sizeof(replies), NULL, 0, &g);
	check_replies(&g);
	for (size_t c = 1; c < sizeof(replies); c++) {
		cuts[0] = c;
		feed_split(replies, sizeof(replies), cuts, 1, &g);
		check_replies(&g);
	}
	for (size_t c = 1; c < sizeof(replies); c++)
		cuts[c - 1] = c;
	feed_split(replies, sizeof(replies), cuts, sizeof(replies) - 1, &g);
	check_replies(&g);
}

static void test_reader_errors(void **state)
{
	struct got g;
	/* nil: not a reply */
	static const uint8_t nil[] = {0xc0};
	/* {"ack": 7}: chunk not a str */
	static const uint8_t intack[] = {0x81, 0xa3, 'a', 'c', 'k', 0x07};
	/* {"ack":"x","more":1} */
	static const uint8_t twokeys[] = {0x82, 0xa3, 'a', 'c', 'k', 0xa1, 'x',
					  0xa4, 'm',  'o', 'r', 'e', 0x01};
	/* ["PONG", 1, ...]: auth result not bool */
	static const uint8_t badpong[] = {0x95, 0xa4, 'P', 'O', 'N', 'G', 0x01, 0xa0, 0xa0, 0xa0};
	/* 0xc1 is never used in msgpack */
	static const uint8_t garbage[] = {0xc1};
	/* {"ack":"Zm9v"} then nil: the ack is delivered, then the error sticks */
	static const uint8_t ack_then_nil[] = {0x81, 0xa3, 'a', 'c', 'k', 0xa4,
					       'Z',  'm',  '9', 'v', 0xc0};

	(void)state;
	feed_split(nil, sizeof(nil), NULL, 0, &g);
	assert_int_equal(g.err, -EPROTO);
	feed_split(intack, sizeof(intack), NULL, 0, &g);
	assert_int_equal(g.err, -EPROTO);
	feed_split(twokeys, sizeof(twokeys), NULL, 0, &g);
	assert_int_equal(g.err, -EPROTO);
	feed_split(badpong, sizeof(badpong), NULL, 0, &g);
	assert_int_equal(g.err, -EPROTO);
	feed_split(garbage, sizeof(garbage), NULL, 0, &g);
	assert_int_equal(g.err, -EPROTO);
	feed_split(ack_then_nil, sizeof(ack_then_nil), NULL, 0, &g);
	assert_int_equal(g.n, 1);
	assert_string_equal(g.m[0].chunk, "Zm9v");
	assert_int_equal(g.err, -EPROTO);

	/* a str of 100000 bytes announced: larger than the reader's 4096 limit */
	struct fwd_reader *r = fwd_reader__new(4096);
	uint8_t big[5000] = {0xdb, 0x00, 0x01, 0x86, 0xa0};
	struct fwd_msg m;

	assert_int_equal(fwd_reader__feed(r, big, sizeof(big)), 0);
	assert_int_equal(fwd_reader__next(r, &m), -EMSGSIZE);
	/* sticky */
	assert_int_equal(fwd_reader__feed(r, replies, 10), -EMSGSIZE);
	assert_int_equal(fwd_reader__next(r, &m), -EMSGSIZE);
	fwd_reader__reset(r);
	/* map32 announcing 0x61a37372 pairs (found by fuzzing: msgpack-c's streaming unpacker
	 * tried to allocate 52 GB for it): incomplete, then too large, nothing allocated */
	static const uint8_t hostile[] = {0xdf, 0x61, 0xa3, 0x73, 0x72};

	assert_int_equal(fwd_reader__feed(r, hostile, sizeof(hostile)), 0);
	assert_int_equal(fwd_reader__next(r, &m), 0);
	memset(big, 0x01, sizeof(big));
	assert_int_equal(fwd_reader__feed(r, big, sizeof(big)), 0);
	assert_int_equal(fwd_reader__next(r, &m), -EMSGSIZE);
	fwd_reader__reset(r);
	/* nesting deeper than 8 levels is refused: [[[[[[[[[[1]]]]]]]]]] */
	static const uint8_t deep[] = {0x91, 0x91, 0x91, 0x91, 0x91, 0x91,
				       0x91, 0x91, 0x91, 0x91, 0x01};

	assert_int_equal(fwd_reader__feed(r, deep, sizeof(deep)), 0);
	assert_int_equal(fwd_reader__next(r, &m), -EPROTO);
	fwd_reader__reset(r);
	assert_int_equal(fwd_reader__feed(r, replies, 10), 0);
	assert_int_equal(fwd_reader__next(r, &m), 1);
	assert_string_equal(m.chunk, "Zm9v");
	fwd_reader__free(r);
}

/* ---- encoder ---- */

/* one entry: [EventTime(1700000000.5), {"a":1}] */
static const uint8_t entry[] = {
    0x92, 0xd7, 0x00, 0x65, 0x53, 0xf1, 0x00, 0x1d, 0xcd, 0x65, 0x00, /* fixext8 type 0 */
    0x81, 0xa1, 'a',  0x01,
};

static void test_encode_forward_exact(void **state)
{
	uint8_t *m = NULL;
	enum fwd_mode used;
	long n;
	/* ["t", [entry], {"chunk":"c","size":1}] */
	static const uint8_t want[] = {
	    0x93, 0xa1, 't',  0x91, 0x92, 0xd7, 0x00, 0x65, 0x53, 0xf1, 0x00, 0x1d,
	    0xcd, 0x65, 0x00, 0x81, 0xa1, 'a',	0x01, 0x82, 0xa5, 'c',	'h',  'u',
	    'n',  'k',	0xa1, 'c',  0xa4, 's',	'i',  'z',  'e',  0x01,
	};
	/* ["t", bin8(entry), {"chunk":"c","size":1}] */
	static const uint8_t want_packed[] = {
	    0x93, 0xa1, 't',  0xc4, 15,	  0x92, 0xd7, 0x00, 0x65, 0x53, 0xf1, 0x00,
	    0x1d, 0xcd, 0x65, 0x00, 0x81, 0xa1, 'a',  0x01, 0x82, 0xa5, 'c',  'h',
	    'u',  'n',	'k',  0xa1, 'c',  0xa4, 's',  'i',  'z',  'e',	0x01,
	};

	(void)state;
	n = fwd__encode(FWD_MODE_FORWARD, 1, "t", 1, entry, sizeof(entry), 1, "c", 1000000, &m,
			&used);
	assert_int_equal(n, sizeof(want));
	assert_memory_equal(m, want, sizeof(want));
	assert_int_equal(used, FWD_MODE_FORWARD);
	free(m);
	n = fwd__encode(FWD_MODE_PACKED, 1, "t", 1, entry, sizeof(entry), 1, "c", 1000000, &m,
			&used);
	assert_int_equal(n, sizeof(want_packed));
	assert_memory_equal(m, want_packed, sizeof(want_packed));
	free(m);
	/* too large for max_bytes */
	assert_int_equal(
	    fwd__encode(FWD_MODE_PACKED, 1, "t", 1, entry, sizeof(entry), 1, "c", 20, &m, &used),
	    -EMSGSIZE);
	/* non-string chunk can't happen; empty batch and long chunk are refused */
	assert_int_equal(fwd__encode(FWD_MODE_PACKED, 1, "t", 1, entry, 0, 0, "c", 1000, &m, &used),
			 -EINVAL);
}

static void test_encode_gzip_roundtrip(void **state)
{
	enum { N = 3000 };
	uint8_t *entries = malloc(N * sizeof(entry)), *m = NULL, *plain = malloc(N * sizeof(entry));
	enum fwd_mode used;
	msgpack_unpacked u;
	size_t off = 0;
	long n;

	(void)state;
	for (int i = 0; i < N; i++)
		memcpy(entries + i * sizeof(entry), entry, sizeof(entry));
	n = fwd__encode(FWD_MODE_COMPRESSED, 6, "mailtap.smtp", 12, entries, N * sizeof(entry), N,
			"AAAAAAAAAAAAAAAAAAAAAA==", 1000000, &m, &used);
	assert_true(n > 0);
	assert_int_equal(used, FWD_MODE_COMPRESSED);
	msgpack_unpacked_init(&u);
	assert_int_equal(msgpack_unpack_next(&u, (const char *)m, (size_t)n, &off),
			 MSGPACK_UNPACK_SUCCESS);
	assert_int_equal(off, (size_t)n);
	msgpack_object *a = u.data.via.array.ptr;

	assert_int_equal(u.data.type, MSGPACK_OBJECT_ARRAY);
	assert_int_equal(u.data.via.array.size, 3);
	assert_int_equal(a[0].type, MSGPACK_OBJECT_STR);
	assert_memory_equal(a[0].via.str.ptr, "mailtap.smtp", 12);
	assert_int_equal(a[1].type, MSGPACK_OBJECT_BIN);
	assert_int_equal(a[2].type, MSGPACK_OBJECT_MAP);
	assert_int_equal(a[2].via.map.size, 3);
	assert_memory_equal(a[2].via.map.ptr[0].key.via.str.ptr, "chunk", 5);
	assert_int_equal(a[2].via.map.ptr[0].val.type, MSGPACK_OBJECT_STR);
	assert_int_equal(a[2].via.map.ptr[1].val.via.u64, N);
	assert_memory_equal(a[2].via.map.ptr[2].key.via.str.ptr, "compressed", 10);
	assert_memory_equal(a[2].via.map.ptr[2].val.via.str.ptr, "gzip", 4);
	/* gzip magic, and it inflates back to the entries */
	assert_int_equal((uint8_t)a[1].via.bin.ptr[0], 0x1f);
	assert_int_equal((uint8_t)a[1].via.bin.ptr[1], 0x8b);
	z_stream z = {0};

	assert_int_equal(inflateInit2(&z, 15 + 16), Z_OK);
	z.next_in = (Bytef *)a[1].via.bin.ptr;
	z.avail_in = a[1].via.bin.size;
	z.next_out = plain;
	z.avail_out = N * sizeof(entry);
	assert_int_equal(inflate(&z, Z_FINISH), Z_STREAM_END);
	assert_int_equal(z.total_out, N * sizeof(entry));
	assert_memory_equal(plain, entries, N * sizeof(entry));
	inflateEnd(&z);
	msgpack_unpacked_destroy(&u);
	free(m);

	/* incompressible payload: sent packed instead */
	for (size_t i = 0; i < N * sizeof(entry); i++)
		entries[i] = (uint8_t)(i * 2654435761u >> 13);
	n = fwd__encode(FWD_MODE_COMPRESSED, 6, "t", 1, entries, 200, 1, "c", 1000000, &m, &used);
	assert_true(n > 0);
	assert_int_equal(used, FWD_MODE_PACKED);
	free(m);
	free(entries);
	free(plain);
}

static void test_options_and_specs(void **state)
{
	struct fwd_opts o;
	enum fwd_policy p;
	enum fwd_mode md;

	(void)state;
	fwd_opts__default(&o);
	assert_int_equal(o.mode, FWD_MODE_PACKED);
	assert_int_equal(o.max_message_bytes, 1000000);
	assert_int_equal(o.policy, FWD_DROP_OLDEST);
	assert_int_equal(fwd_opts__parse_policy("block", &p), 0);
	assert_int_equal(p, FWD_BLOCK);
	assert_int_equal(fwd_opts__parse_policy("drop", &p), -EINVAL);
	assert_int_equal(fwd_opts__parse_mode("gzip", &md), 0);
	assert_int_equal(md, FWD_MODE_COMPRESSED);
	assert_int_equal(fwd_opts__parse_mode("message", &md), -EINVAL);

	static const char *const bad[] = {
	    "forward:udp:1.2.3.4:5",
	    "forward:tcp:host",
	    "forward:tcp::24224",
	    "forward:tcp:host:0",
	    "forward:tcp:host:99999",
	    "forward:tcp:host:12x",
	    "forward:tcp:::1:24224",
	    "forward:tls:host",
	    "forward:tls::24224",
	    "tls:host:0",
	    "forward:unix:",
	    "file:/x",
	    "forward:unix:/"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		assert_null(sink_fwd__open(bad[i], &o));
		assert_int_equal(errno, EINVAL);
	}
	static const char *const good[] = {
	    "forward:tcp:[::1]:24224", "tcp:127.0.0.1:24224",	  "forward:unix:/nonexistent/s",
	    "unix:///nonexistent/s",   "forward:tls:[::1]:24224", "tls://localhost:24224",
	};
	o.close_timeout_ms = 50;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct sink *s = sink_fwd__open(good[i], &o);

		assert_non_null(s);
		assert_int_equal(sink__close(s), 0); /* nothing written: nothing to wait for */
	}
	/* the smallest queue: 64 KiB, batches capped at half of it */
	struct fwd_stats st;
	struct sink *s;
	uint8_t r[100] = {0x81, 0xa1, 'x', 0xc4, 94}; /* {"x": bin(94)} */

	o.queue_max_bytes = 65535;
	assert_null(sink_fwd__open("forward:unix:/x", &o));
	assert_int_equal(errno, EINVAL);
	o.queue_max_bytes = 65536;
	s = sink_fwd__open("forward:unix:/nonexistent/s", &o);
	assert_non_null(s);
	for (int i = 0; i < 5000; i++) {
		/* drop-oldest, or the new record when the only older batch is being sent
		 * (-ENOBUFS: dropped and counted); never another error */
		int w = sink__write(s, "t", 1, 1, r, sizeof(r) - 1);

		assert_true(w == 0 || w == -ENOBUFS);
	}
	assert_int_equal(sink_fwd__close(s, &st), -ETIMEDOUT);
	assert_true(st.mem_bytes_max <= 65536);
	assert_true(st.records_dropped > 0);
	assert_int_equal(st.records_dropped + st.records_unacked_at_close, 5000);
	o.queue_max_bytes = 64 << 20;

	o.batch_records = 0;
	assert_null(sink_fwd__open("forward:unix:/x", &o));
	assert_int_equal(errno, EINVAL);
	o.batch_records = 2000;

	/* a user (security.users) is checked in the shared-key handshake only: without a key
	 * it is refused on every transport (it was ignored on a unix socket), and so is a
	 * password without its user */
	static const char *const trans[] = {"forward:unix:/nonexistent/s",
					    "forward:tcp:127.0.0.1:24224"};
	static char longname[1001];

	for (size_t i = 0; i < 2; i++) {
		o.username = "alice";
		errno = 0;
		assert_null(sink_fwd__open(trans[i], &o));
		assert_int_equal(errno, EINVAL);
		o.username = NULL;
		o.password = "pw";
		o.shared_key = "k";
		errno = 0;
		assert_null(sink_fwd__open(trans[i], &o));
		assert_int_equal(errno, EINVAL);
		o.username = "alice";
		s = sink_fwd__open(trans[i], &o);
		assert_non_null(s);
		assert_int_equal(sink__close(s), 0);
		/* in_forward reads the PING into 1023 bytes: a longer one cannot pass */
		memset(longname, 'u', sizeof(longname) - 1);
		o.username = longname;
		errno = 0;
		assert_null(sink_fwd__open(trans[i], &o));
		assert_int_equal(errno, EINVAL);
		longname[1023 - 310 - 64] = '\0'; /* with the longest Linux host name */
		o.self_hostname = "h234567890123456789012345678901234567890123456789012345678901234";
		s = sink_fwd__open(trans[i], &o);
		assert_non_null(s);
		assert_int_equal(sink__close(s), 0);
		o.self_hostname = NULL;
		o.username = o.password = o.shared_key = NULL;
	}

	/* TLS options only with forward:tls:, and files that can be used */
	o.tls_name = "fwd.example";
	errno = 0;
	assert_null(sink_fwd__open("forward:tcp:127.0.0.1:24224", &o));
	assert_int_equal(errno, EINVAL);
	assert_null(sink_fwd__open("forward:unix:/x", &o));
	assert_int_equal(errno, EINVAL);
	s = sink_fwd__open("forward:tls:127.0.0.1:24224", &o);
	assert_non_null(s);
	assert_int_equal(sink__close(s), 0);
	o.tls_ca = "/nonexistent/ca.pem";
	errno = 0;
	assert_null(sink_fwd__open("forward:tls:127.0.0.1:24224", &o));
	assert_int_equal(errno, EINVAL);
	o.tls_ca = NULL;
	o.tls_key = "/nonexistent/key.pem"; /* a key without a certificate */
	assert_null(sink_fwd__open("forward:tls:127.0.0.1:24224", &o));
	assert_int_equal(errno, EINVAL);
	o.tls_key = NULL;
	o.tls_cert = "/nonexistent/cert.pem";
	assert_null(sink_fwd__open("forward:tls:127.0.0.1:24224", &o));
	assert_int_equal(errno, EINVAL);
}

static uint8_t rec[300];
static size_t rec_len;

static void make_rec(void)
{
	/* {"pad": "xxx...(280)"} */
	rec[0] = 0x81;
	rec[1] = 0xa3;
	memcpy(rec + 2, "pad", 3);
	rec[5] = 0xd9;
	rec[6] = 250;
	memset(rec + 7, 'x', 250);
	rec_len = 257;
}

static void *interrupt_later(void *arg)
{
	usleep(300000);
	sink_fwd__interrupt(arg);
	return NULL;
}

static void test_block_interrupt(void **state)
{
	struct fwd_opts o;
	struct fwd_stats st;
	struct sink *s;
	pthread_t t;
	int err = 0, i;

	(void)state;
	make_rec();
	fwd_opts__default(&o);
	o.queue_max_bytes = 2 * 1024 * 1024;
	o.policy = FWD_BLOCK; /* block_max_ms 0: as long as it takes */
	o.close_timeout_ms = 50;
	s = sink_fwd__open("forward:unix:/nonexistent/fwd.sock", &o);
	assert_non_null(s);
	assert_int_equal(pthread_create(&t, NULL, interrupt_later, s), 0);
	/* the queue fills after ~7800 records; the next write blocks until the interrupt */
	for (i = 0; i < 100000 && !err; i++)
		err = sink__write(s, "t", 1, 1700000000000000000ULL, rec, rec_len);
	assert_int_equal(err, -ENOBUFS);
	pthread_join(t, NULL);
	/* from now on writes on a full queue do not wait */
	assert_int_equal(sink__write(s, "t", 1, 1700000000000000000ULL, rec, rec_len), -ENOBUFS);
	assert_int_equal(sink_fwd__close(s, &st), -ETIMEDOUT);
	assert_int_equal(st.records_dropped, 2);
	assert_int_equal(st.records_in, (uint64_t)i - 1);
}

static void test_policies_no_receiver(void **state)
{
	struct fwd_opts o;
	struct fwd_stats st;
	struct sink *s;
	const uint64_t q = 2 * 1024 * 1024;

	(void)state;
	make_rec();
	fwd_opts__default(&o);
	o.queue_max_bytes = q;
	o.close_timeout_ms = 50;
	o.backoff_min_ms = 1000;
	o.backoff_max_ms = 1000;

	/* drop-newest: once the queue is full, every further record is refused */
	o.policy = FWD_DROP_NEWEST;
	s = sink_fwd__open("forward:unix:/nonexistent/fwd.sock", &o);
	assert_non_null(s);
	int refused = 0;

	for (int i = 0; i < 20000; i++)
		if (sink__write(s, "mailtap.test", 12, 1700000000000000000ULL, rec, rec_len) ==
		    -ENOBUFS)
			refused++;
	assert_int_equal(sink_fwd__close(s, &st), -ETIMEDOUT);
	assert_true(refused > 0);
	assert_int_equal(st.records_dropped, (uint64_t)refused);
	assert_int_equal(st.records_in + st.records_dropped, 20000);
	assert_int_equal(st.records_unacked_at_close, st.records_in);
	assert_int_equal(st.records_lost_at_close, st.records_in); /* no spool */
	assert_true(st.mem_bytes_max <= q);
	assert_true(st.mem_bytes_max > q - 1024);

	/* drop-oldest: writes always succeed, whole old batches are dropped */
	o.policy = FWD_DROP_OLDEST;
	o.batch_records = 100;
	s = sink_fwd__open("forward:unix:/nonexistent/fwd.sock", &o);
	assert_non_null(s);
	for (int i = 0; i < 20000; i++)
		assert_int_equal(
		    sink__write(s, "mailtap.test", 12, 1700000000000000000ULL, rec, rec_len), 0);
	assert_int_equal(sink_fwd__close(s, &st), -ETIMEDOUT);
	assert_int_equal(st.records_in, 20000);
	assert_true(st.records_dropped > 0);
	assert_int_equal(st.records_dropped % 100, 0);
	assert_int_equal(st.records_dropped + st.records_unacked_at_close, 20000);
	assert_true(st.mem_bytes_max <= q);

	/* block with a limit: waits block_max_ms, then drops the record */
	o.policy = FWD_BLOCK;
	o.block_max_ms = 20;
	s = sink_fwd__open("forward:unix:/nonexistent/fwd.sock", &o);
	assert_non_null(s);
	refused = 0;
	for (int i = 0; i < 9000 && refused < 3; i++)
		if (sink__write(s, "mailtap.test", 12, 1700000000000000000ULL, rec, rec_len))
			refused++;
	assert_int_equal(sink_fwd__close(s, &st), -ETIMEDOUT);
	assert_true(refused > 0);
	assert_int_equal(st.records_dropped, (uint64_t)refused);
	assert_true(st.mem_bytes_max <= q);

	/* a record larger than one message is refused and counted */
	o.policy = FWD_DROP_NEWEST;
	o.max_message_bytes = 4096;
	s = sink_fwd__open("forward:unix:/nonexistent/fwd.sock", &o);
	assert_non_null(s);
	uint8_t *big = calloc(1, 8000);

	big[0] = 0x81; /* {"": bin32(7990)} */
	big[1] = 0xa0;
	big[2] = 0xc6;
	big[3] = 0;
	big[4] = 0;
	big[5] = 0x1f;
	big[6] = 0x36;
	assert_int_equal(sink__write(s, "t", 1, 1, big, 7 + 7990), -EMSGSIZE);
	assert_int_equal(sink_fwd__close(s, &st), 0);
	assert_int_equal(st.records_oversize, 1);
	free(big);
}

static int count_spool(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (strstr(de->d_name, ".fwd"))
			n++;
	closedir(d);
	return n;
}

static void test_spool_reopen(void **state)
{
	char dir[] = "/tmp/test_sink_fwd.XXXXXX";
	struct fwd_opts o;
	struct fwd_stats st;
	struct sink *s, *s2;
	char path[512];

	(void)state;
	make_rec();
	assert_non_null(mkdtemp(dir));
	fwd_opts__default(&o);
	o.spool_dir = dir;
	o.batch_records = 100;
	o.close_timeout_ms = 50;
	o.spool_fsync = false;
	s = sink_fwd__open("forward:unix:/nonexistent/fwd.sock", &o);
	assert_non_null(s);
	/* one spool, one process */
	s2 = sink_fwd__open("forward:unix:/nonexistent/fwd.sock", &o);
	assert_null(s2);
	assert_int_equal(errno, ENOLCK);
	for (int i = 0; i < 1050; i++)
		assert_int_equal(sink__write(s, "t", 1, 1700000000000000000ULL, rec, rec_len), 0);
	assert_int_equal(sink_fwd__close(s, &st), -ETIMEDOUT);
	assert_int_equal(st.records_unacked_at_close, 1050);
	assert_int_equal(st.records_spooled, 1050);
	assert_int_equal(count_spool(dir), 11);

	/* a torn temp file and a corrupt message are cleaned up at open */
	snprintf(path, sizeof(path), "%s/.tmp-00000000000000ff", dir);
	FILE *f = fopen(path, "w");

	fputs("partial", f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/00000000000000fe.fwd", dir);
	f = fopen(path, "w");
	fputs("not msgpack", f);
	fclose(f);

	s = sink_fwd__open("forward:unix:/nonexistent/fwd.sock", &o);
	assert_non_null(s);
	sink_fwd__stats(s, &st);
	assert_int_equal(st.records_recovered, 1050);
	assert_int_equal(st.records_pending, 1050);
	assert_int_equal(st.spool_errors, 1);
	assert_int_equal(sink_fwd__close(s, &st), -ETIMEDOUT);
	assert_int_equal(count_spool(dir), 11);
	assert_int_equal(access(path, F_OK), -1);

	/* clean up */
	DIR *d = opendir(dir);
	struct dirent *de;

	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' && (!de->d_name[1] || de->d_name[1] == '.'))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

static void rm_tree(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char path[512];

	while (d && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		unlink(path);
	}
	if (d)
		closedir(d);
	rmdir(dir);
}

static void test_spool_cap(void **state)
{
	char dir[] = "/tmp/test_sink_fwd_cap.XXXXXX";
	const uint64_t cap = 3 * 1024 * 1024;
	struct fwd_opts o;
	struct fwd_stats st;
	struct sink *s;

	(void)state;
	make_rec();
	assert_non_null(mkdtemp(dir));
	fwd_opts__default(&o);
	o.spool_dir = dir;
	o.spool_max_bytes = cap;
	o.spool_fsync = false;
	o.batch_records = 500;
	o.close_timeout_ms = 50;
	o.policy = FWD_DROP_OLDEST;
	s = sink_fwd__open("forward:unix:/nonexistent/fwd.sock", &o);
	assert_non_null(s);
	for (int i = 0; i < 20000; i++) {
		assert_int_equal(sink__write(s, "t", 1, 1700000000000000000ULL, rec, rec_len), 0);
		if (i % 1000 == 0) {
			sink_fwd__stats(s, &st);
			assert_true(st.spool_bytes + st.mem_bytes <= cap);
		}
	}
	assert_int_equal(sink_fwd__close(s, &st), -ETIMEDOUT);
	assert_true(st.records_dropped > 0);
	assert_int_equal(st.records_dropped % 500, 0);
	assert_int_equal(st.records_dropped + st.records_unacked_at_close, 20000);
	assert_true(st.spool_bytes <= cap);
	assert_true(st.spool_bytes > cap - 2 * 500 * 268);
	/* what is left is the newest: reopening recovers exactly the unacked records */
	s = sink_fwd__open("forward:unix:/nonexistent/fwd.sock", &o);
	assert_non_null(s);
	sink_fwd__stats(s, &st);
	assert_true(st.records_recovered > 0);
	assert_int_equal(st.records_dropped, 0);
	assert_int_equal(sink_fwd__close(s, &st), -ETIMEDOUT);
	assert_int_equal(st.records_recovered, st.records_unacked_at_close);
	rm_tree(dir);
}

/* ---- an in-process receiver: drops its first connection unacked, then acks ---- */

struct rx {
	int lfd;
	uint64_t records, messages, conns;
	int drop_first;
};

static uint64_t count_entries(const msgpack_object *o)
{
	if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != 3)
		return 0;
	if (o->via.array.ptr[1].type == MSGPACK_OBJECT_ARRAY)
		return o->via.array.ptr[1].via.array.size;
	if (o->via.array.ptr[1].type == MSGPACK_OBJECT_BIN) {
		const char *p = o->via.array.ptr[1].via.bin.ptr;
		size_t len = o->via.array.ptr[1].via.bin.size, off = 0;
		static char plain[2 * 1024 * 1024];
		msgpack_unpacked u;
		uint64_t n = 0;

		if (o->via.array.ptr[2].via.map.size == 3) { /* "compressed": "gzip" */
			z_stream z = {0};

			inflateInit2(&z, 15 + 16);
			z.next_in = (Bytef *)p;
			z.avail_in = (uInt)len;
			z.next_out = (Bytef *)plain;
			z.avail_out = sizeof(plain);
			if (inflate(&z, Z_FINISH) != Z_STREAM_END)
				return 0;
			p = plain;
			len = z.total_out;
			inflateEnd(&z);
		}
		msgpack_unpacked_init(&u);
		while (msgpack_unpack_next(&u, p, len, &off) == MSGPACK_UNPACK_SUCCESS)
			n++;
		msgpack_unpacked_destroy(&u);
		return off == len ? n : 0;
	}
	return 0;
}

static void *rx_main(void *arg)
{
	struct rx *x = arg;

	for (;;) {
		int fd = accept(x->lfd, NULL, NULL);
		msgpack_unpacker up;
		msgpack_unpacked res;
		char buf[65536];
		ssize_t n;

		if (fd < 0)
			return NULL;
		x->conns++;
		msgpack_unpacker_init(&up, 65536);
		msgpack_unpacked_init(&res);
		while ((n = read(fd, buf, sizeof(buf))) > 0) {
			msgpack_unpacker_reserve_buffer(&up, (size_t)n);
			memcpy(msgpack_unpacker_buffer(&up), buf, (size_t)n);
			msgpack_unpacker_buffer_consumed(&up, (size_t)n);
			while (msgpack_unpacker_next(&up, &res) == MSGPACK_UNPACK_SUCCESS) {
				const msgpack_object *opt = &res.data.via.array.ptr[2];
				const msgpack_object *chunk = &opt->via.map.ptr[0].val;
				uint8_t ack[64] = {0x81, 0xa3, 'a', 'c', 'k', 0xa0};

				if (x->drop_first) {
					x->drop_first = 0;
					goto drop;
				}
				x->messages++;
				x->records += count_entries(&res.data);
				ack[5] = (uint8_t)(0xa0 | chunk->via.str.size);
				memcpy(ack + 6, chunk->via.str.ptr, chunk->via.str.size);
				if (write(fd, ack, 6 + chunk->via.str.size) < 0)
					goto drop;
			}
		}
	drop:
		msgpack_unpacked_destroy(&res);
		msgpack_unpacker_destroy(&up);
		close(fd);
	}
}

static void test_deliver_with_resend(void **state)
{
	char dir[] = "/tmp/test_sink_fwd_rx.XXXXXX", spec[128];
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct rx x = {.drop_first = 1};
	struct fwd_opts o;
	struct fwd_stats st;
	pthread_t t;
	struct sink *s;

	(void)state;
	make_rec();
	assert_non_null(mkdtemp(dir));
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/s", dir);
	snprintf(spec, sizeof(spec), "forward:unix:%s", sun.sun_path);
	x.lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(x.lfd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(listen(x.lfd, 4), 0);
	assert_int_equal(pthread_create(&t, NULL, rx_main, &x), 0);

	for (int mode = FWD_MODE_FORWARD; mode <= FWD_MODE_COMPRESSED; mode++) {
		fwd_opts__default(&o);
		o.mode = (enum fwd_mode)mode;
		o.batch_records = 300;
		o.backoff_min_ms = 10;
		o.backoff_max_ms = 50;
		s = sink_fwd__open(spec, &o);
		assert_non_null(s);
		for (int i = 0; i < 5000; i++) {
			const char *tag = i % 3 == 0   ? "mailtap.smtp"
					  : i % 3 == 1 ? "mailtap.conn"
						       : "mailtap.ssl";

			assert_int_equal(sink__write(s, tag, strlen(tag),
						     1700000000000000000ULL + (uint64_t)i, rec,
						     rec_len),
					 0);
		}
		assert_int_equal(sink_fwd__close(s, &st), 0);
		assert_int_equal(st.records_in, 5000);
		assert_int_equal(st.records_acked, 5000);
		assert_int_equal(st.records_pending, 0);
		assert_int_equal(st.mem_bytes, 0);
		if (mode == FWD_MODE_FORWARD) {
			assert_true(st.messages_resent >= 1);
			assert_int_equal(st.disconnects, 1);
			assert_int_equal(st.connects, 2);
		}
	}
	assert_int_equal(x.records, 15000);
	shutdown(x.lfd, SHUT_RDWR);
	close(x.lfd);
	pthread_join(t, NULL);
	unlink(sun.sun_path);
	rmdir(dir);
}

/* ---- a scripted peer for the loss cases ---- */

enum peer_first {
	PEER_NORMAL,   /* every connection: read, ack each message */
	PEER_ACKCLOSE, /* connection 1: read one message, wait for `go`, ack it, hang up */
	PEER_NOREAD,   /* connection 1: accepted, never read (held open) */
	PEER_LATEACK,  /* connection 1: read one message, wait for `go`, then as PEER_NORMAL */
	PEER_NULACK,   /* every connection: ack each message as "<chunk>\0" (not its chunk) */
};

struct peer {
	int lfd;
	enum peer_first first;
	int go, got_first, closed_first; /* __atomic */
	int idle_fd;
	pthread_mutex_t mu;
	uint64_t records, messages, dups;
	char chunks[64][FWD_CHUNK_MAX + 1];
	int n_chunks;
	char dir[48], path[64], spec[96];
};

static int wait_flag(const int *flag, int ms)
{
	for (int i = 0; i < ms && !__atomic_load_n(flag, __ATOMIC_ACQUIRE); i++)
		usleep(1000);
	return __atomic_load_n(flag, __ATOMIC_ACQUIRE);
}

/* Reads and acks messages on fd; with ackclose, the first one only, then hangs up; with
 * late, the first ack waits for `go` (the messages after it stay unread meanwhile). */
static void peer_serve(struct peer *x, int fd, int ackclose, int late)
{
	msgpack_unpacker up;
	msgpack_unpacked res;
	char buf[65536];
	ssize_t n;

	msgpack_unpacker_init(&up, 65536);
	msgpack_unpacked_init(&res);
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		msgpack_unpacker_reserve_buffer(&up, (size_t)n);
		memcpy(msgpack_unpacker_buffer(&up), buf, (size_t)n);
		msgpack_unpacker_buffer_consumed(&up, (size_t)n);
		while (msgpack_unpacker_next(&up, &res) == MSGPACK_UNPACK_SUCCESS) {
			const msgpack_object *chunk = &res.data.via.array.ptr[2].via.map.ptr[0].val;
			uint8_t ack[64] = {0x81, 0xa3, 'a', 'c', 'k', 0xa0};
			size_t cl = chunk->via.str.size;

			pthread_mutex_lock(&x->mu);
			x->messages++;
			x->records += count_entries(&res.data);
			for (int i = 0; i < x->n_chunks; i++)
				if (!strncmp(x->chunks[i], chunk->via.str.ptr, cl) &&
				    !x->chunks[i][cl])
					x->dups++;
			if (x->n_chunks < 64 && cl <= FWD_CHUNK_MAX) {
				memcpy(x->chunks[x->n_chunks], chunk->via.str.ptr, cl);
				x->chunks[x->n_chunks++][cl] = '\0';
			}
			pthread_mutex_unlock(&x->mu);
			if (ackclose || late) {
				__atomic_store_n(&x->got_first, 1, __ATOMIC_RELEASE);
				wait_flag(&x->go, 10000);
				late = 0;
			}
			memcpy(ack + 6, chunk->via.str.ptr, cl);
			if (x->first == PEER_NULACK)
				ack[6 + cl++] = '\0';
			ack[5] = (uint8_t)(0xa0 | cl);
			if (write(fd, ack, 6 + cl) < 0 || ackclose)
				goto out;
		}
	}
out:
	msgpack_unpacked_destroy(&res);
	msgpack_unpacker_destroy(&up);
	close(fd);
	if (ackclose)
		__atomic_store_n(&x->closed_first, 1, __ATOMIC_RELEASE);
}

static void *peer_main(void *arg)
{
	struct peer *x = arg;

	for (int conn = 1;; conn++) {
		int fd = accept(x->lfd, NULL, NULL);

		if (fd < 0)
			return NULL;
		if (conn == 1 && x->first == PEER_NOREAD)
			x->idle_fd = fd;
		else
			peer_serve(x, fd, conn == 1 && x->first == PEER_ACKCLOSE,
				   conn == 1 && x->first == PEER_LATEACK);
	}
}

/* A temporary directory for the socket DIR/s (and a spool); peer_start() listens on it. */
static void peer_init(struct peer *x, enum peer_first first)
{
	memset(x, 0, sizeof(*x));
	x->first = first;
	x->idle_fd = -1;
	x->lfd = -1;
	pthread_mutex_init(&x->mu, NULL);
	snprintf(x->dir, sizeof(x->dir), "/tmp/test_sink_fwd_peer.XXXXXX");
	assert_non_null(mkdtemp(x->dir));
	snprintf(x->path, sizeof(x->path), "%s/s", x->dir);
	snprintf(x->spec, sizeof(x->spec), "forward:unix:%s", x->path);
}

static void peer_start(struct peer *x, pthread_t *t)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", x->path);
	x->lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(x->lfd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(listen(x->lfd, 4), 0);
	assert_int_equal(pthread_create(t, NULL, peer_main, x), 0);
}

static void peer_stop(struct peer *x, pthread_t t)
{
	shutdown(x->lfd, SHUT_RDWR);
	close(x->lfd);
	pthread_join(t, NULL);
	if (x->idle_fd >= 0)
		close(x->idle_fd);
	unlink(x->path);
	pthread_mutex_destroy(&x->mu);
}

/* Options for the tests that hold a spool write on a FIFO: a spool with fsync (fsync() of a
 * FIFO fails: that batch stays in memory), batches of `batch` records sealed by count only,
 * quick reconnects. */
static void fifo_spool_opts(struct fwd_opts *o, const char *spool, uint32_t batch)
{
	fwd_opts__default(o);
	o->spool_dir = spool;
	o->spool_fsync = true;
	o->batch_records = batch;
	o->flush_interval_ms = 60000;
	o->backoff_min_ms = 10;
	o->backoff_max_ms = 50;
	o->close_timeout_ms = 5000;
}

/* A FIFO at the spool's temporary name of batch `seq`, opened for reading (fd returned), with
 * a 4 KiB pipe: the sender's spool write of that batch blocks in it. */
static int spool_fifo(const char *spool, unsigned seq, char *path, size_t n)
{
	int fd;

	snprintf(path, n, "%s/.tmp-%016x", spool, seq);
	assert_int_equal(mkfifo(path, 0600), 0);
	fd = open(path, O_RDONLY | O_NONBLOCK);
	assert_true(fd >= 0);
	fcntl(fd, F_SETPIPE_SZ, 4096);
	return fd;
}

/* Waits (5 s at most) until the sender has filled the FIFO's pipe: it is blocked there. */
static void wait_pipe_full(int fd)
{
	int i;

	for (i = 0; i < 5000; i++) {
		int queued = 0;

		if (ioctl(fd, FIONREAD, &queued) == 0 && queued >= fcntl(fd, F_GETPIPE_SZ))
			break;
		usleep(1000);
	}
	assert_true(i < 5000);
}

/* The receiver acks message 1 and hangs up while the sender is busy (here: spooling message
 * 2 into a FIFO the test holds). When the sender comes back, the ack and the hang-up are
 * both there: the write of message 2 fails, and the ack must still retire message 1 (it
 * was resent before, a duplicate). */
static void test_acks_before_loss(void **state)
{
	struct peer x;
	struct fwd_opts o;
	struct fwd_stats st;
	char spool[128], fifo[192];
	struct sink *s;
	pthread_t t;
	int rfd, i;

	(void)state;
	make_rec();
	peer_init(&x, PEER_ACKCLOSE);
	peer_start(&x, &t);
	snprintf(spool, sizeof(spool), "%s/spool", x.dir);
	fifo_spool_opts(&o, spool, 300); /* message 2 is kept in memory */
	s = sink_fwd__open(x.spec, &o);
	assert_non_null(s);
	/* message 2 gets sequence number 1; at 80 KB it cannot fit: the write blocks */
	rfd = spool_fifo(spool, 1, fifo, sizeof(fifo));
	for (i = 0; i < 300; i++)
		assert_int_equal(sink__write(s, "t", 1, 1700000000000000000ULL, rec, rec_len), 0);
	assert_true(wait_flag(&x.got_first, 5000));
	for (i = 0; i < 300; i++)
		assert_int_equal(sink__write(s, "t", 1, 1700000000000000000ULL, rec, rec_len), 0);
	wait_pipe_full(rfd); /* the sender is blocked writing message 2 into the full pipe */
	__atomic_store_n(&x.go, 1, __ATOMIC_RELEASE);
	assert_true(wait_flag(&x.closed_first, 5000));
	/* let the sender go on: it finds the ack and the hang-up at once */
	for (i = 0; i < 5000; i++) {
		char buf[4096];
		ssize_t n = read(rfd, buf, sizeof(buf));

		if (n == 0)
			break;
		if (n < 0)
			usleep(1000);
	}
	assert_true(i < 5000);
	close(rfd);
	assert_int_equal(sink_fwd__close(s, &st), 0);
	assert_int_equal(st.records_acked, 600);
	assert_int_equal(st.messages_resent, 0);
	assert_int_equal(st.disconnects, 1);
	peer_stop(&x, t); /* joined: its counters are final */
	assert_int_equal(x.dups, 0);
	assert_int_equal(x.messages, 2);
	assert_int_equal(x.records, 600);
	rm_tree(spool);
	rmdir(x.dir);
}

/* drop-oldest while messages are in flight: they are shed (their memory freed), not
 * dropped, and their acks, arriving later, count their records acked. Every record the
 * receiver acked counts as acked, no ack is unknown, and acked + dropped = in. With
 * PEER_ACKCLOSE the receiver acks the first message and hangs up: the other shed messages
 * cannot be sent again, and count dropped then. */
static void drop_oldest_sheds(enum peer_first mode)
{
	struct peer x;
	struct fwd_opts o;
	struct fwd_stats st;
	struct sink *s;
	pthread_t t;
	int i;

	make_rec();
	peer_init(&x, mode);
	peer_start(&x, &t);
	fwd_opts__default(&o);
	o.policy = FWD_DROP_OLDEST;
	o.batch_records = 20; /* ~5 KB a message: 8 fit in the socket's buffer */
	o.flush_interval_ms = 60000;
	o.queue_max_bytes = 256 * 1024;
	o.close_timeout_ms = 5000;
	s = sink_fwd__open(x.spec, &o);
	assert_non_null(s);
	/* max_inflight (8) messages sent, the receiver holding its first ack */
	for (i = 0; i < 160; i++)
		assert_int_equal(sink__write(s, "t", 1, 1700000000000000000ULL, rec, rec_len), 0);
	assert_true(wait_flag(&x.got_first, 5000));
	for (i = 0; i < 5000; i++) {
		sink_fwd__stats(s, &st);
		if (st.messages_sent == o.max_inflight)
			break;
		usleep(1000);
	}
	assert_int_equal(st.messages_sent, o.max_inflight);
	assert_int_equal(st.records_dropped, 0);
	/* four times the memory cap behind them */
	for (i = 0; i < 4000; i++)
		assert_int_equal(sink__write(s, "t", 1, 1700000000000000000ULL, rec, rec_len), 0);
	sink_fwd__stats(s, &st);
	assert_int_equal(st.messages_shed, o.max_inflight);
	assert_true(st.records_dropped > 0);
	assert_true(st.mem_bytes_max <= o.queue_max_bytes);
	__atomic_store_n(&x.go, 1, __ATOMIC_RELEASE);
	assert_int_equal(sink_fwd__close(s, &st), 0);
	peer_stop(&x, t); /* joined: its counters are final */
	assert_int_equal(st.acks_unknown, 0);
	assert_int_equal(x.dups, 0);
	assert_int_equal(st.records_acked, x.records);
	if (mode == PEER_LATEACK) {
		assert_int_equal(st.messages_resent, 0);
		assert_true(st.records_acked >= 20 * (uint64_t)o.max_inflight);
	} else {
		/* a message sent after the first ack, lost with the connection, is sent again;
		 * the shed ones are not */
		assert_int_equal(st.disconnects, 1);
		assert_true(st.records_dropped >= 20 * (uint64_t)(o.max_inflight - 1));
	}
	assert_int_equal(st.records_acked + st.records_dropped, 4160);
	assert_int_equal(st.records_pending, 0);
	rmdir(x.dir);
}

static void test_drop_oldest_sheds_inflight(void **state)
{
	(void)state;
	drop_oldest_sheds(PEER_LATEACK);
	drop_oldest_sheds(PEER_ACKCLOSE);
}

/* Bytes of the spool's message files now. */
static uint64_t spool_file_bytes(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	uint64_t n = 0;

	assert_non_null(d);
	while ((de = readdir(d))) {
		char path[512];
		struct stat sb;

		if (!strstr(de->d_name, ".fwd"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (stat(path, &sb) == 0)
			n += (uint64_t)sb.st_size;
	}
	closedir(d);
	return n;
}

/* drop-oldest for the spool cap while the messages in flight are spooled (and so hold no
 * memory): they are the oldest, and are shed, not dropped: spool_forget() removes their
 * files and their bytes from spool_bytes, their chunk ids stay for the acks. With
 * PEER_LATEACK every ack arrives later and counts the shed records acked; with
 * PEER_ACKCLOSE the receiver acks the first and hangs up, and the other shed messages,
 * which cannot be sent again (their files are gone), count dropped. Either way
 * written == acked + dropped, no ack is unknown, no chunk arrives twice, and the spool
 * ends empty. */
static void shed_spooled(enum peer_first mode)
{
	const uint64_t cap = 128 * 1024;
	struct peer x;
	struct fwd_opts o;
	struct fwd_stats st, st0;
	char spool[128];
	struct sink *s;
	pthread_t t;
	int i;

	make_rec();
	peer_init(&x, mode);
	peer_start(&x, &t);
	snprintf(spool, sizeof(spool), "%s/spool", x.dir);
	fwd_opts__default(&o);
	o.spool_dir = spool;
	o.spool_fsync = false;
	o.spool_max_bytes = cap;
	o.policy = FWD_DROP_OLDEST;
	o.batch_records = 20; /* ~5.4 KB a message: 8 in flight are 43 KB of the cap */
	o.flush_interval_ms = 60000;
	o.backoff_min_ms = 10;
	o.backoff_max_ms = 50;
	o.close_timeout_ms = 5000;
	s = sink_fwd__open(x.spec, &o);
	assert_non_null(s);
	for (i = 0; i < 160; i++)
		assert_int_equal(sink__write(s, "t", 1, 1700000000000000000ULL, rec, rec_len), 0);
	assert_true(wait_flag(&x.got_first, 5000));
	for (i = 0; i < 5000; i++) {
		sink_fwd__stats(s, &st0);
		if (st0.messages_sent == o.max_inflight)
			break;
		usleep(1000);
	}
	/* all eight in flight, spooled, only in the spool */
	assert_int_equal(st0.messages_sent, o.max_inflight);
	assert_int_equal(st0.records_spooled, 160);
	assert_int_equal(st0.mem_bytes, 0);
	assert_int_equal(count_spool(spool), (int)o.max_inflight);
	assert_int_equal(st0.spool_bytes, spool_file_bytes(spool));
	/* eight times the spool cap behind them */
	for (i = 0; i < 4000; i++) {
		assert_int_equal(sink__write(s, "t", 1, 1700000000000000000ULL, rec, rec_len), 0);
		if (i % 100 == 0) {
			sink_fwd__stats(s, &st);
			assert_true(st.spool_bytes + st.mem_bytes <= cap);
		}
	}
	sink_fwd__stats(s, &st);
	/* the in-flight messages went first: shed, their files removed and uncounted */
	assert_int_equal(st.messages_shed, o.max_inflight);
	for (unsigned seq = 0; seq < o.max_inflight; seq++) {
		char path[256];

		snprintf(path, sizeof(path), "%s/%016x.fwd", spool, seq);
		assert_int_equal(access(path, F_OK), -1);
	}
	assert_true(st.records_dropped > 0);
	assert_int_equal(st.records_dropped % 20, 0);
	assert_int_equal(st.messages_sent, o.max_inflight); /* nothing acked, nothing more sent */
	assert_int_equal(st.records_in, st.records_pending + st.records_dropped);
	/* 4160 records are 208 full batches, all sealed: once none holds memory, the sender
	 * has spooled them all and is idle, and the counter must match the files exactly */
	for (i = 0; i < 5000; i++) {
		sink_fwd__stats(s, &st);
		if (st.mem_bytes == 0)
			break;
		usleep(1000);
	}
	assert_int_equal(st.mem_bytes, 0);
	assert_int_equal(st.spool_bytes, spool_file_bytes(spool));
	assert_true(st.spool_bytes + st.mem_bytes <= cap);
	__atomic_store_n(&x.go, 1, __ATOMIC_RELEASE);
	assert_int_equal(sink_fwd__close(s, &st), 0);
	peer_stop(&x, t); /* joined: its counters are final */
	assert_int_equal(st.messages_shed, o.max_inflight);
	assert_int_equal(st.acks_unknown, 0);
	assert_int_equal(x.dups, 0);
	/* the shed messages are not sent again; with PEER_ACKCLOSE one sent between the first
	 * ack and the hang-up is */
	assert_true(st.messages_resent <= (mode == PEER_LATEACK ? 0u : 1u));
	assert_int_equal(st.records_acked, x.records);
	assert_int_equal(st.records_acked + st.records_dropped, 4160);
	assert_int_equal(st.records_pending, 0);
	assert_int_equal(st.records_unacked_at_close, 0);
	if (mode == PEER_LATEACK) {
		/* the eight shed messages were acked: their 160 records count acked */
		assert_int_equal(st.disconnects, 0);
		assert_true(st.records_acked >= 160);
		assert_int_equal(st.messages_acked, x.messages);
	} else {
		/* the first acked, the seven others lost with the connection: dropped */
		assert_int_equal(st.disconnects, 1);
		assert_true(st.records_dropped >= 7 * 20);
	}
	assert_int_equal(st.spool_bytes, 0);
	assert_int_equal(count_spool(spool), 0);
	rm_tree(spool);
	rmdir(x.dir);
}

static void test_shed_spooled_inflight(void **state)
{
	(void)state;
	shed_spooled(PEER_LATEACK);
	shed_spooled(PEER_ACKCLOSE);
}

/* A receiver that accepts and never reads, with a first message larger than the socket
 * buffers: nothing is ever in flight, so only a write timeout notices. */
static void test_write_stall_timeout(void **state)
{
	struct peer x;
	struct fwd_opts o;
	struct fwd_stats st;
	struct sink *s;
	pthread_t t;

	(void)state;
	make_rec();
	peer_init(&x, PEER_NOREAD);
	peer_start(&x, &t);
	fwd_opts__default(&o);
	o.batch_bytes = 900000; /* far above a unix socket's 208 KiB buffer */
	o.batch_records = 100000;
	o.ack_timeout_ms = 300;
	o.backoff_min_ms = 10;
	o.backoff_max_ms = 50;
	o.close_timeout_ms = 5000;
	s = sink_fwd__open(x.spec, &o);
	assert_non_null(s);
	for (int i = 0; i < 3400; i++)
		assert_int_equal(sink__write(s, "t", 1, 1700000000000000000ULL, rec, rec_len), 0);
	assert_int_equal(sink_fwd__close(s, &st), 0);
	assert_int_equal(st.records_acked, 3400);
	assert_true(st.ack_timeouts >= 1);
	assert_true(st.disconnects >= 1);
	peer_stop(&x, t);
	assert_int_equal(x.records, 3400);
	rmdir(x.dir);
}

/* {"pad": str32(pad)}: 10 + pad bytes */
static uint8_t *make_pad_rec(size_t pad, size_t *len)
{
	uint8_t *p = malloc(10 + pad);

	p[0] = 0x81;
	p[1] = 0xa3;
	memcpy(p + 2, "pad", 3);
	p[5] = 0xdb;
	p[6] = (uint8_t)(pad >> 24);
	p[7] = (uint8_t)(pad >> 16);
	p[8] = (uint8_t)(pad >> 8);
	p[9] = (uint8_t)pad;
	memset(p + 10, 'x', pad);
	*len = 10 + pad;
	return p;
}

/* A record whose batch would need more than half the queue (or of the spool cap) is refused
 * alone as oversize: nothing dropped, no wait. A record that fits is taken. */
static void test_oversize_for_queue(void **state)
{
	const size_t q = 256 * 1024;
	/* entry = 11 + record; a batch of its own adds 160 + the tag (1) */
	const size_t half_rec = q / 2 - 160 - 1 - 11;
	struct fwd_opts o;
	struct fwd_stats st;
	struct timespec t0, t1;
	struct sink *s;
	uint8_t *big;
	size_t len;

	(void)state;
	make_rec();
	fwd_opts__default(&o);
	o.queue_max_bytes = q;
	o.batch_records = 10;
	o.close_timeout_ms = 50;
	o.backoff_min_ms = 1000;
	o.backoff_max_ms = 1000;
	for (int pol = 0; pol < 2; pol++) {
		o.policy = pol ? FWD_BLOCK : FWD_DROP_OLDEST;
		o.block_max_ms = 2000; /* bounds the test if block waits */
		s = sink_fwd__open("forward:unix:/nonexistent/fwd.sock", &o);
		assert_non_null(s);
		for (int i = 0; i < 100; i++)
			assert_int_equal(sink__write(s, "t", 1, 1, rec, rec_len), 0);
		/* larger than the whole queue, smaller than a message */
		big = make_pad_rec(300000, &len);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		assert_int_equal(sink__write(s, "t", 1, 1, big, len), -EMSGSIZE);
		free(big);
		/* one byte over half the queue: it would fit now, but is refused */
		big = make_pad_rec(half_rec + 1 - 10, &len);
		assert_int_equal(sink__write(s, "t", 1, 1, big, len), -EMSGSIZE);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		assert_true(t1.tv_sec - t0.tv_sec < 1);
		sink_fwd__stats(s, &st);
		assert_int_equal(st.records_oversize, 2);
		assert_int_equal(st.records_dropped, 0);
		assert_int_equal(st.records_pending, 100);
		free(big);
		/* exactly half: taken */
		big = make_pad_rec(half_rec - 10, &len);
		assert_int_equal(sink__write(s, "t", 1, 1, big, len), 0);
		free(big);
		assert_int_equal(sink_fwd__close(s, &st), -ETIMEDOUT);
		assert_int_equal(st.records_in, 101);
		assert_int_equal(st.records_dropped, 0);
	}

	/* with a spool, half its cap when that is smaller */
	char dir[] = "/tmp/test_sink_fwd_ovs.XXXXXX";

	assert_non_null(mkdtemp(dir));
	o.policy = FWD_DROP_OLDEST;
	o.spool_dir = dir;
	o.spool_fsync = false;
	o.spool_max_bytes = 128 * 1024;
	s = sink_fwd__open("forward:unix:/nonexistent/fwd.sock", &o);
	assert_non_null(s);
	big = make_pad_rec(64 * 1024 - 160 - 1 - 11 + 1 - 10, &len);
	assert_int_equal(sink__write(s, "t", 1, 1, big, len), -EMSGSIZE);
	free(big);
	big = make_pad_rec(64 * 1024 - 160 - 1 - 11 - 10, &len);
	assert_int_equal(sink__write(s, "t", 1, 1, big, len), 0);
	free(big);
	assert_int_equal(sink_fwd__close(s, &st), -ETIMEDOUT);
	assert_int_equal(st.records_oversize, 1);
	assert_int_equal(st.records_in, 1);
	rm_tree(dir);
}

/* drop-oldest drops queued batches only when that makes room: when the batches being filled
 * (which cannot be dropped) hold too much, the new record alone is refused. */
static void test_drop_oldest_only_if_enough(void **state)
{
	const size_t q = 256 * 1024;
	struct fwd_opts o;
	struct fwd_stats st;
	struct sink *s;
	uint8_t *r, *big;
	size_t len, blen;
	char tag[8];

	(void)state;
	make_rec();
	fwd_opts__default(&o);
	o.queue_max_bytes = q;
	o.batch_records = 10;
	o.flush_interval_ms = 60000; /* the open batches stay open */
	o.close_timeout_ms = 50;
	o.backoff_min_ms = 1000;
	o.backoff_max_ms = 1000;
	o.policy = FWD_DROP_OLDEST;
	s = sink_fwd__open("forward:unix:/nonexistent/fwd.sock", &o);
	assert_non_null(s);
	/* two sealed batches (droppable, ~5.7 KB), then 30 open batches of 9 records (~205 KB) */
	for (int i = 0; i < 20; i++)
		assert_int_equal(sink__write(s, "old", 3, 1, rec, rec_len), 0);
	r = make_pad_rec(740, &len);
	for (int k = 0; k < 30; k++) {
		snprintf(tag, sizeof(tag), "t%02d", k);
		for (int i = 0; i < 9; i++)
			assert_int_equal(sink__write(s, tag, 3, 1, r, len), 0);
	}
	free(r);
	sink_fwd__stats(s, &st);
	assert_int_equal(st.records_pending, 290);
	assert_true(st.mem_bytes > q / 2 + 64 * 1024);
	/* over the limit now, and still over it with the sealed batches dropped */
	blen = q - st.mem_bytes + 16 * 1024;
	big = make_pad_rec(blen, &len);
	assert_int_equal(sink__write(s, "big", 3, 1, big, len), -ENOBUFS);
	free(big);
	sink_fwd__stats(s, &st);
	assert_int_equal(st.records_dropped, 1);
	assert_int_equal(st.records_pending, 290);
	assert_int_equal(sink_fwd__close(s, &st), -ETIMEDOUT);
	assert_int_equal(st.records_unacked_at_close, 290);
}

/* Messages spooled under a larger max_message_bytes are recovered and sent after a restart
 * with the default; a file too large to be one of ours is left alone. */
static void test_spool_larger_messages(void **state)
{
	struct peer x;
	struct fwd_opts o;
	struct fwd_stats st;
	char spool[128], junk[192];
	struct sink *s;
	pthread_t t;
	FILE *f;

	(void)state;
	make_rec();
	peer_init(&x, PEER_NORMAL);
	snprintf(spool, sizeof(spool), "%s/spool", x.dir);
	fwd_opts__default(&o);
	o.spool_dir = spool;
	o.spool_fsync = false;
	o.max_message_bytes = 2000000;
	o.batch_bytes = 1500000;
	o.batch_records = 100000;
	o.close_timeout_ms = 50;
	o.backoff_min_ms = 1000;
	o.backoff_max_ms = 1000;
	s = sink_fwd__open(x.spec, &o); /* nobody listens yet */
	assert_non_null(s);
	for (int i = 0; i < 6000; i++)
		assert_int_equal(sink__write(s, "t", 1, 1700000000000000000ULL, rec, rec_len), 0);
	assert_int_equal(sink_fwd__close(s, &st), -ETIMEDOUT);
	assert_int_equal(st.records_spooled, 6000);
	assert_int_equal(count_spool(spool), 2);
	/* not a message of ours: larger than any */
	snprintf(junk, sizeof(junk), "%s/00000000000000f0.fwd", spool);
	f = fopen(junk, "w");
	assert_non_null(f);
	assert_int_equal(fseek(f, 7000000 - 1, SEEK_SET), 0);
	fputc(0, f);
	fclose(f);

	peer_start(&x, &t);
	fwd_opts__default(&o);
	o.spool_dir = spool;
	o.spool_fsync = false;
	o.close_timeout_ms = 5000;
	s = sink_fwd__open(x.spec, &o);
	assert_non_null(s);
	sink_fwd__stats(s, &st);
	assert_int_equal(st.records_recovered, 6000);
	assert_int_equal(st.spool_errors, 1); /* the junk file, left in place */
	assert_int_equal(sink_fwd__close(s, &st), 0);
	assert_int_equal(st.records_acked, 6000);
	assert_int_equal(count_spool(spool), 1);
	assert_int_equal(access(junk, F_OK), 0);
	peer_stop(&x, t);
	assert_int_equal(x.records, 6000);
	rm_tree(spool);
	rmdir(x.dir);
}

/* Spool writes that fail (a directory where the temporary file goes): retried at close and
 * periodically; what still is not on disk is reported lost. */
static void test_spool_write_failure(void **state)
{
	struct fwd_opts o;
	struct fwd_stats st;
	struct sink *s;
	char path[256];

	(void)state;
	make_rec();
	fwd_opts__default(&o);
	o.spool_fsync = false;
	o.batch_records = 100;
	o.close_timeout_ms = 50;
	o.backoff_min_ms = 1000;
	o.backoff_max_ms = 1000;
	for (int round = 0; round < 3; round++) {
		char dir[] = "/tmp/test_sink_fwd_spf.XXXXXX";
		/* round 0 and 1: the first write fails; round 2: all of them do */
		int blocked = round == 2 ? 64 : 1;

		assert_non_null(mkdtemp(dir));
		for (int i = 0; i < blocked; i++) {
			snprintf(path, sizeof(path), "%s/.tmp-%016x", dir, i);
			assert_int_equal(mkdir(path, 0700), 0);
		}
		o.spool_dir = dir;
		s = sink_fwd__open("forward:unix:/nonexistent/fwd.sock", &o);
		assert_non_null(s);
		for (int i = 0; i < 300; i++)
			assert_int_equal(sink__write(s, "t", 1, 1, rec, rec_len), 0);
		if (round == 1) {
			/* the sender retries on its own, within about a second */
			int i;

			for (i = 0; i < 5000; i++) {
				sink_fwd__stats(s, &st);
				if (st.records_spooled == 300)
					break;
				usleep(1000);
			}
			assert_true(i < 5000);
		}
		assert_int_equal(sink_fwd__close(s, &st), -ETIMEDOUT);
		assert_int_equal(st.records_unacked_at_close, 300);
		assert_int_equal(st.spool_errors, round == 2 ? 3 : 1);
		assert_int_equal(st.records_spooled, round == 2 ? 0 : 300);
		assert_int_equal(st.records_lost_at_close, round == 2 ? 300 : 0);
		for (int i = 0; i < blocked; i++) {
			snprintf(path, sizeof(path), "%s/.tmp-%016x", dir, i);
			rmdir(path);
		}
		s = sink_fwd__open("forward:unix:/nonexistent/fwd.sock", &o);
		assert_non_null(s);
		sink_fwd__stats(s, &st);
		assert_int_equal(st.records_recovered, round == 2 ? 0 : 300);
		sink_fwd__close(s, NULL);
		rm_tree(dir);
	}
}

/* An ack must name the whole chunk: "<chunk>\0" (a str of 25 bytes) is another chunk, an
 * unknown ack, and the message stays unacked (resent after the ack timeout). */
static void test_ack_whole_chunk(void **state)
{
	struct peer x;
	struct fwd_opts o;
	struct fwd_stats st;
	struct sink *s;
	pthread_t t;
	int i;

	(void)state;
	make_rec();
	peer_init(&x, PEER_NULACK);
	peer_start(&x, &t);
	fwd_opts__default(&o);
	o.batch_records = 10;
	o.ack_timeout_ms = 200;
	o.backoff_min_ms = 10;
	o.backoff_max_ms = 20;
	o.close_timeout_ms = 600;
	s = sink_fwd__open(x.spec, &o);
	assert_non_null(s);
	for (i = 0; i < 10; i++)
		assert_int_equal(sink__write(s, "t", 1, 1, rec, rec_len), 0);
	assert_int_equal(sink_fwd__close(s, &st), -ETIMEDOUT);
	peer_stop(&x, t);
	assert_true(x.messages >= 2); /* sent again after the ack timeout */
	assert_true(st.acks_unknown >= 2);
	assert_int_equal(st.records_acked, 0);
	assert_int_equal(st.records_unacked_at_close, 10);
	assert_true(st.ack_timeouts >= 1);
	rmdir(x.dir);
}

/* in_forward with a shared_key (or empty_shared_key, or security.users) opens each
 * connection with HELO, reads the first 1023 bytes as our PING, fails to parse them and
 * hangs up. */
static void *helo_peer_main(void *arg)
{
	struct peer *x = arg;
	/* ["HELO", {"nonce": 16 bytes, "auth": ""}] */
	static const uint8_t helo[] = {0x92, 0xa4, 'H', 'E', 'L', 'O', 0x82, 0xa5, 'n', 'o',
				       'n',  'c',  'e', 0xb0, 1,   2,	3,   4,	   5,	 6,
				       7,    8,	   9,	10,  11,  12,	13,  14,   15,	 16,
				       0xa4, 'a',  'u', 't', 'h', 0xa0};

	for (;;) {
		char buf[1023];
		size_t got = 0;
		ssize_t n;
		int fd = accept(x->lfd, NULL, NULL);

		if (fd < 0)
			return NULL;
		if (write(fd, helo, sizeof(helo)) == (ssize_t)sizeof(helo))
			while (got < sizeof(buf) && (n = read(fd, buf + got, sizeof(buf) - got)) > 0)
				got += (size_t)n;
		pthread_mutex_lock(&x->mu);
		x->messages++; /* connections served */
		pthread_mutex_unlock(&x->mu);
		close(fd);
	}
}

/* A receiver that wants the handshake, and no shared key: the sender cannot deliver, and
 * says why (a handshake failure), instead of a stream of unexplained "bad reply" losses. */
static void test_helo_without_key(void **state)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct peer x;
	struct fwd_opts o;
	struct fwd_stats st;
	struct sink *s;
	pthread_t t;
	int i;

	(void)state;
	make_rec();
	peer_init(&x, PEER_NORMAL);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", x.path);
	x.lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(x.lfd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(listen(x.lfd, 4), 0);
	assert_int_equal(pthread_create(&t, NULL, helo_peer_main, &x), 0);
	fwd_opts__default(&o);
	o.batch_records = 10;
	o.backoff_min_ms = 10;
	o.backoff_max_ms = 20;
	o.close_timeout_ms = 300;
	s = sink_fwd__open(x.spec, &o);
	assert_non_null(s);
	for (i = 0; i < 10; i++)
		assert_int_equal(sink__write(s, "t", 1, 1, rec, rec_len), 0);
	for (i = 0; i < 5000; i++) {
		sink_fwd__stats(s, &st);
		if (st.handshake_failures >= 2)
			break;
		usleep(1000);
	}
	assert_int_equal(sink_fwd__close(s, &st), -ETIMEDOUT);
	assert_true(st.handshake_failures >= 2);
	assert_int_equal(st.handshake_failures, st.disconnects);
	assert_true(st.connects >= 2);
	assert_int_equal(st.records_acked, 0);
	assert_int_equal(st.records_unacked_at_close, 10);
	peer_stop(&x, t);
	rmdir(x.dir);
}

/* close() while the sender waits out a long reconnect delay: the receiver is back, and
 * close() makes the sender try again at once instead of waiting its backoff (30 s here,
 * three times close_timeout_ms). */
static void test_close_retries_during_backoff(void **state)
{
	struct peer x;
	struct fwd_opts o;
	struct fwd_stats st;
	struct sink *s;
	pthread_t t;
	int i;

	(void)state;
	make_rec();
	peer_init(&x, PEER_NORMAL);
	fwd_opts__default(&o);
	o.batch_records = 100;
	o.backoff_min_ms = 30000;
	o.backoff_max_ms = 30000;
	o.close_timeout_ms = 10000;
	s = sink_fwd__open(x.spec, &o); /* nobody listens yet */
	assert_non_null(s);
	for (i = 0; i < 500; i++)
		assert_int_equal(sink__write(s, "t", 1, 1700000000000000000ULL, rec, rec_len), 0);
	for (i = 0; i < 5000; i++) {
		sink_fwd__stats(s, &st);
		if (st.connect_failures)
			break;
		usleep(1000);
	}
	assert_int_equal(st.connect_failures, 1); /* next try in 15-30 s */
	peer_start(&x, &t);
	uint64_t t0 = mt_clock_ns(CLOCK_MONOTONIC);

	assert_int_equal(sink_fwd__close(s, &st), 0);
	assert_true(mt_clock_ns(CLOCK_MONOTONIC) - t0 < 5000000000ULL);
	assert_int_equal(st.connects, 1);
	assert_int_equal(st.records_acked, 500);
	assert_int_equal(st.records_lost_at_close, 0);
	peer_stop(&x, t);
	assert_int_equal(x.records, 500);
	rmdir(x.dir);
}

/* drop-oldest with a spool, the memory cap reached and the spool cap far: the spooled batches
 * hold no memory, so dropping them would lose durable records and free nothing. The oldest
 * batches that hold memory go instead (here: those whose spool write failed). */
static void test_drop_oldest_keeps_spooled(void **state)
{
	char dir[] = "/tmp/test_sink_fwd_dos.XXXXXX", path[256];
	const int blocked = 1024; /* spool writes of seq 10.. fail (a directory in the way) */
	struct fwd_opts o;
	struct fwd_stats st, st1;
	struct sink *s;
	int i;

	(void)state;
	make_rec();
	assert_non_null(mkdtemp(dir));
	for (i = 10; i < 10 + blocked; i++) {
		snprintf(path, sizeof(path), "%s/.tmp-%016x", dir, i);
		assert_int_equal(mkdir(path, 0700), 0);
	}
	fwd_opts__default(&o);
	o.spool_dir = dir;
	o.spool_fsync = false;
	o.queue_max_bytes = 256 * 1024;
	o.batch_records = 100;
	o.close_timeout_ms = 50;
	o.backoff_min_ms = 1000;
	o.backoff_max_ms = 1000;
	o.policy = FWD_DROP_OLDEST;
	s = sink_fwd__open("forward:unix:/nonexistent/fwd.sock", &o);
	assert_non_null(s);
	/* ten batches (more than the memory cap together), each spooled before the next:
	 * seq 0..9 */
	for (int k = 1; k <= 10; k++) {
		for (i = 0; i < 100; i++)
			assert_int_equal(sink__write(s, "t", 1, 1, rec, rec_len), 0);
		for (i = 0; i < 5000; i++) {
			sink_fwd__stats(s, &st1);
			if (st1.records_spooled == 100 * (uint64_t)k)
				break;
			usleep(1000);
		}
		assert_int_equal(st1.records_spooled, 100 * k);
	}
	assert_int_equal(st1.records_dropped, 0);
	assert_int_equal(count_spool(dir), 10);
	/* ~2.6 MB that cannot be spooled, through a 256 KiB memory cap */
	for (i = 0; i < 10000; i++)
		assert_int_equal(sink__write(s, "t", 1, 1, rec, rec_len), 0);
	sink_fwd__stats(s, &st);
	assert_true(st.records_dropped > 0);
	assert_int_equal(st.records_dropped % 100, 0);
	assert_true(st.mem_bytes_max <= o.queue_max_bytes);
	/* the durable batches are all still there */
	assert_int_equal(count_spool(dir), 10);
	assert_int_equal(st.spool_bytes, st1.spool_bytes);
	assert_true(st.records_pending >= 1000);
	assert_int_equal(sink_fwd__close(s, &st), -ETIMEDOUT);
	assert_int_equal(st.records_dropped + st.records_unacked_at_close, 11000);
	for (i = 10; i < 10 + blocked; i++) {
		snprintf(path, sizeof(path), "%s/.tmp-%016x", dir, i);
		rmdir(path);
	}
	rm_tree(dir);
}

/* Encoding does not hold up sending: while sealed batches wait to be encoded and spooled,
 * the sender connects and sends those already done. The spool write of the first batch
 * (seq 0) blocks on a FIFO until every batch is sealed, that of the last (seq N-1) blocks
 * too: by then the receiver must have got messages. */
static void test_encode_does_not_starve_send(void **state)
{
	enum { N = 12 };
	struct peer x;
	struct fwd_opts o;
	struct fwd_stats st;
	char spool[128], fifo[2][192];
	struct sink *s;
	pthread_t t;
	int rfd[2], i, k;

	(void)state;
	make_rec();
	peer_init(&x, PEER_NORMAL);
	peer_start(&x, &t);
	snprintf(spool, sizeof(spool), "%s/spool", x.dir);
	fifo_spool_opts(&o, spool, 100); /* those two batches stay in memory */
	s = sink_fwd__open(x.spec, &o);
	assert_non_null(s);
	for (k = 0; k < 2; k++) /* a 27 KB message does not fit */
		rfd[k] = spool_fifo(spool, k ? N - 1 : 0, fifo[k], sizeof(fifo[k]));
	for (i = 0; i < 100 * N; i++)
		assert_int_equal(sink__write(s, "t", 1, 1700000000000000000ULL, rec, rec_len), 0);
	for (k = 0; k < 2; k++) {
		/* the sender is blocked writing batch k's spool file into the full pipe */
		wait_pipe_full(rfd[k]);
		if (k == 1) {
			/* N-2 batches were encoded meanwhile: some were sent */
			for (i = 0; i < 3000; i++) {
				pthread_mutex_lock(&x.mu);
				uint64_t m = x.messages;

				pthread_mutex_unlock(&x.mu);
				if (m)
					break;
				usleep(1000);
			}
			assert_true(i < 3000);
		}
		for (i = 0; i < 5000; i++) {
			char buf[4096];
			ssize_t n = read(rfd[k], buf, sizeof(buf));

			if (n == 0)
				break;
			if (n < 0)
				usleep(1000);
		}
		assert_true(i < 5000);
		close(rfd[k]);
	}
	assert_int_equal(sink_fwd__close(s, &st), 0);
	assert_int_equal(st.records_acked, 100 * N);
	peer_stop(&x, t);
	assert_int_equal(x.records, 100 * N);
	rm_tree(spool);
	rmdir(x.dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_reader_whole_split_bytewise),
	    cmocka_unit_test(test_reader_errors),
	    cmocka_unit_test(test_encode_forward_exact),
	    cmocka_unit_test(test_encode_gzip_roundtrip),
	    cmocka_unit_test(test_options_and_specs),
	    cmocka_unit_test(test_policies_no_receiver),
	    cmocka_unit_test(test_block_interrupt),
	    cmocka_unit_test(test_spool_reopen),
	    cmocka_unit_test(test_spool_cap),
	    cmocka_unit_test(test_deliver_with_resend),
	    cmocka_unit_test(test_acks_before_loss),
	    cmocka_unit_test(test_write_stall_timeout),
	    cmocka_unit_test(test_oversize_for_queue),
	    cmocka_unit_test(test_drop_oldest_only_if_enough),
	    cmocka_unit_test(test_spool_larger_messages),
	    cmocka_unit_test(test_spool_write_failure),
	    cmocka_unit_test(test_close_retries_during_backoff),
	    cmocka_unit_test(test_drop_oldest_keeps_spooled),
	    cmocka_unit_test(test_drop_oldest_sheds_inflight),
	    cmocka_unit_test(test_encode_does_not_starve_send),
	    cmocka_unit_test(test_helo_without_key),
	    cmocka_unit_test(test_shed_spooled_inflight),
	    cmocka_unit_test(test_ack_whole_chunk),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
