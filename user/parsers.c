// SPDX-License-Identifier: BSD-3-Clause
/* The parser set: SMTP (with MIME and files) and SSL/TLS, registered with an engine. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "mailtap/certval.h"
#include "mailtap/engine.h"
#include "mailtap/intel.h"
#include "mailtap/knownset.h"
#include "mailtap/parsers.h"
#include "mailtap/software.h"
#include "mailtap/x509.h"

void parsers_cfg__default(struct parsers_cfg *c)
{
	memset(c, 0, sizeof(*c));
	files_cfg__default(&c->files);
	smtp_cfg__default(&c->smtp);
	c->smtp.files = &c->files;
	tls_cfg__default(&c->tls);
}

struct parsers {
	struct parsers_cfg c;
	bool own_tables; /* x509_dedup, known_certs_set and sw are this engine's */
};

struct parsers_shared {
	struct x509_cache *x509;
	struct knownset *known_certs;
	struct software *sw;
};

void parsers_shared__free(struct parsers_shared *s)
{
	if (!s)
		return;
	x509_cache__free(s->x509);
	knownset__free(s->known_certs);
	software__free(s->sw);
	free(s);
}

struct parsers_shared *parsers_shared__new(const struct parsers_cfg *c)
{
	struct parsers_shared *s = calloc(1, sizeof(*s));

	if (!s)
		goto nomem;
	if (c->tls.relog_known_certificates_after_ns &&
	    (!(s->x509 = x509_cache__new(c->tls.known_log_certs_maximum_size,
					 c->tls.relog_known_certificates_after_ns)) ||
	     x509_cache__share(s->x509) < 0))
		goto nomem;
	if (c->tls.known_certs &&
	    (!(s->known_certs = knownset__new(c->tls.known_certs_max, c->tls.known_certs_expire_ns,
					      0)) ||
	     knownset__share(s->known_certs) < 0))
		goto nomem;
	if (c->smtp.software.enabled &&
	    (!(s->sw = software__new(&c->smtp.software)) || software__share(s->sw) < 0))
		goto nomem;
	return s;
nomem:
	parsers_shared__free(s);
	errno = ENOMEM;
	return NULL;
}

struct parsers *parsers__register(struct engine *e, const struct parsers_cfg *tmpl)
{
	struct parsers *p = calloc(1, sizeof(*p));
	const struct parsers_shared *sh = tmpl->shared;
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
	p->own_tables = !sh;
	p->c.tls.x509_dedup = NULL;
	p->c.tls.certval = NULL;
	p->c.tls.known_certs_set = NULL;
	p->c.tls.intel_memo = NULL;
	p->c.smtp.sw = NULL;
	if (sh) {
		p->c.tls.x509_dedup = sh->x509;
		p->c.tls.known_certs_set = sh->known_certs;
		p->c.smtp.sw = sh->sw;
	} else {
		if (p->c.tls.relog_known_certificates_after_ns &&
		    !(p->c.tls.x509_dedup =
			  x509_cache__new(p->c.tls.known_log_certs_maximum_size,
					  p->c.tls.relog_known_certificates_after_ns)))
			goto nomem;
		if (p->c.tls.known_certs &&
		    !(p->c.tls.known_certs_set = knownset__new(
			  p->c.tls.known_certs_max, p->c.tls.known_certs_expire_ns, 0)))
			goto nomem;
		if (p->c.smtp.software.enabled &&
		    !(p->c.smtp.sw = software__new(&p->c.smtp.software)))
			goto nomem;
	}
	if (p->c.tls.cert_roots &&
	    !(p->c.tls.certval = certval__new(&p->c.tls.certval_cfg, p->c.tls.cert_roots)))
		goto nomem;
	/* with any intel: a reloaded store may bring EMAIL or DOMAIN items */
	if (p->c.tls.intel && !(p->c.tls.intel_memo = intel_certmemo__new()))
		goto nomem;
	err = engine__add_parser(e, &app_smtp_ops, &p->c.smtp);
	if (!err)
		err = engine__add_parser(e, &app_tls_ops, &p->c.tls);
	if (err) {
		parsers__free(p);
		errno = -err;
		return NULL;
	}
	return p;
nomem:
	parsers__free(p);
	errno = ENOMEM;
	return NULL;
}

void parsers__free(struct parsers *p)
{
	if (!p)
		return;
	if (p->own_tables) {
		x509_cache__free(p->c.tls.x509_dedup);
		software__free(p->c.smtp.sw);
		knownset__free(p->c.tls.known_certs_set);
	}
	certval__free(p->c.tls.certval);
	intel_certmemo__free(p->c.tls.intel_memo);
	free(p);
}
