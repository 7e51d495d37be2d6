// SPDX-License-Identifier: BSD-3-Clause
/* Fragment reassembly: every order of the fragments of a datagram gives the datagram back;
 * overlaps keep the first bytes; limits and timeouts drop and count. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>
#include "mailtap/frag.h"
#include "frames.h"

/* An IPv4 TCP fragment of datagram `id` with payload bytes [off, off+len) of `pl`. */
static size_t v4frag(uint8_t *b, uint16_t id, const uint8_t *pl, uint32_t off, uint32_t len,
		     int more)
{
	return fr_v4frag(b, id, 6, pl, off, len, more);
}

static bool has(const struct frag_weirds *w, const char *name)
{
	for (unsigned i = 0; i < w->n; i++)
		if (!strcmp(w->name[i], name))
			return true;
	return false;
}

static void test_all_orders(void **st)
{
	uint8_t pl[96], b[200];
	int orders[6][3] = { { 0, 1, 2 }, { 0, 2, 1 }, { 1, 0, 2 }, { 1, 2, 0 }, { 2, 0, 1 }, { 2, 1, 0 } };
	struct frag_limits l;

	(void)st;
	for (int i = 0; i < 96; i++)
		pl[i] = (uint8_t)(i * 7);
	frag_limits__default(&l);
	for (int o = 0; o < 6; o++) {
		struct frag_table *t = frag__new(&l);
		const uint8_t *out = NULL;
		size_t out_len = 0;
		struct frag_weirds w;
		int r = 0;

		for (int k = 0; k < 3; k++) {
			int f = orders[o][k];
			size_t n = v4frag(b, 7, pl, (uint32_t)f * 32, 32, f < 2);

			r = frag__add(t, b, n, 1000 + (uint64_t)k, &out, &out_len, &w);
			assert_int_equal(r, k == 2 ? 1 : 0);
			/* 52 bytes of IP before the last fragment: Zeek's small fragment */
			assert_int_equal(w.n, f < 2 ? 1 : 0);
			if (w.n)
				assert_string_equal(w.name[0], "excessively_small_fragment");
		}
		assert_int_equal(out_len, 20 + 96);
		assert_memory_equal(out + 20, pl, 96);
		assert_int_equal(out[2] << 8 | out[3], 116); /* total length rewritten */
		assert_int_equal(out[6] & 0x3f, 0);	       /* no longer a fragment */
		frag__free(t);
	}
}

static void test_overlap_first_wins(void **st)
{
	uint8_t pl[64], evil[64], b[200];
	struct frag_limits l;
	struct frag_table *t;
	struct frag_stats s;
	const uint8_t *out;
	size_t out_len;
	struct frag_weirds w;

	(void)st;
	memset(pl, 'a', sizeof(pl));
	memset(evil, 'X', sizeof(evil));
	frag_limits__default(&l);
	t = frag__new(&l);
	assert_int_equal(frag__add(t, b, v4frag(b, 9, pl, 0, 32, 1), 1, &out, &out_len, &w), 0);
	/* the same range again with other bytes: first kept, inconsistency reported */
	assert_int_equal(frag__add(t, b, v4frag(b, 9, evil, 0, 32, 1), 2, &out, &out_len, &w), 0);
	assert_true(has(&w, "fragment_inconsistency"));
	assert_int_equal(frag__add(t, b, v4frag(b, 9, pl, 32, 32, 0), 3, &out, &out_len, &w), 1);
	assert_memory_equal(out + 20, pl, 64);
	frag__stats(t, &s);
	assert_int_equal(s.inconsistent, 1);
	assert_int_equal(s.reassembled, 1);
	frag__free(t);
}

