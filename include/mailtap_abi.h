/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The single ABI between bpf/mailtap.bpf.c and userspace (user/xsk.c, user/loader.c,
 * tests, tools): map names and sizes, the port-set layout, the per-CPU counters and the
 * XDP metadata block. Only __u8..__u64 here; userspace-only parts under #ifndef __bpf__.
 * An operator can use these names with bpftool (docs/capture.md).
 */
#ifndef MAILTAP_ABI_H
#define MAILTAP_ABI_H

#include <linux/types.h>

/* Name of the XDP program (function name in the object; libxdp/bpftool show it). */
#define MAILTAP_PROG_NAME "mailtap_xdp"

/* Map names: also the file names of the pins under the pinned directory. */
#define MAILTAP_MAP_XSKS "xsks_map"	  /* XSKMAP: rx queue index -> AF_XDP socket */
#define MAILTAP_MAP_PORTS "mailtap_ports" /* ARRAY: the port set, 65536 bits */
#define MAILTAP_MAP_STATS "mailtap_stats" /* PERCPU_ARRAY: enum mailtap_stat -> __u64 */

/* Default pin directory for the bpftool (operator) workflow. */
#define MAILTAP_PIN_DIR "/sys/fs/bpf/mailtap"

/* Highest number of receive queues (XSKMAP entries) the program can steer. */
#define MAILTAP_MAX_QUEUES 64

/*
 * The port set: 65536 bits in MAILTAP_PORT_WORDS __u64 words. Port p is set when bit
 * (p % 64) of word (p / 64) is 1. Key: __u32 word index; value: __u64 (host byte order).
 * A TCP packet matches when its source or destination port is in the set.
 */
#define MAILTAP_PORT_BITS 65536
#define MAILTAP_PORT_WORD_BITS 64
#define MAILTAP_PORT_WORDS (MAILTAP_PORT_BITS / MAILTAP_PORT_WORD_BITS)
#define MAILTAP_PORT_WORD(p) ((__u32)(p) / MAILTAP_PORT_WORD_BITS)
#define MAILTAP_PORT_BIT(p) ((__u64)1 << ((__u32)(p) % MAILTAP_PORT_WORD_BITS))

/* Ports steered when the user gives none: SMTP, SMTPS (implicit TLS), submission. */
#define MAILTAP_DEFAULT_PORTS                                                                      \
	{                                                                                          \
		25, 465, 587                                                                       \
	}

/* IPv6 extension headers the program walks before giving up (parse_err); user/decode.c walks
 * as many (a packet with more is bad_ipv6_extension_header there), so that live and offline
 * runs keep the same packets. */
#define MAILTAP_MAX_IPV6_EXT 16

/* GTPv1-U extension headers the program walks before giving up (non_tcp); user/decode.c walks
 * as many (a packet with more is not followed there), so that live and offline runs keep the
 * same packets. Zeek follows any number. */
#define MAILTAP_MAX_GTP_EXT 4

/* The UDP ports of the tunnels found by port alone, as Zeek registers their analyzers
 * (scripts/base/packet-protocols): Teredo, AYIYA, GTPv1 (GTP-U and GTP-C). */
#define MAILTAP_TEREDO_PORT 3544
#define MAILTAP_AYIYA_PORT 5072
#define MAILTAP_GTPV1_U_PORT 2152
#define MAILTAP_GTPV1_C_PORT 2123

/*
 * The UDP tunnels found by their destination port alone, on ports the operator chooses (Zeek's
 * Tunnel::vxlan_ports, Tunnel::geneve_ports; mailtap's --vxlan-ports, --geneve-ports): up to
 * MAILTAP_MAX_TUNNEL_PORTS each, Zeek's defaults 4789 and 6081. Ports in host byte order, the
 * used ones first; 0 ends a list (a list of zeros: that tunnel is not followed). A port is in
 * one list at most and is none of the fixed ports above.
 *
 * In the XDP program (mirror mode) the lists are the global mailtap_tunnel_ports, alone in
 * the object's section MAILTAP_TUNNEL_PORTS_SEC: libbpf makes it an ARRAY map of one entry
 * (key __u32 0, value this struct), initialised with the defaults, named as the section
 * (pinned by bpftool's pinmaps as MAILTAP_TUNNEL_PORTS_PIN); mailtap sets it before loading,
 * or writes it through the pin (docs/capture.md).
 */
#define MAILTAP_VXLAN_PORT 4789
#define MAILTAP_GENEVE_PORT 6081
#define MAILTAP_MAX_TUNNEL_PORTS 4
/* Levels of tunnel followed, XDP and userspace: Zeek's Tunnel::max_depth. */
#define MAILTAP_MAX_TUNNEL_DEPTH 2
struct mailtap_tunnel_ports {
	__u16 vxlan[MAILTAP_MAX_TUNNEL_PORTS];
	__u16 geneve[MAILTAP_MAX_TUNNEL_PORTS];
};
#define MAILTAP_TUNNEL_PORTS_DEFAULT                                                               \
	{                                                                                          \
		.vxlan = {MAILTAP_VXLAN_PORT}, .geneve = {MAILTAP_GENEVE_PORT}                      \
	}
#define MAILTAP_TUNNEL_PORTS_SEC ".data.tunports"
#define MAILTAP_TUNNEL_PORTS_PIN "_data_tunports" /* libbpf's pin name: '.' made '_' */

