// SPDX-License-Identifier: BSD-3-Clause
/* mime.c (+ files.c as the SMTP side will drive them): decoders and entity structure fed
 * whole, split at every position and byte by byte with identical results; exact values for
 * base64/quoted-printable/boundaries/filenames; Zeek's limits (header bytes, depth); a
 * message nested 1000 deep and 100 MB of base64 garbage in bounded memory; and the corpus:
 * mail bodies cut out of the pcaps (libpcap, client stream, DATA/BDAT) compared with Zeek's
 * files.log / thefile* / mime-content-hash / rfc822 baselines and Suricata's expectations. */
#include <errno.h>
#include <malloc.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <msgpack.h>
#include <openssl/evp.h>
#include <pcap/pcap.h>
#include "mailtap/files.h"
#include "mailtap/ids.h"
#include "mailtap/mime.h"
#include "mailtap/rec.h"
#include "mailtap/session.h"
#include "mailtap/sink.h"
#include "rand_fill.h"
#include "corpus.h"

#define ZB CORPUS "zeek/baselines/"

/* ======================= a transcript of every callback ======================= */

struct tr {
	char *s;
	size_t len, cap;
	/* per-entity data digests (stack) */
	EVP_MD_CTX *md[256];
	uint64_t dlen[256];
	uint64_t skipped[256]; /* bytes counted through cb.skip (digest covers dlen only) */
	int sp;
};

/* With the skip callbacks on: the consumer wants an entity's bytes while it has fewer than
 * tr_want of them (then mime counts the rest through cb.skip). */
static uint64_t tr_want, tr_skipped_total;

static void tr_add(struct tr *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(t->s ? t->s + t->len : NULL, t->s ? t->cap - t->len : 0, fmt, ap);
		va_end(ap);
		if (t->s && t->len + (size_t)n < t->cap) {
			t->len += (size_t)n;
			return;
		}
		t->cap = (t->cap + (size_t)n + 1) * 2;
		t->s = realloc(t->s, t->cap);
		assert_non_null(t->s);
	}
}

static void tr_begin(void *u, unsigned depth)
{
	struct tr *t = u;

	tr_add(t, "begin %u\n", depth);
	assert_true(t->sp < 255);
	t->sp++;
	t->md[t->sp] = EVP_MD_CTX_new();
	EVP_DigestInit_ex(t->md[t->sp], EVP_md5(), NULL);
	t->dlen[t->sp] = 0;
	t->skipped[t->sp] = 0;
}

static void tr_header(void *u, unsigned depth, const char *n, size_t nl, const char *v, size_t vl)
{
	tr_add(u, "header %u [%.*s] [%.*s]\n", depth, (int)nl, n, (int)vl, v);
}

static void tr_hdone(void *u, const struct mime_entity_info *e)
{
	tr_add(u, "headers_done %u %s/%s enc=%s multi=%d msg=%d fn=[%.*s] dfn=[%.*s]\n", e->depth,
	       e->type, e->subtype, e->encoding ? e->encoding : "-", e->is_multipart, e->is_message,
	       e->filename ? (int)e->filename_len : 1, e->filename ? e->filename : "-",
	       e->filename_decoded ? (int)e->filename_decoded_len : 1,
	       e->filename_decoded ? e->filename_decoded : "-");
}

static void tr_data(void *u, const uint8_t *b, size_t n)
{
	struct tr *t = u;

	assert_true(t->sp > 0);
	EVP_DigestUpdate(t->md[t->sp], b, n);
	t->dlen[t->sp] += n;
}

static bool tr_data_wanted(void *u)
{
	struct tr *t = u;

	assert_int_equal(t->skipped[t->sp], 0); /* never asked again once it said no */
	return t->dlen[t->sp] < tr_want;
}

static void tr_skip(void *u, uint64_t n)
{
	struct tr *t = u;

	assert_true(t->sp > 0);
	assert_true(n > 0);
	t->skipped[t->sp] += n;
	tr_skipped_total += n;
}

static void tr_gap(void *u, uint64_t n)
{
	tr_add(u, "gap %llu\n", (unsigned long long)n);
}

static void tr_end(void *u)
{
	struct tr *t = u;
	unsigned char d[16];
	unsigned dl, i;

	assert_true(t->sp > 0);
	EVP_DigestFinal_ex(t->md[t->sp], d, &dl);
	EVP_MD_CTX_free(t->md[t->sp]);
	tr_add(t, "end len=%llu", (unsigned long long)(t->dlen[t->sp] + t->skipped[t->sp]));
	if (!t->skipped[t->sp]) {
		tr_add(t, " md5=");
		for (i = 0; i < dl; i++)
			tr_add(t, "%02x", d[i]);
	}
	tr_add(t, "\n");
	t->sp--;
}

static void tr_weird(void *u, const char *name, const char *addl)
{
	tr_add(u, "weird %s [%s]\n", name, addl ? addl : "-");
}

static void tr_free(struct tr *t)
{
	while (t->sp > 0)
		EVP_MD_CTX_free(t->md[t->sp--]);
	free(t->s);
	memset(t, 0, sizeof(*t));
}

static const struct mime_cb tr_cb_proto = {
    .begin = tr_begin,
    .header = tr_header,
    .headers_done = tr_hdone,
    .data = tr_data,
    .gap = tr_gap,
    .end = tr_end,
    .weird = tr_weird,
};
/* The callbacks run() uses (test_skip_mode swaps in the skip-mode set). */
static const struct mime_cb *tr_cbs = &tr_cb_proto;

/* Runs msg through a parser in pieces of `step` bytes (0: whole; split: two pieces at split). */
static char *run(const char *msg, size_t len, size_t split, size_t step,
		 const struct mime_limits *lim, enum mime_framing fr)
{
	struct tr t = {0};
	struct mime_cb cb = *tr_cbs;
	struct mime_msg *m;
	size_t i;
	char *s;

	cb.u = &t;
	m = mime_msg__new(&cb, lim);
	assert_non_null(m);
	mime_msg__set_framing(m, fr);
	if (step) {
		for (i = 0; i < len; i += step)
			assert_int_equal(mime_msg__feed(m, (const uint8_t *)msg + i,
							len - i < step ? len - i : step),
					 0);
	} else {
		assert_int_equal(mime_msg__feed(m, (const uint8_t *)msg, split), 0);
		assert_int_equal(mime_msg__feed(m, (const uint8_t *)msg + split, len - split), 0);
	}
	mime_msg__end(m);
	mime_msg__free(m);
	assert_int_equal(t.sp, 0);
	s = strdup(t.s ? t.s : "");
	tr_free(&t);
	return s;
}

/* Whole == every split == byte by byte; returns the transcript. */
static char *run_all(const char *msg, const struct mime_limits *lim, enum mime_framing fr)
{
	size_t len = strlen(msg), sp;
	char *whole = run(msg, len, len, 0, lim, fr), *o;

	for (sp = 0; sp <= len; sp++) {
		o = run(msg, len, sp, 0, lim, fr);
		if (strcmp(o, whole))
			fail_msg("split at %zu differs:\n--- whole\n%s\n--- split\n%s", sp, whole,
				 o);
		free(o);
	}
	o = run(msg, len, 0, 1, lim, fr);
	if (strcmp(o, whole))
		fail_msg("byte by byte differs:\n--- whole\n%s\n--- bytes\n%s", whole, o);
	free(o);
	return whole;
}

static void expect(const char *msg, const char *want)
{
	char *got = run_all(msg, NULL, MIME_FRAMING_DATA);

	if (strcmp(got, want))
		fail_msg("transcript differs:\n--- got\n%s--- want\n%s", got, want);
	free(got);
}

