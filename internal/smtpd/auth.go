package smtpd

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"github.com/postern-mta/postern/internal/anvil"
	"net/netip"
	"os"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/postern-mta/postern/internal/sasl"
	"github.com/postern-mta/postern/internal/smtpio"
)

// authTimeout bounds every call to the SASL backend, as Postfix's
// Dovecot client bounds its reads from the auth server (10 s): a session
// never waits on a backend without a deadline.
const authTimeout = 10 * time.Second

// Failure reasons in Postfix's words (its Dovecot client's): the client
// and the log see them, and fail2ban's postfix filter skips the lines
// with the first two (not a password guess).
const (
	reasonNoMech     = "Invalid authentication mechanism"
	reasonTemp       = "Connection lost to authentication server"
	reasonInitial    = "Invalid base64 data in initial response"
	reasonContinued  = "Invalid base64 data in continued response"
	reasonNone       = "(reason unavailable)"
	usernameUnknown  = "(unavailable)"
	authWhere        = "AUTH"
	authMaxLogMethod = 100 // Postfix logs "%.100s" of the mechanism
)

// authState is what a successful AUTH established.
type authState struct {
	method string // the SASL mechanism: PLAIN, LOGIN
	user   string // sasl_username
}

// mechList caches the backend's mechanisms, filtered by the security
// options of the session's state (plaintext or TLS), as Postfix fetches
// them when it activates SASL for a connection and again after STARTTLS.
type mechList struct {
	secured bool
	names   []string
}

// saslMechs returns the mechanisms AUTH offers now, or none when AUTH is
// not enabled for the session (Postfix's smtpd_sasl_is_active): no
// backend, smtpd_sasl_auth_enable = no, sendmail -bs, or plaintext with
// smtpd_tls_auth_only = yes.
func (ss *session) saslMechs(ctx context.Context) []string {
	a := &ss.cfg.Auth
	if ss.srv.SASL == nil || !a.Enable || ss.srv.StandAlone || a.TLSOnly && ss.tls == nil {
		return nil
	}
	secured := ss.tls != nil
	if ss.mechs != nil && ss.mechs.secured == secured {
		return ss.mechs.names
	}
	opts := a.Options
	if secured {
		opts = a.TLSOptions
	}
	cctx, cancel := context.WithTimeout(ctx, authTimeout)
	defer cancel()
	all, err := ss.srv.SASL.Mechanisms(cctx)
	if err != nil {
		// Not cached: the next EHLO or AUTH asks again.
		ss.logWarn("SASL authentication backend: cannot list the mechanisms: %v", err)
		return nil
	}
	l := &mechList{secured: secured}
	for _, m := range sasl.Filter(all, opts) {
		l.names = append(l.names, m.Name)
	}
	if len(l.names) == 0 {
		ss.logWarn("no SASL authentication mechanisms (the backend offers none that the SASL security options allow)")
	}
	ss.mechs = l
	return l.names
}

// ehloAuth returns the EHLO keywords of SMTP AUTH (AUTH, and AUTH= for
// broken_sasl_auth_clients) with the mechanisms smtpd_sasl_mechanism_filter
// keeps, if any: not to clients in smtpd_sasl_exceptions_networks, who
// may still use AUTH.
func (ss *session) ehloAuth() []string {
	ctx, cancel := context.WithTimeout(context.Background(), authTimeout)
	defer cancel()
	var names []string
	for _, m := range ss.saslMechs(ctx) {
		// smtpd_sasl_mechanism_filter hides, it does not forbid: as in
		// Postfix, AUTH takes every mechanism the security options allow.
		if ss.cfg.Auth.Mechs.Allows(m) {
			names = append(names, m)
		}
	}
	if len(names) == 0 || ss.srv.Policy.SASLException(ss.req.ClientAddr, ss.req.ClientName) {
		return nil
	}
	list := strings.Join(names, " ")
	lines := []string{"250-AUTH " + list}
	if ss.cfg.Auth.Broken {
		lines = append(lines, "250-AUTH="+list)
	}
	return lines
}

