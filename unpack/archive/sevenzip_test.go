package archive

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// craft7z wraps a header in a 7z signature header and start header with
// correct CRCs, as the 7z format (7zFormat.txt) lays them out: packed
// streams (none here) then the header at offset 32+packed.
func craft7z(packed, header []byte) []byte {
	var sh [20]byte
	binary.LittleEndian.PutUint64(sh[0:], uint64(len(packed)))
	binary.LittleEndian.PutUint64(sh[8:], uint64(len(header)))
	binary.LittleEndian.PutUint32(sh[16:], crc32.ChecksumIEEE(header))
	var b bytes.Buffer
	b.WriteString("7z\xbc\xaf\x27\x1c\x00\x04")
	binary.Write(&b, binary.LittleEndian, crc32.ChecksumIEEE(sh[:]))
	b.Write(sh[:])
	b.Write(packed)
	b.Write(header)
	return b.Bytes()
}

// n7z encodes n as a 7z NUMBER with the 9-byte form (0xFF and eight
// bytes little endian), which holds any count.
func n7z(n uint64) []byte {
	b := []byte{0xff, 0, 0, 0, 0, 0, 0, 0, 0}
	binary.LittleEndian.PutUint64(b[1:], n)
	return b
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// 7z property ids (7zFormat.txt).
const (
	k7End, k7Header, k7MainStreams, k7Files, k7PackInfo, k7UnpackInfo = 0x00, 0x01, 0x04, 0x05, 0x06, 0x07
	k7SubStreams, k7Size, k7CRC, k7Folder, k7CodersUnpackSize         = 0x08, 0x09, 0x0a, 0x0b, 0x0c
	k7NumUnpackStream, k7EncodedHeader, k7EmptyStream, k7Name         = 0x0d, 0x17, 0x0e, 0x11
)

// hostile7z are headers of a few dozen bytes that each declare a count
// or a size that upstream bodgit/sevenzip v1.6.1 allocated before reading
// anything: each killed the process with "fatal error: runtime: out of
// memory" (exit 2) or made it allocate gigabytes.
func hostile7z() map[string][]byte {
	b := []byte{}
	lzmaCoder := func(dict uint32) []byte {
		p := []byte{0x5d, 0, 0, 0, 0}
		binary.LittleEndian.PutUint32(p[1:], dict)
		return cat([]byte{0x23, 3, 1, 1, 5}, p) // id size 3, has properties
	}
	folder := func(coder []byte) []byte { return cat([]byte{1}, coder) }
	return map[string][]byte{
		"files-2^36": craft7z(nil, cat([]byte{k7Header, k7Files}, n7z(1<<36), []byte{k7End, k7End})),
		"files-2^36-names": craft7z(nil, cat([]byte{k7Header, k7Files}, n7z(1<<36),
			[]byte{k7EmptyStream, 1, 0xff, k7Name, 3, 0, 'a', 0, k7End, k7End})),
		"packstreams-2^33":     craft7z(nil, cat([]byte{k7Header, k7MainStreams, k7PackInfo, 0}, n7z(1<<33), []byte{k7Size, 0, k7End})),
		"packstreams-crc-2^40": craft7z(nil, cat([]byte{k7Header, k7MainStreams, k7PackInfo, 0}, n7z(1<<40), []byte{k7CRC, 1, k7End})),
		"folders-2^31":         craft7z(nil, cat([]byte{k7Header, k7MainStreams, k7UnpackInfo, k7Folder}, n7z(1<<31), []byte{0}, folder(lzmaCoder(1<<16)))),
		"coders-2^40":          craft7z(nil, cat([]byte{k7Header, k7MainStreams, k7UnpackInfo, k7Folder, 1, 0}, n7z(1<<40), lzmaCoder(1<<16))),
		"coder-streams-2^40": craft7z(nil, cat([]byte{k7Header, k7MainStreams, k7UnpackInfo, k7Folder, 1, 0, 1, 0x11, 0x21},
			n7z(1<<40), n7z(1<<40), []byte{k7End})),
		"properties-2^40": craft7z(nil, cat([]byte{k7Header, k7MainStreams, k7UnpackInfo, k7Folder, 1, 0, 1, 0x21, 0x21}, n7z(1<<40), []byte{1})),
		"no-coders":       craft7z(nil, cat([]byte{k7Header, k7MainStreams, k7UnpackInfo, k7Folder, 1, 0, 0, k7CodersUnpackSize, k7End})),
		"substreams-2^40": craft7z(nil, cat([]byte{k7Header, k7MainStreams, k7UnpackInfo, k7Folder, 1, 0}, folder(lzmaCoder(1<<16)),
			[]byte{k7CodersUnpackSize, 10, k7End, k7SubStreams, k7NumUnpackStream}, n7z(1<<40), []byte{k7Size, k7End})),
		// An encoded header whose LZMA coder asks for a 4 GiB dictionary.
		"encoded-header-dict-4GiB": craft7z(make([]byte, 16), cat([]byte{k7EncodedHeader, k7PackInfo, 0, 1, k7Size, 16, k7End,
			k7UnpackInfo, k7Folder, 1, 0}, folder(lzmaCoder(0xffffffff)), []byte{k7CodersUnpackSize, 100, k7End, k7End})),
		"encoded-header-2^40-bytes": craft7z(make([]byte, 16), cat([]byte{k7EncodedHeader, k7PackInfo, 0, 1, k7Size, 16, k7End,
			k7UnpackInfo, k7Folder, 1, 0}, folder(lzmaCoder(1<<16)), []byte{k7CodersUnpackSize}, n7z(1<<40), []byte{k7End, k7End})),
		// As many folders as the bound allows, each three bytes: what
		// they cost in memory is measured.
		"folders-2^17": craft7z(nil, cat([]byte{k7Header, k7MainStreams, k7UnpackInfo, k7Folder}, n7z(1<<17), []byte{0},
			bytes.Repeat([]byte{1, 1, 0}, 1<<17), []byte{k7CodersUnpackSize}, bytes.Repeat([]byte{1}, 1<<17), []byte{k7End, k7End, k7End})),
		"empty": b,
	}
}

// TestHostile7zBounded walks each hostile header in a child process (the
// test binary again) and measures the child's peak RSS (VmHWM): the child must
// exit 0, report the archive as a problem, and stay under 100 MB. Before
// the bounds, most children died with "fatal error: runtime: out of
// memory", exit 2.
func TestHostile7zBounded(t *testing.T) {
	if name := os.Getenv("SCANDELIVER_7Z_CHILD"); name != "" {
		data, err := os.ReadFile(os.Getenv("SCANDELIVER_7Z_DATA"))
		if err != nil {
			t.Fatal(err)
		}
		probs, err := Walk(context.Background(), "7z", bytes.NewReader(data), int64(len(data)), Limits{}, func(m Member, c io.Reader) error {
			_, err := io.Copy(io.Discard, c)
			return err
		})
		fmt.Printf("problems=%q err=%v\n", probs, err)
		// The peak RSS of this process's own memory since exec (the
		// rusage of the parent's wait counts the parent's memory too:
		// the child shares it until exec).
		status, _ := os.ReadFile("/proc/self/status")
		for _, l := range strings.Split(string(status), "\n") {
			if strings.HasPrefix(l, "VmHWM:") {
				fmt.Printf("%s\n", l)
			}
		}
		return
	}
	for name, data := range hostile7z() {
		if name == "empty" {
			continue
		}
		t.Run(name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestHostile7zBounded$")
			file := filepath.Join(t.TempDir(), "hostile.7z")
			if err := os.WriteFile(file, data, 0o600); err != nil {
				t.Fatal(err)
			}
			cmd.Env = append(os.Environ(), "SCANDELIVER_7Z_CHILD="+name, "SCANDELIVER_7Z_DATA="+file)
			out, err := cmd.CombinedOutput()
			rss := int64(-1) // KiB
			if i := strings.Index(string(out), "VmHWM:"); i >= 0 {
				fmt.Sscan(strings.TrimPrefix(string(out[i:]), "VmHWM:"), &rss)
			}
			t.Logf("%d bytes: exit %d, peak RSS %d KiB: %s", len(data), cmd.ProcessState.ExitCode(), rss, firstLine(string(out)))
			if err != nil {
				t.Fatalf("child: %v\n%s", err, out)
			}
			// folders-2^17 is within the bounds: only its cost is checked.
			if name != "folders-2^17" && !strings.Contains(string(out), "problems=[\"limit: 7z") && !strings.Contains(string(out), "problems=[\"corrupt: 7z") {
				t.Errorf("no problem reported: %s", out)
			}
			if rss < 0 || rss > 100<<10 {
				t.Errorf("peak RSS %d KiB, want under 100 MiB", rss)
			}
		})
	}
}
