package route

import (
	"errors"
	"testing"

	"github.com/postern-mta/postern/internal/maps"
)

func TestResolve(t *testing.T) {
	tm, err := maps.Open("inline:{special.example=smtp:[10.0.0.1]:2525, .sub.example=relay:, {bob@mx.example.test=error:5.1.1 gone}, discard.example=discard:, alias.example=smtp:, vmail2.example=lmtp:unix:private/dovecot-lmtp, *=}")
	if err != nil {
		t.Fatal(err)
	}
	base := Router{
		Local:          Route{"local", "mx.example.test"},
		Virtual:        Route{"virtual", ""},
		Relay:          Route{"relay", ""},
		Default:        Route{"smtp", ""},
		IsLocal:        func(d string) (bool, error) { return d == "mx.example.test" || d == "localhost", nil },
		IsVirtualAlias: func(d string) (bool, error) { return d == "alias.example", nil },
		IsVirtual:      func(d string) (bool, error) { return d == "vmail.example" || d == "vmail2.example", nil },
		IsRelay:        func(d string) (bool, error) { return d == "relayed.example", nil },
	}
	withMaps := base
	withMaps.Transport = []maps.Table{tm}
	withMaps.Delimiter = "+"
	smarthost := base
	smarthost.Relayhost = "[smtp.isp.example]:587"
	hidden := withMaps
	hidden.HideTableName = true
	fixedHop := base
	fixedHop.Virtual = Parse("dovecot:[127.0.0.1]:24")
	for _, c := range []struct {
		r    *Router
		addr string
		want Route
	}{
		{&base, "alice@mx.example.test", Route{"local", "mx.example.test"}},
		{&base, "alice@localhost", Route{"local", "mx.example.test"}},
		{&base, "x@relayed.example", Route{"relay", "relayed.example"}},
		{&base, "x@elsewhere.example", Route{"smtp", "elsewhere.example"}},
		{&smarthost, "x@elsewhere.example", Route{"smtp", "[smtp.isp.example]:587"}},
		{&smarthost, "alice@mx.example.test", Route{"local", "mx.example.test"}},
		{&withMaps, "x@special.example", Route{"smtp", "[10.0.0.1]:2525"}},
		{&withMaps, "x@a.sub.example", Route{"relay", "a.sub.example"}},
		{&withMaps, "x@sub.example", Route{"smtp", "sub.example"}}, // "*" = default
		{&withMaps, "Bob+tag@mx.example.test", Route{"error", "5.1.1 gone"}},
		{&withMaps, "x@discard.example", Route{"discard", "discard.example"}},
		// The virtual mailbox class goes to virtual_transport, the next
		// hop is the domain unless virtual_transport names one;
		// transport_maps still override it.
		{&base, "user@vmail.example", Route{"virtual", "vmail.example"}},
		{&base, "User@vmail.example.", Route{"virtual", "vmail.example."}},
		{&smarthost, "user@vmail.example", Route{"virtual", "vmail.example"}},
		{&fixedHop, "user@vmail.example", Route{"dovecot", "[127.0.0.1]:24"}},
		{&withMaps, "user@vmail2.example", Route{"lmtp", "unix:private/dovecot-lmtp"}},
		// The virtual alias class bounces what virtual_alias_maps did not
		// rewrite, whatever transport_maps say.
		{&base, "x@alias.example", Route{"error", "5.1.1 User unknown in virtual alias table"}},
		{&withMaps, "x@alias.example", Route{"error", "5.1.1 User unknown in virtual alias table"}},
		{&hidden, "x@alias.example", Route{"error", "5.1.1 User unknown"}},
	} {
		got, err := c.r.Resolve(c.addr)
		if err != nil || got != c.want {
			t.Errorf("Resolve(%q) = %v, %v; want %v", c.addr, got, err, c.want)
		}
	}
}

func TestClasses(t *testing.T) {
	list := func(names ...string) func(string) (bool, error) {
		return func(d string) (bool, error) {
			for _, n := range names {
				if n == d {
					return true, nil
				}
			}
			return false, nil
		}
	}
	broken := func(string) (bool, error) { return false, errors.New("table unavailable") }
	cs := Classes{
		IsLocal:        list("mx.example", "both.example"),
		IsVirtualAlias: list("alias.example", "both.example", "av.example"),
		IsVirtual:      list("vmail.example", "av.example", "vr.example"),
		IsRelay:        list("relay.example", "vr.example"),
	}
	for _, c := range []struct {
		cs      Classes
		domain  string
		want    Class
		wantErr bool
	}{
		{cs, "mx.example", Local, false},
		{cs, "mx.example.", Local, false},
		{cs, "alias.example", VirtualAlias, false},
		{cs, "vmail.example", Virtual, false},
		{cs, "relay.example", Relay, false},
		{cs, "elsewhere.example", Default, false},
		// A domain in two lists: trivial-rewrite's order decides.
		{cs, "both.example", Local, false},
		{cs, "av.example", VirtualAlias, false},
		{cs, "vr.example", Virtual, false},
		// A list that cannot be read before a match: the address waits;
		// after a match it is not consulted.
		{Classes{IsLocal: list("mx.example"), IsVirtual: broken}, "x.example", Default, true},
		{Classes{IsLocal: list("mx.example"), IsVirtual: broken}, "mx.example", Local, false},
		{Classes{}, "mx.example", Default, false},
	} {
		got, err := c.cs.Of(c.domain)
		if got != c.want || (err != nil) != c.wantErr {
			t.Errorf("Of(%q) = %v, %v; want %v (error %v)", c.domain, got, err, c.want, c.wantErr)
		}
	}
	for c, final := range map[Class]bool{Local: true, VirtualAlias: true, Virtual: true, Relay: false, Default: false} {
		if c.Final() != final {
			t.Errorf("%v.Final() = %v", c, c.Final())
		}
	}
}

// A domain list that cannot be read defers the recipient (an error),
// never routes it elsewhere.
func TestResolveClassFailure(t *testing.T) {
	r := Router{Local: Route{"local", "mx"}, Default: Route{"smtp", ""},
		IsVirtual: func(string) (bool, error) { return false, errors.New("down") }}
	if got, err := r.Resolve("x@vmail.example"); err == nil {
		t.Errorf("Resolve = %v, want an error", got)
	}
}