static void test_limits_and_timeout(void **st)
{
	uint8_t pl[64], b[200];
	struct frag_limits l;
	struct frag_table *t;
	struct frag_stats s;
	const uint8_t *out;
	size_t out_len;
	struct frag_weirds w;

	(void)st;
	memset(pl, 'z', sizeof(pl));
	frag_limits__default(&l);
	l.max_datagrams = 10;
	l.timeout_ns = 1000;
	t = frag__new(&l);
	for (uint16_t id = 0; id < 100; id++) /* first fragments only: never complete */
		frag__add(t, b, v4frag(b, id, pl, 0, 32, 1), 10, &out, &out_len, &w);
	frag__stats(t, &s);
	assert_int_equal(s.evicted, 90); /* the oldest made room each time */
	assert_int_equal(s.timeouts, 0);
	assert_true(s.in_use_bytes <= 10 * (2048 + 2048));
	frag__expire(t, 2000);
	frag__stats(t, &s);
	assert_int_equal(s.timeouts, 10);
	assert_int_equal(s.in_use_bytes, 0);
	/* a fragment past 65535 bytes of payload */
	v4frag(b, 1, pl, 0, 16, 0);
	b[6] = (uint8_t)((65528 / 8) >> 8); /* offset 65528 + 16 bytes > 65535 */
	b[7] = (uint8_t)(65528 / 8);
	assert_int_equal(frag__add(t, b, 36, 3000, &out, &out_len, &w), -EMSGSIZE);
	/* garbage */
	assert_int_equal(frag__add(t, pl, 10, 3000, &out, &out_len, &w), -EINVAL);
	frag__free(t);
}

/* Zeek's FragReassembler and IP analyzer weirds and size rules (Frag.cc AddFragment and
 * BlockInserted, IP.cc): each with the fragment that raises it, and what is reassembled. */
