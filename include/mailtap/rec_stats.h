/* SPDX-License-Identifier: BSD-3-Clause */
/* The `stats` stream: the sensor's own counters, periodically and at exit (Zeek's stats.log
 * names where Zeek has them: pkts_proc, bytes_recv, pkts_dropped, pkts_link). */
#ifndef MAILTAP_REC_STATS_H
#define MAILTAP_REC_STATS_H

#include <stdint.h>
#include "mailtap/engine.h"

struct rec;
struct xsk_stats;
struct files_stats;
struct fwd_stats;
struct workers_stats;
struct tunnels_stats;
struct software_stats;
struct certval_stats;
struct known_certs_stats;
struct intel_stats;
struct notice_stats;

/* Writes one stats record. xs (live capture), ws (worker threads), fs (file analysis), fw
 * (Forward outputs, summed), tun (the tunnel table), sws (software detection), cvs
 * (certificate validation), kcs (known_certs), ins (intelligence) and nts (notices) may be
 * NULL. */
void rec_stats__write(struct rec *r, uint64_t ts_ns, const struct engine_stats *es,
		      const struct xsk_stats *xs, const struct workers_stats *ws,
		      const struct files_stats *fs, const struct fwd_stats *fw,
		      const struct tunnels_stats *tun, const struct software_stats *sws,
		      const struct certval_stats *cvs, const struct known_certs_stats *kcs,
		      const struct intel_stats *ins, const struct notice_stats *nts);

/* One capture_loss record (Zeek capture_loss.log, CaptureLoss::Info): ts ts_delta peer gaps
 * acks percent_lost. */
void rec_capture_loss__write(struct rec *r, uint64_t ts_ns, uint64_t delta_ns, uint64_t gaps,
			     uint64_t acks, double percent_lost);

#endif
