// Package ole reads the directory of an OLE2 Compound File Binary (MS-CFB:
// legacy .doc, .xls, .ppt, .msg, vbaProject.bin, and encrypted OOXML
// wrapped in CFB) and tells whether the document carries a VBA project or
// is encrypted, or, in Excel 97-2003 and 5.0/95 workbooks, an Excel 4.0
// (XLM) macro sheet. It extracts nothing: unpack uses it to mark parts for
// policy.
//
// The contract: Open reads the header, the FAT (through the header's DIFAT
// and the DIFAT chain), the directory and, for the encryption and macro
// sheet checks only, the first bytes of the streams directly under the
// root that need it (12 of WordDocument; of Workbook or Book, the records
// of the globals substream, up to its first EOF record), through the FAT,
// or the mini FAT and mini stream under the 4096-byte cutoff, a sector at
// a time as the checks need them. Sector sizes 512 (version 3) and 4096
// (version 4) are read. The returned File holds only what was learned, not
// the reader. Open fails, with an error matching ErrMalformed, on a
// structure it cannot trust (a chain that loops or leaves the file, a
// directory link out of range or reached twice, a truncated header or
// sector), and with an error matching ErrLimit past Limits; anything else
// it tolerates is marked QUIRK: in the code, and what the encryption and
// macro sheet checks could not read (a Workbook stream that is not BIFF,
// or ends before its EOF record, or is over the bounds below) is listed by
// Problems. Errors name what was wrong ("ole: FAT chain loops at sector
// 12").
//
// # What is detected
//
// HasVBA: a storage named "VBA" directly holding a stream "dir" (Word
// keeps it at Macros/VBA, Excel at _VBA_PROJECT_CUR/VBA, PowerPoint
// elsewhere, a vbaProject.bin at the root), or a stream named
// "_VBA_PROJECT" anywhere. Names compare case-insensitively (MS-CFB 2.6.4
// compares upper-cased names; strings.EqualFold is at least as broad).
//
// HasXLM: a "Workbook" (BIFF8) or "Book" (BIFF5) stream directly under
// the root whose globals substream (the records from its first BOF to its
// first EOF) holds a BoundSheet8 record (MS-XLS 2.4.28; BOUNDSHEET in
// BIFF5, the same fields) of sheet type dt 0x01, a macro sheet: Excel 4.0
// macros, which need no VBA storage. Visible, hidden and very hidden
// sheets alike; worksheets, dialog sheets, chart sheets and Excel 5 VB
// module sheets (dt 0x06: their code is in a VBA project, which HasVBA
// looks for) do not count. An encrypted workbook is not looked into: after FilePass,
// every record but its type and size (and BoundSheet8.lbPlyPos) is
// encrypted (MS-XLS 2.2.10), so dt cannot be read; it reports Encrypted
// and HasXLM false. HasMacros is HasVBA or HasXLM.
//
// Encrypted, from the streams directly under the root:
//   - "EncryptionInfo" and "EncryptedPackage": encrypted OOXML
//     (MS-OFFCRYPTO), what Office writes for a password-protected
//     .docx/.xlsx/.pptx;
//   - "WordDocument" whose FIB has fEncrypted set (MS-DOC 2.5.2): Word
//     97-2003 with XOR or RC4 encryption;
//   - "Workbook" (BIFF8) or "Book" (BIFF5) with a FilePass record before
//     the first EOF record (MS-XLS 2.4.117);
//   - "EncryptedSummary" (MS-PPT 2.1.3): PowerPoint 97-2003 encryption.
//
// Not detected: Word 6/95 WordBasic macros (inside WordDocument), Excel
// 4.0 macro sheets in an encrypted workbook (even with Excel's default
// password "VelvetSweatshop", which malware used so that Excel opens the
// file without asking), XLM formulas outside macro sheets (defined names,
// a sheet substream whose BOF says macro sheet but whose BoundSheet8 does
// not), macros in embedded objects (an ObjectPool or MBD... storage
// holding a whole document: its VBA storage is found, its Workbook's
// macro sheets are not, and a document in an Ole10Native or Package stream
// is not opened), OLE objects and DDE links,
// PowerPoint "write protection" passwords and IRM/DRM-protected documents
// (the DataSpaces storage without EncryptionInfo).
//
// # Limits
//
// Limits.MaxSectors (default 1<<20) bounds the sectors the file may have
// and so the FAT kept in memory (4 bytes a sector) and every chain;
// Limits.MaxEntries (default 1<<16) bounds the directory entries read. The
// BIFF records walked total at most 1 MiB of stream, in at most 16
// Workbook and Book streams (a real file has one); past either bound the
// walk stops with a "limit: " problem. The ordinary globals substream ends
// within a few KB, a large one within a few hundred. Storages nest at most
// 32 deep and the entry paths total at most 256 bytes per MaxEntries.
// Every chain is walked with a visited set, every sector number and
// directory link is checked against what the file holds, and nothing is
// allocated in proportion to a declared size that the file size does not
// back.
package ole
