package builtin

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/scandeliver/scandeliver/tests/testenv"
)

// cacheFixture writes a database directory of two files and returns its
// path and the objects its signatures match, with their names.
func cacheFixture(t *testing.T) (string, map[string][]byte) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "db")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	objs := map[string][]byte{}
	var hdb, hsb bytes.Buffer
	for i := range 50 {
		x := []byte(fmt.Sprintf("object %d", i))
		name := fmt.Sprintf("Test.Obj-%d", i)
		objs[name] = x
		switch i % 3 {
		case 0:
			fmt.Fprintf(&hdb, "%x:%d:%s\n", md5Sum(x), len(x), name)
		case 1:
			fmt.Fprintf(&hsb, "%x:%d:%s:73\n", sha256Sum(x), len(x), name)
		case 2:
			fmt.Fprintf(&hsb, "%x:*:%s\n", sha1Sum(x), name)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "a.hdb"), hdb.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "b.hsb"), hsb.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, objs
}

// checkDB: every object is found under its name, and a near miss is not.
func checkDB(t *testing.T, db *DB, objs map[string][]byte) {
	t.Helper()
	if db.Len() != len(objs) {
		t.Errorf("Len %d, want %d", db.Len(), len(objs))
	}
	for name, x := range objs {
		got, err := db.Match(bytes.NewReader(x), int64(len(x)))
		if err != nil || got != name {
			t.Errorf("Match(%q) = %q, %v; want %q", x, got, err, name)
		}
		y := append(slices.Clone(x), ' ')
		if got, _ := db.Match(bytes.NewReader(y), int64(len(y))); got != "" {
			t.Errorf("Match(%q) = %q, want none", y, got)
		}
	}
}

func loadCached(t *testing.T, cache string, paths ...string) (*DB, CacheState, error) {
	t.Helper()
	db := &DB{}
	st, cerr, err := db.LoadCached(cache, paths...)
	if err != nil {
		t.Fatal(err)
	}
	return db, st, cerr
}

