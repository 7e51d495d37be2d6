// SPDX-License-Identifier: BSD-3-Clause
/* ssl and x509 records (Zeek's SSL::Info and X509::Info as logged), field order as Zeek's
 * log columns; fingerprints ja3/ja3s/ja4/ja4s are our extra ssl fields (docs/tls.md). */
#include <string.h>

#include "mailtap/rec.h"
#include "mailtap/tls.h"
#include "mailtap/x509.h"

static void opt_str(struct rec *r, const char *key, const char *s)
{
	if (s && s[0])
		rec__cstr(r, key, s);
}

int rec_ssl__write(struct rec *r, const char *uid, const struct conn_id *id,
		   const struct ssl_info *si)
{
	if (!r)
		return 0;
	rec__begin(r, "ssl", si->ts_ns);
	rec__conn(r, uid, id);
	opt_str(r, "version", si->version);
	opt_str(r, "cipher", si->cipher);
	opt_str(r, "curve", si->curve);
	rec__mstr(r, "server_name", &si->server_name);
	rec__bool(r, "resumed", si->resumed);
	opt_str(r, "last_alert", si->last_alert);
	rec__mstr(r, "next_protocol", &si->next_protocol);
	rec__bool(r, "established", si->established);
	rec__str(r, "ssl_history", si->history, si->history_len);
	if (si->have_chains) {
		rec__arr_begin(r, "cert_chain_fps");
		for (unsigned i = 0; i < si->n_server_fps; i++)
			rec__arr_cstr(r, si->server_fps[i]);
		rec__arr_end(r);
		rec__arr_begin(r, "client_cert_chain_fps");
		for (unsigned i = 0; i < si->n_client_fps; i++)
			rec__arr_cstr(r, si->client_fps[i]);
		rec__arr_end(r);
	}
	if (si->sni_matches_cert >= 0)
		rec__bool(r, "sni_matches_cert", si->sni_matches_cert == 1);
	rec__cstr(r, "validation_status", si->validation_status);
	opt_str(r, "ja3", si->ja3);
	opt_str(r, "ja3s", si->ja3s);
	opt_str(r, "ja4", si->ja4);
	opt_str(r, "ja4s", si->ja4s);
	return rec__end(r);
}

static void str_arr(struct rec *r, const char *key, const struct mt_str *a, unsigned n)
{
	if (!n)
		return;
	rec__arr_begin(r, key);
	for (unsigned i = 0; i < n; i++)
		rec__arr_str(r, a[i].s, a[i].n);
	rec__arr_end(r);
}

int rec_x509__write(struct rec *r, uint64_t ts_ns, const struct x509_info *xi)
{
	if (!r)
		return 0;
	rec__begin(r, "x509", ts_ns);
	rec__cstr(r, "fingerprint", xi->fingerprint);
	rec__u64(r, "certificate.version", xi->version);
	rec__cstr(r, "certificate.serial", xi->serial ? xi->serial : "");
	rec__cstr(r, "certificate.subject", xi->subject ? xi->subject : "");
	rec__cstr(r, "certificate.issuer", xi->issuer ? xi->issuer : "");
	rec__double(r, "certificate.not_valid_before", xi->not_valid_before);
	rec__double(r, "certificate.not_valid_after", xi->not_valid_after);
	rec__cstr(r, "certificate.key_alg", xi->key_alg ? xi->key_alg : "");
	rec__cstr(r, "certificate.sig_alg", xi->sig_alg ? xi->sig_alg : "");
	rec__cstr(r, "certificate.key_type", xi->key_type);
	if (xi->key_length)
		rec__u64(r, "certificate.key_length", xi->key_length);
	rec__cstr(r, "certificate.exponent", xi->exponent);
	rec__cstr(r, "certificate.curve", xi->curve);
	if (xi->has_san) {
		str_arr(r, "san.dns", xi->san_dns, xi->n_san_dns);
		str_arr(r, "san.uri", xi->san_uri, xi->n_san_uri);
		str_arr(r, "san.email", xi->san_email, xi->n_san_email);
		if (xi->n_san_ip) {
			rec__arr_begin(r, "san.ip");
			for (unsigned i = 0; i < xi->n_san_ip; i++)
				rec__arr_addr(r, &xi->san_ip[i]);
			rec__arr_end(r);
		}
	}
	if (xi->has_basic_constraints) {
		rec__bool(r, "basic_constraints.ca", xi->bc_ca);
		/* Zeek assigns the int32 to a count: -1 is 18446744073709551615 */
		if (xi->has_bc_path_len)
			rec__u64(r, "basic_constraints.path_len",
				 (uint64_t)(int64_t)xi->bc_path_len);
	}
	rec__bool(r, "host_cert", xi->host_cert);
	rec__bool(r, "client_cert", xi->client_cert);
	return rec__end(r);
}

int rec_known_certs__write(struct rec *r, uint64_t ts_ns, const struct mt_addr *host, uint16_t port,
			   const char *subject, const char *issuer, const char *serial)
{
	if (!r)
		return 0;
	rec__begin(r, "known_certs", ts_ns);
	rec__addr(r, "host", host);
	rec__u64(r, "port_num", port);
	rec__cstr(r, "subject", subject);
	rec__cstr(r, "issuer_subject", issuer);
	rec__cstr(r, "serial", serial);
	return rec__end(r);
}
