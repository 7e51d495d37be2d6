// SPDX-License-Identifier: BSD-3-Clause
/* capture_loss records and notices (capture_loss.h). */
#include <stdio.h>
#include <string.h>
#include "mailtap/bits.h"
#include "mailtap/capture_loss.h"
#include "mailtap/notice.h"
#include "mailtap/rec.h"

void capture_loss_cfg__default(struct capture_loss_cfg *c)
{
	c->initial_ns = 60ULL * 1000000000ULL;
	c->interval_ns = 900ULL * 1000000000ULL;
	c->too_much = 10.0;
}

void capture_loss__init(struct capture_loss *cl, const struct capture_loss_cfg *c)
{
	memset(cl, 0, sizeof(*cl));
	cl->cfg = *c;
}

bool capture_loss__tick(struct capture_loss *cl, uint64_t now)
{
	if (!cl->cfg.interval_ns)
		return false;
	if (!cl->next) {
		cl->last_ts = now;
		cl->next = mt_add_sat64(now, cl->cfg.initial_ns);
		if (!cl->next)
			cl->next = 1;
		return false;
	}
	return now >= cl->next;
}

void capture_loss__measure(struct capture_loss *cl, struct rec *r, uint64_t now,
			   uint64_t acks_total, uint64_t gaps_total)
{
	uint64_t acks = acks_total - cl->last_acks, gaps = gaps_total - cl->last_gaps;
	double pct = acks ? 100.0 * (double)gaps / (double)acks : 0.0;

	rec__begin(r, "capture_loss", now);
	/* < 0 only if the caller's clock went back (main passes the latest packet time) */
	rec__interval(r, "ts_delta", (int64_t)(now - cl->last_ts));
	rec__cstr(r, "peer", rec__node());
	rec__u64(r, "gaps", gaps);
	rec__u64(r, "acks", acks);
	rec__double(r, "percent_lost", pct);
	rec__end(r);
	if (pct >= cl->cfg.too_much) {
		char msg[128];
		struct notice_info n = {
		    .ts_ns = now, .note = "CaptureLoss::Too_Much_Loss", .msg = msg};

		snprintf(msg, sizeof(msg),
			 "The capture loss script detected an estimated loss rate above %.3f%%",
			 pct);
		notice__raise(r, &n);
	}
	if (acks < 1) { /* CaptureLoss::minimum_acks */
		struct notice_info n = {
		    .ts_ns = now,
		    .note = "CaptureLoss::Too_Little_Traffic",
		    .msg = "Only observed 0 TCP ACKs and was expecting at least 1."};

		notice__raise(r, &n);
	}
	cl->last_ts = now;
	cl->last_acks = acks_total;
	cl->last_gaps = gaps_total;
	cl->next = mt_add_sat64(now, cl->cfg.interval_ns);
}
