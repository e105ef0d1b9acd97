package tlshint

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
)

func TestHint(t *testing.T) {
	t.Parallel()
	wrap := func(err error) error {
		return fmt.Errorf("%w: %w", nats.ErrTLS, &tls.CertificateVerificationError{Err: err})
	}
	for _, tc := range []struct {
		err  error
		want string
	}{
		{wrap(x509.UnknownAuthorityError{}), "give that CA's certificate with --ca"},
		{wrap(x509.CertificateInvalidError{Reason: x509.Expired}), "expired"},
		{wrap(x509.HostnameError{Host: "hub.example"}), "other host names"},
		{nats.ErrSecureConnRequired, "tls:// URL"},
		{nats.ErrSecureConnWanted, "plain NATS"},
		{fmt.Errorf("read: %w", tls.AlertError(116)), "client certificates"},
		{&net.OpError{Op: "remote error", Err: errors.New("tls: certificate required")}, "client certificates"},
		{fmt.Errorf("%w: connection closed by remote after TLS handshake: EOF", nats.ErrTLS), "client certificates"},
	} {
		if !Is(tc.err) {
			t.Errorf("Is(%v) = false", tc.err)
		}
		if got := Hint(tc.err, "--ca", "--client-cert"); !strings.Contains(got, tc.want) {
			t.Errorf("Hint(%v) = %q, want %q in it", tc.err, got, tc.want)
		}
	}
	for _, err := range []error{errors.New("connection refused"), nats.ErrNoServers, nats.ErrAuthorization} {
		if Is(err) || Hint(err, "--ca", "--client-cert") != "" {
			t.Errorf("%v taken for a TLS failure", err)
		}
	}
}
