package rspamd

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/scandeliver/scandeliver/scan/addr"
	"github.com/scandeliver/scandeliver/scan/builtin"
	"github.com/scandeliver/scandeliver/tests/testenv"
)

func message(body string) []byte {
	return []byte("From: Alice <alice@example.com>\r\nTo: bob@example.net\r\nSubject: lunch\r\n" +
		"Date: Fri, 27 Nov 2026 10:00:00 +0000\r\nMessage-ID: <t1@example.com>\r\n\r\n" + body + "\r\n")
}

func TestRealGTUBE(t *testing.T) {
	a, err := addr.ParseList([]string{testenv.Env(t, "SCANDELIVER_RSPAMD")})
	if err != nil {
		t.Fatal(err)
	}
	c := &Client{Addrs: a}
	env := Envelope{From: "alice@example.com", Rcpt: []string{"bob@example.net", "carol@example.net"},
		IP: "192.0.2.1", Helo: "mail.example.com", DeliverTo: "bob"}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	m := message("This is the GTUBE: " + string(builtin.GTUBE()))
	r, err := c.Check(ctx, bytes.NewReader(m), int64(len(m)), env)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Spam() || r.Action != "reject" || r.SymbolMap["GTUBE"].Name != "GTUBE" {
		t.Errorf("GTUBE: %+v", r)
	}
	m = message("Shall we have lunch on Friday at noon?\r\nAlice")
	r, err = c.Check(ctx, bytes.NewReader(m), int64(len(m)), env)
	if err != nil {
		t.Fatal(err)
	}
	if r.Spam() {
		t.Errorf("ham: %+v", r)
	}
	t.Logf("ham: action %q score %.2f/%.2f symbols %v", r.Action, r.Score, r.RequiredScore, r.Symbols())
}

func TestStopped(t *testing.T) {
	a, _ := addr.ParseList([]string{"unix:" + t.TempDir() + "/none.sock"})
	c := &Client{Addrs: a}
	m := message("x")
	if _, err := c.Check(context.Background(), bytes.NewReader(m), int64(len(m)), Envelope{}); err == nil {
		t.Fatal("no rspamd: no error")
	}
}

func TestParseResult(t *testing.T) {
	r, err := ParseResult([]byte(`{"is_skipped":false,"score":15.0,"required_score":15.0,"action":"reject","symbols":{"GTUBE":{"name":"GTUBE","score":0.0}}}`))
	if err != nil || !r.Spam() || r.Score != 15 || len(r.Symbols()) != 1 {
		t.Errorf("got %+v, %v", r, err)
	}
	for _, bad := range []string{``, `{}`, `[1]`, `{"action":5}`, `not json`} {
		if _, err := ParseResult([]byte(bad)); !errors.Is(err, ErrGarbled) {
			t.Errorf("%q: %v, want ErrGarbled", bad, err)
		}
	}
}

func FuzzParseResult(f *testing.F) {
	f.Add([]byte(`{"score":15.0,"required_score":15.0,"action":"reject","symbols":{"GTUBE":{"name":"GTUBE","score":0.0}}}`))
	f.Add([]byte(`{"action":"no action","symbols":{}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseResult(b)
		if err == nil && r.Action == "" {
			t.Fatal("accepted without action")
		}
	})
}
