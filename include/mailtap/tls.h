/* SPDX-License-Identifier: BSD-3-Clause */
/* TLS analysis (Zeek's SSL analyzer): record layer, handshake reassembly and the handshake
 * messages a passive observer can read (ClientHello, ServerHello incl. HelloRetryRequest,
 * Certificate for TLS <= 1.2, ServerKeyExchange curve, alerts, ChangeCipherSpec, the switch to
 * ciphertext). Two layers:
 *
 *  - tls_parser (user/tls.c): the protocol parser. Bytes in (both directions), callbacks out
 *    (struct tls_cb). No records, no msgpack, no allocation after new() except the bounded
 *    handshake reassembly buffer. feed() always consumes everything it is given (records are
 *    streamed), so the engine never has to keep a tail for it.
 *  - app_tls (user/app_tls.c): struct app_parser_ops "ssl" for the engine. Builds Zeek's
 *    SSL::Info from the callbacks (version, cipher, curve, SNI, resumed, history, ...), computes
 *    JA3/JA3S/JA4/JA4S, hands certificates to x509.c and files.c, writes ssl/x509 records
 *    through user/rec_ssl.c.
 *
 * Names (versions, ciphers, curves, alerts) are printed as Zeek's consts.zeek does: see
 * tls__version_name() and friends, generated from user/tls_names.def. */
#ifndef MAILTAP_TLS_H
#define MAILTAP_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "mailtap/certval.h"
#include "mailtap/files.h"
#include "mailtap/types.h"

/* Largest unit the engine needs to present: one TLS record (5 + 2^14 + 2048). feed() streams
 * records, so this is only advisory. */
#define TLS_MAX_UNIT (5 + 16384 + 2048)

/* Content types and handshake types used in the API. */
enum tls_content {
	TLS_CT_CCS = 20,
	TLS_CT_ALERT = 21,
	TLS_CT_HANDSHAKE = 22,
	TLS_CT_APPDATA = 23,
	TLS_CT_HEARTBEAT = 24,
};

/* Limits of one parser. Exceeding one is counted in tls_stats and reported through cb->weird;
 * parsing goes on. */
/* The longest ssl_history kept (--ssl-max-history): the record's buffer less the letter that
 * may follow the limit and the terminating 0. */
#define TLS_MAX_SSL_HISTORY 254

struct tls_limits {
	/* Largest handshake message reassembled across records; bigger ones are skipped (their
	 * type still reaches cb->handshake). Default 262144 (256 KiB). Weird
	 * "SSL_handshake_message_too_large". */
	uint32_t max_handshake_msg;
	/* Entries kept per hello list (ciphers, extensions, groups, point formats, signature
	 * algorithms, supported versions, key shares). Default 256. Extra entries are dropped and
	 * the hello is flagged truncated (weird "SSL_hello_list_truncated"). */
	uint16_t max_list;
	/* Certificates passed up per Certificate message. Default 32 (weird
	 * "SSL_too_many_certificates"). */
	uint16_t max_certs;
	/* Alerts parsed per record, as Zeek's SSL::max_alerts_per_record. Default 10 (weird
	 * "SSL_excessive_alerts_in_record"). */
	uint16_t max_alerts_per_record;
	/* Bytes of all handshake buffers together: every parser's, one process-wide total (0: no
	 * limit). Default 64 MiB. A buffer that would grow beyond 16 KiB and the total ends the
	 * connection's analysis as when memory runs out (violation "handshake buffer
	 * exhausted": its ssl record is written, its buffers given back), counted in
	 * tls_buffer_stats.full; up to 16 KiB (a whole record) always fits. A buffer emptied at
	 * the end of a record is given back once it is over 16 KiB. */
	uint64_t max_handshake_total;
};

void tls_limits__default(struct tls_limits *l);

/* Process-wide: the handshake buffers' bytes now, and the buffers refused at
 * tls_limits.max_handshake_total. */
struct tls_buffer_stats {
	uint64_t bytes, full;
};
void tls__buffer_stats(struct tls_buffer_stats *out);

struct tls_bytes {
	const uint8_t *p;
	size_t len;
};

/* A parsed ClientHello (also SSLv2 CLIENT-HELLO, with record_version 0). Pointers are valid only
 * during the callback. Lists keep wire order and GREASE values. */
