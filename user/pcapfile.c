// SPDX-License-Identifier: BSD-3-Clause
/* libpcap offline reader. Gzip input is detected by its magic bytes and read through a stdio
 * cookie stream over zlib's gzread, so libpcap sees an ordinary FILE. */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include "mailtap/log.h"
#include "mailtap/pcapfile.h"
#include "mailtap/pktfilter.h"

/* The stdio buffer an offline capture is read through (see open_input). */
#define PCAPFILE_READ_BUF (256 * 1024)

struct pcapfile {
	pcap_t *pcap;
	FILE *in; /* what libpcap reads: its position is the error messages' byte offset */
	char *path;
	int tsprec_nano;
	uint64_t packets, bytes; /* every record read, whether -f kept it or not */
	uint64_t offset; /* the byte offset after the last record read, for error messages */
	uint32_t fixed_snap; /* a plain pcap 2.4 file: records are 16 + caplen bytes while caplen
			      * is below this (libpcap's snapshot, which cuts longer ones); 0: ask
			      * the stream (pcapng, gzip, pipes, libpcap's modified formats) */
	struct instream *stream; /* pipes and gzip: our reader (NULL for plain files) */
	char *iobuf;		 /* plain files: the stdio buffer, freed after pcap_close */
	struct pktfilter *filter; /* -f: applied here, not by libpcap, so every record counts */
};

/* A stream over a file descriptor for pipes, FIFOs, stdin and gzip input: the bytes sniffed
 * for the gzip magic are given back first, reads return what read(2) returned (a pipe fed
 * slowly, like `tcpdump -U -w - | mailtap -r -`, is processed as it arrives: no waiting for
 * a full buffer), and gzip members (concatenated too) are inflated as input comes. */
struct instream {
	volatile sig_atomic_t *stop; /* set by pcapfile__run: a signal ends a blocked read */
	int fd;
	uint8_t pre[2];
	size_t pre_len, pre_off;
	int gz, eof, z_end;
	int gz_cut; /* the input ended inside a gzip member */
	uint64_t pos; /* bytes handed to stdio (uncompressed), for ftell */
	z_stream z;
	uint8_t ibuf[65536];
};

static ssize_t read_some(struct instream *in, int fd, void *buf, size_t len)
{
	ssize_t r;

	do {
		r = read(fd, buf, len);
		if (r < 0 && errno == EINTR && in && in->stop && *in->stop)
			return 0; /* SIGINT/SIGTERM while waiting for a pipe: end of input */
	} while (r < 0 && errno == EINTR);
	return r;
}

static ssize_t in_read_some(struct instream *in, char *buf, size_t size)
{
	if (!in->gz) {
		if (in->pre_off < in->pre_len) {
			size_t n = in->pre_len - in->pre_off;

			if (n > size)
				n = size;
			memcpy(buf, in->pre + in->pre_off, n);
			in->pre_off += n;
			return (ssize_t)n;
		}
		return read_some(in, in->fd, buf, size);
	}
	for (;;) {
		size_t produced;
		int ret;

		if (in->z.avail_in == 0 && !in->eof) {
			ssize_t r = read_some(in, in->fd, in->ibuf, sizeof(in->ibuf));

			if (r < 0)
				return -1;
			if (r == 0)
				in->eof = 1;
			in->z.next_in = in->ibuf;
			in->z.avail_in = (uInt)r;
		}
		if (in->z_end) {
			if (in->z.avail_in == 0)
				return 0; /* after the last member */
			inflateReset(&in->z); /* a concatenated member */
			in->z_end = 0;
		}
		in->z.next_out = (Bytef *)buf;
		in->z.avail_out = (uInt)(size > 0x40000000 ? 0x40000000 : size);
		ret = inflate(&in->z, Z_NO_FLUSH);
		produced = (size_t)((char *)in->z.next_out - buf);
		if (ret == Z_STREAM_END)
			in->z_end = 1;
		else if (ret != Z_OK && ret != Z_BUF_ERROR) {
			errno = EIO; /* corrupt gzip data: libpcap reports where */
			return produced ? (ssize_t)produced : -1;
		}
		if (produced)
			return (ssize_t)produced;
		if (in->eof && in->z.avail_in == 0) {
			/* the input ended inside a gzip member (its end and trailer missing): a
			 * capture cut off, even where the cut falls between two records */
			errno = EIO;
			in->gz_cut = 1;
			return -1;
		}
	}
}

