package smtpd_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/postern-mta/postern/internal/cleanup"
	"github.com/postern-mta/postern/internal/smtpd/smtptest"
)

// BenchmarkSession sends b.N messages over one pipelined session to the
// in-memory queue: the session's own cost per message.
func BenchmarkSession(b *testing.B) {
	benchSession(b, smtptest.NewServer(b, "mynetworks = 127.0.0.0/8\n", nil))
}

// BenchmarkSessionStages is BenchmarkSession with a content stage that
// does nothing: the cost of holding each message (a cleanup.Spool, the
// header parse, one Enqueue of the result).
func BenchmarkSessionStages(b *testing.B) {
	noop := cleanup.StageFunc(func(context.Context, *cleanup.Message) cleanup.Verdict { return cleanup.Verdict{} })
	benchSession(b, smtptest.NewServerWith(b, "mynetworks = 127.0.0.0/8\n", smtptest.Options{Sign: noop}))
}

func benchSession(b *testing.B, s *smtptest.Server) {
	c, err := net.Dial("tcp4", s.Addr)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	readReplies := func(n int) {
		for i := 0; i < n; i++ {
			for {
				l, err := br.ReadString('\n')
				if err != nil {
					b.Fatal(err)
				}
				if l[3] == ' ' {
					break
				}
			}
		}
	}
	readReplies(1)
	fmt.Fprintf(c, "EHLO bench.example.test\r\n")
	readReplies(1)
	body := "Subject: bench\r\n\r\n" + strings.Repeat("0123456789 abcdefghij ABCDEFGHIJ 0123456789 abcdefghij ABCDEFGHIJ\r\n", 60) + ".\r\n"
	txn := "MAIL FROM:<a@example.test>\r\nRCPT TO:<b@mx.example.test>\r\nDATA\r\n"
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		fmt.Fprint(c, txn)
		readReplies(3)
		fmt.Fprint(c, body)
		readReplies(1)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}
