package rewrite

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/postern-mta/postern/internal/maps"
	"github.com/postern-mta/postern/internal/queue"
)

// table is a fixed table for tests; fail makes every lookup fail.
type table struct {
	m       map[string]string
	fail    bool
	pattern bool
}

func (t *table) Lookup(k string) (string, bool, error) {
	if t.fail {
		return "", false, errors.New("connection refused")
	}
	v, ok := t.m[k]
	return v, ok, nil
}
func (t *table) Name() string  { return "test:t" }
func (t *table) Pattern() bool { return t.pattern }

// newTest is a rewriter with tables named by spec ("virtual", "canon"…).
func newTest(c Config, tables map[string]*table) *Rewriter {
	c.Open = func(spec string) (maps.Table, error) {
		t, ok := tables[spec]
		if !ok {
			return nil, fmt.Errorf("no table %s", spec)
		}
		return t, nil
	}
	c.IsLocal = func(d string) (bool, error) { return d == "mx.example", nil }
	c.Qualify = func(a string) string { return a + "@mx.example" }
	if c.ExpansionLimit == 0 {
		c.ExpansionLimit = 1000
	}
	if c.RecursionLimit == 0 {
		c.RecursionLimit = 1000
	}
	return New(c)
}

func TestExpand(t *testing.T) {
	virt := map[string]string{
		"list@v.example":      "a@v.example, b@v.example c@remote.example",
		"a@v.example":         "alice@mx.example",
		"self@v.example":      "self@v.example, copy@remote.example",
		"loop1@v.example":     "loop2@v.example",
		"loop2@v.example":     "loop1@v.example",
		"@catch.example":      "catchall@mx.example",
		"known@catch.example": "known@mx.example",
		"bob@v.example":       "robert@remote.example",
		"postmaster":          "root@mx.example",
		"@other.example":      "@new.example",
		"user":                "local-user@mx.example",
		"nested@v.example":    "list@v.example",
		"dup@v.example":       "a@v.example, alice@mx.example",
	}
	for _, c := range []struct {
		addr, delim string
		noProp      bool
		want        []string
		wantErr     string
	}{
		{addr: "list@v.example", want: []string{"alice@mx.example", "b@v.example", "c@remote.example"}},
		{addr: "nested@v.example", want: []string{"alice@mx.example", "b@v.example", "c@remote.example"}},
		{addr: "self@v.example", want: []string{"self@v.example", "copy@remote.example"}},
		{addr: "nobody@v.example", want: []string{"nobody@v.example"}},
		{addr: "x@catch.example", want: []string{"catchall@mx.example"}},
		{addr: "KNOWN@Catch.Example", want: []string{"known@mx.example"}},
		// user@domain before user and @domain; user only in a local domain
		{addr: "postmaster@mx.example", want: []string{"root@mx.example"}},
		{addr: "postmaster@v.example", want: []string{"postmaster@v.example"}},
		{addr: "user+ext@mx.example", delim: "+", want: []string{"local-user+ext@mx.example"}},
		// extensions: user+ext@domain, then user@domain, propagated
		{addr: "bob+news@v.example", delim: "+", want: []string{"robert+news@remote.example"}},
		{addr: "bob-news@v.example", delim: "+-", want: []string{"robert-news@remote.example"}},
		{addr: "bob+news@v.example", delim: "+", noProp: true, want: []string{"robert@remote.example"}},
		{addr: "bob+news@v.example", want: []string{"bob+news@v.example"}},
		// @domain result: the local part at the new domain
		{addr: "Joe@other.example", want: []string{"Joe@new.example"}},
		{addr: "loop1@v.example", wantErr: "unreasonable virtual_alias_maps map nesting for loop1@v.example"},
	} {
		r := newTest(Config{VirtualAlias: []string{"virtual"}, Delimiter: c.delim, PropagateVirtual: !c.noProp},
			map[string]*table{"virtual": {m: virt}})
		got, err := r.expand(c.addr)
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) || !errors.Is(err, ErrLimit) {
				t.Errorf("%s: err %v, want %q", c.addr, err, c.wantErr)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s (delim %q): got %q, %v; want %q", c.addr, c.delim, got, err, c.want)
		}
	}
}

