// SPDX-License-Identifier: BSD-3-Clause
/* bench_pcap_loop: the floor for offline processing: a bare libpcap read loop over a file that
 * touches every packet (sums one byte per 64), as fast as libpcap can deliver. Prints
 * "packets bytes seconds".
 *   --stdio-buf N: read through a stdio buffer of N bytes (as mailtap -r does) instead of
 *   pcap_open_offline's default (st_blksize, 4 KiB): the stricter floor. */
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int main(int argc, char **argv)
{
	char err[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *d;
	struct timespec a, b;
	uint64_t pk = 0, by = 0, sum = 0;
	size_t bufsz = 0;
	char *buf = NULL;
	pcap_t *p;

	if (argc == 4 && !strcmp(argv[1], "--stdio-buf")) {
		bufsz = strtoul(argv[2], NULL, 0);
		argv += 2;
		argc -= 2;
	}
	if (argc != 2 || (bufsz && bufsz < 4096)) {
		fprintf(stderr, "usage: bench_pcap_loop [--stdio-buf BYTES>=4096] FILE\n");
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &a);
	if (bufsz) {
		FILE *in = fopen(argv[1], "rb");

		buf = malloc(bufsz);
		if (!in || !buf) {
			perror("bench_pcap_loop");
			return 1;
		}
		setvbuf(in, buf, _IOFBF, bufsz);
		p = pcap_fopen_offline(in, err);
	} else {
		p = pcap_open_offline(argv[1], err);
	}
	if (!p) {
		fprintf(stderr, "bench_pcap_loop: %s\n", err);
		return 1;
	}
	while (pcap_next_ex(p, &h, &d) == 1) {
		pk++;
		by += h->caplen;
		for (uint32_t i = 0; i < h->caplen; i += 64)
			sum += d[i];
	}
	pcap_close(p);
	free(buf);
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("%llu %llu %.6f %llu\n", (unsigned long long)pk, (unsigned long long)by,
	       (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9,
	       (unsigned long long)(sum & 1));
	return 0;
}
