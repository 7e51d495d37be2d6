/* SPDX-License-Identifier: BSD-3-Clause */
/* realloc that fails on demand, for the out-of-memory paths of unit tests. Included by one
 * test file per executable: its realloc stands in for glibc's everywhere in that executable
 * (libmailtap's calls included). realloc_ok >= 0: that many more calls succeed, then every
 * one fails with ENOMEM; -1 (the default): none fails. Not under a sanitizer, whose allocator
 * must see every call: HAVE_REALLOC_FAULTS is then left undefined and tests skip. */
#ifndef MAILTAP_TEST_REALLOC_FAULT_H
#define MAILTAP_TEST_REALLOC_FAULT_H

#include <errno.h>
#include <stddef.h>

#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
#define HAVE_REALLOC_FAULTS 1
void *__libc_realloc(void *p, size_t n);
void *realloc(void *p, size_t n);
static int realloc_ok = -1;

void *realloc(void *p, size_t n)
{
	if (realloc_ok == 0) {
		errno = ENOMEM;
		return NULL;
	}
	if (realloc_ok > 0)
		realloc_ok--;
	return __libc_realloc(p, n);
}
#endif

#endif
