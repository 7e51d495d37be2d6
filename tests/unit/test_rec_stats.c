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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
