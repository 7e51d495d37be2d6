// SPDX-License-Identifier: BSD-3-Clause
/* X.509 certificate fields for x509 records, as Zeek's X509 file analyzer extracts them
 * (src/file_analysis/analyzer/x509/X509.cc, OpenSSL 3 code paths), using OpenSSL only. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "mailtap/bits.h"
#include "mailtap/digest.h"
#include "mailtap/optlock.h"
#include "mailtap/x509.h"

/* Zeek reads OpenSSL's printouts through a 2048-byte buffer. */
#define ZEEK_BUF 2048

void x509__sha256_hex(const uint8_t *buf, size_t len, char out[65])
{
	unsigned char dg[EVP_MAX_MD_SIZE];
	unsigned int dl = 0;

	if (!EVP_Digest(buf, len, dg, &dl, mt_md(MT_SHA256), NULL) || dl != 32) {
		out[0] = 0;
		return;
	}
	mt_hex(dg, 32, out);
}

/* BIO_gets() of what was printed into bio, like Zeek does (first line, < 2048 bytes). */
static char *bio_line(BIO *bio)
{
	char buf[ZEEK_BUF];
	int n;

	buf[0] = 0;
	n = BIO_gets(bio, buf, sizeof(buf));
	if (n < 0)
		n = 0;
	(void)BIO_reset(bio);
	return strndup(buf, (size_t)n);
}

static char *bio_read_all(BIO *bio)
{
	char buf[ZEEK_BUF];
	int n = BIO_read(bio, buf, sizeof(buf));

	if (n < 0)
		n = 0;
	(void)BIO_reset(bio);
	return strndup(buf, (size_t)n);
}

/* Two characters as a number the way Zeek reads them: (c - '0') each, digits or not. */
static int two(const unsigned char *s)
{
	return (s[0] - '0') * 10 + (s[1] - '0');
}

/* not_valid_before/after as Zeek's GetTimeFromAsn1 (X509Common.cc) reads a time, with its
 * weirds and quirks, not as OpenSSL would:
 *  - UTCTime: 11..17 bytes (else x509_utc_length) ending in 'Z' (else x509_utc_format, so
 *    an offset form gives 0); YY below 50 is 20YY. GeneralizedTime: 12..23 bytes (else
 *    x509_gen_time_length). Another type: x509_invalid_time_type. All give 0.
 *  - YYMMDDHHMM / YYYYMMDDHHMM, then seconds unless the rest is empty or starts with 'Z', '+'
 *    or '-' (a single other byte: x509_time_add_char), fractional seconds skipped.
 *  - An offset "+hhmm"/"-hhmm" (fewer than 5 bytes: x509_time_offset_underflow; neither sign:
 *    x509_time_offset_type) adds hh * 60 + mm *seconds*, not subtracts hours and minutes.
 *  - Fields are not checked: a month 13 is January of the next year, as mktime normalises
 *    (timegm here: Zeek's mktime reads local time, UTC where Zeek runs with TZ=UTC). A
 *    GeneralizedTime year up to 1900 is taken as years since 1900 (1850 -> 3750). A result of
 *    0 stays 0, without the offset. */
