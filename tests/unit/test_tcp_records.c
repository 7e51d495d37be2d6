// SPDX-License-Identifier: BSD-3-Clause
/* The TCP layer through the engine, records as written: TCP state weirds once per connection
 * from one source (the flow table), no SYN_seq_jump where Zeek's responder is still
 * INACTIVE, a packet whose IP length passes its wire length dropped with Zeek's net weird
 * truncated_IP_len, sizes of a half-open connection aborted by a RST (Zeek's NoDataAcked),
 * histories longer than the flow's inline letters, and a close deferred while data is
 * pending. The scenarios of the review's scapy captures (t2..t8), built with frames.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <msgpack.h>
#include <pcap/dlt.h>
#include "mailtap/engine.h"
#include "mailtap/flow.h"
#include "mailtap/notice.h"
#include "mailtap/parsers.h"
#include "mailtap/rec.h"
#include "mailtap/sink.h"
#include "frames.h"

#define MAX_RECS 64

struct cap {
	struct sink sink;
	char *recs[MAX_RECS]; /* "stream {msgpack as printed}" */
	int n;
};

static int cap_write(struct sink *s, const char *tag, size_t tl, uint64_t ts, const uint8_t *b,
		     size_t n)
{
	struct cap *c = (struct cap *)s;
	char buf[16384];
	msgpack_unpacked u;
	size_t off = 0;
	int k;

	(void)ts;
	assert_true(c->n < MAX_RECS);
	k = snprintf(buf, sizeof(buf), "%.*s ", (int)(tl > 8 ? tl - 8 : tl), tl > 8 ? tag + 8 : tag);
	msgpack_unpacked_init(&u);
	assert_int_equal(msgpack_unpack_next(&u, (const char *)b, n, &off), MSGPACK_UNPACK_SUCCESS);
	msgpack_object_print_buffer(buf + k, sizeof(buf) - (size_t)k, u.data);
	msgpack_unpacked_destroy(&u);
	c->recs[c->n] = strdup(buf);
	assert_non_null(c->recs[c->n]);
	c->n++;
	return 0;
}

static int cap_nop(struct sink *s)
{
	(void)s;
	return 0;
}

static const struct sink_ops cap_ops = {
    .name = "cap", .write = cap_write, .flush = cap_nop, .close = cap_nop};

struct run {
	struct cap cap;
	struct rec_out *out;
	struct engine *eng;
	struct engine_stats st;
	uint64_t t;
};

/* The engine's configuration for the next run_start (engine_cfg__default unless have_next_cfg). */
static struct engine_cfg next_cfg;
static bool have_next_cfg;

static void run_start(struct run *r)
{
	struct engine_cfg cfg;

	memset(r, 0, sizeof(*r));
	r->cap.sink.ops = &cap_ops;
	r->out = rec_out__new("mailtap");
	assert_non_null(r->out);
	assert_int_equal(rec_out__add_sink(r->out, &r->cap.sink), 0);
	if (have_next_cfg)
		cfg = next_cfg;
	else
		engine_cfg__default(&cfg);
	have_next_cfg = false;
	cfg.seeded = true;
	cfg.seed = 1;
	r->eng = engine__new(&cfg, r->out);
	assert_non_null(r->eng);
	r->t = 1000ull * 1000000000ull;
}

static void run_end(struct run *r)
{
	engine__stats(r->eng, &r->st);
	engine__finish(r->eng);
}

static void run_free(struct run *r)
{
	engine__free(r->eng);
	rec_out__free(r->out);
	for (int i = 0; i < r->cap.n; i++)
		free(r->cap.recs[i]);
}

static const uint8_t CLI[4] = {10, 0, 0, 1}, SRV[4] = {10, 0, 0, 2};
static uint16_t cport = 40000; /* the client's port */
static uint16_t sport = 25;	/* the server's port */
static int wscale = -1;		/* the window scale option of the next frames (-1: none) */
static uint16_t win = 8192;	/* the window field of the next frames */

/* A frame 1 ms after the last: client (cli) or server, Ethernet + IPv4 + TCP. ip_extra is
 * added to the IP total length (a length past the wire); cut bytes of it are left out of the
 * capture (a snap length). */
static void frame(struct run *r, int cli, uint8_t flags, uint32_t seq, uint32_t ack,
		  const char *data, int ip_extra, size_t cut)
{
	size_t n = data ? strlen(data) : 0;
	struct pkt_raw raw;
	struct fr f = {.len = 0};

	r->t += 1000000;
	fr_eth(&f, 0, 0, 0, 0, 0x0800);
	fr_ipv4(&f, cli ? CLI : SRV, cli ? SRV : CLI, 6, fr_tcp_len(wscale, n) + (size_t)ip_extra, 0,
		0x4000);
	fr_tcp(&f, cli ? cport : sport, cli ? sport : cport, seq, ack, flags, win, wscale, data, n);
	raw = (struct pkt_raw){.ts_ns = r->t, .data = f.b, .caplen = (uint32_t)(f.len - cut),
			       .wirelen = (uint32_t)f.len, .linktype = DLT_EN10MB};
	assert_int_equal(engine__packet(r->eng, &raw), 0);
}

#define C(r, fl, seq, ack, d) frame(r, 1, fl, seq, ack, d, 0, 0)
#define S(r, fl, seq, ack, d) frame(r, 0, fl, seq, ack, d, 0, 0)
#define SYN PKT_TCP_SYN
#define ACK PKT_TCP_ACK
#define FIN PKT_TCP_FIN
#define RST PKT_TCP_RST
#define PSH PKT_TCP_PSH

/* Records of a stream containing every one of the substrings (NULL-terminated). */
static int count(const struct run *r, const char *stream, ...)
{
	int n = 0;

	for (int i = 0; i < r->cap.n; i++) {
		const char *rec = r->cap.recs[i];
		size_t sl = strlen(stream);
		bool all = !strncmp(rec, stream, sl) && rec[sl] == ' ';
		va_list ap;
		const char *sub;

		va_start(ap, stream);
		while (all && (sub = va_arg(ap, const char *)))
			all = strstr(rec, sub) != NULL;
		va_end(ap);
		n += all;
	}
	return n;
}

static const char *find(const struct run *r, const char *stream)
{
	for (int i = 0; i < r->cap.n; i++)
		if (!strncmp(r->cap.recs[i], stream, strlen(stream)))
			return r->cap.recs[i];
	return "";
}

