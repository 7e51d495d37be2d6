// SPDX-License-Identifier: BSD-3-Clause
/* gen_hostile: writes a pcap of one hostile scenario (issue 9's resource-limit tests).
 * The capture is streamed: nothing grows with N or with the byte counts, so
 *   gen_hostile -s synflood -n 1000000 -o - | mailtap -r - ...
 * pushes millions of packets, or gigabytes of payload, through mailtap.
 *
 *   gen_hostile -s SCENARIO [-n N] [-b BYTES] [-f FLOWS] [-o FILE|-] [--mss N] [--ack-every N]
 *
 * Scenarios (N, BYTES and FLOWS as noted; the defaults are the full-scale figures):
 *   synflood       N SYNs (default 1000000), each from its own source, 1 us apart, to port 25
 *   synflood-mix   the same with one complete SMTP session (session below) interleaved
 *   session        that SMTP session alone, each packet at the time it has in synflood-mix -n N
 *   dataopen       N sessions (default 1000000) left open inside DATA: handshake, banner, EHLO,
 *                  MAIL, RCPT, DATA, 354, BYTES body bytes (default 200: lines of 76 'x'),
 *                  never finished
 *   longline-cmd   one client line of BYTES (default 1 GiB) without newline in the command
 *                  phase, then a normal transaction, then a second, normal session
 *   longline-data  one line of BYTES inside DATA, then the end of data, then a second session
 *   mimedeep       a message nested N multipart levels deep (default 10000); every level has a
 *                  text/plain leaf "leaf <level>" before its nested multipart
 *   b64garbage     a message with a base64 body of BYTES (default 100 MB) of garbage lines
 *   tls-record     port 465: a ClientHello, then a record header claiming 65535 bytes (the
 *                  largest a TLS record header can claim) followed by BYTES of it
 *   tls-hello      port 465: a ClientHello whose handshake length claims 16 MiB - 1, followed by
 *                  BYTES (default 16 MiB) of handshake data in 16 KiB records
 *   ooo            FLOWS connections (default 1), each sending BYTES (default 64 MiB) only
 *                  above a 1000-byte hole; the server acks only up to the hole
 *   attach         N sessions (default 100) that all open a base64 attachment, then all finish
 *   attach-split   N sessions (default 100) send the first half of a base64 attachment
 *                  (5 lines, 285 bytes), then one after the other the second half and the end
 *   extract        N sessions (default 8) one after the other, each with an attachment of
 *                  BYTES (default 300000) decoded bytes
 *   pipeline       N RCPT commands (default 5000) pipelined before any reply, then the replies
 *   mimewide       one multipart message with N text parts (default 20000)
 *   bigheader      a header folded over continuation lines of BYTES in all (default 10 MB)
 *   bdat           one BDAT chunk claiming 2^63 - 1 bytes (LAST), BYTES of it sent
 *                  (default 100 MB), then FIN, then a normal session
 *   repeat         after banner and EHLO the client (--server: the server) sends --pattern
 *                  (C escapes \r \n \0) repeated over BYTES (default 10 MB), then CRLF, a
 *                  normal transaction and QUIT; then a normal session. --data-prefix D:
 *                  the client sends the pattern inside DATA instead, after MAIL, RCPT, DATA,
 *                  354 and D (C escapes; "" for none), then ends the message and QUITs
 *   fragflood      N IPv4 datagrams (default 100000) of which only the first fragment of
 *                  BYTES (default 1480) is sent, then a normal session
 * Addresses: clients 16.0.0.0/8 (10.1.1.1 for the interleaved session), server 192.0.2.25
 * (10.1.1.2 for the interleaved session). Timestamps start at 1700000000 and advance 1 us per
 * packet. A summary (packets, bytes, scenario figures) goes to stderr. */
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "synth_frame.h"

#define TH_FIN 0x01
#define TH_SYN 0x02
#define TH_RST 0x04
#define TH_PSH 0x08
#define TH_ACK 0x10

#define MAX_PAYLOAD 65000

static FILE *out;
static uint64_t now_us = 1700000000ULL * 1000000ULL;
static uint64_t n_packets, n_bytes;
static size_t mss = 1448;
static unsigned ack_every = 1;
static const char *pattern = "A"; /* repeat: the repeated bytes (C escapes \r \n \0) */
static int from_server;		  /* repeat: the server sends the pattern */
static const char *data_prefix;	  /* repeat: the pattern inside DATA, after this */

/* a frame kept in memory (the interleaved session only) */
struct frame {
	uint8_t *data;
	uint32_t len;
};
static int capturing; /* frames go to capture[], not to out */
static struct frame *capture;
static size_t n_capture, cap_capture;

struct conn {
	uint32_t cip, sip;
	uint16_t cport, sport;
	uint32_t cseq, sseq; /* next sequence number of each side */
	unsigned unacked;    /* data segments since the peer's last ACK */
};

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;
static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void die(const char *what)
{
	fprintf(stderr, "gen_hostile: %s: %s\n", what, strerror(errno));
	exit(1);
}