static double asn1_time(const ASN1_TIME *t, void (*weird)(void *u, const char *name,
							  const char *addl),
			void *u)
{
	const unsigned char *s, *p, *md; /* md: MMDDHHMM */
	const char *bad = NULL;
	int n, rest, year = 0, sec = 0;
	long off = 0;
	struct tm tm;
	time_t r;

	if (!t)
		return 0;
	s = ASN1_STRING_get0_data(t);
	n = ASN1_STRING_length(t);
	if (ASN1_STRING_type(t) == V_ASN1_UTCTIME) {
		if (n < 11 || n > 17)
			bad = "x509_utc_length";
		else if (s[n - 1] != 'Z')
			bad = "x509_utc_format";
		else
			year = (s[0] < '5' ? 2000 : 1900) + two(s);
		md = s + 2;
		p = s + 10;
		rest = n - 10;
	} else if (ASN1_STRING_type(t) == V_ASN1_GENERALIZEDTIME) {
		if (n < 12 || n > 23)
			bad = "x509_gen_time_length";
		else
			year = two(s) * 100 + two(s + 2);
		md = s + 4;
		p = s + 12;
		rest = n - 12;
	} else {
		bad = "x509_invalid_time_type";
	}
	if (!bad && rest && *p != 'Z' && *p != '+' && *p != '-') {
		if (rest < 2) {
			bad = "x509_time_add_char";
		} else {
			sec = two(p);
			p += 2;
			rest -= 2;
			if (rest && *p == '.')
				for (p++, rest--; rest && *p >= '0' && *p <= '9'; p++, rest--)
					;
		}
	}
	if (!bad && rest && *p != 'Z') {
		if (rest < 5)
			bad = "x509_time_offset_underflow";
		else if (*p != '+' && *p != '-')
			bad = "x509_time_offset_type";
		else
			off = (*p == '-' ? -1 : 1) * (two(p + 1) * 60L + two(p + 3));
	}
	if (bad) {
		if (weird)
			weird(u, bad, NULL);
		return 0;
	}
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = year > 1900 ? year - 1900 : year;
	tm.tm_mon = two(md) - 1;
	tm.tm_mday = two(md + 2);
	tm.tm_hour = two(md + 4);
	tm.tm_min = two(md + 6);
	tm.tm_sec = sec;
	r = timegm(&tm);
	return r ? (double)(r + off) : 0;
}

static char *obj_text(const ASN1_OBJECT *o)
{
	char buf[256];

	/* Zeek: i2t_ASN1_OBJECT(buf, 255, ...), empty on failure. */
	if (!o || i2t_ASN1_OBJECT(buf, 255, o) <= 0)
		buf[0] = 0;
	buf[255] = 0;
	return strdup(buf);
}

static void key_info(X509 *cert, struct x509_info *xi)
{
	EVP_PKEY *pkey = X509_get_pubkey(cert);
	BIGNUM *bn = NULL;
	char buf[256];

	if (!pkey)
		return;
	switch (EVP_PKEY_base_id(pkey)) {
	case EVP_PKEY_DSA:
		xi->key_type = "dsa";
		if (EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_FFC_P, &bn))
			xi->key_length = (unsigned)BN_num_bits(bn);
		break;
	case EVP_PKEY_RSA:
		xi->key_type = "rsa";
		if (EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &bn)) {
			char *e = BN_bn2dec(bn);

			if (e) {
				xi->exponent = strdup(e);
				OPENSSL_free(e);
			}
			BN_free(bn);
			bn = NULL;
		}
		if (EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &bn))
			xi->key_length = (unsigned)BN_num_bits(bn);
		break;
	case EVP_PKEY_EC:
		xi->key_type = "ecdsa";
		if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, buf, 255,
						   NULL))
			xi->curve = strdup(buf);
		if (EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_ORDER, &bn))
			xi->key_length = (unsigned)BN_num_bits(bn);
		break;
	default:
		break;
	}
	BN_free(bn);
	EVP_PKEY_free(pkey);
}

static int push_str(struct mt_str **arr, unsigned *n, unsigned max, const char *s, size_t len,
		    unsigned *dropped)
{
	struct mt_str *na;

	if (*n >= max) {
		if (dropped)
			(*dropped)++;
		return 0;
	}
	na = realloc(*arr, (*n + 1) * sizeof(*na));
	if (!na)
		return -ENOMEM;
	*arr = na;
	na[*n] = (struct mt_str){NULL, 0};
	if (mt_str__set(&na[*n], s, len) < 0)
		return -ENOMEM;
	(*n)++;
	return 0;
}

static void free_strs(struct mt_str *a, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		mt_str__free(&a[i]);
	free(a);
}

static void clear_san(struct x509_info *xi)
{
	free_strs(xi->san_dns, xi->n_san_dns);
	free_strs(xi->san_uri, xi->n_san_uri);
	free_strs(xi->san_email, xi->n_san_email);
	free(xi->san_ip);
	xi->san_dns = xi->san_uri = xi->san_email = NULL;
	xi->san_ip = NULL;
	xi->n_san_dns = xi->n_san_uri = xi->n_san_email = xi->n_san_ip = 0;
}

