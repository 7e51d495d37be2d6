// SPDX-License-Identifier: BSD-3-Clause
/* known_services: the commit logs only the services a (host, port) did not have yet, all of
 * them again once the (host, port) entry expired, a day after it was made; the five-minute
 * queue commits an entry when its time comes (not before), all of them at the end, and its
 * oldest at once when it is full; the records' Known::ServicesInfo fields. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <msgpack.h>
#include "mailtap/known_services.h"
#include "mailtap/knownset.h"
#include "mailtap/rec.h"
#include "mailtap/sink.h"
#include "last_record.h"

#define S 1000000000ULL


static struct mt_addr v4(uint8_t last_octet)
{
	struct mt_addr a = {.b = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, last_octet}};

	return a;
}

static void test_commit(void **st)
{
	struct rec_out *o = rec_out__new("t");
	struct rec *r;
	struct knownset *set = knownset__new(100, 86400 * S, 0);
	struct mt_addr h1 = v4(1), h2 = v4(2);
	const char *smtp[] = {"SMTP"}, *ssl[] = {"SSL"}, *both[] = {"SMTP", "SSL"}, *none[] = {""};

	(void)st;
	rec_out__add_sink(o, &rec_sink);
	r = rec__new(o);
	rec_count = 0;
	assert_true(known_services__commit(set, r, 100 * S, &h1, 587, smtp, 1));
	assert_string_equal(rec_tag, "t.known_services");
	assert_non_null(strstr(rec_last, "\"host\"=>\"10.0.0.1\""));
	assert_non_null(strstr(rec_last, "\"port_num\"=>587"));
	assert_non_null(strstr(rec_last, "\"port_proto\"=>\"tcp\""));
	assert_non_null(strstr(rec_last, "\"service\"=>[\"SMTP\"]"));
	/* the same again: nothing; SMTP and SSL: only SSL is new */
	assert_false(known_services__commit(set, r, 101 * S, &h1, 587, smtp, 1));
	assert_true(known_services__commit(set, r, 102 * S, &h1, 587, both, 2));
	assert_non_null(strstr(rec_last, "\"service\"=>[\"SSL\"]"));
	assert_false(known_services__commit(set, r, 103 * S, &h1, 587, both, 2));
	/* another port, another host: new */
	assert_true(known_services__commit(set, r, 104 * S, &h1, 25, ssl, 1));
	assert_true(known_services__commit(set, r, 104 * S, &h2, 587, both, 2));
	assert_non_null(strstr(rec_last, "\"service\"=>[\"SMTP\", \"SSL\"]"));
	/* the empty service is one of its own */
	assert_true(known_services__commit(set, r, 105 * S, &h1, 587, none, 1));
	assert_non_null(strstr(rec_last, "\"service\"=>[\"\"]"));
	assert_false(known_services__commit(set, r, 106 * S, &h1, 587, none, 1));
	/* the (host, port) entry made at 100 s expires as a whole a day later (Known::services,
	 * &create_expire=1day): SSL, added at 102 s, and "" go with SMTP */
	assert_false(known_services__commit(set, r, (100 + 86399) * S, &h1, 587, both, 2));
	assert_true(known_services__commit(set, r, (100 + 86400) * S, &h1, 587, both, 2));
	assert_non_null(strstr(rec_last, "\"service\"=>[\"SMTP\", \"SSL\"]"));
	assert_true(known_services__commit(set, r, (100 + 86401) * S, &h1, 587, none, 1));
	assert_int_equal(rec_count, 7);
	/* the review's case: SMTP at T0, SSL at T0 + 20 h, then at T0 + 25 h both again (the
	 * entry made at T0 expired, SSL with it), each at its confirmation */
	assert_true(known_services__commit(set, r, 1000000 * S, &h2, 25, smtp, 1));
	assert_true(known_services__commit(set, r, (1000000 + 20 * 3600) * S, &h2, 25, ssl, 1));
	assert_true(known_services__commit(set, r, (1000000 + 25 * 3600) * S, &h2, 25, smtp, 1));
	assert_true(
	    known_services__commit(set, r, (1000000 + 25 * 3600 + 1) * S, &h2, 25, both, 2));
	assert_non_null(strstr(rec_last, "\"service\"=>[\"SSL\"]"));
	assert_false(known_services__commit(set, r, (1000000 + 44 * 3600) * S, &h2, 25, both, 2));
	assert_int_equal(rec_count, 11);
	rec__free(r);
	rec_out__free(o);
	knownset__free(set);
}

