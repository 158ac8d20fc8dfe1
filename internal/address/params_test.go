package address

import (
	"fmt"
	"strings"
	"testing"
)

// TestParams: replies measured against Postfix 3.7.11 unless marked "pf:".
func TestParams(t *testing.T) {
	mail, rcpt := Options{}, Options{Rcpt: true}
	for _, c := range []struct {
		o    Options
		in   string
		want string // "KEYWORD=Decoded ..." or the reply
	}{
		{mail, "", ""},
		{mail, "SIZE=10", "SIZE=10"},
		{mail, "size=10", "SIZE=10"},
		{mail, "SIZE=0010", "SIZE=10"},
		{mail, "SIZE=+10", "501 5.5.4 Bad message size syntax"},
		{mail, "SIZE=-1", "501 5.5.4 Bad message size syntax"},
		{mail, "SIZE=", "501 5.5.4 Bad message size syntax"},
		{mail, "SIZE=1,", "501 5.5.4 Bad message size syntax"},
		{mail, "SIZE=abc", "501 5.5.4 Bad message size syntax"},
		{mail, "SIZE=1\x01", "501 5.5.4 Bad message size syntax"},
		{mail, "SIZE=9223372036854775807", "SIZE=9223372036854775807"},
		{mail, "SIZE=9223372036854775808", "552 5.3.4 Message size exceeds file system imposed limit"},
		{mail, "SIZE=10 SIZE=20", "SIZE=10 SIZE=20"},
		{mail, "SIZE", "555 5.5.4 Unsupported option: SIZE"},
		{mail, "  SIZE=1   BODY=7BIT ", "SIZE=1 BODY=7BIT"},
		{mail, "SIZE=1\tBODY=7bit", "SIZE=1 BODY=7BIT"},
		{mail, "BODY=8bitmime", "BODY=8BITMIME"},
		{mail, "BODY=7BIT BODY=8BITMIME", "BODY=7BIT BODY=8BITMIME"},
		{mail, "BODY=BINARYMIME", "555 5.5.4 Unsupported option: BODY=BINARYMIME"},
		{mail, "BODY=foo", "555 5.5.4 Unsupported option: BODY=foo"},
		{mail, "BODY=", "555 5.5.4 Unsupported option: BODY="},
		{mail, "BODY", "555 5.5.4 Unsupported option: BODY"},
		{mail, "SMTPUTF8", "SMTPUTF8="},
		{mail, "SMTPUTF8 SMTPUTF8", "SMTPUTF8= SMTPUTF8="},
		{mail, "SMTPUTF8=yes", "555 5.5.4 Unsupported option: SMTPUTF8=yes"},
		{mail, "RET=full", "RET=FULL"},
		{mail, "RET=HDRS", "RET=HDRS"},
		{mail, "RET=xx", "501 5.5.4 Bad RET parameter syntax"},
		{mail, "RET=", "501 5.5.4 Bad RET parameter syntax"},
		{mail, "RET=FULL RET=HDRS", "501 5.5.4 Bad RET parameter syntax"},
		{mail, "ENVID=abc+2Bdef", "ENVID=abc+def"},
		{mail, "ENVID=abc+2bdef", "ENVID=abc+def"},
		{mail, "ENVID=a+20b", "ENVID=a b"},
		{mail, "ENVID=a=b", "ENVID=a=b"},
		{mail, "ENVID=abc+zz", "501 5.5.4 Bad ENVID parameter syntax"},
		{mail, "ENVID=ab+", "501 5.5.4 Bad ENVID parameter syntax"},
		{mail, "ENVID=ab+4", "501 5.5.4 Bad ENVID parameter syntax"},
		{mail, "ENVID=a+0Ab", "501 5.5.4 Bad ENVID parameter syntax"},
		{mail, "ENVID=a+7Fb", "501 5.5.4 Bad ENVID parameter syntax"},
		{mail, "ENVID=a+00b", "501 5.5.4 Bad ENVID parameter syntax"},
		{mail, "ENVID=ab\x01c", "501 5.5.4 Bad ENVID parameter syntax"},
		{mail, "ENVID=ö", "501 5.5.4 Bad ENVID parameter syntax"},
		{mail, "ENVID=", "501 5.5.4 Bad ENVID parameter syntax"},
		{mail, "ENVID=a ENVID=b", "501 5.5.4 Bad ENVID parameter syntax"},
		{mail, "ENVID=ab c", "555 5.5.4 Unsupported option: c"},
		{mail, "AUTH=<>", "AUTH=<>"},
		{mail, "AUTH=foo+2Bbar", "AUTH=foo+2Bbar"},
		{mail, "AUTH=a AUTH=b", "503 5.5.4 Error: multiple AUTH= options"},
		{mail, "AUTH=a\x01", "555 5.5.4 Unsupported option: AUTH=a?"}, // pf: 250
		{mail, "AUTH", "555 5.5.4 Unsupported option: AUTH"},
		{mail, "XVERP", "555 5.5.4 Unsupported option: XVERP"},
		{mail, "FOO=bar", "555 5.5.4 Unsupported option: FOO=bar"},
		{mail, "=x", "555 5.5.4 Unsupported option: =x"},
		{mail, "MT-PRIORITY=1", "555 5.5.4 Unsupported option: MT-PRIORITY=1"},
		{mail, "SIZE=10 FOO=bar", "555 5.5.4 Unsupported option: FOO=bar"},
		{mail, "NOTIFY=NEVER", "555 5.5.4 Unsupported option: NOTIFY=NEVER"},
		{mail, "ORCPT=rfc822;a@b", "555 5.5.4 Unsupported option: ORCPT=rfc822;a@b"},
		// Postfix echoes control bytes raw; we print '?'.
		{mail, "FOO\x01=bar", "555 5.5.4 Unsupported option: FOO?=bar"},
		{mail, "FOO=b\xffr", "555 5.5.4 Unsupported option: FOO=b?r"},
		{mail, "FOO=bär", "555 5.5.4 Unsupported option: FOO=bär"},
		{rcpt, "NOTIFY=never", "NOTIFY=NEVER"},
		{rcpt, "NOTIFY=DELAY,SUCCESS,FAILURE", "NOTIFY=SUCCESS,FAILURE,DELAY"},
		{rcpt, "NOTIFY=SUCCESS,,FAILURE", "NOTIFY=SUCCESS,FAILURE"},
		{rcpt, "NOTIFY=SUCCESS,SUCCESS", "NOTIFY=SUCCESS"},
		{rcpt, "NOTIFY=NEVER,NEVER", "NOTIFY=NEVER"},
		{rcpt, "NOTIFY=SUCCESS,NEVER", "501 5.5.4 Error: Bad NOTIFY parameter syntax"},
		{rcpt, "NOTIFY=", "501 5.5.4 Error: Bad NOTIFY parameter syntax"},
		{rcpt, "NOTIFY=,", "501 5.5.4 Error: Bad NOTIFY parameter syntax"},
		{rcpt, "NOTIFY=FOO", "501 5.5.4 Error: Bad NOTIFY parameter syntax"},
		{rcpt, "NOTIFY=DELAY NOTIFY=DELAY", "501 5.5.4 Error: Bad NOTIFY parameter syntax"},
		{rcpt, "NOTIFY=SUCCESS, FAILURE", "555 5.5.4 Unsupported option: FAILURE"},
		{rcpt, "ORCPT=rfc822;u@x.example", "ORCPT=rfc822;u@x.example"},
		{rcpt, "orcpt=RFC822;u+40x.example", "ORCPT=RFC822;u@x.example"},
		{rcpt, "ORCPT=rfc822;", "ORCPT=rfc822;"},
		{rcpt, "ORCPT=rfc822;a;b", "ORCPT=rfc822;a;b"},
		{rcpt, "ORCPT=x-foo;bar", "ORCPT=x-foo;bar"},
		{rcpt, "ORCPT=utf-8;uö@x", "ORCPT=utf-8;uö@x"},
		{rcpt, "ORCPT=;u@x", "501 5.5.4 Error: Bad ORCPT parameter syntax"},
		{rcpt, "ORCPT=rfc822", "501 5.5.4 Error: Bad ORCPT parameter syntax"},
		{rcpt, "ORCPT=rfc822;u+zz", "501 5.5.4 Error: Bad ORCPT parameter syntax"},
		{rcpt, "ORCPT=rfc822;a ORCPT=rfc822;b", "501 5.5.4 Error: Bad ORCPT parameter syntax"},
		// pf: 250 for these three; the decoded text would reach a DSN.
		{rcpt, "ORCPT=rfc822;u+0D+0Ax@y", "501 5.5.4 Error: Bad ORCPT parameter syntax"},
		{rcpt, "ORCPT=rfc822;u+00x@y", "501 5.5.4 Error: Bad ORCPT parameter syntax"},
		{rcpt, "ORCPT=rfc822;u\x01@x", "501 5.5.4 Error: Bad ORCPT parameter syntax"},
		{rcpt, "NOTIFY=NEVER ORCPT=rfc822;a@b", "NOTIFY=NEVER ORCPT=rfc822;a@b"},
		{rcpt, "SIZE=10", "555 5.5.4 Unsupported option: SIZE=10"},
		{rcpt, "BODY=8BITMIME", "555 5.5.4 Unsupported option: BODY=8BITMIME"},
		{rcpt, "SMTPUTF8", "555 5.5.4 Unsupported option: SMTPUTF8"},
		{rcpt, "FOO", "555 5.5.4 Unsupported option: FOO"},
	} {
		params, err := c.o.ParseParams(c.in)
		got := formatParams(params)
		if err != nil {
			got = err.Error()
		}
		if got != c.want {
			t.Errorf("%+v ParseParams(%q) = %q, want %q", c.o, c.in, got, c.want)
		}
	}
}

