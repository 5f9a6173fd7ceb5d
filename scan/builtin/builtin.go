// Package builtin is a scanner that needs no daemon: it detects the EICAR
// test file (as its specification defines it, and as ClamAV detects it:
// the 68-byte string first, then only white space, 128 bytes at most)
// and matches files against ClamAV hash signature databases.
//
// Formats (ClamAV's "signatures" documentation):
//
//	.hdb   HashString:FileSize:MalwareName        (MD5)
//	.hsb   HashString:FileSize:MalwareName[:FLevel] (SHA-1 or SHA-256)
//
// The hash type is told by its length (32, 40, 64 hex digits), in both
// files. FileSize "*" matches any size. Lines starting with '#' and blank
// lines are skipped. A malformed line is an error that names the file
// and line: a database silently half-loaded would hide detections.
//
// The database is a map keyed by (size, hash); scanning computes only
// the hash types that the database holds, in one pass, and none at all
// when no signature has the object's size and none has "*".
package builtin

import (
	"bytes"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

type algo uint8

const (
	algoMD5 algo = iota
	algoSHA1
	algoSHA256
	nAlgo
)

var errLine = errors.New("malformed signature line")

type key struct {
	size int64 // -1: any size
	algo algo
	sum  [32]byte
}

// DB is a set of hash signatures. The zero value is empty and usable.
type DB struct {
	sigs  map[key]string
	has   [nAlgo]bool        // some signature has this hash type
	sizes map[int64]struct{} // sizes that have a signature
	any   [nAlgo]bool        // some signature of this type has size "*"
}

// Len returns the number of signatures loaded.
func (db *DB) Len() int { return len(db.sigs) }

// LoadFiles loads each path: a .hdb or .hsb file, or a directory whose
// .hdb and .hsb files are loaded in name order.
func (db *DB) LoadFiles(paths ...string) error {
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return err
		}
		if st.IsDir() {
			ents, err := os.ReadDir(p)
			if err != nil {
				return err
			}
			for _, e := range ents {
				ext := filepath.Ext(e.Name())
				if !e.IsDir() && (ext == ".hdb" || ext == ".hsb") {
					if err := db.loadFile(filepath.Join(p, e.Name())); err != nil {
						return err
					}
				}
			}
			continue
		}
		if err := db.loadFile(p); err != nil {
			return err
		}
	}
	return nil
}

