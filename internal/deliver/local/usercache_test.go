package local

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

// countingUsers counts lookups; uid 1000 + the name's length.
type countingUsers struct {
	calls   int
	missing map[string]bool
}

func (c *countingUsers) Lookup(name string) (*User, error) {
	c.calls++
	if c.missing[name] {
		return nil, fmt.Errorf("%w: %s", ErrUnknownUser, name)
	}
	return &User{Name: name, UID: 1000 + len(name), GID: 100, Home: "/home/" + name}, nil
}

func (c *countingUsers) LookupID(uid int) (*User, error) {
	c.calls++
	return &User{Name: "byid", UID: uid}, nil
}

func TestUserCache(t *testing.T) {
	type step struct {
		after     time.Duration // clock advance before the lookup
		name      string
		wantCalls int // lookups of the database so far
		wantErr   bool
	}
	for _, tc := range []struct {
		name    string
		missing []string
		steps   []step
	}{
		{"found once, then cached", nil, []step{{0, "alice", 1, false}, {10 * time.Millisecond, "alice", 1, false}, {500 * time.Millisecond, "alice", 1, false}}},
		{"expires after the ttl", nil, []step{{0, "alice", 1, false}, {time.Second, "alice", 2, false}, {10 * time.Millisecond, "alice", 2, false}}},
		{"each name on its own", nil, []step{{0, "alice", 1, false}, {0, "bob", 2, false}, {0, "alice", 2, false}}},
		{"unknown users are not kept", []string{"nobody2"}, []step{{0, "nobody2", 1, true}, {0, "nobody2", 2, true}}},
		{"a clock set back looks again", nil, []step{{0, "alice", 1, false}, {-time.Minute, "alice", 2, false}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := &countingUsers{missing: map[string]bool{}}
			for _, m := range tc.missing {
				db.missing[m] = true
			}
			now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
			c := newUserCache(db)
			c.now = func() time.Time { return now }
			for i, s := range tc.steps {
				now = now.Add(s.after)
				u, err := c.Lookup(s.name)
				if (err != nil) != s.wantErr {
					t.Fatalf("step %d: error %v, want error %v", i, err, s.wantErr)
				}
				if err != nil && !errors.Is(err, ErrUnknownUser) {
					t.Errorf("step %d: %v is not ErrUnknownUser", i, err)
				}
				if err == nil && (u.Name != s.name || u.UID != 1000+len(s.name)) {
					t.Errorf("step %d: got %+v", i, u)
				}
				if db.calls != s.wantCalls {
					t.Errorf("step %d: %d database lookups, want %d", i, db.calls, s.wantCalls)
				}
			}
		})
	}
}

// A caller that changes the user it got does not change the cache.
func TestUserCacheReturnsCopies(t *testing.T) {
	c := newUserCache(&countingUsers{})
	u, _ := c.Lookup("alice")
	u.UID = 0
	if v, _ := c.Lookup("alice"); v.UID == 0 {
		t.Error("the cached user was changed through a returned pointer")
	}
}
