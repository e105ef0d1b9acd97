package datasets

import (
	"context"
	"errors"
	"strings"

	"github.com/jobtech-dev/datahub/connector-kit/wire"
	"github.com/jobtech-dev/datahub/hub/internal/compat"
	"github.com/jobtech-dev/datahub/hub/internal/registry"
)

// RegisterForActor registers doc as the next version of dataset's schema
// for actor (whom the NATS server let ask: register-schema on the dataset)
// and answers in the wire's terms, with a code to match on.
func (s *Service) RegisterForActor(ctx context.Context, dataset, actor string, doc []byte) wire.RegisterSchemaReply {
	res, err := s.AddSchema(ctx, dataset, doc, actor, RouteActor)
	out := wire.RegisterSchemaReply{Dataset: dataset, Version: res.Version, Changed: res.Changed}
	if res.Report.Mode != "" {
		r := WireReport(res.Report)
		out.Report = &r
		var b strings.Builder
		_ = res.Report.WriteText(&b)
		out.Text = b.String()
	}
	if err != nil {
		out.Code, out.Error = CodeOf(err), err.Error()
		if out.Code != wire.CodeIncompatible {
			out.Report, out.Text = nil, ""
		}
		if out.Code == wire.CodeUnavailable || out.Code == wire.CodeInternal {
			s.log.Error("register schema for an actor", "dataset", dataset, "actor", actor, "err", err)
		}
	}
	return out
}

// CodeOf is the wire code of an error of this package.
func CodeOf(err error) wire.Code {
	switch {
	case errors.Is(err, ErrIncompatible):
		return wire.CodeIncompatible
	case errors.Is(err, registry.ErrUnknownDataset):
		return wire.CodeUnknownDataset
	case errors.Is(err, ErrRetired):
		return wire.CodeRetired
	case errors.Is(err, ErrUnknownVersion):
		return wire.CodeNotFound
	case errors.Is(err, ErrNotRetired):
		return wire.CodeConflict
	case errors.Is(err, registry.ErrInvalidDeclaration), errors.Is(err, compat.ErrInvalidSchema), errors.Is(err, compat.ErrUnsupported):
		return wire.CodeInvalid
	case errors.Is(err, ErrChangedMeanwhile), errors.Is(err, context.DeadlineExceeded):
		return wire.CodeUnavailable
	}
	return wire.CodeUnavailable
}

// WireReport is a compatibility report in the wire's types.
func WireReport(r compat.Report) wire.CompatibilityReport {
	out := wire.CompatibilityReport{Mode: string(r.Mode), Version: r.Version, Compatible: r.Compatible, Checked: r.Checked, Breaking: []wire.SchemaChange{}}
	for _, c := range r.Breaking {
		out.Breaking = append(out.Breaking, wire.SchemaChange{Type: string(c.Type), Breaks: c.Breaks.String(), OldPointer: c.OldPointer,
			NewPointer: c.NewPointer, Instance: c.Instance, Message: c.Message, Version: c.Version})
	}
	return out
}
