/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ABI between bpf/mailtap_host.bpf.c (host mode: XDP on ingress + TC clsact on egress,
 * both copying mail-port packets into a BPF ring buffer and passing every packet) and
 * user/hostcap.c. Only __u8..__u64 here; userspace-only parts under #ifndef __bpf__.
 * The port set has the same layout as the mirror program's (include/mailtap_abi.h).
 */
#ifndef MAILTAP_HOST_ABI_H
#define MAILTAP_HOST_ABI_H

#include <linux/types.h>

/* Program names (function names in the object; bpftool/ip/tc show them). */
#define MAILTAP_HOST_XDP_NAME "mailtap_host_xdp"
#define MAILTAP_HOST_TC_NAME "mailtap_host_tc"

/* Map names. */
#define MAILTAP_HOST_MAP_RB "mth_events"       /* RINGBUF: records to userspace */
#define MAILTAP_HOST_MAP_PORTS "mth_ports"     /* ARRAY: the port set, 65536 bits */
#define MAILTAP_HOST_MAP_STATS "mth_stats"     /* PERCPU_ARRAY: enum mailtap_host_stat */
#define MAILTAP_HOST_MAP_SCRATCH "mth_scratch" /* ARRAY: one record buffer per CPU and hook */

/* Port set: same layout as MAILTAP_PORT_* (65536 bits in 1024 __u64 words). */
#define MAILTAP_HOST_PORT_WORDS 1024

/* Most bytes of a packet one record can carry (the BPF side's hard cap on --snaplen). */
#define MAILTAP_HOST_SNAP_MAX 65536
/* Default ring buffer size (bytes, power of 2, multiple of the page size). */
#define MAILTAP_HOST_RB_DEFAULT (16u << 20)
/* IPv6 extension headers walked before giving up (parse_err): MAILTAP_MAX_IPV6_EXT, as
 * user/decode.c (user/hostcap.c checks they are equal). */
#define MAILTAP_HOST_MAX_IPV6_EXT 16

enum mailtap_host_dir {
	MAILTAP_HOST_DIR_INGRESS = 0, /* received: XDP */
	MAILTAP_HOST_DIR_EGRESS = 1,  /* sent: TC clsact egress */
};

/* Record header flags. */
#define MAILTAP_HOST_F_TAI 0x1	/* ts_ns is CLOCK_TAI (else CLOCK_BOOTTIME) */
#define MAILTAP_HOST_F_FRAG 0x2 /* copied because it is a TCP fragment */

/*
 * One ring buffer record: this header, then cap_len bytes of the frame from its Ethernet
 * header. cap_len = min(wire_len, snaplen). Records are in reservation order across CPUs
 * and both hooks, which userspace keeps.
 */
struct mailtap_host_rec {
	__u64 ts_ns;	/* bpf_ktime_get_tai_ns() or bpf_ktime_get_boot_ns(), see flags */
	__u32 ifindex;	/* interface the hook runs on */
	__u32 wire_len; /* frame length (XDP: data_end - data + frags; TC: skb->len) */
	__u32 cap_len;	/* bytes that follow */
	__u8 dir;	/* enum mailtap_host_dir */
	__u8 flags;	/* MAILTAP_HOST_F_* */
	__u16 pad;
};

/*
 * Per-CPU counters, X(enum suffix, name, description). Invariants (summed over CPUs):
 *   seen = matched + parse_err + non_ip + non_tcp + other_port   (for each hook)
 *   matched = copied + rb_full + load_err
 * ingress/egress count what each hook saw; nothing is ever dropped: every packet passes.
 */
#define MAILTAP_HOST_STATS(X)                                                                      \
	X(SEEN, "seen", "packets the programs ran on (both hooks)")                                \
	X(INGRESS, "ingress", "packets seen by the XDP (ingress) program")                         \
	X(EGRESS, "egress", "packets seen by the TC (egress) program")                             \
	X(MATCHED, "matched", "TCP packets with a port in the set, or TCP fragments")              \
	X(COPIED, "copied", "records written to the ring buffer")                                  \
	X(TRUNCATED, "truncated", "copied records shorter than the packet (snaplen)")              \
	X(RB_FULL, "rb_full", "matched packets lost: ring buffer full (userspace too slow)")       \
	X(LOAD_ERR, "load_err", "matched packets lost: packet bytes could not be read")            \
	X(PARSE_ERR, "parse_err", "truncated or malformed headers")                                \
	X(NON_IP, "non_ip", "neither IPv4 nor IPv6")                                               \
	X(NON_TCP, "non_tcp", "IP but not TCP")                                                    \
	X(OTHER_PORT, "other_port", "TCP with neither port in the set")                            \
	X(FRAG, "frag", "TCP fragments (copied whatever their ports)")                             \
	X(VLAN, "vlan", "packets with VLAN tags in the frame")

#define MAILTAP_HOST_STAT_ENUM_(id, name, desc) MAILTAP_HOST_STAT_##id,
enum mailtap_host_stat { MAILTAP_HOST_STATS(MAILTAP_HOST_STAT_ENUM_) MAILTAP_HOST_STAT__MAX };
#undef MAILTAP_HOST_STAT_ENUM_

#ifndef __bpf__
_Static_assert(sizeof(struct mailtap_host_rec) == 24, "mailtap_host_rec layout");
_Static_assert(MAILTAP_HOST_STAT__MAX <= 64, "stats array size");

#define MAILTAP_HOST_STAT_NAME_(id, name, desc) [MAILTAP_HOST_STAT_##id] = name,
static const char *const mailtap_host_stat_names[MAILTAP_HOST_STAT__MAX]
    __attribute__((unused)) = {MAILTAP_HOST_STATS(MAILTAP_HOST_STAT_NAME_)};
#undef MAILTAP_HOST_STAT_NAME_
#define MAILTAP_HOST_STAT_DESC_(id, name, desc) [MAILTAP_HOST_STAT_##id] = desc,
static const char *const mailtap_host_stat_descs[MAILTAP_HOST_STAT__MAX]
    __attribute__((unused)) = {MAILTAP_HOST_STATS(MAILTAP_HOST_STAT_DESC_)};
#undef MAILTAP_HOST_STAT_DESC_
#endif /* !__bpf__ */

#endif
