/* SPDX-License-Identifier: BSD-3-Clause */
/* Zeek's software version parser (base/frameworks/software/main.zeek: Software::parse,
 * parse_mozilla, cmp_versions), its regular expressions as hand-written matchers with Zeek's
 * matching rule: no allocation after sw_parser__new. */
#ifndef MAILTAP_SWPARSE_H
#define MAILTAP_SWPARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Software::Version. A field is set when its bit is in `has`; addl may be set and empty. */
enum { SW_MAJOR = 1, SW_MINOR = 2, SW_MINOR2 = 4, SW_MINOR3 = 8, SW_ADDL = 16 };
struct sw_version {
	unsigned has;
	uint64_t major, minor, minor2, minor3;
	const char *addl;
	size_t addl_len;
};

/* Software::Description without the unparsed string. name and addl point into the parser's
 * scratch space or the parsed string: valid until the next parse. */
struct sw_desc {
	const char *name;
	size_t name_len;
	struct sw_version v;
};

/* Software::cmp_versions: -1, 0 or 1 (addl compared as strcmp does). */
int sw_version__cmp(const struct sw_version *a, const struct sw_version *b);

/* The compiled expressions and scratch space of Software::parse. */
struct sw_parser;
/* max_len: bytes of a version string parsed (a longer one is parsed cut to its first
 * max_len bytes: some expressions take time quadratic in the length, as Zeek's; real client
 * strings are far shorter). NULL with errno set. */
struct sw_parser *sw_parser__new(size_t max_len);
void sw_parser__free(struct sw_parser *p);
/* Software::parse(s): 0, or -E2BIG when s was cut to max_len (d is still filled). */
int sw_parser__parse(struct sw_parser *p, const char *s, size_t n, struct sw_desc *d);

#endif
