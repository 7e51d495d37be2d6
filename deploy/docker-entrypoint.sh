#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Container entrypoint: turns MAILTAP_* environment variables into mailtap flags, then
# execs mailtap (so it is PID 1's direct replacement and gets SIGTERM itself). Flags given
# after the image name come last and win over the variables. An empty variable is unset.
#   MAILTAP_INTERFACE  -i IFACE                 MAILTAP_CAPTURE   --capture host|mirror
#   MAILTAP_OUTPUT     -o SPEC                  MAILTAP_WRITE     -w FILE|-
#   MAILTAP_PORTS      --ports LIST             MAILTAP_XDP_MODE  --xdp-mode M
#   MAILTAP_SNAPLEN    --snaplen N              MAILTAP_STATS_INTERVAL --stats-interval S
#   MAILTAP_ARGS       more flags, split on spaces
set -eu
if [ "${1:-}" = mailtap-cat ] || [ "${1:-}" = sh ] || [ "${1:-}" = /bin/sh ]; then
	exec "$@"
fi
set -- ${MAILTAP_ARGS:-} "$@"
[ -n "${MAILTAP_STATS_INTERVAL:-}" ] && set -- --stats-interval "$MAILTAP_STATS_INTERVAL" "$@"
[ -n "${MAILTAP_SNAPLEN:-}" ] && set -- --snaplen "$MAILTAP_SNAPLEN" "$@"
[ -n "${MAILTAP_XDP_MODE:-}" ] && set -- --xdp-mode "$MAILTAP_XDP_MODE" "$@"
[ -n "${MAILTAP_PORTS:-}" ] && set -- --ports "$MAILTAP_PORTS" "$@"
[ -n "${MAILTAP_WRITE:-}" ] && set -- -w "$MAILTAP_WRITE" "$@"
[ -n "${MAILTAP_OUTPUT:-}" ] && set -- -o "$MAILTAP_OUTPUT" "$@"
[ -n "${MAILTAP_CAPTURE:-}" ] && set -- --capture "$MAILTAP_CAPTURE" "$@"
[ -n "${MAILTAP_INTERFACE:-}" ] && set -- -i "$MAILTAP_INTERFACE" "$@"
exec /usr/bin/mailtap "$@"
