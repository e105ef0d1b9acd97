package backup

import "errors"

// ErrIncomplete is wrapped by [Receive] for a backup body that ends without
// its manifest, or whose parts do not match it.
var ErrIncomplete = errors.New("backup incomplete")
