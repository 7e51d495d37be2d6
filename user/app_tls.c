// SPDX-License-Identifier: BSD-3-Clause
/* The "ssl" application parser: Zeek's base/protocols/ssl/{main,files}.zeek and
 * base/files/x509/main.zeek logic on top of the TLS parser (user/tls.c).
 *
 *  - SSL::Info is created ("set_session") by the first plaintext record or handshake event; its
 *    ts is that time.
 *  - The ssl record is written at ssl_established (and analysis stops, as
 *    SSL::disable_analyzer_after_detection), at a protocol violation, or at connection end.
 *  - Each certificate becomes a file (source SSL, mime application/x-x509-user-cert for the
 *    first of a Certificate message, application/x-x509-ca-cert for the others; analyzers
 *    MD5/SHA1/SHA256/X509) and an x509 record (deduplicated like X509::known_log_certs), up to
 *    tls_cfg.max_certs_per_dir per connection and direction (mailtap's own limit). */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>

#include "mailtap/bits.h"
#include "mailtap/digest.h"
#include "mailtap/files.h"
#include "mailtap/ids.h"
#include "mailtap/intel.h"
#include "mailtap/knownset.h"
#include "mailtap/notice.h"
#include "mailtap/rec.h"
#include "mailtap/session.h"
#include "mailtap/tls.h"
#include "mailtap/x509.h"

/* SSL::max_ssl_history_length cannot exceed the record's buffer. */
#define HISTORY_CAP (sizeof(((struct ssl_info *)0)->history) - 2)
_Static_assert(HISTORY_CAP == TLS_MAX_SSL_HISTORY, "--ssl-max-history's maximum");

struct app_tls {
	struct mt_session *s;
	const struct tls_cfg *cfg;
	struct tls_parser *p;
	struct ssl_info si;
	bool have_session; /* c$ssl exists */
	bool logged;
	bool confirmed;
	bool done;   /* analysis stopped (established or violation) */
	bool failed; /* violation: feed() returns -EPROTO */
	bool seen_client_hello;
	bool unclear_alerted;
	enum mt_dir client_dir;
	/* resumption detection (main.zeek): the client's session id, compared whole as Zeek
	 * compares the strings (a TLS hello may carry up to 255 bytes, not the 32 the RFCs
	 * allow; an SSLv2 CLIENT-HELLO up to 65535): its length, and its first 255 bytes (a
	 * ServerHello's id has at most 255, so a longer one never matches) */
	uint8_t session_id[255];
	uint16_t session_id_len; /* 0: none */
	bool ticket_empty_session_seen;
	bool client_kex_seen;
	bool client_psk_seen;
	bool hrr_seen;
	uint16_t version_num;
	bool have_version;
	bool ja_client_done, ja_server_done;
	/* first server certificate, for sni_matches_cert */
	struct x509_info host;
	bool have_host;
	bool have_server_chain;
	/* cert_chain[0] taken: the first server certificate with bytes (Zeek makes no file of a
	 * zero-length one), whatever its place in its message */
	bool host_chosen;
	int sni_match; /* sni_matches_cert: -1 unknown, 0, 1 (parsed, or from the cache's memo) */
	/* certificates handled from the responder [0] and the originator [1]: each adds at most
	 * one fingerprint, so this also bounds the fingerprint lists */
	uint32_t n_certs[2];
	uint64_t cert_ts;     /* time of the certificate being parsed, for x509 weirds */
	char cert_fuid[MT_UID_LEN]; /* its fuid ("" until one is needed: no files record) */
	uint64_t x509_cached; /* certificates not parsed again (dedup cache hit) */
	/* known-certs.zeek: the host certificate of a local server not yet known, logged at
	 * ssl_established (key: server address + SHA-1 of the certificate) */
	bool kc_pending;
	uint8_t kc_key[16 + 20];
	char *kc_subject, *kc_issuer, *kc_serial;
	/* intel (seen/ssl.zeek): the host certificate's CN and fuid, for ssl_established */
	char *intel_cn;
	char host_fuid[MT_UID_LEN];
	/* validate-certs.zeek's notice for a chain that did not validate, raised at
	 * ssl_finishing (when the ssl record is written) */
	const char *nt_status;
	uint8_t *nt_der; /* the host certificate, parsed for its subject only when not suppressed */
	size_t nt_der_len;
	char nt_sha1[41];
};

void tls_cfg__default(struct tls_cfg *c)
{
	memset(c, 0, sizeof(*c));
	tls_limits__default(&c->lim);
	files_cfg__default(&c->files);
	c->files.md5 = c->files.sha1 = c->files.sha256 = true;
	c->log_x509_in_files = true;
	c->fingerprints = true;
	c->max_ssl_history = 100;
	c->max_certs_per_dir = 64;
	c->disable_after_established = true;
	c->x509_dedup = NULL;
	c->relog_known_certificates_after_ns = 86400ull * 1000000000ull;
	c->known_log_certs_maximum_size = 1000000;
	c->cert_roots = NULL;
	certval_cfg__default(&c->certval_cfg);
	c->certval = NULL;
	c->known_certs = true;
	c->known_certs_max = 100000;
	c->known_certs_expire_ns = 86400ull * 1000000000ull;
	c->known_certs_set = NULL;
	c->known_tracking = MT_TRACK_LOCAL;
}

