// SPDX-License-Identifier: BSD-3-Clause
/* intel: Zeek's intelligence store and its files. Strings match case-insensitively and keep
 * every source once; an address matches its ADDR item and every SUBNET that holds it (IPv4
 * and IPv6 apart); the loader reads Zeek's format (#fields in any order, #separator, \xNN
 * escapes, unset and empty fields) and skips the lines it cannot use, counted; the limits
 * hold; the record carries Intel::Info's fields. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <time.h>
#include <msgpack.h>
#include <pthread.h>
#include <stdatomic.h>
#include "mailtap/intel.h"
#include "mailtap/intel_reread.h"
#include "mailtap/notice.h"
#include "mailtap/rec.h"
#include "mailtap/sink.h"
#include "mailtap/urlfind.h"
#include "last_record.h"

static struct intel *with(const char *text, long want, struct intel_limits *lim)
{
	char path[] = "/tmp/test_intel_XXXXXX", err[256] = "";
	int fd = mkstemp(path);
	struct intel *in = intel__new(lim);
	long n;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	assert_non_null(in);
	n = intel__load_file(in, path, false, NULL, err, sizeof(err));
	unlink(path);
	if (n != want)
		fprintf(stderr, "loaded %ld (want %ld): %s\n", n, want, err);
	assert_int_equal(n, want);
	return in;
}

static bool find(const struct intel *in, enum intel_type t, const char *s, struct intel_hit *h)
{
	return intel__find(in, t, s, strlen(s), h);
}

static bool find_addr(const struct intel *in, const char *a, struct intel_hit *h)
{
	struct mt_addr x;

	assert_int_equal(mt_addr__parse(&x, a), 0);
	return intel__find_addr(in, &x, h);
}

static void test_strings(void **st)
{
	struct intel *in = with("#fields\tindicator\tindicator_type\tmeta.source\n"
				"Bad@Example.COM\tIntel::EMAIL\tfeedA\n"
				"bad@example.com\tIntel::EMAIL\tfeedB\n"
				"bad@example.com\tIntel::EMAIL\tfeedA\n" /* the same source again */
				"evil.example\tIntel::DOMAIN\tfeedC\n"
				"0123456789abcdef0123456789abcdef\tIntel::FILE_HASH\tfeedA\n",
				5, NULL);
	struct intel_hit h;

	(void)st;
	assert_int_equal(intel__items(in), 3);
	assert_true(find(in, INTEL_EMAIL, "BAD@example.com", &h));
	assert_int_equal(h.types, 1u << INTEL_EMAIL);
	assert_int_equal(h.n_sources, 2);
	/* the type is part of the key */
	assert_false(find(in, INTEL_DOMAIN, "bad@example.com", &h));
	assert_true(find(in, INTEL_DOMAIN, "EVIL.example", &h));
	assert_false(find(in, INTEL_DOMAIN, "evil.example.", &h));
	assert_false(find(in, INTEL_DOMAIN, "x.evil.example", &h)); /* Zeek: exact names only */
	assert_true(find(in, INTEL_FILE_HASH, "0123456789ABCDEF0123456789ABCDEF", &h));
	assert_true(intel__has(in, INTEL_EMAIL));
	assert_false(intel__has(in, INTEL_URL));
	assert_false(intel__has_addr(in));
	intel__free(in);
}

static void test_addresses(void **st)
{
	struct intel *in = with("#fields\tindicator_type\tmeta.source\tindicator\n"
				"Intel::ADDR\ta\t192.0.2.7\n"
				"Intel::SUBNET\tb\t192.0.2.0/24\n"
				"Intel::SUBNET\tc\t192.0.0.0/8\n"
				"Intel::SUBNET\td\t192.0.2.77/32\n"
				"Intel::ADDR\ta\t2001:DB8::1\n"
				"Intel::SUBNET\te\t2001:db8::/32\n"
				"Intel::SUBNET\tf\t10.1.2.3/8\n", /* host bits masked, as Zeek */
				7, NULL);
	struct intel_hit h;

	(void)st;
	assert_true(find_addr(in, "192.0.2.7", &h));
	assert_int_equal(h.types, (1u << INTEL_ADDR) | (1u << INTEL_SUBNET));
	assert_int_equal(h.n_sources, 3); /* a, b, c */
	assert_true(find_addr(in, "192.0.2.77", &h));
	assert_int_equal(h.types, 1u << INTEL_SUBNET);
	assert_int_equal(h.n_sources, 3); /* b, c, d */
	assert_true(find_addr(in, "192.200.1.1", &h));
	assert_int_equal(h.n_sources, 1);
	assert_false(find_addr(in, "193.0.2.7", &h));
	assert_true(find_addr(in, "10.200.0.1", &h));
	/* an IPv6 address in no v4 subnet, and the other way round */
	assert_true(find_addr(in, "2001:db8::1", &h));
	assert_int_equal(h.types, (1u << INTEL_ADDR) | (1u << INTEL_SUBNET));
	assert_true(find_addr(in, "2001:db8:ffff::9", &h));
	assert_int_equal(h.types, 1u << INTEL_SUBNET);
	assert_false(find_addr(in, "2001:db9::1", &h));
	assert_false(find_addr(in, "::ffff:0:0", &h));
	intel__free(in);
}

