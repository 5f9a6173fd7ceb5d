package serve

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

func TestExpand(t *testing.T) {
	const tmpl = "/var/vmail/%d/%n/Maildir/"
	for addr, want := range map[string]string{
		"Bob@Example.NET":      "/var/vmail/example.net/bob/Maildir/",
		"a+b@example.net":      "/var/vmail/example.net/a+b/Maildir/",
		"\"a@b\"@example.net":  "/var/vmail/example.net/\"a@b\"/Maildir/",
		"x@example.net":        "/var/vmail/example.net/x/Maildir/",
		"x..y@example.net":     "/var/vmail/example.net/x..y/Maildir/",
		"100%25@example.net@x": "",
	} {
		got, err := Expand(tmpl, addr)
		if want == "" {
			if err == nil {
				t.Errorf("%q: %q accepted", addr, got)
			}
			continue
		}
		if err != nil || got != want {
			t.Errorf("%q: %q, %v; want %q", addr, got, err, want)
		}
	}
	for _, addr := range []string{"../x@example.net", "x@..", "/@example.net", "x@a/b", ".@example.net", "..@example.net",
		"@example.net", "x@", "x", "a\nb@example.net", "a\\b@example.net", ".x@example.net"} {
		if got, err := Expand(tmpl, addr); !errors.Is(err, ErrBadMailbox) {
			t.Errorf("%q: %q, %v; want ErrBadMailbox", addr, got, err)
		}
	}
	if got, err := Expand("lmtp:unix:/run/dovecot/lmtp", "../x"); err != nil || got != "lmtp:unix:/run/dovecot/lmtp" {
		t.Errorf("lmtp: %q %v", got, err)
	}
	if got, err := Expand("/var/mail/%u", "Bob@example.net"); err != nil || got != "/var/mail/bob@example.net" {
		t.Errorf("%%u: %q %v", got, err)
	}
}

// FuzzExpand: whatever the address, an expansion stays below the
// template's fixed directory and never holds a ".." element.
func FuzzExpand(f *testing.F) {
	for _, s := range []string{"bob@example.net", "../x@y", "x@..", "a/b@c", "%n@%d", "."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, addr string) {
		for _, tmpl := range []string{"/var/vmail/%d/%n/Maildir/", "/var/mail/%u", "/srv/%n%%/x"} {
			got, err := Expand(tmpl, addr)
			if err != nil {
				continue
			}
			base := tmpl[:strings.IndexByte(tmpl, '%')]
			if !strings.HasPrefix(filepath.Clean(got)+"/", base) || strings.Contains("/"+got+"/", "/../") || strings.Contains("/"+got+"/", "/./") {
				t.Fatalf("%q in %q gave %q", addr, tmpl, got)
			}
		}
	})
}

func TestCheckTemplate(t *testing.T) {
	for _, ok := range []string{"", "/var/vmail/%d/%n/Maildir/", "lmtp:unix:/run/dovecot/lmtp", "/m/%u%%"} {
		if err := CheckTemplate(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"vmail/%d", "/m/%x", "/m/%"} {
		if CheckTemplate(bad) == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
