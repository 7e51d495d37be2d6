/* SPDX-License-Identifier: BSD-3-Clause */
/* Analysis workers: N engines, each on its own thread, fed by P producers (capture threads)
 * through lock-free single-producer single-consumer rings, one per (producer, worker) pair.
 * Packets are assigned by a symmetric hash of the connection's addresses and ports, so both
 * directions of a connection reach the same worker, whatever source, queue or capture thread
 * they came from. A worker with several producers takes the earliest of the packets waiting
 * at its rings' heads; one without packets sleeps until a producer hands it one. Records of
 * all workers go to the one shared rec_out. The engines share weird.zeek's weird sets
 * (engine_cfg's weird_ignore, weird_did_log: made here) besides what the caller shares
 * through engine_cfg (tunnels, known_hosts, known_services) and parsers_cfg. */
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
	/* IP fragments (fragsteer.h) */
	uint64_t frags_steered;	 /* fragments the producers steered */
	uint64_t frags_held;	 /* ... of them held until the datagram's first fragment */
	uint64_t frags_unported; /* handed over by their addresses alone */
	uint64_t frags_evicted;	 /* datagrams given up early for the steering limits */
	/* summed over the workers: times a worker found no packet and slept (until a producer
	 * handed it one, or 10 ms) */
	uint64_t naps;
};

/* n >= 1 engines fed by producers >= 1 threads; ring_bytes per (producer, worker) ring
 * (0: 8 MiB / producers, at least 1 MiB). With n > 1, each producer steers IP fragments
 * (fragsteer.h). NULL with errno set. */
struct workers *workers__new(int n, int producers, const struct engine_cfg *cfg,
			     const struct parsers_cfg *pc, struct rec_out *out, size_t ring_bytes);
/* Producer p (one thread per p): copies the frame to the ring of its worker (waits while that
 * ring is full). Always 0. */
int workers__packet_from(struct workers *w, int producer, const struct pkt_raw *raw);
/* pkt_handler: workers__packet_from producer 0. */
int workers__packet(void *w, const struct pkt_raw *raw);
/* Clock tick from producer p for every worker (live capture without traffic). */
void workers__tick_from(struct workers *w, int producer, uint64_t now_ns);
void workers__tick(struct workers *w, uint64_t now_ns); /* producer 0 */
/* Offline (one producer): every worker publishes its counters once it has handled every
 * packet handed to it so far; returns when all have (workers__engine_stats then reads the
 * counters of all packets before this call, as one engine's would be). */
void workers__sync_stats(struct workers *w);
/* End of input: every worker ends its connections; waits for them. Called when no producer
 * thread runs any more (after they were joined). */
void workers__finish(struct workers *w);
/* The latest time any worker's engine saw: after workers__finish exactly, before it as of
 * each worker's last snapshot (its last tick, about a second old at most). */
uint64_t workers__now(struct workers *w);
/* Sum of the engines' counters, but of the high-water marks (flow.peak, reasm.bytes_peak,
 * frag.peak_bytes) the largest worker's: exact after finish; while the workers run, as of
 * each one's last tick (live capture ticks once a second), read without racing the worker. */
void workers__engine_stats(struct workers *w, struct engine_stats *st);
/* Summed over the producers (each producer's counters are written by its thread only, and
 * read here while it runs: each one on its own), naps over the workers. */
void workers__stats(const struct workers *w, struct workers_stats *st);
/* The engine of worker i (for its record builder); i < n. */
struct engine *workers__engine(struct workers *w, int i);
int workers__count(const struct workers *w);
int workers__producers(const struct workers *w);
void workers__free(struct workers *w);

#endif
