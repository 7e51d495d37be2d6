// SPDX-License-Identifier: BSD-3-Clause
/* TLS record layer and handshake parser (see include/mailtap/tls.h).
 *
 * Behaviour follows Zeek's binpac SSL analyzer (the .pac files of src/analyzer/protocol/ssl):
 *  - the record layer is validated as determine_ssl_record_layer() does: the first record fixes
 *    the record-layer version (SSLv3..TLSv12 with a content type 20..30, or SSLv2 hellos); later
 *    records must keep a valid version; anything else is a protocol violation and the parser
 *    stops;
 *  - a direction turns "encrypted" after its ChangeCipherSpec, or on application data when the
 *    server chose a version other than SSLv2..TLSv12 (TLS 1.3, determine_state()); records of an
 *    encrypted direction are ciphertext; ssl_established is raised on the first ciphertext
 *    record once both directions are encrypted;
 *  - handshake messages are reassembled across records and parsed when the record completing
 *    them is complete (binpac parses whole records).
 * Everything is streamed: feed() consumes all bytes; only handshake bytes (bounded by
 * max_handshake_msg plus one record) and SSLv2 records are buffered. */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "mailtap/bits.h"
#include "mailtap/digest.h"
#include "mailtap/tls.h"

#define SSLV20 0x0002
#define SSLV30 0x0300
#define TLSV10 0x0301
#define TLSV11 0x0302
#define TLSV12 0x0303
#define TLSV13 0x0304

/* SSLv2 content types, as Zeek numbers them (head2 + 300). */
#define V2_ERROR 300
#define V2_CLIENT_HELLO 301
#define V2_CLIENT_MASTER_KEY 302
#define V2_SERVER_HELLO 304

#define MAX_RECORD_BODY 65535u

static const uint8_t hrr_random[32] = {
    0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91,
    0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C,
};

struct tls_dir {
	uint8_t hdr[5];
	uint8_t hdr_len;
	bool in_body;	 /* header complete, body bytes pending */
	bool v2;	 /* current record is SSLv2 framed */
	bool cipher_rec; /* current record is ciphertext */
	bool encrypted;	 /* direction switched to ciphertext */
	int type;	 /* content type (SSLv2: 300 + head2) */
	uint16_t raw_version;
	uint32_t rec_len;
	uint32_t left;
	bool ccs_seen_in_rec;
	/* handshake byte stream (and SSLv2 record bodies) */
	uint8_t *hs;
	size_t hs_len, hs_cap;
	uint64_t skip_left; /* bytes of an oversized handshake message still to drop */
	bool skip_done;	    /* an oversized message ended in the current record */
	uint8_t skip_type;
	uint32_t skip_msg_len;
};

struct tls_parser {
	struct tls_cb cb;
	struct tls_limits lim;
	struct tls_stats st;
	struct tls_dir dir[2];
	uint16_t record_layer_version; /* 0 = unknown */
	uint16_t chosen_version;       /* 0 = unknown */
	uint32_t chosen_cipher;
	bool have_cipher;
	bool failed;
	bool had_gap;
	bool established;
	bool stopped; /* tls_parser__stop() */
	/* scratch lists for the hello being parsed */
	uint32_t *ciphers;
	uint16_t *exts, *groups, *sig_algs, *versions, *key_shares;
	uint8_t *point_formats;
	struct tls_bytes *certs;
};

void tls_limits__default(struct tls_limits *l)
{
	l->max_handshake_msg = 262144;
	l->max_list = 256;
	l->max_certs = 32;
	l->max_alerts_per_record = 10;
	l->max_handshake_total = 64ull << 20;
}

/* Every parser's handshake buffer bytes (tls_limits.max_handshake_total), and refusals. */
static _Atomic uint64_t hs_bytes, hs_full;

void tls__buffer_stats(struct tls_buffer_stats *out)
{
	out->bytes = atomic_load(&hs_bytes);
	out->full = atomic_load(&hs_full);
}

/* An empty buffer over this size is given back at the end of a record. */
#define HS_KEEP (16u << 10)

static void hs_release(struct tls_dir *s)
{
	free(s->hs);
	atomic_fetch_sub(&hs_bytes, s->hs_cap);
	s->hs = NULL;
	s->hs_cap = 0;
	s->hs_len = 0;
}

/* ---------------------------------------------------------------- names */

struct name16 {
	uint32_t v;
	const char *name;
};

static const struct name16 version_names[] = {
#define TLS_VERSION(v, n) {v, n},
#include "tls_names.def"
};
static const struct name16 cipher_names[] = {
#define TLS_CIPHER(v, n) {v, n},
#include "tls_names.def"
};
static const struct name16 curve_names[] = {
#define TLS_CURVE(v, n) {v, n},
#include "tls_names.def"
};
static const struct name16 alert_names[] = {
#define TLS_ALERT(v, n) {v, n},
#include "tls_names.def"
};

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static const char *lookup(const struct name16 *t, size_t n, uint32_t v)
{
	for (size_t i = 0; i < n; i++)
		if (t[i].v == v)
			return t[i].name;
	return NULL;
}

bool tls__is_grease(uint32_t v)
{
	return v <= 0xffff && (v & 0x0f0f) == 0x0a0a && (v >> 8) == (v & 0xff);
}

static const char *unknown(uint32_t v, char *buf, size_t len)
{
	snprintf(buf, len, "unknown-%u", v);
	return buf;
}

const char *tls__version_name(uint16_t v, char *buf, size_t len)
{
	const char *n = lookup(version_names, ARRAY_SIZE(version_names), v);

	if (n)
		return n;
	if (v / 0xFF == 0x7F) { /* TLS 1.3 draft, as Zeek's &default */
		snprintf(buf, len, "TLSv13-draft%u", (unsigned)(v % 0x7F));
		return buf;
	}
	return unknown(v, buf, len);
}

/* A name from T, else grease_0xNNNN for a GREASE value (RFC 8701), else unknown-N. */
static const char *name_or_grease(const struct name16 *t, size_t n, uint32_t v, char *buf,
				  size_t len)
{
	const char *name = lookup(t, n, v);

	if (name)
		return name;
	if (tls__is_grease(v)) {
		snprintf(buf, len, "grease_0x%04X", v);
		return buf;
	}
	return unknown(v, buf, len);
}

const char *tls__cipher_name(uint32_t c, char *buf, size_t len)
{
	return name_or_grease(cipher_names, ARRAY_SIZE(cipher_names), c, buf, len);
}

