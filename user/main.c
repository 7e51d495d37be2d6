// SPDX-License-Identifier: BSD-3-Clause
/* mailtap: sources, sinks and signals, run as the command line (opts.c) says. The only file
 * that knows every module. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include "mailtap/capture_loss.h"
#include "mailtap/certval.h"
#include "mailtap/bits.h"
#include "mailtap/engine.h"
#include "mailtap/intel.h"
#include "mailtap/intel_reread.h"
#include "mailtap/knownset.h"
#include "mailtap/notice.h"
#include "mailtap/opts.h"
#include "mailtap/hostcap.h"
#include "mailtap/log.h"
#include "mailtap/parsers.h"
#include "mailtap/pcapfile.h"
#include "mailtap/privs.h"
#include <linux/capability.h>
#include <pcap/dlt.h>
#include <pcap/pcap.h>
#include "mailtap/rec.h"
#include "mailtap/rec_stats.h"
#include "mailtap/pktfilter.h"
#include "mailtap/sink.h"
#include "mailtap/sink_fwd.h"
#include "mailtap/tunnels.h"
#include "mailtap/workers.h"
#include "mailtap/xsk.h"

static volatile sig_atomic_t stop_flag;	/* SIGINT/SIGTERM: finish */
static volatile sig_atomic_t wake_flag;	/* SIGALRM tick or stop: leave the capture loop */
static volatile sig_atomic_t reopen_flag; /* SIGHUP: reopen file outputs (log rotation) */
static struct sink *fwd_sinks[OPTS_MAX_OUTPUTS]; /* interrupted on SIGINT/SIGTERM */

/* Capturing live, the signals mailtap handles are held back while it sets up (a signal
 * pending during the kernel's check of the XDP program makes the load fail with EAGAIN, and a
 * SIGHUP before its handler is in place would end the process): they take effect once the
 * capture begins (setup_done). Reading a file they are not: a Ctrl-C must end a wait for
 * `-r -`'s first bytes. */
static sigset_t setup_sigs;

static void setup_done(void)
{
	sigprocmask(SIG_UNBLOCK, &setup_sigs, NULL);
}

static void on_signal(int sig)
{
	if (sig == SIGHUP) {
		reopen_flag = 1;
		wake_flag = 1;
		return;
	}
	if (sig != SIGALRM) {
		stop_flag = 1;
		/* a Forward sink blocked on a full queue (policy block) lets go */
		for (int i = 0; i < OPTS_MAX_OUTPUTS; i++)
			if (fwd_sinks[i])
				sink_fwd__interrupt(fwd_sinks[i]);
	}
	wake_flag = 1;
}

/* The analysis: one engine on this thread, or N workers on their own threads. */
struct analysis {
	struct engine *eng;
	struct workers *ws;
	struct tunnels *tunnels;
	struct rec *stats_rec;
	struct rec_out *out;
	bool software; /* the software stream is on: its counters in the stats record */
	bool certval;  /* validation_status is on: its counters too */
	bool known_certs;
	bool intel; /* intel files loaded: their counters too */
	struct intel_reread *intel_rr; /* live: the files reread when they change */
	struct capture_loss cl; /* Zeek's policy/misc/capture-loss.zeek */
	bool offline; /* reading a file: the workers' counters are synced for a measurement */
	struct stats_prev stats_prev; /* the totals of the last stats record */
	struct pktfilter *filter; /* live -f (several capture threads: each shares it) */
	uint64_t filtered;	  /* live -f: frames left out, capture threads' ones added at the end */
	/* reading a file: stats records by network time, as Zeek's stats.zeek schedules them
	 * (the first when the first packet arrives, then every interval, the last at the end) */
	uint64_t stats_every_ns, stats_next;
	uint64_t last_ts; /* the latest packet time so far: Zeek's network time, which never
			   * goes back (dispatch_packet), at the end */
	bool any_pkt;	  /* and whether there was one */
};

static void capture_loss_tick(struct analysis *a, uint64_t now);
static void stats_tick(struct analysis *a, uint64_t now);

static int an_packet(void *u, const struct pkt_raw *raw)
{
	struct analysis *a = u;
	int rc;

	/* live -f (reading a file, pcapfile applies it) */
	if (a->filter && !pktfilter__match(a->filter, raw))
		return 0;
	if (raw->ts_ns > a->last_ts)
		a->last_ts = raw->ts_ns;
	a->any_pkt = true;
	rc = a->ws ? workers__packet(a->ws, raw) : engine__packet(a->eng, raw);
	/* Zeek's dispatch_packet expires the timers due at this packet's time (their events
	 * queued), processes the packet, then drains the events: a take_measurement or
	 * check_stats due now counts this packet (its ACK event, its connection). Both run on
	 * network time, which a packet older than one before it does not set back
	 * (capture-loss.zeek's ts and ts_delta, stats.zeek's ts: network_time()) */
	if (__builtin_expect(capture_loss__due(&a->cl, a->last_ts), 0))
		capture_loss_tick(a, a->last_ts);
	if (a->stats_every_ns && __builtin_expect(a->last_ts >= a->stats_next, 0))
		stats_tick(a, a->last_ts);
	return rc;
}

static void an_tick(struct analysis *a, uint64_t now)
{
	if (a->ws)
		workers__tick(a->ws, now);
	else
		engine__tick(a->eng, now);
}

