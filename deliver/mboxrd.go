package deliver

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// quoteWriter applies mboxrd quoting to a stream: every line that matches
// ^>*From  gets one more ">" in front. Lines end at "\n" only (a bare CR is
// part of the line), as in mbox readers. It keeps O(1) state, so a line of
// any length (or a run of any number of '>') streams through.
type quoteWriter struct {
	w io.Writer
	// state: lineStart (nothing of the line seen yet), quoting (counted
	// gt '>' and matched the first matched bytes of "From "), inLine.
	state   int
	gt      int64
	matched int
	n       int64 // bytes written to w
	last    byte  // last byte written to w
	err     error
}

const (
	qLineStart = iota
	qPending
	qInLine
)

var fromSpace = []byte("From ")

func newQuoteWriter(w io.Writer) *quoteWriter { return &quoteWriter{w: w} }

func (q *quoteWriter) emit(p []byte) {
	if q.err != nil || len(p) == 0 {
		return
	}
	n, err := q.w.Write(p)
	q.n += int64(n)
	if n > 0 {
		q.last = p[n-1]
	}
	q.err = err
}

var gts = bytes.Repeat([]byte{'>'}, 64)

func (q *quoteWriter) emitGT(n int64) {
	for n > 0 && q.err == nil {
		k := min(n, int64(len(gts)))
		q.emit(gts[:k])
		n -= k
	}
}

// flushPending writes out a prefix that turned out not to be ">*From ".
func (q *quoteWriter) flushPending() {
	q.emitGT(q.gt)
	q.emit(fromSpace[:q.matched])
	q.gt, q.matched = 0, 0
}

func (q *quoteWriter) Write(p []byte) (int, error) {
	if q.err != nil {
		return 0, q.err
	}
	in := len(p)
	for len(p) > 0 && q.err == nil {
		switch q.state {
		case qInLine:
			i := bytes.IndexByte(p, '\n')
			if i < 0 {
				q.emit(p)
				p = nil
				continue
			}
			q.emit(p[:i+1])
			p = p[i+1:]
			q.state = qLineStart
		case qLineStart, qPending:
			c := p[0]
			switch {
			case q.matched == 0 && c == '>':
				q.gt++
				q.state = qPending
				p = p[1:]
			case c == fromSpace[q.matched]:
				q.matched++
				q.state = qPending
				p = p[1:]
				if q.matched == len(fromSpace) {
					q.emitGT(q.gt + 1)
					q.emit(fromSpace)
					q.gt, q.matched = 0, 0
					q.state = qInLine
				}
			default:
				q.flushPending()
				q.state = qInLine
			}
		}
	}
	if q.err != nil {
		return 0, q.err
	}
	return in, nil
}

// Close writes out a pending partial match at the end of the stream (a
// message ending in ">Fro", say). It does not close w.
func (q *quoteWriter) Close() error {
	if q.state == qPending {
		q.flushPending()
		q.state = qInLine
	}
	return q.err
}

// QuoteMboxrd returns msg with mboxrd quoting applied (each line matching
// ^>*From  gains a ">").
func QuoteMboxrd(msg []byte) []byte {
	var b bytes.Buffer
	q := newQuoteWriter(&b)
	q.Write(msg)
	q.Close()
	return b.Bytes()
}

// UnquoteMboxrd reverses QuoteMboxrd: each line matching ^>+From  loses
// one ">".
func UnquoteMboxrd(msg []byte) []byte {
	out := make([]byte, 0, len(msg))
	for len(msg) > 0 {
		line := msg
		if i := bytes.IndexByte(msg, '\n'); i >= 0 {
			line = msg[:i+1]
		}
		msg = msg[len(line):]
		if isQuotedFrom(line) {
			line = line[1:]
		}
		out = append(out, line...)
	}
	return out
}

func isQuotedFrom(line []byte) bool {
	if len(line) == 0 || line[0] != '>' {
		return false
	}
	rest := bytes.TrimLeft(line, ">")
	return bytes.HasPrefix(rest, fromSpace)
}

// ErrNotMbox is wrapped by ReadMbox when the input does not start with a
// From_ line (after any blank lines).
var ErrNotMbox = errors.New("not an mbox: no From_ line at the start")

// ReadMbox reads an mboxrd file and calls fn for each message, in order,
// with the From_ line after "From " (sender and date, without the line
// end) and the message with the quoting removed and the blank separator
// line dropped. A message that did not end in a newline when delivered
// reads back with one added: the format cannot tell them apart. Every
// line starting with "From " separates messages, as in mboxrd; a
// separator without a preceding blank line is accepted (QUIRK: mboxo
// writers such as some MUAs omit it; the message then keeps its last
// line end). Blank lines before the first From_ line are skipped;
// anything else there is an error wrapping ErrNotMbox. An error from fn
// stops the reading and is returned as is.
func ReadMbox(r io.Reader, fn func(from string, msg []byte) error) error {
	br := bufio.NewReaderSize(r, 64<<10)
	var (
		from    string
		cur     []byte
		started bool
		line    []byte
	)
	finish := func() error {
		// Drop the blank separator line: the last "\n" of a message that
		// ends "\n\n", or of an empty message's lone "\n".
		if len(cur) > 0 && cur[len(cur)-1] == '\n' && (len(cur) == 1 || cur[len(cur)-2] == '\n') {
			cur = cur[:len(cur)-1]
		}
		return fn(from, UnquoteMboxrd(cur))
	}
	for {
		var err error
		line, err = readLine(br, line[:0])
		if len(line) > 0 {
			if bytes.HasPrefix(line, fromSpace) {
				if started {
					if ferr := finish(); ferr != nil {
						return ferr
					}
				}
				started = true
				from = string(bytes.TrimRight(line[len(fromSpace):], "\r\n"))
				cur = nil
			} else if started {
				cur = append(cur, line...)
			} else if len(bytes.TrimRight(line, "\r\n")) != 0 {
				return fmt.Errorf("reading mbox: %w", ErrNotMbox)
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("reading mbox: %w", err)
		}
	}
	if started {
		return finish()
	}
	return nil
}

// readLine appends one line (through "\n", or to EOF) to buf.
func readLine(br *bufio.Reader, buf []byte) ([]byte, error) {
	for {
		chunk, err := br.ReadSlice('\n')
		buf = append(buf, chunk...)
		if err != bufio.ErrBufferFull {
			return buf, err
		}
	}
}
