package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/scandeliver/scandeliver/confdoc"
	"github.com/scandeliver/scandeliver/pipeline"
	"github.com/scandeliver/scandeliver/scan"
)

var update = flag.Bool("update", false, "rewrite etc/scandeliver.toml and the key reference of man/scandeliver.toml.5 from confdoc")

const (
	manBegin = `.\" The key reference below is written by confdoc from confdoc/docs.go:` + "\n" +
		`.\" edit it there, then: go test ./cmd/scandeliver -run TestReference -update` + "\n"
	manEnd = `.\" End of the key reference written by confdoc.` + "\n"
)

// TestReference: the configuration reference has one source. Every key
// of the configuration structs is documented in confdoc/docs.go and
// every documented key exists; the key list of scandeliver.toml(5) and
// the annotated example etc/scandeliver.toml are what confdoc writes from
// them (-update rewrites both); the example is a valid configuration that
// check-config accepts, and its engine examples build.
func TestReference(t *testing.T) {
	for _, err := range confdoc.Check(reflect.TypeOf(Config{})) {
		t.Error(err)
	}
	root := filepath.Join("..", "..")

	// The man page: the region between the markers.
	manPath := filepath.Join(root, "man", "scandeliver.toml.5")
	man, err := os.ReadFile(manPath)
	if err != nil {
		t.Fatal(err)
	}
	var keys bytes.Buffer
	confdoc.Man(&keys)
	i, j := bytes.Index(man, []byte(manBegin)), bytes.Index(man, []byte(manEnd))
	if i < 0 || j < i {
		t.Fatalf("%s lacks the markers of the generated key reference", manPath)
	}
	want := append(append(append([]byte{}, man[:i+len(manBegin)]...), keys.Bytes()...), man[j:]...)
	check(t, manPath, man, want)

	// The example.
	exPath := filepath.Join(root, "etc", "scandeliver.toml")
	old, err := os.ReadFile(exPath)
	if err != nil {
		t.Fatal(err)
	}
	var ex bytes.Buffer
	confdoc.Write(&ex, exampleConfig(), confdoc.Options{Header: exampleHeader, MaxValue: 160, Trailer: exampleTrailer})
	check(t, exPath, old, ex.Bytes())

	// It is a configuration check-config accepts, and means the defaults.
	cfg, err := loadConfig(exPath, true)
	if err != nil {
		t.Fatalf("the example does not load: %v", err)
	}
	if _, errs, _ := pipeline.Check(cfg, exPath); len(errs) > 0 {
		t.Errorf("check-config refuses the example: %v", errs)
	}
	// Every engine example builds.
	for _, ex := range engineExamples {
		c := defaultConfig()
		_, data, _ := strings.Cut(ex, "\n") // the description
		data = strings.TrimPrefix(strings.ReplaceAll(data, "\n# ", "\n"), "# ")
		if err := decodeConfig("example", []byte(data), &c); err != nil {
			t.Errorf("engine example does not decode: %v\n%s", err, data)
			continue
		}
		for _, e := range c.Engines {
			if _, err := scan.New(e); err != nil {
				t.Errorf("engine example %q: %v", e.Name, err)
			}
		}
	}
}

func check(t *testing.T, path string, have, want []byte) {
	t.Helper()
	if bytes.Equal(have, want) {
		return
	}
	if *update {
		if err := os.WriteFile(path, want, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("rewrote %s", path)
		return
	}
	hl, wl := strings.Split(string(have), "\n"), strings.Split(string(want), "\n")
	for k := 0; k < len(hl) || k < len(wl); k++ {
		var h, w string
		if k < len(hl) {
			h = hl[k]
		}
		if k < len(wl) {
			w = wl[k]
		}
		if h != w {
			t.Errorf("%s differs from what confdoc writes, first at line %d:\n have %q\n want %q\n"+
				"Its key reference is written from confdoc/docs.go: make the change there (-update would undo one made in %s), then\n"+
				"  go test ./cmd/scandeliver -run TestReference -update", path, k+1, h, w, filepath.Base(path))
			return
		}
	}
}
