// SPDX-License-Identifier: BSD-3-Clause
/* XDP program lifecycle for live capture: see include/mailtap/loader.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/if_link.h>
#include <linux/magic.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>

#include "mailtap/iflock.h"
#include "mailtap/loader.h"
#include "mailtap/log.h"
#include "mailtap.skel.h"

#ifndef AF_XDP
#define AF_XDP 44
#endif
#ifndef CAP_BPF
#define CAP_BPF 39
#endif

struct loader {
	char ifname[IF_NAMESIZE];
	int ifindex;
	bool pinned;
	enum xdp_attach_mode attached; /* mode we attached in (load mode) */
	struct mailtap_bpf *skel;
	struct xdp_program *prog;
	int xsks_fd, ports_fd, stats_fd; /* pinned mode: our own fds; else the skeleton's */
	uint32_t max_queues;
	struct iflock lock;
	__u32 stale_id; /* prog id a previous (dead) mailtap recorded in the lock file */
	bool legacy;	/* attached without the dispatcher (kernel lacks BPF_PROG_TYPE_EXT) */
	bool gone;	/* the interface went away: nothing we can detach */
};

static int lib_print(enum log_level lvl, const char *lib, const char *fmt, va_list ap)
{
	char buf[1024];
	size_t n;

	if (lvl > log__level())
		return 0;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	n = strlen(buf);
	log__print(lvl, "%s: %s%s", lib, buf, n && buf[n - 1] == '\n' ? "" : "\n");
	return 0;
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level; /* our own messages say what failed; -v shows the libraries' details */
	return lib_print(LOG_DEBUG, "libbpf", fmt, ap);
}

static int libxdp_print(enum libxdp_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	return lib_print(LOG_DEBUG, "libxdp", fmt, ap);
}

int loader__parse_mode(const char *s, enum loader_xdp_mode *mode)
{
	if (!strcmp(s, "auto"))
		*mode = LOADER_XDP_AUTO;
	else if (!strcmp(s, "native") || !strcmp(s, "drv"))
		*mode = LOADER_XDP_NATIVE;
	else if (!strcmp(s, "skb") || !strcmp(s, "generic"))
		*mode = LOADER_XDP_SKB;
	else
		return -EINVAL;
	return 0;
}

const char *loader__mode_name(enum loader_xdp_mode mode)
{
	switch (mode) {
	case LOADER_XDP_NATIVE:
		return "native";
	case LOADER_XDP_SKB:
		return "skb";
	default:
		return "auto";
	}
}

static enum xdp_attach_mode to_libxdp(enum loader_xdp_mode m)
{
	switch (m) {
	case LOADER_XDP_NATIVE:
		return XDP_MODE_NATIVE;
	case LOADER_XDP_SKB:
		return XDP_MODE_SKB;
	default:
		return XDP_MODE_UNSPEC;
	}
}

static const char *libxdp_mode_name(enum xdp_attach_mode m)
{
	switch (m) {
	case XDP_MODE_NATIVE:
		return "native";
	case XDP_MODE_SKB:
		return "skb";
	case XDP_MODE_HW:
		return "hw";
	default:
		return "unknown";
	}
}

int loader__check_ifname(const char *ifname, int *ifindex)
{
	unsigned int idx;

	if (!ifname || !*ifname) {
		pr_warn("live capture: no interface name given (-i IFACE)\n");
		return -EINVAL;
	}
	if (strlen(ifname) >= IF_NAMESIZE) {
		pr_warn("live capture: interface name '%s' is longer than %d bytes (-i IFACE)\n",
			ifname, IF_NAMESIZE - 1);
		return -EINVAL;
	}
	idx = if_nametoindex(ifname);
	if (!idx) {
		pr_warn("live capture: interface %s not found (ip link show)\n", ifname);
		return -ENODEV;
	}
	if (ifindex)
		*ifindex = (int)idx;
	return 0;
}

