/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Live packet source: one AF_XDP socket (with its own UMEM) per receive queue, fed by
 * bpf/mailtap.bpf.c through its XSKMAP. Frames go to a pkt_handler as struct pkt_raw
 * (DLT_EN10MB), exactly like the pcap file source, so live and offline share one path.
 * Program loading/attaching is user/loader.c's job (include/mailtap/loader.h).
 */
#ifndef MAILTAP_XSK_H
#define MAILTAP_XSK_H

#include <signal.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include "mailtap/pkt.h"
#include "mailtap/loader.h"
#include "mailtap_abi.h"

enum xsk_bind_mode {
	XSK_BIND_AUTO = 0, /* zero-copy if the driver has it, else copy (kernel's choice) */
	XSK_BIND_COPY,
	XSK_BIND_ZEROCOPY,
};

/* Most sockets (receive queues) one source opens: an interface with more receive queues is
 * refused, not captured in part (each socket has a UMEM of its own: 16 MiB by default). */
#define XSK_MAX_QUEUES 64

struct xsk_opts {
	const char *ifname;
	int queues; /* sockets on queues 0..queues-1; -1 (default): every rx queue */
	enum loader_xdp_mode xdp_mode; /* default LOADER_XDP_AUTO */
	enum xsk_bind_mode bind;       /* default XSK_BIND_AUTO */
	uint32_t frames;	       /* UMEM frames per queue, default 4096 */
	uint32_t frame_size; /* 2048 or 4096 (default); bigger frames are dropped (rx_dropped) */
	uint32_t rx_ring;    /* RX ring entries, power of 2, default 2048 */
	uint32_t fill_ring;  /* fill ring entries, power of 2, default 2048 */
	uint32_t batch;	     /* descriptors per RX batch, default 64 */
	int busy_poll;	     /* 0 (default): off; >0: SO_BUSY_POLL usecs, poll without sleeping */
	int poll_ms;	     /* poll() timeout, default 100 ms: how soon *stop is seen */
	/* after a round that found frames and one that found none, sleep this long (us) and
	 * look again before poll(): while frames flow the kernel need not wake us for each of
	 * its batches; the RX ring holds what comes meanwhile (default 500; 0: straight to
	 * poll; no effect with busy_poll) */
	uint32_t rx_nap_us;
	const char *pinned_dir; /* NULL (default): load ourselves; else bpftool's pin dir */
	const uint16_t *ports;	/* NULL: 25,465,587 when loading; pinned: map untouched */
	size_t n_ports;
	/* the VXLAN and Geneve ports the program follows (decode's: --vxlan-ports,
	 * --geneve-ports); pinned: written to the program's only when given, else compared */
	struct mailtap_tunnel_ports tun_ports;
	bool tun_ports_given;
};

/* Counters of one socket (one receive queue). */
struct xsk_queue_stats {
	uint32_t queue_id;
	uint64_t delivered; /* frames handed to the handler */
	uint64_t meta_ts;   /* ... of which stamped in XDP (metadata) */
	/* XDP_STATISTICS (getsockopt) */
	uint64_t rx_dropped; /* dropped by the kernel: frame too big, UMEM full ... */
	uint64_t rx_invalid_descs;
	uint64_t rx_ring_full;		   /* RX ring full: we were too slow */
	uint64_t rx_fill_ring_empty_descs; /* no free frame in the fill ring */
	uint64_t tx_invalid_descs;
	uint64_t tx_ring_empty_descs;
};

/* Totals: XDP counters (per CPU, summed), XDP_STATISTICS and ours, summed over sockets. */
struct xsk_stats {
	uint64_t xdp[MAILTAP_STAT__MAX]; /* packets, index enum mailtap_stat */
	uint64_t xdp_bytes[MAILTAP_STAT__MAX];
	uint32_t n_queues;
	uint64_t delivered;
	uint64_t meta_ts;
	uint64_t rx_dropped;
	uint64_t rx_invalid_descs;
	uint64_t rx_ring_full;
	uint64_t rx_fill_ring_empty_descs;
	uint64_t tx_invalid_descs;
	uint64_t tx_ring_empty_descs;
};

struct xsk_source;

void xsk_opts__default(struct xsk_opts *o);
/* Parses "auto"|"copy"|"zerocopy". Returns 0 or -EINVAL. */
int xsk__parse_bind(const char *s, enum xsk_bind_mode *b);

/* Checks the environment, loads/attaches (or opens pinned maps), opens the sockets.
 * NULL + errno, the reason already logged with pr_warn. */
struct xsk_source *xsk_source__open(const struct xsk_opts *o);

/*
 * Receives until *stop becomes non-zero (returns 0) or the handler returns -errno (returns
 * it). Batched RX over every socket, fill ring refilled each batch, need_wakeup honoured,
 * poll() with opts.poll_ms timeout when idle (busy-poll: no sleep). ts_ns: the XDP
 * metadata timestamp converted to CLOCK_REALTIME, or the receive time if none.
 */
int xsk_source__run(struct xsk_source *s, pkt_handler cb, void *u, volatile sig_atomic_t *stop);
/*
 * The same over part `part` of `parts` (contiguous ranges of the sockets: with 4 queues and
 * 2 parts, queues 0-1 and 2-3), for one capture thread per part: each socket's rings, UMEM
 * and counters are touched by its part's thread only. -EINVAL when the part has no queue.
 * *stop is set by another thread (an atomic, not a signal flag).
 */
int xsk_source__run_part(struct xsk_source *s, unsigned int part, unsigned int parts,
			 pkt_handler cb, void *u, const atomic_int *stop);

/* Once a second while capturing: 0, or -ENODEV (said) when the interface has gone away
 * (its sockets then receive nothing more, and no poll says so). */
int xsk_source__check(struct xsk_source *s);

int xsk_source__stats(struct xsk_source *s, struct xsk_stats *st);
unsigned int xsk_source__queue_count(const struct xsk_source *s);
int xsk_source__queue_stats(struct xsk_source *s, unsigned int i, struct xsk_queue_stats *qs);
/* "copy" or "zerocopy": what the kernel chose for the first socket. */
const char *xsk_source__bind_mode(const struct xsk_source *s);
/* The loader (map fds, attach mode, port set). */
struct loader *xsk_source__loader(struct xsk_source *s);

/* Closes the sockets, detaches the program unless pinned mode, removes what we created. */
void xsk_source__close(struct xsk_source *s);

#endif
