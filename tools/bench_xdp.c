// SPDX-License-Identifier: BSD-3-Clause
/*
 * bench_xdp: BPF_PROG_TEST_RUN cost of mailtap's XDP program per packet, for mail and
 * non-mail frames, as a ratio to an empty XDP program (return XDP_PASS) measured in the
 * same run. Each figure is the median of ROUNDS rounds of REPEAT runs in the kernel, timed
 * by the thread's CPU clock around the call (the kernel's own `duration` is whole
 * nanoseconds per run: at 5-15 ns a packet each nanosecond moved a ratio by 0.1-0.2).
 * Two more baselines show the floor any AF_XDP steering program pays: "redirect only"
 * (bpf_redirect_map into the same XSKMAP, nothing else) and "redirect + timestamp"
 * (bpf_xdp_adjust_meta, bpf_ktime_get_ns into the metadata, then the redirect), built
 * here from raw instructions so the floor and the program share the run and the map.
 *
 * bench_xdp [OBJ] [--repeat N] [--rounds N]   (OBJ default $BUILD/mailtap.bpf.o)
 *
 * Caveat: with repeat > 1 the kernel runs the program on the same xdp_buff, so the
 * metadata area grows on the first runs and then bpf_xdp_adjust_meta fails (meta_err):
 * the "mail" figures include the parse, port lookup, adjust_meta attempt and
 * redirect_map fallback (empty XSKMAP), but not the bpf_ktime_get_ns() call.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include "mailtap_abi.h"

struct frame {
	const char *name;
	uint8_t b[192];
	size_t n;
};

static void mk_eth(struct frame *f, uint16_t type, int vlan)
{
	static const uint8_t macs[12] = {2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1};

	memcpy(f->b + f->n, macs, 12); /* appended: an inner frame follows a tunnel header */
	f->n += 12;
	if (vlan) {
		f->b[f->n++] = 0x81, f->b[f->n++] = 0x00, f->b[f->n++] = 0x00, f->b[f->n++] = 10;
	}
	f->b[f->n++] = (uint8_t)(type >> 8);
	f->b[f->n++] = (uint8_t)type;
}

static void mk_ipv4(struct frame *f, uint8_t proto)
{
	uint8_t *h = f->b + f->n;

	memset(h, 0, 20);
	h[0] = 0x45, h[2] = 0, h[3] = 60, h[8] = 64, h[9] = proto;
	h[12] = 10, h[15] = 1, h[16] = 10, h[19] = 2;
	f->n += 20;
}

static void mk_ipv6(struct frame *f, uint8_t nh)
{
	uint8_t *h = f->b + f->n;

	memset(h, 0, 40);
	h[0] = 0x60, h[5] = 20, h[6] = nh, h[7] = 64, h[23] = 1, h[39] = 2;
	f->n += 40;
}

static void mk_l4(struct frame *f, uint16_t sport, uint16_t dport, int tcp)
{
	uint8_t *h = f->b + f->n;

	memset(h, 0, 20);
	h[0] = (uint8_t)(sport >> 8), h[1] = (uint8_t)sport;
	h[2] = (uint8_t)(dport >> 8), h[3] = (uint8_t)dport;
	if (tcp)
		h[12] = 0x50, h[13] = 0x10;
	f->n += 20;
}

/* UDP to dport and a VXLAN header (I flag, VNI 42): an Ethernet frame follows. */
static void mk_vxlan(struct frame *f, uint16_t dport)
{
	uint8_t *h = f->b + f->n;

	memset(h, 0, 16);
	h[0] = 0xc0, h[1] = 0x00;
	h[2] = (uint8_t)(dport >> 8), h[3] = (uint8_t)dport;
	h[8] = 0x08, h[14] = 42;
	f->n += 16;
}

#define INSN(c, d, s_, o, i)                                                                       \
	{                                                                                          \
		.code = (c), .dst_reg = (d), .src_reg = (s_), .off = (o), .imm = (i)               \
	}
#define MD_OFF(f) ((__s16)offsetof(struct xdp_md, f))

/* bpf_redirect_map(&xsks_map, ctx->rx_queue_index, XDP_PASS), with or without first
 * writing bpf_ktime_get_ns() into 16 bytes of XDP metadata as mailtap_xdp does. */
