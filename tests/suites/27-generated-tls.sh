#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Generated STARTTLS (587) and implicit TLS (465) sessions (tools/gen_smtp_pcap): every
# connection has its ssl record with the expected fields, and sni_matches_cert is right for
# every SNI although the certificate is parsed once per distinct SNI only (the x509 cache's
# memo answers the rest); one x509 record for the one certificate (dedup).
set -u
cd "$(dirname "$0")/../.."
B=${BUILD:-build}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
"$B/tools/gen_smtp_pcap" -o "$T/tls.pcap" -n 300 -c 16 --mix starttls=1,tls465=1 --seed 11 \
	2>/dev/null || { echo "gen_smtp_pcap failed"; exit 1; }
"$B/mailtap" -r "$T/tls.pcap" --seed 1 -w "$T/out.mp" || exit 1
"$B/mailtap-cat" "$T/out.mp" >"$T/out.json" || exit 1
python3 - "$T/out.json" <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
by = lambda p: [r for r in recs if r["_path"] == p]
ssl, conn, x509 = by("ssl"), by("conn"), by("x509")
fails = []
if len(conn) != 300 or len(ssl) != 300:
    fails.append("%d conn, %d ssl records (want 300 each)" % (len(conn), len(ssl)))
svc = {r["uid"]: r.get("service") for r in conn}
names = {"mx.example.net", "mail.example.net"}  # the certificate's SAN
seen = {True: 0, False: 0}
for r in ssl:
    want = r.get("server_name") in names
    if r.get("sni_matches_cert") is not want:
        fails.append("%s: server_name %s, sni_matches_cert %s" % (r["uid"], r.get("server_name"), r.get("sni_matches_cert")))
    seen[want] += 1
    for k, v in (("version", "TLSv12"), ("cipher", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"),
                 ("curve", "secp256r1"), ("established", True)):
        if r.get(k) != v:
            fails.append("%s: %s %r" % (r["uid"], k, r.get(k)))
    if len(r.get("cert_chain_fps", [])) != 1:
        fails.append("%s: cert_chain_fps %r" % (r["uid"], r.get("cert_chain_fps")))
    want_svc = "ssl" if r["id.resp_p"] == 465 else "smtp,ssl"
    if svc.get(r["uid"]) != want_svc:
        fails.append("%s: service %r, want %s" % (r["uid"], svc.get(r["uid"]), want_svc))
if len(x509) != 1:
    fails.append("%d x509 records (want 1: one certificate, deduplicated)" % len(x509))
if not seen[True] or not seen[False]:
    fails.append("the capture lacks matching or non-matching SNIs: %r" % seen)
for f in fails[:10]:
    print("FAIL", f)
print("generated TLS: %d ssl records (%d SNI matches, %d not), %d failure(s)"
      % (len(ssl), seen[True], seen[False], len(fails)))
sys.exit(1 if fails else 0)
PY
