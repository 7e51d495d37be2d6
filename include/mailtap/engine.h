/* SPDX-License-Identifier: BSD-3-Clause */
/* The analysis pipeline of one worker: decode -> flow -> reassembly -> application parsers ->
 * records. Fed raw packets from any source (pcap file, AF_XDP); writes conn and weird records
 * itself and lets the parsers write theirs. */
#ifndef MAILTAP_ENGINE_H
#define MAILTAP_ENGINE_H

#include <stdbool.h>
#include <stdint.h>
#include "mailtap/decode.h"
#include "mailtap/flow.h"
#include "mailtap/frag.h"
#include "mailtap/hashmb.h"
#include "mailtap/pkt.h"
#include "mailtap/reasm.h"
#include "mailtap/session.h"
#include "mailtap/tunparents.h"

struct rec_out;

#define ENGINE_MAX_NETS 128
#define ENGINE_MAX_PARSERS 4
/* analyzer records per connection (Zeek has no bound; a server can answer every line with
 * a violation): the rest are counted, analyzer_suppressed */
#define ENGINE_ANALYZER_MAX_PER_CONN 8
/* weird.zeek's weird_ignore and did_log sets for flow, net and file weirds and the
 * per-originator actions (shared by the workers), each: the default of
 * engine_cfg.weird_state_max */
#define ENGINE_WEIRD_STATE_MAX 10000
/* ... and each worker's own two for connection weirds (name and four-tuple): of
 * engine_cfg.conn_weird_state_max */
#define ENGINE_CONN_WEIRD_STATE_MAX 32768
/* ... and their create_expire: weird_ignore 10 min, did_log (and did_notice) a day */
#define ENGINE_WEIRD_IGNORE_NS (600 * 1000000000ULL)
#define ENGINE_WEIRD_DID_LOG_NS (86400 * 1000000000ULL)

struct engine_net {
	struct mt_addr addr;
	uint8_t prefix; /* in IPv6 bits (IPv4 /24 is 96 + 24) */
};

struct tunnels;

struct engine_cfg {
	struct flow_limits flow;
	struct reasm_limits reasm;
	struct frag_limits frag;
	uint8_t ports[65536 / 8];	/* mail ports tracked (bitmap); default 25, 465, 587 */
	uint8_t tls_ports[65536 / 8];	/* ports where TLS starts at once (465) */
	struct decode_cfg decode;	/* the tunnel ports followed (--vxlan-ports, --geneve-ports) */
	struct engine_net nets[ENGINE_MAX_NETS]; /* --local-nets */
	int n_nets;
	bool private_is_local;		/* Zeek's Site::private_address_space_is_local (T) */
	bool community_id;		/* add community_id to conn records */
	uint16_t community_id_seed;
	bool seeded;			/* --seed: deterministic uids, fuids and hashing */
	uint64_t seed;
	bool tcp_weirds;		/* weird records for TCP anomalies (once per conn and name) */
	struct tunnels *tunnels;	/* shared by every engine (tunnels.h); NULL: not tracked */
	/* Zeek's seen/conn-established.zeek: both addresses of an established connection are
	 * looked up (Conn::IN_ORIG, Conn::IN_RESP); NULL: no intelligence. */
	const struct intel *intel;
	/* Zeek's policy/protocols/conn/known-hosts.zeek: the local addresses of established
	 * connections, each logged once per the set's expiry (a knownset every engine shares,
	 * made by main); NULL: no known_hosts stream. */
	struct knownset *known_hosts;
	enum mt_tracking known_tracking; /* Known::host_tracking, service_tracking (local) */
	/* policy/protocols/conn/known-services.zeek: local responders' confirmed services,
	 * (host, port, service) triplets in a knownset every engine shares (made by main);
	 * NULL: no known_services stream. */
	struct knownset *known_services;
	/* weird.zeek's weird_ignore and did_log sets (ENGINE_WEIRD_*), shared (knownset__share)
	 * by every engine so that N workers hold back the weirds one engine would (made by
	 * workers__new); NULL: the engine makes its own. */
	struct knownset *weird_ignore, *weird_did_log;
	/* Keys in each of those two sets when the engine makes them (ENGINE_WEIRD_STATE_MAX), and
	 * in each of the engine's own two for connection weirds (ENGINE_CONN_WEIRD_STATE_MAX):
	 * the oldest key is forgotten first (its weird may be written again), counted in
	 * weird_state_evicted. */
	uint32_t weird_state_max, conn_weird_state_max;
	/* Zeek's Analyzer::Logging (analyzer.log): a record per protocol violation, at most
	 * ENGINE_ANALYZER_MAX_PER_CONN a connection. */
	bool analyzer_log;
	/* ... and a record per protocol confirmation (Analyzer::Logging::include_confirmations,
	 * false) */
	bool analyzer_confirmations;
};

