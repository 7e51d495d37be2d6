#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# pe (Zeek's pe.log, base/files/pe): Windows executables mailed as attachments.
#  - Executables built here with GNU as and ld (PE32+ and PE32, console, GUI and EFI
#    subsystems, a DLL with exports, ASLR/DEP on and off, OS versions; a debug directory and a
#    certificate table set in copies),
#    mailed base64-encoded in one SMTP session: one pe record per executable, written before
#    its files record, `id` its fuid, "PE" in the file's analyzers, and every field equal to
#    what objdump -p and -h read from the same file (machine, compile_ts, os, subsystem, the
#    characteristics, the export/import/certificate/debug directories, the section names).
#  - An executable cut inside its section table (shorter than the 4096-byte sniffing buffer:
#    sniffed, and analysed, at its end): a record with the file header's fields and no
#    section_names.
#  - A text attachment: no pe record, no PE analyzer; --no-pe: neither for any file.
set -u
cd "$(dirname "$0")/../.."
. tests/suite-lib.sh
if ! ld -V 2>/dev/null | grep -q i386pep || ! command -v objdump >/dev/null; then
	echo "SKIP ld without the i386pep emulation or no objdump (binutils)"
	exit 0
fi
export TOP=$PWD
cd "$T" || exit 1
cat >a.s <<'EOF'
.text
.globl _start
_start:
	ret
.globl helper
helper:
	ret
.data
.long 1
EOF
as --64 a.s -o a64.o && as --32 a.s -o a32.o || { echo "FAIL as"; exit 1; }
ld -m i386pep -e _start --subsystem console -o cons64.exe a64.o &&
	ld -m i386pep -e _start --subsystem windows --disable-dynamicbase --disable-nxcompat \
		--major-os-version 10 --minor-os-version 0 -o gui64.exe a64.o &&
	ld -m i386pe -e _start --subsystem console --major-os-version 6 --minor-os-version 1 \
		-o cons32.exe a32.o &&
	ld -m i386pep --shared --export-all-symbols -e _start -o lib64.dll a64.o &&
	ld -m i386pep -e _start --subsystem 10 -o boot.efi a64.o &&
	ld -m i386pep -e _start -o plain64.exe a64.o ||
	{ echo "FAIL ld"; exit 1; }
# a debug directory and a certificate table (this ld writes neither): their data directory
# entries (6 and 4) set in copies of an executable
python3 - <<'EOF'
import struct
b = bytearray(open("plain64.exe", "rb").read())
lf = struct.unpack_from("<I", b, 60)[0]
dd = lf + 24 + 112  # PE32+: the data directory
for name, entry, va, size in (("dbg64.exe", 6, 0x2000, 0x1c), ("sig64.exe", 4, len(b), 0x10)):
    c = bytearray(b)
    struct.pack_into("<II", c, dd + 8 * entry, va, size)
    open(name, "wb").write(c)
