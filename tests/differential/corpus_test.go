package differential

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scandeliver/scandeliver/tests/testenv"
)

// TestCorpusReaders delivers every message of the shared corpus and reads
// the delivered copies with the four readers: none may obtain EICAR. A
// corpus message that leaks is listed in the known list as
// "corpus/PATH corpus READER", under the same rules as the seeded ones.
// Banned names obtained from corpus messages are logged, not failed: the
// corpus holds real mail, whose attachments a policy may let through.
func TestCorpusReaders(t *testing.T) {
	if testing.Short() {
		t.Skip("the whole corpus: not with -short")
	}
	files := testenv.CorpusMessages(t)
	root := filepath.Join(testenv.Corpus(t), "messages")
	e := newEnv(t)
	var rs []*result
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(root, f)
		rs = append(rs, &result{id: "corpus/" + rel, family: "corpus", raw: raw})
	}
	e.run(t, rs, false)
	actions := map[string]int{}
	names := 0
	for _, r := range rs {
		actions[r.d.action]++
		for reader, what := range r.leaks {
			if strings.HasPrefix(what, "name:") {
				names++
				t.Logf("%s: %s obtains %s (a banned name; not failed)", r.id, reader, what)
				delete(r.leaks, reader)
			}
		}
	}
	t.Logf("%d corpus messages: %v; %d banned names obtained", len(rs), actions, names)
	compare(t, loadKnown(t), rs)
}