void engine_cfg__default(struct engine_cfg *c);
void engine_cfg__set_port(uint8_t *bitmap, uint16_t port, bool on);
static inline bool engine_cfg__port(const uint8_t *bitmap, uint16_t port)
{
	return bitmap[port >> 3] & (1u << (port & 7));
}
/* Zeek's Site::private_address_space, comma-separated. */
extern const char engine_private_address_space[];
/* Parses "10.0.0.0/8,2001:db8::/32" into cfg->nets (appending). 0 or -EINVAL. */
int engine_cfg__parse_nets(struct engine_cfg *c, const char *s);

struct engine_stats {
	struct decode_stats decode;
	struct flow_stats flow;
	struct reasm_stats reasm;
	struct frag_stats frag;
	struct hashmb_stats hashes;	/* file blocks hashed side by side / alone */
	struct tun_parents_stats tunpar; /* connections that changed tunnel */
	uint64_t not_mail_port;		/* TCP packets of other ports */
	uint64_t parser_errors;		/* parsers that failed (sticky error) */
	uint64_t parsers_ended_early;	/* idle parsers ended when both directions had (idle op) */
	uint64_t records_weird;
	uint64_t records_conn;
	/* Zeek's get_gap_stats() (TCP_Reassembler::AckReceived): ACKs that acknowledged beyond
	 * every earlier one of their direction while both endpoints were established, and those
	 * of them that acknowledged bytes never seen (the base of the capture_loss stream). */
	uint64_t ack_events;
	uint64_t gap_events;
	uint64_t records_known_hosts;
	uint64_t records_known_services;
	uint64_t records_analyzer;
	uint64_t analyzer_suppressed; /* beyond ENGINE_ANALYZER_MAX_PER_CONN */
	uint64_t weirds_held_back;    /* weirds weird.zeek would not log (again yet): connection, flow,
				       * net and file weirds in weird_ignore/did_log, ACTION_IGNORE names */
	uint64_t weird_state_evicted; /* keys those sets forgot before their time (*_state_max) */
};

struct engine;

struct engine *engine__new(const struct engine_cfg *cfg, struct rec_out *out);
/* Registers a parser by its ops->name ("smtp", "ssl") with its configuration. */
int engine__add_parser(struct engine *e, const struct app_parser_ops *ops, const void *cfg);
/* pkt_handler: one raw packet. Always 0 (bad packets are counted, not errors).
 * Times (docs/records.md, Times): the engine's network time is the latest packet or tick
 * time so far, never going back (Zeek's RunState.cc dispatch_packet); records Zeek stamps
 * with network_time() (smtp, ssl, files, weird, known_*, tunnel, intel, analyzer) get it,
 * the connection (start, last packet: conn's ts and duration, timeouts, reuse) the packet's
 * own time (Zeek's run_state::processing_start_time). */
int engine__packet(void *engine, const struct pkt_raw *raw);
/* The same with a network time from outside (a worker: its reader's, which may be later
 * than any packet this engine got); 0: none. */
int engine__packet_at(struct engine *e, const struct pkt_raw *raw, uint64_t net_ns);
/* Clock tick without packets (live capture): runs the timeouts up to now_ns. */
void engine__tick(struct engine *e, uint64_t now_ns);
/* The record builder of this engine (for the stats stream). */
struct rec *engine__rec(struct engine *e);
/* End of input: ends every connection and writes its records. */
void engine__finish(struct engine *e);
/* The engine's network time: the latest packet (or tick, or net_ns) time it saw. */
uint64_t engine__now(const struct engine *e);
void engine__stats(const struct engine *e, struct engine_stats *st);
void engine__free(struct engine *e);

#endif
