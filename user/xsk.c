// SPDX-License-Identifier: BSD-3-Clause
/* AF_XDP packet source: see include/mailtap/xsk.h. */
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <linux/ethtool.h>
#include <linux/if_xdp.h>
#include <linux/sockios.h>
#include <bpf/bpf.h>
#include <xdp/xsk.h>

#include "mailtap/bits.h"
#include "mailtap/log.h"
#include "mailtap/xsk.h"

/* A queue still bound (EBUSY) is tried again XSK_BUSY_TRIES times, XSK_BUSY_WAIT_MS apart. */
#define XSK_BUSY_TRIES 20
#define XSK_BUSY_WAIT_MS 100

#ifndef SOL_XDP
#define SOL_XDP 283
#endif
#ifndef SO_PREFER_BUSY_POLL
#define SO_PREFER_BUSY_POLL 69
#endif
#ifndef SO_BUSY_POLL_BUDGET
#define SO_BUSY_POLL_BUDGET 70
#endif
#define DLT_EN10MB_ 1
#define XSK_COMP_RING 64 /* the completion ring is required but unused (no TX) */

struct xq {
	uint32_t qid;
	struct xsk_socket *xsk;
	struct xsk_umem *umem;
	struct xsk_ring_prod fq;
	struct xsk_ring_cons cq;
	struct xsk_ring_cons rx;
	void *area;
	size_t area_size;
	uint64_t *free; /* stack of free frame addresses */
	uint32_t n_free;
	/* written by the queue's capture thread only, read by the stats (relaxed atomics) */
	_Atomic uint64_t delivered, meta_ts;
	int64_t mono_to_real; /* CLOCK_REALTIME - CLOCK_MONOTONIC, ns, at this queue's last poll */
	bool zc;
};

/* One queue's part of a receive round (rx_round): the descriptors peeked from its RX ring,
 * and where the merge is in them. */
struct xround {
	uint32_t idx, n;	     /* first ring index, how many */
	uint32_t next;		     /* the next one to hand on */
	uint64_t delivered, stamped; /* handed on this round; stamped in XDP */
};

struct xsk_source {
	struct xsk_opts o;
	char ifname[64];
	struct loader *ld;
	struct xq *q;
	unsigned int nq;
	struct pollfd *pfd;
	/* rx_round's, queue i's at [i] (frames: [i * batch, (i + 1) * batch)): capture threads
	 * have ranges of queues of their own, so they share no entry */
	struct pkt_raw *frames;
	struct xround *round;
	uint32_t *heap; /* queue indices, by the time of their next frame */
};

void xsk_opts__default(struct xsk_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->queues = -1;
	o->xdp_mode = LOADER_XDP_AUTO;
	o->bind = XSK_BIND_AUTO;
	o->frames = 4096;
	o->frame_size = 4096;
	o->rx_ring = 2048;
	o->fill_ring = 2048;
	o->batch = 64;
	o->poll_ms = 100;
	o->rx_nap_us = 500;
	o->tun_ports = (struct mailtap_tunnel_ports)MAILTAP_TUNNEL_PORTS_DEFAULT;
}

int xsk__parse_bind(const char *s, enum xsk_bind_mode *b)
{
	if (!strcmp(s, "auto"))
		*b = XSK_BIND_AUTO;
	else if (!strcmp(s, "copy"))
		*b = XSK_BIND_COPY;
	else if (!strcmp(s, "zerocopy") || !strcmp(s, "zc"))
		*b = XSK_BIND_ZEROCOPY;
	else
		return -EINVAL;
	return 0;
}

static bool pow2(uint32_t v)
{
	return v && !(v & (v - 1));
}

