package smtp

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/postern-mta/postern/internal/deliver"
)

func downgrade(t *testing.T, in string) string {
	t.Helper()
	var out bytes.Buffer
	d := newDowngrader(&out)
	for _, chunk := range []string{in[:len(in)/3], in[len(in)/3:]} { // split mid-line
		if _, err := d.Write([]byte(chunk)); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	_, body, _ := bytes.Cut(out.Bytes(), []byte("\r\n\r\n")) // headers pass unchanged, as in Postfix
	for _, b := range body {
		if b >= 0x80 {
			t.Fatalf("8-bit byte left in the body:\n%s", out.String())
		}
	}
	return out.String()
}

func TestDowngradePlainText(t *testing.T) {
	got := downgrade(t, "Subject: caf\xc3\xa9\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\nMIME-Version: 1.0\r\n\r\nun caf\xc3\xa9 = 2 \xe2\x82\xac\r\n")
	if strings.Count(got, "Content-Transfer-Encoding:") != 1 || !strings.Contains(got, "Content-Transfer-Encoding: quoted-printable\r\n") ||
		!strings.Contains(got, "\r\n\r\nun caf=C3=A9 =3D 2 =E2=82=AC\r\n") {
		t.Errorf("got:\n%q", got)
	}
}

func TestDowngradeNoMIMEHeader(t *testing.T) {
	got := downgrade(t, "Subject: x\r\n\r\nh\xc3\xa9\r\n")
	if !strings.Contains(got, "Subject: x\r\nMIME-Version: 1.0\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nh=C3=A9\r\n") {
		t.Errorf("got:\n%q", got)
	}
}

func TestDowngradeMultipart(t *testing.T) {
	in := "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\npreamble\r\n" +
		"--b1\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nt\xc3\xa9xt\r\n" +
		"--b1\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\nAAEC\r\n" +
		"--b1\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner\r\nContent-Type: text/plain\r\n\r\nin\xc3\xa9\r\n" +
		"--b1--\r\nepilogue\r\n"
	got := downgrade(t, in)
	for _, want := range []string{
		"\r\n\r\npreamble\r\n--b1\r\n",
		"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nt=C3=A9xt\r\n--b1\r\n",
		"Content-Transfer-Encoding: base64\r\n\r\nAAEC\r\n--b1\r\n",
		"Content-Type: message/rfc822\r\n\r\nSubject: inner\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nin=C3=A9\r\n--b1--\r\nepilogue\r\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("lacks %q in:\n%q", want, got)
		}
	}
}

// 8-bit mail to a server without 8BITMIME goes quoted-printable; to a
// server with it, unchanged.
func TestEightBitToServerWithout8BITMIME(t *testing.T) {
	body := "Subject: x\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\ncaf\xc3\xa9\r\n"
	mk := func(nexthop string) *deliver.Request {
		req := request(nexthop, "a@example.net")
		req.Env.EightBit = true
		req.Size = int64(len(body))
		req.Content = func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(body)), nil }
		return req
	}
	a := newAgent(t, testConfig(nil, nil))
	old := newTestServer(t, "127.0.0.1")
	old.ext = []string{"PIPELINING"}
	old.start()
	if r := deliverOne(t, a, mk(relay(old)))[0]; r.Kind != deliver.Sent {
		t.Fatalf("%+v", r)
	}
	if got := old.messages()[0].body; !strings.Contains(got, "Content-Transfer-Encoding: quoted-printable\r\n\r\ncaf=C3=A9\r\n") || strings.Contains(got, "8bit") {
		t.Errorf("to a 7-bit server:\n%q", got)
	}
	modern := newTestServer(t, "127.0.0.1").start()
	deliverOne(t, a, mk(relay(modern)))
	if got := modern.messages()[0].body; !strings.Contains(got, "caf\xc3\xa9") {
		t.Errorf("to an 8BITMIME server the content changed:\n%q", got)
	}
}

// Any content converts without panicking or failing, and every line
// the converter writes ends in CRLF.
func FuzzDowngrade(f *testing.F) {
	f.Add("Subject: x\r\n\r\nh\xc3\xa9\r\n")
	f.Add("Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\n\xff\r\n--b--\r\n")
	f.Add("Content-Type: message/rfc822\r\n\r\nContent-Type: multipart/x; boundary=\"\"\r\n\r\n--\r\n")
	f.Fuzz(func(t *testing.T, in string) {
		var out bytes.Buffer
		d := newDowngrader(&out)
		if _, err := d.Write([]byte(in)); err != nil {
			t.Fatal(err)
		}
		if err := d.Close(); err != nil {
			t.Fatal(err)
		}
		if o := out.String(); o != "" && !strings.HasSuffix(o, "\r\n") {
			t.Fatalf("output does not end in CRLF: %q", o)
		}
	})
}
