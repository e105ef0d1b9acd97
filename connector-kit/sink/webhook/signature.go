package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Headers on every webhook POST.
const (
	// HeaderTimestamp holds the unix time (seconds) the attempt was sent.
	HeaderTimestamp = "X-Hub-Timestamp"
	// HeaderSignature holds "sha256=" and the hex HMAC-SHA256 of
	// "<timestamp>.<body>" keyed with the shared secret.
	HeaderSignature = "X-Hub-Signature-256"
	// HeaderDelivery holds the envelope id (unique across publishers and
	// hubs: wire.EnvelopeID), or the first one of a batch; it is the same on
	// every retry, so receivers dedupe on it.
	HeaderDelivery = "X-Hub-Delivery"
)

const signaturePrefix = "sha256="

// Sign returns the X-Hub-Signature-256 value for body sent at timestamp
// (unix seconds, as in the X-Hub-Timestamp header): "sha256=" followed by
// the hex HMAC-SHA256 of "<timestamp>.<body>" keyed with secret.
func Sign(secret []byte, timestamp string, body []byte) string {
	return signaturePrefix + hex.EncodeToString(mac(secret, timestamp, body))
}

func mac(secret []byte, timestamp string, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(timestamp))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// Verify checks a received webhook: timestamp and signature are the values
// of the X-Hub-Timestamp and X-Hub-Signature-256 headers and body the raw
// request body. It returns ErrInvalidTimestamp when the timestamp is not a
// unix time or is more than maxSkew away from now (maxSkew <= 0 skips that
// check, which lets a captured request be replayed: use a few minutes), and
// ErrInvalidSignature when the signature is missing, malformed or does not
// match. The comparison takes constant time.
func Verify(secret []byte, timestamp, signature string, body []byte, maxSkew time.Duration) error {
	ts, err := strconv.ParseInt(strings.TrimSpace(timestamp), 10, 64)
	if err != nil {
		return fmt.Errorf("%w: %q is not unix seconds", ErrInvalidTimestamp, timestamp)
	}
	if maxSkew > 0 {
		skew := time.Since(time.Unix(ts, 0))
		if skew < 0 {
			skew = -skew
		}
		if skew > maxSkew {
			return fmt.Errorf("%w: %s away from now, more than %s", ErrInvalidTimestamp, skew.Round(time.Second), maxSkew)
		}
	}
	hexSig, ok := strings.CutPrefix(strings.TrimSpace(signature), signaturePrefix)
	if !ok {
		return fmt.Errorf("%w: want %q prefix", ErrInvalidSignature, signaturePrefix)
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil {
		return fmt.Errorf("%w: not hex", ErrInvalidSignature)
	}
	if !hmac.Equal(got, mac(secret, strings.TrimSpace(timestamp), body)) {
		return fmt.Errorf("%w: mismatch", ErrInvalidSignature)
	}
	return nil
}