static int check_opts(const struct xsk_opts *o)
{
	if (o->frame_size != 2048 && o->frame_size != 4096) {
		pr_warn("live capture: frame size %u: must be 2048 or 4096\n", o->frame_size);
		return -EINVAL;
	}
	if (!pow2(o->rx_ring) || !pow2(o->fill_ring)) {
		pr_warn("live capture: ring sizes (rx %u, fill %u) must be powers of 2\n",
			o->rx_ring, o->fill_ring);
		return -EINVAL;
	}
	if (o->frames < o->fill_ring || o->frames > (1u << 20)) {
		pr_warn(
		    "live capture: %u frames: need at least the fill ring size (%u), at most %u\n",
		    o->frames, o->fill_ring, 1u << 20);
		return -EINVAL;
	}
	if (!o->batch || o->batch > o->rx_ring) {
		pr_warn("live capture: batch %u: must be 1..rx ring size\n", o->batch);
		return -EINVAL;
	}
	if (o->queues == 0 || o->queues < -1 || o->queues > XSK_MAX_QUEUES) {
		pr_warn("live capture: --queues %d: must be 1..%d or -1 (all)\n", o->queues,
			XSK_MAX_QUEUES);
		return -EINVAL;
	}
	return 0;
}

/* Number of receive queues: ETHTOOL_GCHANNELS (rx + combined) in our network namespace,
 * else the sysfs rx-N directories, else 1. */
static int rx_queue_count(const char *ifname)
{
	struct ethtool_channels ch = {.cmd = ETHTOOL_GCHANNELS};
	struct ifreq ifr = {0};
	char path[128];
	struct dirent *de;
	DIR *d;
	int n = 0, fd;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd >= 0) {
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
		ifr.ifr_data = (void *)&ch;
		if (ioctl(fd, SIOCETHTOOL, &ifr) == 0)
			n = (int)(ch.rx_count + ch.combined_count);
		close(fd);
		if (n > 0)
			return n;
	}
	snprintf(path, sizeof(path), "/sys/class/net/%s/queues", ifname);
	d = opendir(path);
	if (!d)
		return 1;
	while ((de = readdir(d)))
		if (!strncmp(de->d_name, "rx-", 3))
			n++;
	closedir(d);
	return n ? n : 1;
}

static void refill(struct xsk_source *s, struct xq *q)
{
	uint32_t n = xsk_prod_nb_free(&q->fq, q->n_free), idx, i;

	if (n > q->n_free)
		n = q->n_free;
	if (!n || xsk_ring_prod__reserve(&q->fq, n, &idx) != n)
		return;
	for (i = 0; i < n; i++)
		*xsk_ring_prod__fill_addr(&q->fq, idx + i) = q->free[--q->n_free];
	xsk_ring_prod__submit(&q->fq, n);
	(void)s;
}

static void kick(struct xq *q)
{
	recvfrom(xsk_socket__fd(q->xsk), NULL, 0, MSG_DONTWAIT, NULL, NULL);
}