/* The handshake and one exchange: client ISN 1000, server ISN 5000. */
static void hello(struct run *r)
{
	C(r, SYN, 1000, 0, NULL);
	S(r, SYN | ACK, 5000, 1001, NULL);
	C(r, ACK, 1001, 5001, NULL);
	C(r, ACK | PSH, 1001, 5001, "EHLO a\r\n");
	S(r, ACK | PSH, 5001, 1009, "250 ok\r\n");
}

static void bye(struct run *r)
{
	C(r, FIN | ACK, 1009, 5009, NULL);
	S(r, FIN | ACK, 5009, 1010, NULL);
	C(r, ACK, 1010, 5010, NULL);
}

/* t2: data below the client's ISN three times: Zeek's TCP_seq_underflow_or_misorder, once for
 * the connection (it was written twice at the first packet, then once per packet). */
static void test_seq_underflow_once(void **st)
{
	struct run r;

	(void)st;
	run_start(&r);
	hello(&r);
	for (int i = 0; i < 3; i++)
		C(&r, ACK | PSH, 900, 5009, "junkjunk");
	bye(&r);
	run_end(&r);
	assert_int_equal(count(&r, "weird", NULL), 1);
	assert_int_equal(count(&r, "weird", "\"TCP_seq_underflow_or_misorder\"",
			       "\"ts\"=>1000.006", "\"uid\"=>", NULL), 1);
	assert_int_equal(count(&r, "conn", "\"orig_bytes\"=>8", "\"history\"=>\"ShADdTFf\"", NULL),
			 1);
	run_free(&r);
}

/* t3: acks below the client's ISN: TCP_ack_underflow_or_misorder once. */
static void test_ack_underflow_once(void **st)
{
	struct run r;

	(void)st;
	run_start(&r);
	hello(&r);
	for (int i = 0; i < 3; i++)
		S(&r, ACK, 5009, 900, NULL);
	bye(&r);
	run_end(&r);
	assert_int_equal(count(&r, "weird", NULL), 1);
	assert_int_equal(count(&r, "weird", "\"TCP_ack_underflow_or_misorder\"", NULL), 1);
	run_free(&r);
}

/* t6: the client's SYN, a bare ACK of the server with another sequence number, then its
 * SYN-ACK: Zeek's responder is still INACTIVE after the zero-length ACK, so the SYN-ACK starts
 * it and there is no SYN_seq_jump (the reassembler raised one). */
static void test_no_syn_seq_jump_after_bare_ack(void **st)
{
	struct run r;

	(void)st;
	run_start(&r);
	C(&r, SYN, 1000, 0, NULL);
	S(&r, ACK, 7777, 1001, NULL);
	S(&r, SYN | ACK, 5000, 1001, NULL);
	C(&r, ACK, 1001, 5001, NULL);
	C(&r, ACK | PSH, 1001, 5001, "EHLO a\r\n");
	S(&r, ACK | PSH, 5001, 1009, "250 ok\r\n");
	bye(&r);
	run_end(&r);
	assert_int_equal(count(&r, "weird", NULL), 0);
	assert_int_equal(count(&r, "conn", "\"resp_bytes\"=>8", "\"conn_state\"=>\"SF\"",
			       "\"history\"=>\"SahADdFf\"", NULL),
			 1);
	run_free(&r);
}

/* t5: an IP total length past the frame on the wire: Zeek's IP analyzer drops the packet
 * with the net weird truncated_IP_len (no uid, no id, source IP), held back for ten minutes;
 * the connection's sizes are those of the other packets. A snap length cutting the payload is
 * no such thing: truncated_tcp_payload, once for the connection. */
static void test_ip_len_past_wire(void **st)
{
	struct run r;
	const char *w;

	(void)st;
	run_start(&r);
	hello(&r);
	frame(&r, 1, ACK | PSH, 1009, 5009, "MAIL FROM:", 1490 - 10, 0);
	frame(&r, 1, ACK | PSH, 1009, 5009, "MAIL FROM:", 1, 0); /* held back */
	bye(&r);
	run_end(&r);
	assert_int_equal(count(&r, "weird", NULL), 1);
	w = find(&r, "weird");
	assert_non_null(strstr(w, "\"name\"=>\"truncated_IP_len\""));
	assert_non_null(strstr(w, "\"source\"=>\"IP\""));
	assert_null(strstr(w, "uid"));
	assert_null(strstr(w, "id.orig_h"));
	assert_int_equal(count(&r, "conn", "\"orig_bytes\"=>8", "\"orig_pkts\"=>5",
			       "\"history\"=>\"ShADdFf\"", NULL),
			 1);
	assert_int_equal(r.st.weirds_held_back, 1);
	run_free(&r);

	run_start(&r);
	hello(&r);
	frame(&r, 1, ACK | PSH, 1009, 5009, "MAIL FROM:", 0, 4);
	frame(&r, 1, ACK | PSH, 1019, 5009, "RCPT TO:<", 0, 4);
	frame(&r, 1, ACK | PSH, 1028, 5009, "DATA\r\n", 0, 2);
	run_end(&r);
	assert_int_equal(count(&r, "weird", NULL), 1);
	assert_int_equal(count(&r, "weird", "\"truncated_tcp_payload\"", "\"uid\"=>", NULL), 1);
	run_free(&r);
}

/* t7: a SYN, a bare ACK of it (ack = ISN + 1), and the client's RST: Zeek's NoDataAcked()
 * (ack == start or start + 1) holds, so the client's size is its sequence span, 499. */
