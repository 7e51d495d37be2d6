/* SPDX-License-Identifier: BSD-3-Clause */
/* The known_services stream: Zeek's policy/protocols/conn/known-services.zeek (loaded by
 * local.zeek). A local responder that did the TCP handshake (or was seen mid-connection)
 * and ran a confirmed protocol logs the services its port did not have yet: `ts host
 * port_num port_proto service`, the service names as Zeek's analyzers have them ("SMTP",
 * "SSL"). A connection that ends without a protocol gives the service "" five minutes of
 * network time later (the script's schedule). Zeek's default (`Known::use_service_store = F`)
 * keeps `Known::services: table[addr, port] of set[string] &create_expire=1day`: the
 * (host, port) entry is made with its first service and expires as a whole, a day later
 * however many services joined it since; then each is logged again.
 *
 * The set of (host, port) entries, each with a flag per service, is a knownset every engine
 * shares (main makes it; knownset__add_bits); the five-minute queue is one per engine,
 * bounded: when it is full its oldest entry is committed at once (the record is the same,
 * only written earlier). */
#ifndef MAILTAP_KNOWN_SERVICES_H
#define MAILTAP_KNOWN_SERVICES_H

#include <stdbool.h>
#include <stdint.h>
#include "mailtap/types.h"

struct knownset;
struct rec;

/* Zeek's `schedule 5min { service_info_commit(info) }` for connections without a protocol. */
#define KNOWN_SERVICES_DELAY_NS (300ULL * 1000000000ULL)
/* Entries waiting for their five minutes, per engine. */
#define KNOWN_SERVICES_QUEUE_MAX 4096

#define KNOWN_SERVICES_MAX_SVC 4

/* service_info_commit + known_service_add: writes one known_services record (at ts) with
 * the services of svc[] (n of them: "", "SMTP" or "SSL", the names engines give; others are
 * not tracked) that the set's entry for host:port did not hold and adds them; nothing when
 * every one is known. Returns true when a record was written. */
bool known_services__commit(struct knownset *set, struct rec *r, uint64_t ts,
			    const struct mt_addr *host, uint16_t port, const char *const *svc,
			    int n);

struct known_services_queue;

struct known_services_queue *known_services_queue__new(void);
void known_services_queue__free(struct known_services_queue *q);
/* Schedules the service "" of host:port, stamped ts, for ts + KNOWN_SERVICES_DELAY_NS; a
 * full queue first commits its oldest entry. Returns the records written. */
unsigned known_services_queue__defer(struct known_services_queue *q, struct knownset *set,
				     struct rec *r, uint64_t ts, const struct mt_addr *host,
				     uint16_t port);
/* Commits the entries due at now_ns (all of them with all: the end of input, as Zeek
 * runs its pending timers when it terminates), each checked against and added to the set
 * at now_ns, the time the scheduled event runs (an entry that ran out since the removal is
 * made anew then), its record stamped with the removal. Returns the records written. */
unsigned known_services_queue__run(struct known_services_queue *q, struct knownset *set,
				   struct rec *r, uint64_t now_ns, bool all);
/* The earliest due time (UINT64_MAX: empty): the engine's cheap test per packet. */
uint64_t known_services_queue__next(const struct known_services_queue *q);

#endif
