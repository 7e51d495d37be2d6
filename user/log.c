// SPDX-License-Identifier: BSD-3-Clause
/* Logging to stderr, one line per message, with the program name. */
#include <stdarg.h>
#include <stdio.h>
#include "mailtap/log.h"

static enum log_level cur_level = LOG_INFO;

void log__set_level(enum log_level lvl)
{
	cur_level = lvl;
}

enum log_level log__level(void)
{
	return cur_level;
}

void log__print(enum log_level lvl, const char *fmt, ...)
{
	va_list ap;

	if (lvl > cur_level)
		return;
	va_start(ap, fmt);
	fputs("mailtap: ", stderr);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
}
