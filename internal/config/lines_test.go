package config

import (
	"reflect"
	"strings"
	"testing"
)

// Expected joins were checked against Postfix 3.7.11 postconf -n (which
// prints values with whitespace runs collapsed).
func TestLogicalLines(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		lines   []Line
		dropped []Line
	}{
		{"empty file", "", nil, nil},
		{"only comments and blanks", "# c\n\n   \n\t# indented comment\n", nil, nil},
		{"one line", "a = b\n", []Line{{1, "a = b"}}, nil},
		{"final line without newline", "a = b\nc = d", []Line{{1, "a = b"}, {2, "c = d"}}, nil},
		{"hash after value is text", "a = x # note\n", []Line{{1, "a = x # note"}}, nil},
		{"hash first non-blank is a comment", "a = x\n  # c\n", []Line{{1, "a = x"}}, nil},
		{"continuation keeps its whitespace", "a = x\n  y\n\tz\n",
			[]Line{{1, "a = x  y\tz"}}, nil},
		{"blank and comment lines do not end a continuation",
			"a = x\n\n# c\n   # c2\n  \n y\nb = 2\n",
			[]Line{{1, "a = x y"}, {7, "b = 2"}}, nil},
		{"indented name=value continues the previous line",
			"a = x\n relayhost = r\n", []Line{{1, "a = x relayhost = r"}}, nil},
		{"indented first line is dropped", "  a = x\nb = y\n",
			[]Line{{2, "b = y"}}, []Line{{1, "  a = x"}}},
		{"indented after only comments is dropped with its continuation",
			"\n\n  \n  x = y\n  z\nr = 1\n   \n  cont\n",
			[]Line{{6, "r = 1  cont"}}, []Line{{4, "  x = y  z"}}},
		{"tab-indented first line is dropped", "\tx\n", nil, []Line{{1, "\tx"}}},
		{"crlf", "a = x\r\nb = y\r\n  z\r\n\r\n",
			[]Line{{1, "a = x\r"}, {2, "b = y\r  z\r"}}, nil},
		{"number is the first physical line", "# 1\n\nbad\n  cont\n",
			[]Line{{3, "bad  cont"}}, nil},
		{"no name line still a line", "= v\n", []Line{{1, "= v"}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lines, dropped := LogicalLines(tt.in)
			if !reflect.DeepEqual(lines, tt.lines) {
				t.Errorf("lines = %+v, want %+v", lines, tt.lines)
			}
			if !reflect.DeepEqual(dropped, tt.dropped) {
				t.Errorf("dropped = %+v, want %+v", dropped, tt.dropped)
			}
		})
	}
}

func TestDroppedLineText(t *testing.T) {
	long := "  smtpd_banner = a long value that exceeds thirty characters"
	tests := []struct{ in, want string }{
		{"", ""},
		{"  x = y", "  x = y"},
		{strings.Repeat("x", 30), strings.Repeat("x", 30)},
		{strings.Repeat("x", 31), strings.Repeat("x", 30) + "..."},
		// postconf: logical line must not start with whitespace: "  smtpd_banner = a long value ..."
		{long, "  smtpd_banner = a long value ..."},
	}
	for _, tt := range tests {
		if got := DroppedLineText(tt.in); got != tt.want {
			t.Errorf("DroppedLineText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
