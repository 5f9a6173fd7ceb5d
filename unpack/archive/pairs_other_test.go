//go:build !amd64

package archive

type pairVariant struct {
	name string
	use  func() (restore func())
}

func pairVariants() []pairVariant {
	return []pairVariant{{"go", func() func() { return func() {} }}}
}
