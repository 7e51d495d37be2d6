/* SPDX-License-Identifier: BSD-3-Clause */
/* Rereading the intel files of a live sensor, as Zeek's input framework does for
 * Intel::read_files (Input::REREAD): once a second the files are checked (modification
 * and change time, size, inode), and when one changed and then stayed so for a second (not
 * read while it is being written), or on request (SIGHUP), a thread builds a new
 * store from all of them and puts it in place of the one in use (intel__reload). Capture
 * and analysis go on meanwhile; a file that cannot be read or has no #fields line leaves
 * the store as it was, with a message. */
#ifndef MAILTAP_INTEL_REREAD_H
#define MAILTAP_INTEL_REREAD_H

#include <stdbool.h>
#include <stdint.h>

struct intel;
struct intel_reread;

/* paths (n of them) must stay valid; the files' state now is the state loaded. */
struct intel_reread *intel_reread__new(struct intel *in, const char *const *paths, int n);
/* Once a second: reports a finished rereading, starts one when a file changed or force.
 * Returns 1 when a rereading started, 0 when none did, -errno when its thread could not
 * be started. */
int intel_reread__tick(struct intel_reread *rr, bool force);
/* Is a rereading under way, or finished and not yet reported by a tick? */
bool intel_reread__busy(struct intel_reread *rr);
/* Waits for a rereading under way, then frees. */
void intel_reread__free(struct intel_reread *rr);

#endif