int loader__ifmtu(const char *ifname)
{
	struct ifreq ifr = {0};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), mtu = -1;

	if (fd < 0)
		return -1;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(fd, SIOCGIFMTU, &ifr) == 0)
		mtu = ifr.ifr_mtu;
	close(fd);
	return mtu;
}

int loader__check_iface(int ifindex, const char *ifname, const char *who)
{
	char name[IF_NAMESIZE];

	if (if_indextoname((unsigned int)ifindex, name) || (errno != ENXIO && errno != ENODEV))
		return 0; /* there (perhaps renamed), or we cannot tell */
	pr_warn("%s: interface %s (index %d) is gone: nothing more to capture there; stopping "
		"with exit status 2 (a service manager starts mailtap again, once it is back)\n",
		who, ifname, ifindex);
	return -ENODEV;
}

int loader__check_present(struct loader *l)
{
	int err = loader__check_iface(l->ifindex, l->ifname, "live capture");

	if (err)
		l->gone = true; /* the program went with it (deleted, or in another netns) */
	return err;
}

int loader__check_bpffs(const char *dir)
{
	struct statfs st;

	if (statfs(dir, &st) != 0) {
		int err = -errno;

		pr_warn("live capture: %s: %s; mount the BPF filesystem: mount -t bpf bpf "
			"/sys/fs/bpf\n",
			dir, strerror(-err));
		return err;
	}
	if ((unsigned long)st.f_type != (unsigned long)BPF_FS_MAGIC) {
		pr_warn("live capture: %s is not on a BPF filesystem (bpffs); mount it: mount -t "
			"bpf bpf /sys/fs/bpf\n",
			dir);
		return -ENOTSUP;
	}
	return 0;
}

int loader__check_caps(void)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[2] = {0};
	static const struct {
		int cap;
		const char *name, *why;
	} need[] = {
	    {CAP_NET_ADMIN, "CAP_NET_ADMIN", "attach XDP programs"},
	    {CAP_NET_RAW, "CAP_NET_RAW", "open AF_XDP sockets"},
	};
	size_t i;

	if (syscall(SYS_capget, &hdr, data) != 0)
		return 0; /* cannot tell: let the real calls fail */
	for (i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
		int c = need[i].cap;

		if (!(data[c / 32].effective & (1u << (c % 32)))) {
			pr_warn(
			    "live capture: missing capability %s (needed to %s); run as root or "
			    "grant it (setcap cap_net_admin,cap_net_raw,cap_bpf,cap_perfmon+ep)\n",
			    need[i].name, need[i].why);
			return -EPERM;
		}
	}
	if (!(data[CAP_BPF / 32].effective & (1u << (CAP_BPF % 32))) &&
	    !(data[CAP_SYS_ADMIN / 32].effective & (1u << (CAP_SYS_ADMIN % 32)))) {
		pr_warn("live capture: missing capability CAP_BPF (or CAP_SYS_ADMIN), needed to "
			"load BPF programs and use BPF maps\n");
		return -EPERM;
	}
	return 0;
}

int loader__check_afxdp(void)
{
	int fd = socket(AF_XDP, SOCK_RAW | SOCK_CLOEXEC, 0);

	if (fd < 0) {
		int err = -errno;

		if (err == -EAFNOSUPPORT || err == -EINVAL)
			pr_warn("live capture: this kernel has no AF_XDP sockets "
				"(CONFIG_XDP_SOCKETS); use -r FILE\n");
		else if (err == -EPERM || err == -EACCES)
			pr_warn("live capture: missing capability CAP_NET_RAW (needed to open "
				"AF_XDP sockets)\n");
		else
			pr_warn("live capture: AF_XDP socket: %s\n", strerror(-err));
		return err;
	}
	close(fd);
	return 0;
}

/*
 * The lock (user/iflock.c, DIR/<netns inode>-<ifname>.lock) holds "pid prog_id": the prog id
 * lets a new run remove exactly the program a crashed run left attached.
 */
static int take_lock(struct loader *l, const char *dir)
{
	unsigned long old_id;
	int err = iflock__take(&l->lock, dir, l->ifname, "lock", "live capture", &old_id);

	if (!err)
		l->stale_id = (__u32)old_id;
	return err;
}

