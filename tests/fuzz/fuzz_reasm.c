// SPDX-License-Identifier: BSD-3-Clause
/* libFuzzer target for user/reasm.c. The input is a script of segments and ACKs on both
 * directions of one connection:
 *   header: isn[2] (4 bytes each), limits selector (1 byte)
 *   op:     kind (1 byte: bit 0 = direction, bits 1-2 = 0 segment / 1 ack / 2 rel-api / 3 close,
 *           bits 3-7 = TCP flags subset), seq offset (2 bytes, signed around the stream),
 *           length (1 byte, x8), then the payload bytes taken from the input (repeated if short).
 * Checks: every delivery/gap is contiguous with the previous one, the pool never exceeds its
 * memcap, out-of-order bytes never exceed their cap, and nothing is left allocated at the end. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mailtap/pkt.h"
#include "mailtap/reasm.h"

struct fz {
	uint64_t pos[2];
	struct reasm_dir *r;
	uint8_t sink;
};

static void f_data(void *u, enum mt_dir d, const uint8_t *b, size_t n, uint64_t ts)
{
	struct fz *z = u;
	uint8_t x = 0;

	(void)ts;
	if (!n)
		abort();	       /* never an empty delivery */
	for (size_t i = 0; i < n; i++) /* touch every byte: ASan checks the pointer */
		x ^= b[i];
	z->sink ^= x;
	z->pos[d] += n;
	if (z->pos[d] + 1 != z->r[d].next)
		abort();
}

static void f_gap(void *u, enum mt_dir d, uint64_t n, enum reasm_gap_why why, uint64_t ts)
{
	struct fz *z = u;

	(void)why, (void)ts;
	if (!n)
		abort();
	z->pos[d] += n;
	if (z->pos[d] + 1 != z->r[d].next)
		abort();
}

static void f_weird(void *u, enum mt_dir d, const char *name, const char *addl, uint64_t ts)
{
	(void)u, (void)d, (void)addl, (void)ts;
	if (!name || !*name)
		abort();
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct reasm_limits lim = REASM_LIMITS_DEFAULT;
	struct reasm_dir r[2];
	struct fz z = {.r = r};
	struct reasm_cb cb = {.u = &z, .data = f_data, .gap = f_gap, .weird = f_weird};
	struct reasm_pool *p;
	struct reasm_stats st;
	uint8_t payload[2048];
	uint32_t isn[2];
	size_t i;

	if (size < 9)
		return 0;
	isn[0] = rd32(data);
	isn[1] = rd32(data + 4);
	switch (data[8] & 3) {
	case 0:
		break;
	case 1: /* tiny limits: exercise every limit path */
		lim.max_ooo_bytes = 300;
		lim.max_segments = 3;
		lim.max_retain_bytes = 100;
		lim.max_total_bytes = 2000;
		lim.max_initial_window = 200;
		lim.max_above_hole_no_ack = 0;
		break;
	case 2:
		lim.max_above_hole_no_ack = 500;
		lim.max_retain_bytes = 0;
		lim.flush_at_close = 0;
		break;
	default:
		lim.max_total_bytes = 600;
		lim.max_initial_window = 0;
		break;
	}
	p = reasm_pool__new(&lim);
	if (!p)
		return 0;
	reasm__init(&r[0], MT_ORIG);
	reasm__init(&r[1], MT_RESP);
	i = 9;
	while (i + 4 <= size) {
		uint8_t kind = data[i];
		int d = kind & 1, op = (kind >> 1) & 3;
		uint8_t fl = (uint8_t)((kind >> 3) & 0x1f); /* FIN SYN RST PSH ACK */
		int16_t off = (int16_t)(data[i + 1] << 8 | data[i + 2]);
		uint32_t len = (uint32_t)data[i + 3] * 8u, seq;

		i += 4;
		for (uint32_t k = 0; k < len; k++)
			payload[k] = i < size ? data[i + k % (size - i)] : (uint8_t)k;
		if (i + len <= size)
			i += len;
		else
			i = size;
		seq = isn[d] + 1 + (uint32_t)(int32_t)off * 7;
		switch (op) {
		case 0:
			reasm__packet(&r[d], &cb, seq, fl, len, i);
			reasm__ack(&r[!d], p, &cb, isn[!d] + (uint32_t)(int32_t)off * 13, fl, i);
			reasm__data(&r[d], p, &cb, seq, fl, payload, len - (fl & 1), len, i);
			break;
		case 1:
			reasm__ack(&r[d], p, &cb, seq, fl | PKT_TCP_ACK, i);
			break;
		case 2:
			if (off >= 0) {
				reasm__rel_data(&r[d], p, &cb, (uint64_t)off * 5, payload, len, i);
				reasm__rel_ack(&r[!d], p, &cb, (uint64_t)off * 3, fl & 3, i);
				if (fl & PKT_TCP_FIN)
					reasm__rel_fin(&r[d], &cb, (uint64_t)off * 5 + len + 1, i);
			}
			break;
		default:
			reasm__close(&r[d], p, &cb, i);
			reasm__init(&r[d], (enum mt_dir)d);
			z.pos[d] = 0;
			break;
		}
		reasm_pool__stats(p, &st);
		if (st.bytes_in_use > lim.max_total_bytes)
			abort();
		if (reasm__pending(&r[0]) > lim.max_ooo_bytes ||
		    reasm__pending(&r[1]) > lim.max_ooo_bytes)
			abort();
	}
	reasm__close(&r[0], p, &cb, size);
	reasm__close(&r[1], p, &cb, size);
	reasm_pool__stats(p, &st);
	if (st.bytes_in_use || st.segs_in_use)
		abort();
	reasm_pool__free(p);
	return 0;
}
