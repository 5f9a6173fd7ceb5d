package policy

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"strings"
	"testing"
)

// hostile7z is a 45-byte 7z whose header declares 2^36 files: the 7z
// reader made the slice before reading one, and the process died with
// "fatal error: runtime: out of memory", exit 2, which Postfix takes as
// permanent (issue 12.4).
func hostile7z() []byte {
	header := []byte{0x01, 0x05, 0xff, 0, 0, 0, 0, 0x10, 0, 0, 0, 0x00, 0x00} // Header, FilesInfo, 2^36, End, End
	var sh [20]byte
	binary.LittleEndian.PutUint64(sh[8:], uint64(len(header)))
	binary.LittleEndian.PutUint32(sh[16:], crc32.ChecksumIEEE(header))
	var b bytes.Buffer
	b.WriteString("7z\xbc\xaf\x27\x1c\x00\x04")
	binary.Write(&b, binary.LittleEndian, crc32.ChecksumIEEE(sh[:]))
	b.Write(sh[:])
	b.Write(header)
	return b.Bytes()
}

// TestHostile7z delivers the hostile 7z attached to a message: the 7z
// is unscannable (cut out, or the message withheld: exit 0) or the
// message deferred (75), never a crash (exit 2); the child's peak RSS is measured (it includes this test
// process's own, which the child shares until exec).
func TestHostile7z(t *testing.T) {
	b := newBox(t, "")
	msg := mixed("a 7z", attachment("application/x-7z-compressed", "files.7z", hostile7z()))
	c := b.deliverMeasured(t, msg, "alice@example.org")
	if c.code != 0 && c.code != 75 {
		t.Fatalf("exit %d, want 0 (unscannable) or 75: %s", c.code, c.stderr)
	}
	if c.maxRSS > 256<<20 {
		t.Errorf("peak RSS %d MB, want under 256 MB", c.maxRSS>>20)
	}
	if c.code == 0 {
		// The 7z is cut out (its part cannot be judged) or the message
		// withheld: either way the delivered copy does not carry it.
		first := strings.Split(wrap64(hostile7z()), "\n")[0]
		for _, d := range b.delivered(t) {
			if bytes.Contains(d.data, []byte(first)) {
				t.Errorf("the 7z was delivered")
			}
			if !bytes.Contains(d.data, []byte("nscannable")) && !bytes.Contains(d.data, []byte("withheld")) {
				t.Logf("delivered:\n%s", d.data)
			}
		}
	}
}
