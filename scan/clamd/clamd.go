package clamd

import (
	"bufio"
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"

	"github.com/scandeliver/scandeliver/scan/addr"
)

// DefaultChunkSize is the INSTREAM chunk size when Client.ChunkSize is 0.
const DefaultChunkSize = 128 << 10

// Item is one object to scan: its content, and optionally an open file
// holding exactly that content (sent with FILDES over a UNIX socket).
type Item struct {
	Size int64
	Open func() (io.ReadCloser, error)
	File *os.File
}

// Client talks to one clamd reachable at any of Addrs (tried in order).
// The zero value of every other field is the documented default.
type Client struct {
	Addrs     []addr.Addr
	ChunkSize int   // INSTREAM chunk size; 0: DefaultChunkSize
	MaxStream int64 // clamd's StreamMaxLength if known: larger items are not sent but answered SizeLimit; 0: unknown
	NoFILDES  bool  // never pass descriptors, even over a UNIX socket
	NoSession bool  // one connection per item instead of IDSESSION
	Conns     int   // connections used at once for several items; 0: DefaultConns
}

// DefaultConns is how many connections Scan uses at once when
// Client.Conns is 0: the raw message and the parts are scanned side by
// side, since clamd scans each connection in its own thread.
const DefaultConns = 2

// Ping sends PING and expects PONG from the first address that answers.
func (c *Client) Ping(ctx context.Context) error {
	conn, a, err := addr.Dial(ctx, c.Addrs)
	if err != nil {
		return err
	}
	defer conn.Close()
	defer addr.Watch(ctx, conn)()
	if _, err := conn.Write([]byte("zPING\x00")); err != nil {
		return fmt.Errorf("clamd %s: %w", a, err)
	}
	br := bufio.NewReaderSize(conn, 64)
	line, err := br.ReadSlice(0)
	if err != nil {
		return fmt.Errorf("clamd %s: reading PONG: %w", a, err)
	}
	if strings.TrimRight(string(line), "\x00\n") != "PONG" {
		return fmt.Errorf("clamd %s: %w: %q", a, ErrGarbled, line)
	}
	return nil
}

// Scan scans every item and returns one reply per item, in order. An
// error means clamd could not answer for all of them: no address
// accepted the connection, the connection broke on every address, a
// reply was garbled, or ctx ended. Replies with Status Error are not
// errors of Scan: clamd answered, and the caller decides.
//
// Several items share one connection (IDSESSION) unless NoSession. After
// a connection breaks the remaining items go to the next address
// (failover); after a size-limit reply, to a new connection to the same
// address, since clamd may close the session then.
func (c *Client) Scan(ctx context.Context, items []Item) ([]Reply, error) {
	conns := c.Conns
	if conns <= 0 {
		conns = DefaultConns
	}
	if conns == 1 || len(items) < 2 {
		return c.scanSeq(ctx, items)
	}
	// Share the items out by size, largest first, each to the group with
	// the fewest bytes so far; scan the groups concurrently.
	order := make([]int, len(items))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(items[b].Size, items[a].Size) })
	conns = min(conns, len(items))
	groups := make([][]int, conns)
	load := make([]int64, conns)
	for _, i := range order {
		g := slices.Index(load, slices.Min(load))
		groups[g] = append(groups[g], i)
		load[g] += max(items[i].Size, 1)
	}
	replies := make([]Reply, len(items))
	errs := make([]error, conns)
	var wg sync.WaitGroup
	for g, idx := range groups {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// A panic here would kill the process with exit 2, which an
			// MTA may read as a permanent failure: make it an error
			// (the engine could not answer), like any other.
			defer func() {
				if p := recover(); p != nil {
					errs[g] = fmt.Errorf("clamd client: internal error: %v", p)
				}
			}()
			sub := make([]Item, len(idx))
			for j, i := range idx {
				sub[j] = items[i]
			}
			rs, err := c.scanSeq(ctx, sub)
			if err != nil {
				errs[g] = err
				return
			}
			for j, i := range idx {
				replies[i] = rs[j]
			}
		}()
	}
	wg.Wait()
	// Several connections failing alike (clamd down) give one message.
	if err := addr.Join(errs...); err != nil {
		return nil, err
	}
	return replies, nil
}

// scanSeq scans items one after the other, over one connection at a time.
func (c *Client) scanSeq(ctx context.Context, items []Item) ([]Reply, error) {
	replies := make([]Reply, len(items))
	addrs := c.Addrs
	next := 0
	for next < len(items) {
		// Answer locally what clamd would refuse as too long.
		if c.MaxStream > 0 && items[next].Size > c.MaxStream && (items[next].File == nil || c.NoFILDES) {
			replies[next] = Reply{Status: SizeLimit, Message: fmt.Sprintf("%d bytes exceed StreamMaxLength %d", items[next].Size, c.MaxStream)}
			next++
			continue
		}
		conn, a, err := addr.Dial(ctx, addrs)
		if err != nil {
			return nil, fmt.Errorf("clamd: %w", err)
		}
		n, err := c.session(ctx, conn, items[next:], replies[next:])
		conn.Close()
		next += n
		if err == nil {
			continue
		}
		err = fmt.Errorf("clamd %s: %w", a, err)
		if ctx.Err() != nil || errors.Is(err, ErrGarbled) {
			return nil, err
		}
		i := slices.Index(addrs, a)
		if i < 0 || i+1 >= len(addrs) {
			return nil, err
		}
		addrs = addrs[i+1:] // failover
	}
	return replies, nil
}

