/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The per-interface lock live capture takes (user/loader.c for AF_XDP, user/hostcap.c for
 * host mode): DIR/NETNS_INODE-IFACE.SUFFIX, held with flock(LOCK_EX|LOCK_NB) for the life of
 * the capture. Its text is "PID VALUE\n": the value is what a later mailtap needs to clean up
 * after this one if it dies (the XDP program id; whether we created the clsact qdisc). The
 * kernel releases the flock when the process dies, so a file that can be locked but holds a
 * value is a crashed run's: a run that stops empties it (through its fd, before it tries to
 * remove it, which fails when the directory is not its own any more). The lock is the file at
 * the path: one locked after its owner removed it is let go and the new one taken.
 */
#ifndef MAILTAP_IFLOCK_H
#define MAILTAP_IFLOCK_H

#include <limits.h>

struct iflock {
	int fd; /* -1: not held */
	char path[PATH_MAX];
};

/*
 * Takes the lock of IFNAME in DIR (created if absent), SUFFIX "lock" or "host.lock".
 * *old_value: the value the previous owner wrote (0 if none), read once the lock is held.
 * -EBUSY when a live mailtap holds it, else negative errno; WHO prefixes the messages ("live
 * capture").
 */
int iflock__take(struct iflock *lk, const char *dir, const char *ifname, const char *suffix,
		 const char *who, unsigned long *old_value);
/* Records our pid and VALUE in the held lock. */
void iflock__write(struct iflock *lk, unsigned long value);
/* Empties, removes and releases the lock; no-op when not held. */
void iflock__drop(struct iflock *lk);
/*
 * Records our pid and VALUE, then releases the lock but leaves the file: something of ours
 * (VALUE says what) may still be there for the next run to remove. No-op when not held.
 */
void iflock__keep(struct iflock *lk, unsigned long value);

#endif
