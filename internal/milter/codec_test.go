package milter

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
)

var encodeReply = EncodeReply

func TestEncodeCommands(t *testing.T) {
	tests := []struct {
		name string
		p    Packet
		want string // wire form after the length
	}{
		{"optneg", EncodeOptNeg(OptNeg{6, 0x1ff, 0x1fffff}), "O\x00\x00\x00\x06\x00\x00\x01\xff\x00\x1f\xff\xff"},
		{"macro", EncodeMacro(CmdConnect, []Macro{{"j", "mx.example"}, {"{daemon_name}", "postern"}}), "DCj\x00mx.example\x00{daemon_name}\x00postern\x00"},
		{"macro-none", EncodeMacro(CmdEOB, nil), "DE"},
		{"connect-inet", EncodeConnect("client.example", FamilyInet, 25025, "192.0.2.1"), "Cclient.example\x004\x61\xc1192.0.2.1\x00"},
		{"connect-inet6", EncodeConnect("[2001:db8::1]", FamilyInet6, 1, "2001:db8::1"), "C[2001:db8::1]\x006\x00\x012001:db8::1\x00"},
		{"connect-unix", EncodeConnect("localhost", FamilyUnix, 0, "/run/s"), "Clocalhost\x00L\x00\x00/run/s\x00"},
		{"connect-unknown", EncodeConnect("unknown", FamilyUnknown, 0, ""), "Cunknown\x00U"},
		{"helo", EncodeHelo("client.example"), "Hclient.example\x00"},
		{"mail", EncodeMail("<a@b.example>", "SIZE=10", "BODY=8BITMIME"), "M<a@b.example>\x00SIZE=10\x00BODY=8BITMIME\x00"},
		{"mail-null", EncodeMail("<>"), "M<>\x00"},
		{"rcpt", EncodeRcpt("<c@d.example>", "NOTIFY=NEVER"), "R<c@d.example>\x00NOTIFY=NEVER\x00"},
		{"data", EncodeSimple(CmdData), "T"},
		{"header", EncodeHeader("Subject", " hi"), "LSubject\x00 hi\x00"},
		{"eoh", EncodeSimple(CmdEOH), "N"},
		{"eob", EncodeSimple(CmdEOB), "E"},
		{"abort", EncodeSimple(CmdAbort), "A"},
		{"quit", EncodeSimple(CmdQuit), "Q"},
		{"quit-nc", EncodeSimple(CmdQuitNC), "K"},
		{"unknown", EncodeUnknown("XFOO bar"), "UXFOO bar\x00"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := tc.p.Bytes()
			if n := binary.BigEndian.Uint32(b); int(n) != len(b)-4 {
				t.Fatalf("length field %d, packet %d bytes", n, len(b)-4)
			}
			if got := string(b[4:]); got != tc.want {
				t.Fatalf("wire %q, want %q", got, tc.want)
			}
			back, err := ReadPacket(bytes.NewReader(b), 0)
			if err != nil || back.Cmd != tc.p.Cmd || !bytes.Equal(back.Data, tc.p.Data) {
				t.Fatalf("round trip: %+v, %v", back, err)
			}
		})
	}
}

func TestEncodeBodyChunks(t *testing.T) {
	for _, n := range []int{0, 1, BodyChunk, BodyChunk + 1, 3*BodyChunk + 7} {
		body := bytes.Repeat([]byte("x"), n)
		ps := EncodeBody(body)
		var joined []byte
		for _, p := range ps {
			if p.Cmd != CmdBody || len(p.Data) > BodyChunk || len(p.Data) == 0 {
				t.Fatalf("n=%d: bad chunk cmd %q len %d", n, p.Cmd, len(p.Data))
			}
			joined = append(joined, p.Data...)
		}
		if want := (n + BodyChunk - 1) / BodyChunk; len(ps) != want || !bytes.Equal(joined, body) {
			t.Fatalf("n=%d: %d chunks (want %d), joined %d bytes", n, len(ps), want, len(joined))
		}
	}
}

func TestReadPacketErrors(t *testing.T) {
	long := binary.BigEndian.AppendUint32(nil, 100)
	tests := []struct {
		name string
		in   []byte
		max  int
		want string
		is   error
	}{
		{"empty", nil, 0, "read packet length", io.EOF},
		{"short-length", []byte{0, 0}, 0, "read packet length", io.ErrUnexpectedEOF},
		{"zero", []byte{0, 0, 0, 0}, 0, "bad packet length 0", nil},
		{"oversize", []byte{0x7f, 0xff, 0xff, 0xff, 'a'}, 0, "too large", ErrPacketTooLarge},
		{"over-max", append(binary.BigEndian.AppendUint32(nil, 11), "c0123456789"...), 10, "too large", ErrPacketTooLarge},
		{"truncated", append(long, "abc"...), 0, "truncated", io.ErrUnexpectedEOF},
		{"no-data", long, 0, "truncated", io.ErrUnexpectedEOF},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadPacket(bytes.NewReader(tc.in), tc.max)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want %q", err, tc.want)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Fatalf("err %v is not %v", err, tc.is)
			}
		})
	}
}

