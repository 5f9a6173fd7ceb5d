package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scandeliver/scandeliver/tests/testenv"
)

// TestInstallDestdir runs install.sh into a DESTDIR twice (the second
// time over an edited configuration, which must be kept), checks what it
// installed and printed, then uninstalls.
func TestInstallDestdir(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		testenv.Missing(t, "go not in PATH")
	}
	dest := t.TempDir()
	install := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("sh", append([]string{filepath.Join(testenv.Root(), "install.sh"), "--destdir", dest, "--prefix", "/usr"}, args...)...)
		cmd.Dir = t.TempDir() // not the repository: install.sh finds it itself
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("install.sh %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	out := install()
	for _, want := range []string{
		`mailbox_command = /usr/bin/scandeliver -a "$RECIPIENT"`,
		"define(`LOCAL_MAILER_ARGS', `scandeliver -f $g -d $u')",
		`"|exec /usr/bin/scandeliver || exit 75"`,
		`*/20 * * * * root out=$(/usr/bin/scandeliver selftest 2>&1) || echo "$out"`,
		"root /usr/bin/scandeliver quarantine purge --older-than 30d",
		"installed " + dest + "/etc/scandeliver/scandeliver.toml",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("install.sh output lacks %q:\n%s", want, out)
		}
	}
	files := []string{
		"usr/bin/scandeliver", "usr/share/man/man1/scandeliver.1", "usr/share/man/man5/scandeliver.toml.5",
		"usr/share/man/man8/scandeliver.8", "etc/systemd/system/scandeliver.service",
		"usr/share/doc/scandeliver/scandeliver.toml.example", "etc/scandeliver/scandeliver.toml",
		"usr/share/scandeliver/templates/en/postmaster.tmpl", "usr/share/scandeliver/templates/fr/sender.tmpl",
		"usr/share/scandeliver/templates/fr/reasons.txt",
	}
	for _, f := range files {
		if _, err := os.Stat(filepath.Join(dest, f)); err != nil {
			t.Error(err)
		}
	}
	tmpls, _ := filepath.Glob(filepath.Join(testenv.Root(), "notify/templates/*/*.tmpl"))
	got, _ := filepath.Glob(filepath.Join(dest, "usr/share/scandeliver/templates/*/*.tmpl"))
	if len(got) != len(tmpls) || len(got) == 0 {
		t.Errorf("%d templates installed, want %d", len(got), len(tmpls))
	}
	for dir, want := range map[string]os.FileMode{
		"var/spool/scandeliver/tmp":        0o777 | os.ModeSticky,
		"var/spool/scandeliver/quarantine": 0o773 | os.ModeSticky | os.ModeSetgid,
	} {
		fi, err := os.Stat(filepath.Join(dest, dir))
		if err != nil {
			t.Error(err)
			continue
		}
		if m := fi.Mode() & (os.ModePerm | os.ModeSticky | os.ModeSetgid); m != want {
			t.Errorf("%s: mode %v, want %v", dir, m, want)
		}
	}
	// The installed binary runs.
	if b, err := exec.Command(filepath.Join(dest, "usr/bin/scandeliver"), "version").CombinedOutput(); err != nil || !strings.HasPrefix(string(b), "scandeliver ") {
		t.Errorf("installed binary: %v %s", err, b)
	}

	// A second install keeps an edited configuration.
	conf := filepath.Join(dest, "etc/scandeliver/scandeliver.toml")
	edited := "# edited by the postmaster\n[log]\nlevel = \"debug\"\n"
	if err := os.WriteFile(conf, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	out = install()
	if !strings.Contains(out, "kept the existing") {
		t.Errorf("second install does not say it kept the config:\n%s", out)
	}
	if b, _ := os.ReadFile(conf); string(b) != edited {
		t.Errorf("configuration overwritten: %q", b)
	}

	// Uninstall: everything installed goes, the configuration and the
	// spool stay.
	out = install("--uninstall")
	for _, f := range files[:4] {
		if _, err := os.Stat(filepath.Join(dest, f)); err == nil {
			t.Errorf("%s still there after --uninstall", f)
		}
	}
	if _, err := os.Stat(filepath.Join(dest, "usr/share/scandeliver")); err == nil {
		t.Errorf("usr/share/scandeliver still there after --uninstall")
	}
	if b, _ := os.ReadFile(conf); string(b) != edited {
		t.Errorf("--uninstall touched the configuration: %q", b)
	}
	if _, err := os.Stat(filepath.Join(dest, "var/spool/scandeliver/quarantine")); err != nil {
		t.Errorf("--uninstall removed the quarantine: %v", err)
	}
	if !strings.Contains(out, "Kept:") {
		t.Errorf("uninstall output: %s", out)
	}
}

