package audit

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/nats-io/nkeys"
)

// Seal and checkpoint entries carry a signed detail:
//
//	{"<name>": {...}, "sig": "<base64url Ed25519 signature of the {...} bytes>"}
//
// signed by the anchor key, which is not kept in the data dir. Someone who
// can edit the stored log can compute hashes and so forge a plain entry
// that chains, but cannot forge these: a seal that would excuse a removal,
// or a checkpoint that would explain a missing prefix, needs the key.

// signDetail returns the detail {name: v, "sig": …} signed with kp.
func signDetail(kp nkeys.KeyPair, name string, v any) ([]byte, error) {
	body, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", name, err)
	}
	sig, err := kp.Sign(body)
	if err != nil {
		return nil, fmt.Errorf("sign %s: %w", name, err)
	}
	return json.Marshal(map[string]any{name: json.RawMessage(body), "sig": base64.RawURLEncoding.EncodeToString(sig)})
}

// openDetail checks the signature of a signed detail against the key it
// names, which must be pub, and decodes its body into v. key is the
// function that reads the signing key out of the decoded body.
func openDetail(detail []byte, name, pub string, v any, key func() string) error {
	if pub == "" {
		return errors.New("no anchor key to check its signature with")
	}
	var d map[string]json.RawMessage
	if err := json.Unmarshal(detail, &d); err != nil {
		return fmt.Errorf("detail: %v", err)
	}
	body, ok := d[name]
	if !ok {
		return fmt.Errorf("detail has no %q", name)
	}
	var sig string
	if err := json.Unmarshal(d["sig"], &sig); err != nil {
		return errors.New(`detail has no "sig"`)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%s: %v", name, err)
	}
	if k := key(); k != pub {
		return fmt.Errorf("signed by key %s, not by this hub's anchor key %s", short(k), short(pub))
	}
	return checkSig(pub, sig, body)
}
