// SPDX-License-Identifier: BSD-3-Clause
/* Workers: one thread and one engine each, fed by P producers (capture threads) through one
 * single-producer single-consumer byte ring per (producer, worker) pair. A ring holds
 * variable-length slots [hdr | frame], 8-byte aligned. The producer publishes with a release
 * store of `head`, the consumer with a release store of `tail`; each side caches the other's
 * index and only reloads it when it looks full/empty. A producer waiting for room spins, then
 * sleeps 20 us at a time; a worker without slots spins, then sleeps on a futex that the
 * producers ring (worker_idle): no locks, no syscalls on the fast path. A worker with several
 * rings takes, of the slots at their heads, the one with the earliest timestamp. */
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "mailtap/bits.h"
#include "mailtap/decode.h"
#include "mailtap/fragsteer.h"
#include "mailtap/knownset.h"
#include "mailtap/log.h"
#include "mailtap/parsers.h"
#include "mailtap/workers.h"

/* SLOT_SNAP: publish the engine's counters now (workers__sync_stats), nothing else. */
enum slot_kind { SLOT_PKT = 1, SLOT_TICK, SLOT_WRAP, SLOT_FINISH, SLOT_SNAP };

struct slot {
	uint32_t kind;
	uint32_t len;	 /* frame bytes following the header */
	uint64_t ts_ns;
	uint64_t net_ns; /* SLOT_PKT: its producer's network time (engine__packet_at) */
	uint32_t wirelen;
	int32_t linktype;
};

#define ALIGN8(x) (((x) + 7) & ~(size_t)7)
/* Bytes of the next slot a worker prefetches (about one full-size packet). */
#define WORKERS_PREFETCH 1536
/* Rounds of an idle worker's spinning (pause, then sched_yield) before it sleeps. */
#define WORKERS_SPINS 128
/* A worker without slots sleeps at first this long, then twice as long each time up to
 * WORKERS_NAP_NS: the first bounds a wake its producer missed while slots flow (worker_idle),
 * the last the wakeups of a worker idle for long */
#define WORKERS_NAP_MIN_NS 50000
#define WORKERS_NAP_NS 10000000

/* One producer's ring into one worker. */
struct ring {
	uint8_t *mem;
	size_t cap;
	bool finished; /* consumer side: the FINISH slot was taken */
	/* producer side */
	_Alignas(64) _Atomic size_t head;
	size_t tail_cache;
	/* consumer side */
	_Alignas(64) _Atomic size_t tail;
	size_t head_cache;
};

/* One producer: its counters (struct workers_stats), written by its thread only, read by
 * others: relaxed atomics, added with a plain load and store (no locked instruction); and its
 * fragment steering, used by its thread only. */
struct lane {
	_Alignas(64) _Atomic uint64_t enqueued;
	_Atomic uint64_t waits;
	_Atomic uint64_t oversize;
	struct workers *ws;
	int p;
	struct fragsteer *steer;
	uint64_t net_ns; /* the latest time of a mail-port packet this producer read: the
			  * network time its packets carry to the workers, as one engine would
			  * have it (engine__packet_at) */
};

static void lane_inc(_Atomic uint64_t *c)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + 1,
			      memory_order_relaxed);
}

struct worker {
	struct workers *ws;
	int index;
	struct engine *eng;
	struct parsers *parsers;
	pthread_t thread;
	struct ring *rings; /* [ws->np], one per producer */
	int done;
	/* the engine's counters as of its last tick, for readers on other threads */
	pthread_mutex_t snap_mu;
	struct engine_stats snap;
	uint64_t snap_now; /* engine__now at the snapshot */
	_Atomic uint64_t snaps; /* SLOT_SNAP slots handled */
	/* 1 while the worker sleeps (or is about to) for want of slots: the futex word the
	 * producers read after each slot they publish (its own line: read by them all) */
	_Alignas(64) _Atomic uint32_t asleep;
	_Atomic uint64_t naps; /* its sleeps (workers_stats) */
};

