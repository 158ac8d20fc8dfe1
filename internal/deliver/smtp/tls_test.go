package smtp

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/deliver"
	"github.com/postern-mta/postern/internal/maps"
)

// tlsDNS resolves the names the TLS tests use to 127.0.0.1.
func tlsDNS() *fakeDNS {
	return &fakeDNS{
		mx: map[string][]*net.MX{"example.net": {mx(10, "mx1.example.net")}},
		addr: map[string][]netip.Addr{"mx.test": addrs("127.0.0.1"), "mx1.example.net": addrs("127.0.0.1"),
			"other.test": addrs("127.0.0.1")},
	}
}

func TestTLSLevels(t *testing.T) {
	good := newPKI(t, "mx.test")
	wrong := newPKI(t, "other.test")
	sub := newPKI(t, "mx1.example.net")
	tests := []struct {
		name     string
		pki      *testPKI // nil: no STARTTLS offered
		level    TLSLevel
		caFile   bool
		sni      string
		nexthop  string // "%d" for the port; default [mx.test]:%d
		kind     deliver.Kind
		dsn      string
		reason   string
		tlsUsed  bool
		log      string
		wantSNI  string
		refuseTL bool
	}{
		{name: "may, offered", pki: &good, level: TLSMay, kind: deliver.Sent, tlsUsed: true,
			log: "Untrusted TLS connection established to mx.test[127.0.0.1]:PORT: TLSv1.3 with cipher TLS_"},
		{name: "may, trusted", pki: &good, level: TLSMay, caFile: true, kind: deliver.Sent, tlsUsed: true,
			log: "Trusted TLS connection established to mx.test[127.0.0.1]:PORT: TLSv1.3"},
		{name: "may, not offered", level: TLSMay, kind: deliver.Sent},
		{name: "may, STARTTLS refused", pki: &good, refuseTL: true, level: TLSMay, kind: deliver.Sent,
			log: "cleartext fallback, host refused to start TLS"},
		{name: "none ignores STARTTLS", pki: &good, level: TLSNone, kind: deliver.Sent},
		{name: "encrypt, not offered", level: TLSEncrypt, kind: deliver.Deferred, dsn: "4.7.4",
			reason: "TLS is required, but was not offered by host mx.test[127.0.0.1]"},
		{name: "encrypt, refused", pki: &good, refuseTL: true, level: TLSEncrypt, kind: deliver.Deferred, dsn: "4.7.0",
			reason: "TLS is required, but host mx.test[127.0.0.1] refused to start TLS: 454 4.7.0 TLS not available"},
		{name: "encrypt, untrusted is fine", pki: &wrong, level: TLSEncrypt, kind: deliver.Sent, tlsUsed: true},
		{name: "verify", pki: &good, level: TLSVerify, caFile: true, kind: deliver.Sent, tlsUsed: true,
			log: "Verified TLS connection established to mx.test[127.0.0.1]:PORT"},
		{name: "verify, wrong name", pki: &wrong, level: TLSVerify, caFile: true, kind: deliver.Deferred, dsn: "4.7.5",
			reason: "Server certificate not verified"},
		{name: "verify, untrusted", pki: &good, level: TLSVerify, kind: deliver.Deferred, dsn: "4.7.5",
			reason: "Server certificate not verified"},
		{name: "secure, subdomain of next hop", pki: &sub, level: TLSSecure, caFile: true, nexthop: "example.net:%d",
			kind: deliver.Sent, tlsUsed: true},
		{name: "secure, host name is not enough", pki: &good, level: TLSSecure, caFile: true, kind: deliver.Deferred,
			nexthop: "[other.test]:%d", dsn: "4.7.5", reason: "Server certificate not verified"},
		{name: "SNI host name", pki: &good, level: TLSMay, sni: "hostname", kind: deliver.Sent, tlsUsed: true, wantSNI: "mx.test"},
		{name: "SNI literal", pki: &good, level: TLSMay, sni: "smtp.example.com", kind: deliver.Sent, tlsUsed: true, wantSNI: "smtp.example.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newTestServer(t, "127.0.0.1")
			if tt.pki != nil {
				srv.tls = tt.pki.server
			}
			if tt.refuseTL {
				srv.tls = nil
				srv.ext = append(srv.ext, "STARTTLS")
			}
			srv.start()
			var log logBuffer
			cfg := testConfig(tlsDNS(), &log)
			cfg.TLSLevel, cfg.TLSServerName = tt.level, tt.sni
			if tt.caFile {
				cfg.TLSCAFile = tt.pki.caFile
			}
			a := newAgent(t, cfg)
			nexthop := tt.nexthop
			if nexthop == "" {
				nexthop = "[mx.test]:%d"
			}
			res := deliverOne(t, a, request(fmt.Sprintf(nexthop, srv.port()), "a@example.net"))
			r := res[0]
			if r.Kind != tt.kind || tt.dsn != "" && r.DSN != tt.dsn || tt.reason != "" && r.Reason != tt.reason {
				t.Errorf("got %v %s %q, want %v %s %q", r.Kind, r.DSN, r.Reason, tt.kind, tt.dsn, tt.reason)
			}
			if tt.kind == deliver.Sent {
				m := srv.messages()
				if len(m) != 1 || m[0].tls != tt.tlsUsed {
					t.Errorf("messages %+v, want TLS %t", m, tt.tlsUsed)
				}
				if si := srv.sessionInfos(); si[0].sni != tt.wantSNI {
					t.Errorf("SNI %q, want %q", si[0].sni, tt.wantSNI)
				}
			}
			if want := strings.ReplaceAll(tt.log, "PORT", fmt.Sprint(srv.port())); !strings.Contains(log.String(), want) {
				t.Errorf("log %q lacks %q", log.String(), want)
			}
		})
	}
}

