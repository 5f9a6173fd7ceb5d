package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scandeliver/scandeliver/pipeline"
	"github.com/scandeliver/scandeliver/quarantine"
	"github.com/scandeliver/scandeliver/scan/builtin"
)

// TestMain lets this test binary stand for scandeliver when "quarantine
// release --to" runs itself (os.Executable) as its delivery child.
func TestMain(m *testing.M) {
	if len(os.Args) > 2 && os.Args[1] == "quarantine" && (os.Args[2] == "deliver-released" || os.Args[2] == "rescan") {
		os.Exit(run(os.Args[1:], newSystemEnv()))
	}
	os.Exit(m.Run())
}

// infectedMessage carries EICAR as a base64 attachment, and a subject
// with a terminal escape and a bidirectional override.
func infectedMessage() string {
	var b64 bytes.Buffer
	enc := builtinB64(builtin.Eicar())
	b64.WriteString(enc)
	return "From: Mallory <m@evil.example>\nTo: bob@example.org\nSubject: invoice \x1b[2J\u202eexe.pdf\nMessage-ID: <q1@evil.example>\n" +
		"MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nsee attached\n" +
		"--b\nContent-Type: application/octet-stream; name=\"x.com\"\nContent-Transfer-Encoding: base64\n\n" + b64.String() + "\n--b--\n"
}

func qrun(t *testing.T, now time.Time, args ...string) (int, string, string) {
	t.Helper()
	e, out, errb := testEnv("", nil)
	e.now = func() time.Time { return now }
	code := run(args, e)
	return code, out.String(), errb.String()
}