static long ptr_err(const void *p)
{
	if (!p)
		return errno ? -errno : -ENOENT;
	return libxdp_get_error(p);
}

/*
 * We hold the interface lock, so no live mailtap uses the interface. A mailtap_xdp whose
 * id the previous (dead) owner recorded in the lock file, or any mailtap_xdp inside the
 * libxdp dispatcher, was left by a crash: detach it. Another mailtap_xdp attached directly
 * (bpftool, the operator workflow) is not ours: refuse and point to --pinned.
 */
/* The message of each way a previous run's program is removed (tests grep for it). */
static void say_removing(const struct loader *l, __u32 id)
{
	pr_warn("live capture: removing stale %s (id %u) left on %s by a previous run\n",
		MAILTAP_PROG_NAME, id, l->ifname);
}

/*
 * The crashed run's program, attached directly, found and detached through netlink: libxdp
 * reads the attached program back by id, which needs CAP_SYS_ADMIN, and the systemd unit
 * does not grant it. Netlink tells the attached ids and modes to anyone; the detach needs
 * CAP_NET_ADMIN only. Clears l->stale_id once its program is known not to be attached.
 * 0, or negative errno when it is attached and cannot be detached.
 */
static int clean_stale_netlink(struct loader *l)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	LIBBPF_OPTS(bpf_xdp_attach_opts, xo);
	__u32 fl;
	int fd, err;

	if (!l->stale_id || bpf_xdp_query(l->ifindex, 0, &q) != 0)
		return 0; /* nothing to look for, or cannot tell: libxdp looks */
	if (q.drv_prog_id == l->stale_id)
		fl = XDP_FLAGS_DRV_MODE;
	else if (q.skb_prog_id == l->stale_id)
		fl = XDP_FLAGS_SKB_MODE;
	else if (q.hw_prog_id == l->stale_id)
		fl = XDP_FLAGS_HW_MODE;
	else {
		l->stale_id = 0; /* gone with its interface, or removed by hand */
		return 0;
	}
	say_removing(l, l->stale_id);
	/* With CAP_SYS_ADMIN, replace exactly that program (XDP_FLAGS_REPLACE); without, detach
	 * what the mode holds: the id we just read, unless someone attached another in between,
	 * while we hold the interface lock. */
	fd = bpf_prog_get_fd_by_id(l->stale_id);
	if (fd >= 0)
		xo.old_prog_fd = fd;
	err = bpf_xdp_detach(l->ifindex, fl, &xo);
	if (fd >= 0)
		close(fd);
	if (err) {
		pr_warn("live capture: cannot remove it: %s\n", strerror(-err));
		return err;
	}
	l->stale_id = 0;
	return 0;
}

static int clean_stale(struct loader *l)
{
	struct xdp_multiprog *mp;
	struct xdp_program *p;
	int err = clean_stale_netlink(l);

	if (err)
		return err;
	mp = xdp_multiprog__get_from_ifindex(l->ifindex);
	if (ptr_err(mp))
		return 0; /* nothing attached, or cannot tell (no CAP_SYS_ADMIN): attach says */
	if (xdp_multiprog__is_legacy(mp)) {
		p = xdp_multiprog__main_prog(mp);
		if (!p || strcmp(xdp_program__name(p), MAILTAP_PROG_NAME))
			goto out; /* not ours: attach will tell */
		if (l->stale_id && xdp_program__id(p) == l->stale_id) {
			say_removing(l, l->stale_id);
			err = xdp_multiprog__detach(mp);
			if (err)
				pr_warn("live capture: cannot remove it: %s\n", strerror(-err));
			else
				l->stale_id = 0;
			goto out;
		}
		pr_warn("live capture: %s already runs %s (id %u), attached by someone else "
			"(bpftool?): use --pinned DIR (default %s), or detach it: bpftool net "
			"detach xdp dev %s\n",
			l->ifname, MAILTAP_PROG_NAME, xdp_program__id(p), MAILTAP_PIN_DIR,
			l->ifname);
		err = -EEXIST;
		goto out;
	}
	for (p = xdp_multiprog__next_prog(NULL, mp); p; p = xdp_multiprog__next_prog(p, mp)) {
		if (strcmp(xdp_program__name(p), MAILTAP_PROG_NAME))
			continue;
		say_removing(l, xdp_program__id(p));
		err = xdp_program__detach(p, l->ifindex, xdp_multiprog__attach_mode(mp), 0);
		if (err) {
			pr_warn("live capture: cannot remove stale program: %s\n", strerror(-err));
			goto out;
		}
		if (xdp_program__id(p) == l->stale_id)
			l->stale_id = 0;
		/* The dispatcher was rebuilt: start over with a fresh view. */
		xdp_multiprog__close(mp);
		return clean_stale(l);
	}
out:
	xdp_multiprog__close(mp);
	return err;
}

