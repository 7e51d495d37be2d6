// SPDX-License-Identifier: BSD-3-Clause
/* Privilege drop: bounding set reduced to `keep`, setgroups/setgid/setuid to the user with
 * PR_SET_KEEPCAPS so the kept capabilities survive, then permitted = effective = keep and
 * no_new_privs. Seccomp: an allow-list of what packet processing, outputs, extraction and
 * shutdown use; anything else fails with EPERM (never kills: a sensor must not crash). */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <unistd.h>
#include "mailtap/log.h"
#include "mailtap/privs.h"

uint64_t privs__effective(void)
{
	char line[256];
	uint64_t m = 0;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "CapEff:", 7)) {
			m = strtoull(line + 7, NULL, 16);
			break;
		}
	fclose(f);
	return m;
}

void privs__raise_permitted(void)
{
	cap_t c = cap_get_proc();
	cap_value_t list[64];
	int n = 0;

	if (!c)
		return;
	for (int i = 0; i <= CAP_LAST_CAP && i < 64; i++) {
		cap_flag_value_t v = CAP_CLEAR;

		if (cap_get_flag(c, (cap_value_t)i, CAP_PERMITTED, &v) == 0 && v == CAP_SET)
			list[n++] = (cap_value_t)i;
	}
	if (n && cap_set_flag(c, CAP_EFFECTIVE, n, list, CAP_SET) == 0)
		cap_set_proc(c); /* failure leaves what we had: setup then names what is missing */
	cap_free(c);
}

static int set_caps(uint64_t keep)
{
	cap_t c = cap_init();
	cap_value_t list[64];
	int n = 0, err = 0;

	if (!c)
		return -errno;
	for (int i = 0; i <= CAP_LAST_CAP && i < 64; i++)
		if (keep & (1ULL << i))
			list[n++] = (cap_value_t)i;
	if (n && (cap_set_flag(c, CAP_PERMITTED, n, list, CAP_SET) < 0 ||
		  cap_set_flag(c, CAP_EFFECTIVE, n, list, CAP_SET) < 0))
		err = -errno;
	if (!err && cap_set_proc(c) < 0)
		err = -errno;
	cap_free(c);
	return err;
}

int privs__drop_thread(void)
{
	return set_caps(0);
}

