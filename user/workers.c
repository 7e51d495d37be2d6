// SPDX-License-Identifier: BSD-3-Clause
/* Workers: one thread and one engine each, fed by the capture thread through an SPSC byte
 * ring of variable-length slots [hdr | frame], 8-byte aligned. The producer publishes with a
 * release store of `head`, the consumer with a release store of `tail`; each side caches the
 * other's index and only reloads it when it looks full/empty. Waiting is a short spin, then
 * 20 us sleeps: no locks, no syscalls on the fast path. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "mailtap/bits.h"
#include "mailtap/decode.h"
#include "mailtap/log.h"
#include "mailtap/parsers.h"
#include "mailtap/workers.h"

enum slot_kind { SLOT_PKT = 1, SLOT_TICK, SLOT_WRAP, SLOT_FINISH, SLOT_SYNC };

struct slot {
	uint32_t kind;
	uint32_t len;	 /* frame bytes following the header */
	uint64_t ts_ns;
	uint32_t wirelen;
	int32_t linktype;
};

#define ALIGN8(x) (((x) + 7) & ~(size_t)7)

struct worker {
	struct workers *ws;
	int index;
	struct engine *eng;
	struct parsers *parsers;
	pthread_t thread;
	uint8_t *ring;
	size_t cap;
	/* producer side */
	_Alignas(64) _Atomic size_t head;
	size_t tail_cache;
	/* consumer side */
	_Alignas(64) _Atomic size_t tail;
	size_t head_cache;
	_Atomic uint64_t processed; /* SYNC slots seen, for drain */
	int done;
};

struct workers {
	int n;
	struct worker *w;
	uint64_t hash_seed;
	uint64_t syncs;
	struct workers_stats st;
};

static void pause_briefly(unsigned *spins)
{
	if (++*spins < 64) {
#if defined(__x86_64__) || defined(__i386__)
		__builtin_ia32_pause();
#endif
		return;
	}
	if (*spins < 128) {
		sched_yield();
		return;
	}
	nanosleep(&(struct timespec){ 0, 20000 }, NULL);
}

/* Reserves `need` contiguous bytes; returns the offset. Writes a wrap slot when the end of
 * the ring is too short. Waits while the consumer has not freed enough. */
static size_t ring_reserve(struct workers *ws, struct worker *w, size_t need)
{
	size_t head = atomic_load_explicit(&w->head, memory_order_relaxed);
	unsigned spins = 0;
	bool waited = false;

	for (;;) {
		size_t off = head % w->cap, room_end = w->cap - off;
		size_t want = need <= room_end ? need : room_end + need;

		if (head + want - w->tail_cache <= w->cap) {
			if (need > room_end) {
				struct slot *s = (struct slot *)(w->ring + off);

				s->kind = SLOT_WRAP;
				head += room_end;
				atomic_store_explicit(&w->head, head, memory_order_release);
				continue;
			}
			return off;
		}
		w->tail_cache = atomic_load_explicit(&w->tail, memory_order_acquire);
		if (head + want - w->tail_cache <= w->cap)
			continue;
		if (!waited) {
			ws->st.waits++;
			waited = true;
		}
		pause_briefly(&spins);
	}
}

static void ring_publish(struct worker *w, size_t len)
{
	size_t head = atomic_load_explicit(&w->head, memory_order_relaxed);

	atomic_store_explicit(&w->head, head + len, memory_order_release);
}

static void push(struct workers *ws, struct worker *w, uint32_t kind, uint64_t ts,
		 const struct pkt_raw *raw)
{
	size_t len = raw ? raw->caplen : 0, need = ALIGN8(sizeof(struct slot) + len);
	size_t off = ring_reserve(ws, w, need);
	struct slot *s = (struct slot *)(w->ring + off);

	s->kind = kind;
	s->len = (uint32_t)len;
	s->ts_ns = ts;
	s->wirelen = raw ? raw->wirelen : 0;
	s->linktype = raw ? raw->linktype : 0;
	if (len)
		memcpy(s + 1, raw->data, len);
	ring_publish(w, need);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	unsigned spins = 0;

	for (;;) {
		size_t tail = atomic_load_explicit(&w->tail, memory_order_relaxed);
		struct slot *s;
		size_t step;

		if (tail == w->head_cache) {
			w->head_cache = atomic_load_explicit(&w->head, memory_order_acquire);
			if (tail == w->head_cache) {
				pause_briefly(&spins);
				continue;
			}
		}
		spins = 0;
		s = (struct slot *)(w->ring + tail % w->cap);
		step = ALIGN8(sizeof(*s) + s->len);
		switch (s->kind) {
		case SLOT_PKT: {
			struct pkt_raw raw = { .ts_ns = s->ts_ns, .data = (const uint8_t *)(s + 1),
					       .caplen = s->len, .wirelen = s->wirelen,
					       .linktype = s->linktype };

			engine__packet(w->eng, &raw);
			break;
		}
		case SLOT_TICK:
			engine__tick(w->eng, s->ts_ns);
			break;
		case SLOT_WRAP:
			step = w->cap - tail % w->cap;
			break;
		case SLOT_SYNC:
			atomic_fetch_add_explicit(&w->processed, 1, memory_order_release);
			break;
		case SLOT_FINISH:
			engine__finish(w->eng);
			atomic_store_explicit(&w->tail, tail + step, memory_order_release);
			return NULL;
		}
		atomic_store_explicit(&w->tail, tail + step, memory_order_release);
	}
}

