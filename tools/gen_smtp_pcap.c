// SPDX-License-Identifier: BSD-3-Clause
/* gen_smtp_pcap: writes a pcap of N synthetic SMTP sessions for benchmarks and tests.
 * Each session is a full TCP connection (handshake, data with ACKs, FIN exchange) carrying a
 * real SMTP dialogue; sessions run C at a time, their packets interleaved.
 *   gen_smtp_pcap -o FILE [-n SESSIONS] [-c CONCURRENT] [-a ATTACH_BYTES] [-m SMALL_BYTES]
 *                 [--mix plain=60,attach=20,pipe=10,bdat=10] [--seed N] [--mss N]
 * Message kinds: plain (a small text mail), attach (multipart with a base64 attachment of
 * ATTACH_BYTES random bytes), pipe (PIPELINING: envelope and DATA in one write), bdat
 * (CHUNKING: the message in BDAT chunks). */
#include <errno.h>
#include <getopt.h>
#include <pcap/pcap.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum kind { K_PLAIN, K_ATTACH, K_PIPE, K_BDAT, K__N };
static const char *const kind_names[K__N] = { "plain", "attach", "pipe", "bdat" };

struct msg {
	int from_client;
	char *data;
	size_t len;
};

struct sess {
	uint32_t cli_ip, srv_ip;
	uint16_t cport;
	uint32_t cseq, sseq; /* next sequence numbers */
	struct msg *msgs;
	int n_msgs, cur;
	size_t off;
	int phase; /* 0 SYN, 1 SYN-ACK, 2 ACK, 3 data, 4 FIN c, 5 FIN s, 6 last ACK, 7 done */
	int need_ack; /* ACK from the receiver of the last data segment */
};

static uint64_t rng_state = 0x1234567;
static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static pcap_dumper_t *dumper;
static uint64_t now_us = 1700000000ULL * 1000000ULL;
static uint32_t mss = 1448;
static uint64_t n_packets, n_bytes;

