// SPDX-License-Identifier: BSD-3-Clause
/* Micro-benchmark of user/reasm.c.
 *   bench_reasm [MiB]   (default 512 MiB of stream per run)
 * 1. in-order throughput: one direction, 1448-byte segments, the peer ACKs every second
 *    segment (as a Linux receiver does), each packet through reasm__packet/__ack/__data;
 * 2. the same stream with 1% of the segments arriving one position late (reordered), as a
 *    ratio to (1);
 * 3. both again without retention (max_retain_bytes = 0) and without any ACK (one-sided);
 * 4. peak memory with 100k concurrent flows, each holding one out-of-order segment.
 * Best of 3 runs for each throughput figure. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "mailtap/pkt.h"
#include "mailtap/reasm.h"

#define MSS 1448

static uint64_t sink_bytes, sink_x;

static void b_data(void *u, enum mt_dir d, const uint8_t *b, size_t n, uint64_t ts)
{
	(void)u, (void)d, (void)ts;
	sink_bytes += n;
	sink_x += b[0] + b[n - 1]; /* a parser would read the bytes; touch both ends */
}

static void b_gap(void *u, enum mt_dir d, uint64_t n, enum reasm_gap_why why, uint64_t ts)
{
	(void)u, (void)d, (void)n, (void)why, (void)ts;
	fprintf(stderr, "unexpected gap\n");
	exit(1);
}

static void b_gap_ok(void *u, enum mt_dir d, uint64_t n, enum reasm_gap_why why, uint64_t ts)
{
	(void)u, (void)d, (void)n, (void)why, (void)ts;
}

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Feeds nseg segments; reorder_pct of them arrive one position late. Returns seconds. */
static double run(const struct reasm_limits *lim, const uint8_t *payload, uint32_t nseg,
		  unsigned int reorder_permille, bool acks)
{
	struct reasm_pool *p = reasm_pool__new(lim);
	struct reasm_dir r;
	struct reasm_cb cb = {.data = b_data, .gap = b_gap};
	uint32_t isn = 0xfff00000u, *order = malloc(sizeof(uint32_t) * nseg);
	uint64_t rnd = 88172645463325252ull;
	double t0, t1;

	for (uint32_t i = 0; i < nseg; i++)
		order[i] = i;
	for (uint32_t i = 0; i + 1 < nseg; i++) {
		rnd ^= rnd << 13, rnd ^= rnd >> 7, rnd ^= rnd << 17;
		if (rnd % 1000 < reorder_permille) {
			uint32_t t = order[i];

			order[i] = order[i + 1];
			order[i + 1] = t;
			i++;
		}
	}
	sink_bytes = 0;
	reasm__init(&r, MT_ORIG);
	t0 = now_s();
	reasm__packet(&r, &cb, isn, PKT_TCP_SYN, 0, 0);
	for (uint32_t i = 0; i < nseg; i++) {
		uint32_t k = order[i], seq = isn + 1 + k * MSS;
		const uint8_t *d = payload + (k % 64) * MSS;

		reasm__packet(&r, &cb, seq, PKT_TCP_ACK | PKT_TCP_PSH, MSS, i);
		reasm__data(&r, p, &cb, seq, PKT_TCP_ACK, d, MSS, MSS, i);
		/* the receiver acks what it has in order, every second segment */
		if (acks && (i & 1))
			reasm__ack(&r, p, &cb, isn + (uint32_t)r.next, PKT_TCP_ACK, i);
	}
	reasm__close(&r, p, &cb, 0);
	t1 = now_s();
	if (sink_bytes != (uint64_t)nseg * MSS) {
		fprintf(stderr, "lost bytes: %llu of %llu\n", (unsigned long long)sink_bytes,
			(unsigned long long)nseg * MSS);
		exit(1);
	}
	reasm_pool__free(p);
	free(order);
	return t1 - t0;
}

static double best(const struct reasm_limits *lim, const uint8_t *pl, uint32_t nseg,
		   unsigned int permille, bool acks)
{
	double b = 1e9;

	for (int i = 0; i < 3; i++) {
		double t = run(lim, pl, nseg, permille, acks);

		if (t < b)
			b = t;
	}
	return b;
}

static long rss_kib(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long v = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "VmRSS:", 6))
			v = strtol(line + 6, NULL, 10);
	fclose(f);
	return v;
}

/* 100k concurrent flows. prior: each first delivered 100 bytes that the peer acked (the
 * emptied retention ring stays allocated until the next ACK: see docs/reassembly.md). */
