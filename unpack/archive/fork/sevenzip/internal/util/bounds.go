package util

// MaxWindow bounds a decoder's dictionary or window (scandeliver: a
// header may declare 4 GiB, which is allocated before a byte is decoded).
const MaxWindow = 64 << 20
