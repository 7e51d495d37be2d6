// SPDX-License-Identifier: BSD-3-Clause
/* intel_reread.h: change detection by stat(2) once a second, a change read once it has held
 * for a tick, and one loader thread at a time, whose result the next tick reports. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "mailtap/intel.h"
#include "mailtap/intel_reread.h"
#include "mailtap/log.h"

struct fstate {
	bool present;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime, ctime;
};

enum { IDLE, RUNNING, DONE };

struct intel_reread {
	struct intel *in;
	const char *const *paths;
	int n;
	struct fstate *st;   /* each file as last read */
	struct fstate *seen; /* ... and as the last tick saw it */
	pthread_t th;
	_Atomic int state;
	long result;
	char err[512];
};

static void look(const char *path, struct fstate *f)
{
	struct stat sb;

	memset(f, 0, sizeof(*f));
	if (stat(path, &sb) < 0)
		return;
	f->present = true;
	f->dev = sb.st_dev;
	f->ino = sb.st_ino;
	f->size = sb.st_size;
	f->mtime = sb.st_mtim;
	f->ctime = sb.st_ctim;
}

static bool same(const struct fstate *a, const struct fstate *b)
{
	return a->present == b->present && a->dev == b->dev && a->ino == b->ino &&
	       a->size == b->size && a->mtime.tv_sec == b->mtime.tv_sec &&
	       a->mtime.tv_nsec == b->mtime.tv_nsec && a->ctime.tv_sec == b->ctime.tv_sec &&
	       a->ctime.tv_nsec == b->ctime.tv_nsec;
}

struct intel_reread *intel_reread__new(struct intel *in, const char *const *paths, int n)
{
	struct intel_reread *rr = calloc(1, sizeof(*rr));

	if (!rr || !(rr->st = calloc((size_t)(n > 0 ? n : 1), sizeof(*rr->st))) ||
	    !(rr->seen = calloc((size_t)(n > 0 ? n : 1), sizeof(*rr->seen)))) {
		if (rr)
			free(rr->st);
		free(rr);
		errno = ENOMEM;
		return NULL;
	}
	rr->in = in;
	rr->paths = paths;
	rr->n = n;
	for (int i = 0; i < n; i++) {
		look(paths[i], &rr->st[i]);
		rr->seen[i] = rr->st[i];
	}
	return rr;
}

static void *loader(void *u)
{
	struct intel_reread *rr = u;

	rr->result = intel__reload(rr->in, rr->paths, rr->n, stderr, rr->err, sizeof(rr->err));
	atomic_store_explicit(&rr->state, DONE, memory_order_release);
	return NULL;
}

/* A finished rereading: joined and reported. */
static void reap(struct intel_reread *rr)
{
	pthread_join(rr->th, NULL);
	if (rr->result < 0) {
		pr_warn("%s; the intel store in use is kept\n", rr->err);
	} else {
		pr_info("intel: files reread, %ld items\n", rr->result);
	}
	atomic_store_explicit(&rr->state, IDLE, memory_order_relaxed);
}

int intel_reread__tick(struct intel_reread *rr, bool force)
{
	bool changed = false, settling = false;
	int err;

	if (!rr)
		return 0;
	switch (atomic_load_explicit(&rr->state, memory_order_acquire)) {
	case RUNNING:
		return 0; /* a change meanwhile is seen at the next tick after it */
	case DONE:
		reap(rr);
		break;
	}
	/* A file that changed is read once it stayed as it was for a tick: a feed written in
	 * place (curl -o, a redirection) is not read half-written, its #fields line there and
	 * its items not yet. One still changing holds the others back: all are read together. */
	for (int i = 0; i < rr->n; i++) {
		struct fstate now;

		look(rr->paths[i], &now);
		if (same(&now, &rr->st[i])) {
			rr->seen[i] = now;
			continue;
		}
		if (same(&now, &rr->seen[i]))
			changed = true;
		else
			settling = true;
		rr->seen[i] = now;
	}
	if (!force && (!changed || settling))
		return 0;
	for (int i = 0; i < rr->n; i++)
		rr->st[i] = rr->seen[i]; /* before reading: a write during the load is seen next */
	atomic_store_explicit(&rr->state, RUNNING, memory_order_relaxed);
	err = pthread_create(&rr->th, NULL, loader, rr);
	if (err) {
		atomic_store_explicit(&rr->state, IDLE, memory_order_relaxed);
		for (int i = 0; i < rr->n; i++)
			rr->st[i].mtime.tv_nsec = -1; /* tried again at the next tick */
		pr_warn("intel: cannot start rereading the files: %s\n", strerror(err));
		return -err;
	}
	return 1;
}

bool intel_reread__busy(struct intel_reread *rr)
{
	return rr && atomic_load_explicit(&rr->state, memory_order_acquire) != IDLE;
}

void intel_reread__free(struct intel_reread *rr)
{
	if (!rr)
		return;
	if (atomic_load_explicit(&rr->state, memory_order_acquire) != IDLE)
		reap(rr);
	free(rr->st);
	free(rr->seen);
	free(rr);
}
