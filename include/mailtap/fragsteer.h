/* SPDX-License-Identifier: BSD-3-Clause */
/* Steering IP fragments to the worker of their connection. Workers are chosen by addresses
 * and ports, and of a fragmented datagram only the first fragment (offset 0) carries the
 * ports. A producer keeps one steering table: a TCP datagram's fragments that come before its
 * first fragment are held (copied) until it comes, then sent, in arrival order, ahead of it
 * to the worker its ports choose; later fragments of the datagram follow that choice. So the
 * worker reassembles exactly what one engine would have. A UDP, GRE or IP-in-IP datagram (the engine
 * reassembles those too: they may be tunnel packets) is steered the same way, by the TCP
 * connection its first fragment shows inside a tunnel. A datagram is forgotten once all its
 * bytes have come (its identification may be used again soon: a tunnel's outer address pair
 * carries thousands of datagrams a second), or after the fragment timeout of its first
 * arrival. Fragments whose ports never show (the timeout, the
 * limits, the end of input, a first fragment too short, UDP or GRE that is no tunnel of
 * ours) are sent where the addresses alone (ports 0) choose, as are fragments of other
 * protocols: the engine drops those anyway. */
#ifndef MAILTAP_FRAGSTEER_H
#define MAILTAP_FRAGSTEER_H

#include <stdint.h>
#include "mailtap/decode.h"
#include "mailtap/frag.h"
#include "mailtap/pkt.h"
#include "mailtap/types.h"

struct fragsteer_stats {
	uint64_t fragments; /* fragments steered */
	uint64_t held;	    /* ... of them held until their datagram's first fragment */
	uint64_t unported;  /* ... sent by their addresses alone */
	uint64_t evicted;   /* datagrams forgotten early to make room (limits) */
	uint64_t held_bytes, peak_held_bytes;
};

/* The worker of a connection (symmetric in the two ends). */
typedef int (*fragsteer_pick_fn)(void *ctx, const struct mt_addr *src, uint16_t sport,
				 const struct mt_addr *dst, uint16_t dport);
/* Hands a frame to worker `dest` (the frame is valid only during the call). */
typedef void (*fragsteer_send_fn)(void *ctx, int dest, const struct pkt_raw *raw);

/* Limits as the engines' reassembly: at most max_datagrams datagrams known at once, at most
 * max_bytes of held frames, each datagram forgotten timeout_ns after its first fragment; a
 * tunnel packet's first fragment read with the engines' decode configuration dc (copied). NULL
 * with errno set. */
struct fragsteer *fragsteer__new(const struct frag_limits *l, const struct decode_cfg *dc,
				 fragsteer_pick_fn pick, fragsteer_send_fn send, void *ctx);
void fragsteer__free(struct fragsteer *fs);
/* A fragment (l3: its IP header, l3_len bytes captured; decode's DECODE_FRAGMENT): sent now
 * or held. */
void fragsteer__packet(struct fragsteer *fs, const struct pkt_raw *raw, const uint8_t *l3,
		       size_t l3_len);
/* End of input: every held fragment is sent (by its addresses), every datagram forgotten. */
void fragsteer__flush(struct fragsteer *fs);
/* Any thread, also while another steers: each counter as of some moment (read on its own, not
 * a snapshot of all at once). */
void fragsteer__stats(const struct fragsteer *fs, struct fragsteer_stats *st);

#endif
