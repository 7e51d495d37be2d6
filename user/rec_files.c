// SPDX-License-Identifier: BSD-3-Clause
/* files record encoder: field names and order of Zeek's Files::Info with base/files/hash and
 * base/files/extract loaded. */
#include <errno.h>
#include "mailtap/rec.h"
#include "mailtap/rec_files.h"

int rec_files__write(struct rec *r, const struct files_info *fi)
{
	unsigned i;

	if (!r || !fi)
		return -EINVAL;
	rec__begin(r, "files", fi->ts_ns);
	rec__cstr(r, "fuid", fi->fuid);
	if (fi->uid && fi->id)
		rec__conn(r, fi->uid, fi->id);
	rec__cstr(r, "source", fi->source);
	rec__u64(r, "depth", fi->depth);
	rec__arr_begin(r, "analyzers");
	for (i = 0; i < fi->n_analyzers; i++)
		rec__arr_cstr(r, fi->analyzers[i]);
	rec__arr_end(r);
	rec__cstr(r, "mime_type", fi->mime_type);
	if (fi->filename)
		rec__str(r, "filename", fi->filename, fi->filename_len);
	rec__interval(r, "duration", fi->duration_ns);
	if (fi->local_orig >= 0)
		rec__bool(r, "local_orig", fi->local_orig != 0);
	rec__bool(r, "is_orig", fi->is_orig);
	rec__u64(r, "seen_bytes", fi->seen_bytes);
	if (fi->has_total_bytes)
		rec__u64(r, "total_bytes", fi->total_bytes);
	rec__u64(r, "missing_bytes", fi->missing_bytes);
	rec__u64(r, "overflow_bytes", fi->overflow_bytes);
	rec__bool(r, "timedout", fi->timedout);
	rec__cstr(r, "parent_fuid", fi->parent_fuid);
	rec__cstr(r, "md5", fi->md5);
	rec__cstr(r, "sha1", fi->sha1);
	rec__cstr(r, "sha256", fi->sha256);
	rec__cstr(r, "extracted", fi->extracted);
	if (fi->extracted_cutoff >= 0)
		rec__bool(r, "extracted_cutoff", fi->extracted_cutoff != 0);
	if (fi->has_extracted_size)
		rec__u64(r, "extracted_size", fi->extracted_size);
	return rec__end(r);
}
