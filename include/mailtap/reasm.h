/* SPDX-License-Identifier: BSD-3-Clause */
/* Per-direction TCP stream reassembly (L4): sequence tracking with 64-bit relative offsets,
 * in-order delivery without copies, a bounded out-of-order store, first-data-wins overlaps,
 * ACK-driven gaps, and Zeek's retransmission ('t'/'T') rule. See docs/reassembly.md.
 *
 * Relative sequence numbers follow Zeek: offset 0 is the SYN (or, midstream, the byte before
 * the first one seen), so the first stream byte is offset 1.
 *
 * Per packet sent by direction d, the flow table calls, in this order (Zeek's order):
 *   1. its own history letters (S H A D F R ...)
 *   2. reasm__packet(&rs[d], ...)           every packet: start/ISN, FIN, RST, 't'/'T'
 *   3. its own TCP state machine
 *   4. reasm__ack(&rs[!d], ...)             if the ACK flag is set: holes acked past -> gaps
 *   5. reasm__data(&rs[d], ...)             if the packet carries payload
 * and reasm__close() on both directions when the connection ends. */
#ifndef MAILTAP_REASM_H
#define MAILTAP_REASM_H

#include <stdbool.h>
#include <stdint.h>
#include "mailtap/types.h"

/* Every limit; REASM_LIMITS_DEFAULT gives the documented defaults. 0 disables where noted. */
struct reasm_limits {
	/* Out-of-order bytes buffered per direction (default 1 MiB). Exceeding it turns the
	 * leading holes into gaps (REASM_GAP_LIMIT) instead of buffering more. */
	uint32_t max_ooo_bytes;
	/* Out-of-order segments queued per direction (default 1024). Same treatment. */
	uint32_t max_segments;
	/* Delivered but not yet acknowledged bytes kept per direction to compare retransmissions
	 * with (Zeek keeps them too: rexmit_inconsistency). Default 64 KiB, 0 = keep none. */
	uint32_t max_retain_bytes;
	/* Zeek's tcp_max_initial_window (16384): once this much was sent and nothing was ever
	 * acked, the peer's ACKs are presumed invisible: delivered data is not retained.
	 * 0 = off. */
	uint32_t max_initial_window;
	/* Zeek's tcp_max_above_hole_without_any_acks (16384): with nothing ever acked, more than
	 * this many bytes above a hole -> weird "above_hole_data_without_any_acks" and the
	 * direction stops delivering (as Zeek). 0 = never give up. */
	uint32_t max_above_hole_no_ack;
	/* At reasm__close, deliver buffered data beyond holes (reporting REASM_GAP_CLOSE gaps)
	 * instead of discarding it. Default 1. Zeek discards it silently. */
	uint32_t flush_at_close;
	/* All reassembly memory of all flows sharing the pool (default 256 MiB). */
	uint64_t max_total_bytes;
};

#define REASM_LIMITS_DEFAULT                                                                       \
	((struct reasm_limits){.max_ooo_bytes = 1u << 20,                                          \
			       .max_segments = 1024,                                               \
			       .max_retain_bytes = 64u << 10,                                      \
			       .max_initial_window = 16384,                                        \
			       .max_above_hole_no_ack = 16384,                                     \
			       .flush_at_close = 1,                                                \
			       .max_total_bytes = 256ull << 20})

/* Pool counters (all directions of all flows sharing the pool). */
struct reasm_stats {
	uint64_t bytes_in_use;	  /* allocated now: segment headers + data + retention rings */
	uint64_t bytes_peak;	  /* high-water mark of bytes_in_use */
	uint64_t segs_in_use;	  /* out-of-order segments held now */
	uint64_t delivered_bytes; /* bytes handed to data() */
	uint64_t ooo_segments;	  /* segments (pieces) queued out of order */
	uint64_t gaps;		  /* gap() calls */
	uint64_t gap_bytes;	  /* their total length */
	uint64_t overlaps;	  /* segments carrying bytes seen before (retransmissions) */
	uint64_t overlap_bytes;
	uint64_t conflicts;	/* overlaps whose bytes differed (first data kept) */
	uint64_t limit_ooo;	/* max_ooo_bytes hits (turned into gaps) */
	uint64_t limit_segs;	/* max_segments hits */
	uint64_t limit_memcap;	/* max_total_bytes hits */
	uint64_t alloc_fail;	/* malloc failures (turned into gaps) */
	uint64_t seq_underflow; /* payload before the stream start, dropped */
	uint64_t gave_up;	/* directions stopped: above_hole_data_without_any_acks */
	uint64_t cache_bytes;	/* freed buffers and rings kept for reuse (not in bytes_in_use) */
};