static void test_half_open_rst_size(void **st)
{
	struct run r;

	(void)st;
	run_start(&r);
	C(&r, SYN, 1000, 0, NULL);
	S(&r, ACK, 7777, 1001, NULL);
	C(&r, RST, 1500, 0, NULL);
	run_end(&r);
	assert_int_equal(count(&r, "conn", "\"orig_bytes\"=>499", "\"resp_bytes\"=>0",
			       "\"conn_state\"=>\"RSTOS0\"", "\"history\"=>\"SaR\"", NULL),
			 1);
	run_free(&r);
	/* the same with the RST's sequence number past 2^32: a wrap in the 64-bit span */
	run_start(&r);
	C(&r, SYN, 0xfffffff0u, 0, NULL);
	S(&r, ACK, 7777, 0xfffffff1u, NULL);
	C(&r, RST, 0xfffffff0u + 500, 0, NULL);
	run_end(&r);
	assert_int_equal(count(&r, "conn", "\"orig_bytes\"=>499", NULL), 1);
	run_free(&r);
	/* data acked (ack past ISN + 1): the half-open rule, size 0 */
	run_start(&r);
	C(&r, SYN, 1000, 0, NULL);
	S(&r, ACK, 7777, 1101, NULL);
	C(&r, RST, 1500, 0, NULL);
	run_end(&r);
	assert_int_equal(count(&r, "conn", "\"orig_bytes\"=>0", NULL), 1);
	run_free(&r);
}

/* t4: 40 RSTs with new sequence numbers after the exchange: Zeek appends an R for each, the
 * history is 45 letters (it was cut at 30). */
static void test_long_history(void **st)
{
	char want[128], rs[41];
	struct run r;

	(void)st;
	memset(rs, 'R', 40);
	rs[40] = '\0';
	snprintf(want, sizeof(want), "\"history\"=>\"ShADd%s\"", rs);
	run_start(&r);
	hello(&r);
	for (int i = 0; i < 40; i++)
		C(&r, RST, 1009 + (uint32_t)i * 10, 0, NULL);
	run_end(&r);
	assert_int_equal(count(&r, "conn", want, "\"conn_state\"=>\"RSTO\"", NULL), 1);
	assert_int_equal(r.st.flow.history_truncated, 0);
	run_free(&r);
}

/* t8: a one-sided capture whose client FIN comes while a segment is missing; ten seconds
 * later the client retransmits it. Zeek's ConnectionClosed defers the close while the
 * direction has data pending (DataPending), and the EOF after the hole is filled closes it:
 * one connection (it was removed 5 s after the FIN and the retransmission made a second). */
static void test_close_waits_for_pending_data(void **st)
{
	struct run r;

	(void)st;
	run_start(&r);
	C(&r, SYN, 1000, 0, NULL);
	C(&r, ACK, 1001, 5001, NULL);
	C(&r, ACK | PSH, 1001, 5001, "EHLO a\r\n");
	C(&r, ACK | PSH, 1019, 5001, "RCPT TO:<b>\r\n"); /* [1009, 1019) lost */
	C(&r, FIN | ACK, 1032, 5001, NULL);
	r.t += 9999000000ull; /* 10 s after the FIN */
	C(&r, ACK | PSH, 1009, 5001, "MAIL FROM:");
	r.t += 199000000ull; /* 0.2 s later */
	C(&r, FIN | ACK, 1032, 5001, NULL);
	/* closed now: removed tcp_close_delay (5 s) after its last packet */
	r.t += 6ull * 1000000000ull;
	engine__tick(r.eng, r.t);
	assert_int_equal(count(&r, "conn", NULL), 1);
	run_end(&r);
	assert_int_equal(count(&r, "conn", NULL), 1);
	assert_int_equal(count(&r, "conn", "\"duration\"=>10.204", "\"orig_bytes\"=>31",
			       "\"conn_state\"=>\"SH\"", "\"history\"=>\"SADFT\"",
			       "\"orig_pkts\"=>7", NULL),
			 1);
	run_free(&r);
	/* the hole never filled: the close waits, one connection at the end */
	run_start(&r);
	C(&r, SYN, 1000, 0, NULL);
	C(&r, ACK, 1001, 5001, NULL);
	C(&r, ACK | PSH, 1001, 5001, "EHLO a\r\n");
	C(&r, ACK | PSH, 1019, 5001, "RCPT TO:<b>\r\n");
	C(&r, FIN | ACK, 1032, 5001, NULL);
	r.t += 60ull * 1000000000ull;
	engine__tick(r.eng, r.t);
	assert_int_equal(count(&r, "conn", NULL), 0);
	run_end(&r);
	assert_int_equal(count(&r, "conn", "\"history\"=>\"SADF\"", NULL), 1);
	run_free(&r);
}

/* weird.zeek's ACTION_IGNORE names (unsolicited_SYN_response, spontaneous_FIN/RST,
 * FIN_after_reset) are raised by the TCP analyzer but never logged: a SYN-ACK out of nowhere,
 * then a FIN after the client's RST; counted as held back. */
static void test_ignored_weirds(void **st)
{
	struct run r;

	(void)st;
	run_start(&r);
	S(&r, SYN | ACK, 5000, 1001, NULL);
	C(&r, ACK, 1001, 5001, NULL);
	C(&r, ACK | PSH, 1001, 5001, "EHLO a\r\n");
	C(&r, RST, 1009, 0, NULL);
	C(&r, FIN | ACK, 1009, 5001, NULL);
	run_end(&r);
	assert_int_equal(count(&r, "weird", "unsolicited_SYN_response", NULL), 0);
	assert_int_equal(count(&r, "weird", "FIN_after_reset", NULL), 0);
	assert_int_equal(count(&r, "weird", "spontaneous_", NULL), 0);
	assert_true(r.st.weirds_held_back >= 1);
	run_free(&r);
}

/* weird.zeek's per-originator actions: SYN_with_data (ACTION_LOG_PER_ORIG) once for a
 * client's two connections; SYN_after_partial (ACTION_NOTICE_PER_ORIG) a weird with notice T
 * and a Weird::Activity notice, once per client too. */
static void test_weird_per_orig(void **st)
{
	struct notice_cfg nc;
	struct run r;

	(void)st;
	notice_cfg__default(&nc);
	assert_int_equal(notice__init(&nc), 0);
	run_start(&r);
	for (int k = 0; k < 2; k++) {
		cport = (uint16_t)(40000 + k);
		C(&r, SYN, 1000, 0, "x");
		S(&r, SYN | ACK, 5000, 1002, NULL);
		C(&r, ACK, 1002, 5001, NULL);
		bye(&r);
	}
	for (int k = 0; k < 2; k++) { /* midstream, then a SYN from the client at its start */
		cport = (uint16_t)(41000 + k);
		C(&r, ACK | PSH, 7000, 9000, "DATA\r\n");
		C(&r, SYN, 6999, 0, NULL); /* Zeek's start of a partial endpoint: seq - 1 */
	}
	cport = 40000;
	run_end(&r);
	assert_int_equal(count(&r, "weird", "\"SYN_with_data\"", "\"notice\"=>false", NULL), 1);
	assert_int_equal(count(&r, "weird", "\"SYN_after_partial\"", "\"notice\"=>true", NULL), 1);
	assert_int_equal(count(&r, "notice", "\"note\"=>\"Weird::Activity\"",
			       "\"msg\"=>\"SYN_after_partial\"", "\"uid\"=>", NULL),
			 1);
	run_free(&r);
	notice__fini();
}

