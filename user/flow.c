// SPDX-License-Identifier: BSD-3-Clause
/* Flow table and Zeek's TCP connection state machine.
 *
 * The per-packet logic follows Zeek's TCPSessionAdapter::Process and TCP_Endpoint (snapshot
 * a13de64): endpoint initialisation, relative sequence numbers with wraps, history letters
 * (update_history and the scaled 'T'/'G'/'W' letters), window tracking for zero windows and
 * recisions, FIN and RST storms, the per-state update functions, and ConnectionClosed's close
 * bookkeeping. Timeouts follow
 * Zeek's defaults (tcp_attempt_delay, tcp_close_delay, tcp_connection_linger,
 * tcp_inactivity_timeout) but run as deadlines checked against packet time.
 *
 * Table: chained hash on the normalised 5-tuple (power-of-two buckets, doubled when the load
 * passes 1), an idle list in last-seen order (inactivity timeout and LRU eviction), and a
 * FIFO deadline list for the short timers. Every operation is O(1) amortised. */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mailtap/bits.h"
#include "mailtap/flow.h"
#include "mailtap/log.h"

#define NS 1000000000ULL
#define TOO_LARGE_SEQ_DELTA 1048576
/* Zeek's tcp_storm_thresh and tcp_storm_interarrival_thresh (init-bare.zeek) */
#define STORM_THRESH 1000
#define STORM_INTERARRIVAL_NS NS

/* Zeek's history mask bits (Connection.h HIST_*): orig in the low 16 bits, resp << 16. */
#define HIST_SYN_PKT 0x1
#define HIST_FIN_PKT 0x2
#define HIST_RST_PKT 0x4
#define HIST_FIN_RST_PKT 0x8
#define HIST_ACK_PKT 0x10
#define HIST_DATA_PKT 0x20
#define HIST_CORRUPT_PKT 0x40
#define HIST_MULTI_FLAG_PKT 0x80
#define HIST_UNKNOWN_PKT 0x400 /* Zeek's session-level 'X' */

enum deadline_kind { DL_NONE = 0, DL_ATTEMPT, DL_CLOSE, DL_LINGER };


/* Flows come from slabs of FLOW_SLAB objects (no per-object malloc header: an idle tracked
 * connection costs sizeof(struct flow) plus its hash bucket); freed flows go to a free list
 * and slabs are released with the table. Peak memory follows the peak number of flows,
 * which --max-flows bounds. */
#define FLOW_SLAB 1024

/* docs/performance.md: an idle tracked connection within 512 bytes with its hash bucket */
_Static_assert(sizeof(struct flow) <= 480, "struct flow grew past its budget");

struct flow_slab {
	struct flow_slab *next;
	struct flow f[FLOW_SLAB];
};

struct flow_table {
	struct flow_slab *slabs;
	struct flow *free_list; /* linked through hnext */
	struct flow_limits lim;
	struct flow **buckets;
	uint32_t mask;
	uint64_t hash_seed;
	struct flow *lru_head, *lru_tail;
	struct flow *dl_head, *dl_tail;
	flow_finish_fn finish;
	flow_weird_fn weird;
	void *u;
	struct flow_stats st;
};

void flow_limits__default(struct flow_limits *l)
{
	l->max_flows = 1000000;
	l->inactivity_ns = 300 * NS;
	l->close_delay_ns = 5 * NS;
	l->attempt_ns = 5 * NS;
	l->linger_ns = 5 * NS;
}

static inline int32_t seq_delta(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b);
}

/* ---- hashing ---------------------------------------------------------------------- */

/* Symmetric: the same value for both directions. */
static uint32_t tuple_hash(const struct flow_table *t, const struct mt_addr *a, uint16_t pa,
			   const struct mt_addr *b, uint16_t pb)
{
	uint64_t wa[2], wb[2], h;

	memcpy(wa, a->b, 16);
	memcpy(wb, b->b, 16);
	h = mt_mix64(wa[0] ^ t->hash_seed) + mt_mix64(wa[1] ^ ((uint64_t)pa << 7)) +
	    mt_mix64(wb[0] ^ t->hash_seed) + mt_mix64(wb[1] ^ ((uint64_t)pb << 7));
	return (uint32_t)mt_mix64(h);
}

static bool flow_match(const struct flow *f, const struct pkt *p, bool *is_orig)
{
	if (f->id.orig_p == p->sport && f->id.resp_p == p->dport &&
	    !mt_addr__cmp(&f->id.orig_h, &p->src) && !mt_addr__cmp(&f->id.resp_h, &p->dst)) {
		*is_orig = true;
		return true;
	}
	if (f->id.orig_p == p->dport && f->id.resp_p == p->sport &&
	    !mt_addr__cmp(&f->id.orig_h, &p->dst) && !mt_addr__cmp(&f->id.resp_h, &p->src)) {
		*is_orig = false;
		return true;
	}
	return false;
}

static int table_grow(struct flow_table *t)
{
	uint32_t nmask = t->mask * 2 + 1;
	struct flow **nb = calloc((size_t)nmask + 1, sizeof(*nb));

	if (!nb)
		return -ENOMEM;
	for (uint32_t i = 0; i <= t->mask; i++) {
		struct flow *f = t->buckets[i], *next;

		for (; f; f = next) {
			next = f->hnext;
			f->hnext = nb[f->hash & nmask];
			nb[f->hash & nmask] = f;
		}
	}
	free(t->buckets);
	t->buckets = nb;
	t->mask = nmask;
	t->st.buckets = (uint64_t)nmask + 1;
	return 0;
}

static struct flow *flow_alloc(struct flow_table *t)
{
	struct flow *f = t->free_list;

	if (!f) {
		struct flow_slab *sl = malloc(sizeof(*sl));

		if (!sl)
			return NULL;
		sl->next = t->slabs;
		t->slabs = sl;
		for (int i = FLOW_SLAB - 1; i >= 0; i--) {
			sl->f[i].hnext = t->free_list;
			t->free_list = &sl->f[i];
		}
		f = t->free_list;
	}
	t->free_list = f->hnext;
	memset(f, 0, sizeof(*f));
	return f;
}

static void flow_release(struct flow_table *t, struct flow *f)
{
	f->hnext = t->free_list;
	t->free_list = f;
}

/* ---- lists ------------------------------------------------------------------------- */

static void lru_unlink(struct flow_table *t, struct flow *f)
{
	if (f->lprev)
		f->lprev->lnext = f->lnext;
	else
		t->lru_head = f->lnext;
	if (f->lnext)
		f->lnext->lprev = f->lprev;
	else
		t->lru_tail = f->lprev;
	f->lprev = f->lnext = NULL;
}

