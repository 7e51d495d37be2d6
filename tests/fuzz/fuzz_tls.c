// SPDX-License-Identifier: BSD-3-Clause
/* libFuzzer target for the "ssl" app parser (tls.c, x509.c, app_tls.c, rec_ssl.c).
 *
 * Input: one control byte (bit 0: feed byte by byte, bit 1: tiny limits, bit 2: start with a
 * valid ClientHello header so the fuzzer reaches the handshake parsers faster, bit 3: validate
 * server chains against the system's roots, certval.c), then chunks:
 * a header byte (bit 7: direction, bits 0-6: length) followed by that many bytes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mailtap/ids.h"
#include "mailtap/rec.h"
#include "mailtap/session.h"
#include "mailtap/tls.h"
#include "mailtap/x509.h"

static void f_confirm(struct mt_session *s, const char *service)
{
	(void)s;
	(void)service;
}

static void f_weird(struct mt_session *s, uint64_t ts, const char *name, const char *addl,
		    size_t addl_len, const char *source)
{
	(void)s;
	(void)ts;
	(void)name;
	(void)addl;
	(void)addl_len;
	(void)source;
}

static int f_handoff(struct mt_session *s, const char *parser)
{
	(void)s;
	(void)parser;
	return -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct rec_out *out;
	static struct rec *rec;
	static struct x509_cache *dedup;
	static struct certval *val; /* the system's roots, when it has them */
	static const uint8_t ch_hdr[] = {0x16, 0x03, 0x01};
	struct mt_ids ids;
	struct conn_id id;
	struct mt_session s;
	struct tls_cfg cfg;
	uint8_t ctl;
	void *p;
	uint64_t ts = 1000;

	if (!out) {
		out = rec_out__new("fuzz");
		rec = rec__new(out);
		dedup = x509_cache__new(64, 1000000);
		struct certval_roots *roots =
		    certval_roots__load("/etc/ssl/certs/ca-certificates.crt");
		struct certval_cfg vc;

		certval_cfg__default(&vc);
		vc.max_chains = 16;
		vc.max_intermediates = 4;
		val = roots ? certval__new(&vc, roots) : NULL; /* roots kept for the process */
	}
	if (size < 1)
		return 0;
	ctl = data[0];
	data++;
	size--;
	memset(&id, 0, sizeof(id));
	memset(&s, 0, sizeof(s));
	mt_ids__init(&ids, 1, 1);
	s.uid = "Cfuzz";
	s.id = &id;
	s.rec = rec;
	s.ids = &ids;
	s.local_orig = s.local_resp = -1;
	s.confirm = f_confirm;
	s.weird = f_weird;
	s.handoff = f_handoff;
	tls_cfg__default(&cfg);
	cfg.x509_dedup = dedup;
	if (ctl & 8)
		cfg.certval = val;
	if (ctl & 2) {
		cfg.lim.max_handshake_msg = 64;
		cfg.lim.max_list = 2;
		cfg.lim.max_certs = 1;
		cfg.lim.max_alerts_per_record = 1;
		cfg.max_ssl_history = 4;
	}
	p = app_tls_ops.new(&s, &cfg);
	if (!p)
		return 0;
	if (ctl & 4)
		app_tls_ops.feed(p, MT_ORIG, ch_hdr, sizeof(ch_hdr), ts);
	while (size > 0) {
		enum mt_dir d = (data[0] & 0x80) ? MT_RESP : MT_ORIG;
		size_t n = data[0] & 0x7f;
		ssize_t r = 0;

		data++;
		size--;
		if (n > size)
			n = size;
		ts += 1000;
		if (ctl & 1) {
			for (size_t i = 0; i < n && r >= 0; i++)
				r = app_tls_ops.feed(p, d, data + i, 1, ts);
		} else if (n) {
			r = app_tls_ops.feed(p, d, data, n, ts);
		}
		if (r < 0)
			break;
		if (r > 0 && (size_t)r != ((ctl & 1) ? 1 : n))
			abort(); /* the ssl parser always consumes everything */
		data += n;
		size -= n;
	}
	app_tls_ops.eof(p, MT_ORIG, ts);
	app_tls_ops.eof(p, MT_RESP, ts);
	app_tls_ops.end(p, ts);
	app_tls_ops.free(p);
	tls__probe(data, size);
	return 0;
}