struct workers {
	int n;	/* workers */
	int np; /* producers */
	struct worker *w;
	struct lane *lanes;
	uint64_t hash_seed;
	uint8_t ports[65536 / 8]; /* engine_cfg's mail ports */
	struct decode_cfg dcfg;	  /* engine_cfg's tunnel ports */
	/* The end of input: one engine would end its open connections at the time of the last
	 * packet it saw, of all of them; a worker saw only its own. Each worker says it has
	 * reached the end and waits until all have: the latest of their times is then
	 * everyone's (end_ns), and each ends its connections at it (end_of_input). */
	pthread_mutex_t end_mu;
	pthread_cond_t end_cv;
	int end_arrived;
	bool end_known;
	uint64_t end_ns;
	/* weird.zeek's weird_ignore and did_log: one pair for all workers (engine_cfg), so that
	 * a weird one engine would hold back is held back whichever worker logged it */
	struct knownset *weird_ignore, *weird_did_log;
};

/* A worker at the end of its input: waits for the time of the end, then ends its
 * connections there. */
static void end_of_input(struct worker *w)
{
	struct workers *ws = w->ws;

	pthread_mutex_lock(&ws->end_mu);
	ws->end_arrived++;
	pthread_cond_broadcast(&ws->end_cv);
	while (!ws->end_known)
		pthread_cond_wait(&ws->end_cv, &ws->end_mu);
	pthread_mutex_unlock(&ws->end_mu);
	engine__tick(w->eng, ws->end_ns);
	engine__finish(w->eng);
}

/* Waits until `arrived` workers have reached the end (end_of_input), then sets the end time
 * for all of them: the latest time an engine saw. */
static void settle_end(struct workers *ws, int arrived)
{
	pthread_mutex_lock(&ws->end_mu);
	while (ws->end_arrived < arrived)
		pthread_cond_wait(&ws->end_cv, &ws->end_mu);
	for (int i = 0; i < ws->n; i++)
		if (engine__now(ws->w[i].eng) > ws->end_ns)
			ws->end_ns = engine__now(ws->w[i].eng);
	ws->end_known = true;
	pthread_cond_broadcast(&ws->end_cv);
	pthread_mutex_unlock(&ws->end_mu);
}

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

/* Wakes worker w if it sleeps (worker_idle). Only the caller that clears `asleep` calls the
 * kernel. */
