/* SPDX-License-Identifier: BSD-3-Clause */
/* Portable Executable headers of a file (Zeek's PE file analyzer, base/files/pe): fed the
 * file's bytes from its first one, in chunks of any size, it reads the DOS header, the NT
 * headers (file header and optional header) and the section table, as Zeek's binpac grammar
 * does, and keeps what Zeek's pe.log says of them. No byte is buffered beyond the first 280 of
 * the NT headers; the DOS stub and the rest of the optional header are counted, not kept.
 *
 * Zeek's semantics kept (docs/files.md):
 *  - Zeek's grammar reads the headers one after the other, not at the offsets they give: the NT
 *    headers start at max(e_lfanew, 64), the section table right after the optional header's
 *    SizeOfOptionalHeader bytes. The "PE\0\0" signature and the DOS header's "MZ" are not
 *    checked.
 *  - Each of binpac's frames (the DOS header, the DOS stub, the NT headers, the section table)
 *    is read once it is whole: a file that ends inside the section table has no section names.
 *  - An optional header whose fields do not fit in SizeOfOptionalHeader ends the analysis
 *    (binpac's out-of-bound exception) after the file header; one with a magic other than
 *    0x10b, 0x107 or 0x20b gives no optional header fields but the sections still follow.
 *  - A DOS stub longer than binpac's flow buffer (BinPAC::flowbuffer_capacity_max, 10 MiB)
 *    ends it too; so does a gap in the file (the analyzer's Undelivered).
 *  - pe.log's record exists once the file header was read (`machine` set). */
#ifndef MAILTAP_PE_H
#define MAILTAP_PE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Zeek's BinPAC::flowbuffer_capacity_max: the longest frame binpac buffers. */
#define PE_MAX_FRAME (10u << 20)
/* Section names kept per file (more are counted, not kept); Zeek's log keeps 100 of them
 * (Log::default_max_field_container_elements). */
#define PE_MAX_SECTIONS_DEFAULT 1000u

/* What Zeek's PE::Info holds (pe.log). Unset &optional fields: has_* false. */
struct pe_info {
	uint64_t ts_ns; /* the first header event: the DOS header read */
	bool has_machine;
	uint16_t machine;
	uint32_t compile_ts; /* TimeDateStamp, seconds */
	bool is_exe, is_64bit;
	bool has_optional; /* os, subsystem, the four tables */
	uint16_t os_major, os_minor, subsystem;
	bool uses_aslr, uses_dep, uses_code_integrity, uses_seh;
	bool has_import_table, has_export_table, has_cert_table, has_debug_data;
	bool has_section_names;
	uint32_t n_sections;   /* names in `sections` */
	uint32_t sections_cut; /* names beyond max_sections, not kept */
	char (*sections)[9];   /* NUL-terminated, cut at the name's first NUL */
};

struct pe;

/* max_sections: section names kept (0: PE_MAX_SECTIONS_DEFAULT). NULL without memory. */
struct pe *pe__new(uint32_t max_sections);
void pe__free(struct pe *p);
/* The file's next `len` bytes, seen at ts_ns. Returns false once nothing more is needed (the
 * section table read, or the analysis ended); further calls then do nothing. */
bool pe__data(struct pe *p, const uint8_t *buf, size_t len, uint64_t ts_ns);
/* A gap in the file: the analysis ends with what it has. */
void pe__stop(struct pe *p);
bool pe__done(const struct pe *p);
/* What a pe record would say now; NULL while the file header was not read (no record). */
const struct pe_info *pe__info(const struct pe *p);

/* Zeek's names (base/files/pe/consts.zeek), "unknown-N" (decimal) for other values. The
 * buffer must hold 32 bytes; returns it. */
const char *pe__machine_name(uint16_t machine, char *buf);
const char *pe__os_name(uint16_t major, uint16_t minor, char *buf);
const char *pe__subsystem_name(uint16_t subsystem, char *buf);

/* Process-wide counters (all engines). */
struct pe_stats {
	uint64_t files;		/* PE analyses begun (files sniffed application/x-dosexec) */
	uint64_t headers;	/* with a file header read: a pe record */
	uint64_t optional_bad;	/* optional header larger than SizeOfOptionalHeader */
	uint64_t stub_too_long; /* DOS stub over PE_MAX_FRAME */
	uint64_t sections_cut;	/* section names beyond max_sections */
};
void pe__stats(struct pe_stats *out);

#endif
