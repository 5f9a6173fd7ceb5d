package policy

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/scandeliver/scandeliver/quarantine"
	"github.com/scandeliver/scandeliver/unpack"
	"github.com/scandeliver/scandeliver/unpack/tnef"
)

// nameTrick is one way of disguising a file name.
type nameTrick struct {
	trick string
	name  string
}

// nameTricks are the disguises the shipped filename rules must catch
// (issue 5, "Rules"). The content is harmless text, so only the name can
// get the part stopped.
var nameTricks = []nameTrick{
	{"hidden double extension", "notes.txt.vbs"},
	{"long run of spaces", "photo.jpg      .scr"},
	{"150+ characters", strings.Repeat("quarterly-report-", 9) + "final.pdf"},
	{"CLSID suffix", "report.doc.{3050F4D8-98B5-11CF-BB82-00AA00BDCE0B}"},
	{"trailing dots", "invoice.pdf..."},
	{"trailing space", "invoice.pdf "},
	{"RLO U+202E", "summary\u202etxt.pdf"},
	{"RLM U+200F", "holiday\u200f.jpg"},
	{"zero width U+200B", "scan\u200b.pdf"},
	{"isolate U+2066", "letter\u2066.doc"},
	{"control BEL", "memo\x07.txt"},
	{"control DEL", "memo\x7f.txt"},
	{"parent directory ../", "../../home/bob/.profile"},
	{"parent directory ..\\", "..\\..\\Startup\\run.txt"},
	{"absolute path", "/etc/cron.d/job"},
	{"drive letter", "C:\\Windows\\notes.txt"},
}