static int load_floor(int xsks_fd, int with_meta)
{
	struct bpf_insn meta[] = {
	    INSN(BPF_ALU64 | BPF_MOV | BPF_X, 6, 1, 0, 0),   /* r6 = ctx */
	    INSN(BPF_ALU64 | BPF_MOV | BPF_K, 2, 0, 0, -16), /* r2 = -16 */
	    INSN(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_xdp_adjust_meta),
	    INSN(BPF_JMP | BPF_JNE | BPF_K, 0, 0, 8, 0), /* failed: redirect */
	    INSN(BPF_LDX | BPF_MEM | BPF_W, 7, 6, MD_OFF(data_meta), 0),
	    INSN(BPF_LDX | BPF_MEM | BPF_W, 3, 6, MD_OFF(data), 0),
	    INSN(BPF_ALU64 | BPF_MOV | BPF_X, 4, 7, 0, 0),
	    INSN(BPF_ALU64 | BPF_ADD | BPF_K, 4, 0, 0, 16),
	    INSN(BPF_JMP | BPF_JGT | BPF_X, 4, 3, 3, 0), /* meta + 16 > data */
	    INSN(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_ktime_get_ns),
	    INSN(BPF_STX | BPF_MEM | BPF_DW, 7, 0, 0, 0),  /* meta->ts_ns = r0 */
	    INSN(BPF_ST | BPF_MEM | BPF_DW, 7, 0, 8, 1),   /* flags/magic */
	    INSN(BPF_ALU64 | BPF_MOV | BPF_X, 1, 6, 0, 0), /* r1 = ctx */
	};
	struct bpf_insn redir[] = {
	    INSN(BPF_LDX | BPF_MEM | BPF_W, 2, 1, MD_OFF(rx_queue_index), 0),
	    INSN(BPF_LD | BPF_DW | BPF_IMM, 1, BPF_PSEUDO_MAP_FD, 0, xsks_fd),
	    INSN(0, 0, 0, 0, 0),
	    INSN(BPF_ALU64 | BPF_MOV | BPF_K, 3, 0, 0, XDP_PASS),
	    INSN(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_redirect_map),
	    INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
	};
	struct bpf_insn prog[sizeof(meta) / sizeof(meta[0]) + sizeof(redir) / sizeof(redir[0])];
	size_t n = 0;

	if (with_meta) {
		memcpy(prog, meta, sizeof(meta));
		n = sizeof(meta) / sizeof(meta[0]);
	}
	memcpy(prog + n, redir, sizeof(redir));
	n += sizeof(redir) / sizeof(redir[0]);
	return bpf_prog_load(BPF_PROG_TYPE_XDP, with_meta ? "floor_meta" : "floor_redir", "GPL",
			     prog, n, NULL);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double thread_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

struct bcase {
	const char *name;
	int fd;
	const struct frame *f;
	double d[32]; /* ns per run, one per round */
};

/* Median ns/run of every case over rounds; the cases take turns within each round so
 * that frequency or load drift hits the baselines and the program alike. */
static void measure(struct bcase *c, int n, unsigned int repeat, int rounds)
{
	int r, i;

	for (r = 0; r < rounds; r++) {
		for (i = 0; i < n; i++) {
			LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = c[i].f->b,
				    .data_size_in = (__u32)c[i].f->n, .repeat = repeat);
			double t0 = thread_ns(), t1;

			if (bpf_prog_test_run_opts(c[i].fd, &o)) {
				fprintf(stderr, "bench_xdp: test run: %s\n", strerror(errno));
				exit(1);
			}
			t1 = thread_ns();
			c[i].d[r] = (t1 - t0) / repeat;
		}
	}
	for (i = 0; i < n; i++)
		qsort(c[i].d, (size_t)rounds, sizeof(c[i].d[0]), cmp_double);
}

