// SPDX-License-Identifier: BSD-3-Clause
/* The command line (opts.h): getopt_long over the options, each value checked (the numbers
 * that go straight into a field through one table, num_opts), then the combinations a run
 * refuses. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "mailtap/engine.h"
#include "mailtap/hostcap.h"
#include "mailtap/loader.h"
#include "mailtap/log.h"
#include "mailtap/opts.h"
#include "mailtap/sink_fwd.h"
#include "mailtap/smtp.h"
#include "mailtap/tunnels.h"
#include "mailtap/xsk.h"

#define MAILTAP_VERSION "0.1.0"

/* The port set for the XDP programs, from --ports: every port, as the BPF side keeps a
 * 65536-bit set (mailtap_abi.h). Static: 128 KiB is too much for main's stack. */
static uint16_t port_list[65535];

enum {
	OPT_SEED = 256,
	OPT_PORTS,
	OPT_VXLAN_PORTS,
	OPT_GENEVE_PORTS,
	OPT_LOCAL_NETS,
	OPT_COMMUNITY_ID,
	OPT_TAG_PREFIX,
	OPT_MAX_FLOWS,
	OPT_MAX_TUNNELS,
	OPT_TUNNEL_EXPIRE,
	OPT_REASM_OOO,
	OPT_REASM_SEGS,
	OPT_REASM_TOTAL,
	OPT_REASM_RETAIN,
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
	OPT_SMTP_MAX_HELD,
	OPT_SMTP_MAX_ADDRESS,
	OPT_SMTP_MAX_KEPT,
	OPT_SMTP_MAX_HEADER_VALUE,
	OPT_SMTP_MAX_FUIDS,
	OPT_SMTP_MAX_EXTENSIONS,
	OPT_SMTP_EVENTS_DATA_MAX,
	OPT_SSL_MAX_HS_MSG,
	OPT_MIME_MAX_HEADER_TOTAL,
	OPT_X509_MAX_KNOWN,
	OPT_MIME_MAX_ENTITIES,
	OPT_MIME_MAX_OPEN,
	OPT_SSL_MAX_HS_TOTAL,
	OPT_SSL_MAX_HISTORY,
	OPT_SSL_MAX_ALERTS,
	OPT_SSL_MAX_LIST,
	OPT_SSL_MAX_CERTS_MSG,
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
	OPT_SSL_MAX_CERTS,
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
	OPT_WEIRD_STATE_MAX,
	OPT_CONN_WEIRD_STATE_MAX,
};

