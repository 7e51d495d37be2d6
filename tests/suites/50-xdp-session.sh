#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# A real mail session seen by live capture. A client namespace (10.77.0.1) and a server
# namespace (10.77.0.2, Postfix) are joined by a bridge in the capture namespace. tc mirred
# copies what enters the bridge from either side to mtinj, so mailtap -i mtcap sees both
# directions as on a mirror port. swaks sends three messages:
#   1. plain SMTP on 25,
#   2. STARTTLS on 587 (submission, TLS required),
#   3. implicit TLS on 465 (Postfix wrapper mode).
# Checks: the mails are delivered (Maildir), the records are as expected (smtp with
# mailfrom/rcptto/subject for 1, smtp tls=true + ssl for 2, ssl without smtp for 3,
# conn SF, or RSTO after TLS), the XDP/AF_XDP counters add up and nothing is dropped; the
# plain session's smtp record is in the output file while mailtap still runs.
set -u
cd "$(dirname "$0")/../.."
source tools/netns-lib.sh
nl_require_root
nl_require_tools nsenter tc swaks postfix openssl python3
nl_require_bpffs
MT=$BUILD/mailtap
CAT=$BUILD/mailtap-cat
[ -x "$MT" ] && [ -x "$CAT" ] || nl_fail "$MT / $CAT not built"
"$MT" --help 2>&1 | grep -q -- '--xdp-mode' || nl_skip "this mailtap has no live capture (-i)"
perl -MNet::SSLeay -e 1 2>/dev/null || nl_skip "swaks needs Net::SSLeay for TLS (libnet-ssleay-perl)"

nl_setup 1
CLI=$NL_NS-cli
SRV=$NL_NS-srv
nl_add_ns "$CLI"
nl_add_ns "$SRV"
ip -n "$NL_NS" link add br0 type bridge || nl_fail "bridge"
ip -n "$NL_NS" link set br0 up
for side in cli srv; do
	ns=$CLI
	addr=10.77.0.1/24
	[ $side = srv ] && ns=$SRV addr=10.77.0.2/24
	ip -n "$NL_NS" link add "v$side" type veth peer name eth0 netns "$ns" || nl_fail "veth $side"
	ip -n "$NL_NS" link set "v$side" master br0 up
	ip -n "$ns" addr add $addr dev eth0
	ip -n "$ns" link set eth0 up
	nl_no_offload "$ns" eth0
	nl_no_offload "$NL_NS" "v$side"
	# Port mirroring: frames entering the bridge from this side are copied to mtinj.
	tc -n "$NL_NS" qdisc add dev "v$side" clsact || nl_fail "clsact"
	tc -n "$NL_NS" filter add dev "v$side" ingress protocol all u32 match u32 0 0 \
		action mirred egress mirror dev "$NL_INJ" || nl_fail "tc mirred"
done

# Postfix instance of our own (config, queue, mailboxes under NL_TMP), in the server ns.
P=$NL_TMP/postfix
mkdir -p "$P/etc" "$P/q" "$P/data" "$P/mail"
chown postfix "$P/data"
chmod 777 "$P/mail"
chmod 755 "$NL_TMP"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$P/key.pem" -out "$P/cert.pem" -days 2 \
	-subj /CN=mx.mail.test 2>/dev/null || nl_fail "openssl"
