#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Readiness / health probe (the container's HEALTHCHECK, the k8s probes): mailtap runs and
# its XDP program is attached to its capture interface; in host mode its tc egress filter
# is there too. Exit 0 ready, 1 not (the reason on stdout).
#
# The interface and the mode are those of the running mailtap's own command line
# (/proc/PID/cmdline), read as mailtap's getopt_long reads it: -i IFACE, -iIFACE, -viIFACE,
# --interface IFACE, --interface=IFACE (and the unambiguous abbreviations --inter ...),
# --capture host|mirror, --capture=host|mirror (the last one counts; mirror without one),
# up to a "--". So flags given after the image name (-i eth1, --capture mirror) are
# followed, not only the MAILTAP_* variables. In a container mailtap is PID 1 (the
# entrypoint execs it); elsewhere every process named mailtap is checked, except those
# reading a file (-r). Only when a command line cannot be read (hidepid=) are
# MAILTAP_INTERFACE (default eth0) and MAILTAP_CAPTURE (default mirror) used.

# cmdline_of PID: sets IF and MODE, or OFFLINE=1 for a -r run; 1 when /proc/PID/cmdline
# cannot be read or names no input
cmdline_of() {
	IF='' MODE=mirror OFFLINE=''
	args=$(tr '\0' '\n' 2>/dev/null <"/proc/$1/cmdline") || return 1
	[ -n "$args" ] || return 1
	want='' skip=1
	while IFS= read -r a; do
		if [ -n "$skip" ]; then # argv[0]
			skip=
			continue
		fi
		if [ -n "$want" ]; then # the value of the option before
			case $want in i) IF=$a ;; c) MODE=$a ;; r) OFFLINE=1 ;; esac
			want=
			continue
		fi
		case $a in
		--) break ;;
		--capture=*) MODE=${a#*=} ;;
		--capture) want=c ;;
		--inter=* | --interf=* | --interfa=* | --interfac=* | --interface=*) IF=${a#*=} ;;
		--inter | --interf | --interfa | --interfac | --interface) want=i ;;
		--read=*) OFFLINE=1 ;;
		--read) want=r ;;
		--*) ;; # another long option; its value, if separate, is no option either
		-?*)    # short options, maybe several in one word: -v -q -h take no value
			s=${a#-}
			while [ -n "$s" ]; do
				c=${s%"${s#?}"}
				s=${s#?}
				case $c in
				[irwof])
					if [ -n "$s" ]; then
						case $c in i) IF=$s ;; r) OFFLINE=1 ;; esac
					else
						want=$c
					fi
					s=
					;;
				esac
			done
			;;
		esac
	done <<EOF
$args
EOF
	[ -n "$IF" ] || [ -n "$OFFLINE" ]
}

# check PID: 0 when the mailtap PID captures (or only reads a file: SKIPPED=1)
check() {
	SKIPPED=
	if cmdline_of "$1"; then
		if [ -z "$IF" ]; then # -r FILE: no live capture to check
			SKIPPED=1
			return 0
		fi
		from="its command line"
	else
		IF=${MAILTAP_INTERFACE:-eth0} MODE=${MAILTAP_CAPTURE:-mirror}
		from="MAILTAP_INTERFACE/MAILTAP_CAPTURE"
	fi
	ip link show dev "$IF" 2>/dev/null | grep -q 'prog/xdp' ||
		{ echo "mailtap (pid $1): no XDP program on $IF yet ($MODE mode, from $from)"; return 1; }
	if [ "$MODE" = host ]; then
		tc filter show dev "$IF" egress 2>/dev/null | grep -q mailtap_host_tc ||
			{ echo "mailtap (pid $1): no mailtap tc egress filter on $IF yet (from $from)"; return 1; }
	fi
	echo "mailtap (pid $1) captures on $IF ($MODE mode)"
}

comm=$(cat /proc/1/comm 2>/dev/null) || comm=
if [ "$comm" = mailtap ]; then
	pids=1
else
	pids=$(pidof mailtap 2>/dev/null || pgrep -x mailtap 2>/dev/null) || pids=
fi
[ -n "$pids" ] || { echo "mailtap is not running"; exit 1; }
rc=0 live=0
for pid in $pids; do
	check "$pid" || rc=1
	[ -n "$SKIPPED" ] || live=$((live + 1))
done
[ "$live" -gt 0 ] || { echo "mailtap runs, but only reads files (-r): no live capture"; exit 1; }
exit "$rc"
