package pipeline

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/scandeliver/scandeliver/notify"
	"github.com/scandeliver/scandeliver/scan"
	"github.com/scandeliver/scandeliver/scan/builtin"
)

// The test strings are built in memory at run time by the builtin engine
// (builtin.Eicar, builtin.GTUBE), so that neither the repository, the
// binary nor the disk holds them in clear (other scanners would flag or
// strip them).

// testMessage is a small RFC 5322 message whose text body is payload.
func testMessage(subject string, payload []byte) []byte {
	var b bytes.Buffer
	b.WriteString("From: scandeliver selftest <postmaster@localhost>\n")
	b.WriteString("To: postmaster@localhost\n")
	b.WriteString("Subject: " + subject + "\n")
	b.WriteString("Date: " + time.Now().UTC().Format(time.RFC1123Z) + "\n")
	b.WriteString("Message-ID: <selftest." + fmt.Sprint(time.Now().UnixNano()) + "@localhost>\n")
	b.WriteString("MIME-Version: 1.0\nContent-Type: text/plain; charset=us-ascii\n\n")
	b.Write(payload)
	b.WriteString("\n")
	return b.Bytes()
}

func memObject(id string, raw bool, b []byte) scan.Object {
	return scan.Object{ID: id, Raw: raw, Size: int64(len(b)),
		Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }}
}

// testObjects returns what an engine of kind k is given: for a virus
// engine EICAR alone (as a part) and in a message (as the raw message),
// so that an engine sent either finds it; for a spam engine a message
// carrying GTUBE. The engine's send setting picks among them.
func testObjects(k scan.Kind) []scan.Object {
	if k == scan.Spam {
		return []scan.Object{memObject(scan.RawID, true, testMessage("scandeliver selftest (GTUBE)", builtin.GTUBE()))}
	}
	e := builtin.Eicar()
	return []scan.Object{
		memObject(scan.RawID, true, testMessage("scandeliver selftest (EICAR)", e)),
		memObject("selftest", false, e),
	}
}

// Probe is one engine's answer to its test objects.
type Probe struct {
	Engine string
	Kind   scan.Kind
	OK     bool
	// Down: the engine could not answer at all (not running, timed out):
	// not the same news as an engine that answers without detecting.
	Down   bool
	Detail string // what it said, escaped for a terminal or a log
	Took   time.Duration
}

// ProbeEngine sends an engine its test objects: a virus engine must call
// every object it takes infected, a spam engine must call GTUBE spam.
func ProbeEngine(ctx context.Context, e scan.Engine) Probe {
	p := Probe{Engine: e.Name(), Kind: e.Kind()}
	start := time.Now()
	vs, err := e.Scan(ctx, testObjects(e.Kind()), scan.Envelope{Sender: "postmaster@localhost", Recipients: []string{"postmaster@localhost"}, User: "postmaster"})
	p.Took = time.Since(start)
	want, test := scan.Infected, "EICAR"
	if e.Kind() == scan.Spam {
		want, test = scan.IsSpam, "GTUBE"
	}
	switch {
	case err != nil:
		p.Down = true
		p.Detail = "could not answer: " + notify.Escape(err.Error())
		return p
	case len(vs) == 0:
		p.Detail = "took none of the test objects (check its send and max_size settings)"
		return p
	}
	var got, bad []string
	for _, v := range vs {
		s := v.Object + " " + string(v.Status)
		switch {
		case v.Signature != "":
			s += " " + v.Signature
		case v.Kind == scan.Spam && v.Status == scan.IsSpam:
			s += fmt.Sprintf(" %.1f/%.1f", v.Score, v.Threshold)
		case v.Reason != "":
			s += " (" + v.Reason + ")"
		}
		got = append(got, notify.Escape(s))
		if v.Status != want {
			bad = append(bad, notify.Escape(s))
		}
	}
	if len(bad) > 0 {
		p.Detail = test + " not detected: " + strings.Join(bad, ", ")
		return p
	}
	p.OK = true
	p.Detail = test + " detected: " + strings.Join(got, ", ")
	return p
}
