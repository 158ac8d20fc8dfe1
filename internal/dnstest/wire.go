package dnstest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
)

// The DNS message format (RFC 1035 section 4), as much as a test server
// needs: a header, one question, answer records. Requests may use name
// compression; responses never do.

const (
	headerLen = 12
	classIN   = 1
	classANY  = 255
	typeOPT   = 41 // EDNS(0) pseudo-record (RFC 6891)

	flagQR = 1 << 15
	flagAA = 1 << 10
	flagTC = 1 << 9
	flagRD = 1 << 8
	flagRA = 1 << 7

	rcodeSuccess  = 0
	rcodeFormErr  = 1
	rcodeServFail = 2
	rcodeNXDomain = 3
	rcodeNotImp   = 4
	rcodeRefused  = 5

	maxNameLen   = 255 // encoded, RFC 1035 section 2.3.4
	maxLabelLen  = 63
	minUDPSize   = 512
	maxPointers  = 16 // compression pointers followed in one name
	answerTTL    = 60
	maxTextChunk = 255
)

var errShort = errors.New("message truncated")

// request is a parsed query.
type request struct {
	id, flags uint16
	qdcount   uint16
	labels    []string // the question name as received
	qtype     Type
	qclass    uint16
	udpSize   int  // the largest UDP response the client accepts
	question  bool // the question parsed (a FORMERR reply may lack it)
}

func (r *request) opcode() int { return int(r.flags>>11) & 0xf }

// name is the question name in dotted form, without the trailing dot.
func (r *request) name() string { return strings.Join(r.labels, ".") }

// parseRequest parses a query message. An error after a readable header
// still returns the ID and flags, so a FORMERR can be sent back.
func parseRequest(msg []byte) (request, error) {
	var r request
	if len(msg) < headerLen {
		return r, errShort
	}
	r.id = binary.BigEndian.Uint16(msg)
	r.flags = binary.BigEndian.Uint16(msg[2:])
	r.qdcount = binary.BigEndian.Uint16(msg[4:])
	ancount := binary.BigEndian.Uint16(msg[6:])
	nscount := binary.BigEndian.Uint16(msg[8:])
	arcount := binary.BigEndian.Uint16(msg[10:])
	r.udpSize = minUDPSize
	if r.flags&flagQR != 0 {
		return r, errors.New("not a query")
	}
	if r.qdcount != 1 {
		return r, fmt.Errorf("%d questions", r.qdcount)
	}
	labels, off, err := readName(msg, headerLen)
	if err != nil {
		return r, fmt.Errorf("question name: %w", err)
	}
	if off+4 > len(msg) {
		return r, errShort
	}
	r.labels, r.question = labels, true
	r.qtype = Type(binary.BigEndian.Uint16(msg[off:]))
	r.qclass = binary.BigEndian.Uint16(msg[off+2:])
	off += 4
	// Skip answer and authority records; read EDNS's UDP size from OPT.
	for i := 0; i < int(ancount)+int(nscount)+int(arcount); i++ {
		_, next, err := readName(msg, off)
		if err != nil {
			return r, fmt.Errorf("record %d: %w", i+1, err)
		}
		if next+10 > len(msg) {
			return r, errShort
		}
		typ := binary.BigEndian.Uint16(msg[next:])
		class := binary.BigEndian.Uint16(msg[next+2:])
		rdlen := int(binary.BigEndian.Uint16(msg[next+8:]))
		off = next + 10 + rdlen
		if off > len(msg) {
			return r, errShort
		}
		if typ == typeOPT && i >= int(ancount)+int(nscount) && int(class) > r.udpSize {
			r.udpSize = int(class)
		}
	}
	return r, nil
}

