package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
)

func TestKeyPathLine(t *testing.T) {
	data := []byte(`# comment
[deliver]
default = "~/Maildir/"

[[engine]]
name = "a"
type = "builtin"

[[engine]]  # the second
name = "b"
type = "clamdd"
on_error = "tmpfail"

[policy]
filename_rules = [
  { action = "deny", pattern = '(' },
]
[policy.spam]
action = "junkk"

[[ruleset]]
name = "x"
[ruleset.policy]
infected = "nope"
[[ruleset]]
name = "y"
[ruleset.policy]
infected = "nope2"
`)
	for key, want := range map[string]int{
		"deliver.default":                3,
		"engine[0].type":                 7,
		"engine[1].type":                 11,
		"engine[1].on_error":             12,
		"engine[1].address":              9, // missing: the table's header
		"engine[0]":                      5,
		"policy.filename_rules[0]":       15,
		"policy.spam.action":             19,
		"ruleset[1].policy.infected":     28,
		"ruleset[0].policy.infected":     24,
		"log.level":                      0,
		"engine[2].type":                 0,
		"policy.filename_rules[0].extra": 14,
	} {
		if got := keyPathLine(data, key); got != want {
			t.Errorf("keyPathLine(%q) = %d, want %d", key, got, want)
		}
	}
}

// TestCheckConfigBroken: check-config refuses every table a delivery
// would refuse, naming file, line and key (testdata/config/broken-*.toml
// say which in their "# expect: LINE KEY" line); each of these passed
// with exit 0 and then deferred every message. A delivery with the same
// file defers, with the same position in its error.
func TestCheckConfigBroken(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "config", "broken-*.toml"))
	if len(files) < 5 {
		t.Fatalf("only %d broken configurations", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			m := regexp.MustCompile(`(?m)^# expect: (\d+) (\S+)$`).FindSubmatch(b)
			if m == nil {
				t.Fatal("no # expect: line")
			}
			want := fmt.Sprintf("%s:%s: key %q: ", f, m[1], m[2])
			e, out, errb := testEnv("", nil)
			if code := run([]string{"check-config", "-c", f}, e); code != exCheckFail {
				t.Errorf("check-config: exit %d, want %d; stdout %s", code, exCheckFail, out)
			}
			if !strings.Contains(errb.String(), want) {
				t.Errorf("check-config says %q, want it to contain %q", errb, want)
			}
			if strings.Contains(errb.String(), "dial") {
				t.Errorf("check-config dialled something: %q", errb)
			}
			e, _, errb = testEnv(msg1, nil)
			if code := run([]string{"-c", f, "--to", t.TempDir() + "/Maildir/"}, e); code != exTempFail {
				t.Errorf("delivery: exit %d, want %d", code, exTempFail)
			}
			if !strings.Contains(errb.String(), strings.TrimSuffix(want, ": ")) && !strings.Contains(errb.String(), fmt.Sprintf(`%s:%s: key \"%s\"`, f, m[1], m[2])) {
				t.Errorf("delivery error %q does not name %s", errb, want)
			}
		})
	}
}

// TestCheckConfigEffective: what check-config prints is what deliveries
// use: a clamd engine's timeout 60s, on_error tempfail, 2 connections
// (printed as 0s, "" and 0 before), and without a file the builtin
// engine (not printed at all before).
func TestCheckConfigEffective(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "s.toml")
	os.WriteFile(f, []byte("[[engine]]\nname = \"clamav\"\ntype = \"clamd\"\naddress = \"unix:/run/clamav/clamd.ctl\"\n"), 0o644)
	e, out, errb := testEnv("", nil)
	if code := run([]string{"check-config", "-c", f}, e); code != exOK {
		t.Fatalf("exit %d: %s", code, errb)
	}
	var raw map[string]any
	if _, err := toml.Decode(stripComments(out.String()), &raw); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	eng := raw["engine"].([]map[string]any)[0]
	for k, want := range map[string]any{"timeout": "1m0s", "on_error": "tempfail", "connections": int64(2), "send": "both", "name": "clamav"} {
		if eng[k] != want {
			t.Errorf("engine key %s = %v, want %v", k, eng[k], want)
		}
	}
	// No file: the builtin engine and the shipped policy.
	e, _, errb = testEnv("", nil)
	if code := run([]string{"check-config", "-c", filepath.Join(dir, "none.toml")}, e); code != exCheckFail {
		t.Errorf("a missing file named with -c: exit %d: %s", code, errb)
	}
	raw = nil
	e, out, errb = testEnv("", nil)
	if code := checkConfigFile(filepath.Join(dir, "none.toml"), false, e); code != exOK {
		t.Fatalf("built-in defaults: exit %d: %s", code, errb)
	}
	if _, err := toml.Decode(stripComments(out.String()), &raw); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	engs, _ := raw["engine"].([]map[string]any)
	if len(engs) != 1 || engs[0]["type"] != "builtin" || engs[0]["on_error"] != "tempfail" {
		t.Errorf("built-in defaults: engines %v", raw["engine"])
	}
	if p, _ := raw["policy"].(map[string]any); p == nil || p["infected"] != "deny" {
		t.Errorf("built-in defaults: policy %v", raw["policy"])
	}
}

