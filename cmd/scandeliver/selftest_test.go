package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scandeliver/scandeliver/scan"
	"github.com/scandeliver/scandeliver/tests/e2e"
	"github.com/scandeliver/scandeliver/tests/testenv"
)

func writeConfig(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "scandeliver.toml")
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func runSelftest(t *testing.T, cfg string) (int, string) {
	t.Helper()
	e, out, errb := testEnv("", nil)
	code := run([]string{"selftest", "-c", writeConfig(t, cfg)}, e)
	return code, out.String() + errb.String()
}

// grepEngine is a command-line scanner made of grep(1): "infected" (exit
// 0 mapped to infected) when the file holds pattern. A real program run
// as scandeliver runs any other scanner.
func grepEngine(name, pattern string) string {
	return `
[[engine]]
name = "` + name + `"
type = "command"
command = ["/bin/grep", "-q", "-F", "` + pattern + `", "{}"]
infected = [0]
clean = [1]
`
}

func TestSelftestBuiltin(t *testing.T) {
	code, out := runSelftest(t, "")
	if code != exOK || !strings.Contains(out, "builtin virus ok: EICAR detected") || !strings.Contains(out, "selftest ok: 1 engines") {
		t.Errorf("exit %d:\n%s", code, out)
	}
	code, out = runSelftest(t, "[[engine]]\nname = \"noeicar\"\ntype = \"builtin\"\nno_eicar = true\n")
	if code != exCheckFail || !strings.Contains(out, "noeicar virus FAILED: EICAR not detected") || !strings.HasSuffix(out, "selftest FAILED: noeicar\n") {
		t.Errorf("no_eicar: exit %d:\n%s", code, out)
	}
}

