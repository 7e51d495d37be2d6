/* SPDX-License-Identifier: BSD-3-Clause */
/* Flow table and per-connection TCP state, as Zeek's TCP analyzer keeps it: endpoint states
 * (conn_state), the history string, sizes from sequence numbers, packet and IP byte counts,
 * connection timeouts. One table per worker; no locking. */
#ifndef MAILTAP_FLOW_H
#define MAILTAP_FLOW_H

#include <stdbool.h>
#include <stdint.h>
#include "mailtap/pkt.h"
#include "mailtap/reasm.h"
#include "mailtap/types.h"

/* Zeek's TCP endpoint states (the numbering of Zeek's EndpointState). */
enum tcp_state {
	TCP_INACTIVE = 0,
	TCP_SYN_SENT,
	TCP_SYN_ACK_SENT,
	TCP_PARTIAL,
	TCP_ESTABLISHED,
	TCP_CLOSED,
	TCP_RESET,
};

struct tcp_ep {
	uint8_t state, prev_state;
	uint8_t window_scale;
	uint8_t did_close : 1;
	uint8_t fin_seen : 1;
	uint16_t fin_cnt, rst_cnt; /* Zeek's FIN_cnt and RST_cnt (storms), saturating */
	uint32_t start_seq, last_seq, ack_seq;
	uint32_t seq_wraps, ack_wraps;
	uint32_t window, window_seq, window_ack_seq;
	uint32_t hist_last_syn, hist_last_fin, hist_last_rst;
	uint32_t rxmt_cnt, gap_cnt, win0_cnt;
	uint64_t pkts, ip_bytes;
};

/* The history string (conn.log history) grows without limit in Zeek. Here its first
 * FLOW_HIST_INLINE letters live in the flow; a longer one (RST or FIN storms, many scaled
 * letters: rare) moves to a heap copy freed with the flow, up to FLOW_HIST_MAX letters: one
 * more than Zeek's Log::default_max_field_string_bytes, so that with the default logging
 * limits the record is Zeek's (the field cut to 4096 bytes and the weird
 * log_string_field_truncated, user/rec.c). Out-of-line copies of one flow table take at most
 * FLOW_HIST_HEAP_MAX bytes together. A letter past either bound is dropped and the flow
 * counted once in flow_stats.history_truncated. docs/records.md. */
#define FLOW_HIST_INLINE 31
#define FLOW_HIST_MAX 4097
#define FLOW_HIST_HEAP_MAX (16u << 20)

struct flow_app; /* the engine's per-connection application state */

struct flow {
	struct flow *hnext;	      /* hash chain */
	struct flow *lprev, *lnext;   /* idle list, least recently used first */
	struct flow *dprev, *dnext;   /* short-deadline list (attempt/close) */
	uint64_t deadline;	      /* ns; 0 when not on a deadline list */
	struct conn_id id;	      /* orig/resp as decided (Zeek's flip rules) */
	uint16_t tunnel;	      /* tunnels.h reference of its last tunnel (tunparents.h), 0: none,
				 * TUNNELS_NO_ROOM: its first found no room (in id's padding) */
	uint64_t start_ts;	      /* first packet */
	uint64_t last_ts;	      /* Zeek's LastTime (duration) */
	uint64_t seen_ts;	      /* last packet of any kind (idle timeout) */
	uint32_t hash;
	uint32_t hist_seen;	      /* Zeek's hist_seen mask */
	union {			      /* the history: flow__history() */
		char in[FLOW_HIST_INLINE + 1]; /* while hist_len <= FLOW_HIST_INLINE */
		char *heap;		       /* longer: its copy on the heap */
	} hist;
	char uid[MT_UID_LEN];
	uint16_t hist_len;
	uint8_t bits;		      /* FLOW_B_* */
	uint8_t seen_first_ack : 1;
	uint8_t rd_init : 1;	      /* rd[] initialised */
	uint8_t ks_done : 1;	      /* known_services: this connection's service was logged */
	uint8_t dl_kind : 2;	      /* which short deadline the flow is waiting for */
	uint8_t n_services;
	uint8_t services[3];	      /* enum flow_service, in confirmation order */
	uint16_t vlan[2];
	uint32_t weird_names_seen;    /* TCP weirds already written (once per connection) */
	/* Zeek's last_time of the endpoint that did not send the last packet (seen_ts; the one
	 * that did: FLOW_B_LAST_RESP), as ns before seen_ts; UINT32_MAX: none, or 4.29 s or more
	 * (the storm rule asks only whether it was within a second) */
	uint32_t other_gap_ns;
	uint64_t missed_bytes;
	struct tcp_ep ep[2];	      /* [MT_ORIG], [MT_RESP] */
	/* Each direction's stream (reassembly state is per connection, like the TCP state:
	 * no allocation until data is out of order). Initialised by the engine. The layout
	 * packs an idle connection into 480 bytes (docs/performance.md). */
	struct reasm_dir rd[2];
	struct flow_app *app;	      /* allocated at the first payload byte */
};

/* struct flow's bits */
#define FLOW_B_HIST_CUT 0x1	  /* a history letter was dropped (counted once) */
#define FLOW_B_CLOSE_DEFERRED 0x2 /* Zeek's close_deferred: a close waits for data pending */
#define FLOW_B_EOF 0x4		  /* << dir: Zeek's did_EOF of that direction's reassembler */
#define FLOW_B_WEIRD 0x10	  /* Zeek's DidWeird: a weird was raised on the connection */
#define FLOW_B_LAST_RESP 0x20	  /* the last packet (seen_ts) was the responder's */

