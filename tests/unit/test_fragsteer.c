// SPDX-License-Identifier: BSD-3-Clause
/* Fragment steering (fragsteer.h): in every order, all fragments of a TCP datagram reach the
 * worker its ports choose, each once, those before the first fragment held and handed over
 * in arrival order just before it; a fragmented VXLAN packet goes where the connection inside
 * goes, other UDP by the addresses; other protocols, the timeout, the limits, a first
 * fragment without ports and the end of input send by the addresses, and a datagram once
 * sent that way stays with it; IPv6 alike; out of memory loses no fragment. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "mailtap/fragsteer.h"
#include "alloc_fault.h"
#include "frames.h"

#define BY_ADDRS 99
#define S 1000000000ULL

/* What the steering sent: the worker and the frame's timestamp (which names the fragment). */
static struct {
	int dest[64];
	uint64_t ts[64];
	int n;
} sent;

/* Ports choose worker (sport + dport) % 7; no ports: BY_ADDRS. The addresses must be the
 * datagram's, in the fragment's order. */
static int pick(void *ctx, const struct mt_addr *src, uint16_t sport, const struct mt_addr *dst,
		uint16_t dport)
{
	struct mt_addr a, b;

	(void)ctx;
	mt_addr__from_v4(&a, (const uint8_t[]){ 10, 0, 0, 1 });
	mt_addr__from_v4(&b, (const uint8_t[]){ 10, 0, 0, 2 });
	if (!mt_addr__cmp(src, &a))
		assert_int_equal(mt_addr__cmp(dst, &b), 0);
	if (!sport && !dport)
		return BY_ADDRS;
	return (sport + dport) % 7;
}

static void send_cb(void *ctx, int dest, const struct pkt_raw *raw)
{
	(void)ctx;
	alloc_harness_enter();
	assert_true(sent.n < 64);
	assert_true(raw->caplen >= 20);
	sent.dest[sent.n] = dest;
	sent.ts[sent.n++] = raw->ts_ns;
	alloc_harness_leave();
}

/* An IPv4 fragment of datagram `id` (protocol proto) carrying payload bytes [off, off+len):
 * the payload begins with the TCP ports 25 -> 1030 (worker (25 + 1030) % 7 = 5). */
static size_t v4frag(uint8_t *b, uint16_t id, uint8_t proto, uint32_t off, uint32_t len,
		     int more)
{
	static const uint8_t pl[2048] = { 0, 25, 1030 >> 8, 1030 & 255 };

	return fr_v4frag(b, id, proto, pl, off, len, more);
}

#define PORTS_WORKER ((25 + 1030) % 7)

static void add(struct fragsteer *fs, uint64_t ts, uint16_t id, uint8_t proto, uint32_t off,
		uint32_t len, int more)
{
	uint8_t b[2048];
	size_t n = v4frag(b, id, proto, off, len, more);
	struct pkt_raw raw = { .ts_ns = ts, .data = b, .caplen = (uint32_t)n, .wirelen = (uint32_t)n,
			       .linktype = 12 };

	fragsteer__packet(fs, &raw, b, n);
}

/* With the tunnel ports dc (NULL: Zeek's defaults). */
static struct fragsteer *new_fs_cfg(uint32_t max_datagrams, uint64_t max_bytes,
				    const struct decode_cfg *dc)
{
	struct frag_limits l = { .max_datagrams = max_datagrams, .max_bytes = max_bytes,
				 .timeout_ns = 30 * S };
	struct decode_cfg def;

	decode_cfg__default(&def);
	memset(&sent, 0, sizeof(sent));
	return fragsteer__new(&l, dc ? dc : &def, pick, send_cb, NULL);
}

static struct fragsteer *new_fs(uint32_t max_datagrams, uint64_t max_bytes)
{
	return new_fs_cfg(max_datagrams, max_bytes, NULL);
}

