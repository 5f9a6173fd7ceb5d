//go:build !amd64

package archive

// pairScan: there is no assembly version of scanPairs here (find uses
// findEach).
const pairScan = false

// scanPairs leaves the whole search to indexPair's loop.
func scanPairs(b []byte) (i, done int) {
	return -1, 0
}
