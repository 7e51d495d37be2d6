// SPDX-License-Identifier: BSD-3-Clause
/* libFuzzer target for the SMTP analyzer (app_smtp -> smtp -> mime -> files -> records).
 * Input: a byte of options, then segments [flags][len][len bytes]: flags bit 0 the direction,
 * bit 1 a gap of len bytes instead of data, bit 2 end of that direction. The harness keeps the
 * unconsumed tail and presents it again, as the engine does. Each input runs twice, with the
 * smtp_events stream off and on: with it on the DATA lines go through the per-line state
 * machine, off through the plain-line pass (mt_scan_plain_lines); every other record must be
 * the same byte for byte. Then twice more with one time for every segment: as given, and with
 * each run of data segments of one direction fed at once: the records must not depend on
 * where the bytes were split (inputs with BDAT excepted: a CR at the end of a delivery ends a
 * BDAT line there, as in Zeek, docs/files.md; and with DPD::ignore_violations_after off, as
 * it counts bytes to the end of the packet). */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "mailtap/files.h"
#include "mailtap/ids.h"
#include "mailtap/rec.h"
#include "mailtap/session.h"
#include "mailtap/sink.h"
#include "mailtap/smtp.h"

/* A sink that hashes every record but the smtp_events ones (FNV-1a over tag and map). */
struct hash_sink {
	struct sink base;
	uint64_t h;
};

static void fnv(uint64_t *h, const void *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		*h = (*h ^ ((const uint8_t *)p)[i]) * 0x100000001b3ULL;
}

static int hs_write(struct sink *sk, const char *tag, size_t tag_len, uint64_t ts_ns,
		    const uint8_t *map, size_t len)
{
	struct hash_sink *hs = (struct hash_sink *)sk;

	if (tag_len >= 6 && !memcmp(tag + tag_len - 6, "events", 6))
		return 0;
	fnv(&hs->h, tag, tag_len);
	fnv(&hs->h, &ts_ns, sizeof(ts_ns));
	fnv(&hs->h, map, len);
	return 0;
}

static int hs_flush(struct sink *sk)
{
	(void)sk;
	return 0;
}

static const struct sink_ops hs_ops = {
    .name = "hash", .write = hs_write, .flush = hs_flush, .close = hs_flush};
static struct hash_sink hsink = {.base = {.ops = &hs_ops}};

static struct rec_out *out;
static struct rec *rec;
static struct smtp_cfg cfg;
static struct files_cfg fcfg;
static uint32_t dpd_after; /* smtp_cfg's default DPD::ignore_violations_after */

static void s_confirm(struct mt_session *s, const char *svc)
{
	(void)s;
	(void)svc;
}

static void s_weird(struct mt_session *s, uint64_t ts, const char *name, const char *addl,
		    size_t addl_len, const char *source)
{
	(void)s;
	(void)ts;
	(void)name;
	(void)addl;
	(void)addl_len;
	(void)source;
}

static int handed;