const char *tls__curve_name(uint16_t c, char *buf, size_t len)
{
	return name_or_grease(curve_names, ARRAY_SIZE(curve_names), c, buf, len);
}

/* Also SSLv2 error codes (16 bit): Zeek's alert_descriptions has a default of "unknown-N". */
const char *tls__alert_name(uint16_t a, char *buf, size_t len)
{
	const char *n = lookup(alert_names, ARRAY_SIZE(alert_names), a);

	return n ? n : unknown(a, buf, len);
}

/* ---------------------------------------------------------------- probe */

int tls__probe(const uint8_t *buf, size_t len)
{
	if (len == 0)
		return -EAGAIN;
	if (buf[0] == TLS_CT_HANDSHAKE) {
		if (len < 2)
			return -EAGAIN;
		if (buf[1] != 0x03)
			return 0;
		if (len < 3)
			return -EAGAIN;
		if (buf[2] > 0x04)
			return 0;
		if (len < 6)
			return -EAGAIN;
		if ((buf[3] << 8 | buf[4]) == 0)
			return 0;
		return (buf[5] == 1 || buf[5] == 2) ? 1 : 0;
	}
	if (buf[0] & 0x80) { /* SSLv2 CLIENT-HELLO with a 2-byte header */
		if (len < 5)
			return -EAGAIN;
		uint16_t v = (uint16_t)(buf[3] << 8 | buf[4]);
		uint16_t rl = (uint16_t)((buf[0] & 0x7f) << 8 | buf[1]);

		if (buf[2] != 0x01 || rl < 9)
			return 0;
		return (v == SSLV20 || (v >= SSLV30 && v <= TLSV12)) ? 1 : 0;
	}
	return 0;
}

/* ---------------------------------------------------------------- helpers */

static void weird(struct tls_parser *p, const char *name, const char *addl, uint64_t ts)
{
	if (p->cb.weird)
		p->cb.weird(p->cb.u, name, addl, ts);
}

static void violation(struct tls_parser *p, enum mt_dir d, const char *reason, uint64_t ts)
{
	if (p->failed)
		return;
	p->failed = true;
	if (p->cb.violation)
		p->cb.violation(p->cb.u, d, reason, ts);
}

static const char *orig_label(enum mt_dir d)
{
	return d == MT_ORIG ? "originator" : "responder";
}

static bool version_ok(uint16_t v)
{
	if (v >> 8 == 0x7F)
		return true;
	switch (v) {
	case SSLV20:
	case SSLV30:
	case TLSV10:
	case TLSV11:
	case TLSV12:
	case TLSV13:
	case 0xFEFF:
	case 0xFEFD:
	case 0xFEFC:
		return true;
	default:
		return false;
	}
}

static bool is_pre13(uint16_t v)
{
	return v == SSLV20 || v == SSLV30 || v == TLSV10 || v == TLSV11 || v == TLSV12;
}

/* A bounds-checked reader over one message. */
struct rd {
	const uint8_t *p;
	size_t len, off;
	bool bad;
};

static bool rd_need(struct rd *r, size_t n)
{
	if (r->bad || r->len - r->off < n) {
		r->bad = true;
		return false;
	}
	return true;
}

static uint32_t rd_u8(struct rd *r)
{
	if (!rd_need(r, 1))
		return 0;
	return r->p[r->off++];
}

static uint32_t rd_u16(struct rd *r)
{
	if (!rd_need(r, 2))
		return 0;
	uint32_t v = (uint32_t)r->p[r->off] << 8 | r->p[r->off + 1];
	r->off += 2;
	return v;
}

static uint32_t rd_u24(struct rd *r)
{
	if (!rd_need(r, 3))
		return 0;
	uint32_t v =
	    (uint32_t)r->p[r->off] << 16 | (uint32_t)r->p[r->off + 1] << 8 | r->p[r->off + 2];
	r->off += 3;
	return v;
}

static struct tls_bytes rd_bytes(struct rd *r, size_t n)
{
	struct tls_bytes b = {NULL, 0};

	if (!rd_need(r, n))
		return b;
	b.p = r->p + r->off;
	b.len = n;
	r->off += n;
	return b;
}

static struct rd rd_sub(struct tls_bytes b)
{
	struct rd r = {b.p, b.len, 0, b.p == NULL && b.len != 0};

	return r;
}

/* ---------------------------------------------------------------- hellos */

/* Appends v to a list capped at max_list; flags truncation. */
/* v is evaluated exactly once, full list or not: callers pass cursor reads (rd_u16(&r)) that
 * must advance whether the value is kept or not (a full list once stopped the cursor:
 * an endless loop, found by fuzz_tls). */
#define LIST_ADD(p, arr, n, v, trunc)                                                              \
	do {                                                                                       \
		uint32_t list_add_v_ = (uint32_t)(v);                                              \
		if ((n) < (p)->lim.max_list)                                                       \
			(arr)[(n)++] = list_add_v_;                                                \
		else                                                                               \
			(trunc) = true;                                                            \
	} while (0)

static void client_ext(struct tls_parser *p, struct tls_client_hello *h, uint16_t type,
		       struct tls_bytes body, uint64_t ts)
{
	struct rd r = rd_sub(body);

