#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Fuzz smoke run: every libFuzzer target (ASan+UBSan) replays its regression inputs and
# fuzzes for a few seconds. `make fuzz` runs them longer (FUZZ_SECONDS, default 60).
set -u
cd "$(dirname "$0")/../.."
command -v clang >/dev/null || { echo "clang missing"; exit 1; }
FUZZ_SECONDS=${FUZZ_SMOKE_SECONDS:-8} bash tools/fuzz.sh
