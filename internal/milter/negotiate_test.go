package milter

import (
	"encoding/binary"
	"reflect"
	"strings"
	"testing"
)

func optnegReply(version, actions, protocol uint32, extra ...byte) Packet {
	p := EncodeOptNeg(OptNeg{version, actions, protocol})
	p.Data = append(p.Data, extra...)
	return p
}

func macroList(stage uint32, names string) []byte {
	return append(binary.BigEndian.AppendUint32(nil, stage), append([]byte(names), 0)...)
}

func TestDecodeOptNeg(t *testing.T) {
	offer := OptNeg{Version: 6, Actions: ActAll, Protocol: ProtoV6}
	tests := []struct {
		name    string
		p       Packet
		want    Negotiated
		wantErr string
	}{
		{name: "v6", p: optnegReply(6, ActAddHeaders|ActChgHeaders, ProtoNoHelo|ProtoNRHeader),
			want: Negotiated{Version: 6, Actions: ActAddHeaders | ActChgHeaders, Protocol: ProtoNoHelo | ProtoNRHeader}},
		{name: "extra-protocol-flags-tolerated", p: optnegReply(6, 0, 0x10000000|ProtoSkip),
			want: Negotiated{Version: 6, Protocol: 0x10000000 | ProtoSkip}},
		{name: "v4-no-skip-events", p: optnegReply(4, 0, 0),
			want: Negotiated{Version: 4}},
		{name: "v3-no-data", p: optnegReply(3, 0, 0),
			want: Negotiated{Version: 3, NoSend: ProtoNoData}},
		{name: "v2-no-data-no-unknown", p: optnegReply(2, ActAddHeaders, 0),
			want: Negotiated{Version: 2, Actions: ActAddHeaders, NoSend: ProtoNoData | ProtoNoUnknown}},
		{name: "macros", p: optnegReply(6, 0, 0, append(macroList(StageConnect, "j {client_addr}"), append(macroList(99, "ignored"), macroList(StageEOM, "i")...)...)...),
			want: Negotiated{Version: 6, Macros: map[uint32]string{StageConnect: "j {client_addr}", StageEOM: "i"}}},
		{name: "version-too-high", p: optnegReply(7, 0, 0), wantErr: "protocol version 7 conflict"},
		{name: "version-1", p: optnegReply(1, 0, 0), wantErr: "unexpected protocol version 1"},
		{name: "actions-not-offered", p: optnegReply(6, 0x200, 0), wantErr: "request mask 0x200 conflict"},
		{name: "short", p: Packet{Cmd: CmdOptNeg, Data: []byte{0, 0, 0, 6}}, wantErr: "too short"},
		{name: "wrong-reply", p: Packet{Cmd: RepContinue}, wantErr: "unexpected reply in initial handshake"},
		{name: "macro-truncated", p: optnegReply(6, 0, 0, 0, 0, 0), wantErr: "truncated macro list"},
		{name: "macro-no-nul", p: optnegReply(6, 0, 0, 0, 0, 0, 1, 'j'), wantErr: "terminator"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DecodeOptNeg(offer, tc.p)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestDecodeOptNegOffer: a milter asking for an action postern did not
// offer is refused even if libmilter knows the action.
func TestDecodeOptNegOffer(t *testing.T) {
	offer := OptNeg{Version: 6, Actions: ActAddHeaders, Protocol: ProtoV6}
	if _, err := DecodeOptNeg(offer, optnegReply(6, ActChangeBody, 0)); err == nil {
		t.Fatal("CHGBODY accepted though not offered")
	}
	offer.Version = 2
	if _, err := DecodeOptNeg(offer, optnegReply(6, 0, 0)); err == nil {
		t.Fatal("version 6 accepted though 2 offered")
	}
}
