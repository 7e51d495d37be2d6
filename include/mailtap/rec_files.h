/* SPDX-License-Identifier: BSD-3-Clause */
/* The `files` record (Zeek Files::Info, files.log) built from a struct files_info. */
#ifndef MAILTAP_REC_FILES_H
#define MAILTAP_REC_FILES_H

#include "mailtap/files.h"

struct rec;

/* Writes one "files" record: ts fuid uid id.* source depth analyzers mime_type filename
 * duration local_orig is_orig seen_bytes total_bytes missing_bytes overflow_bytes timedout
 * parent_fuid md5 sha1 sha256 extracted extracted_cutoff extracted_size (unset optional
 * fields omitted). Returns rec__end()'s result. */
int rec_files__write(struct rec *r, const struct files_info *fi);

#endif
