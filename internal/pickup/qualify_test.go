package pickup

import (
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/address"
)

// TestQualify: a local submission's addresses get cleanup's rewrite, the
// same as SMTP's (address.Canonical), and keep the form given as Orig.
func TestQualify(t *testing.T) {
	dot := address.DefaultResolveOptions("mx.example.test", nil)
	dot.MyOrigin, dot.AppendDotMyDomain = "example.test", true
	for _, c := range []struct {
		rewrite   *address.ResolveOptions
		rcpt      string
		addr, err string
	}{
		{nil, "bob", "bob@example.test", ""},
		{nil, `"user@remote.example"`, "user@remote.example", ""}, // no orig_to, as in Postfix
		{nil, "user%remote.example", "user@remote.example", ""},
		{nil, `"b c"`, `"b c"@example.test`, ""},
		{nil, "bob@host", "bob@host", ""},
		{&dot, "bob@host", "bob@host.example.test", ""},
		{nil, `"a@b c"`, "", `malformed maildrop file: bad address syntax: "\"a@b c\""`},
	} {
		cfg := testCfg
		cfg.Rewrite = c.rewrite
		env, err := envelope(&cfg, &Submission{Recipients: []string{c.rcpt}}, time.Now())
		if c.err != "" {
			if err == nil || err.Error() != c.err {
				t.Errorf("%s: %v, want %s", c.rcpt, err, c.err)
			}
			if ValidAddress(c.rcpt, true) {
				t.Errorf("%s: sendmail would take it", c.rcpt)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.rcpt, err)
			continue
		}
		r := env.Recipients[0]
		wantOrig := c.rcpt
		if c.rcpt == `"user@remote.example"` {
			wantOrig = c.addr
		}
		if r.Addr != c.addr || r.Original() != wantOrig {
			t.Errorf("%s: queued %q (orig %q), want %q", c.rcpt, r.Addr, r.Original(), c.addr)
		}
	}
}
