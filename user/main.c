// SPDX-License-Identifier: BSD-3-Clause
/* mailtap: command line, sources, sinks and signals. The only file that knows every module. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include "mailtap/capture_loss.h"
#include "mailtap/certval.h"
#include "mailtap/bits.h"
#include "mailtap/engine.h"
#include "mailtap/intel.h"
#include "mailtap/intel_reread.h"
#include "mailtap/knownset.h"
#include "mailtap/notice.h"
#include "mailtap/hostcap.h"
#include "mailtap/log.h"
#include "mailtap/parsers.h"
#include "mailtap/pcapfile.h"
#include "mailtap/privs.h"
#include <linux/capability.h>
#include <pcap/dlt.h>
#include "mailtap/rec.h"
#include "mailtap/rec_stats.h"
#include "mailtap/pktfilter.h"
#include "mailtap/sink.h"
#include "mailtap/sink_fwd.h"
#include "mailtap/tunnels.h"
#include "mailtap/workers.h"
#include "mailtap/xsk.h"

#define MAILTAP_VERSION "0.1.0"
#define MAX_OUTPUTS 8
#define MAX_INTEL_FILES 16

static volatile sig_atomic_t stop_flag;	/* SIGINT/SIGTERM: finish */
static volatile sig_atomic_t wake_flag;	/* SIGALRM tick or stop: leave the capture loop */
static volatile sig_atomic_t reopen_flag; /* SIGHUP: reopen file outputs (log rotation) */
static struct sink *fwd_sinks[MAX_OUTPUTS]; /* interrupted on SIGINT/SIGTERM */

static void on_signal(int sig)
{
	if (sig == SIGHUP) {
		reopen_flag = 1;
		wake_flag = 1;
		return;
	}
	if (sig != SIGALRM) {
		stop_flag = 1;
		/* a Forward sink blocked on a full queue (policy block) lets go */
		for (int i = 0; i < MAX_OUTPUTS; i++)
			if (fwd_sinks[i])
				sink_fwd__interrupt(fwd_sinks[i]);
	}
	wake_flag = 1;
}

/* The analysis: one engine on this thread, or N workers on their own threads. */
struct analysis {
	struct engine *eng;
	struct workers *ws;
	struct tunnels *tunnels;
	struct rec *stats_rec;
	struct rec_out *out;
	bool software; /* the software stream is on: its counters in the stats record */
	bool certval;  /* validation_status is on: its counters too */
	bool known_certs;
	bool intel; /* intel files loaded: their counters too */
	struct intel_reread *intel_rr; /* live: the files reread when they change */
	struct capture_loss cl; /* Zeek's policy/misc/capture-loss.zeek */
	bool offline; /* reading a file: the workers' counters are synced for a measurement */
	struct stats_prev stats_prev; /* the totals of the last stats record */
	struct pktfilter *filter; /* live -f (several capture threads: each shares it) */
	uint64_t filtered;	  /* live -f: frames left out, capture threads' ones added at the end */
	/* reading a file: stats records by network time, as Zeek's stats.zeek schedules them
	 * (the first when the first packet arrives, then every interval, the last at the end) */
	uint64_t stats_every_ns, stats_next;
	uint64_t last_ts; /* with them: the last packet's time, Zeek's network time at the end */
	bool any_pkt;	  /* and whether there was one */
};

static void capture_loss_tick(struct analysis *a, uint64_t now);
static void stats_tick(struct analysis *a, uint64_t now);

static int an_packet(void *u, const struct pkt_raw *raw)
{
	struct analysis *a = u;

	/* live -f (reading a file, pcapfile applies it) */
	if (a->filter && !pktfilter__match(a->filter, raw))
		return 0;
	if (__builtin_expect(capture_loss__due(&a->cl, raw->ts_ns), 0))
		capture_loss_tick(a, raw->ts_ns);
	if (a->stats_every_ns) {
		a->last_ts = raw->ts_ns;
		a->any_pkt = true;
		if (__builtin_expect(raw->ts_ns >= a->stats_next, 0))
			stats_tick(a, raw->ts_ns);
	}
	return a->ws ? workers__packet(a->ws, raw) : engine__packet(a->eng, raw);
}

static void an_tick(struct analysis *a, uint64_t now)
{
	if (a->ws)
		workers__tick(a->ws, now);
	else
		engine__tick(a->eng, now);
}

static void an_finish(struct analysis *a)
{
	if (a->ws)
		workers__finish(a->ws);
	else
		engine__finish(a->eng);
	/* every connection has ended: the UDP tunnels close with the run */
	if (a->tunnels)
		tunnels__finish(a->tunnels, a->ws ? workers__now(a->ws) : engine__now(a->eng));
}

static void an_stats(struct analysis *a, struct engine_stats *st)
{
	if (a->ws)
		workers__engine_stats(a->ws, st);
	else
		engine__stats(a->eng, st);
}

/* capture_loss at network time now (capture_loss.h): with worker threads the counters are,
 * reading a file, those of every packet before this one (the workers catch up first), live
 * the workers' latest (at most a second old). */
static void capture_loss_tick(struct analysis *a, uint64_t now)
{
	struct engine_stats es;

	if (!capture_loss__tick(&a->cl, now))
		return;
	if (a->ws && a->offline)
		workers__sync_stats(a->ws);
	an_stats(a, &es);
	capture_loss__measure(&a->cl, a->stats_rec, now, es.ack_events, es.gap_events);
}

/* Debian's ca-certificates: Mozilla's list of roots, as Zeek's SSL::root_certs. */
#define DEFAULT_CA_FILE "/etc/ssl/certs/ca-certificates.crt"

/* An output as given: -w is a file (or - for stdout) whatever its name, -o a Forward spec. */
struct output {
	const char *spec;
	bool fwd;
};

struct opts {
	const char *read_file;
	const char *iface;
	struct output outputs[MAX_OUTPUTS];
	int n_outputs;
	const char *filter;
	const char *tag_prefix;
	int print_stats;
	struct engine_cfg eng;
	struct tunnels_limits tun;
	struct fwd_opts fwd;
	struct xsk_opts xsk;
	struct hostcap_opts host;
	int capture_host; /* --capture host: copy with XDP+TC instead of AF_XDP redirect */
	struct parsers_cfg parsers;
	struct rec_limits logl;
	int stats_interval; /* seconds; -1: default (60 live, 0 offline) */
	int workers;
	int capture_threads; /* --capture-threads: AF_XDP capture threads (1: this thread) */
	int ports_given;
	int exit_now; /* --help / --version printed: nothing else to do */
	const char *user;
	int seccomp;
	int events_smtp;
	const char *ssl_ca_file; /* roots for validation_status (NULL: the default file) */
	const char *intel_files[MAX_INTEL_FILES]; /* --intel-file */
	int n_intel_files;
	bool intel_reread; /* live: reread changed intel files (default on) */
	struct intel_limits intel_lim;
	const char *node_name;
	struct notice_cfg notice;
	uint64_t cl_interval, cl_initial; /* seconds; interval 0: no capture_loss */
	bool known_hosts;
	uint32_t known_hosts_max;
	uint64_t known_hosts_expire; /* seconds */
	bool known_services;
	uint32_t known_services_max;
	uint64_t known_services_expire; /* seconds */
	double cl_too_much;
	int no_validate_certs;
	/* the first option given that only one kind of run uses, to refuse it elsewhere (an
	 * option accepted and then ignored looks like it works) */
	int live_opt;	/* live capture only (-i) */
	int host_opt;	/* --capture host only */
	int mirror_opt; /* mirror mode only (AF_XDP) */
	int fwd_opt;	/* Forward outputs only (-o) */
	int tls_opt;	/* forward:tls: outputs only */
};

/* The port set for the XDP programs, from --ports: every port, as the BPF side keeps a
 * 65536-bit set (mailtap_abi.h). Static: 128 KiB is too much for main's stack. */
static uint16_t port_list[65535];

enum {
	OPT_SEED = 256,
	OPT_PORTS,
	OPT_LOCAL_NETS,
	OPT_COMMUNITY_ID,
	OPT_TAG_PREFIX,
	OPT_MAX_FLOWS,
	OPT_MAX_TUNNELS,
	OPT_TUNNEL_EXPIRE,
	OPT_REASM_OOO,
	OPT_REASM_SEGS,
	OPT_REASM_TOTAL,
	OPT_NO_TCP_WEIRDS,
	OPT_NO_PRIVATE_LOCAL,
	OPT_STATS,
	OPT_VERSION,
	OPT_FWD_MODE,
	OPT_FWD_COMPRESS,
	OPT_FWD_BATCH,
	OPT_FWD_FLUSH_MS,
	OPT_FWD_MAX_MSG,
	OPT_FWD_QUEUE,
	OPT_FWD_POLICY,
	OPT_FWD_KEY,
	OPT_FWD_CLOSE_MS,
	OPT_SPOOL,
	OPT_SPOOL_MAX,
	OPT_XDP_MODE,
	OPT_BIND,
	OPT_QUEUES,
	OPT_FRAMES,
	OPT_FRAME_SIZE,
	OPT_RX_RING,
	OPT_FILL_RING,
	OPT_BUSY_POLL,
	OPT_RX_NAP,
	OPT_PINNED,
	OPT_STATS_INTERVAL,
	OPT_SMTP_MAX_RCPTTO,
	OPT_SMTP_MAX_TO,
	OPT_SMTP_MAX_CC,
	OPT_SMTP_MAX_PATH,
	OPT_SMTP_MAX_INVALID,
	OPT_SMTP_MAX_LINE,
	OPT_SMTP_MAX_PENDING,
	OPT_SMTP_NO_EXTRA,
	OPT_SMTP_BLOCKLISTS,
	OPT_SMTP_NO_AUTH_USER,
	OPT_EVENTS,
	OPT_RFC822_FILES,
	OPT_HASHES,
	OPT_EXTRACT_DIR,
	OPT_EXTRACT_MAX_FILE,
	OPT_EXTRACT_MAX_TOTAL,
	OPT_EXTRACT_TYPES,
	OPT_MAX_FILES,
	OPT_MIME_MAX_DEPTH,
	OPT_MIME_MAX_HEADER,
	OPT_NO_FINGERPRINTS,
	OPT_NO_X509_FILES,
	OPT_LOG_FIELD_STR,
	OPT_LOG_TOTAL_STR,
	OPT_LOG_FIELD_CONT,
	OPT_LOG_TOTAL_CONT,
	OPT_WORKERS,
	OPT_CAPTURE_THREADS,
	OPT_FWD_BLOCK_MS,
	OPT_FWD_USER,
	OPT_FWD_PASSWORD,
	OPT_FWD_TLS_CA,
	OPT_FWD_TLS_NAME,
	OPT_FWD_TLS_CERT,
	OPT_FWD_TLS_KEY,
	OPT_USER,
	OPT_SECCOMP,
	OPT_FRAG_DATAGRAMS,
	OPT_FRAG_BYTES,
	OPT_FRAG_TIMEOUT,
	OPT_RFC822_HASHES,
	OPT_CAPTURE,
	OPT_SNAPLEN,
	OPT_RING_BYTES,
	OPT_NO_SOFTWARE,
	OPT_NO_PE,
	OPT_PE_MAX_SECTIONS,
	OPT_SOFTWARE_MAX_HOSTS,
	OPT_SOFTWARE_EXPIRE,
	OPT_SOFTWARE_UA_MAX,
	OPT_SSL_CA_FILE,
	OPT_NO_VALIDATE_CERTS,
	OPT_SSL_MAX_CHAINS,
	OPT_SSL_MAX_INTERMEDIATES,
	OPT_NO_KNOWN_CERTS,
	OPT_KNOWN_CERTS_MAX,
	OPT_KNOWN_CERTS_EXPIRE,
	OPT_INTEL_FILE,
	OPT_INTEL_MAX_ITEMS,
	OPT_NODE_NAME,
	OPT_NO_NOTICE,
	OPT_NOTICE_SUPPRESS,
	OPT_NOTICE_MAX_SUPPRESSED,
	OPT_NO_CAPTURE_LOSS,
	OPT_CAPTURE_LOSS_INTERVAL,
	OPT_CAPTURE_LOSS_INITIAL,
	OPT_CAPTURE_LOSS_TOO_MUCH,
	OPT_NO_KNOWN_HOSTS,
	OPT_KNOWN_HOSTS_MAX,
	OPT_KNOWN_HOSTS_EXPIRE,
	OPT_NO_KNOWN_SERVICES,
	OPT_NO_INTEL_REREAD,
	OPT_KNOWN_TRACKING,
	OPT_NO_ANALYZER_LOG,
	OPT_ANALYZER_CONFIRMATIONS,
	OPT_KNOWN_SERVICES_MAX,
	OPT_KNOWN_SERVICES_EXPIRE,
};

