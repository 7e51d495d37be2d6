// SPDX-License-Identifier: BSD-3-Clause
/* libFuzzer target for pe.c: any bytes as a file's start (after the first two, which pick the
 * chunk size and the kept-names limit). The parse fed whole and fed in chunks gives the same
 * pe_info; names stay within their 9 bytes and the kept limit; the record encodes; once done,
 * more bytes change nothing. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "mailtap/pe.h"
#include "mailtap/rec.h"
#include "mailtap/rec_pe.h"

static struct rec_out *out;
static struct rec *rec;

static int same(const struct pe_info *a, const struct pe_info *b)
{
	if (!a || !b)
		return a == b;
	if (a->ts_ns != b->ts_ns || a->machine != b->machine || a->compile_ts != b->compile_ts ||
	    a->is_exe != b->is_exe || a->is_64bit != b->is_64bit ||
	    a->has_optional != b->has_optional || a->os_major != b->os_major ||
	    a->os_minor != b->os_minor || a->subsystem != b->subsystem ||
	    a->uses_aslr != b->uses_aslr || a->uses_dep != b->uses_dep ||
	    a->uses_code_integrity != b->uses_code_integrity || a->uses_seh != b->uses_seh ||
	    a->has_import_table != b->has_import_table ||
	    a->has_export_table != b->has_export_table || a->has_cert_table != b->has_cert_table ||
	    a->has_debug_data != b->has_debug_data ||
	    a->has_section_names != b->has_section_names || a->n_sections != b->n_sections ||
	    a->sections_cut != b->sections_cut)
		return 0;
	for (uint32_t i = 0; i < a->n_sections; i++)
		if (strcmp(a->sections[i], b->sections[i]))
			return 0;
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pe *whole, *parts;
	size_t step;
	uint32_t max;
	const struct pe_info *in;

	if (size < 2)
		return 0;
	if (!out) {
		out = rec_out__new("mailtap"); /* no sink: records are built and dropped */
		rec = rec__new(out);
	}
	step = (size_t)data[0] % 97 + 1;
	max = (uint32_t)data[1] % 8 + 1;
	data += 2, size -= 2;
	whole = pe__new(max);
	parts = pe__new(max);
	if (!whole || !parts)
		abort();
	pe__data(whole, data, size, 1);
	for (size_t off = 0; off < size; off += step)
		pe__data(parts, data + off, size - off < step ? size - off : step, 1);
	in = pe__info(whole);
	if (!same(in, pe__info(parts)))
		abort();
	if (in) {
		if (in->n_sections > max)
			abort();
		for (uint32_t i = 0; i < in->n_sections; i++)
			if (strlen(in->sections[i]) > 8)
				abort();
		(void)rec_pe__write(rec, in, "Ffuzz"); /* an error at worst, never a crash */
	}
	if (pe__done(whole)) {
		pe__data(whole, data, size, 2);
		if (!same(in, pe__info(whole)))
			abort();
	}
	pe__free(whole);
	pe__free(parts);
	return 0;
}
