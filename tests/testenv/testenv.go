// Package testenv is shared by the project's tests: where the shared
// corpus lives, and whether a missing engine or corpus is a skip (a
// developer's machine) or a failure (CI, where SCANDELIVER_CI is set).
package testenv

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// CI reports whether the tests run under CI (SCANDELIVER_CI non-empty).
// Under CI, tests that need the shared corpus or a real engine must fail
// when it is missing instead of skipping.
func CI() bool { return os.Getenv("SCANDELIVER_CI") != "" }

// Root returns the repository root (the directory holding go.mod).
func Root() string {
	dir, err := os.Getwd()
	if err != nil {
		return "."
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
		if filepath.Dir(d) == d {
			return dir
		}
	}
}

// Shared returns the shared material directory: $SCANDELIVER_SHARED, else
// ../shared next to the repository. When it is absent the test is skipped
// with a clear message, or fails under CI.
func Shared(t testing.TB) string {
	t.Helper()
	d := os.Getenv("SCANDELIVER_SHARED")
	if d == "" {
		d = filepath.Join(filepath.Dir(Root()), "shared")
	}
	if _, err := os.Stat(filepath.Join(d, "corpus", "MANIFEST.tsv")); err != nil {
		Missing(t, "shared corpus not found at "+d+" (set SCANDELIVER_SHARED)")
	}
	return d
}

// Corpus returns Shared(t)/corpus.
func Corpus(t testing.TB) string {
	t.Helper()
	return filepath.Join(Shared(t), "corpus")
}

// Env returns the value of an environment variable that a test needs (an
// engine's address, say). Unset, the test is skipped, or fails under CI.
func Env(t testing.TB, name string) string {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		Missing(t, name+" is not set (the README's test command starts the engines and sets it)")
	}
	return v
}

// Missing skips the test with why, or fails it under CI.
func Missing(t testing.TB, why string) {
	t.Helper()
	if CI() {
		t.Fatalf("required under CI: %s", why)
	}
	t.Skip(why)
}

// CorpusMessages lists the single messages of the shared corpus
// (corpus/messages/...), failing when fewer than 1,000 are found.
func CorpusMessages(t testing.TB) []string {
	t.Helper()
	root := filepath.Join(Corpus(t), "messages")
	var files []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 1000 {
		t.Fatalf("only %d messages in the corpus at %s", len(files), root)
	}
	return files
}

// BuildBinary builds scandeliver as it ships (CGO_ENABLED=0) into dir,
// made 0755 like the binary so that a test user can run it after -d
// drops root, and returns its path. TestMain functions call it once.
func BuildBinary(dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "scandeliver")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/scandeliver")
	cmd.Dir = Root()
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/scandeliver: %v\n%s", err, out)
	}
	return bin, os.Chmod(bin, 0o755)
}

// RunWithBinary is a TestMain for packages that run the binary: it builds
// it (BuildBinary) into a temporary directory, stores its path in *bin,
// runs setup when not nil, then the tests, and removes the directory. It
// returns the exit code for os.Exit.
func RunWithBinary(m *testing.M, bin *string, setup func() error) int {
	dir, err := os.MkdirTemp("", "scandeliver-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	if *bin, err = BuildBinary(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if setup != nil {
		if err := setup(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	return m.Run()
}

// User is a local user made by NewUser.
type User struct {
	Name, Home string
	Uid, Gid   int
}

// NewUser creates a local user with its own group and a home under base
// (useradd(8); needs root: skips, or fails under CI, without) and removes
// it when the test ends.
func NewUser(t testing.TB, base, prefix string) User {
	t.Helper()
	if os.Geteuid() != 0 {
		Missing(t, "needs root: it creates local users (useradd)")
	}
	if _, err := exec.LookPath("useradd"); err != nil {
		Missing(t, "useradd not found (Debian package passwd)")
	}
	var r [3]byte
	rand.Read(r[:])
	name := prefix + hex.EncodeToString(r[:])
	home := filepath.Join(base, "home", name)
	if err := os.MkdirAll(filepath.Dir(home), 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("useradd", "--create-home", "--home-dir", home, "--shell", "/bin/sh", "--user-group", name).CombinedOutput()
	if err != nil {
		t.Fatalf("useradd %s: %v: %s", name, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("userdel", name).CombinedOutput(); err != nil {
			t.Errorf("userdel %s: %v: %s", name, err, out)
		}
	})
	u, err := user.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return User{Name: name, Home: home, Uid: uid, Gid: gid}
}

// Result is what a command run by Run did, and what it cost: CPU time
// (user and system) and peak resident memory from the kernel's rusage of
// the child, and the elapsed time.
type Result struct {
	Code           int
	Stdout, Stderr string
	CPU, Wall      time.Duration
	MaxRSS         int64 // bytes
}

// Run runs cmd with stdin as its standard input and returns its exit
// status, output and cost. A command that could not be run fails the
// test.
func Run(t testing.TB, cmd *exec.Cmd, stdin []byte) Result {
	t.Helper()
	cmd.Stdin = bytes.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	var ee *exec.ExitError
	code := 0
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running %v: %v", cmd.Args, err)
	}
	r := Result{Code: code, Stdout: out.String(), Stderr: errb.String(), Wall: wall}
	if ps := cmd.ProcessState; ps != nil {
		r.CPU = ps.UserTime() + ps.SystemTime()
		if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
			r.MaxRSS = ru.Maxrss << 10 // kilobytes on Linux
		}
	}
	return r
}