/* Zeek holds an IPv4 address as ::ffff:a.b.c.d: an IPv6 subnet over that range (::/0,
 * ::ffff:0:0/96) holds every IPv4 address, as matching_subnets finds it. */
static void test_v6_subnets_hold_v4(void **st)
{
	struct intel *in = with("#fields\tindicator_type\tmeta.source\tindicator\n"
				"Intel::SUBNET\tall\t::/0\n"
				"Intel::SUBNET\tmapped\t::ffff:0:0/96\n"
				"Intel::SUBNET\thigh\t8000::/1\n"
				"Intel::SUBNET\tv4\t192.0.2.0/24\n",
				4, NULL);
	struct intel_hit h;

	(void)st;
	assert_true(find_addr(in, "192.0.2.7", &h));
	assert_int_equal(h.n_sources, 3); /* all, mapped, v4 */
	assert_true(find_addr(in, "198.51.100.1", &h));
	assert_int_equal(h.n_sources, 2); /* all, mapped */
	assert_true(find_addr(in, "2001:db8::1", &h));
	assert_int_equal(h.n_sources, 1); /* all */
	assert_true(find_addr(in, "fe80::1", &h));
	assert_int_equal(h.n_sources, 2); /* all, high */
	intel__free(in);
}

static void test_format(void **st)
{
	struct intel_stats s0, s1;
	struct intel_hit h;
	struct intel *in;

	(void)st;
	intel__stats(&s0);
	in = with("#separator \\x2c\n"
		  "# a comment\n"
		  "#fields,indicator,indicator_type,meta.source,meta.desc\n"
		  "a\\x2cb@example.com,Intel::EMAIL,src,escaped separator\r\n"
		  "\n"
		  "x@example.com,Intel::NOPE,src,unknown type\n"
		  "y@example.com,Intel::EMAIL,-,no source\n"
		  "-,Intel::EMAIL,src,no indicator\n"
		  "300.1.1.1,Intel::ADDR,src,bad address\n"
		  "10.0.0.0/33,Intel::SUBNET,src,bad subnet\n"
		  "short,Intel::EMAIL\n"
		  "EMAIL,EMAIL,src,the type without its module: no enum Zeek knows\n",
		  1, NULL);
	intel__stats(&s1);
	assert_int_equal(s1.lines_skipped - s0.lines_skipped, 7);
	assert_true(find(in, INTEL_EMAIL, "a,b@example.com", &h));
	assert_false(find(in, INTEL_EMAIL, "email", &h));
	intel__free(in);
	/* do_notice.zeek's meta fields: do_notice a bool as Zeek's ASCII formatter reads one (T or
	 * 1, F or 0, blanks around it stripped; "-" unset, anything else skips the line), if_in a
	 * known place; a match says where it asks for a notice (anywhere: every place); the same
	 * source again replaces its meta */
	in = with("#fields\tindicator\tindicator_type\tmeta.source\tmeta.do_notice\tmeta.if_in\n"
		  "a@x\tIntel::EMAIL\ts1\tT\tSMTP::IN_FROM\n"
		  "b@x\tIntel::EMAIL\ts1\tT\t-\n"
		  "c@x\tIntel::EMAIL\ts1\tF\tIntel::IN_ANYWHERE\n"
		  "d@x\tIntel::EMAIL\ts1\tmaybe\t-\n"
		  "e@x\tIntel::EMAIL\ts1\tT\tSMTP::IN_NOWHERE\n"
		  "c@x\tIntel::EMAIL\ts2\tT\tSMTP::IN_TO\n"
		  "f@x\tIntel::EMAIL\ts1\t1\t-\n"
		  "g@x\tIntel::EMAIL\ts1\t0\t-\n"
		  "h@x\tIntel::EMAIL\ts1\t  T \t-\n"
		  "i@x\tIntel::EMAIL\ts1\t -\t-\n"
		  "j@x\tIntel::EMAIL\ts1\t\t-\n"
		  "k@x\tIntel::EMAIL\ts1\t-\t-\n"
		  "l@x\tIntel::EMAIL\ts1\tTT\t-\n",
		  8, NULL);
	assert_true(find(in, INTEL_EMAIL, "a@x", &h));
	assert_int_equal(h.notice_where, 1u << INTEL_SMTP_IN_FROM);
	assert_true(find(in, INTEL_EMAIL, "b@x", &h));
	assert_int_equal(h.notice_where, (1u << INTEL_NWHERE) - 1);
	assert_true(find(in, INTEL_EMAIL, "c@x", &h));
	assert_int_equal(h.notice_where, 1u << INTEL_SMTP_IN_TO); /* s2's; s1 asks for none */
	assert_int_equal(h.n_sources, 2);
	assert_false(find(in, INTEL_EMAIL, "d@x", &h));
	assert_false(find(in, INTEL_EMAIL, "e@x", &h));
	assert_true(find(in, INTEL_EMAIL, "f@x", &h));
	assert_int_equal(h.notice_where, (1u << INTEL_NWHERE) - 1);
	assert_true(find(in, INTEL_EMAIL, "g@x", &h));
	assert_int_equal(h.notice_where, 0);
	assert_true(find(in, INTEL_EMAIL, "h@x", &h));
	assert_int_equal(h.notice_where, (1u << INTEL_NWHERE) - 1);
	assert_false(find(in, INTEL_EMAIL, "i@x", &h)); /* " -" is no unset field */
	assert_false(find(in, INTEL_EMAIL, "j@x", &h)); /* nor is an empty one */
	assert_true(find(in, INTEL_EMAIL, "k@x", &h));
	assert_int_equal(h.notice_where, 0);
	assert_false(find(in, INTEL_EMAIL, "l@x", &h));
	intel__free(in);
}

