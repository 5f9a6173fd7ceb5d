package sanitize

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"encoding/base64"
	"io"
	"mime/multipart"
	"net/textproto"
	"sort"
	"strings"
	"testing"

	"github.com/scandeliver/scandeliver/rules"
	"github.com/scandeliver/scandeliver/scan/builtin"
	"github.com/scandeliver/scandeliver/unpack"
)

// members reads an archive's regular members, name to content, in order.
func members(t *testing.T, format string, b []byte) ([]string, map[string][]byte) {
	t.Helper()
	var names []string
	got := map[string][]byte{}
	switch format {
	case "zip":
		zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			t.Fatalf("rebuilt zip does not open: %v", err)
		}
		for _, f := range zr.File {
			if f.Mode().IsDir() {
				continue
			}
			rc, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			c, err := io.ReadAll(rc)
			rc.Close()
			if err != nil {
				t.Fatalf("member %s: %v", f.Name, err)
			}
			names = append(names, f.Name)
			got[f.Name] = c
		}
	case "tar":
		tr := tar.NewReader(bytes.NewReader(b))
		for {
			h, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("rebuilt tar does not read: %v", err)
			}
			if h.Typeflag != tar.TypeReg {
				continue
			}
			c, _ := io.ReadAll(tr)
			names = append(names, h.Name)
			got[h.Name] = c
		}
	}
	return names, got
}

// partContent returns the decoded content of the part at path.
func partContent(t *testing.T, m *unpack.Message, path string) (*unpack.Part, []byte) {
	t.Helper()
	for _, p := range m.Parts {
		if p.Path == path {
			rc, err := p.Open()
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			b, _ := io.ReadAll(rc)
			return p, b
		}
	}
	t.Fatalf("no part %s", path)
	return nil, nil
}

// checkDisinfected checks that the part at path of out is the archive of
// in at the same path without the members denied, byte for byte, and
// that the part after it is the note naming them.
func checkDisinfected(t *testing.T, in *unpack.Message, out []byte, path string, denied map[string]bool) {
	t.Helper()
	om := mustUnpack(t, out)
	ip, ib := partContent(t, in, path)
	op, ob := partContent(t, om, path)
	if op.Name != ip.Name || op.DeclaredType != ip.DeclaredType || op.Encoding != "base64" {
		t.Errorf("rebuilt part: name %q type %q encoding %q, was %q %q", op.Name, op.DeclaredType, op.Encoding, ip.Name, ip.DeclaredType)
	}
	inNames, inM := members(t, ip.Format, ib)
	outNames, outM := members(t, ip.Format, ob)
	var want []string
	for _, n := range inNames {
		if !denied[n] {
			want = append(want, n)
		}
	}
	if strings.Join(outNames, "\n") != strings.Join(want, "\n") {
		t.Errorf("rebuilt members %q, want %q", outNames, want)
	}
	for _, n := range want {
		if !bytes.Equal(outM[n], inM[n]) {
			t.Errorf("member %s differs after the rebuild", n)
		}
	}
	// The note is the next sibling.
	i := strings.LastIndexByte(path, '.')
	var next string
	for _, c := range om.Parts {
		if strings.HasPrefix(c.Path, path[:i+1]) && c.Depth == op.Depth && c.HeaderStart > op.HeaderStart {
			next = c.Path
			break
		}
	}
	np, nb := partContent(t, om, next)
	if np.DeclaredType != "text/plain" || np.Disposition != "inline" {
		t.Errorf("part after the archive is %s %s, want the inline note", np.DeclaredType, np.Disposition)
	}
	for n := range denied {
		if !strings.Contains(string(nb), n) {
			t.Errorf("note %q does not name %s", nb, n)
		}
	}
}

// TestDisinfectGolden checks the rebuilt archives of the disinfect_*
// golden cases (the bytes are compared by TestGolden).
func TestDisinfectGolden(t *testing.T) {
	for _, tc := range []struct {
		name   string
		denied []string
	}{
		{"disinfect_zip", []string{"setup.exe"}},
		{"disinfect_tar", []string{"docs/run.exe"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw, c := readCase(t, "testdata/"+tc.name+".eml")
			m := mustUnpack(t, raw)
			out, res, _ := rewrite(t, raw, m, rules.Verdict{Parts: c.Parts, Status: c.Status}, c.options())
			if len(res.Disinfected) != 1 || len(res.Replaced) != 0 {
				t.Fatalf("result %+v, want one disinfected part", res)
			}
			den := map[string]bool{}
			for _, d := range tc.denied {
				den[d] = true
			}
			checkDisinfected(t, m, out, res.Disinfected[0], den)
			// Without Disinfect, the same decisions replace the archive.
			opt := c.options()
			opt.Disinfect = false
			_, res2, _ := rewrite(t, raw, m, rules.Verdict{Parts: c.Parts, Status: c.Status}, opt)
			if len(res2.Disinfected) != 0 || len(res2.Replaced) != 1 {
				t.Errorf("Disinfect off: %+v, want one replaced part", res2)
			}
		})
	}
}

