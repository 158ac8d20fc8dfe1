package smtpd

import (
	"context"
	"crypto"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/postern-mta/postern/internal/policy"
	"github.com/postern-mta/postern/internal/tlsconf"
)

// cmdStartTLS answers STARTTLS (RFC 3207) with Postfix's replies. After
// "220 2.0.0 Ready to start TLS" everything the client sent behind the
// command is thrown away unread (the plaintext injection of
// CVE-2011-0411 would otherwise be taken as sent over TLS), the
// handshake runs, and the session starts again from scratch: no
// HELO/EHLO, no transaction, no AUTH. A failed handshake ends the
// session.
func (ss *session) cmdStartTLS(ctx context.Context, arg string) {
	ss.where = "STARTTLS" // not a pipelining.Known command, but Postfix's state name
	switch {
	case arg != "":
		ss.fail("501 5.5.4 Syntax: STARTTLS")
	case ss.tls != nil:
		ss.fail("554 5.5.1 Error: TLS already active")
	case ss.cfg.TLSLevel == "":
		ss.fail("502 5.5.1 Error: command not implemented")
	case ss.srv.TLS == nil:
		ss.fail("454 4.7.0 TLS not available due to local problem")
	case ss.startTLSRefused():
	default:
		ss.reply("220 2.0.0 Ready to start TLS")
		ss.w.Flush()
		ss.rd.Discard() // pipelined plaintext: never executed, before or after the handshake
		ss.abortTx()
		ss.helo, ss.esmtp, ss.req.Helo = false, false, ""
		ss.auth, ss.req.SASLUser = nil, ""
		if !ss.startTLS(ctx) {
			ss.lastCode = '5' // counted as failed: "starttls=0/1", as Postfix
			ss.quit = true
			return
		}
		if ss.newTLSExceeded() {
			ss.quit = true
			return
		}
		if ss.cfg.ReqCCert && !ss.trustedCert() {
			// Postfix reads the next command (EHLO, normally) and
			// answers it with the 421.
			ss.deadline()
			if _, err := ss.rd.ReadCommand(ss.cfg.LineLimit); err == nil {
				ss.reply(ss.ccertRefusal())
			}
			ss.lastCode = '2' // STARTTLS itself succeeded; the command read is not counted (Postfix)
			ss.quit = true
		}
	}
}

// ehloTLS returns the EHLO keywords of TLS (STARTTLS), if offered: at
// security level may or encrypt, with a certificate, and not yet
// encrypted.
func (ss *session) ehloTLS() []string {
	if ss.cfg.TLSLevel == "" || ss.srv.TLS == nil || ss.tls != nil {
		return nil
	}
	return []string{"250-STARTTLS"}
}

// needTLS reports whether the command must wait for STARTTLS: at
// smtpd_tls_security_level = encrypt, before TLS, every command but
// HELO, EHLO, STARTTLS, NOOP and QUIT (Postfix's SMTPD_CMD_FLAG_PRE_TLS)
// gets 530. AUTH is among them.
func (ss *session) needTLS(verb string) bool {
	if ss.cfg.TLSLevel != "encrypt" || ss.tls != nil {
		return false
	}
	switch verb {
	case "HELO", "EHLO", "STARTTLS", "NOOP", "QUIT":
		return false
	}
	return true
}

// Replayer is a connection that gives smtpd bytes read before smtpd
// took it over (postscreen's pregreeting, under greet_action ignore).
// DiscardReplay drops those not yet read and returns the network
// connection beneath, which STARTTLS's handshake then runs on.
type Replayer interface {
	DiscardReplay() net.Conn
}

