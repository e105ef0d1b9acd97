// Package tlshint tells a failed TLS connection to a hub apart from a hub
// that is away, and says what usually fixes it, so the kit, the connector and
// the hub CLI explain the same mistake in the same words.
package tlshint

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"syscall"

	"github.com/nats-io/nats.go"
)

// Is reports whether err is a TLS failure rather than an unreachable hub.
func Is(err error) bool {
	var (
		unknownCA x509.UnknownAuthorityError
		invalid   x509.CertificateInvalidError
		host      x509.HostnameError
		verify    *tls.CertificateVerificationError
		alert     tls.AlertError
		record    tls.RecordHeaderError
	)
	return errors.Is(err, nats.ErrTLS) || errors.Is(err, nats.ErrSecureConnWanted) || errors.Is(err, nats.ErrSecureConnRequired) ||
		errors.As(err, &unknownCA) || errors.As(err, &invalid) || errors.As(err, &host) || errors.As(err, &verify) ||
		errors.As(err, &alert) || errors.As(err, &record) || remoteAlert(err)
}

// remoteAlert reports whether err is a TLS alert the hub sent, which
// crypto/tls reports as a net.OpError of operation "remote error".
func remoteAlert(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "remote error"
}

// ClosedByPeer reports whether err is the hub closing the connection — what
// a client without a certificate sees from a hub requiring one, when the
// refusal comes after its side of a TLS 1.3 handshake completed.
func ClosedByPeer(err error) bool {
	return errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

// Hint says what usually fixes err: a failure Is reports, or a connection
// ClosedByPeer on a TLS URL; "" for anything else. giveCA and giveCert name how the tool at hand takes a CA file ("--ca")
// and a client certificate ("--client-cert and --client-key").
func Hint(err error, giveCA, giveCert string) string {
	var (
		unknownCA x509.UnknownAuthorityError
		invalid   x509.CertificateInvalidError
		host      x509.HostnameError
		alert     tls.AlertError
		record    tls.RecordHeaderError
	)
	switch {
	case errors.As(err, &unknownCA):
		return "the hub's certificate is signed by a CA this client does not trust: give that CA's certificate with " + giveCA
	case errors.As(err, &invalid) && invalid.Reason == x509.Expired:
		return "the hub's certificate has expired or is not valid yet: its operator must renew it (and send the hub SIGHUP)"
	case errors.As(err, &host):
		return "the hub's certificate is for other host names: connect with a name it lists"
	case errors.Is(err, nats.ErrSecureConnRequired):
		return "the hub serves TLS only: use a tls:// URL, and give its CA with " + giveCA + " unless a public CA signed it"
	case errors.Is(err, nats.ErrSecureConnWanted):
		return "TLS was asked for (a CA was given) but the hub serves plain NATS"
	case errors.As(err, &record):
		return "the hub does not serve TLS at that address"
	case errors.As(err, &alert), remoteAlert(err), Is(err), ClosedByPeer(err):
		// A hub requiring client certificates may close the connection
		// without an alert the client sees, so this is the likely cause.
		return "the hub refused the TLS handshake or closed the connection; if it requires client certificates (mutual TLS), give one it trusts with " + giveCert
	}
	return ""
}