static void lru_append(struct flow_table *t, struct flow *f)
{
	f->lnext = NULL;
	f->lprev = t->lru_tail;
	if (t->lru_tail)
		t->lru_tail->lnext = f;
	else
		t->lru_head = f;
	t->lru_tail = f;
}

static void dl_unlink(struct flow_table *t, struct flow *f)
{
	
	if (f->dl_kind == DL_NONE)
		return;
	if (f->dprev)
		f->dprev->dnext = f->dnext;
	else
		t->dl_head = f->dnext;
	if (f->dnext)
		f->dnext->dprev = f->dprev;
	else
		t->dl_tail = f->dprev;
	f->dprev = f->dnext = NULL;
	f->deadline = 0;
	f->dl_kind = DL_NONE;
}

#define DL_WALK_MAX 256

static void dl_set(struct flow_table *t, struct flow *f, enum deadline_kind k, uint64_t at)
{
	struct flow *after;

	dl_unlink(t, f);
	after = t->dl_tail;
	f->dl_kind = (uint8_t)k;
	f->deadline = at;
	/* in deadline order, as Zeek's timer queue fires them (PQ_TimerMgr: every timer due by
	 * network time). The deadlines come from packet times (Zeek's attempt, close and linger
	 * timers: the packet's t, Conn()->LastTime()), so they come in order unless the
	 * capture's times go back: then the walk from the tail finds the place. At most
	 * DL_WALK_MAX steps (a file crafted with times going back could make every insertion
	 * walk every pending deadline): past them the deadline waits behind later ones */
	for (int n = 0; after && after->deadline > at && n < DL_WALK_MAX; n++)
		after = after->dprev;
	f->dprev = after;
	f->dnext = after ? after->dnext : t->dl_head;
	if (f->dnext)
		f->dnext->dprev = f;
	else
		t->dl_tail = f;
	if (after)
		after->dnext = f;
	else
		t->dl_head = f;
}

/* ---- table ------------------------------------------------------------------------- */

struct flow_table *flow_table__new(const struct flow_limits *l, uint64_t hash_seed,
				   flow_finish_fn finish, flow_weird_fn weird, void *u)
{
	struct flow_table *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->lim = *l;
	if (!t->lim.max_flows)
		t->lim.max_flows = 1;
	t->mask = 1023;
	t->buckets = calloc((size_t)t->mask + 1, sizeof(*t->buckets));
	if (!t->buckets) {
		free(t);
		errno = ENOMEM;
		return NULL;
	}
	t->st.buckets = (uint64_t)t->mask + 1;
	t->hash_seed = hash_seed;
	t->finish = finish;
	t->weird = weird;
	t->u = u;
	return t;
}

static void hist_free(struct flow_table *t, struct flow *f);

static void flow_remove(struct flow_table *t, struct flow *f, uint64_t now)
{
	struct flow **pp = &t->buckets[f->hash & t->mask];

	while (*pp && *pp != f)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = f->hnext;
	lru_unlink(t, f);
	dl_unlink(t, f);
	t->st.active--;
	t->st.removed++;
	if (t->finish)
		t->finish(t->u, f, now);
	hist_free(t, f);
	flow_release(t, f);
}

void flow_table__free(struct flow_table *t)
{
	if (!t)
		return;
	while (t->lru_head)
		flow_remove(t, t->lru_head, 0);
	while (t->slabs) {
		struct flow_slab *n = t->slabs->next;

		free(t->slabs);
		t->slabs = n;
	}
	free(t->buckets);
	free(t);
}

void flow_table__flush(struct flow_table *t, uint64_t now_ns)
{
	while (t->lru_head)
		flow_remove(t, t->lru_head, now_ns);
}

void flow_table__stats(const struct flow_table *t, struct flow_stats *st)
{
	*st = t->st;
}

static bool linger_done(const struct flow *f)
{
	const struct tcp_ep *o = &f->ep[MT_ORIG], *r = &f->ep[MT_RESP];

	if (!o->did_close && !r->did_close)
		return false;
	return (o->did_close && r->did_close) || o->state == TCP_RESET || r->state == TCP_RESET ||
	       o->state == TCP_INACTIVE || r->state == TCP_INACTIVE;
}

void flow_table__expire(struct flow_table *t, uint64_t now)
{
	while (t->dl_head && t->dl_head->deadline <= now) {
		struct flow *f = t->dl_head;
				const struct tcp_ep *o = &f->ep[MT_ORIG], *r = &f->ep[MT_RESP];

		switch (f->dl_kind) {
		case DL_ATTEMPT:
			if ((o->state == TCP_SYN_SENT || o->state == TCP_SYN_ACK_SENT) &&
			    r->state == TCP_INACTIVE) {
				t->st.expired_attempt++;
				flow_remove(t, f, now);
				continue;
			}
			break;
		case DL_CLOSE:
			t->st.expired_close++;
			flow_remove(t, f, now);
			continue;
		case DL_LINGER:
			if (linger_done(f) && f->last_ts + t->lim.linger_ns <= now) {
				t->st.expired_close++;
				flow_remove(t, f, now);
				continue;
			}
			break;
		default:
			break;
		}
		dl_unlink(t, f);
	}
	while (t->lru_head && t->lru_head->seen_ts + t->lim.inactivity_ns <= now) {
		t->st.expired_idle++;
		flow_remove(t, t->lru_head, now);
	}
}

/* ---- history ----------------------------------------------------------------------- */

/* Bytes of the out-of-line copy of a history of len letters: powers of two from 64, the
 * last one just large enough for FLOW_HIST_MAX. */
static size_t hist_heap_size(uint32_t len)
{
	size_t n = 64;

	while (n < (size_t)len + 1)
		n *= 2;
	return n < FLOW_HIST_MAX + 1 ? n : FLOW_HIST_MAX + 1;
}

static void hist_cut(struct flow_table *t, struct flow *f)
{
	if (!(f->bits & FLOW_B_HIST_CUT)) {
		f->bits |= FLOW_B_HIST_CUT;
		t->st.history_truncated++;
	}
}