	switch (type) {
	case 0: { /* server_name */
		if (body.len == 0) {
			h->sni_empty = true;
			break;
		}
		uint32_t l = rd_u16(&r);
		struct rd lr = rd_sub(h->sni_list = rd_bytes(&r, l));

		while (!lr.bad && lr.off < lr.len) {
			size_t at = lr.off;
			uint32_t nt = rd_u8(&lr);
			struct tls_bytes name;

			/* Zeek's ServerName: an unknown name type has no length, its data is the
			 * rest of the list (&restofdata): no name after it is seen */
			if (nt != 0) {
				char buf[16];

				snprintf(buf, sizeof(buf), "%u", nt);
				weird(p, "ssl_ext_unknown_server_name_type", buf, ts);
				h->sni_list.len = at;
				break;
			}
			name = rd_bytes(&lr, rd_u16(&lr));
			if (lr.bad)
				break;
			if (h->n_sni++ == 0)
				h->sni = name;
		}
		break;
	}
	case 10: { /* supported_groups */
		uint32_t l = rd_u16(&r);
		struct rd lr = rd_sub(rd_bytes(&r, l));

		while (!lr.bad && lr.len - lr.off >= 2)
			LIST_ADD(p, p->groups, h->n_groups, (uint16_t)rd_u16(&lr), h->truncated);
		break;
	}
	case 11: { /* ec_point_formats */
		uint32_t l = rd_u8(&r);
		struct rd lr = rd_sub(rd_bytes(&r, l));

		while (!lr.bad && lr.off < lr.len)
			LIST_ADD(p, p->point_formats, h->n_point_formats, (uint8_t)rd_u8(&lr),
				 h->truncated);
		break;
	}
	case 13: { /* signature_algorithms */
		uint32_t l = rd_u16(&r);
		struct rd lr = rd_sub(rd_bytes(&r, l));

		while (!lr.bad && lr.len - lr.off >= 2)
			LIST_ADD(p, p->sig_algs, h->n_sig_algs, (uint16_t)rd_u16(&lr),
				 h->truncated);
		break;
	}
	case 16: { /* ALPN */
		uint32_t l = rd_u16(&r);
		struct rd lr = rd_sub(rd_bytes(&r, l));

		while (!lr.bad && lr.off < lr.len) {
			struct tls_bytes proto = rd_bytes(&lr, rd_u8(&lr));

			if (lr.bad)
				break;
			if (h->n_alpn++ == 0)
				h->alpn_first = proto;
		}
		break;
	}
	case 35: /* session_ticket */
		h->has_ticket = true;
		h->ticket = body;
		break;
	case 41:
		h->has_psk = true;
		break;
	case 43: { /* supported_versions (client: list) */
		uint32_t l = rd_u8(&r);
		struct rd lr = rd_sub(rd_bytes(&r, l));

		while (!lr.bad && lr.len - lr.off >= 2)
			LIST_ADD(p, p->versions, h->n_versions, (uint16_t)rd_u16(&lr),
				 h->truncated);
		break;
	}
	case 51: { /* key_share (client: list of entries) */
		uint32_t l = rd_u16(&r);
		struct rd lr = rd_sub(rd_bytes(&r, l));

		while (!lr.bad && lr.off < lr.len) {
			uint16_t g = (uint16_t)rd_u16(&lr);

			rd_bytes(&lr, rd_u16(&lr));
			if (lr.bad)
				break;
			LIST_ADD(p, p->key_shares, h->n_key_shares, g, h->truncated);
		}
		break;
	}
	default:
		break;
	}
}

static int parse_extensions(struct tls_parser *p, struct rd *r, bool client, void *hello,
			    uint64_t ts)
{
	struct tls_client_hello *ch = client ? hello : NULL;
	struct tls_server_hello *sh = client ? NULL : hello;
	uint16_t *exts = p->exts;
	unsigned *n = client ? &ch->n_exts : &sh->n_exts;
	bool *trunc = client ? &ch->truncated : &(bool){false};

	if (r->off >= r->len)
		return 0;
	if (client)
		ch->has_extensions = true;
	else
		sh->has_extensions = true;
	uint32_t total = rd_u16(r);
	struct rd er = rd_sub(rd_bytes(r, total));

	if (r->bad)
		return -EINVAL;
	while (er.off < er.len) {
		uint16_t type = (uint16_t)rd_u16(&er);
		struct tls_bytes body = rd_bytes(&er, rd_u16(&er));

		if (er.bad)
			return -EINVAL;
		LIST_ADD(p, exts, *n, type, *trunc);
		if (client) {
			client_ext(p, ch, type, body, ts);
			continue;
		}
		struct rd br = rd_sub(body);

		switch (type) {
		case 11: {
			uint32_t l = rd_u8(&br);
			struct rd lr = rd_sub(rd_bytes(&br, l));

			while (!lr.bad && lr.off < lr.len && sh->n_point_formats < p->lim.max_list)
				p->point_formats[sh->n_point_formats++] = (uint8_t)rd_u8(&lr);
			sh->point_formats = p->point_formats;
			break;
		}
		case 16: {
			uint32_t l = rd_u16(&br);
			struct rd lr = rd_sub(rd_bytes(&br, l));
			struct tls_bytes proto = rd_bytes(&lr, rd_u8(&lr));

			if (!lr.bad) {
				sh->alpn = proto;
				sh->has_alpn = true;
			}
			break;
		}
		case 41:
			sh->has_psk = true;
			break;
		case 43: {
			uint16_t v = (uint16_t)rd_u16(&br);

			if (!br.bad)
				sh->selected_version = v;
			break;
		}
		case 51: {
			uint16_t g = (uint16_t)rd_u16(&br);

			if (!br.bad) {
				sh->has_key_share = true;
				sh->key_share_group = g;
			}
			break;
		}
		default:
			break;
		}
	}
	return 0;
}

static int client_hello(struct tls_parser *p, enum mt_dir d, struct rd *r, uint16_t rec_version,
			uint64_t ts)
{
	struct tls_client_hello h;

	memset(&h, 0, sizeof(h));
	h.record_version = rec_version;
	h.version = (uint16_t)rd_u16(r);
	h.random = rd_bytes(r, 32);
	h.session_id = rd_bytes(r, rd_u8(r));
	uint32_t cl = rd_u16(r);
	struct rd cr = rd_sub(rd_bytes(r, cl));

	while (!cr.bad && cr.len - cr.off >= 2)
		LIST_ADD(p, p->ciphers, h.n_ciphers, rd_u16(&cr), h.truncated);
	struct tls_bytes comp = rd_bytes(r, rd_u8(r));

	if (r->bad)
		return -EINVAL;
	h.compression = comp.p;
	h.n_compression = (unsigned)comp.len;
	h.ciphers = p->ciphers;
	h.exts = p->exts;
	h.groups = p->groups;
	h.point_formats = p->point_formats;
	h.sig_algs = p->sig_algs;
	h.versions = p->versions;
	h.key_shares = p->key_shares;
	if (parse_extensions(p, r, true, &h, ts) < 0)
		return -EINVAL;
	if (h.truncated) {
		p->st.lists_truncated++;
		weird(p, "SSL_hello_list_truncated", NULL, ts);
	}
	if (!version_ok(h.version)) {
		char buf[64];

		snprintf(buf, sizeof(buf), "unsupported client SSL version 0x%04x", h.version);
		violation(p, d, buf, ts);
		return 0;
	}
	if (p->cb.client_hello)
		p->cb.client_hello(p->cb.u, d, &h, ts);
	return 0;
}

