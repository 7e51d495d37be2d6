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

#define MAX_PORTS 64

static volatile sig_atomic_t stop;

struct dump {
	pcap_dumper_t *d;
	uint64_t count, max;
};

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int on_pkt(void *u, const struct pkt_raw *p)
{
	struct dump *dp = u;
	struct pcap_pkthdr h = {0};

	h.ts.tv_sec = (time_t)(p->ts_ns / 1000000000u);
	h.ts.tv_usec = (suseconds_t)(p->ts_ns % 1000000000u); /* nanosecond file */
	h.caplen = p->caplen;
	h.len = p->wirelen;
	pcap_dump((u_char *)dp->d, &h, p->data);
	if (dp->max && ++dp->count >= dp->max)
		stop = 1;
	return 0;
}

static int parse_ports(const char *s, uint16_t *ports, size_t *n)
{
	char *end;
	unsigned long v;

	*n = 0;
	while (*s) {
		errno = 0;
		v = strtoul(s, &end, 10);
		if (errno || end == s || v == 0 || v > 65535 || *n >= MAX_PORTS)
			return -EINVAL;
		ports[(*n)++] = (uint16_t)v;
		s = end;
		if (*s == ',')
			s++;
		else if (*s)
			return -EINVAL;
	}
	return *n ? 0 : -EINVAL;
}

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
	uint16_t ports[MAX_PORTS];
	const char *out = NULL, *ready = NULL;
	struct sigaction sa = {.sa_handler = on_signal};
	struct dump dp = {0};
	struct hostcap_opts o;
	struct hostcap *h;
	unsigned int timeout = 0;
	pcap_t *pd;
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
			if (parse_ports(optarg, ports, &o.n_ports)) {
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
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGALRM, &sa, NULL);

	pd = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, MAILTAP_HOST_SNAP_MAX,
						  PCAP_TSTAMP_PRECISION_NANO);
	if (!pd)
		return 1;
	dp.d = pcap_dump_open(pd, out);
	if (!dp.d) {
		fprintf(stderr, "hostcap_dump: %s: %s\n", out, pcap_geterr(pd));
		pcap_close(pd);
		return 1;
	}
	h = hostcap__open(&o);
	if (!h) {
		fprintf(stderr, "hostcap_dump: cannot open host capture on %s: %s\n", o.ifname,
			strerror(errno));
		pcap_dump_close(dp.d);
		pcap_close(pd);
		return 1;
	}
	if (ready) {
		FILE *f = fopen(ready, "w");

		if (f)
			fclose(f);
	}
	if (timeout)
		alarm(timeout);
	err = hostcap__run(h, on_pkt, &dp, &stop);
	pcap_dump_flush(dp.d);
	print_stats(h);
	hostcap__close(h);
	pcap_dump_close(dp.d);
	pcap_close(pd);
	if (err) {
		fprintf(stderr, "hostcap_dump: %s\n", strerror(-err));
		return 1;
	}
	return 0;
}
