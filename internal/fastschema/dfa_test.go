package fastschema

import (
	"math/rand/v2"
	"regexp"
	"testing"
)

// dfaPatterns are the patterns the automaton is held to Go's regexp on:
// the shipped schemas', the generator's, and awkward ones.
var dfaPatterns = []string{
	`^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})?$`,
	`^[A-Za-z0-9]{4}_[A-Za-z0-9]{3}_[A-Za-z0-9]{3}$`, `^[a-z0-9]+(-[a-z0-9]+)*$`, `^[0-9A-Za-z_-]{1,64}$`,
	`^[0-9]{4}$`, `^[0-9]{10}$`, "^a", "b$", "^[a-c]+$", `^\d{2}$`, "é", "^.{2}$", "^$", "^(a|b)*$", `\p{L}`,
	"", "a", "a|^b", "(?i)^ab$", "x*", "^x*$", `a\z`, `\Aa`, `(?m)^a$`, `\bx\b`, "(?s).a.", "a.b", "[^a]", "^[^\n]*$",
	"(a|ab)(c|bcd)(d*)", "^(?:a+)+$", "(?U)a+?b", "a{2,3}?", `^\s*$`, `[[:alpha:]]+`, `^\w+@\w+\.\w+$`, "^((a)|b)+$",
	"$", "^", "^^a$$", "a$|b", "(^a|b$)", "(?i)k", "\u212a", "[\\x00-\\x7f]+", "^.*$", "(?s)^.*$",
	"$^", "(?:$)^a", "^$^$", "a?$^", "(^|a)b", "(a|$)(^|b)", `\A\z`, "x|$^",
}

var dfaInputs = []string{"", "a", "b", "ab", "abc", "aab", "ba", "12", "123", "2019-04-15T23:59:59", "2019-04-15T23:59:59.5+01:00",
	"2019-04-15 23:59:59", "PFZr_Syz_cUq", "occupation-name", "Occupation-Name", "a-", "x", "xx", "\n", "a\nb", "é", "aé",
	"K", "k", "\u212a", " \t", "a@b.se", "abcd", "ac", "abcdd", "a\n", "\na", "aa", "1234567890", "_", "-"}

// TestDFAAgreesWithRegexp compares the automaton with Go's regexp on the
// patterns above, for fixed and random texts.
func TestDFAAgreesWithRegexp(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte("ab0129-_:T.Z+xk\n é")
	built := 0
	for _, p := range dfaPatterns {
		re := regexp.MustCompile(p)
		d := newDFA(p)
		if d == nil {
			continue
		}
		built++
		inputs := append([]string(nil), dfaInputs...)
		for i := 0; i < map[bool]int{false: 300, true: 60}[raceEnabled]; i++ {
			b := make([]byte, r.IntN(24))
			for j := range b {
				b[j] = alphabet[r.IntN(len(alphabet))]
			}
			inputs = append(inputs, string(b))
		}
		for _, in := range inputs {
			want := re.MatchString(in)
			if got, ok := d.match([]byte(in)); ok && got != want {
				t.Errorf("pattern %q on %q: automaton %v, regexp %v", p, in, got, want)
			}
		}
	}
	if built < len(dfaPatterns)*3/4 {
		t.Errorf("only %d of %d patterns got an automaton", built, len(dfaPatterns))
	}
}

// FuzzPattern holds the automaton to Go's regexp on fuzzed patterns and
// texts.
func FuzzPattern(f *testing.F) {
	for i, p := range dfaPatterns {
		f.Add(p, dfaInputs[i%len(dfaInputs)])
	}
	f.Fuzz(func(t *testing.T, p, in string) {
		re, err := regexp.Compile(p)
		if err != nil {
			return
		}
		d := newDFA(p)
		if d == nil {
			return
		}
		if got, ok := d.match([]byte(in)); ok && got != re.MatchString(in) {
			t.Fatalf("pattern %q on %q: automaton %v, regexp %v", p, in, got, !got)
		}
	})
}

// TestSkipString checks the word-at-a-time scan against a byte loop.
func TestSkipString(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	alphabet := []byte("ab\"\\\x00\x1f\x20\x7f\x80\xc3\xa9\xff!#[]")
	for n := 0; n < 20000; n++ {
		b := make([]byte, r.IntN(40))
		for j := range b {
			b[j] = alphabet[r.IntN(len(alphabet))]
		}
		from := 0
		if len(b) > 0 {
			from = r.IntN(len(b))
		}
		want := from
		for want < len(b) && b[want] != '"' && b[want] != '\\' && b[want] >= 0x20 {
			want++
		}
		if got := skipString(b, from); got != want {
			t.Fatalf("skipString(%q, %d) = %d, want %d", b, from, got, want)
		}
	}
}
