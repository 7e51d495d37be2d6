// SPDX-License-Identifier: BSD-3-Clause
/* The notice stream and its suppression (include/mailtap/notice.h): Zeek's NOTICE(),
 * is_being_suppressed() and the `suppressing` table (&create_expire at ts + suppress_for),
 * as a knownset of (note, identifier) digests under a mutex. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include "mailtap/bits.h"
#include "mailtap/knownset.h"
#include "mailtap/notice.h"
#include "mailtap/rec.h"

static struct notice_cfg cfg = {.enabled = false};
static struct knownset *suppressing;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic uint64_t st_raised, st_suppressed, st_evicted;

void notice_cfg__default(struct notice_cfg *c)
{
	c->enabled = true;
	c->suppress_ns = 3600ULL * 1000000000ULL;
	c->max_suppressed = 100000;
	c->peer_descr = NULL;
}

int notice__init(const struct notice_cfg *c)
{
	notice__fini();
	cfg = *c;
	if (cfg.enabled && cfg.suppress_ns &&
	    !(suppressing = knownset__new(cfg.max_suppressed, cfg.suppress_ns, 0))) {
		cfg.enabled = false;
		return -ENOMEM;
	}
	return 0;
}

void notice__fini(void)
{
	knownset__free(suppressing);
	suppressing = NULL;
	cfg.enabled = false;
}

bool notice__enabled(void)
{
	return cfg.enabled;
}

/* Whether (note, identifier) is being suppressed at ts; if not, it is from now on. */
static bool suppressed_at(const struct notice_info *n)
{
	uint64_t key[2], ev;
	size_t nl = strlen(n->note);
	bool is_new;

	if (!suppressing || !n->identifier)
		return false;
	key[0] = mt_hash_bytes(mt_hash_bytes(1, n->note, nl), n->identifier, n->identifier_len);
	key[1] = mt_hash_bytes(mt_hash_bytes(2, n->note, nl), n->identifier, n->identifier_len);
	pthread_mutex_lock(&lock);
	ev = knownset__evicted(suppressing);
	is_new = knownset__add(suppressing, key, sizeof(key), n->ts_ns);
	ev = knownset__evicted(suppressing) - ev;
	pthread_mutex_unlock(&lock);
	if (ev)
		atomic_fetch_add_explicit(&st_evicted, ev, memory_order_relaxed);
	return !is_new;
}

bool notice__suppressed(const struct notice_info *n)
{
	if (suppressed_at(n)) {
		atomic_fetch_add_explicit(&st_suppressed, 1, memory_order_relaxed);
		return true;
	}
	return false;
}

bool notice__raise(struct rec *r, const struct notice_info *n)
{
	if (!cfg.enabled || !r || notice__suppressed(n))
		return false;
	notice__write(r, n);
	return true;
}

void notice__write(struct rec *r, const struct notice_info *n)
{
	if (!cfg.enabled || !r)
		return;
	rec__begin(r, "notice", n->ts_ns);
	if (n->uid)
		rec__conn(r, n->uid, n->id);
	rec__cstr(r, "fuid", n->fuid);
	rec__cstr(r, "file_mime_type", n->file_mime_type);
	rec__cstr(r, "file_desc", n->file_desc);
	if (n->id)
		rec__cstr(r, "proto", "tcp");
	rec__cstr(r, "note", n->note);
	if (n->msg)
		rec__str(r, "msg", n->msg, n->msg_len ? n->msg_len : strlen(n->msg));
	if (n->sub)
		rec__str(r, "sub", n->sub, n->sub_len ? n->sub_len : strlen(n->sub));
	if (n->id) {
		rec__addr(r, "src", &n->id->orig_h);
		rec__addr(r, "dst", &n->id->resp_h);
		rec__port(r, "p", n->id->resp_p);
	}
	rec__cstr(r, "peer_descr", cfg.peer_descr); /* none unless a node name was given */
	rec__arr_begin(r, "actions");
	rec__arr_cstr(r, "Notice::ACTION_LOG");
	rec__arr_end(r);
	rec__arr_begin(r, "email_dest");
	rec__arr_end(r);
	rec__interval(r, "suppress_for", (int64_t)cfg.suppress_ns);
	rec__end(r);
	atomic_fetch_add_explicit(&st_raised, 1, memory_order_relaxed);
}

void notice__stats(struct notice_stats *o)
{
	o->raised = atomic_load_explicit(&st_raised, memory_order_relaxed);
	o->suppressed = atomic_load_explicit(&st_suppressed, memory_order_relaxed);
	o->evicted = atomic_load_explicit(&st_evicted, memory_order_relaxed);
}