static void test_zeek_weirds(void **st)
{
	uint8_t pl[70000], b[70100];
	struct frag_limits l;
	struct frag_table *t;
	const uint8_t *out;
	size_t out_len, n;

	struct frag_weirds w;

	(void)st;
	for (size_t i = 0; i < sizeof(pl); i++)
		pl[i] = (uint8_t)(i * 13 + 1);
	frag_limits__default(&l);
	l.max_bytes = 1 << 20;
	t = frag__new(&l);

	/* a second last fragment with another end: fragment_size_inconsistency, the larger wins */
	assert_int_equal(frag__add(t, b, v4frag(b, 1, pl, 64, 64, 0), 1, &out, &out_len, &w), 0);
	assert_int_equal(w.n, 0);
	assert_int_equal(frag__add(t, b, v4frag(b, 1, pl, 64, 32, 0), 2, &out, &out_len, &w), 0);
	assert_int_equal(w.n, 2); /* in Zeek's order: AddFragment's, then the overlap's */
	assert_string_equal(w.name[0], "fragment_size_inconsistency");
	assert_string_equal(w.name[1], "fragment_overlap");
	assert_int_equal(frag__add(t, b, v4frag(b, 1, pl, 0, 64, 1), 3, &out, &out_len, &w), 1);
	assert_int_equal(w.n, 0); /* 84 bytes of IP: not small */
	assert_int_equal(out_len, 20 + 128);
	assert_memory_equal(out + 20, pl, 128);

	/* a fragment before the last going past the known end extends it */
	assert_int_equal(frag__add(t, b, v4frag(b, 2, pl, 64, 64, 0), 1, &out, &out_len, &w), 0);
	assert_int_equal(frag__add(t, b, v4frag(b, 2, pl, 128, 64, 1), 2, &out, &out_len, &w), 0);
	assert_true(has(&w, "fragment_size_inconsistency"));
	assert_int_equal(frag__add(t, b, v4frag(b, 2, pl, 0, 64, 1), 3, &out, &out_len, &w), 1);
	assert_int_equal(out_len, 20 + 192);
	assert_memory_equal(out + 20, pl, 192);

	/* bytes past a hole beyond the end of the last fragment: once the bytes from 0 reach the
	 * end, the datagram is what they hold (BlockInserted's "we're stuck") */
	assert_int_equal(frag__add(t, b, v4frag(b, 3, pl, 256, 64, 1), 1, &out, &out_len, &w), 0);
	assert_int_equal(frag__add(t, b, v4frag(b, 3, pl, 64, 64, 0), 2, &out, &out_len, &w), 0);
	assert_int_equal(w.n, 0);
	assert_int_equal(frag__add(t, b, v4frag(b, 3, pl, 0, 64, 1), 3, &out, &out_len, &w), 1);
	assert_int_equal(w.n, 1);
	assert_string_equal(w.name[0], "fragment_size_inconsistency");
	assert_int_equal(out_len, 20 + 128);

	/* bytes from 0 past the last fragment's end, no hole: they are the datagram */
	assert_int_equal(frag__add(t, b, v4frag(b, 4, pl, 64, 128, 1), 1, &out, &out_len, &w), 0);
	assert_int_equal(frag__add(t, b, v4frag(b, 4, pl, 64, 64, 0), 2, &out, &out_len, &w), 0);
	assert_true(has(&w, "fragment_overlap"));
	assert_int_equal(frag__add(t, b, v4frag(b, 4, pl, 0, 64, 1), 3, &out, &out_len, &w), 1);
	assert_true(has(&w, "fragment_size_inconsistency"));
	assert_int_equal(out_len, 20 + 192);

	/* fewer than 64 bytes of IP before the last fragment: excessively_small_fragment; a
	 * payload that is not a multiple of 8 is taken (Zeek does not check) */
	assert_int_equal(frag__add(t, b, v4frag(b, 5, pl, 0, 20, 1), 1, &out, &out_len, &w), 0);
	assert_int_equal(w.n, 1);
	assert_string_equal(w.name[0], "excessively_small_fragment");
	assert_int_equal(frag__add(t, b, v4frag(b, 5, pl, 16, 24, 0), 2, &out, &out_len, &w), 1);
	assert_int_equal(w.n, 1); /* the last one may be small; [16,20) came twice */
	assert_string_equal(w.name[0], "fragment_overlap");
	assert_memory_equal(out + 20, pl, 40);

	/* don't-fragment set on a fragment */
	n = v4frag(b, 6, pl, 0, 64, 1);
	b[6] |= 0x40;
	assert_int_equal(frag__add(t, b, n, 1, &out, &out_len, &w), 0);
	assert_int_equal(w.n, 1);
	assert_string_equal(w.name[0], "fragment_with_DF");

	/* another header length than the fragment that began the datagram */
	n = v4frag(b, 6, pl, 64, 64, 0);
	memmove(b + 24, b + 20, n - 20);
	memset(b + 20, 1, 4); /* four NOPs */
	b[0] = 0x46;
	b[3] = (uint8_t)(n + 4);
	assert_int_equal(frag__add(t, b, n + 4, 2, &out, &out_len, &w), 1);
	assert_int_equal(w.n, 1);
	assert_string_equal(w.name[0], "fragment_protocol_inconsistency");
	assert_int_equal(out_len, 20 + 128); /* the first fragment's header */

	/* not captured whole: not reassembled (IP.cc) */
	n = v4frag(b, 7, pl, 0, 64, 1);
	assert_int_equal(frag__add(t, b, n - 1, 1, &out, &out_len, &w), -EINVAL);
	assert_string_equal(w.name[0], "incompletely_captured_fragment");

	/* ending past 64000 bytes: excessively_large_fragment, still reassembled */
	assert_int_equal(frag__add(t, b, v4frag(b, 8, pl, 63000, 1200, 0), 1, &out, &out_len, &w),
			 0);
	assert_int_equal(w.n, 1);
	assert_string_equal(w.name[0], "excessively_large_fragment");
	for (uint32_t off = 0; off < 63000; off += 1400) {
		uint32_t len = off + 1400 > 63000 ? 63000 - off : 1400;

		n = v4frag(b, 8, pl, off, len, 1);
		assert_int_equal(frag__add(t, b, n, 2, &out, &out_len, &w), off + len == 63000);
	}
	assert_int_equal(out_len, 20 + 64200);
	assert_memory_equal(out + 20, pl, 64200);
	frag__free(t);
}

/* At most FRAG_MAX_RANGES - 1 (63) disjoint ranges per datagram: a fragment that merges
 * with a held range never counts against the limit (filling the gaps of 63 ranges completes
 * the datagram, as in Zeek, which has no such limit); a 64th disjoint range drops the
 * datagram, counted in `dropped`, and nothing is ever delivered with holes. */