func TestQuarantineRoundTrip(t *testing.T) {
	dir := t.TempDir()
	qdir := filepath.Join(dir, "quarantine")
	cfg := writeConfig(t, "[quarantine]\ndir = \""+qdir+"\"\n[spool]\ndir = \""+dir+"\"\n")
	home := filepath.Join(dir, "home")
	msg := infectedMessage()
	e, _, errb := testEnv(msg, map[string]string{"HOME": home, "USER": "bob", "SENDER": "m@evil.example", "RECIPIENT": "bob@example.org"})
	if code := run([]string{"-c", cfg}, e); code != exOK {
		t.Fatalf("delivery: exit %d: %s", code, errb)
	}
	// The policy may deliver the rest of the message, never EICAR.
	if _, err := os.Stat(filepath.Join(home, "Maildir", "new")); err == nil {
		for _, f := range newFiles(t, filepath.Join(home, "Maildir", "new")) {
			if strings.Contains(f, builtinB64(builtin.Eicar())[:40]) {
				t.Fatalf("EICAR delivered")
			}
		}
	}
	now := time.Now()

	// list: one entry, text and JSON, nothing raw on the terminal.
	code, out, stderr := qrun(t, now, "quarantine", "list", "-c", cfg)
	if code != exOK || strings.Count(out, "\n") != 1 {
		t.Fatalf("list: exit %d %q %s", code, out, stderr)
	}
	id := strings.Fields(out)[0]
	if !quarantine.ValidID(id) || !strings.Contains(out, "<m@evil.example> -> bob@example.org") || strings.ContainsAny(out, "\x1b\u202e") {
		t.Errorf("list line %q", out)
	}
	code, out, _ = qrun(t, now, "quarantine", "list", "-c", cfg, "--json", "--since", "1h")
	var reps []quarantine.Report
	if code != exOK || json.Unmarshal([]byte(out), &reps) != nil || len(reps) != 1 || reps[0].ID != id || strings.ContainsAny(out, "\x1b\u202e") {
		t.Errorf("list --json: exit %d %s", code, out)
	}
	if !strings.Contains(reps[0].Subject, "\u202e") {
		t.Errorf("JSON subject lost the override (it must be escaped, not dropped): %q", reps[0].Subject)
	}
	if _, out, _ = qrun(t, now.Add(48*time.Hour), "quarantine", "list", "-c", cfg, "--since", "1d"); out != "" {
		t.Errorf("list --since 1d two days later: %q", out)
	}

	// show: report and header, escaped; never the body.
	code, out, _ = qrun(t, now, "quarantine", "show", "-c", cfg, id)
	if code != exOK || !strings.Contains(out, `Subject: invoice \x1b[2J\u202eexe.pdf`) || !strings.Contains(out, "Verdict:") ||
		strings.ContainsAny(out, "\x1b\u202e") || strings.Contains(out, "see attached") || strings.Contains(out, "EICAR") {
		t.Errorf("show: exit %d:\n%s", code, out)
	}
	if code, _, _ = qrun(t, now, "quarantine", "show", "-c", cfg, "../../etc/passwd"); code != exUsage {
		t.Errorf("show of a hostile id: exit %d", code)
	}

	// release scans again: the engines still find EICAR, so it is
	// refused without --force; --force prints the content's SHA-256 and
	// the verdict first.
	mdir := filepath.Join(dir, "released", "Maildir") + "/"
	code, out, stderr = qrun(t, now, "quarantine", "release", "-c", cfg, id, "--to", mdir)
	if code != exNoPerm || !strings.Contains(stderr, "infected") || !strings.Contains(stderr, "--force") {
		t.Fatalf("release of an infected entry without --force: exit %d %s %s", code, out, stderr)
	}
	if _, err := os.Stat(mdir); err == nil {
		t.Fatal("refused release delivered something")
	}
	stored, _ := quarantine.Store{Dir: qdir}.Open(id)
	h := sha256.New()
	io.Copy(h, stored)
	stored.Close()
	code, out, stderr = qrun(t, now, "quarantine", "release", "-c", cfg, id, "--to", mdir, "--force")
	if code != exOK {
		t.Fatalf("release: exit %d %s %s", code, out, stderr)
	}
	if want := "SHA-256: " + hex.EncodeToString(h.Sum(nil)) + "\nverdict: infected: "; !strings.HasPrefix(out, want) || !strings.Contains(out, "Eicar") {
		t.Errorf("release --force printed %q, want it to start with %q and name the signature", out, want)
	}
	files := newFiles(t, filepath.Join(mdir, "new"))
	if len(files) != 1 {
		t.Fatalf("%d released messages", len(files))
	}
	field, rest, _ := strings.Cut(files[0], "\n")
	if rest != msg || !strings.HasPrefix(field, "X-Scandeliver-Released: id="+id+"; ") {
		t.Errorf("released message: field %q, original intact %v", field, rest == msg)
	}
	r, err := quarantine.Store{Dir: qdir}.Get(id)
	if err != nil || len(r.Released) != 1 || r.Released[0].To != mdir {
		t.Errorf("report after release: %+v %v", r.Released, err)
	}
	if _, out, _ = qrun(t, now, "quarantine", "list", "-c", cfg); !strings.Contains(out, " released ") {
		t.Errorf("list does not say released: %q", out)
	}

	// release --resend: through "sendmail" (a recorder script here; the
	// Postfix test uses the real one), one signed copy per recipient,
	// which releasedOK accepts for that recipient only.
	if os.Geteuid() == 0 {
		rec := filepath.Join(dir, "rec")
		os.Mkdir(rec, 0o755)
		sm := filepath.Join(dir, "sendmail")
		os.WriteFile(sm, []byte("#!/bin/sh\nprintf '%s\\n' \"$@\" > "+rec+"/args\ncat > "+rec+"/msg\n"), 0o755)
		key := filepath.Join(dir, "release.key")
		code, out, stderr = qrun(t, now, "quarantine", "release", "-c", cfg, id, "--resend", "--sendmail", sm, "--key", key, "--force")
		if code != exOK {
			t.Fatalf("resend: exit %d %s %s", code, out, stderr)
		}
		args, _ := os.ReadFile(filepath.Join(rec, "args"))
		if string(args) != "-oi\n-f\nm@evil.example\n--\nbob@example.org\n" {
			t.Errorf("sendmail args %q", args)
		}
		sent, _ := os.ReadFile(filepath.Join(rec, "msg"))
		back := append([]byte("Return-Path: <m@evil.example>\nDelivered-To: bob@example.org\n"), sent...)
		rc := pipeline.ReleaseConfig{Key: key}
		if got, ok, why := pipeline.ReleasedOK(bytes.NewReader(back), int64(len(back)), rc, "bob@example.org", now.Add(time.Minute)); !ok || got != id {
			t.Errorf("releasedOK: %v %q %s", ok, got, why)
		}
		if _, ok, _ := pipeline.ReleasedOK(bytes.NewReader(back), int64(len(back)), rc, "eve@example.org", now); ok {
			t.Error("releasedOK for another recipient")
		}
		if _, ok, _ := pipeline.ReleasedOK(strings.NewReader(msg), int64(len(msg)), rc, "bob@example.org", now); ok {
			t.Error("releasedOK without a mark")
		}
		if r, _ := (quarantine.Store{Dir: qdir}).Get(id); len(r.Released) != 2 || r.Released[1].To != "resend:bob@example.org" {
			t.Errorf("report after resend: %+v", r.Released)
		}
	}

	// purge: nothing younger than 30 days; then everything.
	if code, out, _ = qrun(t, now, "quarantine", "purge", "-c", cfg, "--older-than", "30d"); code != exOK || out != "" {
		t.Errorf("purge 30d: exit %d %q", code, out)
	}
	if code, out, _ = qrun(t, now.Add(31*24*time.Hour), "quarantine", "purge", "-c", cfg, "--older-than", "30d"); code != exOK || out != "purged "+id+"\n" {
		t.Errorf("purge 30d a month later: exit %d %q", code, out)
	}
	if _, out, _ = qrun(t, now, "quarantine", "list", "-c", cfg); out != "" {
		t.Errorf("list after purge: %q", out)
	}
}

