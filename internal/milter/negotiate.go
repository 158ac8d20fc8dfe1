package milter

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// Negotiated is the outcome of option negotiation.
type Negotiated struct {
	Version  uint32 // the milter's protocol version (2..6)
	Actions  uint32 // modifications the milter may make (Act*)
	Protocol uint32 // the milter's protocol flags (Proto*)
	// NoSend holds the No* flags of events the milter's version lacks;
	// they are never sent, whatever Protocol says.
	NoSend uint32
	// Macros are the milter's own macro lists by stage (Stage*), which
	// override the MTA's milter_*_macros for that stage.
	Macros map[uint32]string
}

// Has reports whether the milter set the protocol flag f.
func (n Negotiated) Has(f uint32) bool { return n.Protocol&f != 0 }

// skipEvent reports whether the event with "no" flag f is not sent.
func (n Negotiated) skipEvent(f uint32) bool { return (n.Protocol|n.NoSend)&f != 0 }

// DecodeOptNeg checks a milter's SMFIC_OPTNEG reply against what the
// MTA offered, with Postfix's rules: a higher version than offered,
// or an action not offered, is an error; protocol flags beyond the
// offer are tolerated; an older version (2, 3, 4) is never sent the
// events it lacks. Macro lists after the three numbers are returned;
// unknown stages are ignored as Postfix does.
func DecodeOptNeg(offer OptNeg, p Packet) (Negotiated, error) {
	if p.Cmd != CmdOptNeg {
		return Negotiated{}, perr(p.Cmd, "unexpected reply in initial handshake")
	}
	d := p.Data
	if len(d) < 12 {
		return Negotiated{}, perr(p.Cmd, "handshake reply too short (%d bytes)", len(d))
	}
	n := Negotiated{
		Version:  binary.BigEndian.Uint32(d[0:]),
		Actions:  binary.BigEndian.Uint32(d[4:]),
		Protocol: binary.BigEndian.Uint32(d[8:]),
	}
	if n.Version > offer.Version {
		return Negotiated{}, perr(p.Cmd, "protocol version %d conflict with MTA protocol version %d", n.Version, offer.Version)
	}
	if n.Actions&offer.Actions != n.Actions {
		return Negotiated{}, perr(p.Cmd, "request mask 0x%x conflict with MTA request mask 0x%x", n.Actions, offer.Actions)
	}
	switch {
	case n.Version >= 6:
	case n.Version >= 4:
		n.NoSend = protoNoSend &^ protoV4
	case n.Version == 3:
		n.NoSend = protoNoSend &^ protoV3
	case n.Version == 2:
		n.NoSend = protoNoSend &^ protoV2
	default:
		return Negotiated{}, perr(p.Cmd, "unexpected protocol version %d", n.Version)
	}
	for d = d[12:]; len(d) > 0; {
		if len(d) < 5 {
			return Negotiated{}, perr(p.Cmd, "truncated macro list")
		}
		stage := binary.BigEndian.Uint32(d)
		i := bytes.IndexByte(d[4:], 0)
		if i < 0 {
			return Negotiated{}, perr(p.Cmd, "missing string terminator in macro list")
		}
		if stage <= StageEOH {
			if n.Macros == nil {
				n.Macros = map[uint32]string{}
			}
			n.Macros[stage] = string(d[4 : 4+i])
		}
		d = d[4+i+1:]
	}
	return n, nil
}

// String describes the outcome for logs.
func (n Negotiated) String() string {
	return fmt.Sprintf("version %d actions 0x%x protocol 0x%x", n.Version, n.Actions, n.Protocol)
}