static bool is_client(const struct app_tls *a, enum mt_dir d)
{
	return d == a->client_dir;
}

static void set_session(struct app_tls *a, uint64_t ts)
{
	if (!a->have_session) {
		a->have_session = true;
		a->si.ts_ns = ts;
	}
}

static void weird_n(struct app_tls *a, uint64_t ts, const char *name, const char *addl,
		    size_t addl_len)
{
	if (a->s->weird)
		a->s->weird(a->s, ts, name, addl, addl_len, NULL);
}

static void weird(struct app_tls *a, uint64_t ts, const char *name, const char *addl)
{
	weird_n(a, ts, name, addl, addl ? strlen(addl) : 0);
}

static void add_history(struct app_tls *a, bool client, char ch, uint64_t ts)
{
	struct ssl_info *si = &a->si;
	unsigned max = a->cfg->max_ssl_history;

	if (max > HISTORY_CAP)
		max = HISTORY_CAP;
	if (si->history_len >= max)
		return;
	si->history[si->history_len++] = client ? (char)(ch - 'a' + 'A') : ch;
	si->history[si->history_len] = 0;
	if (si->history_len == max) {
		char buf[16];

		snprintf(buf, sizeof(buf), "%u", si->history_len);
		weird(a, ts, "SSL_max_ssl_history_length_reached", buf);
	}
}

static void set_version(struct app_tls *a, uint16_t v)
{
	char buf[24];

	a->version_num = v;
	a->have_version = true;
	snprintf(a->si.version, sizeof(a->si.version), "%s",
		 tls__version_name(v, buf, sizeof(buf)));
}

static void set_curve(struct app_tls *a, uint16_t c)
{
	char buf[24];

	snprintf(a->si.curve, sizeof(a->si.curve), "%s", tls__curve_name(c, buf, sizeof(buf)));
}

/* The x509 cache keys the SNI check by the name as a C string: a name holding a NUL byte
 * ("a.example\0.evil") is checked anew each time, never under its first part. */
static bool sni_cacheable(const struct ssl_info *si)
{
	return si->server_name.s && strlen(si->server_name.s) == si->server_name.n;
}

/* ---------------------------------------------------------------- logging */

/* hook ssl_finishing + log_record */
/* validate-certs.zeek's ssl_finishing: SSL::Invalid_Server_Cert for a server chain that did
 * not validate, once per (server, port, certificate, status) and suppression interval. */
static void invalid_cert_notice(struct app_tls *a, uint64_t ts)
{
	char msg[256], id[256], h[64];
	struct x509_info xi;
	struct notice_info n = {
	    .ts_ns = ts,
	    .note = "SSL::Invalid_Server_Cert",
	    .msg = msg,
	    .uid = a->s->uid,
	    .id = a->s->id,
	    .fuid = a->host_fuid[0] ? a->host_fuid : NULL,
	    .identifier = id,
	};
	int k;

	mt_addr__fmt(&a->s->id->resp_h, h, sizeof(h));
	/* cat(resp_h, resp_p, hash, validation_code): the status stands for the code */
	k = snprintf(id, sizeof(id), "%s%u/tcp%s%s", h, a->s->id->resp_p, a->nt_sha1, a->nt_status);
	n.identifier_len = k < 0 ? 0 : (size_t)k < sizeof(id) ? (size_t)k : sizeof(id) - 1;
	if (!notice__suppressed(&n)) {
		snprintf(msg, sizeof(msg), "SSL certificate validation failed with (%s)",
			 a->nt_status);
		if (x509__parse(a->nt_der, a->nt_der_len, a->cfg->lim.max_list, &xi, NULL, NULL) ==
		    0)
			n.sub = xi.subject;
		notice__write(a->s->rec, &n);
		x509_info__free(&xi);
	}
	a->nt_status = NULL;
}

static void log_ssl(struct app_tls *a, uint64_t ts)
{
	struct ssl_info *si = &a->si;

	if (a->logged || !a->have_session)
		return;
	a->logged = true;
	si->sni_matches_cert = -1;
	if (a->sni_match >= 0)
		si->sni_matches_cert = a->sni_match;
	if (a->nt_status)
		invalid_cert_notice(a, ts);
	rec_ssl__write(a->s->rec, a->s->uid, a->s->id, si);
}

/* ---------------------------------------------------------------- callbacks */

static void cb_record(void *u, enum mt_dir d, uint8_t type, uint16_t version, uint32_t len,
		      bool encrypted, uint64_t ts)
{
	struct app_tls *a = u;

	if (a->done || encrypted)
		return;
	set_session(a, ts);
	if (type == TLS_CT_APPDATA && a->have_version && !a->si.established)
		weird(a, ts, "ssl_early_application_data", NULL);
}

/* Appends n bytes of s to out[*len..cap - 1) (room kept for the closing bracket); false
 * when they do not all fit (out is then filled up to there). */
static bool names_put(char *out, size_t cap, size_t *len, const void *s, size_t n)
{
	size_t room = cap - 1 - *len;

	memcpy(out + *len, s, n < room ? n : room);
	*len += n < room ? n : room;
	return n <= room;
}

/* Zeek's cat(names) of the host names: "[a, b]", names byte for byte (NUL bytes too), cut at
 * cap bytes. Returns the length. */
