/* SPDX-License-Identifier: BSD-3-Clause */
/* What a sink is handed for one record must be exactly one msgpack map, nothing after it: the
 * check of the test sinks of test_no_memory and fuzz_pipeline. */
#ifndef MAILTAP_TEST_RECORD_CHECK_H
#define MAILTAP_TEST_RECORD_CHECK_H

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

static inline bool record_is_one_map(const uint8_t *map, size_t len)
{
	msgpack_unpacked u;
	size_t off = 0;
	bool ok;

	msgpack_unpacked_init(&u);
	ok = msgpack_unpack_next(&u, (const char *)map, len, &off) == MSGPACK_UNPACK_SUCCESS &&
	     u.data.type == MSGPACK_OBJECT_MAP && off == len;
	msgpack_unpacked_destroy(&u);
	return ok;
}

#endif
