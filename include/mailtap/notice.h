/* SPDX-License-Identifier: BSD-3-Clause */
/* Zeek's notice framework (base/frameworks/notice) for the notices mailtap raises: NOTICE()
 * with its suppression (a notice with an identifier is not logged again for the same note
 * and identifier within suppress_for, Notice::default_suppression_interval) and the `notice`
 * record (Zeek notice.log, Notice::Info, action Notice::ACTION_LOG).
 *
 * Notes raised (docs/records.md): SSL::Invalid_Server_Cert (policy/protocols/ssl/
 * validate-certs.zeek) and Intel::Notice (policy/frameworks/intel/do_notice.zeek).
 *
 * One suppression table for the process, shared by every worker under a lock (notices are
 * rare: a lock per notice, none per packet), so that a notice is suppressed whichever worker
 * raised it first, as in a Zeek cluster. */
#ifndef MAILTAP_NOTICE_H
#define MAILTAP_NOTICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "mailtap/types.h"

struct notice_cfg {
	bool enabled;		 /* the notice stream (true) */
	uint64_t suppress_ns;	 /* Notice::default_suppression_interval (1 hour; 0: never) */
	uint32_t max_suppressed; /* (note, identifier) pairs remembered (100000; the oldest
				  * goes first) */
	/* peer_descr of every notice: the node name given (--node-name). NULL (the default):
	 * not logged, as a standalone Zeek, whose apply_policy sets it only under
	 * `@if ( Cluster::is_enabled() )` (base/frameworks/notice/main.zeek). Not copied: it
	 * must live as long as the stream. */
	const char *peer_descr;
};
void notice_cfg__default(struct notice_cfg *c);

/* Sets up the process's suppression table. 0 or -ENOMEM. Before any worker starts. */
int notice__init(const struct notice_cfg *c);
void notice__fini(void);
bool notice__enabled(void);

/* A notice as NOTICE() is given it; NULL/unset fields are not logged. */
struct notice_info {
	uint64_t ts_ns;
	const char *note; /* "SSL::Invalid_Server_Cert" */
	/* msg_len, sub_len: their bytes, whole (NULs and all: the record writes \x00 and cuts
	 * at Zeek's logging limit, not before); 0 = up to the NUL (then a string of none must
	 * be "", not bytes that go on). */
	const char *msg, *sub;
	size_t msg_len, sub_len;
	const char *uid;	  /* with id: the connection ($conn) */
	const struct conn_id *id; /* src, dst, p and proto follow from it */
	const char *fuid, *file_mime_type, *file_desc;
	const void *identifier; /* NULL: never suppressed */
	size_t identifier_len;
};

struct rec;
/* NOTICE(n): written unless suppressed. true when written. */
bool notice__raise(struct rec *r, const struct notice_info *n);
/* The two halves of notice__raise, for a notice whose fields are dear to make (parsing a
 * certificate for its subject): true when n (its note, identifier and ts) is suppressed,
 * counted; otherwise it is from now on, and the caller writes it with notice__write. */
bool notice__suppressed(const struct notice_info *n);
void notice__write(struct rec *r, const struct notice_info *n);

struct notice_stats {
	uint64_t raised;     /* notice records written */
	uint64_t suppressed; /* notices not written: the same within suppress_for */
	uint64_t evicted;    /* identifiers forgotten early (max_suppressed) */
};
void notice__stats(struct notice_stats *out);

#endif
