/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The Ethernet + IPv4 + TCP headers the capture generators (gen_smtp_pcap, gen_hostile) put
 * in front of each synthetic segment: fixed MACs (02:00:00:00:00:0x, the client is 1 or 2
 * by direction), no options, window 65535, a real IPv4 header checksum and none for TCP.
 * Header-only: each tool is one translation unit.
 */
#ifndef MAILTAP_TOOLS_SYNTH_FRAME_H
#define MAILTAP_TOOLS_SYNTH_FRAME_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define SYNTH_HDR_LEN 54 /* Ethernet 14 + IPv4 20 + TCP 20 */
#define SYNTH_IP_DF 0x4000
#define SYNTH_IP_MF 0x2000

struct synth_tcp {
	int from_client; /* picks the MACs */
	uint32_t sip, dip;
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t flags;
	uint16_t ip_id, ip_frag; /* identification; flags and offset (SYNTH_IP_DF, ...) */
};

/* A segment between a client and a server, in one direction (from_client or not): addresses,
 * ports and MACs set, don't-fragment; seq, ack, flags are the caller's. */
static inline struct synth_tcp synth_tcp_dir(int from_client, uint32_t cip, uint16_t cport,
					     uint32_t sip, uint16_t sport)
{
	struct synth_tcp t = {
	    .from_client = from_client,
	    .sip = from_client ? cip : sip,
	    .dip = from_client ? sip : cip,
	    .sport = from_client ? cport : sport,
	    .dport = from_client ? sport : cport,
	    .ip_frag = SYNTH_IP_DF,
	};

	return t;
}

static inline void synth_put16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8), p[1] = (uint8_t)v;
}

static inline void synth_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* The Internet checksum (RFC 1071) of p[0..n). */
static inline uint16_t synth_csum(const uint8_t *p, size_t n)
{
	uint32_t s = 0;

	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		s += (uint32_t)(p[n - 1] << 8);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* Writes the SYNTH_HDR_LEN header bytes of a segment whose IP payload (TCP header included)
 * is ip_payload bytes long. */
static inline void synth_tcp4(uint8_t *f, const struct synth_tcp *t, size_t ip_payload)
{
	uint8_t *ip = f + 14, *tcp = f + 34;

	memset(f, 0, SYNTH_HDR_LEN);
	f[0] = 2, f[5] = t->from_client ? 2 : 1, f[6] = 2, f[11] = t->from_client ? 1 : 2;
	f[12] = 0x08;
	ip[0] = 0x45;
	synth_put16(ip + 2, (uint32_t)(20 + ip_payload));
	synth_put16(ip + 4, t->ip_id);
	synth_put16(ip + 6, t->ip_frag);
	ip[8] = 64, ip[9] = 6;
	synth_put32(ip + 12, t->sip);
	synth_put32(ip + 16, t->dip);
	synth_put16(ip + 10, synth_csum(ip, 20));
	synth_put16(tcp, t->sport);
	synth_put16(tcp + 2, t->dport);
	synth_put32(tcp + 4, t->seq);
	synth_put32(tcp + 8, t->ack);
	tcp[12] = 0x50;
	tcp[13] = t->flags;
	tcp[14] = 0xff, tcp[15] = 0xff;
}

#endif
