package scan

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scandeliver/scandeliver/scan/builtin"
	"github.com/scandeliver/scandeliver/tests/testenv"
)

// TestGTUBE: SpamAssassin's and rspamd's test string is scored as spam by
// the real daemons, and the message is delivered with the spam status.
func TestGTUBE(t *testing.T) {
	msg := []byte(header("GTUBE test", "text/plain; charset=us-ascii") +
		"This is the GTUBE, the\r\n\tGeneric\r\n\tTest for\r\n\tUnsolicited\r\n\tBulk\r\n\tEmail\r\n\r\n" + string(builtin.GTUBE()) + "\r\n")
	for _, typ := range []string{"spamd", "rspamd"} {
		t.Run(typ, func(t *testing.T) {
			addr := testenv.Env(t, "SCANDELIVER_"+strings.ToUpper(typ))
			b := newBox(t, "[[engine]]\nname = \""+typ+"\"\ntype = \""+typ+"\"\naddress = \""+addr+"\"\ntimeout = \"30s\"\non_error = \"tempfail\"\n")
			d, _ := scanJSON(t, msg, "-c", b.cfg)
			if !d.Spam {
				t.Errorf("scan: not spam: %+v %+v", d.Verdicts, d.Failed)
			}
			for _, v := range d.Verdicts {
				t.Logf("%s %s %s score=%.1f/%.1f", v.Engine, v.Object, v.Status, v.Score, v.Threshold)
			}
			r := b.deliver(t, msg)
			if r.code != 0 {
				t.Fatalf("exit %d, want 0; stderr: %s", r.code, r.stderr)
			}
			got := b.delivered(t)
			if len(got) != 1 {
				t.Fatalf("%d messages delivered, want 1", len(got))
			}
			h := headerOf(got[0])
			if !strings.Contains(h, "X-Scandeliver-Status: spam") {
				t.Errorf("no spam status header in:\n%s", h)
			}
			// A plain message is not spam: the header tells them apart.
			c := newBox(t, "[[engine]]\nname = \""+typ+"\"\ntype = \""+typ+"\"\naddress = \""+addr+"\"\n")
			if r := c.deliver(t, cleanMessage()); r.code != 0 {
				t.Fatalf("clean message: exit %d; stderr: %s", r.code, r.stderr)
			}
			for _, m := range c.delivered(t) {
				if strings.Contains(headerOf(m), "X-Scandeliver-Status: spam") {
					t.Errorf("a clean message was marked spam:\n%s", headerOf(m))
				}
			}
		})
	}
}

// TestSpamJunkMailbox: with [policy.spam] action = "junk" and [deliver]
// junk naming an mbox, spam goes there, tagged, and nothing to the inbox.
func TestSpamJunkMailbox(t *testing.T) {
	addr := testenv.Env(t, "SCANDELIVER_SPAMD")
	b := newBox(t, "[[engine]]\nname = \"spamd\"\ntype = \"spamd\"\naddress = \""+addr+"\"\ntimeout = \"30s\"\n")
	junk := filepath.Join(b.dir, "junk")
	f, err := os.OpenFile(b.cfg, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(f, "[deliver]\njunk = %q\n[policy.spam]\naction = \"junk\"\nhigh_threshold = -1.0 # GTUBE scores 1000: no quarantine\n", junk)
	f.Close()
	msg := []byte(header("GTUBE junk", "text/plain; charset=us-ascii") + "\r\n" + string(builtin.GTUBE()) + "\r\n")
	if r := b.deliver(t, msg); r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if got := b.delivered(t); len(got) != 0 {
		t.Errorf("spam reached the inbox: %d messages", len(got))
	}
	j, err := os.ReadFile(junk)
	if err != nil || !bytes.Contains(j, []byte("X-Scandeliver-Status: spam")) || !bytes.Contains(j, []byte("{Spam?}")) {
		t.Errorf("junk mailbox %s: %v\n%s", junk, err, j)
	}
}
