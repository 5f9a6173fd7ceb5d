# Shared by gen.py and gen_sig.py: writing a case, base64, archives and
# the test payloads.
import base64, io, json, tarfile, zipfile

def b64(b):
    s = base64.b64encode(b).decode()
    return "\n".join(s[i:i+76] for i in range(0, len(s), 76))

def w(name, text, crlf=False, case=None):
    """Writes name.eml (with CRLF line ends when crlf) and, given a case, name.json."""
    if crlf:
        text = text.replace("\n", "\r\n")
    open(name + ".eml", "wb").write(text.encode())
    if case is not None:
        open(name + ".json", "w").write(json.dumps(case, indent=1, ensure_ascii=False) + "\n")

def mkzip(members, method=zipfile.ZIP_DEFLATED):
    zb = io.BytesIO()
    with zipfile.ZipFile(zb, "w") as z:
        for n, d in members:
            z.writestr(zipfile.ZipInfo(n, date_time=(2024, 1, 1, 0, 0, 0)), d,
                       compress_type=zipfile.ZIP_STORED if n.endswith("/") else method)
    return zb.getvalue()

def mktar(members):
    tb = io.BytesIO()
    with tarfile.open(fileobj=tb, mode="w", format=tarfile.USTAR_FORMAT) as t:
        d = tarfile.TarInfo("docs/")
        d.type, d.mtime, d.mode = tarfile.DIRTYPE, 1704067200, 0o755
        t.addfile(d)
        for n, data in members:
            i = tarfile.TarInfo(n)
            i.size, i.mtime, i.mode = len(data), 1704067200, 0o644
            t.addfile(i, io.BytesIO(data))
    return tb.getvalue()

exe = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48 + b"This program cannot be run in DOS mode.\r\n"
pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
