/* SPDX-License-Identifier: BSD-3-Clause */
/* The parsers a fuzz target of the whole pipeline registers: every app parser that exists. */
#ifndef MAILTAP_FUZZ_PARSERS_H
#define MAILTAP_FUZZ_PARSERS_H

#include "mailtap/engine.h"

/* Defined in tests/fuzz/fuzz_parsers.c, which tools/fuzz.sh links when the parsers exist. */
/* The intel store of the pipeline targets (also for engine_cfg.intel). */
struct intel;
const struct intel *fuzz_intel(void);
void fuzz_register_parsers(struct engine *e);

#endif
