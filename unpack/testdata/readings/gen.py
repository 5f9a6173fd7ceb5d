#!/usr/bin/env python3
"""Writes one message per trick family (issue 11: headers, parameters,
boundaries, transfer encodings, line ends), each hiding the payload
PAYLOAD in a part named x.exe, for TestReadings (unpack/readings_test.go).
Run it here to rewrite the .eml files: python3 gen.py
The payload is harmless text: the tests compare hashes with what
Python's email, ripmime and munpack extract (../shared/readers/readers.py).
"""
import base64

P = b"READINGS-PAYLOAD-0123456789-abcdefghij"
B = base64.b64encode(P).decode()
H = "From: a@example.org\r\nTo: b@example.org\r\nSubject: trick\r\nMIME-Version: 1.0\r\n"
EXE = "Content-Type: application/octet-stream; name=x.exe\r\nContent-Transfer-Encoding: base64\r\n\r\n" + B + "\r\n"


def mixed(parts, b="BB", extra=""):
    return H + "Content-Type: multipart/mixed; boundary=" + b + "\r\n" + extra + "\r\n" + "".join(
        "--" + b + "\r\n" + p for p in parts) + "--" + b + "--\r\n"


def leaf(cte, body):
    return mixed(["Content-Type: text/plain\r\n\r\nhi\r\n",
                  "Content-Type: application/octet-stream; name=x.exe\r\nContent-Transfer-Encoding: " + cte + "\r\n\r\n" + body + "\r\n"])