struct reasm_pool;

/* NULL limits = defaults. Returns NULL with errno set. */
struct reasm_pool *reasm_pool__new(const struct reasm_limits *l);
void reasm_pool__free(struct reasm_pool *p);
void reasm_pool__stats(const struct reasm_pool *p, struct reasm_stats *out);
const struct reasm_limits *reasm_pool__limits(const struct reasm_pool *p);

struct reasm_buf; /* private: out-of-order list + retention ring, from the pool */

/* One direction of a connection, embedded in the flow. 56 bytes, no heap while idle. */
struct reasm_dir {
	uint64_t next;	 /* relative seq of the next byte to deliver (Zeek last_reassem_seq) */
	uint64_t last;	 /* highest relative seq end seen (seq + len + SYN + FIN) */
	uint64_t ack;	 /* highest relative ack received from the peer */
	uint64_t fin;	 /* relative seq just past the FIN (Zeek FIN_seq), 0 = none */
	uint64_t missed; /* bytes skipped as ACKED or LIMIT gaps */
	struct reasm_buf *buf;
	uint32_t isn;  /* 32-bit sequence number of relative offset 0 */
	uint8_t flags; /* private REASM_F_* */
	uint8_t dir;   /* enum mt_dir */
	uint16_t pad;
};

enum reasm_gap_why {
	REASM_GAP_ACKED = 0, /* the peer acknowledged past the hole: Zeek's content_gap */
	REASM_GAP_LIMIT = 1, /* a reassembly limit forced the hole to be skipped */
	REASM_GAP_CLOSE = 2, /* reasm__close with flush_at_close (Zeek reports nothing) */
};

/* Callbacks to the engine/flow table. Any may be NULL. */
struct reasm_cb {
	void *u;
	/* In-order bytes. In-order payload is passed straight from the packet (no copy). */
	void (*data)(void *u, enum mt_dir d, const uint8_t *buf, size_t len, uint64_t ts_ns);
	/* `len` bytes will never be delivered (parser's gap()). For Zeek's conn.log, add
	 * REASM_GAP_ACKED lengths to missed_bytes and raise 'g'/'G' only when both endpoints
	 * are established or cleanly closing (Zeek's content_gap condition). */
	void (*gap)(void *u, enum mt_dir d, uint64_t len, enum reasm_gap_why why, uint64_t ts_ns);
	/* A packet with payload that did not advance the highest sequence seen (Zeek's
	 * DidRxmit): history 't' (resp) / 'T' (orig), scaled as Zeek does. */
	void (*rexmit)(void *u, enum mt_dir d, uint64_t ts_ns);
	/* Anomaly, with Zeek's name where Zeek has one. addl may be NULL. */
	void (*weird)(void *u, enum mt_dir d, const char *name, const char *addl, uint64_t ts_ns);
	/* All data up to the FIN (or RST) has been delivered or skipped: parser's eof().
	 * Called at most once per direction; reasm__close calls it if not done yet. */
	void (*eof)(void *u, enum mt_dir d, uint64_t ts_ns);
};

void reasm__init(struct reasm_dir *r, enum mt_dir d);

/* Every packet sent by this direction, payload or not (a pure ACK's seq matters to Zeek's
 * retransmission rule). len = payload length on the wire (pkt->payload_wire_len).
 * The raw interface raises no TCP state weird (SYN_seq_jump, TCP_seq_underflow_or_misorder,
 * TCP_ack_underflow_or_misorder, truncated_tcp_payload): those are the flow table's, from
 * Zeek's endpoint states, so each has one source (user/flow.c). */
void reasm__packet(struct reasm_dir *r, const struct reasm_cb *cb, uint32_t seq, uint8_t tcp_flags,
		   uint32_t len, uint64_t ts_ns);

/* The OTHER side's ACK field, for this direction (call with the peer's reasm_dir), when
 * PKT_TCP_ACK is set. Holes below it can never be filled: gaps, then delivery of what follows.
 * Returns the bytes it acknowledged that were never seen (Zeek's TrimToSeq: a gap event). */
uint64_t reasm__ack(struct reasm_dir *r, struct reasm_pool *p, const struct reasm_cb *cb,
		    uint32_t ack, uint8_t tcp_flags, uint64_t ts_ns);
