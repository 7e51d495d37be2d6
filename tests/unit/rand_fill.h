/* SPDX-License-Identifier: BSD-3-Clause */
/* n pseudo-random bytes (an LCG from seed): attachments and garbage for the unit tests. */
#ifndef MAILTAP_TEST_RAND_FILL_H
#define MAILTAP_TEST_RAND_FILL_H

#include <stddef.h>
#include <stdint.h>

static inline void rand_fill(void *buf, size_t n, uint32_t seed)
{
	uint8_t *p = buf;

	for (size_t i = 0; i < n; i++) {
		seed = seed * 1103515245 + 12345;
		p[i] = (uint8_t)(seed >> 16);
	}
}

#endif
