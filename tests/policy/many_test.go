package policy

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/scandeliver/scandeliver/scan/builtin"
)

// TestVirusAmongManyParts: an infected attachment is caught wherever it
// sits among other attachments, however many there are (the facts of
// the parts must not be lost as the list of parts grows).
func TestVirusAmongManyParts(t *testing.T) {
	for _, n := range []int{1, 2, 4, 7} {
		for pos := 0; pos < n; pos++ {
			t.Run(fmt.Sprintf("%d-attachments/eicar-at-%d", n, pos+1), func(t *testing.T) {
				var parts []string
				for i := 0; i < n; i++ {
					content := []byte(fmt.Sprintf("plain file %d\n", i))
					if i == pos {
						content = builtin.Eicar()
					}
					parts = append(parts, namedPart(fmt.Sprintf("file%d.txt", i), content))
				}
				b := newBox(t, "")
				r := b.deliver(t, mixed("several files", parts...), "alice@example.org")
				if r.code != 0 {
					t.Fatalf("exit %d: %s", r.code, r.stderr)
				}
				if v := logValue(r.stderr, "scan"); v != "infected" {
					t.Errorf("scan=%s, want infected; log: %s", v, r.stderr)
				}
				for _, d := range b.delivered(t) {
					if bytes.Contains(d.data, []byte(wrap64(builtin.Eicar())[:40])) {
						t.Errorf("the virus was delivered:\n%s", d.data)
					}
				}
			})
		}
	}
}
