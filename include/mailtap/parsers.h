/* SPDX-License-Identifier: BSD-3-Clause */
/* The application parsers mailtap runs, with their configuration: SMTP (with MIME and file
 * analysis) and SSL/TLS. One place that knows them all, for main and the fuzz targets. */
#ifndef MAILTAP_PARSERS_H
#define MAILTAP_PARSERS_H

#include "mailtap/files.h"
#include "mailtap/smtp.h"
#include "mailtap/tls.h"

struct engine;
struct parsers_shared;

struct parsers_cfg {
	struct smtp_cfg smtp;
	struct tls_cfg tls;
	struct files_cfg files; /* MIME entities (smtp.files points here) */
	struct files_cfg rfc822_files; /* whole messages (--rfc822-msg-hashes) */
	bool rfc822_own_hashes;	       /* rfc822_files differs from files */
	/* Tables every worker shares (parsers_shared__new); NULL: each engine makes its own. */
	const struct parsers_shared *shared;
};

/* Defaults: Zeek's (SMTP limits, md5+sha1 for mail entities, md5+sha1+sha256 for
 * certificates). */
void parsers_cfg__default(struct parsers_cfg *c);
/* One engine's parsers: a copy of the configuration, and the tables that decide what is
 * logged once: the x509 dedup cache (X509::known_log_certs), the known_certs set
 * (Known::certs) and the software table (Software::tracked). Without `shared` the engine has
 * its own (no locking); with it, every engine uses the shared ones, each under its lock, so
 * that N workers log a certificate, a known server certificate or a client as one engine
 * would (as a Zeek cluster shares them through its manager or a store). The validation
 * caches and the intel certificate memo stay per engine (they change no record). */
struct parsers;

/* The shared tables for the configuration c (those c turns on). NULL with errno set. */
struct parsers_shared *parsers_shared__new(const struct parsers_cfg *c);
void parsers_shared__free(struct parsers_shared *s);

/* Registers "smtp" and "ssl" with the engine. Free with parsers__free after the engine.
 * NULL with errno set. */
struct parsers *parsers__register(struct engine *e, const struct parsers_cfg *c);
void parsers__free(struct parsers *p);

#endif
