#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# ssl's validation_status (Zeek's policy/protocols/ssl/validate-certs.zeek) against an oracle:
# for every ssl record with a status, on the corpus and on generated STARTTLS and port 465
# sessions, the server's chain is taken from the capture with tshark and verified with
# `openssl verify` at the time of its Certificate message, against the same roots; the two
# verdicts must be the same string (error 18, a self-signed host certificate, spelt as Zeek's
# x509_verify spells it). Also: the generated certificate given as the only root
# ("certificate is not yet valid": the sessions are older than it), the same as nobody under
# seccomp (the roots are read before privileges go), --no-validate-certs, an
# unreadable --ssl-ca-file (exit 1), and the counters (one verification for 40 sessions that
# show the same chain).
set -u
cd "$(dirname "$0")/../.."
. tests/suite-lib.sh
CA=/etc/ssl/certs/ca-certificates.crt
command -v tshark >/dev/null && command -v openssl >/dev/null || {
	echo "tshark and openssl are needed (tools/install-deps.sh installs them)"
	exit 1
}
[ -s "$CA" ] || { echo "no $CA (tools/install-deps.sh installs ca-certificates)"; exit 1; }

# hex on stdin -> bytes (no xxd on a minimal Debian)
unhex() { python3 -c 'import binascii, sys; sys.stdout.buffer.write(binascii.unhexlify(sys.stdin.read().strip()))'; }

