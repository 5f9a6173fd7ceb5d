package policy

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/scandeliver/scandeliver/scan/builtin"
	"github.com/scandeliver/scandeliver/tests/testenv"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden with the current output")

func spamdEngines(t testing.TB) string {
	addr := testenv.Env(t, "SCANDELIVER_SPAMD")
	return fmt.Sprintf("[[engine]]\nname = \"builtin\"\ntype = \"builtin\"\n[[engine]]\nname = \"spamd\"\ntype = \"spamd\"\naddress = %q\ntimeout = \"30s\"\n", addr)
}

// offence is one golden case: a message, who sends it, the extra
// configuration, and the exit code expected.
type offence struct {
	name   string
	msg    func() []byte
	sender string
	extra  func(t testing.TB) string
}

func offences() []offence {
	none := func(testing.TB) string { return "" }
	return []offence{
		{"virus", func() []byte {
			return mixed("quarterly figures", attachment("application/octet-stream", "figures.com", builtin.Eicar()))
		}, "alice@example.org", none},
		{"banned-name", func() []byte {
			return mixed("meeting notes", attachment("text/plain", "notes.txt.vbs", []byte("MsgBox \"hello\"\r\n")))
		}, "alice@example.org", none},
		{"banned-type", func() []byte {
			return mixed("your invoice", attachment("application/pdf", "invoice.pdf", minimalPE()))
		}, "alice@example.org", none},
		{"unscannable", func() []byte {
			return mixed("the contract", attachment("application/zip", "contract.zip",
				makeEncryptedZip(nopT{}, "contract.doc", []byte("the terms of the contract\n"), "secret")))
		}, "alice@example.org", none},
		{"spam-junk", func() []byte {
			return []byte(header("cheap watches", "text/plain; charset=us-ascii") + "Buy now.\n\n" + string(builtin.GTUBE()) + "\n")
		}, "alice@example.org", func(t testing.TB) string {
			return "[policy.spam]\nhigh_threshold = 5000.0\n" + spamdEngines(t)
		}},
		{"spam-high", func() []byte {
			return []byte(header("cheap pills", "text/plain; charset=us-ascii") + "Buy now.\n\n" + string(builtin.GTUBE()) + "\n")
		}, "alice@example.org", spamdEngines},
		{"partial", func() []byte {
			return []byte(header("big file (1/2)", `message/partial; id="part-77@example.org"; number=1; total=2`) +
				"Subject: big file\nContent-Type: application/octet-stream\n\nfirst half of the data\n")
		}, "alice@example.org", none},
		{"forged-status", func() []byte {
			// A sender who marks his own virus clean: the fields must go.
			m := mixed("all clean", attachment("application/octet-stream", "clean.com", builtin.Eicar()))
			return append([]byte("X-Scandeliver-Status: clean\nX-Spam-Status: No, score=-5.0\nX-Spam-Flag: NO\nX-Spam-Score: -5.0\n"), m...)
		}, "alice@example.org", none},
		{"local-sender", func() []byte {
			m := mixed("from the office", attachment("application/octet-stream", "tool.com", builtin.Eicar()))
			return bytes.Replace(m, []byte("Alice <alice@example.org>"), []byte("Carol <carol@example.net>"), 1)
		}, "carol@example.net", none},
	}
}

// nopT lets builders that take a testing.TB run at table construction; a
// failure there panics, which fails the test binary loudly.
type nopT struct{ testing.TB }

func (nopT) Helper()                   {}
func (nopT) Fatal(args ...any)         { panic(fmt.Sprint(args...)) }
func (nopT) Fatalf(f string, a ...any) { panic(fmt.Sprintf(f, a...)) }

// TestGolden delivers one message per kind of offence and compares what
// came out (the delivered message, the quarantine report, the notices)
// with testdata/<name>.golden.
func TestGolden(t *testing.T) {
	for _, o := range offences() {
		t.Run(o.name, func(t *testing.T) {
			b := newBox(t, o.extra(t))
			msg := o.msg()
			r := b.deliver(t, msg, o.sender)
			if r.code != 0 {
				t.Fatalf("exit %d, want 0: %s", r.code, r.stderr)
			}
			got := render(t, b, msg, r)
			path := filepath.Join("testdata", o.name+".golden")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("output differs from %s (run with -update and review the diff):\n%s", path, lineDiff(string(want), string(got)))
			}
		})
	}
}

