// SPDX-License-Identifier: BSD-3-Clause
/* pcap2fuzz: turns a capture into fuzz_pipeline's input format (2-byte length, 1-byte link
 * type selector, frame), for seed corpora. */
#include <pcap/pcap.h>
#include <stdio.h>

int main(int argc, char **argv)
{
	char err[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *d;
	pcap_t *p;
	FILE *o;
	int sel;

	if (argc != 3) {
		fprintf(stderr, "usage: pcap2fuzz IN.pcap OUT\n");
		return 2;
	}
	p = pcap_open_offline(argv[1], err);
	if (!p) {
		fprintf(stderr, "pcap2fuzz: %s\n", err);
		return 1;
	}
	switch (pcap_datalink(p)) {
	case DLT_EN10MB:
		sel = 0;
		break;
	case DLT_RAW:
		sel = 1;
		break;
	case DLT_NULL:
		sel = 2;
		break;
	case DLT_LINUX_SLL:
		sel = 3;
		break;
	default:
		pcap_close(p);
		return 0;
	}
	o = fopen(argv[2], "wb");
	if (!o)
		return 1;
	while (pcap_next_ex(p, &h, &d) == 1) {
		unsigned n = h->caplen > 65535 ? 65535 : h->caplen;

		fputc((int)(n >> 8), o);
		fputc((int)(n & 0xff), o);
		fputc(sel, o);
		fwrite(d, 1, n, o);
	}
	fclose(o);
	pcap_close(p);
	return 0;
}
