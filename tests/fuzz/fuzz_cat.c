// SPDX-License-Identifier: BSD-3-Clause
/* libFuzzer target for mailtap-cat's msgpack reader (JSON and column output, the tag, a stream
 * filter), on arbitrary bytes: it must report corrupt, too deeply nested or truncated input,
 * never crash or hang. The printers walk the bytes of an entry the extent check accepted, so
 * a length or count that check let through wrongly shows here as a read out of bounds. */
#include <stdint.h>
#include <stdio.h>
#define main mailtap_cat_main
#include "../../tools/mailtap-cat.c"
#undef main

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE *devnull;
	struct cat_opts co = { 0 };
	FILE *in = fmemopen((void *)data, size, "rb");

	if (!devnull) {
		devnull = fopen("/dev/null", "w");
		stdout = devnull;
		stderr = devnull;
	}
	if (!in)
		return 0;
	if (size && data[0] & 1) {
		co.cols[0] = "uid";
		co.cols[1] = "id.orig_h";
		co.cols[2] = "uid";
		co.cols[3] = "";
		co.n_cols = 4;
	}
	if (size && data[0] & 2)
		co.with_tag = 1;
	if (size && data[0] & 4)
		co.stream = "conn";
	cat(in, "fuzz", &co);
	fclose(in);
	return 0;
}