static int parse_san(X509_EXTENSION *ext, struct x509_info *xi, unsigned max,
		     void (*weird)(void *u, const char *name, const char *addl), void *u)
{
	GENERAL_NAMES *names = X509V3_EXT_d2i(ext);
	int err = 0;

	if (!names) {
		if (weird)
			weird(u, "x509_san_parse_error", NULL);
		return 0;
	}
	/* A later SAN extension replaces an earlier one (Zeek assigns f$info$x509$san). */
	clear_san(xi);
	xi->has_san = true;
	for (int i = 0; i < sk_GENERAL_NAME_num(names) && !err; i++) {
		GENERAL_NAME *g = sk_GENERAL_NAME_value(names, i);

		if (g->type == GEN_DNS || g->type == GEN_URI || g->type == GEN_EMAIL) {
			if (ASN1_STRING_type(g->d.ia5) != V_ASN1_IA5STRING) {
				if (weird)
					weird(u, "x509_san_non_string", NULL);
				continue;
			}
			const char *s = (const char *)ASN1_STRING_get0_data(g->d.ia5);
			size_t l = (size_t)ASN1_STRING_length(g->d.ia5);

			if (g->type == GEN_DNS)
				err = push_str(&xi->san_dns, &xi->n_san_dns, max, s, l, NULL);
			else if (g->type == GEN_URI)
				err = push_str(&xi->san_uri, &xi->n_san_uri, max, s, l, NULL);
			else
				err = push_str(&xi->san_email, &xi->n_san_email, max, s, l, NULL);
		} else if (g->type == GEN_IPADD) {
			int l = g->d.ip->length;
			struct mt_addr *na;

			if (l != 4 && l != 16) {
				char buf[16];

				snprintf(buf, sizeof(buf), "%d", l);
				if (weird)
					weird(u, "x509_san_ip_length", buf);
				continue;
			}
			if (xi->n_san_ip >= max)
				continue;
			na = realloc(xi->san_ip, (xi->n_san_ip + 1) * sizeof(*na));
			if (!na) {
				err = -ENOMEM;
				break;
			}
			xi->san_ip = na;
			if (l == 4)
				mt_addr__from_v4(&na[xi->n_san_ip], g->d.ip->data);
			else
				mt_addr__from_v6(&na[xi->n_san_ip], g->d.ip->data);
			xi->n_san_ip++;
		}
	}
	GENERAL_NAMES_free(names);
	return err;
}

static void parse_basic_constraints(X509_EXTENSION *ext, struct x509_info *xi,
				    void (*weird)(void *u, const char *name, const char *addl),
				    void *u)
{
	BASIC_CONSTRAINTS *bc = X509V3_EXT_d2i(ext);

	if (!bc) {
		if (weird)
			weird(u, "x509_invalid_basic_constraint", NULL);
		return;
	}
	xi->has_basic_constraints = true;
	xi->bc_ca = bc->ca != 0;
	xi->has_bc_path_len = bc->pathlen != NULL;
	if (bc->pathlen)
		xi->bc_path_len = (int32_t)ASN1_INTEGER_get(bc->pathlen);
	BASIC_CONSTRAINTS_free(bc);
}

int x509__parse(const uint8_t *der, size_t len, unsigned max_san, struct x509_info *xi,
		void (*weird)(void *u, const char *name, const char *addl), void *u)
{
	const unsigned char *pp = der;
	X509 *cert;
	BIO *bio;
	ASN1_OBJECT *alg = NULL;
	int err = 0;

	memset(xi, 0, sizeof(*xi));
	x509__sha256_hex(der, len, xi->fingerprint);
	if (len > 0x7fffffff)
		return -EINVAL;
	cert = d2i_X509(NULL, &pp, (long)len);
	if (!cert)
		return -EINVAL;
	bio = BIO_new(BIO_s_mem());
	if (!bio) {
		X509_free(cert);
		return -ENOMEM;
	}
	xi->handle = cert;
	xi->version = (unsigned)(X509_get_version(cert) + 1);
	i2a_ASN1_INTEGER(bio, X509_get0_serialNumber(cert));
	xi->serial = bio_read_all(bio);
	X509_NAME_print_ex(bio, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253);
	xi->subject = bio_line(bio);
	X509_NAME_print_ex(bio, X509_get_issuer_name(cert), 0, XN_FLAG_RFC2253);
	xi->issuer = bio_line(bio);
	BIO_free(bio);
	xi->not_valid_before = asn1_time(X509_get0_notBefore(cert), weird, u);
	xi->not_valid_after = asn1_time(X509_get0_notAfter(cert), weird, u);
	X509_PUBKEY_get0_param(&alg, NULL, NULL, NULL, X509_get_X509_PUBKEY(cert));
	xi->key_alg = obj_text(alg);
	xi->sig_alg = obj_text(OBJ_nid2obj(X509_get_signature_nid(cert)));
	key_info(cert, xi);
	if (!xi->serial || !xi->subject || !xi->issuer || !xi->key_alg || !xi->sig_alg)
		err = -ENOMEM;
	for (int k = 0; k < X509_get_ext_count(cert) && !err; k++) {
		X509_EXTENSION *ex = X509_get_ext(cert, k);
		int nid;

		if (!ex)
			continue;
		nid = OBJ_obj2nid(X509_EXTENSION_get_object(ex));
		if (nid == NID_basic_constraints)
			parse_basic_constraints(ex, xi, weird, u);
		else if (nid == NID_subject_alt_name)
			err = parse_san(ex, xi, max_san, weird, u);
	}
	return err;
}

