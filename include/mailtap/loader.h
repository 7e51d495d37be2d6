/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The XDP side of live capture: loads bpf/mailtap.bpf.o (embedded skeleton) through libxdp
 * (multiprog dispatcher, so other XDP programs can share the interface) and attaches it,
 * or, in pinned mode, opens the maps an operator pinned with bpftool. Gives the map fds to
 * user/xsk.c. Checks the environment first and names what is missing: interface, bpffs,
 * capability, AF_XDP. A per-interface lock (/run/mailtap/IFACE.lock) tells a live mailtap
 * from a crashed one: a mailtap_xdp left attached by a dead process is detached.
 */
#ifndef MAILTAP_LOADER_H
#define MAILTAP_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "mailtap_abi.h"

enum loader_xdp_mode {
	LOADER_XDP_AUTO = 0, /* native if the driver has it, else skb (generic) */
	LOADER_XDP_NATIVE,   /* driver mode only */
	LOADER_XDP_SKB,	     /* generic mode */
};

/* Directory of the lock files. */
#define LOADER_LOCK_DIR "/run/mailtap"

struct loader_opts {
	const char *ifname;
	enum loader_xdp_mode mode; /* default LOADER_XDP_AUTO */
	const char *pinned_dir;	   /* NULL: load and attach ourselves */
	uint32_t max_queues;	   /* XSKMAP size when we load (default MAILTAP_MAX_QUEUES) */
	const uint16_t *ports;	   /* NULL: MAILTAP_DEFAULT_PORTS (load mode), untouched (pinned) */
	size_t n_ports;
	/* The VXLAN and Geneve ports (NULL: MAILTAP_TUNNEL_PORTS_DEFAULT). Load mode: set in the
	 * object before it is loaded. Pinned: written to the pinned mailtap_tunnel_ports when
	 * tun_ports_given; else compared with it, a difference said (pr_warn). A pinned object
	 * without it (an older build) follows the defaults: other ports are refused. */
	const struct mailtap_tunnel_ports *tun_ports;
	bool tun_ports_given;
	const char *lock_dir; /* NULL: LOADER_LOCK_DIR */
};

struct loader;

/* Parses "native"|"skb"|"auto". Returns 0 or -EINVAL. */
int loader__parse_mode(const char *s, enum loader_xdp_mode *mode);
const char *loader__mode_name(enum loader_xdp_mode mode);

/*
 * Environment checks, each with a message naming the fix (pr_warn). Return 0 or -errno:
 * -ENODEV no such interface, -ENOENT/-ENOTSUP no bpffs at the directory,
 * -EPERM a missing capability (named), -EAFNOSUPPORT kernel without AF_XDP.
 */
int loader__check_ifname(const char *ifname, int *ifindex);
int loader__check_bpffs(const char *dir);
int loader__check_caps(void);
int loader__check_afxdp(void);
/* The MTU of IFNAME (in our network namespace), or -1. */
int loader__ifmtu(const char *ifname);
/* 0 while the interface IFINDEX exists (or we cannot tell); -ENODEV, said with pr_warn (WHO
 * first), once it is gone: deleted, or moved to another namespace. */
int loader__check_iface(int ifindex, const char *ifname, const char *who);

/* Loads+attaches (or opens pinned maps), sets the port set. NULL + errno, logged. */
struct loader *loader__open(const struct loader_opts *o);
int loader__ifindex(const struct loader *l);
int loader__xsks_map_fd(const struct loader *l);
int loader__ports_fd(const struct loader *l);
int loader__stats_fd(const struct loader *l);
/* The XSKMAP's size: queues >= this cannot be steered. */
uint32_t loader__max_queues(const struct loader *l);
/* The mode the program runs in ("native", "skb", "pinned: unknown" ...). */
const char *loader__attached_mode(const struct loader *l);
/* loader__check_iface for our interface; once it is gone, loader__close detaches nothing. */
int loader__check_present(struct loader *l);

/* Replaces the port set. Returns 0 or -errno. */
int loader__set_ports(struct loader *l, const uint16_t *ports, size_t n);
/* Sums the per-CPU counters. pk/by: MAILTAP_STAT__MAX entries; by may be NULL. */
int loader__read_stats(const struct loader *l, uint64_t *pk, uint64_t *by);
/* Low-level forms on a stats / ports map fd (also for tools on pinned maps). */
int loader__read_stats_fd(int stats_fd, uint64_t *pk, uint64_t *by);
int loader__set_ports_fd(int ports_fd, const uint16_t *ports, size_t n);

/* Detaches the program (unless pinned mode), closes everything, drops the lock. */
void loader__close(struct loader *l);

#endif
