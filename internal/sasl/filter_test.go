package sasl

import (
	"reflect"
	"strings"
	"testing"
)

func TestFilter(t *testing.T) {
	mechs := []Mechanism{
		{Name: "PLAIN", Plaintext: true},
		{Name: "LOGIN", Plaintext: true},
		{Name: "ANONYMOUS", Anonymous: true},
		{Name: "CRAM-MD5", Dictionary: true},
		{Name: "SCRAM-SHA-256", MutualAuth: true},
		{Name: "EXTERNAL", ForwardSecrecy: true, MutualAuth: true},
		{Name: "OTP", Active: true},
	}
	tests := []struct {
		opts string
		want string
	}{
		{"", "PLAIN LOGIN ANONYMOUS CRAM-MD5 SCRAM-SHA-256 EXTERNAL OTP"},
		{"noanonymous", "PLAIN LOGIN CRAM-MD5 SCRAM-SHA-256 EXTERNAL OTP"},
		{"noanonymous noplaintext", "CRAM-MD5 SCRAM-SHA-256 EXTERNAL OTP"},
		{"nodictionary", "PLAIN LOGIN ANONYMOUS SCRAM-SHA-256 EXTERNAL OTP"},
		{"noactive", "PLAIN LOGIN ANONYMOUS CRAM-MD5 SCRAM-SHA-256 EXTERNAL"},
		{"mutual_auth", "SCRAM-SHA-256 EXTERNAL"},
		{"forward_secrecy", "EXTERNAL"},
		{"NoPlainText, noanonymous", "CRAM-MD5 SCRAM-SHA-256 EXTERNAL OTP"},
	}
	for _, tc := range tests {
		o, err := ParseOptions(strings.FieldsFunc(tc.opts, func(r rune) bool { return r == ' ' || r == ',' }))
		if err != nil {
			t.Fatalf("%q: %v", tc.opts, err)
		}
		var got []string
		for _, m := range Filter(mechs, o) {
			got = append(got, m.Name)
		}
		if want := strings.Fields(tc.want); !reflect.DeepEqual(got, want) {
			t.Errorf("%q: %v, want %v", tc.opts, got, want)
		}
	}
	if _, err := ParseOptions([]string{"noanonymous", "nofoo"}); err == nil {
		t.Error("an unknown option was accepted")
	}
}

func TestMechFilter(t *testing.T) {
	tests := []struct {
		filter string
		keep   string // of PLAIN LOGIN EXTERNAL CRAM-MD5
	}{
		{"!external, static:rest", "PLAIN LOGIN CRAM-MD5"}, // Postfix's default
		{"plain, login", "PLAIN LOGIN"},
		{"!plain, static:all", "LOGIN EXTERNAL CRAM-MD5"},
		{"", ""},
		{"static:rest, !external", "PLAIN LOGIN EXTERNAL CRAM-MD5"}, // the first match decides
	}
	for _, tc := range tests {
		f, err := ParseMechFilter(strings.FieldsFunc(tc.filter, func(r rune) bool { return r == ' ' || r == ',' }))
		if err != nil {
			t.Fatalf("%q: %v", tc.filter, err)
		}
		var got []string
		for _, m := range []string{"PLAIN", "LOGIN", "EXTERNAL", "CRAM-MD5"} {
			if f.Allows(m) {
				got = append(got, m)
			}
		}
		if strings.Join(got, " ") != tc.keep {
			t.Errorf("%q keeps %v, want %q", tc.filter, got, tc.keep)
		}
	}
	if _, err := ParseMechFilter([]string{"hash:/etc/postfix/mechs"}); err == nil {
		t.Error("a hash: table was accepted")
	}
}