static void write_frame_at(const uint8_t *f, uint32_t len, uint64_t ts_us)
{
	uint32_t h[4];

	h[0] = (uint32_t)(ts_us / 1000000ULL);
	h[1] = (uint32_t)(ts_us % 1000000ULL);
	h[2] = h[3] = len;
	if (fwrite(h, sizeof(h), 1, out) != 1 || fwrite(f, len, 1, out) != 1)
		die("write");
	n_packets++;
	n_bytes += len;
}

static void write_frame(const uint8_t *f, uint32_t len)
{
	if (capturing) {
		if (n_capture == cap_capture) {
			cap_capture = cap_capture ? cap_capture * 2 : 64;
			capture = realloc(capture, cap_capture * sizeof(*capture));
			if (!capture)
				die("realloc");
		}
		capture[n_capture].data = malloc(len);
		if (!capture[n_capture].data)
			die("malloc");
		memcpy(capture[n_capture].data, f, len);
		capture[n_capture++].len = len;
		return;
	}
	now_us++;
	write_frame_at(f, len, now_us);
}

/* One TCP segment. The payload is either copied from data, or (data NULL) already in
 * the frame buffer at tcp_payload(). */
static uint8_t frame_buf[14 + 20 + 20 + MAX_PAYLOAD];
static uint8_t *tcp_payload(void)
{
	return frame_buf + SYNTH_HDR_LEN;
}

static void segment(struct conn *c, int from_client, uint8_t flags, const void *data, size_t len)
{
	uint32_t *seq = from_client ? &c->cseq : &c->sseq, ack = from_client ? c->sseq : c->cseq;
	struct synth_tcp t = synth_tcp_dir(from_client, c->cip, c->cport, c->sip, c->sport);

	t.seq = *seq;
	t.ack = (flags & TH_ACK) ? ack : 0;
	t.flags = flags;

	synth_tcp4(frame_buf, &t, 20 + len);
	if (data && len)
		memcpy(tcp_payload(), data, len);
	*seq += (uint32_t)len + ((flags & TH_SYN) ? 1 : 0) + ((flags & TH_FIN) ? 1 : 0);
	write_frame(frame_buf, (uint32_t)(SYNTH_HDR_LEN + len));
}

static void conn_init(struct conn *c, uint32_t cip, uint16_t cport, uint32_t sip, uint16_t sport)
{
	memset(c, 0, sizeof(*c));
	c->cip = cip, c->sip = sip, c->cport = cport, c->sport = sport;
	c->cseq = (uint32_t)rnd();
	c->sseq = (uint32_t)rnd();
}

static void conn_open(struct conn *c)
{
	segment(c, 1, TH_SYN, NULL, 0);
	segment(c, 0, TH_SYN | TH_ACK, NULL, 0);
	segment(c, 1, TH_ACK, NULL, 0);
}

static void conn_ack(struct conn *c, int from_client)
{
	segment(c, from_client, TH_ACK, NULL, 0);
	c->unacked = 0;
}

/* data, in segments of mss, each acked by the peer (every ack_every segments and after the
 * last one) */
static void conn_send(struct conn *c, int from_client, const void *data, size_t len)
{
	const uint8_t *p = data;

	while (len) {
		size_t n = len < mss ? len : mss;

		segment(c, from_client, TH_ACK | TH_PSH, p, n);
		p += n, len -= n;
		if (++c->unacked >= ack_every || !len)
			conn_ack(c, !from_client);
	}
}

static void conn_str(struct conn *c, int from_client, const char *s)
{
	conn_send(c, from_client, s, strlen(s));
}

/* streamed data: fill(buf, n, arg) writes the next n bytes */
typedef void (*fill_fn)(uint8_t *buf, size_t n, void *arg);
static void conn_stream(struct conn *c, int from_client, uint64_t len, fill_fn fill, void *arg)
{
	while (len) {
		size_t n = len < mss ? (size_t)len : mss;

		fill(tcp_payload(), n, arg);
		segment(c, from_client, TH_ACK | TH_PSH, NULL, n);
		len -= n;
		if (++c->unacked >= ack_every || !len)
			conn_ack(c, !from_client);
	}
}

static void conn_close(struct conn *c)
{
	segment(c, 1, TH_FIN | TH_ACK, NULL, 0);
	segment(c, 0, TH_FIN | TH_ACK, NULL, 0);
	segment(c, 1, TH_ACK, NULL, 0);
}

/* client i of the flood: 16.0.0.0 + i, ports 1024..65023 */
static uint32_t flood_ip(uint64_t i)
{
	return 0x10000000u + (uint32_t)(i & 0xffffff);
}
static uint16_t flood_port(uint64_t i)
{
	return (uint16_t)(1024 + (i * 7919) % 64000);
}
#define SERVER_IP 0xc0000219u /* 192.0.2.25 */

/* MAIL FROM alice, RCPT TO bob, both accepted; then, unless msg is NULL, DATA, 354 and msg
 * (the message's first bytes; smtp_finish ends it). */
static void mail_to_bob(struct conn *c, const char *msg)
{
	conn_str(c, 1, "MAIL FROM:<alice@example.org>\r\n");
	conn_str(c, 0, "250 2.1.0 Ok\r\n");
	conn_str(c, 1, "RCPT TO:<bob@example.net>\r\n");
	conn_str(c, 0, "250 2.1.5 Ok\r\n");
	if (!msg)
		return;
	conn_str(c, 1, "DATA\r\n");
	conn_str(c, 0, "354 go ahead\r\n");
	conn_str(c, 1, msg);
}

