package unpack

import "strings"

// Readers is a set of the MIME readers whose readings unpack models. Where
// the bytes of a message allow more than one interpretation, unpack builds
// the reading of each of them (see the package documentation, section
// Readings); a Part's Readers are those whose reading holds it as it is.
type Readers uint16

// The modelled readers. The order is fixed: the first reader of a set is
// the one whose reading the walk follows first (the primary reading).
const (
	// ReaderRFC is the strict reading of RFC 2045, 2046, 2047 and 2231.
	ReaderRFC Readers = 1 << iota
	// ReaderThunderbird is Thunderbird's libmime.
	ReaderThunderbird
	// ReaderOutlook is Outlook and Exchange (modelled as Thunderbird where
	// their behaviour is not documented or observed).
	ReaderOutlook
	// ReaderGo is Go's net/mail and mime/multipart.
	ReaderGo
	// ReaderPyDefault is Python's email package, policy.default.
	ReaderPyDefault
	// ReaderPyCompat32 is Python's email package, policy.compat32.
	ReaderPyCompat32
	// ReaderRipMIME is ripmime(1).
	ReaderRipMIME
	// ReaderMunpack is munpack(1) (mpack).
	ReaderMunpack

	// AllReaders is every modelled reader: the Readers of every part of a
	// message whose readings agree.
	AllReaders Readers = 1<<iota - 1
)

var readerNames = [...]string{"rfc", "thunderbird", "outlook", "go", "py-default", "py-compat32", "ripmime", "munpack"}

// ReaderNames lists the names of all modelled readers, in order.
func ReaderNames() []string { return append([]string(nil), readerNames[:]...) }

// Names lists the names of the readers in r, in order.
func (r Readers) Names() []string {
	out := []string{}
	for i, n := range readerNames {
		if r&(1<<i) != 0 {
			out = append(out, n)
		}
	}
	return out
}

// String is the names joined by ",".
func (r Readers) String() string { return strings.Join(r.Names(), ",") }

// first is the first reader of r (0 when r is empty).
func (r Readers) first() Readers { return r & -r }