static void test_errors(void **st)
{
	char err[256];
	struct intel *in = intel__new(NULL);

	(void)st;
	assert_int_equal(intel__load_file(in, "/nonexistent/intel.dat", false, NULL, err, sizeof(err)),
			 -ENOENT);
	assert_non_null(strstr(err, "/nonexistent/intel.dat"));
	intel__free(in);
	in = with("#fields\tindicator\tmeta.source\n", -EINVAL, NULL); /* no indicator_type */
	intel__free(in);
	in = with("1.2.3.4\tIntel::ADDR\tsrc\n", -EINVAL, NULL); /* data before #fields */
	intel__free(in);
	in = with("", -EINVAL, NULL);
	intel__free(in);
}

/* Intel::Notice (do_notice.zeek): `Intel hit on INDICATOR at WHERE` and $sub the indicator,
 * whole (NULs written \x00 by the record), and the identifier from the whole indicator and
 * both addresses: two indicators alike in their first 400 bytes are two notices. */
static void test_notice_whole(void **st)
{
	const size_t L = 1000, file_size = 4 * L;
	char *file = malloc(file_size), *a = malloc(L + 8), *b = malloc(L + 8), *want = malloc(2 * L);
	struct conn_id id = {.orig_p = 1234, .resp_p = 25};
	struct intel_seen w = {.ts_ns = 1500000000ULL * 1000000000ULL,
			       .where = INTEL_SMTP_IN_FROM,
			       .uid = "Cabc",
			       .id = &id};
	struct notice_cfg nc;
	struct rec_out *o = rec_out__new("t");
	struct rec *r;
	struct intel *in;
	size_t k;

	(void)st;
	assert_int_equal(mt_addr__parse(&id.orig_h, "198.51.100.9"), 0);
	assert_int_equal(mt_addr__parse(&id.resp_h, "192.0.2.1"), 0);
	memset(a, 'a', L);
	memcpy(a + L, "@x.ab", 6);
	memcpy(b, a, L);
	memcpy(b + L, "@y.ab", 6);
	k = (size_t)snprintf(file, file_size,
			     "#fields\tindicator\tindicator_type\tmeta.source\tmeta.do_notice\n"
			     "%s\tIntel::EMAIL\ts\tT\n%s\tIntel::EMAIL\ts\tT\n",
			     a, b);
	assert_true(k < file_size);
	assert_true((size_t)snprintf(file + k, file_size - k,
				     "n\\x00l@x\tIntel::EMAIL\ts\t1\n") < file_size - k);
	in = with(file, 3, NULL);
	rec_out__add_sink(o, &rec_sink);
	r = rec__new(o);
	notice_cfg__default(&nc);
	assert_int_equal(notice__init(&nc), 0);
	rec_count = 0;
	assert_true(intel__seen(in, r, &w, INTEL_EMAIL, a, L + 5));
	assert_int_equal(rec_count, 2); /* intel, notice */
	assert_string_equal(rec_tag, "t.notice");
	snprintf(want, 2 * L, "\"msg\"=>\"Intel hit on %s at SMTP::IN_FROM\"", a);
	assert_non_null(strstr(rec_last, want));
	snprintf(want, 2 * L, "\"sub\"=>\"%s\"", a);
	assert_non_null(strstr(rec_last, want));
	assert_true(intel__seen(in, r, &w, INTEL_EMAIL, b, L + 5));
	assert_int_equal(rec_count, 4); /* another identifier: not suppressed */
	/* the same again: suppressed */
	assert_true(intel__seen(in, r, &w, INTEL_EMAIL, a, L + 5));
	assert_int_equal(rec_count, 5);
	/* a NUL in it (matched whatever the letter case) */
	assert_true(intel__seen(in, r, &w, INTEL_EMAIL, "N\0L@x", 5));
	assert_int_equal(rec_count, 7);
	assert_non_null(strstr(rec_last, "\"msg\"=>\"Intel hit on N\\x00L@x at SMTP::IN_FROM\""));
	assert_non_null(strstr(rec_last, "\"sub\"=>\"N\\x00L@x\""));
	notice__fini();
	rec__free(r);
	rec_out__free(o);
	intel__free(in);
	free(file);
	free(a);
	free(b);
	free(want);
}

