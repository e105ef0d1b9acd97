package taxonomy

import (
	"encoding/json"
	"fmt"

	"github.com/jobtech-dev/datahub/internal/recordfile"
)

// LoadFile fills a new index from a file of concepts, in any of the shapes
// they come in: JobTech's concept file as it is published (a JSON object
// mapping each concept id to its concept, testdata/jobtech/taxonomy-concepts.json),
// records of the taxonomy-concepts dataset (NDJSON, or a JSON array), or
// envelopes read from a hub (`hub read --dataset taxonomy-concepts`: a
// tombstone removes its concept). A record that is not a concept is an
// error naming its file and line.
func LoadFile(path string) (*Index, error) {
	idx := NewIndex()
	err := recordfile.ReadFileWith(path, recordfile.Options{MapKey: "id"}, func(r recordfile.Record) error {
		var env struct {
			Dataset   *string         `json:"dataset"`
			Key       string          `json:"key"`
			Tombstone bool            `json:"tombstone"`
			Data      json.RawMessage `json:"data"`
		}
		data := r.Data
		if json.Unmarshal(r.Data, &env) == nil && env.Dataset != nil && len(env.Data) > 0 {
			if env.Tombstone {
				idx.Remove(env.Key)
				return nil
			}
			data = env.Data
		}
		c, err := ParseConcept(data)
		if err != nil {
			return fmt.Errorf("%s: %w", r.Where(), err)
		}
		idx.Put(c)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load taxonomy: %w", err)
	}
	return idx, nil
}
