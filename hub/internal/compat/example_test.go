package compat_test

import (
	"fmt"
	"os"

	"github.com/jobtech-dev/datahub/hub/internal/compat"
)

// A candidate version lowers maxLength on headline and makes employer
// required: under BACKWARD it is refused, with both changes, their pointers
// and what breaks.
func ExampleCheck() {
	v1 := compat.Document{Version: 1, Schema: []byte(`{
		"type": "object",
		"properties": {
			"headline": {"type": "string", "maxLength": 200},
			"employer": {"type": "string"}
		}}`)}
	v2 := compat.Document{Version: 2, Schema: []byte(`{
		"type": "object",
		"required": ["employer"],
		"properties": {
			"headline": {"type": "string", "maxLength": 100},
			"employer": {"type": "string"}
		}}`)}
	r, err := compat.Check(compat.Backward, []compat.Document{v1}, v2)
	if err != nil {
		panic(err)
	}
	fmt.Println("compatible:", r.Compatible)
	for _, c := range r.Breaking {
		fmt.Printf("%s %s (v%d) old %q new %q\n  %s\n", c.Breaks, c.Type, c.Version, c.OldPointer, c.NewPointer, c.Message)
	}
	// Output:
	// compatible: false
	// backward MAX_LENGTH_DECREASED (v1) old "/properties/headline/maxLength" new "/properties/headline/maxLength"
	//   maxLength lowered from 200 to 100 (at /headline); breaks backward: a record valid under the old schema can fail the new one
	// backward REQUIRED_PROPERTY_ADDED (v1) old "" new "/required"
	//   property "employer" is now required (at /employer); breaks backward: a record valid under the old schema can fail the new one
}

// Diff lists every change, compatible ones included.
func ExampleDiff() {
	old := compat.Document{Schema: []byte(`{"type":"object","properties":{"kind":{"enum":["full-time","part-time"]}}}`)}
	cand := compat.Document{Schema: []byte(`{"type":"object","properties":{"kind":{"enum":["full-time","part-time","summer"],"description":"Employment type"}}}`)}
	changes, err := compat.Diff(old, cand)
	if err != nil {
		panic(err)
	}
	for _, c := range changes {
		fmt.Printf("%-8s %s %s\n", c.Breaks, c.Type, c.NewPointer)
	}
	// Output:
	// none     DESCRIPTION_CHANGED /properties/kind/description
	// forward  ENUM_ARRAY_EXTENDED /properties/kind/enum
}

// The job ad's headline limit lowered from 200 to 100 characters: the text
// `hub schema check jobads FILE` prints before it exits with status 1.
func ExampleReport_WriteText() {
	v1 := compat.Document{Version: 1, Schema: []byte(`{"type":"object","properties":{"headline":{"type":"string","minLength":1,"maxLength":200}}}`)}
	v2 := compat.Document{Version: 2, Schema: []byte(`{"type":"object","properties":{"headline":{"type":"string","minLength":1,"maxLength":100}},
		"required":["headline"]}`)}
	r, err := compat.Check(compat.Backward, []compat.Document{v1}, v2)
	if err != nil {
		panic(err)
	}
	if err := r.WriteText(os.Stdout); err != nil {
		panic(err)
	}
	// Output:
	// version 2 refused under BACKWARD: 2 breaking changes (checked against version 1)
	//   backward MAX_LENGTH_DECREASED, against version 1
	//     old: /properties/headline/maxLength
	//     new: /properties/headline/maxLength
	//     maxLength lowered from 200 to 100 (at /headline); breaks backward: a record valid under the old schema can fail the new one
	//   backward REQUIRED_PROPERTY_ADDED, against version 1
	//     old: (root)
	//     new: /required
	//     property "headline" is now required (at /headline); breaks backward: a record valid under the old schema can fail the new one
}
