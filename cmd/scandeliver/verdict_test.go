package main

import (
	"archive/zip"
	"bytes"
	"encoding/base64"
	"hash/crc32"
	"strings"
	"testing"

	"github.com/scandeliver/scandeliver/scan/builtin"
)

// Issue 11 sections 2 to 4: the verdict on where a finding is, benign
// ambiguity, the canonical rewrite.

// encryptedZip is a zip whose one member has the "encrypted" flag and
// bytes no one can read without the password (ZipCrypto: APPNOTE.TXT
// section 6.1; the bytes need not decrypt to anything for the test).
func encryptedZip(t *testing.T) []byte {
	t.Helper()
	data := []byte("the terms of the contract\n")
	enc := append(bytes.Repeat([]byte{0x5a}, 12), data...)
	for i := range enc {
		enc[i] ^= byte(0x9d + 7*i)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.CreateRaw(&zip.FileHeader{Name: "contract.doc", Method: zip.Store, Flags: 0x1,
		CRC32: crc32.ChecksumIEEE(data), CompressedSize64: uint64(len(enc)), UncompressedSize64: uint64(len(data))})
	if err != nil {
		t.Fatal(err)
	}
	w.Write(enc)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestVerdictEncryptedZipCutOut: a ZipCrypto zip beside a text part is cut
// out (replaced by a text, the original quarantined) and the text is
// delivered; it used to withhold the whole message (issue 11 section 2,
// last bullet; the man page's "the part is cut out where it can be").
func TestVerdictEncryptedZipCutOut(t *testing.T) {
	ps := newPolicySetup(t, "")
	msg := attach("contract.zip", "application/zip", encryptedZip(t))
	code, log := ps.deliver(t, msg, "alice@example.org")
	if code != exOK {
		t.Fatalf("exit %d: %s", code, log)
	}
	got := ps.delivered(t)
	if len(got) != 1 {
		t.Fatalf("%d delivered: %s", len(got), log)
	}
	for _, want := range []string{"See attached.", "X-Scandeliver-Status: unscannable", "contract.zip"} {
		if !strings.Contains(got[0], want) {
			t.Errorf("delivered message lacks %q:\n%s", want, got[0])
		}
	}
	if strings.Contains(got[0], base64.StdEncoding.EncodeToString(encryptedZip(t))[:40]) {
		t.Errorf("the encrypted zip was delivered:\n%s", got[0])
	}
	if !strings.Contains(log, "action=sanitized") || len(ps.quarantined(t)) != 1 {
		t.Errorf("want sanitized with the original quarantined: %s", log)
	}
}

// TestVerdictFindingInAmbiguousStructure: EICAR in a part whose
// boundary is a prefix of the enclosing one (readers split the message
// differently) withholds the whole message: replacing the part as we
// read it would leave what another reader sees (issue 11 section 2).
func TestVerdictFindingInAmbiguousStructure(t *testing.T) {
	ps := newPolicySetup(t, "")
	eicar := base64.StdEncoding.EncodeToString(builtin.Eicar())
	msg := "From: Alice <alice@example.org>\nTo: bob@example.net\nSubject: files\nMIME-Version: 1.0\n" +
		"Content-Type: multipart/mixed; boundary=\"ab\"\n\n--ab\nContent-Type: text/plain\n\nhello\n" +
		"--ab\nContent-Type: multipart/mixed; boundary=\"abc\"\n\n--abc\nContent-Type: application/octet-stream; name=\"x.bin\"\n" +
		"Content-Transfer-Encoding: base64\n\n" + eicar + "\n--abc--\n--ab--\n"
	code, log := ps.deliver(t, msg, "alice@example.org")
	if code != exOK {
		t.Fatalf("exit %d: %s", code, log)
	}
	got := ps.delivered(t)
	if len(got) != 1 || strings.Contains(got[0], eicar) || strings.Contains(got[0], "hello") {
		t.Fatalf("want the notice alone, got %q", got)
	}
	if !strings.Contains(log, "action=withheld") || !strings.Contains(log, "in ambiguous structure") {
		t.Errorf("not withheld for the ambiguity: %s", log)
	}
}

// TestVerdictBenignAmbiguityDelivered: HTML attachments whose header is
// odd but harmless (a file name that differs from the Content-Type name,
// an unclosed quote, no empty line after the header) are disarmed and
// delivered; they were withheld as "html: malformed header" (issue 11
// section 3: 47 legitimate corpus messages).
func TestVerdictBenignAmbiguityDelivered(t *testing.T) {
	html := "<html><body><p onclick=\"steal()\">Hi</p><script>alert(1)</script></body></html>\n"
	for name, msg := range map[string]string{
		"name mismatch": "From: a@example.org\nTo: bob@example.net\nSubject: html\nMIME-Version: 1.0\n" +
			"Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nsee the page\n" +
			"--b\nContent-Type: text/html; name=\"page-name.html\"\nContent-Disposition: attachment; filename=\"page-filename.html\"\n\n" + html + "--b--\n",
		"unclosed quote": "From: a@example.org\nTo: bob@example.net\nSubject: html\nMIME-Version: 1.0\n" +
			"Content-Type: text/html; charset=\"utf-8\n\n" + html,
		"no empty line": "From: a@example.org\nTo: bob@example.net\nSubject: html\nMIME-Version: 1.0\n" +
			"Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\nsee the page\n" +
			"--b\nContent-Type: text/html\n" + html + "--b--\n",
	} {
		t.Run(name, func(t *testing.T) {
			ps := newPolicySetup(t, "")
			code, log := ps.deliver(t, msg, "a@example.org")
			if code != exOK {
				t.Fatalf("exit %d: %s", code, log)
			}
			got := ps.delivered(t)
			if len(got) != 1 || strings.Contains(log, "action=withheld") {
				t.Fatalf("not delivered: %s", log)
			}
			body := decodedBodies(t, got[0])
			if !strings.Contains(body, "Hi") {
				t.Errorf("the HTML is missing:\n%s", got[0])
			}
			for _, bad := range []string{"<script", "onclick", "alert(1)"} {
				if strings.Contains(body, bad) {
					t.Errorf("delivered HTML still has %q:\n%s", bad, got[0])
				}
			}
			if len(ps.quarantined(t)) != 0 {
				t.Errorf("quarantined: %s", log)
			}
		})
	}
}

// decodedBodies returns the message with every base64 line decoded too,
// so that content can be looked for whatever its transfer encoding.
func decodedBodies(t *testing.T, m string) string {
	var b strings.Builder
	b.WriteString(m)
	var run strings.Builder
	flush := func() {
		if d, err := base64.StdEncoding.DecodeString(run.String()); err == nil {
			b.Write(d)
		}
		run.Reset()
	}
	for _, line := range strings.Split(m, "\n") {
		line = strings.TrimRight(line, "\r")
		if line != "" && strings.Trim(line, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=") == "" {
			run.WriteString(line)
			continue
		}
		flush()
	}
	flush()
	return b.String()
}

// TestVerdictNormalize: [policy] normalize: "ambiguous" (the default)
// rewrites a message readers could read differently in canonical form and
// says so; "never" delivers it as it came; "always" rewrites a plain
// one too; another value is a configuration error. Oddities that every
// reader resolves alike (a transfer encoding on a multipart, a file name
// that differs from the Content-Type name) are no reason to rewrite.
func TestVerdictNormalize(t *testing.T) {
	// Boundaries that are prefixes of each other: readers split it
	// differently.
	ambiguous := "From: a@example.org\nTo: bob@example.net\nSubject: n\nMIME-Version: 1.0\n" +
		"Content-Type: multipart/mixed; boundary=\"ab\"\n\n" +
		"preamble\n--ab\nContent-Type: multipart/alternative; boundary=\"abc\"\n\n--abc\nContent-Type: text/plain\n\none\n--abc--\n" +
		"--ab\nContent-Type: application/pdf; name=a.pdf\n" +
		"Content-Transfer-Encoding: base64\n\nJVBERi0xLjQK\n--ab--\nepilogue\n"
	benign := "From: a@example.org\nTo: bob@example.net\nSubject: n\nMIME-Version: 1.0\n" +
		"Content-Type: multipart/mixed; boundary=\"x\"\nContent-Transfer-Encoding: base64\n\n" +
		"preamble\n--x\nContent-Type: text/plain\n\none\n--x\nContent-Type: application/pdf; name=a.pdf\n" +
		"Content-Disposition: attachment; filename=b.pdf\n" +
		"Content-Transfer-Encoding: base64\n\nJVBERi0xLjQK\n--x--\nepilogue\n"
	plain := "From: a@example.org\nTo: bob@example.net\nSubject: n\n\nhello\n"
	for _, c := range []struct {
		mode, msg  string
		normalized bool
	}{
		{"", ambiguous, true},
		{`normalize = "ambiguous"`, ambiguous, true},
		{`normalize = "never"`, ambiguous, false},
		{"", benign, false},
		{"", plain, false},
		{`normalize = "always"`, plain, true},
	} {
		ps := newPolicySetup(t, c.mode)
		code, log := ps.deliver(t, c.msg, "a@example.org")
		if code != exOK {
			t.Fatalf("%s: exit %d: %s", c.mode, code, log)
		}
		got := ps.delivered(t)
		if len(got) != 1 {
			t.Fatalf("%s: %d delivered", c.mode, len(got))
		}
		m := got[0]
		has := strings.Contains(m, "X-Scandeliver-Normalized:")
		if has != c.normalized || strings.Contains(log, "normalized=yes") != c.normalized {
			t.Errorf("%q: normalized %v, want %v:\n%s\n%s", c.mode, has, c.normalized, m, log)
		}
		if c.normalized && c.msg == ambiguous && (strings.Contains(m, "preamble") || strings.Contains(m, "epilogue") || !strings.Contains(m, "boundary=\"=_scandeliver_")) {
			t.Errorf("%q: not in canonical form:\n%s", c.mode, m)
		}
		if !c.normalized && !strings.HasSuffix(m, c.msg) {
			t.Errorf("%q: not delivered as it came:\n%s", c.mode, m)
		}
	}
	ps := newPolicySetup(t, `normalize = "sometimes"`)
	if code, log := ps.deliver(t, plain, "a@example.org"); code != exTempFail || !strings.Contains(log, "normalize") {
		t.Errorf("a bad normalize value: exit %d: %s", code, log)
	}
}

// TestVerdictHiddenStructureWithheld: an ambiguous message (two
// Content-Type fields at the root) whose text part, as we read it, holds
// a MIME entity with EICAR base64 inside is withheld, not normalized:
// ripmime takes MIME inside a decoded part for parts (unpack's inner
// reading), the engines find EICAR in it, and the canonical rewrite
// would hand it to ripmime (tests/differential seed 360).
func TestVerdictHiddenStructureWithheld(t *testing.T) {
	ps := newPolicySetup(t, "")
	eicar := base64.StdEncoding.EncodeToString(builtin.Eicar())
	msg := "From: a@example.org\nTo: bob@example.net\nSubject: s\nMIME-Version: 1.0\n" +
		"Content-Type: text/plain; charset=us-ascii\nContent-Type: multipart/mixed; boundary=\"b\"\n\n" +
		"--b\nContent-Type: text/plain\n\nsee the file\n--b\nContent-Type: application/octet-stream; name=\"f.bin\"\n" +
		"Content-Transfer-Encoding: base64\n\n" + eicar + "\n--b--\n"
	code, log := ps.deliver(t, msg, "a@example.org")
	if code != exOK {
		t.Fatalf("exit %d: %s", code, log)
	}
	got := ps.delivered(t)
	if len(got) != 1 || strings.Contains(decodedBodies(t, got[0]), eicar) {
		t.Fatalf("the hidden part was delivered:\n%q", got)
	}
	if !strings.Contains(log, "action=withheld") || !strings.Contains(log, "Eicar") {
		t.Errorf("not withheld for the hidden part's finding: %s", log)
	}
}

// hiddenBlocksMessage is a message whose second part is a base64 text
// part: its decoded content is text, then blocks of MIME fields that
// ripmime reads as parts of their own (mime.c: it reads every file it
// saves again, paragraph by paragraph, as a message). With ambiguousRoot,
// the root has two Content-Type fields: readers read it differently.
func hiddenBlocksMessage(content string, ambiguousRoot bool) string {
	enc := base64.StdEncoding.EncodeToString([]byte(content))
	var b strings.Builder
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\n")
		enc = enc[76:]
	}
	b.WriteString(enc + "\n")
	root := "Content-Type: multipart/mixed; boundary=\"b\"\n"
	if ambiguousRoot {
		root = "Content-Type: text/plain; charset=us-ascii\n" + root
	}
	return "From: a@example.org\nTo: bob@example.net\nSubject: s\nMIME-Version: 1.0\n" + root + "\n" +
		"--b\nContent-Type: text/plain\n\nsee the notes\n--b\nContent-Type: text/plain; name=\"notes.txt\"\n" +
		"Content-Transfer-Encoding: base64\n\n" + b.String() + "--b--\n"
}

// TestVerdictHiddenBlocksScanned: every block of MIME fields that ripmime
// finds inside a decoded part is scanned, wherever it is. A finding in
// the third block of a part readers agree on cuts that part out (its
// bytes are gone for ripmime too); one in a block past the first MiB of
// the content of an ambiguous message withholds the message; clean blocks
// in an ambiguous message get it delivered in canonical form (a stopgap,
// markHiddenStructure, used to withhold it). Checked with
// ../shared/readers/readers.py: ripmime extracts x.bin (EICAR) from the
// first two, and y.bin from the clean one; on the code before, the first
// was delivered as it came and the others withheld as unscannable.
func TestVerdictHiddenBlocksScanned(t *testing.T) {
	eicar := base64.StdEncoding.EncodeToString(builtin.Eicar())
	block := func(name, b64 string) string {
		return "Content-Type: application/octet-stream; name=\"" + name + "\"\n" +
			"Content-Transfer-Encoding: base64\n\n" + b64 + "\n"
	}
	third := "Content-Type: text/plain\n\nhello\nContent-Type: text/plain\n\nworld\n" + block("x.bin", eicar)
	// ripmime starts on a MIME field in the first 100 lines, then reads
	// paragraphs until one holds a field it knows: the block past 1 MiB.
	far := "Content-Note: a long log follows\n" + strings.Repeat(strings.Repeat("y", 70)+"\n", 20000) + "\n" + block("x.bin", eicar)
	clean := "Content-Type: text/plain\n\nhello\n" + block("y.bin", base64.StdEncoding.EncodeToString([]byte("just data\n")))
	for _, c := range []struct {
		name, content string
		ambiguousRoot bool
		action        string
	}{
		{"third block", third, false, "action=sanitized"},
		{"past 1 MiB", far, true, "action=withheld"},
		{"clean blocks", clean, true, "action=sanitized"},
	} {
		ps := newPolicySetup(t, "")
		msg := hiddenBlocksMessage(c.content, c.ambiguousRoot)
		code, log := ps.deliver(t, msg, "a@example.org")
		if code != exOK {
			t.Fatalf("%s: exit %d: %s", c.name, code, log)
		}
		got := ps.delivered(t)
		if len(got) != 1 {
			t.Fatalf("%s: %d delivered", c.name, len(got))
		}
		if !strings.Contains(log, c.action) {
			t.Errorf("%s: want %s: %s", c.name, c.action, log)
		}
		if c.content == clean {
			if strings.Contains(log, "Eicar") || !strings.Contains(log, "normalized=yes") || !strings.Contains(got[0], "X-Scandeliver-Normalized:") {
				t.Errorf("%s: clean hidden blocks not delivered in canonical form: %s\n%s", c.name, log, got[0])
			}
			continue
		}
		hidden := base64.StdEncoding.EncodeToString([]byte(c.content))[:40]
		if !strings.Contains(log, "Eicar") || strings.Contains(got[0], hidden) || strings.Contains(decodedBodies(t, got[0]), eicar) {
			t.Errorf("%s: the hidden EICAR was delivered or not found: %s\n%.2000s", c.name, log, got[0])
		}
		if !c.ambiguousRoot && !strings.Contains(log, "replaced=1.2") {
			t.Errorf("%s: the part holding the hidden EICAR was not cut out: %s", c.name, log)
		}
	}
}

// TestVerdictEpilogueBlocksScanned: ripmime reads on after the close
// delimiter of a multipart as it reads a decoded content (readers.py:
// a base64 block in the epilogue of a well-formed message is a file for
// ripmime, no one else reads it). EICAR there has the message's body
// replaced (the epilogue is the root's: nothing smaller can be cut out);
// a clean block there is delivered. Before, the epilogue was read by no reading: the
// message was delivered as it came, EICAR and all.
func TestVerdictEpilogueBlocksScanned(t *testing.T) {
	eicar := base64.StdEncoding.EncodeToString(builtin.Eicar())
	msg := func(b64 string) string {
		return "From: a@example.org\nTo: bob@example.net\nSubject: s\nMIME-Version: 1.0\n" +
			"Content-Type: multipart/mixed; boundary=\"b\"\n\n" +
			"--b\nContent-Type: text/plain\n\nsee below\n--b--\n" +
			"Content-Type: application/octet-stream; name=\"e.bin\"\nContent-Transfer-Encoding: base64\n\n" + b64 + "\n"
	}
	ps := newPolicySetup(t, "")
	code, log := ps.deliver(t, msg(eicar), "a@example.org")
	if code != exOK {
		t.Fatalf("exit %d: %s", code, log)
	}
	got := ps.delivered(t)
	if len(got) != 1 || strings.Contains(got[0], eicar) || !strings.Contains(log, "replaced=1 ") || !strings.Contains(log, "Eicar") {
		t.Fatalf("EICAR in the epilogue not cut out: %s\n%q", log, got)
	}
	ps = newPolicySetup(t, "")
	code, log = ps.deliver(t, msg(base64.StdEncoding.EncodeToString([]byte("just data\n"))), "a@example.org")
	if code != exOK || strings.Contains(log, "action=withheld") || len(ps.delivered(t)) != 1 {
		t.Fatalf("a clean block in the epilogue: exit %d: %s", code, log)
	}
}
