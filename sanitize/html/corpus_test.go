package html

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/emersion/go-message"
	xhtml "golang.org/x/net/html"

	"github.com/scandeliver/scandeliver/tests/testenv"
)

// htmlPart is one HTML body found in the corpus.
type htmlPart struct {
	name    string
	charset string
	body    []byte
}

// corpusHTML walks the shared corpus: every text/html part of every
// message (and of every message in every mbox), and every .htm(l) file.
func corpusHTML(t *testing.T) []htmlPart {
	dir := testenv.Corpus(t)
	var parts []htmlPart
	err := filepath.WalkDir(dir, func(path string, de fs.DirEntry, err error) error {
		if err != nil || de.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		switch {
		case strings.HasPrefix(rel, "messages"+string(filepath.Separator)):
			parts = append(parts, messageHTML(rel, data)...)
		case strings.HasPrefix(rel, "mbox"+string(filepath.Separator)):
			for i, m := range splitMbox(data) {
				parts = append(parts, messageHTML(rel+"#"+itoa(i), m)...)
			}
		case strings.HasSuffix(strings.ToLower(rel), ".html"), strings.HasSuffix(strings.ToLower(rel), ".htm"):
			parts = append(parts, htmlPart{name: rel, body: data})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return parts
}

func itoa(i int) string {
	return strconv.Itoa(i)
}

// messageHTML does a small MIME walk with go-message. Malformed parts are
// skipped (the unpack stage has its own corpus tests); what we want are
// the HTML bodies.
func messageHTML(name string, data []byte) []htmlPart {
	var parts []htmlPart
	e, err := message.Read(bytes.NewReader(data))
	if e == nil || (err != nil && !message.IsUnknownCharset(err) && !message.IsUnknownEncoding(err)) {
		return nil
	}
	_ = e.Walk(func(path []int, ent *message.Entity, err error) error {
		if ent == nil {
			return nil
		}
		mt, params, _ := ent.Header.ContentType()
		if mt != "text/html" {
			return nil
		}
		body, _ := io.ReadAll(io.LimitReader(ent.Body, 16<<20))
		parts = append(parts, htmlPart{name: name, charset: params["charset"], body: body})
		return nil
	})
	return parts
}

// splitMbox splits on "From " lines (any mbox flavour is good enough to
// find HTML parts).
func splitMbox(data []byte) [][]byte {
	var msgs [][]byte
	var cur bytes.Buffer
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if bytes.HasPrefix(line, []byte("From ")) {
			if cur.Len() > 0 {
				msgs = append(msgs, bytes.Clone(cur.Bytes()))
			}
			cur.Reset()
			continue
		}
		cur.Write(line)
		cur.WriteString("\r\n")
	}
	if cur.Len() > 0 {
		msgs = append(msgs, cur.Bytes())
	}
	return msgs
}

// TestCorpus disarms every HTML part of the shared corpus: no panic, the
// output parses, and disarming it again changes nothing.
func TestCorpus(t *testing.T) {
	parts := corpusHTML(t)
	if len(parts) == 0 {
		t.Fatal("no HTML parts found in the corpus")
	}
	var changed, unscannable, scripts, handlers, bugs, phish int
	for _, p := range parts {
		opt := Options{Charset: p.charset}
		var out bytes.Buffer
		rep, err := Disarm(t.Context(), &out, bytes.NewReader(p.body), opt)
		if errors.Is(err, ErrUnscannable) {
			unscannable++
			t.Logf("%s: %v", p.name, err)
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", p.name, err)
			continue
		}
		if _, err := xhtml.Parse(bytes.NewReader(out.Bytes())); err != nil {
			t.Errorf("%s: output does not parse: %v", p.name, err)
		}
		if rep.Changed {
			changed++
			checkIdempotent(t, out.Bytes(), opt)
		} else if !bytes.Equal(out.Bytes(), p.body) {
			t.Errorf("%s: unchanged but output differs from input", p.name)
		}
		scripts += rep.Scripts
		handlers += rep.Handlers
		bugs += rep.WebBugs
		phish += rep.Phishing
		for _, l := range rep.PhishingLinks {
			t.Logf("%s: phishing %s: text %q href %q", p.name, l.Reason, l.Text, l.Href)
		}
	}
	t.Logf("%d HTML parts: %d changed, %d unscannable; %d scripts, %d handlers, %d web bugs, %d phishing links",
		len(parts), changed, unscannable, scripts, handlers, bugs, phish)
}