func TestSelftestCommandEngines(t *testing.T) {
	// One detects EICAR (its standard part); one looks for something else
	// (a scanner whose signatures are gone); one cannot run.
	cfg := grepEngine("grep-ok", "EICAR-STANDARD-ANTIVIRUS") + grepEngine("grep-broken", "no such signature") +
		"[[engine]]\nname = \"missing\"\ntype = \"command\"\ncommand = [\"/nonexistent/scanner\"]\n"
	code, out := runSelftest(t, cfg)
	if code != exCheckFail {
		t.Errorf("exit %d, want 1", code)
	}
	for _, want := range []string{"grep-ok virus ok: EICAR detected: selftest infected", "grep-broken virus FAILED: EICAR not detected: selftest clean",
		"missing virus FAILED:", "selftest FAILED: grep-broken, missing\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// TestSelftestRealEngines runs selftest against the test clamd and spamd
// (and rspamd), which pass, and against a private clamd whose database
// does not detect EICAR, which fails by name.
func TestSelftestRealEngines(t *testing.T) {
	clamd := testenv.Env(t, "SCANDELIVER_CLAMD")
	spamd := testenv.Env(t, "SCANDELIVER_SPAMD")
	cfg := "[[engine]]\nname = \"clamav\"\ntype = \"clamd\"\naddress = \"" + clamd + "\"\n" +
		"[[engine]]\nname = \"spamassassin\"\ntype = \"spamd\"\naddress = \"" + spamd + "\"\n"
	if r := os.Getenv("SCANDELIVER_RSPAMD"); r != "" {
		cfg += "[[engine]]\nname = \"rspamd\"\ntype = \"rspamd\"\naddress = \"" + r + "\"\n"
	}
	code, out := runSelftest(t, cfg)
	t.Logf("healthy engines:\n%s", out)
	if code != exOK || !strings.Contains(out, "clamav virus ok: EICAR detected") || !strings.Contains(out, "spamassassin spam ok: GTUBE detected") {
		t.Errorf("exit %d:\n%s", code, out)
	}

	broken := e2e.StartClamd(t, map[string]string{"test.ndb": e2e.ClamExeNDB})
	code, out = runSelftest(t, cfg+"[[engine]]\nname = \"clamav-nodb\"\ntype = \"clamd\"\naddress = \""+broken.Addr+"\"\n")
	t.Logf("with a clamd that misses EICAR:\n%s", out)
	if code != exCheckFail || !strings.Contains(out, "clamav-nodb virus FAILED: EICAR not detected") || !strings.HasSuffix(out, "selftest FAILED: clamav-nodb\n") {
		t.Errorf("exit %d:\n%s", code, out)
	}
}

func engineSet(t *testing.T, cfg string) ([]scan.Config, []scan.Engine) {
	t.Helper()
	c := defaultConfig()
	if err := decodeConfig("test.toml", []byte(cfg), &c); err != nil {
		t.Fatal(err)
	}
	engines, err := buildEngines(c.Engines)
	if err != nil {
		t.Fatal(err)
	}
	return c.Engines, engines
}

func TestCanary(t *testing.T) {
	spool := t.TempDir()
	count := filepath.Join(spool, "count")
	// A scanner that counts its runs: the canary must not run it again
	// within the interval.
	counting := `
[[engine]]
name = "counting"
type = "command"
command = ["/bin/sh", "-c", "echo run >> ` + count + `; exec /bin/grep -q -F EICAR-STANDARD-ANTIVIRUS \"$0\"", "{}"]
infected = [0]
clean = [1]
`
	cfgs, engines := engineSet(t, counting+"[[engine]]\nname = \"builtin\"\ntype = \"builtin\"\nno_eicar = true\n")
	runs := func() int {
		b, _ := os.ReadFile(count)
		return strings.Count(string(b), "run")
	}
	now := time.Now()
	cc := CanaryConfig{}
	var warn strings.Builder
	if f := canaryCheck(context.Background(), cc, spool, cfgs, engines, now, &warn); len(f) != 0 {
		t.Fatalf("healthy engines failed the canary: %v", f)
	}
	if runs() != 1 { // builtin (even with no_eicar) is not a canary's business
		t.Fatalf("%d canary runs, want 1", runs())
	}
	canaryCheck(context.Background(), cc, spool, cfgs, engines, now.Add(9*time.Minute), &warn)
	if runs() != 1 {
		t.Errorf("canary ran again within the interval")
	}
	canaryCheck(context.Background(), cc, spool, cfgs, engines, now.Add(11*time.Minute), &warn)
	if runs() != 2 {
		t.Errorf("canary did not run after the interval: %d runs", runs())
	}
	if warn.Len() != 0 {
		t.Errorf("warnings: %s", warn.String())
	}
	// The file: ours, 0600, per uid.
	fi, err := os.Stat(canaryFile(spool))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("canary file: %v %v", fi, err)
	}

	// A broken engine (answers clean) and a dead one: both fail, with
	// their on_error; the time is not recorded, so the next delivery
	// checks again.
	spool2 := t.TempDir()
	cfgs, engines = engineSet(t, grepEngine("broken", "not a signature")+
		"[[engine]]\nname = \"dead\"\ntype = \"clamd\"\naddress = \"unix:/nonexistent/clamd.sock\"\non_error = \"quarantine\"\n")
	warn.Reset()
	f := canaryCheck(context.Background(), cc, spool2, cfgs, engines, now, &warn)
	if len(f) != 2 || f[0].Engine != "broken" || f[0].OnError != scan.OnErrorTempfail || f[1].Engine != "dead" || f[1].OnError != scan.OnErrorQuarantine {
		t.Fatalf("failures %v", f)
	}
	if !strings.Contains(warn.String(), "CANARY FAILED: engine broken treated as down (on_error tempfail): EICAR not detected") {
		t.Errorf("not logged loudly: %q", warn.String())
	}
	if _, err := os.Stat(canaryFile(spool2)); err == nil {
		t.Error("a failed canary recorded its time")
	}
	if f := canaryCheck(context.Background(), CanaryConfig{Disable: true}, spool2, cfgs, engines, now, nil); f != nil {
		t.Errorf("disabled canary: %v", f)
	}

	// A file planted by someone else (here: a symlink, or a future time
	// in a file not ours) never counts as a recent check.
	spool3 := t.TempDir()
	os.Symlink("/etc/passwd", canaryFile(spool3))
	if !canaryDue(canaryFile(spool3), now, time.Hour) {
		t.Error("a symlink counts as a recent canary")
	}
	os.Remove(canaryFile(spool3))
	os.WriteFile(canaryFile(spool3), []byte("99999999999\n"), 0o600)
	if !canaryDue(canaryFile(spool3), now, time.Hour) {
		t.Error("a time in the future counts as a recent canary")
	}
}
