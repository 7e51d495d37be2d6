// SPDX-License-Identifier: BSD-3-Clause
/* stats records: Zeek's Stats::Info, then every counter that explains where packets went,
 * so that they add up: XDP seen = redirected + passed; redirected = delivered + kernel drops
 * (xsk_*); delivered = pkts_proc_total = decoded + decode failures; with workers, what was
 * handed over (workers_enqueued) + frames too big for a ring (workers_oversize) = what came
 * in. */
#include <stdio.h>
#include <sys/resource.h>
#include "mailtap/files.h"
#include "mailtap/rec.h"
#include "mailtap/intel.h"
#include "mailtap/notice.h"
#include "mailtap/rec_stats.h"
#include "mailtap/sink_fwd.h"
#include "mailtap/software.h"
#include "mailtap/certval.h"
#include "mailtap/tls.h"
#include "mailtap/tunnels.h"
#include "mailtap/workers.h"
#include "mailtap/xsk.h"

static uint64_t since(uint64_t now, uint64_t *prev)
{
	uint64_t d = now >= *prev ? now - *prev : now; /* a counter that started over */

	*prev = now;
	return d;
}

/* A BPF program's counters, each named prefix + its name. */
static void counters(struct rec *r, const char *prefix, const char *const *names,
		     const uint64_t *v, int n)
{
	for (int i = 0; i < n; i++) {
		char key[64];

		snprintf(key, sizeof(key), "%s%s", prefix, names[i]);
		rec__u64(r, key, v[i]);
	}
}

uint64_t rec_stats__peak_resident_bytes(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) != 0 || ru.ru_maxrss <= 0)
		return 0;
	return (uint64_t)ru.ru_maxrss * 1024;
}

void rec_stats__write(struct rec *r, uint64_t ts_ns, const struct stats_sources *s,
		      struct stats_prev *prev)
{
	const struct engine_stats *es = s->es;
	const struct xsk_stats *xs = s->xs;
	const struct workers_stats *ws = s->ws;
	const struct files_stats *fs = s->fs;
	const struct fwd_stats *fw = s->fw;
	const struct tunnels_stats *tun = s->tun;
	const struct software_stats *sws = s->sws;
	const struct certval_stats *cvs = s->cvs;
	const struct known_certs_stats *kcs = s->kcs;
	const struct app_tls_stats *tls = s->tls;
	const struct intel_stats *ins = s->ins;
	const struct notice_stats *nts = s->nts;
	const struct hostcap_stats *hs = s->hs;
	/* Zeek's pkts_dropped and pkts_link: the packets the kernel could not hand over, and
	 * those the capture saw. Mirror mode: the AF_XDP rings' drops, the XDP program's seen.
	 * Host mode: the matched packets the programs could not copy (ring buffer full, bytes
	 * unreadable), and what the two hooks saw. */
	bool capture = xs || hs;
	uint64_t dropped = 0, link = 0;

	if (xs) {
		dropped = xs->rx_dropped + xs->rx_ring_full;
		link = xs->xdp[MAILTAP_STAT_SEEN];
	} else if (hs) {
		dropped = hs->bpf[MAILTAP_HOST_STAT_RB_FULL] + hs->bpf[MAILTAP_HOST_STAT_LOAD_ERR];
		link = hs->bpf[MAILTAP_HOST_STAT_SEEN];
	}