static int open_queue(struct xsk_source *s, struct xq *q, uint32_t qid)
{
	const struct xsk_opts *o = &s->o;
	struct xsk_umem_config ucfg = {
	    .fill_size = o->fill_ring,
	    .comp_size = XSK_COMP_RING,
	    .frame_size = o->frame_size,
	    .frame_headroom = 0,
	    .flags = 0,
	};
	struct xsk_socket_config scfg = {
	    .rx_size = o->rx_ring,
	    .tx_size = 0,
	    .libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD,
	    .bind_flags = XDP_USE_NEED_WAKEUP,
	};
	struct xdp_options xo = {0};
	socklen_t xl = sizeof(xo);
	uint32_t i;
	int err, fd;

	q->qid = qid;
	if (o->bind == XSK_BIND_COPY)
		scfg.bind_flags |= XDP_COPY;
	else if (o->bind == XSK_BIND_ZEROCOPY)
		scfg.bind_flags |= XDP_ZEROCOPY;
	q->area_size = (size_t)o->frames * o->frame_size;
	q->area =
	    mmap(NULL, q->area_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (q->area == MAP_FAILED) {
		q->area = NULL;
		err = -errno;
		pr_warn("live capture: UMEM of %zu bytes: %s\n", q->area_size, strerror(-err));
		return err;
	}
	q->free = calloc(o->frames, sizeof(*q->free));
	if (!q->free)
		return -ENOMEM;
	for (i = 0; i < o->frames; i++)
		q->free[i] = (uint64_t)(o->frames - 1 - i) * o->frame_size;
	q->n_free = o->frames;
	err = xsk_umem__create(&q->umem, q->area, q->area_size, &q->fq, &q->cq, &ucfg);
	if (err) {
		q->umem = NULL;
		pr_warn("live capture: UMEM for queue %u: %s\n", qid, strerror(-err));
		return err;
	}
	/* A socket of a run that has just ended (kill -9, then a restart at once) can hold the
	 * queue a little longer while the kernel frees it: EBUSY is tried again for a while. */
	for (i = 0;; i++) {
		err = xsk_socket__create(&q->xsk, s->ifname, qid, q->umem, &q->rx, NULL, &scfg);
		if (err != -EBUSY || i >= XSK_BUSY_TRIES)
			break;
		nanosleep(&(struct timespec){ 0, XSK_BUSY_WAIT_MS * 1000000L }, NULL);
	}
	if (err) {
		q->xsk = NULL;
		if (err == -EOPNOTSUPP && o->bind == XSK_BIND_ZEROCOPY)
			pr_warn(
			    "live capture: %s has no zero-copy AF_XDP: use --bind copy or auto\n",
			    s->ifname);
		else if (err == -EBUSY)
			pr_warn("live capture: queue %u of %s is already bound by another AF_XDP "
				"socket (still after %d ms)\n",
				qid, s->ifname, XSK_BUSY_TRIES * XSK_BUSY_WAIT_MS);
		else if (err == -EINVAL)
			pr_warn("live capture: cannot bind an AF_XDP socket to queue %u of %s (no "
				"such queue?)\n",
				qid, s->ifname);
		else if (err == -EAFNOSUPPORT)
			pr_warn("live capture: this kernel has no AF_XDP sockets "
				"(CONFIG_XDP_SOCKETS)\n");
		else if (err == -EPERM)
			pr_warn("live capture: AF_XDP socket: missing capability CAP_NET_RAW\n");
		else
			pr_warn("live capture: AF_XDP socket on %s queue %u: %s\n", s->ifname, qid,
				strerror(-err));
		return err;
	}
	fd = xsk_socket__fd(q->xsk);
	if (getsockopt(fd, SOL_XDP, XDP_OPTIONS, &xo, &xl) == 0)
		q->zc = xo.flags & XDP_OPTIONS_ZEROCOPY;
	if (o->busy_poll > 0) {
		int one = 1, usecs = o->busy_poll, budget = (int)o->batch;

		if (setsockopt(fd, SOL_SOCKET, SO_PREFER_BUSY_POLL, &one, sizeof(one)) ||
		    setsockopt(fd, SOL_SOCKET, SO_BUSY_POLL, &usecs, sizeof(usecs)) ||
		    setsockopt(fd, SOL_SOCKET, SO_BUSY_POLL_BUDGET, &budget, sizeof(budget)))
			pr_warn("live capture: busy poll on queue %u: %s (continuing without)\n",
				qid, strerror(errno));
	}
	refill(s, q);
	err = xsk_socket__update_xskmap(q->xsk, loader__xsks_map_fd(s->ld));
	if (err) {
		pr_warn("live capture: cannot insert the socket of queue %u into %s: %s\n", qid,
			MAILTAP_MAP_XSKS, strerror(-err));
		return err;
	}
	return 0;
}

static void close_queue(struct xsk_source *s, struct xq *q)
{
	__u32 k = q->qid;

	if (q->xsk) {
		/* The kernel removes a closed socket from the map too; be explicit. */
		if (s->ld)
			bpf_map_delete_elem(loader__xsks_map_fd(s->ld), &k);
		xsk_socket__delete(q->xsk);
	}
	if (q->umem)
		xsk_umem__delete(q->umem);
	if (q->area)
		munmap(q->area, q->area_size);
	free(q->free);
	memset(q, 0, sizeof(*q));
}

struct xsk_source *xsk_source__open(const struct xsk_opts *o)
{
	struct rlimit rl = {RLIM_INFINITY, RLIM_INFINITY};
	struct loader_opts lo = {0};
	struct xsk_source *s;
	unsigned int i, nrx;
	int err;

	s = calloc(1, sizeof(*s));
	if (!s) {
		errno = ENOMEM;
		return NULL;
	}
	s->o = *o;
	err = check_opts(o);
	if (err)
		goto fail;
	err = loader__check_ifname(o->ifname, NULL);
	if (err)
		goto fail;
	snprintf(s->ifname, sizeof(s->ifname), "%s", o->ifname);
	err = loader__check_afxdp();
	if (err)
		goto fail;
	/* UMEM pages are charged to RLIMIT_MEMLOCK without CAP_IPC_LOCK. */
	setrlimit(RLIMIT_MEMLOCK, &rl);

	nrx = (unsigned int)rx_queue_count(o->ifname);
	s->nq = o->queues < 0 ? nrx : (unsigned int)o->queues;
	if (s->nq > nrx) {
		pr_warn("live capture: %s has %u rx queues, %u asked\n", o->ifname, nrx, s->nq);
		err = -EINVAL;
		goto fail;
	}
	/* Capturing on the first XSK_MAX_QUEUES would miss, without a word, whatever RSS puts
	 * on the others: refuse, and say how to fit (only with all queues: --queues N <= the
	 * limit is the operator's choice of queues). */
	if (s->nq > XSK_MAX_QUEUES) {
		pr_warn("live capture: %s has %u receive queues, more than the %d mailtap can "
			"capture on (one AF_XDP socket and UMEM each): lower them (ethtool -L %s "
			"combined %d), or spread traffic over the first N only (ethtool -X %s "
			"equal N) and capture those (--queues N)\n",
			o->ifname, nrx, XSK_MAX_QUEUES, o->ifname, XSK_MAX_QUEUES, o->ifname);
		err = -E2BIG;
		goto fail;
	}

	lo.ifname = o->ifname;
	lo.mode = o->xdp_mode;
	lo.pinned_dir = o->pinned_dir;
	lo.max_queues = nrx > MAILTAP_MAX_QUEUES ? nrx : MAILTAP_MAX_QUEUES;
	lo.ports = o->ports;
	lo.n_ports = o->n_ports;
	lo.tun_ports = &o->tun_ports;
	lo.tun_ports_given = o->tun_ports_given;
	s->ld = loader__open(&lo);
	if (!s->ld) {
		err = -errno;
		goto fail;
	}
	if (s->nq > loader__max_queues(s->ld)) {
		pr_warn("live capture: %u queues but %s has only %u entries\n", s->nq,
			MAILTAP_MAP_XSKS, loader__max_queues(s->ld));
		err = -E2BIG;
		goto fail;
	}
	s->q = calloc(s->nq, sizeof(*s->q));
	s->pfd = calloc(s->nq, sizeof(*s->pfd));
	s->frames = calloc((size_t)s->nq * o->batch, sizeof(*s->frames));
	s->round = calloc(s->nq, sizeof(*s->round));
	s->heap = calloc(s->nq, sizeof(*s->heap));
	if (!s->q || !s->pfd || !s->frames || !s->round || !s->heap) {
		err = -ENOMEM;
		goto fail;
	}
	for (i = 0; i < s->nq; i++) {
		err = open_queue(s, &s->q[i], i);
		if (err)
			goto fail;
		s->pfd[i].fd = xsk_socket__fd(s->q[i].xsk);
		s->pfd[i].events = POLLIN;
	}
	pr_info("live capture: %s: %u AF_XDP socket(s), %s bind, XDP %s, %u frames of %u bytes per "
		"queue\n",
		s->ifname, s->nq, xsk_source__bind_mode(s), loader__attached_mode(s->ld), o->frames,
		o->frame_size);
	return s;
fail:
	xsk_source__close(s);
	errno = -err;
	return NULL;
}

/* The frame of descriptor d as the handler gets it: ts_ns from the XDP metadata stamp (which
 * is then cleared: stale bytes must never pass for a stamp later), else 0. */
static void frame_of(const struct xsk_source *s, const struct xq *q, const struct xdp_desc *d,
		     struct pkt_raw *pr)
{
	uint64_t addr = xsk_umem__extract_addr(d->addr);
	uint64_t off = addr % s->o.frame_size;
	uint8_t *data = xsk_umem__get_data(q->area, addr);
	struct mailtap_meta m;

	*pr = (struct pkt_raw){
	    .data = data, .caplen = d->len, .wirelen = d->len, .linktype = DLT_EN10MB_};
	if (off >= sizeof(m)) {
		memcpy(&m, data - sizeof(m), sizeof(m));
		if (m.magic == MAILTAP_META_MAGIC) {
			pr->ts_ns = m.ts_ns + (uint64_t)q->mono_to_real;
			memset(data - sizeof(m), 0, sizeof(m));
		}
	}
}

static void add_relaxed(_Atomic uint64_t *c, uint64_t v)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + v,
			      memory_order_relaxed);
}