static void smtp_envelope(struct conn *c, int n_rcpt)
{
	conn_str(c, 0, "220 mx.example.net ESMTP ready\r\n");
	conn_str(c, 1, "EHLO client.example.org\r\n");
	conn_str(c, 0, "250-mx.example.net\r\n250-PIPELINING\r\n250 8BITMIME\r\n");
	conn_str(c, 1, "MAIL FROM:<alice@example.org>\r\n");
	conn_str(c, 0, "250 2.1.0 Ok\r\n");
	for (int i = 0; i < n_rcpt; i++) {
		char b[64];

		snprintf(b, sizeof(b), "RCPT TO:<rcpt%d@example.net>\r\n", i);
		conn_str(c, 1, b);
		conn_str(c, 0, "250 2.1.5 Ok\r\n");
	}
	conn_str(c, 1, "DATA\r\n");
	conn_str(c, 0, "354 End data with <CR><LF>.<CR><LF>\r\n");
}

static void smtp_finish(struct conn *c)
{
	conn_str(c, 1, "\r\n.\r\n");
	conn_str(c, 0, "250 2.0.0 Ok: queued as 4711\r\n");
	conn_str(c, 1, "QUIT\r\n");
	conn_str(c, 0, "221 2.0.0 Bye\r\n");
	conn_close(c);
}

/* The reference session: a multipart mail with a text part and a small base64 attachment. */
static void reference_session(struct conn *c)
{
	conn_open(c);
	smtp_envelope(c, 2);
	conn_str(c, 1,
		 "From: Alice <alice@example.org>\r\n"
		 "To: rcpt0@example.net, rcpt1@example.net\r\n"
		 "Subject: reference session\r\n"
		 "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"
		 "Message-ID: <ref-1@example.org>\r\n"
		 "MIME-Version: 1.0\r\n"
		 "Content-Type: multipart/mixed; boundary=\"XyZ\"\r\n"
		 "\r\n"
		 "--XyZ\r\n"
		 "Content-Type: text/plain\r\n"
		 "\r\n"
		 "Hello, this is the reference session.\r\n"
		 "--XyZ\r\n"
		 "Content-Type: application/octet-stream\r\n"
		 "Content-Disposition: attachment; filename=\"ref.bin\"\r\n"
		 "Content-Transfer-Encoding: base64\r\n"
		 "\r\n"
		 "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4v\r\n"
		 "--XyZ--");
	smtp_finish(c);
}

static void take_reference_frames(void)
{
	struct conn c;

	capturing = 1;
	conn_init(&c, 0x0a010101u, 40000, 0x0a010102u, 25);
	reference_session(&c);
}

static void stop_capture(struct frame **frames, size_t *n)
{
	*frames = capture;
	*n = n_capture;
	capturing = 0;
	capture = NULL;
	cap_capture = 0;
	n_capture = 0;
}

static void syn(uint64_t i)
{
	struct conn c;

	conn_init(&c, flood_ip(i), flood_port(i), SERVER_IP, 25);
	segment(&c, 1, TH_SYN, NULL, 0);
}

/* mix: 0 flood only, 1 flood + session, 2 session alone at its times in the mix */
static void scen_synflood(uint64_t n, int mix)
{
	struct frame *fr = NULL;
	size_t nf = 0, k = 0;
	uint64_t stride, t0 = now_us;

	if (mix)
		take_reference_frames(), stop_capture(&fr, &nf);
	stride = mix ? n / (nf + 1) : 0;
	if (mix && stride == 0)
		stride = 1;
	if (mix == 2) {
		for (k = 0; k < nf; k++)
			write_frame_at(fr[k].data, fr[k].len, t0 + 1 + (k + 1) * stride + k);
		fprintf(stderr, "gen_hostile: session of %zu packets, stride %llu\n", nf,
			(unsigned long long)stride);
		return;
	}
	for (uint64_t i = 0; i < n; i++) {
		syn(i);
		if (mix && k < nf && (i + 1) % stride == 0) {
			now_us++;
			write_frame_at(fr[k].data, fr[k].len, now_us);
			k++;
		}
	}
	while (mix && k < nf) {
		now_us++;
		write_frame_at(fr[k].data, fr[k].len, now_us);
		k++;
	}
	if (mix)
		fprintf(stderr, "gen_hostile: session of %zu packets, stride %llu\n", nf,
			(unsigned long long)stride);
}

static void scen_dataopen(uint64_t n, uint64_t body)
{
	static char buf[MAX_PAYLOAD];

	for (uint64_t i = 0; i < n; i++) {
		struct conn c;
		size_t hl;

		conn_init(&c, flood_ip(i), flood_port(i), SERVER_IP, 25);
		conn_open(&c);
		smtp_envelope(&c, 1);
		hl = (size_t)snprintf(buf, sizeof(buf),
				      "Subject: open %llu\r\nContent-Type: text/plain\r\n\r\n",
				      (unsigned long long)i);
		size_t bl = body < sizeof(buf) - hl ? (size_t)body : sizeof(buf) - hl;

		/* body lines of 76 'x' + CRLF: the entity's file opens at once */
		for (size_t j = 0; j < bl; j++)
			buf[hl + j] = j % 78 == 76 ? '\r' : j % 78 == 77 ? '\n' : 'x';
		conn_send(&c, 1, buf, hl + bl);
	}
}

