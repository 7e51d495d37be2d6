// SPDX-License-Identifier: BSD-3-Clause
/* Certificate chain validation (Zeek's policy/protocols/ssl/validate-certs.zeek): OpenSSL's
 * X509_verify_cert at the connection's time, a cache of recent verdicts, a cache of the
 * intermediates of valid chains. See include/mailtap/certval.h. */
#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include "mailtap/certval.h"
#include "mailtap/digest.h"

/* The roots are read at start as DER, with the canonical hash of each subject (as a hashed
 * certificate directory names them), and decoded only when a verification asks for that
 * subject: decoding Mozilla's 140-odd roots with OpenSSL 3 costs about 15 ms, and a mail
 * sensor meets a handful of them. The store's lookup method finds them (like by_dir). */
struct root_der {
	unsigned char *der;
	long len;
	unsigned long subject_hash; /* X509_NAME_hash_ex */
};

struct certval_roots {
	X509_STORE *store;
	X509_LOOKUP_METHOD *meth;
	struct root_der *certs;
	unsigned n;
};

/* The DER of the subject Name in a certificate's DER (a walk of its first fields). */
static bool der_subject(const unsigned char *p, long len, const unsigned char **subj, long *slen)
{
	const unsigned char *end = p + len, *q;
	long l;
	int tag, cls, skip;

	/* Certificate SEQUENCE, then tbsCertificate SEQUENCE: step into both */
	for (int i = 0; i < 2; i++) {
		q = p;
		if (ASN1_get_object(&q, &l, &tag, &cls, end - p) & 0x80 || tag != V_ASN1_SEQUENCE)
			return false;
		p = q;
		end = p + l;
	}
	/* [0] version (optional), serialNumber, signature, issuer, validity: skipped */
	for (skip = 0; skip < 6; skip++) {
		q = p;
		if (ASN1_get_object(&q, &l, &tag, &cls, end - p) & 0x80)
			return false;
		if (skip == 0 && !(cls == V_ASN1_CONTEXT_SPECIFIC && tag == 0))
			skip++; /* no version */
		if (skip == 5) {
			*subj = p;
			*slen = (long)(q - p) + l;
			return tag == V_ASN1_SEQUENCE;
		}
		p = q + l;
	}
	return false;
}

/* Whether the store's certificate for name is x itself (not an equal one added before). */
static bool store_holds(X509_STORE *st, const X509_NAME *name, const X509 *x)
{
	X509_OBJECT *o;
	bool same;

	if (!X509_STORE_lock(st))
		return false;
	o = X509_OBJECT_retrieve_by_subject(X509_STORE_get0_objects(st), X509_LU_X509, name);
	same = o && X509_OBJECT_get0_X509(o) == x;
	X509_STORE_unlock(st);
	return same;
}

static int root_by_subject(X509_LOOKUP *ctx, X509_LOOKUP_TYPE type, const X509_NAME *name,
			   X509_OBJECT *ret)
{
	struct certval_roots *r = X509_LOOKUP_get_method_data(ctx);
	unsigned long h;
	int ok = 0, found = 0;

	if (!r || type != X509_LU_X509)
		return 0;
	h = X509_NAME_hash_ex(name, NULL, NULL, &ok);
	if (!ok)
		return 0;
	for (unsigned i = 0; i < r->n; i++) {
		const unsigned char *p = r->certs[i].der;
		X509 *x;

		if (r->certs[i].subject_hash != h)
			continue;
		x = d2i_X509(NULL, &p, r->certs[i].len);
		if (!x)
			continue;
		if (!X509_NAME_cmp(X509_get_subject_name(x), name) &&
		    X509_STORE_add_cert(X509_LOOKUP_get_store(ctx), x) == 1 && !found &&
		    X509_OBJECT_set1_X509(ret, x) == 1) {
			found = 1;
			/* X509_STORE_CTX_get_by_subject takes its own reference to what a lookup
			 * returns and never releases the lookup's (OpenSSL's own methods return
			 * the store's object without one): give back the reference set1 took
			 * while the store holds x, or each root found would stay after the
			 * store is freed */
			if (store_holds(X509_LOOKUP_get_store(ctx), name, x))
				X509_free(x);
		}
		X509_free(x);
	}
	return found;
}