static void an_finish(struct analysis *a)
{
	if (a->ws)
		workers__finish(a->ws);
	else
		engine__finish(a->eng);
	/* every connection has ended: the UDP tunnels close with the run */
	if (a->tunnels)
		tunnels__finish(a->tunnels, a->ws ? workers__now(a->ws) : engine__now(a->eng));
}

static void an_stats(struct analysis *a, struct engine_stats *st)
{
	if (a->ws)
		workers__engine_stats(a->ws, st);
	else
		engine__stats(a->eng, st);
}

/* capture_loss at network time now (capture_loss.h): with worker threads the counters are,
 * reading a file, those of every packet before this one (the workers catch up first), live
 * the workers' latest (at most a second old). */
static void capture_loss_tick(struct analysis *a, uint64_t now)
{
	struct engine_stats es;

	if (!capture_loss__tick(&a->cl, now))
		return;
	if (a->ws && a->offline)
		workers__sync_stats(a->ws);
	an_stats(a, &es);
	capture_loss__measure(&a->cl, a->stats_rec, now, es.ack_events, es.gap_events);
}

/* The measurement pending at the end (Zeek's scheduled take_measurement runs as it
 * terminates, at the network time then), once every connection has ended: none before the
 * first packet started the clock. */
static void capture_loss_end(struct analysis *a, uint64_t now)
{
	struct engine_stats es;

	if (!capture_loss__started(&a->cl))
		return;
	an_stats(a, &es);
	capture_loss__measure(&a->cl, a->stats_rec, now, es.ack_events, es.gap_events);
}

static void print_xsk_stats(struct xsk_source *src)
{
	struct xsk_stats xs;

	if (xsk_source__stats(src, &xs) < 0)
		return;
	fprintf(stderr, "mailtap: xdp");
	for (int i = 0; i < MAILTAP_STAT__MAX; i++)
		fprintf(stderr, " %s %llu", mailtap_stat_names[i], (unsigned long long)xs.xdp[i]);
	fprintf(stderr,
		"\nmailtap: af_xdp queues %u delivered %llu rx_dropped %llu rx_ring_full %llu "
		"fill_ring_empty %llu invalid %llu\n",
		xs.n_queues, (unsigned long long)xs.delivered, (unsigned long long)xs.rx_dropped,
		(unsigned long long)xs.rx_ring_full,
		(unsigned long long)xs.rx_fill_ring_empty_descs,
		(unsigned long long)xs.rx_invalid_descs);
}

/* fwd_stats is summed over the Forward outputs as an array of uint64_t counters. */
_Static_assert(sizeof(struct fwd_stats) % sizeof(uint64_t) == 0, "fwd_stats");

/* src: the AF_XDP source (mirror mode), host: the host-mode capture; both NULL offline. */
static void write_stats(struct analysis *a, struct xsk_source *src, struct hostcap *host,
			uint64_t now)
{
	struct engine_stats es;
	struct xsk_stats xs;
	struct hostcap_stats hs;
	struct files_stats fs;
	struct fwd_stats fw, sum;
	struct workers_stats wst;
	struct tunnels_stats ts;
	struct software_stats sws;
	struct certval_stats cvs;
	struct known_certs_stats kcs;
	struct app_tls_stats tss;
	struct intel_stats ins;
	struct notice_stats nts;
	struct stats_sources s = {.es = &es, .fs = &fs, .live = !a->offline};
	int n_fwd = 0;

	an_stats(a, &es);
	if (src && xsk_source__stats(src, &xs) == 0)
		s.xs = &xs;
	if (host && hostcap__stats(host, &hs) == 0)
		s.hs = &hs;
	files__stats(&fs);
	memset(&sum, 0, sizeof(sum));
	for (int i = 0; i < OPTS_MAX_OUTPUTS; i++) {
		if (!fwd_sinks[i])
			continue;
		sink_fwd__stats(fwd_sinks[i], &fw);
		mt_add_u64s(&sum, &fw, sizeof(fw));
		n_fwd++;
	}
	if (n_fwd)
		s.fw = &sum;
	if (a->ws) {
		workers__stats(a->ws, &wst);
		s.ws = &wst;
	}
	if (a->tunnels) {
		tunnels__stats(a->tunnels, &ts);
		s.tun = &ts;
	}
	software__stats(&sws);
	certval__stats(&cvs);
	app_tls__known_certs_stats(&kcs);
	app_tls__stats(&tss);
	intel__stats(&ins);
	notice__stats(&nts);
	s.sws = a->software ? &sws : NULL;
	s.cvs = a->certval ? &cvs : NULL;
	s.kcs = a->known_certs ? &kcs : NULL;
	s.tls = &tss;
	s.ins = a->intel ? &ins : NULL;
	s.nts = notice__enabled() ? &nts : NULL;
	s.mem_bytes = rec_stats__peak_resident_bytes(); /* Zeek's ru_maxrss */
	if (s.live) {
		uint64_t net = a->ws ? workers__now(a->ws) : engine__now(a->eng);

		s.pkt_lag_ns = net && now > net ? now - net : 0;
	}
	rec_stats__write(a->stats_rec, now, &s, &a->stats_prev);
}

/* Reading a file: the stats record due at network time now, before the packet of that time
 * (Zeek's timers fire as network time reaches them, before the packet is processed). With
 * worker threads, their counters are those of every packet before this one. */
static void stats_tick(struct analysis *a, uint64_t now)
{
	if (a->ws)
		workers__sync_stats(a->ws);
	write_stats(a, NULL, NULL, now);
	a->stats_next = mt_add_sat64(now, a->stats_every_ns);
}