static const struct option long_opts[] = {
	{ "read", required_argument, NULL, 'r' },
	{ "interface", required_argument, NULL, 'i' },
	{ "write", required_argument, NULL, 'w' },
	{ "output", required_argument, NULL, 'o' },
	{ "filter", required_argument, NULL, 'f' },
	{ "seed", required_argument, NULL, OPT_SEED },
	{ "ports", required_argument, NULL, OPT_PORTS },
	{ "vxlan-ports", required_argument, NULL, OPT_VXLAN_PORTS },
	{ "geneve-ports", required_argument, NULL, OPT_GENEVE_PORTS },
	{ "local-nets", required_argument, NULL, OPT_LOCAL_NETS },
	{ "community-id", optional_argument, NULL, OPT_COMMUNITY_ID },
	{ "tag-prefix", required_argument, NULL, OPT_TAG_PREFIX },
	{ "max-flows", required_argument, NULL, OPT_MAX_FLOWS },
	{ "max-tunnels", required_argument, NULL, OPT_MAX_TUNNELS },
	{ "tunnel-expire", required_argument, NULL, OPT_TUNNEL_EXPIRE },
	{ "reasm-max-ooo-bytes", required_argument, NULL, OPT_REASM_OOO },
	{ "reasm-max-segments", required_argument, NULL, OPT_REASM_SEGS },
	{ "reasm-max-total-bytes", required_argument, NULL, OPT_REASM_TOTAL },
	{ "reasm-max-retain-bytes", required_argument, NULL, OPT_REASM_RETAIN },
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
	{ "smtp-max-held", required_argument, NULL, OPT_SMTP_MAX_HELD },
	{ "smtp-max-address-bytes", required_argument, NULL, OPT_SMTP_MAX_ADDRESS },
	{ "smtp-max-kept-addresses", required_argument, NULL, OPT_SMTP_MAX_KEPT },
	{ "smtp-max-header-value", required_argument, NULL, OPT_SMTP_MAX_HEADER_VALUE },
	{ "smtp-max-fuids", required_argument, NULL, OPT_SMTP_MAX_FUIDS },
	{ "smtp-max-extensions", required_argument, NULL, OPT_SMTP_MAX_EXTENSIONS },
	{ "smtp-events-data-max", required_argument, NULL, OPT_SMTP_EVENTS_DATA_MAX },
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
	{ "mime-max-header-total", required_argument, NULL, OPT_MIME_MAX_HEADER_TOTAL },
	{ "mime-max-entities", required_argument, NULL, OPT_MIME_MAX_ENTITIES },
	{ "mime-max-open-messages", required_argument, NULL, OPT_MIME_MAX_OPEN },
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
	{ "ssl-max-certificates", required_argument, NULL, OPT_SSL_MAX_CERTS },
	{ "ssl-max-handshake-message", required_argument, NULL, OPT_SSL_MAX_HS_MSG },
	{ "ssl-max-handshake-total", required_argument, NULL, OPT_SSL_MAX_HS_TOTAL },
	{ "ssl-max-history", required_argument, NULL, OPT_SSL_MAX_HISTORY },
	{ "ssl-max-alerts-per-record", required_argument, NULL, OPT_SSL_MAX_ALERTS },
	{ "ssl-max-hello-list", required_argument, NULL, OPT_SSL_MAX_LIST },
	{ "ssl-max-certificates-per-message", required_argument, NULL, OPT_SSL_MAX_CERTS_MSG },
	{ "x509-max-known-certs", required_argument, NULL, OPT_X509_MAX_KNOWN },
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
	{ "weird-state-max", required_argument, NULL, OPT_WEIRD_STATE_MAX },
	{ "conn-weird-state-max", required_argument, NULL, OPT_CONN_WEIRD_STATE_MAX },
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

void opts__usage(FILE *f)
{
	fprintf(f,
		"usage: mailtap (-r FILE | -i IFACE) [-w FILE|-] [-o forward:unix:PATH|forward:tcp:HOST:PORT|forward:tls:HOST:PORT] [options]\n"
		"\n"
		"Input:\n"
		"  -r, --read FILE          read a pcap/pcapng file (gzip ok; - = stdin)\n"
		"  -i, --interface IFACE    live capture (XDP + AF_XDP)\n"
		"  -f, --filter EXPR        tcpdump filter expression (live: on the frames of --ports)\n"
		"      --ports LIST         mail ports tracked (default 25,465,587)\n"
		"      --vxlan-ports LIST   UDP ports VXLAN is followed on, up to 4 (Zeek's\n"
		"                           Tunnel::vxlan_ports; default 4789; e.g. 4789,8472 for\n"
		"                           Linux's own port; none: no VXLAN)\n"
		"      --geneve-ports LIST  UDP ports Geneve is followed on, up to 4 (Zeek's\n"
		"                           Tunnel::geneve_ports; default 6081; none: no Geneve)\n"
		"Live capture, with -i only (docs/capture.md, docs/deployment.md):\n"
		"      --capture MODE       mirror (AF_XDP, takes the mail packets: mirror/TAP port;\n"
		"                           the default) or host (XDP+TC copy, every packet passes:\n"
		"                           on the MTA host)\n"
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
		"                           (default drop-oldest)\n"
		"      --forward-shared-key K     secure-forward handshake (\"\": empty_shared_key)\n"
		"      --forward-user U, --forward-password P  in_forward security.users (with a key)\n"
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
		"      --no-tcp-weirds      no weird records for TCP state anomalies, nor for\n"
		"                           IP fragments and IP or tunnel headers\n"
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
		"                           " OPTS_DEFAULT_CA_FILE ")\n"
		"      --no-validate-certs  no validation_status (Zeek without\n"
		"                           policy/protocols/ssl/validate-certs)\n"
		"      --no-known-certs     no known_certs stream (Zeek without\n"
		"                           policy/protocols/ssl/known-certs)\n"
		"      --intel-file FILE    indicators in Zeek's intel format (Intel::read_files;\n"
		"                           repeatable): matches become intel records; live, the\n"
		"                           files are reread when they change or on SIGHUP\n"
		"      --no-intel-reread    live: the intel files are read once, at start\n"
		"      --node-name NAME     this sensor in records: the peer of weird, capture_loss\n"
		"                           and stats, intel's seen.node, notice's peer_descr (Zeek's\n"
		"                           peer_description; default mailtap, and no peer_descr)\n"
		"      --no-notice          no notice stream (SSL::Invalid_Server_Cert, Intel::Notice,\n"
		"                           CaptureLoss::*, Weird::Activity, SMTP::Blocklist_*)\n"
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
		"      --reasm-max-retain-bytes N  delivered bytes kept per direction until acked,\n"
		"                           to tell retransmissions that differ (default 65536;\n"
		"                           0: none, and no rexmit_inconsistency weird)\n"
		"      --frag-max-datagrams N, --frag-max-bytes N, --frag-timeout SECS\n"
		"                           IP fragment reassembly (default 4096, 16 MiB, 30 s)\n"
		"      --smtp-max-rcptto N, --smtp-max-to N, --smtp-max-cc N, --smtp-max-path N\n"
		"                           Zeek's SMTP::max_* limits (default 1000 each)\n"
		"      --smtp-max-invalid-transactions N  before SMTP analysis stops (default 25)\n"
		"      --smtp-max-line N    command/reply line bytes (default 4096)\n"
		"      --smtp-max-pending N pipelined commands awaiting replies (default 1000)\n"
		"      --smtp-max-held N    finished records awaiting their replies (default 8;\n"
		"                           0: written at the next MAIL FROM, as Zeek)\n"
		"      --smtp-max-address-bytes N  bytes kept of one rcptto/to/cc address\n"
		"                           (default: --log-max-field-string-bytes; 0: all)\n"
		"      --smtp-max-kept-addresses N  rcptto/to/cc entries kept with their bytes, the\n"
		"                           rest only counted (default:\n"
		"                           --log-max-field-container-elements; 0: all)\n"
		"      --smtp-max-header-value N  bytes kept of a header value (subject, from, ...)\n"
		"                           for the record (default 65536)\n"
		"      --smtp-max-fuids N   fuids per smtp record (default 1000)\n"
		"      --smtp-max-extensions N  EHLO keywords kept for server_extensions (default 64)\n"
		"      --smtp-events-data-max N  bytes of a DATA line in an smtp_data event\n"
		"                           (--events smtp; default 1024)\n"
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
		"      --ssl-max-certificates N  certificates handled per connection and direction\n"
		"                           (default 64; the rest get no files or x509 record)\n"
		"      --ssl-max-handshake-message N  bytes of one handshake message (default\n"
		"                           262144; a longer one is skipped)\n"
		"      --ssl-max-handshake-total N  bytes of all handshake buffers together\n"
		"                           (default 64 MiB; 0: no limit)\n"
		"      --ssl-max-history N  Zeek's SSL::max_ssl_history_length (default 100, at\n"
		"                           most 254)\n"
		"      --ssl-max-alerts-per-record N  Zeek's SSL::max_alerts_per_record (default 10)\n"
		"      --ssl-max-hello-list N  entries kept per hello list: ciphers, extensions,\n"
		"                           groups, ... (default 256, at most 4096: each TLS connection\n"
		"                           holds seven lists of N; the rest: SSL_hello_list_truncated)\n"
		"      --ssl-max-certificates-per-message N  certificates read from one Certificate\n"
		"                           message (default 32, at most 1024; the rest:\n"
		"                           SSL_too_many_certificates)\n"
		"      --x509-max-known-certs N  certificates remembered so that each gets one x509\n"
		"                           record a day (default 1000000, 48 bytes each)\n"
		"      --intel-max-items N  indicators kept from the intel files (default 4000000)\n"
		"      --notice-max-suppressed N  notices remembered for suppression (default 100000)\n"
		"      --known-hosts-max N, --known-hosts-expire SECS  local hosts remembered\n"
		"                           (default 100000), logged again after (86400)\n"
		"      --known-services-max N, --known-services-expire SECS  (host, port) entries\n"
		"                           remembered (default 100000), logged again after (86400)\n"
		"      --weird-state-max N  weirds held back by name and addresses (weird.zeek's\n"
		"                           weird_ignore, did_log; default 10000 in each set)\n"
		"      --conn-weird-state-max N  ... by name and four-tuple, each worker's own\n"
		"                           (default 32768 in each set)\n"
		"      --mime-max-depth N   MIME nesting (default 100)\n"
		"      --mime-max-header-bytes N  bytes of one header, its continuation lines\n"
		"                           included (default 65536)\n"
		"      --mime-max-header-total N  bytes of all messages' header buffers\n"
		"                           together (default 64 MiB; 0: no limit)\n"
		"      --mime-max-entities N  entities per message (default 10000)\n"
		"      --mime-max-open-messages N  messages parsed at once, all connections together\n"
		"                           (default 100000; 0: no limit); one more is not parsed\n"
		"                           (weird exceeded_mime_max_open_messages)\n"
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

/* A numeric option: a decimal number min..max (parse_u64), times scale, stored in the field of
 * struct opts at off, whose type is type. Written once, in num_opts[]; a number that is
 * optional, goes to more than one field or must also be a power of 2 is a case of its own in
 * opts__parse. */
enum num_type { NUM_INT, NUM_U16, NUM_U32, NUM_U64, NUM_DOUBLE };

struct num_opt {
	int id; /* getopt_long's value: OPT_*; its name in messages is long_opts' */
	uint64_t min, max;
	uint64_t scale; /* 1, or NS_PER_SEC: given in seconds, kept in nanoseconds */
	size_t off;
	enum num_type type;
};

#define NS_PER_SEC 1000000000ULL
/* The type of the field f of struct opts, and the largest value it holds. */
#define NUM_TYPE(f)                                                                               \
	_Generic(((struct opts *)0)->f, int: NUM_INT, uint16_t: NUM_U16, uint32_t: NUM_U32, uint64_t: NUM_U64,      \
		 double: NUM_DOUBLE)
#define NUM_TYPE_MAX(f)                                                                           \
	_Generic(((struct opts *)0)->f, int: (uint64_t)INT_MAX, uint16_t: (uint64_t)UINT16_MAX,      \
		 uint32_t: (uint64_t)UINT32_MAX,  \
		 uint64_t: UINT64_MAX, double: 1ULL << 53)
/* x, and a compile error unless cond holds */
#define CHECKED(x, cond) ((x) + 0 * sizeof(char[(cond) ? 1 : -1]))
/* A row: the field's type is looked up, and max (times scale) must fit in it. */
#define NUM_SCALED(id_, min_, max_, scale_, f_)                                                   \
	{ .id = (id_), .min = (min_),                                                             \
	  .max = CHECKED(max_, (max_) <= NUM_TYPE_MAX(f_) / (scale_)), .scale = (scale_),          \
	  .off = offsetof(struct opts, f_), .type = NUM_TYPE(f_) }
#define NUM(id, min, max, f) NUM_SCALED(id, min, max, 1, f)
#define NUM_NS(id, min, max, f) NUM_SCALED(id, min, max, NS_PER_SEC, f)

static const struct num_opt num_opts[] = {
	NUM(OPT_MAX_FLOWS, 1, 100000000, eng.flow.max_flows),
	NUM(OPT_MAX_TUNNELS, 1, TUNNELS_NO_ROOM - 1, tun.max),
	NUM_NS(OPT_TUNNEL_EXPIRE, 1, 365ULL * 86400, tun.expire_ns),
	/* 1 at least: reasm takes 0 as no limit, which no one asks for with 0 */
	NUM(OPT_REASM_OOO, 1, UINT32_MAX, eng.reasm.max_ooo_bytes),
	NUM(OPT_REASM_SEGS, 1, UINT32_MAX, eng.reasm.max_segments),
	NUM(OPT_REASM_TOTAL, 1, UINT64_MAX, eng.reasm.max_total_bytes),
	NUM(OPT_REASM_RETAIN, 0, 1U << 30, eng.reasm.max_retain_bytes),
	NUM(OPT_FWD_BATCH, 1, 1000000, fwd.batch_records),
	NUM(OPT_FWD_FLUSH_MS, 1, 3600000, fwd.flush_interval_ms),
	NUM(OPT_FWD_MAX_MSG, 4096, 6000000, fwd.max_message_bytes),
	NUM(OPT_FWD_QUEUE, 65536, 1ULL << 40, fwd.queue_max_bytes),
	NUM(OPT_FWD_CLOSE_MS, 0, 3600000, fwd.close_timeout_ms),
	NUM(OPT_SNAPLEN, 64, MAILTAP_HOST_SNAP_MAX, host.snaplen),
	NUM(OPT_QUEUES, 1, XSK_MAX_QUEUES, xsk.queues),
	NUM(OPT_FRAMES, 64, 1 << 20, xsk.frames),
	NUM(OPT_BUSY_POLL, 0, 1000000, xsk.busy_poll),
	NUM(OPT_RX_NAP, 0, 10000, xsk.rx_nap_us),
	NUM(OPT_STATS_INTERVAL, 0, 86400, stats_interval),
	/* 1 at least: the SMTP parser takes 0 as no limit, Zeek as none allowed */
	NUM(OPT_SMTP_MAX_RCPTTO, 1, 10000000, parsers.smtp.lim.max_rcptto),
	NUM(OPT_SMTP_MAX_TO, 1, 10000000, parsers.smtp.lim.max_to),
	NUM(OPT_SMTP_MAX_CC, 1, 10000000, parsers.smtp.lim.max_cc),
	NUM(OPT_SMTP_MAX_PATH, 1, 10000000, parsers.smtp.lim.max_path),
	NUM(OPT_SMTP_MAX_INVALID, 1, 10000000, parsers.smtp.lim.max_invalid_tx),
	NUM(OPT_SMTP_MAX_LINE, 512, SMTP_MAX_UNIT, parsers.smtp.lim.max_line),
	NUM(OPT_SMTP_MAX_PENDING, 1, 1000000, parsers.smtp.lim.max_pending_cmds),
	NUM(OPT_SMTP_MAX_HELD, 0, 1000, parsers.smtp.lim.max_held),
	/* 0: whole addresses; UINT32_MAX (not given): --log-max-field-string-bytes */
	NUM(OPT_SMTP_MAX_ADDRESS, 0, UINT32_MAX - 1, parsers.smtp.lim.max_address_bytes),
	/* 0: all; UINT32_MAX (not given): --log-max-field-container-elements */
	NUM(OPT_SMTP_MAX_KEPT, 0, UINT32_MAX - 1, parsers.smtp.lim.max_kept_addresses),
	NUM(OPT_SMTP_MAX_HEADER_VALUE, 1, 1U << 30, parsers.smtp.lim.max_header_value),
	NUM(OPT_SMTP_MAX_FUIDS, 1, 10000000, parsers.smtp.lim.max_fuids),
	NUM(OPT_SMTP_MAX_EXTENSIONS, 0, 100000, parsers.smtp.lim.max_extensions),
	NUM(OPT_SMTP_EVENTS_DATA_MAX, 0, 1U << 20, parsers.smtp.lim.events_data_max),
	NUM(OPT_EXTRACT_MAX_FILE, 1, UINT64_MAX, parsers.files.extract_max_file),
	/* 0: no total (the default) */
	NUM(OPT_EXTRACT_MAX_TOTAL, 0, UINT64_MAX, parsers.files.extract_max_total),
	NUM(OPT_MIME_MAX_DEPTH, 1, 100000, parsers.smtp.mime.max_depth),
	NUM(OPT_MIME_MAX_HEADER, 1024, 1 << 30, parsers.smtp.mime.max_header_bytes),
	/* 0: no limit */
	NUM(OPT_MIME_MAX_HEADER_TOTAL, 0, 1ULL << 40, parsers.smtp.mime.max_header_total),
	NUM(OPT_MIME_MAX_ENTITIES, 1, 10000000, parsers.smtp.mime.max_entities),
	NUM(OPT_MIME_MAX_OPEN, 0, 100000000, parsers.smtp.mime.max_open_messages),
	NUM(OPT_PE_MAX_SECTIONS, 1, 65535, parsers.files.pe_max_sections),
	NUM(OPT_INTEL_MAX_ITEMS, 1, 1000000000, intel_lim.max_items),
	NUM(OPT_KNOWN_HOSTS_MAX, 1, 10000000, known_hosts_max),
	NUM(OPT_KNOWN_HOSTS_EXPIRE, 1, 365 * 86400, known_hosts_expire),
	NUM(OPT_KNOWN_SERVICES_MAX, 1, 10000000, known_services_max),
	NUM(OPT_KNOWN_SERVICES_EXPIRE, 1, 365 * 86400, known_services_expire),
	NUM(OPT_WEIRD_STATE_MAX, 1, 10000000, eng.weird_state_max),
	NUM(OPT_CONN_WEIRD_STATE_MAX, 1, 10000000, eng.conn_weird_state_max),
	NUM(OPT_CAPTURE_LOSS_INTERVAL, 1, 365 * 86400, cl_interval),
	NUM(OPT_CAPTURE_LOSS_INITIAL, 1, 365 * 86400, cl_initial),
	NUM(OPT_CAPTURE_LOSS_TOO_MUCH, 0, 100, cl_too_much),
	NUM_NS(OPT_NOTICE_SUPPRESS, 0, 365 * 86400, notice.suppress_ns),
	NUM(OPT_NOTICE_MAX_SUPPRESSED, 1, 10000000, notice.max_suppressed),
	NUM(OPT_SSL_MAX_CHAINS, 1, 10000000, parsers.tls.certval_cfg.max_chains),
	NUM(OPT_KNOWN_CERTS_MAX, 1, 10000000, parsers.tls.known_certs_max),
	NUM_NS(OPT_KNOWN_CERTS_EXPIRE, 1, 365 * 86400, parsers.tls.known_certs_expire_ns),
	NUM(OPT_SSL_MAX_INTERMEDIATES, 0, 1000000, parsers.tls.certval_cfg.max_intermediates),
	NUM(OPT_SSL_MAX_CERTS, 1, 1000000, parsers.tls.max_certs_per_dir),
	/* a handshake message's length has 24 bits */
	NUM(OPT_SSL_MAX_HS_MSG, 4096, 0xffffff, parsers.tls.lim.max_handshake_msg),
	/* 0: no limit */
	NUM(OPT_SSL_MAX_HS_TOTAL, 0, 1ULL << 40, parsers.tls.lim.max_handshake_total),
	NUM(OPT_SSL_MAX_HISTORY, 1, TLS_MAX_SSL_HISTORY, parsers.tls.max_ssl_history),
	NUM(OPT_SSL_MAX_ALERTS, 1, UINT16_MAX, parsers.tls.lim.max_alerts_per_record),
	NUM(OPT_SSL_MAX_LIST, 1, 4096, parsers.tls.lim.max_list),
	NUM(OPT_SSL_MAX_CERTS_MSG, 1, 1024, parsers.tls.lim.max_certs),
	NUM(OPT_X509_MAX_KNOWN, 1, 100000000, parsers.tls.known_log_certs_maximum_size),
	NUM(OPT_SOFTWARE_MAX_HOSTS, 1, 10000000, parsers.smtp.software.max_hosts),
	NUM_NS(OPT_SOFTWARE_EXPIRE, 1, 365 * 86400, parsers.smtp.software.expire_ns),
	NUM(OPT_SOFTWARE_UA_MAX, 16, 65536, parsers.smtp.software.max_ua),
	/* 0: no limit */
	NUM(OPT_LOG_FIELD_STR, 0, UINT32_MAX, logl.max_field_string_bytes),
	NUM(OPT_LOG_TOTAL_STR, 0, UINT32_MAX, logl.max_total_string_bytes),
	NUM(OPT_LOG_FIELD_CONT, 0, UINT32_MAX, logl.max_field_container_elements),
	NUM(OPT_LOG_TOTAL_CONT, 0, UINT32_MAX, logl.max_total_container_elements),
	NUM(OPT_WORKERS, 1, 64, workers),
	NUM(OPT_CAPTURE_THREADS, 1, XSK_MAX_QUEUES, capture_threads),
	NUM(OPT_FWD_BLOCK_MS, 0, 3600000, fwd.block_max_ms),
	NUM(OPT_FRAG_DATAGRAMS, 1, 10000000, eng.frag.max_datagrams),
	NUM(OPT_FRAG_BYTES, 65536, 1ULL << 40, eng.frag.max_bytes),
	NUM_NS(OPT_FRAG_TIMEOUT, 1, 3600, eng.frag.timeout_ns),
	NUM(OPT_SPOOL_MAX, 65536, 1ULL << 50, fwd.spool_max_bytes),
};

/* "--name" of an option (long_opts), for the messages of the table's options and of those
 * that share a case. */
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

static const struct num_opt *num_opt_find(int id)
{
	for (size_t i = 0; i < sizeof(num_opts) / sizeof(num_opts[0]); i++)
		if (num_opts[i].id == id)
			return &num_opts[i];
	return NULL;
}

/* Checks s for n and stores it. 0 or -EINVAL (message given; the field is left as it was). */
static int num_opt_set(struct opts *o, const struct num_opt *n, const char *s)
{
	void *dst = (char *)o + n->off;
	uint64_t v;

	if (parse_u64(opt_name(n->id), s, n->min, n->max, &v) < 0)
		return -EINVAL;
	v *= n->scale;
	switch (n->type) {
	case NUM_INT:
		*(int *)dst = (int)v;
		break;
	case NUM_U16:
		*(uint16_t *)dst = (uint16_t)v;
		break;
	case NUM_U32:
		*(uint32_t *)dst = (uint32_t)v;
		break;
	case NUM_U64:
		*(uint64_t *)dst = v;
		break;
	case NUM_DOUBLE:
		*(double *)dst = (double)v;
		break;
	}
	return 0;
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

/* The fixed UDP tunnel ports (found by either port, as Zeek registers them): no VXLAN or
 * Geneve port may be one of them. */
static const struct {
	uint16_t port;
	const char *what;
} fixed_tunnel_ports[] = {
	{ MAILTAP_TEREDO_PORT, "Teredo's" },
	{ MAILTAP_AYIYA_PORT, "AYIYA's" },
	{ MAILTAP_GTPV1_U_PORT, "GTPv1-U's" },
	{ MAILTAP_GTPV1_C_PORT, "GTPv1-C's" },
};

/* --vxlan-ports, --geneve-ports (opt): a comma-separated list of up to
 * MAILTAP_MAX_TUNNEL_PORTS ports 1..65535, each once and none a fixed tunnel port; "none" or ""
 * for none. list is zeroed, then filled from its start. 0 or -EINVAL (message given). */
static int parse_tunnel_ports(const char *opt, const char *s, uint16_t *list)
{
	const char *all = s;
	size_t n_ports = 0;
	char buf[16];

	memset(list, 0, MAILTAP_MAX_TUNNEL_PORTS * sizeof(*list));
	if (!*s || !strcmp(s, "none"))
		return 0;
	for (;;) {
		size_t n = strcspn(s, ",");
		uint64_t v;

		if (n == 0 || n >= sizeof(buf)) {
			pr_warn("invalid %s '%s': %s (expected up to %d ports, e.g. 4789,8472, "
				"or none)\n",
				opt, all, n ? "an item is too long" : "an empty item",
				MAILTAP_MAX_TUNNEL_PORTS);
			return -EINVAL;
		}
		memcpy(buf, s, n);
		buf[n] = '\0';
		if (parse_u64(opt, buf, 1, 65535, &v) < 0)
			return -EINVAL;
		for (size_t i = 0; i < sizeof(fixed_tunnel_ports) / sizeof(fixed_tunnel_ports[0]);
		     i++) {
			if (fixed_tunnel_ports[i].port != v)
				continue;
			pr_warn("invalid %s '%s': %llu is %s port (a fixed tunnel port, as Zeek's): "
				"a UDP port names one tunnel\n",
				opt, all, (unsigned long long)v, fixed_tunnel_ports[i].what);
			return -EINVAL;
		}
		for (size_t i = 0; i < n_ports; i++) {
			if (list[i] == v) {
				pr_warn("invalid %s '%s': %llu given twice\n", opt, all,
					(unsigned long long)v);
				return -EINVAL;
			}
		}
		if (n_ports == MAILTAP_MAX_TUNNEL_PORTS) {
			pr_warn("invalid %s '%s': more than %d ports (%llu is one too many; "
				"MAILTAP_MAX_TUNNEL_PORTS)\n",
				opt, all, MAILTAP_MAX_TUNNEL_PORTS, (unsigned long long)v);
			return -EINVAL;
		}
		list[n_ports++] = (uint16_t)v;
		s += n;
		if (!*s)
			break;
		s++; /* the comma: an item must follow */
	}
	return 0;
}

/* No port in both --vxlan-ports and --geneve-ports. 0 or -EINVAL (message given). */
static int check_tunnel_ports(const struct mailtap_tunnel_ports *t)
{
	for (int i = 0; i < MAILTAP_MAX_TUNNEL_PORTS && t->vxlan[i]; i++) {
		for (int j = 0; j < MAILTAP_MAX_TUNNEL_PORTS && t->geneve[j]; j++) {
			if (t->vxlan[i] != t->geneve[j])
				continue;
			pr_warn("port %u is in both --vxlan-ports and --geneve-ports: a UDP port "
				"names one tunnel\n",
				t->vxlan[i]);
			return -EINVAL;
		}
	}
	return 0;
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
	case OPT_VXLAN_PORTS: /* decode's too, with -r */
	case OPT_GENEVE_PORTS:
		first[0] = &o->mirror_opt;
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

int opts__parse(struct opts *o, int argc, char **argv)
{
	uint64_t v;
	int c;

	engine_cfg__default(&o->eng);
	tunnels_limits__default(&o->tun);
	fwd_opts__default(&o->fwd);
	xsk_opts__default(&o->xsk);
	hostcap_opts__default(&o->host);
	parsers_cfg__default(&o->parsers);
	o->parsers.smtp.lim.max_address_bytes = UINT32_MAX;
	o->parsers.smtp.lim.max_kept_addresses = UINT32_MAX;
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
			if (o->n_outputs >= OPTS_MAX_OUTPUTS) {
				pr_warn("at most %d outputs\n", OPTS_MAX_OUTPUTS);
				return -EINVAL;
			}
			if (c == 'o' && strncmp(optarg, "forward:", 8)) {
				pr_warn("unknown output '%s' (expected forward:unix:PATH, "
					"forward:tcp:HOST:PORT or forward:tls:HOST:PORT)\n", optarg);
				return -EINVAL;
			}
			/* -w is a file whatever its name: "forward:x" is a file name there */
			o->outputs[o->n_outputs++] =
				(struct opts_output){ .spec = optarg, .fwd = c == 'o' };
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
		case OPT_VXLAN_PORTS:
		case OPT_GENEVE_PORTS:
			o->tunnel_ports_given = 1;
			if (parse_tunnel_ports(opt_name(c), optarg,
					       c == OPT_VXLAN_PORTS ? o->eng.decode.tun_ports.vxlan
								    : o->eng.decode.tun_ports.geneve) < 0)
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
		case OPT_CAPTURE:
			if (strcmp(optarg, "host") && strcmp(optarg, "mirror")) {
				pr_warn("invalid --capture '%s' (mirror or host)\n", optarg);
				return -EINVAL;
			}
			/* the last one counts: "--capture mirror" after the container's default
			 * "--capture host" (deploy/docker-entrypoint.sh) is mirror mode */
			o->capture_host = !strcmp(optarg, "host");
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
		case OPT_PINNED:
			o->xsk.pinned_dir = optarg;
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
		case OPT_EXTRACT_TYPES:
			o->parsers.files.extract_types = optarg;
			break;
		case OPT_MAX_FILES:
			if (parse_u64("--max-files", optarg, 1, 10000000, &v) < 0)
				return -EINVAL;
			o->parsers.files.max_in_flight = (uint32_t)v;
			o->parsers.tls.files.max_in_flight = (uint32_t)v;
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
		case OPT_SSL_CA_FILE:
			o->ssl_ca_file = optarg;
			break;
		case OPT_INTEL_FILE:
			if (o->n_intel_files == OPTS_MAX_INTEL_FILES) {
				pr_warn("at most %d --intel-file\n", OPTS_MAX_INTEL_FILES);
				return -EINVAL;
			}
			o->intel_files[o->n_intel_files++] = optarg;
			break;
		case OPT_NO_KNOWN_HOSTS:
			o->known_hosts = false;
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
		case OPT_NO_CAPTURE_LOSS:
			o->cl_interval = 0;
			break;
		case OPT_NO_NOTICE:
			o->notice.enabled = false;
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
		case OPT_NO_KNOWN_CERTS:
			o->parsers.tls.known_certs = false;
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
		case OPT_USER:
			o->user = optarg;
			break;
		case OPT_SECCOMP:
			o->seccomp = 1;
			break;
		case OPT_SPOOL:
			o->fwd.spool_dir = optarg;
			break;
		case 'v':
			log__set_level(LOG_DEBUG);
			break;
		case 'q':
			log__set_level(LOG_WARN);
			break;
		case 'h':
			opts__usage(stdout);
			o->exit_now = 1;
			return 0;
		case OPT_VERSION:
			printf("mailtap %s\n", MAILTAP_VERSION);
			o->exit_now = 1;
			return 0;
		default: {
			const struct num_opt *n = num_opt_find(c);

			if (!n) { /* '?': getopt_long has said what is wrong */
				opts__usage(stderr);
				return -EINVAL;
			}
			if (num_opt_set(o, n, optarg) < 0)
				return -EINVAL;
			break;
		}
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
	if (check_tunnel_ports(&o->eng.decode.tun_ports) < 0)
		return -EINVAL;
	/* an address longer than the log writes keeps only what the log writes, and one byte */
	if (o->parsers.smtp.lim.max_address_bytes == UINT32_MAX)
		o->parsers.smtp.lim.max_address_bytes = o->logl.max_field_string_bytes;
	/* entries the log does not write keep no bytes */
	if (o->parsers.smtp.lim.max_kept_addresses == UINT32_MAX)
		o->parsers.smtp.lim.max_kept_addresses = o->logl.max_field_container_elements;
	if (o->n_outputs == 0)
		o->outputs[o->n_outputs++] = (struct opts_output){ .spec = "-" };
	if (o->stats_interval < 0)
		o->stats_interval = o->iface ? 60 : 0;
	/* the port set for the XDP programs, from the same --ports: all of them */
	{
		size_t n = 0;

		for (uint32_t p = 1; p < 65536; p++)
			if (engine_cfg__port(o->eng.ports, (uint16_t)p))
				port_list[n++] = (uint16_t)p;
		o->xsk.ifname = o->iface;
		o->xsk.tun_ports = o->eng.decode.tun_ports;
		o->xsk.tun_ports_given = o->tunnel_ports_given;
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
