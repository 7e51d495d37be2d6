// SPDX-License-Identifier: BSD-3-Clause
/* pe.c + rec_pe.c: Zeek's pe.log values for PE32, PE32+, ROM and bad optional-header magics,
 * objects, short optional headers, a huge RVA count, e_lfanew below 64 and over binpac's
 * frame limit, truncated section tables, section names (8 bytes, inner NUL), the kept-names
 * limit, a gap, the DOS header's time, Zeek's "unknown-N" names, and the same result for
 * every split of the input; then files.c: an application/x-dosexec file gets "PE" in its
 * analyzers and a pe record, written before its files record, with the file's fuid. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "mailtap/files.h"
#include "mailtap/ids.h"
#include "mailtap/pe.h"
#include "mailtap/rec.h"
#include "mailtap/rec_pe.h"
#include "mailtap/session.h"
#include "last_record.h"

/* ---- synthetic images ---- */
struct img {
	uint32_t lfanew; /* e_lfanew; the NT headers go at max(lfanew, 64) */
	uint16_t machine, nsec, soh, chars;
	uint32_t ts;
	uint16_t magic, os_major, os_minor, subsystem, dll;
	uint32_t nrva;
	uint32_t sizes[16]; /* data directory sizes */
	const char *names[8];
	size_t name_len[8]; /* 0: strlen */
};

