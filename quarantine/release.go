package quarantine

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ReleaseField is the header field that marks a message released from
// the quarantine and re-sent through the MTA (quarantine release
// --resend). Its value:
//
//	v=2; id=<entry id>; t=<Unix seconds>; rcpt=<base64url(address)>; force=<0|1>; sha256=<hex>; sig=<base64url>
//
// sha256 is over the message that follows the field (line ends
// normalized: see ReleaseHash), sig an Ed25519 signature over
// "scandeliver-release-v2\n" id "\n" t "\n" address "\n" force "\n" sha256.
// (Version 1 marks, without force, still verify, as force=0.)
//
// What the mark waives: the name, type and policy rules the
// administrator chose, never the engines. The delivery that honours it
// still scans the message with every engine, and an engine's infected
// verdict withholds it again unless force=1, which only "quarantine
// release --force" signs, after printing the content's SHA-256 and the
// verdict.
//
// Why a signature and not an HMAC: under Postfix's mailbox_command the
// delivery runs as the recipient, who must be able to verify the mark but
// must not be able to make one. The private key (0600, root) signs; the
// public key (0644) verifies.
//
// What the mark proves, and its limits: that root (or whoever holds the
// private key) released exactly these bytes for this recipient at time t.
// A sender cannot forge it; a mark copied onto other bytes fails the
// hash; the same released message re-sent to someone else fails the
// recipient check; after the maximum age it is ignored. Within that age
// the recipient can replay it to themselves, which gives them nothing
// they did not already receive. If the MTA rewrites the message on the
// way back (adds a missing Date or Message-ID, converts 8bit), the hash
// fails and the message is scanned and quarantined again: the mark fails
// safe.
const ReleaseField = "X-Scandeliver-Released"

const (
	releaseContextV1 = "scandeliver-release-v1\n"
	releaseContext   = "scandeliver-release-v2\n"
)

// ErrNoMark is returned by VerifyRelease for a message without any
// release field.
var ErrNoMark = errors.New("no release mark")

// Mark is a verified (or to be signed) release mark.
type Mark struct {
	ID        string
	Time      time.Time
	Recipient string
	SHA256    string // hex, of the message below the field (ReleaseHash)
	// Force: the release overrides the engines' infected verdict too
	// (quarantine release --force); else only the policy rules.
	Force bool
}

func (m Mark) signed(version int) []byte {
	t := strconv.FormatInt(m.Time.Unix(), 10)
	if version == 1 {
		return []byte(releaseContextV1 + m.ID + "\n" + t + "\n" + m.Recipient + "\n" + m.SHA256)
	}
	force := "0"
	if m.Force {
		force = "1"
	}
	return []byte(releaseContext + m.ID + "\n" + t + "\n" + m.Recipient + "\n" + force + "\n" + m.SHA256)
}

// Field returns the complete header line (with its "\n") carrying m
// signed with key.
func (m Mark) Field(key ed25519.PrivateKey) string {
	sig := ed25519.Sign(key, m.signed(2))
	force := 0
	if m.Force {
		force = 1
	}
	return fmt.Sprintf("%s: v=2; id=%s; t=%d; rcpt=%s; force=%d; sha256=%s; sig=%s\n", ReleaseField,
		m.ID, m.Time.Unix(), base64.RawURLEncoding.EncodeToString([]byte(m.Recipient)), force, m.SHA256,
		base64.RawURLEncoding.EncodeToString(sig))
}

// lfHasher hashes its input with CRLF turned into LF and a final LF added
// when missing: what a message looks like after an MTA stored it.
type lfHasher struct {
	h       hash.Hash
	cr      bool // a CR is pending
	last    byte
	written bool
}

func (w *lfHasher) Write(p []byte) (int, error) {
	for _, c := range p {
		if w.cr {
			w.cr = false
			if c != '\n' {
				w.h.Write([]byte{'\r'})
			}
		}
		if c == '\r' {
			w.cr = true
			continue
		}
		w.h.Write([]byte{c})
		w.last, w.written = c, true
	}
	return len(p), nil
}

