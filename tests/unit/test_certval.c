// SPDX-License-Identifier: BSD-3-Clause
/* Certificate validation (validate-certs.zeek): chains made here with OpenSSL (a root, an
 * intermediate, leaves; EC P-256) and checked against OpenSSL's verdicts at chosen times:
 * a whole chain is "ok"; without its intermediate "unable to get local issuer certificate",
 * until a valid chain through that intermediate was seen (Zeek's intermediate cache); a leaf
 * before or after its validity; a self-signed leaf; verdicts remembered (not verified again)
 * until unused for the expiry time; the cache bounded; no certificate or garbage: no status. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include "mailtap/certval.h"

#define SEC 1000000000ULL
#define T0 1700000000LL /* 2023-11-14: the certificates are valid T0 - 1 day .. T0 + 30 days */

struct cert {
	X509 *x;
	EVP_PKEY *key;
	uint8_t *der;
	size_t len;
};

static EVP_PKEY *new_key(void)
{
	return EVP_EC_gen("P-256");
}

static void add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *e;

	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	assert_non_null(e);
	X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
}

/* A certificate for cn, signed by issuer (NULL: self-signed), valid from..until (unix s). */
static struct cert make(const char *cn, const struct cert *issuer, bool ca, long long from,
			long long until)
{
	struct cert c = {X509_new(), new_key(), NULL, 0};
	X509_NAME *name = X509_NAME_new();
	static long serial = 1;
	unsigned char *p;

	assert_non_null(c.x);
	assert_non_null(c.key);
	X509_set_version(c.x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(c.x), serial++);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(c.x, name);
	X509_set_issuer_name(c.x, issuer ? X509_get_subject_name(issuer->x) : name);
	X509_NAME_free(name);
	ASN1_TIME_set(X509_getm_notBefore(c.x), (time_t)from);
	ASN1_TIME_set(X509_getm_notAfter(c.x), (time_t)until);
	X509_set_pubkey(c.x, c.key);
	add_ext(c.x, issuer ? issuer->x : c.x, NID_basic_constraints,
		ca ? "critical,CA:TRUE" : "CA:FALSE");
	if (ca)
		add_ext(c.x, issuer ? issuer->x : c.x, NID_key_usage,
			"critical,keyCertSign,cRLSign");
	assert_true(X509_sign(c.x, issuer ? issuer->key : c.key, EVP_sha256()) > 0);
	c.len = (size_t)i2d_X509(c.x, NULL);
	c.der = malloc(c.len);
	p = c.der;
	i2d_X509(c.x, &p);
	return c;
}

static void drop(struct cert *c)
{
	X509_free(c->x);
	EVP_PKEY_free(c->key);
	free(c->der);
}

static struct cert root, inter, leaf1, leaf2, expired, selfsigned;
static struct certval_roots *roots;
static char pem_path[64];