chmod 644 "$P/key.pem"
cat >"$P/etc/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $P/q
data_directory = $P/data
command_directory = /usr/sbin
daemon_directory = /usr/lib/postfix/sbin
meta_directory = /etc/postfix
shlib_directory = /usr/lib/postfix
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.mail.test
mydomain = mail.test
myorigin = mail.test
mydestination =
inet_interfaces = 10.77.0.2
inet_protocols = ipv4
mynetworks = 10.77.0.0/24
virtual_mailbox_domains = mail.test
virtual_mailbox_base = $P/mail
virtual_mailbox_maps = inline:{ bob@mail.test=bob/ }
virtual_uid_maps = static:65534
virtual_gid_maps = static:65534
alias_maps =
alias_database =
smtpd_tls_cert_file = $P/cert.pem
smtpd_tls_key_file = $P/key.pem
smtpd_tls_security_level = may
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
maillog_file = /dev/stdout
smtputf8_enable = no
biff = no
EOF
cat >"$P/etc/master.cf" <<'EOF'
smtp       inet n - n - - smtpd
submission inet n - n - - smtpd -o smtpd_tls_security_level=encrypt
smtps      inet n - n - - smtpd -o smtpd_tls_wrappermode=yes
pickup     unix n - n 60 1 pickup
cleanup    unix n - n - 0 cleanup
qmgr       unix n - n 300 1 qmgr
tlsmgr     unix - - n 1000? 1 tlsmgr
rewrite    unix - - n - - trivial-rewrite
bounce     unix - - n - 0 bounce
defer      unix - - n - 0 bounce
trace      unix - - n - 0 bounce
verify     unix - - n - 1 verify
flush      unix n - n 1000? 0 flush
proxymap   unix - - n - - proxymap
smtp       unix - - n - - smtp
relay      unix - - n - - smtp
showq      unix n - n - - showq
error      unix - - n - - error
retry      unix - - n - - error
discard    unix - - n - - discard
local      unix - n n - - local
virtual    unix - n n - - virtual
lmtp       unix - - n - - lmtp
anvil      unix - - n - 1 anvil
scache     unix - - n - 1 scache
postlog    unix-dgram n - n - 1 postlogd
EOF
nsenter --net="/run/netns/$SRV" postfix -c "$P/etc" check || nl_fail "postfix check"
nl_on_cleanup "postfix -c '$P/etc' stop; [ -f '$P/q/pid/master.pid' ] && kill \$(cat '$P/q/pid/master.pid')"
nsenter --net="/run/netns/$SRV" postfix -c "$P/etc" start-fg >"$NL_TMP/postfix.log" 2>&1 &
NL_PIDS+=($!)
for ((i = 0; i < 100; i++)); do
	nsenter --net="/run/netns/$SRV" ss -ltn 2>/dev/null | grep -q '10.77.0.2:465' && break
	sleep 0.1
done
nsenter --net="/run/netns/$SRV" ss -ltn | grep -q '10.77.0.2:465' || { cat "$NL_TMP/postfix.log"; nl_fail "postfix did not start"; }

# Live capture.
nl_bg "$MT" -i "$NL_CAP" -w "$NL_TMP/rec.msgpack" --stats 2>"$NL_TMP/mailtap.err"
mt=$!
for ((i = 0; i < 100; i++)); do nl_xdp_attached && break; sleep 0.1; done
nl_xdp_attached || { cat "$NL_TMP/mailtap.err"; nl_fail "mailtap did not attach"; }
sleep 0.5

sw() { # sw PORT SUBJECT [swaks options]
	local port=$1 subj=$2
	shift 2
	nsenter --net="/run/netns/$CLI" swaks --server 10.77.0.2 --port "$port" --helo client.test \
		--from alice@client.test --to bob@mail.test --header "Subject: $subj" \
		--body "mailtap live session test: $subj" "$@" >"$NL_TMP/swaks-$port.log" 2>&1 ||
		{ tail -20 "$NL_TMP/swaks-$port.log"; nl_fail "swaks on $port"; }
}
sw 25 "mailtap plain"
sw 587 "mailtap starttls" -tls
sw 465 "mailtap smtps" -tlsc
for ((i = 0; i < 50; i++)); do
	[ "$(find "$P/mail/bob/new" -type f 2>/dev/null | wc -l)" -ge 3 ] && break
	sleep 0.1
done
delivered=$(find "$P/mail/bob/new" -type f 2>/dev/null | wc -l)
[ "$delivered" -eq 3 ] || { tail -20 "$NL_TMP/postfix.log"; nl_fail "$delivered of 3 mails delivered"; }
# while mailtap still runs, the plain session's smtp record is in the file within seconds (the
# output's buffer is written once a second, not only when 256 KiB gathered or at exit)
for ((i = 0; i < 50; i++)); do
	"$CAT" -s smtp "$NL_TMP/rec.msgpack" 2>/dev/null | grep -q '"subject":"mailtap plain"' && break
	sleep 0.1
done
"$CAT" -s smtp "$NL_TMP/rec.msgpack" 2>/dev/null | grep -q '"subject":"mailtap plain"' ||
	nl_fail "no smtp record in the output 5 s after the mail, while mailtap runs"
sleep 1
kill -TERM "$mt"
nl_wait_pid "$mt" 15 || { cat "$NL_TMP/mailtap.err"; nl_fail "mailtap exit"; }
cat "$NL_TMP/mailtap.err"
"$CAT" <"$NL_TMP/rec.msgpack" >"$NL_TMP/rec.json"
cut -c1-300 "$NL_TMP/rec.json"
nl_xdp_attached && nl_fail "XDP left attached"