func (db *DB) loadFile(path string) error {
	switch filepath.Ext(path) {
	case ".hdb", ".hsb":
	default:
		return fmt.Errorf("%s: not a .hdb or .hsb hash database", path)
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := db.Load(f); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// Load reads signatures in .hdb/.hsb format from r.
//
// The text is read whole and converted to one string once: every
// signature name is a substring of it (no allocation per line), and the
// maps are sized from the line count before filling them.
func (db *DB) Load(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	text := string(data)
	data = nil
	lines := strings.Count(text, "\n") + 1
	if db.sigs == nil {
		db.sigs = make(map[key]string, lines)
	}
	if db.sizes == nil {
		db.sizes = make(map[int64]struct{})
	}
	for ln := 1; text != ""; ln++ {
		var line string
		line, text, _ = strings.Cut(text, "\n")
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		if err := db.add(line); err != nil {
			return fmt.Errorf("line %d: %w", ln, err)
		}
	}
	return nil
}

func (db *DB) add(line string) error {
	h, rest, ok := strings.Cut(line, ":")
	sz, rest, ok2 := strings.Cut(rest, ":")
	if !ok || !ok2 {
		return fmt.Errorf("%w: want hash:size:name", errLine)
	}
	name, _, _ := strings.Cut(rest, ":") // drop FLevel fields
	if name == "" {
		return fmt.Errorf("%w: empty name", errLine)
	}
	var a algo
	switch len(h) {
	case 32:
		a = algoMD5
	case 40:
		a = algoSHA1
	case 64:
		a = algoSHA256
	default:
		return fmt.Errorf("%w: hash of %d hex digits", errLine, len(h))
	}
	k := key{algo: a}
	if _, err := hex.Decode(k.sum[:], []byte(h)); err != nil {
		return fmt.Errorf("%w: %v", errLine, err)
	}
	if sz == "*" {
		k.size = -1
		db.any[a] = true
	} else {
		n, err := strconv.ParseInt(sz, 10, 64)
		if err != nil || n < 0 {
			return fmt.Errorf("%w: size %q", errLine, sz)
		}
		k.size = n
		db.sizes[n] = struct{}{}
	}
	db.sigs[k] = name
	db.has[a] = true
	return nil
}

// Match hashes r (size bytes) and returns the name of the matching
// signature, or "". When r yields a different number of bytes than size,
// the real count is used.
func (db *DB) Match(r io.Reader, size int64) (string, error) {
	var want [nAlgo]bool
	need := false
	_, sized := db.sizes[size]
	for a := range nAlgo {
		want[a] = db.has[a] && (sized || db.any[a])
		need = need || want[a]
	}
	if !need {
		return "", nil
	}
	var hs [nAlgo]hash.Hash
	var ws []io.Writer
	for a := range nAlgo {
		if !want[a] {
			continue
		}
		switch a {
		case algoMD5:
			hs[a] = md5.New()
		case algoSHA1:
			hs[a] = sha1.New()
		case algoSHA256:
			hs[a] = sha256.New()
		}
		ws = append(ws, hs[a])
	}
	n, err := io.Copy(io.MultiWriter(ws...), r)
	if err != nil {
		return "", err
	}
	for a := range nAlgo {
		if hs[a] == nil {
			continue
		}
		k := key{size: n, algo: a}
		copy(k.sum[:], hs[a].Sum(nil))
		if name, ok := db.sigs[k]; ok {
			return name, nil
		}
		k.size = -1
		if name, ok := db.sigs[k]; ok {
			return name, nil
		}
	}
	return "", nil
}

// Names returns every signature name, sorted (for diagnostics).
func (db *DB) Names() []string {
	var out []string
	for _, n := range db.sigs {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// EicarName is the signature name reported for the EICAR test file.
const EicarName = "Eicar-Test-Signature"

// Eicar returns the 68-byte EICAR test string. It is assembled at run
// time from a rot13 form, so that neither the repository nor the binary
// holds it in clear (other scanners would flag them).
func Eicar() []byte {
	return rot13(`K5B!C%@NC[4\CMK54(C^)7PP)7}$RVPNE-FGNAQNEQ-NAGVIVEHF-GRFG-SVYR!$U+U*`)
}

// GTUBE returns SpamAssassin's spam test string (rspamd knows it too),
// for self-tests and tests of the spam engines; builtin does not detect
// it. It is assembled like Eicar, for the same reason.
func GTUBE() []byte {
	return rot13(`KWF*P4WQODNQA1.AFOA3*2VQARA*TGHOR-FGNAQNEQ-NAGV-HOR-GRFG-RZNVY*P.34K`)
}

// rot13 rotates the ASCII letters of s.
func rot13(s string) []byte {
	b := []byte(s)
	for i, c := range b {
		switch {
		case c >= 'a' && c <= 'z':
			b[i] = 'a' + (c-'a'+13)%26
		case c >= 'A' && c <= 'Z':
			b[i] = 'A' + (c-'A'+13)%26
		}
	}
	return b
}

// EicarMaxSize is the largest EICAR test file: the 68-byte string, then
// at most 60 bytes of white space.
const EicarMaxSize = 128

// IsEicar reports whether r (size bytes, or -1 when unknown) is the EICAR
// test file as its specification defines it, and as ClamAV detects it:
// the 68 characters first, then only white space, 128 bytes at most. The
// string inside a larger file is not the test file (an article about it,
// a mail quoting it); a file of another size is judged without a read.
func IsEicar(r io.Reader, size int64, eicar []byte) (bool, error) {
	if size >= 0 && (size < int64(len(eicar)) || size > EicarMaxSize) {
		return false, nil
	}
	buf := make([]byte, EicarMaxSize+1)
	n, err := io.ReadFull(r, buf)
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return false, err
	}
	b := buf[:n]
	if n > EicarMaxSize || !bytes.HasPrefix(b, eicar) {
		return false, nil
	}
	for _, c := range b[len(eicar):] {
		switch c {
		case ' ', '\t', '\r', '\n', '\v', '\f':
		default:
			return false, nil
		}
	}
	return true, nil
}
