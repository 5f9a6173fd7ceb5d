package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testEnv returns a sysEnv reading msg, with the given environment.
func testEnv(msg string, env map[string]string) (*sysEnv, *bytes.Buffer, *bytes.Buffer) {
	var out, errb bytes.Buffer
	return &sysEnv{
		stdin:  strings.NewReader(msg),
		stdout: &out,
		stderr: &errb,
		getenv: func(k string) string { return env[k] },
		now:    time.Now,
	}, &out, &errb
}

// emptyConfig writes an empty config file: the built-in defaults, without
// depending on what /etc/scandeliver holds on this machine.
func emptyConfig(t *testing.T) string {
	p := filepath.Join(t.TempDir(), "empty.toml")
	if err := os.WriteFile(p, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func newFiles(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(b))
	}
	return out
}

const msg1 = "Subject: hello\nMessage-ID: <m1@example.org>\n\nFrom the start.\n"

func TestDeliverMaildirDefaultDestination(t *testing.T) {
	home := t.TempDir()
	e, _, errb := testEnv(msg1, map[string]string{"HOME": home, "USER": "bob", "SENDER": "alice@example.org", "RECIPIENT": "bob@example.net"})
	if code := run([]string{"-c", emptyConfig(t)}, e); code != exOK {
		t.Fatalf("exit %d: %s", code, errb)
	}
	got := newFiles(t, filepath.Join(home, "Maildir", "new"))
	want := "Return-Path: <alice@example.org>\nDelivered-To: bob@example.net\nX-Scandeliver-Status: clean\n" + msg1
	if len(got) != 1 || got[0] != want {
		t.Fatalf("Maildir holds %q, want [%q]", got, want)
	}
	log := errb.String()
	for _, s := range []string{"result=delivered", "message_id=<m1@example.org>", "sender=alice@example.org", "recipient=bob@example.net", "size=", "duration="} {
		if !strings.Contains(log, s) {
			t.Errorf("log line %q lacks %q", log, s)
		}
	}
	if strings.Count(log, "\n") != 1 {
		t.Errorf("want one log line, got %q", log)
	}
}

func TestDeliverMboxFromLineAndFlags(t *testing.T) {
	dir := t.TempDir()
	mbox := filepath.Join(dir, "mbox")
	msg := "From envelope@example.org Thu Jan  1 00:00:00 2026\n" + msg1
	// -f and -a win over the environment and the From_ line.
	e, _, errb := testEnv(msg, map[string]string{"HOME": dir, "SENDER": "env@example.org", "ORIGINAL_RECIPIENT": "orig@example.net"})
	if code := run([]string{"-c", emptyConfig(t), "-f", "flag@example.org", "-a", "a@example.net", "--to", mbox}, e); code != exOK {
		t.Fatalf("exit %d: %s", code, errb)
	}
	// Without -f and $SENDER, the From_ line gives the sender.
	e, _, errb = testEnv(msg, map[string]string{"HOME": dir, "ORIGINAL_RECIPIENT": "orig@example.net", "RECIPIENT": "final@example.net"})
	if code := run([]string{"-c", emptyConfig(t), "--to", "~/mbox"}, e); code != exOK {
		t.Fatalf("exit %d: %s", code, errb)
	}
	b, err := os.ReadFile(mbox)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, want := range []string{
		"From flag@example.org ", "Return-Path: <flag@example.org>\nDelivered-To: a@example.net\nX-Scandeliver-Status: clean\nSubject: hello",
		"From envelope@example.org ", "Return-Path: <envelope@example.org>\nDelivered-To: orig@example.net\nX-Scandeliver-Status: clean\nSubject: hello",
		"\n>From the start.\n",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("mbox lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, "Jan  1 00:00:00 2026") {
		t.Errorf("the envelope From_ line was kept as message content:\n%s", s)
	}
}

func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	badCfg := filepath.Join(dir, "bad.toml")
	os.WriteFile(badCfg, []byte("[deliver]\ndefault = \"~/Maildir/\"\nlock_timout = \"1s\"\n"), 0o644)
	ro := filepath.Join(dir, "ro")
	os.MkdirAll(ro, 0o500)
	tests := []struct {
		name   string
		args   []string
		env    map[string]string
		stdin  io.Reader
		code   int
		stderr string
	}{
		{"config typo defers, naming file line and key", []string{"-c", badCfg, "--to", dir + "/M/"}, nil, nil, exTempFail, badCfg + ":3: key \"deliver.lock_timout\": unknown key"},
		{"missing -c file", []string{"-c", dir + "/none.toml", "--to", dir + "/M/"}, nil, nil, exTempFail, "none.toml"},
		{"unknown user", []string{"-c", emptyConfig(t), "-d", "no-such-user-sd"}, nil, nil, exNoUser, "no-such-user-sd"},
		{"bad flag", []string{"-x"}, nil, nil, exUsage, "Usage:"},
		{"stray argument", []string{"-c", emptyConfig(t), "file.eml"}, nil, nil, exUsage, "standard input"},
		{"relative destination", []string{"-c", emptyConfig(t), "--to", "Maildir/"}, nil, nil, exUsage, "Maildir/"},
		{"read error on stdin", []string{"-c", emptyConfig(t), "--to", dir + "/M2/"}, nil, errReader{}, exTempFail, "reading message"},
		{"panic is a 75", []string{"-c", emptyConfig(t), "--to", dir + "/M3/"}, nil, panicReader{}, exTempFail, "internal error"},
	}
	if os.Geteuid() != 0 {
		tests = append(tests, struct {
			name   string
			args   []string
			env    map[string]string
			stdin  io.Reader
			code   int
			stderr string
		}{"read-only destination", []string{"-c", emptyConfig(t), "--to", ro + "/Maildir/"}, nil, nil, exTempFail, "permission denied"})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := tc.env
			if env == nil {
				env = map[string]string{"HOME": dir, "USER": "u"}
			}
			e, _, errb := testEnv(msg1, env)
			if tc.stdin != nil {
				e.stdin = tc.stdin
			}
			code := run(tc.args, e)
			if code != tc.code || !strings.Contains(errb.String(), tc.stderr) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, errb, tc.code, tc.stderr)
			}
		})
	}
	for _, d := range []string{"M", "M2", "M3"} {
		if _, err := os.Stat(filepath.Join(dir, d)); err == nil {
			t.Errorf("a failed delivery created %s", d)
		}
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, io.ErrUnexpectedEOF }