	rec__begin(r, "stats", ts_ns);
	/* Stats::Info */
	rec__cstr(r, "peer", rec__node());
	if (s->mem_bytes) /* Zeek's ps$mem/1048576: MiB */
		rec__u64(r, "mem", s->mem_bytes / 1048576);
	rec__u64(r, "pkts_proc", since(es->decode.packets, &prev->pkts));
	rec__u64(r, "bytes_recv", since(es->decode.bytes, &prev->bytes));
	if (capture) {
		rec__u64(r, "pkts_dropped", since(dropped, &prev->dropped));
		rec__u64(r, "pkts_link", since(link, &prev->link));
	}
	if (s->live)
		rec__interval(r, "pkt_lag", (int64_t)s->pkt_lag_ns);
	rec__u64(r, "active_tcp_conns", es->flow.active);
	rec__u64(r, "tcp_conns", since(es->flow.created, &prev->conns));
	if (fs) {
		rec__u64(r, "files", since(fs->opened, &prev->files));
		rec__u64(r, "active_files", fs->in_flight);
	}
	rec__u64(r, "reassem_tcp_size", es->reasm.bytes_in_use);
	rec__u64(r, "reassem_frag_size", es->frag.in_use_bytes);
	/* mailtap's: totals */
	rec__u64(r, "pkts_proc_total", es->decode.packets);
	rec__u64(r, "bytes_recv_total", es->decode.bytes);
	if (capture) {
		rec__u64(r, "pkts_dropped_total", dropped);
		rec__u64(r, "pkts_link_total", link);
	}
	if (xs) {
		counters(r, "xdp_", mailtap_stat_names, xs->xdp, MAILTAP_STAT__MAX);
		rec__u64(r, "xsk_queues", xs->n_queues);
		rec__u64(r, "xsk_delivered", xs->delivered);
		rec__u64(r, "xsk_rx_dropped", xs->rx_dropped);
		rec__u64(r, "xsk_rx_ring_full", xs->rx_ring_full);
		rec__u64(r, "xsk_fill_ring_empty", xs->rx_fill_ring_empty_descs);
		rec__u64(r, "xsk_rx_invalid_descs", xs->rx_invalid_descs);
	}
	if (hs) {
		counters(r, "host_", mailtap_host_stat_names, hs->bpf, MAILTAP_HOST_STAT__MAX);
		rec__u64(r, "host_delivered", hs->delivered);
		rec__u64(r, "host_delivered_ingress", hs->delivered_ingress);
		rec__u64(r, "host_delivered_egress", hs->delivered_egress);
		rec__u64(r, "host_bad_records", hs->bad_records);
	}
	for (int i = 0; i < DECODE__MAX; i++) {
		char key[64];

		if (i == DECODE_OK)
			continue;
		snprintf(key, sizeof(key), "decode_%s", decode__result_name((enum decode_result)i));
		rec__u64(r, key, es->decode.result[i]);
	}
	rec__u64(r, "tcp_other_port", es->not_mail_port);
	rec__u64(r, "flows_active", es->flow.active);
	rec__u64(r, "flows_created", es->flow.created);
	rec__u64(r, "flows_peak", es->flow.peak);
	rec__u64(r, "flows_evicted", es->flow.evicted);
	rec__u64(r, "flows_reused", es->flow.reused);
	rec__u64(r, "flows_history_truncated", es->flow.history_truncated);
	rec__u64(r, "flows_history_heap_bytes", es->flow.history_heap_bytes);
	rec__u64(r, "reasm_bytes", es->reasm.bytes_in_use);
	rec__u64(r, "reasm_bytes_peak", es->reasm.bytes_peak);
	rec__u64(r, "reasm_gaps", es->reasm.gaps);
	rec__u64(r, "reasm_gap_bytes", es->reasm.gap_bytes);
	rec__u64(r, "reasm_memcap_hits", es->reasm.limit_memcap);
	rec__u64(r, "reasm_ooo_limit_hits", es->reasm.limit_ooo + es->reasm.limit_segs);
	rec__u64(r, "frag_fragments", es->frag.fragments);
	rec__u64(r, "frag_reassembled", es->frag.reassembled);
	rec__u64(r, "frag_timeouts", es->frag.timeouts);
	rec__u64(r, "frag_evicted", es->frag.evicted);
	rec__u64(r, "frag_dropped", es->frag.dropped);
	rec__u64(r, "frag_inconsistent", es->frag.inconsistent);
	rec__u64(r, "hash_lane_blocks", es->hashes.lane_blocks);
	rec__u64(r, "hash_solo_blocks", es->hashes.solo_blocks);
	rec__u64(r, "parser_errors", es->parser_errors);
	rec__u64(r, "parsers_ended_early", es->parsers_ended_early);
	rec__u64(r, "records_conn", es->records_conn);
	rec__u64(r, "tcp_ack_events", es->ack_events);
	rec__u64(r, "tcp_gap_events", es->gap_events);
	rec__u64(r, "records_known_hosts", es->records_known_hosts);
	rec__u64(r, "records_known_services", es->records_known_services);
	rec__u64(r, "records_analyzer", es->records_analyzer);
	rec__u64(r, "analyzer_suppressed", es->analyzer_suppressed);
	rec__u64(r, "records_weird", es->records_weird);
	rec__u64(r, "weirds_held_back", es->weirds_held_back);
	rec__u64(r, "weird_state_evicted", es->weird_state_evicted);
	if (ws) {
		rec__u64(r, "workers_enqueued", ws->enqueued);
		rec__u64(r, "workers_ring_waits", ws->waits);
		rec__u64(r, "workers_oversize", ws->oversize);
		rec__u64(r, "workers_frags_steered", ws->frags_steered);
		rec__u64(r, "workers_frags_held", ws->frags_held);
		rec__u64(r, "workers_frags_unported", ws->frags_unported);
		rec__u64(r, "workers_frags_evicted", ws->frags_evicted);
	}
	if (fs) {
		rec__u64(r, "files_opened", fs->opened);
		rec__u64(r, "files_refused", fs->refused);
		rec__u64(r, "files_in_flight", fs->in_flight);
		rec__u64(r, "files_with_gaps", fs->gaps);
		rec__u64(r, "files_extracted", fs->extracted_files);
		rec__u64(r, "files_extracted_bytes", fs->extracted_bytes);
		rec__u64(r, "files_extract_cutoffs", fs->extract_cutoffs);
		rec__u64(r, "files_extract_total_limit", fs->extract_total_limit);
		rec__u64(r, "files_extract_errors", fs->extract_errors);
		rec__u64(r, "mime_header_total_hits", fs->mime_header_total_hits);
		rec__u64(r, "mime_open_messages", fs->mime_open_messages);
		rec__u64(r, "mime_messages_refused", fs->mime_messages_refused);
		rec__u64(r, "pe_files", fs->pe.files);
		rec__u64(r, "pe_headers", fs->pe.headers);
		rec__u64(r, "pe_optional_bad", fs->pe.optional_bad);
		rec__u64(r, "pe_stub_too_long", fs->pe.stub_too_long);
		rec__u64(r, "pe_sections_cut", fs->pe.sections_cut);
	}
	if (tun) {
		rec__u64(r, "tunnels_active", tun->active);
		rec__u64(r, "tunnels_discovered", tun->discovered);
		rec__u64(r, "tunnels_expired", tun->expired);
		rec__u64(r, "tunnels_closed", tun->closed);
		rec__u64(r, "tunnels_full", tun->full);
		rec__u64(r, "tunnel_changes", es->tunpar.changes);
		rec__u64(r, "tunnel_multi_conns", es->tunpar.multi);
		rec__u64(r, "tunnel_multi_conns_active", es->tunpar.multi_active);
		rec__u64(r, "tunnel_parents_full", es->tunpar.full);
	}
	if (fw) {
		rec__u64(r, "forward_records_in", fw->records_in);
		rec__u64(r, "forward_records_acked", fw->records_acked);
		rec__u64(r, "forward_records_dropped", fw->records_dropped);
		rec__u64(r, "forward_records_pending", fw->records_pending);
		rec__u64(r, "forward_messages_resent", fw->messages_resent);
		rec__u64(r, "forward_messages_shed", fw->messages_shed);
		rec__u64(r, "forward_disconnects", fw->disconnects);
		rec__u64(r, "forward_spool_bytes", fw->spool_bytes);
		rec__u64(r, "forward_connects", fw->connects);
		rec__u64(r, "forward_connect_failures", fw->connect_failures);
		rec__u64(r, "forward_handshake_failures", fw->handshake_failures);
		rec__u64(r, "forward_tls_failures", fw->tls_failures);
		rec__u64(r, "forward_ack_timeouts", fw->ack_timeouts);
		rec__u64(r, "forward_records_oversize", fw->records_oversize);
		rec__u64(r, "forward_spool_errors", fw->spool_errors);
	}
	if (sws) {
		rec__u64(r, "software_found", sws->found);
		rec__u64(r, "software_logged", sws->logged);
		rec__u64(r, "software_parsed", sws->parsed);
		rec__u64(r, "software_parse_cut", sws->parse_cut);
		rec__u64(r, "software_hosts", sws->hosts);
		rec__u64(r, "software_hosts_evicted", sws->hosts_evicted);
	}
	if (cvs) {
		rec__u64(r, "ssl_validations", cvs->validations);
		rec__u64(r, "ssl_chains_verified", cvs->verified);
		rec__u64(r, "ssl_chains_ok", cvs->ok);
		rec__u64(r, "ssl_chains_ok_via_intermediates", cvs->via_intermediates);
	}
	if (tls) {
		rec__u64(r, "ssl_certificates_skipped", tls->certs_skipped);
		rec__u64(r, "ssl_handshake_buffer_full", tls->handshake_buffer_full);
	}
	if (kcs) {
		rec__u64(r, "known_certs_logged", kcs->logged);
		rec__u64(r, "known_certs_evicted", kcs->evicted);
	}
	if (ins) {
		rec__u64(r, "intel_items", ins->items);
		rec__u64(r, "intel_lines_skipped", ins->lines_skipped);
		rec__u64(r, "intel_items_dropped", ins->items_dropped);
		rec__u64(r, "intel_lookups", ins->lookups);
		rec__u64(r, "intel_matches", ins->matches);
		rec__u64(r, "intel_whitelisted", ins->whitelisted);
		rec__u64(r, "intel_reloads", ins->reloads);
		rec__u64(r, "intel_reload_errors", ins->reload_errors);
	}
	if (nts) {
		rec__u64(r, "notices", nts->raised);
		rec__u64(r, "notices_suppressed", nts->suppressed);
		rec__u64(r, "notices_evicted", nts->evicted);
	}
	rec__end(r);
}
