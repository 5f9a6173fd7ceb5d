package archive

// The signatures Locate searches for are found by their first two
// bytes: a search for the four pairs at once (indexPair) finds every
// place where one may start, in one pass over the content, and each is
// then compared whole. On random bytes a pair occurs about once in
// 65,536 bytes, so the comparisons cost nothing; the pass is what costs,
// and on amd64 it is done 16 bytes at a time, or 32 in a build for
// x86-64-v3 (GOAMD64=v3: AVX2), in pairs_amd64.s. Elsewhere find
// searches each signature with bytes.Index (findEach). Four
// bytes.Index passes, each stopping at every one of the 1 in 256 bytes
// that starts its signature, cost about four times as much (issue 11's
// 1.05x bar: BenchmarkWatch).

// pairBytes are the first bytes of signatures, then their second bytes,
// in their order (TestPairBytes): pairs_amd64.s compares 16 or 32 bytes
// of content with each of them at once. A literal, not a table built at
// start: every delivery is a new process.
var pairBytes = [2 * len(signatures)]byte{'R', '7', 'M', 0x60, 'a', 'z', 'S', 0xea}

// indexPair returns the index of the first place in b where the first
// two bytes of one of signatures occur, or -1.
func indexPair(b []byte) int {
	i, done := scanPairs(b)
	if i >= 0 {
		return i
	}
	for j := done; j+1 < len(b); j++ {
		if isPair(b[j], b[j+1]) {
			return j
		}
	}
	return -1
}

// isPair reports whether c0, c1 are the first two bytes of one of
// signatures.
func isPair(c0, c1 byte) bool {
	for k := range len(signatures) {
		if c0 == pairBytes[k] && c1 == pairBytes[len(signatures)+k] {
			return true
		}
	}
	return false
}
