// SPDX-License-Identifier: BSD-3-Clause
/* pe record encoder: field names and order of Zeek's PE::Info (base/files/pe/main.zeek). */
#include <errno.h>
#include "mailtap/rec.h"
#include "mailtap/rec_pe.h"

int rec_pe__write(struct rec *r, const struct pe_info *pi, const char *id)
{
	char buf[32];

	if (!r || !pi || !id || !pi->has_machine)
		return -EINVAL;
	rec__begin(r, "pe", pi->ts_ns);
	rec__cstr(r, "id", id);
	rec__cstr(r, "machine", pe__machine_name(pi->machine, buf));
	rec__time(r, "compile_ts", (uint64_t)pi->compile_ts * 1000000000ULL);
	if (pi->has_optional) {
		rec__cstr(r, "os", pe__os_name(pi->os_major, pi->os_minor, buf));
		rec__cstr(r, "subsystem", pe__subsystem_name(pi->subsystem, buf));
	}
	rec__bool(r, "is_exe", pi->is_exe);
	rec__bool(r, "is_64bit", pi->is_64bit);
	rec__bool(r, "uses_aslr", pi->uses_aslr);
	rec__bool(r, "uses_dep", pi->uses_dep);
	rec__bool(r, "uses_code_integrity", pi->uses_code_integrity);
	rec__bool(r, "uses_seh", pi->uses_seh);
	if (pi->has_optional) {
		rec__bool(r, "has_import_table", pi->has_import_table);
		rec__bool(r, "has_export_table", pi->has_export_table);
		rec__bool(r, "has_cert_table", pi->has_cert_table);
		rec__bool(r, "has_debug_data", pi->has_debug_data);
	}
	if (pi->has_section_names) {
		rec__arr_begin(r, "section_names");
		for (uint32_t i = 0; i < pi->n_sections; i++)
			rec__arr_cstr(r, pi->sections[i]);
		rec__arr_end(r);
	}
	return rec__end(r);
}