static int server_hello(struct tls_parser *p, enum mt_dir d, struct rd *r, uint16_t rec_version,
			uint64_t ts)
{
	struct tls_server_hello h;
	bool v13;

	memset(&h, 0, sizeof(h));
	h.record_version = rec_version;
	h.version = (uint16_t)rd_u16(r);
	/* Zeek's ServerHelloChoice: a legacy version of TLS 1.3 or one of its drafts is
	 * ServerHello13, without session id and compression */
	v13 = h.version >> 8 == 0x7F || h.version == TLSV13;
	h.random = rd_bytes(r, 32);
	if (!v13)
		h.session_id = rd_bytes(r, rd_u8(r));
	h.cipher = rd_u16(r);
	if (!v13)
		h.compression = (uint8_t)rd_u8(r);
	if (r->bad)
		return -EINVAL;
	h.exts = p->exts;
	if (parse_extensions(p, r, false, &h, ts) < 0)
		return -EINVAL;
	h.is_hrr = h.random.len == 32 && memcmp(h.random.p, hrr_random, 32) == 0;
	if (!version_ok(h.version)) {
		char buf[64];

		snprintf(buf, sizeof(buf), "unsupported server SSL version 0x%04x", h.version);
		violation(p, d, buf, ts);
		return 0;
	}
	p->chosen_version = h.selected_version ? h.selected_version : h.version;
	p->chosen_cipher = h.cipher;
	p->have_cipher = true;
	if (p->cb.server_hello)
		p->cb.server_hello(p->cb.u, d, &h, ts);
	return 0;
}

static void certificates(struct tls_parser *p, enum mt_dir d, struct rd *r, uint64_t ts)
{
	uint32_t total = rd_u24(r);
	struct rd lr = rd_sub(rd_bytes(r, total));
	unsigned n = 0;

	if (r->bad) {
		weird(p, "SSL_malformed_certificate_message", NULL, ts);
		return;
	}
	while (!lr.bad && lr.off < lr.len) {
		struct tls_bytes c = rd_bytes(&lr, rd_u24(&lr));

		if (lr.bad)
			break;
		if (n < p->lim.max_certs) {
			p->certs[n++] = c;
		} else {
			p->st.certs_dropped++;
			if (p->st.certs_dropped == 1)
				weird(p, "SSL_too_many_certificates", NULL, ts);
		}
	}
	if (n && p->cb.certificates)
		p->cb.certificates(p->cb.u, d, p->certs, n, ts);
}

/* The suites whose ServerKeyExchange Zeek reads for a named curve: the ECDHE and ECDH-anon
 * cases of its ServerKeyExchange (tls-handshake-protocol.pac), exactly. Not the other suites
 * with such a name (TLS_ECDHE_PSK_WITH_AES_128_GCM_SHA256, ..._CHACHA20_POLY1305_SHA256_OLD)
 * nor CECPQ1's: no curve for them, as in Zeek. */
static const uint16_t zeek_ecdh_suites[] = {
	0xC006, 0xC007, 0xC008, 0xC009, 0xC00A, 0xC010, 0xC011, 0xC012, 0xC013, 0xC014, 0xC015,
	0xC016, 0xC017, 0xC018, 0xC019, 0xC023, 0xC024, 0xC027, 0xC028, 0xC02B, 0xC02C, 0xC02F,
	0xC030, 0xC033, 0xC034, 0xC035, 0xC036, 0xC037, 0xC038, 0xC039, 0xC03A, 0xC03B, 0xC048,
	0xC049, 0xC04C, 0xC04D, 0xC05C, 0xC05D, 0xC060, 0xC061, 0xC070, 0xC071, 0xC072, 0xC073,
	0xC076, 0xC077, 0xC086, 0xC087, 0xC08A, 0xC08B, 0xC09A, 0xC09B, 0xC0AC, 0xC0AD, 0xC0AE,
	0xC0AF, 0xCCA8, 0xCCA9,
};

static bool cipher_is_ecdh_named(uint32_t c)
{
	for (size_t i = 0; i < sizeof(zeek_ecdh_suites) / sizeof(zeek_ecdh_suites[0]); i++)
		if (zeek_ecdh_suites[i] == c)
			return true;
	return false;
}

static bool known_hs_type(uint8_t t)
{
	switch (t) {
	case 0:
	case 1:
	case 2:
	case 3:
	case 4:
	case 5:
	case 6:
	case 8:
	case 11:
	case 12:
	case 13:
	case 14:
	case 15:
	case 16:
	case 20:
	case 21:
	case 22:
	case 23:
	case 24:
	case 25:
	case 26:
	case 254:
		return true;
	default:
		return false;
	}
}

/* One complete handshake message. */
static void handshake_msg(struct tls_parser *p, enum mt_dir d, uint8_t type, const uint8_t *body,
			  uint32_t len, uint16_t rec_version, uint64_t ts)
{
	struct rd r = {body, len, 0, false};
	int err = 0;

	p->st.handshake_msgs++;
	switch (type) {
	case 1:
		err = client_hello(p, d, &r, rec_version, ts);
		break;
	case 2:
		err = server_hello(p, d, &r, rec_version, ts);
		break;
	case 11:
		certificates(p, d, &r, ts);
		break;
	case 12:
		if (p->have_cipher && cipher_is_ecdh_named(p->chosen_cipher)) {
			uint32_t ctype = rd_u8(&r);
			uint16_t curve = (uint16_t)rd_u16(&r);

			if (!r.bad && ctype == 3 && p->cb.server_curve)
				p->cb.server_curve(p->cb.u, curve, ts);
		}
		break;
	case 16:
		if (p->cb.client_key_exchange)
			p->cb.client_key_exchange(p->cb.u, d, ts);
		break;
	default:
		break;
	}
	if (err < 0) {
		char buf[80];

		snprintf(buf, sizeof(buf),
			 "Binpac exception: malformed handshake message %u from %s", type,
			 orig_label(d));
		violation(p, d, buf, ts);
	}
	if (p->failed)
		return;
	if (p->cb.handshake)
		p->cb.handshake(p->cb.u, d, type, len, ts);
	if (!known_hs_type(type)) {
		char buf[64];

		snprintf(buf, sizeof(buf), "unknown handshake message (%u) from %s", type,
			 orig_label(d));
		violation(p, d, buf, ts);
	}
}

/* ---------------------------------------------------------------- buffering */

