// Package docs checks that the documentation says what the code does and
// renders as written: the man pages, the README, --help and the
// repository itself, as a newcomer reads them.
package docs

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/scandeliver/scandeliver/tests/testenv"
)

var bin string

func TestMain(m *testing.M) { os.Exit(testenv.RunWithBinary(m, &bin, nil)) }

func mandoc(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("mandoc")
	if err != nil {
		testenv.Missing(t, "mandoc not installed (tests/run.sh installs it)")
	}
	return p
}

func manPages(t *testing.T) []string {
	t.Helper()
	pages, err := filepath.Glob(filepath.Join(testenv.Root(), "man", "*.[158]"))
	if err != nil || len(pages) == 0 {
		t.Fatalf("no man pages: %v", err)
	}
	return pages
}

// overstrike removes the backspace sequences of mandoc's terminal output
// (bold "x\bx", underline "_\bx").
var overstrike = regexp.MustCompile(".\x08")

// nestedQuote is an opening quote inside an open quote: what .Ql a , Ql b
// renders (‘a, ‘b’’), which mandoc -Tlint does not report.
var nestedQuote = regexp.MustCompile(`‘[^’]*‘|“[^”]*“`)

func TestManRenderedQuotes(t *testing.T) {
	m := mandoc(t)
	for _, page := range manPages(t) {
		out, err := exec.Command(m, "-Tutf8", page).Output()
		if err != nil {
			t.Fatalf("mandoc %s: %v", page, err)
		}
		text := overstrike.ReplaceAllString(string(out), "")
		for i, line := range strings.Split(text, "\n") {
			if nestedQuote.MatchString(line) {
				t.Errorf("%s: rendered line %d has nested quotes (one .Ql per line, inside .Po/.Pc): %s",
					filepath.Base(page), i+1, strings.TrimSpace(line))
			}
		}
	}
}

// cronLine finds a crontab line: five time fields, the user, the command.
var cronLine = regexp.MustCompile(`(?:^|[\s(])(?:[0-9*/,-]+\s+){5}root\s+(.*)`)

// bareCommand is scandeliver run without a path.
var bareCommand = regexp.MustCompile(`(^|[^/\w.-])scandeliver\s`)

// TestCronLinesUseFullPath: cron.d's PATH is /usr/bin:/bin, so every
// crontab example must name /usr/local/bin/scandeliver (or $PREFIX/bin).
func TestCronLinesUseFullPath(t *testing.T) {
	sources := map[string]string{}
	for _, f := range append(manPages(t), filepath.Join(testenv.Root(), "README.md")) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		sources[filepath.Base(f)] = string(b)
	}
	help, err := exec.Command(bin, "--help").Output()
	if err != nil {
		t.Fatalf("scandeliver --help: %v", err)
	}
	sources["--help"] = string(help)
	n := 0
	for name, text := range sources {
		for _, line := range strings.Split(text, "\n") {
			m := cronLine.FindStringSubmatch(line)
			if m == nil {
				continue
			}
			n++
			if bareCommand.MatchString(m[1]) {
				t.Errorf("%s: cron line runs a bare scandeliver (cron's PATH lacks /usr/local/bin): %s", name, strings.TrimSpace(line))
			}
		}
	}
	if n < 3 {
		t.Errorf("found only %d cron lines in the man pages, README and --help", n)
	}
}

// TestNoBinariesInGit: no executable or object file is committed (a
// stale 21 MB cmd/scandeliver/scandeliver was).
func TestNoBinariesInGit(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		testenv.Missing(t, "git not installed")
	}
	root := testenv.Root()
	out, err := exec.Command("git", "-C", root, "ls-files", "-z").Output()
	if err != nil {
		testenv.Missing(t, "not a git checkout: "+err.Error())
	}
	for _, f := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		fh, err := os.Open(filepath.Join(root, f))
		if err != nil {
			continue // deleted in the work tree
		}
		head := make([]byte, 4)
		n, _ := fh.Read(head)
		fh.Close()
		if bytes.Equal(head[:n], []byte("\x7fELF")) {
			t.Errorf("%s is an ELF binary committed to git", f)
		}
	}
	// A binary built where a newcomer builds it is ignored.
	for _, f := range []string{"scandeliver", "cmd/scandeliver/scandeliver"} {
		if err := exec.Command("git", "-C", root, "check-ignore", "-q", "--no-index", f).Run(); err != nil {
			t.Errorf("%s is not covered by .gitignore", f)
		}
	}
}

// runShPackages reads the Debian package list of tests/run.sh.
func runShPackages(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testenv.Root(), "tests", "run.sh"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?s)\npkgs=\(([^)]*)\)`).FindSubmatch(b)
	if m == nil {
		t.Fatal("tests/run.sh has no pkgs=(...) list")
	}
	return strings.Fields(string(m[1]))
}

// TestReadmeTestCommand: the README's test command runs as root without
// sudo (minimal Debian has none), and the README says what it installs,
// how long it takes and where the shared corpus comes from.
func TestReadmeTestCommand(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(testenv.Root(), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	mds, _ := filepath.Glob(filepath.Join(testenv.Root(), "tests", "*", "README.md"))
	for _, f := range append(mds, filepath.Join(testenv.Root(), "README.md")) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if regexp.MustCompile(`(?m)^\s*sudo\s`).Match(b) {
			t.Errorf("%s runs a command with sudo", f)
		}
	}
	if !regexp.MustCompile(`(?m)^\./tests/run\.sh$`).MatchString(readme) {
		t.Errorf("README does not give ./tests/run.sh as the test command")
	}
	for _, p := range runShPackages(t) {
		if !regexp.MustCompile(`\b` + regexp.QuoteMeta(p) + `\b`).MatchString(readme) {
			t.Errorf("README does not say that tests/run.sh installs %s", p)
		}
	}
	for _, want := range []string{"system-wide", "19 minutes", "../shared", "SCANDELIVER_SHARED", "go test ./..."} {
		if !strings.Contains(readme, want) {
			t.Errorf("README does not mention %q", want)
		}
	}
	if strings.Contains(readme, "seed") {
		t.Errorf("README mentions the seed: it describes this project only")
	}
}

// snake is a JSON key as the rest of the project writes them.
var snake = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// jsonKeys calls fn with every object key in v, recursively.
func jsonKeys(v any, path string, fn func(key, path string)) {
	switch v := v.(type) {
	case map[string]any:
		for k, c := range v {
			fn(k, path)
			jsonKeys(c, path+"."+k, fn)
		}
	case []any:
		for _, c := range v {
			jsonKeys(c, path+"[]", fn)
		}
	}
}

// TestScanJSONKeys: every key of `scandeliver scan --json` is snake_case
// (the verdicts' were Go's field names, "Engine", "Status").
func TestScanJSONKeys(t *testing.T) {
	out, err := exec.Command(bin, "scan", "--json", "-c", "/dev/null", filepath.Join(testenv.Root(), "testdata", "sample.eml")).Output()
	if err != nil {
		t.Fatalf("scandeliver scan --json: %v\n%s", err, out)
	}
	var doc any
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatalf("scan --json output: %v\n%s", err, out)
	}
	seen := map[string]bool{}
	jsonKeys(doc, "", func(k, path string) {
		seen[k] = true
		if !snake.MatchString(k) {
			t.Errorf("scan --json: key %q at %s is not snake_case", k, path)
		}
	})
	for _, want := range []string{"verdicts", "engine", "status", "kind"} {
		if !seen[want] {
			t.Errorf("scan --json: no key %q in %s", want, out)
		}
	}
}