/* Zeek's Connection::AddHistory (within FLOW_HIST_MAX and FLOW_HIST_HEAP_MAX). */
static void add_history(struct flow_table *t, struct flow *f, char c)
{
	uint32_t len = f->hist_len;
	char *h;

	if (len < FLOW_HIST_INLINE) {
		h = f->hist.in;
	} else if (len >= FLOW_HIST_MAX) {
		hist_cut(t, f);
		return;
	} else {
		size_t have = len == FLOW_HIST_INLINE ? 0 : hist_heap_size(len);
		size_t want = hist_heap_size(len + 1);

		if (want > have) {
			if (t->st.history_heap_bytes - have + want > FLOW_HIST_HEAP_MAX) {
				hist_cut(t, f);
				return;
			}
			h = have ? realloc(f->hist.heap, want) : malloc(want);
			if (!h) {
				hist_cut(t, f);
				return;
			}
			if (!have)
				memcpy(h, f->hist.in, len + 1);
			f->hist.heap = h;
			t->st.history_heap_bytes += want - have;
		}
		h = f->hist.heap;
	}
	h[len] = c;
	h[len + 1] = '\0';
	f->hist_len = (uint16_t)(len + 1);
}

static void hist_free(struct flow_table *t, struct flow *f)
{
	if (f->hist_len > FLOW_HIST_INLINE) {
		t->st.history_heap_bytes -= hist_heap_size(f->hist_len);
		free(f->hist.heap);
	}
	f->hist_len = 0;
	f->hist.in[0] = '\0';
}

static inline char dir_code(bool is_orig, char c)
{
	return is_orig ? c : (char)(c - 'A' + 'a');
}

/* Zeek's TCP_Endpoint::CheckHistory: true if already seen; adds the letter otherwise. */
static bool check_history(struct flow_table *t, struct flow *f, bool is_orig, uint32_t mask,
			  char code)
{
	if (!is_orig)
		mask <<= 16;
	if (f->hist_seen & mask)
		return true;
	f->hist_seen |= mask;
	add_history(t, f, dir_code(is_orig, code));
	return false;
}

/* Zeek's ScaledHistoryEntry: a letter at the 1st, 10th, 100th ... occurrence. */
static void scaled_history(struct flow_table *t, struct flow *f, bool is_orig, char code,
			   uint32_t *cnt)
{
	uint32_t c = ++*cnt;

	while (c >= 10 && c % 10 == 0)
		c /= 10;
	if (c == 1)
		add_history(t, f, dir_code(is_orig, code));
}

void flow__gap(struct flow_table *t, struct flow *f, bool is_orig, uint64_t len)
{
	f->missed_bytes += len;
	scaled_history(t, f, is_orig, 'G', &f->ep[is_orig ? MT_ORIG : MT_RESP].gap_cnt);
}

void flow__limit_reached(struct flow_table *t, struct flow *f)
{
	if (f->hist_seen & HIST_UNKNOWN_PKT)
		return;
	f->hist_seen |= HIST_UNKNOWN_PKT;
	add_history(t, f, 'X');
}

bool flow__confirm(struct flow *f, enum flow_service svc)
{
	for (int i = 0; i < f->n_services; i++)
		if (f->services[i] == svc)
			return false;
	if (f->n_services >= sizeof(f->services))
		return false;
	f->services[f->n_services++] = (uint8_t)svc;
	return true;
}

void flow__unconfirm(struct flow *f, enum flow_service svc)
{
	for (int i = 0; i < f->n_services; i++)
		if (f->services[i] == svc) {
			memmove(f->services + i, f->services + i + 1, (size_t)(f->n_services - i - 1));
			f->n_services--;
			return;
		}
}

size_t flow__service(const struct flow *f, char *buf, size_t len)
{
	size_t n = 0;

	if (len)
		buf[0] = '\0';
	for (int i = 0; i < f->n_services; i++) {
		const char *s = f->services[i] == FLOW_SVC_SMTP ? "smtp" : "ssl";
		size_t sl = strlen(s);

		if ((n ? 1 : 0) + sl >= len - n)
			break; /* whole names only */
		if (n)
			buf[n++] = ',';
		memcpy(buf + n, s, sl);
		n += sl;
		buf[n] = '\0';
	}
	return n;
}

/* ---- sizes and state --------------------------------------------------------------- */

static inline uint64_t full_seq(uint32_t seq, uint32_t wraps)
{
	return ((uint64_t)wraps << 32) | seq;
}

/* Zeek's TCP_Endpoint::NoDataAcked: nothing of this endpoint's was acked, allowing for the
 * SYN's octet. In the full 64-bit sequence space (start_seq is the 32-bit start, as Zeek's
 * StartSeqI64), so start + 1 past 2^32 needs a wrap of the ack to match. */
static bool no_data_acked(const struct tcp_ep *e)
{
	uint64_t ack64 = full_seq(e->ack_seq, e->ack_wraps);

	return ack64 == e->start_seq || ack64 == (uint64_t)e->start_seq + 1;
}

static uint64_t ep_size(const struct tcp_ep *e, const struct tcp_ep *peer)
{
	uint64_t size, last64, ack64;

	/* a half-open connection discovered and aborted: its sequence numbers say nothing */
	if (e->prev_state == TCP_SYN_SENT && e->state == TCP_RESET && peer->state == TCP_INACTIVE &&
	    !no_data_acked(e))
		return 0;
	last64 = full_seq(e->last_seq, e->seq_wraps);
	ack64 = full_seq(e->ack_seq, e->ack_wraps);
	if (last64 > ack64)
		size = last64 - e->start_seq;
	else
		size = ack64 - e->start_seq;
	if (size != 0)
		--size;
	if (e->fin_seen && size != 0)
		--size;
	return size;
}

uint64_t flow__size(const struct flow *f, bool is_orig)
{
	int d = is_orig ? MT_ORIG : MT_RESP;

	return ep_size(&f->ep[d], &f->ep[!d]);
}

/* /^\^?S[^HAFGIQ]*R.*$/ as Zeek's conn_state matches it against the history. */
static bool history_rstos0(const char *h)
{
	if (*h == '^')
		h++;
	if (*h != 'S')
		return false;
	for (h++; *h; h++) {
		if (*h == 'R')
			return true;
		if (strchr("HAFGIQ", *h))
			return false;
	}
	return false;
}

