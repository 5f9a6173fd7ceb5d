package unpack

import (
	"context"
	"os"
	"testing"
)

// TestDump prints the tree of the files named in $UNPACK_DUMP (separated
// by spaces) and is skipped without it; with UNPACK_JSON=1 it prints the
// JSON document. It is the way for a script to look at a message before
// `scandeliver scan` exists:
//
//	UNPACK_DUMP=msg.eml go test ./unpack -run TestDump -v
func TestDump(t *testing.T) {
	files := os.Getenv("UNPACK_DUMP")
	if files == "" {
		t.Skip("UNPACK_DUMP not set")
	}
	for _, name := range splitFields(files) {
		f, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		st, err := f.Stat()
		if err != nil {
			t.Fatal(err)
		}
		m, err := Unpack(context.Background(), f, st.Size(), Options{TempDir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		if os.Getenv("UNPACK_JSON") != "" {
			err = WriteJSON(os.Stdout, m)
		} else {
			err = WriteTree(os.Stdout, m)
		}
		if err != nil {
			t.Fatal(err)
		}
		m.Close()
		f.Close()
	}
}

func splitFields(s string) []string {
	var out []string
	start := -1
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ' ' || s[i] == '\n' {
			if start >= 0 {
				out = append(out, s[start:i])
				start = -1
			}
		} else if start < 0 {
			start = i
		}
	}
	return out
}
