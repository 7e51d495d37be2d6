#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Installs the Debian packages mailtap's build, tests, demo and benchmarks need.
# Idempotent: packages already present are not touched and apt is not called.
# Usage: tools/install-deps.sh [--quiet]
set -euo pipefail

PKGS=(
	build-essential pkg-config clang llvm lld
	libbpf-dev libxdp-dev xdp-tools bpftool libelf-dev zlib1g-dev libseccomp-dev libcap-dev
	libmsgpack-dev libpcap-dev libssl-dev openssl ca-certificates libcmocka-dev
	iproute2 tcpreplay tshark tcpdump swaks libnet-ssleay-perl postfix
	python3 python3-msgpack python3-scapy time
	libclang-rt-14-dev valgrind bc linux-perf
	podman runc debootstrap python3-kubernetes docker-compose
)

missing=()
for p in "${PKGS[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
		missing+=("$p")
	fi
done

if [ ${#missing[@]} -eq 0 ]; then
	[ "${1:-}" = "--quiet" ] || echo "install-deps: all ${#PKGS[@]} packages present"
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing packages: ${missing[*]}; run as root (or sudo $0)" >&2
	exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# postfix and wireshark-common ask questions on install: answer them up front.
echo "postfix postfix/main_mailer_type select Local only" | debconf-set-selections
echo "postfix postfix/mailname string mailtap.test" | debconf-set-selections
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
apt-get -o DPkg::Lock::Timeout=600 update -qq
apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
