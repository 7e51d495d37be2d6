/* SPDX-License-Identifier: BSD-3-Clause */
/* The `stats` stream: Zeek's stats.log (policy/misc/stats.zeek, loaded by local.zeek) for
 * what mailtap has of it, and the sensor's own counters, periodically and at exit. */
#ifndef MAILTAP_REC_STATS_H
#define MAILTAP_REC_STATS_H

#include <stdbool.h>
#include <stdint.h>
#include "mailtap/engine.h"
#include "mailtap/hostcap.h"

struct rec;
struct xsk_stats;
struct files_stats;
struct fwd_stats;
struct workers_stats;
struct tunnels_stats;
struct software_stats;
struct certval_stats;
struct known_certs_stats;
struct app_tls_stats;
struct intel_stats;
struct notice_stats;

/* What one stats record reports. es is required; every other part is NULL when it is off:
 * xs (live capture), ws (worker threads), fs (file analysis), fw (Forward outputs, summed),
 * tun (the tunnel table), sws (software detection), cvs (certificate validation), kcs
 * (known_certs), ins (intelligence), nts (notices), tls (the ssl parser). */
struct stats_sources {
	const struct engine_stats *es;
	const struct xsk_stats *xs;
	const struct hostcap_stats *hs; /* host mode (--capture host) */
	const struct workers_stats *ws;
	const struct files_stats *fs;
	const struct fwd_stats *fw;
	const struct tunnels_stats *tun;
	const struct software_stats *sws;
	const struct certval_stats *cvs;
	const struct known_certs_stats *kcs;
	const struct app_tls_stats *tls;
	const struct intel_stats *ins;
	const struct notice_stats *nts;
	uint64_t mem_bytes;  /* peak resident memory (rec_stats__peak_resident_bytes: Zeek's
			      * get_proc_stats()$mem), logged in MiB as Zeek's mem; 0: unknown */
	uint64_t pkt_lag_ns; /* live: wall clock minus the last packet's time; 0: none */
	bool live;
};

/* The totals of the previous record: Zeek's stats.log counts packets, bytes, connections
 * and files since the last record (zeroed before the first). */
struct stats_prev {
	uint64_t pkts, bytes, dropped, link, conns, files;
};

/* The process's peak resident set in bytes, as Zeek's get_memory_usage (util.cc) takes it
 * on Linux: getrusage's ru_maxrss (KiB) * 1024. 0 when unknown. */
uint64_t rec_stats__peak_resident_bytes(void);

/* Writes one stats record: Zeek's stats.log fields with their meaning (pkts_proc,
 * bytes_recv, pkts_dropped, pkts_link, tcp_conns, files: since the previous record; mem,
 * pkt_lag, active_tcp_conns, active_files, reassem_tcp_size, reassem_frag_size: now), then
 * mailtap's counters, all totals since start (`*_total` for the first four). Updates prev. */
void rec_stats__write(struct rec *r, uint64_t ts_ns, const struct stats_sources *s,
		      struct stats_prev *prev);

#endif
