// SPDX-License-Identifier: BSD-3-Clause
/* Host-mode live source: see include/mailtap/hostcap.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <pcap/dlt.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "mailtap/bits.h"
#include "mailtap/hostcap.h"
#include "mailtap/iflock.h"
#include "mailtap/log.h"
#include "mailtap_host.skel.h"

#ifndef CAP_BPF
#define CAP_BPF 39
#endif
#ifndef CAP_PERFMON
#define CAP_PERFMON 38
#endif
#ifndef CLOCK_TAI
#define CLOCK_TAI 11
#endif

struct hostcap {
	char ifname[IF_NAMESIZE];
	int ifindex;
	struct mailtap_host_bpf *skel;
	struct ring_buffer *rb;
	int xdp_link_fd;
	bool tc_attached;
	bool clsact_created;
	bool gone;		 /* the interface went away, and our tc filter and qdisc with it */
	uint8_t xdp_attach_mode; /* XDP_ATTACHED_* */
	bool tai;
	int poll_ms;
	struct iflock lock;
	/* during hostcap__run */
	pkt_handler cb;
	void *u;
	int64_t offset_ns; /* CLOCK_REALTIME - (TAI or BOOTTIME) */
	uint64_t delivered, delivered_dir[2], bad_records;
};

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char buf[1024];
	size_t n;

	(void)level; /* our own messages say what failed; -v shows libbpf's details */
	if (log__level() < LOG_DEBUG)
		return 0;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	n = strlen(buf);
	log__print(LOG_DEBUG, "libbpf: %s%s", buf, n && buf[n - 1] == '\n' ? "" : "\n");
	return 0;
}

void hostcap_opts__default(struct hostcap_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->xdp_mode = LOADER_XDP_AUTO;
	o->snaplen = MAILTAP_HOST_SNAP_MAX;
	o->ring_bytes = MAILTAP_HOST_RB_DEFAULT;
	o->poll_ms = 100;
}

static bool has_cap(const struct __user_cap_data_struct *d, int c)
{
	return d[c / 32].effective & (1u << (c % 32));
}

/*
 * CAP_NET_ADMIN attaches XDP and tc filters; CAP_BPF (or CAP_SYS_ADMIN) loads programs;
 * CAP_PERFMON lets the verifier accept pointer arithmetic on packets and map values (the
 * load fails with EACCES without it). No CAP_NET_RAW (no AF_XDP socket) and no
 * RLIMIT_MEMLOCK (kernels >= 5.11 charge BPF memory to the memory cgroup).
 */
static int check_caps(void)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct d[2] = {0};

	if (syscall(SYS_capget, &hdr, d) != 0)
		return 0; /* cannot tell: let the real calls fail */
	if (!has_cap(d, CAP_NET_ADMIN)) {
		pr_warn("host capture: missing capability CAP_NET_ADMIN (needed to attach XDP and "
			"tc programs); run as root or grant it (setcap "
			"cap_net_admin,cap_bpf,cap_perfmon+ep)\n");
		return -EPERM;
	}
	if (!has_cap(d, CAP_BPF) && !has_cap(d, CAP_SYS_ADMIN)) {
		pr_warn("host capture: missing capability CAP_BPF (or CAP_SYS_ADMIN), needed to "
			"load BPF programs and use BPF maps\n");
		return -EPERM;
	}
	if (!has_cap(d, CAP_PERFMON) && !has_cap(d, CAP_SYS_ADMIN)) {
		pr_warn(
		    "host capture: missing capability CAP_PERFMON (or CAP_SYS_ADMIN): without "
		    "it the verifier refuses the programs' packet and map pointer arithmetic\n");
		return -EPERM;
	}
	return 0;
}

/* Is a filter with our handle and priority on the egress hook (a crashed run's, at start)? */
static bool our_filter_there(struct hostcap *h)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = h->ifindex, .attach_point = BPF_TC_EGRESS);
	LIBBPF_OPTS(bpf_tc_opts, q, .handle = HOSTCAP_TC_HANDLE, .priority = HOSTCAP_TC_PRIO);

	return bpf_tc_query(&hook, &q) == 0;
}

/*
 * The lock (user/iflock.c, DIR/<netns inode>-<ifname>.host.lock) holds "pid clsact_created":
 * a live owner refuses a second host capture on the interface; a dead owner's clsact_created
 * passes to us, so the qdisc a crashed run created is still removed in the end (while the
 * crashed run's filter shows it was one).
 */