/* Every order of four fragments (ts = the fragment's index). */
static void test_all_orders(void **st)
{
	int perm[24][4], np = 0;

	(void)st;
	for (int a = 0; a < 4; a++)
		for (int b = 0; b < 4; b++)
			for (int c = 0; c < 4; c++)
				for (int d = 0; d < 4; d++)
					if (a != b && a != c && a != d && b != c && b != d && c != d) {
						perm[np][0] = a, perm[np][1] = b;
						perm[np][2] = c, perm[np][3] = d;
						np++;
					}
	assert_int_equal(np, 24);
	for (int p = 0; p < np; p++) {
		struct fragsteer *fs = new_fs(16, 1 << 20);
		struct fragsteer_stats s;
		int first_at = -1;

		for (int k = 0; k < 4; k++) {
			int f = perm[p][k];

			if (f == 0)
				first_at = k;
			add(fs, (uint64_t)f, 7, 6, (uint32_t)f * 64, 64, f < 3);
			/* nothing leaves before the first fragment came */
			assert_int_equal(sent.n, first_at < 0 ? 0 : k + 1);
		}
		/* held ones in arrival order, then the first, then the later ones */
		for (int k = 0; k < 4; k++) {
			assert_int_equal(sent.dest[k], PORTS_WORKER);
			assert_int_equal(sent.ts[k], (uint64_t)perm[p][k]);
		}
		fragsteer__stats(fs, &s);
		assert_int_equal(s.fragments, 4);
		assert_int_equal(s.held, (uint64_t)first_at);
		assert_int_equal(s.unported, 0);
		assert_int_equal(s.held_bytes, 0);
		fragsteer__free(fs);
	}
}

/* Two datagrams with the same identification one after the other (in order): the first is
 * forgotten once complete, so the second goes by its own ports, not the first's. */
static void test_id_reused(void **st)
{
	struct fragsteer *fs = new_fs(16, 1 << 20);

	(void)st;
	for (int k = 0; k < 2; k++) {
		uint8_t b[200];
		size_t n = v4frag(b, 7, 6, 0, 64, 1);
		struct pkt_raw raw = { .ts_ns = (uint64_t)k * 2, .data = b, .caplen = (uint32_t)n,
				       .wirelen = (uint32_t)n, .linktype = 12 };

		b[20] = 0, b[21] = (uint8_t)(25 + k); /* source port 25, then 26 */
		fragsteer__packet(fs, &raw, b, n);
		add(fs, (uint64_t)k * 2 + 1, 7, 6, 64, 64, 0);
	}
	assert_int_equal(sent.n, 4);
	assert_int_equal(sent.dest[0], PORTS_WORKER);
	assert_int_equal(sent.dest[1], PORTS_WORKER);
	assert_int_equal(sent.dest[2], (26 + 1030) % 7);
	assert_int_equal(sent.dest[3], (26 + 1030) % 7);
	fragsteer__free(fs);
}

/* Not TCP, UDP or GRE (ICMP): sent at once, by the addresses. A first fragment too short for
 * the ports: by the addresses too, and the rest of its datagram follows it. */
static void test_other_protocols_and_no_ports(void **st)
{
	struct fragsteer *fs = new_fs(16, 1 << 20);
	struct fragsteer_stats s;

	(void)st;
	add(fs, 1, 1, 1, 64, 64, 1); /* ICMP, not the first */
	assert_int_equal(sent.n, 1);
	assert_int_equal(sent.dest[0], BY_ADDRS);
	add(fs, 2, 2, 6, 8, 8, 0);    /* held */
	add(fs, 3, 2, 6, 0, 0, 1);    /* the first, without a byte of TCP header */
	add(fs, 4, 2, 6, 16, 8, 0);
	assert_int_equal(sent.n, 4);
	for (int k = 1; k < 4; k++) {
		assert_int_equal(sent.dest[k], BY_ADDRS);
		assert_int_equal(sent.ts[k], (uint64_t)k + 1);
	}
	fragsteer__stats(fs, &s);
	assert_int_equal(s.unported, 2); /* the ICMP one and the short first fragment */
	assert_int_equal(s.held, 1);
	fragsteer__free(fs);
}

