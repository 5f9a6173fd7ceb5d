package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

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
