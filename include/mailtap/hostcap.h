/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Host-mode live source (--capture host): for the mail server's own host or pod, where
 * the mirror mode's AF_XDP redirect would take the server's packets away. Loads
 * bpf/mailtap_host.bpf.o (embedded skeleton), attaches its XDP program to the interface's
 * ingress (a bpf_link: gone when the process dies) and its TC program to the egress hook
 * of a clsact qdisc (created if missing), and reads the copies both make through one BPF
 * ring buffer. Every packet passes unchanged. Records reach a pkt_handler as struct
 * pkt_raw (DLT_EN10MB, ts_ns CLOCK_REALTIME) in ring-buffer order, so received and sent
 * packets merge into one pipeline exactly like a mirror port's.
 */
#ifndef MAILTAP_HOSTCAP_H
#define MAILTAP_HOSTCAP_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include "mailtap/loader.h"
#include "mailtap/pkt.h"
#include "mailtap_host_abi.h"

/* tc filter handle and priority (pref) of our egress filter: `tc filter show dev IF egress`. */
#define HOSTCAP_TC_HANDLE 0x6d74
#define HOSTCAP_TC_PRIO 1

struct hostcap_opts {
	const char *ifname;
	enum loader_xdp_mode xdp_mode; /* default LOADER_XDP_AUTO (native if the driver has it) */
	uint32_t snaplen;    /* bytes copied per packet, 1..MAILTAP_HOST_SNAP_MAX (default) */
	uint32_t ring_bytes; /* ring buffer size, power of 2 >= page size, default 16 MiB */
	int poll_ms;	     /* ring_buffer__poll timeout, default 100 ms: how soon *stop is seen */
	const uint16_t *ports; /* NULL: MAILTAP_DEFAULT_PORTS (25,465,587) */
	size_t n_ports;
	const char *lock_dir; /* NULL: LOADER_LOCK_DIR */
};

struct hostcap_stats {
	uint64_t bpf[MAILTAP_HOST_STAT__MAX]; /* summed per-CPU counters, enum mailtap_host_stat */
	uint64_t delivered;		      /* records handed to the handler */
	uint64_t delivered_ingress, delivered_egress;
	uint64_t bad_records; /* records shorter than their header says (never expected) */
};

struct hostcap;

void hostcap_opts__default(struct hostcap_opts *o);

/* Checks (interface, capabilities), lock, load, attach XDP + TC. NULL + errno, logged. */
struct hostcap *hostcap__open(const struct hostcap_opts *o);

/*
 * Delivers records until *stop becomes non-zero (returns 0) or the handler returns
 * -errno (returns it). A record's data is valid only during the handler call.
 */
int hostcap__run(struct hostcap *h, pkt_handler cb, void *u, volatile sig_atomic_t *stop);

/* Once a second while capturing: 0, or -ENODEV (said) when the interface has gone away. */
int hostcap__check(struct hostcap *h);

int hostcap__stats(struct hostcap *h, struct hostcap_stats *st);
/* Replaces the port set while running. Returns 0 or -errno. */
int hostcap__set_ports(struct hostcap *h, const uint16_t *ports, size_t n);
/* "native" or "skb": the XDP mode the kernel chose. */
const char *hostcap__xdp_mode(const struct hostcap *h);
/* "tai" or "boottime": the clock the BPF programs stamp with. */
const char *hostcap__clock(const struct hostcap *h);
/* 1 if this run created the clsact qdisc (and so removes it at close). */
int hostcap__created_clsact(const struct hostcap *h);

/* Detaches XDP and the tc filter, removes the clsact qdisc if we created it, frees. */
void hostcap__close(struct hostcap *h);

#endif