struct tls_client_hello {
	uint16_t record_version; /* record layer version; 0 for an SSLv2 hello (as Zeek) */
	uint16_t version;	 /* legacy client_version */
	struct tls_bytes random;
	struct tls_bytes session_id;
	const uint32_t *ciphers; /* 16 bit, or 24 bit for SSLv2 */
	unsigned n_ciphers;
	const uint8_t *compression;
	unsigned n_compression;
	bool has_extensions;
	const uint16_t *exts; /* extension types in wire order */
	unsigned n_exts;
	const uint16_t *groups; /* supported_groups (10) */
	unsigned n_groups;
	const uint8_t *point_formats; /* ec_point_formats (11) */
	unsigned n_point_formats;
	const uint16_t *sig_algs; /* signature_algorithms (13) */
	unsigned n_sig_algs;
	const uint16_t *versions; /* supported_versions (43) */
	unsigned n_versions;
	const uint16_t *key_shares; /* key_share (51) groups */
	unsigned n_key_shares;
	struct tls_bytes sni;	     /* first host_name of server_name (0); len 0 if none */
	unsigned n_sni;		     /* host names in the extension */
	struct tls_bytes sni_list;   /* the raw ServerNameList (to print every name), up to an
				      * entry of unknown type, which ends it as in Zeek */
	bool sni_empty;		     /* server_name present with an empty entry */
	struct tls_bytes alpn_first; /* first protocol of ALPN (16) */
	unsigned n_alpn;
	struct tls_bytes ticket; /* session_ticket (35) data; has_ticket if present */
	bool has_ticket;
	bool has_psk;	/* pre_shared_key (41) */
	bool truncated; /* a list hit tls_limits.max_list */
};

/* A parsed ServerHello (also the TLS 1.3 HelloRetryRequest and the SSLv2 SERVER-HELLO). */
struct tls_server_hello {
	uint16_t record_version;
	uint16_t version;	   /* legacy server_version */
	uint16_t selected_version; /* supported_versions (43), 0 if absent */
	struct tls_bytes random;
	struct tls_bytes session_id;
	uint32_t cipher;
	uint8_t compression;
	bool is_hrr; /* random is the HelloRetryRequest magic */
	bool v2;     /* SSLv2 SERVER-HELLO */
	bool has_extensions;
	const uint16_t *exts;
	unsigned n_exts;
	bool has_key_share;
	uint16_t key_share_group; /* server key_share group (or HRR selected group) */
	struct tls_bytes alpn;	  /* selected protocol, len 0 if none */
	bool has_alpn;
	bool has_psk;
	const uint8_t *point_formats;
	unsigned n_point_formats;
};

/* Callbacks, all optional. d is the direction (MT_ORIG = client side for TLS as carried here).
 * ts_ns is the time of the feed() that completed the record. */
struct tls_cb {
	void *u;
	/* Every complete record, before its contents are reported (Zeek's ssl_plaintext_data /
	 * ssl_encrypted_data). */
	void (*record)(void *u, enum mt_dir d, uint8_t content_type, uint16_t version, uint32_t len,
		       bool encrypted, uint64_t ts_ns);
	void (*client_hello)(void *u, enum mt_dir d, const struct tls_client_hello *h,
			     uint64_t ts_ns);
	void (*server_hello)(void *u, enum mt_dir d, const struct tls_server_hello *h,
			     uint64_t ts_ns);
	/* Every handshake message (after the specific callback), as ssl_handshake_message. */
	void (*handshake)(void *u, enum mt_dir d, uint8_t msg_type, uint32_t len, uint64_t ts_ns);
	/* A Certificate message: n DER certificates, in order. */
	void (*certificates)(void *u, enum mt_dir d, const struct tls_bytes *certs, unsigned n,
			     uint64_t ts_ns);
	/* ServerKeyExchange with a named curve (ECDHE/ECDH_anon suites). */
	void (*server_curve)(void *u, uint16_t curve, uint64_t ts_ns);
	void (*client_key_exchange)(void *u, enum mt_dir d, uint64_t ts_ns);
	/* An alert (ssl_alert): level and description; for an SSLv2 ERROR record (Zeek's V2Error)
	 * level is 255 and desc its 16-bit error code (head3 << 8 | head4), which Zeek looks up
	 * in the same alert_descriptions table (tls__alert_name). */
	void (*alert)(void *u, enum mt_dir d, uint8_t level, uint16_t desc, uint64_t ts_ns);
	void (*ccs)(void *u, enum mt_dir d, uint64_t ts_ns);
	void (*heartbeat)(void *u, enum mt_dir d, uint64_t ts_ns);
	/* Both directions encrypted and a ciphertext record seen (ssl_established). Once. The
	 * callback may call tls_parser__stop() (Zeek removing the analyzer there). */
	void (*established)(void *u, uint64_t ts_ns);
	/* Zeek-named weird. addl may be NULL. */
	void (*weird)(void *u, const char *name, const char *addl, uint64_t ts_ns);
	/* Protocol violation (Zeek's AnalyzerViolation): the parser stops (sticky -EPROTO). */
	void (*violation)(void *u, enum mt_dir d, const char *reason, uint64_t ts_ns);
};

