package config

// authParams are SMTP AUTH in the session (internal/smtpd) and the
// restrictions on authenticated senders (internal/policy).
var authParams = []Param{}
