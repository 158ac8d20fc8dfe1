// Package postscreen is postern's postscreen(8): the triage a master.cf
// `postscreen` service runs on each connection before it reaches smtpd.
//
// A Screen logs `CONNECT from [addr]:port to [addr]:port`, consults
// postscreen_access_list (permit_mynetworks and type:table lookups:
// ALLOWLISTED clients pass at once, DENYLISTED ones meet
// postscreen_blacklist_action), then a client on the temporary allowlist
// (Cache, postscreen_greet_ttl) passes at once (`PASS OLD`). Others get
// the pregreet test: postscreen_greet_banner as a "220-" line, then
// postscreen_greet_wait during which a client that speaks is logged
// (`PREGREET 11 after 0.1 from [addr]:port: EHLO foo\r\n`) and meets
// postscreen_greet_action. A client that passes every test is cached
// and logged `PASS NEW`. "drop" answers 521 and closes; "enforce" runs a
// small SMTP engine (enforce.go) that rejects every RCPT with 550 and
// logs it as Postfix's NOQUEUE lines; "ignore" lets the client on to
// smtpd without caching it.
//
// Check returns the connection to hand to smtpd in the same process (no
// second TCP handshake): bytes read during the greet wait are replayed.
package postscreen