func TestCache(t *testing.T) {
	dbdir, objs := cacheFixture(t)
	cache := filepath.Join(t.TempDir(), "cache")
	ref := &DB{}
	if err := ref.LoadFiles(dbdir); err != nil {
		t.Fatal(err)
	}
	checkDB(t, ref, objs)

	db, st, cerr := loadCached(t, cache, dbdir)
	if st != CacheWritten || db.Mapped() {
		t.Fatalf("first load: state %d (mapped %v), %v; want written", st, db.Mapped(), cerr)
	}
	checkDB(t, db, objs)
	db, st, cerr = loadCached(t, cache, dbdir)
	if st != CacheUsed || !db.Mapped() {
		t.Fatalf("second load: state %d, %v; want the cache used", st, cerr)
	}
	checkDB(t, db, objs)
	if !slices.Equal(db.Names(), ref.Names()) {
		t.Errorf("names from the cache differ")
	}

	// A changed file makes it stale: the new signature is seen, and the
	// cache is rewritten.
	x := []byte("a new object")
	objs["Test.New"] = x
	f, err := os.OpenFile(filepath.Join(dbdir, "a.hdb"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(f, "%x:%d:Test.New\n", md5Sum(x), len(x))
	f.Close()
	db, st, _ = loadCached(t, cache, dbdir)
	if st != CacheWritten {
		t.Fatalf("after a change: state %d, want rewritten", st)
	}
	checkDB(t, db, objs)

	// So does a file added to the directory.
	y := []byte("another new object")
	objs["Test.Added"] = y
	os.WriteFile(filepath.Join(dbdir, "c.hdb"), fmt.Appendf(nil, "%x:%d:Test.Added\n", md5Sum(y), len(y)), 0o644)
	db, st, _ = loadCached(t, cache, dbdir)
	if st != CacheWritten {
		t.Fatalf("after a new file: state %d, want rewritten", st)
	}
	checkDB(t, db, objs)
	if db, st, _ = loadCached(t, cache, dbdir); st != CacheUsed {
		t.Fatalf("state %d, want used", st)
	}
	checkDB(t, db, objs)

	// A damaged (truncated) cache is not used, and is rewritten.
	files, _ := filepath.Glob(filepath.Join(cache, "hashdb-*.cache"))
	if len(files) != 1 {
		t.Fatalf("cache files %v", files)
	}
	fi, _ := os.Stat(files[0])
	os.Truncate(files[0], fi.Size()-3)
	if db, st, _ = loadCached(t, cache, dbdir); st != CacheWritten {
		t.Fatalf("truncated cache: state %d, want rewritten", st)
	}
	checkDB(t, db, objs)
}

// TestCacheUntrusted: a cache another user could have written or
// replaced is never read (issue 12: every local user is hostile). Each
// case plants a valid cache that lacks a signature, in a place or with an
// owner or mode we must not trust, and the signature must still be found.
func TestCacheUntrusted(t *testing.T) {
	if os.Geteuid() != 0 {
		testenv.Missing(t, "needs root: plants files of another user")
	}
	dbdir, objs := cacheFixture(t)
	// The planted cache: made from a copy of the database without
	// Test.Obj-0, then given the real files' fingerprint.
	plant := func(t *testing.T, cache string) string {
		t.Helper()
		files, err := sourceFiles([]string{dbdir})
		if err != nil {
			t.Fatal(err)
		}
		evil := &DB{}
		if err := evil.LoadFiles(dbdir); err != nil {
			t.Fatal(err)
		}
		x := objs["Test.Obj-0"]
		evil.tabs[algoMD5] = slices.Clone(evil.tabs[algoMD5])
		for i := 0; i < len(evil.tabs[algoMD5]); i += recLen(algoMD5) {
			if evil.name(uint32FromRec(evil.tabs[algoMD5][i:], algoMD5)) == "Test.Obj-0" {
				evil.tabs[algoMD5] = slices.Delete(evil.tabs[algoMD5], i, i+recLen(algoMD5))
				break
			}
		}
		if got, _ := evil.Match(bytes.NewReader(x), int64(len(x))); got != "" {
			t.Fatal("the planted database still matches")
		}
		if err := os.MkdirAll(cache, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := evil.writeCache(cache, cacheName([]string{dbdir}), fingerprint(files)); err != nil {
			t.Fatal(err)
		}
		return filepath.Join(cache, cacheName([]string{dbdir}))
	}
	for _, c := range []struct {
		name  string
		setup func(t *testing.T, cache string)
	}{
		{"file of another user", func(t *testing.T, cache string) {
			os.Chown(plant(t, cache), 65534, 65534)
		}},
		{"group-writable file", func(t *testing.T, cache string) {
			os.Chmod(plant(t, cache), 0o664)
		}},
		{"directory of another user", func(t *testing.T, cache string) {
			plant(t, cache)
			os.Chown(cache, 65534, 65534)
		}},
		{"world-writable directory", func(t *testing.T, cache string) {
			plant(t, cache)
			os.Chmod(cache, 0o777)
		}},
		{"parent of another user", func(t *testing.T, cache string) {
			plant(t, cache)
			os.Chown(filepath.Dir(cache), 65534, 65534)
		}},
		{"symbolic link as the file", func(t *testing.T, cache string) {
			p := plant(t, cache)
			os.Rename(p, p+".real")
			os.Symlink(filepath.Base(p)+".real", p)
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			cache := filepath.Join(t.TempDir(), "parent", "cache")
			// Planted as it is (trusted), the cache would be used: the
			// fixture is a real attack.
			plant(t, cache)
			if db, st, _ := loadCached(t, cache, dbdir); st != CacheUsed {
				t.Fatalf("the planted cache is not used even when trusted (state %d)", st)
			} else if got, _ := db.Match(bytes.NewReader(objs["Test.Obj-0"]), int64(len(objs["Test.Obj-0"]))); got != "" {
				t.Fatal("the planted cache matches Test.Obj-0")
			}
			c.setup(t, cache)
			db, st, cerr := loadCached(t, cache, dbdir)
			if st == CacheUsed || db.Mapped() {
				t.Fatalf("untrusted cache used")
			}
			if cerr == nil {
				t.Errorf("no reason given for not using the cache (state %d)", st)
			}
			checkDB(t, db, objs)
		})
	}
}

func uint32FromRec(r []byte, a algo) uint32 {
	kl := 8 + hashLen[a]
	return uint32(r[kl])<<24 | uint32(r[kl+1])<<16 | uint32(r[kl+2])<<8 | uint32(r[kl+3])
}

// TestCachePrune: writing a cache removes the caches of databases that
// are gone, and keeps the others.
func TestCachePrune(t *testing.T) {
	cache := filepath.Join(t.TempDir(), "cache")
	keepDir, _ := cacheFixture(t)
	goneDir, _ := cacheFixture(t)
	if _, st, _ := loadCached(t, cache, keepDir); st != CacheWritten {
		t.Fatal(st)
	}
	if _, st, _ := loadCached(t, cache, goneDir); st != CacheWritten {
		t.Fatal(st)
	}
	if m, _ := filepath.Glob(filepath.Join(cache, "hashdb-*.cache")); len(m) != 2 {
		t.Fatalf("caches %v", m)
	}
	os.RemoveAll(goneDir)
	third, _ := cacheFixture(t)
	if _, st, _ := loadCached(t, cache, third); st != CacheWritten {
		t.Fatal(st)
	}
	m, _ := filepath.Glob(filepath.Join(cache, "hashdb-*.cache"))
	want := map[string]bool{filepath.Join(cache, cacheName([]string{keepDir})): true, filepath.Join(cache, cacheName([]string{third})): true}
	if len(m) != 2 || !want[m[0]] || !want[m[1]] {
		t.Errorf("after pruning: %v, want the caches of %s and %s", m, keepDir, third)
	}
	if _, st, _ := loadCached(t, cache, keepDir); st != CacheUsed {
		t.Errorf("the kept cache is not used: %d", st)
	}
}
