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

static void print_stats(struct hostcap *h)
{
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

int main(int argc, char **argv)
{
	static const struct option lo[] = {
	    {"interface", required_argument, NULL, 'i'},
	    {"write", required_argument, NULL, 'w'},
	    {"count", required_argument, NULL, 'c'},
	    {"timeout", required_argument, NULL, 't'},
	    {"xdp-mode", required_argument, NULL, 'm'},
	    {"ports", required_argument, NULL, 'p'},
	    {"snaplen", required_argument, NULL, 's'},
	    {"ring-bytes", required_argument, NULL, 'R'},
	    {"ready", required_argument, NULL, 'r'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	uint16_t ports[DUMP_MAX_PORTS];
	const char *out = NULL, *ready = NULL;
	struct dump dp = {0};
	struct hostcap_opts o;
	struct hostcap *h;
	unsigned int timeout = 0;
	int c, err;

	hostcap_opts__default(&o);
	while ((c = getopt_long(argc, argv, "i:w:c:t:m:p:s:R:r:vh", lo, NULL)) != -1) {
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
		case 'm':
			if (loader__parse_mode(optarg, &o.xdp_mode)) {
				usage();
				return 2;
			}
			break;
		case 'p':
			if (dump__parse_ports(optarg, ports, &o.n_ports)) {
				fprintf(stderr, "hostcap_dump: bad --ports %s\n", optarg);
				return 2;
			}
			o.ports = ports;
			break;
		case 's':
			o.snaplen = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 'R':
			o.ring_bytes = (uint32_t)strtoul(optarg, NULL, 10);
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
	if (dump__open(&dp, "hostcap_dump", out, MAILTAP_HOST_SNAP_MAX))
		return 1;
	h = hostcap__open(&o);
	if (!h) {
		fprintf(stderr, "hostcap_dump: cannot open host capture on %s: %s\n", o.ifname,
			strerror(errno));
		dump__close(&dp);
		return 1;
	}
	dump__ready(ready);
	if (timeout)
		alarm(timeout);
	err = hostcap__run(h, dump__on_pkt, &dp, &dump_stop);
	pcap_dump_flush(dp.d);
	print_stats(h);
	hostcap__close(h);
	dump__close(&dp);
	if (err) {
		fprintf(stderr, "hostcap_dump: %s\n", strerror(-err));
		return 1;
	}
	return 0;
}
