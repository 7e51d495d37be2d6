#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Writes a container seccomp profile for mailtap: the runtime's default profile plus
bpf(2) allowed for a process holding CAP_BPF (and no longer refused without CAP_SYS_ADMIN).

The default profiles of containers-common (podman, CRI-O) allow bpf(2) only with
CAP_SYS_ADMIN, so a mailtap granted CAP_BPF (not CAP_SYS_ADMIN) gets EPERM loading its
programs. Everything else in the profile is kept.

usage: make-profile.py [BASE_PROFILE] > mailtap-seccomp.json
  BASE_PROFILE default: /usr/share/containers/seccomp.json (Debian package containers-common)
Use: podman run --security-opt seccomp=mailtap-seccomp.json ...; Kubernetes:
  seccompProfile: {type: Localhost, localhostProfile: mailtap-seccomp.json} (file in the
  kubelet's seccomp directory, /var/lib/kubelet/seccomp/).
"""
import json
import sys

base = sys.argv[1] if len(sys.argv) > 1 else "/usr/share/containers/seccomp.json"
with open(base) as f:
    prof = json.load(f)
rule = {"names": ["bpf"], "action": "SCMP_ACT_ALLOW", "args": [],
        "comment": "mailtap: load BPF programs and use maps with CAP_BPF",
        "includes": {"caps": ["CAP_BPF"]}, "excludes": {}}
# Drop bpf from the rules that refuse it (ERRNO unless CAP_SYS_ADMIN): with two rules for
# one syscall the refusing one wins.
for r in prof["syscalls"]:
    if "bpf" in r.get("names", []) and r.get("action") != "SCMP_ACT_ALLOW":
        r["names"] = [n for n in r["names"] if n != "bpf"]
prof["syscalls"] = [r for r in prof["syscalls"] if r.get("names")]
prof["syscalls"].append(rule)
json.dump(prof, sys.stdout, indent=1)
sys.stdout.write("\n")