static void wake(struct worker *w)
{
	if (atomic_exchange_explicit(&w->asleep, 0, memory_order_relaxed))
		syscall(SYS_futex, (uint32_t *)&w->asleep, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

/* Reserves `need` contiguous bytes in worker w's ring from lane l; returns the offset. Writes
 * a wrap slot when the end of the ring is too short. Waits while the consumer has not freed
 * enough. */
static size_t ring_reserve(struct lane *l, struct worker *w, size_t need)
{
	struct ring *r = &w->rings[l->p];
	size_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
	unsigned spins = 0;
	bool waited = false;

	for (;;) {
		size_t off = head % r->cap, room_end = r->cap - off;
		size_t want = need <= room_end ? need : room_end + need;

		if (head + want - r->tail_cache <= r->cap) {
			if (need > room_end) {
				struct slot *s = (struct slot *)(r->mem + off);

				s->kind = SLOT_WRAP;
				head += room_end;
				atomic_store_explicit(&r->head, head, memory_order_release);
				continue;
			}
			return off;
		}
		r->tail_cache = atomic_load_explicit(&r->tail, memory_order_acquire);
		if (head + want - r->tail_cache <= r->cap)
			continue;
		if (!waited) {
			lane_inc(&l->waits);
			waited = true;
			/* a full ring whose worker sleeps: it missed a wake (worker_idle) */
			wake(w);
		}
		pause_briefly(&spins);
	}
}

/* Lane l's slot into worker w's ring; wakes the worker if it sleeps. */
static void push(struct lane *l, struct worker *w, uint32_t kind, uint64_t ts,
		 const struct pkt_raw *raw)
{
	struct ring *r = &w->rings[l->p];
	size_t len = raw ? raw->caplen : 0, need = ALIGN8(sizeof(struct slot) + len);
	size_t off = ring_reserve(l, w, need);
	struct slot *s = (struct slot *)(r->mem + off);
	size_t head = atomic_load_explicit(&r->head, memory_order_relaxed);

	s->kind = kind;
	s->len = (uint32_t)len;
	s->ts_ns = ts;
	s->net_ns = l->net_ns;
	s->wirelen = raw ? raw->wirelen : 0;
	s->linktype = raw ? raw->linktype : 0;
	if (len)
		memcpy(s + 1, raw->data, len);
	atomic_store_explicit(&r->head, head + need, memory_order_release);
	/* a plain load of a line that changes only when the worker falls asleep or wakes */
	if (__builtin_expect(atomic_load_explicit(&w->asleep, memory_order_relaxed), 0))
		wake(w);
}

/* Consumer: the slot at the ring's head, or NULL when it is empty. Wrap slots are taken here. */
static struct slot *ring_peek(struct ring *r)
{
	for (;;) {
		size_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
		struct slot *s;

		if (tail == r->head_cache) {
			r->head_cache = atomic_load_explicit(&r->head, memory_order_acquire);
			if (tail == r->head_cache)
				return NULL;
		}
		s = (struct slot *)(r->mem + tail % r->cap);
		if (s->kind != SLOT_WRAP)
			return s;
		atomic_store_explicit(&r->tail, tail + (r->cap - tail % r->cap),
				      memory_order_release);
	}
}

static void ring_pop(struct ring *r, const struct slot *s)
{
	size_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);

	atomic_store_explicit(&r->tail, tail + ALIGN8(sizeof(*s) + s->len), memory_order_release);
}

/* The next slot of the worker's rings: with one producer, its head; with several, the head
 * with the earliest timestamp (FINISH first: it only comes after the producer's last slot). */
static struct slot *next_slot(struct worker *w, struct ring **from)
{
	struct slot *best = NULL;

	for (int p = 0; p < w->ws->np; p++) {
		struct ring *r = &w->rings[p];
		struct slot *s;

		if (r->finished || !(s = ring_peek(r)))
			continue;
		if (s->kind == SLOT_FINISH) {
			*from = r;
			return s;
		}
		if (!best || s->ts_ns < best->ts_ns) {
			best = s;
			*from = r;
		}
	}
	return best;
}

/* A worker without slots: spins WORKERS_SPINS rounds (slots come again at once while the
 * producers are busy), then sleeps on `asleep` until a producer publishes a slot (push wakes
 * it) or the nap ends. The producers' check of `asleep` after their release store of `head`
 * takes no fence (a locked instruction per packet), so a slot published just as the worker
 * falls asleep can go unseen by both sides (the store still in the producer's store buffer):
 * the first naps are short (WORKERS_NAP_MIN_NS, then doubling) so that a missed wake costs
 * little while slots flow (a 10 ms first nap made two workers 9% slower offline), and the
 * producer's next slot or a full ring (ring_reserve) wakes it sooner. A worker idle for long
 * sleeps WORKERS_NAP_NS at a time: a hundred wakeups a second (with the 20 us sleeps it had
 * before: some 10,000). *spins counts the naps past WORKERS_SPINS. */
static void worker_idle(struct worker *w, unsigned *spins)
{
	unsigned k = *spins - WORKERS_SPINS;
	uint64_t ns = k >= 8 ? WORKERS_NAP_NS : (uint64_t)WORKERS_NAP_MIN_NS << k;
	struct ring *r;

	if (*spins < WORKERS_SPINS) {
		pause_briefly(spins);
		return;
	}
	if (ns > WORKERS_NAP_NS)
		ns = WORKERS_NAP_NS;
	(*spins)++;
	atomic_store(&w->asleep, 1); /* seq_cst: before the rings are looked at again */
	if (!next_slot(w, &r))
		syscall(SYS_futex, (uint32_t *)&w->asleep, FUTEX_WAIT_PRIVATE, 1,
			&(struct timespec){ (time_t)(ns / 1000000000ULL),
					    (long)(ns % 1000000000ULL) },
			NULL, 0);
	atomic_store_explicit(&w->asleep, 0, memory_order_relaxed);
	lane_inc(&w->naps);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	unsigned spins = 0;
	int open = w->ws->np;

	while (open) {
		struct ring *r = NULL;
		struct slot *s = next_slot(w, &r);

		if (!s) {
			worker_idle(w, &spins);
			continue;
		}
		spins = 0;
		switch (s->kind) {
		case SLOT_PKT: {
			struct pkt_raw raw = { .ts_ns = s->ts_ns, .data = (const uint8_t *)(s + 1),
					       .caplen = s->len, .wirelen = s->wirelen,
					       .linktype = s->linktype };
			const char *next = (const char *)(s + 1) + ALIGN8(s->len);

			/* the next slot was written on another core: start bringing it over while
			 * this packet is processed (a hint: past the ring's end it does nothing) */
			for (int k = 0; k < WORKERS_PREFETCH; k += 64)
				__builtin_prefetch(next + k);
			engine__packet_at(w->eng, &raw, s->net_ns);
			break;
		}
		case SLOT_TICK:
			engine__tick(w->eng, s->ts_ns);
			pthread_mutex_lock(&w->snap_mu);
			engine__stats(w->eng, &w->snap);
			w->snap_now = engine__now(w->eng);
			pthread_mutex_unlock(&w->snap_mu);
			break;
		case SLOT_SNAP:
			pthread_mutex_lock(&w->snap_mu);
			engine__stats(w->eng, &w->snap);
			w->snap_now = engine__now(w->eng);
			pthread_mutex_unlock(&w->snap_mu);
			atomic_fetch_add_explicit(&w->snaps, 1, memory_order_release);
			break;
		case SLOT_FINISH:
			r->finished = true;
			open--;
			break;
		}
		ring_pop(r, s);
	}
	end_of_input(w);
	return NULL;
}

/* The worker of a connection: symmetric, the same for both directions. */
static int pick(const struct workers *ws, const struct mt_addr *src, uint16_t sport,
		const struct mt_addr *dst, uint16_t dport)
{
	uint64_t a[2], b[2], ha, hb;

	memcpy(a, src->b, 16);
	memcpy(b, dst->b, 16);
	ha = mt_mix64(a[0] ^ ws->hash_seed) ^ mt_mix64(a[1] + sport);
	hb = mt_mix64(b[0] ^ ws->hash_seed) ^ mt_mix64(b[1] + dport);
	/* the high half of hash * n: a multiply, not a division */
	return (int)(((unsigned __int128)mt_mix64(ha + hb) * (uint64_t)ws->n) >> 64);
}

static int pick_cb(void *ctx, const struct mt_addr *src, uint16_t sport,
		   const struct mt_addr *dst, uint16_t dport)
{
	struct lane *l = ctx;

	return pick(l->ws, src, sport, dst, dport);
}

/* Hands the frame to worker i (into its ring). */
static void deliver(struct lane *l, int i, const struct pkt_raw *raw)
{
	struct ring *r = &l->ws->w[i].rings[l->p];

	if (ALIGN8(sizeof(struct slot) + raw->caplen) * 2 > r->cap) {
		lane_inc(&l->oversize);
		return;
	}
	push(l, &l->ws->w[i], SLOT_PKT, raw->ts_ns, raw);
	lane_inc(&l->enqueued);
}

static void deliver_cb(void *ctx, int i, const struct pkt_raw *raw)
{
	deliver(ctx, i, raw);
}

int workers__packet_from(struct workers *ws, int producer, const struct pkt_raw *raw)
{
	struct lane *l = &ws->lanes[producer];
	struct pkt p;
	int i = 0;


	if (ws->n > 1) {
		switch (decode__packet(&ws->dcfg, raw, &p, NULL)) {
		case DECODE_OK:
			i = pick(ws, &p.src, p.sport, &p.dst, p.dport);
			/* the packets that move one engine's network time (engine__packet_at);
			 * a fragmented datagram's only its own worker's */
			if (raw->ts_ns > l->net_ns && (engine_cfg__port(ws->ports, p.sport) ||
						       engine_cfg__port(ws->ports, p.dport)))
				l->net_ns = raw->ts_ns;
			break;
		case DECODE_FRAGMENT:
			/* only the datagram's first fragment knows the ports: steered */
			if (p.l3) {
				fragsteer__packet(l->steer, raw, p.l3, p.l3_len);
				return 0;
			}
			break;
		default:
			break; /* the engine counts it, any worker will do */
		}
	}
	deliver(l, i, raw);
	return 0;
}

int workers__packet(void *arg, const struct pkt_raw *raw)
{
	return workers__packet_from(arg, 0, raw);
}

void workers__tick_from(struct workers *ws, int producer, uint64_t now_ns)
{
	for (int i = 0; i < ws->n; i++)
		push(&ws->lanes[producer], &ws->w[i], SLOT_TICK, now_ns, NULL);
}

void workers__tick(struct workers *ws, uint64_t now_ns)
{
	workers__tick_from(ws, 0, now_ns);
}

void workers__sync_stats(struct workers *ws)
{
	uint64_t want[ws->n];

	for (int i = 0; i < ws->n; i++) {
		want[i] = atomic_load_explicit(&ws->w[i].snaps, memory_order_acquire) + 1;
		push(&ws->lanes[0], &ws->w[i], SLOT_SNAP, 0, NULL);
	}
	for (int i = 0; i < ws->n; i++) {
		unsigned spins = 0;

		while (!ws->w[i].done &&
		       atomic_load_explicit(&ws->w[i].snaps, memory_order_acquire) < want[i])
			pause_briefly(&spins);
	}
}

void workers__finish(struct workers *ws)
{
	int running = 0;

	for (int i = 0; i < ws->n; i++)
		running += !ws->w[i].done;
	/* the fragments still held go first, by their addresses */
	for (int p = 0; running && p < ws->np; p++)
		if (ws->lanes[p].steer)
			fragsteer__flush(ws->lanes[p].steer);
	for (int i = 0; i < ws->n; i++)
		for (int p = 0; !ws->w[i].done && p < ws->np; p++)
			push(&ws->lanes[p], &ws->w[i], SLOT_FINISH, 0, NULL);
	if (running)
		settle_end(ws, running);
	for (int i = 0; i < ws->n; i++) {
		if (ws->w[i].done)
			continue;
		pthread_join(ws->w[i].thread, NULL);
		ws->w[i].done = 1;
	}
}

uint64_t workers__now(struct workers *ws)
{
	uint64_t now = 0;

	for (int i = 0; i < ws->n; i++) {
		struct worker *w = &ws->w[i];
		uint64_t t;

		if (w->done) {
			t = engine__now(w->eng); /* its thread has ended */
		} else {
			pthread_mutex_lock(&w->snap_mu);
			t = w->snap_now;
			pthread_mutex_unlock(&w->snap_mu);
		}
		if (t > now)
			now = t;
	}
	return now;
}

/* The high-water marks of engine_stats: of the workers, the largest (their peaks came at
 * different times: a sum was never in use at once). Every other field is summed. */
static const size_t peak_fields[] = {
	offsetof(struct engine_stats, flow.peak),
	offsetof(struct engine_stats, reasm.bytes_peak),
	offsetof(struct engine_stats, frag.peak_bytes),
};
#define N_PEAKS (sizeof(peak_fields) / sizeof(peak_fields[0]))

void workers__engine_stats(struct workers *ws, struct engine_stats *st)
{
	uint64_t peak[N_PEAKS] = { 0 };

	memset(st, 0, sizeof(*st));
	for (int i = 0; i < ws->n; i++) {
		struct worker *w = &ws->w[i];
		struct engine_stats e;

		if (w->done) {
			engine__stats(w->eng, &e); /* its thread has ended */
		} else {
			pthread_mutex_lock(&w->snap_mu);
			e = w->snap;
			pthread_mutex_unlock(&w->snap_mu);
		}
		mt_add_u64s(st, &e, sizeof(e));
		for (size_t k = 0; k < N_PEAKS; k++) {
			uint64_t v;

			memcpy(&v, (const char *)&e + peak_fields[k], sizeof(v));
			if (v > peak[k])
				peak[k] = v;
		}
	}
	for (size_t k = 0; k < N_PEAKS; k++)
		memcpy((char *)st + peak_fields[k], &peak[k], sizeof(peak[k]));
	/* the weird sets the workers share, once (each engine counted its own) */
	if (ws->weird_ignore)
		st->weird_state_evicted += knownset__evicted(ws->weird_ignore);
	if (ws->weird_did_log)
		st->weird_state_evicted += knownset__evicted(ws->weird_did_log);
}

/* every field of engine_stats is a uint64_t counter: summed as an array (the peaks then
 * replaced) */
_Static_assert(sizeof(struct engine_stats) % sizeof(uint64_t) == 0, "engine_stats");

void workers__stats(const struct workers *ws, struct workers_stats *st)
{
	memset(st, 0, sizeof(*st));
	for (int p = 0; p < ws->np; p++) {
		struct lane *l = &ws->lanes[p];

		st->enqueued += atomic_load_explicit(&l->enqueued, memory_order_relaxed);
		st->waits += atomic_load_explicit(&l->waits, memory_order_relaxed);
		st->oversize += atomic_load_explicit(&l->oversize, memory_order_relaxed);
		if (l->steer) { /* each counter read on its own while the producer runs */
			struct fragsteer_stats f;

			fragsteer__stats(l->steer, &f);
			st->frags_steered += f.fragments;
			st->frags_held += f.held;
			st->frags_unported += f.unported;
			st->frags_evicted += f.evicted;
		}
	}
	for (int i = 0; i < ws->n; i++)
		st->naps += atomic_load_explicit(&ws->w[i].naps, memory_order_relaxed);
}

struct engine *workers__engine(struct workers *ws, int i)
{
	return ws->w[i].eng;
}

int workers__count(const struct workers *ws)
{
	return ws->n;
}

int workers__producers(const struct workers *ws)
{
	return ws->np;
}

/* Stops the threads of workers [0, started) and marks every worker done. */
static void stop_started(struct workers *ws, int started)
{
	pthread_mutex_lock(&ws->end_mu); /* no end time to wait for */
	ws->end_known = true;
	pthread_mutex_unlock(&ws->end_mu);
	for (int i = 0; i < started; i++) {
		for (int p = 0; p < ws->np; p++)
			push(&ws->lanes[p], &ws->w[i], SLOT_FINISH, 0, NULL);
		pthread_join(ws->w[i].thread, NULL);
	}
	for (int i = 0; i < ws->n; i++)
		ws->w[i].done = 1;
}

/* A worker's part of a process-wide cap. At least 1: to reasm a max_total_bytes of 0 means
 * no limit, so 3 bytes among 4 workers must be 1 byte each, not unlimited. A cap of 0 (no
 * limit where a module has that meaning) stays 0. */
static uint64_t share_cap(uint64_t cap, int n)
{
	if (!cap)
		return 0;
	return cap / (uint64_t)n ? cap / (uint64_t)n : 1;
}

struct workers *workers__new(int n, int producers, const struct engine_cfg *cfg,
			     const struct parsers_cfg *pc, struct rec_out *out, size_t ring_bytes)
{
	struct workers *ws = calloc(1, sizeof(*ws));
	struct frag_limits fl = cfg->frag;
	int err = 0;

	if (!ws || n < 1 || producers < 1) {
		free(ws);
		errno = ws ? EINVAL : ENOMEM;
		return NULL;
	}
	ws->n = n;
	ws->np = producers;
	memcpy(ws->ports, cfg->ports, sizeof(ws->ports));
	ws->dcfg = cfg->decode;
	pthread_mutex_init(&ws->end_mu, NULL);
	pthread_cond_init(&ws->end_cv, NULL);
	ws->hash_seed = cfg->seeded ? cfg->seed * 0x9e3779b97f4a7c15ULL + 1 : (uint64_t)time(NULL);
	ws->w = aligned_alloc(64, sizeof(*ws->w) * (size_t)n); /* `asleep` on a line of its own */
	if (ws->w)
		memset(ws->w, 0, sizeof(*ws->w) * (size_t)n);
	for (int i = 0; ws->w && i < n; i++)
		ws->w[i].done = 1; /* until its thread runs: workers__free joins no other */
	ws->lanes = aligned_alloc(64, sizeof(*ws->lanes) * (size_t)producers);
	if (ws->lanes)
		memset(ws->lanes, 0, sizeof(*ws->lanes) * (size_t)producers);
	if (!ws->w || !ws->lanes)
		goto nomem;
	/* each producer steers fragments with its part of the fragment limits */
	fl.max_datagrams = cfg->frag.max_datagrams / (uint32_t)producers;
	if (fl.max_datagrams < 64)
		fl.max_datagrams = 64;
	fl.max_bytes = cfg->frag.max_bytes / (uint64_t)producers;
	if (fl.max_bytes < (256u << 10))
		fl.max_bytes = 256u << 10;
	for (int p = 0; p < producers; p++) {
		ws->lanes[p].ws = ws;
		ws->lanes[p].p = p;
		if (n > 1 && !(ws->lanes[p].steer = fragsteer__new(&fl, &ws->dcfg, pick_cb, deliver_cb,
								    &ws->lanes[p])))
			goto nomem;
	}
	if (!ring_bytes) {
		/* 8 MiB into each worker, shared out among the producers (at least 1 MiB each) */
		ring_bytes = (8u << 20) / (size_t)producers;
		if (ring_bytes < (1u << 20))
			ring_bytes = 1u << 20;
	}
	ring_bytes = ALIGN8(ring_bytes);
	/* weird.zeek's sets: one pair, as one engine has (unless the caller gave one) */
	if (n > 1 && !cfg->weird_ignore) {
		ws->weird_ignore = knownset__new(cfg->weird_state_max, ENGINE_WEIRD_IGNORE_NS, 0);
		if (!ws->weird_ignore || knownset__share(ws->weird_ignore) < 0)
			goto nomem;
	}
	if (n > 1 && !cfg->weird_did_log) {
		ws->weird_did_log =
		    knownset__new(cfg->weird_state_max, ENGINE_WEIRD_DID_LOG_NS, 0);
		if (!ws->weird_did_log || knownset__share(ws->weird_did_log) < 0)
			goto nomem;
	}
	for (int i = 0; i < n; i++) {
		struct worker *w = &ws->w[i];
		struct engine_cfg c = *cfg;

		c.seed = cfg->seed + (uint64_t)i; /* distinct, deterministic ids per worker */
		/* the process-wide limits are shared out: every worker gets its part */
		c.flow.max_flows = (uint32_t)share_cap(cfg->flow.max_flows, n);
		c.reasm.max_total_bytes = share_cap(cfg->reasm.max_total_bytes, n);
		c.frag.max_bytes = share_cap(cfg->frag.max_bytes, n);
		c.frag.max_datagrams = (uint32_t)share_cap(cfg->frag.max_datagrams, n);
		if (ws->weird_ignore)
			c.weird_ignore = ws->weird_ignore;
		if (ws->weird_did_log)
			c.weird_did_log = ws->weird_did_log;
		w->ws = ws;
		w->index = i;
		pthread_mutex_init(&w->snap_mu, NULL);
		w->rings = aligned_alloc(64, sizeof(*w->rings) * (size_t)producers);
		if (!w->rings)
			goto nomem;
		memset(w->rings, 0, sizeof(*w->rings) * (size_t)producers);
		for (int p = 0; p < producers; p++) {
			w->rings[p].cap = ring_bytes;
			if (!(w->rings[p].mem = aligned_alloc(64, ring_bytes)))
				goto nomem;
		}
		w->eng = engine__new(&c, out);
		if (!w->eng)
			goto nomem;
		if (pc && !(w->parsers = parsers__register(w->eng, pc)))
			goto nomem;
	}
	for (int i = 0; i < n; i++) {
		err = pthread_create(&ws->w[i].thread, NULL, worker_main, &ws->w[i]);
		if (err) {
			pr_warn("cannot start worker %d: %s\n", i, strerror(err));
			stop_started(ws, i);
			workers__free(ws);
			errno = err;
			return NULL;
		}
		ws->w[i].done = 0;
	}
	return ws;
nomem:
	workers__free(ws);
	errno = ENOMEM;
	return NULL;
}

void workers__free(struct workers *ws)
{
	if (!ws)
		return;
	if (ws->w)
		workers__finish(ws);
	for (int i = 0; ws->w && i < ws->n; i++) {
		engine__free(ws->w[i].eng);
		parsers__free(ws->w[i].parsers);
		for (int p = 0; ws->w[i].rings && p < ws->np; p++)
			free(ws->w[i].rings[p].mem);
		free(ws->w[i].rings);
		pthread_mutex_destroy(&ws->w[i].snap_mu);
	}
	for (int p = 0; ws->lanes && p < ws->np; p++)
		fragsteer__free(ws->lanes[p].steer);
	knownset__free(ws->weird_ignore); /* after the engines that used them */
	knownset__free(ws->weird_did_log);
	free(ws->w);
	free(ws->lanes);
	pthread_cond_destroy(&ws->end_cv);
	pthread_mutex_destroy(&ws->end_mu);
	free(ws);
}
