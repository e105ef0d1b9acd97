package registry

import "errors"

// ErrUnknownDataset reports a dataset name the registry does not hold.
// [Registry.Find] returns it wrapped; callers of [Registry.Get] wrap it.
var ErrUnknownDataset = errors.New("unknown dataset")

// ErrInvalidDeclaration is wrapped by every error [LoadDir] and [LoadFile]
// return for a declaration or schema that is wrong.
var ErrInvalidDeclaration = errors.New("invalid dataset declaration")