func TestDecodeRoundTrip(t *testing.T) {
	tests := []Reply{
		{Cmd: RepAccept}, {Cmd: RepContinue}, {Cmd: RepReject}, {Cmd: RepTempfail},
		{Cmd: RepDiscard}, {Cmd: RepProgress}, {Cmd: RepSkip}, {Cmd: RepShutdown}, {Cmd: RepConnFail},
		{Cmd: RepReplyCode, Text: "550 5.7.1 Command rejected"},
		{Cmd: RepReplyCode, Text: "451-4.7.1 one\r\n451 4.7.1 two"},
		{Cmd: RepQuarantine, Text: "spam score 12"},
		{Cmd: RepQuarantine, Text: ""},
		{Cmd: RepAddRcpt, Text: "<x@y.example>"},
		{Cmd: RepDelRcpt, Text: "<x@y.example>"},
		{Cmd: RepAddRcptPar, Text: "<x@y.example>", Args: "NOTIFY=NEVER"},
		{Cmd: RepAddRcptPar, Text: "<x@y.example>"},
		{Cmd: RepChgFrom, Text: "<new@y.example>", Args: "SIZE=1"},
		{Cmd: RepChgFrom, Text: "<>"},
		{Cmd: RepAddHeader, Name: "X-Spam", Value: " yes"},
		{Cmd: RepChgHeader, Index: 2, Name: "Subject", Value: "[SPAM] hi"},
		{Cmd: RepChgHeader, Index: 1, Name: "X-Old", Value: ""},
		{Cmd: RepInsHeader, Index: 0, Name: "DKIM-Signature", Value: "v=1; a=rsa-sha256"},
		{Cmd: RepReplBody, Body: []byte("new body\r\n")},
	}
	for _, want := range tests {
		t.Run(string(want.Cmd), func(t *testing.T) {
			got, err := Decode(encodeReply(want))
			if err != nil {
				t.Fatal(err)
			}
			if want.Body == nil && got.Body != nil && len(got.Body) == 0 {
				got.Body = nil
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("got %+v, want %+v", got, want)
			}
			if got.IsModification() != (got.action() != 0) {
				t.Fatalf("IsModification and action disagree for %q", got.Cmd)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name string
		p    Packet
		want string
	}{
		{"unknown", Packet{Cmd: 'Z'}, "unknown reply"},
		{"accept-data", Packet{Cmd: RepAccept, Data: []byte("x")}, "unexpected data"},
		{"replycode-no-nul", Packet{Cmd: RepReplyCode, Data: []byte("550 no")}, "terminator"},
		{"replycode-extra", Packet{Cmd: RepReplyCode, Data: []byte("550 x\x00y")}, "left-over"},
		{"replycode-2xx", Packet{Cmd: RepReplyCode, Data: []byte("250 ok\x00")}, "malformed SMTP reply"},
		{"replycode-short", Packet{Cmd: RepReplyCode, Data: []byte("55\x00")}, "malformed SMTP reply"},
		{"replycode-junk", Packet{Cmd: RepReplyCode, Data: []byte("550x\x00")}, "malformed SMTP reply"},
		{"addheader-one", Packet{Cmd: RepAddHeader, Data: []byte("X\x00")}, "terminator"},
		{"addheader-noname", Packet{Cmd: RepAddHeader, Data: []byte("\x00v\x00")}, "empty header name"},
		{"chgheader-short", Packet{Cmd: RepChgHeader, Data: []byte{0, 0}}, "header index"},
		{"insheader-nonul", Packet{Cmd: RepInsHeader, Data: []byte{0, 0, 0, 1, 'X'}}, "terminator"},
		{"addrcpt-empty", Packet{Cmd: RepAddRcpt, Data: []byte("\x00")}, "empty"},
		{"addrcpt-nonul", Packet{Cmd: RepAddRcpt, Data: []byte("<a@b>")}, "terminator"},
		{"chgfrom-three", Packet{Cmd: RepChgFrom, Data: []byte("<a>\x00b\x00c\x00")}, "left-over"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode(tc.p)
			var pe *ProtocolError
			if !errors.As(err, &pe) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want ProtocolError %q", err, tc.want)
			}
		})
	}
}

func FuzzDecode(f *testing.F) {
	for _, r := range []Reply{
		{Cmd: RepAccept}, {Cmd: RepReplyCode, Text: "550 5.7.1 no"},
		{Cmd: RepChgHeader, Index: 1, Name: "Subject", Value: "x"},
		{Cmd: RepAddRcptPar, Text: "<a@b>", Args: "NOTIFY=NEVER"},
		{Cmd: RepReplBody, Body: []byte("b\r\n")},
	} {
		f.Add(encodeReply(r).Bytes())
	}
	f.Fuzz(func(t *testing.T, wire []byte) {
		p, err := ReadPacket(bytes.NewReader(wire), 4096)
		if err != nil {
			return
		}
		r, err := Decode(p)
		if err != nil {
			return
		}
		again, err := Decode(encodeReply(r))
		if err != nil {
			t.Fatalf("re-decode of %+v: %v", r, err)
		}
		if !bytes.Equal(again.Body, r.Body) {
			t.Fatalf("body changed")
		}
		again.Body, r.Body = nil, nil
		if !reflect.DeepEqual(again, r) {
			t.Fatalf("round trip %+v -> %+v", r, again)
		}
	})
}
