// SPDX-License-Identifier: BSD-3-Clause
/* Portable Executable headers, read as Zeek's binpac PE grammar reads them (pe.h). A small state
 * machine over the file's bytes: the 64-byte DOS header, the stub up to e_lfanew (counted),
 * the NT headers (the first PE_KEEP bytes kept, the rest counted), the section table (the
 * first 8 bytes of each 40-byte entry kept). */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mailtap/pe.h"

#define DOS_LEN 64
#define NT_FIXED 24 /* "PE\0\0" and the 20-byte file header */
/* Bytes of the NT headers kept: the fixed part and the optional header up to the debug
 * directory's entry (at most 112 + 7 * 8 bytes in, for PE32+). */
#define PE_KEEP (NT_FIXED + 256)
#define SECT_LEN 40

enum pe_state { S_DOS, S_STUB, S_NT, S_SECT, S_DONE };

struct pe {
	enum pe_state st;
	uint32_t max_sections;
	uint32_t have;	/* S_DOS, S_NT: bytes in buf */
	uint64_t left;	/* S_STUB: stub bytes still to come */
	uint64_t frame; /* S_NT, S_SECT: the frame's length (S_NT: 0 until known) */
	uint64_t got;	/* S_NT, S_SECT: bytes of the frame seen */
	uint16_t nsec;	/* NumberOfSections */
	uint32_t kept;	/* entries of info.sections allocated */
	bool have_info; /* the file header was read */
	struct pe_info info;
	uint8_t buf[PE_KEEP];
};

static _Atomic uint64_t st_files, st_headers, st_opt_bad, st_stub_long, st_sect_cut;

void pe__stats(struct pe_stats *o)
{
	o->files = atomic_load(&st_files);
	o->headers = atomic_load(&st_headers);
	o->optional_bad = atomic_load(&st_opt_bad);
	o->stub_too_long = atomic_load(&st_stub_long);
	o->sections_cut = atomic_load(&st_sect_cut);
}

static uint16_t le16(const uint8_t *b)
{
	return (uint16_t)(b[0] | b[1] << 8);
}

