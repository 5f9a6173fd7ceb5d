package spamd

import (
	"bufio"
	"context"
	"errors"
	"slices"
	"strings"
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

func client(t *testing.T, req string) *Client {
	a, err := addr.ParseList([]string{testenv.Env(t, "SCANDELIVER_SPAMD")})
	if err != nil {
		t.Fatal(err)
	}
	return &Client{Addrs: a, Request: req}
}

func TestRealGTUBE(t *testing.T) {
	for _, req := range []string{"SYMBOLS", "REPORT", "CHECK"} {
		c := client(t, req)
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		r, err := c.Check(ctx, message("This is the GTUBE: "+string(builtin.GTUBE())), "bob@example.net")
		if err != nil {
			t.Fatal(err)
		}
		if !r.Spam || r.Score < r.Threshold || r.Threshold <= 0 {
			t.Errorf("%s GTUBE: %+v, want spam", req, r)
		}
		switch req {
		case "SYMBOLS":
			if !slices.Contains(r.Symbols, "GTUBE") {
				t.Errorf("SYMBOLS: %v, want GTUBE", r.Symbols)
			}
		case "REPORT":
			if !strings.Contains(r.Report, "GTUBE") {
				t.Errorf("REPORT: %q, want GTUBE", r.Report)
			}
		}
		ham, err := c.Check(ctx, message("Shall we have lunch on Friday at noon?\r\nAlice"), "bob@example.net")
		if err != nil {
			t.Fatal(err)
		}
		if ham.Spam {
			t.Errorf("%s ham: %+v, want not spam", req, ham)
		}
	}
}

func TestStopped(t *testing.T) {
	a, _ := addr.ParseList([]string{"unix:" + t.TempDir() + "/none.sock"})
	c := &Client{Addrs: a}
	if _, err := c.Check(context.Background(), message("x"), ""); err == nil {
		t.Fatal("no spamd: no error")
	}
}

func TestParseResponse(t *testing.T) {
	cases := []struct {
		in, req string
		want    Result
		err     bool
	}{
		{"SPAMD/1.1 0 EX_OK\r\nContent-length: 12\r\nSpam: True ; 1002.7 / 5.0\r\n\r\nGTUBE,NO_RCV", "SYMBOLS",
			Result{Spam: true, Score: 1002.7, Threshold: 5, Symbols: []string{"GTUBE", "NO_RCV"}}, false},
		{"SPAMD/1.1 0 EX_OK\r\nSpam: False ; -0.1 / 5.0\r\n\r\n", "CHECK", Result{Score: -0.1, Threshold: 5}, false},
		{"SPAMD/1.1 0 EX_OK\r\nSpam: Yes ; 6 / 5\r\nContent-length: 3\r\n\r\nabc", "REPORT", Result{Spam: true, Score: 6, Threshold: 5, Report: "abc"}, false},
		{"SPAMD/1.0 76 Bad header line: x\r\n", "CHECK", Result{}, true},
		{"SPAMD/1.1 0 EX_OK\r\n\r\n", "CHECK", Result{}, true},
		{"HTTP/1.1 200 OK\r\n\r\n", "CHECK", Result{}, true},
		{"SPAMD/1.1 0 EX_OK\r\nSpam: Maybe ; 1 / 5\r\n\r\n", "CHECK", Result{}, true},
		{"SPAMD/1.1 0 EX_OK\r\nContent-length: 99\r\nSpam: True ; 1 / 5\r\n\r\nshort", "SYMBOLS", Result{}, true},
	}
	for _, c := range cases {
		got, err := ParseResponse(bufio.NewReader(strings.NewReader(c.in)), c.req)
		if c.err {
			if err == nil {
				t.Errorf("%q: got %+v, want error", c.in, got)
			}
			continue
		}
		if err != nil || got.Spam != c.want.Spam || got.Score != c.want.Score || got.Threshold != c.want.Threshold ||
			!slices.Equal(got.Symbols, c.want.Symbols) || got.Report != c.want.Report {
			t.Errorf("%q: got %+v, %v; want %+v", c.in, got, err, c.want)
		}
	}
}

func FuzzParseResponse(f *testing.F) {
	f.Add("SPAMD/1.1 0 EX_OK\r\nContent-length: 12\r\nSpam: True ; 1002.7 / 5.0\r\n\r\nGTUBE,NO_RCV", "SYMBOLS")
	f.Add("SPAMD/1.1 0 EX_OK\r\nSpam: False ; -0.1 / 5.0\r\n\r\n", "CHECK")
	f.Add("SPAMD/1.0 76 Bad header line: x\r\n", "REPORT")
	f.Fuzz(func(t *testing.T, in, req string) {
		r, err := ParseResponse(bufio.NewReaderSize(strings.NewReader(in), maxHeaderLine), req)
		if err != nil {
			return
		}
		if len(r.Report) > maxBody {
			t.Fatalf("report of %d bytes", len(r.Report))
		}
		_ = errors.Is(err, ErrGarbled)
	})
}
