package config

import (
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"testing"
	"time"
)

// Seed corpora live in testdata/fuzz/FuzzParseMain and testdata/fuzz/FuzzExpand.

const nameBreakers = " \t\r\n\v\f="

// FuzzParseMain checks that ParseMain never panics, that every entry has a
// well-formed name and trimmed value, that Values holds each name's last
// entry, and that writing the entries back as `name = value` lines and
// parsing again yields the same pairs.
func FuzzParseMain(f *testing.F) {
	f.Fuzz(func(t *testing.T, data string) {
		mf := ParseMain("main.cf", data)
		physical := strings.Count(data, "\n") + 1
		var b strings.Builder
		last := map[string]Entry{}
		for _, e := range mf.Entries {
			if e.Name == "" || strings.ContainsAny(e.Name, nameBreakers) {
				t.Fatalf("bad entry name %q", e.Name)
			}
			if e.Line < 1 || e.Line > physical {
				t.Fatalf("entry %q: line %d outside 1..%d", e.Name, e.Line, physical)
			}
			if v := strings.Trim(e.Value, " \t\r\n\v\f"); v != e.Value {
				t.Fatalf("entry %q: value %q not trimmed", e.Name, e.Value)
			}
			if strings.Contains(e.Value, "\n") {
				t.Fatalf("entry %q: value %q contains a newline", e.Name, e.Value)
			}
			last[e.Name] = e
			fmt.Fprintf(&b, "%s = %s\n", e.Name, e.Value)
		}
		if len(mf.Values) != len(last) {
			t.Fatalf("Values has %d names, entries have %d", len(mf.Values), len(last))
		}
		for n, e := range last {
			if mf.Values[n] != e {
				t.Fatalf("Values[%q] = %+v, want last entry %+v", n, mf.Values[n], e)
			}
		}
		for _, d := range mf.Diags {
			if d.Line < 1 || d.Line > physical {
				t.Fatalf("diag %+v: line outside 1..%d", d, physical)
			}
		}
		again := ParseMain("main.cf", b.String())
		if d := again.FirstError(); d != nil {
			t.Fatalf("re-parse of %q: %v", b.String(), d)
		}
		if len(again.Entries) != len(mf.Entries) {
			t.Fatalf("re-parse of %q: %d entries, want %d", b.String(), len(again.Entries), len(mf.Entries))
		}
		for i, e := range again.Entries {
			if w := mf.Entries[i]; e.Name != w.Name || e.Value != w.Value || e.Line != i+1 {
				t.Fatalf("re-parse entry %d = %+v, want %s = %q", i, e, w.Name, w.Value)
			}
		}
	})
}

// fuzzEnv holds ordinary values, a self reference, a mutual loop and a loop
// through a relational operand (which crashes Postfix's own postconf).
var fuzzEnv = map[string]string{
	"a": "x", "empty": "", "b": "$a$a", "c": "${a?{$b}:{no}}", "cl": "3.6",
	"self": "x$self", "p1": "$p2", "p2": "${p1?{$p1}}", "rel": "${{$rel} == {x}}",
}

// FuzzExpand checks that expansion never panics, always finishes, only
// fails with ErrMacro, and leaves text without '$' alone.
func FuzzExpand(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		type result struct {
			out   string
			err   error
			panic string
		}
		done := make(chan result, 1)
		go func() {
			var r result
			defer func() {
				if p := recover(); p != nil {
					r.panic = fmt.Sprintf("%v\n%s", p, debug.Stack())
				}
				done <- r
			}()
			r.out, r.err = Expand(s, lookupIn(fuzzEnv))
			scan := &Expander{Lookup: lookupIn(fuzzEnv), Scan: true, Recurse: true}
			_, _ = scan.Expand(s)
			_ = References(s)
		}()
		var r result
		select {
		case r = <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("Expand(%q) did not finish", s)
		}
		if r.panic != "" {
			t.Fatalf("Expand(%q) panicked: %s", s, r.panic)
		}
		if r.err != nil && !errors.Is(r.err, ErrMacro) {
			t.Fatalf("Expand(%q) error %v does not wrap ErrMacro", s, r.err)
		}
		if r.err != nil && r.out != "" {
			t.Fatalf("Expand(%q) = %q with error %v", s, r.out, r.err)
		}
		if !strings.Contains(s, "$") && (r.err != nil || r.out != s) {
			t.Fatalf("Expand(%q) = %q, %v; want the text unchanged", s, r.out, r.err)
		}
	})
}