/* Gives the n frames from ring index idx back: free list, fill ring, counters. */
static void rx_release(struct xsk_source *s, struct xq *q, uint32_t idx, uint32_t n,
		       uint64_t delivered, uint64_t stamped)
{
	const uint32_t fsz = s->o.frame_size;
	uint32_t i;

	for (i = 0; i < n; i++) {
		uint64_t addr =
		    xsk_umem__extract_addr(xsk_ring_cons__rx_desc(&q->rx, idx + i)->addr);

		q->free[q->n_free++] = addr - addr % fsz;
	}
	add_relaxed(&q->delivered, delivered);
	add_relaxed(&q->meta_ts, stamped);
	xsk_ring_cons__release(&q->rx, n);
	refill(s, q);
	if (xsk_ring_prod__needs_wakeup(&q->fq))
		kick(q);
}

/* One batch from one socket. Returns frames received, or the handler's -errno. */
static int rx_batch(struct xsk_source *s, struct xq *q, pkt_handler cb, void *u)
{
	uint32_t n, i, idx = 0;
	uint64_t now = 0, delivered = 0, stamped = 0;
	int ret = 0;

	n = xsk_ring_cons__peek(&q->rx, s->o.batch, &idx);
	if (!n) {
		if (s->o.busy_poll > 0 || xsk_ring_prod__needs_wakeup(&q->fq))
			kick(q);
		return 0;
	}
	for (i = 0; i < n; i++) {
		struct pkt_raw pr;

		/* after an error too: the stamp is cleared */
		frame_of(s, q, xsk_ring_cons__rx_desc(&q->rx, idx + i), &pr);
		if (pr.ts_ns) {
			stamped++;
		} else {
			if (!now)
				now = mt_clock_ns(CLOCK_REALTIME);
			pr.ts_ns = now;
		}
		if (!ret) {
			ret = cb(u, &pr);
			delivered++;
		}
	}
	rx_release(s, q, idx, n, delivered, stamped);
	return ret < 0 ? ret : (int)n;
}

