package builtin

// The cache: the sorted tables of a set of database files, written once
// to a file that later loads map as they are, instead of parsing the
// text again (issue 13: a million-hash .hdb cost 0.75 s of CPU per
// one-shot delivery).
//
// Layout (integers big-endian):
//
//	0   "SDHDB01\n"
//	8   u64 length of the fingerprint
//	16  u64 records of each hash type (MD5, SHA-1, SHA-256)
//	40  u64 length of the names
//	48  the fingerprint, padded with zeros to a multiple of 8
//	    the three tables, then the names (DB's own layout)
//
// The fingerprint names every source file with its device, inode, size,
// modification and change times: any change to the files, or a file
// added to or removed from a database directory, makes the cache stale,
// and it is rebuilt by the next load that may write it.
//
// Trust (issue 12: every local user is hostile): a cache decides what is
// detected, so one that another user could have written or replaced is
// never read. The cache directory, after its symbolic links are
// resolved, and every directory above it, must belong to root or to the
// user we run as, and be writable by no one else (unless sticky: then
// no one else can replace our entries); the file itself must be a
// regular file of root's or ours, writable by no one else. A cache that
// fails any check, or is stale or damaged, is ignored: the text is
// loaded, and the cache rewritten when we may.

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
)

// DefaultCacheDir is where the builtin engine keeps its cache files when
// its cache_dir is not set.
const DefaultCacheDir = "/var/cache/scandeliver"

const (
	cacheMagic = "SDHDB01\n"
	cacheHead  = 48
)

// CacheState says how LoadCached loaded a database.
type CacheState int

const (
	// NoCache: no cache directory was given; the text was loaded.
	NoCache CacheState = iota
	// CacheUsed: the tables were mapped from a valid cache file.
	CacheUsed
	// CacheWritten: the text was loaded and a cache file written.
	CacheWritten
	// CacheUnusable: the text was loaded; no valid cache could be read or
	// written (not trusted, not writable: see the error).
	CacheUnusable
)

// LoadCached loads paths as LoadFiles does, through a cache file in dir
// ("" loads the text, no cache). A cache that is valid and trusted is
// mapped; else the text is loaded and a new cache written when dir is
// trusted and writable. err is an error of the databases themselves;
// why a cache could not be used or written is cerr, for the log: a
// delivery does not depend on it.
func (db *DB) LoadCached(dir string, paths ...string) (state CacheState, cerr, err error) {
	files, err := sourceFiles(paths)
	if err != nil {
		return NoCache, nil, err
	}
	if dir == "" || db.Len() > 0 || len(files) == 0 {
		for _, f := range files {
			if err := db.loadFile(f.path); err != nil {
				return NoCache, nil, err
			}
		}
		return NoCache, nil, nil
	}
	fp := fingerprint(files)
	name := cacheName(paths)
	rdir, cerr := trustedDir(dir)
	if cerr == nil {
		cerr = db.mapCache(filepath.Join(rdir, name), fp)
		if cerr == nil {
			return CacheUsed, nil, nil
		}
	}
	for _, f := range files {
		if err := db.loadFile(f.path); err != nil {
			return NoCache, nil, err
		}
	}
	if rdir == "" {
		// The directory may not exist yet: make it (0755), then check it.
		if merr := os.MkdirAll(dir, 0o755); merr != nil {
			return CacheUnusable, cerr, nil
		}
		var terr error
		if rdir, terr = trustedDir(dir); terr != nil {
			return CacheUnusable, terr, nil
		}
	}
	if werr := db.writeCache(rdir, name, fp); werr != nil {
		return CacheUnusable, errors.Join(cerr, werr), nil
	}
	pruneCaches(rdir, name)
	return CacheWritten, cerr, nil
}

// pruneCaches removes the cache files of dir, other than keep, whose
// databases are gone (a file of their fingerprint no longer exists):
// without it, every set of paths ever configured (every test's temporary
// database) would leave its cache behind for good. It runs only after a
// cache was written, which is rare.
func pruneCaches(dir, keep string) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		n := e.Name()
		if n == keep || !strings.HasPrefix(n, "hashdb-") || !strings.HasSuffix(n, ".cache") {
			continue
		}
		p := filepath.Join(dir, n)
		fp, ok := cacheFingerprint(p)
		if !ok {
			continue
		}
		for _, line := range strings.Split(strings.TrimSuffix(string(fp), "\n"), "\n") {
			src, _, _ := strings.Cut(line, "\x00")
			if _, err := os.Lstat(src); errors.Is(err, fs.ErrNotExist) {
				os.Remove(p)
				break
			}
		}
	}
}

// cacheFingerprint reads the fingerprint of a cache file (at most 1 MB).
func cacheFingerprint(path string) ([]byte, bool) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return nil, false
	}
	defer f.Close()
	head := make([]byte, cacheHead)
	if _, err := io.ReadFull(f, head); err != nil || string(head[:8]) != cacheMagic {
		return nil, false
	}
	fl := binary.BigEndian.Uint64(head[8:])
	if fl == 0 || fl > 1<<20 {
		return nil, false
	}
	fp := make([]byte, fl)
	if _, err := io.ReadFull(f, fp); err != nil {
		return nil, false
	}
	return fp, true
}

// Mapped reports whether the tables are mapped from a cache file.
func (db *DB) Mapped() bool { return db.mapped }

