package kit_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jobtech-dev/datahub/connector-kit/kit"
	"github.com/jobtech-dev/datahub/connector-kit/kittest"
	"github.com/jobtech-dev/datahub/connector-kit/wire"
)

// TestRegisterSchemaAndPinVersion: an actor holding register-schema
// registers versions through the kit, under the compatibility check; any
// actor reading the schema lists and fetches the versions; a publisher pins
// the version its record is validated against.
func TestRegisterSchemaAndPinVersion(t *testing.T) {
	t.Parallel()
	h := kittest.Start(t, "")
	pes := dial(t, h, "arbetsformedlingen") // policies/schemas.json: register-schema on jobads
	board := dial(t, h, "jobbland")         // publish and read-schema only
	ctx := ctxT(t)

	v1, err := readFile(filepath.Join(kittest.RepoRoot(), "schemas", "jobads", "jobad.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	edit := func(old, new string) []byte {
		if !bytes.Contains(v1, []byte(old)) {
			t.Fatalf("jobad.schema.json no longer holds %s", old)
		}
		return bytes.Replace(v1, []byte(old), []byte(new), 1)
	}
	stricter := edit(`"headline": {"type": "string", "minLength": 1}`, `"headline": {"type": "string", "minLength": 1, "maxLength": 100}`)
	looser := edit(`"id", "headline", "description", "employer"`, `"id", "headline", "employer"`)

	if _, err := board.RegisterSchema(ctx, "jobads", looser); !errors.Is(err, kit.ErrForbidden) {
		t.Fatalf("a job board registering a schema: %v, want ErrForbidden", err)
	}
	_, err = pes.RegisterSchema(ctx, "jobads", stricter)
	var inc *kit.IncompatibleError
	if !errors.Is(err, kit.ErrIncompatible) || !errors.As(err, &inc) || inc.Report == nil || len(inc.Report.Breaking) == 0 ||
		inc.Report.Breaking[0].Type != "MAX_LENGTH_ADDED" || inc.Report.Breaking[0].NewPointer != "/properties/headline/maxLength" {
		t.Fatalf("a stricter headline: %v (%+v), want an IncompatibleError naming MAX_LENGTH_ADDED", err, inc)
	}
	if _, err := pes.RegisterSchema(ctx, "jobads", []byte(`{"type": 12}`)); !errors.Is(err, kit.ErrInvalidSchema) {
		t.Fatalf("an invalid schema: %v, want ErrInvalidSchema", err)
	}
	if _, err := pes.RegisterSchema(ctx, "nosuch", looser); !errors.Is(err, kit.ErrUnknownDataset) && !errors.Is(err, kit.ErrForbidden) {
		t.Fatalf("an unknown dataset: %v", err)
	}
	reg, err := pes.RegisterSchema(ctx, "jobads", looser)
	if err != nil || reg.Version != 2 || !reg.Changed || reg.Report == nil || !reg.Report.Compatible {
		t.Fatalf("a looser schema: %+v %v, want version 2 registered", reg, err)
	}
	if again, err := pes.RegisterSchema(ctx, "jobads", looser); err != nil || again.Version != 2 || again.Changed {
		t.Fatalf("the same schema again: %+v %v, want version 2 unchanged", again, err)
	}

	list, err := board.SchemaVersions(ctx, "jobads")
	if err != nil || list.Latest != 2 || len(list.Versions) != 2 || list.Versions[1].By != "arbetsformedlingen" || list.Compatibility != "BACKWARD" {
		t.Fatalf("versions: %+v %v", list, err)
	}
	old, err := board.SchemaVersion(ctx, "jobads", 1)
	if err != nil || old.Version != 1 || old.Latest != 2 || !bytes.Equal(old.Doc, v1) {
		t.Fatalf("version 1: %v (version %d, latest %d)", err, old.Version, old.Latest)
	}
	if _, err := board.SchemaVersion(ctx, "jobads", 9); !errors.Is(err, kit.ErrNotFound) {
		t.Fatalf("version 9: %v, want ErrNotFound", err)
	}

	// An ad without a description: valid under version 2 (the latest), not
	// under version 1, whether the kit or the hub checks the pin.
	var ad map[string]any
	_ = json.Unmarshal(realAds(t)[0], &ad)
	delete(ad, "description")
	ad["id"] = "no-description"
	noDesc, _ := json.Marshal(ad)
	var ve *kit.ValidationError
	if _, err := board.Publish(ctx, "jobads", noDesc, kit.WithSchemaVersion(1)); !errors.As(err, &ve) || !ve.Local {
		t.Fatalf("pinned to version 1, locally: %v, want a local ValidationError", err)
	}
	noLocal, err := kit.Dial(ctx, h.NATSURL(), h.Actor("jobfinder"), kit.WithLocalValidation(false))
	if err != nil {
		t.Fatal(err)
	}
	defer noLocal.Close()
	if _, err := noLocal.Publish(ctx, "jobads", noDesc, kit.WithSchemaVersion(1)); !errors.As(err, &ve) || ve.Local ||
		!strings.Contains(ve.Error(), "description") {
		t.Fatalf("pinned to version 1, at the hub: %v, want the hub's ValidationError naming description", err)
	}
	if _, err := board.Publish(ctx, "jobads", noDesc); err != nil {
		t.Fatalf("under the latest version: %v", err)
	}
	if _, err := board.Publish(ctx, "jobads", realAds(t)[1], kit.WithSchemaVersion(1), kit.WithRecordID("pinned")); err != nil {
		t.Fatalf("a full ad pinned to version 1: %v", err)
	}
	versions := map[string]int{}
	for _, l := range bytes.Split(h.Get("/api/v1/datasets/jobads/records"), []byte("\n")) {
		var e wire.Envelope
		if json.Unmarshal(l, &e) == nil {
			versions[e.RecordID] = e.SchemaVersion
		}
	}
	if versions["pinned"] != 1 || len(versions) != 2 {
		t.Fatalf("stored records' schema versions %v, want the pinned one at 1", versions)
	}
	// In one batch, each record keeps its own pin (a batch request pins one
	// version for all its records, so pins split the batch).
	res, err := noLocal.PublishBatch(ctx, "jobads", []kit.BatchRecord{
		{Data: noDesc, ID: "batch-latest-1"},
		{Data: noDesc, ID: "batch-v1", SchemaVersion: 1},
		{Data: noDesc, ID: "batch-latest-2"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Err != nil || res[2].Err != nil || !errors.As(res[1].Err, &ve) || !strings.Contains(ve.Error(), "description") {
		t.Fatalf("batch with a pinned record: %v / %v / %v, want the pinned one refused by version 1 and the others stored", res[0].Err, res[1].Err, res[2].Err)
	}
}
