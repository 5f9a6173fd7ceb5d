package main

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/scandeliver/scandeliver/pipeline"
	"github.com/scandeliver/scandeliver/unpack"
)

func TestExampleConfigDecodesStrictly(t *testing.T) {
	path := filepath.Join("..", "..", "etc", "scandeliver.toml")
	cfg, err := loadConfig(path, true)
	if err != nil {
		t.Fatalf("the shipped example does not decode: %v", err)
	}
	// The example documents the defaults: apart from the spool directory
	// that install.sh creates, the notify and engine tables it spells
	// out, it must say exactly what the code does.
	want := defaultConfig()
	want.Spool.Dir = "/var/spool/scandeliver/tmp"
	want.Engines = pipeline.DefaultEngines()
	want.Notify.Sendmail = []string{"/usr/sbin/sendmail"}
	want.Notify.Lang = "en"
	want.Scan.Budget = pipeline.Duration(pipeline.DefaultBudget)
	e := want.Effective()
	want.Notify, want.HTML, want.Headers = e.Notify, e.HTML, e.Headers
	lim := unpack.Limits{}.WithDefaults()
	if cfg.Limits != lim {
		t.Errorf("example [limits] %+v differ from the defaults %+v", cfg.Limits, lim)
	}
	want.Limits = cfg.Limits
	// The example spells out the policy's shipped scalars (its lists are
	// too long to be written out): the same policy once defaults apply.
	if !reflect.DeepEqual(cfg.Policy.WithDefaults(), want.Policy.WithDefaults()) {
		t.Errorf("example [policy] differs from the shipped policy")
	}
	want.Policy = cfg.Policy
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("example config and built-in defaults differ:\nexample  %+v\ndefaults %+v", cfg, want)
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name, text  string
		line        int
		key, errSub string
	}{
		{"unknown key", "[deliver]\ndefault = \"~/Maildir/\"\ndefualt = \"x\"\n", 3, "deliver.defualt", "unknown key"},
		{"unknown table", "[log]\nsyslog = false\n\n[delivr]\ndefault = \"x\"\n", 4, "delivr", "unknown key"},
		{"bad size", "[spool]\nmemory = \"lots\"\n", 2, "", "invalid size"},
		{"bad duration", "[deliver]\nlock_timeout = \"soon\"\n", 2, "", "invalid duration"},
		{"wrong type", "[log]\nsyslog = \"yes\"\n", 2, "log.syslog", "incompatible types"},
		{"syntax", "[deliver\n", 2, "", ""},
		{"bad level", "[log]\nlevel = \"loud\"\n", 2, "log.level", "not one of"},
		{"empty default", "[deliver]\ndefault = \"\"\n", 2, "deliver.default", "must not be empty"},
		{"bad filename rule", "[policy]\ninfected = \"deny\"\nfilename_rules = [{ action = \"deny\", pattern = '(' }]\n", 3, "policy.filename_rules[0]", "pattern"},
		{"bad ruleset pattern", "[[ruleset]]\nname = \"a\"\n[ruleset.policy]\ninfected = \"deny\"\n[[ruleset]]\nname = \"b\"\n[ruleset.policy]\nfilename_rules = [{ action = \"deny\", pattern = '(' }]\n", 8, "ruleset[1].policy.filename_rules[0]", "pattern"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "s.toml")
			if err := os.WriteFile(path, []byte(tc.text), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := loadConfig(path, true)
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("got %v, want a *ConfigError", err)
			}
			if ce.File != path || ce.Line != tc.line {
				t.Errorf("position %s:%d, want %s:%d (%v)", ce.File, ce.Line, path, tc.line, err)
			}
			if tc.key != "" && ce.Key != tc.key {
				t.Errorf("key %q, want %q", ce.Key, tc.key)
			}
			if !strings.Contains(err.Error(), tc.errSub) || !strings.HasPrefix(err.Error(), path) {
				t.Errorf("message %q lacks %q or the file name", err, tc.errSub)
			}
		})
	}
}

func TestConfigMissingFile(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope.toml")
	cfg, err := loadConfig(missing, false)
	if err != nil || !reflect.DeepEqual(cfg, defaultConfig()) {
		t.Errorf("missing default file: got %+v, %v; want the defaults", cfg, err)
	}
	if _, err := loadConfig(missing, true); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file named with -c: got %v, want not-exist error", err)
	}
}

func TestConfigOverridesKeyByKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.toml")
	os.WriteFile(path, []byte("[deliver]\nlock_timeout = \"5s\"\n[spool]\nmemory = \"64KB\"\n"), 0o644)
	cfg, err := loadConfig(path, true)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Deliver.Default != "~/Maildir/" || time.Duration(cfg.Deliver.LockTimeout) != 5*time.Second || cfg.Spool.Memory != 64<<10 {
		t.Errorf("got %+v", cfg)
	}
}

// parseSize reads a size as the configuration does.
func parseSize(s string) (int64, error) {
	var z pipeline.Size
	err := z.UnmarshalText([]byte(s))
	return int64(z), err
}

func TestParseSize(t *testing.T) {
	good := map[string]int64{"0": 0, "512": 512, "1KB": 1024, "1 kb": 1024, "20MB": 20 << 20, "1G": 1 << 30, "3B": 3}
	for in, want := range good {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
		if got, _ := parseSize(pipeline.Size(want).String()); got != want {
			t.Errorf("Size(%d).String() = %q does not round-trip", want, pipeline.Size(want).String())
		}
	}
	for _, in := range []string{"", "MB", "-1KB", "1.5MB", "12XB", "99999999999999GB"} {
		if _, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q) accepted", in)
		}
	}
}