EOF
EXES="cons64.exe gui64.exe cons32.exe lib64.dll boot.efi dbg64.exe sig64.exe"
# the DLL cut 8 bytes into its second section header: the file header is whole, the table not
off=$(python3 -c '
import struct, sys
b = open("lib64.dll", "rb").read()
lf = struct.unpack_from("<I", b, 60)[0]
soh = struct.unpack_from("<H", b, lf + 20)[0]
print(lf + 24 + soh + 48)')
head -c "$off" lib64.dll >cut.dll
printf 'just text, not a program\r\n%.0s' $(seq 200) >notes.txt

/usr/bin/python3 - mail.pcap $EXES cut.dll notes.txt <<'EOF2' || { echo "FAIL capture"; exit 1; }
import base64, logging, sys
logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
import os
from scapy.all import wrpcap
sys.path.insert(0, os.environ["TOP"] + "/tests")
from tcp_session import TcpSession
out, files = sys.argv[1], sys.argv[2:]
pk = []
s = TcpSession(pk, "10.1.0.5", 40000, "10.1.0.25", 25, t0=1700000000.0)
s.handshake(); s.srv(b"220 mx ESMTP\r\n"); s.cli(b"EHLO c\r\n"); s.srv(b"250 mx\r\n")
s.cli(b"MAIL FROM:<a@example.com>\r\n"); s.srv(b"250 ok\r\n")
s.cli(b"RCPT TO:<b@example.com>\r\n"); s.srv(b"250 ok\r\n")
s.cli(b"DATA\r\n"); s.srv(b"354 go\r\n")
msg = (b"From: a@example.com\r\nTo: b@example.com\r\nSubject: tools\r\nMIME-Version: 1.0\r\n"
       b"Content-Type: multipart/mixed; boundary=BB\r\n\r\n")
for f in files:
    b = base64.encodebytes(open(f, "rb").read()).replace(b"\n", b"\r\n")
    msg += (b"--BB\r\nContent-Type: application/octet-stream; name=\"" + f.encode() +
            b"\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" + b)
msg += b"--BB--\r\n.\r\n"
for i in range(0, len(msg), 1400):
    s.cli(msg[i:i + 1400])
s.srv(b"250 queued\r\n"); s.cli(b"QUIT\r\n"); s.srv(b"221 bye\r\n"); s.close()
wrpcap(out, pk)
EOF2
cd - >/dev/null || exit 1

"$B/mailtap" -r "$T/mail.pcap" -w - --seed 1 | "$B/mailtap-cat" - >"$T/on.json"
"$B/mailtap" -r "$T/mail.pcap" -w - --seed 1 --no-pe | "$B/mailtap-cat" - >"$T/off.json"
for f in $EXES; do
	TZ=UTC objdump -p "$T/$f" >"$T/$f.p" 2>/dev/null && objdump -h "$T/$f" >"$T/$f.h" 2>/dev/null || bad "objdump $f"
done
res=$(cd "$T" && python3 - $EXES <<'EOF3'
import json, re, sys, calendar, time
exes = sys.argv[1:]
recs = [json.loads(l) for l in open("on.json")]
files = [r for r in recs if r["_path"] == "files"]
pes = [r for r in recs if r["_path"] == "pe"]
out = []
# consts.zeek, for the values these executables carry
OS = {(4, 0): "Windows 95 or NT 4.0", (10, 0): "Windows 10", (6, 1): "Windows 7 or Server 2008 R2",
      (5, 2): "Windows XP x64 or Server 2003"}
SUB = {2: "WINDOWS_GUI", 3: "WINDOWS_CUI", 10: "EFI_APPLICATION"}
MACH = {"pei-x86-64": "AMD64", "pei-i386": "I386"}
order = [r["_path"] for r in recs if r["_path"] in ("pe", "files")]
for f in exes + ["cut.dll", "notes.txt"]:
    fr = [r for r in files if r.get("filename") == f]
    if len(fr) != 1:
        out.append("%s: %d files records" % (f, len(fr))); continue
    fr = fr[0]
    pr = [r for r in pes if r["id"] == fr["fuid"]]
    if f == "notes.txt":
        if pr or "PE" in fr["analyzers"]:
            out.append("notes.txt: a pe record or a PE analyzer")
        continue
    if len(pr) != 1 or "PE" not in fr["analyzers"] or fr["mime_type"] != "application/x-dosexec":
        out.append("%s: %d pe records, analyzers %s" % (f, len(pr), fr["analyzers"])); continue
    pr = pr[0]
    i = recs.index(pr)
    if recs[i + 1] is not fr:
        out.append("%s: the pe record is not right before its files record" % f)
    if f == "cut.dll":
        if pr.get("machine") != "AMD64" or "section_names" in pr or not pr["is_exe"]:
            out.append("cut.dll: %s" % pr)
        continue
    p = open(f + ".p").read()
    want = {}
    want["machine"] = MACH[re.search(r"file format (\S+)", p).group(1)]
    ch = int(re.search(r"^Characteristics\s+0x([0-9a-f]+)", p, re.M).group(1), 16)
    want["is_64bit"] = not (ch & 0x100)
    want["is_exe"] = True
    t = re.search(r"^Time/Date\s+(.*)$", p, re.M).group(1).strip()
    want["compile_ts"] = float(calendar.timegm(time.strptime(t, "%a %b %d %H:%M:%S %Y")))
    mj = int(re.search(r"^MajorOSystemVersion\s+(\d+)", p, re.M).group(1))
    mn = int(re.search(r"^MinorOSystemVersion\s+(\d+)", p, re.M).group(1))
    want["os"] = OS[(mj, mn)]
    want["subsystem"] = SUB[int(re.search(r"^Subsystem\s+([0-9a-f]+)", p, re.M).group(1), 16)]
    dll = int(re.search(r"^DllCharacteristics\s+([0-9a-f]+)", p, re.M).group(1), 16)
    want["uses_aslr"] = bool(dll & 0x40)
    want["uses_code_integrity"] = bool(dll & 0x80)
    want["uses_dep"] = bool(dll & 0x100)
    want["uses_seh"] = not (dll & 0x400)
    sizes = {int(m.group(1), 16): int(m.group(2), 16)
             for m in re.finditer(r"^Entry ([0-9a-f]) [0-9a-f]+ ([0-9a-f]+)", p, re.M)}
    want["has_export_table"] = sizes.get(0, 0) > 0
    want["has_import_table"] = sizes.get(1, 0) > 0
    want["has_cert_table"] = sizes.get(4, 0) > 0
    want["has_debug_data"] = sizes.get(6, 0) > 0
    want["section_names"] = re.findall(r"^\s+\d+ (\S+)\s+[0-9a-f]{8}", open(f + ".h").read(), re.M)
    for k, v in want.items():
        if pr.get(k) != v:
            out.append("%s %s: mailtap %r, objdump %r" % (f, k, pr.get(k), v))
feats = []
if any(r.get("has_export_table") for r in pes): feats.append("exports")
if any(r.get("has_debug_data") for r in pes): feats.append("debug")
if any(r.get("has_cert_table") for r in pes): feats.append("certificates")
if any(not r.get("uses_aslr") for r in pes if "uses_aslr" in r): feats.append("no-aslr")
if any(r.get("is_64bit") is False for r in pes): feats.append("32-bit")
if len(feats) < 5:
    out.append("the executables do not cover exports, debug data, certificates, no ASLR and "
               "32-bit: %s" % feats)
off = [json.loads(l) for l in open("off.json")]
if any(r["_path"] == "pe" or "PE" in r.get("analyzers", []) for r in off):
    out.append("--no-pe: a pe record or a PE analyzer")
print("\n".join(out) if out else "OK %d" % len(pes))
EOF3
)
if [ "${res%% *}" = OK ]; then
	ok "pe: ${res#OK } records equal to objdump's reading (PE32+, PE32, DLL, EFI, debug, certificates, ASLR off), each before its files record; a cut executable without section names; no PE for text or with --no-pe"
else
	bad "pe: $res"
fi
[ $fails -eq 0 ]
