/* SPDX-License-Identifier: BSD-3-Clause */
/* X.509 certificate fields as Zeek's X509 file analyzer logs them (x509.log), parsed with
 * OpenSSL (d2i_X509), never by hand. Also the x509 log deduplication cache (Zeek's
 * X509::known_log_certs) and Zeek's SNI-vs-certificate hostname check. */
#ifndef MAILTAP_X509_H
#define MAILTAP_X509_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "mailtap/types.h"

/* Fields of one certificate. Strings are NUL-terminated and malloc'd (or NULL = unset). */
struct x509_info {
	char fingerprint[65]; /* sha256 of the DER, lowercase hex (X509::hash_function) */
	unsigned version;     /* X509_get_version + 1 */
	char *serial;	      /* i2a_ASN1_INTEGER: uppercase hex */
	char *subject;	      /* X509_NAME_print_ex(..., XN_FLAG_RFC2253) */
	char *issuer;
	double not_valid_before; /* seconds since the epoch */
	double not_valid_after;
	char *key_alg;	      /* e.g. rsaEncryption, id-ecPublicKey */
	char *sig_alg;	      /* e.g. sha256WithRSAEncryption */
	const char *key_type; /* "rsa", "dsa", "ecdsa" or NULL */
	unsigned key_length;  /* bits; 0 = unset */
	char *exponent;	      /* RSA public exponent, decimal */
	char *curve;	      /* EC group name, e.g. prime256v1 */
	bool has_san;	      /* subjectAltName extension parsed */
	struct mt_str *san_dns, *san_uri, *san_email; /* NUL bytes kept */
	unsigned n_san_dns, n_san_uri, n_san_email;
	struct mt_addr *san_ip;
	unsigned n_san_ip;
	bool has_basic_constraints;
	bool bc_ca;
	bool has_bc_path_len;
	int32_t bc_path_len; /* as Zeek's (int32_t)ASN1_INTEGER_get(): may be negative */
	bool host_cert;	 /* first certificate of the chain (mime application/x-x509-user-cert) */
	bool client_cert;
	void *handle; /* the OpenSSL X509 (for the hostname check); owned */
};

/* Parses DER. max_san caps the entries kept per SAN kind (extra ones dropped, counted in
 * *san_dropped if non-NULL). weird(u, name, addl) reports Zeek's x509 weirds
 * (x509_san_non_string, x509_san_ip_length with addl the length, x509_invalid_basic_constraint,
 * x509_san_parse_error, and GetTimeFromAsn1's x509_utc_length, x509_utc_format,
 * x509_gen_time_length, x509_invalid_time_type, x509_time_add_char,
 * x509_time_offset_underflow, x509_time_offset_type: the dates are read as Zeek reads them,
 * not by OpenSSL); Zeek raises them as file weirds of the certificate (the caller
 * writes them with its fuid, as x509_cert_parse_error).
 * Returns 0, or -EINVAL when OpenSSL cannot parse the certificate (Zeek: x509_cert_parse_error;
 * xi->fingerprint is still set), -ENOMEM. */
int x509__parse(const uint8_t *der, size_t len, unsigned max_san, struct x509_info *xi,
		void (*weird)(void *u, const char *name, const char *addl), void *u);
void x509_info__free(struct x509_info *xi);

/* Zeek's x509_check_cert_hostname() != "": SAN DNS names if a SAN is present, else the last CN;
 * RFC 6125 style left-most-label wildcards, at the third level or deeper, case-sensitive. */
bool x509__hostname_matches(const struct x509_info *xi, const char *host, size_t len);
/* Zeek's certificate$cn: the last CN of the subject as ASN1_STRING_print shows it, into buf
 * (NUL-terminated, cut at cap-1). Its length, or -1 when the subject has no CN. */
int x509__cn(const struct x509_info *xi, char *buf, size_t cap);
/* Zeek's check_hostname() for one name (exported for tests). */
bool x509__check_hostname(const char *host, size_t hlen, const char *name, size_t nlen);

/* Lowercase hex sha256 of buf into out[65]. */
void x509__sha256_hex(const uint8_t *buf, size_t len, char out[65]);

/* Log deduplication: a certificate (fingerprint, host_cert, client_cert) is logged once per
 * expire_ns (X509::relog_known_certificates_after, default 1 day); at most max_entries are
 * remembered (X509::known_log_certs_maximum_size, default 1000000). */
struct x509_cache;
struct x509_cache *x509_cache__new(uint32_t max_entries, uint64_t expire_ns);
void x509_cache__free(struct x509_cache *c);
/* From now on every call takes the cache's lock: one cache for all workers (Zeek's
 * X509::known_log_certs_use_broker). 0 or -ENOMEM. */
int x509_cache__share(struct x509_cache *c);
/* true: already logged (skip). false: log it; it is remembered if there is room. */
bool x509_cache__seen(struct x509_cache *c, const char fingerprint[65], bool host_cert,
		      bool client_cert, uint64_t now_ns);
/* The same question without remembering anything. Only certificates OpenSSL parsed are ever
 * remembered, so a hit also means "parses": app_tls skips OpenSSL for it (d2i_X509 costs
 * hundreds of microseconds with OpenSSL 3.0). */
bool x509_cache__contains(const struct x509_cache *c, const char fingerprint[65], bool host_cert,
			  bool client_cert, uint64_t now_ns);
/* sni_matches_cert memo: whether a host certificate matches an SNI depends on the two
 * only, so the answer is remembered (256 slots, direct-mapped, SNI up to 64 bytes) and a
 * cached certificate needs no OpenSSL parse for it either. get: 1, 0, or -1 unknown. */
int x509_cache__sni_get(const struct x509_cache *c, const char fingerprint[65], const char *sni);
void x509_cache__sni_put(struct x509_cache *c, const char fingerprint[65], const char *sni,
			 bool match);

#endif
