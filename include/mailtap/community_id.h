/* SPDX-License-Identifier: BSD-3-Clause */
/* Community ID v1 flow hash (corelight community-id-spec), as Zeek's policy script logs it. */
#ifndef MAILTAP_COMMUNITY_ID_H
#define MAILTAP_COMMUNITY_ID_H

#include <stdint.h>
#include "mailtap/types.h"

#define COMMUNITY_ID_LEN 32 /* "1:" + 28 base64 chars + NUL, rounded up */

/* Writes "1:<base64 sha1>" for the TCP/UDP flow id with the given seed. Returns the length. */
int community_id__v1(const struct conn_id *id, uint16_t seed, char out[COMMUNITY_ID_LEN]);

#endif