static const struct option long_opts[] = {
	{ "read", required_argument, NULL, 'r' },
	{ "interface", required_argument, NULL, 'i' },
	{ "write", required_argument, NULL, 'w' },
	{ "output", required_argument, NULL, 'o' },
	{ "filter", required_argument, NULL, 'f' },
	{ "seed", required_argument, NULL, OPT_SEED },
	{ "ports", required_argument, NULL, OPT_PORTS },
	{ "local-nets", required_argument, NULL, OPT_LOCAL_NETS },
	{ "community-id", optional_argument, NULL, OPT_COMMUNITY_ID },
	{ "tag-prefix", required_argument, NULL, OPT_TAG_PREFIX },
	{ "max-flows", required_argument, NULL, OPT_MAX_FLOWS },
	{ "max-tunnels", required_argument, NULL, OPT_MAX_TUNNELS },
	{ "tunnel-expire", required_argument, NULL, OPT_TUNNEL_EXPIRE },
	{ "reasm-max-ooo-bytes", required_argument, NULL, OPT_REASM_OOO },
	{ "reasm-max-segments", required_argument, NULL, OPT_REASM_SEGS },
	{ "reasm-max-total-bytes", required_argument, NULL, OPT_REASM_TOTAL },
	{ "no-tcp-weirds", no_argument, NULL, OPT_NO_TCP_WEIRDS },
	{ "no-private-local", no_argument, NULL, OPT_NO_PRIVATE_LOCAL },
	{ "stats", no_argument, NULL, OPT_STATS },
	{ "forward-mode", required_argument, NULL, OPT_FWD_MODE },
	{ "forward-compress", no_argument, NULL, OPT_FWD_COMPRESS },
	{ "forward-batch-records", required_argument, NULL, OPT_FWD_BATCH },
	{ "forward-flush-ms", required_argument, NULL, OPT_FWD_FLUSH_MS },
	{ "forward-max-message", required_argument, NULL, OPT_FWD_MAX_MSG },
	{ "forward-queue-bytes", required_argument, NULL, OPT_FWD_QUEUE },
	{ "forward-policy", required_argument, NULL, OPT_FWD_POLICY },
	{ "forward-shared-key", required_argument, NULL, OPT_FWD_KEY },
	{ "forward-close-timeout-ms", required_argument, NULL, OPT_FWD_CLOSE_MS },
	{ "spool", required_argument, NULL, OPT_SPOOL },
	{ "spool-max-bytes", required_argument, NULL, OPT_SPOOL_MAX },
	{ "xdp-mode", required_argument, NULL, OPT_XDP_MODE },
	{ "bind", required_argument, NULL, OPT_BIND },
	{ "queues", required_argument, NULL, OPT_QUEUES },
	{ "frames", required_argument, NULL, OPT_FRAMES },
	{ "frame-size", required_argument, NULL, OPT_FRAME_SIZE },
	{ "rx-ring", required_argument, NULL, OPT_RX_RING },
	{ "fill-ring", required_argument, NULL, OPT_FILL_RING },
	{ "busy-poll", required_argument, NULL, OPT_BUSY_POLL },
	{ "rx-nap", required_argument, NULL, OPT_RX_NAP },
	{ "pinned", required_argument, NULL, OPT_PINNED },
	{ "stats-interval", required_argument, NULL, OPT_STATS_INTERVAL },
	{ "smtp-max-rcptto", required_argument, NULL, OPT_SMTP_MAX_RCPTTO },
	{ "smtp-max-to", required_argument, NULL, OPT_SMTP_MAX_TO },
	{ "smtp-max-cc", required_argument, NULL, OPT_SMTP_MAX_CC },
	{ "smtp-max-path", required_argument, NULL, OPT_SMTP_MAX_PATH },
	{ "smtp-max-invalid-transactions", required_argument, NULL, OPT_SMTP_MAX_INVALID },
	{ "smtp-max-line", required_argument, NULL, OPT_SMTP_MAX_LINE },
	{ "smtp-max-pending", required_argument, NULL, OPT_SMTP_MAX_PENDING },
	{ "smtp-no-extra-fields", no_argument, NULL, OPT_SMTP_NO_EXTRA },
	{ "smtp-blocklists", no_argument, NULL, OPT_SMTP_BLOCKLISTS },
	{ "smtp-no-auth-user", no_argument, NULL, OPT_SMTP_NO_AUTH_USER },
	{ "events", required_argument, NULL, OPT_EVENTS },
	{ "rfc822-msg-files", no_argument, NULL, OPT_RFC822_FILES },
	{ "hashes", required_argument, NULL, OPT_HASHES },
	{ "extract-dir", required_argument, NULL, OPT_EXTRACT_DIR },
	{ "extract-max-file", required_argument, NULL, OPT_EXTRACT_MAX_FILE },
	{ "extract-max-total", required_argument, NULL, OPT_EXTRACT_MAX_TOTAL },
	{ "extract-types", required_argument, NULL, OPT_EXTRACT_TYPES },
	{ "max-files", required_argument, NULL, OPT_MAX_FILES },
	{ "mime-max-depth", required_argument, NULL, OPT_MIME_MAX_DEPTH },
	{ "mime-max-header-bytes", required_argument, NULL, OPT_MIME_MAX_HEADER },
	{ "no-fingerprints", no_argument, NULL, OPT_NO_FINGERPRINTS },
	{ "no-x509-files", no_argument, NULL, OPT_NO_X509_FILES },
	{ "no-software", no_argument, NULL, OPT_NO_SOFTWARE },
	{ "no-pe", no_argument, NULL, OPT_NO_PE },
	{ "pe-max-sections", required_argument, NULL, OPT_PE_MAX_SECTIONS },
	{ "software-max-hosts", required_argument, NULL, OPT_SOFTWARE_MAX_HOSTS },
	{ "software-expire", required_argument, NULL, OPT_SOFTWARE_EXPIRE },
	{ "software-ua-max", required_argument, NULL, OPT_SOFTWARE_UA_MAX },
	{ "ssl-ca-file", required_argument, NULL, OPT_SSL_CA_FILE },
	{ "no-validate-certs", no_argument, NULL, OPT_NO_VALIDATE_CERTS },
	{ "ssl-max-validated-chains", required_argument, NULL, OPT_SSL_MAX_CHAINS },
	{ "ssl-max-intermediates", required_argument, NULL, OPT_SSL_MAX_INTERMEDIATES },
	{ "no-known-certs", no_argument, NULL, OPT_NO_KNOWN_CERTS },
	{ "intel-file", required_argument, NULL, OPT_INTEL_FILE },
	{ "intel-max-items", required_argument, NULL, OPT_INTEL_MAX_ITEMS },
	{ "node-name", required_argument, NULL, OPT_NODE_NAME },
	{ "no-notice", no_argument, NULL, OPT_NO_NOTICE },
	{ "notice-suppress", required_argument, NULL, OPT_NOTICE_SUPPRESS },
	{ "notice-max-suppressed", required_argument, NULL, OPT_NOTICE_MAX_SUPPRESSED },
	{ "no-capture-loss", no_argument, NULL, OPT_NO_CAPTURE_LOSS },
	{ "capture-loss-interval", required_argument, NULL, OPT_CAPTURE_LOSS_INTERVAL },
	{ "capture-loss-initial", required_argument, NULL, OPT_CAPTURE_LOSS_INITIAL },
	{ "capture-loss-too-much", required_argument, NULL, OPT_CAPTURE_LOSS_TOO_MUCH },
	{ "no-known-hosts", no_argument, NULL, OPT_NO_KNOWN_HOSTS },
	{ "known-hosts-max", required_argument, NULL, OPT_KNOWN_HOSTS_MAX },
	{ "known-hosts-expire", required_argument, NULL, OPT_KNOWN_HOSTS_EXPIRE },
	{ "no-known-services", no_argument, NULL, OPT_NO_KNOWN_SERVICES },
	{ "no-intel-reread", no_argument, NULL, OPT_NO_INTEL_REREAD },
	{ "known-tracking", required_argument, NULL, OPT_KNOWN_TRACKING },
	{ "no-analyzer-log", no_argument, NULL, OPT_NO_ANALYZER_LOG },
	{ "analyzer-log-confirmations", no_argument, NULL, OPT_ANALYZER_CONFIRMATIONS },
	{ "known-services-max", required_argument, NULL, OPT_KNOWN_SERVICES_MAX },
	{ "known-services-expire", required_argument, NULL, OPT_KNOWN_SERVICES_EXPIRE },
	{ "known-certs-max", required_argument, NULL, OPT_KNOWN_CERTS_MAX },
	{ "known-certs-expire", required_argument, NULL, OPT_KNOWN_CERTS_EXPIRE },
	{ "log-max-field-string-bytes", required_argument, NULL, OPT_LOG_FIELD_STR },
	{ "log-max-total-string-bytes", required_argument, NULL, OPT_LOG_TOTAL_STR },
	{ "log-max-field-container-elements", required_argument, NULL, OPT_LOG_FIELD_CONT },
	{ "log-max-total-container-elements", required_argument, NULL, OPT_LOG_TOTAL_CONT },
	{ "workers", required_argument, NULL, OPT_WORKERS },
	{ "capture-threads", required_argument, NULL, OPT_CAPTURE_THREADS },
	{ "forward-block-ms", required_argument, NULL, OPT_FWD_BLOCK_MS },
	{ "forward-user", required_argument, NULL, OPT_FWD_USER },
	{ "forward-password", required_argument, NULL, OPT_FWD_PASSWORD },
	{ "forward-tls-ca", required_argument, NULL, OPT_FWD_TLS_CA },
	{ "forward-tls-name", required_argument, NULL, OPT_FWD_TLS_NAME },
	{ "forward-tls-cert", required_argument, NULL, OPT_FWD_TLS_CERT },
	{ "forward-tls-key", required_argument, NULL, OPT_FWD_TLS_KEY },
	{ "user", required_argument, NULL, OPT_USER },
	{ "seccomp", no_argument, NULL, OPT_SECCOMP },
	{ "frag-max-datagrams", required_argument, NULL, OPT_FRAG_DATAGRAMS },
	{ "frag-max-bytes", required_argument, NULL, OPT_FRAG_BYTES },
	{ "frag-timeout", required_argument, NULL, OPT_FRAG_TIMEOUT },
	{ "rfc822-msg-hashes", required_argument, NULL, OPT_RFC822_HASHES },
	{ "capture", required_argument, NULL, OPT_CAPTURE },
	{ "snaplen", required_argument, NULL, OPT_SNAPLEN },
	{ "ring-bytes", required_argument, NULL, OPT_RING_BYTES },
	{ "verbose", no_argument, NULL, 'v' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 },
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: mailtap (-r FILE | -i IFACE) [-w FILE|-] [-o forward:unix:PATH|forward:tcp:HOST:PORT|forward:tls:HOST:PORT] [options]\n"
		"\n"
		"Input:\n"
		"  -r, --read FILE          read a pcap/pcapng file (gzip ok; - = stdin)\n"
		"  -i, --interface IFACE    live capture (XDP + AF_XDP)\n"
		"  -f, --filter EXPR        tcpdump filter expression (live: on the frames of --ports)\n"
		"      --ports LIST         mail ports tracked (default 25,465,587)\n"
		"Live capture, with -i only (docs/capture.md, docs/deployment.md):\n"
		"      --capture MODE       mirror (AF_XDP, takes the mail packets: mirror/TAP port)\n"
		"                           or host (XDP+TC copy, every packet passes: on the MTA host)\n"
		"      --snaplen N          host mode: bytes copied per packet, 64..65536\n"
		"                           (default 65536)\n"
		"      --ring-bytes N       host mode: ring buffer, power of 2 (default 16 MiB)\n"
		"      --xdp-mode M         native | skb | auto (default auto)\n"
		"      --bind M             copy | zerocopy | auto (default auto)\n"
		"      --queues N           AF_XDP sockets on rx queues 0..N-1 (default: all)\n"
		"      --capture-threads N  N threads share the sockets out, each hands its packets to\n"
		"                           the workers (default 1; at most one per queue)\n"
		"      --frames N           UMEM frames per queue (default 4096)\n"
		"      --frame-size N       2048 or 4096 (default 4096)\n"
		"      --rx-ring N, --fill-ring N  ring sizes, powers of 2 (default 2048)\n"
		"      --busy-poll USECS    busy polling (default 0: off)\n"
		"      --rx-nap USECS       while frames flow, wait USECS (0..10000) before looking\n"
		"                           again instead of sleeping in poll() (default 500; 0:\n"
		"                           off); the RX ring holds what comes meanwhile\n"
		"      --pinned DIR         use maps pinned by an operator (bpftool), load nothing\n"

		"Output (several may be given; default -w -):\n"
		"  -w, --write FILE|-       msgpack Fluent Forward entries to FILE (any name) or\n"
		"                           stdout\n"
		"  -o, --output SPEC        forward:unix:PATH, forward:tcp:HOST:PORT or forward:tls:HOST:PORT\n"
		"      --tag-prefix P       tag prefix (default mailtap: tags mailtap.conn, ...)\n"
		"Forward output, with -o only (docs/forward.md):\n"
		"      --forward-mode M     forward | packed | gzip (default packed)\n"
		"      --forward-compress   same as --forward-mode gzip\n"
		"      --forward-batch-records N  records per message (default 2000)\n"
		"      --forward-flush-ms N       send a batch at the latest after N ms (default 1000)\n"
		"      --forward-max-message N    bytes per message (default 1000000)\n"
		"      --forward-queue-bytes N    records held in memory (default 64 MiB)\n"
		"      --forward-policy P   drop-oldest | drop-newest | block, when the queue is full\n"
		"      --forward-shared-key K     secure-forward handshake (TCP)\n"
		"      --forward-user U, --forward-password P  in_forward security.users\n"
		"      --forward-tls-ca FILE      forward:tls: CA certificates (PEM; default: the system's)\n"
		"      --forward-tls-name NAME    name the server's certificate must carry (default: HOST)\n"
		"      --forward-tls-cert FILE, --forward-tls-key FILE  client certificate and key (PEM)\n"
		"      --forward-block-ms N with --forward-policy block: wait at most N ms (0: no limit)\n"
		"      --forward-close-timeout-ms N  wait for acks at exit (default 10000)\n"
		"      --spool DIR          on-disk spool of the (one) -o output: batches survive\n"
		"                           outages and restarts\n"
		"      --spool-max-bytes N  spool size cap (default 1 GiB)\n"
		"Analysis:\n"
		"      --seed N             deterministic uids/fuids (tests)\n"
		"      --workers N          analysis threads, flows split by a symmetric hash (default 1)\n"
		"      --local-nets LIST    CIDRs for local_orig/local_resp (Zeek Site::local_nets)\n"
		"      --no-private-local   private address space is not local (Zeek's\n"
		"                           Site::private_address_space_is_local = F)\n"
		"      --community-id[=S]   add community_id to conn records (seed S, default 0)\n"
		"      --no-tcp-weirds      no weird records for TCP state anomalies\n"
		"      --events smtp        the smtp_events stream (Zeek's SMTP analyzer events)\n"
		"      --smtp-no-extra-fields     only Zeek's smtp fields (docs/smtp.md)\n"
		"      --smtp-no-auth-user  no auth_user field (the login name of a cleartext AUTH)\n"
		"      --smtp-blocklists    notices for error replies naming a spam block list (Zeek's\n"
		"                           policy/protocols/smtp/blocklists.zeek)\n"
		"      --rfc822-msg-files   a files record for each whole message (Zeek's\n"
		"                           SMTP::enable_rfc822_msg_file_analysis)\n"
		"      --hashes LIST        md5,sha1,sha256 or none for mail entities (default md5,sha1)\n"
		"      --rfc822-msg-hashes LIST   hashes of the whole-message files (default: --hashes)\n"
		"      --extract-dir DIR    extract files as extract-<ts>-<source>-<fuid> (DIR\n"
		"                           must be writable by mailtap's --user: checked at\n"
		"                           start)\n"
		"      --extract-max-file N, --extract-max-total N   bytes (default 100 MiB,\n"
		"                           0: no total)\n"
		"      --extract-types LIST only these mime types (default all)\n"
		"      --no-fingerprints    no ja3/ja3s/ja4/ja4s fields in ssl records\n"
		"      --no-x509-files      no files records for certificates (Zeek's default)\n"
		"      --no-software        no software stream and no is_webmail in smtp records\n"
		"                           (Zeek without policy/protocols/smtp/software)\n"
		"      --no-pe              no PE analysis of executables (no pe stream, no PE analyzer)\n"
		"      --ssl-ca-file FILE   trusted roots (PEM) for ssl's validation_status (default\n"
		"                           " DEFAULT_CA_FILE ")\n"
		"      --no-validate-certs  no validation_status (Zeek without\n"
		"                           policy/protocols/ssl/validate-certs)\n"
		"      --no-known-certs     no known_certs stream (Zeek without\n"
		"                           policy/protocols/ssl/known-certs)\n"
		"      --intel-file FILE    indicators in Zeek's intel format (Intel::read_files;\n"
		"                           repeatable): matches become intel records; live, the\n"
		"                           files are reread when they change or on SIGHUP\n"
		"      --no-intel-reread    live: the intel files are read once, at start\n"
		"      --node-name NAME     this sensor in records: weird's peer, intel's seen.node,\n"
		"                           notice's peer_descr (Zeek's peer_description; default\n"
		"                           mailtap, and no peer_descr)\n"
		"      --no-notice          no notice stream (SSL::Invalid_Server_Cert, Intel::Notice)\n"
		"      --no-capture-loss    no capture_loss stream (Zeek without misc/capture-loss)\n"
		"      --no-known-hosts     no known_hosts stream (Zeek without\n"
		"                           policy/protocols/conn/known-hosts)\n"
		"      --no-known-services  no known_services stream (Zeek without\n"
		"                           policy/protocols/conn/known-services)\n"
		"      --known-tracking local|remote|all  hosts the known_hosts, known_services and\n"
		"                           known_certs streams follow (Zeek's Known::*_tracking;\n"
		"                           default local)\n"
		"      --no-analyzer-log    no analyzer stream (Zeek's Analyzer::Logging::enable = F)\n"
		"      --analyzer-log-confirmations  also a record per protocol confirmation\n"
		"                           (Analyzer::Logging::include_confirmations = T)\n"
		"      --capture-loss-interval SECS, --capture-loss-initial SECS  capture_loss\n"
		"                           measurements every (default 900), the first after (60)\n"
		"      --capture-loss-too-much PCT  loss for CaptureLoss::Too_Much_Loss (default 10)\n"
		"      --notice-suppress SECS  a notice is not repeated within (Zeek's\n"
		"                           Notice::default_suppression_interval; default 3600, 0: always)\n"
		"Limits (--max-flows, --reasm-max-total-bytes and --frag-max-* are shared out\n"
		"among the --workers):\n"
		"      --max-flows N        tracked connections (default 1000000; LRU evicted)\n"
		"      --max-tunnels N      tracked VXLAN/Geneve/GRE tunnels (default 4096)\n"
		"      --tunnel-expire SECS Zeek's Tunnel::expiration_interval (default 3600)\n"
		"      --reasm-max-ooo-bytes N    out-of-order bytes per direction (default 1048576)\n"
		"      --reasm-max-segments N     out-of-order segments per direction (default 1024)\n"
		"      --reasm-max-total-bytes N  all reassembly memory (default 268435456)\n"
		"      --frag-max-datagrams N, --frag-max-bytes N, --frag-timeout SECS\n"
		"                           IP fragment reassembly (default 4096, 16 MiB, 30 s)\n"
		"      --smtp-max-rcptto N, --smtp-max-to N, --smtp-max-cc N, --smtp-max-path N\n"
		"                           Zeek's SMTP::max_* limits (default 1000 each)\n"
		"      --smtp-max-invalid-transactions N  before SMTP analysis stops (default 25)\n"
		"      --smtp-max-line N    command/reply line bytes (default 4096)\n"
		"      --smtp-max-pending N pipelined commands awaiting replies (default 1000)\n"
		"      --max-files N        files in flight (default 10000)\n"
		"      --pe-max-sections N  section names kept per executable (default 1000)\n"
		"      --software-max-hosts N hosts whose mail clients are remembered (default 65536)\n"
		"      --software-expire SECS a host's clients are logged again after (default 86400)\n"
		"      --software-ua-max N  bytes of a user agent parsed for its version (default 256)\n"
		"      --ssl-max-validated-chains N  verdicts remembered (default 10000; 5 min unused)\n"
		"      --known-certs-max N, --known-certs-expire SECS  (server, certificate) pairs\n"
		"                           remembered (default 100000), logged again after (86400)\n"
		"      --ssl-max-intermediates N  intermediate chains kept for validation (default\n"
		"                           1000; 0: none, as Zeek's ssl_cache_intermediate_ca = F)\n"
		"      --intel-max-items N  indicators kept from the intel files (default 4000000)\n"
		"      --notice-max-suppressed N  notices remembered for suppression (default 100000)\n"
		"      --known-hosts-max N, --known-hosts-expire SECS  local hosts remembered\n"
		"                           (default 100000), logged again after (86400)\n"
		"      --known-services-max N, --known-services-expire SECS  (host, port) entries\n"
		"                           remembered (default 100000), logged again after (86400)\n"
		"      --mime-max-depth N   MIME nesting (default 100)\n"
		"      --mime-max-header-bytes N  header block of an entity (default 65536)\n"
		"      --log-max-field-string-bytes N, --log-max-total-string-bytes N,\n"
		"      --log-max-field-container-elements N, --log-max-total-container-elements N\n"
		"                           Zeek's Log::default_max_* (4096, 256000, 100, 500;\n"
		"                           0: no limit)\n"
		"Other:\n"
		"      --stats              print counters to stderr at exit\n"
		"      --stats-interval S   a stats record every S seconds (default 60; 0: none); with\n"
		"                           -r, of the capture's time, as Zeek (default 0)\n"
		"      --user NAME          after setup, run as NAME with only the capabilities still\n"
		"                           needed (docs/operations.md)\n"
		"      --seccomp            confine packet processing to a syscall allow-list\n"
		"  -v, --verbose / -q, --quiet\n"
		"  -h, --help, --version\n");
}