func formatParams(params []Param) string {
	var s []string
	for _, p := range params {
		v := p.Decoded
		if p.AddrType != "" {
			v = p.AddrType + ";" + v
		}
		s = append(s, p.Keyword+"="+v)
	}
	return strings.Join(s, " ")
}

func TestParseParamsEither(t *testing.T) {
	params, err := ParseParams("SIZE=5 NOTIFY=DELAY ORCPT=rfc822;a+2Bb@c BODY=7BIT")
	if err != nil {
		t.Fatal(err)
	}
	if got := formatParams(params); got != "SIZE=5 NOTIFY=DELAY ORCPT=rfc822;a+b@c BODY=7BIT" {
		t.Errorf("got %s", got)
	}
	if p, ok := Lookup(params, "SIZE"); !ok || p.Size != 5 || p.Raw != "SIZE=5" {
		t.Errorf("Lookup SIZE = %+v %v", p, ok)
	}
	if _, ok := Lookup(params, "RET"); ok {
		t.Error("Lookup RET found something")
	}
	params, _ = ParseParams("SIZE=1 size=2")
	if p, _ := Lookup(params, "SIZE"); p.Size != 2 {
		t.Errorf("last SIZE should count, got %d", p.Size)
	}
}

func TestErrorReply(t *testing.T) {
	var err error = unsupported("X\r\nY")
	e, ok := err.(*Error)
	if !ok || e.Reply() != "555 5.5.4 Unsupported option: X??Y" || fmt.Sprint(err) != e.Reply() {
		t.Errorf("reply %q", err)
	}
}
