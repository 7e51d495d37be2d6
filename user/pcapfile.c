// SPDX-License-Identifier: BSD-3-Clause
/* libpcap offline reader. Gzip input is detected by its magic bytes and read through a stdio
 * cookie stream over zlib's gzread, so libpcap sees an ordinary FILE. */
#include <errno.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include "mailtap/log.h"
#include "mailtap/pcapfile.h"

struct pcapfile {
	pcap_t *pcap;
	char *path;
	int tsprec_nano;
	uint64_t packets, bytes;
	uint64_t offset; /* bytes of the file consumed so far (classic pcap), for error messages */
	int is_pcapng;
};

static ssize_t gz_read(void *cookie, char *buf, size_t size)
{
	int n = gzread((gzFile)cookie, buf, size > 0x40000000 ? 0x40000000 : (unsigned)size);

	if (n < 0) {
		errno = EIO;
		return -1;
	}
	return n;
}

static int gz_close(void *cookie)
{
	return gzclose((gzFile)cookie) == Z_OK ? 0 : EOF;
}

/* Opens path (or stdin) as a FILE, transparently decompressing gzip. Regular files are
 * sniffed for the gzip magic; stdin always goes through zlib, whose transparent mode passes
 * data that is not gzip through unchanged. */
static FILE *open_input(const char *path)
{
	cookie_io_functions_t io = { .read = gz_read, .close = gz_close };
	unsigned char magic[2] = { 0, 0 };
	FILE *f, *c;
	gzFile gz;
	int fd;

	if (strcmp(path, "-")) {
		f = fopen(path, "rb");
		if (!f)
			return NULL;
		if (fread(magic, 1, 2, f) != 2 || magic[0] != 0x1f || magic[1] != 0x8b) {
			rewind(f);
			return f;
		}
		fd = dup(fileno(f));
		fclose(f);
		/* stdio read ahead: the shared offset is not at 0 any more */
		if (fd >= 0 && lseek(fd, 0, SEEK_SET) < 0) {
			close(fd);
			return NULL;
		}
	} else {
		fd = dup(STDIN_FILENO);
	}
	if (fd < 0)
		return NULL;
	gz = gzdopen(fd, "rb");
	if (!gz) {
		close(fd);
		errno = ENOMEM;
		return NULL;
	}
	gzbuffer(gz, 256 * 1024);
	c = fopencookie(gz, "rb", io);
	if (!c)
		gzclose(gz);
	return c;
}

struct pcapfile *pcapfile__open(const char *path, const char *filter)
{
	char errbuf[PCAP_ERRBUF_SIZE] = "";
	struct pcapfile *f = calloc(1, sizeof(*f));
	FILE *in = NULL;
	int err;

	if (!f)
		return NULL;
	f->path = strdup(path);
	if (!f->path) {
		err = -ENOMEM;
		goto fail;
	}
	in = open_input(path);
	if (!in) {
		err = -errno;
		pr_warn("cannot read %s: %s\n", path, strerror(-err));
		goto fail;
	}
	f->pcap = pcap_fopen_offline_with_tstamp_precision(in, PCAP_TSTAMP_PRECISION_NANO, errbuf);
	if (!f->pcap) {
		pr_warn("%s: not a pcap or pcapng file: %s\n", path, errbuf);
		fclose(in);
		err = -EINVAL;
		goto fail;
	}
	f->tsprec_nano = pcap_get_tstamp_precision(f->pcap) == PCAP_TSTAMP_PRECISION_NANO;
	f->offset = 24;
	if (filter && *filter) {
		struct bpf_program prog;

		if (pcap_compile(f->pcap, &prog, filter, 1, PCAP_NETMASK_UNKNOWN) < 0) {
			pr_warn("bad filter expression '%s': %s\n", filter, pcap_geterr(f->pcap));
			err = -EINVAL;
			goto fail;
		}
		if (pcap_setfilter(f->pcap, &prog) < 0) {
			pr_warn("cannot set filter '%s': %s\n", filter, pcap_geterr(f->pcap));
			pcap_freecode(&prog);
			err = -EINVAL;
			goto fail;
		}
		pcap_freecode(&prog);
	}
	return f;
fail:
	if (f->pcap)
		pcap_close(f->pcap);
	free(f->path);
	free(f);
	errno = -err;
	return NULL;
}

int pcapfile__linktype(const struct pcapfile *f)
{
	return pcap_datalink(f->pcap);
}

int pcapfile__run(struct pcapfile *f, pkt_handler cb, void *u, volatile sig_atomic_t *stop)
{
	struct pcap_pkthdr *h;
	const u_char *data;
	struct pkt_raw raw;
	int linktype = pcap_datalink(f->pcap);

	raw.linktype = linktype;
	for (;;) {
		int r, err;

		if (stop && *stop)
			return -EINTR;
		r = pcap_next_ex(f->pcap, &h, &data);
		if (r == PCAP_ERROR_BREAK)
			return 0; /* EOF */
		if (r == PCAP_ERROR) {
			pr_warn("%s: truncated or corrupt capture after packet %llu (byte offset "
				"%llu): %s\n",
				f->path, (unsigned long long)f->packets,
				(unsigned long long)f->offset, pcap_geterr(f->pcap));
			return -EBADMSG;
		}
		if (r == 0)
			continue; /* cannot happen offline */
		f->packets++;
		f->bytes += h->caplen;
		f->offset += 16 + h->caplen;
		raw.ts_ns = (uint64_t)h->ts.tv_sec * 1000000000ULL +
			    (f->tsprec_nano ? (uint64_t)h->ts.tv_usec
					    : (uint64_t)h->ts.tv_usec * 1000ULL);
		raw.data = data;
		raw.caplen = h->caplen;
		raw.wirelen = h->len;
		err = cb(u, &raw);
		if (err)
			return err;
	}
}

void pcapfile__stats(const struct pcapfile *f, struct pcapfile_stats *st)
{
	st->packets = f->packets;
	st->bytes = f->bytes;
}

void pcapfile__close(struct pcapfile *f)
{
	if (!f)
		return;
	pcap_close(f->pcap);
	free(f->path);
	free(f);
}
