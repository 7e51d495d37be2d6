/* SPDX-License-Identifier: BSD-3-Clause */
/* Zeek's policy/protocols/smtp/blocklists.zeek: an SMTP error reply (a code of 400 or more,
 * not 421) whose text names a spam block list (SMTP::blocklist_error_messages: spamhaus.org/,
 * spamcop.net/bl, ...) raises the notice SMTP::Blocklist_Error_Message, or
 * SMTP::Blocklist_Blocked_Host when the first address in the text is the originator's:
 * the sending host itself is listed. Identified by the originator, so suppressed for an
 * hour per host (notice.h). */
#ifndef MAILTAP_SMTP_BLOCKLIST_H
#define MAILTAP_SMTP_BLOCKLIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "mailtap/types.h"

struct rec;

/* Does the reply text match SMTP::blocklist_error_messages (case-sensitive, anywhere)? */
bool smtp_blocklist__match(const char *msg, size_t n);

/* The smtp_reply handler: raises the notice when code and text call for it. Returns true
 * when a notice was raised (written or suppressed). */
bool smtp_blocklist__reply(struct rec *r, uint64_t ts, const char *uid, const struct conn_id *id,
			   unsigned code, const char *msg, size_t n);

#endif
