package fastschema

import (
	"regexp/syntax"
	"slices"
	"strconv"
	"strings"
)

// dfa is a pattern turned into a deterministic automaton over ASCII bytes:
// Go's own parse and program of the pattern (the reference uses Go's
// regexp), with the subset construction done once at compile time. It
// answers exactly what regexp.MatchString answers for ASCII text; text with
// other bytes goes to the regexp. Patterns with empty-width assertions other
// than ^ and $ (\b, multi-line anchors) or that need too many states keep
// the regexp alone.
type dfa struct {
	states     []dfaState
	emptyMatch bool // the empty text matches
}

type dfaState struct {
	next       [128]int16 // -1: no thread survives
	match      bool       // some thread matched: MatchString is true
	matchAtEnd bool       // a thread matches if the text ends here
}

// maxDFAStates bounds the automaton (each state is 256 bytes).
const maxDFAStates = 256

// newDFA builds the automaton, or returns nil when the pattern is not fit.
func newDFA(pattern string) *dfa {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return nil
	}
	prog, err := syntax.Compile(re.Simplify())
	if err != nil {
		return nil
	}
	for _, in := range prog.Inst {
		if in.Op == syntax.InstEmptyWidth && syntax.EmptyOp(in.Arg)&^(syntax.EmptyBeginText|syntax.EmptyEndText) != 0 {
			return nil
		}
	}
	b := &dfaBuilder{prog: prog, index: map[string]int16{}}
	// A search may start at every position: threads from the start are
	// added at each step (^ lets only the first through).
	b.restart = b.closure([]uint32{uint32(prog.Start)}, false)
	first := b.closure([]uint32{uint32(prog.Start)}, true)
	if b.state(first) < 0 {
		return nil
	}
	for _, pc := range b.closureAtEnd(first, true) {
		if prog.Inst[pc].Op == syntax.InstMatch {
			b.d.emptyMatch = true
		}
	}
	for i := 0; i < len(b.sets); i++ {
		if len(b.sets) > maxDFAStates {
			return nil
		}
		for c := 0; c < 128; c++ {
			var next []uint32
			for _, pc := range b.sets[i] {
				if in := &prog.Inst[pc]; matchesByte(in, rune(c)) {
					next = append(next, in.Out)
				}
			}
			set := mergeSets(b.closure(next, false), b.restart)
			b.d.states[i].next[c] = b.state(set)
		}
	}
	if len(b.sets) > maxDFAStates {
		return nil
	}
	return &b.d
}

type dfaBuilder struct {
	prog    *syntax.Prog
	d       dfa
	sets    [][]uint32
	index   map[string]int16
	restart []uint32
}

// state returns the state of a closed set of threads, adding it if new.
func (b *dfaBuilder) state(set []uint32) int16 {
	if len(set) == 0 {
		return -1
	}
	var k strings.Builder
	for _, pc := range set {
		k.WriteString(strconv.FormatUint(uint64(pc), 36))
		k.WriteByte(',')
	}
	if i, ok := b.index[k.String()]; ok {
		return i
	}
	i := int16(len(b.sets))
	b.index[k.String()] = i
	b.sets = append(b.sets, set)
	st := dfaState{}
	for j := range st.next {
		st.next[j] = -1
	}
	for _, pc := range set {
		if b.prog.Inst[pc].Op == syntax.InstMatch {
			st.match = true
		}
	}
	for _, pc := range b.closureAtEnd(set, false) {
		if b.prog.Inst[pc].Op == syntax.InstMatch {
			st.matchAtEnd = true
		}
	}
	b.d.states = append(b.d.states, st)
	return i
}

// closure follows the threads' empty moves. It keeps the threads waiting
// on a rune or a match, and, unless atEnd, those waiting on $; ^ passes
// only atStart.
func (b *dfaBuilder) closure(pcs []uint32, atStart bool) []uint32 {
	return b.walk(pcs, atStart, false)
}

func (b *dfaBuilder) walk(pcs []uint32, atStart, atEnd bool) []uint32 {
	seen := map[uint32]bool{}
	var out []uint32
	var walk func(pc uint32)
	walk = func(pc uint32) {
		if seen[pc] {
			return
		}
		seen[pc] = true
		in := &b.prog.Inst[pc]
		switch in.Op {
		case syntax.InstAlt, syntax.InstAltMatch:
			walk(in.Out)
			walk(in.Arg)
		case syntax.InstCapture, syntax.InstNop:
			walk(in.Out)
		case syntax.InstEmptyWidth:
			op := syntax.EmptyOp(in.Arg)
			if op&syntax.EmptyBeginText != 0 && !atStart {
				return
			}
			if op&syntax.EmptyEndText != 0 && !atEnd {
				out = append(out, pc) // waits for the end
				return
			}
			walk(in.Out)
		case syntax.InstFail:
		default: // runes and match
			out = append(out, pc)
		}
	}
	for _, pc := range pcs {
		walk(pc)
	}
	slices.Sort(out)
	return out
}

// closureAtEnd lets a state's threads waiting on $ through, at the end of
// the text; atStart says the text is empty (so ^ holds there too). The
// waiting instruction's own ^ was checked when the thread got to it.
func (b *dfaBuilder) closureAtEnd(set []uint32, atStart bool) []uint32 {
	var out []uint32
	for _, pc := range set {
		if in := &b.prog.Inst[pc]; in.Op == syntax.InstEmptyWidth {
			out = append(out, b.walk([]uint32{in.Out}, atStart, true)...)
		} else {
			out = append(out, pc)
		}
	}
	return out
}

func mergeSets(a, b []uint32) []uint32 {
	out := append(append([]uint32(nil), a...), b...)
	slices.Sort(out)
	return slices.Compact(out)
}

// matchesByte reports whether a rune instruction consumes ASCII rune r.
func matchesByte(in *syntax.Inst, r rune) bool {
	switch in.Op {
	case syntax.InstRune, syntax.InstRune1:
		return in.MatchRune(r)
	case syntax.InstRuneAny:
		return true
	case syntax.InstRuneAnyNotNL:
		return r != '\n'
	}
	return false
}

// match runs the automaton on s; ok is false when s has a byte outside
// ASCII (the caller asks the regexp).
func (d *dfa) match(s []byte) (matched, ok bool) {
	if len(s) == 0 {
		return d.emptyMatch, true
	}
	st := &d.states[0]
	for _, c := range s {
		if st.match {
			return true, true
		}
		if c >= 0x80 {
			return false, false
		}
		n := st.next[c]
		if n < 0 {
			return false, true
		}
		st = &d.states[n]
	}
	return st.match || st.matchAtEnd, true
}
