package unpack

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand"
	"testing"
)

// chunkLog is a writer that keeps what it is given and the size of each
// write, and fails once it holds more than limit bytes (limit < 0: never),
// as the sink does at the expansion limit.
type chunkLog struct {
	buf    bytes.Buffer
	sizes  []int
	limit  int
	failed bool
}

var errChunkLog = errors.New("chunkLog full")

func (c *chunkLog) Write(p []byte) (int, error) {
	c.sizes = append(c.sizes, len(p))
	if c.limit >= 0 && c.buf.Len()+len(p) > c.limit {
		c.buf.Write(p[:c.limit-c.buf.Len()])
		c.failed = true
		return 0, errChunkLog
	}
	c.buf.Write(p)
	return len(p), nil
}

// splitWrites feeds text to write in pieces of random sizes (from seed),
// stopping at the first error, and returns that error.
func splitWrites(text []byte, seed int64, write func([]byte) (int, error)) error {
	rnd := rand.New(rand.NewSource(seed))
	for len(text) > 0 {
		var n int
		switch rnd.Intn(4) {
		case 0:
			n = 1 + rnd.Intn(8)
		case 1:
			n = 1 + rnd.Intn(200)
		default:
			n = 1 + rnd.Intn(40<<10)
		}
		n = min(n, len(text))
		if _, err := write(text[:n]); err != nil {
			return err
		}
		text = text[n:]
	}
	return nil
}

// decodeBoth decodes text with Write (the line path) and with the
// reference decoders (writeRuns, as Write was before the line path, and
// writeByte, one character at a time), all split into the same writes,
// and reports any difference in output, problems, errors or (between
// Write and writeRuns, whose flush points must agree) write sizes.
func decodeBoth(t *testing.T, text []byte, seed int64, limit int) {
	t.Helper()
	fast, ref, one := &chunkLog{limit: limit}, &chunkLog{limit: limit}, &chunkLog{limit: limit}
	fd, rd, od := newBase64Writer(fast), newBase64Writer(ref), newBase64Writer(one)
	ferr := splitWrites(text, seed, fd.Write)
	rerr := splitWrites(text, seed, rd.writeRuns)
	oerr := splitWrites(text, seed, func(p []byte) (int, error) {
		for _, c := range p {
			if err := od.writeByte(c); err != nil {
				return 0, err
			}
		}
		return len(p), nil
	})
	if ferr == nil {
		ferr = fd.Close()
	}
	if rerr == nil {
		rerr = rd.Close()
	}
	if oerr == nil {
		oerr = od.Close()
	}
	if ferr != rerr || !bytes.Equal(fast.buf.Bytes(), ref.buf.Bytes()) ||
		fmt.Sprint(fd.problems()) != fmt.Sprint(rd.problems()) || fmt.Sprint(fast.sizes) != fmt.Sprint(ref.sizes) {
		t.Fatalf("line path and run path differ (limit %d, seed %d) on %q:\nerr %v / %v\nproblems %v / %v\nwrites %v / %v",
			limit, seed, clipBytes(text), ferr, rerr, fd.problems(), rd.problems(), fast.sizes, ref.sizes)
	}
	if limit < 0 {
		// Without a failing writer the flush points do not matter and
		// the byte-at-a-time decoder must agree too.
		if oerr != nil || !bytes.Equal(fast.buf.Bytes(), one.buf.Bytes()) || fmt.Sprint(fd.problems()) != fmt.Sprint(od.problems()) {
			t.Fatalf("line path and byte decoder differ (seed %d) on %q:\nproblems %v / %v", seed, clipBytes(text), fd.problems(), od.problems())
		}
	}
}

func clipBytes(b []byte) []byte {
	if len(b) > 300 {
		return b[:300]
	}
	return b
}