static ssize_t in_read(void *cookie, char *buf, size_t size)
{
	struct instream *in = cookie;
	ssize_t r = in_read_some(in, buf, size);

	if (r > 0)
		in->pos += (uint64_t)r;
	return r;
}

/* Only ftell's question (where are we?) is answered: the position in the capture as libpcap
 * reads it, uncompressed. A real seek on a pipe or a gzip stream is refused as on a pipe. */
static int in_seek(void *cookie, off64_t *off, int whence)
{
	struct instream *in = cookie;

	if (whence != SEEK_CUR || *off != 0) {
		errno = ESPIPE;
		return -1;
	}
	*off = (off64_t)in->pos;
	return 0;
}

static int in_close(void *cookie)
{
	struct instream *in = cookie;

	if (in->gz)
		inflateEnd(&in->z);
	close(in->fd);
	free(in);
	return 0;
}

/* Opens path (or "-" for stdin) as a FILE, decompressing gzip. Regular files that are not gzip
 * go through stdio directly (fastest); everything else through struct instream. */
static FILE *open_input(const char *path, struct instream **stream, char **iobuf)
{
	cookie_io_functions_t io = { .read = in_read, .seek = in_seek, .close = in_close };
	struct instream *in;
	struct stat st;
	FILE *c;
	int fd;

	fd = strcmp(path, "-") ? open(path, O_RDONLY | O_CLOEXEC) : dup(STDIN_FILENO);
	if (fd < 0)
		return NULL;
	in = calloc(1, sizeof(*in));
	if (!in) {
		close(fd);
		errno = ENOMEM;
		return NULL;
	}
	in->fd = fd;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
		ssize_t r = pread(fd, in->pre, 2, 0); /* the offset stays at 0 */

		if (r != 2 || in->pre[0] != 0x1f || in->pre[1] != 0x8b) {
			FILE *f = fdopen(fd, "rb");

			free(in);
			if (!f) {
				close(fd);
				return NULL;
			}
			/* stdio's default buffer is st_blksize (4 KiB): a read(2) per 4 KiB was a
			 * fifth of an offline run. glibc ignores setvbuf's size without a buffer.
			 */
			(void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
			*iobuf = malloc(PCAPFILE_READ_BUF);
			if (*iobuf)
				(void)setvbuf(f, *iobuf, _IOFBF, PCAPFILE_READ_BUF);
			/* a seek tells glibc the file position: ftell (once a packet, for the
			 * error messages) is then arithmetic, not an lseek(2) each time */
			(void)fseeko(f, 0, SEEK_SET);
			/* one thread reads it: no lock per fread (libpcap does two a packet, and
			 * with worker threads running glibc takes the lock for real) */
			__fsetlocking(f, FSETLOCKING_BYCALLER);
			return f;
		}
	} else {
		while (in->pre_len < 2) {
			ssize_t r = read_some(NULL, fd, in->pre + in->pre_len, 2 - in->pre_len);

			if (r <= 0)
				break;
			in->pre_len += (size_t)r;
		}
		if (in->pre_len == 2 && in->pre[0] == 0x1f && in->pre[1] == 0x8b) {
			memcpy(in->ibuf, in->pre, 2); /* the magic goes to inflate first */
			in->z.next_in = in->ibuf;
			in->z.avail_in = 2;
		} else {
			goto plain;
		}
	}
	in->gz = 1;
	if (inflateInit2(&in->z, 15 + 16) != Z_OK) {
		in->gz = 0;
		in_close(in);
		errno = ENOMEM;
		return NULL;
	}
plain:
	c = fopencookie(in, "rb", io);
	if (!c) {
		in_close(in);
	} else {
		*stream = in;
		__fsetlocking(c, FSETLOCKING_BYCALLER);
	}
	return c;
}

/* Where libpcap is in the capture (uncompressed): after the last record it returned, the
 * start of the next one. pcap and pcapng alike, whatever blocks come between packets. */
static uint64_t stream_pos(const struct pcapfile *f)
{
	off64_t pos = ftello(f->in);

	return pos < 0 ? f->offset : (uint64_t)pos;
}

/* A classic pcap file, version 2.4, with the standard 16-byte record header (microsecond or
 * nanosecond magic, either byte order) read straight from disk: each record libpcap returns
 * took 16 + caplen bytes, unless libpcap cut it to its snapshot length. Returns that length
 * (the position is then counted, not asked of stdio per packet), else 0. */
