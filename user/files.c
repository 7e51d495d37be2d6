// SPDX-License-Identifier: BSD-3-Clause
/* File analysis: per-file byte accounting, hashes (OpenSSL EVP), mime sniffing of the first
 * bytes (Zeek's bof_buffer) and extraction to disk, then one `files` record on close.
 *
 * Extraction writes <dir>/.tmp-<fuid> (O_CREAT|O_EXCL|O_NOFOLLOW, relative to a directory fd)
 * and renames it to extract-<ts>-<source>-<fuid> with RENAME_NOREPLACE, so a symlink or an
 * existing file at either name is never followed nor overwritten. Write errors (disk full,
 * permissions) abandon that file's extraction, are logged once per errno and counted; the
 * file's other analysis goes on. */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "mailtap/bits.h"
#include "mailtap/digest.h"
#include "mailtap/files.h"
#include "mailtap/intel.h"
#include "mailtap/hashmb.h"
#include "mailtap/ids.h"
#include "mailtap/log.h"
#include "mailtap/mime.h"
#include "mailtap/mimesniff.h"
#include "mailtap/pe.h"
#include "mailtap/rec_pe.h"
#include "mailtap/rec_files.h"
#include "mailtap/session.h"

#define FILES_MAX_ANALYZERS 8
#define FILES_ANALYZER_LEN 16
#define FILES_MIME_LEN 128

enum ext_state {
	EXT_NONE,    /* not extracted */
	EXT_PENDING, /* waiting for the mime type (extract_types filter) */
	EXT_WRITING, /* temp file open */
	EXT_CUT,     /* limit reached: temp file kept, no more writes */
	EXT_FAILED,  /* error: temp file removed, nothing reported */
};

struct mt_file {
	struct mt_session *s;
	const struct files_cfg *cfg;
	char fuid[MT_UID_LEN];
	char parent[MT_UID_LEN];
	char source[16];
	uint64_t ts, last;
	bool is_orig;
	unsigned depth;
	char *filename;
	size_t filename_len;
	char *desc; /* Files::describe (intel's file_desc) */
	char mime[FILES_MIME_LEN];
	bool mime_done; /* set by the protocol or sniffed: no more sniffing */
	uint64_t seen, missing, total;
	bool has_total;
	char an[FILES_MAX_ANALYZERS][FILES_ANALYZER_LEN];
	unsigned n_an;
	struct hashmb mb; /* MD5 and SHA-1 (with other files of the worker: hashmb.h) */
	bool mb_on;	  /* mb is initialised and not yet finished or abandoned */
	EVP_MD_CTX *sha256;
	bool hashes_dropped;
	enum ext_state ext;
	struct ext_dir *dir; /* the extraction directory, held while extracting */
	int fd;
	char ext_name[96];
	char tmp_name[40];
	uint64_t ext_off;     /* offset in the extracted file, holes included */
	uint64_t ext_written; /* bytes written */
	bool ext_cut;
	struct pe *pe;	/* Zeek's PE analyzer: application/x-dosexec files */
	bool pe_tried;
	uint32_t bof_cap, bof_len;
	uint8_t bof[];
};

static _Atomic uint64_t st_opened, st_refused, st_in_flight, st_records, st_gaps, st_fn_cut,
    st_ext_files, st_ext_bytes, st_ext_cutoffs, st_ext_total, st_ext_errors;
/* Bytes reserved against extract_max_total (holes included). */
static _Atomic uint64_t ext_total_used;

/*
 * The extraction directory, opened once and shared by every extracting file of the process
 * (one descriptor in all, not one a file). A file holds a reference from its temporary file's
 * creation to its rename. Each new file checks that the path still names the same directory
 * (a stat: an operator may rename it away and make a new one); if not, the path is opened
 * again for it and the files after it, and the old directory is closed once the last file
 * in it is done.
 */
struct ext_dir {
	char *path;
	int fd;
	dev_t dev;
	ino_t ino;
	unsigned refs; /* files holding it, plus one while it is the current one */
};

static pthread_mutex_t ext_dir_mu = PTHREAD_MUTEX_INITIALIZER;
static struct ext_dir *ext_dir_cur;

static void ext_dir_unref_locked(struct ext_dir *d)
{
	if (--d->refs)
		return;
	close(d->fd);
	free(d->path);
	free(d);
}

