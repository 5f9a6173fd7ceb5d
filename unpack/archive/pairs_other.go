//go:build !amd64

package archive

// scanPairs leaves the whole search to indexPair's loop where there is
// no assembly version.
func scanPairs(b []byte) (i, done int) {
	return -1, 0
}