struct tls_stats {
	uint64_t records;
	uint64_t handshake_msgs;
	uint64_t hs_too_large;
	uint64_t lists_truncated;
	uint64_t certs_dropped;
	uint64_t alerts_dropped;
};

struct tls_parser;

/* Returns NULL with errno set. cb and lim are copied. */
struct tls_parser *tls_parser__new(const struct tls_cb *cb, const struct tls_limits *lim);
void tls_parser__free(struct tls_parser *p);
/* Consumes all len bytes (returns len) or returns -EPROTO after a violation (sticky). After a
 * gap or tls_parser__stop() the bytes are consumed without being parsed (Zeek ignores
 * everything after a gap). */
ssize_t tls_parser__feed(struct tls_parser *p, enum mt_dir d, const uint8_t *buf, size_t len,
			 uint64_t ts_ns);
/* Stops the parser for good (SSL::disable_analyzer_after_detection at ssl_established): the
 * feed() in progress returns at once, consuming the rest of its bytes unparsed, and so do
 * later feeds, whatever the bytes are (the outcome does not depend on how the stream was
 * cut). Callable from a callback. */
void tls_parser__stop(struct tls_parser *p);
/* Zeek stops analysing a connection after any content gap. */
void tls_parser__gap(struct tls_parser *p, enum mt_dir d, uint64_t len);
void tls_parser__eof(struct tls_parser *p, enum mt_dir d);
/* Version the server chose (supported_versions if present), 0 before ServerHello. */
uint16_t tls_parser__negotiated_version(const struct tls_parser *p);
bool tls_parser__failed(const struct tls_parser *p);
const struct tls_stats *tls_parser__stats(const struct tls_parser *p);

/* Content detection on the first bytes of a stream: 1 = TLS (or SSLv2) hello, 0 = not TLS,
 * -EAGAIN = need more bytes (at most 6 are ever needed). */
int tls__probe(const uint8_t *buf, size_t len);

/* Names as Zeek prints them. Unknown values are written as "unknown-<decimal>" into buf (and
 * GREASE values as "grease_0xXXXX" for ciphers and curves); the return value is either a
 * static string or buf. buf should hold 24 bytes. */
const char *tls__version_name(uint16_t v, char *buf, size_t len);
const char *tls__cipher_name(uint32_t c, char *buf, size_t len);
const char *tls__curve_name(uint16_t c, char *buf, size_t len);
const char *tls__alert_name(uint16_t a, char *buf, size_t len);
bool tls__is_grease(uint32_t v);

/* Fingerprints. out sizes: JA3/JA3S 33 (md5 hex), JA4 37, JA4S 26. Return 0 or -EINVAL
 * (SSLv2 hellos have no JA3/JA4). */
int tls__ja3(const struct tls_client_hello *h, char out[33]);
int tls__ja3s(const struct tls_server_hello *h, char out[33]);
int tls__ja4(const struct tls_client_hello *h, char out[37]);
int tls__ja4s(const struct tls_server_hello *h, char out[26]);

/* ---- the "ssl" app parser (user/app_tls.c) ---- */

struct x509_cache;
struct certval;
struct knownset;

