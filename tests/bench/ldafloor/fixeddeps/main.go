// Command fixeddeps is package floor with the modules the project brief
// fixes linked in and unused: go-message, go-maildir, BurntSushi/toml and
// mholt/archives. The difference from plain is what their package
// initialisation costs every process before it reads a byte.
//
//	fixeddeps MAILDIR < message
package main

import (
	"os"

	_ "github.com/BurntSushi/toml"
	_ "github.com/emersion/go-maildir"
	_ "github.com/emersion/go-message"
	_ "github.com/mholt/archives"

	"github.com/scandeliver/scandeliver/tests/bench/ldafloor/floor"
)

func main() { os.Exit(floor.Main()) }