static int hs_append(struct tls_parser *p, struct tls_dir *s, const uint8_t *buf, size_t n)
{
	size_t bound = (size_t)p->lim.max_handshake_msg + 4 + MAX_RECORD_BODY;

	if (n == 0)
		return 0;
	if (s->hs_len + n > bound)
		return -ENOBUFS; /* cannot happen: messages are cut at max_handshake_msg */
	if (s->hs_len + n > s->hs_cap) {
		size_t cap = s->hs_cap ? s->hs_cap : 1024;

		while (cap < s->hs_len + n)
			cap *= 2;
		if (cap > bound)
			cap = bound;
		uint64_t more = cap - s->hs_cap, total = p->lim.max_handshake_total;

		/* up to HS_KEEP always (the first record is parsed: the ssl record is written) */
		if (atomic_fetch_add(&hs_bytes, more) + more > total && total && cap > HS_KEEP) {
			atomic_fetch_sub(&hs_bytes, more);
			atomic_fetch_add(&hs_full, 1);
			return -ENOBUFS;
		}
		uint8_t *nb = realloc(s->hs, cap);

		if (!nb) {
			atomic_fetch_sub(&hs_bytes, more);
			return -ENOMEM;
		}
		s->hs = nb;
		s->hs_cap = cap;
	}
	memcpy(s->hs + s->hs_len, buf, n);
	s->hs_len += n;
	return 0;
}

/* Parses every complete handshake message in the buffer (called at record end). */
static void hs_process(struct tls_parser *p, enum mt_dir d, uint64_t ts)
{
	struct tls_dir *s = &p->dir[d];
	size_t off = 0;

	if (s->skip_done) {
		s->skip_done = false;
		p->st.handshake_msgs++;
		if (p->cb.handshake)
			p->cb.handshake(p->cb.u, d, s->skip_type, s->skip_msg_len, ts);
	}
	while (!p->failed && s->hs_len - off >= 4) {
		const uint8_t *m = s->hs + off;
		uint32_t mlen = (uint32_t)m[1] << 16 | (uint32_t)m[2] << 8 | m[3];

		if (mlen > p->lim.max_handshake_msg) {
			/* Drop it; report its type when its last byte has gone by. */
			size_t have = s->hs_len - off - 4;

			p->st.hs_too_large++;
			weird(p, "SSL_handshake_message_too_large", NULL, ts);
			s->skip_type = m[0];
			s->skip_msg_len = mlen;
			if (have >= mlen) {
				off += 4 + mlen;
				p->st.handshake_msgs++;
				if (p->cb.handshake)
					p->cb.handshake(p->cb.u, d, m[0], mlen, ts);
				continue;
			}
			s->skip_left = mlen - have;
			off = s->hs_len;
			break;
		}
		if (s->hs_len - off - 4 < mlen)
			break;
		handshake_msg(p, d, m[0], m + 4, mlen, s->raw_version, ts);
		off += 4 + mlen;
	}
	if (off) {
		memmove(s->hs, s->hs + off, s->hs_len - off);
		s->hs_len -= off;
	}
	if (!s->hs_len && s->hs_cap > HS_KEEP)
		hs_release(s);
}

/* ---------------------------------------------------------------- SSLv2 */

static void v2_record(struct tls_parser *p, enum mt_dir d, uint64_t ts)
{
	struct tls_dir *s = &p->dir[d];
	struct rd r = {s->hs, s->hs_len, 0, false};

	if (s->type == V2_CLIENT_HELLO) {
		struct tls_client_hello h;

		memset(&h, 0, sizeof(h));
		h.record_version = 0;
		h.version = SSLV20; /* Zeek passes the record-layer result, SSLv20 */
		uint32_t cl = rd_u16(&r), sl = rd_u16(&r), chl = rd_u16(&r);
		struct rd cr = rd_sub(rd_bytes(&r, cl));

		h.session_id = rd_bytes(&r, sl);
		h.random = rd_bytes(&r, chl);
		if (r.bad) {
			violation(p, d, "Binpac exception: malformed SSLv2 client hello", ts);
			return;
		}
		while (!cr.bad && cr.len - cr.off >= 3)
			LIST_ADD(p, p->ciphers, h.n_ciphers, rd_u24(&cr), h.truncated);
		h.ciphers = p->ciphers;
		h.exts = p->exts;
		if (p->cb.client_hello)
			p->cb.client_hello(p->cb.u, d, &h, ts);
	} else if (s->type == V2_SERVER_HELLO) {
		struct tls_server_hello h;

		memset(&h, 0, sizeof(h));
		h.v2 = true;
		h.version = (uint16_t)rd_u16(&r);
		uint32_t certl = rd_u16(&r), ciphl = rd_u16(&r), connl = rd_u16(&r);
		struct tls_bytes cert = rd_bytes(&r, certl);
		struct rd cr = rd_sub(rd_bytes(&r, ciphl));

		h.random = rd_bytes(&r, connl);
		if (r.bad) {
			violation(p, d, "Binpac exception: malformed SSLv2 server hello", ts);
			return;
		}
		if (h.version != SSLV20) {
			char buf[64];

			snprintf(buf, sizeof(buf),
				 "Invalid version in SSL server hello. Version: %u", h.version);
			violation(p, d, buf, ts);
			return;
		}
		if (cr.len >= 3)
			h.cipher = rd_u24(&cr);
		h.exts = p->exts;
		p->chosen_version = SSLV20;
		p->chosen_cipher = h.cipher;
		p->have_cipher = true;
		if (p->cb.server_hello)
			p->cb.server_hello(p->cb.u, d, &h, ts);
		if (cert.len && p->cb.certificates && !p->failed)
			p->cb.certificates(p->cb.u, d, &cert, 1, ts);
	} else if (s->type == V2_CLIENT_MASTER_KEY) {
		/* Encryption starts for both sides; Zeek raises ssl_established here. */
		p->dir[MT_ORIG].encrypted = p->dir[MT_RESP].encrypted = true;
		if (!p->established) {
			p->established = true;
			if (p->cb.established)
				p->cb.established(p->cb.u, ts);
		}
	} else if (s->type == V2_ERROR) {
		/* V2Error: error_code = (head3 << 8) | head4, reported as proc_alert(rec, -1,
		 * error_code) */
		uint16_t code = (uint16_t)(s->hdr[3] << 8 | s->hdr[4]);

		if (p->cb.alert)
			p->cb.alert(p->cb.u, d, 255, code, ts);
	} else {
		char buf[64];

		snprintf(buf, sizeof(buf), "unknown SSL record type (%d) from %s", s->type,
			 orig_label(d));
		violation(p, d, buf, ts);
	}
	s->hs_len = 0;
}

/* ---------------------------------------------------------------- records */

