#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Golden tests: mailtap's conn, smtp, weird, files, ssl, x509 and intel records against the logs Zeek
# wrote on the same captures (../shared/corpus/zeek), field by field (tests/golden/golden.py).
set -u
cd "$(dirname "$0")/../.."
[ -d ../shared/corpus/zeek ] || { echo "../shared/corpus/zeek is missing"; exit 1; }
python3 tests/golden/golden.py --streams conn,smtp,weird,files,ssl,x509,intel
