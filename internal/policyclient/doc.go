// Package policyclient is the client side of Postfix's SMTP access
// policy delegation protocol (SMTPD_POLICY_README): a request is lines of
// name=value ended by an empty line, the answer likewise, with an
// "action" attribute. A Client keeps a pool of connections to one
// endpoint (inet:host:port or unix:path), reused across requests and
// sessions within smtpd_policy_service_max_idle, _max_ttl and
// _request_limit, and tries a request up to _try_limit times (the
// second at once, later ones after _retry_delay), as Postfix's attr_clnt
// does.
package policyclient
