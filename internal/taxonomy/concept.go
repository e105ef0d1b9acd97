package taxonomy

import (
	"encoding/json"
	"errors"
	"fmt"
)

// Concept is one concept of the taxonomy, as a record of the
// taxonomy-concepts dataset holds it (schemas/taxonomy-concepts).
type Concept struct {
	ID       string `json:"id"`
	Type     string `json:"type"`
	Label    string `json:"label"`
	LegacyID string `json:"legacyAmsTaxonomyId,omitempty"`
	// Deprecated marks a concept the taxonomy no longer recommends; it
	// still names what it named.
	Deprecated bool `json:"deprecated,omitempty"`
	// ReplacedBy are the concepts that replace a deprecated one, as the
	// JobTech Taxonomy publishes them.
	ReplacedBy []Ref `json:"replaced_by,omitempty"`
}

// Ref names another concept.
type Ref struct {
	ID    string `json:"id"`
	Label string `json:"label,omitempty"`
	Type  string `json:"type,omitempty"`
}

// ErrNotConcept is returned (wrapped) by [ParseConcept] for a record that
// is not a concept.
var ErrNotConcept = errors.New("not a taxonomy concept")

// ParseConcept reads one record of the taxonomy-concepts dataset. It needs
// an id and a type; the dataset's schema checks the rest.
func ParseConcept(data []byte) (Concept, error) {
	var c Concept
	if err := json.Unmarshal(data, &c); err != nil {
		return Concept{}, fmt.Errorf("%w: %v", ErrNotConcept, err)
	}
	switch {
	case c.ID == "":
		return Concept{}, fmt.Errorf("%w: no \"id\"", ErrNotConcept)
	case c.Type == "":
		return Concept{}, fmt.Errorf("%w: concept %s has no \"type\"", ErrNotConcept, c.ID)
	}
	return c, nil
}
