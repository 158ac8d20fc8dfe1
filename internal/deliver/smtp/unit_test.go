package smtp

import (
	"bufio"
	"bytes"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"syscall"
	"testing"
)

func TestParseDestination(t *testing.T) {
	tests := []struct {
		site    string
		host    string
		port    int
		mx      bool
		literal string
		err     string
	}{
		{site: "example.net", host: "example.net", port: 25, mx: true},
		{site: "example.net:587", host: "example.net", port: 587, mx: true},
		{site: "[mail.example.net]", host: "mail.example.net", port: 25},
		{site: "[mail.example.net]:submission", host: "mail.example.net", port: 587},
		{site: "[192.0.2.1]:2525", host: "192.0.2.1", port: 2525, literal: "192.0.2.1"},
		{site: "[ipv6:2001:db8::1]:25", host: "2001:db8::1", port: 25, literal: "2001:db8::1"},
		{site: "[2001:db8::1]", host: "2001:db8::1", port: 25, literal: "2001:db8::1"},
		{site: "192.0.2.7", host: "192.0.2.7", port: 25, literal: "192.0.2.7"},
		{site: "example.net.", host: "example.net", port: 25, mx: true},
		{site: "[mail.example.net", err: `missing "]"`},
		{site: "[mail.example.net]x", err: "garbage"},
		{site: "example.net:0", err: "bad network port: 0"},
		{site: "example.net:nosuchservice", err: "unknown service"},
		{site: "[]:25", err: "empty host"},
	}
	for _, tt := range tests {
		d, err := parseDestination(tt.site, 25)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%s: error %v, want %q", tt.site, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.site, err)
			continue
		}
		lit := ""
		if d.literal.IsValid() {
			lit = d.literal.String()
		}
		if d.host != tt.host || d.port != tt.port || d.mx != tt.mx || lit != tt.literal || d.site != tt.site {
			t.Errorf("%s: got %+v", tt.site, d)
		}
	}
}

func TestSites(t *testing.T) {
	got := sites("a.example, [b.example]:587", []string{"[fallback.example]", "c.example d.example"})
	want := []string{"a.example", "[b.example]:587", "[fallback.example]", "c.example", "d.example"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q", got)
	}
}

func TestReadReply(t *testing.T) {
	tests := []struct {
		in, text, dsn string
		code          int
		lines         int
	}{
		{in: "250 2.0.0 Ok: queued as X\r\n", code: 250, text: "250 2.0.0 Ok: queued as X", dsn: "2.0.0", lines: 1},
		{in: "550-5.1.1 first\r\n550 5.1.1 second\r\n", code: 550, text: "550-5.1.1 first 550 5.1.1 second", dsn: "5.1.1", lines: 2},
		{in: "450 try later\r\n", code: 450, text: "450 try later", dsn: "4.0.0", lines: 1},
		{in: "550 4.1.1 class mismatch\r\n", code: 550, text: "550 4.1.1 class mismatch", dsn: "5.0.0", lines: 1},
		{in: "250\r\n", code: 250, text: "250", dsn: "2.0.0", lines: 1},
		{in: "220-banner\r\ngarbage line\r\n220 ok\r\n", code: 220, text: "220-banner garbage line 220 ok", dsn: "2.0.0", lines: 2},
		{in: "554 5.7.1 bad\x01char\r\n", code: 554, text: "554 5.7.1 bad?char", dsn: "5.7.1", lines: 1},
		{in: "421 4.3.2 bare LF\n", code: 421, text: "421 4.3.2 bare LF", dsn: "4.3.2", lines: 1},
	}
	for _, tt := range tests {
		r, err := readReply(bufio.NewReader(strings.NewReader(tt.in)))
		if err != nil {
			t.Errorf("%q: %v", tt.in, err)
			continue
		}
		if r.code != tt.code || r.text != tt.text || r.dsn != tt.dsn || len(r.lines) != tt.lines {
			t.Errorf("%q: got %d %q %q %d lines", tt.in, r.code, r.text, r.dsn, len(r.lines))
		}
	}
	if _, err := readReply(bufio.NewReader(strings.NewReader("250-unfinished\r\n"))); err == nil {
		t.Error("a reply cut short: no error")
	}
	long := "250 " + strings.Repeat("x", 5000) + "\r\n"
	r, err := readReply(bufio.NewReader(strings.NewReader(long)))
	if err != nil || len(r.text) != maxReplyLine {
		t.Errorf("long line: %d bytes kept, %v", len(r.text), err)
	}
}

func TestDotWriter(t *testing.T) {
	tests := []struct {
		name  string
		in    []string // successive writes
		limit int
		want  string
	}{
		{name: "plain", in: []string{"a\r\nb\r\n"}, want: "a\r\nb\r\n.\r\n"},
		{name: "dots", in: []string{".\r\n..x\r\nmid.dle\r\n"}, want: "..\r\n...x\r\nmid.dle\r\n.\r\n"},
		{name: "bare LF", in: []string{"a\nb\n"}, want: "a\r\nb\r\n.\r\n"},
		{name: "no final newline", in: []string{"a\r\nlast"}, want: "a\r\nlast\r\n.\r\n"},
		{name: "CRLF split across writes", in: []string{"a\r", "\n.b\r\n"}, want: "a\r\n..b\r\n.\r\n"},
		{name: "dot at start of a later write", in: []string{"a\r\n", ".b\r\n"}, want: "a\r\n..b\r\n.\r\n"},
		{name: "bare CR is data", in: []string{"a\rb\r\n"}, want: "a\rb\r\n.\r\n"},
		{name: "empty", in: nil, want: ".\r\n"},
		{name: "fold", in: []string{"abcdefgh\r\n"}, limit: 3, want: "abc\r\n de\r\n fg\r\n h\r\n.\r\n"},
		{name: "exact limit not folded", in: []string{"abc\r\n"}, limit: 3, want: "abc\r\n.\r\n"},
	}
	for _, tt := range tests {
		var out bytes.Buffer
		bw := bufio.NewWriter(&out)
		d := &dotWriter{w: bw, limit: tt.limit}
		for _, s := range tt.in {
			d.Write([]byte(s))
		}
		d.close()
		bw.Flush()
		if out.String() != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, out.String(), tt.want)
		}
	}
}