/* determine_ssl_record_layer(): validates the 5 header bytes and sets up the record. */
static int start_record(struct tls_parser *p, enum mt_dir d, uint64_t ts)
{
	struct tls_dir *s = &p->dir[d];
	const uint8_t *h = s->hdr;
	uint16_t version = (uint16_t)(h[1] << 8 | h[2]);
	char buf[128];
	bool v2;

	if (p->record_layer_version && p->record_layer_version != SSLV20) {
		if (version < SSLV30 || version > TLSV12) {
			snprintf(
			    buf, sizeof(buf),
			    "Invalid version late in TLS connection. Packet reported version: %u",
			    version);
			violation(p, d, buf, ts);
			return -EPROTO;
		}
	}
	if (p->record_layer_version) {
		v2 = p->record_layer_version == SSLV20;
	} else if (h[0] & 0x80) {
		uint16_t cv = (uint16_t)(h[3] << 8 | h[4]);

		if (h[2] == 0x01 && d == MT_ORIG) {
			if (cv != SSLV20 && (cv < SSLV30 || cv > TLSV12)) {
				snprintf(buf, sizeof(buf),
					 "Invalid version in SSL client hello. Version: %u", cv);
				violation(p, d, buf, ts);
				return -EPROTO;
			}
		} else if (h[2] == 0x04 && h[4] < 2 && d == MT_RESP) {
			p->record_layer_version = SSLV20;
		} else {
			snprintf(
			    buf, sizeof(buf),
			    "Invalid headers in SSL connection. Head1: %u, head2: %u, head3: %u",
			    h[1], h[2], h[3]);
			violation(p, d, buf, ts);
			return -EPROTO;
		}
		v2 = true;
	} else {
		if (version < SSLV30 || version > TLSV12) {
			snprintf(buf, sizeof(buf), "Invalid version in TLS connection. Version: %u",
				 version);
			violation(p, d, buf, ts);
			return -EPROTO;
		}
		if (h[0] < 20 || h[0] > 30) {
			snprintf(buf, sizeof(buf),
				 "Invalid type in TLS connection. Version: %u, Type: %u", version,
				 h[0]);
			violation(p, d, buf, ts);
			return -EPROTO;
		}
		p->record_layer_version = version;
		v2 = false;
	}
	s->v2 = v2;
	if (v2) {
		int l = ((h[0] & 0x7f) << 8 | h[1]) - 3;

		if (l < 0) {
			violation(p, d, "Binpac exception: negative SSLv2 record length", ts);
			return -EPROTO;
		}
		s->type = 300 + h[2];
		s->raw_version = 0;
		s->rec_len = (uint32_t)l;
	} else {
		s->type = h[0];
		s->raw_version = version;
		s->rec_len = (uint32_t)(h[3] << 8 | h[4]);
	}
	s->left = s->rec_len;
	s->in_body = true;
	s->ccs_seen_in_rec = false;
	/* determine_state() */
	if (!s->encrypted && s->type == TLS_CT_APPDATA && !v2 && !is_pre13(p->chosen_version))
		s->encrypted = true;
	s->cipher_rec = s->encrypted;
	if (v2 && !s->cipher_rec) {
		if (s->rec_len > p->lim.max_handshake_msg) {
			violation(p, d, "SSLv2 record exceeds max_handshake_msg", ts);
			return -EPROTO;
		}
		s->hs_len = 0;
	}
	return 0;
}

/* The alert record b[0..len) as Zeek's Alerts: the bytes of at most max_alerts_per_record
 * alerts (of one under TLS 1.3, cap_alert_messages_length) are parsed, the rest skipped with
 * weird SSL_excessive_alerts_in_record (addl: the record's length / 2); an alert cut by the
 * end of those bytes throws binpac's out_of_bound after the alerts before it: a violation
 * with SSL.cc's text for a binpac exception. */
static void alert_record(struct tls_parser *p, enum mt_dir d, const uint8_t *b, size_t len,
			 uint64_t ts)
{
	uint16_t v = p->chosen_version;
	size_t max = (size_t)p->lim.max_alerts_per_record * 2;

	if (v == TLSV13 || v >> 8 == 0x7F)
		max = 2;
	if (len > max) {
		char buf[16];

		snprintf(buf, sizeof(buf), "%zu", len / 2);
		weird(p, "SSL_excessive_alerts_in_record", buf, ts);
		p->st.alerts_dropped += (len - max) / 2;
		len = max;
	}
	for (size_t i = 0; i + 1 < len && !p->failed; i += 2)
		if (p->cb.alert)
			p->cb.alert(p->cb.u, d, b[i], b[i + 1], ts);
	if (len % 2)
		violation(p, d, "Binpac exception: binpac exception: out_of_bound: Alert: 2 > 1", ts);
}

/* Plaintext body bytes; alerts and CCS are reported at record end (binpac parses whole
 * records), handshake bytes are buffered. */
static int body_bytes(struct tls_parser *p, enum mt_dir d, const uint8_t *buf, size_t n)
{
	struct tls_dir *s = &p->dir[d];

	if (s->cipher_rec)
		return 0;
	if (s->v2)
		return hs_append(p, s, buf, n);
	if (s->type != TLS_CT_HANDSHAKE && s->type != TLS_CT_ALERT)
		return 0;
	if (s->type == TLS_CT_ALERT) {
		/* Alerts: buffered in hs too (small, bounded by the record). */
		return hs_append(p, s, buf, n);
	}
	while (n && s->skip_left) {
		size_t k = n < s->skip_left ? n : (size_t)s->skip_left;

		s->skip_left -= k;
		buf += k;
		n -= k;
		if (!s->skip_left)
			s->skip_done = true;
	}
	return n ? hs_append(p, s, buf, n) : 0;
}