// cmdAuth answers AUTH (RFC 4954) with Postfix's replies, in its order.
func (ss *session) cmdAuth(ctx context.Context, arg string) {
	ss.where = authWhere
	if ss.cfg.TLSLevel == "encrypt" && ss.tls == nil {
		ss.fail("530 5.7.0 Must issue a STARTTLS command first")
		return
	}
	if ss.authRateExceeded() {
		return
	}
	if ss.cfg.HeloRequired && !ss.helo {
		ss.fail("503 5.5.1 Error: send HELO/EHLO first")
		return
	}
	mechs := ss.saslMechs(ctx)
	switch args := strings.Fields(arg); {
	case len(mechs) == 0:
		ss.fail("503 5.5.1 Error: authentication not enabled")
	case ss.tx != nil:
		ss.fail("503 5.5.1 Error: MAIL transaction in progress")
	case ss.auth != nil:
		ss.fail("503 5.5.1 Error: already authenticated")
	case len(args) < 1 || len(args) > 2:
		ss.fail("501 5.5.4 Syntax: AUTH mechanism")
	default:
		initial, hasInitial := "", len(args) == 2
		if hasInitial {
			initial = args[1]
		}
		ss.authenticate(ctx, mechs, args[0], initial, hasInitial)
	}
}

// authRateExceeded applies smtpd_client_auth_rate_limit, as Postfix's
// AUTH wrapper does before anything else: every AUTH command counts.
func (ss *session) authRateExceeded() bool {
	n, over := ss.anvilEvent(anvil.Auth, ss.cfg.Auth.RateLimit)
	if !over {
		return false
	}
	ss.logWarn("AUTH command rate limit exceeded: %d from %s for service %s", n, ss.req.Client(), ss.info.Service)
	ss.fail(fmt.Sprintf("450 4.7.1 Error: too many AUTH commands from %s", ss.req.ClientAddr))
	return true
}

// authenticate runs one SASL exchange: the initial response, then a 334
// challenge and a client response per backend step.
func (ss *session) authenticate(ctx context.Context, mechs []string, method, initial string, hasInitial bool) {
	method = printable(method)
	if len(method) > authMaxLogMethod {
		method = method[:authMaxLogMethod]
	}
	mech := ""
	for _, m := range mechs {
		if strings.EqualFold(m, method) {
			mech = m
		}
	}
	if mech == "" {
		ss.authFailed(method, reasonNoMech, reasonNoMech, false)
		return
	}
	var resp []byte // nil: no initial response
	if hasInitial {
		var ok bool
		if resp, ok = decodeResponse(initial); !ok {
			ss.authFailed(method, reasonInitial, reasonInitial, false)
			return
		}
	}
	la, _ := netip.ParseAddrPort(ss.conn.LocalAddr().String())
	ra, _ := netip.ParseAddrPort(ss.conn.RemoteAddr().String())
	client := sasl.Client{Service: "smtp", LocalAddr: la, RemoteAddr: ra, Secured: ss.tls != nil}
	cctx, cancel := context.WithTimeout(ctx, authTimeout)
	ex, err := ss.srv.SASL.Start(cctx, mech, client, resp)
	cancel()
	if err == nil {
		// However the exchange ends (outcome, backend error, or the
		// client abandoning it: "*", bad base64, an over-long
		// response, a timeout, a hang-up), the backend frees it: an
		// abandoned Dovecot request stays open there otherwise.
		defer ex.Close()
	}
	resp = nil // the first Next takes none
	for err == nil {
		var st sasl.Step
		cctx, cancel := context.WithTimeout(ctx, authTimeout)
		st, err = ex.Next(cctx, resp)
		cancel()
		if err != nil {
			break
		}
		if st.Done {
			ss.authDone(method, st)
			return
		}
		var ok bool
		if resp, ok = ss.challenge(method, st.Challenge); !ok {
			return
		}
	}
	ss.logWarn("SASL authentication backend: %s: %v", ss.req.Client(), err)
	ss.authFailed(method, reasonTemp, reasonTemp, true)
}

// challenge sends a 334 challenge and reads the client's answer under
// the session's deadlines; it reports false when the exchange (or the
// session) is over: "*", bad base64, a response over
// smtpd_sasl_response_limit, a timeout or a lost connection.
func (ss *session) challenge(method string, c []byte) ([]byte, bool) {
	ss.reply("334 " + base64.StdEncoding.EncodeToString(c))
	ss.w.Flush()
	ss.deadline()
	line, err := ss.rd.ReadCommand(ss.cfg.Auth.ResponseLimit)
	switch {
	case errors.Is(err, smtpio.ErrLineTooLong):
		ss.fail("500 5.5.6 SASL response limit exceeded")
		return nil, false
	case errors.Is(err, smtpio.ErrBareLF):
		ss.bareNewline()
		return nil, false
	case errors.Is(err, os.ErrDeadlineExceeded):
		ss.deadline()
		ss.reply(fmt.Sprintf("421 4.4.2 %s Error: timeout exceeded", ss.cfg.Hostname))
		ss.logEnd("timeout")
		ss.quit = true
		return nil, false
	case err != nil:
		ss.logEnd("lost connection")
		ss.quit = true
		return nil, false
	case line == "*":
		ss.logWarn("%s: SASL %s authentication aborted", ss.req.Client(), method)
		ss.fail("501 5.7.0 Authentication aborted")
		return nil, false
	}
	resp, ok := decodeResponse(line)
	if !ok {
		ss.authFailed(method, reasonContinued, reasonContinued, false)
	}
	return resp, ok
}

