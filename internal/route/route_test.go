package route

import (
	"testing"

	"github.com/postern-mta/postern/internal/maps"
)

func TestResolve(t *testing.T) {
	tm, err := maps.Open("inline:{special.example=smtp:[10.0.0.1]:2525, .sub.example=relay:, {bob@mx.example.test=error:5.1.1 gone}, discard.example=discard:, *=}")
	if err != nil {
		t.Fatal(err)
	}
	base := Router{
		Local:   Route{"local", "mx.example.test"},
		Relay:   Route{"relay", ""},
		Default: Route{"smtp", ""},
		IsLocal: func(d string) (bool, error) { return d == "mx.example.test" || d == "localhost", nil },
		IsRelay: func(d string) (bool, error) { return d == "relayed.example", nil },
	}
	withMaps := base
	withMaps.Transport = []maps.Table{tm}
	withMaps.Delimiter = "+"
	smarthost := base
	smarthost.Relayhost = "[smtp.isp.example]:587"
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
	} {
		got, err := c.r.Resolve(c.addr)
		if err != nil || got != c.want {
			t.Errorf("Resolve(%q) = %v, %v; want %v", c.addr, got, err, c.want)
		}
	}
}
