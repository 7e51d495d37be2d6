#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Container entrypoint: turns MAILTAP_* environment variables into mailtap flags, then
# execs mailtap (so it is PID 1's direct replacement and gets SIGTERM itself). Flags given
# after the image name (and MAILTAP_ARGS) come after the variables' flags: an option that
# takes one value (--ports, --capture, --snaplen, ...) then has the command line's value;
# -o and -w add outputs to MAILTAP_OUTPUT's and MAILTAP_WRITE's (mailtap refuses the same
# output twice); an input on the command line replaces MAILTAP_INTERFACE, as mailtap takes
# one: -i IFACE, or -r FILE, which also leaves out the live-capture variables (mailtap
# refuses live-capture options with -r). An empty variable is unset.
#   MAILTAP_INTERFACE  -i IFACE                 MAILTAP_CAPTURE   --capture host|mirror
#   MAILTAP_OUTPUT     -o SPEC                  MAILTAP_WRITE     -w FILE|-
#   MAILTAP_PORTS      --ports LIST             MAILTAP_XDP_MODE  --xdp-mode M
#   MAILTAP_SNAPLEN    --snaplen N              MAILTAP_STATS_INTERVAL --stats-interval S
#   MAILTAP_ARGS       more flags, split on blanks (no file name expansion: a * stays a *)
set -eu
if [ "${1:-}" = mailtap-cat ] || [ "${1:-}" = sh ] || [ "${1:-}" = /bin/sh ]; then
	exec "$@"
fi
set -f # MAILTAP_ARGS is split on blanks, and nothing else: "--extract-types *" is no glob
set -- ${MAILTAP_ARGS:-} "$@"
for a in "$@"; do
	case $a in
	-i* | --interface | --interface=*) MAILTAP_INTERFACE= ;;
	-r* | --read | --read=*)
		MAILTAP_INTERFACE= MAILTAP_CAPTURE= MAILTAP_XDP_MODE= MAILTAP_SNAPLEN=
		;;
	esac
done
[ -n "${MAILTAP_STATS_INTERVAL:-}" ] && set -- --stats-interval "$MAILTAP_STATS_INTERVAL" "$@"
[ -n "${MAILTAP_SNAPLEN:-}" ] && set -- --snaplen "$MAILTAP_SNAPLEN" "$@"
[ -n "${MAILTAP_XDP_MODE:-}" ] && set -- --xdp-mode "$MAILTAP_XDP_MODE" "$@"
[ -n "${MAILTAP_PORTS:-}" ] && set -- --ports "$MAILTAP_PORTS" "$@"
[ -n "${MAILTAP_WRITE:-}" ] && set -- -w "$MAILTAP_WRITE" "$@"
[ -n "${MAILTAP_OUTPUT:-}" ] && set -- -o "$MAILTAP_OUTPUT" "$@"
[ -n "${MAILTAP_CAPTURE:-}" ] && set -- --capture "$MAILTAP_CAPTURE" "$@"
[ -n "${MAILTAP_INTERFACE:-}" ] && set -- -i "$MAILTAP_INTERFACE" "$@"
exec /usr/bin/mailtap "$@"
