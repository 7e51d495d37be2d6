// SPDX-License-Identifier: BSD-3-Clause
/* bench_fwd: records/s through the Forward sink to a local receiver over a unix socket
 * (PackedForward, CompressedPackedForward, Forward), against writing the same records with
 * the file sink, in the same run. The receiver is a thread of this process that decodes
 * every message (gunzip when compressed, every entry unpacked, as in_forward does) and acks
 * it. A forward run ends when close() returns with every record acked.
 * --light-rx: the receiver trusts the "size" option instead of decoding (sink-side cost).
 * Usage: bench_fwd [-n RECORDS] [-r ROUNDS] [--gzip-level N] [--light-rx] */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <msgpack.h>
#include <zlib.h>

#include "mailtap/log.h"
#include "mailtap/sink.h"
#include "mailtap/sink_fwd.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- a conn.log-shaped record (~300 bytes) ---- */

static size_t put_str(uint8_t *p, const char *s)
{
	size_t n = strlen(s), h;

	if (n < 32) {
		p[0] = (uint8_t)(0xa0 | n);
		h = 1;
	} else {
		p[0] = 0xd9;
		p[1] = (uint8_t)n;
		h = 2;
	}
	memcpy(p + h, s, n);
	return h + n;
}

static size_t put_u(uint8_t *p, uint64_t v)
{
	p[0] = 0xcf;
	for (int i = 0; i < 8; i++)
		p[1 + i] = (uint8_t)(v >> (56 - 8 * i));
	return 9;
}

static size_t put_f(uint8_t *p, double d)
{
	uint64_t v;

	memcpy(&v, &d, 8);
	p[0] = 0xcb;
	for (int i = 0; i < 8; i++)
		p[1 + i] = (uint8_t)(v >> (56 - 8 * i));
	return 9;
}

static size_t make_conn(uint8_t *p, uint64_t i)
{
	char uid[24];
	size_t n = 0;

	snprintf(uid, sizeof(uid), "C%016" PRIx64, i * 2654435761u);
	p[n++] = 0x80 | 15;
	n += put_str(p + n, "ts");
	n += put_f(p + n, 1700000000.0 + (double)i / 1000);
	n += put_str(p + n, "uid");
	n += put_str(p + n, uid);
	n += put_str(p + n, "id.orig_h");
	n += put_str(p + n, "192.168.10.23");
	n += put_str(p + n, "id.orig_p");
	n += put_u(p + n, 40000 + i % 20000);
	n += put_str(p + n, "id.resp_h");
	n += put_str(p + n, "203.0.113.25");
	n += put_str(p + n, "id.resp_p");
	n += put_u(p + n, 25);
	n += put_str(p + n, "proto");
	n += put_str(p + n, "tcp");
	n += put_str(p + n, "service");
	n += put_str(p + n, "smtp");
	n += put_str(p + n, "duration");
	n += put_f(p + n, 1.234567);
	n += put_str(p + n, "orig_bytes");
	n += put_u(p + n, 1000 + i % 777);
	n += put_str(p + n, "resp_bytes");
	n += put_u(p + n, 400 + i % 333);
	n += put_str(p + n, "conn_state");
	n += put_str(p + n, "SF");
	n += put_str(p + n, "history");
	n += put_str(p + n, "ShADadFf");
	n += put_str(p + n, "orig_pkts");
	n += put_u(p + n, 12);
	n += put_str(p + n, "resp_pkts");
	n += put_u(p + n, 10);
	return n;
}

/* ---- receiver thread ---- */

struct rx {
	int lfd;
	int light; /* trust the "size" option instead of decoding the entries */
	uint64_t records, messages;
};

static uint64_t count_entries(const char *p, size_t len, msgpack_unpacked *u)
{
	size_t off = 0;
	uint64_t n = 0;

	while (msgpack_unpack_next(u, p, len, &off) == MSGPACK_UNPACK_SUCCESS)
		n++;
	return n;
}