static int take_lock(struct hostcap *h, const char *dir)
{
	unsigned long created;
	int err = iflock__take(&h->lock, dir, h->ifname, "host.lock", "host capture", &created);

	if (err)
		return err;
	/* A crashed run's filter outlives it (netlink, no link), so its qdisc is ours to remove
	 * only while that filter is still there: a value in the lock without it (a file an
	 * older mailtap could neither remove nor empty, a run that died between the two) must
	 * not make us remove a qdisc that is someone else's by now, at exit or after a failed
	 * start. */
	h->clsact_created = created != 0 && our_filter_there(h);
	if (created && !h->clsact_created)
		pr_debug("host capture: %s: the lock says a previous run created the clsact qdisc, "
			 "but its filter is gone: leaving the qdisc alone\n",
			 h->ifname);
	return 0;
}

static void write_lock(struct hostcap *h)
{
	iflock__write(&h->lock, h->clsact_created ? 1 : 0);
}

/* mth_ports has mailtap_ports' layout, so the loader's writer serves both. */
_Static_assert(MAILTAP_HOST_PORT_WORDS == MAILTAP_PORT_WORDS, "port set layout");
/* Both programs and user/decode.c follow as many IPv6 extension headers (live = offline). */
_Static_assert(MAILTAP_HOST_MAX_IPV6_EXT == MAILTAP_MAX_IPV6_EXT, "IPv6 extension headers");

int hostcap__set_ports(struct hostcap *h, const uint16_t *ports, size_t n)
{
	int err = loader__set_ports_fd(bpf_map__fd(h->skel->maps.mth_ports), ports, n);

	if (err)
		pr_warn("host capture: cannot write the port set: %s\n", strerror(-err));
	return err;
}

/*
 * Can XDP programs declare multi-buffer (frags) support (kernel 5.18+)? Then native XDP
 * also works on interfaces whose MTU exceeds a page (jumbo frames): the program reads
 * headers from the first buffer and copies across fragments with bpf_xdp_load_bytes.
 */
