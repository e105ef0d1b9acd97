package schema

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/bytedance/sonic"
	gojson "github.com/goccy/go-json"
)

// decoders are the candidates for the one decode per record. Each must give
// json.Number numbers; TestBenchDecodersAgree checks they give the same
// values and the same validation results as encoding/json.
var benchDecoders = []struct {
	name   string
	decode func([]byte) (any, error)
}{
	{"encoding-json", func(b []byte) (any, error) {
		var v any
		d := json.NewDecoder(bytes.NewReader(b))
		d.UseNumber()
		err := d.Decode(&v)
		return v, err
	}},
	{"sonic", func(b []byte) (any, error) { // the one Decode uses
		var v any
		err := decoder.Unmarshal(b, &v)
		return v, err
	}},
	{"sonic-nocopy", func() func([]byte) (any, error) {
		api := sonic.Config{UseNumber: true, ValidateString: true}.Froze()
		return func(b []byte) (any, error) {
			var v any
			err := api.Unmarshal(b, &v)
			return v, err
		}
	}()},
	{"goccy-go-json", func(b []byte) (any, error) {
		var v any
		d := gojson.NewDecoder(bytes.NewReader(b))
		d.UseNumber()
		err := d.Decode(&v)
		return v, err
	}},
}

// benchRecords are the 1 KiB ad and the three real ads (~7 KB average).
func benchRecords(tb testing.TB) []struct {
	name string
	data [][]byte
} {
	return []struct {
		name string
		data [][]byte
	}{
		{"ad-1KiB", [][]byte{smallAd(tb)}},
		{"ads-real", realAds(tb)},
	}
}

func TestBenchDecodersAgree(t *testing.T) {
	s := jobAdSchema(t)
	for _, recs := range benchRecords(t) {
		for _, data := range recs.data {
			want, err := benchDecoders[0].decode(data)
			if err != nil {
				t.Fatal(err)
			}
			wantVs := s.Validate(want)
			for _, d := range benchDecoders[1:] {
				got, err := d.decode(data)
				if err != nil {
					t.Fatalf("%s: %v", d.name, err)
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("%s: %s: value differs from encoding/json", d.name, recs.name)
				}
				if gotVs := s.Validate(got); !reflect.DeepEqual(gotVs, wantVs) {
					t.Errorf("%s: %s: violations %v, encoding/json's %v", d.name, recs.name, gotVs, wantVs)
				}
			}
		}
	}
}

func reportSize(b *testing.B, data [][]byte) {
	n := 0
	for _, d := range data {
		n += len(d)
	}
	b.SetBytes(int64(n / len(data)))
}

// BenchmarkDecode compares the decoders on one record per op.
func BenchmarkDecode(b *testing.B) {
	for _, recs := range benchRecords(b) {
		for _, d := range benchDecoders {
			b.Run(recs.name+"/"+d.name, func(b *testing.B) {
				reportSize(b, recs.data)
				b.ReportAllocs()
				for i := 0; b.Loop(); i++ {
					if _, err := d.decode(recs.data[i%len(recs.data)]); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkPreChecks measures the pass over the bytes before the decoder:
// size, and the one scan that checks depth and the I-JSON rules.
func BenchmarkPreChecks(b *testing.B) {
	for _, recs := range benchRecords(b) {
		b.Run(recs.name, func(b *testing.B) {
			reportSize(b, recs.data)
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				data := recs.data[i%len(recs.data)]
				if out, _, issue := scanRecord(data, DefaultMaxDepth); len(data) > DefaultMaxBytes || out != scanOK || issue != nil {
					b.Fatal("rejected")
				}
			}
		})
	}
}

// BenchmarkValidate measures the schema alone on decoded values.
func BenchmarkValidate(b *testing.B) {
	s := jobAdSchema(b)
	for _, recs := range benchRecords(b) {
		var vals []any
		for _, data := range recs.data {
			v, vs := Decode(data, Limits{})
			if vs != nil {
				b.Fatal(vs)
			}
			vals = append(vals, v)
		}
		b.Run(recs.name, func(b *testing.B) {
			reportSize(b, recs.data)
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if vs := s.Validate(vals[i%len(vals)]); vs != nil {
					b.Fatal(vs)
				}
			}
		})
	}
}

// BenchmarkCheck measures the whole check (pre-checks, decode, validate).
func BenchmarkCheck(b *testing.B) {
	s := jobAdSchema(b)
	for _, recs := range benchRecords(b) {
		b.Run(recs.name, func(b *testing.B) {
			reportSize(b, recs.data)
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if _, vs := s.Check(recs.data[i%len(recs.data)], Limits{}); vs != nil {
					b.Fatal(vs)
				}
			}
		})
	}
}
