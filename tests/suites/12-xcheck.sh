#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Cross-check: mailtap's records against the other tools' expectations in the corpus
# (Suricata-verify eve filters, Arkime sessions, nDPI flow results): tests/xcheck/xcheck.py,
# field mapping and documented differences in tests/xcheck/mapping.py and docs/xcheck.md.
set -u
cd "$(dirname "$0")/../.."
[ -d ../shared/corpus/suricata-verify ] || { echo "../shared/corpus is missing"; exit 1; }
if ! /usr/bin/python3 -c "import yaml" 2>/dev/null && ! python3 -c "import yaml" 2>/dev/null; then
	echo "python3-yaml is not installed (tools/install-deps.sh)"
	exit 249
fi
PY=python3
python3 -c "import yaml" 2>/dev/null || PY=/usr/bin/python3
exec timeout 300 "$PY" tests/xcheck/xcheck.py "$@"
