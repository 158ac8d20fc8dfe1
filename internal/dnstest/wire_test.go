package dnstest

import (
	"encoding/binary"
	"testing"
)

// query builds a query message for name and type, optionally with an
// EDNS OPT record advertising udpSize.
func query(id uint16, name string, t Type, udpSize uint16) []byte {
	b := binary.BigEndian.AppendUint16(nil, id)
	b = append(b, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0) // RD, QDCOUNT 1
	b, _ = encodeName(b, name)
	b = binary.BigEndian.AppendUint16(b, uint16(t))
	b = binary.BigEndian.AppendUint16(b, classIN)
	if udpSize > 0 {
		b[11] = 1 // ARCOUNT
		b = append(b, 0)
		b = binary.BigEndian.AppendUint16(b, typeOPT)
		b = binary.BigEndian.AppendUint16(b, udpSize)
		b = append(b, 0, 0, 0, 0, 0, 0)
	}
	return b
}

func TestParseRequest(t *testing.T) {
	req, err := parseRequest(query(7, "Mail.Example.org", TypeMX, 1232))
	if err != nil {
		t.Fatal(err)
	}
	if req.id != 7 || req.name() != "Mail.Example.org" || req.qtype != TypeMX || req.qclass != classIN || req.udpSize != 1232 {
		t.Fatalf("parsed %+v", req)
	}
	// A compressed name, as in a record after the question.
	msg := query(8, "a.example", TypeA, 0)
	second := len(msg)
	msg = append(msg, 1, 'b', 0xc0, headerLen)
	if labels, next, err := readName(msg, second); err != nil || len(labels) != 3 || labels[0] != "b" || next != len(msg) {
		t.Fatalf("compressed name: %q, %d, %v", labels, next, err)
	}

	bad := map[string][]byte{
		"short header":   {0, 1, 0},
		"response":       append([]byte{0, 1, 0x80, 0, 0, 1, 0, 0, 0, 0, 0, 0}, 0, 0, 1, 0, 1),
		"two questions":  {0, 1, 1, 0, 0, 2, 0, 0, 0, 0, 0, 0},
		"no question":    {0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0},
		"label overruns": {0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 9, 'a'},
		"pointer loop":   {0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1},
		"label type":     {0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0x40, 0, 0, 1, 0, 1},
		"no qtype":       {0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1},
		"record missing": append(query(1, "x.example", TypeA, 0)[:10], append([]byte{0, 1}, query(1, "x.example", TypeA, 0)[12:]...)...),
	}
	long := []byte{0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0}
	for range 5 {
		long = append(long, 63)
		long = append(long, make([]byte, 63)...)
	}
	bad["name too long"] = append(long, 0, 0, 1, 0, 1)
	for name, msg := range bad {
		if _, err := parseRequest(msg); err == nil {
			t.Errorf("%s: parsed", name)
		}
	}
}

func TestHandleReplies(t *testing.T) {
	s := &Server{zone: map[string][]Record{}}
	s.Set("example.org", MX(10, "mx.example.org"))
	s.Set("big.example", TXT(string(make([]byte, 600))))
	rcode := func(b []byte) int { return int(binary.BigEndian.Uint16(b[2:]) & 0xf) }
	flags := func(b []byte) uint16 { return binary.BigEndian.Uint16(b[2:]) }

	r := s.handle(query(9, "example.org", TypeMX, 0), "udp")
	if r == nil || binary.BigEndian.Uint16(r) != 9 || rcode(r) != rcodeSuccess || binary.BigEndian.Uint16(r[6:]) != 1 {
		t.Fatalf("MX reply % x", r)
	}
	if f := flags(r); f&flagQR == 0 || f&flagAA == 0 || f&flagRD == 0 {
		t.Fatalf("flags %#x", f)
	}
	if r := s.handle(query(9, "nope.example", TypeA, 0), "udp"); rcode(r) != rcodeNXDomain {
		t.Fatalf("NXDOMAIN reply % x", r)
	}
	if r := s.handle(query(9, "big.example", TypeTXT, 0), "udp"); flags(r)&flagTC == 0 || binary.BigEndian.Uint16(r[6:]) != 0 {
		t.Fatalf("big UDP reply not truncated: % x", r[:12])
	}
	if r := s.handle(query(9, "big.example", TypeTXT, 4096), "udp"); flags(r)&flagTC != 0 {
		t.Fatal("big reply truncated despite EDNS buffer")
	}
	if r := s.handle(query(9, "big.example", TypeTXT, 0), "tcp"); flags(r)&flagTC != 0 {
		t.Fatal("TCP reply truncated")
	}
	formErr := []byte{0, 5, 1, 0, 0, 2, 0, 0, 0, 0, 0, 0}
	if r := s.handle(formErr, "udp"); r == nil || rcode(r) != rcodeFormErr || binary.BigEndian.Uint16(r[4:]) != 0 {
		t.Fatalf("FORMERR reply % x", r)
	}
	notify := query(3, "example.org", TypeMX, 0)
	notify[2] |= 4 << 3 // opcode NOTIFY
	if r := s.handle(notify, "udp"); rcode(r) != rcodeNotImp {
		t.Fatalf("NOTIFY reply % x", r)
	}
	chaos := query(4, "version.bind", TypeTXT, 0)
	chaos[len(chaos)-1] = 3 // class CH
	if r := s.handle(chaos, "udp"); rcode(r) != rcodeRefused {
		t.Fatalf("CH reply % x", r)
	}
	if r := s.handle([]byte{1, 2, 3}, "udp"); r != nil {
		t.Fatal("answered a runt")
	}
}

// FuzzHandle: any datagram gets no reply or a well-formed response to it.
func FuzzHandle(f *testing.F) {
	f.Add(query(1, "example.org", TypeMX, 0))
	f.Add(query(2, "big.example", TypeTXT, 1232))
	f.Add([]byte{0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1})
	f.Add([]byte{0, 1, 1, 0, 0, 1, 0, 1, 0, 0, 0, 0, 1, 'a', 0, 0, 1, 0, 1, 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 0, 0, 4})
	s := &Server{zone: map[string][]Record{}}
	s.Set("example.org", MX(10, "mx.example.org"), A("192.0.2.1"))
	s.Set("www.example.org", CNAME("example.org"))
	s.Set("big.example", TXT(string(make([]byte, 600))))
	f.Fuzz(func(t *testing.T, msg []byte) {
		r := s.handle(msg, "udp")
		if r == nil {
			return
		}
		if len(r) < headerLen || binary.BigEndian.Uint16(r) != binary.BigEndian.Uint16(msg) {
			t.Fatalf("bad reply % x to % x", r, msg)
		}
		if binary.BigEndian.Uint16(r[2:])&flagQR == 0 {
			t.Fatal("reply without QR")
		}
		if len(r) > minUDPSize && binary.BigEndian.Uint16(r[2:])&flagTC == 0 {
			if req, _ := parseRequest(msg); len(r) > req.udpSize {
				t.Fatalf("%d-byte UDP reply to a %d-byte buffer", len(r), req.udpSize)
			}
		}
	})
}