const char *flow__conn_state(const struct flow *f)
{
	int os = f->ep[MT_ORIG].state, rs = f->ep[MT_RESP].state;
	bool o_inactive = os == TCP_INACTIVE || os == TCP_PARTIAL;
	bool r_inactive = rs == TCP_INACTIVE || rs == TCP_PARTIAL;

	if (rs == TCP_RESET) {
		if (os == TCP_SYN_SENT || os == TCP_SYN_ACK_SENT ||
		    (os == TCP_RESET && flow__size(f, true) == 0 && flow__size(f, false) == 0))
			return "REJ";
		return o_inactive ? "RSTRH" : "RSTR";
	}
	if (os == TCP_RESET) {
		if (r_inactive)
			return history_rstos0(flow__history(f)) ? "RSTOS0" : "OTH";
		return "RSTO";
	}
	if (rs == TCP_CLOSED && os == TCP_CLOSED)
		return "SF";
	if (os == TCP_CLOSED)
		return r_inactive ? "SH" : "S2";
	if (rs == TCP_CLOSED)
		return o_inactive ? "SHR" : "S3";
	if (os == TCP_SYN_SENT && rs == TCP_INACTIVE)
		return "S0";
	if (os == TCP_ESTABLISHED && rs == TCP_ESTABLISHED)
		return "S1";
	return "OTH";
}

/* ---- Zeek's TCP state machine ------------------------------------------------------ */

struct pctx {
	struct flow_table *t;
	struct flow *f;
	const struct pkt *p;
	bool is_orig;
	struct tcp_ep *ep, *peer;
	uint8_t fl;
	uint32_t base_seq, ack_seq;
	uint32_t len;
	bool do_close, gen_event;
	bool established;  /* Zeek's connection_established with both endpoints established */
	bool storm_recent; /* the sender's previous packet came within the storm interarrival */
	bool flipped;	   /* flip_roles */
};

#define F_SYN(c) ((c)->fl & PKT_TCP_SYN)
#define F_ACK(c) ((c)->fl & PKT_TCP_ACK)
#define F_FIN(c) ((c)->fl & PKT_TCP_FIN)
#define F_RST(c) ((c)->fl & PKT_TCP_RST)
#define F_URG(c) ((c)->fl & PKT_TCP_URG)

static void weird_addl(struct pctx *c, const char *name, const char *addl, const char *source)
{
	flow__did_weird(c->f);
	if (c->t->weird)
		c->t->weird(c->t->u, c->f, c->p->ts_ns, name, addl, source);
}

/* A weird Zeek's TCP analyzer raises through Analyzer::Weird: its name as the source. */
static void weird(struct pctx *c, const char *name)
{
	weird_addl(c, name, NULL, "TCP");
}

/* One raised through the connection (endpoint->Conn()->Weird): no source. */
static void conn_weird(struct pctx *c, const char *name)
{
	weird_addl(c, name, NULL, NULL);
}

static void set_state(struct pctx *c, struct tcp_ep *e, int s)
{
	if (s != e->state) {
		e->prev_state = e->state;
		e->state = (uint8_t)s;
	}
}

static void init_endpoint(struct pctx *c, uint32_t first_seq, uint32_t last_seq)
{
	struct tcp_ep *e = c->ep;

	switch (e->state) {
	case TCP_INACTIVE:
		if (F_SYN(c)) {
			e->ack_seq = first_seq;
			e->start_seq = first_seq;
		} else {
			e->ack_seq = first_seq - 1;
			e->start_seq = first_seq - 1;
			last_seq = first_seq;
		}
		e->last_seq = last_seq;
		break;
	case TCP_SYN_SENT:
	case TCP_SYN_ACK_SENT:
		if (F_SYN(c) && first_seq != e->start_seq) {
			conn_weird(c, "SYN_seq_jump");
			e->start_seq = e->ack_seq = first_seq;
			e->last_seq = last_seq;
		}
		break;
	case TCP_ESTABLISHED:
	case TCP_PARTIAL:
		if (F_SYN(c)) {
			if (ep_size(e, c->peer) > 0)
				conn_weird(c, "SYN_inside_connection");
			if (first_seq != e->start_seq)
				conn_weird(c, "SYN_seq_jump");
			e->start_seq = e->ack_seq = first_seq;
			e->last_seq = last_seq;
		}
		break;
	case TCP_RESET:
		if (F_SYN(c) && e->prev_state == TCP_INACTIVE) {
			e->start_seq = e->ack_seq = first_seq;
			e->last_seq = last_seq;
		}
		break;
	default:
		break;
	}
}

static uint64_t relative_seq(const struct tcp_ep *e, uint32_t cur, uint32_t last, uint32_t wraps,
			     bool *underflow)
{
	int32_t delta = seq_delta(cur, last);

	if (delta < 0) {
		if (wraps && cur > last)
			--wraps;
	} else if (delta > 0) {
		if (cur < last)
			++wraps;
	}
	if (wraps == 0) {
		delta = seq_delta(cur, e->start_seq);
		if (underflow && delta < 0)
			*underflow = true;
		return (uint64_t)(int64_t)delta;
	}
	return full_seq(cur, wraps) - e->start_seq;
}

static void update_history(struct pctx *c, uint64_t rel_seq)
{
	struct flow *f = c->f;
	struct tcp_ep *e = c->ep;
	int bits = !!F_SYN(c) + !!F_FIN(c) + !!F_RST(c);

	if (bits > 1) {
		if (F_FIN(c) && F_RST(c))
			check_history(c->t, f, c->is_orig, HIST_FIN_RST_PKT, 'I');
		else
			check_history(c->t, f, c->is_orig, HIST_MULTI_FLAG_PKT, 'Q');
	} else if (bits == 1) {
		if (F_SYN(c)) {
			char code = F_ACK(c) ? 'H' : 'S';

			if (check_history(c->t, f, c->is_orig, HIST_SYN_PKT, code) &&
			    (uint32_t)rel_seq != e->hist_last_syn)
				add_history(c->t, f, dir_code(c->is_orig, code));
			e->hist_last_syn = (uint32_t)rel_seq;
		}
		if (F_FIN(c)) {
			if (check_history(c->t, f, c->is_orig, HIST_FIN_PKT, 'F') &&
			    (uint32_t)(rel_seq + c->len) != e->hist_last_fin)
				add_history(c->t, f, dir_code(c->is_orig, 'F'));
			e->hist_last_fin = (uint32_t)(rel_seq + c->len);
		}
		if (F_RST(c)) {
			if (check_history(c->t, f, c->is_orig, HIST_RST_PKT, 'R') &&
			    (uint32_t)rel_seq != e->hist_last_rst)
				add_history(c->t, f, dir_code(c->is_orig, 'R'));
			e->hist_last_rst = (uint32_t)rel_seq;
		}
	} else {
		if (c->len)
			check_history(c->t, f, c->is_orig, HIST_DATA_PKT, 'D');
		else if (F_ACK(c))
			check_history(c->t, f, c->is_orig, HIST_ACK_PKT, 'A');
	}
}

