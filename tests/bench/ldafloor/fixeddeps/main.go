// Command fixeddeps is tests/bench/ldafloor/plain (the least a delivery
// agent in Go can do: stdin into a Maildir file, fsync, link into new/,
// fsync new/) with the modules the project brief fixes linked in and
// unused: go-message, go-maildir, BurntSushi/toml and mholt/archives. The
// difference between the two is what their package initialisation costs
// every process before it reads a byte. tests/bench/deliver.sh runs both
// next to procmail.
//
//	fixeddeps MAILDIR < message
package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	_ "github.com/BurntSushi/toml"
	_ "github.com/emersion/go-maildir"
	_ "github.com/emersion/go-message"
	_ "github.com/mholt/archives"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: fixeddeps MAILDIR < message")
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
