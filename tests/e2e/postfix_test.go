package e2e

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

const sender = "alice@example.org"

// testMessage is a complete message: Postfix's cleanup adds no header
// of its own (Date, From, Message-ID present), so that what is
// delivered is the message as sent below the trace fields.
func testMessage(id, subject, body string) []byte {
	return []byte("Date: Fri, 27 Nov 2026 10:00:00 +0000\n" +
		"From: Alice <" + sender + ">\n" +
		"To: Test <" + User1 + "@" + DefaultDomain + ">\n" +
		"Subject: " + subject + "\n" +
		"Message-ID: <" + id + "@e2e.scandeliver.test>\n" +
		"MIME-Version: 1.0\n" +
		"Content-Type: text/plain; charset=us-ascii\n" +
		"\n" + body)
}

// fromLinesBody has what mbox delivery must quote, and what SMTP must
// stuff: "From " lines, already quoted ">From " lines, leading dots.
const fromLinesBody = `From the start of a line.
>From a quoted line.
>>From a twice quoted line.
.A leading dot
..two leading dots
.
From 
From
 From not at the start
last line without a newline`

// bigBody is about size bytes of printable lines (76 columns), some of
// them starting with "From " or ".", deterministic.
func bigBody(size int) string {
	r := rand.New(rand.NewPCG(1, 2))
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 "
	var b strings.Builder
	b.Grow(size + 100)
	line := make([]byte, 76)
	for n := 0; b.Len() < size; n++ {
		for i := range line {
			line[i] = alphabet[r.IntN(len(alphabet))]
		}
		switch n % 1000 {
		case 17:
			copy(line, "From ")
		case 503:
			line[0] = '.'
		}
		b.Write(line)
		b.WriteByte('\n')
	}
	return b.String()
}

// splitTrace separates the trace fields on top of a delivered message
// (those an MTA or LDA prepends) from the message proper, which starts
// with the sent message's first line.
func splitTrace(t *testing.T, got, sent []byte) (trace []string, rest []byte) {
	t.Helper()
	first := sent[:bytes.IndexByte(sent, '\n')+1]
	for len(got) > 0 && !bytes.HasPrefix(got, first) {
		eol := bytes.IndexByte(got, '\n')
		if eol < 0 {
			t.Fatalf("delivered message ends inside the trace fields: %q", got)
		}
		line := string(got[:eol])
		if (line[0] == ' ' || line[0] == '\t') && len(trace) > 0 {
			trace[len(trace)-1] += "\n" + line
		} else {
			trace = append(trace, line)
		}
		got = got[eol+1:]
		if len(trace) > 20 {
			t.Fatalf("no start of the sent message in the delivered one; trace so far: %q", trace)
		}
	}
	return trace, got
}

// checkDelivered checks one delivered copy: exactly one Return-Path
// (the envelope sender) and one Delivered-To (the recipient), one
// Received from the instance, at most one X-Original-To, and below them
// the sent message byte for byte. It returns the trace field names, in
// order.
func checkDelivered(t *testing.T, what string, got, sent []byte, rcpt string) []string {
	t.Helper()
	trace, rest := splitTrace(t, got, sent)
	if want := Stored(sent); !bytes.Equal(rest, want) {
		i := 0
		for i < len(rest) && i < len(want) && rest[i] == want[i] {
			i++
		}
		t.Errorf("%s: message differs from the one sent at byte %d (got %d bytes, want %d): got %q, want %q",
			what, i, len(rest), len(want), excerpt(rest, i), excerpt(want, i))
	}
	count := map[string]int{}
	var names []string
	for _, f := range trace {
		name, value, _ := strings.Cut(f, ":")
		value = strings.TrimSpace(value)
		names = append(names, name)
		count[strings.ToLower(name)]++
		switch strings.ToLower(name) {
		case "return-path":
			if value != "<"+sender+">" {
				t.Errorf("%s: Return-Path: %s, want <%s>", what, value, sender)
			}
		case "delivered-to", "x-original-to":
			if value != rcpt {
				t.Errorf("%s: %s: %s, want %s", what, name, value, rcpt)
			}
		case "received":
			if !strings.Contains(value, "by "+DefaultDomain+" (Postfix)") {
				t.Errorf("%s: Received: %q is not from the test instance", what, value)
			}
		case "x-scandeliver-status":
			if value != "clean" {
				t.Errorf("%s: X-Scandeliver-Status: %s, want clean", what, value)
			}
		default:
			t.Errorf("%s: unexpected field %q prepended", what, f)
		}
	}
	for name, want := range map[string]int{"return-path": 1, "delivered-to": 1, "received": 1, "x-scandeliver-status": 1} {
		if count[name] != want {
			t.Errorf("%s: %d %s fields on top, want %d (trace %q)", what, count[name], name, want, trace)
		}
	}
	if count["x-original-to"] > 1 {
		t.Errorf("%s: %d X-Original-To fields", what, count["x-original-to"])
	}
	return names
}