static int root_ctrl(X509_LOOKUP *ctx, int cmd, const char *argc, long argl, char **ret)
{
	(void)ctx, (void)cmd, (void)argc, (void)argl, (void)ret;
	return 1;
}

static bool add_root(struct certval_roots *r, unsigned char *der, long len, size_t *cap)
{
	const unsigned char *subj, *q;
	long slen;
	X509_NAME *name;
	int ok = 0;
	unsigned long h;

	if (!der_subject(der, len, &subj, &slen))
		return false;
	q = subj;
	name = d2i_X509_NAME(NULL, &q, slen);
	if (!name)
		return false;
	h = X509_NAME_hash_ex(name, NULL, NULL, &ok);
	X509_NAME_free(name);
	if (!ok)
		return false;
	if (r->n == *cap) {
		size_t nc = *cap ? *cap * 2 : 64;
		struct root_der *nr = realloc(r->certs, nc * sizeof(*nr));

		if (!nr)
			return false;
		r->certs = nr;
		*cap = nc;
	}
	r->certs[r->n++] = (struct root_der){der, len, h};
	return true;
}

struct certval_roots *certval_roots__load(const char *pem_file)
{
	struct certval_roots *r = calloc(1, sizeof(*r));
	BIO *bio = NULL;
	X509_LOOKUP *lk;
	struct stat st;
	size_t cap = 0;
	int err = ENOMEM;

	if (!r)
		goto fail;
	/* a directory opens (fopen) and then reads as empty: say what it is */
	if (stat(pem_file, &st) == 0 && S_ISDIR(st.st_mode)) {
		err = EISDIR;
		goto fail;
	}
	errno = 0;
	bio = BIO_new_file(pem_file, "r");
	if (!bio) {
		err = errno ? errno : ENOENT; /* fopen's reason: missing, not readable, ... */
		goto fail;
	}
	for (;;) {
		char *pname = NULL, *header = NULL;
		unsigned char *data = NULL;
		long len = 0;

		if (!PEM_read_bio(bio, &pname, &header, &data, &len))
			break; /* end of file (or a broken block: the rest is ignored) */
		if ((!strcmp(pname, "CERTIFICATE") || !strcmp(pname, "TRUSTED CERTIFICATE")) &&
		    add_root(r, data, len, &cap))
			data = NULL; /* kept */
		OPENSSL_free(pname);
		OPENSSL_free(header);
		OPENSSL_free(data);
	}
	ERR_clear_error();
	BIO_free(bio);
	bio = NULL;
	if (!r->n) {
		err = ENODATA; /* readable, but not one PEM certificate in it */
		goto fail;
	}
	r->store = X509_STORE_new();
	r->meth = X509_LOOKUP_meth_new("mailtap roots");
	if (!r->store || !r->meth ||
	    !X509_LOOKUP_meth_set_get_by_subject(r->meth, root_by_subject) ||
	    !X509_LOOKUP_meth_set_ctrl(r->meth, root_ctrl))
		goto fail;
	lk = X509_STORE_add_lookup(r->store, r->meth);
	if (!lk || !X509_LOOKUP_set_method_data(lk, r))
		goto fail;
	return r;
fail:
	BIO_free(bio);
	certval_roots__free(r);
	errno = err;
	return NULL;
}

void certval_roots__free(struct certval_roots *r)
{
	if (!r)
		return;
	X509_STORE_free(r->store);
	X509_LOOKUP_meth_free(r->meth);
	for (unsigned i = 0; i < r->n; i++)
		OPENSSL_free(r->certs[i].der);
	free(r->certs);
	free(r);
}

unsigned certval_roots__count(const struct certval_roots *r)
{
	return r ? r->n : 0;
}

