package unpack

import (
	"bytes"
	"encoding/binary"
	"io"
)

// Disk images are how malware has reached mailboxes since Office macros
// were blocked: Windows mounts an .iso, .img, .vhd or .vhdx with a double
// click, and what it holds escapes the mark of the web. mimetype only sees
// a part's first bytes, and an ISO 9660 or UDF image starts with 32 KB of
// zeros, a VHD ends with its footer: detectDiskImage reads those places in
// the stored content. The types are those of the rules' "disk-image"
// category.
const (
	typeISO9660 = "application/x-iso9660-image"
	typeUDF     = "application/x-udf-image"
	typeVHD     = "application/x-vhd"
	typeVHDX    = "application/x-vhdx"
	typeVMDK    = "application/x-vmdk"
	typeQCOW    = "application/x-qemu-disk"
	typeDMG     = "application/x-apple-diskimage"
)

// volumeDescriptorStart is where ISO 9660 and UDF (ECMA-167) volume
// recognition starts: sector 16 of 2048 bytes.
const volumeDescriptorStart = 16 * 2048

// detectDiskImage returns the type of the disk image in r (size bytes),
// or "" when it is none it knows.
func detectDiskImage(r io.ReaderAt, size int64) string {
	var head [32]byte
	n, _ := r.ReadAt(head[:], 0)
	h := head[:n]
	switch {
	case bytes.HasPrefix(h, []byte("vhdxfile")):
		return typeVHDX
	case bytes.HasPrefix(h, []byte("KDMV")), bytes.HasPrefix(h, []byte("# Disk DescriptorFile")):
		return typeVMDK
	case bytes.HasPrefix(h, []byte("QFI\xfb")):
		return typeQCOW
	}
	// A VHD is identified by its 512-byte footer, whose checksum must
	// hold: at the end (a fixed disk; older tools wrote 511 bytes), or
	// as a copy at the start (a dynamic disk). A DMG (UDIF) ends with a
	// 512-byte "koly" trailer of version 4.
	var foot [512]byte
	for _, off := range []int64{0, size - 512, size - 511} {
		if off < 0 || off+511 > size {
			continue
		}
		if n, _ := r.ReadAt(foot[:], off); n >= 511 && vhdFooter(foot[:n]) {
			return typeVHD
		}
	}
	if size >= 512 {
		if n, _ := r.ReadAt(foot[:12], size-512); n == 12 && string(foot[:4]) == "koly" &&
			binary.BigEndian.Uint32(foot[4:]) == 4 && binary.BigEndian.Uint32(foot[8:]) == 512 {
			return typeDMG
		}
	}
	// Volume recognition sequence: descriptors of 2048 bytes from sector
	// 16, each with a 5-byte standard identifier at offset 1. An ISO 9660
	// image has "CD001" there; UDF adds an extended area ("BEA01",
	// "NSR02" or "NSR03", "TEA01"). A UDF bridge disc has both: it is
	// reported as UDF, which is what Windows mounts.
	iso, udf := false, false
	for i := int64(0); i < 16; i++ {
		off := volumeDescriptorStart + i*2048 + 1
		if off+5 > size {
			break
		}
		var id [5]byte
		if n, _ := r.ReadAt(id[:], off); n != len(id) {
			break
		}
		switch string(id[:]) {
		case "CD001":
			iso = true
		case "NSR02", "NSR03":
			udf = true
		case "BEA01", "TEA01", "BOOT2", "CDW02":
		default:
			i = 16 // the end of the sequence
		}
	}
	switch {
	case udf:
		return typeUDF
	case iso:
		return typeISO9660
	}
	return ""
}

// vhdFooter reports whether b (511 or 512 bytes) is a VHD footer: the
// "conectix" cookie, and a checksum (offset 64) equal to the one's
// complement of the sum of the other bytes.
func vhdFooter(b []byte) bool {
	if len(b) < 511 || string(b[:8]) != "conectix" {
		return false
	}
	var sum uint32
	for i, c := range b {
		if i < 64 || i >= 68 {
			sum += uint32(c)
		}
	}
	return ^sum == binary.BigEndian.Uint32(b[64:68])
}
