/* SPDX-License-Identifier: BSD-3-Clause */
/* Allocation that fails on demand, for the out-of-memory paths of unit tests. Included by one
 * test file per executable: its malloc, calloc, realloc, aligned_alloc, posix_memalign and
 * free stand in for glibc's everywhere in that executable (libmailtap's, OpenSSL's and libc's
 * own calls included).
 *   alloc_ok >= 0: that many more allocations succeed, then every one fails with ENOMEM;
 *   -1 (the default): none fails.
 *   alloc_harness > 0: the test's own code is running; its allocations neither fail nor count
 *   against alloc_ok.
 *   alloc_live: blocks allocated and not yet freed; a run that returns it to where it was
 *   leaked nothing (a leak check where no sanitizer runs). alloc_failures: calls made to fail.
 * Not under a sanitizer, whose allocator must see every call: HAVE_ALLOC_FAULTS is then left
 * undefined and tests skip. */
#ifndef MAILTAP_TEST_ALLOC_FAULT_H
#define MAILTAP_TEST_ALLOC_FAULT_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>

#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
#define HAVE_ALLOC_FAULTS 1
void *__libc_malloc(size_t n);
void *__libc_calloc(size_t n, size_t size);
void *__libc_realloc(void *p, size_t n);
void *__libc_memalign(size_t align, size_t n);
void __libc_free(void *p);
void *malloc(size_t n);
void *calloc(size_t n, size_t size);
void *realloc(void *p, size_t n);
void *aligned_alloc(size_t align, size_t n);
int posix_memalign(void **out, size_t align, size_t n);
void free(void *p);

static int alloc_ok = -1;
static int alloc_harness;
static long alloc_live;
static long alloc_failures; /* allocations made to fail */

static bool alloc_fails(void)
{
	if (alloc_harness || alloc_ok < 0)
		return false;
	if (alloc_ok == 0) {
		alloc_failures++;
		errno = ENOMEM;
		return true;
	}
	alloc_ok--;
	return false;
}

static void *alloc_counted(void *p)
{
	if (p)
		alloc_live++;
	return p;
}

void *malloc(size_t n)
{
	return alloc_fails() ? NULL : alloc_counted(__libc_malloc(n));
}

void *calloc(size_t n, size_t size)
{
	return alloc_fails() ? NULL : alloc_counted(__libc_calloc(n, size));
}

void *realloc(void *p, size_t n)
{
	void *q;

	if (alloc_fails())
		return NULL;
	q = __libc_realloc(p, n);
	if (q && !p)
		alloc_live++;
	else if (!q && p && n == 0)
		alloc_live--; /* realloc(p, 0) freed p */
	return q;
}

void *aligned_alloc(size_t align, size_t n)
{
	return alloc_fails() ? NULL : alloc_counted(__libc_memalign(align, n));
}

int posix_memalign(void **out, size_t align, size_t n)
{
	void *p;

	if (alloc_fails())
		return ENOMEM;
	p = alloc_counted(__libc_memalign(align, n));
	if (!p)
		return ENOMEM;
	*out = p;
	return 0;
}

void free(void *p)
{
	if (p)
		alloc_live--;
	__libc_free(p);
}
#endif

/* The test's own code runs from here to alloc_harness_leave(): its allocations neither fail
 * nor count against alloc_ok. Nothing without HAVE_ALLOC_FAULTS. */
static inline void alloc_harness_enter(void)
{
#ifdef HAVE_ALLOC_FAULTS
	alloc_harness++;
#endif
}

static inline void alloc_harness_leave(void)
{
#ifdef HAVE_ALLOC_FAULTS
	alloc_harness--;
#endif
}

#endif
