#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The container image (deploy/Dockerfile) builds and runs: tools/container-test.sh.
exec bash "$(dirname "$0")/../../tools/container-test.sh"