static void flows_100k(bool prior)
{
	enum { NF = 100000 };
	struct reasm_limits lim = REASM_LIMITS_DEFAULT;
	struct reasm_pool *p = reasm_pool__new(&lim);
	struct reasm_dir(*r)[2];
	struct reasm_cb cb = {.data = b_data, .gap = b_gap_ok}; /* close flushes: gaps */
	struct reasm_stats st = {0};
	static uint8_t seg[MSS];
	long rss0, rss1;
	double t0, t1;

	rss0 = rss_kib();
	r = calloc(NF, sizeof(*r));
	t0 = now_s();
	for (uint32_t i = 0; i < NF; i++) {
		uint32_t isn = i * 7919u, at = isn + 1;

		reasm__init(&r[i][0], MT_ORIG);
		reasm__init(&r[i][1], MT_RESP);
		reasm__packet(&r[i][0], &cb, isn, PKT_TCP_SYN, 0, 0);
		if (prior) {
			reasm__packet(&r[i][0], &cb, at, PKT_TCP_ACK, 100, 0);
			reasm__data(&r[i][0], p, &cb, at, PKT_TCP_ACK, seg, 100, 100, 0);
			reasm__ack(&r[i][0], p, &cb, at + 100, PKT_TCP_ACK, 0);
			at += 100;
		}
		/* one full-size segment after a lost one */
		reasm__packet(&r[i][0], &cb, at + MSS, PKT_TCP_ACK, MSS, 0);
		reasm__data(&r[i][0], p, &cb, at + MSS, PKT_TCP_ACK, seg, MSS, MSS, 0);
	}
	t1 = now_s();
	rss1 = rss_kib();
	reasm_pool__stats(p, &st);
	printf("100k flows, 1 OOO segment (%d B) each%s: pool peak %.1f MiB (%.0f B/flow), "
	       "RSS +%.1f MiB (incl. %zu B/flow of 2 reasm_dir), memcap hits %llu, %.0f ns/flow\n",
	       MSS, prior ? ", after 100 B delivered+acked" : "", st.bytes_peak / 1048576.0,
	       (double)st.bytes_peak / NF, (rss1 - rss0) / 1024.0, sizeof(r[0]),
	       (unsigned long long)st.limit_memcap, (t1 - t0) / NF * 1e9);
	for (uint32_t i = 0; i < NF; i++) {
		reasm__close(&r[i][0], p, &cb, 0);
		reasm__close(&r[i][1], p, &cb, 0);
	}
	reasm_pool__stats(p, &st);
	if (st.bytes_in_use) {
		fprintf(stderr, "leak: %llu\n", (unsigned long long)st.bytes_in_use);
		exit(1);
	}
	free(r);
	reasm_pool__free(p);
}

int main(int argc, char **argv)
{
	uint64_t mib = argc > 1 ? strtoull(argv[1], NULL, 10) : 512;
	uint32_t nseg = (uint32_t)(mib * 1048576 / MSS);
	struct reasm_limits lim = REASM_LIMITS_DEFAULT, noret = REASM_LIMITS_DEFAULT;
	uint8_t *pl = malloc(64 * MSS);
	double tin, tro, tin_nr, tro_nr, tin_na;

	for (uint32_t i = 0; i < 64 * MSS; i++)
		pl[i] = (uint8_t)(i * 31 + 7);
	noret.max_retain_bytes = 0;
	lim.max_above_hole_no_ack = 0;
	noret.max_above_hole_no_ack = 0;

	tin = best(&lim, pl, nseg, 0, true);
	tro = best(&lim, pl, nseg, 10, true);
	tin_nr = best(&noret, pl, nseg, 0, true);
	tro_nr = best(&noret, pl, nseg, 10, true);
	tin_na = best(&lim, pl, nseg, 0, false);

#define GBPS(t) ((double)nseg * MSS * 8 / (t) / 1e9)
#define MPPS(t) ((double)nseg / (t) / 1e6)
	printf("stream %llu MiB in %u segments of %d B, best of 3\n", (unsigned long long)mib, nseg,
	       MSS);
	printf("in-order, retention on (default):   %6.2f Gbit/s  %6.2f Mseg/s\n", GBPS(tin),
	       MPPS(tin));
	printf("1%% reordered, retention on:         %6.2f Gbit/s  %6.2f Mseg/s  ratio %.3f\n",
	       GBPS(tro), MPPS(tro), tin / tro);
	printf("in-order, retention off:            %6.2f Gbit/s  %6.2f Mseg/s\n", GBPS(tin_nr),
	       MPPS(tin_nr));
	printf("1%% reordered, retention off:        %6.2f Gbit/s  %6.2f Mseg/s  ratio %.3f\n",
	       GBPS(tro_nr), MPPS(tro_nr), tin_nr / tro_nr);
	printf("in-order, no ACKs seen (one-sided): %6.2f Gbit/s  %6.2f Mseg/s\n", GBPS(tin_na),
	       MPPS(tin_na));
	flows_100k(false);
	flows_100k(true);
	free(pl);
	return sink_x == 42 ? 2 : 0;
}
