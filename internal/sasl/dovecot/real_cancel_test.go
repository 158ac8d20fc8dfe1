package dovecot

import (
	"encoding/base64"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/sasl"
)

// Against the real Dovecot: exchanges abandoned after a challenge and
// closed leave nothing open here, and Dovecot has dropped them (a CONT
// for a cancelled id is answered "FAIL … timed out", where an open
// LOGIN request would ask for the password); Dovecot keeps working and
// its auth process does not grow (without CANCEL: ~6 KB per request).
func TestRealDovecotCancel(t *testing.T) {
	d := startDovecot(t)
	c := New("unix", d.Socket, "smtp")
	defer c.Close()
	ctx := ctxT(t, 120*time.Second)
	cl := sasl.Client{Secured: true, RemoteAddr: netip.MustParseAddrPort("192.0.2.7:50000")}
	if st, _, err := run(ctx, c, "PLAIN", plain("alice@v.test", "secret")); err != nil || st.User == "" {
		t.Fatalf("%+v %v", st, err)
	}
	rss0 := d.AuthRSS()
	const n = 2000
	var last uint32
	for i := 0; i < n; i++ {
		ex, _ := c.Start(ctx, "LOGIN", cl, nil)
		st, err := ex.Next(ctx, nil)
		if err != nil || st.Done {
			t.Fatalf("%d: %+v %v", i, st, err)
		}
		last = ex.(*exchange).id
		ex.Close()
	}
	rss1 := d.AuthRSS()
	cn, open := openIDs(c)
	if open != 0 {
		t.Errorf("%d requests open after %d abandoned and closed", open, n)
	}
	// Ask Dovecot about the last cancelled id: reopen it here and
	// send it the user name.
	ch := make(chan line, 1)
	cn.mu.Lock()
	cn.open[last] = ch
	cn.mu.Unlock()
	if err := cn.send(ctx, "CONT\t"+strconv.FormatUint(uint64(last), 10)+"\t"+base64.StdEncoding.EncodeToString([]byte("alice@v.test"))+"\n", time.Second*10); err != nil {
		t.Fatal(err)
	}
	l, err := cn.wait(ctx, ch, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if l.cmd != "FAIL" {
		t.Errorf("Dovecot still holds a cancelled request: it answered %s %q", l.cmd, l.args)
	}
	if st, _, err := run(ctx, c, "LOGIN", nil, "alice@v.test", "secret"); err != nil || st.User != "alice@v.test" {
		t.Fatalf("afterwards: %+v %v", st, err)
	}
	t.Logf("Dovecot auth process RSS: %d KiB before, %d KiB after %d abandoned exchanges", rss0, rss1, n)
	if rss0 > 0 && rss1-rss0 > 4096 { // without CANCEL: about 12 MB more
		t.Errorf("Dovecot's auth process grew by %d KiB", rss1-rss0)
	}
}
