// SPDX-License-Identifier: BSD-3-Clause
/*
 * xsk_dump: opens mailtap's AF_XDP source (user/xsk.c) on an interface and writes what it
 * receives to a pcap file (nanosecond timestamps), for the network tests and for operators
 * checking the XDP filter. At exit prints counters as name=value lines on stdout:
 * xdp.<counter> (enum mailtap_stat), xsk.<counter> (totals), q<N>.<counter> (per socket).
 *
 * xsk_dump -i IFACE -w FILE [--count N] [--timeout SEC] [--queues N] [--xdp-mode M]
 *          [--bind B] [--pinned DIR] [--ports P,P..] [--frames N] [--frame-size N]
 *          [--busy-poll USEC] [--ready FILE] [-v]
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

#include "mailtap/log.h"
#include "dump_common.h"
#include "mailtap/xsk.h"

static void usage(void)
{
	fprintf(stderr,
		"usage: xsk_dump -i IFACE -w FILE [--count N] [--timeout SEC] [--queues N]\n"
		"       [--xdp-mode native|skb|auto] [--bind copy|zerocopy|auto] [--pinned DIR]\n"
		"       [--ports P,P..] [--frames N] [--frame-size N] [--busy-poll USEC]\n"
		"       [--ready FILE] [-v]\n");
}

static void print_stats(void *src)
{
	struct xsk_source *s = src;
	struct xsk_queue_stats qs;
	struct xsk_stats st;
	unsigned int i;

	if (xsk_source__stats(s, &st))
		return;
	for (i = 0; i < MAILTAP_STAT__MAX; i++)
		printf("xdp.%s=%" PRIu64 "\n", mailtap_stat_names[i], st.xdp[i]);
	printf("xsk.queues=%u\nxsk.delivered=%" PRIu64 "\nxsk.meta_ts=%" PRIu64
	       "\nxsk.rx_dropped=%" PRIu64 "\nxsk.rx_invalid_descs=%" PRIu64
	       "\nxsk.rx_ring_full=%" PRIu64 "\nxsk.rx_fill_ring_empty_descs=%" PRIu64 "\n",
	       st.n_queues, st.delivered, st.meta_ts, st.rx_dropped, st.rx_invalid_descs,
	       st.rx_ring_full, st.rx_fill_ring_empty_descs);
	for (i = 0; i < xsk_source__queue_count(s); i++) {
		if (xsk_source__queue_stats(s, i, &qs))
			continue;
		printf("q%u.delivered=%" PRIu64 "\nq%u.rx_dropped=%" PRIu64 "\n", qs.queue_id,
		       qs.delivered, qs.queue_id, qs.rx_dropped);
	}
	printf("xsk.bind=%s\nxdp.mode=%s\n", xsk_source__bind_mode(s),
	       loader__attached_mode(xsk_source__loader(s)));
}

static void *src_open(const void *o)
{
	return xsk_source__open(o);
}

static int src_run(void *s, pkt_handler cb, void *u, volatile sig_atomic_t *stop)
{
	return xsk_source__run(s, cb, u, stop);
}

static void src_close(void *s)
{
	xsk_source__close(s);
}

static const struct dump_source source = {"live capture", src_open, src_run, print_stats,
					  src_close};

int main(int argc, char **argv)
{
	static const struct option lo[] = {
	    {"interface", required_argument, NULL, 'i'},
	    {"queues", required_argument, NULL, 'q'},
	    {"xdp-mode", required_argument, NULL, 'm'},
	    {"bind", required_argument, NULL, 'b'},
	    {"pinned", required_argument, NULL, 'P'},
	    {"frames", required_argument, NULL, 'f'},
	    {"frame-size", required_argument, NULL, 'F'},
	    {"busy-poll", required_argument, NULL, 'B'},
	    {"help", no_argument, NULL, 'h'},
	    DUMP_COMMON_OPTS,
	    {0},
	};
	struct dump_args a = {0};
	struct xsk_opts o;
	int c, r;

	xsk_opts__default(&o);
	o.rx_nap_us = 0; /* a dump tool: every frame as soon as it comes */
	while ((c = getopt_long(argc, argv, "i:q:m:b:P:f:F:B:h" DUMP_COMMON_SHORT, lo, NULL)) !=
	       -1) {
		if ((r = dump__common_opt(c, optarg, &a, "xsk_dump")) != 0) {
			if (r < 0)
				return 2;
			continue;
		}
		switch (c) {
		case 'i':
			o.ifname = optarg;
			break;
		case 'q':
			o.queues = atoi(optarg);
			break;
		case 'm':
			if (loader__parse_mode(optarg, &o.xdp_mode)) {
				usage();
				return 2;
			}
			break;
		case 'b':
			if (xsk__parse_bind(optarg, &o.bind)) {
				usage();
				return 2;
			}
			break;
		case 'P':
			o.pinned_dir = optarg;
			break;
		case 'f':
			o.frames = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 'F':
			o.frame_size = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 'B':
			o.busy_poll = atoi(optarg);
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
	return dump__capture("xsk_dump", o.ifname, &a, 65535, &source, &o);
}