static bool probe_xdp_frags(void)
{
	const struct bpf_insn insns[] = {
	    {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = XDP_PASS},
	    {.code = BPF_JMP | BPF_EXIT},
	};
	LIBBPF_OPTS(bpf_prog_load_opts, lo, .prog_flags = BPF_F_XDP_HAS_FRAGS);
	int fd = bpf_prog_load(BPF_PROG_TYPE_XDP, NULL, "GPL", insns, 2, &lo);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

static int load(struct hostcap *h, const struct hostcap_opts *o)
{
	int ncpu = libbpf_num_possible_cpus(), err;

	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	h->skel = mailtap_host_bpf__open();
	if (!h->skel) {
		err = -errno;
		pr_warn("host capture: cannot open the BPF skeleton: %s\n", strerror(-err));
		return err;
	}
	h->tai = libbpf_probe_bpf_helper(BPF_PROG_TYPE_XDP, BPF_FUNC_ktime_get_tai_ns, NULL) > 0;
	h->skel->rodata->snaplen = o->snaplen;
	h->skel->rodata->use_tai = h->tai;
	if (probe_xdp_frags())
		bpf_program__set_flags(h->skel->progs.mailtap_host_xdp,
				       bpf_program__flags(h->skel->progs.mailtap_host_xdp) |
					   BPF_F_XDP_HAS_FRAGS);
	err = bpf_map__set_max_entries(h->skel->maps.mth_scratch, 2 * (__u32)ncpu);
	if (!err)
		err = bpf_map__set_max_entries(h->skel->maps.mth_events, o->ring_bytes);
	if (err) {
		pr_warn("host capture: map sizes: %s\n", strerror(-err));
		return err;
	}
	err = mailtap_host_bpf__load(h->skel);
	if (err) {
		if (err == -EPERM || err == -EACCES)
			pr_warn(
			    "host capture: loading the BPF programs: permission denied: missing "
			    "capability CAP_BPF/CAP_PERFMON (or CAP_SYS_ADMIN)\n");
		else
			pr_warn("host capture: loading the BPF programs: %s (-v shows the "
				"verifier's log)\n",
				strerror(-err));
		return err;
	}
	return 0;
}

static __u32 xdp_flags(enum loader_xdp_mode m)
{
	switch (m) {
	case LOADER_XDP_NATIVE:
		return XDP_FLAGS_DRV_MODE;
	case LOADER_XDP_SKB:
		return XDP_FLAGS_SKB_MODE;
	default:
		return 0; /* the kernel picks native when the driver has it */
	}
}

static int attach_xdp(struct hostcap *h, enum loader_xdp_mode mode)
{
	LIBBPF_OPTS(bpf_link_create_opts, lo, .flags = xdp_flags(mode));
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	int fd, err;

	fd = bpf_link_create(bpf_program__fd(h->skel->progs.mailtap_host_xdp), h->ifindex, BPF_XDP,
			     &lo);
	if (fd < 0) {
		err = -errno;
		if (err == -EBUSY || err == -EEXIST)
			pr_warn("host capture: %s already has an XDP program (ip link show dev "
				"%s); host mode needs the XDP hook to itself\n",
				h->ifname, h->ifname);
		else if (err == -EPERM || err == -EACCES)
			pr_warn("host capture: attaching XDP to %s: permission denied: missing "
				"capability CAP_NET_ADMIN/CAP_BPF\n",
				h->ifname);
		else if ((err == -EOPNOTSUPP || err == -EINVAL) && mode == LOADER_XDP_NATIVE)
			pr_warn("host capture: %s has no native XDP support: use --xdp-mode skb or "
				"auto\n",
				h->ifname);
		else
			pr_warn("host capture: attaching XDP to %s (mode %s): %s\n", h->ifname,
				loader__mode_name(mode), strerror(-err));
		return err;
	}
	h->xdp_link_fd = fd;
	if (bpf_xdp_query(h->ifindex, 0, &q) == 0)
		h->xdp_attach_mode = q.attach_mode;
	return 0;
}

static int attach_tc(struct hostcap *h)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = h->ifindex, .attach_point = BPF_TC_EGRESS);
	LIBBPF_OPTS(bpf_tc_opts, to, .handle = HOSTCAP_TC_HANDLE, .priority = HOSTCAP_TC_PRIO,
		    .flags = BPF_TC_F_REPLACE);
	int err;

	err = bpf_tc_hook_create(&hook);
	if (err == 0) {
		h->clsact_created = true;
	} else if (err != -EEXIST) {
		pr_warn("host capture: cannot create the clsact qdisc on %s: %s\n", h->ifname,
			strerror(-err));
		return err;
	}
	write_lock(h);
	to.prog_fd = bpf_program__fd(h->skel->progs.mailtap_host_tc);
	err = bpf_tc_attach(&hook, &to);
	if (err) {
		pr_warn("host capture: cannot attach the egress tc filter to %s: %s\n", h->ifname,
			strerror(-err));
		return err;
	}
	h->tc_attached = true;
	return 0;
}

/* The tc filters on the clsact hook `parent` of ifindex (an RTM_GETTFILTER dump): how many,
 * or -errno. Another tool's filters there keep the qdisc this run created. */
static int tc_filters(int ifindex, uint32_t parent)
{
	struct {
		struct nlmsghdr nh;
		struct tcmsg tc;
	} req = {
		.nh = { .nlmsg_len = sizeof(req), .nlmsg_type = RTM_GETTFILTER,
			.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP, .nlmsg_seq = 1 },
		.tc = { .tcm_family = AF_UNSPEC, .tcm_ifindex = ifindex, .tcm_parent = parent },
	};
	char buf[16384];
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE), n = 0, err = 0;

	if (fd < 0)
		return -errno;
	if (send(fd, &req, sizeof(req), 0) < 0) {
		err = -errno;
		goto out;
	}
	for (;;) {
		ssize_t len = recv(fd, buf, sizeof(buf), 0);
		struct nlmsghdr *nh;

		if (len < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			goto out;
		}
		for (nh = (struct nlmsghdr *)(void *)buf; NLMSG_OK(nh, (size_t)len);
		     nh = NLMSG_NEXT(nh, len)) {
			if (nh->nlmsg_type == NLMSG_DONE)
				goto out;
			if (nh->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(nh);

				err = e->error ? e->error : -EIO;
				goto out;
			}
			if (nh->nlmsg_type == RTM_NEWTFILTER)
				n++;
		}
		if (len == 0) {
			err = -EIO;
			goto out;
		}
	}