func TestQuarantineUsage(t *testing.T) {
	for _, args := range [][]string{
		{"quarantine"}, {"quarantine", "nope"}, {"quarantine", "show"},
		{"quarantine", "release", "20261127-154843-123456-9f86d081884c"},
		{"quarantine", "release", "20261127-154843-123456-9f86d081884c", "--to", "/x/", "--resend"},
		{"quarantine", "purge"}, {"quarantine", "purge", "--older-than", "soon"},
	} {
		if code, _, _ := qrun(t, time.Now(), append(args, "-c", emptyConfig(t))...); code != exUsage {
			t.Errorf("%q: exit %d, want 64", args, code)
		}
	}
}

func builtinB64(b []byte) string {
	return base64.StdEncoding.EncodeToString(b)
}

func TestDeliveryTraceEnd(t *testing.T) {
	for _, c := range []struct{ in, rest string }{
		{"Return-Path: <a@b>\nX-Original-To: u@x\nDelivered-To: u@x\nReceived: from y\n\nbody\n", "Received: from y\n\nbody\n"},
		{"Return-Path:\n <a@b>\nDelivered-To: u@x\nSubject: s\n\n", "Subject: s\n\n"},
		{"Received: from y\nDelivered-To: u@x\n\n", "Received: from y\nDelivered-To: u@x\n\n"},
		{"Return-Path-Not: x\n\n", "Return-Path-Not: x\n\n"},
		{"Delivered-To: u@x", "Delivered-To: u@x"},
		{"", ""},
	} {
		off, err := deliveryTraceEnd(strings.NewReader(c.in))
		if err != nil || c.in[off:] != c.rest {
			t.Errorf("%q: rest %q, want %q (%v)", c.in, c.in[off:], c.rest, err)
		}
	}
}

// TestReleaseMarkWaivesRulesNotEngines: a message coming back with a
// valid release mark is scanned again; the mark waives the policy's rules
// (a banned file name is delivered), never an engine's infected verdict
// unless the release was forced.
func TestReleaseMarkWaivesRulesNotEngines(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "release.key")
	priv, err := quarantine.EnsureReleaseKey(key)
	if err != nil {
		t.Fatal(err)
	}
	cfg := writeConfig(t, "[quarantine]\ndir = \""+filepath.Join(dir, "q")+"\"\n[spool]\ndir = \""+dir+"\"\n[release]\nkey = \""+key+"\"\n[log]\nsyslog = false\n")
	mz := base64.StdEncoding.EncodeToString(append([]byte("MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00"), []byte("This program cannot be run in DOS mode. RELEASE-MZ-MARKER")...))
	banned := "From: a@example.org\nTo: bob@example.org\nSubject: banned\nMessage-ID: <b@example.org>\nMIME-Version: 1.0\n" +
		"Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nhi\n--b\n" +
		"Content-Type: application/octet-stream; name=\"invoice.pdf.exe\"\nContent-Transfer-Encoding: base64\n\n" + mz + "\n--b--\n"
	eicar := builtinB64(builtin.Eicar())[:40]
	now := time.Now()
	mark := func(msg string, force bool) string {
		h, _ := quarantine.ReleaseHash(strings.NewReader(msg))
		return quarantine.Mark{ID: "20261127-154843-123456-9f86d081884c", Time: now, Recipient: "bob@example.org", SHA256: h, Force: force}.Field(priv) + msg
	}
	for _, c := range []struct {
		name, msg, marker string
		delivered         bool
	}{
		{"banned name, no mark", banned, mz[:40], false},
		{"banned name, mark", mark(banned, false), mz[:40], true},
		{"infected, no mark", infectedMessage(), eicar, false},
		{"infected, mark without force", mark(infectedMessage(), false), eicar, false},
		{"infected, forced mark", mark(infectedMessage(), true), eicar, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			home := filepath.Join(t.TempDir(), "home")
			e, _, errb := testEnv(c.msg, map[string]string{"HOME": home, "USER": "bob", "SENDER": "a@example.org", "RECIPIENT": "bob@example.org"})
			if code := run([]string{"-c", cfg}, e); code != exOK {
				t.Fatalf("exit %d: %s", code, errb)
			}
			found := false
			if _, err := os.Stat(filepath.Join(home, "Maildir", "new")); err == nil {
				for _, f := range newFiles(t, filepath.Join(home, "Maildir", "new")) {
					if strings.Contains(f, c.marker) {
						found = true
					}
				}
			}
			if found != c.delivered {
				t.Errorf("delivered %v, want %v: %s", found, c.delivered, errb)
			}
		})
	}
}

