// SPDX-License-Identifier: BSD-3-Clause
/* The parser set: SMTP (with MIME and files) and SSL/TLS, registered with an engine. */
#include "mailtap/engine.h"
#include "mailtap/parsers.h"

void parsers_cfg__default(struct parsers_cfg *c)
{
	files_cfg__default(&c->files);
	smtp_cfg__default(&c->smtp);
	c->smtp.files = &c->files;
	tls_cfg__default(&c->tls);
}

int parsers__register(struct engine *e, struct parsers_cfg *c)
{
	int err;

	c->smtp.files = &c->files;
	err = engine__add_parser(e, &app_smtp_ops, &c->smtp);
	if (!err)
		err = engine__add_parser(e, &app_tls_ops, &c->tls);
	return err;
}
