package unpack

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/scandeliver/scandeliver/tests/testenv"
)

// TestDetectDiskImage makes real images with the tools that make them
// (genisoimage, qemu-img) and checks that each is recognised from its
// structure, and that ordinary content is not.
func TestDetectDiskImage(t *testing.T) {
	dir := t.TempDir()
	payload := filepath.Join(dir, "invoice.exe")
	if err := os.WriteFile(payload, []byte("MZ not really a program\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	need := func(tool string) {
		t.Helper()
		if _, err := exec.LookPath(tool); err != nil {
			testenv.Missing(t, tool+" is needed to make test images (apt-get install genisoimage qemu-utils)")
		}
	}
	need("genisoimage")
	need("qemu-img")
	run := func(name string, args ...string) {
		t.Helper()
		if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
			t.Fatalf("%s %v: %v\n%s", name, args, err, out)
		}
	}
	cases := []struct {
		file, want string
		atStart    bool // identified by its first bytes
		make       func(path string)
	}{
		{"iso9660.iso", typeISO9660, false, func(p string) { run("genisoimage", "-quiet", "-o", p, payload) }},
		{"joliet.iso", typeISO9660, false, func(p string) { run("genisoimage", "-quiet", "-J", "-R", "-o", p, payload) }},
		{"udf.iso", typeUDF, false, func(p string) { run("genisoimage", "-quiet", "-udf", "-o", p, payload) }},
		{"dynamic.vhd", typeVHD, true, func(p string) { run("qemu-img", "create", "-q", "-f", "vpc", p, "4M") }},
		{"fixed.vhd", typeVHD, false, func(p string) { run("qemu-img", "create", "-q", "-f", "vpc", "-o", "subformat=fixed", p, "1M") }},
		{"disk.vhdx", typeVHDX, true, func(p string) { run("qemu-img", "create", "-q", "-f", "vhdx", p, "4M") }},
		{"disk.vmdk", typeVMDK, true, func(p string) { run("qemu-img", "create", "-q", "-f", "vmdk", p, "4M") }},
		{"disk.qcow2", typeQCOW, true, func(p string) { run("qemu-img", "create", "-q", "-f", "qcow2", p, "4M") }},
	}
	for _, c := range cases {
		p := filepath.Join(dir, c.file)
		c.make(p)
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := detectDiskImage(bytes.NewReader(b), int64(len(b))); got != c.want {
			t.Errorf("%s: detected %q, want %q", c.file, got, c.want)
		}
		// Attached under a harmless name, the part gets the image's type
		// (the rules' "disk-image" category).
		if len(b) <= 1<<20 {
			m := unpackBytes(t, withAttachment("invoice.pdf", b), Options{})
			if got := m.Parts[len(m.Parts)-1].DetectedType; got != c.want {
				t.Errorf("%s attached as invoice.pdf: detected type %q, want %q", c.file, got, c.want)
			}
		}
		// Cut short before its structures, it is not recognised (and
		// nothing reads out of bounds).
		if got := detectDiskImage(bytes.NewReader(b[:100]), 100); got != "" && !c.atStart {
			t.Errorf("%s cut to 100 bytes: detected %q", c.file, got)
		}
	}

	// A DMG: no tool on Debian makes one; its footer ("koly" 512 bytes
	// from the end, UDIF) is written by hand.
	dmg := make([]byte, 4096)
	copy(dmg[len(dmg)-512:], "koly\x00\x00\x00\x04\x00\x00\x02\x00") // signature, version 4, header size 512
	if got := detectDiskImage(bytes.NewReader(dmg), int64(len(dmg))); got != typeDMG {
		t.Errorf("dmg: detected %q", got)
	}

	// Not images: zeros, text full of the magic words, a PDF, a "CD001"
	// elsewhere than a volume descriptor, a VHD cookie with a wrong
	// checksum.
	zeros := make([]byte, 64<<10)
	moved := append([]byte(nil), zeros...)
	copy(moved[volumeDescriptorStart+2:], "CD001")
	badSum := append([]byte(nil), zeros...)
	copy(badSum[len(badSum)-512:], "conectix")
	for name, b := range map[string][]byte{
		"empty": nil, "zeros": zeros, "misplaced CD001": moved, "bad VHD checksum": badSum,
		"text": bytes.Repeat([]byte("conectix koly CD001 vhdxfile\n"), 4000),
		"pdf":  []byte("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"),
	} {
		if got := detectDiskImage(bytes.NewReader(b), int64(len(b))); got != "" {
			t.Errorf("%s: detected %q", name, got)
		}
	}
}
