package passwdfile

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/postern-mta/postern/internal/sasl"
)

const hashBlf = "{BLF-CRYPT}$2y$05$M3J4pXnWVrgdOTartJseFOJ37OXAnNW0FUI/ijptuupTmSeSzyG16" // "secret", by doveadm

var _ sasl.Authenticator = (*Authenticator)(nil)

func newTest(t *testing.T) *Authenticator {
	t.Helper()
	p := filepath.Join(t.TempDir(), "users")
	os.WriteFile(p, []byte("alice:"+hashBlf+"\nbob:"+hashBlf+"::::::allow_nets=192.0.2.0/24\n"), 0o640)
	a, err := New(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestMechanisms(t *testing.T) {
	ms, err := newTest(t).Mechanisms(context.Background())
	if err != nil || len(ms) != 2 || ms[0].Name != "PLAIN" || ms[1].Name != "LOGIN" || !ms[0].Plaintext || !ms[1].Plaintext || ms[0].Dictionary {
		t.Fatalf("%+v %v", ms, err)
	}
}

func TestExchanges(t *testing.T) {
	a := newTest(t)
	ctx := context.Background()
	far := sasl.Client{Service: "smtp", RemoteAddr: netip.MustParseAddrPort("198.51.100.1:1234")}
	near := sasl.Client{Service: "smtp", RemoteAddr: netip.MustParseAddrPort("192.0.2.1:1234")}
	tests := []struct {
		mech    string
		c       sasl.Client
		initial []byte
		answers []string
		user    string
	}{
		{"PLAIN", far, []byte("\x00Alice\x00secret"), nil, "alice"},
		{"PLAIN", far, []byte("\x00alice\x00wrong"), nil, ""},
		{"PLAIN", far, []byte("\x00nobody\x00secret"), nil, ""},
		{"PLAIN", far, nil, []string{"alice\x00alice\x00secret"}, "alice"},
		{"LOGIN", far, nil, []string{"alice", "secret"}, "alice"},
		{"LOGIN", far, []byte("alice"), []string{"wrong"}, ""},
		{"LOGIN", far, nil, []string{"bob", "secret"}, ""},
		{"LOGIN", near, nil, []string{"bob", "secret"}, "bob"},
	}
	for _, tt := range tests {
		x, err := a.Start(ctx, tt.mech, tt.c, tt.initial)
		if err != nil {
			t.Fatal(err)
		}
		st, err := x.Next(ctx, nil)
		for _, ans := range tt.answers {
			if err != nil || st.Done {
				t.Fatalf("%+v: %+v %v", tt, st, err)
			}
			st, err = x.Next(ctx, []byte(ans))
		}
		if err != nil || !st.Done || st.User != tt.user || (st.User == "") == (st.Reason == "") {
			t.Errorf("%s %q %q: %+v %v, want user %q", tt.mech, tt.initial, tt.answers, st, err, tt.user)
		}
	}
	if _, err := a.Start(ctx, "CRAM-MD5", far, nil); err == nil {
		t.Error("CRAM-MD5 started")
	}
}

func TestNewBadFile(t *testing.T) {
	if _, err := New(filepath.Join(t.TempDir(), "none"), nil); err == nil {
		t.Fatal("a missing file opened")
	}
}
