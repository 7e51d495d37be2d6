#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Readiness / health probe for the container: mailtap runs and its XDP program is attached
# to MAILTAP_INTERFACE (default eth0); in host mode its tc egress filter is there too.
# Exit 0 ready, 1 not (the reason on stdout).
IF=${MAILTAP_INTERFACE:-eth0}
pid=$(pidof mailtap 2>/dev/null) || { echo "mailtap is not running"; exit 1; }
ip link show dev "$IF" 2>/dev/null | grep -q 'prog/xdp' || { echo "no XDP program on $IF yet"; exit 1; }
if [ "${MAILTAP_CAPTURE:-mirror}" = host ]; then
	tc filter show dev "$IF" egress 2>/dev/null | grep -q mailtap_host_tc ||
		{ echo "no mailtap tc egress filter on $IF yet"; exit 1; }
fi
echo "mailtap (pid $pid) captures on $IF"
