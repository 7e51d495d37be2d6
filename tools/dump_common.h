/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What the live-capture dump tools (xsk_dump, hostcap_dump) share: a nanosecond pcap
 * output fed by a source's packet callback, a stop flag set by SIGINT/SIGTERM/SIGALRM or by
 * reaching --count, the --ready file and the --ports list. Header-only: each tool is one
 * translation unit built against libmailtap.
 */
#ifndef MAILTAP_TOOLS_DUMP_COMMON_H
#define MAILTAP_TOOLS_DUMP_COMMON_H

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <pcap/pcap.h>

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
	dp->pd = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, snaplen,
						      PCAP_TSTAMP_PRECISION_NANO);
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

#endif
