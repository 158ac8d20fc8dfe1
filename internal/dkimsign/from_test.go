package dkimsign

import (
	"testing"

	"github.com/postern-mta/postern/internal/cleanup"
)

func TestFromDomain(t *testing.T) {
	for _, tc := range []struct {
		froms []string
		want  string // domain, or "error: ..." prefix
	}{
		{[]string{"Joe <joe@Example.COM>"}, "example.com"},
		{[]string{"joe@example.com."}, "error: unparsable From: header"},
		{[]string{"\"Doe,\r\n John\" <john@example.com>"}, "example.com"}, // folded
		{[]string{"=?x-unknown?q?J=F6?= <j@example.com>"}, "example.com"}, // any charset
		{[]string{"a@example.com, b@EXAMPLE.com"}, "example.com"},
		{[]string{"a@example.com, b@example.net"}, "error: From: header has addresses in two domains (example.com, example.net)"},
		{[]string{"a@example.com", "b@example.com"}, "error: 2 From: headers"},
		{nil, "error: no From: header"},
		{[]string{"joe"}, "error: unparsable From: header"},
		{[]string{""}, "error: unparsable From: header"},
		{[]string{"joe@[192.0.2.1]"}, "error: From: header has no domain name"},
		{[]string{"joe@x/y.example"}, `error: From: domain "x/y.example" is not an ASCII host name`},
		{[]string{"joe@b\xc3\xbccher.example"}, "error: From: domain \"b\xc3\xbccher.example\" is not an ASCII host name"},
	} {
		h := cleanup.Header{Fields: []cleanup.Field{cleanup.NewField("Subject", "x")}}
		for _, f := range tc.froms {
			h.Fields = append(h.Fields, cleanup.NewField("From", f))
		}
		got, err := FromDomain(&h)
		if err != nil {
			got = "error: " + err.Error()
		}
		if len(got) < len(tc.want) || got[:len(tc.want)] != tc.want {
			t.Errorf("%q: got %q, want %q", tc.froms, got, tc.want)
		}
	}
}