// A failed handshake at "may" defers fresh mail; mail that already waited
// minimal_backoff_time is retried in plaintext on a new connection.
func TestTLSHandshakeFailure(t *testing.T) {
	srv := newTestServer(t, "127.0.0.1")
	srv.tls = newPKI(t, "mx.test").server
	srv.tls.MinVersion, srv.tls.MaxVersion = 0x0304, 0x0304 // TLS 1.3 only
	srv.start()
	cfg := testConfig(tlsDNS(), nil)
	cfg.TLSLevel = TLSMay
	a := newAgent(t, cfg)
	a.cfg.tlsMaxVersion = 0x0303 // the client stops at TLS 1.2: no common version

	req := request(fmt.Sprintf("[mx.test]:%d", srv.port()), "a@example.net")
	if r := deliverOne(t, a, req)[0]; r.Kind != deliver.Deferred || r.DSN != "4.7.5" || r.Reason != "Cannot start TLS: handshake failure" {
		t.Errorf("fresh mail: %+v", r)
	}
	req.Env.Arrival = time.Now().Add(-time.Hour)
	if r := deliverOne(t, a, req)[0]; r.Kind != deliver.Sent {
		t.Errorf("old mail: %+v", r)
	}
	if m := srv.messages(); len(m) != 1 || m[0].tls {
		t.Errorf("messages %+v", m)
	}
	if a.IdleSessions() != 0 {
		t.Error("the plaintext fallback session was cached")
	}

	// Not at "encrypt".
	cfg.TLSLevel = TLSEncrypt
	b := newAgent(t, cfg)
	b.cfg.tlsMaxVersion = 0x0303
	if r := deliverOne(t, b, req)[0]; r.Kind != deliver.Deferred || r.DSN != "4.7.5" {
		t.Errorf("encrypt: %+v", r)
	}
}