/* --extract-dir must be a directory the user mailtap runs as can write: found at the first
 * file instead, it was one warning in the middle of the run and every extraction lost. */
static int check_extract_dir(const struct opts *o)
{
	const char *d = o->parsers.files.extract_dir;
	struct stat st;
	int err;

	if (!d)
		return 0;
	if (stat(d, &st) < 0) {
		err = -errno;
		pr_warn("--extract-dir %s: %s\n", d, strerror(-err));
		return err;
	}
	if (!S_ISDIR(st.st_mode)) {
		pr_warn("--extract-dir %s: %s\n", d, strerror(ENOTDIR));
		return -ENOTDIR;
	}
	if (faccessat(AT_FDCWD, d, W_OK | X_OK, AT_EACCESS) < 0) {
		err = -errno;
		pr_warn("--extract-dir %s: cannot create files there%s%s: %s\n", d,
			o->user ? " as user " : "", o->user ? o->user : "", strerror(-err));
		return err;
	}
	return 0;
}

/* After the capture is set up and the outputs are open: what is left of root is given up.
 * Live capture keeps CAP_NET_ADMIN and CAP_BPF to detach the XDP program at exit (libxdp
 * may rebuild its dispatcher); pinned mode and offline reading keep nothing. Then what must
 * be usable by the user mailtap runs as from now on is checked as that user. */
static int drop_privs(const struct opts *o, bool live)
{
	struct privs_opts p = { .user = o->user, .seccomp = o->seccomp };

	if (o->user || o->seccomp) {
		if (live && o->capture_host)
			p.keep = 1ULL << CAP_NET_ADMIN; /* tc filter removal; the XDP link needs
							 * nothing */
		else if (live && !o->xsk.pinned_dir)
			p.keep = (1ULL << CAP_NET_ADMIN) | (1ULL << CAP_BPF);
		if (privs__drop(&p) < 0)
			return -EPERM;
		pr_info("running as %s with capabilities 0x%llx%s\n",
			o->user ? o->user : "(same user)", (unsigned long long)privs__effective(),
			o->seccomp ? ", seccomp on" : "");
	}
	return check_extract_dir(o);
}

/* Live capture: the AF_XDP loop, woken every second by SIGALRM to run timeouts and write
 * stats records, until SIGINT/SIGTERM. */
static void print_host_stats(struct hostcap *h)
{
	struct hostcap_stats hs;

	if (hostcap__stats(h, &hs) < 0)
		return;
	fprintf(stderr, "mailtap: host capture");
	for (int i = 0; i < MAILTAP_HOST_STAT__MAX; i++)
		fprintf(stderr, " %s %llu", mailtap_host_stat_names[i], (unsigned long long)hs.bpf[i]);
	fprintf(stderr, "\nmailtap: host capture delivered %llu (ingress %llu, egress %llu)\n",
		(unsigned long long)hs.delivered, (unsigned long long)hs.delivered_ingress,
		(unsigned long long)hs.delivered_egress);
}

/* Host mode: the same loop over the ring buffer of the XDP (ingress) + TC (egress) copy. */
/* A live source for the capture loop: AF_XDP (mirror mode) or the host-mode ring buffer. */
struct live_source {
	void *h;
	int (*run)(void *h, pkt_handler cb, void *u, volatile sig_atomic_t *stop);
	int (*check)(void *h); /* 0, or -ENODEV once the interface is gone */
	struct xsk_source *xsk; /* for the XDP/AF_XDP counters in stats records */
	struct hostcap *host;	/* for the host-mode counters in stats records */
};

static int xsk_run(void *h, pkt_handler cb, void *u, volatile sig_atomic_t *stop)
{
	return xsk_source__run(h, cb, u, stop);
}

static int xsk_check(void *h)
{
	return xsk_source__check(h);
}

static int host_run(void *h, pkt_handler cb, void *u, volatile sig_atomic_t *stop)
{
	return hostcap__run(h, cb, u, stop);
}

static int host_check(void *h)
{
	return hostcap__check(h);
}

/* -f in live capture: the longest frame the filter is compiled for (libpcap's maximum) */
#define LIVE_FILTER_SNAPLEN 262144

/* Exit status when the capture interface went away: an input that ended, not a setup error.
 * Non-zero, so that a service manager (Restart=on-failure) starts mailtap again. */
#define EXIT_IFACE_GONE 2

/* Once a second in live capture: SIGHUP's reopen, the file outputs' buffers written, and the
 * stats record when it is due. Returns
 * -ENODEV when the interface has gone away: without it the sockets and the ring buffer
 * receive nothing more, and nothing else says so. */
static int every_second(const struct opts *o, struct analysis *an, const struct live_source *ls,
			uint64_t now, uint64_t *last_stats)
{
	bool hup = reopen_flag;

	if (hup) {
		reopen_flag = 0;
		rec_out__reopen(an->out);
		pr_info("outputs reopened (SIGHUP)\n");
	}
	rec_out__tick(an->out); /* a quiet sensor's records reach -w FILE within a second */
	/* Input::REREAD: changed intel files (or SIGHUP) give a new store */
	intel_reread__tick(an->intel_rr, hup);
	if (capture_loss__due(&an->cl, now)) /* live: network time is the clock */
		capture_loss_tick(an, now);
	if (o->stats_interval && now - *last_stats >= (uint64_t)o->stats_interval * 1000000000ULL) {
		write_stats(an, ls->xsk, ls->host, now);
		*last_stats = now;
	}
	return ls->check(ls->h);
}