out:
	close(fd);
	return err ? err : n;
}

static void detach_tc(struct hostcap *h)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = h->ifindex, .attach_point = BPF_TC_EGRESS);
	LIBBPF_OPTS(bpf_tc_opts, to, .handle = HOSTCAP_TC_HANDLE, .priority = HOSTCAP_TC_PRIO);
	int err;

	if (h->tc_attached) {
		err = bpf_tc_detach(&hook, &to);
		if (err && err != -ENOENT)
			pr_warn("host capture: detaching the tc filter from %s: %s\n", h->ifname,
				strerror(-err));
		h->tc_attached = false;
	}
	if (h->clsact_created) {
		int in = tc_filters(h->ifindex, TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS));
		int out = tc_filters(h->ifindex, TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_EGRESS));

		/* created by this run, but other filters were added since (or they cannot be
		 * counted): the qdisc stays with them */
		if (in != 0 || out != 0) {
			if (in > 0 || out > 0)
				pr_info("host capture: the clsact qdisc on %s stays: it holds other "
					"filters (%d ingress, %d egress)\n",
					h->ifname, in > 0 ? in : 0, out > 0 ? out : 0);
			h->clsact_created = false;
			return;
		}
		hook.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS;
		err = bpf_tc_hook_destroy(&hook);
		if (err && err != -ENOENT && err != -EINVAL)
			pr_warn("host capture: removing the clsact qdisc from %s: %s\n", h->ifname,
				strerror(-err));
		h->clsact_created = false;
	}
}

static int on_record(void *ctx, void *data, size_t size)
{
	struct hostcap *h = ctx;
	const struct mailtap_host_rec *r = data;
	struct pkt_raw p;
	int err;

	if (size < sizeof(*r) || r->cap_len > size - sizeof(*r) || r->dir > 1) {
		h->bad_records++;
		return 0;
	}
	p.ts_ns = (uint64_t)((int64_t)r->ts_ns + h->offset_ns);
	p.data = (const uint8_t *)(r + 1);
	p.caplen = r->cap_len;
	p.wirelen = r->wire_len;
	p.linktype = DLT_EN10MB;
	h->delivered++;
	h->delivered_dir[r->dir]++;
	err = h->cb(h->u, &p);
	return err < 0 ? err : 0;
}

struct hostcap *hostcap__open(const struct hostcap_opts *o)
{
	struct hostcap *h;
	int err;

	libbpf_set_print(libbpf_print);
	if (o->snaplen < 1 || o->snaplen > MAILTAP_HOST_SNAP_MAX) {
		pr_warn("host capture: snaplen %u out of range 1..%u\n", o->snaplen,
			MAILTAP_HOST_SNAP_MAX);
		errno = EINVAL;
		return NULL;
	}
	if (o->ring_bytes < (uint32_t)sysconf(_SC_PAGESIZE) ||
	    (o->ring_bytes & (o->ring_bytes - 1))) {
		pr_warn("host capture: ring size %u must be a power of 2 of at least a page\n",
			o->ring_bytes);
		errno = EINVAL;
		return NULL;
	}
	h = calloc(1, sizeof(*h));
	if (!h) {
		errno = ENOMEM;
		return NULL;
	}
	h->xdp_link_fd = h->lock.fd = -1;
	h->poll_ms = o->poll_ms > 0 ? o->poll_ms : 100;
	err = loader__check_ifname(o->ifname, &h->ifindex);
	if (err)
		goto fail;
	memcpy(h->ifname, o->ifname, strlen(o->ifname) + 1);
	err = check_caps();
	if (err)
		goto fail;
	err = take_lock(h, o->lock_dir ? o->lock_dir : LOADER_LOCK_DIR);
	if (err)
		goto fail;
	err = load(h, o);
	if (err)
		goto fail;
	if (o->ports && o->n_ports) {
		err = hostcap__set_ports(h, o->ports, o->n_ports);
	} else {
		static const uint16_t defports[] = MAILTAP_DEFAULT_PORTS;

		err = hostcap__set_ports(h, defports, sizeof(defports) / sizeof(defports[0]));
	}
	if (err)
		goto fail;
	h->rb = ring_buffer__new(bpf_map__fd(h->skel->maps.mth_events), on_record, h, NULL);
	if (!h->rb) {
		err = -errno;
		pr_warn("host capture: ring buffer: %s\n", strerror(-err));
		goto fail;
	}
	/* Egress first, so that once received packets are copied, the replies are too. */
	err = attach_tc(h);
	if (err)
		goto fail;
	err = attach_xdp(h, o->xdp_mode);
	if (err)
		goto fail;
	pr_info("host capture: %s on %s (XDP %s, tc egress pref %u handle 0x%x%s), clock %s\n",
		MAILTAP_HOST_XDP_NAME "/" MAILTAP_HOST_TC_NAME, h->ifname, hostcap__xdp_mode(h),
		HOSTCAP_TC_PRIO, HOSTCAP_TC_HANDLE, h->clsact_created ? ", clsact created" : "",
		hostcap__clock(h));
	return h;
fail:
	hostcap__close(h);
	errno = -err;
	return NULL;
}

