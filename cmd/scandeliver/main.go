// Command scandeliver is a mail-scanning local delivery agent: an MTA
// runs it once per message, with the message on standard input.
package main

import "os"

func main() { os.Exit(run(os.Args[1:], newSystemEnv())) }