static void end_capture(const struct opts *o, struct analysis *an, const struct live_source *ls)
{
	struct itimerval it;
	uint64_t now;

	memset(&it, 0, sizeof(it));
	setitimer(ITIMER_REAL, &it, NULL);
	an_finish(an);
	now = mt_clock_ns(CLOCK_REALTIME); /* live: network time is the clock */
	capture_loss_end(an, now);
	if (o->stats_interval)
		write_stats(an, ls->xsk, ls->host, now);
}

/* The capture loop: the source runs until SIGALRM (every second: timeouts, stats records,
 * SIGHUP's reopen) or SIGINT/SIGTERM; then every connection ends and its records go out. */
static int capture_loop(const struct opts *o, struct analysis *an, const struct live_source *ls)
{
	struct itimerval it = { .it_interval = { 1, 0 }, .it_value = { 1, 0 } };
	uint64_t last_stats = mt_clock_ns(CLOCK_REALTIME);
	int err = 0;

	setup_done();
	setitimer(ITIMER_REAL, &it, NULL);
	while (!stop_flag) {
		uint64_t now;

		wake_flag = 0;
		err = ls->run(ls->h, an_packet, an, &wake_flag);
		if (err && err != -EINTR) {
			if (ls->check(ls->h) < 0) { /* the reason, said there */
				end_capture(o, an, ls);
				return EXIT_IFACE_GONE;
			}
			pr_warn("capture on %s failed: %s\n", o->iface, strerror(-err));
			break;
		}
		err = 0;
		now = mt_clock_ns(CLOCK_REALTIME);
		an_tick(an, now);
		if (every_second(o, an, ls, now, &last_stats) < 0) {
			end_capture(o, an, ls);
			return EXIT_IFACE_GONE;
		}
	}
	end_capture(o, an, ls);
	return err ? 1 : 0;
}

/* --capture-threads N: thread k runs part k of the AF_XDP sockets and hands its packets to
 * the workers as producer k. The main thread takes the signals; once a second it wakes every
 * capture thread, which ticks the workers from its own rings. */
struct cap_thread {
	struct analysis *an;
	struct xsk_source *src;
	unsigned int k, n;
	pthread_t thr;
	atomic_int wake; /* set by the main thread: leave run_part, tick */
	int err;
	struct pktfilter *filter; /* -f, this thread's (its own counter) */
};

/* The capture threads stop (set by the main thread, or by a capture thread that failed). */
static atomic_int cap_stop;

static int cap_packet(void *u, const struct pkt_raw *raw)
{
	struct cap_thread *c = u;

	if (c->filter && !pktfilter__match(c->filter, raw))
		return 0;
	return workers__packet_from(c->an->ws, (int)c->k, raw);
}

static void *cap_main(void *arg)
{
	struct cap_thread *c = arg;
	int err = privs__drop_thread(); /* receiving needs none of what the main thread kept */

	if (err)
		pr_warn("capture thread %u: cannot drop its capabilities: %s\n", c->k,
			strerror(-err));
	while (!atomic_load(&cap_stop)) {
		err = xsk_source__run_part(c->src, c->k, c->n, cap_packet, c, &c->wake);
		if (err) {
			c->err = err;
			atomic_store(&cap_stop, 1); /* the main thread sees it within 100 ms */
			break;
		}
		/* cleared after the return: a stop stored before the wake is seen above */
		atomic_store(&c->wake, 0);
		workers__tick_from(c->an->ws, (int)c->k, mt_clock_ns(CLOCK_REALTIME));
	}
	return NULL;
}

static int capture_threads(const struct opts *o, struct analysis *an, const struct live_source *ls)
{
	struct itimerval it = { .it_interval = { 1, 0 }, .it_value = { 1, 0 } };
	unsigned int n = (unsigned int)o->capture_threads, started = 0, k;
	struct cap_thread *c;
	uint64_t last_stats = mt_clock_ns(CLOCK_REALTIME);
	sigset_t all, old;
	int rc = 0;

	if (n > xsk_source__queue_count(ls->xsk))
		n = xsk_source__queue_count(ls->xsk); /* at most one thread per queue */
	c = calloc(n, sizeof(*c));
	if (!c) {
		pr_warn("capture threads: %s\n", strerror(ENOMEM));
		end_capture(o, an, ls);
		return 1;
	}
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old); /* the capture threads take no signal */
	atomic_store(&cap_stop, 0);
	for (k = 0; k < n; k++, started++) {
		int err;

		c[k] = (struct cap_thread){ .an = an, .src = ls->xsk, .k = k, .n = n };
		/* -f: the program compiled at start, a counter per thread */
		if (an->filter && !(c[k].filter = pktfilter__share(an->filter))) {
			atomic_store(&cap_stop, 1);
			rc = 1;
			break;
		}
		err = pthread_create(&c[k].thr, NULL, cap_main, &c[k]);
		if (err) {
			pr_warn("cannot start capture thread %u: %s\n", k, strerror(err));
			atomic_store(&cap_stop, 1);
			rc = 1;
			break;
		}
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	setup_done();
	pr_info("%u capture threads, %d workers\n", n, workers__count(an->ws));
	setitimer(ITIMER_REAL, &it, NULL);
	while (!stop_flag && !atomic_load(&cap_stop)) {
		if (!wake_flag) {
			nanosleep(&(struct timespec){ 0, 100000000 }, NULL); /* signals cut it short */
			continue;
		}
		wake_flag = 0;
		for (k = 0; k < started; k++)
			atomic_store(&c[k].wake, 1);
		if (every_second(o, an, ls, mt_clock_ns(CLOCK_REALTIME), &last_stats) < 0) {
			rc = EXIT_IFACE_GONE;
			break;
		}
	}
	atomic_store(&cap_stop, 1);
	for (k = 0; k < started; k++)
		atomic_store(&c[k].wake, 1);
	for (k = 0; k < started; k++) {
		pthread_join(c[k].thr, NULL);
		if (c[k].err) {
			pr_warn("capture on %s (thread %u) failed: %s\n", o->iface, k,
				strerror(-c[k].err));
			if (!rc)
				rc = ls->check(ls->h) < 0 ? EXIT_IFACE_GONE : 1;
		}
	}
	for (k = 0; k < n; k++) {
		an->filtered += pktfilter__refused(c[k].filter);
		pktfilter__free(c[k].filter);
	}
	free(c);
	end_capture(o, an, ls); /* the workers finish once every capture thread is joined */
	return rc;
}

