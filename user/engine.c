// SPDX-License-Identifier: BSD-3-Clause
/* One worker's pipeline: decode -> flow table (Zeek TCP state) -> reassembly -> parsers.
 *
 * Per TCP packet of a tracked port, in Zeek's order: the flow table updates history and
 * state, then reassembly sees the packet (start, FIN, RST), the peer's ACK (holes acked past
 * become gaps) and the payload. In-order bytes go to the connection's parser; a parser that
 * leaves a tail unconsumed gets it again, prefixed to the next bytes (at most max_unit). */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include "mailtap/bits.h"
#include "mailtap/community_id.h"
#include "mailtap/engine.h"
#include "mailtap/intel.h"
#include "mailtap/known_services.h"
#include "mailtap/knownset.h"
#include "mailtap/hashmb.h"
#include "mailtap/ids.h"
#include "mailtap/log.h"
#include "mailtap/notice.h"
#include "mailtap/rec.h"
#include "mailtap/tls.h"
#include "mailtap/tunnels.h"
#include "mailtap/tunparents.h"

struct parser_reg {
	const struct app_parser_ops *ops;
	const void *cfg;
};

enum app_state { APP_NONE = 0, APP_ACTIVE, APP_FAILED, APP_DONE };

struct flow_app {
	struct mt_session sess;
	struct engine *e;
	struct flow *flow;
	const struct parser_reg *reg;
	void *parser;
	uint8_t *tail[2];
	size_t tail_len[2];
	const char *handoff_to;
	uint8_t state;
	uint8_t eof_done[2];
	uint8_t violations; /* analyzer records written */
};

/* What the reassembly callbacks get: the connection (its app state may not exist yet). */
struct rctx {
	struct engine *e;
	struct flow *f;
};

struct engine {
	struct engine_cfg cfg;
	struct rec_out *out;
	struct rec *rec;
	struct mt_ids ids;
	struct hashmb_pool hashes; /* the MD5/SHA-1 streams of this engine's files */
	/* --local-nets and the private address space, as two 64-bit words of value and mask
	 * each: is_local is asked several times per connection (conn's local_orig/local_resp,
	 * known_*, software), a memcmp a net was 1% */
	struct engine_netm {
		uint64_t v[2], m[2];
	} netm[ENGINE_MAX_NETS * 2];
	int n_nets;
	struct flow_table *flows;
	struct reasm_pool *pool;
	struct frag_table *frags;
	struct tun_parents *tpar;  /* NULL when tunnels are not tracked */
	struct known_services_queue *ksq; /* known_services: commits five minutes ahead */
	/* weird.zeek's weird_ignore (10 min) and did_log (1 day) for flow, net and file weirds
	 * and the per-originator actions: shared by the workers (engine_cfg) */
	struct knownset *weird_ignore, *weird_did_log;
	/* ... and for connection weirds, keyed by name and four-tuple: this engine's own (a
	 * four-tuple always reaches the same worker), apart so that a weird per connection does
	 * not push the others' keys out: weird_ignore, and did_log for ACTION_LOG_PER_CONN */
	struct knownset *conn_weird_ignore, *conn_did_log;
	struct parser_reg parsers[ENGINE_MAX_PARSERS];
	int n_parsers;
	struct reasm_cb rcb;
	struct engine_stats st;
	uint64_t now;  /* network time: the latest packet time, never going back */
	uint64_t tick; /* live: the latest clock tick (timers only, see engine__tick) */
};

void engine_cfg__set_port(uint8_t *bitmap, uint16_t port, bool on)
{
	if (on)
		bitmap[port >> 3] |= (uint8_t)(1u << (port & 7));
	else
		bitmap[port >> 3] &= (uint8_t)~(1u << (port & 7));
}

/* Zeek's Site::private_address_space (base/utils/site.zeek), added to the local nets unless
 * --no-private-local, as Zeek's Site::private_address_space_is_local = T does. */
const char engine_private_address_space[] =
	"0.0.0.0/8,2002::/24,10.0.0.0/8,2002:a00::/24,100.64.0.0/10,2002:6440::/26,"
	"127.0.0.0/8,2002:7f00::/24,169.254.0.0/16,2002:a9fe::/32,172.16.0.0/12,2002:ac10::/28,"
	"192.0.0.0/24,2002:c000::/40,192.0.2.0/24,2002:c000:200::/40,192.168.0.0/16,"
	"2002:c0a8::/32,198.18.0.0/15,2002:c612::/31,198.51.100.0/24,2002:c633:6400::/40,"
	"203.0.113.0/24,2002:cb00:7100::/40,240.0.0.0/4,2002:f000::/20,255.255.255.255/32,"
	"2002:ffff:ffff::/48,::/128,::1/128,64:ff9b:1::/48,100::/64,2001::/23,2001:2::/48,"
	"2001:db8::/32,fc00::/7,fe80::/10";

void engine_cfg__default(struct engine_cfg *c)
{
	memset(c, 0, sizeof(*c));
	flow_limits__default(&c->flow);
	c->reasm = REASM_LIMITS_DEFAULT;
	frag_limits__default(&c->frag);
	decode_cfg__default(&c->decode);
	engine_cfg__set_port(c->ports, 25, true);
	engine_cfg__set_port(c->ports, 465, true);
	engine_cfg__set_port(c->ports, 587, true);
	engine_cfg__set_port(c->tls_ports, 465, true);
	c->tcp_weirds = true;
	c->analyzer_log = true; /* Analyzer::Logging::enable */
	c->private_is_local = true;
	c->weird_state_max = ENGINE_WEIRD_STATE_MAX;
	c->conn_weird_state_max = ENGINE_CONN_WEIRD_STATE_MAX;
}

int engine_cfg__parse_nets(struct engine_cfg *c, const char *s)
{
	char buf[128];

	while (*s) {
		const char *comma = strchr(s, ',');
		size_t n = comma ? (size_t)(comma - s) : strlen(s);
		char *slash;
		struct engine_net *net;
		long pfx;
		bool v4;

		if (n == 0 || n >= sizeof(buf) || c->n_nets >= ENGINE_MAX_NETS)
			return -EINVAL;
		memcpy(buf, s, n);
		buf[n] = '\0';
		net = &c->nets[c->n_nets];
		slash = strchr(buf, '/');
		if (slash)
			*slash = '\0';
		if (mt_addr__parse(&net->addr, buf) < 0)
			return -EINVAL;
		v4 = mt_addr__is_v4(&net->addr);
		pfx = v4 ? 32 : 128;
		if (slash) {
			/* one to three digits and nothing else: strtol would take "" (so
			 * "10.0.0.0/" was /0, every address local), blanks and a sign */
			const char *d = slash + 1;

			pfx = 0;
			for (; *d >= '0' && *d <= '9' && d - slash <= 3; d++)
				pfx = pfx * 10 + (*d - '0');
			if (d == slash + 1 || *d || pfx > (v4 ? 32 : 128))
				return -EINVAL;
		}
		net->prefix = (uint8_t)(v4 ? 96 + pfx : pfx);
		c->n_nets++;
		s += n;
		if (*s == ',')
			s++;
	}
	return 0;
}