static int setup(void **st)
{
	long long a = T0 - 86400, b = T0 + 30 * 86400;
	FILE *f;
	int fd;

	(void)st;
	root = make("Test Root", NULL, true, a - 86400, b + 86400 * 365);
	inter = make("Test Intermediate", &root, true, a, b + 86400 * 30);
	leaf1 = make("mx1.example.net", &inter, false, a, b);
	leaf2 = make("mx2.example.net", &inter, false, a, b);
	expired = make("old.example.net", &inter, false, a, T0 - 3600);
	selfsigned = make("self.example.net", NULL, false, a, b);
	snprintf(pem_path, sizeof(pem_path), "/tmp/test_certval.XXXXXX");
	fd = mkstemp(pem_path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	PEM_write_X509(f, root.x);
	fclose(f);
	roots = certval_roots__load(pem_path);
	assert_non_null(roots);
	return 0;
}

static int teardown(void **st)
{
	(void)st;
	certval_roots__free(roots);
	unlink(pem_path);
	drop(&root);
	drop(&inter);
	drop(&leaf1);
	drop(&leaf2);
	drop(&expired);
	drop(&selfsigned);
	return 0;
}

static const char *val(struct certval *v, const struct cert *a, const struct cert *b, long long t)
{
	struct certval_cert cc[2] = {{a->der, a->len}, {b ? b->der : NULL, b ? b->len : 0}};

	return certval__validate(v, cc, b ? 2 : 1, (uint64_t)t * SEC);
}

static void test_roots(void **st)
{
	const char *bundle = "/etc/ssl/certs/ca-certificates.crt";
	struct certval_roots *r;
	char line[128];
	unsigned n = 0;
	FILE *f;

	(void)st;
	assert_int_equal(certval_roots__count(roots), 1);
	/* every certificate of the system's bundle indexed (decoded only when asked for) */
	if ((f = fopen(bundle, "r"))) {
		while (fgets(line, sizeof(line), f))
			n += !strncmp(line, "-----BEGIN CERTIFICATE-----", 27);
		fclose(f);
		r = certval_roots__load(bundle);
		assert_non_null(r);
		assert_int_equal(certval_roots__count(r), n);
		certval_roots__free(r);
	}
	errno = 0;
	assert_null(certval_roots__load("/nonexistent/ca.pem"));
	assert_int_equal(errno, ENOENT);
}

/* Each failure says what it is (--ssl-ca-file's message is its strerror): a directory and a
 * file without a certificate were both "No such file or directory". */
static void test_roots_errors(void **st)
{
	char dir[] = "/tmp/test_certval_dir.XXXXXX", file[64];
	FILE *f;

	(void)st;
	assert_non_null(mkdtemp(dir));
	errno = 0;
	assert_null(certval_roots__load(dir));
	assert_int_equal(errno, EISDIR);
	snprintf(file, sizeof(file), "%s/none.pem", dir);
	f = fopen(file, "w");
	assert_non_null(f);
	fputs("no certificate here\n-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
	      f);
	fclose(f);
	errno = 0;
	assert_null(certval_roots__load(file));
	assert_int_equal(errno, ENODATA);
	if (geteuid() != 0) { /* root reads it anyway */
		chmod(file, 0);
		errno = 0;
		assert_null(certval_roots__load(file));
		assert_int_equal(errno, EACCES);
	}
	unlink(file);
	rmdir(dir);
}

static void test_verdicts(void **st)
{
	struct certval_cfg c;
	struct certval *v;
	struct certval_stats s0, s1;

	(void)st;
	certval_cfg__default(&c);
	v = certval__new(&c, roots);
	assert_non_null(v);
	certval__stats(&s0);
	/* leaf2 alone before any chain through the intermediate was seen */
	assert_string_equal(val(v, &leaf2, NULL, T0), "unable to get local issuer certificate");
	assert_string_equal(val(v, &leaf1, &inter, T0), "ok");
	/* now the intermediate is known: leaf2 alone validates (a new time: not remembered) */
	assert_string_equal(val(v, &leaf2, NULL, T0 + 1000), "ok");
	assert_string_equal(val(v, &expired, &inter, T0), "certificate has expired");
	assert_string_equal(val(v, &leaf1, &inter, T0 + 200), "ok"); /* remembered */
	/* Zeek's spelling (x509_verify rewrites OpenSSL 3's "self-signed certificate"), fresh and
	 * remembered */
	assert_string_equal(val(v, &selfsigned, NULL, T0), "self signed certificate");
	assert_string_equal(val(v, &selfsigned, NULL, T0 + 1), "self signed certificate");
	certval__stats(&s1);
	assert_int_equal(s1.validations - s0.validations, 7);
	assert_int_equal(s1.verified - s0.verified, 5);
	assert_int_equal(s1.via_intermediates - s0.via_intermediates, 1);
	certval__free(v);

	/* a fresh validator at a time before the validity: not yet valid */
	v = certval__new(&c, roots);
	assert_string_equal(val(v, &leaf1, &inter, T0 - 3 * 86400), "certificate is not yet valid");
	certval__free(v);
}

static void test_cache(void **st)
{
	struct certval_cfg c;
	struct certval *v;
	struct certval_stats s0, s1;

	(void)st;
	certval_cfg__default(&c);
	c.max_chains = 2;
	v = certval__new(&c, roots);
	assert_non_null(v);
	certval__stats(&s0);
	assert_string_equal(val(v, &leaf1, &inter, T0), "ok");	     /* verified */
	assert_string_equal(val(v, &leaf1, &inter, T0 + 299), "ok"); /* remembered, used */
	assert_string_equal(val(v, &leaf1, &inter, T0 + 598), "ok"); /* within 5 min of use */
	assert_string_equal(val(v, &leaf1, &inter, T0 + 899), "ok"); /* unused 301 s: again */
	certval__stats(&s1);
	assert_int_equal(s1.verified - s0.verified, 2);
	/* the verdict of the first check stays while it is used, even past the validity (as
	 * Zeek's read_expire cache) */
	assert_string_equal(val(v, &expired, &inter, T0 - 3700), "ok");
	assert_string_equal(val(v, &expired, &inter, T0 - 3500), "ok");
	/* three chains, room for two: the least recently used goes */
	assert_non_null(val(v, &leaf2, &inter, T0 + 900));
	assert_non_null(val(v, &selfsigned, NULL, T0 + 900));
	certval__stats(&s0);
	assert_non_null(val(v, &leaf1, &inter, T0 + 901)); /* evicted: verified again */
	certval__stats(&s1);
	assert_int_equal(s1.verified - s0.verified, 1);
	certval__free(v);
}

static void test_nothing(void **st)
{
	struct certval_cfg c;
	struct certval *v;
	static const uint8_t junk[] = {0x30, 0x03, 0x02, 0x01, 0x01};
	struct certval_cert cc[2] = {{junk, sizeof(junk)}, {leaf1.der, leaf1.len}};

	(void)st;
	certval_cfg__default(&c);
	v = certval__new(&c, roots);
	assert_null(certval__validate(v, cc, 0, T0 * SEC));
	assert_null(certval__validate(v, cc, 2, T0 * SEC)); /* the host certificate is junk */
	cc[1] = cc[0];
	cc[0] = (struct certval_cert){leaf1.der, leaf1.len};
	/* junk beside it: left out of the chain */
	assert_string_equal(certval__validate(v, cc, 2, T0 * SEC),
			    "unable to get local issuer certificate");
	assert_null(certval__validate(NULL, cc, 1, T0 * SEC));
	certval__free(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_roots),
	    cmocka_unit_test(test_roots_errors),
	    cmocka_unit_test(test_verdicts),
	    cmocka_unit_test(test_cache),
	    cmocka_unit_test(test_nothing),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