static const char *md5hex(const void *p, size_t n)
{
	static char out[33];
	unsigned char d[16];
	unsigned dl, i;

	EVP_Digest(p, n, d, &dl, EVP_md5(), NULL);
	for (i = 0; i < 16; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
	return out;
}

/* "end len=N md5=..." for these bytes */
static char *end_line(const void *p, size_t n)
{
	static char buf[8][80];
	static int k;

	k = (k + 1) % 8;
	snprintf(buf[k], sizeof(buf[k]), "end len=%zu md5=%s\n", n, md5hex(p, n));
	return buf[k];
}

/* ======================= decoders and structure ======================= */

static void test_simple_message(void **state)
{
	/* a one-part mail: every line's CRLF is data, the last one included */
	char want[1024];

	snprintf(want, sizeof(want),
		 "begin 0\n"
		 "header 0 [Subject] [hello world]\n"
		 "header 0 [X-Folded] [a\tb c]\n"
		 "headers_done 0 text/plain enc=- multi=0 msg=0 fn=[-] dfn=[-]\n"
		 "%s",
		 end_line("line1\r\nline2\r\n", 14));
	expect("Subject: hello world\r\n"
	       "X-Folded: a\r\n"
	       "\tb c\r\n"
	       "\r\n"
	       "line1\r\n"
	       "line2\r\n",
	       want);
	/* bare LF and bare CR end lines too (DATA framing); data gets CRLF */
	snprintf(want, sizeof(want),
		 "begin 0\nheader 0 [Subject] [x]\n"
		 "headers_done 0 text/plain enc=- multi=0 msg=0 fn=[-] dfn=[-]\n%s",
		 end_line("ab\r\ncd\r\n", 8));
	expect("Subject: x\n\nab\rcd\n", want);
}

static void test_multipart(void **state)
{
	/* preamble/epilogue ignored; the CRLF before a boundary belongs to the boundary;
	 * base64 groups split across lines; QP soft breaks, =XX, trailing blanks */
	static const char msg[] = "Content-Type: multipart/mixed; boundary=\"XX\"\r\n"
				  "\r\n"
				  "preamble\r\n"
				  "--XX\r\n"
				  "Content-Type: text/plain\r\n"
				  "\r\n"
				  "Hello\r\n"
				  "\r\n"
				  "--XX\r\n"
				  "Content-Type: application/octet-stream; name=\"a.bin\"\r\n"
				  "Content-Transfer-Encoding: base64\r\n"
				  "Content-Disposition: attachment; filename=\"b.bin\"\r\n"
				  "\r\n"
				  "SGVsbG8s\r\n" /* Hello, */
				  "IHdvcmxk\r\n" /* " world" */
				  "IQ\r\n"	 /* ! (group split across lines) */
				  "==\r\n"
				  "--XX\r\n"
				  "Content-Type: text/plain\r\n"
				  "Content-Transfer-Encoding: quoted-printable\r\n"
				  "\r\n"
				  "caf=C3=A9 soft=\r\n"
				  "break  \r\n"
				  "--XX--\r\n"
				  "epilogue\r\n";
	char want[2048];
	static const char qp[] = "caf\xc3\xa9 softbreak\r\n";

	snprintf(want, sizeof(want),
		 "begin 0\n"
		 "header 0 [Content-Type] [multipart/mixed; boundary=\"XX\"]\n"
		 "headers_done 0 multipart/mixed enc=- multi=1 msg=0 fn=[-] dfn=[-]\n"
		 "begin 1\n"
		 "header 1 [Content-Type] [text/plain]\n"
		 "headers_done 1 text/plain enc=- multi=0 msg=0 fn=[-] dfn=[-]\n"
		 "%s"
		 "begin 1\n"
		 "header 1 [Content-Type] [application/octet-stream; name=\"a.bin\"]\n"
		 "header 1 [Content-Transfer-Encoding] [base64]\n"
		 "header 1 [Content-Disposition] [attachment; filename=\"b.bin\"]\n"
		 "headers_done 1 application/octet-stream enc=base64 multi=0 msg=0 fn=[b.bin] "
		 "dfn=[b.bin]\n"
		 "%s"
		 "begin 1\n"
		 "header 1 [Content-Type] [text/plain]\n"
		 "header 1 [Content-Transfer-Encoding] [quoted-printable]\n"
		 "headers_done 1 text/plain enc=quoted-printable multi=0 msg=0 fn=[-] dfn=[-]\n"
		 "%s"
		 "%s",
		 end_line("Hello\r\n", 7), end_line("Hello, world!", 13),
		 end_line(qp, sizeof(qp) - 1), end_line("", 0));
	expect(msg, want);
}

static void test_base64_oddities(void **state)
{
	struct mime_limits lim;
	char *got;

	mime_limits__default(&lim);
	/* garbage characters: reported once (Zeek's errored counter), skipped */
	got = run_all("Content-Transfer-Encoding: base64\r\n\r\nSG!Vs\r\nbG8*=\r\n", &lim,
		      MIME_FRAMING_DATA);
	assert_non_null(strstr(got, "weird base64_illegal_encoding [character 33 ignored by "
				    "Base64 decoding]\n"));
	assert_null(strstr(got, "character 42"));
	assert_non_null(strstr(got, end_line("Hello", 5)));
	free(got);
	/* an incomplete last group: Zeek pads with 0 bits and says so */
	got = run_all("Content-Transfer-Encoding: base64\r\n\r\nSGVsbG8gQQ\r\n", &lim,
		      MIME_FRAMING_DATA);
	assert_non_null(strstr(got, "weird base64_illegal_encoding [incomplete base64 group, "
				    "padding with 12 bits of 0]\n"));
	assert_non_null(strstr(got, end_line("Hello A", 7)));
	free(got);
	/* groups after padding are ignored (reported once) */
	got = run_all("Content-Transfer-Encoding: base64\r\n\r\nSGk=SGk=\r\n", &lim,
		      MIME_FRAMING_DATA);
	assert_non_null(strstr(got, "[extra base64 groups after '=' padding are ignored]"));
	assert_non_null(strstr(got, end_line("Hi", 2)));
	free(got);
	/* a high byte is reported as a signed char, as Zeek does */
	got = run_all("Content-Transfer-Encoding: base64\r\n\r\n\xe9SGk=\r\n", &lim,
		      MIME_FRAMING_DATA);
	assert_non_null(strstr(got, "[character -23 ignored by Base64 decoding]"));
	free(got);
}

/* Base64 bodies long enough to be decoded in runs of whole lines joined across line ends
 * (mime.c b64_run_lines): lines of every length, groups across line ends, in a multipart
 * whose boundary follows; then garbage and '=' mid-body. Whole, every split and byte by byte
 * (run_all: the last goes line by line) give the same transcript, and the bytes decoded are
 * the ones encoded. */
static void test_base64_runs(void **state)
{
	static const size_t widths[] = {76, 76, 13, 76, 1, 2, 76, 80, 4, 75, 64, 3};
	uint8_t raw[2500];
	char enc[3400], *msg, *got;
	struct tr t = {0};
	size_t n, o, w;

	(void)state;
	rand_fill(raw, sizeof(raw), 3);
	n = (size_t)EVP_EncodeBlock((unsigned char *)enc, raw, sizeof(raw));
	for (int variant = 0; variant < 2; variant++) {
		tr_add(&t, "Content-Type: multipart/mixed; boundary=\"zz\"\r\n\r\n--zz\r\n"
			   "Content-Transfer-Encoding: base64\r\n\r\n");
		for (o = 0, w = 0; o < n; o += widths[w++ % 12]) {
			size_t k = n - o < widths[w % 12] ? n - o : widths[w % 12];

			if (variant == 1 && w == 20)
				tr_add(&t, "QUJ*DREVG\r\n"); /* garbage, and a group across lines */
			if (variant == 1 && w == 30)
				tr_add(&t, "QQ==QUJD\r\n"); /* '=' mid-body: decoding ends there */
			tr_add(&t, "%.*s\r\n", (int)k, enc + o);
		}
		tr_add(&t, "--zz\r\n\r\nplain\r\n--zz--\r\n");
		msg = t.s;
		memset(&t, 0, sizeof(t));
		got = run_all(msg, NULL, MIME_FRAMING_DATA);
		if (variant == 0) {
			assert_non_null(strstr(got, end_line(raw, sizeof(raw))));
			assert_null(strstr(got, "weird"));
		} else {
			assert_non_null(strstr(got, "[character 42 ignored by Base64 decoding]"));
			/* decoding stopped at the padding (no second report: Zeek's once per
			 * entity) */
			assert_null(strstr(got, "end len=25"));
			assert_non_null(strstr(got, "end len=1009 "));
		}
		assert_non_null(strstr(got, end_line("plain", 5)));
		free(got);
		free(msg);
	}
}

/* A base64 body of 27 KB in one piece is decoded in several joined runs (MIME_B64_RUN is
 * 8 KiB of input): the same transcript whole, in 1000-byte pieces and byte by byte, and the
 * bytes decoded are the ones encoded. */
static void test_base64_long_runs(void **state)
{
	static uint8_t raw[20000];
	static char enc[27000];
	struct tr t = {0};
	char *whole, *o;
	size_t len, n;

	(void)state;
	rand_fill(raw, sizeof(raw), 17);
	n = (size_t)EVP_EncodeBlock((unsigned char *)enc, raw, sizeof(raw));
	assert_true(n < sizeof(enc));
	tr_add(&t, "Content-Transfer-Encoding: base64\r\n\r\n");
	for (size_t i = 0; i < n; i += 76)
		tr_add(&t, "%.*s\r\n", (int)(n - i < 76 ? n - i : 76), enc + i);
	len = strlen(t.s);
	whole = run(t.s, len, len, 0, NULL, MIME_FRAMING_DATA);
	assert_non_null(strstr(whole, end_line(raw, sizeof(raw))));
	o = run(t.s, len, 0, 1000, NULL, MIME_FRAMING_DATA);
	assert_string_equal(o, whole);
	free(o);
	o = run(t.s, len, 0, 1, NULL, MIME_FRAMING_DATA);
	assert_string_equal(o, whole);
	free(o);
	free(whole);
	free(t.s);
}

static void test_qp_oddities(void **state)
{
	char *got = run_all("Content-Transfer-Encoding: Quoted-Printable\r\n\r\n"
			    "a=ZZb=4\r\n"
			    "x\x01y\r\n",
			    NULL, MIME_FRAMING_DATA);
	static const char dec[] = "a=ZZb=4\r\nx\x01y\r\n";

	assert_non_null(strstr(got, end_line(dec, sizeof(dec) - 1)));
	free(got);
}

static void test_filenames(void **state)
{
	struct {
		const char *hdrs;
		const char *zeek, *decoded;
	} cases[] = {
	    /* plain */
	    {"Content-Disposition: attachment; filename=\"NEWS.txt\"\r\n", "NEWS.txt", "NEWS.txt"},
	    /* Content-Type name= only */
	    {"Content-Type: image/png; name=\"zeek-logo.png\"\r\n", "zeek-logo.png",
	     "zeek-logo.png"},
	    /* unquoted with more parameters: Zeek keeps the rest */
	    {"Content-Disposition: attachment; filename=a.txt; size=3\r\n", "a.txt; size=3",
	     "a.txt"},
	    /* RFC 2231 extended: Zeek strips charset'lang' and %XX-unescapes */
	    {"Content-Disposition: attachment; filename*=UTF-8''caf%C3%A9.txt\r\n",
	     "caf\xc3\xa9.txt", "caf\xc3\xa9.txt"},
	    /* RFC 2231 continuations: Zeek takes what follows the last name*..= */
	    {"Content-Disposition: attachment;\r\n filename*0=\"long\";\r\n"
	     " filename*1=\"name.zip\"\r\n",
	     NULL, "longname.zip"},
	    /* RFC 2047 in a quoted name: Zeek logs it encoded */
	    {"Content-Type: text/plain; name=\"=?UTF-8?B?w6l0w6kucGRm?=\"\r\n",
	     "=?UTF-8?B?w6l0w6kucGRm?=", "\xc3\xa9t\xc3\xa9.pdf"},
	    {"Content-Disposition: attachment; filename=\"=?iso-8859-1?Q?r=E9sum=E9?= "
	     "=?iso-8859-1?Q?_final.doc?=\"\r\n",
	     "=?iso-8859-1?Q?r=E9sum=E9?= =?iso-8859-1?Q?_final.doc?=", "r\xe9sum\xe9 final.doc"},
	    /* Content-Disposition wins over Content-Type name for decoded; Zeek: last header */
	    {"Content-Disposition: attachment; filename=\"cd.txt\"\r\n"
	     "Content-Type: text/plain; name=\"ct.txt\"\r\n",
	     "ct.txt", "cd.txt"},
	    /* %u escape and "%%" (Zeek's unescape_URI) */
	    {"Content-Disposition: attachment; filename=\"a%u0041%%41\"\r\n", "aAA", "a%u0041%%41"},
	    /* a section number past any count (found by fuzz_mime: it overflowed a long) */
	    {"Content-Disposition: attachment;\r\n filename*0=\"a\";\r\n"
	     " filename*99999999999999999999999=\"b\"\r\n",
	     NULL, "a"},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char msg[512], w1[512];
		char *got;

		snprintf(msg, sizeof(msg), "%s\r\nbody\r\n", cases[i].hdrs);
		got = run_all(msg, NULL, MIME_FRAMING_DATA);
		snprintf(w1, sizeof(w1), "fn=[%s] dfn=[%s]", cases[i].zeek ? cases[i].zeek : "-",
			 cases[i].decoded);
		if (!strstr(got, w1))
			fail_msg("case %zu: want %s in\n%s", i, w1, got);
		free(got);
	}
}

static void test_message_rfc822(void **state)
{
	/* the inner mail's headers come with depth 2; its body lines keep their CRLF
	 * (parent is message, not multipart): Zeek's 2-byte file of
	 * rfc822-msg-file-analysis */
	static const char msg[] = "Content-Type: multipart/mixed; boundary=B\r\n"
				  "\r\n"
				  "--B\r\n"
				  "Content-Type: message/rfc822\r\n"
				  "\r\n"
				  "From: <attachment@example.com>\r\n"
				  "Subject: inner\r\n"
				  "\r\n"
				  "\r\n"
				  "--B--\r\n";
	char *got = run_all(msg, NULL, MIME_FRAMING_DATA);
	char want[1024];

	snprintf(want, sizeof(want),
		 "begin 0\n"
		 "header 0 [Content-Type] [multipart/mixed; boundary=B]\n"
		 "headers_done 0 multipart/mixed enc=- multi=1 msg=0 fn=[-] dfn=[-]\n"
		 "begin 1\n"
		 "header 1 [Content-Type] [message/rfc822]\n"
		 "headers_done 1 message/rfc822 enc=- multi=0 msg=1 fn=[-] dfn=[-]\n"
		 "begin 2\n"
		 "header 2 [From] [<attachment@example.com>]\n"
		 "header 2 [Subject] [inner]\n"
		 "headers_done 2 text/plain enc=- multi=0 msg=0 fn=[-] dfn=[-]\n"
		 "%s%s%s",
		 end_line("\r\n", 2), end_line("", 0), end_line("", 0));
	assert_string_equal(got, want);
	free(got);
}

static void test_bdat_framing(void **state)
{
	struct mime_limits lim;
	char *got;

	mime_limits__default(&lim);
	lim.max_line = 10;
	/* LF-only lines keep their LF and get no CRLF; a long line is cut */
	got = run("Subject: x\n\nab\n1234567890123\r\n", 30, 30, 0, &lim, MIME_FRAMING_BDAT);
	assert_non_null(strstr(got, "weird smtp_bdat_line_lf_only [-]\n"));
	/* addl: Zeek's buffer, the partial line (0) and the delivery (30 bytes) */
	assert_non_null(strstr(got, "weird smtp_bdat_line_too_long [30]\n"));
	/* "Subject: x\n" is a header whose value keeps the LF; then "\n" is not an empty
	 * line (it is one byte): Zeek's BDAT framing keeps the message in its headers */
	free(got);
	/* delivered as 20 + 10 bytes: "12345" carried, the cut in the second delivery */
	got = run("Subject: x\n\nab\n1234567890123\r\n", 30, 20, 0, &lim, MIME_FRAMING_BDAT);
	assert_non_null(strstr(got, "weird smtp_bdat_line_too_long [15]\n"));
	free(got);
	got = run("Subject: x\r\n\r\nab\n1234567890123\r\n", 32, 32, 0, &lim, MIME_FRAMING_BDAT);
	assert_non_null(strstr(got, end_line("ab\n1234567890123\r\n", 18)));
	free(got);
}

/* mime_limits.max_header_total: the header buffers of all messages together. Four messages
 * each in the middle of a 30000-byte folded header: before, each kept a 32 KiB buffer (2000
 * connections with a 60 KB header in progress: 161 MB); with a 64 KiB total two fit, the
 * other two are cut at 8 KiB as at max_header_bytes (the weird, with the bytes kept),
 * counted; a finished header's large buffer goes back at once, and every one at the end. */
/* max_open_messages: one more message than the limit is refused (NULL, ENOSPC, counted); a
 * message freed makes room; every message counts until freed, whatever its state. */
static void test_open_messages(void **state)
{
	struct mime_limits lim;
	struct mime_msg *m[3];
	uint64_t open0, ref0, open, ref;

	(void)state;
	mime_limits__default(&lim);
	assert_int_equal(lim.max_open_messages, 100000);
	mime__open_stats(&open0, &ref0);
	lim.max_open_messages = (uint32_t)open0 + 2;
	m[0] = mime_msg__new(NULL, &lim);
	m[1] = mime_msg__new(NULL, &lim);
	assert_non_null(m[0]);
	assert_non_null(m[1]);
	errno = 0;
	m[2] = mime_msg__new(NULL, &lim);
	assert_null(m[2]);
	assert_int_equal(errno, ENOSPC);
	mime__open_stats(&open, &ref);
	assert_true(open == open0 + 2 && ref == ref0 + 1);
	{
		static const char msg[] = "Subject: x\r\n\r\nbody\r\n";

		mime_msg__feed(m[0], (const uint8_t *)msg, sizeof(msg) - 1);
	}
	mime_msg__end(m[0]);
	mime_msg__free(m[0]); /* room again */
	m[2] = mime_msg__new(NULL, &lim);
	assert_non_null(m[2]);
	lim.max_open_messages = 0; /* no limit */
	m[0] = mime_msg__new(NULL, &lim);
	assert_non_null(m[0]);
	for (int i = 0; i < 3; i++)
		mime_msg__free(m[i]);
	mime__open_stats(&open, &ref);
	assert_true(open == open0 && ref == ref0 + 1);
}

static void test_header_total(void **state)
{
	enum { N = 4 };
	struct tr t[N];
	struct mime_msg *m[N];
	struct mime_limits lim;
	uint64_t b0, h0, b1, h1, b2, h2;
	char line[1100];

	(void)state;
	mime_limits__default(&lim);
	assert_int_equal(lim.max_header_total, 64u << 20);
	lim.max_header_total = 64u << 10;
	mime__header_total_stats(&b0, &h0);
	for (int i = 0; i < N; i++) {
		struct mime_cb cb = tr_cb_proto;

		memset(&t[i], 0, sizeof(t[i]));
		cb.u = &t[i];
		m[i] = mime_msg__new(&cb, &lim);
		assert_non_null(m[i]);
		assert_int_equal(mime_msg__feed(m[i], (const uint8_t *)"Subject: s", 10), 0);
		memset(line, 'x', sizeof(line));
		memcpy(line, "\r\n ", 3);
		for (int k = 0; k < 30; k++) /* 30 continuation lines of 1000 bytes */
			assert_int_equal(mime_msg__feed(m[i], (const uint8_t *)line, 1003), 0);
	}
	mime__header_total_stats(&b1, &h1);
	assert_int_equal(h1 - h0, 2);
	assert_int_equal(b1 - b0, (64u << 10) + 2 * 8192);
	/* the first header ends: its buffer goes back */
	assert_int_equal(mime_msg__feed(m[0], (const uint8_t *)"\r\nTo: a@b\r\n\r\nbody\r\n", 19),
			 0);
	mime__header_total_stats(&b2, &h2);
	assert_int_equal(b1 - b2, 32768 - 256); /* the next header's first buffer: 256 */
	for (int i = 0; i < N; i++) {
		mime_msg__end(m[i]);
		mime_msg__free(m[i]);
		if (i < 2)
			assert_null(strstr(t[i].s, "exceeded_mime_max_header_bytes"));
		else
			assert_non_null(strstr(t[i].s, "weird exceeded_mime_max_header_bytes [8"));
		tr_free(&t[i]);
	}
	mime__header_total_stats(&b2, &h2);
	assert_int_equal(b2, b0);
	assert_int_equal(h2, h1);
}

/* Zeek's mime-header-size-limit pcap: Subject + 100000 continuation lines " x". */
static void test_header_limit(void **state)
{
	static const char head[] = "From: exploit@attacker.evil\r\nSubject: CVE-CANDIDATE\r\n";
	static const char tail[] = "\r\nThis is the body.\r\n";
	size_t n = 100000, len = 0, i;
	char *msg = malloc(64 + n * 4 + 64), *got;

	memcpy(msg, head, sizeof(head) - 1);
	len = sizeof(head) - 1;
	for (i = 0; i < n; i++, len += 4)
		memcpy(msg + len, " x\r\n", 4);
	memcpy(msg + len, tail, sizeof(tail) - 1);
	len += sizeof(tail) - 1;
	got = run(msg, len, len, 0, NULL, MIME_FRAMING_DATA);
	/* exactly one weird, with Zeek's addl */
	assert_non_null(strstr(got, "weird exceeded_mime_max_header_bytes [65536]\n"));
	assert_null(strstr(strstr(got, "exceeded_mime_max_header_bytes") + 10,
			   "exceeded_mime_max_header_bytes"));
	assert_non_null(strstr(got, end_line("This is the body.\r\n", 19)));
	free(got);
	free(msg);
}

/* ======================= lines longer than max_line (DATA) ======================= */

/* Zeek's ContentLine delivers a DATA line whole; mime.c passes a line longer than max_line on
 * in pieces that must stay one line. The transcript with lines cut at max_line (whole, every
 * split, byte by byte: run_all) equals the one with lines never cut. Returns the latter. */
static char *as_whole_lines(const char *msg, uint32_t max_line)
{
	struct mime_limits lim, big;
	size_t len = strlen(msg);
	char *ref, *got;

	mime_limits__default(&lim);
	lim.max_line = max_line;
	mime_limits__default(&big);
	big.max_line = 1u << 20;
	ref = run(msg, len, len, 0, &big, MIME_FRAMING_DATA);
	got = run_all(msg, &lim, MIME_FRAMING_DATA);
	if (strcmp(got, ref))
		fail_msg("max_line %u differs from whole lines:\n--- cut\n%s--- whole\n%s",
			 max_line, got, ref);
	free(got);
	return ref;
}

/* Appends n bytes c to the text t builds; returns the text. */
static char *fill(struct tr *t, char c, size_t n)
{
	char *p = malloc(n + 1);

	assert_non_null(p);
	memset(p, c, n);
	p[n] = 0;
	tr_add(t, "%s", p);
	free(p);
	return t->s;
}

static int count_of(const char *s, const char *what)
{
	int n = 0;

	for (; (s = strstr(s, what)); s++)
		n++;
	return n;
}

/* The reviewer's three evasions at the default max_line (4096): a Content-Disposition longer
 * than 4096 bytes whose filename comes after the cut; a header padded so that
 * "Content-Transfer-Encoding: base64" starts the second piece; a text line of 4096 'x' then
 * "--BB" (a fake boundary starting a fake part). Each gives Zeek's whole-line result, however
 * the message is split. */
static void test_long_lines_evasions(void **state)
{
	struct tr t = {0};
	char *got;
	size_t pad;

	(void)state;
	/* the filename after the cut */
	tr_add(&t, "Content-Type: multipart/mixed; boundary=BB\r\n\r\n--BB\r\n"
		   "Content-Type: application/octet-stream\r\n"
		   "Content-Disposition: attachment; x=\"");
	fill(&t, 'A', 4200);
	tr_add(&t, "\"; filename=\"evil.exe\"\r\n\r\nMZ\r\n--BB--\r\n");
	got = as_whole_lines(t.s, 4096);
	assert_non_null(strstr(got, "fn=[evil.exe]"));
	free(got);
	tr_free(&t);

	/* a header at the cut: "Content-Transfer-Encoding: base64" is part of X-Pad */
	tr_add(&t, "X-Pad: ");
	pad = 4096 - strlen("X-Pad: ");
	fill(&t, 'A', pad);
	tr_add(&t, "Content-Transfer-Encoding: base64\r\nContent-Type: text/plain\r\n\r\n"
		   "TVqQAAMAAAAEAAAA\r\n");
	got = as_whole_lines(t.s, 4096);
	assert_null(strstr(got, "header 0 [Content-Transfer-Encoding]"));
	assert_non_null(strstr(got, "AAAAContent-Transfer-Encoding: base64]\n"));
	assert_non_null(strstr(got, "enc=- "));
	assert_non_null(strstr(got, end_line("TVqQAAMAAAAEAAAA\r\n", 18)));
	free(got);
	tr_free(&t);

	/* a boundary at the cut: no part "hidden.exe", the text part holds it all */
	tr_add(&t, "Content-Type: multipart/mixed; boundary=BB\r\n\r\n--BB\r\n"
		   "Content-Type: text/plain\r\n\r\n");
	fill(&t, 'x', 4096);
	tr_add(&t, "--BB\r\nContent-Type: application/octet-stream\r\n"
		   "Content-Disposition: attachment; filename=\"hidden.exe\"\r\n\r\n"
		   "MZ-payload-bytes\r\n--BB--\r\n");
	got = as_whole_lines(t.s, 4096);
	assert_null(strstr(got, "hidden.exe]"));
	assert_int_equal(count_of(got, "begin 1\n"), 1);
	assert_non_null(strstr(got, "end len=4216 "));
	free(got);
	tr_free(&t);
}

/* The same rules with a small max_line on every kind of line, each cut at every position
 * (max_line 3 to 13): header lines and their continuations (one starting with white space
 * only), the end of a header block, boundary lines with text after the boundary, preamble and
 * epilogue, base64 and 8bit bodies, a message/rfc822 child; boundaries longer than max_line
 * (held until the rest of the line decides), a line that only starts like one (it goes to the
 * child, as it came), closing delimiters, and a nested multipart whose boundary starts with
 * its parent's; a message whose last line has no line end. */
static void test_long_lines(void **state)
{
	static const char *const msgs[] = {
	    "Subject: a subject longer than the line limit\r\n"
	    "X-Folded: first part of a folded header\r\n"
	    "   and its continuation, long as well\r\n"
	    "Content-Type: multipart/mixed;\r\n"
	    " boundary=\"0123456789abcdefghijklmnopqrstuv\"\r\n"
	    "\r\n"
	    "preamble line, long enough to be cut\r\n"
	    "--0123456789abcdefghijklmnopqrstuv and text after it\r\n"
	    "Content-Type: text/plain; name=\"a long name for a file.txt\"\r\n"
	    "\r\n"
	    "--0123456789abcdefghijklmnopqrst is not the boundary\r\n"
	    "--0123456789abcdefghij\r\n"
	    "text --0123456789abcdefghijklmnopqrstuv\r\n"
	    "--0123456789abcdefghijklmnopqrstuv-x\r\n"
	    "Content-Transfer-Encoding: base64\r\n"
	    "Content-Disposition: attachment; filename=\"b.bin\"; size=123456789\r\n"
	    "\r\n"
	    "SGVsbG8sIHdvcmxkIQ==\r\n"
	    "--0123456789abcdefghijklmnopqrstuv\r\n"
	    "Content-Type: message/rfc822\r\n"
	    "\r\n"
	    "Subject: the inner message, with a long subject\r\n"
	    "\r\n"
	    "inner body line that is longer than the limit\r\n"
	    "--0123456789abcdefghijklmnopqrstuv\r\n"
	    "Content-Type: multipart/alternative; "
	    "boundary=\"0123456789abcdefghijklmnopqrstuXY\"\r\n"
	    "\r\n"
	    "--0123456789abcdefghijklmnopqrstuXY\r\n"
	    "\r\n"
	    "inner part\r\n"
	    "--0123456789abcdefghijklmnopqrstuXY--\r\n"
	    "--0123456789abcdefghijklmnopqrstuv-- and an epilogue after it\r\n"
	    "epilogue line, long enough to be cut\r\n",
	    /* a header line of white space only, then one starting with it */
	    "     \t      \r\n"
	    "          X-Late: header after white space\r\n"
	    "\r\n"
	    "body\r\n",
	    /* no line end at the end: the last line ends with the message */
	    "Content-Type: multipart/mixed; boundary=\"0123456789abcdefghijklmnopqrstuv\"\r\n"
	    "\r\n"
	    "--0123456789abcdefghijklmnopqrstuv\r\n"
	    "\r\n"
	    "text\r\n"
	    "--0123456789abcdefghijklm",
	    "Content-Type: multipart/mixed; boundary=\"0123456789abcdefghijklmnopqrstuv\"\r\n"
	    "\r\n"
	    "--0123456789abcdefghijklmnopqrstuv\r\n"
	    "\r\n"
	    "text\r\n"
	    "--0123456789abcdefghijklmnopqrstuv-",
	};
	char *got;

	(void)state;
	for (size_t i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++)
		for (uint32_t ml = 3; ml <= 13; ml += 2)
			free(as_whole_lines(msgs[i], ml));
	got = as_whole_lines(msgs[0], 5);
	/* what the whole lines give: 7 entities, the text part holds the lines that are not
	 * delimiters, the closing delimiters close */
	assert_int_equal(count_of(got, "begin "), 7);
	assert_non_null(strstr(got, "fn=[b.bin]"));
	assert_non_null(strstr(got, end_line("Hello, world!", 13)));
	assert_non_null(strstr(got, "header 2 [Subject] [the inner message, with a long subject]"));
	free(got);
	got = as_whole_lines(msgs[1], 4);
	assert_non_null(strstr(got, "header 0 [X-Late] [header after white space]"));
	free(got);
}

/* The end of a header block ("\0..." in the header) and a gap in the middle of a cut line:
 * the rest of the first is ignored (not body text), the second drops what the line held
 * (quoted-printable bytes, a delimiter's start) at the gap, as a line never cut is dropped.
 * Compared with lines never cut, at every split; only pieces of the line that went out before
 * the gap (a partial line longer than max_line) stay delivered. */
static char *run_gap(const char *msg, size_t len, size_t at, uint32_t max_line, size_t split)
{
	struct tr t = {0};
	struct mime_cb cb = *tr_cbs;
	struct mime_limits lim;
	struct mime_msg *m;
	char *s;

	mime_limits__default(&lim);
	lim.max_line = max_line;
	cb.u = &t;
	m = mime_msg__new(&cb, &lim);
	assert_non_null(m);
	if (split < at) {
		assert_int_equal(mime_msg__feed(m, (const uint8_t *)msg, split), 0);
		assert_int_equal(mime_msg__feed(m, (const uint8_t *)msg + split, at - split), 0);
	} else {
		assert_int_equal(mime_msg__feed(m, (const uint8_t *)msg, at), 0);
	}
	mime_msg__gap(m, 100);
	if (split > at) {
		assert_int_equal(mime_msg__feed(m, (const uint8_t *)msg + at, split - at), 0);
		assert_int_equal(mime_msg__feed(m, (const uint8_t *)msg + split, len - split), 0);
	} else {
		assert_int_equal(mime_msg__feed(m, (const uint8_t *)msg + at, len - at), 0);
	}
	mime_msg__end(m);
	mime_msg__free(m);
	s = strdup(t.s ? t.s : "");
	tr_free(&t);
	return s;
}

static void test_long_lines_nul_gap(void **state)
{
	static const char nul[] = "Subject: x\r\n"
				  "\0 the rest of the header block's last line\r\n"
				  "body\r\n";
	static const char gap[] = "Content-Type: multipart/mixed; boundary=\"0123456789abcdef\"\r\n"
				  "\r\n"
				  "--0123456789abcdef\r\n"
				  "Content-Transfer-Encoding: quoted-printable\r\n"
				  "\r\n"
				  "abc=4"
				  "1 after the gap\r\n"
				  "--0123456789abcdef\r\n"
				  "\r\n"
				  "--0123456789ab"
				  "cdef-- after the gap\r\n"
				  "--0123456789abcdef--\r\n";
	size_t len = sizeof(nul) - 1, glen = sizeof(gap) - 1;
	size_t at1 = (size_t)(strstr(gap, "abc=4") - gap) + 5;
	size_t at2 = (size_t)(strstr(gap, "--0123456789ab\x63") - gap);
	char *ref, *got;

	(void)state;
	ref = run_gap(nul, len, len, 1u << 20, 0);
	assert_non_null(strstr(ref, end_line("body\r\n", 6)));
	for (uint32_t ml = 2; ml <= 9; ml++)
		for (size_t sp = 0; sp <= len; sp++) {
			got = run_gap(nul, len, len, ml, sp);
			if (strcmp(got, ref))
				fail_msg("max_line %u split %zu:\n%s--- whole lines\n%s", ml, sp,
					 got, ref);
			free(got);
		}
	free(ref);
	at2 += 14;
	for (int g = 0; g < 2; g++) {
		size_t at = g ? at2 : at1;

		ref = run_gap(gap, glen, at, 1u << 20, 0);
		assert_non_null(strstr(ref, "gap 100\n"));
		/* nothing of the partial line: the quoted-printable part's data is the line
		 * after the gap; a first delimiter cut by the gap is lost with its line, the
		 * part it began is preamble, and the first part is the next delimiter's */
		assert_non_null(strstr(ref, g ? "gap 100\nbegin 1\nheaders_done 1 text/plain enc=-"
					      : end_line("1 after the gap\r\n", 17)));
		for (uint32_t ml = 3; ml <= 9; ml++)
			for (size_t sp = 0; sp <= glen; sp++) {
				got = run_gap(gap, glen, at, ml, sp);
				/* "abc=4" cut at 3 or 4: the piece "abc" went out before the gap
				 * (its "=4" held, then dropped); the delimiter's start is held
				 * whole, as pieces of a possible delimiter */
				if (!g && ml < 5) {
					if (!strstr(got, end_line("abc1 after the gap\r\n", 20)))
						fail_msg("max_line %u split %zu:\n%s", ml, sp, got);
					free(got);
					continue;
				}
				if (strcmp(got, ref))
					fail_msg(
					    "gap %d max_line %u split %zu:\n%s--- whole lines\n%s",
					    g, ml, sp, got, ref);
				free(got);
			}
		free(ref);
	}
}

/* A gap in the middle of a line (the reviewer's gap.pcap): with DATA framing the partial line
 * before it is dropped, from the entity and from the raw message stream (Zeek's ContentLine
 * holds it and SMTP ends the message at the gap); with BDAT framing it is delivered (Zeek's
 * BDAT analyzer hands its buffer over when the message ends). */
static void gap_raw(void *u, const uint8_t *b, size_t n)
{
	struct tr *t = u;

	tr_add(t, "raw [%.*s]\n", (int)n, (const char *)b);
}

static char *run_gap_end(const char *msg, enum mime_framing fr)
{
	struct tr t = {0};
	struct mime_cb cb = *tr_cbs;
	struct mime_msg *m;
	char *s;

	cb.u = &t;
	cb.raw = gap_raw;
	m = mime_msg__new(&cb, NULL);
	assert_non_null(m);
	mime_msg__set_framing(m, fr);
	assert_int_equal(mime_msg__feed(m, (const uint8_t *)msg, strlen(msg)), 0);
	mime_msg__gap(m, 100);
	mime_msg__end(m); /* SMTP ends the message at a gap */
	mime_msg__free(m);
	assert_int_equal(t.sp, 0);
	s = strdup(t.s ? t.s : "");
	tr_free(&t);
	return s;
}

static void test_gap_partial_line(void **state)
{
	static const char msg[] = "Subject: gap\r\n\r\nline1\r\nPARTIAL-LINE-BEFORE-GAP";
	char *got;

	(void)state;
	got = run_gap_end(msg, MIME_FRAMING_DATA);
	assert_non_null(strstr(got, "gap 100\n"));
	assert_non_null(strstr(got, end_line("line1\r\n", 7)));
	assert_null(strstr(got, "PARTIAL"));
	free(got);
	got = run_gap_end(msg, MIME_FRAMING_BDAT);
	assert_non_null(strstr(got, "raw [PARTIAL-LINE-BEFORE-GAP]\n"));
	assert_non_null(strstr(got, end_line("line1\r\nPARTIAL-LINE-BEFORE-GAP", 30)));
	free(got);
}

/* Quoted-printable lines cut at max_line: an escape "=XX" or a soft line break "=" with
 * trailing blanks at any position of the cut decodes as in the whole line (the reviewer's
 * 4107-byte file first: "=41" at bytes 4094..4096 of a line). */
static void test_qp_cut_lines(void **state)
{
	static const char *const lines[] = {
	    "abcdefgh=41ijklmnop=4A=4a=\r\n",
	    "soft break after blanks=   \t \r\n",
	    "trailing blanks dropped  \t   \r\n",
	    "= =4 =4G == =\r\n",
	    "x=41=\r\nsecond line of the soft break \r\n",
	    "blanks then text   \t  and more=20=\r\n",
	    "==41===42=====\r\n",
	};
	struct tr t = {0};
	char *got;

	(void)state;
	tr_add(&t,
	       "Content-Type: multipart/mixed; boundary=BB\r\n\r\n--BB\r\n"
	       "Content-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n");
	fill(&t, 'a', 4094);
	tr_add(&t, "=41bbbbbbbbbb\r\n--BB--\r\n");
	got = as_whole_lines(t.s, 4096);
	assert_non_null(strstr(got, "end len=4107 md5=cb29e54b23a0544f1b4297b2133618c6\n"));
	free(got);
	tr_free(&t);
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		tr_add(&t, "Content-Transfer-Encoding: quoted-printable\r\n\r\n%s%s", lines[i],
		       lines[i]);
		for (uint32_t ml = 2; ml <= 34; ml++)
			free(as_whole_lines(t.s, ml));
		tr_free(&t);
	}
	/* the held bytes of a line that never ends are decoded as they are */
	free(as_whole_lines("Content-Transfer-Encoding: quoted-printable\r\n\r\nabc=4", 4));
	free(as_whole_lines("Content-Transfer-Encoding: quoted-printable\r\n\r\nabc=  ", 4));
}

