/* SPDX-License-Identifier: BSD-3-Clause */
/* The `stats` stream: the sensor's own counters, periodically and at exit (Zeek's stats.log
 * names where Zeek has them: pkts_proc, bytes_recv, pkts_dropped, pkts_link). */
#ifndef MAILTAP_REC_STATS_H
#define MAILTAP_REC_STATS_H

#include <stdint.h>
#include "mailtap/engine.h"

struct rec;
struct xsk_stats;

/* Writes one stats record. xs may be NULL (offline). */
void rec_stats__write(struct rec *r, uint64_t ts_ns, const struct engine_stats *es,
		      const struct xsk_stats *xs);

#endif