func (w *lfHasher) sum() string {
	if w.cr {
		w.h.Write([]byte{'\r'})
		w.last = '\r'
	}
	if w.written && w.last != '\n' {
		w.h.Write([]byte{'\n'})
	}
	return hex.EncodeToString(w.h.Sum(nil))
}

// ReleaseHash is the hex SHA-256 of r's bytes with CRLF line ends made LF
// and a final LF added when missing.
func ReleaseHash(r io.Reader) (string, error) {
	w := &lfHasher{h: sha256.New()}
	if _, err := io.Copy(w, r); err != nil {
		return "", err
	}
	return w.sum(), nil
}

// maxHeaderScan bounds how far VerifyRelease looks for the field.
const maxHeaderScan = 1 << 20

// VerifyRelease looks for ReleaseField in the header of msg (size bytes)
// and returns the first mark that verifies with pub for recipient rcpt
// (compared case-insensitively), is not older than maxAge, and whose hash
// matches the bytes after its line. ErrNoMark: no field at all; any other
// error says why no field verified.
func VerifyRelease(msg io.ReaderAt, size int64, pub ed25519.PublicKey, rcpt string, now time.Time, maxAge time.Duration) (Mark, error) {
	br := bufio.NewReaderSize(io.NewSectionReader(msg, 0, size), 64<<10)
	var off int64
	var errs []error
	seen := false
	for off < maxHeaderScan {
		line, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			// A very long line: skip it.
			n := int64(len(line))
			for err == bufio.ErrBufferFull {
				line, err = br.ReadSlice('\n')
				n += int64(len(line))
			}
			off += n
			continue
		}
		if len(line) == 0 {
			break
		}
		next := off + int64(len(line))
		trimmed := bytes.TrimRight(line, "\r\n")
		if len(trimmed) == 0 {
			break // end of the header
		}
		name, value, ok := bytes.Cut(trimmed, []byte(":"))
		if ok && strings.EqualFold(string(name), ReleaseField) {
			seen = true
			m, verr := verifyField(string(value), msg, next, size-next, pub, rcpt, now, maxAge)
			if verr == nil {
				return m, nil
			}
			errs = append(errs, verr)
		}
		off = next
		if err != nil {
			break
		}
	}
	if !seen {
		return Mark{}, ErrNoMark
	}
	return Mark{}, errors.Join(errs...)
}

func verifyField(v string, msg io.ReaderAt, off, n int64, pub ed25519.PublicKey, rcpt string, now time.Time, maxAge time.Duration) (Mark, error) {
	kv := map[string]string{}
	for _, p := range strings.Split(v, ";") {
		k, val, ok := strings.Cut(strings.TrimSpace(p), "=")
		if !ok {
			continue
		}
		if _, dup := kv[k]; dup {
			return Mark{}, fmt.Errorf("release mark: %s twice", k)
		}
		kv[k] = val
	}
	version := 0
	switch kv["v"] {
	case "1":
		version = 1
	case "2":
		version = 2
	default:
		return Mark{}, errors.New("release mark: unknown version")
	}
	if !ValidID(kv["id"]) {
		return Mark{}, errors.New("release mark: bad id")
	}
	sec, err := strconv.ParseInt(kv["t"], 10, 64)
	if err != nil {
		return Mark{}, errors.New("release mark: bad time")
	}
	to, err := base64.RawURLEncoding.DecodeString(kv["rcpt"])
	if err != nil {
		return Mark{}, errors.New("release mark: bad rcpt")
	}
	sig, err := base64.RawURLEncoding.DecodeString(kv["sig"])
	if err != nil || len(sig) != ed25519.SignatureSize {
		return Mark{}, errors.New("release mark: bad signature encoding")
	}
	m := Mark{ID: kv["id"], Time: time.Unix(sec, 0), Recipient: string(to), SHA256: kv["sha256"]}
	if version == 2 {
		switch kv["force"] {
		case "0":
		case "1":
			m.Force = true
		default:
			return Mark{}, errors.New("release mark: bad force")
		}
	}
	if len(m.SHA256) != 64 {
		return Mark{}, errors.New("release mark: bad sha256")
	}
	if len(pub) != ed25519.PublicKeySize || !ed25519.Verify(pub, m.signed(version), sig) {
		return Mark{}, errors.New("release mark: signature does not verify")
	}
	if !strings.EqualFold(m.Recipient, rcpt) {
		return Mark{}, fmt.Errorf("release mark: released for another recipient")
	}
	if now.Sub(m.Time) > maxAge || m.Time.After(now.Add(5*time.Minute)) {
		return Mark{}, fmt.Errorf("release mark: expired (released %s)", m.Time.UTC().Format(time.RFC3339))
	}
	h, err := ReleaseHash(io.NewSectionReader(msg, off, n))
	if err != nil {
		return Mark{}, err
	}
	if h != m.SHA256 {
		return Mark{}, errors.New("release mark: the message changed since its release")
	}
	return m, nil
}

