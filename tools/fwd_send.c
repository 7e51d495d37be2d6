// SPDX-License-Identifier: BSD-3-Clause
/* fwd_send: writes N generated records through the Forward sink (tests/suites/40-forward.sh).
 * Each record is {"id": <n>, "seq": "<n>", "pad": "xxx..."} with tag mailtap.test (or
 * mailtap.t<k> with --tags), EventTime = 1700000000 s + n ms.
 * Prints "progress written=W durable=D acked=A dropped=X" lines to --progress FILE and the
 * sink's counters ("STATS ...") plus the peak RSS ("VmHWM_kB ...") on stdout at the end.
 * Exit: 0 when close() returned 0, 3 when close() timed out with records unacked. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mailtap/log.h"
#include "mailtap/sink.h"
#include "mailtap/sink_fwd.h"

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static size_t enc_str(uint8_t *p, const char *s, size_t n)
{
	size_t h;

	if (n < 32) {
		p[0] = (uint8_t)(0xa0 | n);
		h = 1;
	} else if (n < 256) {
		p[0] = 0xd9;
		p[1] = (uint8_t)n;
		h = 2;
	} else {
		p[0] = 0xda;
		p[1] = (uint8_t)(n >> 8);
		p[2] = (uint8_t)n;
		h = 3;
	}
	memcpy(p + h, s, n);
	return h + n;
}

static size_t make_record(uint8_t *p, uint64_t id, size_t pad)
{
	char num[24];
	size_t pos = 0;
	int nl = snprintf(num, sizeof(num), "%" PRIu64, id);

	p[pos++] = 0x83;
	pos += enc_str(p + pos, "id", 2);
	p[pos++] = 0xcf; /* uint64 */
	for (int i = 7; i >= 0; i--)
		p[pos++] = (uint8_t)(id >> (8 * i));
	pos += enc_str(p + pos, "seq", 3);
	pos += enc_str(p + pos, num, (size_t)nl);
	pos += enc_str(p + pos, "pad", 3);
	{
		static char padbuf[65536];

		if (!padbuf[0])
			memset(padbuf, 'x', sizeof(padbuf));
		pos += enc_str(p + pos, padbuf, pad);
	}
	return pos;
}

