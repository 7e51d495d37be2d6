// SPDX-License-Identifier: BSD-3-Clause
/*
 * hostcap_dump: opens mailtap's host-mode source (user/hostcap.c: XDP ingress + TC egress
 * copies through a BPF ring buffer) on an interface and writes what it receives to a pcap
 * file (nanosecond timestamps), in ring-buffer order, for the network tests and for
 * operators. At exit prints counters as name=value lines on stdout: bpf.<counter>
 * (enum mailtap_host_stat), host.<counter>.
 *
 * hostcap_dump -i IFACE -w FILE [--count N] [--timeout SEC] [--xdp-mode M] [--ports P,P..]
 *              [--snaplen N] [--ring-bytes N] [--ready FILE] [-v]
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <pcap/pcap.h>

#include "mailtap/hostcap.h"
#include "mailtap/log.h"
#include "dump_common.h"

static void usage(void)
{
	fprintf(stderr, "usage: hostcap_dump -i IFACE -w FILE [--count N] [--timeout SEC]\n"
			"       [--xdp-mode native|skb|auto] [--ports P,P..] [--snaplen N]\n"
			"       [--ring-bytes N] [--ready FILE] [-v]\n");
}

static void print_stats(void *src)
{
	struct hostcap *h = src;
	struct hostcap_stats st;
	unsigned int i;

	if (hostcap__stats(h, &st))
		return;
	for (i = 0; i < MAILTAP_HOST_STAT__MAX; i++)
		printf("bpf.%s=%" PRIu64 "\n", mailtap_host_stat_names[i], st.bpf[i]);
	printf("host.delivered=%" PRIu64 "\nhost.delivered_ingress=%" PRIu64
	       "\nhost.delivered_egress=%" PRIu64 "\nhost.bad_records=%" PRIu64
	       "\nhost.xdp_mode=%s\nhost.clock=%s\nhost.clsact_created=%d\n",
	       st.delivered, st.delivered_ingress, st.delivered_egress, st.bad_records,
	       hostcap__xdp_mode(h), hostcap__clock(h), hostcap__created_clsact(h));
}

static void *src_open(const void *o)
{
	return hostcap__open(o);
}

static int src_run(void *h, pkt_handler cb, void *u, volatile sig_atomic_t *stop)
{
	return hostcap__run(h, cb, u, stop);
}

static void src_close(void *h)
{
	hostcap__close(h);
}

static const struct dump_source source = {"host capture", src_open, src_run, print_stats,
					  src_close};

int main(int argc, char **argv)
{
	static const struct option lo[] = {
	    {"interface", required_argument, NULL, 'i'},
	    {"xdp-mode", required_argument, NULL, 'm'},
	    {"snaplen", required_argument, NULL, 's'},
	    {"ring-bytes", required_argument, NULL, 'R'},
	    {"help", no_argument, NULL, 'h'},
	    DUMP_COMMON_OPTS,
	    {0},
	};
	struct dump_args a = {0};
	struct hostcap_opts o;
	int c, r;

	hostcap_opts__default(&o);
	while ((c = getopt_long(argc, argv, "i:m:s:R:h" DUMP_COMMON_SHORT, lo, NULL)) != -1) {
		if ((r = dump__common_opt(c, optarg, &a, "hostcap_dump")) != 0) {
			if (r < 0)
				return 2;
			continue;
		}
		switch (c) {
		case 'i':
			o.ifname = optarg;
			break;
		case 'm':
			if (loader__parse_mode(optarg, &o.xdp_mode)) {
				usage();
				return 2;
			}
			break;
		case 's':
			o.snaplen = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 'R':
			o.ring_bytes = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		default:
			usage();
			return c == 'h' ? 0 : 2;
		}
	}
	if (!o.ifname || !a.out) {
		usage();
		return 2;
	}
	if (a.n_ports) {
		o.ports = a.ports;
		o.n_ports = a.n_ports;
	}
	return dump__capture("hostcap_dump", o.ifname, &a, MAILTAP_HOST_SNAP_MAX, &source, &o);
}
