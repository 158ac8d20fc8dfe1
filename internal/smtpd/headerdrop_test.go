package smtpd

import "testing"

// message_drop_headers' default: Bcc:, Resent-Bcc:, Content-Length: and
// Return-Path: leave the header with their continuation lines, whatever
// pieces the content arrives in; the body is never touched.
func TestHeaderDrop(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Subject: x\r\nBcc: a@b,\r\n c@d\r\nTo: e@f\r\n\r\nBcc: body\r\n",
			"Subject: x\r\nTo: e@f\r\n\r\nBcc: body\r\n"},
		{"return-path: <x@y>\r\nRESENT-BCC: z\r\nContent-Length : 3\r\nFrom: a\r\n\r\nhi\r\n",
			"From: a\r\n\r\nhi\r\n"},
		{"From: a\r\nnot a header\r\nBcc: kept in the body\r\n", "From: a\r\nnot a header\r\nBcc: kept in the body\r\n"},
		{"Bcc: a\r\n\tmore\r\n", ""},
		{"Bcc: no line end", ""},
		{"To: no line end", "To: no line end"},
		{"X-Bcc: kept\r\nBccx: kept\r\n", "X-Bcc: kept\r\nBccx: kept\r\n"},
	} {
		for _, size := range []int{1, 2, 7, len(tc.in)} {
			var h headerDrop
			var out []byte
			for in := []byte(tc.in); len(in) > 0; {
				n := min(size, len(in))
				out = h.filter(out, in[:n])
				in = in[n:]
			}
			out = h.flush(out)
			if string(out) != tc.want {
				t.Errorf("%q in pieces of %d: got %q, want %q", tc.in, size, out, tc.want)
			}
		}
	}
	// A dropped field longer than what is held back is dropped whole.
	var h headerDrop
	long := "Bcc: " + string(make([]byte, 3*maxHeldLine)) + "\r\nTo: a\r\n"
	if out := h.flush(h.filter(nil, []byte(long))); string(out) != "To: a\r\n" {
		t.Errorf("long Bcc: got %d bytes", len(out))
	}
}