/* Does queue a's next frame come before queue b's (by time, then queue)? */
static bool round_before(const struct xsk_source *s, uint32_t a, uint32_t b)
{
	uint64_t ta = s->frames[(size_t)a * s->o.batch + s->round[a].next].ts_ns;
	uint64_t tb = s->frames[(size_t)b * s->o.batch + s->round[b].next].ts_ns;

	return ta < tb || (ta == tb && a < b);
}

static void heap_down(const struct xsk_source *s, uint32_t *h, uint32_t n, uint32_t i)
{
	for (;;) {
		uint32_t l = 2 * i + 1, m = i, t;

		if (l < n && round_before(s, h[l], h[m]))
			m = l;
		if (l + 1 < n && round_before(s, h[l + 1], h[m]))
			m = l + 1;
		if (m == i)
			return;
		t = h[i], h[i] = h[m], h[m] = t;
		i = m;
	}
}

/*
 * One batch from each of the sockets [first, end), handed on in the order of their XDP
 * timestamps (each queue's frames are in order already: a k-way merge). Taken queue by
 * queue, the frames of a connection whose directions RSS put on two queues would reach the
 * engine a batch apart, a reply before its request. This orders what one round holds;
 * across rounds, and across capture threads, nothing does: docs/capture.md, RSS. Returns
 * frames received, or the handler's -errno.
 */
