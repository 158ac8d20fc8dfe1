package mailauth

import (
	"bytes"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/postern-mta/postern/internal/cleanup"
	"github.com/postern-mta/postern/internal/dnstest"
)

// crlf gives a message CRLF line ends, as it arrives over SMTP.
func crlf(b []byte) []byte {
	return bytes.ReplaceAll(bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n")), []byte("\n"), []byte("\r\n"))
}

// fixture reads a message of testdata/dkim with CRLF line ends.
func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/dkim/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return crlf(b)
}

// keyRecord reads a key's TXT record from testdata/dkim: the quoted
// strings of opendkim-genkey's file, or a bare line.
func keyRecord(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/dkim/" + name)
	if err != nil {
		t.Fatal(err)
	}
	if q := regexp.MustCompile(`"([^"]*)"`).FindAllStringSubmatch(string(b), -1); len(q) > 0 {
		var s strings.Builder
		for _, m := range q {
			s.WriteString(m[1])
		}
		return s.String()
	}
	return strings.TrimSpace(string(b))
}

// interopKeys are the zone records of the fixtures' keys.
func interopKeys(t *testing.T) dnstest.Zone {
	return dnstest.Zone{
		"opendkim._domainkey.interop.test": {dnstest.TXT(keyRecord(t, "opendkim.txt"))},
		"dkimpy._domainkey.interop.test":   {dnstest.TXT(keyRecord(t, "dkimpy.txt"))},
		"ed._domainkey.interop.test":       {dnstest.TXT(keyRecord(t, "ed.txt"))},
	}
}

// header splits a message's header into fields (test helper; the
// real split is cleanup.NewMessage's).
func header(msg []byte) *cleanup.Header {
	head, _, _ := bytes.Cut(msg, []byte("\r\n\r\n"))
	var h cleanup.Header
	for _, line := range strings.SplitAfter(string(head)+"\r\n", "\r\n") {
		if line == "" {
			continue
		}
		if (line[0] == ' ' || line[0] == '\t') && len(h.Fields) > 0 {
			h.Fields[len(h.Fields)-1].Raw += line
			continue
		}
		h.Fields = append(h.Fields, cleanup.Field{Raw: line})
	}
	return &h
}