/* ---- quoted-printable blank runs across cuts ---- */

/* n blanks, SP and TAB in stretches of 7 (two of SP, one of TAB: 10 stretches in 100) */
static void qp_blanks(struct tr *t, size_t n)
{
	for (size_t i = 0; i < n; i++)
		tr_add(t, "%c", (i / 7) % 3 == 2 ? '\t' : ' ');
}

/* msg's transcript at every max_line from 2 to 40 (whole, split at every position, byte by
 * byte) and with lines never cut ends with the entity's decoded bytes want[0, n). */
static void qp_expect(const char *msg, const char *want, size_t n)
{
	for (uint32_t ml = 2; ml <= 40; ml++) {
		char *got = as_whole_lines(msg, ml);

		if (!strstr(got, end_line(want, n)))
			fail_msg("max_line %u: not the decoded bytes (%zu):\n%s", ml, n, got);
		free(got);
	}
}

/* A run of blanks across cuts is held as its stretches of SP and TAB, at most 32 (mime.c
 * QP_STRETCHES): with 32 it still decodes as the whole line; a 33rd decodes the 32 before it (and
 * the '=' before them) as blanks inside the line, whatever the input split (docs/files.md,
 * Known differences). */
static void qp_blank_stretches(void)
{
	static const char hdr[] = "Content-Transfer-Encoding: quoted-printable\r\n\r\n";
	struct mime_limits lim;
	struct tr t = {0}, w = {0};
	char *got;

	/* 32 stretches: as whole */
	tr_add(&t, "%sab", hdr);
	for (int i = 0; i < 16; i++)
		tr_add(&t, " \t");
	tr_add(&t, "\r\nab=");
	for (int i = 0; i < 16; i++)
		tr_add(&t, "\t ");
	tr_add(&t, "\r\ncd\r\n");
	qp_expect(t.s, "ab\r\nabcd\r\n", 10);
	tr_free(&t);
	/* 80 stretches at max_line 10: the first 64 blanks are kept */
	mime_limits__default(&lim);
	lim.max_line = 10;
	for (int eq = 0; eq < 2; eq++) {
		tr_add(&t, "%sab%s", hdr, eq ? "=" : "");
		tr_add(&w, "ab%s", eq ? "=" : "");
		for (int i = 0; i < 40; i++) {
			tr_add(&t, " \t");
			if (i < 32)
				tr_add(&w, " \t");
		}
		tr_add(&t, "\r\ncd\r\n");
		tr_add(&w, "\r\ncd\r\n");
		got = run_all(t.s, &lim, MIME_FRAMING_DATA);
		if (!strstr(got, end_line(w.s, w.len)))
			fail_msg("%d: not the decoded bytes (%zu):\n%s", eq, w.len, got);
		free(got);
		tr_free(&t);
		tr_free(&w);
	}
}

