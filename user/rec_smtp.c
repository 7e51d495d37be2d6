// SPDX-License-Identifier: BSD-3-Clause
/* smtp and smtp_events records: struct smtp_tx / struct smtp_event -> record builder, with
 * Zeek's field names in SMTP::Info order; the fields beyond Zeek (docs/smtp.md) after them. */
#include <string.h>
#include "mailtap/rec.h"
#include "mailtap/smtp.h"

static void strset_items(struct rec *r, const char *key, const struct smtp_strset *s)
{
	const char *v = NULL;
	uint32_t len = 0;

	rec__arr_begin(r, key);
	while ((v = smtp_strset__next(s, v, &len)))
		rec__arr_str(r, v, len);
	rec__arr_end(r);
}

static void strset(struct rec *r, const char *key, const struct smtp_strset *s)
{
	if (s->present)
		strset_items(r, key, s);
}

void rec_smtp__tx(struct rec *r, const char *uid, const struct conn_id *id,
		  const struct smtp_tx *tx, bool extra, bool webmail)
{
	rec__begin(r, "smtp", tx->ts);
	rec__conn(r, uid, id);
	rec__u64(r, "trans_depth", tx->trans_depth);
	rec__mstr(r, "helo", &tx->helo);
	rec__mstr(r, "mailfrom", &tx->mailfrom);
	strset(r, "rcptto", &tx->rcptto);
	rec__mstr(r, "date", &tx->date);
	rec__mstr(r, "from", &tx->from);
	strset(r, "to", &tx->to);
	strset(r, "cc", &tx->cc);
	rec__mstr(r, "reply_to", &tx->reply_to);
	rec__mstr(r, "msg_id", &tx->msg_id);
	rec__mstr(r, "in_reply_to", &tx->in_reply_to);
	rec__mstr(r, "subject", &tx->subject);
	if (tx->has_x_originating_ip)
		rec__addr(r, "x_originating_ip", &tx->x_originating_ip);
	rec__mstr(r, "first_received", &tx->first_received);
	rec__mstr(r, "second_received", &tx->second_received);
	rec__mstr(r, "last_reply", &tx->last_reply);
	if (tx->n_path) {
		rec__arr_begin(r, "path");
		for (uint32_t i = 0; i < tx->n_path; i++)
			rec__arr_addr(r, &tx->path[i]);
		rec__arr_end(r);
	}
	rec__mstr(r, "user_agent", &tx->user_agent);
	rec__bool(r, "tls", tx->tls);
	strset_items(r, "fuids", &tx->fuids);
	if (webmail)
		rec__bool(r, "is_webmail", tx->is_webmail);

	if (extra) {
		rec__mstr(r, "auth_mechanism", &tx->auth_mechanism);
		rec__mstr(r, "auth_user", &tx->auth_user);
		if (tx->auth_mechanism.s && tx->auth_success >= 0)
			rec__bool(r, "auth_success", tx->auth_success == 1);
		if (tx->has_size_param)
			rec__u64(r, "size_param", tx->size_param);
		rec__mstr(r, "body_param", &tx->body_param);
		if (tx->smtputf8)
			rec__bool(r, "smtputf8", true);
		if (tx->has_msg_size) {
			rec__u64(r, "msg_size", tx->msg_size);
			rec__bool(r, "bdat", tx->bdat);
		}
		if (tx->server_extensions && tx->server_extensions->n)
			strset(r, "server_extensions", tx->server_extensions);
		if (tx->anomalies) {
			rec__bool(r, "smuggling_suspect",
				  tx->anomalies &
				      (SMTP_ANOM_BARE_LF | SMTP_ANOM_BARE_CR | SMTP_ANOM_BAD_EOD));
			rec__arr_begin(r, "data_anomalies");
			if (tx->anomalies & SMTP_ANOM_BARE_LF)
				rec__arr_cstr(r, "bare_lf");
			if (tx->anomalies & SMTP_ANOM_BARE_CR)
				rec__arr_cstr(r, "bare_cr");
			if (tx->anomalies & SMTP_ANOM_BAD_EOD)
				rec__arr_cstr(r, "nonstandard_end_of_data");
			rec__arr_end(r);
		}
	}
	rec__end(r);
}

static const char *const ev_names[] = {
    [SMTP_EV_REQUEST] = "smtp_request",
    [SMTP_EV_REPLY] = "smtp_reply",
    [SMTP_EV_DATA] = "smtp_data",
    [SMTP_EV_STARTTLS] = "smtp_starttls",
    [SMTP_EV_UNEXPECTED] = "smtp_unexpected",
};

void rec_smtp__event(struct rec *r, const char *uid, const struct conn_id *id,
		     const struct smtp_event *ev)
{
	rec__begin(r, "smtp_events", ev->ts);
	rec__conn(r, uid, id);
	rec__cstr(r, "event", ev_names[ev->type]);
	switch (ev->type) {
	case SMTP_EV_REQUEST:
		rec__bool(r, "is_orig", ev->is_orig);
		rec__str(r, "command", ev->cmd, ev->cmd_len);
		rec__str(r, "arg", ev->arg, ev->arg_len);
		break;
	case SMTP_EV_REPLY:
		rec__bool(r, "is_orig", ev->is_orig);
		rec__u64(r, "code", ev->code);
		rec__str(r, "cmd", ev->cmd, ev->cmd_len);
		rec__str(r, "msg", ev->msg, ev->msg_len);
		rec__bool(r, "cont_resp", ev->cont_resp);
		break;
	case SMTP_EV_DATA:
		rec__bool(r, "is_orig", ev->is_orig);
		rec__str(r, "data", ev->arg, ev->arg_len);
		break;
	case SMTP_EV_STARTTLS:
		break;
	case SMTP_EV_UNEXPECTED:
		rec__bool(r, "is_orig", ev->is_orig);
		rec__str(r, "msg", ev->msg, ev->msg_len);
		rec__str(r, "detail", ev->arg, ev->arg_len);
		break;
	}
	rec__end(r);
}
