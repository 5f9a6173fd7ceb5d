package policy

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/scandeliver/scandeliver/tests/testenv"
)

// cost is what one run of the binary cost, read from the kernel's
// rusage of the child (not wall time, which depends on the machine's
// load): CPU seconds (user + system) and peak resident memory.
type cost struct {
	result
	cpu    time.Duration
	maxRSS int64 // bytes
	wall   time.Duration
}

// deliverMeasured is box.deliver with the child's rusage.
func (b *box) deliverMeasured(t testing.TB, msg []byte, sender string, args ...string) cost {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"-c", b.cfg}, args...)...)
	cmd.Dir = b.cwd
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + b.home, "USER=bob", "SENDER=" + sender,
		"RECIPIENT=bob@example.net", "TMPDIR=" + b.tmp, "LANG=C"}
	r := testenv.Run(t, cmd, msg)
	c := cost{result: result{r.Code, r.Stderr}, cpu: r.CPU, maxRSS: r.MaxRSS, wall: r.Wall}
	t.Logf("cpu %s, max RSS %d MB, wall %s, exit %d", c.cpu.Round(time.Millisecond), c.maxRSS>>20, c.wall.Round(time.Millisecond), c.code)
	return c
}

// foldedHeader is a message whose header holds fields folded over n
// continuation lines in all: the top-level Subject and an unknown field,
// and, in the parts, a Content-Type and a Content-Disposition.
func foldedHeader(n int, attach string) []byte {
	fold := strings.Repeat(" b\n", n/4)
	var b strings.Builder
	b.WriteString("From: Alice <alice@example.org>\nTo: Bob <bob@example.net>\nSubject: folded\n" + fold + "X-Folded: a\n" + fold)
	b.WriteString("MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"b1\"\n\n")
	b.WriteString("--b1\nContent-Type: text/html;\n" + fold + " charset=us-ascii\n\n<p>hello<script>x()</script>\n")
	b.WriteString("--b1\nContent-Type: application/octet-stream; name=\"" + attach + "\"\nContent-Disposition: attachment;\n" + fold +
		" filename=\"" + attach + "\"\n\nMZ\n--b1--\n")
	return []byte(b.String())
}

// TestFoldedHeaderCost delivers a header of 330,000 folded lines, about
// 1 MB (issue 12.4: unfolding was quadratic, 97 s of CPU), through each
// path that reads header fields: delivered with its HTML disarmed,
// sanitized (a banned attachment replaced, notices) and withheld whole.
// Each must take under 2 s of CPU (the child's, from rusage).
func TestFoldedHeaderCost(t *testing.T) {
	cases := []struct{ name, attach, extra, action string }{
		{"disarmed", "notes.txt", "", "sanitized"},
		{"sanitized", "invoice.exe", "", "sanitized"},
		{"withheld", "invoice.exe", "filename_rules = [{ action = \"quarantine\", pattern = '\\.exe$' }]\n", "withheld"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := newBox(t, c.extra)
			msg := foldedHeader(330000, c.attach)
			r := b.deliverMeasured(t, msg, "alice@example.org")
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			if !strings.Contains(r.stderr, "action="+c.action) {
				t.Errorf("not %s: %s", c.action, r.stderr)
			}
			if r.cpu > 2*time.Second {
				t.Errorf("a %d-byte header of 330,000 folded lines took %s of CPU, want under 2s", len(msg), r.cpu)
			}
			if d := b.delivered(t); len(d) != 1 {
				t.Errorf("%d messages delivered, want 1", len(d))
			}
		})
	}
}

// TestFromLineOnly delivers a message that is only "From " (issue 12.4:
// it panicked, recovered as exit 75, so the MTA retried it for days). It
// is an empty message: refused (65), never a temporary failure.
func TestFromLineOnly(t *testing.T) {
	for _, msg := range []string{"From ", "From a@b", "From a@b\n"} {
		b := newBox(t, "")
		r := b.deliver(t, []byte(msg), "alice@example.org")
		if (r.code != 0 && r.code != 65) || strings.Contains(r.stderr, "panic") || strings.Contains(r.stderr, "internal error") {
			t.Errorf("%q: exit %d: %s", msg, r.code, r.stderr)
		}
	}
}

// htmlParagraphs is a message of n text/html parts, each size bytes of
// "<p>": a tree node per three bytes.
func htmlParagraphs(n, size int) []byte {
	var b strings.Builder
	b.WriteString(header("paragraphs", `multipart/mixed; boundary="b1"`))
	body := strings.Repeat("<p>", size/3)
	for i := 0; i < n; i++ {
		b.WriteString("--b1\nContent-Type: text/html; charset=utf-8\n\n" + body + "\n")
	}
	b.WriteString("--b1--\n")
	return []byte(b.String())
}

// TestHTMLMemory disarms HTML whose tree is huge (issue 12.4: one 8 MiB
// part of <p> took 372 MB of RSS, ten such parts 637 MB): one message
// stays under 256 MB of RSS (the child's peak, from rusage), and the
// parts the budget stopped are not delivered undisarmed.
func TestHTMLMemory(t *testing.T) {
	cases := []struct {
		name    string
		n, size int
	}{
		{"one-8MiB-part", 1, 8 << 20},
		{"ten-4MiB-parts", 10, 4 << 20},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := newBox(t, "")
			r := b.deliverMeasured(t, htmlParagraphs(c.n, c.size), "alice@example.org")
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			if r.maxRSS >= 256<<20 {
				t.Errorf("peak RSS %d MB, want under 256 MB", r.maxRSS>>20)
			}
			for _, d := range b.delivered(t) {
				if bytes.Contains(d.data, []byte("<p><p><p>")) {
					t.Errorf("the HTML the budget stopped was delivered (%d bytes)", len(d.data))
				}
			}
		})
	}
}