static size_t many_names(struct tls_bytes list, char *out, size_t cap)
{
	size_t off = 0, len = 1;
	bool first = true;

	out[0] = '[';
	while (off + 3 <= list.len) {
		unsigned type = list.p[off];
		size_t n = (size_t)list.p[off + 1] << 8 | list.p[off + 2];

		off += 3;
		if (n > list.len - off)
			break;
		if (type == 0) {
			if ((!first && !names_put(out, cap, &len, ", ", 2)) ||
			    !names_put(out, cap, &len, list.p + off, n))
				break;
			first = false;
		}
		off += n;
	}
	out[len++] = ']';
	return len;
}

/* Zeek's check_flipped(): a ClientHello from the responder (or a ServerHello from the
 * originator) flips the roles; flipping back is weird SSL_unclear_connection_direction. Each
 * flip is a '^' in the history (not counted against its length limit). */
static void check_flipped(struct app_tls *a, bool want_orig, enum mt_dir d, uint64_t ts)
{
	struct ssl_info *si = &a->si;
	bool is_orig = d == MT_ORIG;
	bool flipped = a->client_dir == MT_RESP;

	if (flipped == (want_orig != is_orig))
		return;
	set_session(a, ts);
	a->client_dir = flipped ? MT_ORIG : MT_RESP;
	if (flipped && !a->unclear_alerted) {
		a->unclear_alerted = true;
		weird(a, ts, "SSL_unclear_connection_direction", NULL);
	}
	if (si->history_len < HISTORY_CAP) {
		si->history[si->history_len++] = '^';
		si->history[si->history_len] = 0;
	}
}

static void cb_client_hello(void *u, enum mt_dir d, const struct tls_client_hello *h, uint64_t ts)
{
	struct app_tls *a = u;
	struct ssl_info *si = &a->si;

	if (a->done)
		return;
	check_flipped(a, true, d, ts);
	a->seen_client_hello = true;
	if (!a->confirmed) {
		a->confirmed = true;
		if (a->s->confirm)
			a->s->confirm(a->s, "ssl");
	}
	set_session(a, ts);
	/* ssl_extension events come before ssl_client_hello */
	if (h->has_ticket && h->ticket.len > 0)
		a->ticket_empty_session_seen = true;
	if (h->has_psk)
		a->client_psk_seen = true;
	if (h->n_sni > 0) {
		mt_str__set(&si->server_name, h->sni.p, h->sni.len);
		if (h->n_sni > 1) {
			char buf[256];

			weird_n(a, ts, "SSL_many_server_names", buf,
				many_names(h->sni_list, buf, sizeof(buf)));
		}
		/* seen/ssl.zeek: ssl_extension_server_name */
		if (intel__has(a->cfg->intel, INTEL_DOMAIN) && a->s->rec) {
			struct intel_seen w = {.ts_ns = ts,
					       .where = INTEL_SSL_IN_SERVER_NAME,
					       .uid = a->s->uid,
					       .id = a->s->id};

			intel__seen(a->cfg->intel, a->s->rec, &w, INTEL_DOMAIN, si->server_name.s,
				    si->server_name.n);
		}
	}
	/* ssl_client_hello */
	if (h->session_id.len > 0) {
		bool zero = h->session_id.len == 32;

		for (size_t i = 0; zero && i < 32; i++)
			zero = h->session_id.p[i] == 0;
		if (!zero) {
			a->session_id_len = (uint16_t)h->session_id.len;
			memcpy(a->session_id, h->session_id.p,
			       h->session_id.len < sizeof(a->session_id) ? h->session_id.len
									 : sizeof(a->session_id));
			a->ticket_empty_session_seen = false;
		}
	}
	if (h->record_version == 0)
		add_history(a, true, 'c', ts);
	if (a->cfg->fingerprints && !a->ja_client_done) {
		a->ja_client_done = true;
		tls__ja3(h, si->ja3);
		tls__ja4(h, si->ja4);
	}
}

static void cb_server_hello(void *u, enum mt_dir d, const struct tls_server_hello *h, uint64_t ts)
{
	struct app_tls *a = u;
	struct ssl_info *si = &a->si;
	char buf[24];

	if (a->done)
		return;
	check_flipped(a, false, d, ts);
	set_session(a, ts);
	/* extension events first */
	if (h->selected_version)
		set_version(a, h->selected_version);
	if (h->has_key_share)
		set_curve(a, h->key_share_group);
	if (h->has_alpn) {
		mt_str__set(&si->next_protocol, h->alpn.p, h->alpn.len);
	}
	if (h->has_psk && a->client_psk_seen)
		si->resumed = true;
	/* ssl_server_hello */
	if (!a->have_version)
		set_version(a, h->version);
	snprintf(si->cipher, sizeof(si->cipher), "%s",
		 tls__cipher_name(h->cipher, buf, sizeof(buf)));
	if (h->is_hrr)
		a->hrr_seen = true;
	if (a->session_id_len && h->session_id.len == a->session_id_len &&
	    h->session_id.len <= sizeof(a->session_id) &&
	    !memcmp(a->session_id, h->session_id.p, h->session_id.len) &&
	    a->version_num / 0xFF != 0x7F && a->version_num != 0x0304)
		si->resumed = true;
	if (h->v2)
		add_history(a, false, 's', ts);
	if (a->cfg->fingerprints && !a->ja_server_done && !h->is_hrr && !h->v2) {
		a->ja_server_done = true;
		tls__ja3s(h, si->ja3s);
		tls__ja4s(h, si->ja4s);
	}
}

