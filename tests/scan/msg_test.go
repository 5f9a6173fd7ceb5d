package scan

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const boundary = "=-=scantest-boundary=-="

// header is the top of every test message.
func header(subject, ctype string) string {
	return "From: Sender <s@example.org>\r\nTo: r@example.org\r\nSubject: " + subject +
		"\r\nMessage-ID: <" + strings.ReplaceAll(subject, " ", ".") + "@scantest.example>\r\n" +
		"Date: Mon, 1 Jan 2024 00:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: " + ctype + "\r\n\r\n"
}

// withPart builds a multipart/mixed message: a short text part, then one
// part with the given header lines and (already encoded) body.
func withPart(subject string, partHeader []string, body []byte) []byte {
	var b bytes.Buffer
	b.WriteString(header(subject, "multipart/mixed; boundary=\""+boundary+"\""))
	b.WriteString("--" + boundary + "\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nSee the attachment.\r\n")
	b.WriteString("--" + boundary + "\r\n")
	for _, h := range partHeader {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("\r\n")
	b.Write(body)
	b.WriteString("\r\n--" + boundary + "--\r\n")
	return b.Bytes()
}

// b64 encodes data in lines of 76 characters.
func b64(data []byte) []byte {
	s := base64.StdEncoding.EncodeToString(data)
	var b bytes.Buffer
	for len(s) > 76 {
		b.WriteString(s[:76] + "\r\n")
		s = s[76:]
	}
	b.WriteString(s)
	return b.Bytes()
}

// attachB64 attaches data in base64 as application/octet-stream.
func attachB64(subject, name string, data []byte) []byte {
	return withPart(subject, []string{
		"Content-Type: application/octet-stream; name=\"" + name + "\"",
		"Content-Disposition: attachment; filename=\"" + name + "\"",
		"Content-Transfer-Encoding: base64",
	}, b64(data))
}

// qpAll encodes every byte as =XX (valid quoted-printable, and the
// payload never appears in clear), with soft line breaks.
func qpAll(data []byte) []byte {
	var b bytes.Buffer
	for i, c := range data {
		if i > 0 && i%24 == 0 {
			b.WriteString("=\r\n")
		}
		fmt.Fprintf(&b, "=%02X", c)
	}
	return b.Bytes()
}

// uuencode is the classic uuencode body (begin ... end).
func uuencode(name string, data []byte) []byte {
	enc := func(c byte) byte {
		if c == 0 {
			return '`'
		}
		return c + ' '
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "begin 644 %s\r\n", name)
	for len(data) > 0 {
		n := min(45, len(data))
		line := make([]byte, n, n+2)
		copy(line, data[:n])
		data = data[n:]
		for len(line)%3 != 0 {
			line = append(line, 0)
		}
		b.WriteByte(enc(byte(n)))
		for i := 0; i < len(line); i += 3 {
			c0, c1, c2 := line[i], line[i+1], line[i+2]
			b.Write([]byte{enc(c0 >> 2), enc((c0<<4 | c1>>4) & 63), enc((c1<<2 | c2>>6) & 63), enc(c2 & 63)})
		}
		b.WriteString("\r\n")
	}
	b.WriteString("`\r\nend\r\n")
	return b.Bytes()
}

func zipOf(t testing.TB, name string, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	w := zip.NewWriter(&b)
	f, err := w.Create(name)
	if err == nil {
		_, err = f.Write(data)
	}
	if err == nil {
		err = w.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func tarGzOf(t testing.TB, name string, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	gz := gzip.NewWriter(&b)
	tw := tar.NewWriter(gz)
	err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg})
	if err == nil {
		_, err = tw.Write(data)
	}
	if err == nil {
		err = tw.Close()
	}
	if err == nil {
		err = gz.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// sevenZOf makes a 7z archive with p7zip's 7z (Debian p7zip-full),
// installing it when missing; without it the test is skipped (fails
// under CI).
func sevenZOf(t testing.TB, name string, data []byte) []byte {
	t.Helper()
	if _, err := exec.LookPath("7z"); err != nil {
		need(t, "7z", "p7zip-full")
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("7z", "a", "-bd", "-y", "out.7z", name)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("7z a: %v\n%s", err, out)
	}
	b, err := os.ReadFile(filepath.Join(dir, "out.7z"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// forwarded wraps inner as a message/rfc822 attachment.
func forwarded(subject string, inner []byte) []byte {
	return withPart(subject, []string{
		"Content-Type: message/rfc822",
		"Content-Disposition: attachment; filename=\"forwarded.eml\"",
	}, inner)
}
