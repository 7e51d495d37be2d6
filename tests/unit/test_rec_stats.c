// SPDX-License-Identifier: BSD-3-Clause
/* The stats record's Zeek fields: `mem` is Zeek's get_proc_stats()$mem / 1048576
 * (policy/misc/stats.zeek): the peak resident set (getrusage's ru_maxrss, util.cc
 * get_memory_usage) in MiB, not MB; counts since the previous record. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include <sys/resource.h>
#include "mailtap/rec.h"
#include "mailtap/rec_stats.h"
#include "mailtap/sink.h"
#include "last_record.h"

static void test_mem_mib(void **st)
{
	struct rec_out *o = rec_out__new("t");
	struct engine_stats es;
	struct stats_prev prev;
	struct stats_sources s;
	struct rec *r;

	(void)st;
	rec_out__add_sink(o, &rec_sink);
	r = rec__new(o);
	memset(&es, 0, sizeof(es));
	memset(&prev, 0, sizeof(prev));
	memset(&s, 0, sizeof(s));
	s.es = &es;
	s.mem_bytes = 100ULL * 1048576; /* 100 MiB: 104 in MB */
	es.decode.packets = 7;
	rec_stats__write(r, 1000000000ULL, &s, &prev);
	assert_string_equal(rec_tag, "t.stats");
	assert_non_null(strstr(rec_last, "\"mem\"=>100, \"pkts_proc\"=>7,"));
	s.mem_bytes = 1048575; /* below 1 MiB: 0, as Zeek's count division */
	es.decode.packets = 10;
	rec_stats__write(r, 2000000000ULL, &s, &prev);
	assert_non_null(strstr(rec_last, "\"mem\"=>0, \"pkts_proc\"=>3,"));
	rec__free(r);
	rec_out__free(o);
}

/* Host mode: Zeek's pkts_dropped is the matched packets the programs could not copy (ring
 * buffer full, bytes unreadable) and pkts_link what the hooks saw, since the previous record;
 * the host counters follow. Before, a host-mode record had no drop counter at all. */
static void test_host_drops(void **st)
{
	struct rec_out *o = rec_out__new("t");
	struct engine_stats es;
	struct hostcap_stats hs;
	struct stats_prev prev;
	struct stats_sources s;
	struct rec *r;

	(void)st;
	rec_out__add_sink(o, &rec_sink);
	r = rec__new(o);
	memset(&es, 0, sizeof(es));
	memset(&hs, 0, sizeof(hs));
	memset(&prev, 0, sizeof(prev));
	memset(&s, 0, sizeof(s));
	s.es = &es;
	s.hs = &hs;
	s.live = true;
	hs.bpf[MAILTAP_HOST_STAT_SEEN] = 100;
	hs.bpf[MAILTAP_HOST_STAT_MATCHED] = 60;
	hs.bpf[MAILTAP_HOST_STAT_COPIED] = 50;
	hs.bpf[MAILTAP_HOST_STAT_RB_FULL] = 7;
	hs.bpf[MAILTAP_HOST_STAT_LOAD_ERR] = 3;
	hs.delivered = 50;
	rec_stats__write(r, 1000000000ULL, &s, &prev);
	assert_non_null(strstr(rec_last, "\"pkts_dropped\"=>10, \"pkts_link\"=>100,"));
	assert_non_null(strstr(rec_last, "\"pkts_dropped_total\"=>10, \"pkts_link_total\"=>100,"));
	assert_non_null(strstr(rec_last, "\"host_rb_full\"=>7, \"host_load_err\"=>3,"));
	assert_non_null(strstr(rec_last, "\"host_delivered\"=>50,"));
	assert_null(strstr(rec_last, "xsk_"));
	hs.bpf[MAILTAP_HOST_STAT_SEEN] = 130;
	hs.bpf[MAILTAP_HOST_STAT_RB_FULL] = 12;
	rec_stats__write(r, 2000000000ULL, &s, &prev);
	assert_non_null(strstr(rec_last, "\"pkts_dropped\"=>5, \"pkts_link\"=>30,"));
	assert_non_null(strstr(rec_last, "\"pkts_dropped_total\"=>15, \"pkts_link_total\"=>130,"));
	/* offline: neither */
	s.hs = NULL;
	s.live = false;
	rec_stats__write(r, 3000000000ULL, &s, &prev);
	assert_null(strstr(rec_last, "pkts_dropped"));
	assert_null(strstr(rec_last, "host_"));
	rec__free(r);
	rec_out__free(o);
}

/* What main passes as mem_bytes: the peak resident set, as Zeek's get_memory_usage. */
static void test_peak_resident(void **st)
{
	struct rusage ru;
	uint64_t peak = rec_stats__peak_resident_bytes();

	(void)st;
	assert_int_equal(getrusage(RUSAGE_SELF, &ru), 0);
	assert_true(peak > 0);
	assert_true(peak <= (uint64_t)ru.ru_maxrss * 1024);
	assert_true(peak % 1024 == 0); /* kilobytes, as the kernel keeps it */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_mem_mib),
	    cmocka_unit_test(test_peak_resident),
	    cmocka_unit_test(test_host_drops),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