enum flow_service { FLOW_SVC_SMTP = 1, FLOW_SVC_SSL = 2 };

struct flow_limits {
	uint32_t max_flows;	     /* tracked connections; the least recently used is evicted */
	uint64_t inactivity_ns;	     /* Zeek tcp_inactivity_timeout, 5 min */
	uint64_t close_delay_ns;     /* Zeek tcp_close_delay / tcp_reset_delay, 5 s */
	uint64_t attempt_ns;	     /* Zeek tcp_attempt_delay, 5 s */
	uint64_t linger_ns;	     /* Zeek tcp_connection_linger, 5 s */
};
void flow_limits__default(struct flow_limits *l);

struct flow_stats {
	uint64_t created, removed, evicted, active, peak;
	uint64_t reused, expired_idle, expired_close, expired_attempt;
	uint64_t history_truncated; /* flows whose history lost letters (FLOW_HIST_MAX/HEAP_MAX) */
	uint64_t history_heap_bytes; /* out-of-line history copies now */
	uint64_t buckets;
};

/* What one packet did to a connection, for the engine. */
struct flow_pkt_result {
	bool is_orig;
	bool deliver;		/* payload should go to reassembly */
	uint64_t rel_data_seq;	/* relative stream offset of the payload (1 = first byte) */
	bool ack_valid;
	uint64_t rel_ack;	/* relative ack of the peer's stream */
	bool fin, rst;
	bool established; /* this packet established the connection (Zeek's
			   * connection_established, both endpoints ESTABLISHED) */
	bool do_close;	  /* the sender closed (FIN/RST): flow__packet_done decides when */
	bool flipped;	  /* the roles flipped in place (Zeek's FlipRoles: the responder's SYN
			   * after the originator's SYN-ACK): id, ep[], rd[] and the directions'
			   * bits swapped, is_orig the sender's new role; the caller swaps what it
			   * keeps per direction */
};

/* Called for every flow leaving the table (timeout, eviction, reuse, flush). The flow is
 * freed after the call. */
typedef void (*flow_finish_fn)(void *u, struct flow *f, uint64_t now_ns);
/* Called for a weird with Zeek's name on a flow; addl and source (Zeek's analyzer name, "TCP"
 * for those the TCP analyzer raises through Analyzer::Weird) may be NULL. */
typedef void (*flow_weird_fn)(void *u, struct flow *f, uint64_t ts_ns, const char *name,
			      const char *addl, const char *source);

struct flow_table;

struct flow_table *flow_table__new(const struct flow_limits *l, uint64_t hash_seed,
				   flow_finish_fn finish, flow_weird_fn weird, void *u);
void flow_table__free(struct flow_table *t);
/* Removes flows whose timeouts passed by now_ns. */
void flow_table__expire(struct flow_table *t, uint64_t now_ns);
/* Finds or creates the connection of p and runs Zeek's TCP state machine for it. uid_fn
 * names new flows. Returns the flow, or NULL when p cannot be tracked. */
struct flow *flow_table__packet(struct flow_table *t, const struct pkt *p,
				struct flow_pkt_result *res,
				void (*uid_fn)(void *u, char uid[MT_UID_LEN]));
/* After the packet's reassembly (reasm__packet/ack/data on f->rd, which the caller keeps:
 * f->rd_init), Zeek's end of TCPSessionAdapter::Process: the EOF checks of the acked and the
 * sending direction (TCP_Reassembler::CheckEOF, EndpointEOF), then ConnectionClosed for a
 * packet that closed its direction, deferred while that direction has data pending
 * (DataPending: not everything up to its FIN delivered, or the peer holding data not acked).
 * A deferred close is done at the next EOF of either direction, as Zeek's. Without f->rd_init
 * the flow table closes at once (no reassembly: nothing is ever pending). */
void flow__packet_done(struct flow_table *t, struct flow *f, const struct flow_pkt_result *res);
/* Ends every flow (end of input). */
void flow_table__flush(struct flow_table *t, uint64_t now_ns);
void flow_table__stats(const struct flow_table *t, struct flow_stats *st);

/* The conn.log history string (NUL-terminated, hist_len letters). */
static inline const char *flow__history(const struct flow *f)
{
	return f->hist_len > FLOW_HIST_INLINE ? f->hist.heap : f->hist.in;
}
/* History letters from outside the state machine: a content gap ('G'/'g', scaled). */
void flow__gap(struct flow_table *t, struct flow *f, bool is_orig, uint64_t len);
/* A weird is raised on the connection, logged or not (Zeek's Connection::Weird sets its
 * DidWeird before weird.zeek's actions): possible_split_routing and TCP_scale_range are then
 * no longer raised. The flow table's own weirds set it themselves. */
static inline void flow__did_weird(struct flow *f)
{
	f->bits |= FLOW_B_WEIRD;
}
/* A limit was reached (Zeek's Analyzer::LimitReachedWeird): history 'X', once. */
void flow__limit_reached(struct flow_table *t, struct flow *f);
/* Adds a confirmed service (once, in order): true when it was not there. */
bool flow__confirm(struct flow *f, enum flow_service svc);
/* Removes a service again (its analyzer was disabled by a protocol violation). */
void flow__unconfirm(struct flow *f, enum flow_service svc);
/* conn.log fields derived from the state. */
const char *flow__conn_state(const struct flow *f);
uint64_t flow__size(const struct flow *f, bool is_orig);
/* Zeek's comma-separated service list into buf; returns its length (0: none). */
size_t flow__service(const struct flow *f, char *buf, size_t len);

#endif
