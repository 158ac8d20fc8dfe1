package smtpd

import "testing"

func TestMsgIDSniffer(t *testing.T) {
	for _, c := range []struct {
		chunks []string
		want   string
	}{
		{[]string{"Subject: x\r\nMessage-ID: <a@b>\r\n\r\nbody\r\n"}, "<a@b>"},
		{[]string{"message-id:<a@b>\r\n\r\n"}, "<a@b>"},
		{[]string{"Mess", "age-Id: <split", "@chunks>\r", "\n\r\n"}, "<split@chunks>"},
		{[]string{"Message-ID:\r\n <folded@x>\r\nX: y\r\n\r\n"}, "<folded@x>"},
		{[]string{"Subject: none\r\n\r\nMessage-ID: <in-body@x>\r\n"}, "<>"},
		{[]string{"Message-ID: <first@x>\r\nMessage-ID: <second@x>\r\n\r\n"}, "<first@x>"},
		{[]string{"Message-ID: <lf@x>\n\n"}, "<lf@x>"},
	} {
		var s msgIDSniffer
		for _, ch := range c.chunks {
			s.write([]byte(ch))
		}
		if got := s.messageID(); got != c.want {
			t.Errorf("%q: got %q, want %q", c.chunks, got, c.want)
		}
	}
}