void certval_cfg__default(struct certval_cfg *c)
{
	c->max_chains = 10000;
	c->chain_expire_ns = 300ULL * 1000000000ULL;
	c->max_intermediates = 1000;
}

/* A remembered verdict: the server chain (SHA-256 of its DERs) -> OpenSSL's code. */
struct chain_entry {
	uint8_t key[32];
	int code;
	uint64_t gen; /* intermediates generation it was computed with */
	uint64_t used;
	struct chain_entry *hnext, *newer, *older; /* bucket; least recently used first */
};

/* Intermediates of a valid chain, by the SHA-256 of the subject of the leaf's issuer. */
struct inter_entry {
	uint8_t key[32];
	X509 **certs;
	int n;
};

struct certval {
	struct certval_cfg cfg;
	const struct certval_roots *roots;
	struct chain_entry **buckets;
	size_t mask, n_chains;
	struct chain_entry *lru, *mru;
	struct inter_entry *inter; /* FIFO ring of max_intermediates */
	uint32_t n_inter, inter_next;
	uint64_t gen;
};

static _Atomic uint64_t st_validations, st_verified, st_ok, st_via_inter;

struct certval *certval__new(const struct certval_cfg *c, const struct certval_roots *roots)
{
	struct certval *v = calloc(1, sizeof(*v));

	if (!v) {
		errno = ENOMEM;
		return NULL;
	}
	v->cfg = *c;
	if (!v->cfg.max_chains)
		v->cfg.max_chains = 1;
	v->roots = roots;
	v->mask = 255;
	v->buckets = calloc(v->mask + 1, sizeof(*v->buckets));
	v->inter =
	    v->cfg.max_intermediates ? calloc(v->cfg.max_intermediates, sizeof(*v->inter)) : NULL;
	if (!v->buckets || (v->cfg.max_intermediates && !v->inter)) {
		certval__free(v);
		errno = ENOMEM;
		return NULL;
	}
	return v;
}

static void inter_clear(struct inter_entry *e)
{
	for (int i = 0; i < e->n; i++)
		X509_free(e->certs[i]);
	free(e->certs);
	e->certs = NULL;
	e->n = 0;
}

void certval__free(struct certval *v)
{
	struct chain_entry *e, *next;

	if (!v)
		return;
	for (e = v->lru; e; e = next) {
		next = e->newer;
		free(e);
	}
	for (uint32_t i = 0; v->inter && i < v->n_inter; i++)
		inter_clear(&v->inter[i]);
	free(v->inter);
	free(v->buckets);
	free(v);
}

/* ---- the verdict cache ---- */

static struct chain_entry **slot_of(struct certval *v, const uint8_t key[32])
{
	uint64_t h;
	struct chain_entry **pp;

	memcpy(&h, key, sizeof(h));
	pp = &v->buckets[h & v->mask];
	while (*pp && memcmp((*pp)->key, key, 32))
		pp = &(*pp)->hnext;
	return pp;
}

static void lru_unlink(struct certval *v, struct chain_entry *e)
{
	if (e->older)
		e->older->newer = e->newer;
	else
		v->lru = e->newer;
	if (e->newer)
		e->newer->older = e->older;
	else
		v->mru = e->older;
	e->newer = e->older = NULL;
}

static void lru_append(struct certval *v, struct chain_entry *e)
{
	e->older = v->mru;
	e->newer = NULL;
	if (v->mru)
		v->mru->newer = e;
	else
		v->lru = e;
	v->mru = e;
}

static void chain_remove(struct certval *v, struct chain_entry *e)
{
	*slot_of(v, e->key) = e->hnext;
	lru_unlink(v, e);
	v->n_chains--;
	free(e);
}

static void grow(struct certval *v)
{
	size_t ncap = (v->mask + 1) * 2;
	struct chain_entry **nb = calloc(ncap, sizeof(*nb));

	if (!nb)
		return;
	free(v->buckets);
	v->buckets = nb;
	v->mask = ncap - 1;
	for (struct chain_entry *e = v->lru; e; e = e->newer) {
		struct chain_entry **pp = slot_of(v, e->key);

		e->hnext = *pp;
		*pp = e;
	}
}