/* A quoted-printable line longer than max_line that ends in 100 blanks (mixed SP and TAB,
 * more than the 64 bytes an earlier version held at a cut) decodes as Zeek decodes it whole:
 * (a) blanks then the line end: dropped; (b) blanks then a non-blank: all kept, exactly; (c)
 * "=" then blanks then the line end: a soft line break. At max_line 2 to 40 and at the default
 * 4096 (a line of 4100 bytes and more), fed whole, split at every position and byte by byte;
 * the decoded bytes and the file's size exact. Then the limit on a run's stretches. */
static void test_qp_blank_runs(void **state)
{
	static const char hdr[] = "Content-Transfer-Encoding: quoted-printable\r\n\r\n";
	struct tr t = {0}, w = {0};

	(void)state;
	/* (a) */
	tr_add(&t, "%sfirst line text", hdr);
	qp_blanks(&t, 100);
	tr_add(&t, "\r\nnext\r\n");
	qp_expect(t.s, "first line text\r\nnext\r\n", 23);
	tr_free(&t);
	/* (b) */
	tr_add(&t, "%sfirst line text", hdr);
	qp_blanks(&t, 100);
	tr_add(&t, "x=41\t \r\n");
	tr_add(&w, "first line text");
	qp_blanks(&w, 100);
	tr_add(&w, "xA\r\n");
	assert_int_equal(w.len, 119);
	assert_non_null(memchr(w.s, '\t', w.len));
	qp_expect(t.s, w.s, w.len);
	tr_free(&t);
	tr_free(&w);
	/* (c) */
	tr_add(&t, "%sfirst line text=", hdr);
	qp_blanks(&t, 100);
	tr_add(&t, "\r\nnext\r\n");
	qp_expect(t.s, "first line textnext\r\n", 21);
	tr_free(&t);
	/* the same at the default max_line: 4000 'a' first, the cut at 4096 inside the blanks */
	for (int c = 0; c < 3; c++) {
		char *got;

		tr_add(&t, "%s", hdr);
		fill(&t, 'a', 4000);
		tr_add(&t, c == 2 ? "=" : "");
		qp_blanks(&t, 100);
		tr_add(&t, c == 1 ? "x\r\nnext\r\n" : "\r\nnext\r\n");
		fill(&w, 'a', 4000);
		if (c == 1) {
			qp_blanks(&w, 100);
			tr_add(&w, "x\r\n");
		} else if (c == 0) {
			tr_add(&w, "\r\n");
		}
		tr_add(&w, "next\r\n");
		got = as_whole_lines(t.s, 4096);
		if (!strstr(got, end_line(w.s, w.len)))
			fail_msg("case %d at 4096: not the decoded bytes (%zu):\n%s", c, w.len,
				 got);
		free(got);
		tr_free(&t);
		tr_free(&w);
	}
	qp_blank_stretches();
}