/* whitelist.zeek: meta.whitelist read as do_notice is (a bool; anything else skips the
 * line); a match with a whitelisted item of any source writes no intel record and is counted,
 * while do_notice's notice is still raised (an Intel::match handler of its own); the same
 * source again replaces its whitelist bit with its meta. */
static void test_whitelist(void **st)
{
	struct conn_id id = {.orig_p = 1234, .resp_p = 25};
	struct intel_seen w = {.ts_ns = 1500000000ULL * 1000000000ULL,
			       .where = INTEL_SMTP_IN_FROM,
			       .uid = "Cabc",
			       .id = &id};
	struct intel_stats s0, s1;
	struct notice_cfg nc;
	struct rec_out *o = rec_out__new("t");
	struct intel_hit h;
	struct intel *in;
	struct rec *r;

	(void)st;
	assert_int_equal(mt_addr__parse(&id.orig_h, "198.51.100.9"), 0);
	assert_int_equal(mt_addr__parse(&id.resp_h, "192.0.2.1"), 0);
	in = with("#fields\tindicator\tindicator_type\tmeta.source\tmeta.whitelist\t"
		  "meta.do_notice\n"
		  "a@x\tIntel::EMAIL\ts1\tT\tF\n"
		  "b@x\tIntel::EMAIL\ts1\tF\tF\n"
		  "b@x\tIntel::EMAIL\ts2\t1\tF\n" /* another source whitelists it */
		  "c@x\tIntel::EMAIL\ts1\tT\tT\n"
		  "d@x\tIntel::EMAIL\ts1\t-\tF\n"
		  "e@x\tIntel::EMAIL\ts1\tyes\tF\n"
		  "f@x\tIntel::EMAIL\ts1\tT\tF\n"
		  "f@x\tIntel::EMAIL\ts1\t0\tF\n" /* the same source: its meta replaced */
		  "10.1.0.0/16\tIntel::SUBNET\ts1\tT\tF\n"
		  "10.1.2.3\tIntel::ADDR\ts2\tF\tF\n",
		  9, NULL); /* lines that gave an item */
	assert_true(find(in, INTEL_EMAIL, "a@x", &h));
	assert_true(h.whitelisted);
	assert_int_equal(h.notice_where, 0);
	assert_true(find(in, INTEL_EMAIL, "b@x", &h));
	assert_true(h.whitelisted);
	assert_int_equal(h.n_sources, 2);
	assert_true(find(in, INTEL_EMAIL, "c@x", &h));
	assert_true(h.whitelisted);
	assert_int_equal(h.notice_where, (1u << INTEL_NWHERE) - 1);
	assert_true(find(in, INTEL_EMAIL, "d@x", &h));
	assert_false(h.whitelisted);
	assert_false(find(in, INTEL_EMAIL, "e@x", &h));
	assert_true(find(in, INTEL_EMAIL, "f@x", &h));
	assert_false(h.whitelisted);
	assert_true(find_addr(in, "10.1.2.3", &h)); /* its subnet whitelisted */
	assert_true(h.whitelisted);
	assert_true(find_addr(in, "10.1.9.9", &h));
	assert_true(h.whitelisted);

	rec_out__add_sink(o, &rec_sink);
	r = rec__new(o);
	notice_cfg__default(&nc);
	assert_int_equal(notice__init(&nc), 0);
	rec_count = 0;
	intel__stats(&s0);
	assert_true(intel__seen(in, r, &w, INTEL_EMAIL, "A@x", 3));
	assert_true(intel__seen(in, r, &w, INTEL_EMAIL, "b@x", 3));
	assert_int_equal(rec_count, 0);
	assert_true(intel__seen(in, r, &w, INTEL_EMAIL, "c@x", 3)); /* the notice only */
	assert_int_equal(rec_count, 1);
	assert_string_equal(rec_tag, "t.notice");
	assert_non_null(strstr(rec_last, "\"msg\"=>\"Intel hit on c@x at SMTP::IN_FROM\""));
	assert_true(intel__seen(in, r, &w, INTEL_EMAIL, "d@x", 3));
	assert_int_equal(rec_count, 2);
	assert_string_equal(rec_tag, "t.intel");
	intel__stats(&s1);
	assert_int_equal(s1.whitelisted - s0.whitelisted, 3);
	assert_int_equal(s1.matches - s0.matches, 1);
	notice__fini();
	rec__free(r);
	rec_out__free(o);
	intel__free(in);
}

/* A UTF-8 byte order mark is refused with a message that says so (Zeek's reader does not skip
 * one); a FIFO, a directory or a device is refused at once, before any read: a FIFO without a
 * writer used to block the load, and a rereading's loader with it (joined at shutdown). */
