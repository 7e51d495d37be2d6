// SPDX-License-Identifier: BSD-3-Clause
/* Every app parser mailtap runs, with default configuration and the smtp_events stream on,
 * for fuzz targets of the whole pipeline; intel items of every kind that match everywhere
 * (every address, the common test names) and the notice stream, so that every place that
 * looks indicators up runs. */
#include <stdio.h>
#include "mailtap/certval.h"
#include "mailtap/intel.h"
#include "mailtap/notice.h"
#include "mailtap/parsers.h"
#include "fuzz_parsers.h"

const struct intel *fuzz_intel(void)
{
	static const char dat[] =
	    "#fields\tindicator\tindicator_type\tmeta.source\tmeta.do_notice\n"
	    "0.0.0.0/0\tIntel::SUBNET\ta\tT\n::/0\tIntel::SUBNET\ta\tF\n"
	    "example.com\tIntel::URL\tu\tT\nexample.com\tIntel::DOMAIN\td\tT\n"
	    "a@example.com\tIntel::EMAIL\te\tT\nx\tIntel::SOFTWARE\ts\tF\n"
	    "a.txt\tIntel::FILE_NAME\tn\tF\n"
	    "d41d8cd98f00b204e9800998ecf8427e\tIntel::FILE_HASH\th\tT\n"
	    "0000000000000000000000000000000000000000\tIntel::CERT_HASH\tc\tF\n";
	static struct intel *in;
	static int init;

	if (!init) {
		FILE *fp = fmemopen((void *)dat, sizeof(dat) - 1, "r");
		char err[128];
		struct notice_cfg nc;

		init = 1;
		in = intel__new(NULL);
		if (in && fp)
			intel__load_fp(in, fp, "fuzz", NULL, err, sizeof(err));
		if (fp)
			fclose(fp);
		notice_cfg__default(&nc);
		notice__init(&nc);
	}
	return in;
}

static struct parsers *last;

void fuzz_register_parsers(struct engine *e)
{
	static struct parsers_cfg c;
	static int init;

	if (!init) {
		parsers_cfg__default(&c);
		c.smtp.events = true;
		c.smtp.rfc822_msg_file = true;
		c.smtp.blocklists = true;
		c.files.sha256 = true;
		c.tls.cert_roots = certval_roots__load("/etc/ssl/certs/ca-certificates.crt");
		c.smtp.intel = c.files.intel = c.tls.intel = c.tls.files.intel = fuzz_intel();
		init = 1;
	}
	parsers__free(last); /* the previous input's engine is gone */
	last = parsers__register(e, &c);
}