static void end_record(struct tls_parser *p, enum mt_dir d, uint64_t ts)
{
	struct tls_dir *s = &p->dir[d];
	int type = s->type;

	s->in_body = false;
	s->hdr_len = 0;
	p->st.records++;
	if (p->cb.record)
		p->cb.record(p->cb.u, d, (uint8_t)(type >= 300 ? 0 : type), s->raw_version,
			     s->rec_len, s->cipher_rec, ts);
	if (p->failed)
		return;
	if (s->cipher_rec) {
		if (p->dir[MT_ORIG].encrypted && p->dir[MT_RESP].encrypted && !p->established) {
			p->established = true;
			if (p->cb.established)
				p->cb.established(p->cb.u, ts);
		}
		return;
	}
	if (s->v2) {
		v2_record(p, d, ts);
		return;
	}
	switch (type) {
	case TLS_CT_HANDSHAKE:
		hs_process(p, d, ts);
		break;
	case TLS_CT_ALERT: {
		/* The alert bytes were collected at the front of hs by body_bytes(); handshake
		 * bytes never share a record with them. */
		size_t base = s->hs_len - s->rec_len;

		/* an empty alert record with nothing buffered: hs may still be NULL */
		alert_record(p, d, s->hs ? s->hs + base : NULL, s->rec_len, ts);
		s->hs_len = base;
		break;
	}
	case TLS_CT_CCS:
		s->encrypted = true;
		if (p->cb.ccs)
			p->cb.ccs(p->cb.u, d, ts);
		break;
	case TLS_CT_HEARTBEAT:
		if (p->cb.heartbeat)
			p->cb.heartbeat(p->cb.u, d, ts);
		break;
	case TLS_CT_APPDATA:
		break;
	default: {
		char buf[64];

		snprintf(buf, sizeof(buf), "unknown SSL record type (%d) from %s", type,
			 orig_label(d));
		violation(p, d, buf, ts);
		break;
	}
	}
}

ssize_t tls_parser__feed(struct tls_parser *p, enum mt_dir d, const uint8_t *buf, size_t len,
			 uint64_t ts_ns)
{
	struct tls_dir *s;
	size_t i = 0;

	if (!p || (d != MT_ORIG && d != MT_RESP))
		return -EINVAL;
	if (p->failed)
		return -EPROTO;
	if (p->had_gap || p->stopped)
		return (ssize_t)len;
	s = &p->dir[d];
	while (i < len) {
		if (!s->in_body) {
			size_t k = 5 - s->hdr_len;

			if (k > len - i)
				k = len - i;
			memcpy(s->hdr + s->hdr_len, buf + i, k);
			s->hdr_len += (uint8_t)k;
			i += k;
			if (s->hdr_len < 5)
				break;
			if (start_record(p, d, ts_ns) < 0)
				return -EPROTO;
		}
		if (s->left) {
			size_t k = s->left;

			if (k > len - i)
				k = len - i;
			int err = body_bytes(p, d, buf + i, k);

			if (err < 0) {
				violation(p, d, "handshake buffer exhausted", ts_ns);
				return -EPROTO;
			}
			s->left -= (uint32_t)k;
			i += k;
		}
		if (!s->left) {
			end_record(p, d, ts_ns);
			if (p->failed)
				return -EPROTO;
			if (p->stopped) /* the rest of the chunk is not parsed */
				return (ssize_t)len;
		}
	}
	return (ssize_t)len;
}

void tls_parser__stop(struct tls_parser *p)
{
	if (p)
		p->stopped = true;
}

void tls_parser__gap(struct tls_parser *p, enum mt_dir d, uint64_t len)
{
	(void)d;
	(void)len;
	if (p)
		p->had_gap = true;
}

void tls_parser__eof(struct tls_parser *p, enum mt_dir d)
{
	(void)p;
	(void)d;
}

uint16_t tls_parser__negotiated_version(const struct tls_parser *p)
{
	return p->chosen_version;
}

bool tls_parser__failed(const struct tls_parser *p)
{
	return p->failed;
}

const struct tls_stats *tls_parser__stats(const struct tls_parser *p)
{
	return &p->st;
}

struct tls_parser *tls_parser__new(const struct tls_cb *cb, const struct tls_limits *lim)
{
	struct tls_parser *p = calloc(1, sizeof(*p));
	size_t n;

	if (!p) {
		errno = ENOMEM;
		return NULL;
	}
	if (cb)
		p->cb = *cb;
	if (lim)
		p->lim = *lim;
	else
		tls_limits__default(&p->lim);
	if (!p->lim.max_list)
		p->lim.max_list = 1;
	if (!p->lim.max_certs)
		p->lim.max_certs = 1;
	n = p->lim.max_list;
	p->ciphers = calloc(n, sizeof(*p->ciphers));
	p->exts = calloc(n, sizeof(*p->exts));
	p->groups = calloc(n, sizeof(*p->groups));
	p->sig_algs = calloc(n, sizeof(*p->sig_algs));
	p->versions = calloc(n, sizeof(*p->versions));
	p->key_shares = calloc(n, sizeof(*p->key_shares));
	p->point_formats = calloc(n, sizeof(*p->point_formats));
	p->certs = calloc(p->lim.max_certs, sizeof(*p->certs));
	if (!p->ciphers || !p->exts || !p->groups || !p->sig_algs || !p->versions ||
	    !p->key_shares || !p->point_formats || !p->certs) {
		tls_parser__free(p);
		errno = ENOMEM;
		return NULL;
	}
	return p;
}

void tls_parser__free(struct tls_parser *p)
{
	if (!p)
		return;
	for (int d = 0; d < 2; d++)
		hs_release(&p->dir[d]);
	free(p->ciphers);
	free(p->exts);
	free(p->groups);
	free(p->sig_algs);
	free(p->versions);
	free(p->key_shares);
	free(p->point_formats);
	free(p->certs);
	free(p);
}

/* ---------------------------------------------------------------- fingerprints */

static void hex_digest(const EVP_MD *md, const char *s, size_t len, char *out, size_t nbytes)
{
	unsigned char dg[EVP_MAX_MD_SIZE];
	unsigned int dl = 0;

	if (!EVP_Digest(s, len, dg, &dl, md, NULL))
		dl = 0;
	mt_hex(dg, nbytes < dl ? nbytes : dl, out);
}

/* A growing string in a fixed buffer; overflow marks it bad. */
struct sb {
	char *b;
	size_t cap, len;
	bool bad;
};

static void sb_printf(struct sb *s, const char *fmt, unsigned v)
{
	int n;

	if (s->bad)
		return;
	n = snprintf(s->b + s->len, s->cap - s->len, fmt, v);
	if (n < 0 || (size_t)n >= s->cap - s->len) {
		s->bad = true;
		return;
	}
	s->len += (size_t)n;
}

static void sb_list16(struct sb *s, const uint16_t *v, unsigned n, bool skip_grease)
{
	bool first = true;

	for (unsigned i = 0; i < n; i++) {
		if (skip_grease && tls__is_grease(v[i]))
			continue;
		sb_printf(s, first ? "%u" : "-%u", v[i]);
		first = false;
	}
}

