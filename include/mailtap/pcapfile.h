/* SPDX-License-Identifier: BSD-3-Clause */
/* Offline packet source: pcap and pcapng files through libpcap, gzip-compressed ones too
 * (decompressed on the fly with zlib), "-" for standard input. */
#ifndef MAILTAP_PCAPFILE_H
#define MAILTAP_PCAPFILE_H

#include <signal.h>
#include <stdint.h>
#include "mailtap/pkt.h"

struct pcapfile;

struct pcapfile_stats {
	uint64_t packets;
	uint64_t bytes;
	uint64_t filtered; /* records -f left out (counted in packets and bytes) */
};

/* filter: a tcpdump expression or NULL. NULL + errno on failure (message logged): EINVAL for
 * a bad filter expression, EBADMSG for input that is no pcap or pcapng capture, else what
 * opening or reading the input gave. */
struct pcapfile *pcapfile__open(const char *path, const char *filter);
int pcapfile__linktype(const struct pcapfile *f);
/* Reads every packet into cb until EOF, *stop, or cb's error. Returns 0 at a clean EOF,
 * -EBADMSG for a truncated or corrupt file (message with the number of records read before
 * it, the filter's refused ones included, and the byte offset where the bad one begins),
 * -EINTR when stopped, or cb's error. */
int pcapfile__run(struct pcapfile *f, pkt_handler cb, void *u, volatile sig_atomic_t *stop);
void pcapfile__stats(const struct pcapfile *f, struct pcapfile_stats *st);
void pcapfile__close(struct pcapfile *f);

#endif