// session scans items over conn and returns how many it answered (at
// least one unless err != nil).
func (c *Client) session(ctx context.Context, conn net.Conn, items []Item, replies []Reply) (int, error) {
	defer addr.Watch(ctx, conn)()
	br := bufio.NewReaderSize(conn, maxReply+64)
	session := len(items) > 1 && !c.NoSession
	if !session {
		items = items[:1]
	} else if _, err := conn.Write([]byte("zIDSESSION\x00")); err != nil {
		return 0, err
	}
	n := 0
	for i, it := range items {
		if i > 0 && c.MaxStream > 0 && it.Size > c.MaxStream && (it.File == nil || c.NoFILDES) {
			break // answered locally by Scan
		}
		r, err := c.one(conn, br, it, session)
		if err != nil {
			return n, err
		}
		if session && r.ID != i+1 {
			return n, fmt.Errorf("%w: reply for request %d, want %d", ErrGarbled, r.ID, i+1)
		}
		replies[i] = r
		n++
		if session && (r.Status == SizeLimit || r.Status == Error) {
			return n, nil // clamd may have dropped the session: reconnect
		}
	}
	if session {
		// Best effort: clamd ends the session on END or on close.
		_, _ = conn.Write([]byte("zEND\x00"))
	}
	return n, nil
}

// errStopped: clamd answered before the whole stream was sent.
var errStopped = errors.New("clamd answered before the end of the stream")

type lineResult struct {
	line []byte
	err  error
}

// one sends one item (FILDES or INSTREAM) and reads its reply. The reply
// is read concurrently with the upload, because clamd answers a stream
// that exceeds StreamMaxLength before it has all been sent, then closes.
func (c *Client) one(conn net.Conn, br *bufio.Reader, it Item, session bool) (Reply, error) {
	got := make(chan lineResult, 1)
	go func() {
		line, err := br.ReadSlice(0)
		if err == bufio.ErrBufferFull {
			err = fmt.Errorf("%w: reply longer than %d bytes", ErrGarbled, maxReply)
		}
		got <- lineResult{slices.Clone(line), err}
	}()
	var werr error
	if uc, ok := conn.(*net.UnixConn); ok && it.File != nil && !c.NoFILDES {
		werr = sendFD(uc, it.File)
	} else {
		werr = c.instream(conn, it, got)
	}
	res := <-got
	if res.err != nil {
		if werr != nil {
			return Reply{}, fmt.Errorf("sending: %w (reading reply: %v)", werr, res.err)
		}
		if errors.Is(res.err, ErrGarbled) {
			return Reply{}, res.err
		}
		return Reply{}, fmt.Errorf("reading reply: %w", res.err)
	}
	r, err := ParseReply(string(res.line), session)
	if err != nil {
		return Reply{}, err
	}
	if werr != nil && r.Status != SizeLimit && r.Status != Error {
		// clamd answered a stream we could not finish sending: that
		// answer is not about the whole object.
		return Reply{}, fmt.Errorf("sending: %w (clamd answered %q early)", werr, res.line)
	}
	return r, nil
}

// instream uploads it in INSTREAM chunks: a 4-byte big-endian length
// then the bytes, ended by a zero length (clamd(8), INSTREAM). It stops
// early if clamd has already answered.
func (c *Client) instream(conn net.Conn, it Item, answered chan lineResult) error {
	if _, err := conn.Write([]byte("zINSTREAM\x00")); err != nil {
		return err
	}
	rc, err := it.Open()
	if err != nil {
		// We cannot read our own object: end the stream empty so the
		// protocol stays in step, and fail.
		_, _ = conn.Write([]byte{0, 0, 0, 0})
		return fmt.Errorf("opening object: %w", err)
	}
	defer rc.Close()
	size := c.ChunkSize
	if size <= 0 {
		size = DefaultChunkSize
	}
	buf := make([]byte, 4+size)
	for {
		n, rerr := io.ReadFull(rc, buf[4:])
		if n > 0 {
			binary.BigEndian.PutUint32(buf[:4], uint32(n))
			if _, err := conn.Write(buf[:4+n]); err != nil {
				return err
			}
		}
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			break
		}
		if rerr != nil {
			_, _ = conn.Write([]byte{0, 0, 0, 0})
			return fmt.Errorf("reading object: %w", rerr)
		}
		if len(answered) > 0 {
			// clamd answered mid-stream (size limit): stop sending; one()
			// reads the answer.
			return errStopped
		}
	}
	_, err = conn.Write([]byte{0, 0, 0, 0})
	return err
}

// sendFD sends "zFILDES\0", then one byte with f's descriptor attached
// (SCM_RIGHTS), as clamdscan does (clamdscan/proto.c): clamd scans the
// file itself, nothing is copied. clamd refuses the descriptor in the
// same message as the command.
func sendFD(uc *net.UnixConn, f *os.File) error {
	if _, err := uc.Write([]byte("zFILDES\x00")); err != nil {
		return err
	}
	sc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var werr error
	err = sc.Control(func(fd uintptr) {
		oob := syscall.UnixRights(int(fd))
		_, _, werr = uc.WriteMsgUnix([]byte{0}, oob, nil)
	})
	if err != nil {
		return err
	}
	return werr
}