func stripComments(s string) string {
	var b strings.Builder
	for _, l := range strings.Split(s, "\n") {
		if !strings.HasPrefix(l, "#") {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

// FuzzKeyPathLine: any file and key give a line within the file, and
// never a panic.
func FuzzKeyPathLine(f *testing.F) {
	f.Add([]byte("[[engine]]\nname = \"a\"\n[[engine]]\ntype = \"x\"\n"), "engine[1].type")
	f.Add([]byte("[policy]\nfilename_rules = [\n]\n"), "policy.filename_rules[0]")
	f.Add([]byte("[a.b]\nc = 1 # x\n"), "a.b.c")
	f.Add([]byte("[[x]]\n[[x]]\n"), "x[9999999999999999999].y")
	f.Fuzz(func(t *testing.T, data []byte, key string) {
		n := keyPathLine(data, key)
		if lines := bytes.Count(data, []byte("\n")) + 1; n < 0 || n > lines {
			t.Fatalf("line %d of a %d-line file", n, lines)
		}
	})
}

// TestCheckConfigServeUser: a [serve] user that does not exist, or is
// root, is a warning naming the key (serve would not start as root);
// one that exists is not.
func TestCheckConfigServeUser(t *testing.T) {
	for name, warn := range map[string]bool{"sdnosuchuser": true, "root": true, "nobody": false} {
		f := filepath.Join(t.TempDir(), "c.toml")
		os.WriteFile(f, []byte("[log]\nsyslog = false\n[serve]\nuser = \""+name+"\"\n"), 0o644)
		e, _, errb := testEnv("", nil)
		code := run([]string{"check-config", "-c", f}, e)
		got := strings.Contains(errb.String(), `warning: `) && strings.Contains(errb.String(), `key "serve.user"`)
		if got != warn {
			t.Errorf("user %q: exit %d, stderr %q; want a warning: %v", name, code, errb, warn)
		}
	}
}

// TestCheckConfigCacheWarning: check-config writes the builtin engine's
// signature cache where it may, and warns, naming the key and the line,
// when the cache directory is not trusted (world-writable), since every
// delivery would then parse the databases' text.
func TestCheckConfigCacheWarning(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "x.hdb")
	os.WriteFile(db, []byte("44d88612fea8a8f36de82e1278abb02f:68:Test.Sig\n"), 0o644)
	good := filepath.Join(dir, "cache")
	bad := filepath.Join(dir, "open")
	os.Mkdir(bad, 0o755)
	os.Chmod(bad, 0o777)
	for _, c := range []struct {
		cache string
		warn  bool
	}{{good, false}, {bad, true}} {
		f := filepath.Join(dir, "s.toml")
		os.WriteFile(f, fmt.Appendf(nil, "[[engine]]\nname = \"b\"\ntype = \"builtin\"\ndatabases = [%q]\ncache_dir = %q\n", db, c.cache), 0o644)
		e, _, errb := testEnv("", nil)
		if code := run([]string{"check-config", "-c", f}, e); code != exOK {
			t.Fatalf("exit %d: %s", code, errb)
		}
		got := strings.Contains(errb.String(), `:5: key "engine[0].cache_dir"`) && strings.Contains(errb.String(), "not trusted")
		if got != c.warn {
			t.Errorf("cache_dir %s: warning %v, want %v: %s", c.cache, got, c.warn, errb)
		}
		if !c.warn {
			if m, _ := filepath.Glob(filepath.Join(good, "hashdb-*.cache")); len(m) != 1 {
				t.Errorf("check-config wrote no cache in %s", good)
			}
		}
	}
}
