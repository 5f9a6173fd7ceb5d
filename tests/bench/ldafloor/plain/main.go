// Command plain is the least a delivery agent written in Go can do: copy
// stdin into a Maildir file, fsync it, link it into new/ and fsync new/.
// tests/bench/deliver.sh runs it next to procmail as a reference: it is
// the floor the Go runtime alone sets, with no configuration, no parsing
// and no scanning.
//
//	plain MAILDIR < message
package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: plain MAILDIR < message")
		os.Exit(64)
	}
	if err := deliver(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(75)
	}
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
