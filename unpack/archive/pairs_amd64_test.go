package archive

import "golang.org/x/sys/cpu"

type pairVariant struct {
	name string
	use  func() (restore func())
}

// pairVariants are the versions of scanPairs this processor runs: AVX2
// where it has it (whatever the build is for), and SSE2.
func pairVariants() []pairVariant {
	set := func(avx2 bool) func() func() {
		return func() func() {
			old := useAVX2
			useAVX2 = avx2
			return func() { useAVX2 = old }
		}
	}
	v := []pairVariant{{"sse2", set(false)}}
	if cpu.X86.HasAVX2 {
		v = append(v, pairVariant{"avx2", set(true)})
	}
	return v
}