int main(int argc, char **argv)
{
	const char *build = getenv("BUILD");
	char path[4096];
	const char *obj_path = NULL;
	unsigned int repeat = 1000000;
	int rounds = 5, i, prog_fd, empty_fd, ports_fd, xsks_fd, redir_fd, meta_fd;
	struct bpf_insn empty[] = {
	    {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = XDP_PASS},
	    {.code = BPF_JMP | BPF_EXIT},
	};
	uint16_t ports[] = MAILTAP_DEFAULT_PORTS;
	struct bpf_object *obj;
	struct bpf_program *p;
	struct frame fr[8] = {0};
	struct bcase bc[11];
	double base;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--repeat") && i + 1 < argc)
			repeat = (unsigned int)strtoul(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--rounds") && i + 1 < argc)
			rounds = atoi(argv[++i]);
		else
			obj_path = argv[i];
	}
	if (rounds < 1 || rounds > 31)
		rounds = 5;
	if (!obj_path) {
		snprintf(path, sizeof(path), "%s/mailtap.bpf.o", build && *build ? build : "build");
		obj_path = path;
	}
	obj = bpf_object__open_file(obj_path, NULL);
	if (!obj || bpf_object__load(obj)) {
		fprintf(stderr, "bench_xdp: cannot load %s: %s (needs root)\n", obj_path,
			strerror(errno));
		return 1;
	}
	p = bpf_object__find_program_by_name(obj, MAILTAP_PROG_NAME);
	prog_fd = p ? bpf_program__fd(p) : -1;
	ports_fd = bpf_object__find_map_fd_by_name(obj, MAILTAP_MAP_PORTS);
	xsks_fd = bpf_object__find_map_fd_by_name(obj, MAILTAP_MAP_XSKS);
	empty_fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "empty_xdp", "GPL", empty, 2, NULL);
	redir_fd = xsks_fd >= 0 ? load_floor(xsks_fd, 0) : -1;
	meta_fd = xsks_fd >= 0 ? load_floor(xsks_fd, 1) : -1;
	if (prog_fd < 0 || ports_fd < 0 || empty_fd < 0 || redir_fd < 0 || meta_fd < 0) {
		fprintf(stderr, "bench_xdp: setup failed: %s\n", strerror(errno));
		return 1;
	}
	for (i = 0; i < (int)(sizeof(ports) / sizeof(ports[0])); i++) {
		__u32 k = MAILTAP_PORT_WORD(ports[i]);
		__u64 w = 0;

		bpf_map_lookup_elem(ports_fd, &k, &w);
		w |= MAILTAP_PORT_BIT(ports[i]);
		bpf_map_update_elem(ports_fd, &k, &w, BPF_ANY);
	}

	fr[0].name = "ipv4 tcp ->25 (mail)";
	mk_eth(&fr[0], 0x0800, 0), mk_ipv4(&fr[0], 6), mk_l4(&fr[0], 40000, 25, 1);
	fr[1].name = "ipv4 tcp ->443 (non-mail)";
	mk_eth(&fr[1], 0x0800, 0), mk_ipv4(&fr[1], 6), mk_l4(&fr[1], 40000, 443, 1);
	fr[2].name = "ipv6 tcp 587-> (mail)";
	mk_eth(&fr[2], 0x86dd, 0), mk_ipv6(&fr[2], 6), mk_l4(&fr[2], 587, 40000, 1);
	fr[3].name = "vlan ipv4 tcp ->80 (non-mail)";
	mk_eth(&fr[3], 0x0800, 1), mk_ipv4(&fr[3], 6), mk_l4(&fr[3], 40000, 80, 1);
	fr[4].name = "ipv4 udp ->53 (non-mail)";
	mk_eth(&fr[4], 0x0800, 0), mk_ipv4(&fr[4], 17), mk_l4(&fr[4], 40000, 53, 0);
	fr[5].name = "arp (non-mail)";
	mk_eth(&fr[5], 0x0806, 0);
	memset(fr[5].b + fr[5].n, 0, 28);
	fr[5].n += 28;
	fr[6].name = "vxlan ipv4 tcp ->25 (mail)";
	mk_eth(&fr[6], 0x0800, 0), mk_ipv4(&fr[6], 17), mk_vxlan(&fr[6], 4789);
	mk_eth(&fr[6], 0x0800, 0), mk_ipv4(&fr[6], 6), mk_l4(&fr[6], 40000, 25, 1);
	fr[7].name = "vxlan in vxlan tcp ->25 (mail)"; /* two tunnels deep */
	mk_eth(&fr[7], 0x0800, 0), mk_ipv4(&fr[7], 17), mk_vxlan(&fr[7], 4789);
	mk_eth(&fr[7], 0x0800, 0), mk_ipv4(&fr[7], 17), mk_vxlan(&fr[7], 4789);
	mk_eth(&fr[7], 0x0800, 0), mk_ipv4(&fr[7], 6), mk_l4(&fr[7], 40000, 25, 1);

	bc[0] = (struct bcase){"empty XDP program (baseline)", empty_fd, &fr[0], {0}};
	bc[1] = (struct bcase){"floor: redirect only", redir_fd, &fr[0], {0}};
	bc[2] = (struct bcase){"floor: redirect + timestamp", meta_fd, &fr[0], {0}};
	for (i = 0; i < 8; i++)
		bc[3 + i] = (struct bcase){fr[i].name, prog_fd, &fr[i], {0}};
	measure(bc, 11, repeat, rounds);
	base = bc[0].d[rounds / 2];
	printf("bench_xdp: BPF_PROG_TEST_RUN, repeat %u, median of %d rounds, thread CPU time\n",
	       repeat, rounds);
	printf("%-32s %10s %8s\n", "frame", "ns/pkt", "ratio");
	for (i = 0; i < (int)(sizeof(bc) / sizeof(bc[0])); i++) {
		double ns = bc[i].d[rounds / 2];

		printf("%-32s %10.2f %8.2f\n", bc[i].name, ns, base > 0 ? ns / base : 0.0);
	}
	close(empty_fd);
	close(redir_fd);
	close(meta_fd);
	bpf_object__close(obj);
	return 0;
}