static char history_letter(struct app_tls *a, uint8_t t)
{
	switch (t) {
	case 0:
		return 'h';
	case 1:
		return 'c';
	case 2:
		if (a->hrr_seen) {
			a->hrr_seen = false;
			return 'j';
		}
		return 's';
	case 3:
		return 'v';
	case 4:
		return 't';
	case 5:
		return 'e';
	case 6:
		return 'j';
	case 8:
		return 'o';
	case 11:
		return 'x';
	case 12:
		return 'k';
	case 13:
		return 'r';
	case 14:
		return 'n';
	case 15:
		return 'y';
	case 16:
		return 'g';
	case 20:
		return 'f';
	case 21:
		return 'w';
	case 22:
		return 'u';
	case 23:
		return 'a';
	case 24:
		return 'p';
	case 254:
		return 'm';
	default:
		return 'z';
	}
}

static void cb_handshake(void *u, enum mt_dir d, uint8_t type, uint32_t len, uint64_t ts)
{
	struct app_tls *a = u;
	bool client = is_client(a, d);

	if (a->done)
		return;
	set_session(a, ts);
	if (client && type == 16)
		a->client_kex_seen = true;
	add_history(a, client, history_letter(a, type), ts);
}

/* The X509 file analyzer's weirds (Reporter::Weird(GetFile(), ...)): file weirds of the
 * certificate being parsed, with its fuid. Zeek gives every certificate a file; without a
 * files record here (log_x509_in_files off, or the in-flight limit) one is made for it. */
static void file_weird(void *u, const char *name, const char *addl)
{
	struct app_tls *a = u;

	if (!a->s->file_weird)
		return;
	if (!a->cert_fuid[0] && a->s->ids)
		mt_ids__make(a->s->ids, 'F', a->cert_fuid);
	a->s->file_weird(a->s, a->cert_ts, name, a->cert_fuid, addl);
}

static void push_fp(struct app_tls *a, bool client, const char fp[65])
{
	struct ssl_info *si = &a->si;
	char(**arr)[65] = client ? &si->client_fps : &si->server_fps;
	unsigned *n = client ? &si->n_client_fps : &si->n_server_fps;
	char(*na)[65];

	na = realloc(*arr, (*n + 1) * sizeof(*na));
	if (!na)
		return;
	memcpy(na[*n], fp, 65);
	*arr = na;
	(*n)++;
}

/* known-certs.zeek's ssl_established handler, its first half: the host certificate c of a
 * local server, parsed (xi) or known to parse (NULL: parsed here, once per server,
 * certificate and expiry), is remembered if the server is not known to offer it. */
static void known_cert_seen(struct app_tls *a, struct tls_bytes c, const struct x509_info *xi,
			    uint64_t ts)
{
	const struct tls_cfg *cfg = a->cfg;
	struct x509_info parsed;
	unsigned int n = 0;

	if (!cfg->known_certs_set || !mt_tracking__match(cfg->known_tracking, a->s->local_resp) ||
	    a->kc_pending)
		return;
	memcpy(a->kc_key, a->s->id->resp_h.b, 16);
	if (EVP_Digest(c.p, c.len, a->kc_key + 16, &n, mt_md(MT_SHA1), NULL) != 1 || n != 20 ||
	    knownset__contains(cfg->known_certs_set, a->kc_key, sizeof(a->kc_key), ts))
		return;
	if (!xi) {
		if (x509__parse(c.p, c.len, cfg->lim.max_list, &parsed, NULL, NULL) < 0) {
			x509_info__free(&parsed);
			return;
		}
		xi = &parsed;
	}
	a->kc_subject = xi->subject ? strdup(xi->subject) : NULL;
	a->kc_issuer = xi->issuer ? strdup(xi->issuer) : NULL;
	a->kc_serial = xi->serial ? strdup(xi->serial) : NULL;
	a->kc_pending = true;
	if (xi == &parsed)
		x509_info__free(&parsed);
}

static _Atomic uint64_t kc_logged, kc_evicted;

/* ... and its second: at ssl_established, logged once per (server, certificate) and day. */
static void known_cert_established(struct app_tls *a, uint64_t ts)
{
	struct knownset *set = a->cfg->known_certs_set;
	uint64_t ev;

	if (!a->kc_pending)
		return;
	a->kc_pending = false;
	ev = knownset__evicted(set);
	if (knownset__add(set, a->kc_key, sizeof(a->kc_key), ts)) {
		rec_known_certs__write(a->s->rec, ts, &a->s->id->resp_h, a->s->id->resp_p,
				       a->kc_subject, a->kc_issuer, a->kc_serial);
		atomic_fetch_add(&kc_logged, 1);
	}
	if (knownset__evicted(set) != ev)
		atomic_fetch_add(&kc_evicted, knownset__evicted(set) - ev);
}

void app_tls__known_certs_stats(struct known_certs_stats *out)
{
	out->logged = atomic_load(&kc_logged);
	out->evicted = atomic_load(&kc_evicted);
}