static int is_local(const struct engine *e, const struct mt_addr *a)
{
	uint64_t w[2];

	if (!e->n_nets)
		return -1;
	memcpy(w, a->b, 16);
	for (int i = 0; i < e->n_nets; i++)
		if (!(((w[0] ^ e->netm[i].v[0]) & e->netm[i].m[0]) |
		      ((w[1] ^ e->netm[i].v[1]) & e->netm[i].m[1])))
			return 1;
	return 0;
}

/* Appends n networks as masks: the prefix's bits of each address, in memory order. */
static void add_nets(struct engine *e, const struct engine_net *nets, int n)
{
	for (int i = 0; i < n; i++) {
		struct engine_netm *o = &e->netm[e->n_nets++];
		uint8_t m[16] = {0};

		for (int b = 0; b < nets[i].prefix && b < 128; b++)
			m[b / 8] |= (uint8_t)(0x80 >> (b % 8));
		memcpy(o->m, m, 16);
		memcpy(o->v, nets[i].addr.b, 16);
		o->v[0] &= o->m[0];
		o->v[1] &= o->m[1];
	}
}

/* ---- records ----------------------------------------------------------------------- */

/* weird.zeek's key of a connection weird in weird_ignore and did_log: [name,
 * id_string(c$id)], the connection's addresses and ports (not its uid: a new connection on
 * the same four-tuple is held back too). The name hashed with the ports as seed. */
static void conn_weird_key(uint8_t key[40], const char *name, const struct conn_id *id)
{
	uint64_t seed = 0x636f6e6e00000000ULL | (uint64_t)id->orig_p << 16 | id->resp_p;
	uint64_t h = mt_hash_bytes(seed, name, strlen(name));

	memcpy(key, &h, 8);
	memcpy(key + 8, id->orig_h.b, 16);
	memcpy(key + 24, id->resp_h.b, 16);
}

/* weird.zeek's weird_do_not_ignore_repeats: logged every time. */
static bool weird_repeats(const char *name)
{
	return !strcmp(name, "bad_IP_checksum") || !strcmp(name, "bad_TCP_checksum") ||
	       !strcmp(name, "bad_UDP_checksum") || !strcmp(name, "bad_ICMP_checksum");
}

/* weird.zeek's Weird::actions, as far as mailtap raises the names (ACTION_LOG unless
 * named: tcp_weirds, conn_weird_action) */
enum weird_action {
	WA_LOG,
	WA_IGNORE,	    /* ACTION_IGNORE: raised, never logged */
	WA_LOG_PER_CONN,    /* a name once per four-tuple a day (did_log) */
	WA_LOG_PER_ORIG,    /* a name once per originator a day (did_log) */
	WA_NOTICE_PER_ORIG, /* the same (did_notice), and a Weird::Activity notice */
};

/* The action of a connection weird that is not one of the TCP analyzer's (tcp_weirds). */
static enum weird_action conn_weird_action(const char *name)
{
	if (!strcmp(name, "smtp_mail_transaction_invalid") ||
	    !strcmp(name, "smtp_excessive_invalid_mail_transactions"))
		return WA_LOG_PER_CONN;
	return WA_LOG;
}

/* weird.zeek's do_weird for a connection weird, in its order: ACTION_IGNORE; held back
 * while [name, id_string(c$id)] is in weird_ignore (ten minutes from when it was written: a
 * weird raised again in the same connection, or in a new one on the same addresses and
 * ports); the limiting actions' did_log / did_notice (per four-tuple in this engine's set,
 * per originator in the shared one); then, unless it is one of weird_do_not_ignore_repeats,
 * into weird_ignore. False: held back (counted in weirds_held_back). */
static bool conn_weird_admit(struct engine *e, const char *name, const struct conn_id *id,
			     uint64_t ts, enum weird_action act)
{
	bool repeats = weird_repeats(name);
	uint8_t key[40];

	if (act == WA_IGNORE)
		goto held;
	conn_weird_key(key, name, id);
	if (!repeats && knownset__contains(e->conn_weird_ignore, key, sizeof(key), ts))
		goto held;
	if (act == WA_LOG_PER_CONN && !knownset__add(e->conn_did_log, key, sizeof(key), ts))
		goto held;
	if (act == WA_LOG_PER_ORIG || act == WA_NOTICE_PER_ORIG) {
		uint8_t okey[24];
		uint64_t h = mt_hash_bytes(act == WA_NOTICE_PER_ORIG ? 0x6e6f74696365ULL : 0, name,
					   strlen(name));

		memcpy(okey, &h, 8);
		memcpy(okey + 8, id->orig_h.b, 16);
		if (!knownset__add(e->weird_did_log, okey, sizeof(okey), ts))
			goto held;
	}
	if (!repeats)
		knownset__add(e->conn_weird_ignore, key, sizeof(key), ts);
	return true;
held:
	e->st.weirds_held_back++;
	return false;
}

/* addl: addl_len bytes (NUL bytes kept), none when empty. A connection weird (uid set) is
 * written if conn_weird_admit lets it through, after its Weird::Activity notice when its
 * action is a notice one (`notice` true in the record). */
static void write_weird_notice(struct engine *e, const char *uid, const struct conn_id *id,
			       uint64_t ts, const char *name, const char *addl, size_t addl_len,
			       const char *source, enum weird_action act)
{
	struct rec *r = e->rec;
	bool notice = act == WA_NOTICE_PER_ORIG;

	if (uid && !conn_weird_admit(e, name, id, ts, act))
		return;
	if (notice && notice__enabled()) {
		struct notice_info n = {
		    .ts_ns = ts, .note = "Weird::Activity", .msg = name, .uid = uid, .id = id};

		notice__raise(e->rec, &n);
	}
	rec__begin(r, "weird", ts);
	if (uid)
		rec__conn(r, uid, id);
	rec__cstr(r, "name", name);
	if (addl && addl_len)
		rec__str(r, "addl", addl, addl_len);
	rec__bool(r, "notice", notice);
	rec__cstr(r, "peer", rec__node());
	rec__cstr(r, "source", source);
	rec__end(r);
	e->st.records_weird++;
}

static void write_weird_n(struct engine *e, const char *uid, const struct conn_id *id,
			  uint64_t ts, const char *name, const char *addl, size_t addl_len,
			  const char *source)
{
	write_weird_notice(e, uid, id, ts, name, addl, addl_len, source,
			   uid ? conn_weird_action(name) : WA_LOG);
}

/* The weirds of IP fragments are Zeek's flow weirds (FragReassembler::Weird: the datagram's
 * addresses, ports 0/unknown, no uid), which weird.zeek logs by Weird::actions:
 * fragment_inconsistency, fragment_overlap, fragment_size_inconsistency and
 * excessively_small_fragment are ACTION_LOG_PER_ORIG (a name once per source address a day,
 * did_log), the others ACTION_LOG; every weird logged is then held
 * back for ten minutes per name and "src -> dst" (weird_ignore). One pair of sets for all
 * workers (engine_cfg), so that they hold back what one engine would: the weird is logged by
 * the add that finds the key new, not by the check before it (two workers can pass that at
 * once); bounded (ENGINE_WEIRD_STATE_MAX each, the oldest forgotten). */
