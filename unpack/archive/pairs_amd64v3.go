//go:build amd64.v3

package archive

// buildAVX2: a build for x86-64-v3 (GOAMD64=v3) may use AVX2.
const buildAVX2 = true