/* Files::describe of a certificate file (base/protocols/ssl/files.zeek): the server's
 * address and port, as cat() prints them ("192.0.2.1:465/tcp"). */
static size_t tls_describe(const struct app_tls *a, char *buf, size_t cap)
{
	char h[64];
	int k;

	mt_addr__fmt(&a->s->id->resp_h, h, sizeof(h));
	k = snprintf(buf, cap, "%s:%u/tcp", h, a->s->id->resp_p);
	return k < 0 ? 0 : (size_t)k < cap ? (size_t)k : cap - 1;
}

/* seen/x509.zeek for one certificate (a file of its own): its SHA-1 (CERT_HASH), the DNS
 * names of its subjectAltName (DOMAIN) and the emailAddress of its subject (EMAIL); and
 * for seen/ssl.zeek the host certificate's CN, looked up at ssl_established. xi: the
 * parsed certificate, or NULL when the x509 cache spared its parsing (it parses). */
/* The names of a certificate that match an item (the subject's emailAddress, SAN DNS names)
 * and its CN when that matches: fixed for a certificate while the store is, so remembered
 * by fingerprint and the store's generation (a reloaded store makes them stale) and
 * replayed for a certificate the x509 cache spared from parsing. Direct-mapped, one per
 * worker: a collision parses again. */
#define CERTMEMO_SLOTS 1024

struct certmemo_slot {
	char fp[65];	/* "": empty */
	uint64_t gen;	/* intel__generation when it was kept */
	uint8_t *names; /* [type][u16 length][bytes] ... */
	size_t len;
	char *cn;
};

struct intel_certmemo {
	struct certmemo_slot s[CERTMEMO_SLOTS];
};

struct intel_certmemo *intel_certmemo__new(void)
{
	return calloc(1, sizeof(struct intel_certmemo));
}

void intel_certmemo__free(struct intel_certmemo *m)
{
	if (!m)
		return;
	for (unsigned i = 0; i < CERTMEMO_SLOTS; i++) {
		free(m->s[i].names);
		free(m->s[i].cn);
	}
	free(m);
}

/* A match to remember: appended to the slot's names (dropped when memory fails: the slot
 * is then not kept). */
static bool memo_add(struct certmemo_slot *m, enum intel_type t, const char *s, size_t n)
{
	uint8_t *nb;
	uint16_t l = (uint16_t)(n > UINT16_MAX ? UINT16_MAX : n);

	if (!(nb = realloc(m->names, m->len + 3 + l)))
		return false;
	nb[m->len] = (uint8_t)t;
	memcpy(nb + m->len + 1, &l, 2);
	memcpy(nb + m->len + 3, s, l);
	m->names = nb;
	m->len += 3 + l;
	return true;
}

static void intel_cert(struct app_tls *a, struct tls_bytes c, const struct x509_info *xi, bool host,
		       bool want_host, const char *fuid, const char *fp, uint64_t ts)
{
	const struct intel *in = a->cfg->intel;
	struct x509_info parsed;
	char desc[80];
	struct intel_seen w = {
	    .ts_ns = ts,
	    .where = INTEL_X509_IN_CERT,
	    .uid = a->s->uid,
	    .id = a->s->id,
	    .fuid = fuid[0] ? fuid : NULL,
	    .file_mime_type = host ? "application/x-x509-user-cert" : "application/x-x509-ca-cert",
	    .file_desc = desc,
	};
	uint64_t gen = intel__generation(in); /* before the lookups: a reload meanwhile is seen */
	bool names = intel__has(in, INTEL_EMAIL) || intel__has(in, INTEL_DOMAIN);
	struct certmemo_slot *m = NULL;
	struct rec *r = a->s->rec;

	if (!r)
		return;
	if (!w.fuid)
		w.file_mime_type = w.file_desc = NULL;
	tls_describe(a, desc, sizeof(desc));
	if (names && a->cfg->intel_memo) {
		m = &a->cfg->intel_memo->s[mt_hash_bytes(0, fp, 64) % CERTMEMO_SLOTS];
		if (!strcmp(m->fp, fp) && m->gen == gen) {
			/* remembered: the same records without parsing */
			for (size_t o = 0; o + 3 <= m->len;) {
				uint16_t l;

				memcpy(&l, m->names + o + 1, 2);
				intel__seen(in, r, &w, (enum intel_type)m->names[o],
					    (const char *)m->names + o + 3, l);
				o += 3 + (size_t)l;
			}
			if (want_host) {
				free(a->intel_cn);
				a->intel_cn = m->cn ? strdup(m->cn) : NULL;
			}
			names = false;
		} else { /* this certificate's slot from now on */
			m->fp[0] = 0;
			free(m->names);
			free(m->cn);
			m->names = NULL;
			m->cn = NULL;
			m->len = 0;
		}
	}
	if (names && !xi) {
		if (x509__parse(c.p, c.len, a->cfg->lim.max_list, &parsed, NULL, NULL) < 0) {
			x509_info__free(&parsed);
			return;
		}
		xi = &parsed;
	}
	if (names) {
		bool kept = true;

		if (intel__has(in, INTEL_EMAIL) && xi->subject) {
			/* sub(subject, /^.*emailAddress=/, ""), then sub(email, /,.*$/, "") */
			const char *e = NULL, *p = xi->subject;

			while ((p = strstr(p, "emailAddress=")))
				e = p += 13;
			if (e && intel__seen(in, r, &w, INTEL_EMAIL, e, strcspn(e, ",")) && m)
				kept &= memo_add(m, INTEL_EMAIL, e, strcspn(e, ","));
		}
		if (intel__has(in, INTEL_DOMAIN)) {
			struct intel_hit h;
			char cn[1024];
			int n;

			for (unsigned i = 0; i < xi->n_san_dns; i++)
				if (intel__seen(in, r, &w, INTEL_DOMAIN, xi->san_dns[i].s,
						xi->san_dns[i].n) &&
				    m)
					kept &= memo_add(m, INTEL_DOMAIN, xi->san_dns[i].s,
							 xi->san_dns[i].n);
			/* seen/ssl.zeek looks the host certificate's CN up at ssl_established */
			n = x509__cn(xi, cn, sizeof(cn));
			if (n >= 0 && intel__find(in, INTEL_DOMAIN, cn, (size_t)n, &h)) {
				if (m && !(m->cn = strdup(cn)))
					kept = false;
				if (want_host) {
					free(a->intel_cn);
					a->intel_cn = strdup(cn);
				}
			} else if (want_host) {
				free(a->intel_cn);
				a->intel_cn = NULL;
			}
		}
		if (m && kept) {
			memcpy(m->fp, fp, 65);
			m->gen = gen;
		}
	}
	if (intel__has(in, INTEL_CERT_HASH)) {
		unsigned char d[20];
		unsigned int n = 0;
		char hex[41];

		if (EVP_Digest(c.p, c.len, d, &n, mt_md(MT_SHA1), NULL) == 1 && n == 20) {
			mt_hex(d, 20, hex);
			intel__seen(in, r, &w, INTEL_CERT_HASH, hex, 40);
		}
	}
	if (xi == &parsed)
		x509_info__free(&parsed);
}

