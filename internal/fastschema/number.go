package fastschema

import (
	"bytes"
	"math/big"
	"math/bits"
	"strconv"
	"unsafe"
)

// dec is a JSON number read exactly: value = (-1)^neg × m × 10^e, with m
// free of trailing zeros (0 for zero, whatever its sign). exact is false
// when the number has more than 19 significant digits or an exponent out of
// the range kept here; such numbers are compared with math/big instead (rare,
// and allowed to allocate).
type dec struct {
	m     uint64
	e     int32
	nd    int8 // decimal digits in m
	neg   bool
	exact bool
}

// maxExp bounds the exponents kept exactly; JSON numbers within float64's
// range (the decode rules refuse the rest) stay far inside it.
const maxExp = 1 << 14

// numInfo is what the decode rules need to know about a number literal.
type numInfo struct {
	plain     bool // no fraction, no exponent
	intDigits int  // digits before the point (after the sign)
	exp       int  // the written exponent, clamped as the reference clamps it
}

var pow10 = func() (p [20]uint64) {
	p[0] = 1
	for i := 1; i < len(p); i++ {
		p[i] = p[i-1] * 10
	}
	return p
}()

// ndigits counts the decimal digits of m (0 has none).
func ndigits(m uint64) int8 {
	n := int8(0)
	for m != 0 {
		m /= 10
		n++
	}
	return n
}

// scanNumber reads the number literal at data[i:] per RFC 8259 and returns
// where it ends, its exact value and what the decode rules need. ok is false
// for a malformed literal.
func scanNumber(data []byte, i int) (end int, d dec, info numInfo, ok bool) {
	n := len(data)
	d.exact = true
	if data[i] == '-' {
		d.neg = true
		i++
	}
	intStart := i
	e := 0
	nd := 0
	add := func(c byte) { // c is a significant digit
		switch {
		case d.m == 0 && c == '0':
		case nd < 19:
			d.m = d.m*10 + uint64(c-'0')
			nd++
			return
		default:
			if c != '0' {
				d.exact = false
			}
			e++ // a digit beyond 19 is dropped; its place counts
			return
		}
	}
	switch {
	case i < n && data[i] == '0':
		i++
	case i < n && data[i] >= '1' && data[i] <= '9':
		for i < n && data[i] >= '0' && data[i] <= '9' {
			add(data[i])
			i++
		}
	default:
		return i, d, info, false
	}
	info.intDigits = i - intStart
	info.plain = true
	if i < n && data[i] == '.' {
		info.plain = false
		i++
		start := i
		for i < n && data[i] >= '0' && data[i] <= '9' {
			c := data[i]
			switch {
			case d.m == 0 && c == '0':
				e--
			case nd < 19:
				d.m = d.m*10 + uint64(c-'0')
				nd++
				e--
			default:
				if c != '0' {
					d.exact = false
				}
			}
			i++
		}
		if i == start {
			return i, d, info, false
		}
	}
	if i < n && (data[i] == 'e' || data[i] == 'E') {
		info.plain = false
		i++
		neg := false
		if i < n && (data[i] == '+' || data[i] == '-') {
			neg = data[i] == '-'
			i++
		}
		start := i
		x := 0
		for i < n && data[i] >= '0' && data[i] <= '9' {
			if x < 1<<20 {
				x = x*10 + int(data[i]-'0')
			}
			i++
		}
		if i == start {
			return i, d, info, false
		}
		if neg {
			x = -x
		}
		info.exp = x
		e += x
	}
	if d.m == 0 {
		d.e, d.nd = 0, 0
		return i, d, info, true
	}
	for d.m%10 == 0 {
		d.m /= 10
		e++
	}
	if e > maxExp || e < -maxExp {
		d.exact = false
		e = 0
	}
	d.e = int32(e)
	d.nd = ndigits(d.m)
	return i, d, info, true
}

