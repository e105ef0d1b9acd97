package outbox

import (
	"context"
	"fmt"
	"sync"
	"testing"
)

// BenchmarkAppend measures durable appends of 1 KiB records from 1 and 16
// concurrent goroutines; group commit lets the 16 share fsyncs.
func BenchmarkAppend(b *testing.B) {
	for _, appenders := range []int{1, 16} {
		b.Run(fmt.Sprintf("appenders=%d", appenders), func(b *testing.B) {
			o, err := Open(b.TempDir(), WithMaxBytes(64<<30))
			if err != nil {
				b.Fatal(err)
			}
			defer o.Close()
			e := Entry{Dataset: "job-ads", ID: "0123456789abcdef", Data: make([]byte, 1024)}
			ctx := context.Background()
			b.SetBytes(int64(frameHeaderSize + payloadSize(e)))
			b.ResetTimer()
			var wg sync.WaitGroup
			for g := range appenders {
				n := b.N / appenders
				if g < b.N%appenders {
					n++
				}
				wg.Go(func() {
					for range n {
						if _, err := o.Append(ctx, e); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			b.StopTimer()
			st := o.Stats()
			secs := b.Elapsed().Seconds()
			b.ReportMetric(float64(b.N)/secs, "records/s")
			b.ReportMetric(float64(st.Fsyncs)/secs, "fsyncs/s")
			b.ReportMetric(float64(st.Appends)/float64(st.Fsyncs), "records/fsync")
		})
	}
}