func TestXtextAndORCPT(t *testing.T) {
	if got := xtext("a+b=c d\x01é"); got != "a+2Bb+3Dc+20d+01+C3+A9" {
		t.Errorf("xtext: %q", got)
	}
	tests := []struct {
		orcpt string
		utf8  bool
		want  string
	}{
		{"rfc822;user@example.net", false, "rfc822;user@example.net"},
		{"rfc822;us+er@example.net", false, "rfc822;us+2Ber@example.net"},
		{"user@example.net", false, "rfc822;user@example.net"},
		{"utf-8;jörg@example.net", true, "utf-8;jörg@example.net"},
		{"rfc822;jörg@example.net", false, "utf-8;j+C3+B6rg@example.net"},
	}
	for _, tt := range tests {
		if got := orcptParam(tt.orcpt, tt.utf8); got != tt.want {
			t.Errorf("%q: got %q, want %q", tt.orcpt, got, tt.want)
		}
	}
}

func TestSMTPAddr(t *testing.T) {
	for in, want := range map[string]string{
		"":                   "",
		"user@example.net":   "user@example.net",
		"a b@example.net":    `"a b"@example.net`,
		"postmaster":         "postmaster",
		`"quoted"@x.example`: `"\"quoted\""@x.example`,
	} {
		if got := smtpAddr(in); got != want {
			t.Errorf("%q: got %q, want %q", in, got, want)
		}
	}
}

func TestParseEHLO(t *testing.T) {
	r, err := readReply(bufio.NewReader(strings.NewReader(
		"250-mx.example.net Hello\r\n250-PIPELINING\r\n250-SIZE 1000\r\n250-AUTH=LOGIN\r\n250-AUTH PLAIN login\r\n" +
			"250-STARTTLS\r\n250-DSN\r\n250-SMTPUTF8\r\n250 \r\n")))
	if err != nil {
		t.Fatal(err)
	}
	name, f := parseEHLO(r)
	if name != "mx.example.net" || !f.pipelining || !f.sizeOK || f.size != 1000 || !f.startTLS || !f.dsn ||
		!f.smtputf8 || !f.eightBit || !f.auth || !slices.Equal(f.mechs, []string{"LOGIN", "PLAIN"}) {
		t.Errorf("got %q %+v", name, f)
	}
	_, f = parseEHLO(reply{code: 250, lines: []string{"x", "SIZE"}})
	if !f.sizeOK || f.size != 0 {
		t.Errorf("SIZE without a limit: %+v", f)
	}
}

func TestErrnoText(t *testing.T) {
	for err, want := range map[error]string{
		syscall.ECONNREFUSED:                         "Connection refused",
		fmt.Errorf("dial: %w", syscall.EHOSTUNREACH): "No route to host",
		syscall.ETIMEDOUT:                            "Connection timed out",
	} {
		if got := errnoText(err); got != want {
			t.Errorf("%v: got %q, want %q", err, got, want)
		}
	}
}

func TestSourceAddr(t *testing.T) {
	tests := []struct {
		name   string
		own    []netip.Addr
		bind4  string
		dst    string
		source string
	}{
		{name: "one public address", own: addrs("192.0.2.10"), dst: "198.51.100.1", source: "192.0.2.10"},
		{name: "loopback only", own: addrs("127.0.0.1", "::1"), dst: "198.51.100.1", source: "invalid IP"},
		{name: "two addresses", own: addrs("192.0.2.10", "127.0.0.1"), dst: "198.51.100.1", source: "invalid IP"},
		{name: "other family", own: addrs("192.0.2.10"), dst: "2001:db8::1", source: "invalid IP"},
		{name: "bind address wins", own: addrs("192.0.2.10"), bind4: "127.0.0.1", dst: "198.51.100.1", source: "127.0.0.1"},
	}
	for _, tt := range tests {
		cfg := DefaultConfig()
		cfg.OwnAddrs = tt.own
		if tt.bind4 != "" {
			cfg.BindAddress4 = netip.MustParseAddr(tt.bind4)
		}
		a := &Agent{cfg: cfg}
		if got := a.sourceAddr(netip.MustParseAddr(tt.dst)).String(); got != tt.source {
			t.Errorf("%s: got %s, want %s", tt.name, got, tt.source)
		}
	}
}

func TestOptionParsing(t *testing.T) {
	for v, want := range map[string]bool{
		"noplaintext, noanonymous": false, "noanonymous": true, "": true, "NOPLAINTEXT": false,
	} {
		if got := SASLAllowsPlaintext(v); got != want {
			t.Errorf("SASLAllowsPlaintext(%q) = %t", v, got)
		}
	}
	for v, want := range map[string]TLSLevel{"": TLSNone, "may": TLSMay, "Encrypt": TLSEncrypt, "verify": TLSVerify, "secure": TLSSecure} {
		if got, err := ParseTLSLevel(v); err != nil || got != want {
			t.Errorf("ParseTLSLevel(%q) = %v, %v", v, got, err)
		}
	}
	if _, err := ParseTLSLevel("dane"); err == nil {
		t.Error("dane: no error")
	}
}