// rfc2231 writes name as an RFC 2231 extended value, every byte that is
// not a plain letter or digit percent-encoded: any name survives it.
func rfc2231(name string) string {
	var b strings.Builder
	b.WriteString("utf-8''")
	for _, c := range []byte(name) {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

func namedPart(name string, content []byte) string {
	e := rfc2231(name)
	return "Content-Type: application/octet-stream; name*=" + e + "\nContent-Disposition: attachment; filename*=" + e +
		"\nContent-Transfer-Encoding: base64\n\n" + wrap64(content)
}

// containers put a named file somewhere in a message.
var containers = []struct {
	name string
	wrap func(t testing.TB, name string, content []byte) []byte
}{
	{"plain", func(t testing.TB, name string, content []byte) []byte {
		return mixed("a file", namedPart(name, content))
	}},
	{"zip", func(t testing.TB, name string, content []byte) []byte {
		return mixed("a zip", attachment("application/zip", "files.zip", makeZip(t, zipFile{"readme.txt", []byte("read me\n")}, zipFile{name, content})))
	}},
	{"rfc822", func(t testing.TB, name string, content []byte) []byte {
		inner := "From: Carol <carol@example.com>\nTo: alice@example.org\nSubject: the file\nMIME-Version: 1.0\n" +
			"Content-Type: multipart/mixed; boundary=\"in1\"\n\n--in1\nContent-Type: text/plain\n\nHere it is.\n--in1\n" +
			namedPart(name, content) + "--in1--\n"
		return mixed("Fwd: the file", "Content-Type: message/rfc822\nContent-Disposition: inline\n\n"+inner)
	}},
	{"tnef", func(t testing.TB, name string, content []byte) []byte {
		return mixed("from Outlook", attachment("application/ms-tnef", "winmail.dat", makeTNEF(zipFile{name, content})))
	}},
}

// TestTNEFBuilder checks the test's TNEF writer against unpack/tnef's
// decoder, so that a failure below is about policy, not about our stream.
func TestTNEFBuilder(t *testing.T) {
	for _, nt := range nameTricks {
		atts, problems, err := tnef.Decode(bytes.NewReader(makeTNEF(zipFile{nt.name, []byte("x")})), 0)
		if err != nil || len(problems) > 0 || len(atts) != 1 || atts[0].Name != nt.name || string(atts[0].Data) != "x" {
			t.Errorf("%s: decoded %+v, problems %v, err %v", nt.trick, atts, problems, err)
		}
	}
}

// TestNameTricks: every disguise is caught (the part is not delivered as
// it came: denied, renamed or the message withheld, and the original is
// quarantined) wherever the file is: in the message, in a zip, in a
// forwarded message, in a TNEF attachment. With -v the outcome prints as
// a table.
func TestNameTricks(t *testing.T) {
	payload := func(i int) []byte { return []byte(fmt.Sprintf("harmless text %d, marked PAYLOAD-%03d\n", i, i)) }
	table := map[[2]string]string{}
	for i, nt := range nameTricks {
		for _, c := range containers {
			t.Run(strings.ReplaceAll(nt.trick, " ", "_")+"/"+c.name, func(t *testing.T) {
				table[[2]string{nt.trick, c.name}] = "FAIL"
				b := newBox(t, "")
				msg := c.wrap(t, nt.name, payload(i))
				r := b.deliver(t, msg, "alice@example.org")
				if r.code != 0 {
					t.Fatalf("exit %d: %s", r.code, r.stderr)
				}
				q := b.quarantined(t)
				if len(q) != 1 {
					t.Fatalf("%d quarantine entries, want 1 (the name %q was not caught?); log: %s", len(q), nt.name, r.stderr)
				}
				var rep quarantine.Report
				if err := json.Unmarshal(q[0].report, &rep); err != nil {
					t.Fatal(err)
				}
				var hit *quarantine.Decision
				for i, d := range rep.Decisions {
					if d.Name == nt.name && d.Action != "allow" {
						hit = &rep.Decisions[i]
					}
				}
				if hit == nil {
					t.Fatalf("no decision on %q; decisions: %+v", nt.name, rep.Decisions)
				}
				outcome := hit.Action + " (" + hit.Kind + ")"
				// What reached the mailbox, read back with unpack, holds no
				// file of that name, and a denied file's content is gone.
				mark := []byte(fmt.Sprintf("PAYLOAD-%03d", i))
				for _, d := range b.delivered(t) {
					for _, p := range deliveredParts(t, d.data) {
						if p.name == nt.name {
							t.Errorf("part %s is still named %q", p.path, p.name)
						}
						if hit.Action != "rename" && bytes.Contains(p.content, mark) {
							t.Errorf("part %s (%q) still holds the denied content", p.path, p.name)
						}
					}
				}
				if len(b.delivered(t)) == 0 {
					outcome += ", nothing delivered"
				}
				table[[2]string{nt.trick, c.name}] = outcome
			})
		}
	}
	var out strings.Builder
	fmt.Fprintf(&out, "\n%-24s", "trick")
	for _, c := range containers {
		fmt.Fprintf(&out, " | %-20s", c.name)
	}
	out.WriteString("\n")
	for _, nt := range nameTricks {
		fmt.Fprintf(&out, "%-24s", nt.trick)
		for _, c := range containers {
			fmt.Fprintf(&out, " | %-20s", table[[2]string{nt.trick, c.name}])
		}
		out.WriteString("\n")
	}
	t.Log(out.String())
}

type partContent struct {
	path, name string
	content    []byte
}

// deliveredParts unpacks a delivered message and returns every part with
// its decoded content (at most 1 MB of it).
func deliveredParts(t testing.TB, msg []byte) []partContent {
	t.Helper()
	m, err := unpack.Unpack(context.Background(), bytes.NewReader(msg), int64(len(msg)), unpack.Options{TempDir: t.TempDir()})
	if err != nil {
		t.Fatalf("unpack: %v", err)
	}
	defer m.Close()
	var out []partContent
	for _, p := range m.Parts {
		pc := partContent{path: p.Path, name: p.Name}
		if !p.Container {
			if rc, err := p.Open(); err == nil {
				pc.content, _ = io.ReadAll(io.LimitReader(rc, 1<<20))
				rc.Close()
			}
		}
		out = append(out, pc)
	}
	return out
}
