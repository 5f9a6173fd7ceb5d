package html

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	xhtml "golang.org/x/net/html"
)

// FuzzDisarm: no panic; an error is always ErrUnscannable and writes
// nothing; the output parses, holds no active content, and disarming it
// again changes nothing.
func FuzzDisarm(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.html")
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data, false)
	}
	f.Add([]byte(`<a href="http://0x7f.1/">http://127.0.0.1</a>`), true)
	f.Fuzz(func(t *testing.T, in []byte, block bool) {
		opt := Options{BlockRemoteContent: block}
		var out bytes.Buffer
		var rep Report
		var err error
		done := make(chan struct{})
		go func() {
			defer close(done)
			rep, err = Disarm(t.Context(), &out, bytes.NewReader(in), opt)
		}()
		select {
		case <-done:
		case <-time.After(4 * DefaultTimeout):
			// Disarm must keep to its budget: a hang is a bug.
			t.Fatalf("Disarm still running after %v on %q", 4*DefaultTimeout, in)
		}
		if err != nil {
			if !errors.Is(err, ErrUnscannable) {
				t.Fatalf("error not ErrUnscannable: %v", err)
			}
			if out.Len() != 0 {
				t.Fatalf("error after writing %d bytes", out.Len())
			}
			return
		}
		if !rep.Changed {
			if !bytes.Equal(out.Bytes(), in) {
				t.Fatalf("unchanged, but the output differs")
			}
			return
		}
		doc, err := xhtml.ParseWithOptions(bytes.NewReader(out.Bytes()), xhtml.ParseOptionEnableScripting(false))
		if err != nil {
			t.Fatalf("output does not parse: %v", err)
		}
		if bad := activeContent(doc, opt); bad != "" {
			t.Fatalf("%s left in output %q", bad, out.Bytes())
		}
		checkIdempotent(t, out.Bytes(), opt)
	})
}