func TestExpandLimits(t *testing.T) {
	virt := map[string]string{"big@v.example": "a@x, b@x, c@x, d@x", "deep@v.example": "d1@v.example",
		"d1@v.example": "d2@v.example", "d2@v.example": "d3@v.example"}
	tables := map[string]*table{"virtual": {m: virt}}
	r := newTest(Config{VirtualAlias: []string{"virtual"}, ExpansionLimit: 3}, tables)
	if _, err := r.expand("big@v.example"); err == nil || !strings.Contains(err.Error(), "map expansion size") {
		t.Errorf("expansion limit: %v", err)
	}
	r = newTest(Config{VirtualAlias: []string{"virtual"}, ExpansionLimit: 4}, tables)
	if got, err := r.expand("big@v.example"); err != nil || len(got) != 4 {
		t.Errorf("at the expansion limit: %q, %v", got, err)
	}
	// virtual_alias_address_length_limit: no result longer
	r = newTest(Config{VirtualAlias: []string{"virtual"}, LengthLimit: 20}, map[string]*table{"virtual": {m: map[string]string{
		"a@v.example": "aa@v.example", "aa@v.example": "aaaaaaaaaaaaaaaaaaaaaaaaaaaa@v.example"}}})
	if _, err := r.expand("a@v.example"); err == nil || !strings.Contains(err.Error(), "unreasonable virtual_alias_maps result aaaa") {
		t.Errorf("length limit: %v", err)
	}
	r = newTest(Config{VirtualAlias: []string{"virtual"}, RecursionLimit: 2}, tables)
	if _, err := r.expand("deep@v.example"); err == nil || !strings.Contains(err.Error(), "map nesting") {
		t.Errorf("recursion limit: %v", err)
	}
	r = newTest(Config{VirtualAlias: []string{"virtual"}, RecursionLimit: 4}, tables)
	if got, err := r.expand("deep@v.example"); err != nil || !reflect.DeepEqual(got, []string{"d3@v.example"}) {
		t.Errorf("within the recursion limit: %q, %v", got, err)
	}
}

func TestPatternTableFullKeyOnly(t *testing.T) {
	// A regexp table is asked with the complete address only, never
	// user@domain without the extension or @domain.
	tables := map[string]*table{"re": {pattern: true, m: map[string]string{"bob@v.example": "x@y", "@v.example": "z@y"}}}
	r := newTest(Config{VirtualAlias: []string{"re"}, Delimiter: "+"}, tables)
	if got, _ := r.expand("bob+e@v.example"); !reflect.DeepEqual(got, []string{"bob+e@v.example"}) {
		t.Errorf("got %q", got)
	}
}

func TestEnvelope(t *testing.T) {
	tables := map[string]*table{
		"virtual": {m: map[string]string{"team@v.example": "alice@mx.example, bob@remote.example, alice@mx.example"}},
		"scanon":  {m: map[string]string{"joe@mx.example": "Joe.User@example.com", "@old.example": "@example.com"}},
		"rcanon":  {m: map[string]string{"info@example.com": "team@v.example"}},
		"canon":   {m: map[string]string{"joe.user@example.com": "Joe.User@example.com"}},
		"failing": {fail: true},
	}
	c := Config{VirtualAlias: []string{"virtual"}, SenderCanonical: []string{"scanon"}, RecipientCanonical: []string{"rcanon"},
		Canonical: []string{"canon"}, SenderClasses: EnvelopeSender | HeaderSender, RecipientClasses: EnvelopeRecipient | HeaderRecipient,
		CanonicalClasses: EnvelopeSender | EnvelopeRecipient | HeaderSender | HeaderRecipient}
	r := newTest(c, tables)
	env := &queue.Envelope{ID: "Q1", Sender: "joe@mx.example", Recipients: []queue.Recipient{
		{Addr: "info@example.com", Notify: "FAILURE"}, {Addr: "carol@remote.example"}, {Addr: "team@v.example", Notify: "FAILURE", Orig: "TEAM@v.example"}}}
	if err := r.Envelope(context.Background(), env); err != nil {
		t.Fatal(err)
	}
	want := []queue.Recipient{
		{Addr: "alice@mx.example", Notify: "FAILURE", Orig: "info@example.com"},
		{Addr: "bob@remote.example", Notify: "FAILURE", Orig: "info@example.com"},
		{Addr: "carol@remote.example"},
		{Addr: "alice@mx.example", Notify: "FAILURE", Orig: "TEAM@v.example"},
		{Addr: "bob@remote.example", Notify: "FAILURE", Orig: "TEAM@v.example"},
	}
	if env.Sender != "Joe.User@example.com" || !reflect.DeepEqual(env.Recipients, want) {
		t.Errorf("got %q %+v", env.Sender, env.Recipients)
	}
	// @domain → @otherdomain keeps the local part
	env = &queue.Envelope{Sender: "Ann@old.example", Recipients: []queue.Recipient{{Addr: "x@y"}}}
	if err := r.Envelope(context.Background(), env); err != nil || env.Sender != "Ann@example.com" {
		t.Errorf("sender %q, %v", env.Sender, err)
	}

	// A table that cannot answer: the envelope is left alone and the
	// error asks for 451 4.3.0.
	c.VirtualAlias = []string{"failing"}
	r = newTest(c, tables)
	env = &queue.Envelope{Sender: "a@b", Recipients: []queue.Recipient{{Addr: "team@v.example"}}}
	err := r.Envelope(context.Background(), env)
	var re *Error
	if !errors.As(err, &re) || !strings.HasPrefix(re.SMTPReply(), "451 4.3.0") || env.Recipients[0].Addr != "team@v.example" || env.Sender != "a@b" {
		t.Errorf("lookup failure: %v, %+v", err, env)
	}
}

