package kit

import (
	"errors"
	"testing"
)

// A subject the server refused is reported in the sharing policies' terms.
func TestForbiddenNamesActorDatasetAndRight(t *testing.T) {
	t.Parallel()
	for subject, want := range map[string]string{
		"ingest.taxonomy-concepts.jobbland": "jobbland may not publish to dataset taxonomy-concepts (no publish right in the sharing policies)",
		"hub.subscribe.jobads.jobbland":     "jobbland may not subscribe to dataset jobads (no subscribe right in the sharing policies)",
		"hub.unsubscribe.jobads.jobbland":   "jobbland may not subscribe to dataset jobads (no subscribe right in the sharing policies)",
		"deliver.matchwise.jobads.matcher":  "matchwise may not subscribe to dataset jobads (no subscribe right in the sharing policies)",
		"hub.schema.jobads.yrkeshogskolan":  "yrkeshogskolan may not read the schema of dataset jobads (no read-schema right in the sharing policies)",
		"hub.catalog.jobbland":              "hub.catalog.jobbland: forbidden by the hub's sharing policies",
	} {
		err := forbiddenOn(subject)
		if err.Error() != want || !errors.Is(err, ErrForbidden) {
			t.Errorf("%s: %q (forbidden: %v), want %q", subject, err, errors.Is(err, ErrForbidden), want)
		}
	}
}
