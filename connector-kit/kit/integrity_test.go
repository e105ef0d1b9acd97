package kit_test

import (
	"bytes"
	"errors"
	"path/filepath"
	"testing"

	"github.com/jobtech-dev/datahub/connector-kit/kit"
	"github.com/jobtech-dev/datahub/connector-kit/kittest"
	"github.com/jobtech-dev/datahub/connector-kit/wire"
)

func smallAd(t *testing.T) []byte {
	b, err := readFile(filepath.Join(kittest.RepoRoot(), "schemas", "jobads", "examples", "valid", "small-ad.json"))
	if err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSpace(b)
}

// TestRecordIDsArePerActor: jobbland using a record id first does not make
// Arbetsförmedlingen's record with that id a duplicate; the same actor's id
// with other content is ErrConflict, not a silent duplicate.
func TestRecordIDsArePerActor(t *testing.T) {
	t.Parallel()
	h := kittest.Start(t, "")
	pes, board := dial(t, h, "arbetsformedlingen"), dial(t, h, "jobbland")
	ad := realAds(t)[0]
	fake := bytes.Replace(smallAd(t), []byte(`"Java-utvecklare"`), []byte(`"fake"`), 1)
	if _, err := board.Publish(ctxT(t), "jobads", fake, kit.WithRecordID("jobads:squat-77")); err != nil {
		t.Fatal(err)
	}
	res, err := pes.PublishBatch(ctxT(t), "jobads", []kit.BatchRecord{{ID: "jobads:squat-77", Data: ad}})
	if err != nil || res[0].Err != nil || res[0].Duplicate || res[0].EnvelopeID != "hub:arbetsformedlingen:jobads:squat-77" {
		t.Fatalf("arbetsformedlingen's record under jobbland's id: %+v, %v", res, err)
	}
	if res, _ := pes.PublishBatch(ctxT(t), "jobads", []kit.BatchRecord{{ID: "jobads:squat-77", Data: ad}}); res[0].Err != nil || !res[0].Duplicate {
		t.Fatalf("a retry: %+v, want a duplicate", res[0])
	}
	other := bytes.Replace(ad, []byte(`"Trafikledare`), []byte(`"Ändrad trafikledare`), 1)
	_, err = pes.Publish(ctxT(t), "jobads", other, kit.WithRecordID("jobads:squat-77"))
	if !errors.Is(err, kit.ErrConflict) || kit.IsRetryable(err) {
		t.Fatalf("same id, other content: %v, want ErrConflict (not retryable)", err)
	}
	if n := len(h.Records("jobads")); n != 2 {
		t.Fatalf("%d records stored, want 2", n)
	}
	info, err := pes.Dataset(ctxT(t), "jobads")
	if err != nil || info.KeyScope != wire.KeyScopePublisher || info.Owner != "arbetsformedlingen" {
		t.Fatalf("Dataset: %+v, %v", info, err)
	}
}

// TestKitRefusesWhatParsersDisagreeOn: the kit's local check and the hub
// refuse the same records with the same pointer.
func TestKitRefusesWhatParsersDisagreeOn(t *testing.T) {
	t.Parallel()
	h := kittest.Start(t, "")
	ad := smallAd(t)
	cases := []struct {
		name, pointer, keyword string
		data                   []byte
	}{
		{"id twice", "/id", "duplicateKey", append([]byte(`{"id":"squat",`), ad[1:]...)},
		{"1e400", "/number_of_vacancies", "number", bytes.Replace(ad, []byte(`"number_of_vacancies":10`), []byte(`"number_of_vacancies":1e400`), 1)},
		{"30 digits", "/number_of_vacancies", "number", bytes.Replace(ad, []byte(`"number_of_vacancies":10`), []byte(`"number_of_vacancies":123456789012345678901234567890`), 1)},
		{"1e20 where the schema says integer", "/number_of_vacancies", "type", bytes.Replace(ad, []byte(`"number_of_vacancies":10`), []byte(`"number_of_vacancies":1e20`), 1)},
		{"lone surrogate", "/headline", "surrogate", bytes.Replace(ad, []byte(`"Java-utvecklare"`), []byte(`"Java\ud800"`), 1)},
	}
	for _, local := range []bool{true, false} {
		c, err := kit.Dial(ctxT(t), h.NATSURL(), h.Actor(map[bool]string{true: "jobbland", false: "jobfinder"}[local]), kit.WithLocalValidation(local))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		for _, tc := range cases {
			if bytes.Equal(tc.data, ad) {
				t.Fatalf("%s: the edit did not apply", tc.name)
			}
			_, err := c.Publish(ctxT(t), "jobads", tc.data)
			var ve *kit.ValidationError
			if !errors.As(err, &ve) || ve.Local != local || len(ve.Violations) != 1 || ve.Violations[0].Pointer != tc.pointer || ve.Violations[0].Keyword != tc.keyword {
				t.Errorf("%s (local check %v): %v, want %s at %s", tc.name, local, err, tc.keyword, tc.pointer)
			}
		}
	}
	if n := len(h.Records("jobads")); n != 0 {
		t.Fatalf("%d records stored", n)
	}
}