static void tr_event(void *u, const char *cat, const char *detail)
{
	tr_add(u, "event %s [%s]\n", cat, detail);
}

/* Random quoted-printable bodies (escapes good and bad, '=' before blanks, blank runs of up to
 * 90 SP and TAB in at most 13 stretches, control bytes, LF and CR line ends, a last line
 * without its line end), alone or in a multipart: the transcript, events included, with
 * lines cut at max_line 2 to 64, fed whole and byte by byte, is the one of whole lines. */
static void test_qp_cut_random(void **state)
{
	static const char *const toks[] = {
	    "=",  "=4",	   "=41",  "=G", "=\x01", "x",	  "\x01",
	    "==", "=\r\n", "\r\n", "\n", "\r",	  "a9=2", "=3d",
	};
	static const uint32_t mls[] = {2, 3, 4, 5, 7, 11, 16, 33, 64};
	struct mime_cb cb = tr_cb_proto;
	struct mime_limits lim, big;
	uint32_t seed = 7;

	(void)state;
	cb.event = tr_event;
	tr_cbs = &cb;
	mime_limits__default(&big);
	big.max_line = 1u << 20;
	for (int n = 0; n < 400; n++) {
		struct tr t = {0};
		bool blank = false;
		char *ref;

		if (n % 2)
			tr_add(&t, "Content-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\n");
		tr_add(&t, "Content-Transfer-Encoding: quoted-printable\r\n\r\n");
		for (int k = 0; k < 40; k++) {
			seed = seed * 1103515245 + 12345;
			if (!blank && (seed >> 16) % 3 == 0) {
				uint32_t len = 1 + (seed >> 20) % 90, sw = 0;
				char c = (seed >> 8) & 1 ? ' ' : '\t';

				for (uint32_t i = 0; i < len; i++) {
					seed = seed * 1103515245 + 12345;
					if ((seed >> 16) % 8 == 0 && sw < 12) {
						c = c == ' ' ? '\t' : ' ';
						sw++;
					}
					tr_add(&t, "%c", c);
				}
				blank = true;
			} else {
				tr_add(&t, "%s",
				       toks[(seed >> 16) % (sizeof(toks) / sizeof(toks[0]))]);
				blank = false;
			}
		}
		if (n % 2)
			tr_add(&t, "\r\n--B--\r\n");
		else if (n % 4)
			tr_add(&t, "\r\n");
		ref = run(t.s, t.len, t.len, 0, &big, MIME_FRAMING_DATA);
		for (size_t i = 0; i < sizeof(mls) / sizeof(mls[0]); i++) {
			mime_limits__default(&lim);
			lim.max_line = mls[i];
			for (size_t step = 0; step < 2; step++) {
				char *got = run(t.s, t.len, t.len, step, &lim, MIME_FRAMING_DATA);

				if (strcmp(got, ref))
					fail_msg(
					    "body %d max_line %u step %zu:\n%s--- whole lines\n%s",
					    n, mls[i], step, got, ref);
				free(got);
			}
		}
		free(ref);
		tr_free(&t);
	}
	tr_cbs = &tr_cb_proto;
}

static size_t heap_used(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks;
}

static void test_deep_nesting(void **state)
{
	size_t i, len = 0, cap = 1000 * 80 + 4096;
	char *msg = malloc(cap);
	struct tr t = {0};
	struct mime_cb cb = tr_cb_proto;
	struct mime_msg *m;
	struct mime_stats st;
	size_t before, peak = 0;

	for (i = 0; i < 1000; i++)
		len += (size_t)snprintf(
		    msg + len, cap - len,
		    "Content-Type: multipart/mixed; boundary=b%zu.\r\n\r\n--b%zu.\r\n", i, i);
	len += (size_t)snprintf(msg + len, cap - len, "\r\ndeep\r\n");
	cb.u = &t;
	before = heap_used();
	m = mime_msg__new(&cb, NULL);
	for (i = 0; i < len; i += 100) {
		size_t u;

		assert_int_equal(
		    mime_msg__feed(m, (uint8_t *)msg + i, len - i < 100 ? len - i : 100), 0);
		u = heap_used();
		if (u > peak)
			peak = u;
	}
	mime_msg__end(m);
	mime_msg__stats(m, &st);
	assert_int_equal(st.entities, 101); /* depth 0..100 */
	assert_true(st.depth_exceeded >= 1);
	assert_non_null(strstr(t.s, "weird exceeded_mime_max_depth [100]\n"));
	assert_null(strstr(strstr(t.s, "exceeded_mime_max_depth") + 5, "exceeded_mime_max_depth"));
	assert_true(peak - before < 512 * 1024);
	mime_msg__free(m);
	tr_free(&t);
	free(msg);
}

/* The transcript without the " md5=..." of each end line. */
static char *strip_md5(char *s)
{
	char *p, *q;

	while ((p = strstr(s, " md5="))) {
		q = strchr(p, '\n');
		memmove(p, q, strlen(q) + 1);
	}
	return s;
}

/* Skip mode (cb.data_wanted says no): lengths, weirds, events and structure are exactly those
 * of a full decode, whatever the chunking; only the bytes themselves are not delivered. */
static void test_skip_mode(void **state)
{
	static const uint64_t wants[] = {0, 1, 4096, 5000};
	struct mime_cb cb_skip = tr_cb_proto;
	char *msgs[5], line[128];
	size_t n = 0, k, w, i;
	struct tr t = {0};

	(void)state;
	/* a multipart: a long clean base64 part, one with garbage, '=' in mid-stream and an
	 * incomplete last group, a quoted-printable and a plain part, all past 4 KiB */
	for (k = 0; k < 3; k++) {
		tr_add(&t, "Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\n"
			   "Content-Transfer-Encoding: base64\r\n\r\n");
		for (i = 0; i < 80 + k; i++) {
			for (w = 0; w < 76; w++)
				line[w] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123"
					  "456789+/"[(i * 7 + w * 3 + k) % 64];
			line[w] = 0;
			tr_add(&t, "%s\r\n", k == 2 && i == 79 ? line + 3 : line);
		}
		tr_add(&t, "--b\r\nContent-Transfer-Encoding: base64\r\n\r\n");
		for (i = 0; i < 90; i++)
			tr_add(&t, "%s\r\n",
			       i == 70	 ? "SG!Vs bG8*QUJD\tREVG"
			       : i == 80 ? "SGk=SGk=QUJD"
					 : "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9"
					   "wcXJzdHV2");
		tr_add(&t, "QUJ\r\n--b\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n");
		for (i = 0; i < 120; i++)
			tr_add(&t, "caf=C3=A9 line %zu with a soft break=\r\n and more =ZZ\r\n", i);
		tr_add(&t, "--b\r\n\r\n");
		for (i = 0; i < 100; i++)
			tr_add(&t, "plain text line %zu, long enough to matter for the buffer\r\n",
			       i);
		tr_add(&t, "--b--\r\n");
		msgs[n++] = strdup(t.s);
		free(t.s);
		memset(&t, 0, sizeof(t));
	}
	msgs[n++] = strdup("Content-Transfer-Encoding: base64\r\n\r\nSG!Vs\r\nbG8*=\r\nQUJD\r\n");
	/* past 4 KiB, a '=' in an unfinished group, then plain lines (found by fuzz_mime: the
	 * group's end emits fewer bytes and the groups after it are ignored) */
	tr_add(&t, "Content-Transfer-Encoding: base64\r\n\r\n");
	for (i = 0; i < 80; i++)
		tr_add(
		    &t,
		    "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAx\r\n");
	tr_add(&t, "QU=\r\nQUJDREVG\r\nQUJDREVG\r\nQUJDREVG\r\n");
	msgs[n++] = strdup(t.s);
	free(t.s);
	memset(&t, 0, sizeof(t));
	cb_skip.data_wanted = tr_data_wanted;
	cb_skip.skip = tr_skip;
	for (k = 0; k < n; k++) {
		size_t len = strlen(msgs[k]);
		char *full = strip_md5(run(msgs[k], len, len, 0, NULL, MIME_FRAMING_DATA));

		for (w = 0; w < sizeof(wants) / sizeof(wants[0]); w++) {
			size_t steps[] = {0, 1, 7, 1000};

			tr_want = wants[w];
			tr_skipped_total = 0;
			tr_cbs = &cb_skip;
			for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
				char *got = strip_md5(
				    run(msgs[k], len, len / 3, steps[i], NULL, MIME_FRAMING_DATA));

				if (strcmp(got, full))
					fail_msg(
					    "message %zu, want %llu, step %zu: skip mode differs:\n"
					    "--- full\n%s\n--- skip\n%s",
					    k, (unsigned long long)wants[w], steps[i], full, got);
				free(got);
			}
			tr_cbs = &tr_cb_proto;
			/* the multiparts' entities are past 5000 bytes: skip mode really ran */
			if (k < 3)
				assert_true(tr_skipped_total > 0);
		}
		free(full);
		free(msgs[k]);
	}
}

