package quarantine

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestReleaseMark(t *testing.T) {
	key := filepath.Join(t.TempDir(), "release.key")
	priv, err := EnsureReleaseKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(key); fi.Mode().Perm() != 0o600 {
		t.Errorf("private key mode %v", fi.Mode().Perm())
	}
	if fi, _ := os.Stat(key + ".pub"); fi.Mode().Perm() != 0o644 {
		t.Errorf("public key mode %v", fi.Mode().Perm())
	}
	if err := GenerateReleaseKey(key); err == nil {
		t.Error("an existing key was replaced")
	}
	if again, err := EnsureReleaseKey(key); err != nil || !again.Equal(priv) {
		t.Errorf("EnsureReleaseKey on an existing key: %v", err)
	}
	pub, err := LoadReleasePublicKey(key + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1800000000, 0)
	orig := []byte("From: a@b.c\r\nSubject: x\r\n\r\nbody\r\nno final newline")
	h, _ := ReleaseHash(bytes.NewReader(orig))
	m := Mark{ID: "20261127-154843-123456-9f86d081884c", Time: now, Recipient: "Bob@example.org", SHA256: h}
	field := m.Field(priv)
	if strings.Count(field, "\n") != 1 || len(field) > 998 {
		t.Fatalf("field %q", field)
	}
	// What comes back through the MTA: trace fields on top, LF line ends.
	back := append([]byte("Return-Path: <a@b.c>\nReceived: from x by y\n"+field), bytes.ReplaceAll(orig, []byte("\r\n"), []byte("\n"))...)
	back = append(back, '\n')
	verify := func(msg []byte, rcpt string, at time.Time) error {
		_, err := VerifyRelease(bytes.NewReader(msg), int64(len(msg)), pub, rcpt, at, 7*24*time.Hour)
		return err
	}
	if err := verify(back, "bob@example.org", now.Add(time.Hour)); err != nil {
		t.Fatalf("genuine mark: %v", err)
	}
	other, _, _ := strings.Cut(field, "sig=")
	forged := strings.Replace(string(back), field, other+"sig=AAAA\n", 1)
	for _, c := range []struct {
		name string
		msg  []byte
		rcpt string
		at   time.Time
		want string
	}{
		{"no mark", bytes.ReplaceAll(orig, []byte("\r\n"), []byte("\n")), "bob@example.org", now, "no release mark"},
		{"other recipient", back, "eve@example.org", now, "another recipient"},
		{"expired", back, "bob@example.org", now.Add(8 * 24 * time.Hour), "expired"},
		{"changed body", bytes.Replace(back, []byte("body"), []byte("evil"), 1), "bob@example.org", now, "changed"},
		{"bad signature", []byte(forged), "bob@example.org", now, "signature"},
		{"other key", []byte(strings.Replace(string(back), field, m.Field(otherKey(t)), 1)), "bob@example.org", now, "signature"},
		{"mark in the body", append(append([]byte("Subject: x\n\n"), field...), orig...), "bob@example.org", now, "no release mark"},
	} {
		err := verify(c.msg, c.rcpt, c.at)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
		if c.name == "no mark" && !errors.Is(err, ErrNoMark) {
			t.Errorf("no mark: %v is not ErrNoMark", err)
		}
	}
	// A forged field above a genuine one does not hide it.
	two := []byte(strings.Replace(string(back), field, other+"sig=AAAA\n"+field, 1))
	if err := verify(two, "bob@example.org", now); err != nil {
		t.Errorf("genuine mark below a forged one: %v", err)
	}
	// The force bit is signed: a mark that waives only the rules cannot
	// be turned into one that overrides the engines.
	if !strings.Contains(field, "; force=0;") {
		t.Fatalf("field %q has no force=0", field)
	}
	flipped := []byte(strings.Replace(string(back), "; force=0;", "; force=1;", 1))
	if err := verify(flipped, "bob@example.org", now); err == nil || !strings.Contains(err.Error(), "signature") {
		t.Errorf("force flipped: %v", err)
	}
	fm := m
	fm.Force = true
	forcedBack := []byte(strings.Replace(string(back), field, fm.Field(priv), 1))
	if got, err := VerifyRelease(bytes.NewReader(forcedBack), int64(len(forcedBack)), pub, "bob@example.org", now, time.Hour); err != nil || !got.Force {
		t.Errorf("forced mark: %+v %v", got, err)
	}
	if got, err := VerifyRelease(bytes.NewReader(back), int64(len(back)), pub, "bob@example.org", now, time.Hour); err != nil || got.Force {
		t.Errorf("unforced mark: %+v %v", got, err)
	}
	// A version 1 mark (no force field) still verifies, as not forced.
	v1sig := ed25519.Sign(ed25519.PrivateKey(priv), m.signed(1))
	v1 := fmt.Sprintf("%s: v=1; id=%s; t=%d; rcpt=%s; sha256=%s; sig=%s\n", ReleaseField, m.ID, m.Time.Unix(),
		base64.RawURLEncoding.EncodeToString([]byte(m.Recipient)), m.SHA256, base64.RawURLEncoding.EncodeToString(v1sig))
	v1Back := []byte(strings.Replace(string(back), field, v1, 1))
	if got, err := VerifyRelease(bytes.NewReader(v1Back), int64(len(v1Back)), pub, "bob@example.org", now, time.Hour); err != nil || got.Force {
		t.Errorf("v1 mark: %+v %v", got, err)
	}
	// A readable private key is refused.
	os.Chmod(key, 0o644)
	if _, err := LoadReleaseKey(key); err == nil {
		t.Error("a world-readable private key was accepted")
	}
}

func otherKey(t *testing.T) []byte {
	k, err := EnsureReleaseKey(filepath.Join(t.TempDir(), "k"))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func FuzzVerifyRelease(f *testing.F) {
	f.Add([]byte("X-Scandeliver-Released: v=1; id=20261127-154843-123456-9f86d081884c; t=1; rcpt=Ym9i; sha256=00; sig=AA\n\nbody"))
	f.Add([]byte("X-Scandeliver-Released: v=2; id=20261127-154843-123456-9f86d081884c; t=1; rcpt=Ym9i; force=1; sha256=00; sig=AA\n\nbody"))
	f.Add([]byte("Subject: x\r\n\r\n"))
	pub := make([]byte, 32)
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := VerifyRelease(bytes.NewReader(b), int64(len(b)), pub, "bob", time.Unix(0, 0), time.Hour)
		if err == nil {
			t.Fatalf("verified with a zero key: %+v", m)
		}
	})
}
