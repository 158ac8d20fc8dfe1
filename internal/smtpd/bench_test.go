package smtpd_test

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/postern-mta/postern/internal/smtpd/smtptest"
)

// BenchmarkSession sends b.N messages over one pipelined session to the
// in-memory queue: the session's own cost per message.
func BenchmarkSession(b *testing.B) {
	s := smtptest.NewServer(b, "mynetworks = 127.0.0.0/8\n", nil)
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