static void chain_put(struct certval *v, const uint8_t key[32], int code, uint64_t now)
{
	struct chain_entry **pp = slot_of(v, key), *e = *pp;

	if (e) {
		lru_unlink(v, e);
	} else {
		if (v->n_chains >= v->cfg.max_chains && v->lru) {
			chain_remove(v, v->lru);
			pp = slot_of(v, key);
		}
		e = calloc(1, sizeof(*e));
		if (!e)
			return;
		memcpy(e->key, key, 32);
		e->hnext = *pp;
		*pp = e;
		v->n_chains++;
		if (v->n_chains > v->mask + 1)
			grow(v);
	}
	e->code = code;
	e->gen = v->gen;
	e->used = now;
	lru_append(v, e);
}

/* ---- verification ---- */

/* OpenSSL's code for chain[0] with chain[1..n) as the untrusted certificates, at now_s; on
 * success the verified chain (leaf to root) in *out if out. -1: no memory. */
static int verify(const struct certval *v, X509 **chain, int n, time_t now_s, STACK_OF(X509) * *out)
{
	STACK_OF(X509) *untrusted = sk_X509_new_null();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	int code = -1;

	if (!untrusted || !ctx)
		goto done;
	for (int i = 1; i < n; i++)
		if (!sk_X509_push(untrusted, chain[i]))
			goto done;
	if (X509_STORE_CTX_init(ctx, v->roots->store, chain[0], untrusted) != 1)
		goto done;
	X509_STORE_CTX_set_time(ctx, 0, now_s);
	if (X509_verify_cert(ctx) == 1) {
		code = X509_V_OK;
		if (out)
			*out = X509_STORE_CTX_get1_chain(ctx);
	} else {
		code = X509_STORE_CTX_get_error(ctx);
		if (code == X509_V_OK) /* an internal failure (memory) */
			code = -1;
	}
done:
	X509_STORE_CTX_free(ctx);
	sk_X509_free(untrusted);
	return code;
}

static bool name_key(const X509_NAME *name, uint8_t key[32])
{
	const unsigned char *der;
	size_t len;

	return name && X509_NAME_get0_der((X509_NAME *)name, &der, &len) == 1 &&
	       EVP_Digest(der, len, key, NULL, mt_md(MT_SHA256), NULL) == 1;
}

static struct inter_entry *inter_find(struct certval *v, const uint8_t key[32])
{
	for (uint32_t i = 0; i < v->n_inter; i++)
		if (!memcmp(v->inter[i].key, key, 32))
			return &v->inter[i];
	return NULL;
}

/* cache_validate's "ok" branch: the intermediates of a verified chain longer than two
 * (leaf ... root), kept under the subject of chain[1] unless already known. */
static void inter_add(struct certval *v, STACK_OF(X509) * chain)
{
	int len = sk_X509_num(chain);
	uint8_t key[32];
	struct inter_entry *e;
	X509 **certs;

	if (!v->inter || len <= 2 ||
	    !name_key(X509_get_subject_name(sk_X509_value(chain, 1)), key) || inter_find(v, key))
		return;
	certs = calloc((size_t)(len - 2), sizeof(*certs));
	if (!certs)
		return;
	for (int i = 1; i <= len - 2; i++) {
		certs[i - 1] = sk_X509_value(chain, i);
		X509_up_ref(certs[i - 1]);
	}
	if (v->n_inter < v->cfg.max_intermediates) {
		e = &v->inter[v->n_inter++];
	} else { /* the oldest goes */
		e = &v->inter[v->inter_next];
		v->inter_next = (v->inter_next + 1) % v->cfg.max_intermediates;
		inter_clear(e);
	}
	memcpy(e->key, key, 32);
	e->certs = certs;
	e->n = len - 2;
	v->gen++;
}

