/* SPDX-License-Identifier: BSD-3-Clause */
/* Where the unit tests find ../shared/corpus: beside the repository, whose root the tests run
 * from (tests/run.sh, CI). CORPUS for paths built from literals; corpus_dir() where a path is
 * built at run time, which MAILTAP_CORPUS may move. */
#ifndef MAILTAP_TEST_CORPUS_H
#define MAILTAP_TEST_CORPUS_H

#include <stdlib.h>

#define CORPUS "../shared/corpus/"

static inline const char *corpus_dir(void)
{
	const char *c = getenv("MAILTAP_CORPUS");

	return c ? c : "../shared/corpus";
}

#endif