// TestDisinfectNestedFallback: a member of a zip inside the zip is not
// removed in place; the outer zip is replaced whole.
func TestDisinfectNestedFallback(t *testing.T) {
	raw, c := readCase(t, "testdata/disinfect_nested.eml")
	m := mustUnpack(t, raw)
	out, res, _ := rewrite(t, raw, m, rules.Verdict{Parts: c.Parts, Status: c.Status}, c.options())
	if len(res.Disinfected) != 0 || strings.Join(res.Replaced, " ") != "1.2" {
		t.Fatalf("result %+v, want 1.2 replaced", res)
	}
	checkInvariants(t, m, out, res, nil)
}

// TestDisinfectEicar builds a zip holding the EICAR test file (made at
// run time, never stored in clear) among clean members, with the
// decision a virus scanner's verdict gives, and checks the rebuilt zip.
func TestDisinfectEicar(t *testing.T) {
	var zb bytes.Buffer
	zw := zip.NewWriter(&zb)
	files := []struct {
		name string
		data []byte
		m    uint16
	}{
		{"a.txt", bytes.Repeat([]byte("alpha\n"), 100), zip.Deflate},
		{"eicar.com", builtin.Eicar(), zip.Store},
		{"b.bin", []byte{0, 1, 2, 3, 255}, zip.Store},
	}
	for _, f := range files {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: f.name, Method: f.m})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(f.data)
	}
	zw.Close()

	var msg bytes.Buffer
	msg.WriteString("From: a@example.org\r\nSubject: eicar\r\nMIME-Version: 1.0\r\n")
	mw := multipart.NewWriter(&msg)
	msg.WriteString("Content-Type: multipart/mixed; boundary=" + mw.Boundary() + "\r\n\r\n")
	pw, _ := mw.CreatePart(textproto.MIMEHeader{"Content-Type": {"text/plain"}})
	pw.Write([]byte("see the zip\r\n"))
	pw, _ = mw.CreatePart(textproto.MIMEHeader{"Content-Type": {`application/zip; name="t.zip"`},
		"Content-Disposition": {`attachment; filename="t.zip"`}, "Content-Transfer-Encoding": {"base64"}})
	pw.Write([]byte(b64Lines(zb.Bytes())))
	mw.Close()
	raw := msg.Bytes()
	m := mustUnpack(t, raw)
	var eicar *unpack.Part
	for _, p := range m.Parts {
		if p.Name == "eicar.com" {
			eicar = p
		}
	}
	if eicar == nil || !strings.HasPrefix(eicar.Path, "1.2/") {
		t.Fatalf("eicar.com not a member of 1.2: %+v", eicar)
	}
	v := rules.Verdict{Status: rules.StatusInfected, Parts: []rules.Decision{{Part: eicar.Path, Name: eicar.Name,
		Action: rules.Deny, Kind: rules.KindInfected, Rule: "virus", Reason: "Eicar-Test-Signature"}}}
	out, res, plan := rewrite(t, raw, m, v, Options{Disinfect: true})
	if !plan || strings.Join(res.Disinfected, " ") != "1.2" {
		t.Fatalf("plan %v result %+v, want 1.2 disinfected", plan, res)
	}
	checkDisinfected(t, m, out, "1.2", map[string]bool{"eicar.com": true})
	if bytes.Contains(out, builtin.Eicar()) {
		t.Error("EICAR still in the output")
	}
	om := mustUnpack(t, out)
	var names []string
	for _, p := range om.Parts {
		if strings.HasPrefix(p.Path, "1.2/") {
			names = append(names, p.Name)
		}
	}
	sort.Strings(names)
	if strings.Join(names, " ") != "a.txt b.bin" {
		t.Errorf("members after disinfection %q", names)
	}
}

func b64Lines(b []byte) string {
	var out strings.Builder
	enc := make([]byte, 0, len(b)*2)
	enc = append(enc, base64.StdEncoding.EncodeToString(b)...)
	for i := 0; i < len(enc); i += 76 {
		out.Write(enc[i:min(i+76, len(enc))])
		out.WriteString("\r\n")
	}
	return out.String()
}