static void one_cert(struct app_tls *a, bool client, unsigned idx, struct tls_bytes c, uint64_t ts)
{
	const struct tls_cfg *cfg = a->cfg;
	bool host = idx == 0;
	bool want_host = !client && !a->host_chosen;
	struct x509_info xi;
	char fp[65], fuid[MT_UID_LEN] = "";
	int err;

	if (!client)
		a->host_chosen = true;
	if (cfg->log_x509_in_files) {
		struct mt_file *f = files__open(a->s, &cfg->files, ts, "SSL", client, 0);

		if (f) {
			mt_strcpy_cut(fuid, sizeof(fuid), files__fuid(f));
			if (cfg->intel) {
				char desc[80];

				files__set_desc(f, desc, tls_describe(a, desc, sizeof(desc)));
			}
			files__set_mime_type(f, host ? "application/x-x509-user-cert"
						     : "application/x-x509-ca-cert");
			files__add_analyzer(f, "X509");
			files__data(f, c.p, c.len, ts);
			files__close(f, ts);
		}
	}
	if (want_host) /* cert_chain[0]$fuid (intel, notices) */
		mt_strcpy_cut(a->host_fuid, sizeof(a->host_fuid), fuid);
	/* Already logged within the dedup period (and so known to parse): only its fingerprint
	 * is needed, unless it is the host certificate we must check the SNI against. */
	x509__sha256_hex(c.p, c.len, fp);
	if (x509_cache__contains(cfg->x509_dedup, fp, host, client, ts)) {
		int m = want_host && sni_cacheable(&a->si)
			    ? x509_cache__sni_get(cfg->x509_dedup, fp, a->si.server_name.s)
			    : -1;

		if (!(want_host && a->si.server_name.s) || m >= 0) {
			push_fp(a, client, fp);
			a->x509_cached++;
			if (m >= 0)
				a->sni_match = m;
			if (want_host)
				known_cert_seen(a, c, NULL, ts);
			if (cfg->intel)
				intel_cert(a, c, NULL, host, want_host, fuid, fp, ts);
			return;
		}
	}
	a->cert_ts = ts;
	memcpy(a->cert_fuid, fuid, sizeof(fuid));
	err = x509__parse(c.p, c.len, cfg->lim.max_list, &xi, file_weird, a);
	if (err == -EINVAL) {
		file_weird(a, "x509_cert_parse_error", NULL);
		x509_info__free(&xi);
		return;
	}
	if (err < 0) {
		x509_info__free(&xi);
		return;
	}
	xi.host_cert = host;
	xi.client_cert = client;
	/* file_sniff: the chain (fingerprints are added at ssl_finishing) */
	push_fp(a, client, xi.fingerprint);
	/* file_state_remove: x509 record, deduplicated */
	if (!x509_cache__seen(cfg->x509_dedup, xi.fingerprint, xi.host_cert, xi.client_cert, ts))
		rec_x509__write(a->s->rec, ts, &xi);
	if (cfg->intel)
		intel_cert(a, c, &xi, host, want_host, fuid, xi.fingerprint, ts);
	if (want_host) {
		known_cert_seen(a, c, &xi, ts);
		if (a->si.server_name.s) {
			a->sni_match =
			    x509__hostname_matches(&xi, a->si.server_name.s, a->si.server_name.n);
			if (sni_cacheable(&a->si))
				x509_cache__sni_put(cfg->x509_dedup, xi.fingerprint,
						    a->si.server_name.s, a->sni_match == 1);
		}
		a->host = xi;
		a->have_host = true;
		return;
	}
	x509_info__free(&xi);
}

