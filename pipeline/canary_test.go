package pipeline

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/scandeliver/scandeliver/scan"
)

// grepEngine is a command-line scanner made of grep(1): "infected" (exit
// 0 mapped to infected) when the file holds pattern.
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

func engineSet(t *testing.T, cfg string) ([]scan.Config, []scan.Engine) {
	t.Helper()
	var c struct {
		Engines []scan.Config `toml:"engine"`
	}
	if _, err := toml.Decode(cfg, &c); err != nil {
		t.Fatal(err)
	}
	engines, err := BuildEngines(c.Engines)
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
	if !strings.Contains(warn.String(), "CANARY FAILED: engine broken answers but does not detect EICAR, treated as down (on_error tempfail): EICAR not detected") {
		t.Errorf("not logged loudly: %q", warn.String())
	}
	// The dead engine is down, not a failed canary: an admin reading
	// CANARY FAILED looks for a broken signature database.
	if strings.Contains(warn.String(), "CANARY FAILED: engine dead") || !strings.Contains(warn.String(), "canary: engine dead is down (on_error quarantine): could not answer") {
		t.Errorf("a dead engine is not logged as down: %q", warn.String())
	}
	if strings.Count(warn.String(), "\n") != 2 {
		t.Errorf("want one line per engine: %q", warn.String())
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

// TestCanaryRecordHardLink: a hard link planted under the canary file's
// name, to a file of ours (root's, in the shared spool), is not written
// through: the file it points to keeps its content.
func TestCanaryRecordHardLink(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(dir, "victim")
	if err := os.WriteFile(victim, []byte("precious\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	path := canaryFile(dir)
	if err := os.Link(victim, path); err != nil {
		t.Fatal(err)
	}
	if err := canaryRecord(path, time.Unix(1800000000, 0)); err == nil {
		t.Error("canaryRecord wrote through a hard link")
	}
	if b, _ := os.ReadFile(victim); string(b) != "precious\n" {
		t.Errorf("the linked file now holds %q", b)
	}
	if !canaryDue(path, time.Unix(1800000000, 0), time.Hour) {
		t.Error("a hard-linked canary file counts as recently checked")
	}
}
