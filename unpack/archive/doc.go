// Package archive opens one level of an archive or compressed stream that
// arrived in a message, so that its members can be scanned like any other
// part.
//
// The contract:
//
//   - Identify sniffs the first bytes of a part (by magic numbers, never by
//     a declared name or type) and names the format. It needs the first
//     512 bytes to recognise tar; pass the first 8 KiB (HeadSize) so that
//     the zlib check, which trial-decodes, has enough to go on.
//   - Walk opens one level of that format and calls fn once per member with
//     a reader over the member's decompressed content. It does not recurse:
//     the caller identifies each member's content and walks it again,
//     passing what is left of its budget in Limits.
//   - Nothing is ever extracted to disk, and member names are data only:
//     they are passed on unchanged (possibly not UTF-8, possibly with "..",
//     "/" or control characters) and never used as paths.
//   - Content is streamed. Walk never holds a member in memory; the memory
//     it uses is that of the decoders, whose windows are capped by
//     Limits.MaxWindow.
//   - Problems (truncated, corrupt, limit hit, encrypted headers,
//     unsupported method) are returned as strings that start with a
//     keyword and a colon ("limit: ...", "corrupt: ...", "truncated: ...",
//     "encrypted: ...", "unsupported: ...", "ambiguous: ..."), so that the
//     caller can mark the part; they are never errors. Walk returns an
//     error only when ctx is cancelled or fn returns its own error.
//   - A panic inside a decoder (some of them panic on hostile input) is
//     recovered into a "corrupt: ..." problem.
//
// # Formats
//
// Archives: zip, tar, 7z, rar (v1.5 to v5), cab, arj, lha, ar, chm and
// cpio. Single
// compressed streams, which yield one member: gzip (member name from the
// gzip header), bzip2, xz, lzma (the legacy .lzma format), zstd (also
// behind a skippable frame), lz4, lzip, snappy (framed), minlz, zlib,
// Unix compress (.Z, compress.go), SZDD (COMPRESS.EXE, szdd.go), and
// brotli (which has no magic number, so Identify never returns it; Walk
// opens it when the caller knows). A compressed tar (tar.gz) is two
// levels: the gzip stream yields the tar as its one member.
//
// For zip, 7z and rar we drive the decoders that github.com/mholt/archives
// wraps (klauspost/compress/zip, bodgit/sevenzip, nwaples/rardecode)
// directly, because its wrappers hide what a scanner needs: its zip
// Extract stops the whole walk when one member marked as a symlink holds
// more than 32 KiB, it gives no way to cap the RAR dictionary (a 100-byte
// RAR can ask for a 4 GiB window), and neither says which members are
// encrypted. bodgit/sevenzip is replaced by a bounded copy (fork/sevenzip,
// see its README.scandeliver.md): upstream allocates every count a 7z
// header declares before reading it, and a 45-byte 7z ended the process
// with a fatal out-of-memory error.
//
// Written here, after the formats' own documents: zip members compressed
// with deflate64 and implode (lz.go), cab with stored, MSZIP and LZX folders
// (cab.go, lzx.go), arj methods 0 to 4 (arj.go), LHA lh0 and lh4 to lh7 with
// level 0 to 2 headers (lha.go), ar (ar.go), CHM (chm.go, its
// compressed section through lzx.go) and the four kinds of cpio
// (cpio.go). A member whose method has no decoder here (cab Quantum,
// zip PPMd, arj past method 4) is yielded with a reader
// that fails with ErrUnsupported: the caller marks it unscannable, never
// empty. Decoded members of those formats are checked against their
// declared size and CRC-32 where the format has one.
//
// Locate finds an archive with bytes in front of it (a self-extractor's
// stub, junk) as unzip, 7-Zip and unrar do: a zip by its end record, a
// rar, 7z, cab or arj archive by its signature in the first SearchLimit
// bytes, checked against its header. Unopened names the formats desktop
// tools open and Walk does not (LHA level 3, ALZ, ZOO, ACE, StuffIt, xar),
// for the caller to mark unscannable.
//
// # Limits
//
// Limits bound one Walk; the zero value of each field is its default:
//
//	MaxMembers  10 000 members
//	MaxBytes    256 MiB of decompressed content, all members together
//	MaxRatio    100: decompressed bytes / compressed size, checked once
//	            more than 1 MiB has been decompressed (RatioFloor)
//	MaxWindow   64 MiB decoder window or dictionary (rar, zstd, lzip)
//
// Exceeding one records a "limit: ..." problem, makes the member's reader
// return an error wrapping ErrLimit, and stops the walk. For 7z, whose
// solid blocks must be decoded from their start to reach a later member,
// each member's declared size is charged to MaxBytes before it is opened,
// so that skipping members cannot make Walk decode more than the limits.
package archive
