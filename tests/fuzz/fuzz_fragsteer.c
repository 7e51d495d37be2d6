// SPDX-License-Identifier: BSD-3-Clause
/* libFuzzer target for user/fragsteer.c (and frag__parse). The input is a script of
 * fragments from a few address pairs:
 *   header: limits selector (1 byte: max datagrams 1-8, held bytes 256 B-32 KiB)
 *   op (6 bytes): flags (bit 0 IPv6, bits 1-2 address pair, bit 3 UDP, bit 4 more
 *   fragments, bit 5 flush, bits 6-7 how much of the header is cut off), id (1 byte, 0-15),
 *   offset (1 byte, x8), payload length (1 byte), time step (1 byte, x0.5 s), first payload
 *   byte (the TCP source port's high byte, when at offset 0).
 * Checks: every fragment is handed over exactly once (a held one at the latest at the flush at
 * the end), unchanged, to a worker pick chose; held bytes never pass the limit; the counters
 * add up; nothing is left allocated. */
#include <stdlib.h>
#include <string.h>

#include "mailtap/fragsteer.h"

#define MAX_OPS 512

struct fz {
	uint8_t sent[MAX_OPS];
	uint16_t len[MAX_OPS]; /* caplen of each frame, to check what comes back */
	int n;
};

static int pick(void *ctx, const struct mt_addr *src, uint16_t sport, const struct mt_addr *dst,
		uint16_t dport)
{
	(void)ctx;
	return (src->b[15] + dst->b[15] + sport + dport) % 5;
}

static void send_cb(void *ctx, int dest, const struct pkt_raw *raw)
{
	struct fz *z = ctx;
	uint64_t i = raw->ts_ns & 0xffff; /* the op's index */

	if (dest < 0 || dest > 4 || i >= (uint64_t)z->n || z->sent[i] ||
	    raw->caplen != z->len[i] || raw->data[raw->caplen - 1] != (uint8_t)i)
		abort();
	z->sent[i] = 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fz z;
	/* VXLAN on Linux's port too (--vxlan-ports 4789,8472) */
	static const struct decode_cfg dc = { .tun_ports = { .vxlan = { 4789, 8472 },
							     .geneve = { 6081 } } };
	struct frag_limits l;
	struct fragsteer *fs;
	struct fragsteer_stats st;
	uint64_t t = 0;

	if (size < 1)
		return 0;
	memset(&z, 0, sizeof(z));
	l.max_datagrams = 1u + (data[0] & 7);
	l.max_bytes = 256u << (data[0] >> 3 & 7);
	l.timeout_ns = 30ULL * 1000000000ULL;
	fs = fragsteer__new(&l, &dc, pick, send_cb, &z);
	if (!fs)
		abort();
	for (size_t o = 1; o + 6 <= size && z.n < MAX_OPS; o += 6) {
		const uint8_t *op = data + o;
		uint8_t b[40 + 8 + 255 + 8];
		int v6 = op[0] & 1, pair = op[0] >> 1 & 3, hl = v6 ? 48 : 20;
		uint32_t off = (uint32_t)op[2] * 8, plen = op[3] + 1u;
		uint16_t fo;
		size_t n = (size_t)hl + plen, cut = (size_t)(op[0] >> 6) * 12;
		struct pkt_raw raw;

		memset(b, 0, sizeof(b));
		if (v6) {
			b[0] = 0x60;
			b[4] = (uint8_t)((8 + plen) >> 8), b[5] = (uint8_t)(8 + plen);
			b[6] = 44;
			b[8] = 0x20, b[23] = (uint8_t)(1 + pair);
			b[24] = 0x20, b[39] = (uint8_t)(1 + (pair ^ 1));
			b[40] = op[0] & 8 ? 17 : 6;
			fo = (uint16_t)(off | !!(op[0] & 16));
			b[42] = (uint8_t)(fo >> 8), b[43] = (uint8_t)fo;
			b[47] = op[1] & 15;
		} else {
			b[0] = 0x45;
			b[2] = (uint8_t)(n >> 8), b[3] = (uint8_t)n;
			b[5] = op[1] & 15;
			fo = (uint16_t)(off / 8 | (op[0] & 16 ? 0x2000 : 0));
			b[6] = (uint8_t)(fo >> 8), b[7] = (uint8_t)fo;
			b[9] = op[0] & 8 ? 17 : 6;
			b[12] = 10, b[15] = (uint8_t)(1 + pair);
			b[16] = 10, b[19] = (uint8_t)(1 + (pair ^ 1));
		}
		b[hl] = op[5];
		b[hl + 1] = 25;
		b[n - 1] = (uint8_t)z.n; /* the last byte names the op (kept by any cut) */
		if (cut && cut < n) { /* a frame cut short: the header loses its end */
			memmove(b + n - cut - 1, b + n - 1, 1);
			n -= cut;
		}
		t += (uint64_t)op[4] * 500000000ULL;
		raw = (struct pkt_raw){ .ts_ns = (t & ~0xffffULL) | (uint64_t)z.n, .data = b,
					.caplen = (uint32_t)n, .wirelen = (uint32_t)n, .linktype = 12 };
		z.len[z.n++] = (uint16_t)n;
		fragsteer__packet(fs, &raw, b, n);
		fragsteer__stats(fs, &st);
		if (st.held_bytes > l.max_bytes)
			abort();
		if (op[0] & 32)
			fragsteer__flush(fs);
		t &= ~0xffffULL; /* the low bits carry the op's index */
	}
	fragsteer__flush(fs);
	for (int i = 0; i < z.n; i++)
		if (!z.sent[i])
			abort();
	fragsteer__stats(fs, &st);
	if (st.held_bytes || st.fragments != (uint64_t)z.n || st.held > st.fragments)
		abort();
	fragsteer__free(fs);
	return 0;
}