static void test_not_intel_files(void **st)
{
	char dir[] = "/tmp/test_intel_XXXXXX", fifo[64], err[256] = "";
	const char *paths[1] = {fifo};
	struct intel *in;
	struct intel_reread *rr;

	(void)st;
	in = with("\xef\xbb\xbf#fields\tindicator\tindicator_type\tmeta.source\n"
		  "a@b\tIntel::EMAIL\ts\n",
		  -EINVAL, NULL);
	intel__free(in);
	assert_non_null(mkdtemp(dir));
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	in = intel__new(NULL);
	alarm(10); /* a hang fails the test */
	assert_int_equal(intel__load_file(in, fifo, false, NULL, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "is a FIFO, not a regular file"));
	assert_int_equal(intel__load_file(in, dir, true, NULL, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "is a directory"));
	assert_int_equal(intel__load_file(in, "/dev/zero", false, NULL, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "is a device"));
	/* at start (streams) a FIFO is read: --intel-file <(...) */
	{
		static const char data[] = "#fields\tindicator\tindicator_type\tmeta.source\n"
					   "a@b\tIntel::EMAIL\ts\n";
		pid_t pid = fork();

		assert_true(pid >= 0);
		if (pid == 0) {
			int fd = open(fifo, O_WRONLY);

			_exit(fd >= 0 && write(fd, data, sizeof(data) - 1) ==
						 (ssize_t)(sizeof(data) - 1) ? 0 : 1);
		}
		assert_int_equal(intel__load_file(in, fifo, true, NULL, err, sizeof(err)), 1);
		assert_int_equal(waitpid(pid, NULL, 0), pid);
	}
	/* a forced rereading of the FIFO ends (the store kept), and so does the shutdown */
	rr = intel_reread__new(in, paths, 1);
	assert_non_null(rr);
	assert_int_equal(intel_reread__tick(rr, true), 1);
	intel_reread__free(rr);
	alarm(0);
	assert_int_equal(intel__generation(in), 0);
	intel__free(in);
	unlink(fifo);
	rmdir(dir);
}

static void test_limits(void **st)
{
	struct intel_limits lim;
	struct intel_hit h;
	struct intel *in;
	char *big = malloc(200000);
	size_t n;

	(void)st;
	intel_limits__default(&lim);
	lim.max_items = 2;
	lim.max_indicator = 16;
	lim.max_line = 100;
	static const char head[] = "#fields\tindicator\tindicator_type\tmeta.source\n"
				   "a@b\tIntel::EMAIL\ts\n"
				   "a@b\tIntel::EMAIL\tt\n" /* a source more is not an item more */
				   "0123456789abcdefX\tIntel::DOMAIN\ts\n"
				   "c@d\tIntel::EMAIL\ts\n"
				   "e@f\tIntel::EMAIL\ts\n";
	static const char tail[] = "\tIntel::EMAIL\ts\ng@h\tIntel::EMAIL\ts\n";
	const size_t cap = 200000, run = 150000;

	assert_non_null(big);
	n = sizeof(head) - 1;
	assert_true(n + run + sizeof(tail) <= cap);
	memcpy(big, head, n);
	memset(big + n, 'x', run);		   /* one line longer than max_line */
	memcpy(big + n + run, tail, sizeof(tail)); /* with its NUL */
	in = with(big, 3, &lim);
	assert_int_equal(intel__items(in), 2);
	assert_true(find(in, INTEL_EMAIL, "c@d", &h));
	assert_false(find(in, INTEL_EMAIL, "e@f", &h));
	assert_false(find(in, INTEL_EMAIL, "g@h", &h));
	assert_int_equal(intel__insert(in, INTEL_EMAIL, "", 0, "s", 1), -EINVAL);
	intel__free(in);
	free(big);
	/* many items: the table grows, all found */
	in = intel__new(NULL);
	for (int i = 0; i < 50000; i++) {
		char b[32];

		n = (size_t)snprintf(b, sizeof(b), "host%d.example", i);
		assert_int_equal(
		    intel__insert(in, INTEL_DOMAIN, b, n, i & 1 ? "odd" : "even", i & 1 ? 3 : 4),
		    0);
	}
	for (int i = 0; i < 50000; i++) {
		char b[32];

		snprintf(b, sizeof(b), "HOST%d.example", i);
		assert_true(find(in, INTEL_DOMAIN, b, &h));
		assert_int_equal(h.source_len[0], i & 1 ? 3 : 4);
	}
	intel__free(in);
}

/* The record: Intel::Info's columns, sources sorted, matched types by name. */
static uint8_t outbuf[4096];
static size_t outlen;

static int cap_write(struct sink *s, const char *tag, size_t tag_len, uint64_t ts_ns,
		     const uint8_t *b, size_t n)
{
	(void)s, (void)tag, (void)tag_len, (void)ts_ns;
	if (outlen + n <= sizeof(outbuf)) {
		memcpy(outbuf + outlen, b, n);
		outlen += n;
	}
	return 0;
}

static int cap_flush(struct sink *s)
{
	(void)s;
	return 0;
}