int loader__set_ports_fd(int ports_fd, const uint16_t *ports, size_t n)
{
	__u64 *words = calloc(MAILTAP_PORT_WORDS, sizeof(*words));
	__u32 k;
	size_t i;
	int err = 0;

	if (!words)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		words[MAILTAP_PORT_WORD(ports[i])] |= MAILTAP_PORT_BIT(ports[i]);
	for (k = 0; k < MAILTAP_PORT_WORDS; k++) {
		if (bpf_map_update_elem(ports_fd, &k, &words[k], BPF_ANY)) {
			err = -errno;
			break;
		}
	}
	free(words);
	return err;
}

int loader__set_ports(struct loader *l, const uint16_t *ports, size_t n)
{
	int err = loader__set_ports_fd(l->ports_fd, ports, n);

	if (err)
		pr_warn("live capture: cannot write the port set: %s\n", strerror(-err));
	return err;
}

int loader__read_stats_fd(int stats_fd, uint64_t *pk, uint64_t *by)
{
	int ncpu = libbpf_num_possible_cpus();
	struct mailtap_stats *v;
	__u32 zero = 0, k;
	int c;

	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	v = calloc((size_t)ncpu, sizeof(*v));
	if (!v)
		return -ENOMEM;
	if (bpf_map_lookup_elem(stats_fd, &zero, v)) {
		int err = -errno;

		free(v);
		return err;
	}
	for (k = 0; k < MAILTAP_STAT__MAX; k++) {
		pk[k] = 0;
		if (by)
			by[k] = 0;
		for (c = 0; c < ncpu; c++) {
			pk[k] += v[c].c[k].packets;
			if (by)
				by[k] += v[c].c[k].bytes;
		}
	}
	free(v);
	return 0;
}

int loader__read_stats(const struct loader *l, uint64_t *pk, uint64_t *by)
{
	return loader__read_stats_fd(l->stats_fd, pk, by);
}

/* optional: a missing pin is -ENOENT without a word (the caller says what it means). */
static int open_pinned_map(const char *dir, const char *name, __u32 type, __u32 key, __u32 val,
			   __u32 entries, __u32 *max_entries, bool optional)
{
	struct bpf_map_info info = {0};
	__u32 len = sizeof(info);
	char path[PATH_MAX];
	int fd, err;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = bpf_obj_get(path);
	if (fd < 0) {
		err = -errno;
		if (err == -ENOENT && optional)
			return err;
		if (err == -ENOENT)
			pr_warn("live capture: no pinned map %s: load mailtap.bpf.o with bpftool "
				"and pin its maps there first (docs/capture.md)\n",
				path);
		else if (err == -EPERM || err == -EACCES)
			pr_warn(
			    "live capture: %s: permission denied; missing capability CAP_BPF?\n",
			    path);
		else
			pr_warn("live capture: %s: %s\n", path, strerror(-err));
		return err;
	}
	if (bpf_obj_get_info_by_fd(fd, &info, &len)) {
		err = -errno;
		close(fd);
		return err;
	}
	if (info.type != type || info.key_size != key || info.value_size != val ||
	    (entries && info.max_entries != entries)) {
		pr_warn("live capture: %s does not match this mailtap's ABI (type %u key %u value "
			"%u entries %u): pinned from another build of mailtap.bpf.o?\n",
			path, info.type, info.key_size, info.value_size, info.max_entries);
		close(fd);
		return -EPROTO;
	}
	if (max_entries)
		*max_entries = info.max_entries;
	return fd;
}

