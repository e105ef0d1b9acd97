package schema

import (
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/message"
)

// safeIntegerVocab adds one check wherever a schema says "type": "integer"
// (alone or among other types): a number there must lie within
// ±[MaxSafeInteger], however it is written. Decode already refuses integer
// literals beyond it everywhere; this catches 1e20 or 12345678901234567890.0,
// which JSON Schema counts as integers but which no int64 holds and float64
// may not hold exactly. It is not a keyword a schema author writes: it reads
// the type keyword of every subschema as it is compiled.
func safeIntegerVocab() *jsonschema.Vocabulary {
	return &jsonschema.Vocabulary{
		URL: "https://schemas.jobtechdev.se/datahub/vocab/safe-integer",
		Compile: func(_ *jsonschema.CompilerContext, obj map[string]any) (jsonschema.SchemaExt, error) {
			if saysInteger(obj["type"]) {
				return safeInteger{}, nil
			}
			return nil, nil
		},
	}
}

// saysInteger reports whether a type keyword's value allows integers.
func saysInteger(t any) bool {
	switch t := t.(type) {
	case string:
		return t == "integer"
	case []any:
		for _, x := range t {
			if x == "integer" {
				return true
			}
		}
	}
	return false
}

type safeInteger struct{}

func (safeInteger) Validate(ctx *jsonschema.ValidatorContext, v any) {
	n, ok := v.(json.Number)
	if !ok || len(n) <= 15 && !strings.ContainsAny(string(n), "eE") {
		return // 15 characters or fewer and no exponent: within 2^53
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil || math.Abs(f) < MaxSafeInteger {
		return
	}
	// Near or past the bound: decide exactly, and only for integral values
	// (a fraction fails the type keyword itself).
	r, ok := new(big.Rat).SetString(string(n))
	if !ok || !r.IsInt() || r.Num().CmpAbs(maxSafe) <= 0 {
		return
	}
	ctx.AddError(&unsafeInteger{got: string(n)})
}

var maxSafe = big.NewInt(MaxSafeInteger)

// unsafeInteger is the error of safeInteger; it reports as the type keyword.
type unsafeInteger struct{ got string }

func (*unsafeInteger) KeywordPath() []string { return []string{"type"} }

func (k *unsafeInteger) LocalizedString(*message.Printer) string {
	return fmt.Sprintf("integer %s is beyond ±%d (2^53−1): no int64 holds it and a float64 may not hold it exactly; send it as a string", k.got, MaxSafeInteger)
}
