#!/usr/bin/env python3
# Writes the signature (sig_*) and disinfection (disinfect_*) golden test
# messages and their cases. Run from this directory; the messages are
# committed, so this is only needed to change them. No virus here: the
# denied members are denied by the decisions of the .json.
import zipfile
from genlib import b64, w, exe, pdf, mkzip, mktar

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