static void update_offset(struct hostcap *h)
{
	clockid_t c = h->tai ? CLOCK_TAI : CLOCK_BOOTTIME;
	int64_t a = (int64_t)mt_clock_ns(c), r = (int64_t)mt_clock_ns(CLOCK_REALTIME),
		b = (int64_t)mt_clock_ns(c);

	h->offset_ns = r - (a + (b - a) / 2);
}

int hostcap__run(struct hostcap *h, pkt_handler cb, void *u, volatile sig_atomic_t *stop)
{
	int n;

	h->cb = cb;
	h->u = u;
	while (!*stop) {
		update_offset(h);
		n = ring_buffer__poll(h->rb, h->poll_ms);
		if (n == -EINTR)
			continue;
		if (n < 0)
			return n;
	}
	return 0;
}

int hostcap__stats(struct hostcap *h, struct hostcap_stats *st)
{
	int ncpu = libbpf_num_possible_cpus(), fd, c, err = 0;
	__u64 *v;
	__u32 k;

	memset(st, 0, sizeof(*st));
	st->delivered = h->delivered;
	st->delivered_ingress = h->delivered_dir[MAILTAP_HOST_DIR_INGRESS];
	st->delivered_egress = h->delivered_dir[MAILTAP_HOST_DIR_EGRESS];
	st->bad_records = h->bad_records;
	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	v = calloc((size_t)ncpu, sizeof(*v));
	if (!v)
		return -ENOMEM;
	fd = bpf_map__fd(h->skel->maps.mth_stats);
	for (k = 0; k < MAILTAP_HOST_STAT__MAX; k++) {
		if (bpf_map_lookup_elem(fd, &k, v)) {
			err = -errno;
			break;
		}
		for (c = 0; c < ncpu; c++)
			st->bpf[k] += v[c];
	}
	free(v);
	return err;
}

int hostcap__check(struct hostcap *h)
{
	int err = loader__check_iface(h->ifindex, h->ifname, "host capture");

	if (err)
		h->gone = true;
	return err;
}

const char *hostcap__xdp_mode(const struct hostcap *h)
{
	switch (h->xdp_attach_mode) {
	case XDP_ATTACHED_DRV:
		return "native";
	case XDP_ATTACHED_SKB:
		return "skb";
	case XDP_ATTACHED_HW:
		return "hw";
	default:
		return "unknown";
	}
}

const char *hostcap__clock(const struct hostcap *h)
{
	return h->tai ? "tai" : "boottime";
}

int hostcap__created_clsact(const struct hostcap *h)
{
	return h->clsact_created;
}

void hostcap__close(struct hostcap *h)
{
	if (!h)
		return;
	/* Ingress first (the link fd), then egress: the mirror of the attach order. */
	if (h->xdp_link_fd >= 0)
		close(h->xdp_link_fd);
	if (h->gone)
		h->tc_attached = h->clsact_created = false; /* went with the interface */
	detach_tc(h);
	/* Nothing of ours is left to remove: say so in the lock at once (iflock__drop empties it
	 * too), so that no later run acts on our value. */
	if (h->lock.fd >= 0)
		write_lock(h);
	if (h->rb)
		ring_buffer__free(h->rb);
	if (h->skel)
		mailtap_host_bpf__destroy(h->skel);
	iflock__drop(&h->lock);
	free(h);
}