static void write_flow_weird(struct engine *e, uint64_t ts, const char *name,
			     const struct mt_addr *src, const struct mt_addr *dst, const char *addl,
			     const char *source)
{
	uint8_t key[8 + 16 + 16];
	uint64_t h = mt_hash_bytes(0, name, strlen(name));
	bool per_orig = !strcmp(name, "fragment_inconsistency") || !strcmp(name, "fragment_overlap") ||
			!strcmp(name, "fragment_size_inconsistency") ||
			!strcmp(name, "excessively_small_fragment");
	struct rec *r = e->rec;

	memcpy(key, &h, 8);
	memcpy(key + 8, src->b, 16);
	memcpy(key + 24, dst->b, 16);
	if (knownset__contains(e->weird_ignore, key, sizeof(key), ts)) {
		e->st.weirds_held_back++;
		return;
	}
	if (per_orig && !knownset__add(e->weird_did_log, key, 24, ts)) {
		e->st.weirds_held_back++;
		return;
	}
	if (!knownset__add(e->weird_ignore, key, sizeof(key), ts)) {
		e->st.weirds_held_back++; /* another worker logged it since the check above */
		return;
	}
	rec__begin(r, "weird", ts);
	rec__addr(r, "id.orig_h", src);
	rec__port(r, "id.orig_p", 0);
	rec__addr(r, "id.resp_h", dst);
	rec__port(r, "id.resp_p", 0);
	rec__cstr(r, "name", name);
	if (addl && *addl)
		rec__cstr(r, "addl", addl);
	rec__bool(r, "notice", false);
	rec__cstr(r, "peer", rec__node());
	if (source)
		rec__cstr(r, "source", source);
	rec__end(r);
	e->st.records_weird++;
}

/* A weird of a packet Zeek's packet analysis drops before it has an IP header to name
 * (session::Manager::Weird without ip_hdr: Reporter's net_weird): no uid, no id, the
 * analyzer's name as source, "_in_tunnel" appended inside a tunnel. weird.zeek holds each
 * name back for ten minutes (weird_ignore[name, ""], the key file weirds use too). */
/* weird.zeek's weird_ignore[name, ""] (a weird with no identifier: net and file weirds):
 * true when the name was logged in the last ten minutes (counted), else it is from now. One
 * call that checks and adds: the workers share the set, and between a check and an add two of
 * them could both find the name new. */
static bool held_by_name(struct engine *e, const char *name, uint64_t ts)
{
	uint64_t key = mt_hash_bytes(0, name, strlen(name)); /* 8 bytes: not a flow weird's key */

	if (!knownset__add(e->weird_ignore, &key, sizeof(key), ts)) {
		e->st.weirds_held_back++;
		return true;
	}
	return false;
}

static void write_net_weird(struct engine *e, uint64_t ts, const char *name, const char *source)
{
	struct rec *r = e->rec;

	if (held_by_name(e, name, ts))
		return;
	rec__begin(r, "weird", ts);
	rec__cstr(r, "name", name);
	rec__bool(r, "notice", false);
	rec__cstr(r, "peer", rec__node());
	rec__cstr(r, "source", source);
	rec__end(r);
	e->st.records_weird++;
}

/* The weirds decode__packet raised for a packet (struct pkt_weird), with --no-tcp-weirds off
 * as the fragments' and the TCP analyzer's. */
static void write_decode_weirds(struct engine *e, const struct pkt *p, uint64_t ts)
{
	for (unsigned i = 0; i < p->n_weirds && e->cfg.tcp_weirds; i++) {
		const struct pkt_weird *w = &p->weird[i];
		char name[64];

		if (w->in_tunnel) {
			snprintf(name, sizeof(name), "%s_in_tunnel", w->name);
			write_flow_weird(e, ts, name, &w->src, &w->dst, w->addl, w->source);
		} else if (w->flow)
			write_flow_weird(e, ts, w->name, &w->src, &w->dst, w->addl, w->source);
		else
			write_net_weird(e, ts, w->name, w->source);
	}
}

static void write_weird(struct engine *e, const char *uid, const struct conn_id *id,
			uint64_t ts, const char *name, const char *addl, const char *source)
{
	write_weird_n(e, uid, id, ts, name, addl, addl ? strlen(addl) : 0, source);
}

static void write_conn(struct engine *e, struct flow *f)
{
	struct rec *r = e->rec;
	char svc[32], cid[COMMUNITY_ID_LEN];
	int lo = is_local(e, &f->id.orig_h), lr = is_local(e, &f->id.resp_h);
	uint64_t dur = f->last_ts > f->start_ts ? f->last_ts - f->start_ts : 0;

	rec__begin(r, "conn", f->start_ts);
	rec__conn(r, f->uid, &f->id);
	rec__cstr(r, "proto", "tcp");
	if (flow__service(f, svc, sizeof(svc)))
		rec__cstr(r, "service", svc);
	if (dur > 0) {
		rec__interval(r, "duration", (int64_t)dur);
		rec__u64(r, "orig_bytes", flow__size(f, true));
		rec__u64(r, "resp_bytes", flow__size(f, false));
	}
	rec__cstr(r, "conn_state", flow__conn_state(f));
	if (lo >= 0)
		rec__bool(r, "local_orig", lo);
	if (lr >= 0)
		rec__bool(r, "local_resp", lr);
	rec__u64(r, "missed_bytes", f->missed_bytes);
	if (f->hist_len)
		rec__str(r, "history", flow__history(f), f->hist_len);
	rec__u64(r, "orig_pkts", f->ep[MT_ORIG].pkts);
	rec__u64(r, "orig_ip_bytes", f->ep[MT_ORIG].ip_bytes);
	rec__u64(r, "resp_pkts", f->ep[MT_RESP].pkts);
	rec__u64(r, "resp_ip_bytes", f->ep[MT_RESP].ip_bytes);
	if (f->tunnel) {
		char tuid[TUN_PARENTS_MAX][MT_UID_LEN];
		int n = tun_parents__uids(e->tpar, f, tuid);

		if (n > 0) { /* 0: its tunnel found no room (TUNNELS_NO_ROOM) */
			rec__arr_begin(r, "tunnel_parents");
			for (int i = 0; i < n; i++)
				rec__arr_cstr(r, tuid[i]);
			rec__arr_end(r);
		}
	}
	rec__u64(r, "ip_proto", 6);
	if (e->cfg.community_id) {
		community_id__v1(&f->id, e->cfg.community_id_seed, cid);
		rec__cstr(r, "community_id", cid);
	}
	if (f->vlan[0])
		rec__u64(r, "vlan", f->vlan[0]);
	if (f->vlan[1])
		rec__u64(r, "inner_vlan", f->vlan[1]);
	rec__end(r);
	e->st.records_conn++;
}

/* ---- parsers ----------------------------------------------------------------------- */

/* known-services.zeek's known_services_done, at a protocol's confirmation and when the
 * connection is removed: a local responder that did the handshake, was seen
 * mid-connection, or closed (has_active_service) gets its confirmed services committed,
 * or the service "" five minutes later when there is none. */