void x509_info__free(struct x509_info *xi)
{
	if (!xi)
		return;
	free(xi->serial);
	free(xi->subject);
	free(xi->issuer);
	free(xi->key_alg);
	free(xi->sig_alg);
	free(xi->exponent);
	free(xi->curve);
	clear_san(xi);
	X509_free(xi->handle);
	memset(xi, 0, sizeof(*xi));
}

bool x509__check_hostname(const char *host, size_t hlen, const char *name, size_t nlen)
{
	const char *wild, *first, *hfirst;
	size_t wpos, fpos, hpos;

	if (hlen == nlen && memcmp(host, name, hlen) == 0)
		return true;
	wild = memchr(name, '*', nlen);
	if (!wild)
		return false;
	first = memchr(name, '.', nlen);
	if (!first || !memchr(first + 1, '.', nlen - (size_t)(first - name) - 1))
		return false;
	wpos = (size_t)(wild - name);
	fpos = (size_t)(first - name);
	if (wpos + 1 != fpos)
		return false;
	hfirst = memchr(host, '.', hlen);
	if (!hfirst)
		return false;
	hpos = (size_t)(hfirst - host);
	if (hlen - hpos != nlen - fpos || memcmp(host + hpos, name + fpos, nlen - fpos) != 0)
		return false;
	/* host.substr(0, wpos) vs name.substr(0, wpos) (substr clamps at the string end) */
	if (wpos) {
		size_t hl = hlen < wpos ? hlen : wpos;

		if (hl != wpos || memcmp(host, name, wpos) != 0)
			return false;
	}
	return true;
}

bool x509__hostname_matches(const struct x509_info *xi, const char *host, size_t len)
{
	X509 *cert = xi->handle;
	int pos;

	if (!cert)
		return false;
	pos = X509_get_ext_by_NID(cert, NID_subject_alt_name, -1);
	if (pos > -1) {
		X509_EXTENSION *ex = X509_get_ext(cert, pos);
		GENERAL_NAMES *names = ex ? X509V3_EXT_d2i(ex) : NULL;
		bool m = false;

		if (!names)
			return false;
		for (int i = 0; i < sk_GENERAL_NAME_num(names) && !m; i++) {
			GENERAL_NAME *g = sk_GENERAL_NAME_value(names, i);

			if (g->type != GEN_DNS || ASN1_STRING_type(g->d.ia5) != V_ASN1_IA5STRING)
				continue;
			m = x509__check_hostname(host, len,
						 (const char *)ASN1_STRING_get0_data(g->d.ia5),
						 (size_t)ASN1_STRING_length(g->d.ia5));
		}
		GENERAL_NAMES_free(names);
		return m;
	}
	char buf[ZEEK_BUF];
	int n = x509__cn(xi, buf, sizeof(buf));

	if (n < 0)
		return false;
	return x509__check_hostname(host, len, buf, (size_t)n);
}