/* One connection on 10.0.0.1:cport -> :25 sending MAIL FROM three times at the same sequence
 * number, each with other bytes, before the server acks: rexmit_inconsistency at the second
 * and the third. */
static void rexmit_conn(struct run *r)
{
	hello(r);
	C(r, ACK | PSH, 1009, 5009, "MAIL FROM:<a>\r\n");
	C(r, ACK | PSH, 1009, 5009, "MAIL FROM:<b>\r\n");
	C(r, ACK | PSH, 1009, 5009, "MAIL FROM:<c>\r\n");
	S(r, ACK, 5009, 1024, NULL);
	C(r, FIN | ACK, 1024, 5009, NULL);
	S(r, FIN | ACK, 5009, 1025, NULL);
	C(r, ACK, 1025, 5010, NULL);
}

/* weird.zeek's weird_ignore for connection weirds: [name, id_string(c$id)] for ten minutes
 * from the weird written. The repeat in the same connection is held back, and so is the weird
 * of a new connection on the same four-tuple a minute later; one on another client port is
 * written, as is the four-tuple's weird again just over ten minutes after the first was
 * written (the repeats held back in between did not restart the ten minutes). */
static void test_conn_weird_held_per_tuple(void **st)
{
	static const uint16_t ports[] = {42000, 42000, 42001, 42000};
	static const uint64_t gap_s[] = {0, 60, 1, 549};
	struct run r;

	(void)st;
	run_start(&r);
	for (int k = 0; k < 4; k++) {
		r.t += gap_s[k] * 1000000000ull;
		cport = ports[k];
		rexmit_conn(&r);
	}
	cport = 40000;
	run_end(&r);
	assert_int_equal(count(&r, "conn", "\"history\"=>\"ShADdTaFf\"", NULL), 4);
	assert_int_equal(count(&r, "weird", NULL), 3);
	assert_int_equal(count(&r, "weird", "\"rexmit_inconsistency\"", "\"id.orig_p\"=>42000",
			       NULL),
			 2);
	assert_int_equal(count(&r, "weird", "\"rexmit_inconsistency\"", "\"id.orig_p\"=>42001",
			       NULL),
			 1);
	assert_int_equal(r.st.weirds_held_back, 5);
	run_free(&r);
}

/* The bound of the connection weird sets (conn_weird_state_max, the oldest forgotten first):
 * with room for two four-tuples, the third pushes the first out, and the first four-tuple's
 * weird a minute later is written again; the third's, still remembered, is held back. With
 * room for three, nothing is forgotten: both are held back. */
static void test_conn_weird_state_bound(void **st)
{
	static const uint16_t ports[] = {42500, 42501, 42502, 42500, 42502};

	(void)st;
	for (uint32_t room = 2; room <= 3; room++) {
		struct run r;

		engine_cfg__default(&next_cfg);
		next_cfg.conn_weird_state_max = room;
		have_next_cfg = true;
		run_start(&r);
		for (int k = 0; k < 5; k++) {
			r.t += (k == 3 ? 60 : 1) * 1000000000ull;
			cport = ports[k];
			rexmit_conn(&r);
		}
		cport = 40000;
		run_end(&r);
		assert_int_equal(count(&r, "conn", NULL), 5);
		assert_int_equal(count(&r, "weird", "\"rexmit_inconsistency\"",
				       "\"id.orig_p\"=>42500", NULL),
				 room == 2 ? 2 : 1);
		assert_int_equal(count(&r, "weird", "\"rexmit_inconsistency\"",
				       "\"id.orig_p\"=>42502", NULL),
				 1);
		assert_int_equal(count(&r, "weird", NULL), room == 2 ? 4 : 3);
		/* weird_ignore: room 2 forgets 42500 for 42502, then 42501 for 42500 again */
		assert_int_equal(r.st.weird_state_evicted, room == 2 ? 2 : 0);
		run_free(&r);
	}
}

/* The same through the flow table's TCP weirds (flow_weird): TCP_ack_underflow_or_misorder
 * in a second connection on the same four-tuple a minute later is held back. */
static void test_tcp_weird_held_per_tuple(void **st)
{
	struct run r;

	(void)st;
	run_start(&r);
	for (int k = 0; k < 2; k++) {
		r.t += 60ull * 1000000000ull;
		cport = 42200;
		hello(&r);
		S(&r, ACK, 5009, 900, NULL);
		bye(&r);
	}
	cport = 40000;
	run_end(&r);
	assert_int_equal(count(&r, "conn", NULL), 2);
	assert_int_equal(count(&r, "weird", NULL), 1);
	assert_int_equal(count(&r, "weird", "\"TCP_ack_underflow_or_misorder\"", NULL), 1);
	assert_int_equal(r.st.weirds_held_back, 1);
	run_free(&r);
}

/* weird.zeek's ACTION_LOG_PER_CONN (smtp_mail_transaction_invalid: RCPT without MAIL):
 * did_log[name, id_string(c$id)] for a day. Twice in one connection, then again in a new
 * connection on the same four-tuple eleven minutes later (past weird_ignore's ten): held back
 * both times; a connection from another port writes it. */