static void known_services_done(struct engine *e, struct flow *f, uint64_t ts)
{
	const struct tcp_ep *r = &f->ep[MT_RESP];
	const char *svc[KNOWN_SERVICES_MAX_SVC];
	int n = 0;

	if (!mt_tracking__match(e->cfg.known_tracking, is_local(e, &f->id.resp_h)))
		return;
	if (r->state != TCP_ESTABLISHED && r->state != TCP_CLOSED && r->state != TCP_PARTIAL &&
	    !memchr(flow__history(f), 'h', f->hist_len))
		return;
	f->ks_done = 1;
	for (int i = 0; i < f->n_services && n < KNOWN_SERVICES_MAX_SVC; i++)
		svc[n++] = f->services[i] == FLOW_SVC_SMTP ? "SMTP" : "SSL";
	if (!n)
		e->st.records_known_services += known_services_queue__defer(
			e->ksq, e->cfg.known_services, e->rec, ts, &f->id.resp_h, f->id.resp_p);
	else if (known_services__commit(e->cfg.known_services, e->rec, ts, &f->id.resp_h,
					f->id.resp_p, svc, n))
		e->st.records_known_services++;
}

static void sess_confirm(struct mt_session *s, const char *service)
{
	struct flow_app *a = s->engine;
	bool added = false;

	if (!strcmp(service, "smtp"))
		added = flow__confirm(a->flow, FLOW_SVC_SMTP);
	else if (!strcmp(service, "ssl"))
		added = flow__confirm(a->flow, FLOW_SVC_SSL);
	/* analyzer_confirmation_info: every confirmation, whether or not one was logged */
	if (added && a->e->ksq)
		known_services_done(a->e, a->flow, a->e->now);
	if (added && a->e->cfg.analyzer_log && a->e->cfg.analyzer_confirmations && a->e->rec) {
		struct rec *r = a->e->rec;

		rec__begin(r, "analyzer", a->e->now);
		rec__cstr(r, "cause", "confirmation");
		rec__cstr(r, "analyzer_kind", "protocol");
		rec__cstr(r, "analyzer_name", !strcmp(service, "smtp") ? "SMTP" : "SSL");
		rec__conn(r, a->flow->uid, &a->flow->id);
		rec__end(r);
		a->e->st.records_analyzer++;
	}
}

/* Weirds that Zeek raises through Analyzer::LimitReachedWeird, which also adds 'X' to the
 * connection's history. */
static const char *const limit_weirds[] = {
	"exceeded_mime_max_header_bytes", "exceeded_mime_max_depth",
	"smtp_excessive_pending_cmds", "smtp_excessive_invalid_mail_transactions", NULL
};

static void sess_weird(struct mt_session *s, uint64_t ts, const char *name, const char *addl,
		       size_t addl_len, const char *source)
{
	struct flow_app *a = s->engine;

	flow__did_weird(a->flow);
	for (int i = 0; limit_weirds[i]; i++)
		if (!strcmp(limit_weirds[i], name))
			flow__limit_reached(a->e->flows, a->flow);
	write_weird_n(a->e, a->flow->uid, &a->flow->id, ts, name, addl, addl_len, source);
}

/* File weirds (struct mt_session's file_weird): weird.zeek's file_weird puts the fuid in
 * addl and sets no identifier, so do_weird holds every logged name back for ten minutes
 * (weird_ignore[name, ""]); the names raised so far take the default ACTION_LOG. */
static void sess_file_weird(struct mt_session *s, uint64_t ts, const char *name,
			    const char *fuid, const char *addl)
{
	struct engine *e = ((struct flow_app *)s->engine)->e;
	char buf[256];
	int n;

	if (held_by_name(e, name, ts))
		return;
	n = snprintf(buf, sizeof(buf), "%s%s%s", fuid ? fuid : "",
		     addl && *addl && fuid && *fuid ? ": " : "", addl ? addl : "");
	if (n < 0)
		n = 0;
	write_weird_n(e, NULL, NULL, ts, name, buf, strnlen(buf, (size_t)n), NULL);
}

/* known-hosts.zeek's connection_established: each local address of the connection (orig,
 * then resp) is logged if the shared set does not hold it (Known::host_store, put_unique
 * with host_store_expiry). */
static void known_hosts(struct engine *e, struct flow *f, uint64_t ts)
{
	const struct mt_addr *h[2] = {&f->id.orig_h, &f->id.resp_h};

	for (int i = 0; i < 2; i++) {
		if (i == 1 && !mt_addr__cmp(h[0], h[1]))
			break; /* set(orig_h, resp_h): one element */
		if (!mt_tracking__match(e->cfg.known_tracking, is_local(e, h[i])) ||
		    !knownset__add(e->cfg.known_hosts, h[i]->b, 16, ts))
			continue;
		rec__begin(e->rec, "known_hosts", ts);
		rec__addr(e->rec, "host", h[i]);
		rec__end(e->rec);
		e->st.records_known_hosts++;
	}
}

static int sess_is_local(struct mt_session *s, const struct mt_addr *addr)
{
	struct flow_app *a = s->engine;

	return is_local(a->e, addr);
}

static void sess_violation(struct mt_session *s, const char *service)
{
	struct flow_app *a = s->engine;

	if (!strcmp(service, "smtp"))
		flow__unconfirm(a->flow, FLOW_SVC_SMTP);
	else if (!strcmp(service, "ssl"))
		flow__unconfirm(a->flow, FLOW_SVC_SSL);
}

/* Analyzer::Logging's analyzer_violation_info handler: Analyzer::Logging::Info, failure_data
 * cut at Analyzer::Logging::failure_data_max_size (40). */
static void sess_analyzer_violation(struct mt_session *s, uint64_t ts, const char *analyzer,
				    const char *reason, const char *data, size_t len)
{
	struct flow_app *a = s->engine;
	struct engine *e = a->e;
	struct rec *r = e->rec;

	if (!e->cfg.analyzer_log || !r)
		return;
	if (a->violations >= ENGINE_ANALYZER_MAX_PER_CONN) {
		e->st.analyzer_suppressed++;
		return;
	}
	a->violations++;
	rec__begin(r, "analyzer", ts);
	rec__cstr(r, "cause", "violation");
	rec__cstr(r, "analyzer_kind", "protocol");
	rec__cstr(r, "analyzer_name", analyzer);
	rec__conn(r, a->flow->uid, &a->flow->id);
	rec__cstr(r, "failure_reason", reason);
	if (data && len)
		rec__str(r, "failure_data", data, len < 40 ? len : 40);
	rec__end(r);
	e->st.records_analyzer++;
}

static const struct parser_reg *find_parser(const struct engine *e, const char *name)
{
	for (int i = 0; i < e->n_parsers; i++)
		if (!strcmp(e->parsers[i].ops->name, name))
			return &e->parsers[i];
	return NULL;
}

static int sess_handoff(struct mt_session *s, const char *parser)
{
	struct flow_app *a = s->engine;

	if (!find_parser(a->e, parser))
		return -ENOENT;
	a->handoff_to = parser;
	return 0;
}

static void parser_stop(struct flow_app *a, uint64_t ts)
{
	if (a->state == APP_ACTIVE && a->parser) {
		a->reg->ops->end(a->parser, ts);
		a->reg->ops->free(a->parser);
	}
	a->parser = NULL;
	for (int d = 0; d < 2; d++) {
		free(a->tail[d]);
		a->tail[d] = NULL;
		a->tail_len[d] = 0;
	}
}