static int rx_round(struct xsk_source *s, unsigned int first, unsigned int end, pkt_handler cb,
		    void *u)
{
	uint32_t *h = s->heap + first, nh = 0, qi, i;
	uint64_t now = 0;
	unsigned int k;
	int ret = 0, got = 0;

	for (k = first; k < end; k++) {
		struct xq *q = &s->q[k];
		struct xround *r = &s->round[k];
		struct pkt_raw *f = s->frames + (size_t)k * s->o.batch;

		r->next = 0;
		r->delivered = r->stamped = 0;
		r->n = xsk_ring_cons__peek(&q->rx, s->o.batch, &r->idx);
		if (!r->n) {
			if (s->o.busy_poll > 0 || xsk_ring_prod__needs_wakeup(&q->fq))
				kick(q);
			continue;
		}
		for (i = 0; i < r->n; i++) {
			frame_of(s, q, xsk_ring_cons__rx_desc(&q->rx, r->idx + i), &f[i]);
			if (f[i].ts_ns) {
				r->stamped++;
				continue;
			}
			if (!now) /* no metadata support: the time of the round, as rx_batch */
				now = mt_clock_ns(CLOCK_REALTIME);
			f[i].ts_ns = now;
		}
		h[nh++] = k;
		got += (int)r->n;
	}
	for (i = nh / 2; i-- > 0;)
		heap_down(s, h, nh, i);
	while (nh && !ret) {
		struct xround *r;

		qi = h[0];
		r = &s->round[qi];
		ret = cb(u, &s->frames[(size_t)qi * s->o.batch + r->next]);
		r->delivered++;
		if (++r->next == r->n)
			h[0] = h[--nh];
		heap_down(s, h, nh, 0);
	}
	for (k = first; k < end; k++) {
		struct xround *r = &s->round[k];

		if (r->n)
			rx_release(s, &s->q[k], r->idx, r->n, r->delivered, r->stamped);
	}
	return ret < 0 ? ret : got;
}

/* Sockets [first, end) until *sig_stop (a signal flag, this thread) or *thr_stop (set by
 * another thread) becomes non-zero; either may be NULL. */
static int rx_loop(struct xsk_source *s, unsigned int first, unsigned int end, pkt_handler cb,
		   void *u, volatile sig_atomic_t *sig_stop, const atomic_int *thr_stop)
{
	unsigned int i;
	int got, r;
	bool flowing = false; /* the last round found frames */

	while (!(sig_stop && *sig_stop) && !(thr_stop && atomic_load(thr_stop))) {
		int64_t m2r = (int64_t)mt_clock_ns(CLOCK_REALTIME) -
			      (int64_t)mt_clock_ns(CLOCK_MONOTONIC);

		for (i = first; i < end; i++)
			s->q[i].mono_to_real = m2r;
		got = end - first == 1 ? rx_batch(s, &s->q[first], cb, u)
				       : rx_round(s, first, end, cb, u);
		if (got < 0)
			return got;
		if (got || s->o.busy_poll > 0) {
			flowing = got > 0;
			continue;
		}
		/* Frames were flowing: nap, then look again. A socket sleeping in poll() is woken
		 * by the kernel at the end of each of its receive batches, on the CPU that
		 * received (with a veth, the sender's): at a few frames a batch that cost more
		 * than the copy. A nap's frames wait in the RX ring, which must hold them (the
		 * default 2048 frames: 500 us at 4 Mpps); only a round that finds nothing after a
		 * nap goes to poll(). */
		if (flowing && s->o.rx_nap_us) {
			uint32_t us = s->o.rx_nap_us;

			flowing = false;
			nanosleep(&(struct timespec){ (time_t)(us / 1000000),
						      (long)(us % 1000000) * 1000 },
				  NULL);
			continue;
		}
		r = poll(s->pfd + first, end - first, s->o.poll_ms);
		if (r < 0 && errno != EINTR) {
			r = -errno;
			pr_warn("live capture: poll: %s\n", strerror(-r));
			return r;
		}
	}
	return 0;
}