/* "4789,8472", or "none" for an empty list. */
static const char *fmt_tunnel_ports(const __u16 *list, char *buf, size_t size)
{
	size_t n = 0;

	buf[0] = '\0';
	for (int i = 0; i < MAILTAP_MAX_TUNNEL_PORTS && list[i] && n < size; i++)
		n += (size_t)snprintf(buf + n, size - n, "%s%u", i ? "," : "", list[i]);
	return buf[0] ? buf : "none";
}

/* "VXLAN on 4789 and Geneve on 6081" */
static const char *fmt_tunnels(const struct mailtap_tunnel_ports *t, char *buf, size_t size)
{
	char v[64], g[64];

	snprintf(buf, size, "VXLAN on %s and Geneve on %s",
		 fmt_tunnel_ports(t->vxlan, v, sizeof(v)),
		 fmt_tunnel_ports(t->geneve, g, sizeof(g)));
	return buf;
}

/*
 * Pinned mode: the pinned program's VXLAN and Geneve ports (MAILTAP_TUNNEL_PORTS_PIN) against
 * want, decode's. Given on the command line: written (the map is the program's .data: always
 * writable). Else compared: a difference said, as the program then steers tunnels decode does
 * not follow, or the reverse. No pin: an object older than the option, which follows Zeek's
 * defaults only: other ports are refused (-ENOENT).
 */
static int pinned_tunnel_ports(const struct loader_opts *o, const struct mailtap_tunnel_ports *want)
{
	static const struct mailtap_tunnel_ports def = MAILTAP_TUNNEL_PORTS_DEFAULT;
	struct mailtap_tunnel_ports have;
	char a[160], b[160];
	__u32 zero = 0;
	int fd, err = 0;

	fd = open_pinned_map(o->pinned_dir, MAILTAP_TUNNEL_PORTS_PIN, BPF_MAP_TYPE_ARRAY, 4,
			     sizeof(have), 1, NULL, true);
	if (fd == -ENOENT) {
		if (!memcmp(want, &def, sizeof(def)))
			return 0;
		pr_warn("live capture: %s/%s: no such pin: the pinned program (an older "
			"mailtap.bpf.o?) follows %s only, not %s: load this build's object (docs/"
			"capture.md), or capture without --vxlan-ports/--geneve-ports\n",
			o->pinned_dir, MAILTAP_TUNNEL_PORTS_PIN, fmt_tunnels(&def, a, sizeof(a)),
			fmt_tunnels(want, b, sizeof(b)));
		return -ENOENT;
	}
	if (fd < 0)
		return fd;
	if (o->tun_ports_given) {
		if (bpf_map_update_elem(fd, &zero, want, BPF_ANY)) {
			err = -errno;
			pr_warn("live capture: cannot write the tunnel ports to %s/%s: %s\n",
				o->pinned_dir, MAILTAP_TUNNEL_PORTS_PIN, strerror(-err));
		}
	} else if (bpf_map_lookup_elem(fd, &zero, &have)) {
		err = -errno;
		pr_warn("live capture: cannot read the tunnel ports from %s/%s: %s\n",
			o->pinned_dir, MAILTAP_TUNNEL_PORTS_PIN, strerror(-err));
	} else if (memcmp(&have, want, sizeof(have))) {
		pr_warn("live capture: the pinned program follows %s, mailtap decodes %s: tunnel "
			"packets one of them takes the other misses; give the program's ports "
			"(--vxlan-ports, --geneve-ports: mailtap writes them to %s/%s)\n",
			fmt_tunnels(&have, a, sizeof(a)), fmt_tunnels(want, b, sizeof(b)),
			o->pinned_dir, MAILTAP_TUNNEL_PORTS_PIN);
	}
	close(fd);
	return err;
}