static int parser_start(struct flow_app *a, const struct parser_reg *reg)
{
	a->reg = reg;
	a->parser = reg->ops->new(&a->sess, reg->cfg);
	if (!a->parser) {
		a->state = APP_FAILED;
		a->e->st.parser_errors++;
		return -ENOMEM;
	}
	a->state = APP_ACTIVE;
	return 0;
}

/* The parser for a connection's first bytes: TLS on the TLS ports or when the client's
 * first bytes are a TLS handshake record; SMTP otherwise. */
static const struct parser_reg *choose_parser(struct flow_app *a, enum mt_dir d,
					      const uint8_t *buf, size_t len)
{
	const struct engine *e = a->e;
	const struct flow *f = a->flow;
	bool tls = engine_cfg__port(e->cfg.tls_ports, f->id.resp_p);

	/* a TLS (or SSLv2) hello from the client, on any port; with fewer bytes than the probe
	 * needs, a handshake record type decides */
	if (!tls && d == MT_ORIG && len) {
		int r = tls__probe(buf, len);

		tls = r == 1 || (r == -EAGAIN && buf[0] == 0x16);
	}
	return find_parser(e, tls ? "ssl" : "smtp");
}

static void do_handoff(struct flow_app *a, uint64_t ts);

/* Feeds bytes to the connection's parser, keeping what it leaves unconsumed. */
static void app_feed(struct flow_app *a, enum mt_dir d, const uint8_t *buf, size_t len,
		     uint64_t ts)
{
	while (a->state == APP_ACTIVE && (len > 0)) {
		const struct app_parser_ops *ops = a->reg->ops;
		size_t max = ops->max_unit ? ops->max_unit : 65536;
		ssize_t c;

		if (a->tail_len[d] == 0) {
			c = ops->feed(a->parser, d, buf, len, ts);
			if (c == -EPROTO)
				goto violated;
			if (c < 0)
				goto failed;
			buf += c;
			len -= (size_t)c;
			if (a->handoff_to) {
				do_handoff(a, ts);
				continue;
			}
			if (len == 0)
				break;
			if (c == 0 && len >= max) {
				/* contract broken: drop one unit rather than loop */
				a->e->st.parser_errors++;
				goto failed;
			}
			/* keep the tail */
			if (!a->tail[d]) {
				a->tail[d] = malloc(max);
				if (!a->tail[d])
					goto failed;
			}
			if (len > max)
				goto failed;
			memcpy(a->tail[d], buf, len);
			a->tail_len[d] = len;
			break;
		} else {
			size_t n = max - a->tail_len[d];

			if (n > len)
				n = len;
			memcpy(a->tail[d] + a->tail_len[d], buf, n);
			a->tail_len[d] += n;
			buf += n;
			len -= n;
			c = ops->feed(a->parser, d, a->tail[d], a->tail_len[d], ts);
			if (c == -EPROTO)
				goto violated;
			if (c < 0)
				goto failed;
			if (c == 0 && a->tail_len[d] >= max) {
				a->e->st.parser_errors++;
				goto failed;
			}
			memmove(a->tail[d], a->tail[d] + c, a->tail_len[d] - (size_t)c);
			a->tail_len[d] -= (size_t)c;
			if (a->handoff_to) {
				/* the rest of the tail goes first to the new parser */
				size_t tl = a->tail_len[d];
				uint8_t *t = a->tail[d];

				a->tail[d] = NULL;
				a->tail_len[d] = 0;
				do_handoff(a, ts);
				if (tl)
					app_feed(a, d, t, tl, ts);
				free(t);
				continue;
			}
		}
	}
	return;
failed:
	flow__did_weird(a->flow);
	write_weird(a->e, a->flow->uid, &a->flow->id, ts, "parser_failed", a->reg->ops->name,
		    NULL);
violated: /* a protocol violation: the parser reported it (analyzer record), Zeek removes the
	  * analyzer */
	a->e->st.parser_errors++;
	parser_stop(a, ts);
	a->state = APP_FAILED;
}

static void do_handoff(struct flow_app *a, uint64_t ts)
{
	const struct parser_reg *reg = find_parser(a->e, a->handoff_to);
	uint8_t *t[2] = { a->tail[0], a->tail[1] };
	size_t tl[2] = { a->tail_len[0], a->tail_len[1] };

	a->handoff_to = NULL;
	a->tail[0] = a->tail[1] = NULL;
	a->tail_len[0] = a->tail_len[1] = 0;
	parser_stop(a, ts);
	if (reg && parser_start(a, reg) == 0) {
		for (int d = 0; d < 2; d++)
			if (tl[d])
				app_feed(a, (enum mt_dir)d, t[d], tl[d], ts);
	}
	free(t[0]);
	free(t[1]);
}

/* ---- reassembly callbacks ---------------------------------------------------------- */

static struct flow_app *app_get(struct engine *e, struct flow *f);

static void r_data(void *u, enum mt_dir d, const uint8_t *buf, size_t len, uint64_t ts)
{
	struct rctx *x = u;
	struct flow_app *a = app_get(x->e, x->f);

	if (!a)
		return;
	if (a->state == APP_NONE) {
		const struct parser_reg *reg = choose_parser(a, d, buf, len);

		if (!reg) {
			a->state = APP_DONE;
			return;
		}
		if (parser_start(a, reg) < 0)
			return;
	}
	app_feed(a, d, buf, len, ts);
}

static bool ep_clean(const struct tcp_ep *e)
{
	return e->state == TCP_ESTABLISHED ||
	       (e->state == TCP_CLOSED && e->prev_state == TCP_ESTABLISHED);
}

static void r_gap(void *u, enum mt_dir d, uint64_t len, enum reasm_gap_why why, uint64_t ts)
{
	struct rctx *x = u;
	struct flow *f = x->f;
	struct flow_app *a = f->app;
	const struct tcp_ep *o = &f->ep[MT_ORIG], *r = &f->ep[MT_RESP];

	/* Zeek's content_gap: only while both endpoints are established or closing cleanly */
	if (why == REASM_GAP_ACKED && ep_clean(o) && ep_clean(r))
		flow__gap(x->e->flows, f, d == MT_ORIG, len);
	if (a && a->state == APP_ACTIVE) {
		a->tail_len[d] = 0; /* a partial unit before a hole is useless */
		a->reg->ops->gap(a->parser, d, len, ts);
	}
}

static void r_eof(void *u, enum mt_dir d, uint64_t ts)
{
	struct rctx *x = u;
	struct flow_app *a = x->f->app;

	if (!a || a->eof_done[d])
		return;
	a->eof_done[d] = 1;
	if (a->state != APP_ACTIVE)
		return;
	a->reg->ops->eof(a->parser, d, ts);
	if (a->eof_done[!d] && !a->handoff_to && a->reg->ops->idle && a->reg->ops->idle(a->parser)) {
		x->e->st.parsers_ended_early++;
		parser_stop(a, ts);
		a->state = APP_DONE;
	}
}

static void flow_weird(void *u, struct flow *f, uint64_t ts, const char *name, const char *addl,
		       const char *source);

