// Command plain is package floor alone: the least a delivery agent
// written in Go can do (stdin into a Maildir, durably), with no
// configuration, no parsing and no scanning.
//
//	plain MAILDIR < message
package main

import (
	"os"

	"github.com/scandeliver/scandeliver/tests/bench/ldafloor/floor"
)

func main() { os.Exit(floor.Main()) }