/* A datagram is forgotten at its first fragment's time plus the timeout: its held fragment
 * goes by the addresses then (not a nanosecond before); a first fragment after that starts a
 * new datagram. */
static void test_timeout(void **st)
{
	struct fragsteer *fs = new_fs(16, 1 << 20);
	struct fragsteer_stats s;

	(void)st;
	add(fs, 1 * S, 3, 6, 64, 64, 0);
	add(fs, 31 * S - 1, 4, 6, 64, 64, 0); /* another datagram, just before the timeout */
	assert_int_equal(sent.n, 0);
	add(fs, 31 * S, 5, 6, 64, 64, 0);
	assert_int_equal(sent.n, 1);
	assert_int_equal(sent.dest[0], BY_ADDRS);
	assert_int_equal(sent.ts[0], 1 * S);
	add(fs, 31 * S, 3, 6, 0, 64, 1);
	assert_int_equal(sent.n, 2);
	assert_int_equal(sent.dest[1], PORTS_WORKER);
	/* the end of input: the two still held go by the addresses, oldest first */
	fragsteer__flush(fs);
	assert_int_equal(sent.n, 4);
	assert_int_equal(sent.ts[2], 31 * S - 1);
	assert_int_equal(sent.ts[3], 31 * S);
	assert_int_equal(sent.dest[2], BY_ADDRS);
	assert_int_equal(sent.dest[3], BY_ADDRS);
	fragsteer__stats(fs, &s);
	assert_int_equal(s.unported, 3);
	assert_int_equal(s.held_bytes, 0);
	fragsteer__free(fs);
}

/* The limits: a third datagram in a table of two makes the oldest go by its addresses; held
 * bytes past the limit do the same to the datagram holding longest. A datagram that went by
 * its addresses stays with them when its first fragment comes. */
static void test_limits(void **st)
{
	struct fragsteer *fs = new_fs(2, 1 << 20);
	struct fragsteer_stats s;
	size_t one;

	(void)st;
	add(fs, 1, 1, 6, 64, 64, 0);
	add(fs, 2, 2, 6, 64, 64, 0);
	assert_int_equal(sent.n, 0);
	add(fs, 3, 3, 6, 64, 64, 0); /* datagram 1 leaves */
	assert_int_equal(sent.n, 1);
	assert_int_equal(sent.ts[0], 1);
	assert_int_equal(sent.dest[0], BY_ADDRS);
	fragsteer__stats(fs, &s);
	assert_int_equal(s.evicted, 1);
	one = s.held_bytes / 2; /* what one held 84-byte frame takes */
	fragsteer__free(fs);

	fs = new_fs(16, 3 * one);
	add(fs, 1, 1, 6, 64, 64, 1);
	add(fs, 2, 2, 6, 64, 64, 1);
	add(fs, 3, 1, 6, 128, 64, 0);
	assert_int_equal(sent.n, 0);
	add(fs, 4, 3, 6, 64, 64, 0); /* a fourth frame: datagram 1 (two frames) leaves */
	assert_int_equal(sent.n, 2);
	assert_int_equal(sent.ts[0], 1);
	assert_int_equal(sent.ts[1], 3);
	add(fs, 5, 1, 6, 0, 64, 1); /* its first fragment follows them */
	assert_int_equal(sent.n, 3);
	for (int k = 0; k < 3; k++)
		assert_int_equal(sent.dest[k], BY_ADDRS);
	add(fs, 6, 2, 6, 0, 64, 1); /* datagram 2 was not touched: by its ports */
	assert_int_equal(sent.n, 5);
	assert_int_equal(sent.dest[3], PORTS_WORKER);
	assert_int_equal(sent.ts[3], 2);
	assert_int_equal(sent.dest[4], PORTS_WORKER);
	fragsteer__stats(fs, &s);
	assert_int_equal(s.evicted, 1);
	assert_true(s.peak_held_bytes <= 3 * one);
	fragsteer__free(fs); /* datagram 3's frame is dropped unsent, and freed */
}

