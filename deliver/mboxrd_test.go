package deliver

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestQuoteMboxrd(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"From x\n", ">From x\n"},
		{">From x\n", ">>From x\n"},
		{">>>From x", ">>>>From x"},
		{"a\nFrom \nFrom", "a\n>From \nFrom"},
		{"From", "From"},
		{">Fro", ">Fro"},
		{"x From y\n", "x From y\n"},
		{"\r\nFrom x\r\n", "\r\n>From x\r\n"},
		{"\rFrom x", "\rFrom x"},
		{"From:x\n>From-\n>>", "From:x\n>From-\n>>"},
		{"a\n>\nFrom ", "a\n>\n>From "},
	}
	for _, tt := range tests {
		got := QuoteMboxrd([]byte(tt.in))
		if string(got) != tt.want {
			t.Errorf("QuoteMboxrd(%q) = %q, want %q", tt.in, got, tt.want)
		}
		// Byte by byte must give the same.
		var b bytes.Buffer
		q := newQuoteWriter(&b)
		for i := range len(tt.in) {
			q.Write([]byte{tt.in[i]})
		}
		q.Close()
		if b.String() != tt.want {
			t.Errorf("byte-wise quote of %q = %q, want %q", tt.in, b.String(), tt.want)
		}
		if back := UnquoteMboxrd(got); string(back) != tt.in {
			t.Errorf("UnquoteMboxrd(%q) = %q, want %q", got, back, tt.in)
		}
	}
	// A run of '>' far longer than any buffer streams through.
	long := strings.Repeat(">", 100000) + "From x\n"
	if got := QuoteMboxrd([]byte(long)); string(got) != ">"+long {
		t.Errorf("long run not quoted")
	}
}