// slowEngine is a command engine that answers "clean" only after
// sleeping past a [scan] budget of one second.
const slowEngine = "[[engine]]\nname = \"builtin\"\ntype = \"builtin\"\n" +
	"[[engine]]\nname = \"slow\"\ntype = \"command\"\ncommand = [\"/bin/sh\", \"-c\", \"sleep 5; exit 1\", \"sh\", \"{}\"]\ninfected = [0]\nclean = [1]\n" +
	"[scan]\nbudget = \"1s\"\n"

// downEngine is a command engine that cannot answer (an exit status it
// does not know), with on_error = pass: unmarked mail would go through
// with a warning.
const downEngine = "[[engine]]\nname = \"builtin\"\ntype = \"builtin\"\n" +
	"[[engine]]\nname = \"down\"\ntype = \"command\"\ncommand = [\"/bin/sh\", \"-c\", \"exit 7\", \"sh\", \"{}\"]\ninfected = [0]\nclean = [1]\non_error = \"pass\"\n"

// TestReleaseMarkNeedsWholeScan: a re-sent copy with a valid release
// mark (not forced) whose scan did not give the engines' whole answer
// (the time budget spent, an engine down with on_error = pass, a part
// over unpack's limits) is not delivered as released: it is handled as
// unmarked mail (here the banned part is withheld). A forced mark is
// delivered.
func TestReleaseMarkNeedsWholeScan(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "release.key")
	priv, err := quarantine.EnsureReleaseKey(key)
	if err != nil {
		t.Fatal(err)
	}
	base := "[quarantine]\ndir = \"" + filepath.Join(dir, "q") + "\"\n[spool]\ndir = \"" + dir + "\"\n[release]\nkey = \"" + key + "\"\n[log]\nsyslog = false\n"
	mz := base64.StdEncoding.EncodeToString(append([]byte("MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00"), []byte("This program cannot be run in DOS mode. RELEASE-MZ-MARKER")...))
	banned := "From: a@example.org\nTo: bob@example.org\nSubject: banned\nMessage-ID: <b@example.org>\nMIME-Version: 1.0\n" +
		"Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nhi\n--b\n" +
		"Content-Type: application/octet-stream; name=\"invoice.pdf.exe\"\nContent-Transfer-Encoding: base64\n\n" + mz + "\n--b--\n"
	now := time.Now()
	mark := func(msg string, force bool) string {
		h, _ := quarantine.ReleaseHash(strings.NewReader(msg))
		return quarantine.Mark{ID: "20261127-154843-123456-9f86d081884c", Time: now, Recipient: "bob@example.org", SHA256: h, Force: force}.Field(priv) + msg
	}
	for _, c := range []struct {
		name, cfg string
		force     bool
	}{
		{"budget spent", slowEngine, false},
		{"budget spent, forced", slowEngine, true},
		{"engine down, on_error pass", downEngine, false},
		{"engine down, forced", downEngine, true},
		{"part over the limits", "[limits]\nmax_parts = 2\n", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := writeConfig(t, base+c.cfg)
			home := filepath.Join(t.TempDir(), "home")
			e, _, errb := testEnv(mark(banned, c.force), map[string]string{"HOME": home, "USER": "bob", "SENDER": "a@example.org", "RECIPIENT": "bob@example.org"})
			code := run([]string{"-c", cfg}, e)
			delivered := false
			if _, err := os.Stat(filepath.Join(home, "Maildir", "new")); err == nil {
				for _, f := range newFiles(t, filepath.Join(home, "Maildir", "new")) {
					if strings.Contains(f, mz[:40]) {
						delivered = true
					}
				}
			}
			released := strings.Contains(errb.String(), "released=")
			if c.force {
				if code != exOK || !delivered || !released {
					t.Errorf("forced mark: exit %d, delivered %v, logged as released %v: %s", code, delivered, released, errb)
				}
				return
			}
			if delivered || released {
				t.Errorf("exit %d, delivered %v, logged as released %v: %s", code, delivered, released, errb)
			}
			if code != exOK && code != exTempFail {
				t.Errorf("exit %d: %s", code, errb)
			}
		})
	}
}
