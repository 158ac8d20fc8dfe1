package spf

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/dnstest"
)

// suiteCase is one "test" line of testdata/rfc7208.txt.
type suiteCase struct {
	name, ip, helo, mailFrom string
	heloOnly                 bool
	want                     []Result
	exp                      *string
	mech                     string
	line                     int
}

type scenario struct {
	title string
	zone  strings.Builder
	cases []suiteCase
}

func loadSuite(t *testing.T) []*scenario {
	t.Helper()
	data, err := os.ReadFile("testdata/rfc7208.txt")
	if err != nil {
		t.Fatal(err)
	}
	var out []*scenario
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "== "):
			out = append(out, &scenario{title: line[3:]})
		case len(out) == 0:
			t.Fatalf("line %d: data before the first scenario", i+1)
		case strings.HasPrefix(line, "test "):
			c, err := parseCase(line)
			if err != nil {
				t.Fatalf("line %d: %v", i+1, err)
			}
			c.line = i + 1
			sc := out[len(out)-1]
			sc.cases = append(sc.cases, c)
		default:
			fmt.Fprintln(&out[len(out)-1].zone, line)
		}
	}
	return out
}

func parseCase(line string) (suiteCase, error) {
	var c suiteCase
	lhs, rhs, ok := strings.Cut(line, "=>")
	f := strings.Fields(lhs)
	if !ok || len(f) != 5 {
		return c, fmt.Errorf("want: test NAME IP HELO MAILFROM => RESULT")
	}
	c.name, c.ip, c.helo, c.mailFrom = f[1], f[2], f[3], f[4]
	if h, ok := strings.CutPrefix(c.helo, "helo:"); ok {
		c.helo, c.heloOnly = h, true
	}
	if c.mailFrom == "<>" {
		c.mailFrom = ""
	}
	rhs = strings.TrimSpace(rhs)
	res, rest, _ := strings.Cut(rhs, " ")
	for _, r := range strings.Split(res, "|") {
		c.want = append(c.want, Result(r))
	}
	for rest = strings.TrimSpace(rest); rest != ""; rest = strings.TrimSpace(rest) {
		switch {
		case strings.HasPrefix(rest, "exp="):
			q, err := strconv.QuotedPrefix(rest[4:])
			if err != nil {
				return c, fmt.Errorf("exp: %v", err)
			}
			s, _ := strconv.Unquote(q)
			c.exp = &s
			rest = rest[4+len(q):]
		case strings.HasPrefix(rest, "mech="):
			m, r, _ := strings.Cut(rest[5:], " ")
			c.mech, rest = m, r
		default:
			return c, fmt.Errorf("unknown option %q", rest)
		}
	}
	return c, nil
}

// TestSuite runs the openspf RFC 7208 scenarios against dnstest.
func TestSuite(t *testing.T) {
	for _, sc := range loadSuite(t) {
		t.Run(sc.title, func(t *testing.T) {
			zone, err := dnstest.ParseZone(sc.zone.String())
			if err != nil {
				t.Fatal(err)
			}
			srv := dnstest.Start(t, zone)
			srv.QueryTimeout = 100 * time.Millisecond
			c := &Checker{Resolver: srv.Resolver(), Receiver: "mx.receiver.example",
				Now: func() time.Time { return time.Unix(1700000000, 0) }}
			for _, tc := range sc.cases {
				t.Run(tc.name, func(t *testing.T) {
					ip, err := netip.ParseAddr(tc.ip)
					if err != nil {
						t.Fatal(err)
					}
					var o Outcome
					if tc.heloOnly {
						o = c.CheckHelo(context.Background(), ip, tc.helo)
					} else {
						o = c.CheckMailFrom(context.Background(), ip, tc.helo, tc.mailFrom)
					}
					ok := false
					for _, w := range tc.want {
						ok = ok || o.Result == w
					}
					if !ok {
						t.Errorf("line %d: result %s (%s, mech %q), want %v", tc.line, o.Result, o.Problem, o.Mechanism, tc.want)
					}
					if tc.exp != nil && o.Explanation != *tc.exp {
						t.Errorf("line %d: explanation %q, want %q", tc.line, o.Explanation, *tc.exp)
					}
					if tc.mech != "" && o.Mechanism != tc.mech {
						t.Errorf("line %d: mechanism %q, want %q", tc.line, o.Mechanism, tc.mech)
					}
				})
			}
		})
	}
}
