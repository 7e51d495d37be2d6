/* SPDX-License-Identifier: BSD-3-Clause */
/* Certificate chain validation as Zeek's policy/protocols/ssl/validate-certs.zeek (loaded by
 * Zeek's local.zeek): ssl's validation_status is OpenSSL's verdict (X509_verify_cert, its
 * error string) on the server's chain against a root store, at the connection's time.
 * Recently validated chains are remembered (SSL::recently_validated_certs, &read_expire
 * 5 min), and the intermediates of valid chains are kept by subject to complete the chains
 * of servers that do not send them (SSL::ssl_cache_intermediate_ca), as Zeek does.
 *
 * The root store is loaded once (certval_roots__load, before privileges are dropped: the
 * file is read whole, nothing is read later) and shared; each worker has its own caches. */
#ifndef MAILTAP_CERTVAL_H
#define MAILTAP_CERTVAL_H

#include <stddef.h>
#include <stdint.h>

struct certval_roots;
/* PEM file of trusted roots (Zeek uses its copy of Mozilla's list; Debian's
 * /etc/ssl/certs/ca-certificates.crt is that list). NULL with errno set: opening's reason
 * (ENOENT, EACCES, ...), EISDIR for a directory, ENODATA for a file without a PEM
 * certificate, ENOMEM. */
struct certval_roots *certval_roots__load(const char *pem_file);
void certval_roots__free(struct certval_roots *r);
/* Roots loaded. */
unsigned certval_roots__count(const struct certval_roots *r);

struct certval_cfg {
	uint32_t max_chains;	    /* validated chains remembered (10000) */
	uint64_t chain_expire_ns;   /* ... since last used (5 min, Zeek's &read_expire) */
	uint32_t max_intermediates; /* intermediate chains kept by subject (1000; Zeek: no
				     * limit) */
};
void certval_cfg__default(struct certval_cfg *c);

struct certval;
struct certval *certval__new(const struct certval_cfg *c, const struct certval_roots *roots);
void certval__free(struct certval *v);

/* Certificates of a chain the TLS parser hands over: all it keeps (tls_limits.max_certs,
 * 32, no option). */
#define CERTVAL_MAX_CHAIN 32

/* One certificate of a chain, as DER. */
struct certval_cert {
	const uint8_t *der;
	size_t len;
};

/* validation_status of the server chain certs[0..n) at now_ns: OpenSSL's string ("ok",
 * "unable to get local issuer certificate", "certificate has expired", ...; a self-signed
 * host certificate is "self signed certificate" as in Zeek's x509_verify), or NULL when there is nothing to validate (no certificate, one that does
 * not parse) or no memory. Valid until the next call. */
const char *certval__validate(struct certval *v, const struct certval_cert *certs, unsigned n,
			      uint64_t now_ns);

/* Process-wide counters (all workers). */
struct certval_stats {
	uint64_t validations;	    /* certval__validate calls that gave a status */
	uint64_t verified;	    /* chains OpenSSL verified (the rest were remembered) */
	uint64_t ok;		    /* of those: "ok" */
	uint64_t via_intermediates; /* "ok" only with remembered intermediates */
};
void certval__stats(struct certval_stats *out);

#endif