/* OpenSSL's text for a verdict, with Zeek's one rewrite (x509_verify in functions.bif):
 * a self-signed host certificate is "self signed certificate", OpenSSL 1's spelling, whatever
 * OpenSSL says ("self-signed certificate" in OpenSSL 3). The same error one level up ("...
 * in certificate chain") keeps OpenSSL's text, as in Zeek. */
static const char *verdict(int code)
{
	if (code == X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT)
		return "self signed certificate";
	return X509_verify_cert_error_string(code);
}

const char *certval__validate(struct certval *v, const struct certval_cert *certs, unsigned n,
			      uint64_t now_ns)
{
	time_t now_s = (time_t)(now_ns / 1000000000ULL);
	uint8_t key[32], ikey[32];
	struct chain_entry *e;
	struct inter_entry *ie;
	EVP_MD_CTX *md;
	X509 **chain = NULL;
	STACK_OF(X509) *good = NULL;
	int code = -1, nc = 0;
	bool ok = true;

	if (!v || !n || !certs[0].len)
		return NULL;
	/* the chain's key: SHA-256 over each certificate's length and DER */
	md = EVP_MD_CTX_new();
	ok = md && EVP_DigestInit_ex(md, mt_md(MT_SHA256), NULL) == 1;
	for (unsigned i = 0; ok && i < n; i++) {
		uint64_t l = certs[i].len;

		ok = EVP_DigestUpdate(md, &l, sizeof(l)) == 1 &&
		     EVP_DigestUpdate(md, certs[i].der, certs[i].len) == 1;
	}
	ok = ok && EVP_DigestFinal_ex(md, key, NULL) == 1;
	EVP_MD_CTX_free(md);
	if (!ok)
		return NULL;
	e = *slot_of(v, key);
	if (e && e->gen == v->gen && now_ns >= e->used &&
	    now_ns - e->used <= v->cfg.chain_expire_ns) {
		lru_unlink(v, e);
		e->used = now_ns;
		lru_append(v, e);
		atomic_fetch_add(&st_validations, 1);
		return verdict(e->code);
	}

	chain = calloc(n, sizeof(*chain));
	if (!chain)
		return NULL;
	for (unsigned i = 0; i < n; i++) {
		const unsigned char *p = certs[i].der;
		X509 *x = d2i_X509(NULL, &p, (long)certs[i].len);

		if (!x && i == 0)
			goto out; /* no parsed host certificate: nothing to validate */
		if (x)
			chain[nc++] = x;
	}
	atomic_fetch_add(&st_verified, 1);
	/* a chain known for the leaf's issuer first, then the server's own */
	if (name_key(X509_get_issuer_name(chain[0]), ikey) && (ie = inter_find(v, ikey))) {
		X509 **alt = calloc((size_t)ie->n + 1, sizeof(*alt));

		if (alt) {
			alt[0] = chain[0];
			memcpy(alt + 1, ie->certs, (size_t)ie->n * sizeof(*alt));
			code = verify(v, alt, ie->n + 1, now_s, NULL);
			free(alt);
			if (code == X509_V_OK)
				atomic_fetch_add(&st_via_inter, 1);
		}
	}
	if (code != X509_V_OK) {
		code = verify(v, chain, nc, now_s, &good);
		if (code == X509_V_OK && good)
			inter_add(v, good);
	}
	if (code >= 0) {
		chain_put(v, key, code, now_ns);
		atomic_fetch_add(&st_validations, 1);
		if (code == X509_V_OK)
			atomic_fetch_add(&st_ok, 1);
	}
out:
	if (good)
		sk_X509_pop_free(good, X509_free);
	for (int i = 0; i < nc; i++)
		X509_free(chain[i]);
	free(chain);
	return code >= 0 ? verdict(code) : NULL;
}

void certval__stats(struct certval_stats *o)
{
	o->validations = atomic_load(&st_validations);
	o->verified = atomic_load(&st_verified);
	o->ok = atomic_load(&st_ok);
	o->via_intermediates = atomic_load(&st_via_inter);
}
