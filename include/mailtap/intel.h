/* SPDX-License-Identifier: BSD-3-Clause */
/* Zeek's intelligence framework (base/frameworks/intel, policy/frameworks/intel/seen) for
 * what mail traffic shows: indicators read from Zeek intel files (Intel::read_files, the
 * ASCII input format), looked up where Zeek's seen scripts look them up, and an `intel`
 * record (Zeek intel.log, Intel::Info) for every match.
 *
 * The store is built at start (intel__load_file) and read by every worker; intel__reload
 * builds a new one from the files aside and puts it in place of the old (a read-write lock:
 * each lookup, with the record it writes, holds it for reading; the swap, for writing), as
 * Zeek rereads its intel files when they change (Input::REREAD). Matching is Zeek's: strings
 * compare case-insensitively (ASCII), an address matches its ADDR items and every SUBNET
 * item that holds it. */
#ifndef MAILTAP_INTEL_H
#define MAILTAP_INTEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "mailtap/types.h"

/* Intel::Type (base/frameworks/intel/main.zeek, files.zeek). */
enum intel_type {
	INTEL_ADDR,
	INTEL_SUBNET,
	INTEL_URL,
	INTEL_SOFTWARE,
	INTEL_EMAIL,
	INTEL_DOMAIN,
	INTEL_USER_NAME,
	INTEL_CERT_HASH,
	INTEL_PUBKEY_HASH,
	INTEL_FILE_HASH,
	INTEL_FILE_NAME,
	INTEL_NTYPES
};

/* Intel::Where of the seen scripts mailtap runs (where-locations.zeek). */
enum intel_where {
	INTEL_CONN_IN_ORIG,
	INTEL_CONN_IN_RESP,
	INTEL_FILES_IN_HASH,
	INTEL_FILES_IN_NAME,
	INTEL_SMTP_IN_MAIL_FROM,
	INTEL_SMTP_IN_RCPT_TO,
	INTEL_SMTP_IN_FROM,
	INTEL_SMTP_IN_TO,
	INTEL_SMTP_IN_CC,
	INTEL_SMTP_IN_RECEIVED_HEADER,
	INTEL_SMTP_IN_REPLY_TO,
	INTEL_SMTP_IN_X_ORIGINATING_IP_HEADER,
	INTEL_SMTP_IN_MESSAGE,
	INTEL_SMTP_IN_HEADER,
	INTEL_SSL_IN_SERVER_NAME,
	INTEL_X509_IN_CERT,
	INTEL_SMTP_IN_AUTH, /* mailtap's: the login name of a cleartext AUTH (USER_NAME) */
	INTEL_NWHERE
};

const char *intel_type__name(enum intel_type t);   /* "Intel::EMAIL" */
const char *intel_where__name(enum intel_where w); /* "SMTP::IN_FROM" */
/* "Intel::EMAIL" -> INTEL_EMAIL; -1 when unknown (a name without its module too, as Zeek). */
int intel_type__parse(const char *s, size_t n);

/* Limits of the store, with their defaults. */
struct intel_limits {
	uint64_t max_items;	/* indicators kept (4,000,000); further ones are counted, not
				 * kept */
	uint32_t max_indicator; /* bytes of an indicator (4096); longer lines are skipped */
	uint32_t max_line;	/* bytes of a line of an intel file (65536); longer lines are
				 * skipped */
};
void intel_limits__default(struct intel_limits *l);

struct intel;

struct intel *intel__new(const struct intel_limits *l);
void intel__free(struct intel *in);

/* Reads one Zeek intel file (`#fields indicator indicator_type meta.source ...`, tab
 * separated, `#separator` honoured, other `#` lines ignored, `-` unset). Lines that cannot
 * be used (unknown type, bad address or subnet, missing source, too long) are skipped and
 * counted; the first few are reported on `warn` (NULL: silent) as FILE:LINE: reason.
 * streams: a FIFO or character device is read too (at start: `--intel-file <(...)`,
 * /dev/stdin; the open waits for a writer), else only a regular file (rereading in the
 * background, which must never block: shutdown joins it).
 * Returns the number of lines that gave an item, or -errno: -ENOENT/-EACCES... (cannot
 * open), -EINVAL (not a file that may be read, a UTF-8 byte order mark, no #fields line
 * before the data, or a required column missing), with a message in err. */
long intel__load_file(struct intel *in, const char *path, bool streams, FILE *warn, char *err,
		      size_t errlen);
/* The same from an open stream (not closed); path names it in messages. */
long intel__load_fp(struct intel *in, FILE *fp, const char *path, FILE *warn, char *err,
		    size_t errlen);
