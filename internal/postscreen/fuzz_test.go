package postscreen

import (
	"bufio"
	"bytes"
	"net/netip"
	"strings"
	"testing"
)

// FuzzParseSites: any postscreen_dnsbl_sites entry parses or errors,
// never panics, and a parsed filter only matches 127.0.0.0/8-style
// four-octet answers it was given ranges for.
func FuzzParseSites(f *testing.F) {
	for _, s := range []string{"zen.spamhaus.org*3", "b.example=127.0.0.[2..11]", "w.example=127.0.[0..255].[1;3]*-2", "x=[", "a.b=1.2.3.4.5", "a.b*"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		sites, err := ParseSites([]string{spec})
		if err != nil {
			return
		}
		s := sites[0]
		s.matches(netip.MustParseAddr("127.0.0.2"))
		s.matches(netip.MustParseAddr("::1"))
		_ = query(netip.MustParseAddr("192.0.2.1"), s.Domain)
	})
}

// FuzzEngineInput: whatever a client sends, the command reader and
// parser never panic, return lines without their endings, and keep
// within the length limit.
func FuzzEngineInput(f *testing.F) {
	for _, s := range []string{"EHLO a\r\nMAIL FROM:<a@b>\r\n", "GET / HTTP/1.0\n", "a\rb\r\r\n", "Subject: x\r\n",
		"RCPT TO:<\"a\\\"b\"@c>\r\n", "\xff\xfe:\n", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		r := bufio.NewReader(strings.NewReader(in))
		for {
			line, bare, err := readCommand(r, 64)
			if len(line) > 64 {
				t.Fatalf("line of %d bytes past the limit", len(line))
			}
			if bare && strings.HasSuffix(line, "\n") {
				t.Fatalf("line %q keeps its ending", line)
			}
			verb, rest := splitCommand(line)
			_, _ = isHeader(verb), printable(verb)
			_ = extractAddr(rest)
			if err != nil {
				return
			}
		}
	})
}

// FuzzCacheFile: any cache file content loads or is refused, never
// panics; every record loaded writes back as a line that reads back the
// same.
func FuzzCacheFile(f *testing.F) {
	h := string(cacheHeader())
	for _, s := range []string{h + "192.0.2.1 1765200000 0 0 0 0\n", h + "2001:db8::1 1 2 3 4 5\n192.0.2.1 1765200000 0",
		"postern-postscreen-cache v1 future pregreet\nfe80::1%eth0 7 8\n", h + "192.0.2.1 01 0 0 0 0\n\n", "postern-postscreen-cache v9\n", ""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cols, _ := parseHeader(strings.TrimSuffix(h, "\n"))
		readCache(bytes.NewReader(data), func(a netip.Addr, r Record) {
			line, ok := appendRecord(nil, a, r)
			if !ok {
				return
			}
			a2, r2, err := cols.parseRecord(strings.TrimSuffix(string(line), "\n"))
			if err != nil || a2 != a || r2 != r {
				t.Fatalf("%s %+v wrote %q, read back %s %+v %v", a, r, line, a2, r2, err)
			}
		})
	})
}
