/* SPDX-License-Identifier: BSD-3-Clause */
/* IPv4 and IPv6 fragment reassembly with bounded memory: datagrams are keyed by addresses,
 * protocol and identification; the first copy of every byte wins (overlaps with different
 * bytes are reported, as Zeek's fragment_inconsistency); the size and weird rules are Zeek's
 * (Frag.cc); a datagram is dropped when it is not complete within the timeout, or when a
 * limit would be exceeded. */
#ifndef MAILTAP_FRAG_H
#define MAILTAP_FRAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct frag_limits {
	uint32_t max_datagrams; /* datagrams being reassembled at once (default 4096) */
	uint64_t max_bytes;	/* buffer bytes of all of them (default 16 MiB) */
	uint64_t timeout_ns;	/* incomplete datagrams dropped after (default 30 s) */
};
void frag_limits__default(struct frag_limits *l);

struct frag_stats {
	uint64_t fragments;   /* fragments seen */
	uint64_t reassembled; /* datagrams completed */
	uint64_t timeouts;    /* datagrams dropped incomplete after the timeout */
	uint64_t evicted;     /* datagrams dropped incomplete to make room (limits) */
	uint64_t dropped;     /* fragments dropped: limits, malformed */
	uint64_t overlaps;    /* fragments overlapping earlier ones */
	uint64_t inconsistent; /* ... with different bytes (first kept) */
	uint64_t in_use_bytes, peak_bytes;
};

struct frag_table;

/* What the fragments of one datagram share (RFC 791, RFC 8200). */
struct frag_key {
	uint8_t v6, proto;
	uint8_t src[16], dst[16]; /* IPv4: 4 bytes, zero padded */
	uint32_t id;
};
uint32_t frag_key__hash(const struct frag_key *k);
bool frag_key__eq(const struct frag_key *a, const struct frag_key *b);

/* IPv6 extension headers that may follow a fragment header in a datagram of ours (hop-by-hop,
 * routing, destination options, AH): its chain is parsed once the datagram is whole. */
static inline bool frag__v6_ext(uint8_t nh)
{
	return nh == 0 || nh == 43 || nh == 60 || nh == 51;
}

/* A fragment's key, place and payload. */
struct frag_info {
	struct frag_key key;
	uint32_t off;
	bool more;
	const uint8_t *pl;
	uint32_t pl_len;
	uint32_t hdr_len; /* bytes of header kept for the datagram (without IPv6's frag hdr) */
	uint32_t nh_off;  /* IPv6: the next-header byte preceding the fragment header */
	uint32_t ip_len;  /* the IP length field: IPv4 total length, IPv6 payload length + 40 */
	bool cut;	  /* fewer bytes captured than ip_len: not reassembled, as in Zeek */
	bool df;	  /* IPv4 don't-fragment flag */
};
/* Parses the fragment at l3 (IPv4, or IPv6 with a fragment header where decode__ipv6_chain
 * finds one; the key's destination a type 0 routing header's final one), l3_len bytes
 * captured. 0 or -EINVAL. */
int frag__parse(const uint8_t *l3, size_t l3_len, struct frag_info *f);
/* Makes l3, a first fragment's header (f->hdr_len bytes: IPv6 without its fragment header)
 * followed by payload, the header of a whole datagram of len bytes: IPv4 total length, no
 * flags, offset 0, checksum 0 (not checked); IPv6 payload length, and the next header that
 * named the fragment header (f->nh_off) set to the protocol. */
void frag__mark_whole(uint8_t *l3, const struct frag_info *f, uint32_t len);

/* Zeek's FragReassembler::AddFragment size rules: the first last fragment sets the datagram's
 * payload size (*total, 0 while unknown), a later last fragment with another end, or any
 * fragment ending past a known size, is fragment_size_inconsistency (returns true) and the
 * larger end wins. */
static inline bool frag__size_rule(uint32_t *total, uint32_t end, bool more)
{
	bool bad = false;

	if (!more) {
		if (!*total) {
			*total = end;
		} else if (end != *total) {
			bad = true;
			if (end > *total)
				*total = end;
		}
	}
	if (*total && end > *total) {
		bad = true;
		*total = end;
	}
	return bad;
}

/* Zeek's FragReassembler::BlockInserted: r0_end the end of the bytes received from offset 0
 * (0: none), beyond whether bytes were received past a hole after them. The datagram is
 * whole when they reach the size; when they reach it with bytes beyond a hole, or go past it,
 * the size becomes their end (*bad: fragment_size_inconsistency). Returns the size once
 * whole, else 0. */
static inline uint32_t frag__whole_size(uint32_t *total, uint32_t r0_end, bool beyond, bool *bad)
{
	*bad = false;
	if (!*total || !r0_end || r0_end < *total)
		return 0;
	if (beyond || r0_end > *total) {
		*bad = true;
		*total = r0_end;
	}
	return *total;
}

/* The flow weirds one fragment raised, in Zeek's order, each name once. */
#define FRAG_WEIRDS_MAX 8
struct frag_weirds {
	unsigned n;
	const char *name[FRAG_WEIRDS_MAX];
};

struct frag_table *frag__new(const struct frag_limits *l);
void frag__free(struct frag_table *t);
/* l3: the IP header of a fragment (IPv4, or IPv6 with a fragment header), l3_len bytes
 * captured. Returns 1 with *out and *out_len = the whole datagram (valid until the next call)
 * when this fragment completes it, 0 when it was stored, -EINVAL/-ENOSPC/-EMSGSIZE when it
 * was dropped; *w = the weirds Zeek's FragReassembler and IP analyzer raise for it. */
int frag__add(struct frag_table *t, const uint8_t *l3, size_t l3_len, uint64_t ts_ns,
	      const uint8_t **out, size_t *out_len, struct frag_weirds *w);
/* Drops datagrams older than the timeout. */
void frag__expire(struct frag_table *t, uint64_t now_ns);
void frag__stats(const struct frag_table *t, struct frag_stats *st);

#endif