static void test_garbage_base64_100mb(void **state)
{
	static char chunk[65536];
	struct tr t = {0};
	struct mime_cb cb = tr_cb_proto;
	struct mime_msg *m;
	struct mime_stats st;
	size_t i, total = 100u << 20, before, peak = 0;
	clock_t c0 = clock();

	rand_fill(chunk, sizeof(chunk), 12345); /* random bytes, newlines included */
	cb.u = &t;
	before = heap_used();
	m = mime_msg__new(&cb, NULL);
	mime_msg__feed(m, (const uint8_t *)"Content-Transfer-Encoding: base64\r\n\r\n", 37);
	for (i = 0; i < total; i += sizeof(chunk)) {
		size_t u;

		assert_int_equal(mime_msg__feed(m, (const uint8_t *)chunk, sizeof(chunk)), 0);
		u = heap_used();
		if (u > peak)
			peak = u;
	}
	mime_msg__end(m);
	mime_msg__stats(m, &st);
	assert_true(st.b64_bad_chars > total / 2);
	assert_int_equal(st.bytes_in, total + 37);
	/* the "character ignored" weird once, whatever the volume */
	assert_non_null(strstr(t.s, "ignored by Base64 decoding]"));
	assert_null(strstr(strstr(t.s, "ignored by Base64 decoding") + 5, "ignored by Base64"));
	assert_true(peak - before < 256 * 1024);
	print_message("100 MB of garbage base64: %.2f s CPU, %llu bad characters\n",
		      (double)(clock() - c0) / CLOCKS_PER_SEC,
		      (unsigned long long)st.b64_bad_chars);
	mime_msg__free(m);
	tr_free(&t);
}

/* ======================= the corpus ======================= */

struct gapmark {
	size_t off;
	uint64_t len;
};

struct stream {
	uint8_t *d;
	size_t len;
	struct gapmark gaps[16];
	int ngaps;
};

struct seg {
	uint32_t seq;
	uint8_t *p;
	uint32_t n;
};

struct flowsel {
	int want; /* index of the wanted client->server flow to a mail port */
	int seen; /* distinct flows seen so far */
	uint8_t seen_keys[32][40];
	size_t seen_klen[32];
	uint8_t key[40];
	size_t klen;
	bool have;
	bool syn;
	uint32_t isn;
	struct seg *segs;
	size_t nseg, cap;
};

static bool mail_port(uint16_t p)
{
	return p == 25 || p == 587 || p == 2525;
}

static void on_tcp(struct flowsel *fs, const uint8_t *src, const uint8_t *dst, size_t alen,
		   const uint8_t *tcp, size_t tlen)
{
	uint16_t sp, dp;
	uint32_t seq;
	size_t hl;
	uint8_t key[40];
	size_t klen = 0;

	if (tlen < 20)
		return;
	sp = (uint16_t)(tcp[0] << 8 | tcp[1]);
	dp = (uint16_t)(tcp[2] << 8 | tcp[3]);
	seq = (uint32_t)tcp[4] << 24 | (uint32_t)tcp[5] << 16 | (uint32_t)tcp[6] << 8 | tcp[7];
	hl = (size_t)(tcp[12] >> 4) * 4;
	if (!mail_port(dp) || hl > tlen)
		return;
	memcpy(key, src, alen);
	memcpy(key + alen, dst, alen);
	klen = 2 * alen;
	key[klen++] = (uint8_t)(sp >> 8);
	key[klen++] = (uint8_t)sp;
	if (!fs->have || fs->klen != klen || memcmp(fs->key, key, klen)) {
		int j;

		if (fs->have)
			return;
		/* a new flow? flows are numbered in order of their first packet */
		for (j = 0; j < fs->seen && j < 32; j++)
			if (fs->seen_klen[j] == klen && !memcmp(fs->seen_keys[j], key, klen))
				break;
		if (j == fs->seen && j < 32) {
			memcpy(fs->seen_keys[j], key, klen);
			fs->seen_klen[j] = klen;
			fs->seen++;
		}
		if (j != fs->want)
			return;
		fs->have = true;
		memcpy(fs->key, key, klen);
		fs->klen = klen;
	}
	if (tcp[13] & 0x02) {
		fs->syn = true;
		fs->isn = seq + 1;
		return;
	}
	if (tlen - hl == 0)
		return;
	if (fs->nseg == fs->cap) {
		fs->cap = fs->cap ? fs->cap * 2 : 64;
		fs->segs = realloc(fs->segs, fs->cap * sizeof(*fs->segs));
	}
	fs->segs[fs->nseg].seq = seq;
	fs->segs[fs->nseg].n = (uint32_t)(tlen - hl);
	fs->segs[fs->nseg].p = malloc(tlen - hl);
	memcpy(fs->segs[fs->nseg].p, tcp + hl, tlen - hl);
	fs->nseg++;
}

struct pctx {
	struct flowsel fs;
	int dlt;
};

static void on_pkt(u_char *u, const struct pcap_pkthdr *h, const u_char *p)
{
	struct pctx *ctx = (struct pctx *)u;
	struct flowsel *fs = &ctx->fs;
	const uint8_t *ip = p;
	size_t len = h->caplen, off = 0;
	int dlt = ctx->dlt;
	uint16_t et = 0;

	switch (dlt) {
	case DLT_EN10MB:
		if (len < 14)
			return;
		et = (uint16_t)(p[12] << 8 | p[13]);
		off = 14;
		while ((et == 0x8100 || et == 0x88a8) && len >= off + 4) {
			et = (uint16_t)(p[off + 2] << 8 | p[off + 3]);
			off += 4;
		}
		break;
	case DLT_LINUX_SLL:
		if (len < 16)
			return;
		et = (uint16_t)(p[14] << 8 | p[15]);
		off = 16;
		break;
	case DLT_NULL:
	case DLT_LOOP:
		if (len < 4)
			return;
		off = 4;
		et = (p[4] >> 4) == 6 ? 0x86dd : 0x0800;
		break;
	case DLT_RAW:
	default:
		et = (p[0] >> 4) == 6 ? 0x86dd : 0x0800;
		break;
	}
	ip = p + off;
	len -= off;
	if (et == 0x0800 && len >= 20 && ip[9] == 6) {
		size_t ihl = (size_t)(ip[0] & 15) * 4, tot = (size_t)(ip[2] << 8 | ip[3]);

		if (tot > len)
			tot = len;
		if (ihl < 20 || tot < ihl)
			return;
		on_tcp(fs, ip + 12, ip + 16, 4, ip + ihl, tot - ihl);
	} else if (et == 0x86dd && len >= 40 && ip[6] == 6) {
		size_t pl = (size_t)(ip[4] << 8 | ip[5]);

		if (pl > len - 40)
			pl = len - 40;
		on_tcp(fs, ip + 8, ip + 24, 16, ip + 40, pl);
	}
}

static int seg_cmp(const void *a, const void *b)
{
	const struct seg *x = a, *y = b;
	int32_t d = (int32_t)(x->seq - y->seq);

	return d < 0 ? -1 : d > 0;
}

/* The client->server byte stream of the `idx`-th connection to a mail port. */
static bool client_stream(const char *path, int idx, struct stream *s)
{
	char err[PCAP_ERRBUF_SIZE];
	struct pctx ctx;
	pcap_t *pc = pcap_open_offline(path, err);
	size_t i, cap = 0;
	uint32_t next;

	memset(s, 0, sizeof(*s));
	if (!pc)
		return false;
	memset(&ctx, 0, sizeof(ctx));
	ctx.fs.want = idx;
	ctx.dlt = pcap_datalink(pc);
	pcap_loop(pc, -1, on_pkt, (u_char *)&ctx);
	pcap_close(pc);
	if (!ctx.fs.nseg)
		return false;
	qsort(ctx.fs.segs, ctx.fs.nseg, sizeof(*ctx.fs.segs), seg_cmp);
	next = ctx.fs.syn ? ctx.fs.isn : ctx.fs.segs[0].seq;
	for (i = 0; i < ctx.fs.nseg; i++) {
		struct seg *g = &ctx.fs.segs[i];
		int32_t d = (int32_t)(g->seq - next);
		uint32_t skip = 0;

		if (d > 0 && s->ngaps < 16) {
			s->gaps[s->ngaps].off = s->len;
			s->gaps[s->ngaps++].len = (uint64_t)d;
			next = g->seq;
		} else if (d < 0) {
			skip = (uint32_t)-d;
		}
		if (skip < g->n) {
			if (s->len + g->n > cap) {
				cap = (s->len + g->n) * 2;
				s->d = realloc(s->d, cap);
			}
			memcpy(s->d + s->len, g->p + skip, g->n - skip);
			s->len += g->n - skip;
			next += g->n - skip;
		}
		free(g->p);
	}
	free(ctx.fs.segs);
	return true;
}

/* ---- the SMTP side, as the SMTP engineer drives mime.c and files.c ---- */

struct frec {
	char fuid[24], parent[24], mime[80], md5[40], sha1[48], sha256[72];
	char filename[600];
	uint64_t seen, missing, depth;
};

struct rcap {
	struct sink sink;
	struct frec recs[64];
	int n;
};

static void cp_field(const msgpack_object *v, char *dst, size_t cap)
{
	size_t n = v->via.str.size < cap - 1 ? v->via.str.size : cap - 1;

	memcpy(dst, v->via.str.ptr, n);
	dst[n] = 0;
}

static int rcap_write(struct sink *s, const char *tag, size_t tag_len, uint64_t ts_ns,
		      const uint8_t *map, size_t len)
{
	struct rcap *c = (struct rcap *)s;
	msgpack_unpacked up;
	struct frec *r;
	uint32_t i;

	assert_true(c->n < 64);
	r = &c->recs[c->n++];
	memset(r, 0, sizeof(*r));
	msgpack_unpacked_init(&up);
	assert_int_equal(msgpack_unpack_next(&up, (const char *)map, len, NULL),
			 MSGPACK_UNPACK_SUCCESS);
	for (i = 0; i < up.data.via.map.size; i++) {
		const msgpack_object *k = &up.data.via.map.ptr[i].key,
				     *v = &up.data.via.map.ptr[i].val;
		char key[32];

		cp_field(k, key, sizeof(key));
		if (!strcmp(key, "fuid"))
			cp_field(v, r->fuid, sizeof(r->fuid));
		else if (!strcmp(key, "parent_fuid"))
			cp_field(v, r->parent, sizeof(r->parent));
		else if (!strcmp(key, "mime_type"))
			cp_field(v, r->mime, sizeof(r->mime));
		else if (!strcmp(key, "md5"))
			cp_field(v, r->md5, sizeof(r->md5));
		else if (!strcmp(key, "sha1"))
			cp_field(v, r->sha1, sizeof(r->sha1));
		else if (!strcmp(key, "sha256"))
			cp_field(v, r->sha256, sizeof(r->sha256));
		else if (!strcmp(key, "filename"))
			cp_field(v, r->filename, sizeof(r->filename));
		else if (!strcmp(key, "seen_bytes"))
			r->seen = v->via.u64;
		else if (!strcmp(key, "missing_bytes"))
			r->missing = v->via.u64;
		else if (!strcmp(key, "depth"))
			r->depth = v->via.u64;
	}
	msgpack_unpacked_destroy(&up);
	return 0;
}

static int rcap_flush(struct sink *s)
{
	return 0;
}

static const struct sink_ops rcap_ops = {
    .name = "rcap", .write = rcap_write, .flush = rcap_flush, .close = rcap_flush};

struct ent_ctx {
	struct mt_file *f;
	unsigned depth_no;
	char fn[1100];
	size_t fnlen;
	bool has_fn;
};

struct smtp_side {
	struct mt_session s;
	struct files_cfg fcfg;
	struct mime_limits lim;
	bool rfc822;
	unsigned mime_depth; /* Zeek smtp_state$mime_depth: entities begun in the connection */
	struct ent_ctx st[128];
	int sp;
	struct mt_file *msgf;
	struct mime_msg *m;
	/* mime_content_hash: all entity data of one message */
	EVP_MD_CTX *all;
	uint64_t all_len;
	char all_md5[8][40];
	uint64_t all_lens[8];
	int nmsg;
	char weirds[2048];
};

static void ss_begin(void *u, unsigned depth)
{
	struct smtp_side *ss = u;

	ss->mime_depth++;
	ss->sp++;
	assert_true(ss->sp < 128);
	memset(&ss->st[ss->sp], 0, sizeof(ss->st[ss->sp]));
	ss->st[ss->sp].depth_no = ss->mime_depth;
}

static void ss_hdone(void *u, const struct mime_entity_info *e)
{
	struct smtp_side *ss = u;
	struct ent_ctx *c = &ss->st[ss->sp];

	if (e->filename) {
		c->has_fn = true;
		c->fnlen = e->filename_len < sizeof(c->fn) ? e->filename_len : sizeof(c->fn);
		memcpy(c->fn, e->filename, c->fnlen);
	}
}

static struct mt_file *ss_file(struct smtp_side *ss)
{
	struct ent_ctx *c = &ss->st[ss->sp];