static void fill_a(uint8_t *b, size_t n, void *arg)
{
	memset(b, 'A', n);
}

/* the second, normal session after a hostile one */
static void normal_session(uint32_t cip, uint16_t cport)
{
	struct conn c;

	conn_init(&c, cip, cport, SERVER_IP, 25);
	conn_open(&c);
	smtp_envelope(&c, 1);
	conn_str(&c, 1,
		 "From: <after@example.org>\r\nSubject: after the storm\r\n"
		 "Content-Type: text/plain\r\n\r\nstill parsed");
	smtp_finish(&c);
}

static void scen_longline(uint64_t bytes, int in_data)
{
	struct conn c;

	conn_init(&c, flood_ip(1), 50001, SERVER_IP, 25);
	conn_open(&c);
	if (!in_data) {
		conn_str(&c, 0, "220 mx.example.net ESMTP ready\r\n");
		conn_str(&c, 1, "EHLO client.example.org\r\n");
		conn_str(&c, 0, "250 mx.example.net\r\n");
		conn_stream(&c, 1, bytes, fill_a, NULL);
		conn_str(&c, 1, "\r\n");
		conn_str(&c, 0, "500 5.5.2 Line too long\r\n");
		mail_to_bob(&c, "Subject: after the long line\r\n\r\nbody");
		smtp_finish(&c);
	} else {
		smtp_envelope(&c, 1);
		conn_str(&c, 1, "Subject: one long line\r\nContent-Type: text/plain\r\n\r\n");
		conn_stream(&c, 1, bytes, fill_a, NULL);
		smtp_finish(&c);
	}
	normal_session(flood_ip(2), 50002);
}

/* 10000 levels: level L (0-based) is multipart with boundary b<L as 8 digits> (fixed width:
 * boundaries match by prefix, so none may be a prefix of another); it holds a text leaf
 * "leaf L" and then level L+1; the deepest level holds only its leaf. */
static void scen_mimedeep(uint64_t depth)
{
	struct conn c;
	char b[256];

	conn_init(&c, flood_ip(3), 50003, SERVER_IP, 25);
	conn_open(&c);
	smtp_envelope(&c, 1);
	conn_str(&c, 1, "Subject: deep\r\n");
	for (uint64_t l = 0; l < depth; l++) {
		snprintf(b, sizeof(b),
			 "Content-Type: multipart/mixed; boundary=\"b%08llu\"\r\n\r\n"
			 "--b%08llu\r\nContent-Type: text/plain\r\n\r\nleaf %llu\r\n--b%08llu\r\n",
			 (unsigned long long)l, (unsigned long long)l, (unsigned long long)l,
			 (unsigned long long)l);
		conn_str(&c, 1, b);
	}
	snprintf(b, sizeof(b), "Content-Type: text/plain\r\n\r\nleaf %llu\r\n",
		 (unsigned long long)depth);
	conn_str(&c, 1, b);
	for (uint64_t l = depth; l-- > 0;) {
		snprintf(b, sizeof(b), "--b%08llu--\r\n", (unsigned long long)l);
		conn_str(&c, 1, b);
	}
	conn_str(&c, 1, "epilogue");
	smtp_finish(&c);
	normal_session(flood_ip(4), 50004);
}

/* garbage base64: lines of 76 random bytes that are neither CR, LF nor '=' */
struct garbage {
	uint64_t valid; /* base64 alphabet characters */
	uint64_t dots;	/* lines starting with '.' (unstuffed by SMTP) */
	unsigned col;
};
static int b64_valid(uint8_t ch)
{
	return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
	       ch == '+' || ch == '/';
}
static void fill_garbage(uint8_t *b, size_t n, void *arg)
{
	struct garbage *g = arg;

	for (size_t i = 0; i < n; i++) {
		uint8_t ch;

		if (g->col == 76) {
			ch = '\r';
		} else if (g->col == 77) {
			ch = '\n';
		} else {
			do
				ch = (uint8_t)(rnd() >> 24);
			while (ch == '\r' || ch == '\n' || ch == '=');
			g->valid += (uint64_t)b64_valid(ch);
			g->dots += (uint64_t)(g->col == 0 && ch == '.');
		}
		b[i] = ch;
		g->col = g->col == 77 ? 0 : g->col + 1;
	}
}

