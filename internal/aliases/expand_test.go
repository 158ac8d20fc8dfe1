package aliases

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/postern-mta/postern/internal/maps"
)

// table is an alias table for tests; values are in alias-file syntax.
type table struct {
	name string
	m    map[string]string
	err  error
}

func (t *table) Lookup(key string) (string, bool, error) {
	if t.err != nil {
		return "", false, t.err
	}
	v, ok := t.m[Fold(key)]
	return v, ok, nil
}

func (t *table) Name() string { return t.name }

func newExpander(tables ...maps.Table) *Expander {
	return &Expander{
		Tables:    tables,
		Delimiter: "+",
		IsLocal: func(addr string) (string, bool) {
			local, domain, found := strings.Cut(addr, "@")
			return local, !found || strings.EqualFold(domain, "example.test")
		},
		ReadInclude: func(path string, uid int) ([]byte, int, error) {
			switch path {
			case "/lists/staff":
				return []byte("# staff\nalice, bob@example.test\n\"|/bin/log staff\"\n"), 1000, nil
			case "/lists/self":
				return []byte(":include:/lists/self\ncarol\n"), 0, nil
			case "/lists/denied":
				return nil, 0, &Failure{DSN: "4.3.5", Err: errors.New("/lists/denied: cannot find :include: file owner username")}
			}
			return nil, 0, errors.New("no such file or directory")
		},
	}
}

// show renders targets compactly: kind:value plus what the test cares about.
func show(ts []Target) []string {
	var out []string
	for _, t := range ts {
		s := [...]string{"mailbox", "forward", "file", "command", "failed"}[t.Kind] + ":" + t.Value
		switch {
		case t.Kind == Failed:
			s += t.DSN + " " + t.Reason
		case t.Kind == Command || t.Kind == File:
			s += fmt.Sprintf(" uid=%d src=%d", t.UID, t.Source)
		}
		if t.Owner != "" {
			s += " owner=" + t.Owner
		}
		out = append(out, s)
	}
	return out
}

func TestExpand(t *testing.T) {
	aliases := &table{name: "hash:/etc/aliases", m: map[string]string{
		"postmaster":   "root",
		"root":         "root, alice",
		"alice+spam":   "/dev/null",
		"chain1":       "chain2",
		"chain2":       "chain3, remote@elsewhere.test",
		"chain3":       "bob",
		"loop1":        "loop2",
		"loop2":        "loop3, carol",
		"loop3":        "loop1",
		"diamond":      "left, right",
		"left":         "dave",
		"right":        "dave, Dave@Example.Test",
		"cmds":         `"|/usr/bin/procmail -a x", /var/log/mail.log, ~/mbox, ~other/x`,
		"staff":        ":include:/lists/staff",
		"self":         ":INCLUDE:/lists/self",
		"relative":     ":include:lists/x",
		"missing":      ":include:/lists/missing",
		"denied":       ":include:/lists/denied",
		"list":         "alice, outside@elsewhere.test",
		"owner-list":   "alice",
		"empty":        `""`,
		"quoted":       `"|/bin/echo a, b" (comment) eve`,
		"extended":     "frank+box",
		"frank+box":    "frank",
		"upper":        "ALICE",
		"chain-remote": "chain1",
	}}
	tests := []struct {
		local string
		want  []string
	}{
		{"nobody-special", []string{"mailbox:nobody-special"}},
		{"Alice", []string{"mailbox:alice"}},
		{"alice+ext", []string{"mailbox:alice"}}, // no alias: the user, extension dropped
		{"alice+spam", []string{"file:/dev/null uid=0 src=1"}},
		{"postmaster", []string{"mailbox:root", "mailbox:alice"}}, // root lists itself
		{"chain1", []string{"mailbox:bob", "forward:remote@elsewhere.test"}},
		{"chain1+x", []string{"mailbox:bob", "forward:remote@elsewhere.test"}},
		{"loop1", []string{"failed:5.4.6 alias database loop for loop1", "mailbox:carol"}},
		{"diamond", []string{"mailbox:dave"}},
		{"cmds", []string{
			"command:/usr/bin/procmail -a x uid=0 src=1", "file:/var/log/mail.log uid=0 src=1",
			"file:~/mbox uid=0 src=1", "failed:5.3.5 bad home directory syntax for: ~other/x"}},
		// Include files: addresses are forwarded even when local,
		// commands run as the file's owner under a root alias.
		{"staff", []string{"forward:alice", "forward:bob@example.test", "command:/bin/log staff uid=1000 src=2"}},
		{"self", []string{"forward:carol"}},
		{"relative", []string{"failed:5.3.5 mail system configuration error"}},
		{"missing", []string{"failed:5.3.5 mail system configuration error"}},
		{"denied", []string{"failed:4.3.5 mail system configuration error"}},
		// An owner- alias: local members go through the queue too, with
		// the owner as sender.
		{"list", []string{"forward:alice owner=owner-list", "forward:outside@elsewhere.test owner=owner-list"}},
		{"quoted", []string{"command:/bin/echo a, b uid=0 src=1", "mailbox:eve"}},
		{"extended", []string{"mailbox:frank"}},
		{"upper", []string{"mailbox:alice"}},
	}
	for _, tt := range tests {
		t.Run(tt.local, func(t *testing.T) {
			got, err := newExpander(aliases).Expand(tt.local)
			if err != nil {
				t.Fatal(err)
			}
			if s := show(got); !slices.Equal(s, tt.want) {
				t.Errorf("got  %q\nwant %q", s, tt.want)
			}
		})
	}
}