// cacheName names the cache of a list of paths, as configured.
func cacheName(paths []string) string {
	h := sha256.Sum256([]byte(strings.Join(paths, "\x00")))
	return "hashdb-" + hex.EncodeToString(h[:16]) + ".cache"
}

func fingerprint(files []source) []byte {
	var b bytes.Buffer
	for _, f := range files {
		fmt.Fprintf(&b, "%s\x00%d %d %d %d.%d %d.%d\n", f.path, f.st.Dev, f.st.Ino, f.st.Size,
			f.st.Mtim.Sec, f.st.Mtim.Nsec, f.st.Ctim.Sec, f.st.Ctim.Nsec)
	}
	return b.Bytes()
}

// trustedDir resolves dir's symbolic links and checks that the result
// and every directory above it belong to root or to us and are writable
// by no one else (or are sticky). It returns the resolved path.
func trustedDir(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return "", err
	}
	euid := uint32(os.Geteuid())
	for p := real; ; p = filepath.Dir(p) {
		var st syscall.Stat_t
		if err := syscall.Lstat(p, &st); err != nil {
			return "", &os.PathError{Op: "lstat", Path: p, Err: err}
		}
		switch {
		case st.Mode&syscall.S_IFMT != syscall.S_IFDIR:
			return "", fmt.Errorf("cache directory %s: %s is not a directory", dir, p)
		case st.Uid != 0 && st.Uid != euid:
			return "", fmt.Errorf("cache directory %s: %s belongs to uid %d, not root or us: not trusted", dir, p, st.Uid)
		case st.Mode&0o022 != 0 && st.Mode&syscall.S_ISVTX == 0:
			return "", fmt.Errorf("cache directory %s: %s is writable by others (mode %o): not trusted", dir, p, st.Mode&0o7777)
		}
		if p == "/" || p == filepath.Dir(p) {
			return real, nil
		}
	}
}

// mapCache maps the cache file path when it is trusted and holds the
// tables of exactly the files of fp.
func (db *DB) mapCache(path string, fp []byte) error {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	var st syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
		return err
	}
	euid := uint32(os.Geteuid())
	switch {
	case st.Mode&syscall.S_IFMT != syscall.S_IFREG:
		return fmt.Errorf("%s: not a regular file", path)
	case st.Uid != 0 && st.Uid != euid:
		return fmt.Errorf("%s: belongs to uid %d, not root or us: not trusted", path, st.Uid)
	case st.Mode&0o022 != 0:
		return fmt.Errorf("%s: writable by others (mode %o): not trusted", path, st.Mode&0o7777)
	case st.Size < cacheHead || st.Size > 1<<40:
		return fmt.Errorf("%s: %d bytes: damaged", path, st.Size)
	}
	data, err := syscall.Mmap(int(f.Fd()), 0, int(st.Size), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return fmt.Errorf("%s: mmap: %w", path, err)
	}
	var tabs [nAlgo][]byte
	var names []byte
	if err := func() error {
		if string(data[:8]) != cacheMagic {
			return errors.New("not a cache of this version")
		}
		fl := binary.BigEndian.Uint64(data[8:])
		if fl != uint64(len(fp)) || uint64(len(data)) < cacheHead+fl {
			return errors.New("stale")
		}
		if !bytes.Equal(data[cacheHead:cacheHead+fl], fp) {
			return errors.New("stale")
		}
		off := uint64(cacheHead) + (fl+7)&^7
		for a := range nAlgo {
			n := binary.BigEndian.Uint64(data[16+8*int(a):])
			l := n * uint64(recLen(a))
			if n > uint64(len(data)) || off+l > uint64(len(data)) {
				return errors.New("damaged")
			}
			tabs[a] = data[off : off+l : off+l]
			off += l
		}
		nl := binary.BigEndian.Uint64(data[40:])
		if off+nl != uint64(len(data)) {
			return errors.New("damaged")
		}
		names = data[off:len(data):len(data)]
		return nil
	}(); err != nil {
		syscall.Munmap(data)
		return fmt.Errorf("%s: %w", path, err)
	}
	db.tabs, db.names, db.mapped = tabs, names, true
	// The mapping lives as long as db: nothing of it escapes (names are
	// copied out), so it is unmapped when db is collected (a reload in
	// serve mode drops the old snapshot).
	runtime.AddCleanup(db, func(b []byte) { syscall.Munmap(b) }, data)
	return nil
}

// writeCache writes db's tables to dir/name: a temporary file of ours,
// synced, then renamed over the old one, so that a reader sees the old
// cache or the new one, never half of one.
func (db *DB) writeCache(dir, name string, fp []byte) (err error) {
	f, err := os.CreateTemp(dir, ".hashdb-*.tmp")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	head := make([]byte, cacheHead, cacheHead+len(fp)+8)
	copy(head, cacheMagic)
	binary.BigEndian.PutUint64(head[8:], uint64(len(fp)))
	for a := range nAlgo {
		binary.BigEndian.PutUint64(head[16+8*int(a):], uint64(len(db.tabs[a])/recLen(a)))
	}
	binary.BigEndian.PutUint64(head[40:], uint64(len(db.names)))
	head = append(head, fp...)
	head = append(head, make([]byte, (8-len(fp)%8)%8)...)
	for _, b := range [][]byte{head, db.tabs[0], db.tabs[1], db.tabs[2], db.names} {
		if _, err := f.Write(b); err != nil {
			return err
		}
	}
	if err := f.Chmod(0o644); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), filepath.Join(dir, name)); err != nil {
		return err
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