static void test_record(void **st)
{
	struct intel *in = with("#fields\tindicator\tindicator_type\tmeta.source\n"
				"198.51.100.0/24\tIntel::SUBNET\tzeta\n"
				"198.51.100.9\tIntel::ADDR\talpha\n",
				2, NULL);
	struct conn_id id = {.orig_p = 1234, .resp_p = 25};
	struct intel_seen w = {.ts_ns = 1500000000ULL * 1000000000ULL,
			       .where = INTEL_CONN_IN_RESP,
			       .uid = "Cabc",
			       .id = &id,
			       .fuid = "Fxyz",
			       .file_mime_type = "text/plain",
			       .file_desc = "d"};
	struct sink_ops ops = {
	    .name = "cap", .write = cap_write, .flush = cap_flush, .close = cap_flush};
	struct sink sk = {.ops = &ops};
	struct rec_out *o = rec_out__new("t");
	struct rec *r;
	msgpack_unpacked u;
	size_t off = 0;
	char *json = NULL;
	bool found = false;

	(void)st;
	assert_int_equal(mt_addr__parse(&id.orig_h, "192.0.2.1"), 0);
	assert_int_equal(mt_addr__parse(&id.resp_h, "198.51.100.9"), 0);
	rec_out__add_sink(o, &sk);
	r = rec__new(o);
	assert_true(intel__seen_addr(in, r, &w, &id.resp_h));
	assert_false(intel__seen_addr(in, r, &w, &id.orig_h));
	rec__free(r);
	msgpack_unpacked_init(&u);
	while (msgpack_unpack_next(&u, (const char *)outbuf, outlen, &off) ==
	       MSGPACK_UNPACK_SUCCESS) {
		char buf[2048];

		msgpack_object_print_buffer(buf, sizeof(buf), u.data);
		if (strstr(buf, "seen.indicator")) {
			found = true;
			json = strdup(buf);
		}
	}
	msgpack_unpacked_destroy(&u);
	assert_true(found);
	assert_non_null(strstr(json, "\"seen.indicator\"=>\"198.51.100.9\""));
	assert_non_null(strstr(json, "\"seen.indicator_type\"=>\"Intel::ADDR\""));
	assert_non_null(strstr(json, "\"seen.where\"=>\"Conn::IN_RESP\""));
	assert_non_null(strstr(json, "\"seen.node\"=>\"mailtap\""));
	assert_non_null(strstr(json, "\"matched\"=>[\"Intel::ADDR\", \"Intel::SUBNET\"]"));
	assert_non_null(strstr(json, "\"sources\"=>[\"alpha\", \"zeta\"]"));
	assert_non_null(strstr(json, "\"uid\"=>\"Cabc\""));
	assert_non_null(strstr(json, "\"fuid\"=>\"Fxyz\""));
	assert_non_null(strstr(json, "\"file_mime_type\"=>\"text/plain\""));
	assert_non_null(strstr(json, "\"file_desc\"=>\"d\""));
	free(json);
	rec_out__free(o);
	intel__free(in);
}

/* URLs: the same in one piece or byte by byte; Zeek's schemes in any case; the end at bytes
 * no URL holds, trailing punctuation dropped; runs too long give none. */
struct got {
	char s[8][128];
	int n;
};

static void got_cb(void *u, const char *url, size_t n)
{
	struct got *g = u;

	if (g->n < 8 && n < 128) {
		memcpy(g->s[g->n], url, n);
		g->s[g->n++][n] = 0;
	}
}

static void test_urls(void **st)
{
	static const char text[] =
	    "see http://evil.example/a-b?c=d. and <a href=\"HTTPS://my-host.example/x\">"
	    "x</a>\r\nftp://f.example\r\nmailto:x http:// http:///nohost "
	    "zhttp://z.example/(p)), end https://last.example";
	static const char *want[] = {"evil.example/a-b?c=d", "my-host.example/x", "f.example",
				     "z.example/(p", "last.example"};
	struct urlfind f;
	struct got a = {.n = 0}, b = {.n = 0};
	char *big;

	(void)st;
	urlfind__init(&f);
	urlfind__feed(&f, (const uint8_t *)text, strlen(text), got_cb, &a);
	urlfind__end(&f, got_cb, &a);
	urlfind__init(&f);
	for (size_t i = 0; i < strlen(text); i++)
		urlfind__feed(&f, (const uint8_t *)text + i, 1, got_cb, &b);
	urlfind__end(&f, got_cb, &b);
	assert_int_equal(a.n, 5);
	assert_int_equal(b.n, 5);
	for (int i = 0; i < 5; i++) {
		assert_string_equal(a.s[i], want[i]);
		assert_string_equal(b.s[i], want[i]);
	}
	big = malloc(URLFIND_MAX + 64);
	memcpy(big, "http://", 7);
	memset(big + 7, 'a', URLFIND_MAX);
	memcpy(big + 7 + URLFIND_MAX, " http://ok.example", 18);
	a.n = 0;
	urlfind__init(&f);
	urlfind__feed(&f, (const uint8_t *)big, URLFIND_MAX + 25, got_cb, &a);
	urlfind__end(&f, got_cb, &a);
	assert_int_equal(a.n, 1);
	assert_string_equal(a.s[0], "ok.example");
	free(big);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	fclose(f);
}

