package passwd

import "testing"

func TestSetUser(t *testing.T) {
	tests := []struct {
		in, user, out string
		added         bool
	}{
		{"", "alice", "alice:H\n", true},
		{"# comment\nbob:old\n", "Alice", "# comment\nbob:old\nalice:H\n", true},
		{"# comment\nbob:old", "carol", "# comment\nbob:old\ncarol:H\n", true},
		{"# alice:x\nalice:old:1:2::/home/a::nologin\n\nbob:b\n", "ALICE", "# alice:x\nalice:H:1:2::/home/a::nologin\n\nbob:b\n", false},
		{"alice:old\r\nbob:b\r\n", "alice", "alice:H\r\nbob:b\r\n", false},
		{"Alice:old\n", "alice", "alice:H\n", false},
	}
	for _, tt := range tests {
		out, added := SetUser([]byte(tt.in), tt.user, "H")
		if string(out) != tt.out || added != tt.added {
			t.Errorf("SetUser(%q, %q) = %q, %v; want %q, %v", tt.in, tt.user, out, added, tt.out, tt.added)
		}
	}
}

func TestDeleteUser(t *testing.T) {
	tests := []struct {
		in, user, out string
		found         bool
	}{
		{"", "alice", "", false},
		{"# alice\nalice:x\nbob:y\n", "Alice", "# alice\nbob:y\n", true},
		{"bob:y\n", "alice", "bob:y\n", false},
		{"alice:x\n", "alice", "", true},
	}
	for _, tt := range tests {
		out, found := DeleteUser([]byte(tt.in), tt.user)
		if string(out) != tt.out || found != tt.found {
			t.Errorf("DeleteUser(%q, %q) = %q, %v; want %q, %v", tt.in, tt.user, out, found, tt.out, tt.found)
		}
	}
}