static void scen_b64garbage(uint64_t bytes)
{
	struct conn c;
	struct garbage g = {0, 0, 0};
	static const char head[] = "Subject: garbage\r\nContent-Type: application/octet-stream\r\n"
				   "Content-Transfer-Encoding: base64\r\n\r\n";

	conn_init(&c, flood_ip(5), 50005, SERVER_IP, 25);
	conn_open(&c);
	smtp_envelope(&c, 1);
	conn_str(&c, 1, head);
	conn_stream(&c, 1, bytes, fill_garbage, &g);
	smtp_finish(&c);
	normal_session(flood_ip(6), 50006);
	/* Zeek's Base64Converter: 3 bytes per 4 valid characters; a last group of k (2..3)
	 * characters is padded and gives k-1 bytes */
	fprintf(stderr,
		"gen_hostile: base64 valid characters %llu, decoded bytes %llu, msg_size %llu\n",
		(unsigned long long)g.valid,
		(unsigned long long)(g.valid / 4 * 3 + (g.valid % 4 > 1 ? g.valid % 4 - 1 : 0)),
		(unsigned long long)(sizeof(head) - 1 + bytes - g.dots + 2));
}

static const uint8_t client_hello_body[] = {
    /* ClientHello body: version TLS 1.2, 32-byte random, empty session id, 2 ciphers,
     * null compression, no extensions */
    0x03, 0x03, 1,  2,	3,    4,    5,	  6,	7,    8,    9,	  10,	11,   12,   13,
    14,	  15,	16, 17, 18,   19,   20,	  21,	22,   23,   24,	  25,	26,   27,   28,
    29,	  30,	31, 32, 0x00, 0x00, 0x04, 0xc0, 0x2f, 0x00, 0x9c, 0x01, 0x00, 0x00, 0x00,
};

static void fill_zero(uint8_t *b, size_t n, void *arg)
{
	memset(b, 0, n);
}

static void scen_tls(uint64_t bytes, int hello)
{
	struct conn c;
	uint8_t rec[5 + 4 + sizeof(client_hello_body)];
	size_t bl = sizeof(client_hello_body);

	conn_init(&c, flood_ip(7), 50007, SERVER_IP, 465);
	conn_open(&c);
	if (!hello) {
		/* a complete, valid ClientHello record */
		rec[0] = 0x16, rec[1] = 3, rec[2] = 1;
		rec[3] = (uint8_t)((bl + 4) >> 8), rec[4] = (uint8_t)(bl + 4);
		rec[5] = 1, rec[6] = 0, rec[7] = (uint8_t)(bl >> 8), rec[8] = (uint8_t)bl;
		memcpy(rec + 9, client_hello_body, bl);
		conn_send(&c, 1, rec, sizeof(rec));
		/* then a handshake record header claiming 65535 bytes, and its bytes */
		rec[0] = 0x16, rec[1] = 3, rec[2] = 3, rec[3] = 0xff, rec[4] = 0xff;
		conn_send(&c, 1, rec, 5);
		conn_stream(&c, 1, bytes, fill_zero, NULL);
	} else {
		/* ClientHello handshake header claiming 0xffffff bytes, in 16 KiB records */
		uint64_t left = bytes;
		int first = 1;

		while (left || first) {
			size_t n = left > 16384 ? 16384 : (size_t)left;
			size_t extra = first ? 4 + bl : 0;

			rec[0] = 0x16, rec[1] = 3, rec[2] = 1;
			rec[3] = (uint8_t)((n + extra) >> 8), rec[4] = (uint8_t)(n + extra);
			conn_send(&c, 1, rec, 5);
			if (first) {
				uint8_t hs[4 + sizeof(client_hello_body)];

				hs[0] = 1, hs[1] = 0xff, hs[2] = 0xff, hs[3] = 0xff;
				memcpy(hs + 4, client_hello_body, bl);
				conn_send(&c, 1, hs, sizeof(hs));
				first = 0;
			}
			if (n)
				conn_stream(&c, 1, n, fill_zero, NULL);
			left -= n;
		}
	}
	conn_close(&c);
	normal_session(flood_ip(8), 50008);
}

/* FLOWS connections, each: "EHLO" acked, a 1000-byte hole, then BYTES above it that the
 * server never acks past the hole */
static void scen_ooo(uint64_t flows, uint64_t bytes)
{
	for (uint64_t i = 0; i < flows; i++) {
		struct conn c;
		uint64_t left = bytes;

		conn_init(&c, flood_ip(100 + i), flood_port(100 + i), SERVER_IP, 25);
		conn_open(&c);
		conn_str(&c, 0, "220 mx.example.net ESMTP ready\r\n");
		conn_str(&c, 1, "EHLO client.example.org\r\n");
		conn_str(&c, 0, "250 mx.example.net\r\n");
		c.cseq += 1000; /* the hole */
		while (left) {
			size_t n = left < mss ? (size_t)left : mss;

			fill_a(tcp_payload(), n, NULL);
			segment(&c, 1, TH_ACK | TH_PSH, NULL, n);
			left -= n;
			if (++c.unacked >= ack_every) {
				/* duplicate ACK at the hole */
				uint32_t save = c.cseq;

				c.cseq -= (uint32_t)(bytes - left) + 1000;
				conn_ack(&c, 0);
				c.cseq = save;
			}
		}
	}
}

static void fill_b64(uint8_t *b, size_t n, void *arg)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	unsigned *col = arg;

	for (size_t i = 0; i < n; i++) {
		if (*col == 76)
			b[i] = '\r';
		else if (*col == 77)
			b[i] = '\n';
		else
			b[i] = (uint8_t)a[rnd() >> 58];
		*col = *col == 77 ? 0 : *col + 1;
	}
}