/* Reassembly weirds: a TCP weird name goes through flow_weird's once-per-connection rule
 * (the TCP state weirds themselves come from the flow table only: reasm.h). */
static void r_weird(void *u, enum mt_dir d, const char *name, const char *addl, uint64_t ts)
{
	struct rctx *x = u;

	(void)d;
	flow__did_weird(x->f);
	if (!addl) { /* above_hole_data_without_any_acks is the TCP analyzer's: source TCP */
		flow_weird(x->e, x->f, ts, name, NULL,
			   !strcmp(name, "above_hole_data_without_any_acks") ? "TCP" : NULL);
		return;
	}
	if (x->e->cfg.tcp_weirds)
		write_weird(x->e, x->f->uid, &x->f->id, ts, name, addl, NULL);
}

/* ---- flows ------------------------------------------------------------------------- */

static struct flow_app *app_get(struct engine *e, struct flow *f)
{
	struct flow_app *a = f->app;

	if (a)
		return a;
	a = calloc(1, sizeof(*a));
	if (!a)
		return NULL;
	a->e = e;
	a->flow = f;
	a->sess.uid = f->uid;
	a->sess.id = &f->id;
	a->sess.rec = e->rec;
	a->sess.ids = &e->ids;
	a->sess.hashes = &e->hashes;
	a->sess.start_ts = f->start_ts;
	a->sess.local_orig = is_local(e, &f->id.orig_h);
	a->sess.local_resp = is_local(e, &f->id.resp_h);
	a->sess.engine = a;
	a->sess.confirm = sess_confirm;
	a->sess.is_local = sess_is_local;
	a->sess.weird = sess_weird;
	a->sess.file_weird = sess_file_weird;
	a->sess.handoff = sess_handoff;
	a->sess.violation = sess_violation;
	a->sess.analyzer_violation = sess_analyzer_violation;
	f->app = a;
	return a;
}

/* The connection's roles flipped (flow_pkt_result's flipped): the unconsumed tails, the EOFs
 * and local_orig/local_resp of each direction swap. A parser already started keeps its state
 * and sees the directions' new roles from now on, as Zeek's analyzers do. */
static void app_flip(struct flow_app *a, const struct conn_id *id)
{
	uint8_t *tail = a->tail[MT_ORIG];
	size_t tail_len = a->tail_len[MT_ORIG];
	uint8_t eof = a->eof_done[MT_ORIG];

	a->tail[MT_ORIG] = a->tail[MT_RESP];
	a->tail_len[MT_ORIG] = a->tail_len[MT_RESP];
	a->eof_done[MT_ORIG] = a->eof_done[MT_RESP];
	a->tail[MT_RESP] = tail;
	a->tail_len[MT_RESP] = tail_len;
	a->eof_done[MT_RESP] = eof;
	a->sess.local_orig = is_local(a->e, &id->orig_h);
	a->sess.local_resp = is_local(a->e, &id->resp_h);
}

static void flow_finish(void *u, struct flow *f, uint64_t now)
{
	struct engine *e = u;
	struct flow_app *a = f->app;

	/* removed at network time: a reuse or an eviction comes with the packet's own time */
	if (now < e->now)
		now = e->now;

	if (f->rd_init) {
		struct rctx x = { e, f };
		struct reasm_cb cb = e->rcb;

		cb.u = &x;
		reasm__close(&f->rd[MT_ORIG], e->pool, &cb, now);
		reasm__close(&f->rd[MT_RESP], e->pool, &cb, now);
		a = f->app; /* data flushed at close may have created it */
	}
	if (a) {
		parser_stop(a, now);
		free(a);
		f->app = NULL;
	}
	write_conn(e, f);
	/* connection_state_remove: a connection none of whose protocols was logged */
	if (e->ksq && !f->ks_done)
		known_services_done(e, f, now);
	if (f->tunnel)
		tun_parents__end(e->tpar, f);
}

/* The TCP analyzer's weirds and weird.zeek's action for each */
static const struct {
	const char *name;
	enum weird_action act;
} tcp_weirds[] = {
	{ "SYN_seq_jump", WA_LOG },
	{ "SYN_inside_connection", WA_LOG },
	{ "TCP_seq_underflow_or_misorder", WA_LOG },
	{ "TCP_ack_underflow_or_misorder", WA_LOG },
	{ "possible_split_routing", WA_LOG },
	{ "connection_originator_SYN_ack", WA_LOG_PER_ORIG },
	{ "bad_SYN_ack", WA_LOG },
	{ "simultaneous_open", WA_LOG_PER_CONN },
	{ "unsolicited_SYN_response", WA_IGNORE },
	{ "spontaneous_FIN", WA_IGNORE },
	{ "spontaneous_RST", WA_IGNORE },
	{ "repeated_SYN_with_ack", WA_LOG },
	{ "repeated_SYN_reply_wo_ack", WA_LOG },
	{ "inappropriate_FIN", WA_LOG },
	{ "data_before_established", WA_LOG },
	{ "SYN_after_partial", WA_NOTICE_PER_ORIG },
	{ "SYN_after_close", WA_LOG },
	{ "FIN_advanced_last_seq", WA_LOG },
	{ "SYN_after_reset", WA_LOG },
	{ "FIN_after_reset", WA_IGNORE },
	{ "data_after_reset", WA_LOG },
	{ "TCP_christmas", WA_LOG },
	{ "baroque_SYN", WA_LOG },
	{ "SYN_with_data", WA_LOG_PER_ORIG },
	{ "TCP_scale_range", WA_LOG },
	{ "truncated_tcp_payload", WA_LOG },
	{ "above_hole_data_without_any_acks", WA_LOG },
	{ "active_connection_reuse", WA_LOG },
	{ "premature_connection_reuse", WA_LOG },
	{ "window_recision", WA_LOG },
	{ "RST_storm", WA_LOG },
	{ "FIN_storm", WA_NOTICE_PER_ORIG },
};
#define N_TCP_WEIRDS (sizeof(tcp_weirds) / sizeof(tcp_weirds[0]))
_Static_assert(N_TCP_WEIRDS <= sizeof(((struct flow *)0)->weird_names_seen) * 8,
	       "one bit of weird_names_seen per name");

/* A weird of the flow table or the reassembler. The TCP analyzer's (tcp_weirds) once per
 * connection and name; then weird.zeek's rules (write_weird_notice). */
static void flow_weird(void *u, struct flow *f, uint64_t ts, const char *name, const char *addl,
		       const char *source)
{
	struct engine *e = u;
	enum weird_action act;
	size_t i;

	if (ts < e->now) /* the flow table's come with the packet's time: weird.zeek's is
			  * network_time() */
		ts = e->now;
	flow__did_weird(f);
	if (!e->cfg.tcp_weirds)
		return;
	for (i = 0; i < N_TCP_WEIRDS; i++)
		if (!strcmp(tcp_weirds[i].name, name))
			break;
	if (i < N_TCP_WEIRDS) {
		if (f->weird_names_seen & (1u << i))
			return;
		f->weird_names_seen |= 1u << i;
		act = tcp_weirds[i].act;
	} else {
		act = conn_weird_action(name);
	}
	write_weird_notice(e, f->uid, &f->id, ts, name, addl, addl ? strlen(addl) : 0, source, act);
}

