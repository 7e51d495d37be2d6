#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# make install with PREFIX and DESTDIR: binaries, BPF objects, man pages, systemd unit pointing
# at the installed binary, logrotate, defaults; the installed mailtap runs.
set -u
cd "$(dirname "$0")/../.."
B=${BUILD:-build}
D=$(mktemp -d)
trap 'rm -rf "$D"' EXIT
make --no-print-directory -s install BUILD="$B" DESTDIR="$D" PREFIX=/opt/mt >/dev/null || exit 1
fails=0
for f in opt/mt/bin/mailtap opt/mt/bin/mailtap-cat opt/mt/lib/mailtap/mailtap.bpf.o \
	opt/mt/share/man/man8/mailtap.8 opt/mt/share/man/man1/mailtap-cat.1 \
	lib/systemd/system/mailtap.service etc/logrotate.d/mailtap etc/default/mailtap \
	opt/mt/share/doc/mailtap/records.md; do
	[ -s "$D/$f" ] && echo "ok   $f" || { echo "FAIL missing $f"; fails=$((fails + 1)); }
done
grep -q "^ExecStart=/opt/mt/bin/mailtap" "$D/lib/systemd/system/mailtap.service" &&
	echo "ok   unit runs the installed binary" || { echo "FAIL ExecStart"; fails=$((fails + 1)); }
"$D/opt/mt/bin/mailtap" --version | grep -q "^mailtap " && echo "ok   installed mailtap runs" ||
	{ echo "FAIL installed mailtap"; fails=$((fails + 1)); }
[ $fails -eq 0 ]