func excerpt(b []byte, i int) []byte {
	lo, hi := max(0, i-40), min(len(b), i+40)
	return b[lo:hi]
}

// TestPostfixDelivery sends a clean message, one with "From " lines and
// a 20 MB one to two users: the first through mailbox_command, the
// second through a ~/.forward pipe into an mbox.
func TestPostfixDelivery(t *testing.T) {
	p := StartPostfix(t, Options{
		Forward: map[string]string{
			User2: `"|exec {scandeliver} -c {config} --to ~/mbox || exit 75"` + "\n",
		},
	})
	msgs := []struct {
		name string
		msg  []byte
	}{
		{"clean", testMessage("clean", "clean message", "Hello,\n\nthis is a clean message.\n")},
		{"from-lines", testMessage("fromlines", "From lines", fromLinesBody)},
		{"20MB", testMessage("big", "a 20 MB message", bigBody(20<<20))},
	}
	rcpt1, rcpt2 := p.Address(User1), p.Address(User2)
	for _, m := range msgs {
		start := time.Now()
		qid := p.Send(t, sender, rcpt1+","+rcpt2, m.msg)
		st := p.WaitStatuses(t, qid, 2, 2*time.Minute)
		p.WaitRemoved(t, qid, time.Minute)
		t.Logf("%s: %d bytes, queue id %s, sent and delivered twice in %v", m.name, len(m.msg), qid, time.Since(start).Round(time.Millisecond))
		got := map[string]int{}
		for _, s := range st {
			if s.Status != "sent" {
				t.Errorf("%s: %s", m.name, s.Line)
			}
			got[s.To]++
		}
		if got[rcpt1] != 1 || got[rcpt2] != 1 || len(st) != 2 {
			t.Errorf("%s: delivery attempts %v, want one sent for each of %s and %s", m.name, got, rcpt1, rcpt2)
		}
	}

	// User 1: Maildir, one file per message, owned by the user.
	files := MaildirFiles(t, p.Maildir(t, User1))
	if len(files) != len(msgs) {
		t.Fatalf("%s's Maildir has %d messages, want %d: %q", User1, len(files), len(msgs), files)
	}
	u1 := lookupIDs(t, User1)
	for _, f := range files {
		got, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var sent []byte
		for _, m := range msgs {
			if bytes.Contains(got[:min(len(got), 2048)], m.msg[:bytes.Index(m.msg, []byte("MIME-Version"))]) {
				sent = m.msg
			}
		}
		if sent == nil {
			t.Errorf("%s: not one of the messages sent:\n%s", f, excerpt(got, 0))
			continue
		}
		names := checkDelivered(t, f, got, sent, rcpt1)
		t.Logf("Maildir (mailbox_command): fields on top of the message: %s", strings.Join(names, ", "))
		if fi, err := os.Stat(f); err != nil {
			t.Error(err)
		} else if st := fi.Sys().(*syscall.Stat_t); int(st.Uid) != u1.uid {
			t.Errorf("%s owned by uid %d, want %d (%s)", f, st.Uid, u1.uid, User1)
		}
	}
	if tmp, _ := os.ReadDir(filepath.Join(p.Maildir(t, User1), "tmp")); len(tmp) != 0 {
		t.Errorf("%s's Maildir/tmp not empty: %d files", User1, len(tmp))
	}

	// User 2: mbox, read back by Python's mailbox module.
	mbox := filepath.Join(Home(t, User2), "mbox")
	box := PythonMbox(t, mbox)
	if len(box) != len(msgs) {
		t.Fatalf("Python reads %d messages in %s, want %d", len(box), mbox, len(msgs))
	}
	for i, m := range msgs {
		what := fmt.Sprintf("%s message %d (%s)", mbox, i+1, m.name)
		if !strings.HasPrefix(box[i].From, sender+" ") {
			t.Errorf("%s: From_ line %q, want the envelope sender %s", what, box[i].From, sender)
		}
		names := checkDelivered(t, what, MboxrdUnquote(box[i].Data), m.msg, rcpt2)
		t.Logf("mbox (.forward pipe): fields on top of the message: %s", strings.Join(names, ", "))
	}
	raw, err := os.ReadFile(mbox)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(raw, []byte("\n>From the start of a line.\n>>From a quoted line.\n>>>From a twice")) {
		t.Errorf("%s: From lines of the body are not mboxrd-quoted", mbox)
	}
	if spool, _ := os.ReadDir(p.SpoolDir); len(spool) != 0 {
		t.Errorf("spool %s not empty after the deliveries: %d entries", p.SpoolDir, len(spool))
	}
	if q := p.Queue(t); len(q) != 0 {
		t.Errorf("queue not empty: %v", q)
	}
}