#define HDR "#fields\tindicator\tindicator_type\tmeta.source\n"

/* intel__reload: the new store replaces the old (items gone from the files are gone, the
 * types follow), the generation goes up; a file without #fields or one missing keeps the
 * store and its generation; the counters. */
static void test_reload(void **st)
{
	char p1[] = "/tmp/test_intel_XXXXXX", p2[] = "/tmp/test_intel_XXXXXX", err[256];
	const char *paths[2] = {p1, p2};
	struct intel *in;
	struct intel_hit h;
	struct intel_stats s0, s1;

	(void)st;
	close(mkstemp(p1));
	close(mkstemp(p2));
	write_file(p1, HDR "a@example.com\tIntel::EMAIL\tsrc1\n10.0.0.0/8\tIntel::SUBNET\tsrc1\n");
	write_file(p2, HDR "b@example.com\tIntel::EMAIL\tsrc2\n");
	in = intel__new(NULL);
	assert_int_equal(intel__load_file(in, p1, false, NULL, err, sizeof(err)), 2);
	assert_int_equal(intel__load_file(in, p2, false, NULL, err, sizeof(err)), 1);
	assert_int_equal(intel__generation(in), 0);
	intel__stats(&s0);
	assert_true(find(in, INTEL_EMAIL, "a@example.com", &h));
	assert_true(find_addr(in, "10.1.2.3", &h));

	write_file(p1, HDR "c@example.com\tIntel::EMAIL\tsrc1\n");
	assert_int_equal(intel__reload(in, paths, 2, NULL, err, sizeof(err)), 2);
	assert_int_equal(intel__generation(in), 1);
	assert_false(find(in, INTEL_EMAIL, "a@example.com", &h)); /* gone from the file */
	assert_false(intel__has_addr(in));
	assert_false(find_addr(in, "10.1.2.3", &h));
	assert_true(find(in, INTEL_EMAIL, "C@example.com", &h));
	assert_int_equal(h.n_sources, 1);
	assert_memory_equal(h.sources[0], "src1", 4);
	assert_true(find(in, INTEL_EMAIL, "b@example.com", &h));
	assert_int_equal(intel__items(in), 2);

	/* broken: the store stays */
	write_file(p2, "b@example.com\tIntel::EMAIL\tsrc2\n");
	assert_int_equal(intel__reload(in, paths, 2, NULL, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, p2));
	unlink(p1);
	assert_int_equal(intel__reload(in, paths, 2, NULL, err, sizeof(err)), -ENOENT);
	assert_int_equal(intel__generation(in), 1);
	assert_true(find(in, INTEL_EMAIL, "c@example.com", &h));
	assert_true(find(in, INTEL_EMAIL, "b@example.com", &h));
	intel__stats(&s1);
	assert_int_equal(s1.reloads - s0.reloads, 1);
	assert_int_equal(s1.reload_errors - s0.reload_errors, 2);
	assert_int_equal(s1.items, s0.items - 1); /* 3 items before, 2 now */
	unlink(p2);
	intel__free(in);
}

/* Ticks until the rereading under way has finished and been reported. */
static void reread_wait(struct intel_reread *rr)
{
	for (int i = 0; i < 2000; i++) {
		struct timespec ts = {0, 1000000};

		nanosleep(&ts, NULL);
		if (intel_reread__tick(rr, false) == 0 && !intel_reread__busy(rr))
			return;
	}
	fail_msg("the rereading did not finish");
}

/* A feed written in place is read once it stopped changing for a tick: caught with its
 * #fields line but no item yet (curl -o, a redirection), it is not read, nor while it
 * grows; the next tick after the last change reads it whole. A SIGHUP (force) reads at
 * once. */