static void make_uid(void *u, char uid[MT_UID_LEN])
{
	struct engine *e = u;

	mt_ids__make(&e->ids, 'C', uid);
}

struct engine *engine__new(const struct engine_cfg *cfg, struct rec_out *out)
{
	struct engine *e = calloc(1, sizeof(*e));
	struct mt_ids hs;

	if (!e)
		return NULL;
	e->cfg = *cfg;
	e->out = out;
	{
		struct engine_cfg priv;

		memset(&priv, 0, sizeof(priv));
		if (cfg->private_is_local)
			engine_cfg__parse_nets(&priv, engine_private_address_space);
		add_nets(e, cfg->nets, cfg->n_nets);
		add_nets(e, priv.nets, priv.n_nets);
	}
	mt_ids__init(&e->ids, cfg->seeded, cfg->seed);
	hashmb_pool_init(&e->hashes);
	mt_ids__init(&hs, cfg->seeded, cfg->seed ^ 0x5a5a5a5a5a5a5a5aULL);
	e->rec = rec__new(out);
	e->flows = flow_table__new(&cfg->flow, mt_ids__next(&hs), flow_finish, flow_weird, e);
	e->pool = reasm_pool__new(&cfg->reasm);
	e->frags = frag__new(&cfg->frag);
	if (cfg->tunnels)
		e->tpar = tun_parents__new(cfg->tunnels);
	if (cfg->known_services)
		e->ksq = known_services_queue__new();
	/* the pair every worker shares (cfg, workers.c: a weird is held back whichever worker
	 * logged it), else the engine's own */
	e->weird_ignore = cfg->weird_ignore ? cfg->weird_ignore
					    : knownset__new(cfg->weird_state_max,
							    ENGINE_WEIRD_IGNORE_NS, 0);
	e->weird_did_log = cfg->weird_did_log ? cfg->weird_did_log
					      : knownset__new(cfg->weird_state_max,
							      ENGINE_WEIRD_DID_LOG_NS, 0);
	e->conn_weird_ignore =
	    knownset__new(cfg->conn_weird_state_max, ENGINE_WEIRD_IGNORE_NS, 0);
	e->conn_did_log = knownset__new(cfg->conn_weird_state_max, ENGINE_WEIRD_DID_LOG_NS, 0);
	if (!e->rec || !e->flows || !e->pool || !e->frags || (cfg->tunnels && !e->tpar) ||
	    (cfg->known_services && !e->ksq) || !e->weird_ignore || !e->weird_did_log ||
	    !e->conn_weird_ignore || !e->conn_did_log) {
		engine__free(e);
		errno = ENOMEM;
		return NULL;
	}
	e->rcb.data = r_data;
	e->rcb.gap = r_gap;
	e->rcb.eof = r_eof;
	e->rcb.weird = r_weird;
	return e;
}

int engine__add_parser(struct engine *e, const struct app_parser_ops *ops, const void *cfg)
{
	if (e->n_parsers >= ENGINE_MAX_PARSERS)
		return -ENOSPC;
	e->parsers[e->n_parsers].ops = ops;
	e->parsers[e->n_parsers].cfg = cfg;
	e->n_parsers++;
	return 0;
}

int engine__packet(void *engine, const struct pkt_raw *raw)
{
	return engine__packet_at(engine, raw, 0);
}

/* Zeek's dispatch_packet (RunState.cc) sets network_time to the packet's time unless that
 * is earlier ("network_time never goes back"), before anything else. Here the packets of the
 * mail ports move it (as before: live, mailtap gets no others).
 * Everything a script stamps with network_time() gets e->now: weirds (weird.zeek), the
 * application's bytes and so smtp, ssl, x509 and files (File::UpdateLastActivityTime), known_*,
 * intel, tunnel, and the timers (flow_table__expire, fragments, the known_services queue).
 * The connection keeps the packet's own time p.ts_ns (flow_table__packet): Zeek's Connection
 * starts at and SetLastTime()s run_state::current_timestamp, the packet's time
 * (IPBasedAnalyzer::AnalyzePacket, TCPSessionAdapter::DeliverPacket), and IsReuse gets it. */