/* Room for one held frame: a datagram's second early fragment needs the room its first holds,
 * so the datagram itself goes by its addresses. The new fragment is then sent at once, after
 * the first: before, it was held in the datagram that already had a worker, and sent only
 * when the datagram was forgotten (complete, or 30 s later), after the fragments that came
 * after it. */
static void test_evicts_own_datagram(void **st)
{
	struct fragsteer *fs = new_fs(16, 1 << 20);
	struct fragsteer_stats s;
	size_t one;

	(void)st;
	add(fs, 1, 1, 6, 64, 64, 1);
	fragsteer__stats(fs, &s);
	one = s.held_bytes;
	fragsteer__free(fs);

	fs = new_fs(16, one + one / 2);
	add(fs, 1, 1, 6, 64, 64, 1);
	assert_int_equal(sent.n, 0);
	add(fs, 2, 1, 6, 128, 64, 1); /* no room but its own datagram's: both go now */
	assert_int_equal(sent.n, 2);
	add(fs, 3, 1, 6, 0, 64, 1);   /* the first fragment follows them */
	add(fs, 4, 1, 6, 192, 64, 0); /* and the last: the datagram is complete */
	assert_int_equal(sent.n, 4);
	for (int k = 0; k < 4; k++) {
		assert_int_equal(sent.ts[k], (uint64_t)k + 1);
		assert_int_equal(sent.dest[k], BY_ADDRS);
	}
	fragsteer__stats(fs, &s);
	assert_int_equal(s.held_bytes, 0);
	fragsteer__free(fs);
}

/* A fragment of the UDP datagram `udp` from 10.0.0.1 to 10.0.0.2 (IPv6: 2001::1 to 2001::2,
 * with a fragment header): bytes [off, off+len). Returns its length. */
static size_t udp_frag(uint8_t *b, const struct fr *udp, int v6, uint32_t off, uint32_t len,
		       int more)
{
	static const uint8_t s6[16] = { 0x20, 0x01, [15] = 1 }, d6[16] = { 0x20, 0x01, [15] = 2 };
	struct fr f = { .len = 0 };

	if (!v6)
		return fr_v4frag(b, 77, 17, udp->b, off, len, more);
	fr_ipv6(&f, s6, d6, 44, 8 + len, 0);
	fr_u8(&f, 17);
	fr_u8(&f, 0);
	fr_u16(&f, (uint16_t)(off | !!more));
	fr_u32(&f, 77);
	fr_bytes(&f, udp->b + off, len);
	memcpy(b, f.b, f.len);
	return f.len;
}

/* A VXLAN packet (outer 10.0.0.1 -> 10.0.0.2, UDP 4789; inside 192.0.2.5:40000 ->
 * 192.0.2.9:25) cut into two fragments at byte 256 of the UDP datagram, the second first:
 * both go where the inner connection goes; the same over IPv6 (the fragment header left out
 * of the copy that is decoded). The same to UDP port 53: by the addresses. VXLAN on 8472:
 * by the addresses with Zeek's default ports, as a tunnel with --vxlan-ports 4789,8472; with
 * --vxlan-ports 8472 alone, 4789 is no tunnel. */