static void test_range_limit(void **st)
{
	uint8_t pl[1016], b[64];
	struct frag_limits l;
	struct frag_table *t;
	struct frag_stats s;
	const uint8_t *out = NULL;
	size_t out_len = 0;
	struct frag_weirds w;
	int r = 0;

	(void)st;
	for (int i = 0; i < (int)sizeof(pl); i++)
		pl[i] = (uint8_t)(i * 13 + 1);
	frag_limits__default(&l);
	t = frag__new(&l);
	for (uint32_t k = 0; k < 63; k++) /* 63 disjoint 8-byte ranges: 0, 16, ..., 992 */
		assert_int_equal(frag__add(t, b, v4frag(b, 5, pl, k * 16, 8, 1), 1, &out,
					   &out_len, &w), 0);
	for (uint32_t k = 0; k < 62; k++) /* the gaps: each merges, none is dropped */
		assert_int_equal(frag__add(t, b, v4frag(b, 5, pl, k * 16 + 8, 8, 1), 2, &out,
					   &out_len, &w), 0);
	r = frag__add(t, b, v4frag(b, 5, pl, 1000, 16, 0), 3, &out, &out_len, &w);
	assert_int_equal(r, 1);
	assert_int_equal(out_len, 20 + sizeof(pl));
	assert_memory_equal(out + 20, pl, sizeof(pl));
	frag__stats(t, &s);
	assert_int_equal(s.dropped, 0);

	/* 64 disjoint ranges: the datagram is dropped and counted */
	for (uint32_t k = 0; k < 64; k++)
		r = frag__add(t, b, v4frag(b, 6, pl, k * 16, 8, 1), 4, &out, &out_len, &w);
	assert_int_equal(r, -ENOSPC);
	frag__stats(t, &s);
	assert_int_equal(s.dropped, 1);
	/* what follows cannot complete it with what was dropped */
	for (uint32_t k = 0; k < 62; k++)
		assert_int_equal(frag__add(t, b, v4frag(b, 6, pl, k * 16 + 8, 8, 1), 5, &out,
					   &out_len, &w), 0);
	assert_int_equal(frag__add(t, b, v4frag(b, 6, pl, 1000, 16, 0), 6, &out, &out_len, &w),
			 0);
	frag__free(t);
}

/* frag__parse follows the chain the decoder does (decode__ipv6_chain): a fragment header
 * behind AH (RFC 4302: length in 4-byte units + 2) and behind a type 0 routing header, whose
 * final destination is the key's (Zeek's DstAddr()). */
static void test_v6_chain_as_decode(void **st)
{
	uint8_t b[200] = {0x60};
	struct frag_info f;
	size_t n = 40;

	(void)st;
	b[6] = 43; /* routing: type 0, 1 segment left, one address */
	b[8] = 0x20, b[23] = 1, b[24] = 0x20, b[39] = 2;
	b[n] = 51, b[n + 1] = 2, b[n + 2] = 0, b[n + 3] = 1;
	b[n + 8] = 0x20, b[n + 23] = 0x99;
	n += 24;
	b[n] = 44, b[n + 1] = 4; /* AH: 24 bytes */
	n += 24;
	b[n] = 6, b[n + 3] = 1, b[n + 7] = 7; /* fragment: offset 0, M, id 7 */
	n += 8;
	memset(b + n, 'x', 32);
	n += 32;
	b[5] = (uint8_t)(n - 40);
	assert_int_equal(frag__parse(b, n, &f), 0);
	assert_int_equal(f.hdr_len, 40 + 24 + 24);
	assert_int_equal(f.nh_off, 40 + 24);
	assert_int_equal(f.key.proto, 6);
	assert_int_equal(f.key.id, 7);
	assert_int_equal(f.key.dst[15], 0x99);
	assert_true(f.more);
	assert_int_equal(f.pl_len, 32);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_all_orders),
		cmocka_unit_test(test_overlap_first_wins),
		cmocka_unit_test(test_limits_and_timeout),
		cmocka_unit_test(test_range_limit),
		cmocka_unit_test(test_zeek_weirds),
		cmocka_unit_test(test_v6_chain_as_decode),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