func TestReadMbox(t *testing.T) {
	in := "\n\nFrom a Mon Jan  1 00:00:00 2024\nA\n>From x\n\nFrom b Tue\nB\nFrom c\r\n\nFrom d\n\n\n"
	var froms, msgs []string
	err := ReadMbox(strings.NewReader(in), func(from string, msg []byte) error {
		froms = append(froms, from)
		msgs = append(msgs, string(msg))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	wantF := []string{"a Mon Jan  1 00:00:00 2024", "b Tue", "c", "d"}
	wantM := []string{"A\nFrom x\n", "B\n", "", "\n"}
	if strings.Join(froms, "|") != strings.Join(wantF, "|") || strings.Join(msgs, "|") != strings.Join(wantM, "|") {
		t.Errorf("got %q %q, want %q %q", froms, msgs, wantF, wantM)
	}
	if err := ReadMbox(strings.NewReader("Subject: x\n\nFrom a\n"), func(string, []byte) error { return nil }); !errors.Is(err, ErrNotMbox) {
		t.Errorf("non-mbox: err = %v", err)
	}
	stop := errors.New("stop")
	if err := ReadMbox(strings.NewReader(in), func(string, []byte) error { return stop }); err != stop {
		t.Errorf("fn's error not returned: %v", err)
	}
}

func TestFromLine(t *testing.T) {
	at := time.Date(2024, 3, 5, 7, 8, 9, 0, time.UTC)
	tests := []struct{ in, want string }{
		{"a@b", "From a@b Tue Mar  5 07:08:09 2024\n"},
		{"", "From MAILER-DAEMON Tue Mar  5 07:08:09 2024\n"},
		{"<>", "From MAILER-DAEMON Tue Mar  5 07:08:09 2024\n"},
		{"<a@b>", "From a@b Tue Mar  5 07:08:09 2024\n"},
		{`"john doe"@b`, "From \"john_doe\"@b Tue Mar  5 07:08:09 2024\n"},
		{"a\nFrom x@y", "From a_From_x@y Tue Mar  5 07:08:09 2024\n"},
	}
	for _, tt := range tests {
		if got := FromLine(tt.in, at); got != tt.want {
			t.Errorf("FromLine(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// mboxEntry is what appendMbox writes for msg after an mbox ending in a
// blank line.
func mboxEntry(from string, msg []byte) []byte {
	q := QuoteMboxrd(msg)
	b := append([]byte("From "+from+"\n"), q...)
	if len(q) > 0 && q[len(q)-1] != '\n' {
		b = append(b, '\n')
	}
	return append(b, '\n')
}

func fuzzSeeds(f *testing.F) {
	f.Add([]byte("From x\n>From y\n>>From z"), uint(3))
	f.Add([]byte(""), uint(0))
	f.Add([]byte("\n"), uint(1))
	f.Add([]byte(">>>>Fro"), uint(2))
	seeds, _ := filepath.Glob("testdata/messages/*/*/*")
	more, _ := filepath.Glob("testdata/messages/*/*")
	for _, p := range append(seeds, more...) {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b, uint(len(b)/3))
		}
	}
}

// FuzzMboxRoundTrip checks that quoting is independent of how the stream
// is cut into writes, that no quoted line starts with "From ", and that
// an mbox of two copies reads back as those two messages.
func FuzzMboxRoundTrip(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte, cut uint) {
		q := QuoteMboxrd(data)
		var b bytes.Buffer
		w := newQuoteWriter(&b)
		c := 0
		if len(data) > 0 {
			c = int(cut % uint(len(data)+1))
		}
		w.Write(data[:c])
		w.Write(data[c:])
		w.Close()
		if !bytes.Equal(b.Bytes(), q) {
			t.Fatalf("split write at %d: %q != %q", c, b.Bytes(), q)
		}
		if bytes.HasPrefix(q, fromSpace) || bytes.Contains(q, []byte("\nFrom ")) {
			t.Fatalf("unquoted From line in %q", q)
		}
		if back := UnquoteMboxrd(q); !bytes.Equal(back, data) {
			t.Fatalf("unquote: %q != %q", back, data)
		}
		mbox := append(mboxEntry("a@b x", data), mboxEntry("c@d y", data)...)
		var got [][]byte
		if err := ReadMbox(bytes.NewReader(mbox), func(from string, msg []byte) error {
			got = append(got, msg)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		want := expectRead(data)
		if len(got) != 2 || !bytes.Equal(got[0], want) || !bytes.Equal(got[1], want) {
			t.Fatalf("read back %q, want 2 x %q", got, want)
		}
	})
}

// FuzzReadMbox reads arbitrary input; whatever it yields, written out
// again as an mbox, must read back the same.
func FuzzReadMbox(f *testing.F) {
	f.Add([]byte("From a\nx\n\nFrom b\n>From c\n"))
	f.Add([]byte("\nFrom \n\n\n"))
	f.Add([]byte("From a\nFrom b\nno newline"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var froms []string
		var msgs [][]byte
		err := ReadMbox(bytes.NewReader(data), func(from string, msg []byte) error {
			froms = append(froms, from)
			msgs = append(msgs, msg)
			return nil
		})
		if err != nil {
			return
		}
		var out []byte
		for i := range msgs {
			out = append(out, mboxEntry("x", msgs[i])...)
		}
		var again [][]byte
		if err := ReadMbox(bytes.NewReader(out), func(_ string, msg []byte) error {
			again = append(again, msg)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if len(again) != len(msgs) {
			t.Fatalf("%d messages, then %d", len(msgs), len(again))
		}
		for i := range msgs {
			if !bytes.Equal(again[i], expectRead(msgs[i])) {
				t.Fatalf("message %d: %q then %q", i, msgs[i], again[i])
			}
		}
	})
}

// FuzzParseLock: a dotlock's contents (anyone with write access to the
// directory can write one) never panic the parser, and a record parses
// back to itself.
func FuzzParseLock(f *testing.F) {
	f.Add([]byte("123\nscandeliver host=vm dev=1 ino=2 size=3 lead=4:" + strings.Repeat("a", 64) + "\n"))
	f.Add([]byte("\n\n"))
	f.Add([]byte("-5\nscandeliver size=-1"))
	f.Fuzz(func(t *testing.T, b []byte) {
		pid, rec := parseLock(b)
		if pid < 0 {
			t.Fatalf("pid %d", pid)
		}
		if rec == nil {
			return
		}
		if rec.size < 0 || rec.leadLen <= 0 {
			t.Fatalf("bad record accepted: %+v", rec)
		}
		pid2, rec2 := parseLock([]byte("1\n" + rec.String() + "\n"))
		if pid2 != 1 || rec2 == nil || rec2.size != rec.size || rec2.leadHash != rec.leadHash || rec2.ino != rec.ino {
			t.Fatalf("record %q does not round-trip: %+v", rec.String(), rec2)
		}
	})
}