static void test_tunnel_fragments(void **st)
{
	static const uint8_t i1[4] = { 192, 0, 2, 5 }, i2[4] = { 192, 0, 2, 9 };
	static const struct decode_cfg k8s = { .tun_ports = { .vxlan = { 4789, 8472 },
							      .geneve = { 6081 } } },
				       only = { .tun_ports = { .vxlan = { 8472 } } };
	static const struct {
		int v6, port;
		const struct decode_cfg *dc;
		int tunnel;
	} cases[] = { { 0, 4789, NULL, 1 }, { 1, 4789, NULL, 1 }, { 0, 53, NULL, 0 },
		      { 0, 8472, NULL, 0 }, { 0, 8472, &k8s, 1 },  { 1, 8472, &k8s, 1 },
		      { 0, 4789, &k8s, 1 }, { 0, 8472, &only, 1 }, { 0, 4789, &only, 0 } };
	char pl[601];
	struct fr in, udp;

	(void)st;
	memset(pl, 'x', 600);
	pl[600] = 0;
	in.len = 0; /* the inner frame */
	fr_eth(&in, 0, 0, 0, 0, 0x0800);
	fr_ipv4(&in, i1, i2, 6, fr_tcp_len(-1, 600), 0, 0x4000);
	fr_tcp(&in, 40000, 25, 1, 1, 0x18, 65535, -1, pl, 600);
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct fragsteer *fs = new_fs_cfg(16, 1 << 20, cases[c].dc);
		size_t udp_len = 8 + 8 + in.len, n;
		uint8_t b[1000];
		struct pkt_raw raw;

		udp.len = 0; /* the whole UDP datagram */
		fr_u16(&udp, 49152);
		fr_u16(&udp, (uint16_t)cases[c].port);
		fr_u16(&udp, (uint16_t)udp_len);
		fr_u16(&udp, 0);
		fr_u32(&udp, 0x08000000); /* VXLAN: the VNI is valid */
		fr_u32(&udp, 42 << 8);
		fr_bytes(&udp, in.b, in.len);
		n = udp_frag(b, &udp, cases[c].v6, 256, (uint32_t)(udp.len - 256), 0);
		raw = (struct pkt_raw){ .ts_ns = 1, .data = b, .caplen = (uint32_t)n,
					.wirelen = (uint32_t)n, .linktype = 12 };
		fragsteer__packet(fs, &raw, b, n);
		assert_int_equal(sent.n, 0); /* held */
		n = udp_frag(b, &udp, cases[c].v6, 0, 256, 1);
		raw = (struct pkt_raw){ .ts_ns = 2, .data = b, .caplen = (uint32_t)n,
					.wirelen = (uint32_t)n, .linktype = 12 };
		fragsteer__packet(fs, &raw, b, n);
		assert_int_equal(sent.n, 2);
		assert_int_equal(sent.ts[0], 1);
		for (int j = 0; j < 2; j++)
			assert_int_equal(sent.dest[j],
					 cases[c].tunnel ? (40000 + 25) % 7 : BY_ADDRS);
		fragsteer__free(fs);
	}
}

/* An IPv6 datagram: the fragment header after a hop-by-hop header; the ports in the first. */
static void test_ipv6(void **st)
{
	struct fragsteer *fs = new_fs(16, 1 << 20);
	uint8_t b[200];

	(void)st;
	for (int f = 1; f >= 0; f--) {
		struct pkt_raw raw;

		memset(b, 0, sizeof(b));
		b[0] = 0x60;
		b[5] = 8 + 8 + 32; /* payload length */
		b[6] = 0;	   /* hop-by-hop */
		b[8] = 0x20, b[9] = 0x01, b[23] = 1;
		b[24] = 0x20, b[25] = 0x01, b[39] = 2;
		b[40] = 44; /* hop-by-hop: next is the fragment header, 8 bytes */
		b[48] = 6;  /* fragment header: TCP */
		b[50] = (uint8_t)((f * 32) >> 8);
		b[51] = (uint8_t)((f * 32) | (f == 0));
		b[55] = 9; /* id */
		if (f == 0)
			b[57] = 25, b[58] = 1030 >> 8, b[59] = 1030 & 255;
		raw = (struct pkt_raw){ .ts_ns = (uint64_t)(2 - f), .data = b, .caplen = 88,
					.wirelen = 88, .linktype = 12 };
		fragsteer__packet(fs, &raw, b, 88);
	}
	assert_int_equal(sent.n, 2);
	assert_int_equal(sent.dest[0], PORTS_WORKER);
	assert_int_equal(sent.dest[1], PORTS_WORKER);
	assert_int_equal(sent.ts[0], 1);
	fragsteer__free(fs);
}