/* Host mode: XDP on ingress + TC on egress copy into a ring buffer, every packet passes. */
static int run_host(const struct opts *o, struct analysis *an)
{
	struct hostcap *h = hostcap__open(&o->host);
	struct live_source ls = { .h = h, .run = host_run, .check = host_check, .host = h };
	int rc;

	if (!h)
		return 1;
	if (drop_privs(o, true) < 0) {
		hostcap__close(h);
		return 1;
	}
	pr_info("capturing on %s in host mode (XDP %s + TC egress, copies only)\n", o->iface,
		hostcap__xdp_mode(h));
	rc = capture_loop(o, an, &ls);
	if (o->print_stats)
		print_host_stats(h);
	hostcap__close(h);
	return rc;
}

/* Mirror mode: the XDP program steers the mail ports into AF_XDP sockets. */
static int run_live(const struct opts *o, struct analysis *an)
{
	struct xsk_source *src = xsk_source__open(&o->xsk);
	struct live_source ls = { .h = src, .run = xsk_run, .check = xsk_check, .xsk = src };
	int rc;

	if (!src)
		return 1;
	if (drop_privs(o, true) < 0) {
		xsk_source__close(src);
		return 1;
	}
	pr_info("capturing on %s (%u queues, %s bind)\n", o->iface, xsk_source__queue_count(src),
		xsk_source__bind_mode(src));
	rc = o->capture_threads > 1 ? capture_threads(o, an, &ls) : capture_loop(o, an, &ls);
	if (o->print_stats)
		print_xsk_stats(src);
	xsk_source__close(src);
	return rc;
}

static void print_stats(struct analysis *a)
{
	struct engine_stats st;

	an_stats(a, &st);
	fprintf(stderr, "mailtap: packets %llu, tcp mail-port packets %llu, other tcp %llu\n",
		(unsigned long long)st.decode.packets,
		(unsigned long long)(st.decode.result[DECODE_OK] - st.not_mail_port),
		(unsigned long long)st.not_mail_port);
	for (int i = 1; i < DECODE__MAX; i++)
		if (st.decode.result[i])
			fprintf(stderr, "mailtap: decode %s %llu\n",
				decode__result_name((enum decode_result)i),
				(unsigned long long)st.decode.result[i]);
	fprintf(stderr,
		"mailtap: flows created %llu, peak %llu, evicted %llu, reused %llu; "
		"records conn %llu weird %llu; reassembly gaps %llu (%llu bytes), peak %llu bytes; "
		"parsers failed %llu, ended at close %llu\n",
		(unsigned long long)st.flow.created, (unsigned long long)st.flow.peak,
		(unsigned long long)st.flow.evicted, (unsigned long long)st.flow.reused,
		(unsigned long long)st.records_conn, (unsigned long long)st.records_weird,
		(unsigned long long)st.reasm.gaps, (unsigned long long)st.reasm.gap_bytes,
		(unsigned long long)st.reasm.bytes_peak, (unsigned long long)st.parser_errors,
		(unsigned long long)st.parsers_ended_early);
	fprintf(stderr,
		"mailtap: file hashing: %llu blocks side by side in %llu passes (MD5 in two registers in "
		"%llu, SHA-1 in vector lanes in %llu, %llu for a file's last blocks), %llu one file "
		"at a time\n",
		(unsigned long long)st.hashes.lane_blocks, (unsigned long long)st.hashes.lane_runs,
		(unsigned long long)st.hashes.wide_runs, (unsigned long long)st.hashes.sha_lane_runs,
		(unsigned long long)st.hashes.final_runs, (unsigned long long)st.hashes.solo_blocks);
	if (a->certval) {
		struct certval_stats cv;

		certval__stats(&cv);
		if (cv.validations)
			fprintf(stderr,
				"mailtap: server chains validated %llu (%llu verified, %llu ok, %llu "
				"with remembered intermediates)\n",
				(unsigned long long)cv.validations, (unsigned long long)cv.verified,
				(unsigned long long)cv.ok, (unsigned long long)cv.via_intermediates);
	}
	if (a->intel) {
		struct intel_stats in;

		intel__stats(&in);
		fprintf(stderr,
			"mailtap: intel items %llu (%llu lines skipped, %llu over the limit), "
			"lookups %llu, matches %llu\n",
			(unsigned long long)in.items, (unsigned long long)in.lines_skipped,
			(unsigned long long)in.items_dropped, (unsigned long long)in.lookups,
			(unsigned long long)in.matches);
	}
	if (a->software) {
		struct software_stats sw;

		software__stats(&sw);
		if (sw.found)
			fprintf(stderr,
				"mailtap: mail clients seen %llu, parsed %llu (%llu cut), software "
				"records %llu; hosts %llu, forgotten early %llu\n",
				(unsigned long long)sw.found, (unsigned long long)sw.parsed,
				(unsigned long long)sw.parse_cut, (unsigned long long)sw.logged,
				(unsigned long long)sw.hosts, (unsigned long long)sw.hosts_evicted);
	}
	if (a->tunnels) {
		struct tunnels_stats ts;

		tunnels__stats(a->tunnels, &ts);
		if (ts.discovered || ts.full)
			fprintf(stderr,
				"mailtap: tunnels discovered %llu, expired %llu, closed %llu, no room "
				"%llu\n",
				(unsigned long long)ts.discovered, (unsigned long long)ts.expired,
				(unsigned long long)ts.closed, (unsigned long long)ts.full);
		if (st.tunpar.multi)
			fprintf(stderr,
				"mailtap: connections through more than one tunnel %llu (%llu packets "
				"changed tunnel, %llu through a tunnel left out of tunnel_parents)\n",
				(unsigned long long)st.tunpar.multi,
				(unsigned long long)st.tunpar.changes,
				(unsigned long long)st.tunpar.full);
	}
}