static void put16(uint8_t *b, uint16_t v)
{
	b[0] = (uint8_t)v, b[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *b, uint32_t v)
{
	put16(b, (uint16_t)v), put16(b + 2, (uint16_t)(v >> 16));
}

/* Builds the image into a new buffer; *len its length. */
static uint8_t *build(const struct img *m, size_t *len)
{
	size_t nt = m->lfanew > 64 ? m->lfanew : 64;
	size_t n = nt + 24 + m->soh + (size_t)m->nsec * 40 + 64;
	uint8_t *b = calloc(1, n), *o;
	uint32_t base = m->magic == 0x10b || m->magic == 0x20b ? 32 : 28;
	uint32_t mem = m->magic == 0x10b ? 16 : m->magic == 0x20b ? 32 : 0;

	assert_non_null(b);
	b[0] = 'M', b[1] = 'Z';
	put32(b + 60, m->lfanew);
	for (size_t i = 64; i < nt; i++)
		b[i] = (uint8_t)(0x40 + i % 17); /* the stub */
	memcpy(b + nt, "PE\0\0", 4);
	put16(b + nt + 4, m->machine);
	put16(b + nt + 6, m->nsec);
	put32(b + nt + 8, m->ts);
	put16(b + nt + 20, m->soh);
	put16(b + nt + 22, m->chars);
	o = b + nt + 24;
	if (m->soh >= 2)
		put16(o, m->magic);
	if (m->soh >= base + 40 + mem + 8) {
		put16(o + base + 8, m->os_major);
		put16(o + base + 10, m->os_minor);
		put16(o + base + 36, m->subsystem);
		put16(o + base + 38, m->dll);
		put32(o + base + 44 + mem, m->nrva);
		for (uint32_t i = 0; i < m->nrva && i < 16 && base + 48 + mem + 8 * i + 8 <= m->soh;
		     i++)
			put32(o + base + 48 + mem + 8 * i + 4, m->sizes[i]);
	}
	for (unsigned i = 0; i < m->nsec && i < 8; i++) {
		uint8_t *s = o + m->soh + 40 * i;
		size_t l = m->name_len[i] ? m->name_len[i] : strlen(m->names[i] ? m->names[i] : "");

		if (m->names[i])
			memcpy(s, m->names[i], l > 8 ? 8 : l);
		put32(s + 36, 0x60000020); /* characteristics: not looked at */
	}
	*len = nt + 24 + m->soh + (size_t)m->nsec * 40;
	memset(b + *len, 0xcc, n - *len); /* what follows the headers */
	*len = n;
	return b;
}

/* A PE32+ executable as a linker writes one. */
static struct img exe64(void)
{
	struct img m = {.lfanew = 0x80,
			.machine = 0x8664,
			.nsec = 3,
			.soh = 240,
			.chars = 0x22,
			.ts = 1700000000,
			.magic = 0x20b,
			.os_major = 6,
			.os_minor = 1,
			.subsystem = 3,
			.dll = 0x8160,
			.nrva = 16,
			.names = {".text", ".rdata", ".data"}};

	m.sizes[1] = 0x50, m.sizes[6] = 0x1c;
	return m;
}

static struct pe *feed(const uint8_t *b, size_t n, size_t step, uint64_t ts)
{
	struct pe *p = pe__new(0);

	assert_non_null(p);
	for (size_t off = 0; off < n; off += step)
		pe__data(p, b + off, n - off < step ? n - off : step, ts);
	return p;
}

/* The image parsed in chunks of `step` bytes (0: whole), every chunk seen at ts 1. */
static struct pe *parse(const struct img *m, size_t step)
{
	size_t n;
	uint8_t *b = build(m, &n);
	struct pe *p = feed(b, n, step ? step : n, 1);

	free(b);
	return p;
}

static void test_pe32plus(void **st)
{
	struct img m = exe64();
	size_t n;
	uint8_t *b = build(&m, &n);
	struct pe *p = feed(b, n, n, 7);
	const struct pe_info *in = pe__info(p);
	char buf[32];

	(void)st;
	assert_non_null(in);
	assert_true(pe__done(p));
	assert_int_equal(in->ts_ns, 7);
	assert_string_equal(pe__machine_name(in->machine, buf), "AMD64");
	assert_int_equal(in->compile_ts, 1700000000);
	assert_true(in->is_exe);
	assert_true(in->is_64bit);
	assert_true(in->has_optional);
	assert_string_equal(pe__os_name(in->os_major, in->os_minor, buf),
			    "Windows 7 or Server 2008 R2");
	assert_string_equal(pe__subsystem_name(in->subsystem, buf), "WINDOWS_CUI");
	assert_true(in->uses_aslr);
	assert_true(in->uses_dep);
	assert_false(in->uses_code_integrity);
	assert_true(in->uses_seh);
	assert_false(in->has_export_table);
	assert_true(in->has_import_table);
	assert_false(in->has_cert_table);
	assert_true(in->has_debug_data);
	assert_true(in->has_section_names);
	assert_int_equal(in->n_sections, 3);
	assert_string_equal(in->sections[0], ".text");
	assert_string_equal(in->sections[1], ".rdata");
	assert_string_equal(in->sections[2], ".data");
	pe__free(p);
	free(b);
}

/* PE32: base_of_data and 16 bytes of stack and heap sizes move every later field. */
static void test_pe32(void **st)
{
	struct img m = exe64();
	struct pe *p;
	const struct pe_info *in;

	(void)st;
	m.magic = 0x10b, m.soh = 224, m.machine = 0x14c, m.chars = 0x102; /* 32BIT_MACHINE */
	m.dll = 0x0480; /* FORCE_INTEGRITY, NO_SEH */
	m.sizes[0] = 1, m.sizes[1] = 0, m.sizes[4] = 0x2000, m.sizes[6] = 0;
	p = parse(&m, 0);
	in = pe__info(p);
	assert_non_null(in);
	assert_int_equal(in->machine, 0x14c);
	assert_false(in->is_64bit);
	assert_true(in->has_optional);
	assert_int_equal(in->subsystem, 3);
	assert_int_equal(in->os_major, 6);
	assert_false(in->uses_aslr);
	assert_false(in->uses_dep);
	assert_true(in->uses_code_integrity);
	assert_false(in->uses_seh);
	assert_true(in->has_export_table);
	assert_false(in->has_import_table);
	assert_true(in->has_cert_table);
	assert_false(in->has_debug_data);
	assert_int_equal(in->n_sections, 3);
	pe__free(p);
}

/* 0x107 (ROM): neither PE32 nor PE32+ in Zeek's grammar: a 4-byte image base, no base of
 * data, no stack and heap sizes; the event is raised. */
static void test_rom_magic(void **st)
{
	struct img m = exe64();
	struct pe *p;

	(void)st;
	m.magic = 0x107, m.soh = 28 + 48 + 8 * 16;
	p = parse(&m, 100);
	assert_non_null(pe__info(p));
	assert_true(pe__info(p)->has_optional);
	assert_int_equal(pe__info(p)->os_major, 6);
	assert_int_equal(pe__info(p)->subsystem, 3);
	assert_true(pe__info(p)->has_import_table);
	assert_true(pe__info(p)->has_section_names);
	pe__free(p);
}

/* Another magic: no optional header event, but the grammar goes on to the sections. */
static void test_bad_magic(void **st)
{
	struct img m = exe64();
	struct pe *p;
	const struct pe_info *in;

	(void)st;
	m.magic = 0x1234, m.soh = 28 + 48 + 8 * 16;
	p = parse(&m, 0);
	in = pe__info(p);
	assert_non_null(in);
	assert_false(in->has_optional);
	assert_false(in->uses_aslr);
	assert_true(in->uses_seh); /* PE::Info's defaults */
	assert_true(in->has_section_names);
	assert_int_equal(in->n_sections, 3);
	pe__free(p);
}

/* Optional headers whose fields do not fit: the analysis ends after the file header. */
static void test_short_optional(void **st)
{
	struct img m = exe64();
	uint16_t sohs[] = {1, 0x40, 111, 112 + 8 * 16 - 1};
	struct pe_stats s0, s1;

	(void)st;
	for (size_t i = 0; i < sizeof(sohs) / sizeof(sohs[0]); i++) {
		struct pe *p;

		m.soh = sohs[i];
		pe__stats(&s0);
		p = parse(&m, 33);
		pe__stats(&s1);
		assert_int_equal(s1.optional_bad - s0.optional_bad, 1);
		assert_non_null(pe__info(p));
		assert_true(pe__info(p)->is_exe);
		assert_false(pe__info(p)->has_optional);
		assert_false(pe__info(p)->has_section_names);
		assert_true(pe__done(p));
		pe__free(p);
	}
	/* counts of RVAs that do not fit in SizeOfOptionalHeader, one of them 8 bytes once
	 * multiplied in 32 bits */
	for (int i = 0; i < 2; i++) {
		struct pe *p;

		m = exe64();
		m.nrva = i ? 0x20000001u : 0xffffffffu;
		p = parse(&m, 0);
		assert_false(pe__info(p)->has_optional);
		assert_false(pe__info(p)->has_section_names);
		pe__free(p);
	}
}

/* SizeOfOptionalHeader 0: an object file, is_exe F, no optional fields and no names. */
static void test_object(void **st)
{
	struct img m = exe64();
	struct pe *p;

	(void)st;
	m.soh = 0;
	p = parse(&m, 0);
	assert_non_null(pe__info(p));
	assert_false(pe__info(p)->is_exe);
	assert_false(pe__info(p)->has_optional);
	assert_false(pe__info(p)->has_section_names);
	pe__free(p);
}

/* e_lfanew below 64: the NT headers follow the DOS header, where Zeek's grammar reads them. */
static void test_lfanew_small(void **st)
{
	struct img m = exe64();
	struct pe *p;

	(void)st;
	m.lfanew = 12;
	p = parse(&m, 5);
	assert_non_null(pe__info(p));
	assert_int_equal(pe__info(p)->machine, 0x8664);
	assert_int_equal(pe__info(p)->n_sections, 3);
	pe__free(p);
}

/* A stub longer than binpac's flow buffer: no file header, no record. One just below is
 * counted through (nothing of it kept). */
static void test_stub_limit(void **st)
{
	uint8_t dos[64] = {'M', 'Z'};
	struct pe_stats s0, s1;
	struct pe *p = pe__new(0);
	struct img m = exe64();
	size_t n;
	uint8_t *b, *big;

	(void)st;
	put32(dos + 60, 64 + PE_MAX_FRAME + 1);
	pe__stats(&s0);
	assert_false(pe__data(p, dos, sizeof(dos), 1));
	pe__stats(&s1);
	assert_int_equal(s1.stub_too_long - s0.stub_too_long, 1);
	assert_null(pe__info(p));
	pe__free(p);

	m.lfanew = 64 + PE_MAX_FRAME;
	b = build(&m, &n);
	big = b;
	p = feed(big, n, 65536, 1);
	assert_non_null(pe__info(p));
	assert_int_equal(pe__info(p)->n_sections, 3);
	pe__free(p);
	free(b);
}

/* The section table is one frame: a file that ends inside it has no names. */
static void test_truncated(void **st)
{
	struct img m = exe64();
	size_t n, hdr = 0x80 + 24 + 240 + 3 * 40;
	uint8_t *b = build(&m, &n);
	struct pe *p;

	(void)st;
	p = feed(b, hdr - 1, 7, 1);
	assert_non_null(pe__info(p));
	assert_false(pe__info(p)->has_section_names);
	assert_false(pe__done(p));
	pe__free(p);
	/* ends inside the NT headers: no record at all */
	p = feed(b, 0x80 + 24 + 239, 7, 1);
	assert_null(pe__info(p));
	pe__free(p);
	/* whole: done at the table's last byte, the rest is not needed */
	p = pe__new(0);
	assert_true(pe__data(p, b, hdr - 1, 1));
	assert_false(pe__data(p, b + hdr - 1, 1, 1));
	assert_true(pe__done(p));
	assert_false(pe__data(p, b + hdr, n - hdr, 1));
	assert_true(pe__info(p)->has_section_names);
	pe__free(p);
	free(b);
}

static void test_names(void **st)
{
	struct img m = exe64();
	size_t n;
	uint8_t *b;
	struct pe *p;
	const struct pe_info *in;

	(void)st;
	m.nsec = 4;
	m.names[0] = ".textbss"; /* 8 bytes, no NUL */
	m.names[1] = "a\0b";	 /* cut at its first NUL */
	m.name_len[1] = 3;
	m.names[2] = "\xff\x01x"; /* bytes as they are: the record escapes them */
	m.names[3] = NULL;	  /* empty */
	b = build(&m, &n);
	p = feed(b, n, 3, 1);
	in = pe__info(p);
	assert_int_equal(in->n_sections, 4);
	assert_string_equal(in->sections[0], ".textbss");
	assert_string_equal(in->sections[1], "a");
	assert_string_equal(in->sections[2], "\xff\x01x");
	assert_string_equal(in->sections[3], "");
	pe__free(p);

	/* names beyond max_sections are counted, not kept */
	p = pe__new(2);
	pe__data(p, b, n, 1);
	in = pe__info(p);
	assert_int_equal(in->n_sections, 2);
	assert_int_equal(in->sections_cut, 2);
	assert_string_equal(in->sections[1], "a");
	pe__free(p);
	free(b);
}

static void assert_info_equal(const struct pe_info *a, const struct pe_info *b)
{
	assert_non_null(a);
	assert_non_null(b);
	assert_int_equal(a->ts_ns, b->ts_ns);
	assert_int_equal(a->machine, b->machine);
	assert_int_equal(a->compile_ts, b->compile_ts);
	assert_int_equal(a->is_exe, b->is_exe);
	assert_int_equal(a->is_64bit, b->is_64bit);
	assert_int_equal(a->has_optional, b->has_optional);
	assert_int_equal(a->os_major, b->os_major);
	assert_int_equal(a->os_minor, b->os_minor);
	assert_int_equal(a->subsystem, b->subsystem);
	assert_int_equal(a->uses_aslr, b->uses_aslr);
	assert_int_equal(a->uses_dep, b->uses_dep);
	assert_int_equal(a->uses_code_integrity, b->uses_code_integrity);
	assert_int_equal(a->uses_seh, b->uses_seh);
	assert_int_equal(a->has_import_table, b->has_import_table);
	assert_int_equal(a->has_export_table, b->has_export_table);
	assert_int_equal(a->has_cert_table, b->has_cert_table);
	assert_int_equal(a->has_debug_data, b->has_debug_data);
	assert_int_equal(a->has_section_names, b->has_section_names);
	assert_int_equal(a->n_sections, b->n_sections);
	for (uint32_t i = 0; i < a->n_sections; i++)
		assert_string_equal(a->sections[i], b->sections[i]);
}

/* Every split in two, every step from 1 to 64 bytes: the same result. */
static void test_splits(void **st)
{
	struct img imgs[3] = {exe64(), exe64(), exe64()};

	(void)st;
	imgs[1].magic = 0x10b, imgs[1].soh = 224, imgs[1].lfanew = 0xe8;
	imgs[2].soh = 0x40; /* short optional header */
	for (int k = 0; k < 3; k++) {
		size_t n;
		uint8_t *b = build(&imgs[k], &n);
		struct pe *whole = feed(b, n, n, 5);

		for (size_t cut = 0; cut <= n; cut++) {
			struct pe *p = pe__new(0);

			pe__data(p, b, cut, 5);
			pe__data(p, b + cut, n - cut, 5);
			assert_info_equal(pe__info(whole), pe__info(p));
			pe__free(p);
		}
		for (size_t step = 1; step <= 64; step++) {
			struct pe *p = feed(b, n, step, 5);

			assert_info_equal(pe__info(whole), pe__info(p));
			pe__free(p);
		}
		pe__free(whole);
		free(b);
	}
}

/* ts: when the DOS header became whole (pe_dos_header, hook set_file). A gap ends it all. */
static void test_ts_and_stop(void **st)
{
	struct img m = exe64();
	size_t n;
	uint8_t *b = build(&m, &n);
	struct pe *p = pe__new(0);

	(void)st;
	pe__data(p, b, 40, 100);
	pe__data(p, b + 40, 40, 200);
	pe__data(p, b + 80, n - 80, 300);
	assert_int_equal(pe__info(p)->ts_ns, 200);
	pe__free(p);

	p = pe__new(0);
	pe__data(p, b, 100, 1);
	pe__stop(p);
	assert_true(pe__done(p));
	assert_false(pe__data(p, b + 100, n - 100, 2));
	assert_null(pe__info(p));
	pe__free(p);
	free(b);
}

/* consts.zeek's tables and their &default. */
static void test_names_of_values(void **st)
{
	char buf[32];

	(void)st;
	assert_string_equal(pe__machine_name(0xaa64, buf), "ARM64");
	assert_string_equal(pe__machine_name(0x1234, buf), "unknown-4660");
	assert_string_equal(pe__os_name(10, 0, buf), "Windows 10");
	assert_string_equal(pe__os_name(4, 90, buf), "Windows Me");
	assert_string_equal(pe__os_name(7, 7, buf), "unknown-7.7");
	assert_string_equal(pe__subsystem_name(10, buf), "EFI_APPLICATION");
	assert_string_equal(pe__subsystem_name(5, buf), "unknown-5");
	assert_string_equal(pe__subsystem_name(65535, buf), "unknown-65535");
}

/* The record: PE::Info's fields in order, optional ones only when set. */
static void test_record(void **st)
{
	struct rec_out *out = rec_out__new("mailtap");
	struct rec *r;
	struct img m = exe64();
	size_t n;
	uint8_t *b = build(&m, &n);
	struct pe *p = feed(b, n, n, 1500000000ULL * 1000000000ULL + 250000000ULL);

	(void)st;
	assert_int_equal(rec_out__add_sink(out, &rec_sink), 0);
	r = rec__new(out);
	assert_int_equal(rec_pe__write(r, pe__info(p), "Fabc"), 0);
	assert_string_equal(rec_tag, "mailtap.pe");
	assert_string_equal(
	    rec_last,
	    "{\"ts\"=>1500000000.250000, \"id\"=>\"Fabc\", \"machine\"=>\"AMD64\", "
	    "\"compile_ts\"=>1700000000.000000, \"os\"=>\"Windows 7 or Server 2008 R2\", "
	    "\"subsystem\"=>\"WINDOWS_CUI\", \"is_exe\"=>true, \"is_64bit\"=>true, "
	    "\"uses_aslr\"=>true, \"uses_dep\"=>true, \"uses_code_integrity\"=>false, "
	    "\"uses_seh\"=>true, \"has_import_table\"=>true, \"has_export_table\"=>false, "
	    "\"has_cert_table\"=>false, \"has_debug_data\"=>true, "
	    "\"section_names\"=>[\".text\", \".rdata\", \".data\"]}");
	pe__free(p);
	/* an object: no os, subsystem, tables or names */
	m.soh = 0;
	free(b);
	b = build(&m, &n);
	p = feed(b, n, n, 1000000000ULL);
	assert_int_equal(rec_pe__write(r, pe__info(p), "Fdef"), 0);
	assert_string_equal(rec_last,
			    "{\"ts\"=>1.000000, \"id\"=>\"Fdef\", \"machine\"=>\"AMD64\", "
			    "\"compile_ts\"=>1700000000.000000, \"is_exe\"=>false, "
			    "\"is_64bit\"=>true, \"uses_aslr\"=>false, \"uses_dep\"=>false, "
			    "\"uses_code_integrity\"=>false, \"uses_seh\"=>true}");
	assert_int_equal(rec_pe__write(r, NULL, "F"), -EINVAL);
	pe__free(p);
	free(b);
	rec__free(r);
	rec_out__free(out);
}

/* files.c: sniffed application/x-dosexec -> "PE" analyzer, pe record first, its id the fuid;
 * other files get neither; --no-pe (cfg.pe false) neither. */
static char tags[256], pe_last[sizeof(rec_last)];

static int seq_write(struct sink *sk, const char *tag, size_t tl, uint64_t ts, const uint8_t *b,
		     size_t n)
{
	snprintf(tags + strlen(tags), sizeof(tags) - strlen(tags), "%.*s ", (int)tl, tag);
	rec_last_write(sk, tag, tl, ts, b, n);
	if (!strcmp(rec_tag, "mailtap.pe"))
		snprintf(pe_last, sizeof(pe_last), "%s", rec_last);
	return 0;
}

static const struct sink_ops seq_ops = {
    .name = "seq", .write = seq_write, .flush = rec_last_flush, .close = rec_last_flush};
static struct sink seq_sink = {.ops = &seq_ops};

/* Returns the file's fuid (static). */
static const char *run_file(bool pe_on, const uint8_t *b, size_t n)
{
	static char fuid[32];
	struct rec_out *out = rec_out__new("mailtap");
	struct mt_ids ids;
	struct conn_id cid = {.orig_p = 1, .resp_p = 25, .proto = 6};
	struct mt_session s = {.uid = "Cabc", .id = &cid, .local_orig = 1, .local_resp = 0};
	struct files_cfg cfg;
	struct mt_file *f;

	tags[0] = pe_last[0] = '\0';
	assert_int_equal(rec_out__add_sink(out, &seq_sink), 0);
	mt_ids__init(&ids, 1, 42);
	s.ids = &ids;
	s.rec = rec__new(out);
	files_cfg__default(&cfg);
	cfg.pe = pe_on;
	f = files__open(&s, &cfg, 1000000000ULL, "SMTP", true, 1);
	assert_non_null(f);
	snprintf(fuid, sizeof(fuid), "%s", files__fuid(f));
	for (size_t off = 0; off < n; off += 1000)
		files__data(f, b + off, n - off < 1000 ? n - off : 1000, 2000000000ULL + off);
	files__close(f, 9000000000ULL);
	rec__free(s.rec);
	rec_out__free(out);
	return fuid;
}

static void test_files_attach(void **st)
{
	struct img m = exe64();
	size_t n;
	uint8_t *b;
	const char *fuid;
	char want[64];
	uint8_t text[5000];

	(void)st;
	m.lfanew = 5000; /* the NT headers beyond the 4096-byte bof buffer */
	b = build(&m, &n);
	fuid = run_file(true, b, n);
	assert_string_equal(tags, "mailtap.pe mailtap.files ");
	assert_non_null(strstr(rec_last, "\"analyzers\"=>[\"MD5\", \"SHA1\", \"PE\"]"));
	assert_non_null(strstr(rec_last, "\"mime_type\"=>\"application/x-dosexec\""));
	snprintf(want, sizeof(want), "\"id\"=>\"%s\"", fuid);
	assert_non_null(strstr(pe_last, want));
	/* sniffed when the 4096th byte came (in the chunk at offset 4000): the DOS header's
	 * event is raised then, with the buffered start */
	assert_non_null(strstr(pe_last, "\"ts\"=>2.000004,"));
	assert_non_null(strstr(pe_last, "\"section_names\"=>[\".text\", \".rdata\", \".data\"]"));
	/* a file shorter than the bof buffer: sniffed, and analysed, at its end */
	m.lfanew = 0x80;
	free(b);
	b = build(&m, &n);
	run_file(true, b, n);
	assert_string_equal(tags, "mailtap.pe mailtap.files ");
	assert_non_null(strstr(pe_last, "\"ts\"=>9.000000,"));
	run_file(false, b, n);
	assert_string_equal(tags, "mailtap.files ");
	assert_non_null(strstr(rec_last, "\"analyzers\"=>[\"MD5\", \"SHA1\"]"));
	free(b);
	memset(text, 'a', sizeof(text));
	run_file(true, text, sizeof(text));
	assert_string_equal(tags, "mailtap.files ");
	assert_null(strstr(rec_last, "PE"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pe32plus),	    cmocka_unit_test(test_pe32),
	    cmocka_unit_test(test_rom_magic),	    cmocka_unit_test(test_bad_magic),
	    cmocka_unit_test(test_short_optional),  cmocka_unit_test(test_object),
	    cmocka_unit_test(test_lfanew_small),    cmocka_unit_test(test_stub_limit),
	    cmocka_unit_test(test_truncated),	    cmocka_unit_test(test_names),
	    cmocka_unit_test(test_splits),	    cmocka_unit_test(test_ts_and_stop),
	    cmocka_unit_test(test_names_of_values), cmocka_unit_test(test_record),
	    cmocka_unit_test(test_files_attach),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