/* A duplicated first fragment after the last one: the datagram's bytes are not all there
 * until the middle one comes, which still goes with it (a count of payload bytes would reach
 * the total early and forget the datagram, the middle one held then sent by the addresses);
 * once all have come the datagram is forgotten, its identification free again. */
static void test_duplicate(void **st)
{
	struct fragsteer *fs = new_fs(16, 1 << 20);
	struct fragsteer_stats s;

	(void)st;
	add(fs, 0, 7, 6, 0, 64, 1);
	add(fs, 1, 7, 6, 128, 64, 0);
	add(fs, 2, 7, 6, 0, 64, 1); /* the duplicate */
	add(fs, 3, 7, 6, 64, 64, 1);
	assert_int_equal(sent.n, 4);
	for (int k = 0; k < 4; k++) {
		assert_int_equal(sent.dest[k], PORTS_WORKER);
		assert_int_equal(sent.ts[k], (uint64_t)k);
	}
	/* overlapping, not equal: [0,64) [32,96) [96,160) [128,192) */
	add(fs, 4, 8, 6, 0, 64, 1);
	add(fs, 5, 8, 6, 128, 64, 0);
	add(fs, 6, 8, 6, 32, 64, 1);
	add(fs, 7, 8, 6, 96, 64, 1);
	assert_int_equal(sent.n, 8);
	for (int k = 4; k < 8; k++)
		assert_int_equal(sent.dest[k], PORTS_WORKER);
	fragsteer__stats(fs, &s);
	assert_int_equal(s.unported, 0);
	assert_int_equal(s.held_bytes, 0);
	/* both complete: forgotten, a later fragment of id 7 is a new datagram (held) */
	add(fs, 8, 7, 6, 64, 64, 1);
	assert_int_equal(sent.n, 8);
	fragsteer__free(fs);
}

/* Forgotten when frag.c completes the datagram by Zeek's size rules: bytes beyond a hole past
 * the last fragment's end (the datagram ends where its bytes from 0 end), and a fragment before
 * the last going past its end (the size grows). A later fragment of the id is then held as a
 * new datagram's. */
static void test_size_rules(void **st)
{
	struct fragsteer *fs = new_fs(16, 1 << 20);

	(void)st;
	add(fs, 0, 7, 6, 256, 64, 1); /* beyond the hole [128,256) */
	add(fs, 1, 7, 6, 64, 64, 0);  /* the last: [64,128) */
	add(fs, 2, 7, 6, 0, 64, 1);   /* whole at 128 bytes */
	assert_int_equal(sent.n, 3);
	add(fs, 3, 7, 6, 64, 64, 1);
	assert_int_equal(sent.n, 3); /* a new datagram of id 7: held */

	add(fs, 4, 9, 6, 64, 64, 0);  /* the last: 128 bytes */
	add(fs, 5, 9, 6, 192, 64, 1); /* past the end: 256 now */
	add(fs, 6, 9, 6, 0, 64, 1);   /* the first: 4 5 6 go */
	assert_int_equal(sent.n, 6);
	add(fs, 7, 9, 6, 128, 64, 1); /* whole */
	assert_int_equal(sent.n, 7);
	add(fs, 8, 9, 6, 64, 64, 1);
	assert_int_equal(sent.n, 7);
	fragsteer__free(fs);
}

