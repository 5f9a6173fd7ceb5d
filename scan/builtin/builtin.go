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
// The database is a sorted table of fixed-size records per hash type,
// searched by (size, hash); scanning computes only the hash types that
// the database holds, in one pass, and none at all when no signature has
// the object's size and none has "*". LoadCached keeps the tables in a
// cache file that later loads map instead of parsing the text again.
package builtin

import (
	"bytes"
	"cmp"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"syscall"
)

type algo uint8

const (
	algoMD5 algo = iota
	algoSHA1
	algoSHA256
	nAlgo
)

// hashLen is the length of each hash type's digest.
var hashLen = [nAlgo]int{16, 20, 32}

var errLine = errors.New("malformed signature line")

// DB is a set of hash signatures. The zero value is empty and usable.
// Once loaded it is only read, and is safe for concurrent use.
//
// Each hash type has a table of fixed-size records sorted by (size,
// hash): 8 bytes of size+1, big-endian (0: any size, ClamAV's "*"), the
// digest, and 4 bytes locating the name in names (a 2-byte length, then
// the name). A lookup is a binary search; the tables hold no pointers,
// so the garbage collector never scans them, and the same layout is
// what a cache file holds (cache.go), mapped as it is.
type DB struct {
	tabs  [nAlgo][]byte
	names []byte
	// build holds what Load parsed, until it is sorted into tabs.
	build  [nAlgo][]rec
	seq    uint32
	mapped bool // tabs and names are a cache file's mapping
}

// rec is a signature while loading: the key as big-endian words (size+1,
// then the digest), a sequence number (the last duplicate wins, as in a
// map) and the name's offset.
type rec struct {
	k    [5]uint64
	seq  uint32
	name uint32
}

func recLen(a algo) int { return 8 + hashLen[a] + 4 }

// Len returns the number of signatures loaded.
func (db *DB) Len() int {
	n := 0
	for a := range nAlgo {
		n += len(db.tabs[a]) / recLen(a)
	}
	return n
}

// LoadFiles loads each path: a .hdb or .hsb file, or a directory whose
// .hdb and .hsb files are loaded in name order.
func (db *DB) LoadFiles(paths ...string) error {
	files, err := sourceFiles(paths)
	if err != nil {
		return err
	}
	for _, f := range files {
		if err := db.loadFile(f.path); err != nil {
			return err
		}
	}
	return nil
}

// source is one database file, as found by sourceFiles.
type source struct {
	path string
	st   syscall.Stat_t
}

// sourceFiles expands paths (files, and directories of .hdb and .hsb
// files in name order) into the files to load, each with its status.
func sourceFiles(paths []string) ([]source, error) {
	var out []source
	add := func(p string) error {
		var s source
		s.path = p
		if err := syscall.Stat(p, &s.st); err != nil {
			return &os.PathError{Op: "stat", Path: p, Err: err}
		}
		out = append(out, s)
		return nil
	}
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			switch filepath.Ext(p) {
			case ".hdb", ".hsb":
			default:
				return nil, fmt.Errorf("%s: not a .hdb or .hsb hash database", p)
			}
			if err := add(p); err != nil {
				return nil, err
			}
			continue
		}
		ents, err := os.ReadDir(p)
		if err != nil {
			return nil, err
		}
		for _, e := range ents {
			ext := filepath.Ext(e.Name())
			if !e.IsDir() && (ext == ".hdb" || ext == ".hsb") {
				if err := add(filepath.Join(p, e.Name())); err != nil {
					return nil, err
				}
			}
		}
	}
	return out, nil
}