static const int allowed[] = {
	SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev), SCMP_SYS(pread64),
	SCMP_SYS(pwrite64), SCMP_SYS(lseek), SCMP_SYS(close), SCMP_SYS(fstat),
	SCMP_SYS(newfstatat), SCMP_SYS(statx), SCMP_SYS(openat), SCMP_SYS(renameat),
	SCMP_SYS(renameat2), SCMP_SYS(rename), SCMP_SYS(unlinkat), SCMP_SYS(unlink),
	SCMP_SYS(mkdirat), SCMP_SYS(fsync), SCMP_SYS(fdatasync), SCMP_SYS(ftruncate),
	SCMP_SYS(fallocate), SCMP_SYS(getdents64), SCMP_SYS(fcntl), SCMP_SYS(dup),
	SCMP_SYS(dup3), SCMP_SYS(flock), SCMP_SYS(mmap), SCMP_SYS(munmap), SCMP_SYS(mremap),
	SCMP_SYS(mprotect), SCMP_SYS(brk), SCMP_SYS(madvise), SCMP_SYS(futex),
	SCMP_SYS(poll), SCMP_SYS(ppoll), SCMP_SYS(epoll_wait), SCMP_SYS(epoll_pwait),
	SCMP_SYS(epoll_ctl), SCMP_SYS(epoll_create1), SCMP_SYS(select), SCMP_SYS(pselect6),
	SCMP_SYS(socket), SCMP_SYS(connect), SCMP_SYS(shutdown), SCMP_SYS(sendto),
	SCMP_SYS(sendmsg), SCMP_SYS(sendmmsg), SCMP_SYS(recvfrom), SCMP_SYS(recvmsg),
	SCMP_SYS(getsockopt), SCMP_SYS(setsockopt), SCMP_SYS(getsockname),
	SCMP_SYS(getpeername), SCMP_SYS(bind), SCMP_SYS(clock_gettime),
	SCMP_SYS(clock_nanosleep), SCMP_SYS(nanosleep), SCMP_SYS(gettimeofday),
	SCMP_SYS(setitimer), SCMP_SYS(getitimer), SCMP_SYS(rt_sigreturn),
	SCMP_SYS(rt_sigprocmask), SCMP_SYS(rt_sigaction), SCMP_SYS(sigaltstack),
	SCMP_SYS(exit), SCMP_SYS(exit_group), SCMP_SYS(getrandom), SCMP_SYS(sched_yield),
	SCMP_SYS(gettid), SCMP_SYS(getpid), SCMP_SYS(tgkill), SCMP_SYS(getuid),
	SCMP_SYS(geteuid), SCMP_SYS(getgid), SCMP_SYS(getegid), SCMP_SYS(uname),
	SCMP_SYS(clone), SCMP_SYS(clone3), SCMP_SYS(set_robust_list), SCMP_SYS(rseq),
	SCMP_SYS(prctl), SCMP_SYS(capget), SCMP_SYS(capset), SCMP_SYS(bpf), SCMP_SYS(ioctl),
	SCMP_SYS(restart_syscall),
	SCMP_SYS(sysinfo), SCMP_SYS(getrlimit), SCMP_SYS(prlimit64), SCMP_SYS(pipe2),
	SCMP_SYS(eventfd2), SCMP_SYS(membarrier), SCMP_SYS(sched_getaffinity),
	SCMP_SYS(readlinkat), SCMP_SYS(faccessat), SCMP_SYS(faccessat2), SCMP_SYS(access),
	SCMP_SYS(open), SCMP_SYS(stat), SCMP_SYS(lstat), SCMP_SYS(mkdir), SCMP_SYS(sendfile),
};

static int install_seccomp(void)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
	int err = 0;

	if (!ctx)
		return -ENOMEM;
	for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++) {
		if (allowed[i] < 0)
			continue; /* not on this architecture */
		err = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, allowed[i], 0);
		if (err)
			break;
	}
	/* every thread of the process (workers, capture threads, the Forward sender), not only
	 * this one: the kernel syncs the filter and no_new_privs to them (TSYNC) */
	if (!err)
		err = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	if (!err)
		err = seccomp_load(ctx);
	seccomp_release(ctx);
	return err;
}

int privs__drop(const struct privs_opts *o)
{
	struct passwd *pw = NULL;
	int err;

	if (o->user) {
		pw = getpwnam(o->user);
		if (!pw) {
			pr_warn("--user %s: no such user\n", o->user);
			return -ENOENT;
		}
	}
	/* bounding set: nothing beyond `keep` can ever come back (needs CAP_SETPCAP) */
	if (geteuid() == 0) {
		for (int i = 0; i <= CAP_LAST_CAP && i < 64; i++)
			if (!(o->keep & (1ULL << i)) && prctl(PR_CAPBSET_DROP, i, 0, 0, 0) < 0 &&
			    errno != EINVAL) {
				err = -errno;
				pr_warn("cannot drop capability %d from the bounding set: %s\n", i,
					strerror(-err));
				return err;
			}
	}
	if (pw) {
		if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0 || setgroups(1, &pw->pw_gid) < 0 ||
		    setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0) {
			err = -errno;
			pr_warn("cannot switch to user %s: %s\n", o->user, strerror(-err));
			return err;
		}
		if (setuid(0) == 0) { /* must be impossible now */
			pr_warn("privilege drop to %s did not stick\n", o->user);
			return -EPERM;
		}
	}
	err = set_caps(o->keep);
	if (err) {
		pr_warn("cannot set the kept capabilities: %s\n", strerror(-err));
		return err;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		err = -errno;
		pr_warn("cannot set no_new_privs: %s\n", strerror(-err));
		return err;
	}
	if (o->seccomp) {
		err = install_seccomp();
		if (err) {
			pr_warn("cannot install the seccomp filter: %s\n", strerror(-err));
			return err;
		}
	}
	return 0;
}