type ids struct{ uid, gid int }

func lookupIDs(t *testing.T, name string) ids {
	t.Helper()
	u, err := user.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return ids{uid, gid}
}

// TestPostfixDeferral makes scandeliver fail temporarily, checks that
// Postfix defers the message and keeps it queued with nothing in the
// mailbox, then removes the cause and flushes the queue: the message is
// delivered exactly once.
func TestPostfixDeferral(t *testing.T) {
	p := StartPostfix(t, Options{Users: []string{User1}})
	maildir := p.Maildir(t, User1)
	causes := []struct {
		name   string
		reason string // in Postfix's deferral reason (the command's output)
		break_ func(t *testing.T)
		fix    func(t *testing.T)
	}{
		{
			name:   "config-missing",
			reason: "configuration error",
			break_: func(t *testing.T) { rename(t, p.Config, p.Config+".away") },
			fix:    func(t *testing.T) { rename(t, p.Config+".away", p.Config) },
		},
		{
			name:   "maildir-read-only",
			reason: "permission denied",
			break_: func(t *testing.T) {
				for _, sub := range []string{"tmp", "new", "cur"} {
					if err := os.MkdirAll(filepath.Join(maildir, sub), 0o700); err != nil {
						t.Fatal(err)
					}
				}
				u := lookupIDs(t, User1)
				for _, d := range []string{maildir, filepath.Join(maildir, "tmp"), filepath.Join(maildir, "new"), filepath.Join(maildir, "cur")} {
					if err := os.Chown(d, u.uid, u.gid); err != nil {
						t.Fatal(err)
					}
				}
				chmod(t, filepath.Join(maildir, "tmp"), 0o500)
				chmod(t, filepath.Join(maildir, "new"), 0o500)
			},
			fix: func(t *testing.T) {
				chmod(t, filepath.Join(maildir, "tmp"), 0o700)
				chmod(t, filepath.Join(maildir, "new"), 0o700)
			},
		},
	}
	for i, c := range causes {
		t.Run(c.name, func(t *testing.T) {
			ResetMailboxes(t, User1)
			c.break_(t)
			msg := testMessage(fmt.Sprintf("deferred%d", i), "deferred then delivered", "Hello again.\n")
			qid := p.Send(t, sender, p.Address(User1), msg)
			st := p.WaitStatuses(t, qid, 1, time.Minute)
			if st[0].Status != "deferred" {
				t.Fatalf("first attempt: %s", st[0].Line)
			}
			if !strings.Contains(strings.ToLower(st[0].Line), c.reason) {
				t.Errorf("deferral reason does not say %q: %s", c.reason, st[0].Line)
			}
			t.Logf("deferred: %s", st[0].Line)
			if q := p.Queue(t); len(q) != 1 || q[0] != qid {
				t.Errorf("queue after the deferral: %v, want [%s]", q, qid)
			}
			if f := MaildirFiles(t, maildir); len(f) != 0 {
				t.Errorf("deferred message delivered anyway: %q", f)
			}
			if tmp, _ := os.ReadDir(filepath.Join(maildir, "tmp")); len(tmp) != 0 {
				t.Errorf("partial file left in Maildir/tmp: %d", len(tmp))
			}

			c.fix(t)
			p.Flush(t)
			st = p.WaitStatuses(t, qid, 2, time.Minute)
			p.WaitRemoved(t, qid, time.Minute)
			if len(st) != 2 || st[1].Status != "sent" {
				t.Fatalf("after the flush: %+v", st)
			}
			files := MaildirFiles(t, maildir)
			if len(files) != 1 {
				t.Fatalf("after the flush: %d messages in the Maildir, want 1: %q", len(files), files)
			}
			got, err := os.ReadFile(files[0])
			if err != nil {
				t.Fatal(err)
			}
			checkDelivered(t, files[0], got, msg, p.Address(User1))
			if q := p.Queue(t); len(q) != 0 {
				t.Errorf("queue after the flush: %v", q)
			}
		})
	}
}

func rename(t *testing.T, from, to string) {
	t.Helper()
	if err := os.Rename(from, to); err != nil {
		t.Fatal(err)
	}
}

func chmod(t *testing.T, path string, mode os.FileMode) {
	t.Helper()
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}
