package main

import (
	"strings"

	"github.com/scandeliver/scandeliver/pipeline"
)

// The annotated example configuration, etc/scandeliver.toml, is written
// by confdoc from the values below and confdoc/docs.go (TestReference).

const exampleHeader = `# scandeliver.toml: annotated example configuration.
#
# Written from the configuration structs and confdoc/docs.go (the same
# text as scandeliver.toml(5)); do not edit: edit confdoc/docs.go, then run
#   go test ./cmd/scandeliver -run TestReference -update
#
# Install as /etc/scandeliver/scandeliver.toml (install.sh never overwrites
# an existing one). Every key is optional: a missing key keeps the built-in
# default shown here, and a missing file means all the defaults. Unknown
# keys are errors (with the file, line and key), and a configuration error
# defers mail (exit 75) until it is fixed: check with
#   scandeliver check-config -c /etc/scandeliver/scandeliver.toml
`

// exampleConfig is what the example shows: the built-in defaults, with
// the policy's and the limits' shipped values, and the spool directory
// install.sh creates.
func exampleConfig() Config {
	c := defaultConfig()
	c.Spool.Dir = "/var/spool/scandeliver/tmp"
	c.Policy = c.Policy.WithDefaults()
	c.Limits = c.Limits.WithDefaults()
	c.Engines = pipeline.DefaultEngines()
	c.Notify.Sendmail = []string{"/usr/sbin/sendmail"}
	c.Notify.Lang = "en"
	c.Scan.Budget = pipeline.Duration(pipeline.DefaultBudget)
	// The zero values that mean a default, shown as the default.
	e := c.Effective()
	c.Notify, c.HTML, c.Headers = e.Notify, e.HTML, e.Headers
	return c
}

// engineExamples are commented [[engine]] tables (TestReference builds
// each).
var engineExamples = []string{
	`# ClamAV's clamd; several addresses fail over in order.
# [[engine]]
# name = "clamav"
# type = "clamd"
# address = ["unix:/run/clamav/clamd.ctl", "tcp:scan1.example.net:3310"]
# timeout = "60s"
# on_error = "tempfail"
# send = "both"
`,
	`# SpamAssassin's spamd (spamc protocol).
# [[engine]]
# name = "spamassassin"
# type = "spamd"
# address = "tcp:127.0.0.1:783"
# max_size = "500KB"
# on_error = "pass"
`,
	`# rspamd.
# [[engine]]
# name = "rspamd"
# type = "rspamd"
# address = "tcp:127.0.0.1:11333"
`,
	`# Any command-line scanner, run without a shell on a file with a safe name.
# [[engine]]
# name = "yara"
# type = "command"
# command = ["/usr/bin/yara", "-w", "/etc/yara/rules.yar", "{}"]
# infected = [0]
# clean = [1]
# signature_pattern = '^(\S+) '
`,
}

var exampleTrailer = map[string]string{
	"engine": "\n" + strings.Join(engineExamples, "\n"),
	"ruleset": `# [[ruleset]]
# name = "sales"
# match.domain = ["sales.example.org"]
# [ruleset.policy]
# notify_sender = true
`,
}
