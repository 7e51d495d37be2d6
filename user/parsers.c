// SPDX-License-Identifier: BSD-3-Clause
/* The parser set: SMTP (with MIME and files) and SSL/TLS, registered with an engine. */
#include <errno.h>
#include <stdlib.h>
#include "mailtap/certval.h"
#include "mailtap/engine.h"
#include "mailtap/intel.h"
#include "mailtap/knownset.h"
#include "mailtap/parsers.h"
#include "mailtap/software.h"
#include "mailtap/x509.h"

void parsers_cfg__default(struct parsers_cfg *c)
{
	files_cfg__default(&c->files);
	smtp_cfg__default(&c->smtp);
	c->smtp.files = &c->files;
	tls_cfg__default(&c->tls);
}

struct parsers {
	struct parsers_cfg c;
};

struct parsers *parsers__register(struct engine *e, const struct parsers_cfg *tmpl)
{
	struct parsers *p = calloc(1, sizeof(*p));
	int err;

	if (!p)
		return NULL;
	p->c = *tmpl;
	p->c.smtp.files = &p->c.files;
	p->c.smtp.rfc822_files = NULL;
	if (p->c.rfc822_own_hashes) {
		struct files_cfg *r = &p->c.rfc822_files;
		bool md5 = r->md5, sha1 = r->sha1, sha256 = r->sha256;

		*r = p->c.files; /* everything else as for the entities */
		r->md5 = md5;
		r->sha1 = sha1;
		r->sha256 = sha256;
		p->c.smtp.rfc822_files = r;
	}
	p->c.tls.x509_dedup = NULL;
	if (p->c.tls.relog_known_certificates_after_ns) {
		p->c.tls.x509_dedup = x509_cache__new(p->c.tls.known_log_certs_maximum_size,
						      p->c.tls.relog_known_certificates_after_ns);
		if (!p->c.tls.x509_dedup) {
			free(p);
			errno = ENOMEM;
			return NULL;
		}
	}
	p->c.tls.certval = NULL;
	if (p->c.tls.cert_roots &&
	    !(p->c.tls.certval = certval__new(&p->c.tls.certval_cfg, p->c.tls.cert_roots))) {
		x509_cache__free(p->c.tls.x509_dedup);
		free(p);
		errno = ENOMEM;
		return NULL;
	}
	p->c.tls.known_certs_set = NULL;
	if (p->c.tls.known_certs &&
	    !(p->c.tls.known_certs_set =
		  knownset__new(p->c.tls.known_certs_max, p->c.tls.known_certs_expire_ns, 0))) {
		certval__free(p->c.tls.certval);
		x509_cache__free(p->c.tls.x509_dedup);
		free(p);
		errno = ENOMEM;
		return NULL;
	}
	p->c.tls.intel_memo = NULL;
	if ((intel__has(p->c.tls.intel, INTEL_EMAIL) || intel__has(p->c.tls.intel, INTEL_DOMAIN)) &&
	    !(p->c.tls.intel_memo = intel_certmemo__new())) {
		knownset__free(p->c.tls.known_certs_set);
		certval__free(p->c.tls.certval);
		x509_cache__free(p->c.tls.x509_dedup);
		free(p);
		errno = ENOMEM;
		return NULL;
	}
	p->c.smtp.sw = NULL;
	if (p->c.smtp.software.enabled) {
		p->c.smtp.sw = software__new(&p->c.smtp.software);
		if (!p->c.smtp.sw) {
			intel_certmemo__free(p->c.tls.intel_memo);
			knownset__free(p->c.tls.known_certs_set);
			certval__free(p->c.tls.certval);
			x509_cache__free(p->c.tls.x509_dedup);
			free(p);
			errno = ENOMEM;
			return NULL;
		}
	}
	err = engine__add_parser(e, &app_smtp_ops, &p->c.smtp);
	if (!err)
		err = engine__add_parser(e, &app_tls_ops, &p->c.tls);
	if (err) {
		parsers__free(p);
		errno = -err;
		return NULL;
	}
	return p;
}

void parsers__free(struct parsers *p)
{
	if (!p)
		return;
	x509_cache__free(p->c.tls.x509_dedup);
	software__free(p->c.smtp.sw);
	certval__free(p->c.tls.certval);
	knownset__free(p->c.tls.known_certs_set);
	intel_certmemo__free(p->c.tls.intel_memo);
	free(p);
}
