/* SPDX-License-Identifier: BSD-3-Clause */
/* An optional lock for a table one thread uses alone until it is shared by several: NULL
 * (no locking, no cost but a test) until mt_optlock__share makes it. knownset.c, x509.c
 * (the x509 dedup cache) and software.c use it. */
#ifndef MAILTAP_OPTLOCK_H
#define MAILTAP_OPTLOCK_H

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

static inline int mt_optlock__share(pthread_mutex_t **mu)
{
	if (*mu)
		return 0;
	if (!(*mu = malloc(sizeof(**mu))))
		return -ENOMEM;
	pthread_mutex_init(*mu, NULL);
	return 0;
}

static inline void mt_optlock__free(pthread_mutex_t *mu)
{
	if (mu) {
		pthread_mutex_destroy(mu);
		free(mu);
	}
}

static inline void mt_optlock__lock(pthread_mutex_t *mu)
{
	if (mu)
		pthread_mutex_lock(mu);
}

static inline void mt_optlock__unlock(pthread_mutex_t *mu)
{
	if (mu)
		pthread_mutex_unlock(mu);
}

#endif