static void test_weird_per_conn(void **st)
{
	static const uint16_t ports[] = {42300, 42300, 42301};
	struct parsers_cfg pc;
	struct parsers *ps;
	struct run r;

	(void)st;
	run_start(&r);
	parsers_cfg__default(&pc);
	ps = parsers__register(r.eng, &pc);
	assert_non_null(ps);
	for (int k = 0; k < 3; k++) {
		r.t += 660ull * 1000000000ull;
		cport = ports[k];
		hello(&r);
		C(&r, ACK | PSH, 1009, 5009, "RCPT TO:<a@b>\r\n");
		S(&r, ACK | PSH, 5009, 1024, "503 no\r\n");
		C(&r, ACK | PSH, 1024, 5017, "RCPT TO:<c@d>\r\n");
		S(&r, ACK | PSH, 5017, 1039, "503 no\r\n");
		C(&r, FIN | ACK, 1039, 5025, NULL);
		S(&r, FIN | ACK, 5025, 1040, NULL);
		C(&r, ACK, 1040, 5026, NULL);
	}
	cport = 40000;
	run_end(&r);
	assert_int_equal(count(&r, "weird", "\"smtp_mail_transaction_invalid\"", NULL), 2);
	assert_int_equal(count(&r, "weird", "\"smtp_mail_transaction_invalid\"",
			       "\"id.orig_p\"=>42300", NULL),
			 1);
	assert_int_equal(count(&r, "weird", "\"smtp_mail_transaction_invalid\"",
			       "\"id.orig_p\"=>42301", NULL),
			 1);
	run_free(&r);
	parsers__free(ps);
}

/* Zeek's weird source: "TCP" for the weirds the TCP analyzer raises through Analyzer::Weird
 * (TCP_seq_underflow_or_misorder here), none for those raised through the connection
 * (possible_split_routing); TCP_scale_range (Conn()->Weird with the analyzer's name) has the
 * scale offered as addl. */
static void test_weird_source_addl(void **st)
{
	struct run r;

	(void)st;
	run_start(&r);
	wscale = 15;
	C(&r, SYN, 1000, 0, NULL);
	S(&r, SYN | ACK, 5000, 1001, NULL);
	wscale = -1;
	C(&r, ACK, 1001, 5001, NULL);
	bye(&r);
	run_end(&r);
	assert_int_equal(count(&r, "weird", NULL), 1);
	assert_int_equal(count(&r, "weird", "\"name\"=>\"TCP_scale_range\"", "\"addl\"=>\"15\"",
			       "\"source\"=>\"TCP\"", NULL),
			 1);
	run_free(&r);

	run_start(&r);
	hello(&r);
	C(&r, ACK | PSH, 900, 5009, "junkjunk");
	bye(&r);
	run_end(&r);
	assert_int_equal(count(&r, "weird", "\"TCP_seq_underflow_or_misorder\"",
			       "\"source\"=>\"TCP\"", NULL),
			 1);
	run_free(&r);

	run_start(&r);
	C(&r, SYN, 1000, 0, NULL);
	C(&r, ACK, 1001, 5001, NULL);
	run_end(&r);
	assert_int_equal(count(&r, "weird", NULL), 1);
	assert_int_equal(count(&r, "weird", "\"possible_split_routing\"", NULL), 1);
	assert_int_equal(count(&r, "weird", "\"source\"", NULL), 0);
	run_free(&r);
}

/* Zeek's DidWeird: possible_split_routing and TCP_scale_range are not raised once the
 * connection had a weird, also one weird.zeek's action does not log (SYN_with_data,
 * ACTION_LOG_PER_ORIG, a second time from the same client). */
static void test_did_weird_holds_back(void **st)
{
	struct run r;

	(void)st;
	run_start(&r);
	for (int k = 0; k < 2; k++) { /* a SYN with a byte, then an ACK with no SYN-ACK seen */
		cport = (uint16_t)(40000 + k);
		C(&r, SYN, 1000, 0, "x");
		C(&r, ACK, 1002, 5001, NULL);
	}
	cport = 40002; /* the same with window scale 15 on the SYN */
	wscale = 15;
	C(&r, SYN, 1000, 0, "x");
	wscale = -1;
	cport = 40000;
	run_end(&r);
	for (int i = 0; i < r.cap.n; i++)
		print_message("%s\n", r.cap.recs[i]);
	assert_int_equal(count(&r, "conn", NULL), 3);
	assert_int_equal(count(&r, "weird", NULL), 1);
	assert_int_equal(count(&r, "weird", "\"SYN_with_data\"", "\"id.orig_p\"=>40000", NULL), 1);
	run_free(&r);
}

/* The conn record of the uid of the first weird named name has every one of the substrings
 * (NULL-terminated): the weird was raised on that connection. */
static int weird_conn(const struct run *r, const char *name, ...)
{
	char uid[64], wname[128];
	const char *u = NULL, *end;
	int n = 0;

	snprintf(wname, sizeof(wname), "\"name\"=>\"%s\"", name);
	for (int i = 0; i < r->cap.n && !u; i++)
		if (!strncmp(r->cap.recs[i], "weird ", 6) && strstr(r->cap.recs[i], wname))
			u = strstr(r->cap.recs[i], "\"uid\"=>\"");
	if (!u || !(end = strchr(u + 9, '"')))
		return 0;
	snprintf(uid, sizeof(uid), "%.*s", (int)(end + 1 - u), u);
	for (int i = 0; i < r->cap.n; i++) {
		const char *rec = r->cap.recs[i], *sub;
		bool all = !strncmp(rec, "conn ", 5) && strstr(rec, uid);
		va_list ap;

		va_start(ap, name);
		while (all && (sub = va_arg(ap, const char *)))
			all = strstr(rec, sub) != NULL;
		va_end(ap);
		n += all;
	}
	return n;
}

/* Zeek's IsReuse raises a weird on the old connection (source TCP) before the new SYN starts
 * a new one: a new ISN in an open connection (active_connection_reuse), a handshake 1 ms
 * after a clean close (premature_connection_reuse), a second SYN with another ISN while the
 * first is unanswered (SYN_seq_jump), a SYN after the client's FIN with the server still
 * established (active_connection_reuse); none after a RST. */
