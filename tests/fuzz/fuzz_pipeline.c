// SPDX-License-Identifier: BSD-3-Clause
/* libFuzzer target for the whole packet path: decode -> flow -> reassembly -> every parser ->
 * records. The input is a sequence of frames, each a 2-byte big-endian length, a 1-byte link
 * type selector and the frame bytes; timestamps advance 1 ms per frame. Records go to a sink
 * that checks each is a msgpack map. Seeds: the corpus' pcaps converted by
 * tools/fuzz.sh (pcap2fuzz). */
#include <pcap/dlt.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "mailtap/engine.h"
#include "mailtap/log.h"
#include "mailtap/rec.h"
#include "mailtap/sink.h"
#include "mailtap/tunnels.h"
#include "fuzz_parsers.h"
#include "../unit/record_check.h"

struct check_sink {
	struct sink base;
	uint64_t n;
};

static int cs_write(struct sink *s, const char *tag, size_t tl, uint64_t ts, const uint8_t *map,
		    size_t len)
{
	(void)tag, (void)tl, (void)ts;
	if (!record_is_one_map(map, len))
		abort();
	((struct check_sink *)s)->n++;
	return 0;
}

static int cs_flush(struct sink *s)
{
	(void)s;
	return 0;
}

static int cs_close(struct sink *s)
{
	(void)s;
	return 0;
}

static const struct sink_ops cs_ops = {
	.name = "check", .write = cs_write, .flush = cs_flush, .close = cs_close
};
static const int linktypes[4] = { DLT_EN10MB, DLT_RAW, DLT_NULL, DLT_LINUX_SLL };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct check_sink cs = { .base = { &cs_ops } };
	struct rec_out *out = rec_out__new("mailtap");
	struct engine_cfg cfg;
	struct tunnels_limits tl = { .max = 4, .expire_ns = 10000000 }; /* 10 packets */
	struct engine *e;
	uint64_t ts = 1700000000ULL * 1000000000ULL;
	size_t off = 0;

	log__set_level(LOG_WARN);
	engine_cfg__default(&cfg);
	cfg.seeded = true;
	cfg.seed = 1;
	cfg.flow.max_flows = 64;
	cfg.reasm.max_total_bytes = 1 << 20;
	rec_out__add_sink(out, &cs.base);
	rec_out__enable(out, "smtp_events");
	cfg.tunnels = tunnels__new(&tl, out, true, 1);
	cfg.intel = fuzz_intel();
	e = engine__new(&cfg, out);
	fuzz_register_parsers(e);
	while (off + 3 <= size) {
		size_t n = (size_t)data[off] << 8 | data[off + 1];
		struct pkt_raw raw;

		raw.linktype = linktypes[data[off + 2] & 3];
		off += 3;
		if (n > size - off)
			n = size - off;
		raw.data = data + off;
		raw.caplen = raw.wirelen = (uint32_t)n;
		raw.ts_ns = ts;
		ts += 1000000;
		engine__packet(e, &raw);
		off += n;
	}
	engine__finish(e);
	tunnels__finish(cfg.tunnels, ts);
	engine__free(e);
	tunnels__free(cfg.tunnels);
	rec_out__free(out);
	return 0;
}