// authDone ends an exchange the backend decided.
func (ss *session) authDone(method string, st sasl.Step) {
	if st.User == "" {
		// The backend's reason is for the log only: the client must not
		// learn whether the user exists.
		ss.authFailed(method, st.Reason, reasonNone, false)
		return
	}
	user := printable(st.User)
	if r := ss.cfg.Auth.Realm; r != "" && !strings.Contains(user, "@") {
		user += "@" + r // smtpd_sasl_local_domain
	}
	ss.auth = &authState{method: method, user: user} // the next command's syncAuth shows it to the restrictions
	ss.reply("235 2.7.0 Authentication successful")
}

// authFailed logs a failed AUTH as Postfix does (the line fail2ban's
// postfix filter matches) and answers it; it counts as an error, so
// past smtpd_soft_error_limit the replies are slowed and at
// smtpd_hard_error_limit the client is disconnected.
func (ss *session) authFailed(method, logReason, clientReason string, temp bool) {
	if logReason == "" {
		logReason = reasonNone
	}
	ss.logWarn("%s: SASL %s authentication failed: %s, sasl_username=%s", ss.req.Client(), method, printable(logReason), usernameUnknown)
	if temp {
		ss.fail("454 4.7.0 Temporary authentication failure: " + clientReason)
		return
	}
	ss.fail("535 5.7.8 Error: authentication failed: " + clientReason)
}

// syncAuth makes the restrictions see the session's AUTH state, which
// STARTTLS may have reset.
func (ss *session) syncAuth() {
	ss.req.SASLUser, ss.req.SASLMethod = "", ""
	if ss.auth != nil {
		ss.req.SASLUser, ss.req.SASLMethod = ss.auth.user, ss.auth.method
	}
}

// mailAuthParam takes MAIL FROM's AUTH= (RFC 4954 section 5), whose
// syntax the address package checked. postern trusts no client's AUTH=
// identity: as the RFC allows, the value is only logged (sasl_sender=),
// and only while AUTH is enabled; it is never passed on. Postfix 3.7
// accepts it also when AUTH is off (measured), and so do we.
func (ss *session) mailAuthParam(ctx context.Context, tx *transaction, value string) {
	if value != "<>" && len(ss.saslMechs(ctx)) > 0 {
		tx.authSender = printable(value)
	}
}

// saslLogFields is the AUTH part of the "client=" line: sasl_method,
// sasl_username and sasl_sender (MAIL FROM's AUTH=), as Postfix logs them.
func (ss *session) saslLogFields() string {
	var b strings.Builder
	if ss.auth != nil {
		fmt.Fprintf(&b, ", sasl_method=%s, sasl_username=%s", ss.auth.method, ss.auth.user)
	}
	if ss.tx != nil && ss.tx.authSender != "" {
		fmt.Fprintf(&b, ", sasl_sender=%s", ss.tx.authSender)
	}
	return b.String()
}

// authProto is the RFC 3848 "A" of "with ESMTPA" (ESMTPSA with TLS).
func (ss *session) authProto() string {
	if ss.auth != nil {
		return "A"
	}
	return ""
}

// authReceived is the Received: header's "(Authenticated sender: user)"
// line with smtpd_sasl_authenticated_header = yes, as Postfix writes it
// (after the "from" line); the name is escaped for a comment.
func (ss *session) authReceived() string {
	if ss.auth == nil || !ss.cfg.Auth.Header {
		return ""
	}
	r := strings.NewReplacer(`\`, `\\`, `(`, `\(`, `)`, `\)`)
	return "\t(Authenticated sender: " + r.Replace(ss.auth.user) + ")\r\n"
}

// decodeResponse decodes a client response: "=" is the empty initial
// response (RFC 4954), anything else must be base64.
func decodeResponse(s string) ([]byte, bool) {
	if s == "=" {
		return []byte{}, true
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, false
	}
	if b == nil {
		b = []byte{}
	}
	return b, true
}

// printable replaces control characters and invalid UTF-8 with '?', as
// Postfix's printable() does (with smtputf8_enable) for names it logs.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if r == utf8.RuneError || !unicode.IsPrint(r) {
			return '?'
		}
		return r
	}, s)
}
