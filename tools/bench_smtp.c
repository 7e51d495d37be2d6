// SPDX-License-Identifier: BSD-3-Clause
/* bench_smtp: SMTP parsing throughput on DATA-heavy traffic, as a ratio to a memchr-only scan
 * of the same bytes in the same run.
 *
 * The client stream is one session of pipelined transactions, each a DATA message of about
 * 1 MiB of 76-column text lines (with dot-stuffed lines), fed in 1460-byte segments. Figures:
 *   memchr   one memchr('\n') pass over the buffer, line by line (the floor);
 *   smtp     smtp_parser only (body bytes to a no-op callback);
 *   app      the whole app parser: smtp + MIME + files (MD5+SHA1 hashing) + records to /dev/null.
 * Usage: bench_smtp [MiB (default 64)] [repeats (default 5)]. Prints one JSON line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "mailtap/files.h"
#include "mailtap/ids.h"
#include "mailtap/rec.h"
#include "mailtap/session.h"
#include "mailtap/smtp.h"

#define SEG 1460

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

struct buf {
	char *p;
	size_t n, cap;
};

static void put(struct buf *b, const char *s, size_t n)
{
	if (b->n + n > b->cap) {
		b->cap = (b->n + n) * 2;
		b->p = realloc(b->p, b->cap);
		if (!b->p) {
			perror("realloc");
			exit(1);
		}
	}
	memcpy(b->p + b->n, s, n);
	b->n += n;
}

static void puts_(struct buf *b, const char *s)
{
	put(b, s, strlen(s));
}

/* Client and server streams of a session carrying about mib MiB of message text. */
static void gen(struct buf *c, struct buf *s, size_t mib)
{
	static const char alpha[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char line[80];
	unsigned x = 12345;
	size_t msgs = mib, i, j, k;

	puts_(s, "220 mx.example.com ESMTP\r\n");
	puts_(c, "EHLO client.example.org\r\n");
	puts_(s, "250-mx.example.com\r\n250-PIPELINING\r\n250 8BITMIME\r\n");
	for (i = 0; i < msgs; i++) {
		puts_(c, "MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n");
		puts_(s, "250 ok\r\n250 ok\r\n354 go\r\n");
		puts_(c, "From: a@example.org\r\nTo: b@example.com\r\nSubject: bench\r\n"
			 "Content-Type: text/plain\r\n\r\n");
		for (j = 0; j < (1u << 20) / 78; j++) {
			for (k = 0; k < 76; k++) {
				x = x * 1103515245u + 12345u;
				line[k] = alpha[(x >> 16) & 63];
			}
			if (j % 97 == 0)
				line[0] = '.', put(c, ".", 1); /* dot-stuffed */
			line[76] = '\r';
			line[77] = '\n';
			put(c, line, 78);
		}
		puts_(c, ".\r\n");
		puts_(s, "250 queued\r\n");
	}
	puts_(c, "QUIT\r\n");
	puts_(s, "221 bye\r\n");
}

static size_t sink_bytes;

static void body_data(void *u, const uint8_t *b, size_t n, uint64_t ts)
{
	(void)u;
	(void)b;
	(void)ts;
	sink_bytes += n;
}

static size_t memchr_scan(const char *p, size_t n)
{
	size_t lines = 0;
	const char *e = p + n, *q;

	for (size_t off = 0; off < n; off += SEG) {
		const char *s = p + off, *se = s + (n - off < SEG ? n - off : SEG);

		while (s < se && (q = memchr(s, '\n', (size_t)(se - s)))) {
			lines++;
			s = q + 1;
		}
	}
	(void)e;
	return lines;
}

/* Feeds the client stream in segments, with the server replies between transactions fed
 * all at once first (replies do not depend on timing for the parser). */
static void run_smtp(const struct smtp_cfg *cfg, const struct buf *c, const struct buf *s)
{
	struct conn_id id = {0};
	struct smtp_cb cb = {.body_data = body_data};
	struct smtp_parser *p = smtp_parser__new(cfg, &cb, &id);

	if (!p)
		exit(1);
	smtp_parser__feed(p, MT_RESP, (const uint8_t *)s->p, 26, 1);
	for (size_t off = 0; off < c->n; off += SEG) {
		size_t n = c->n - off < SEG ? c->n - off : SEG;

		smtp_parser__feed(p, MT_ORIG, (const uint8_t *)c->p + off, n, 2);
	}
	smtp_parser__feed(p, MT_RESP, (const uint8_t *)s->p + 26, s->n - 26, 3);
	smtp_parser__end(p, 4);
	smtp_parser__free(p);
}

static void w_noop(struct mt_session *s, uint64_t ts, const char *n, const char *a, size_t al,
		   const char *src)
{
	(void)src;
	(void)s;
	(void)ts;
	(void)n;
	(void)a;
	(void)al;
}

static void c_noop(struct mt_session *s, const char *svc)
{
	(void)s;
	(void)svc;
}

static void run_app(const struct smtp_cfg *cfg, struct rec *rec, const struct buf *c,
		    const struct buf *s)
{
	struct conn_id id = {0};
	struct mt_ids ids;
	struct mt_session ss = {0};
	void *a;

	mt_ids__init(&ids, 1, 1);
	ss.uid = "Cbench";
	ss.id = &id;
	ss.rec = rec;
	ss.ids = &ids;
	ss.local_orig = ss.local_resp = -1;
	ss.weird = w_noop;
	ss.confirm = c_noop;
	a = app_smtp_ops.new(&ss, cfg);
	if (!a)
		exit(1);
	app_smtp_ops.feed(a, MT_RESP, (const uint8_t *)s->p, 26, 1);
	for (size_t off = 0; off < c->n; off += SEG) {
		size_t n = c->n - off < SEG ? c->n - off : SEG;

		app_smtp_ops.feed(a, MT_ORIG, (const uint8_t *)c->p + off, n, 2);
	}
	app_smtp_ops.feed(a, MT_RESP, (const uint8_t *)s->p + 26, s->n - 26, 3);
	app_smtp_ops.end(a, 4);
	app_smtp_ops.free(a);
}

int main(int argc, char **argv)
{
	size_t mib = argc > 1 ? (size_t)atoi(argv[1]) : 64;
	int reps = argc > 2 ? atoi(argv[2]) : 5;
	struct buf c = {0}, s = {0};
	struct smtp_cfg cfg;
	struct files_cfg fcfg;
	struct rec_out *out = rec_out__new("mailtap");
	struct rec *rec = rec__new(out);
	double best_m = 1e9, best_s = 1e9, best_a = 1e9, t;
	volatile size_t lines = 0;

	if (!mib || reps < 1 || !out || !rec)
		return 2;
	gen(&c, &s, mib);
	smtp_cfg__default(&cfg);
	files_cfg__default(&fcfg);
	for (int r = 0; r < reps; r++) {
		t = now();
		lines += memchr_scan(c.p, c.n);
		t = now() - t;
		if (t < best_m)
			best_m = t;
		cfg.files = NULL;
		t = now();
		run_smtp(&cfg, &c, &s);
		t = now() - t;
		if (t < best_s)
			best_s = t;
		cfg.files = &fcfg;
		t = now();
		run_app(&cfg, rec, &c, &s);
		t = now() - t;
		if (t < best_a)
			best_a = t;
	}
	printf("{\"bench\":\"smtp\",\"bytes\":%zu,\"memchr_MBps\":%.1f,\"smtp_MBps\":%.1f,"
	       "\"smtp_ratio_to_memchr\":%.3f,\"app_MBps\":%.1f,\"app_ratio_to_memchr\":%.3f}\n",
	       c.n, (double)c.n / best_m / 1e6, (double)c.n / best_s / 1e6, best_m / best_s,
	       (double)c.n / best_a / 1e6, best_m / best_a);
	rec__free(rec);
	rec_out__free(out);
	free(c.p);
	free(s.p);
	return 0;
}
