// SPDX-License-Identifier: BSD-3-Clause
/* knownset: keys that stay a fixed time after they were added (Zeek's &create_expire, as in
 * Known::certs): new once, not again within the time however often seen, new again after it;
 * the oldest forgotten first when full; time going back expires nothing; a key from the
 * future holds back no other's expiry; a key's flags (add_bits) expire with it. */
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include "mailtap/knownset.h"

#define S 1000000000ULL

static void test_expiry_and_bound(void **st)
{
	struct knownset *s = knownset__new(2, 100 * S, 0);

	(void)st;
	assert_non_null(s);
	assert_true(knownset__add(s, "a", 1, 10 * S));
	assert_false(knownset__add(s, "a", 1, 50 * S));
	assert_false(knownset__add(s, "a", 1, 109 * S)); /* seen at 50 s: still made at 10 s */
	assert_true(knownset__contains(s, "a", 1, 109 * S));
	assert_true(knownset__add(s, "a", 1, 110 * S));	 /* 100 s after it was made */
	assert_false(knownset__add(s, "a", 1, 5 * S));	 /* time went back: nothing expires */
	assert_true(knownset__add(s, "ab", 2, 120 * S)); /* keys differ by length too */
	assert_int_equal(knownset__evicted(s), 0);
	assert_true(knownset__add(s, "c", 1, 130 * S)); /* full: "a" (the oldest) goes */
	assert_int_equal(knownset__evicted(s), 1);
	assert_false(knownset__contains(s, "a", 1, 130 * S));
	assert_true(knownset__contains(s, "ab", 2, 130 * S));
	/* many keys: the table grows, every one found */
	knownset__free(s);
	s = knownset__new(5000, 100 * S, sizeof(uint32_t));
	for (uint32_t i = 0; i < 5000; i++)
		assert_true(knownset__add(s, &i, sizeof(i), 200 * S));
	for (uint32_t i = 0; i < 5000; i++) {
		bool is_new;
		uint32_t *v = knownset__get(s, &i, sizeof(i), 201 * S, &is_new);

		assert_non_null(v);
		assert_false(is_new);
		assert_int_equal(*v, 0); /* zeroed when made */
		*v = i + 1;
	}
	for (uint32_t i = 0; i < 5000; i++) {
		bool is_new;

		assert_int_equal(*(uint32_t *)knownset__get(s, &i, sizeof(i), 202 * S, &is_new),
				 i + 1);
	}
	assert_int_equal(knownset__count(s), 5000);
	assert_int_equal(knownset__evicted(s), 0);
	knownset__free(s);
}

/* A key stamped in the future (a packet from 2033 among ones from 2023) holds back the expiry
 * of none made after it: each expires on its own, as in Zeek, the future one at its own time;
 * a packet from the past (1970) expires nothing. */
static void test_future_key(void **st)
{
	const uint64_t day = 86400 * S, t = 1700000000ULL * S;
	struct knownset *s = knownset__new(100, day, sizeof(uint32_t));
	bool is_new;

	(void)st;
	assert_true(knownset__add(s, "future", 6, 2000000000ULL * S));
	assert_true(knownset__add(s, "hostB", 5, t));
	assert_true(knownset__add(s, "hostC", 5, t + 1 * S));
	*(uint32_t *)knownset__get(s, "hostC", 5, t + 2 * S, &is_new) = 7;
	assert_false(is_new);
	assert_false(knownset__add(s, "hostB", 5, t + day - 1));
	assert_false(knownset__add(s, "hostB", 5, 1 * S));  /* 1970: nothing expires */
	assert_true(knownset__add(s, "hostB", 5, t + day)); /* a day on: new again */
	assert_false(knownset__contains(s, "hostC", 5, t + 10 * day));
	assert_int_equal(*(uint32_t *)knownset__get(s, "hostC", 5, t + 10 * day, &is_new), 0);
	assert_true(is_new); /* made again: its value zeroed */
	assert_true(knownset__add(s, "hostB", 5, t + 10 * day));
	assert_false(knownset__add(s, "future", 6, t + 10 * day)); /* not before 2033 + 1 day */
	assert_int_equal(knownset__count(s), 3);
	assert_int_equal(knownset__evicted(s), 0);
	knownset__free(s);
	/* the expired keys behind it are freed once it goes: a bound of 3 forgets it first */
	s = knownset__new(3, 100 * S, 0);
	assert_true(knownset__add(s, "F", 1, 5000 * S));
	for (uint32_t i = 0; i < 50; i++) {
		assert_true(knownset__add(s, "x", 1, (1000 + 100 * i) * S));
		assert_false(knownset__add(s, "x", 1, (1099 + 100 * i) * S));
	}
	assert_int_equal(knownset__evicted(s), 1); /* "F" */
	assert_int_equal(knownset__count(s), 1);
	knownset__free(s);
}

/* add_bits: a key's flags expire with it, as a whole (Known::services, a table of sets with
 * &create_expire): a flag added late goes when the key does. */
static void test_bits(void **st)
{
	struct knownset *s = knownset__new(2, 100 * S, 0);

	(void)st;
	assert_int_equal(knownset__add_bits(s, "hp", 2, 10 * S, 1), 1);
	assert_int_equal(knownset__add_bits(s, "hp", 2, 20 * S, 1), 0);
	assert_int_equal(knownset__add_bits(s, "hp", 2, 80 * S, 3), 2); /* bit 2 new */
	assert_int_equal(knownset__add_bits(s, "hp", 2, 109 * S, 3), 0);
	/* made at 10 s: at 110 s gone with both bits */
	assert_int_equal(knownset__add_bits(s, "hp", 2, 110 * S, 2), 2);
	assert_int_equal(knownset__add_bits(s, "hp", 2, 111 * S, 3), 1);
	assert_true(knownset__contains(s, "hp", 2, 111 * S));
	assert_false(knownset__add(s, "hp", 2, 112 * S));
	assert_int_equal(knownset__add_bits(s, "q", 1, 112 * S, 4), 4);
	assert_int_equal(knownset__add_bits(s, "r", 1, 113 * S, 4), 4); /* full: "hp" goes */
	assert_int_equal(knownset__add_bits(s, "hp", 2, 114 * S, 1), 1);
	assert_int_equal(knownset__evicted(s), 2);
	knownset__free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_expiry_and_bound),
	    cmocka_unit_test(test_future_key),
	    cmocka_unit_test(test_bits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
