// SPDX-License-Identifier: BSD-3-Clause
/* Micro-benchmark of user/mime.c + user/files.c on a base64 attachment.
 *   bench_mime [MiB] [--quick]   (default 256 MiB of decoded attachment per run)
 *   bench_mime --floor BYTES     seconds MD5+SHA-1 take over BYTES (best of 3), for bench.sh
 *   bench_mime --floor-mb BYTES  the same as 32 files at once through hashmb (its widest pass)
 * Input: one MIME message whose body is the attachment base64-encoded in 76-character CRLF
 * lines (as MUAs send it). Measured in the same run, best of 3:
 *   1. the hashing floor: MD5 + SHA-1 (OpenSSL EVP) over the decoded bytes, in 64 KiB calls;
 *   2. mime.c alone: line framing + base64 decoding, decoded bytes thrown away;
 *   3. the pipeline: mime.c + files.c (MD5 + SHA-1 + mime sniffing), fed 1448-byte segments.
 * Throughput is given per decoded byte (and per encoded byte for 2 and 3); the ratio is
 * floor time / pipeline time (1.00 = as fast as hashing alone).
 * Then many files at once (user/hashmb.c): the same bytes as 32 files fed in turns of 1448
 * bytes through one pool, MD5, SHA-1 and both, each against OpenSSL one file at a time. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/evp.h>
#include "mailtap/files.h"
#include "mailtap/hashmb.h"
#include "mailtap/mime.h"

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* The message: headers, then raw base64-encoded in 57-byte (76-character) lines. */
static uint8_t *make_msg(const uint8_t *raw, size_t n, size_t *len)
{
	static const char hdr[] = "Content-Type: application/octet-stream; name=\"x.bin\"\r\n"
				  "Content-Transfer-Encoding: base64\r\n\r\n";
	size_t cap = sizeof(hdr) + (n / 57 + 1) * 78 + 16, o, i;
	uint8_t *m = malloc(cap);

	memcpy(m, hdr, sizeof(hdr) - 1);
	o = sizeof(hdr) - 1;
	for (i = 0; i < n; i += 57) {
		size_t l = n - i < 57 ? n - i : 57, k;

		for (k = 0; k + 3 <= l; k += 3) {
			uint32_t v = (uint32_t)raw[i + k] << 16 | (uint32_t)raw[i + k + 1] << 8 |
				     raw[i + k + 2];

			m[o++] = (uint8_t)b64[v >> 18];
			m[o++] = (uint8_t)b64[v >> 12 & 63];
			m[o++] = (uint8_t)b64[v >> 6 & 63];
			m[o++] = (uint8_t)b64[v & 63];
		}
		if (l - k == 1) {
			uint32_t v = (uint32_t)raw[i + k] << 16;

			m[o++] = (uint8_t)b64[v >> 18];
			m[o++] = (uint8_t)b64[v >> 12 & 63];
			m[o++] = '=';
			m[o++] = '=';
		} else if (l - k == 2) {
			uint32_t v = (uint32_t)raw[i + k] << 16 | (uint32_t)raw[i + k + 1] << 8;

			m[o++] = (uint8_t)b64[v >> 18];
			m[o++] = (uint8_t)b64[v >> 12 & 63];
			m[o++] = (uint8_t)b64[v >> 6 & 63];
			m[o++] = '=';
		}
		m[o++] = '\r';
		m[o++] = '\n';
	}
	*len = o;
	return m;
}

static uint64_t out_bytes;
static struct mt_file *cur;
static const struct files_cfg *fcfg;

static void d_count(void *u, const uint8_t *b, size_t n)
{
	(void)u;
	out_bytes += n + (b[0] & 0); /* touch */
}

static void d_file(void *u, const uint8_t *b, size_t n)
{
	(void)u;
	out_bytes += n;
	if (!cur)
		cur = files__open(NULL, fcfg, 1, "SMTP", true, 1);
	files__data(cur, b, n, 1);
}

static void d_end(void *u)
{
	(void)u;
	if (cur)
		files__close(cur, 2);
	cur = NULL;
}

static double run_mime(const uint8_t *msg, size_t len, bool files)
{
	struct mime_cb cb = {.data = files ? d_file : d_count, .end = d_end};
	struct mime_msg *m;
	double t0 = now_s();
	size_t i;

	out_bytes = 0;
	m = mime_msg__new(&cb, NULL);
	for (i = 0; i < len; i += 1448)
		mime_msg__feed(m, msg + i, len - i < 1448 ? len - i : 1448);
	mime_msg__end(m);
	mime_msg__free(m);
	return now_s() - t0;
}

static double run_hashes(const uint8_t *raw, size_t n)
{
	EVP_MD_CTX *a = EVP_MD_CTX_new(), *b = EVP_MD_CTX_new();
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned dl;
	double t0 = now_s();
	size_t i;

	EVP_DigestInit_ex(a, EVP_md5(), NULL);
	EVP_DigestInit_ex(b, EVP_sha1(), NULL);
	for (i = 0; i < n; i += 65536) {
		size_t l = n - i < 65536 ? n - i : 65536;

		EVP_DigestUpdate(a, raw + i, l);
		EVP_DigestUpdate(b, raw + i, l);
	}
	EVP_DigestFinal_ex(a, d, &dl);
	EVP_DigestFinal_ex(b, d, &dl);
	EVP_MD_CTX_free(a);
	EVP_MD_CTX_free(b);
	return now_s() - t0;
}

