// SPDX-License-Identifier: BSD-3-Clause
/* smtp_blocklist: SMTP::blocklist_error_messages (each list, case-sensitive, the dyndns
 * wildcard), which replies count (a code of 400 or more, not 421), Blocklist_Blocked_Host
 * when the first address of the text is the originator's (else Blocklist_Error_Message),
 * and the notice's fields (sub the whole reply text) and suppression per originator. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include "mailtap/notice.h"
#include "mailtap/rec.h"
#include "mailtap/sink.h"
#include "mailtap/smtp_blocklist.h"
#include "last_record.h"

#define S 1000000000ULL

static bool m(const char *s)
{
	return smtp_blocklist__match(s, strlen(s));
}

static void test_match(void **st)
{
	(void)st;
	assert_true(m("5.7.1 Service unavailable; listed at https://www.spamhaus.org/query/ip"));
	assert_true(m("blocked, see http://www.spamcop.net/bl.shtml?192.0.2.1"));
	assert_true(m("rejected by b.barracudacentral.com/q.cgi"));
	assert_true(m("http://cbl.abuseat.org/lookup.cgi"));
	assert_true(m("uceprotect.net/en/rblcheck.php"));
	assert_true(m("see hostkarma.junkemailfilter.com/"));
	assert_true(m("x dyndns.com/services/spam"));	    /* dyndns\.com\/.*spam */
	assert_false(m("x spam then dyndns.com/services")); /* spam before it */
	assert_false(m("SPAMHAUS.ORG/ upper case"));	    /* Zeek's pattern is case-sensitive */
	assert_false(m("spamhaus.org without the slash"));
	assert_false(m("550 5.1.1 user unknown"));
	assert_false(m(""));
}

static bool reply(struct rec *r, const struct conn_id *id, uint64_t ts, unsigned code,
		  const char *msg)
{
	return smtp_blocklist__reply(r, ts, "Cxyz", id, code, msg, strlen(msg));
}

static void test_notices(void **st)
{
	struct notice_cfg c;
	struct rec_out *o = rec_out__new("t");
	struct rec *r;
	struct conn_id id = {.orig_p = 40000, .resp_p = 25};
	struct conn_id id2 = {.orig_p = 40001, .resp_p = 25};

	(void)st;
	assert_int_equal(mt_addr__parse(&id.orig_h, "192.0.2.10"), 0);
	assert_int_equal(mt_addr__parse(&id.resp_h, "198.51.100.25"), 0);
	id2.orig_h = id.resp_h; /* another originator */
	id2.resp_h = id.orig_h;
	rec_out__add_sink(o, &rec_sink);
	r = rec__new(o);
	notice_cfg__default(&c);
	assert_int_equal(notice__init(&c), 0);
	rec_count = 0;
	/* not errors, or 421: nothing */
	assert_false(reply(r, &id, 10 * S, 250, "ok, spamhaus.org/ says hello"));
	assert_false(reply(r, &id, 10 * S, 421, "4.7.0 try later, spamhaus.org/"));
	assert_false(reply(r, &id, 10 * S, 550, "5.1.1 no such user"));
	assert_int_equal(rec_count, 0);
	/* the originator's address first in the text: Blocked_Host */
	assert_true(reply(r, &id, 20 * S, 554,
			  "5.7.1 Service unavailable; Client host [192.0.2.10] blocked using "
			  "zen.spamhaus.org; https://www.spamhaus.org/query/ip/192.0.2.10"));
	assert_int_equal(rec_count, 1);
	assert_string_equal(rec_tag, "t.notice");
	assert_non_null(strstr(rec_last, "\"note\"=>\"SMTP::Blocklist_Blocked_Host\""));
	assert_non_null(strstr(rec_last, "\"msg\"=>\"192.0.2.10 is on an SMTP block list\""));
	assert_non_null(strstr(rec_last, "\"sub\"=>\"5.7.1 Service unavailable; Client host"));
	assert_non_null(strstr(rec_last, "\"uid\"=>\"Cxyz\""));
	assert_non_null(strstr(rec_last, "\"src\"=>\"192.0.2.10\""));
	/* the same note for the same originator within the hour: suppressed (identifier: the
	 * originator); another note is not */
	assert_true(reply(r, &id, 30 * S, 554, "5.7.1 [192.0.2.10] see spamhaus.org/sbl"));
	assert_int_equal(rec_count, 1);
	assert_true(reply(r, &id, 31 * S, 550, "listed at spamcop.net/bl"));
	assert_int_equal(rec_count, 2);
	assert_non_null(strstr(rec_last, "\"note\"=>\"SMTP::Blocklist_Error_Message\""));
	/* another originator, another address in the text: Error_Message */
	assert_true(reply(r, &id2, 40 * S, 550,
			  "5.7.1 203.0.113.7 listed, see http://www.spamcop.net/bl.shtml"));
	assert_int_equal(rec_count, 3);
	assert_non_null(strstr(rec_last, "\"note\"=>\"SMTP::Blocklist_Error_Message\""));
	assert_non_null(strstr(
	    rec_last,
	    "\"msg\"=>\"198.51.100.25 received an error message mentioning an SMTP block list\""));
	/* $sub=msg: the whole text, however long, a NUL in it written \x00 */
	{
		char text[1500], want[1600];
		struct conn_id id3 = id;

		mt_addr__parse(&id3.orig_h, "192.0.2.77");
		memset(text, 'z', sizeof(text));
		memcpy(text, "5.7.1 see spamhaus.org/ ", 24);
		memcpy(text + sizeof(text) - 4, "\0end", 4);
		assert_true(
		    smtp_blocklist__reply(r, 50 * S, "Cxyz", &id3, 550, text, sizeof(text)));
		assert_int_equal(rec_count, 4);
		snprintf(want, sizeof(want), "\"sub\"=>\"%.*s\\x00end\"", (int)sizeof(text) - 4,
			 text);
		assert_non_null(strstr(rec_last, want));
	}
	notice__fini();
	rec__free(r);
	rec_out__free(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_match),
	    cmocka_unit_test(test_notices),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