python3 - "$NL_TMP/rec.json" <<'EOF' || nl_fail "records not as expected"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
by = lambda p: [r for r in recs if r["_path"] == p]
conn = {r["id.resp_p"]: r for r in by("conn") if r["id.resp_h"] == "10.77.0.2"}
errs = []
def want(cond, msg):
    if not cond:
        errs.append(msg)
for port in (25, 587, 465):
    c = conn.get(port)
    want(c is not None, f"no conn record for port {port}")
    if c:
        # swaks ends its TLS sessions with a reset: RSTO there, as Zeek says.
        ok = ("SF",) if port == 25 else ("SF", "RSTO")
        want(c["conn_state"] in ok, f"conn {port}: state {c['conn_state']}")
        want(c.get("missed_bytes", 0) == 0, f"conn {port}: missed_bytes {c.get('missed_bytes')}")
uid = {p: c["uid"] for p, c in conn.items()}
smtp = {r["uid"]: r for r in by("smtp")}
ssl = {r["uid"]: r for r in by("ssl")}
s = smtp.get(uid.get(25))
want(s is not None, "no smtp record for the plain session")
if s:
    want(s.get("mailfrom") == "alice@client.test", f"plain: mailfrom {s.get('mailfrom')}")
    want(s.get("rcptto") == ["bob@mail.test"], f"plain: rcptto {s.get('rcptto')}")
    want(s.get("subject") == "mailtap plain", f"plain: subject {s.get('subject')}")
    want(s.get("helo") == "client.test", f"plain: helo {s.get('helo')}")
    want(s.get("tls") is False, f"plain: tls {s.get('tls')}")
    want(str(s.get("last_reply", "")).startswith("250 2.0.0 Ok: queued"), f"plain: last_reply {s.get('last_reply')}")
s = smtp.get(uid.get(587))
want(s is not None, "no smtp record for the STARTTLS session")
if s:
    want(s.get("tls") is True, f"starttls: tls {s.get('tls')}")
    want(s.get("helo") == "client.test", f"starttls: helo {s.get('helo')}")
want(uid.get(587) in ssl, "no ssl record for the STARTTLS session")
want(uid.get(465) in ssl, "no ssl record for the implicit TLS session")
want(uid.get(465) not in smtp, "smtp record for port 465 (Zeek logs ssl only)")
st = by("stats")
want(len(st) >= 1, "no stats record")
if st:
    x = st[-1]
    want(x.get("xdp_seen") == x.get("xdp_redirected", 0) + x.get("xdp_passed", 0), "seen != redirected + passed")
    want(x.get("xdp_redirected") == x.get("xsk_delivered"), "redirected != delivered")
    want(x.get("xsk_rx_dropped", 0) == 0 and x.get("xsk_rx_ring_full", 0) == 0, "AF_XDP drops")
    want(x.get("pkts_dropped_total", 0) == 0, "pkts_dropped_total")
for e in errs:
    print("  " + e)
sys.exit(1 if errs else 0)
EOF
# A restart (systemd's Restart=on-failure, or `systemctl restart`) appends to the -w file: the
# records of the run before stay.
nl_bg "$MT" -i "$NL_CAP" -w "$NL_TMP/rec.msgpack" 2>"$NL_TMP/mailtap2.err"
mt=$!
for ((i = 0; i < 100; i++)); do nl_xdp_attached && break; sleep 0.1; done
nl_xdp_attached || { cat "$NL_TMP/mailtap2.err"; nl_fail "mailtap did not attach again"; }
sleep 0.5
sw 25 "mailtap after restart"
sleep 1
kill -TERM "$mt"
nl_wait_pid "$mt" 15 || { cat "$NL_TMP/mailtap2.err"; nl_fail "mailtap exit (restart)"; }
subjects=$("$CAT" -s smtp "$NL_TMP/rec.msgpack" | python3 -c '
import json, sys
print(",".join(sorted(json.loads(l).get("subject", "-") for l in sys.stdin)))')
# (the STARTTLS session's mail went encrypted: its record has no subject)
[ "$subjects" = "-,mailtap after restart,mailtap plain" ] ||
	nl_fail "smtp subjects after a restart: $subjects"
echo "PASS: 3 mails delivered; smtp/ssl/conn records as expected; a restart appends"