	if (!c->f) {
		c->f = files__open(&ss->s, &ss->fcfg, 1000000000ull, "SMTP", true, c->depth_no);
		assert_non_null(c->f);
		if (c->has_fn)
			files__set_filename(c->f, c->fn, c->fnlen);
		if (ss->msgf)
			files__set_parent(c->f, files__fuid(ss->msgf));
	}
	return c->f;
}

static void ss_data(void *u, const uint8_t *b, size_t n)
{
	struct smtp_side *ss = u;

	files__data(ss_file(ss), b, n, 1000000000ull);
	EVP_DigestUpdate(ss->all, b, n);
	ss->all_len += n;
}

static void ss_gap(void *u, uint64_t n)
{
	struct smtp_side *ss = u;

	files__gap(ss_file(ss), n, 1000000000ull);
}

static void ss_end(void *u)
{
	struct smtp_side *ss = u;

	if (ss->st[ss->sp].f)
		files__close(ss->st[ss->sp].f, 1000000000ull);
	ss->sp--;
}

static void ss_raw(void *u, const uint8_t *b, size_t n)
{
	struct smtp_side *ss = u;

	if (ss->msgf)
		files__data(ss->msgf, b, n, 1000000000ull);
}

static void ss_weird(void *u, const char *name, const char *addl)
{
	struct smtp_side *ss = u;
	size_t l = strlen(ss->weirds);

	snprintf(ss->weirds + l, sizeof(ss->weirds) - l, "%s [%s]\n", name, addl ? addl : "-");
}

static void ss_msg_begin(struct smtp_side *ss, bool bdat)
{
	struct mime_cb cb = {.u = ss,
			     .begin = ss_begin,
			     .headers_done = ss_hdone,
			     .data = ss_data,
			     .gap = ss_gap,
			     .end = ss_end,
			     .weird = ss_weird,
			     .raw = ss_raw};

	if (ss->rfc822) {
		/* Zeek: the whole-message file is opened first and is the entities' parent */
		ss->msgf =
		    files__open(&ss->s, &ss->fcfg, 1000000000ull, "SMTP", true, ss->mime_depth);
		files__set_mime_type(ss->msgf, "message/rfc822");
	}
	ss->all = EVP_MD_CTX_new();
	EVP_DigestInit_ex(ss->all, EVP_md5(), NULL);
	ss->all_len = 0;
	ss->m = mime_msg__new(&cb, &ss->lim);
	mime_msg__set_framing(ss->m, bdat ? MIME_FRAMING_BDAT : MIME_FRAMING_DATA);
}

static void ss_msg_end(struct smtp_side *ss)
{
	unsigned char d[16];
	unsigned dl, i;

	mime_msg__end(ss->m);
	mime_msg__free(ss->m);
	ss->m = NULL;
	if (ss->msgf)
		files__close(ss->msgf, 1000000000ull);
	ss->msgf = NULL;
	EVP_DigestFinal_ex(ss->all, d, &dl);
	EVP_MD_CTX_free(ss->all);
	if (ss->nmsg < 8) {
		for (i = 0; i < 16; i++)
			snprintf(ss->all_md5[ss->nmsg] + 2 * i, 3, "%02x", d[i]);
		ss->all_lens[ss->nmsg] = ss->all_len;
		ss->nmsg++;
	}
}

/* The next gap at or after `from` and before `to`, or NULL. */
static const struct gapmark *gap_in(const struct stream *s, size_t from, size_t to)
{
	int i;

	for (i = 0; i < s->ngaps; i++)
		if (s->gaps[i].off >= from && s->gaps[i].off < to)
			return &s->gaps[i];
	return NULL;
}

/* Walks the client stream: commands, DATA (dot-unstuffed lines), BDAT chunks, gaps. */
static void ss_run(struct smtp_side *ss, const struct stream *s)
{
	size_t pos = 0;

	while (pos < s->len) {
		const uint8_t *nl = memchr(s->d + pos, '\n', s->len - pos);
		size_t eol = nl ? (size_t)(nl - s->d) + 1 : s->len;
		const struct gapmark *g = gap_in(s, pos + 1, eol);
		char cmd[64];
		size_t cl;

		if (g) {
			pos = g->off;
			continue;
		}
		cl = eol - pos < sizeof(cmd) - 1 ? eol - pos : sizeof(cmd) - 1;
		memcpy(cmd, s->d + pos, cl);
		cmd[cl] = 0;
		pos = eol;
		if (!strncasecmp(cmd, "DATA", 4) && (cmd[4] == '\r' || cmd[4] == '\n')) {
			ss_msg_begin(ss, false);
			while (pos < s->len) {
				const uint8_t *n2 = memchr(s->d + pos, '\n', s->len - pos);
				size_t e2 = n2 ? (size_t)(n2 - s->d) + 1 : s->len, ll = e2 - pos;
				const struct gapmark *g2 = gap_in(s, pos + 1, e2);
				const uint8_t *l = s->d + pos;

				if (g2) {
					mime_msg__feed(ss->m, l, g2->off - pos);
					mime_msg__gap(ss->m, g2->len);
					if (ss->msgf)
						files__gap(ss->msgf, g2->len, 1000000000ull);
					pos = g2->off;
					break;
				}
				pos = e2;
				if ((ll == 3 && !memcmp(l, ".\r\n", 3)) ||
				    (ll == 2 && !memcmp(l, ".\n", 2)))
					break;
				if (l[0] == '.') {
					l++;
					ll--;
				}
				assert_int_equal(mime_msg__feed(ss->m, l, ll), 0);
			}
			ss_msg_end(ss);
		} else if (!strncasecmp(cmd, "BDAT ", 5)) {
			unsigned long long n = strtoull(cmd + 5, NULL, 10);
			bool last = strcasestr(cmd, "LAST") != NULL;
			size_t take = n < s->len - pos ? (size_t)n : s->len - pos;
			const struct gapmark *g2 = gap_in(s, pos, pos + take);

			if (!ss->m)
				ss_msg_begin(ss, true);
			if (g2) {
				mime_msg__feed(ss->m, s->d + pos, g2->off - pos);
				mime_msg__gap(ss->m, g2->len);
				if (ss->msgf)
					files__gap(ss->msgf, g2->len, 1000000000ull);
				ss_msg_end(ss);
				pos = g2->off;
				continue;
			}
			assert_int_equal(mime_msg__feed(ss->m, s->d + pos, take), 0);
			pos += take;
			if (last)
				ss_msg_end(ss);
		}
	}
	if (ss->m)
		ss_msg_end(ss);
}

struct corpus_run {
	struct rcap cap;
	struct rec_out *out;
	struct rec *rec;
	struct mt_ids ids;
	struct conn_id cid;
	struct smtp_side ss;
};

static struct corpus_run *corpus(const char *pcap, int flow, bool rfc822, int decode_fn)
{
	struct corpus_run *r = calloc(1, sizeof(*r));
	struct stream s;

	if (access(pcap, R_OK) != 0 || !client_stream(pcap, flow, &s)) {
		free(r);
		return NULL;
	}
	r->cap.sink.ops = &rcap_ops;
	r->out = rec_out__new("mailtap");
	rec_out__add_sink(r->out, &r->cap.sink);
	r->rec = rec__new(r->out);
	mt_ids__init(&r->ids, 1, 7);
	r->ss.s.uid = "Ctest";
	r->ss.s.id = &r->cid;
	r->ss.s.rec = r->rec;
	r->ss.s.ids = &r->ids;
	r->ss.s.local_orig = r->ss.s.local_resp = -1;
	files_cfg__default(&r->ss.fcfg);
	r->ss.fcfg.sha256 = true;
	mime_limits__default(&r->ss.lim);
	r->ss.lim.decode_filenames = decode_fn;
	r->ss.rfc822 = rfc822;
	ss_run(&r->ss, &s);
	free(s.d);
	return r;
}

static void corpus_free(struct corpus_run *r)
{
	rec__free(r->rec);
	rec_out__free(r->out);
	free(r);
}

#define CORPUS_OR_SKIP(r)                                                                          \
	do {                                                                                       \
		if (!(r))                                                                          \
			skip();                                                                    \
	} while (0)

static void dump(const struct corpus_run *r)
{
	int i;

	for (i = 0; i < r->cap.n; i++)
		print_message("  rec %d: depth=%llu mime=%s fn=%s seen=%llu missing=%llu md5=%s "
			      "sha1=%s parent=%s\n",
			      i, (unsigned long long)r->cap.recs[i].depth, r->cap.recs[i].mime,
			      r->cap.recs[i].filename, (unsigned long long)r->cap.recs[i].seen,
			      (unsigned long long)r->cap.recs[i].missing, r->cap.recs[i].md5,
			      r->cap.recs[i].sha1, r->cap.recs[i].parent);
}

/* smtp.pcap, first mail: scripts.base.protocols.smtp.attachment/files.log and
 * scripts.base.frameworks.file-analysis.smtp/out (md5/sha1/sha256), mime-content-hash. */
static void test_corpus_smtp_pcap(void **state)
{
	struct corpus_run *r = corpus(CORPUS "zeek/traces/smtp.pcap", 0, false, 0);
	const struct frec *f;

	CORPUS_OR_SKIP(r);
	assert_int_equal(r->cap.n, 3);
	f = &r->cap.recs[0];
	assert_int_equal(f->depth, 3);
	assert_string_equal(f->mime, "text/plain");
	assert_int_equal(f->seen, 77);
	assert_string_equal(f->md5, "58aff3af22807bc5f4b6357c0038256c");
	assert_string_equal(f->sha1, "c39dc8cd0f8d8b1f7fc8b362c41e69fdf20f668a");
	assert_string_equal(f->sha256,
			    "8d057f3af311c20675eea767a9df5fa31ff3597c6d5d50fd0cdc34766c40204d");
	assert_string_equal(f->filename, "");
	f = &r->cap.recs[1];
	assert_int_equal(f->depth, 4);
	assert_string_equal(f->mime, "text/html");
	assert_int_equal(f->seen, 1868);
	assert_string_equal(f->md5, "afd68ae5c63caf6050dc5440bd72c5dd");
	assert_string_equal(f->sha1, "a4825db9a78b6c631f3c97d363be47faf65e8386");
	f = &r->cap.recs[2];
	assert_int_equal(f->depth, 5);
	assert_string_equal(f->mime, "text/plain");
	assert_string_equal(f->filename, "NEWS.txt");
	assert_int_equal(f->seen, 10809);
	assert_string_equal(f->md5, "30a60389acc290515651391154ba1b33");
	assert_string_equal(f->sha256,
			    "6ea20e4b4f218a715ddfd0c27a92def1020a47a1c2cc6971a6710746efabf868");
	/* mime_content_hash: all entity data of the message */
	assert_int_equal(r->ss.nmsg, 1);
	assert_int_equal(r->ss.all_lens[0], 12754);
	assert_string_equal(r->ss.all_md5[0], "b41cd1736d62ffec9df7d94b7a10d54d");
	corpus_free(r);

	/* second SMTP connection of smtp.pcap: depth 1, 204 bytes */
	r = corpus(CORPUS "zeek/traces/smtp.pcap", 1, false, 0);
	CORPUS_OR_SKIP(r);
	assert_int_equal(r->cap.n, 1);
	f = &r->cap.recs[0];
	assert_int_equal(f->depth, 1);
	assert_string_equal(f->mime, "text/plain");
	assert_int_equal(f->seen, 204);
	assert_string_equal(f->md5, "f6bf92b103a9d008e070c53bdf9a640c");
	assert_string_equal(f->sha256,
			    "acdef841cc054f2afdf800cb2c48300244ca1376d0438141e91ef60986fbeb6d");
	assert_int_equal(r->ss.all_lens[0], 204);
	corpus_free(r);
}