/* A reference to the directory `path` names now. NULL with errno set when it cannot be
 * opened. */
static struct ext_dir *ext_dir_get(const char *path)
{
	struct ext_dir *d;
	struct stat st;
	int err = 0;

	pthread_mutex_lock(&ext_dir_mu);
	d = ext_dir_cur;
	if (!d || strcmp(d->path, path) || stat(path, &st) < 0 || st.st_dev != d->dev ||
	    st.st_ino != d->ino) {
		struct ext_dir *n = calloc(1, sizeof(*n));

		if (n)
			n->path = strdup(path);
		if (!n || !n->path) {
			err = ENOMEM;
		} else if ((n->fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
			err = errno;
		} else if (fstat(n->fd, &st) < 0) {
			err = errno;
			close(n->fd);
		} else {
			n->dev = st.st_dev;
			n->ino = st.st_ino;
		}
		if (err) {
			if (n)
				free(n->path);
			free(n);
			pthread_mutex_unlock(&ext_dir_mu);
			errno = err;
			return NULL;
		}
		n->refs = 1; /* current */
		if (ext_dir_cur)
			ext_dir_unref_locked(ext_dir_cur);
		ext_dir_cur = d = n;
	}
	d->refs++;
	pthread_mutex_unlock(&ext_dir_mu);
	return d;
}

static void ext_dir_put(struct ext_dir **dp)
{
	if (!*dp)
		return;
	pthread_mutex_lock(&ext_dir_mu);
	ext_dir_unref_locked(*dp);
	pthread_mutex_unlock(&ext_dir_mu);
	*dp = NULL;
}
/* errno values already logged (bit per errno < 64) */
static _Atomic uint64_t ext_err_logged;

void files_cfg__default(struct files_cfg *c)
{
	memset(c, 0, sizeof(*c));
	c->md5 = true;
	c->sha1 = true;
	c->sha256 = false;
	c->extract_dir = NULL;
	c->extract_max_file = 100ull * 1024 * 1024; /* FileExtract::default_limit */
	c->extract_max_total = 0;
	c->extract_types = NULL;
	c->max_in_flight = 10000;
	c->bof_size = MIMESNIFF_BOF_DEFAULT;
	c->max_filename = 1024;
	c->extract_sources = NULL;
	c->pe = true;
	c->pe_max_sections = PE_MAX_SECTIONS_DEFAULT;
}

void files__stats(struct files_stats *o)
{
	o->opened = atomic_load(&st_opened);
	o->refused = atomic_load(&st_refused);
	o->in_flight = atomic_load(&st_in_flight);
	o->records = atomic_load(&st_records);
	o->gaps = atomic_load(&st_gaps);
	o->filenames_cut = atomic_load(&st_fn_cut);
	o->extracted_files = atomic_load(&st_ext_files);
	o->extracted_bytes = atomic_load(&st_ext_bytes);
	o->extract_cutoffs = atomic_load(&st_ext_cutoffs);
	o->extract_total_limit = atomic_load(&st_ext_total);
	o->extract_errors = atomic_load(&st_ext_errors);
	pe__stats(&o->pe);
	{
		uint64_t bytes;

		mime__header_total_stats(&bytes, &o->mime_header_total_hits);
		mime__open_stats(&o->mime_open_messages, &o->mime_messages_refused);
	}
}

/* Is `item` (len bytes) one of the comma-separated, case-insensitive entries of list? */
static bool list_has(const char *list, const char *item, size_t len)
{
	const char *p = list;

	while (p && *p) {
		const char *e = strchr(p, ',');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		const char *a = p;

		while (n && (*a == ' ' || *a == '\t')) {
			a++;
			n--;
		}
		while (n && (a[n - 1] == ' ' || a[n - 1] == '\t'))
			n--;
		if (n == len && strncasecmp(a, item, len) == 0)
			return true;
		p = e ? e + 1 : NULL;
	}
	return false;
}

static void add_analyzer(struct mt_file *f, const char *name)
{
	unsigned i;

	for (i = 0; i < f->n_an; i++)
		if (strcmp(f->an[i], name) == 0)
			return;
	if (f->n_an >= FILES_MAX_ANALYZERS)
		return;
	mt_strcpy_cut(f->an[f->n_an++], FILES_ANALYZER_LEN, name);
}

/* The extraction of f is removed: its bytes are no longer extracted, and the part of
 * extract_max_total it had reserved is free again. */
static void ext_unaccount(struct mt_file *f)
{
	atomic_fetch_sub(&st_ext_bytes, f->ext_written);
	if (f->cfg->extract_max_total)
		atomic_fetch_sub(&ext_total_used, f->ext_off);
	f->ext_written = 0;
	f->ext_off = 0;
}

static void ext_error(struct mt_file *f, const char *what, int err)
{
	uint64_t bit = err > 0 && err < 64 ? 1ull << err : 1ull;

	atomic_fetch_add(&st_ext_errors, 1);
	if (!(atomic_fetch_or(&ext_err_logged, bit) & bit))
		pr_warn("files: extraction to %s: %s: %s (reported once; counted in "
			"extract_errors)\n",
			f->cfg->extract_dir, what, strerror(err));
	if (f->fd >= 0) {
		close(f->fd);
		f->fd = -1;
		unlinkat(f->dir->fd, f->tmp_name, 0);
		ext_unaccount(f);
	}
	ext_dir_put(&f->dir);
	f->ext = EXT_FAILED;
}

static void ext_start(struct mt_file *f, uint64_t ts_ns)
{
	uint64_t tot = f->cfg->extract_max_total;

	/* extract_max_total used up: no file at all (an empty one each would fill the
	 * directory with names and cost two descriptors while open) */
	if (tot && atomic_load(&ext_total_used) >= tot) {
		atomic_fetch_add(&st_ext_total, 1);
		f->ext = EXT_NONE;
		return;
	}
	snprintf(f->tmp_name, sizeof(f->tmp_name), ".tmp-%s", f->fuid);
	f->dir = ext_dir_get(f->cfg->extract_dir);
	if (!f->dir) {
		ext_error(f, "open directory", errno);
		return;
	}
	f->fd = openat(f->dir->fd, f->tmp_name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		       0600);
	if (f->fd < 0) {
		ext_error(f, "create temporary file", errno);
		return;
	}
	/* Zeek: cat("extract-", f$last_active, "-", f$source, "-", f$id) */
	snprintf(f->ext_name, sizeof(f->ext_name), "extract-%llu.%06llu-%s-%s",
		 (unsigned long long)(ts_ns / 1000000000ull),
		 (unsigned long long)(ts_ns % 1000000000ull / 1000), f->source, f->fuid);
	f->ext = EXT_WRITING;
	add_analyzer(f, "EXTRACT");
}

/* How many of `len` bytes at the current offset may go to disk; marks the cut-off. */
static uint64_t ext_allow(struct mt_file *f, uint64_t len)
{
	uint64_t max = f->cfg->extract_max_file, n = len;

	if (max && f->ext_off + n > max) {
		n = f->ext_off < max ? max - f->ext_off : 0;
		if (!f->ext_cut)
			atomic_fetch_add(&st_ext_cutoffs, 1);
		f->ext_cut = true;
	}
	if (f->cfg->extract_max_total && n) {
		uint64_t used = atomic_fetch_add(&ext_total_used, n);
		uint64_t tot = f->cfg->extract_max_total;

		if (used + n > tot) {
			uint64_t ok = used < tot ? tot - used : 0;

			atomic_fetch_sub(&ext_total_used, n - ok);
			n = ok;
			if (!f->ext_cut)
				atomic_fetch_add(&st_ext_total, 1);
			f->ext_cut = true;
		}
	}
	return n;
}

/* n bytes ext_allow() let through and reserved of extract_max_total that will not be
 * written (the write or seek failed): free again. */
static void ext_release(struct mt_file *f, uint64_t n)
{
	if (f->cfg->extract_max_total && n)
		atomic_fetch_sub(&ext_total_used, n);
}

static void ext_write(struct mt_file *f, const uint8_t *buf, size_t len)
{
	uint64_t n;

	if (f->ext != EXT_WRITING)
		return;
	n = ext_allow(f, len);
	while (n) {
		ssize_t w = write(f->fd, buf, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			ext_release(f, n);
			ext_error(f, "write", errno);
			return;
		}
		if (w == 0) {
			ext_release(f, n);
			ext_error(f, "write", ENOSPC);
			return;
		}
		buf += w;
		n -= (uint64_t)w;
		f->ext_off += (uint64_t)w;
		f->ext_written += (uint64_t)w;
		atomic_fetch_add(&st_ext_bytes, (uint64_t)w);
	}
	if (f->ext_cut)
		f->ext = EXT_CUT;
}

static void ext_hole(struct mt_file *f, uint64_t len)
{
	uint64_t n;

	if (f->ext != EXT_WRITING)
		return;
	n = ext_allow(f, len); /* holes count (FileExtract::default_limit_includes_missing) */
	if (n && lseek(f->fd, (off_t)n, SEEK_CUR) < 0) {
		int err = errno;

		ext_release(f, n);
		ext_error(f, "seek", err);
		return;
	}
	f->ext_off += n;
	if (f->ext_cut)
		f->ext = EXT_CUT;
}

static void ext_finish(struct mt_file *f)
{
	int r;

	if (f->ext != EXT_WRITING && f->ext != EXT_CUT)
		return;
	/* A trailing hole: give the file its full length. */
	if (ftruncate(f->fd, (off_t)f->ext_off) < 0) {
		ext_error(f, "truncate", errno);
		return;
	}
	if (close(f->fd) < 0) {
		int err = errno;

		f->fd = -1;
		unlinkat(f->dir->fd, f->tmp_name, 0);
		ext_unaccount(f);
		ext_error(f, "close", err);
		return;
	}
	f->fd = -1;
	r = (int)syscall(SYS_renameat2, f->dir->fd, f->tmp_name, f->dir->fd, f->ext_name,
			 RENAME_NOREPLACE);
	if (r < 0) {
		int err = errno;

		unlinkat(f->dir->fd, f->tmp_name, 0);
		ext_unaccount(f);
		ext_error(f, "rename", err);
		return;
	}
	ext_dir_put(&f->dir);
	atomic_fetch_add(&st_ext_files, 1);
}

/* The extract_types filter: decided once the mime type is known. */
static void ext_decide(struct mt_file *f, uint64_t ts_ns)
{
	if (f->ext != EXT_PENDING)
		return;
	if (!f->mime[0] || !list_has(f->cfg->extract_types, f->mime, strlen(f->mime))) {
		f->ext = EXT_NONE;
		return;
	}
	ext_start(f, ts_ns);
	/* Everything seen so far is in the bof buffer (the decision comes at the latest when
	 * it fills, or at the first gap). */
	if (f->ext == EXT_WRITING && f->seen == f->bof_len)
		ext_write(f, f->bof, f->bof_len);
	else if (f->ext == EXT_WRITING)
		ext_error(f, "buffered start lost", EIO);
}

static void sniff(struct mt_file *f, uint64_t ts_ns)
{
	if (!f->mime_done) {
		const char *m = mimesniff__detect(f->bof, f->bof_len, NULL);

		if (m)
			mt_strcpy_cut(f->mime, sizeof(f->mime), m);
		f->mime_done = true;
	}
	ext_decide(f, ts_ns);
}

/* Zeek's base/files/pe registers its analyzer for application/x-dosexec: attached when the
 * mime type is sniffed, it gets the buffered start of the file at once (the DOS header's ts). */
static void pe_begin(struct mt_file *f, uint64_t ts_ns)
{
	if (f->pe_tried || !f->mime_done || !f->cfg->pe || strcmp(f->mime, "application/x-dosexec"))
		return;
	f->pe_tried = true;
	f->pe = pe__new(f->cfg->pe_max_sections);
	if (!f->pe)
		return;
	add_analyzer(f, "PE");
	pe__data(f->pe, f->bof, f->bof_len, ts_ns);
}

struct mt_file *files__open(struct mt_session *s, const struct files_cfg *cfg, uint64_t ts_ns,
			    const char *source, bool is_orig, unsigned depth)
{
	struct mt_file *f;
	uint32_t bof;
	uint64_t n;

	if (!cfg || !source) {
		errno = EINVAL;
		return NULL;
	}
	n = atomic_fetch_add(&st_in_flight, 1);
	if (cfg->max_in_flight && n >= cfg->max_in_flight) {
		atomic_fetch_sub(&st_in_flight, 1);
		atomic_fetch_add(&st_refused, 1);
		errno = EMFILE;
		return NULL;
	}
	bof = cfg->bof_size > MIMESNIFF_BOF_DEFAULT ? MIMESNIFF_BOF_DEFAULT : cfg->bof_size;
	/* the header zeroed, not the bof buffer: only its first bof_len bytes are ever read
	 * (clearing 4 KiB per file was 4% of a small-mail capture) */
	f = malloc(sizeof(*f) + bof);
	if (f)
		memset(f, 0, sizeof(*f));
	if (!f) {
		atomic_fetch_sub(&st_in_flight, 1);
		errno = ENOMEM;
		return NULL;
	}
	f->s = s;
	f->cfg = cfg;
	f->bof_cap = bof;
	f->ts = f->last = ts_ns;
	f->is_orig = is_orig;
	f->depth = depth;
	f->fd = -1;
	mt_strcpy_cut(f->source, sizeof(f->source), source);
	if (s && s->ids)
		mt_ids__make(s->ids, 'F', f->fuid);
	else
		snprintf(f->fuid, sizeof(f->fuid), "F%llu",
			 (unsigned long long)atomic_load(&st_opened));
	if (cfg->md5 || cfg->sha1) {
		/* many files at once side by side (hashmb.h): the worker's pool */
		hashmb_init(&f->mb, s ? s->hashes : NULL,
			    (cfg->md5 ? HASHMB_MD5 : 0) | (cfg->sha1 ? HASHMB_SHA1 : 0));
		f->mb_on = true;
	}
	if (cfg->md5)
		add_analyzer(f, "MD5");
	if (cfg->sha1)
		add_analyzer(f, "SHA1");
	if (cfg->sha256) {
		/* without memory for it (the context or OpenSSL's state behind it) the file has
		 * no sha256, as with a gap: never an update through a half-made context */
		f->sha256 = EVP_MD_CTX_new();
		if (f->sha256 && EVP_DigestInit_ex(f->sha256, mt_md(MT_SHA256), NULL) != 1) {
			EVP_MD_CTX_free(f->sha256);
			f->sha256 = NULL;
		}
		add_analyzer(f, "SHA256");
	}
	if (cfg->extract_dir && cfg->extract_dir[0] &&
	    (!cfg->extract_sources || list_has(cfg->extract_sources, source, strlen(source)))) {
		if (cfg->extract_types)
			f->ext = EXT_PENDING;
		else
			ext_start(f, ts_ns);
	}
	atomic_fetch_add(&st_opened, 1);
	return f;
}

const char *files__fuid(const struct mt_file *f)
{
	return f ? f->fuid : NULL;
}

const char *files__mime_type(const struct mt_file *f)
{
	return f && f->mime[0] ? f->mime : NULL;
}

/* Intel::seen with $f: the file's fuid, mime type and description, and its connection
 * (files.zeek's extend_match: a file of one connection names it). */
static void file_intel(struct mt_file *f, uint64_t ts, enum intel_type t, enum intel_where w,
		       const char *s, size_t n)
{
	struct intel_seen sn = {
	    .ts_ns = ts,
	    .where = w,
	    .fuid = f->fuid,
	    .file_mime_type = f->mime[0] ? f->mime : NULL,
	    .file_desc = f->desc ? f->desc : "",
	};

	if (!f->s || !f->s->rec)
		return;
	sn.uid = f->s->uid;
	sn.id = f->s->id;
	intel__seen(f->cfg->intel, f->s->rec, &sn, t, s, n);
}

void files__set_filename(struct mt_file *f, const char *name, size_t len)
{
	char *p;

	if (!f || !name)
		return;
	if (f->cfg->max_filename && len > f->cfg->max_filename) {
		len = f->cfg->max_filename;
		atomic_fetch_add(&st_fn_cut, 1);
	}
	p = malloc(len + 1);
	if (!p)
		return;
	memcpy(p, name, len);
	p[len] = 0;
	free(f->filename);
	f->filename = p;
	f->filename_len = len;
	if (intel__has(f->cfg->intel, INTEL_FILE_NAME))
		file_intel(f, f->ts, INTEL_FILE_NAME, INTEL_FILES_IN_NAME, p, len);
}

void files__set_desc(struct mt_file *f, const char *desc, size_t len)
{
	char *p;

	if (!f || !desc || !(p = malloc(len + 1)))
		return;
	memcpy(p, desc, len);
	p[len] = 0;
	free(f->desc);
	f->desc = p;
}

void files__set_mime_type(struct mt_file *f, const char *mime)
{
	if (!f || !mime)
		return;
	mt_strcpy_cut(f->mime, sizeof(f->mime), mime);
	f->mime_done = true;
	if (f->ext == EXT_PENDING)
		ext_decide(f, f->last);
}

void files__set_total_bytes(struct mt_file *f, uint64_t total)
{
	if (!f)
		return;
	f->total = total;
	f->has_total = true;
}

void files__set_parent(struct mt_file *f, const char *parent_fuid)
{
	if (!f || !parent_fuid)
		return;
	mt_strcpy_cut(f->parent, sizeof(f->parent), parent_fuid);
}

void files__add_analyzer(struct mt_file *f, const char *name)
{
	if (f && name)
		add_analyzer(f, name);
}

void files__data(struct mt_file *f, const uint8_t *buf, size_t len, uint64_t ts_ns)
{
	bool was_writing, pe_before;
	size_t n = 0;

	if (!f || !len)
		return;
	f->last = ts_ns;
	pe_before = f->pe != NULL;
	if (!f->hashes_dropped) {
		if (f->mb_on)
			hashmb_update(&f->mb, buf, len);
		if (f->sha256)
			EVP_DigestUpdate(f->sha256, buf, len);
	}
	was_writing = f->ext == EXT_WRITING;
	if (!f->mime_done && f->bof_len < f->bof_cap) {
		n = f->bof_cap - f->bof_len;
		if (n > len)
			n = len;
		memcpy(f->bof + f->bof_len, buf, n);
		f->bof_len += (uint32_t)n;
	}
	if (was_writing) {
		f->seen += len;
		ext_write(f, buf, len);
		if (!f->mime_done && f->bof_len == f->bof_cap) {
			sniff(f, ts_ns);
			pe_begin(f, ts_ns);
		}
	} else {
		/* Extraction pending on the mime type: the decision writes the bof buffer (all
		 * the data so far), then the rest of this chunk goes out directly. */
		f->seen += n;
		if (!f->mime_done && f->bof_len == f->bof_cap) {
			sniff(f, ts_ns);
			pe_begin(f, ts_ns);
		}
		f->seen += len - n;
		ext_write(f, buf + n, len - n);
	}
	/* the PE analyzer: the whole chunk, or what follows the bof buffer it started with */
	if (f->pe && !pe__done(f->pe)) {
		if (pe_before)
			pe__data(f->pe, buf, len, ts_ns);
		else if (len > n)
			pe__data(f->pe, buf + n, len - n, ts_ns);
	}
}

bool files__wants_bytes(const struct mt_file *f)
{
	if (!f)
		return false;
	if (!f->mime_done || f->ext == EXT_PENDING || f->ext == EXT_WRITING)
		return true;
	if (f->pe && !pe__done(f->pe))
		return true;
	return !f->hashes_dropped && (f->mb_on || f->sha256);
}

void files__skip(struct mt_file *f, uint64_t len, uint64_t ts_ns)
{
	if (!f || !len)
		return;
	f->last = ts_ns;
	f->seen += len;
}

void files__gap(struct mt_file *f, uint64_t len, uint64_t ts_ns)
{
	if (!f || !len)
		return;
	f->last = ts_ns;
	/* Zeek: a gap ends the bof buffer (mime type from what was seen) and removes the hash
	 * analyzers (Hash::Undelivered returns false): no md5/sha1/sha256 for this file. */
	if (!f->mime_done) {
		sniff(f, ts_ns);
		pe_begin(f, ts_ns);
	}
	pe__stop(f->pe); /* PE's Undelivered: the analyzer is removed */
	if (!f->hashes_dropped) {
		f->hashes_dropped = true;
		atomic_fetch_add(&st_gaps, 1);
		EVP_MD_CTX_free(f->sha256);
		f->sha256 = NULL;
		if (f->mb_on)
			hashmb_abandon(&f->mb);
		f->mb_on = false;
	}
	f->missing += len;
	ext_hole(f, len);
}

static void file_free(struct mt_file *f)
{
	EVP_MD_CTX_free(f->sha256);
	if (f->mb_on)
		hashmb_abandon(&f->mb);
	pe__free(f->pe);
	if (f->fd >= 0) {
		close(f->fd);
		unlinkat(f->dir->fd, f->tmp_name, 0);
	}
	ext_dir_put(&f->dir);
	free(f->filename);
	free(f->desc);
	free(f);
	atomic_fetch_sub(&st_in_flight, 1);
}

void files__abort(struct mt_file *f)
{
	if (f)
		file_free(f);
}

void files__close(struct mt_file *f, uint64_t ts_ns)
{
	char md5[33] = "", sha1[41] = "", sha256[65] = "";
	const char *an[FILES_MAX_ANALYZERS];
	struct files_info fi;
	unsigned i;

	if (!f)
		return;
	/* Zeek: duration = last_active - ts, last_active moved by data and gaps only (not by
	 * the end of the file): ts_ns is not used for it, only for intel's file_hash. */
	if (!f->mime_done && (f->seen || f->missing)) {
		sniff(f, f->last);
		pe_begin(f, ts_ns); /* at the end of the file, as Zeek's EndOfFile */
	}
	if (f->ext == EXT_PENDING)
		f->ext = EXT_NONE;
	ext_finish(f);

	memset(&fi, 0, sizeof(fi));
	fi.ts_ns = f->ts;
	fi.fuid = f->fuid;
	if (f->s) {
		fi.uid = f->s->uid;
		fi.id = f->s->id;
		fi.local_orig = f->is_orig ? f->s->local_orig : f->s->local_resp;
		if (fi.local_orig != 0 && fi.local_orig != 1)
			fi.local_orig = -1;
	} else {
		fi.local_orig = -1;
	}
	fi.source = f->source;
	fi.depth = f->depth;
	for (i = 0; i < f->n_an; i++)
		an[i] = f->an[i];
	fi.analyzers = an;
	fi.n_analyzers = f->n_an;
	fi.mime_type = f->mime[0] ? f->mime : NULL;
	fi.filename = f->filename;
	fi.filename_len = f->filename_len;
	fi.duration_ns = (int64_t)(f->last - f->ts);
	fi.is_orig = f->is_orig;
	fi.seen_bytes = f->seen;
	fi.has_total_bytes = f->has_total;
	fi.total_bytes = f->total;
	fi.missing_bytes = f->missing;
	fi.parent_fuid = f->parent[0] ? f->parent : NULL;
	if (f->mb_on && !f->hashes_dropped) {
		unsigned char m5[16], s1[20];
		unsigned algs = f->mb.algs;

		f->mb_on = false;
		if (hashmb_final(&f->mb, m5, s1)) {
			if (algs & HASHMB_MD5)
				mt_hex(m5, sizeof(m5), md5);
			if (algs & HASHMB_SHA1)
				mt_hex(s1, sizeof(s1), sha1);
		}
	}
	if (f->sha256 && !f->hashes_dropped) {
		unsigned char d[32];
		unsigned dl = 0;

		if (EVP_DigestFinal_ex(f->sha256, d, &dl) == 1 && dl == sizeof(d))
			mt_hex(d, dl, sha256);
	}
	fi.md5 = md5[0] ? md5 : NULL;
	fi.sha1 = sha1[0] ? sha1 : NULL;
	fi.sha256 = sha256[0] ? sha256 : NULL;
	/* file-hashes.zeek: each hash as it is computed (file_hash), before the record */
	if (intel__has(f->cfg->intel, INTEL_FILE_HASH)) {
		if (fi.md5)
			file_intel(f, ts_ns, INTEL_FILE_HASH, INTEL_FILES_IN_HASH, md5, 32);
		if (fi.sha1)
			file_intel(f, ts_ns, INTEL_FILE_HASH, INTEL_FILES_IN_HASH, sha1, 40);
		if (fi.sha256)
			file_intel(f, ts_ns, INTEL_FILE_HASH, INTEL_FILES_IN_HASH, sha256, 64);
	}
	fi.extracted_cutoff = -1;
	if (f->ext == EXT_WRITING || f->ext == EXT_CUT) {
		fi.extracted = f->ext_name;
		fi.extracted_cutoff = f->ext_cut;
		/* Zeek sets extracted_size only when the limit cut the file (to the limit). */
		if (f->ext_cut) {
			fi.has_extracted_size = true;
			fi.extracted_size = f->ext_off;
		}
	}
	/* pe.zeek's file_state_remove handler (priority -5) writes before files.log's (-10) */
	if (f->pe && pe__info(f->pe) && f->s && f->s->rec)
		rec_pe__write(f->s->rec, pe__info(f->pe), f->fuid);
	if (f->s && f->s->rec) {
		rec_files__write(f->s->rec, &fi);
		atomic_fetch_add(&st_records, 1);
	}
	file_free(f);
}
