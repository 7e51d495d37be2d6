/* SPDX-License-Identifier: BSD-3-Clause */
/* The `pe` record (Zeek PE::Info, pe.log) built from a struct pe_info. */
#ifndef MAILTAP_REC_PE_H
#define MAILTAP_REC_PE_H

#include "mailtap/pe.h"

struct rec;

/* Writes one "pe" record: ts id machine compile_ts os subsystem is_exe is_64bit uses_aslr
 * uses_dep uses_code_integrity uses_seh has_import_table has_export_table has_cert_table
 * has_debug_data section_names (unset optional fields omitted). `id` is the file's fuid.
 * Returns rec__end()'s result. */
int rec_pe__write(struct rec *r, const struct pe_info *pi, const char *id);

#endif
