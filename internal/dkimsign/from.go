package dkimsign

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/mail"
	"strings"

	"github.com/postern-mta/postern/internal/cleanup"
)

// decoder decodes RFC 2047 display names in any charset well enough for
// the parse: only the address matters here.
var decoder = &mime.WordDecoder{CharsetReader: func(_ string, r io.Reader) (io.Reader, error) { return r, nil }}

// errNoFrom: the message has no From: field (RFC 5322 requires one).
var errNoFrom = errors.New("no From: header")

// FromDomain returns the domain of the From: field's author, in lower
// case: the one From field, whose addresses (RFC 5322 allows several)
// all have that domain. Anything else is an error that says why.
func FromDomain(h *cleanup.Header) (string, error) {
	var values []string
	for _, f := range h.Fields {
		if strings.EqualFold(f.Name(), "From") {
			values = append(values, f.Value())
		}
	}
	switch len(values) {
	case 0:
		return "", errNoFrom
	case 1:
	default:
		return "", fmt.Errorf("%d From: headers", len(values))
	}
	v := strings.NewReplacer("\r", "", "\n", "").Replace(values[0])
	p := mail.AddressParser{WordDecoder: decoder}
	list, err := p.ParseList(v)
	if err != nil || len(list) == 0 {
		return "", fmt.Errorf("unparsable From: header %q", trim(v))
	}
	domain := ""
	for _, a := range list {
		at := strings.LastIndexByte(a.Address, '@')
		if at < 0 {
			return "", fmt.Errorf("From: address %q has no domain", a.Address)
		}
		d := strings.TrimSuffix(strings.ToLower(a.Address[at+1:]), ".")
		if domain != "" && d != domain {
			return "", fmt.Errorf("From: header has addresses in two domains (%s, %s)", domain, d)
		}
		domain = d
	}
	if domain == "" || strings.HasPrefix(domain, "[") {
		return "", fmt.Errorf("From: header has no domain name (%q)", trim(v))
	}
	// A domain is looked up in tables whose results may name files
	// ($1 of a regexp:): only host name characters go on. A U-label
	// (SMTPUTF8) is not signed: d= must be ASCII.
	if !ValidSelector(domain) {
		return "", fmt.Errorf("From: domain %q is not an ASCII host name", trim(domain))
	}
	return domain, nil
}

// trim shortens a value for a log line.
func trim(s string) string {
	if len(s) > 100 {
		return s[:100] + "..."
	}
	return s
}
