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
