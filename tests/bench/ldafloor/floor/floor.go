// Package floor is the least a delivery agent written in Go can do: copy
// stdin into a Maildir file, fsync it, link it into new/ and fsync new/.
// The commands plain and fixeddeps run it, without and with the modules
// the project brief fixes linked in; tests/bench/deliver.sh runs both next
// to procmail, as the floor any Go delivery agent pays here.
package floor

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// Main is the whole program: it delivers stdin into the Maildir named by
// the only argument and returns the exit code: 0, 64 (usage) or 75 (any
// failure).
func Main() int {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: "+filepath.Base(os.Args[0])+" MAILDIR < message")
		return 64
	}
	if err := deliver(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 75
	}
	return 0
}

func deliver(md string) error {
	name := fmt.Sprintf("%d.P%d.floor", time.Now().UnixNano(), os.Getpid())
	tmp := filepath.Join(md, "tmp", name)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	if _, err := io.Copy(f, os.Stdin); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Link(tmp, filepath.Join(md, "new", name)); err != nil {
		return err
	}
	d, err := os.Open(filepath.Join(md, "new"))
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