type panicReader struct{}

func (panicReader) Read([]byte) (int, error) { panic("boom") }

func TestSpoolOverMemoryThreshold(t *testing.T) {
	dir := t.TempDir()
	spool := filepath.Join(dir, "spool")
	os.Mkdir(spool, 0o700)
	cfg := filepath.Join(dir, "c.toml")
	os.WriteFile(cfg, []byte("[spool]\ndir = \""+spool+"\"\nmemory = \"1KB\"\n"), 0o644)
	big := msg1 + strings.Repeat("x", 10<<10) + "\n"
	e, _, errb := testEnv(big, map[string]string{"HOME": dir})
	if code := run([]string{"-c", cfg, "--to", dir + "/Maildir/"}, e); code != exOK {
		t.Fatalf("exit %d: %s", code, errb)
	}
	got := newFiles(t, filepath.Join(dir, "Maildir", "new"))
	if len(got) != 1 || !strings.HasSuffix(got[0], big) {
		t.Fatalf("spooled message not delivered intact")
	}
	if left, _ := os.ReadDir(spool); len(left) != 0 {
		t.Errorf("spool directory not empty after delivery: %v", left)
	}
	// A spool directory that cannot be used defers the message.
	os.WriteFile(cfg, []byte("[spool]\ndir = \""+dir+"/nonexistent\"\nmemory = \"1KB\"\n"), 0o644)
	e, _, errb = testEnv(big, map[string]string{"HOME": dir})
	if code := run([]string{"-c", cfg, "--to", dir + "/Maildir/"}, e); code != exTempFail {
		t.Fatalf("unusable spool: exit %d, want 75: %s", code, errb)
	}
}

func TestHelpAndVersion(t *testing.T) {
	e, out, _ := testEnv("", nil)
	if code := run([]string{"--help"}, e); code != exOK || out.String() != usageText {
		t.Errorf("--help: exit %d, %q", code, out)
	}
	e, out, _ = testEnv("", nil)
	if code := run([]string{"version"}, e); code != exOK || !strings.HasPrefix(out.String(), "scandeliver ") {
		t.Errorf("version: exit %d, %q", code, out)
	}
}

func TestCheckConfig(t *testing.T) {
	e, out, errb := testEnv("", nil)
	if code := run([]string{"check-config", "-c", filepath.Join("..", "..", "etc", "scandeliver.toml")}, e); code != exOK {
		t.Fatalf("exit %d: %s", code, errb)
	}
	if !strings.Contains(out.String(), "[deliver]") || !strings.Contains(out.String(), ": OK") {
		t.Errorf("check-config output: %s", out)
	}
	bad := filepath.Join(t.TempDir(), "bad.toml")
	os.WriteFile(bad, []byte("[log]\nsyslg = true\n"), 0o644)
	e, _, errb = testEnv("", nil)
	if code := run([]string{"check-config", "-c", bad}, e); code != exCheckFail || !strings.Contains(errb.String(), bad+":2") {
		t.Errorf("bad config: exit %d, %q", code, errb)
	}
}

// TestDocsAgree checks that --help, the README and the man page name the
// same options and subcommands.
func TestDocsAgree(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	man, err := os.ReadFile(filepath.Join("..", "..", "man", "scandeliver.1"))
	if err != nil {
		t.Fatal(err)
	}
	for _, opt := range []string{"-c", "-f", "-a", "-d", "--to"} {
		if !strings.Contains(usageText, opt+" ") || !strings.Contains(string(readme), "`"+opt+" ") {
			t.Errorf("option %s missing from --help or README", opt)
		}
		manOpt := ".It Fl " + strings.TrimPrefix(opt, "-")
		if opt == "--to" {
			manOpt = ".It Fl \\-to"
		}
		if !strings.Contains(string(man), manOpt) {
			t.Errorf("option %s missing from the man page", opt)
		}
	}
	for _, sub := range []string{"scan", "check-config", "selftest", "quarantine", "version"} {
		if !strings.Contains(usageText, "scandeliver "+sub) || !strings.Contains(string(readme), "scandeliver "+sub) || !strings.Contains(string(man), ".Cm "+sub) {
			t.Errorf("subcommand %s missing from --help, README or man page", sub)
		}
	}
	for _, code := range []string{"64", "65", "67", "75"} {
		if !strings.Contains(usageText, code) || !strings.Contains(string(readme), "**"+code+"**") || !strings.Contains(string(man), ".It "+code) {
			t.Errorf("exit code %s missing from --help, README or man page", code)
		}
	}
}