struct tls_cfg {
	struct tls_limits lim;
	/* Certificate files: hashes (Zeek computes md5, sha1 and sha256 for certificates),
	 * in-flight limit. */
	struct files_cfg files;
	/* Write a files record per certificate. Zeek's default X509::log_x509_in_files_log is F;
	 * ours is true (issue 6). */
	bool log_x509_in_files;
	/* Extra ssl fields ja3/ja3s/ja4/ja4s. Default true. */
	bool fingerprints;
	/* SSL::max_ssl_history_length. Default 100, at most TLS_MAX_SSL_HISTORY. */
	uint32_t max_ssl_history;
	/* Certificates handled (files record, x509 record, fingerprint) per connection and
	 * direction, over all its Certificate messages. Default 64: a real chain has a handful,
	 * and one Certificate message passes at most lim.max_certs (32), so this is two full
	 * messages; later certificates are counted (app_tls_stats.certs_skipped) and raise weird
	 * "SSL_too_many_certificates_in_connection" once per direction. mailtap's own (Zeek makes
	 * a file of every certificate). */
	uint32_t max_certs_per_dir;
	/* SSL::disable_analyzer_after_detection: stop at ssl_established. Default true. */
	bool disable_after_established;
	/* x509 record deduplication (X509::known_log_certs); NULL = log every certificate.
	 * Owned by main (x509_cache__new), shared by all connections of a worker. */
	struct x509_cache *x509_dedup;
	/* Settings main passes to x509_cache__new() for x509_dedup: X509::
	 * relog_known_certificates_after (default 1 day; 0 = no deduplication) and
	 * X509::known_log_certs_maximum_size (default 1000000). */
	uint64_t relog_known_certificates_after_ns;
	uint32_t known_log_certs_maximum_size;
	/* validation_status (policy/protocols/ssl/validate-certs.zeek): the trusted roots,
	 * loaded and owned by main (NULL: no validation), the settings of each worker's caches,
	 * and the worker's validator, made by parsers__register. */
	const struct certval_roots *cert_roots;
	struct certval_cfg certval_cfg;
	struct certval *certval;
	/* known_certs (policy/protocols/ssl/known-certs.zeek): on (true), at most max keys
	 * (100000) of (server, certificate SHA-1) each logged again after expire_ns (1 day,
	 * Known::cert_store_expiry); the worker's set, made by parsers__register. */
	bool known_certs;
	uint32_t known_certs_max;
	uint64_t known_certs_expire_ns;
	struct knownset *known_certs_set;
	enum mt_tracking known_tracking; /* Known::cert_tracking (local) */
	/* Zeek's policy/frameworks/intel/seen ssl.zeek and x509.zeek: the store, loaded by
	 * main (the certificates' hashes go through files.intel); NULL: no intelligence. The
	 * worker's memo of each certificate's matching names (made by parsers__register when
	 * EMAIL or DOMAIN items are loaded), so that a cached certificate is not parsed for
	 * them. */
	const struct intel *intel;
	struct intel_certmemo *intel_memo;
};

struct intel_certmemo *intel_certmemo__new(void);
void intel_certmemo__free(struct intel_certmemo *m);

void tls_cfg__default(struct tls_cfg *c);

struct app_parser_ops;
extern const struct app_parser_ops app_tls_ops;
/* Process-wide counters of the known_certs stream. */
struct known_certs_stats {
	uint64_t logged;  /* known_certs records written */
	uint64_t evicted; /* (server, certificate) pairs forgotten early: known_certs_max */
};
void app_tls__known_certs_stats(struct known_certs_stats *out);

/* Process-wide counters of the ssl parser. */
struct app_tls_stats {
	uint64_t certs_skipped; /* certificates beyond tls_cfg.max_certs_per_dir, not handled */
	uint64_t handshake_buffer_full; /* connections whose analysis ended at
					 * tls_limits.max_handshake_total */
};
void app_tls__stats(struct app_tls_stats *out);

/* ---- ssl record (user/rec_ssl.c) ---- */

/* Zeek's SSL::Info as logged, plus our fingerprints. Strings are NUL-terminated; an empty
 * string means unset (not written). */
struct ssl_info {
	uint64_t ts_ns;
	char version[24];
	char cipher[64];
	char curve[40];
	struct mt_str server_name; /* NUL bytes kept (Zeek logs them as \x00) */
	bool resumed;
	char last_alert[40];
	struct mt_str next_protocol;
	bool established;
	char history[TLS_MAX_SSL_HISTORY + 2];
	unsigned history_len;
	/* cert_chain_fps / client_cert_chain_fps: written (possibly empty) once any certificate
	 * was seen, as Zeek. */
	bool have_chains;
	char (*server_fps)[65];
	unsigned n_server_fps;
	char (*client_fps)[65];
	unsigned n_client_fps;
	int sni_matches_cert; /* -1 unset, 0, 1 */
	const char *validation_status; /* OpenSSL's verdict on the server chain; NULL unset */
	char ja3[33], ja3s[33], ja4[37], ja4s[26];
};

struct rec;
struct x509_info;
/* Writes one "ssl" record. Returns rec__end()'s value. */
int rec_ssl__write(struct rec *r, const char *uid, const struct conn_id *id,
		   const struct ssl_info *si);
/* Writes one "x509" record (no uid/id, as Zeek). */
int rec_x509__write(struct rec *r, uint64_t ts_ns, const struct x509_info *xi);
/* Writes one "known_certs" record (Known::CertsInfo). */
int rec_known_certs__write(struct rec *r, uint64_t ts_ns, const struct mt_addr *host,
			   uint16_t port, const char *subject, const char *issuer,
			   const char *serial);

#endif
