/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What the live-capture dump tools (xsk_dump, hostcap_dump) share: the options both have
 * (-w, --count, --timeout, --ports, --ready, -v), a nanosecond pcap output fed by a source's
 * packet callback, a stop flag set by SIGINT/SIGTERM/SIGALRM or by reaching --count, and the
 * run itself (dump__capture). Header-only: each tool is one translation unit built against
 * libmailtap.
 */
#ifndef MAILTAP_TOOLS_DUMP_COMMON_H
#define MAILTAP_TOOLS_DUMP_COMMON_H

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pcap/pcap.h>

#include <unistd.h>

#include "mailtap/log.h"
#include "mailtap/pkt.h"

#define DUMP_MAX_PORTS 64

static volatile sig_atomic_t dump_stop;

struct dump {
	pcap_t *pd;
	pcap_dumper_t *d;
	uint64_t count, max; /* max 0: no --count */
};

static inline void dump__on_signal(int sig)
{
	(void)sig;
	dump_stop = 1;
}

static inline void dump__signals(void)
{
	struct sigaction sa = {.sa_handler = dump__on_signal};

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGALRM, &sa, NULL);
}

/* Opens OUT as a nanosecond Ethernet pcap; on error says so as PROG and returns -1. */
static inline int dump__open(struct dump *dp, const char *prog, const char *out, int snaplen)
{
	dp->pd =
	    pcap_open_dead_with_tstamp_precision(DLT_EN10MB, snaplen, PCAP_TSTAMP_PRECISION_NANO);
	if (!dp->pd)
		return -1;
	dp->d = pcap_dump_open(dp->pd, out);
	if (!dp->d) {
		fprintf(stderr, "%s: %s: %s\n", prog, out, pcap_geterr(dp->pd));
		pcap_close(dp->pd);
		return -1;
	}
	return 0;
}

static inline void dump__close(struct dump *dp)
{
	pcap_dump_close(dp->d);
	pcap_close(dp->pd);
}

/* The source callback: one pcap record per frame; sets dump_stop at --count. */
static inline int dump__on_pkt(void *u, const struct pkt_raw *p)
{
	struct dump *dp = u;
	struct pcap_pkthdr h = {0};

	h.ts.tv_sec = (time_t)(p->ts_ns / 1000000000u);
	h.ts.tv_usec = (suseconds_t)(p->ts_ns % 1000000000u); /* nanosecond file */
	h.caplen = p->caplen;
	h.len = p->wirelen;
	pcap_dump((u_char *)dp->d, &h, p->data);
	if (dp->max && ++dp->count >= dp->max)
		dump_stop = 1;
	return 0;
}

/* Creates the --ready file (tests wait for it before they send). */
static inline void dump__ready(const char *path)
{
	FILE *f;

	if (!path)
		return;
	f = fopen(path, "w");
	if (f)
		fclose(f);
}

/* "25,587": 1..DUMP_MAX_PORTS ports in 1..65535, else -EINVAL. */
static inline int dump__parse_ports(const char *s, uint16_t *ports, size_t *n)
{
	char *end;
	unsigned long v;

	*n = 0;
	while (*s) {
		errno = 0;
		v = strtoul(s, &end, 10);
		if (errno || end == s || v == 0 || v > 65535 || *n >= DUMP_MAX_PORTS)
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

/* The options both tools take. */
struct dump_args {
	const char *out, *ready;
	unsigned int timeout;
	uint64_t max;
	uint16_t ports[DUMP_MAX_PORTS];
	size_t n_ports;
};

#define DUMP_COMMON_OPTS                                                                           \
	{"write", required_argument, NULL, 'w'}, {"count", required_argument, NULL, 'c'},          \
	    {"timeout", required_argument, NULL, 't'}, {"ports", required_argument, NULL, 'p'},    \
	    {"ready", required_argument, NULL, 'r'},                                               \
	{                                                                                          \
		"verbose", no_argument, NULL, 'v'                                                  \
	}
#define DUMP_COMMON_SHORT "w:c:t:p:r:v"

/* One of the common options: 1 taken, 0 not one of them, -1 bad value (said as PROG). */
static inline int dump__common_opt(int c, const char *arg, struct dump_args *a, const char *prog)
{
	switch (c) {
	case 'w':
		a->out = arg;
		return 1;
	case 'c':
		a->max = strtoull(arg, NULL, 10);
		return 1;
	case 't':
		a->timeout = (unsigned int)strtoul(arg, NULL, 10);
		return 1;
	case 'p':
		if (dump__parse_ports(arg, a->ports, &a->n_ports)) {
			fprintf(stderr, "%s: bad --ports %s\n", prog, arg);
			return -1;
		}
		return 1;
	case 'r':
		a->ready = arg;
		return 1;
	case 'v':
		log__set_level(LOG_DEBUG);
		return 1;
	default:
		return 0;
	}
}

/* A live source as the tools drive it. */
struct dump_source {
	const char *what; /* "host capture", "live capture" */
	void *(*open)(const void *opts);
	int (*run)(void *src, pkt_handler cb, void *u, volatile sig_atomic_t *stop);
	void (*print_stats)(void *src);
	void (*close)(void *src);
};

/* Opens the output and the source, says --ready, captures until a signal, --count or
 * --timeout, then prints the source's counters. Returns the exit status (0, 1). */
static inline int dump__capture(const char *prog, const char *ifname, const struct dump_args *a,
				int snaplen, const struct dump_source *src, const void *opts)
{
	struct dump dp = {.max = a->max};
	void *s;
	int err;

	dump__signals();
	if (dump__open(&dp, prog, a->out, snaplen))
		return 1;
	s = src->open(opts);
	if (!s) {
		fprintf(stderr, "%s: cannot open %s on %s: %s\n", prog, src->what, ifname,
			strerror(errno));
		dump__close(&dp);
		return 1;
	}
	dump__ready(a->ready);
	if (a->timeout)
		alarm(a->timeout);
	err = src->run(s, dump__on_pkt, &dp, &dump_stop);
	pcap_dump_flush(dp.d);
	src->print_stats(s);
	src->close(s);
	dump__close(&dp);
	if (err) {
		fprintf(stderr, "%s: %s\n", prog, strerror(-err));
		return 1;
	}
	return 0;
}

#endif
