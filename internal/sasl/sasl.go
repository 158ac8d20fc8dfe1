// Package sasl is SMTP AUTH's (RFC 4954) view of an authentication
// backend: the mechanisms a backend offers and one exchange of
// challenges and responses. smtpd speaks the SMTP side (AUTH, 334
// challenges, base64); a backend checks the credentials: Dovecot's auth
// service (internal/sasl/dovecot) or the built-in passwd-file.
package sasl

import (
	"context"
	"net/netip"
)

// Client describes the connection that authenticates; backends pass it
// on (Dovecot's rip=, lip=, secured).
type Client struct {
	Service    string // the SASL service name: smtpd_sasl_service, "smtp"
	LocalAddr  netip.AddrPort
	RemoteAddr netip.AddrPort
	Secured    bool // the session runs over TLS
}

// Mechanism is one SASL mechanism a backend offers, with the properties
// smtpd_sasl_security_options filters on (Dovecot's MECH flags).
type Mechanism struct {
	Name           string // upper case: PLAIN, LOGIN, CRAM-MD5
	Plaintext      bool   // the password crosses the wire (noplaintext)
	Anonymous      bool   // noanonymous
	Dictionary     bool   // open to dictionary attacks (nodictionary)
	Active         bool   // open to active, non-dictionary attacks (noactive)
	ForwardSecrecy bool   // forward_secrecy
	MutualAuth     bool   // mutual_auth
}

// Authenticator is a backend.
type Authenticator interface {
	// Mechanisms lists the mechanisms the backend offers.
	Mechanisms(ctx context.Context) ([]Mechanism, error)
	// Start begins one authentication with mech. initial is the
	// client's initial response, decoded: nil when the client sent
	// none, empty (non-nil) for "=".
	Start(ctx context.Context, mech string, c Client, initial []byte) (Exchange, error)
	// Close releases the backend's connections.
	Close() error
}

// Exchange is one authentication attempt in progress.
type Exchange interface {
	// Next returns the backend's next step. The first call takes no
	// response (the initial one went to Start); each later call takes
	// the client's decoded answer to the last Challenge.
	Next(ctx context.Context, response []byte) (Step, error)
	// Close ends the exchange and frees what the backend holds for it
	// (Dovecot's pending request). After Done (or an error from Next)
	// it is a no-op; it is safe to call twice. The caller closes every
	// exchange Start returned, however it ended: an exchange the client
	// abandons ("*", a bad response, a hang-up) would otherwise stay
	// open in the backend.
	Close() error
}

// Step is the backend's answer: a challenge for the client, or the
// outcome. An error from Next (the backend is unreachable, its reply
// is garbled) is a temporary failure: 454 4.7.0.
type Step struct {
	Done      bool
	Challenge []byte // !Done: sent base64-encoded in a 334 reply
	// User is the authenticated name when Done and the credentials
	// were right; empty when they were wrong.
	User string
	// Reason says why it failed, for the log line only (never the
	// client: it must not learn whether the user exists).
	Reason string
}
