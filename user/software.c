// SPDX-License-Identifier: BSD-3-Clause
/* Mail software detection (Zeek's policy/protocols/smtp/software.zeek and
 * base/frameworks/software/main.zeek): the webmail test, the per-host table of
 * Software::register, the software record; versions come from swparse.c. See
 * include/mailtap/software.h. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include "mailtap/bits.h"
#include "mailtap/knownset.h"
#include "mailtap/rec.h"
#include "mailtap/optlock.h"
#include "mailtap/software.h"

/* ---- the webmail test ---- */

static bool has_prefix(const char *s, size_t n, const char *p)
{
	size_t l = strlen(p);

	return n >= l && memcmp(s, p, l) == 0;
}

bool software__webmail_ua(const char *s, size_t n)
{
	/* /^iPlanet Messenger/ | /^Sun Java\(tm\) System Messenger Express/ | /\(IMP\)/ |
	 * /^SquirrelMail/ | /^NeoMail/ | /ZimbraWebClient/, case-sensitive as Zeek's. */
	return has_prefix(s, n, "iPlanet Messenger") ||
	       has_prefix(s, n, "Sun Java(tm) System Messenger Express") ||
	       memmem(s, n, "(IMP)", 5) || has_prefix(s, n, "SquirrelMail") ||
	       has_prefix(s, n, "NeoMail") || memmem(s, n, "ZimbraWebClient", 15);
}

/* ---- Software::tracked and Software::register ---- */

/* A remembered (name, version): hashes of the strings, the numbers as they are. */
struct sw_entry {
	uint64_t name_h, addl_h;
	uint64_t ua_h; /* the last client string that gave this version (skips parsing) */
	uint64_t num[4];
	unsigned has;
};

/* A host's software (the value of its key, the address, in the table). */
struct sw_host {
	uint8_t n, next_slot;
	struct sw_entry e[SOFTWARE_NAMES_PER_HOST];
};

struct software {
	struct software_cfg cfg;
	struct sw_parser *parser;
	struct knownset *hosts; /* Software::tracked: address -> struct sw_host */
	uint64_t seed;
	pthread_mutex_t *mu; /* software__share: shared by the workers */
};

static _Atomic uint64_t st_found, st_logged, st_parsed, st_parse_cut, st_hosts, st_evicted;

void software_cfg__default(struct software_cfg *c)
{
	c->enabled = true;
	c->max_hosts = 65536;
	c->expire_ns = 86400ULL * 1000000000ULL;
	c->max_ua = 256;
}

struct software *software__new(const struct software_cfg *c)
{
	struct software *sw = calloc(1, sizeof(*sw));

	if (!sw) {
		errno = ENOMEM;
		return NULL;
	}
	sw->cfg = *c;
	sw->hosts = knownset__new(c->max_hosts, c->expire_ns, sizeof(struct sw_host));
	sw->parser = sw_parser__new(c->max_ua);
	if (!sw->hosts || !sw->parser) {
		software__free(sw);
		errno = ENOMEM;
		return NULL;
	}
	if (getrandom(&sw->seed, sizeof(sw->seed), GRND_NONBLOCK) != sizeof(sw->seed))
		sw->seed = (uint64_t)(uintptr_t)sw;
	return sw;
}

void software__free(struct software *sw)
{
	if (!sw)
		return;
	atomic_fetch_sub(&st_hosts, knownset__count(sw->hosts));
	knownset__free(sw->hosts);
	mt_optlock__free(sw->mu);
	sw_parser__free(sw->parser);
	free(sw);
}

/* The host's software, made (empty) if it has none or its entry expired (&create_expire: an
 * entry goes expire_ns after it was made, however busy the host). NULL: out of memory. */
static struct sw_host *host_get(struct software *sw, const struct mt_addr *a, uint64_t now)
{
	size_t n0 = knownset__count(sw->hosts);
	uint64_t ev0 = knownset__evicted(sw->hosts);
	bool is_new;
	struct sw_host *h = knownset__get(sw->hosts, a->b, sizeof(a->b), now, &is_new);

	atomic_fetch_add(&st_hosts, knownset__count(sw->hosts) - n0); /* wraps down as well */
	atomic_fetch_add(&st_evicted, knownset__evicted(sw->hosts) - ev0);
	return h;
}

static void entry_set(struct software *sw, struct sw_entry *e, uint64_t name_h, uint64_t ua_h,
		      const struct sw_version *v)
{
	e->name_h = name_h;
	e->ua_h = ua_h;
	e->has = v->has;
	e->num[0] = v->major;
	e->num[1] = v->minor;
	e->num[2] = v->minor2;
	e->num[3] = v->minor3;
	e->addl_h = (v->has & SW_ADDL) ? mt_hash_bytes(sw->seed, v->addl, v->addl_len) : 0;
}