int xsk_source__run_part(struct xsk_source *s, unsigned int part, unsigned int parts,
			 pkt_handler cb, void *u, const atomic_int *stop)
{
	unsigned int first, end;

	if (!parts || part >= parts)
		return -EINVAL;
	first = (unsigned int)((uint64_t)s->nq * part / parts);
	end = (unsigned int)((uint64_t)s->nq * (part + 1) / parts);
	if (first == end)
		return -EINVAL;
	return rx_loop(s, first, end, cb, u, NULL, stop);
}

int xsk_source__run(struct xsk_source *s, pkt_handler cb, void *u, volatile sig_atomic_t *stop)
{
	return rx_loop(s, 0, s->nq, cb, u, stop, NULL);
}

int xsk_source__queue_stats(struct xsk_source *s, unsigned int i, struct xsk_queue_stats *qs)
{
	struct xdp_statistics xs = {0};
	socklen_t len = sizeof(xs);
	struct xq *q;

	if (i >= s->nq)
		return -EINVAL;
	q = &s->q[i];
	memset(qs, 0, sizeof(*qs));
	qs->queue_id = q->qid;
	qs->delivered = atomic_load_explicit(&q->delivered, memory_order_relaxed);
	qs->meta_ts = atomic_load_explicit(&q->meta_ts, memory_order_relaxed);
	if (getsockopt(xsk_socket__fd(q->xsk), SOL_XDP, XDP_STATISTICS, &xs, &len))
		return -errno;
	qs->rx_dropped = xs.rx_dropped;
	qs->rx_invalid_descs = xs.rx_invalid_descs;
	qs->tx_invalid_descs = xs.tx_invalid_descs;
	qs->rx_ring_full = xs.rx_ring_full;
	qs->rx_fill_ring_empty_descs = xs.rx_fill_ring_empty_descs;
	qs->tx_ring_empty_descs = xs.tx_ring_empty_descs;
	return 0;
}

int xsk_source__stats(struct xsk_source *s, struct xsk_stats *st)
{
	struct xsk_queue_stats qs;
	unsigned int i;
	int err;

	memset(st, 0, sizeof(*st));
	err = loader__read_stats(s->ld, st->xdp, st->xdp_bytes);
	if (err)
		return err;
	st->n_queues = s->nq;
	for (i = 0; i < s->nq; i++) {
		err = xsk_source__queue_stats(s, i, &qs);
		if (err)
			return err;
		st->delivered += qs.delivered;
		st->meta_ts += qs.meta_ts;
		st->rx_dropped += qs.rx_dropped;
		st->rx_invalid_descs += qs.rx_invalid_descs;
		st->rx_ring_full += qs.rx_ring_full;
		st->rx_fill_ring_empty_descs += qs.rx_fill_ring_empty_descs;
		st->tx_invalid_descs += qs.tx_invalid_descs;
		st->tx_ring_empty_descs += qs.tx_ring_empty_descs;
	}
	return 0;
}

int xsk_source__check(struct xsk_source *s)
{
	return loader__check_present(s->ld);
}

unsigned int xsk_source__queue_count(const struct xsk_source *s)
{
	return s->nq;
}

const char *xsk_source__bind_mode(const struct xsk_source *s)
{
	return s->nq && s->q[0].zc ? "zerocopy" : "copy";
}

struct loader *xsk_source__loader(struct xsk_source *s)
{
	return s->ld;
}

void xsk_source__close(struct xsk_source *s)
{
	unsigned int i;

	if (!s)
		return;
	if (s->q)
		for (i = 0; i < s->nq; i++)
			close_queue(s, &s->q[i]);
	loader__close(s->ld);
	free(s->q);
	free(s->pfd);
	free(s->frames);
	free(s->round);
	free(s->heap);
	free(s);
}