// TestInstallPrefixFromEnv: PREFIX in the environment is honoured under
// --destdir (the README says PREFIX=/usr/local), and --prefix wins over
// it.
func TestInstallPrefixFromEnv(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		testenv.Missing(t, "go not in PATH")
	}
	for _, c := range []struct {
		args []string
		env  string
		want string
	}{
		{nil, "PREFIX=/opt/sd", "opt/sd/bin/scandeliver"},
		{[]string{"--prefix", "/usr"}, "PREFIX=/opt/sd", "usr/bin/scandeliver"},
		{nil, "", "usr/local/bin/scandeliver"},
	} {
		dest := t.TempDir()
		cmd := exec.Command("sh", append([]string{filepath.Join(testenv.Root(), "install.sh"), "--destdir", dest}, c.args...)...)
		cmd.Env = append(os.Environ(), "PREFIX=", "DESTDIR=")
		if c.env != "" {
			cmd.Env = append(cmd.Env, c.env)
		}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("install.sh %v (%s): %v\n%s", c.args, c.env, err, out)
		}
		if _, err := os.Stat(filepath.Join(dest, c.want)); err != nil {
			t.Errorf("install.sh %v (%s): %v", c.args, c.env, err)
		}
		if want := "mailbox_command = /" + strings.TrimSuffix(c.want, "/scandeliver") + "/scandeliver"; !strings.Contains(string(out), want) {
			t.Errorf("install.sh %v (%s) does not print %q:\n%s", c.args, c.env, want, out)
		}
	}
}

// TestInstallHelp: --help prints the usage comment and nothing of the
// script.
func TestInstallHelp(t *testing.T) {
	out, err := exec.Command("sh", filepath.Join(testenv.Root(), "install.sh"), "--help").CombinedOutput()
	if err != nil {
		t.Fatalf("install.sh --help: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "--destdir") {
		t.Errorf("install.sh --help does not show the options:\n%s", out)
	}
	for _, bad := range []string{"set -eu", "#", "prefix="} {
		if strings.Contains(string(out), bad) {
			t.Errorf("install.sh --help prints %q:\n%s", bad, out)
		}
	}
}

// TestInstallTellsTheTruth: what install.sh says about the quarantine's
// owner and mode is what the directory has, and the configuration it
// installs names the quarantine group (the example's group = "" would
// leave the group unable to read it).
func TestInstallTellsTheTruth(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		testenv.Missing(t, "go not in PATH")
	}
	dest := t.TempDir()
	// A group that does not exist: under --destdir nothing can be given
	// to it, and install.sh must say so.
	out, err := exec.Command("sh", filepath.Join(testenv.Root(), "install.sh"), "--destdir", dest, "--group", "sdnosuchgroup").CombinedOutput()
	if err != nil {
		t.Fatalf("install.sh: %v\n%s", err, out)
	}
	q := filepath.Join(dest, "var/spool/scandeliver/quarantine")
	st, err := exec.Command("stat", "-c", "%U:%G, mode %a", q).Output()
	if err != nil {
		t.Fatal(err)
	}
	actual := strings.TrimSpace(string(st))
	if strings.Contains(string(out), "(root:sdnosuchgroup") {
		t.Errorf("install.sh announces root:sdnosuchgroup, the directory is %s:\n%s", actual, out)
	}
	if !strings.Contains(string(out), "is "+actual) || !strings.Contains(string(out), "NOT root:sdnosuchgroup") {
		t.Errorf("install.sh does not say the quarantine is %s:\n%s", actual, out)
	}
	conf, err := os.ReadFile(filepath.Join(dest, "etc/scandeliver/scandeliver.toml"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(conf), "\ngroup = \"sdnosuchgroup\"\n") {
		t.Errorf("installed configuration does not set [quarantine] group:\n%s", conf)
	}
	if bytes.Contains(conf, []byte("\ngroup = \"\"")) {
		t.Errorf("installed configuration still has group = \"\"")
	}
}
