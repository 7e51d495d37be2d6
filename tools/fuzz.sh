#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# make fuzz: builds every tests/fuzz/fuzz_*.c with libFuzzer + ASan + UBSan, replays the
# regression inputs in tests/fuzz/regress/<target>/ (crashers found earlier), then fuzzes each
# target for FUZZ_SECONDS (default 60) from its seeds: tests/fuzz/corpus/<target>/ and, for
# fuzz_pipeline, the corpus' captures and generated ones in tunnels (gen_smtp_pcap --encap). New crashers land in build-fuzz/crashes/<target>/.
#   FUZZ_SECONDS=N  FUZZ_TARGETS="fuzz_smtp fuzz_tls"  FUZZ_JOBS=1
set -u
cd "$(dirname "$0")/.."
OUT=build-fuzz
SECS=${FUZZ_SECONDS:-60}
mkdir -p "$OUT"
LIBS="$(pkg-config --libs libpcap msgpack libssl libcrypto zlib libxdp libbpf libseccomp libcap 2>/dev/null) -lelf -lpthread -lm"
CFLAGS="-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -std=gnu11 -D_GNU_SOURCE -Iinclude -Ibuild -Itests/fuzz -w"
SRCS=$(ls user/*.c | grep -v '^user/main.c$')
export ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1
export UBSAN_OPTIONS=print_stacktrace=1
make --no-print-directory -s build/mailtap build/tools/gen_smtp_pcap >/dev/null 2>&1 || true # skeleton header
cc -O2 -o "$OUT/pcap2fuzz" tools/pcap2fuzz.c -lpcap || exit 1

# The sources every target links, compiled once (instrumented, without libFuzzer's main) and
# in parallel, not once per target: the targets then only link.
mkdir -p "$OUT/obj"
OBJCFLAGS=${CFLAGS/-fsanitize=fuzzer,/-fsanitize=fuzzer-no-link,}
if ! printf '%s\n' $SRCS tests/fuzz/fuzz_parsers.c |
	xargs -P "$(nproc)" -I{} sh -c 'o="$1/obj/$(basename "$2" .c).o"; clang $3 -c "$2" -o "$o" 2>"$o.log" || { cat "$o.log"; exit 1; }' \
		sh "$OUT" {} "$OBJCFLAGS"; then
	echo "fuzz: the sources do not build"
	exit 1
fi
OBJS=$(for f in $SRCS; do echo "$OUT/obj/$(basename "$f" .c).o"; done)

targets=${FUZZ_TARGETS:-$(grep -l LLVMFuzzerTestOneInput tests/fuzz/*.c | xargs -n1 basename | sed 's/\.c$//')}
fails=0
summary=()
for t in $targets; do
	extra=""
	case $t in fuzz_pipeline) extra=$OUT/obj/fuzz_parsers.o ;; esac
	if ! clang $CFLAGS "tests/fuzz/$t.c" $extra $OBJS $LIBS -o "$OUT/$t" 2>"$OUT/$t.build.log"; then
		echo "fuzz: $t does not build:"
		tail -20 "$OUT/$t.build.log"
		fails=$((fails + 1))
		continue
	fi
	if [ -d "tests/fuzz/regress/$t" ] && [ -n "$(ls -A "tests/fuzz/regress/$t")" ]; then
		if ! "$OUT/$t" -runs=0 "tests/fuzz/regress/$t"/* >"$OUT/$t.regress.log" 2>&1; then
			echo "fuzz: $t fails on a regression input:"
			tail -30 "$OUT/$t.regress.log"
			fails=$((fails + 1))
			continue
		fi
	fi
	corpus="$OUT/corpus/$t"
	mkdir -p "$corpus" "$OUT/crashes/$t"
	[ -d "tests/fuzz/corpus/$t" ] && cp -n tests/fuzz/corpus/$t/* "$corpus/" 2>/dev/null
	if [ "$t" = fuzz_pipeline ] && [ -d ../shared/corpus ]; then
		i=0
		while IFS= read -r p; do
			i=$((i + 1))
			[ -s "$corpus/pcap-$i" ] || "$OUT/pcap2fuzz" "$p" "$corpus/pcap-$i" 2>/dev/null
		done < <(find ../shared/corpus -name '*.pcap' -size -200k | sort)
	fi
	if [ "$t" = fuzz_pipeline ] && [ -x build/tools/gen_smtp_pcap ]; then
		# mail in tunnels and behind MPLS/PPPoE, which the corpus has none of
		for k in vxlan geneve gre erspan2 erspan3 mpls mpls-pw pppoe pptp ayiya gtp teredo; do
			[ -s "$corpus/encap-$k" ] && continue
			build/tools/gen_smtp_pcap -o "$OUT/encap-$k.pcap" -n 2 -c 2 -a 2000 -m 200 \
				--seed 3 --encap "$k" >/dev/null 2>&1 &&
				"$OUT/pcap2fuzz" "$OUT/encap-$k.pcap" "$corpus/encap-$k" 2>/dev/null
		done
		# two tunnels deep (Zeek's Tunnel::max_depth 2)
		for k in vxlan:vxlan gre:geneve vxlan:gtp erspan3:vxlan pptp:ayiya; do
			IFS=: read -r k1 k2 <<<"$k"
			[ -s "$corpus/encap2-$k1-$k2" ] && continue
			build/tools/gen_smtp_pcap -o "$OUT/encap2-$k1-$k2.pcap" -n 2 -c 2 -a 2000 -m 200 \
				--seed 3 --encap "$k1" --encap2 "$k2" >/dev/null 2>&1 &&
				"$OUT/pcap2fuzz" "$OUT/encap2-$k1-$k2.pcap" "$corpus/encap2-$k1-$k2" 2>/dev/null
		done
		# two mirror sessions: the servers' packets come in VXLAN from another source, so
		# each connection changes tunnel (tunnel_parents names both: user/tunparents.c)
		if [ ! -s "$corpus/encap-vxlan-2mirror" ] &&
			build/tools/gen_smtp_pcap -o "$OUT/encap-2m.pcap" -n 2 -c 2 -a 2000 -m 200 \
				--seed 3 --encap vxlan >/dev/null 2>&1; then
			python3 - "$OUT/encap-2m.pcap" <<'EOF2' &&
import struct, sys
d = bytearray(open(sys.argv[1], "rb").read())
o = 24
while o + 16 <= len(d):
    n = struct.unpack_from("<I", d, o + 8)[0]
    f = o + 16  # Ethernet, IPv4, UDP, VXLAN, Ethernet, IPv4 (20 bytes), TCP
    if n >= 86 and struct.unpack_from(">H", d, f + 84)[0] in (25, 465, 587):
        d[f + 29] = 3  # outer source 172.16.0.3
    o = f + n
open(sys.argv[1], "wb").write(d)
EOF2
				"$OUT/pcap2fuzz" "$OUT/encap-2m.pcap" "$corpus/encap-vxlan-2mirror" 2>/dev/null
		fi
	fi
	"$OUT/$t" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
		-artifact_prefix="$OUT/crashes/$t/" -print_final_stats=1 "$corpus" \
		>"$OUT/$t.log" 2>&1
	rc=$?
	execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$OUT/$t.log" | grep -o '[0-9]*$')
	cov=$(grep -o 'cov: [0-9]*' "$OUT/$t.log" | tail -1 | grep -o '[0-9]*')
	summary+=("$(printf '%-20s %10s execs  cov %6s  exit %d' "$t" "${execs:-?}" "${cov:-?}" $rc)")
	if [ $rc -ne 0 ]; then
		echo "fuzz: $t found a problem (exit $rc):"
		grep -E "ERROR|SUMMARY|runtime error|Test unit written" "$OUT/$t.log" | head -10
		fails=$((fails + 1))
	fi
done
echo "fuzz summary (${SECS}s per target):"
printf '  %s\n' "${summary[@]}"
[ $fails -eq 0 ]
