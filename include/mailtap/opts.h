/* SPDX-License-Identifier: BSD-3-Clause */
/* The command line: every option read into struct opts, each value checked (the message
 * names the option), with the modules' defaults for what is not given, and --help's text.
 * main.c runs what it describes. */
#ifndef MAILTAP_OPTS_H
#define MAILTAP_OPTS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "mailtap/engine.h"
#include "mailtap/hostcap.h"
#include "mailtap/intel.h"
#include "mailtap/notice.h"
#include "mailtap/parsers.h"
#include "mailtap/rec.h"
#include "mailtap/sink_fwd.h"
#include "mailtap/tunnels.h"
#include "mailtap/xsk.h"

#define OPTS_MAX_OUTPUTS 8
#define OPTS_MAX_INTEL_FILES 16

/* Debian's ca-certificates: Mozilla's list of roots, as Zeek's SSL::root_certs. */
#define OPTS_DEFAULT_CA_FILE "/etc/ssl/certs/ca-certificates.crt"

/* An output as given: -w is a file (or - for stdout) whatever its name, -o a Forward spec. */
struct opts_output {
	const char *spec;
	bool fwd;
};

struct opts {
	const char *read_file;
	const char *iface;
	struct opts_output outputs[OPTS_MAX_OUTPUTS];
	int n_outputs;
	const char *filter;
	const char *tag_prefix;
	int print_stats;
	struct engine_cfg eng;
	struct tunnels_limits tun;
	struct fwd_opts fwd;
	struct xsk_opts xsk;
	struct hostcap_opts host;
	int capture_host; /* --capture host: copy with XDP+TC instead of AF_XDP redirect */
	struct parsers_cfg parsers;
	struct rec_limits logl;
	int stats_interval; /* seconds; -1: default (60 live, 0 offline) */
	int workers;
	int capture_threads; /* --capture-threads: AF_XDP capture threads (1: this thread) */
	int ports_given;
	int tunnel_ports_given; /* --vxlan-ports or --geneve-ports given */
	int exit_now;		/* --help / --version printed: nothing else to do */
	const char *user;
	int seccomp;
	int events_smtp;
	const char *ssl_ca_file; /* roots for validation_status (NULL: the default file) */
	const char *intel_files[OPTS_MAX_INTEL_FILES]; /* --intel-file */
	int n_intel_files;
	bool intel_reread; /* live: reread changed intel files (default on) */
	struct intel_limits intel_lim;
	const char *node_name;
	struct notice_cfg notice;
	uint64_t cl_interval, cl_initial; /* seconds; interval 0: no capture_loss */
	bool known_hosts;
	uint32_t known_hosts_max;
	uint64_t known_hosts_expire; /* seconds */
	bool known_services;
	uint32_t known_services_max;
	uint64_t known_services_expire; /* seconds */
	double cl_too_much;
	int no_validate_certs;
	/* the first option given that only one kind of run uses, to refuse it elsewhere (an
	 * option accepted and then ignored looks like it works) */
	int live_opt;	/* live capture only (-i) */
	int host_opt;	/* --capture host only */
	int mirror_opt; /* mirror mode only (AF_XDP) */
	int fwd_opt;	/* Forward outputs only (-o) */
	int tls_opt;	/* forward:tls: outputs only */
};

/* Reads argv into o (zeroed by the caller), every option not given at its default. 0, with
 * o->exit_now set when --help or --version printed what was asked (nothing else to do); or
 * -EINVAL (a bad value, an unknown option, a combination that would do nothing or something
 * other than asked), the message given. Uses getopt_long: argv is permuted, and a second
 * call must reset optind to 0 first. xsk.ports and host.ports point into a table of the
 * module's own, filled again by each call. */
int opts__parse(struct opts *o, int argc, char **argv);
/* --help's text. */
void opts__usage(FILE *f);

#endif