// GenerateReleaseKey creates a new Ed25519 key pair: the private key in
// path (mode 0600, created exclusively: an existing key is never
// replaced) and the public key in path+".pub" (mode 0644).
func GenerateReleaseKey(path string) error {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return fmt.Errorf("release key: %w", err)
	}
	if err := pem.Encode(f, &pem.Block{Type: "SCANDELIVER RELEASE PRIVATE KEY", Bytes: priv.Seed()}); err != nil {
		f.Close()
		os.Remove(path)
		return fmt.Errorf("release key: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(path)
		return fmt.Errorf("release key: %w", err)
	}
	if err := f.Close(); err != nil {
		os.Remove(path)
		return fmt.Errorf("release key: %w", err)
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "SCANDELIVER RELEASE PUBLIC KEY", Bytes: pub})
	tmp := path + ".pub.tmp"
	os.Remove(tmp)
	if err := os.WriteFile(tmp, pubPEM, 0o644); err != nil {
		return fmt.Errorf("release key: %w", err)
	}
	if err := os.Chmod(tmp, 0o644); err != nil {
		return fmt.Errorf("release key: %w", err)
	}
	return os.Rename(tmp, path+".pub")
}

func readPEM(path, typ string, size int) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("release key: %w", err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != typ || len(blk.Bytes) != size {
		return nil, fmt.Errorf("release key %s: not a %s", path, typ)
	}
	return blk.Bytes, nil
}

// LoadReleaseKey reads the private key written by GenerateReleaseKey. It
// refuses a key file that others than its owner can read.
func LoadReleaseKey(path string) (ed25519.PrivateKey, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("release key: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("release key %s: mode %v: others can read it (want 0600)", path, fi.Mode().Perm())
	}
	seed, err := readPEM(path, "SCANDELIVER RELEASE PRIVATE KEY", ed25519.SeedSize)
	if err != nil {
		return nil, err
	}
	return ed25519.NewKeyFromSeed(seed), nil
}

// LoadReleasePublicKey reads the public key (path+".pub" for the private
// key path).
func LoadReleasePublicKey(pubPath string) (ed25519.PublicKey, error) {
	b, err := readPEM(pubPath, "SCANDELIVER RELEASE PUBLIC KEY", ed25519.PublicKeySize)
	if err != nil {
		return nil, err
	}
	return ed25519.PublicKey(b), nil
}

// EnsureReleaseKey loads the private key at path, generating the pair
// first when it does not exist.
func EnsureReleaseKey(path string) (ed25519.PrivateKey, error) {
	if _, err := os.Lstat(path); errors.Is(err, fs.ErrNotExist) {
		if err := GenerateReleaseKey(path); err != nil && !errors.Is(err, fs.ErrExist) {
			return nil, err
		}
	}
	return LoadReleaseKey(path)
}
