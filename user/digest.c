// SPDX-License-Identifier: BSD-3-Clause
/* Digests fetched once (include/mailtap/digest.h). */
#include <pthread.h>
#include "mailtap/digest.h"

static const EVP_MD *mds[MT_MD__N];
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void fetch_all(void)
{
	static const char *const names[MT_MD__N] = {"MD5", "SHA1", "SHA256"};

	for (int i = 0; i < MT_MD__N; i++)
		mds[i] = EVP_MD_fetch(NULL, names[i], NULL); /* kept for the process's life */
}

const EVP_MD *mt_md(enum mt_md which)
{
	pthread_once(&once, fetch_all);
	if (which >= 0 && which < MT_MD__N && mds[which])
		return mds[which];
	return which == MT_MD5 ? EVP_md5() : which == MT_SHA1 ? EVP_sha1() : EVP_sha256();
}
