package archive

// Unopened names an archive or compressed format that content starting
// with head is in, by magic number, when Walk cannot open it: LHA with
// level 3 headers, ALZ,
// ZOO, ACE, StuffIt and xar. Desktop and
// command-line tools open them (7-Zip, lhasa, unar), so a
// part in one of them cannot be judged by us: the caller marks it
// unscannable, never clean.
func Unopened(head []byte) (format string, ok bool) {
	has := func(off int, magic string) bool {
		return len(head) >= off+len(magic) && string(head[off:off+len(magic)]) == magic
	}
	switch {
	case len(head) >= 21 && head[2] == '-' && head[6] == '-' && (has(3, "lh") || has(3, "lz")) && head[20] == 3:
		// A level 3 header, which walkLha does not read.
		return "lha", true
	case has(0, "ALZ\x01"):
		return "alz", true
	case has(0, "ZOO ") && has(20, "\xdc\xa7\xc4\xfd"):
		return "zoo", true
	case has(7, "**ACE**"):
		return "ace", true
	case has(0, "SIT!"), has(0, "StuffIt "):
		return "stuffit", true
	case has(0, "xar!"):
		return "xar", true
	}
	return "", false
}