int x509__cn(const struct x509_info *xi, char *buf, size_t cap)
{
	X509 *cert = xi->handle;
	X509_NAME *subj;
	int last = -1, j = -1, n;
	BIO *bio;

	if (!cert || cap < 2 || !(subj = X509_get_subject_name(cert)))
		return -1;
	while ((j = X509_NAME_get_index_by_NID(subj, NID_commonName, j)) >= 0)
		last = j;
	if (last < 0 || !(bio = BIO_new(BIO_s_mem())))
		return -1;
	ASN1_STRING_print(bio, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, last)));
	n = BIO_gets(bio, buf, (int)(cap > INT32_MAX ? INT32_MAX : cap));
	BIO_free(bio);
	if (n < 0)
		n = 0;
	buf[n] = 0;
	return n;
}

/* ---------------------------------------------------------------- dedup cache */

struct x509_slot {
	uint8_t key[33]; /* 32 bytes of fingerprint + flags; key[32] bit 7 = used */
	uint64_t created_ns;
};

/* One remembered sni_matches_cert answer: (host certificate, SNI) -> match. */
#define X509_SNI_MEMO 256
#define X509_SNI_MAX 64
struct x509_sni_memo {
	uint8_t fp[32];
	uint8_t len; /* SNI bytes; 0: empty slot */
	bool match;
	char sni[X509_SNI_MAX];
};

struct x509_cache {
	struct x509_slot *slots;
	size_t cap; /* power of two */
	size_t used;
	uint32_t max_entries;
	uint64_t expire_ns;
	struct x509_sni_memo *memo; /* X509_SNI_MEMO entries, direct-mapped; allocated on use */
	pthread_mutex_t *mu;	    /* x509_cache__share: shared by the workers */
};

static inline void c_lock(const struct x509_cache *c)
{
	mt_optlock__lock(c->mu);
}

static inline void c_unlock(const struct x509_cache *c)
{
	mt_optlock__unlock(c->mu);
}

int x509_cache__share(struct x509_cache *c)
{
	return mt_optlock__share(&c->mu);
}

struct x509_cache *x509_cache__new(uint32_t max_entries, uint64_t expire_ns)
{
	struct x509_cache *c = calloc(1, sizeof(*c));

	if (!c) {
		errno = ENOMEM;
		return NULL;
	}
	c->cap = 1024;
	c->slots = calloc(c->cap, sizeof(*c->slots));
	if (!c->slots) {
		free(c);
		errno = ENOMEM;
		return NULL;
	}
	c->max_entries = max_entries;
	c->expire_ns = expire_ns;
	return c;
}

void x509_cache__free(struct x509_cache *c)
{
	if (!c)
		return;
	mt_optlock__free(c->mu);
	free(c->memo);
	free(c->slots);
	free(c);
}

static int unhex(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	return 0;
}

static size_t slot_hash(const uint8_t key[33])
{
	uint64_t h;

	memcpy(&h, key, sizeof(h));
	return (size_t)(h ^ key[32]);
}

static struct x509_slot *find(struct x509_slot *slots, size_t cap, const uint8_t key[33])
{
	size_t i = slot_hash(key) & (cap - 1);

	for (;;) {
		struct x509_slot *s = &slots[i];

		if (!(s->key[32] & 0x80) || memcmp(s->key, key, 33) == 0)
			return s;
		i = (i + 1) & (cap - 1);
	}
}

static int grow(struct x509_cache *c)
{
	size_t ncap = c->cap * 2;
	struct x509_slot *ns = calloc(ncap, sizeof(*ns));

	if (!ns)
		return -ENOMEM;
	for (size_t i = 0; i < c->cap; i++)
		if (c->slots[i].key[32] & 0x80)
			*find(ns, ncap, c->slots[i].key) = c->slots[i];
	free(c->slots);
	c->slots = ns;
	c->cap = ncap;
	return 0;
}

static void fp_bytes(uint8_t out[32], const char fingerprint[65])
{
	for (int i = 0; i < 32; i++)
		out[i] = (uint8_t)(unhex(fingerprint[2 * i]) << 4 | unhex(fingerprint[2 * i + 1]));
}

static void make_key(uint8_t key[33], const char fingerprint[65], bool host_cert, bool client_cert)
{
	fp_bytes(key, fingerprint);
	key[32] = (uint8_t)(0x80 | (host_cert ? 1 : 0) | (client_cert ? 2 : 0));
}