// decodeIssue applies the decode rules of the reference (I-JSON, RFC 7493)
// to a number literal tok: an integer literal beyond ±(2^53−1), or a number
// outside float64's range (too large, or so small it reads as 0), is refused.
// It mirrors connector-kit/schema's scanner rule for rule.
func decodeIssue(tok []byte, info numInfo) bool {
	if info.plain {
		const maxSafe = "9007199254740991"
		if info.intDigits > len(maxSafe) {
			return true
		}
		if info.intDigits == len(maxSafe) {
			digits := tok[len(tok)-info.intDigits:]
			return string(digits) > maxSafe
		}
		return false
	}
	if len(tok) <= 32 && info.exp > -250 && info.exp < 250 {
		return false
	}
	f, err := strconv.ParseFloat(unsafe.String(unsafe.SliceData(tok), len(tok)), 64)
	if err != nil {
		return true
	}
	if f == 0 {
		mant := tok
		if e := bytes.IndexAny(tok, "eE"); e >= 0 {
			mant = tok[:e]
		}
		return bytes.ContainsAny(mant, "123456789")
	}
	return false
}

// isInt reports whether the number is an integer (1.0 and 1e2 are).
func (d dec) isInt() bool { return d.m == 0 || d.e >= 0 }

// beyondSafe reports whether the number is an integer beyond ±(2^53−1), the
// bound the reference holds "type": "integer" values to.
func (d dec) beyondSafe() bool {
	if d.m == 0 || d.e < 0 {
		return false
	}
	mag := int(d.nd) + int(d.e)
	switch {
	case mag > 16:
		return true
	case mag < 16:
		return false
	}
	return d.m*pow10[d.e] > 1<<53-1
}

// cmpDec compares two exact numbers.
func cmpDec(a, b dec) int {
	sa, sb := sign(a), sign(b)
	if sa != sb {
		if sa < sb {
			return -1
		}
		return 1
	}
	if sa == 0 {
		return 0
	}
	c := cmpMag(a, b)
	if sa < 0 {
		return -c
	}
	return c
}

func sign(d dec) int {
	switch {
	case d.m == 0:
		return 0
	case d.neg:
		return -1
	}
	return 1
}

// cmpMag compares |a| and |b|, both non-zero.
func cmpMag(a, b dec) int {
	ma, mb := int(a.nd)+int(a.e), int(b.nd)+int(b.e)
	if ma != mb {
		if ma < mb {
			return -1
		}
		return 1
	}
	x, y := a.m, b.m
	if a.nd < b.nd {
		x *= pow10[b.nd-a.nd]
	} else {
		y *= pow10[a.nd-b.nd]
	}
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

// multipleOf reports whether a / b is an integer, for exact a and b (b > 0).
// ok is false when the answer needs math/big.
func multipleOf(a, b dec) (yes, ok bool) {
	if a.m == 0 {
		return true, true
	}
	// a/b = (a.m / b.m) × 10^(a.e−b.e)
	k := int(a.e) - int(b.e)
	if k >= 0 {
		if k > 40 {
			return false, false
		}
		// b.m divides a.m × 10^k?
		r := a.m % b.m
		for ; k > 0; k-- {
			hi, lo := bits.Mul64(r, 10)
			_, r = bits.Div64(hi, lo, b.m)
		}
		return r == 0, true
	}
	// b.m × 10^-k divides a.m?
	if -k >= len(pow10) {
		return false, true // the divisor exceeds a.m
	}
	hi, lo := bits.Mul64(b.m, pow10[-k])
	if hi != 0 || lo > a.m {
		return false, true
	}
	return a.m%lo == 0, true
}

// decFromRat converts a schema bound to a dec when it is a decimal of at
// most 19 significant digits.
func decFromRat(r *big.Rat) dec {
	if r == nil {
		return dec{}
	}
	s := r.FloatString(0)
	if !r.IsInt() {
		// A decimal fraction has a denominator of 2^a·5^b; 40 places
		// cover every bound worth a fast path, and FloatString rounds
		// the rest, which the round trip below detects.
		s = r.FloatString(40)
	}
	_, d, _, ok := scanNumber([]byte(s), 0)
	if !ok || !d.exact {
		return dec{}
	}
	back, ok2 := new(big.Rat).SetString(s)
	if !ok2 || back.Cmp(r) != 0 {
		return dec{}
	}
	return d
}

// ratOf returns a number literal's exact value.
func ratOf(tok []byte) *big.Rat {
	r, ok := new(big.Rat).SetString(string(tok))
	if !ok {
		return nil
	}
	return r
}
