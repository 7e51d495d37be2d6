// SPDX-License-Identifier: BSD-3-Clause
/* Out of memory anywhere on the packet path: captures of the corpus (SMTP with attachments,
 * BDAT chunked, pipelined and with a gap, a nested message, STARTTLS with a certificate
 * chain, implicit TLS on 465) replayed through
 * the whole engine (flows, reassembly, SMTP, MIME, files, TLS, x509, records) while every
 * allocation fails in turn: the N-th and every one after it, for N from 0 until the replay
 * needs fewer (alloc_fault.h). Setup may fail too (the record output, the engine, the
 * parsers). Whatever fails, nothing crashes, every record written is a whole msgpack map, no
 * file stays counted as open, and freeing everything gives back every block taken; with
 * extraction on, no temporary file is left in the directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <fcntl.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "mailtap/certval.h"
#include "mailtap/engine.h"
#include "mailtap/files.h"
#include "mailtap/intel.h"
#include "mailtap/log.h"
#include "mailtap/notice.h"
#include "mailtap/parsers.h"
#include "mailtap/rec.h"
#include "mailtap/sink.h"
#include "mailtap/workers.h"
#include "alloc_fault.h"
#include "corpus.h"
#include "record_check.h"

/* With a directory: also whole-message files, SHA-256 and every file extracted there. */
static const char *extract_dir;

/* Trusted roots for validation_status (test_starttls_certificates), loaded outside the sweep. */
static struct certval_roots *roots;
/* Indicators that match everywhere in the captures (test_intel), loaded outside the sweep. */
static struct intel *intel;

#ifdef HAVE_ALLOC_FAULTS
struct capture {
	struct pkt_raw *pkts;
	size_t n;
};

/* The records of a replay: each must unpack as one whole map. */
struct check_sink {
	struct sink base;
	uint64_t records;
};

static int cs_write(struct sink *s, const char *tag, size_t tl, uint64_t ts, const uint8_t *map,
		    size_t len)
{
	bool ok;

	(void)tag, (void)tl, (void)ts;
	alloc_harness_enter(); /* msgpack's allocations are the harness's */
	ok = record_is_one_map(map, len);
	alloc_harness_leave();
	assert_true(ok);
	((struct check_sink *)s)->records++;
	return 0;
}

static int cs_flush(struct sink *s)
{
	(void)s;
	return 0;
}

static const struct sink_ops cs_ops = {
    .name = "check", .write = cs_write, .flush = cs_flush, .close = cs_flush};

/* The capture's packets in memory; false when it is not there. */
static bool load(const char *rel, struct capture *c)
{
	char path[512], err[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *d;
	pcap_t *p;

	snprintf(path, sizeof(path), "%s/%s", corpus_dir(), rel);
	p = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, err);
	if (!p)
		return false;
	memset(c, 0, sizeof(*c));
	while (pcap_next_ex(p, &h, &d) == 1) {
		struct pkt_raw *r;
		uint8_t *copy = malloc(h->caplen ? h->caplen : 1);

		c->pkts = realloc(c->pkts, (c->n + 1) * sizeof(*c->pkts));
		assert_non_null(c->pkts);
		assert_non_null(copy);
		memcpy(copy, d, h->caplen);
		r = &c->pkts[c->n++];
		r->data = copy;
		r->caplen = h->caplen;
		r->wirelen = h->len;
		r->linktype = pcap_datalink(p);
		r->ts_ns = (uint64_t)h->ts.tv_sec * 1000000000ULL + (uint64_t)h->ts.tv_usec;
	}
	pcap_close(p);
	return c->n > 0;
}

static void unload(struct capture *c)
{
	for (size_t i = 0; i < c->n; i++)
		free((void *)c->pkts[i].data);
	free(c->pkts);
}


/* Replays the capture through a new engine; returns how many allocations were made to fail. */
static long replay(const struct capture *c, struct check_sink *cs)
{
	struct engine_cfg cfg;
	struct parsers_cfg pc;
	struct rec_out *out;
	struct engine *e = NULL;
	struct parsers *ps = NULL;

	/* notices (invalid server chains, intel items with do_notice) with their suppression
	 * table, which is the process's: set up and torn down with each replay */
	if (roots || intel) {
		struct notice_cfg nc;

		notice_cfg__default(&nc);
		notice__init(&nc);
	}
	out = rec_out__new("mailtap");
	if (out && rec_out__add_sink(out, &cs->base) == 0) {
		rec_out__enable(out, "smtp_events");
		engine_cfg__default(&cfg);
		cfg.seeded = true;
		cfg.seed = 1;
		if (roots) /* every server local: known_certs records too */
			engine_cfg__parse_nets(&cfg, "0.0.0.0/0,::/0");
		cfg.intel = intel;
		e = engine__new(&cfg, out);
	}
	if (e) {
		parsers_cfg__default(&pc);
		pc.tls.cert_roots = roots;
		pc.smtp.intel = pc.files.intel = pc.tls.intel = pc.tls.files.intel = intel;
		if (extract_dir) {
			pc.smtp.rfc822_msg_file = true;
			pc.files.sha256 = true;
			pc.files.extract_dir = extract_dir;
		}
		ps = parsers__register(e, &pc);
	}
	if (ps) {
		for (size_t i = 0; i < c->n; i++)
			engine__packet(e, &c->pkts[i]);
		engine__finish(e);
	}
	engine__free(e);
	parsers__free(ps);
	rec_out__free(out);
	notice__fini();
	return alloc_failures;
}