static bool contains(const struct x509_cache *c, const char fingerprint[65], bool host_cert,
		     bool client_cert, uint64_t now_ns)
{
	uint8_t key[33];
	const struct x509_slot *s;

	if (!c || c->expire_ns == 0)
		return false;
	make_key(key, fingerprint, host_cert, client_cert);
	s = find(c->slots, c->cap, key);
	return (s->key[32] & 0x80) && now_ns >= s->created_ns &&
	       now_ns - s->created_ns < c->expire_ns;
}

static bool seen(struct x509_cache *c, const char fingerprint[65], bool host_cert,
		 bool client_cert, uint64_t now_ns)
{
	uint8_t key[33];
	struct x509_slot *s;

	if (!c || c->expire_ns == 0)
		return false;
	make_key(key, fingerprint, host_cert, client_cert);
	s = find(c->slots, c->cap, key);
	if (s->key[32] & 0x80) {
		if (now_ns - s->created_ns < c->expire_ns || now_ns < s->created_ns)
			return true;
		s->created_ns = now_ns; /* expired: log again, remember anew */
		return false;
	}
	if (c->used >= c->max_entries)
		return false;
	if ((c->used + 1) * 2 > c->cap) {
		if (grow(c) < 0)
			return false;
		s = find(c->slots, c->cap, key);
	}
	memcpy(s->key, key, 33);
	s->created_ns = now_ns;
	c->used++;
	return false;
}

/* ---------------------------------------------------------------- SNI match memo */

static struct x509_sni_memo *memo_slot(const struct x509_cache *c, const uint8_t fp[32],
				       const char *sni, size_t len)
{
	uint64_t h;

	memcpy(&h, fp, sizeof(h));
	for (size_t i = 0; i < len; i++)
		h = (h ^ (uint8_t)sni[i]) * 0x100000001b3ULL;
	return &c->memo[mt_mix64(h) % X509_SNI_MEMO];
}

static int sni_get(const struct x509_cache *c, const char fingerprint[65], const char *sni)
{
	size_t len = strlen(sni);
	const struct x509_sni_memo *m;
	uint8_t fp[32];

	if (!c || !c->memo || !len || len > X509_SNI_MAX)
		return -1;
	fp_bytes(fp, fingerprint);
	m = memo_slot(c, fp, sni, len);
	if (m->len != len || memcmp(m->fp, fp, 32) || memcmp(m->sni, sni, len))
		return -1;
	return m->match;
}

static void sni_put(struct x509_cache *c, const char fingerprint[65], const char *sni,
		    bool match)
{
	size_t len = strlen(sni);
	struct x509_sni_memo *m;
	uint8_t fp[32];

	if (!c || !len || len > X509_SNI_MAX)
		return;
	if (!c->memo && !(c->memo = calloc(X509_SNI_MEMO, sizeof(*c->memo))))
		return;
	fp_bytes(fp, fingerprint);
	m = memo_slot(c, fp, sni, len);
	memcpy(m->fp, fp, 32);
	memcpy(m->sni, sni, len);
	m->len = (uint8_t)len;
	m->match = match;
}

/* The calls, under the lock when the cache is shared. */
bool x509_cache__contains(const struct x509_cache *c, const char fingerprint[65], bool host_cert,
			  bool client_cert, uint64_t now_ns)
{
	bool r;

	if (!c)
		return false;
	c_lock(c);
	r = contains(c, fingerprint, host_cert, client_cert, now_ns);
	c_unlock(c);
	return r;
}

bool x509_cache__seen(struct x509_cache *c, const char fingerprint[65], bool host_cert,
		      bool client_cert, uint64_t now_ns)
{
	bool r;

	if (!c)
		return false;
	c_lock(c);
	r = seen(c, fingerprint, host_cert, client_cert, now_ns);
	c_unlock(c);
	return r;
}

int x509_cache__sni_get(const struct x509_cache *c, const char fingerprint[65], const char *sni)
{
	int r;

	if (!c)
		return -1;
	c_lock(c);
	r = sni_get(c, fingerprint, sni);
	c_unlock(c);
	return r;
}

void x509_cache__sni_put(struct x509_cache *c, const char fingerprint[65], const char *sni,
			 bool match)
{
	if (!c)
		return;
	c_lock(c);
	sni_put(c, fingerprint, sni, match);
	c_unlock(c);
}