static void test_reuse_weirds(void **st)
{
	struct run r;

	(void)st;
	run_start(&r);
	cport = 40010; /* S1, then a new ISN */
	hello(&r);
	C(&r, SYN, 3000, 0, NULL);
	cport = 40011; /* SF, then a new handshake 1 ms later */
	hello(&r);
	bye(&r);
	C(&r, SYN, 3000, 0, NULL);
	S(&r, SYN | ACK, 7000, 3001, NULL);
	cport = 40012; /* two SYNs one second apart */
	C(&r, SYN, 1000, 0, NULL);
	r.t += 999000000ull;
	C(&r, SYN, 2000, 0, NULL);
	cport = 40013; /* the client's FIN, then its SYN */
	hello(&r);
	C(&r, FIN | ACK, 1009, 5009, NULL);
	C(&r, SYN, 3000, 0, NULL);
	cport = 40014; /* the client's RST, then its SYN */
	hello(&r);
	C(&r, RST, 1009, 0, NULL);
	C(&r, SYN, 3000, 0, NULL);
	cport = 40000;
	run_end(&r);
	assert_int_equal(count(&r, "conn", NULL), 10);
	assert_int_equal(count(&r, "weird", NULL), 4);
	assert_int_equal(count(&r, "weird", "\"active_connection_reuse\"", "\"source\"=>\"TCP\"",
			       NULL),
			 2);
	assert_int_equal(count(&r, "weird", "\"active_connection_reuse\"", "\"id.orig_p\"=>40010",
			       NULL),
			 1);
	assert_int_equal(weird_conn(&r, "active_connection_reuse", "\"conn_state\"=>\"S1\"",
				    "\"history\"=>\"ShADd\"", NULL),
			 1);
	assert_int_equal(weird_conn(&r, "premature_connection_reuse", "\"conn_state\"=>\"SF\"",
				    "\"id.orig_p\"=>40011", NULL),
			 1);
	assert_int_equal(weird_conn(&r, "SYN_seq_jump", "\"conn_state\"=>\"S0\"",
				    "\"id.orig_p\"=>40012", NULL),
			 1);
	assert_int_equal(count(&r, "weird", "\"SYN_seq_jump\"", "\"source\"=>\"TCP\"", NULL), 1);
	assert_int_equal(count(&r, "weird", "\"active_connection_reuse\"", "\"id.orig_p\"=>40013",
			       NULL),
			 1);
	assert_int_equal(count(&r, "conn", "\"id.orig_p\"=>40013", "\"conn_state\"=>\"S2\"", NULL),
			 1);
	assert_int_equal(count(&r, "weird", "\"id.orig_p\"=>40014", NULL), 0);
	run_free(&r);
}

/* Zeek's update_window: a packet (not SYN, FIN or RST) moving its sender's right window edge
 * (ack + scaled window) back by at least one scaling unit is window_recision (no source); less
 * is the scaling's slop. Window scale 2 on both sides. */
static void test_window_recision(void **st)
{
	struct run r;

	(void)st;
	for (int k = 0; k < 2; k++) {
		run_start(&r);
		wscale = 2;
		C(&r, SYN, 1000, 0, NULL);
		S(&r, SYN | ACK, 5000, 1001, NULL);
		wscale = -1;
		win = 1000;
		C(&r, ACK, 1001, 5001, NULL); /* right edge 5001 + 4000 */
		S(&r, ACK | PSH, 5001, 1001, "220 ok\r\n");
		win = k ? 100 : 999; /* 5009 + 400: back 3592; 5009 + 3996: ahead 4 */
		C(&r, ACK, 1001, 5009, NULL);
		win = 8192;
		bye(&r);
		run_end(&r);
		assert_int_equal(count(&r, "weird", NULL), k);
		assert_int_equal(count(&r, "weird", "\"window_recision\"", NULL), k);
		assert_int_equal(count(&r, "weird", "\"source\"", NULL), 0);
		run_free(&r);
	}
	/* by exactly one unit (4) back: a recision; by 3: not */
	for (int k = 0; k < 2; k++) {
		run_start(&r);
		wscale = 2;
		C(&r, SYN, 1000, 0, NULL);
		S(&r, SYN | ACK, 5000, 1001, NULL);
		wscale = -1;
		win = 1000;
		C(&r, ACK, 1001, 5001, NULL);
		S(&r, ACK | PSH, 5001, 1001, "220 ok\r\n");
		S(&r, ACK | PSH, 5009, 1001, "x");
		win = 999;
		C(&r, ACK, 1001, k ? 5001 : 5002, NULL); /* back 4 / 3 */
		win = 8192;
		run_end(&r);
		assert_int_equal(count(&r, "weird", "\"window_recision\"", NULL), k);
		run_free(&r);
	}
}

/* Zeek's storms: the 1000th FIN or RST of an endpoint (tcp_storm_thresh) or a later one,
 * less than a second after the endpoint's previous packet (tcp_storm_interarrival_thresh),
 * whatever came from the peer in between. RST_storm: ACTION_LOG, source TCP; FIN_storm:
 * ACTION_NOTICE_PER_ORIG, a weird with notice T and a Weird::Activity notice. */
static void test_storms(void **st)
{
	struct notice_cfg nc;
	struct run r;

	(void)st;
	run_start(&r); /* 1200 RSTs, 1 ms apart */
	hello(&r);
	for (int i = 0; i < 1200; i++)
		C(&r, RST, 1009, 0, NULL);
	run_end(&r);
	assert_int_equal(count(&r, "weird", NULL), 1);
	assert_int_equal(count(&r, "weird", "\"RST_storm\"", "\"source\"=>\"TCP\"",
			       "\"notice\"=>false", NULL),
			 1);
	assert_int_equal(count(&r, "conn", "\"history\"=>\"ShADdR\"", NULL), 1);
	run_free(&r);

	for (int peer = 0; peer < 2; peer++) {
		notice_cfg__default(&nc);
		assert_int_equal(notice__init(&nc), 0);
		run_start(&r);
		hello(&r);
		/* 1000 FINs 1.2 s apart (with the server's ACK half way: peer), then one 0.8 s
		 * after the last */
		for (int i = 0; i <= 1000; i++) {
			uint64_t gap = i < 1000 ? 1200 : 800;

			if (peer) {
				r.t += (gap / 2 - 1) * 1000000ull;
				S(&r, ACK, 5009, 1010, NULL);
				r.t += (gap / 2 - 1) * 1000000ull;
			} else {
				r.t += (gap - 1) * 1000000ull;
			}
			C(&r, FIN | ACK, 1009, 5009, NULL);
			if (i == 999)
				assert_int_equal(count(&r, "weird", NULL), 0);
		}
		run_end(&r);
		assert_int_equal(count(&r, "weird", NULL), 1);
		assert_int_equal(count(&r, "weird", "\"FIN_storm\"", "\"source\"=>\"TCP\"",
				       "\"notice\"=>true", NULL),
				 1);
		assert_int_equal(count(&r, "notice", "\"note\"=>\"Weird::Activity\"",
				       "\"msg\"=>\"FIN_storm\"", NULL),
				 1);
		assert_int_equal(count(&r, "conn", NULL), 1);
		run_free(&r);
		notice__fini();
	}
}

