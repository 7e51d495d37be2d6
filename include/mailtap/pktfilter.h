/* SPDX-License-Identifier: BSD-3-Clause */
/* -f: a tcpdump filter expression, compiled by libpcap for one link type and run on each
 * frame in userspace (libpcap's BPF interpreter), the same way for a file (-r) and for live
 * capture (-i), so that both keep the same packets. Live, it narrows what the XDP or host
 * program already chose (the mail ports): it cannot add packets that program passed by. */
#ifndef MAILTAP_PKTFILTER_H
#define MAILTAP_PKTFILTER_H

#include <stdbool.h>
#include <stdint.h>
#include "mailtap/pkt.h"

struct pktfilter;

/* Compiles expr for frames of linktype (DLT_*) up to snaplen bytes. NULL with errno EINVAL
 * (a bad expression) or ENOMEM, the message logged, naming -f. */
struct pktfilter *pktfilter__new(const char *expr, int linktype, uint32_t snaplen);
/* Another filter running pf's program (compiled once: a host name in it is looked up once),
 * with its own counter, for another thread. pf must outlive it. NULL (message logged) when
 * out of memory. */
struct pktfilter *pktfilter__share(const struct pktfilter *pf);
/* Whether the filter keeps the frame; counts the ones it refuses. One thread per filter
 * (the counter): give each capture thread a shared one. */
bool pktfilter__match(struct pktfilter *pf, const struct pkt_raw *raw);
uint64_t pktfilter__refused(const struct pktfilter *pf);
void pktfilter__free(struct pktfilter *pf);

#endif