/* The tunnel ports asked for: o's, or Zeek's defaults. */
static const struct mailtap_tunnel_ports *tunnel_ports(const struct loader_opts *o)
{
	static const struct mailtap_tunnel_ports def = MAILTAP_TUNNEL_PORTS_DEFAULT;

	return o->tun_ports ? o->tun_ports : &def;
}

static int open_pinned(struct loader *l, const struct loader_opts *o)
{
	__u32 prog_id = 0;
	int err;

	struct stat st;

	if (stat(o->pinned_dir, &st) != 0) {
		err = -errno;
		pr_warn("live capture: %s: %s: no pinned maps there; load mailtap.bpf.o with "
			"bpftool and pin its maps there first (docs/capture.md)\n",
			o->pinned_dir, strerror(-err));
		return err;
	}
	err = loader__check_bpffs(o->pinned_dir);
	if (err)
		return err;
	l->xsks_fd = open_pinned_map(o->pinned_dir, MAILTAP_MAP_XSKS, BPF_MAP_TYPE_XSKMAP, 4, 4, 0,
				     &l->max_queues, false);
	if (l->xsks_fd < 0)
		return l->xsks_fd;
	l->ports_fd = open_pinned_map(o->pinned_dir, MAILTAP_MAP_PORTS, BPF_MAP_TYPE_ARRAY, 4,
				      sizeof(__u64), MAILTAP_PORT_WORDS, NULL, false);
	if (l->ports_fd < 0)
		return l->ports_fd;
	l->stats_fd = open_pinned_map(o->pinned_dir, MAILTAP_MAP_STATS, BPF_MAP_TYPE_PERCPU_ARRAY,
				      4, sizeof(struct mailtap_stats), 1, NULL, false);
	if (l->stats_fd < 0)
		return l->stats_fd;
	if (bpf_xdp_query_id(l->ifindex, 0, &prog_id) == 0 && prog_id == 0)
		pr_warn("live capture: no XDP program attached to %s yet: nothing will be captured "
			"until the operator attaches it (bpftool net attach xdp pinned ...)\n",
			l->ifname);
	err = pinned_tunnel_ports(o, tunnel_ports(o));
	if (err)
		return err;
	if (o->ports && o->n_ports)
		return loader__set_ports(l, o->ports, o->n_ports);
	return 0;
}