/* IPv6 fragments whose fragment header is followed by a destination options header (then an
 * AH), then TCP: the first fragment's ports are found behind them; the later fragment, come
 * first, is held and goes with it. */
static void test_ipv6_ext_after_frag(void **st)
{
	static const uint8_t nhs[] = { 60, 51, 43, 0 };

	(void)st;
	for (size_t i = 0; i < sizeof(nhs); i++) {
		struct fragsteer *fs = new_fs(16, 1 << 20);
		struct fragsteer_stats s;
		uint8_t b[200];

		for (int f = 1; f >= 0; f--) {
			struct pkt_raw raw;

			memset(b, 0, sizeof(b));
			b[0] = 0x60;
			b[5] = 8 + 48; /* payload length: fragment header, 48 bytes */
			b[6] = 44;
			b[8] = 0x20, b[9] = 0x01, b[23] = 1;
			b[24] = 0x20, b[25] = 0x01, b[39] = 2;
			b[40] = nhs[i]; /* fragment header: an extension header next */
			b[42] = (uint8_t)((f * 48) >> 8);
			b[43] = (uint8_t)((f * 48) | (f == 0));
			b[47] = 9; /* id */
			if (f == 0) {
				/* a 16-byte header (then a 12-byte AH after options), then TCP */
				uint32_t o = 48;

				b[o] = nhs[i] == 60 ? 51 : 6, o += 16;
				b[o - 15] = nhs[i] == 51 ? 2 : 1; /* AH: 4-byte units, minus 2 */
				if (nhs[i] == 60)
					b[o] = 6, b[o + 1] = 1, o += 12;
				b[o + 1] = 25, b[o + 2] = 1030 >> 8, b[o + 3] = 1030 & 255;
			}
			raw = (struct pkt_raw){ .ts_ns = (uint64_t)(2 - f), .data = b,
						.caplen = 96, .wirelen = 96, .linktype = 12 };
			fragsteer__packet(fs, &raw, b, 96);
		}
		assert_int_equal(sent.n, 2);
		assert_int_equal(sent.dest[0], PORTS_WORKER);
		assert_int_equal(sent.dest[1], PORTS_WORKER);
		assert_int_equal(sent.ts[0], 1);
		fragsteer__stats(fs, &s);
		assert_int_equal(s.unported, 0);
		fragsteer__free(fs);
	}
}

/* Allocations failing in turn: fragsteer__new gives NULL and leaks nothing; a fragment that
 * cannot be held or remembered is sent at once (by the addresses), none is lost. */
static void test_no_memory(void **st)
{
	(void)st;
#ifndef HAVE_ALLOC_FAULTS
	skip();
#else
	for (int ok = 0;; ok++) {
		long live = alloc_live;
		struct fragsteer *fs;

		alloc_ok = ok;
		fs = new_fs(16, 1 << 20);
		if (!fs) {
			alloc_ok = -1;
			assert_int_equal(alloc_live, live);
			continue;
		}
		alloc_ok = 0; /* no datagram, no held frame */
		add(fs, 1, 1, 6, 64, 64, 0);
		add(fs, 2, 1, 6, 0, 64, 1);
		alloc_ok = -1;
		assert_int_equal(sent.n, 2);
		assert_int_equal(sent.dest[0], BY_ADDRS);
		assert_int_equal(sent.dest[1], PORTS_WORKER); /* the first knows its ports */
		fragsteer__free(fs);
		assert_int_equal(alloc_live, live);
		break;
	}
#endif
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_all_orders),
		cmocka_unit_test(test_other_protocols_and_no_ports),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_evicts_own_datagram),
		cmocka_unit_test(test_id_reused),
		cmocka_unit_test(test_tunnel_fragments),
		cmocka_unit_test(test_ipv6),
		cmocka_unit_test(test_duplicate),
		cmocka_unit_test(test_size_rules),
		cmocka_unit_test(test_ipv6_ext_after_frag),
		cmocka_unit_test(test_no_memory),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
