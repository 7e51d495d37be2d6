/* SPDX-License-Identifier: BSD-3-Clause */
/* Least privilege: after capture is set up and outputs are open, become an unprivileged user
 * keeping only the capabilities still needed, and optionally confine the process with a
 * seccomp allow-list. docs/operations.md lists what is kept and why. */
#ifndef MAILTAP_PRIVS_H
#define MAILTAP_PRIVS_H

#include <stdbool.h>
#include <stdint.h>

/* Capabilities kept, as a bit mask of CAP_* numbers (1ULL << CAP_NET_ADMIN ...). */
struct privs_opts {
	const char *user;  /* NULL: stay who we are (capabilities are still reduced) */
	uint64_t keep;	   /* capabilities kept after the switch */
	bool seccomp;	   /* install the allow-list (other syscalls fail with EPERM) */
};

/* Drops privileges as described. 0 or -errno, with the reason logged. */
int privs__drop(const struct privs_opts *o);
/* Clears every capability of the calling thread (capabilities are per thread): for threads
 * started after privs__drop, which would otherwise inherit what the main thread kept. */
int privs__drop_thread(void);
/* Makes the permitted capabilities effective. The installed binary carries file capabilities
 * without the effective bit (setcap ...+p), so exec works where the container or unit grants
 * only some of them (a "+ep" binary fails to exec then); mailtap raises what it got. */
void privs__raise_permitted(void);
/* The capabilities this process has now (effective set), for tests and --stats. */
uint64_t privs__effective(void);

#endif
