package schema_test

import (
	"fmt"

	"github.com/jobtech-dev/datahub/connector-kit/schema"
)

func Example() {
	s, err := schema.Compile("jobads@1", []byte(`{
		"type": "object",
		"required": ["id", "headline", "employer"],
		"properties": {
			"id": {"type": "string", "pattern": "^[0-9]+$"},
			"headline": {"type": "string", "minLength": 1},
			"employer": {"type": "object", "required": ["name"]},
			"number_of_vacancies": {"type": "integer", "minimum": 1}
		}
	}`), nil)
	if err != nil {
		fmt.Println(err)
		return
	}

	_, vs := s.Check([]byte(`{"id":"22884504","headline":"Trafikledare","employer":{"name":"Visit Abisko"}}`), schema.Limits{})
	fmt.Println("valid:", vs == nil)

	_, vs = s.Check([]byte(`{"id":"A-1","employer":{},"number_of_vacancies":0}`), schema.Limits{})
	for _, v := range vs {
		fmt.Printf("%s %s: %s\n", v.Pointer, v.Keyword, v.Message)
	}
	// Output:
	// valid: true
	// /employer/name required: required property "name" is missing
	// /headline required: required property "headline" is missing
	// /id pattern: 'A-1' does not match pattern '^[0-9]+$'
	// /number_of_vacancies minimum: must be >= 1 but found 0
}