int engine__packet_at(struct engine *e, const struct pkt_raw *raw, uint64_t net_ns)
{
	struct flow_pkt_result res;
	struct rctx x;
	struct reasm_cb cb;
	struct flow *f;
	struct pkt p;
	uint64_t net;
	int d;

	/* a packet's own weirds before it reaches the flow table: at the network time it would
	 * set (only the packets of the mail ports move the clock: those mailtap gets live) */
	net = e->now > raw->ts_ns ? e->now : raw->ts_ns;
	if (net_ns > net)
		net = net_ns;
	d = decode__packet(&e->cfg.decode, raw, &p, &e->st.decode);
	write_decode_weirds(e, &p, net);
	switch (d) {
	case DECODE_OK:
		break;
	case DECODE_FRAGMENT: {
		/* a fragment of a TCP datagram, or of an outer UDP, GRE or IP-in-IP datagram that
		 * may be a tunnel packet: reassemble, then go on with the whole datagram */
		const uint8_t *dg;
		size_t len;
		struct frag_weirds fw;
		struct pkt_raw whole;
		struct pkt_tunnel tun, tun_outer;
		uint16_t vlan[2];
		uint8_t pw;
		int r, levels;

		/* UDP, GRE and IP in IP only where a tunnel could be inside (outside a tunnel, or
		 * inside one: a second level; not inside two, where decode follows no third, nor
		 * in a pseudowire: decode follows none there, nor does the XDP parser); IPv6: also
		 * an extension header after the fragment header (hop-by-hop, routing, destination
		 * options, AH), whose chain is parsed in the whole datagram, as Zeek does. The
		 * whole datagram is decoded once: a fragment inside it is not reassembled again */
		if (!p.l3 ||
		    !(p.l4proto == IPPROTO_TCP || (p.ip_ver == 6 && frag__v6_ext(p.l4proto)) ||
		      (!p.tun_outer.type && !p.pw &&
		       (p.l4proto == IPPROTO_UDP || p.l4proto == IPPROTO_GRE || p.l4proto == 4 ||
			p.l4proto == 41 /* IP in IP */))))
			return 0;
		r = frag__add(e->frags, p.l3, p.l3_len, net, &dg, &len, &fw);
		for (unsigned i = 0; i < fw.n && e->cfg.tcp_weirds; i++)
			write_flow_weird(e, net, fw.name[i], &p.src, &p.dst, NULL, NULL);
		if (r != 1)
			return 0;
		whole = (struct pkt_raw){ .ts_ns = raw->ts_ns, .data = dg, .caplen = (uint32_t)len,
					  .wirelen = (uint32_t)len, .linktype = 12 /* DLT_RAW */ };
		/* the tunnel, VLAN tags and pseudowire the last fragment came with: the
		 * datagram's (Zeek reassembles within the Packet, which keeps its vlan) */
		tun = p.tun;
		tun_outer = p.tun_outer;
		memcpy(vlan, p.vlan, sizeof(vlan));
		pw = p.pw;
		levels = !!tun.type + !!tun_outer.type;
		/* the datagram inside the fragment's tunnels: a tunnel in it is one level more
		 * (a third not followed, as in a whole packet: counted here, the datagram's
		 * decoding being the fragment's) */
		d = decode__packet_in(&e->cfg.decode, &whole, &tun, &tun_outer, &p);
		write_decode_weirds(e, &p, net);
		if (d == DECODE_TUNNEL_DEPTH)
			e->st.decode.result[d]++;
		if (d != DECODE_OK)
			return 0;
		if (!!p.tun.type + !!p.tun_outer.type == levels) {
			/* no tunnel in the datagram: the frame's tags and pseudowire; else the
			 * inner frame's own tags, as for a whole packet */
			memcpy(p.vlan, vlan, sizeof(vlan));
			p.pw = pw;
		} else if (pw) {
			return 0; /* a tunnel in a pseudowire (behind IPv6 extension headers): not
				   * followed, as in a whole packet */
		}
		break;
	}
	default: /* its weirds written above (an IP length past the wire: truncated_IP_len) */
		return 0;
	}
	if (!engine_cfg__port(e->cfg.ports, p.sport) && !engine_cfg__port(e->cfg.ports, p.dport)) {
		e->st.not_mail_port++;
		return 0;
	}
	if (p.ts_ns > e->now)
		e->now = p.ts_ns;
	if (net_ns > e->now)
		e->now = net_ns;
	flow_table__expire(e->flows, e->now);
	if (e->ksq && known_services_queue__next(e->ksq) <= e->now)
		e->st.records_known_services += known_services_queue__run(
			e->ksq, e->cfg.known_services, e->rec, e->now, false);
	f = flow_table__packet(e->flows, &p, &res, make_uid);
	if (!f)
		return 0;
	if (!f->rd_init) { /* a new connection */
		reasm__init(&f->rd[MT_ORIG], MT_ORIG);
		reasm__init(&f->rd[MT_RESP], MT_RESP);
		f->rd_init = 1;
	}
	if (res.flipped && f->app) /* what the application keeps per direction follows */
		app_flip(f->app, &f->id);
	if (res.established && e->cfg.known_hosts && e->rec)
		known_hosts(e, f, e->now);
	if (res.established && intel__has_addr(e->cfg.intel) && e->rec) {
		struct intel_seen w = {.ts_ns = e->now, .uid = f->uid, .id = &f->id};

		w.where = INTEL_CONN_IN_ORIG;
		intel__seen_addr(e->cfg.intel, e->rec, &w, &f->id.orig_h);
		w.where = INTEL_CONN_IN_RESP;
		intel__seen_addr(e->cfg.intel, e->rec, &w, &f->id.resp_h);
	}
	if (p.tun.type && e->tpar) /* a new connection's tunnel, or one it changed to */
		tun_parents__packet(e->tpar, f, &p, e->now);
	x.e = e;
	x.f = f;
	cb = e->rcb;
	cb.u = &x;
	d = res.is_orig ? MT_ORIG : MT_RESP;
	reasm__packet(&f->rd[d], &cb, p.seq, p.tcp_flags, p.payload_wire_len, e->now);
	if (p.tcp_flags & PKT_TCP_ACK) {
		/* AckReceived's test_active: both endpoints established, deliveries not given up */
		bool active = f->ep[MT_ORIG].state == TCP_ESTABLISHED &&
			      f->ep[MT_RESP].state == TCP_ESTABLISHED &&
			      !reasm__skipping(&f->rd[!d]);
		bool fresh;
		uint64_t missing = reasm__ack_fresh(&f->rd[!d], e->pool, &cb, p.ack, p.tcp_flags,
						    e->now, &fresh);

		/* Zeek counts an ACK only when it acknowledges past trim_seq (TCP_Reassembler.cc
		 * AckReceived: `if ( seq <= trim_seq ) return;` comes before ++tot_ack_events) */
		if (active && fresh) {
			e->st.ack_events++;
			e->st.gap_events += missing != 0;
		}
	}
	if (p.payload_wire_len && !(p.tcp_flags & PKT_TCP_RST))
		reasm__data(&f->rd[d], e->pool, &cb, p.seq, p.tcp_flags, p.payload, p.payload_len,
			    p.payload_wire_len, e->now);
	flow__packet_done(e->flows, f, &res); /* EOFs, then the close (Zeek's order) */
	return 0;
}

/* Live, once a second: the timers due by the clock run (Zeek reading live moves network time
 * to the current time between packets: TimerMgr::Process). The tick does not become the
 * network time of the packets after it, which keep their own (the latest packet time): a
 * packet stamped before a tick and taken after it would otherwise get the tick's time live
 * and its own reading the capture, and live and offline records must be the same. */
void engine__tick(struct engine *e, uint64_t now_ns)
{
	if (now_ns < e->now)
		now_ns = e->now;
	if (now_ns > e->tick)
		e->tick = now_ns;
	flow_table__expire(e->flows, e->tick);
	if (e->ksq)
		e->st.records_known_services += known_services_queue__run(
			e->ksq, e->cfg.known_services, e->rec, e->tick, false);
	if (e->cfg.tunnels)
		tunnels__tick(e->cfg.tunnels, e->tick);
}

/* The latest packet or tick time. */
uint64_t engine__now(const struct engine *e)
{
	return e->now > e->tick ? e->now : e->tick;
}

struct rec *engine__rec(struct engine *e)
{
	return e->rec;
}

void engine__finish(struct engine *e)
{
	uint64_t now = engine__now(e);

	flow_table__flush(e->flows, now);
	/* Zeek runs its pending timers when it terminates: the scheduled commits too */
	if (e->ksq)
		e->st.records_known_services += known_services_queue__run(
			e->ksq, e->cfg.known_services, e->rec, now, true);
}

void engine__stats(const struct engine *e, struct engine_stats *st)
{
	*st = e->st;
	flow_table__stats(e->flows, &st->flow);
	reasm_pool__stats(e->pool, &st->reasm);
	frag__stats(e->frags, &st->frag);
	if (e->tpar)
		tun_parents__stats(e->tpar, &st->tunpar);
	st->hashes = e->hashes.st;
	/* the connection sets are this engine's; the others only when it made them (the
	 * workers count the shared pair once: workers__engine_stats) */
	st->weird_state_evicted =
	    knownset__evicted(e->conn_weird_ignore) + knownset__evicted(e->conn_did_log);
	if (e->weird_ignore != e->cfg.weird_ignore)
		st->weird_state_evicted += knownset__evicted(e->weird_ignore);
	if (e->weird_did_log != e->cfg.weird_did_log)
		st->weird_state_evicted += knownset__evicted(e->weird_did_log);
}

void engine__free(struct engine *e)
{
	if (!e)
		return;
	flow_table__free(e->flows);
	reasm_pool__free(e->pool);
	frag__free(e->frags);
	tun_parents__free(e->tpar);
	known_services_queue__free(e->ksq);
	if (e->weird_ignore != e->cfg.weird_ignore) /* its own, not the shared pair */
		knownset__free(e->weird_ignore);
	if (e->weird_did_log != e->cfg.weird_did_log)
		knownset__free(e->weird_did_log);
	knownset__free(e->conn_weird_ignore);
	knownset__free(e->conn_did_log);
	rec__free(e->rec);
	free(e);
}
