// Package unpack owns the spool and the tree of parts of one message.
//
// The message is read once from stdin into a Spool (memory up to a
// threshold, then an unlinked mode-0600 file). Every later stage re-reads
// the spool; nothing modifies it.
package unpack