static void test_reread_settles(void **st)
{
	char p1[] = "/tmp/test_intel_XXXXXX";
	const char *paths[1] = {p1};
	char err[256];
	struct intel *in;
	struct intel_reread *rr;
	struct intel_hit h;

	(void)st;
	close(mkstemp(p1));
	write_file(p1, HDR "a@example.com\tIntel::EMAIL\ts\nb@example.com\tIntel::EMAIL\ts\n");
	in = intel__new(NULL);
	assert_int_equal(intel__load_file(in, p1, false, NULL, err, sizeof(err)), 2);
	rr = intel_reread__new(in, paths, 1);
	assert_non_null(rr);
	assert_int_equal(intel_reread__tick(rr, false), 0); /* nothing changed */
	write_file(p1, HDR);				   /* the writer has begun */
	assert_int_equal(intel_reread__tick(rr, false), 0); /* changed: wait a tick */
	write_file(p1, HDR "a@example.com\tIntel::EMAIL\ts\n");
	assert_int_equal(intel_reread__tick(rr, false), 0); /* still changing */
	write_file(p1, HDR "a@example.com\tIntel::EMAIL\ts\nc@example.com\tIntel::EMAIL\ts\n");
	assert_int_equal(intel_reread__tick(rr, false), 0);
	assert_int_equal(intel__generation(in), 0);
	assert_true(find(in, INTEL_EMAIL, "b@example.com", &h)); /* the old store all along */
	assert_int_equal(intel_reread__tick(rr, false), 1); /* a tick without change: read */
	reread_wait(rr);
	assert_int_equal(intel__generation(in), 1);
	assert_int_equal(intel__items(in), 2);
	assert_true(find(in, INTEL_EMAIL, "c@example.com", &h));
	assert_false(find(in, INTEL_EMAIL, "b@example.com", &h));
	/* chmod alone (the --user could not read it) changes the change time: read again */
	assert_int_equal(chmod(p1, 0640), 0);
	assert_int_equal(intel_reread__tick(rr, false), 0);
	assert_int_equal(intel_reread__tick(rr, false), 1);
	reread_wait(rr);
	assert_int_equal(intel__generation(in), 2);
	/* SIGHUP: at once, changed or not */
	assert_int_equal(intel_reread__tick(rr, true), 1);
	reread_wait(rr);
	assert_int_equal(intel__generation(in), 3);
	intel_reread__free(rr);
	unlink(p1);
	intel__free(in);
}

static _Atomic unsigned long null_writes;

static int null_write(struct sink *s, const char *tag, size_t tag_len, uint64_t ts_ns,
		      const uint8_t *b, size_t n)
{
	(void)s, (void)tag, (void)tag_len, (void)ts_ns, (void)b, (void)n;
	atomic_fetch_add(&null_writes, 1);
	return 0;
}

static const struct sink_ops null_ops = {
    .name = "null", .write = null_write, .flush = cap_flush, .close = cap_flush};
static struct sink null_sink = {.ops = &null_ops};

struct reader {
	struct intel *in;
	struct rec *r;
	_Atomic bool *stop;
	unsigned long found_a, found_b;
};

static void *read_loop(void *u)
{
	struct reader *rd = u;
	struct intel_seen w = {.where = INTEL_SMTP_IN_FROM};

	while (!atomic_load(rd->stop)) {
		rd->found_a += intel__seen(rd->in, rd->r, &w, INTEL_EMAIL, "a@example.com", 13);
		rd->found_b += intel__seen(rd->in, rd->r, &w, INTEL_EMAIL, "b@example.com", 13);
	}
	return NULL;
}

/* Lookups (with their records) in two threads while the store is replaced 50 times: every
 * lookup sees one store or the other, whole (ASan/TSan builds check the memory). */
static void test_reload_concurrent(void **st)
{
	char p[] = "/tmp/test_intel_XXXXXX", err[256];
	const char *paths[1] = {p};
	struct rec_out *o = rec_out__new("t");
	struct intel *in = intel__new(NULL);
	struct reader rd[2];
	pthread_t th[2];
	_Atomic bool stop = false;

	(void)st;
	close(mkstemp(p));
	write_file(p, HDR "a@example.com\tIntel::EMAIL\tsrc\n");
	assert_int_equal(intel__load_file(in, p, false, NULL, err, sizeof(err)), 1);
	rec_out__add_sink(o, &null_sink);
	for (int i = 0; i < 2; i++) {
		rd[i] = (struct reader){.in = in, .r = rec__new(o), .stop = &stop};
		assert_int_equal(pthread_create(&th[i], NULL, read_loop, &rd[i]), 0);
	}
	for (int k = 0; k < 50; k++) {
		write_file(p, k % 2 ? HDR "a@example.com\tIntel::EMAIL\tsrc\n"
				    : HDR "b@example.com\tIntel::EMAIL\tsrc\n");
		assert_int_equal(intel__reload(in, paths, 1, NULL, err, sizeof(err)), 1);
		usleep(200);
	}
	atomic_store(&stop, true);
	for (int i = 0; i < 2; i++) {
		pthread_join(th[i], NULL);
		assert_true(rd[i].found_a + rd[i].found_b > 0);
		rec__free(rd[i].r);
	}
	assert_int_equal(intel__generation(in), 50);
	assert_int_equal(atomic_load(&null_writes),
			 rd[0].found_a + rd[0].found_b + rd[1].found_a + rd[1].found_b);
	unlink(p);
	rec_out__free(o);
	intel__free(in);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_strings),
	    cmocka_unit_test(test_addresses),
	    cmocka_unit_test(test_v6_subnets_hold_v4),
	    cmocka_unit_test(test_format),
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_not_intel_files),
	    cmocka_unit_test(test_notice_whole),
	    cmocka_unit_test(test_whitelist),
	    cmocka_unit_test(test_limits),
	    cmocka_unit_test(test_record),
	    cmocka_unit_test(test_urls),
	    cmocka_unit_test(test_reload),
	    cmocka_unit_test(test_reread_settles),
	    cmocka_unit_test(test_reload_concurrent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
