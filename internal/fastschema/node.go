package fastschema

import (
	"math/big"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// JSON value kinds, as bits; tInteger only ever appears in a type mask.
const (
	tNull uint8 = 1 << iota
	tBool
	tNumber
	tInteger
	tString
	tArray
	tObject
)

// node is one compiled subschema. Its keywords are those of the
// jsonschema/v6 Schema it was made from; in-place applicators ($ref, allOf,
// anyOf, oneOf, not, if/then/else, dependentSchemas) point at other nodes and
// are evaluated through the node's plan.
type node struct {
	loc      string
	never    bool  // the false schema
	types    uint8 // allowed kinds; 0 = any
	safeInt  bool  // the type keyword lists integer: integers beyond ±(2^53−1) fail
	hasConst bool
	cnst     cval
	enum     *enumSet
	format   func(string) bool
	checks   []StringCheck

	// strings
	minLen, maxLen int // -1 when absent
	pattern        matcher

	// numbers
	bounds []bound

	// objects
	names         map[string]int32 // every property name a keyword mentions → its index
	nameProps     []*node          // by name index: the properties subschema (nil if none or trivial)
	isProp        []bool           // by name index: the name is in properties
	required      []int32
	depRequired   []depRequired
	depSchemas    []depSchema
	patterns      []patternProp
	additional    *node // nil: absent or trivially true
	hasAdditional bool  // additionalProperties is present
	propertyNames *node
	minProps      int // -1 when absent
	maxProps      int
	nwords        int // words of the presence bitset

	// arrays
	prefix                   []*node
	items                    *node
	hasItems                 bool
	minItems, maxItems       int
	unique                   bool
	contains                 *node
	minContains, maxContains int

	// in-place applicators
	ref                 *node
	allOf, anyOf, oneOf []*node
	not                 *node
	ifN, thenN, elseN   *node

	kinds     uint8 // value kinds the node has keywords for (beyond type)
	readsText bool  // the node needs a string's text (not only its type)
	trivial   bool  // no keywords at all: accepts everything
	plan      *plan
}

type depRequired struct {
	name int32
	req  []int32
}

type depSchema struct {
	name int32
	n    *node
}

type patternProp struct {
	re matcher
	n  *node // nil when trivially true
}

// bound is one numeric keyword.
type bound struct {
	op  uint8 // opMin, opMax, opXMin, opXMax, opMult
	d   dec
	rat *big.Rat
}

const (
	opMin uint8 = iota
	opMax
	opXMin
	opXMax
	opMult
)

// matcher is a compiled pattern: Go's regexp unless the reference was given
// another engine.
type matcher struct {
	re jsonschema.Regexp
	// match is the fast form taking bytes; nil when only MatchString
	// exists.
	match func([]byte) bool
	// dfa answers for ASCII text without the regexp; nil when the pattern
	// does not fit one.
	dfa *dfa
}

func (m matcher) ok() bool { return m.re != nil }

// plan is a node's in-place closure: the node and every node its in-place
// applicators reach, each once, in an order where a node comes before the
// nodes it applies in place. Evaluating a value against a node evaluates all
// of them on the value; combine then folds their results back up.
type plan struct {
	members []member
	// names merges the members' property tables: one lookup per object
	// member finds every (member, name index, subschema) it concerns.
	names *nameTable
	// objMembers and arrMembers list members that need each object member
	// or array item even when names has nothing for it.
	objMembers []uint8
	arrMembers []uint8
	// needsCombine is false when every member is must and nothing is
	// combined: then the node holds exactly when no member failed.
	needsCombine bool
	hasObject    bool // some member has object keywords
}

// member is one node of a plan with the plan-relative indexes of its
// in-place applicators.
type member struct {
	n    *node
	must bool // failing it fails the plan's root (through $ref/allOf only)
	ref  int16
	all  []int16
	any  []int16
	one  []int16
	not  int16
	ifI  int16
	then int16
	els  int16
	deps []depIndex
}

type depIndex struct {
	name int32 // name index in the member's node
	at   int16 // plan index of the dependent schema
}

// hit is what a property name means for one member of a plan.
type hit struct {
	at    uint8 // plan index of the member
	name  int32 // the name's index in that member's node
	prop  bool  // the name is one of the member's properties
	child *node // the properties subschema (nil: none or trivially true)
}

// maxPlan bounds the members of a plan (object members are tracked per member
// in a 64-bit mask).
const maxPlan = 64

// cval is a const or enum value, ready for comparison with raw values.
type cval struct {
	kind uint8 // tNull ... tObject
	b    bool
	s    string
	n    dec
	rat  *big.Rat // numbers that are not exact
	v    any      // arrays and objects
}

// enumSet is an enum split by kind for quick lookups.
type enumSet struct {
	strs       map[string]struct{}
	nums       []cval
	null       bool
	bools      [2]bool
	containers []any
	kinds      uint8
}