static void test_queue(void **st)
{
	struct rec_out *o = rec_out__new("t");
	struct rec *r;
	struct knownset *set = knownset__new(100000, 86400 * S, 0);
	struct known_services_queue *q = known_services_queue__new();
	struct mt_addr h1 = v4(1), h2 = v4(2);

	(void)st;
	rec_out__add_sink(o, &rec_sink);
	r = rec__new(o);
	rec_count = 0;
	assert_int_equal(known_services_queue__next(q), UINT64_MAX);
	assert_int_equal(known_services_queue__defer(q, set, r, 10 * S, &h1, 25), 0);
	assert_int_equal(known_services_queue__defer(q, set, r, 20 * S, &h2, 25), 0);
	assert_int_equal(known_services_queue__defer(q, set, r, 30 * S, &h1, 25), 0);
	assert_int_equal(known_services_queue__next(q), 310 * S);
	/* not before its time */
	assert_int_equal(known_services_queue__run(q, set, r, 309 * S, false), 0);
	assert_int_equal(rec_count, 0);
	assert_int_equal(known_services_queue__run(q, set, r, 310 * S, false), 1);
	assert_non_null(strstr(rec_last, "\"ts\"=>10.0")); /* stamped when it was deferred */
	assert_non_null(strstr(rec_last, "\"host\"=>\"10.0.0.1\""));
	assert_int_equal(known_services_queue__next(q), 320 * S);
	/* the end of input: the rest, h1 a second time known already */
	assert_int_equal(known_services_queue__run(q, set, r, 100 * S, true), 1);
	assert_non_null(strstr(rec_last, "\"host\"=>\"10.0.0.2\""));
	assert_int_equal(known_services_queue__next(q), UINT64_MAX);
	assert_int_equal(rec_count, 2);

	/* full: the oldest is committed at once, nothing is lost */
	rec_count = 0;
	for (unsigned i = 0; i < KNOWN_SERVICES_QUEUE_MAX; i++)
		assert_int_equal(
		    known_services_queue__defer(q, set, r, 1000 * S, &h1, (uint16_t)(i + 1000)), 0);
	assert_int_equal(rec_count, 0);
	assert_int_equal(known_services_queue__defer(q, set, r, 1001 * S, &h2, 9), 1);
	assert_non_null(strstr(rec_last, "\"port_num\"=>1000"));
	assert_int_equal(known_services_queue__run(q, set, r, 0, true), KNOWN_SERVICES_QUEUE_MAX);
	assert_non_null(strstr(rec_last, "\"port_num\"=>9"));
	assert_int_equal(rec_count, KNOWN_SERVICES_QUEUE_MAX + 1);
	known_services_queue__free(q);
	rec__free(r);
	rec_out__free(o);
	knownset__free(set);
}

/* The scheduled commit (service_info_commit five minutes on) checks and adds to
 * Known::services at its own network time, not at the ts the record carries (the removal):
 * an entry that ran out in between is made anew then, and its day runs from then. */
static void test_queue_commit_time(void **st)
{
	struct rec_out *o = rec_out__new("t");
	struct rec *r;
	struct knownset *set = knownset__new(100, 1000 * S, 0); /* a "day" of 1000 s */
	struct known_services_queue *q = known_services_queue__new();
	struct mt_addr h1 = v4(1);
	const char *smtp[] = {"SMTP"};

	(void)st;
	rec_out__add_sink(o, &rec_sink);
	r = rec__new(o);
	rec_count = 0;
	assert_true(known_services__commit(set, r, 100 * S, &h1, 25, smtp, 1)); /* entry at 100 */
	/* removal at 1050, committed at 1350: the entry of 100 ran out at 1100, a new one
	 * holds "" from 1350 on */
	assert_int_equal(known_services_queue__defer(q, set, r, 1050 * S, &h1, 25), 0);
	assert_int_equal(known_services_queue__run(q, set, r, 1350 * S, false), 1);
	assert_non_null(strstr(rec_last, "\"ts\"=>1050.0"));
	assert_non_null(strstr(rec_last, "\"service\"=>[\"\"]"));
	/* SMTP at 1400: new in the entry of 1350 */
	assert_true(known_services__commit(set, r, 1400 * S, &h1, 25, smtp, 1));
	/* "" again (removal at 1500, commit at 1800): the entry of 1350 has it */
	assert_int_equal(known_services_queue__defer(q, set, r, 1500 * S, &h1, 25), 0);
	assert_int_equal(known_services_queue__run(q, set, r, 1800 * S, false), 0);
	/* the end of input runs what is left at the end's time: the entry of 1350 ran out at
	 * 2350, so "" is new at 2400 */
	assert_int_equal(known_services_queue__defer(q, set, r, 2300 * S, &h1, 25), 0);
	assert_int_equal(known_services_queue__run(q, set, r, 2400 * S, true), 1);
	assert_int_equal(rec_count, 4);
	known_services_queue__free(q);
	rec__free(r);
	rec_out__free(o);
	knownset__free(set);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_commit),
	    cmocka_unit_test(test_queue),
	    cmocka_unit_test(test_queue_commit_time),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
