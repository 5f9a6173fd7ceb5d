#!/usr/bin/env python3
# Writes the signature (sig_*) and disinfection (disinfect_*) golden test
# messages and their cases. Run from this directory; the messages are
# committed, so this is only needed to change them. No virus here: the
# denied members are denied by the decisions of the .json.
import base64, io, tarfile, zipfile, json

def b64(b):
    s = base64.b64encode(b).decode()
    return "\n".join(s[i:i+76] for i in range(0, len(s), 76))

def w(name, text, crlf=False, case=None):
    if crlf:
        text = text.replace("\n", "\r\n")
    open(name + ".eml", "wb").write(text.encode())
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

SIG = {"signature_text": "Scanned by scandeliver at example.org", "signature_html": "<p class=\"sig\">Scanned by scandeliver at example.org</p>"}

w("sig_plain", """From: a@example.org
To: b@example.net
Subject: plain
Message-ID: <sig-plain@example.org>
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii
Content-Transfer-Encoding: 7bit

Hello,
see you tomorrow.
""", case=dict(status="clean", subject_tags=[], headers=["X-Scandeliver-Status: clean"], **SIG))

w("sig_alt", """From: a@example.org
To: b@example.net
Subject: alternative
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="m"

--m
Content-Type: multipart/alternative; boundary="alt"

--alt
Content-Type: text/plain; charset=iso-8859-1
Content-Transfer-Encoding: quoted-printable

Caf=E9 at noon?
--alt
Content-Type: text/html; charset=utf-8
Content-Transfer-Encoding: base64

""" + b64("<html><body><p>Café at noon?</p></BODY></html>\n".encode()) + """
--alt--
--m
Content-Type: text/plain; name="notes.txt"
Content-Disposition: attachment; filename="notes.txt"

an attachment, never signed
--m--
""", crlf=True, case=dict(status="", **SIG))

w("sig_twice", """From: a@example.org
To: b@example.net
Subject: signed already
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

Hello
=2D-=20
Scanned by scandeliver at example.org
""", case=dict(status="clean", **SIG))

w("sig_infected", """From: a@example.org
To: b@example.net
Subject: infected
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="i"

--i
Content-Type: text/plain

see attached
--i
Content-Type: application/octet-stream; name="bad.bin"
Content-Disposition: attachment; filename="bad.bin"
Content-Transfer-Encoding: base64

""" + b64(b"pretend this is a virus\n") + """
--i--
""", case=dict(status="infected", parts=[{"part": "1.2", "name": "bad.bin", "action": "deny", "kind": "infected", "rule": "virus", "reason": "Test.Virus"}], **SIG))

exe = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48 + b"This program cannot be run in DOS mode.\r\n"
pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"

w("disinfect_zip", """From: a@example.org
To: b@example.net
Subject: zipped
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="z1"

--z1
Content-Type: text/plain

zip attached
--z1
Content-Type: application/zip; name="files.zip"
Content-Disposition: attachment; filename="files.zip"
Content-Transfer-Encoding: base64

""" + b64(mkzip([("readme.txt", b"read me\n" * 20), ("dir/", b""), ("setup.exe", exe), ("report.pdf", pdf)])) + """
--z1
Content-Type: application/pdf; name="after.pdf"
Content-Disposition: attachment; filename="after.pdf"
Content-Transfer-Encoding: base64

""" + b64(pdf) + """
--z1--
""", crlf=True, case={"status": "infected", "disinfect": True, "parts": [{"part": "1.2/2", "name": "setup.exe", "action": "deny", "kind": "infected", "rule": "virus", "reason": "Test.Virus"}]})

w("disinfect_tar", """From: a@example.org
To: b@example.net
Subject: tarred
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="t1"

--t1
Content-Type: text/plain

tar attached
--t1
Content-Type: application/x-tar; name="files.tar"
Content-Disposition: attachment; filename="files.tar"
Content-Transfer-Encoding: BASE64

""" + b64(mktar([("docs/a.txt", b"first\n"), ("docs/run.exe", exe), ("docs/c.pdf", pdf)])) + """
--t1--
""", case={"status": "blocked", "disinfect": True, "parts": [{"part": "1.2/2", "name": "docs/run.exe", "action": "deny", "kind": "type", "rule": "type executable", "reason": "Executable in archive"}]})

inner = mkzip([("bad.exe", exe), ("fine.txt", b"fine\n")])
w("disinfect_nested", """From: a@example.org
To: b@example.net
Subject: zip in zip
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="n1"

--n1
Content-Type: text/plain

nested zip attached
--n1
Content-Type: application/zip; name="outer.zip"
Content-Disposition: attachment; filename="outer.zip"
Content-Transfer-Encoding: base64

""" + b64(mkzip([("inner.zip", inner), ("ok.txt", b"ok\n")], zipfile.ZIP_STORED)) + """
--n1--
""", case={"status": "blocked", "disinfect": True, "parts": [{"part": "1.2/1/1", "name": "bad.exe", "action": "deny", "kind": "type", "rule": "type executable", "reason": "Executable in archive"}]})