static int s_handoff(struct mt_session *s, const char *p)
{
	(void)s;
	(void)p;
	handed = 1;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t run(const uint8_t *data, size_t size, bool events, bool one_ts, bool merge)
{
	struct mt_session s = {0};
	struct conn_id id = {0};
	struct mt_ids ids;
	uint8_t *pend[2] = {NULL, NULL};
	size_t plen[2] = {0, 0};
	uint64_t ts = 1;
	size_t off = 1;
	void *app;

	if (!out) {
		out = rec_out__new("mailtap");
		rec_out__enable(out, "smtp_events");
		rec_out__add_sink(out, &hsink.base);
		rec = rec__new(out);
		smtp_cfg__default(&cfg);
		dpd_after = cfg.dpd_ignore_after;
		files_cfg__default(&fcfg);
		cfg.files = &fcfg;
		cfg.lim.max_line = 64;
		cfg.lim.max_pending_cmds = 8;
		cfg.lim.max_rcptto = cfg.lim.max_to = cfg.lim.max_cc = cfg.lim.max_path = 4;
		cfg.lim.max_invalid_tx = 4;
	}
	hsink.h = 0xcbf29ce484222325ULL;
	/* DPD::ignore_violations_after counts the connection's bytes up to the end of the packet
	 * being analysed (as Zeek's c$orig$size + c$resp$size do): where a violation falls
	 * against it depends on the packets, so the runs that compare splits disable the
	 * analyzer at every violation, whatever the bytes so far (0) */
	cfg.dpd_ignore_after = one_ts ? 0 : dpd_after;
	cfg.events = events;
	cfg.events_show_auth = data[0] & 2;
	cfg.blocklists = data[0] & 4;
	mt_ids__init(&ids, 1, 1);
	id.orig_p = 40000;
	id.resp_p = 25;
	id.proto = 6;
	s.uid = "CFuzz";
	s.id = &id;
	s.rec = rec;
	s.ids = &ids;
	s.local_orig = s.local_resp = -1;
	s.confirm = s_confirm;
	s.weird = s_weird;
	s.handoff = s_handoff;
	handed = 0;
	app = app_smtp_ops.new(&s, &cfg);
	if (!app)
		return hsink.h;
	while (off + 2 <= size && !handed) {
		uint8_t fl = data[off];
		size_t len = data[off + 1], d = fl & 1;
		ssize_t r;
		uint8_t *np;

		off += 2;
		if (len > size - off)
			len = size - off;
		if (!one_ts)
			ts += 1000;
		if (fl & 2) {
			app_smtp_ops.gap(app, (enum mt_dir)d, len ? len : 1, ts);
			plen[d] = 0;
			continue;
		}
		if (fl & 4) {
			app_smtp_ops.eof(app, (enum mt_dir)d, ts);
			continue;
		}
		np = realloc(pend[d], plen[d] + len + 1);
		if (!np)
			break;
		pend[d] = np;
		memcpy(pend[d] + plen[d], data + off, len);
		plen[d] += len;
		off += len;
		/* merge: the next data segments of this direction join this feed */
		while (merge && off + 2 <= size && !(data[off] & 6) && (data[off] & 1) == d) {
			size_t l2 = data[off + 1];

			off += 2;
			if (l2 > size - off)
				l2 = size - off;
			np = realloc(pend[d], plen[d] + l2 + 1);
			if (!np)
				abort();
			pend[d] = np;
			memcpy(pend[d] + plen[d], data + off, l2);
			plen[d] += l2;
			off += l2;
		}
		r = app_smtp_ops.feed(app, (enum mt_dir)d, pend[d], plen[d], ts);
		if (r < 0)
			break;
		if ((size_t)r > plen[d])
			abort();
		memmove(pend[d], pend[d] + r, plen[d] - (size_t)r);
		plen[d] -= (size_t)r;
		if (plen[d] >= app_smtp_ops.max_unit)
			abort();
	}
	app_smtp_ops.end(app, ts);
	app_smtp_ops.free(app);
	free(pend[0]);
	free(pend[1]);
	return hsink.h;
}

/* "BDAT" in any case (commands are case-insensitive: "BdAT 20 LAST" is BDAT too). */
static bool has_bdat(const uint8_t *data, size_t size)
{
	for (size_t i = 0; i + 4 <= size; i++)
		if ((data[i] | 0x20) == 'b' && (data[i + 1] | 0x20) == 'd' &&
		    (data[i + 2] | 0x20) == 'a' && (data[i + 3] | 0x20) == 't')
			return true;
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (run(data, size, false, false, false) != run(data, size, true, false, false))
		abort(); /* the plain-line pass changed a record */
	if (!has_bdat(data, size) &&
	    run(data, size, false, true, false) != run(data, size, false, true, true))
		abort(); /* a record depends on where the bytes were split */
	return 0;
}