/* An item's metadata beyond its source (policy/frameworks/intel/do_notice.zeek): a match
 * raises an Intel::Notice when do_notice is set and it was seen at if_in (INTEL_NWHERE:
 * Intel::IN_ANYWHERE). whitelist (policy/frameworks/intel/whitelist.zeek): a match with an
 * item of any source whitelisted writes no intel record (its notices are still raised). The
 * same source inserted again replaces it, as Zeek's meta table. */
struct intel_meta {
	bool do_notice;
	bool whitelist;
	int if_in;
};
int intel__insert_meta(struct intel *in, enum intel_type t, const char *indicator, size_t n,
		       const char *source, size_t source_len, const struct intel_meta *m);
/* Intel::insert of one item (tests, and the loader), only while no other thread uses the
 * store (before it is shared, or on a store being built for intel__replace). 0, -EINVAL (bad address, subnet or
 * empty indicator), -E2BIG (max_indicator), -ENOSPC (max_items). */
int intel__insert(struct intel *in, enum intel_type t, const char *indicator, size_t n,
		  const char *source, size_t source_len);

/* Items of type t are loaded (Zeek's manage-event-groups: a seen script runs only then). */
bool intel__has(const struct intel *in, enum intel_type t);
/* ADDR or SUBNET items are loaded. */
bool intel__has_addr(const struct intel *in);
uint64_t intel__items(const struct intel *in);

/* What a lookup matched: Intel::Info's `matched` (a bit per enum intel_type) and `sources`. */
#define INTEL_HIT_MAX_SOURCES 32
struct intel_hit {
	uint32_t types;
	uint32_t notice_where; /* a bit per enum intel_where where an item asks for a notice */
	bool whitelisted;      /* an item of some source is whitelisted: no intel record */
	uint32_t n_sources;
	const char *sources[INTEL_HIT_MAX_SOURCES]; /* into the store */
	uint32_t source_len[INTEL_HIT_MAX_SOURCES];
};

/* Intel::find + get_items for a string of type t (t != ADDR/SUBNET). The hit's sources
 * point into the store: valid until it is replaced. */
bool intel__find(const struct intel *in, enum intel_type t, const char *s, size_t n,
		 struct intel_hit *h);
/* ... for an address: its ADDR item and every SUBNET holding it. */
bool intel__find_addr(const struct intel *in, const struct mt_addr *a, struct intel_hit *h);

/* Where and with what a seen indicator was found (Intel::Seen and its conn and file). */
struct conn_id;
struct intel_seen {
	uint64_t ts_ns;
	enum intel_where where;
	const char *uid;	  /* NULL: no connection */
	const struct conn_id *id; /* with uid */
	const char *fuid;	  /* NULL: not in a file */
	const char *file_mime_type, *file_desc;
};

struct rec;
/* Intel::seen: looks the indicator up and writes an intel record on a match (none when a
 * matching item is whitelisted), and an Intel::Notice (notice.h) when a matching item asks
 * for one at this place. True on a match, whitelisted or not. */
bool intel__seen(const struct intel *in, struct rec *r, const struct intel_seen *w,
		 enum intel_type t, const char *s, size_t n);
bool intel__seen_addr(const struct intel *in, struct rec *r, const struct intel_seen *w,
		      const struct mt_addr *a);

/* Puts fresh's store in place of in's (waiting for the lookups under way) and leaves the
 * old one in fresh, to be freed; the generation goes up. */
void intel__replace(struct intel *in, struct intel *fresh);
/* Builds a store from the files (intel__load_file each, with in's limits) and puts it in
 * place of in's: items gone from the files are gone (Zeek only adds). On an error (a file
 * that cannot be read, or without #fields) in keeps its store and the error is returned
 * (-errno, message in err); otherwise the items of the new store. One thread at a time. */
long intel__reload(struct intel *in, const char *const *paths, int n, FILE *warn, char *err,
		   size_t errlen);
/* How many times the store was replaced: what was remembered from it (a certificate's
 * matching names) is stale when this changed. */
uint64_t intel__generation(const struct intel *in);

/* Process-wide counters. */
struct intel_stats {
	uint64_t items;		/* indicators in the store */
	uint64_t lines_skipped; /* lines of intel files that gave no item */
	uint64_t items_dropped; /* items beyond max_items */
	uint64_t lookups;	/* indicators looked up */
	uint64_t matches;	/* intel records written */
	uint64_t whitelisted;	/* matches with a whitelisted item: no record written */
	uint64_t reloads;	/* stores replaced by intel__reload */
	uint64_t reload_errors; /* intel__reload calls that kept the store */
};
void intel__stats(struct intel_stats *out);

#endif