// mangle builds base64 text from payload (76-character CRLF lines, or
// LF, or unbroken) and applies edits taken from edits: each three bytes
// are a position, an operation and a character.
func mangle(payload, edits []byte) []byte {
	text := base64Lines(payload)
	if len(edits) > 0 {
		switch edits[0] % 4 {
		case 1:
			text = bytes.ReplaceAll(text, []byte("\r\n"), []byte("\n"))
		case 2:
			text = bytes.ReplaceAll(text, []byte("\r\n"), nil)
		case 3:
			text = bytes.ReplaceAll(text, []byte("=\r\n"), []byte("=\r\n"+b64std.EncodeToString(payload[:len(payload)/2])+"\r\n"))
		}
		edits = edits[1:]
	}
	for ; len(edits) >= 3 && len(text) > 0; edits = edits[3:] {
		pos := (int(edits[0]) * 257 * 131) % len(text)
		pos = (pos + int(edits[0])*len(text)/256) % len(text)
		c := edits[2]
		switch edits[1] % 3 {
		case 0:
			text[pos] = c
		case 1:
			text = append(text[:pos], append([]byte{c}, text[pos:]...)...)
		case 2:
			text = append(text[:pos], text[pos+1:]...)
		}
	}
	return text
}

// FuzzBase64 checks the line path of base64Writer.Write against the
// reference decoders on mangled base64 and on arbitrary text, split into
// random writes, with a writer that never fails and with one that fails
// part way (the sink at its limit).
func FuzzBase64(f *testing.F) {
	f.Add([]byte("hello, world, hello, world, hello, world, hello, world, hello, world, hello, world"), []byte{}, []byte{}, int64(1), 0)
	f.Add(bytes.Repeat([]byte{0xff, 1, 2}, 100), []byte{0, 10, 1, '=', 200, 0, '!'}, []byte("QUJD\r\nQUJDRA==\r\nQUJD\r\n"), int64(2), 5)
	f.Add(bytes.Repeat([]byte{7}, 2000), []byte{3, 50, 0, '\r', 90, 1, ' '}, []byte("QU=JD\r\nQ\rUJD\r\n\r\nQUJD"), int64(3), 1000)
	f.Add(make([]byte, 100000), []byte{1}, []byte{}, int64(4), 32768)
	f.Add([]byte{}, []byte{}, []byte("QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo/+w=="), int64(5), 0)
	f.Fuzz(func(t *testing.T, payload, edits, text []byte, seed int64, limit int) {
		if limit < 0 {
			limit = -limit
		}
		limit %= 1 << 20
		for _, in := range [][]byte{mangle(payload, edits), text} {
			decodeBoth(t, in, seed, -1)
			decodeBoth(t, in, seed, limit)
		}
		// decodeGroups and decodeQuads succeed exactly when the standard library
		// decodes every character (no padding, no line breaks), and
		// then gives the same bytes.
		in := text[:len(text)&^3]
		want := make([]byte, len(in)/4*3)
		m, err := b64std.Decode(want, in)
		for name, dec := range map[string]func(dst, src []byte) bool{"decodeGroups": decodeGroups, "decodeQuads": decodeQuads} {
			got := make([]byte, len(in)/4*3)
			ok := dec(got, in)
			if ok != (err == nil && m == len(want)) || ok && !bytes.Equal(got, want) {
				t.Fatalf("%s %v, standard library %d bytes, %v, on %q", name, ok, m, err, clipBytes(in))
			}
		}
	})
}

// TestBase64LinePath runs the differential check on large inputs the
// fuzzer rarely builds: megabytes of lines, with damage here and there,
// so that the output buffer fills and flushes at every phase.
func TestBase64LinePath(t *testing.T) {
	rnd := rand.New(rand.NewSource(5))
	for i := 0; i < 20; i++ {
		payload := make([]byte, rnd.Intn(3<<20))
		rnd.Read(payload)
		edits := make([]byte, 1+3*rnd.Intn(30))
		rnd.Read(edits)
		text := mangle(payload, edits)
		decodeBoth(t, text, int64(i), -1)
		decodeBoth(t, text, int64(i), rnd.Intn(len(payload)+1))
	}
}
