package jobstream_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"

	"github.com/jobtech-dev/datahub/connector-kit/jobstream"
	"github.com/jobtech-dev/datahub/connector-kit/plugin"
)

// Register the source in an environment and build it from its YAML config.
// Here it reads from a tiny stand-in for https://jobstream.api.jobtechdev.se.
func ExampleRegister() {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", jobstream.ContentType)
		fmt.Fprint(w, `[{"id":"23174210","headline":"Java-utvecklare","removed":false}]`)
	}))
	defer api.Close()
	state, _ := os.MkdirTemp("", "jobstream-example")
	defer os.RemoveAll(state)

	env := plugin.NewEnvironment()
	if err := jobstream.Register(env); err != nil {
		log.Fatal(err)
	}
	conf := []byte("url: " + api.URL + "\napi_key: my-key\ninterval: 60s\n")
	src, err := env.NewSource("jobstream", conf, plugin.Resources{StateDir: state})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	if err := src.Connect(ctx); err != nil {
		log.Fatal(err)
	}
	defer src.Close(ctx)

	rec, ack, err := src.Read(ctx) // the first poll takes /snapshot
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(rec.Dataset, rec.ID)
	fmt.Println(string(rec.Data))
	ack(ctx, nil) // stored by the hub: the cursor may move on
	// Output:
	// jobads jobstream-23174210-1e7510e94e14dabe
	// {"id":"23174210","headline":"Java-utvecklare","removed":false}
}
