// SPDX-License-Identifier: BSD-3-Clause
/* SMTP block list notices (smtp_blocklist.h). */
#include <stdio.h>
#include <string.h>
#include "mailtap/notice.h"
#include "mailtap/smtp.h"
#include "mailtap/smtp_blocklist.h"

/* SMTP::blocklist_error_messages, but the one with a wildcard (dyndns.com/.*spam) */
static const char *const needles[] = {
    "spamhaus.org/",	 "sophos.com/security/",
    "spamcop.net/bl",	 "cbl.abuseat.org/",
    "sorbs.net/",	 "bsn.borderware.com/",
    "mail-abuse.com/",	 "b.barracudacentral.com/",
    "psbl.surriel.com/", "antispam.imp.ch/",
    "rbl.knology.net/",	 "intercept.datapacket.net/",
    "uceprotect.net/",	 "hostkarma.junkemailfilter.com/",
};

static const char *find(const char *h, size_t n, const char *needle)
{
	size_t k = strlen(needle);

	return k <= n ? memmem(h, n, needle, k) : NULL;
}

bool smtp_blocklist__match(const char *msg, size_t n)
{
	const char *d;

	for (size_t i = 0; i < sizeof(needles) / sizeof(needles[0]); i++)
		if (find(msg, n, needles[i]))
			return true;
	/* /dyndns\.com\/.*spam/: "." does not match a newline, and a reply line has none */
	d = find(msg, n, "dyndns.com/");
	if (d) {
		d += strlen("dyndns.com/");
		if (find(d, n - (size_t)(d - msg), "spam"))
			return true;
	}
	return false;
}

bool smtp_blocklist__reply(struct rec *r, uint64_t ts, const char *uid, const struct conn_id *id,
			   unsigned code, const char *msg, size_t n)
{
	struct mt_addr a;
	char orig[64], text[256];
	bool listed;
	struct notice_info nt = {.ts_ns = ts, .uid = uid, .id = id};

	if (code < 400 || code == 421 || !smtp_blocklist__match(msg, n))
		return false;
	/* extract_ip_addresses(msg): is the first one the originator? */
	listed = smtp__first_ip(msg, n, &a) && !mt_addr__cmp(&a, &id->orig_h);
	mt_addr__fmt(&id->orig_h, orig, sizeof(orig));
	nt.note = listed ? "SMTP::Blocklist_Blocked_Host" : "SMTP::Blocklist_Error_Message";
	snprintf(text, sizeof(text),
		 listed ? "%s is on an SMTP block list"
			: "%s received an error message mentioning an SMTP block list",
		 orig);
	nt.msg = text;
	/* $sub=msg: the whole reply text, NULs and all (the record cuts at the logging limit) */
	nt.sub = n ? msg : "";
	nt.sub_len = n;
	nt.identifier = orig; /* cat(c$id$orig_h) */
	nt.identifier_len = strlen(orig);
	notice__raise(r, &nt);
	return true;
}