TEXT = "Content-Type: text/plain\r\n\r\nhi\r\n"
m = {}
# headers
m["header-dup-ct"] = H + "Content-Type: text/plain\r\nContent-Type: multipart/mixed; boundary=BB\r\n\r\n--BB\r\n" + EXE + "--BB--\r\n"
m["header-dup-ct-multi"] = H + "Content-Type: multipart/mixed; boundary=X\r\nContent-Type: multipart/mixed; boundary=Y\r\n\r\n--X\r\n" + TEXT + "--X--\r\n--Y\r\n" + EXE + "--Y--\r\n"
m["header-dup-cte"] = leaf("7bit\r\nContent-Transfer-Encoding: base64", B)
m["header-dup-cd"] = mixed([TEXT, "Content-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=a.txt\r\nContent-Disposition: attachment; filename=x.exe\r\nContent-Transfer-Encoding: base64\r\n\r\n" + B + "\r\n"])
m["header-encoded-word-ct"] = H + "Content-Type: =?us-ascii?Q?multipart/mixed?=; boundary=BB\r\n\r\n--BB\r\n" + EXE + "--BB--\r\n"
m["header-encoded-word-cte"] = leaf("=?us-ascii?Q?base64?=", B)
m["header-comment-name"] = H + "Content-Type(c): multipart/mixed; boundary=BB\r\n\r\n--BB\r\n" + EXE + "--BB--\r\n"
m["header-space-colon"] = H + "Content-Type : multipart/mixed; boundary=BB\r\n\r\n--BB\r\n" + EXE + "--BB--\r\n"
m["header-junk-line"] = H + "junk line\r\nContent-Type: multipart/mixed; boundary=BB\r\n\r\n--BB\r\n" + EXE + "--BB--\r\n"
m["header-junk-continuation"] = H + "junk line\r\n Content-Type: multipart/mixed; boundary=BB\r\n\r\n--BB\r\n" + EXE + "--BB--\r\n"
m["header-bare-cr"] = H + "X-Junk: a\rContent-Type: multipart/mixed; boundary=BB\r\n\r\n--BB\r\n" + EXE + "--BB--\r\n"
m["header-no-ct-dash"] = "--BB\r\n" + EXE + "--BB--\r\n"
m["header-after-blank-line"] = H + "Content-Type: text/plain\r\n\r\nContent-Type: application/octet-stream; name=x.exe\r\nContent-Transfer-Encoding: base64\r\n\r\n" + B + "\r\n"
m["header-empty-then-fields"] = "\r\nContent-Disposition: attachment; filename=\"x.exe\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" + B + "\r\n"
# parameters
m["param-dup-filename"] = mixed([TEXT, "Content-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=a.txt; filename=x.exe\r\nContent-Transfer-Encoding: base64\r\n\r\n" + B + "\r\n"])
m["param-name-vs-filename"] = mixed([TEXT, "Content-Type: application/octet-stream; name=x.exe\r\nContent-Disposition: attachment; filename=a.txt\r\nContent-Transfer-Encoding: base64\r\n\r\n" + B + "\r\n"])
m["param-2231-vs-plain"] = mixed([TEXT, "Content-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=a.txt; filename*=utf-8''x.exe\r\nContent-Transfer-Encoding: base64\r\n\r\n" + B + "\r\n"])
m["param-2231-out-of-order"] = mixed([TEXT, "Content-Type: application/octet-stream\r\nContent-Disposition: attachment; filename*1=.exe; filename*0=x\r\nContent-Transfer-Encoding: base64\r\n\r\n" + B + "\r\n"])
m["param-2231-gap"] = mixed([TEXT, "Content-Type: application/octet-stream\r\nContent-Disposition: attachment; filename*0=x.exe; filename*2=.txt\r\nContent-Transfer-Encoding: base64\r\n\r\n" + B + "\r\n"])
m["param-2231-dup-section"] = mixed([TEXT, "Content-Type: application/octet-stream\r\nContent-Disposition: attachment; filename*0=x; filename*1=.txt; filename*1=.exe\r\nContent-Transfer-Encoding: base64\r\n\r\n" + B + "\r\n"])
m["param-2231-utf16"] = mixed([TEXT, "Content-Type: application/octet-stream\r\nContent-Disposition: attachment; filename*=utf-16''%FF%FEx%00.%00e%00x%00e%00\r\nContent-Transfer-Encoding: base64\r\n\r\n" + B + "\r\n"])
m["param-dup-boundary"] = H + "Content-Type: multipart/mixed; boundary=AA; boundary=BB\r\n\r\n--AA\r\n" + TEXT + "--BB\r\n" + EXE + "--BB--\r\n--AA--\r\n"
m["param-comment"] = H + "Content-Type: multipart/mixed; (c) boundary=(c)BB\r\n\r\n--BB\r\n" + EXE + "--BB--\r\n"
m["param-encoded-word-name"] = leaf("base64", B).replace("name=x.exe", 'name="=?utf-8?B?eC5leGU=?="')
# boundaries
m["boundary-prefix-line"] = H + "Content-Type: multipart/mixed; boundary=BB\r\n\r\n--BB\r\n" + TEXT + "--BBjunk\r\n" + EXE + "--BB--\r\n"
m["boundary-not-found"] = H + "Content-Type: multipart/mixed; boundary=BB\r\nContent-Transfer-Encoding: base64\r\n\r\n" + B + "\r\n"
m["boundary-empty"] = H + "Content-Type: multipart/mixed; boundary=\"\"\r\n\r\n--\r\n" + EXE + "----\r\n"
m["boundary-trailing-space"] = H + "Content-Type: multipart/mixed; boundary=\"BB \"\r\n\r\n--BB \r\n" + TEXT + "--BB\r\n" + EXE + "--BB --\r\n"
m["boundary-odd-quote"] = H + "Content-Type: multipart/mixed; boundary=\"BB\"CC\r\n\r\n--BB\r\n" + TEXT + "--BB\"CC\r\n" + EXE + "--BB\"CC--\r\n--BB--\r\n"
m["boundary-close-reused"] = H + "Content-Type: multipart/mixed; boundary=BB\r\n\r\n--BB\r\nContent-Type: multipart/mixed; boundary=BB--\r\n\r\n--BB--\r\n" + EXE + "--BB----\r\n--BB--\r\n"
m["boundary-missing-close"] = H + "Content-Type: multipart/mixed; boundary=BB\r\n\r\n--BB\r\nContent-Type: multipart/mixed; boundary=CC\r\n\r\n--CC\r\n" + TEXT + "--BB\r\n" + EXE + "--BB--\r\n"
m["boundary-single-quote"] = H + "Content-Type: multipart/mixed; boundary='BB'\r\n\r\n--BB\r\n" + TEXT + "--BB\r\n" + EXE + "--BB--\r\n"
m["boundary-single-quote-lines"] = H + "Content-Type: multipart/mixed; boundary='BB'\r\n\r\n--'BB'\r\n" + TEXT + "--'BB'\r\n" + EXE + "--'BB'--\r\n"
m["boundary-stray-quote"] = H + "Content-Type: multipart/mixed; boundary==_q42\"\r\n\r\n--=_q42\r\n" + TEXT + "--=_q42\r\n" + EXE + "--=_q42--\r\n"
# transfer encodings
m["cte-comment"] = leaf("base64 (yes)", B)
m["cte-trailing-space"] = leaf(" BASE64 ", B)
m["cte-misspelt"] = leaf("base64x", B)
m["cte-quoted"] = leaf("\"base64\"", B)
m["cte-two-words"] = leaf("quoted-printable base64", B)
m["cte-b64-after-padding"] = leaf("base64", base64.b64encode(b"AB").decode() + B)
m["cte-b64-lone-eq"] = leaf("base64", B[:8] + "=" + B[8:])
m["cte-uuencode-in-text"] = H + "Content-Type: text/plain\r\n\r\nhello\r\nbegin 644\tx.exe\r\n" + "".join(
    chr(32 + len(P[i:i + 45])) + "".join(
        "".join(chr(32 + ((v >> s) & 63) or 96) for s in (18, 12, 6, 0))
        for v in [int.from_bytes((P[i:i + 45][j:j + 3] + b"\0\0")[:3], "big") for j in range(0, len(P[i:i + 45]), 3)]
    ) + "\r\n" for i in range(0, len(P), 45)) + "`\r\nend\r\n"