/* A SYN-ACK captured before its SYN (two capture interfaces), on a port that is not a mail
 * server's (no flip at creation): the SYN-ACK's sender starts as the originator; the
 * responder's SYN with the sequence number its SYN-ACK acked flips the roles in place, as
 * Zeek's UpdateInactiveState: history Hs^..., no simultaneous_open, the client's bytes, packets
 * and stream as the originator's (the SMTP session after it parsed as the client's). */
static void test_synack_before_syn_flips(void **st)
{
	struct parsers_cfg pc;
	struct parsers *ps;
	struct run r;

	(void)st;
	engine_cfg__default(&next_cfg);
	engine_cfg__set_port(next_cfg.ports, 40001, true);
	have_next_cfg = true;
	run_start(&r);
	parsers_cfg__default(&pc);
	ps = parsers__register(r.eng, &pc);
	assert_non_null(ps);
	sport = 40001;
	S(&r, SYN | ACK, 5000, 1001, NULL);
	C(&r, SYN, 1000, 0, NULL);
	C(&r, ACK, 1001, 5001, NULL);
	S(&r, ACK | PSH, 5001, 1001, "220 mx\r\n");
	C(&r, ACK | PSH, 1001, 5009, "EHLO a\r\n");
	S(&r, ACK | PSH, 5009, 1009, "250 ok\r\n");
	C(&r, ACK | PSH, 1009, 5017, "MAIL FROM:<a@b>\r\n");
	S(&r, ACK | PSH, 5017, 1026, "250 ok\r\n");
	C(&r, FIN | ACK, 1026, 5025, NULL);
	S(&r, FIN | ACK, 5025, 1027, NULL);
	C(&r, ACK, 1027, 5026, NULL);
	sport = 25;
	run_end(&r);
	assert_int_equal(count(&r, "conn", NULL), 1);
	assert_int_equal(count(&r, "conn", "\"id.orig_h\"=>\"10.0.0.1\"", "\"id.orig_p\"=>40000",
			       "\"id.resp_h\"=>\"10.0.0.2\"", "\"id.resp_p\"=>40001",
			       "\"conn_state\"=>\"SF\"", "\"history\"=>\"Hs^AdDFf\"",
			       "\"orig_bytes\"=>25", "\"resp_bytes\"=>24", "\"orig_pkts\"=>6",
			       "\"resp_pkts\"=>5", "\"service\"=>\"smtp\"", NULL),
			 1);
	assert_int_equal(count(&r, "weird", NULL), 1);
	assert_int_equal(count(&r, "weird", "\"connection_originator_SYN_ack\"", NULL), 1);
	assert_int_equal(count(&r, "smtp", "\"id.orig_h\"=>\"10.0.0.1\"", "\"helo\"=>\"a\"",
			       "\"mailfrom\"=>\"a@b\"", NULL),
			 1);
	run_free(&r);
	parsers__free(ps);
}

/* Network time never goes back (Zeek's dispatch_packet): a SYN stamped 1004 s, then a whole
 * SMTP session stamped 1000 s (a merged capture; 4 s back, less than every TCP timeout, so
 * no timer fires: test_timers_on_network_time). What scripts stamp with network_time() gets
 * 1004 s: the smtp record (new_smtp_log), the message's file (File's last_active, so
 * ts and a duration of 0) and the weirds, of the flow table (TCP_seq_underflow_or_misorder)
 * as of the SMTP analyzer; the connection keeps its packets' own times (Connection's
 * start_time and last_time: conn's ts 1000.001 and duration 0.017), and the SYN's
 * connection, removed at the end, its own. */
static void test_network_time_never_goes_back(void **st)
{
	struct parsers_cfg pc;
	struct parsers *ps;
	struct run r;

	(void)st;
	run_start(&r);
	parsers_cfg__default(&pc);
	ps = parsers__register(r.eng, &pc);
	assert_non_null(ps);
	r.t = 1004ull * 1000000000ull - 1000000;
	cport = 41000;
	C(&r, SYN, 7000, 0, NULL); /* 1004.000 */
	cport = 40000;
	r.t = 1000ull * 1000000000ull;
	hello(&r); /* 1000.001 .. 1000.005 */
	C(&r, ACK | PSH, 1009, 5009, "MAIL FROM:<a@b>\r\n");
	S(&r, ACK | PSH, 5009, 1026, "250 ok\r\n");
	C(&r, ACK | PSH, 1026, 5017, "RCPT TO:<c@d>\r\n");
	S(&r, ACK | PSH, 5017, 1041, "250 ok\r\n");
	C(&r, ACK | PSH, 1041, 5025, "DATA\r\n");
	S(&r, ACK | PSH, 5025, 1047, "354 go\r\n");
	C(&r, ACK | PSH, 1047, 5033, "Subject: x\r\n\r\nhello world\r\n.\r\n");
	S(&r, ACK | PSH, 5033, 1077, "250 ok\r\n");
	C(&r, ACK | PSH, 900, 5041, "junkjunk"); /* below the ISN: a weird of the flow table */
	C(&r, ACK | PSH, 1077, 5041, "RCPT TO:<e@f>\r\n");
	S(&r, ACK | PSH, 5041, 1092, "503 no\r\n"); /* smtp_mail_transaction_invalid */
	C(&r, FIN | ACK, 1092, 5049, NULL);
	S(&r, FIN | ACK, 5049, 1093, NULL);
	C(&r, ACK, 1093, 5050, NULL); /* 1000.018 */
	run_end(&r);
	assert_int_equal(count(&r, "smtp", "\"ts\"=>1004.000000,", "\"mailfrom\"=>\"a@b\"", NULL),
			 1);
	assert_int_equal(count(&r, "smtp", NULL), 1);
	assert_int_equal(count(&r, "files", "\"ts\"=>1004.000000,", NULL), 1);
	assert_int_equal(count(&r, "files", "\"duration\"=>0.000000", NULL), 1);
	assert_int_equal(count(&r, "files", NULL), 1);
	assert_int_equal(count(&r, "weird", "\"ts\"=>1004.000000,",
			       "\"TCP_seq_underflow_or_misorder\"", NULL), 1);
	assert_int_equal(count(&r, "weird", "\"ts\"=>1004.000000,",
			       "\"smtp_mail_transaction_invalid\"", NULL), 1);
	assert_int_equal(count(&r, "weird", NULL), 2);
	assert_int_equal(count(&r, "conn", "\"ts\"=>1000.001000,", "\"id.orig_p\"=>40000",
			       "\"duration\"=>0.017000", NULL), 1);
	assert_int_equal(count(&r, "conn", "\"ts\"=>1004.000000,", "\"id.orig_p\"=>41000",
			       "\"conn_state\"=>\"S0\"", NULL), 1);
	run_free(&r);
	parsers__free(ps);
}

