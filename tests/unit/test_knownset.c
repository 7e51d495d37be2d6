// SPDX-License-Identifier: BSD-3-Clause
/* knownset: keys that stay a fixed time after they were added (Zeek's &create_expire, as in
 * Known::certs): new once, not again within the time however often seen, new again after it;
 * the oldest forgotten first when full; time going back expires nothing. */
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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_expiry_and_bound),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