static void update_window(struct pctx *c)
{
	struct tcp_ep *e = c->ep;
	uint32_t scale = e->window_scale;
	uint32_t window = (uint32_t)c->p->win << scale;

	if (window == 0 && !F_RST(c) && c->peer->state != TCP_CLOSED && e->state != TCP_RESET)
		scaled_history(c->t, c->f, c->is_orig, 'W', &e->win0_cnt);
	if (!F_SYN(c) && !F_FIN(c) && !F_RST(c) && e->state != TCP_CLOSED &&
	    e->state != TCP_RESET) {
		if (seq_delta(c->base_seq, e->window_seq) >= 0 &&
		    seq_delta(c->ack_seq, e->window_ack_seq) >= 0) {
			/* the right edge moved back by a scaling unit or more */
			int32_t advance =
			    seq_delta(c->ack_seq + window, e->window_ack_seq + e->window);

			if (advance < 0 && -(int64_t)advance >= (int64_t)1 << scale)
				conn_weird(c, "window_recision");
			e->window = window;
			e->window_ack_seq = c->ack_seq;
			e->window_seq = c->base_seq;
		}
	}
}

static void init_window(struct pctx *c)
{
	struct tcp_ep *e = c->ep, *peer = c->peer;
	int scale = c->p->wscale == 0xff ? -1 : c->p->wscale;

	if (scale < 0) {
		if (F_ACK(c)) {
			e->window_scale = 0;
			peer->window_scale = 0;
		} else {
			e->window_scale = 0;
		}
	} else {
		if (scale > 14) {
			char addl[8];

			/* the scale offered, as Zeek's addl; source TCP; not after another weird */
			snprintf(addl, sizeof(addl), "%d", scale);
			if (!(c->f->bits & FLOW_B_WEIRD))
				weird_addl(c, "TCP_scale_range", addl, "TCP");
			scale = 14;
		}
		e->window_scale = (uint8_t)scale;
		e->window_seq = c->base_seq;
		e->window_ack_seq = c->ack_seq;
		peer->window_seq = c->ack_seq;
		peer->window_ack_seq = c->base_seq;
	}
}

static void init_peer(struct pctx *c)
{
	struct tcp_ep *peer = c->peer, *e = c->ep;

	if (!F_SYN(c) && !F_FIN(c) && !F_RST(c)) {
		if ((e->state == TCP_SYN_SENT || e->state == TCP_SYN_ACK_SENT ||
		     e->state == TCP_ESTABLISHED) &&
		    !(c->f->bits & FLOW_B_WEIRD))
			conn_weird(c, "possible_split_routing");
	}
	peer->start_seq = peer->ack_seq = peer->last_seq = c->ack_seq - 1;
}

static void update_ack_seq(struct tcp_ep *e, uint32_t ack)
{
	int32_t d = seq_delta(ack, e->ack_seq);

	if (ack == 0 && d > TOO_LARGE_SEQ_DELTA)
		return;
	if (d > 0) {
		if (ack < e->ack_seq)
			++e->ack_wraps;
		e->ack_seq = ack;
	}
}

static void update_last_seq_raw(struct tcp_ep *e, uint32_t seq)
{
	if (seq < e->last_seq)
		++e->seq_wraps;
	e->last_seq = seq;
}

static int32_t update_last_seq(struct pctx *c, uint32_t last_seq)
{
	struct tcp_ep *e = c->ep;
	int32_t d = seq_delta(last_seq, e->last_seq);

	if ((F_SYN(c) || F_RST(c)) && (d > TOO_LARGE_SEQ_DELTA || d < -TOO_LARGE_SEQ_DELTA))
		;
	else if (F_FIN(c) && e->last_seq == e->start_seq + 1)
		update_last_seq_raw(e, last_seq);
	else if (e->state == TCP_RESET)
		;
	else if (d > 0)
		update_last_seq_raw(e, last_seq);
	else if (d <= 0 && c->len > 0)
		scaled_history(c->t, c->f, c->is_orig, 'T', &e->rxmt_cnt);
	return d;
}

/* Zeek's Connection::FlipRoles with TCPSessionAdapter's: the originator becomes the
 * responder, in place: addresses and ports, the endpoints (with their counts and sizes), the
 * reassembly of each direction and its EOF, and '^'. The history's seen mask stays (Zeek's
 * hist_seen is the connection's), and so does seen_first_ack (the adapter's). */
static void flip_roles(struct pctx *c)
{
	struct flow *f = c->f;
	struct mt_addr a = f->id.orig_h;
	uint16_t port = f->id.orig_p;
	struct tcp_ep ep = f->ep[MT_ORIG];
	struct reasm_dir rd = f->rd[MT_ORIG];
	uint8_t eof = f->bits & (FLOW_B_EOF << MT_ORIG | FLOW_B_EOF << MT_RESP);

	f->id.orig_h = f->id.resp_h;
	f->id.orig_p = f->id.resp_p;
	f->id.resp_h = a;
	f->id.resp_p = port;
	f->ep[MT_ORIG] = f->ep[MT_RESP];
	f->ep[MT_RESP] = ep;
	f->rd[MT_ORIG] = f->rd[MT_RESP];
	f->rd[MT_RESP] = rd;
	f->rd[MT_ORIG].dir = MT_ORIG;
	f->rd[MT_RESP].dir = MT_RESP;
	f->bits &= (uint8_t)~eof;
	if (eof & (FLOW_B_EOF << MT_ORIG))
		f->bits |= FLOW_B_EOF << MT_RESP;
	if (eof & (FLOW_B_EOF << MT_RESP))
		f->bits |= FLOW_B_EOF << MT_ORIG;
	f->bits ^= FLOW_B_LAST_RESP;
	add_history(c->t, f, '^');
	c->is_orig = !c->is_orig;
	c->ep = &f->ep[c->is_orig ? MT_ORIG : MT_RESP];
	c->peer = &f->ep[c->is_orig ? MT_RESP : MT_ORIG];
	c->flipped = true;
}

