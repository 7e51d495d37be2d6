/* SPDX-License-Identifier: BSD-3-Clause */
/* Frame builders for unit tests: Ethernet (+ VLAN tags) / IPv4 (+ options) / IPv6 (+ ext
 * headers) / TCP (+ options) with payload, written into a caller's buffer. */
#ifndef MAILTAP_TEST_FRAMES_H
#define MAILTAP_TEST_FRAMES_H

#include <stdint.h>
#include <string.h>

struct fr {
	uint8_t b[4096];
	size_t len;
};

static inline void fr_u8(struct fr *f, uint8_t v)
{
	f->b[f->len++] = v;
}
static inline void fr_u16(struct fr *f, uint16_t v)
{
	fr_u8(f, (uint8_t)(v >> 8));
	fr_u8(f, (uint8_t)v);
}
static inline void fr_u32(struct fr *f, uint32_t v)
{
	fr_u16(f, (uint16_t)(v >> 16));
	fr_u16(f, (uint16_t)v);
}
static inline void fr_bytes(struct fr *f, const void *p, size_t n)
{
	memcpy(f->b + f->len, p, n);
	f->len += n;
}

/* Ethernet header with up to two VLAN tags (tpid 0 = none). */
static inline void fr_eth(struct fr *f, uint16_t tpid1, uint16_t vid1, uint16_t tpid2,
			  uint16_t vid2, uint16_t type)
{
	static const uint8_t macs[12] = { 2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2 };

	fr_bytes(f, macs, 12);
	if (tpid1) {
		fr_u16(f, tpid1);
		fr_u16(f, vid1);
	}
	if (tpid2) {
		fr_u16(f, tpid2);
		fr_u16(f, vid2);
	}
	fr_u16(f, type);
}

/* IPv4 header; total length = hdr + l4len; optlen bytes of NOP options (multiple of 4). */
static inline void fr_ipv4(struct fr *f, const uint8_t src[4], const uint8_t dst[4], uint8_t proto,
			   size_t l4len, size_t optlen, uint16_t frag)
{
	size_t hl = 20 + optlen;

	fr_u8(f, (uint8_t)(0x40 | (hl / 4)));
	fr_u8(f, 0);
	fr_u16(f, (uint16_t)(hl + l4len));
	fr_u16(f, 1);
	fr_u16(f, frag);
	fr_u8(f, 64);
	fr_u8(f, proto);
	fr_u16(f, 0);
	fr_bytes(f, src, 4);
	fr_bytes(f, dst, 4);
	for (size_t i = 0; i < optlen; i++)
		fr_u8(f, 1);
}

/* IPv6 header, optionally followed by one 8-byte hop-by-hop header. */
static inline void fr_ipv6(struct fr *f, const uint8_t src[16], const uint8_t dst[16], uint8_t proto,
			   size_t l4len, int hbh)
{
	fr_u32(f, 0x60000000);
	fr_u16(f, (uint16_t)(l4len + (hbh ? 8 : 0)));
	fr_u8(f, hbh ? 0 : proto);
	fr_u8(f, 64);
	fr_bytes(f, src, 16);
	fr_bytes(f, dst, 16);
	if (hbh) {
		fr_u8(f, proto);
		fr_u8(f, 0);
		for (int i = 0; i < 6; i++)
			fr_u8(f, i == 0 ? 1 : 0); /* PadN-ish filler */
	}
}

/* TCP header (+ window scale option if wscale >= 0) and payload. */
static inline void fr_tcp(struct fr *f, uint16_t sp, uint16_t dp, uint32_t seq, uint32_t ack,
			  uint8_t flags, uint16_t win, int wscale, const void *pl, size_t plen)
{
	size_t hl = wscale >= 0 ? 24 : 20;

	fr_u16(f, sp);
	fr_u16(f, dp);
	fr_u32(f, seq);
	fr_u32(f, ack);
	fr_u8(f, (uint8_t)((hl / 4) << 4));
	fr_u8(f, flags);
	fr_u16(f, win);
	fr_u16(f, 0);
	fr_u16(f, 0);
	if (wscale >= 0) {
		fr_u8(f, 1);
		fr_u8(f, 3);
		fr_u8(f, 3);
		fr_u8(f, (uint8_t)wscale);
	}
	if (plen)
		fr_bytes(f, pl, plen);
}

static inline size_t fr_tcp_len(int wscale, size_t plen)
{
	return (wscale >= 0 ? 24 : 20) + plen;
}

/* An IPv4 fragment (no link header) 10.0.0.1 -> 10.0.0.2 of datagram `id`, protocol proto,
 * carrying bytes [off, off+len) of the datagram's payload pl; MF set when more. Returns its
 * length. */
static inline size_t fr_v4frag(uint8_t *b, uint16_t id, uint8_t proto, const uint8_t *pl,
			       uint32_t off, uint32_t len, int more)
{
	static const uint8_t s[4] = { 10, 0, 0, 1 }, d[4] = { 10, 0, 0, 2 };
	struct fr f = { .len = 0 };

	fr_ipv4(&f, s, d, proto, len, 0, (uint16_t)((off / 8) | (more ? 0x2000 : 0)));
	f.b[5] = (uint8_t)id, f.b[4] = (uint8_t)(id >> 8);
	fr_bytes(&f, pl + off, len);
	memcpy(b, f.b, f.len);
	return f.len;
}

/* A whole Ethernet/IPv4/TCP frame. */
static inline void fr_v4tcp(struct fr *f, const uint8_t s[4], const uint8_t d[4], uint16_t sp,
			    uint16_t dp, uint32_t seq, uint32_t ack, uint8_t flags, const char *pl)
{
	size_t plen = pl ? strlen(pl) : 0;

	f->len = 0;
	fr_eth(f, 0, 0, 0, 0, 0x0800);
	fr_ipv4(f, s, d, 6, fr_tcp_len(-1, plen), 0, 0x4000);
	fr_tcp(f, sp, dp, seq, ack, flags, 65535, -1, pl, plen);
}

#endif