static struct sink *open_output(const struct opts *o, const struct opts_output *out)
{
	struct sink *s;

	if (out->fwd) {
		s = sink_fwd__open(out->spec, &o->fwd);
		if (!s)
			pr_warn("cannot set up output %s: %s\n", out->spec, strerror(errno));
		return s;
	}
	/* live, a restart (Restart=on-failure, systemctl restart) continues the file: the
	 * records of the runs before stay; a capture read offline writes its own */
	return sink_file__open(out->spec, !o->read_file);
}

/* The file behind -r/-w ("-": standard input/output), when there is one. */
static bool file_id(const char *path, int std_fd, struct stat *st)
{
	return strcmp(path, "-") ? stat(path, st) == 0 : fstat(std_fd, st) == 0;
}

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/* A file that does not exist yet by the real path of its directory ("x.mp" and "./x.mp" are
 * one file); its name as given when the directory cannot be resolved either. */
static void new_file_name(const char *path, char *out, size_t len)
{
	const char *slash = strrchr(path, '/');
	char dir[PATH_MAX], *real;

	if (slash && (size_t)(slash - path) >= sizeof(dir))
		goto as_given;
	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == path)
		snprintf(dir, sizeof(dir), "/");
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	real = realpath(dir, NULL);
	if (!real)
		goto as_given;
	snprintf(out, len, "%s/%s", real, slash ? slash + 1 : path);
	free(real);
	return;
as_given:
	snprintf(out, len, "%s", path);
}

/* Before any output is opened (a file output is truncated at once): no -w may be the capture
 * -r reads (it would be emptied before it is read), and no two -w the same file (every
 * record twice, interleaved). Files that do not exist yet are compared by name. */
static int check_files(const struct opts *o)
{
	struct stat in, a, b;
	bool have_in = o->read_file && file_id(o->read_file, STDIN_FILENO, &in) &&
		       S_ISREG(in.st_mode);

	for (int i = 0; i < o->n_outputs; i++) {
		const char *p = o->outputs[i].spec;
		char pn[PATH_MAX + NAME_MAX + 2], qn[sizeof(pn)];
		bool have_a;

		if (o->outputs[i].fwd)
			continue;
		have_a = file_id(p, STDOUT_FILENO, &a);
		if (!have_a)
			new_file_name(p, pn, sizeof(pn));
		if (have_a && have_in && same_file(&a, &in)) {
			pr_warn("-w %s is the capture -r %s reads: writing it would destroy the "
				"input\n", p, o->read_file);
			return -EINVAL;
		}
		for (int j = 0; j < i; j++) {
			const char *q = o->outputs[j].spec;

			if (o->outputs[j].fwd)
				continue;
			if (!have_a)
				new_file_name(q, qn, sizeof(qn));
			if (have_a ? file_id(q, STDOUT_FILENO, &b) && same_file(&a, &b)
				   : !strcmp(pn, qn)) {
				pr_warn("-w %s and -w %s are the same file: every record would be "
					"written twice\n", q, p);
				return -EINVAL;
			}
		}
	}
	return 0;
}

/* glibc's heap by default gives memory back (trims its top) as soon as 128 KiB are free
 * there, and grows again by what each request needs: with sessions ending all the time the
 * top goes up and down, and every page it gets again is a page fault (20000 small sessions:
 * 10% more time). Kept: 8 MiB at the top, grown 1 MiB at a time; blocks from 4 MiB go to
 * mmap. An operator's GLIBC_TUNABLES for malloc wins. */
static void tune_malloc(void)
{
	const char *t = getenv("GLIBC_TUNABLES");

	if (t && strstr(t, "glibc.malloc."))
		return;
	mallopt(M_TOP_PAD, 1 << 20);
	mallopt(M_TRIM_THRESHOLD, 8 << 20);
	mallopt(M_MMAP_THRESHOLD, 4 << 20);
}