/* reasm__ack, and *fresh (may be NULL): did the ACK, an ACK at or past the FIN taken as one of
 * the byte before it, acknowledge beyond every earlier ACK (from 1: the SYN's)? Zeek's
 * TCP_Reassembler::AckReceived counts only those (`if ( seq <= trim_seq ) return;` before
 * ++tot_ack_events): repeated, old and handshake ACKs are no ACK events, and a gap event is
 * a fresh ACK that also acknowledged bytes never seen. */
uint64_t reasm__ack_fresh(struct reasm_dir *r, struct reasm_pool *p, const struct reasm_cb *cb,
			  uint32_t ack, uint8_t tcp_flags, uint64_t ts_ns, bool *fresh);

/* Payload of a packet sent by this direction, after reasm__packet. caplen = bytes present,
 * len = bytes on the wire (a truncated payload is not used; the flow table raises Zeek's
 * weird "truncated_tcp_payload").
 * Returns 0, or -EINVAL on a NULL argument. Never fails on memory: limits become gaps. */
int reasm__data(struct reasm_dir *r, struct reasm_pool *p, const struct reasm_cb *cb, uint32_t seq,
		uint8_t tcp_flags, const uint8_t *data, uint32_t caplen, uint32_t len,
		uint64_t ts_ns);

/* ---- Relative-offset interface, for a flow table that already computes Zeek's relative
 * sequence numbers (user/flow.c: struct flow_pkt_result). Use it instead of reasm__packet,
 * reasm__ack and reasm__data; 't'/'T' are then the flow table's. Per packet of direction d, after the flow table's state machine:
 *   if (res.ack_valid) reasm__rel_ack(&rs[!d], ..., res.rel_ack, flags, ts);
 *   if (res.deliver)   reasm__rel_data(&rs[d], ..., res.rel_data_seq, payload, len, ts);
 *   if (res.fin)       reasm__rel_fin(&rs[d], cb, res.rel_data_seq + len + 1, ts);
 *   if (res.rst)       reasm__rel_rst(&rs[d], cb, ts);                              */

#define REASM_ACK_RST 0x1     /* the ACK came on a RST: trims, but is not the highest ack */
#define REASM_ACK_PARTIAL 0x2 /* the connection is partial (Zeek's IsPartial(): the caller's) */

/* Payload at relative offset rel_seq (1 = first stream byte), len bytes all present. */
int reasm__rel_data(struct reasm_dir *r, struct reasm_pool *p, const struct reasm_cb *cb,
		    uint64_t rel_seq, const uint8_t *data, uint32_t len, uint64_t ts_ns);
/* The peer acknowledged everything below rel_ack (relative to THIS direction's stream). */
void reasm__rel_ack(struct reasm_dir *r, struct reasm_pool *p, const struct reasm_cb *cb,
		    uint64_t rel_ack, unsigned int flags, uint64_t ts_ns);
/* This direction sent a FIN; rel_fin = relative seq just past the FIN (Zeek's FIN_seq). */
void reasm__rel_fin(struct reasm_dir *r, const struct reasm_cb *cb, uint64_t rel_fin,
		    uint64_t ts_ns);
/* This direction sent a RST. */
void reasm__rel_rst(struct reasm_dir *r, const struct reasm_cb *cb, uint64_t ts_ns);

/* Connection end: flush (or drop) what is buffered, eof() if not done, free everything.
 * The direction may be reused after reasm__init. */
void reasm__close(struct reasm_dir *r, struct reasm_pool *p, const struct reasm_cb *cb,
		  uint64_t ts_ns);

/* Bytes skipped as ACKED or LIMIT gaps (not CLOSE gaps). Zeek's conn.log missed_bytes is the
 * sum of ACKED gaps reported while both endpoints were clean: the flow table filters. */
uint64_t reasm__missed(const struct reasm_dir *r);
/* The direction gave up delivering (above_hole_data_without_any_acks: Zeek's skip_deliveries). */
#define REASM_F_SKIP 0x10
static inline bool reasm__skipping(const struct reasm_dir *r)
{
	return (r->flags & REASM_F_SKIP) != 0;
}
/* Bytes held: buffered above a hole, or delivered and retained until acked (Zeek's
 * TCP_Reassembler::HasUndeliveredData, its block list not empty). */
bool reasm__has_blocks(const struct reasm_dir *r);
/* Out-of-order bytes buffered now. */
uint64_t reasm__pending(const struct reasm_dir *r);
/* Zeek's TCP_Endpoint::Size(): bytes sent by this direction per sequence space (conn.log
 * orig_bytes/resp_bytes), without Zeek's half-open RST special case. */
uint64_t reasm__size(const struct reasm_dir *r);

#endif
