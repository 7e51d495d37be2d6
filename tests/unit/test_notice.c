// SPDX-License-Identifier: BSD-3-Clause
/* notice: Zeek's NOTICE() suppression (the same note and identifier not logged again within
 * the interval, logged again after it; other notes and identifiers apart; no identifier:
 * never suppressed; interval 0: nothing suppressed; the table's bound) and the record's
 * Notice::Info fields (peer_descr only with a node name; msg and sub whole, with lengths). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <msgpack.h>
#include "mailtap/notice.h"
#include "mailtap/rec.h"
#include "mailtap/sink.h"
#include "last_record.h"

#define S 1000000000ULL


static bool raise_at(struct rec *r, const char *note, const char *ident, uint64_t ts)
{
	struct notice_info n = {.ts_ns = ts,
				.note = note,
				.msg = "m",
				.identifier = ident,
				.identifier_len = ident ? strlen(ident) : 0};

	return notice__raise(r, &n);
}

static void test_suppression(void **st)
{
	struct notice_cfg c;
	struct notice_stats s0, s1;
	struct rec_out *o = rec_out__new("t");
	struct rec *r;

	(void)st;
	rec_out__add_sink(o, &rec_sink);
	r = rec__new(o);
	notice_cfg__default(&c);
	assert_int_equal(notice__init(&c), 0);
	notice__stats(&s0);
	assert_true(raise_at(r, "A::X", "id1", 100 * S));
	assert_false(raise_at(r, "A::X", "id1", 200 * S));
	assert_true(raise_at(r, "A::Y", "id1", 200 * S)); /* another note */
	assert_true(raise_at(r, "A::X", "id2", 200 * S)); /* another identifier */
	assert_true(raise_at(r, "A::X", NULL, 200 * S));  /* no identifier: never suppressed */
	assert_true(raise_at(r, "A::X", NULL, 200 * S));
	assert_false(raise_at(r, "A::X", "id1", 3699 * S));
	assert_true(raise_at(r, "A::X", "id1", 3700 * S)); /* an hour after the first */
	notice__stats(&s1);
	assert_int_equal(s1.raised - s0.raised, 6);
	assert_int_equal(s1.suppressed - s0.suppressed, 2);
	/* interval 0: every notice */
	c.suppress_ns = 0;
	assert_int_equal(notice__init(&c), 0);
	assert_true(raise_at(r, "A::X", "id1", 100 * S));
	assert_true(raise_at(r, "A::X", "id1", 100 * S));
	/* a bound of 2: the oldest identifier is forgotten */
	notice_cfg__default(&c);
	c.max_suppressed = 2;
	assert_int_equal(notice__init(&c), 0);
	assert_true(raise_at(r, "A::X", "a", 10 * S));
	assert_true(raise_at(r, "A::X", "b", 10 * S));
	assert_true(raise_at(r, "A::X", "c", 10 * S));
	assert_true(raise_at(r, "A::X", "a", 11 * S));
	assert_false(raise_at(r, "A::X", "c", 11 * S));
	/* off: nothing */
	c.enabled = false;
	assert_int_equal(notice__init(&c), 0);
	assert_false(raise_at(r, "A::X", "z", 10 * S));
	notice__fini();
	rec__free(r);
	rec_out__free(o);
}

static void test_record(void **st)
{
	struct notice_cfg c;
	struct rec_out *o = rec_out__new("t");
	struct conn_id id = {.orig_p = 40000, .resp_p = 465};
	struct notice_info n = {.ts_ns = 1500000000ULL * S,
				.note = "SSL::Invalid_Server_Cert",
				.msg = "SSL certificate validation failed with (x)",
				.sub = "CN=a",
				.uid = "Cabc",
				.id = &id,
				.fuid = "Fxyz"};
	struct rec *r;

	(void)st;
	assert_int_equal(mt_addr__parse(&id.orig_h, "192.0.2.1"), 0);
	assert_int_equal(mt_addr__parse(&id.resp_h, "198.51.100.2"), 0);
	rec_out__add_sink(o, &rec_sink);
	r = rec__new(o);
	notice_cfg__default(&c);
	assert_int_equal(notice__init(&c), 0);
	rec_count = 0;
	assert_true(notice__raise(r, &n));
	assert_int_equal(rec_count, 1);
	static const char *const want[] = {"\"note\"=>\"SSL::Invalid_Server_Cert\"",
					   "\"sub\"=>\"CN=a\"",
					   "\"uid\"=>\"Cabc\"",
					   "\"fuid\"=>\"Fxyz\"",
					   "\"proto\"=>\"tcp\"",
					   "\"src\"=>\"192.0.2.1\"",
					   "\"dst\"=>\"198.51.100.2\"",
					   "\"p\"=>465",
					   "\"actions\"=>[\"Notice::ACTION_LOG\"]",
					   "\"email_dest\"=>[]",
					   "\"suppress_for\"=>3600",
					   "\"id.resp_p\"=>465"};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		if (!strstr(rec_last, want[i]))
			fail_msg("%s not in %s", want[i], rec_last);
	/* peer_descr: unset, as a standalone Zeek's (notice/main.zeek sets it only in a
	 * cluster); the node name when one was given */
	assert_null(strstr(rec_last, "peer_descr"));
	c.peer_descr = "mx-sensor-2";
	assert_int_equal(notice__init(&c), 0);
	assert_true(notice__raise(r, &n));
	assert_non_null(strstr(rec_last, "\"peer_descr\"=>\"mx-sensor-2\""));
	notice__fini();
	rec__free(r);
	rec_out__free(o);
}

/* msg and sub with their lengths: whole, past a NUL (written \x00) and past any length of
 * their own (1500 bytes here; the record cuts only at Zeek's logging limit). */
static void test_lengths(void **st)
{
	struct notice_cfg c;
	struct rec_out *o = rec_out__new("t");
	char sub[1500], want[1600];
	struct notice_info n = {.ts_ns = 1500000000ULL * S,
				.note = "A::X",
				.msg = "a\0b",
				.msg_len = 3,
				.sub = sub,
				.sub_len = sizeof(sub)};
	struct rec *r;

	(void)st;
	memset(sub, 'y', sizeof(sub));
	memcpy(sub + sizeof(sub) - 5, "\0tail", 5);
	rec_out__add_sink(o, &rec_sink);
	r = rec__new(o);
	notice_cfg__default(&c);
	assert_int_equal(notice__init(&c), 0);
	assert_true(notice__raise(r, &n));
	assert_non_null(strstr(rec_last, "\"msg\"=>\"a\\x00b\""));
	snprintf(want, sizeof(want), "\"sub\"=>\"%.*s\\x00tail\"", (int)sizeof(sub) - 5, sub);
	assert_non_null(strstr(rec_last, want));
	/* 0: up to the NUL, as before */
	n.msg = "plain";
	n.msg_len = 0;
	n.sub = "";
	n.sub_len = 0;
	assert_true(notice__raise(r, &n));
	assert_non_null(strstr(rec_last, "\"msg\"=>\"plain\", \"sub\"=>\"\""));
	notice__fini();
	rec__free(r);
	rec_out__free(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_suppression),
	    cmocka_unit_test(test_record),
	    cmocka_unit_test(test_lengths),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
