package unpack

import (
	"bytes"
	"io"
	"testing"
)

// countSink counts what scanBlocks writes, and checks begin/end pairs.
type countSink struct {
	t      *testing.T
	n      int64
	open   bool
	blocks int
}

func (c *countSink) begin(Origin, string) io.Writer {
	if c.open {
		c.t.Fatal("begin inside a block")
	}
	c.open = true
	c.blocks++
	return writerFunc(func(b []byte) (int, error) {
		c.n += int64(len(b))
		if c.n > 8<<20 {
			return 0, io.ErrShortWrite // a limit, as the sink's
		}
		return len(b), nil
	})
}

func (c *countSink) end([]string) error {
	if !c.open {
		c.t.Fatal("end outside a block")
	}
	c.open = false
	return nil
}

// FuzzBinHex feeds text holding BinHex blocks to scanBlocks: no panic,
// every block begun is ended.
func FuzzBinHex(f *testing.F) {
	f.Add([]byte(":#'0X:\n"))
	f.Add([]byte(":#'0XB@dZCAKP!%9B43\"$E'&Y!!!!!!)J!!!!!EY969T3!!)!!!!%!!m!rrm!!,J\n!!!!K!!!!3!!D!!!!:\n"))
	f.Add([]byte(":!!!\x90\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		text := append([]byte("hello\n(This file must be converted with BinHex 4.0)\n"), b...)
		s := &countSink{t: t}
		if err := scanBlocks(bytes.NewReader(text), s); err != nil {
			t.Fatal(err)
		}
		if s.open {
			t.Fatal("a block left open")
		}
	})
}
