package sanitize

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"strings"

	"github.com/scandeliver/scandeliver/rules"
	"github.com/scandeliver/scandeliver/unpack"
)

// Verifying a rewrite (issue 11: no reader opens what was not scanned).
//
// A rewrite hands readers new bytes: a replacement text, disarmed HTML, a
// signed body, a rebuilt archive, or the whole message written anew in
// canonical form. Readers read structure inside content (ripmime reads
// MIME fields in any part's decoded content), so a rewrite that is wrong
// in a way no test foresaw could give some reader a content or a name
// that was never scanned and judged. Verify is the proof that it does
// not: the rewrite, unpacked again with every reading, must hold only
//   - contents of the input that the verdict kept (any reading of the
//     input, not denied), compared by SHA-256;
//   - contents the rewrite made itself (Result.produced: replacement
//     texts, disarmed HTML, signed bodies, rebuilt archives), compared
//     with their line breaks made alike (the encoders write the
//     message's own);
//   - empty contents;
// and only names that some reading of the input gives a part the verdict
// kept, or a new name of a rename. A limit the input did not hit
// (readings not all enumerated) fails too: what was not read cannot be
// vouched for. The caller does not deliver a rewrite that fails
// (pipeline withholds the message: quarantine and notice).

// produced records what a rewrite wrote of its own.
type produced struct {
	sums  map[[32]byte]bool // SHA-256 of contents, line breaks as "\n"
	names map[string]bool   // new names (renames)
}

func (pr *produced) content(b []byte) {
	if pr.sums == nil {
		pr.sums = map[[32]byte]bool{}
	}
	b = lineNorm(b)
	pr.sums[sha256.Sum256(b)] = true
	// The line break that ends a text we write before a delimiter is
	// the delimiter's for a reader (RFC 2046 section 5.1.1).
	if t, ok := bytes.CutSuffix(b, []byte("\n")); ok {
		pr.sums[sha256.Sum256(t)] = true
	}
}

func (pr *produced) name(n string) {
	if pr.names == nil {
		pr.names = map[string]bool{}
	}
	pr.names[n] = true
}

// lineNorm returns b with every line break ("\r\n", lone "\r") as "\n".
func lineNorm(b []byte) []byte {
	if bytes.IndexByte(b, '\r') < 0 {
		return b
	}
	b = bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n"))
	return bytes.ReplaceAll(b, []byte("\r"), []byte("\n"))
}

// maxVerifyRead bounds the content Verify reads into memory to compare it
// line breaks aside (a content the rewrite made is at most that big:
// replacement texts, HTML and bodies within their budgets, archives
// within maxDisinfect).
const maxVerifyRead = maxDisinfect + 1

// Verify checks that the rewrite out (the output of Rewrite, unpacked
// with hashes and the same limits) gives no reader anything the input
// in, with verdict v, did not: see above. It returns "" when it holds,
// else why not (for logs and notices, no message bytes quoted); err is
// an error reading a part's content (temporary).
func Verify(ctx context.Context, in *unpack.Message, v rules.Verdict, res Result, out *unpack.Message) (why string, err error) {
	if in == nil || out == nil || in.Root == nil || out.Root == nil {
		return "", fmt.Errorf("sanitize: nothing to verify")
	}
	denied := map[string]bool{}  // input parts the verdict does not let through
	renamed := map[string]bool{} // input parts whose names it does not
	for _, d := range v.Parts {
		switch {
		case d.Part == "":
		case d.Action.Severity() >= rules.Deny.Severity():
			denied[d.Part] = true
		case d.Action == rules.Rename:
			renamed[d.Part] = true
		}
	}
	kept := &inputIndex{bySize: map[int64][]*unpack.Part{}, sums: map[*unpack.Part]string{}, names: map[string]bool{}}
	for _, p := range in.Parts {
		if denied[p.Path] {
			continue
		}
		if !renamed[p.Path] {
			for _, n := range partNames(p) {
				kept.names[n] = true
			}
		}
		if !p.Container {
			kept.bySize[p.Size] = append(kept.bySize[p.Size], p)
		}
	}
	limits := map[string]int{}
	for _, pr := range limitProblems(in) {
		limits[pr]++
	}
	for _, pr := range limitProblems(out) {
		if limits[pr] == 0 {
			return "the rewrite hit a limit the message did not: " + pr, nil
		}
		limits[pr]--
	}
	for _, q := range out.Parts {
		if err := ctx.Err(); err != nil {
			return "", err
		}
		for _, n := range partNames(q) {
			if !kept.names[n] && !res.produced.names[n] {
				return fmt.Sprintf("part %s of the rewrite has a name no kept part of the message had", q.Path), nil
			}
		}
		if q.Container || q.Size == 0 {
			continue
		}
		ok, err := kept.has(q)
		if err != nil {
			return "", err
		}
		if ok {
			continue
		}
		if q.Size < maxVerifyRead && len(res.produced.sums) > 0 {
			b, err := readPart(q)
			if err != nil {
				return "", err
			}
			if res.produced.sums[sha256.Sum256(lineNorm(b))] {
				continue
			}
		}
		return fmt.Sprintf("part %s of the rewrite (%s, %d bytes) holds a content that was not scanned in the message", q.Path, q.Origin, q.Size), nil
	}
	return "", nil
}

// partNames are the names some reading gives p.
func partNames(p *unpack.Part) []string {
	if len(p.Names) > 0 {
		return p.Names
	}
	if p.Name != "" {
		return []string{p.Name}
	}
	return nil
}

// limitProblems lists a message's problems of kind limit, offsets and
// counts removed.
func limitProblems(m *unpack.Message) []string {
	var out []string
	for _, pr := range m.Problems {
		if pr.Kind == unpack.KindLimit {
			out = append(out, noDigits(pr.Detail))
		}
	}
	for _, p := range m.Parts {
		for _, pr := range p.Problems {
			if pr.Kind == unpack.KindLimit {
				out = append(out, noDigits(pr.Detail))
			}
		}
	}
	return out
}

// noDigits replaces each run of digits by "N".
func noDigits(s string) string {
	var b strings.Builder
	in := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= '0' && c <= '9' {
			if !in {
				b.WriteByte('N')
			}
			in = true
			continue
		}
		in = false
		b.WriteByte(c)
	}
	return b.String()
}

// inputIndex finds the input's kept contents by size, hashing each only
// when a content of the rewrite has its size (the pipeline unpacks
// without hashes).
type inputIndex struct {
	bySize map[int64][]*unpack.Part
	sums   map[*unpack.Part]string
	names  map[string]bool
}

func (ix *inputIndex) has(q *unpack.Part) (bool, error) {
	want := q.SHA256
	if want == "" {
		s, err := sumPart(q)
		if err != nil {
			return false, err
		}
		want = s
	}
	for _, p := range ix.bySize[q.Size] {
		s := p.SHA256
		if s == "" {
			s = ix.sums[p]
		}
		if s == "" {
			var err error
			if s, err = sumPart(p); err != nil {
				return false, err
			}
			ix.sums[p] = s
		}
		if s == want {
			return true, nil
		}
	}
	return false, nil
}

// sumPart hashes a part's decoded content.
func sumPart(p *unpack.Part) (string, error) {
	r, err := p.Open()
	if err != nil {
		return "", fmt.Errorf("opening part %s: %w", p.Path, err)
	}
	defer r.Close()
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		return "", fmt.Errorf("reading part %s: %w", p.Path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