/* Files extracted whole or not at all: no temporary file left in the directory (emptied for
 * the next replay, which extracts the same names). */
static void clean_extracted(const char *name, int ok)
{
	DIR *d;
	struct dirent *de;

	if (!extract_dir)
		return;
	alloc_harness_enter();
	d = opendir(extract_dir);
	assert_non_null(d);
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (!strncmp(de->d_name, ".tmp-", 5))
			fail_msg("%s, allocation %d failing: %s left behind", name, ok, de->d_name);
		assert_int_equal(unlinkat(dirfd(d), de->d_name, 0), 0);
	}
	closedir(d);
	alloc_harness_leave();
}

/* One replay with allocation `ok` failing (-1: none); false once nothing failed. */
static bool replay_failing(const char *name, const struct capture *c, int ok, uint64_t *records)
{
	struct check_sink cs = {.base = {&cs_ops}};
	struct files_stats fs;
	long live0 = alloc_live, failed;

	alloc_failures = 0;
	alloc_ok = ok;
	failed = replay(c, &cs);
	alloc_ok = -1;
	if (alloc_live != live0)
		fail_msg("%s, allocation %d failing: %ld blocks not given back", name, ok,
			 alloc_live - live0);
	clean_extracted(name, ok);
	files__stats(&fs);
	if (fs.in_flight)
		fail_msg("%s, allocation %d failing: %llu files still open", name, ok,
			 (unsigned long long)fs.in_flight);
	*records = cs.records;
	return failed > 0;
}

/* min_allocs: what the replay takes at least (a check that the sweep ran through it). */
static void sweep(const char *rel, int min_allocs)
{
	struct capture c;
	uint64_t all, some, fewer = 0;
	int ok = 0;

	if (!load(rel, &c)) {
		print_message("skip: %s/%s not found\n", corpus_dir(), rel);
		return;
	}
	/* once without failures and without counting: what stays allocated after its first
	 * use (OpenSSL's providers and tables) is there before the sweep measures */
	{
		struct check_sink cs = {.base = {&cs_ops}};

		replay(&c, &cs);
		clean_extracted(rel, -1);
	}
	assert_false(replay_failing(rel, &c, -1, &all));
	assert_true(all > 0);
	while (replay_failing(rel, &c, ok, &some)) {
		if (some < all)
			fewer++;
		ok++;
	}
	assert_int_equal(some, all); /* the run without failures writes everything again */
	print_message("%s: %d allocations each failed in turn; %llu replays wrote fewer than "
		      "%llu records\n",
		      rel, ok, (unsigned long long)fewer, (unsigned long long)all);
	assert_true(ok >= min_allocs);
	assert_true(fewer > 0);
	unload(&c);
}
#else
static void sweep(const char *rel, int min_allocs)
{
	(void)rel, (void)min_allocs;
	print_message("allocation faults not available under a sanitizer\n");
}
#endif

static void test_smtp_attachments(void **st)
{
	(void)st;
	sweep("zeek/traces/smtp.pcap", 100);
}

static void test_bdat_gap(void **st)
{
	(void)st;
	sweep("zeek/traces/smtp/smtp-bdat-gap.pcap", 30);
}

static void test_bdat_chunks(void **st)
{
	(void)st;
	sweep("zeek/traces/smtp/rfc3030-bdat-multipart-chunked.pcap", 50);
	sweep("zeek/traces/smtp/smtp-bdat-pipeline-8bitmime.pcap", 50);
}

static void test_nested_message(void **st)
{
	(void)st;
	sweep("zeek/traces/smtp-attachment-msg.pcap", 30);
}

/* The same with whole-message files, SHA-256 and extraction to disk. */
static void test_extraction(void **st)
{
	char dir[] = "/tmp/mailtap-nomem-XXXXXX";

	(void)st;
	assert_non_null(mkdtemp(dir));
	extract_dir = dir;
	sweep("zeek/traces/smtp.pcap", 100);
	sweep("zeek/traces/smtp/smtp-bdat-gap.pcap", 30);
	extract_dir = NULL;
	assert_int_equal(rmdir(dir), 0);
}

static void test_starttls_certificates(void **st)
{
	(void)st;
	sweep("zeek/traces/tls/smtp-starttls.pcap", 100);
	/* again with chain validation (OpenSSL verifies the chain, and fails to find its
	 * issuer) and every address local (known_certs) */
	roots = certval_roots__load("/etc/ssl/certs/ca-certificates.crt");
	if (roots) {
		sweep("zeek/traces/tls/smtp-starttls.pcap", 100);
		certval_roots__free(roots);
		roots = NULL;
	}
}