m["cte-uuencode-loose-begin"] = mixed([TEXT, "Content-Type: application/octet-stream; name=x.exe\r\nContent-Transfer-Encoding: uue\r\n\r\n" + m["cte-uuencode-in-text"].split("begin 644\tx.exe\r\n", 1)[1].replace("`\r\nend", "`\r\nend").join(["begin x.exe\r\n", ""])])
m["cte-uuencode-uppercase"] = m["cte-uuencode-in-text"].replace("begin 644\tx.exe", "BEGIN 644 x.exe")
inner = ("Some text.\r\nContent-Type: application/octet-stream; name=x.exe\r\nContent-Transfer-Encoding: base64\r\n\r\n" + B + "\r\n").encode()
m["body-inner-entity"] = mixed([TEXT, "Content-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n" + base64.b64encode(inner).decode() + "\r\n"])
# a single body that holds parts
m["boundary-param-on-leaf"] = H + "Content-Type: application/octet-stream; boundary=BB\r\nContent-Transfer-Encoding: base64\r\n\r\n--BB\r\n" + EXE + "--BB--\r\n"
m["body-parts-in-text"] = H + "Content-Type: text/plain\r\n\r\nhello\r\n\r\n--BB\r\n" + EXE + "--BB--\r\n"
m["body-content-line-in-text"] = H + "Content-Type: text/plain\r\n\r\nhello\r\n" + EXE
# line ends
m["eol-bare-cr-body"] = H + "Content-Type: multipart/mixed; boundary=BB\r\n\r\n--BB\r\nContent-Type: text/plain\r\n\r\nhi\r--BB\r" + EXE.replace("\r\n", "\r") + "--BB--\r\n--BB--\r\n"
m["eol-no-blank-line"] = H + "Content-Type: multipart/mixed; boundary=BB\r\n\r\n--BB\r\nContent-Type: application/octet-stream; name=x.exe\r\nContent-Transfer-Encoding: base64\r\n" + B + "\r\n--BB--\r\n"
m["eol-lf-only"] = (H + "Content-Type: multipart/mixed; boundary=BB\r\nContent-Type: text/plain\r\n\r\n--BB\r\n" + EXE + "--BB--\r\n").replace("\r\n", "\n")

for k, v in m.items():
    with open(k + ".eml", "wb") as f:
        f.write(v.encode())
