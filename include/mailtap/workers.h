/* SPDX-License-Identifier: BSD-3-Clause */
/* Analysis workers: N engines, each on its own thread, fed through a lock-free single-producer
 * single-consumer ring. Packets are assigned by a symmetric hash of the connection's
 * addresses and ports, so both directions of a connection reach the same worker, whatever
 * source or queue they came from. Records of all workers go to the one shared rec_out. */
#ifndef MAILTAP_WORKERS_H
#define MAILTAP_WORKERS_H

#include <stdint.h>
#include "mailtap/engine.h"
#include "mailtap/pkt.h"

struct parsers_cfg;
struct rec_out;
struct workers;

struct workers_stats {
	uint64_t enqueued;   /* packets handed to workers */
	uint64_t waits;	     /* times the producer found a ring full and waited */
	uint64_t oversize;   /* frames larger than a ring slot can hold (dropped, counted) */
};

/* n >= 1 engines; ring_bytes per worker (default 8 MiB when 0). NULL with errno set. */
struct workers *workers__new(int n, const struct engine_cfg *cfg, const struct parsers_cfg *pc,
			     struct rec_out *out, size_t ring_bytes);
/* pkt_handler: copies the frame to its worker's ring (waits while the ring is full). */
int workers__packet(void *w, const struct pkt_raw *raw);
/* Clock tick for every worker (live capture without traffic). */
void workers__tick(struct workers *w, uint64_t now_ns);
/* Waits until every packet handed in so far was processed. */
void workers__drain(struct workers *w);
/* End of input: every worker ends its connections; waits for them. */
void workers__finish(struct workers *w);
/* Sum of the engines' counters (consistent after drain/finish; approximate while running). */
void workers__engine_stats(struct workers *w, struct engine_stats *st);
void workers__stats(const struct workers *w, struct workers_stats *st);
/* The engine of worker i (for its record builder); i < n. */
struct engine *workers__engine(struct workers *w, int i);
int workers__count(const struct workers *w);
void workers__free(struct workers *w);

#endif
