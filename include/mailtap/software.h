/* SPDX-License-Identifier: BSD-3-Clause */
/* Mail software detection, as Zeek's policy/protocols/smtp/software.zeek (loaded by Zeek's
 * local.zeek) with base/frameworks/software/main.zeek:
 *   - the webmail test behind smtp's is_webmail (software__webmail_ua);
 *   - versions through Zeek's parser Software::parse (include/mailtap/swparse.h);
 *   - Software::found/register: a table of the software seen per host, so that a host's
 *     client is logged when first seen, when its version changes, and again after the host's
 *     entry expired (Software::tracked &create_expire=1day);
 *   - the software record (Zeek software.log, Software::Info).
 * One struct software per worker (no locking), owned by the parser set (user/parsers.c). */
#ifndef MAILTAP_SOFTWARE_H
#define MAILTAP_SOFTWARE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "mailtap/swparse.h"
#include "mailtap/types.h"

/* SMTP::webmail_user_agents: is this USER-AGENT value a webmail interface's? */
bool software__webmail_ua(const char *s, size_t n);

/* ---- per-worker detection ---- */

struct software_cfg {
	bool enabled;	    /* is_webmail in smtp records and the software stream (true) */
	uint32_t max_hosts; /* hosts tracked at once; the oldest is forgotten (65536) */
	uint64_t expire_ns; /* Software::tracked &create_expire (1 day) */
	uint32_t max_ua;    /* bytes of a user agent parsed (256) */
};
/* Software names remembered per host; a further one replaces the oldest. */
#define SOFTWARE_NAMES_PER_HOST 8

void software_cfg__default(struct software_cfg *c);

struct software;
struct software *software__new(const struct software_cfg *c);
void software__free(struct software *sw);

/* Zeek's SMTP::Software type names. */
enum sw_type { SW_MAIL_CLIENT, SW_WEBMAIL_SERVER };

/* Software::found for a client found in mail: host runs `ua` (the smtp record's user_agent)
 * as type t, seen at now_ns. Returns true when a software record is due (new on the host,
 * or its version changed); *d then holds the parsed description (valid until the next
 * call). Host is expected to be local (Software::asset_tracking): the caller checks. */
bool software__found(struct software *sw, const struct mt_addr *host, enum sw_type t,
		     const char *ua, size_t ua_len, uint64_t now_ns, struct sw_desc *d);

struct rec;
/* The software record (Software::Info): ts host software_type name version.* unparsed_version. */
void software__write(struct rec *r, uint64_t ts_ns, const struct mt_addr *host, enum sw_type t,
		     const struct sw_desc *d, const char *ua, size_t ua_len);
/* software__found, and the record when one is due, in one call: under the table's lock when
 * it is shared (*d lives in the table's parser until the next call). true: written. */
bool software__found_write(struct software *sw, struct rec *r, const struct mt_addr *host,
			   enum sw_type t, const char *ua, size_t ua_len, uint64_t now_ns);
/* From now on software__found_write takes the table's lock: one table for all workers (as
 * Zeek's cluster registers software on its manager). 0 or -ENOMEM. */
int software__share(struct software *sw);

/* Process-wide counters (all workers). */
struct software_stats {
	uint64_t found;		/* software__found calls */
	uint64_t logged;	/* software records due */
	uint64_t parsed;	/* strings parsed (the rest were known for their host) */
	uint64_t parse_cut;	/* strings parsed cut to max_ua */
	uint64_t hosts;		/* hosts tracked now */
	uint64_t hosts_evicted; /* forgotten before their expiry: max_hosts */
};
void software__stats(struct software_stats *out);

#endif