func (db *DB) loadFile(path string) error {
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

// Load reads signatures in .hdb/.hsb format from r. A signature whose
// size and hash are already loaded replaces the earlier one.
func (db *DB) Load(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if err := db.parse(data); err != nil {
		db.build = [nAlgo][]rec{}
		return err
	}
	db.finish()
	return nil
}

func (db *DB) parse(text []byte) error {
	lines := bytes.Count(text, []byte("\n")) + 1
	for ln := 1; len(text) > 0; ln++ {
		var line []byte
		line, text, _ = bytes.Cut(text, []byte("\n"))
		line = bytes.TrimSpace(line)
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		if err := db.add(line, lines); err != nil {
			return fmt.Errorf("line %d: %w", ln, err)
		}
	}
	return nil
}

func (db *DB) add(line []byte, hint int) error {
	h, rest, ok := bytes.Cut(line, []byte(":"))
	sz, rest, ok2 := bytes.Cut(rest, []byte(":"))
	if !ok || !ok2 {
		return fmt.Errorf("%w: want hash:size:name", errLine)
	}
	name, _, _ := bytes.Cut(rest, []byte(":")) // drop FLevel fields
	if len(name) == 0 {
		return fmt.Errorf("%w: empty name", errLine)
	}
	if len(name) > 0xffff {
		return fmt.Errorf("%w: name of %d bytes", errLine, len(name))
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
	var key [40]byte
	if _, err := hex.Decode(key[8:], h); err != nil {
		return fmt.Errorf("%w: %v", errLine, err)
	}
	if string(sz) != "*" {
		n, err := strconv.ParseInt(string(sz), 10, 64)
		if err != nil || n < 0 || n == math.MaxInt64 {
			return fmt.Errorf("%w: size %q", errLine, sz)
		}
		binary.BigEndian.PutUint64(key[:8], uint64(n)+1)
	}
	if len(db.names)+2+len(name) > math.MaxUint32 {
		return fmt.Errorf("%w: names over 4 GB", errLine)
	}
	r := rec{seq: db.seq, name: uint32(len(db.names))}
	db.seq++
	for i := range r.k {
		r.k[i] = binary.BigEndian.Uint64(key[8*i:])
	}
	db.names = binary.BigEndian.AppendUint16(db.names, uint16(len(name)))
	db.names = append(db.names, name...)
	if db.build[a] == nil {
		db.build[a] = make([]rec, 0, hint)
	}
	db.build[a] = append(db.build[a], r)
	return nil
}

// finish sorts what was parsed into the tables, merged with what they
// held; of equal keys the last loaded is kept.
func (db *DB) finish() {
	for a := range nAlgo {
		b := db.build[a]
		if len(b) == 0 {
			continue
		}
		rl := recLen(a)
		kl := 8 + hashLen[a]
		// Records already in the table go first: they were loaded before.
		old := db.tabs[a]
		all := make([]rec, 0, len(old)/rl+len(b))
		for i := 0; i+rl <= len(old); i += rl {
			var key [40]byte
			copy(key[:], old[i:i+kl])
			r := rec{name: binary.BigEndian.Uint32(old[i+kl:])}
			for j := range r.k {
				r.k[j] = binary.BigEndian.Uint64(key[8*j:])
			}
			all = append(all, r)
		}
		for _, r := range b {
			r.seq += uint32(len(old) / rl)
			all = append(all, r)
		}
		for i := range len(old) / rl {
			all[i].seq = uint32(i)
		}
		slices.SortFunc(all, func(x, y rec) int {
			if c := slices.Compare(x.k[:], y.k[:]); c != 0 {
				return c
			}
			return cmp.Compare(x.seq, y.seq)
		})
		tab := make([]byte, 0, len(all)*rl)
		var key [40]byte
		for i, r := range all {
			if i+1 < len(all) && all[i+1].k == r.k {
				continue // a later duplicate replaces it
			}
			for j := range r.k {
				binary.BigEndian.PutUint64(key[8*j:], r.k[j])
			}
			tab = append(tab, key[:kl]...)
			tab = binary.BigEndian.AppendUint32(tab, r.name)
		}
		db.tabs[a] = tab
		db.build[a] = nil
	}
	db.seq = 0
}

// search returns the index of the first record of tab whose key is not
// below key (compared on len(key) bytes).
func search(tab []byte, rl int, key []byte) int {
	n := len(tab) / rl
	return sort.Search(n, func(i int) bool {
		return bytes.Compare(tab[i*rl:i*rl+len(key)], key) >= 0
	})
}

// hasSize reports whether tab holds a signature of size+1 sz1.
func hasSize(tab []byte, rl int, sz1 uint64) bool {
	var k [8]byte
	binary.BigEndian.PutUint64(k[:], sz1)
	i := search(tab, rl, k[:])
	return i*rl+8 <= len(tab) && bytes.Equal(tab[i*rl:i*rl+8], k[:])
}

// lookup returns the name of the signature (sz1, sum) in table a.
func (db *DB) lookup(a algo, sz1 uint64, sum []byte) (string, bool) {
	tab, rl := db.tabs[a], recLen(a)
	var key [40]byte
	binary.BigEndian.PutUint64(key[:8], sz1)
	kl := 8 + copy(key[8:], sum)
	i := search(tab, rl, key[:kl])
	if i*rl+rl > len(tab) || !bytes.Equal(tab[i*rl:i*rl+kl], key[:kl]) {
		return "", false
	}
	return db.name(binary.BigEndian.Uint32(tab[i*rl+kl:])), true
}

// name returns the name at off in names (a copy: names may be a mapped
// file), or a placeholder when off is out of bounds (a damaged cache).
func (db *DB) name(off uint32) string {
	o := int(off)
	if o+2 > len(db.names) {
		return "Unknown.Signature"
	}
	n := int(binary.BigEndian.Uint16(db.names[o:]))
	if o+2+n > len(db.names) {
		return "Unknown.Signature"
	}
	return string(db.names[o+2 : o+2+n])
}

// want tells which hash types an object of size bytes (-1: unknown) must
// be hashed with: those with a signature of its size or of any size.
func (db *DB) want(size int64) (want [nAlgo]bool, need bool) {
	for a := range nAlgo {
		tab, rl := db.tabs[a], recLen(a)
		if len(tab) == 0 {
			continue
		}
		want[a] = size < 0 || hasSize(tab, rl, 0) || hasSize(tab, rl, uint64(size)+1)
		need = need || want[a]
	}
	return want, need
}

// MayMatch reports whether an object of size bytes (-1: unknown) could
// match a signature: when it cannot, Match would not read it.
func (db *DB) MayMatch(size int64) bool {
	_, need := db.want(size)
	return need
}

// Match hashes r (size bytes, -1 when unknown) and returns the name of
// the matching signature, or "". When r yields a different number of
// bytes than size, the real count is used.
func (db *DB) Match(r io.Reader, size int64) (string, error) {
	want, need := db.want(size)
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
		sum := hs[a].Sum(nil)
		if name, ok := db.lookup(a, uint64(n)+1, sum); ok {
			return name, nil
		}
		if name, ok := db.lookup(a, 0, sum); ok {
			return name, nil
		}
	}
	return "", nil
}

// Names returns every signature name, sorted (for diagnostics).
func (db *DB) Names() []string {
	var out []string
	for a := range nAlgo {
		tab, rl := db.tabs[a], recLen(a)
		for i := 0; i+rl <= len(tab); i += rl {
			out = append(out, db.name(binary.BigEndian.Uint32(tab[i+rl-4:])))
		}
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