// render writes everything a case produced as one text, with what changes
// from run to run (quarantine ids, times, generated dates, Message-IDs,
// the host name) normalized.
func render(t testing.TB, b *box, msg []byte, r result) []byte {
	t.Helper()
	var out bytes.Buffer
	fmt.Fprintf(&out, "=== exit %d\n", r.code)
	ents := b.quarantined(t)
	ids := map[string]string{}
	for i, e := range ents {
		ids[e.id] = fmt.Sprintf("QID%d", i+1)
	}
	norm := func(s string) string { return normalize(s, ids) }
	for _, d := range b.delivered(t) {
		fmt.Fprintf(&out, "=== delivered to folder %s\n%s", d.folder, norm(string(d.data)))
	}
	for _, e := range ents {
		if !bytes.Equal(e.message, msg) {
			t.Errorf("quarantined original of %s is not the message as received", e.id)
		}
		fmt.Fprintf(&out, "=== quarantine %s: message (%d bytes, the original) and report.json\n%s\n", ids[e.id], len(e.message), norm(normalizeReport(t, e.report)))
	}
	for _, n := range b.sent(t) {
		fmt.Fprintf(&out, "=== notice: sendmail %s\n%s", strings.Join(n.argv, " "), norm(normalizeNotice(string(n.stdin))))
	}
	for _, k := range []string{"action", "scan", "notified", "sender_not_told", "notify_error"} {
		if v := logValue(r.stderr, k); v != "" {
			fmt.Fprintf(&out, "=== log %s=%s\n", k, norm(v))
		}
	}
	return out.Bytes()
}

var (
	qidRE = regexp.MustCompile(`[0-9]{8}-[0-9]{6}-[0-9]{6}-[0-9a-f]{12}`)
	// time.RFC1123Z as the binary writes it (an input message's Date in
	// these tests has a one-digit day, so it is not taken for one).
	dateRE = regexp.MustCompile(`[A-Z][a-z]{2}, [0-9]{2} [A-Z][a-z]{2} [0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2} [+-][0-9]{4}`)
)

func normalize(s string, ids map[string]string) string {
	s = qidRE.ReplaceAllStringFunc(s, func(id string) string {
		if n, ok := ids[id]; ok {
			return n
		}
		return "QID?"
	})
	s = dateRE.ReplaceAllString(s, "DATE")
	return s
}

// normalizeNotice replaces the notice's own Date and Message-ID fields.
func normalizeNotice(s string) string {
	hdr, body, _ := strings.Cut(s, "\n\n")
	lines := strings.Split(hdr, "\n")
	for i, l := range lines {
		switch {
		case strings.HasPrefix(l, "Date: "):
			lines[i] = "Date: DATE"
		case strings.HasPrefix(l, "Message-ID: "):
			lines[i] = "Message-ID: <MESSAGE-ID>"
		}
	}
	hdr = strings.Join(lines, "\n")
	if h, err := os.Hostname(); err == nil && h != "" {
		body = regexp.MustCompile(`(report from |mail scanner at )`+regexp.QuoteMeta(h)+`\b`).ReplaceAllString(body, "${1}HOST")
		hdr = regexp.MustCompile(`(<postmaster@)`+regexp.QuoteMeta(h)+`>`).ReplaceAllString(hdr, "${1}HOST>")
	}
	return hdr + "\n\n" + body
}

// normalizeReport re-indents report.json with its id and time replaced.
func normalizeReport(t testing.TB, data []byte) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("report.json: %v\n%s", err, data)
	}
	if _, ok := m["time"]; ok {
		m["time"] = "TIME"
	}
	out, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// logValue returns the value of key in the summary line (slog text
// format), unquoted as written.
func logValue(line, key string) string {
	i := strings.Index(line, " "+key+"=")
	if i < 0 {
		return ""
	}
	rest := line[i+len(key)+2:]
	if strings.HasPrefix(rest, `"`) {
		for j := 1; j < len(rest); j++ {
			if rest[j] == '\\' {
				j++
				continue
			}
			if rest[j] == '"' {
				return rest[:j+1]
			}
		}
		return rest
	}
	if j := strings.IndexAny(rest, " \n"); j >= 0 {
		return rest[:j]
	}
	return rest
}

// lineDiff shows the first differing lines, with some context.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(w) || i < len(g); i++ {
		if i < len(w) && i < len(g) && w[i] == g[i] {
			continue
		}
		var b strings.Builder
		for j := max(0, i-3); j < min(i+6, max(len(w), len(g))); j++ {
			wl, gl := "", ""
			if j < len(w) {
				wl = w[j]
			}
			if j < len(g) {
				gl = g[j]
			}
			mark := " "
			if wl != gl {
				mark = "!"
			}
			fmt.Fprintf(&b, "%s line %d\n   want: %q\n   got:  %q\n", mark, j+1, wl, gl)
		}
		return b.String()
	}
	return "(no line differs)"
}