static int load_attach(struct loader *l, const struct loader_opts *o)
{
	static const uint16_t defports[] = MAILTAP_DEFAULT_PORTS;
	DECLARE_LIBXDP_OPTS(xdp_program_opts, xopts, 0);
	enum xdp_attach_mode mode = to_libxdp(o->mode);
	int err;

	err = loader__check_bpffs("/sys/fs/bpf");
	if (err)
		return err;
	err = clean_stale(l);
	if (err)
		return err;
	l->skel = mailtap_bpf__open();
	if (!l->skel) {
		err = -errno;
		pr_warn("live capture: cannot open the BPF skeleton: %s\n", strerror(-err));
		return err;
	}
	l->max_queues = o->max_queues ? o->max_queues : MAILTAP_MAX_QUEUES;
	err = bpf_map__set_max_entries(l->skel->maps.xsks_map, l->max_queues);
	if (err)
		return err;
	/* the VXLAN and Geneve ports: the initial value of the program's .data.tunports */
	l->skel->data_tunports->mailtap_tunnel_ports = *tunnel_ports(o);
	xopts.obj = l->skel->obj;
	xopts.prog_name = MAILTAP_PROG_NAME;
	l->prog = xdp_program__create(&xopts);
	err = (int)ptr_err(l->prog);
	if (err) {
		l->prog = NULL;
		pr_warn("live capture: cannot create the XDP program: %s\n", strerror(-err));
		return err;
	}
	err = xdp_program__attach(l->prog, l->ifindex, mode, 0);
	if (err) {
		if (err == -EPERM || err == -EACCES)
			pr_warn("live capture: attaching XDP to %s: permission denied: missing "
				"capability CAP_BPF/CAP_NET_ADMIN (or CAP_SYS_ADMIN)\n",
				l->ifname);
		else if (err == -EEXIST || err == -EBUSY)
			pr_warn("live capture: %s already has an XDP program attached without the "
				"libxdp dispatcher (or in another mode); detach it or attach it "
				"with xdp-loader\n",
				l->ifname);
		else if ((err == -EOPNOTSUPP || err == -EINVAL) && mode == XDP_MODE_NATIVE)
			pr_warn("live capture: %s has no native XDP support: use --xdp-mode skb or "
				"auto\n",
				l->ifname);
		else if (err == -ERANGE)
			/* The driver's word for a frame that does not fit the one page native XDP
			 * gives it (veth: the peer's MTU); the program has no multi-buffer support.
			 */
			pr_warn(
			    "live capture: %s: its MTU (%d) is too large for native XDP on this "
			    "driver (frames must fit a page, about 3500 bytes): lower it (ip link "
			    "set dev %s mtu 3500, on a veth the peer's too), or use --xdp-mode "
			    "skb, where frames longer than a UMEM frame less its 256 bytes of "
			    "headroom (3840 bytes with --frame-size 4096) are dropped (rx_dropped) "
			    "(docs/capture.md)\n",
			    l->ifname, loader__ifmtu(l->ifname), l->ifname);
		else
			pr_warn("live capture: attaching XDP to %s (mode %s): %s (-v shows "
				"libbpf/libxdp details)\n",
				l->ifname, loader__mode_name(o->mode), strerror(-err));
		return err;
	}
	l->attached = xdp_program__is_attached(l->prog, l->ifindex);
	{
		struct xdp_multiprog *mp = xdp_multiprog__get_from_ifindex(l->ifindex);

		if (!ptr_err(mp)) {
			l->legacy = xdp_multiprog__is_legacy(mp);
			if (l->attached == XDP_MODE_UNSPEC)
				l->attached = xdp_multiprog__attach_mode(mp);
			xdp_multiprog__close(mp);
		}
	}
	if (l->attached == XDP_MODE_UNSPEC) {
		/* libxdp reads the attached program back by id, which needs CAP_SYS_ADMIN (a
		 * container with CAP_BPF + CAP_NET_ADMIN has not). Netlink tells the mode and the
		 * id without privileges: if the attached program is ours, it is attached directly.
		 */
		LIBBPF_OPTS(bpf_xdp_query_opts, q);

		if (bpf_xdp_query(l->ifindex, 0, &q) == 0) {
			__u32 id = xdp_program__id(l->prog);

			if (q.drv_prog_id == id)
				l->attached = XDP_MODE_NATIVE;
			else if (q.skb_prog_id == id)
				l->attached = XDP_MODE_SKB;
			else if (q.hw_prog_id == id)
				l->attached = XDP_MODE_HW;
			if (l->attached != XDP_MODE_UNSPEC)
				l->legacy = true;
		}
	}
	/* Attached: nothing of the crashed run's is left in that mode; the lock names ours. */
	l->stale_id = 0;
	iflock__write(&l->lock, xdp_program__id(l->prog));
	l->xsks_fd = bpf_map__fd(l->skel->maps.xsks_map);
	l->ports_fd = bpf_map__fd(l->skel->maps.mailtap_ports);
	l->stats_fd = bpf_map__fd(l->skel->maps.mailtap_stats);
	if (o->ports && o->n_ports)
		err = loader__set_ports(l, o->ports, o->n_ports);
	else
		err = loader__set_ports(l, defports, sizeof(defports) / sizeof(defports[0]));
	if (err)
		return err;
	pr_info("live capture: %s attached to %s in %s mode (%s)\n", MAILTAP_PROG_NAME, l->ifname,
		libxdp_mode_name(l->attached),
		l->legacy ? "directly: this kernel cannot run the libxdp dispatcher"
			  : "libxdp dispatcher");
	return 0;
}

