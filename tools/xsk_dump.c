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

static void print_stats(struct xsk_source *s)
{
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

int main(int argc, char **argv)
{
	static const struct option lo[] = {
	    {"interface", required_argument, NULL, 'i'},
	    {"write", required_argument, NULL, 'w'},
	    {"count", required_argument, NULL, 'c'},
	    {"timeout", required_argument, NULL, 't'},
	    {"queues", required_argument, NULL, 'q'},
	    {"xdp-mode", required_argument, NULL, 'm'},
	    {"bind", required_argument, NULL, 'b'},
	    {"pinned", required_argument, NULL, 'P'},
	    {"ports", required_argument, NULL, 'p'},
	    {"frames", required_argument, NULL, 'f'},
	    {"frame-size", required_argument, NULL, 'F'},
	    {"busy-poll", required_argument, NULL, 'B'},
	    {"ready", required_argument, NULL, 'r'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	uint16_t ports[DUMP_MAX_PORTS];
	const char *out = NULL, *ready = NULL;
	struct dump dp = {0};
	struct xsk_source *s;
	struct xsk_opts o;
	unsigned int timeout = 0;
	int c, err;

	xsk_opts__default(&o);
	while ((c = getopt_long(argc, argv, "i:w:c:t:q:m:b:P:p:f:F:B:r:vh", lo, NULL)) != -1) {
		switch (c) {
		case 'i':
			o.ifname = optarg;
			break;
		case 'w':
			out = optarg;
			break;
		case 'c':
			dp.max = strtoull(optarg, NULL, 10);
			break;
		case 't':
			timeout = (unsigned int)strtoul(optarg, NULL, 10);
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
		case 'p':
			if (dump__parse_ports(optarg, ports, &o.n_ports)) {
				fprintf(stderr, "xsk_dump: bad --ports %s\n", optarg);
				return 2;
			}
			o.ports = ports;
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
		case 'r':
			ready = optarg;
			break;
		case 'v':
			log__set_level(LOG_DEBUG);
			break;
		default:
			usage();
			return c == 'h' ? 0 : 2;
		}
	}
	if (!o.ifname || !out) {
		usage();
		return 2;
	}
	dump__signals();
	if (dump__open(&dp, "xsk_dump", out, 65535))
		return 1;
	s = xsk_source__open(&o);
	if (!s) {
		fprintf(stderr, "xsk_dump: cannot open live capture on %s: %s\n", o.ifname,
			strerror(errno));
		dump__close(&dp);
		return 1;
	}
	dump__ready(ready);
	if (timeout)
		alarm(timeout);
	err = xsk_source__run(s, dump__on_pkt, &dp, &dump_stop);
	pcap_dump_flush(dp.d);
	print_stats(s);
	xsk_source__close(s);
	dump__close(&dp);
	if (err) {
		fprintf(stderr, "xsk_dump: %s\n", strerror(-err));
		return 1;
	}
	return 0;
}
