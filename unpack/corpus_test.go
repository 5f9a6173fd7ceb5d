package unpack

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/scandeliver/scandeliver/tests/testenv"
)

func unpackFile(t testing.TB, name string, opt Options) *Message {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return unpackBytes(t, data, opt)
}

func unpackBytes(t testing.TB, data []byte, opt Options) *Message {
	t.Helper()
	if opt.TempDir == "" {
		opt.TempDir = t.TempDir()
	}
	m, err := Unpack(context.Background(), bytes.NewReader(data), int64(len(data)), opt)
	if err != nil {
		t.Fatalf("Unpack: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	checkInvariants(t, m, data)
	return m
}

// checkInvariants checks what must hold for every message: offsets nest
// and stay inside the message, paths are unique, pre-order is complete,
// sizes and hashes are consistent with Open.
func checkInvariants(t testing.TB, m *Message, data []byte) {
	t.Helper()
	seen := map[string]bool{}
	var count int
	var walk func(p, parent *Part)
	walk = func(p, parent *Part) {
		if p.Same != "" {
			if !seen[p.Same] {
				t.Errorf("part %s: the same as %s, which is not listed before it", p.Path, p.Same)
			}
			return
		}
		count++
		if p.Readers == 0 && p.Unscannable == "" {
			t.Errorf("part %s: read by no reader", p.Path)
		}
		if p.Ambiguous != (p.Readers != AllReaders) {
			t.Errorf("part %s: Ambiguous %v with readers %s", p.Path, p.Ambiguous, p.Readers)
		}
		if seen[p.Path] {
			t.Errorf("path %s twice", p.Path)
		}
		seen[p.Path] = true
		if p.HeaderStart >= 0 {
			if !(p.HeaderStart <= p.BodyStart && p.BodyStart <= p.End && p.End <= int64(len(data))) {
				t.Errorf("part %s: bad offsets %d %d %d (size %d)", p.Path, p.HeaderStart, p.BodyStart, p.End, len(data))
			}
			if parent != nil && parent.HeaderStart >= 0 && (p.HeaderStart < parent.BodyStart || p.End > parent.End) {
				t.Errorf("part %s [%d,%d) outside parent %s [%d,%d)", p.Path, p.HeaderStart, p.End, parent.Path, parent.BodyStart, parent.End)
			}
		}
		if !p.Container && p.SHA256 == "" && p.Unscannable == "" {
			t.Errorf("leaf %s without hash", p.Path)
		}
		for _, c := range p.Children {
			walk(c, p)
		}
		for _, a := range p.Alternatives {
			if a.Same == "" && a.Readers&p.Readers != 0 {
				t.Errorf("alternative %s (%s) shares readers with %s (%s)", a.Path, a.Readers, p.Path, p.Readers)
			}
			if a.HeaderStart != p.HeaderStart || a.End != p.End {
				t.Errorf("alternative %s [%d,%d) is not over the bytes of %s [%d,%d)", a.Path, a.HeaderStart, a.End, p.Path, p.HeaderStart, p.End)
			}
			walk(a, parent)
		}
	}
	walk(m.Root, nil)
	if count != len(m.Parts) {
		t.Errorf("tree has %d parts, Parts %d", count, len(m.Parts))
	}
}

// TestCorpus unpacks every message of the shared corpus: no panic, no
// error, invariants hold, and JSON and tree output work.
func TestCorpus(t *testing.T) {
	files := testenv.CorpusMessages(t)
	var parts, problems int
	for _, name := range files {
		m := unpackFile(t, name, Options{})
		parts += len(m.Parts)
		for _, p := range m.Parts {
			problems += len(p.Problems)
		}
		if err := WriteJSON(&bytes.Buffer{}, m); err != nil {
			t.Errorf("%s: WriteJSON: %v", name, err)
		}
		var tree bytes.Buffer
		if err := WriteTree(&tree, m); err != nil {
			t.Errorf("%s: WriteTree: %v", name, err)
		}
		for _, c := range tree.String() {
			if c < 0x20 && c != '\n' || c == 0x7f || c == 0x202e || c == 0x1b {
				t.Errorf("%s: tree output holds control character %U", name, c)
				break
			}
		}
	}
	t.Logf("%d messages, %d parts, %d problems", len(files), parts, problems)
}

// TestPythonAgrees compares the number of MIME entities (multiparts,
// leaves, embedded messages) of our reading for Python's email package
// (compat32) with Python's own on a sample of the corpus: one message in
// three.
func TestPythonAgrees(t *testing.T) {
	files := testenv.CorpusMessages(t)
	py, err := exec.LookPath("python3")
	if err != nil {
		testenv.Missing(t, "python3 not found")
	}
	var sample []string
	for i, f := range files {
		if i%3 == 0 {
			sample = append(sample, f)
		}
	}
	cmd := exec.Command(py, "testdata/pycount.py")
	cmd.Stdin = strings.NewReader(strings.Join(sample, "\n") + "\n")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python: %v", err)
	}
	want := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		n, name, _ := strings.Cut(sc.Text(), "\t")
		c, _ := strconv.Atoi(n)
		want[name] = c
	}
	var agree int
	var report []string
	for _, name := range sample {
		w, ok := want[name]
		if !ok || w < 0 {
			continue
		}
		m := unpackFile(t, name, Options{})
		// The parts of our model of compat32's reading.
		got := 0
		for _, p := range m.Parts {
			if (p.Origin == OriginMIME || p.Origin == OriginRFC822) && p.Readers&ReaderPyCompat32 != 0 {
				got++
			}
		}
		rel, _ := filepath.Rel(testenv.Corpus(t), name)
		why, known := knownDivergences[rel]
		switch {
		case got == w && known:
			t.Errorf("%s: listed as diverging (%s) but agrees with Python (%d parts)", rel, why, got)
		case got == w:
			agree++
		case known:
			t.Logf("%s: we %d, python %d: %s", rel, got, w, why)
		default:
			report = append(report, fmt.Sprintf("%s: we %d, python %d", rel, got, w))
		}
	}
	t.Logf("%d agree with Python, %d known divergences", agree, len(knownDivergences))
	for _, r := range report {
		t.Error(r)
	}
}

// Reasons why we split differently from Python's email package.
const (
	pyFolding = "Python (compat32) keeps the line break of a folded boundary parameter, so it never finds the boundary; we unfold (RFC 5322 section 2.2.3) as mail clients do"
	pyEmpty   = "delimiters in a row: Python drops the empty parts between them, we keep each as an empty part (RFC 2046 section 5.1.1 makes each one a body part)"
	pyBase64  = "an encoded message/rfc822 part: Python leaves it undecoded, we decode it and open the message inside"
)

// knownDivergences lists the sampled messages we split differently from
// Python, with the reason; each must really differ.
var knownDivergences = map[string]string{
	"messages/james-mime4j/mimetools-testmsgs/multi-digest.msg":             pyFolding,
	"messages/cpython-email/msg_37.txt":                                     pyEmpty,
	"messages/mail-mime-parser/m0021.txt":                                   pyFolding,
	"messages/stalwart-mail-parser/thirdparty/012.eml":                      pyFolding,
	"messages/james-mime4j/testmsgs/bad-newlines-multiple-parts-base64.msg": pyBase64,
	"messages/james-mime4j/testmsgs/base64encoded-rfc822message-nested.msg": pyBase64,
}
