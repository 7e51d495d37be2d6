/* SPDX-License-Identifier: BSD-3-Clause */
/* The tunnels mail connections came through (VXLAN, Geneve, Teredo, AYIYA, GTPv1, GRE
 * (version 0, and 1: PPTP), IP in IP: decode.h), as
 * Zeek's tunnel framework (base/frameworks/tunnels/main.zeek) tracks them: each gets a uid, which the conn
 * records of its inner connections name in `tunnel_parents`, and `tunnel` records:
 * Tunnel::DISCOVER at its first inner connection, Tunnel::EXPIRE once no new inner connection
 * came through it for `expire_ns` (Zeek's Tunnel::expiration_interval, 1 h), Tunnel::CLOSE at
 * the end of the run for the UDP-based ones (VXLAN, Geneve, Teredo, AYIYA, GTPv1: Zeek closes those with their outer UDP
 * connection; IP tunnels, GRE and IP in IP, are only ever expired, and share one tunnel
 * between the same two addresses, as Zeek's IPTunnel analyzer keys them).
 *
 * One table serves every worker (a mutex inside; it is used once per new connection, per
 * change of a connection's tunnel and per connection end, not per packet: tunparents.h).
 * At most `max` tunnels are tracked; a connection through one more gets no tunnel_parents
 * and counts in `full`. */
#ifndef MAILTAP_TUNNELS_H
#define MAILTAP_TUNNELS_H

#include <stdbool.h>
#include <stdint.h>
#include "mailtap/pkt.h"

struct rec_out;
struct tunnels;

struct tunnels_limits {
	uint32_t max;	    /* tunnels tracked at once (default 4096, at most 65534) */
	uint64_t expire_ns; /* Tunnel::expiration_interval (default 1 h) */
};

struct tunnels_stats {
	uint64_t discovered, expired, closed;
	uint64_t full;	 /* connections whose tunnel found no room */
	uint64_t active; /* tunnels tracked now, expired ones still named by a connection too */
};

void tunnels_limits__default(struct tunnels_limits *l);
/* Records go to out. seeded/seed: as engine_cfg (deterministic uids). NULL and errno set on
 * failure. */
struct tunnels *tunnels__new(const struct tunnels_limits *l, struct rec_out *out, bool seeded,
			     uint64_t seed);
void tunnels__free(struct tunnels *t);

/* A flow's tunnel reference when its tunnel found no room (tunnels__get returned 0). */
#define TUNNELS_NO_ROOM 0xffff

/* A new connection whose first packet p came through a tunnel (p->tun.type != 0), at ts_ns:
 * registers the tunnel (a tunnel record when it is new or had expired), and first the outer
 * one p->tun_outer of a packet two tunnels deep (no reference is kept to it: it lives till it
 * expires or is closed, as any tunnel no connection names), and returns a reference to
 * p->tun (1..65534) for the connection, to give back with tunnels__put; 0 when there
 * is no room. Also expires tunnels idle since before ts_ns - expire_ns. ts_ns may be older
 * than an earlier call's (a worker behind another): a tunnel's time never goes back, so what
 * the later time kept alive does not expire. What can still differ from one engine's run:
 * the DISCOVER record is of the connection that came first in real time (its time, and which
 * end is orig), and a worker ahead can expire a tunnel that one behind then names again
 * (EXPIRE, then DISCOVER at the older time). */
uint16_t tunnels__get(struct tunnels *t, const struct pkt *p, uint64_t ts_ns);
/* Whether p came through tunnel ref (from tunnels__get, not yet put), in either direction.
 * Takes no lock: what it reads is set before the reference is handed out and stays while it
 * is held. */
bool tunnels__same(const struct tunnels *t, uint32_t ref, const struct pkt *p);
/* Copies the uid of tunnel ref (from tunnels__get, not yet put) to uid. */
void tunnels__uid(struct tunnels *t, uint32_t ref, char uid[MT_UID_LEN]);
/* The connection holding ref has ended. */
void tunnels__put(struct tunnels *t, uint32_t ref);
/* Expires tunnels idle since before now_ns - expire_ns (a timer, without new connections). */
void tunnels__tick(struct tunnels *t, uint64_t now_ns);
/* The end of the run at now_ns: Tunnel::CLOSE for every UDP-based tunnel still active. */
void tunnels__finish(struct tunnels *t, uint64_t now_ns);
void tunnels__stats(struct tunnels *t, struct tunnels_stats *st);

#endif