/* Descriptors: each file being extracted holds one (the directory's is shared), Forward
 * and the XDP sockets a few. The soft limit is often 1024 where the hard one is far higher
 * (systemd: 1024 / 524288): the soft limit goes up to the hard one, as a shell's
 * `ulimit -n $(ulimit -Hn)` would. Only raised, never lowered; a failure changes nothing. */
static void raise_nofile(void)
{
	struct rlimit r;

	if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
		rlim_t was = r.rlim_cur;

		r.rlim_cur = r.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &r) == 0)
			pr_debug("descriptor limit raised from %llu to %llu\n",
				 (unsigned long long)was, (unsigned long long)r.rlim_max);
	}
}

int main(int argc, char **argv)
{
	struct sink *sinks[OPTS_MAX_OUTPUTS] = { 0 };
	struct rec_out *out = NULL;
	struct engine *eng = NULL;
	struct parsers *parsers = NULL;
	struct analysis an = { 0 };
	struct pcapfile *pf = NULL;
	struct sigaction sa;
	struct opts o;
	struct certval_roots *roots = NULL;
	struct intel *intel = NULL;
	struct parsers_shared *shared = NULL;
	struct knownset *known_hosts = NULL, *known_services = NULL;
	int err = 0, rc = 0;

	memset(&o, 0, sizeof(o));
	tune_malloc();
	privs__raise_permitted();
	if (opts__parse(&o, argc, argv) < 0)
		return 1;
	if (o.exit_now)
		return 0;
	raise_nofile();

	sigemptyset(&setup_sigs);
	sigaddset(&setup_sigs, SIGINT);
	sigaddset(&setup_sigs, SIGTERM);
	sigaddset(&setup_sigs, SIGALRM);
	sigaddset(&setup_sigs, SIGHUP);
	if (!o.read_file)
		sigprocmask(SIG_BLOCK, &setup_sigs, NULL);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGALRM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* a -w file over RLIMIT_FSIZE: write(2) fails with EFBIG, reported, exit 3 (the signal
	 * would kill mailtap without a word and lose the other outputs' records) */
	signal(SIGXFSZ, SIG_IGN);

	if (check_files(&o) < 0)
		return 1;
	/* the input before the outputs: a capture that cannot be read (or a bad -f) leaves an
	 * existing -w file as it was */
	if (o.read_file) {
		pf = pcapfile__open(o.read_file, o.filter);
		if (!pf)
			return errno == EINVAL ? 1 : 2; /* a bad filter is a usage error */
		if (!decode__linktype_ok(pcapfile__linktype(pf))) {
			int lt = pcapfile__linktype(pf);
			const char *name = pcap_datalink_val_to_name(lt);

			pr_warn("%s: link type %d (%s) is not one mailtap decodes (Ethernet, Linux "
				"cooked, raw IP, loopback): no packet of it would be analysed\n",
				o.read_file, lt, name ? name : "unknown");
			pcapfile__close(pf);
			return 2;
		}
	} else if (o.filter) {
		/* live: AF_XDP and host mode give Ethernet frames */
		an.filter = pktfilter__new(o.filter, DLT_EN10MB, LIVE_FILTER_SNAPLEN);
		if (!an.filter)
			return 1;
	}

	out = rec_out__new(o.tag_prefix ? o.tag_prefix : "mailtap");
	if (!out) {
		rc = 1;
		goto done;
	}
	for (int i = 0; i < o.n_outputs; i++) {
		sinks[i] = open_output(&o, &o.outputs[i]);
		if (!sinks[i]) {
			rc = 1;
			goto done;
		}
		rec_out__add_sink(out, sinks[i]);
		if (o.outputs[i].fwd)
			fwd_sinks[i] = sinks[i];
	}
	if (o.events_smtp)
		rec_out__enable(out, "smtp_events");
	rec_out__set_limits(out, &o.logl);
	/* validate-certs: the roots are read now, before any privilege is given up */
	if (!o.no_validate_certs) {
		const char *ca = o.ssl_ca_file ? o.ssl_ca_file : OPTS_DEFAULT_CA_FILE;

		roots = certval_roots__load(ca);
		if (!roots && o.ssl_ca_file) {
			pr_warn("cannot load trusted roots from --ssl-ca-file %s: %s\n", ca,
				errno == ENODATA ? "no PEM certificate in it" : strerror(errno));
			rc = 1;
			goto done;
		}
		if (!roots)
			pr_info("no trusted roots in %s: ssl records without validation_status\n",
				ca);
		o.parsers.tls.cert_roots = roots;
		an.certval = roots != NULL;
	}
	/* Intel::read_files: read now, before any privilege is given up; read-only after */
	rec__set_node(o.node_name);
	o.notice.peer_descr = o.node_name; /* NULL unless --node-name: none, as a standalone Zeek */
	if (notice__init(&o.notice) < 0) {
		pr_warn("cannot set up notice suppression: %s\n", strerror(ENOMEM));
		rc = 1;
		goto done;
	}
	if (o.n_intel_files) {
		char err[512];

		intel = intel__new(&o.intel_lim);
		if (!intel) {
			pr_warn("cannot set up the intel store: %s\n", strerror(errno));
			rc = 1;
			goto done;
		}
		for (int i = 0; i < o.n_intel_files; i++) {
			long n = intel__load_file(intel, o.intel_files[i], true, stderr, err,
						  sizeof(err));

			if (n < 0) {
				pr_warn("%s\n", err);
				rc = 1;
				goto done;
			}
			pr_info("intel: %ld items from %s\n", n, o.intel_files[i]);
		}
		o.eng.intel = intel;
		o.parsers.smtp.intel = intel;
		o.parsers.files.intel = intel;
		o.parsers.tls.intel = intel;
		o.parsers.tls.files.intel = intel;
		an.intel = true;
		if (o.iface && o.intel_reread &&
		    !(an.intel_rr = intel_reread__new(intel, o.intel_files, o.n_intel_files))) {
			pr_warn("cannot set up intel rereading: %s\n", strerror(errno));
			rc = 1;
			goto done;
		}
	}
	/* Known::host_store: one set for every engine */
	if (o.known_hosts) {
		known_hosts = knownset__new(o.known_hosts_max, o.known_hosts_expire * 1000000000ULL, 0);
		if (!known_hosts || knownset__share(known_hosts) < 0) {
			pr_warn("cannot set up the known_hosts set: %s\n", strerror(ENOMEM));
			rc = 1;
			goto done;
		}
		o.eng.known_hosts = known_hosts;
	}
	/* Known::services: (host, port) with its set of services, for every engine */
	if (o.known_services) {
		known_services = knownset__new(o.known_services_max,
					       o.known_services_expire * 1000000000ULL, 0);
		if (!known_services || knownset__share(known_services) < 0) {
			pr_warn("cannot set up the known_services set: %s\n", strerror(ENOMEM));
			rc = 1;
			goto done;
		}
		o.eng.known_services = known_services;
	}
	an.stats_rec = rec__new(out);
	capture_loss__init(&an.cl, &(struct capture_loss_cfg){
					    .initial_ns = o.cl_initial * 1000000000ULL,
					    .interval_ns = o.cl_interval * 1000000000ULL,
					    .too_much = o.cl_too_much});
	an.software = o.parsers.smtp.software.enabled;
	an.known_certs = o.parsers.tls.known_certs;
	an.out = out;
	an.tunnels = tunnels__new(&o.tun, out, o.eng.seeded, o.eng.seed);
	o.eng.tunnels = an.tunnels;
	if (o.workers > 1 || o.capture_threads > 1) {
		/* capture threads hand packets over to workers (one ring per thread and worker);
		 * what is logged once (x509, known_certs, software) is decided in tables they share */
		shared = parsers_shared__new(&o.parsers);
		o.parsers.shared = shared;
		if (shared)
			an.ws = workers__new(o.workers, o.capture_threads, &o.eng, &o.parsers, out, 0);
	} else {
		eng = engine__new(&o.eng, out);
		if (eng && !(parsers = parsers__register(eng, &o.parsers))) {
			engine__free(eng);
			eng = NULL;
		}
		an.eng = eng;
	}
	if ((!an.eng && !an.ws) || !an.stats_rec || !an.tunnels) {
		pr_warn("cannot set up the analysis engine: %s\n", strerror(errno));
		rc = 1;
		goto done;
	}

	if (o.read_file) {
		an.offline = true;
		/* Zeek schedules the first at network time 0 + interval: any packet reaches it */
		an.stats_every_ns = (uint64_t)o.stats_interval * 1000000000ULL;
		an.stats_next = an.stats_every_ns;
		if (drop_privs(&o, false) < 0) {
			rc = 1;
			goto done;
		}
		setup_done();
		err = pcapfile__run(pf, an_packet, &an, &stop_flag);
		if (err == -EBADMSG)
			rc = 2; /* records so far are still written below */
		else if (err && err != -EINTR)
			rc = 2;
		an_finish(&an);
		/* the last at the end of the input, at its network time (Zeek's pending
		 * take_measurement and check_stats run as it terminates); none for a capture
		 * without packets. The workers have finished: final counters. */
		if (an.any_pkt)
			capture_loss_end(&an, an.last_ts);
		if (o.stats_interval && an.any_pkt)
			write_stats(&an, NULL, NULL, an.last_ts);
	} else if (o.capture_host) {
		rc = run_host(&o, &an);
	} else {
		rc = run_live(&o, &an);
	}
	if (o.print_stats) {
		print_stats(&an);
		if (o.filter) {
			struct pcapfile_stats ps = { 0 };

			if (pf)
				pcapfile__stats(pf, &ps);
			fprintf(stderr, "mailtap: -f left out %llu %s\n",
				(unsigned long long)(pf ? ps.filtered
							: an.filtered + pktfilter__refused(an.filter)),
				pf ? "packets of the file" : "frames");
		}
	}
done:
	workers__free(an.ws);
	engine__free(eng);
	tunnels__free(an.tunnels);
	parsers__free(parsers);
	parsers_shared__free(shared);
	knownset__free(known_hosts);
	knownset__free(known_services);
	intel_reread__free(an.intel_rr); /* before the store it replaces */
	rec__free(an.stats_rec);
	pktfilter__free(an.filter);
	pcapfile__close(pf);
	/* The Forward sink reports its counters itself when it closes. */
	for (int i = 0; i < o.n_outputs; i++) {
		fwd_sinks[i] = NULL;
		if (sinks[i] && sink__close(sinks[i]) < 0 && !rc)
			rc = 3;
	}
	rec_out__free(out);
	certval_roots__free(roots);
	intel__free(intel);
	notice__fini();
	return rc;
}
