// SPDX-License-Identifier: BSD-3-Clause
/* -f: libpcap compiles the expression once (pcap_open_dead for the link type), and
 * pcap_offline_filter runs the program on each frame. */
#include <errno.h>
#include <pcap/pcap.h>
#include <stdlib.h>
#include <string.h>
#include "mailtap/log.h"
#include "mailtap/pktfilter.h"

struct pktfilter {
	struct bpf_program prog;	 /* compiled here (pktfilter__new) */
	const struct bpf_program *run; /* this one's, or the one it shares */
	uint64_t refused;
};

struct pktfilter *pktfilter__new(const char *expr, int linktype, uint32_t snaplen)
{
	struct pktfilter *pf = calloc(1, sizeof(*pf));
	pcap_t *p = pf ? pcap_open_dead(linktype, (int)snaplen) : NULL;

	if (!p) {
		pr_warn("-f: %s\n", strerror(ENOMEM));
		free(pf);
		errno = ENOMEM;
		return NULL;
	}
	if (pcap_compile(p, &pf->prog, expr, 1, PCAP_NETMASK_UNKNOWN) < 0) {
		pr_warn("bad filter expression '%s' (-f): %s\n", expr, pcap_geterr(p));
		pcap_close(p);
		free(pf);
		errno = EINVAL;
		return NULL;
	}
	pcap_close(p); /* the program is ours: pcap_freecode frees it */
	pf->run = &pf->prog;
	return pf;
}

struct pktfilter *pktfilter__share(const struct pktfilter *pf)
{
	struct pktfilter *c = calloc(1, sizeof(*c));

	if (!c) {
		pr_warn("-f: %s\n", strerror(ENOMEM));
		return NULL;
	}
	c->run = pf->run;
	return c;
}

bool pktfilter__match(struct pktfilter *pf, const struct pkt_raw *raw)
{
	struct pcap_pkthdr h = { .caplen = raw->caplen, .len = raw->wirelen };

	if (pcap_offline_filter(pf->run, &h, raw->data))
		return true;
	pf->refused++;
	return false;
}

uint64_t pktfilter__refused(const struct pktfilter *pf)
{
	return pf ? pf->refused : 0;
}

void pktfilter__free(struct pktfilter *pf)
{
	if (!pf)
		return;
	if (pf->run == &pf->prog)
		pcap_freecode(&pf->prog);
	free(pf);
}
