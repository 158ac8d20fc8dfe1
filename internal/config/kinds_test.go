package config

import (
	"reflect"
	"testing"
)

// ParseTime follows Postfix's conv_time(): a decimal number with an
// optional one-letter lower-case unit s, m, h, d or w; without a unit the
// parameter's default unit applies.
func TestParseTime(t *testing.T) {
	tests := []struct {
		in   string
		def  byte
		want int64
		ok   bool
	}{
		{"0", 's', 0, true},
		{"30s", 's', 30, true},
		{"5m", 's', 300, true},
		{"2h", 's', 7200, true},
		{"1d", 's', 86400, true},
		{"2w", 's', 1209600, true},
		{"5d", 'h', 432000, true},
		{"7", 's', 7, true},
		{"7", 'm', 420, true},
		{"7", 'h', 25200, true},
		{"7", 'd', 604800, true},
		{"7", 'w', 4233600, true},
		{"0d", 'h', 0, true},
		{"", 's', 0, false},
		{"s", 's', 0, false},
		{"10x", 's', 0, false},
		{"10S", 's', 0, false},
		{"1ss", 's', 0, false},
		{"1.5h", 's', 0, false},
		{"-1s", 's', 0, false},
		{"-1", 's', 0, false},
		{"ten", 's', 0, false},
		{"10 s", 's', 0, false},
		{"7", 'x', 0, false},
	}
	for _, tt := range tests {
		got, err := ParseTime(tt.in, tt.def)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseTime(%q, %q) = %d, %v; want %d, ok=%v", tt.in, tt.def, got, err, tt.want, tt.ok)
		}
	}
}

func TestParseBool(t *testing.T) {
	tests := []struct {
		in       string
		want, ok bool
	}{
		{"yes", true, true}, {"YES", true, true}, {"Yes", true, true}, {"yEs", true, true},
		{"no", false, true}, {"NO", false, true}, {"No", false, true},
		{"", false, false}, {"true", false, false}, {"1", false, false},
		{"y", false, false}, {"yes ", false, false}, {" no", false, false}, {"on", false, false},
	}
	for _, tt := range tests {
		got, err := ParseBool(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseBool(%q) = %v, %v; want %v, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestParseInt(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true}, {"10", 10, true}, {"10240000", 10240000, true}, {"-1", -1, true},
		{"", 0, false}, {"10s", 0, false}, {"10k", 0, false}, {"1.5", 0, false},
		{"0x10", 0, false}, {"1 ", 0, false}, {"ten", 0, false},
	}
	for _, tt := range tests {
		got, err := ParseInt(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseInt(%q) = %d, %v; want %d, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestFields(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{" ,\t, \n", nil},
		{"a", []string{"a"}},
		{"a b", []string{"a", "b"}},
		{"a,b", []string{"a", "b"}},
		{"a,,  ,b", []string{"a", "b"}},
		{",a,", []string{"a"}},
		{"127.0.0.0/8  ,  [::1]/128,192.0.2.0/24\t10.0.0.0/8",
			[]string{"127.0.0.0/8", "[::1]/128", "192.0.2.0/24", "10.0.0.0/8"}},
		{"a\r\nb", []string{"a", "b"}},
		{"{ a b }", []string{"a b"}},
		{"{a, b}", []string{"a, b"}},
		{"x, { text with spaces }, y", []string{"x", "text with spaces", "y"}},
		{"{ a } b", []string{"a", "b"}},
		{"{ { a } }", []string{"{ a }"}},
		{"inline:{ a=1, { c = text } }", []string{"inline:{ a=1, { c = text } }"}},
		{"check_x {a b},reject", []string{"check_x", "a b", "reject"}},
		{"{unbalanced a", []string{"{unbalanced a"}},
		{"a} b", []string{"a}", "b"}},
		{"!a, !b", []string{"!a", "!b"}},
	}
	for _, tt := range tests {
		if got := Fields(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Fields(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
