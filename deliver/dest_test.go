package deliver

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseDest(t *testing.T) {
	tests := []struct {
		in   string
		want Dest
		err  bool
	}{
		{"~/Maildir/", Dest{Path: "/home/u/Maildir", Kind: Maildir}, false},
		{"~/mbox", Dest{Path: "/home/u/mbox", Kind: Mbox}, false},
		{"/var/mail/u", Dest{Path: "/var/mail/u", Kind: Mbox}, false},
		{"/var/mail/u//", Dest{Path: "/var/mail/u", Kind: Maildir}, false},
		{"/a/./b/../c/", Dest{Path: "/a/c", Kind: Maildir}, false},
		{"~", Dest{Path: "/home/u", Kind: Mbox}, false},
		{"", Dest{}, true},
		{"Maildir/", Dest{}, true},
		{"./mbox", Dest{}, true},
		{"~bob/Maildir/", Dest{}, true},
		{"/", Dest{}, true},
		{"/var/mail/a\x00b", Dest{}, true},
	}
	for _, tt := range tests {
		got, err := ParseDest(tt.in, "/home/u")
		if tt.err {
			if err == nil || !errors.Is(err, ErrBadDest) {
				t.Errorf("ParseDest(%q) = %+v, %v; want an ErrBadDest error", tt.in, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseDest(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
	if _, err := ParseDest("~/Maildir/", ""); err == nil {
		t.Errorf("ParseDest with no home: no error")
	}
	if _, err := ParseDest("~/Maildir/", "relative"); err == nil {
		t.Errorf("ParseDest with a relative home: no error")
	}
}

func TestWithFolder(t *testing.T) {
	base := Dest{Path: "/m", Kind: Maildir}
	tests := []struct{ in, want string }{
		{"Junk", ".Junk"}, {".Junk", ".Junk"}, {".Junk/", ".Junk"}, {"Junk/", ".Junk"},
		{"Lists/go", ".Lists.go"}, {".Lists.go", ".Lists.go"}, {"", ""}, {"INBOX", ""}, {"inbox", ""},
	}
	for _, tt := range tests {
		if got := base.WithFolder(tt.in).Folder; got != tt.want {
			t.Errorf("WithFolder(%q).Folder = %q, want %q", tt.in, got, tt.want)
		}
	}
	if s := base.WithFolder("Junk").String(); s != "/m/.Junk/" {
		t.Errorf("String() = %q", s)
	}
	for _, bad := range []string{"..", ".", "../x", "a..b", ".a/b", "a./b", "x\n", ".x\x00"} {
		if _, err := base.WithFolder(bad).dir(); err == nil {
			t.Errorf("WithFolder(%q) accepted (folder %q)", bad, base.WithFolder(bad).Folder)
		}
	}
}

// FuzzParseDest: any string either fails or yields an absolute, clean
// path whose kind follows the trailing slash.
func FuzzParseDest(f *testing.F) {
	for _, s := range []string{"~/Maildir/", "/var/mail/u", "~", "a/", "//x//", "~/../../x/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDest(s, "/home/u")
		if err != nil {
			return
		}
		if !filepath.IsAbs(d.Path) || filepath.Clean(d.Path) != d.Path || d.Path == "/" {
			t.Fatalf("ParseDest(%q) = %q", s, d.Path)
		}
		if (d.Kind == Maildir) != strings.HasSuffix(s, "/") {
			t.Fatalf("ParseDest(%q): kind %v", s, d.Kind)
		}
		// WithFolder never escapes the Maildir.
		if dir, err := d.WithFolder(s).dir(); err == nil && filepath.Dir(dir) != d.Path {
			t.Fatalf("folder %q escapes: %q", s, dir)
		}
	})
}
