package file_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/jobtech-dev/datahub/connector-kit/plugin"
	"github.com/jobtech-dev/datahub/connector-kit/source/file"
)

// This example reads an NDJSON export into the job-ads dataset the way the
// connector runs a source: built by name from its YAML config, read until
// the end of input, each record acked once its fate is known. A restarted
// source resumes after the last acked line.
func Example() {
	dir, err := os.MkdirTemp("", "file-source-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	export := filepath.Join(dir, "ads.ndjson")
	err = os.WriteFile(export, []byte(`{"id":"22884504","headline":"Trafikledare"}
{"id":"23174210","headline":"Sjuksköterska"}

{"id":"23483261","headline":"Kock"}
`), 0o644)
	if err != nil {
		panic(err)
	}

	env := plugin.NewEnvironment()
	if err := file.Register(env); err != nil {
		panic(err)
	}
	conf := fmt.Sprintf(`
path: %s
dataset: job-ads
id_from: /id
`, export)
	res := plugin.Resources{StateDir: filepath.Join(dir, "state")}
	src, err := env.NewSource("ndjson_file", []byte(conf), res)
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	if err := src.Connect(ctx); err != nil {
		panic(err)
	}
	for {
		rec, ack, err := src.Read(ctx)
		if errors.Is(err, plugin.ErrEndOfInput) {
			break
		}
		if err != nil {
			panic(err)
		}
		fmt.Printf("%s %s\n", rec.ID, rec.Data)
		// Publish rec here; ack with the hub's answer.
		if err := ack(ctx, nil); err != nil {
			panic(err)
		}
	}
	fmt.Printf("%+v\n", src.(*file.Source).Position().Records)
	_ = src.Close(ctx)

	// Output:
	// job-ads:22884504:1af1435c6dc396b8 {"id":"22884504","headline":"Trafikledare"}
	// job-ads:23174210:e297e6ef45b22d3d {"id":"23174210","headline":"Sjuksköterska"}
	// job-ads:23483261:9a1ac0a21e89b86b {"id":"23483261","headline":"Kock"}
	// 3
}

// Without id_from, a record's id is the file's base name, its line and a
// hash of its bytes: stable across re-reads of the same file.
func Example_defaultIDs() {
	dir, err := os.MkdirTemp("", "file-source-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	export := filepath.Join(dir, "taxonomy.ndjson")
	if err := os.WriteFile(export, []byte("{\"concept_id\":\"2sRC_oHm_7XA\"}\n"), 0o644); err != nil {
		panic(err)
	}
	src, err := file.New(file.Config{Path: export, Dataset: "taxonomy"}, plugin.Resources{StateDir: dir})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	if err := src.Connect(ctx); err != nil {
		panic(err)
	}
	defer src.Close(ctx)
	rec, ack, err := src.Read(ctx)
	if err != nil {
		panic(err)
	}
	fmt.Println(rec.Dataset, rec.ID)
	_ = ack(ctx, nil)
	_, _, err = src.Read(ctx)
	fmt.Println(err)
	// Output:
	// taxonomy taxonomy.ndjson:1:9ee6a546956c4db1
	// end of input
}