# oracle PCAP CAFILE > "orig_p resp_p verdict" lines, one per server chain (the first one of a
# connection), from tshark's view of the capture
oracle() {
	local pcap=$1 cafile=$2 seen="" t sp dp certs i h key v
	tshark -r "$pcap" -d tcp.port==465,tls -Y 'tls.handshake.type == 11' -T fields \
		-e frame.time_epoch -e tcp.srcport -e tcp.dstport -e tls.handshake.certificate \
		2>/dev/null |
		while IFS=$'\t' read -r t sp dp certs; do
			[ -n "$certs" ] || continue
			key="$dp $sp"
			case " $seen " in *" $key,"*) continue ;; esac
			seen="$seen $key,"
			rm -f "$T"/c*.pem "$T/un.pem"
			i=0
			for h in ${certs//,/ }; do
				printf '%s' "$h" | unhex >"$T/c$i.der"
				openssl x509 -inform der -in "$T/c$i.der" -out "$T/c$i.pem" 2>/dev/null &&
					{ [ $i -gt 0 ] && cat "$T/c$i.pem" >>"$T/un.pem"; }
				i=$((i + 1))
			done
			[ -s "$T/c0.pem" ] || continue
			v=$(openssl verify -CAfile "$cafile" $([ -s "$T/un.pem" ] && echo -untrusted "$T/un.pem") \
				-attime "${t%.*}" "$T/c0.pem" 2>&1 |
				grep -o -m1 'error [0-9]* at [0-9]* depth lookup: .*\|: OK$' |
				sed 's/^error 18 at [0-9]* depth lookup: .*/self signed certificate/;
				    s/^error [0-9]* at [0-9]* depth lookup: //; s/^: OK$/ok/')
			echo "$key $v"
		done | sort
}

# mine PCAP ARGS... > the same lines from mailtap's ssl records
mine() {
	local pcap=$1
	shift
	"$B/mailtap" -r "$pcap" -w - "$@" 2>/dev/null | "$B/mailtap-cat" -s ssl - |
		python3 -c '
import json, sys
for l in sys.stdin:
    r = json.loads(l)
    if "validation_status" in r:
        print(r["id.orig_p"], r["id.resp_p"], r["validation_status"])' | sort
}

# 1. the corpus: every capture whose ssl records carry a status
n=0 same=0
while IFS= read -r p; do
	m=$(mine "$p")
	[ -n "$m" ] || continue
	n=$((n + 1))
	o=$(oracle "$p" "$CA")
	if [ "$m" = "$o" ]; then
		same=$((same + 1))
	else
		bad "corpus $(basename "$p"): mailtap [$m] openssl [$o]"
	fi
done < <(find ../shared/corpus -name '*.pcap' | sort)
if [ $n -gt 0 ] && [ $same = $n ]; then
	ok "corpus: $n captures with server chains, every validation_status equals openssl verify's"
elif [ $n = 0 ]; then
	bad "corpus: no ssl record with validation_status"
fi

# 2. generated STARTTLS and 465 sessions
"$B/tools/gen_smtp_pcap" -o "$T/g.pcap" -n 40 -c 5 --mix starttls=1,tls465=1 --seed 3 \
	>/dev/null 2>&1
m=$(mine "$T/g.pcap")
o=$(oracle "$T/g.pcap" "$CA")
if [ -n "$m" ] && [ "$m" = "$o" ] && [ "$(echo "$m" | wc -l)" = 40 ]; then
	ok "generated: 40 sessions, '$(echo "$m" | head -1 | cut -d' ' -f3-)' as openssl verify"
else
	bad "generated: mailtap [$(echo "$m" | head -3)] openssl [$(echo "$o" | head -3)]"
fi
tshark -r "$T/g.pcap" -d tcp.port==465,tls -Y 'tls.handshake.type == 11' -T fields \
	-e tls.handshake.certificate 2>/dev/null | head -1 | cut -d, -f1 | unhex |
	openssl x509 -inform der -out "$T/leaf.pem"
m=$(mine "$T/g.pcap" --ssl-ca-file "$T/leaf.pem")
o=$(oracle "$T/g.pcap" "$T/leaf.pem")
if [ -n "$m" ] && [ "$m" = "$o" ]; then
	ok "generated, its certificate as the only root: '$(echo "$m" | head -1 | cut -d' ' -f3-)' as openssl verify"
else
	bad "generated with its own root: mailtap [$(echo "$m" | head -3)] openssl [$(echo "$o" | head -3)]"
fi

# the roots are read before privileges go; validation needs no system call seccomp refuses
if [ "$(id -u)" = 0 ]; then
	a=$(mine "$T/g.pcap" --ssl-ca-file "$T/leaf.pem")
	b=$(mine "$T/g.pcap" --ssl-ca-file "$T/leaf.pem" --user nobody --seccomp)
	if [ -n "$a" ] && [ "$a" = "$b" ]; then
		ok "--user nobody --seccomp: the same $(echo "$b" | wc -l) statuses"
	else
		bad "--user nobody --seccomp: [$(echo "$b" | head -2)] vs [$(echo "$a" | head -2)]"
	fi
fi

# 3. switches, errors, counters
nv=$("$B/mailtap" -r "$T/g.pcap" -w - --no-validate-certs | "$B/mailtap-cat" -s ssl - |
	grep -c validation_status)
"$B/mailtap" -r "$T/g.pcap" -w /dev/null --ssl-ca-file "$T/none.pem" 2>"$T/err"
rc=$?
"$B/mailtap" -r "$T/g.pcap" -w "$T/s.mp" --stats-interval 3600 2>/dev/null
st=$("$B/mailtap-cat" -s stats "$T/s.mp" | tail -n 1)
sv() { echo "$st" | grep -o "\"$1\":[0-9]*" | cut -d: -f2; }
if [ "$nv" = 0 ] && [ $rc = 1 ] && grep -q 'cannot load trusted roots' "$T/err" &&
	[ "$(sv ssl_validations)" = 40 ] && [ "$(sv ssl_chains_verified)" = 1 ]; then
	ok "--no-validate-certs: no field; unreadable --ssl-ca-file: exit 1; 40 statuses, 1 chain verified"
else
	bad "switches: no-validate $nv, bad file rc $rc, validations '$(sv ssl_validations)' verified '$(sv ssl_chains_verified)'"
fi

[ $fails -eq 0 ]