// readName reads a possibly compressed name starting at off and returns
// its labels and the offset after it.
func readName(msg []byte, off int) (labels []string, next int, err error) {
	next = -1
	size, pointers := 0, 0
	for {
		if off >= len(msg) {
			return nil, 0, errShort
		}
		n := int(msg[off])
		switch n & 0xc0 {
		case 0x00:
			if n == 0 {
				if next < 0 {
					next = off + 1
				}
				return labels, next, nil
			}
			if off+1+n > len(msg) {
				return nil, 0, errShort
			}
			if size += n + 1; size+1 > maxNameLen {
				return nil, 0, errors.New("name too long")
			}
			labels = append(labels, string(msg[off+1:off+1+n]))
			off += 1 + n
		case 0xc0:
			if off+2 > len(msg) {
				return nil, 0, errShort
			}
			if pointers++; pointers > maxPointers {
				return nil, 0, errors.New("compression pointer loop")
			}
			if next < 0 {
				next = off + 2
			}
			off = int(binary.BigEndian.Uint16(msg[off:]) & 0x3fff)
		default:
			return nil, 0, fmt.Errorf("unsupported label type %#x", n&0xc0)
		}
	}
}

// encodeName appends a name in wire form; "" and "." are the root.
func encodeName(b []byte, name string) ([]byte, error) {
	name = strings.TrimSuffix(name, ".")
	if name == "" {
		return append(b, 0), nil
	}
	return encodeLabels(b, strings.Split(name, "."))
}

func encodeLabels(b []byte, labels []string) ([]byte, error) {
	size := 1
	for _, l := range labels {
		if l == "" || len(l) > maxLabelLen {
			return nil, fmt.Errorf("bad label %q", l)
		}
		if size += len(l) + 1; size > maxNameLen {
			return nil, errors.New("name too long")
		}
		b = append(b, byte(len(l)))
		b = append(b, l...)
	}
	return append(b, 0), nil
}

// answer is one record to send, under the owner name it answers for.
type answer struct {
	owner string
	rec   Record
}

// response builds the reply to req. It never fails: records were
// validated when the zone was loaded.
func response(req *request, rcode int, answers []answer) []byte {
	flags := uint16(flagQR|flagAA|flagRA) | req.flags&(0xf<<11|flagRD) | uint16(rcode)
	b := binary.BigEndian.AppendUint16(nil, req.id)
	b = binary.BigEndian.AppendUint16(b, flags)
	qd := uint16(0)
	if req.question {
		qd = 1
	}
	b = binary.BigEndian.AppendUint16(b, qd)
	b = binary.BigEndian.AppendUint16(b, uint16(len(answers)))
	b = append(b, 0, 0, 0, 0) // no authority or additional records
	if req.question {
		var err error
		if b, err = encodeLabels(b, req.labels); err != nil {
			b = append(b, 0) // unreachable: the labels were parsed from wire form
		}
		b = binary.BigEndian.AppendUint16(b, uint16(req.qtype))
		b = binary.BigEndian.AppendUint16(b, req.qclass)
	}
	for _, a := range answers {
		b = appendRecord(b, a.owner, a.rec)
	}
	return b
}

// appendRecord appends one resource record.
func appendRecord(b []byte, owner string, r Record) []byte {
	b, _ = encodeName(b, owner)
	b = binary.BigEndian.AppendUint16(b, uint16(r.Type))
	b = binary.BigEndian.AppendUint16(b, classIN)
	b = binary.BigEndian.AppendUint32(b, answerTTL)
	lenAt := len(b)
	b = append(b, 0, 0)
	switch r.Type {
	case TypeA:
		a := r.addr.As4()
		b = append(b, a[:]...)
	case TypeAAAA:
		a := r.addr.As16()
		b = append(b, a[:]...)
	case TypeMX:
		b = binary.BigEndian.AppendUint16(b, r.pref)
		b, _ = encodeName(b, r.target)
	case TypePTR, TypeCNAME:
		b, _ = encodeName(b, r.target)
	case TypeTXT:
		for _, t := range r.texts {
			for first := true; first || t != ""; first = false {
				chunk := t[:min(len(t), maxTextChunk)]
				b = append(b, byte(len(chunk)))
				b = append(b, chunk...)
				t = t[len(chunk):]
			}
		}
	}
	binary.BigEndian.PutUint16(b[lenAt:], uint16(len(b)-lenAt-2))
	return b
}

// truncated is the response with its answers dropped and TC set, for a
// UDP client whose buffer is too small; it retries over TCP.
func truncated(req *request, rcode int) []byte {
	b := response(req, rcode, nil)
	binary.BigEndian.PutUint16(b[2:], binary.BigEndian.Uint16(b[2:])|flagTC)
	return b
}
