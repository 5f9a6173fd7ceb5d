package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestVersionFlags: --version and -V print the version and exit 0 (they
// were taken for delivery flags: exit 64 and the whole usage).
func TestVersionFlags(t *testing.T) {
	for _, arg := range []string{"version", "--version", "-version", "-V"} {
		e, out, errb := testEnv("", nil)
		if code := run([]string{arg}, e); code != exOK {
			t.Errorf("%s: exit %d, stderr %q", arg, code, errb)
		}
		if !strings.HasPrefix(out.String(), "scandeliver ") || strings.Count(out.String(), "\n") != 1 {
			t.Errorf("%s: stdout %q, want one line \"scandeliver VERSION\"", arg, out)
		}
		if errb.Len() != 0 {
			t.Errorf("%s: stderr %q", arg, errb)
		}
	}
}

// TestToUsage: a --to that can never work is a bad command line (64),
// read before the message: a relative path was 75 (retried for days), ""
// delivered to ~/Maildir/.
func TestToUsage(t *testing.T) {
	home := t.TempDir()
	for _, to := range []string{"rel/Maildir/", "", "Maildir/", "~bob/Maildir/", "/", "mbox"} {
		e, _, errb := testEnv(msg1, map[string]string{"HOME": home, "USER": "bob"})
		code := run([]string{"-c", emptyConfig(t), "--to", to}, e)
		if code != exUsage {
			t.Errorf("--to %q: exit %d, want %d (%s)", to, code, exUsage, errb)
		}
		if !strings.Contains(errb.String(), "--to") {
			t.Errorf("--to %q: message %q does not name --to", to, errb)
		}
	}
	if ents, _ := os.ReadDir(home); len(ents) != 0 {
		t.Errorf("something was delivered in %s: %v", home, ents)
	}
}

// TestEmptyMessage: nothing (or white space) after the envelope is not
// delivered: 65. It was delivered as a message made of our own fields.
func TestEmptyMessage(t *testing.T) {
	for _, msg := range []string{"", "\n", " \r\n\t\n", "From a@example.org Thu Jan  1 00:00:00 2026\n", "From a@example.org Thu Jan  1 00:00:00 2026\n\n\n"} {
		dir := t.TempDir()
		e, _, errb := testEnv(msg, nil)
		code := run([]string{"-c", emptyConfig(t), "--to", dir + "/Maildir/"}, e)
		if code != exDataErr {
			t.Errorf("%q: exit %d, want %d (%s)", msg, code, exDataErr, errb)
		}
		if !strings.Contains(errb.String(), "empty message") {
			t.Errorf("%q: log %q", msg, errb)
		}
		if _, err := os.Stat(filepath.Join(dir, "Maildir")); err == nil {
			t.Errorf("%q: a Maildir was made", msg)
		}
	}
}

// TestNoHeader: input whose first line is no header field (binary
// garbage) is delivered whole, as procmail and local(8) deliver it and as
// every reader takes it (one text/plain body), with a warning in the log.
func TestNoHeader(t *testing.T) {
	garbage := make([]byte, 100<<10)
	x := uint32(2463534242)
	for i := range garbage {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		garbage[i] = byte(x)
	}
	garbage[0] = 0xff // never a field name
	dir := t.TempDir()
	e, _, errb := testEnv(string(garbage), nil)
	if code := run([]string{"-c", emptyConfig(t), "--to", dir + "/Maildir/"}, e); code != exOK {
		t.Fatalf("exit %d: %s", code, errb)
	}
	if !strings.Contains(errb.String(), `warning="no header field: delivered as a body"`) {
		t.Errorf("log lacks the warning: %s", errb)
	}
	got := newFiles(t, filepath.Join(dir, "Maildir", "new"))
	if len(got) != 1 || !strings.HasSuffix(got[0], string(garbage)) {
		t.Fatalf("delivered %d messages, not the input whole", len(got))
	}
	// A message with a header gets no warning.
	e, _, errb = testEnv(msg1, nil)
	if code := run([]string{"-c", emptyConfig(t), "--to", dir + "/Maildir/"}, e); code != exOK || strings.Contains(errb.String(), "warning") {
		t.Errorf("exit %d, log %s", code, errb)
	}
}

// TestMissingParents: as Postfix's local(8) does, a Maildir is created
// with its missing parents (maildir delivery makes its directories), an
// mbox is created in an existing directory, and an mbox whose directory
// is missing defers (75): a mistyped path queues the mail until fixed.
func TestMissingParents(t *testing.T) {
	dir := t.TempDir()
	e, _, errb := testEnv(msg1, nil)
	if code := run([]string{"-c", emptyConfig(t), "--to", dir + "/a/b/Maildir/"}, e); code != exOK {
		t.Fatalf("Maildir with missing parents: exit %d: %s", code, errb)
	}
	if got := newFiles(t, filepath.Join(dir, "a/b/Maildir/new")); len(got) != 1 {
		t.Errorf("Maildir holds %d messages", len(got))
	}
	e, _, errb = testEnv(msg1, nil)
	if code := run([]string{"-c", emptyConfig(t), "--to", dir + "/mbox"}, e); code != exOK {
		t.Fatalf("mbox in an existing directory: exit %d: %s", code, errb)
	}
	e, _, errb = testEnv(msg1, nil)
	if code := run([]string{"-c", emptyConfig(t), "--to", dir + "/c/d/mbox"}, e); code != exTempFail {
		t.Errorf("mbox with a missing directory: exit %d, want %d: %s", code, exTempFail, errb)
	}
	if _, err := os.Stat(filepath.Join(dir, "c")); err == nil {
		t.Errorf("the mbox's missing directory was created")
	}
}
