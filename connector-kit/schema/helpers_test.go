package schema

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"
	"unicode/utf8"
)

// realAds returns the three real JobTech ads, one JSON document each.
func realAds(tb testing.TB) [][]byte {
	tb.Helper()
	data, err := os.ReadFile("testdata/job-ads.ndjson")
	if err != nil {
		tb.Fatal(err)
	}
	var ads [][]byte
	for _, line := range bytes.Split(bytes.TrimSpace(data), []byte("\n")) {
		ads = append(ads, line)
	}
	if len(ads) != 3 {
		tb.Fatalf("want 3 real ads, got %d", len(ads))
	}
	return ads
}

// smallAd returns a 1 KiB ad made from the first real ad: its main fields,
// with the description text trimmed so the whole record is about 1024 bytes.
func smallAd(tb testing.TB) []byte {
	tb.Helper()
	var full map[string]any
	d := json.NewDecoder(bytes.NewReader(realAds(tb)[0]))
	d.UseNumber()
	if err := d.Decode(&full); err != nil {
		tb.Fatal(err)
	}
	ad := map[string]any{}
	for _, k := range []string{"id", "headline", "application_deadline", "number_of_vacancies",
		"employment_type", "employer", "occupation", "publication_date", "removed", "timestamp"} {
		ad[k] = full[k]
	}
	text := full["description"].(map[string]any)["text"].(string)
	var out []byte
	for n := min(len(text), 1024); n > 0; n-- {
		if n < len(text) && !utf8.RuneStart(text[n]) {
			continue
		}
		ad["description"] = map[string]any{"text": text[:n], "conditions": nil}
		b, err := json.Marshal(ad)
		if err != nil {
			tb.Fatal(err)
		}
		out = b
		if len(b) <= 1024 {
			break
		}
	}
	if !utf8.Valid(out) || len(out) > 1024 || len(out) < 900 {
		tb.Fatalf("small ad is %d bytes", len(out))
	}
	return out
}

// jobAdSchema compiles the test job ad schema.
func jobAdSchema(tb testing.TB) *Schema {
	tb.Helper()
	doc, err := os.ReadFile("testdata/jobad.schema.json")
	if err != nil {
		tb.Fatal(err)
	}
	s, err := Compile("testdata/jobad.schema.json", doc, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// mustCompile compiles an inline schema.
func mustCompile(tb testing.TB, doc string) *Schema {
	tb.Helper()
	s, err := Compile("inline.schema.json", []byte(doc), nil)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}
