package queue

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
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

// scrubModes are the ways of dropping a spare's content that
// BenchmarkEnqueueComplete compares.
var scrubModes = []struct {
	name  string
	scrub func(string, int64) error
}{
	{"keep", func(string, int64) error { return nil }}, // unsafe: delivered mail stays readable
	{"zeros", scrubSpare},                              // what Open does
	{"zerorange", func(path string, size int64) error { // unwritten extents: the next fdatasync converts them
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			return err
		}
		defer f.Close()
		return syscall.Fallocate(int(f.Fd()), 0x10|0x01, 0, (size+4095)&^4095) // ZERO_RANGE|KEEP_SIZE
	}},
	{"truncate", func(path string, _ int64) error { return os.Truncate(path, 0) }},
}

// BenchmarkEnqueueComplete: the queue's steady state, where every
// message is removed once delivered and its file becomes a spare for a
// later one: 4 KB messages enqueued and completed by 1 and 16 writers,
// with the usual syncs, for each way of scrubbing spares.
func BenchmarkEnqueueComplete(b *testing.B) {
	body := strings.Repeat("Subject: benchmark\r\n"[:20], 4096/20) + strings.Repeat("x", 4096%20)
	for _, writers := range []int{1, 16} {
		for _, mode := range scrubModes {
			b.Run(fmt.Sprintf("writers=%d/%s", writers, mode.name), func(b *testing.B) {
				s := openStore(b, b.TempDir())
				s.scrub = mode.scrub
				// A pool of spares, as a running queue has: Complete's
				// return to it after removeDelay.
				for range 256 {
					id, err := s.Enqueue(context.Background(), fullEnvelope(), strings.NewReader(body))
					if err == nil {
						err = s.Complete(Incoming, id)
					}
					if err != nil {
						b.Fatal(err)
					}
				}
				if err := s.Flush(); err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { s.Flush() })
				var next atomic.Int64
				var wg sync.WaitGroup
				cpu0 := cpuTime()
				b.ResetTimer()
				start := time.Now()
				for range writers {
					wg.Go(func() {
						for next.Add(1) <= int64(b.N) {
							id, err := s.Enqueue(context.Background(), fullEnvelope(), strings.NewReader(body))
							if err == nil {
								err = s.Complete(Incoming, id)
							}
							if err != nil {
								b.Error(err)
								return
							}
						}
					})
				}
				wg.Wait()
				b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
				b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/msg")
			})
		}
	}
}

// cpuTime is the process's user and system time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