static const char attach_head[] = "Subject: attachment\r\n"
				  "Content-Type: application/octet-stream\r\n"
				  "Content-Disposition: attachment; filename=\"a.bin\"\r\n"
				  "Content-Transfer-Encoding: base64\r\n\r\n";

static void scen_attach(uint64_t n)
{
	struct conn *cs = calloc(n, sizeof(*cs));

	if (!cs)
		die("calloc");
	for (uint64_t i = 0; i < n; i++) {
		unsigned col = 0;

		conn_init(&cs[i], flood_ip(1000 + i), flood_port(1000 + i), SERVER_IP, 25);
		conn_open(&cs[i]);
		smtp_envelope(&cs[i], 1);
		conn_str(&cs[i], 1, attach_head);
		conn_stream(&cs[i], 1, 78 * 10, fill_b64, &col); /* 10 lines: 570 bytes */
	}
	for (uint64_t i = 0; i < n; i++)
		smtp_finish(&cs[i]);
	free(cs);
}

static void scen_extract(uint64_t n, uint64_t bytes)
{
	/* decoded BYTES: 4 characters per 3 bytes, lines of 76 characters */
	uint64_t chars = (bytes + 2) / 3 * 4;

	for (uint64_t i = 0; i < n; i++) {
		struct conn c;
		unsigned col = 0;

		conn_init(&c, flood_ip(2000 + i), flood_port(2000 + i), SERVER_IP, 25);
		conn_open(&c);
		smtp_envelope(&c, 1);
		conn_str(&c, 1, attach_head);
		conn_stream(&c, 1, chars + chars / 76 * 2, fill_b64, &col);
		smtp_finish(&c);
	}
}

/* N RCPT commands pipelined after MAIL, no reply until all are sent; then the replies */
static void scen_pipeline(uint64_t n)
{
	struct conn c;
	char b[64];

	conn_init(&c, flood_ip(9), 50009, SERVER_IP, 25);
	conn_open(&c);
	conn_str(&c, 0, "220 mx.example.net ESMTP ready\r\n");
	conn_str(&c, 1, "EHLO client.example.org\r\n");
	conn_str(&c, 0, "250-mx.example.net\r\n250 PIPELINING\r\n");
	conn_str(&c, 1, "MAIL FROM:<alice@example.org>\r\n");
	for (uint64_t i = 0; i < n; i++) {
		snprintf(b, sizeof(b), "RCPT TO:<r%llu@example.net>\r\n", (unsigned long long)i);
		conn_str(&c, 1, b);
	}
	conn_str(&c, 0, "250 2.1.0 Ok\r\n");
	for (uint64_t i = 0; i < n; i++)
		conn_str(&c, 0, "250 2.1.5 Ok\r\n");
	conn_str(&c, 1, "DATA\r\n");
	conn_str(&c, 0, "354 go ahead\r\n");
	conn_str(&c, 1, "Subject: many recipients\r\n\r\nbody");
	smtp_finish(&c);
	normal_session(flood_ip(10), 50010);
}

static void fill_fold(uint8_t *b, size_t n, void *arg)
{
	unsigned *col = arg;

	for (size_t i = 0; i < n; i++) {
		b[i] = *col == 0 ? ' ' : *col == 76 ? '\r' : *col == 77 ? '\n' : 'h';
		*col = *col == 77 ? 0 : *col + 1;
	}
}

/* one header folded over continuation lines totalling BYTES, then a small body */
static void scen_bigheader(uint64_t bytes)
{
	struct conn c;
	unsigned col = 0;

	conn_init(&c, flood_ip(11), 50011, SERVER_IP, 25);
	conn_open(&c);
	smtp_envelope(&c, 1);
	conn_str(&c, 1, "Subject: big header\r\nX-Big: start\r\n");
	conn_stream(&c, 1, (bytes + 77) / 78 * 78, fill_fold, &col);
	conn_str(&c, 1, "Content-Type: text/plain\r\n\r\nbody after the big header");
	smtp_finish(&c);
	normal_session(flood_ip(12), 50012);
}

/* N IPv4 datagrams to port 25, each only its first fragment (MF set, offset 0) of BYTES
 * (TCP header included, a multiple of 8), from N sources: never completed */
static void scen_fragflood(uint64_t n, uint64_t bytes)
{
	size_t len = bytes > MAX_PAYLOAD ? MAX_PAYLOAD : (size_t)bytes & ~(size_t)7;

	if (len < 24)
		len = 24;
	for (uint64_t i = 0; i < n; i++) {
		struct synth_tcp t = {
		    .from_client = 1,
		    .sip = flood_ip(i),
		    .dip = SERVER_IP,
		    .sport = flood_port(i),
		    .dport = 25,
		    .flags = TH_ACK | TH_PSH,
		    .ip_id = (uint16_t)i,
		    .ip_frag = SYNTH_IP_MF, /* offset 0 */
		};

		t.seq = (uint32_t)rnd();
		t.ack = (uint32_t)rnd();
		synth_tcp4(frame_buf, &t, len);
		memset(tcp_payload(), 'f', len - 20);
		write_frame(frame_buf, (uint32_t)(34 + len));
	}
	normal_session(flood_ip(n + 1), 50013);
}

