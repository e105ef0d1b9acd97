package audit

// Tamperable creates the stream without DenyDelete and DenyPurge, so tests can
// remove and rewrite entries and show that Verify catches it. JetStream does
// not let the flags be cleared once set, so use it on a fresh server.
func Tamperable() Option {
	return func(o *options) error {
		o.tamperable = true
		return nil
	}
}