static uint32_t fixed_records(const struct pcapfile *f)
{
	static const uint32_t magic[] = {0xa1b2c3d4, 0xd4c3b2a1, 0xa1b23c4d, 0x4d3cb2a1};
	uint8_t h[8];
	uint32_t m;
	uint16_t major, minor;
	int snap = pcap_snapshot(f->pcap);

	if (f->stream || f->offset != 24 || snap <= 0 ||
	    pread(fileno(f->in), h, sizeof(h), 0) != (ssize_t)sizeof(h))
		return 0;
	memcpy(&m, h, 4);
	memcpy(&major, h + 4, 2);
	memcpy(&minor, h + 6, 2);
	if (m == magic[1] || m == magic[3]) {
		major = (uint16_t)(major >> 8 | major << 8);
		minor = (uint16_t)(minor >> 8 | minor << 8);
	} else if (m != magic[0] && m != magic[2]) {
		return 0;
	}
	return major == 2 && minor == 4 ? (uint32_t)snap : 0;
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
	in = open_input(path, &f->stream, &f->iobuf);
	if (!in) {
		err = -errno;
		pr_warn("cannot read %s: %s\n", path, strerror(-err));
		goto fail;
	}
	f->pcap = pcap_fopen_offline_with_tstamp_precision(in, PCAP_TSTAMP_PRECISION_NANO, errbuf);
	if (!f->pcap) {
		pr_warn("%s: not a pcap or pcapng file: %s\n", path, errbuf);
		fclose(in);
		err = -EBADMSG;
		goto fail;
	}
	f->in = in;
	f->tsprec_nano = pcap_get_tstamp_precision(f->pcap) == PCAP_TSTAMP_PRECISION_NANO;
	f->offset = stream_pos(f);
	f->fixed_snap = fixed_records(f);
	if (filter && *filter) {
		/* Applied in pcapfile__run rather than by pcap_setfilter: libpcap would skip the
		 * records the filter refuses, and the error messages' packet numbers with them. */
		f->filter = pktfilter__new(filter, pcap_datalink(f->pcap),
					   (uint32_t)pcap_snapshot(f->pcap));
		if (!f->filter) {
			err = -errno;
			goto fail;
		}
	}
	return f;
fail:
	if (f->pcap)
		pcap_close(f->pcap);
	free(f->iobuf); /* after the FILE that used it is closed */
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
	if (f->stream)
		f->stream->stop = stop;
	for (;;) {
		int r, err;

		if (stop && *stop)
			return -EINTR;
		r = pcap_next_ex(f->pcap, &h, &data);
		if (r == PCAP_ERROR_BREAK)
			return 0; /* EOF */
		if (r == PCAP_ERROR && stop && *stop)
			return -EINTR; /* interrupted in the middle of a record */
		if (r == PCAP_ERROR) {
			pr_warn("%s: truncated or corrupt capture after packet %llu (byte offset "
				"%llu%s): %s\n",
				f->path, (unsigned long long)f->packets,
				(unsigned long long)f->offset,
				f->stream && f->stream->gz ? " in the uncompressed data" : "",
				f->stream && f->stream->gz_cut
				    ? "the gzip stream ends before its end (cut off)"
				    : pcap_geterr(f->pcap));
			return -EBADMSG;
		}
		if (r == 0)
			continue; /* cannot happen offline */
		f->packets++;
		f->bytes += h->caplen;
		if (h->caplen < f->fixed_snap)
			f->offset += 16 + (uint64_t)h->caplen;
		else
			f->offset = stream_pos(f);
		raw.data = data;
		raw.caplen = h->caplen;
		raw.wirelen = h->len;
		if (f->filter && !pktfilter__match(f->filter, &raw))
			continue;
		raw.ts_ns = (uint64_t)h->ts.tv_sec * 1000000000ULL +
			    (f->tsprec_nano ? (uint64_t)h->ts.tv_usec
					    : (uint64_t)h->ts.tv_usec * 1000ULL);
		err = cb(u, &raw);
		if (err)
			return err;
	}
}

void pcapfile__stats(const struct pcapfile *f, struct pcapfile_stats *st)
{
	st->packets = f->packets;
	st->bytes = f->bytes;
	st->filtered = pktfilter__refused(f->filter);
}

void pcapfile__close(struct pcapfile *f)
{
	if (!f)
		return;
	pktfilter__free(f->filter);
	pcap_close(f->pcap);
	free(f->iobuf);
	free(f->path);
	free(f);
}
