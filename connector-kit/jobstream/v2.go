package jobstream

import (
	"fmt"
	"net/url"
)

// JobStream's v2 query parameters (GET /v2/stream, /v2/snapshot). v2 names
// the window's ends updated-after and updated-before; the concept filters
// are named as in v1 and are taken by the snapshot too.
const (
	ParamUpdatedAfter  = "updated-after"
	ParamUpdatedBefore = "updated-before"
)

// ParseStreamQueryV2 parses the query of a GET /v2/stream request:
// updated-after is required; updated-before, occupation-concept-id and
// location-concept-id are optional; other parameters are ignored, as
// JobStream does. Dates take the same forms as v1's (see [ParseDate]).
// Errors wrap [ErrMissingParameter] or [ErrInvalidDate] and name the
// parameter.
func ParseStreamQueryV2(v url.Values) (StreamQuery, error) {
	var q StreamQuery
	if !v.Has(ParamUpdatedAfter) {
		return q, fmt.Errorf("%w: %s is required: %s", ErrMissingParameter, ParamUpdatedAfter, dateHelp)
	}
	var err error
	if q.Since, err = ParseDate(ParamUpdatedAfter, v.Get(ParamUpdatedAfter)); err != nil {
		return q, err
	}
	if v.Has(ParamUpdatedBefore) {
		if q.Before, err = ParseDate(ParamUpdatedBefore, v.Get(ParamUpdatedBefore)); err != nil {
			return q, err
		}
		if !q.Before.After(q.Since) {
			return q, fmt.Errorf("%w: %s=%q is not after %s=%q", ErrInvalidDate,
				ParamUpdatedBefore, v.Get(ParamUpdatedBefore), ParamUpdatedAfter, v.Get(ParamUpdatedAfter))
		}
	}
	q.OccupationConceptIDs = nonEmpty(v[ParamOccupationConceptID])
	q.LocationConceptIDs = nonEmpty(v[ParamLocationConceptID])
	return q, nil
}

// ParseSnapshotQuery parses the concept filters of a GET /snapshot or
// /v2/snapshot request (occupation-concept-id, location-concept-id, each
// repeatable); other parameters are ignored. Use the result with
// [WithFilter].
func ParseSnapshotQuery(v url.Values) StreamQuery {
	return StreamQuery{OccupationConceptIDs: nonEmpty(v[ParamOccupationConceptID]), LocationConceptIDs: nonEmpty(v[ParamLocationConceptID])}
}

// Serves reports whether a dataset's records can be served as JobStream
// ads: its key is the ad's top-level "id" and its tombstone field is
// "removed", as in JobStream's ad model. The hub offers /stream and
// /snapshot only for such datasets.
func Serves(key, tombstone string) bool {
	return (key == "id" || key == "/id") && (tombstone == "removed" || tombstone == "/removed")
}