static void update_inactive(struct pctx *c)
{
	struct tcp_ep *e = c->ep, *peer = c->peer;
	struct flow *f = c->f;
	bool is_orig = c->is_orig; /* the role before a flip, as Zeek's is_orig here */

	if (F_SYN(c)) {
		if (is_orig) {
			if (F_ACK(c)) {
				weird(c, "connection_originator_SYN_ack");
				set_state(c, e, TCP_SYN_ACK_SENT);
			} else {
				set_state(c, e, TCP_SYN_SENT);
			}
			if (f->dl_kind == DL_NONE)
				dl_set(c->t, f, DL_ATTEMPT, c->p->ts_ns + c->t->lim.attempt_ns);
		} else {
			if (F_ACK(c)) {
				if (peer->state != TCP_INACTIVE && peer->state != TCP_PARTIAL &&
				    !(seq_delta(c->ack_seq, peer->start_seq) >= 0 &&
				      seq_delta(c->ack_seq, peer->last_seq) <= 0))
					weird(c, "bad_SYN_ack");
			} else if (peer->state == TCP_SYN_ACK_SENT && c->base_seq == e->start_seq) {
				/* SYN/SYN-ACK reversal (two capture interfaces; is_reuse kept the
				 * connection): the roles flip, the peer is established */
				flip_roles(c);
				e = c->ep;
				peer = c->peer;
				set_state(c, peer, TCP_ESTABLISHED);
			} else {
				weird(c, "simultaneous_open");
			}
			if (peer->state == TCP_SYN_SENT)
				set_state(c, peer, TCP_ESTABLISHED);
			else if (peer->state == TCP_INACTIVE)
				weird(c, "unsolicited_SYN_response");
			set_state(c, e, TCP_ESTABLISHED);
			if (peer->state != TCP_PARTIAL)
				c->established = peer->state == TCP_ESTABLISHED;
		}
	}
	if (F_FIN(c)) {
		set_state(c, e, TCP_CLOSED);
		c->do_close = c->gen_event = true;
		if (peer->state != TCP_PARTIAL && !F_SYN(c))
			weird(c, "spontaneous_FIN");
	}
	if (F_RST(c)) {
		bool is_reject = false;

		set_state(c, e, TCP_RESET);
		if (is_orig) {
			if (peer->state == TCP_ESTABLISHED)
				is_reject = true;
		} else if (peer->state == TCP_SYN_SENT || peer->state == TCP_SYN_ACK_SENT) {
			is_reject = true;
		}
		c->do_close = true;
		c->gen_event = !is_reject;
		if (!is_reject && peer->state == TCP_INACTIVE)
			weird(c, "spontaneous_RST");
	}
	if (e->state == TCP_INACTIVE) {
		if (!is_orig && c->len == 0 && f->ep[MT_ORIG].state == TCP_SYN_SENT)
			;
		else if (F_ACK(c) && peer->state == TCP_ESTABLISHED) {
			set_state(c, e, TCP_ESTABLISHED);
		} else {
			set_state(c, e, TCP_PARTIAL);
		}
	}
}

static void update_syn_sent(struct pctx *c)
{
	struct tcp_ep *e = c->ep, *peer = c->peer;

	if (F_SYN(c)) {
		if (c->is_orig) {
			if (F_ACK(c) && !F_FIN(c) && !F_RST(c) && e->state != TCP_SYN_ACK_SENT)
				weird(c, "repeated_SYN_with_ack");
		} else if (!F_ACK(c) && e->state != TCP_SYN_SENT) {
			weird(c, "repeated_SYN_reply_wo_ack");
		}
	}
	if (F_FIN(c)) {
		if (peer->state == TCP_INACTIVE || peer->state == TCP_SYN_SENT)
			weird(c, "inappropriate_FIN");
		set_state(c, e, TCP_CLOSED);
		c->do_close = c->gen_event = true;
	}
	if (F_RST(c)) {
		set_state(c, e, TCP_RESET);
		c->do_close = true;
	} else if (c->len > 0) {
		weird(c, "data_before_established");
	}
}

static void update_established(struct pctx *c)
{
	struct tcp_ep *e = c->ep, *peer = c->peer;

	if (F_SYN(c) && e->state == TCP_PARTIAL && peer->state == TCP_INACTIVE && !F_ACK(c)) {
		weird(c, "SYN_after_partial");
		set_state(c, e, TCP_SYN_SENT);
	}
	if (F_FIN(c) && !F_RST(c)) {
		set_state(c, e, TCP_CLOSED);
		if (peer->state == TCP_RESET && peer->prev_state == TCP_CLOSED)
			set_state(c, peer, TCP_CLOSED);
		c->do_close = c->gen_event = true;
	}
	if (F_RST(c)) {
		set_state(c, e, TCP_RESET);
		c->do_close = true;
	}
}

static void update_closed(struct pctx *c, int32_t delta_last)
{
	struct tcp_ep *e = c->ep;

	if (F_SYN(c))
		weird(c, "SYN_after_close");
	if (F_FIN(c) && delta_last > 0)
		weird(c, "FIN_advanced_last_seq");
	if (F_RST(c) && c->peer->state != TCP_CLOSED) {
		set_state(c, e, TCP_RESET);
		if (!e->did_close)
			c->do_close = true;
	}
}

static void update_reset(struct pctx *c)
{
	if (F_SYN(c))
		weird(c, "SYN_after_reset");
	if (F_FIN(c))
		weird(c, "FIN_after_reset");
	if (c->len > 0 && !F_RST(c))
		weird(c, "data_after_reset");
}

/* Zeek's TCPSessionAdapter::DataPending for direction d (TCP_Reassembler::DataPending): not
 * everything up to the last sequence number seen (but a FIN's) was delivered, or the peer
 * holds data not yet acked (its retained or buffered bytes; not when d was reset). In the
 * reassembler's relative space, which is Zeek's start + DataSeq() against LastSeq(). */
static bool data_pending(const struct flow *f, int d)
{
	const struct reasm_dir *r = &f->rd[d];

	if (!f->rd_init || reasm__skipping(r))
		return false;
	if (r->last < r->next)
		return false;
	if (r->next != r->last - 1 && r->next != r->last)
		return true;
	return f->ep[d].state != TCP_RESET && reasm__has_blocks(&f->rd[!d]);
}

/* Zeek's TCPSessionAdapter::ConnectionClosed for the direction d that closed. */
static void connection_closed(struct flow_table *t, struct flow *f, int d)
{
	struct tcp_ep *e = &f->ep[d], *peer = &f->ep[!d];
	bool complete;

	if (data_pending(f, d)) {
		f->bits |= FLOW_B_CLOSE_DEFERRED; /* not closed yet: more data to deliver */
		return;
	}
	f->bits &= (uint8_t)~FLOW_B_CLOSE_DEFERRED;
	if (e->did_close)
		return;
	e->did_close = 1;
	complete = e->state == TCP_RESET || peer->did_close || peer->state == TCP_INACTIVE;
	if (complete)
		dl_set(t, f, DL_CLOSE, f->last_ts + t->lim.close_delay_ns);
	else
		dl_set(t, f, DL_LINGER, f->last_ts + t->lim.linger_ns);
}