/* The notice's identifier (the host certificate's SHA-1) and the certificate itself, whose
 * subject is the notice's sub if it is not suppressed, kept until ssl_finishing. */
static void invalid_cert_prepare(struct app_tls *a, const uint8_t *der, size_t len)
{
	unsigned char d[20];
	unsigned int n = 0;
	uint8_t *copy;

	if (EVP_Digest(der, len, d, &n, mt_md(MT_SHA1), NULL) != 1 || n != 20 ||
	    !(copy = malloc(len)))
		return;
	memcpy(copy, der, len);
	free(a->nt_der);
	a->nt_der = copy;
	a->nt_der_len = len;
	mt_hex(d, 20, a->nt_sha1);
	a->nt_status = a->si.validation_status;
}

static _Atomic uint64_t certs_skipped;

void app_tls__stats(struct app_tls_stats *out)
{
	struct tls_buffer_stats b;

	out->certs_skipped = atomic_load(&certs_skipped);
	tls__buffer_stats(&b);
	out->handshake_buffer_full = b.full;
}

/* Room for one more certificate from this side (tls_cfg.max_certs_per_dir)? Zeek has no such
 * limit; without it a server sending Certificate messages without end made a files record
 * of each certificate. */
static bool cert_room(struct app_tls *a, bool orig, uint64_t ts)
{
	uint32_t max = a->cfg->max_certs_per_dir ? a->cfg->max_certs_per_dir : 1;
	char addl[16];

	if (a->n_certs[orig] < max) {
		a->n_certs[orig]++;
		return true;
	}
	atomic_fetch_add(&certs_skipped, 1);
	if (a->n_certs[orig] == max) { /* the first one skipped: the weird, once per side */
		a->n_certs[orig]++;
		snprintf(addl, sizeof(addl), "%u", max);
		weird(a, ts, "SSL_too_many_certificates_in_connection", addl);
	}
	return false;
}

static void cb_certificates(void *u, enum mt_dir d, const struct tls_bytes *certs, unsigned n,
			    uint64_t ts)
{
	struct app_tls *a = u;
	/* Zeek passes the record's is_orig to the files framework, and files.zeek sorts the
	 * chains by it (client chain = originator's certificates). */
	bool orig = d == MT_ORIG;

	if (a->done)
		return;
	set_session(a, ts);
	for (unsigned i = 0; i < n; i++) {
		if (certs[i].len == 0) {
			weird(a, ts, "zero_length_certificate", NULL);
			continue;
		}
		if (!cert_room(a, orig, ts))
			continue;
		a->si.have_chains = true;
		one_cert(a, orig, i, certs[i], ts);
	}
	/* validate-certs.zeek: the server's chain, once */
	if (!orig && !a->have_server_chain && a->cfg->certval && n) {
		struct certval_cert cc[CERTVAL_MAX_CHAIN];
		unsigned k = 0;

		for (unsigned i = 0; i < n && k < CERTVAL_MAX_CHAIN; i++)
			if (certs[i].len)
				cc[k++] = (struct certval_cert){certs[i].p, certs[i].len};
		a->si.validation_status = certval__validate(a->cfg->certval, cc, k, ts);
		if (a->si.validation_status && strcmp(a->si.validation_status, "ok") &&
		    notice__enabled() && k)
			invalid_cert_prepare(a, cc[0].der, cc[0].len);
	}
	/* cert_chain[0] is the first server certificate file, parsed or not */
	if (!orig)
		a->have_server_chain = true;
}

static void cb_server_curve(void *u, uint16_t curve, uint64_t ts)
{
	struct app_tls *a = u;

	if (a->done)
		return;
	set_session(a, ts);
	set_curve(a, curve);
}

/* desc: also an SSLv2 error code (level 255), named from the same table as Zeek does */
static void cb_alert(void *u, enum mt_dir d, uint8_t level, uint16_t desc, uint64_t ts)
{
	struct app_tls *a = u;
	char buf[24];

	if (a->done)
		return;
	set_session(a, ts);
	add_history(a, is_client(a, d), 'l', ts);
	snprintf(a->si.last_alert, sizeof(a->si.last_alert), "%s",
		 tls__alert_name(desc, buf, sizeof(buf)));
}

static void cb_ccs(void *u, enum mt_dir d, uint64_t ts)
{
	struct app_tls *a = u;
	bool client = is_client(a, d);

	if (a->done)
		return;
	set_session(a, ts);
	add_history(a, client, 'i', ts);
	if (client && a->ticket_empty_session_seen && !a->client_kex_seen)
		a->si.resumed = true;
}

static void cb_heartbeat(void *u, enum mt_dir d, uint64_t ts)
{
	struct app_tls *a = u;

	if (a->done)
		return;
	set_session(a, ts);
	add_history(a, is_client(a, d), 'b', ts);
}

