# SPDX-License-Identifier: BSD-3-Clause
# Sourced by a suite after it changed to the checkout's top: B (the build), T (a temporary
# folder removed at exit), ok/bad (a checked result; bad counts into fails). The suite ends
# with `[ $fails -eq 0 ]`.
B=${BUILD:-build}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fails=$((fails + 1)); }
