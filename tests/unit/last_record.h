/* SPDX-License-Identifier: BSD-3-Clause */
/* A test sink that keeps the last record it was handed, as msgpack-c prints it
 * ({"ts"=>1.000000, "host"=>"10.0.0.1", ...}: a record has no _path, its tag says the
 * stream), with its tag, and counts the records: for tests that look at what one call
 * wrote. Each record must be one msgpack object. */
#ifndef MAILTAP_TEST_LAST_RECORD_H
#define MAILTAP_TEST_LAST_RECORD_H

#include <msgpack.h>
#include <stdio.h>
#include "mailtap/sink.h"

static char rec_last[4096], rec_tag[64];
static unsigned rec_count;

static int rec_last_write(struct sink *s, const char *tag, size_t tl, uint64_t ts,
			  const uint8_t *b, size_t n)
{
	msgpack_unpacked u;
	size_t off = 0;

	(void)s, (void)ts;
	snprintf(rec_tag, sizeof(rec_tag), "%.*s", (int)tl, tag);
	msgpack_unpacked_init(&u);
	assert_int_equal(msgpack_unpack_next(&u, (const char *)b, n, &off), MSGPACK_UNPACK_SUCCESS);
	msgpack_object_print_buffer(rec_last, sizeof(rec_last), u.data);
	msgpack_unpacked_destroy(&u);
	rec_count++;
	return 0;
}

static int rec_last_flush(struct sink *s)
{
	(void)s;
	return 0;
}

static const struct sink_ops rec_last_ops = {
    .name = "last", .write = rec_last_write, .flush = rec_last_flush, .close = rec_last_flush};
static struct sink rec_sink = {.ops = &rec_last_ops};

#endif