/* Zeek's TCP_Reassembler::CheckEOF and TCPSessionAdapter::EndpointEOF for direction d. */
static void check_eof(struct flow_table *t, struct flow *f, int d)
{
	const struct tcp_ep *e = &f->ep[d];

	if (f->bits & (FLOW_B_EOF << d))
		return;
	if (!e->fin_seen && e->state != TCP_CLOSED && e->state != TCP_RESET)
		return;
	if (data_pending(f, d))
		return;
	f->bits |= (uint8_t)(FLOW_B_EOF << d);
	if (f->bits & FLOW_B_CLOSE_DEFERRED) {
		connection_closed(t, f, d);
		f->bits &= (uint8_t)~FLOW_B_CLOSE_DEFERRED;
	}
}

void flow__packet_done(struct flow_table *t, struct flow *f, const struct flow_pkt_result *res)
{
	int d = res->is_orig ? MT_ORIG : MT_RESP;

	if (!f->rd_init)
		return;
	if (res->ack_valid)
		check_eof(t, f, !d); /* AckReceived */
	check_eof(t, f, d);
	if (res->do_close)
		connection_closed(t, f, d);
}

static void tcp_process(struct pctx *c, struct flow_pkt_result *res)
{
	struct flow *f = c->f;
	struct tcp_ep *e = c->ep, *peer = c->peer;
	const struct pkt *p = c->p;
	uint32_t seg_len = c->len, one_past;
	uint64_t rel_seq, rel_ack = 0;
	bool underflow = false;
	int32_t delta_last;

	if (F_SYN(c))
		seg_len++;
	if (F_FIN(c))
		seg_len++;
	if (F_RST(c))
		seg_len -= c->len;
	one_past = c->base_seq + seg_len;
	init_endpoint(c, c->base_seq, one_past);
	rel_seq = relative_seq(e, c->base_seq, e->last_seq, e->seq_wraps, &underflow);
	if (underflow && !F_RST(c))
		weird(c, "TCP_seq_underflow_or_misorder");
	update_history(c, rel_seq);
	update_window(c);
	if (!f->ep[MT_ORIG].did_close || !f->ep[MT_RESP].did_close)
		f->last_ts = p->ts_ns;
	if (F_SYN(c)) {
		if (F_RST(c))
			weird(c, "TCP_christmas");
		if (F_URG(c))
			weird(c, "baroque_SYN");
		if (c->len > 0)
			weird(c, "SYN_with_data");
		init_window(c);
	}
	/* Zeek's FIN and RST storms: the threshold reached, the sender's previous packet within
	 * the interarrival time */
	if (F_FIN(c)) {
		e->fin_seen = 1;
		if (e->fin_cnt < UINT16_MAX)
			e->fin_cnt++;
		if (e->fin_cnt >= STORM_THRESH && c->storm_recent)
			weird(c, "FIN_storm");
	}
	if (F_RST(c)) {
		if (e->rst_cnt < UINT16_MAX)
			e->rst_cnt++;
		if (e->rst_cnt >= STORM_THRESH && c->storm_recent)
			weird(c, "RST_storm");
	}
	if (F_ACK(c)) {
		if (c->is_orig && !f->seen_first_ack &&
		    (e->state == TCP_ESTABLISHED || e->state == TCP_SYN_SENT))
			f->seen_first_ack = 1;
		if (peer->state == TCP_INACTIVE) {
			rel_ack = 1;
			init_peer(c);
		} else {
			bool au = false;

			rel_ack = relative_seq(peer, c->ack_seq, peer->ack_seq, peer->ack_wraps, &au);
			if (au) {
				rel_ack = 0;
				weird(c, "TCP_ack_underflow_or_misorder");
			} else if (!F_RST(c)) {
				update_ack_seq(peer, c->ack_seq);
			}
		}
	}
	delta_last = update_last_seq(c, one_past);
	switch (e->state) {
	case TCP_INACTIVE:
		update_inactive(c);
		break;
	case TCP_SYN_SENT:
	case TCP_SYN_ACK_SENT:
		update_syn_sent(c);
		break;
	case TCP_ESTABLISHED:
	case TCP_PARTIAL:
		update_established(c);
		break;
	case TCP_CLOSED:
		update_closed(c, delta_last);
		break;
	case TCP_RESET:
		update_reset(c);
		break;
	}
	res->ack_valid = F_ACK(c) != 0;
	res->rel_ack = rel_ack;
	res->rel_data_seq = F_SYN(c) ? rel_seq + 1 : rel_seq;
	res->deliver = false;
	if (c->len > 0 && !F_RST(c) && !underflow) {
		if (p->payload_len >= c->len)
			res->deliver = true;
		else
			weird(c, "truncated_tcp_payload");
	}
	res->fin = F_FIN(c) != 0;
	res->rst = F_RST(c) != 0;
	/* ConnectionClosed comes after the payload: flow__packet_done, with reassembly */
	res->do_close = c->do_close && f->rd_init;
	if (c->do_close && !f->rd_init)
		connection_closed(c->t, f, c->is_orig ? MT_ORIG : MT_RESP);
	else if (!c->do_close && f->dl_kind == DL_LINGER)
		dl_set(c->t, f, DL_LINGER, f->last_ts + c->t->lim.linger_ns);
}

/* ---- lookup / create --------------------------------------------------------------- */

/* Zeek's likely_server_ports as far as mail goes (SMTP 25 and 587, SSL 465), and 2525, which
 * Zeek's set lacks: an alternative mail port (a deliberate difference, docs/design.md). */
static bool likely_server_port(uint16_t port)
{
	return port == 25 || port == 465 || port == 587 || port == 2525;
}

/* Did the sender (is_orig) send its previous packet less than the storm interarrival time
 * before now (Zeek's now < endpoint->last_time + tcp_storm_interarrival_thresh)? Then this
 * packet is the sender's last: f->seen_ts (set by the caller), FLOW_B_LAST_RESP and
 * other_gap_ns follow. */
static bool storm_recent(struct flow *f, bool is_orig, uint64_t now)
{
	uint64_t since = now > f->seen_ts ? now - f->seen_ts : 0;
	bool last_resp = f->bits & FLOW_B_LAST_RESP;
	bool recent;

	if (last_resp == !is_orig) { /* the last packet was the sender's too */
		recent = since < STORM_INTERARRIVAL_NS;
		since += f->other_gap_ns; /* the other endpoint's last packet, further back */
	} else {
		recent = f->other_gap_ns != UINT32_MAX &&
			 f->other_gap_ns + since < STORM_INTERARRIVAL_NS;
		f->bits ^= FLOW_B_LAST_RESP;
	}
	f->other_gap_ns = since < UINT32_MAX ? (uint32_t)since : UINT32_MAX;
	return recent;
}