static long vm_hwm_kb(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kb = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmHWM: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

static void progress(FILE *pf, struct sink *s, uint64_t written)
{
	struct fwd_stats st;

	if (!pf)
		return;
	sink_fwd__stats(s, &st);
	fprintf(pf,
		"progress written=%" PRIu64 " durable=%" PRIu64 " acked=%" PRIu64
		" dropped=%" PRIu64 " mem=%" PRIu64 "\n",
		written, st.records_spooled, st.records_acked, st.records_dropped, st.mem_bytes);
	fflush(pf);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: fwd_send -o forward:unix:PATH|forward:tcp:HOST:PORT|forward:tls:HOST:PORT "
		"[-n N]\n"
		"  [--first-id K] [--tls-ca FILE] [--tls-name NAME] [--tls-cert FILE] [--tls-key "
		"FILE]\n"
		"  [--mode forward|packed|gzip] [--gzip-level N] [--batch-records N] [--batch-bytes N]\n"
		"  [--flush-ms N] [--max-message N] [--queue-bytes N]\n"
		"  [--policy drop-oldest|drop-newest|block] [--block-ms N] [--inflight N]\n"
		"  [--ack-timeout-ms N] [--close-timeout-ms N] [--backoff-min-ms N]\n"
		"  [--backoff-max-ms N] [--spool DIR] [--spool-max N] [--no-fsync]\n"
		"  [--shared-key K] [--username U] [--password P] [--hostname H]\n"
		"  [--tags N] [--pad N] [--rate R] [--pause-after K] [--progress FILE] [-v]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
	    {"first-id", 1, 0, 'f'},
	    {"mode", 1, 0, 'm'},
	    {"batch-records", 1, 0, 'b'},
	    {"batch-bytes", 1, 0, 'B'},
	    {"flush-ms", 1, 0, 'F'},
	    {"max-message", 1, 0, 'M'},
	    {"queue-bytes", 1, 0, 'q'},
	    {"policy", 1, 0, 'P'},
	    {"block-ms", 1, 0, 'k'},
	    {"inflight", 1, 0, 'i'},
	    {"ack-timeout-ms", 1, 0, 'a'},
	    {"close-timeout-ms", 1, 0, 'c'},
	    {"backoff-min-ms", 1, 0, 'x'},
	    {"backoff-max-ms", 1, 0, 'X'},
	    {"spool", 1, 0, 's'},
	    {"spool-max", 1, 0, 'S'},
	    {"no-fsync", 0, 0, 'N'},
	    {"shared-key", 1, 0, 'K'},
	    {"username", 1, 0, 'u'},
	    {"password", 1, 0, 'p'},
	    {"hostname", 1, 0, 'H'},
	    {"tags", 1, 0, 't'},
	    {"pad", 1, 0, 'd'},
	    {"rate", 1, 0, 'r'},
	    {"pause-after", 1, 0, 'A'},
	    {"progress", 1, 0, 'g'},
	    {"gzip-level", 1, 0, 'z'},
	    {"tls-ca", 1, 0, 1001},
	    {"tls-name", 1, 0, 1002},
	    {"tls-cert", 1, 0, 1003},
	    {"tls-key", 1, 0, 1004},
	    {0, 0, 0, 0},
	};
	struct fwd_opts o;
	const char *spec = NULL, *progress_path = NULL;
	uint64_t n = 1000, first = 0, pause_after = UINT64_MAX;
	unsigned tags = 1;
	size_t pad = 40;
	double rate = 0;
	int c, err;

	fwd_opts__default(&o);
	while ((c = getopt_long(argc, argv, "o:n:v", lo, NULL)) != -1) {
		switch (c) {
		case 'o':
			spec = optarg;
			break;
		case 'n':
			n = strtoull(optarg, NULL, 0);
			break;
		case 'v':
			log__set_level(LOG_DEBUG);
			break;
		case 'f':
			first = strtoull(optarg, NULL, 0);
			break;
		case 'm':
			if (fwd_opts__parse_mode(optarg, &o.mode))
				usage();
			break;
		case 'b':
			o.batch_records = (uint32_t)strtoul(optarg, NULL, 0);
			break;
		case 'B':
			o.batch_bytes = strtoull(optarg, NULL, 0);
			break;
		case 'F':
			o.flush_interval_ms = (uint32_t)strtoul(optarg, NULL, 0);
			break;
		case 'M':
			o.max_message_bytes = strtoull(optarg, NULL, 0);
			break;
		case 'q':
			o.queue_max_bytes = strtoull(optarg, NULL, 0);
			break;
		case 'P':
			if (fwd_opts__parse_policy(optarg, &o.policy))
				usage();
			break;
		case 'k':
			o.block_max_ms = (uint32_t)strtoul(optarg, NULL, 0);
			break;
		case 'i':
			o.max_inflight = (uint32_t)strtoul(optarg, NULL, 0);
			break;
		case 'a':
			o.ack_timeout_ms = (uint32_t)strtoul(optarg, NULL, 0);
			break;
		case 'c':
			o.close_timeout_ms = (uint32_t)strtoul(optarg, NULL, 0);
			break;
		case 'x':
			o.backoff_min_ms = (uint32_t)strtoul(optarg, NULL, 0);
			break;
		case 'X':
			o.backoff_max_ms = (uint32_t)strtoul(optarg, NULL, 0);
			break;
		case 's':
			o.spool_dir = optarg;
			break;
		case 'S':
			o.spool_max_bytes = strtoull(optarg, NULL, 0);
			break;
		case 'N':
			o.spool_fsync = false;
			break;
		case 'K':
			o.shared_key = optarg;
			break;
		case 'u':
			o.username = optarg;
			break;
		case 'p':
			o.password = optarg;
			break;
		case 'H':
			o.self_hostname = optarg;
			break;
		case 1001:
			o.tls_ca = optarg;
			break;
		case 1002:
			o.tls_name = optarg;
			break;
		case 1003:
			o.tls_cert = optarg;
			break;
		case 1004:
			o.tls_key = optarg;
			break;
		case 't':
			tags = (unsigned)strtoul(optarg, NULL, 0);
			break;
		case 'd':
			pad = strtoull(optarg, NULL, 0);
			break;
		case 'r':
			rate = strtod(optarg, NULL);
			break;
		case 'A':
			pause_after = strtoull(optarg, NULL, 0);
			break;
		case 'g':
			progress_path = optarg;
			break;
		case 'z':
			o.gzip_level = atoi(optarg);
			break;
		default:
			usage();
		}
	}
	if (!spec || !tags || pad > 60000)
		usage();
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);

	struct sink *s = sink_fwd__open(spec, &o);

	if (!s) {
		fprintf(stderr, "fwd_send: cannot open %s: %s\n", spec, strerror(errno));
		return 1;
	}
	FILE *pf = progress_path ? fopen(progress_path, "a") : NULL;
	uint8_t *rec = malloc(pad + 128);
	uint64_t t0 = now_ns(), last_prog = t0, written = 0;

	if (!rec)
		return 1;
	for (uint64_t i = 0; i < n && !stop; i++) {
		uint64_t id = first + i;
		char tag[32];
		int tl = tags == 1
			     ? snprintf(tag, sizeof(tag), "mailtap.test")
			     : snprintf(tag, sizeof(tag), "mailtap.t%u", (unsigned)(id % tags));
		size_t len = make_record(rec, id, pad);

		if (i == pause_after) {
			progress(pf, s, written);
			fprintf(stderr, "fwd_send: paused after %" PRIu64 " records\n", written);
			while (!stop) {
				usleep(100000);
				progress(pf, s, written);
			}
			break;
		}
		sink__write(s, tag, (size_t)tl, 1700000000ULL * 1000000000ULL + id * 1000000ULL,
			    rec, len);
		written++;
		if (rate > 0) {
			uint64_t due = t0 + (uint64_t)((double)(i + 1) * 1e9 / rate);
			uint64_t now = now_ns();

			if (due > now)
				usleep((useconds_t)((due - now) / 1000));
		}
		if ((written & 255) == 0 && now_ns() - last_prog > 50000000ULL) {
			last_prog = now_ns();
			progress(pf, s, written);
		}
	}
	progress(pf, s, written);

	struct fwd_stats st;
	char line[1024];

	err = sink_fwd__close(s, &st);
	fwd_stats__format(&st, line, sizeof(line));
	fprintf(stdout, "STATS %s\n", line);
	fprintf(stdout, "WRITTEN %" PRIu64 "\n", written);
	fprintf(stdout, "VmHWM_kB %ld\n", vm_hwm_kb());
	fprintf(stdout, "CLOSE %d\n", err);
	if (pf)
		fclose(pf);
	free(rec);
	return err == 0 ? 0 : (err == -ETIMEDOUT ? 3 : 1);
}