static uint32_t le32(const uint8_t *b)
{
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

struct pe *pe__new(uint32_t max_sections)
{
	struct pe *p = calloc(1, sizeof(*p));

	if (!p) {
		errno = ENOMEM;
		return NULL;
	}
	p->max_sections = max_sections ? max_sections : PE_MAX_SECTIONS_DEFAULT;
	/* PE::Info's defaults */
	p->info.is_exe = true;
	p->info.is_64bit = true;
	p->info.uses_seh = true;
	atomic_fetch_add(&st_files, 1);
	return p;
}

void pe__free(struct pe *p)
{
	if (!p)
		return;
	free(p->info.sections);
	free(p);
}

/* The DOS header is whole (pe_dos_header: the record's ts); the stub follows. */
static void dos_done(struct pe *p, uint64_t ts_ns)
{
	uint32_t lfanew = le32(p->buf + 60);

	p->info.ts_ns = ts_ns;
	p->left = lfanew > DOS_LEN ? lfanew - DOS_LEN : 0;
	if (p->left > PE_MAX_FRAME) { /* binpac cannot buffer the stub's frame */
		atomic_fetch_add(&st_stub_long, 1);
		p->st = S_DONE;
		return;
	}
	p->st = p->left ? S_STUB : S_NT;
	p->have = 0;
}

/* The optional header (pe_optional_header), `len` = SizeOfOptionalHeader bytes at o, of which
 * the first `avail` are in the buffer. False when its fields do not fit in `len`: binpac's
 * out-of-bound exception ends the analysis. */
static bool optional_header(struct pe *p, const uint8_t *o, uint32_t len)
{
	struct pe_info *in = &p->info;
	uint16_t magic, dll;
	uint32_t base, mem, num;
	uint64_t fixed;
	const uint8_t *rv;

	if (len < 2)
		return false;
	magic = le16(o);
	/* base_of_data only in PE32; image_base 8 bytes in PE32+; the stack and heap sizes
	 * 16 bytes in PE32, 32 in PE32+, none in any other format (0x107 included) */
	base = magic == 0x10b || magic == 0x20b ? 32 : 28;
	mem = magic == 0x10b ? 16 : magic == 0x20b ? 32 : 0;
	fixed = (uint64_t)base + 40 + mem + 8;
	if (len < fixed)
		return false;
	num = le32(o + base + 44 + mem);
	if (fixed + 8ull * num > len)
		return false;
	if (magic != 0x10b && magic != 0x107 && magic != 0x20b)
		return true; /* no event, the grammar goes on */
	in->has_optional = true;
	in->os_major = le16(o + base + 8);
	in->os_minor = le16(o + base + 10);
	in->subsystem = le16(o + base + 36);
	dll = le16(o + base + 38);
	in->uses_aslr = dll & 0x40;	      /* DYNAMIC_BASE */
	in->uses_code_integrity = dll & 0x80; /* FORCE_INTEGRITY */
	in->uses_dep = dll & 0x100;	      /* NX_COMPAT */
	in->uses_seh = !(dll & 0x400);	      /* NO_SEH */
	rv = o + base + 48 + mem;	      /* RVA and size pairs: the sizes tell */
	in->has_export_table = num > 0 && le32(rv + 4) > 0;
	in->has_import_table = num > 1 && le32(rv + 8 + 4) > 0;
	in->has_cert_table = num > 4 && le32(rv + 32 + 4) > 0;
	in->has_debug_data = num > 6 && le32(rv + 48 + 4) > 0;
	return true;
}

/* The NT headers' frame is whole: the file header (pe_file_header), then the optional header. */
static void nt_done(struct pe *p)
{
	struct pe_info *in = &p->info;
	const uint8_t *b = p->buf;
	uint16_t soh = le16(b + 20);

	in->has_machine = true;
	in->machine = le16(b + 4);
	in->compile_ts = le32(b + 8);
	in->is_exe = soh > 0;
	in->is_64bit = !(le16(b + 22) & 0x100); /* 32BIT_MACHINE */
	p->have_info = true;
	atomic_fetch_add(&st_headers, 1);
	p->nsec = le16(b + 6);
	if (!optional_header(p, b + NT_FIXED, soh)) {
		atomic_fetch_add(&st_opt_bad, 1);
		p->st = S_DONE;
		return;
	}
	p->frame = (uint64_t)p->nsec * SECT_LEN;
	p->got = 0;
	if (!p->frame) {
		p->st = S_DONE;
		return;
	}
	p->kept = p->nsec < p->max_sections ? p->nsec : p->max_sections;
	in->sections = calloc(p->kept, sizeof(*in->sections));
	if (!in->sections)
		p->kept = 0;
	p->st = S_SECT;
}

/* The section table's frame is whole: its names (pe_section_header, only for executables). */
static void sections_done(struct pe *p)
{
	struct pe_info *in = &p->info;

	p->st = S_DONE;
	if (!in->is_exe)
		return;
	in->has_section_names = true;
	in->n_sections = p->kept;
	in->sections_cut = p->nsec - p->kept;
	if (in->sections_cut)
		atomic_fetch_add(&st_sect_cut, in->sections_cut);
	for (uint32_t i = 0; i < p->kept; i++)
		in->sections[i][8] = '\0'; /* the name ends at its first NUL (calloc'd) */
}

/* S_SECT: the first 8 bytes of each kept entry are its name. */
static size_t sect_take(struct pe *p, const uint8_t *buf, size_t len)
{
	size_t take = p->frame - p->got < len ? (size_t)(p->frame - p->got) : len;
	size_t i = 0;

	while (i < take) {
		uint64_t idx = (p->got + i) / SECT_LEN;
		uint32_t pos = (uint32_t)((p->got + i) % SECT_LEN);
		size_t n = SECT_LEN - pos;

		if (n > take - i)
			n = take - i;
		if (pos < 8 && idx < p->kept) {
			size_t c = 8 - pos < n ? 8 - pos : n;

			memcpy(&p->info.sections[idx][pos], buf + i, c);
		}
		i += n;
	}
	p->got += take;
	return take;
}

bool pe__data(struct pe *p, const uint8_t *buf, size_t len, uint64_t ts_ns)
{
	if (!p)
		return false;
	while (len && p->st != S_DONE) {
		size_t take = 0;

		switch (p->st) {
		case S_DOS:
			take = DOS_LEN - p->have < len ? DOS_LEN - p->have : len;
			memcpy(p->buf + p->have, buf, take);
			p->have += (uint32_t)take;
			if (p->have == DOS_LEN)
				dos_done(p, ts_ns);
			break;
		case S_STUB:
			take = p->left < len ? (size_t)p->left : len;
			p->left -= take;
			if (!p->left) { /* the NT headers begin */
				p->st = S_NT;
				p->have = 0;
				p->frame = p->got = 0;
			}
			break;
		case S_NT:
			if (!p->frame) { /* the fixed part first: it gives the frame's length */
				take = NT_FIXED - p->have < len ? NT_FIXED - p->have : len;
				memcpy(p->buf + p->have, buf, take);
				p->have += (uint32_t)take;
				p->got += take;
				if (p->have == NT_FIXED)
					p->frame = NT_FIXED + (uint64_t)le16(p->buf + 20);
			} else {
				take = p->frame - p->got < len ? (size_t)(p->frame - p->got) : len;
				if (p->have < PE_KEEP) {
					size_t c =
					    PE_KEEP - p->have < take ? PE_KEEP - p->have : take;

					memcpy(p->buf + p->have, buf, c);
					p->have += (uint32_t)c;
				}
				p->got += take;
			}
			if (p->frame && p->got == p->frame)
				nt_done(p);
			break;
		case S_SECT:
			take = sect_take(p, buf, len);
			if (p->got == p->frame)
				sections_done(p);
			break;
		case S_DONE:
			break;
		}
		buf += take;
		len -= take;
	}
	return p->st != S_DONE;
}

void pe__stop(struct pe *p)
{
	if (p)
		p->st = S_DONE;
}

bool pe__done(const struct pe *p)
{
	return !p || p->st == S_DONE;
}

const struct pe_info *pe__info(const struct pe *p)
{
	return p && p->have_info ? &p->info : NULL;
}

/* base/files/pe/consts.zeek */
static const struct {
	uint16_t v;
	const char *name;
} machines[] = {
    {0x0, "UNKNOWN"},	  {0x1d3, "AM33"},	{0x8664, "AMD64"},    {0x1c0, "ARM"},
    {0x1c4, "ARMNT"},	  {0xaa64, "ARM64"},	{0xebc, "EBC"},	      {0x14c, "I386"},
    {0x200, "IA64"},	  {0x9041, "M32R"},	{0x266, "MIPS16"},    {0x366, "MIPSFPU"},
    {0x466, "MIPSFPU16"}, {0x1f0, "POWERPC"},	{0x1f1, "POWERPCFP"}, {0x166, "R4000"},
    {0x1a2, "SH3"},	  {0x1a3, "SH3DSP"},	{0x1a6, "SH4"},	      {0x1a8, "SH5"},
    {0x1c2, "THUMB"},	  {0x169, "WCEMIPSV2"},
};

static const struct {
	uint16_t major, minor;
	const char *name;
} os_versions[] = {
    {10, 0, "Windows 10"},
    {6, 4, "Windows 10 Technical Preview"},
    {6, 3, "Windows 8.1 or Server 2012 R2"},
    {6, 2, "Windows 8 or Server 2012"},
    {6, 1, "Windows 7 or Server 2008 R2"},
    {6, 0, "Windows Vista or Server 2008"},
    {5, 2, "Windows XP x64 or Server 2003"},
    {5, 1, "Windows XP"},
    {5, 0, "Windows 2000"},
    {4, 90, "Windows Me"},
    {4, 10, "Windows 98"},
    {4, 0, "Windows 95 or NT 4.0"},
    {3, 51, "Windows NT 3.51"},
    {3, 50, "Windows NT 3.5"},
    {3, 2, "Windows 3.2"},
    {3, 11, "Windows for Workgroups 3.11"},
    {3, 10, "Windows 3.1 or NT 3.1"},
    {3, 0, "Windows 3.0"},
    {2, 11, "Windows 2.11"},
    {2, 10, "Windows 2.10"},
    {2, 0, "Windows 2.0"},
    {1, 4, "Windows 1.04"},
    {1, 3, "Windows 1.03"},
    {1, 1, "Windows 1.01"},
    {1, 0, "Windows 1.0"},
};

static const char *const subsystems[] = {
    [0] = "UNKNOWN",
    [1] = "NATIVE",
    [2] = "WINDOWS_GUI",
    [3] = "WINDOWS_CUI",
    [7] = "POSIX_CUI",
    [9] = "WINDOWS_CE_GUI",
    [10] = "EFI_APPLICATION",
    [11] = "EFI_BOOT_SERVICE_DRIVER",
    [12] = "EFI_RUNTIME_DRIVER",
    [13] = "EFI_ROM",
    [14] = "XBOX",
};

const char *pe__machine_name(uint16_t machine, char *buf)
{
	for (size_t i = 0; i < sizeof(machines) / sizeof(machines[0]); i++)
		if (machines[i].v == machine)
			return machines[i].name;
	snprintf(buf, 32, "unknown-%u", machine);
	return buf;
}

const char *pe__os_name(uint16_t major, uint16_t minor, char *buf)
{
	for (size_t i = 0; i < sizeof(os_versions) / sizeof(os_versions[0]); i++)
		if (os_versions[i].major == major && os_versions[i].minor == minor)
			return os_versions[i].name;
	snprintf(buf, 32, "unknown-%u.%u", major, minor);
	return buf;
}

const char *pe__subsystem_name(uint16_t subsystem, char *buf)
{
	if (subsystem < sizeof(subsystems) / sizeof(subsystems[0]) && subsystems[subsystem])
		return subsystems[subsystem];
	snprintf(buf, 32, "unknown-%u", subsystem);
	return buf;
}