/* thefile0..2: the exact bytes of each entity (Zeek's file-analysis smtp test). */
static void test_corpus_entity_bytes(void **state)
{
	static const char *const files[] = {"thefile0", "thefile1", "thefile2"};
	struct corpus_run *r = corpus(CORPUS "zeek/traces/smtp.pcap", 0, false, 0);
	int i;

	CORPUS_OR_SKIP(r);
	for (i = 0; i < 3; i++) {
		char path[256];
		FILE *fp;
		static uint8_t buf[1 << 16];
		size_t n;
		char *nl;

		snprintf(path, sizeof(path), ZB "scripts.base.frameworks.file-analysis.smtp/%s",
			 files[i]);
		fp = fopen(path, "rb");
		if (!fp)
			skip();
		n = fread(buf, 1, sizeof(buf), fp);
		fclose(fp);
		nl = memchr(buf, '\n', n); /* btest's first line */
		assert_non_null(nl);
		n -= (size_t)(nl + 1 - (char *)buf);
		assert_string_equal(md5hex(nl + 1, n), r->cap.recs[i].md5);
		assert_int_equal(n, r->cap.recs[i].seen);
	}
	corpus_free(r);
}

/* BDAT, one chunk and 27 chunks of 129 bytes: files.log.cut of both baselines. */
static void test_corpus_bdat(void **state)
{
	static const char *const pcaps[] = {CORPUS "zeek/traces/smtp/rfc3030-bdat-multipart.pcap",
					    CORPUS
					    "zeek/traces/smtp/rfc3030-bdat-multipart-chunked.pcap"};
	int k;

	for (k = 0; k < 2; k++) {
		struct corpus_run *r = corpus(pcaps[k], 0, false, 0);
		const struct frec *f;

		CORPUS_OR_SKIP(r);
		if (r->cap.n != 2)
			dump(r);
		assert_int_equal(r->cap.n, 2);
		f = &r->cap.recs[0];
		assert_int_equal(f->depth, 2);
		assert_string_equal(f->mime, "text/plain");
		assert_string_equal(f->filename, "");
		assert_string_equal(f->sha1, "5cd7c323275d114627acbae92abc666d4335c8bb");
		f = &r->cap.recs[1];
		assert_int_equal(f->depth, 3);
		assert_string_equal(f->mime, "image/png");
		assert_string_equal(f->filename, "zeek-logo.png");
		assert_string_equal(f->sha1, "e9a752f145e10688ab485277a723ecbcfb5c8a63");
		corpus_free(r);
	}
}

/* Two BDAT mails in one connection: depth counts entities over the connection; with the
 * whole-message files (rfc822-msg-file-analysis-multi-mail). */
static void test_corpus_8bitmime(void **state)
{
	struct corpus_run *r =
	    corpus(CORPUS "zeek/traces/smtp/smtp-bdat-pipeline-8bitmime.pcap", 0, false, 0);
	const struct frec *f;

	CORPUS_OR_SKIP(r);
	assert_int_equal(r->cap.n, 2);
	assert_int_equal(r->cap.recs[0].depth, 1);
	assert_string_equal(r->cap.recs[0].mime, "text/plain");
	assert_int_equal(r->cap.recs[0].seen, 754);
	assert_int_equal(r->cap.recs[1].depth, 2);
	assert_string_equal(r->cap.recs[1].mime, "text/x-diff");
	assert_int_equal(r->cap.recs[1].seen, 4069);
	corpus_free(r);

	r = corpus(CORPUS "zeek/traces/smtp/smtp-bdat-pipeline-8bitmime.pcap", 0, true, 0);
	CORPUS_OR_SKIP(r);
	assert_int_equal(r->cap.n, 4);
	f = &r->cap.recs[1];
	assert_string_equal(f->mime, "message/rfc822");
	assert_int_equal(f->seen, 4404);
	assert_string_equal(f->sha1, "ee93d96ae2b5883e8dfe02aca71f799f2b47f1f6");
	assert_string_equal(r->cap.recs[0].parent, f->fuid);
	assert_int_equal(r->cap.recs[0].seen, 754);
	f = &r->cap.recs[3];
	assert_string_equal(f->mime, "message/rfc822");
	assert_int_equal(f->seen, 8757);
	assert_string_equal(f->sha1, "43a21580619bc8b129eb50cad9505a8469685149");
	assert_string_equal(r->cap.recs[2].parent, f->fuid);
	assert_string_equal(r->cap.recs[2].mime, "text/x-diff");
	corpus_free(r);
}

/* message/rfc822 attachment, LF-only lines (rfc822-msg-file-analysis and -binary). */
static void test_corpus_rfc822(void **state)
{
	struct corpus_run *r = corpus(CORPUS "zeek/traces/smtp-attachment-msg.pcap", 0, true, 0);
	const struct frec *f;

	CORPUS_OR_SKIP(r);
	if (r->cap.n != 3)
		dump(r);
	assert_int_equal(r->cap.n, 3);
	f = &r->cap.recs[0];
	assert_string_equal(f->mime, "text/plain");
	assert_int_equal(f->seen, 16);
	f = &r->cap.recs[1];
	assert_string_equal(f->mime, "");
	assert_int_equal(f->seen, 2);
	f = &r->cap.recs[2];
	assert_string_equal(f->mime, "message/rfc822");
	assert_int_equal(f->seen, 586);
	assert_string_equal(f->sha1, "f9bc3e476a513159f5c7c5869d47364514605b45");
	assert_string_equal(r->cap.recs[0].parent, f->fuid);
	assert_string_equal(r->cap.recs[1].parent, f->fuid);
	corpus_free(r);

	r = corpus(CORPUS "zeek/traces/smtp/rfc3030-bdat-nonascii.pcap", 0, true, 0);
	CORPUS_OR_SKIP(r);
	assert_int_equal(r->cap.n, 2);
	f = &r->cap.recs[0];
	assert_string_equal(f->mime, "text/plain");
	assert_int_equal(f->seen, 16);
	f = &r->cap.recs[r->cap.n - 1];
	assert_string_equal(f->mime, "message/rfc822");
	assert_int_equal(f->seen, 604);
	assert_string_equal(f->sha1, "6ae7bc45d107228ca00b44d9d93ba7fdcf7255bf");
	corpus_free(r);

	/* whole-message files of smtp.pcap (rfc822-msg-file-analysis-multi-session) */
	r = corpus(CORPUS "zeek/traces/smtp.pcap", 0, true, 0);
	CORPUS_OR_SKIP(r);
	assert_int_equal(r->cap.n, 4);
	assert_int_equal(r->cap.recs[3].seen, 14545);
	assert_string_equal(r->cap.recs[3].sha1, "cfca0a07196a5d62e713d83b73e6290aea90435d");
	corpus_free(r);
	r = corpus(CORPUS "zeek/traces/smtp.pcap", 1, true, 0);
	CORPUS_OR_SKIP(r);
	assert_int_equal(r->cap.n, 2);
	assert_int_equal(r->cap.recs[1].seen, 804);
	assert_string_equal(r->cap.recs[1].sha1, "e5409b0c77bae4d71cfddc4023a266d692d48663");
	corpus_free(r);
}

/* bdat-gap: a 1000-byte hole in a BDAT chunk still in the headers: a file with
 * seen 0 / missing 1000 and no hashes; then a DATA mail (files.log.cut). */
static void test_corpus_gap(void **state)
{
	struct corpus_run *r = corpus(CORPUS "zeek/traces/smtp/smtp-bdat-gap.pcap", 0, false, 0);
	const struct frec *f;

	CORPUS_OR_SKIP(r);
	if (r->cap.n != 2)
		dump(r);
	assert_int_equal(r->cap.n, 2);
	f = &r->cap.recs[0];
	assert_int_equal(f->depth, 1);
	assert_int_equal(f->seen, 0);
	assert_int_equal(f->missing, 1000);
	assert_string_equal(f->mime, "");
	assert_string_equal(f->sha1, "");
	f = &r->cap.recs[1];
	assert_int_equal(f->depth, 2);
	assert_int_equal(f->missing, 0);
	assert_string_equal(f->sha1, "07b5c067ebd5b1d9473a8b4cdec43ee837778c40");
	corpus_free(r);
	/* rfc822-msg-file-analysis-gap: the message file has the 100 bytes before the hole */
	r = corpus(CORPUS "zeek/traces/smtp/smtp-bdat-gap.pcap", 0, true, 0);
	CORPUS_OR_SKIP(r);
	f = &r->cap.recs[1];
	assert_string_equal(f->mime, "message/rfc822");
	assert_int_equal(f->seen, 100);
	assert_int_equal(f->missing, 1000);
	assert_int_equal(r->cap.recs[0].seen, 0);
	assert_int_equal(r->cap.recs[0].missing, 1000);
	corpus_free(r);
}

static bool has_file(const struct corpus_run *r, const char *fn, const char *md5,
		     const char *sha256)
{
	int i;

	for (i = 0; i < r->cap.n; i++)
		if ((!fn || !strcmp(r->cap.recs[i].filename, fn)) &&
		    (!md5 || !strcmp(r->cap.recs[i].md5, md5)) &&
		    (!sha256 || !strcmp(r->cap.recs[i].sha256, sha256)))
			return true;
	return false;
}

/* Suricata-verify expectations: attachment names and hashes. */
static void test_corpus_suricata(void **state)
{
	static const struct {
		const char *pcap;
		int decode;
		const char *fn, *md5, *sha256;
	} c[] = {
	    {"smtp-attachment-md5/input.pcap", 0, NULL, "44d88612fea8a8f36de82e1278abb02f", NULL},
	    {"smtp-rfc2231/input.pcap", 1,
	     "smtptest-2021-02-25T13-54-22Z-aefb2fc1308d62f4b6c74769f69b13ddf80e995fd98ae44"
	     "2f3be499ea928c67f..zip",
	     NULL, NULL},
	    {"bug-6207-1/input.pcap", 1,
	     "smtptest-2021-02-25T13-54-22Z-aefb2fc1308d62f4b6c74769f69b13ddf80e995fd98ae44"
	     "2f3be499ea928c67f..zip",
	     NULL, NULL},
	    {"mime/mime-dec-parse-long-filename02/input.pcap", 0,
	     "12characters12characters12characters.exe", NULL, NULL},
	    {"mime/mime-quoted-printable/input.pcap", 0, "related.patch", NULL, NULL},
	    {"mime/smtp-mime-encap-8649-baseline/input.pcap", 0, "malware.exe", NULL, NULL},
	    {"smtp-bug-5981/input.pcap", 0, "winmail.dat", NULL,
	     "5f41c213e35d8421647181cc9b8925a5b2ab34c23102907581214fd574157fff"},
	};
	size_t i;
	int flow;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		char path[256];
		bool found = false;

		snprintf(path, sizeof(path), CORPUS "suricata-verify/%s", c[i].pcap);
		for (flow = 0; flow < 4 && !found; flow++) {
			struct corpus_run *r = corpus(path, flow, false, c[i].decode);

			if (!r)
				break;
			found = has_file(r, c[i].fn, c[i].md5, c[i].sha256);
			if (!found && flow == 0)
				dump(r);
			corpus_free(r);
		}
		if (!found)
			fail_msg("%s: no file %s md5 %s sha256 %s", c[i].pcap,
				 c[i].fn ? c[i].fn : "-", c[i].md5 ? c[i].md5 : "-",
				 c[i].sha256 ? c[i].sha256 : "-");
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_simple_message),	cmocka_unit_test(test_multipart),
	    cmocka_unit_test(test_base64_oddities),	cmocka_unit_test(test_base64_runs),
	    cmocka_unit_test(test_base64_long_runs),	cmocka_unit_test(test_qp_oddities),
	    cmocka_unit_test(test_filenames),		cmocka_unit_test(test_message_rfc822),
	    cmocka_unit_test(test_bdat_framing),	cmocka_unit_test(test_header_limit),
	    cmocka_unit_test(test_long_lines_evasions), cmocka_unit_test(test_long_lines),
	    cmocka_unit_test(test_long_lines_nul_gap),	cmocka_unit_test(test_gap_partial_line),
	    cmocka_unit_test(test_qp_cut_lines),
	    cmocka_unit_test(test_qp_blank_runs),	cmocka_unit_test(test_qp_cut_random),
	    cmocka_unit_test(test_deep_nesting),	cmocka_unit_test(test_garbage_base64_100mb),
	    cmocka_unit_test(test_skip_mode),		cmocka_unit_test(test_corpus_smtp_pcap),
	    cmocka_unit_test(test_corpus_entity_bytes), cmocka_unit_test(test_corpus_bdat),
	    cmocka_unit_test(test_corpus_8bitmime),	cmocka_unit_test(test_corpus_rfc822),
	    cmocka_unit_test(test_header_total),
	    cmocka_unit_test(test_open_messages),
	    cmocka_unit_test(test_corpus_gap),		cmocka_unit_test(test_corpus_suricata),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