func TestSASL(t *testing.T) {
	pki := newPKI(t, "mx.test")
	tests := []struct {
		name      string
		tls       bool
		mechs     string
		passwords map[string]string // key "SITE" is replaced by the next hop
		plaintext bool              // smtp_sasl_security_options allows plaintext
		filter    []string
		kind      deliver.Kind
		dsn       string
		reason    string
		user      string
	}{
		{name: "PLAIN over TLS", tls: true, passwords: map[string]string{"mx.test": "alice:secret"}, kind: deliver.Sent, user: "alice"},
		{name: "LOGIN over TLS", tls: true, mechs: "LOGIN", passwords: map[string]string{"mx.test": "alice:secret"}, kind: deliver.Sent, user: "alice"},
		{name: "next-hop key", tls: true, passwords: map[string]string{"SITE": "alice:secret"}, kind: deliver.Sent, user: "alice"},
		{name: "host key first", tls: true, passwords: map[string]string{"mx.test": "alice:secret", "SITE": "bob:x"}, kind: deliver.Sent, user: "alice"},
		{name: "no plaintext over plaintext", passwords: map[string]string{"mx.test": "alice:secret"}, kind: deliver.Deferred,
			dsn: "4.7.0", reason: "SASL authentication failed; cannot authenticate to server mx.test[127.0.0.1]: no mechanism available"},
		{name: "plaintext allowed", plaintext: true, passwords: map[string]string{"mx.test": "alice:secret"}, kind: deliver.Sent, user: "alice"},
		{name: "wrong password", tls: true, passwords: map[string]string{"mx.test": "alice:wrong"}, kind: deliver.Deferred, dsn: "4.7.8",
			reason: "SASL authentication failed; server mx.test[127.0.0.1] said: 535 5.7.8 Error: authentication failed: bad password"},
		{name: "no credentials", tls: true, kind: deliver.Bounced, dsn: "5.7.0",
			reason: "host mx.test[127.0.0.1] said: 530 5.7.0 Authentication required (in reply to MAIL FROM command)"},
		{name: "mechanism filter", tls: true, filter: []string{"CRAM-MD5"}, passwords: map[string]string{"mx.test": "alice:secret"},
			kind: deliver.Deferred, dsn: "4.7.0",
			reason: "SASL authentication failed: server mx.test[127.0.0.1] offered no compatible authentication mechanisms for this type of connection security"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newTestServer(t, "127.0.0.1")
			srv.users, srv.mechs, srv.needAuth = map[string]string{"alice": "secret"}, tt.mechs, true
			if tt.tls {
				srv.tls = pki.server
			}
			srv.start()
			site := fmt.Sprintf("[mx.test]:%d", srv.port())
			table := mapTable{}
			for k, v := range tt.passwords {
				table[strings.ReplaceAll(k, "SITE", site)] = v
			}
			cfg := testConfig(tlsDNS(), nil)
			cfg.TLSLevel = TLSMay
			cfg.SASLEnable, cfg.SASLMaps, cfg.SASLMechanismFilter = true, []maps.Table{table}, tt.filter
			cfg.SASLPlaintext, cfg.SASLPlaintextTLS = tt.plaintext, true
			a := newAgent(t, cfg)
			r := deliverOne(t, a, request(site, "a@example.net"))[0]
			if r.Kind != tt.kind || tt.dsn != "" && r.DSN != tt.dsn || tt.reason != "" && r.Reason != tt.reason {
				t.Errorf("got %v %s %q, want %v %s %q", r.Kind, r.DSN, r.Reason, tt.kind, tt.dsn, tt.reason)
			}
			if tt.kind == deliver.Sent {
				if m := srv.messages(); len(m) != 1 || m[0].user != tt.user || m[0].tls != tt.tls {
					t.Errorf("messages %+v", m)
				}
			}
		})
	}
}

// Postfix's default, noplaintext even over TLS, keeps PLAIN from being
// used anywhere until the user says otherwise.
func TestSASLDefaultOptions(t *testing.T) {
	srv := newTestServer(t, "127.0.0.1")
	srv.users, srv.needAuth, srv.tls = map[string]string{"alice": "secret"}, true, newPKI(t, "mx.test").server
	srv.start()
	cfg := testConfig(tlsDNS(), nil)
	cfg.TLSLevel = TLSEncrypt
	cfg.SASLEnable, cfg.SASLMaps = true, []maps.Table{mapTable{"mx.test": "alice:secret"}}
	a := newAgent(t, cfg)
	r := deliverOne(t, a, request(fmt.Sprintf("[mx.test]:%d", srv.port()), "a@example.net"))[0]
	if r.Kind != deliver.Deferred || !strings.HasSuffix(r.Reason, "no mechanism available") {
		t.Errorf("%+v", r)
	}
	if cmds := srv.commands(); strings.Contains(strings.Join(cmds, "\n"), "AUTH") {
		t.Errorf("AUTH sent: %q", cmds)
	}
}