/* Zeek's TCP_Endpoint::IsActive */
static bool ep_active(const struct tcp_ep *e)
{
	return e->state != TCP_INACTIVE && !e->did_close;
}

/* Zeek's IsReuse: a new initial SYN on a known connection starts a new connection. *why is
 * the weird Zeek raises on the old connection before it is removed (NULL: none). */
static bool is_reuse(const struct flow_table *t, const struct flow *f, const struct pkt *p,
		     const char **why)
{
	const struct tcp_ep *conn_orig = &f->ep[MT_ORIG];
	const struct tcp_ep *o = &f->ep[MT_ORIG], *r = &f->ep[MT_RESP];
	bool no_rst = o->state != TCP_RESET && r->state != TCP_RESET;

	*why = NULL;
	if (!(p->tcp_flags & PKT_TCP_SYN))
		return false;
	if (p->tcp_flags & PKT_TCP_ACK) {
		if (o->state != TCP_INACTIVE)
			return false;
		conn_orig = r;
	}
	if (!(o->did_close || r->did_close)) {
		if (p->seq == conn_orig->start_seq)
			return false;
		if (!(p->tcp_flags & PKT_TCP_ACK) && conn_orig->state == TCP_SYN_ACK_SENT &&
		    r->state == TCP_INACTIVE && p->seq == r->start_seq)
			return false; /* SYN/SYN-ACK reversal: update_inactive flips the roles */
		*why =
		    conn_orig->state == TCP_SYN_SENT ? "SYN_seq_jump" : "active_connection_reuse";
	} else if ((ep_active(o) || ep_active(r)) && no_rst) {
		*why = "active_connection_reuse";
	} else if ((int64_t)(p->ts_ns - f->last_ts) < (int64_t)t->lim.linger_ns && no_rst) {
		*why = "premature_connection_reuse";
	}
	return true;
}

struct flow *flow_table__packet(struct flow_table *t, const struct pkt *p,
				struct flow_pkt_result *res,
				void (*uid_fn)(void *u, char uid[MT_UID_LEN]))
{
	uint32_t h = tuple_hash(t, &p->src, p->sport, &p->dst, p->dport);
	struct flow *f;
	struct pctx c;
	bool is_orig = true, recent = false;
	const char *why;

	struct flow **pp = &t->buckets[h & t->mask];

	/* A found flow moves to the front of its chain: closed connections wait out their
	 * close delay in the table, and the next packet of this one need not walk them. */
	for (; (f = *pp); pp = &f->hnext)
		if (f->hash == h && flow_match(f, p, &is_orig)) {
			if (pp != &t->buckets[h & t->mask]) {
				*pp = f->hnext;
				f->hnext = t->buckets[h & t->mask];
				t->buckets[h & t->mask] = f;
			}
			break;
		}
	if (f && is_reuse(t, f, p, &why)) {
		if (why) { /* the TCP analyzer's, on the old connection */
			flow__did_weird(f);
			if (t->weird)
				t->weird(t->u, f, p->ts_ns, why, NULL, "TCP");
		}
		t->st.reused++;
		flow_remove(t, f, p->ts_ns);
		f = NULL;
	}
	if (!f) {
		bool flip = false;

		if (t->st.active >= t->lim.max_flows && t->lru_head) {
			t->st.evicted++;
			flow_remove(t, t->lru_head, p->ts_ns);
		}
		f = flow_alloc(t);
		if (!f)
			return NULL;
		/* Zeek's TCPAnalyzer::WantConnection: a connection that starts without a SYN or
		 * with a SYN-ACK is flipped when the source port looks like the server's. */
		if (!(p->tcp_flags & PKT_TCP_SYN) || (p->tcp_flags & PKT_TCP_ACK)) {
			if (likely_server_port(p->sport)) {
				if (likely_server_port(p->dport))
					flip = !(p->tcp_flags & PKT_TCP_SYN) && p->sport < p->dport;
				else
					flip = true;
			}
		}
		if (!flip) {
			f->id.orig_h = p->src;
			f->id.resp_h = p->dst;
			f->id.orig_p = p->sport;
			f->id.resp_p = p->dport;
			is_orig = true;
		} else {
			f->id.orig_h = p->dst;
			f->id.resp_h = p->src;
			f->id.orig_p = p->dport;
			f->id.resp_p = p->sport;
			is_orig = false;
		}
		f->id.proto = IPPROTO_TCP;
		f->hash = h;
		f->start_ts = f->last_ts = p->ts_ns;
		f->vlan[0] = p->vlan[0];
		f->vlan[1] = p->vlan[1];
		if (uid_fn)
			uid_fn(t->u, f->uid);
		if (flip)
			add_history(t, f, '^');
		/* no packet of either endpoint before this one: none recent */
		f->other_gap_ns = UINT32_MAX;
		if (!is_orig)
			f->bits |= FLOW_B_LAST_RESP;
		f->hnext = t->buckets[h & t->mask];
		t->buckets[h & t->mask] = f;
		t->st.created++;
		t->st.active++;
		if (t->st.active > t->st.peak)
			t->st.peak = t->st.active;
		if (t->st.active > (uint64_t)t->mask + 1)
			table_grow(t);
		lru_append(t, f);
	} else {
		lru_unlink(t, f);
		lru_append(t, f);
		recent = storm_recent(f, is_orig, p->ts_ns);
	}
	f->seen_ts = p->ts_ns;

	memset(&c, 0, sizeof(c));
	c.t = t;
	c.f = f;
	c.p = p;
	c.is_orig = is_orig;
	c.ep = &f->ep[is_orig ? MT_ORIG : MT_RESP];
	c.peer = &f->ep[is_orig ? MT_RESP : MT_ORIG];
	c.fl = p->tcp_flags;
	c.base_seq = p->seq;
	c.ack_seq = p->ack;
	c.len = p->payload_wire_len;
	c.storm_recent = recent;
	c.ep->pkts++;
	c.ep->ip_bytes += p->ip_len;
	res->is_orig = is_orig;
	res->established = false;
	tcp_process(&c, res);
	/* connection_established's handlers check both endpoints' states after the whole
	 * packet: a SYN-ACK with FIN or RST left its sender CLOSED or RESET */
	res->established = c.established && f->ep[MT_ORIG].state == TCP_ESTABLISHED &&
			   f->ep[MT_RESP].state == TCP_ESTABLISHED;
	res->is_orig = c.is_orig;
	res->flipped = c.flipped;
	return f;
}
