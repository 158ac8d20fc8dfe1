package rewrite

import (
	"context"
	"strings"
	"testing"

	"github.com/postern-mta/postern/internal/cleanup"
	"github.com/postern-mta/postern/internal/queue"
)

func TestAddrSpans(t *testing.T) {
	for in, want := range map[string][]string{
		" joe@x":                         {"joe@x"},
		" Joe User <joe@x>, ann@y (Ann)": {"joe@x", "ann@y"},
		` "Doe, John" <john@x>`:          {"john@x"},
		" <@relay.example:joe@x>":        {"joe@x"},
		" team: a@x, B <b@y>;, c@z":      {"a@x", "b@y", "c@z"},
		" undisclosed-recipients:;":      nil,
		" joe":                           {"joe"},
		" Joe User":                      nil,
		" (comment, with comma) joe@x":   {"joe@x"},
		" a@x,\r\n\tb@y":                 {"a@x", "b@y"},
		` "a b"@x`:                       {`"a b"@x`},
		" <unterminated@x":               nil,
	} {
		var got []string
		for _, s := range addrSpans(in) {
			got = append(got, in[s[0]:s[1]])
		}
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("addrSpans(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestHeaderStage(t *testing.T) {
	tables := map[string]*table{
		"scanon":  {m: map[string]string{"joe@mx.example": "Joe.User@example.com"}},
		"rcanon":  {m: map[string]string{"info@mx.example": "contact@example.com"}},
		"failing": {fail: true},
	}
	c := Config{SenderCanonical: []string{"scanon"}, RecipientCanonical: []string{"rcanon"},
		SenderClasses: HeaderSender, RecipientClasses: HeaderRecipient,
		Masquerade: []string{"example.org"}, MasqueradeClasses: HeaderSender | HeaderRecipient}
	r := newTest(c, tables)
	st := r.HeaderStage(func(a string) string { return a + "@mx.example" })
	content := "From: Joe <joe@mx.example>\r\nTo: info@mx.example,\r\n\tann@host.example.org (Ann)\r\n" +
		"Reply-To: joe\r\nSubject: joe@mx.example\r\nX-Other: joe@mx.example\r\n\r\nbody joe@mx.example\r\n"
	sp := cleanup.NewSpool(t.TempDir())
	sp.Write([]byte(content))
	m, err := cleanup.NewMessage(&queue.Envelope{ID: "Q"}, cleanup.Origin{Local: true}, sp)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if v := st.Apply(context.Background(), m); v.Action != cleanup.Continue {
		t.Fatalf("verdict %+v", v)
	}
	want := "From: Joe <Joe.User@example.com>\r\nTo: contact@example.com,\r\n\tann@example.org (Ann)\r\n" +
		"Reply-To: Joe.User@example.com\r\nSubject: joe@mx.example\r\nX-Other: joe@mx.example\r\n"
	if got := string(m.Header.Bytes()); !strings.HasPrefix(got, want) {
		t.Errorf("header:\n%s\nwant:\n%s", got, want)
	}

	// no header class: no stage, nothing held
	c.SenderClasses, c.RecipientClasses, c.MasqueradeClasses = EnvelopeSender, EnvelopeRecipient, EnvelopeSender
	if newTest(c, tables).HeaderStage(nil) != nil {
		t.Error("a stage without a header class")
	}
	// a failing table refuses for now
	c = Config{Canonical: []string{"failing"}, CanonicalClasses: HeaderSender}
	if v := newTest(c, tables).HeaderStage(nil).Apply(context.Background(), m); v.Action != cleanup.Reject || !strings.HasPrefix(v.Reply, "451 4.3.0") {
		t.Errorf("failing table: %+v", v)
	}
}

// HeaderRules: local submissions and local_header_rewrite_clients get
// @$myorigin; other clients only with remote_header_rewrite_domain.
func TestHeaderRules(t *testing.T) {
	tables := map[string]*table{"canon": {m: map[string]string{}}}
	r := newTest(Config{Canonical: []string{"canon"}, CanonicalClasses: HeaderSender}, tables)
	local := func(o cleanup.Origin) bool { return o.MyNetworks }
	h := &HeaderRules{R: r, LocalClient: local, Qualify: func(a string) string { return a + "@origin.example" }}
	from := func(st cleanup.Stage) string {
		if st == nil {
			return "<no stage>"
		}
		sp := cleanup.NewSpool(t.TempDir())
		sp.Write([]byte("From: joe\r\n\r\n"))
		m, err := cleanup.NewMessage(&queue.Envelope{}, cleanup.Origin{}, sp)
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		st.Apply(context.Background(), m)
		v, _ := m.Header.Get("From")
		return v
	}
	if got := from(h.For(cleanup.Origin{Local: true})); got != "joe@origin.example" {
		t.Errorf("local submission: %q", got)
	}
	if got := from(h.For(cleanup.Origin{MyNetworks: true})); got != "joe@origin.example" {
		t.Errorf("local client: %q", got)
	}
	if got := from(h.For(cleanup.Origin{})); got != "<no stage>" {
		t.Errorf("remote client: %q", got)
	}
	h.RemoteDomain = "remote.example"
	if got := from(h.For(cleanup.Origin{})); got != "joe@remote.example" {
		t.Errorf("remote client with remote_header_rewrite_domain: %q", got)
	}
	var none *HeaderRules
	if none.For(cleanup.Origin{Local: true}) != nil {
		t.Error("nil rules gave a stage")
	}
}