/* BDAT: one chunk claiming 2^63 - 1 bytes LAST, of which BYTES are sent, then FIN */
static void scen_bdat(uint64_t bytes)
{
	struct conn c;

	conn_init(&c, flood_ip(14), 50014, SERVER_IP, 25);
	conn_open(&c);
	conn_str(&c, 0, "220 mx.example.net ESMTP ready\r\n");
	conn_str(&c, 1, "EHLO client.example.org\r\n");
	conn_str(&c, 0, "250-mx.example.net\r\n250 CHUNKING\r\n");
	mail_to_bob(&c, NULL);
	conn_str(&c, 1, "BDAT 9223372036854775807 LAST\r\nSubject: huge chunk\r\n\r\n");
	conn_stream(&c, 1, bytes, fill_a, NULL);
	conn_close(&c);
	normal_session(flood_ip(15), 50015);
}

struct pat {
	char b[256];
	size_t len, off;
};
static void fill_pat(uint8_t *b, size_t n, void *arg)
{
	struct pat *p = arg;

	for (size_t i = 0; i < n; i++) {
		b[i] = (uint8_t)p->b[p->off];
		p->off = p->off + 1 == p->len ? 0 : p->off + 1;
	}
}

/* after banner and EHLO, one side sends --pattern repeated over BYTES, then the session
 * ends with a normal transaction and QUIT; a normal session follows */
static size_t unescape(const char *s, char *b, size_t cap)
{
	size_t len = 0;

	for (const char *q = s; *q && len < cap; q++) {
		if (q[0] == '\\' && q[1]) {
			q++;
			b[len++] = *q == 'r' ? '\r' : *q == 'n' ? '\n' : *q == '0' ? '\0' : *q;
		} else {
			b[len++] = *q;
		}
	}
	return len;
}

static void scen_repeat(uint64_t bytes)
{
	struct conn c;
	struct pat p = {.len = 0, .off = 0};

	p.len = unescape(pattern, p.b, sizeof(p.b));
	if (!p.len)
		p.b[p.len++] = 'A';
	conn_init(&c, flood_ip(16), 50016, SERVER_IP, 25);
	conn_open(&c);
	conn_str(&c, 0, "220 mx.example.net ESMTP ready\r\n");
	conn_str(&c, 1, "EHLO client.example.org\r\n");
	conn_str(&c, 0, "250 mx.example.net\r\n");
	if (data_prefix) {
		static char d[65536];
		size_t dl = unescape(data_prefix, d, sizeof(d));

		mail_to_bob(&c, "");
		if (dl)
			conn_send(&c, 1, d, dl);
		conn_stream(&c, 1, bytes, fill_pat, &p);
		smtp_finish(&c);
		normal_session(flood_ip(17), 50017);
		return;
	}
	conn_stream(&c, !from_server, bytes, fill_pat, &p);
	conn_str(&c, !from_server, "\r\n");
	mail_to_bob(&c, "Subject: after the pattern\r\n\r\nbody");
	smtp_finish(&c);
	normal_session(flood_ip(17), 50017);
}

/* one multipart message with N text parts "part <i>" */
static void scen_mimewide(uint64_t n)
{
	struct conn c;
	char b[128];

	conn_init(&c, flood_ip(18), 50018, SERVER_IP, 25);
	conn_open(&c);
	smtp_envelope(&c, 1);
	conn_str(&c, 1, "Subject: wide\r\nContent-Type: multipart/mixed; boundary=\"W\"\r\n\r\n");
	for (uint64_t i = 0; i < n; i++) {
		snprintf(b, sizeof(b), "--W\r\nContent-Type: text/plain\r\n\r\npart %llu\r\n",
			 (unsigned long long)i);
		conn_str(&c, 1, b);
	}
	conn_str(&c, 1, "--W--\r\n");
	smtp_finish(&c);
	normal_session(flood_ip(19), 50019);
}

/* N sessions open a base64 attachment and send its first 5 lines; then, one session after
 * the other, the last 5 lines and the end of the message */
static void scen_attach_split(uint64_t n)
{
	struct conn *cs = calloc(n, sizeof(*cs));
	unsigned col = 0;

	if (!cs)
		die("calloc");
	for (uint64_t i = 0; i < n; i++) {
		conn_init(&cs[i], flood_ip(3000 + i), flood_port(3000 + i), SERVER_IP, 25);
		conn_open(&cs[i]);
		smtp_envelope(&cs[i], 1);
		conn_str(&cs[i], 1, attach_head);
		col = 0;
		conn_stream(&cs[i], 1, 78 * 5, fill_b64, &col);
	}
	for (uint64_t i = 0; i < n; i++) {
		col = 0;
		conn_stream(&cs[i], 1, 78 * 5, fill_b64, &col);
		smtp_finish(&cs[i]);
	}
	free(cs);
}

