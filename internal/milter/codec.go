package milter

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// DefaultMaxPacket bounds a packet read from a milter (length field,
// which counts the command byte and the data). libmilter's largest
// negotiable data size is 1 MiB (SMFIP_MDS_1M); anything longer is a
// broken or hostile milter.
const DefaultMaxPacket = 1<<20 + 1

// BodyChunk is the largest body chunk sent in one SMFIC_BODY
// (libmilter's MILTER_CHUNK_SIZE).
const BodyChunk = 65535

// Packet is one protocol packet: a command byte and its data.
type Packet struct {
	Cmd  byte
	Data []byte
}

// ErrPacketTooLarge is returned for a length field above the bound.
var ErrPacketTooLarge = errors.New("milter: packet too large")

// ReadPacket reads one packet, refusing a length of zero, one above
// max (DefaultMaxPacket when max <= 0) and a truncated packet.
func ReadPacket(r io.Reader, max int) (Packet, error) {
	if max <= 0 {
		max = DefaultMaxPacket
	}
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return Packet{}, fmt.Errorf("milter: read packet length: %w", err)
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n == 0 {
		return Packet{}, errors.New("milter: bad packet length 0")
	}
	if uint64(n) > uint64(max) {
		return Packet{}, fmt.Errorf("%w: %d > %d", ErrPacketTooLarge, n, max)
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(r, buf); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return Packet{}, fmt.Errorf("milter: truncated packet (%d bytes announced): %w", n, err)
	}
	return Packet{Cmd: buf[0], Data: buf[1:]}, nil
}

// Bytes returns the packet's wire form.
func (p Packet) Bytes() []byte {
	b := make([]byte, 5, 5+len(p.Data))
	binary.BigEndian.PutUint32(b, uint32(1+len(p.Data)))
	b[4] = p.Cmd
	return append(b, p.Data...)
}

// cstrings appends each string with its NUL terminator.
func cstrings(b []byte, ss ...string) []byte {
	for _, s := range ss {
		b = append(b, s...)
		b = append(b, 0)
	}
	return b
}

// OptNeg is the SMFIC_OPTNEG packet (both directions).
type OptNeg struct {
	Version  uint32
	Actions  uint32
	Protocol uint32
}

// EncodeOptNeg builds the MTA's SMFIC_OPTNEG.
func EncodeOptNeg(o OptNeg) Packet {
	d := make([]byte, 12)
	binary.BigEndian.PutUint32(d[0:], o.Version)
	binary.BigEndian.PutUint32(d[4:], o.Actions)
	binary.BigEndian.PutUint32(d[8:], o.Protocol)
	return Packet{Cmd: CmdOptNeg, Data: d}
}

// Macro is one macro name and value ("j", "{client_addr}").
type Macro struct{ Name, Value string }

// EncodeMacro builds SMFIC_MACRO: the command the macros belong to,
// then name and value pairs.
func EncodeMacro(cmd byte, macros []Macro) Packet {
	d := []byte{cmd}
	for _, m := range macros {
		d = cstrings(d, m.Name, m.Value)
	}
	return Packet{Cmd: CmdMacro, Data: d}
}

// EncodeConnect builds SMFIC_CONNECT: host name, family, and for
// FamilyInet/FamilyInet6/FamilyUnix the port (network order) and the
// address (a socket path for FamilyUnix, port 0).
func EncodeConnect(host string, family byte, port uint16, addr string) Packet {
	d := cstrings(nil, host)
	d = append(d, family)
	if family != FamilyUnknown {
		d = binary.BigEndian.AppendUint16(d, port)
		d = cstrings(d, addr)
	}
	return Packet{Cmd: CmdConnect, Data: d}
}

// EncodeHelo builds SMFIC_HELO.
func EncodeHelo(name string) Packet { return Packet{Cmd: CmdHelo, Data: cstrings(nil, name)} }

// EncodeMail builds SMFIC_MAIL: the sender ("<a@b>") then ESMTP args.
func EncodeMail(sender string, args ...string) Packet {
	return Packet{Cmd: CmdMail, Data: cstrings(cstrings(nil, sender), args...)}
}

// EncodeRcpt builds SMFIC_RCPT: the recipient then ESMTP args.
func EncodeRcpt(rcpt string, args ...string) Packet {
	return Packet{Cmd: CmdRcpt, Data: cstrings(cstrings(nil, rcpt), args...)}
}

// EncodeHeader builds SMFIC_HEADER.
func EncodeHeader(name, value string) Packet {
	return Packet{Cmd: CmdHeader, Data: cstrings(nil, name, value)}
}

// EncodeUnknown builds SMFIC_UNKNOWN with the SMTP command line.
func EncodeUnknown(line string) Packet { return Packet{Cmd: CmdUnknown, Data: cstrings(nil, line)} }

// EncodeBody builds the SMFIC_BODY packets for a body part, each at
// most BodyChunk bytes. An empty part yields no packet.
func EncodeBody(body []byte) []Packet {
	var ps []Packet
	for len(body) > 0 {
		n := min(len(body), BodyChunk)
		ps = append(ps, Packet{Cmd: CmdBody, Data: body[:n:n]})
		body = body[n:]
	}
	return ps
}

// EncodeSimple builds a command without data: SMFIC_DATA, EOH,
// BODYEOB, ABORT, QUIT, QUIT_NC.
func EncodeSimple(cmd byte) Packet { return Packet{Cmd: cmd} }

// EncodeReply is Decode's inverse: a milter's reply packet (for test
// milters: internal/milter/miltertest).
func EncodeReply(r Reply) Packet {
	var d []byte
	switch r.Cmd {
	case RepReplyCode, RepQuarantine, RepAddRcpt, RepDelRcpt:
		d = cstrings(nil, r.Text)
	case RepAddRcptPar, RepChgFrom:
		d = cstrings(nil, r.Text)
		if r.Args != "" {
			d = cstrings(d, r.Args)
		}
	case RepAddHeader:
		d = cstrings(nil, r.Name, r.Value)
	case RepChgHeader, RepInsHeader:
		d = binary.BigEndian.AppendUint32(nil, r.Index)
		d = cstrings(d, r.Name, r.Value)
	case RepReplBody:
		d = r.Body
	}
	return Packet{Cmd: r.Cmd, Data: d}
}
