// SPDX-License-Identifier: BSD-3-Clause
/* Every app parser mailtap runs, with default configuration and the smtp_events stream on,
 * for fuzz targets of the whole pipeline. */
#include "mailtap/certval.h"
#include "mailtap/parsers.h"
#include "fuzz_parsers.h"

static struct parsers *last;

void fuzz_register_parsers(struct engine *e)
{
	static struct parsers_cfg c;
	static int init;

	if (!init) {
		parsers_cfg__default(&c);
		c.smtp.events = true;
		c.smtp.rfc822_msg_file = true;
		c.files.sha256 = true;
		c.tls.cert_roots = certval_roots__load("/etc/ssl/certs/ca-certificates.crt");
		init = 1;
	}
	parsers__free(last); /* the previous input's engine is gone */
	last = parsers__register(e, &c);
}
