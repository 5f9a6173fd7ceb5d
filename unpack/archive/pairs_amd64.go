package archive

// scanPairs looks for a pair of indexPair's 16 places at a time (SSE2,
// which every amd64 processor has), or 32 in a build for x86-64-v3
// (AVX2), as far as there are bytes to load: it returns the index of the
// first pair in b, or -1 and how far it looked (indexPair looks at the
// rest). The AVX2 version is chosen at build time, not by asking the
// processor at start: CPUID is slow in a virtual machine, and every
// delivery is a new process.
func scanPairs(b []byte) (i, done int) {
	if useAVX2 {
		return scanPairsAVX2(b, &pairBytes)
	}
	return scanPairsSSE2(b, &pairBytes)
}

// pairScan: scanPairs is in assembly here (find uses findPairs).
const pairScan = true

// useAVX2 is a variable for the tests, which run both versions where the
// processor can.
var useAVX2 = buildAVX2

// In pairs_amd64.s.
//
//go:noescape
func scanPairsSSE2(b []byte, t *[2 * len(signatures)]byte) (i, done int)

//go:noescape
func scanPairsAVX2(b []byte, t *[2 * len(signatures)]byte) (i, done int)
