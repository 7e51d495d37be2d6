#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# XDP program cost (make bench): BPF_PROG_TEST_RUN ns/packet of build/mailtap.bpf.o for mail
# and non-mail frames, as a ratio to an empty XDP program measured in the same run.
# Needs root. Usage: BUILD=build tools/bench_xdp.sh [--repeat N] [--rounds N]
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
if [ "$(id -u)" -ne 0 ]; then
	echo "bench_xdp: needs root (BPF_PROG_TEST_RUN); skipped"
	exit 0
fi
[ -x "$BUILD/tools/bench_xdp" ] || make --no-print-directory BUILD="$BUILD" "$BUILD/tools/bench_xdp"
exec "$BUILD/tools/bench_xdp" "$BUILD/mailtap.bpf.o" "$@"
