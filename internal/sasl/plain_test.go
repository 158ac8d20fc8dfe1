package sasl

import (
	"context"
	"strings"
	"testing"
)

// fakeChecker accepts alice/secret and records what it was asked.
type fakeChecker struct{ calls []string }

func (f *fakeChecker) CheckPassword(_ context.Context, _ Client, user, pw string) (Step, error) {
	f.calls = append(f.calls, user+"/"+pw)
	if user == "alice" && pw == "secret" {
		return Step{Done: true, User: user}, nil
	}
	return Step{Done: true, Reason: "wrong password"}, nil
}

func TestParsePlain(t *testing.T) {
	long := strings.Repeat("x", MaxCredential+1)
	tests := []struct {
		msg, user, pw, err string
	}{
		{"\x00alice\x00secret", "alice", "secret", ""},
		{"alice\x00alice\x00secret", "alice", "secret", ""},
		{"\x00alice\x00pass word\xff", "alice", "pass word\xff", ""},
		{"bob\x00alice\x00secret", "", "", "authorization identity \"bob\" differs"},
		{"Alice\x00alice\x00secret", "", "", "differs"},
		{"alice\x00secret", "", "", "1 NUL separators, want 2"},
		{"alicesecret", "", "", "0 NUL separators"},
		{"", "", "", "0 NUL separators"},
		{"\x00alice\x00sec\x00ret", "", "", "3 NUL separators"},
		{"\x00\x00secret", "", "", "empty user name"},
		{"\x00alice\x00", "", "", "empty password"},
		{"\x00\x00", "", "", "empty user name"},
		{"\x00alice\x00" + long, "", "", "field longer than 1024"},
		{"\x00" + long + "\x00x", "", "", "field longer than 1024"},
		{long + long + long + "\x00\x00", "", "", "response longer than 3074"},
		{"\x00" + strings.Repeat("u", 255) + "\x00" + strings.Repeat("p", 255), strings.Repeat("u", 255), strings.Repeat("p", 255), ""},
	}
	for _, tt := range tests {
		_, user, pw, err := ParsePlain([]byte(tt.msg))
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParsePlain(%q) error %v, want %q", tt.msg, err, tt.err)
			}
			continue
		}
		if err != nil || user != tt.user || pw != tt.pw {
			t.Errorf("ParsePlain(%q) = %q, %q, %v", tt.msg, user, pw, err)
		}
	}
}

func TestPlainExchange(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name     string
		initial  []byte
		response []byte // after the empty challenge, when initial is nil
		user     string
		reason   string
		calls    int
	}{
		{"initial response", []byte("\x00alice\x00secret"), nil, "alice", "", 1},
		{"after a challenge", nil, []byte("\x00alice\x00secret"), "alice", "", 1},
		{"wrong password", []byte("\x00alice\x00nope"), nil, "", "wrong password", 1},
		{"empty initial response (=)", []byte{}, nil, "", "0 NUL separators", 0},
		{"empty answer to the challenge", nil, []byte{}, "", "0 NUL separators", 0},
		{"authzid mismatch is never checked", []byte("root\x00alice\x00secret"), nil, "", "differs", 0},
		{"empty password is never checked", []byte("\x00alice\x00"), nil, "", "empty password", 0},
	}
	for _, tt := range tests {
		fc := &fakeChecker{}
		x := NewPlain(fc, Client{}, tt.initial)
		st, err := x.Next(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if tt.initial == nil {
			if st.Done || len(st.Challenge) != 0 || st.Challenge == nil {
				t.Errorf("%s: first step %+v, want an empty challenge", tt.name, st)
			}
			if st, err = x.Next(ctx, tt.response); err != nil {
				t.Fatal(err)
			}
		}
		if !st.Done || st.User != tt.user || !strings.Contains(st.Reason, tt.reason) || len(fc.calls) != tt.calls {
			t.Errorf("%s: %+v after %v, want user %q reason %q, %d checks", tt.name, st, fc.calls, tt.user, tt.reason, tt.calls)
		}
		if _, err := x.Next(ctx, []byte("\x00alice\x00secret")); err != ErrExchangeOver {
			t.Errorf("%s: Next after the end: %v", tt.name, err)
		}
	}
}

func TestLoginExchange(t *testing.T) {
	ctx := context.Background()
	long := []byte(strings.Repeat("x", MaxCredential+1))
	tests := []struct {
		name      string
		initial   []byte
		responses [][]byte
		user      string
		reason    string
		calls     int
	}{
		{"two challenges", nil, [][]byte{[]byte("alice"), []byte("secret")}, "alice", "", 1},
		{"initial user name", []byte("alice"), [][]byte{[]byte("secret")}, "alice", "", 1},
		{"wrong password", nil, [][]byte{[]byte("alice"), []byte("bad")}, "", "wrong password", 1},
		{"empty user", nil, [][]byte{{}}, "", "empty user name", 0},
		{"empty initial user (=)", []byte{}, nil, "", "empty user name", 0},
		{"empty password", nil, [][]byte{[]byte("alice"), {}}, "", "empty password", 0},
		{"NUL in the user", nil, [][]byte{[]byte("al\x00ice")}, "", "NUL in the LOGIN user name", 0},
		{"NUL in the password", nil, [][]byte{[]byte("alice"), []byte("sec\x00ret")}, "", "NUL in the LOGIN password", 0},
		{"over-long user", nil, [][]byte{long}, "", "user name longer than 1024", 0},
		{"over-long password", nil, [][]byte{[]byte("alice"), long}, "", "password longer than 1024", 0},
	}
	for _, tt := range tests {
		fc := &fakeChecker{}
		x := NewLogin(fc, Client{}, tt.initial)
		st, err := x.Next(ctx, nil)
		var challenges []string
		for _, r := range tt.responses {
			if err != nil || st.Done {
				t.Fatalf("%s: %+v %v before the answer %q", tt.name, st, err, r)
			}
			challenges = append(challenges, string(st.Challenge))
			st, err = x.Next(ctx, r)
		}
		if err != nil || !st.Done || st.User != tt.user || !strings.Contains(st.Reason, tt.reason) || len(fc.calls) != tt.calls {
			t.Errorf("%s: %+v %v after %v, want user %q reason %q, %d checks", tt.name, st, err, fc.calls, tt.user, tt.reason, tt.calls)
		}
		want := []string{"Username:", "Password:"}
		if tt.initial != nil {
			want = want[1:]
		}
		for i, c := range challenges {
			if c != want[i] {
				t.Errorf("%s: challenge %d is %q, want %q", tt.name, i, c, want[i])
			}
		}
		if _, err := x.Next(ctx, []byte("x")); err != ErrExchangeOver {
			t.Errorf("%s: Next after the end: %v", tt.name, err)
		}
	}
}

// FuzzParsePlain: no input panics; what parses obeys RFC 4616's rules.
func FuzzParsePlain(f *testing.F) {
	f.Add([]byte("\x00alice\x00secret"))
	f.Add([]byte("alice\x00alice\x00secret"))
	f.Add([]byte("bob\x00alice\x00"))
	f.Fuzz(func(t *testing.T, msg []byte) {
		authzid, authcid, pw, err := ParsePlain(msg)
		if err != nil {
			return
		}
		if authcid == "" || pw == "" || authzid != "" && authzid != authcid ||
			strings.ContainsRune(authcid+pw, 0) || len(authcid) > MaxCredential || len(pw) > MaxCredential {
			t.Fatalf("ParsePlain(%q) = %q, %q, %q", msg, authzid, authcid, pw)
		}
	})
}
