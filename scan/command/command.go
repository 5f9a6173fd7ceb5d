// Package command runs a command-line virus scanner on one object at a
// time: the object is written to a file under a generated name in a
// private (0700) directory, the program runs with an argument list (no
// shell), and its exit code is looked up in a table. The signature name
// is taken from its output with a regular expression.
//
// Names from the message never reach the command line: the file is
// always called "object".
package command

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Status is what the exit code means.
type Status int

const (
	Clean Status = iota
	Infected
	Error
)

// Result is one run of the scanner.
type Result struct {
	Status    Status
	ExitCode  int
	Signature string // from Scanner.Pattern, when Infected
	Output    []byte // stdout and stderr, at most MaxOutput bytes
}

// Scanner is one configured program. The zero value of each field but
// Argv is its documented default.
type Scanner struct {
	Argv      []string       // "{}" in an argument is replaced by the file's path; without one the path is appended
	Clean     []int          // default [0]
	Infected  []int          // default [1]
	Pattern   *regexp.Regexp // signature: group 1 if present, else the whole match
	TempDir   string         // parent of the private directory; default os.TempDir()
	MaxOutput int            // default 64 KiB
}

// Scan writes the content from open to a private file and runs the
// scanner on it. An error means the scanner could not be run or did not
// finish (ctx ended: its whole process group is killed). An exit code
// in neither table is Status Error, not an error of Scan.
func (s *Scanner) Scan(ctx context.Context, open func() (io.ReadCloser, error)) (Result, error) {
	if len(s.Argv) == 0 {
		return Result{}, errors.New("command: empty argv")
	}
	// The directory is named after our pid, so that Sweep can tell one
	// left by a process that died (SIGKILL leaves it) from one in use.
	dir, err := os.MkdirTemp(s.TempDir, dirPrefix+strconv.Itoa(os.Getpid())+"-") // mode 0700
	if err != nil {
		return Result{}, fmt.Errorf("command: %w", err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "object")
	if err := writeObject(path, open); err != nil {
		return Result{}, fmt.Errorf("command: %w", err)
	}
	args := make([]string, 0, len(s.Argv)+1)
	placed := false
	for _, a := range s.Argv[1:] {
		if strings.Contains(a, "{}") {
			a = strings.ReplaceAll(a, "{}", path)
			placed = true
		}
		args = append(args, a)
	}
	if !placed {
		args = append(args, path)
	}
	cmd := exec.CommandContext(ctx, s.Argv[0], args...)
	cmd.Dir = dir
	cmd.Stdin = nil
	max := s.MaxOutput
	if max <= 0 {
		max = 64 << 10
	}
	out := &capped{max: max}
	cmd.Stdout, cmd.Stderr = out, out
	// Its own process group, so that a timeout kills the scanner and
	// whatever it started; and killed by the kernel when we die, however
	// we die (a SIGKILL runs none of our code: issue 12.4 found the
	// scanner left running). QUIRK: Pdeathsig follows the thread that
	// started the child, and the Go runtime does not end threads that
	// no goroutine has locked.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error {
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	cmd.WaitDelay = 2 * time.Second
	err = cmd.Run()
	res := Result{Output: out.Bytes()}
	if ctx.Err() != nil {
		return res, fmt.Errorf("command %s: %w", s.Argv[0], ctx.Err())
	}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee) && ee.Exited():
		res.ExitCode = ee.ExitCode()
	case errors.As(err, &ee):
		return res, fmt.Errorf("command %s: %v", s.Argv[0], ee) // killed by a signal
	default:
		return res, fmt.Errorf("command %s: %w", s.Argv[0], err)
	}
	clean, infected := s.Clean, s.Infected
	if clean == nil {
		clean = []int{0}
	}
	if infected == nil {
		infected = []int{1}
	}
	switch {
	case slices.Contains(infected, res.ExitCode):
		res.Status = Infected
		res.Signature = Signature(s.Pattern, res.Output)
	case slices.Contains(clean, res.ExitCode):
		res.Status = Clean
	default:
		res.Status = Error
	}
	return res, nil
}

// Signature extracts a signature name from a scanner's output: pattern's
// first group if it has one, else its whole match; "" without a match.
// The result is cut to one printable line.
func Signature(pattern *regexp.Regexp, out []byte) string {
	if pattern == nil {
		return ""
	}
	m := pattern.FindSubmatch(out)
	if m == nil {
		return ""
	}
	sig := m[0]
	if len(m) > 1 {
		sig = m[1]
	}
	s := strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return -1
		}
		return r
	}, string(sig))
	if len(s) > 200 {
		s = s[:200]
	}
	return strings.TrimSpace(s)
}

func writeObject(path string, open func() (io.ReadCloser, error)) error {
	rc, err := open()
	if err != nil {
		return fmt.Errorf("opening object: %w", err)
	}
	defer rc.Close()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, rc); err != nil {
		f.Close()
		return fmt.Errorf("writing object: %w", err)
	}
	return f.Close()
}

// capped keeps the first max bytes written and discards the rest.
type capped struct {
	bytes.Buffer
	max int
}

func (c *capped) Write(p []byte) (int, error) {
	if room := c.max - c.Len(); room > 0 {
		c.Buffer.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

// dirPrefix starts the name of each scan's private directory, followed by
// the pid of the process that made it and a random part.
const dirPrefix = "scandeliver-cmd-"

// staleUnnamed is the age past which a private directory without a pid in
// its name (made before names carried one) is removed by Sweep.
const staleUnnamed = 24 * time.Hour

// Sweep removes the private directories that scans of a process that has
// died left in dir ("" means os.TempDir()): a SIGKILL runs no deferred
// removal. It removes only directories of ours: named dirPrefix + pid,
// not symbolic links (Lstat), owned by our effective uid, mode 0700, and
// whose process is gone; their contents are removed without following
// symbolic links (os.RemoveAll). It returns how many it removed; what it
// cannot read or remove is left alone.
func Sweep(dir string, now time.Time) int {
	if dir == "" {
		dir = os.TempDir()
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return 0
	}
	n := 0
	for _, e := range ents {
		name := e.Name()
		if !strings.HasPrefix(name, dirPrefix) {
			continue
		}
		path := filepath.Join(dir, name)
		fi, err := os.Lstat(path)
		if err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o700 {
			continue
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok || int(st.Uid) != os.Geteuid() {
			continue
		}
		if !stale(strings.TrimPrefix(name, dirPrefix), fi.ModTime(), now) {
			continue
		}
		if os.RemoveAll(path) == nil {
			n++
		}
	}
	return n
}

// stale decides from what follows dirPrefix ("PID-random", or "random"
// for a directory of an older version) whether its process is gone.
func stale(rest string, mtime, now time.Time) bool {
	pidText, _, ok := strings.Cut(rest, "-")
	pid, err := strconv.Atoi(pidText)
	if !ok || err != nil || pid <= 0 {
		return now.Sub(mtime) > staleUnnamed
	}
	if pid == os.Getpid() {
		return false
	}
	// ESRCH: no such process. EPERM means it runs as someone else, so a
	// pid reused: left alone, as is a live one.
	return syscall.Kill(pid, 0) == syscall.ESRCH
}