int tls__ja3(const struct tls_client_hello *h, char out[33])
{
	char buf[8192];
	struct sb s = {buf, sizeof(buf), 0, false};
	bool first = true;

	out[0] = 0;
	if (!h || h->record_version == 0)
		return -EINVAL;
	sb_printf(&s, "%u,", h->version);
	for (unsigned i = 0; i < h->n_ciphers; i++) {
		if (tls__is_grease(h->ciphers[i]))
			continue;
		sb_printf(&s, first ? "%u" : "-%u", h->ciphers[i]);
		first = false;
	}
	sb_printf(&s, ",", 0);
	sb_list16(&s, h->exts, h->n_exts, true);
	sb_printf(&s, ",", 0);
	sb_list16(&s, h->groups, h->n_groups, true);
	sb_printf(&s, ",", 0);
	for (unsigned i = 0; i < h->n_point_formats; i++)
		sb_printf(&s, i ? "-%u" : "%u", h->point_formats[i]);
	if (s.bad)
		return -EINVAL;
	hex_digest(mt_md(MT_MD5), buf, s.len, out, 16);
	return 0;
}

int tls__ja3s(const struct tls_server_hello *h, char out[33])
{
	char buf[4096];
	struct sb s = {buf, sizeof(buf), 0, false};

	out[0] = 0;
	if (!h || h->v2)
		return -EINVAL;
	sb_printf(&s, "%u,", h->version);
	sb_printf(&s, "%u,", h->cipher);
	sb_list16(&s, h->exts, h->n_exts, false);
	if (s.bad)
		return -EINVAL;
	hex_digest(mt_md(MT_MD5), buf, s.len, out, 16);
	return 0;
}

static const char *ja4_version(uint16_t v)
{
	switch (v) {
	case TLSV13:
		return "13";
	case TLSV12:
		return "12";
	case TLSV11:
		return "11";
	case TLSV10:
		return "10";
	case SSLV30:
		return "s3";
	case SSLV20:
		return "s2";
	case 0xFEFF:
		return "d1";
	case 0xFEFD:
		return "d2";
	case 0xFEFC:
		return "d3";
	default:
		return "00";
	}
}

static bool alnum(uint8_t c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/* JA4 ALPN characters: first and last character, or of the hex form when either is not
 * alphanumeric; "00" without ALPN. */
static void ja4_alpn(struct tls_bytes a, char out[3])
{
	static const char hx[] = "0123456789abcdef";

	if (!a.p || a.len == 0) {
		out[0] = out[1] = '0';
	} else if (alnum(a.p[0]) && alnum(a.p[a.len - 1])) {
		out[0] = (char)a.p[0];
		out[1] = (char)a.p[a.len - 1];
	} else {
		out[0] = hx[a.p[0] >> 4];
		out[1] = hx[a.p[a.len - 1] & 0xf];
	}
	out[2] = 0;
}

static int cmp16(const void *a, const void *b)
{
	return (int)*(const uint16_t *)a - (int)*(const uint16_t *)b;
}

static void trunc_sha256(const char *s, size_t len, char out[13])
{
	if (len == 0) {
		memcpy(out, "000000000000", 13);
		return;
	}
	hex_digest(mt_md(MT_SHA256), s, len, out, 6);
}

int tls__ja4(const struct tls_client_hello *h, char out[37])
{
	uint16_t cs[512], ex[512];
	unsigned nc = 0, ne = 0, ne_all = 0;
	char buf[8192], alpn[3], hc[13], he[13];
	struct sb s = {buf, sizeof(buf), 0, false};
	uint16_t ver;

	out[0] = 0;
	if (!h || h->record_version == 0)
		return -EINVAL;
	ver = h->version;
	if (h->n_versions) {
		ver = 0;
		for (unsigned i = 0; i < h->n_versions; i++)
			if (!tls__is_grease(h->versions[i]) && h->versions[i] > ver)
				ver = h->versions[i];
	}
	for (unsigned i = 0; i < h->n_ciphers && nc < 512; i++)
		if (!tls__is_grease(h->ciphers[i]))
			cs[nc++] = (uint16_t)h->ciphers[i];
	for (unsigned i = 0; i < h->n_exts; i++) {
		if (tls__is_grease(h->exts[i]))
			continue;
		ne_all++;
		if (h->exts[i] != 0x0000 && h->exts[i] != 0x0010 && ne < 512)
			ex[ne++] = h->exts[i];
	}
	qsort(cs, nc, sizeof(cs[0]), cmp16);
	qsort(ex, ne, sizeof(ex[0]), cmp16);
	for (unsigned i = 0; i < nc; i++)
		sb_printf(&s, i ? ",%04x" : "%04x", cs[i]);
	if (s.bad)
		return -EINVAL;
	trunc_sha256(buf, s.len, hc);
	s.len = 0;
	for (unsigned i = 0; i < ne; i++)
		sb_printf(&s, i ? ",%04x" : "%04x", ex[i]);
	for (unsigned i = 0; i < h->n_sig_algs; i++)
		sb_printf(&s, i ? ",%04x" : "_%04x", h->sig_algs[i]);
	if (s.bad)
		return -EINVAL;
	if (ne == 0)
		memcpy(he, "000000000000", 13);
	else
		trunc_sha256(buf, s.len, he);
	bool sni = false;

	for (unsigned i = 0; i < h->n_exts; i++)
		sni |= h->exts[i] == 0x0000;
	ja4_alpn(h->alpn_first, alpn);
	snprintf(out, 37, "t%s%c%02u%02u%s_%s_%s", ja4_version(ver), sni ? 'd' : 'i',
		 nc > 99 ? 99 : nc, ne_all > 99 ? 99 : ne_all, alpn, hc, he);
	return 0;
}

int tls__ja4s(const struct tls_server_hello *h, char out[26])
{
	char buf[4096], alpn[3], he[13];
	struct sb s = {buf, sizeof(buf), 0, false};
	uint16_t ver;

	out[0] = 0;
	if (!h || h->v2)
		return -EINVAL;
	ver = h->selected_version ? h->selected_version : h->version;
	for (unsigned i = 0; i < h->n_exts; i++)
		sb_printf(&s, i ? ",%04x" : "%04x", h->exts[i]);
	if (s.bad)
		return -EINVAL;
	trunc_sha256(buf, s.len, he);
	ja4_alpn(h->has_alpn ? h->alpn : (struct tls_bytes){NULL, 0}, alpn);
	snprintf(out, 26, "t%s%02u%s_%04x_%s", ja4_version(ver), h->n_exts > 99 ? 99 : h->n_exts,
		 alpn, h->cipher & 0xffff, he);
	return 0;
}
