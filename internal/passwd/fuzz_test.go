package passwd

import (
	"context"
	"net/netip"
	"testing"
)

// countHash counts verifications.
type countHash struct{ n int }

func (c *countHash) Verify([]byte) bool   { c.n++; return false }
func (c *countHash) Scheme() string       { return "TEST" }
func (c *countHash) cost() string         { return "TEST" }
func (c *countHash) dummy() (Hash, error) { return c, nil }

// Unknown and locked users cost one verification of the dummy hash, as
// much as a known user does: timing does not tell them apart.
func TestUnknownUserVerifiesDummy(t *testing.T) {
	db, _, _ := openTest(t, "alice:"+hashBlf+"\ncarol:*\n")
	c := &countHash{}
	db.file.dummy = c
	for i, u := range []string{"nobody", "carol", "NOBODY"} {
		if r, _ := db.Verify(context.Background(), u, "secret", netip.Addr{}); r.OK || c.n != i+1 {
			t.Fatalf("Verify(%s): %+v, dummy verified %d times, want %d", u, r, c.n, i+1)
		}
	}
	db.Verify(context.Background(), "alice", "secret", netip.Addr{})
	if c.n != 3 {
		t.Error("a known user was verified against the dummy")
	}
}

// FuzzParse: no input panics, and whatever parses has usable entries.
func FuzzParse(f *testing.F) {
	f.Add([]byte("alice:" + hashBlf + "\n# c\n\nbob:" + cryptSHA + ":1:2::/h::allow_nets=10.0.0.0/8 nologin\n"))
	f.Add([]byte("x:{ARGON2ID}$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$AAAAAAAAAAAAAAAAAAAAAA\n"))
	f.Add([]byte("a:*\r\n:x\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse("fuzz", data)
		if err != nil {
			return
		}
		if file.dummy == nil {
			t.Fatal("no dummy hash")
		}
		for name, e := range file.Users {
			if name != e.User || CheckUser(name) != nil || e.Hash == nil {
				t.Fatalf("entry %q: %+v", name, e)
			}
		}
	})
}
