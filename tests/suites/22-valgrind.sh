#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# valgrind (memcheck) on the golden traces: no invalid access, no use of uninitialised memory,
# no definite or indirect leak, in the optimised build that ships.
set -u
cd "$(dirname "$0")/../.."
B=${BUILD:-build}
Z=../shared/corpus/zeek/traces
command -v valgrind >/dev/null || { echo "valgrind missing"; exit 1; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0 n=0
for f in smtp.pcap smtp-attachment-msg.pcap smtp-one-side-only.pcap tls/smtp-starttls.pcap \
	smtp/smtp-bdat-gap.pcap smtp/smtp-bdat-pipeline-8bitmime.pcap smtp/mime-header-size-limit.pcap.gz \
	smtp/smtp-bdat-cmd-invalid.pcapng; do
	n=$((n + 1))
	if valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect \
		--show-leak-kinds=definite,indirect "$B/mailtap" -r "$Z/$f" --rfc822-msg-files --events smtp \
		--seed 1 -w "$T/out.mp" 2>"$T/vg.txt"; then
		echo "ok   $f"
	else
		echo "FAIL $f"
		head -30 "$T/vg.txt"
		fails=$((fails + 1))
	fi
done
echo "valgrind: $n traces, $fails with errors"
[ $fails -eq 0 ]