/* OpenSSL's digest of one algorithm over raw, one file at a time. */
static double run_one(const uint8_t *raw, size_t n, const EVP_MD *md)
{
	EVP_MD_CTX *a = EVP_MD_CTX_new();
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned dl;
	double t0 = now_s();

	EVP_DigestInit_ex(a, md, NULL);
	for (size_t i = 0; i < n; i += 65536)
		EVP_DigestUpdate(a, raw + i, n - i < 65536 ? n - i : 65536);
	EVP_DigestFinal_ex(a, d, &dl);
	EVP_MD_CTX_free(a);
	return now_s() - t0;
}

/* raw as NSTREAMS files of n / NSTREAMS bytes through one hashmb pool, 1448 bytes a turn. */
#define NSTREAMS 32
static double run_streams(const uint8_t *raw, size_t n, unsigned algs)
{
	static struct hashmb s[NSTREAMS];
	struct hashmb_pool pool;
	size_t per = n / NSTREAMS, off;
	uint8_t m5[16], s1[20];
	double t0 = now_s();

	hashmb_pool_init(&pool);
	for (int k = 0; k < NSTREAMS; k++)
		hashmb_init(&s[k], &pool, algs);
	for (off = 0; off < per; off += 1448)
		for (int k = 0; k < NSTREAMS; k++)
			hashmb_update(&s[k], raw + (size_t)k * per + off,
				      per - off < 1448 ? per - off : 1448);
	for (int k = 0; k < NSTREAMS; k++)
		hashmb_final(&s[k], m5, s1);
	return now_s() - t0;
}

static void bench_streams(const uint8_t *raw, size_t n)
{
	static const struct {
		const char *name;
		unsigned algs;
	} v[] = {
	    {"MD5", HASHMB_MD5}, {"SHA-1", HASHMB_SHA1}, {"MD5+SHA-1", HASHMB_MD5 | HASHMB_SHA1}};

	printf("%d files at once (hashmb) vs one at a time (OpenSSL), %zu MiB:\n", NSTREAMS,
	       n >> 20);
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		double to = 1e9, tm = 1e9, t;

		for (int r = 0; r < 3; r++) {
			t = (v[i].algs & HASHMB_MD5 ? run_one(raw, n, EVP_md5()) : 0) +
			    (v[i].algs & HASHMB_SHA1 ? run_one(raw, n, EVP_sha1()) : 0);
			to = t < to ? t : to;
			t = run_streams(raw, n, v[i].algs);
			tm = t < tm ? t : tm;
		}
		printf("  %-10s one at a time %8.1f MB/s   at once %8.1f MB/s   x%.2f\n", v[i].name,
		       (double)n / to / 1e6, (double)n / tm / 1e6, to / tm);
	}
}

int main(int argc, char **argv)
{
	size_t mib = 256, n, len, i;
	struct files_cfg cfg;
	double th = 1e9, tm = 1e9, tp = 1e9, t;
	uint8_t *raw, *msg;
	uint64_t x = 0x9e3779b97f4a7c15ull;
	int r;

	for (r = 1; r < argc; r++) {
		if (!strcmp(argv[r], "--quick")) {
			mib = 8;
		} else if ((!strcmp(argv[r], "--floor") || !strcmp(argv[r], "--floor-mb")) &&
			   r + 1 < argc) {
			bool mb = !strcmp(argv[r], "--floor-mb");

			/* the hashing floor of a capture: MD5+SHA-1 over as many bytes as its files
			 * had (bench.sh passes the sum of seen_bytes); prints the best time of 3 */
			n = strtoull(argv[++r], NULL, 10);
			raw = malloc(n ? n : 1);
			if (!raw)
				return 1;
			for (i = 0; i < n; i++) {
				x ^= x << 13;
				x ^= x >> 7;
				x ^= x << 17;
				raw[i] = (uint8_t)x;
			}
			for (int k = 0; k < 3; k++) {
				t = mb ? run_streams(raw, n, HASHMB_MD5 | HASHMB_SHA1)
				       : run_hashes(raw, n);
				th = t < th ? t : th;
			}
			printf("%.6f\n", th);
			free(raw);
			return 0;
		} else {
			mib = strtoull(argv[r], NULL, 10);
		}
	}
	n = mib << 20;
	raw = malloc(n);
	for (i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		raw[i] = (uint8_t)x;
	}
	msg = make_msg(raw, n, &len);
	files_cfg__default(&cfg); /* md5 + sha1, no extraction */
	fcfg = &cfg;
	for (r = 0; r < 3; r++) {
		t = run_hashes(raw, n);
		th = t < th ? t : th;
		t = run_mime(msg, len, false);
		tm = t < tm ? t : tm;
		if (out_bytes != n) {
			fprintf(stderr, "decoded %llu of %zu bytes\n",
				(unsigned long long)out_bytes, n);
			return 1;
		}
		t = run_mime(msg, len, true);
		tp = t < tp ? t : tp;
	}
#define MBS(b, t) ((double)(b) / (t) / 1e6)
	printf("base64 attachment: %zu MiB decoded, %.1f MB encoded message, best of 3\n", mib,
	       len / 1e6);
	printf("MD5+SHA-1 alone over the decoded bytes (floor): %8.1f MB/s\n", MBS(n, th));
	printf("mime.c base64 decode only:                       %8.1f MB/s decoded  %8.1f MB/s "
	       "encoded\n",
	       MBS(n, tm), MBS(len, tm));
	printf("mime.c decode + files.c MD5+SHA-1+sniff:         %8.1f MB/s decoded  %8.1f MB/s "
	       "encoded  ratio to floor %.2f\n",
	       MBS(n, tp), MBS(len, tp), th / tp);
	bench_streams(raw, n);
	free(raw);
	free(msg);
	return 0;
}
