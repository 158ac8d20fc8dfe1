package queue

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// benchModes are the ways of making messages durable that
// BenchmarkEnqueue compares.
var benchModes = []struct {
	name  string
	setup func(testing.TB, *Store)
}{
	{"solo", func(_ testing.TB, s *Store) { // no group commit: one directory fsync per message
		for _, g := range s.syncs {
			g.solo = true
		}
	}},
	{"group", func(testing.TB, *Store) {}}, // what Open does
	{"nosync", func(_ testing.TB, s *Store) { // unsafe: the ceiling without any fsync
		s.syncFile = func(*os.File) error { return nil }
		for _, g := range s.syncs {
			g.sync = func() error { return nil }
		}
	}},
}

// BenchmarkEnqueue: 4 KB messages from 1 and 16 concurrent writers into
// a queue on the file system of the test's temporary directory.
func BenchmarkEnqueue(b *testing.B) {
	body := strings.Repeat("Subject: benchmark\r\n"[:20], 4096/20) + strings.Repeat("x", 4096%20)
	for _, writers := range []int{1, 16} {
		for _, mode := range benchModes {
			b.Run(fmt.Sprintf("writers=%d/%s", writers, mode.name), func(b *testing.B) {
				s := openStore(b, b.TempDir())
				mode.setup(b, s)
				var dirSyncs atomic.Int64
				for _, g := range s.syncs {
					sync := g.sync
					g.sync = func() error { dirSyncs.Add(1); return sync() }
				}
				var next atomic.Int64
				var wg sync.WaitGroup
				b.ResetTimer()
				start := time.Now()
				for range writers {
					wg.Go(func() {
						for next.Add(1) <= int64(b.N) {
							if _, err := s.Enqueue(context.Background(), fullEnvelope(), strings.NewReader(body)); err != nil {
								b.Error(err)
								return
							}
						}
					})
				}
				wg.Wait()
				b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
				b.ReportMetric(float64(dirSyncs.Load())/float64(b.N), "dirsyncs/msg")
			})
		}
	}
}