/* cmp_versions(old, new) == 0 */
static bool entry_same(const struct software *sw, const struct sw_entry *e,
		       const struct sw_version *v)
{
	static const unsigned bits[] = {SW_MAJOR, SW_MINOR, SW_MINOR2, SW_MINOR3};
	const uint64_t num[] = {v->major, v->minor, v->minor2, v->minor3};

	if (e->has != v->has)
		return false;
	for (int i = 0; i < 4; i++)
		if ((v->has & bits[i]) && e->num[i] != num[i])
			return false;
	return !(v->has & SW_ADDL) || e->addl_h == mt_hash_bytes(sw->seed, v->addl, v->addl_len);
}

bool software__found(struct software *sw, const struct mt_addr *host, enum sw_type t,
		     const char *ua, size_t ua_len, uint64_t now_ns, struct sw_desc *d)
{
	struct sw_host *h;
	struct sw_entry *e;
	uint64_t ua_h, name_h;
	int i;

	atomic_fetch_add(&st_found, 1);
	h = host_get(sw, host, now_ns);
	(void)t; /* not part of the key: Zeek keys a host's software by name */
	ua_h = mt_hash_bytes(sw->seed, ua, ua_len);
	if (h)
		for (i = 0; i < h->n; i++)
			if (h->e[i].ua_h == ua_h)
				return false;
	atomic_fetch_add(&st_parsed, 1);
	if (sw_parser__parse(sw->parser, ua, ua_len, d) == -E2BIG)
		atomic_fetch_add(&st_parse_cut, 1);
	if (!h) { /* no memory to remember it: log it, as Zeek would the first time */
		atomic_fetch_add(&st_logged, 1);
		return true;
	}
	name_h = mt_hash_bytes(sw->seed, d->name, d->name_len);
	for (i = 0; i < h->n; i++) {
		e = &h->e[i];
		if (e->name_h != name_h)
			continue;
		if (entry_same(sw, e, &d->v)) {
			e->ua_h = ua_h;
			return false;
		}
		entry_set(sw, e, name_h, ua_h, &d->v); /* Software::version_change */
		atomic_fetch_add(&st_logged, 1);
		return true;
	}
	if (h->n < SOFTWARE_NAMES_PER_HOST) {
		e = &h->e[h->n++];
	} else {
		e = &h->e[h->next_slot];
		h->next_slot = (uint8_t)((h->next_slot + 1) % SOFTWARE_NAMES_PER_HOST);
	}
	entry_set(sw, e, name_h, ua_h, &d->v);
	atomic_fetch_add(&st_logged, 1);
	return true;
}

void software__write(struct rec *r, uint64_t ts_ns, const struct mt_addr *host, enum sw_type t,
		     const struct sw_desc *d, const char *ua, size_t ua_len)
{
	const struct sw_version *v = &d->v;

	rec__begin(r, "software", ts_ns);
	rec__addr(r, "host", host);
	rec__cstr(r, "software_type",
		  t == SW_WEBMAIL_SERVER ? "SMTP::WEBMAIL_SERVER" : "SMTP::MAIL_CLIENT");
	rec__str(r, "name", d->name, d->name_len);
	if (v->has & SW_MAJOR)
		rec__u64(r, "version.major", v->major);
	if (v->has & SW_MINOR)
		rec__u64(r, "version.minor", v->minor);
	if (v->has & SW_MINOR2)
		rec__u64(r, "version.minor2", v->minor2);
	if (v->has & SW_MINOR3)
		rec__u64(r, "version.minor3", v->minor3);
	if (v->has & SW_ADDL)
		rec__str(r, "version.addl", v->addl, v->addl_len);
	rec__str(r, "unparsed_version", ua, ua_len);
	rec__end(r);
}

int software__share(struct software *sw)
{
	return mt_optlock__share(&sw->mu);
}

bool software__found_write(struct software *sw, struct rec *r, const struct mt_addr *host,
			   enum sw_type t, const char *ua, size_t ua_len, uint64_t now_ns)
{
	struct sw_desc d;
	bool due;

	mt_optlock__lock(sw->mu);
	due = software__found(sw, host, t, ua, ua_len, now_ns, &d);
	if (due)
		software__write(r, now_ns, host, t, &d, ua, ua_len);
	mt_optlock__unlock(sw->mu);
	return due;
}

void software__stats(struct software_stats *o)
{
	o->found = atomic_load(&st_found);
	o->logged = atomic_load(&st_logged);
	o->parsed = atomic_load(&st_parsed);
	o->parse_cut = atomic_load(&st_parse_cut);
	o->hosts = atomic_load(&st_hosts);
	o->hosts_evicted = atomic_load(&st_evicted);
}