static void cb_established(void *u, uint64_t ts)
{
	struct app_tls *a = u;

	if (a->done)
		return;
	set_session(a, ts);
	a->si.established = true;
	log_ssl(a, ts);
	known_cert_established(a, ts);
	/* seen/ssl.zeek: ssl_established, the host certificate's CN with its fuid */
	if (a->intel_cn && a->s->rec) {
		struct intel_seen w = {.ts_ns = ts,
				       .where = INTEL_X509_IN_CERT,
				       .uid = a->s->uid,
				       .id = a->s->id,
				       .fuid = a->host_fuid[0] ? a->host_fuid : NULL};

		intel__seen(a->cfg->intel, a->s->rec, &w, INTEL_DOMAIN, a->intel_cn,
			    strlen(a->intel_cn));
	}
	if (a->cfg->disable_after_established) {
		/* Zeek removes the analyzer: the rest of this chunk is not parsed either, so that
		 * nothing depends on where the stream was cut */
		a->done = true;
		tls_parser__stop(a->p);
	}
}

static void cb_weird(void *u, const char *name, const char *addl, uint64_t ts)
{
	struct app_tls *a = u;

	if (!a->done)
		weird(a, ts, name, addl);
}

static void cb_violation(void *u, enum mt_dir d, const char *reason, uint64_t ts)
{
	struct app_tls *a = u;

	if (a->done)
		return;
	/* analyzer_violation_info: analyzer.log, then what we have; the analyzer is removed. */
	if (a->s->analyzer_violation)
		a->s->analyzer_violation(a->s, ts, "SSL", reason, NULL, 0);
	log_ssl(a, ts);
	a->done = true;
	a->failed = true;
}

/* ---------------------------------------------------------------- app_parser_ops */

static void *app_new(struct mt_session *s, const void *cfgp)
{
	static struct tls_cfg defcfg;
	static bool defcfg_init;
	const struct tls_cfg *cfg = cfgp;
	struct app_tls *a;
	struct tls_cb cb = {
	    .record = cb_record,
	    .client_hello = cb_client_hello,
	    .server_hello = cb_server_hello,
	    .handshake = cb_handshake,
	    .certificates = cb_certificates,
	    .server_curve = cb_server_curve,
	    .alert = cb_alert,
	    .ccs = cb_ccs,
	    .heartbeat = cb_heartbeat,
	    .established = cb_established,
	    .weird = cb_weird,
	    .violation = cb_violation,
	};

	if (!cfg) {
		if (!defcfg_init) {
			tls_cfg__default(&defcfg);
			defcfg_init = true;
		}
		cfg = &defcfg;
	}
	a = calloc(1, sizeof(*a));
	if (!a) {
		errno = ENOMEM;
		return NULL;
	}
	a->s = s;
	a->cfg = cfg;
	a->client_dir = MT_ORIG;
	a->si.sni_matches_cert = -1;
	a->sni_match = -1;
	cb.u = a;
	a->p = tls_parser__new(&cb, &cfg->lim);
	if (!a->p) {
		free(a);
		errno = ENOMEM;
		return NULL;
	}
	return a;
}

static ssize_t app_feed(void *p, enum mt_dir d, const uint8_t *buf, size_t len, uint64_t ts)
{
	struct app_tls *a = p;
	ssize_t r;

	if (a->failed)
		return -EPROTO;
	if (a->done)
		return (ssize_t)len;
	r = tls_parser__feed(a->p, d, buf, len, ts);
	if (r < 0 || a->failed) {
		if (!a->failed)
			cb_violation(a, d, "TLS parser error", ts);
		r = -EPROTO;
	} else {
		r = (ssize_t)len;
	}
	if (a->done) {
		/* nothing more to learn from this connection: give the buffers back */
		tls_parser__free(a->p);
		a->p = NULL;
	}
	return r;
}

static void app_gap(void *p, enum mt_dir d, uint64_t len, uint64_t ts)
{
	struct app_tls *a = p;

	if (a->p)
		tls_parser__gap(a->p, d, len);
}

static void app_eof(void *p, enum mt_dir d, uint64_t ts)
{
	struct app_tls *a = p;

	if (a->p)
		tls_parser__eof(a->p, d);
}

/* Connection end: finalize_ssl */
static void app_end(void *p, uint64_t ts)
{
	struct app_tls *a = p;

	log_ssl(a, ts);
	a->done = true;
}

static void app_free(void *p)
{
	struct app_tls *a = p;

	if (!a)
		return;
	tls_parser__free(a->p);
	mt_str__free(&a->si.server_name);
	mt_str__free(&a->si.next_protocol);
	free(a->si.server_fps);
	free(a->si.client_fps);
	if (a->have_host)
		x509_info__free(&a->host);
	free(a->kc_subject);
	free(a->kc_issuer);
	free(a->kc_serial);
	free(a->intel_cn);
	free(a->nt_der);
	free(a);
}

/* Nothing pending: the ssl record is written (at establishment) or there is none to write. */
static bool app_idle(const void *p)
{
	const struct app_tls *a = p;

	return a->logged || !a->have_session;
}

const struct app_parser_ops app_tls_ops = {
    .name = "ssl",
    .max_unit = TLS_MAX_UNIT,
    .new = app_new,
    .feed = app_feed,
    .gap = app_gap,
    .eof = app_eof,
    .end = app_end,
    .idle = app_idle,
    .free = app_free,
};