func TestCanonicalClassesAndLoop(t *testing.T) {
	tables := map[string]*table{"canon": {m: map[string]string{"a@x": "b@x", "b@x": "a@x", "me@x": "me+tag@x"}}}
	// canonical_classes without envelope_recipient: recipients untouched
	r := newTest(Config{Canonical: []string{"canon"}, CanonicalClasses: EnvelopeSender}, tables)
	env := &queue.Envelope{Sender: "", Recipients: []queue.Recipient{{Addr: "me@x"}}}
	if err := r.Envelope(context.Background(), env); err != nil || env.Recipients[0].Addr != "me@x" {
		t.Errorf("%+v %v", env, err)
	}
	// a loop ends at cleanup's nesting limit of 10: not queued
	env = &queue.Envelope{Sender: "a@x", Recipients: []queue.Recipient{{Addr: "me@x"}}}
	if err := r.Envelope(context.Background(), env); !errors.Is(err, ErrLimit) {
		t.Errorf("canonical loop: %v", err)
	}
}

func TestMasquerade(t *testing.T) {
	tables := map[string]*table{"test:exc": {m: map[string]string{"admin": "x"}}}
	for _, c := range []struct {
		domains, exceptions []string
		addr, want          string
	}{
		{[]string{"example.com"}, nil, "joe@host.example.com", "joe@example.com"},
		{[]string{"example.com"}, nil, "joe@HOST.Sub.example.com", "joe@example.com"},
		{[]string{"example.com"}, nil, "joe@example.com", "joe@example.com"},
		{[]string{"example.com"}, nil, "joe@notexample.com", "joe@notexample.com"},
		{[]string{"!sub.example.com", "example.com"}, nil, "joe@host.sub.example.com", "joe@host.sub.example.com"},
		{[]string{"!sub.example.com", "example.com"}, nil, "joe@host.example.com", "joe@example.com"},
		{[]string{"sub.example.com", "example.com"}, nil, "joe@host.sub.example.com", "joe@sub.example.com"},
		{[]string{"example.com"}, []string{"root"}, "Root@host.example.com", "Root@host.example.com"},
		{[]string{"example.com"}, []string{"test:exc"}, "admin@host.example.com", "admin@host.example.com"},
		{[]string{"example.com"}, []string{"root"}, "joe", "joe"},
	} {
		r := newTest(Config{Masquerade: c.domains, MasqueradeExceptions: c.exceptions, MasqueradeClasses: EnvelopeSender}, tables)
		got, err := r.masquerade(c.addr)
		if err != nil || got != c.want {
			t.Errorf("masquerade(%q) with %q except %q = %q, %v; want %q", c.addr, c.domains, c.exceptions, got, err, c.want)
		}
	}
}

func TestSplitList(t *testing.T) {
	for in, want := range map[string][]string{
		"a@b, c@d\te@f": {"a@b", "c@d", "e@f"},
		`"x y"@b,<c@d>`: {`"x y"@b`, "c@d"},
		"  ":            nil,
	} {
		if got := splitList(in); !reflect.DeepEqual(got, want) {
			t.Errorf("splitList(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNilRewriter(t *testing.T) {
	var r *Rewriter
	if r.Active() || r.HeaderActive() || r.HeaderStage(nil) != nil {
		t.Error("a nil Rewriter rewrites")
	}
	if err := r.Envelope(context.Background(), &queue.Envelope{}); err != nil {
		t.Error(err)
	}
}