static void usage(void)
{
	fprintf(
	    stderr,
	    "usage: gen_hostile -s SCENARIO [-n N] [-b BYTES] [-f FLOWS] [-o FILE|-] [--mss N]\n"
	    "                   [--ack-every N] [--seed N]\n"
	    "scenarios: synflood synflood-mix session dataopen longline-cmd longline-data\n"
	    "           mimedeep b64garbage tls-record tls-hello ooo attach extract\n"
	    "           pipeline bigheader fragflood bdat mimewide attach-split\n"
	    "           repeat [--pattern P] [--server | --data-prefix D]\n");
	exit(1);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"scenario", required_argument, NULL, 's'},
	    {"count", required_argument, NULL, 'n'},
	    {"bytes", required_argument, NULL, 'b'},
	    {"flows", required_argument, NULL, 'f'},
	    {"output", required_argument, NULL, 'o'},
	    {"mss", required_argument, NULL, 'm'},
	    {"ack-every", required_argument, NULL, 'a'},
	    {"pattern", required_argument, NULL, 'p'},
	    {"server", no_argument, NULL, 'R'},
	    {"data-prefix", required_argument, NULL, 'D'},
	    {"seed", required_argument, NULL, 'S'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *scen = NULL, *path = "-";
	uint64_t n = 0, bytes = 0, flows = 0;
	int o;
	static char obuf[1 << 20];
	/* pcap file header: magic in host order, v2.4, snaplen 262144, Ethernet */
	const uint32_t gh[6] = {0xa1b2c3d4, 0x00040002, 0, 0, 262144, 1};

	while ((o = getopt_long(argc, argv, "s:n:b:f:o:p:h", opts, NULL)) != -1) {
		switch (o) {
		case 's':
			scen = optarg;
			break;
		case 'n':
			n = strtoull(optarg, NULL, 0);
			break;
		case 'b':
			bytes = strtoull(optarg, NULL, 0);
			break;
		case 'f':
			flows = strtoull(optarg, NULL, 0);
			break;
		case 'o':
			path = optarg;
			break;
		case 'm':
			mss = strtoul(optarg, NULL, 0);
			if (mss < 1 || mss > MAX_PAYLOAD)
				usage();
			break;
		case 'p':
			pattern = optarg;
			break;
		case 'R':
			from_server = 1;
			break;
		case 'D':
			data_prefix = optarg;
			break;
		case 'a':
			ack_every = (unsigned)strtoul(optarg, NULL, 0);
			if (!ack_every)
				ack_every = 1;
			break;
		case 'S':
			rng_state = strtoull(optarg, NULL, 0) | 1;
			break;
		default:
			usage();
		}
	}
	if (!scen)
		usage();
	out = strcmp(path, "-") ? fopen(path, "wb") : stdout;
	if (!out)
		die(path);
	setvbuf(out, obuf, _IOFBF, sizeof(obuf));
	if (fwrite(gh, sizeof(gh), 1, out) != 1)
		die("write");

	if (!strcmp(scen, "synflood"))
		scen_synflood(n ? n : 1000000, 0);
	else if (!strcmp(scen, "synflood-mix"))
		scen_synflood(n ? n : 1000000, 1);
	else if (!strcmp(scen, "session"))
		scen_synflood(n ? n : 1000000, 2);
	else if (!strcmp(scen, "dataopen"))
		scen_dataopen(n ? n : 1000000, bytes ? bytes : 200);
	else if (!strcmp(scen, "longline-cmd"))
		scen_longline(bytes ? bytes : 1ULL << 30, 0);
	else if (!strcmp(scen, "longline-data"))
		scen_longline(bytes ? bytes : 1ULL << 30, 1);
	else if (!strcmp(scen, "mimedeep"))
		scen_mimedeep(n ? n : 10000);
	else if (!strcmp(scen, "b64garbage"))
		scen_b64garbage(bytes ? bytes : 100000000);
	else if (!strcmp(scen, "tls-record"))
		scen_tls(bytes ? bytes : 65535, 0);
	else if (!strcmp(scen, "tls-hello"))
		scen_tls(bytes ? bytes : 0xffffff - sizeof(client_hello_body), 1);
	else if (!strcmp(scen, "ooo"))
		scen_ooo(flows ? flows : 1, bytes ? bytes : 64ULL << 20);
	else if (!strcmp(scen, "attach"))
		scen_attach(n ? n : 100);
	else if (!strcmp(scen, "extract"))
		scen_extract(n ? n : 8, bytes ? bytes : 300000);
	else if (!strcmp(scen, "pipeline"))
		scen_pipeline(n ? n : 5000);
	else if (!strcmp(scen, "attach-split"))
		scen_attach_split(n ? n : 100);
	else if (!strcmp(scen, "mimewide"))
		scen_mimewide(n ? n : 20000);
	else if (!strcmp(scen, "repeat"))
		scen_repeat(bytes ? bytes : 10000000);
	else if (!strcmp(scen, "bdat"))
		scen_bdat(bytes ? bytes : 100000000);
	else if (!strcmp(scen, "fragflood"))
		scen_fragflood(n ? n : 100000, bytes ? bytes : 1480);
	else if (!strcmp(scen, "bigheader"))
		scen_bigheader(bytes ? bytes : 10000000);
	else
		usage();
	if (fflush(out) || (out != stdout && fclose(out)))
		die("write");
	fprintf(stderr, "gen_hostile: %s: %llu packets, %llu bytes\n", scen,
		(unsigned long long)n_packets, (unsigned long long)n_bytes);
	return 0;
}
