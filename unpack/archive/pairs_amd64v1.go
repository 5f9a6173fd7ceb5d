//go:build amd64 && !amd64.v3

package archive

// buildAVX2: a build for any amd64 processor uses SSE2.
const buildAVX2 = false