// startTLS runs the server side of the handshake on the connection,
// within smtpd_starttls_timeout, and moves the session onto it: reader,
// writer and time limits. A failure is logged as Postfix logs it
// (SSL_accept error, then lost connection after the last command) and
// the result is false.
func (ss *session) startTLS(ctx context.Context) bool {
	var chosen *tls.Certificate
	raw := ss.raw
	if r, ok := raw.(Replayer); ok {
		// Bytes read before smtpd took the connection are plaintext:
		// never the handshake's (CVE-2011-0411), whatever the sizes
		// of the reads so far.
		raw = r.DiscardReplay()
	}
	tc := tls.Server(raw, ss.handshakeConfig(&chosen))
	ss.raw.SetDeadline(time.Now().Add(ss.cfg.StartTLSTimeout))
	if err := tc.HandshakeContext(ctx); err != nil {
		ss.log("SSL_accept error from %s: %v", ss.req.Client(), err)
		ss.logEnd("lost connection")
		return false
	}
	cs := tc.ConnectionState()
	ss.tls = &cs
	ss.conn = tc
	ss.w.Reset(tc) // flushed before the handshake
	ss.cr = newConnReader(tc, ss.cfg)
	ss.rd.Reset(ss.cr)
	ss.req.TLS = true
	ss.req.CCert = ss.clientCert(&cs)
	ss.tlsSigs = ""
	if chosen != nil {
		if k, ok := chosen.PrivateKey.(crypto.Signer); ok {
			ss.tlsSigs = tlsconf.SignatureText("server", k.Public(), cs.Version)
		}
	}
	if len(cs.PeerCertificates) > 0 {
		if c := tlsconf.SignatureText("client", cs.PeerCertificates[0].PublicKey, cs.Version); c != "" {
			ss.tlsSigs += "\n" + c
		}
	}
	if ss.cfg.TLSLogLevel >= 1 {
		ss.log("%s TLS connection established from %s: %s", ss.trustWord(), ss.req.Client(), ss.tlsDetails(" "))
	}
	if ss.cfg.ReqCCert && !ss.trustedCert() {
		reason := "No client certificate presented"
		if ss.req.CCert != nil {
			reason = "Client certificate not trusted"
		}
		ss.log("NOQUEUE: abort: TLS from %s: %s", ss.req.Client(), reason)
	}
	return true
}

// clientCert describes the client's certificate for the restrictions,
// nil when it sent none.
func (ss *session) clientCert(cs *tls.ConnectionState) *policy.ClientCert {
	if len(cs.PeerCertificates) == 0 {
		return nil
	}
	leaf := cs.PeerCertificates[0]
	c := &policy.ClientCert{CN: leaf.Subject.CommonName, Issuer: leaf.Issuer.CommonName}
	c.Fingerprint, _ = tlsconf.CertFingerprint(leaf, ss.cfg.FingerprintDigest) // the digest is checked with the configuration
	c.PublicKeyFingerprint, _ = tlsconf.PublicKeyFingerprint(leaf, ss.cfg.FingerprintDigest)
	c.Trusted = ss.srv.TLS.VerifyClient(cs.PeerCertificates) == nil
	if ss.cfg.TLSLogLevel >= 2 {
		ss.log("%s: subject_CN=%s, issuer=%s, fingerprint=%s, pkey_fingerprint=%s", ss.req.Client(), c.CN, c.Issuer, c.Fingerprint, c.PublicKeyFingerprint)
	}
	return c
}

func (ss *session) trustedCert() bool { return ss.req.CCert != nil && ss.req.CCert.Trusted }

// ccertRefusal is Postfix's reply when smtpd_tls_req_ccert finds no
// trusted client certificate; the session ends with it.
func (ss *session) ccertRefusal() string {
	if ss.req.CCert != nil {
		return fmt.Sprintf("421 4.7.1 %s Error: Client certificate not trusted", ss.cfg.Hostname)
	}
	return fmt.Sprintf("421 4.7.1 %s Error: No client certificate presented", ss.cfg.Hostname)
}

// trustWord starts Postfix's "… TLS connection established" line.
func (ss *session) trustWord() string {
	switch {
	case ss.req.CCert == nil:
		return "Anonymous"
	case ss.req.CCert.Trusted:
		return "Trusted"
	}
	return "Untrusted"
}

// tlsDetails is the session's TLS description as Postfix's
// tls_log_summary writes it: "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384
// (256/256 bits) key-exchange X25519 server-signature ECDSA (prime256v1)
// server-digest SHA256", and the client's signature when it sent a
// certificate; sep goes before key-exchange and client-signature (the
// Received: header folds there).
func (ss *session) tlsDetails(sep string) string {
	s := tlsconf.Describe(ss.tls)
	k := tlsconf.KeyExchange(ss.tls)
	if k != "" {
		s += sep + "key-exchange " + k
	}
	server, client, _ := strings.Cut(ss.tlsSigs, "\n")
	if server != "" {
		if k == "" {
			s += sep + server
		} else {
			s += " " + server
		}
	}
	if client != "" {
		s += sep + client
	}
	return s
}

