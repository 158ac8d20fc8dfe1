package sendmail

import (
	"slices"
	"testing"
)

func TestAddressList(t *testing.T) {
	for in, want := range map[string][]string{
		"a@example.test": {"a@example.test"},
		"root":           {"root"},
		"Ann <ann@example.test>, bob@example.test":              {"ann@example.test", "bob@example.test"},
		`"Doe, John" <jd@example.test>`:                         {"jd@example.test"},
		"jd@example.test (John Doe), x@y.test":                  {"jd@example.test", "x@y.test"},
		"a@b (comment (nested), still) ,c@d":                    {"a@b", "c@d"},
		"team: a@example.test, b@example.test;, c@example.test": {"a@example.test", "b@example.test", "c@example.test"},
		"undisclosed-recipients:;":                              nil,
		"<@relay.test,@r2.test:user@example.test>":              {"user@example.test"},
		`"a b"@example.test`:                                    {`"a b"@example.test`},
		`"a@b"@example.test`:                                    {`"a@b"@example.test`},
		"<>":                                                    nil,
		"":                                                      nil,
		" , ,":                                                  nil,
		"user@[192.0.2.1]":                                      {"user@[192.0.2.1]"},
		"first.last @ example.test":                             {"first.last@example.test"},
		"user@":                                                 {"user@"}, // kept invalid for the syntax check
		"Jürgen <jürgen@example.test>":                          {"jürgen@example.test"},
		// A missing comma makes one odd address (it bounces), as in tok822.
		"a@example.test\n\tb@example.test": {`"a@example.test b"@example.test`},
	} {
		if got := AddressList(in); !slices.Equal(got, want) {
			t.Errorf("AddressList(%q) = %q, want %q", in, got, want)
		}
	}
}