struct loader *loader__open(const struct loader_opts *o)
{
	struct loader *l;
	int err;

	libbpf_set_print(libbpf_print);
	libxdp_set_print(libxdp_print);
	l = calloc(1, sizeof(*l));
	if (!l) {
		errno = ENOMEM;
		return NULL;
	}
	l->xsks_fd = l->ports_fd = l->stats_fd = l->lock.fd = -1;
	err = loader__check_ifname(o->ifname, &l->ifindex);
	if (err)
		goto fail;
	memcpy(l->ifname, o->ifname, strlen(o->ifname) + 1);
	err = loader__check_caps();
	if (err)
		goto fail;
	err = take_lock(l, o->lock_dir ? o->lock_dir : LOADER_LOCK_DIR);
	if (err)
		goto fail;
	/* The crashed run's program id stays in the lock until clean_stale has removed its
	 * program: a start failing before that must leave it for the next run. */
	iflock__write(&l->lock, l->stale_id);
	l->pinned = o->pinned_dir != NULL;
	err = l->pinned ? open_pinned(l, o) : load_attach(l, o);
	if (err)
		goto fail;
	return l;
fail:
	loader__close(l);
	errno = -err;
	return NULL;
}

int loader__ifindex(const struct loader *l)
{
	return l->ifindex;
}

int loader__xsks_map_fd(const struct loader *l)
{
	return l->xsks_fd;
}

int loader__ports_fd(const struct loader *l)
{
	return l->ports_fd;
}

int loader__stats_fd(const struct loader *l)
{
	return l->stats_fd;
}

uint32_t loader__max_queues(const struct loader *l)
{
	return l->max_queues;
}

const char *loader__attached_mode(const struct loader *l)
{
	return l->pinned ? "pinned" : libxdp_mode_name(l->attached);
}

void loader__close(struct loader *l)
{
	unsigned long keep;
	int err;

	if (!l)
		return;
	/* What the lock must keep for the next run: the crashed run's program id while its
	 * program may still be attached; ours when the interface went away with it attached,
	 * as it may come back with it (moved to another network namespace and back). */
	keep = l->stale_id;
	if (l->prog && l->attached != XDP_MODE_UNSPEC && l->gone)
		keep = xdp_program__id(l->prog);
	if (l->prog) {
		if (l->attached != XDP_MODE_UNSPEC && !l->gone) {
			err = -EOPNOTSUPP;
			if (l->legacy) {
				/* Attached directly: detach through netlink, replacing our own
				 * program fd only (XDP_FLAGS_REPLACE). This needs CAP_NET_ADMIN
				 * alone, so it still works after --user dropped the rest; libxdp's
				 * detach looks the program up by id, which needs CAP_SYS_ADMIN. */
				LIBBPF_OPTS(bpf_xdp_attach_opts, xo,
					    .old_prog_fd = xdp_program__fd(l->prog));
				__u32 fl = l->attached == XDP_MODE_SKB	? XDP_FLAGS_SKB_MODE
					   : l->attached == XDP_MODE_HW ? XDP_FLAGS_HW_MODE
									: XDP_FLAGS_DRV_MODE;

				err = bpf_xdp_detach(l->ifindex, fl, &xo);
			}
			if (err)
				err = xdp_program__detach(l->prog, l->ifindex, l->attached, 0);
			if (err)
				pr_warn("live capture: detaching XDP from %s: %s\n", l->ifname,
					strerror(-err));
		}
		xdp_program__close(l->prog);
	}
	if (l->skel)
		mailtap_bpf__destroy(l->skel);
	if (l->pinned) {
		if (l->xsks_fd >= 0)
			close(l->xsks_fd);
		if (l->ports_fd >= 0)
			close(l->ports_fd);
		if (l->stats_fd >= 0)
			close(l->stats_fd);
	}
	if (keep)
		iflock__keep(&l->lock, keep);
	else
		iflock__drop(&l->lock);
	free(l);
}
