package passwd

import (
	"context"
	"net/netip"
	"testing"
)

// countHash counts verifications.
type countHash struct {
	n     int
	costs string
}

func (c *countHash) Verify([]byte) bool   { c.n++; return false }
func (c *countHash) Scheme() string       { return "TEST" }
func (c *countHash) cost() string         { return c.costs }
func (c *countHash) dummy() (Hash, error) { return c, nil }

// Every failure verifies one hash of each cost in the file (the user's
// own standing in for its cost's dummy), whatever the reason: timing
// tells neither whether the user exists nor whether the password was
// right. A success verifies only the user's hash.
func TestFailureVerifiesEachCost(t *testing.T) {
	db, _, _ := openTest(t, "alice:"+hashBlf+"\n"+
		"bob:"+hashSHA+"::::::allow_nets=192.0.2.0/24\n"+
		"carol:*\n"+
		"dave:"+hashBlf+"::::::nologin\n")
	const blf, sha = "BLF-CRYPT 5", "SHA512-CRYPT 5000 16"
	counts := map[string]*countHash{}
	for i, d := range db.file.dummies {
		c := &countHash{costs: d.cost}
		counts[d.cost], db.file.dummies[i].h = c, c
	}
	if len(counts) != 2 || counts[blf] == nil || counts[sha] == nil {
		t.Fatalf("dummies %v, want %q and %q", db.file.dummies, blf, sha)
	}
	inNet, outNet := netip.MustParseAddr("192.0.2.9"), netip.MustParseAddr("198.51.100.1")
	tests := []struct {
		user, pw string
		from     netip.Addr
		ok       bool
		blf, sha int // dummy verifications
	}{
		{"nobody", "secret", inNet, false, 1, 1},
		{"NOBODY", "", inNet, false, 1, 1},
		{"carol", "secret", inNet, false, 1, 1},
		{"alice", "wrong", inNet, false, 0, 1},
		{"alice", "secret", inNet, true, 0, 0},
		{"bob", "wrong", inNet, false, 1, 0},
		{"bob", "secret", outNet, false, 1, 0}, // right password, allow_nets refuses
		{"bob", "secret", inNet, true, 0, 0},
		{"dave", "secret", inNet, false, 0, 1}, // right password, nologin
	}
	for _, tt := range tests {
		counts[blf].n, counts[sha].n = 0, 0
		r, err := db.Verify(context.Background(), tt.user, tt.pw, tt.from)
		if err != nil || r.OK != tt.ok || counts[blf].n != tt.blf || counts[sha].n != tt.sha {
			t.Errorf("Verify(%s, %s, %v) = %+v, %v; dummies verified: %s %d, %s %d; want ok=%v, %d and %d",
				tt.user, tt.pw, tt.from, r, err, blf, counts[blf].n, sha, counts[sha].n, tt.ok, tt.blf, tt.sha)
		}
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
		if len(file.dummies) == 0 {
			t.Fatal("no dummy hash")
		}
		for name, e := range file.Users {
			if name != e.User || CheckUser(name) != nil || e.Hash == nil {
				t.Fatalf("entry %q: %+v", name, e)
			}
		}
	})
}