// handshakeConfig is the service's tls.Config for one handshake: it asks
// for a client certificate when smtpd_tls_ask_ccert wants one, and
// stores in chosen the certificate the server presents (for the
// server-signature of the log line), choosing it as crypto/tls does.
func (ss *session) handshakeConfig(chosen **tls.Certificate) *tls.Config {
	adapt := func(c *tls.Config) *tls.Config {
		c = c.Clone()
		if ss.cfg.AskCCert && c.ClientAuth == tls.NoClientCert {
			c.ClientAuth = tls.RequestClientCert
		}
		get, certs := c.GetCertificate, c.Certificates
		c.GetCertificate = func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
			if get != nil && (len(certs) == 0 || hello.ServerName != "") {
				if cert, err := get(hello); cert != nil || err != nil {
					*chosen = cert
					return cert, err
				}
			}
			if len(certs) == 0 {
				return nil, errors.New("no certificates configured")
			}
			*chosen = &certs[0]
			for i := range certs {
				if hello.SupportsCertificate(&certs[i]) == nil {
					*chosen = &certs[i]
					break
				}
			}
			return *chosen, nil
		}
		return c
	}
	cfg := adapt(ss.srv.TLS.Config())
	if gcc := cfg.GetConfigForClient; gcc != nil {
		cfg.GetConfigForClient = func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
			c, err := gcc(hello)
			if c == nil || err != nil {
				return c, err
			}
			return adapt(c), nil
		}
	}
	return cfg
}

// tlsReceived is the comment smtpd_tls_received_header = yes adds to
// the Received: header, Postfix's lines, each ending in CRLF.
func (ss *session) tlsReceived() string {
	if !ss.cfg.TLSReceivedHeader || ss.tls == nil {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\t(using %s)\r\n", ss.tlsDetails("\r\n\t "))
	switch c := ss.req.CCert; {
	case c != nil:
		verified := "not verified"
		if c.Trusted {
			verified = "verified OK"
		}
		fmt.Fprintf(&b, "\t(Client CN \"%s\", Issuer \"%s\" (%s))\r\n", commentSafe(c.CN), commentSafe(c.Issuer), verified)
	case ss.cfg.AskCCert:
		b.WriteString("\t(Client did not present a certificate)\r\n")
	default:
		b.WriteString("\t(No client certificate requested)\r\n")
	}
	return b.String()
}

// commentSafe is Postfix's comment_sanitize: printable ASCII only, no
// backslash, parentheses balanced.
func commentSafe(s string) string {
	b := []byte(s)
	open := 0
	for i, c := range b {
		switch {
		case c < 0x20 || c > 0x7e || c == '\\':
			b[i] = '?'
		case c == '(':
			open++
		case c == ')':
			if open > 0 {
				open--
			} else {
				b[i] = '?'
			}
		}
	}
	return string(b) + strings.Repeat(")", open)
}

// withProtocol is the Received: header's "with" word: the session's
// protocol, UTF8 first for an SMTPUTF8 message, and RFC 3848's S for
// TLS (ESMTP only, as Postfix).
func (ss *session) withProtocol() string {
	env := &ss.tx.env
	proto := env.Protocol
	if ss.tls != nil && proto == "ESMTP" {
		proto += "S"
	}
	proto += ss.authProto() // RFC 3848 "A": ESMTPA, ESMTPSA
	if env.SMTPUTF8 {
		proto = "UTF8" + proto
	}
	return proto
}

// wrapperTLS starts TLS before the greeting (smtpd_tls_wrappermode, the
// smtps/submissions service on port 465) and reports whether the
// session goes on.
func (ss *session) wrapperTLS(ctx context.Context) bool {
	if ss.srv.TLS == nil {
		ss.logWarn("Wrapper-mode request dropped from %s for service %s. TLS context initialization failed. For details see earlier warnings in your logs.", ss.req.Client(), ss.info.Service)
		return false
	}
	if ss.wrapperTLSRefused() || !ss.startTLS(ctx) || ss.newTLSExceeded() {
		return false
	}
	if ss.cfg.ReqCCert && !ss.trustedCert() {
		// Postfix would wait for a command the client cannot send
		// before the greeting; the refusal takes the greeting's place.
		ss.deadline()
		ss.reply(ss.ccertRefusal())
		return false
	}
	ss.deadline()
	return true
}
