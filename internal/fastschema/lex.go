package fastschema

import (
	"encoding/binary"
	"math/bits"
	"unicode/utf8"
	"unsafe"
)

// Byte-level helpers of the one pass: whitespace, strings and their
// escapes. Strings are skimmed eight bytes at a time until a quote, a
// backslash or a control character.

var isSpace = [256]bool{' ': true, '\t': true, '\n': true, '\r': true}

// strStop marks the bytes that end a run of plain string content.
var strStop = func() (t [256]bool) {
	for c := 0; c < 0x20; c++ {
		t[c] = true
	}
	t['"'], t['\\'] = true, true
	return t
}()

const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// stopMask flags (high bit of each byte) the bytes of an 8-byte word that
// are a quote, a backslash or below 0x20. A flag may be wrong only above a
// true one, so the lowest flag is always a true stop; non-ASCII bytes are
// never flagged.
func stopMask(x uint64) uint64 {
	q := x ^ (ones * '"')
	b := x ^ (ones * '\\')
	return ((q-ones)&^q | (b-ones)&^b | (x-ones*0x20)&^x) & highs
}

// skipString finds the end of plain content from i: the offset of the first
// quote, backslash or control byte, or len(d).
func skipString(d []byte, i int) int {
	for i+8 <= len(d) {
		if m := stopMask(binary.LittleEndian.Uint64(d[i:])); m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
		i += 8
	}
	for i < len(d) && !strStop[d[i]] {
		i++
	}
	return i
}

func hexVal(c byte) (rune, bool) {
	switch {
	case c >= '0' && c <= '9':
		return rune(c - '0'), true
	case c >= 'a' && c <= 'f':
		return rune(c - 'a' + 10), true
	case c >= 'A' && c <= 'F':
		return rune(c - 'A' + 10), true
	}
	return 0, false
}

// hex4 reads four hex digits at d[i:].
func hex4(d []byte, i int) (rune, bool) {
	if i+4 > len(d) {
		return 0, false
	}
	var r rune
	for _, c := range d[i : i+4] {
		v, ok := hexVal(c)
		if !ok {
			return 0, false
		}
		r = r<<4 | v
	}
	return r, true
}

// unescape appends the text of string content s (between the quotes, already
// checked) to dst. A lone surrogate becomes U+FFFD, as encoding/json does
// (the decode rules refuse such records anyway).
func unescape(dst, s []byte) []byte {
	for i := 0; i < len(s); {
		j := i
		for j < len(s) && s[j] != '\\' {
			j++
		}
		dst = append(dst, s[i:j]...)
		if j >= len(s) {
			break
		}
		i = j + 2
		switch s[j+1] {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r, _ := hex4(s, j+2)
			i = j + 6
			if r >= 0xD800 && r <= 0xDBFF {
				if lo, ok := hex4(s, j+8); ok && j+7 < len(s) && s[j+6] == '\\' && s[j+7] == 'u' && lo >= 0xDC00 && lo <= 0xDFFF {
					r = 0x10000 + (r-0xD800)<<10 + (lo - 0xDC00)
					i = j + 12
				} else {
					r = utf8.RuneError
				}
			} else if r >= 0xDC00 && r <= 0xDFFF {
				r = utf8.RuneError
			}
			dst = utf8.AppendRune(dst, r)
		default: // '"', '\\', '/'
			dst = append(dst, s[j+1])
		}
	}
	return dst
}

// view returns b as a string without copying; it must not outlive b's
// contents.
func view(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}