static uint16_t csum(const uint8_t *p, size_t n)
{
	uint32_t s = 0;

	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		s += (uint32_t)(p[n - 1] << 8);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static void emit(const struct sess *s, int from_client, uint8_t flags, uint32_t seq, uint32_t ack,
		 const char *data, size_t len)
{
	static uint8_t f[65536];
	struct pcap_pkthdr h;
	size_t iplen = 20 + 20 + len;
	uint32_t sip = from_client ? s->cli_ip : s->srv_ip, dip = from_client ? s->srv_ip : s->cli_ip;
	uint16_t sp = from_client ? s->cport : 25, dp = from_client ? 25 : s->cport;
	uint8_t *ip = f + 14, *tcp = f + 34;

	memset(f, 0, 54);
	f[0] = 2, f[5] = from_client ? 2 : 1, f[6] = 2, f[11] = from_client ? 1 : 2;
	f[12] = 0x08;
	ip[0] = 0x45;
	ip[2] = (uint8_t)(iplen >> 8), ip[3] = (uint8_t)iplen;
	ip[6] = 0x40;
	ip[8] = 64, ip[9] = 6;
	for (int i = 0; i < 4; i++) {
		ip[12 + i] = (uint8_t)(sip >> (24 - 8 * i));
		ip[16 + i] = (uint8_t)(dip >> (24 - 8 * i));
	}
	{
		uint16_t c = csum(ip, 20);

		ip[10] = (uint8_t)(c >> 8), ip[11] = (uint8_t)c;
	}
	tcp[0] = (uint8_t)(sp >> 8), tcp[1] = (uint8_t)sp;
	tcp[2] = (uint8_t)(dp >> 8), tcp[3] = (uint8_t)dp;
	for (int i = 0; i < 4; i++) {
		tcp[4 + i] = (uint8_t)(seq >> (24 - 8 * i));
		tcp[8 + i] = (uint8_t)(ack >> (24 - 8 * i));
	}
	tcp[12] = 0x50;
	tcp[13] = flags;
	tcp[14] = 0xff, tcp[15] = 0xff;
	memcpy(tcp + 20, data, len);
	now_us += 7;
	h.ts.tv_sec = (time_t)(now_us / 1000000ULL);
	h.ts.tv_usec = (suseconds_t)(now_us % 1000000ULL);
	h.caplen = h.len = (bpf_u_int32)(14 + iplen);
	pcap_dump((u_char *)dumper, &h, f);
	n_packets++;
	n_bytes += h.caplen;
}

static void add(struct sess *s, int from_client, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void add(struct sess *s, int from_client, const char *fmt, ...)
{
	va_list ap;
	char *p = NULL;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&p, fmt, ap);
	va_end(ap);
	if (n < 0)
		exit(1);
	s->msgs = realloc(s->msgs, sizeof(*s->msgs) * (size_t)(s->n_msgs + 1));
	s->msgs[s->n_msgs++] = (struct msg){ from_client, p, (size_t)n };
}

static char *base64_block(size_t raw)
{
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t enc = (raw + 2) / 3 * 4, lines = enc / 76 + 1;
	char *out = malloc(enc + lines * 2 + 1), *o = out;
	size_t col = 0;

	for (size_t i = 0; i < raw; i += 3) {
		uint32_t v = (uint32_t)rnd() & 0xffffff;
		int n = raw - i >= 3 ? 4 : (int)(raw - i) + 1;

		for (int k = 0; k < 4; k++) {
			*o++ = k < n ? b64[(v >> (18 - 6 * k)) & 63] : '=';
			if (++col == 76) {
				*o++ = '\r', *o++ = '\n';
				col = 0;
			}
		}
	}
	if (col)
		*o++ = '\r', *o++ = '\n';
	*o = '\0';
	return out;
}

static void build(struct sess *s, enum kind k, int idx, size_t attach, size_t small)
{
	char body[2048];
	char *att = NULL;
	size_t blen;

	snprintf(body, sizeof(body), "%.*s", (int)(small < sizeof(body) - 1 ? small : sizeof(body) - 1),
		 "Hello,\r\nthis is a generated message for the mailtap benchmark. It has a few lines "
		 "of text so that the DATA phase carries some bytes.\r\nRegards,\r\nthe generator\r\n"
		 "..a line starting with a dot, stuffed\r\nmore text more text more text more text "
		 "more text more text more text more text more text more text more text\r\n");
	blen = strlen(body);
	add(s, 0, "220 mx%d.example.net ESMTP ready\r\n", idx % 7);
	add(s, 1, "EHLO client%d.example.org\r\n", idx);
	add(s, 0, "250-mx.example.net\r\n250-PIPELINING\r\n250-CHUNKING\r\n250-8BITMIME\r\n"
		  "250 SIZE 52428800\r\n");
	if (k == K_ATTACH)
		att = base64_block(attach);
	if (k == K_PIPE) {
		add(s, 1, "MAIL FROM:<sender%d@example.org>\r\nRCPT TO:<rcpt%d@example.net>\r\n"
			  "RCPT TO:<other%d@example.net>\r\nDATA\r\n", idx, idx, idx);
		add(s, 0, "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n354 End data with "
			  "<CR><LF>.<CR><LF>\r\n");
	} else {
		add(s, 1, "MAIL FROM:<sender%d@example.org> SIZE=%zu\r\n", idx, blen + 400);
		add(s, 0, "250 2.1.0 Ok\r\n");
		add(s, 1, "RCPT TO:<rcpt%d@example.net>\r\n", idx);
		add(s, 0, "250 2.1.5 Ok\r\n");
	}
	if (k == K_BDAT) {
		char msg[4096];
		int n = snprintf(msg, sizeof(msg),
				 "From: Sender <sender%d@example.org>\r\nTo: <rcpt%d@example.net>\r\n"
				 "Subject: bdat message %d\r\nMessage-ID: <%d@gen>\r\n\r\n%s",
				 idx, idx, idx, idx, body);
		int half = n / 2;

		add(s, 1, "BDAT %d\r\n%.*s", half, half, msg);
		add(s, 0, "250 2.0.0 %d octets received\r\n", half);
		add(s, 1, "BDAT %d LAST\r\n%s", n - half, msg + half);
		add(s, 0, "250 2.0.0 Ok: queued as B%d\r\n", idx);
	} else {
		if (k != K_PIPE) {
			add(s, 1, "DATA\r\n");
			add(s, 0, "354 End data with <CR><LF>.<CR><LF>\r\n");
		}
		if (k == K_ATTACH)
			add(s, 1,
			    "Received: from client%d.example.org (client [10.1.2.3]) by mx.example.net\r\n"
			    "From: Sender <sender%d@example.org>\r\nTo: Rcpt <rcpt%d@example.net>\r\n"
			    "Subject: attachment %d\r\nDate: Tue, 14 Nov 2023 22:13:20 +0000\r\n"
			    "Message-ID: <%d@gen>\r\nMIME-Version: 1.0\r\n"
			    "Content-Type: multipart/mixed; boundary=\"BOUNDARY\"\r\n\r\n"
			    "--BOUNDARY\r\nContent-Type: text/plain\r\n\r\n%s\r\n--BOUNDARY\r\n"
			    "Content-Type: application/octet-stream; name=\"file%d.bin\"\r\n"
			    "Content-Disposition: attachment; filename=\"file%d.bin\"\r\n"
			    "Content-Transfer-Encoding: base64\r\n\r\n%s--BOUNDARY--\r\n.\r\n",
			    idx, idx, idx, idx, idx, body, idx, idx, att);
		else
			add(s, 1,
			    "From: Sender <sender%d@example.org>\r\nTo: Rcpt <rcpt%d@example.net>\r\n"
			    "Subject: plain %d\r\nDate: Tue, 14 Nov 2023 22:13:20 +0000\r\n"
			    "Message-ID: <%d@gen>\r\n\r\n%s.\r\n",
			    idx, idx, idx, idx, body);
		add(s, 0, "250 2.0.0 Ok: queued as Q%d\r\n", idx);
	}
	add(s, 1, "QUIT\r\n");
	add(s, 0, "221 2.0.0 Bye\r\n");
	free(att);
}

/* Emits the session's next packet; returns 0 when the session is done. */
static int step(struct sess *s)
{
	struct msg *m;
	size_t n;

	switch (s->phase) {
	case 0:
		emit(s, 1, 0x02, s->cseq - 1, 0, NULL, 0);
		s->phase = 1;
		return 1;
	case 1:
		emit(s, 0, 0x12, s->sseq - 1, s->cseq, NULL, 0);
		s->phase = 2;
		return 1;
	case 2:
		emit(s, 1, 0x10, s->cseq, s->sseq, NULL, 0);
		s->phase = 3;
		return 1;
	case 3:
		if (s->need_ack) {
			/* the receiver acknowledges every second segment and at message ends */
			int fc = s->need_ack == 1;

			emit(s, fc, 0x10, fc ? s->cseq : s->sseq, fc ? s->sseq : s->cseq, NULL, 0);
			s->need_ack = 0;
			return 1;
		}
		if (s->cur >= s->n_msgs) {
			s->phase = 4;
			return step(s);
		}
		m = &s->msgs[s->cur];
		n = m->len - s->off;
		if (n > mss)
			n = mss;
		if (m->from_client) {
			emit(s, 1, 0x18, s->cseq, s->sseq, m->data + s->off, n);
			s->cseq += (uint32_t)n;
		} else {
			emit(s, 0, 0x18, s->sseq, s->cseq, m->data + s->off, n);
			s->sseq += (uint32_t)n;
		}
		s->off += n;
		if (s->off == m->len) {
			s->cur++;
			s->off = 0;
			/* an ACK from the other side unless it answers right away */
			if (s->cur < s->n_msgs && s->msgs[s->cur].from_client == m->from_client)
				s->need_ack = m->from_client ? 2 : 1;
		} else if ((s->off / mss) % 2 == 0) {
			s->need_ack = m->from_client ? 2 : 1;
		}
		return 1;
	case 4:
		emit(s, 1, 0x11, s->cseq, s->sseq, NULL, 0);
		s->phase = 5;
		return 1;
	case 5:
		emit(s, 0, 0x11, s->sseq, s->cseq + 1, NULL, 0);
		s->phase = 6;
		return 1;
	case 6:
		emit(s, 1, 0x10, s->cseq + 1, s->sseq + 1, NULL, 0);
		s->phase = 7;
		return 1;
	default:
		return 0;
	}
}

static void sess_free(struct sess *s)
{
	for (int i = 0; i < s->n_msgs; i++)
		free(s->msgs[i].data);
	free(s->msgs);
	memset(s, 0, sizeof(*s));
}

int main(int argc, char **argv)
{
	static const struct option lo[] = { { "mix", required_argument, NULL, 'x' },
					    { "seed", required_argument, NULL, 's' },
					    { "mss", required_argument, NULL, 'M' },
					    { NULL, 0, NULL, 0 } };
	const char *out = NULL;
	long sessions = 1000, conc = 50;
	size_t attach = 200000, small = 600;
	int mix[K__N] = { 60, 20, 10, 10 }, total, c;
	struct sess *act;
	pcap_t *p;
	long started = 0, live = 0;

	while ((c = getopt_long(argc, argv, "o:n:c:a:m:", lo, NULL)) != -1) {
		switch (c) {
		case 'o':
			out = optarg;
			break;
		case 'n':
			sessions = atol(optarg);
			break;
		case 'c':
			conc = atol(optarg);
			break;
		case 'a':
			attach = (size_t)atol(optarg);
			break;
		case 'm':
			small = (size_t)atol(optarg);
			break;
		case 's':
			rng_state = strtoull(optarg, NULL, 0) | 1;
			break;
		case 'M':
			mss = (uint32_t)atol(optarg);
			break;
		case 'x': {
			char *d = strdup(optarg), *tok, *save = NULL;

			memset(mix, 0, sizeof(mix));
			for (tok = strtok_r(d, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
				char *eq = strchr(tok, '=');
				int k;

				for (k = 0; k < K__N && eq; k++)
					if (!strncmp(tok, kind_names[k], (size_t)(eq - tok)))
						break;
				if (!eq || k == K__N) {
					fprintf(stderr, "gen_smtp_pcap: bad --mix item '%s'\n", tok);
					return 2;
				}
				mix[k] = atoi(eq + 1);
			}
			free(d);
			break;
		}
		default:
			fprintf(stderr, "usage: gen_smtp_pcap -o FILE [-n N] [-c C] [-a BYTES] [-m BYTES] "
					"[--mix plain=60,attach=20,pipe=10,bdat=10] [--seed N] [--mss N]\n");
			return 2;
		}
	}
	total = mix[0] + mix[1] + mix[2] + mix[3];
	if (!out || sessions < 1 || conc < 1 || total <= 0 || mss < 64 || mss > 9000) {
		fprintf(stderr, "gen_smtp_pcap: need -o FILE and sane -n/-c/--mix/--mss\n");
		return 2;
	}
	p = pcap_open_dead(DLT_EN10MB, 65535);
	dumper = pcap_dump_open(p, out);
	if (!dumper) {
		fprintf(stderr, "gen_smtp_pcap: %s: %s\n", out, pcap_geterr(p));
		return 1;
	}
	act = calloc((size_t)conc, sizeof(*act));
	for (;;) {
		for (long i = 0; i < conc; i++) {
			struct sess *s = &act[i];

			if (!s->msgs && started < sessions) {
				int r = (int)(rnd() % (uint64_t)total), k = 0;

				while (r >= mix[k])
					r -= mix[k++];
				s->cli_ip = 0x0a000000u | (uint32_t)(started % 0xfffff + 1);
				s->srv_ip = 0xc0a80001u;
				s->cport = (uint16_t)(1024 + started % 60000);
				s->cseq = (uint32_t)rnd() | 1;
				s->sseq = (uint32_t)rnd() | 1;
				build(s, (enum kind)k, (int)started, attach, small);
				started++;
				live++;
			}
			if (s->msgs && !step(s)) {
				sess_free(s);
				live--;
			}
		}
		if (!live && started >= sessions)
			break;
	}
	pcap_dump_close(dumper);
	pcap_close(p);
	free(act);
	fprintf(stderr, "gen_smtp_pcap: %ld sessions, %llu packets, %llu bytes -> %s\n", sessions,
		(unsigned long long)n_packets, (unsigned long long)n_bytes, out);
	return 0;
}