func TestExpandMailboxKeepsLocalPart(t *testing.T) {
	got, _ := newExpander().Expand("Alice+Box")
	if len(got) != 1 || got[0].Value != "alice" || got[0].Local != "alice+box" || got[0].Source != FromRecipient {
		t.Errorf("%+v", got)
	}
}

func TestExpandTablesInOrder(t *testing.T) {
	first := &table{name: "hash:/a", m: map[string]string{"x": "one"}}
	second := &table{name: "hash:/b", m: map[string]string{"x": "two", "y": "three"}}
	got, _ := newExpander(first, second).Expand("x")
	if s := show(got); !slices.Equal(s, []string{"mailbox:one"}) {
		t.Errorf("x: %q", s)
	}
	got, _ = newExpander(first, second).Expand("y")
	if s := show(got); !slices.Equal(s, []string{"mailbox:three"}) {
		t.Errorf("y: %q", s)
	}
}

func TestExpandTableOwnerRights(t *testing.T) {
	user := &table{name: "hash:/home/u/aliases", m: map[string]string{"u": `"|/bin/u", :include:/lists/staff`}}
	e := newExpander(user)
	e.TableOwner = func(maps.Table) int { return 500 }
	got, _ := e.Expand("u")
	want := []string{"command:/bin/u uid=500 src=1", "forward:alice", "forward:bob@example.test",
		"command:/bin/log staff uid=500 src=2"} // a user's alias keeps its rights in includes
	if s := show(got); !slices.Equal(s, want) {
		t.Errorf("got  %q\nwant %q", s, want)
	}
}

func TestExpandErrors(t *testing.T) {
	broken := &table{name: "hash:/broken", err: errors.New("corrupt cdb file")}
	if _, err := newExpander(broken).Expand("x"); err == nil || !strings.Contains(err.Error(), "corrupt") {
		t.Errorf("table error: %v", err)
	}
	empty := &table{name: "hash:/e", m: map[string]string{"e": `""`, "c": "(only a comment)"}}
	for _, name := range []string{"e", "c"} {
		if _, err := newExpander(empty).Expand(name); err == nil || !strings.Contains(err.Error(), "no recipient") {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestExpandDeepChainHitsLimit(t *testing.T) {
	m := map[string]string{}
	for i := 0; i < 150; i++ {
		m[fmt.Sprintf("n%d", i)] = fmt.Sprintf("n%d", i+1)
	}
	got, err := newExpander(&table{name: "hash:/deep", m: m}).Expand("n0")
	if err != nil {
		t.Fatal(err)
	}
	if s := show(got); !slices.Equal(s, []string{"failed:5.4.6 recipient nesting limit exceeded"}) {
		t.Errorf("%q", s)
	}
}

func TestExpandWarns(t *testing.T) {
	var warnings []string
	e := newExpander(&table{name: "hash:/w", m: map[string]string{"a": "b", "b": "a", "r": ":include:x"}})
	e.Warn = func(s string) { warnings = append(warnings, s) }
	e.Expand("a")
	e.Expand("r")
	want := []string{"alias database loop for a", ":include:x uses a relative path"}
	if !slices.Equal(warnings, want) {
		t.Errorf("%q", warnings)
	}
}

func TestSplitExtension(t *testing.T) {
	tests := []struct{ local, delims, user, ext string }{
		{"alice+box", "+", "alice", "box"},
		{"alice+box+more", "+", "alice", "box+more"},
		{"alice-box", "+-", "alice", "box"},
		{"alice", "+", "alice", ""},
		{"alice+box", "", "alice+box", ""},
		{"+box", "+", "+box", ""},
		{"postmaster+x", "+", "postmaster", "x"},
		{"postmaster", "+", "postmaster", ""},
		{"owner-list", "-", "owner-list", ""},
		{"list-request", "-", "list-request", ""},
		{"owner-list", "+", "owner-list", ""},
		{"a-request", "-", "a-request", ""},
		{"-request", "-", "-request", ""},
	}
	for _, tt := range tests {
		if u, e := SplitExtension(tt.local, tt.delims); u != tt.user || e != tt.ext {
			t.Errorf("SplitExtension(%q, %q) = %q, %q", tt.local, tt.delims, u, e)
		}
	}
}

func TestExpandRecordsWhoseTargetItIs(t *testing.T) {
	tbl := &table{name: "hash:/a", m: map[string]string{
		"list": "bob@Example.Test, \"|/bin/x\"", "alice": "/var/mail/archive", "owner-x": "y"}}
	got, _ := newExpander(tbl).Expand("List")
	if len(got) != 2 || got[0].Addr != "bob@Example.Test" || got[0].Local != "bob" || got[0].Alias != "list" ||
		got[1].Local != "list" || got[1].Alias != "list" {
		t.Errorf("list: %+v", got)
	}
	// The alias found for the user part: the target belongs to the full
	// local part, as $LOCAL and $EXTENSION of a command would show.
	got, _ = newExpander(tbl).Expand("alice+box")
	if len(got) != 1 || got[0].Local != "alice+box" || got[0].Alias != "alice" {
		t.Errorf("alice+box: %+v", got)
	}
}
