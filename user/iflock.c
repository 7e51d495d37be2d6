// SPDX-License-Identifier: BSD-3-Clause
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mailtap/iflock.h"
#include "mailtap/log.h"

/* Tries of iflock__take when the file it locked was removed or replaced meanwhile. */
#define IFLOCK_TRIES 100

int iflock__take(struct iflock *lk, const char *dir, const char *ifname, const char *suffix,
		 const char *who, unsigned long *old_value)
{
	struct stat ns = {0}, held, now;
	unsigned long old_pid = 0, old = 0;
	char buf[64];
	ssize_t n;
	int fd, err, tries;

	lk->fd = -1;
	*old_value = 0;
	if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
		err = -errno;
		pr_warn("%s: cannot create %s: %s\n", who, dir, strerror(-err));
		return err;
	}
	/* The netns inode keeps mailtaps in different namespaces (same IFACE name) apart. */
	stat("/proc/self/ns/net", &ns);
	snprintf(lk->path, sizeof(lk->path), "%s/%lu-%s.%s", dir, (unsigned long)ns.st_ino,
		 ifname, suffix);
	for (tries = 0;; tries++) {
		fd = open(lk->path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
		if (fd < 0) {
			err = -errno;
			pr_warn("%s: %s: %s\n", who, lk->path, strerror(-err));
			return err;
		}
		if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
			n = pread(fd, buf, sizeof(buf) - 1, 0);
			buf[n > 0 ? n : 0] = '\0';
			if (sscanf(buf, "%lu", &old_pid) < 1)
				old_pid = 0;
			pr_warn("%s: another mailtap (pid %lu) captures on %s (lock %s)\n", who,
				old_pid, ifname, lk->path);
			close(fd);
			return -EBUSY;
		}
		/* The owner removes the file when it stops. Opened before that and locked after,
		 * ours is a file no longer at the path, while a third run may hold a new one
		 * there: only the file at the path is the lock. */
		if (fstat(fd, &held) == 0 && stat(lk->path, &now) == 0 &&
		    held.st_dev == now.st_dev && held.st_ino == now.st_ino)
			break;
		close(fd);
		if (tries == IFLOCK_TRIES) {
			pr_warn(
			    "%s: %s keeps being replaced: another mailtap starting and stopping "
			    "on %s?\n",
			    who, lk->path, ifname);
			return -EBUSY;
		}
	}
	/* Read under the lock: what the last owner left, which a dead owner cannot change. */
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
	if (sscanf(buf, "%lu %lu", &old_pid, &old) < 2)
		old = 0;
	lk->fd = fd;
	*old_value = old;
	return 0;
}

void iflock__write(struct iflock *lk, unsigned long value)
{
	char buf[64];
	int n = snprintf(buf, sizeof(buf), "%ld %lu\n", (long)getpid(), value);

	if (ftruncate(lk->fd, 0) != 0 || pwrite(lk->fd, buf, (size_t)n, 0) != n)
		pr_debug("cannot write %s\n", lk->path);
}

void iflock__drop(struct iflock *lk)
{
	if (lk->fd < 0)
		return;
	/* Emptied first, through our fd and while we hold it: the file may stay (after --user the
	 * directory is root's and the unlink fails), and a value left in it would pass for a
	 * crashed run's to the next one, which acts on it (removes a qdisc we did not leave). */
	if (ftruncate(lk->fd, 0) != 0)
		pr_debug("cannot empty %s: %s\n", lk->path, strerror(errno));
	unlink(lk->path);
	close(lk->fd);
	lk->fd = -1;
}

void iflock__keep(struct iflock *lk, unsigned long value)
{
	if (lk->fd < 0)
		return;
	/* Left at the path, for the next run: its flock goes with our fd. */
	iflock__write(lk, value);
	close(lk->fd);
	lk->fd = -1;
}