/* Live, a clock tick runs the timers but does not stamp the packets after it: a packet taken
 * after a tick keeps the latest packet time, as reading the same packets from a capture
 * (no ticks) does. The session's packets are at 1000.001 .. 1000.007; a tick at 1000.5
 * comes after its SYN-ACK, ahead of the packets stamped before it. */
static void test_tick_not_network_time(void **st)
{
	struct parsers_cfg pc;
	struct parsers *ps;
	struct run r;

	(void)st;
	run_start(&r);
	parsers_cfg__default(&pc);
	ps = parsers__register(r.eng, &pc);
	assert_non_null(ps);
	r.t = 1000ull * 1000000000ull;
	C(&r, SYN, 1000, 0, NULL);
	S(&r, SYN | ACK, 5000, 1001, NULL);
	engine__tick(r.eng, 1000ull * 1000000000ull + 500000000ull); /* 1000.5 */
	C(&r, ACK, 1001, 5001, NULL);
	S(&r, ACK | PSH, 5001, 1001, "220 hi\r\n");		/* 1000.004: the smtp record */
	C(&r, ACK | PSH, 1001, 5009, "MAIL FROM:<a@b>\r\n");
	S(&r, ACK | PSH, 5009, 1018, "250 ok\r\n");
	C(&r, ACK | PSH, 900, 5017, "junkjunk"); /* 1000.007: TCP_seq_underflow_or_misorder */
	run_end(&r);
	assert_int_equal(count(&r, "smtp", "\"ts\"=>1000.004000,", "\"mailfrom\"=>\"a@b\"", NULL),
			 1);
	assert_int_equal(count(&r, "weird", "\"ts\"=>1000.007000,",
			       "\"TCP_seq_underflow_or_misorder\"", NULL), 1);
	run_free(&r);
	parsers__free(ps);
}

/* Timers fire by network time, in the order of their times (Zeek's timer queue), whichever
 * was set first: a SYN stamped 1060 s (its attempt timer at 1065 s), then a session stamped
 * 1000 s. Its SYN's attempt timer (the packet's t + tcp_attempt_delay: 1005.001 s) is due at
 * the next packet, the SYN-ACK, which then starts a connection of its own (Zeek's
 * connection_attempt removes the first: S0, and the SYN-ACK's is flipped, "^h..."); that
 * one's close timer (Conn()->LastTime() + tcp_close_delay: 1005.007 s, after both FINs) is
 * due at the client's last ACK, which starts a third (OTH, "A"). Both waited behind the
 * 1060 s SYN's timer, set before them. */
static void test_timers_on_network_time(void **st)
{
	struct run r;

	(void)st;
	run_start(&r);
	r.t = 1060ull * 1000000000ull - 1000000;
	cport = 41000;
	C(&r, SYN, 7000, 0, NULL); /* 1060.000 */
	cport = 40000;
	r.t = 1000ull * 1000000000ull;
	hello(&r); /* 1000.001 .. 1000.005 */
	C(&r, FIN | ACK, 1009, 5009, NULL);
	S(&r, FIN | ACK, 5009, 1010, NULL); /* 1000.007: both closed */
	C(&r, ACK, 1010, 5010, NULL);	    /* 1000.008 */
	run_end(&r);
	assert_int_equal(count(&r, "conn", NULL), 4);
	assert_int_equal(count(&r, "conn", "\"ts\"=>1000.001000,", "\"id.orig_p\"=>40000",
			       "\"conn_state\"=>\"S0\"", "\"history\"=>\"S\"", NULL), 1);
	assert_int_equal(count(&r, "conn", "\"ts\"=>1000.002000,", "\"id.orig_p\"=>40000",
			       "\"duration\"=>0.005000", "\"conn_state\"=>\"SF\"",
			       "\"history\"=>\"^hADdFf\"", NULL), 1);
	assert_int_equal(count(&r, "conn", "\"ts\"=>1000.008000,", "\"id.orig_p\"=>40000",
			       "\"conn_state\"=>\"OTH\"", "\"history\"=>\"A\"", NULL), 1);
	assert_int_equal(count(&r, "conn", "\"ts\"=>1060.000000,", "\"id.orig_p\"=>41000",
			       "\"conn_state\"=>\"S0\"", NULL), 1);
	assert_int_equal(r.st.flow.expired_attempt, 1);
	assert_int_equal(r.st.flow.expired_close, 1);
	run_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_seq_underflow_once),
	    cmocka_unit_test(test_ack_underflow_once),
	    cmocka_unit_test(test_no_syn_seq_jump_after_bare_ack),
	    cmocka_unit_test(test_ip_len_past_wire),
	    cmocka_unit_test(test_half_open_rst_size),
	    cmocka_unit_test(test_long_history),
	    cmocka_unit_test(test_close_waits_for_pending_data),
	    cmocka_unit_test(test_ignored_weirds),
	    cmocka_unit_test(test_weird_per_orig),
	    cmocka_unit_test(test_conn_weird_held_per_tuple),
	    cmocka_unit_test(test_conn_weird_state_bound),
	    cmocka_unit_test(test_tcp_weird_held_per_tuple),
	    cmocka_unit_test(test_weird_per_conn),
	    cmocka_unit_test(test_weird_source_addl),
	    cmocka_unit_test(test_did_weird_holds_back),
	    cmocka_unit_test(test_reuse_weirds),
	    cmocka_unit_test(test_window_recision),
	    cmocka_unit_test(test_storms),
	    cmocka_unit_test(test_synack_before_syn_flips),
	    cmocka_unit_test(test_network_time_never_goes_back),
	    cmocka_unit_test(test_tick_not_network_time),
	    cmocka_unit_test(test_timers_on_network_time),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