/* Symmetric: the same for both directions of a connection. */
static int pick_worker(const struct workers *ws, const struct pkt_raw *raw)
{
	struct pkt p;
	uint64_t a[2], b[2], ha, hb;

	if (ws->n == 1)
		return 0;
	if (decode__packet(raw, &p, NULL) != DECODE_OK)
		return 0;
	memcpy(a, p.src.b, 16);
	memcpy(b, p.dst.b, 16);
	ha = mt_mix64(a[0] ^ ws->hash_seed) ^ mt_mix64(a[1] + p.sport);
	hb = mt_mix64(b[0] ^ ws->hash_seed) ^ mt_mix64(b[1] + p.dport);
	return (int)(mt_mix64(ha + hb) % (uint64_t)ws->n);
}

int workers__packet(void *arg, const struct pkt_raw *raw)
{
	struct workers *ws = arg;
	int i = pick_worker(ws, raw);
	struct worker *w = &ws->w[i];

	if (ALIGN8(sizeof(struct slot) + raw->caplen) * 2 > w->cap) {
		ws->st.oversize++;
		return 0;
	}
	push(ws, w, SLOT_PKT, raw->ts_ns, raw);
	ws->st.enqueued++;
	return 0;
}

void workers__tick(struct workers *ws, uint64_t now_ns)
{
	for (int i = 0; i < ws->n; i++)
		push(ws, &ws->w[i], SLOT_TICK, now_ns, NULL);
}

void workers__drain(struct workers *ws)
{
	ws->syncs++;
	for (int i = 0; i < ws->n; i++)
		push(ws, &ws->w[i], SLOT_SYNC, 0, NULL);
	for (int i = 0; i < ws->n; i++) {
		unsigned spins = 0;

		while (atomic_load_explicit(&ws->w[i].processed, memory_order_acquire) < ws->syncs)
			pause_briefly(&spins);
	}
}

void workers__finish(struct workers *ws)
{
	for (int i = 0; i < ws->n; i++) {
		if (ws->w[i].done)
			continue;
		push(ws, &ws->w[i], SLOT_FINISH, 0, NULL);
		pthread_join(ws->w[i].thread, NULL);
		ws->w[i].done = 1;
	}
}

void workers__engine_stats(struct workers *ws, struct engine_stats *st)
{
	memset(st, 0, sizeof(*st));
	for (int i = 0; i < ws->n; i++) {
		struct engine_stats e;

		engine__stats(ws->w[i].eng, &e);
		mt_add_u64s(st, &e, sizeof(e));
	}
}

/* every field of engine_stats is a uint64_t counter: summed as an array */
_Static_assert(sizeof(struct engine_stats) % sizeof(uint64_t) == 0, "engine_stats");

void workers__stats(const struct workers *ws, struct workers_stats *st)
{
	*st = ws->st;
}

struct engine *workers__engine(struct workers *ws, int i)
{
	return ws->w[i].eng;
}

int workers__count(const struct workers *ws)
{
	return ws->n;
}

struct workers *workers__new(int n, const struct engine_cfg *cfg, const struct parsers_cfg *pc,
			     struct rec_out *out, size_t ring_bytes)
{
	struct workers *ws = calloc(1, sizeof(*ws));
	int err = 0;

	if (!ws || n < 1)
		goto nomem;
	ws->n = n;
	ws->hash_seed = cfg->seeded ? cfg->seed * 0x9e3779b97f4a7c15ULL + 1 : (uint64_t)time(NULL);
	ws->w = calloc((size_t)n, sizeof(*ws->w));
	if (!ws->w)
		goto nomem;
	if (!ring_bytes)
		ring_bytes = 8u << 20;
	for (int i = 0; i < n; i++) {
		struct worker *w = &ws->w[i];
		struct engine_cfg c = *cfg;

		c.seed = cfg->seed + (uint64_t)i; /* distinct, deterministic ids per worker */
		/* the process-wide limits are shared out: every worker gets its part */
		c.flow.max_flows = cfg->flow.max_flows / (uint32_t)n ? cfg->flow.max_flows / (uint32_t)n : 1;
		c.reasm.max_total_bytes = cfg->reasm.max_total_bytes / (uint64_t)n;
		c.frag.max_bytes = cfg->frag.max_bytes / (uint64_t)n;
		c.frag.max_datagrams = cfg->frag.max_datagrams / (uint32_t)n ? cfg->frag.max_datagrams / (uint32_t)n : 1;
		w->ws = ws;
		w->index = i;
		w->cap = ring_bytes;
		w->ring = aligned_alloc(64, ring_bytes);
		w->eng = engine__new(&c, out);
		if (!w->ring || !w->eng)
			goto nomem;
		if (pc && !(w->parsers = parsers__register(w->eng, pc)))
			goto nomem;
	}
	for (int i = 0; i < n; i++) {
		err = pthread_create(&ws->w[i].thread, NULL, worker_main, &ws->w[i]);
		if (err) {
			pr_warn("cannot start worker %d: %s\n", i, strerror(err));
			for (int k = 0; k < i; k++)
				push(ws, &ws->w[k], SLOT_FINISH, 0, NULL), pthread_join(ws->w[k].thread, NULL),
					ws->w[k].done = 1;
			for (int k = i; k < n; k++)
				ws->w[k].done = 1;
			workers__free(ws);
			errno = err;
			return NULL;
		}
	}
	return ws;
nomem:
	if (ws) {
		for (int i = 0; ws->w && i < n; i++)
			ws->w[i].done = 1;
		workers__free(ws);
	}
	errno = ENOMEM;
	return NULL;
}

void workers__free(struct workers *ws)
{
	if (!ws)
		return;
	workers__finish(ws);
	for (int i = 0; ws->w && i < ws->n; i++) {
		engine__free(ws->w[i].eng);
		parsers__free(ws->w[i].parsers);
		free(ws->w[i].ring);
	}
	free(ws->w);
	free(ws);
}
