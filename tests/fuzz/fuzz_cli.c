// SPDX-License-Identifier: BSD-3-Clause
/* libFuzzer target for command-line parsing: the input is split on NUL bytes into arguments
 * and handed to mailtap's option parser (user/opts.c's opts__parse, which validates every
 * value: numbers, ports, CIDRs, modes, hash lists). It must reject or accept, never crash,
 * hang or read out of bounds. */
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mailtap/log.h"
#include "mailtap/opts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int quiet;
	char *buf = malloc(size + 1), *argv[64];
	int argc = 0;
	struct opts o;

	if (!quiet) {
		log__set_level(LOG_WARN);
		stdout = fopen("/dev/null", "w");
		stderr = stdout;
		quiet = 1;
	}
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	argv[argc++] = (char *)"mailtap";
	for (size_t i = 0; i < size && argc < 63;) {
		argv[argc++] = buf + i;
		i += strlen(buf + i) + 1;
	}
	argv[argc] = NULL;
	memset(&o, 0, sizeof(o));
	optind = 0; /* glibc: a full reset of getopt's state */
	opterr = 0;
	opts__parse(&o, argc, argv);
	free(buf);
	return 0;
}