/*
 * Per-CPU counters. X(enum suffix, name, description). Invariants (every packet is
 * counted once in each line):
 *   seen    = redirected + passed
 *   matched = redirected + no_xsk
 *   seen    = matched + parse_err + non_ip + non_tcp + other_port
 * ipv4, ipv6, vlan, mpls, pppoe, tunnel, frag, meta, meta_err classify packets and add up to
 * nothing.
 */
#define MAILTAP_STATS(X)                                                                           \
	X(SEEN, "seen", "packets the program ran on")                                              \
	X(MATCHED, "matched", "TCP packets with a port in the set, or TCP fragments")              \
	X(REDIRECTED, "redirected", "packets redirected to an AF_XDP socket")                      \
	X(PASSED, "passed", "packets returned XDP_PASS (to the kernel stack)")                     \
	X(NO_XSK, "no_xsk", "matched packets with no socket for their queue (passed)")             \
	X(PARSE_ERR, "parse_err", "truncated or malformed headers (passed)")                       \
	X(NON_IP, "non_ip", "neither IPv4 nor IPv6 (ARP, ...) (passed)")                           \
	X(NON_TCP, "non_tcp", "IP but not TCP (UDP, ICMP, ...) (passed)")                          \
	X(OTHER_PORT, "other_port", "TCP with neither port in the set (passed)")                   \
	X(IPV4, "ipv4", "IPv4 after the link headers (VLAN, MPLS, PPPoE), well-formed or not")     \
	X(IPV6, "ipv6", "IPv6 after the link headers (VLAN, MPLS, PPPoE), well-formed or not")     \
	X(VLAN, "vlan", "packets with VLAN tags (up to 8 tags and E-tags are followed)")           \
	X(FRAG, "frag", "TCP fragments (IPv4 or IPv6), all steered")                               \
	X(META, "meta", "matched packets given an XDP metadata timestamp")                         \
	X(META_ERR, "meta_err", "matched packets where bpf_xdp_adjust_meta failed")                 \
	X(MPLS, "mpls", "packets with an MPLS label stack")                                        \
	X(PPPOE, "pppoe", "PPPoE session packets")                                                 \
	X(TUNNEL, "tunnel", "VXLAN, Geneve or GRE packets whose inner packet was parsed")

#define MAILTAP_STAT_ENUM_(id, name, desc) MAILTAP_STAT_##id,
enum mailtap_stat { MAILTAP_STATS(MAILTAP_STAT_ENUM_) MAILTAP_STAT__MAX };
#undef MAILTAP_STAT_ENUM_

/* One counter, per CPU. */
struct mailtap_stat_val {
	__u64 packets;
	__u64 bytes; /* frame bytes (data_end - data) */
};

/* The single value (key 0) of the per-CPU mailtap_stats array: one lookup per packet. */
struct mailtap_stats {
	struct mailtap_stat_val c[MAILTAP_STAT__MAX];
};

/*
 * XDP metadata written in front of the frame of every redirected packet
 * (bpf_xdp_adjust_meta): in the UMEM it sits right before the packet data.
 * ts_ns is bpf_ktime_get_ns() (CLOCK_MONOTONIC): userspace adds the
 * CLOCK_REALTIME - CLOCK_MONOTONIC offset. magic tells a written block from stale
 * bytes; userspace zeroes it before it gives the frame back to the fill ring.
 */
#define MAILTAP_META_MAGIC 0x6d74706dU /* "mtpm" */
struct mailtap_meta {
	__u64 ts_ns;
	__u32 flags; /* MAILTAP_META_F_* */
	__u32 magic;
};
#define MAILTAP_META_F_FRAG 0x1 /* steered because it is a fragment */

#ifndef __bpf__
#include <stddef.h>

_Static_assert(sizeof(struct mailtap_stat_val) == 16, "mailtap_stat_val layout");
_Static_assert(sizeof(struct mailtap_stats) % 8 == 0, "per-CPU values are 8-byte rounded");
_Static_assert(sizeof(struct mailtap_meta) == 16, "mailtap_meta layout");
_Static_assert(sizeof(struct mailtap_meta) % 4 == 0, "XDP metadata must be a multiple of 4");
_Static_assert(MAILTAP_PORT_WORDS *MAILTAP_PORT_WORD_BITS == MAILTAP_PORT_BITS, "port set");
_Static_assert(MAILTAP_STAT__MAX <= 64, "stats array size");
_Static_assert(sizeof(struct mailtap_tunnel_ports) == 4 * MAILTAP_MAX_TUNNEL_PORTS,
	       "mailtap_tunnel_ports layout: two lists of __u16, no padding");

/* Names and descriptions of the counters, indexed by enum mailtap_stat. */
#define MAILTAP_STAT_NAME_(id, name, desc) [MAILTAP_STAT_##id] = name,
static const char *const mailtap_stat_names[MAILTAP_STAT__MAX]
    __attribute__((unused)) = {MAILTAP_STATS(MAILTAP_STAT_NAME_)};
#undef MAILTAP_STAT_NAME_
#define MAILTAP_STAT_DESC_(id, name, desc) [MAILTAP_STAT_##id] = desc,
static const char *const mailtap_stat_descs[MAILTAP_STAT__MAX]
    __attribute__((unused)) = {MAILTAP_STATS(MAILTAP_STAT_DESC_)};
#undef MAILTAP_STAT_DESC_
#endif /* !__bpf__ */

#endif