/* With intelligence: every address in a subnet, the messages' URLs, envelope addresses,
 * the SNI and names of the certificates: intel records from connections, SMTP fields, URLs
 * found in the bodies, files and certificates. */
static void test_intel(void **st)
{
	static const char dat[] =
	    "#fields\tindicator\tindicator_type\tmeta.source\tmeta.do_notice\n"
	    "0.0.0.0/0\tIntel::SUBNET\tall\tT\n::/0\tIntel::SUBNET\tall\tF\n"
	    "www.w3.org/TR/REC-html40\tIntel::URL\tu\n"
	    "gurpartap@patriots.in\tIntel::EMAIL\te\nraj_deol2002in@yahoo.co.in\tIntel::EMAIL\te\n"
	    "NEWS.TXT\tIntel::FILE_NAME\tn\nmail.icir.org\tIntel::DOMAIN\td\n"
	    "Microsoft Office Outlook 12.0\tIntel::SOFTWARE\ts\n";
	FILE *fp = fmemopen((void *)dat, sizeof(dat) - 1, "r");
	char err[128];

	(void)st;
	assert_non_null(fp);
	intel = intel__new(NULL);
	assert_non_null(intel);
	assert_int_equal(intel__load_fp(intel, fp, "mem", NULL, err, sizeof(err)), 8);
	fclose(fp);
	sweep("zeek/traces/smtp.pcap", 100);
	sweep("zeek/traces/tls/smtp-starttls.pcap", 100);
	intel__free(intel);
	intel = NULL;
}

static void test_smtp_errors_465(void **st)
{
	(void)st;
	sweep("suricata-verify/smtp-errors/smtperr.pcap", 100);
}

/* Starting workers (their rings, fragment steering, engines, parsers and threads) with every
 * allocation failing in turn: no crash, ENOMEM, nothing left allocated; then they start and
 * analyse a capture as one engine does. */
static void test_workers_setup(void **st)
{
#ifdef HAVE_ALLOC_FAULTS
	struct check_sink cs = {.base = {&cs_ops}};
	struct engine_cfg cfg;
	struct parsers_cfg pc;
	struct capture c;
	struct rec_out *out;
	struct workers *ws;
	int ok = 0;

	(void)st;
	if (!load("zeek/traces/smtp.pcap", &c)) {
		print_message("skip: %s/zeek/traces/smtp.pcap not found\n", corpus_dir());
		return;
	}
	out = rec_out__new("mailtap");
	assert_non_null(out);
	assert_int_equal(rec_out__add_sink(out, &cs.base), 0);
	engine_cfg__default(&cfg);
	cfg.seeded = true;
	cfg.seed = 1;
	parsers_cfg__default(&pc);
	/* two threads started and joined first: glibc keeps their stacks, with the thread
	 * memory it allocated, for the next threads, which then allocate nothing */
	ws = workers__new(2, 2, &cfg, &pc, out, 1u << 16);
	assert_non_null(ws);
	workers__free(ws);
	for (;; ok++) {
		long live0 = alloc_live;

		alloc_failures = 0;
		alloc_ok = ok;
		errno = 0;
		ws = workers__new(2, 2, &cfg, &pc, out, 1u << 16);
		alloc_ok = -1;
		if (ws)
			break;
		if (errno != ENOMEM || !alloc_failures)
			fail_msg("workers__new, allocation %d failing: %s, %ld failed", ok,
				 strerror(errno), alloc_failures);
		if (alloc_live != live0)
			fail_msg("workers__new, allocation %d failing: %ld blocks not given back", ok,
				 alloc_live - live0);
	}
	print_message("workers__new: %d allocations each failed in turn\n", ok);
	assert_true(ok >= 10);
	for (size_t i = 0; i < c.n; i++)
		assert_int_equal(workers__packet_from(ws, 0, &c.pkts[i]), 0);
	workers__finish(ws);
	workers__free(ws);
	assert_true(cs.records > 0);
	rec_out__free(out);
	unload(&c);
#else
	(void)st;
	print_message("allocation faults not available under a sanitizer\n");
#endif
}

/* A test that failed mid-sweep left failures on: the next one starts clean. */
static int reset(void **st)
{
	(void)st;
#ifdef HAVE_ALLOC_FAULTS
	alloc_ok = -1;
	alloc_harness = 0;
#endif
	extract_dir = NULL; /* test_extraction failed before it cleared it */
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_smtp_attachments, reset),
	    cmocka_unit_test_setup(test_bdat_gap, reset),
	    cmocka_unit_test_setup(test_bdat_chunks, reset),
	    cmocka_unit_test_setup(test_nested_message, reset),
	    cmocka_unit_test_setup(test_extraction, reset),
	    cmocka_unit_test_setup(test_starttls_certificates, reset),
	    cmocka_unit_test_setup(test_smtp_errors_465, reset),
	    cmocka_unit_test_setup(test_intel, reset),
	    cmocka_unit_test_setup(test_workers_setup, reset),
	};

	log__set_level(LOG_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
