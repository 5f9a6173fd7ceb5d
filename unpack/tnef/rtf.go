package tnef

import (
	"encoding/binary"
	"errors"
)

// rtfPrebuf initialises the dictionary of compressed RTF (MS-OXRTFCP
// 2.1.2.1).
const rtfPrebuf = "{\\rtf1\\ansi\\mac\\deff0\\deftab720{\\fonttbl;}{\\f0\\fnil \\froman \\fswiss \\fmodern \\fscript \\fdecor MS Sans SerifSymbolArialTimes New RomanCourier{\\colortbl\\red0\\green0\\blue0\r\n\\par \\pard\\plain\\f0\\fs20\\b\\i\\u\\tab\\tx"

// decompressRTF decodes PR_RTF_COMPRESSED (MS-OXRTFCP). The output is at
// most about 8.5 times the input (a 2-byte reference yields 17 bytes).
func decompressRTF(b []byte) ([]byte, error) {
	if len(b) < 16 {
		return nil, errors.New("short header")
	}
	raw := binary.LittleEndian.Uint32(b[4:8])
	switch string(b[8:12]) {
	case "MELA": // stored
		data := b[16:]
		if uint64(raw) < uint64(len(data)) {
			data = data[:raw]
		}
		return data, nil
	case "LZFu":
	default:
		return nil, errors.New("unknown compression type")
	}
	var dict [4096]byte
	copy(dict[:], rtfPrebuf)
	w := len(rtfPrebuf)
	in := b[16:]
	out := make([]byte, 0, min(int(raw), 9*len(in)+16))
	for len(in) > 0 {
		ctl := in[0]
		in = in[1:]
		for bit := 0; bit < 8; bit++ {
			if ctl&(1<<bit) == 0 {
				if len(in) < 1 {
					return out, nil
				}
				c := in[0]
				in = in[1:]
				out = append(out, c)
				dict[w] = c
				w = (w + 1) & 0xfff
				continue
			}
			if len(in) < 2 {
				return out, errors.New("truncated reference")
			}
			ref := int(in[0])<<8 | int(in[1])
			in = in[2:]
			off, n := ref>>4, ref&0xf+2
			if off == w {
				return out, nil // end marker
			}
			for i := 0; i < n; i++ {
				c := dict[(off+i)&0xfff]
				out = append(out, c)
				dict[w] = c
				w = (w + 1) & 0xfff
			}
		}
	}
	return out, nil
}
