/* SPDX-License-Identifier: BSD-3-Clause */
/* The capture_loss stream: Zeek's policy/misc/capture-loss.zeek (loaded by local.zeek). In
 * network time, initial_ns after the first packet and then every interval_ns, a record
 * (CaptureLoss::Info: ts ts_delta peer gaps acks percent_lost) of the ACKs seen since the
 * last measurement and of those that acknowledged bytes never seen (Zeek's get_gap_stats());
 * CaptureLoss::Too_Much_Loss when the share reaches too_much percent, and
 * CaptureLoss::Too_Little_Traffic when no ACK was seen (minimum_acks 1); and the measurement
 * pending at the end, as Zeek's timers run when it terminates. The owner supplies
 * the counters, as totals since start: it knows where they are (one engine, or workers
 * to bring up to date first). */
#ifndef MAILTAP_CAPTURE_LOSS_H
#define MAILTAP_CAPTURE_LOSS_H

#include <stdbool.h>
#include <stdint.h>

struct rec;

struct capture_loss_cfg {
	uint64_t initial_ns;  /* CaptureLoss::initial_watch_interval (60 s) */
	uint64_t interval_ns; /* CaptureLoss::watch_interval (900 s); 0: off */
	double too_much;      /* CaptureLoss::too_much_loss, percent (10) */
};
void capture_loss_cfg__default(struct capture_loss_cfg *c);

struct capture_loss {
	struct capture_loss_cfg cfg;
	uint64_t next;	  /* network time of the next measurement; 0: not started */
	uint64_t last_ts; /* of the last measurement (or the start) */
	uint64_t last_acks, last_gaps;
};

void capture_loss__init(struct capture_loss *cl, const struct capture_loss_cfg *c);

/* Is a measurement (or the start: the first call) due at network time now? The cheap test
 * per packet. */
static inline bool capture_loss__due(const struct capture_loss *cl, uint64_t now)
{
	return cl->cfg.interval_ns && now >= cl->next;
}

/* At a due time: the first call only starts the clock (returns false, no counters needed);
 * later ones return true, and the owner then calls capture_loss__measure with the totals. */
bool capture_loss__tick(struct capture_loss *cl, uint64_t now);

/* Has the first packet started the clock (a measurement is pending)? */
static inline bool capture_loss__started(const struct capture_loss *cl)
{
	return cl->cfg.interval_ns && cl->next;
}

/* CaptureLoss::take_measurement: the record and notices, through r. Also at the end of the
 * capture once started (Zeek's pending measurement runs as it terminates). */
void capture_loss__measure(struct capture_loss *cl, struct rec *r, uint64_t now,
			   uint64_t acks_total, uint64_t gaps_total);

#endif
