/* SPDX-License-Identifier: BSD-3-Clause */
/* The tunnels each connection came through over its life: conn's `tunnel_parents`, a set that
 * Zeek adds to at every tunnel_changed event (base/protocols/conn/main.zeek), registering each
 * tunnel (Tunnel::DISCOVER when it is new) as it does at a new connection.
 *
 * Most connections come through one tunnel, or none: the flow's own reference (flow->tunnel,
 * tunnels.h) is then the whole set, and this module keeps nothing for them. A connection seen
 * through a second tunnel (two mirror sessions, one at each end of the connection; a route
 * that moved between two GRE sources) gets an entry here that holds a reference to every
 * tunnel it came through, in the order first seen, at most TUN_PARENTS_MAX; flow->tunnel is
 * then the one its last tunnelled packet came through. A packet without a tunnel changes
 * nothing (Zeek only adds to the set).
 *
 * One set per engine (worker), like the flow table: no locking. The entries are bounded by the
 * flows (one at most per flow) and counted. */
#ifndef MAILTAP_TUNPARENTS_H
#define MAILTAP_TUNPARENTS_H

#include <stdint.h>
#include "mailtap/flow.h"
#include "mailtap/pkt.h"

#define TUN_PARENTS_MAX 8

struct tunnels;
struct tun_parents;

struct tun_parents_stats {
	uint64_t changes;      /* packets through another tunnel than their connection's last */
	uint64_t multi;	       /* connections that came through more than one tunnel */
	uint64_t multi_active; /* such connections tracked now */
	uint64_t full;	       /* packets of a tunnel left out: set, tunnel table or memory full */
};

/* NULL and errno set on failure. */
struct tun_parents *tun_parents__new(struct tunnels *t);
void tun_parents__free(struct tun_parents *s);

/* Packet p of connection f, at ts_ns. Does nothing unless p came through a tunnel; else
 * registers the tunnel for f when it is one f was not seen through (tunnels__get) and makes it
 * f's current one. Cheap when p's tunnel is f's current one (no lock, no lookup). */
void tun_parents__packet(struct tun_parents *s, struct flow *f, const struct pkt *p,
			 uint64_t ts_ns);
/* f's tunnel_parents: copies up to TUN_PARENTS_MAX uids to uids, returns how many (0: none). */
int tun_parents__uids(struct tun_parents *s, const struct flow *f,
		      char uids[TUN_PARENTS_MAX][MT_UID_LEN]);
/* f ends: gives back its tunnel references and forgets it (flow->tunnel is 0 after). */
void tun_parents__end(struct tun_parents *s, struct flow *f);
void tun_parents__stats(const struct tun_parents *s, struct tun_parents_stats *st);

#endif
