// Command latency measures what a server makes a client wait for at the
// start of an SMTP session: the time from the connect to the last line
// of the 220 greeting, and to the last line of the 250 reply to EHLO.
// With several addresses it takes its samples from them in turn (in a
// rotating order), so that a load that comes and goes weighs on each
// alike, and then prints what each address adds over the first: how
// `bench/run -P` measures postscreen's cost per connection (the first
// address smtpd alone, the second postscreen in front of it).
//
//	latency [-n SAMPLES] [-from ADDR] [-timeout 30s] HOST:PORT...
//
// One line per address (medians and 99th percentiles in µs), then one
// per further address with the differences of those figures.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
	"time"
)

func main() {
	n := flag.Int("n", 1000, "samples per address")
	timeout := flag.Duration("timeout", 30*time.Second, "deadline of one session")
	from := flag.String("from", "", "source address (a loopback one: a client postscreen has not seen)")
	flag.Parse()
	addrs := flag.Args()
	if len(addrs) == 0 || *n < 1 {
		flag.Usage()
		os.Exit(64)
	}
	greet := make([][]time.Duration, len(addrs))
	ehlo := make([][]time.Duration, len(addrs))
	for i := 0; i < *n; i++ {
		for k := range addrs {
			j := (i + k) % len(addrs)
			g, e, err := sample(addrs[j], *from, *timeout)
			if err != nil {
				fmt.Fprintf(os.Stderr, "latency: %s: %v\n", addrs[j], err)
				os.Exit(1)
			}
			greet[j] = append(greet[j], g)
			ehlo[j] = append(ehlo[j], e)
		}
	}
	type stats struct{ g50, g99, e50, e99 time.Duration }
	all := make([]stats, len(addrs))
	for j, a := range addrs {
		s := stats{pct(greet[j], 50), pct(greet[j], 99), pct(ehlo[j], 50), pct(ehlo[j], 99)}
		all[j] = s
		fmt.Printf("%s: %d sessions: connect to 220 median %d µs p99 %d µs; to EHLO's 250 median %d µs p99 %d µs\n",
			a, *n, s.g50.Microseconds(), s.g99.Microseconds(), s.e50.Microseconds(), s.e99.Microseconds())
	}
	for j := 1; j < len(addrs); j++ {
		d := func(a, b time.Duration) int64 { return (a - b).Microseconds() }
		fmt.Printf("added by %s over %s: 220 median %+d µs p99 %+d µs; EHLO's 250 median %+d µs p99 %+d µs\n",
			addrs[j], addrs[0], d(all[j].g50, all[0].g50), d(all[j].g99, all[0].g99), d(all[j].e50, all[0].e50), d(all[j].e99, all[0].e99))
	}
}

// sample runs one session: connect, 220, EHLO, 250, QUIT.
func sample(addr, from string, timeout time.Duration) (greet, ehlo time.Duration, err error) {
	d := net.Dialer{Timeout: timeout}
	if from != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(from)}
	}
	start := time.Now()
	c, err := d.Dial("tcp", addr)
	if err != nil {
		return 0, 0, err
	}
	defer c.Close()
	c.SetDeadline(start.Add(timeout))
	br := bufio.NewReader(c)
	if err := reply(br, "220"); err != nil {
		return 0, 0, fmt.Errorf("greeting: %w", err)
	}
	greet = time.Since(start)
	if _, err := c.Write([]byte("EHLO latency.test\r\n")); err != nil {
		return 0, 0, err
	}
	if err := reply(br, "250"); err != nil {
		return 0, 0, fmt.Errorf("EHLO: %w", err)
	}
	ehlo = time.Since(start)
	c.Write([]byte("QUIT\r\n"))
	reply(br, "221")
	return greet, ehlo, nil
}

// reply reads a whole reply and checks its code.
func reply(br *bufio.Reader, code string) error {
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return err
		}
		if !strings.HasPrefix(line, code) {
			return fmt.Errorf("unexpected reply %q", strings.TrimSpace(line))
		}
		if len(line) < 4 || line[3] != '-' {
			return nil
		}
	}
}

// pct is the p-th percentile (nearest rank).
func pct(d []time.Duration, p int) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	i := (len(s)*p+99)/100 - 1
	return s[max(i, 0)]
}
