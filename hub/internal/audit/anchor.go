package audit

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"

	"github.com/nats-io/nkeys"
)

// Anchor is a signed statement of the chain's head at a moment: entry Seq
// had hash Head. The hub publishes one periodically and at shutdown to
// places outside its data dir (see [Anchorer]); a later [Log.Verify]
// against it finds a log that was truncated, deleted or rewritten since,
// which the chain alone cannot show.
type Anchor struct {
	// Hub is the name of the hub that signed it.
	Hub string `json:"hub"`
	// Time is when it was signed, in UTC.
	Time time.Time `json:"time"`
	// Seq and Head are the last entry's stream sequence and hash.
	Seq  uint64 `json:"seq"`
	Head string `json:"head"`
	// Key is the public nkey of the anchor key that signed it.
	Key string `json:"key"`
	// Sig is the base64url Ed25519 signature of the anchor's JSON without
	// sig.
	Sig string `json:"sig,omitempty"`
}

// signedBytes are what Sig signs: the anchor's JSON with sig left out.
func (a Anchor) signedBytes() []byte {
	a.Sig = ""
	a.Time = a.Time.UTC()
	b, _ := json.Marshal(a) // a plain struct: cannot fail
	return b
}

// signAnchor fills a's key and signature with kp.
func signAnchor(kp nkeys.KeyPair, a Anchor) (Anchor, error) {
	pub, err := kp.PublicKey()
	if err != nil {
		return a, fmt.Errorf("anchor key: %w", err)
	}
	a.Key, a.Time = pub, a.Time.UTC().Round(0)
	sig, err := kp.Sign(a.signedBytes())
	if err != nil {
		return a, fmt.Errorf("sign anchor: %w", err)
	}
	a.Sig = base64.RawURLEncoding.EncodeToString(sig)
	return a, nil
}

// Check reports whether a carries a valid signature by the key pub (any
// key when pub is ""). The error says what is wrong.
func (a Anchor) Check(pub string) error {
	if pub != "" && a.Key != pub {
		return fmt.Errorf("signed by key %s, not by this hub's anchor key %s", short(a.Key), short(pub))
	}
	return checkSig(a.Key, a.Sig, a.signedBytes())
}

// checkSig verifies a base64url signature by the public nkey key over b.
func checkSig(key, sig string, b []byte) error {
	kp, err := nkeys.FromPublicKey(key)
	if err != nil {
		return fmt.Errorf("key %q is not a public nkey: %v", short(key), err)
	}
	raw, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || len(raw) == 0 {
		return fmt.Errorf("signature %q is not base64url", short(sig))
	}
	if err := kp.Verify(b, raw); err != nil {
		return fmt.Errorf("signature does not verify with key %s: content changed or forged", short(key))
	}
	return nil
}

// String is the anchor for messages: "seq 12 (head 3f2a…, 2026-…)".
func (a Anchor) String() string {
	return fmt.Sprintf("seq %d (head %s, anchored %s)", a.Seq, short(a.Head), a.Time.UTC().Format(time.RFC3339))
}

// short cuts a hash or key to 12 characters for a message.
func short(s string) string {
	if len(s) > 12 {
		return s[:12] + "…"
	}
	return s
}
