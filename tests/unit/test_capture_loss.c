// SPDX-License-Identifier: BSD-3-Clause
/* capture_loss: the schedule in network time (the first packet starts the clock, the first
 * measurement initial_ns later, then every interval_ns), the record's values (counts since
 * the last measurement, the share lost), CaptureLoss::Too_Much_Loss from too_much percent on
 * and CaptureLoss::Too_Little_Traffic without ACKs; interval 0: never due. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include "mailtap/capture_loss.h"
#include "mailtap/notice.h"
#include "mailtap/rec.h"
#include "mailtap/sink.h"
#include "last_record.h"

#define S 1000000000ULL

static void test_schedule_and_records(void **st)
{
	struct capture_loss_cfg c;
	struct capture_loss cl;
	struct notice_cfg nc;
	struct rec_out *o = rec_out__new("t");
	struct rec *r;

	(void)st;
	rec_out__add_sink(o, &rec_sink);
	r = rec__new(o);
	notice_cfg__default(&nc);
	nc.suppress_ns = 0; /* every notice written */
	assert_int_equal(notice__init(&nc), 0);
	capture_loss_cfg__default(&c);
	capture_loss__init(&cl, &c);
	rec_count = 0;
	assert_true(capture_loss__due(&cl, 1000 * S));	 /* the first packet */
	assert_false(capture_loss__tick(&cl, 1000 * S)); /* starts the clock */
	assert_false(capture_loss__due(&cl, 1059 * S));
	assert_true(capture_loss__due(&cl, 1060 * S));
	assert_true(capture_loss__tick(&cl, 1060 * S));
	capture_loss__measure(&cl, r, 1060 * S, 200, 10); /* 5%: no notice */
	assert_int_equal(rec_count, 1);
	assert_string_equal(rec_tag, "t.capture_loss");
	assert_non_null(strstr(rec_last, "\"ts_delta\"=>60.0"));
	assert_non_null(strstr(rec_last, "\"gaps\"=>10, \"acks\"=>200, \"percent_lost\"=>5.0"));
	/* the next one 900 s later; counts since the last measurement */
	assert_false(capture_loss__due(&cl, 1959 * S));
	assert_true(capture_loss__tick(&cl, 1960 * S));
	capture_loss__measure(&cl, r, 1960 * S, 300, 30); /* 100 ACKs, 20 gaps: 20% */
	assert_int_equal(rec_count, 3);
	assert_non_null(strstr(rec_last, "\"note\"=>\"CaptureLoss::Too_Much_Loss\""));
	assert_non_null(strstr(rec_last, "estimated loss rate above 20.000%"));
	/* no ACK: 0%, Too_Little_Traffic */
	assert_true(capture_loss__tick(&cl, 2860 * S));
	capture_loss__measure(&cl, r, 2860 * S, 300, 30);
	assert_int_equal(rec_count, 5);
	assert_non_null(strstr(rec_last, "\"note\"=>\"CaptureLoss::Too_Little_Traffic\""));
	/* off */
	c.interval_ns = 0;
	capture_loss__init(&cl, &c);
	assert_false(capture_loss__due(&cl, 1000 * S));
	assert_false(capture_loss__tick(&cl, 1000 * S));
	notice__fini();
	rec__free(r);
	rec_out__free(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_schedule_and_records),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
