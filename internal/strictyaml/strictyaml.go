// Package strictyaml decodes the hub's and the connector's YAML files so
// that no input can crash the process: go-yaml (v1.19.2) panics on some
// documents (a tagged scalar where a list belongs, "inputs: !x a"), and a
// configuration or policy file must be refused with an error, not end the
// program with a stack trace.
package strictyaml

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/goccy/go-yaml"
)

// ErrDecoder is the error a panic of the YAML decoder becomes.
var ErrDecoder = errors.New("the YAML decoder failed on this document")

// Decode decodes the first document of data into v with go-yaml's
// decoder (empty data is io.EOF, as the decoder says).
func Decode(data []byte, v any, opts ...yaml.DecodeOption) (err error) {
	defer recoverInto(&err)
	return yaml.NewDecoder(bytes.NewReader(data), opts...).Decode(v)
}

// Unmarshal is yaml.UnmarshalWithOptions (empty data decodes to nothing).
func Unmarshal(data []byte, v any, opts ...yaml.DecodeOption) (err error) {
	defer recoverInto(&err)
	return yaml.UnmarshalWithOptions(data, v, opts...)
}

func recoverInto(err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("%w: %v", ErrDecoder, r)
	}
}