/* Decimal digits only, range-checked. strtoull(s, &end, 0) took octal ("--ports 025" was
 * 21), hex, leading blanks and a sign (" -1" was 2^64 - 1). */
static int parse_u64(const char *opt, const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	const char *p;
	uint64_t v = 0;
	bool over = false;

	for (p = s; *p >= '0' && *p <= '9'; p++) {
		unsigned int d = (unsigned int)(*p - '0');

		if (v > (UINT64_MAX - d) / 10)
			over = true;
		else
			v = v * 10 + d;
	}
	if (p == s || *p || over || v < min || v > max) {
		pr_warn("invalid value '%s' for %s (expected a decimal number %llu..%llu)\n", s,
			opt, (unsigned long long)min, (unsigned long long)max);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

/* "--name" of an option, for the messages of options that share a case. */
static const char *opt_name(int c)
{
	static char buf[64];

	for (const struct option *lo = long_opts; lo->name; lo++) {
		if (lo->val == c) {
			snprintf(buf, sizeof(buf), "--%s", lo->name);
			return buf;
		}
	}
	return "option";
}

/* --ports: a comma-separated list of 1..65535, at least one. 0 or -EINVAL (message given). */
static int parse_ports(uint8_t *bitmap, const char *s)
{
	const char *list = s;
	char buf[16];
	int n_ports = 0;

	memset(bitmap, 0, 65536 / 8);
	for (;;) {
		size_t n = strcspn(s, ",");
		uint64_t v;

		if (n == 0 || n >= sizeof(buf)) {
			pr_warn("invalid --ports '%s': %s (expected e.g. 25,465,587)\n", list,
				n ? "an item is too long" : *list ? "an empty item" : "no port");
			return -EINVAL;
		}
		memcpy(buf, s, n);
		buf[n] = '\0';
		if (parse_u64("--ports", buf, 1, 65535, &v) < 0)
			return -EINVAL;
		engine_cfg__set_port(bitmap, (uint16_t)v, true);
		n_ports++;
		s += n;
		if (!*s)
			break;
		s++; /* the comma: an item must follow */
	}
	return n_ports;
}

/* --hashes, --rfc822-msg-hashes: md5, sha1, sha256 or none, comma-separated. */
static int parse_hashes(const char *opt, const char *s, struct files_cfg *f)
{
	f->md5 = f->sha1 = f->sha256 = false;
	while (*s) {
		size_t n = strcspn(s, ",");

		if (n == 3 && !strncmp(s, "md5", 3))
			f->md5 = true;
		else if (n == 4 && !strncmp(s, "sha1", 4))
			f->sha1 = true;
		else if (n == 6 && !strncmp(s, "sha256", 6))
			f->sha256 = true;
		else if (n && !(n == 4 && !strncmp(s, "none", 4))) {
			pr_warn("unknown hash '%.*s' in %s (md5, sha1, sha256, none)\n", (int)n, s,
				opt);
			return -EINVAL;
		}
		s += n;
		if (*s == ',')
			s++;
	}
	return 0;
}

/* Remembers the first option of each kind that only some runs use (check_scope). */
static void note_scope(struct opts *o, int c)
{
	int *first[2] = { NULL, NULL };

	switch (c) {
	case OPT_CAPTURE:
	case OPT_XDP_MODE:
	case OPT_NO_INTEL_REREAD:
		first[0] = &o->live_opt;
		break;
	case OPT_SNAPLEN:
	case OPT_RING_BYTES:
		first[0] = &o->live_opt;
		first[1] = &o->host_opt;
		break;
	case OPT_BIND:
	case OPT_QUEUES:
	case OPT_FRAMES:
	case OPT_FRAME_SIZE:
	case OPT_RX_RING:
	case OPT_FILL_RING:
	case OPT_BUSY_POLL:
	case OPT_RX_NAP:
	case OPT_PINNED:
		first[0] = &o->live_opt;
		first[1] = &o->mirror_opt;
		break;
	case OPT_FWD_TLS_CA:
	case OPT_FWD_TLS_NAME:
	case OPT_FWD_TLS_CERT:
	case OPT_FWD_TLS_KEY:
		first[0] = &o->fwd_opt;
		first[1] = &o->tls_opt;
		break;
	case OPT_FWD_MODE:
	case OPT_FWD_COMPRESS:
	case OPT_FWD_BATCH:
	case OPT_FWD_FLUSH_MS:
	case OPT_FWD_MAX_MSG:
	case OPT_FWD_QUEUE:
	case OPT_FWD_POLICY:
	case OPT_FWD_KEY:
	case OPT_FWD_CLOSE_MS:
	case OPT_FWD_BLOCK_MS:
	case OPT_FWD_USER:
	case OPT_FWD_PASSWORD:
	case OPT_SPOOL:
	case OPT_SPOOL_MAX:
		first[0] = &o->fwd_opt;
		break;
	default:
		return;
	}
	for (int i = 0; i < 2; i++)
		if (first[i] && !*first[i])
			*first[i] = c;
}

/* After every option is read: refuse combinations where an option would do nothing or
 * something other than asked. 0 or -EINVAL (message given). */
static int check_scope(const struct opts *o)
{
	int n_fwd = 0, n_tls = 0;

	if (o->read_file && o->live_opt) {
		pr_warn("%s needs live capture (-i IFACE): reading a file (-r) it does nothing\n",
			opt_name(o->live_opt));
		return -EINVAL;
	}
	if (o->iface && o->capture_host && o->mirror_opt) {
		pr_warn("%s is for mirror mode (AF_XDP sockets): --capture host does not use it\n",
			opt_name(o->mirror_opt));
		return -EINVAL;
	}
	if (o->iface && !o->capture_host && o->host_opt) {
		pr_warn("%s is for --capture host: mirror mode does not use it\n",
			opt_name(o->host_opt));
		return -EINVAL;
	}
	for (int i = 0; i < o->n_outputs; i++) {
		n_fwd += o->outputs[i].fwd;
		n_tls += o->outputs[i].fwd && !strncmp(o->outputs[i].spec, "forward:tls:", 12);
		for (int j = 0; j < i; j++) {
			if (o->outputs[j].fwd != o->outputs[i].fwd ||
			    strcmp(o->outputs[j].spec, o->outputs[i].spec))
				continue;
			pr_warn("output -%c %s given twice: every record would be written twice\n",
				o->outputs[i].fwd ? 'o' : 'w', o->outputs[i].spec);
			return -EINVAL;
		}
	}
	if (o->fwd_opt && !n_fwd) {
		pr_warn("%s is for Forward outputs (-o forward:...), and none is given\n",
			opt_name(o->fwd_opt));
		return -EINVAL;
	}
	if (o->tls_opt && !n_tls) {
		pr_warn("%s is for forward:tls: outputs, and none is given\n",
			opt_name(o->tls_opt));
		return -EINVAL;
	}
	/* each Forward output locks its spool for itself: a second one would find it taken */
	if (o->fwd.spool_dir && n_fwd > 1) {
		pr_warn("--spool %s serves one Forward output, and %d are given (-o): run one "
			"mailtap per spooled output\n", o->fwd.spool_dir, n_fwd);
		return -EINVAL;
	}
	return 0;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	uint64_t v;
	int c;

	engine_cfg__default(&o->eng);
	tunnels_limits__default(&o->tun);
	fwd_opts__default(&o->fwd);
	xsk_opts__default(&o->xsk);
	hostcap_opts__default(&o->host);
	parsers_cfg__default(&o->parsers);
	rec_limits__default(&o->logl);
	intel_limits__default(&o->intel_lim);
	o->intel_reread = true;
	notice_cfg__default(&o->notice);
	o->cl_interval = 900; /* CaptureLoss::watch_interval */
	o->cl_initial = 60;   /* CaptureLoss::initial_watch_interval */
	o->cl_too_much = 10;  /* CaptureLoss::too_much_loss */
	o->known_hosts = true;
	o->known_hosts_max = 100000;
	o->known_hosts_expire = 86400; /* Known::host_store_expiry */
	o->known_services = true;
	o->known_services_max = 100000;
	o->known_services_expire = 86400; /* Known::services' &create_expire=1day */
	o->stats_interval = -1;
	o->workers = 1;
	o->capture_threads = 1;
	while ((c = getopt_long(argc, argv, "r:i:w:o:f:vqh", long_opts, NULL)) != -1) {
		note_scope(o, c);
		switch (c) {
		case 'r':
		case 'i': {
			const char **dst = c == 'r' ? &o->read_file : &o->iface;

			/* one input a run: a second one used to replace the first unsaid */
			if (*dst) {
				pr_warn("-%c given twice ('%s', then '%s'): one input a run\n", c,
					*dst, optarg);
				return -EINVAL;
			}
			*dst = optarg;
			break;
		}
		case 'w':
		case 'o':
			if (o->n_outputs >= MAX_OUTPUTS) {
				pr_warn("at most %d outputs\n", MAX_OUTPUTS);
				return -EINVAL;
			}
			if (c == 'o' && strncmp(optarg, "forward:", 8)) {
				pr_warn("unknown output '%s' (expected forward:unix:PATH, "
					"forward:tcp:HOST:PORT or forward:tls:HOST:PORT)\n", optarg);
				return -EINVAL;
			}
			/* -w is a file whatever its name: "forward:x" is a file name there */
			o->outputs[o->n_outputs++] =
				(struct output){ .spec = optarg, .fwd = c == 'o' };
			break;
		case 'f':
			o->filter = optarg;
			break;
		case OPT_SEED:
			if (parse_u64("--seed", optarg, 0, UINT64_MAX, &v) < 0)
				return -EINVAL;
			o->eng.seeded = true;
			o->eng.seed = v;
			break;
		case OPT_PORTS:
			o->ports_given = 1;
			if (parse_ports(o->eng.ports, optarg) < 0)
				return -EINVAL;
			break;
		case OPT_LOCAL_NETS:
			if (engine_cfg__parse_nets(&o->eng, optarg) < 0) {
				pr_warn("invalid --local-nets '%s' (expected CIDRs, comma-"
					"separated, e.g. 10.0.0.0/8,2001:db8::/32)\n", optarg);
				return -EINVAL;
			}
			break;
		case OPT_COMMUNITY_ID:
			o->eng.community_id = true;
			if (optarg) {
				if (parse_u64("--community-id", optarg, 0, 65535, &v) < 0)
					return -EINVAL;
				o->eng.community_id_seed = (uint16_t)v;
			}
			break;
		case OPT_TAG_PREFIX:
			if (!*optarg || strlen(optarg) > 60) {
				pr_warn("invalid --tag-prefix '%s'\n", optarg);
				return -EINVAL;
			}
			o->tag_prefix = optarg;
			break;
		case OPT_MAX_FLOWS:
			if (parse_u64("--max-flows", optarg, 1, 100000000, &v) < 0)
				return -EINVAL;
			o->eng.flow.max_flows = (uint32_t)v;
			break;
		case OPT_MAX_TUNNELS:
			if (parse_u64("--max-tunnels", optarg, 1, TUNNELS_NO_ROOM - 1, &v) < 0)
				return -EINVAL;
			o->tun.max = (uint32_t)v;
			break;
		case OPT_TUNNEL_EXPIRE:
			if (parse_u64("--tunnel-expire", optarg, 1, 365ULL * 86400, &v) < 0)
				return -EINVAL;
			o->tun.expire_ns = v * 1000000000ULL;
			break;
		case OPT_REASM_OOO:
			/* 1 at least: reasm takes 0 as no limit, which no one asks for with 0 */
			if (parse_u64("--reasm-max-ooo-bytes", optarg, 1, UINT32_MAX, &v) < 0)
				return -EINVAL;
			o->eng.reasm.max_ooo_bytes = (uint32_t)v;
			break;
		case OPT_REASM_SEGS:
			if (parse_u64("--reasm-max-segments", optarg, 1, UINT32_MAX, &v) < 0)
				return -EINVAL;
			o->eng.reasm.max_segments = (uint32_t)v;
			break;
		case OPT_REASM_TOTAL:
			if (parse_u64("--reasm-max-total-bytes", optarg, 1, UINT64_MAX, &v) < 0)
				return -EINVAL;
			o->eng.reasm.max_total_bytes = v;
			break;
		case OPT_NO_PRIVATE_LOCAL:
			o->eng.private_is_local = false;
			break;
		case OPT_NO_TCP_WEIRDS:
			o->eng.tcp_weirds = false;
			break;
		case OPT_STATS:
			o->print_stats = 1;
			break;
		case OPT_FWD_MODE:
			if (fwd_opts__parse_mode(optarg, &o->fwd.mode) < 0) {
				pr_warn("invalid --forward-mode '%s' (forward, packed or gzip)\n", optarg);
				return -EINVAL;
			}
			break;
		case OPT_FWD_COMPRESS:
			o->fwd.mode = FWD_MODE_COMPRESSED;
			break;
		case OPT_FWD_BATCH:
			if (parse_u64("--forward-batch-records", optarg, 1, 1000000, &v) < 0)
				return -EINVAL;
			o->fwd.batch_records = (uint32_t)v;
			break;
		case OPT_FWD_FLUSH_MS:
			if (parse_u64("--forward-flush-ms", optarg, 1, 3600000, &v) < 0)
				return -EINVAL;
			o->fwd.flush_interval_ms = (uint32_t)v;
			break;
		case OPT_FWD_MAX_MSG:
			if (parse_u64("--forward-max-message", optarg, 4096, 6000000, &v) < 0)
				return -EINVAL;
			o->fwd.max_message_bytes = v;
			break;
		case OPT_FWD_QUEUE:
			if (parse_u64("--forward-queue-bytes", optarg, 65536, 1ULL << 40, &v) < 0)
				return -EINVAL;
			o->fwd.queue_max_bytes = v;
			break;
		case OPT_FWD_POLICY:
			if (fwd_opts__parse_policy(optarg, &o->fwd.policy) < 0) {
				pr_warn("invalid --forward-policy '%s' (drop-oldest, drop-newest or "
					"block)\n", optarg);
				return -EINVAL;
			}
			break;
		case OPT_FWD_KEY:
			o->fwd.shared_key = optarg;
			break;
		case OPT_FWD_CLOSE_MS:
			if (parse_u64("--forward-close-timeout-ms", optarg, 0, 3600000, &v) < 0)
				return -EINVAL;
			o->fwd.close_timeout_ms = (uint32_t)v;
			break;
		case OPT_CAPTURE:
			if (strcmp(optarg, "host") && strcmp(optarg, "mirror")) {
				pr_warn("invalid --capture '%s' (mirror or host)\n", optarg);
				return -EINVAL;
			}
			/* the last one counts: "--capture mirror" after the container's default
			 * "--capture host" (deploy/docker-entrypoint.sh) is mirror mode */
			o->capture_host = !strcmp(optarg, "host");
			break;
		case OPT_SNAPLEN:
			if (parse_u64("--snaplen", optarg, 64, MAILTAP_HOST_SNAP_MAX, &v) < 0)
				return -EINVAL;
			o->host.snaplen = (uint32_t)v;
			break;
		case OPT_RING_BYTES:
			if (parse_u64("--ring-bytes", optarg, 4096, 1ULL << 30, &v) < 0 ||
			    (v & (v - 1))) {
				pr_warn("--ring-bytes must be a power of 2 between 4096 and 1 GiB\n");
				return -EINVAL;
			}
			o->host.ring_bytes = (uint32_t)v;
			break;
		case OPT_XDP_MODE:
			if (loader__parse_mode(optarg, &o->xsk.xdp_mode) < 0) {
				pr_warn("invalid --xdp-mode '%s' (native, skb or auto)\n", optarg);
				return -EINVAL;
			}
			break;
		case OPT_BIND:
			if (xsk__parse_bind(optarg, &o->xsk.bind) < 0) {
				pr_warn("invalid --bind '%s' (copy, zerocopy or auto)\n", optarg);
				return -EINVAL;
			}
			break;
		case OPT_QUEUES:
			if (parse_u64("--queues", optarg, 1, XSK_MAX_QUEUES, &v) < 0)
				return -EINVAL;
			o->xsk.queues = (int)v;
			break;
		case OPT_FRAMES:
			if (parse_u64("--frames", optarg, 64, 1 << 20, &v) < 0)
				return -EINVAL;
			o->xsk.frames = (uint32_t)v;
			break;
		case OPT_FRAME_SIZE:
			if (parse_u64("--frame-size", optarg, 2048, 4096, &v) < 0 ||
			    (v != 2048 && v != 4096)) {
				pr_warn("--frame-size must be 2048 or 4096\n");
				return -EINVAL;
			}
			o->xsk.frame_size = (uint32_t)v;
			break;
		case OPT_RX_RING:
		case OPT_FILL_RING:
			if (parse_u64(c == OPT_RX_RING ? "--rx-ring" : "--fill-ring", optarg, 64,
				      1 << 16, &v) < 0 || (v & (v - 1))) {
				pr_warn("ring sizes must be powers of 2 between 64 and 65536\n");
				return -EINVAL;
			}
			if (c == OPT_RX_RING)
				o->xsk.rx_ring = (uint32_t)v;
			else
				o->xsk.fill_ring = (uint32_t)v;
			break;
		case OPT_BUSY_POLL:
			if (parse_u64("--busy-poll", optarg, 0, 1000000, &v) < 0)
				return -EINVAL;
			o->xsk.busy_poll = (int)v;
			break;
		case OPT_RX_NAP:
			if (parse_u64("--rx-nap", optarg, 0, 10000, &v) < 0)
				return -EINVAL;
			o->xsk.rx_nap_us = (uint32_t)v;
			break;
		case OPT_PINNED:
			o->xsk.pinned_dir = optarg;
			break;
		case OPT_STATS_INTERVAL:
			if (parse_u64("--stats-interval", optarg, 0, 86400, &v) < 0)
				return -EINVAL;
			o->stats_interval = (int)v;
			break;
		case OPT_SMTP_MAX_RCPTTO:
		case OPT_SMTP_MAX_TO:
		case OPT_SMTP_MAX_CC:
		case OPT_SMTP_MAX_PATH:
		case OPT_SMTP_MAX_INVALID: {
			struct smtp_limits *l = &o->parsers.smtp.lim;
			uint32_t *dst = c == OPT_SMTP_MAX_RCPTTO ? &l->max_rcptto
				      : c == OPT_SMTP_MAX_TO	 ? &l->max_to
				      : c == OPT_SMTP_MAX_CC	 ? &l->max_cc
				      : c == OPT_SMTP_MAX_PATH	 ? &l->max_path
								 : &l->max_invalid_tx;

			/* 1 at least: the SMTP parser takes 0 as no limit, Zeek as none allowed */
			if (parse_u64(opt_name(c), optarg, 1, 10000000, &v) < 0)
				return -EINVAL;
			*dst = (uint32_t)v;
			break;
		}
		case OPT_SMTP_MAX_LINE:
			if (parse_u64("--smtp-max-line", optarg, 512, SMTP_MAX_UNIT, &v) < 0)
				return -EINVAL;
			o->parsers.smtp.lim.max_line = (uint32_t)v;
			break;
		case OPT_SMTP_MAX_PENDING:
			if (parse_u64("--smtp-max-pending", optarg, 1, 1000000, &v) < 0)
				return -EINVAL;
			o->parsers.smtp.lim.max_pending_cmds = (uint32_t)v;
			break;
		case OPT_SMTP_BLOCKLISTS:
			o->parsers.smtp.blocklists = true;
			break;
		case OPT_SMTP_NO_AUTH_USER:
			o->parsers.smtp.auth_user = false;
			break;
		case OPT_SMTP_NO_EXTRA:
			o->parsers.smtp.extra_fields = false;
			break;
		case OPT_EVENTS:
			if (strcmp(optarg, "smtp")) {
				pr_warn("unknown --events '%s' (smtp)\n", optarg);
				return -EINVAL;
			}
			o->parsers.smtp.events = true;
			o->events_smtp = 1;
			break;
		case OPT_RFC822_FILES:
			o->parsers.smtp.rfc822_msg_file = true;
			break;
		case OPT_HASHES:
		case OPT_RFC822_HASHES:
			if (parse_hashes(opt_name(c), optarg,
					 c == OPT_HASHES ? &o->parsers.files
							 : &o->parsers.rfc822_files) < 0)
				return -EINVAL;
			if (c == OPT_RFC822_HASHES)
				o->parsers.rfc822_own_hashes = true;
			break;
		case OPT_EXTRACT_DIR:
			if (!*optarg) {
				pr_warn("--extract-dir: empty directory name\n");
				return -EINVAL;
			}
			o->parsers.files.extract_dir = optarg;
			break;
		case OPT_EXTRACT_MAX_FILE:
			if (parse_u64("--extract-max-file", optarg, 1, UINT64_MAX, &v) < 0)
				return -EINVAL;
			o->parsers.files.extract_max_file = v;
			break;
		case OPT_EXTRACT_MAX_TOTAL:
			/* 0: no total (the default) */
			if (parse_u64("--extract-max-total", optarg, 0, UINT64_MAX, &v) < 0)
				return -EINVAL;
			o->parsers.files.extract_max_total = v;
			break;
		case OPT_EXTRACT_TYPES:
			o->parsers.files.extract_types = optarg;
			break;
		case OPT_MAX_FILES:
			if (parse_u64("--max-files", optarg, 1, 10000000, &v) < 0)
				return -EINVAL;
			o->parsers.files.max_in_flight = (uint32_t)v;
			o->parsers.tls.files.max_in_flight = (uint32_t)v;
			break;
		case OPT_MIME_MAX_DEPTH:
			if (parse_u64("--mime-max-depth", optarg, 1, 100000, &v) < 0)
				return -EINVAL;
			o->parsers.smtp.mime.max_depth = (uint32_t)v;
			break;
		case OPT_MIME_MAX_HEADER:
			if (parse_u64("--mime-max-header-bytes", optarg, 1024, 1 << 30, &v) < 0)
				return -EINVAL;
			o->parsers.smtp.mime.max_header_bytes = (uint32_t)v;
			break;
		case OPT_NO_FINGERPRINTS:
			o->parsers.tls.fingerprints = false;
			break;
		case OPT_NO_X509_FILES:
			o->parsers.tls.log_x509_in_files = false;
			break;
		case OPT_NO_SOFTWARE:
			o->parsers.smtp.software.enabled = false;
			break;
		case OPT_NO_PE:
			o->parsers.files.pe = false;
			break;
		case OPT_PE_MAX_SECTIONS:
			if (parse_u64("--pe-max-sections", optarg, 1, 65535, &v) < 0)
				return -EINVAL;
			o->parsers.files.pe_max_sections = (uint32_t)v;
			break;
		case OPT_SSL_CA_FILE:
			o->ssl_ca_file = optarg;
			break;
		case OPT_INTEL_FILE:
			if (o->n_intel_files == MAX_INTEL_FILES) {
				pr_warn("at most %d --intel-file\n", MAX_INTEL_FILES);
				return -EINVAL;
			}
			o->intel_files[o->n_intel_files++] = optarg;
			break;
		case OPT_INTEL_MAX_ITEMS:
			if (parse_u64("--intel-max-items", optarg, 1, 1000000000, &v) < 0)
				return -EINVAL;
			o->intel_lim.max_items = v;
			break;
		case OPT_NO_KNOWN_HOSTS:
			o->known_hosts = false;
			break;
		case OPT_KNOWN_HOSTS_MAX:
			if (parse_u64("--known-hosts-max", optarg, 1, 10000000, &v) < 0)
				return -EINVAL;
			o->known_hosts_max = (uint32_t)v;
			break;
		case OPT_KNOWN_HOSTS_EXPIRE:
			if (parse_u64("--known-hosts-expire", optarg, 1, 365 * 86400, &v) < 0)
				return -EINVAL;
			o->known_hosts_expire = v;
			break;
		case OPT_NO_KNOWN_SERVICES:
			o->known_services = false;
			break;
		case OPT_NO_INTEL_REREAD:
			o->intel_reread = false;
			break;
		case OPT_KNOWN_TRACKING: {
			enum mt_tracking t;

			if (!strcmp(optarg, "local"))
				t = MT_TRACK_LOCAL;
			else if (!strcmp(optarg, "remote"))
				t = MT_TRACK_REMOTE;
			else if (!strcmp(optarg, "all"))
				t = MT_TRACK_ALL;
			else {
				pr_warn("--known-tracking: '%s' is not local, remote or all\n", optarg);
				return -EINVAL;
			}
			o->eng.known_tracking = t;
			o->parsers.tls.known_tracking = t;
			break;
		}
		case OPT_NO_ANALYZER_LOG:
			o->eng.analyzer_log = false;
			break;
		case OPT_ANALYZER_CONFIRMATIONS:
			o->eng.analyzer_confirmations = true;
			break;
		case OPT_KNOWN_SERVICES_MAX:
			if (parse_u64("--known-services-max", optarg, 1, 10000000, &v) < 0)
				return -EINVAL;
			o->known_services_max = (uint32_t)v;
			break;
		case OPT_KNOWN_SERVICES_EXPIRE:
			if (parse_u64("--known-services-expire", optarg, 1, 365 * 86400, &v) < 0)
				return -EINVAL;
			o->known_services_expire = v;
			break;
		case OPT_NO_CAPTURE_LOSS:
			o->cl_interval = 0;
			break;
		case OPT_CAPTURE_LOSS_INTERVAL:
			if (parse_u64("--capture-loss-interval", optarg, 1, 365 * 86400, &v) < 0)
				return -EINVAL;
			o->cl_interval = v;
			break;
		case OPT_CAPTURE_LOSS_INITIAL:
			if (parse_u64("--capture-loss-initial", optarg, 1, 365 * 86400, &v) < 0)
				return -EINVAL;
			o->cl_initial = v;
			break;
		case OPT_CAPTURE_LOSS_TOO_MUCH:
			if (parse_u64("--capture-loss-too-much", optarg, 0, 100, &v) < 0)
				return -EINVAL;
			o->cl_too_much = (double)v;
			break;
		case OPT_NO_NOTICE:
			o->notice.enabled = false;
			break;
		case OPT_NOTICE_SUPPRESS:
			if (parse_u64("--notice-suppress", optarg, 0, 365 * 86400, &v) < 0)
				return -EINVAL;
			o->notice.suppress_ns = v * 1000000000ULL;
			break;
		case OPT_NOTICE_MAX_SUPPRESSED:
			if (parse_u64("--notice-max-suppressed", optarg, 1, 10000000, &v) < 0)
				return -EINVAL;
			o->notice.max_suppressed = (uint32_t)v;
			break;
		case OPT_NODE_NAME:
			if (!*optarg || strlen(optarg) > 64) {
				pr_warn("--node-name: 1 to 64 bytes\n");
				return -EINVAL;
			}
			o->node_name = optarg;
			break;
		case OPT_NO_VALIDATE_CERTS:
			o->no_validate_certs = 1;
			break;
		case OPT_SSL_MAX_CHAINS:
			if (parse_u64("--ssl-max-validated-chains", optarg, 1, 10000000, &v) < 0)
				return -EINVAL;
			o->parsers.tls.certval_cfg.max_chains = (uint32_t)v;
			break;
		case OPT_NO_KNOWN_CERTS:
			o->parsers.tls.known_certs = false;
			break;
		case OPT_KNOWN_CERTS_MAX:
			if (parse_u64("--known-certs-max", optarg, 1, 10000000, &v) < 0)
				return -EINVAL;
			o->parsers.tls.known_certs_max = (uint32_t)v;
			break;
		case OPT_KNOWN_CERTS_EXPIRE:
			if (parse_u64("--known-certs-expire", optarg, 1, 365 * 86400, &v) < 0)
				return -EINVAL;
			o->parsers.tls.known_certs_expire_ns = v * 1000000000ULL;
			break;
		case OPT_SSL_MAX_INTERMEDIATES:
			if (parse_u64("--ssl-max-intermediates", optarg, 0, 1000000, &v) < 0)
				return -EINVAL;
			o->parsers.tls.certval_cfg.max_intermediates = (uint32_t)v;
			break;
		case OPT_SOFTWARE_MAX_HOSTS:
			if (parse_u64("--software-max-hosts", optarg, 1, 10000000, &v) < 0)
				return -EINVAL;
			o->parsers.smtp.software.max_hosts = (uint32_t)v;
			break;
		case OPT_SOFTWARE_EXPIRE:
			if (parse_u64("--software-expire", optarg, 1, 365 * 86400, &v) < 0)
				return -EINVAL;
			o->parsers.smtp.software.expire_ns = v * 1000000000ULL;
			break;
		case OPT_SOFTWARE_UA_MAX:
			if (parse_u64("--software-ua-max", optarg, 16, 65536, &v) < 0)
				return -EINVAL;
			o->parsers.smtp.software.max_ua = (uint32_t)v;
			break;
		case OPT_LOG_FIELD_STR:
		case OPT_LOG_TOTAL_STR:
		case OPT_LOG_FIELD_CONT:
		case OPT_LOG_TOTAL_CONT: {
			uint32_t *dst = c == OPT_LOG_FIELD_STR	 ? &o->logl.max_field_string_bytes
				      : c == OPT_LOG_TOTAL_STR	 ? &o->logl.max_total_string_bytes
				      : c == OPT_LOG_FIELD_CONT ? &o->logl.max_field_container_elements
								 : &o->logl.max_total_container_elements;

			if (parse_u64(opt_name(c), optarg, 0, UINT32_MAX, &v) < 0) /* 0: no limit */
				return -EINVAL;
			*dst = (uint32_t)v;
			break;
		}
		case OPT_WORKERS:
			if (parse_u64("--workers", optarg, 1, 64, &v) < 0)
				return -EINVAL;
			o->workers = (int)v;
			break;
		case OPT_CAPTURE_THREADS:
			if (parse_u64("--capture-threads", optarg, 1, XSK_MAX_QUEUES, &v) < 0)
				return -EINVAL;
			o->capture_threads = (int)v;
			break;
		case OPT_FWD_BLOCK_MS:
			if (parse_u64("--forward-block-ms", optarg, 0, 3600000, &v) < 0)
				return -EINVAL;
			o->fwd.block_max_ms = (uint32_t)v;
			break;
		case OPT_FWD_USER:
			o->fwd.username = optarg;
			break;
		case OPT_FWD_PASSWORD:
			o->fwd.password = optarg;
			break;
		case OPT_FWD_TLS_CA:
			o->fwd.tls_ca = optarg;
			break;
		case OPT_FWD_TLS_NAME:
			o->fwd.tls_name = optarg;
			break;
		case OPT_FWD_TLS_CERT:
			o->fwd.tls_cert = optarg;
			break;
		case OPT_FWD_TLS_KEY:
			o->fwd.tls_key = optarg;
			break;
		case OPT_FRAG_DATAGRAMS:
			if (parse_u64("--frag-max-datagrams", optarg, 1, 10000000, &v) < 0)
				return -EINVAL;
			o->eng.frag.max_datagrams = (uint32_t)v;
			break;
		case OPT_FRAG_BYTES:
			if (parse_u64("--frag-max-bytes", optarg, 65536, 1ULL << 40, &v) < 0)
				return -EINVAL;
			o->eng.frag.max_bytes = v;
			break;
		case OPT_FRAG_TIMEOUT:
			if (parse_u64("--frag-timeout", optarg, 1, 3600, &v) < 0)
				return -EINVAL;
			o->eng.frag.timeout_ns = v * 1000000000ULL;
			break;
		case OPT_USER:
			o->user = optarg;
			break;
		case OPT_SECCOMP:
			o->seccomp = 1;
			break;
		case OPT_SPOOL:
			o->fwd.spool_dir = optarg;
			break;
		case OPT_SPOOL_MAX:
			if (parse_u64("--spool-max-bytes", optarg, 65536, 1ULL << 50, &v) < 0)
				return -EINVAL;
			o->fwd.spool_max_bytes = v;
			break;
		case 'v':
			log__set_level(LOG_DEBUG);
			break;
		case 'q':
			log__set_level(LOG_WARN);
			break;
		case 'h':
			usage(stdout);
			o->exit_now = 1;
			return 0;
		case OPT_VERSION:
			printf("mailtap %s\n", MAILTAP_VERSION);
			o->exit_now = 1;
			return 0;
		default:
			usage(stderr);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		pr_warn("unexpected argument '%s'\n", argv[optind]);
		return -EINVAL;
	}
	if (!!o->read_file + !!o->iface != 1) {
		pr_warn("give exactly one of -r FILE or -i IFACE (see --help)\n");
		return -EINVAL;
	}
	if (o->capture_threads > 1 && (!o->iface || o->capture_host)) {
		pr_warn("--capture-threads needs -i IFACE in mirror mode (AF_XDP sockets)\n");
		return -EINVAL;
	}
	if (o->capture_threads > 1 && o->xsk.queues > 0 && o->capture_threads > o->xsk.queues) {
		pr_warn("--capture-threads %d: more threads than the %d queues of --queues\n",
			o->capture_threads, o->xsk.queues);
		return -EINVAL;
	}
	if (check_scope(o) < 0)
		return -EINVAL;
	if (o->n_outputs == 0)
		o->outputs[o->n_outputs++] = (struct output){ .spec = "-" };
	if (o->stats_interval < 0)
		o->stats_interval = o->iface ? 60 : 0;
	/* the port set for the XDP programs, from the same --ports: all of them */
	{
		size_t n = 0;

		for (uint32_t p = 1; p < 65536; p++)
			if (engine_cfg__port(o->eng.ports, (uint16_t)p))
				port_list[n++] = (uint16_t)p;
		o->xsk.ifname = o->iface;
		/* pinned mode: the operator's port map is left as it is unless --ports was given */
		if (!o->xsk.pinned_dir || o->ports_given) {
			o->xsk.ports = port_list;
			o->xsk.n_ports = n;
		}
		o->host.ifname = o->iface;
		o->host.xdp_mode = o->xsk.xdp_mode;
		o->host.ports = port_list;
		o->host.n_ports = n;
	}
	return 0;
}

static void print_xsk_stats(struct xsk_source *src)
{
	struct xsk_stats xs;

	if (xsk_source__stats(src, &xs) < 0)
		return;
	fprintf(stderr, "mailtap: xdp");
	for (int i = 0; i < MAILTAP_STAT__MAX; i++)
		fprintf(stderr, " %s %llu", mailtap_stat_names[i], (unsigned long long)xs.xdp[i]);
	fprintf(stderr,
		"\nmailtap: af_xdp queues %u delivered %llu rx_dropped %llu rx_ring_full %llu "
		"fill_ring_empty %llu invalid %llu\n",
		xs.n_queues, (unsigned long long)xs.delivered, (unsigned long long)xs.rx_dropped,
		(unsigned long long)xs.rx_ring_full,
		(unsigned long long)xs.rx_fill_ring_empty_descs,
		(unsigned long long)xs.rx_invalid_descs);
}

/* fwd_stats is summed over the Forward outputs as an array of uint64_t counters. */
_Static_assert(sizeof(struct fwd_stats) % sizeof(uint64_t) == 0, "fwd_stats");

/* Resident memory now (Zeek's stats.log mem), from /proc/self/statm; 0 when unreadable. */
static uint64_t resident_bytes(void)
{
	unsigned long long size, rss;
	FILE *f = fopen("/proc/self/statm", "r");
	int n;

	if (!f)
		return 0;
	n = fscanf(f, "%llu %llu", &size, &rss);
	fclose(f);
	return n == 2 ? rss * (uint64_t)sysconf(_SC_PAGESIZE) : 0;
}

static void write_stats(struct analysis *a, struct xsk_source *src, uint64_t now)
{
	struct engine_stats es;
	struct xsk_stats xs;
	struct files_stats fs;
	struct fwd_stats fw, sum;
	struct workers_stats wst;
	struct tunnels_stats ts;
	struct software_stats sws;
	struct certval_stats cvs;
	struct known_certs_stats kcs;
	struct intel_stats ins;
	struct notice_stats nts;
	struct stats_sources s = {.es = &es, .fs = &fs, .live = !a->offline};
	int n_fwd = 0;

	an_stats(a, &es);
	if (src && xsk_source__stats(src, &xs) == 0)
		s.xs = &xs;
	files__stats(&fs);
	memset(&sum, 0, sizeof(sum));
	for (int i = 0; i < MAX_OUTPUTS; i++) {
		if (!fwd_sinks[i])
			continue;
		sink_fwd__stats(fwd_sinks[i], &fw);
		mt_add_u64s(&sum, &fw, sizeof(fw));
		n_fwd++;
	}
	if (n_fwd)
		s.fw = &sum;
	if (a->ws) {
		workers__stats(a->ws, &wst);
		s.ws = &wst;
	}
	if (a->tunnels) {
		tunnels__stats(a->tunnels, &ts);
		s.tun = &ts;
	}
	software__stats(&sws);
	certval__stats(&cvs);
	app_tls__known_certs_stats(&kcs);
	intel__stats(&ins);
	notice__stats(&nts);
	s.sws = a->software ? &sws : NULL;
	s.cvs = a->certval ? &cvs : NULL;
	s.kcs = a->known_certs ? &kcs : NULL;
	s.ins = a->intel ? &ins : NULL;
	s.nts = notice__enabled() ? &nts : NULL;
	s.mem_bytes = resident_bytes();
	if (s.live) {
		uint64_t net = a->ws ? workers__now(a->ws) : engine__now(a->eng);

		s.pkt_lag_ns = net && now > net ? now - net : 0;
	}
	rec_stats__write(a->stats_rec, now, &s, &a->stats_prev);
}

/* Reading a file: the stats record due at network time now, before the packet of that time
 * (Zeek's timers fire as network time reaches them, before the packet is processed). With
 * worker threads, their counters are those of every packet before this one. */
static void stats_tick(struct analysis *a, uint64_t now)
{
	if (a->ws)
		workers__sync_stats(a->ws);
	write_stats(a, NULL, now);
	a->stats_next = mt_add_sat64(now, a->stats_every_ns);
}

/* --extract-dir must be a directory the user mailtap runs as can write: found at the first
 * file instead, it was one warning in the middle of the run and every extraction lost. */
static int check_extract_dir(const struct opts *o)
{
	const char *d = o->parsers.files.extract_dir;
	struct stat st;
	int err;

	if (!d)
		return 0;
	if (stat(d, &st) < 0) {
		err = -errno;
		pr_warn("--extract-dir %s: %s\n", d, strerror(-err));
		return err;
	}
	if (!S_ISDIR(st.st_mode)) {
		pr_warn("--extract-dir %s: %s\n", d, strerror(ENOTDIR));
		return -ENOTDIR;
	}
	if (faccessat(AT_FDCWD, d, W_OK | X_OK, AT_EACCESS) < 0) {
		err = -errno;
		pr_warn("--extract-dir %s: cannot create files there%s%s: %s\n", d,
			o->user ? " as user " : "", o->user ? o->user : "", strerror(-err));
		return err;
	}
	return 0;
}

/* After the capture is set up and the outputs are open: what is left of root is given up.
 * Live capture keeps CAP_NET_ADMIN and CAP_BPF to detach the XDP program at exit (libxdp
 * may rebuild its dispatcher); pinned mode and offline reading keep nothing. Then what must
 * be usable by the user mailtap runs as from now on is checked as that user. */
static int drop_privs(const struct opts *o, bool live)
{
	struct privs_opts p = { .user = o->user, .seccomp = o->seccomp };

	if (o->user || o->seccomp) {
		if (live && o->capture_host)
			p.keep = 1ULL << CAP_NET_ADMIN; /* tc filter removal; the XDP link needs
							 * nothing */
		else if (live && !o->xsk.pinned_dir)
			p.keep = (1ULL << CAP_NET_ADMIN) | (1ULL << CAP_BPF);
		if (privs__drop(&p) < 0)
			return -EPERM;
		pr_info("running as %s with capabilities 0x%llx%s\n",
			o->user ? o->user : "(same user)", (unsigned long long)privs__effective(),
			o->seccomp ? ", seccomp on" : "");
	}
	return check_extract_dir(o);
}

/* Live capture: the AF_XDP loop, woken every second by SIGALRM to run timeouts and write
 * stats records, until SIGINT/SIGTERM. */
static void print_host_stats(struct hostcap *h)
{
	struct hostcap_stats hs;

	if (hostcap__stats(h, &hs) < 0)
		return;
	fprintf(stderr, "mailtap: host capture");
	for (int i = 0; i < MAILTAP_HOST_STAT__MAX; i++)
		fprintf(stderr, " %s %llu", mailtap_host_stat_names[i], (unsigned long long)hs.bpf[i]);
	fprintf(stderr, "\nmailtap: host capture delivered %llu (ingress %llu, egress %llu)\n",
		(unsigned long long)hs.delivered, (unsigned long long)hs.delivered_ingress,
		(unsigned long long)hs.delivered_egress);
}

/* Host mode: the same loop over the ring buffer of the XDP (ingress) + TC (egress) copy. */
/* A live source for the capture loop: AF_XDP (mirror mode) or the host-mode ring buffer. */
struct live_source {
	void *h;
	int (*run)(void *h, pkt_handler cb, void *u, volatile sig_atomic_t *stop);
	int (*check)(void *h); /* 0, or -ENODEV once the interface is gone */
	struct xsk_source *xsk; /* for the XDP/AF_XDP counters in stats records */
};

static int xsk_run(void *h, pkt_handler cb, void *u, volatile sig_atomic_t *stop)
{
	return xsk_source__run(h, cb, u, stop);
}

static int xsk_check(void *h)
{
	return xsk_source__check(h);
}

static int host_run(void *h, pkt_handler cb, void *u, volatile sig_atomic_t *stop)
{
	return hostcap__run(h, cb, u, stop);
}

static int host_check(void *h)
{
	return hostcap__check(h);
}

/* -f in live capture: the longest frame the filter is compiled for (libpcap's maximum) */
#define LIVE_FILTER_SNAPLEN 262144

/* Exit status when the capture interface went away: an input that ended, not a setup error.
 * Non-zero, so that a service manager (Restart=on-failure) starts mailtap again. */
#define EXIT_IFACE_GONE 2

/* Once a second in live capture: SIGHUP's reopen and the stats record when it is due. Returns
 * -ENODEV when the interface has gone away: without it the sockets and the ring buffer
 * receive nothing more, and nothing else says so. */
static int every_second(const struct opts *o, struct analysis *an, const struct live_source *ls,
			uint64_t now, uint64_t *last_stats)
{
	bool hup = reopen_flag;

	if (hup) {
		reopen_flag = 0;
		rec_out__reopen(an->out);
		pr_info("outputs reopened (SIGHUP)\n");
	}
	/* Input::REREAD: changed intel files (or SIGHUP) give a new store */
	intel_reread__tick(an->intel_rr, hup);
	if (capture_loss__due(&an->cl, now)) /* live: network time is the clock */
		capture_loss_tick(an, now);
	if (o->stats_interval && now - *last_stats >= (uint64_t)o->stats_interval * 1000000000ULL) {
		write_stats(an, ls->xsk, now);
		*last_stats = now;
	}
	return ls->check(ls->h);
}

static void end_capture(const struct opts *o, struct analysis *an, const struct live_source *ls)
{
	struct itimerval it;

	memset(&it, 0, sizeof(it));
	setitimer(ITIMER_REAL, &it, NULL);
	an_finish(an);
	if (o->stats_interval)
		write_stats(an, ls->xsk, mt_clock_ns(CLOCK_REALTIME));
}

/* The capture loop: the source runs until SIGALRM (every second: timeouts, stats records,
 * SIGHUP's reopen) or SIGINT/SIGTERM; then every connection ends and its records go out. */
static int capture_loop(const struct opts *o, struct analysis *an, const struct live_source *ls)
{
	struct itimerval it = { .it_interval = { 1, 0 }, .it_value = { 1, 0 } };
	uint64_t last_stats = mt_clock_ns(CLOCK_REALTIME);
	int err = 0;

	setitimer(ITIMER_REAL, &it, NULL);
	while (!stop_flag) {
		uint64_t now;

		wake_flag = 0;
		err = ls->run(ls->h, an_packet, an, &wake_flag);
		if (err && err != -EINTR) {
			if (ls->check(ls->h) < 0) { /* the reason, said there */
				end_capture(o, an, ls);
				return EXIT_IFACE_GONE;
			}
			pr_warn("capture on %s failed: %s\n", o->iface, strerror(-err));
			break;
		}
		err = 0;
		now = mt_clock_ns(CLOCK_REALTIME);
		an_tick(an, now);
		if (every_second(o, an, ls, now, &last_stats) < 0) {
			end_capture(o, an, ls);
			return EXIT_IFACE_GONE;
		}
	}
	end_capture(o, an, ls);
	return err ? 1 : 0;
}

/* --capture-threads N: thread k runs part k of the AF_XDP sockets and hands its packets to
 * the workers as producer k. The main thread takes the signals; once a second it wakes every
 * capture thread, which ticks the workers from its own rings. */
struct cap_thread {
	struct analysis *an;
	struct xsk_source *src;
	unsigned int k, n;
	pthread_t thr;
	atomic_int wake; /* set by the main thread: leave run_part, tick */
	int err;
	struct pktfilter *filter; /* -f, this thread's (its own counter) */
};

/* The capture threads stop (set by the main thread, or by a capture thread that failed). */
static atomic_int cap_stop;

static int cap_packet(void *u, const struct pkt_raw *raw)
{
	struct cap_thread *c = u;

	if (c->filter && !pktfilter__match(c->filter, raw))
		return 0;
	return workers__packet_from(c->an->ws, (int)c->k, raw);
}

static void *cap_main(void *arg)
{
	struct cap_thread *c = arg;
	int err = privs__drop_thread(); /* receiving needs none of what the main thread kept */

	if (err)
		pr_warn("capture thread %u: cannot drop its capabilities: %s\n", c->k,
			strerror(-err));
	while (!atomic_load(&cap_stop)) {
		err = xsk_source__run_part(c->src, c->k, c->n, cap_packet, c, &c->wake);
		if (err) {
			c->err = err;
			atomic_store(&cap_stop, 1); /* the main thread sees it within 100 ms */
			break;
		}
		/* cleared after the return: a stop stored before the wake is seen above */
		atomic_store(&c->wake, 0);
		workers__tick_from(c->an->ws, (int)c->k, mt_clock_ns(CLOCK_REALTIME));
	}
	return NULL;
}

static int capture_threads(const struct opts *o, struct analysis *an, const struct live_source *ls)
{
	struct itimerval it = { .it_interval = { 1, 0 }, .it_value = { 1, 0 } };
	unsigned int n = (unsigned int)o->capture_threads, started = 0, k;
	struct cap_thread *c;
	uint64_t last_stats = mt_clock_ns(CLOCK_REALTIME);
	sigset_t all, old;
	int rc = 0;

	if (n > xsk_source__queue_count(ls->xsk))
		n = xsk_source__queue_count(ls->xsk); /* at most one thread per queue */
	c = calloc(n, sizeof(*c));
	if (!c) {
		pr_warn("capture threads: %s\n", strerror(ENOMEM));
		end_capture(o, an, ls);
		return 1;
	}
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old); /* the capture threads take no signal */
	atomic_store(&cap_stop, 0);
	for (k = 0; k < n; k++, started++) {
		int err;

		c[k] = (struct cap_thread){ .an = an, .src = ls->xsk, .k = k, .n = n };
		/* -f: the program compiled at start, a counter per thread */
		if (an->filter && !(c[k].filter = pktfilter__share(an->filter))) {
			atomic_store(&cap_stop, 1);
			rc = 1;
			break;
		}
		err = pthread_create(&c[k].thr, NULL, cap_main, &c[k]);
		if (err) {
			pr_warn("cannot start capture thread %u: %s\n", k, strerror(err));
			atomic_store(&cap_stop, 1);
			rc = 1;
			break;
		}
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pr_info("%u capture threads, %d workers\n", n, workers__count(an->ws));
	setitimer(ITIMER_REAL, &it, NULL);
	while (!stop_flag && !atomic_load(&cap_stop)) {
		if (!wake_flag) {
			nanosleep(&(struct timespec){ 0, 100000000 }, NULL); /* signals cut it short */
			continue;
		}
		wake_flag = 0;
		for (k = 0; k < started; k++)
			atomic_store(&c[k].wake, 1);
		if (every_second(o, an, ls, mt_clock_ns(CLOCK_REALTIME), &last_stats) < 0) {
			rc = EXIT_IFACE_GONE;
			break;
		}
	}
	atomic_store(&cap_stop, 1);
	for (k = 0; k < started; k++)
		atomic_store(&c[k].wake, 1);
	for (k = 0; k < started; k++) {
		pthread_join(c[k].thr, NULL);
		if (c[k].err) {
			pr_warn("capture on %s (thread %u) failed: %s\n", o->iface, k,
				strerror(-c[k].err));
			if (!rc)
				rc = ls->check(ls->h) < 0 ? EXIT_IFACE_GONE : 1;
		}
	}
	for (k = 0; k < n; k++) {
		an->filtered += pktfilter__refused(c[k].filter);
		pktfilter__free(c[k].filter);
	}
	free(c);
	end_capture(o, an, ls); /* the workers finish once every capture thread is joined */
	return rc;
}

/* Host mode: XDP on ingress + TC on egress copy into a ring buffer, every packet passes. */
static int run_host(const struct opts *o, struct analysis *an)
{
	struct hostcap *h = hostcap__open(&o->host);
	struct live_source ls = { .h = h, .run = host_run, .check = host_check };
	int rc;

	if (!h)
		return 1;
	if (drop_privs(o, true) < 0) {
		hostcap__close(h);
		return 1;
	}
	pr_info("capturing on %s in host mode (XDP %s + TC egress, copies only)\n", o->iface,
		hostcap__xdp_mode(h));
	rc = capture_loop(o, an, &ls);
	if (o->print_stats)
		print_host_stats(h);
	hostcap__close(h);
	return rc;
}

/* Mirror mode: the XDP program steers the mail ports into AF_XDP sockets. */
static int run_live(const struct opts *o, struct analysis *an)
{
	struct xsk_source *src = xsk_source__open(&o->xsk);
	struct live_source ls = { .h = src, .run = xsk_run, .check = xsk_check, .xsk = src };
	int rc;

	if (!src)
		return 1;
	if (drop_privs(o, true) < 0) {
		xsk_source__close(src);
		return 1;
	}
	pr_info("capturing on %s (%u queues, %s bind)\n", o->iface, xsk_source__queue_count(src),
		xsk_source__bind_mode(src));
	rc = o->capture_threads > 1 ? capture_threads(o, an, &ls) : capture_loop(o, an, &ls);
	if (o->print_stats)
		print_xsk_stats(src);
	xsk_source__close(src);
	return rc;
}

static void print_stats(struct analysis *a)
{
	struct engine_stats st;

	an_stats(a, &st);
	fprintf(stderr, "mailtap: packets %llu, tcp mail-port packets %llu, other tcp %llu\n",
		(unsigned long long)st.decode.packets,
		(unsigned long long)(st.decode.result[DECODE_OK] - st.not_mail_port),
		(unsigned long long)st.not_mail_port);
	for (int i = 1; i < DECODE__MAX; i++)
		if (st.decode.result[i])
			fprintf(stderr, "mailtap: decode %s %llu\n",
				decode__result_name((enum decode_result)i),
				(unsigned long long)st.decode.result[i]);
	fprintf(stderr,
		"mailtap: flows created %llu, peak %llu, evicted %llu, reused %llu; "
		"records conn %llu weird %llu; reassembly gaps %llu (%llu bytes), peak %llu bytes; "
		"parsers failed %llu, ended at close %llu\n",
		(unsigned long long)st.flow.created, (unsigned long long)st.flow.peak,
		(unsigned long long)st.flow.evicted, (unsigned long long)st.flow.reused,
		(unsigned long long)st.records_conn, (unsigned long long)st.records_weird,
		(unsigned long long)st.reasm.gaps, (unsigned long long)st.reasm.gap_bytes,
		(unsigned long long)st.reasm.bytes_peak, (unsigned long long)st.parser_errors,
		(unsigned long long)st.parsers_ended_early);
	fprintf(stderr,
		"mailtap: file hashing: %llu blocks side by side in %llu passes (MD5 in two registers in "
		"%llu, SHA-1 in vector lanes in %llu, %llu for a file's last blocks), %llu one file "
		"at a time\n",
		(unsigned long long)st.hashes.lane_blocks, (unsigned long long)st.hashes.lane_runs,
		(unsigned long long)st.hashes.wide_runs, (unsigned long long)st.hashes.sha_lane_runs,
		(unsigned long long)st.hashes.final_runs, (unsigned long long)st.hashes.solo_blocks);
	if (a->certval) {
		struct certval_stats cv;

		certval__stats(&cv);
		if (cv.validations)
			fprintf(stderr,
				"mailtap: server chains validated %llu (%llu verified, %llu ok, %llu "
				"with remembered intermediates)\n",
				(unsigned long long)cv.validations, (unsigned long long)cv.verified,
				(unsigned long long)cv.ok, (unsigned long long)cv.via_intermediates);
	}
	if (a->intel) {
		struct intel_stats in;

		intel__stats(&in);
		fprintf(stderr,
			"mailtap: intel items %llu (%llu lines skipped, %llu over the limit), "
			"lookups %llu, matches %llu\n",
			(unsigned long long)in.items, (unsigned long long)in.lines_skipped,
			(unsigned long long)in.items_dropped, (unsigned long long)in.lookups,
			(unsigned long long)in.matches);
	}
	if (a->software) {
		struct software_stats sw;

		software__stats(&sw);
		if (sw.found)
			fprintf(stderr,
				"mailtap: mail clients seen %llu, parsed %llu (%llu cut), software "
				"records %llu; hosts %llu, forgotten early %llu\n",
				(unsigned long long)sw.found, (unsigned long long)sw.parsed,
				(unsigned long long)sw.parse_cut, (unsigned long long)sw.logged,
				(unsigned long long)sw.hosts, (unsigned long long)sw.hosts_evicted);
	}
	if (a->tunnels) {
		struct tunnels_stats ts;

		tunnels__stats(a->tunnels, &ts);
		if (ts.discovered || ts.full)
			fprintf(stderr,
				"mailtap: tunnels discovered %llu, expired %llu, closed %llu, no room "
				"%llu\n",
				(unsigned long long)ts.discovered, (unsigned long long)ts.expired,
				(unsigned long long)ts.closed, (unsigned long long)ts.full);
		if (st.tunpar.multi)
			fprintf(stderr,
				"mailtap: connections through more than one tunnel %llu (%llu packets "
				"changed tunnel, %llu through a tunnel left out of tunnel_parents)\n",
				(unsigned long long)st.tunpar.multi,
				(unsigned long long)st.tunpar.changes,
				(unsigned long long)st.tunpar.full);
	}
}

static struct sink *open_output(const struct opts *o, const struct output *out)
{
	struct sink *s;

	if (out->fwd) {
		s = sink_fwd__open(out->spec, &o->fwd);
		if (!s)
			pr_warn("cannot set up output %s: %s\n", out->spec, strerror(errno));
		return s;
	}
	return sink_file__open(out->spec);
}

/* The file behind -r/-w ("-": standard input/output), when there is one. */
static bool file_id(const char *path, int std_fd, struct stat *st)
{
	return strcmp(path, "-") ? stat(path, st) == 0 : fstat(std_fd, st) == 0;
}

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/* A file that does not exist yet by the real path of its directory ("x.mp" and "./x.mp" are
 * one file); its name as given when the directory cannot be resolved either. */
static void new_file_name(const char *path, char *out, size_t len)
{
	const char *slash = strrchr(path, '/');
	char dir[PATH_MAX], *real;

	if (slash && (size_t)(slash - path) >= sizeof(dir))
		goto as_given;
	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == path)
		snprintf(dir, sizeof(dir), "/");
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	real = realpath(dir, NULL);
	if (!real)
		goto as_given;
	snprintf(out, len, "%s/%s", real, slash ? slash + 1 : path);
	free(real);
	return;
as_given:
	snprintf(out, len, "%s", path);
}

/* Before any output is opened (a file output is truncated at once): no -w may be the capture
 * -r reads (it would be emptied before it is read), and no two -w the same file (every
 * record twice, interleaved). Files that do not exist yet are compared by name. */
static int check_files(const struct opts *o)
{
	struct stat in, a, b;
	bool have_in = o->read_file && file_id(o->read_file, STDIN_FILENO, &in) &&
		       S_ISREG(in.st_mode);

	for (int i = 0; i < o->n_outputs; i++) {
		const char *p = o->outputs[i].spec;
		char pn[PATH_MAX + NAME_MAX + 2], qn[sizeof(pn)];
		bool have_a;

		if (o->outputs[i].fwd)
			continue;
		have_a = file_id(p, STDOUT_FILENO, &a);
		if (!have_a)
			new_file_name(p, pn, sizeof(pn));
		if (have_a && have_in && same_file(&a, &in)) {
			pr_warn("-w %s is the capture -r %s reads: writing it would destroy the "
				"input\n", p, o->read_file);
			return -EINVAL;
		}
		for (int j = 0; j < i; j++) {
			const char *q = o->outputs[j].spec;

			if (o->outputs[j].fwd)
				continue;
			if (!have_a)
				new_file_name(q, qn, sizeof(qn));
			if (have_a ? file_id(q, STDOUT_FILENO, &b) && same_file(&a, &b)
				   : !strcmp(pn, qn)) {
				pr_warn("-w %s and -w %s are the same file: every record would be "
					"written twice\n", q, p);
				return -EINVAL;
			}
		}
	}
	return 0;
}

/* glibc's heap by default gives memory back (trims its top) as soon as 128 KiB are free
 * there, and grows again by what each request needs: with sessions ending all the time the
 * top goes up and down, and every page it gets again is a page fault (20000 small sessions:
 * 10% more time). Kept: 8 MiB at the top, grown 1 MiB at a time; blocks from 4 MiB go to
 * mmap. An operator's GLIBC_TUNABLES for malloc wins. */
static void tune_malloc(void)
{
	const char *t = getenv("GLIBC_TUNABLES");

	if (t && strstr(t, "glibc.malloc."))
		return;
	mallopt(M_TOP_PAD, 1 << 20);
	mallopt(M_TRIM_THRESHOLD, 8 << 20);
	mallopt(M_MMAP_THRESHOLD, 4 << 20);
}

int main(int argc, char **argv)
{
	struct sink *sinks[MAX_OUTPUTS] = { 0 };
	struct rec_out *out = NULL;
	struct engine *eng = NULL;
	struct parsers *parsers = NULL;
	struct analysis an = { 0 };
	struct pcapfile *pf = NULL;
	struct sigaction sa;
	struct opts o;
	struct certval_roots *roots = NULL;
	struct intel *intel = NULL;
	struct parsers_shared *shared = NULL;
	struct knownset *known_hosts = NULL, *known_services = NULL;
	int err = 0, rc = 0;

	memset(&o, 0, sizeof(o));
	tune_malloc();
	privs__raise_permitted();
	if (parse_args(argc, argv, &o) < 0)
		return 1;
	if (o.exit_now)
		return 0;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGALRM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* a -w file over RLIMIT_FSIZE: write(2) fails with EFBIG, reported, exit 3 (the signal
	 * would kill mailtap without a word and lose the other outputs' records) */
	signal(SIGXFSZ, SIG_IGN);

	if (check_files(&o) < 0)
		return 1;
	/* the input before the outputs: a capture that cannot be read (or a bad -f) leaves an
	 * existing -w file as it was */
	if (o.read_file) {
		pf = pcapfile__open(o.read_file, o.filter);
		if (!pf)
			return errno == EINVAL ? 1 : 2; /* a bad filter is a usage error */
	} else if (o.filter) {
		/* live: AF_XDP and host mode give Ethernet frames */
		an.filter = pktfilter__new(o.filter, DLT_EN10MB, LIVE_FILTER_SNAPLEN);
		if (!an.filter)
			return 1;
	}

	out = rec_out__new(o.tag_prefix ? o.tag_prefix : "mailtap");
	if (!out) {
		rc = 1;
		goto done;
	}
	for (int i = 0; i < o.n_outputs; i++) {
		sinks[i] = open_output(&o, &o.outputs[i]);
		if (!sinks[i]) {
			rc = 1;
			goto done;
		}
		rec_out__add_sink(out, sinks[i]);
		if (o.outputs[i].fwd)
			fwd_sinks[i] = sinks[i];
	}
	if (o.events_smtp)
		rec_out__enable(out, "smtp_events");
	rec_out__set_limits(out, &o.logl);
	/* validate-certs: the roots are read now, before any privilege is given up */
	if (!o.no_validate_certs) {
		const char *ca = o.ssl_ca_file ? o.ssl_ca_file : DEFAULT_CA_FILE;

		roots = certval_roots__load(ca);
		if (!roots && o.ssl_ca_file) {
			pr_warn("cannot load trusted roots from --ssl-ca-file %s: %s\n", ca,
				errno == ENODATA ? "no PEM certificate in it" : strerror(errno));
			rc = 1;
			goto done;
		}
		if (!roots)
			pr_info("no trusted roots in %s: ssl records without validation_status\n",
				ca);
		o.parsers.tls.cert_roots = roots;
		an.certval = roots != NULL;
	}
	/* Intel::read_files: read now, before any privilege is given up; read-only after */
	rec__set_node(o.node_name);
	o.notice.peer_descr = o.node_name; /* NULL unless --node-name: none, as a standalone Zeek */
	if (notice__init(&o.notice) < 0) {
		pr_warn("cannot set up notice suppression: %s\n", strerror(ENOMEM));
		rc = 1;
		goto done;
	}
	if (o.n_intel_files) {
		char err[512];

		intel = intel__new(&o.intel_lim);
		if (!intel) {
			pr_warn("cannot set up the intel store: %s\n", strerror(errno));
			rc = 1;
			goto done;
		}
		for (int i = 0; i < o.n_intel_files; i++) {
			long n = intel__load_file(intel, o.intel_files[i], true, stderr, err,
						  sizeof(err));

			if (n < 0) {
				pr_warn("%s\n", err);
				rc = 1;
				goto done;
			}
			pr_info("intel: %ld items from %s\n", n, o.intel_files[i]);
		}
		o.eng.intel = intel;
		o.parsers.smtp.intel = intel;
		o.parsers.files.intel = intel;
		o.parsers.tls.intel = intel;
		o.parsers.tls.files.intel = intel;
		an.intel = true;
		if (o.iface && o.intel_reread &&
		    !(an.intel_rr = intel_reread__new(intel, o.intel_files, o.n_intel_files))) {
			pr_warn("cannot set up intel rereading: %s\n", strerror(errno));
			rc = 1;
			goto done;
		}
	}
	/* Known::host_store: one set for every engine */
	if (o.known_hosts) {
		known_hosts = knownset__new(o.known_hosts_max, o.known_hosts_expire * 1000000000ULL, 0);
		if (!known_hosts || knownset__share(known_hosts) < 0) {
			pr_warn("cannot set up the known_hosts set: %s\n", strerror(ENOMEM));
			rc = 1;
			goto done;
		}
		o.eng.known_hosts = known_hosts;
	}
	/* Known::services: (host, port) with its set of services, for every engine */
	if (o.known_services) {
		known_services = knownset__new(o.known_services_max,
					       o.known_services_expire * 1000000000ULL, 0);
		if (!known_services || knownset__share(known_services) < 0) {
			pr_warn("cannot set up the known_services set: %s\n", strerror(ENOMEM));
			rc = 1;
			goto done;
		}
		o.eng.known_services = known_services;
	}
	an.stats_rec = rec__new(out);
	capture_loss__init(&an.cl, &(struct capture_loss_cfg){
					    .initial_ns = o.cl_initial * 1000000000ULL,
					    .interval_ns = o.cl_interval * 1000000000ULL,
					    .too_much = o.cl_too_much});
	an.software = o.parsers.smtp.software.enabled;
	an.known_certs = o.parsers.tls.known_certs;
	an.out = out;
	an.tunnels = tunnels__new(&o.tun, out, o.eng.seeded, o.eng.seed);
	o.eng.tunnels = an.tunnels;
	if (o.workers > 1 || o.capture_threads > 1) {
		/* capture threads hand packets over to workers (one ring per thread and worker);
		 * what is logged once (x509, known_certs, software) is decided in tables they share */
		shared = parsers_shared__new(&o.parsers);
		o.parsers.shared = shared;
		if (shared)
			an.ws = workers__new(o.workers, o.capture_threads, &o.eng, &o.parsers, out, 0);
	} else {
		eng = engine__new(&o.eng, out);
		if (eng && !(parsers = parsers__register(eng, &o.parsers))) {
			engine__free(eng);
			eng = NULL;
		}
		an.eng = eng;
	}
	if ((!an.eng && !an.ws) || !an.stats_rec || !an.tunnels) {
		pr_warn("cannot set up the analysis engine: %s\n", strerror(errno));
		rc = 1;
		goto done;
	}

	if (o.read_file) {
		an.offline = true;
		/* Zeek schedules the first at network time 0 + interval: any packet reaches it */
		an.stats_every_ns = (uint64_t)o.stats_interval * 1000000000ULL;
		an.stats_next = an.stats_every_ns;
		if (drop_privs(&o, false) < 0) {
			rc = 1;
			goto done;
		}
		err = pcapfile__run(pf, an_packet, &an, &stop_flag);
		if (err == -EBADMSG)
			rc = 2; /* records so far are still written below */
		else if (err && err != -EINTR)
			rc = 2;
		an_finish(&an);
		/* the last at the end of the input, at its network time (Zeek's pending check_stats
		 * runs as it terminates); none for a capture without packets */
		if (o.stats_interval && an.any_pkt) /* the workers have finished: final counters */
			write_stats(&an, NULL, an.last_ts);
	} else if (o.capture_host) {
		rc = run_host(&o, &an);
	} else {
		rc = run_live(&o, &an);
	}
	if (o.print_stats) {
		print_stats(&an);
		if (o.filter) {
			struct pcapfile_stats ps = { 0 };

			if (pf)
				pcapfile__stats(pf, &ps);
			fprintf(stderr, "mailtap: -f left out %llu %s\n",
				(unsigned long long)(pf ? ps.filtered
							: an.filtered + pktfilter__refused(an.filter)),
				pf ? "packets of the file" : "frames");
		}
	}
done:
	workers__free(an.ws);
	engine__free(eng);
	tunnels__free(an.tunnels);
	parsers__free(parsers);
	parsers_shared__free(shared);
	knownset__free(known_hosts);
	knownset__free(known_services);
	intel_reread__free(an.intel_rr); /* before the store it replaces */
	rec__free(an.stats_rec);
	pktfilter__free(an.filter);
	pcapfile__close(pf);
	/* The Forward sink reports its counters itself when it closes. */
	for (int i = 0; i < o.n_outputs; i++) {
		fwd_sinks[i] = NULL;
		if (sinks[i] && sink__close(sinks[i]) < 0 && !rc)
			rc = 3;
	}
	rec_out__free(out);
	certval_roots__free(roots);
	intel__free(intel);
	notice__fini();
	return rc;
}