static void *rx_main(void *arg)
{
	struct rx *x = arg;
	static char plain[8 * 1024 * 1024];

	for (;;) {
		int fd = accept(x->lfd, NULL, NULL);
		msgpack_unpacker up;
		msgpack_unpacked res, ent;
		static char buf[256 * 1024];
		ssize_t n;

		if (fd < 0)
			return NULL;
		msgpack_unpacker_init(&up, 1024 * 1024);
		msgpack_unpacked_init(&res);
		msgpack_unpacked_init(&ent);
		while ((n = read(fd, buf, sizeof(buf))) > 0) {
			msgpack_unpacker_reserve_buffer(&up, (size_t)n);
			memcpy(msgpack_unpacker_buffer(&up), buf, (size_t)n);
			msgpack_unpacker_buffer_consumed(&up, (size_t)n);
			while (msgpack_unpacker_next(&up, &res) == MSGPACK_UNPACK_SUCCESS) {
				const msgpack_object *a = res.data.via.array.ptr;
				const msgpack_object_map *opt = &a[2].via.map;
				const msgpack_object *chunk = &opt->ptr[0].val;
				uint8_t ack[64] = {0x81, 0xa3, 'a', 'c', 'k'};

				if (x->light) {
					x->records += opt->ptr[1].val.via.u64;
				} else if (a[1].type == MSGPACK_OBJECT_ARRAY) {
					x->records += a[1].via.array.size;
				} else if (opt->size == 3) { /* gzip */
					z_stream z = {0};

					inflateInit2(&z, 15 + 16);
					z.next_in = (Bytef *)a[1].via.bin.ptr;
					z.avail_in = a[1].via.bin.size;
					z.next_out = (Bytef *)plain;
					z.avail_out = sizeof(plain);
					inflate(&z, Z_FINISH);
					x->records += count_entries(plain, z.total_out, &ent);
					inflateEnd(&z);
				} else {
					x->records += count_entries(a[1].via.bin.ptr,
								    a[1].via.bin.size, &ent);
				}
				x->messages++;
				ack[5] = (uint8_t)(0xa0 | chunk->via.str.size);
				memcpy(ack + 6, chunk->via.str.ptr, chunk->via.str.size);
				if (write(fd, ack, 6 + chunk->via.str.size) < 0)
					break;
			}
		}
		msgpack_unpacked_destroy(&ent);
		msgpack_unpacked_destroy(&res);
		msgpack_unpacker_destroy(&up);
		close(fd);
	}
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
	    {"gzip-level", 1, 0, 'z'}, {"light-rx", 0, 0, 'l'}, {0, 0, 0, 0}};
	uint64_t n = 500000;
	int rounds = 3, level = 1, c;
	char dir[] = "/tmp/bench_fwd.XXXXXX", path[128], spec[160];
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct rx x = {0};
	pthread_t t;

	while ((c = getopt_long(argc, argv, "n:r:", lo, NULL)) != -1) {
		switch (c) {
		case 'n':
			n = strtoull(optarg, NULL, 0);
			break;
		case 'r':
			rounds = atoi(optarg);
			break;
		case 'z':
			level = atoi(optarg);
			break;
		case 'l':
			x.light = 1;
			break;
		default:
			fprintf(stderr, "usage: bench_fwd [-n RECORDS] [-r ROUNDS] [--gzip-level "
					"N] [--light-rx]\n");
			return 2;
		}
	}
	log__set_level(LOG_WARN);
	if (!mkdtemp(dir))
		return 1;
	/* records are made up front: only the sinks are timed */
	uint8_t *recs = malloc(n * 320);
	size_t *lens = malloc(n * sizeof(*lens)), total = 0;

	if (!recs || !lens)
		return 1;
	for (uint64_t i = 0; i < n; i++) {
		lens[i] = make_conn(recs + i * 320, i);
		total += lens[i];
	}
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/fluent.sock", dir);
	snprintf(spec, sizeof(spec), "forward:unix:%s", sun.sun_path);
	x.lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (bind(x.lfd, (struct sockaddr *)&sun, sizeof(sun)) || listen(x.lfd, 4) ||
	    pthread_create(&t, NULL, rx_main, &x)) {
		perror("bench_fwd: receiver");
		return 1;
	}
	printf("bench_fwd: %" PRIu64 " conn-shaped records, %.0f bytes each on average, "
	       "best of %d rounds, gzip level %d, receiver %s\n",
	       n, (double)total / (double)n, rounds, level,
	       x.light ? "trusting \"size\"" : "decoding every entry");

	static const char *const names[] = {"file", "forward packed", "forward gzip",
					    "forward (array)"};
	double best[4] = {0};
	uint64_t bytes_sent[4] = {0};

	for (int r = 0; r < rounds; r++) {
		for (int k = 0; k < 4; k++) {
			struct fwd_opts o;
			struct fwd_stats st = {0};
			struct sink *s;
			uint64_t before = x.records;
			double t0, dt;
			int err;

			fwd_opts__default(&o);
			o.gzip_level = level;
			o.policy =
			    FWD_BLOCK; /* sustained rate: the writer waits, nothing dropped */
			o.mode = k == 1	  ? FWD_MODE_PACKED
				 : k == 2 ? FWD_MODE_COMPRESSED
					  : FWD_MODE_FORWARD;
			snprintf(path, sizeof(path), "%s/out.msgpack", dir);
			t0 = now_s();
			s = k == 0 ? sink_file__open(path, false) : sink_fwd__open(spec, &o);
			if (!s) {
				perror("bench_fwd: open");
				return 1;
			}
			for (uint64_t i = 0; i < n; i++)
				sink__write(s, "mailtap.conn", 12,
					    1700000000000000000ULL + i * 1000000ULL, recs + i * 320,
					    lens[i]);
			err = k == 0 ? sink__close(s) : sink_fwd__close(s, &st);
			dt = now_s() - t0;
			if (err || (k > 0 && (st.records_acked != n || x.records - before != n))) {
				fprintf(stderr,
					"bench_fwd: %s run failed (err %d, acked %" PRIu64
					", received %" PRIu64 ")\n",
					names[k], err, st.records_acked, x.records - before);
				return 1;
			}
			if (k)
				bytes_sent[k] = st.bytes_sent;
			if (best[k] == 0 || dt < best[k])
				best[k] = dt;
		}
	}
	for (int k = 0; k < 4; k++) {
		printf("  %-16s %8.3f s %10.0f records/s", names[k], best[k], (double)n / best[k]);
		if (k == 0)
			printf("   (baseline)\n");
		else
			printf("   ratio to file %.2f   %.1f MB on the socket\n", best[0] / best[k],
			       (double)bytes_sent[k] / 1e6);
	}
	unlink(path);
	shutdown(x.lfd, SHUT_RDWR);
	close(x.lfd);
	pthread_join(t, NULL);
	unlink(sun.sun_path);
	rmdir(dir);
	free(recs);
	free(lens);
	return 0;
}
