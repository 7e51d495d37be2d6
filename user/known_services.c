// SPDX-License-Identifier: BSD-3-Clause
/* known_services records (known_services.h): the commit of known-services.zeek against a
 * shared set of (host, port) entries, each with the flags of its services, and a bounded
 * per-engine queue for the commits its script schedules five minutes ahead. */
#include <stdlib.h>
#include <string.h>
#include "mailtap/known_services.h"
#include "mailtap/knownset.h"
#include "mailtap/rec.h"

/* The service names engines commit, a flag each in the set's (host, port) entry. */
static const char *const names[] = {"", "SMTP", "SSL"};

static int name_bit(const char *svc)
{
	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(svc, names[i]))
			return (int)i;
	return -1;
}

/* The commit at network time now, of a record stamped ts: Known::services is checked and
 * added to at now (the scheduled commit's own time), the record carries ts. */
static bool commit_at(struct knownset *set, struct rec *r, uint64_t ts, uint64_t now,
		      const struct mt_addr *host, uint16_t port, const char *const *svc, int n)
{
	uint8_t key[18]; /* host (16) + port (2, big-endian) */
	uint32_t want = 0, fresh;

	memcpy(key, host->b, 16);
	key[16] = (uint8_t)(port >> 8);
	key[17] = (uint8_t)port;
	for (int i = 0; i < n && i < KNOWN_SERVICES_MAX_SVC; i++) {
		int b = name_bit(svc[i]);

		if (b >= 0)
			want |= 1u << b;
	}
	if (!want)
		return false;
	/* known-services.zeek's check() and known_service_add: the (host, port) entry of
	 * `Known::services: table[addr, port] of set[string] &create_expire=1day` is made
	 * with the first service and expires with all of them; the record names the services
	 * the entry did not hold yet */
	fresh = knownset__add_bits(set, key, sizeof(key), now, want);
	if (!fresh)
		return false;
	rec__begin(r, "known_services", ts);
	rec__addr(r, "host", host);
	rec__port(r, "port_num", port);
	rec__cstr(r, "port_proto", "tcp");
	rec__arr_begin(r, "service");
	for (int i = 0; i < n && i < KNOWN_SERVICES_MAX_SVC; i++) {
		int b = name_bit(svc[i]);

		if (b >= 0 && (fresh & (1u << b))) {
			rec__arr_cstr(r, svc[i]);
			fresh &= ~(1u << b); /* a name given twice is one element of the set */
		}
	}
	rec__arr_end(r);
	rec__end(r);
	return true;
}

bool known_services__commit(struct knownset *set, struct rec *r, uint64_t ts,
			    const struct mt_addr *host, uint16_t port, const char *const *svc,
			    int n)
{
	return commit_at(set, r, ts, ts, host, port, svc, n);
}

struct pending {
	uint64_t ts;
	struct mt_addr host;
	uint16_t port;
};

/* a ring in time order: entries are added with the engine's clock, which only goes on */
struct known_services_queue {
	struct pending *ring;
	unsigned head, n;
};

struct known_services_queue *known_services_queue__new(void)
{
	struct known_services_queue *q = calloc(1, sizeof(*q));

	if (!q)
		return NULL;
	q->ring = calloc(KNOWN_SERVICES_QUEUE_MAX, sizeof(*q->ring));
	if (!q->ring) {
		free(q);
		return NULL;
	}
	return q;
}

void known_services_queue__free(struct known_services_queue *q)
{
	if (!q)
		return;
	free(q->ring);
	free(q);
}

/* The oldest entry's service_info_commit at network time now (its due time, or earlier: the
 * end of input, a full queue; never before the removal it is stamped with). */
static unsigned commit_oldest(struct known_services_queue *q, struct knownset *set, struct rec *r,
			      uint64_t now)
{
	static const char *const empty[1] = {""};
	const struct pending *p = &q->ring[q->head];
	bool w = commit_at(set, r, p->ts, now > p->ts ? now : p->ts, &p->host, p->port, empty, 1);

	q->head = (q->head + 1) % KNOWN_SERVICES_QUEUE_MAX;
	q->n--;
	return w;
}

unsigned known_services_queue__defer(struct known_services_queue *q, struct knownset *set,
				     struct rec *r, uint64_t ts, const struct mt_addr *host,
				     uint16_t port)
{
	unsigned w = 0;
	struct pending *p;

	if (q->n == KNOWN_SERVICES_QUEUE_MAX)
		w = commit_oldest(q, set, r, ts);
	p = &q->ring[(q->head + q->n) % KNOWN_SERVICES_QUEUE_MAX];
	p->ts = ts;
	p->host = *host;
	p->port = port;
	q->n++;
	return w;
}

uint64_t known_services_queue__next(const struct known_services_queue *q)
{
	return q->n ? q->ring[q->head].ts + KNOWN_SERVICES_DELAY_NS : UINT64_MAX;
}

unsigned known_services_queue__run(struct known_services_queue *q, struct knownset *set,
				   struct rec *r, uint64_t now_ns, bool all)
{
	unsigned w = 0;

	while (q->n && (all || known_services_queue__next(q) <= now_ns))
		w += commit_oldest(q, set, r, now_ns);
	return w;
}
