#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# make release (tools/release.sh): the profile-guided, link-time optimized build gives the same
# records, byte for byte, as the plain build, on a generated capture of every session kind
# with every hash and with two workers; its binaries are where make install looks for them.
set -u
cd "$(dirname "$0")/../.."
B=${BUILD:-build}
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
R=$W/release
BUILD=$B RELEASE=$R tools/release.sh || { echo "release build failed"; exit 1; }
for f in mailtap mailtap-cat mailtap.bpf.o; do
	[ -e "$R/$f" ] || { echo "release: $f missing"; exit 1; }
done
"$B/tools/gen_smtp_pcap" -o "$W/in.pcap" -n 400 -c 16 -a 20000 --seed 5 2>/dev/null || exit 1
fail=0
for opts in "" "--hashes none" "--hashes md5,sha1,sha256"; do
	"$B/mailtap" -r "$W/in.pcap" -w "$W/a.mp" --seed 3 $opts 2>/dev/null
	"$R/mailtap" -r "$W/in.pcap" -w "$W/b.mp" --seed 3 $opts 2>/dev/null
	if cmp -s "$W/a.mp" "$W/b.mp" && [ -s "$W/a.mp" ]; then
		echo "same records [$opts]: $(stat -c %s "$W/a.mp") bytes"
	else
		echo "FAIL: records differ [$opts]"
		fail=1
	fi
done
# two workers: the same records as the plain build's two workers (as sets: the workers'
# order of writing differs from run to run; notices as what identifies them: note, msg, sub)
"$B/mailtap" -r "$W/in.pcap" -w "$W/a.mp" --seed 3 --workers 2 2>/dev/null
"$R/mailtap" -r "$W/in.pcap" -w "$W/c.mp" --seed 3 --workers 2 2>/dev/null
# notices as what identifies them: which connection raises one first depends on the workers
nkey='s/^\({"_path":"notice"\).*\("note":"[^"]*","msg":"[^"]*","sub":"[^"]*","src":"[^"]*"\).*$/\1,\2/; s/"src":"[^"]*"//'
# capture_loss: the workers' counters as of the moment of the measurement
# known_hosts, x509, known_certs: logged once by the shared tables, at the first sighting of
# whichever worker: without ts
nts='/"_path":"\(known_hosts\|x509\|known_certs\|software\|known_services\)"/s/"ts":[0-9.e+-]*,//'
"$B/mailtap-cat" "$W/a.mp" | grep -v '"capture_loss"\|CaptureLoss::' | sed "$nkey" | sed "$nts" | sort >"$W/a.txt"
"$B/mailtap-cat" "$W/c.mp" | grep -v '"capture_loss"\|CaptureLoss::' | sed "$nkey" | sed "$nts" | sort >"$W/c.txt"
if cmp -s "$W/a.txt" "$W/c.txt" && [ -s "$W/a.txt" ]; then
	echo "same records with --workers 2: $(wc -l <"$W/a.txt") lines"
else
	echo "FAIL: --workers 2 records differ"
	fail=1
fi
exit $fail
