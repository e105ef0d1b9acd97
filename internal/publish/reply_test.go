package publish

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/jobtech-dev/datahub/connector-kit/wire"
)

// What the hand-written reader accepts, it reads as encoding/json does; it
// declines anything it is not sure of.
func FuzzParseReply(f *testing.F) {
	f.Add([]byte(`{"status":"stored","id":"019ac","envelope_id":"hub:board:019ac","dataset":"jobads","key":"22884504","seq":7}`))
	f.Add([]byte(`{"status":"rejected","code":"invalid","dataset":"jobads","error":"/headline: got number","violations":[{"pointer":"/headline","keyword":"type","message":"m"}]}`))
	f.Add([]byte(`{"status":"stored","key":"caf\u00e9","seq":1}`))
	f.Add([]byte(`{"status":"stored","key":"café","seq":18446744073709551615}`))
	f.Add([]byte(`{"seq":1,"seq":2}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, ok := parseReply(data)
		if !ok {
			return
		}
		var want wire.Reply
		if err := json.Unmarshal(data, &want); err != nil {
			t.Fatalf("parseReply took %q, which encoding/json refuses: %v", data, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%q:\n parseReply    %+v\n encoding/json %+v", data, got, want)
		}
	})
}
